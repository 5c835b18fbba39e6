"""Teaching features shared by app.py and the pages: the session as a `LabState`, the URL that carries it,
restoring a shared link, Reset to defaults, "Show code", the HTML report, and chart captions with maths.

The state lives where the dashboard keeps it (the Data page's dataset, the trained model's configs, the
Train and Prune widgets, `lesson_step`); `current_state()` reads it and `request()` writes it. Widget keys
may only be written before the widgets are drawn, so `request` is for callbacks and app.py's start, and the
model it asks for (the shipped checkpoint, or training with progress) is made by `complete_pending()`,
which app.py runs before the page.
"""
from __future__ import annotations

import dataclasses

import streamlit as st

import scgru_core as sc
from lab_ui import prune_view as pv
from lab_ui import memory, results, session, state, training, widgets
from scgru_core import checkpoints, codegen, lesson, viz
from scgru_core.samples import DEFAULT_SAMPLE, SAMPLES
from scgru_core.settings import DEFAULTS, SETTINGS, LabState
from scgru_core.urlstate import QUERY_KEYS, parse_query
from scgru_core.viz_report import report_html

ss = st.session_state
LESSON_PAGE = "pages/lesson.py"
STEP = "lesson_step"
UPLOAD = "upload"  # the `sample` of a state whose data is an uploaded file (a link cannot carry it)
MODEL_WIDGETS = [n for n, s in SETTINGS.items() if s.group in ("model", "training")]
PRUNE_WIDGETS = [n for n, s in SETTINGS.items() if s.group == "pruning"]


# ---------------------------------------------------------------- session <-> LabState


def lesson_state() -> LabState:
    """The state the lesson starts from: the session's, with the default model when none is trained yet
    (the shipped checkpoint's, whatever the Train page's widgets say)."""
    now = current_state()
    if session.get().model_info:
        return now
    d = LabState.for_sample(now.sample)
    return dataclasses.replace(now, **{name: getattr(d, name) for name in MODEL_WIDGETS})


def current_state() -> LabState:
    """The state the session is in: its data, its trained model (else the Train widgets), the Prune widgets
    (only the value of the slider its method is driven by: the other is not part of the state)."""
    source, info = session.get().source or {}, session.get().model_info
    now = LabState.from_configs(widgets.state(), windows=session.get().windows,
                                model=info["model_config"] if info else None,
                                train=info["train_config"] if info else None)
    other = "sparsity" if now.control == "sensitivity" else "sensitivity"
    return dataclasses.replace(
        now, sample=source.get("key", UPLOAD) if source.get("kind", "sample") == "sample" else UPLOAD,
        step=int(ss.get(STEP, 1)), global_=now.global_ and sc.RULES[now.method].supports_global,
        **{other: getattr(DEFAULTS, other)})


def _set_prune_widgets(new: LabState) -> None:
    widgets.write(new, PRUNE_WIDGETS)
    if state.lab() is not None and model_matches(new):
        pv.sync_target()  # the target slider shows the sparsity that s gives


def request(new: LabState, model: bool = True, asked: bool = True, offer: bool = True) -> None:
    """Put the session into `new` (callbacks and app start only): its data, every widget, and, with `model`,
    ask for its trained model (made by `complete_pending` before the next page is drawn). `asked` is False for
    a link: it may restore a model without training, but a training is something a person starts; with `offer`
    the page then offers that training with its cost."""
    if new.sample in SAMPLES:
        windows = new.window_config()
        source = session.get().source or {}
        if source.get("key") != new.sample or session.get().windows != windows or session.get().data is None:
            sample = SAMPLES[new.sample]
            try:
                state.use_table(state.sample_table(new.sample), {"kind": "sample", "key": new.sample,
                                                                "label": sample.label, "units": sample.units},
                                sc.ReadConfig(), windows)
            except sc.ScgruError as exc:
                note(f"The data of this state could not be prepared: {exc}")
                return
        widgets.write(new, ["sample"])
    widgets.write(new, MODEL_WIDGETS)
    memory.set_widget(STEP, new.step)
    _set_prune_widgets(new)
    if model:
        session.get().pending_model = (new, asked, offer)


