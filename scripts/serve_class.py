"""Serve the lab to a class on the local network: bind every interface and print the address students open.

    .venv/bin/python scripts/serve_class.py [--port 8501] [--processes N]      (what `make class` runs)

`make run` binds 127.0.0.1, which only this machine can reach. This binds 0.0.0.0 and prints the lesson's link
with this machine's address on the local network (the one its default route leaves from), so the teacher can put
it on the projector; the students' browsers open the lesson on the shipped model without training anything.

The class's shared state (the students' answers and thresholds, a challenge and its leaderboard) is kept in SQLite in
`--class-dir` (default artifacts/class), which every process reads and writes: it survives a restart, and the
teacher's Reset on the Class page wipes it. The teacher's link (printed, with the class's secret token) opens that
page; keep it off the projector's address bar until the page has opened (it then drops the token from the address).

One Streamlit process runs its sessions' scripts under one interpreter lock: about one core however many the
machine has. `--processes N` starts N of them on the ports after `--port` and nginx on `--port` in front, each
student's address always sent to the same process (sticky sessions, as Streamlit's deployment notes require: a
session lives in one process). Every process keeps its own model and snapshot caches and training line.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLASS_DIR = ROOT / "artifacts" / "class"
CLASS_ENV = "SCGRU_CLASS_DIR"
CLASS_PAGE = "class"  # lab_ui.classroom.CLASS_PAGE  # lab_ui.classroom.CLASS_DIR_ENV: where the processes find the class's database


def lan_address() -> str:
    """This machine's address on the local network: the source address of a route to a private address (a UDP
    socket's connect sends nothing). 127.0.0.1 when there is no network at all."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def streamlit_command(port: int, address: str = "0.0.0.0") -> list[str]:
    """Streamlit on this port and address (the rest comes from .streamlit/config.toml)."""
    return [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address", address,
            "--server.port", str(port)]


def backend_of(address: str, backends: int) -> int:
    """Which of `backends` equal backends nginx's `hash $remote_addr` sends a client address to (its formula, in
    ngx_http_upstream_hash_module: the CRC32 of the key, bits 16-30, modulo the total weight)."""
    return ((zlib.crc32(address.encode()) >> 16) & 0x7FFF) % backends


def nginx_config(port: int, backends: list[int], prefix: str) -> str:
    """nginx in front of Streamlit processes on `backends`: one student's address always to the same process,
    websockets upgraded and kept open for a whole lesson.

    Sticky by `hash $remote_addr` (not `consistent`): nginx picks backend ((crc32(address) >> 16) & 0x7fff) % N,
    which depends on the address alone. The consistent (ketama) variant places each backend by its own address,
    port included, so with random ports 8 students sometimes all landed on one of two processes. Plain hashing
    spreads a class's consecutive addresses evenly (`backend_of`: 30 over 2 backends 15/15, over 4 8/7/7/8; 60 over
    2 and 4 exactly even; 192.168.1.10-69 the same)."""
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in backends)
    return f"""worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_max_body_size 60m;
    upstream lab {{
        hash $remote_addr;
{servers}
    }}
    server {{
        listen {port};
        location / {{
            proxy_pass http://lab;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host;
            proxy_read_timeout 86400;
        }}
    }}
}}
"""


def wait_healthy(port: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server on port {port} did not start")


def start(port: int, processes: int, quiet: bool = False, class_dir: str | os.PathLike | None = None
          ) -> list[subprocess.Popen]:
    """The servers of a class on `port`: one Streamlit process, or `processes` of them behind nginx, all sharing the
    class kept in `class_dir` (none: the processes run no class). Returns the processes (nginx last), each already
    answering."""
    out = subprocess.DEVNULL if quiet else None
    env = {**os.environ, **({CLASS_ENV: str(class_dir)} if class_dir is not None else {})}
    if processes <= 1:
        procs = [subprocess.Popen(streamlit_command(port), cwd=ROOT, stdout=out, stderr=out, env=env)]
        wait_healthy(port)
        return procs
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        raise SystemExit("--processes needs nginx in front of the processes (Debian/Ubuntu: sudo apt-get install "
                         "nginx-light; macOS: brew install nginx). One process needs nothing.")
    backends = [port + 1 + i for i in range(processes)]
    procs = [subprocess.Popen(streamlit_command(p, "127.0.0.1"), cwd=ROOT, stdout=out, stderr=out, env=env)
             for p in backends]
    for p in backends:
        wait_healthy(p)
    prefix = tempfile.mkdtemp(prefix="scgru-class-")
    conf = pathlib.Path(prefix) / "nginx.conf"
    conf.write_text(nginx_config(port, backends, prefix))
    procs.append(subprocess.Popen([nginx, "-c", str(conf), "-p", prefix, "-g", "daemon off;"], stdout=out,
                                  stderr=out))
    wait_healthy(port)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8501)))
    p.add_argument("--processes", type=int, default=int(os.environ.get("PROCESSES", 1)),
                   help="Streamlit processes behind nginx (one per core beyond the first helps a class over 30)")
    p.add_argument("--class-dir", default=os.environ.get(CLASS_ENV, str(CLASS_DIR)),
                   help="the folder of the class's database (kept across restarts; the teacher's Reset wipes it)")
    args = p.parse_args(argv)
    from scgru_core.classroom.room import ClassRoom  # the database made (and its token) before any process reads it

    room = ClassRoom(args.class_dir)
    procs = start(args.port, args.processes, class_dir=room.folder.resolve())
    host = lan_address()
    print(f"\n  Students open:  http://{host}:{args.port}/lesson\n"
          f"  Teacher (keep it to yourself; open it before projecting): "
          f"http://{host}:{args.port}/{CLASS_PAGE}?token={room.token}\n"
          f"  The class's answers, thresholds and challenge are kept in {room.folder.resolve()} (they survive a "
          "restart; Reset on the Class page wipes them).\n"
          f"  (the Prune page of the class demo: http://{host}:{args.port}/prune)\n"
          f"  {args.processes} server process{'es' if args.processes > 1 else ''}; README, 'Serving a class', says "
          "how many students that holds.\n"
          "  If their browsers cannot connect, allow incoming connections to this port in the firewall.\n"
          "  Ctrl-C stops the server.\n", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(proc.poll() is None for proc in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop(procs)


if __name__ == "__main__":
    main()
