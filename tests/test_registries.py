"""One registry per kind of thing: a rule or a training method registered once (here, in a test) appears in every
place that lists them, with no other edit: the settings table and its links, the Prune page, Show code, Compare,
the command line and the study."""
from __future__ import annotations

import json

import pytest
import torch.nn.utils.prune as tprune

import scgru_core as sc
from _engine_support import csv_bytes, sine_values
from apptest_helpers import new_app, page, train_small
from scgru_core.cli.main import main
from scgru_core.errors import ConfigError
from scgru_core.pruning.rules import RULES, RuleSpec, TorchForm
from scgru_core.registry import Registry
from scgru_core.study.methods import TRAINED, TrainedMethod, known_methods, method_kind, method_label
from scgru_core.teach.links import parse_query
from scgru_core.teach.reproduce import prune_code
from scgru_core.teach.settings import SETTINGS, LabState

TINY = ["--window", "8", "--hidden", "4", "--epochs", "1", "--finetune-epochs", "0", "--quiet"]


@pytest.fixture
def largest_first():
    """A rule no module of the lab knows: prune the largest |w| (a rule no one should use, which is the point: its
    results differ from every registered rule's, so a test sees that it really ran)."""

    class LargestFirst(tprune.L1Unstructured):
        def compute_mask(self, t, default_mask):
            return super().compute_mask(1.0 / (t.abs() + 1e-12), default_mask)  # L1 ranks the inverse: largest go

    spec = RULES.register(RuleSpec("largest_first", "Largest first (the opposite of magnitude)", "sparsity",
                                   lambda c: LargestFirst(amount=c.sparsity),
                                   description="Prune the largest |w|: what not to do.",
                                   explain="largest first: prune the {sparsity:.0%} largest |w| {where}",
                                   torch=TorchForm("prune.l1_unstructured", "prune.L1Unstructured", "amount={sparsity}")))
    yield spec
    RULES.unregister(spec.name)


@pytest.fixture
def longer_dense():
    spec = TRAINED.register(TrainedMethod("dense_gru2", "GRU2 trained like the dense model", "unpruned",
                                          "A second unpruned reference.", cell="gru2"))
    yield spec
    TRAINED.unregister(spec.name)


def test_a_registry_refuses_a_second_spec_of_a_name_and_names_the_known_ones():
    colours = Registry("colour")
    red = colours.register(TrainedMethod("red", "Red", "unpruned"))
    with pytest.raises(ValueError, match="already"):
        colours.register(TrainedMethod("red", "Red again", "unpruned"))
    assert colours.require("red") is red
    with pytest.raises(ConfigError, match="unknown colour 'blue': choose one of red"):
        colours.require("blue")


def test_a_registered_rule_is_a_setting_a_link_may_carry_and_leaves_with_it(largest_first):
    assert "largest_first" in SETTINGS["method"].choices
    assert SETTINGS["method"].label_of("largest_first") == "Largest first"
    assert "Prune the largest |w|" in SETTINGS["method"].help
    state, ignored = parse_query({"method": "largest_first", "sparsity": "0.5"})
    assert (state.method, ignored) == ("largest_first", [])
    RULES.unregister("largest_first")
    try:
        assert "largest_first" not in SETTINGS["method"].choices
        assert parse_query({"method": "largest_first"})[0].method == LabState().method
    finally:
        RULES.register(largest_first)


def test_a_registered_rule_prunes_in_the_engine_and_show_code_writes_it(largest_first):
    model = sc.build_model(sc.ModelConfig(hidden=8), horizon=1, seed=0)
    ours = sc.prune(model, sc.PruneConfig(method="largest_first", sparsity=0.5))
    small = sc.prune(model, sc.PruneConfig(method="magnitude", sparsity=0.5))
    assert ours.sparsity == pytest.approx(small.sparsity, abs=0.01)
    for name, mask in ours.masks.items():  # what one prunes, the other keeps
        assert not bool((mask & small.masks[name]).any()), name
    code = prune_code(LabState().updated(method="largest_first", sparsity=0.5))
    assert "largest first: prune the 50% largest |w| in each matrix" in code
    assert "prune.l1_unstructured(module, name, amount=0.5)" in code


def cli_run(tmp_path, capsys, *flags: str) -> dict:
    """`python -m scgru_core run` in this process (where the test's registration is) on a small series: its JSON."""
    data, out = tmp_path / "series.csv", tmp_path / "run.json"
    data.write_bytes(csv_bytes(sine_values(240)))
    assert main(["run", "--data", str(data), *TINY, *flags, "--json", str(out)]) == 0
    capsys.readouterr()
    return json.loads(out.read_text())


