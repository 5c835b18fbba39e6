"""The same comparison on each executor: wall time, the pool's speed-up over in-process, Ray's overhead per task,
and a check that every executor gave the same rows.

    .venv/bin/python benchmarks/executors.py [--executors local,process,ray] [--workers 2]

The comparison: sunspots (window 24), GRU 32, 8 + 2 epochs, methods sensitivity, random, agp, rewind at 50 / 90%,
scope hh, 4 seeds (the study's settings on one of its tasks, smaller). Ray's overhead is also timed directly:
trivial tasks, wall time per task.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scgru_core as sc  # noqa: E402
from scgru_core.data.samples import SAMPLES  # noqa: E402


def nothing(i: int, callbacks=None) -> int:
    return i


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--executors", default="local,process,ray")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    data = sc.prepare(sc.load_series(SAMPLES["sunspots"].path), sc.WindowConfig(window=24))
    config = sc.CompareConfig(methods=("sensitivity", "random", "agp", "rewind"), sparsities=(0.5, 0.9),
                              seeds=(0, 1, 2, 3), scope=sc.Scope.parse("hh"), model=sc.ModelConfig(hidden=32),
                              train=sc.TrainConfig(epochs=8, batch_size=128, lr=3e-3, patience=0), finetune_epochs=2)
    tasks = len(config.points()) + len(config.seeds)  # rows, plus one dense training per seed
    print(f"{tasks} tasks ({len(config.points())} rows + {len(config.seeds)} dense trainings); load average at start "
          f"{os.getloadavg()[0]:.2f}")
    walls, rows = {}, {}
    for name in args.executors.split(","):
        executor = sc.make_executor(name, args.workers)
        start = time.perf_counter()
        result = sc.compare(data, config, executor=executor)
        walls[name] = time.perf_counter() - start
        rows[name] = [{k: v for k, v in r.items() if k != "seconds"} for r in result.rows]
        line = f"{name:<8} {walls[name]:7.1f} s wall"
        if name != "local" and "local" in walls:
            line += f", {walls['local'] / walls[name]:.2f}x the in-process time"
        if name == "ray":
            import ray
            t = time.perf_counter()
            list(executor.map(nothing, [(i,) for i in range(200)]))
            line += f"; overhead {1000 * (time.perf_counter() - t) / 200:.1f} ms per trivial task"
            ray.shutdown()
        print(f"{line}; same rows as in-process: {rows[name] == rows.get('local', rows[name])}; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
