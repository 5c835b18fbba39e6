"""'Show code': the Python that reproduces a lab state, with the scgru_core API and with torch.

`python_code(state)` loads the sample, trains the dense model, prunes once and fine-tunes once
exactly as the app does for that state, and ends with `sparsity` and `metrics` (dense,
pruned, fine-tuned). `prune_code(state)` continues it (it needs `model` and `data`) and
prunes the same model with `torch.nn.utils.prune` calls: `l1_unstructured`,
`random_unstructured`, `global_unstructured`, and the SCGRU rule through
`SensitivityUnstructured.apply`, which is a `BasePruningMethod` like the library's own. It
ends with `torch_sparsity` and `torch_metrics`, which equal the engine's. Both are plain
text; tests execute them.
"""
from __future__ import annotations

import dataclasses
import types

from scgru_core.net.cells import CELLS
from scgru_core.net.model import gate_blocks
from scgru_core.pruning.rules import RULES
from scgru_core.pruning.scopes import Scope
from scgru_core.net.train import TrainConfig
from scgru_core.store.checkpoints import Setup, matches
from scgru_core.data.reading import ReadConfig
from scgru_core.teach.settings import LabState
from scgru_core.data.windows import WindowConfig


def _num(value: float) -> str:
    return repr(float(value))


def _prune_args(state: LabState) -> str:
    rule = RULES[state.method]
    args = [f'method="{state.method}"']
    if rule.control == "sensitivity":
        args += [f"sensitivity={_num(state.sensitivity)}", f"floor={_num(state.floor)}"]
    else:
        args.append(f"sparsity={_num(state.sparsity)}")
    if state.global_:
        args.append("global_=True")
    if Scope.parse(state.scope).to_text() != "both":
        args.append(f'scope=sc.Scope.parse("{Scope.parse(state.scope).to_text()}")')
    if state.prune_seed:
        args.append(f"seed={state.prune_seed}")
    return ", ".join(args)


def _rule_comment(state: LabState) -> str:
    """The rule's own one-line explanation (RuleSpec.explain), filled from the state."""
    rule = RULES[state.method]
    if not rule.explain:
        return rule.description or state.method
    where = "over all matrices in scope at once" if state.global_ else "in each matrix"
    return rule.explain.format(sensitivity=state.sensitivity, floor=state.floor, sparsity=state.sparsity, where=where)


def python_code(state: LabState, upload: tuple[str, ReadConfig] | None = None) -> str:
    """Code that rebuilds `state` with the public scgru_core API and prints what the app shows. `upload`: the file
    name and read settings of an uploaded series, which the code then reads (instead of `state.sample`)."""

    wc, mc = state.window_config(), state.model_config()
    window_args = _args(wc, WindowConfig(), first="window")
    train_args = _args(state.train_config(), TrainConfig(), first="epochs", always=("seed",))
    ft_args = _args(state.finetune_config(), TrainConfig(), first="epochs", always=("seed",))
    ckpt = (f"\n# The app loads this very model from checkpoints/{state.sample}/ (same data, settings and seed):\n"
            f'#   from scgru_core.store.checkpoints import load_checkpoint; model, data, training, *_ = '
            f'load_checkpoint("{state.sample}")') \
        if upload is None and matches(state.sample, Setup(wc, mc, state.train_config())) else ""
    if upload is None:
        source = f'''from scgru_core.data.samples import SAMPLES

# 1. Data: read the sample, split it in time (train / validation / test), scale on the training part,
#    cut windows of {wc.window} past values -> the next {wc.horizon} value(s).
series = sc.load_series(SAMPLES["{state.sample}"].path)'''
    else:
        name, read = upload
        read_args = _args(read, ReadConfig(), first="column")
        source = f'''
# 1. Data: read your file (put it next to this script), split it in time (train / validation / test), scale on
#    the training part, cut windows of {wc.window} past values -> the next {wc.horizon} value(s).
series = sc.load_series({name!r}, sc.ReadConfig({read_args}))'''
    lines = f'''# Reproduces the lab state {_summary(state)}.
# Run it from the repository root: .venv/bin/python this_file.py
import scgru_core as sc
{source}
data = sc.prepare(series, sc.WindowConfig({window_args}))

# 2. The dense model: a {mc.layers}-layer {mc.cell.upper()} with {mc.hidden} hidden units and a linear head,
#    trained with seed {state.seed}.
model, training = sc.train_dense(data, sc.ModelConfig(hidden={mc.hidden}, layers={mc.layers}, cell="{mc.cell}"),
                                 sc.TrainConfig({train_args})){ckpt}

# 3. Prune once, no retraining. {_rule_comment(state)}.
lab = sc.PruningLab(model, data)
snap = lab.at(sc.PruneConfig({_prune_args(state)}))
sparsity = snap.result.sparsity  # fraction of the weights in scope that are now zero
metrics = {{"dense": lab.dense.metrics, "pruned": snap.evaluation.metrics}}
'''
    if state.finetune_epochs > 0:
        lines += f'''
# 4. Fine-tune once, {state.finetune_epochs} epochs with a fresh Adam at a larger step; pruned weights stay exactly zero.
tuned, _ = sc.finetune(model, snap.result, data, sc.TrainConfig({ft_args}))
metrics["finetuned"] = sc.evaluate(tuned, data).metrics
'''
    lines += '''
print(f"pruned {sparsity:.2%} of the weights in scope")
for name, m in metrics.items():
    print(f"{name:>10}: " + "  ".join(f"{key} {value:.4g}" for key, value in m.to_dict().items()))
cost = snap.cost
print(f"MACs per forecast {cost.macs_nonzero:,} of {cost.macs_dense:,}; "
      f"bytes: dense {cost.bytes_dense:,}, CSR {cost.bytes_csr:,}, bitmask {cost.bytes_bitmask:,}")
'''
    return lines


