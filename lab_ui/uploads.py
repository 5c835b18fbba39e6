"""An uploaded series in the address bar: the server keeps the file (server.uploads()), the link carries its digest
and how it was read, so a reload or the copied link opens the same data (and, through the model cache or the
training under way, the same model)."""
from __future__ import annotations

from typing import Mapping

import scgru_core as sc
from scgru_core.data import AUTO, MISSING_POLICIES
from scgru_core.times import DATE_ORDERS
from scgru_core.urlstate import echo

from . import server, session, state

DATA, COLUMN, TIME, MISSING, DATES = "data", "column", "time", "missing", "dates"
KEYS = (DATA, COLUMN, TIME, MISSING, DATES)
NO_TIME = ""  # the link's `time` when the file is read without a time column


def link_params() -> dict[str, str]:
    """The upload in force as link parameters: its digest and how it was read (empty for a sample)."""
    now = session.get()
    source, series = now.source or {}, now.series
    if source.get("kind") != "upload" or not source.get("digest") or series is None:
        return {}
    read = now.read or sc.ReadConfig()
    return {DATA: source["digest"], COLUMN: series.report.column, TIME: series.report.time_column or NO_TIME,
            MISSING: read.missing, DATES: read.date_order}


def _one(query: Mapping, key: str) -> str | None:
    values = query.get_all(key) if hasattr(query, "get_all") else [query.get(key)]
    values = [v for v in values if v is not None]
    return str(values[-1]) if values else None


def read_config(query: Mapping) -> tuple[sc.ReadConfig, list[str]]:
    """How a link says its upload was read; a value no form could hold is ignored (and said)."""
    ignored, missing, dates = [], _one(query, MISSING) or "interpolate", _one(query, DATES) or "auto"
    if missing not in MISSING_POLICIES:
        ignored.append(f"{MISSING}={echo(missing)}")
        missing = "interpolate"
    if dates not in DATE_ORDERS:
        ignored.append(f"{DATES}={echo(dates)}")
        dates = "auto"
    time = _one(query, TIME)
    return sc.ReadConfig(column=_one(query, COLUMN), time_column=AUTO if time is None else (time or None),
                         missing=missing, date_order=dates), ignored


def digest_of(query: Mapping) -> str | None:
    return _one(query, DATA)


def restore(query: Mapping, windows: sc.WindowConfig) -> str | None:
    """Put the link's upload in force with the link's reading and windows. None when it is in force, else why
    not (the server no longer holds it, or it no longer reads with these settings): the session's data is then
    unchanged."""
    upload = server.uploads().get(digest_of(query))
    if upload is None:
        return "the server no longer keeps it (it keeps the most recent uploads)"
    read, _ = read_config(query)
    try:
        frame = sc.read_table_apart(upload.raw, upload.filename)
        state.use_table(frame, state.upload_source(upload.filename, digest_of(query)), read, windows)
    except sc.ScgruError as exc:
        return f"it could not be read with the link's settings ({exc})"
    return None
