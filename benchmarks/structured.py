"""Does pruning pay? Structured (hidden units removed) against unstructured (CSR), measured side by side.

    .venv/bin/python benchmarks/structured.py [--cells gru,lstm] [--hidden 350] [--window 100] [--epochs 5]
                                              [--finetune-epochs 5] [--units 0.5,0.75] [--repeats 15] [--json PATH]

For each cell (the GRU and the LSTM side by side, in one run so the figures share the machine's load): trains the
SCGRU reference model once (power-load sample, one torch thread, seed 0), then for each
fraction of units removed: shrink (timed), fine-tune once (the structured SCGRU recipe), and measure
every deployment variant (deploy.measure_deployment: dense, masked, CSR, shrunk, shrunk + int8, bf16
where native, ONNX Runtime where installed), with test RMSE beside every latency. For comparison,
unstructured SCGRU pruning at 90% and 98% run through CSR (sparse_exec.compare_latency).
Prints a table and the load average at each step; figures are wall-clock on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time


ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scgru_core as sc  # noqa: E402
from scgru_core.deploy.measure import measure_deployment  # noqa: E402
from scgru_core.data.samples import SAMPLES  # noqa: E402
from scgru_core.deploy.shrink import shrink_and_finetune  # noqa: E402
from scgru_core.deploy.sparse_exec import SPARSE, compare_latency  # noqa: E402
from scgru_core.deploy.units import UnitConfig  # noqa: E402


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="gru,lstm", help="comma-separated cells (net/cells.py), each measured in turn")
    ap.add_argument("--unstructured", action="store_true", help="also time unstructured SCGRU through CSR")
    ap.add_argument("--hidden", type=int, default=350)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--finetune-epochs", type=int, default=5)
    ap.add_argument("--units", default="0.5,0.75")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--json")
    args = ap.parse_args()
    sc.threads.pin(1)  # training included: every figure at one thread
    data = sc.prepare(sc.load_series(SAMPLES["power_load"].path), sc.WindowConfig(window=args.window))
    train = sc.TrainConfig(epochs=args.epochs, batch_size=32, lr=1e-3, patience=0, seed=0)
    runs = [measure(cell.strip(), data, train, args) for cell in args.cells.split(",")]
    print("\nsummary: speed-up of the smaller module over its dense one, test RMSE after fine-tuning")
    for run in runs:
        for r in run["structured"]:
            print(f"  {run['cell']:<5} {r['fraction']:.0%} removed: batch 1 {r['speedup_b1']:.2f}x, batch 256 "
                  f"{r['speedup_b256']:.2f}x; RMSE {r['finetuned_rmse']:.1f} MW (dense {run['dense_rmse']:.1f})")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(runs, indent=2))


def measure(cell: str, data, train, args) -> dict:
    t0 = time.perf_counter()
    dense, _ = sc.train_dense(data, sc.ModelConfig(hidden=args.hidden, cell=cell), train)
    dense_rmse = sc.evaluate(dense, data).metrics.rmse
    print(f"\n{cell.upper()} dense hidden {args.hidden}, window {args.window}: trained in {time.perf_counter() - t0:.0f} s, "
          f"test RMSE {dense_rmse:.1f} MW, naive {sc.evaluate_naive(data).metrics.rmse:.1f} MW ({load()})", flush=True)
    out = {"cell": cell, "hidden": args.hidden, "window": args.window, "dense_rmse": dense_rmse, "threads": 1,
           "structured": [], "unstructured_csr": []}
    ft = sc.finetune_config(train, args.finetune_epochs)
    for fraction in (float(v) for v in args.units.split(",")):
        result = shrink_and_finetune(dense, data, UnitConfig(fraction=fraction), ft)
        report = measure_deployment(dense, result.final, result.selection, data, repeats=args.repeats)
        rmse = result.final_metrics.rmse
        print(f"\n{fraction:.0%} of units removed: hidden {args.hidden} -> {result.selection.hidden_after}, removal "
              f"{result.shrink_seconds * 1e3:.0f} ms; RMSE {result.shrunk_metrics.rmse:.1f} -> {rmse:.1f} MW after "
              f"{args.finetune_epochs} fine-tune epochs ({rmse / dense_rmse - 1:+.1%} vs dense) ({load()})")
        print(f"  {'variant':<34} {'params':>8} {'bytes':>9} {'ms b1':>8} {'x b1':>6} {'ms b256':>9} {'x b256':>7} "
              f"{'RMSE':>8} {'max|d|':>8}")
        for r in report.rows:
            print(f"  {r.label:<34} {r.params:>8,} {r.bytes:>9,} {r.ms[1]:>8.3f} {report.speedup(r.variant, 1):>6.2f} "
                  f"{r.ms[256]:>9.2f} {report.speedup(r.variant, 256):>7.2f} {r.rmse:>8.1f} {r.max_abs_diff:>8.3g}")
        for variant, why in report.skipped.items():
            print(f"  (no {variant}: {why})")
        out["structured"].append({"fraction": fraction, "hidden_after": result.selection.hidden_after,
                                  "shrink_seconds": result.shrink_seconds, "pruned_rmse": result.shrunk_metrics.rmse,
                                  "finetuned_rmse": rmse, "speedup_b1": report.speedup("shrunk", 1),
                                  "speedup_b256": report.speedup("shrunk", 256), **report.to_json(), "load": load()})
    for sparsity in (0.9, 0.98) if args.unstructured else ():
        s = sc.sensitivity_for_sparsity(dense, sparsity)
        masks = sc.prune(dense, sc.PruneConfig(sensitivity=s)).masks
        lat = compare_latency(dense, masks, args.window, batches=(1, 256), repeats=args.repeats,
                              include_dense_loop=False)
        print(f"\nunstructured SCGRU {sparsity:.0%} through CSR: batch 1 {lat.speedup(1):.2f}x, batch 256 "
              f"{lat.speedup(256):.2f}x dense ({lat.ms(SPARSE, 1):.3f} / {lat.ms(SPARSE, 256):.2f} ms) ({load()})")
        out["unstructured_csr"].append({"sparsity": sparsity, "speedup_b1": lat.speedup(1),
                                        "speedup_b256": lat.speedup(256), "load": load()})
    return out


if __name__ == "__main__":
    main()
