"""The forecaster: seeded construction, shapes, gate order, and the Dey & Salem gate variants' equations."""
from __future__ import annotations

import pytest
import torch

from _engine_support import same_state, state_of, tiny_model
from scgru_core import CELLS, GATES, ConfigError, ModelConfig, build_model, weight_names
from scgru_core.net.model import gate_blocks


def test_same_seed_same_weights_and_the_global_rng_is_untouched():
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    a = tiny_model(hidden=8, seed=3)
    assert torch.equal(torch.rand(2), expected)
    assert same_state(state_of(a), state_of(tiny_model(hidden=8, seed=3)))
    assert not same_state(state_of(a), state_of(tiny_model(hidden=8, seed=4)))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("horizon", [1, 4])
def test_forecast_shapes(cell, layers, horizon):
    model = tiny_model(hidden=5, layers=layers, cell=cell, horizon=horizon)
    x = torch.randn(7, 11)
    out = model(x)
    assert out.shape == (7, horizon)
    assert torch.allclose(model(x.unsqueeze(-1)), out)
    assert weight_names(model) == [f"rnn.weight_{k}_l{i}" for i in range(layers) for k in ("ih", "hh")]
    assert weight_names(model, include_head=True)[-1] == "head.weight"


def test_gate_blocks_follow_pytorchs_reset_update_new_order():
    """Saturating the *update* gate (z = 1) freezes h at its initial zero, so the forecast is the head's bias."""
    model = tiny_model(hidden=6)
    update = gate_blocks(model, "rnn.weight_ih_l0")["update"]
    with torch.no_grad():
        model.rnn.bias_ih_l0[update] = 60.0
    out = model(torch.randn(5, 9))
    assert torch.allclose(out, model.head.bias.expand(5, 1), atol=1e-6)
    assert list(gate_blocks(model, "rnn.weight_hh_l0")) == list(GATES)


def test_gate_variant_blocks():
    assert list(gate_blocks(tiny_model(cell="gru1"), "rnn.weight_ih_l0")) == ["new"]
    assert list(gate_blocks(tiny_model(cell="gru1"), "rnn.weight_hh_l0")) == list(GATES)
    assert list(gate_blocks(tiny_model(cell="gru3"), "rnn.weight_hh_l0")) == ["new"]
    assert list(gate_blocks(tiny_model(), "head.weight")) == ["head"]


def _reference_variant(model, x):
    """The docstring's equations written out step by step for one layer."""
    rnn, H = model.rnn, model.config.hidden
    w_ih, b_in, w_hh, b_hn = rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0
    gb = getattr(rnn, "gate_bias_l0", None)
    h = torch.zeros(x.shape[0], H)
    for t in range(x.shape[1]):
        xt = x[:, t:t + 1]
        if rnn.variant == "gru1":  # z, r = sigmoid(U h + b)
            g = torch.sigmoid(h @ w_hh[:2 * H].T + gb)
        elif rnn.variant == "gru2":  # z, r = sigmoid(U h)
            g = torch.sigmoid(h @ w_hh[:2 * H].T)
        else:  # z, r = sigmoid(b)
            g = torch.sigmoid(gb).expand(x.shape[0], 2 * H)
        r, z = g[:, :H], g[:, H:]
        w_hn = w_hh[2 * H:] if rnn.variant != "gru3" else w_hh
        n = torch.tanh(xt @ w_ih.T + b_in + r * (h @ w_hn.T + b_hn))
        h = (1 - z) * n + z * h
    return model.head(h)


@pytest.mark.parametrize("cell", ["gru1", "gru2", "gru3"])
def test_gate_variants_compute_their_equations(cell):
    model = tiny_model(hidden=5, cell=cell, seed=2)
    x = torch.randn(4, 9)
    with torch.no_grad():
        assert torch.allclose(model(x), _reference_variant(model, x), atol=1e-6)


def test_the_gru1_update_gate_bias_is_the_second_half():
    model = tiny_model(hidden=6, cell="gru1")
    with torch.no_grad():
        model.rnn.gate_bias_l0[6:] = 60.0  # z = 1: h stays zero
    assert torch.allclose(model(torch.randn(3, 7)), model.head.bias.expand(3, 1), atol=1e-6)


@pytest.mark.parametrize("kw", [{"hidden": 0}, {"hidden": 2000}, {"layers": 0}, {"layers": 4}, {"cell": "transformer"}])
def test_model_config_refuses_bad_settings(kw):
    with pytest.raises(ConfigError):
        ModelConfig(**kw)


def test_gradients_flow_to_every_parameter_of_every_cell():
    for cell in CELLS:
        model = build_model(ModelConfig(hidden=4, layers=2, cell=cell))
        model(torch.randn(3, 6)).sum().backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and bool(p.grad.abs().sum() > 0), (cell, name)
