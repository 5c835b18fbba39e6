"""A saved run as one zip file in memory: what the app offers for download and accepts back.

`run_zip` writes the run directory of `io.save_run` into a zip; `load_run_zip` reads such a
zip defensively (only the four known file names, bounded sizes, no paths taken from the
archive) and hands the files to `io.load_run`, which checks names, shapes, checksums and masks.
"""
from __future__ import annotations

import io
import pathlib
import tempfile
import zipfile

from scgru_core.errors import CheckpointError
from scgru_core.store.runs import CONFIG, MASKS, METRICS, WEIGHTS, SavedRun, load_run, save_run

RUN_FILES = (CONFIG, WEIGHTS, MASKS, METRICS)
MAX_ZIP_BYTES = 256 * 1024 * 1024  # unpacked size accepted from one archive


def run_zip(model, masks=None, config: dict | None = None, metrics: dict | None = None, scaler=None) -> bytes:
    """The run directory that `io.save_run` writes, zipped, as bytes (file names at the archive's root)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = save_run(tmp, model, masks, config=config, metrics=metrics, scaler=scaler)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in RUN_FILES:
                zf.write(out / name, arcname=name)
    return buf.getvalue()


def load_run_zip(raw: bytes, max_bytes: int = MAX_ZIP_BYTES) -> SavedRun:
    """Load a run from the bytes of a zip made by `run_zip` (its files may sit in one top folder)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(bytes(raw)))
    except zipfile.BadZipFile:
        raise CheckpointError("The file is not a zip archive. Upload the .zip the app's download button made.") from None
    with zf:
        members = {}
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = pathlib.PurePosixPath(info.filename).name
            if name not in RUN_FILES or info.filename.count("/") > 1 or ".." in info.filename:
                raise CheckpointError(f"The archive holds an unexpected file '{info.filename}'; a saved run holds only "
                                      f"{', '.join(RUN_FILES)}.")
            if name in members:
                raise CheckpointError(f"The archive holds '{name}' twice. Download the run again.")
            members[name] = info
        missing = [n for n in (CONFIG, WEIGHTS, MASKS) if n not in members]
        if missing:
            raise CheckpointError(f"The archive lacks {', '.join(missing)}; it is not a complete saved run.")
        if sum(i.file_size for i in members.values()) > max_bytes:
            raise CheckpointError(f"The archive unpacks to more than {max_bytes / 2**20:.0f} MB; refused.")
        with tempfile.TemporaryDirectory() as tmp:
            left = max_bytes
            for name, info in members.items():
                try:
                    left -= _copy_bounded(zf, info, pathlib.Path(tmp) / name, left, max_bytes)
                except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
                    raise CheckpointError(f"'{name}' in the archive is damaged ({exc}).") from None
            return load_run(tmp)


CHUNK = 1 << 20  # bytes decompressed per read


def _copy_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: pathlib.Path, limit: int, max_bytes: int) -> int:
    """Unpack one member to `dest` in chunks, refusing it once it passes `limit` bytes (what is left of the
    archive's `max_bytes`), whatever its header claims: `zf.read` decompresses up to 2 GB in one call before
    the declared size is checked."""
    written = 0
    with zf.open(info) as src, open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > limit:
                raise CheckpointError(f"The archive unpacks to more than {max_bytes / 2**20:.0f} MB; refused.")
            out.write(chunk)
    return written
