"""The Prune page's pieces: its settings in session_state, the slider links, panel data, records.

No maths here: masks, thresholds, metrics and costs come from the engine (`PruningLab.at`,
`sensitivity_for_sparsity`, `prune`); this module only reads widgets and reshapes results
for the figures and tables.
"""
from __future__ import annotations

import dataclasses
import json
import math

import pandas as pd
import streamlit as st

import scgru_core as sc
from scgru_core import viz
from scgru_core.study.experiment import RunConfig, run_record
from scgru_core.teach.settings import DEFAULTS, SETTINGS

from . import charts, classroom, memory, server, session, state, widgets

PRUNE_SETTINGS = [n for n, s in SETTINGS.items() if s.config == "prune"]

ss = st.session_state
GATE_LABELS = {"reset": "reset gate r", "update": "update gate z", "new": "candidate n", "input": "input gate i",
               "forget": "forget gate f", "cell": "cell candidate g", "output": "output gate o",
               "hidden": "hidden state h (tanh)", "head": "head"}


def gate_label(gate: str) -> str:
    """A gate's panel title; a cell registered later shows its gate's own name."""
    return GATE_LABELS.get(gate, gate)


def record_setting(current: sc.PruningLab, config: sc.PruneConfig) -> sc.Snapshot:
    """The snapshot of `config`, recorded as the session's Prune setting (the sidebar and the Trade-offs star read
    it): the Prune page, the lesson and a link to another page all record it here."""
    snap = current.at(config)
    session.get().prune_setting = setting = session.PruneSetting.of(snap)
    classroom.record_place(current, setting)  # in a class: where this student's threshold is, for the teacher
    return snap
S_MAX = SETTINGS["sensitivity"].bounds[1]
TARGET_KEY = SETTINGS["sparsity"].widget


def drivable() -> list[str]:
    """The rules a slider drives: every registered rule whose control is a threshold or a sparsity (those that rank
    saliency scores included: PruningLab computes their scores once), from the method setting's choices, which
    follow the rule registry: a new rule appears by itself."""
    return list(SETTINGS["method"].choices)
TAB_KEY = "tab"  # the open tab: its key is its URL parameter (st.tabs binds it to the address bar)
PANEL_VIEWS = ("matrix", "log_count", "heat_mode")
PANEL_WIDGETS = tuple(SETTINGS[n].widget for n in PRUNE_SETTINGS + list(PANEL_VIEWS)) + (widgets.GATES_KEY,)
TARGET_TYPED_HELP = ("Type the share of in-scope weights to prune (or step it with + and −): the s that reaches it is "
                     "found and the slider moves there, up to the most the floor k lets it cut.")


def matrix_label(name: str) -> str:
    """'rnn.weight_hh_l0' -> 'layer 1 · W_hh (hidden-to-hidden)'."""
    if name.startswith("head."):
        return "head"
    kind = "W_ih (input-to-hidden)" if ".weight_ih" in name else "W_hh (hidden-to-hidden)"
    return f"layer {int(name.rsplit('_l', 1)[1]) + 1} · {kind}"


def matrix_short(name: str) -> str:
    return matrix_label(name).split(" (")[0]


def short_rule_label(name: str) -> str:
    """A rule's label without its parenthesis, to fit a narrow select box (the full label is in its help)."""
    return sc.RULES[name].label.split(" (")[0]


def init_controls(current: sc.PruningLab) -> None:
    """Defaults for this session, and the default s whenever a new model arrives."""
    widgets.init_defaults()
    matrix = SETTINGS["matrix"].widget
    if ss.get(matrix) not in sc.weight_names(current.model):  # a model of another size, or a hand-edited link
        memory.set_widget(matrix, default_matrix(current.model))
    now = session.get()
    if now.prune_for != now.version:
        now.prune_for = now.version
        widgets.write(DEFAULTS, ["sensitivity", "sparsity"])
        sync_target()


def config_from_state(**changes) -> sc.PruneConfig:
    """The PruneConfig the widgets describe (raises ConfigError for an impossible setting)."""
    if not widgets.scope_text():
        raise sc.ConfigError("No gate is chosen. Pick at least one gate, or choose another scope.")
    now = widgets.state(names=PRUNE_SETTINGS)
    config = now.prune_config()
    return dataclasses.replace(config, global_=config.global_ and config.rule.supports_global, **changes)


def ensure_setting() -> None:
    """Record the Prune setting of the model in place from the Prune widgets when this session has none yet (a copied
    or reloaded link to another page): the Trade-offs star and the sidebar's Pruning section read it, and they
    were missing until the Prune page was opened. A rule that needs a pass over the data first (Taylor, the
    sensitivity analysis) waits for the Prune page, which shows that pass's progress."""
    current = state.lab()
    if current is None or session.fresh(session.get().prune_setting):
        return
    try:
        config = config_from_state()
        if config.rule.needs_scores or config.rule.needs_allocation:
            return
        record_setting(current, config)
    except sc.ScgruError:  # an impossible setting: the Prune page says why
        return


