"""Figures of the weights, one panel per gate block: histograms with the cut band, heatmaps of what is kept."""
from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from scgru_core.viz.style import COLORS, HEATMAP_MAX_CELLS, figure, grid

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from scgru_core.pruning.lab import GatePanel


def _pruned_share(kept: np.ndarray, sep: str = " · ") -> str:
    return f"{sep}{1 - kept.mean():.0%} cut" if kept.size else ""


def histogram_figure(panels: Sequence[GatePanel], log_count: bool = False, bins: int = 60,
                     title: str | None = None, height: int = 360, pruning: bool = True,
                     span: tuple[float, float] | None = None, counts_top: float | None = None) -> go.Figure:
    """Weight histograms, one subplot per panel, before (all weights) and after (kept weights) pruning; with
    `pruning=False` (weights no rule has cut, such as the lesson's before/after training), the weights alone: no
    before/after legend, no "% cut".

    Each panel (PruningLab.panels): its weights, the kept mask, the cut on |w| (or None), whether it is in scope,
    its title (or the gate's name). The pruned band (-thr, thr) is
    shaded and the cut lines drawn; a panel out of scope or without a threshold has neither.
    `span` and `counts_top` fix the weight axis and the count axis (a replay of a training keeps them still from
    epoch to epoch, so that the weights are seen to move, not the axes).
    """
    kepts = [np.asarray(p.kept, dtype=bool).ravel() for p in panels]
    # the share on its own line: three panels side by side in half a screen have no room for both
    layout, refs = grid([(p.title or p.gate) + (_pruned_share(k, "<br>") if pruning else "")
                         for p, k in zip(panels, kepts)], gap=0.06)
    data, shapes = [], []
    for i, (p, kept, ax) in enumerate(zip(panels, kepts, refs)):
        w = np.asarray(p.weights, dtype=np.float64).ravel()
        lo, hi = span if span is not None else (float(w.min()), float(w.max())) if w.size else (-1.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 1.0, hi + 1.0
        edges = np.linspace(lo, hi, bins + 1)
        before, _ = np.histogram(w, edges)
        after, _ = np.histogram(w[kept], edges)
        # Step outlines filled to zero: one SVG path per trace instead of one per bar, so the browser
        # redraws a slider move several times faster than with go.Bar.
        x = np.repeat(edges, 2)[1:-1]
        axes = dict(type="scatter", xaxis="x" + ax, yaxis="y" + ax, mode="lines", fill="tozeroy", x=x)
        if not pruning:  # weights no rule has cut: one histogram each, no before/after, no cut band
            data.append(dict(y=np.repeat(before, 2), name="weights", showlegend=False, fillcolor="rgba(11,61,145,0.55)",
                             line=dict(width=1.2, color=COLORS["kept"]),
                             hovertemplate="w≈%{x:.3g}: %{y}<extra></extra>", **axes))
        else:
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
                                    **({"matches": "y", "showticklabels": False} if i else {}),
                                    **({"range": [0, counts_top]} if counts_top and not log_count else {}))
    layout["yaxis"]["title_text"] = "count (log)" if log_count else "count"
    return figure(data, dict(shapes=shapes, **layout), height, title, subplot_titles=2)


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
                   height: int = 420, max_cells: int = HEATMAP_MAX_CELLS, pickable: bool = False) -> go.Figure:
    """One heatmap per gate block (PruningLab.panels: 2-D weights and kept mask, a title).

    mode "mask": kept (dark) versus pruned (light). mode "signed": the weight's sign and size
    (blue positive, red negative) with pruned cells blank. Blocks with fewer than 4 columns
    (the input weights of a one-input series) are drawn transposed, one strip per gate.
    Above `max_cells` cells in all, blocks are sent as PNG images instead of heatmap traces.
    `pickable`: an invisible marker on every cell's centre, after the heatmaps, so that a click selects a cell (a
    heatmap trace itself sends no selection event); `picked_cell` reads the click back. Not on PNG images.
    """
    if mode not in ("mask", "signed"):
        raise ValueError(f"mode must be 'mask' or 'signed', not {mode!r}")
    weights = [np.asarray(p.weights, dtype=np.float32) for p in panels]
    kepts = [np.asarray(p.kept, dtype=bool) for p in panels]
    narrow = all(w.shape[1] < 4 for w in weights)
    n = max(1, len(panels))
    titles = [(p.title or p.gate) + _pruned_share(k) for p, k in zip(panels, kepts)]
    layout, refs = grid(titles, vertical=narrow, gap=0.45 / n if narrow else 0.06)
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
                                    showticklabels=not narrow and i == 0,  # the same units on every panel:
                                    # labelled once, at the left (each panel's ran into the panel before it)
                                    **({"scaleanchor": False} if as_image else {}))  # fill the height
    if pickable and not as_image:
        for w, ax in zip(weights, refs):
            rows, cols = np.indices(w.shape, dtype=np.uint8 if max(w.shape) < 256 else np.uint16)  # sent as
            # typed arrays: 12,288 cells of a 64-unit GRU's W_hh cost 33 KB more on each redraw
            x, y = (rows, cols) if narrow else (cols, rows)
            data.append(dict(type="scatter", mode="markers", x=x.ravel(), y=y.ravel(), xaxis="x" + ax,
                             yaxis="y" + ax, marker=dict(size=6, opacity=0), showlegend=False,
                             hovertemplate=("unit %{x}, input %{y}" if narrow else "unit %{y}, column %{x}")
                             + ": click to ask about this weight<extra></extra>"))
    last = refs[-1] if narrow else refs[0]
    if narrow:
        layout[f"xaxis{last}"]["title_text"] = "hidden unit"
    else:
        for ax in refs:
            layout[f"xaxis{ax}"]["title_text"] = "input column"
        layout["yaxis"]["title_text"] = "unit (row)"
    return figure(data, dict(plot_bgcolor="#e1e4e8" if mode == "signed" else "white", **layout), height, title,
                   legend=False, subplot_titles=1)


