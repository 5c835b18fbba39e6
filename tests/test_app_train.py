"""Train page (AppTest): settings, a training run and its results, divergence, stopping."""
from __future__ import annotations

import sys

import pytest

import scgru_core as sc
from apptest_helpers import charts, new_app, page, restore_torch_threads, texts, train_small

__all__ = ["restore_torch_threads"]


@pytest.fixture(scope="module")
def trained():
    """One session with a tiny model trained on the power-load sample (shared: tests only read it)."""
    return train_small(new_app(), hidden=8, epochs=2)


def test_defaults_are_the_one_set_of_the_shipped_model():
    at = page(new_app(), "train")
    mc, tc = sc.ModelConfig(), sc.TrainConfig()  # the engine's defaults: the checkpoints', the CLI's, Reset's
    assert at.select_slider(key="m_hidden").value == mc.hidden == 64
    assert at.selectbox(key="m_layers").value == mc.layers and at.selectbox(key="m_cell").value == mc.cell
    assert at.number_input(key="t_epochs").value == tc.epochs and at.select_slider(key="t_lr").value == tc.lr
    assert at.selectbox(key="t_batch").value == tc.batch_size
    info = at.session_state["session"].model_info
    assert info.model_config == mc and info.train_config == tc and info.made == "shipped"
    assert any("12,929 parameters" in c.value for c in at.caption)  # GRU 64 on one input, one-step head


def test_model_settings_change_the_parameter_count():
    at = page(new_app(), "train")
    def shown(config):
        n = sc.model_cost(sc.build_model(config)).params_total
        return any(f"{n:,} parameters" in c.value for c in at.caption)

    at.selectbox(key="m_cell").set_value("gru3").run()
    assert shown(sc.ModelConfig(64, 1, "gru3")) and not shown(sc.ModelConfig(64, 1, "gru"))
    at.select_slider(key="m_hidden").set_value(16)
    at.selectbox(key="m_layers").set_value(2).run()
    assert shown(sc.ModelConfig(16, 2, "gru3"))


def test_training_shows_metrics_against_naive_and_the_test_forecast(trained):
    at = trained
    assert any(s.startswith("Trained 2 epochs") for s in texts(at.success))
    metrics = {m.label: m for m in at.metric}
    assert set(metrics) >= {"RMSE", "MAE", "sMAPE (%)", "MASE"}
    assert all("vs naive" in m.delta for m in metrics.values())
    shown = charts(at)
    assert {"loss_final", "forecast_test"} <= set(shown)
    names = [t["name"] for t in shown["forecast_test"][0]["data"] if t.get("yaxis", "y") == "y"]
    assert names == ["GRU forecast", "naive forecast", "actual"]  # the actual values drawn last, on top
    losses = shown["loss_final"][0]["data"]
    assert [t["name"] for t in losses] == ["train", "validation"]
    lab = at.session_state["session"].lab
    assert lab.model.config == sc.ModelConfig(hidden=8)
    assert metrics["RMSE"].value == f"{lab.dense.metrics.rmse:,.4g} MW"  # in the series' units


def test_a_diverging_run_says_so_and_keeps_the_previous_model(monkeypatch):
    at = train_small(new_app(), hidden=8, epochs=1)
    before = at.session_state["session"].lab

    def diverge(*args, **kwargs):
        raise sc.TrainingDivergedError("Training diverged at epoch 1, batch 3: the loss became nan. "
                                       "The model keeps its last good weights. Lower the learning rate.", 1)

    monkeypatch.setattr(sys.modules["scgru_core.study.experiment"], "fit", diverge)  # what train_dense calls
    at.number_input(key="t_seed").set_value(1)  # another model: the same settings would come from the cache
    at.button(key="train").click().run()
    assert not at.exception
    errors = texts(at.error)
    assert len(errors) == 1 and "diverged" in errors[0] and "previous model" in errors[0]
    assert at.session_state["session"].lab is before


