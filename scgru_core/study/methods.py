"""Every method a comparison can run, from three registries: the one-shot rules (`pruning.rules.RULES`), the gradual
schedules (`pruning.gradual.GRADUAL`) and the methods it trains itself (`TRAINED`, here: lottery-ticket rewind, and
the models trained for the whole budget and never pruned). Pages, the CLI and the study list methods only through
here, so a spec registered in any of the three appears in all of them."""
from __future__ import annotations

from dataclasses import dataclass

from scgru_core.errors import ConfigError
from scgru_core.net.cells import CELLS
from scgru_core.pruning.gradual import GRADUAL
from scgru_core.pruning.rules import RULES
from scgru_core.registry import Registry


@dataclass(frozen=True)
class TrainedMethod:
    """A method the comparison trains itself. kind "rewind": the mask of `CompareConfig.rewind_rule` on the dense
    model, retrained from the initial weights; kind "unpruned": `cell` (empty: the comparison's own cell) trained
    for the whole budget, never pruned."""

    name: str
    label: str
    kind: str  # "rewind" or "unpruned"
    description: str = ""
    cell: str = ""


TRAINED: Registry[TrainedMethod] = Registry("training method")
TRAINED.register(TrainedMethod("rewind", "Lottery-ticket rewind", "rewind",
                               "The mask of magnitude pruning on the dense model, then retrained from the initial "
                               "weights."))
TRAINED.register(TrainedMethod("dense", "Dense (no pruning)", "unpruned",
                               "The comparison's own cell trained for the whole budget, never pruned: the reference."))


def _follow_cells() -> None:
    """Every registered cell is an unpruned reference a comparison can train beside its own (an LSTM beside a pruned
    GRU, a gate variant), also one registered later; a cell unregistered takes its reference with it."""
    for name, spec in CELLS.items():
        if name not in TRAINED:
            TRAINED.register(TrainedMethod(name, spec.label.split(" (")[0].split(":")[0] + " (never pruned)",
                                           "unpruned", spec.description, cell=name))
    for name in [n for n, m in TRAINED.items() if m.kind == "unpruned" and m.cell and m.cell not in CELLS]:
        TRAINED.unregister(name)


CELLS.on_change(_follow_cells)


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
