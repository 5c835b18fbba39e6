"""The lesson page's pieces: the control and live chart of each step, the predict-first question.

Charts come from `scgru_core.viz` / `viz_lesson`, numbers from the engine; the controls that move the
app's real settings (s, target sparsity, method) share their keys with the Prune page, so the lesson and
the dashboard always show the same state.
"""
from __future__ import annotations

import dataclasses

import streamlit as st

import scgru_core as sc
from lab_ui import prune_view as pv
from lab_ui import charts, classroom, explain, play, replay, report, results, session, state, training, widgets
from lab_ui import tradeoffs_view as tv
from scgru_core.teach import lesson, maths
from scgru_core import viz
from scgru_core.viz import lesson as viz_lesson
from scgru_core.deploy.sparse_exec import compare_latency
from scgru_core.teach.settings import SETTINGS

ss = st.session_state


def moved(key: str) -> None:
    session.get().lesson_moved.add(key)


def has_moved(key: str) -> bool:
    return key in session.get().lesson_moved


def text_of(text: str) -> str:
    """A step's prose with the numbers of the model on screen (the defaults' before one is there)."""
    info = session.get().model_info
    mc, tc = (info.model_config, info.train_config) if info else (sc.ModelConfig(), sc.TrainConfig())
    return lesson.filled(text, lesson.facts_of(mc, tc))


def question(step: lesson.LessonStep) -> None:
    """Predict first: the answer is revealed once the student has answered and moved the step's control. A
    fragment: an answer reruns this box alone, not the step's charts (in a class, 30 answers within seconds cost
    the sliders' p95 +60% as whole-page runs; benchmarks/class_view.py)."""
    st.fragment(_question)(step)


def _question(step: lesson.LessonStep) -> None:
    with st.container(border=True):
        st.markdown("**Predict first**")
        choice = st.radio(step.question, range(len(step.choices)), index=None, key=f"q_{step.key}",
                          format_func=lambda i: step.choices[i], on_change=classroom.record_answer, args=(step,))
        if choice is None:
            st.caption("Answer, then move the control to check.")
        elif not has_moved(step.key):
            st.caption(f"Now move the control (**{lesson.CONTROLS[step.control]}**) and watch.")
        elif step.is_correct(choice):
            st.success(f"Right. {text_of(step.explanation)}", icon=":material/check_circle:")
        else:
            st.warning(f"Not quite: {step.choices[step.answer].lower()}. {text_of(step.explanation)}",
                       icon=":material/info:")
        classroom.class_answers(step)  # in a class, once the teacher reveals them


def chart(fig, key: str, kind: str) -> None:
    charts.show(fig, key=key)
    explain.explain(kind)


def snapshot(current: sc.PruningLab) -> sc.Snapshot | None:
    """The Prune settings' snapshot, recorded as the Prune page does (sidebar, Trade-offs marker)."""
    try:
        config = pv.config_from_state()
    except sc.ScgruError as exc:
        st.error(str(exc))
        return None
    return pv.record_setting(current, config)


def prune_slider(step: lesson.LessonStep, chosen_here: bool = False) -> None:
    """The threshold s for the SCGRU rule, the target sparsity for rank rules (the Prune page's widgets).
    `chosen_here`: the step lets the student pick the method, so another method is no detour to point out."""
    method = widgets.value("method")
    if play.playing():
        play.frame_view(st)
    elif sc.RULES[method].control == "sensitivity":
        widgets.draw("sensitivity", label=lesson.CONTROLS["sensitivity"],
                     on_change=lambda: (pv.sync_target(), moved(step.key)))
    else:
        widgets.draw("sparsity", max_value=pv.target_bound(), on_change=lambda: (pv.sync_s(), moved(step.key)))
        if not chosen_here:
            st.caption(f"The method is {sc.RULES[method].label}: press **Set up this step** for the SCGRU rule.")


# ---------------------------------------------------------------- the steps


