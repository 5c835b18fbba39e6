"""One registry mechanism for every kind of thing a newcomer adds by name: pruning rules (`pruning.rules.RULES`),
gradual schedules (`pruning.gradual.GRADUAL`), unit rules (`deploy.units.UNIT_RULES`), the methods a comparison
trains itself (`study.methods.TRAINED`) and the recurrent cells (`net.cells.CELLS`). Each page, the CLI and Show code read the registry, so a spec registered
once appears everywhere without other edits.

    RULES = Registry("pruning rule")
    RULES.register(RuleSpec("magnitude", ...))
    RULES.require("magnitud")   # ConfigError: unknown pruning rule 'magnitud': choose one of sensitivity, magnitude, ...
"""
from __future__ import annotations

from typing import Callable, Generic, Protocol, TypeVar

from scgru_core.errors import ConfigError


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class Registry(dict, Generic[T]):
    """Specs of one kind by name, in the order they were registered (the order every list shows them in)."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self._listeners: list[Callable[[], None]] = []

    def register(self, spec: T) -> T:
        """Add `spec` under its name; a second spec of the same name is refused (it would silently replace one)."""
        if spec.name in self:
            raise ValueError(f"a {self.kind} named {spec.name!r} is registered already")
        self[spec.name] = spec
        self._changed()
        return spec

    def unregister(self, name: str) -> None:
        """Remove `name` (a test's own spec, or a plug-in's); what derives from the registry follows."""
        del self[name]
        self._changed()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` now and after every change: for what is derived from the registry once and kept (the
        settings table's choices), so a spec registered later appears there too."""
        self._listeners.append(listener)
        listener()

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def require(self, name: str) -> T:
        """The spec of `name`, or a ConfigError that lists the names known."""
        if name not in self:
            raise ConfigError(f"unknown {self.kind} {name!r}: choose one of {', '.join(self)}.")
        return self[name]
