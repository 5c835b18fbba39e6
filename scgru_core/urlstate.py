"""The lab's settings as one typed state that round-trips through a URL's query string.

A teacher's link (``?sample=airline&hidden=32&method=magnitude&sparsity=0.8&step=5``) must
open the app in the same state for every student, and a hand-edited link must never crash
it: `parse_query` checks every value and falls back to the default for anything it cannot
use, reporting what it ignored so the UI can say so. Allowed values are those the app's
widgets offer (the CHOICES and bounds below), so a restored state can always be shown.

    state = LabState.for_sample("airline")
    link = state.to_query(changed_only=True)     # {"sample": "airline"}
    same, ignored = parse_query(link)            # same == state, ignored == []
    state.train_config(), state.prune_config()   # the engine's configs for this state
"""
from __future__ import annotations

import functools
import math
import types
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

from .data import ReadConfig, load_series
from .errors import ScgruError
from .model import CELLS, ModelConfig
from .pruning import RULES, PruneConfig, Scope
from .samples import DEFAULT_SAMPLE, SAMPLES
from .train import TrainConfig, finetune_config
from .windows import WindowConfig, minimum_length

N_LESSON_STEPS = 7

# The app's widget choices and bounds (Data, Train and Prune pages).
HIDDEN_CHOICES = (8, 16, 32, 64, 128, 256)
BATCH_CHOICES = (16, 32, 64, 128, 256)
LR_CHOICES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
LAYERS = (1, 3)
WINDOW = (1, 2000)
HORIZON = (1, 500)
SHARE = (0.05, 0.40)  # validation and test shares, in whole percent
EPOCHS = (1, 500)
PATIENCE = (0, 100)
FINETUNE = (1, 100)
SEED = (0, 2**31 - 1)
PRUNE_SEED = (0, 10_000)
SENSITIVITY = (0.0, 5.0)
SPARSITY = (0.0, 0.99)  # in whole percent
FLOOR = (0.001, 1.0)
STEP = (1, N_LESSON_STEPS)

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class LabState:
    """Everything needed to rebuild what the app shows: data, model, training, pruning, lesson step."""

    sample: str = DEFAULT_SAMPLE  # a key of scgru_core.samples.SAMPLES
    window: int = 48  # the sample's own window by default (see for_sample)
    horizon: int = 1
    log: bool = False
    val: float = 0.15  # validation share
    test: float = 0.15  # test share
    hidden: int = 64
    layers: int = 1
    cell: str = "gru"
    epochs: int = 15
    batch: int = 64
    lr: float = 3e-3
    patience: int = 5
    seed: int = 0  # training seed (initial weights and batch order)
    method: str = "sensitivity"  # a key of scgru_core.pruning.RULES
    sensitivity: float = 1.0  # s, for rules whose control is the sensitivity
    sparsity: float = 0.5  # target fraction pruned, for rules whose control is the sparsity
    scope: str = "both"  # Scope text: both, ih, hh, or e.g. "hh:reset,ih:new"
    floor: float = 0.01  # k: the SCGRU floor
    global_: bool = False  # one ranking over all in-scope matrices
    prune_seed: int = 0  # for the random rule
    finetune_epochs: int = 5
    step: int = 1  # lesson step, 1..N_LESSON_STEPS

    def __post_init__(self):
        try:  # one spelling per scope, so equal states compare equal ("hh:update,hh:reset" -> "hh:reset,hh:update")
            object.__setattr__(self, "scope", Scope.parse(self.scope).to_text())
        except ScgruError:
            pass  # left as given; parse_query never produces an invalid scope

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def for_sample(cls, sample: str = DEFAULT_SAMPLE, **changes) -> "LabState":
        """The defaults for a sample (its own window), with `changes` applied."""
        key = sample if sample in SAMPLES else DEFAULT_SAMPLE
        return replace(cls(sample=key, window=SAMPLES[key].window), **changes)

    def with_sample(self, sample: str) -> "LabState":
        """Switch data set: the window follows the new sample, everything else is kept."""
        return replace(self, sample=sample, window=SAMPLES[sample].window)

    def updated(self, **changes) -> "LabState":
        """A copy with `changes` applied, validated the same way as a URL (bad values ignored)."""
        state, _ = parse_query({**self.to_query(), **{_KEY[k]: _text(v) for k, v in changes.items()}})
        return state

    # ---- the engine's configurations ------------------------------------------------------
    @property
    def control(self) -> str:
        """'sensitivity' or 'sparsity': which value the method's slider moves."""
        return RULES[self.method].control

    @property
    def slider_value(self) -> float:
        return self.sensitivity if self.control == "sensitivity" else self.sparsity

    def read_config(self) -> ReadConfig:
        return ReadConfig()

    def window_config(self) -> WindowConfig:
        return WindowConfig(window=self.window, horizon=self.horizon, val_fraction=self.val,
                            test_fraction=self.test, log=self.log)

    def model_config(self) -> ModelConfig:
        return ModelConfig(hidden=self.hidden, layers=self.layers, cell=self.cell)

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch, lr=self.lr, patience=self.patience,
                           seed=self.seed)

    def finetune_config(self) -> TrainConfig:
        """Fine-tuning: the same settings as training, for `finetune_epochs` epochs (a fresh Adam)."""
        return finetune_config(self.train_config(), self.finetune_epochs)

    def prune_config(self) -> PruneConfig:
        return PruneConfig(method=self.method, sensitivity=self.sensitivity, sparsity=self.sparsity,
                           floor=self.floor, scope=Scope.parse(self.scope), global_=self.global_,
                           seed=self.prune_seed)

    def training_key(self) -> tuple:
        """What the dense model depends on: equal keys mean the same trained model."""
        return (self.sample, self.window_config(), self.model_config(), self.train_config())

    # ---- URL ------------------------------------------------------------------------------
    def to_query(self, changed_only: bool = False) -> dict[str, str]:
        """The state as query parameters: all of them, or only those that differ from the sample's defaults
        (a short link a teacher can read; the sample is always included)."""
        base = LabState.for_sample(self.sample)
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if changed_only and f.name != "sample" and value == getattr(base, f.name):
                continue
            out[_KEY[f.name]] = _text(value)
        return out


