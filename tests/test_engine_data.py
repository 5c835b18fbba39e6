"""Reading user files into a validated series: every refusal is a DataError that says what to fix,
and the awkward-but-valid files (BOM, UTF-16, decimal comma, XLSX, Parquet, unsorted times) load correctly."""
from __future__ import annotations

import io
import pathlib
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _engine_support import csv_bytes, frame_bytes, sine_series, sine_values
from scgru_core import (ColumnNotFoundError, ConstantSeriesError, DataError, DecodeError, EmptyDataError,
                        FileTooLargeError, NoNumericColumnError, NonFiniteValuesError, ReadConfig, ScgruError,
                        SeriesTooShortError, UnsupportedFileTypeError, WindowConfig, load_series, prepare)
from scgru_core.data.tables import read_table
from scgru_core.errors import ConfigError
from scgru_core.data.windows import MIN_EVAL_WINDOWS, few_windows, minimum_length, part_windows


def load(raw: bytes, filename: str = "data.csv", **cfg):
    return load_series(raw, ReadConfig(**cfg), filename=filename)


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("raw", [b"", b"   \n\n  ", "\ufeff".encode("utf-8")])
def test_empty_file_is_refused(raw):
    with pytest.raises(EmptyDataError, match="empty"):
        load(raw)


def test_header_only_is_refused():
    with pytest.raises(EmptyDataError, match="no data rows"):
        load(b"time,value\n")


def test_no_numeric_column_is_refused_and_names_the_columns():
    with pytest.raises(NoNumericColumnError, match="city, weather"):
        load(b"city,weather\nParis,rain\nOslo,snow\nRome,sun\n")


def test_chosen_column_without_numbers_is_refused():
    with pytest.raises(NoNumericColumnError, match="Pick one of: value"):
        load(b"label,value\na,1\nb,2\nc,3\n", column="label")


def test_missing_column_is_refused_and_lists_the_columns():
    with pytest.raises(ColumnNotFoundError, match="'load'.*time, value"):
        load(csv_bytes([1.0, 2.0, 3.0]), column="load")
    with pytest.raises(ColumnNotFoundError, match="no time column 'when'"):
        load(csv_bytes([1.0, 2.0, 3.0]), time_column="when")


def test_series_too_short_names_a_window_that_leaves_enough_windows_to_measure():
    """The suggestion is the largest window that leaves MIN_EVAL_WINDOWS validation and test windows, never one that
    is accepted with one window in each (whose errors are noise), and the warning is silent there."""
    series = sine_series(200)
    with pytest.raises(SeriesTooShortError) as info:
        prepare(series, WindowConfig(window=90))
    assert "200 values" in str(info.value)
    workable = int(re.search(r"lower the window to (\d+)", str(info.value)).group(1))
    data = prepare(series, WindowConfig(window=workable))  # the suggestion works ...
    assert min(len(data.val), len(data.test)) >= MIN_EVAL_WINDOWS
    assert few_windows(len(series), WindowConfig(window=workable)) is None
    assert min(part_windows(200, WindowConfig(window=workable + 1)).values()) < MIN_EVAL_WINDOWS  # ... the largest


def test_few_validation_or_test_windows_are_accepted_with_the_counts_and_the_fix():
    config = WindowConfig(window=48)
    n = minimum_length(config)  # one validation and one test window
    assert len(prepare(sine_series(n), config).test) == 1
    warning = few_windows(n, config)
    assert warning.startswith("Only 1 validation and 1 test window(s)") and "fewer than 10 windows" in warning
    shorter = int(re.search(r"lower the window to (\d+)", warning).group(1))
    assert min(part_windows(n, WindowConfig(window=shorter)).values()) >= MIN_EVAL_WINDOWS


def test_series_too_short_for_any_window_says_so():
    shortest = minimum_length(WindowConfig(window=1))
    assert len(prepare(sine_series(shortest), WindowConfig(window=1)).test) >= 1
    with pytest.raises(SeriesTooShortError, match="use a longer series"):
        prepare(sine_series(shortest - 1), WindowConfig(window=48))


