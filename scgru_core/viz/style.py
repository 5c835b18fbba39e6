"""The one look of every figure: fonts that read on a projector, colours, the mode bar, and the layout helpers
(a styled figure, a grid of panels, a time axis, decimation) that every builder uses.

No Streamlit and no model maths here.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from scgru_core.data.times import yearly
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
LOG_IN_BETWEEN = 2.5  # decades a log axis may span and still label 2 and 5 between them (beyond, they crowd)
LOG_NARROW = 0.35  # at most this many decades (a factor of 2.2): finer steps, or the axis would show one label
FORECAST_RECENT = 400  # a longer test part opens zoomed on its last this many points (8 days of half-hours)


NAME_CHARS = 40  # a name from a file is cut to this in a figure (an axis title runs off the chart past it)


def escaped(text: str) -> str:
    """`text` as plotly shows it literally: plotly renders a few HTML tags in titles, legends, axis and tick labels
    (`<a href>` a live link among them) and decodes entities, so '&', '<' and '>' are written as entities."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> str:
    """A name from a user's file shown as written in a figure (`escaped`), cut to NAME_CHARS."""
    text = str(text) if len(str(text)) <= NAME_CHARS else str(text)[:NAME_CHARS - 1] + "…"
    return escaped(text)


def look(height: int, title: str | None, legend: bool, subplot_titles: int) -> dict:
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


def styled(fig: go.Figure, height: int, title: str | None = None, legend: bool = True,
           subplot_titles: int = 0) -> go.Figure:
    """The shared look on a figure built step by step (figures drawn once per page)."""
    fig.update_layout(**look(height, title, legend, subplot_titles))
    fig.update_annotations(font_size=FONT_SIZE)
    return fig


def merged(base: dict, extra: dict) -> dict:
    """`base` with `extra` merged in, nested dicts key by key (as update_layout merges)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def figure(data: list[dict], layout: dict, height: int, title: str | None = None, legend: bool = True,
            subplot_titles: int = 0) -> go.Figure:
    """A figure from plain trace and layout dicts with the shared look, validated by plotly once: building it from
    graph objects and then styling it validated everything three times (a histogram on each slider move took
    26 ms, this 7 ms, measured)."""
    layout = merged(layout, look(height, title, legend, subplot_titles))
    if "annotations" in layout:
        layout["annotations"] = [merged(a, {"font": {"size": FONT_SIZE}}) for a in layout["annotations"]]
    return go.Figure(dict(data=data, layout=layout))


def x_axis(times, n: int):
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


def grid(titles: Sequence[str], vertical: bool = False, gap: float = 0.05) -> tuple[dict, list[str]]:
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


def _tick_text(v: float) -> str:
    """A tick's value as a person reads it: 0.01, 0.5, 20, 1,000, 150M; never "5" for 0.5 or 500."""
    if v >= 1e9:
        return f"{v / 1e9:g}G"
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1:
        return f"{v:,.0f}"
    return f"{v:.10f}".rstrip("0").rstrip(".") if v >= 1e-6 else f"{v:g}"


def log_ticks(values) -> dict:
    """Tick values and labels for a log axis over `values`: every decade labelled with its value (0.01, 0.1, 1),
    and 2 and 5 between them only while the values span at most LOG_IN_BETWEEN decades (where they fit); finer
    steps over a narrow range (LOG_NARROW), so that it still shows several labels. Plotly's
    own log ticks label 2 and 5 as bare digits ("5" for 0.5 or 500), which a chart cannot be read by."""
    import math

    finite = [float(v) for v in values if v is not None and math.isfinite(float(v)) and float(v) > 0]
    if not finite:
        return {}
    low, high = math.floor(math.log10(min(finite))), math.ceil(math.log10(max(finite)))
    span = math.log10(max(finite)) - math.log10(min(finite))
    steps = ((1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9) if span <= LOG_NARROW else (1, 2, 5) if span <= LOG_IN_BETWEEN
             else (1,))
    ticks = [m * 10.0 ** k for k in range(low, high + 1) for m in steps]
    ticks = [float(f"{t:.12g}") for t in ticks]  # 0.30000000000000004 -> 0.3
    return {"tickvals": ticks, "ticktext": [_tick_text(t) for t in ticks]}


PROJECTOR_FONT = 1.4  # projector mode: every text of a figure this much larger (15 px -> 21 px)
PROJECTOR_LINE = 1.6  # and every line this much thicker
PROJECTOR_HEIGHT = 1.15  # with the room the larger text takes


def for_projector(fig: go.Figure | dict) -> dict:
    """A figure to read from the back of a room, as a plain dict (what st.plotly_chart takes): every font size in its
    layout, traces and annotations times PROJECTOR_FONT, every line width times PROJECTOR_LINE, markers larger, the
    height and margins grown to fit. The figure passed in is not changed (it may sit in a cache shared by sessions)."""
    out = fig.to_plotly_json() if isinstance(fig, go.Figure) else fig
    out = {"data": [_scaled(t, "trace") for t in out.get("data", [])], "layout": _scaled(out.get("layout", {}), "")}
    layout = out["layout"]
    if isinstance(layout.get("height"), (int, float)):
        layout["height"] = round(layout["height"] * PROJECTOR_HEIGHT)
    layout.setdefault("font", {}).setdefault("size", round(FONT_SIZE * PROJECTOR_FONT))
    for key, value in layout.items():  # axis titles and ticks that inherit the base font grow with it
        if key.startswith(("xaxis", "yaxis")) and isinstance(value, dict):
            value.setdefault("tickfont", {}).setdefault("size", round((FONT_SIZE - 1) * PROJECTOR_FONT))
    return out


def _scaled(node, parent: str):
    """`node` with font sizes and line widths scaled, recursively (lists, dicts; arrays and numbers kept)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "size" and parent in ("font", "tickfont", "title_font") and isinstance(value, (int, float)):
                out[key] = round(value * PROJECTOR_FONT, 1)
            elif key == "width" and parent in ("line", "marker_line", "error_y", "error_x") and isinstance(value, (int, float)):
                out[key] = round(value * PROJECTOR_LINE, 2)
            elif key == "size" and parent == "marker" and isinstance(value, (int, float)):
                out[key] = round(value * PROJECTOR_FONT, 1)
            elif key in ("l", "r", "t", "b") and parent == "margin" and isinstance(value, (int, float)):
                out[key] = round(value * PROJECTOR_FONT)
            else:
                out[key] = _scaled(value, key)
        if parent == "trace" and out.get("type", "scatter") in ("scatter", "scattergl") and "line" not in out:
            out["line"] = {"width": round(2 * PROJECTOR_LINE, 2)}  # a line at plotly's default width (2 px)
        return out
    if isinstance(node, list) and node and isinstance(node[0], dict):
        return [_scaled(item, parent) for item in node]
    return node
