"""What a training will cost, known before it runs: its memory from the model's size, its time from a rate this
machine measured once on a small model. Never by running the model at its size: timing three steps of the largest
model a link can name (window 2000, hidden 256 x 3, batch 256) grew the server past 17.8 GB before the page showed.

Memory. Backpropagation through time keeps every step's gate values: about `CellSpec.state_floats` floats per
(window, hidden unit, layer) of a batch (measured: 9-13 for nn.GRU at batch 64-512, hidden 64-256, 1-3 layers;
15 for nn.LSTM, 3 for nn.RNN). A
training whose batch would pass `memory_budget()` is refused before anything is allocated (`MemoryBudgetError`),
naming the budget and the largest batch, window and hidden size that fit.

Time. A training step costs a fixed time per time step and layer (the recurrence runs one step after another)
plus a time per multiply-accumulate; both are measured once per process and cell on two small models
(`calibration`, about 0.1 s), then scaled by the model's MACs (`cost.model_cost`'s count).
"""
from __future__ import annotations

import functools
import math
import os
import time
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from scgru_core.errors import ConfigError
from scgru_core.net.cells import CELLS
from scgru_core.net.model import ModelConfig, build_model
from scgru_core.threads import threads_for


class Schedule(Protocol):
    """What a training's cost depends on besides the model and the data (`train.TrainConfig` is one)."""

    batch_size: int
    epochs: int

# fp32 values kept per batch x window x hidden unit x layer for the backward pass: each cell declares its upper end
# (CellSpec.state_floats). Measured: autograd saves 7.1 (GRU), 16.4 (LSTM) and 1.0 (RNN) floats per state (batch 64,
# window 100, hidden 128; tests/test_cells.py); one step's peak growth at batch 128, window 200, hidden 256 was 10.9,
# 15.3 and 2.8
FP32 = 4
DEFAULT_BUDGET_MB = 1_000
EVAL_BATCH = 4096  # a validation pass's batch, where it fits EVAL_FLOATS
EVAL_FLOATS = 1 << 25
"""How many hidden-state values one batch of a validation pass may hold per layer (128 MB in fp32). A GRU keeps
every step's state of its batch: 4,096 windows of 200 steps at hidden 256 (3 layers) at once made one validation
pass peak at 5.7 GB; with this budget, 2.3 GB. Below it the batch is the same 4,096 as before, so every model up to
window 128 at hidden 64 (every shipped checkpoint) gives the same numbers."""


