"""The lesson as data: seven well-formed steps, a caption and maths for every chart, the GRU's weight
blocks counted right, and the numbers the text quotes still true of the shipped model."""
from __future__ import annotations

import re
from dataclasses import fields

import pytest

import scgru_core as sc
from scgru_core.teach import lesson, maths
from scgru_core.store.checkpoints import load_checkpoint
from scgru_core.teach.settings import SETTINGS, LabState

REQUIRED_CHARTS = ("histogram", "heatmap", "forecast", "cost", "tradeoff", "loss", "series")
STATE_FIELDS = {f.name for f in fields(LabState)}


def balanced(latex: str) -> bool:
    depth = 0
    for ch in latex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    left, right = (len(re.findall(rf"\\{w}(?![a-zA-Z])", latex)) for w in ("left", "right"))
    return depth == 0 and left == right and latex.count(r"\begin") == latex.count(r"\end")


def test_seven_steps_in_the_order_of_the_lesson():
    assert len(lesson.STEPS) == 7 and SETTINGS["step"].bounds == (1, 7)  # the step a link may name
    assert lesson.STEP_KEYS == ("task", "gru", "train", "rule", "finetune", "cost", "compare")
    assert [s.number for s in lesson.STEPS] == list(range(1, 8))
    assert lesson.step(4).key == "rule" and lesson.step("cost").number == 6
    assert lesson.step(0).number == 1 and lesson.step(99).number == 7  # clamped


@pytest.mark.parametrize("s", lesson.STEPS, ids=lambda s: s.key)
def test_every_step_is_complete(s):
    assert s.title and len(s.text) > 200 and s.question.endswith("?")
    assert 3 <= len(s.choices) <= 4 and len(set(s.choices)) == len(s.choices)
    assert 0 <= s.answer < len(s.choices) and s.is_correct(s.answer) and s.is_correct(s.choices[s.answer])
    assert not s.is_correct(None) and not s.is_correct((s.answer + 1) % len(s.choices))
    assert s.explanation and s.chart in maths.CAPTIONS and s.control in lesson.CONTROLS
    assert s.maths and all(balanced(m) for m in s.maths)
    assert set(s.overrides) <= STATE_FIELDS
    state = LabState().updated(**s.overrides)  # the set-up button gives a valid state with those values
    assert all(getattr(state, k) == v for k, v in s.overrides.items())


def test_captions_and_maths_for_every_chart_kind():
    assert set(REQUIRED_CHARTS) <= set(maths.CAPTIONS) == set(maths.MATHS)
    for kind, caption in maths.CAPTIONS.items():
        assert "\n" not in caption and 20 < len(caption) < 200, kind  # one line
        assert balanced(maths.MATHS[kind]), kind


def test_the_maths_is_pytorchs_gru_and_the_scgru_rule():
    eq = maths.GRU_EQUATIONS
    assert r"h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}" in eq
    assert r"r_t \odot \left(W_{hn} h_{t-1} + b_{hn}\right)" in eq  # reset applied after the product
    assert r"s \cdot \operatorname{std}\big(|W|\big)" in maths.SCGRU_RULE and "0.99" in maths.SCGRU_RULE
    assert "3H(I + H)" in maths.MACS and "4(R+1)" in maths.BYTES


@pytest.mark.parametrize("cell,expected", [("gru", 6), ("gru1", 4), ("gru2", 4), ("gru3", 2), ("lstm", 8), ("rnn", 2)])
def test_weight_blocks_have_the_right_shapes_and_counts(cell, expected):
    H, I = 8, 1
    model = sc.build_model(sc.ModelConfig(hidden=H, layers=2, cell=cell))
    blocks = lesson.weight_blocks(model, layer=0)
    assert len(blocks) == expected
    for b in blocks:
        assert b.shape == ((H, I) if b.kind == "ih" else (H, H)) and b.params == b.shape[0] * b.shape[1]
        assert b.values.shape == b.shape and b.symbol == lesson.symbol(b.kind, b.gate)
    assert len(lesson.weight_blocks(model)) == 2 * expected  # both layers
    if cell == "gru":
        assert [b.symbol for b in blocks] == ["W_ir", "W_iz", "W_in", "W_hr", "W_hz", "W_hn"]
        assert sum(b.params for b in blocks) == 3 * H * (I + H)
    if cell == "lstm":
        assert [b.symbol for b in blocks] == ["W_ii", "W_if", "W_ig", "W_io", "W_hi", "W_hf", "W_hg", "W_ho"]
        assert sum(b.params for b in blocks) == 4 * H * (I + H)
    if cell == "rnn":
        assert [b.symbol for b in blocks] == ["W_ih", "W_hh"]


