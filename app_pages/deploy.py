"""Deploy: remove whole hidden units, fine-tune the smaller GRU once, and measure what it really saves."""
import streamlit as st

import scgru_core as sc
from lab_ui import deploy_view as dv
from lab_ui import charts, results, state, training, widgets
from scgru_core import viz
from scgru_core.viz import deploy as viz_deploy
from scgru_core.deploy.export import LOADER


ss = st.session_state

st.title("Deploy", help="A unit of a layer is its row in every gate block (a GRU's reset, update and new; an LSTM's "
                        "input, forget, cell and output) of both weight matrices and biases, "
                        "its column in the recurrent matrix, and its column in whatever reads the layer (the next "
                        "layer or the head). Removing units leaves an ordinary, smaller torch.nn.GRU, LSTM or RNN.")
st.caption("Masks set weights to zero but leave every matrix its full size: the pruned model is no smaller and no "
           "faster. Removing whole hidden units gives an ordinary, smaller `nn.GRU` (`nn.LSTM`, `nn.RNN`) that is "
           "smaller and faster "
           "everywhere. Choose which units go and see the effect at once; then fine-tune once and measure.")
state.show_messages("deploy")
current = state.require_model("Deploying")

if current is not None and not sc.CELLS[current.model.config.cell].plain:
    st.info(f"Removing hidden units needs a GRU, LSTM or RNN (a plain torch module); this model is the "
            f"{current.model.config.cell.upper()} gate variant. Train another cell on the Train page.")
    current = None

if current is not None:
    unit = dv.units_suffix()
    c1, c2, c3, c4 = st.columns([1.7, 2.2, 0.9, 0.9], gap="medium", vertical_alignment="bottom")
    rule = sc.UNIT_RULES[widgets.draw("unit_rule", c1)]
    masks, masks_label = dv.starting_masks(current, rule.name)
    if rule.control == "fraction":
        widgets.draw("unit_fraction", c2)
    elif rule.control == "sensitivity":
        widgets.draw("unit_sensitivity", c2)
    else:
        c2.caption(f"Exact: removes only the units with no path to the forecast, from {masks_label}.")
    widgets.draw("unit_floor", c3, disabled=rule.control != "sensitivity")
    widgets.draw("unit_ft_epochs", c4)

    try:
        config = dv.unit_config()
        selection, removed, params = dv.preview(current, config, masks)
    except sc.ScgruError as exc:
        st.error(str(exc))
        config = None
    if config is not None:
        dense = current.dense.metrics
        p1, p2, p3, p4 = st.columns(4)
        p1.metric("Hidden units", f"{selection.hidden_after}", delta=f"{selection.hidden_after - selection.hidden_before:+,}"
                  f" of {selection.hidden_before}", delta_color="off", delta_arrow="off",
                  help="A torch recurrent module has one hidden size for every layer: each layer keeps as many units as the layer that "
                       "keeps most (the others are topped up with their best remaining units).")
        p2.metric("Parameters", f"{params:,}", delta=f"{params / current.dense_cost.params_total:.0%} of "
                  f"{current.dense_cost.params_total:,}", delta_color="off", delta_arrow="off",
                  help="Recurrent matrices shrink with the square of the hidden size.")
        p3.metric("RMSE after removal", results.fmt(removed.rmse) + unit,
                  delta=f"{removed.rmse - dense.rmse:+,.4g}{unit} vs dense", delta_color="inverse",
                  help="Before any fine-tuning; dense model: " + results.fmt(dense.rmse) + unit)
        p4.metric("Naive forecast RMSE", results.fmt(current.naive.metrics.rmse) + unit,
                  help="Repeat the last value: the error any model should beat.")
        if rule.exact and selection.hidden_after == selection.hidden_before:
            st.info("No unit is dead: every unit still reaches the forecast, through the head (which the Prune page "
                    "never prunes) or through units that do. A unit whose incoming weights are all pruned is not dead "
                    "either: its biases still move its state. Dead units are rare; the other rules plus a fine-tune "
                    "are the main road.")
        b1, b2, _ = st.columns([1.6, 0.8, 2.6], vertical_alignment="bottom")
        go = b1.button("Shrink, fine-tune and measure", key="d_go", icon=":material/rocket_launch:",
                       type="primary", width="stretch")
        with b2:
            training.stop_button(go)
        if go:
            dv.run(current, config, masks, masks_label)

    done = dv.stored()
    if done is not None:
        result, report = done.result, done.report
        st.subheader("Measured on this machine")
        ft = result.finetuning
        st.caption(f"{done.config.describe()} from {done.masks_from}: hidden "
                   f"{result.selection.hidden_before} → {result.selection.hidden_after}; "
                   + (f"fine-tuned {len(ft.history)} epochs ({ft.seconds:.1f} s)" if ft else "not fine-tuned")
                   + f". {report.note.capitalize()}, {report.threads} torch thread(s), median of repeated calls.")
        m1, m2, m3, m4 = st.columns(4)
        final, dense = result.final_metrics, current.dense.metrics
        m1.metric("Test RMSE, final", results.fmt(final.rmse) + unit, delta=f"{final.rmse - dense.rmse:+,.4g}{unit} vs "
                  f"dense ({final.rmse / dense.rmse - 1:+.1%})", delta_color="inverse")
        for col, b in zip((m2, m3), report.batches):
            col.metric(f"Speed-up, batch {b}", f"{report.speedup('shrunk', b):.2f}×",
                       help=f"Dense {report.row('dense').ms[b]:.3g} ms, shrunk {report.row('shrunk').ms[b]:.3g} ms "
                            "per call.")
        m4.metric("Model file", f"{report.row('shrunk').bytes / 1024:,.1f} KiB",
                  help=f"Dense: {report.row('dense').bytes / 1024:,.1f} KiB (safetensors).")
        charts.show(viz_deploy.speedup_figure(report, title="Speed of each way to run the pruned model"),
                        key="d_speed")
        st.dataframe(dv.table(report), key="d_table", hide_index=True, column_config=dv.column_config(report))
        for variant, why in report.skipped.items():
            st.caption(f"Not measured, {sc.deploy.measure.VARIANTS[variant]}: {why}")
        st.caption("Masked and CSR rows carry the same weights as the shrunk model at full size (the removed units as "
                   "zeros), so their errors match it: only the way of running differs. Small models at batch 1 "
                   "spend their time on per-step overhead, so removing units pays most on wide layers and large "
                   "batches; CSR pays only at very high sparsity on wide layers.")
        d1, d2 = st.columns([1.4, 3.6], vertical_alignment="center")
        d1.download_button("Smaller model (zip)", data=done.zip, file_name="scgru_shrunk_model.zip",
                           mime="application/zip", key="d_zip", on_click="ignore", icon=":material/folder_zip:",
                           help="model.safetensors (plain torch module and nn.Linear keys), model.json (sizes, window, "
                                "scaler), load_model.py, and model.onnx where ONNX export is installed.")
        d2.caption("Runs with plain PyTorch and safetensors, no project code: unzip it and run `load_model.py`, "
                   "then `forecast(last_values)` with the last window of the series, in its own units.")
        with st.expander("load_model.py"):
            st.code(LOADER, language="python")
