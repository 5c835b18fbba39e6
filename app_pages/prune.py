"""Prune: the threshold slider and everything it moves, live, without retraining."""
import streamlit as st

import scgru_core as sc
from lab_ui import prune_view as pv
from lab_ui import charts, explain, lab_state, memory, play, report, results, server, session, state, training, widgets
from scgru_core import viz
from scgru_core.viz import sensitivity as viz_sensitivity


ss = st.session_state
TABS = ["Histograms", "Heatmaps", "Forecast", "Thresholds", "Cost", "Sensitivity"]

title, play_col = st.columns([5, 1], vertical_alignment="bottom")
title.title("Prune", help="SCGRU (Tang et al. 2022) cuts every weight with |w| < s × std(|W|) of its matrix, keeping "
                       "at least a fraction k. Each move re-prunes the trained weights and re-evaluates the model on "
                       "the test part at once; nothing is retrained until you press Fine-tune.")
state.show_messages("prune")
current = state.require_model("Pruning")


def controls() -> sc.PruneConfig | None:
    c1, c2, c3, c4, c5 = st.columns([1.45, 1.15, 1.5, 1.5, 0.5], gap="medium", vertical_alignment="bottom")
    widgets.draw("method", c1, on_change=pv.sync_target)
    widgets.draw("scope", c2, on_change=pv.sync_target, cell=current.model.config.cell)
    rule = sc.RULES[widgets.value("method")]
    by_threshold = rule.control == "sensitivity"
    if play.playing():  # the frame in words: a widget written every frame races the browser's copy of it
        play.frame_view(c3)
    else:
        widgets.draw("sensitivity", c3, on_change=pv.sync_target, disabled=not by_threshold)
        # A threshold rule is driven by s: the target is a typed box that finds the s reaching it. (A target slider
        # whose every step wrote the s slider lost key presses in Chromium: 20 quick presses moved it by 7.)
        widgets.draw("sparsity", c4, typed=by_threshold, max_value=pv.target_bound(), on_change=pv.sync_s,
                     **({"help": pv.TARGET_TYPED_HELP} if by_threshold else {}))
    with c5.popover("", icon=":material/settings:", help="More settings", width="stretch"):
        widgets.draw("floor", on_change=pv.sync_target, disabled=not by_threshold)
        widgets.draw("global_", disabled=not rule.supports_global)
        widgets.draw("prune_seed")
    try:
        return pv.config_from_state()
    except sc.ScgruError as exc:
        st.error(str(exc))
        return None


def matrix_picker(extra) -> None:
    c1, c2 = st.columns([2.5, 1.7], vertical_alignment="center")
    widgets.draw("matrix", c1, options=sc.weight_names(current.model), format_func=pv.matrix_short, horizontal=True,
                 label_visibility="collapsed")
    with c2:
        extra()


def tab_histograms(snap: sc.Snapshot) -> None:
    matrix_picker(lambda: widgets.draw("log_count"))
    name, log_count = widgets.value("matrix"), widgets.value("log_count")
    charts.show(pv.histogram(current, snap, name, log_count), key="hist")
    explain.explain(pv.histogram_kind(snap))


def tab_heatmaps(snap: sc.Snapshot) -> None:
    matrix_picker(lambda: widgets.draw("heat_mode", horizontal=True, label_visibility="collapsed"))
    name, mode = widgets.value("matrix"), widgets.value("heat_mode")
    legend = "dark kept, pink cut" if mode == "mask" else "blue +, red −, grey cut"
    pv.heatmaps(current, snap, name, mode, f"{pv.matrix_label(name)} ({legend})", "heat", play.playing())
    explain.explain("heatmap" if mode == "mask" else "heatmap_signed")


def tab_forecast(snap: sc.Snapshot, ft: session.Finetuned | None) -> None:
    evaluations, labels = pv.forecasts(current, snap, ft)
    units = state.axis_units()

    def draw():
        return viz.test_forecast_figure(current.data, evaluations, labels=labels, units=units,
                                        title="Test part: pruned versus dense forecast")

    fig = draw() if ft else server.figure(current, snap, ("forecast", units), draw)  # a fine-tuned line is this session's
    charts.show(fig, key="forecast")
    explain.explain("forecast_pruned")


