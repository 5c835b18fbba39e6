"""Lab state in the URL: round trips, defaults per sample, and a hand-edited link never breaks anything."""
from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scgru_core as sc
from scgru_core.teach import lesson
from scgru_core.pruning.rules import RULES
from scgru_core.pruning.scopes import Scope
from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES
from scgru_core.teach.links import parse_query, sample_length
from scgru_core.teach.settings import DEFAULTS, SETTINGS, URL_KEYS, LabState


def from_query(query) -> LabState:
    """The state a link opens (what it ignored is the other half of parse_query's answer)."""
    return parse_query(query)[0]
from scgru_core.data.windows import minimum_length


class FakeQueryParams(dict):
    """Shaped like st.query_params: str values, get_all for repeated keys."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = list(pairs)
        for k, v in self.pairs:
            self[k] = v

    def get_all(self, key):
        return [v for k, v in self.pairs if k == key]


def test_defaults_match_the_default_sample_and_engine_defaults():
    assert DEFAULTS == LabState.for_sample(DEFAULT_SAMPLE)
    assert DEFAULTS.window == SAMPLES[DEFAULT_SAMPLE].window
    assert (DEFAULTS.hidden, DEFAULTS.layers, DEFAULTS.cell) == (64, 1, "gru")
    assert DEFAULTS.prune_config().method == "sensitivity"
    assert DEFAULTS.step == 1
    assert SETTINGS["step"].bounds == (1, len(lesson.STEPS))


@pytest.mark.parametrize("key", list(SAMPLES))
def test_every_sample_round_trips_with_its_own_window(key):
    state = LabState.for_sample(key)
    assert state.window == SAMPLES[key].window
    query = state.to_query()
    assert set(query) == set(URL_KEYS) and all(isinstance(v, str) for v in query.values())
    back, ignored = parse_query(query)
    assert back == state and ignored == []


def test_changed_values_round_trip_exactly():
    state = LabState.for_sample("sunspots", hidden=32, layers=2, cell="gru2", epochs=7, seed=3, method="magnitude",
                                sensitivity=1.2345678901, sparsity=0.73, scope="hh:reset,ih:new", floor=0.05,
                                global_=True, finetune_epochs=9, step=6, window=24, horizon=3, batch=64, lr=0.03,
                                patience=0, prune_seed=17, val=0.2, test=0.1)
    back, ignored = parse_query(state.to_query())
    assert ignored == []
    assert back == state
    assert back.sensitivity == 1.2345678901  # floats keep every digit


def test_changed_only_query_is_short_and_still_restores_the_state():
    state = DEFAULTS.updated(sensitivity=2.5, step=4)
    short = state.to_query(changed_only=True)
    assert short == {"sample": DEFAULT_SAMPLE, "s": "2.5", "step": "4"}
    assert from_query(short) == state


def test_bad_values_fall_back_to_defaults_and_are_reported():
    query = {"sample": "nope", "hidden": "48", "layers": "9", "cell": "transformer", "epochs": "-3", "s": "nan",
             "sparsity": "1.5", "scope": "hh:forgot", "k": "0", "global": "maybe", "ft": "0", "step": "99",
             "method": "<script>", "window": "1e400", "seed": "3.5", "batch": "33", "lr": "0.002", "patience": "x",
             "pseed": "-1", "val": "0.6", "test": "", "log": "2", "unknown": "x"}
    state, ignored = parse_query(query)
    assert state == DEFAULTS
    assert len(ignored) == len(query) - 1  # everything but the unknown key is reported
    assert any("hidden='48'" in m for m in ignored)


def test_cross_field_fixes():
    # sensitivity has no global form; gru3's hidden-to-hidden matrix has no reset block; window too long for airline
    state, ignored = parse_query({"method": "sensitivity", "global": "1"})
    assert not state.global_ and ignored
    state, ignored = parse_query({"cell": "gru3", "scope": "hh:reset"})
    assert state.scope == "both" and ignored
    state, ignored = parse_query({"cell": "gru", "scope": "hh:forget"})  # an LSTM's gate on a GRU: said, not kept
    assert state.scope == "both" and any("forget" in m and "its gates: reset, update, new" in m for m in ignored)
    state, ignored = parse_query({"cell": "lstm", "scope": "hh:forget"})
    assert state.scope == "hh:forget" and not ignored
    state, ignored = parse_query({"sample": "airline", "window": "96"})
    assert state.window == SAMPLES["airline"].window and ignored
    assert minimum_length(state.window_config()) <= sample_length("airline")
    state, ignored = parse_query({"sample": "sunspots", "log": "1"})  # sunspots has zeros
    assert not state.log and ignored
    assert parse_query({"sample": "airline", "log": "1"})[0].log


def test_query_params_shapes_are_all_understood():
    qp = FakeQueryParams([("sample", "airline"), ("hidden", "16"), ("hidden", "32")])
    assert from_query(qp).hidden == 32  # the last of repeated keys, like a browser
    assert from_query({"hidden": ["8", "16"]}).hidden == 16
    assert from_query({"sample": " Airline ", "method": "MAGNITUDE"}).method == "magnitude"
    assert from_query({}) == DEFAULTS


def test_scope_text_is_normalised():
    state = from_query({"scope": "hh:update, hh:reset"})
    assert state.scope == Scope.parse("hh:reset,hh:update").to_text()
    assert Scope.parse(state.scope) == state.prune_config().scope


def test_configs_follow_the_state():
    s = LabState.for_sample("airline", hidden=16, epochs=3, seed=5, finetune_epochs=2, method="random",
                            sparsity=0.4, global_=True, prune_seed=7, batch=64, lr=0.01, patience=2, log=True,
                            val=0.2, test=0.1)
    assert s.model_config().hidden == 16
    assert s.train_config() == sc.TrainConfig(epochs=3, batch_size=64, lr=0.01, patience=2, seed=5)
    assert s.finetune_config() == sc.TrainConfig(epochs=2, batch_size=64, lr=0.01, patience=2, seed=5)
    assert s.window_config() == sc.WindowConfig(window=12, val_fraction=0.2, test_fraction=0.1, log=True)
    p = s.prune_config()
    assert (p.method, p.sparsity, p.global_, p.seed) == ("random", 0.4, True, 7)
    assert s.control == "sparsity" and DEFAULTS.control == "sensitivity"


def test_updated_ignores_bad_changes():
    s = DEFAULTS.updated(hidden=-5, sensitivity=1.5, sparsity=0.123)
    assert s.sparsity == 0.12  # whole percent, as the app's slider shows it
    assert s.hidden == DEFAULTS.hidden and s.sensitivity == 1.5


def test_training_key_changes_only_with_what_training_depends_on():
    assert DEFAULTS.training_key() == DEFAULTS.updated(sensitivity=3.0, method="magnitude", step=5).training_key()
    for change in ({"hidden": 32}, {"epochs": 3}, {"seed": 1}, {"sample": "airline", "window": 12}, {"lr": 0.01},
                   {"batch": 128}, {"patience": 0}, {"log": True}, {"val": 0.2}):
        assert DEFAULTS.updated(**change).training_key() != DEFAULTS.training_key()


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(URL_KEYS + ("x",)),
                       st.one_of(text, st.integers(-10**6, 10**6).map(str),
                                 st.floats(allow_nan=True, allow_infinity=True).map(repr),
                                 st.sampled_from(list(RULES) + list(SAMPLES) + ["hh", "ih:new", "1", "0", "both"]))))
def test_any_hand_edited_query_gives_a_usable_state(query):
    state, ignored = parse_query(query)  # never raises
    assert isinstance(state, LabState)
    assert all(isinstance(m, str) for m in ignored)
    # every config the app builds from it is valid
    state.window_config(), state.model_config(), state.train_config(), state.finetune_config()
    state.prune_config()
    assert minimum_length(state.window_config()) <= sample_length(state.sample)
    assert 1 <= state.step <= len(lesson.STEPS)
    assert from_query(state.to_query()) == state  # and it is a fixed point


def test_every_field_a_link_carries_has_its_own_query_key():
    linked = [f.name for f in fields(LabState) if SETTINGS[f.name].url]
    assert len(URL_KEYS) == len(linked) == len(set(URL_KEYS))
    assert set(SETTINGS) - set(linked) == {"to_latency", "to_latency_batch", "cmp_executor"}
