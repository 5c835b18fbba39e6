"""The Deploy journey in a real headless Chromium, as a user would take it.

Open the app, start the lesson (it installs the shipped model), go to Deploy from the sidebar, move the
units slider with the keyboard and watch the preview follow, shrink + fine-tune + measure, download the
zip and load it into a plain torch.nn.GRU, leave for the Prune page and come back (the measurements stay),
then time the trade-off curves. Screenshots at projector (1600x1000) and laptop (1280x800) size go to
artifacts/.

Needs Debian's chromium at /usr/bin/chromium (`make chromium`); skipped without it locally, fails under CI.
"""
from __future__ import annotations

import io
import json
import zipfile

import torch
from safetensors.torch import load as st_load

from browser_support import ARTIFACTS, streamlit_server, wait_for_app, wait_for_charts


def sidebar_link(page, name: str):
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    wait_for_app(page, timeout=180_000)


def metric_value(page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True)).first
    return box.get_by_test_id("stMetricValue").inner_text().strip()


def test_deploy_journey(browser):
    from playwright.sync_api import expect

    with streamlit_server("deploy") as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
        page.goto(url)
        wait_for_app(page)
        sidebar_link(page, "Lesson")  # installs the shipped model (hidden 64)
        page.get_by_role("heading", name="Step 1 · The series and the forecasting task").wait_for()
        sidebar_link(page, "Deploy")
        page.get_by_role("heading", name="Deploy").first.wait_for()
        assert metric_value(page, "Hidden units") == "32"  # the default: half the units
        thumb = page.get_by_test_id("stSlider").get_by_role("slider").first
        thumb.focus()
        for _ in range(5):  # 5 % per press: 50 % -> 75 %, each press read before the next, as a person would
            thumb.press("ArrowRight")
            wait_for_app(page)
        page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stMetric"]')].some(
            m => m.innerText.includes('Hidden units') && m.innerText.includes('16'))""", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "deploy_preview_1600.png"), full_page=True)

        page.get_by_role("button", name="Shrink, fine-tune and measure").click()
        wait_for_app(page, timeout=240_000)
        page.get_by_role("heading", name="Measured on this machine").wait_for(timeout=60_000)
        wait_for_charts(page)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "deploy_measured_1600.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(ARTIFACTS / "deploy_measured_1280.png"), full_page=True)

        with page.expect_download() as info:
            page.get_by_role("button", name="Smaller model (zip)").click()
        raw = open(info.value.path(), "rb").read()
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            desc = json.loads(zf.read("model.json"))
            state = st_load(zf.read("model.safetensors"))
        gru = torch.nn.GRU(desc["input_size"], desc["hidden"], desc["layers"], batch_first=True)
        gru.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("gru.")}, strict=True)
        assert desc["hidden"] == 16 and desc["window"] == 48

        sidebar_link(page, "Prune")
        page.get_by_role("heading", name="Prune").first.wait_for()
        sidebar_link(page, "Deploy")
        page.get_by_role("heading", name="Measured on this machine").wait_for()  # nothing lost on the way
        assert metric_value(page, "Hidden units") == "16"  # and the slider kept its place

        sidebar_link(page, "Trade-offs")
        page.get_by_text("Measure latency", exact=True).click()
        wait_for_app(page, timeout=240_000)
        page.get_by_text("Against measured time (measured on this machine)").first.wait_for(timeout=60_000)
        page.set_viewport_size({"width": 1600, "height": 1000})
        wait_for_charts(page)
        chart = page.get_by_test_id("stPlotlyChart").filter(has_text="Against measured time").first
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(ARTIFACTS / "tradeoffs_latency_1600.png"))
