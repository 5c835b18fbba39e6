"""What the server-wide snapshot cache saves when a class prunes one model: ms per slider move, printed.

    .venv/bin/python benchmarks/snapshot_cache.py [--sessions 30] [--moves 20]

The shipped default model (hidden 64) on the power-load sample, one torch thread. The first session moves the
threshold through `moves` values (each computed: a miss); the other sessions make the same moves (hits).
Also the one-time cost a lab pays to digest its weights and data for the key.
"""
from __future__ import annotations

import argparse
import copy
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scgru_core as sc  # noqa: E402
from scgru_core.store.checkpoints import load_checkpoint  # noqa: E402
from scgru_core.serve.snapshot_cache import SnapshotCache, model_digest  # noqa: E402
from scgru_core.data.windows import data_fingerprint  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--moves", type=int, default=20)
    args = ap.parse_args()
    sc.threads.pin(1)
    ckpt = load_checkpoint("power_load")
    configs = [sc.PruneConfig(sensitivity=round(0.1 + 0.15 * i, 2)) for i in range(args.moves)]
    cache = SnapshotCache()
    t0 = time.perf_counter()
    model_digest(ckpt.model), data_fingerprint(ckpt.data)
    digest_ms = 1e3 * (time.perf_counter() - t0)
    labs = [sc.PruningLab(copy.deepcopy(ckpt.model), ckpt.data, cache=cache) for _ in range(args.sessions)]
    moves: list[list[float]] = []
    for lab in labs:
        times = []
        for config in configs:
            t = time.perf_counter()
            lab.at(config)
            times.append(1e3 * (time.perf_counter() - t))
        moves.append(times)
    first, rest = moves[0], [t for times in moves[1:] for t in times]
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{args.sessions} sessions x {args.moves} moves, default model, 1 thread (load average {load}):")
    print(f"  the key's digests of the weights and the data, once per session: {digest_ms:.1f} ms")
    print(f"  first session, every move computed: median {statistics.median(first):.2f} ms")
    print(f"  the other {args.sessions - 1} sessions, the same moves from the cache: median "
          f"{statistics.median(rest):.4f} ms ({statistics.median(first) / statistics.median(rest):,.0f}x less)")
    print(f"  computed {cache.misses} times for {args.sessions * args.moves} moves ({cache.hits} hits)")


if __name__ == "__main__":
    main()
