"""What a large workbook upload costs the other sessions of the same server process.

    .venv/bin/python benchmarks/reading_apart.py [--rows 200000]

Writes a workbook of `--rows` half-hourly values, then times the default model's slider move (`PruningLab.at`, one
thread, median of 15) alone, and again while a thread of this process reads the workbook as the app's upload used
to (`read_table`, holding the interpreter lock) and as it does now (`read_table_apart`, in a child process). Prints
the read times too; the load average is printed beside the figures.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import threading
import time

import numpy as np
import pandas as pd
import torch

import scgru_core as sc
from scgru_core.store import checkpoints
from scgru_core.data.samples import DEFAULT_SAMPLE


def workbook(rows: int) -> bytes:
    times = pd.date_range("2000-01-01", periods=rows, freq="30min")
    values = 20_000 + 5_000 * np.sin(np.arange(rows) / 48 * 2 * np.pi)
    buf = io.BytesIO()
    pd.DataFrame({"timestamp": times, "demand_mw": values.round(1)}).to_excel(buf, index=False)
    return buf.getvalue()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=200_000)
    args = p.parse_args()
    torch.set_num_threads(1)
    ck = checkpoints.load_checkpoint(DEFAULT_SAMPLE)
    lab = sc.PruningLab(ck.model, ck.data)
    raw = workbook(args.rows)
    step = iter(range(100_000))

    def move_ms(n: int = 15) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            lab.at(sc.PruneConfig(sensitivity=0.5 + next(step) / 10_000))  # a new s each time: computed
            times.append(time.perf_counter() - t0)
        return 1000 * statistics.median(times)

    print(f"a {len(raw) / 2**20:.1f} MB workbook of {args.rows:,} rows; load average {os.getloadavg()[0]:.2f}")
    print(f"  a slider move, nothing else running: {move_ms():.1f} ms")
    for reader in (sc.read_table, sc.read_table_apart):
        took = {}

        def read(reader=reader):
            t0 = time.perf_counter()
            reader(raw, "upload.xlsx")
            took["s"] = time.perf_counter() - t0

        thread = threading.Thread(target=read)
        thread.start()
        time.sleep(0.5)
        during = move_ms()
        thread.join()
        print(f"  while the workbook is read by {reader.__name__}: a move {during:.1f} ms; the read {took['s']:.1f} s; "
              f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
