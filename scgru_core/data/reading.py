"""From a file (path or bytes) to a clean, validated univariate series: the value and time columns found, the time
stamps read as written, missing values and spikes reported (`LoadReport`).

Reading is defensive because users upload anything (`tables` reads the file itself). Every refusal is a `DataError`
subclass whose message says what to fix.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scgru_core.data.numbers import to_numeric as _to_numeric
from scgru_core.data.tables import MAX_BYTES, counts_rows, numeric_columns, read_table
from scgru_core.data.times import (DATE_ORDERS, ORDER_TEXT, ParsedTimes, are_years, counts_time, file_row,
                                   parse_times, stamp, time_axis, to_datetime, whole_numbers)
from scgru_core.errors import (ColumnNotFoundError, ConfigError, ConstantSeriesError, DataError, EmptyDataError,
                               FileTooLargeError, NoNumericColumnError, NonFiniteValuesError, TimeColumnError)

AUTO = "auto"
READ_LIMITS = ("max_bytes", "max_rows")  # ReadConfig's fields that refuse a file, never change how it is read
MISSING_POLICIES = ("interpolate", "drop", "refuse")


@dataclass(frozen=True)
class ReadConfig:
    """Which column to read and how to treat what is missing."""

    column: str | None = None  # None: the first numeric column
    time_column: str | None = AUTO  # AUTO: detect; None: no time column
    missing: str = "interpolate"  # interpolate | drop | refuse
    max_bytes: int = MAX_BYTES  # the uploader's cap
    max_rows: int = 2_000_000
    date_order: str = "auto"  # auto: decided from the data (times.py); day | month: as chosen

    def __post_init__(self):
        if self.missing not in MISSING_POLICIES:
            raise ConfigError(f"missing-value policy must be one of {', '.join(MISSING_POLICIES)}, not {self.missing!r}.")
        if self.date_order not in DATE_ORDERS:
            raise ConfigError(f"date order must be one of {', '.join(DATE_ORDERS)}, not {self.date_order!r}.")


def quoted(name: str) -> str:
    """A name from a file, as plain text shows it; the app passes its own (a code span, never markdown)."""
    return repr(str(name))


UNIT_TEXT = {"dates": "", "years": " (whole years)", "index": " (a period index: its numbers are the time axis)"}


@dataclass(frozen=True)
class LoadReport:
    """What was found and done while loading; shown to the user beside the series. `lines` is every fact, `notes`
    the ones to read before training (said where the person looks: beside "Loaded", on stderr)."""

    rows_read: int
    column: str
    time_column: str | None
    numeric_columns: tuple[str, ...]
    all_columns: tuple[str, ...]
    missing: int  # empty cells in the value column
    non_numeric: int  # text that is not a number
    non_finite: int  # inf / -inf
    policy: str
    interpolated: int
    dropped: int
    unparsed_times: int = 0
    was_unsorted: bool = False
    duplicate_times: int = 0
    gaps: int = 0
    missing_steps: int = 0
    median_step: str | None = None
    sheet: tuple[str, int] | None = None  # (name, number of sheets) when a workbook has several
    headerless: bool = False  # the first row was data, not names
    date_order: str | None = None  # "day" or "month" where the time stamps could be read either way
    date_order_why: str = ""
    time_unit: str = "dates"  # "dates", "years" (whole years read as years) or "index" (a period index)
    unparsed_example: str = ""
    out_of_order: int = 0  # places where the time went back, before sorting
    index_columns: tuple[str, ...] = ()  # numeric columns that only count up, passed over as the values
    spikes: tuple[tuple[str, float], ...] = ()  # (where, value) of the first extreme values
    spike_count: int = 0

    def lines(self, name=quoted) -> list[str]:
        """Human-readable summary, one fact per line; `name` quotes a name from the file."""
        out = [f"{self.rows_read:,} rows read"
               + (f" from sheet {name(self.sheet[0])} (the first with numbers, of {self.sheet[1]} sheets)"
                  if self.sheet else "")
               + f"; value column {name(self.column)}"
               + (f", time column {name(self.time_column)}{UNIT_TEXT[self.time_unit]}" if self.time_column
                  else ", no time column")]
        bad = self.missing + self.non_numeric + self.non_finite
        if bad:
            out.append(f"{self.missing} empty, {self.non_numeric} non-numeric and {self.non_finite} infinite values: "
                       f"{self.interpolated} interpolated, {self.dropped} dropped ({self.policy})")
        else:
            out.append("no missing values")
        if self.time_column and self.gaps:
            out.append(f"{self.gaps} gaps in the time axis ({self.missing_steps} missing steps of {self.median_step})")
        return out + self.notes(name)

    def notes(self, name=quoted) -> list[str]:
        """What to read before training: how the file was understood where it could have been misread, rows
        dropped or moved, and values that look like errors."""
        out = []
        if self.headerless:
            out.append("The file has no header row: its first row was read as data, and the columns are named "
                       "column 1, column 2, ...")
        if self.index_columns:
            cols = ", ".join(name(c) for c in self.index_columns)
            out.append(f"Column{'s' if len(self.index_columns) > 1 else ''} {cols} only count{'' if len(self.index_columns) > 1 else 's'} "
                       f"up by a fixed step (a row number or an index), so {name(self.column)} was taken as the values.")
        if self.time_column:
            if self.date_order and self.date_order_why != "as chosen":
                out.append(f"Dates read {ORDER_TEXT[self.date_order]}: {self.date_order_why}.")
            if self.unparsed_times:
                out.append(f"{self.unparsed_times:,} of {self.rows_read:,} time stamps could not be read (such as "
                           f"{name(self.unparsed_example)}); those rows were dropped.")
            if self.was_unsorted:
                out.append(f"The rows were not in time order ({self.out_of_order:,} place"
                           f"{'s' if self.out_of_order != 1 else ''} where the time goes back): they were sorted "
                           "by time.")
            if self.duplicate_times:
                out.append(f"{self.duplicate_times:,} duplicate time stamps: the first of each was kept.")
        if self.spike_count:
            where = ", ".join(f"{w}: {v:,.6g}" for w, v in self.spikes)
            out.append(f"{self.spike_count:,} extreme value{'s' if self.spike_count > 1 else ''}, more than "
                       f"{SPIKE_SPREADS} times the spread of the middle half away from the median ({where}"
                       f"{', ...' if self.spike_count > len(self.spikes) else ''}). Check "
                       f"{'them' if self.spike_count > 1 else 'it'} before training: one spike can squash the "
                       "scaling and dominate the error.")
        return out


@dataclass(frozen=True)
class Series:
    """A clean univariate series: finite float values, optional time stamps, a report."""

    values: np.ndarray
    name: str
    times: pd.Index | None  # a DatetimeIndex, or whole numbers (a period index) named after their column
    report: LoadReport

    def __len__(self) -> int:
        return len(self.values)


"""A series is one column of values (beside a time column), so a file with more columns than this is not one: it is
refused from its first row, before it is parsed. A one-line CSV of a million numbers (5 MB) held the server's
interpreter for 1.5-5 minutes while pandas made a million columns of it."""


"""Reading Excel runs at about 20,000 rows a second (a million-row sheet held a core for 44 s), so a larger sheet
is refused before it is read, with the way out (CSV reads millions of rows in a second)."""


def detect_time_column(frame: pd.DataFrame) -> str | None:
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            return name
        if pd.api.types.is_numeric_dtype(col):
            if counts_time(col, name):  # integer years, or a period index named as time
                return name
            continue
        sample = col.dropna().astype(str).head(200)
        if len(sample) and to_datetime(sample, dayfirst=False).notna().mean() > 0.9:
            return name
    return None


UNPARSED_MAX_SHARE = 0.05
"""Past this share of unreadable time stamps the time column is refused, not thinned: dropping the rows would leave
a different series with holes (a column read 288 of 3,000 stamps and the app blamed the window)."""
SPIKE_SPREADS = 50
"""A value this many interquartile ranges from the median is noted as extreme. The shipped samples, bursty network
traffic and sunspots included, stay within 4; a typing error (1e15 in a series of thousands) is far beyond."""


def _time_report(times: pd.Series) -> dict:
    """Gaps in the time axis (time stamps or a period index): steps over 1.5 times the median step."""
    diffs = times.diff().dropna()
    if diffs.empty:
        return {}
    step = diffs.median()
    if step <= 0 * step:
        return {}
    big = diffs[diffs > 1.5 * step]
    missing_steps = int(sum(round(d / step) - 1 for d in big))
    return {"gaps": int(len(big)), "missing_steps": missing_steps, "median_step": str(step)}


def _counts_up(v: np.ndarray) -> bool:
    """Whole numbers that rise by one fixed step, staying put or starting again from their lowest in between: a row
    number, an index, the year beside monthly data (1949 twelve times, then 1950) or the month beside it (1 to 12,
    then 1 again); never a series to forecast."""
    if len(v) < 3 or not np.isfinite(v).all() or not (v == np.round(v)).all():
        return False
    steps = np.diff(v)
    rises = steps[steps > 0]
    restarts = (steps < 0) & (v[1:] == v.min())
    return bool(len(rises) and (rises == rises[0]).all() and ((steps >= 0) | restarts).all())


def _value_column(frame: pd.DataFrame, config: ReadConfig, numeric: list[str],
                  time_col: str | None) -> tuple[str, tuple[str, ...]]:
    """The column the series is read from: the chosen one, else the first numeric column that does not just count
    up (a row number or an index beside the data is not the data); and the counting columns passed over for it."""
    if config.column is not None:
        if config.column not in frame.columns:
            raise ColumnNotFoundError(f"There is no column {quoted(config.column)}. The columns are: "
                                      f"{', '.join(map(str, frame.columns))}.")
        if config.column == time_col:
            raise ConfigError(f"Column {quoted(config.column)} is chosen as both the values and the time column: "
                              "pick another time column, or none.")
        if config.column not in numeric:
            raise NoNumericColumnError(f"Column {quoted(config.column)} holds no numbers. Pick one of: "
                                       f"{', '.join(map(str, numeric)) or '(none)'}.")
        return config.column, ()
    values = {c: _to_numeric(frame[c]).to_numpy() for c in numeric}
    data = [c for c in numeric if not _counts_up(values[c])]
    if data:
        return data[0], tuple(numeric[:numeric.index(data[0])])  # every column before it counts up
    counters = [c for c in numeric if counts_rows(values[c])]
    if numeric and len(counters) < len(numeric):
        index = next(c for c in numeric if c not in counters)  # an index alone (years, say): the best there is
        return index, tuple(numeric[:numeric.index(index)])
    empty = [str(c) for c in frame.columns if c != time_col and c not in numeric and frame[c].isna().all()]
    beside = (f" Column{'s' if len(empty) > 1 else ''} {', '.join(map(quoted, empty))} "
              f"{'have' if len(empty) > 1 else 'has'} no values at all (every cell is empty).") if empty else ""
    if counters and not empty:
        return counters[0], ()  # a file of nothing but a count: what was given
    if counters:
        raise NoNumericColumnError(f"Column {quoted(counters[0])} only numbers the rows (0, 1, 2, ... or 1, 2, 3, "
                                   f"...), which is not a series to forecast, and no other column holds numbers."
                                   f"{beside} Fill in the values, or upload the file they are in.")
    if empty:
        raise NoNumericColumnError(f"{beside.strip()} No other column holds numbers. Fill in the values, or upload "
                                   "the file they are in.")
    raise NoNumericColumnError("No column holds numbers. The series must be one column of numeric values "
                               f"(found: {', '.join(map(str, frame.columns))}).")


def _read_times(frame: pd.DataFrame, time_col: str, config: ReadConfig) -> tuple[pd.DataFrame, dict]:
    """The rows with readable time stamps, in time order, first of each duplicate kept; what was done, counted.
    Refuses a column too much of which is not time stamps (TimeColumnError) or whose day/month order is
    ambiguous (AmbiguousDatesError)."""
    column = frame[time_col]
    index = None if are_years(column) else whole_numbers(column)
    if index is not None:  # a period index (1, 2, 3, ...): the numbers are the time axis, in their own unit
        parsed = ParsedTimes(pd.Series(index.astype(np.int64), index=column.index), unit="index")
    else:
        parsed = parse_times(column, config.date_order, time_col)
    unreadable = parsed.times.isna()
    unparsed = int(unreadable.sum())
    example = str(frame[time_col][unreadable].iloc[0]) if unparsed else ""
    if unparsed > UNPARSED_MAX_SHARE * len(frame):
        row = file_row(frame.index[unreadable.to_numpy().argmax()])
        raise TimeColumnError(f"{unparsed:,} of {len(frame):,} cells of the time column {quoted(time_col)} "
                              f"({unparsed / len(frame):.0%}) are not time stamps, such as {quoted(example)} in row "
                              f"{row}. Choose another time column, or none (the rows are then taken in file "
                              "order), or correct the file.")
    frame = frame.assign(_t=parsed.times)[~unreadable]
    went_back = int((frame["_t"].shift() > frame["_t"]).sum())
    frame = frame.sort_values("_t", kind="stable")
    dup = frame["_t"].duplicated(keep="first")
    frame = frame[~dup]
    return frame, {"unparsed_times": unparsed, "unparsed_example": example, "was_unsorted": went_back > 0,
                   "out_of_order": went_back, "duplicate_times": int(dup.sum()), "date_order": parsed.order,
                   "date_order_why": parsed.why, "time_unit": parsed.unit, **_time_report(frame["_t"])}


def _spikes(values: np.ndarray, where) -> dict:
    """The values far out of the series' own range (`SPIKE_SPREADS`), with where they are (at most three)."""
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    spread = q3 - q1
    if not spread > 0:
        return {}
    far = np.flatnonzero(np.abs(values - median) > SPIKE_SPREADS * spread)
    if not len(far):
        return {}
    return {"spike_count": int(len(far)), "spikes": tuple((where(i), float(values[i])) for i in far[:3])}


