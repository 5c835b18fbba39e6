"""Data: pick a sample or upload a file, look at the series, set the columns, window and split."""
import dataclasses

import streamlit as st

import scgru_core as sc
from lab_ui import charts, explain, lab_state, results, session, state, widgets
from scgru_core import viz
from scgru_core.data.reading import MISSING_POLICIES
from scgru_core.data.times import span_text
from scgru_core.data.tables import MB, numeric_columns
from scgru_core.data.times import DATE_ORDERS
from scgru_core.data.windows import few_windows
from scgru_core.data.samples import SAMPLES


ss = st.session_state
MISSING_LABELS = {"interpolate": "interpolate", "drop": "drop the rows", "refuse": "refuse the file"}
DATE_ORDER_LABELS = {"auto": "automatic", "day": "day first (31.01.2024)", "month": "month first (01/31/2024)"}


def _load_sample() -> None:
    key = widgets.value("sample")
    had_model = session.get().lab is not None
    try:
        state.load_sample(key)
    except sc.ScgruError as exc:  # a sample that does not fit the settings: say so, keep the data
        state.say("data", "error", f"The sample could not be loaded: {results.plain(exc)}")
        return
    state.say("data", "success", f"Loaded the sample **{SAMPLES[key].label}**."
              + (" The trained model was for the previous data, so it was discarded." if had_model else ""))


def _on_upload() -> None:
    """Only marks the upload: a callback's elements do not show while it runs, so reading a large file there left
    the page greyed out with no word of what it was doing. The page body reads it under a spinner."""
    session.get().upload_waiting = True


def uploader_key() -> str:
    """The uploader's key: a new one after each file read, so the uploader comes back empty. It is a way in, not a
    record of the data in force (the heading and the sidebar are): a refused file left in it looked loaded, and
    choosing the next file there took Streamlit's replace path, on which the browser dropped the new file before
    its run read it in three full-suite runs out of about ten (never reproduced alone)."""
    return f"upload_{session.get().uploads}"


def _read_upload() -> None:
    file = ss.get(uploader_key())
    had_model = session.get().lab is not None
    if file is not None:
        with st.spinner(f"Reading {results.literal(file.name)} ({file.size / 1e6:.1f} MB) and checking its values…", show_time=True):
            state.handle_upload(file)
        session.get().uploads += 1
        if lab_state.after_upload():  # the file a link was made with: its model is asked for in the next run
            st.rerun()
    if had_model and session.get().lab is None:
        state.say("data", "info", "The trained model was for the previous data, so it was discarded.")


def _apply() -> None:
    pending = session.get().pending
    frame, source = (pending["frame"], pending["source"]) if pending else (session.get().table, session.get().source)
    had_model = session.get().lab is not None
    try:
        read, windows = _form()
        state.use_table(frame, source, read, windows)
    except sc.ScgruError as exc:
        state.say("data", "error", f"The settings were not applied: {results.plain(exc)} The previous data is kept.")
        return
    state.say("data", "success", "Settings applied." + (" The trained model was discarded: train again." if had_model else ""))
    state.say_notes(session.get().series)


def _form() -> tuple[sc.ReadConfig, sc.WindowConfig]:
    """The settings the form shows (applied or not)."""
    read = sc.ReadConfig(column=ss["f_column"], missing=ss["f_missing"], date_order=ss["f_dates"],
                         time_column=None if ss["f_time"] == state.TIME_NONE else ss["f_time"])
    return read, widgets.state(names=state.WINDOW_SETTINGS).window_config()


def _in_force() -> sc.ReadConfig:
    """The reading in force as the form shows it: the columns the data was read from, whether chosen or detected
    (a fresh page's form equals it, so it offers nothing to apply)."""
    read, report = session.get().read, session.get().series.report
    return dataclasses.replace(read, column=report.column, time_column=report.time_column)


st.title("Data")
st.caption("Start from a built-in sample or your own series: one column of numbers, optionally with time stamps. "
           "An upload is seen by whoever opens this page's address, and by nobody else.")
if session.get().take("upload_waiting"):
    _read_upload()
