"""Compare page (AppTest): methods x sparsities x scopes run with a tiny model, extended without recomputing,
charts, table and CSV, engine refusals shown as errors."""
from __future__ import annotations

import io
import os
import sys

import pandas as pd
import pytest

import scgru_core as sc
from apptest_helpers import charts, downloads, new_app, page, restore_torch_threads, texts, train_small
from scgru_core.errors import ConfigError
from scgru_core.teach.settings import SETTINGS

__all__ = ["downloads", "restore_torch_threads"]
KEYS = {"cmp_sparsity", "cmp_macs", "cmp_schedule", "cmp_scope", "cmp_time"}


def engine():
    return sys.modules["scgru_core.study.compare"]  # the package's `compare` attribute is the function


@pytest.fixture
def calls(monkeypatch):
    """(method, target, seed, scope) of every row the engine's runner is asked for."""
    seen, original = [], engine().Comparison.row

    def row(self, method, target, seed):
        seen.append((method, round(target, 6), seed, self.config.scope.to_text()))
        return original(self, method, target, seed)

    monkeypatch.setattr(engine().Comparison, "row", row)
    return seen


def airline_compare(methods: list[str]):
    """The Compare page on the airline sample (window 12), hidden 8 (the model in place), at 50% sparsity,
    1 dense + 1 fine-tune epoch."""
    at = page(new_app(), "data")
    at.selectbox(key="sample_pick").set_value("airline")
    at.button(key="load_sample").click().run()
    train_small(at, hidden=8, epochs=1)
    page(at, "compare")
    at.multiselect(key="cmp_methods").set_value(methods)
    at.multiselect(key="cmp_sparsities").set_value([0.5])
    at.number_input(key="cmp_epochs").set_value(1)
    return at.run()


@pytest.fixture(scope="module")
def at():
    return airline_compare(["magnitude", "agp"])


def rows(at, scope: str | None = "both") -> list[dict]:
    store = at.session_state["session"].compare
    (run,) = [r for r in store["runs"].values() if r["rows"]]
    return [r for r in run["rows"] if scope is None or r["scope"] == scope]


def ok(at):
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_before_a_run_the_page_explains_what_to_do(at):
    assert any("No results yet" in t for t in texts(at.info))
    assert not at.button(key="cmp_run").disabled


def test_run_gives_one_row_per_method_and_sparsity_and_every_chart(at, calls):
    ok(at.button(key="cmp_run").click().run())
    assert sorted(calls) == [("agp", 0.5, 0, "both"), ("magnitude", 0.5, 0, "both")]
    table = at.dataframe[0].value
    assert list(table["method"]) == ["Magnitude", "AGP"] and list(table["target"]) == [0.5, 0.5]
    assert {"RMSE", "MAE", "sMAPE (%)", "MASE", "non-zero params", "MACs / forecast", "bytes (CSR)",
            "wall time (s)", "sparsity"} <= set(table.columns)
    shown = charts(at)
    assert set(shown) == KEYS
    assert [t["name"] for t in shown["cmp_sparsity"][0]["data"]] == ["Magnitude", "AGP"]
    assert shown["cmp_schedule"][0]["data"][0]["name"] == "AGP → 50%"
    assert at.button(key="cmp_run").disabled  # nothing left to run


def test_a_new_sparsity_adds_rows_without_recomputing_the_old_ones(at, calls):
    before = [dict(r) for r in rows(at)]
    at.multiselect(key="cmp_sparsities").set_value([0.5, 0.8]).run()
    ok(at.button(key="cmp_run").click().run())
    assert sorted(calls) == [("agp", 0.8, 0, "both"), ("magnitude", 0.8, 0, "both")]
    after = rows(at)
    assert len(after) == 4 and after[:2] == before  # old rows untouched, seconds included
    assert len(at.dataframe[0].value) == 4
    spec = charts(at)["cmp_sparsity"][0]
    assert all(len(t["x"]) == 2 for t in spec["data"])


def test_the_scope_is_part_of_a_rows_key(at, calls):
    at.multiselect(key="cmp_scopes").set_value(["both", "hh"]).run()
    ok(at.button(key="cmp_run").click().run())
    assert {c[3] for c in calls} == {"hh"} and len(calls) == 4
    bars = charts(at)["cmp_scope"][0]["data"]
    assert [b["name"] for b in bars] == ["both (ih + hh)", "hidden-to-hidden only (hh)"]
    assert all(b["type"] == "bar" and len(b["x"]) == 2 for b in bars)
    assert len(at.dataframe[0].value) == 8
    at.multiselect(key="cmp_scopes").set_value(["both"]).run()
    assert len(at.dataframe[0].value) == 4


def test_the_error_measure_can_be_changed(at):
    at.selectbox(key="cmp_metric").set_value("mase").run()
    assert charts(at)["cmp_sparsity"][0]["layout"]["yaxis"]["title"]["text"] == "test MASE"
    at.selectbox(key="cmp_metric").set_value("rmse").run()


