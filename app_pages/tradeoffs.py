"""Trade-offs: error against sparsity, multiply-accumulates and bytes, for several methods."""
import streamlit as st
import torch

import scgru_core as sc
from lab_ui import charts, explain, memory, results, session, state, training, widgets
from lab_ui import tradeoffs_view as tv
from lab_ui.prune_view import drivable
from scgru_core import viz
from scgru_core.study.curves import Reference
from scgru_core.teach.settings import SETTINGS


ss = st.session_state
st.title("Trade-offs")
st.caption("Each method prunes the same trained model to the same target sparsities; the error is measured on "
           "the test part. Prune-only curves come at once; fine-tuned curves retrain every point, so they are "
           "computed when you ask.")
state.show_messages("tradeoffs")
current = state.require_model("The trade-off curves")

if current is not None:
    if any(m not in drivable() for m in ss["to_methods"]):  # a rule no longer registered
        memory.set_widget("to_methods", [m for m in ss["to_methods"] if m in drivable()])
    base = tv.base_config()
    structured = sc.CELLS[current.model.config.cell].plain  # whole units come out of a plain torch module only

    c1, c2, c3, c4 = st.columns([2.4, 1, 1, 0.8], gap="medium", vertical_alignment="bottom")
    chosen = list(widgets.draw("to_methods", c1, format_func=tv.short_label))
    metric = widgets.draw("to_metric", c2)
    bytes_key = widgets.draw("to_bytes", c3)
    log_y = widgets.draw("to_logy", c4)
    u1, u2, u3, _ = st.columns([1.6, 1.3, 1.1, 1.2], gap="medium", vertical_alignment="bottom")
    widgets.draw("to_units", u1, disabled=not structured)
    timed = widgets.draw("to_latency", u2)
    batch = widgets.draw("to_latency_batch", u3, disabled=not timed)
    methods = chosen + ([tv.UNITS] if structured and widgets.value("to_units") else [])
    st.caption(f"Scope **{base.scope.label()}**, floor k = {base.floor:g} (as set on the Prune page) · target "
               f"sparsities {', '.join(f'{p:.0%}' for p in tv.GRID)}.")

    try:
        tv.run_sweeps(current, methods, base)
        if timed:
            tv.run_sweeps(current, methods, base, latency=True)
    except sc.ScgruError as exc:
        st.error(f"The curves cannot be computed: {results.plain(exc)}")
        methods = []

    with st.container(border=True):
        f1, f2, f3, f4 = st.columns([1, 1.4, 0.8, 2.2])
        ft_epochs = widgets.draw("to_ft_epochs", f1)
        todo = tv.missing_points(methods, base, ft_epochs)
        go = f2.button("Fine-tune curves", key="to_ft", icon=":material/tune:", width="stretch",
                       disabled=not methods or not todo)
        with f3:
            training.stop_button(go)
        history = session.get().model_info.training.history
        per_epoch = sum(h.seconds for h in history) / max(1, len(history))
        f4.caption(f"{todo} point(s) left: about {todo * ft_epochs * per_epoch:,.0f} s "
                   f"({ft_epochs} epoch(s) × {per_epoch:.1f} s each). Stop keeps the points already done; "
                   "pressing the button again resumes.")
        if go:
            try:
                tv.run_sweeps(current, methods, base, ft_epochs)
            except sc.ScgruError as exc:
                st.error(f"Fine-tuning stopped: {results.plain(exc)}")
            else:
                st.rerun()

    if not methods:
        st.info("Choose at least one method.")
    else:
        naive = current.naive.metrics.to_dict()[metric]
        plots = [("sparsity", "Error against sparsity", tv.X_AXES["sparsity"], "tradeoff_sparsity"),
                 ("macs_nonzero", "Against operations", tv.X_AXES["macs_nonzero"], "tradeoff_macs"),
                 (bytes_key, "Against storage", f"bytes of the weights ({SETTINGS['to_bytes'].label_of(bytes_key)})", "tradeoff_bytes")]
        figs = [viz.tradeoff_figure(tv.curves(methods, base, metric, x_key, ft_epochs), x_title, results.error_title(metric),
                                    naive=naive, current=tv.current_marker(metric, x_key), title=title,
                                    x_percent=x_key == "sparsity", height=420 if i == 0 else 360, log_y=log_y,
                                    legend=i == 0)
                for i, (x_key, title, x_title, _) in enumerate(plots)]
        charts.show(figs[0], key=plots[0][3])
        left, right = st.columns(2, gap="medium")
        charts.show(figs[1], key=plots[1][3], where=left)
        charts.show(figs[2], key=plots[2][3], where=right)
        if timed:
            x_key = f"latency_ms_b{batch}"
            dense_ms = tv.dense_latency(current, batch)
            fig = viz.tradeoff_figure(tv.curves(methods, base, metric, x_key, ft_epochs), tv.X_AXES[x_key],
                                      results.error_title(metric), naive=naive, log_y=log_y, height=400,
                                      title="Against measured time (measured on this machine)",
                                      x_reference=Reference(dense_ms, f"dense {dense_ms:.3g} ms"))
            charts.show(fig, key="tradeoff_latency")
            st.caption(f"Left of the dotted line is faster than the dense model ({torch.get_num_threads()} torch "
                       "thread(s)). Masked points run as CSR sparse matrices, unit points as the smaller torch module; "
                       "a point's time does not change with fine-tuning.")
        st.caption("Solid: prune only. Dashed: pruned, then fine-tuned with the pruned weights held at zero. "
                   "Dotted grey: the naive forecast (repeat the last value). Star: the Prune page's setting. "
                   f"Operations and bytes count only non-zero weights: what a sparse format could save. "
                   f"Operations are {sc.net.cost.MACS_NOTE}.")
        explain.explain("tradeoff", caption=False)
        frame = tv.table(methods, base, ft_epochs, latency=timed)
        st.download_button("Curve points (CSV)", data=frame.to_csv(index=False).encode(), file_name="scgru_tradeoffs.csv",
                           mime="text/csv", key="dl_csv", on_click="ignore", icon=":material/download:")
