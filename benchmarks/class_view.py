"""The class view under a class: N students answer the lesson's question and move the threshold while the teacher's
Class page follows them live; how long an answer takes to reach the teacher's view, and what the class view costs
the sliders.

    .venv/bin/python benchmarks/class_view.py [--sessions 30] [--processes 1] [--moves 10]

Light clients (benchmarks/class_load.py: Streamlit's own websocket protocol, no browsers), so the clients cost the
machine a few percent and the figures are the server's. The teacher's client reruns the Class page's live fragment
every LIVE_S (0.5 s), as the browser's run_every timer does, and reads its "Answers so far". Each student opens the
lesson and answers at a moment of its own within `--spread` seconds (seeded), while every student also moves the
Prune page's threshold as class_load.py's students do. The answering students are tabs of their own, opened on the
lesson before the measurement (a class has the lesson open when the question is asked).

Reported, in one run on the same server(s):
  1. slider moves with no class view (the same moves class_load.py measures); the same moves while every answering
     student answers, no teacher's view open; and the same again with the teacher's view following;
  2. an answer's latency to the teacher: from the moment the student's answer was sent to the first teacher poll
     that counts it (p50, p95, max);
  3. with --processes 2: the count each process's teacher view shows at the end (they share one database).
"""
from __future__ import annotations

import asyncio
import os
import pathlib
import random
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent), str(ROOT.parent / "scripts")]
from class_load import Session, class_parser, client, cpu_seconds, moves, open_link, settled, summary  # noqa: E402
from serve_class import start, stop  # noqa: E402
from scgru_core.classroom.room import ClassRoom  # noqa: E402

LIVE_S = 0.5  # app_pages/classroom.py's LIVE_S: how often the browser reruns the answers' fragment
SLOW_S = 2.0  # and its SLOW_S: the thresholds' chart
CHOICES = ("It halves", "It drops only slightly (by 48)", "It doubles", "It stays exactly the same")


async def teacher(port: int, token: str, polls: list, stop_at: asyncio.Event) -> Session:
    """The projector's view: the Class page, then its fragments as the browser's run_every timers rerun them: the
    answers every LIVE_S, the thresholds' chart and the leaderboard every SLOW_S; (time, count, seconds) of every
    poll of the answers."""
    s = Session(port, "127.0.0.1")
    await s.connect()
    await s.run("class", query=f"token={token}")
    answers = s.metric_fragments["Answers so far"]
    slow = [s.widgets[k][1] for k in ("class_places",) if k in s.widgets]
    last_slow = time.perf_counter()
    while not stop_at.is_set():
        t0 = time.perf_counter()
        await s.run("class", fragment=answers, query="")
        polls.append((time.perf_counter(), int(s.metric_values.get("Answers so far", "0")), time.perf_counter() - t0))
        if time.perf_counter() - last_slow >= SLOW_S:
            last_slow = time.perf_counter()
            for fragment in slow:
                await s.run("class", fragment=fragment, query="")
        await asyncio.sleep(max(0.0, LIVE_S - (time.perf_counter() - t0)))
    return s


async def answer(s: Session, at: float, choice: str, sent: list) -> None:
    """A student whose lesson is open answers the question at `at` seconds (a click on the choice)."""
    await asyncio.sleep(at)
    sent.append(time.perf_counter())
    _, fragment = s.widgets["q_task"]  # as the browser does: the question is a fragment, only it reruns
    await s.run("lesson", [s.state("q_task", string_value=choice)], fragment=fragment)


def answer_latencies(sent: list[float], polls: list[tuple[float, int, float]]) -> list[float]:
    """The j-th answer sent (in time order) reaches the teacher at the first poll counting j or more answers."""
    out = []
    for j, t in enumerate(sorted(sent), start=1):
        seen = next((pt for pt, n, _ in polls if n >= j and pt >= t), None)
        if seen is not None:
            out.append(seen - t)
    return out