def test_nonfinite_values_refused_under_refuse_policy():
    raw = b"value\n1\n2\nnan\n4\ninf\n6\nabc\n8\n"
    with pytest.raises(NonFiniteValuesError) as info:
        load(raw, missing="refuse")
    msg = str(info.value)
    assert "1 empty, 1 non-numeric and 1 infinite" in msg and "interpolate" in msg


def test_interpolate_policy_fills_inside_and_reports_counts():
    raw = b"value\n1\n2\nnan\n4\ninf\n6\nabc\n8\n"
    series = load(raw, missing="interpolate")
    np.testing.assert_allclose(series.values, [1, 2, 3, 4, 5, 6, 7, 8])
    r = series.report
    assert (r.missing, r.non_finite, r.non_numeric, r.interpolated, r.dropped) == (1, 1, 1, 3, 0)
    assert any("3 interpolated" in line for line in r.lines())


def test_interpolate_policy_drops_what_it_cannot_interpolate_at_the_ends():
    series = load(b"value\nnan\n2\n3\nnan\n5\ninf\n", missing="interpolate")
    np.testing.assert_allclose(series.values, [2, 3, 4, 5])
    assert (series.report.interpolated, series.report.dropped) == (1, 2)


def test_drop_policy_removes_rows_and_keeps_time_stamps_aligned():
    raw = b"time,value\n2021-01-01,1\n2021-01-02,\n2021-01-03,3\n2021-01-04,-inf\n2021-01-05,5\n"
    series = load(raw, missing="drop")
    np.testing.assert_allclose(series.values, [1, 3, 5])
    assert [t.day for t in series.times] == [1, 3, 5]
    assert (series.report.dropped, series.report.interpolated) == (2, 0)


def test_all_values_missing_is_refused():
    with pytest.raises(NonFiniteValuesError, match="no finite numbers"):
        load(b"value,other\nx,1\ninf,2\n,3\n", column="value")


def test_constant_series_is_refused():
    with pytest.raises(ConstantSeriesError, match="constant"):
        load(csv_bytes([3.5] * 50))


def test_file_over_the_size_cap_is_refused_as_bytes_and_as_path(tmp_path):
    raw = csv_bytes(sine_values(200))
    with pytest.raises(FileTooLargeError, match="limit"):
        load(raw, max_bytes=len(raw) - 1)
    path = tmp_path / "big.csv"
    path.write_bytes(raw)
    with pytest.raises(FileTooLargeError):
        load_series(path, ReadConfig(max_bytes=len(raw) - 1))
    assert len(load_series(path, ReadConfig(max_bytes=len(raw)))) == 200


def test_file_over_the_row_cap_is_refused():
    with pytest.raises(FileTooLargeError, match="101 rows, over the 100-row limit"):
        load(csv_bytes(sine_values(101)), max_rows=100)
    assert len(load(csv_bytes(sine_values(100)), max_rows=100)) == 100


def test_latin1_text_with_accents_is_refused_with_encoding_advice():
    raw = "Température;Zürich\n1,5;2\n2,5;3\n".encode("latin-1")
    with pytest.raises(DecodeError, match="UTF-8"):
        load(raw)


@pytest.mark.parametrize("raw", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)),
    b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(255, -1, -1)),
    np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
])
def test_binary_bytes_are_refused_as_undecodable(raw):
    with pytest.raises(DecodeError):
        load(raw)


@pytest.mark.parametrize("name", ["series.json", "report.docx", "image.png", "notes.xls"])
def test_unsupported_suffix_is_refused_and_lists_the_supported_ones(name):
    with pytest.raises(UnsupportedFileTypeError, match=r"CSV, XLSX or Parquet"):
        load(csv_bytes([1.0, 2.0, 3.0]), filename=name)


@pytest.mark.parametrize("name", ["broken.xlsx", "broken.parquet"])
def test_broken_excel_and_parquet_are_refused(name):
    with pytest.raises(DecodeError):
        load(csv_bytes([1.0, 2.0, 3.0]), filename=name)


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(EmptyDataError, match="No file"):
        load_series(tmp_path / "nothing.csv")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=600), suffix=st.sampled_from([".csv", ".txt", ".tsv", ".xlsx", ".parquet"]))
