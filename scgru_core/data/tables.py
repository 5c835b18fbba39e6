"""From a file (path or bytes) to a table: the file type checked, the text encoding detected (UTF-8 with or without
BOM, UTF-16), the CSV delimiter sniffed, a decimal comma understood, a header row told from a first row of data.
Every refusal is a `DataError` subclass whose message says what to fix; `reading` turns the table into a series.
"""
from __future__ import annotations

import csv
import io
import pathlib
import warnings

import numpy as np
import pandas as pd

from scgru_core.data.numbers import to_numeric as _to_numeric
from scgru_core.data.times import to_datetime
from scgru_core.errors import (DataError, DecodeError, EmptyDataError, FileTooLargeError, NoNumericColumnError,
                               UnsupportedFileTypeError)

MB = 1_000_000  # the megabyte of the uploader, the browser and file managers: one unit for every size shown
MAX_BYTES = 50 * MB  # the uploader's cap (Streamlit's server.maxUploadSize counts decimal megabytes)


CSV_SUFFIXES = (".csv", ".txt", ".tsv")


EXCEL_SUFFIXES = (".xlsx",)


PARQUET_SUFFIXES = (".parquet", ".pq")


SUPPORTED_SUFFIXES = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES


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
                      and not counts_rows(_to_numeric(pd.Series(col, dtype=object)).to_numpy())
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
               max_bytes: int = MAX_BYTES) -> pd.DataFrame:
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


def counts_rows(v: np.ndarray) -> bool:
    """Numbers of the rows: 0, 1, 2, ... or 1, 2, 3, ..."""
    return len(v) >= 3 and v[0] in (0, 1) and bool((np.diff(v) == 1).all())
