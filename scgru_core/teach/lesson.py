"""The lesson "Teach pruning in class" as data: seven steps, each quoting the maths of `maths`.

Pages render this; nothing here depends on Streamlit or Plotly. Each `LessonStep` names the
chart it talks about (a key of CAPTIONS / MATHS), the control the student moves, a
"predict first" question whose answer is revealed once the control has been moved, and
the lab-state changes its "Set up this step" button applies.

`weight_blocks(model)` lists the six weight blocks of each GRU layer (reset / update / new x
input-to-hidden / hidden-to-hidden) with their shapes and parameter counts, for step 2.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import torch

from scgru_core.net.model import Forecaster, gate_blocks, matrix_kind, weight_names
from scgru_core.net.masks import MaskSet
from scgru_core.teach.maths import (BYTES, FINETUNE, GRU_EQUATIONS, GRU_SHAPES, LATENCY, LOSS, MACS, METRICS, SCGRU_RULE,
                                    TRADEOFF, WINDOWS)



def filled(text: str, facts: Mapping[str, object]) -> str:
    """A step's text with the numbers of the model on screen put in ({batch}, {hidden}, ...), never written in."""
    return re.sub(r"\{(\w+)\}", lambda m: f"{facts[m.group(1)]:,}" if m.group(1) in facts else m.group(0), text)


def facts_of(model_config, train_config) -> dict[str, object]:
    """What a step's text may quote about the model on screen."""
    return {"batch": train_config.batch_size, "hidden": model_config.hidden, "epochs": train_config.epochs,
            "layers": model_config.layers}


# ---- the steps -------------------------------------------------------------------------------

CONTROLS: dict[str, str] = {
    "window": "Window W (a preview: the data in use is not changed)",
    "hidden": "Hidden size H (a preview: the trained model is not changed)",
    "trained": "Show the weights",
    "sensitivity": "Threshold s (× std |W|)",
    "method": "Pruning method",
    "latency": "Measure latency: dense vs sparse",
}


@dataclass(frozen=True)
class LessonStep:
    key: str
    title: str
    short: str  # the step's name in the lesson's step bar
    text: str  # markdown, a short paragraph or two
    chart: str  # a key of CAPTIONS / MATHS: the chart the step talks about
    control: str  # a key of CONTROLS: what the student moves before the answer is revealed
    question: str  # "predict first"
    choices: tuple[str, ...]
    answer: int  # index into choices
    explanation: str
    maths: tuple[str, ...] = ()  # LaTeX for the step's "The maths" expander
    overrides: dict = field(default_factory=dict)  # LabState changes the "Set up this step" button applies

    @property
    def number(self) -> int:
        return STEPS.index(self) + 1

    def is_correct(self, choice: int | str | None) -> bool:
        if isinstance(choice, str):
            return choice == self.choices[self.answer]
        return choice == self.answer


