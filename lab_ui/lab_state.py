"""The session as a `LabState` and the links that carry it: the address bar, restoring a shared link (its model
from the session, the server's cache, a shipped checkpoint, or an offered training), Reset to defaults.
(Captions and Show code: explain.py; the HTML report: report.py.)

The state lives where the dashboard keeps it (the Data page's dataset, the trained model's configs, the
Train and Prune widgets, `lesson_step`); `of_session()` reads it and `request()` writes it. Widget keys
may only be written before the widgets are drawn, so `request` is for callbacks and app.py's start, and the
model it asks for (the shipped checkpoint, or training with progress) is made by `complete_pending()`,
which app.py runs before the page.
"""
from __future__ import annotations

import dataclasses

import streamlit as st

import scgru_core as sc
from lab_ui import prune_view as pv
from lab_ui import memory, results, server, session, state, training, uploads, widgets
from scgru_core.store import checkpoints
from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES
from scgru_core.teach.settings import DEFAULTS, SETTINGS, URL_KEYS, VIEWS, LabState
from scgru_core.teach.links import parse_query, query_value

ss = st.session_state
LESSON_PAGE = "app_pages/lesson.py"
STEP = "lesson_step"
UPLOAD = "upload"  # the `sample` of a state whose data is an uploaded file (the link carries its digest: uploads.py)
TRAINING = training.LINK_KEY
MODEL_WIDGETS = [n for n, s in SETTINGS.items() if s.group in ("model", "training")]
PRUNE_WIDGETS = [n for n, s in SETTINGS.items() if s.group == "pruning"]


# ---------------------------------------------------------------- session <-> LabState


def for_lesson() -> LabState:
    """The state the lesson starts from: the session's, with the default model when none is trained yet
    (the shipped checkpoint's, whatever the Train page's widgets say)."""
    now = of_session()
    if session.get().model_info:
        return now
    d = LabState.for_sample(now.sample)
    return dataclasses.replace(now, **{name: getattr(d, name) for name in MODEL_WIDGETS})


def of_session() -> LabState:
    """The state the session is in: its data, its trained model (else the Train widgets), the Prune widgets
    (only the value of the slider its method is driven by: the other is not part of the state)."""
    source, info = session.get().source or {}, session.get().model_info
    now = LabState.from_configs(widgets.state(), windows=session.get().windows,
                                model=info.model_config if info else None,
                                train=info.train_config if info else None)
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
                state.use_table(server.sample_table(new.sample), {"kind": "sample", "key": new.sample,
                                                                "label": sample.label, "units": sample.units},
                                sc.ReadConfig(), windows)
            except sc.ScgruError as exc:
                note(f"The data of this state could not be prepared: {results.plain(exc)}")
                return
        widgets.write(new, ["sample"])
    widgets.write(new, MODEL_WIDGETS + list(VIEWS))
    memory.set_widget(STEP, new.step)
    _set_prune_widgets(new)
    if model:
        session.get().pending_model = (new, asked, offer)


def model_matches(new: LabState) -> bool:
    """The model in place is the one `new`'s settings train. Never a model loaded from a file: its weights are the
    file's, whatever settings it names (Reset after loading a zip made with the defaults kept the zip's model)."""
    info = session.get().model_info
    return bool(info) and session.get().lab is not None and not info.origin \
        and info.model_config == new.model_config() and info.train_config == new.train_config() \
        and session.get().windows == new.window_config()


def restorable(new: LabState) -> bool:
    """`new`'s model can be put in place without training: it is the current one, the server's model cache
    holds it, or it is a shipped checkpoint."""
    data = session.get().data
    return model_matches(new) or shipped(new) or (
        data is not None and server.model_cache().has(data, new.model_config(), new.train_config()))


def shipped(new: LabState) -> bool:
    """`new`'s model is a shipped checkpoint, and its data is the data in force."""
    setup = checkpoints.Setup(new.window_config(), new.model_config(), new.train_config())
    return checkpoints.matches(new.sample, setup) and (session.get().source or {}).get("key") == new.sample


def _cached(new: LabState):
    data = session.get().data
    return None if data is None else server.model_cache().get(data, new.model_config(), new.train_config())


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
            ckpt = checkpoints.load_checkpoint(new.sample, cell=mc.cell)
        except sc.CheckpointError as exc:
            note(f"The shipped checkpoint was not used ({results.plain(exc)}); training instead.")
        else:
            server.model_cache().put(session.get().data, mc, tc, ckpt.model, ckpt.training)
            state.install_model(ckpt.model, mc, tc, ckpt.training, made="shipped")
            made = True
    if not made:
        made = training.train(session.get().data, mc, tc, page=page, chart_key="teach_loss",
                              stop=None)  # above any page: no Stop beside it (a click shows "Stop this training")
    if made:
        _controls_for(new)
    return made


def _controls_for(new: LabState) -> None:
    """A new model is in place: the Prune widgets at `new`'s values (a new model resets them)."""
    pv.init_controls(session.get().lab)
    _set_prune_widgets(new)
    pv.sync_target()