def test_arbitrary_bytes_give_a_series_or_a_data_error_never_a_crash(raw, suffix):
    try:
        series = load(raw, filename="upload" + suffix)
    except DataError as exc:
        assert str(exc).strip()
    else:
        assert len(series) >= 1 and np.isfinite(series.values).all()


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("0123456789.,;-\n\t ae:")), max_size=300))
def test_arbitrary_csv_like_text_gives_a_series_or_a_data_error(text):
    try:
        series = load(("value\n" + text).encode())
    except ScgruError as exc:
        assert isinstance(exc, DataError)
    else:
        assert np.isfinite(series.values).all() and np.ptp(series.values) > 0


# ---------------------------------------------------------------- files that must load

def test_utf8_bom_csv_loads_with_clean_column_names():
    series = load(csv_bytes([1.0, 2.5, 4.0], encoding="utf-8-sig"))
    assert series.report.time_column == "time" and series.name == "value"
    np.testing.assert_allclose(series.values, [1.0, 2.5, 4.0])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_csv_loads(encoding):
    series = load(csv_bytes([1.0, 2.5, 4.0], encoding=encoding))
    assert series.name == "value" and series.report.time_column == "time"
    np.testing.assert_allclose(series.values, [1.0, 2.5, 4.0])


def test_semicolon_and_decimal_comma_csv_loads_correctly():
    raw = "Zeit;Last;Temperatur\n01.03.2021 00:00;1234,5;-3,25\n01.03.2021 01:00;1200,25;-2,5\n" \
          "01.03.2021 02:00;1180;-2\n".encode()
    series = load(raw)
    assert series.name == "Last" and series.report.time_column == "Zeit"
    np.testing.assert_allclose(series.values, [1234.5, 1200.25, 1180.0])
    other = load(raw, column="Temperatur")
    np.testing.assert_allclose(other.values, [-3.25, -2.5, -2.0])


def test_tab_separated_file_loads():
    series = load(b"t\tv\n2021-01-01\t1.5\n2021-01-02\t2.5\n2021-01-03\t3.5\n", filename="x.tsv")
    np.testing.assert_allclose(series.values, [1.5, 2.5, 3.5])


@pytest.mark.parametrize("kind", ["xlsx", "parquet"])
def test_excel_and_parquet_round_trip(kind):
    values = np.round(sine_values(40), 6)
    times = pd.date_range("2022-03-01", periods=40, freq="30min")
    frame = pd.DataFrame({"stamp": times, "load": values, "note": ["x"] * 40})
    series = load(frame_bytes(frame, kind), filename=f"upload.{kind}")
    assert series.name == "load" and series.report.time_column == "stamp"
    np.testing.assert_allclose(series.values, values, rtol=0, atol=1e-12)
    assert (series.times == pd.DatetimeIndex(times)).all()


def test_path_and_bytes_give_the_same_series(tmp_path):
    raw = csv_bytes(sine_values(50))
    path = tmp_path / "series.csv"
    path.write_bytes(raw)
    np.testing.assert_array_equal(load_series(path).values, load(raw).values)


def test_unsorted_and_duplicate_time_stamps_are_sorted_and_reported():
    raw = b"time,value\n2021-01-03,3\n2021-01-01,1\n2021-01-02,2\n2021-01-02,9\n2021-01-04,4\n"
    series = load(raw)
    np.testing.assert_allclose(series.values, [1, 2, 3, 4])  # sorted by time; the first of the duplicates kept
    assert series.report.was_unsorted and series.report.duplicate_times == 1
    text = "\n".join(series.report.lines())
    assert "not in time order" in text and "1 duplicate time stamps" in text


def test_gaps_in_the_time_axis_are_reported():
    times = list(pd.date_range("2021-01-01", periods=10, freq="h"))
    del times[4:7]  # three missing hours
    frame = pd.DataFrame({"time": times, "value": np.arange(len(times), dtype=float)})
    series = load(frame.to_csv(index=False).encode())
    assert (series.report.gaps, series.report.missing_steps) == (1, 3)
    assert any("1 gaps" in line and "3 missing steps" in line for line in series.report.lines())


