"""The Trade-offs page's pieces: sweeps run point by point (so a Stop keeps what is done), curve data, CSV.

Besides the unstructured rules, `UNITS` is a method: whole hidden units removed (a smaller torch module), its
grid the same fractions read as the share of each layer's units. With latency on, prune-only rows also
carry the measured time of one call at each of LATENCY_BATCHES (CSR for masks, the smaller torch module for units).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

import scgru_core as sc

from . import session, training
from scgru_core.study.curves import Curve, Point
from scgru_core.deploy.units import leaves_a_unit

from scgru_core.teach.settings import LATENCY_BATCHES

from .prune_view import short_rule_label

ss = st.session_state
UNITS = sc.UNITS
GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)  # target sparsities shared by every method
X_AXES = {"sparsity": "sparsity (share of in-scope weights cut)",
          "macs_nonzero": "multiply-accumulates per forecast",
          **{f"latency_ms_b{b}": f"measured ms per call of {b} window{'s' if b > 1 else ''}" for b in LATENCY_BATCHES}}


def short_label(method: str) -> str:
    return "Remove units (structured)" if method == UNITS else short_rule_label(method)


def base_config() -> sc.PruneConfig:
    """Scope, floor and seed as set on the Prune page (defaults when it was not opened for this model)."""
    now = session.get().prune_setting
    if session.fresh(now):
        return now.config
    return sc.PruneConfig()


def _key(method: str, base: sc.PruneConfig, finetune_epochs: int, latency: bool = False) -> tuple:
    if method == UNITS:  # the Prune page's scope and floor do not apply to whole units
        return session.get().version, method, finetune_epochs, latency
    return (session.get().version, method, base.scope.to_text(), base.scope.head, base.floor, base.global_,
            base.seed, finetune_epochs, latency)


def grid_for(method: str) -> tuple[float, ...]:
    """The targets of a method's curve: GRID, less the unit fractions that would remove every unit."""
    if method != UNITS:
        return GRID
    hidden = session.get().lab.model.config.hidden
    return tuple(f for f in GRID if leaves_a_unit(f, hidden))


def rows_for(method: str, base: sc.PruneConfig, finetune_epochs: int = 0, latency: bool = False) -> list[dict]:
    return session.get().sweeps.get(_key(method, base, finetune_epochs, latency), [])


def missing_points(methods, base: sc.PruneConfig, finetune_epochs: int = 0, latency: bool = False) -> int:
    return sum(len(grid_for(m)) - len(rows_for(m, base, finetune_epochs, latency)) for m in methods)


def run_sweeps(current: sc.PruningLab, methods, base: sc.PruneConfig, finetune_epochs: int = 0,
               latency: bool = False) -> None:
    """Evaluate (and with `finetune_epochs`, fine-tune; with `latency`, time) every missing grid point of every
    method with a progress bar. Rows are stored as they come, so after a Stop the next run resumes where it ended."""
    todo = missing_points(methods, base, finetune_epochs, latency)
    if not todo:
        return
    what = (f"fine-tuning {finetune_epochs} epoch(s) per point" if finetune_epochs else
            "pruning and timing each point on this machine" if latency else "pruning and evaluating")
    bar = st.progress(0.0, text=f"Sweeping: {what}…")
    ft_config = None
    if finetune_epochs:
        train_config = session.get().model_info.train_config
        ft_config = sc.finetune_config(train_config, finetune_epochs)
    batches = LATENCY_BATCHES if latency else ()

    def sweep(ticket: sc.Ticket | None) -> None:
        done = 0
        for method in methods:
            rows = session.get().sweeps.setdefault(_key(method, base, finetune_epochs, latency), [])
            for target in grid_for(method)[len(rows):]:
                if method == UNITS:
                    rows.extend(sc.structured_sweep(current, [target], ft_config, latency=batches))
                else:
                    config = sc.PruneConfig(**{**base.__dict__, "method": method,
                                               "global_": base.global_ and sc.RULES[method].supports_global})
                    rows.extend(sc.sweep(current, sc.sweep_configs(config, sparsities=[target]), ft_config,
                                         latency=batches))
                done += 1
                if ticket is not None:
                    ticket.progress(done, todo)
                bar.progress(done / todo, text=f"Sweeping ({what}): {short_label(method)}, "
                                               f"{'units removed' if method == UNITS else 'target sparsity'} "
                                               f"{target:.0%} · {done} of {todo} points")

    if ft_config is not None:  # fine-tuning every point is training: it waits its turn in the server's line
        training.run_in_line(f"A fine-tuned sweep of {todo} point(s)", sweep)
    else:
        sweep(None)
    bar.empty()


def curves(methods, base: sc.PruneConfig, metric: str, x_key: str, finetune_epochs: int) -> list[Curve]:
    """Curve data per method (prune only, and fine-tuned when asked). A latency x comes from the timed
    prune-only rows: fine-tuning changes the weights, not the shapes or the zeros that set the time."""
    out = []
    timed = x_key.startswith("latency")
    for method in methods:
        xs = rows_for(method, base, 0, latency=True) if timed else None
        for epochs in ([0, finetune_epochs] if finetune_epochs else [0]):
            rows = rows_for(method, base, epochs)
            if timed:
                rows = rows[:len(xs)]
            if not rows:
                continue
            label = short_label(method) + (f" + fine-tune ({epochs} ep.)" if epochs else ", prune only")
            out.append(Curve(label, [r[x_key] for r in (xs if timed else rows)], [r[metric] for r in rows],
                             group=method, finetuned=bool(epochs), joined=not timed))  # measured times are noisy
    return out


def dense_latency(current: sc.PruningLab, batch: int) -> float:
    """The dense model's measured ms per call at `batch`, once per model."""
    store = session.get().sweeps
    key = (session.get().version, "dense latency", batch)
    if key not in store:
        store[key] = sc.measure_latency(current.model, current.data.window, batch, 15 if batch == 1 else 5).ms_per_batch
    return store[key]


def current_marker(metric: str, x_key: str) -> Point | None:
    now = session.get().prune_setting
    if not session.fresh(now) or x_key.startswith("latency"):
        return None
    x = now.sparsity if x_key == "sparsity" else now.cost[x_key]
    cfg = now.config
    setting = f"s = {cfg.sensitivity:.2f}" if cfg.rule.control == "sensitivity" else f"{now.sparsity:.0%}"
    return Point(x, now.metrics[metric], f"Prune page: {short_label(cfg.method)}, {setting}")


def table(methods, base: sc.PruneConfig, finetune_epochs: int, latency: bool = False) -> pd.DataFrame:
    frames = []
    for method in methods:
        for epochs in ([0, finetune_epochs] if finetune_epochs else [0]):
            rows = rows_for(method, base, epochs, latency and not epochs) or rows_for(method, base, epochs)
            if rows:
                frames.append(pd.DataFrame(rows).assign(curve="fine-tuned" if epochs else "prune only",
                                                        finetune_epochs=epochs))
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    return df[["curve", "finetune_epochs"] + [c for c in df.columns if c not in ("curve", "finetune_epochs")]]