async def main(args) -> None:
    folder = tempfile.mkdtemp(prefix="class-view-")
    room = ClassRoom(folder)
    port = args.port
    procs = start(port, args.processes, quiet=True, class_dir=folder)

    def cpu() -> float:
        return sum(cpu_seconds(p.pid) for p in procs)

    try:
        backends = [port] if args.processes <= 1 else [port + 1 + i for i in range(args.processes)]
        for backend in backends:
            await open_link(backend, {"open": []}, "127.0.0.1")
        await settled(cpu)
        results = {"open": []}
        students = await asyncio.gather(*(open_link(port, results, client(i)) for i in range(args.sessions)))
        answerers = [Session(port, client(args.sessions + i)) for i in range(args.sessions)]  # a lesson tab each
        for a in answerers:
            await a.connect()
            await a.run("lesson")
        print(f"{args.sessions} students, {args.processes} server process{'es' if args.processes > 1 else ''}; "
              f"light clients (websockets), one teacher view polling every {LIVE_S:g} s")

        base: list[float] = []
        cpu0 = cpu()
        await asyncio.gather(*(moves(s, args.moves, base, args.pause, i, True) for i, s in enumerate(students)))
        print(f"  slider moves, no class view: load average {os.getloadavg()[0]:.2f}; server CPU "
              f"{(cpu() - cpu0) / len(base) * 1000:.1f} ms a move")
        print("    " + summary("move latency", base))

        rng = random.Random(0)

        async def phase(label: str, watch: bool, offset: int) -> list[float]:
            """The students move; every answerer answers (another choice than before) within --spread seconds."""
            polls: list = []
            done = asyncio.Event()
            watching = asyncio.create_task(teacher(port, room.token, polls, done)) if watch else None
            if watch:
                await asyncio.sleep(2 * LIVE_S)
            sent: list[float] = []
            lat: list[float] = []
            cpu0 = cpu()
            await asyncio.gather(
                *(answer(a, rng.uniform(0, args.spread), CHOICES[(i + offset) % len(CHOICES)], sent)
                  for i, a in enumerate(answerers)),
                *(moves(s, args.moves, lat, args.pause, i + offset, True) for i, s in enumerate(students)))
            used = (cpu() - cpu0) / len(lat) * 1000
            print(f"  {label}: load average {os.getloadavg()[0]:.2f}; server CPU {used:.1f} ms a move (answers"
                  f"{' and polls' if watch else ''} included)")
            print("    " + summary("move latency", lat))
            if watch:
                await asyncio.sleep(3 * LIVE_S)
                done.set()
                view = await watching
                answered = answer_latencies(sent, polls) if offset == 0 else []
                print(f"    answers: {len(sent)} sent, {room.size()['answers']} in the class's database, "
                      f"{polls[-1][1] if polls else 0} on the teacher's view at the end; {len(polls)} polls")
                if answered:
                    print("    " + summary("an answer to the teacher's view", answered))
                print("    " + summary("a poll of the answers (the fragment's run)", [p[2] for p in polls]))
                others.append(view)
            return lat

        others: list[Session] = []
        await phase("the same moves while every answerer answers, no teacher's view open", False, 1)
        room.reset()  # the measured phase counts its answers from zero
        await phase("the same moves while every answerer answers and the teacher's view follows", True, 0)
        if args.processes > 1:
            seen = []
            for backend in backends:
                t = Session(backend)
                await t.connect()
                await t.run("class", query=f"token={room.token}")
                seen.append(t.metric_values.get("Answers so far"))
                await t.ws.close()
            print(f"  the teacher's view on each process counts: {', '.join(seen)}")
        errors = sum(s.errors for s in students + answerers + others)
        print(f"  errors: {errors}")
        for s in students + answerers + others:
            await s.ws.close()
    finally:
        stop(procs)


if __name__ == "__main__":
    p = class_parser(__doc__, 8651)
    p.add_argument("--spread", type=float, default=5.0, help="the answers arrive within this many seconds")
    asyncio.run(main(p.parse_args()))
