"""An upload survives a reload and travels in a link (the server keeps it; the address carries its digest), and a
link whose file the server no longer keeps, then the same file uploaded, gets the link's settings on that file."""
from __future__ import annotations

import threading

from streamlit.testing.v1 import AppTest

from apptest_helpers import APP, TIMEOUT, csv_bytes, new_app, page, restore_torch_threads, train_small, upload, wave

__all__ = ["restore_torch_threads"]
FILE = csv_bytes(wave(600, seed=3))


def reload(at: AppTest) -> AppTest:
    """What F5 does: a new session on the same address."""
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in at.query_params.items():
        fresh.query_params[key] = value
    fresh.run()
    assert not fresh.exception, [e.message for e in fresh.exception]
    return fresh


def uploaded_and_trained() -> AppTest:
    at = page(new_app(), "data")
    upload(at, "my_readings.csv", FILE)
    return train_small(at)


def test_a_reload_after_an_upload_keeps_the_data_and_the_model():
    at = uploaded_and_trained()
    before = at.session_state["session"]
    assert at.query_params["data"] == before.source["digest"] and at.query_params["sample"] == "upload"
    again = reload(at)
    now = again.session_state["session"]
    assert now.source["label"] == "my_readings.csv" and len(now.series) == 600
    assert now.model_info.made == "shared" and now.model_info.model_config.hidden == 8  # the model cache's
    assert now.lab.dense.metrics == before.lab.dense.metrics
    assert not [w for w in again.warning if "uploaded file" in w.value]


def test_a_link_whose_file_is_gone_then_the_same_file_uploaded_gets_the_links_settings_never_the_samples():
    from lab_ui import server

    at = uploaded_and_trained()
    digest = at.session_state["session"].source["digest"]
    for path in server.uploads().folder.glob(f"{digest}.*"):
        path.unlink()  # evicted since (or another server)
    visitor = reload(at)
    note = next(w.value for w in visitor.warning if "uploaded file" in w.value)
    assert "no longer keeps it" in note and "Upload the same file on the Data page" in note
    now = visitor.session_state["session"]
    assert now.source["key"] == "power_load" and now.model_info.made == "shipped"  # the defaults, not the link's
    assert not [b for b in visitor.button if b.key == "link_train"]  # no offer to train the link's model on the sample
    page(visitor, "data")
    upload(visitor, "my_readings.csv", FILE)
    assert any("the link was made with" in s.value for s in visitor.success)
    now = visitor.session_state["session"]
    assert now.source["label"] == "my_readings.csv" and now.source["digest"] == digest
    assert now.model_info.model_config.hidden == 8 and now.model_info.made == "shared"


def test_a_reload_during_an_uploads_training_shows_that_training_with_stop():
    import scgru_core as sc
    from lab_ui import server

    at = page(new_app(), "data")
    upload(at, "my_readings.csv", FILE)
    page(at, "train")
    now = at.session_state["session"]
    chosen = __import__("lab_ui.widgets", fromlist=["state"]).state()
    mc, tc = chosen.model_config(), chosen.train_config()
    gate = threading.Event()
    ticket = sc.Ticket(key=server.model_cache().key(now.data, mc, tc), label="a long training", epochs=tc.epochs,
                       estimate_s=60)
    ticket = server.trainers().submit(ticket, lambda t: gate.wait(60) and None)  # under way until the gate opens
    try:
        link = {**dict(at.query_params.items()), "training": ticket.id}
        visitor = AppTest.from_file(APP, default_timeout=TIMEOUT)
        for key, value in link.items():
            visitor.query_params[key] = value
        visitor.run()
        assert not visitor.exception
        assert visitor.session_state["session"].training["ticket"] is ticket
        assert visitor.session_state["session"].source["label"] == "my_readings.csv"
        assert visitor.button(key="watch_stop")  # the training, with Stop
    finally:
        ticket.stop.set()
        gate.set()
        ticket.finished.wait(10)


def test_a_hand_edited_upload_link_keeps_what_it_can_and_says_what_it_ignored():
    at = page(new_app(), "data")
    upload(at, "my_readings.csv", FILE)
    at.query_params["missing"] = "drop table"
    at.query_params["column"] = "no such column"
    visitor = reload(at)
    notes = " ".join(w.value for w in visitor.warning)
    assert "missing='drop table'" in notes  # said, and the default used
    assert "could not be read with the link's settings" in notes and "no such column" in notes
    assert visitor.session_state["session"].source["key"] == "power_load"  # the defaults, nothing broken
