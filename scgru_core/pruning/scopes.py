"""Which weights a rule may cut: both matrices, only the input-to-hidden W_ih, only the hidden-to-hidden W_hh, or chosen
gate blocks of either (and the head, from the command line), as rows of each matrix.

Gates are named by the cell (net/cells.py: reset / update / new for a GRU, input / forget / cell / output for an
LSTM, hidden for an RNN). A scope that names no gate means every gate of whatever cell it meets; one that names gates
the model's cell lacks is refused when it meets the model, with the cell's own gates listed."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from scgru_core.errors import ConfigError
from scgru_core.net.cells import CELLS, all_gates
from scgru_core.net.model import Forecaster, gate_blocks, matrix_kind

KINDS = ("ih", "hh")


@dataclass(frozen=True)
class Scope:
    """Which blocks may be pruned: matrix kinds (ih / hh) crossed with gates, optionally the head."""

    kinds: frozenset = frozenset(KINDS)
    gates: frozenset | None = None  # None: every gate of the cell
    head: bool = False
    # (kind, gate) pairs when the selection is not every kind x gate (e.g. 'hh:reset,ih:new'; gate "" is every gate
    # of that kind, as in 'ih,hh:new'); None: kinds x gates
    pairs: frozenset | None = None

    def selects(self, kind: str, gate: str) -> bool:
        if self.pairs is not None:
            return (kind, gate) in self.pairs or (kind, "") in self.pairs
        return kind in self.kinds and (self.gates is None or gate in self.gates)

    def named_gates(self) -> set[str]:
        """The gates the scope names (empty when it means every gate)."""
        if self.pairs is not None:
            return {g for _, g in self.pairs if g}
        return set(self.gates or ())

    def _order(self) -> tuple[str, ...]:
        return tuple(g for g in all_gates() if g in self.named_gates())

    @classmethod
    def parse(cls, text: str, head: bool = False) -> "Scope":
        """'both', 'ih', 'hh', or a comma list such as 'hh:reset,hh:update' or 'ih:new'."""
        text = text.strip().lower()
        if text in ("both", "all", ""):
            return cls(head=head)
        if text in KINDS:
            return cls(kinds=frozenset([text]), head=head)
        pairs, whole = set(), set()
        known = all_gates()
        for part in text.split(","):
            kind, _, gate = part.strip().partition(":")
            if kind not in KINDS or (gate and gate not in known):
                raise ConfigError(f"scope {text!r} is not understood: use both, ih, hh or a list like 'hh:reset,ih:new' "
                                  f"(gates: {', '.join(known)}).")
            if gate:
                pairs.add((kind, gate))
            else:
                whole.add(kind)
        if not pairs:  # 'ih,hh': every gate of the kinds named
            return cls(kinds=frozenset(whole), head=head)
        if whole:  # 'ih,hh:new': every gate of ih, and hh's new gate
            pairs = {(k, g) for k, g in pairs if k not in whole} | {(k, "") for k in whole}
            return cls(kinds=frozenset(k for k, _ in pairs), gates=frozenset(g for _, g in pairs if g), head=head,
                       pairs=frozenset(pairs))
        kinds, gates = {k for k, _ in pairs}, {g for _, g in pairs}
        crossed = pairs == {(k, g) for k in kinds for g in gates}
        return cls(kinds=frozenset(kinds), gates=frozenset(gates), head=head,
                   pairs=None if crossed else frozenset(pairs))

    def to_text(self) -> str:
        """The text form `parse` reads back (without the head flag)."""
        if not self.named_gates():
            return "both" if set(self.kinds) == set(KINDS) else next(iter(self.kinds))
        return ",".join(self._parts())

    def _parts(self) -> list[str]:
        """'ih' for a matrix taken whole, 'hh:reset' for each gate taken from one."""
        parts = []
        for k in KINDS:
            if self.pairs is not None and (k, "") in self.pairs:
                parts.append(k)
            else:
                parts += [f"{k}:{g}" for g in self._order() if self.selects(k, g)]
        return parts

    def label(self) -> str:
        if self.pairs is not None:
            return ", ".join(self._parts()) + (" + head" if self.head else "")
        kinds = "both" if set(self.kinds) == set(KINDS) else "".join(sorted(self.kinds))
        gates = " (" + ", ".join(self._order()) + ")" if self.gates else ""
        return kinds + gates + (" + head" if self.head else "")

    def check_cell(self, cell: str) -> None:
        """Refuse a scope that names gates the cell does not have (it would prune nothing there, silently)."""
        spec = CELLS[cell]
        missing = sorted(self.named_gates() - set(spec.gates))
        if missing:
            raise ConfigError(f"scope {self.to_text()!r} names gate{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)}, which the {spec.label.split(' (')[0].split(':')[0]} cell does not have (its gates: "
                              f"{', '.join(spec.gates)}).")

    def rows(self, model: Forecaster, name: str) -> torch.Tensor | None:
        """Row indices of `name` in scope, or None when the matrix is out of scope."""
        if name.startswith("head."):
            return torch.arange(model.horizon) if self.head else None
        kind = matrix_kind(name)
        self.check_cell(model.config.cell)
        if kind not in self.kinds:
            return None
        idx = [torch.arange(sl.start, sl.stop) for g, sl in gate_blocks(model, name).items() if self.selects(kind, g)]
        return torch.cat(idx) if idx else None
