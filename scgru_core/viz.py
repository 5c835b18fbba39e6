"""Plotly figure builders for the app: plain data (numbers, numpy arrays, dicts) in, `go.Figure` out.

No Streamlit here and no model maths: the pages compute with the engine and hand the results
to these functions. Every figure uses the same large fonts so it reads on a projector, and
`PLOTLY_CONFIG` keeps plotly's "download as PNG" button in the mode bar.
"""
from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .data import yearly

if TYPE_CHECKING:
    from .cost import Cost
    from .curves import BarGroup, Curve, Point, Reference
    from .lab import GatePanel

FONT_SIZE = 15
TEMPLATE = "plotly_white"  # for figures exported as images (viz_study); the app's figures use LOOK
# plotly_white's look as a template of layout only: naming "plotly_white" made plotly copy all of it (a style for
# every trace type) into every figure: a histogram redrawn on each slider move took 75 ms, now 30 ms (measured)
_AXIS = dict(gridcolor="#EBF0F8", linecolor="#EBF0F8", zerolinecolor="#EBF0F8", zerolinewidth=2, ticks="",
             automargin=True)
LOOK = go.layout.Template(layout=dict(  # built once: from a dict, every figure rebuilt it (another 20 ms)
    paper_bgcolor="white", plot_bgcolor="white", font=dict(color="#2a3f5f"), xaxis=_AXIS, yaxis=_AXIS,
    hoverlabel=dict(align="left"), colorway=["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3"]))
COLORS = {
    "actual": "#24292f", "dense": "#1f6feb", "pruned": "#d1242f", "finetuned": "#1a7f37", "naive": "#8c959f",
    "train": "#1f6feb", "val": "#bf8700", "test": "#8250df", "kept": "#0b3d91", "cut": "#d1242f",
    "before": "#afb8c1",
}
PART_FILL = {"train": "rgba(31,111,235,0.07)", "val": "rgba(191,135,0,0.13)", "test": "rgba(130,80,223,0.12)"}
PART_LABEL = {"train": "train", "val": "validation", "test": "test"}
METHOD_COLORS = ("#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#0e8a8a", "#cf222e", "#57606a")
# Passed to st.plotly_chart(config=...): the mode bar is always shown and its camera button saves a PNG.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "displayModeBar": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "zoomIn2d", "zoomOut2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "filename": "scgru_figure", "scale": 2},
}
HEATMAP_MAX_CELLS = 3 * 96 * 96  # above this, heatmaps are sent as PNG images (cheap to draw in a browser)
MAX_LINE_POINTS = 20_000  # longer series are decimated for display only (two points per column)
FORECAST_COLUMNS = 600  # a forecast chart is about 1,100-1,300 px wide: two points per 2 px column at most
LOG_TICKS = {"dtick": "D2"}  # a log axis labels 1, 2 and 5 of each decade, not every digit (they crowded)
FORECAST_RECENT = 400  # a longer test part opens zoomed on its last this many points (8 days of half-hours)


NAME_CHARS = 40  # a name from a file is cut to this in a figure (an axis title runs off the chart past it)


