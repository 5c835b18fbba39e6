"""A one-click report of a run as one self-contained HTML file (plotly.js inlined once, no network).

    html = report_html({"sample": "power_load", "s": 1.0}, {"dense": {...}, "pruned": {...}},
                       cost.to_dict(), {"Forecast": fig1, "Weights": fig2})

`settings` is a flat mapping; `metrics` is either flat ({"rmse": ...}) or one row per model
({"dense": {"rmse": ...}, "pruned": {...}}); `cost` likewise (a Cost.to_dict() or rows of them).
No Streamlit here; figures come from the viz builders.
"""
from __future__ import annotations

import datetime as _dt
import html
import math
from typing import Mapping

import plotly.graph_objects as go

from scgru_core.net.metrics import METRIC_LABELS

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #1b1f24; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; } thead th { background: #f6f8fa; }
.meta { color: #57606a; font-size: .85rem; } .caption { color: #57606a; font-size: .9rem; margin: .2rem 0 .6rem; }
.figure { margin-bottom: 1.5rem; }
"""


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.1f}"
    if value is None:
        return "-"
    return str(value)


def _label(key: str) -> str:
    return METRIC_LABELS.get(key, key.replace("_", " "))


def _table(mapping: Mapping) -> str:
    """A two-column table for a flat mapping, or a rows x columns table for a mapping of mappings."""
    if not mapping:
        return "<p class='meta'>(none)</p>"
    values = list(mapping.values())
    if all(isinstance(v, Mapping) for v in values):
        columns: list[str] = []
        for v in values:
            columns += [c for c in v if c not in columns]
        head = "".join(f"<th>{html.escape(_label(c))}</th>" for c in columns)
        body = "".join(
            f"<tr><td>{html.escape(str(row))}</td>"
            + "".join(f"<td>{html.escape(_fmt(v.get(c)))}</td>" for c in columns) + "</tr>"
            for row, v in mapping.items())
        return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"
    body = "".join(f"<tr><td>{html.escape(_label(str(k)))}</td><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in mapping.items())
    return f"<table><tbody>{body}</tbody></table>"


def report_html(settings: Mapping, metrics: Mapping, cost: Mapping, figures: Mapping[str, go.Figure],
                title: str = "SCGRU Pruning Lab report", captions: Mapping[str, str] | None = None,
                notes: list[str] | None = None, link: str | None = None) -> str:
    """The whole report as a string: settings, metrics, cost, then every figure (plotly.js inlined once)."""
    captions = captions or {}
    parts = []
    first = True
    for name, fig in figures.items():
        div = fig.to_html(full_html=False, include_plotlyjs=True if first else False, config={"displaylogo": False})
        first = False
        cap = f"<p class='caption'>{html.escape(captions[name])}</p>" if name in captions else ""
        parts.append(f"<div class='figure'><h3>{html.escape(name)}</h3>{cap}{div}</div>")
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    link_html = (f"<p class='meta'>Open this state in the app: <code>{html.escape(link)}</code></p>" if link else "")
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in (notes or []))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">Generated {stamp} by SCGRU Pruning Lab. Self-contained: opens offline in any browser.</p>
{link_html}
<h2>Settings</h2>{_table(settings)}
<h2>Metrics (test part, original units)</h2>{_table(metrics)}
<h2>Cost</h2>{_table(cost)}
{f"<ul>{notes_html}</ul>" if notes_html else ""}
<h2>Figures</h2>
{"".join(parts) if parts else "<p class='meta'>(no figures)</p>"}
</body></html>
"""