def step_task(step, current) -> None:
    data: sc.Dataset = session.get().data
    w = st.slider(lesson.CONTROLS["window"], 4, 192, value=data.window, step=4, key="lesson_window",
                  on_change=moved, args=(step.key,))
    try:
        preview = sc.prepare(data.series, dataclasses.replace(data.config, window=int(w)))
        counts = [len(preview.train), len(preview.val), len(preview.test)]
    except sc.ScgruError as exc:
        st.warning(str(exc))
        counts = None
    if counts:
        c = st.columns(3)
        for col, name, n, now in zip(c, ("train", "validation", "test"), counts,
                                     (len(data.train), len(data.val), len(data.test))):
            col.metric(f"{name} windows (W = {w})", f"{n:,}", delta=f"{n - now:+,} vs W = {data.window}",
                       delta_color="off", delta_arrow="off")
    fig = viz.data_figure(data, units=state.axis_units())
    chart(fig, "lesson_series", "series")


def step_gru(step, current) -> None:
    mc = current.model.config
    h = st.select_slider(lesson.CONTROLS["hidden"], SETTINGS["hidden"].choices, value=mc.hidden, key="lesson_hidden",
                         on_change=moved, args=(step.key,))
    model = current.model
    if h != mc.hidden:
        model = sc.build_model(sc.ModelConfig(hidden=int(h), layers=1, cell=mc.cell), horizon=current.data.horizon)
        st.caption(f"Drawn: a freshly initialised H = {h} model (the trained one has H = {mc.hidden}).")
    counts = lesson.parameter_summary(model)
    c = st.columns(3)
    c[0].metric("Recurrent weights", f"{counts['recurrent_weights']:,}")
    c[1].metric("Biases", f"{counts['recurrent_biases']:,}")
    c[2].metric("All parameters (with head)", f"{counts['total']:,}")
    blocks = lesson.weight_blocks(model, layer=0)
    gates = sc.CELLS[model.config.cell].gates
    chart(viz_lesson.blocks_figure(blocks, title="Layer 1: the weight blocks", gates=gates), "lesson_gru", "gru")
    other_cells(current)


def other_cells(current) -> None:
    """The LSTM and the RNN, said once; with an LSTM on screen, its blocks pruned as the Prune page sets and its
    forget gates at rest."""
    lstm = current.model.config.cell == "lstm"
    with st.expander("Other cells: the LSTM and the plain RNN", expanded=lstm, icon=":material/hub:"):
        st.markdown(lesson.OTHER_CELLS)
        st.latex(maths.stack(maths.LSTM_EQUATIONS, maths.RNN_EQUATIONS))
        if not lstm:
            st.caption("Choose Cell **LSTM** on the Train page (the default sample's LSTM is shipped: it loads at once) "
                       "and this section draws it.")
            return
        snap = snapshot(current)
        masks = snap.result.masks if snap is not None else None
        blocks = lesson.weight_blocks(current.model, masks, layer=0)
        title = "The LSTM on screen, layer 1" + (f", pruned as the Prune page sets ({snap.result.sparsity:.0%})"
                                                 if snap is not None else "")
        chart(viz_lesson.blocks_figure(blocks, title=title, gates=sc.CELLS["lstm"].gates), "lesson_lstm", "lstm")
        rest = lesson.forget_at_rest(current.model)
        c = st.columns(3)
        c[0].metric("Forget gate at rest, mean", f"{rest.mean():.2f}", help="sigmoid(b_if + b_hf): the share of its "
                    "memory a unit keeps per step when its weights are silent (biases are never pruned).")
        c[1].metric("Units keeping over 70% at rest", f"{int((rest > 0.7).sum())} of {rest.size}")
        c[2].metric("Memory left after 10 quiet steps", f"{float((rest ** 10).mean()):.1%}",
                    help="The mean of f¹⁰ over units: what a bias-only forget gate keeps of the cell state.")


def step_train(step, current) -> None:
    info = session.get().model_info
    which = st.radio(lesson.CONTROLS["trained"], ["after training", "before training"], horizontal=True,
                     key="lesson_trained", on_change=moved, args=(step.key,))
    model = current.model
    if which == "before training":  # the very weights training started from (same seed)
        model = sc.build_model(info.model_config, horizon=current.data.horizon, seed=info.train_config.seed)
    name = pv.default_matrix(current.model)
    w = dict(model.named_parameters())[name].detach().numpy()
    panels = [sc.GatePanel(g, w[sl], w[sl] == w[sl], title=pv.gate_label(g))
              for g, sl in sc.net.model.gate_blocks(model, name).items()]
    chart(viz.histogram_figure(panels, title=f"{pv.matrix_label(name)}, {which}", pruning=False), "lesson_hist_train",
          "weights")
    results.metric_row(current.dense.metrics, current.naive.metrics, "vs naive")
    tr = info.training
    fig = viz.training_figure(tr.history, tr.best_epoch)
    chart(fig, "lesson_loss", "loss")
    with st.expander("Replay the training: the weights epoch by epoch", icon=":material/replay:"):
        replay.section(current, tr, key="lesson_replay")
    if session.get().model_info is not None and session.get().model_info.made == "shipped":
        st.caption("This model was loaded from the shipped checkpoint (the same settings and seed give the same "
                   "weights); the Train page trains a new one.")