def model_matches(new: LabState) -> bool:
    info = session.get().model_info
    return bool(info) and session.get().lab is not None and info["model_config"] == new.model_config() \
        and info["train_config"] == new.train_config() and session.get().windows == new.window_config()


def restorable(new: LabState) -> bool:
    """`new`'s model can be put in place without training: it is the current one, the server's model cache
    holds it, or it is a shipped checkpoint."""
    return model_matches(new) or shipped(new) or _cached(new) is not None


def shipped(new: LabState) -> bool:
    """`new`'s model is a shipped checkpoint, and its data is the data in force."""
    setup = checkpoints.Setup(new.window_config(), new.model_config(), new.train_config())
    return checkpoints.matches(new.sample, setup) and (session.get().source or {}).get("key") == new.sample


def _cached(new: LabState):
    data = session.get().data
    return None if data is None else state.model_cache().get(data, new.model_config(), new.train_config())


def ensure_model(new: LabState, page: str) -> bool:
    """Make `new`'s dense model the current one: keep it if it is, else take it from the server's model cache,
    else load the shipped checkpoint (and share it), else train (with progress and Stop). Then the Prune
    widgets are set again (a new model resets them)."""
    if model_matches(new):
        return True
    made, mc, tc = False, new.model_config(), new.train_config()
    if (hit := _cached(new)) is not None:
        state.install_model(hit.model, mc, tc, hit.training, made="shipped" if shipped(new) else "shared")
        made = True
    elif shipped(new):
        try:
            ckpt = checkpoints.load_checkpoint(new.sample)
        except sc.CheckpointError as exc:
            note(f"The shipped checkpoint was not used ({exc}); training instead.")
        else:
            state.model_cache().put(session.get().data, mc, tc, ckpt.model, ckpt.training)
            state.install_model(ckpt.model, mc, tc, ckpt.training, made="shipped")
            made = True
    if not made:
        made = training.train(session.get().data, mc, tc, page=page, chart_key="teach_loss")
    if made:
        pv.init_controls(session.get().lab)
        _set_prune_widgets(new)
        pv.sync_target()
    return made


def start_session() -> None:
    """On a session's first run: the link's state (or the defaults) into the session; a link that names
    any setting also gets its model (checkpoint or training), so it opens where the teacher was."""
    now = session.get()
    if now.started:
        return
    now.started = True
    query = st.query_params
    if not any(k in query for k in QUERY_KEYS):  # a plain visit: the default sample and its shipped model
        request(LabState(), model=True, asked=False, offer=False)
        return
    new, ignored = parse_query(query)
    for message in ignored:
        if message.startswith(f"sample='{UPLOAD}'"):
            note("This link was made with an uploaded file, which a link cannot carry: the default sample is "
                 "loaded instead. Upload the file on the Data page to continue.")
        else:
            note(f"Ignored from the link: {results.literal(message)}.")  # link values are data, not markdown
    request(new, model=True, asked=False)


def complete_pending(page: str = "home") -> None:
    """Make the model a link, Reset or a lesson step asked for (app.py, before the page is drawn). A link's
    model that would need training is offered with its cost instead: opening a link never starts one."""
    pending = session.get().take("pending_model")
    if pending is not None and session.get().data is not None:
        new, asked, offer = pending
        if asked or restorable(new):
            session.get().link_offer = None
            progress = st.empty()  # above the page's title while it trains; gone once the model is in place
            with progress.container():
                ensure_model(new, page)
            progress.empty()
        elif offer:
            seconds = training.estimate(session.get().data, new.model_config(), new.train_config())
            session.get().link_offer = (new, session.get().version, seconds)
    offer_link_training()
    for text in session.get().take("notes"):
        st.warning(text, icon=":material/link:")


