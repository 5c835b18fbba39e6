"""A hostile link in a real headless Chromium: what the app echoes from it is text, never a link or an image.

AppTest sees only the markdown source; the renderer is what turns a bare URL into a link (even with its ':'
and '/' backslash-escaped), so this is checked where it happens. Needs Debian's chromium (`make chromium`).
"""
from __future__ import annotations

import urllib.parse


from browser_support import streamlit_server, wait_for_app


def test_link_values_are_shown_as_text_and_fetch_nothing(browser):
    with streamlit_server("hostile_link") as url:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        query = urllib.parse.urlencode({"s": "[Log in again](https://example.invalid/login)",
                                        "hidden": "![x](http://127.0.0.1:9/p.png)", "method": "x" * 20_000})
        page.goto(f"{url}/prune?{query}")
        wait_for_app(page, timeout=120_000)
        alerts = page.get_by_test_id("stAlert").filter(has_text="Ignored from the link")
        assert alerts.count() == 3
        texts = " ".join(alerts.nth(i).inner_text() for i in range(3))
        assert "[Log in again](https://example.invalid/l" in texts  # shown as the text it is, shortened
        assert "x" * 200 not in texts
        assert page.locator("[data-testid='stAlert'] a, [data-testid='stAlert'] img").count() == 0
        hosts = {urllib.parse.urlparse(r).netloc for r in requests}
        assert not hosts & {"example.invalid", "127.0.0.1:9"}, hosts  # the browser asked neither host for anything
        # the notices above the title sit below Streamlit's header, not partly under it
        header = page.get_by_test_id("stHeader").bounding_box()
        page.get_by_test_id("stMain").evaluate("e => e.scrollTo(0, 0)")
        first = alerts.first.bounding_box()
        assert first["y"] >= header["y"] + header["height"] - 1, (first, header)
        page.goto(f"{url}/prune")  # and a page without notices starts as high as before: no room kept for them
        wait_for_app(page, timeout=120_000)
        title = page.get_by_role("heading", name="Prune").first.bounding_box()
        assert title["y"] < header["y"] + header["height"] + 40, (title, header)
