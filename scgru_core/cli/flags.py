"""Every command-line flag checked in one place, before any work: numbers against the settings table's limits
(the same table the app's widgets read), the flags the table does not hold against `OTHER_LIMITS` below, output
paths against the file system, and every refusal one line with exit code 2.

    p.add_argument("--window", type=table("window"), default=...)   # 1..2000, as the app's window
    p.add_argument("--threads", type=other("threads"))              # 1..the machine's cores
"""
from __future__ import annotations

import argparse
import math
import os
import pathlib
import tempfile

from scgru_core.errors import ConfigError
from scgru_core.pruning.scopes import Scope
from scgru_core.teach.settings import SETTINGS


def cores() -> int:
    """The cores this process may run on (torch threads beyond them only contend, and 100,000 crashed torch)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# (type, low, high, low included, high included) of the numeric flags that are not settings of the app
OTHER_LIMITS = {
    "threads": (int, 1, cores(), True, True),
    "workers": (int, 1, 1024, True, True),  # a Ray cluster may have many more cores than this machine
    "seeds": (int, 1, 100, True, True),
    "repeats": (int, 1, 10_000, True, True),
    "units": (float, 0.0, 1.0, True, False),  # removing every unit leaves no network
    "unit_sensitivity": (float, 0.0, 100.0, True, True),
    "unit_floor": (float, 0.0, 1.0, False, True),
    "prune_start_epochs": (float, 0.0, 10_000.0, True, True),
    "prune_end_fraction": (float, 0.0, 1.0, False, True),
    "prune_frequency": (int, 1, 1_000_000, True, True),
}


class Parser(argparse.ArgumentParser):
    """argparse, with a refusal in one line (argparse prints the whole usage first) and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _number(text: str, kind: type, low, high, low_in: bool, high_in: bool):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, got {text!r}") \
            from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    if (value < low if low_in else value <= low) or (value > high if high_in else value >= high):
        lo, hi = f"{'[' if low_in else '('}{_text(low)}", f"{_text(high)}{']' if high_in else ')'}"
        raise argparse.ArgumentTypeError(f"{text} is outside {lo}, {hi}")
    return value


def _text(bound) -> str:
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def table(name: str):
    """An argparse type for the setting `name`: its type, within its limits (`Setting.limits`)."""
    setting = SETTINGS[name]
    low, high = setting.limits

    def check(text: str):
        return _number(text, setting.type, low, high, True, True)
    check.__name__, check.limits = name, (setting.type, low, high, True, True)
    return check


def other(name: str):
    """An argparse type for a numeric flag that is not a setting of the app (`OTHER_LIMITS`)."""
    def check(text: str):
        return _number(text, *OTHER_LIMITS[name])
    check.__name__, check.limits = name, OTHER_LIMITS[name]
    return check


def table_list(name: str):
    """A comma-separated list of values of the setting `name`, at least one."""
    one = table(name)

    def check(text: str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError("expected at least one comma-separated number")
        return [one(p) for p in parts]
    check.__name__, check.limits, check.is_list = f"{name} list", one.limits, True
    return check


def scope(text: str) -> str:
    """A scope `Scope.parse` reads; an empty one is not 'both' by accident."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected both, ih, hh or gates such as 'hh:reset,hh:update', got ''")
    try:
        Scope.parse(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).rstrip(".")) from None
    return text


OUTPUT_DIRS = ("out", "export")  # flags that name a directory the command writes
OUTPUT_FILES = ("json", "csv")  # flags that name a file the command writes


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before any work, an output the command could not write: a directory flag onto a file, a file flag
    onto a directory, or a place where nothing can be created."""
    for dest in OUTPUT_DIRS + OUTPUT_FILES:
        value = getattr(args, dest, None)
        if not value:
            continue
        path, flag = pathlib.Path(value), f"--{dest}"
        if dest in OUTPUT_DIRS and path.exists() and not path.is_dir():
            raise ConfigError(f"{flag} {value}: a file is there, and this writes a directory. Choose another name.")
        if dest in OUTPUT_FILES and path.is_dir():
            raise ConfigError(f"{flag} {value}: that is a directory; give a file name.")
        _check_creatable(path if dest in OUTPUT_DIRS else path.parent, flag, value)


def _check_creatable(directory: pathlib.Path, flag: str, value: str) -> None:
    """Files can be created in `directory` (or in the first of its parents that exists, where it will be made)."""
    existing = directory.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{flag} {value}: {existing} is a file, so nothing can be created under it.")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ConfigError(f"{flag} {value}: nothing can be written in {existing} ({exc.strerror or exc}).") from None
