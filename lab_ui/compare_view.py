"""The Compare page's pieces: widgets into CompareConfigs, runs point by point (a Stop keeps what is done,
a later Run skips it), chart data and the table.

Results are kept per dataset (the Data page's) and per training settings (model size, budget), so changing
the budget starts a fresh table while going back to it finds the old rows again. A row's key is the engine's
`row_key` (method, scope, global, target, seed, cell): the scope is part of it, so ih / hh / both rows sit side by side.
"""
from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from dataclasses import replace

import pandas as pd
import streamlit as st

import scgru_core as sc
from scgru_core.net import budget
from scgru_core.study import ray_driver
from scgru_core.study.compare import row_key
from scgru_core.study.methods import known_methods, method_help, method_kind, method_label
from scgru_core.study.curves import BarGroup, Curve

from scgru_core.teach.settings import SETTINGS

from . import lab_state, memory, session, training
from .progress import Throttle

ss = st.session_state
TABLE = {"method": "method", "scope": "scope", "target_sparsity": "target", "seed": "seed", "sparsity": "sparsity",
         **sc.METRIC_LABELS, "params_nonzero": "non-zero params", "macs_nonzero": "MACs / forecast",
         "bytes_csr": "bytes (CSR)", "seconds": "wall time (s)"}


def methods() -> list[str]:
    return known_methods()


def label(name: str) -> str:
    return method_label(name)


class RayCheck:
    """Whether Ray started on this server, shared by every session of the process: Ray is offered only once a check
    passed (it runs in a child process, so a Ray that fails cannot end the server), and a failure is said with its
    reason. One check at a time; a class does not start Ray thirty times."""

    lock = threading.Lock()
    state: str = "unchecked"  # unchecked, ok, failed
    reason: str = ""

    @classmethod
    def run(cls) -> None:
        with cls.lock:
            try:
                ray_driver.check()
            except sc.ScgruError as exc:
                cls.state, cls.reason = "failed", str(exc)
            else:
                cls.state, cls.reason = "ok", ""


def executors() -> list[str]:
    """Where the rows may run: Ray only once it has started on this server (an optional extra, checked first)."""
    return [e for e in sc.EXECUTORS if e != "ray" or RayCheck.state == "ok"]


def ray_offer() -> None:
    """Where Ray is installed but not yet offered: why, and a button that checks whether it starts here."""
    if not ray_driver.installed() or RayCheck.state == "ok":
        return
    if RayCheck.state == "failed":
        st.warning(f"Ray is not offered on this server: {RayCheck.reason}", icon=":material/cloud_off:")
    else:
        st.caption("Ray (an optional extra) is offered once it has started on this server: the check starts it in a "
                   "child process, so a Ray that fails cannot stop the server.")
    if st.button("Check Ray again" if RayCheck.state == "failed" else "Check Ray", key="cmp_ray_check",
                 icon=":material/cloud_sync:"):
        with st.spinner(f"Starting Ray in a child process (a few seconds; given up after "
                        f"{ray_driver.start_timeout(None):.0f} s)…"):
            RayCheck.run()
        st.rerun()


def methods_help() -> str:
    return "\n\n".join(f"**{method_label(n)}**: {method_help(n)}" for n in methods())


def init() -> None:
    """Compare's choices that no longer apply on this server: a Ray gone since a restart, a method unregistered."""
    if ss["cmp_executor"] not in executors():  # Ray was offered before this server restarted
        memory.set_widget("cmp_executor", SETTINGS["cmp_executor"].default)
    if any(m not in methods() for m in ss["cmp_methods"]):
        memory.set_widget("cmp_methods", [m for m in ss["cmp_methods"] if m in methods()])


def settings() -> tuple:
    """What a row depends on besides its key (method, scope, global ranking, target, seed): every setting of the
    model, its training budget and optimiser, fine-tuning and the floor k, as the table gives them."""
    now = lab_state.of_session()
    train = dataclasses.replace(now.compare_train_config(), seed=0)  # the seed is in the row's key
    return now.model_config(), train, now.cmp_ft, now.prune_config().floor


def _store() -> dict:
    store = session.get().compare
    if store is None or store["data"] is not session.get().data:  # new data: earlier results do not apply
        store = session.get().compare = {"data": session.get().data, "cache": {}, "runs": {}}
    return store


