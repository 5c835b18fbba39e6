"""Reading an uploaded file in a process of its own, so that a slow reader does not stall everybody else.

A server process runs every session's script in one interpreter. openpyxl reads a workbook in pure Python and
holds the interpreter lock while it does: a million-row .xlsx held a core for 44 s, and while a 200,000-row one was
read in a thread, another session's slider move in the same process took 405 ms instead of 16 (25 ms with the read
apart; benchmarks/reading_apart.py). Read in a child process, the lock stays free; the child's memory (a workbook
needs many times its file size) is returned to the system when it ends.

Children fork from a forkserver that has already imported the reader, so a read starts in milliseconds after the
first (which pays the imports once, about 2 s); the forkserver is a clean single-threaded process, so forking it is
safe where forking a multi-threaded server is not. Small CSV and Parquet files, which pandas parses in C in well
under a second, are read in place: a process would cost more than it saves.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pandas as pd

from scgru_core.data.reading import ReadConfig
from scgru_core.data.tables import EXCEL_SUFFIXES, file_suffix, read_table
from scgru_core.errors import DecodeError

APART_BYTES = 8 * 2**20  # CSV and Parquet files above this are read apart too (a 41 MB CSV took 0.8 s in place)


def reads_apart(filename: str | None, size: int) -> bool:
    """Whether a file of this name and size is read in a process of its own: every workbook, and large files,
    where the system has a forkserver (Linux, macOS; on Windows every file is read in place)."""
    big_or_slow = file_suffix(filename) in EXCEL_SUFFIXES or size > APART_BYTES
    return big_or_slow and "forkserver" in multiprocessing.get_all_start_methods()


def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])  # the reader and its imports, loaded once in the forkserver
    return ctx


def read_table_apart(raw: bytes, filename: str | None, max_bytes: int = ReadConfig.max_bytes) -> pd.DataFrame:
    """`read_table(raw, filename, max_bytes)`, in a child process when `reads_apart` says so, else in place.
    The same typed errors as read_table; DecodeError when the child dies (out of memory, killed)."""
    if len(raw) > max_bytes or not reads_apart(filename, len(raw)):  # refused in place, with no process started
        return read_table(raw, filename=filename, max_bytes=max_bytes)
    with ProcessPoolExecutor(1, mp_context=_context()) as pool:
        try:
            return pool.submit(read_table, raw, filename, max_bytes).result()
        except BrokenProcessPool:
            raise DecodeError("Reading the file stopped before it finished (the reader ran out of memory or was "
                              "stopped). Upload a shorter excerpt, or save it as CSV.") from None