def _args(config, default, first: str, always: tuple = ()) -> str:
    """Keyword arguments of a config dataclass: `first` always, the rest only where they differ from the default."""
    out = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name == first or f.name in always or value != getattr(default, f.name):
            out.append(f"{f.name}={value!r}")
    return ", ".join(out)


def _summary(state: LabState) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in state.to_query(changed_only=True).items() if k != "step") + ")"


def _in_scope(state: LabState) -> list[tuple[str, str, list[tuple[str, int, int]] | None]]:
    """(module expression, parameter name, row blocks or None for the whole matrix), in the engine's order."""
    mc = state.model_config()
    stub = types.SimpleNamespace(config=mc, horizon=state.horizon)
    scope = Scope.parse(state.scope)
    out = []
    names = [f"rnn.weight_{kind}_l{k}" for k in range(mc.layers) for kind in ("ih", "hh")]
    for full in names:
        rows = scope.rows(stub, full)
        if rows is None or len(rows) == 0:
            continue
        blocks = gate_blocks(stub, full)
        n_rows = max(sl.stop for sl in blocks.values())
        module, param = ("rnn", full.split(".", 1)[1]) if full.startswith("rnn.") else ("pruned.head", "weight")
        if len(rows) == n_rows:
            out.append((module, param, None))
        else:
            chosen = set(rows.tolist())
            out.append((module, param, [(g, sl.start, sl.stop) for g, sl in blocks.items() if sl.start in chosen]))
    return out


def _layout_comment(state: LabState) -> str:
    """'weight_ih_l*: 3H x I, weight_hh_l*: 3H x H; rows in PyTorch's gate order: reset, update, new.' for the cell."""
    blocks = CELLS[state.cell].blocks
    size = {k: f"{len(g)}H" if len(g) > 1 else "H" for k, g in blocks.items()}
    return (f"weight_ih_l*: {size['ih']} x I, weight_hh_l*: {size['hh']} x H; rows in PyTorch's gate order: "
            f"{', '.join(blocks['hh'])}.")


def _torch_args(state: LabState) -> str:
    """The arguments of the rule's torch method (RuleSpec.torch.args), filled from the state."""
    return RULES[state.method].torch.args.format(sensitivity=_num(state.sensitivity), floor=_num(state.floor),
                                                 sparsity=_num(state.sparsity))


