"""An uploaded series in the address bar: the server keeps the file (server.uploads()), the link carries its digest
and how it was read, so a reload or the copied link opens the same data (and, through the model cache or the
training under way, the same model)."""
from __future__ import annotations

from typing import Mapping

import scgru_core as sc
from scgru_core.data.reading import AUTO, MISSING_POLICIES
from scgru_core.data.times import DATE_ORDERS
from scgru_core.teach.links import echo, query_value

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


def read_config(query: Mapping) -> tuple[sc.ReadConfig, list[str]]:
    """How a link says its upload was read; a value no form could hold is ignored (and said)."""
    ignored, missing, dates = [], query_value(query, MISSING) or "interpolate", query_value(query, DATES) or "auto"
    if missing not in MISSING_POLICIES:
        ignored.append(f"{MISSING}={echo(missing)}")
        missing = "interpolate"
    if dates not in DATE_ORDERS:
        ignored.append(f"{DATES}={echo(dates)}")
        dates = "auto"
    time = query_value(query, TIME)
    return sc.ReadConfig(column=query_value(query, COLUMN), time_column=AUTO if time is None else (time or None),
                         missing=missing, date_order=dates), ignored


def digest_of(query: Mapping) -> str | None:
    return query_value(query, DATA)


def restore(query: Mapping, read: sc.ReadConfig, windows: sc.WindowConfig) -> str | None:
    """Put the link's upload in force, read with `read` and cut with `windows`. None when it is in force, else why
    not (the server no longer holds it, or it does not read with these settings): the session's data is then
    unchanged."""
    upload = server.uploads().get(digest_of(query))
    if upload is None:
        return "the server no longer keeps it (it keeps the most recent uploads)"
    try:
        frame = sc.read_table_apart(upload.raw, upload.filename)
        state.use_table(frame, state.upload_source(upload.filename, digest_of(query)), read, windows)
    except sc.ScgruError as exc:
        return f"it could not be read with the link's settings ({exc})"
    return None