def picked_cell(point: dict, panels: Sequence[GatePanel]) -> tuple[int, int, int] | None:
    """A click on a `pickable` heatmap (Streamlit's selection point: curve_number, x, y) as (panel index, row,
    column) of that panel's block, or None when the click was not on a cell marker."""
    n = len(panels)
    index = int(point.get("curve_number", -1)) - n
    if not 0 <= index < n or point.get("x") is None or point.get("y") is None:
        return None
    narrow = all(np.asarray(p.weights).shape[1] < 4 for p in panels)
    x, y = int(point["x"]), int(point["y"])
    return (index, x, y) if narrow else (index, y, x)


def replay_figure(epochs: Sequence[Mapping[str, np.ndarray]], name: str, blocks: Mapping[str, slice], epoch: int,
                  titles: Mapping[str, str] | None = None, title: str | None = None, bins: int = 60) -> go.Figure:
    """Matrix `name`'s weights at `epoch` of a training replay (TrainResult.replay), one histogram per gate block,
    on axes that hold still over the whole replay: the weight axis spans every epoch's weights, the count axis the
    largest bin of any epoch."""
    from scgru_core.pruning.lab import GatePanel  # the panels histogram_figure draws (a type of the engine's)

    series = [np.asarray(e[name], dtype=np.float32) for e in epochs]
    lo, hi = min(float(w.min()) for w in series), max(float(w.max()) for w in series)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    top = max(int(np.histogram(w[b], edges)[0].max()) for w in series for b in blocks.values())
    now = series[epoch]
    panels = [GatePanel(gate, now[b], np.ones(now[b].shape, bool), title=(titles or {}).get(gate, gate))
              for gate, b in blocks.items()]
    return histogram_figure(panels, pruning=False, bins=bins, span=(lo, hi), counts_top=1.05 * top, title=title)
