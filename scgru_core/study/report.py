"""What a study's rows say: a mean and 95% interval per cell (task x model cell x scope x method x sparsity x stage), which
methods beat random pruning beyond their intervals, and the markdown page that reports it (docs/results.md).

Stages: "final" is the model each method ends with on the same budget (fine-tuned for the one-shot rules,
trained for gradual and rewind); "pruned" is a one-shot rule's cut before fine-tuning.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

import pandas as pd

from scgru_core.study.methods import method_kind
from scgru_core.study.stats import Interval, mean_interval

STAGES = {"final": "rmse", "pruned": "pruned_rmse"}
STAGE_TITLES = {"final": "After fine-tuning (one-shot rules) or training with the mask (gradual, rewind)",
                "pruned": "Pruned only: the one-shot cut before any fine-tuning"}
BASELINE = "random"


def _frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as a table; a row written before the model's cell was a dimension is a GRU's."""
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["cell"] = frame["cell"].fillna("gru") if "cell" in frame else "gru"
    return frame


def cells(rows: list[dict], metric: str = "rmse") -> pd.DataFrame:
    """One row per task x cell x scope x method x target x stage: mean, half-width, n, and the mean sparsity reached."""
    frame = _frame([r for r in rows if method_kind(r["method"]) != "unpruned"])
    out = []
    if frame.empty:
        return pd.DataFrame(columns=["task", "cell", "scope", "method", "target", "stage", "mean", "half", "n",
                                     "sparsity"])
    for stage, column in STAGES.items():
        column = column.replace("rmse", metric)
        if column not in frame:
            continue
        for (task, cell, scope, method, target), part in frame.groupby(
                ["task", "cell", "scope", "method", "target_sparsity"], sort=False):
            values = part[column].dropna()
            if values.empty:
                continue
            ci = mean_interval(values)
            out.append({"task": task, "cell": cell, "scope": scope, "method": method, "target": float(target),
                        "stage": stage, "mean": ci.mean, "half": ci.half, "n": ci.n,
                        "sparsity": float(part["sparsity"].mean())})
    return with_verdicts(pd.DataFrame(out))


