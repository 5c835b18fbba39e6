"""Train and save the dense checkpoints shipped for the samples (checkpoints/<sample>/, and checkpoints/<sample>-<cell>/
for the default sample on every other cell).

Each checkpoint is the default setup of its sample (scgru_core.store.checkpoints.default_setup: the engine's defaults):
hidden 64, one layer, the sample's window, the lab's training defaults, seed 0. Training
runs on one CPU thread with a fixed seed, so running this again gives the same weights bit for
bit (only the mean epoch time recorded in metrics.json differs). `--check` retrains and compares with
what is shipped instead of writing.

    .venv/bin/python scripts/make_checkpoints.py                  # all samples (a few minutes of CPU)
    .venv/bin/python scripts/make_checkpoints.py --samples airline --check
    .venv/bin/python scripts/make_checkpoints.py --samples power_load --cells lstm,rnn
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from scgru_core.store.checkpoints import (CHECKPOINT_DIR, REPRODUCE_ATOL, checkpoint_dir, default_setup, save_replay,  # noqa: E402
                                         load_checkpoint, settings_for, training_record, weights_equal)
from scgru_core.net.cells import CELLS  # noqa: E402
from scgru_core.data.samples import DEFAULT_SAMPLE  # noqa: E402
from scgru_core import threads  # noqa: E402
from scgru_core.net.cost import model_cost  # noqa: E402
from scgru_core.data.reading import load_series  # noqa: E402
from scgru_core.net.evaluate import evaluate, evaluate_naive  # noqa: E402
from scgru_core.study.experiment import train_dense  # noqa: E402
from scgru_core.store.runs import save_run  # noqa: E402
from scgru_core.data.samples import SAMPLES  # noqa: E402
from scgru_core.data.windows import prepare  # noqa: E402


def train(sample: str, cell: str = "gru"):
    """The checkpoint's model, data, training result and metrics for `sample` on `cell` (deterministic)."""
    setup = default_setup(sample, cell)
    series = load_series(SAMPLES[sample].path)
    data = prepare(series, setup.windows)
    model, result = train_dense(data, setup.model, setup.train)
    model.eval()
    metrics = {"dense": evaluate(model, data).metrics.to_dict(), "naive": evaluate_naive(data).metrics.to_dict(),
               "val": evaluate(model, data, "val").metrics.to_dict(),
               "training": training_record(result), "dense_cost": model_cost(model, None, data.window).to_dict()}
    return setup, model, data, result, metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", default=",".join(SAMPLES), help="comma-separated sample keys (default: all)")
    parser.add_argument("--cells", default=None,
                        help="comma-separated cells (default: gru for every sample, and every cell for the default "
                             f"sample {DEFAULT_SAMPLE})")
    parser.add_argument("--out", type=pathlib.Path, default=CHECKPOINT_DIR,
                        help="where to write (default: checkpoints/)")
    parser.add_argument("--check", action="store_true", help="retrain and compare with the shipped checkpoints")
    args = parser.parse_args(argv)
    threads.pin(1)  # the same arithmetic on every machine and thread count
    keys = [k.strip() for k in args.samples.split(",") if k.strip()]
    unknown = [k for k in keys if k not in SAMPLES]
    if unknown:
        parser.error(f"unknown samples {unknown}; choose from {', '.join(SAMPLES)}")
    cells = [c.strip() for c in args.cells.split(",")] if args.cells else None
    wrong = [c for c in cells or () if c not in CELLS]
    if wrong:
        parser.error(f"unknown cells {wrong}; choose from {', '.join(CELLS)}")
    jobs = [(k, c) for k in keys for c in (cells or (list(CELLS) if k == DEFAULT_SAMPLE else ["gru"]))]
    failed = 0
    for key, cell in jobs:
        t0 = time.perf_counter()
        setup, model, data, result, metrics = train(key, cell)
        seconds = time.perf_counter() - t0
        folder = args.out / checkpoint_dir(key, cell).name
        name = key if cell == "gru" else f"{key} ({cell})"
        if args.check:
            shipped = load_checkpoint(key, folder, cell)
            same = weights_equal(model, shipped.model, atol=REPRODUCE_ATOL)
            failed += not same
            print(f"{name}: {'matches' if same else 'DIFFERS FROM'} the shipped checkpoint ({seconds:.1f} s)")
            continue
        out = save_run(folder, model, None, config=settings_for(key, setup, data), metrics=metrics,
                       scaler=data.scaler)
        if (key, cell) == (DEFAULT_SAMPLE, "gru"):  # the lesson's model: its training replayed (0.4 MB)
            save_replay(out, result)
        size = sum(p.stat().st_size for p in out.iterdir())
        print(f"{name}: {len(result.history)} epochs, test RMSE {metrics['dense']['rmse']:.4g} "
              f"(naive {metrics['naive']['rmse']:.4g}), {size / 1024:.0f} KiB, {seconds:.1f} s -> {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
