"""Play moves the pruning control by itself, frame by frame, up to its largest value and back; Pause, or a move by
hand, holds it where it is. Stop is offered only while there is something to stop."""
from __future__ import annotations

import pytest

from lab_ui import play
from scgru_core.teach.settings import SETTINGS

from apptest_helpers import new_app, page, restore_torch_threads  # noqa: F401

S = SETTINGS["sensitivity"].widget
TARGET = SETTINGS["sparsity"].widget


def test_frames_go_up_to_the_top_and_back_down():
    value, direction, seen = 0.0, 1, [0.0]
    for _ in range(12):
        value, direction = play.next_value(value, direction, 1.0, 5.0)
        seen.append(value)
    assert seen == [0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2]
    assert play.next_value(4.9, 1, 0.2, 5.0) == (5.0, 1)  # the top itself is a frame


def test_play_advances_the_threshold_and_pause_holds_it():
    at = page(new_app(), "prune")
    start = at.session_state[S]
    at.button(key="play").click().run()
    assert at.button(key="play").label == "Pause"
    frames = [at.session_state[S]]
    for _ in range(3):
        at.run()  # what Streamlit's run_every does every INTERVAL_S
        frames.append(at.session_state[S])
    assert frames == pytest.approx([start + play.FRAME["sensitivity"] * i for i in range(1, 5)])
    sparsities = at.session_state["session"].prune_setting.sparsity
    assert sparsities > 0.5  # the panel pruned at the frame's s, the target slider following
    assert at.session_state[TARGET] == round(100 * sparsities)
    at.button(key="play").click().run()
    held = at.session_state[S]
    assert at.button(key="play").label == "Play" and held == frames[-1]
    at.run()
    at.run()
    assert at.session_state[S] == held


def test_while_it_plays_the_control_is_shown_not_offered_and_pause_gives_it_back_at_the_frame():
    at = page(new_app(), "prune")
    at.button(key="play").click().run()
    at.run()
    assert not [s for s in at.slider if s.key == S]  # no widget for the browser to send back a stale value of
    assert any("Threshold s" in p.proto.text and "(playing)" in p.proto.text for p in at.get("progress"))
    at.button(key="play").click().run()
    assert at.slider(key=S).value == pytest.approx(1.0 + 2 * play.FRAME["sensitivity"])
    at.slider(key=S).set_value(2.5).run()
    assert at.session_state["session"].prune_setting.config.sensitivity == 2.5


def test_the_lessons_scgru_step_plays_too():
    at = page(new_app(), "lesson")
    at.radio(key="lesson_step").set_value(4).run()
    start = at.session_state[S]
    at.button(key="lesson_play").click().run()
    at.run()
    assert at.session_state[S] == pytest.approx(start + 2 * play.FRAME["sensitivity"])
    at.radio(key="lesson_step").set_value(2).run()  # a step without the control: nothing moves unseen
    moved_to = at.session_state[S]
    at.run()
    assert at.session_state[S] == moved_to and not at.session_state["session"].playing


@pytest.mark.parametrize("name", ["prune", "train", "tradeoffs", "deploy", "compare"])
def test_stop_is_offered_only_while_something_runs(name):
    at = page(new_app(), name)
    assert at.button(key="stop").disabled


def test_a_training_is_replayed_epoch_by_epoch_from_the_shipped_model():
    from scgru_core.store import checkpoints
    from scgru_core.net.train import replay_fits

    shipped = checkpoints.load_checkpoint("power_load")
    assert len(shipped.training.replay) == len(shipped.training.history) + 1  # the start and every epoch
    at = page(new_app(), "train")
    assert at.slider(key="replay_epoch").value == len(shipped.training.history)  # opens on the trained weights
    at.slider(key="replay_epoch").set_value(0).run()
    start = [c for c in chart_titles(at) if "at epoch" in c]
    assert start == ["layer 1 · W_hh (hidden-to-hidden) at epoch 0 of 15 · the weights it started from"]
    at.button(key="replay_play").click().run()
    at.run()
    assert at.session_state["session"].replaying.epoch == 2
    at.button(key="replay_play").click().run()
    assert at.slider(key="replay_epoch").value == 2 and at.session_state["session"].replaying is None
    assert replay_fits(shipped.model, 15) and not replay_fits(shipped.model, 10_000)


def chart_titles(at) -> list[str]:
    from apptest_helpers import chart_specs

    return [spec["layout"].get("title", {}).get("text", "") for spec in chart_specs(at)]


def test_a_training_keeps_its_replay_within_the_budget_and_ends_on_its_best_epoch():
    import numpy as np
    from _engine_support import tiny_data, tiny_model

    import scgru_core as sc

    model, data = tiny_model(hidden=8), tiny_data()
    result = sc.fit(model, data, sc.TrainConfig(epochs=3, patience=0))
    assert len(result.replay) == 4
    final = {n: p.detach().numpy() for n, p in model.named_parameters() if "weight" in n}
    best = result.replay[result.best_epoch]
    assert all(np.allclose(best[n], final[n], atol=1e-2) for n in final)  # float16 of the best epoch's weights
