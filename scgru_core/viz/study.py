"""The study's figure: final test error against sparsity, one panel per scope, a line per method with its 95%
interval as error bars, the dense model and the naive forecast as reference lines. Plain data in, go.Figure out."""
from __future__ import annotations

import math
from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scgru_core.pruning.rules import RULES
from scgru_core.viz.style import COLORS, METHOD_COLORS, TEMPLATE, log_ticks, plain


def _baseline(method: str) -> bool:
    """A rule that draws at random: the baseline every other method must beat."""
    return method in RULES and RULES[method].draws_random


def study_figure(cells: Sequence[dict], scopes: Sequence[str], dense: float | None, naive: float | None,
                 title: str, units: str = "") -> go.Figure:
    """`cells`: dicts with method, scope, target, mean, half (one stage, one task)."""
    units = plain(units)
    fig = make_subplots(rows=1, cols=len(scopes), shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[f"scope {s}" for s in scopes])
    methods = list(dict.fromkeys(c["method"] for c in cells))
    for col, scope in enumerate(scopes, start=1):
        for method in methods:
            part = sorted((c for c in cells if c["method"] == method and c["scope"] == scope), key=lambda c: c["target"])
            if not part:
                continue
            others = [m for m in methods if not _baseline(m)]  # a random rule is the black dotted baseline
            baseline = _baseline(method)
            color = COLORS["actual"] if baseline else METHOD_COLORS[others.index(method) % len(METHOD_COLORS)]
            fig.add_trace(go.Scatter(
                x=[c["target"] for c in part], y=[c["mean"] for c in part], name=method, legendgroup=method,
                showlegend=col == 1, mode="lines+markers",
                line={"color": color, "width": 3 if baseline else 1.8, "dash": "dot" if baseline else None},
                error_y={"type": "data", "array": [0 if not math.isfinite(c["half"]) else c["half"] for c in part],
                         "visible": True, "thickness": 1, "width": 3}), row=1, col=col)
        span = [min(c["target"] for c in cells), max(c["target"] for c in cells)] if cells else [0, 1]
        for value, label, color in ((dense, "dense (unpruned)", COLORS["dense"]), (naive, "naive (last value)",
                                                                                    COLORS["naive"])):
            if value is not None:  # a trace, not an hline: its label stays on the line on a log axis
                fig.add_trace(go.Scatter(x=span, y=[value, value], name=label, legendgroup=label, showlegend=col == 1,
                                         mode="lines", line={"color": color, "dash": "dash", "width": 1.5},
                                         hoverinfo="name+y"), row=1, col=col)
        fig.update_xaxes(tickformat=".0%", title_text="target sparsity", row=1, col=col)
    shown = [c["mean"] + s * (c["half"] if math.isfinite(c["half"]) else 0) for c in cells for s in (-1, 1)]
    fig.update_yaxes(type="log", **log_ticks([*shown, *(v for v in (dense, naive) if v is not None)]))
    fig.update_yaxes(title_text=f"test RMSE{f' ({units})' if units else ''}, log scale", row=1, col=1)
    fig.update_layout(title=title, template=TEMPLATE, height=460, width=1500,
                      legend={"orientation": "h", "y": -0.22}, margin={"l": 70, "r": 20, "t": 70, "b": 110})
    return fig
