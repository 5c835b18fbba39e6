"""A class: the students' answers, thresholds and challenge entries reach the teacher's view through the class's
database, whichever server process served them; the teacher's view opens only with the class's token; entries are
scored by the server; the class survives a restart and the teacher's reset wipes it."""
from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3

import pytest
from streamlit.testing.v1 import AppTest

import scgru_core as sc
from scgru_core.classroom import room as rooms
from scgru_core.classroom.room import ClassRoom, Entry, Place, check_nickname, front
from scgru_core.errors import ClassroomError

from apptest_helpers import APP, TIMEOUT, page, restore_torch_threads  # noqa: F401

CLASS_DIR_ENV = "SCGRU_CLASS_DIR"


# ------------------------------------------------------------------ the database


def _answer_many(folder: str, who: str, choice: int, n: int) -> None:
    here = ClassRoom(folder)
    for i in range(n):
        here.answer(f"{who}-{i}", "task", choice)


def test_two_processes_write_at_once_and_every_answer_is_counted(tmp_path):
    ClassRoom(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_answer_many, args=(str(tmp_path), who, choice, 40))
             for who, choice in (("a", 0), ("b", 2))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert ClassRoom(tmp_path).counts("task", 4) == [40, 0, 40, 0]
    assert sqlite3.connect(tmp_path / rooms.FILE).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_new_answer_replaces_the_students_earlier_one(tmp_path):
    here = ClassRoom(tmp_path)
    here.answer("s1", "rule", 1)
    here.answer("s1", "rule", 0)
    here.answer("s2", "rule", 0)
    assert here.counts("rule", 4) == [2, 0, 0, 0]
    assert here.counts("task", 4) == [0, 0, 0, 0]


def test_the_class_survives_a_restart_and_the_reset_wipes_it_but_keeps_the_token(tmp_path):
    here = ClassRoom(tmp_path)
    token = here.token
    here.answer("s1", "task", 1)
    here.place("s1", Place("m", 0.5, 2.0, "s = 1.00"))
    challenge = here.start_challenge(0.8, 1)
    here.enter("s1", challenge, Entry("Ada", 0.85, 1.5, "s = 2.00"))
    here.reveal("task")
    again = ClassRoom(tmp_path)  # a new server process, after a restart
    assert again.token == token and again.counts("task", 4) == [0, 1, 0, 0]
    assert again.challenge() == challenge and again.leaderboard()[0].nickname == "Ada"
    assert again.revealed() == {"task"} and len(again.places()) == 1
    again.reset()
    assert again.size() == {"students": 0, "answers": 0, "places": 0, "entries": 0}
    assert again.challenge() is None and again.revealed() == set() and again.leaderboard() == []
    assert again.is_teacher(token)


def test_only_the_exact_token_is_the_teachers(tmp_path):
    here = ClassRoom(tmp_path)
    token = here.token
    assert here.is_teacher(token)
    for guess in ("", token[:-1], token + "x", token.upper() if token.upper() != token else token.lower(), None, 123):
        assert not here.is_teacher(guess)
    assert ClassRoom(tmp_path / "other").token != token  # every class its own


def test_the_class_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(rooms, "MAX_STUDENTS", 3)
    here = ClassRoom(tmp_path)
    for s in ("a", "b", "c"):
        here.answer(s, "task", 0)
    here.answer("a", "rule", 1)  # a student already in the class may go on
    with pytest.raises(ClassroomError, match="full"):
        here.answer("d", "task", 0)
    assert here.size()["students"] == 3


@pytest.mark.parametrize("name, why", [("", "choose a nickname"), ("x" * 25, "at most 24"),
                                       ("<b>Bob</b>", "letters, digits"), ("[a](http://x)", "letters, digits"),
                                       ("**bold**", "letters, digits")])
def test_a_nickname_is_plain_text(name, why):
    with pytest.raises(ClassroomError, match=why):
        check_nickname(name)
    assert check_nickname("  Zoë  O'Neil-2 ") == "Zoë O'Neil-2"


def test_entries_meet_the_running_challenge_and_rank_by_score(tmp_path):
    here = ClassRoom(tmp_path)
    first = here.start_challenge(0.9, 1)
    with pytest.raises(ClassroomError, match="90% sparsity or more"):
        here.enter("a", first, Entry("Ann", 0.85, 1.0, "s"))
    here.enter("a", first, Entry("Ann", 0.92, 3.0, "s"))
    here.enter("b", first, Entry("Bob", 0.95, 2.0, "s"))
    here.enter("a", first, Entry("Ann", 0.93, 2.5, "s"))  # a later entry replaces the student's own
    assert [(e.nickname, e.score) for e in here.leaderboard()] == [("Bob", 2.0), ("Ann", 2.5)]
    second = here.start_challenge(0.5, 2)
    with pytest.raises(ClassroomError, match="ended"):
        here.enter("c", first, Entry("Cy", 0.95, 1.0, "s"))
    assert here.leaderboard() == [] and len(here.leaderboard(first.number)) == 2
    here.end_challenge()
    with pytest.raises(ClassroomError, match="ended"):
        here.enter("c", second, Entry("Cy", 0.95, 1.0, "s"))
    with pytest.raises(ClassroomError):
        here.start_challenge(1.0, 1)


