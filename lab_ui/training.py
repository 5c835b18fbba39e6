"""Trainings with a progress bar, live loss curves, a place in the server's line, and Stop.

A dense training runs in the server's training line (`server.trainers()`, a thread of its own), not in the script
run that asked for it: Streamlit stops a script run on every click elsewhere and whenever its page is reloaded or
closed, and a training must outlive all three. The run that asked for it follows it (`follow`: progress, loss
curve, place in line) and installs what it made. A run interrupted while following leaves it under way: the next
run shows it polled at the top of every page (`resume`, `watch`), with Stop; a reloaded page finds it by its
settings (lab_state.offer_link_training). Fine-tunes are short and stay inside the script run: a Stop interrupts
them and the job kept in the session lets the next run say so (`state.recover_interrupted_job`); they still wait
their turn in the same line.
"""
from __future__ import annotations

import copy
import math

import streamlit as st

import scgru_core as sc
from scgru_core.net import budget
from scgru_core import viz

from . import charts, results, server, session, state
from .progress import UI_INTERVAL_S, Progress, Throttle, loss_figure, progress_text

LINK_KEY = "training"  # the address's parameter naming the training a page follows, while it runs
WATCH_INTERVAL_S = 1.0  # a training followed from another run is polled this often
STOP_WAIT_S = 10.0  # a stopped training ends within one batch: the run after a Stop waits this long for it


def estimate(data: sc.Dataset, model_config: sc.ModelConfig, train_config: sc.TrainConfig) -> float:
    """Seconds a training of these settings can take here (every epoch; early stopping only shortens it), from the
    model's size and this machine's measured rate: no model is built, whatever size a link asks for."""
    return budget.training_seconds(model_config, train_config, data.window, len(data.train), len(data.val))


def over_budget(model_config: sc.ModelConfig, train_config: sc.TrainConfig,
                window: int) -> budget.MemoryBudgetError | None:
    """Why a training of these settings may not run here (its memory would pass the budget), or None: for a page
    to say before anything starts (the engine's `fit` refuses it too)."""
    try:
        budget.check_memory(model_config, train_config, window)
    except budget.MemoryBudgetError as exc:
        return exc
    return None


def model_label(model_config: sc.ModelConfig, train_config: sc.TrainConfig) -> str:
    """'GRU, hidden 64 × 1 layer, 15 epochs, batch 64, learning rate 0.003'."""
    mc, tc = model_config, train_config
    return (f"{mc.cell.upper()}, hidden {mc.hidden} × {mc.layers} layer{'s' if mc.layers > 1 else ''}, {tc.epochs} "
            f"epochs, batch {tc.batch_size}, learning rate {tc.lr:g}")


