"""From a file (path or bytes) to a clean, validated univariate series.

Reading is defensive because users upload anything: the file type is checked, text
encodings are detected (UTF-8 with or without BOM, UTF-16), the CSV delimiter is
sniffed and a decimal comma is understood. Every refusal is a `DataError` subclass
whose message says what to fix.
"""
from __future__ import annotations

import csv
import io
import pathlib
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import (
    ColumnNotFoundError,
    ConfigError,
    ConstantSeriesError,
    DataError,
    DecodeError,
    EmptyDataError,
    FileTooLargeError,
    NoNumericColumnError,
    NonFiniteValuesError,
    TimeColumnError,
    UnsupportedFileTypeError,
)
from .numbers import to_numeric as _to_numeric
from .times import DATE_ORDERS, ORDER_TEXT, ParsedTimes, are_years, counts_time, file_row, parse_times, to_datetime, whole_numbers

AUTO = "auto"
MB = 1_000_000  # the megabyte of the uploader, the browser and file managers: one unit for every size shown
READ_LIMITS = ("max_bytes", "max_rows")  # ReadConfig's fields that refuse a file, never change how it is read
MISSING_POLICIES = ("interpolate", "drop", "refuse")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx",)
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED_SUFFIXES = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES


@dataclass(frozen=True)
class ReadConfig:
    """Which column to read and how to treat what is missing."""

    column: str | None = None  # None: the first numeric column
    time_column: str | None = AUTO  # AUTO: detect; None: no time column
    missing: str = "interpolate"  # interpolate | drop | refuse
    max_bytes: int = 50 * MB  # the uploader's cap (Streamlit's server.maxUploadSize counts decimal megabytes)
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


def file_suffix(filename: str | None) -> str:
    """".csv" for "Load.CSV"; "" for no name."""
    return pathlib.Path(filename or "").suffix.lower()


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif _looks_utf16(raw, zero_at=1):
        encoding = "utf-16-le"
    elif _looks_utf16(raw, zero_at=0):
        encoding = "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"The file is not readable text (not valid {encoding.upper()} at byte {exc.start}). "
            "Save it as CSV with UTF-8 encoding and upload it again."
        ) from None
    if any(ord(c) < 32 and c not in "\t\r\n" for c in text[:4096]):
        raise DecodeError("The file contains binary data, not text. Upload a CSV, XLSX or Parquet file.")
    return text


def _looks_utf16(raw: bytes, zero_at: int) -> bool:
    """BOM-less UTF-16 of ASCII text: every other byte of the start is zero, the others are not."""
    head = raw[:64]
    return (len(head) >= 4 and all(b == 0 for b in head[zero_at::2])
            and not any(b == 0 for b in head[1 - zero_at::2]))


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _refuse_other_formats(text: str) -> None:
    """A web page, XML or JSON saved under a .csv name: say what it is, rather than what CSV parsing makes of it."""
    head = text.lstrip("\ufeff \t\r\n")[:300].lower()
    if head.startswith(("<!doctype", "<html", "<?xml", "<head", "<body", "<table", "<div")):
        raise DecodeError("The file is a web page or XML, not a CSV: perhaps the page that links to the data was "
                          "saved instead of the data. Download the data file itself (CSV, XLSX or Parquet).")
    if head.startswith(("{", "[")):
        raise DecodeError("The file is JSON, not a CSV. Export the data as CSV (a header row, then one row per time "
                          "step), or as XLSX or Parquet.")


MAX_COLUMNS = 1_000
"""A series is one column of values (beside a time column), so a file with more columns than this is not one: it is
refused from its first row, before it is parsed. A one-line CSV of a million numbers (5 MB) held the server's
interpreter for 1.5-5 minutes while pandas made a million columns of it."""


def _refuse_wide(columns: int, where: str) -> None:
    if columns > MAX_COLUMNS:
        raise FileTooLargeError(
            f"{where} has {columns:,} columns; at most {MAX_COLUMNS:,} are read. A series is one column of values, "
            "one row per time step: if the values run along a row, transpose the table (in a spreadsheet: copy, "
            "then Paste Special > Transpose) and save it again.")


