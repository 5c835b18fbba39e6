"""One row of the settings table: a user-visible setting, its type, default, bounds or choices, widget and URL keys,
label and help, where the engine keeps it and its command-line flag; and how a value is checked and shown."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One user-visible setting. `config`/`attr` name where the engine keeps it (None: the lab's own);
    `scale` turns the value into what its widget shows (shares as whole percent)."""

    name: str  # field of LabState
    type: type  # int, float, bool or str; tuple for several values (of `item`)
    default: Any
    url: str  # query-parameter key
    widget: str | None  # session-state key of its widget (None: set by buttons, not a widget)
    label: str
    help: str = ""
    kind: str = "number"  # number, slider, select, select_slider, checkbox, toggle, scope, radio, multiselect
    bounds: tuple | None = None  # (low, high) in field units, both included
    choices: tuple | None = None
    step: float | None = None  # the widget's step, in widget units
    scale: int = 1  # widget value = round(field value × scale)
    config: str | None = None  # "windows", "model", "train" or "prune"
    attr: str | None = None  # field in that config (default: name)
    group: str = ""  # data, model, training, pruning, lesson
    labels: Any = None  # {choice: label} for a choice's display text (default: the value itself)
    cli: tuple | None = None  # (low, high) the command line accepts, where wider than the widget's bounds or choices
    item: type = str  # a tuple setting's values are of this type
    flag: str | None = ""  # its command-line flag ("": --name with dashes; None: none)

    @property
    def limits(self) -> tuple:
        """(low, high), both included, that a value may take outside the app (the command line): `cli`, else the
        widget's bounds, else the extent of its choices."""
        if self.cli is not None:
            return self.cli
        return self.bounds if self.bounds is not None else (min(self.choices), max(self.choices))

    def label_of(self, value) -> str:
        if self.labels is not None and value in self.labels:
            return self.labels[value]
        return f"{value:g}" if isinstance(value, float) else str(value)

    def to_widget(self, value):
        if self.type is tuple:
            return list(value)
        return int(round(value * self.scale)) if self.scale != 1 else value

    def from_widget(self, value):
        if self.type is tuple:
            return tuple(value)
        if self.scale != 1:
            return round(float(value) / self.scale, 6)
        return self.type(value) if self.type in (int, float, bool) else value

    @property
    def cli_flag(self) -> str | None:
        return None if self.flag is None else self.flag or "--" + self.name.rstrip("_").replace("_", "-")

    def check(self, value) -> Any:
        """`value` as this setting holds it, or ValueError if a widget could not show it."""
        if self.type is tuple:
            items = value.split(",") if isinstance(value, str) else list(value)
            one = replace(self, type=self.item)
            return tuple(dict.fromkeys(one.check(v.strip() if isinstance(v, str) else v) for v in items if v != ""))
        if self.type is bool:
            if not isinstance(value, bool):
                raise ValueError
            return value
        if self.type is str:
            value = str(value)
        elif self.type is int:
            if isinstance(value, bool) or not float(value).is_integer():
                raise ValueError
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError
            if self.scale != 1:  # a share the percent slider can show: a whole percent
                value = round(value * self.scale) / self.scale
        if self.choices is not None:
            match = [c for c in self.choices
                     if (c == value if isinstance(c, str) else math.isclose(c, value, rel_tol=1e-9))]
            if not match:
                raise ValueError
            return match[0]
        if self.bounds is not None and not self.bounds[0] <= value <= self.bounds[1]:
            raise ValueError
        return value


def as_text(value: Any) -> str:
    """A value as a link writes it."""
    if isinstance(value, tuple):
        return ",".join(as_text(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)
