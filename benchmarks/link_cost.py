"""What opening links costs the server: N light clients open the most expensive link the widgets allow at once.

    .venv/bin/python benchmarks/link_cost.py [--links 100] [--at-once 20]

The link (network traffic, window 2000, 40% validation and 40% test, hidden 256 x 3, batch 256, 500 epochs) grew a
server past 17.8 GB in 4 minutes before its page showed: its training estimate ran three training steps of that
model. Now the estimate is computed from the model's size and the memory it would need is refused before anything
is allocated (scgru_core.net.budget). Clients are light websockets (benchmarks/class_load.py's Session), not browsers,
so the figures are the server's. Printed: server CPU seconds per link, the server's memory before and after, the
slowest page, errors, and the load average.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import sys
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from class_load import Session, cpu_seconds, rss_mb, settled  # noqa: E402

WORST = {"sample": "net_traffic", "window": "2000", "val": "0.4", "test": "0.4", "hidden": "256", "layers": "3",
         "batch": "256", "epochs": "500", "patience": "0"}


async def open_links(port: int, pid: int, links: int, at_once: int) -> dict:
    """Open `links` sessions on the worst link, `at_once` at a time; what it cost the server process `pid`."""
    query = urllib.parse.urlencode(WORST)
    cpu = lambda: cpu_seconds(pid)  # noqa: E731
    warm = Session(port)  # a plain visit first: the server's imports and warm-up are not the links' cost
    await warm.connect()
    await warm.run("train")
    await warm.ws.close()
    await settled(cpu)
    cpu0, rss0, pages, errors, sessions = cpu(), rss_mb(pid), [], 0, []

    async def one() -> None:
        nonlocal errors
        s = Session(port)
        await s.connect()
        pages.append(await s.run("train", query=query))
        errors += s.errors
        sessions.append(s)  # kept open: a class's sessions all stay

    for start in range(0, links, at_once):
        await asyncio.gather(*(one() for _ in range(min(at_once, links - start))))
    used = cpu() - cpu0
    figures = {"links": links, "cpu_per_link_s": used / links, "rss_before_mb": rss0, "rss_after_mb": rss_mb(pid),
               "slowest_page_s": max(pages), "errors": errors}
    for s in sessions:
        await s.ws.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=100)
    parser.add_argument("--at-once", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_support import SERVERS, streamlit_server
    with streamlit_server("link_cost", env={"SCGRU_PREFETCH": "0"}) as url:
        port = int(url.rsplit(":", 1)[1])
        t0 = time.perf_counter()
        f = asyncio.run(open_links(port, SERVERS[url].pid, args.links, args.at_once))
        wall = time.perf_counter() - t0
    print(f"{f['links']} worst links, {args.at_once} at a time, in {wall:.1f} s: server CPU {f['cpu_per_link_s']:.2f} s "
          f"per link; server memory {f['rss_before_mb']:.0f} MB before, {f['rss_after_mb']:.0f} MB with every session "
          f"open; slowest page {f['slowest_page_s']:.1f} s; errors {f['errors']}; load average "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
