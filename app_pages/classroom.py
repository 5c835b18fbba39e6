"""Class: the teacher's view of the room, for the projector. How the class answered each question (revealed when
the teacher chooses), where the students' thresholds are on the model's trade-off curve, a challenge and its
leaderboard, and reset for the next class. Only a session that opened the teacher's link reaches this page."""
from urllib.parse import urlsplit

import streamlit as st

from lab_ui import charts, classroom, state
from scgru_core.classroom.room import front
from scgru_core.teach import lesson
from scgru_core.viz import classroom as viz_class

LIVE_S = 0.5  # how often the answers are redrawn: an answer is on the projector within about this
SLOW_S = 2.0  # how often the thresholds' chart and the leaderboard are (each redraw a chart: the sliders' CPU)
QUESTIONS = [s for s in lesson.STEPS if s.choices]

st.title("Class", help="The teacher's view: what the room answered, where its thresholds are, a challenge.")
if not classroom.is_teacher():  # never reached from a student's session: the page is not in its navigation
    st.error("This page is the teacher's: open the teacher's link that `make class` printed.")
    st.stop()
room = classroom.room()
state.show_messages("class_teacher")
where = urlsplit(st.context.url or "")
st.caption(f"Students open **{where.scheme or 'http'}://{where.netloc}/lesson** · each one's answers and threshold "
           "arrive here as they set them; nothing identifies a student but the nickname they choose for a challenge. "
           "The token has left this page's address, so the room cannot read it off the projector: after a reload, "
           "open the teacher's link that `make class` printed again.")


def reveal(key: str) -> None:
    with classroom.said():
        room.reveal(key, bool(st.session_state[f"class_reveal_{key}"]))


step = st.selectbox("Question", QUESTIONS, key="class_question", format_func=lambda s: f"Step {s.number} · {s.short}")
if f"class_reveal_{step.key}" not in st.session_state:  # as the class's database has it (another tab may have)
    with classroom.said():
        st.session_state[f"class_reveal_{step.key}"] = step.key in room.revealed()
st.toggle("Reveal the answers (here and on the students' screens)", key=f"class_reveal_{step.key}",
          on_change=reveal, args=(step.key,))
current = state.lab()
if current is not None:
    with st.spinner("The model's curve…"):
        model_curve = classroom.model_curve(current)


@st.fragment(run_every=LIVE_S)
def live_answers() -> None:
    """How the class answered: redrawn every LIVE_S from the class's database (one small read)."""
    st.markdown(f"**{step.question}**")
    with classroom.said():
        counts, revealed = room.counts(step.key, len(step.choices)), step.key in room.revealed()
        if revealed:
            charts.show(viz_class.answers_figure(step.choices, counts, step.answer, title=f"{sum(counts)} answers"),
                        key="class_answers")
        else:
            st.metric("Answers so far", sum(counts), help="The counts show when you turn on Reveal.")


@st.fragment(run_every=SLOW_S)
def live_places() -> None:
    """Where the class's thresholds are, on the model's curve: a chart, redrawn less often than the answers."""
    if current is None:
        st.info("The students' dots are drawn on the model's curve: the model is loading.")
        return
    mine = classroom.model_key(current)
    with classroom.said():
        places = room.places()
        here = [p for p in places if p.model == mine]
        charts.show(viz_class.places_figure(model_curve, here, front(here), state.axis_units(),
                                            title="Each student's setting (prune only, before fine-tuning)"),
                    key="class_places")
        others = len(places) - len(here)
        st.caption(f"{len(here)} student{'s' if len(here) != 1 else ''} on this model"
                   + (f"; {others} on another model (not drawn)" if others else "")
                   + ". Green: the class's best, where no other setting is both sparser and more accurate.")


@st.fragment(run_every=SLOW_S)
def live_board() -> None:
    with classroom.said():
        board = room.leaderboard()
        if board:
            st.dataframe(classroom.leaderboard_table(board), hide_index=True, key="class_board")
        else:
            st.caption("No entries yet." if room.challenge() else "Start a challenge: the leaderboard fills here.")


left, right = st.columns([1, 1.25], gap="large")
with left:
    live_answers()
with right:
    live_places()
st.divider()
st.subheader("Challenge")
running = None
with classroom.said():
    running = room.challenge()
c1, c2, c3, c4 = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
sparsity = c1.number_input("Sparsity at least (%)", 0, 99, 90, 5, key="class_min_sparsity")
epochs = c2.number_input("Fine-tune epochs", 1, 20, 1, 1, key="class_epochs")
if c3.button("Start a new challenge" if running else "Start the challenge", key="class_start", type="primary",
             icon=":material/flag:", width="stretch"):
    with classroom.said():
        running = room.start_challenge(sparsity / 100, int(epochs))
if c4.button("End the challenge", key="class_end", disabled=running is None, icon=":material/stop:", width="stretch"):
    with classroom.said():
        room.end_challenge()
        running = None
st.markdown(f"Running: **{running.describe()}**. Students enter from their sidebar; each score is computed by this "
            "server from the student's own setting." if running else "No challenge is running.")
live_board()

st.divider()
with st.popover("Reset the class", icon=":material/restart_alt:"):
    st.markdown("Wipes every answer, threshold, entry and the challenge, for the next class. Your link stays valid.")
    if st.button("Reset now", key="class_reset", type="primary"):
        with classroom.said():  # a database that did not answer is said here, and nothing claims a reset
            room.reset()
            for s in QUESTIONS:
                st.session_state.pop(f"class_reveal_{s.key}", None)
            state.say("class_teacher", "success", "The class is reset: no answers, thresholds or entries are left.")
            st.rerun()