def _read_csv(raw: bytes, header: bool = True) -> pd.DataFrame:
    text = _decode(raw)
    if not text.strip():
        raise EmptyDataError("The file is empty. Upload a file with a header row and at least one column of numbers.")
    _refuse_other_formats(text)
    first = text.lstrip("\ufeff\r\n").split("\n", 1)[0]
    _refuse_wide(1 + max(first.count(sep) for sep in ",;\t|"), "The file's first row")
    sep = _sniff_delimiter(text)
    decimal = "," if sep in ";\t|" and _looks_decimal_comma(text, sep) else "."
    try:
        # a blank line inside the data is a missing value, not nothing: keep it (trailing ones are just the end)
        body = text.rstrip("\r\n \t") + "\n"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: rows with more fields than the header must not turn their first field into an
            # index (pandas' default), which shifts every value under the wrong column name without a word
            frame = pd.read_csv(io.StringIO(body), sep=sep, decimal=decimal, skipinitialspace=True,
                                skip_blank_lines=False, index_col=False, header=0 if header else None)
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
            header, first = list(csv.reader(body.splitlines()[:2], delimiter=sep))[:2]
            raise DecodeError(f"The header names {len(header)} column{'s' if len(header) != 1 else ''} but the rows "
                              f"have more fields ({len(first)} in the first row), so the values would land under the wrong names. Give every column "
                              "a header, or remove the extra fields.")
        return frame
    except DataError:  # ours, already saying what to do
        raise
    except pd.errors.EmptyDataError:
        raise EmptyDataError("The file has no columns. Upload a file with a header row and numbers below it.") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise DecodeError(f"The CSV could not be parsed ({first}). Check that every row has the same columns.") from None


def _looks_decimal_comma(text: str, sep: str) -> bool:
    lines = text.splitlines()[1:50]
    cells = [c.strip() for line in lines for c in line.split(sep)]
    with_comma = [c for c in cells if "," in c]
    return bool(with_comma) and all(c.replace(",", "", 1).replace("-", "", 1).isdigit() for c in with_comma)


EXCEL_MAX_ROWS = 300_000
"""Reading Excel runs at about 20,000 rows a second (a million-row sheet held a core for 44 s), so a larger sheet
is refused before it is read, with the way out (CSV reads millions of rows in a second)."""
SAMPLE_ROWS = 50


def _excel_preflight(raw: bytes) -> None:
    """What can be known from the workbook's index and its first rows, in milliseconds, before the slow read:
    a sheet over EXCEL_MAX_ROWS, or values that are formulas never calculated (a workbook written by a script
    holds the formulas but no values, which pandas reads as empty cells)."""
    import openpyxl
    try:
        values = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise DecodeError(f"The Excel file could not be read ({type(exc).__name__}). Save it as .xlsx or CSV.") from None
    uncalculated = []
    for ws_values, ws_formulas in zip(values.worksheets, formulas.worksheets):
        _refuse_wide(ws_values.max_column or 0, f"Sheet '{ws_values.title}'")
        if (ws_values.max_row or 0) > EXCEL_MAX_ROWS:
            raise FileTooLargeError(f"Sheet '{ws_values.title}' has {ws_values.max_row:,} rows; Excel files over "
                                    f"{EXCEL_MAX_ROWS:,} rows take minutes to read. Save it as CSV (millions of rows "
                                    "read in seconds) or upload an excerpt.")
        got = list(ws_values.iter_rows(min_row=2, max_row=SAMPLE_ROWS + 1, values_only=True))
        wrote = list(ws_formulas.iter_rows(min_row=2, max_row=SAMPLE_ROWS + 1, values_only=True))
        columns = list(zip(*got)) if got else []
        written = list(zip(*wrote)) if wrote else []
        numbers = any(any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in col)
                      and not _counts_rows(_to_numeric(pd.Series(col, dtype=object)).to_numpy())
                      for col in columns)  # a row number is no data
        formula_only = [i for i, (col, src) in enumerate(zip(columns, written))
                        if all(v is None for v in col) and any(isinstance(f, str) and f.startswith("=") for f in src)]
        if formula_only and not numbers:
            example = next(f for f in written[formula_only[0]] if isinstance(f, str))
            uncalculated.append((ws_values.title, example))
        elif numbers:
            return  # a sheet with numbers: _read_excel will use it
    if uncalculated:
        title, example = uncalculated[0]
        raise NoNumericColumnError(f"Sheet '{title}' holds formulas (such as {example}) whose values were never "
                                   "calculated: the program that wrote the file did not compute them, so there are no "
                                   "numbers to read. Open and save it in Excel or LibreOffice, or export it as CSV.")


