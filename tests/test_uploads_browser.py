"""Uploads as a person meets them, in a real headless Chromium: names from a file shown as text, a reload and a
copied address that keep the upload, a reload during its training, yearly data on year axes, a short series
warned, a file over the cap and a file too wide refused in words. Screenshots: artifacts/screenshots/uploads_*.

AppTest sees only the markdown source; the renderer makes links and images, the browser fetches them, and a reload
is a new session: these are checked where they happen. Needs Debian's chromium (`make chromium`).
"""
from __future__ import annotations

import re
import urllib.parse

import numpy as np
import pandas as pd
import pytest

from browser_support import ARTIFACTS, streamlit_server, wait_for_app
from scgru_core.serve.training_queue import WANT_TTL_S
from test_engine_reading import NILE

SHOTS = ARTIFACTS / "screenshots"
PROJECTOR, LAPTOP = {"width": 1600, "height": 1000}, {"width": 1280, "height": 800}
EVIL_COLUMN = "![x](http://127.0.0.1:9/p.png)<img src=http://127.0.0.1:9/q.png>[click](http://evil.example)"
EVIL_FILE = "[click](https:evil.example)<b>x</b>.csv"


@pytest.fixture(scope="module")
def url():
    with streamlit_server("uploads") as address:
        yield address


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / f"uploads_{name}.png"))


def open_page(browser, address: str, viewport=LAPTOP):
    page = browser.new_context(viewport=viewport).new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(address)
    wait_for_app(page, timeout=180_000)
    return page, requests


def upload(page, name: str, content: bytes, timeout: int = 120_000) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(  # the page's first: the data's
        {"name": name, "mimeType": "text/csv", "buffer": content})
    page.wait_for_timeout(500)
    wait_for_app(page, timeout=timeout)


def wave_csv(n: int, column: str = "load") -> bytes:
    t = np.arange(n)
    values = 100 + 30 * np.sin(2 * np.pi * t / 48) + np.random.default_rng(0).normal(0, 2, n)
    times = pd.date_range("2024-01-01", periods=n, freq="30min").strftime("%Y-%m-%d %H:%M")
    return pd.DataFrame({"time": times, column: values.round(3)}).to_csv(index=False).encode()


def test_names_from_a_file_are_text_everywhere_and_fetch_nothing(browser, url):
    page, requests = open_page(browser, f"{url}/data", PROJECTOR)
    upload(page, EVIL_FILE, wave_csv(600, EVIL_COLUMN))
    page.get_by_text("Loaded").first.wait_for()
    shot(page, "hostile_names_data")
    for where in ("Data", "Train"):
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=where, exact=True).click()
        wait_for_app(page)
        body = page.locator("body")
        assert page.locator("a[href*='evil']:not([href^='#']), img[src*='127.0.0.1:9']").count() == 0, where
        assert page.locator("[data-testid='stMain'] b, [data-testid='stSidebar'] b").count() == 0, where
        assert "[click](http" in body.inner_text() or "click" in body.inner_text()  # the name is shown, as text
    assert "<img src=http" in page.get_by_test_id("stSidebar").inner_text()  # the column's name, literally
    upload(page, EVIL_FILE.replace(".csv", ".txt"), b"no numbers here\nat all\n")  # a refusal quotes the name too
    assert page.locator("a[href*='evil']:not([href^='#']), img[src*='127.0.0.1:9']").count() == 0
    hosts = {urllib.parse.urlparse(r).netloc for r in requests}
    assert not hosts & {"evil.example", "127.0.0.1:9"}, hosts
    page.context.close()


def test_a_reload_and_the_copied_address_keep_the_upload(browser, url):
    page, _ = open_page(browser, f"{url}/data")
    upload(page, "my_readings.csv", wave_csv(900))
    page.get_by_role("heading", name=re.compile("my_readings")).wait_for()
    assert "data=" in page.url
    page.reload()
    wait_for_app(page, timeout=180_000)
    page.get_by_role("heading", name=re.compile("my_readings")).wait_for()  # F5 keeps it
    other, _ = open_page(browser, page.url)  # the address, pasted into another browser
    other.get_by_role("heading", name=re.compile("my_readings")).wait_for()
    shot(other, "copied_address")
    for p in (page, other):
        p.context.close()