def test_first_numeric_column_is_chosen_and_can_be_overridden():
    raw = b"id,load,temp\na,1,10\nb,2,20\nc,4,30\n"
    assert load(raw).name == "load"
    np.testing.assert_allclose(load(raw, column="temp").values, [10, 20, 30])
    assert load(raw).report.numeric_columns == ("load", "temp")


def test_time_column_can_be_switched_off():
    series = load(csv_bytes([1.0, 2.0, 3.0]), time_column=None)
    assert series.times is None and series.report.time_column is None and series.name == "value"


def test_the_same_column_for_values_and_time_is_named_as_such():
    with pytest.raises(ConfigError, match="both the values and the time column"):
        load(csv_bytes([1.0, 2.0, 3.0]), column="value", time_column="value")


def test_report_lines_describe_a_clean_file():
    lines = load(csv_bytes([1.0, 2.0, 3.0])).report.lines()
    assert lines[0].startswith("3 rows read; value column 'value', time column 'time'")
    assert "no missing values" in lines


@pytest.mark.parametrize("raw, says", [
    (b"<!DOCTYPE html>\n<html><body><table><tr><td>1</td></tr></table></body></html>\n", "a web page or XML"),
    (b'<?xml version="1.0"?>\n<rows><row value="1"/></rows>\n', "a web page or XML"),
    (b'[{"time": "2024-01-01", "value": 1.0}, {"time": "2024-01-02", "value": 2.0}]\n', "is JSON, not a CSV"),
    (b'{"values": [1, 2, 3]}\n', "is JSON, not a CSV"),
])
def test_a_page_or_json_saved_as_csv_is_named_for_what_it_is(raw, says):
    with pytest.raises(DecodeError, match=says):
        load_series(raw, filename="data.csv")


def test_rows_with_more_fields_than_the_header_are_refused_not_shifted():
    raw = b"time,value\n" + b"".join(b"2024-01-%02d,%d,extra\n" % (i % 28 + 1, i) for i in range(200))
    with pytest.raises(DecodeError, match="header names 2 columns but the rows have more fields \\(3 in the first"):
        load_series(raw, filename="ragged.csv")


def test_an_empty_value_column_is_named():
    raw = b"time,value\n" + b"".join(b"2024-01-%02d,\n" % (i % 28 + 1) for i in range(200))
    with pytest.raises(NoNumericColumnError, match="'value' has no values at all"):
        load_series(raw, filename="empty_values.csv")


def test_a_workbook_is_read_from_its_first_sheet_with_numbers_and_says_which():
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as w:
        pd.DataFrame({"note": ["read me", "the data is on the next sheet"]}).to_excel(w, sheet_name="About", index=False)
        pd.DataFrame({"load": [float(i % 17) for i in range(300)]}).to_excel(w, sheet_name="Data", index=False)
    series = load_series(buf.getvalue(), filename="two_sheets.xlsx")
    assert series.name == "load" and len(series) == 300
    assert "from sheet 'Data' (the first with numbers, of 2 sheets)" in series.report.lines()[0]


def _workbook(rows: list[list]) -> bytes:
    import openpyxl
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_a_workbook_of_formulas_never_calculated_is_named_for_what_it_is():
    """A script that writes .xlsx (openpyxl, for one) stores formulas without their values: pandas reads empty
    cells, which used to end in 'no column holds numbers' after reading the whole sheet."""
    import datetime
    raw = _workbook([["time", "load"]] + [[datetime.datetime(2024, 1, 1, h % 24), f"=SIN(ROW())*10+{h}"]
                                          for h in range(300)])
    with pytest.raises(DataError, match=r"formulas \(such as =SIN\(ROW\(\)\)\*10\+0\) whose values were never calculated"):
        read_table(raw, filename="made_by_a_script.xlsx")
    beside_row_numbers = _workbook([["t", "twice"]] + [[i + 1, f"=A{i + 2}*2"] for i in range(300)])
    with pytest.raises(DataError, match=r"formulas \(such as =A2\*2\) whose values were never calculated"):
        read_table(beside_row_numbers, filename="mixed.xlsx")  # the row numbers are not the data
    values = _workbook([["n", "load", "twice"]] + [[i, 100 + (i * 7) % 13, f"=B{i + 2}*2"] for i in range(300)])
    assert list(read_table(values, filename="values.xlsx")["load"][:3]) == [100, 107, 101]  # numbers beside: read


