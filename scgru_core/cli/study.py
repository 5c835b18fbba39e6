"""`python -m scgru_core study --config studies/paper.toml`: run the study (resumable) and write its report:
OUT/results.md, and under OUT/results/ the raw rows (rows.jsonl as they finish, rows.csv), the cells with their
intervals (cells.csv), the wall time of each run (runs.json) and one PNG figure per task (plotly's image export,
which needs kaleido: pip install -r requirements-study.txt; without it the report says the figures were skipped).
"""
from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

from scgru_core.cli.common import (add_executor, add_threads, command, executor_from, interrupted, stop_on_interrupt,
                                   write_csv)
from scgru_core.net.evaluate import evaluate_naive
from scgru_core.study.study import RUNS_FILE, StudyConfig, read_rows, read_skipped, run_study
from scgru_core.net.train import Callbacks
from scgru_core.study.report import ReportInputs, cells, markdown, references


def add_parser(sub) -> None:
    p = sub.add_parser("study", help="the reproducible results table: tasks x methods x sparsities x scopes x seeds")
    p.add_argument("--config", required=True, help="a study file, e.g. studies/paper.toml")
    p.add_argument("--out", default="docs", help="where results.md and results/ go (default: docs)")
    p.add_argument("--resume", action="store_true", help="keep the rows already in OUT/results/rows.jsonl")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from the rows already there")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_executor(p)
    add_threads(p)


def write_report(config: StudyConfig, out: pathlib.Path, rows: list[dict]) -> pathlib.Path:
    """results.md and its files, from `rows` alone (the naive forecast is recomputed: it is deterministic)."""
    folder = out / "results"
    table, refs = cells(rows), references(rows)
    naive = {t.name: evaluate_naive(t.load(pathlib.Path(config.base))).metrics.to_dict() for t in config.tasks}
    write_csv(str(folder / "rows.csv"), rows)
    table.to_csv(folder / "cells.csv", index=False)
    figures = {}
    if importlib.util.find_spec("kaleido") is None:
        print("  figures skipped: PNG export needs kaleido (pip install -r requirements-study.txt)", file=sys.stderr)
    else:
        from scgru_core.viz.study import study_figure  # plotly, only for the command that draws
        for i, task in enumerate(config.tasks):
            part = table[(table["task"] == task.name) & (table["stage"] == "final")]
            if part.empty:
                continue
            dense = refs[(refs["task"] == task.name) & (refs["method"] == "dense")]["mean"] if not refs.empty else []
            panels, records = list(config.scopes), part.to_dict("records")
            if len(config.cells) > 1:  # a panel per cell and scope; each cell's dense model is in the page's table
                panels = [f"{c.upper()} {s}" for c in config.cells for s in config.scopes]
                records = [{**r, "scope": f"{r['cell'].upper()} {r['scope']}"} for r in records]
                dense = []
            fig = study_figure(records, panels, float(dense.iloc[0]) if len(dense) else None,
                               naive[task.name]["rmse"], title=f"{task.name}: test RMSE after the same budget "
                               f"(mean and 95% interval over {len(config.seeds)} seeds)")
            name = f"task{i + 1}.png"
            fig.write_image(folder / name, width=max(1500, 320 * len(panels)), height=460)
            figures[task.name] = f"results/{name}"
    runs = json.loads((folder / RUNS_FILE).read_text()) if (folder / RUNS_FILE).exists() else []
    inputs = ReportInputs(settings=config.to_dict(), naive=naive, seconds=sum(r["seconds"] for r in runs), runs=runs,
                          figures=figures, tasks=[t.__dict__ for t in config.tasks], skipped=read_skipped(folder))
    page = out / "results.md"
    page.write_text(markdown(table, refs, inputs))
    return page


@command
def cmd_study(args) -> int:
    config = StudyConfig.from_toml(args.config)
    out = pathlib.Path(args.out)
    if args.report_only:
        print(f"report: {write_report(config, out, read_rows(out / 'results'))}")
        return 0
    executor = executor_from(args)

    def on_row(task, i, n, row):
        if not args.quiet:
            print(f"  {task}: row {i}/{n}: {row['cell']} {row['method']} {row['scope']} {float(row['target_sparsity']):.0%} seed "
                  f"{row['seed']}: rmse {row['rmse']:.4g}", file=sys.stderr, flush=True)

    with stop_on_interrupt() as stop:
        run = run_study(config, out / "results", executor, resume=args.resume, callbacks=Callbacks(should_stop=stop),
                        on_row=on_row)
    page = write_report(config, out, run.rows)
    print(f"{len(run.rows)} rows in {run.seconds:,.0f} s ({executor.name}); report: {page}")
    return interrupted([str(out / "results" / "rows.jsonl")], len(run.rows)) if run.cancelled else 0
