"""Lesson: pruning a GRU step by step, for a class. Each step: a short text, the live chart it talks about,
a predict-first question, and a button that sets the app to the step's state."""
import streamlit as st

from lab_ui import lesson_view as lv
from lab_ui import prune_view as pv
from lab_ui import explain, lab_state, memory, report, state
from scgru_core.teach import lesson, maths

ss = st.session_state
N = len(lesson.STEPS)
if ss.get(lab_state.STEP) not in range(1, N + 1):
    memory.set_widget(lab_state.STEP, 1)


def go(delta: int) -> None:
    memory.set_widget(lab_state.STEP, min(max(ss[lab_state.STEP] + delta, 1), N))


def set_up(step: lesson.LessonStep) -> None:
    """Callback: this step's settings on top of the current ones; the model is made before the next page. What it
    changed is said (a button that changes the app without a word leaves a class wondering what happened)."""
    before = lab_state.for_lesson()
    new = before.updated(**step.overrides, step=step.number)
    lab_state.request(new, model=True)
    changed = new.changes_from(before)
    state.say("lesson", "success" if changed else "info",
              f"Step {step.number} is set up: " + ("; ".join(changed) + "." if changed else
                                                   "the app already had its settings, so nothing changed."))


st.title("Lesson: pruning a GRU, step by step")
st.caption("For a class: the teacher projects, the students follow on their laptops from the same link "
           "(the address bar always holds the current step and settings).")
state.show_messages("lesson")

st.radio("Step", range(1, N + 1), key=lab_state.STEP, horizontal=True, label_visibility="collapsed",
         format_func=lambda n: f"{n} · {lesson.step(n).short}")
step = lesson.step(ss[lab_state.STEP])

current = state.lab()
if current is None:  # every step after the first draws the trained model: get it now (checkpoint or training)
    lab_state.ensure_model(lab_state.for_lesson(), page="lesson")
    current = state.lab()
if current is None:
    st.info("The lesson needs a trained model: press **Set up this step**, or train one on the Train page.")
else:
    pv.init_controls(current)

st.header(f"Step {step.number} · {step.title}")
text_col, chart_col = st.columns([2, 3], gap="large")
with text_col:
    st.markdown(lv.text_of(step.text))
    st.button("Set up this step", key="lesson_setup", on_click=set_up, args=(step,), icon=":material/tune:",
              help="Sets the app to this step's state (loading the shipped model, or training it, if needed).")
    lv.question(step)
with chart_col:
    if current is not None or step.key == "task":
        lv.chart_column(step, current)
extra = [m for m in step.maths if m != maths.MATHS[step.chart]]  # the chart's own maths is under the chart
if extra:
    with st.expander("The maths of this step", icon=":material/function:"):
        for formula in extra:
            st.latex(formula)

prev_col, next_col, _, reset_col = st.columns([1, 1, 2.5, 1.5])
prev_col.button("Previous step", key="lesson_prev", on_click=go, args=(-1,), disabled=step.number == 1,
                icon=":material/arrow_back:", width="stretch")
next_col.button("Next step", key="lesson_next", on_click=go, args=(1,), disabled=step.number == N,
                icon=":material/arrow_forward:", type="primary", width="stretch")
with reset_col:
    lab_state.reset_control(key="lesson_reset")

if current is not None:
    explain.show_code()
    snap = lv.snapshot(current)
    if snap is not None:
        report.report_button(current, snap, pv.finetuned_for(snap), key="lesson_report")
