"""Data page (AppTest): samples, uploads, refusals that keep the previous data, settings, the split picture."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from apptest_helpers import charts, csv_bytes, new_app, page, restore_torch_threads, texts, train_small, upload, wave

__all__ = ["restore_torch_threads"]


@pytest.fixture
def data_page():
    return page(new_app(), "data")


def subheader(at) -> str:
    return at.subheader[0].value


def test_first_visit_shows_the_power_load_sample_with_its_split(data_page):
    at = data_page
    assert subheader(at).startswith("Power load")
    spec, config = charts(at)["series_plot"]
    assert len(spec["data"][0]["y"]["bdata"] if isinstance(spec["data"][0]["y"], dict) else spec["data"][0]["y"]) > 0
    shaded = [s for s in spec["layout"]["shapes"] if s["type"] == "rect"]
    assert len(shaded) == 3  # train, validation, test
    labels = [a["text"] for a in spec["layout"]["annotations"]]
    assert any(t.startswith("train 70%") for t in labels) and any(t.startswith("test 15%") for t in labels)
    assert config["toImageButtonOptions"]["format"] == "png" and config["displayModeBar"] is True
    assert any("no missing values" in m.value for m in at.markdown)
    assert at.number_input(key="f_window").value == 48


@pytest.mark.parametrize("name, raw, says", [
    ("empty.csv", b"", "empty"),
    ("words.csv", b"city,comment\nParis,sunny\nRome,rain\nOslo,snow\n", "No column holds numbers"),
    ("broken.xlsx", b"PK\x03\x04 not really a workbook", "could not be read"),
    ("flat.csv", b"v\n" + b"5\n" * 300, "constant"),
    ("huge.csv", b"v\n" + b"".join(b"%de300\n" % (1 + i % 7) for i in range(600)), "too large to scale and score"),
    ("long.csv", b"v\n" + b"1\n2\n" * 1_000_001, "2,000,002 rows, over the 2,000,000-row limit"),
])
def test_a_refused_upload_shows_a_short_error_and_keeps_the_data(data_page, name, raw, says):
    at = data_page
    before = at.session_state["session"].data
    upload(at, name, raw)
    errors = texts(at.error)
    assert len(errors) == 1 and name in errors[0] and says in errors[0]
    assert "Traceback" not in errors[0] and "previous data is kept" in errors[0]
    assert at.session_state["session"].data is before
    assert subheader(at).startswith("Power load")
    if name == "long.csv":  # no setting can make it fit, so no settings form offers to Apply it
        assert at.session_state["session"].pending is None


def test_a_good_csv_upload_replaces_the_series_and_reports_missing_values(data_page):
    at = data_page
    values = list(wave(600))
    values[100] = values[101] = ""  # two empty cells, interpolated
    upload(at, "site_load.csv", csv_bytes(values, header="kw"))
    assert "site_load.csv" in subheader(at) and "kw" in subheader(at)
    assert any("600 values" in s for s in texts(at.success))
    assert any("2 empty" in m.value and "2 interpolated" in m.value for m in at.markdown)
    assert len(at.session_state["session"].data.series) == 600
    assert at.selectbox(key="f_column").value == "kw"
    assert at.selectbox(key="f_time").value == "time"


@pytest.mark.parametrize("suffix", ["xlsx", "parquet"])
def test_excel_and_parquet_uploads_are_read(data_page, suffix):
    at = data_page
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=400, freq="h"), "level": wave(400)})
    buf = io.BytesIO()
    frame.to_excel(buf, index=False) if suffix == "xlsx" else frame.to_parquet(buf)
    upload(at, f"levels.{suffix}", buf.getvalue(), "application/octet-stream")
    assert not at.error, texts(at.error)
    assert f"levels.{suffix}" in subheader(at)
    assert at.session_state["session"].data.series.times is not None


def test_loading_another_sample_uses_its_window(data_page):
    at = data_page
    at.selectbox(key="sample_pick").set_value("airline")
    at.button(key="load_sample").click().run()
    assert subheader(at).startswith("Airline passengers")
    assert len(at.session_state["session"].series) == 144
    assert at.number_input(key="f_window").value == 12
    assert at.session_state["session"].data.window == 12


def test_settings_that_do_not_fit_are_refused_and_the_data_stays(data_page):
    at = data_page
    at.selectbox(key="sample_pick").set_value("airline")
    at.button(key="load_sample").click().run()
    before = at.session_state["session"].data
    at.number_input(key="f_window").set_value(500).run()  # as a browser reruns on the change, enabling Apply
    at.button(key="apply").click().run()
    assert any("lower the window" in e for e in texts(at.error))
    assert at.session_state["session"].data is before
    at.number_input(key="f_window").set_value(12)
    at.number_input(key="f_horizon").set_value(60).run()
    at.button(key="apply").click().run()
    assert any("horizon 60" in e for e in texts(at.error))
    assert at.session_state["session"].data is before
    assert subheader(at).startswith("Airline passengers")


def test_settings_apply_log_transform_horizon_and_split(data_page):
    at = data_page
    at.checkbox(key="f_log").check()
    at.number_input(key="f_horizon").set_value(4)
    at.slider(key="f_test").set_value(20).run()
    at.button(key="apply").click().run()
    assert not at.error, texts(at.error)
    data = at.session_state["session"].data
    assert data.config.log and data.horizon == 4 and data.config.test_fraction == pytest.approx(0.20)
    labels = [a["text"] for a in charts(at)["series_plot"][0]["layout"]["annotations"]]
    assert any(t.startswith("test 20%") for t in labels)


def test_a_short_upload_waits_for_a_smaller_window(data_page):
    at = data_page
    upload(at, "short.csv", csv_bytes(wave(80)))
    assert any("lower the window" in e for e in texts(at.error))
    assert subheader(at).startswith("Power load")  # still the previous data
    assert "short.csv" in at.markdown[-1].value or any("short.csv" in m.value for m in at.markdown)
    at.number_input(key="f_window").set_value(8)
    at.button(key="apply").click().run()
    assert not at.error, texts(at.error)
    assert "short.csv" in subheader(at)
    assert at.session_state["session"].data.window == 8


def test_new_data_discards_the_model_trained_on_the_old(data_page):
    at = train_small(data_page)
    page(at, "data")
    upload(at, "other.csv", csv_bytes(wave(500)))
    assert at.session_state["session"].lab is None
    assert any("discarded" in i for i in texts(at.info))


def test_the_uploader_comes_back_empty_after_each_file_it_read():
    """The uploader is a way in, not the record of the data in force: a refused file left in it looked loaded, and
    choosing the next file there took Streamlit's replace path, which now and then dropped the new file in the
    browser. After every read, refused or loaded, a fresh uploader holds nothing; the heading names the data."""
    at = page(new_app(), "data")
    upload(at, "empty.csv", b"")
    assert any("empty.csv" in e for e in texts(at.error)) and subheader(at).startswith("Power load")
    (uploader,) = at.get("file_uploader")
    assert uploader.key == "upload_1" and not uploader.value
    upload(at, "mine.csv", csv_bytes(wave(500)))
    assert subheader(at).startswith("mine.csv")
    (uploader,) = at.get("file_uploader")
    assert uploader.key == "upload_2" and not uploader.value


def test_a_day_first_upload_is_read_day_first_and_the_page_says_how(data_page):
    at = data_page
    times = pd.date_range("2024-01-01", periods=3000, freq="30min")
    raw = ("Zeit;Wert\n" + "\n".join(f"{t:%d.%m.%Y %H:%M};{200 + (i % 48) / 2:.1f}".replace(".", ",")
                                     .replace(",", ".", 2) for i, t in enumerate(times))).encode()
    upload(at, "zaehler.csv", raw)
    series = at.session_state["session"].series
    assert series.times[743] == times[743] and not series.report.was_unsorted
    assert any("Loaded `zaehler.csv`: 3,000 values of `Wert`" in s for s in texts(at.success))
    assert any(w.startswith("Dates read day first") and "13 can only be a day" in w for w in texts(at.warning))
    assert at.selectbox(key="f_dates").value == "auto"


def test_dates_that_read_either_way_are_asked_and_the_choice_applies(data_page):
    at = data_page
    before = at.session_state["session"].data
    months = pd.date_range("2020-01-01", periods=60, freq="MS")
    raw = ("date,sales\n" + "\n".join(f"{t:%d/%m/%Y},{100 + (i * 7) % 11}" for i, t in enumerate(months))).encode()
    upload(at, "sales.csv", raw)
    (error,) = texts(at.error)
    assert "cannot be used yet" in error and "day first or month first" in error and "Choose the date order" in error
    assert at.session_state["session"].data is before
    at.selectbox(key="f_dates").set_value("day")
    at.number_input(key="f_window").set_value(6).run()
    at.button(key="apply").click().run()
    series = at.session_state["session"].series
    assert not at.error and series.times[1] == pd.Timestamp("2020-02-01") and len(series) == 60


def test_a_time_column_that_mostly_fails_is_named_as_the_cause(data_page):
    at = data_page
    stamps = pd.date_range("2024-01-01", periods=300, freq="h")
    rows = ["time,value"] + [f"{stamps[h]:%Y-%m-%d %H:%M},{100 + h % 7}" if h < 300 else f"later,{100 + h % 7}"
                             for h in range(3000)]
    upload(at, "stamps.csv", "\n".join(rows).encode())
    (error,) = texts(at.error)
    assert "2,700 of 3,000 cells of the time column 'time' (90%) are not time stamps" in error
    assert "window" not in error.split("cannot be used yet:")[1].split("Change the settings")[0]
    at.selectbox(key="f_time").set_value("(no time column)").run()
    at.button(key="apply").click().run()
    assert not at.error and len(at.session_state["session"].series) == 3000


def test_a_fresh_data_page_has_nothing_to_apply(data_page):
    at = data_page
    assert at.button(key="apply").disabled
    assert not any("Not applied yet" in c for c in texts(at.caption))
    at.number_input(key="f_window").set_value(24).run()
    assert not at.button(key="apply").disabled and any("Not applied yet" in c for c in texts(at.caption))


def test_names_from_a_file_are_never_rendered_as_markdown():
    """A column named like a link and an image, in a file named like one: every place that shows them (heading,
    messages, sidebar, Train page) escapes them, so nothing becomes a link, an image, bold or HTML
    (tests/test_uploads_browser.py checks what the browser then renders)."""
    import re

    from apptest_helpers import csv_bytes, page, train_small, upload, wave

    evil = "![x](http://127.0.0.1:9/p.png)<img src=x>[click](http://evil.example) **b**"
    at = page(new_app(), "data")
    upload(at, "[click](https:evil.example)<b>x</b>.csv", csv_bytes(wave(600), header=evil))
    train_small(at)
    shown = [e.value for kind in ("markdown", "caption", "success", "warning", "error", "info", "subheader")
             for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    shown += [n.value for n in at.sidebar if isinstance(getattr(n, "value", None), str)]
    assert any("evil" in text for text in shown)
    for text in shown:
        outside_code = re.sub(r"`[^`]*`", "", text)
        assert not re.search(r"(?<!\\)\]\(|(?<!\\)<(img|b)\b|(?<!\\)\*\*b\b|http://", outside_code), text
