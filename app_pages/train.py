"""Train: the dense forecaster's settings, a stoppable training run with live loss curves, test results."""
import streamlit as st

import scgru_core as sc
from lab_ui import charts, explain, model_upload, replay, results, session, state, training, widgets
from scgru_core import viz


ss = st.session_state

st.title("Train")
st.caption("A recurrent network (GRU, LSTM or RNN) reads the last *window* values and a linear head predicts the next *horizon* values. "
           "Training uses Adam on the training part and stops early when the validation loss stops improving.")
state.show_messages("train")
data: sc.Dataset = session.get().data

model_col, train_col = st.columns(2, gap="large")
with model_col.container(border=True):
    st.markdown("##### Model")
    widgets.draw("hidden")
    c1, c2 = st.columns([1, 2])
    widgets.draw("layers", c1)
    widgets.draw("cell", c2)
    chosen = widgets.state()
    preview = sc.model_cost(sc.build_model(chosen.model_config(), horizon=data.horizon), None, data.window)
    st.caption(f"{preview.params_total:,} parameters · {preview.macs_dense:,} multiply-accumulates per forecast",
               help=f"MACs: {sc.net.cost.MACS_NOTE}.")
with train_col.container(border=True):
    st.markdown("##### Training")
    c1, c2, c3 = st.columns(3)
    widgets.draw("epochs", c1)
    widgets.draw("batch", c2)
    widgets.draw("patience", c3)
    c1, c2 = st.columns([2, 1])
    widgets.draw("lr", c1)
    widgets.draw("seed", c2)
    st.caption(f"On {len(data.train):,} training windows of {data.window} steps "
               f"({results.plain(session.get().source['label'])}).")

chosen = widgets.state()
model_config, train_config = chosen.model_config(), chosen.train_config()
too_big = training.over_budget(model_config, train_config, data.window)  # said, and Train disabled
c1, c2, _ = st.columns([1, 1, 4])
start = c1.button("Train", type="primary", key="train", icon=":material/play_arrow:", width="stretch",
                  disabled=too_big is not None)
with c2:
    training.stop_button(start or session.get().training is not None)  # this session's training, run or followed
if too_big is not None:
    st.error(results.plain(too_big), icon=":material/memory:")
else:
    st.caption(f"About **{training.duration(training.estimate(data, model_config, train_config))}** here at most "
               f"({train_config.epochs} epochs on these {len(data.train):,} windows, from the model's size and this "
               "machine's measured speed; early stopping can end it sooner).")
with st.expander("Or load a model: the lab's zip, or one trained elsewhere", icon=":material/upload_file:"):
    model_upload.upload_control()
    model_upload.brought_control()
if start and training.train(data, model_config, train_config, page="train"):
    tr = session.get().model_info.training
    state.say("train", "success", f"Trained {len(tr.history)} epochs in {tr.seconds:.1f} s"
              + (" (stopped early: the validation loss stopped improving)." if tr.stopped_early else "."))
    st.rerun()

current = session.get().lab
if current is None:
    st.info("No model yet: press **Train**.")
else:
    info = session.get().model_info
    mc, tr = info.model_config, info.training
    st.subheader("Test results of the dense model")
    made = state.made_text(info) + (f"; best validation loss at epoch {tr.best_epoch}" if tr.best_epoch else "")
    st.caption(f"{mc.cell.upper()}, hidden {mc.hidden}, {mc.layers} layer(s), {made}. "
               "Deltas are against the naive forecast (repeat the last value): negative is better.")
    results.metric_row(current.dense.metrics, current.naive.metrics, "vs naive")
    dense_rmse, naive_rmse = current.dense.metrics.rmse, current.naive.metrics.rmse
    if not dense_rmse <= naive_rmse:  # NaN included
        prev = state.previous_model()
        w1, w2 = st.columns([4, 1.3], vertical_alignment="center")
        w1.warning(f"This model forecasts worse than the naive forecast (test RMSE {results.fmt(dense_rmse)} against "
                   f"{results.fmt(naive_rmse)} for repeating the last value): "
                   + ("it has not learned the series. A lower "
                      f"learning rate (now {info.train_config.lr:g}) or more epochs usually help." if tr.history else
                      "it was not trained here, on this series. Check that its JSON's scaler is the one it was trained "
                      "with; fine-tuning it here (Prune page) adapts it to this series.")
                   + (f" The model it replaced (RMSE {results.fmt(prev.rmse)}) is kept aside." if prev else ""),
                   icon=":material/warning:")
        if prev is not None:
            w2.button("Keep the previous model", key="keep_previous", on_click=state.restore_previous,
                      icon=":material/undo:", width="stretch")
    if tr.history:  # a model loaded from a file brings no training history: the forecast alone, full width
        loss_col, fc_col = st.columns([2, 3], gap="medium")
        with loss_col:
            fig = viz.training_figure(tr.history, tr.best_epoch)
            charts.show(fig, key="loss_final")
            explain.explain("loss")
    else:
        fc_col = st.container()
    with fc_col:
        fig = viz.test_forecast_figure(current.data, {"dense": current.dense, "naive": current.naive},
                                       units=state.axis_units(), labels={"dense": f"{mc.cell.upper()} forecast", "naive": "naive forecast"})
        charts.show(fig, key="forecast_test")
        explain.explain("forecast")
    st.subheader("Replay the training", help="How the weights moved, epoch by epoch: scrub the epoch or press Play.")
    replay.section(current, tr)
