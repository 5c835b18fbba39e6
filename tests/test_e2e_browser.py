"""End to end in a real headless Chromium: upload, train (and stop), slide, look, download.

Starts `python -m streamlit run app.py` on a free local port and drives it with Playwright
the way a person would. Screenshots go to artifacts/screenshots/ (gitignored); the measured
slider latency goes to artifacts/slider_latency.json.

Needs Debian's chromium at /usr/bin/chromium (`make chromium`). Without it the test is
skipped, or fails with a clear message when the CI environment variable is set.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import statistics

from browser_support import ARTIFACTS, ROOT, chromium, require_browser, streamlit_server, wait_for_app, wait_for_charts
import numpy as np
import pandas as pd
import pytest

SHOTS = ARTIFACTS / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
# The 300 ms goal is measured and reported (artifacts/slider_latency.json), not asserted: timed
# assertions flake on shared machines.


@pytest.fixture(scope="module")
def app_url():
    require_browser()
    with streamlit_server("e2e") as url:
        yield url


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def go_to(page, title):
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    wait_for_app(page)


def sample_csv(path: pathlib.Path, n: int = 1500) -> pathlib.Path:
    t = np.arange(n)
    rng = np.random.default_rng(0)
    values = 1000 + 300 * np.sin(2 * np.pi * t / 48) + 80 * np.sin(2 * np.pi * t / 336) + rng.normal(0, 20, n)
    times = pd.date_range("2024-01-01", periods=n, freq="30min")
    pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"), "load_kw": values.round(2)}).to_csv(path, index=False)
    return path


# Signature of what the Prune page shows: the sparsity text and the drawn histogram bars (SVG paths),
# so "changed" means the browser has rendered the new chart, not just received it.
SIGNATURE_JS = """() => {
  const metric = [...document.querySelectorAll('[data-testid="stMetric"]')]
      .find(m => m.innerText.startsWith('Sparsity'));
  const chart = document.querySelector('.st-key-hist .main-svg');
  if (!metric || !chart) return null;
  const bars = [...chart.querySelectorAll('.cartesianlayer g.trace path')].map(p => p.getAttribute('d')).join('|');
  return [metric.querySelector('[data-testid="stMetricValue"]').innerText, bars];
}"""


def test_upload_train_stop_prune_slide_download(app_url, tmp_path):
    from playwright.sync_api import expect

    from scgru_core.store.archive import load_run_zip

    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(60_000)
        # The first request of a fresh server goes straight to /data: app.py frames it (st.navigation, app_pages/).
        page.goto(app_url + "/data")
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Power load")).to_be_visible()
        expect(page.get_by_test_id("stSidebar")).to_contain_text("Current data")

        # A broken upload is refused with a short error and the built-in sample stays.
        uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
        empty = tmp_path / "empty.csv"
        empty.write_text("")
        uploader.set_input_files(str(empty))
        wait_for_app(page)
        expect(page.get_by_test_id("stAlertContentError")).to_contain_text("empty.csv")
        wait_for_app(page)  # the run that refused it has ended: its fresh, empty uploader is the only one
        expect(page.get_by_role("heading", name="Power load")).to_be_visible()
        expect(uploader).to_have_count(1)

        uploader.set_input_files(str(sample_csv(tmp_path / "my_load.csv")))
        # the browser shows the file once its upload is done; only then does the run that reads it start
        expect(page.get_by_test_id("stFileUploader")).to_contain_text("my_load.csv", timeout=30_000)
        wait_for_app(page)
        expect(page.get_by_role("heading", name="my_load.csv")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("1,500 values")
        wait_for_charts(page)
        shot(page, "02_data_uploaded")

        # Train the default model (hidden 64, window 48) and stop it after a few epochs.
        go_to(page, "Train")
        for key, value in (("t_epochs", "300"), ("t_patience", "0")):  # long enough to need the Stop button
            field = page.locator(f".st-key-{key} input")
            field.fill(value)
            field.press("Enter")
            wait_for_app(page)
        page.locator(".st-key-train button").click()
        page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stProgress"]')].some(p =>
            Number((p.innerText.match(/epoch (\\d+) of 300/) || [0, 0])[1]) >= 3)""", timeout=90_000)
        shot(page, "03_training_live")
        page.locator(".st-key-stop button").first.click()
        wait_for_app(page)
        expect(page.get_by_test_id("stAlertContentWarning")).to_contain_text("was stopped after")
        expect(page.get_by_text("Test results of the dense model")).to_be_visible()
        expect(page.get_by_test_id("stSidebar")).to_contain_text("hidden 64")
        wait_for_charts(page)
        shot(page, "04_trained")

        # Prune: move the threshold with the keyboard; the sparsity and the histogram must change.
        go_to(page, "Prune")
        wait_for_charts(page)
        shot(page, "05_prune")
        thumb = page.locator(".st-key-s").get_by_role("slider")
        thumb.focus()
        latencies = []
        for i in range(11):
            before = page.evaluate(SIGNATURE_JS)
            assert before is not None, "the Prune page shows no sparsity metric or histogram"
            page.evaluate("window.__t0 = performance.now()")
            thumb.press("ArrowRight")
            page.wait_for_function(
                """([m, b]) => { const f = (%s)(); if (f && f[0] !== m && f[1] !== b) {
                    window.__t1 = performance.now(); return true; } return false; }""" % SIGNATURE_JS,
                arg=before, polling="raf", timeout=15_000)
            latencies.append(page.evaluate("window.__t1 - window.__t0"))
            wait_for_app(page)
        latencies = latencies[1:]  # the first move also warms the browser's plotly code path
        median = statistics.median(latencies)
        (ROOT / "artifacts" / "slider_latency.json").write_text(json.dumps(
            {"median_ms": median, "all_ms": latencies, "model": "GRU hidden 64, 1 layer, window 48",
             "what": "key press to sparsity text and histogram redrawn, in the browser"}, indent=2))
        print(f"\nslider latency (key press -> sparsity text and chart updated): median {median:.0f} ms, "
              f"all {[round(x) for x in latencies]}")
        assert float(thumb.input_value()) == pytest.approx(1.11)
        shot(page, "06_prune_moved")

        page.get_by_role("tab", name="Heatmaps").click()
        wait_for_app(page)
        wait_for_charts(page)
        expect(page.locator(".st-key-heat")).to_be_visible()
        shot(page, "07_heatmaps")
        page.get_by_role("tab", name="Forecast").click()
        wait_for_app(page)
        wait_for_charts(page)
        shot(page, "08_forecast")

        # The pruned model downloads as a zip the engine loads back, with the sparsity shown.
        shown = page.get_by_test_id("stMetric").filter(has_text="Sparsity").get_by_test_id("stMetricValue").inner_text()
        with page.expect_download() as info:
            page.locator(".st-key-dl_zip button").first.click()
        saved = load_run_zip(pathlib.Path(info.value.path()).read_bytes())
        kept = sum(int(m.sum()) for m in saved.masks.values())
        total = sum(m.numel() for m in saved.masks.values())
        assert f"{1 - kept / total:.1%}" == shown

        # Trade-offs: prune-only curves for three methods and whole units, on three axes; the points download as CSV.
        go_to(page, "Trade-offs")
        wait_for_charts(page)
        expect(page.get_by_test_id("stPlotlyChart")).to_have_count(3)
        shot(page, "09_tradeoffs")
        with page.expect_download() as info:
            page.locator(".st-key-dl_csv button").first.click()
        rows = pd.read_csv(info.value.path())
        # three rules and whole units removed (on by default), 11 target points each
        assert len(rows) == 44 and set(rows["method"]) == {"sensitivity", "magnitude", "random", "units"}

        go_to(page, "Home")
        shot(page, "00_home")
        browser.close()
    readme_shot = ROOT / "docs" / "screenshot.png"
    if not readme_shot.exists() or os.environ.get("SCGRU_UPDATE_SCREENSHOT"):  # no churn on every run
        readme_shot.parent.mkdir(exist_ok=True)
        shutil.copyfile(SHOTS / "06_prune_moved.png", readme_shot)