def _threshold_rule() -> tuple[sc.PruningLab, sc.PruneConfig] | None:
    """The lab and the widgets' config when a model exists and the chosen rule is driven by s."""
    current = state.lab()
    try:
        config = config_from_state()
    except sc.ScgruError:
        return None
    return (current, config) if current is not None and config.rule.control == "sensitivity" else None


def target_bound() -> int:
    """The target slider's upper end, in %: 99, or for a threshold rule the most its s range (0 to S_MAX)
    reaches with this scope and floor, since a target beyond the floor could only show a smaller sparsity.
    The slider's value is moved down to it when it stood above."""
    top = 99
    if (found := _threshold_rule()) is not None:
        current, config = found
        try:
            top = max(1, min(99, math.floor(100 * current.reachable_sparsity(config, S_MAX))))
        except sc.ScgruError:  # shown by the page when it prunes with this setting
            pass
    if ss.get(TARGET_KEY, 0) > top:
        ss[TARGET_KEY] = top
    return top


def sync_target() -> None:
    """s moved (or the method, scope or floor): show the sparsity it gives on the target slider."""
    if (found := _threshold_rule()) is None:
        return
    current, config = found
    try:
        widgets.put("sparsity", current.at(config).result.sparsity)  # the panel's snapshot: one prune a move
    except sc.ScgruError:  # shown by the page when it prunes with this setting
        pass


def sync_s() -> None:
    """The target sparsity moved: find the s that reaches it (threshold rules only)."""
    if (found := _threshold_rule()) is None:
        return
    current, config = found
    try:
        s = sc.sensitivity_for_sparsity(current.model, widgets.value("sparsity"), config)
    except sc.ScgruError:  # shown by the page when it prunes with this setting
        return
    widgets.put("sensitivity", round(s, 2))


def histogram_kind(snap: sc.Snapshot) -> str:
    """The histogram's caption: with the cut lines of a threshold on |w|, or without (a score or random rule)."""
    return "histogram_scores" if snap.config.rule.needs_scores or snap.config.rule.draws_random else "histogram"


def default_matrix(model: sc.Forecaster) -> str:
    """The matrix the Histograms and Heatmaps tabs open on: the first hidden-to-hidden one."""
    names = sc.weight_names(model)
    return next((n for n in names if ".weight_hh" in n), names[0])


def histogram(current: sc.PruningLab, snap: sc.Snapshot, name: str, log_count: bool):
    """The Histograms tab's figure of matrix `name`, drawn once per server for each snapshot (`server.figure`)."""
    return server.figure(current, snap, ("histogram", name, log_count), lambda: viz.histogram_figure(
        gate_panels(current, snap, name), log_count=log_count, title=matrix_label(name)))


def gate_panels(current: sc.PruningLab, snap: sc.Snapshot, name: str) -> list[sc.GatePanel]:
    """The engine's gate panels of matrix `name`, titled for the page."""
    return [dataclasses.replace(p, title=gate_label(p.gate) + ("" if p.in_scope else " (not pruned)"))
            for p in current.panels(snap, name)]


def threshold_table(snap: sc.Snapshot) -> pd.DataFrame:
    r = snap.result
    rows = []
    for name in r.masks:
        thr = r.thresholds.get(name)
        rows.append({"matrix": matrix_short(name), "shape": "×".join(map(str, r.masks[name].shape)),
                     "in scope": r.in_scope[name], "cut": r.pruned[name],
                     "sparsity": r.pruned[name] / r.in_scope[name] if r.in_scope[name] else None,
                     "of matrix": r.per_matrix[name], "threshold |w|": thr})
    return pd.DataFrame(rows)


def finetuned_for(snap: sc.Snapshot) -> dict | None:
    """The fine-tuned model of exactly this setting and model, if one was made."""
    ft = session.get().finetuned
    if session.fresh(ft) and ft.config == snap.config:
        return ft
    return None


def forecasts(current: sc.PruningLab, snap: sc.Snapshot, ft) -> tuple[dict, dict]:
    """What a pruned setting's forecast chart draws: the dense, pruned and (when it belongs to this setting)
    fine-tuned evaluations, and their legend labels."""
    evaluations = {"dense": current.dense, "pruned": snap.evaluation}
    labels = {"dense": "dense model", "pruned": f"pruned ({snap.result.sparsity:.0%})"}
    if ft:
        evaluations["finetuned"], labels["finetuned"] = ft.evaluation, "pruned + fine-tuned"
    return evaluations, labels


def download_record(current: sc.PruningLab, snap: sc.Snapshot) -> dict:
    """Settings and results of this run as the download holds them: the CLI's `run` JSON, with the app's name and
    the data's source."""
    info, ft = session.get().model_info, finetuned_for(snap)
    config = RunConfig(read=session.get().read, windows=session.get().windows, model=info.model_config,
                       train=info.train_config, prune=snap.config,
                       finetune_epochs=len(ft.training.history) if ft else 0)
    record = run_record(current.data, config, snap, current.dense.metrics, current.naive.metrics, current.dense_cost,
                        info.training, ft.evaluation.metrics if ft else None, ft.training if ft else None)
    record["data"]["source"] = session.get().source["label"]
    return {"app": "SCGRU Pruning Lab", "engine_version": sc.__version__, **record}


