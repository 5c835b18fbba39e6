"""The class, seen from one session: a student's answers, threshold and challenge entry go to the class's database
(`scgru_core.classroom.room`, shared by every server process); the teacher's link opens the Class page.

A class runs when the server was started by `make class`, which sets CLASS_DIR_ENV to the database's folder; under
`make run` none of this shows. The teacher's link carries the class's token: checked here once per session, then
dropped from the address bar (a projected address would show it to the room). A student's browser only ever
receives aggregates: counts of answers once revealed, the leaderboard of chosen nicknames.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import itertools
import os

import pandas as pd
import streamlit as st

import scgru_core as sc
from scgru_core.classroom.room import NICKNAME_CHARS, ClassRoom, Entry, Place, check_nickname
from scgru_core.serve.snapshot_cache import model_digest
from scgru_core.study.curves import Curve
from scgru_core.teach import lesson
from scgru_core.teach.settings import DEFAULTS

from . import session, state, training

CLASS_DIR_ENV = "SCGRU_CLASS_DIR"
TOKEN = "token"  # the teacher's link's parameter
NICKNAME_KEY = "class_nickname"
CLASS_PAGE = "class"
XSRF_COOKIE = "_streamlit_xsrf"  # Streamlit's (server.enableXsrfProtection, on in .streamlit/config.toml)
CURVE_S = [round(0.1 * i, 1) for i in range(31)]  # the thresholds of the curve behind the students' dots (prefetched)
REVEAL_POLL_S = 2.0  # how often a student's answered question looks whether the teacher has revealed the class's


@functools.lru_cache(maxsize=4)
def _room(folder: str) -> ClassRoom:
    return ClassRoom(folder)


def room() -> ClassRoom | None:
    """This server's class, or None when it serves no class (`make run`)."""
    folder = os.environ.get(CLASS_DIR_ENV)
    return _room(folder) if folder else None


def is_teacher() -> bool:
    return room() is not None and session.get().teacher


def admit_teacher(note) -> None:
    """A link with the teacher's token opens the teacher's view for this session; any other token opens nothing
    and says so. Either way the token leaves the address bar. `note`: how a notice is shown above the page."""
    token = st.query_params.get(TOKEN)
    if token is None:
        return
    del st.query_params[TOKEN]
    here = room()
    try:
        ok = here is not None and here.is_teacher(token)
    except sc.ScgruError:
        ok = False
    if ok:
        session.get().teacher = True
    elif here is None:
        note("This link is a class's teacher's link, but this server runs no class (start it with `make class`).")
    else:
        note("The link's teacher token is not this class's: the teacher's view stays closed. Open the teacher's "
             "link exactly as `make class` printed it.")


def _student() -> str:
    """Who is answering: this browser, the same across reloads and tabs (so a reload neither counts an answer twice
    nor leaves a second dot), where Streamlit's XSRF cookie tells it; else this session."""
    return browser_id(st.context.cookies.get(XSRF_COOKIE) if st.context.cookies else None) or session.get().token


def browser_id(cookie: str | None) -> str | None:
    """A digest of the browser's XSRF token, from its cookie. The cookie holds the token masked, in Tornado's
    documented version-2 form `2|mask|masked token|time`, the mask new on every page load; the token itself stays
    until the browser drops the cookie. Only a digest is kept: the token is a secret of the browser's."""
    parts = str(cookie).split("|") if cookie else []
    if len(parts) != 4 or parts[0] != "2":
        return None
    try:
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return None
    if not mask or not masked:
        return None
    token = bytes(a ^ b for a, b in zip(masked, itertools.cycle(mask)))
    return "b-" + hashlib.sha256(b"scgru-class-student|" + token).hexdigest()[:32]


def _safely(write, page: str) -> bool:
    """Run a write to the class's database; a refusal is said on `page` and the lab goes on. True if it was taken."""
    try:
        write()
        return True
    except sc.ScgruError as exc:
        state.say(page, "warning", f"The class did not take this: {exc}.")
        return False


def record_answer(step: lesson.LessonStep) -> None:
    """Callback of a lesson question: the student's answer, counted for the class (anonymously)."""
    here, choice = room(), st.session_state.get(f"q_{step.key}")
    if here is not None and choice is not None:
        _safely(lambda: here.answer(_student(), step.key, int(choice)), "lesson")


def class_answers(step: lesson.LessonStep) -> None:
    """Under a student's question, once answered: how the class answered, as soon as the teacher reveals it (a
    fragment that looks every REVEAL_POLL_S: one small read of the class's database)."""
    if room() is not None and st.session_state.get(f"q_{step.key}") is not None:
        st.fragment(_class_answers, run_every=REVEAL_POLL_S)(step)