def offer_link_training() -> None:
    """The link's model, with what training it would cost here, and a button; gone once any model is installed."""
    offer = session.get().link_offer
    if offer is None:
        return
    new, version, seconds = offer
    if session.get().version != version:  # a model was trained or loaded since: the offer is out of date
        session.get().link_offer = None
        return
    mc, tc = new.model_config(), new.train_config()
    with st.container(border=True):
        st.markdown(f"**This link's model is not trained on this server yet**: {mc.cell.upper()}, hidden {mc.hidden} × "
                    f"{mc.layers} layer{'s' if mc.layers > 1 else ''}, {tc.epochs} epochs, batch {tc.batch_size}, "
                    f"learning rate {tc.lr:g}. Training it would take up to about **{training.duration(seconds)}** here "
                    "(timed from three training steps; early stopping can end it sooner). The link's other settings "
                    "are in place.")
        st.button("Train the link's model", key="link_train", icon=":material/model_training:",
                  on_click=lambda: (request(new, model=True, asked=True), setattr(session.get(), "link_offer", None)))


def note(text: str) -> None:
    session.get().notes.append(text)


def _write_query(want: dict[str, str]) -> None:
    """Make the address bar's own parameters `want`, leaving the one bound to a widget (the Prune page's tab) to
    Streamlit, which keeps it."""
    query = st.query_params
    for key in [k for k in query.keys() if k not in want and k != pv.TAB_KEY]:
        del query[key]
    for key, value in want.items():
        if query.get(key) != value:
            query[key] = value


def sync_url() -> None:
    """Write the session's state into the address bar, so a reload or a copied link reopens it."""
    if session.get().data is not None:
        _write_query(current_state().to_link())


def reset_to_defaults() -> None:
    """Callback: what a fresh session has: the default sample, settings and model (the shipped checkpoint), every
    page's view at its default, the lesson's answers cleared."""
    memory.forget([k for k in ss if str(k).startswith(("q_", "lesson_"))] + list(state.PERSISTENT_WIDGETS))
    now = session.get()
    now.lesson_moved, now.lesson_latency = set(), {}
    _write_query({})
    widgets.init_defaults()
    request(LabState(), model=True)


def reset_control(key: str = "reset_defaults") -> None:
    st.button("Reset to defaults", key=key, on_click=reset_to_defaults, icon=":material/restart_alt:",
              help="The power-load sample, the default model (loaded from its shipped checkpoint) and pruning "
                   "settings, and a clean link.", width="stretch")


# ---------------------------------------------------------------- explanations and code


def explain(kind: str, caption: bool = True) -> None:
    """Under a chart: a one-line caption on how to read it, and its maths in an expander."""
    if caption:
        st.caption(lesson.CAPTIONS[kind])
    with st.expander("The maths", icon=":material/function:"):
        st.latex(lesson.MATHS[kind])


def show_code(current: LabState | None = None) -> None:
    """The Python that reproduces this state, with the scgru_core API and with torch.nn.utils.prune."""
    current = current or current_state()
    with st.expander("Show code: reproduce this state in Python", icon=":material/code:"):
        upload = None
        if current.sample not in SAMPLES:  # an uploaded file: the code reads it, with the settings in force
            now = session.get()
            upload = ((now.source or {}).get("filename", "your_file.csv"), now.read or sc.ReadConfig())
            current = dataclasses.replace(current, sample=DEFAULT_SAMPLE)
        api, torch_tab = st.tabs(["scgru_core", "torch.nn.utils.prune"])
        api.code(codegen.python_code(current, upload), language="python")
        torch_tab.caption("Continues the code on the first tab (it needs `model` and `data`).")
        torch_tab.code(codegen.prune_code(current), language="python")


# ---------------------------------------------------------------- report


