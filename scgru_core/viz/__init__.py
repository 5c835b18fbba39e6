"""Every figure builder: the engine's types and plain numbers in, `go.Figure` out; Plotly only, never Streamlit.

`from scgru_core import viz` gives the builders every page uses (re-exported here); the figures only one page needs
(`viz.deploy`, `viz.lesson`, `viz.sensitivity`, `viz.study`, `viz.report`) are imported from their module.
- `style`: the one look (fonts for a projector, colours, mode bar) and the layout helpers;
- `series`: the data with its parts, the loss, the forecasts;
- `weights`: histograms with the cut band and heatmaps of what is kept, a panel per gate block;
- `comparisons`: storage bars, trade-off curves, grouped bars, sparsity schedules.
"""
from scgru_core.viz.comparisons import cost_figure, grouped_bar_figure, schedule_figure, tradeoff_figure
from scgru_core.viz.series import (data_figure, forecast_figure, loss_figure, series_figure, test_forecast_figure,
                                   training_figure)
from scgru_core.viz.style import (COLORS, FONT_SIZE, FORECAST_COLUMNS, FORECAST_RECENT, PLOTLY_CONFIG, decimate, plain,
                                  time_axis)
from scgru_core.viz.weights import heatmap_figure, histogram_figure, picked_cell, replay_figure

__all__ = ["COLORS", "FONT_SIZE", "FORECAST_COLUMNS", "FORECAST_RECENT", "PLOTLY_CONFIG", "cost_figure", "data_figure",
           "decimate", "forecast_figure", "test_forecast_figure", "training_figure", "grouped_bar_figure", "heatmap_figure", "histogram_figure", "loss_figure", "picked_cell", "plain", "replay_figure",
           "schedule_figure", "series_figure", "time_axis", "tradeoff_figure"]
