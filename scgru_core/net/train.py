"""Training and fine-tuning with masks held, progress callbacks, cancel, early stopping.

Masks are held the plain way: gradients of pruned weights are zeroed before each step
(so Adam's moments stay zero there) and the weights are multiplied by the mask after it,
so a pruned weight is exactly 0.0 at every step. The fused `nn.GRU` kernel keeps running.

Gradual pruning (AGP, Narang) changes the masks while training: `fit(..., mask_update=f)`
asks `f(step, model, masks)` after every optimizer step (and once at step 0) for new masks.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch
from torch import nn

from scgru_core.net.budget import check_memory, eval_batch
from scgru_core.errors import ConfigError, TrainingDivergedError
from scgru_core.net.model import Forecaster, weight_names
from scgru_core.net.masks import MaskSet, apply_masks_, mask_grads_
from scgru_core.net.quantize import bf16_native
from scgru_core.threads import threads_for
from scgru_core.data.windows import Dataset, Windows


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 15  # these three: the shipped checkpoints' settings, the defaults everywhere (settings.py)
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.0
    patience: int = 5  # epochs without validation improvement before stopping; 0 = never stop early
    clip_norm: float = 1.0  # gradient-norm clipping; 0 = off
    seed: int = 0
    precision: str = "fp32"  # "bf16": forward and loss under bf16 autocast where the CPU has native bf16 (weights,
    # gradients and Adam stay fp32), fp32 elsewhere (emulated bf16 is slower, not faster); benchmarks/training_precision.py

    def __post_init__(self):
        if self.epochs < 0:
            raise ConfigError(f"epochs must be 0 or more, not {self.epochs}.")
        if self.patience < 0:
            raise ConfigError(f"patience must be 0 (never stop early) or more, not {self.patience}.")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, not {self.batch_size}.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"learning rate must be a positive number, not {self.lr}.")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}.")


PRECISIONS = ("fp32", "bf16")


def training_precision(config: TrainConfig) -> str:
    """The precision `fit` will train in: bf16 only where asked for and native on this CPU."""
    return "bf16" if config.precision == "bf16" and bf16_native() else "fp32"


FINETUNE_LR = 1e-2
"""Fine-tuning's default step. After a one-shot cut the network is far from the minimum it was trained
to, and a fresh Adam at the training rate (1e-3) recovers slowly: at hidden 350 pruned to 98%, five
epochs reached test RMSE 1306 MW at 1e-3, 1087 at 3e-3 and 479 at 1e-2 (dense 514). Early stopping
starts from the pruned weights, so a step too large for a light cut cannot end worse on validation."""


def finetune_config(train: TrainConfig, epochs: int, lr: float | None = None) -> TrainConfig:
    """The training settings for fine-tuning after pruning: `epochs` epochs at `lr` (default FINETUNE_LR)."""
    return replace(train, epochs=int(epochs), lr=FINETUNE_LR if lr is None else lr)


@dataclass(frozen=True)
class EpochLog:
    epoch: int  # 1-based
    epochs: int
    train_loss: float
    val_loss: float
    seconds: float


@dataclass
class TrainResult:
    history: list[EpochLog] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    cancelled: bool = False
    seconds: float = 0.0
    samples: int = 0  # training windows processed
    precision: str = "fp32"  # what it trained in (bf16 asked for on a CPU without it falls back to fp32)
    replay: list = field(default_factory=list)  # the weight matrices at the start and after every epoch (float16),
    # for replaying how the weights moved; empty when they would take more than REPLAY_BYTES (see replay_fits)

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds else 0.0


@dataclass
class Callbacks:
    """Hooks the UI and CLI attach: per-epoch and per-batch progress, and a cancel flag."""

    on_epoch: Callable[[EpochLog], None] | None = None
    on_batch: Callable[[int, int], None] | None = None  # (batch index 1-based, batches per epoch)
    should_stop: Callable[[], bool] | None = None


MaskUpdate = Callable[[int, Forecaster, "MaskSet | None"], "MaskSet | None"]
"""(steps done, model, current masks) -> new masks, or None to keep the current ones."""


@torch.inference_mode()
def loss_on(model: nn.Module, windows: Windows, batch: int = 4096) -> float:
    """Mean squared error (scaled units) over all windows, in batches that fit `EVAL_FLOATS`."""
    model.eval()
    batch = eval_batch(windows.X.shape[1], getattr(getattr(model, "config", None), "hidden", 1), batch)
    total = 0.0
    for i in range(0, len(windows), batch):
        pred = model(windows.X[i:i + batch])
        total += float(((pred - windows.y[i:i + batch]) ** 2).sum())
    return total / (len(windows) * windows.y.shape[1])


def _state(model: nn.Module) -> dict:
    return copy.deepcopy(model.state_dict())


REPLAY_BYTES = 2_000_000
"""The most a training keeps of its weights per epoch, in all (float16): the default model, 15 epochs, 0.4 MB; a
session keeps one training's, and a class server holds a few dozen sessions."""


