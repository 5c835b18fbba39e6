"""Masks, the one mechanism: a mask per pruned matrix (True = kept), applied to weights, to gradients and to a copy of
the state. Every rule produces a `MaskSet`; training, storage, export and measurement apply it only through here."""
from __future__ import annotations

import torch
from torch import nn

MaskSet = dict  # name -> bool tensor of the full matrix shape, True = kept


def masked_state(model: nn.Module, masks: MaskSet | None) -> dict[str, torch.Tensor]:
    """The model's state dict, copied, with every mask applied (pruned weights exactly zero)."""
    state = {k: v.detach().clone(memory_format=torch.contiguous_format) for k, v in model.state_dict().items()}
    for name, mask in (masks or {}).items():
        state[name].mul_(mask)
    return state


def apply_masks_(model: nn.Module, masks: MaskSet | None) -> None:
    """Zero the pruned weights in place."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, mask in (masks or {}).items():
            params[name].mul_(mask)


def mask_grads_(model: nn.Module, masks: MaskSet | None) -> None:
    """Zero the gradients of the pruned weights in place, so that an optimiser step cannot revive them."""
    params = dict(model.named_parameters())
    for name, mask in (masks or {}).items():
        if params[name].grad is not None:
            params[name].grad.mul_(mask)