def test_a_training_outlives_the_run_that_started_it_and_stop_keeps_its_best_epoch():
    """Streamlit stops a script run on any click (and on a reload); the training goes on in the server's line, the
    next run shows it, and a Stop click ends it within a batch with the model of its best epoch installed."""
    import time

    from lab_ui import training

    at = page(new_app(), "train")
    now = at.session_state["session"]
    mc, tc = sc.ModelConfig(hidden=8), sc.TrainConfig(epochs=300, patience=0)
    ticket = sc.TrainingQueue(slots=1).submit(
        sc.Ticket(key="a long training", label="Training", epochs=tc.epochs, estimate_s=60.0),
        lambda t: training._train_job(t, sc.serve.model_cache.ModelCache(), now.data, mc, tc))
    now.training = {"ticket": ticket, "page": "train", "model_config": mc, "train_config": tc, "data": now.data,
                    "after": None, "made": "trained"}
    while len(ticket.losses) < 2:  # as if the run that started it was interrupted after two epochs
        time.sleep(0.05)
    at.run()
    assert not ticket.finished.is_set() and at.button(key="watch_stop")  # still training, shown with its Stop
    assert any("under way on this server" in m.value for m in at.markdown)
    at.button(key="stop").click().run()  # the Train page's Stop
    assert ticket.finished.is_set() and now.training is None
    warnings = texts(at.warning)
    result = ticket.outcome[1]
    assert result.cancelled and 2 <= len(result.history) < 300
    assert any(f"stopped after {len(result.history)} of 300 epochs" in w and f"epoch {result.best_epoch}" in w
               for w in warnings)
    info = at.session_state["session"].model_info
    assert info.model_config == mc and info.training.cancelled and info.made == "trained"
    assert at.session_state["session"].lab.data is now.data


def test_a_model_worse_than_naive_is_said_to_be_and_the_previous_one_can_come_back():
    at = page(new_app(), "lesson")  # the shipped model: test RMSE 344 MW against 889 for the naive forecast
    good = at.session_state["session"].lab
    page(at, "train")
    at.select_slider(key="m_hidden").set_value(8)
    at.number_input(key="t_epochs").set_value(1)
    at.select_slider(key="t_lr").set_value(1.0).run()  # the widget's largest rate
    at.button(key="train").click().run()
    bad = at.session_state["session"].lab
    assert bad is not good and bad.dense.metrics.rmse > bad.naive.metrics.rmse
    warning = next(w.value for w in at.warning if "worse than the naive forecast" in w.value)
    assert "learning rate (now 1)" in warning and f"RMSE {good.dense.metrics.rmse:,.4g}) is kept aside" in warning
    at.button(key="keep_previous").click().run()
    back = at.session_state["session"].lab
    assert back.model is good.model and back.dense.metrics.rmse == good.dense.metrics.rmse
    assert not [w for w in at.warning if "worse than the naive forecast" in w.value]
    assert at.session_state["session"].model_info.model_config.hidden == 64


def test_a_followers_stop_leaves_the_training_to_the_one_who_still_waits_and_the_last_stop_ends_it():
    """Session C asked for the model session A is training (so it follows A's training) and pressed Stop: C stops
    waiting and is told the training goes on for the other session; A's training runs on. A's own Stop, the last,
    stops it, and A is told how many epochs it kept."""
    import time

    from lab_ui import training

    a, c = page(new_app(), "train"), page(new_app(), "train")
    one, other = a.session_state["session"], c.session_state["session"]
    mc, tc = sc.ModelConfig(hidden=8), sc.TrainConfig(epochs=300, patience=0)
    ticket = sc.TrainingQueue(slots=1).submit(
        sc.Ticket(key="a shared training", label="Training", epochs=tc.epochs, estimate_s=60.0),
        lambda t: training._train_job(t, sc.serve.model_cache.ModelCache(), one.data, mc, tc))
    for now, made in ((one, "trained"), (other, "followed")):
        ticket.want(now.token)
        now.training = {"ticket": ticket, "page": "train", "model_config": mc, "train_config": tc, "data": now.data,
                        "after": None, "made": made}
    while len(ticket.losses) < 1:
        time.sleep(0.05)
    c.run()
    c.button(key="stop").click().run()  # the follower's Stop
    assert other.training is None and not ticket.stop.is_set()
    assert any("goes on for the 1 other session that asked for the same model" in i for i in texts(c.info))
    epochs = len(ticket.losses)
    while len(ticket.losses) < epochs + 1:  # still training, for A
        time.sleep(0.05)
    assert not ticket.finished.is_set() and one.training is not None
    a.run()
    a.button(key="stop").click().run()  # the last one waiting stops it
    assert ticket.finished.is_set() and one.training is None
    result = ticket.outcome[1]
    assert result.cancelled and any(f"stopped after {len(result.history)} of 300 epochs" in w for w in texts(a.warning))
    assert other.lab is None or other.model_info.made != "followed"  # C left it: nothing was installed there
