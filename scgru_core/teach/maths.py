"""The maths, written once in LaTeX, and every chart's caption and maths keyed by chart kind: what the lesson's steps
quote and what sits under every chart on every page ("The maths")."""
from __future__ import annotations


GRU_EQUATIONS = r"""
\begin{aligned}
r_t &= \sigma\!\left(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}\right)\\
z_t &= \sigma\!\left(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}\right)\\
n_t &= \tanh\!\left(W_{in} x_t + b_{in} + r_t \odot \left(W_{hn} h_{t-1} + b_{hn}\right)\right)\\
h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
\end{aligned}
"""


GRU_SHAPES = r"""
\begin{gathered}
W_{ih} = \begin{bmatrix} W_{ir} \\ W_{iz} \\ W_{in} \end{bmatrix} \in \mathbb{R}^{3H \times I},\qquad
W_{hh} = \begin{bmatrix} W_{hr} \\ W_{hz} \\ W_{hn} \end{bmatrix} \in \mathbb{R}^{3H \times H}\\[4pt]
\text{parameters per layer} = 3H(I + H) + \underbrace{2\cdot 3H}_{b_{ih},\ b_{hh}}\\[4pt]
\text{head: } \hat y = W_o h_T + b_o,\quad W_o \in \mathbb{R}^{O \times H}
\end{gathered}
"""


LSTM_EQUATIONS = r"""
\begin{gathered}
\begin{aligned}
i_t &= \sigma\!\left(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}\right)\\
f_t &= \sigma\!\left(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}\right)\\
g_t &= \tanh\!\left(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}\right)\\
o_t &= \sigma\!\left(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}\right)\\
c_t &= f_t \odot c_{t-1} + i_t \odot g_t,\qquad h_t = o_t \odot \tanh(c_t)
\end{aligned}\\[4pt]
W_{ih} \in \mathbb{R}^{4H \times I},\quad W_{hh} \in \mathbb{R}^{4H \times H}\quad
\text{(rows: input, forget, cell, output)}
\end{gathered}
"""


RNN_EQUATIONS = r"""
\begin{gathered}
h_t = \tanh\!\left(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}\right)\\
W_{ih} \in \mathbb{R}^{H \times I},\quad W_{hh} \in \mathbb{R}^{H \times H}
\end{gathered}
"""



SCGRU_RULE = r"""
\begin{gathered}
\tau = s \cdot \operatorname{std}\big(|W|\big),\qquad
m_{ij} = \begin{cases} 1 & |w_{ij}| \ge \tau \\ 0 & |w_{ij}| < \tau \end{cases}\\[4pt]
\text{while } \tfrac{1}{N}\textstyle\sum_{ij} m_{ij} < k:\quad \tau \leftarrow 0.99\,\tau
\end{gathered}
"""


FINETUNE = r"""
\begin{gathered}
\nabla_W L \leftarrow m \odot \nabla_W L,\qquad W \leftarrow m \odot \operatorname{Adam}\big(W, \nabla_W L\big)\\[4pt]
\text{(a fresh Adam: pruned weights stay exactly } 0\text{)}
\end{gathered}
"""


MACS = r"""
\begin{aligned}
\text{MACs per step per layer} &= 3H(I + H)\\
\text{per forecast} &= T \textstyle\sum_{\ell} 3H(I_\ell + H) + OH\\
\text{non-zero} &= T \textstyle\sum_{\ell} \operatorname{nnz}(W_{ih}^{\ell}, W_{hh}^{\ell}) + \operatorname{nnz}(W_o)\\
&\text{(weight multiplies only: no biases, gate products or activations)}
\end{aligned}
"""


BYTES = r"""
\begin{aligned}
\text{dense} &= 4RC\\
\text{CSR} &= \underbrace{4a}_{\text{values}} + \underbrace{4a}_{\text{columns}}
  + \underbrace{4(R+1)}_{\text{row pointers}}\\
\text{bitmask} &= 4a + \lceil RC/8 \rceil\\
&\text{for an } R \times C \text{ matrix with } a \text{ non-zeros}
\end{aligned}
"""


WINDOWS = r"""
\begin{gathered}
\big(x_{t-W+1}, \dots, x_t\big) \;\mapsto\; \big(\hat x_{t+1}, \dots, \hat x_{t+h}\big)\\[4pt]
z = \frac{x - \mu_{\text{train}}}{\sigma_{\text{train}}},\qquad
N_{\text{windows}} = n_{\text{part}} - W - h + 1
\end{gathered}
"""


METRICS = r"""
\begin{gathered}
\text{RMSE} = \sqrt{\tfrac{1}{N}\textstyle\sum (y - \hat y)^2},\qquad
\text{MAE} = \tfrac{1}{N}\textstyle\sum |y - \hat y|\\[4pt]
\text{sMAPE} = \tfrac{100}{N}\textstyle\sum \frac{2|y - \hat y|}{|y| + |\hat y|},\qquad
\text{MASE} = \frac{\text{MAE}}{\tfrac{1}{n-1}\sum_{t=2}^{n} |y_t - y_{t-1}| \text{ on train}}
\end{gathered}
"""


LOSS = r"""
\begin{gathered}
L = \frac{1}{N h} \sum_{n=1}^{N} \sum_{j=1}^{h} \big(z_{n,j} - \hat z_{n,j}\big)^2 \quad\text{(scaled units)}\\[4pt]
\text{stop after } p \text{ epochs without a lower validation loss; keep the best epoch}
\end{gathered}
"""


