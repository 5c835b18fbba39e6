"""Helpers for the AppTest suites (tests/test_app_*.py): start the app, train a tiny model, read figures.

Not a conftest: each test module imports what it uses.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture(autouse=True, scope="module")
def restore_torch_threads():
    """Run the module with the app's torch thread count (server.warm_up sets it once per process, and the
    AppTests share this process), then give the other test modules theirs back."""
    from lab_ui.server import TORCH_THREADS

    before = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def downloads(monkeypatch):
    """What the pages hand to st.download_button, by key: (file name, bytes). AppTest keeps no file, and
    deferred data is made later in another thread, so callables are called here, outside the script run."""
    import streamlit
    from streamlit.delta_generator import DeltaGenerator

    seen = {}
    original = DeltaGenerator.download_button

    def spy(self, label, data=None, *args, **kwargs):
        seen[kwargs.get("key")] = (kwargs.get("file_name"), data)
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)  # st.column(...).download_button
    monkeypatch.setattr(streamlit, "download_button", lambda *a, **k: spy(streamlit._main, *a, **k))

    class Downloads(dict):
        def __getitem__(self, key):
            name, data = seen[key]
            return name, data() if callable(data) else data

    return Downloads()


def new_app() -> AppTest:
    """A fresh session of the whole app, on its Home page."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def without_model(name: str) -> AppTest:
    """A session on page `name` with no trained model: a fresh session has the shipped one, so upload other data
    (which discards it), as a user would."""
    at = page(new_app(), "data")
    upload(at, "fresh.csv", csv_bytes(wave(400)))
    assert at.session_state["session"].lab is None
    return page(at, name)


def train_small(at: AppTest, hidden: int = 8, epochs: int = 2, cell: str | None = None) -> AppTest:
    """Train a tiny model on whatever data is loaded, via the Train page's widgets (`cell`: the Cell choice)."""
    page(at, "train")
    at.select_slider(key="m_hidden").set_value(hidden)
    if cell is not None:
        at.selectbox(key="m_cell").set_value(cell)
    at.number_input(key="t_epochs").set_value(epochs)
    at.button(key="train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["session"].lab is not None, [e.value for e in at.error]
    return at


def charts(at: AppTest) -> dict:
    """Plotly charts by their key: {key: (figure spec dict, config dict)}."""
    out = {}
    for el in at.get("plotly_chart"):
        key = el.proto.id.rsplit("-", 1)[-1] if el.proto.id else ""
        out[key] = (json.loads(el.proto.spec), json.loads(el.proto.config))
    return out


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def sidebar_text(at: AppTest) -> str:
    return " ".join(n.value for n in at.sidebar if isinstance(getattr(n, "value", None), str))


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    at.file_uploader(key=f"upload_{at.session_state['session'].uploads}").set_value((name, data, mime)).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def csv_bytes(values, header: str = "value", times: bool = True) -> bytes:
    """A CSV of `values` (one column), with half-hourly time stamps unless `times` is False."""
    frame = pd.DataFrame({header: list(values)})
    if times:
        frame.insert(0, "time", pd.date_range("2024-01-01", periods=len(frame), freq="30min").strftime("%Y-%m-%d %H:%M"))
    return frame.to_csv(index=False).encode()


def wave(n: int = 600, seed: int = 0) -> np.ndarray:
    """A noisy daily cycle, easy to forecast."""
    t = np.arange(n)
    return (100 + 30 * np.sin(2 * np.pi * t / 48) + np.random.default_rng(seed).normal(0, 2, n)).round(3)


def choose_tab(at: AppTest, label: str) -> None:
    """Open a Prune tab as a click does. The tabs are bound to the address bar (`?tab=`), and a click in a browser
    changes the URL with the widget; a bound widget reads the URL on every run, so setting only the session state
    (AppTest has no tab click) is overwritten by the address from the run before."""
    from lab_ui.prune_view import TAB_KEY
    at.query_params[TAB_KEY] = label
    at.session_state[TAB_KEY] = label
