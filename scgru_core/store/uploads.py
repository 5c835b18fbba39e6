"""Uploaded files kept by the server, so that a reload or a copied link finds the same data.

A browser session lives as long as its tab: a reload, or the address opened in another browser, is a new session,
and an upload held only in the old one was gone (the app fell back to the built-in sample). Files are kept on disk,
content-addressed: the address carries `digest(raw)`, 128 bits of SHA-256 (whoever holds the link can open the data;
nobody can guess a digest without the file). Several server processes (make class PROCESSES=N) share the folder:
a file is written under a temporary name and renamed into place, so a reader never sees half of it. The folder is
bounded in count and bytes; the files used least recently go first, and a link to one of them gets a clear message.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import tempfile
import time
from dataclasses import dataclass

DIGEST = re.compile(r"[0-9a-f]{32}")
MAX_FILES = 100
MAX_BYTES = 1_000_000_000  # 20 files at the upload cap of 50 MB


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:32]


def default_folder() -> pathlib.Path:
    """SCGRU_UPLOAD_DIR, else a folder of this user's in the system's temporary directory."""
    chosen = os.environ.get("SCGRU_UPLOAD_DIR")
    return pathlib.Path(chosen) if chosen else pathlib.Path(tempfile.gettempdir()) / f"scgru-uploads-{os.getuid()}"


@dataclass(frozen=True)
class Upload:
    raw: bytes
    filename: str


class UploadStore:
    """put(raw, filename) -> digest; get(digest) -> Upload or None (never held, evicted, or not a digest)."""

    def __init__(self, folder: pathlib.Path | str | None = None, max_files: int = MAX_FILES,
                 max_bytes: int = MAX_BYTES):
        self.folder = pathlib.Path(folder) if folder is not None else default_folder()
        self.max_files, self.max_bytes = max_files, max_bytes
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _paths(self, key: str) -> tuple[pathlib.Path, pathlib.Path]:
        return self.folder / f"{key}.data", self.folder / f"{key}.json"

    def put(self, raw: bytes, filename: str) -> str:
        key = digest(raw)
        data, meta = self._paths(key)
        if not data.exists():
            self._write(data, raw)
        self._write(meta, json.dumps({"filename": filename, "bytes": len(raw)}).encode())
        self._evict(keep=key)
        return key

    def get(self, key: str | None) -> Upload | None:
        if not isinstance(key, str) or not DIGEST.fullmatch(key):
            return None  # a hand-edited link: never a path
        data, meta = self._paths(key)
        try:
            raw = data.read_bytes()
            filename = str(json.loads(meta.read_text())["filename"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if digest(raw) != key:  # changed on disk: not what the link was made with
            return None
        now = time.time()
        for path in (data, meta):  # used now: the last to be evicted
            try:
                os.utime(path, (now, now))
            except OSError:
                pass
        return Upload(raw, filename)

    def _write(self, path: pathlib.Path, content: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.replace(tmp, path)  # atomic: another process reads the whole file or none
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise

    def _evict(self, keep: str) -> None:
        """The least recently used files beyond the bounds removed (never `keep`, the one just stored)."""
        files = []
        for path in self.folder.glob("*.data"):
            try:
                st = path.stat()
            except OSError:
                continue
            files.append((st.st_mtime, st.st_size, path.stem))
        files.sort(reverse=True)  # newest first
        count = total = 0
        for _, size, key in files:
            count, total = count + 1, total + size
            if key != keep and (count > self.max_files or total > self.max_bytes):
                for path in self._paths(key):
                    path.unlink(missing_ok=True)
