"""The settings table: each setting's widget bounds, its URL parser and the engine's validation agree, and there is
one set of defaults (the engine's configs, the CLI, the shipped checkpoints, the app)."""
from __future__ import annotations

import argparse
import math

import pytest

import scgru_core as sc
from scgru_core.store import checkpoints
from scgru_core.cli.common import add_common
from scgru_core.teach.settings import DEFAULTS, SETTINGS, LabState, check_state
from scgru_core.teach.links import parse_query

NAMES = [n for n in SETTINGS if n != "sample" and SETTINGS[n].url]  # what a link may carry
NOT_IN_LINKS = {"to_latency", "to_latency_batch", "cmp_executor"}  # a link must not start timing, nor pick a server's


def _extremes(s):
    """Every value the setting's widget offers at its ends (all choices, both bounds)."""
    if s.type is tuple:
        return [tuple(s.choices), tuple(s.choices[:1])] if s.choices else [s.default]
    if s.choices is not None:
        return list(s.choices)
    if s.type is bool:
        return [False, True]
    if s.bounds is not None:
        return list(s.bounds)
    return [s.default]


def _text(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(_text, value))
    return ("1" if value else "0") if isinstance(value, bool) else repr(value) if isinstance(value, float) else str(value)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_default_is_a_value_the_widget_offers(name):
    s = SETTINGS[name]
    assert s.label and (s.url is None) == (name in NOT_IN_LINKS)
    if s.kind != "scope":
        assert s.check(s.default) == s.default
    assert getattr(DEFAULTS, name) == s.default


@pytest.mark.parametrize("name", NAMES)
def test_every_value_a_widget_offers_travels_in_a_link_and_the_engine_accepts_it(name):
    s = SETTINGS[name]
    for value in _extremes(s):
        state, ignored = parse_query({s.url: _text(value)})
        if name == "global_" and value:  # valid alone, not with the default (per-matrix) rule
            assert ignored and not state.global_
            state = LabState(method="magnitude", global_=True)
        elif ignored and "too long for" in ignored[0]:  # a window the widget offers, longer than this sample
            state = DEFAULTS.updated(**{name: value})
            assert getattr(state, name) == value
        else:
            assert ignored == [] and getattr(state, name) == value, (name, value, ignored)
        check_state(state)
        state.window_config(), state.model_config(), state.train_config(), state.prune_config()  # no ConfigError


@pytest.mark.parametrize("name", [n for n in NAMES if SETTINGS[n].bounds is not None and SETTINGS[n].type is not bool])
def test_a_link_value_beyond_a_widget_bound_is_dropped_with_a_note_saying_what_it_offers(name):
    s = SETTINGS[name]
    lo, hi = s.bounds
    step = 1 if s.type is int else 0.5 * (hi - lo) + 1
    for beyond in (lo - step, hi + step):
        state, ignored = parse_query({s.url: _text(beyond)})
        assert getattr(state, name) == getattr(DEFAULTS, name)
        assert len(ignored) == 1 and ignored[0].startswith(f"{s.url}=") and "from " in ignored[0], ignored


@pytest.mark.parametrize("name", [n for n in NAMES if SETTINGS[n].choices is not None])
def test_a_link_value_no_widget_offers_is_dropped_with_a_note(name):
    s = SETTINGS[name]
    odd = "nope" if s.type is str else _text(max(s.choices) * 10)
    state, ignored = parse_query({s.url: odd})
    assert getattr(state, name) == getattr(DEFAULTS, name) and "one of" in ignored[0]


def test_the_learning_rate_a_link_may_carry_is_what_the_slider_offers():
    assert parse_query({"lr": "1.0"}) == (DEFAULTS.updated(lr=1.0), [])
    for too_big in ("3", "10"):  # once accepted by links while the slider stopped at 1.0
        state, ignored = parse_query({"lr": too_big})
        assert state.lr == DEFAULTS.lr and ignored


def test_one_set_of_defaults_engine_checkpoint_cli_and_app():
    mc, tc, wc, pc = sc.ModelConfig(), sc.TrainConfig(), sc.WindowConfig(), sc.PruneConfig()
    assert (DEFAULTS.model_config(), DEFAULTS.train_config(), DEFAULTS.window_config()) == (mc, tc, wc)
    assert DEFAULTS.prune_config() == pc
    for key in sc.data.samples.SAMPLES:
        setup = checkpoints.default_setup(key)
        state = LabState.for_sample(key)
        assert setup == checkpoints.Setup(state.window_config(), state.model_config(), state.train_config())
    p = argparse.ArgumentParser()
    add_common(p)
    args = p.parse_args(["--data", "x.csv"])
    assert (args.epochs, args.batch_size, args.lr, args.patience, args.seed) == \
        (tc.epochs, tc.batch_size, tc.lr, tc.patience, tc.seed)
    assert (args.hidden, args.layers, args.cell, args.window, args.floor) == (mc.hidden, mc.layers, mc.cell, wc.window,
                                                                            pc.floor)
    assert args.finetune_epochs == DEFAULTS.finetune_epochs


def test_engine_configs_and_states_convert_both_ways():
    state = DEFAULTS.updated(window=24, hidden=32, epochs=7, lr=0.01, method="magnitude", sparsity=0.7, floor=0.05,
                             scope="hh:update,hh:reset", prune_seed=4, val=0.2)
    back = LabState.from_configs(windows=state.window_config(), model=state.model_config(),
                                 train=state.train_config(), prune=state.prune_config())
    assert back == LabState(finetune_epochs=state.finetune_epochs, step=state.step, sample=state.sample,
                            **{n: getattr(state, n) for n in SETTINGS if SETTINGS[n].config})
    assert back.scope == "hh:reset,hh:update"  # one spelling per scope


def test_shares_are_whole_percent_as_the_sliders_show_them():
    s = SETTINGS["val"]
    assert s.to_widget(0.15) == 15 and s.from_widget(15) == 0.15
    assert math.isclose(parse_query({"val": "0.204"})[0].val, 0.2)
    assert DEFAULTS.updated(sparsity=0.123).sparsity == 0.12