STEPS: tuple[LessonStep, ...] = (
    LessonStep(
        key="task", short="Task", title="The series and the forecasting task", chart="series", control="window",
        text=(
            "A time series is one number per time step: here, electricity demand every half hour. The task is "
            "**one-step forecasting**: from the last *W* values (the **window**) predict the next *h* values "
            "(the **horizon**, here 1).\n\n"
            "Sliding the window along the series one step at a time turns it into thousands of (input, target) "
            "examples. The series is cut **in time**: the first 70 % trains the model, the next 15 % "
            "(validation) decides when to stop training, and the last 15 % (test) is only used to measure the "
            "error at the end. Values are scaled with the mean and spread of the training part only, so nothing "
            "about the future leaks into training. Every error is compared with the **naive** forecast "
            "\"the next value equals the last one\". Move the window slider to see how many examples each part "
            "gives."),
        question="You double the window from 48 to 96 values. What happens to the number of training windows?",
        choices=("It halves", "It drops only slightly (by 48)", "It doubles", "It stays exactly the same"),
        answer=1,
        explanation=(
            "Windows overlap: each one starts one step after the previous, so a part of n values gives "
            "n − W − h + 1 windows. A longer window costs only W extra values at the start of each part, "
            "but every window is longer, so each forecast does more work (the GRU runs W steps)."),
        maths=(WINDOWS,), overrides={}),
    LessonStep(
        key="gru", short="GRU", title="What a GRU is: six weight blocks", chart="gru", control="hidden",
        text=(
            "A GRU reads the window one value at a time and keeps a **hidden state** *h* of *H* numbers, its "
            "memory. At every step three small networks decide what to do: the **reset gate** *r* (how much "
            "of the old memory to use when proposing a new one), the **update gate** *z* (how much of the "
            "memory to keep) and the **new** candidate *n* (the proposed memory).\n\n"
            "Each of the three looks at the input *x* through an input-to-hidden block (H × I) and at the "
            "memory *h* through a hidden-to-hidden block (H × H): **six weight blocks**. PyTorch stores them "
            "stacked as two matrices, `weight_ih` (3H × I) and `weight_hh` (3H × H), in the order reset, "
            "update, new. With one input (I = 1) almost all weights sit in the hidden-to-hidden blocks, so "
            "that is where pruning matters. After the last step a linear **head** turns *h* into the forecast."),
        question="You double the hidden size H from 64 to 128. How does the number of hidden-to-hidden weights change?",
        choices=("It doubles", "It grows four times", "It grows three times", "It does not change"),
        answer=1,
        explanation=(
            "Each hidden-to-hidden block is H × H, so doubling H multiplies it by 4 (3 × 64 × 64 = 12,288 → "
            "3 × 128 × 128 = 49,152), while the input-to-hidden blocks (H × I) only double. Compute and memory "
            "grow with H², which is why big recurrent networks are worth pruning."),
        maths=(GRU_EQUATIONS, GRU_SHAPES), overrides={"cell": "gru", "layers": 1, "hidden": 64}),
    LessonStep(
        key="train", short="Training", title="Train, and read the weight histogram", chart="weights",
        control="trained",
        text=(
            "Training adjusts every weight to lower the squared error on the training windows (Adam, "
            "mini-batches of {batch} windows), and stops when the validation error has not improved for a few epochs. "
            "The **loss curve** shows it learning; the test error is then compared with the naive forecast.\n\n"
            "The **histogram** counts the weights of each matrix by value. Switch between the weights before "
            "training (as initialised, spread evenly between ±1/√H) and after: training piles them into a "
            "peak around zero with tails, many small weights and a few large ones. Small weights contribute "
            "little to the output, which is the intuition behind pruning by magnitude."),
        question="After training, what shape does the histogram of the hidden-to-hidden weights have?",
        choices=("A peak around zero with tails: most weights are small",
                 "Flat: every value between −1 and 1 equally common",
                 "Two peaks, at −1 and +1", "All weights close to 1"),
        answer=0,
        explanation=(
            "Trained weights cluster around zero with a few large ones (the kurtosis rises from 1.8 for the "
            "uniform start towards 3, the Gaussian value). Many weights are small, so removing them should "
            "change the output little, and that is what the next step tries."),
        maths=(LOSS,), overrides={"cell": "gru", "layers": 1, "hidden": 64}),
    LessonStep(
        key="rule", short="SCGRU rule", title="The SCGRU rule: s · std(|W|), and the floor k", chart="histogram",
        control="sensitivity",
        text=(
            "SCGRU (Tang et al., 2022) prunes each matrix on its own: compute the spread of its weights' "
            "magnitudes, std(|W|), and remove every weight with |w| < **s · std(|W|)**. The slider moves the "
            "**sensitivity s**: the cut lines on the histogram move apart and the mask heatmap darkens. "
            "Because the threshold is relative to each matrix's own spread, the same s prunes a similar "
            "fraction of every matrix, whatever its scale; inside one matrix the three gates share the "
            "threshold, so a gate with larger weights (in the shipped power-load model, the update gate) "
            "loses less.\n\n"
            "A **floor k** (1 %) keeps the rule from emptying a matrix: while fewer than a fraction k of the "
            "weights survive, the threshold is lowered by 1 % and tried again. Biases are never pruned. "
            "This is *one-shot* pruning: the mask is computed once from the trained weights, with no "
            "retraining yet."),
        question="You move s from 1.0 to 2.0. What happens?",
        choices=("The cut lines move outwards and more weights are pruned",
                 "The cut lines move inwards and fewer weights are pruned",
                 "Only the largest weights are removed",
                 "Nothing changes until s reaches the floor k"),
        answer=0,
        explanation=(
            "The threshold is proportional to s, so doubling s doubles the cut and every weight below it goes. "
            "On this model s = 1 prunes about half of the weights and s = 2 about four in five. The floor only "
            "matters at very large s, where it keeps at least 1 % of each matrix."),
        maths=(SCGRU_RULE,),
        overrides={"method": "sensitivity", "sensitivity": 1.0, "floor": 0.01, "scope": "both", "global_": False},
    ),
    LessonStep(
        key="finetune", short="Fine-tune", chart="forecast_pruned", control="sensitivity",
        title="Prune, watch the forecast degrade; fine-tune, watch it recover",
        text=(
            "Pruning changes the function the network computes. Move s up and watch the pruned forecast drift "
            "away from the actual values and the test error climb, slowly at first and then fast.\n\n"
            "**Fine-tuning** trains the pruned network once more for a few epochs with the pruned weights "
            "held at exactly zero (their gradients are masked and a fresh optimiser is used): the surviving "
            "weights take over the work of the removed ones. Prune once, fine-tune once: that is the whole "
            "SCGRU method."),
        question="You prune about 80 % of the weights. What happens to the test error before and after fine-tuning?",
        choices=("It rises a lot; fine-tuning brings much of it back",
                 "It does not change: the pruned weights were useless",
                 "It falls: pruning removes noise",
                 "It rises, and fine-tuning cannot help because the weights are gone"),
        answer=0,
        explanation=(
            "At high sparsity the one-shot error rises sharply (here several times the dense error), but the "
            "remaining weights can re-learn most of what was lost: a few epochs of fine-tuning recover much "
            "of the accuracy at the same sparsity. At moderate sparsity pruning barely changes the error."),
        maths=(FINETUNE, METRICS), overrides={"method": "sensitivity", "sensitivity": 2.0, "finetune_epochs": 5}),
    LessonStep(
        key="cost", short="Savings", title="What pruning saves: on paper and in practice", chart="cost",
        control="latency",
        text=(
            "**On paper**, a pruned weight costs nothing: fewer non-zero parameters, fewer multiply-accumulates "
            "(MACs) per forecast, fewer bytes. But storing a sparse matrix needs indices: in CSR each non-zero "
            "also stores its column, so CSR is smaller than dense only below about 50 % density.\n\n"
            "**In practice**, a masked model still multiplies every zero: PyTorch's fused GRU kernel takes "
            "the same time whatever the mask. To save time the weights must be stored and multiplied as "
            "sparse matrices. The button below runs the same pruned model with sparse CSR weights and times "
            "it against the dense kernel on this machine. At this small size the dense kernel usually wins: "
            "sparse kernels pay off for large matrices at high sparsity.\n\n"
            "**Removing whole hidden units** is what always makes the model smaller: a unit is its rows in every "
            "gate and its columns wherever its output is read, so taking it out leaves an ordinary, smaller GRU. "
            "The second button times it at several sizes and finds the moment it starts to pay. A unit whose "
            "*incoming* weights are all pruned is not dead: its biases still move its state, and through its "
            "outgoing weights the forecast. Only a unit nothing reads can go without changing the forecast; "
            "the **Deploy** page removes units, fine-tunes once and exports the smaller model."),
        question="At 80 % sparsity, does the masked PyTorch model run faster than the dense one?",
        choices=("No: masked dense weights still multiply every zero",
                 "Yes, about 5 times faster", "Yes, about 80 % faster",
                 "It cannot run until the zeros are removed"),
        answer=0,
        explanation=(
            "Masking changes values, not the computation: the dense kernel does 3H(I + H) MACs per step "
            "whatever they are. Only sparse storage with sparse kernels (or removing whole units) turns zeros "
            "into saved time, and at H = {hidden} their overhead can still outweigh the saving. Measure, don't assume."),
        maths=(MACS, BYTES, LATENCY), overrides={"method": "sensitivity", "sensitivity": 2.0}),
    LessonStep(
        key="compare", short="Other methods", title="How the other methods compare", chart="tradeoff", control="method",
        text=(
            "SCGRU is one rule among many. **Magnitude** pruning removes the smallest |w| to an exact target "
            "sparsity, per matrix or over all matrices at once (global). **Random** pruning removes weights "
            "at random: the baseline any rule must beat. Gradual methods (Zhu & Gupta's AGP, Narang et al.) "
            "prune a little at a time during training.\n\n"
            "Switch the method and compare the forecasts at the same sparsity, then open the **Trade-offs** "
            "page for whole curves: accuracy against sparsity, operations and bytes for every method, with "
            "and without fine-tuning."),
        question="At the same sparsity, which method do you expect to hurt the forecast most?",
        choices=("Random pruning", "Magnitude pruning", "SCGRU sensitivity pruning",
                 "All the same: only the number of weights matters"),
        answer=0,
        explanation=(
            "Magnitude and SCGRU both remove the smallest weights (per matrix they differ only in how much "
            "each matrix loses: SCGRU's threshold follows each matrix's spread), so they keep the weights "
            "that matter. Random pruning removes large weights as often as small ones and hurts most, "
            "until at extreme sparsity every one-shot method breaks down without fine-tuning."),
        maths=(TRADEOFF,), overrides={"method": "magnitude", "sparsity": 0.8, "global_": False}),
)