def _class_answers(step: lesson.LessonStep) -> None:
    here = room()
    try:
        if step.key not in here.revealed():
            return
        counts = here.counts(step.key, len(step.choices))
    except sc.ScgruError:
        return
    total = sum(counts)  # as bars of text: the question's box is a narrow column, where a chart's labels are cut
    st.markdown(f"**How the class answered** ({total} answer{'s' if total != 1 else ''})")
    for i, (choice, n) in enumerate(zip(step.choices, counts)):
        st.progress(n / total if total else 0.0, text=f"{'✓ ' if i == step.answer else ''}{choice}: **{n}** "
                                                      f"({n / total if total else 0:.0%})")


def model_key(current: sc.PruningLab) -> str:
    """The model on screen, the same in every session and process that has it (its weights' digest)."""
    now = session.get()
    if now.class_model is None or now.class_model[0] != now.version:
        now.class_model = (now.version, model_digest(current.model)[:16])
    return now.class_model[1]


def setting_text(config: sc.PruneConfig) -> str:
    rule = sc.RULES[config.method]
    how = f"s = {config.sensitivity:.2f}" if rule.control == "sensitivity" else f"target {config.sparsity:.0%}"
    return f"{rule.label} · {how} · scope {config.scope.label()}"


def record_place(current: sc.PruningLab, setting: session.PruneSetting) -> None:
    """Where this student's threshold is now, for the teacher's chart (every Prune setting recorded)."""
    here = room()
    if here is None or session.get().teacher:
        return
    place = Place(model_key(current), setting.sparsity, setting.metrics["rmse"], setting_text(setting.config))
    try:
        here.place(_student(), place)
    except sc.ScgruError:
        pass  # a full class or a busy database: the slider goes on; an answer or an entry says why


def challenge_box() -> None:
    """In a student's sidebar while the teacher's challenge runs: enter with the Prune setting; the score is computed
    here, by the server, from the session's own setting (a fine-tune at the challenge's epochs)."""
    here = room()
    if here is None or session.get().teacher:
        return
    try:
        challenge = here.challenge()
    except sc.ScgruError:
        return
    if challenge is None:
        return
    st.markdown("#### Class challenge")
    st.caption(f"The teacher asks: {challenge.describe()}. Set it on the Prune page, then enter.")
    nickname = st.text_input("Nickname", key=NICKNAME_KEY, max_chars=NICKNAME_CHARS,
                             placeholder="shown on the leaderboard")
    state.show_messages("class")
    if st.button("Enter with my Prune setting", key="class_enter", icon=":material/emoji_events:", width="stretch"):
        enter(challenge, nickname)
    board = here.leaderboard(challenge.number)
    if board:
        st.dataframe(leaderboard_table(board[:10]), hide_index=True, key="class_board_student")


def enter(challenge, nickname: str) -> None:
    current, now = session.get().lab, session.get().prune_setting
    if current is None or not session.fresh(now):
        st.warning("Open the Prune page first: the entry is the setting it shows.")
        return
    try:
        name = check_nickname(nickname)
        challenge.check(now.sparsity)  # before the fine-tune: a refused entry costs the server nothing
    except sc.ScgruError as exc:
        st.warning(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        return
    snap = current.at(now.config)  # recomputed from the session's setting: nothing of the score comes from a browser
    made = training.finetune(current, snap, challenge.epochs, session.get().model_info.train_config,
                             chart_key="class_ft_live", page="class", stop=None)  # in the server's training line, with progress
    if made is None:
        return
    entry = Entry(name, now.sparsity, made.evaluation.metrics.rmse, setting_text(now.config))
    if _safely(lambda: room().enter(_student(), challenge, entry), "class"):
        board = room().leaderboard(challenge.number)
        rank = next((i for i, e in enumerate(board, 1) if e == entry), len(board))
        st.success(f"Entered: test RMSE {entry.score:,.4g} after fine-tuning; {training.ordinal(rank)} of {len(board)}.")
    else:
        state.show_messages("class")


def leaderboard_table(board: list[Entry]) -> pd.DataFrame:
    return pd.DataFrame({"rank": range(1, len(board) + 1), "nickname": [e.nickname for e in board],
                         "test RMSE": [round(e.score, 4) for e in board],
                         "sparsity": [f"{e.sparsity:.1%}" for e in board], "setting": [e.setting for e in board]})


@contextlib.contextmanager
def said():
    """Around the teacher's reads and writes: a database that does not answer (locked past its wait, a full disk) is
    a warning on the page, and the page goes on."""
    try:
        yield
    except sc.ScgruError as exc:
        st.warning(f"The class's database: {exc}.", icon=":material/database:")


def model_curve(current: sc.PruningLab) -> Curve:
    """The model's prune-only SCGRU curve at the default settings, which the students' dots are read against (the
    server's snapshots, mostly prefetched; kept in the session per model)."""
    now = session.get()
    cached = now.sweeps.get(("class_curve", now.version))
    if cached is None:
        snaps = [current.at(dataclasses.replace(DEFAULTS.prune_config(), sensitivity=s)) for s in CURVE_S]
        cached = now.sweeps[("class_curve", now.version)] = Curve(
            "SCGRU at each s (prune only)", tuple(s.result.sparsity for s in snaps),
            tuple(s.evaluation.metrics.rmse for s in snaps))
    return cached