def plain(text: str) -> str:
    """A name from a user's file shown as written in a figure, cut to NAME_CHARS: plotly renders a few HTML tags in
    titles, legends and axis labels (`<a href>` a live link among them) and decodes entities, so '&', '<' and '>'
    are written as entities."""
    text = str(text) if len(str(text)) <= NAME_CHARS else str(text)[:NAME_CHARS - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _look(height: int, title: str | None, legend: bool, subplot_titles: int) -> dict:
    """The layout every figure shares: large fonts, white template, the title top left and the legend top right on
    one line above the plot."""
    top = (46 if title else 16) + 24 * int(subplot_titles) + (4 if subplot_titles else 0)  # lines of subplot titles
    look = dict(
        template=LOOK, height=height + (34 if legend else 0), font=dict(size=FONT_SIZE),
        margin=dict(l=70, r=44, t=top, b=55 + (34 if legend else 0)), showlegend=legend,
        modebar=dict(orientation="v"),  # down the right edge, clear of the title
        hoverlabel=dict(font_size=FONT_SIZE - 1),
        legend=dict(orientation="h", x=0, xanchor="left", y=0, yref="container", yanchor="bottom",
                    font=dict(size=FONT_SIZE - 1), bgcolor="rgba(255,255,255,0)"),
    )
    if title:
        look["title"] = dict(text=title, font=dict(size=FONT_SIZE + 1), x=0, xanchor="left", y=1, yref="container",
                             yanchor="top", pad=dict(t=10, l=4))
    return look


def _style(fig: go.Figure, height: int, title: str | None = None, legend: bool = True,
           subplot_titles: int = 0) -> go.Figure:
    """The shared look on a figure built step by step (figures drawn once per page)."""
    fig.update_layout(**_look(height, title, legend, subplot_titles))
    fig.update_annotations(font_size=FONT_SIZE)
    return fig


def _merged(base: dict, extra: dict) -> dict:
    """`base` with `extra` merged in, nested dicts key by key (as update_layout merges)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _figure(data: list[dict], layout: dict, height: int, title: str | None = None, legend: bool = True,
            subplot_titles: int = 0) -> go.Figure:
    """A figure from plain trace and layout dicts with the shared look, validated by plotly once: building it from
    graph objects and then styling it validated everything three times (a histogram on each slider move took
    26 ms, this 7 ms, measured)."""
    layout = _merged(layout, _look(height, title, legend, subplot_titles))
    if "annotations" in layout:
        layout["annotations"] = [_merged(a, {"font": {"size": FONT_SIZE}}) for a in layout["annotations"]]
    return go.Figure(dict(data=data, layout=layout))


def _x_axis(times, n: int):
    return np.arange(n) if times is None else np.asarray(times)


def time_axis(times) -> dict:
    """An x axis in the series' own unit: years labelled as years ('1913', never 'Jan 1, 1913' or, read as
    nanoseconds, '00:00:00 Jan 1, 1970'), months as 'Mar 1958', a period index under its column's name."""
    if times is None:
        return dict(title_text="index")
    index = pd.Index(times)
    if not isinstance(index, pd.DatetimeIndex):
        return dict(title_text=plain(index.name or "index"))
    step = pd.Series(index).diff().median() if len(index) > 1 else pd.NaT
    if yearly(index):
        return dict(title_text="year", tickformat="%Y", hoverformat="%Y")
    if pd.notna(step) and pd.Timedelta(days=27) <= step <= pd.Timedelta(days=32):
        return dict(title_text="time", tickformat="%b %Y", hoverformat="%b %Y")
    if pd.notna(step) and step >= pd.Timedelta(days=1) and (index.normalize() == index).all():
        return dict(title_text="time", hoverformat="%d %b %Y")
    return dict(title_text="time")