STEP_KEYS = tuple(s.key for s in STEPS)


def step(number_or_key: int | str) -> LessonStep:
    """A step by 1-based number or key (numbers out of range are clamped)."""
    if isinstance(number_or_key, str):
        return STEPS[STEP_KEYS.index(number_or_key)]
    return STEPS[min(max(int(number_or_key), 1), len(STEPS)) - 1]


# ---- other cells: the LSTM and the plain RNN (step 2, one place) ---------------------------------

OTHER_CELLS = (
    "**An LSTM** (Hochreiter & Schmidhuber, 1997) keeps two states: the hidden state *h* and a **cell state** *c*, "
    "its long memory. Each matrix has **four** gate blocks instead of three, in PyTorch's order: the **input** gate "
    "*i* (how much of the new proposal to write), the **forget** gate *f* (how much of *c* to keep), the **cell** "
    "candidate *g* (the proposal) and the **output** gate *o* (how much of the memory to show in *h*). So "
    "`weight_ih` is 4H × I and `weight_hh` 4H × H: a third more weights than a GRU of the same H, and more to prune.\n\n"
    "**Pruning an LSTM** works exactly as for a GRU: the SCGRU rule cuts |w| < s · std(|W|) in each matrix on its "
    "own, and each gate block is its own panel on the Prune page (four per matrix). Cutting a forget-gate row makes "
    "that unit's forget gate read less of the input and the memory, so it falls back on its **bias**, which sets how "
    "much the unit remembers when nothing else speaks.\n\n"
    "**Why the forget gate's bias is never pruned.** No bias is pruned here (8H numbers against 4H(I + H) "
    "weights: almost nothing to save), and the forget bias least of all: set to zero, it makes the gate "
    "f = σ(0) = 0.5 whenever its weights are quiet, so the cell keeps half its memory per step and forgets within "
    "a few steps (0.5¹⁰ ≈ 0.001). That is why LSTMs are trained with a positive forget bias (Jozefowicz et al., "
    "2015, start it at 1), and why a pruned LSTM still remembers: its forget biases stay.\n\n"
    "**A plain (Elman) RNN** has a single block per matrix, h' = tanh(W x + U h + b): no gates at all, nothing that "
    "decides what to keep, so it is the smallest of the three and the one whose memory fades fastest.")


