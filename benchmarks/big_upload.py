"""One user on a large upload (or the shipped model, --shipped): key press to redrawn chart, and the server's CPU per slider
move, without the background fill and after it completed.

    .venv/bin/python benchmarks/big_upload.py [--points 17520] [--moves 20] [--epochs 1]

Builds a year of half-hours (17,520 points: the power-load sample's values repeated on a continuous half-hourly
clock, as an upload of a whole year looks to the app), starts one server as `make class` does, and in Debian's
chromium uploads it on the Data page, trains the default model for `--epochs` (the weights' quality does not change
the cost of a move), opens Prune and presses the right arrow on the threshold slider `--moves` times, each after
the previous one has finished. For each press: the time from the key to the sparsity metric and the histogram both
redrawn in the browser, when the server's last message before that arrived, and the server's CPU for the move (/proc
of the server process). Prints medians and p90s
with the load average beside them. One browser: the only client, so its CPU is not the server's.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "benchmarks"), str(ROOT / "tests")]

from browser_support import CHROMIUM, BROWSER_ARGS, wait_for_app, wait_for_charts  # noqa: E402
from class_load import cpu_seconds, rss_mb  # noqa: E402
from serve_class import start, stop  # noqa: E402

from scgru_core.data.samples import DEFAULT_SAMPLE, SAMPLES  # noqa: E402

# the sparsity metric's text and the histogram's paths: both change when a move has been drawn
SIGNATURE_JS = """() => {
  const metric = [...document.querySelectorAll('[data-testid="stMetric"]')].find(m => m.innerText.startsWith('Sparsity'));
  const chart = document.querySelector('.st-key-hist .main-svg');
  if (!metric || !chart) return null;
  const paths = [...chart.querySelectorAll('.cartesianlayer g.trace path')].map(p => p.getAttribute('d')).join('|');
  return [metric.querySelector('[data-testid="stMetricValue"]').innerText, paths];
}"""


def year_of_half_hours(points: int, path: pathlib.Path) -> pathlib.Path:
    sample = pd.read_csv(SAMPLES[DEFAULT_SAMPLE].path)
    values = np.resize(sample.iloc[:, 1].to_numpy(dtype=float), points)
    times = pd.date_range("2001-01-01", periods=points, freq="30min").strftime("%Y-%m-%d %H:%M")
    pd.DataFrame({"timestamp": times, "demand_mw": values}).to_csv(path, index=False)
    return path


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def measure(args, csv: pathlib.Path | None, fill: bool) -> dict:
    """One server (the background fill on or off), one browser: upload `csv` and train (None: the shipped model a
    fresh session opens on), open Prune, then the moves."""
    from playwright.sync_api import expect, sync_playwright

    os.environ["SCGRU_PREFETCH"] = "1" if fill else "0"  # the server started below inherits it
    procs = start(args.port, 1, quiet=True)
    pid = procs[0].pid
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            frames: list[float] = []  # arrival times of the server's messages
            page.on("websocket", lambda ws: ws.on("framereceived", lambda _: frames.append(time.perf_counter())))
            page.set_default_timeout(300_000)
            page.goto(f"http://127.0.0.1:{args.port}/{'data' if csv else 'prune'}")
            wait_for_app(page)
            if csv is not None:
                page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(csv))
                expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(f"{args.points:,} values",
                                                                                     timeout=120_000)
                page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train", exact=True).click()
                wait_for_app(page)
                field = page.locator(".st-key-t_epochs input")
                field.fill(str(args.epochs))
                field.press("Enter")
                wait_for_app(page)
                page.locator(".st-key-train button").click()
                expect(page.get_by_text("Test results of the dense model")).to_be_visible(timeout=600_000)
                page.get_by_test_id("stSidebarNav").get_by_role("link", name="Prune", exact=True).click()
                wait_for_app(page)
            wait_for_charts(page)
            t_fill, cpu_fill, rss_fill = time.perf_counter(), cpu_seconds(pid), rss_mb(pid)
            while True:  # the fill of this model's slider (with it on), until the server is idle
                last = cpu_seconds(pid)
                page.wait_for_timeout(1000)
                if cpu_seconds(pid) - last < 0.1:
                    break
            fill_figures = (time.perf_counter() - t_fill - 1.0, cpu_seconds(pid) - cpu_fill, rss_mb(pid) - rss_fill)
            idle0 = cpu_seconds(pid)
            page.wait_for_timeout(3000)
            idle_ms = (cpu_seconds(pid) - idle0) / 3 * 1000
            thumb = page.locator(".st-key-s").get_by_role("slider")
            thumb.focus()
            key_to_chart, cpu, served = [], [], []
            for _ in range(args.moves + 1):
                before = page.evaluate(SIGNATURE_JS)
                cpu0 = cpu_seconds(pid)
                frames.clear()
                t0 = time.perf_counter()
                thumb.press("ArrowRight")
                page.wait_for_function(
                    """([m, b]) => { const f = (%s)(); return !!(f && f[0] !== m && f[1] !== b); }""" % SIGNATURE_JS,
                    arg=before, polling="raf", timeout=60_000)
                drawn = time.perf_counter()
                wait_for_app(page)
                key_to_chart.append(1000 * (drawn - t0))
                served.append(1000 * (max(f for f in frames if f < drawn) - t0) if frames else float("nan"))
                cpu.append(1000 * (cpu_seconds(pid) - cpu0))
            browser.close()
    finally:
        stop(procs)
    # the first also warms the browser's plotly path
    return {"key_to_chart": key_to_chart[1:], "cpu": cpu[1:], "served": served[1:], "idle_ms": idle_ms,
            "fill": fill_figures}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", type=int, default=17_520)
    p.add_argument("--moves", type=int, default=20)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--port", type=int, default=8671)
    p.add_argument("--shipped", action="store_true", help="the shipped model a fresh session opens on, no upload")
    args = p.parse_args()
    csv = None if args.shipped else year_of_half_hours(args.points,
                                                       pathlib.Path(tempfile.mkdtemp()) / "year_of_half_hours.csv")
    runs = {fill: measure(args, csv, fill) for fill in (False, True)}
    what = "the shipped model" if args.shipped else f"{args.points:,}-point upload, default model ({args.epochs} epoch)"
    print(f"{what}, {args.moves} moves of s; load average {os.getloadavg()[0]:.2f}")
    for fill, r in runs.items():
        print(f"  {'with the fill (after it completed)' if fill else 'without the fill'}:")
        print(f"    key press to sparsity and histogram redrawn: median {statistics.median(r['key_to_chart']):.0f} ms, "
              f"p90 {pct(r['key_to_chart'], 90):.0f} ms")
        print(f"    of which until the server's last message before the redraw: median "
              f"{statistics.median(r['served']):.0f} ms (the rest is the browser drawing)")
        print(f"    server CPU per move: median {statistics.median(r['cpu']):.0f} ms, p90 {pct(r['cpu'], 90):.0f} ms")
        print(f"    the server idle on the Prune page before the moves: {r['idle_ms']:.0f} ms of CPU a second")
        if fill:
            seconds, cpu_s, rss = r["fill"]
            print(f"    the fill of this model's slider: {seconds:.1f} s, {cpu_s:.1f} s of CPU, {rss:+.0f} MB of memory")


if __name__ == "__main__":
    main()