def test_the_results_download_as_csv(at, downloads):
    at.run()
    name, data = downloads["cmp_csv"]
    frame = pd.read_csv(io.BytesIO(data))
    assert name == "scgru_compare.csv" and len(frame) == 4
    assert {"method", "scope", "target_sparsity", "rmse", "mae", "smape", "mase", "params_nonzero", "macs_nonzero",
            "bytes_csr", "bytes_dense", "seconds"} <= set(frame.columns)


def test_stop_keeps_the_rows_done(at, monkeypatch):
    import lab_ui.training

    def stop_after_one_more_row():  # as if Stop were pressed once the first new row is done
        import streamlit as st
        return sum(r["scope"] == "both" for run in st.session_state["session"].compare["runs"].values()
                   for r in run["rows"]) >= 5

    monkeypatch.setattr(lab_ui.training, "_should_stop", stop_after_one_more_row)
    at.multiselect(key="cmp_sparsities").set_value([0.5, 0.8, 0.9]).run()
    ok(at.button(key="cmp_run").click().run())
    assert len(rows(at)) == 5
    monkeypatch.setattr(lab_ui.training, "_should_stop", lambda: False)
    ok(at.button(key="cmp_run").click().run())
    assert len(rows(at)) == 6


def test_an_engine_refusal_is_a_short_error(at, monkeypatch):
    def refuse(self, method, target, seed):
        raise ConfigError("no room at this sparsity.")

    monkeypatch.setattr(engine().Comparison, "row", refuse)
    at.multiselect(key="cmp_sparsities").set_value([0.5, 0.95]).run()
    ok(at.button(key="cmp_run").click().run())
    assert any("no room at this sparsity" in e for e in texts(at.error))
    assert len(rows(at)) == 6  # what was done is kept


def test_a_config_refusal_is_shown_before_running(at, monkeypatch):
    import lab_ui.compare_view as cv

    def bad():
        raise ConfigError("unknown method (none given).")

    monkeypatch.setattr(cv, "configs", bad)
    ok(at.run())
    assert any("cannot run" in e and "unknown method" in e for e in texts(at.error))
    assert at.button(key="cmp_run").disabled


def test_the_page_loads_in_the_frame_of_app_py():
    from apptest_helpers import sidebar_text

    at = page(new_app(), "compare")
    ok(at.run())  # a second run, as in test_app_pages
    assert at.title[0].value == "Compare" and "Current data" in sidebar_text(at)
    assert at.button(key="stop") and at.button(key="cmp_clear").disabled  # nothing to clear yet


def test_a_process_pool_gives_the_rows_of_this_process_and_keeps_them_on_the_page():
    def run_on(executor: str) -> list[dict]:
        app = page(new_app(), "data")
        app.selectbox(key="sample_pick").set_value("airline")
        app.button(key="load_sample").click().run()
        train_small(app, hidden=8, epochs=1)
        page(app, "compare")
        app.multiselect(key="cmp_methods").set_value(["magnitude", "agp", "gru1"])
        app.multiselect(key="cmp_sparsities").set_value([0.5, 0.8])
        app.number_input(key="cmp_epochs").set_value(1)
        app.selectbox(key="cmp_executor").set_value(executor).run()
        ok(app.button(key="cmp_run").click().run())
        assert len(app.dataframe[0].value) == 6 and at_least_one_chart(app)
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows(app)]

    assert sorted(run_on("process"), key=str) == sorted(run_on("local"), key=str)


def at_least_one_chart(app) -> bool:
    return "cmp_sparsity" in charts(app)


def test_a_target_the_rule_cannot_reach_is_named_with_the_reason_and_not_retried():
    app = page(new_app(), "data")
    app.selectbox(key="sample_pick").set_value("airline")
    app.button(key="load_sample").click().run()
    train_small(app, hidden=8, epochs=1)
    app.session_state["p_floor"] = 0.1  # W_ih has 24 weights: the floor keeps 3, so SCGRU reaches 87.5% at most
    page(app, "compare")
    app.multiselect(key="cmp_methods").set_value(["sensitivity", "magnitude"])
    app.multiselect(key="cmp_sparsities").set_value([0.5, 0.95])
    app.multiselect(key="cmp_scopes").set_value(["ih"])
    app.number_input(key="cmp_epochs").set_value(1).run()
    ok(app.button(key="cmp_run").click().run())
    assert len(app.dataframe[0].value) == 3
    (note,) = [i for i in texts(app.info) if i.startswith("No row for")]
    assert "SCGRU sensitivity at 95%, scope ih, seed 0" in note and "cannot be reached with the floor k" in note
    assert app.button(key="cmp_run").disabled  # nothing left to run: the unreachable point is not retried


