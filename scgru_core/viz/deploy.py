"""Figures of what deployment saves: speed-up over the dense model per variant, at each batch size.

Takes the engine's `DeploymentReport` (deploy.py); no Streamlit here.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scgru_core.deploy.measure import DeploymentReport
from scgru_core.viz.style import COLORS, log_ticks, styled


def speedup_figure(report: DeploymentReport, title: str | None = None, height: int = 330) -> go.Figure:
    """One panel per batch size: horizontal bars of dense time / variant time from the 1x line (right: faster than
    dense, left: slower),
    labelled with the speed-up and the milliseconds; the hover adds the test RMSE. A log axis, because one
    runtime can be tens of times faster than the rest and would flatten them."""
    batches = report.batches
    fig = make_subplots(rows=1, cols=len(batches), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[f"batch {b} (ms per call)" for b in batches])
    labels = [r.label for r in report.rows]
    for i, b in enumerate(batches, start=1):
        x = [report.speedup(r.variant, b) for r in report.rows]
        fig.add_trace(go.Bar(  # each bar grows from the 1x line: right when faster than dense, left when slower
            x=[s - 1.0 for s in x], base=[1.0] * len(x), y=labels, orientation="h", showlegend=False,
            marker_color=[COLORS["before"] if r.variant == "dense" else COLORS["finetuned"] if s > 1.05 else
                          COLORS["pruned"] if s < 0.95 else COLORS["naive"] for r, s in zip(report.rows, x)],
            text=[f"{s:.2f}× · {r.ms[b]:.3g} ms" for r, s in zip(report.rows, x)], textposition="outside",
            cliponaxis=False, customdata=[[s, r.rmse, r.params] for r, s in zip(report.rows, x)],
            hovertemplate="%{y}<br>%{customdata[0]:.2f}× dense speed<br>test RMSE %{customdata[1]:,.4g}"
                          "<br>%{customdata[2]:,} parameters<extra></extra>"), row=1, col=i)
        fig.add_vline(x=1.0, line=dict(color=COLORS["actual"], width=1.5, dash="dot"), row=1, col=i)
        low, high = math.log10(min([*x, 1.0])), math.log10(max([*x, 1.0]))
        pad = 0.5 + 0.3 * (high - low)  # room beyond both ends for the labels outside the bars (a label is ~0.7 of
        fig.update_xaxes(title_text="speed-up over dense (×, log)", type="log", row=1, col=i,  # a panel's decades)
                         range=[low - pad, high + pad], **log_ticks([*x, 1.0]))
    fig.update_yaxes(autorange="reversed")
    return styled(fig, height, title, legend=False, subplot_titles=1)