def test_a_reload_during_an_uploads_training_shows_that_training_with_stop(browser, url):
    page, _ = open_page(browser, f"{url}/data")
    upload(page, "long_readings.csv", wave_csv(6000))
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train", exact=True).click()
    wait_for_app(page)
    for key, number in (("t_epochs", 300), ("t_patience", 0)):  # minutes of training, no early stop
        field = page.locator(f".st-key-{key} input")
        field.fill(str(number))
        field.press("Enter")
        wait_for_app(page)
    page.locator(".st-key-train button").click()
    page.get_by_text("Epoch 1").first.wait_for(timeout=120_000)  # under way
    page.wait_for_function("() => location.search.includes('training=')", timeout=30_000)
    page.reload()
    page.get_by_text("A training is under way on this server for you").wait_for(timeout=120_000)
    shot(page, "reload_during_training")
    assert "long_readings.csv" in page.get_by_test_id("stSidebar").inner_text()
    page.wait_for_timeout(1000 * (WANT_TTL_S + 1))  # the page before the reload stopped saying it waits
    page.locator(".st-key-watch_stop button").first.click()  # its Stop (a fragment rerun may hold a second copy a moment)
    page.get_by_text(re.compile("Training was stopped (after|before)")).first.wait_for(timeout=120_000)
    page.context.close()


def test_yearly_data_reads_in_years_and_a_short_series_is_warned(browser, url):
    page, _ = open_page(browser, f"{url}/data", PROJECTOR)
    nile = ("year,flow\n" + "\n".join(f"{1871 + i},{v}" for i, v in enumerate(NILE))).encode()
    upload(page, "nile_annual_flow.csv", nile)
    settings = page.locator(".st-key-settings")
    assert "window" in page.locator("body").inner_text()  # 100 values: window 48 is refused, with a window that fits
    wanted = int(re.search(r"lower the window to (\d+)", page.locator("body").inner_text()).group(1))
    field = settings.locator(".st-key-f_window input")
    field.fill(str(wanted))
    field.press("Enter")
    wait_for_app(page)
    settings.get_by_role("button", name="Apply").click()
    wait_for_app(page)
    page.get_by_role("heading", name=re.compile("nile_annual_flow")).wait_for()
    ticks = page.locator(".st-key-series_plot .xtick text").all_text_contents()
    assert "1900" in ticks and not any("1970" in t and ":" in t for t in ticks), ticks
    assert page.locator(".st-key-series_plot .g-xtitle").text_content() == "year"
    assert "test window(s)" not in page.locator("body").inner_text()  # the suggestion leaves 10 of each
    shot(page, "nile_years")
    field.fill("10")  # accepted, but 15 validation values hold only 5 windows of 10 + 1
    field.press("Enter")
    wait_for_app(page)
    settings.get_by_role("button", name="Apply").click()
    wait_for_app(page)
    page.get_by_text("Only 5 validation and 5 test window(s)").wait_for()
    shot(page, "short_series_warned")
    page.context.close()


def test_a_file_over_the_cap_and_a_file_too_wide_are_refused_in_words(browser, url):
    page, _ = open_page(browser, f"{url}/data")
    big = b"v\n" + b"1\n" * 25_700_000  # 51.4 MB: what a file manager counting MiB lists as 49 MB
    upload(page, "just_over.csv", big, timeout=240_000)
    page.get_by_text("over the 50 MB limit").wait_for()
    assert "51.4 MB (49.0 MiB" in page.locator("body").inner_text()
    wide = (",".join(str(i * 0.5) for i in range(1_000_000)) + "\n").encode()  # one row, a million columns
    upload(page, "wide.csv", wide)
    page.get_by_text("1,000,000 columns").wait_for(timeout=30_000)
    shot(page, "refused_in_words")
    page.context.close()
