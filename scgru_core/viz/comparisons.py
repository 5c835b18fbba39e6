"""Figures that compare settings: storage bars, trade-off curves, grouped bars, sparsity schedules."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import plotly.graph_objects as go

from scgru_core.viz.style import (COLORS, FONT_SIZE, MAX_LINE_POINTS, METHOD_COLORS, decimate, figure, log_ticks,
                                  styled)

if TYPE_CHECKING:
    from scgru_core.net.cost import Cost
    from scgru_core.study.curves import BarGroup, Curve, Point, Reference


def cost_figure(cost: Cost, title: str = "Storage of the weights (bytes)", height: int = 260) -> go.Figure:
    """Horizontal bars of the weights' storage in each format (`Cost.storage`), dense first."""
    storage = cost.storage()
    labels, values = list(storage), [float(v) for v in storage.values()]
    bars = dict(type="bar", x=values, y=labels, orientation="h", marker_color=[COLORS["before"]] +
                [COLORS["kept"]] * (len(values) - 1), text=[f"{v / 1024:,.1f} KiB" for v in values],
                textposition="auto", hovertemplate="%{y}: %{x:,} bytes<extra></extra>")
    return figure([bars], dict(xaxis=dict(title_text="bytes"), yaxis=dict(autorange="reversed")), height, title,
                   legend=False)


GROUP_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "hexagon")


def tradeoff_figure(curves: Sequence[Curve], x_title: str, y_title: str, naive: float | None = None,
                    current: Point | None = None, title: str | None = None, height: int = 420,
                    x_percent: bool = False, log_y: bool = False, legend: bool = True,
                    x_reference: Reference | None = None) -> go.Figure:
    """Error against a cost: one line per Curve (a group shares a colour and a marker; fine-tuned ones are dashed, with
    open markers). `naive` draws
    the naive forecast's error as a reference line; `current` marks the slider's setting with a star; `x_reference`
    draws a vertical line, such as the dense model's measured latency."""
    fig = go.Figure()
    groups: dict[str, int] = {}
    for c in curves:
        g = groups.setdefault(c.colour_key, len(groups))
        color, symbol = METHOD_COLORS[g % len(METHOD_COLORS)], GROUP_SYMBOLS[g % len(GROUP_SYMBOLS)]
        # each group narrower and smaller than the one before, so a method drawn exactly on another's line (SCGRU and
        # magnitude often coincide) shows as a line inside a wider one, not as a missing method
        width, size = max(1.5, 6.0 - 2.0 * g), max(6, 14 - 3 * g)
        fig.add_trace(go.Scatter(x=list(c.x), y=list(c.y), mode="lines+markers" if c.joined else "markers",
                                 name=c.label, line=dict(color=color, width=width, dash="dash" if c.finetuned else "solid"),
                                 marker=dict(size=size, symbol=symbol + ("-open" if c.finetuned else ""),
                                             line=dict(width=1.5, color=color))))
    if naive is not None and math.isfinite(naive):
        fig.add_hline(y=naive, line=dict(color=COLORS["naive"], dash="dot", width=2))
        # by hand: add_hline's own label is placed in data units, which floats off the line on a log axis
        fig.add_annotation(x=0, xref="paper", y=math.log10(naive) if log_y and naive > 0 else naive, yref="y",
                           text="naive forecast", showarrow=False, xanchor="left", yanchor="bottom",
                           font=dict(color=COLORS["naive"]))
    if x_reference is not None:
        fig.add_vline(x=x_reference.x, line=dict(color=COLORS["actual"], dash="dot", width=2),
                      annotation_text=x_reference.label, annotation_position="top right")
    if current is not None:
        fig.add_trace(go.Scatter(x=[current.x], y=[current.y], mode="markers", name=current.label,
                                 marker=dict(symbol="star", size=20, color="#24292f", line=dict(color="white", width=1))))
    fig.update_xaxes(title_text=x_title, tickformat=".0%" if x_percent else None)
    shown = [y for c in curves for y in c.y] + ([naive] if naive is not None else []) + \
        ([current.y] if current is not None else [])
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", **log_ticks(shown) if log_y else {})
    return styled(fig, height, title, legend=legend)


def grouped_bar_figure(groups: Sequence[BarGroup], y_title: str, title: str | None = None, height: int = 360,
                       text_format: str = ".4g", legend: bool = True) -> go.Figure:
    """Bars side by side per category, one colour per BarGroup.

    For the method comparison: one category per method, one group per scope (or a single group).
    """
    fig = go.Figure()
    for i, g in enumerate(groups):
        fig.add_trace(go.Bar(x=list(g.x), y=list(g.y), name=g.label, marker_color=METHOD_COLORS[i % len(METHOD_COLORS)],
                             text=[format(v, text_format) for v in g.y], textposition="outside", cliponaxis=False,
                             textfont=dict(size=FONT_SIZE - 3),
                             hovertemplate=f"{g.label}<br>%{{x}}: %{{y:{text_format}}}<extra></extra>"))
    top = max([v for g in groups for v in g.y if math.isfinite(v)], default=0.0)
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    fig.update_yaxes(title_text=y_title, range=[0, 1.18 * top] if top > 0 else None)  # room for the labels
    return styled(fig, height, title, legend=legend)


def schedule_figure(traces: Sequence[Curve], title: str | None = None, height: int = 360,
                    legend: bool = True) -> go.Figure:
    """Sparsity against training step: each Curve's x the steps, y the sparsity in [0, 1].

    Traces of one group (a method) share a colour; a group's second, third... trace (another target)
    is dotted, dashed... so the targets can be told apart.
    """
    dashes = ("solid", "dot", "dash", "dashdot", "longdash")
    fig = go.Figure()
    colors: dict[str, str] = {}
    seen: dict[str, int] = {}
    for t in traces:
        group = t.colour_key
        color = colors.setdefault(group, METHOD_COLORS[len(colors) % len(METHOD_COLORS)])
        n = seen[group] = seen.get(group, -1) + 1
        x, y = decimate(np.asarray(t.x), np.asarray(t.y), MAX_LINE_POINTS // 2)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=t.label,
                                 line=dict(color=color, width=2.4, dash=dashes[n % len(dashes)]),
                                 hovertemplate=f"{t.label}<br>step %{{x:.0f}}: %{{y:.1%}}<extra></extra>"))
    fig.update_xaxes(title_text="training step (optimizer updates)")
    fig.update_yaxes(title_text="sparsity in scope", tickformat=".0%", rangemode="tozero")
    return styled(fig, height, title, legend=legend)