def tab_thresholds(snap: sc.Snapshot) -> None:
    st.dataframe(pv.threshold_table(snap), key="thresholds", hide_index=True, column_config={
        "sparsity": st.column_config.NumberColumn(format="percent", help="Share of the in-scope weights cut"),
        "of matrix": st.column_config.NumberColumn(format="percent", help="Share of the whole matrix cut"),
        "threshold |w|": st.column_config.NumberColumn(format="%.4f")})
    st.caption("Threshold: the cut on |w| of each matrix (for rank rules, the smallest kept |w|; for saliency "
               "rules, the smallest kept score; random has none). Biases are never pruned.")


def tab_cost(snap: sc.Snapshot) -> None:
    c, d = snap.cost, current.dense_cost
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Non-zero params", f"{c.params_nonzero:,}", delta=f"of {c.params_total:,}", delta_color="off", delta_arrow="off")
    c2.metric("MACs / forecast", f"{c.macs_nonzero:,}", delta=f"dense {c.macs_dense:,}", delta_color="off", delta_arrow="off",
              help=f"Multiply-accumulates for one forecast, counting only non-zero weights ({sc.net.cost.MACS_NOTE}).")
    c3.metric("Compression", f"{c.compression:.2f}×", help="Dense fp32 bytes over the cheapest format (CSR or bitmask).")
    c4.metric("Sparsity, all params", f"{c.sparsity:.1%}", help="Including biases and the head, which are not cut.")
    fig = server.figure(current, snap, ("cost",), lambda: viz.cost_figure(c))
    charts.show(fig, key="cost")
    explain.explain("cost")
    st.caption(f"Masked dense weights save nothing by themselves: the dense model still stores {d.bytes_dense:,} "
               "bytes and does every multiply. These are what a sparse format (CSR: values + column indices + row "
               "pointers; bitmask: values + one bit per position) and sparse kernels could save.")


def tab_sensitivity(snap: sc.Snapshot) -> None:
    st.caption("Each block (one gate's rows of a matrix) pruned **alone** by magnitude, everything else dense: how "
               "much of it the model can spare. From these curves the stars suggest a sparsity per block that reaches "
               "the target slider's overall sparsity at the least predicted validation error; the test part is "
               "not used to choose.")
    bar = st.progress(0.0, text="Sensitivity analysis: pruning each block alone…") if not current.has_analysis() else None
    current.analysis(progress=None if bar is None else
                     lambda i, n: bar.progress(i / n, text=f"Sensitivity analysis: {i} of {n} evaluations"))
    if bar is not None:
        bar.empty()
    try:
        view = pv.sensitivity_comparison(current, snap.config)
    except sc.ScgruError as exc:
        st.error(str(exc))
        return
    units = state.axis_units()
    charts.show(viz_sensitivity.sensitivity_figure(current.analysis(), view["allocation"], units=units),
                    key="sensitivity")
    m1, m2, m3 = st.columns([1, 1, 1.2], vertical_alignment="center")
    m1.metric(f"Per-matrix at {view['target']:.0%}", f"{view['suggested'].evaluation.metrics.rmse:,.4g} {units}",
              help="Test RMSE pruned with the suggested sparsities, before fine-tuning.")
    if view["uniform"] is not None:
        m2.metric(f"Uniform SCGRU at {view['target']:.0%}", f"{view['uniform'].evaluation.metrics.rmse:,.4g} {units}",
                  help=f"Test RMSE of SCGRU with one s (= {view['uniform'].config.sensitivity:.3g}) for every "
                       "matrix at the same overall sparsity, before fine-tuning.")
    m3.button("Prune with these sparsities", key="sens_apply", icon=":material/check:",
              disabled=widgets.value("method") == "per_matrix", on_click=lambda: widgets.put("method", "per_matrix"),
              help="Switches the method to Per-matrix sparsities: the target slider then moves every block "
                   "along its own curve, and fine-tuning, downloads and Trade-offs work as for any rule.")
    st.dataframe(view["table"], hide_index=True, width="stretch", column_config={
        "suggested": st.column_config.NumberColumn("suggested sparsity", format="percent")})


def finetune_result(snap: sc.Snapshot, ft: dict | None) -> None:
    """Inside the fragment, so it follows the sliders: the fine-tuned errors when they belong to this setting."""
    st.markdown("##### Fine-tune once")
    if ft:
        st.caption(f"Fine-tuned {len(ft.training.history)} epochs at this setting; test errors after "
                   "fine-tuning, against the pruned model before it:")
        results.metric_row(ft.evaluation.metrics, snap.evaluation.metrics, "vs before", label_prefix="Fine-tuned ")
    else:
        st.caption("Retrain the pruned model once with the pruned weights held at zero (a fresh Adam, as in SCGRU). "
                   "It applies to the setting above and takes about one training epoch per epoch.")


