"""Sparse execution: the CSR per-step loop computes nn.GRU's equations (same output as the dense masked
model to 1e-5), really stores CSR, and the latency comparison reports what it measured."""
from __future__ import annotations

import copy

import pytest
import torch

import scgru_core as sc
from scgru_core.errors import ConfigError
from scgru_core.net.masks import masked_state
from scgru_core.deploy.sparse_exec import DENSE_FUSED, DENSE_LOOP, MEASURED_ON, SPARSE, SparseRecurrent, compare_latency


def dense_masked(model, masks):
    twin = copy.deepcopy(model).eval()
    twin.load_state_dict(masked_state(model, masks))
    return twin


@pytest.mark.parametrize("hidden,layers,horizon", [(16, 1, 1), (12, 2, 3), (8, 3, 1)])
@pytest.mark.parametrize("config", [sc.PruneConfig(sensitivity=0.0), sc.PruneConfig(sensitivity=1.5),
                                    sc.PruneConfig(method="magnitude", sparsity=0.95, scope=sc.Scope.parse("hh"),
                                                   global_=True),
                                    sc.PruneConfig(method="random", sparsity=0.6,
                                                   scope=sc.Scope.parse("both", head=True))])
def test_sparse_loop_equals_the_dense_masked_model(hidden, layers, horizon, config):
    model = sc.build_model(sc.ModelConfig(hidden=hidden, layers=layers), horizon=horizon, seed=1)
    with torch.no_grad():  # trained-looking weights: wider than the initialisation
        for p in model.parameters():
            p.mul_(3.0)
    masks = sc.prune(model, config).masks
    x = torch.randn(7, 20, generator=torch.Generator().manual_seed(0))
    want = dense_masked(model, masks)(x).detach()
    for layout in ("csr", "dense"):
        got = SparseRecurrent(model, masks, layout=layout)(x)
        assert got.shape == (7, horizon)
        assert torch.allclose(got, want, atol=1e-5, rtol=0), (layout, (got - want).abs().max())
    one = SparseRecurrent(model, masks)(x[:1])  # batch 1 as well
    assert torch.allclose(one, want[:1], atol=1e-5, rtol=0)


def test_weights_are_stored_as_csr_with_only_the_non_zeros():
    model = sc.build_model(sc.ModelConfig(hidden=16), seed=0)
    result = sc.prune(model, sc.PruneConfig(sensitivity=2.0))
    sparse = SparseRecurrent(model, result.masks)
    w_ih, w_hh, _, _ = sparse.layers[0]
    assert w_ih.layout == torch.sparse_csr and w_hh.layout == torch.sparse_csr
    kept = sum(int(m.sum()) for m in result.masks.values()) + model.head.weight.numel()
    assert sparse.nnz() == kept


def test_on_the_shipped_model_at_the_lesson_setting():
    from scgru_core.store.checkpoints import load_checkpoint

    ckpt = load_checkpoint("power_load")
    masks = sc.prune(ckpt.model, sc.PruneConfig(sensitivity=2.0)).masks
    X = ckpt.data.test.X[:64]
    assert torch.allclose(SparseRecurrent(ckpt.model, masks)(X), dense_masked(ckpt.model, masks)(X).detach(),
                          atol=1e-5, rtol=0)


def test_gate_variants_are_refused_with_a_clear_message():
    with pytest.raises(ConfigError, match="plain torch module"):
        SparseRecurrent(sc.build_model(sc.ModelConfig(hidden=8, cell="gru2")))
    with pytest.raises(ConfigError, match="layout"):
        SparseRecurrent(sc.build_model(sc.ModelConfig(hidden=8)), layout="coo")


def test_latency_comparison_measures_all_three_at_each_batch():
    model = sc.build_model(sc.ModelConfig(hidden=16), seed=0)
    masks = sc.prune(model, sc.PruneConfig(sensitivity=2.0)).masks
    cmp = compare_latency(model, masks, window=12, batches=(1, 8), repeats=3, warmup=1)
    assert {(r.implementation, r.batch) for r in cmp.rows} == {
        (impl, b) for impl in (DENSE_FUSED, DENSE_LOOP, SPARSE) for b in (1, 8)}
    assert all(r.ms_per_batch > 0 and r.us_per_forecast == pytest.approx(1e3 * r.ms_per_batch / r.batch)
               for r in cmp.rows)
    assert cmp.note == MEASURED_ON and MEASURED_ON in cmp.summary()
    assert cmp.speedup(8) == pytest.approx(cmp.ms(DENSE_FUSED, 8) / cmp.ms(SPARSE, 8))
    assert 0.5 < cmp.sparsity < 1 and cmp.threads == torch.get_num_threads() and cmp.hidden == 16
    assert len(cmp.to_records()) == 6
    # the model itself is untouched (no masks applied to it)
    assert all(int(p.count_nonzero()) == p.numel() for p in model.parameters())
