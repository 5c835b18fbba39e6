"""Numbers as people write them: '1,5' and '20.006,84' (a decimal comma, dots grouping thousands), '20,006.84'
(commas grouping thousands), '20 006,84' and "1'234.5" (spaces or apostrophes grouping), beside plain '1.5'.

A column is read with one convention, decided from its cells: a cell such as '20.006,84' or '1,5' says the comma
is the decimal mark, so '1.234' in the same column is 1234, not 1.234; a cell such as '20,006.84' or '1,234,567'
says commas group thousands. Without such a cell a lone '1,234' reads as 1.234 (a decimal comma: CSV files with
';' between fields are written so), as before.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SIGN = r"[+-]?"
GROUP_SPACE = r"[ \u00a0\u202f']"  # a space, a no-break space, a narrow no-break space or an apostrophe
DECIMAL_COMMA = (rf"{SIGN}\d{{1,3}}(?:\.\d{{3}})+,\d*", rf"{SIGN}\d+,\d+", rf"{SIGN}\d{{1,3}}(?:\.\d{{3}}){{2,}}")
THOUSANDS_COMMA = (rf"{SIGN}\d{{1,3}}(?:,\d{{3}})+\.\d*", rf"{SIGN}\d{{1,3}}(?:,\d{{3}}){{2,}}")
# every cell a convention reads (the evidence above, and what it implies for plainer cells)
READS = {"comma": rf"{SIGN}\d{{1,3}}(?:\.\d{{3}})+(?:,\d*)?|{SIGN}\d+(?:,\d+)?",
         "point": rf"{SIGN}\d{{1,3}}(?:,\d{{3}})+(?:\.\d*)?"}


def _any(text: pd.Series, patterns) -> bool:
    return any(text.str.fullmatch(p).fillna(False).any() for p in patterns)


def convention(text: pd.Series) -> str | None:
    """'comma' (decimal comma), 'point' (commas group thousands) or None, from cells plain parsing refused."""
    if _any(text, THOUSANDS_COMMA):
        return "point"
    if _any(text, DECIMAL_COMMA):
        return "comma"
    return None


def to_numeric(col: pd.Series) -> pd.Series:
    """Numbers stay numbers; text becomes a float where it is a number in one of the ways above, anything else NaN."""
    if pd.api.types.is_bool_dtype(col):
        return pd.Series(np.nan, index=col.index)
    if pd.api.types.is_numeric_dtype(col):
        return col.astype("float64")
    text = col.astype("string").str.strip()
    out = _floats(text)
    refused = out.isna() & text.notna() & (text != "")
    if not refused.any():
        return out
    text = text.str.replace(rf"(?<=\d){GROUP_SPACE}(?=\d{{3}}(?:\D|$))", "", regex=True)  # '20 006,84' -> '20006,84'
    out = out.where(~refused, _floats(text))  # '1234.5' once its grouping is gone
    found = convention(text[refused])
    if found is None:
        return out
    reads = text.str.fullmatch(READS[found]).fillna(False)
    if found == "comma":
        fixed = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        fixed = text.str.replace(",", "", regex=False)
    return out.where(~reads, _floats(fixed.where(reads)))


def _floats(text: pd.Series) -> pd.Series:
    """Plain parsing, as float64 with NaN (pandas gives nullable integers for text of whole numbers)."""
    return pd.to_numeric(text, errors="coerce").astype("float64")
