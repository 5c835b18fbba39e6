"""Progress of work a page waits for: a bar and a live loss chart drawn from a ticket, at most every UI_INTERVAL_S."""
from __future__ import annotations

import time

import streamlit as st

import scgru_core as sc
from scgru_core import viz

from . import charts

UI_INTERVAL_S = 0.2  # progress updates at most this often (each one is a message to the browser)


def progress_text(kind: str, ticket: sc.Ticket) -> str:
    text = f"{kind}: epoch {min(ticket.epoch, ticket.epochs)} of {ticket.epochs}"
    text += f", batch {ticket.batch} of {ticket.batches}" if ticket.batches else ""
    if ticket.losses:
        last = ticket.losses[-1]
        text += f" · last epoch: train loss {last.train_loss:.4g}, validation loss {last.val_loss:.4g}"
    return text


def loss_figure(ticket: sc.Ticket, title: str, height: int = 340):
    """The loss curves of the epochs a ticket has finished."""
    return viz.training_figure(ticket.losses, title=title, height=height)


class Progress:
    """A progress bar and a live loss chart drawn from a ticket (in the run that trains or follows it)."""

    def __init__(self, kind: str, chart_key: str):
        self.kind, self.chart_key, self.epochs_drawn = kind, chart_key, 0
        self.bar = st.progress(0.0, text=f"{kind}: starting…")
        self.chart = st.empty()

    def draw(self, ticket: sc.Ticket) -> None:
        self.bar.progress(ticket.fraction, text=progress_text(self.kind, ticket))
        if len(ticket.losses) != self.epochs_drawn:
            self.epochs_drawn = len(ticket.losses)
            fig = loss_figure(ticket, f"{self.kind}: loss per epoch (MSE, scaled units)")
            charts.show(fig, key=f"{self.chart_key}_{self.epochs_drawn}", where=self.chart)


class Throttle:
    """True at most every UI_INTERVAL_S: progress drawn per batch would be a message to the browser each time."""

    def __init__(self, interval_s: float = UI_INTERVAL_S):
        self.interval_s, self.last = interval_s, 0.0

    def ready(self) -> bool:
        now = time.perf_counter()
        if now - self.last < self.interval_s:
            return False
        self.last = now
        return True
