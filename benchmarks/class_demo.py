"""The class demo on a fresh server: from the click on Home's "Open the class demo" to the pruned model's metrics
and histogram drawn on the Prune page, for the server's first visitor and the ones after.

    .venv/bin/python benchmarks/class_demo.py [--visitors 4]

Starts one server as `make class` does (nothing computed yet), then opens Home in a new browser context (Debian's
chromium) per visitor, lets the page settle as a person reading it would, clicks, and waits for the metrics and the
histogram. Prints, per visitor: the whole time, and when the server's last message of the click arrived (the rest
is the browser drawing the page). The load average is printed beside the figures.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "tests")]

from browser_support import BROWSER_ARGS, CHROMIUM, wait_for_app  # noqa: E402
from serve_class import start, stop  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--visitors", type=int, default=4)
    p.add_argument("--port", type=int, default=8702)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    procs = start(args.port, 1, quiet=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
            for visitor in range(1, args.visitors + 1):
                page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
                arrived: list[float] = []
                page.on("websocket", lambda ws: ws.on("framereceived", lambda _: arrived.append(time.perf_counter())))
                page.goto(f"http://127.0.0.1:{args.port}/")
                wait_for_app(page)
                page.wait_for_timeout(2500)  # settled, as when a person reads the page before clicking
                arrived.clear()
                t0 = time.perf_counter()
                page.locator(".st-key-demo button").click()
                page.get_by_role("heading", name="Prune").first.wait_for()
                page.get_by_test_id("stMetricValue").first.wait_for()
                page.locator(".st-key-hist .main-svg").first.wait_for()
                total = time.perf_counter() - t0
                served = max(arrived) - t0 if arrived else float("nan")
                print(f"visitor {visitor}{' (the fresh server' + chr(39) + 's first)' if visitor == 1 else ''}: click to "
                      f"metrics and histogram drawn {total:.2f} s; the server's last message at {served:.2f} s; "
                      f"load average {os.getloadavg()[0]:.2f}")
                page.context.close()
            browser.close()
    finally:
        stop(procs)


if __name__ == "__main__":
    main()