def test_a_sheet_too_long_for_excel_is_refused_before_it_is_read(monkeypatch):
    import scgru_core.data.tables as data_module
    monkeypatch.setattr(data_module, "EXCEL_MAX_ROWS", 1_000)
    with pytest.raises(DataError, match="has 1,201 rows; Excel files over 1,000 rows take minutes to read. Save it as CSV"):
        read_table(_workbook([["v"]] + [[i] for i in range(1_200)]), filename="long.xlsx")


@pytest.mark.parametrize("freq, steps, says", [("30min", 48, "1 day of 30-minute steps"),
                                               ("5min", 48, "4 hours of 5-minute steps"),
                                               ("MS", 12, "1 year of monthly steps"), ("h", 36, "1.5 days of 1-hour steps")])
def test_a_window_is_described_in_the_series_own_time_steps(freq, steps, says):
    from scgru_core.data.times import span_text

    assert span_text(pd.date_range("2024-01-01", periods=100, freq=freq), steps) == says
    assert span_text(None, steps) is None


def test_a_workbook_is_read_in_a_process_of_its_own_with_the_same_frame_and_the_same_errors():
    """openpyxl holds the interpreter lock while it reads: in the server's own process, every other session's
    slider move stalled for as long as a large workbook took to read. Apart, the result and the refusals are those
    of read_table, and a small CSV is still read in place."""
    from scgru_core import read_table_apart, reads_apart

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as w:
        pd.DataFrame({"note": ["read me"]}).to_excel(w, sheet_name="About", index=False)
        pd.DataFrame({"load": [float(i % 17) for i in range(300)]}).to_excel(w, sheet_name="Data", index=False)
    raw = buf.getvalue()
    assert reads_apart("two_sheets.xlsx", len(raw)) and not reads_apart("small.csv", 2_000)
    assert reads_apart("large.csv", 9 * 2**20)
    apart, here = read_table_apart(raw, "two_sheets.xlsx"), read_table(raw, filename="two_sheets.xlsx")
    pd.testing.assert_frame_equal(apart, here)
    assert apart.attrs == here.attrs and apart.attrs  # which sheet was used travels back too
    with pytest.raises(DecodeError, match="could not be read"):
        read_table_apart(csv_bytes([1.0, 2.0, 3.0]), "broken.xlsx")
    with pytest.raises(DataError, match="formulas"):
        read_table_apart(_workbook([["load"]] + [[f"=ROW()*{h}"] for h in range(50)]), "made_by_a_script.xlsx")


def test_a_file_just_over_the_cap_reaches_the_engine_which_says_why_in_the_uploaders_units():
    """Streamlit's uploader counts maxUploadSize in decimal megabytes and refuses a larger file with an icon: it lets
    through twice the engine's cap, so a file just over 50 MB (50,000,000 bytes) is refused in words, in the
    uploader's unit and in MiB (what a file manager listing '49 MB' counts)."""
    import tomllib

    from scgru_core.data.reading import ReadConfig
    from scgru_core.data.tables import MB

    config = tomllib.loads((pathlib.Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * MB == 2 * ReadConfig().max_bytes == 100_000_000
    line = b"1\n"
    over = b"v\n" + line * ((51_400_000 - 2) // 2 + 1)
    with pytest.raises(DataError, match=r"The file is 51.4 MB \(49.0 MiB, which some systems list as MB\), over the "
                                        r"50 MB limit \(50,000,000 bytes\)"):
        read_table(over, filename="big.csv")