def report_inputs(current: sc.PruningLab, snap: sc.Snapshot, ft: dict | None = None) -> dict:
    """What the report needs from the session, read during the script run (the download's callable runs
    later, outside it, where st.session_state and st.context are not available)."""
    now, source = current_state(), session.get().source or {}
    lat = session.get().lesson_latency.get(latency_key(snap))
    link = None
    try:
        link = st.context.url.split("?")[0] + "?" + "&".join(f"{k}={v}" for k, v in now.to_link().items())
    except Exception:  # noqa: BLE001 - the link is a convenience
        pass
    return {"current": current, "snap": snap, "ft": ft, "state": now, "label": source.get("label", now.sample),
            "units": source.get("units") or current.data.series.name, "training": session.get().model_info["training"],
            "latency": lat, "link": link}


def report(inputs: dict) -> str:
    """The HTML report of a run: settings, metrics, cost and the main figures (no session access)."""
    current, snap, ft, now = inputs["current"], inputs["snap"], inputs["ft"], inputs["state"]
    data, units, tr = current.data, inputs["units"], inputs["training"]
    settings = {"data": inputs["label"], **now.to_query()}
    metrics = {"dense": current.dense.metrics.to_dict(), "naive": current.naive.metrics.to_dict(),
               "pruned": snap.evaluation.metrics.to_dict()}
    forecasts, labels = {"dense": current.dense.forecast, "pruned": snap.evaluation.forecast}, {}
    if ft:
        metrics["pruned + fine-tuned"] = ft["evaluation"].metrics.to_dict()
        forecasts["finetuned"], labels["finetuned"] = ft["evaluation"].forecast, "pruned + fine-tuned"
    cost = {"dense": current.dense_cost.to_dict(), "pruned": snap.cost.to_dict()}
    hh = next(n for n in sc.weight_names(current.model) if ".weight_hh" in n)
    panels = pv.gate_panels(current, snap, hh)
    split = {"train": data.split.train, "val": data.split.val, "test": data.split.test}
    c = snap.cost
    figures = {
        "series": viz.series_figure(data.series.values, data.series.times, name=data.series.name, units=units,
                                    split=split, title="The series and its split"),
        "loss": viz.loss_figure([h.train_loss for h in tr.history], [h.val_loss for h in tr.history],
                                best_epoch=tr.best_epoch or None),
        "histogram": viz.histogram_figure(panels, title=f"{pv.matrix_label(hh)}: weights and the cut"),
        "heatmap": viz.heatmap_figure(panels, title=f"{pv.matrix_label(hh)}: kept (dark) and pruned connections"),
        "forecast": viz.forecast_figure(_test_x(data), snap.evaluation.actual, forecasts, units=units, labels=labels),
        "cost": viz.cost_figure({"dense fp32": c.bytes_dense, "CSR": c.bytes_csr, "bitmask": c.bytes_bitmask}),
    }
    notes = [f"Pruned {snap.result.sparsity:.1%} of the weights in scope ({snap.config.rule.label}, scope "
             f"{snap.config.scope.label()}); MACs per forecast {c.macs_nonzero:,} of {c.macs_dense:,}."]
    if inputs["latency"] is not None:
        notes.append("Latency, " + inputs["latency"].summary())
    return report_html(settings, metrics, cost, {k.capitalize(): f for k, f in figures.items()},
                       captions={k.capitalize(): lesson.CAPTIONS[k] for k in figures}, notes=notes,
                       link=inputs["link"])


def _test_x(data: sc.Dataset):
    idx = data.test.target_start
    return data.series.times[idx] if data.series.times is not None else idx


def report_button(current: sc.PruningLab, snap: sc.Snapshot, ft: dict | None = None, key: str = "dl_report") -> None:
    inputs = report_inputs(current, snap, ft)
    st.download_button("Report (HTML)", data=lambda: report(inputs), file_name="scgru_report.html",
                       mime="text/html", key=key, on_click="ignore", icon=":material/summarize:",
                       help="Settings, metrics, cost and the main figures in one file that opens offline.")


def latency_key(snap: sc.Snapshot) -> tuple:
    return (session.get().version, snap.config)
