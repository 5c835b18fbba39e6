"""Small display helpers shared by the Train and Prune pages: metric rows and the test part's x axis."""
from __future__ import annotations

import re

import numpy as np
import streamlit as st

import scgru_core as sc
from scgru_core.net.metrics import IN_UNITS, PERCENT

from . import session


def literal(text: str) -> str:
    """`text` shown as itself inside Streamlit's markdown: as an inline code span, whose content is never parsed,
    so a value from a link cannot become a link, an image the browser fetches, emphasis, maths or a colour
    directive. Backslash escapes are not enough: the renderer still autolinks a bare URL whose ':' and '/' are
    escaped (seen in Chromium). Backticks inside become U+02CB so they cannot close the span; line breaks spaces."""
    return "`" + " ".join(text.replace("`", "\u02cb").split()) + "`"


_MARKDOWN = re.compile(r"([\\`*\[\]<>~$|]|(?<![^\W_])_|_(?![^\W_]))")  # an intraword _ emphasises nothing
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|www)(?=[:.])|@")


def plain(text: object) -> str:
    """Running text (an engine message that may quote a file's names) shown as written inside Streamlit's markdown:
    the characters that make links, images, emphasis, code, HTML, maths, strike-through and tables backslash-escaped
    (CommonMark allows it for any ASCII punctuation), and a word joiner (U+2060, invisible) after a URL's scheme,
    'www' and '@', which the renderer would otherwise make a link even escaped (seen in Chromium). For a short name,
    `literal` reads better."""
    text = _AUTOLINK.sub(lambda m: m.group(0) + "\u2060", str(text))
    return _MARKDOWN.sub(r"\\\1", text)


def fmt(value: float, unit: str = "", signed: bool = False) -> str:
    """A value with its unit ("592.8 MW"); `signed` for a difference ("+248.7 MW")."""
    if value is None or not np.isfinite(value):
        return "–"
    sign = "+" if signed else ""
    return (f"{value:{sign},.4g}" if abs(value) < 1e5 else f"{value:{sign},.0f}") + (f" {unit}" if unit else "")




def unit_of(name: str) -> str:
    """The unit an error measure is shown in: the data's (MW for the power-load sample) for RMSE and MAE."""
    return ((session.get().source or {}).get("units") or "") if name in IN_UNITS else ""


def difference_unit(name: str) -> str:
    """The unit of a difference of two values of an error measure: the data's for RMSE and MAE, percentage points
    for sMAPE (15.8% - 15.3% is +0.5 pp, not +0.5%), none for MASE."""
    return "pp" if name in PERCENT else unit_of(name)


def error_title(name: str) -> str:
    """An error measure's axis title, with its unit: "test RMSE (MW)"."""
    unit = unit_of(name)
    return f"test {sc.METRIC_LABELS[name]}" + (f" ({unit})" if unit else "")


def metric_row(metrics: sc.Metrics, reference: sc.Metrics | None, delta_label: str,
               label_prefix: str = "", help_text: str | None = None) -> None:
    """One st.metric per error measure: the value, and its relative change against `reference` (lower is better;
    the difference itself is in the help: "-544.9 (-61.3%) vs naive" was cut short in a lesson's narrow column)."""
    values, ref = metrics.to_dict(), reference.to_dict() if reference is not None else None
    for col, name in zip(st.columns(len(sc.METRIC_NAMES)), sc.METRIC_NAMES):
        delta, helps = None, [help_text] if help_text else []
        if ref is not None and np.isfinite(values[name]) and np.isfinite(ref[name]):
            change = values[name] - ref[name]
            delta = f"{change / ref[name]:+.1%} {delta_label}" if ref[name] else f"{change:+,.4g} {delta_label}"
            helps.append(f"{fmt(values[name], unit_of(name))}, {fmt(change, difference_unit(name), signed=True)} {delta_label} "
                         f"({fmt(ref[name], unit_of(name))}).")
        col.metric(label_prefix + sc.METRIC_LABELS[name], fmt(values[name], unit_of(name)), delta=delta,
                   delta_color="inverse", help=" ".join(helps) or None)


def vs_dense_row(pruned: sc.Metrics, dense: sc.Metrics, snap: sc.Snapshot, setting: str) -> None:
    """Under the Prune sliders: the sparsity, then each pruned error with its change against the dense model."""
    p, d = pruned.to_dict(), dense.to_dict()
    lead, *cols = st.columns([1.2, 1, 1, 1, 1])
    lead.metric("Sparsity", f"{snap.result.sparsity:.1%}", delta=setting, delta_color="off", delta_arrow="off",
                help="Share of the in-scope weights that are pruned.")
    for col, name in zip(cols, sc.METRIC_NAMES):
        col.metric(f"Pruned {sc.METRIC_LABELS[name]}", fmt(p[name], unit_of(name)),
                   delta=f"{fmt(p[name] - d[name], difference_unit(name), signed=True)} vs dense", delta_color="inverse",
                   help=f"Dense model: {fmt(d[name], unit_of(name))}")


def vs_naive_column(pruned: sc.Metrics, naive: sc.Metrics) -> None:
    """The pruned model against the naive forecast: relative change as the value, the difference as the delta."""
    p, n = pruned.to_dict(), naive.to_dict()
    for name in sc.METRIC_NAMES:
        rel = f"{(p[name] - n[name]) / n[name]:+.1%}" if n[name] else "–"
        st.metric(f"{sc.METRIC_LABELS[name].split(' (')[0]} vs naive", rel,
                  delta=fmt(p[name] - n[name], difference_unit(name), signed=True),
                  delta_color="inverse", help=f"The pruned model's error relative to the naive forecast (repeat "
                                              f"the last value), whose {sc.METRIC_LABELS[name]} is "
                                              f"{fmt(n[name], unit_of(name))}. "
                                              "Negative: the model beats it.")
