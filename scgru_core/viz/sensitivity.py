"""The sensitivity analysis as small multiples: one panel per matrix (row) and gate (column), the error with only
that block pruned against its sparsity, on validation (what the suggestion reads) and test, with the suggested
sparsity of each block marked. Takes the engine's SensitivityAnalysis; returns a go.Figure."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scgru_core.net.metrics import METRIC_LABELS
from scgru_core.pruning.sensitivity_analysis import SensitivityAnalysis, interpolate
from scgru_core.viz.style import COLORS, log_ticks, plain, styled


def _matrix_title(name: str) -> str:
    kind = "W_ih" if ".weight_ih" in name else "W_hh"
    return f"layer {int(name.rsplit('_l', 1)[1]) + 1} {kind}"


def sensitivity_figure(analysis: SensitivityAnalysis, suggested: dict[str, float] | None = None, metric: str = "rmse",
                       units: str = "", title: str | None = None) -> go.Figure:
    matrices, units = list(dict.fromkeys(p.matrix for p in analysis.parts)), plain(units)
    gates = list(dict.fromkeys(p.gate for p in analysis.parts))
    titles = [f"{_matrix_title(m)}{f' · {g}' if g else ''}" for m in matrices for g in gates]
    fig = make_subplots(rows=len(matrices), cols=len(gates), shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=titles, horizontal_spacing=0.03, vertical_spacing=0.12)
    label = METRIC_LABELS.get(metric, metric)
    for part in analysis.parts:
        row, col = matrices.index(part.matrix) + 1, gates.index(part.gate) + 1
        first = row == 1 and col == 1
        for which, color, dash in (("val", COLORS["val"], "solid"), ("test", COLORS["test"], "dot")):
            xs, ys = analysis.curve(part.key, metric, which)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"{'validation' if which == 'val' else 'test'} "
                                     f"{label}, only this block pruned", legendgroup=which, showlegend=first,
                                     line=dict(color=color, width=2.2, dash=dash), marker=dict(size=6),
                                     hovertemplate="%{x:.0%}: %{y:.4g}<extra>" + part.key + "</extra>"), row=row, col=col)
        dense = analysis.dense_test[metric]
        fig.add_trace(go.Scatter(x=[0, max(analysis.config.sparsities)], y=[dense, dense], mode="lines",
                                 name="dense model (test)", legendgroup="dense", showlegend=first, hoverinfo="skip",
                                 line=dict(color=COLORS["dense"], width=1.5, dash="dash")), row=row, col=col)
        if suggested is not None and part.key in suggested:
            s = suggested[part.key]
            y = interpolate(*analysis.curve(part.key, metric, "val"), s)
            fig.add_trace(go.Scatter(x=[s], y=[y], mode="markers", name="suggested sparsity", legendgroup="suggested",
                                     showlegend=first or "suggested" not in {t.legendgroup for t in fig.data if t.showlegend},
                                     marker=dict(symbol="star", size=16, color=COLORS["actual"]),
                                     hovertemplate=f"suggested {s:.0%}<extra>{part.key}</extra>"), row=row, col=col)
    fig.update_xaxes(tickformat=".0%", dtick=0.2)
    fig.update_xaxes(title_text="sparsity of the block", row=len(matrices))
    shown = [y for part in analysis.parts for which in ("val", "test") for y in analysis.curve(part.key, metric, which)[1]]
    fig.update_yaxes(type="log", **log_ticks([*shown, *(analysis.dense_test[metric],)]))
    fig.update_yaxes(title_text=f"{label}{f' ({units})' if units else ''}, log", col=1)
    return styled(fig, 260 * len(matrices) + 40, title, subplot_titles=1)
