"""Suite-wide settings."""
import pytest
import torch
from hypothesis import settings

# Property tests draw the same examples on every run (a seed derived from each test), so a run never fails at random:
# a search that found a new counterexample only on some runs refused good work by chance (a subnormal matrix, once).
# HYPOTHESIS_PROFILE=explore searches afresh, to look for new counterexamples on purpose.
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """One torch thread: the suite's tiny models run fastest on one, and many times faster than on two
    when the machine's cores are shared (two threads each for several processes oversubscribe them).
    Browser tests start their own app server, which sets its threads itself."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True, scope="session")
def no_background_prefetch():
    """The app's background fill of the shipped model's slider (lab_ui.prefetch) is off for the suite's AppTest
    sessions and servers, which would otherwise each spend seconds of CPU on it; tests/test_prefetch.py turns it on."""
    import os

    before = os.environ.get("SCGRU_PREFETCH")
    os.environ["SCGRU_PREFETCH"] = "0"
    yield
    if before is None:
        os.environ.pop("SCGRU_PREFETCH", None)
    else:
        os.environ["SCGRU_PREFETCH"] = before


@pytest.fixture(autouse=True)
def fresh_model_cache():
    """Each test starts with an empty server-wide model cache (AppTest sessions of one process share it, as a
    server's sessions do), so one test's training cannot stand in for another's."""
    import sys

    server = sys.modules.get("lab_ui.server")
    if server is not None:
        server.model_cache.clear()
    yield


@pytest.fixture(autouse=True, scope="session")
def uploads_kept_apart(tmp_path_factory):
    """The suite's uploads (AppTest sessions and the servers it starts) are kept in a folder of its own, not in the
    machine's shared one."""
    import os

    before = os.environ.get("SCGRU_UPLOAD_DIR")
    os.environ["SCGRU_UPLOAD_DIR"] = str(tmp_path_factory.mktemp("uploads"))
    yield
    if before is None:
        os.environ.pop("SCGRU_UPLOAD_DIR", None)
    else:
        os.environ["SCGRU_UPLOAD_DIR"] = before


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium for one test module's real-browser journeys (skipped, or failed under CI, without it)."""
    from browser_support import chromium, require_browser

    require_browser()
    with chromium() as b:
        yield b