def step_rule(step, current) -> None:
    prune_slider(step)
    snap = snapshot(current)
    if snap is None:
        return
    name = pv.default_matrix(current.model)
    thr = snap.result.thresholds.get(name)
    c = st.columns(3)
    c[0].metric("Sparsity (in scope)", f"{snap.result.sparsity:.1%}")
    c[1].metric("Threshold on |w| (W_hh)", f"{thr:.4f}" if thr is not None else "–")
    kept, total = snap.result.kept
    c[2].metric("Kept weights (in scope)", f"{kept:,}", delta=f"of {total:,}", delta_color="off", delta_arrow="off",
                help="The weights the rule may cut, as the sparsity beside it counts them (biases and the head are "
                     f"never cut: {snap.cost.params_nonzero:,} of {snap.cost.params_total:,} parameters are non-zero "
                     "in all).")
    panels = pv.gate_panels(current, snap, name)
    chart(viz.histogram_figure(panels, title=f"{pv.matrix_label(name)}: the cut"), "lesson_hist", pv.histogram_kind(snap))
    pv.heatmaps(current, snap, name, "mask", f"{pv.matrix_label(name)}: kept (dark) and pruned", "lesson_heat",
                play.playing())
    explain.explain("heatmap")


def step_finetune(step, current) -> None:
    prune_slider(step)
    snap = snapshot(current)
    if snap is None:
        return
    ft = pv.finetuned_for(snap)
    results.metric_row(snap.evaluation.metrics, current.dense.metrics, "vs dense", label_prefix="Pruned ")
    c1, c2, _ = st.columns([1, 1, 2])
    widgets.draw("finetune_epochs", c1)
    if c2.button("Fine-tune", key="lesson_finetune", icon=":material/tune:", type="primary"):
        made = training.finetune(current, snap, widgets.value("finetune_epochs"), session.get().model_info.train_config,
                                 chart_key="lesson_ft_loss", stop=None)  # the lesson has no Stop button
        if made is not None:
            session.get().finetuned = made
            st.rerun()
    if ft:
        results.metric_row(ft.evaluation.metrics, snap.evaluation.metrics, "vs pruned", label_prefix="Fine-tuned ")
    evaluations, labels = pv.forecasts(current, snap, ft)
    fig = viz.test_forecast_figure(current.data, evaluations, labels=labels, units=state.axis_units())
    chart(fig, "lesson_forecast", "forecast_pruned")


def step_cost(step, current) -> None:
    prune_slider(step)
    snap = snapshot(current)
    if snap is None:
        return
    c, d = snap.cost, current.dense_cost
    m = st.columns(4)
    m[0].metric("Non-zero parameters", f"{c.params_nonzero:,}", delta=f"of {c.params_total:,}", delta_color="off", delta_arrow="off")
    m[1].metric("MACs per forecast", f"{c.macs_nonzero:,}", delta=f"dense {c.macs_dense:,}", delta_color="off",
                delta_arrow="off", help=f"Multiply-accumulates, {sc.net.cost.MACS_NOTE}.")
    m[2].metric("CSR bytes", f"{c.bytes_csr:,}", delta=f"dense {d.bytes_dense:,}", delta_color="off", delta_arrow="off")
    m[3].metric("Bitmask bytes", f"{c.bytes_bitmask:,}", delta=f"{c.compression:.2f}× best", delta_color="off", delta_arrow="off")
    chart(viz.cost_figure(c),
          "lesson_cost", "cost")
    key = report.latency_key(snap)
    store = session.get().lesson_latency
    if not sc.CELLS[current.model.config.cell].plain:
        st.info("Sparse execution runs a GRU, LSTM or RNN; this model is a gate variant with the lab's own equations.")
    elif st.button(lesson.CONTROLS["latency"], key="lesson_measure", icon=":material/timer:"):
        moved(step.key)  # the step's control: the answer shows with the measurement
        with st.spinner("Timing the dense and the sparse model…"):
            store[key] = compare_latency(current.model, snap.result.masks, current.data.window)
    if key in store:
        lat = store[key]
        chart(viz_lesson.latency_figure(lat.to_records()), "lesson_latency", "latency")
        st.caption(lat.summary())
    if sc.CELLS[current.model.config.cell].plain:
        payoff(current)


