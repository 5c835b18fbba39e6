"""What the comparison charts draw, as types: a curve of results over a sweep, a marked point, a reference line,
a group of bars. The pages build them from sweeps and comparison rows; the figure builders (viz) take nothing else,
so a field misspelt in a page fails where it is written rather than as a missing line in a chart.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


def _floats(values: Sequence) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@dataclass(frozen=True)
class Curve:
    """One method's results over a sweep (or a schedule over training steps), `x` and `y` of equal length.

    `group`: curves of one group share a colour (a method's prune-only and fine-tuned curves); `finetuned` dashes it;
    `joined=False` draws the points alone (models that are not a curve, or noisy measured times)."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    group: str = ""
    finetuned: bool = False
    joined: bool = True

    def __post_init__(self):
        object.__setattr__(self, "x", _floats(self.x))
        object.__setattr__(self, "y", _floats(self.y))
        if len(self.x) != len(self.y):
            raise ValueError(f"curve {self.label!r} has {len(self.x)} x values but {len(self.y)} y values.")

    @property
    def colour_key(self) -> str:
        return self.group or self.label


@dataclass(frozen=True)
class Point:
    """A single marked result, such as the Prune page's current setting on a trade-off chart."""

    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Reference:
    """A vertical reference line at `x`, such as the dense model's measured latency."""

    x: float
    label: str


@dataclass(frozen=True)
class BarGroup:
    """Bars of one colour, one per category (`x`), side by side with the other groups' bars."""

    label: str
    x: tuple[str, ...]
    y: tuple[float, ...]

    def __post_init__(self):
        object.__setattr__(self, "x", tuple(str(v) for v in self.x))
        object.__setattr__(self, "y", _floats(self.y))
        if len(self.x) != len(self.y):
            raise ValueError(f"bar group {self.label!r} has {len(self.x)} categories but {len(self.y)} values.")
