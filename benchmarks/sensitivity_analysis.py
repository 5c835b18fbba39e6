"""Sensitivity analysis of the default model (the shipped power-load checkpoint): how long it takes, and whether
the per-matrix sparsities it suggests beat uniform SCGRU at the same overall sparsity (test RMSE, pruned only,
no fine-tuning).

    .venv/bin/python benchmarks/sensitivity_analysis.py [--sample power_load] [--targets 0.8,0.9]
"""
from __future__ import annotations

import argparse
import os
import time

import scgru_core as sc
from scgru_core.store.checkpoints import load_checkpoint
from scgru_core.study.experiment import resolve_prune_config
from scgru_core.pruning.sensitivity_analysis import SensitivityConfig, analyse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", default="power_load")
    ap.add_argument("--targets", default="0.8,0.9")
    ap.add_argument("--by", default="gate", choices=("gate", "matrix"))
    args = ap.parse_args()
    sc.threads.pin(1)
    ckpt = load_checkpoint(args.sample)
    lab = sc.PruningLab(ckpt.model, ckpt.data)
    config = SensitivityConfig(by=args.by)
    t = time.perf_counter()
    analysis = analyse(ckpt.model, ckpt.data, config)
    seconds = time.perf_counter() - t
    print(f"load average {os.getloadavg()[0]:.2f}; model hidden {ckpt.model.config.hidden} x {ckpt.model.config.layers}, "
          f"{len(ckpt.data.test)} test / {len(ckpt.data.val)} validation windows")
    print(f"analysis: {len(analysis.parts)} parts x {len(config.sparsities)} sparsities = {len(analysis.rows)} "
          f"evaluations in {seconds:.2f} s (one thread)")
    print(f"dense test RMSE {lab.dense.metrics.rmse:.1f}, naive {lab.naive.metrics.rmse:.1f}")
    for target in (float(x) for x in args.targets.split(",")):
        uniform = lab.at(resolve_prune_config(lab.model, sc.PruneConfig(), target))
        suggested = lab.at(sc.PruneConfig(method="per_matrix", sparsity=target))
        alloc = lab.allocation(sc.PruneConfig(method="per_matrix", sparsity=target))
        print(f"target {target:.0%}: uniform SCGRU (s = {uniform.config.sensitivity:.3f}) sparsity "
              f"{uniform.result.sparsity:.2%}, test RMSE {uniform.evaluation.metrics.rmse:.1f}; per-matrix "
              f"sparsity {suggested.result.sparsity:.2%}, test RMSE {suggested.evaluation.metrics.rmse:.1f} "
              f"({suggested.evaluation.metrics.rmse / uniform.evaluation.metrics.rmse:.2f}x)")
        print("   per part: " + ", ".join(f"{k.replace('rnn.weight_', '')} {v:.0%}" for k, v in alloc.items()))


if __name__ == "__main__":
    main()
