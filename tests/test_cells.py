"""Every recurrent cell people prune, beside the GRU: the LSTM and the Elman RNN go everywhere the GRU goes. Rules and
scopes against hand-computed masks on numbered weights, unit removal exact for dead units, exports that load
strictly into plain torch modules and forecast what the engine forecasts, ONNX against ONNX Runtime, int8, the CSR
loop, and the command line."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import scgru_core as sc
from _engine_support import csv_bytes, require_onnx_extras, sine_values, tiny_data, tiny_model
from scgru_core.cli.main import main
from scgru_core.deploy import export as ex
from scgru_core.deploy.shrink import shrink
from scgru_core.deploy.sparse_exec import SparseRecurrent
from scgru_core.deploy.units import UnitConfig, select_units
from scgru_core.net.masks import masked_state
from scgru_core.net.quantize import PrecisionUnavailable, int8_dynamic
from scgru_core.pruning.scopes import Scope

TORCH = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM, "rnn": torch.nn.RNN}
BLOCKS = {"gru": 3, "lstm": 4, "rnn": 1}


def numbered(cell: str, hidden: int = 3, layers: int = 1) -> sc.Forecaster:
    """A model whose weights are numbered: matrix m holds +-(1, 2, 3, ...) / 100 with alternating signs, so every
    |w| is distinct and a mask can be worked out by hand."""
    model = tiny_model(hidden=hidden, layers=layers, cell=cell)
    with torch.no_grad():
        for name, p in model.named_parameters():
            n = p.numel()
            signs = torch.tensor([(-1) ** i for i in range(n)], dtype=torch.float32)
            p.copy_((torch.arange(1, n + 1, dtype=torch.float32) * signs / 100).view_as(p))
    return model


def hand_rows(cell: str, hidden: int, kind: str, gates: set[str] | None) -> list[int]:
    """Rows of a weight_{kind} matrix that a scope naming `gates` (None: all) selects, from PyTorch's documented
    block order (GRU r, z, n; LSTM i, f, g, o; RNN one block)."""
    order = {"gru": ["reset", "update", "new"], "lstm": ["input", "forget", "cell", "output"], "rnn": ["hidden"]}[cell]
    return [g * hidden + j for g, gate in enumerate(order) if gates is None or gate in gates for j in range(hidden)]


SCOPES = {"gru": ["both", "ih", "hh", "hh:reset,hh:update", "ih:new,hh:new"],
          "lstm": ["both", "ih", "hh", "hh:forget", "ih:input,hh:output"],
          "rnn": ["both", "ih", "hh", "hh:hidden"]}


@pytest.mark.parametrize("cell,scope", [(c, s) for c, scopes in SCOPES.items() for s in scopes])
@pytest.mark.parametrize("rule", ["magnitude", "sensitivity"])
def test_every_rule_and_scope_on_every_cell_gives_the_hand_computed_mask(cell, scope, rule):
    H = 3
    model = numbered(cell, hidden=H)
    parsed = Scope.parse(scope)
    config = sc.PruneConfig(method=rule, scope=parsed, sparsity=0.5, sensitivity=1.0, floor=0.01)
    masks = sc.prune(model, config).masks
    params = dict(model.named_parameters())
    for kind in ("ih", "hh"):
        name = f"rnn.weight_{kind}_l0"
        w = params[name].detach().numpy()
        named = {g for k, g in (parsed.pairs or set()) if k == kind} if parsed.pairs else set(parsed.gates or ())
        selected = kind in parsed.kinds and (parsed.pairs is None or named)
        rows = hand_rows(cell, H, kind, named or None) if selected else []
        expected = np.ones_like(w, dtype=bool)
        if rows:
            inside = np.abs(w[rows])
            if rule == "magnitude":  # the round(0.5 n) smallest |w| of the in-scope rows go
                cut = np.sort(inside.ravel())[round(0.5 * inside.size) - 1]
                expected[rows] = inside > cut
            else:  # SCGRU: |w| >= 1.0 * population std of the in-scope |w| stays
                expected[rows] = inside >= 1.0 * inside.std()
        got = masks[name].numpy() if name in masks else np.ones_like(w, dtype=bool)
        assert (got == expected).all(), (name, got.astype(int), expected.astype(int))


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_random_and_taylor_respect_the_cells_scope_and_target(cell):
    data = tiny_data(200, window=8)
    model = tiny_model(hidden=4, cell=cell)
    for rule in ("random", "taylor"):
        scores = sc.taylor_scores(model, data) if rule == "taylor" else None
        result = sc.prune(model, sc.PruneConfig(method=rule, sparsity=0.5, scope=Scope.parse("hh")), scores=scores)
        assert all(bool(m.all()) for n, m in result.masks.items() if n != "rnn.weight_hh_l0")  # out of scope: kept
        m = result.masks["rnn.weight_hh_l0"]
        assert m.shape == (BLOCKS[cell] * 4, 4) and int((~m).sum()) == round(0.5 * m.numel())


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_a_scope_naming_gates_the_cell_lacks_is_refused_with_its_own_gates(cell):
    model = tiny_model(hidden=4, cell=cell)
    with pytest.raises(sc.ConfigError, match="does not have") as err:
        sc.prune(model, sc.PruneConfig(scope=Scope.parse("hh:reset")))
    assert ", ".join(sc.CELLS[cell].gates) in str(err.value)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_costs_and_the_training_budget_count_the_cells_blocks(cell):
    H, W = 8, 10
    model = tiny_model(hidden=H, cell=cell)
    cost = sc.model_cost(model, None, W)
    G = BLOCKS[cell]
    assert cost.macs_dense == W * G * H * (1 + H) + H  # per step: G blocks of H x 1 and H x H; the head once
    assert cost.params_total == sum(p.numel() for p in TORCH[cell](1, H).parameters()) + H + 1
    from scgru_core.net.budget import _macs_per_step
    assert _macs_per_step(model.config) == G * H * (1 + H)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_removing_dead_units_is_exact_on_every_cell(cell, layers):
    model = tiny_model(hidden=16, layers=layers, horizon=2, cell=cell, seed=layers)
    result = sc.prune(model, sc.PruneConfig(method="magnitude", sparsity=0.98, scope=Scope(head=True)))
    masked = tiny_model(hidden=16, layers=layers, horizon=2, cell=cell)
    masked.load_state_dict(masked_state(model, result.masks))
    sel = select_units(model, UnitConfig(method="dead"), result.masks)
    assert sel.hidden_after < 16, "this pruning leaves dead units to remove"
    small, _ = shrink(model, sel, result.masks)
    assert isinstance(small.rnn, TORCH[cell]) and small.rnn.hidden_size == sel.hidden_after
    x = torch.randn(32, 10, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert (small.eval()(x) - masked.eval()(x)).abs().max() <= 1e-6


def test_an_lstm_unit_is_its_four_gate_rows_and_its_columns():
    H = 5
    model = tiny_model(hidden=H, layers=2, cell="lstm", horizon=2)
    sel = select_units(model, UnitConfig(fraction=0.4))  # 2 of 5 units go
    small, _ = shrink(model, sel)
    kept0 = sel.keep[0]
    rows = torch.cat([kept0 + g * H for g in range(4)])  # input, forget, cell, output rows of each kept unit
    p, q = model.state_dict(), small.state_dict()
    assert torch.equal(q["rnn.weight_hh_l0"], p["rnn.weight_hh_l0"][rows][:, kept0])
    assert torch.equal(q["rnn.bias_ih_l0"], p["rnn.bias_ih_l0"][rows])
    assert torch.equal(q["rnn.weight_ih_l1"], p["rnn.weight_ih_l1"][torch.cat([sel.keep[1] + g * H for g in range(4)])][:, kept0])
    assert torch.equal(q["head.weight"], p["head.weight"][:, sel.keep[1]])


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("layers", [1, 2])
def test_the_export_loads_strictly_into_a_fresh_plain_module_and_forecasts_the_same(tmp_path, cell, layers):
    model = tiny_model(hidden=6, layers=layers, horizon=2, cell=cell, seed=3)
    ex.export_model(tmp_path, model, window=9, scaler=None)
    state = load_file(tmp_path / ex.WEIGHTS)
    rnn, head = TORCH[cell](1, 6, layers, batch_first=True), torch.nn.Linear(6, 2)
    assert set(state) == {f"{cell}.{k}" for k in rnn.state_dict()} | {f"head.{k}" for k in head.state_dict()}
    rnn.load_state_dict({k[len(cell) + 1:]: v for k, v in state.items() if k.startswith(cell + ".")}, strict=True)
    head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")}, strict=True)
    x = torch.randn(4, 9, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        _, final = rnn(x.unsqueeze(-1))
        h = final[0] if cell == "lstm" else final
        assert torch.allclose(head(h[-1]), model.eval()(x), atol=1e-6)
    desc = json.loads((tmp_path / ex.DESCRIPTION).read_text())
    assert desc["cell"] == cell and desc["module"] == TORCH[cell].__name__
    assert ex.load_export(tmp_path).model.cell == cell


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_onnx_runtime_forecasts_equal_pytorch_for_every_cell(cell):
    require_onnx_extras()
    data = tiny_data(300, window=12)
    model = tiny_model(hidden=7, layers=2, cell=cell, seed=4)
    session = ex.onnx_session(ex.onnx_bytes(model, data.window))
    with torch.inference_mode():
        ref = model.eval()(data.test.X)
    assert (ex.onnx_forecast(session, data.test.X) - ref).abs().max() <= 1e-5
    assert (ex.onnx_forecast(session, data.test.X[:1]) - ref[:1]).abs().max() <= 1e-5


def test_int8_quantizes_an_lstm_and_refuses_an_rnn_in_words():
    x = torch.randn(3, 10, generator=torch.Generator().manual_seed(0))
    lstm = tiny_model(hidden=16, cell="lstm").eval()
    try:
        q = int8_dynamic(lstm)
    except PrecisionUnavailable as exc:  # a torch build without the quantized engine: said, not faked
        pytest.skip(str(exc))
    assert type(q.rnn).__module__.startswith("torch.ao.nn.quantized")
    with torch.inference_mode():
        assert (q(x) - lstm(x)).abs().max() < 0.1
    with pytest.raises(PrecisionUnavailable, match="nn.RNN"):
        int8_dynamic(tiny_model(hidden=16, cell="rnn"))


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("layout", ["csr", "dense"])
def test_the_csr_loop_forecasts_what_the_masked_model_forecasts(cell, layout):
    model = tiny_model(hidden=12, layers=2, horizon=3, cell=cell, seed=2)
    result = sc.prune(model, sc.PruneConfig(method="magnitude", sparsity=0.7, scope=Scope(head=True)))
    masked = tiny_model(hidden=12, layers=2, horizon=3, cell=cell)
    masked.load_state_dict(masked_state(model, result.masks))
    x = torch.randn(5, 11, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert (SparseRecurrent(model, result.masks, layout=layout)(x) - masked.eval()(x)).abs().max() <= 1e-5


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_the_command_line_trains_prunes_and_exports_every_cell(tmp_path, cell):
    data = tmp_path / "s.csv"
    data.write_bytes(csv_bytes(sine_values(300)))
    out = tmp_path / "run.json"
    rc = main(["run", "--data", str(data), "--window", "12", "--hidden", "6", "--epochs", "1", "--cell", cell,
               "--scope", "hh", "--finetune-epochs", "1", "--json", str(out), "--export", str(tmp_path / "ex"),
               "--quiet"])
    assert rc == 0
    record = json.loads(out.read_text())
    assert record["config"]["model"]["cell"] == cell
    assert record["sparsity"]["per_matrix"]["rnn.weight_ih_l0"] == 0.0  # scope hh: the input weights stay
    assert record["sparsity"]["per_matrix"]["rnn.weight_hh_l0"] > 0
    assert json.loads((tmp_path / "ex" / ex.DESCRIPTION).read_text())["cell"] == cell
    assert main(["run", "--data", str(data), "--cell", "transformer", "--quiet"]) == 2


def test_a_comparison_prunes_an_lstm_and_keeps_its_cell_on_every_row():
    data = tiny_data(240, window=8)
    cfg = sc.CompareConfig(methods=("magnitude", "agp", "dense"), sparsities=(0.5,), model=sc.ModelConfig(hidden=4, cell="lstm"),
                           train=sc.TrainConfig(epochs=1, batch_size=64), finetune_epochs=1)
    rows = sc.compare(data, cfg).rows
    assert {r["cell"] for r in rows} == {"lstm"} and {r["method"] for r in rows} == {"magnitude", "agp", "dense"}
    dense = next(r for r in rows if r["method"] == "dense")
    assert dense["params_total"] == sum(p.numel() for p in tiny_model(hidden=4, cell="lstm").parameters())
    with pytest.raises(sc.ConfigError, match="gate variants"):
        sc.CompareConfig(model=sc.ModelConfig(cell="gru2"))


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_a_link_naming_a_cell_opens_on_its_shipped_model_without_training(cell):
    from apptest_helpers import APP, TIMEOUT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["cell"] = cell
    at.switch_page("app_pages/prune.py").run()
    assert not at.exception, [e.message for e in at.exception]
    info = at.session_state["session"].model_info
    assert info.model_config == sc.ModelConfig(cell=cell) and info.made == "shipped"
    panels = [a["text"] for spec in (el.proto.spec for el in at.get("plotly_chart"))
              for a in json.loads(spec)["layout"].get("annotations", [])]
    assert sum(any(g in t for t in panels) for g in sc.CELLS[cell].gates) == len(sc.CELLS[cell].gates)


def test_the_forget_gate_at_rest_is_the_sigmoid_of_its_two_biases():
    from scgru_core.teach import lesson

    model = tiny_model(hidden=4, cell="lstm")
    with torch.no_grad():
        for name in ("rnn.bias_ih_l0", "rnn.bias_hh_l0"):
            dict(model.named_parameters())[name][4:8] = torch.tensor([0.0, 0.5, 1.0, -1.0])  # rows 4H..8H: forget
    expected = torch.sigmoid(2 * torch.tensor([0.0, 0.5, 1.0, -1.0])).numpy()
    assert np.allclose(lesson.forget_at_rest(model), expected)


def test_the_lessons_cell_section_draws_the_lstm_on_screen_and_only_says_it_otherwise():
    from apptest_helpers import charts, new_app, page, train_small

    at = train_small(new_app(), hidden=8, epochs=1, cell="lstm")
    at = page(at, "lesson")
    at.session_state["lesson_step"] = 2
    at.run()
    assert not at.exception and {"lesson_gru", "lesson_lstm"} <= set(charts(at))
    assert any(m.label == "Forget gate at rest, mean" for m in at.metric)
    assert any("forget gate's bias is never pruned" in m.value for m in at.markdown)
    at = train_small(at, hidden=8, epochs=1, cell="gru")
    at = page(at, "lesson")
    assert "lesson_lstm" not in charts(at) and any("Choose Cell **LSTM**" in c.value for c in at.caption)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_a_trainings_declared_memory_bounds_what_autograd_keeps_for_that_cell(cell):
    """What backpropagation keeps is the tensors autograd saves in the forward pass (counted exactly through
    saved_tensors_hooks, each storage once): the budget's declaration for the cell must bound it. (The peak of a
    real step, read as the process's maxrss growth, was 10.9 / 15.3 / 2.8 floats per state here, but a high-water
    mark is not a measure a test can rely on.)"""
    from scgru_core.net.budget import training_bytes

    B, T, H = 64, 100, 128
    model = tiny_model(hidden=H, cell=cell)
    kept: dict[int, int] = {}

    def pack(t):
        kept[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(torch.randn(B, T)).pow(2).mean()
    assert 0 < sum(kept.values()) <= training_bytes(sc.ModelConfig(hidden=H, cell=cell), B, T)


def test_the_prune_pages_gate_choice_offers_the_models_own_gates():
    from apptest_helpers import new_app, page, train_small

    at = page(train_small(new_app(), hidden=8, epochs=1, cell="lstm"), "prune")
    at.selectbox(key="p_scope").set_value("gates").run()
    gates = at.multiselect(key="p_gates")
    assert gates.options == [f"{k}:{g}" for k in ("ih", "hh") for g in ("input", "forget", "cell", "output")]
    assert gates.value == ["hh:input"]  # a GRU's default gates do not exist here: the LSTM's first recurrent gate
    gates.set_value(["hh:forget"]).run()
    assert not at.exception and not at.error
    assert at.session_state["session"].prune_setting.config.scope.to_text() == "hh:forget"
