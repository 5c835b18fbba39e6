"""Figures of a series over time: the data with its parts, the training's loss, the forecasts against the actual values."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from scgru_core.data.windows import Dataset
from scgru_core.net.evaluate import Evaluation
from scgru_core.net.train import EpochLog

from scgru_core.viz.style import (COLORS, FONT_SIZE, FORECAST_COLUMNS, FORECAST_RECENT, MAX_LINE_POINTS,
                                  PART_FILL, PART_LABEL, decimate, figure, log_ticks, merged, plain, styled, time_axis, x_axis)


def series_figure(values: np.ndarray, times=None, name: str = "value", units: str = "",
                  split: Mapping[str, tuple[int, int]] | None = None, title: str | None = None,
                  height: int = 380, max_points: int = MAX_LINE_POINTS) -> go.Figure:
    """The series as a line; with `split` ({part: (start, stop)} index ranges), each part shaded and labelled."""
    values, name, units = np.asarray(values, dtype=np.float64), plain(name), plain(units)
    x = x_axis(times, len(values))
    xs, ys = decimate(x, values, max_points // 2)
    label = name + (f" ({len(ys):,} of {len(values):,} points: each column's lowest and highest)"
                    if len(ys) < len(values) else "")
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", name=label, line=dict(color=COLORS["actual"], width=1.2),
                               hovertemplate="%{x}<br>%{y:,.4g}<extra></extra>"))
    if split:
        n = len(values)
        for part, (start, stop) in split.items():
            if stop <= start:
                continue
            x0, x1 = x[start], x[min(stop, n) - 1]
            share = (stop - start) / n
            fig.add_vrect(x0=x0, x1=x1, fillcolor=PART_FILL.get(part, "rgba(0,0,0,0.05)"), line_width=0, layer="below",
                          annotation_text=f"{PART_LABEL.get(part, part)} {share:.0%}",
                          annotation_position="top right" if part == "test" else "top left",  # val and test: apart
                          annotation_font=dict(size=FONT_SIZE - 1, color=COLORS.get(part, "#57606a")))
    fig.update_yaxes(title_text=units or name)
    fig.update_xaxes(**time_axis(times))
    return styled(fig, height, title, legend=False)


def loss_figure(train_loss: Sequence[float], val_loss: Sequence[float], best_epoch: int | None = None,
                title: str = "Loss per epoch (MSE, scaled units)", height: int = 340) -> go.Figure:
    """Training and validation loss per epoch on a log axis, the best epoch marked."""
    epochs = np.arange(1, len(train_loss) + 1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=epochs, y=list(train_loss), mode="lines+markers", name="train",
                             line=dict(color=COLORS["train"])))
    fig.add_trace(go.Scatter(x=epochs, y=list(val_loss), mode="lines+markers", name="validation",
                             line=dict(color=COLORS["val"])))
    if best_epoch:
        fig.add_vline(x=best_epoch, line=dict(color="#57606a", dash="dot"), annotation_text="best",
                      annotation_position="top")
    fig.update_yaxes(type="log", title_text="loss", **log_ticks([*train_loss, *val_loss]))
    fig.update_xaxes(title_text="epoch", rangemode="tozero" if len(epochs) < 2 else None, tickformat="d",
                     dtick=max(1, math.ceil(len(epochs) / 10)))  # whole epochs: never 0.2 or 1.5
    return styled(fig, height, title)


def forecast_figure(x, actual: np.ndarray, forecasts: Mapping[str, np.ndarray], units: str = "",
                    labels: Mapping[str, str] | None = None, title: str = "Test part: forecast versus actual",
                    height: int = 440, columns: int = FORECAST_COLUMNS, recent: int = FORECAST_RECENT,
                    errors: bool = True) -> go.Figure:
    """Actual values and one line per forecast, keyed by kind ("dense", "pruned", "finetuned", "naive" or any
    other name), with the error (forecast − actual) of the first model and of the last one in a panel below (the
    naive forecast's and those between stay above: four error lines overlapped past reading). Arrays may be (N,) or
    (N, horizon): the first step ahead is drawn.

    A long test part opens on its last `recent` points, drawn whole (2,500 points in one view hid the actual line
    under the forecasts and made a model 82% worse than naive look like the dense one); the rest is decimated to
    `columns` (each column's lowest and highest point), a double click shows it all. The actual line is drawn
    last, on top."""
    def first(a):
        a = np.asarray(a, dtype=np.float64)
        return a[:, 0] if a.ndim == 2 else a

    def line(values):
        """The earlier part decimated, the recent part whole."""
        xe, ye = decimate(x[:cut], values[:cut], columns)
        return np.concatenate([xe, x[cut:]]), np.concatenate([ye, values[cut:]])

    labels, x, truth, units = labels or {}, np.asarray(x), first(actual), plain(units)
    cut = max(0, len(x) - recent)
    dashes = {"pruned": "dash", "finetuned": "dot", "naive": "dot"}
    models = [k for k in forecasts if k != "naive"]
    in_errors = {models[0], models[-1]} if models else set()  # the first model and the one the page is about: two
    data = []  # error lines at most (four overlapping ones could not be told apart); the naive one only above
    for kind, values in forecasts.items():
        xs, ys = line(first(values))
        style = dict(color=COLORS.get(kind), width=1.6, dash=dashes.get(kind, "solid"))
        data.append(dict(type="scatter", x=xs, y=ys, mode="lines", name=labels.get(kind, kind), line=style,
                         legendgroup=kind, legendrank=2))
        if errors and kind in in_errors:
            xs, ys = line(first(values) - truth)
            data.append(dict(type="scatter", x=xs, y=ys, mode="lines", name=labels.get(kind, kind), legendgroup=kind,
                             showlegend=False, line=dict(style, width=1.2), yaxis="y2", hovertemplate="%{y:,.4g}"))
    xs, ys = line(truth)
    data.append(dict(type="scatter", x=xs, y=ys, mode="lines", name="actual", legendrank=1,
                     line=dict(color=COLORS["actual"], width=1.8)))
    formats = {k: v for k, v in time_axis(x).items() if k != "title_text"}  # the dates speak for themselves
    layout = dict(hovermode="x unified", xaxis=dict(formats, **(dict(range=[x[cut], x[-1]]) if cut else {})),
                  yaxis=dict(title_text=units or "value"))
    if errors:
        layout = merged(layout, dict(
            xaxis=dict(anchor="y2"),  # the time labels under the lower panel
            yaxis=dict(domain=[0.34, 1.0]),
            yaxis2=dict(domain=[0.0, 0.25], anchor="x", title_text=f"error{f' ({units})' if units else ''}",
                        zeroline=True, zerolinecolor="#57606a")))
    return figure(data, layout, height, title)


# ---- the same figures from the engine's types: what the pages, the lesson and the report call ------------------

def test_x(data: Dataset):
    """Time stamps (or series indices) of the test windows' first targets: a forecast chart's x axis."""
    idx = data.test.target_start
    return data.series.times[idx] if data.series.times is not None else idx


def data_figure(data: Dataset, units: str = "", title: str | None = None, height: int = 380) -> go.Figure:
    """A dataset's series with its chronological split shaded."""
    split = {"train": data.split.train, "val": data.split.val, "test": data.split.test}
    return series_figure(data.series.values, data.series.times, name=data.series.name, units=units, split=split,
                         title=title, height=height)


def training_figure(history: Sequence[EpochLog], best_epoch: int | None = None,
                    title: str = "Loss per epoch (MSE, scaled units)", height: int = 340) -> go.Figure:
    """A training's loss per epoch (a finished `TrainResult.history`, or the epochs a running one has done)."""
    return loss_figure([h.train_loss for h in history], [h.val_loss for h in history], best_epoch or None, title,
                       height)


def test_forecast_figure(data: Dataset, evaluations: Mapping[str, Evaluation], units: str = "",
                         labels: Mapping[str, str] | None = None, title: str = "Test part: forecast versus actual",
                         height: int = 440) -> go.Figure:
    """Each evaluation's forecast of the test part against the actual values, keyed by kind ("dense", "pruned",
    "finetuned", "naive")."""
    actual = next(iter(evaluations.values())).actual
    return forecast_figure(test_x(data), actual, {k: e.forecast for k, e in evaluations.items()}, units=units,
                           labels=labels, title=title, height=height)
