"""Training and fine-tuning inside the script run, with a progress bar and live loss curves.

A click on Stop (key "stop") makes Streamlit interrupt this run at its next `st.*` call and
rerun the script; the job kept in session_state lets that rerun keep the best epoch so far
(`state.recover_interrupted_job`). `Callbacks.should_stop` also honours the Stop button's
state when a run sees it (for example when the runner does not interrupt).
"""
from __future__ import annotations

import copy
import math
import time

import streamlit as st

import scgru_core as sc
from scgru_core import viz

from . import session, state

UI_INTERVAL_S = 0.2  # progress updates at most this often (each one is a message to the browser)


def estimate(data: sc.Dataset, model_config: sc.ModelConfig, train_config: sc.TrainConfig) -> float:
    """Seconds a training of these settings can take here (every epoch; early stopping only shortens it), timed
    from three real training steps on the data in force, once per session and setting."""
    store = session.get().estimates
    key = (id(data), model_config, train_config)
    if key not in store:
        model = sc.build_model(model_config, horizon=data.horizon, seed=train_config.seed)
        store[key] = sc.train.estimate_seconds(model, data, train_config)
    return store[key]


def duration(seconds: float) -> str:
    """A time for a person: "8 s", "4 min", "1.5 h"."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def stop_button(label: str = "Stop") -> None:
    st.button(label, key="stop", icon=":material/stop_circle:", help="Stop now; the best epoch so far is kept.")


def _should_stop() -> bool:
    return bool(st.session_state.get("stop"))


def _progress(kind: str, train_config: sc.TrainConfig, chart_key: str):
    """A progress bar, a live loss chart and the callbacks that feed them; returns (callbacks, history)."""
    bar = st.progress(0.0, text=f"{kind}: starting…")
    chart = st.empty()
    history: list[sc.EpochLog] = []
    last = [0.0]

    def on_batch(b: int, batches: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= UI_INTERVAL_S:
            last[0] = now
            done = (len(history) + b / batches) / max(1, train_config.epochs)
            bar.progress(min(1.0, done), text=f"{kind}: epoch {len(history) + 1} of {train_config.epochs}, "
                                              f"batch {b} of {batches}")

    def on_epoch(log: sc.EpochLog) -> None:
        history.append(log)
        bar.progress(min(1.0, log.epoch / log.epochs), text=f"{kind}: epoch {log.epoch} of {log.epochs} · train loss "
                                                            f"{log.train_loss:.4g} · validation loss {log.val_loss:.4g}")
        fig = viz.loss_figure([h.train_loss for h in history], [h.val_loss for h in history],
                              title=f"{kind}: loss per epoch (MSE, scaled units)")
        chart.plotly_chart(fig, key=f"{chart_key}_{log.epoch}", config=viz.PLOTLY_CONFIG, theme=None)

    return sc.Callbacks(on_epoch=on_epoch, on_batch=on_batch, should_stop=_should_stop), history, bar


def _as_job(job: dict, bar, work, kept: str):
    """Run `work()` as the session's job. An engine refusal (a diverged run above all) is shown with what is
    kept, and gives None. A Stop interrupts `work` and leaves the job for the next run to recover."""
    session.get().job = job
    try:
        done = work()
    except sc.ScgruError as exc:
        session.get().take("job")
        bar.empty()
        st.error(f"{exc} {kept}")
        return None
    session.get().take("job")
    return done


def train(data: sc.Dataset, model_config: sc.ModelConfig, train_config: sc.TrainConfig, page: str,
          chart_key: str = "loss_live") -> bool:
    """Install the dense model of these settings: from the server's model cache when any session trained it
    (waiting while one is training it now), else trained here with live progress and shared. False when it
    diverged (the previous model is kept and an error is shown)."""
    cache, note = state.model_cache(), st.empty()
    started = time.perf_counter()

    def waiting() -> None:
        note.info(f"Another session is training this very model: it will be yours too as soon as it is done "
                  f"(waiting {time.perf_counter() - started:.0f} s).", icon=":material/hourglass_top:")

    with cache.claim(data, model_config, train_config, wait=waiting) as hit:
        note.empty()
        if hit is not None:
            state.install_model(hit.model, model_config, train_config, hit.training, made="shared")
            return True
        return _train_here(cache, data, model_config, train_config, page, chart_key)


def _train_here(cache, data: sc.Dataset, model_config: sc.ModelConfig, train_config: sc.TrainConfig, page: str,
                chart_key: str) -> bool:
    model = sc.build_model(model_config, horizon=data.horizon, seed=train_config.seed)
    callbacks, history, bar = _progress("Training", train_config, chart_key)
    job = {"page": page, "what": "Training", "model": model, "model_config": model_config,
           "train_config": train_config, "history": history, "best_state": None, "best_val": math.inf,
           "best_epoch": 0}
    on_epoch = callbacks.on_epoch

    def keep_best(log: sc.EpochLog) -> None:
        if log.val_loss < job["best_val"]:
            job.update(best_val=log.val_loss, best_epoch=log.epoch, best_state=copy.deepcopy(model.state_dict()))
        on_epoch(log)

    callbacks.on_epoch = keep_best
    result = _as_job(job, bar, lambda: sc.fit(model, data, train_config, callbacks=callbacks),
                     "The previous model (if any) is kept.")
    if result is None:
        return False
    bar.progress(1.0, text=f"Training done: {len(result.history)} epochs in {result.seconds:.1f} s"
                           + (" (stopped early: validation loss stopped improving)" if result.stopped_early else ""))
    cache.put(data, model_config, train_config, model, result)
    state.install_model(model, model_config, train_config, result)
    return True


def finetune(current: sc.PruningLab, snapshot: sc.Snapshot, epochs: int, train_config: sc.TrainConfig,
             chart_key: str = "ft_loss_live", page: str = "prune") -> dict | None:
    """Fine-tune the pruned model once (engine `finetune`, masks held) and evaluate it; None if it diverged."""
    config = sc.finetune_config(train_config, epochs)
    callbacks, history, bar = _progress("Fine-tuning", config, chart_key)
    job = {"page": page, "what": "Fine-tuning", "model": None, "history": history}
    done = _as_job(job, bar, lambda: sc.finetune(current.model, snapshot.result, current.data, config, callbacks),
                   "The pruned model is unchanged.")
    if done is None:
        return None
    twin, result = done
    bar.progress(1.0, text=f"Fine-tuning done: {len(result.history)} epochs in {result.seconds:.1f} s")
    return {"version": session.get().version, "config": snapshot.config, "model": twin.eval(),
            "masks": snapshot.result.masks, "evaluation": sc.evaluate(twin, current.data), "training": result}


def shrink(current: sc.PruningLab, config: sc.UnitConfig, masks: sc.pruning.MaskSet | None, epochs: int,
           train_config: sc.TrainConfig, chart_key: str = "shrink_loss_live",
           page: str = "deploy") -> sc.ShrinkResult | None:
    """Remove units and fine-tune the smaller model once (engine `shrink_and_finetune`) with live progress;
    None if the engine refused or the fine-tune diverged (an error is shown)."""
    ft = sc.finetune_config(train_config, epochs) if epochs > 0 else None
    callbacks, history, bar = _progress("Fine-tuning the smaller model", ft or train_config, chart_key)
    job = {"page": page, "what": "Fine-tuning the smaller model", "model": None, "history": history}
    done = _as_job(job, bar, lambda: sc.shrink_and_finetune(current.model, current.data, config, ft, masks, callbacks),
                   "The trained model is unchanged.")
    if done is None:
        return None
    if done.finetuning is not None:
        bar.progress(1.0, text=f"Fine-tuning done: {len(done.finetuning.history)} epochs in "
                               f"{done.finetuning.seconds:.1f} s")
    else:
        bar.empty()
    return done