def _read_excel(raw: bytes, header: bool = True) -> pd.DataFrame:
    """The first sheet that holds a column of numbers (a workbook often opens on notes or a chart); which sheet
    was used is kept in the frame's attrs and reported."""
    _excel_preflight(raw)
    try:
        sheets = pd.read_excel(io.BytesIO(raw), engine="openpyxl", sheet_name=None, header=0 if header else None)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise DecodeError(f"The Excel file could not be read ({type(exc).__name__}). Save it as .xlsx or CSV.") from None
    if not sheets:
        raise EmptyDataError("The workbook has no sheets.")
    names = list(sheets)
    usable = [n for n in names if len(sheets[n]) and numeric_columns(sheets[n])]
    name = usable[0] if usable else names[0]
    frame = sheets[name]
    if len(names) > 1:
        frame.attrs["sheet"] = (str(name), len(names))
    return frame


def _read_parquet(raw: bytes) -> pd.DataFrame:
    import pyarrow.parquet as pq
    try:
        _refuse_wide(len(pq.read_schema(io.BytesIO(raw)).names), "The Parquet file")
        return pd.read_parquet(io.BytesIO(raw))
    except FileTooLargeError:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise DecodeError(f"The Parquet file could not be read ({type(exc).__name__}). Export it again or use CSV.") from None


