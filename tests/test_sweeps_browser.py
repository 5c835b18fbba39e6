"""Sweeps and analyses that run beside the Streamlit server, in a real headless Chromium.

A process pool started from the server (many threads) must not fork it: a forked worker hung for good there while
the same code passed under AppTest. This runs a comparison on the pool from the Compare page to the end, then opens
the Prune page's Sensitivity tab and applies its suggestion.

Needs Debian's chromium at /usr/bin/chromium (`make chromium`); skipped without it locally, fails under CI.
"""
from __future__ import annotations

from browser_support import ARTIFACTS, chromium, require_browser, streamlit_server, wait_for_app, wait_for_charts


def sidebar_link(page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    wait_for_app(page, timeout=180_000)


def test_a_comparison_on_the_process_pool_and_the_sensitivity_tab_from_the_running_app():
    require_browser()
    with streamlit_server("sweeps") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url + "/lesson")
        wait_for_app(page)  # the lesson installs the shipped model
        sidebar_link(page, "Compare")
        page.get_by_test_id("stSelectbox").filter(has_text="Run on").click()
        page.get_by_role("option", name="a process pool (the free cores)").click()
        wait_for_app(page)
        page.get_by_test_id("stButton").filter(has_text="Run").first.click()
        page.wait_for_timeout(500)
        wait_for_app(page, timeout=300_000)
        wait_for_charts(page)
        assert page.get_by_text("9 row(s) done, 0 to run").is_visible()  # 3 methods x 3 sparsities (CompareConfig)
        page.screenshot(path=str(ARTIFACTS / "compare_pool_1600.png"))

        sidebar_link(page, "Prune")
        page.get_by_role("tab", name="Sensitivity").click()
        wait_for_app(page, timeout=180_000)
        wait_for_charts(page)
        assert page.get_by_text("Uniform SCGRU at").is_visible()
        page.get_by_role("button", name="Prune with these sparsities").click()
        wait_for_app(page)
        assert "method=per_matrix" in page.url  # the link carries the rule
        page.screenshot(path=str(ARTIFACTS / "sensitivity_1600.png"))