def payoff(current) -> None:
    """When does removing whole units pay? The smaller GRUs timed against the dense one, at batch 1 and 256."""
    store = session.get().lesson_latency
    key = ("payoff", session.get().version)
    if st.button("Measure: when does removing units pay?", key="lesson_units", icon=":material/speed:"):
        with st.spinner("Removing units and timing each smaller GRU against the dense one…"):
            store[key] = sc.deploy.measure.unit_payoff(current.model, current.data.window)
    if key not in store:
        return
    pay = store[key]
    curves, notes = [], []
    for b, speedup in pay.speedup.items():
        pays = pay.pays_from(b)
        curves.append({"label": f"batch {b}", "x": pay.fractions, "y": speedup, "pays": pays,
                       "spread": pay.spread.get(b)})
        notes.append(f"batch {b} (dense {pay.dense_ms[b]:.3g} ms): " + (
            f"pays from {pays:.0%} of the units removed (at least {sc.deploy.measure.PAYS:.1f}× dense from there on)"
            if pays is not None else "does not pay at this size (the time is per-step overhead, not arithmetic)"))
    chart(viz_lesson.payoff_figure(curves), "lesson_payoff", "payoff")
    st.caption(f"{pay.note.capitalize()}, {pay.threads} torch thread(s): " + "; ".join(notes) + ".")
    st.page_link(state.DEPLOY_PAGE, label="Open the Deploy page: remove units, fine-tune once, export the smaller "
                 "model", icon=":material/rocket_launch:")


def step_compare(step, current) -> None:
    c1, c2 = st.columns(2)
    widgets.draw("method", c1, label=lesson.CONTROLS["method"], format_func=lambda n: sc.RULES[n].label,
                 on_change=lambda: (pv.sync_target(), moved(step.key)))
    with c2:
        prune_slider(step, chosen_here=True)
    snap = snapshot(current)
    if snap is None:
        return
    base = snap.config
    methods = list(SETTINGS["to_methods"].default)
    tv.run_sweeps(current, methods, base)
    curves = tv.curves(methods, base, "rmse", "sparsity", 0)
    fig = viz.tradeoff_figure(curves, tv.X_AXES["sparsity"], results.error_title("rmse"), naive=current.naive.metrics.rmse,
                              current=tv.current_marker("rmse", "sparsity"), x_percent=True,
                              title="Error against sparsity, prune only (star: the current setting)")
    chart(fig, "lesson_tradeoff", "tradeoff")
    st.page_link(state.TRADEOFFS_PAGE, label="Open the Trade-offs page: all methods, fine-tuned curves, MACs and bytes",
                 icon=":material/query_stats:")
    st.page_link(state.COMPARE_PAGE, label="Open the Compare page: gradual methods, gate variants and scopes, "
                 "each trained on the same budget", icon=":material/compare_arrows:")


def chart_column(step: lesson.LessonStep, current) -> None:
    """The step's control and live chart. While Play plays, a fragment rerun every frame (the control moved one
    frame on first); otherwise part of the page, so that moving the control also reveals the question's answer."""
    if step.key not in PLAYABLE:
        session.get().playing = None  # a step without the control: nothing moves unseen
        RENDER[step.key](step, current)
        return
    _, button = st.columns([3, 1])
    play.button(button, key=play.BUTTONS[1])  # outside the frames' fragment, as on the Prune page
    if play.playing():
        st.fragment(_playing_frame, run_every=play.interval())(step, current)
    else:
        RENDER[step.key](step, current)


def _playing_frame(step: lesson.LessonStep, current) -> None:
    play.advance()
    moved(step.key)  # watching it move counts as moving it: the question's answer shows once Play stops
    RENDER[step.key](step, current)


PLAYABLE = {"rule", "finetune", "cost", "compare"}  # the steps that draw prune_slider, with its Play button
RENDER = {"task": step_task, "gru": step_gru, "train": step_train, "rule": step_rule, "finetune": step_finetune,
          "cost": step_cost, "compare": step_compare}
