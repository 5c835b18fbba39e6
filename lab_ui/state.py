"""What every page shares about one session: its data and model put in place, messages, the page frame, the
sidebar status. What one server process shares between sessions (caches, the training line) is lab_ui/server.py.
"""
from __future__ import annotations


import pandas as pd
import streamlit as st

import scgru_core as sc
from scgru_core.data.reading import detected_columns
from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES

from scgru_core.teach.settings import SETTINGS, LabState

from . import memory, results, server, session, widgets

# Page scripts, as registered with st.navigation in app.py.
HOME, DATA_PAGE, TRAIN_PAGE, PRUNE_PAGE, TRADEOFFS_PAGE, COMPARE_PAGE, DEPLOY_PAGE = (
    "app_pages/home.py", "app_pages/data.py", "app_pages/train.py", "app_pages/prune.py", "app_pages/tradeoffs.py", "app_pages/compare.py",
    "app_pages/deploy.py")
CLASS_PAGE = "app_pages/classroom.py"  # the teacher's view of a class (lab_ui/classroom.py)

# Widgets whose values must survive a page switch (Streamlit drops the state of widgets not drawn).
# the settings table's (views included), then the lesson's step and how the Data form reads an upload (which an
# upload's link carries, lab_ui/uploads.py: they mean nothing without the file)
PERSISTENT_WIDGETS = widgets.KEYS + ("lesson_step", "f_column", "f_time", "f_missing", "f_dates")
TIME_NONE = "(no time column)"
WINDOW_SETTINGS = tuple(n for n, s in SETTINGS.items() if s.config == "windows")  # the Data form's, in the table


CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; padding-bottom: 3rem; }
[data-testid="stMetricValue"] { font-size: 2rem; }
[data-testid="stLayoutWrapper"]:has(> .st-key-above_page) { display: none; }
[data-testid="stLayoutWrapper"]:has(> .st-key-above_page :is([data-testid="stAlert"], [data-testid="stProgress"],
  [data-testid="stButton"], [data-testid="stSpinner"])) { display: flex; padding-top: 1.6rem; }
</style>"""
# Notices above a page's title (a link's notes, its training offer, a training under way: app.py's `above_page`) get
# the room Streamlit's header takes; the pages' own top padding stays small, so a page without them starts as high.
# The Data page's uploader lets through twice the engine's cap, so that a file just over it is refused in words; its
# own "100MB per file" line would contradict the label, which states the cap (50 MB) and the file types.


def say(page: str, kind: str, text: str) -> None:
    """Queue a message ("error", "warning", "success", "info") for the next time `page` is drawn."""
    session.get().messages.setdefault(page, []).append((kind, text))


def show_messages(page: str) -> None:
    for kind, text in session.get().messages.pop(page, []):
        getattr(st, kind)(text)


# ---------------------------------------------------------------- data


def data_form_defaults(frame: pd.DataFrame, read: sc.ReadConfig, windows: sc.WindowConfig,
                       report: sc.LoadReport | None) -> None:
    """Point the Data page's settings widgets at `frame` and these settings (call before they are drawn)."""
    column, time_col = (report.column, report.time_column) if report else detected_columns(frame)
    memory.set_widget("f_column", column)
    memory.set_widget("f_time", time_col or TIME_NONE)
    memory.set_widget("f_missing", read.missing)
    memory.set_widget("f_dates", read.date_order)
    widgets.write(LabState.from_configs(windows=windows), WINDOW_SETTINGS)


def use_table(frame: pd.DataFrame, source: dict, read: sc.ReadConfig, windows: sc.WindowConfig) -> None:
    """Make `frame` the current data with these settings, or raise ScgruError and change nothing."""
    series = sc.series_from_frame(frame, read)
    data = sc.prepare(series, windows)
    now = session.get()
    now.table, now.source, now.read, now.windows, now.series, now.data = frame, source, read, windows, series, data
    now.pending = now.link_offer = None  # an offer made for the data before is out of date
    data_form_defaults(frame, read, windows, series.report)
    clear_model()