def start_session() -> None:
    """On a session's first run: the link's state (or the defaults) into the session; a link that names
    any setting also gets its model (checkpoint or training), so it opens where the teacher was."""
    now = session.get()
    if now.started:
        return
    now.started = True
    query = st.query_params
    if not any(k in query for k in URL_KEYS):  # a plain visit: the default sample and its shipped model
        request(LabState(), model=True, asked=False, offer=False)
        return
    new, ignored = parse_query(query)
    now.follow_training = query_value(query, TRAINING)
    upload = uploads.digest_of(query) is not None
    for message in ignored:
        if not (upload and message.startswith(f"sample='{UPLOAD}'")):
            note(f"Ignored from the link: {results.literal(message)}.")  # link values are data, not markdown
    if not upload:
        if new.sample == DEFAULT_SAMPLE and query_value(query, "sample") == UPLOAD:  # a link from before uploads were kept
            note("This link was made with an uploaded file it does not carry: the default sample is loaded instead. "
                 "Upload the file on the Data page to continue.")
        request(new, model=True, asked=False)
        return
    new = dataclasses.replace(new, sample=UPLOAD)
    read, bad = uploads.read_config(query)
    for message in bad:
        note(f"Ignored from the link: {results.literal(message)}.")
    why = uploads.restore(query, read, new.window_config())
    if why is None:
        request(new, model=True, asked=False)  # the upload is the data in force: the model it names, if any
        return
    now.link_upload = (uploads.digest_of(query), new, read)
    note(f"This link was made with an uploaded file, and {results.plain(why)}: the default sample and model are "
         "loaded instead. Upload the same file on the Data page: the link's settings are then applied to it.")
    request(LabState(), model=True, asked=False, offer=False)


def after_upload() -> bool:
    """The file just uploaded is the one a link was made with (whose copy the server no longer kept): the link's
    reading, windows and settings are applied to it, and its model offered (never the sample's). True if so."""
    now = session.get()
    source = now.source or {}
    if now.link_upload is None or source.get("kind") != "upload" or source.get("digest") != now.link_upload[0]:
        return False
    _, new, read = now.take("link_upload")
    try:
        state.use_table(now.table, source, read, new.window_config())
    except sc.ScgruError as exc:
        state.say("data", "warning", f"The link's settings could not be applied to this file: {results.plain(exc)}")
        return False
    request(new, model=True, asked=False)
    state.say("data", "success", "This is the file the link was made with: its reading and settings are applied.")
    return True


def complete_pending(page: str = "home") -> None:
    """Make the model a link, Reset or a lesson step asked for (app.py, before the page is drawn). A link's
    model that would need training is offered with its cost instead: opening a link never starts one."""
    pending = session.get().take("pending_model")
    if pending is not None and session.get().data is not None:
        new, asked, offer = pending
        if (ticket := _followed(new)) is not None:  # a reload during the training it was waiting for
            session.get().link_offer = None
            training.wait_for(ticket, new.model_config(), new.train_config(), page, after=lambda: _controls_for(new))
            st.rerun()  # shown where every run shows it (training.resume, at the top)
        elif not restorable(new) and (refusal := training.over_budget(new.model_config(), new.train_config(),
                                                                       new.window)) is not None:
            note(f"This link's model cannot be trained here: {results.plain(refusal)} The link's other settings are in "
                 "place.")
        elif asked or restorable(new):
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


def _followed(new: LabState) -> sc.Ticket | None:
    """The training under way that this page's link was following, if it trains `new`'s model on the data in force."""
    wanted = session.get().take("follow_training")
    ticket = server.trainers().by_id(wanted) if wanted else None
    if ticket is None or ticket.done:  # the usual case: no digest of the data to compute (it hashes every window)
        return None
    return ticket if ticket.key == server.model_cache().key(session.get().data, new.model_config(),
                                                            new.train_config()) else None


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
    ticket = server.trainers().find(server.model_cache().key(session.get().data, mc, tc))
    if ticket is not None:  # under way already (this page was reloaded while it trained, or another student asked)
        session.get().link_offer = None
        training.wait_for(ticket, mc, tc, "home", after=lambda: _controls_for(new))
        st.rerun()  # shown where every run shows it (training.resume, at the top): one place, never two
        return
    with st.container(border=True):
        st.markdown(f"**This link's model is not trained on this server yet**: {training.model_label(mc, tc)}. "
                    f"Training it would take up to about **{training.duration(seconds)}** here "
                    "(from the model's size and this machine's measured speed; early stopping can end it sooner). "
                    "The link's other settings are in place.")
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
    changed = {key: value for key, value in want.items() if query.get(key) != value}
    if changed:
        query.update(changed)  # one message to the browser; a key at a time sent one each (22 for a fresh link)


def sync_url() -> None:
    """Write the session's state into the address bar, so a reload or a copied link reopens it: its settings, its
    upload (uploads.link_params) and, while it runs, the training it waits for.

    Written by hand, not by the widgets' own bind="query-params" (used for the Prune tabs, which need nothing more):
    measured on Streamlit 1.67 in Chromium, a bound widget drops a link's value it cannot show without a word
    (?s=9 opened at s = 1.00, ?m=zzz at the first choice, both gone from the address), while a hand-edited link must
    say what it ignored (links.parse_query); and the address also carries what no widget holds: the upload's
    digest and reading, the training under way, the settings of the model in place rather than of the widgets."""
    now = session.get()
    if now.data is not None:
        following = {TRAINING: now.training["ticket"].id} if now.training is not None else {}
        _write_query({**of_session().to_link(), **uploads.link_params(), **following})


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