def replay_fits(model: Forecaster, epochs: int) -> bool:
    """Whether the weight matrices at every epoch of a training this long fit REPLAY_BYTES."""
    params = dict(model.named_parameters())
    return sum(params[n].numel() for n in weight_names(model, include_head=True)) * 2 * (epochs + 1) <= REPLAY_BYTES


def weights_now(model: Forecaster) -> dict[str, np.ndarray]:
    """The model's weight matrices (weight_names, the head's included) as they are, in float16: a replay shows their
    distribution, not their digits."""
    params = dict(model.named_parameters())
    return {n: params[n].detach().cpu().float().numpy().astype(np.float16)
            for n in weight_names(model, include_head=True)}


def fit(model: Forecaster, data: Dataset, config: TrainConfig = TrainConfig(), masks: MaskSet | None = None,
        callbacks: Callbacks = Callbacks(), mask_update: MaskUpdate | None = None) -> TrainResult:
    """Train in place with Adam; early-stop on validation loss and end with the best weights.

    With `mask_update`, a new mask makes earlier epochs incomparable (they had more weights),
    so the best-weights tracking and the patience count restart whenever the masks change:
    the weights that end training always carry the last masks.

    Raises TrainingDivergedError (model left at its last good weights) when the loss stops being finite.
    """
    check_memory(model.config, config, data.window)  # before anything is allocated
    with threads_for(model.config.hidden):  # one thread for small GRUs, the free cores for wide ones
        return _fit(model, data, config, masks, callbacks, mask_update)


def _fit(model: Forecaster, data: Dataset, config: TrainConfig, masks: MaskSet | None, callbacks: Callbacks,
         mask_update: MaskUpdate | None) -> TrainResult:
    step = 0
    if mask_update is not None:
        masks = mask_update(step, model, masks) or masks
    apply_masks_(model, masks)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(config.seed)
    X, y = data.train.X, data.train.y
    n = len(X)
    batches = math.ceil(n / config.batch_size)
    result = TrainResult(precision=training_precision(config))
    keep_replay = replay_fits(model, config.epochs)
    if keep_replay:
        result.replay.append(weights_now(model))  # epoch 0: where the training starts
    bf16 = result.precision == "bf16"
    best_val, best_state = loss_on(model, data.val), _state(model)
    last_good = best_state
    bad_epochs = 0
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        running = 0.0
        for b in range(batches):
            if callbacks.should_stop is not None and callbacks.should_stop():
                result.cancelled = True
                break
            idx = order[b * config.batch_size:(b + 1) * config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = nn.functional.mse_loss(model(X[idx]).float(), y[idx])
            if not torch.isfinite(loss):
                model.load_state_dict(last_good)
                raise TrainingDivergedError(
                    f"Training diverged at epoch {epoch}, batch {b + 1}: the loss became {float(loss.detach())}. "
                    "The model keeps its last good weights. Lower the learning rate or check the data.", epoch)
            loss.backward()
            mask_grads_(model, masks)
            if config.clip_norm:
                nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            optimizer.step()
            step += 1
            if mask_update is not None and (new_masks := mask_update(step, model, masks)) is not None:
                masks, best_val, best_state, bad_epochs = new_masks, math.inf, None, 0
            apply_masks_(model, masks)
            running += float(loss.detach()) * len(idx)
            result.samples += len(idx)
            if callbacks.on_batch is not None:
                callbacks.on_batch(b + 1, batches)
        if result.cancelled:
            break
        val = loss_on(model, data.val)
        if not math.isfinite(val):
            model.load_state_dict(last_good)
            raise TrainingDivergedError(f"Training diverged at epoch {epoch}: the validation loss became {val}. "
                                        "The model keeps its last good weights. Lower the learning rate.", epoch)
        last_good = _state(model)
        if keep_replay:
            result.replay.append(weights_now(model))
        log = EpochLog(epoch, config.epochs, running / n, val, time.perf_counter() - t0)
        result.history.append(log)
        if callbacks.on_epoch is not None:
            callbacks.on_epoch(log)
        if val < best_val:
            best_val, best_state, result.best_epoch, bad_epochs = val, last_good, epoch, 0
        else:
            bad_epochs += 1
            if config.patience and bad_epochs >= config.patience:
                result.stopped_early = True
                break
    if best_state is not None:  # None: cancelled right after a mask change; keep the current weights
        model.load_state_dict(best_state)
    result.seconds = time.perf_counter() - start
    return result
