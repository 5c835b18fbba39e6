"""The Deploy page's pieces: its settings, the instant preview of a removal, the measured run, the download.

The maths is the engine's (units.py, shrink.py, deploy.py, export.py); this module maps widgets to
engine configs and keeps the last measured result in the session, keyed by the model it belongs to.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

import scgru_core as sc
from scgru_core.deploy.export import export_zip, onnx_available

from scgru_core.teach.settings import SETTINGS

from . import session, training, widgets

UNIT_SETTINGS = [n for n, s in SETTINGS.items() if s.config == "units"]

ss = st.session_state


def units_suffix() -> str:
    """' MW' for the power-load sample, '' for a series without known units."""
    units = (session.get().source or {}).get("units")
    return f" {units}" if units else ""


def unit_config() -> sc.UnitConfig:
    """The engine config the widgets describe (ConfigError for an impossible one)."""
    return widgets.state(names=UNIT_SETTINGS).units_config()


def starting_masks(current: sc.PruningLab, config_rule: str) -> tuple[sc.net.masks.MaskSet | None, str]:
    """What the removal starts from, and a label. The dead-unit rule is defined by the Prune page's masks
    (when they belong to this model); the other rules remove units from the trained dense model."""
    if not sc.UNIT_RULES[config_rule].exact:
        return None, "the trained dense model"
    now = session.get().prune_setting
    if not session.fresh(now):
        return None, "no pruning yet: the Prune page has not been used with this model"
    cfg = now.config
    return current.at(cfg).result.masks, (f"the Prune page's setting: {sc.RULES[cfg.method].label}, "
                                          f"{now.sparsity:.1%} of in-scope weights")


def preview(current: sc.PruningLab, config: sc.UnitConfig, masks) -> tuple[sc.UnitSelection, sc.Metrics, int]:
    """What removal alone does, before any fine-tuning (milliseconds, so it follows the controls live):
    the selection, the test errors and the smaller model's parameter count."""
    selection = sc.select_units(current.model, config, masks)
    small, _ = sc.shrink(current.model, selection, masks)
    return selection, sc.evaluate(small, current.data).metrics, sum(p.numel() for p in small.parameters())


def stored() -> dict | None:
    """The last measured run, if it belongs to the current model."""
    done = session.get().deploy
    return session.fresh(done)


def run(current: sc.PruningLab, config: sc.UnitConfig, masks, masks_label: str) -> None:
    """Remove, fine-tune once (progress, Stop), then measure every variant (status per variant); keep the result."""
    result = training.shrink(current, config, masks, widgets.value("unit_ft_epochs"), session.get().model_info.train_config)
    if result is None:
        return
    with st.status("Measuring every way to run it on this machine…", expanded=False) as status:
        report = sc.measure_deployment(current.model, result.final, result.selection, current.data,
                                       progress=lambda name: status.update(label=f"Measuring: {name}…"))
        status.update(label="Writing the export…")
        download = export_zip(result.final, current.data.window, current.data.scaler, onnx=onnx_available())
        status.update(label="Measured on this machine", state="complete")
    session.get().deploy = session.Deployed(session.get().version, config, masks_label, result, report, download)
    st.rerun()


ERRORS = ("test RMSE", "max |Δ| vs shrunk fp32")  # the columns in the series' units


def _with_units(name: str) -> str:
    units = units_suffix().strip()
    return f"{name} ({units})" if units and name in ERRORS else name


def table(report: sc.DeploymentReport) -> pd.DataFrame:
    frame = pd.DataFrame(report.records())
    return frame.rename(columns={c: _with_units(c) for c in frame.columns})


def column_config(report: sc.DeploymentReport) -> dict:
    number = st.column_config.NumberColumn
    cols = {"parameters": number(format="localized", help="Parameter values stored (non-zeros for CSR)."),
            "bytes": number(format="localized", help="Size of the stored model, see 'bytes of'."),
            _with_units("test RMSE"): number(format="%.4g", help="Test error in the series' units."),
            _with_units("max |Δ| vs shrunk fp32"): number(
                format="%.3g", help="Largest change of any test forecast against the float32 shrunk model, in the "
                                    "series' units.")}
    for b in report.batches:
        cols[f"ms, batch {b}"] = number(format="%.3f", help=f"Median wall time of one call on {b} window(s).")
        cols[f"speed-up, batch {b}"] = number(format="%.2f×", help="Dense time over this time: above 1 is faster.")
    return cols
