"""Compare: pruning methods, gradual schedules, gate variants and scopes, each trained on the same budget."""
import streamlit as st

import scgru_core as sc
from lab_ui import compare_view as cv
from lab_ui import charts, explain, lab_state, results, session, state, training, widgets
from scgru_core import viz


ss = st.session_state

st.title("Compare")
st.caption("Every method gets the same budget: E dense epochs plus F fine-tuning epochs. One-shot rules prune the "
           "dense model once and fine-tune; AGP and Narang prune gradually while training from scratch; the gate "
           "variants GRU1-3 are trained for the whole budget and never pruned. Each row trains its own model, "
           "so this page trains (unlike Trade-offs, which prunes the model of the Train page).")
state.show_messages("compare")
cv.init()
data: sc.Dataset = session.get().data
now = lab_state.of_session()

with st.container(border=True):
    c1, c2 = st.columns([2.2, 1.3], gap="medium")
    widgets.draw("cmp_methods", c1)
    widgets.draw("cmp_sparsities", c2)
    c3, c4, c5, c6 = st.columns([2.2, 1, 1, 1], gap="medium")
    widgets.draw("cmp_scopes", c3)
    widgets.draw("cmp_epochs", c4)
    widgets.draw("cmp_ft", c5)
    widgets.draw("cmp_seeds", c6)
    e1, e2 = st.columns([2.2, 3.3], vertical_alignment="bottom")
    widgets.draw("cmp_executor", e1, options=cv.executors())
    with e2:
        cv.ray_offer()

    try:
        cfgs = cv.configs() if ss["cmp_methods"] and ss["cmp_sparsities"] and ss["cmp_scopes"] else []
        refusal = None
    except sc.ScgruError as exc:
        cfgs, refusal = [], str(exc)
    todo = cv.todo(cfgs)
    b1, b2, b3, b4 = st.columns([1, 0.8, 1, 3.2], vertical_alignment="center")
    go = b1.button("Run", key="cmp_run", type="primary", icon=":material/play_arrow:", width="stretch",
                   disabled=not todo)
    with b2:
        training.stop_button(go)
    if b3.button("Clear", key="cmp_clear", icon=":material/delete:", width="stretch",
                 disabled=not cv.results()["rows"]):
        cv.clear()
        st.rerun()
    left = f", about {training.duration(cv.estimate(data, todo))} in this process" if todo else ""
    b4.caption(f"{now.cell.upper()}, hidden {now.hidden}, {now.layers} layer{'s' if now.layers > 1 else ''}, seed "
               f"{now.seed}, floor k {now.floor:g} (the model in place) · window {data.window} "
               f"(Data page) · {len(cv.results()['rows'])} row(s) done, {len(todo)} to run{left} (timed from a few "
               "training steps on this data). Stop keeps the rows done; Run again resumes.")
    if refusal:
        st.error(f"This comparison cannot run: {results.plain(refusal)}")
    elif not cfgs:
        st.info("Choose at least one method, one final sparsity and one scope.")
    if go:
        try:
            cv.run(cfgs)
        except sc.ScgruError as exc:
            st.error(f"The comparison stopped: {results.plain(exc)} The rows done so far are kept.")
        else:
            st.rerun()  # redraw the counts and buttons above with the new rows



def show(df) -> None:
    """The charts and the table for the rows shown."""
    m1, _ = st.columns([1, 3])
    metric = widgets.draw("cmp_metric", m1)
    y_title = results.error_title(metric)

    left, right = st.columns(2, gap="medium")
    with left:
        charts.show(viz.tradeoff_figure(cv.curves(df, metric, "sparsity"), "sparsity (share of in-scope weights cut)",
                                            y_title, title="Error against sparsity", x_percent=True), key="cmp_sparsity")
        st.caption("Lower is better; a method whose line stays flat further right keeps its accuracy at higher sparsity. "
                   "Dots alone: models that are not pruned (their x is the parameter saving).")
    with right:
        charts.show(viz.tradeoff_figure(cv.curves(df, metric, "macs_nonzero"), "multiply-accumulates per forecast "
                                            "(non-zero weights)", y_title, title="Error against operations"),
                        key="cmp_macs")
        st.caption("Further left is cheaper to compute; the best methods sit low and to the left. Operations count only "
                   f"non-zero weights: what a sparse kernel could save ({sc.net.cost.MACS_NOTE}).")

    left, right = st.columns(2, gap="medium")
    with left:
        traces = cv.schedules()
        if traces:
            charts.show(viz.schedule_figure(traces, title="Gradual schedules: sparsity during training"),
                            key="cmp_schedule")
            st.caption("How AGP and Narang remove weights as training runs: AGP follows a cubic to its target, Narang "
                       "two linear threshold ramps. The flat end is training with the final mask.")
        else:
            st.info("Add **AGP** or **Narang** to see their sparsity schedules against training step.")
    with right:
        target = max(ss["cmp_sparsities"])
        at_target = df[(df["target_sparsity"] - target).abs() < 1e-9]
        charts.show(viz.grouped_bar_figure(cv.bars(at_target, metric), y_title,
                                               title=f"Scope: what is pruned, at {target:.0%}"), key="cmp_scope")
        st.caption("One bar per scope: pruning only the input-to-hidden (ih) or only the hidden-to-hidden (hh) "
                   "weights, or both, to the same sparsity. Lower bars: that part of the GRU can spare its weights.")

    charts.show(viz.grouped_bar_figure(cv.bars(df, "seconds"), "seconds per model", text_format=".1f",
                                           title="Wall time to produce one model (mean over the rows shown)", height=300),
                    key="cmp_time")
    st.caption("Each bar is the time from scratch: a shared dense training counts in full for every one-shot row, "
               "so gradual methods, which train once per target, are compared fairly. Measured on this machine.")
    explain.explain("tradeoff", caption=False)

    st.subheader("Results")
    frame = cv.table(df)
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"target": st.column_config.NumberColumn(format="percent"),
                                "sparsity": st.column_config.NumberColumn(format="percent"),
                                "wall time (s)": st.column_config.NumberColumn(format="%.2f"),
                                **{m: st.column_config.NumberColumn(format="%.4g") for m in ("RMSE", "MAE", "sMAPE (%)", "MASE")}})
    st.download_button("Results (CSV)", data=df.to_csv(index=False).encode(), file_name="scgru_compare.csv",
                       mime="text/csv", key="cmp_csv", on_click="ignore", icon=":material/download:")


for line in cv.skipped():
    st.info(f"No row for {line}", icon=":material/block:")
rows = cv.shown()
if rows.empty:
    st.info("No results yet for these settings: choose methods and sparsities, then press **Run** (the time it "
            "takes here is under the button).")
else:
    show(rows)
