"""A class on one server: N sessions open the teacher's link on the Prune page and move the threshold slider.

    .venv/bin/python benchmarks/class_load.py [--sessions 30] [--moves 10] [--trainings 5]

Light clients: each session is one websocket speaking Streamlit's own protocol (BackMsg / ForwardMsg, as the
browser does), not a browser, so the clients cost the 2-core machine a few percent and the figures are the
server's. Each client opens the link (a full run of the Prune page), then sends slider moves the way the browser
does for a widget inside a fragment (its fragment id, so only the panel reruns), waiting for each to finish, with
a human pause between moves. Reported: time from connecting to the model's metrics on screen, move latency (p50,
p95, max), server CPU seconds per move, server RSS per session; then the same moves while `--trainings` other
sessions each train a model on the Train page (other seeds: nothing cached; they wait their turn in the server's
training line). Errors: exceptions the app showed and connections lost. `--processes N` starts N servers behind nginx
exactly as `make class PROCESSES=N` does (README, "Serving a class"), each client from a loopback address of its
own as each laptop in a class has; CPU and memory are then the sum over the servers and nginx. The protocol is internal to Streamlit: this script is written for the pinned
streamlit==1.67.0.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import pathlib
import statistics
import sys
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
from scgru_core.teach.settings import LabState  # noqa: E402
from serve_class import backend_of, start, stop  # noqa: E402  (the servers exactly as `make class` starts them)

LINK = "&".join(f"{k}={v}" for k, v in LabState().to_link().items())


def cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Session:
    """One light client: a websocket, the widgets it has seen (by key) and the fragment they sit in."""

    def __init__(self, port: int, client: str = "127.0.0.1"):
        self.port, self.client, self.ws = port, client, None
        self.widgets: dict[str, tuple[str, str]] = {}  # key -> (widget id, fragment id)
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.metrics = self.errors = 0
        self.metric_values: dict[str, str] = {}  # label -> value of the metrics the last run drew
        self.metric_fragments: dict[str, str] = {}  # label -> the fragment a metric is drawn in ("" for none)

    async def connect(self):
        self.ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/_stcore/stream", subprotocols=["streamlit"],
                                           max_size=2**26, local_addr=(self.client, 0))

    async def run(self, page: str, states=(), fragment: str = "", query: str = LINK) -> float:
        """One script run (a fragment run with `fragment`); seconds until it finished."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string, cs.page_name = query, page
        cs.page_script_hash = self.pages.get(page, "")
        cs.fragment_id = fragment
        for state in states:
            cs.widget_states.widgets.append(state)
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        self.metrics = 0
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await self.ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "navigation":
                for page_info in fwd.navigation.app_pages:
                    self.pages[page_info.url_pathname] = page_info.page_script_hash
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                which = element.WhichOneof("type")
                if which == "metric":
                    self.metrics += 1
                    self.metric_values[element.metric.label] = element.metric.body
                    self.metric_fragments[element.metric.label] = fwd.delta.fragment_id
                elif which == "exception":
                    self.errors += 1
                widget = getattr(element, which, None)
                wid = getattr(widget, "id", "") if widget is not None else ""
                if wid and "-" in wid:
                    self.widgets[wid.rsplit("-", 1)[1]] = (wid, fwd.delta.fragment_id)
            elif kind == "script_finished":
                return time.perf_counter() - t0

    def state(self, key: str, **value):
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        wid, _ = self.widgets[key]
        s = WidgetState(id=wid)
        for field, v in value.items():
            if field == "double_array_value":
                s.double_array_value.data.extend(v)
            else:
                setattr(s, field, v)
        return s


async def open_link(port: int, results: dict, client: str) -> Session:
    t0 = time.perf_counter()
    s = Session(port, client)
    await s.connect()
    await s.run("prune")
    if not s.metrics:  # the page loaded its model after the first run: the browser would see it on the next
        await s.run("prune")
    results["open"].append(time.perf_counter() - t0)
    return s


async def moves(s: Session, n: int, results: list, pause: float, offset: int, stagger: bool = False):
    if stagger:  # students do not move in step: each starts at its own moment within one pause (seeded)
        await asyncio.sleep(random.Random(offset).uniform(0, pause))
    for i in range(n):
        value = round(0.5 + 0.1 * ((i + offset) % 25), 2)  # the class spreads over 25 values of s
        _, fragment = s.widgets["s"]
        try:
            results.append(await s.run("prune", [s.state("s", double_array_value=[value])], fragment=fragment))
        except websockets.ConnectionClosed:
            s.errors += 1
            return
        await asyncio.sleep(pause)


async def train(port: int, seed: int, client: str) -> float:
    """Another session trains a model on the Train page (hidden 64, 15 epochs, a seed nobody else uses)."""
    s = Session(port, client)
    await s.connect()
    await s.run("train")
    t0 = time.perf_counter()
    await s.run("train", [s.state("t_seed", int_value=seed), s.state("train", trigger_value=True)])
    return time.perf_counter() - t0