def eval_batch(window: int, hidden: int, batch: int = EVAL_BATCH) -> int:
    """The batch of a validation pass: `batch`, or fewer windows where they would pass EVAL_FLOATS."""
    return max(1, min(batch, EVAL_FLOATS // max(1, window * hidden)))


class MemoryBudgetError(ConfigError):
    """A training that would need more memory than the budget allows; nothing was allocated."""


def memory_budget() -> int:
    """Bytes one training may hold: SCGRU_TRAINING_MEMORY_MB (1,000 MB by default: a class server runs a few at
    once beside every student's session)."""
    return int(float(os.environ.get("SCGRU_TRAINING_MEMORY_MB", DEFAULT_BUDGET_MB)) * 1e6)


def training_bytes(model: ModelConfig, batch: int, window: int) -> int:
    """Peak memory of one training step: the states kept for backpropagation (the weights are small beside them)."""
    return CELLS[model.cell].state_floats * FP32 * batch * window * model.hidden * model.layers


def check_memory(model: ModelConfig, train: Schedule, window: int, budget: int | None = None) -> None:
    """Raise MemoryBudgetError, with what to lower, when a training of these settings would pass the budget."""
    budget = memory_budget() if budget is None else budget
    need = training_bytes(model, train.batch_size, window)
    if need <= budget:
        return
    per_value = CELLS[model.cell].state_floats * FP32 * model.layers  # bytes per batch x window x hidden unit
    fits = {"batch": budget // (per_value * window * model.hidden),
            "window": budget // (per_value * train.batch_size * model.hidden),
            "hidden": budget // (per_value * train.batch_size * window)}
    options = [f"{name} {value:,} or less" for name, value in fits.items() if value >= 1]
    raise MemoryBudgetError(
        f"This training would need about {need / 1e9:.1f} GB of memory (batch {train.batch_size} x window {window} x "
        f"hidden {model.hidden} x {model.layers} layer{'s' if model.layers > 1 else ''}), over the {budget / 1e9:.1f} "
        "GB one training may use here (SCGRU_TRAINING_MEMORY_MB sets it). Lower " +
        (f"one of them: {', or '.join(options)} (each alone fits)." if options else
         "the batch, the window and the hidden size together."))


@dataclass(frozen=True)
class Rate:
    """Seconds of one pass (training step or forward pass) per time step and layer, per element of the gates'
    arithmetic (batch x time step x hidden unit x layer), and per multiply-accumulate."""

    step: float
    element: float
    mac: float

    def seconds(self, model: ModelConfig, batch: int, window: int) -> float:
        steps = window * model.layers
        return steps * self.step + batch * steps * model.hidden * self.element + \
            batch * window * _macs_per_step(model) * self.mac


def _macs_per_step(model: ModelConfig) -> int:
    """Weight multiplies of one time step per window (the cell's gate blocks; the input of layer 1 is one value)."""
    blocks, H = CELLS[model.cell].blocks, model.hidden
    return sum(len(blocks["ih"]) * H * (1 if layer == 0 else H) + len(blocks["hh"]) * H * H
               for layer in range(model.layers))


def _timed(fn, repeats: int = 3) -> float:
    fn()  # warm-up: allocations, kernel choice
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


CALIBRATION = ((8, 16, 48), (8, 256, 48), (64, 64, 48), (64, 256, 48), (32, 256, 200))
"""(hidden, batch, window) of the small models timed; the last holds more states than a CPU's caches, where a step
costs about three times as much per element (window 200: 162 ms measured, 54 ms predicted without it)."""


@functools.lru_cache(maxsize=None)
def calibration(cell: str) -> tuple[Rate, Rate]:
    """This machine's rates for `cell` (a training step, a forward pass), fitted by least squares to small models
    (`CALIBRATION`) timed once per process (about 1.5 s)."""
    rows, train, forward = [], [], []
    for hidden, batch, window in CALIBRATION:
        config = ModelConfig(hidden=hidden, cell=cell)
        model = build_model(config)
        optimizer = torch.optim.Adam(model.parameters())
        x, y = torch.randn(batch, window, generator=torch.Generator().manual_seed(0)), torch.zeros(batch, 1)

        def step():
            optimizer.zero_grad(set_to_none=True)
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

        with threads_for(hidden):
            train.append(_timed(step))
            with torch.no_grad():
                forward.append(_timed(lambda: model(x)))
        rows.append([window, batch * window * hidden, batch * window * _macs_per_step(config)])
    A = torch.tensor(rows, dtype=torch.float64)
    fitted = []
    for seconds in (train, forward):  # relative errors: each timing weighs the same, small or large
        t = torch.tensor(seconds, dtype=torch.float64)[:, None]
        fitted.append(torch.linalg.lstsq(A / t, torch.ones_like(t)).solution.clamp(min=0).flatten())
    return tuple(Rate(*map(float, f)) for f in fitted)


def training_seconds(model: ModelConfig, train: Schedule, window: int, train_windows: int,
                     val_windows: int) -> float:
    """About how long a training can take here (every epoch; early stopping only shortens it)."""
    if train.epochs <= 0 or train_windows <= 0:
        return 0.0
    step, forward = calibration(model.cell)
    batches = math.ceil(train_windows / train.batch_size)
    per_batch = step.seconds(model, min(train.batch_size, train_windows), window)
    size = eval_batch(window, model.hidden)
    validation = sum(forward.seconds(model, min(size, val_windows - i), window) for i in range(0, val_windows, size))
    return train.epochs * (batches * per_batch + validation)
