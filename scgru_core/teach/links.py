"""The lab's settings as one typed state that round-trips through a URL's query string.

A teacher's link (``?sample=airline&hidden=32&method=magnitude&sparsity=0.8&step=5``) must
open the app in the same state for every student, and a hand-edited link must never crash
it: `parse_query` checks every value and falls back to the default for anything it cannot
use, reporting what it ignored so the UI can say so. Allowed values are those the app's
widgets offer (the settings table, scgru_core/teach/settings.py), so a restored state can always be shown.

    state = LabState.for_sample("airline")
    link = state.to_query(changed_only=True)     # {"sample": "airline"}
    same, ignored = parse_query(link)            # same == state, ignored == []
    state.train_config(), state.prune_config()   # the engine's configs for this state
"""
from __future__ import annotations

import functools
import math
import types
from dataclasses import replace
from typing import Any, Mapping

from scgru_core.data.reading import load_series
from scgru_core.errors import ScgruError
from scgru_core.pruning.rules import RULES
from scgru_core.pruning.scopes import Scope
from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES
from scgru_core.teach.setting import as_text
from scgru_core.teach.settings import SETTINGS, LabState
from scgru_core.data.windows import minimum_length

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


ECHO_CHARS = 40  # the most of a link's value a message quotes back


def echo(text: str) -> str:
    """A link's value as a message quotes it: repr'd (so it reads as data) and cut to ECHO_CHARS."""
    return repr(text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…")


def query_value(query: Mapping, key: str) -> str | None:
    """One value from a query mapping: plain dicts, dicts of lists, or st.query_params."""
    try:
        if hasattr(query, "get_all"):  # st.query_params: the last of repeated keys
            values = query.get_all(key)
            return values[-1] if values else None
        value = query.get(key)
    except Exception:  # noqa: BLE001 - a query mapping must never break the app
        return None
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    return None if value is None else str(value)


def _parse(setting, text: str):
    """A link's text as `setting` holds it, or ValueError when its widget could not show it."""
    t = text.strip()
    if setting.type is tuple:
        return setting.check(t.lower() if setting.item is str else t)
    if setting.kind == "scope":
        return Scope.parse(t).to_text()
    if setting.type is bool:
        if t.lower() in TRUE:
            return True
        if t.lower() in FALSE:
            return False
        raise ValueError
    if setting.type is str:
        return setting.check(t.lower())
    value = float(t)
    if not math.isfinite(value):
        raise ValueError
    return setting.check(value)


@functools.lru_cache(maxsize=None)
def sample_length(key: str) -> int:
    """Number of values in a shipped sample (data rows of its CSV)."""
    with open(SAMPLES[key].path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip()) - 1


@functools.lru_cache(maxsize=None)
def sample_is_positive(key: str) -> bool:
    """Whether a sample can be log-transformed (every value above zero)."""
    return bool((load_series(SAMPLES[key].path).values > 0).all())


def _offers(setting) -> str:
    """What the app's widget for `setting` offers, for the note on an ignored link value."""
    if setting.choices is not None:
        shown = [as_text(c) for c in setting.choices]
        return "one of " + ", ".join(shown if len(shown) <= 12 else shown[:12] + ["…"])
    if setting.bounds is not None:
        lo, hi = (as_text(round(b * setting.scale, 6) if setting.scale != 1 else b) for b in setting.bounds)
        return f"from {lo} to {hi}{' %' if setting.scale == 100 else ''}"
    return "not a value the app offers"


def _scope_selects(state: LabState) -> bool:
    stub = types.SimpleNamespace(config=state.model_config(), horizon=state.horizon)
    scope = Scope.parse(state.scope)
    names = [f"rnn.weight_{kind}_l{k}" for k in range(state.layers) for kind in ("ih", "hh")]
    return any(scope.rows(stub, n) is not None and len(scope.rows(stub, n)) for n in names)


def parse_query(query: Mapping) -> tuple[LabState, list[str]]:
    """The state a query describes, and a message for each value that was ignored. Never raises."""
    ignored: list[str] = []
    sample = query_value(query, "sample")
    if sample is not None and sample.strip().lower() not in SAMPLES:
        ignored.append(f"sample={echo(sample)} (not a shipped sample; using {DEFAULT_SAMPLE})")
        sample = None
    base = LabState.for_sample(sample.strip().lower() if sample else DEFAULT_SAMPLE)
    values: dict[str, Any] = {}
    for name, setting in SETTINGS.items():
        text = query_value(query, setting.url) if setting.url else None
        if text is None or name == "sample":
            continue
        try:
            values[name] = _parse(setting, text)
        except (ValueError, TypeError, OverflowError, ScgruError):
            ignored.append(f"{setting.url}={echo(text)} ({_offers(setting)}; using {as_text(getattr(base, name))})")
    state = replace(base, **values)
    # settings that are valid alone but not together
    if state.global_ and not RULES[state.method].supports_global:
        ignored.append(f"global=1 (the {state.method} rule is per matrix)")
        state = replace(state, global_=False)
    try:
        if not _scope_selects(state):
            ignored.append(f"scope={echo(state.scope)} (selects no weights of a {state.cell} model; using both)")
            state = replace(state, scope="both")
    except ScgruError as exc:  # gates the cell does not have: said, as any other value a link cannot use
        ignored.append(f"scope={echo(state.scope)} ({exc} Using both.)")
        state = replace(state, scope="both")
    if state.log and not sample_is_positive(state.sample):
        ignored.append(f"log=1 ({state.sample} has values at or below zero)")
        state = replace(state, log=False)
    try:
        fits = minimum_length(state.window_config()) <= sample_length(state.sample)
    except (ScgruError, OSError):
        fits = False
    if not fits:
        ignored.append(f"window={state.window}, horizon={state.horizon}, val={state.val}, test={state.test} "
                       f"(too long for {state.sample}; using its defaults)")
        state = replace(state, window=base.window, horizon=base.horizon, val=base.val, test=base.test)
    return state, ignored