def results() -> dict:
    """{"rows": [...], "traces": {(method, scope, target, seed): sparsity by step}} for the current settings."""
    return _store()["runs"].setdefault(settings(), {"rows": [], "traces": {}, "skipped": {}})


def clear() -> None:
    _store()["runs"].pop(settings(), None)


def configs() -> list[sc.CompareConfig]:
    """One CompareConfig per chosen scope, built by the settings table from every setting; raises ConfigError (an
    engine refusal) for a bad choice."""
    now = lab_state.of_session()
    configs = now.compare_configs()
    if configs:  # every scope trains the same models
        budget.check_memory(configs[0].model, configs[0].train, session.get().data.window)
    return [dataclasses.replace(c, sparsities=tuple(sorted(c.sparsities))) for c in configs]


def estimate(data: sc.Dataset, points: list[tuple[sc.CompareConfig, tuple]]) -> float:
    """Seconds the points left can take in this process, from one epoch timed on this data: a seed's dense model
    (its epochs), then per row its fine-tuning epochs (one-shot rules) or a whole training (gradual ones)."""
    if not points:
        return 0.0
    cfg = points[0][0]
    per_epoch = training.estimate(data, cfg.model, dataclasses.replace(cfg.train, epochs=1))
    seeds = {p[-1] for _, p in points}  # a dense model per seed, shared by the scopes
    epochs = cfg.train.epochs * len(seeds) + sum(
        cfg.finetune_epochs if method_kind(p[0]) == "one-shot" else cfg.train.epochs for _, p in points)
    return per_epoch * epochs


def todo(cfgs: list[sc.CompareConfig]) -> list[tuple[sc.CompareConfig, tuple]]:
    done = {row_key(r) for r in results()["rows"]} | set(results().setdefault("skipped", {}))
    return [(c, p) for c in cfgs for p in c.points() if c.key(*p) not in done]


def run(cfgs: list[sc.CompareConfig]) -> int:
    """Compute every missing row with a progress bar, storing rows as they come (a Stop keeps what is stored).
    Returns the number of rows computed."""
    points = todo(cfgs)
    if not points:
        return 0
    bar = st.progress(0.0, text="Comparing: starting…")

    def work(ticket: sc.Ticket) -> float:
        started = time.perf_counter()
        if ss["cmp_executor"] == "local":
            _run_here(points, bar, ticket)
        else:
            with contextlib.closing(sc.make_executor(ss["cmp_executor"])) as executor:
                _run_on(executor, cfgs, len(points), bar, started, ticket)
        return started

    started = training.run_in_line(f"Comparing {len(points)} point(s)", work)
    bar.progress(1.0, text=f"Compared {len(points)} point(s) in {time.perf_counter() - started:.1f} s")
    return len(points)


def _store_traces(cfg: sc.CompareConfig, out: sc.CompareResult) -> None:
    """The gradual rows' sparsity traces, and the points that have no row (a target beyond the floor) with why."""
    for (m, t, s), trace in out.traces.items():
        results()["traces"][(m, cfg.scope.to_text(), t, s)] = list(trace)
    for skip in out.skipped:
        results().setdefault("skipped", {})[cfg.key(*skip.point)] = skip.reason


def skipped() -> list[str]:
    """One line per point shown that has no row, with the engine's reason."""
    return [f"{label(m)} at {t:.0%}, scope {scope}, seed {seed}: {reason}"
            for (m, scope, _, t, seed, *_), reason in results().get("skipped", {}).items()
            if m in ss["cmp_methods"] and scope in ss["cmp_scopes"]]


def _run_here(points: list, bar, ticket: sc.Ticket) -> None:
    """In this process, one engine call per point, with per-batch progress."""
    res, store, throttle = results(), _store(), Throttle()
    for i, (cfg, (method, target, seed)) in enumerate(points):
        what = f"point {i + 1} of {len(points)}: {label(method)} at {target:.0%}, scope {cfg.scope.to_text()}, seed {seed}"

        def on_batch(b: int, batches: int, i=i, what=what) -> None:
            if throttle.ready():
                bar.progress(min(1.0, (i + b / batches) / len(points)), text=f"Comparing {what} · batch {b} of {batches}")

        bar.progress(i / len(points), text=f"Comparing {what}…")
        ticket.progress(i, len(points))
        one = replace(cfg, methods=(method,), sparsities=(target,), seeds=(seed,))
        out = sc.compare(store["data"], one, done=[row_key(r) for r in res["rows"]], cache=store["cache"],
                         callbacks=sc.Callbacks(on_batch=on_batch, should_stop=training._should_stop))
        res["rows"].extend(out.rows)
        _store_traces(cfg, out)
        if out.cancelled:
            break


