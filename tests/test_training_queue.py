"""The server's training line: a bounded number run at once, the rest wait first come first served, each knows
its place, and leaving the line (Stop, or the page going away) never blocks the ones behind."""
from __future__ import annotations

import threading
import time

import pytest

import scgru_core as sc
from scgru_core.serve.training_queue import default_slots


def ticket(name: str, estimate_s: float = 10.0) -> sc.Ticket:
    return sc.Ticket(key=name, label=name, epochs=10, estimate_s=estimate_s)


def wait_until(condition, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def in_thread(queue: sc.TrainingQueue, t: sc.Ticket, order: list, release: threading.Event, seen: list | None = None):
    """Take a turn in another thread (a session's script run) and hold it until `release`."""
    def run():
        try:
            with queue.turn(t, waiting=(lambda tk: seen.append(queue.position(tk))) if seen is not None else None,
                            poll_s=0.01):
                order.append(t.label)
                release.wait(10)
        except sc.TrainingCancelled:
            order.append(f"{t.label} cancelled")
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_one_slot_runs_one_training_and_the_others_wait_in_arrival_order():
    queue, order, seen = sc.TrainingQueue(slots=1), [], []
    releases = [threading.Event() for _ in range(3)]
    a = in_thread(queue, ticket("a"), order, releases[0])
    wait_until(lambda: order == ["a"])
    b = in_thread(queue, ticket("b"), order, releases[1], seen)
    wait_until(lambda: queue.counts() == (1, 1))
    c = in_thread(queue, ticket("c"), order, releases[2])
    wait_until(lambda: queue.counts() == (1, 2))
    assert queue.position(queue.find("a")) == 0 and queue.position(queue.find("b")) == 1
    assert queue.position(queue.find("c")) == 2
    assert seen and set(seen) == {1}  # b was told its place while it waited
    releases[0].set()
    wait_until(lambda: order == ["a", "b"])
    assert queue.position(queue.find("c")) == 1 and queue.find("a") is None
    releases[1].set(), releases[2].set()
    for th in (a, b, c):
        th.join(10)
    assert order == ["a", "b", "c"] and queue.counts() == (0, 0)


def test_two_slots_run_two_at_once():
    queue, order = sc.TrainingQueue(slots=2), []
    release = threading.Event()
    threads = [in_thread(queue, ticket(n), order, release) for n in "ab"]
    wait_until(lambda: sorted(order) == ["a", "b"])
    release.set()
    for th in threads:
        th.join(10)


def test_stop_while_waiting_leaves_the_line_without_training_and_the_next_moves_up():
    queue, order = sc.TrainingQueue(slots=1), []
    hold, never = threading.Event(), threading.Event()
    a = in_thread(queue, ticket("a"), order, hold)
    wait_until(lambda: order == ["a"])
    waiting = ticket("b")
    b = in_thread(queue, waiting, order, never)
    c = in_thread(queue, ticket("c"), order, hold)
    wait_until(lambda: queue.counts() == (1, 2))
    waiting.stop.set()  # a Stop from the page (or from a reloaded page watching it)
    b.join(10)
    assert order == ["a", "b cancelled"] and queue.position(queue.find("c")) == 1 and waiting.done
    hold.set()
    for th in (a, c):
        th.join(10)
    assert order == ["a", "b cancelled", "c"]


def test_an_interruption_while_waiting_leaves_the_line():
    """Streamlit interrupts a script run (a click elsewhere, the session closing) by raising inside a call the
    waiting callback makes: the ticket must not stay in line and block everyone behind it."""
    queue = sc.TrainingQueue(slots=1)
    hold, order = threading.Event(), []
    a = in_thread(queue, ticket("a"), order, hold)
    wait_until(lambda: order == ["a"])

    class Interrupted(Exception):
        pass

    def interrupt(_):
        raise Interrupted

    with pytest.raises(Interrupted):
        with queue.turn(ticket("b"), waiting=interrupt, poll_s=0.01):
            pass
    assert queue.counts() == (1, 0) and queue.find("b") is None
    hold.set()
    a.join(10)


def test_the_wait_is_the_work_ahead_shared_over_the_slots():
    queue = sc.TrainingQueue(slots=1)
    hold, order = threading.Event(), []
    a = in_thread(queue, ticket("a", estimate_s=30), order, hold)
    wait_until(lambda: order == ["a"])
    b, c = ticket("b", estimate_s=20), ticket("c", estimate_s=5)
    threads = [in_thread(queue, t, order, hold) for t in (b,)]
    wait_until(lambda: queue.counts() == (1, 1))
    threads.append(in_thread(queue, c, order, hold))
    wait_until(lambda: queue.counts() == (1, 2))
    running = queue.find("a")
    assert 0 < queue.wait_s(b) <= 30 and queue.wait_s(c) == pytest.approx(queue.wait_s(b) + 20, abs=1.0)
    running.epoch_done(sc.EpochLog(1, 10, 1.0, 1.0, 0.1))  # its own pace replaces the estimate once it has one
    assert running.fraction == pytest.approx(0.1)
    assert running.remaining_s() == pytest.approx(9 * (time.monotonic() - running.started), rel=0.2)
    hold.set()
    for th in [a, *threads]:
        th.join(10)


def test_all_cores_but_one_train_at_once():
    assert [default_slots(n) for n in (1, 2, 4, 16)] == [1, 1, 3, 15]


def test_a_submitted_training_runs_in_its_own_thread_and_one_key_trains_once():
    """What a page submits runs without it (a reload stops the page's script, not the training); a second page
    asking for the same model gets the same ticket; what the work returns or raises lands on the ticket."""
    queue, release, calls = sc.TrainingQueue(slots=1), threading.Event(), []

    def work(t):
        calls.append(threading.current_thread().name)
        release.wait(10)
        return "the model"

    first = queue.submit(ticket("model A"), work)
    again = queue.submit(ticket("model A"), work)
    other = queue.submit(ticket("model B"), lambda t: (_ for _ in ()).throw(sc.ConfigError("refused")))
    assert again is first and queue.counts() == (1, 1)
    wait_until(lambda: first.started is not None)
    assert queue.position(other) == 1 and not other.finished.is_set()
    release.set()
    assert first.finished.wait(10) and first.outcome == "the model" and first.error is None
    assert other.finished.wait(10) and isinstance(other.error, sc.ConfigError) and other.outcome is None
    assert calls == ["training: model A"] and queue.counts() == (0, 0)


def test_a_submitted_training_stopped_in_line_never_runs():
    queue, release = sc.TrainingQueue(slots=1), threading.Event()
    running = queue.submit(ticket("a"), lambda t: release.wait(10))
    waiting = queue.submit(ticket("b"), lambda t: pytest.fail("a stopped ticket ran"))
    wait_until(lambda: running.started is not None)
    waiting.stop.set()
    assert waiting.finished.wait(10) and isinstance(waiting.error, sc.TrainingCancelled) and waiting.started is None
    assert "nothing was trained" in str(waiting.error)
    release.set()
    assert running.finished.wait(10)


def test_a_training_stops_when_the_last_one_waiting_for_it_lets_go_and_a_silent_tab_does_not_count():
    import time as clock

    from scgru_core.serve.training_queue import WANT_TTL_S, Ticket

    t = Ticket(key="k", label="Training", epochs=3, estimate_s=1.0)
    t.want("alice")
    t.want("carol")
    assert t.release("carol") == 1 and not t.stop.is_set()  # a follower's Stop leaves it for Alice
    t.want("ghost")
    t.wanted_by["ghost"] = clock.monotonic() - WANT_TTL_S - 1  # a tab closed (or reloaded) long enough ago
    assert t.release("alice") == 0 and t.stop.is_set()  # the last one still there: it stops
