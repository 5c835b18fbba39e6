"""Time stamps read as they were written.

'01.02.2024' is the 1st of February in Germany and the 2nd of January in the United States. Parsing each cell on
its own (pandas' format="mixed") reads it month-first until a day above 12 forces the other order, so a day-first
file came out with every month's first twelve days swapped and was silently re-sorted by those wrong dates. Here
one order is decided for the whole column, from the data:
1. a first field above 12 somewhere (and never a second one) means day first; a second field above 12, month first;
2. otherwise, an order under which the steps are regular while the other's are not (file order, as written);
3. otherwise dots or dashes between the fields ('01.02.2024', '01-02-2024'), which are written day first;
4. otherwise the column is refused as ambiguous (`AmbiguousDatesError`), and the person chooses the order
   (`ReadConfig.date_order`, the Data page's "Date order", the CLI's --date-order).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scgru_core.errors import AmbiguousDatesError

DATE_ORDERS = ("auto", "day", "month")
ORDER_TEXT = {"day": "day first (day.month.year)", "month": "month first (month/day/year)"}
NUMERIC_DATE = r"^\s*(\d{1,2})([./-])(\d{1,2})[./-]\d{2,4}(?:\D|$)"
REGULAR, IRREGULAR = 0.9, 0.5  # shares of equal steps that count as regular, and as clearly not
YEARS = (1000, 2999)  # whole numbers in a time column within this range are years (pandas read 1871 as nanoseconds)
TIME_NAME = re.compile(r"(?i)^\s*(year|yr|jahr|ann[ée]e|a[ñn]o|anno|period[e]?|t|time|zeit|step|week|month|"
                       r"quarter|day|hour|epoch)s?\s*$")  # an integer column with such a name counts time


def whole_numbers(col: pd.Series) -> np.ndarray | None:
    """The column's values if every one is a finite whole number (a year, a period index), else None."""
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col) or col.isna().any():
        return None
    v = col.to_numpy(dtype=np.float64)
    return v if len(v) and np.isfinite(v).all() and (v == np.round(v)).all() else None


def are_years(col: pd.Series) -> bool:
    v = whole_numbers(col)
    return v is not None and bool(((v >= YEARS[0]) & (v <= YEARS[1])).all())


def counts_time(col: pd.Series, name: str) -> bool:
    """An integer column that is a time axis: whole numbers rising at every row, which are years or are named as
    time ('year', 'period', 't', ...). A row number named 'Unnamed: 0' or 'row' is not (it is passed over)."""
    v = whole_numbers(col)
    return (v is not None and len(v) >= 3 and bool((np.diff(v) > 0).all())
            and (are_years(col) or bool(TIME_NAME.match(str(name)))))


@dataclass(frozen=True)
class ParsedTimes:
    times: pd.Series  # datetime64 (NaT where a cell is not a time)
    order: str | None = None  # "day" or "month" where the text could be read either way round
    why: str = ""  # how the order was decided, for the report
    unit: str = "dates"  # "dates", "years" (whole years) or "index" (a period index: 1, 2, 3, ...)


def to_datetime(text: pd.Series, dayfirst: bool) -> pd.Series:
    """One format for the column, inferred from its first cell (fast, and consistent); cells it does not fit are
    parsed one by one (a few, in a column that mixes 'T' and ' ', say)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format": the fallback below handles it
        try:
            out = pd.to_datetime(text, errors="coerce", dayfirst=dayfirst)
        except (ValueError, TypeError, OverflowError):
            out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        missed = out.isna() & text.notna()
        if 0 < missed.sum() <= 50_000:
            try:
                out = out.where(~missed, pd.to_datetime(text[missed], errors="coerce", format="mixed",
                                                        dayfirst=dayfirst))
            except (ValueError, TypeError, OverflowError):
                pass
    return out


def regularity(times: pd.Series) -> float:
    """The share of steps (in file order) equal to the median step; 0 where the median does not go forward."""
    steps = times.diff().dropna()
    if steps.empty:
        return 0.0
    median = steps.median()
    return float((steps == median).mean()) if median > pd.Timedelta(0) else 0.0


def parse_times(col: pd.Series, order: str = "auto", name: str = "") -> ParsedTimes:
    """The column as time stamps, with the day/month order decided as the module says (or as `order` chooses)."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return ParsedTimes(col)
    if pd.api.types.is_numeric_dtype(col):  # years as the 1st of January; other numbers are no dates
        if are_years(col):
            return ParsedTimes(pd.to_datetime(col.astype("int64").astype(str), format="%Y"), unit="years")
        return ParsedTimes(pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]"))
    text = col.astype("string").str.strip()
    fields = text.str.extract(NUMERIC_DATE)
    numeric = fields[0].notna()
    if numeric.sum() < 0.5 * text.notna().sum() or not numeric.any():  # ISO dates, month names: no question
        return ParsedTimes(to_datetime(text, dayfirst=False))
    if order in ("day", "month"):
        return ParsedTimes(to_datetime(text, dayfirst=order == "day"), order, "as chosen")
    first, second = fields[0][numeric].astype(int), fields[2][numeric].astype(int)
    day_only, month_only = first > 12, second > 12
    where = f"'{name}'" if name else "the time column"
    if day_only.any() and month_only.any():
        d, m = day_only.idxmax(), month_only.idxmax()
        raise AmbiguousDatesError(f"The dates in {where} mix two orders: row {file_row(d)} reads {text[d]!r} (only day "
                                  f"first) and row {file_row(m)} reads {text[m]!r} (only month first). Choose the date "
                                  "order, or correct the file.")
    for only, key, values in ((day_only, "day", first), (month_only, "month", second)):
        if only.any():
            row = only.idxmax()
            return ParsedTimes(to_datetime(text, dayfirst=key == "day"), key,
                               f"row {file_row(row)} reads {text[row]!r}, and {values[row]} can only be a day")
    by_day, by_month = to_datetime(text, dayfirst=True), to_datetime(text, dayfirst=False)
    r_day, r_month = regularity(by_day), regularity(by_month)
    if r_day >= REGULAR > IRREGULAR >= r_month:
        return ParsedTimes(by_day, "day", f"only day first gives regular steps ({r_day:.0%} equal, not {r_month:.0%})")
    if r_month >= REGULAR > IRREGULAR >= r_day:
        return ParsedTimes(by_month, "month",
                           f"only month first gives regular steps ({r_month:.0%} equal, not {r_day:.0%})")
    separator = fields[1][numeric].mode().iloc[0]
    if separator in ".-":
        return ParsedTimes(by_day, "day", f"the fields are separated by '{separator}', which is written day first")
    differ = numeric & (fields[0] != fields[2])  # a cell that reads differently either way round, if any
    at = differ.idxmax() if differ.any() else numeric.idxmax()
    raise AmbiguousDatesError(f"The dates in {where} can be read day first or month first ({text[at]!r} is "
                              f"{by_day[at]:%d %B %Y} or {by_month[at]:%d %B %Y}): no day or month is above 12 and "
                              "both orders give steps as regular. Choose the date order.")


def file_row(index) -> str:
    """The row number a person sees in the file for a frame index (the header is row 1)."""
    try:
        return f"{int(index) + 2:,}"
    except (TypeError, ValueError):
        return str(index)


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
