"""Home: what the lab does, the path through it, and a one-click demo."""
import streamlit as st

from lab_ui import charts, lab_state, results, server, session, state
from scgru_core.teach import maths
from scgru_core import viz
from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES
from scgru_core.teach.settings import LabState



st.title("SCGRU Pruning Lab")
st.markdown(
    "Train a small GRU that forecasts a time series, then prune its weights with the SCGRU rule "
    "(cut every weight smaller than *s* × the spread of its matrix) and watch what each cut costs in accuracy. "
    "A slider moves the threshold and everything updates at once: weight histograms, heatmaps of the kept "
    "connections, the pruned model's forecast and what it would cost to store and run. "
    "Trade-off curves then compare pruning methods, before and after fine-tuning, against the naive forecast."
)
with st.expander("The SCGRU rule, per weight matrix W (Tang et al. 2022)", icon=":material/function:"):
    st.latex(maths.SCGRU_RULE)
state.show_messages("home")

st.subheader("The path")
steps = [
    (state.DATA_PAGE, "1 · Data", ":material/table_chart:", "Upload a CSV, Excel or Parquet file, or pick a sample; "
                                                            "set the window and the train/validation/test split."),
    (state.TRAIN_PAGE, "2 · Train", ":material/model_training:", "Train the dense GRU forecaster and compare it "
                                                                 "with the naive forecast."),
    (state.PRUNE_PAGE, "3 · Prune", ":material/content_cut:", "Drag the threshold and see which connections go "
                                                              "and what the model loses; fine-tune once."),
    (state.TRADEOFFS_PAGE, "4 · Trade-offs", ":material/query_stats:", "Error against sparsity, operations and "
                                                                       "bytes for several methods."),
]
for col, (path, label, icon, text) in zip(st.columns(4), steps):
    with col.container(border=True):
        st.page_link(path, label=label, icon=icon)
        st.caption(text)
st.caption("Teaching a class? The **Lesson** walks through the same path in seven guided steps, starting on a "
           "shipped model; **Compare** runs the literature's gradual methods (AGP, Narang) and baselines on your series.")

st.subheader("Class demo")
sample = SAMPLES[DEFAULT_SAMPLE]
demo = LabState()
mc, tc = demo.model_config(), demo.train_config()
st.markdown(f"Opens the Prune page on **{sample.label}** ({sample.description}) with the default model: "
            f"GRU, hidden {mc.hidden}, window {demo.window}, {tc.epochs} epochs, trained once and shipped with the "
            "lab, so it is there at once; every student who opens the same link gets the same model and numbers.")


def _demo() -> None:
    lab_state.reset_to_defaults()
    session.get().demo_opens = True  # switch pages once its model is in place (after the callback)


left, right = st.columns([1, 2.2], vertical_alignment="center")
left.button("Open the class demo", type="primary", key="demo", icon=":material/play_arrow:", on_click=_demo)
if session.get().take("demo_opens") and state.lab() is not None:
    st.switch_page(state.PRUNE_PAGE)
demo_series = server.sample_series(DEFAULT_SAMPLE)
week = slice(-7 * demo.window, None)  # its last week (48 half-hours a day)
charts.show(viz.series_figure(demo_series.values[week], demo_series.times[week], name=demo_series.name,
                                     units=sample.units, height=150), key="demo_preview", where=right)
right.caption(f"Its last week, in {sample.units}: the daily cycle the model learns to forecast half an hour ahead.")

data = session.get().data
if data is not None:
    src = session.get().source
    where = "a built-in sample" if src["kind"] == "sample" else "your uploaded file"
    st.caption(f"Now on {where}: {results.plain(src['label'])}, {len(data.series):,} values. An upload is seen only by "
               "whoever opens this page's address (it carries the file's digest).")
