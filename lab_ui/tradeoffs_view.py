"""The Trade-offs page's pieces: sweeps run point by point (so a Stop keeps what is done), curve data, CSV."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import scgru_core as sc

from . import state
from .prune_view import DRIVABLE
from .prune_view import short_rule_label as short_label

ss = st.session_state
GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)  # target sparsities shared by every method
X_AXES = {"sparsity": "sparsity (share of in-scope weights cut)",
          "macs_nonzero": "multiply-accumulates per forecast"}


def base_config() -> sc.PruneConfig:
    """Scope, floor and seed as set on the Prune page (defaults when it was not opened for this model)."""
    now = ss.get(state.CURRENT)
    if now and now["version"] == ss.get(state.VERSION):
        return now["config"]
    return sc.PruneConfig()


def _key(method: str, base: sc.PruneConfig, finetune_epochs: int) -> tuple:
    return (ss.get(state.VERSION), method, base.scope.to_text(), base.scope.head, base.floor, base.global_,
            base.seed, finetune_epochs)


def rows_for(method: str, base: sc.PruneConfig, finetune_epochs: int = 0) -> list[dict]:
    return ss.setdefault(state.SWEEPS, {}).get(_key(method, base, finetune_epochs), [])


def missing_points(methods, base: sc.PruneConfig, finetune_epochs: int = 0) -> int:
    return sum(len(GRID) - len(rows_for(m, base, finetune_epochs)) for m in methods)


def run_sweeps(current: sc.PruningLab, methods, base: sc.PruneConfig, finetune_epochs: int = 0) -> None:
    """Evaluate (and with `finetune_epochs`, fine-tune) every missing grid point of every method with a
    progress bar. Rows are stored as they come, so after a Stop the next run resumes where it ended."""
    todo = missing_points(methods, base, finetune_epochs)
    if not todo:
        return
    what = f"fine-tuning {finetune_epochs} epoch(s) per point" if finetune_epochs else "pruning and evaluating"
    bar = st.progress(0.0, text=f"Sweeping: {what}…")
    ft_config = None
    if finetune_epochs:
        train_config = ss[state.MODEL]["train_config"]
        ft_config = sc.finetune_config(train_config, finetune_epochs)
    done = 0
    for method in methods:
        rows = ss[state.SWEEPS].setdefault(_key(method, base, finetune_epochs), [])
        config = sc.PruneConfig(**{**base.__dict__, "method": method,
                                   "global_": base.global_ and sc.RULES[method].supports_global})
        for target in GRID[len(rows):]:
            rows.extend(sc.sweep(current, sc.sweep_configs(config, sparsities=[target]), ft_config))
            done += 1
            bar.progress(done / todo, text=f"Sweeping ({what}): {sc.RULES[method].label}, "
                                           f"target sparsity {target:.0%} · {done} of {todo} points")
    bar.empty()


def curves(methods, base: sc.PruneConfig, metric: str, x_key: str, finetune_epochs: int) -> list[dict]:
    out = []
    for method in methods:
        for epochs in ([0, finetune_epochs] if finetune_epochs else [0]):
            rows = rows_for(method, base, epochs)
            if not rows:
                continue
            label = short_label(method) + (f" + fine-tune ({epochs} ep.)" if epochs else ", prune only")
            out.append({"label": label, "group": method, "finetuned": bool(epochs),
                        "x": [r[x_key] for r in rows], "y": [r[metric] for r in rows]})
    return out


def current_marker(metric: str, x_key: str) -> dict | None:
    now = ss.get(state.CURRENT)
    if not now or now["version"] != ss.get(state.VERSION):
        return None
    x = now["sparsity"] if x_key == "sparsity" else now["cost"][x_key]
    cfg = now["config"]
    setting = f"s = {cfg.sensitivity:.2f}" if cfg.rule.control == "sensitivity" else f"{now['sparsity']:.0%}"
    return {"x": x, "y": now["metrics"][metric], "label": f"Prune page: {short_label(cfg.method)}, {setting}"}


def table(methods, base: sc.PruneConfig, finetune_epochs: int) -> pd.DataFrame:
    frames = []
    for method in methods:
        for epochs in ([0, finetune_epochs] if finetune_epochs else [0]):
            rows = rows_for(method, base, epochs)
            if rows:
                frames.append(pd.DataFrame(rows).assign(curve="fine-tuned" if epochs else "prune only",
                                                        finetune_epochs=epochs))
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    return df[["curve", "finetune_epochs"] + [c for c in df.columns if c not in ("curve", "finetune_epochs")]]


def default_methods() -> list[str]:
    return [m for m in ("sensitivity", "magnitude", "random") if m in DRIVABLE] or DRIVABLE[:1]
