"""A script that imports the app exits cleanly while its background threads work.

A daemon thread inside torch when the interpreter finalises aborts the process ("terminate called without an
active exception", exit 134): a script running the app under AppTest with the slider's fill on could end that way.
Every background thread is started through scgru_core.serve.background, which stops and joins them at exit."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = f"""
import time
from streamlit.testing.v1 import AppTest
from lab_ui import prefetch
at = AppTest.from_file({str(ROOT / 'app.py')!r}, default_timeout=120).run()
assert not at.exception, [e.message for e in at.exception]
deadline = time.monotonic() + 60
while not prefetch.fills().active() and time.monotonic() < deadline:
    time.sleep(0.05)
assert prefetch.fills().active(), "the fill never started"
time.sleep(0.3)  # inside torch, computing a setting
print("exiting with the fill under way")
"""


def test_a_script_running_the_app_with_the_fill_on_exits_zero():
    env = {**os.environ, "SCGRU_PREFETCH": "1", "PYTHONPATH": str(ROOT)}
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "exiting with the fill under way" in done.stdout and "terminate called" not in done.stderr