state.show_messages("data")

left, right = st.columns(2, gap="large")
with left.container(border=True):
    widgets.draw("sample")
    st.caption(SAMPLES[widgets.value("sample")].description)
    st.button("Load sample", key="load_sample", on_click=_load_sample, icon=":material/download:")
with right.container(border=True):
    st.file_uploader(f"Upload a file: CSV, XLSX or Parquet, up to {sc.ReadConfig.max_bytes / MB:.0f} MB "
                     f"({sc.ReadConfig.max_bytes:,} bytes)",
                     key=uploader_key(), on_change=_on_upload,
                     type=["csv", "txt", "tsv", "xlsx", "parquet", "pq"],
                     help="One row per time step. The first numeric column is used unless you pick another below; "
                          "a date/time column is detected. Decimal commas and UTF-16 files are understood.")
    st.caption("The server keeps recent uploads so that a reload keeps your data: the page's address carries it, so "
               "whoever you send the address to sees this data too.", help="Kept on the server's disk, found by a "
               "digest of the file's contents that only its address holds; the least recently used go first.")

data: sc.Dataset = session.get().data
series, source, windows = data.series, session.get().source, session.get().windows
st.subheader(f"{results.plain(source['label'])} · {results.plain(series.name)}", anchor=False)
fig = viz.data_figure(data, units=state.axis_units())
charts.show(fig, key="series_plot")
st.caption(f"Shaded: the chronological split. The scaler is fitted on the training part only; windows of "
           f"{data.window} values predict the next {data.horizon}: {len(data.train):,} training, "
           f"{len(data.val):,} validation and {len(data.test):,} test windows.")
if (few := few_windows(len(series), windows)) is not None:
    st.warning(few, icon=":material/straighten:")
explain.explain("series", caption=False)

report_col, form_col = st.columns([2, 3], gap="large")
with report_col:
    st.markdown("##### What was found")
    st.markdown("\n".join(f"- {line}" for line in series.report.lines(name=results.literal)))
    with st.expander("First rows of the file"):
        st.dataframe(session.get().table.head(20), key="table_head", hide_index=True)

pending = session.get().pending
frame = pending["frame"] if pending else session.get().table
columns = numeric_columns(frame) if pending else list(series.report.numeric_columns)
with form_col, st.container(border=True, key="settings"):  # not a form: what is typed survives a page switch
    st.markdown("##### Settings" + (f" for the uploaded file {results.literal(pending['source']['label'])}" if pending else ""))
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox("Value column", columns or [None], key="f_column")
    c2.selectbox("Time column", [state.TIME_NONE] + list(frame.columns), key="f_time")
    c3.selectbox("Date order", DATE_ORDERS, format_func=DATE_ORDER_LABELS.get, key="f_dates",
                 help="How dates such as 01.02.2024 are read. Automatic decides from the data (a day above 12, "
                      "regular steps, dots between the fields) and asks when it cannot.")
    c4.selectbox("Missing values", MISSING_POLICIES, format_func=MISSING_LABELS.get, key="f_missing",
                 help="Interpolate inside the series (the ends are dropped), drop the rows, or refuse the file.")
    c1, c2, c3 = st.columns(3)
    widgets.draw("window", c1)
    widgets.draw("horizon", c2)
    widgets.draw("log", c3)
    span = None if pending else span_text(series.times, widgets.value("window"))
    if span:
        c1.caption(f"Window {widgets.value('window')} = {span}.")
    c1, c2 = st.columns(2)
    widgets.draw("val", c1)
    widgets.draw("test", c2)
    try:
        changed = pending is not None or _form() != (_in_force(), session.get().windows)
    except sc.ScgruError:  # a combination the engine refuses: Apply says why
        changed = True
    c1, c2 = st.columns([1, 3], vertical_alignment="center")
    c1.button("Apply", type="primary", on_click=_apply, key="apply", disabled=not changed, width="stretch")
    if changed:
        c2.caption("Not applied yet: the data in use keeps its settings until you press Apply"
                   + (", which discards the trained model." if session.get().lab is not None else "."))
