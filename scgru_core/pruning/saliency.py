"""Saliency scores for the rules that rank something other than |w| (RuleSpec.needs_scores).

First-order Taylor (Molchanov et al. 2017): zeroing w changes the loss by about -w * dL/dw,
so |w * dL/dw| says how much the loss would move. The absolute value is taken per batch and
then averaged, so batches that push a weight in opposite directions do not cancel (Molchanov
2019 averages squared contributions for the same reason). One pass over the training windows,
no weight changes: the scores describe the trained model as it is.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from scgru_core.net.model import Forecaster, weight_names
from scgru_core.data.windows import Dataset

Scores = dict  # matrix name -> tensor of the matrix's shape


def taylor_scores(model: Forecaster, data: Dataset, batch_size: int = 256) -> Scores:
    """Mean over training batches of |w * dL/dw| (L = the training MSE), for every prunable matrix and the head."""
    names = weight_names(model, include_head=True)
    params = dict(model.named_parameters())
    totals = {n: torch.zeros_like(params[n]) for n in names}
    X, y = data.train.X, data.train.y
    batches = math.ceil(len(X) / batch_size)
    was_training = model.training
    model.eval()  # no dropout or other train-only behaviour: score the model as it predicts
    try:
        for b in range(batches):
            sl = slice(b * batch_size, (b + 1) * batch_size)
            model.zero_grad(set_to_none=True)
            nn.functional.mse_loss(model(X[sl]), y[sl]).backward()
            with torch.no_grad():
                for n in names:
                    totals[n] += (params[n] * params[n].grad).abs()
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return {n: t / batches for n, t in totals.items()}


SCORERS: dict[str, Callable[[Forecaster, Dataset], Scores]] = {"taylor": taylor_scores}
"""Rule name -> how its scores are computed; every rule with needs_scores=True has an entry."""


def scores_for(model: Forecaster, data: Dataset, method: str) -> Scores:
    """The scores the rule `method` ranks."""
    return SCORERS[method](model, data)
