"""Projector mode: a toggle in the sidebar and a link parameter; every chart's text larger and lines thicker."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from scgru_core.viz.style import FONT_SIZE, PROJECTOR_FONT

from apptest_helpers import APP, TIMEOUT, chart_specs, new_app, page, restore_torch_threads  # noqa: F401


def base_fonts(at: AppTest) -> list[float]:
    return [spec["layout"]["font"]["size"] for spec in chart_specs(at)]


def test_a_projector_link_opens_with_large_charts_and_the_toggle_turns_it_off():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["projector"] = "1"
    at.run()
    page(at, "prune")
    assert at.sidebar.toggle(key="projector").value
    assert base_fonts(at) and all(size == round(FONT_SIZE * PROJECTOR_FONT, 1) for size in base_fonts(at))
    assert at.query_params.get("projector") in ("1", ["1"])  # the link carries it: the projected page keeps it
    at.sidebar.toggle(key="projector").set_value(False).run()
    assert all(size == FONT_SIZE for size in base_fonts(at))
    assert "projector" not in at.query_params


def test_the_toggle_follows_the_user_to_every_page():
    at = page(new_app(), "train")
    at.sidebar.toggle(key="projector").set_value(True).run()
    for name in ("lesson", "data", "prune"):
        page(at, name)
        assert at.sidebar.toggle(key="projector").value
        assert all(size > FONT_SIZE for size in base_fonts(at))
