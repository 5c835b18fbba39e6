"""The app as a whole (AppTest): Home, the frame every page gets, the one-click demo, session isolation."""
from __future__ import annotations

import pytest

from scgru_core.store.checkpoints import load_checkpoint, weights_equal
from scgru_core.data.samples import DEFAULT_SAMPLE
from scgru_core.teach.settings import LabState

from apptest_helpers import (choose_tab, csv_bytes, new_app, page, restore_torch_threads, sidebar_text, texts, upload,
                             wave)

__all__ = ["restore_torch_threads"]
PAGES = ("home", "data", "train", "prune", "tradeoffs")


def test_home_says_what_the_app_does_and_links_the_path():
    at = new_app()
    assert at.title[0].value == "SCGRU Pruning Lab"
    intro = at.markdown[0].value
    assert intro.count(". ") + 1 == 3 and "prune" in intro and "slider" in intro  # three sentences
    links = [el.proto.label for el in at.get("page_link")]
    assert links == ["1 · Data", "2 · Train", "3 · Prune", "4 · Trade-offs"]
    assert at.button(key="demo").label == "Open the class demo"
    assert any("built-in sample" in c.value for c in at.caption)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_loads_in_the_frame_of_app_py(name):
    """Each run of each page goes through app.py: warm-up, data, sidebar status, on the first run and the next."""
    at = page(new_app(), name)
    at.run()  # a second run of the same page
    assert not at.exception
    side = sidebar_text(at)
    assert "Current data" in side and "Power load" in side and "Current model" in side


def test_a_fresh_session_starts_on_the_shipped_model_of_the_default_sample():
    at = page(new_app(), "prune")  # a bare /prune: no link, no click
    shipped = load_checkpoint(DEFAULT_SAMPLE)
    lab = at.session_state["session"].lab
    assert weights_equal(lab.model, shipped.model) and lab.data.config == shipped.data.config
    assert at.session_state["session"].model_info.made == "shipped"
    assert at.slider(key="s").value == LabState().sensitivity
    assert "the shipped model" in sidebar_text(at)


def test_the_demo_is_the_shipped_model_and_opens_prune():
    at = page(new_app(), "data")
    upload(at, "mine.csv", csv_bytes(wave(400)))  # the session moved on to other data, without a model
    assert at.session_state["session"].lab is None
    page(at, "home")
    at.button(key="demo").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["session"].source["key"] == DEFAULT_SAMPLE
    assert weights_equal(at.session_state["session"].lab.model, load_checkpoint(DEFAULT_SAMPLE).model)
    assert at.slider(key="s").value == 1.0  # we are on the Prune page
    assert "GRU" in sidebar_text(at) and "hidden 64" in sidebar_text(at)


def test_one_sessions_upload_is_not_seen_by_another():
    alice = page(new_app(), "data")
    upload(alice, "alice_private.csv", csv_bytes(wave(500, seed=1)))
    assert "alice_private.csv" in alice.subheader[0].value
    bob = page(new_app(), "data")
    assert bob.subheader[0].value.startswith("Power load")
    assert "alice" not in sidebar_text(bob)
    upload(bob, "alice_private.csv", csv_bytes(wave(500, seed=2)))  # same name, other bytes: Bob's own data
    assert bob.session_state["session"].series.values[0] != alice.session_state["session"].series.values[0]
    assert not texts(bob.error)


WIDGET_TYPES = ("button", "checkbox", "multiselect", "number_input", "radio", "selectbox", "select_slider", "slider",
                "toggle", "text_input", "download_button", "file_uploader")


def test_the_app_keeps_its_own_state_under_one_key_and_widgets_under_theirs():
    """A journey over every page (an upload, a training, the Prune tabs, lesson steps): each session-state key is
    either the one typed session object or a widget's key; the app's own keys stay few and named in one module."""
    from lab_ui import session, state

    at = new_app()
    seen: set = set()

    def visit(name):
        page(at, name)
        seen.update(w.key for t in WIDGET_TYPES for w in at.get(t) if getattr(w, "key", None))

    for name in ("data", "train", "prune", "tradeoffs", "deploy", "compare", "lesson", "home"):
        visit(name)
    for tab in ("Heatmaps", "Forecast", "Thresholds", "Cost"):
        choose_tab(at, tab)
        visit("prune")
    visit("lesson")
    at.radio(key="lesson_step").set_value(5).run()
    seen.update(w.key for t in WIDGET_TYPES for w in at.get(t) if getattr(w, "key", None))
    upload(page(at, "data"), "mine.csv", csv_bytes(wave(500)))
    seen.update(w.key for t in WIDGET_TYPES for w in at.get(t) if getattr(w, "key", None))  # the fresh uploader
    visit("train")
    widgets = seen | set(state.PERSISTENT_WIDGETS) | {"tab"}
    own = [k for k in at.session_state.keys() if k not in widgets]
    assert own == [session.KEY], own
    assert isinstance(at.session_state[session.KEY], session.Session)
    assert len(own) <= 20


def test_a_process_started_from_the_server_imports_app_py_without_running_the_app():
    """multiprocessing's spawn and forkserver children import the parent's main file again, as `__mp_main__`: a
    Compare pool or a workbook read apart ran the whole app in every child (781 "missing ScriptRunContext"
    warnings for one 20,000-row workbook read). app.py does its work under `if __name__ == "__main__"` only."""
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    code = ("import runpy, sys; runpy.run_path('app.py', run_name='__mp_main__'); "
            "print([m for m in ('streamlit', 'lab_ui', 'torch') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]" and not done.stderr