TRADEOFF = r"""
\begin{gathered}
\text{sparsity} = 1 - \frac{\operatorname{nnz}(W_{\text{in scope}})}{|W_{\text{in scope}}|}\\[4pt]
\text{one point per setting: } \big(\text{sparsity},\ \text{test error}\big)
\end{gathered}
"""


LATENCY = r"""
\begin{gathered}
\text{speed-up} = \frac{t_{\text{dense fused}}}{t_{\text{sparse CSR}}}\\[4pt]
t = \text{median time of one forward pass, on this machine}
\end{gathered}
"""


PAYOFF = r"""
\begin{gathered}
\text{unit } j = \text{rows } j,\ H{+}j,\ 2H{+}j \text{ of } W_{ih}, W_{hh}, b_{ih}, b_{hh}
\ +\ \text{column } j \text{ of } W_{hh} \text{ and of the next layer (or head)}\\[4pt]
\text{MACs per step} = 3H'(I + H') \text{ with } H' \text{ units kept}\\[4pt]
\text{speed-up} = t_{\text{dense}} \,/\, t_{\text{smaller nn.GRU}}
\end{gathered}
"""


SALIENCY = r"""
\text{Taylor: } s_i = \left| w_i \, \tfrac{\partial L}{\partial w_i} \right| \qquad
\text{random: } s_i \sim U(0, 1) \qquad
\text{prune the } \lceil p N \rceil \text{ weights with the lowest } s_i
"""


CAPTIONS: dict[str, str] = {
    "series": "The whole series in time; the shaded parts are the validation and test periods the model never "
              "trains on.",
    "histogram": "How many weights have each value; the dashed lines are the cut at ±threshold, and every weight "
                 "between them is pruned.",
    "heatmap": "One cell per weight, one panel per gate (reset, update, new): dark cells are kept connections, "
               "pink ones are pruned.",
    "heatmap_signed": "One cell per weight, one panel per gate (reset, update, new): blue cells are kept positive "
                      "weights, red kept negative ones, grey ones are pruned.",
    "weights": "How many weights of W_hh have each value, per gate: training spreads them out from their start, and "
               "most stay near zero, which is what pruning the smallest |w| relies on.",
    "histogram_scores": "How many weights have each value, before and after pruning: this rule ranks a score, not "
                        "|w|, so no cut line; kept and pruned weights overlap.",
    "forecast": "Actual test values (black) against each model's one-step forecast, errors below; the latest part "
                "first, double-click for all.",
    "forecast_pruned": "Actual test values (black) against the dense and the pruned forecast, errors below: their "
                       "gap is the price of pruning.",
    "cost": "Bytes to store the weights: dense fp32 against the pruned weights in a sparse format (CSR, bitmask); "
            "a shorter bar is what sparse storage could save.",
    "tradeoff": "Each point is one pruning setting: further right is sparser, higher is worse; the best methods "
                "stay low the longest.",
    "loss": "Training and validation loss per epoch (scaled units); training stops when validation stops improving.",
    "gru": "The weight blocks of the first layer (six for a GRU, eight for an LSTM), each titled with its shape: "
           "input-to-hidden on the left, hidden-to-hidden on the right, one row per gate.",
    "lstm": "The LSTM on screen: its eight weight blocks (left: input-to-hidden, right: hidden-to-hidden; rows: input, "
            "forget, cell, output), pruned as the Prune page sets, and what its forget gates do at rest.",
    "latency": "Measured time of one forward pass on this machine: the same pruned model run dense, as a dense "
               "loop and as a sparse CSR loop (lower is faster).",
    "payoff": "How much faster the model runs with whole hidden units removed, against the dense model, measured "
              "on this machine: above the dotted line removing units pays.",
}


def stack(*parts: str) -> str:
    """Several display formulas as one (KaTeX line breaks need an environment)."""
    return r"\begin{gathered}" + r"\\[6pt]".join(p.strip() for p in parts) + r"\end{gathered}"


MATHS: dict[str, str] = {
    "series": WINDOWS,
    "histogram": SCGRU_RULE,
    "histogram_scores": SALIENCY,
    "weights": SCGRU_RULE,
    "heatmap_signed": stack(SCGRU_RULE, r"\text{rows } [0, H),\ [H, 2H),\ \dots \text{ of } W_{hh}"),
    "heatmap": stack(SCGRU_RULE, r"\text{rows } [0, H),\ [H, 2H),\ \dots \text{ of } W_{hh}"
                                 r" = \text{the gates: GRU reset, update, new; LSTM input, forget, cell, output}"),
    "forecast": METRICS,
    "forecast_pruned": METRICS,
    "cost": stack(MACS, BYTES),
    "tradeoff": TRADEOFF,
    "loss": LOSS,
    "gru": stack(GRU_EQUATIONS, GRU_SHAPES),
    "lstm": LSTM_EQUATIONS,
    "latency": LATENCY,
    "payoff": PAYOFF,
}




def describe(kind: str, caption: str, maths: str) -> None:
    """A chart's caption and maths, declared where the chart is drawn (a page's tab list), so a new chart is its
    builder and its tab; `explain` on every page and the lesson read them by `kind`, as they read those above."""
    if kind in CAPTIONS:
        raise ValueError(f"a chart kind named {kind!r} is described already")
    CAPTIONS[kind], MATHS[kind] = caption, maths
