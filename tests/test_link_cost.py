"""Opening any link costs the server a bounded amount of CPU and memory, however large a model it names.

The most expensive link the widgets allow (window 2000, hidden 256 x 3, batch 256, 500 epochs) grew a server past
17.8 GB in 4 minutes before its page showed. A hundred of them at once, from light clients (benchmarks/link_cost.py,
the same code): each costs well under a second of server CPU and a few MB of memory (0.4 s and 3.5 MB measured);
the bounds below are several times those, and hundreds of times below the old cost of one.
"""
from __future__ import annotations

import asyncio
import pathlib
import sys
import urllib.parse
import urllib.request

from browser_support import SERVERS, streamlit_server

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))
from link_cost import WORST, open_links  # noqa: E402

CPU_PER_LINK_S = 2.0
MEMORY_PER_LINK_MB = 12.0


def test_a_hundred_of_the_worst_links_at_once_cost_a_bounded_amount():
    with streamlit_server("worst_links", env={"SCGRU_PREFETCH": "0"}) as url:
        port = int(url.rsplit(":", 1)[1])
        figures = asyncio.run(open_links(port, SERVERS[url].pid, links=100, at_once=20))
        assert urllib.request.urlopen(url + "/_stcore/health", timeout=10).read() == b"ok"
    assert figures["errors"] == 0
    assert figures["cpu_per_link_s"] < CPU_PER_LINK_S, figures
    assert figures["rss_after_mb"] - figures["rss_before_mb"] < 100 * MEMORY_PER_LINK_MB, figures


def test_the_worst_link_says_what_it_would_need_and_what_to_lower():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(pathlib.Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    for key, value in WORST.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    (note,) = [w.value for w in at.warning if "cannot be trained here" in w.value]
    assert "about 20.4 GB" in note and "batch 12 or less" in note and "window 97 or less" in note
    now = at.session_state["session"]
    assert now.model_info is None and now.link_offer is None and now.training is None  # nothing trained, offered
    assert now.windows.window == 2000  # the link's other settings are in place
    at.switch_page("app_pages/train.py").run()
    assert at.button(key="train").disabled and "about 20.4 GB" in at.error[0].value
