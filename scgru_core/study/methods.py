"""Every method a comparison can run, from three registries: the one-shot rules (`pruning.rules.RULES`), the gradual
schedules (`pruning.gradual.GRADUAL`) and the methods it trains itself (`TRAINED`, here: lottery-ticket rewind, and
the models trained for the whole budget and never pruned). Pages, the CLI and the study list methods only through
here, so a spec registered in any of the three appears in all of them."""
from __future__ import annotations

from dataclasses import dataclass

from scgru_core.errors import ConfigError
from scgru_core.net.model import CELLS
from scgru_core.pruning.gradual import GRADUAL
from scgru_core.pruning.rules import RULES
from scgru_core.registry import Registry


@dataclass(frozen=True)
class TrainedMethod:
    """A method the comparison trains itself. kind "rewind": the mask of `CompareConfig.rewind_rule` on the dense
    model, retrained from the initial weights; kind "unpruned": `cell` trained for the whole budget, never pruned."""

    name: str
    label: str
    kind: str  # "rewind" or "unpruned"
    description: str = ""
    cell: str = "gru"


TRAINED: Registry[TrainedMethod] = Registry("training method")
TRAINED.register(TrainedMethod("rewind", "Lottery-ticket rewind", "rewind",
                               "The mask of magnitude pruning on the dense model, then retrained from the initial "
                               "weights."))
TRAINED.register(TrainedMethod("dense", "Dense GRU (no pruning)", "unpruned",
                               "The standard GRU trained for the whole budget, never pruned: the reference."))
_VARIANTS = {"gru1": "Gates from the hidden state and bias only (no input): fewer parameters, never pruned.",
             "gru2": "Gates from the hidden state only (no input, no bias), never pruned.",
             "gru3": "Gates from a bias only, never pruned."}
for _cell in CELLS:
    if _cell != "gru":
        TRAINED.register(TrainedMethod(_cell, f"{_cell.upper()} (Dey & Salem)", "unpruned", _VARIANTS.get(_cell, ""),
                                       cell=_cell))


def method_kind(name: str) -> str | None:
    """'one-shot', 'gradual', 'rewind' or 'unpruned'; None for a name no registry knows."""
    if name in RULES:
        return "one-shot"
    if name in GRADUAL:
        return "gradual"
    return TRAINED[name].kind if name in TRAINED else None


def known_methods() -> list[str]:
    return [*RULES, *GRADUAL, *TRAINED]


def _spec(name: str):
    for registry in (RULES, GRADUAL, TRAINED):
        if name in registry:
            return registry[name]
    raise ConfigError(f"unknown method {name!r}: choose from {', '.join(known_methods())}.")


def method_label(name: str) -> str:
    """The method's name as a legend or a list shows it: a rule's or schedule's label without its parenthesis."""
    spec = _spec(name)
    return spec.label if name in TRAINED else spec.label.split(" (")[0]


def method_help(name: str) -> str:
    return _spec(name).description