def load_sample(key: str) -> None:
    sample = SAMPLES[key]
    source = {"kind": "sample", "key": key, "label": sample.label, "units": sample.units}
    use_table(server.sample_table(key), source, sc.ReadConfig(), sc.WindowConfig(window=sample.window))


def ensure_dataset() -> None:
    """On a session's first run the power-load sample is loaded, so every page starts on real data."""
    if session.get().data is None:
        load_sample(DEFAULT_SAMPLE)


def handle_upload(file) -> None:
    """Read a newly uploaded file (the uploader's on_change); a refusal is queued as an error and the
    previous data stays. The parsed table lives in this session only."""
    if file is None:
        return
    raw = file.getvalue()
    try:
        frame = sc.read_table_apart(raw, file.name)
    except sc.ScgruError as exc:
        say("data", "error", f"{results.literal(file.name)} was not loaded: {results.plain(exc)} The previous data is kept.")
        return
    source = upload_source(file.name, server.uploads().put(raw, file.name))
    windows = session.get().windows or sc.WindowConfig()
    try:
        use_table(frame, source, sc.ReadConfig(), windows)
    except sc.FileTooLargeError as exc:  # no setting below can make it fit: not offered as pending
        say("data", "error", f"{results.literal(file.name)} was not loaded: {results.plain(exc)} The previous data is kept.")
        return
    except sc.ScgruError as exc:
        session.get().pending = {"frame": frame, "source": source}
        data_form_defaults(frame, sc.ReadConfig(), windows, None)
        say("data", "error", f"{results.literal(file.name)} was read but cannot be used yet: {results.plain(exc)} "
                             "Change the settings below and press Apply; until then the previous data is kept.")
        return
    series = session.get().series
    say("data", "success", f"Loaded {results.literal(file.name)}: {len(series):,} values of "
                           f"{results.literal(series.name)}.")
    say_notes(series)


def axis_units() -> str:
    """What the series' values are in, for a chart's axis: a sample's units, else the name of the file's column
    (figure builders show it as written)."""
    now = session.get()
    return (now.source or {}).get("units") or now.data.series.name


def upload_source(filename: str, digest: str) -> dict:
    """The source of an uploaded file kept by the server under `digest` (the link carries it)."""
    return {"kind": "upload", "filename": filename, "label": filename, "units": "", "digest": digest}


def say_notes(series: sc.Series) -> None:
    """What to read before training (a guessed date order, rows dropped or re-sorted, a spike), where the person
    looks: under the "Loaded" line, each a warning with its counts."""
    for note in series.report.notes(name=results.literal):
        say("data", "warning", note)


# ---------------------------------------------------------------- model


def clear_model() -> None:
    now = session.get()
    now.model_info = now.lab = now.finetuned = now.prune_setting = now.job = now.deploy = now.previous = None


def install_model(model: sc.Forecaster, model_config: sc.ModelConfig, train_config: sc.TrainConfig,
                  training: sc.TrainResult, origin: str | None = None, made: str = "trained") -> None:
    """Make a trained dense model the current one (a new PruningLab; results of older models are dropped).
    The model it replaces is kept aside while the data stays the same, so a worse one can be undone.
    `made`: "trained" here, "followed" (a training under way it joined), "shared" (the server's model cache),
    "shipped" (a checkpoint) or "file" (`origin`)."""
    old_lab, old_info = session.get().lab, session.get().model_info
    clear_model()
    if old_lab is not None and old_info is not None and old_lab.data is session.get().data:
        session.get().previous = session.PreviousModel(old_lab.model, old_info.model_config, old_info.train_config,
                                                       old_info.training, old_lab.dense.metrics.rmse, old_lab.data,
                                                       old_info.origin)
    session.get().version += 1
    session.get().lab = sc.PruningLab(model.eval(), session.get().data, cache=server.snapshot_cache())
    session.get().model_info = session.ModelInfo(model_config, train_config, training, session.get().version, origin,
                                                 made)
    session.get().sweeps = {}


