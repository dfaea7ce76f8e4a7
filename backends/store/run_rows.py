"""A row of ``runs`` read into a record: a whole :class:`Run`, or a :class:`RunHeader`.

The two share the columns that say which run it is, who made it and how, and
how it ended; :func:`_identity` reads those for both, so a column read one way
for a run is read the same way for its header.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pelican_tui.backends.store.records import (
    Run,
    RunHeader,
    cut_to_nothing,
    json_dict,
    stored_time,
)

RUN_COLUMNS = (
    "id, session_id, slot, backend, model_id, model_info, settings, thinking_text, answer, "
    "svg, svg_note, png, status, failure_reason, timings, usage, peak_ram, host, "
    "started_at, finished_at, picture_facts"
)
"""Every column :func:`run` reads."""


def _identity(row: sqlite3.Row) -> dict[str, Any]:
    """The fields a :class:`Run` and a :class:`RunHeader` both have, by name: which
    run, who made it and how, and how it ended."""
    return {
        "id": int(row["id"]),
        "session_id": int(row["session_id"]),
        "slot": row["slot"],
        "backend": row["backend"],
        "model_id": row["model_id"],
        "model_info": json_dict(row["model_info"]),
        "settings": json_dict(row["settings"]),
        "status": row["status"],
    }


def run(row: sqlite3.Row) -> Run:
    """A run, pictures and texts included, from a row of :data:`RUN_COLUMNS`."""
    finished = row["finished_at"]
    png = row["png"]
    return Run(
        **_identity(row),
        thinking_text=row["thinking_text"],
        answer=row["answer"],
        svg=row["svg"],
        svg_note=row["svg_note"],
        png=bytes(png) if png is not None else None,
        failure_reason=row["failure_reason"],
        timings=json_dict(row["timings"]),
        usage=json_dict(row["usage"]),
        peak_ram=json_dict(row["peak_ram"]),
        host=json_dict(row["host"]),
        started_at=stored_time(row["started_at"]),
        finished_at=stored_time(finished) if finished else None,
        picture_facts=json_dict(row["picture_facts"]),
    )


def header(row: sqlite3.Row) -> RunHeader:
    """Who made a run and how, from a row of the :class:`RunHeader` columns, with its
    session's ``prompt`` and ``private``, and ``has_picture`` (its PNG is stored)."""
    return RunHeader(
        **_identity(row),
        prompt=row["prompt"],
        private=bool(row["private"]),
        has_picture=bool(row["has_picture"]),
        cut_to_nothing=cut_to_nothing(json_dict(row["picture_facts"])),
    )


__all__ = ["RUN_COLUMNS", "header", "run"]
