"""Serving a class (`make class`): students' laptops reach the server at the address it prints, and with several
processes one address serves them all, the students spread over the processes (nginx keys on their address)."""
from __future__ import annotations

import asyncio
import pathlib
import re
import shutil
import subprocess
import sys
import urllib.request

import pytest

from browser_support import free_port

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "benchmarks")]
import serve_class  # noqa: E402

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def health(url: str) -> bytes:
    return urllib.request.urlopen(url + "/_stcore/health", timeout=10).read()


def test_make_class_prints_the_address_students_open_and_answers_there(tmp_path):
    from scgru_core.classroom.room import ClassRoom

    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve_class.py"), "--port", str(port),
                             "--class-dir", str(tmp_path / "class")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        printed = ""
        while "Students open" not in printed:  # printed once the server answers
            line = proc.stdout.readline()
            assert line, f"serve_class ended without printing the address (exit code {proc.poll()})"
            printed += line
        while "Ctrl-C" not in printed:
            printed += proc.stdout.readline()
        url = re.search(r"Students open:\s+(http://[\d.]+:\d+)/lesson", printed).group(1)
        teacher = re.search(r"Teacher .*: (http://[\d.]+:\d+)/class\?token=(\S+)", printed)
        assert teacher.group(1) == url and ClassRoom(tmp_path / "class").is_teacher(teacher.group(2))
        assert str((tmp_path / "class").resolve()) in printed  # where the class is kept, said
        host = serve_class.lan_address()
        assert url == f"http://{host}:{port}"
        assert health(url) == b"ok"  # reachable at the printed address, not only at 127.0.0.1
        assert health(f"http://127.0.0.1:{port}") == b"ok"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make test installs it)")
def test_several_processes_serve_one_address_and_share_the_class(tmp_path):
    from class_load import Session, client, cpu_seconds
    from scgru_core.classroom.room import ClassRoom

    port = free_port()
    while any(serve_class.socket.socket().connect_ex(("127.0.0.1", port + i)) == 0 for i in (1, 2)):
        port = free_port()
    room = ClassRoom(tmp_path)
    procs = serve_class.start(port, processes=2, quiet=True, class_dir=tmp_path)
    try:
        backends = procs[:2]
        before = [cpu_seconds(p.pid) for p in backends]

        async def students():
            sessions = [Session(port, client(i)) for i in range(8)]
            for s in sessions:
                await s.connect()
                await s.run("prune")
                if not s.metrics:
                    await s.run("prune")
            shown = [s.metrics for s in sessions]
            moved = []
            for s in sessions:  # a slider move: the session's own process must still hold it
                _, fragment = s.widgets["s"]
                await s.run("prune", [s.state("s", double_array_value=[1.4])], fragment=fragment)
                moved.append(s.metrics)
            # two students served by different processes answer the lesson's first question differently
            pair = [sessions[0], next(s for s in sessions if serve_class.backend_of(s.client, 2) !=
                                      serve_class.backend_of(sessions[0].client, 2))]
            for s, choice in zip(pair, ("It halves", "It doubles")):
                await s.run("lesson")
                await s.run("lesson", [s.state("q_task", string_value=choice)])
            seen = []
            for backend in (port + 1, port + 2):  # the teacher's view, from each process
                teacher = Session(backend)
                await teacher.connect()
                await teacher.run("class", query=f"token={room.token}")
                seen.append(teacher.metric_values.get("Answers so far"))
                await teacher.ws.close()
            for s in sessions:
                await s.ws.close()
            return shown, moved, [s.errors for s in sessions], seen

        shown, moved, errors, seen = asyncio.run(students())
        assert all(shown) and all(moved) and not any(errors)  # the pages, through nginx's websockets
        assert room.counts("task", 4) == [1, 0, 1, 0] and seen == ["2", "2"]  # one class, whichever process
        used = [cpu_seconds(p.pid) - b for p, b in zip(backends, before)]
        assert min(used) > 0.5, f"the students all went to one process (CPU seconds {used})"
    finally:
        serve_class.stop(procs)


def test_the_stickiness_spreads_a_class_evenly_whatever_the_ports():
    """nginx's `hash $remote_addr` maps an address to a backend by the address alone (serve_class.backend_of), so
    the spread of a class is known in advance: even for 30 and 60 consecutive addresses over 2 and 4 processes."""
    from class_load import client

    for students, backends in ((8, 2), (30, 2), (30, 4), (60, 2), (60, 4)):
        for addresses in ([client(i) for i in range(students)], [f"192.168.1.{10 + i}" for i in range(students)]):
            counts = [0] * backends
            for a in addresses:
                counts[serve_class.backend_of(a, backends)] += 1
            assert max(counts) - min(counts) <= 1, (students, backends, counts)
    assert "hash $remote_addr;" in serve_class.nginx_config(8501, [8502, 8503], "/tmp/x")


def test_the_class_survives_a_server_restart_and_the_teachers_reset_wipes_it(tmp_path):
    from class_load import Session
    from scgru_core.classroom.room import ClassRoom

    room = ClassRoom(tmp_path)

    async def answer(port: int) -> None:
        s = Session(port)
        await s.connect()
        await s.run("lesson")
        _, fragment = s.widgets["q_task"]
        await s.run("lesson", [s.state("q_task", string_value="It doubles")], fragment=fragment)
        await s.ws.close()

    async def teacher(port: int, reset: bool = False) -> str | None:
        s = Session(port)
        await s.connect()
        await s.run("class", query=f"token={room.token}")
        if reset:  # the popover's button, as the browser sends a click
            await s.run("class", [s.state("class_reset", trigger_value=True)])
        seen = s.metric_values.get("Answers so far")
        await s.ws.close()
        return seen

    port = free_port()
    procs = serve_class.start(port, processes=1, quiet=True, class_dir=tmp_path)
    try:
        asyncio.run(answer(port))
    finally:
        serve_class.stop(procs)
    procs = serve_class.start(port, processes=1, quiet=True, class_dir=tmp_path)  # a new server process
    try:
        assert asyncio.run(teacher(port)) == "1"
        asyncio.run(teacher(port, reset=True))
        assert asyncio.run(teacher(port)) == "0"  # the teacher's link still opens the page, on an empty class
        assert room.size()["answers"] == 0
    finally:
        serve_class.stop(procs)
