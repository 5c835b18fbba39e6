"""Trainings on a shared server, as people meet them in a real Chromium: a reload during a training shows that
training's progress at once, with Stop; a second student's training waits its turn in line and is told its place;
Stop from the reloaded page installs the best epoch and lets the next one in line run. AppTest cannot see these:
a reload and two sessions at once are the browser's and the server's. Timings go to artifacts/training_journeys.json
(reported, not asserted)."""
from __future__ import annotations

import json
import re
import time

from playwright.sync_api import expect

from browser_support import ARTIFACTS, streamlit_server, wait_for_app
from scgru_core.serve.training_queue import WANT_TTL_S

VIEW = {"width": 1600, "height": 1000}
UNDER_WAY = re.compile("under way on this server")


def open_train(browser, url: str, query: str):
    page = browser.new_context(viewport=VIEW).new_page()
    page.goto(f"{url}/train?{query}")
    wait_for_app(page, timeout=180_000)
    return page


def test_a_reload_during_training_shows_it_with_stop_and_the_next_training_waits_its_turn(browser):
    times = {}
    with streamlit_server("training_journeys", env={"SCGRU_TRAINING_SLOTS": "1"}) as url:
        alice = open_train(browser, url, "seed=7&epochs=200&patience=0")  # a model no checkpoint holds
        alice.locator(".st-key-link_train button").click()  # a link offers training; it never starts one
        alice.get_by_text(re.compile(r"epoch 2 of 200")).first.wait_for(timeout=120_000)

        bob = open_train(browser, url, "seed=8&epochs=2")
        bob.locator(".st-key-link_train button").click()
        expect(bob.get_by_text(re.compile("1st in line")).first).to_be_visible(timeout=30_000)

        t0 = reloaded = time.perf_counter()
        alice.reload()  # Streamlit stops the page's script run; the training goes on in the server's line
        alice.get_by_text(UNDER_WAY).first.wait_for(timeout=60_000)
        times["reload_to_progress_s"] = time.perf_counter() - t0
        progress = alice.get_by_test_id("stProgress").first
        first = int(re.search(r"epoch (\d+) of 200", progress.inner_text()).group(1))
        alice.wait_for_function("""n => [...document.querySelectorAll('[data-testid="stProgress"]')].some(p =>
            Number((p.innerText.match(/epoch (\\d+) of 200/) || [0, 0])[1]) > n)""", arg=first, timeout=60_000)

        carol = browser.new_context(viewport=VIEW).new_page()  # alice's link, copied into another browser
        carol.goto(alice.url)
        carol.get_by_text(UNDER_WAY).first.wait_for(timeout=60_000)

        # Alice's tab from before the reload stops counting once it has been silent WANT_TTL_S; Carol still waits
        alice.wait_for_timeout(max(0.0, WANT_TTL_S + 1 - (time.perf_counter() - reloaded)) * 1000)
        alice.locator(".st-key-watch_stop button").first.click()
        expect(alice.get_by_text(UNDER_WAY)).to_have_count(0, timeout=60_000)
        wait_for_app(alice)
        expect(alice.get_by_test_id("stAlertContentInfo").first).to_contain_text("goes on for the 1 other session")
        expect(carol.get_by_text(UNDER_WAY).first).to_be_visible()  # a follower's Stop left it to Carol
        carol.locator(".st-key-watch_stop button").first.click()  # the last one waiting: it stops
        expect(carol.get_by_text(UNDER_WAY)).to_have_count(0, timeout=60_000)
        wait_for_app(carol)
        expect(carol.get_by_test_id("stAlertContentWarning").first).to_contain_text("was stopped after")
        expect(carol.get_by_test_id("stSidebar")).to_contain_text("trained on this server for this link")  # best epoch

        t0 = time.perf_counter()
        expect(bob.get_by_text("Test results of the dense model")).to_be_visible(timeout=120_000)
        times["next_in_line_done_s"] = time.perf_counter() - t0
        expect(bob.get_by_test_id("stSidebar")).to_contain_text("2 epochs")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "training_journeys.json").write_text(json.dumps(times, indent=2))
