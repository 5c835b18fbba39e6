"""Lower-precision copies of a model, where the platform pays for them.

int8: `torch.ao.quantization.quantize_dynamic` still handles `nn.GRU`, `nn.LSTM` and `nn.Linear` in torch 2.13 (not
`nn.RNN`: a model holding one is refused, rather than left float under an int8 label), but it is deprecated; it is used here and nowhere else, and when it is gone or refuses, `int8_dynamic` raises
`PrecisionUnavailable` with the reason so callers can leave that row out and say why.
bf16: only where the CPU multiplies bf16 natively (AVX512-BF16 or AMX); elsewhere it would be emulated
and slower, so it is not offered.
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from scgru_core.errors import ScgruError


class PrecisionUnavailable(ScgruError):
    """This precision cannot be used on this machine or torch build (the message says why)."""


def int8_dynamic(model: nn.Module) -> nn.Module:
    """A copy with int8 weights for its GRU / LSTM and Linear layers (activations stay float, quantized per call)."""
    if any(type(m) is nn.RNN for m in model.modules()):
        raise PrecisionUnavailable("torch's dynamic int8 quantization has no nn.RNN: an RNN model stays float32.")
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError as exc:
        raise PrecisionUnavailable(f"int8 dynamic quantization is not in this torch build ({exc}).") from None
    try:
        with warnings.catch_warnings():  # its deprecation notices: known, and the reason this is isolated
            warnings.simplefilter("ignore")
            return quantize_dynamic(copy.deepcopy(model).eval(), {nn.GRU, nn.LSTM, nn.Linear}, dtype=torch.qint8)
    except (RuntimeError, AssertionError, NotImplementedError) as exc:
        raise PrecisionUnavailable(f"int8 dynamic quantization failed on this machine ({exc}).") from None


def bf16_native() -> bool:
    """True where the CPU has native bf16 arithmetic (AVX512-BF16 or AMX tiles)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


class Bf16(nn.Module):
    """A bf16 copy of `model` that takes and returns float32, like the original."""

    def __init__(self, model: nn.Module):
        super().__init__()
        if not bf16_native():
            raise PrecisionUnavailable("This CPU has no native bf16 arithmetic (AVX512-BF16 or AMX): "
                                       "bf16 would be emulated and slower than float32.")
        self.inner = copy.deepcopy(model).eval().to(torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.to(torch.bfloat16)).float()