def read_table(source: str | pathlib.Path | bytes, filename: str | None = None,
               max_bytes: int = ReadConfig.max_bytes) -> pd.DataFrame:
    """Read a CSV / XLSX / Parquet file given as a path or as bytes (then `filename` names its type)."""
    if isinstance(source, (str, pathlib.Path)):
        path = pathlib.Path(source)
        if not path.is_file():
            raise EmptyDataError(f"No file at {path}. Check the path.")
        filename = filename or path.name
        size = path.stat().st_size
        if size > max_bytes:
            raise FileTooLargeError(_too_large(size, max_bytes))
        raw = path.read_bytes()
    else:
        raw = bytes(source)
    if len(raw) > max_bytes:
        raise FileTooLargeError(_too_large(len(raw), max_bytes))
    suffix = file_suffix(filename) or ".csv"
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFileTypeError(
            f"'{suffix}' files are not supported. Upload CSV, XLSX or Parquet ({', '.join(SUPPORTED_SUFFIXES)})."
        )
    if not raw.strip():
        raise EmptyDataError("The file is empty. Upload a file with a header row and at least one column of numbers.")
    if suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(raw)
    else:
        reader = _read_excel if suffix in EXCEL_SUFFIXES else _read_csv
        frame = reader(raw)
        if header_is_data(frame.columns):  # no header row: the first row is data, not names
            frame = reader(raw, header=False)
            frame.columns = [f"column {i + 1}" for i in range(frame.shape[1])]
            frame.attrs["headerless"] = True
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise EmptyDataError("The file has a header but no data rows. Add the values below the header.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def header_is_data(names) -> bool:
    """Whether a header row is really the first row of data: every name a number or a date, and one a number
    ('100.00123015335748', or '01.02.2024 00:00' beside '200,0684'). Not 'Unnamed: 0' or a year alone."""
    text = pd.Series([str(n).strip() for n in names], dtype=object)
    if text.empty or (text == "").any():
        return False
    numbers = _to_numeric(text).notna()
    dates = to_datetime(text[~numbers], dayfirst=False).notna() & text[~numbers].str.contains(r"\d[./:-]\d")
    whole_years = len(text) == 1 and bool(text.str.fullmatch(r"\d{4}").all())  # a column named 2024
    return bool(numbers.any()) and bool(numbers.sum() + dates.sum() == len(text)) and not whole_years


def _too_large(size: int, cap: int) -> str:
    """Said in the uploader's megabytes, with the binary ones beside: a file manager that lists 49 MB counts MiB."""
    return (f"The file is {size / MB:.1f} MB ({size / 2**20:.1f} MiB, which some systems list as MB), over the "
            f"{cap / MB:.0f} MB limit ({cap:,} bytes). Upload a shorter excerpt, or save it as Parquet (smaller).")


def numeric_columns(frame: pd.DataFrame, exclude: str | None = None) -> list[str]:
    """Columns where at least half the non-empty cells are numbers."""
    names = []
    for name in frame.columns:
        if name == exclude or pd.api.types.is_datetime64_any_dtype(frame[name]):
            continue
        col = frame[name]
        present = col.notna().sum()
        if present and _to_numeric(col).notna().sum() >= 0.5 * present:
            names.append(name)
    return names


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


def _counts_rows(v: np.ndarray) -> bool:
    """Numbers of the rows: 0, 1, 2, ... or 1, 2, 3, ..."""
    return len(v) >= 3 and v[0] in (0, 1) and bool((np.diff(v) == 1).all())


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
    counters = [c for c in numeric if _counts_rows(values[c])]
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


def time_axis(values: pd.Series, name: str) -> pd.Index:
    """The series' time axis: a DatetimeIndex, or a period index of whole numbers (named after its column)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.DatetimeIndex(values.to_numpy())
    return pd.Index(values.to_numpy(dtype=np.int64), name=str(name))


def yearly(times) -> bool:
    """Time stamps one year apart (each the 1st of January, as whole years are read)."""
    return (isinstance(times, pd.DatetimeIndex) and len(times) > 1 and bool((times.day_of_year == 1).all())
            and bool((times.hour == 0).all()) and pd.Series(times).diff().median() >= pd.Timedelta(days=365))


def stamp(times: pd.Index, i: int) -> str:
    """Where in the series step i is, in the axis's own unit: '1913', '2024-02-01 06:00', 'period 12'."""
    if not isinstance(times, pd.DatetimeIndex):
        return f"{times.name} {times[i]}"
    return f"{times[i]:%Y}" if yearly(times) else f"{times[i]:%Y-%m-%d %H:%M}"


def load_series(source: str | pathlib.Path | bytes, config: ReadConfig = ReadConfig(),
                filename: str | None = None) -> Series:
    """Read a file and return its validated series. `filename` gives the type when `source` is bytes."""
    frame = read_table(source, filename=filename, max_bytes=config.max_bytes)
    return series_from_frame(frame, config)


def span_text(times, steps: int) -> str | None:
    """What `steps` steps of this series cover, in words ("1 day of 30-minute steps"), from its median time step;
    None without time stamps. The Data page's window hint, which must fit the data (48 is a day of half-hours, not
    of 5-minute steps)."""
    if times is None or len(times) < 2 or not isinstance(pd.Index(times), pd.DatetimeIndex):  # a period index
        return None
    step = pd.Series(pd.to_datetime(times)).diff().median()
    if pd.isna(step) or step <= pd.Timedelta(0):
        return None
    days = step.total_seconds() / 86400
    unit = (f"{step.total_seconds() / 60:g}-minute" if step < pd.Timedelta(hours=1) else
            f"{step.total_seconds() / 3600:g}-hour" if step < pd.Timedelta(days=1) else
            "monthly" if 27 <= days <= 32 else "yearly" if 360 <= days <= 370 else f"{days:g}-day")
    total = step * steps
    for name, size in (("year", pd.Timedelta(days=365.25)), ("week", pd.Timedelta(days=7)),
                       ("day", pd.Timedelta(days=1)), ("hour", pd.Timedelta(hours=1)),
                       ("minute", pd.Timedelta(minutes=1))):
        if total >= size:
            n = total / size
            amount = f"{n:.0f}" if abs(n - round(n)) < 0.1 else f"{n:.1f}"
            return f"{amount} {name}{'' if amount == '1' else 's'} of {unit} steps"
    return None