def detected_columns(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """The value and time columns a file is read with when nothing is chosen (None where there is none): what the
    Data page's form proposes for a file that cannot be used yet."""
    time_col = detect_time_column(frame)
    try:
        return _value_column(frame, ReadConfig(), numeric_columns(frame, exclude=time_col), time_col)[0], time_col
    except DataError:
        return None, time_col


def series_from_frame(frame: pd.DataFrame, config: ReadConfig = ReadConfig()) -> Series:
    """Pick the value (and time) column, apply the missing-value policy, validate."""
    if len(frame) > config.max_rows:
        raise FileTooLargeError(f"The file has {len(frame):,} rows, over the {config.max_rows:,}-row limit. "
                                "Upload a shorter excerpt or resample it.")
    time_col = detect_time_column(frame) if config.time_column == AUTO else config.time_column
    if time_col is not None and time_col not in frame.columns:
        raise ColumnNotFoundError(f"There is no time column {quoted(time_col)}. The columns are: "
                                  f"{', '.join(map(str, frame.columns))}.")
    numeric = numeric_columns(frame, exclude=time_col)
    column, passed_over = _value_column(frame, config, numeric, time_col)

    rows_read = len(frame)
    extra = {"sheet": frame.attrs.get("sheet"), "headerless": bool(frame.attrs.get("headerless")),
             "index_columns": passed_over}
    all_columns = tuple(str(c) for c in frame.columns)
    frame = frame[[c for c in (time_col, column) if c is not None]].copy()
    time_info: dict = {}
    if time_col is not None:
        frame, time_info = _read_times(frame, time_col, config)

    raw_col = frame[column]
    values = _to_numeric(raw_col)
    empty = int(raw_col.isna().sum())
    non_numeric = int(values.isna().sum()) - empty
    infinite = np.isinf(values.to_numpy())
    non_finite = int(infinite.sum())
    values = values.mask(infinite)
    bad = values.isna().to_numpy()
    interpolated = dropped = 0
    if bad.all():
        raise NonFiniteValuesError(f"Column {quoted(column)} has no finite numbers. Pick another column.")
    if bad.any():
        if config.missing == "refuse":
            raise NonFiniteValuesError(
                f"Column {quoted(column)} has {empty} empty, {non_numeric} non-numeric and {non_finite} infinite "
                "values, and the missing-value policy is 'refuse'. Choose 'interpolate' or 'drop', or clean the file."
            )
        keep = np.ones(len(values), dtype=bool)
        if config.missing == "interpolate":
            first, last = np.flatnonzero(~bad)[[0, -1]]
            keep[:first] = False
            keep[last + 1:] = False
            values = values.interpolate(method="linear", limit_area="inside")
            interpolated = int(bad[first:last + 1].sum())
        else:
            keep = ~bad
        dropped = int((~keep).sum())
        values = values[keep]
        frame = frame[keep]
    arr = values.to_numpy(dtype=np.float64)
    if len(arr) == 0:
        raise EmptyDataError("No values are left after removing missing ones. Check the file.")
    if np.nanmax(arr) == np.nanmin(arr):
        raise ConstantSeriesError(f"Column {quoted(column)} is constant ({arr[0]:g}); there is nothing to forecast. "
                                  "Pick a column that varies.")
    times = time_axis(frame["_t"], time_col) if time_col is not None else None
    where = (lambda i: f"row {file_row(frame.index[i])}") if times is None else (lambda i: stamp(times, i))
    report = LoadReport(rows_read=rows_read, column=column, time_column=time_col, numeric_columns=tuple(numeric),
                        all_columns=all_columns, missing=empty,
                        non_numeric=non_numeric, non_finite=non_finite, policy=config.missing,
                        interpolated=interpolated, dropped=dropped, **extra, **time_info, **_spikes(arr, where))
    return Series(values=arr, name=column, times=times, report=report)


def load_series(source: str | pathlib.Path | bytes, config: ReadConfig = ReadConfig(),
                filename: str | None = None) -> Series:
    """Read a file and return its validated series. `filename` gives the type when `source` is bytes."""
    frame = read_table(source, filename=filename, max_bytes=config.max_bytes)
    return series_from_frame(frame, config)


