"""Which weights a rule may cut: both matrices, only the input-to-hidden W_ih, only the hidden-to-hidden W_hh, or chosen
gate blocks of either (and the head, from the command line), as rows of each matrix."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from scgru_core.errors import ConfigError
from scgru_core.net.cells import GATES
from scgru_core.net.model import Forecaster, gate_blocks, matrix_kind

KINDS = ("ih", "hh")


@dataclass(frozen=True)
class Scope:
    """Which blocks may be pruned: matrix kinds (ih / hh) crossed with gates, optionally the head."""

    kinds: frozenset = frozenset(KINDS)
    gates: frozenset = frozenset(GATES)
    head: bool = False
    # (kind, gate) pairs when the selection is not every kind x gate (e.g. 'hh:reset,ih:new'); None: kinds x gates
    pairs: frozenset | None = None

    def selects(self, kind: str, gate: str) -> bool:
        if self.pairs is not None:
            return (kind, gate) in self.pairs
        return kind in self.kinds and gate in self.gates

    @classmethod
    def parse(cls, text: str, head: bool = False) -> "Scope":
        """'both', 'ih', 'hh', or a comma list such as 'hh:reset,hh:update' or 'ih:new'."""
        text = text.strip().lower()
        if text in ("both", "all", ""):
            return cls(head=head)
        if text in KINDS:
            return cls(kinds=frozenset([text]), head=head)
        pairs = set()
        for part in text.split(","):
            kind, _, gate = part.strip().partition(":")
            if kind not in KINDS or (gate and gate not in GATES):
                raise ConfigError(f"scope {text!r} is not understood: use both, ih, hh or a list like 'hh:reset,ih:new' "
                                  f"(gates: {', '.join(GATES)}).")
            pairs.update((kind, g) for g in ([gate] if gate else GATES))
        kinds, gates = {k for k, _ in pairs}, {g for _, g in pairs}
        crossed = pairs == {(k, g) for k in kinds for g in gates}
        return cls(kinds=frozenset(kinds), gates=frozenset(gates), head=head,
                   pairs=None if crossed else frozenset(pairs))

    def to_text(self) -> str:
        """The text form `parse` reads back (without the head flag)."""
        if self.pairs is None and set(self.gates) == set(GATES):
            return "both" if set(self.kinds) == set(KINDS) else next(iter(self.kinds))
        return ",".join(f"{k}:{g}" for k in KINDS for g in GATES if self.selects(k, g))

    def label(self) -> str:
        if self.pairs is not None:
            return ", ".join(f"{k}:{g}" for k in KINDS for g in GATES if self.selects(k, g)) + (" + head" if self.head else "")
        kinds = "both" if set(self.kinds) == set(KINDS) else "".join(sorted(self.kinds))
        gates = "" if set(self.gates) == set(GATES) else " (" + ", ".join(g for g in GATES if g in self.gates) + ")"
        return kinds + gates + (" + head" if self.head else "")

    def rows(self, model: Forecaster, name: str) -> torch.Tensor | None:
        """Row indices of `name` in scope, or None when the matrix is out of scope."""
        if name.startswith("head."):
            return torch.arange(model.horizon) if self.head else None
        kind = matrix_kind(name)
        if kind not in self.kinds:
            return None
        idx = [torch.arange(sl.start, sl.stop) for g, sl in gate_blocks(model, name).items() if self.selects(kind, g)]
        return torch.cat(idx) if idx else None