def finetune_controls() -> None:
    """Outside the fragment: a full script run can be interrupted by Stop, a fragment run cannot."""
    c1, c2, c3, _ = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    widgets.draw("finetune_epochs", c1)
    go = c2.button("Fine-tune", key="finetune", icon=":material/tune:", width="stretch")
    with c3:
        training.stop_button(go)
    now = session.get().prune_setting
    if go and session.fresh(now):
        made = training.finetune(current, current.at(now.config), widgets.value("finetune_epochs"),
                                  session.get().model_info.train_config)
        if made is not None:
            session.get().finetuned = made
            state.say("prune", "success", f"Fine-tuned {len(made.training.history)} epochs in "
                                          f"{made.training.seconds:.1f} s.")
            st.rerun()


def lab_panel() -> None:
    """The panel the sliders move: a fragment, rerun alone on a move (and every frame while Play plays)."""
    try:
        play.advance()
        panel()
    finally:
        memory.remember_widgets(pv.PANEL_WIDGETS)  # a fragment run: app.py's full-run bookkeeping does not run


def panel() -> None:
    config = controls()
    if config is None:
        return
    try:
        if config.rule.needs_scores:  # one pass over the training data, the first time only
            with st.spinner(f"Scoring the weights for {pv.short_rule_label(config.method)}…"):
                current.scores(config.method)
        if config.rule.needs_allocation and not current.has_analysis():  # each block pruned alone, the first time
            with st.spinner("Sensitivity analysis: pruning each block alone to find its sparsity…"):
                current.analysis()
        snap = pv.record_setting(current, config)
    except sc.ScgruError as exc:  # e.g. gates this cell does not have
        st.error(str(exc))
        return
    ft = pv.finetuned_for(snap)
    setting = f"s = {config.sensitivity:.2f}" if config.rule.control == "sensitivity" else config.rule.label
    results.vs_dense_row(snap.evaluation.metrics, current.dense.metrics, snap, setting)
    kept, total = sc.pruning.rules.input_reach(current.model, snap.result)
    if kept < current.model.config.hidden:
        st.warning(f"Only {kept} of the {total} input weights are left, fewer than one per hidden unit: the series "
                   f"reaches the network's {current.model.config.hidden} units through {kept} weights. They are "
                   f"{total / snap.cost.params_total:.1%} of the parameters, so cutting them saves little and can cost "
                   "much (the SCGRU recipe at 98% went from better than dense to worse than naive at some seeds). "
                   "Scope **W_hh only** keeps the input whole.", icon=":material/warning:")
    main, side = st.columns([3.4, 1], gap="medium")
    with side:
        results.vs_naive_column(snap.evaluation.metrics, current.naive.metrics)
    with main:
        tabs = st.tabs(TABS, key=pv.TAB_KEY, bind="query-params")  # the open tab travels in the link
        for tab, draw in zip(tabs, (tab_histograms, tab_heatmaps, lambda s: tab_forecast(s, ft), tab_thresholds,
                                    tab_cost, tab_sensitivity)):
            with tab:
                if tab.open:
                    draw(snap)
    d1, d2, d3 = st.columns([1.3, 1, 1])
    run_json, model_zip = pv.downloads(current, snap)
    d1.download_button("Run settings and metrics (JSON)", data=run_json,
                       file_name="scgru_run.json", mime="application/json", key="dl_json", on_click="ignore",
                       icon=":material/description:")
    d2.download_button("Pruned model (zip)", data=model_zip, file_name="scgru_pruned_run.zip",
                       mime="application/zip", key="dl_zip", on_click="ignore", icon=":material/folder_zip:",
                       help="A run directory (config, weights, masks, metrics) that scgru_core.store.archive.load_run_zip "
                            "or scgru_core.store.runs.load_run (after unzipping) can load.")
    with d3:
        report.report_button(current, snap, ft)
    explain.show_code()
    finetune_result(snap, ft)
    lab_state.sync_url()  # a fragment run: app.py does not run, so the link follows the sliders here


if current is not None:
    pv.init_controls(current)
    play.button(play_col)  # outside the panel: a button redrawn by every frame lost clicks (Pause did not pause)
    st.fragment(lab_panel, run_every=play.interval())()
    finetune_controls()