def test_the_front_is_the_places_no_other_beats_on_both_counts():
    places = [Place("m", 0.5, 2.0, ""), Place("m", 0.8, 2.5, ""), Place("m", 0.7, 3.0, ""), Place("m", 0.3, 1.9, ""),
              Place("m", 0.8, 2.7, "")]
    best = front(places)
    assert [(p.sparsity, p.error) for p in best] == [(0.3, 1.9), (0.5, 2.0), (0.8, 2.5)]
    for p in places:  # every place off the front is beaten on both counts by one on it
        if p not in best:
            assert any(b.sparsity >= p.sparsity and b.error <= p.error for b in best)


def test_a_database_that_cannot_be_opened_is_said(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ClassroomError, match="cannot be opened"):
        ClassRoom(blocker / "class")


# ------------------------------------------------------------------ the app


@pytest.fixture
def class_dir(tmp_path, monkeypatch):
    from lab_ui import classroom

    monkeypatch.setenv(CLASS_DIR_ENV, str(tmp_path))
    classroom._room.cache_clear()
    yield tmp_path
    classroom._room.cache_clear()


def session_at(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def on_class_page(at: AppTest) -> bool:
    return any("Reveal the answers" in t.label for t in at.toggle)


def test_the_teachers_link_opens_the_class_page_and_leaves_the_address_bar(class_dir):
    token = ClassRoom(class_dir).token
    teacher = session_at({"token": token})
    assert teacher.session_state["session"].teacher
    assert "token" not in teacher.query_params  # the projected address does not show it
    page(teacher, "classroom")
    assert on_class_page(teacher)


@pytest.mark.parametrize("query", [{}, {"token": "guess"}, {"token": "TOKEN+x"}])
def test_a_student_cannot_reach_the_teachers_controls(class_dir, query):
    token = ClassRoom(class_dir).token
    query = {k: v.replace("TOKEN", token) for k, v in query.items()}
    student = session_at(query)
    assert not student.session_state["session"].teacher
    if query:
        notes = " ".join(m.value for m in [*student.info, *student.warning, *student.markdown])
        assert "teacher token is not this class's" in notes
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in its navigation at all
        student.switch_page("app_pages/classroom.py")
    assert not on_class_page(student)
    assert not any(b.key in ("class_start", "class_reset", "class_end") for b in student.button)


def test_two_students_answer_and_the_teacher_counts_one_each(class_dir):
    here = ClassRoom(class_dir)
    for choice in (0, 1):
        student = page(session_at(), "lesson")
        student.radio(key="q_task").set_value(choice).run()
        assert not student.exception
    assert here.counts("task", 4) == [1, 1, 0, 0]
    teacher = page(session_at({"token": here.token}), "classroom")
    assert [m.value for m in teacher.metric if m.label == "Answers so far"] == ["2"]
    teacher.toggle(key="class_reveal_task").set_value(True).run()
    assert here.revealed() == {"task"}
    assert "class_answers" in {el.proto.id.rsplit("-", 1)[-1] for el in teacher.get("plotly_chart")}
    student.run()  # the student's page shows the class's counts under the question once revealed
    bars = [p.proto.text for p in student.get("progress")]
    assert any(t.startswith("✓ It drops only slightly") and "**1** (50%)" in t for t in bars), bars


def test_a_students_threshold_reaches_the_teachers_chart(class_dir):
    from scgru_core.teach.settings import SETTINGS

    here = ClassRoom(class_dir)
    student = page(session_at(), "prune")
    student.slider(key=SETTINGS["sensitivity"].widget).set_value(2.0).run()
    (place,) = here.places()
    assert place.setting.endswith("s = 2.00 · scope both") and 0 < place.sparsity < 1
    assert place.sparsity == pytest.approx(student.session_state["session"].prune_setting.sparsity)
    teacher = page(session_at({"token": here.token}), "classroom")
    spec = next(el for el in teacher.get("plotly_chart") if el.proto.id.endswith("class_places"))
    import json

    dots = next(t for t in json.loads(spec.proto.spec)["data"] if t.get("name", "").startswith("students"))
    assert dots["name"] == "students (1)"


def test_an_entry_is_scored_by_the_server_not_by_what_the_session_holds(class_dir):
    from lab_ui import session as sessions
    from scgru_core.teach.settings import SETTINGS

    here = ClassRoom(class_dir)
    here.start_challenge(0.8, 1)
    student = page(session_at(), "prune")
    student.slider(key=SETTINGS["sensitivity"].widget).set_value(2.5).run()
    now = student.session_state["session"]
    snap = now.lab.at(now.prune_setting.config)
    fake = sc.evaluate(now.lab.model, now.data)  # a "fine-tuned" record claiming a far better score
    fake = dataclasses.replace(fake, metrics=dataclasses.replace(fake.metrics, rmse=0.001))
    now.finetuned = sessions.Finetuned(now.version, snap.config, now.lab.model, snap.result.masks, fake,
                                       now.model_info.training)
    student.sidebar.text_input(key="class_nickname").input("Ada").run()
    student.sidebar.button(key="class_enter").click().run()
    assert not student.exception, [e.message for e in student.exception]
    (entry,) = here.leaderboard()
    twin, _ = sc.finetune(now.lab.model, snap.result, now.data, sc.finetune_config(now.model_info.train_config, 1))
    assert entry.score == pytest.approx(sc.evaluate(twin, now.data).metrics.rmse, rel=1e-4)
    assert entry.score > 1 and entry.nickname == "Ada" and entry.sparsity >= 0.8


def test_an_entry_below_the_challenge_is_refused_before_any_fine_tune(class_dir):
    here = ClassRoom(class_dir)
    here.start_challenge(0.95, 1)
    student = page(session_at(), "prune")  # s = 1: about half the weights
    student.sidebar.text_input(key="class_nickname").input("Ada").run()
    student.sidebar.button(key="class_enter").click().run()
    assert "asks for 95% sparsity or more" in " ".join(w.value for w in student.sidebar.warning)
    assert here.leaderboard() == []


def test_the_teacher_starts_a_challenge_and_resets_the_class(class_dir):
    here = ClassRoom(class_dir)
    token = here.token
    here.answer("someone", "task", 2)
    teacher = page(session_at({"token": here.token}), "classroom")
    teacher.number_input(key="class_min_sparsity").set_value(70).run()
    teacher.button(key="class_start").click().run()
    assert here.challenge().min_sparsity == pytest.approx(0.7)
    student = session_at()
    assert "Class challenge" in " ".join(m.value for m in student.sidebar.markdown)
    teacher.button(key="class_reset").click().run()
    assert here.size()["answers"] == 0 and here.challenge() is None
    assert "the class is reset" in " ".join(s.value for s in teacher.success).lower()
    assert teacher.session_state["session"].teacher and here.is_teacher(token)  # the link stays valid


def test_without_a_class_nothing_of_it_shows(monkeypatch):
    from lab_ui import classroom

    monkeypatch.delenv(CLASS_DIR_ENV, raising=False)
    classroom._room.cache_clear()
    at = session_at({"token": "anything"})
    assert "runs no class" in " ".join(m.value for m in [*at.info, *at.warning, *at.markdown])
    assert not at.session_state["session"].teacher


def test_a_database_that_does_not_answer_is_said_on_the_teachers_page_and_the_page_goes_on(class_dir, monkeypatch):
    here = ClassRoom(class_dir)
    here.answer("someone", "task", 1)
    teacher = page(session_at({"token": here.token}), "classroom")
    monkeypatch.setattr(rooms, "BUSY_MS", 200)  # a writer waits 0.2 s for the lock, not 5 s
    other = sqlite3.connect(class_dir / rooms.FILE, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write, holding the lock
    try:
        teacher.button(key="class_reset").click().run()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not teacher.exception
    assert "did not answer" in " ".join(w.value for w in teacher.warning) and not teacher.success
    assert here.counts("task", 4) == [0, 1, 0, 0]  # nothing was claimed, and nothing was lost
    assert [m.value for m in teacher.metric if m.label == "Answers so far"] == ["1"]  # reads go on during a write


def test_a_browser_is_one_student_across_reloads_and_another_browser_another():
    from lab_ui.classroom import browser_id

    # Streamlit's XSRF cookie as one browser sent it on two page loads (a new mask each time), and another browser's
    first, reload = "2|6c4c608e|507bec3e871b21946eea47db19703e3d|1796544286", \
        "2|9d1dccba|a12a400a764a8da09fbbebefe8219209|1796544286"
    other = "2|422ecdab|9aa74296668d796f3beffe86c35fa345|1796544289"
    assert browser_id(first) == browser_id(reload) != browser_id(other)
    assert "3c378cb0" not in browser_id(first)  # a digest: the browser's token itself is not kept
    for bad in (None, "", "1|abc", "2|zz|12|3", "2||12|3", "2|ab|cd"):
        assert browser_id(bad) is None  # then the session is the student