def with_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Adds `vs_random`: "better" when a cell's interval lies wholly below random's at the same task, model cell,
    scope, target and stage, "worse" when wholly above, "" otherwise (overlap, or random itself)."""
    table = table.copy()
    key = ["task", "cell", "scope", "target", "stage"]
    random = table[table["method"] == BASELINE].set_index(key)
    verdicts = []
    for _, row in table.iterrows():
        k = tuple(row[c] for c in key)
        if row["method"] == BASELINE or k not in random.index:
            verdicts.append("")
            continue
        base = random.loc[k]
        mine, theirs = Interval(row["mean"], row["half"], row["n"]), Interval(base["mean"], base["half"], base["n"])
        verdicts.append("better" if mine.below(theirs) else "worse" if theirs.below(mine) else "")
    table["vs_random"] = verdicts
    return table


def references(rows: list[dict], metric: str = "rmse") -> pd.DataFrame:
    """Per task, the unpruned models (dense model of each cell, gate variants) over seeds: mean and half-width."""
    frame = _frame([r for r in rows if method_kind(r["method"]) == "unpruned"])
    out = []
    if not frame.empty:
        for (task, cell, method), part in frame.drop_duplicates(["task", "cell", "method", "seed"]).groupby(
                ["task", "cell", "method"], sort=False):
            ci = mean_interval(part[metric])
            out.append({"task": task, "cell": cell, "method": method, "mean": ci.mean, "half": ci.half, "n": ci.n,
                        "params": int(part["params_total"].iloc[0])})
    return pd.DataFrame(out)


@dataclass(frozen=True)
class ReportInputs:
    """What the page says besides the rows: settings, the naive forecast per task, wall time, figure paths."""

    settings: dict
    naive: dict  # task -> metrics dict
    seconds: float
    runs: list
    figures: dict  # task -> path relative to the markdown file (absent: no figure)
    tasks: list  # task dicts (name, data, window, last) in order
    skipped: list = ()  # points whose target the rule cannot reach: task, method, scope, target_sparsity, seed, reason


def _num(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    magnitude = abs(value)
    for scale, suffix in ((1e9, "G"), (1e6, "M")):  # a traffic series in bit/s: 144.0M reads, 143,163,380 does not
        if magnitude >= scale:
            return f"{value / scale:,.1f}{suffix}"
    return f"{value:,.0f}" if magnitude >= 1000 else f"{value:.4g}"


def _cell(mean: float, half: float, verdict: str) -> str:
    text = _num(mean) + ("" if not math.isfinite(half) else f" ± {_num(half)}")
    return f"**{text}**" if verdict == "better" else f"_{text}_" if verdict == "worse" else text


def _table(part: pd.DataFrame, targets: list[float], by_cell: bool) -> list[str]:
    head = "| cell | method | scope | " if by_cell else "| method | scope | "
    lines = [head + " | ".join(f"{t:.0%}" for t in targets) + " |",
             "|---|" * by_cell + "|---|---|"[by_cell:] + "---:|" * len(targets)]
    for (cell, method, scope), rows in part.groupby(["cell", "method", "scope"], sort=False):
        by = {round(r["target"], 6): r for _, r in rows.iterrows()}
        cols = [(_cell(by[round(t, 6)]["mean"], by[round(t, 6)]["half"], by[round(t, 6)]["vs_random"])
                 if round(t, 6) in by else "") for t in targets]
        lines.append(f"| {cell.upper() + ' | ' if by_cell else ''}{method} | {scope} | " + " | ".join(cols) + " |")
    return lines


def tolerance(table: pd.DataFrame, refs: pd.DataFrame) -> pd.DataFrame:
    """How well each model cell and scope tolerates pruning: per task, cell, scope and target, the final test RMSE of
    the pruning methods (random left out) over the dense model's of the same cell, averaged over the methods. 1.0:
    as good as unpruned; lower is better."""
    final = table[(table["stage"] == "final") & (table["method"] != BASELINE)]
    dense = refs[refs["method"] == "dense"].set_index(["task", "cell"])["mean"] if not refs.empty else pd.Series()
    out = []
    for (task, cell, scope, target), part in final.groupby(["task", "cell", "scope", "target"], sort=False):
        if (task, cell) in dense.index:
            out.append({"task": task, "cell": cell, "scope": scope, "target": target,
                        "ratio": float(part["mean"].mean() / dense.loc[(task, cell)])})
    return pd.DataFrame(out)


def finding(tol: pd.DataFrame, limit: float = 1.1) -> list[str]:
    """The cells comparison said in words: per task, which cell and scope keep closest to their dense model, and at
    each target, which cells stay within `limit` x their dense RMSE (the seed paper's "more than 80%" claim)."""
    lines = []
    for task, part in tol.groupby("task", sort=False):
        best = part.groupby(["cell", "scope"])["ratio"].mean().sort_values()
        (cell, scope), ratio = best.index[0], best.iloc[0]
        lines.append(f"- **{task}**: {cell.upper()} pruned in scope {scope} tolerates pruning best (final RMSE "
                     f"{ratio:.2f}x its dense model's, mean over targets and methods); worst: "
                     f"{best.index[-1][0].upper()} in scope {best.index[-1][1]} ({best.iloc[-1]:.2f}x).")
        for target, at in part.groupby("target"):
            held = sorted({f"{r['cell'].upper()} ({r['scope']})" for _, r in at.iterrows() if r["ratio"] <= limit})
            lines.append(f"  - at {target:.0%}: within {limit:.1f}x of dense: " + (", ".join(held) or "none"))
    return lines


def markdown(table: pd.DataFrame, refs: pd.DataFrame, inputs: ReportInputs) -> str:
    """The results page: per task the references, the final and pruned-only tables, a figure, and who beats random."""
    s = inputs.settings
    seeds = len(s["seeds"])
    hours = inputs.seconds / 3600
    lines = [
        "# Results: pruning methods against random pruning, over seeds",
        "",
        f"Generated by `python -m scgru_core study --config {s.get('source', 'studies/paper.toml')}` on "
        f"{_dt.date.today().isoformat()}; do not edit by hand (the raw rows are in "
        "[results/rows.csv](results/rows.csv), the cells in [results/cells.csv](results/cells.csv)).",
        "",
        f"**Protocol.** Every method gets the same budget: {s['train']['epochs']} dense epochs plus "
        f"{s['finetune_epochs']} fine-tuning epochs (one-shot rules prune the dense model once and fine-tune; AGP and "
        "Narang prune while training from scratch for the whole budget; rewind retrains the magnitude mask from the "
        f"initial weights). {' / '.join(c.upper() for c in s.get('cells', ['gru']))} of {s['model']['hidden']} hidden units, {s['model']['layers']} layer{'s' if s['model']['layers'] > 1 else ''}; batch "
        f"{s['train']['batch_size']}, learning rate {s['train']['lr']:g}, no early stopping; {seeds} seeds "
        f"({', '.join(map(str, s['seeds']))}). Sparsity is the share of the in-scope weights pruned.",
        "",
        f"**Reading the tables.** Test RMSE in the series' units: mean ± the half-width of its 95% Student-t interval "
        f"over the {seeds} seeds. **Bold**: the interval lies wholly below random pruning's at the same scope, sparsity "
        "and stage (beats random beyond the intervals); _italic_: wholly above (worse than random). Plain: the "
        "intervals overlap, so these seeds cannot tell the method from random pruning.",
        "",
        f"**Wall time.** {inputs.seconds:,.0f} s ({hours:.2f} h) in all; "
        + "; ".join(f"{r['executor']} " + (f"cluster at {r['cluster']}" if r.get("cluster") else f"x{r['workers']}")
                    + f": {r['seconds']:,.0f} s"
                    + (" (stopped by an error, then resumed)" if r.get("failed") else "") for r in inputs.runs)
        + " (on 2 shared cores, beside other work).",
        "",
    ]
    targets = sorted(table["target"].unique()) if not table.empty else []
    by_cell = not table.empty and table["cell"].nunique() > 1
    if by_cell:
        lines += ["## Finding: which cell and scope tolerate pruning", "",
                  "Final test RMSE of the pruning methods (random left out) over the dense model of the same cell, "
                  "averaged over methods and seeds: 1.00x is as good as unpruned. \"Within 1.1x\" is how this page "
                  "reads the seed paper's claim that more than 80% of the weights can go: the pruned model's error "
                  "stays within 10% of its dense model's.", ""]
        lines += finding(tolerance(table, refs)) + [""]
    for task in inputs.tasks:
        name = task["name"]
        lines += [f"## {name}", "",
                  f"`{task['data']}`, window {task['window']}" + (f", last {task['last']:,} values" if task.get("last")
                                                                  else "") + ".", ""]
        naive = inputs.naive.get(name, {}).get("rmse")
        ref_lines = ["| reference | test RMSE | parameters |", "|---|---:|---:|"]
        if naive is not None:
            ref_lines.append(f"| naive (last value) | {_num(naive)} | 0 |")
        for _, r in refs[refs["task"] == name].iterrows() if not refs.empty else []:
            label = f"{r['method']} {r['cell'].upper()}" if by_cell and r["method"] == "dense" else r["method"]
            ref_lines.append(f"| {label} (unpruned) | {_cell(r['mean'], r['half'], '')} | {r['params']:,} |")
        lines += ref_lines + [""]
        for stage in STAGES:
            part = table[(table["task"] == name) & (table["stage"] == stage)]
            if part.empty:
                continue
            lines += [f"### {STAGE_TITLES[stage]}", ""] + _table(part, targets, by_cell) + [""]
        gaps: dict = {}
        for r in inputs.skipped:
            if r["task"] == name:
                gaps.setdefault((r["method"], r["scope"], float(r["target_sparsity"])), []).append(r)
        if gaps:
            lines += ["**No row (target beyond what the rule reaches):**", ""]
            for (method, scope, target), part in sorted(gaps.items()):
                seeds = ", ".join(str(r["seed"]) for r in sorted(part, key=lambda r: r["seed"]))
                lines.append(f"- {method}, scope {scope}, {target:.0%} (seeds {seeds}): {part[0]['reason']}")
            lines.append("")
        if name in inputs.figures:
            lines += [f"![{name}: final test RMSE against sparsity, per scope]({inputs.figures[name]})", ""]
        lines += ["**Beats random beyond the intervals (final stage):**", ""]
        final = table[(table["task"] == name) & (table["stage"] == "final")]
        for target in targets:
            at = final[(final["target"] - target).abs() < 1e-9]
            winners = [f"{r['method']} ({r['cell'].upper() + ' ' if by_cell else ''}{r['scope']})"
                       for _, r in at.iterrows() if r["vs_random"] == "better"]
            lines.append(f"- {target:.0%}: " + (", ".join(winners) if winners else "none"))
        lines.append("")
    if not table.empty:
        lines += ["## Summary: cells that beat random", "",
                  "Per method, of its (task x scope x sparsity) cells in the final stage: how many beat random "
                  "beyond the intervals, how many were worse, and how many could not be told apart.", "",
                  "| method | better | worse | undecided |", "|---|---:|---:|---:|"]
        final = table[(table["stage"] == "final") & (table["method"] != BASELINE)]
        for method, part in final.groupby("method", sort=False):
            counts = part["vs_random"].value_counts()
            lines.append(f"| {method} | {counts.get('better', 0)} | {counts.get('worse', 0)} | {counts.get('', 0)} |")
        lines.append("")
    return "\n".join(lines)
