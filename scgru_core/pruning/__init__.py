"""Pruning: the rules and the masks they produce (SCGRU s * std(|W|), magnitude, random, Taylor, per-matrix), their
scopes, saliency scores, gradual schedules (AGP, Narang), the sensitivity analysis, and the live lab the slider drives."""