def test_a_comparison_waits_its_turn_in_the_servers_training_line():
    """Comparing trains models: it queues behind another session's training instead of splitting the cores."""
    import threading

    import scgru_core as sc
    from lab_ui import server

    at = airline_compare(["magnitude"])
    queue, saw_a_waiter = server.trainers(), threading.Event()

    def another_sessions_training(ticket):  # holds the slot until someone is in line behind it
        while queue.counts()[1] == 0 and not ticket.stop.is_set():
            ticket.stop.wait(0.05)
        saw_a_waiter.set()

    blocker = queue.submit(sc.Ticket(key="another session", label="Training", epochs=1, estimate_s=5.0),
                           another_sessions_training)
    guard = threading.Timer(60, blocker.stop.set)  # never hangs the suite if nothing queues
    guard.start()
    for _ in range(queue.slots - 1):  # every other slot busy too (more than two cores)
        queue.submit(sc.Ticket(key=object(), label="Training", epochs=1, estimate_s=5.0),
                     lambda t: blocker.finished.wait(60))
    ok(at.button(key="cmp_run").click().run(timeout=120))
    guard.cancel()
    assert saw_a_waiter.is_set() and blocker.finished.is_set()  # the comparison queued, then ran
    assert rows(at)


@pytest.fixture
def ray_unchecked():
    """Ray as a fresh server finds it: installed (CI installs the extra), not yet checked."""
    import importlib.util

    import lab_ui.compare_view as cv
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("CI"):
            raise AssertionError("Ray is not installed, and CI must run the Ray tests")
        pytest.skip("Ray is not installed (pip install -r requirements-ray.txt)")
    cv.RayCheck.state, cv.RayCheck.reason = "unchecked", ""
    yield cv
    cv.RayCheck.state, cv.RayCheck.reason = "unchecked", ""


def offered(app) -> list[str]:
    return app.selectbox(key="cmp_executor").options


def test_ray_is_offered_only_once_it_started_here_and_a_failed_check_says_why(ray_unchecked, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    app = ok(airline_compare(["magnitude"]))
    assert SETTINGS["cmp_executor"].label_of("ray") not in offered(app)
    assert any("offered once it has started" in c for c in texts(app.caption))
    ok(app.button(key="cmp_ray_check").click().run())
    assert SETTINGS["cmp_executor"].label_of("ray") not in offered(app)
    assert any("Ray is not offered on this server" in w and "127.0.0.1:1 cannot be reached" in w
               for w in texts(app.warning))
    assert app.button(key="cmp_ray_check").label == "Check Ray again"


def test_a_ray_run_that_cannot_start_keeps_the_server_the_rows_and_the_choice(ray_unchecked, monkeypatch):
    app = airline_compare(["magnitude"])
    ok(app.button(key="cmp_run").click().run())
    done = rows(app)
    ok(app.button(key="cmp_ray_check").click().run())  # a local Ray starts in a child process and stops again
    assert SETTINGS["cmp_executor"].label_of("ray") in offered(app) and not app.warning
    app.selectbox(key="cmp_executor").set_value("ray")
    app.multiselect(key="cmp_sparsities").set_value([0.5, 0.8]).run()
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # the cluster is gone by the time Run is pressed
    ok(app.button(key="cmp_run").click().run())
    assert any("The comparison stopped" in e and "cannot be reached" in e and "kept" in e for e in texts(app.error))
    assert rows(app) == done and app.selectbox(key="cmp_executor").value == "ray"


def test_compare_runs_the_model_in_place_with_every_setting_of_the_table():
    """Compare builds its runs from the settings table like every page: the model in place (its size, cell and
    training seed), the Prune page's floor and global ranking; it used to read only the Train page's size, batch and
    learning rate, and dropped the rest."""
    app = page(new_app(), "data")
    app.selectbox(key="sample_pick").set_value("airline")
    app.button(key="load_sample").click().run()
    app.session_state["t_seed"] = 3
    train_small(app, hidden=8, epochs=1)
    page(app, "prune")
    app.selectbox(key="p_method").set_value("magnitude").run()
    app.checkbox(key="p_global").check().run()
    page(app, "compare")
    app.multiselect(key="cmp_methods").set_value(["magnitude"])
    app.multiselect(key="cmp_sparsities").set_value([0.5])
    app.number_input(key="cmp_epochs").set_value(1)
    app.number_input(key="cmp_ft").set_value(0).run()
    assert "hidden 8" in " ".join(c.value for c in app.caption) and "seed 3" in " ".join(c.value for c in app.caption)
    ok(app.button(key="cmp_run").click().run())
    (row,) = rows(app)
    assert (row["seed"], row["global"], row["epochs"]) == (3, True, 1)
    assert row["params_total"] == sum(p.numel() for p in sc.build_model(sc.ModelConfig(hidden=8), 1).parameters())