def forget_at_rest(model: Forecaster, layer: int = 0) -> np.ndarray:
    """An LSTM layer's forget gates when every weight is silent: sigmoid(b_if + b_hf) per unit, the share of its
    memory each unit keeps per step on its biases alone."""
    params = dict(model.named_parameters())
    rows = gate_blocks(model, f"rnn.weight_hh_l{layer}")["forget"]
    bias = params[f"rnn.bias_ih_l{layer}"][rows] + params[f"rnn.bias_hh_l{layer}"][rows]
    return torch.sigmoid(bias.detach()).numpy()


# ---- the GRU's weight blocks (step 2) -------------------------------------------------------

GATE_LETTERS = {"reset": "r", "update": "z", "new": "n", "input": "i", "forget": "f", "cell": "g", "output": "o",
                "hidden": ""}  # the literature's letters (PyTorch's docs): W_hr, W_hf, ...; an RNN's one block is W_hh


def symbol(kind: str, gate: str) -> str:
    """'W_hr' for the GRU's recurrent reset block, 'W_if' for an LSTM's input-side forget block, 'W_hh' for an RNN."""
    letter = GATE_LETTERS.get(gate, gate[:1])
    return f"W_{kind[0]}{letter}" if letter else f"W_{kind}"


@dataclass(frozen=True)
class WeightBlock:
    layer: int
    kind: str  # "ih" or "hh"
    gate: str  # the cell's gate: "reset", "update", "new" for a GRU; "input", "forget", ... for an LSTM
    symbol: str  # W_ir ... W_hn (W_ii ... W_ho for an LSTM)
    matrix: str  # the parameter it lives in, e.g. "rnn.weight_hh_l0"
    rows: tuple[int, int]  # row range inside that parameter
    shape: tuple[int, int]
    params: int
    nonzero: int
    values: np.ndarray  # the block's (masked) weights, for drawing

    @property
    def label(self) -> str:
        return f"{self.symbol} ({self.shape[0]}×{self.shape[1]}): {self.params:,} weights"


