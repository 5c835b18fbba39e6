"""The class view's figures: how the class answered a question, and where the students' thresholds are on the
model's trade-off curve. The engine's types in (`classroom.room.Place`), go.Figure out."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import plotly.graph_objects as go

from scgru_core.viz.style import COLORS, escaped, figure

if TYPE_CHECKING:
    from scgru_core.classroom.room import Place
    from scgru_core.study.curves import Curve

WRAP = 46  # characters of a choice per line on the answers chart


def _wrapped(text: str) -> str:
    lines, line = [], ""
    for word in escaped(text).split():
        if line and len(line) + 1 + len(word) > WRAP:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join(lines + [line])


def answers_figure(choices: Sequence[str], counts: Sequence[int], correct: int | None = None,
                   title: str | None = None) -> go.Figure:
    """One bar per choice with its count and share; the right answer green when `correct` is given (revealed)."""
    total = sum(counts)
    colours = [COLORS["finetuned"] if i == correct else COLORS["before"] if correct is not None else COLORS["dense"]
               for i in range(len(choices))]
    labels = [f"{n} ({n / total:.0%})" if total else "0" for n in counts]
    data = [dict(type="bar", orientation="h", y=[_wrapped(c) for c in choices], x=list(counts), text=labels,
                 textposition="outside", cliponaxis=False, marker=dict(color=colours),
                 hovertemplate="%{y}: %{x}<extra></extra>")]
    layout = dict(yaxis=dict(autorange="reversed", automargin=True),
                  xaxis=dict(title_text="students", rangemode="tozero", range=[0, max(1, max(counts, default=0)) * 1.25],
                             dtick=max(1, round(max(counts, default=1) / 5))))
    return figure(data, layout, 90 + 62 * len(choices), title, legend=False)


def places_figure(curve: Curve, places: Sequence[Place], best: Sequence[Place], units: str,
                  title: str | None = None, height: int = 420) -> go.Figure:
    """The model's prune-only curve (thin, behind), each student's setting as a dot, and the class's Pareto front
    (the dots no other beats on both sparsity and error) ringed and joined."""
    y_title = f"test RMSE ({units})" if units else "test RMSE"
    data = [dict(type="scatter", x=list(curve.x), y=list(curve.y), mode="lines", name=curve.label,
                 line=dict(color=COLORS["dense"], width=2), hovertemplate="%{x:.1%}, RMSE %{y:.4g}<extra></extra>"),
            dict(type="scatter", x=[p.sparsity for p in places], y=[p.error for p in places], mode="markers",
                 name=f"students ({len(places)})", marker=dict(size=13, color=COLORS["pruned"], opacity=0.8,
                                                               line=dict(width=1.5, color="white")),
                 hovertemplate="%{x:.1%}, RMSE %{y:.4g}<extra>a student</extra>")]
    if best:
        data.append(dict(type="scatter", x=[p.sparsity for p in best], y=[p.error for p in best],
                         mode="lines+markers", name="the class's best (Pareto front)",
                         line=dict(color=COLORS["finetuned"], width=2, dash="dot"),
                         marker=dict(size=22, symbol="circle-open", color=COLORS["finetuned"], line=dict(width=3)),
                         hovertemplate="%{x:.1%}, RMSE %{y:.4g}<extra>on the front</extra>"))
    layout = dict(xaxis=dict(title_text="sparsity (share of in-scope weights cut)", tickformat=".0%",
                             range=[-0.02, 1.0]),
                  yaxis=dict(title_text=y_title, rangemode="tozero"))
    return figure(data, layout, height, title)
