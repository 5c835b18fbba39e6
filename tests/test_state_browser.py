"""The app never forgets and never contradicts itself, as a person sees it in a real Chromium: every page keeps its
values across a round trip, a copied link reopens the same page with the same settings and numbers (on each
Prune tab and at each lesson step), Reset gives what a fresh session has, and two sessions share a trained model
but never an upload. AppTest cannot see these: they depend on the browser's address bar, widget unmounting and
several sessions on one server. Timings go to artifacts/state_journeys.json (reported, not asserted).
"""
from __future__ import annotations

import json
import re
import time

import pandas as pd
import pytest

from browser_support import ARTIFACTS, streamlit_server, wait_for_app
from scgru_core.teach import lesson

VIEW = {"width": 1600, "height": 1000}
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def server():
    with streamlit_server("state_journeys") as url:
        yield url


@pytest.fixture(scope="module", autouse=True)
def report_times():
    yield
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "state_journeys.json").write_text(json.dumps(TIMES, indent=2))


def fresh(browser, url: str, path: str = ""):
    """A page in a new browser context (no cookies, no session): as a student opening a link."""
    page = browser.new_context(viewport=VIEW).new_page()
    page.goto(url + path)
    wait_for_app(page, timeout=180_000)
    return page


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    wait_for_app(page, timeout=180_000)


def value(page, key: str) -> str:
    """What a widget shows: an input's value, or a select box's chosen text."""
    box = page.locator(f".st-key-{key}")
    box.locator("input").first.wait_for(state="attached")
    inputs = box.locator("input")
    if box.get_by_role("slider").count():
        return box.get_by_role("slider").first.input_value()
    if box.locator("[data-baseweb='select']").count():
        return box.locator("[data-baseweb='select']").first.inner_text().strip()
    if inputs.count():
        return inputs.first.input_value()
    return box.inner_text().strip()


def type_number(page, key: str, number) -> None:
    field = page.locator(f".st-key-{key} input")
    field.fill(str(number))
    field.press("Enter")
    wait_for_app(page)


def press(page, key: str, keyname: str, times: int) -> None:
    """Key presses at a held key's repeat rate (about 30 a second)."""
    thumb = page.locator(f".st-key-{key}").get_by_role("slider")
    thumb.focus()
    for _ in range(times):
        thumb.press(keyname)
        page.wait_for_timeout(33)
    wait_for_app(page)


def step(page, key: str, keyname: str, times: int) -> None:
    """Key presses, each awaited: the slider ends exactly `times` steps away (at a held key's rate a press can land
    while a rerun's value comes back, and the count is then off by one either way)."""
    thumb = page.locator(f".st-key-{key}").get_by_role("slider")
    for _ in range(times):
        thumb.focus()
        thumb.press(keyname)
        wait_for_app(page)


def lesson_step(page, number: int) -> None:
    page.locator(".st-key-lesson_step").get_by_text(re.compile(rf"^{number} · ")).click()
    wait_for_app(page)
    page.get_by_role("heading", name=re.compile(rf"^Step {number} ·")).wait_for()


def metrics(page) -> list[str]:
    """Every metric's value, in order: the numbers a student compares with the teacher's."""
    values = page.get_by_test_id("stMetricValue")
    return [values.nth(i).inner_text() for i in range(values.count())]


def sidebar(page) -> str:
    return page.get_by_test_id("stSidebarUserContent").inner_text()


def query(page) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlparse

    return dict(parse_qsl(urlparse(page.url).query))


def test_every_page_keeps_its_values_across_a_round_trip(browser, server):
    page = fresh(browser, server, "/data")
    type_number(page, "f_window", 24)  # filled in, not applied: a form being filled keeps what was typed
    go(page, "Train")
    type_number(page, "t_epochs", 7)
    go(page, "Prune")
    step(page, "s", "ArrowRight", 20)
    s_moved = value(page, "s")
    assert float(s_moved) == 1.2
    page.get_by_role("tab", name="Heatmaps").click()
    wait_for_app(page)
    go(page, "Trade-offs")
    go(page, "Lesson")
    lesson_step(page, 4)
    go(page, "Data")
    assert value(page, "f_window") == "24"
    go(page, "Train")
    assert value(page, "t_epochs") == "7"
    go(page, "Prune")
    assert value(page, "s") == s_moved
    assert page.get_by_role("tab", name="Heatmaps").get_attribute("aria-selected") == "true"
    go(page, "Lesson")
    page.get_by_role("heading", name=re.compile(r"^Step 4 ·")).wait_for()
    page.context.close()