def weight_blocks(model: Forecaster, masks: MaskSet | None = None, layer: int | None = None) -> list[WeightBlock]:
    """The gate blocks of every weight matrix (six per layer for the standard GRU, eight for an LSTM, two for an RNN;
    fewer for the gate variants, whose gates lack some blocks), with shapes, counts and masked values."""
    masks = masks or {}
    params = dict(model.named_parameters())
    out = []
    for name in weight_names(model):
        k = int(name.rsplit("_l", 1)[1])
        if layer is not None and k != layer:
            continue
        kind = matrix_kind(name)
        w = params[name].detach()
        if name in masks:
            w = w * masks[name]
        for gate, sl in gate_blocks(model, name).items():
            block = w[sl]
            out.append(WeightBlock(layer=k, kind=kind, gate=gate, symbol=symbol(kind, gate), matrix=name,
                                   rows=(sl.start, sl.stop), shape=tuple(block.shape), params=block.numel(),
                                   nonzero=int(block.count_nonzero()), values=block.cpu().numpy()))
    return out


def parameter_summary(model: Forecaster) -> dict[str, int]:
    """Weights, biases and head parameters of the model: the numbers step 2 quotes."""
    names = set(weight_names(model))
    recurrent = sum(p.numel() for n, p in model.named_parameters() if n in names)
    biases = sum(p.numel() for n, p in model.named_parameters() if n.startswith("rnn.") and n not in names)
    head = sum(p.numel() for n, p in model.named_parameters() if n.startswith("head."))
    return {"recurrent_weights": recurrent, "recurrent_biases": biases, "head": head,
            "total": recurrent + biases + head}
