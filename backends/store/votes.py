"""The SQL of votes (schema version 3): inserting one, reading them, and the runs they judge.

:class:`~pelican_tui.backends.store.sessions.SessionStore` calls these inside
its own transactions; nothing here opens, commits or locks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import cast

from pelican_tui.backends.store import run_rows
from pelican_tui.backends.store.records import WINNERS, RunHeader, Vote, Winner

__all__ = ["WINNERS", "headers", "insert", "latest", "select"]

_VOTE_COLUMNS = "votes.id, run_a, run_b, winner, blind, judge, reason, votes.created_at"
PRIVATE_PROMPT = (
    "EXISTS (SELECT 1 FROM sessions AS same WHERE same.prompt = {prompt} AND same.private = 1)"
)
"""SQL for the one rule of a private prompt: a session of it came from a private prompt
set. ``{prompt}`` is the prompt's expression (a column, or ``?``)."""


def insert(
    conn: sqlite3.Connection,
    run_a: int,
    run_b: int,
    winner: Winner,
    blind: bool,
    judge: str | None,
    reason: str | None,
    created_at: str,
) -> int:
    """Insert one vote (already checked and scrubbed); returns its id."""
    cursor = conn.execute(
        "INSERT INTO votes (run_a, run_b, winner, blind, judge, reason, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (run_a, run_b, winner, int(bool(blind)), judge, reason, created_at),
    )
    return int(cast(int, cursor.lastrowid))


def select(conn: sqlite3.Connection, *, judge: bool, prompt: str | None) -> list[Vote]:
    """The user's votes (``judge`` false) or the judges' (true), oldest first; with
    ``prompt``, only those whose two runs both belong to sessions of that prompt."""
    who = "judge IS NOT NULL" if judge else "judge IS NULL"
    if prompt is None:
        rows = conn.execute(f"SELECT {_VOTE_COLUMNS} FROM votes WHERE {who} ORDER BY votes.id")
    else:
        rows = conn.execute(
            f"SELECT {_VOTE_COLUMNS} FROM votes "
            "JOIN runs AS ra ON ra.id = votes.run_a JOIN sessions AS sa ON sa.id = ra.session_id "
            "JOIN runs AS rb ON rb.id = votes.run_b JOIN sessions AS sb ON sb.id = rb.session_id "
            f"WHERE {who} AND sa.prompt = ? AND sb.prompt = ? ORDER BY votes.id",
            (prompt, prompt),
        )
    return [_vote(row) for row in rows]


def latest(conn: sqlite3.Connection, first: int, second: int) -> Vote | None:
    """The user's latest vote on these two runs, whichever was shown as A; None if none."""
    row = conn.execute(
        f"SELECT {_VOTE_COLUMNS} FROM votes WHERE judge IS NULL AND "
        "((run_a = ? AND run_b = ?) OR (run_a = ? AND run_b = ?)) ORDER BY votes.id DESC LIMIT 1",
        (first, second, second, first),
    ).fetchone()
    return None if row is None else _vote(row)


def _vote(row: sqlite3.Row) -> Vote:
    return Vote(
        id=int(row["id"]),
        run_a=int(row["run_a"]),
        run_b=int(row["run_b"]),
        winner=row["winner"],
        blind=bool(row["blind"]),
        judge=row["judge"],
        reason=row["reason"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def headers(conn: sqlite3.Connection, run_ids: Iterable[int]) -> dict[int, RunHeader]:
    """Who made each run and how, with its session's prompt and whether that prompt is
    private (:meth:`~.sessions.SessionStore.is_private_prompt`); unknown ids are left out."""
    ids = sorted({int(run_id) for run_id in run_ids})
    out: dict[int, RunHeader] = {}
    chunk = 500  # stay well below SQLite's limit on bound parameters
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        marks = ",".join("?" * len(part))
        for row in conn.execute(
            "SELECT runs.id, runs.session_id, sessions.prompt, runs.slot, runs.backend, "
            "runs.model_id, runs.model_info, runs.settings, runs.status, "
            "runs.png IS NOT NULL AS has_picture, runs.picture_facts, "
            f"{PRIVATE_PROMPT.format(prompt='sessions.prompt')} AS private "
            f"FROM runs JOIN sessions ON sessions.id = runs.session_id WHERE runs.id IN ({marks})",
            part,
        ):
            out[int(row["id"])] = run_rows.header(row)
    return out