def _run_on(executor, cfgs: list[sc.CompareConfig], total: int, bar, started: float, ticket: sc.Ticket) -> None:
    """On a pool or Ray: rows arrive as they finish (progress per row, with the time left)."""
    res, store, finished = results(), _store(), [0]

    def on_row(i: int, n: int, row: dict) -> None:
        res["rows"].append(row)
        finished[0] += 1
        ticket.progress(finished[0], total)
        elapsed = time.perf_counter() - started
        left = elapsed / finished[0] * (total - finished[0])
        bar.progress(finished[0] / total, text=f"Compared {finished[0]} of {total} on {SETTINGS['cmp_executor'].label_of(executor.name)} "
                                               f"· about {left:.0f} s left")

    bar.progress(0.0, text=f"Training the shared dense models on {SETTINGS['cmp_executor'].label_of(executor.name)}…")
    for cfg in cfgs:
        out = sc.compare(store["data"], cfg, done=[row_key(r) for r in res["rows"]], cache=store["cache"],
                         callbacks=sc.Callbacks(should_stop=training._should_stop), on_row=on_row, executor=executor)
        _store_traces(cfg, out)
        if out.cancelled:
            break


# ---------------------------------------------------------------- what is shown


def shown() -> pd.DataFrame:
    """The stored rows of the chosen methods, sparsities and scopes (all seeds)."""
    rows = results()["rows"]
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    keep = (df["method"].isin(ss["cmp_methods"]) & df["scope"].isin(ss["cmp_scopes"])
            & df["target_sparsity"].round(6).isin([round(t, 6) for t in ss["cmp_sparsities"]]))
    return df[keep].reset_index(drop=True)


def _series_label(method: str, scope: str, scopes: int) -> str:
    return label(method) + (f" · {scope}" if scopes > 1 else "")


def curves(df: pd.DataFrame, metric: str, x_key: str) -> list[Curve]:
    """One line per method (and scope), means over seeds at each target; unpruned models as markers."""
    out, scopes = [], df["scope"].nunique()
    mean = df.groupby(["method", "scope", "target_sparsity"], sort=False)[[x_key, metric]].mean().reset_index()
    for (method, scope), part in mean.groupby(["method", "scope"], sort=False):
        part = part.sort_values(x_key)
        unpruned = method_kind(method) == "unpruned"
        out.append(Curve(_series_label(method, scope, scopes), part[x_key].tolist(), part[metric].tolist(),
                         group=f"{method}/{scope}", joined=not unpruned))
    return out


def schedules() -> list[Curve]:
    """Achieved sparsity per step of the gradual rows shown (first seed only)."""
    traces, out = results()["traces"], []
    first = lab_state.of_session().seed
    for (method, scope, target, seed), trace in sorted(traces.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        if method in ss["cmp_methods"] and scope in ss["cmp_scopes"] and seed == first \
                and any(abs(target - t) < 1e-9 for t in ss["cmp_sparsities"]):
            out.append(Curve(f"{label(method)} → {target:.0%}" + (f" · {scope}" if len(ss["cmp_scopes"]) > 1 else ""),
                             range(len(trace)), trace, group=method))
    return out


def bars(df: pd.DataFrame, column: str) -> list[BarGroup]:
    """One bar group per scope: mean of `column` per method (over seeds and the rows given)."""
    out = []
    scopes = SETTINGS["cmp_scopes"]
    for scope in [s for s in scopes.choices if s in set(df["scope"])]:
        part = df[df["scope"] == scope].groupby("method", sort=False)[column].mean()
        out.append(BarGroup(scopes.label_of(scope), [label(m) for m in part.index], part.tolist()))
    return out


def table(df: pd.DataFrame) -> pd.DataFrame:
    out = df[[c for c in TABLE if c in df.columns]].rename(columns=TABLE)
    out["method"] = out["method"].map(label)
    return out