def test_weight_blocks_count_the_masks_and_the_summary_adds_up():
    model = sc.build_model(sc.ModelConfig(hidden=8))
    result = sc.prune(model, sc.PruneConfig(sensitivity=1.5))
    blocks = lesson.weight_blocks(model, result.masks)
    assert sum(b.params - b.nonzero for b in blocks) == sum(result.pruned.values())
    summary = lesson.parameter_summary(model)
    assert summary["total"] == sum(p.numel() for p in model.parameters())
    assert summary["recurrent_weights"] == 3 * 8 * (1 + 8) and summary["head"] == 8 + 1


def test_the_numbers_the_lesson_quotes_hold_for_the_shipped_model():
    ckpt = load_checkpoint("power_load")
    lab = sc.PruningLab(ckpt.model, ckpt.data)
    assert lab.dense.metrics.rmse < lab.naive.metrics.rmse  # the trained model beats the naive forecast
    at1, at2 = lab.at(sc.PruneConfig(sensitivity=1.0)), lab.at(sc.PruneConfig(sensitivity=2.0))
    assert 0.4 < at1.result.sparsity < 0.6  # "s = 1 prunes about half"
    assert 0.72 < at2.result.sparsity < 0.88  # "s = 2 about four in five"
    assert at2.evaluation.metrics.rmse > 2 * lab.dense.metrics.rmse  # "rises a lot"
    w_hh = ckpt.model.rnn.weight_hh_l0.detach().flatten()
    z = (w_hh - w_hh.mean()) / w_hh.std()
    assert float((z ** 4).mean()) > 2.5  # peaked like a bell, not flat like the uniform start (1.8)
    # step 7: random hurts most at the same sparsity
    rand = lab.at(sc.PruneConfig(method="random", sparsity=0.7)).evaluation.metrics.rmse
    mag = lab.at(sc.PruneConfig(method="magnitude", sparsity=0.7)).evaluation.metrics.rmse
    assert rand > mag


def test_the_prose_quotes_the_model_on_screen_not_numbers_written_in():
    import re

    import scgru_core as sc

    facts = lesson.facts_of(sc.ModelConfig(hidden=32), sc.TrainConfig(batch_size=16))
    for step in lesson.STEPS:
        for text in (step.text, step.explanation):
            assert set(re.findall(r"\{(\w+)\}", text)) <= set(facts), step.key  # every placeholder is known
            assert "{" not in lesson.filled(text, facts), step.key
    train = next(s for s in lesson.STEPS if s.key == "train")
    assert "mini-batches of 16 windows" in lesson.filled(train.text, facts)
    assert "mini-batches of 64" not in train.text  # the default's batch is not written in


def test_a_chart_declared_where_it_is_drawn_has_its_caption_and_maths_everywhere():
    """A new chart is its builder and its tab: the tab's module describes it, and every reader finds it by kind."""
    maths.describe("test_only_chart", "What this chart shows.", r"y = x")
    try:
        assert (maths.CAPTIONS["test_only_chart"], maths.MATHS["test_only_chart"]) == ("What this chart shows.", "y = x")
        with pytest.raises(ValueError, match="described already"):
            maths.describe("histogram", "another caption", "")  # a kind is described once
    finally:
        maths.CAPTIONS.pop("test_only_chart")
        maths.MATHS.pop("test_only_chart")
