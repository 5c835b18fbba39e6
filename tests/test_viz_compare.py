"""The Compare page's figure builders: grouped bars, gradual schedules, unpruned models as markers."""
from __future__ import annotations

import plotly.graph_objects as go

from scgru_core import viz
from scgru_core.study.curves import BarGroup, Curve


def test_grouped_bar_figure_puts_one_coloured_group_per_scope():
    fig = viz.grouped_bar_figure([BarGroup("ih", ["A", "B"], [1.0, 2.0]), BarGroup("hh", ["A", "B"], [1.5, 2.5])],
                                 "test RMSE", title="Scope")
    assert isinstance(fig, go.Figure) and fig.layout.barmode == "group"
    assert [t.type for t in fig.data] == ["bar", "bar"] and [t.name for t in fig.data] == ["ih", "hh"]
    assert fig.data[0].marker.color != fig.data[1].marker.color
    assert list(fig.data[1].text) == ["1.5", "2.5"]
    assert fig.layout.font.size == viz.FONT_SIZE and fig.layout.yaxis.title.text == "test RMSE"


def test_grouped_bar_figure_formats_its_labels():
    fig = viz.grouped_bar_figure([BarGroup("s", ["A"], [3.14159])], "seconds", text_format=".1f")
    assert list(fig.data[0].text) == ["3.1"]


def test_schedule_figure_shares_a_colour_per_method_and_dashes_each_target():
    fig = viz.schedule_figure([
        Curve("AGP → 50%", [0, 1, 2], [0.0, 0.3, 0.5], group="agp"),
        Curve("AGP → 80%", [0, 1, 2], [0.0, 0.5, 0.8], group="agp"),
        Curve("Narang → 50%", [0, 1, 2], [0.0, 0.1, 0.5], group="narang"),
    ], title="Schedules")
    agp50, agp80, narang = fig.data
    assert agp50.line.color == agp80.line.color != narang.line.color
    assert agp50.line.dash != agp80.line.dash and narang.line.dash == "solid"
    assert list(agp80.y) == [0.0, 0.5, 0.8]
    assert fig.layout.yaxis.tickformat == ".0%" and "step" in fig.layout.xaxis.title.text


def test_tradeoff_figure_draws_a_curve_as_markers_when_asked():
    fig = viz.tradeoff_figure([Curve("GRU1", [0.3], [1.0], joined=False), Curve("Magnitude", [0.5, 0.8], [1.0, 2.0])],
                              "sparsity", "RMSE")
    assert fig.data[0].mode == "markers" and fig.data[1].mode == "lines+markers"
