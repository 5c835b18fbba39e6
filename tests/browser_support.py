"""What the browser tests share: a real `streamlit run app.py` on a free local port, Debian's chromium
driven by Playwright, and waits that follow Streamlit's own e2e conftest.

Needs Debian's chromium at /usr/bin/chromium (`make chromium`). Without it a browser test is skipped,
or fails with a clear message when the CI environment variable is set (CI must run it).
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
BROWSER_ARGS = ["--disable-background-networking", "--disable-dev-shm-usage"]


def require_browser() -> None:
    reason = None
    if not os.path.exists(CHROMIUM):
        reason = f"Debian chromium is not installed at {CHROMIUM}; run `make chromium` (apt-get install chromium)."
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed; run `make setup`."
    if reason:
        if os.environ.get("CI"):
            pytest.fail("The browser test cannot run: " + reason)
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS: dict = {}  # url -> the server's process, while it runs (its CPU and memory are read from /proc)


@contextlib.contextmanager
def streamlit_server(name: str, env: dict | None = None, app: str = "app.py"):
    """A fresh streamlit server (a cold start); yields its URL once its health check answers."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"{name}_server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    SERVERS[url] = proc
    try:
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"streamlit did not start (exit code {proc.poll()}); see artifacts/{name}_server.log")
            time.sleep(0.2)
        yield url
    finally:
        SERVERS.pop(url, None)
        log.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chromium():
    """Debian's chromium, headless, kept from calling out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_app(page, timeout=90_000):
    """As streamlit's own e2e conftest: connected, and no script running."""
    page.wait_for_timeout(250)
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached",
                                                                                          timeout=timeout)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached",
                                                                                       timeout=timeout)


def wait_for_charts(page, timeout=30_000):
    """Every plotly chart on the page has drawn (and there is at least one)."""
    page.wait_for_function("""() => { const c = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
        return c.length > 0 && c.every(x => x.querySelector('.main-svg')); }""", timeout=timeout)