def made_text(info: session.ModelInfo) -> str:
    """Where the model on screen came from, in a few words (sidebar and Train page)."""
    tr = info.training
    if info.origin:
        return f"loaded from {results.literal(info.origin)}"
    epochs = f"{len(tr.history)} epochs"
    if info.made == "shipped":
        return f"the shipped model ({epochs}, loaded at once)"
    if info.made == "shared":
        return f"from the server's model cache ({epochs}, trained earlier with the same data and settings)"
    if info.made == "followed":
        return f"trained on this server for this link ({epochs}{', stopped' if tr.cancelled else ''})"
    return f"{epochs} ({tr.seconds:.1f} s){' · stopped' if tr.cancelled else ''}"


def previous_model() -> dict | None:
    """The model the current one replaced, if it was made for the data in force."""
    prev = session.get().previous
    return prev if prev is not None and prev.data is session.get().data else None


def restore_previous() -> None:
    """Callback: put the replaced model back (the one it replaces is kept aside in turn)."""
    prev = previous_model()
    if prev is not None:
        install_model(prev.model, prev.model_config, prev.train_config, prev.training, prev.origin)
        say("train", "success", f"The previous model is back (test RMSE {prev.rmse:,.4g}).")


def recover_interrupted_job() -> None:
    """A Stop click (or any click) interrupts a fine-tune mid-script: say so (the engine fine-tunes its own copy, so
    there is nothing to keep). A dense training is not interrupted by clicks: see training.resume."""
    job = session.get().take("job")
    if job is not None:
        say(job["page"], "warning", f"{job['what']} was stopped after {len(job['history'])} epoch(s); nothing was kept.")


def lab() -> sc.PruningLab | None:
    return session.get().lab


def require_model(page_label: str) -> sc.PruningLab | None:
    """The current PruningLab, or None after explaining how to get one (with a link to the Train page)."""
    current = lab()
    if current is None:
        st.info(f"{page_label} needs a trained model for this data: train one on the Train page, or load a saved "
                "one there. (Home's class demo goes back to the built-in sample and its shipped model.)")
        st.page_link(TRAIN_PAGE, label="Go to Train", icon=":material/model_training:")
    return current


# ---------------------------------------------------------------- sidebar


def sidebar_status(pruning: bool = True) -> None:
    """The current data and model (and, unless `pruning` is False, the Prune page's setting)."""
    st.markdown("#### Current data")
    data: sc.Dataset | None = session.get().data
    if data is None:
        st.caption("No data loaded.")
    else:
        src = session.get().source
        kind = "built-in sample" if src["kind"] == "sample" else "uploaded file"
        st.markdown(f"**{results.plain(src['label'])}**  \n{kind} · column {results.literal(data.series.name)}")
        st.caption(f"{len(data.series):,} values · window {data.window} · horizon {data.horizon}  \n"
                   f"windows: {len(data.train):,} train / {len(data.val):,} val / {len(data.test):,} test")
    st.markdown("#### Current model")
    info, current = session.get().model_info, session.get().lab
    if info is None or current is None:
        st.caption("No model yet: train one on the Train page.")
        return
    mc = info.model_config
    st.markdown(f"**{mc.cell.upper()}** · hidden {mc.hidden} · {mc.layers} layer{'s' if mc.layers > 1 else ''}")
    trained = made_text(info)
    st.caption(f"{trained}  \n"
               f"test RMSE {current.dense.metrics.rmse:,.4g} (naive {current.naive.metrics.rmse:,.4g})")
    now = session.get().prune_setting
    if pruning and session.fresh(now):
        cfg = now.config
        st.markdown("#### Pruning")
        st.caption(f"{sc.RULES[cfg.method].label} · scope {cfg.scope.label()}  \n"
                   f"{now.sparsity:.1%} of in-scope weights pruned · RMSE {now.metrics['rmse']:,.4g}")
