"""Experiments at scale: one experiment (train, prune, fine-tune), trade-off sweeps, method comparisons, the
reproducible study and its report with intervals, and the executors (local, process pool, Ray) that run them."""