def prune_code(state: LabState) -> str:
    """The same pruning with torch.nn.utils.prune; continues `python_code` (needs `model` and `data`)."""
    targets = _in_scope(state)
    listing = "[" + ", ".join(
        f'({m}, "{p}", {"slice(None)" if rows is None else _rows_expr(rows)})' for m, p, rows in targets) + "]"
    notes = [f"# {p}: rows {', '.join(f'{g} {a}-{b - 1}' for g, a, b in rows)}" for _, p, rows in targets if rows]
    gates_note = "\n".join(["# (module, parameter, rows in scope)"] + notes) + "\n"
    rule = RULES[state.method]
    imports = rule.torch.imports + "\n" if rule.torch and rule.torch.imports else ""
    scored = rule.needs_scores
    saliency = ""
    if scored:
        saliency = (f'\n# {RULES[state.method].label}: rank the saliency, not |w| '
                    '(one pass over the training windows)\n'
                    f'saliency = sc.pruning.saliency.scores_for(model, data, "{state.method}")\n'
                    'def importance(module, name):\n'
                    '    return saliency[("rnn." if module is rnn else "head.") + name]\n')
        imports += "import scgru_core.pruning.saliency\n"
    head = f'''# The same pruning with torch.nn.utils.prune. Continues the code above (it needs `model` and `data`).
# {_rule_comment(state)}.
# {_layout_comment(state)}
import copy
import torch
from torch.nn.utils import prune
import scgru_core as sc
{imports}
pruned = copy.deepcopy(model)
rnn = pruned.rnn
in_scope = {listing}
{gates_note}{saliency}'''
    whole = all(rows is None for _, _, rows in targets)
    rand_each = f"torch.manual_seed({state.prune_seed} * 1000 + i)  # the engine's random stream for matrix i"
    rand_global = f"torch.manual_seed({state.prune_seed})  # the engine's random stream for a global rule\n"
    if rule.torch is None:
        score_arg = f', scores=sc.pruning.saliency.scores_for(model, data, "{state.method}")' if scored else ""
        source = (f"sc.PruningLab(model, data).at(sc.PruneConfig({_prune_args(state)})).result  # runs the "
                  "sensitivity analysis once" if RULES[state.method].needs_allocation else
                  f"sc.prune(model, sc.PruneConfig({_prune_args(state)}){score_arg})")
        body = f'''# {state.method} has no torch.nn.utils.prune counterpart: its masks come from the engine.
result = {source}
for module, name, _ in in_scope:
    prune.custom_from_mask(module, name, result.masks[("rnn." if module is rnn else "head.") + name])
'''
    elif whole and state.global_:
        extra = ("\n                        importance_scores={(m, n): importance(m, n) for m, n, _ in in_scope},"
                 if scored else "")
        seed = rand_global if rule.draws_random else ""
        body = f'''{seed}prune.global_unstructured([(m, n) for m, n, _ in in_scope], pruning_method={rule.torch.method},{extra}
                        {_torch_args(state)})  # one ranking over all matrices in scope
'''
    elif whole:
        loop = "for module, name, _ in in_scope:"
        call = f"{rule.torch.function}(module, name, {_torch_args(state)}"
        call += ", importance_scores=importance(module, name))" if scored else ")"
        if rule.control == "sensitivity":  # a threshold rule says the cut it found in each matrix
            call = f"method = {call}\n    print(f\"{{name}}: threshold {{method.threshold:.4g}}\")"
        if rule.draws_random:
            loop = "for i, (module, name, _) in enumerate(in_scope):"
            call = f"{rand_each}\n    {call}"
        body = f'''{loop}
    {call}
'''
    else:
        source = "importance(m, n)" if scored else "getattr(m, n).detach()"
        if state.global_:
            seed = rand_global if rule.draws_random else ""
            keeps = f'''{seed}flat = torch.cat(scores)  # one ranking over all rows in scope
keeps = method.compute_mask(flat, torch.ones_like(flat)).split([len(s) for s in scores])
'''
        else:
            seed = f"    {rand_each}\n" if rule.draws_random else ""
            keeps = f'''keeps = []
for i, s in enumerate(scores):  # each matrix on its own
{seed}    keeps.append(method.compute_mask(s, torch.ones_like(s)))
'''
        body = f'''# Only some gate blocks are in scope: compute_mask on those rows, then prune.custom_from_mask.
method = {rule.torch.method}({_torch_args(state)})
scores = [{source}[rows].flatten() for m, n, rows in in_scope]
{keeps}for (module, name, rows), keep in zip(in_scope, keeps):
    mask = torch.ones_like(getattr(module, name))
    mask[rows] = keep.view_as(mask[rows])
    prune.custom_from_mask(module, name, mask)
'''
    tail = '''
# Count what was pruned (in scope), make the pruning permanent, and evaluate the pruned model.
kept = sum(int(getattr(m, n + "_mask")[rows].sum()) for m, n, rows in in_scope)
total = sum(getattr(m, n + "_mask")[rows].numel() for m, n, rows in in_scope)
torch_sparsity = 1 - kept / total
for module, name, _ in in_scope:
    prune.remove(module, name)  # weight_orig * weight_mask becomes the plain parameter again
torch_metrics = sc.evaluate(pruned, data).metrics
print(f"torch.nn.utils.prune: {torch_sparsity:.2%} pruned, RMSE {torch_metrics.rmse:.4g}")
'''
    return head + body + tail


def _rows_expr(blocks: list[tuple[str, int, int]]) -> str:
    parts = ", ".join(f"torch.arange({a}, {b})" for _, a, b in blocks)
    return f"torch.cat([{parts}])" if len(blocks) > 1 else parts