def decimate(x: np.ndarray, y: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """At most two points per column for a line drawn `columns` columns wide: each column's minimum and maximum,
    in their order, so every peak and trough the full line shows is still drawn where it was (taking every
    n-th point instead drops spikes). A line with no more than 2 x `columns` points is returned whole."""
    x, y = np.asarray(x), np.asarray(y, dtype=np.float64)
    n = len(y)
    if n <= 2 * columns:
        return x, y
    keep = []
    finite = np.where(np.isfinite(y), y, np.nan)
    for bucket in np.array_split(np.arange(n), columns):
        seg = finite[bucket]
        if np.isnan(seg).all():
            keep.append(bucket[0])  # a gap stays a gap
            continue
        lo, hi = bucket[np.nanargmin(seg)], bucket[np.nanargmax(seg)]
        keep.extend((lo, hi) if lo <= hi else (hi, lo))
    idx = np.unique(np.asarray(keep))
    return x[idx], y[idx]


def series_figure(values: np.ndarray, times=None, name: str = "value", units: str = "",
                  split: Mapping[str, tuple[int, int]] | None = None, title: str | None = None,
                  height: int = 380, max_points: int = MAX_LINE_POINTS) -> go.Figure:
    """The series as a line; with `split` ({part: (start, stop)} index ranges), each part shaded and labelled."""
    values, name, units = np.asarray(values, dtype=np.float64), plain(name), plain(units)
    x = _x_axis(times, len(values))
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
    return _style(fig, height, title, legend=False)


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
    fig.update_yaxes(type="log", title_text="loss", **LOG_TICKS)
    fig.update_xaxes(title_text="epoch", rangemode="tozero" if len(epochs) < 2 else None, tickformat="d",
                     dtick=max(1, math.ceil(len(epochs) / 10)))  # whole epochs: never 0.2 or 1.5
    return _style(fig, height, title)


def forecast_figure(x, actual: np.ndarray, forecasts: Mapping[str, np.ndarray], units: str = "",
                    labels: Mapping[str, str] | None = None, title: str = "Test part: forecast versus actual",
                    height: int = 440, columns: int = FORECAST_COLUMNS, recent: int = FORECAST_RECENT,
                    errors: bool = True) -> go.Figure:
    """Actual values and one line per forecast, keyed by kind ("dense", "pruned", "finetuned", "naive" or any
    other name), with each forecast's error (forecast − actual) in a panel below. Arrays may be (N,) or (N,
    horizon): the first step ahead is drawn.

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
    data = []
    for kind, values in forecasts.items():
        xs, ys = line(first(values))
        style = dict(color=COLORS.get(kind), width=1.6, dash=dashes.get(kind, "solid"))
        data.append(dict(type="scatter", x=xs, y=ys, mode="lines", name=labels.get(kind, kind), line=style,
                         legendgroup=kind, legendrank=2))
        if errors:
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
        layout = _merged(layout, dict(
            xaxis=dict(anchor="y2"),  # the time labels under the lower panel
            yaxis=dict(domain=[0.34, 1.0]),
            yaxis2=dict(domain=[0.0, 0.25], anchor="x", title_text=f"error{f' ({units})' if units else ''}",
                        zeroline=True, zerolinecolor="#57606a")))
    return _figure(data, layout, height, title)


def _grid(titles: Sequence[str], vertical: bool = False, gap: float = 0.05) -> tuple[dict, list[str]]:
    """Axes of a one-row (or one-column) grid of subplots, laid out by hand: plotly's make_subplots with
    add_vline/add_vrect per cell costs ~70 ms a figure, this ~1 ms (the slider redraws on every move)."""
    n = max(1, len(titles))
    size = (1 - gap * (n - 1)) / n
    layout, refs, annotations = {}, [], []
    for i, title in enumerate(titles):
        suffix = "" if i == 0 else str(i + 1)
        lo = (n - 1 - i) * (size + gap) if vertical else i * (size + gap)
        dom = [lo, lo + size]
        refs.append(suffix)
        if vertical:
            layout[f"xaxis{suffix}"] = dict(anchor=f"y{suffix}", **({"matches": "x"} if i else {}))
            layout[f"yaxis{suffix}"] = dict(domain=dom, anchor=f"x{suffix}")
            annotations.append(dict(text=title, x=0.5, y=dom[1], xref="paper", yref="paper", xanchor="center",
                                    yanchor="bottom", showarrow=False))
        else:
            layout[f"xaxis{suffix}"] = dict(domain=dom, anchor=f"y{suffix}")
            layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}")
            annotations.append(dict(text=title, x=(dom[0] + dom[1]) / 2, y=1.0, xref="paper", yref="paper",
                                    xanchor="center", yanchor="bottom", showarrow=False))
    layout["annotations"] = annotations
    return layout, refs


def _pruned_share(kept: np.ndarray, sep: str = " · ") -> str:
    return f"{sep}{1 - kept.mean():.0%} cut" if kept.size else ""


def histogram_figure(panels: Sequence[GatePanel], log_count: bool = False, bins: int = 60,
                     title: str | None = None, height: int = 360) -> go.Figure:
    """Weight histograms, one subplot per panel, before (all weights) and after (kept weights) pruning.

    Each panel (PruningLab.panels): its weights, the kept mask, the cut on |w| (or None), whether it is in scope,
    its title (or the gate's name). The pruned band (-thr, thr) is
    shaded and the cut lines drawn; a panel out of scope or without a threshold has neither.
    """
    kepts = [np.asarray(p.kept, dtype=bool).ravel() for p in panels]
    # the share on its own line: three panels side by side in half a screen have no room for both
    layout, refs = _grid([(p.title or p.gate) + _pruned_share(k, "<br>") for p, k in zip(panels, kepts)], gap=0.06)
    data, shapes = [], []
    for i, (p, kept, ax) in enumerate(zip(panels, kepts, refs)):
        w = np.asarray(p.weights, dtype=np.float64).ravel()
        lo, hi = (float(w.min()), float(w.max())) if w.size else (-1.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 1.0, hi + 1.0
        edges = np.linspace(lo, hi, bins + 1)
        before, _ = np.histogram(w, edges)
        after, _ = np.histogram(w[kept], edges)
        # Step outlines filled to zero: one SVG path per trace instead of one per bar, so the browser
        # redraws a slider move several times faster than with go.Bar.
        x = np.repeat(edges, 2)[1:-1]
        axes = dict(type="scatter", xaxis="x" + ax, yaxis="y" + ax, mode="lines", fill="tozeroy", x=x)
        data.append(dict(y=np.repeat(before, 2), name="before (all weights)", showlegend=i == 0, legendgroup="b",
                         line=dict(width=1.2, color="#8c959f"), fillcolor="rgba(175,184,193,0.55)",
                         hovertemplate="w≈%{x:.3g}: %{y}<extra>before</extra>", **axes))
        data.append(dict(y=np.repeat(after, 2), name="after (kept)", showlegend=i == 0, legendgroup="a",
                         line=dict(width=1.2, color=COLORS["kept"]), fillcolor="rgba(11,61,145,0.55)",
                         hovertemplate="w≈%{x:.3g}: %{y} kept<extra>after</extra>", **axes))
        thr = p.threshold
        if p.in_scope and thr is not None and thr > 0:
            band = dict(xref="x" + ax, yref=f"y{ax} domain", y0=0, y1=1)
            shapes.append(dict(type="rect", x0=-thr, x1=thr, fillcolor="rgba(209,36,47,0.12)", line_width=0,
                               layer="below", **band))
            shapes += [dict(type="line", x0=v, x1=v, line=dict(color=COLORS["cut"], dash="dash", width=2), **band)
                       for v in (-thr, thr)]
        layout[f"xaxis{ax}"].update(title_text="weight")
        layout[f"yaxis{ax}"].update(type="log" if log_count else "linear", rangemode="tozero",
                                    **({"matches": "y", "showticklabels": False} if i else {}))
    layout["yaxis"]["title_text"] = "count (log)" if log_count else "count"
    return _figure(data, dict(shapes=shapes, **layout), height, title, subplot_titles=2)


def _rgb_png(rgb: np.ndarray) -> str:
    from PIL import Image  # Pillow ships with Streamlit; only needed for large heatmaps

    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _signed_rgb(w: np.ndarray, kept: np.ndarray, vmax: float) -> np.ndarray:
    """Blue for positive, red for negative, white near zero; pruned cells light grey."""
    t = np.clip(w / vmax, -1.0, 1.0)[..., None] if vmax > 0 else np.zeros(w.shape + (1,))
    white, blue, red = np.array([255, 255, 255.0]), np.array([33, 102, 172.0]), np.array([178, 24, 43.0])
    rgb = np.where(t >= 0, white + t * (blue - white), white + (-t) * (red - white))
    rgb[~kept] = (225, 228, 232)
    return rgb.astype(np.uint8)


def _mask_rgb(kept: np.ndarray) -> np.ndarray:
    rgb = np.empty(kept.shape + (3,), dtype=np.uint8)
    rgb[kept], rgb[~kept] = (11, 61, 145), (250, 215, 215)
    return rgb


def heatmap_figure(panels: Sequence[GatePanel], mode: str = "mask", title: str | None = None,
                   height: int = 420, max_cells: int = HEATMAP_MAX_CELLS) -> go.Figure:
    """One heatmap per gate block (PruningLab.panels: 2-D weights and kept mask, a title).

    mode "mask": kept (dark) versus pruned (light). mode "signed": the weight's sign and size
    (blue positive, red negative) with pruned cells blank. Blocks with fewer than 4 columns
    (the input weights of a one-input series) are drawn transposed, one strip per gate.
    Above `max_cells` cells in all, blocks are sent as PNG images instead of heatmap traces.
    """
    if mode not in ("mask", "signed"):
        raise ValueError(f"mode must be 'mask' or 'signed', not {mode!r}")
    weights = [np.asarray(p.weights, dtype=np.float32) for p in panels]
    kepts = [np.asarray(p.kept, dtype=bool) for p in panels]
    narrow = all(w.shape[1] < 4 for w in weights)
    n = max(1, len(panels))
    titles = [(p.title or p.gate) + _pruned_share(k) for p, k in zip(panels, kepts)]
    layout, refs = _grid(titles, vertical=narrow, gap=0.45 / n if narrow else 0.06)
    if narrow:
        height = 110 + 90 * n
    as_image = sum(w.size for w in weights) > max_cells
    vmax = max((float(np.abs(w).max()) for w in weights if w.size), default=1.0)
    data = []
    for i, (w, kept, ax) in enumerate(zip(weights, kepts, refs)):
        if narrow:
            w, kept = w.T, kept.T
        axes = dict(xaxis="x" + ax, yaxis="y" + ax)
        if as_image:
            rgb = _mask_rgb(kept) if mode == "mask" else _signed_rgb(w, kept, vmax)
            data.append(dict(type="image", source=_rgb_png(rgb), hoverinfo="x+y", **axes))
        elif mode == "mask":
            data.append(dict(type="heatmap", z=kept.astype(np.float32), zmin=0, zmax=1, showscale=False,
                             colorscale=[[0, "#fad7d7"], [1, COLORS["kept"]]],
                             hovertemplate="row %{y}, col %{x}: %{z}<extra>1 kept, 0 pruned</extra>", **axes))
        else:
            data.append(dict(type="heatmap", z=np.where(kept, w, np.nan).astype(np.float32), zmin=-vmax, zmax=vmax,
                             zmid=0, colorscale="RdBu", showscale=i == n - 1, colorbar=dict(title="w", thickness=14),
                             hovertemplate="row %{y}, col %{x}: w=%{z:.3g}<extra></extra>", **axes))
        layout[f"xaxis{ax}"].update(showgrid=False, zeroline=False)
        layout[f"yaxis{ax}"].update(autorange="reversed", showgrid=False, zeroline=False,
                                    showticklabels=not narrow,
                                    **({"scaleanchor": False} if as_image else {}))  # fill the height
    last = refs[-1] if narrow else refs[0]
    if narrow:
        layout[f"xaxis{last}"]["title_text"] = "hidden unit"
    else:
        for ax in refs:
            layout[f"xaxis{ax}"]["title_text"] = "input column"
        layout["yaxis"]["title_text"] = "unit (row)"
    return _figure(data, dict(plot_bgcolor="#e1e4e8" if mode == "signed" else "white", **layout), height, title,
                   legend=False, subplot_titles=1)


def cost_figure(cost: Cost, title: str = "Storage of the weights (bytes)", height: int = 260) -> go.Figure:
    """Horizontal bars of the weights' storage in each format (`Cost.storage`), dense first."""
    storage = cost.storage()
    labels, values = list(storage), [float(v) for v in storage.values()]
    bars = dict(type="bar", x=values, y=labels, orientation="h", marker_color=[COLORS["before"]] +
                [COLORS["kept"]] * (len(values) - 1), text=[f"{v / 1024:,.1f} KiB" for v in values],
                textposition="auto", hovertemplate="%{y}: %{x:,} bytes<extra></extra>")
    return _figure([bars], dict(xaxis=dict(title_text="bytes"), yaxis=dict(autorange="reversed")), height, title,
                   legend=False)


def tradeoff_figure(curves: Sequence[Curve], x_title: str, y_title: str, naive: float | None = None,
                    current: Point | None = None, title: str | None = None, height: int = 420,
                    x_percent: bool = False, log_y: bool = False, legend: bool = True,
                    x_reference: Reference | None = None) -> go.Figure:
    """Error against a cost: one line per Curve (a group shares a colour; fine-tuned ones are dashed). `naive` draws
    the naive forecast's error as a reference line; `current` marks the slider's setting with a star; `x_reference`
    draws a vertical line, such as the dense model's measured latency."""
    fig = go.Figure()
    groups: dict[str, str] = {}
    for c in curves:
        color = groups.setdefault(c.colour_key, METHOD_COLORS[len(groups) % len(METHOD_COLORS)])
        fig.add_trace(go.Scatter(x=list(c.x), y=list(c.y), mode="lines+markers" if c.joined else "markers",
                                 name=c.label, line=dict(color=color, width=2.4, dash="dash" if c.finetuned else "solid"),
                                 marker=dict(size=8, symbol="diamond" if c.finetuned else "circle")))
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
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", **LOG_TICKS if log_y else {})
    return _style(fig, height, title, legend=legend)


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
    return _style(fig, height, title, legend=legend)


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
    return _style(fig, height, title, legend=legend)