def duration(seconds: float) -> str:
    """A time for a person: "8 s", "4 min", "1.5 h"."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def stop_button(running: bool, label: str = "Stop") -> None:
    """Stop, for the work this script run is starting (`running`: the page's go button was just pressed); shown
    disabled otherwise, since there is nothing to stop. Drawn before the work starts: a click during it interrupts
    the script run, which the work's callbacks see."""
    st.button(label, key="stop", icon=":material/stop_circle:", disabled=not running,
              help="Stop now; the best epoch so far is kept." if running else "Stops the work this page starts.")


def _should_stop() -> bool:
    return bool(st.session_state.get("stop"))


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th'."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def place_text(queue: sc.TrainingQueue, ticket: sc.Ticket, stop: str | None = "Stop") -> str:
    """Where a training stands in the server's line, for a person; `stop`: the button beside it that leaves the
    line (None: there is none, and none is mentioned)."""
    position = queue.position(ticket)
    if position == 0:
        left = ticket.remaining_s()
        return f"{ticket.label}: running" + (f", about {duration(left)} left." if math.isfinite(left) else ".")
    running, _ = queue.counts()
    wait = queue.wait_s(ticket)
    return (f"{ticket.label}: **{ordinal(position)} in line** for this server's trainer ({running} training"
            f"{'s' if running != 1 else ''} running, {queue.slots} at a time, so that every slider in the room stays "
            f"quick). Your turn " + (f"in about {duration(wait)}" if math.isfinite(wait) and wait > 0 else
                                    "when the work ahead ends") + (f"; **{stop}** leaves the line." if stop else "."))


def _in_line(ticket: sc.Ticket, work, stop: str | None = "Stop"):
    """`work` wrapped to run in the server's training line, the place in line shown while it waits (`stop`: the
    page's button that leaves the line, if it has one)."""
    queue, line = server.trainers(), st.empty()

    def waiting(t: sc.Ticket) -> None:
        line.info(place_text(queue, t, stop), icon=":material/hourglass_top:")

    def run():
        with queue.turn(ticket, waiting):
            line.empty()
            return work()

    return run


def _ticket(what: str, config: sc.TrainConfig, seconds: float) -> sc.Ticket:
    """A ticket for work this script run does itself (nobody else looks it up)."""
    return sc.Ticket(key=object(), label=what, epochs=config.epochs, estimate_s=seconds)


def run_in_line(label: str, work, estimate_s: float = math.nan):
    """`work(ticket)` run now in this script run, after waiting its turn in the server's training line (a
    comparison, a fine-tuned sweep); it reports its progress with `ticket.progress(done, total)`, which tells the
    others in line how long they wait. Returns what `work` returns."""
    ticket = sc.Ticket(key=object(), label=label, epochs=1, estimate_s=estimate_s)
    return _in_line(ticket, lambda: work(ticket))()


def _progress(kind: str, chart_key: str, ticket: sc.Ticket):
    """For work done in the script run: the callbacks that feed its ticket and draw it; (callbacks, bar)."""
    shown, throttle = Progress(kind, chart_key), Throttle()

    def on_batch(b: int, batches: int) -> None:
        ticket.progress(b, batches)
        if throttle.ready():
            shown.draw(ticket)

    def on_epoch(log: sc.EpochLog) -> None:
        ticket.epoch_done(log)
        shown.draw(ticket)

    callbacks = sc.Callbacks(on_epoch=on_epoch, on_batch=on_batch,
                             should_stop=lambda: _should_stop() or ticket.stop.is_set())
    return callbacks, shown.bar


def _as_job(job: dict, bar, work, kept: str):
    """Run `work()` as the session's job. An engine refusal (a diverged run above all) is shown with what is
    kept, and gives None. A Stop interrupts `work` and leaves the job for the next run to recover."""
    session.get().job = job
    try:
        done = work()
    except sc.ScgruError as exc:
        session.get().take("job")
        bar.empty()
        st.error(f"{results.plain(exc)} {kept}")
        return None
    session.get().take("job")
    return done


def train(data: sc.Dataset, model_config: sc.ModelConfig, train_config: sc.TrainConfig, page: str,
          chart_key: str = "loss_live", stop: str | None = "Stop") -> bool:
    """Install the dense model of these settings: from the server's model cache when any session trained it, else
    trained in the server's line (joining the training of the very same model when one is under way) and followed
    here. False when nothing was installed (diverged, stopped before its first epoch: said on the page)."""
    cache = server.model_cache()
    if (hit := cache.get(data, model_config, train_config)) is not None:
        state.install_model(hit.model, model_config, train_config, hit.training, made="shared")
        return True
    if (refusal := over_budget(model_config, train_config, data.window)) is not None:
        show("error", f"{results.plain(refusal)} The previous model (if any) is kept.")
        return False
    ticket = sc.Ticket(key=cache.key(data, model_config, train_config), epochs=train_config.epochs,
                       label=f"Training {model_label(model_config, train_config)}",
                       estimate_s=estimate(data, model_config, train_config))
    mine = ticket
    ticket = server.trainers().submit(ticket, lambda t: _train_job(t, cache, data, model_config, train_config))
    wait_for(ticket, model_config, train_config, page, made="trained" if ticket is mine else "followed")
    st.query_params[LINK_KEY] = ticket.id  # now, not at the end of this run: a reload during it follows it again
    return follow(chart_key, stop)


def wait_for(ticket: sc.Ticket, model_config: sc.ModelConfig, train_config: sc.TrainConfig, page: str,
             after=None, made: str = "followed") -> None:
    """Make `ticket` the training this session waits for: its model is installed here when it ends (then
    `after()` runs), whichever run of this session sees it end."""
    ticket.want(session.get().token)
    session.get().training = {"ticket": ticket, "page": page, "model_config": model_config,
                              "train_config": train_config, "data": session.get().data, "after": after, "made": made}


def _train_job(ticket: sc.Ticket, cache, data: sc.Dataset, model_config: sc.ModelConfig,
               train_config: sc.TrainConfig):
    """The training itself, in the server's thread: no Streamlit here, its progress goes to the ticket; shared
    through the model cache when it ran to the end."""
    model, result = sc.train_dense(data, model_config, train_config, sc.Callbacks(
        on_epoch=ticket.epoch_done, on_batch=ticket.progress, should_stop=ticket.stop.is_set))
    cache.put(data, model_config, train_config, model, result)  # a stopped one is not what these settings give
    return model.eval(), result


def follow(chart_key: str = "loss_live", stop: str | None = "Stop") -> bool:
    """Show the session's training until it ends, then install what it made (see `finish`). A click elsewhere
    interrupts the showing, never the training. `stop`: the page's Stop button, if it has one."""
    ticket, queue = session.get().training["ticket"], server.trainers()
    line, shown = st.empty(), Progress("Training", chart_key)
    while not ticket.finished.wait(UI_INTERVAL_S):
        ticket.want(session.get().token)  # still here
        if queue.position(ticket) > 0:
            line.info(place_text(queue, ticket, stop), icon=":material/hourglass_top:")
        else:
            line.empty()
            shown.draw(ticket)
    line.empty()
    installed = finish(show)
    if installed:
        tr = session.get().model_info.training
        shown.bar.progress(1.0, text=f"Training done: {len(tr.history)} epochs in {tr.seconds:.1f} s"
                                     + (" (stopped early: validation loss stopped improving)" if tr.stopped_early
                                        else ""))
    else:
        shown.bar.empty()
    return installed


def show(kind: str, text: str) -> None:
    getattr(st, kind)(text)


def later(kind: str, text: str) -> None:
    session.get().alerts.append((kind, text))


def stop_following(report=show) -> bool:
    """This session's Stop for the training it waits for: the training stops unless other sessions still wait for
    it (then this session alone stops waiting, and is told so). True when the training itself was stopped."""
    job = session.get().training
    left = job["ticket"].release(session.get().token)
    if left:
        session.get().take("training")
        report("info", f"You stopped waiting for this training. It goes on for the {left} other session"
                       f"{'s' if left > 1 else ''} that asked for the same model, and its model is shared once it "
                       "ends: Train again to take it then.")
    return not left

def finish(report=show) -> bool:
    """The session's training has ended: install its model (a copy: other sessions may follow the same training),
    or say why not (`report(kind, text)`: now, or `later` at the top of the next run). A stopped training keeps its
    best epoch."""
    job = session.get().take("training")
    ticket = job["ticket"]
    error = ticket.error
    if error is not None:
        if not isinstance(error, sc.ScgruError):
            raise error  # a bug, not a refusal: Streamlit shows it
        # a Stop before its turn is the person's choice, not a failure
        report("info" if isinstance(error, sc.TrainingCancelled) else "error",
               f"{results.plain(error)} The previous model (if any) is kept.")
        return False
    if job["data"] is not session.get().data:
        report("warning", "A training finished on data that is no longer the data in force: not installed.")
        return False
    model, result = ticket.outcome
    if not result.history:
        report("warning", "Training was stopped before the first epoch ended; nothing changed.")
        return False
    state.install_model(copy.deepcopy(model), job["model_config"], job["train_config"], copy.deepcopy(result),
                        made=job["made"])
    if result.cancelled:
        report("warning", f"Training was stopped after {len(result.history)} of {ticket.epochs} epochs; the model "
                          f"of epoch {result.best_epoch} (lowest validation loss) is kept.")
    if job["after"] is not None:
        job["after"]()
    return True


def resume() -> None:
    """At the start of every run (app.py): a training this session follows that is not followed in this run. A
    Stop click stops it (within a batch) and its best epoch is installed now; a finished one is installed; one
    still under way is shown at the top of the page, polled (`watch`), while the page itself works."""
    for kind, text in session.get().take("alerts"):
        show(kind, text)
    job = session.get().training
    if job is None:
        return
    ticket = job["ticket"]
    if _should_stop():
        if not stop_following():
            return
        ticket.finished.wait(STOP_WAIT_S)
    if ticket.finished.is_set():
        finish()
    else:
        watch(ticket)


@st.fragment(run_every=WATCH_INTERVAL_S)
def watch(ticket: sc.Ticket) -> None:
    """A training this session waits for, shown while the rest of the page works; the page again once it ends (or
    once this session stopped waiting for it)."""
    job = session.get().training
    if job is None or job["ticket"] is not ticket:
        st.rerun(scope="app")
    ticket.want(session.get().token)  # still here: a tab that stops polling stops counting (Ticket.release)
    if ticket.finished.is_set():
        if session.get().training is not None and session.get().training["ticket"] is ticket:
            finish(later)
        st.rerun(scope="app")
    queue = server.trainers()
    with st.container(border=True):
        st.markdown("**A training is under way on this server for you** (it goes on while you use the app, reload "
                    "the page or open its link elsewhere): its model is put in place as soon as it is done.")
        place = st.empty()  # the same elements on every poll (notes: no transient duplicates)
        if queue.position(ticket) > 0:
            place.info(place_text(queue, ticket, "Stop this training"), icon=":material/hourglass_top:")
        st.progress(ticket.fraction, text=progress_text("Training", ticket))
        chart = st.empty()
        if ticket.losses:
            fig = loss_figure(ticket, "Loss per epoch (MSE, scaled units)", height=220)
            charts.show(fig, key="watch_loss", where=chart)
        st.button("Stop this training", key="watch_stop", icon=":material/stop_circle:", on_click=stop_following,
                  args=(later,), help="Stops it, keeping its best epoch so far; a training other sessions also wait "
                                      "for goes on for them, and only this page stops waiting.")


def _model_config() -> sc.ModelConfig:
    return session.get().model_info.model_config


def finetune(current: sc.PruningLab, snapshot: sc.Snapshot, epochs: int, train_config: sc.TrainConfig,
             chart_key: str = "ft_loss_live", page: str = "prune", stop: str | None = "Stop") -> dict | None:
    """Fine-tune the pruned model once (engine `finetune`, masks held) and evaluate it; None if it diverged.
    `stop`: the page's Stop button (None on a page without one: its place in line does not mention it)."""
    config = sc.finetune_config(train_config, epochs)
    ticket = _ticket("Fine-tuning", config, estimate(current.data, _model_config(), config))
    callbacks, bar = _progress("Fine-tuning", chart_key, ticket)
    job = {"page": page, "what": "Fine-tuning", "model": None, "history": ticket.losses}
    done = _as_job(job, bar, _in_line(ticket, lambda: sc.finetune(current.model, snapshot.result, current.data, config,
                                                                   callbacks), stop), "The pruned model is unchanged.")
    if done is None:
        return None
    twin, result = done
    bar.progress(1.0, text=f"Fine-tuning done: {len(result.history)} epochs in {result.seconds:.1f} s")
    return session.Finetuned(session.get().version, snapshot.config, twin.eval(), snapshot.result.masks,
                             sc.evaluate(twin, current.data), result)


def shrink(current: sc.PruningLab, config: sc.UnitConfig, masks: sc.net.masks.MaskSet | None, epochs: int,
           train_config: sc.TrainConfig, chart_key: str = "shrink_loss_live",
           page: str = "deploy") -> sc.ShrinkResult | None:
    """Remove units and fine-tune the smaller model once (engine `shrink_and_finetune`) with live progress;
    None if the engine refused or the fine-tune diverged (an error is shown)."""
    ft = sc.finetune_config(train_config, epochs) if epochs > 0 else None
    ticket = _ticket("Fine-tuning the smaller model", ft or train_config,
                     estimate(current.data, _model_config(), ft) if ft else 0.0)  # the dense model's: at most
    callbacks, bar = _progress("Fine-tuning the smaller model", chart_key, ticket)
    job = {"page": page, "what": "Fine-tuning the smaller model", "model": None, "history": ticket.losses}
    work = lambda: sc.shrink_and_finetune(current.model, current.data, config, ft, masks, callbacks)  # noqa: E731
    # removing units alone takes milliseconds: only a fine-tune waits for the trainer
    done = _as_job(job, bar, _in_line(ticket, work) if ft else work, "The trained model is unchanged.")
    if done is None:
        return None
    if done.finetuning is not None:
        bar.progress(1.0, text=f"Fine-tuning done: {len(done.finetuning.history)} epochs in "
                               f"{done.finetuning.seconds:.1f} s")
    else:
        bar.empty()
    return done
