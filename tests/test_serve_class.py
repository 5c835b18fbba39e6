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


def test_make_class_prints_the_address_students_open_and_answers_there():
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve_class.py"), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        printed = ""
        while "Students open" not in printed:  # printed once the server answers
            line = proc.stdout.readline()
            assert line, f"serve_class ended without printing the address (exit code {proc.poll()})"
            printed += line
        url = re.search(r"Students open:\s+(http://[\d.]+:\d+)/lesson", printed).group(1)
        host = serve_class.lan_address()
        assert url == f"http://{host}:{port}"
        assert health(url) == b"ok"  # reachable at the printed address, not only at 127.0.0.1
        assert health(f"http://127.0.0.1:{port}") == b"ok"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make test installs it)")
def test_several_processes_serve_one_address_and_share_the_class():
    from class_load import Session, client, cpu_seconds

    port = free_port()
    while any(serve_class.socket.socket().connect_ex(("127.0.0.1", port + i)) == 0 for i in (1, 2)):
        port = free_port()
    procs = serve_class.start(port, processes=2, quiet=True)
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
            for s in sessions:
                await s.ws.close()
            return shown, moved, [s.errors for s in sessions]

        shown, moved, errors = asyncio.run(students())
        assert all(shown) and all(moved) and not any(errors)  # the pages, through nginx's websockets
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