def test_a_link_copied_on_each_prune_tab_reopens_it_with_the_same_numbers(browser, server):
    teacher = fresh(browser, server, "/prune")
    press(teacher, "s", "ArrowRight", 35)
    s_moved = value(teacher, "s")
    for tab in ("Histograms", "Heatmaps", "Forecast", "Thresholds", "Cost", "Sensitivity"):
        teacher.get_by_role("tab", name=tab).click()
        wait_for_app(teacher)
        link, shown = teacher.url, metrics(teacher)
        assert query(teacher).get("s") == s_moved and query(teacher).get("tab", "Histograms") == tab
        t0 = time.perf_counter()
        student = fresh(browser, link)
        TIMES[f"link on the {tab} tab: model and numbers on screen (s)"] = round(time.perf_counter() - t0, 2)
        assert student.url.split("?")[0].endswith("/prune")
        assert student.get_by_role("tab", name=tab).get_attribute("aria-selected") == "true"
        assert value(student, "s") == s_moved
        from playwright.sync_api import expect

        expect(student.get_by_test_id("stMetricValue")).to_have_count(len(shown), timeout=90_000)
        assert metrics(student) == shown, tab  # the same numbers, to the digit
        student.context.close()
    teacher.context.close()


def test_a_link_copied_at_each_lesson_step_reopens_that_step(browser, server):
    teacher = fresh(browser, server, "/lesson")
    for step in lesson.STEPS:
        lesson_step(teacher, step.number)
        heading = f"Step {step.number} · {step.title}"
        teacher.get_by_role("heading", name=heading).wait_for()
        assert query(teacher)["step"] == str(step.number)
        student = fresh(browser, teacher.url)
        student.get_by_role("heading", name=heading).wait_for()
        assert "Current model" in sidebar(student) and "the shipped model" in sidebar(student)
        student.context.close()
    teacher.context.close()


def test_reset_gives_what_a_fresh_session_has(browser, server):
    page = fresh(browser, server, "/prune")
    press(page, "s", "ArrowRight", 50)
    go(page, "Lesson")
    lesson_step(page, 5)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Reset to defaults").click()
    wait_for_app(page)
    go(page, "Prune")
    mine = (query(page), value(page, "s"), metrics(page), sidebar(page))
    other = fresh(browser, server, "/prune")
    from playwright.sync_api import expect

    expect(other.get_by_test_id("stMetricValue")).to_have_count(len(mine[2]), timeout=90_000)  # its model in place
    theirs = (query(other), value(other, "s"), metrics(other), sidebar(other))
    assert mine == theirs
    page.context.close()
    other.context.close()


def test_the_class_demo_opens_prune_at_once(browser, server):
    page = fresh(browser, server, "/")
    t0 = time.perf_counter()
    page.locator(".st-key-demo button").click()
    page.get_by_role("heading", name="Prune").first.wait_for()
    page.get_by_test_id("stMetricValue").first.wait_for()  # the pruned model's test errors
    TIMES["class demo: click to a trained model on the Prune page (s)"] = round(time.perf_counter() - t0, 2)
    page.context.close()


def test_two_sessions_share_a_trained_model_and_an_upload_only_through_its_link(browser, server, tmp_path):
    alice, bob = fresh(browser, server, "/train"), fresh(browser, server, "/train")
    for page in (alice, bob):
        page.locator(".st-key-m_hidden").get_by_role("slider").focus()
        page.locator(".st-key-m_hidden").get_by_role("slider").press("Home")  # hidden 8: a model trained for this test
        wait_for_app(page)
        type_number(page, "t_epochs", 2)
    alice.locator(".st-key-train button").click()
    wait_for_app(alice, timeout=180_000)
    assert "from the server's model cache" not in sidebar(alice) and "hidden 8" in sidebar(alice)
    t0 = time.perf_counter()
    bob.locator(".st-key-train button").click()
    wait_for_app(bob, timeout=180_000)
    TIMES["second session asking for the same model: click to model (s)"] = round(time.perf_counter() - t0, 2)
    assert "from the server's model cache" in sidebar(bob) and "hidden 8" in sidebar(bob)
    assert metrics(alice) == metrics(bob)  # the same model, the same test errors

    secret = tmp_path / "alice_private_readings.csv"
    stamps = pd.date_range("2024-01-01", periods=600, freq="h").strftime("%Y-%m-%d %H:%M")
    secret.write_text("stamp,alice_secret_column\n" + "".join(f"{s},{100 + (h * 7) % 13}\n"
                                                               for h, s in enumerate(stamps)))
    go(alice, "Data")
    alice.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(secret))
    wait_for_app(alice, timeout=120_000)
    alice.get_by_role("heading", name=re.compile("alice_private_readings.csv")).wait_for()
    alice_link = alice.url
    for path in ("/data", "/train", "/prune", "/compare"):
        go(bob, {"/data": "Data", "/train": "Train", "/prune": "Prune", "/compare": "Compare"}[path])
        text = bob.locator("body").inner_text()
        assert "alice_private" not in text and "alice_secret_column" not in text, path
    carol = fresh(browser, alice_link)  # Alice sent Carol her link: it carries the file's digest
    carol.get_by_role("heading", name=re.compile("alice_private_readings.csv")).wait_for()
    assert "alice_secret_column" in sidebar(carol)
    digest = re.search(r"data=([0-9a-f]{32})", alice_link).group(1)
    dave = fresh(browser, alice_link.replace(digest, "0" * 32))  # an edited digest opens nothing
    text = dave.locator("body").inner_text()
    assert "alice_secret_column" not in text and "alice_private" not in text
    assert "no longer keeps it" in text
    for page in (alice, bob, carol, dave):
        page.context.close()