def test_a_registered_rule_runs_from_the_command_line(largest_first, tmp_path, capsys):
    run = cli_run(tmp_path, capsys, "--method", "largest_first", "--sparsity", "0.5")
    assert run["config"]["prune"]["method"] == "largest_first"
    assert run["sparsity"]["overall"] == pytest.approx(0.5, abs=0.02)


def test_a_registered_rule_is_offered_and_applied_on_the_prune_page(largest_first):
    at = page(train_small(new_app(), hidden=8, epochs=1), "prune")
    method = at.selectbox(key="p_method")
    assert "largest_first" in method.options or "Largest first" in method.options
    method.set_value("largest_first").run()
    assert not at.exception
    at.slider(key=SETTINGS["sparsity"].widget).set_value(50).run()
    assert not at.exception
    current = at.session_state["session"].prune_setting
    assert current.config.method == "largest_first" and current.sparsity == pytest.approx(0.5, abs=0.02)


def test_a_registered_training_method_is_compared_everywhere(longer_dense, tmp_path, capsys):
    assert "dense_gru2" in known_methods() and method_kind("dense_gru2") == "unpruned"
    assert method_label("dense_gru2") == "GRU2 trained like the dense model"
    data = sc.prepare(sc.series_from_frame(__import__("pandas").DataFrame({"v": sine_values(240)})),
                      sc.WindowConfig(window=8))
    config = sc.CompareConfig(methods=("dense_gru2",), sparsities=(0.5,), model=sc.ModelConfig(hidden=4),
                              train=sc.TrainConfig(epochs=1), finetune_epochs=0)
    row = sc.compare(data, config).rows[0]
    assert (row["method"], row["kind"]) == ("dense_gru2", "unpruned")
    assert row["params_total"] == sum(p.numel() for p in sc.build_model(
        sc.ModelConfig(hidden=4, cell="gru2"), horizon=1).parameters())  # the cell its spec names was trained
    csv = tmp_path / "series.csv"
    csv.write_bytes(csv_bytes(sine_values(240)))
    assert main(["compare", "--data", str(csv), "--methods", "dense_gru2", "--sparsities", "0.5", "--window", "8",
                 "--hidden", "4", "--epochs", "1", "--finetune-epochs", "0", "--quiet", "--executor", "local", "--csv",
                 str(tmp_path / "rows.csv")]) == 0
    capsys.readouterr()
    assert "dense_gru2" in (tmp_path / "rows.csv").read_text()


def test_a_registered_training_method_is_offered_on_the_compare_page(longer_dense):
    at = page(new_app(), "compare")
    options = at.multiselect(key="cmp_methods").options
    assert "GRU2 trained like the dense model" in options or "dense_gru2" in options


@pytest.fixture
def another_cell():
    """A cell no module of the lab knows (PyTorch's GRU under another name: enough to see it travel)."""
    from torch import nn

    from scgru_core.net.cells import CELLS, GATES, CellSpec
    spec = CELLS.register(CellSpec("gru_twin", "GRU twin: the standard GRU, registered in a test",
                                   lambda i, h, n: nn.GRU(i, h, n, batch_first=True), {"ih": GATES, "hh": GATES},
                                   "A second name for nn.GRU."))
    yield spec
    CELLS.unregister(spec.name)


def test_a_registered_cell_is_offered_everywhere_and_trains(another_cell, tmp_path, capsys):
    assert "gru_twin" in SETTINGS["cell"].choices
    assert parse_query({"cell": "gru_twin"}) == (LabState(cell="gru_twin"), [])
    assert method_kind("gru_twin") == "unpruned" and "gru_twin" in known_methods()  # Compare's reference
    model = sc.build_model(sc.ModelConfig(hidden=4, cell="gru_twin"), horizon=1, seed=0)
    assert list(sc.net.model.gate_blocks(model, "rnn.weight_hh_l0")) == ["reset", "update", "new"]
    assert cli_run(tmp_path, capsys, "--cell", "gru_twin", "--sensitivity", "1.0")["config"]["model"]["cell"] == "gru_twin"
    at = page(new_app(), "train")
    assert "gru_twin" in at.selectbox(key="m_cell").options or \
        "GRU twin: the standard GRU, registered in a test" in at.selectbox(key="m_cell").options
    from scgru_core.net.cells import CELLS
    CELLS.unregister("gru_twin")
    try:
        assert "gru_twin" not in SETTINGS["cell"].choices and "gru_twin" not in known_methods()
    finally:
        CELLS.register(another_cell)
