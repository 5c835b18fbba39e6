"""`python -m scgru_core sensitivity`: train (the run options), prune each matrix or gate block alone across
sparsities, write one row per part and sparsity (CSV / JSON), and suggest per-part sparsities for overall targets,
each set against uniform SCGRU at the same sparsity (test errors, pruned only)."""
from __future__ import annotations

import sys

from scgru_core.cli.common import (add_common, load_data, command, configs_from, progress_callbacks, write_csv,
                                   write_json)
from scgru_core.cli.flags import table_list
from scgru_core.study.experiment import config_to_dict, resolve_prune_config, train_dense
from scgru_core.pruning.lab import PruningLab
from scgru_core.pruning.rules import PruneConfig
from scgru_core.pruning.sensitivity_analysis import BY, DEFAULT_SPARSITIES, SensitivityConfig, allocate, keys_in_scope
from scgru_core.data.windows import prepare


def add_parser(sub) -> None:
    p = sub.add_parser("sensitivity", help="prune each matrix or gate block alone across sparsities; suggest "
                                           "per-matrix sparsities for a target")
    add_common(p)
    p.add_argument("--sparsities", type=table_list("sparsity"), default=list(DEFAULT_SPARSITIES),
                   help=f"sparsities each part is pruned to (default {','.join(map(str, DEFAULT_SPARSITIES))})")
    p.add_argument("--by", choices=BY, default="gate", help="one curve per gate block of each matrix, or per matrix")
    p.add_argument("--targets", type=table_list("sparsity"), default=[0.8, 0.9], help="overall sparsities to suggest per-part "
                                                                     "sparsities for (default 0.8,0.9)")
    p.add_argument("--csv", help="write the rows (part, sparsity, validation and test errors) as CSV here")


def suggestion(lab: PruningLab, analysis, target: float, scope_config: PruneConfig) -> dict:
    """One target: the allocation, its predicted validation RMSE, and the test errors of it and of uniform SCGRU."""
    alloc = allocate(analysis, target, keys_in_scope(lab.model, analysis.parts, scope_config.scope))
    per_part = lab.at(PruneConfig(method="per_matrix", sparsity=target, scope=scope_config.scope))
    uniform = lab.at(resolve_prune_config(lab.model, PruneConfig(scope=scope_config.scope, floor=scope_config.floor),
                                          target))
    return {"target": target, "sparsities": alloc.sparsities, "predicted_val_rmse": alloc.predicted_val,
            "sparsity": per_part.result.sparsity, "test": per_part.evaluation.metrics.to_dict(),
            "uniform_scgru": {"sensitivity": uniform.config.sensitivity, "sparsity": uniform.result.sparsity,
                              "test": uniform.evaluation.metrics.to_dict()}}


@command
def cmd_sensitivity(args) -> int:
    run_config = configs_from(args)
    config = SensitivityConfig(sparsities=tuple(args.sparsities), by=args.by)
    data = prepare(load_data(args, run_config.read, run_config.windows), run_config.windows)
    model, _ = train_dense(data, run_config.model, run_config.train, progress_callbacks(args.quiet))
    lab = PruningLab(model, data)

    def progress(i, n):
        if not args.quiet and (i == n or i % 8 == 0):
            print(f"  evaluated {i}/{n}", file=sys.stderr, flush=True)

    analysis = lab.analysis(config, progress)
    print(f"dense test RMSE {lab.dense.metrics.rmse:.4g} (validation {analysis.dense_val['rmse']:.4g}); naive "
          f"{lab.naive.metrics.rmse:.4g}. Validation RMSE with one part pruned alone:")
    print(f"{'part':<24}" + "".join(f"{s:>9.0%}" for s in config.sparsities))
    for part in analysis.parts:
        _, errors = analysis.curve(part.key)
        print(f"{part.key.replace('rnn.weight_', ''):<24}" + "".join(f"{e:>9.4g}" for e in errors[1:]))
    suggestions = [suggestion(lab, analysis, t, run_config.prune) for t in args.targets]
    for s in suggestions:
        u = s["uniform_scgru"]
        print(f"target {s['target']:.0%}: per-matrix test RMSE {s['test']['rmse']:.4g} (predicted validation "
              f"{s['predicted_val_rmse']:.4g}) against uniform SCGRU {u['test']['rmse']:.4g} (s = {u['sensitivity']:.3g})")
        print("  " + ", ".join(f"{k.replace('rnn.weight_', '')} {v:.0%}" for k, v in s["sparsities"].items()))
    write_csv(args.csv, analysis.rows)
    write_json(args.json, {"config": {**config_to_dict(run_config), "sparsities": list(config.sparsities),
                                      "by": config.by},
                           "dense": {"val": analysis.dense_val, "test": analysis.dense_test},
                           "naive": lab.naive.metrics.to_dict(), "rows": analysis.rows, "suggestions": suggestions})
    return 0
