"""Figures only the lesson needs: a layer's weight blocks (six for a GRU, eight for an LSTM), and the dense-vs-sparse
latency bars.

Plain data in (`lesson.weight_blocks` output, `LatencyComparison.to_records()`), `go.Figure` out,
styled like `scgru_core.viz` so everything reads the same on a projector. No Streamlit.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scgru_core.viz.style import COLORS, METHOD_COLORS, log_ticks, styled

KIND_TITLE = {"ih": "input-to-hidden", "hh": "hidden-to-hidden"}


def blocks_figure(blocks: Sequence, title: str | None = None, height: int | None = None,
                  gates: Sequence[str] | None = None) -> go.Figure:
    """A gates x 2 grid of one layer's weight blocks (rows: the cell's gates in PyTorch's order, e.g. reset, update,
    new; columns: ih, hh), each drawn as a heatmap of its weights (blue positive, red negative, grey pruned) titled
    with shape and count. `blocks`: `lesson.WeightBlock`s of one layer; `gates`: the cell's gates (`CellSpec.gates`),
    so the blocks a gate variant lacks are drawn as empty places (default: the gates the blocks have)."""
    by_pos = {(b.gate, b.kind): b for b in blocks}
    gate_order = tuple(gates) if gates else tuple(dict.fromkeys(
        b.gate for b in sorted(blocks, key=lambda b: (b.kind != "hh", b.rows[0]))))
    height = height or 120 + 145 * len(gate_order)
    cols_ih = max((b.shape[1] for b in blocks if b.kind == "ih"), default=1)
    cols_hh = max((b.shape[1] for b in blocks if b.kind == "hh"), default=1)
    ih_share = min(0.45, max(0.08, cols_ih / (cols_ih + cols_hh)))  # a one-column block stays visible
    titles = []
    for gate in gate_order:
        for kind in ("ih", "hh"):
            b = by_pos.get((gate, kind))
            titles.append(b.label if b is not None else f"{gate}, {KIND_TITLE[kind]}: none in this cell")
    fig = make_subplots(rows=len(gate_order), cols=2, column_widths=[ih_share, 1 - ih_share], subplot_titles=titles,
                        horizontal_spacing=0.08, vertical_spacing=0.27 / len(gate_order))
    vmax = max((float(np.abs(b.values).max()) for b in blocks if b.values.size), default=1.0) or 1.0
    first = True
    for r, gate in enumerate(gate_order, start=1):
        for c, kind in enumerate(("ih", "hh"), start=1):
            b = by_pos.get((gate, kind))
            if b is None:
                continue
            z = np.where(b.values != 0, b.values, np.nan).astype(np.float32)
            fig.add_trace(go.Heatmap(z=z, zmin=-vmax, zmax=vmax, zmid=0, colorscale="RdBu", showscale=first,
                                     colorbar=dict(title="w", thickness=14, len=0.9),
                                     hovertemplate=f"{b.symbol} row %{{y}}, col %{{x}}: w=%{{z:.3g}}<extra></extra>"),
                          row=r, col=c)
            first = False
    fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False, showticklabels=False)
    fig.update_xaxes(showgrid=False, zeroline=False, showticklabels=False)
    fig.update_xaxes(title_text="input (I)", row=len(gate_order), col=1)
    fig.update_xaxes(title_text="hidden unit (H)", row=len(gate_order), col=2)
    fig.update_layout(plot_bgcolor="#e1e4e8")
    fig.update_annotations(font_size=13)
    return styled(fig, height, title, legend=False)


def _short(y: float | None) -> str:
    if y is None:
        return ""
    return f"{y:,.0f}" if abs(y) >= 100 else f"{y:.3g}"


def latency_figure(records: Sequence[Mapping], title: str = "Latency, measured on this machine",
                   per: str = "us_per_forecast", height: int = 340) -> go.Figure:
    """Grouped bars: one group per batch size, one bar per implementation (dense fused kernel, dense loop, sparse CSR).

    `records`: dicts with implementation, batch, ms_per_batch, us_per_forecast."""
    impls = list(dict.fromkeys(r["implementation"] for r in records))
    batches = sorted({int(r["batch"]) for r in records})
    palette = {impl: (COLORS["dense"], COLORS["before"], COLORS["pruned"], *METHOD_COLORS)[i]
               for i, impl in enumerate(impls)}
    unit = "µs per forecast" if per == "us_per_forecast" else "ms per batch"
    fig = go.Figure()
    for impl in impls:
        ys = [next((r[per] for r in records if r["implementation"] == impl and int(r["batch"]) == b), None)
              for b in batches]
        fig.add_trace(go.Bar(x=[f"batch {b}" for b in batches], y=ys, name=impl, marker_color=palette[impl],
                             text=[_short(y) for y in ys], textposition="outside",
                             hovertemplate=f"{impl}, %{{x}}: %{{y:,.4g}} {unit}<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text=unit, type="log", **log_ticks([r[per] for r in records]))
    return styled(fig, height, title)


def payoff_figure(curves: Sequence[Mapping], title: str = "Removing whole units: speed over dense, measured",
                  height: int = 340) -> go.Figure:
    """Speed-up over the dense model against the share of units removed, one line per batch size.

    Each curve: {"label", "x": fractions removed, "y": speed-ups, "pays": fraction from which it pays, or None,
    "spread": (lower, upper quartile) per point, optional}. Measured times are noise around a trend: each point is
    drawn with its measured spread as a bar and joined by a thin dotted line, not a bold line through the noise."""
    fig = go.Figure()
    for i, c in enumerate(curves):
        color = (COLORS["dense"], COLORS["finetuned"], *METHOD_COLORS)[i]
        y, spread = list(c["y"]), c.get("spread")
        error = dict(type="data", symmetric=False, array=[hi - v for v, (_, hi) in zip(y, spread)],
                     arrayminus=[v - lo for v, (lo, _) in zip(y, spread)], thickness=2, width=5) if spread else None
        fig.add_trace(go.Scatter(x=list(c["x"]), y=y, name=c["label"], mode="lines+markers", error_y=error,
                                 line=dict(color=color, width=1.2, dash="dot"), marker=dict(size=9, color=color),
                                 hovertemplate=f"{c['label']}: %{{x:.0%}} removed, %{{y:.2f}}× dense (median; the bar "
                                               "spans the middle half of the measured calls)<extra></extra>"))
        if c.get("pays") is not None:
            y = c["y"][list(c["x"]).index(c["pays"])]
            fig.add_annotation(x=c["pays"], y=y, text=f"pays from {c['pays']:.0%}", showarrow=True, arrowhead=2,
                               ax=-40, ay=-36, font=dict(color=color))
    fig.add_hline(y=1.0, line=dict(color=COLORS["naive"], dash="dot", width=2), annotation_text="dense speed",
                  annotation_position="bottom right")
    fig.update_xaxes(title_text="share of each layer's hidden units removed", tickformat=".0%")
    fig.update_yaxes(title_text="speed-up over dense (×)", rangemode="tozero")
    return styled(fig, height, title)
