"""Make a recurrent network physically smaller: remove whole hidden units, then fine-tune the smaller network once.

`shrink` turns a `Forecaster` and a `UnitSelection` (units.py) into an ordinary `Forecaster` with
fewer hidden units: a plain `torch.nn.GRU` (or `nn.LSTM`, `nn.RNN`) and a narrower head, not a masked model, so it is faster
and smaller everywhere it runs. `expand` is the inverse used for honest comparisons: the same weights
back at full size with zeros where the units were, which is what masks alone would give (same size,
same speed). `shrink_and_finetune` is the structured SCGRU recipe: select, remove, fine-tune once.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import torch

from scgru_core.net.evaluate import evaluate
from scgru_core.net.metrics import Metrics
from scgru_core.net.model import Forecaster, build_model
from scgru_core.net.masks import MaskSet, masked_state
from scgru_core.net.train import Callbacks, TrainConfig, TrainResult, fit
from scgru_core.deploy.units import UnitConfig, UnitSelection, blocks_of, reader_of, select_units, unit_rows
from scgru_core.data.windows import Dataset


def _slice_plan(model: Forecaster, selection: UnitSelection) -> dict[str, tuple[torch.Tensor | None, torch.Tensor | None]]:
    """For every parameter: (rows kept, columns kept), None where that axis keeps everything."""
    H, G, plan = model.config.hidden, blocks_of(model), {}
    for k, units in enumerate(selection.keep):
        rows = unit_rows(H, units, G)
        plan[f"rnn.weight_ih_l{k}"] = (rows, None if k == 0 else selection.keep[k - 1])
        plan[f"rnn.weight_hh_l{k}"] = (rows, units)
        plan[f"rnn.bias_ih_l{k}"] = plan[f"rnn.bias_hh_l{k}"] = (rows, None)
    plan["head.weight"] = (None, selection.keep[-1])
    plan["head.bias"] = (None, None)
    return plan


def _take(t: torch.Tensor, rows: torch.Tensor | None, cols: torch.Tensor | None) -> torch.Tensor:
    if rows is not None:
        t = t.index_select(0, rows)
    if cols is not None:
        t = t.index_select(1, cols)
    return t.contiguous()


def shrink(model: Forecaster, selection: UnitSelection, masks: MaskSet | None = None) -> tuple[Forecaster, MaskSet]:
    """The smaller model holding only the kept units (masks applied), and the masks cut to its shape."""
    if selection.hidden_before != model.config.hidden:
        raise ValueError("the selection was made for another model")
    state = masked_state(model, masks or {})
    plan = _slice_plan(model, selection)
    small = build_model(replace(model.config, hidden=selection.hidden_after), horizon=model.horizon)
    small.load_state_dict({name: _take(t, *plan[name]) for name, t in state.items()}, strict=True)
    small_masks = {name: _take(m, *plan[name]) for name, m in (masks or {}).items()}
    return small.eval(), small_masks


def expand(small: Forecaster, selection: UnitSelection) -> Forecaster:
    """`small`'s weights back at full size, zeros where removed units were: the masked-model equivalent.

    Its forecasts equal `small`'s exactly: a removed unit's outgoing columns are zero, so what it
    computes reaches nothing.
    """
    full = build_model(replace(small.config, hidden=selection.hidden_before), horizon=small.horizon)
    plan = _slice_plan(full, selection)
    state = {}
    for name, t in full.state_dict().items():
        rows, cols = plan[name]
        big = torch.zeros_like(t)
        index = (rows if rows is not None else slice(None),)
        if cols is not None:
            index = (rows.unsqueeze(1) if rows is not None else slice(None), cols)
        big[index] = small.state_dict()[name]
        state[name] = big
    full.load_state_dict(state, strict=True)
    return full.eval()


def unit_masks(model: Forecaster, selection: UnitSelection) -> MaskSet:
    """The removal as masks over the full model's weight matrices (rows and reader columns of removed units)."""
    H, G, masks, params = model.config.hidden, blocks_of(model), {}, dict(model.named_parameters())

    def mask_of(name: str) -> torch.Tensor:
        return masks.setdefault(name, torch.ones_like(params[name], dtype=torch.bool))

    for k, units in enumerate(selection.keep):
        gone = torch.ones(H, dtype=torch.bool)
        gone[units] = False
        for name in (f"rnn.weight_ih_l{k}", f"rnn.weight_hh_l{k}"):  # its rows
            mask_of(name)[unit_rows(H, gone.nonzero().flatten(), G)] = False
        for name in (f"rnn.weight_hh_l{k}", reader_of(model, k)):  # every weight that reads it
            mask_of(name)[:, gone] = False
    return masks


@dataclass
class ShrinkResult:
    """A structured pruning run: the selection, the smaller model before and after fine-tuning, their errors."""

    selection: UnitSelection
    shrunk: Forecaster  # straight after removal
    shrunk_metrics: Metrics
    finetuned: Forecaster | None
    finetuned_metrics: Metrics | None
    finetuning: TrainResult | None
    masks: MaskSet  # earlier unstructured masks, cut to the smaller shape (held during fine-tuning)
    shrink_seconds: float

    @property
    def final(self) -> Forecaster:
        return self.finetuned if self.finetuned is not None else self.shrunk

    @property
    def final_metrics(self) -> Metrics:
        return self.finetuned_metrics if self.finetuned_metrics is not None else self.shrunk_metrics


def shrink_and_finetune(model: Forecaster, data: Dataset, config: UnitConfig, finetune: TrainConfig | None,
                        masks: MaskSet | None = None, callbacks: Callbacks = Callbacks()) -> ShrinkResult:
    """Select units, remove them, and fine-tune the smaller network once (earlier masks held), as SCGRU does."""
    t0 = time.perf_counter()
    selection = select_units(model, config, masks)
    small, small_masks = shrink(model, selection, masks)
    seconds = time.perf_counter() - t0
    metrics = evaluate(small, data).metrics
    tuned = training = tuned_metrics = None
    if finetune is not None and finetune.epochs > 0:
        tuned = copy.deepcopy(small)
        training = fit(tuned, data, finetune, masks=small_masks or None, callbacks=callbacks)
        tuned_metrics = evaluate(tuned.eval(), data).metrics
    return ShrinkResult(selection=selection, shrunk=small, shrunk_metrics=metrics, finetuned=tuned,
                        finetuned_metrics=tuned_metrics, finetuning=training, masks=small_masks, shrink_seconds=seconds)

