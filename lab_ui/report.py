"""The one-file HTML report of a run: settings, metrics, cost and the main figures, made for a download."""
from __future__ import annotations

import streamlit as st

import scgru_core as sc
from scgru_core.teach import maths
from scgru_core import viz
from scgru_core.viz.report import report_html

from . import prune_view as pv
from . import lab_state, session, state



def report_inputs(current: sc.PruningLab, snap: sc.Snapshot, ft: dict | None = None) -> dict:
    """What the report needs from the session, read during the script run (the download's callable runs
    later, outside it, where st.session_state and st.context are not available)."""
    now, source = lab_state.of_session(), session.get().source or {}
    lat = session.get().lesson_latency.get(latency_key(snap))
    link = None
    try:
        link = st.context.url.split("?")[0] + "?" + "&".join(f"{k}={v}" for k, v in now.to_link().items())
    except Exception:  # noqa: BLE001 - the link is a convenience
        pass
    return {"current": current, "snap": snap, "ft": ft, "state": now, "label": source.get("label", now.sample),
            "units": state.axis_units(), "training": session.get().model_info.training,
            "latency": lat, "link": link}


def report(inputs: dict) -> str:
    """The HTML report of a run: settings, metrics, cost and the main figures (no session access)."""
    current, snap, ft, now = inputs["current"], inputs["snap"], inputs["ft"], inputs["state"]
    data, units, tr = current.data, inputs["units"], inputs["training"]
    settings = {"data": inputs["label"], **now.to_query()}
    metrics = {"dense": current.dense.metrics.to_dict(), "naive": current.naive.metrics.to_dict(),
               "pruned": snap.evaluation.metrics.to_dict()}
    evaluations, _ = pv.forecasts(current, snap, ft)
    labels = {"finetuned": "pruned + fine-tuned"} if ft else {}
    if ft:
        metrics["pruned + fine-tuned"] = ft.evaluation.metrics.to_dict()
    cost = {"dense": current.dense_cost.to_dict(), "pruned": snap.cost.to_dict()}
    hh = pv.default_matrix(current.model)
    panels = pv.gate_panels(current, snap, hh)
    c = snap.cost
    figures = {
        "series": viz.data_figure(data, units=units, title="The series and its split"),
        "loss": viz.training_figure(tr.history, tr.best_epoch),
        "histogram": viz.histogram_figure(panels, title=f"{pv.matrix_label(hh)}: weights and the cut"),
        "heatmap": viz.heatmap_figure(panels, title=f"{pv.matrix_label(hh)}: kept (dark) and pruned connections"),
        "forecast": viz.test_forecast_figure(data, evaluations, units=units, labels=labels),
        "cost": viz.cost_figure(c),
    }
    notes = [f"Pruned {snap.result.sparsity:.1%} of the weights in scope ({snap.config.rule.label}, scope "
             f"{snap.config.scope.label()}); MACs per forecast {c.macs_nonzero:,} of {c.macs_dense:,}."]
    if inputs["latency"] is not None:
        notes.append("Latency, " + inputs["latency"].summary())
    return report_html(settings, metrics, cost, {k.capitalize(): f for k, f in figures.items()},
                       captions={k.capitalize(): maths.CAPTIONS[k] for k in figures}, notes=notes,
                       link=inputs["link"])



def report_button(current: sc.PruningLab, snap: sc.Snapshot, ft: dict | None = None, key: str = "dl_report") -> None:
    inputs = report_inputs(current, snap, ft)
    st.download_button("Report (HTML)", data=lambda: report(inputs), file_name="scgru_report.html",
                       mime="text/html", key=key, on_click="ignore", icon=":material/summarize:",
                       help="Settings, metrics, cost and the main figures in one file that opens offline.")


def latency_key(snap: sc.Snapshot) -> tuple:
    return (session.get().version, snap.config)
