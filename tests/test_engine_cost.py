"""Cost accounting (notes §8): parameter counts, MACs per forecast dense and non-zero, CSR / bitmask bytes,
the gate variants' parameter savings (Dey & Salem, notes §5), and the latency probe's shape."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _engine_support import tiny_model
from scgru_core import ModelConfig, PruneConfig, Scope, build_model, measure_latency, model_cost, prune
from scgru_core.net.cost import bitmask_bytes, csr_bytes
from scgru_core.net.model import Forecaster


def gru_params(H: int, I: int = 1, O: int = 1, layers: int = 1) -> int:
    """3H(I + H + 2) for the first layer (weights ih, hh, two biases), 3H(H + H + 2) for each further one, + head."""
    return 3 * H * (I + H + 2) + (layers - 1) * 3 * H * (H + H + 2) + (O * H + O)


def gru_macs(H: int, window: int, I: int = 1, O: int = 1, layers: int = 1) -> int:
    return window * (3 * H * I + 3 * H * H) + (layers - 1) * window * (3 * H * H + 3 * H * H) + O * H


def test_reference_configuration_has_371001_parameters():
    model = build_model(ModelConfig(hidden=350))
    cost = model_cost(model, window=100)
    assert cost.params_total == 371_001 == gru_params(350)
    assert cost.macs_dense == 100 * 368_550 + 350  # 36.86M per sequence, notes §8
    assert cost.bytes_dense == 4 * 371_001


@pytest.mark.parametrize("H", [1, 4, 16])
@pytest.mark.parametrize("O", [1, 3])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("window", [1, 24])
def test_dense_counts_follow_the_formulas(H, O, layers, window):
    model = tiny_model(hidden=H, layers=layers, horizon=O)
    cost = model_cost(model, window=window)
    assert cost.params_total == gru_params(H, O=O, layers=layers) == sum(p.numel() for p in model.parameters())
    assert cost.macs_dense == gru_macs(H, window, O=O, layers=layers)
    assert cost.params_nonzero == cost.params_total and cost.macs_nonzero == cost.macs_dense
    assert cost.sparsity == 0.0


def test_pruned_costs_by_hand_on_a_tiny_model():
    # H = 2, I = 1, O = 1, window 3. weight_ih 6x1, weight_hh 6x2, two biases of 6, head 1x2 + 1 bias: 33 parameters.
    model = tiny_model(hidden=2)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.5)  # nothing is zero by accident
    masks = {"rnn.weight_ih_l0": torch.tensor([[1], [0], [1], [1], [0], [1]], dtype=torch.bool),  # 4 kept of 6
             "rnn.weight_hh_l0": torch.tensor([[1, 0], [0, 0], [1, 1], [0, 1], [1, 0], [1, 1]], dtype=torch.bool)}  # 7/12
    cost = model_cost(model, masks, window=3)
    assert cost.params_total == 33
    assert cost.params_nonzero == 33 - 2 - 5
    assert cost.macs_dense == 3 * (6 + 12) + 2 == 56
    assert cost.macs_nonzero == 3 * (4 + 7) + 2 == 35
    assert cost.bytes_dense == 4 * 33 == 132
    # CSR, fp32 values + int32 column indices + int32 row pointers (R + 1), biases dense:
    #   ih 4*8 + 7*4 = 60; hh 7*8 + 7*4 = 84; head 2*8 + 2*4 = 24; biases 13*4 = 52
    assert cost.bytes_csr == 60 + 84 + 24 + 52 == 220
    # bitmask: fp32 non-zeros + ceil(RC/8) bytes: ih 16 + 1; hh 28 + 2; head 8 + 1; biases 52
    assert cost.bytes_bitmask == 17 + 30 + 9 + 52 == 108
    assert cost.compression == pytest.approx(132 / 108)
    assert cost.sparsity == pytest.approx(7 / 33)
    d = cost.to_dict()
    assert d["compression"] == pytest.approx(132 / 108) and d["macs_nonzero"] == 35


def test_weights_that_are_already_zero_count_as_pruned():
    model = tiny_model(hidden=4)
    with torch.no_grad():
        model.rnn.weight_hh_l0[:3] = 0.0
    cost = model_cost(model, None, window=5)
    assert cost.params_nonzero == cost.params_total - 12
    assert cost.macs_nonzero == cost.macs_dense - 5 * 12


def test_costs_follow_the_pruning_result():
    model = tiny_model(hidden=16)
    result = prune(model, PruneConfig(method="magnitude", sparsity=0.75, scope=Scope.parse("hh")))
    cost = model_cost(model, result.masks, window=10)
    pruned = result.pruned["rnn.weight_hh_l0"]
    assert pruned == 0.75 * 3 * 16 * 16
    assert cost.params_total - cost.params_nonzero == pruned
    assert cost.macs_dense - cost.macs_nonzero == 10 * pruned


@settings(max_examples=60, deadline=None)
@given(R=st.integers(1, 400), C=st.integers(1, 400), data=st.data())
def test_storage_formulas(R, C, data):
    a = data.draw(st.integers(0, R * C))
    assert csr_bytes(a, R) == a * 4 + a * 4 + (R + 1) * 4
    assert bitmask_bytes(a, R * C) == a * 4 + math.ceil(R * C / 8)


def test_storage_break_even_points_of_notes_section_8():
    R = C = 350
    n = R * C
    dense = 4 * n
    assert csr_bytes(int(0.49 * n), R) < dense < csr_bytes(int(0.51 * n), R)  # CSR pays below ~50% density
    assert bitmask_bytes(int(0.02 * n), n) > csr_bytes(int(0.02 * n), R)  # CSR is smaller when very sparse
    assert bitmask_bytes(int(0.04 * n), n) < csr_bytes(int(0.04 * n), R)  # bitmask wins above ~3% density


# ---------------------------------------------------------------- gate variants, notes §5

def rnn_params(model) -> int:
    return sum(p.numel() for p in model.rnn.parameters())


@pytest.mark.parametrize("H,I", [(350, 1), (7, 1), (5, 3)])
def test_gate_variant_parameter_counts(H, I):
    counts = {}
    for cell in ("gru", "gru1", "gru2", "gru3"):
        model = Forecaster(ModelConfig(hidden=H, cell=cell), input_size=I)
        counts[cell] = rnn_params(model)
        assert model_cost(model, window=1).params_total == counts[cell] + H + 1
    paper = 3 * (H * H + H * I + H)  # Dey & Salem's base GRU: one bias per gate
    assert counts["gru"] == paper + 3 * H  # nn.GRU: b_ih and b_hh for every gate
    # relative to nn.GRU
    assert counts["gru"] - counts["gru1"] == 2 * H * I + 2 * H
    assert counts["gru"] - counts["gru2"] == 2 * H * I + 4 * H
    assert counts["gru"] - counts["gru3"] == 2 * H * I + 2 * H * H + 2 * H
    # the paper's deltas hold against a GRU with the same biases as the variants (b_hn kept: paper + H)
    same_biases = paper + H
    assert same_biases - counts["gru1"] == 2 * H * I
    assert same_biases - counts["gru2"] == 2 * (H * I + H)
    assert same_biases - counts["gru3"] == 2 * (H * I + H * H)
    if (H, I) == (350, 1):  # notes §5: base 369,600; GRU1 368,900; GRU2 368,200; GRU3 123,900 (+ b_hn = +350)
        assert paper == 369_600
        assert (counts["gru1"], counts["gru2"], counts["gru3"]) == (368_900 + H, 368_200 + H, 123_900 + H)


@pytest.mark.parametrize("cell,per_step", [("gru1", lambda H: H + 3 * H * H), ("gru2", lambda H: H + 3 * H * H),
                                           ("gru3", lambda H: H + H * H)])
def test_gate_variant_macs(cell, per_step):
    H, window = 6, 9
    cost = model_cost(build_model(ModelConfig(hidden=H, cell=cell)), window=window)
    assert cost.macs_dense == window * per_step(H) + H


# ---------------------------------------------------------------- latency probe

@pytest.mark.parametrize("batch", [1, 16])
def test_latency_probe_reports_per_forecast_time(batch):
    lat = measure_latency(tiny_model(hidden=8), window=12, batch=batch, repeats=3, warmup=1)
    assert lat.batch == batch and lat.ms_per_batch > 0
    assert lat.us_per_forecast == pytest.approx(1e3 * lat.ms_per_batch / batch)
