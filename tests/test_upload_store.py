"""The server's kept uploads: found again by digest, bounded, and never a path or a changed file."""
from __future__ import annotations

import os
import time

from scgru_core.store.uploads import UploadStore, digest


def test_an_upload_is_found_by_its_digest_with_its_name(tmp_path):
    store = UploadStore(tmp_path)
    key = store.put(b"time,load\n1,2\n", "my readings.csv")
    assert key == digest(b"time,load\n1,2\n") and len(key) == 32
    got = store.get(key)
    assert got.raw == b"time,load\n1,2\n" and got.filename == "my readings.csv"
    assert UploadStore(tmp_path).get(key) == got  # another server process on the same folder finds it


def test_a_hand_edited_digest_or_a_changed_file_finds_nothing(tmp_path):
    store = UploadStore(tmp_path)
    key = store.put(b"a,b\n1,2\n", "x.csv")
    for bad in (None, "", "../../etc/passwd", key.upper(), key[:-1], "0" * 32, key + "0"):
        assert store.get(bad) is None, bad
    (tmp_path / f"{key}.data").write_bytes(b"a,b\n9,9\n")  # changed on disk: not what the link was made with
    assert store.get(key) is None


def test_the_least_recently_used_go_first_past_the_bounds(tmp_path):
    store = UploadStore(tmp_path, max_files=3, max_bytes=10_000)
    keys = []
    for i in range(3):
        keys.append(store.put(f"v\n{i}\n".encode(), f"{i}.csv"))
        past = time.time() - 100 + i
        os.utime(tmp_path / f"{keys[-1]}.data", (past, past))
    store.get(keys[0])  # used again: now the most recent
    keys.append(store.put(b"v\n3\n", "3.csv"))
    assert store.get(keys[1]) is None  # the least recently used went
    assert all(store.get(k) is not None for k in (keys[0], keys[2], keys[3]))
    big = store.put(b"v\n" + b"1\n" * 6_000, "big.csv")  # 12 KB alone passes max_bytes: kept, the others go
    assert store.get(big) is not None and store.get(keys[0]) is None