def summary(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"{name}: p50 {statistics.median(ms):,.0f} ms, p95 {p95:,.0f} ms, max {ms[-1]:,.0f} ms ({len(ms)} samples)"


def client(i: int) -> str:
    """A loopback address of its own for each student, as each laptop in a class has (the balancer keys on it)."""
    return f"127.0.{1 + i // 200}.{10 + i % 200}"


async def settled(cpu) -> float:
    """Wait until the servers are idle (their background fill of the shipped model's slider done); CPU seconds used."""
    start = last = cpu()
    while True:
        await asyncio.sleep(1.0)
        now = cpu()
        if now - last < 0.1:  # under a tenth of a core over a second: nothing left running
            return now - start
        last = now


async def main(args) -> None:
    port = args.port
    procs = start(port, args.processes, quiet=True)  # behind nginx, sticky by the client's address, when several

    def cpu() -> float:
        return sum(cpu_seconds(p.pid) for p in procs)

    def rss() -> float:
        return sum(rss_mb(p.pid) for p in procs)

    try:
        backends = [port] if args.processes <= 1 else [port + 1 + i for i in range(args.processes)]
        for backend in backends:  # each process's first session (the model loaded, torch warmed up) not counted
            await open_link(backend, {"open": []}, "127.0.0.1")
        filled = await settled(cpu)  # the class arrives after the teacher started the server: the fill is done
        print(f"the background fill of the shipped model's slider (lab_ui.prefetch): {filled:.1f} s of CPU in all")
        base_rss = rss()
        results = {"open": []}
        cpu0 = cpu()
        sessions = await asyncio.gather(*(open_link(port, results, client(i)) for i in range(args.sessions)))
        cpu_open = cpu() - cpu0
        load = os.getloadavg()[0]
        print(f"{args.sessions} sessions opened the link on /prune ({args.processes} server process"
              f"{'es' if args.processes > 1 else ''}); load average {load:.2f}")
        print("  " + summary("time to the model's metrics on screen", results["open"]))
        if args.processes > 1:
            counts = [0] * args.processes
            for i in range(args.sessions):
                counts[backend_of(client(i), args.processes)] += 1
            print(f"  sessions per process (nginx's hash of each address): {counts}")
        print(f"  server CPU {cpu_open:.1f} s in all, {cpu_open / args.sessions * 1000:,.0f} ms a session; "
              f"RSS {rss():,.0f} MB (+{(rss() - base_rss) / args.sessions:.1f} MB a session beyond each process's first)")
        for label, trainings in (("without trainings", 0), (f"while {args.trainings} sessions train", args.trainings)):
            lat: list[float] = []
            cpu0, each0 = cpu(), [cpu_seconds(p.pid) for p in procs]
            jobs = [asyncio.create_task(train(port, 1000 + i, client(args.sessions + i))) for i in range(trainings)]
            if jobs:
                await asyncio.sleep(3)  # the trainings under way
            await asyncio.gather(*(moves(s, args.moves, lat, args.pause, i, args.stagger)
                                   for i, s in enumerate(sessions)))
            used = cpu() - cpu0
            print(f"slider moves {label}, {args.sessions} sessions x {args.moves}, {args.pause:g} s apart"
                  f"{', staggered' if args.stagger else ', in step'}; load average {os.getloadavg()[0]:.2f}")
            print("  " + summary("move latency", lat))
            if jobs:
                done = await asyncio.gather(*jobs)
                print(f"  the {trainings} trainings took {min(done):.0f}-{max(done):.0f} s "
                      f"(one at a time in the training line; server CPU includes them: {used:.0f} s)")
            else:
                print(f"  server CPU {used / len(lat) * 1000:.1f} ms a move")
            if args.processes > 1:
                each = [cpu_seconds(p.pid) - c for p, c in zip(procs, each0)][:args.processes]
                print(f"  server CPU per process during the moves: {', '.join(f'{c:.1f} s' for c in each)}")
        print(f"server RSS at the end {rss():,.0f} MB (started at {base_rss:,.0f} MB); "
              f"errors: {sum(s.errors for s in sessions)}")
        for s in sessions:
            await s.ws.close()
    finally:
        stop(procs)


def class_parser(description: str, port: int) -> argparse.ArgumentParser:
    """The flags every class benchmark takes: how many students, their moves, the servers."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--moves", type=int, default=10)
    p.add_argument("--pause", type=float, default=0.3, help="seconds between a student's moves")
    p.add_argument("--port", type=int, default=port)
    p.add_argument("--processes", type=int, default=1, help="server processes, sessions spread over them")
    return p


if __name__ == "__main__":
    p = class_parser(__doc__, 8631)
    p.add_argument("--trainings", type=int, default=5)
    p.add_argument("--stagger", action="store_true",
                   help="each student starts moving at a random moment within one pause (default: all in step)")
    asyncio.run(main(p.parse_args()))