# query key of each field (short where the paper has a symbol)
_KEY = {"sample": "sample", "window": "window", "horizon": "horizon", "log": "log", "val": "val", "test": "test",
        "hidden": "hidden", "layers": "layers", "cell": "cell", "epochs": "epochs", "batch": "batch", "lr": "lr",
        "patience": "patience", "seed": "seed", "method": "method", "sensitivity": "s", "sparsity": "sparsity",
        "scope": "scope", "floor": "k", "global_": "global", "prune_seed": "pseed", "finetune_epochs": "ft",
        "step": "step"}
QUERY_KEYS = tuple(_KEY.values())
DEFAULTS = LabState()


def defaults(sample: str = DEFAULT_SAMPLE) -> LabState:
    return LabState.for_sample(sample)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)


ECHO_CHARS = 40  # the most of a link's value a message quotes back


def echo(text: str) -> str:
    """A link's value as a message quotes it: repr'd (so it reads as data) and cut to ECHO_CHARS."""
    return repr(text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…")


def _raw(query: Mapping, key: str) -> str | None:
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


def _int(text: str, lo: int, hi: int) -> int:
    value = float(text.strip())
    if not value.is_integer() or not lo <= value <= hi:
        raise ValueError
    return int(value)


def _float(text: str, lo: float, hi: float) -> float:
    value = float(text.strip())
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError
    return value


def _percent(text: str, lo: float, hi: float) -> float:
    """A share that the app's percent sliders can show: rounded to a whole percent."""
    value = round(_float(text, lo, hi) * 100) / 100
    if not lo <= value <= hi:
        raise ValueError
    return value


def _one_of(choices, cast):
    def parse(text: str):
        value = cast(text.strip())
        match = [c for c in choices if math.isclose(c, value, rel_tol=1e-9)]
        if not match:
            raise ValueError
        return match[0]
    return parse


def _bool(text: str) -> bool:
    t = text.strip().lower()
    if t in TRUE:
        return True
    if t in FALSE:
        return False
    raise ValueError


def _choice(options):
    def parse(text: str) -> str:
        t = text.strip().lower()
        if t not in options:
            raise ValueError
        return t
    return parse


def _scope(text: str) -> str:
    return Scope.parse(text).to_text()


@functools.lru_cache(maxsize=None)
def sample_length(key: str) -> int:
    """Number of values in a shipped sample (data rows of its CSV)."""
    with open(SAMPLES[key].path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip()) - 1


@functools.lru_cache(maxsize=None)
def sample_is_positive(key: str) -> bool:
    """Whether a sample can be log-transformed (every value above zero)."""
    return bool((load_series(SAMPLES[key].path).values > 0).all())


def _parsers() -> dict[str, Any]:
    return {
        "window": lambda t: _int(t, *WINDOW), "horizon": lambda t: _int(t, *HORIZON), "log": _bool,
        "val": lambda t: _percent(t, *SHARE), "test": lambda t: _percent(t, *SHARE),
        "hidden": _one_of(HIDDEN_CHOICES, lambda t: _int(t, 1, 10**6)), "layers": lambda t: _int(t, *LAYERS),
        "cell": _choice(CELLS), "epochs": lambda t: _int(t, *EPOCHS),
        "batch": _one_of(BATCH_CHOICES, lambda t: _int(t, 1, 10**6)), "lr": _one_of(LR_CHOICES, float),
        "patience": lambda t: _int(t, *PATIENCE), "seed": lambda t: _int(t, *SEED),
        "method": _choice(tuple(RULES)), "sensitivity": lambda t: _float(t, *SENSITIVITY),
        "sparsity": lambda t: _percent(t, *SPARSITY), "scope": _scope, "floor": lambda t: _float(t, *FLOOR),
        "global_": _bool, "prune_seed": lambda t: _int(t, *PRUNE_SEED),
        "finetune_epochs": lambda t: _int(t, *FINETUNE), "step": lambda t: _int(t, *STEP),
    }


def _scope_selects(state: LabState) -> bool:
    stub = types.SimpleNamespace(config=state.model_config(), horizon=state.horizon)
    scope = Scope.parse(state.scope)
    names = [f"rnn.weight_{kind}_l{k}" for k in range(state.layers) for kind in ("ih", "hh")]
    return any(scope.rows(stub, n) is not None and len(scope.rows(stub, n)) for n in names)


def parse_query(query: Mapping) -> tuple[LabState, list[str]]:
    """The state a query describes, and a message for each value that was ignored. Never raises."""
    ignored: list[str] = []
    sample = _raw(query, "sample")
    if sample is not None and sample.strip().lower() not in SAMPLES:
        ignored.append(f"sample={echo(sample)} (not a shipped sample; using {DEFAULT_SAMPLE})")
        sample = None
    base = LabState.for_sample(sample.strip().lower() if sample else DEFAULT_SAMPLE)
    values: dict[str, Any] = {}
    for name, parse in _parsers().items():
        text = _raw(query, _KEY[name])
        if text is None:
            continue
        try:
            values[name] = parse(text)
        except (ValueError, TypeError, OverflowError, ScgruError):
            ignored.append(f"{_KEY[name]}={echo(text)} (using {_text(getattr(base, name))})")
    state = replace(base, **values)
    # settings that are valid alone but not together
    if state.global_ and not RULES[state.method].supports_global:
        ignored.append(f"global=1 (the {state.method} rule is per matrix)")
        state = replace(state, global_=False)
    try:
        if not _scope_selects(state):
            ignored.append(f"scope={echo(state.scope)} (selects no weights of a {state.cell} model; using both)")
            state = replace(state, scope="both")
    except ScgruError:
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


def from_query(query: Mapping) -> LabState:
    """The state a query describes; bad or unknown values fall back to the defaults. Never raises."""
    return parse_query(query)[0]