def downloads(current: sc.PruningLab, snap: sc.Snapshot) -> tuple:
    """Two zero-argument functions making the run JSON and the model zip, for deferred download buttons.

    They run later in another thread, without session_state, so everything they need is taken now.
    """
    from scgru_core.store.archive import run_zip

    record, ft = download_record(current, snap), finetuned_for(snap)
    model = ft.model if ft else current.model  # the fine-tuned twin when it belongs to this setting
    masks, scaler = snap.result.masks, current.data.scaler
    return (lambda: json.dumps(record, indent=2, default=str),
            lambda: run_zip(model, masks, config=record["config"], metrics=record, scaler=scaler))


def sensitivity_comparison(current: sc.PruningLab, config: sc.PruneConfig) -> dict:
    """At the target slider's sparsity and this scope: the analysis's suggested per-part sparsities, and the test
    errors (pruned only) of pruning with them and of uniform SCGRU, both from the engine."""
    from scgru_core.study.experiment import resolve_prune_config
    target = widgets.value("sparsity")
    per_part = sc.PruneConfig(method="per_matrix", sparsity=target, scope=config.scope)
    suggested = current.at(per_part)
    try:
        uniform = current.at(resolve_prune_config(current.model, sc.PruneConfig(scope=config.scope, floor=config.floor),
                                                  target))
    except sc.ScgruError:  # beyond what the floor lets SCGRU reach
        uniform = None
    allocation = current.allocation(per_part)
    table = pd.DataFrame([{"block": " · ".join([matrix_short(k.split(":")[0]), *k.split(":")[1:]]), "suggested": v}
                          for k, v in allocation.items()])
    return {"target": target, "allocation": allocation, "suggested": suggested, "uniform": uniform, "table": table}


def heatmaps(current: sc.PruningLab, snap: sc.Snapshot, name: str, mode: str, title: str, key: str,
             playing: bool) -> None:
    """Matrix `name`'s gate heatmaps, drawn once per server for each setting (server.figure), and the weight a click
    on a cell asks about (the Prune page's Heatmaps tab, the lesson's SCGRU step). While Play plays, frames are
    images and not clickable: a clickable chart is a widget, new with every figure, and heatmap traces redrawn twice a
    second kept headless Chromium so busy that a click on Pause reached the server 3-5 s late."""
    panels = gate_panels(current, snap, name)
    fig = server.figure(current, snap, ("heatmap", name, mode, title, playing), lambda: viz.heatmap_figure(
        panels, mode=mode, title=title, **({"max_cells": 0} if playing else {"pickable": True})))
    if playing:
        charts.show(fig, key=key)
        return
    event = charts.show(fig, key=key, on_select="rerun", selection_mode="points")
    asked_weight(current, snap, name, panels, event)


ASK_HINT = "Click a cell to ask about that weight: its value, its rank, and the s at which it goes."


def asked_weight(current: sc.PruningLab, snap: sc.Snapshot, name: str, panels: list[sc.GatePanel], event) -> None:
    """Under a pickable heatmap: the weight whose cell was clicked (matrix, gate, row and column, value, rank, cut
    or kept at this setting, the s from which the SCGRU rule cuts it), or how to ask."""
    points = list(getattr(getattr(event, "selection", None), "points", None) or [])
    picked = viz.picked_cell(points[0], panels) if points else None
    if picked is None:
        st.caption(ASK_HINT)
        return
    index, row, column = picked
    try:
        facts = current.weight(snap, name, panels[index].gate, row, column)
    except sc.ScgruError:  # a click kept from another matrix or model
        st.caption(ASK_HINT)
        return
    reads = "input" if name.startswith("rnn.weight_ih") else "hidden unit"
    with st.container(border=True, key="asked_weight"):
        st.markdown(f"**{matrix_label(name)} · {gate_label(facts.gate)} · unit {facts.row}, {reads} "
                    f"{facts.column}**")
        c = st.columns(4)
        c[0].metric("Value w", f"{facts.value:+.4f}")
        c[1].metric("Rank by |w|", f"{facts.rank:,}", delta=f"of {facts.count:,}", delta_color="off",
                    delta_arrow="off", help="1 is the largest |w| among the weights the scope lets the rule see.")
        c[2].metric("At this setting", "pruned" if facts.pruned else "kept")
        c[3].metric("SCGRU cuts it from", f"s = {facts.goes_at:.2f}" if facts.goes_at is not None else "never")
        if not facts.in_scope:
            st.caption("Its block is outside the scope: the setting leaves it dense.")
        elif facts.floor_keeps:
            st.caption(f"It is among the {facts.floor_count:,} largest |w|, which the floor "
                       f"k = {snap.config.floor:g} keeps whatever s is.")
        else:
            st.caption(f"The SCGRU rule cuts |w| < s × std(|W|): this one goes once s passes |w| / std(|W|) = "
                       f"{facts.goes_at:.2f} (unless the floor k then holds it).")
