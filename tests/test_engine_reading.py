"""Data read as it was written: day-first and month-first dates decided from the data or asked, re-sorting and
dropped rows counted in the notes, headerless files, numbers with thousands separators, row-number and formula
columns never taken as the values, extreme spikes noted with where they are."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scgru_core import ReadConfig, load_series
from scgru_core.errors import AmbiguousDatesError, TimeColumnError


def german(n: int = 3000) -> tuple[bytes, np.ndarray]:
    """`Zeit;Wert` with day-first half-hourly stamps ('01.02.2024 00:00') from 1 January 2024 and decimal commas,
    as a German export writes it."""
    times = pd.date_range("2024-01-01", periods=n, freq="30min")
    values = 200 + 50 * np.sin(np.arange(n) / 7.0)
    lines = ["Zeit;Wert"] + [f"{t:%d.%m.%Y %H:%M};{str(round(v, 4)).replace('.', ',')}" for t, v in zip(times, values)]
    return ("\n".join(lines) + "\n").encode(), values


def load(raw: bytes, name: str = "series.csv", **config):
    return load_series(raw, ReadConfig(**config), filename=name)


def test_day_first_dates_are_read_day_first_and_the_rows_keep_their_order():
    raw, values = german()
    series = load(raw)
    assert series.times[743] == pd.Timestamp("2024-01-16 11:30")  # row 744 of the data: not 2 January
    assert series.times.is_monotonic_increasing and not series.report.was_unsorted
    np.testing.assert_allclose(series.values, np.round(values, 4))
    assert series.report.date_order == "day" and series.report.gaps == 0
    (note,) = [n for n in series.report.notes() if n.startswith("Dates read day first")]
    assert "row 578 reads '13.01.2024 00:00', and 13 can only be a day" in note


def test_month_first_dates_with_a_day_above_12_are_read_month_first():
    times = pd.date_range("2024-01-01", periods=400, freq="D")
    raw = ("date,load\n" + "\n".join(f"{t:%m/%d/%Y},{i % 17}" for i, t in enumerate(times))).encode()
    series = load(raw)
    assert series.report.date_order == "month" and list(series.times[:2]) == list(times[:2])
    assert series.times[12] == pd.Timestamp("2024-01-13")


def monthly_with_slashes() -> bytes:
    """The first of each month, dd/mm/yyyy: no field above 12, and both readings step regularly enough."""
    times = pd.date_range("2020-01-01", periods=36, freq="MS")
    return ("date,sales\n" + "\n".join(f"{t:%d/%m/%Y},{100 + (i * 7) % 11}" for i, t in enumerate(times))).encode()


def test_dates_that_read_either_way_are_refused_until_the_order_is_chosen():
    with pytest.raises(AmbiguousDatesError, match=r"'date' can be read day first or month first \('01/02/2020' is 01 February 2020 or 02 January 2020.*"
                                                   r"Choose the date order"):
        load(monthly_with_slashes())
    series = load(monthly_with_slashes(), date_order="day")
    assert series.times[1] == pd.Timestamp("2020-02-01") and series.report.median_step.startswith("31 days")
    assert not any("Dates read" in n for n in series.report.notes())  # chosen, not guessed: nothing to say
    assert load(monthly_with_slashes(), date_order="month").times[1] == pd.Timestamp("2020-01-02")


def test_dots_between_the_fields_read_day_first_when_nothing_else_decides():
    raw = monthly_with_slashes().replace(b"/", b".")
    series = load(raw)
    assert series.times[1] == pd.Timestamp("2020-02-01")
    assert any("separated by '.', which is written day first" in n for n in series.report.notes())


def test_a_file_without_a_header_row_keeps_its_first_row_as_data():
    values = 100 + np.arange(3000) % 17 * 0.5
    raw = ("\n".join(repr(float(v)) for v in values) + "\n").encode()
    series = load(raw)
    assert len(series) == 3000 and series.values[0] == values[0] and series.name == "column 1"
    assert series.report.headerless and any("no header row" in n for n in series.report.notes())
    two = ("\n".join(f"2024-01-01 {h:02d}:00,{v}" for h, v in zip(range(24), values)) + "\n").encode()
    with_time = load(two)
    assert len(with_time) == 24 and with_time.report.time_column == "column 1" and with_time.name == "column 2"


def test_a_time_column_that_mostly_fails_is_refused_naming_the_column_not_the_window():
    raw, _ = german()
    lines = raw.decode().splitlines()
    lines = lines[:289] + [f"unbekannt;{line.split(';')[1]}" for line in lines[289:]]
    with pytest.raises(TimeColumnError, match=r"2,712 of 3,000 cells of the time column 'Zeit' \(90%\) are not time "
                                              r"stamps, such as 'unbekannt' in row 290\. Choose another time column"):
        load("\n".join(lines).encode())
    series = load("\n".join(lines).encode(), time_column=None)  # the way out the message names
    assert len(series) == 3000


def test_a_few_unreadable_stamps_are_dropped_and_counted():
    raw, _ = german()
    lines = raw.decode().splitlines()
    for i in (10, 500, 900):
        lines[i] = "kaputt;" + lines[i].split(";")[1]
    series = load("\n".join(lines).encode())
    assert len(series) == 2997 and series.report.unparsed_times == 3
    assert any(n.startswith("3 of 3,000 time stamps could not be read (such as 'kaputt')") for n in series.report.notes())


def test_rows_out_of_time_order_are_sorted_and_counted():
    raw, _ = german(n=400)
    head, *rows = raw.decode().splitlines()
    rows[100], rows[200] = rows[200], rows[100]
    series = load("\n".join([head, *rows]).encode())
    assert series.times.is_monotonic_increasing and series.report.out_of_order == 2
    assert any("not in time order (2 places where the time goes back): they were sorted" in n
               for n in series.report.notes())


@pytest.mark.parametrize("cells, expected", [
    (["20.006,84", "1.234", "200,5"], [20006.84, 1234.0, 200.5]),
    (["20,006.84", "1,234,567", "12.5"], [20006.84, 1234567.0, 12.5]),
    (["20 006,84", "1 234,5", "7"], [20006.84, 1234.5, 7.0]),
    (["1'234.5", "2'000", "3.25"], [1234.5, 2000.0, 3.25]),
])
def test_numbers_with_thousands_separators_are_read(cells, expected):
    cells = cells * 20
    raw = ("t;load\n" + "\n".join(f"{i};{c}" for i, c in enumerate(cells))).encode()
    assert list(load(raw, time_column=None).values[:3]) == expected


def test_a_german_export_with_thousands_separators_loads():
    n = 300
    raw = ("Zeit;Wert\n" + "\n".join(f"{t:%d.%m.%Y %H:%M};{20000 + i * 3 + 0.84:,.2f}".replace(",", "X").replace(
        ".", ",").replace("X", ".") for i, t in enumerate(pd.date_range("2024-03-01", periods=n, freq="h")))).encode()
    series = load(raw)
    assert series.values[2] == pytest.approx(20006.84) and series.name == "Wert"


def test_a_row_number_column_is_never_taken_as_the_values():
    raw = ("n,load\n" + "\n".join(f"{i},{100 + (i * 7) % 13}" for i in range(300))).encode()
    series = load(raw)
    assert series.name == "load" and series.report.index_columns == ("n",)
    years = ("year,flow\n" + "\n".join(f"{1871 + i},{1000 + (i * 37) % 300}" for i in range(100))).encode()
    assert load(years, time_column=None).name == "flow"  # an index of years beside the data is not the data
    with pytest.raises(Exception, match=r"'n' only numbers the rows .* 'v' has no values at all"):
        load(("n,v\n" + "\n".join(f"{i + 1}," for i in range(300))).encode())


def test_an_extreme_spike_is_noted_with_where_it_is():
    raw, _ = german(n=500)
    head, *rows = raw.decode().splitlines()
    rows[321] = rows[321].split(";")[0] + ";1000000000000000"
    series = load("\n".join([head, *rows]).encode())
    assert series.report.spike_count == 1 and series.report.spikes[0][1] == 1e15
    (note,) = [n for n in series.report.notes() if "extreme value" in n]
    assert "2024-01-07 16:30: 1e+15" in note and "Check it before training" in note
    clean = load(german(n=500)[0])
    assert clean.report.spike_count == 0 and not any("extreme" in n for n in clean.report.notes())


def test_the_command_line_says_the_notes_and_refuses_what_the_app_refuses(tmp_path, capsys):
    from scgru_core.cli.main import main

    day_first = tmp_path / "zaehler.csv"
    day_first.write_bytes(german(n=800)[0])
    tiny = ["--window", "8", "--hidden", "4", "--epochs", "1", "--finetune-epochs", "0"]
    assert main(["run", "--data", str(day_first), *tiny]) == 0
    assert "  note: Dates read day first (day.month.year): row 578 reads '13.01.2024 00:00'" in capsys.readouterr().err
    ambiguous = tmp_path / "sales.csv"
    ambiguous.write_bytes(monthly_with_slashes())
    assert main(["run", "--data", str(ambiguous), *tiny]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "can be read day first or month first" in err
    assert main(["run", "--data", str(ambiguous), *tiny, "--window", "4", "--date-order", "day"]) == 0
    lines = german(n=3000)[0].decode().splitlines()
    unreadable = tmp_path / "stamps.csv"
    unreadable.write_text("\n".join(lines[:289] + [f"later;{x.split(';')[1]}" for x in lines[289:]]))
    capsys.readouterr()
    assert main(["run", "--data", str(unreadable), *tiny]) == 2
    err = capsys.readouterr().err
    assert "2,712 of 3,000 cells of the time column 'Zeit'" in err and "window" not in err


# The Nile at Aswan, annual flow 1871-1970 in 10^8 m^3 (Cobb 1978, as in R's datasets::Nile): a real yearly series.
NILE = [1120, 1160, 963, 1210, 1160, 1160, 813, 1230, 1370, 1140, 995, 935, 1110, 994, 1020, 960, 1180, 799, 958,
        1140, 1100, 1210, 1150, 1250, 1260, 1220, 1030, 1100, 774, 840, 874, 694, 940, 833, 701, 916, 692, 1020, 1050,
        969, 831, 726, 456, 824, 702, 1120, 1100, 832, 764, 821, 768, 845, 864, 862, 698, 845, 744, 796, 1040, 759,
        781, 865, 845, 944, 984, 897, 822, 1010, 771, 676, 649, 846, 812, 742, 801, 1040, 860, 874, 848, 890, 744,
        749, 838, 1050, 918, 986, 797, 923, 975, 815, 1020, 906, 901, 1170, 912, 746, 919, 718, 714, 740]


def nile_csv() -> bytes:
    return ("year,flow\n" + "\n".join(f"{1871 + i},{v}" for i, v in enumerate(NILE))).encode()


def test_integer_years_are_the_time_axis_and_the_flow_the_values():
    """pandas reads 1871 as 1871 nanoseconds after 1970: every stamp was '00:00:00 Jan 1, 1970' and the series a
    vertical line. Whole numbers in a time column within YEARS are years; the value column is the flow."""
    from scgru_core.data.times import span_text, stamp, yearly
    from scgru_core.viz import series_figure

    series = load(nile_csv(), "nile_annual_flow.csv")
    assert series.name == "flow" and series.report.time_column == "year" and series.report.time_unit == "years"
    assert series.times[0] == pd.Timestamp("1871-01-01") and series.times[-1] == pd.Timestamp("1970-01-01")
    assert yearly(series.times) and stamp(series.times, 42) == "1913" and series.values[42] == 456
    assert span_text(series.times, 10) == "10 years of yearly steps"
    assert "time column 'year' (whole years)" in series.report.lines()[0]
    axis = series_figure(series.values, series.times, name=series.name).layout.xaxis
    assert (axis.title.text, axis.tickformat, axis.hoverformat) == ("year", "%Y", "%Y")
    chosen = load(nile_csv(), time_column="year")  # chosen by hand: the same years
    assert chosen.times.equals(series.times)


def test_a_period_index_is_the_time_axis_in_its_own_unit():
    raw = ("period,demand\n" + "\n".join(f"{i + 1},{20 + 5 * np.sin(i / 3):.3f}" for i in range(200))).encode()
    series = load(raw)
    assert series.report.time_column == "period" and series.report.time_unit == "index" and series.name == "demand"
    assert list(series.times[:3]) == [1, 2, 3] and series.times.name == "period"
    from scgru_core.viz import series_figure
    assert series_figure(series.values, series.times, name=series.name).layout.xaxis.title.text == "period"


def test_calendar_fields_beside_monthly_data_are_never_the_values():
    """Year and month as two integer columns (1949 twelve times; 1 to 12, then 1 again): the passengers are the
    series, whatever the order of the columns."""
    airline = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118] * 6
    rows = [f"{1949 + i // 12},{i % 12 + 1},{v + i}" for i, v in enumerate(airline)]
    series = load(("year,month,passengers\n" + "\n".join(rows)).encode())
    assert series.name == "passengers" and set(series.report.index_columns) == {"year", "month"}


def test_monthly_and_weekly_dates_without_times_are_labelled_in_their_unit():
    from scgru_core.viz import series_figure
    months = pd.date_range("1949-01-01", periods=144, freq="MS")
    raw = ("Month,Passengers\n" + "\n".join(f"{t:%Y-%m},{100 + i % 12 * 9}" for i, t in enumerate(months))).encode()
    series = load(raw)
    assert series.times[0] == pd.Timestamp("1949-01-01") and series.name == "Passengers"
    assert series_figure(series.values, series.times).layout.xaxis.tickformat == "%b %Y"
    weeks = pd.date_range("2020-01-06", periods=150, freq="W-MON")
    raw = ("week,sales\n" + "\n".join(f"{t:%Y-%m-%d},{50 + i % 7}" for i, t in enumerate(weeks))).encode()
    series = load(raw)
    assert series.report.time_column == "week" and series.report.median_step == "7 days 00:00:00"
    assert series_figure(series.values, series.times).layout.xaxis.hoverformat == "%d %b %Y"
