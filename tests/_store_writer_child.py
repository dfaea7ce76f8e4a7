"""A pelican-tui process writing to the session store, for the tests to SIGKILL.

Run as a script; it reports on stdout in JSON lines and, when told to stop,
blocks on stdin until it is killed.

``stop DB OPERATION STOP_AT TARGET``
    Start a run and checkpoint it ("old thinking", "old answer"), then do
    OPERATION (``finish_run``, ``update_run_progress``, ``delete_session`` of
    session TARGET, or ``add_vote`` of the run against TARGET's first run)
    through :class:`SessionStore`, with big texts. A SQLite
    trace callback on the store's own connection counts the statements the
    operation issues; just before statement number STOP_AT starts it reports
    ``{"stopped_before": ..., "earlier": [...], "wal_bytes": ...}`` and blocks,
    so the kill lands at a known point inside SessionStore's transaction. If
    the operation issues fewer statements, it reports ``{"returned": ...}``
    after it returns and blocks there. A tiny page cache makes SQLite spill the
    uncommitted pages into the WAL, so they are on disk when the kill comes.

``hold DB``
    Open the store, report ``{"check": ...}`` (how the open checked it) and
    block with it open: a pelican-tui killed while it has the store open.

``loop DB CHARS``
    Checkpoint one run over and over; texts of CHARS characters starting with
    a six-digit sequence number, the same one in the thinking text and the
    answer. Reports ``{"committed": n}`` after each checkpoint returns.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from pelican_tui.backends.store.sessions import SessionStore

BIG = 2 * 1024 * 1024
"""Characters (and PNG bytes) written by the stopped operation."""

PICTURE_FACTS = {"renders": True, "elements": 7, "svg_bytes": 2048}
"""What the stopped ``finish_run`` records about the picture."""


def report(**data: Any) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def wait_to_be_killed() -> None:
    sys.stdin.read()
    os._exit(3)  # the parent went away without killing this writer: stop, write nothing


def new_texts(tag: str) -> tuple[str, str]:
    return tag + "t" * BIG, tag + "a" * BIG


def stop(db: Path, operation: str, stop_at: int, target: int) -> None:
    wal = db.with_name(db.name + "-wal")
    with SessionStore.open(db) as store:
        session = store.create_session("in flight")
        run = store.start_run(
            session.id, "right", "claude", "claude-opus-4-7", {"model": "c"}, {"thinking": True}, {}
        )
        store.update_run_progress(run, "old thinking", "old answer")
        conn = store._connection()
        conn.execute("PRAGMA cache_size = 8")
        # An empty WAL, so its size says what this operation wrote.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        report(session=session.id, run=run, wal_bytes=wal.stat().st_size)

        statements: list[str] = []

        def trace(sql: str) -> None:
            statements.append(" ".join(sql.split()[:2]).upper())
            if len(statements) == stop_at:
                report(
                    stopped_before=statements[-1],
                    earlier=statements[:-1],
                    wal_bytes=wal.stat().st_size,
                )
                wait_to_be_killed()

        opponent = store.get_session(target).runs[0].id
        conn.set_trace_callback(trace)
        thinking, answer = new_texts("new")
        if operation == "finish_run":
            store.finish_run(
                run,
                thinking_text=thinking,
                answer=answer,
                svg="<svg/>",
                png=b"P" * BIG,
                timings={"total_s": 9.0},
                picture_facts=PICTURE_FACTS,
            )
        elif operation == "update_run_progress":
            store.update_run_progress(run, thinking, answer)
        elif operation == "delete_session":
            store.delete_session(target)
        elif operation == "add_vote":
            store.add_vote(run, opponent, "b", blind=True, reason="the wheels")
        else:
            raise SystemExit(f"unknown operation {operation}")
        conn.set_trace_callback(None)
        report(returned=statements, wal_bytes=wal.stat().st_size)
        wait_to_be_killed()


def hold(db: Path) -> None:
    with SessionStore.open(db) as store:
        report(check=store.check_on_open)
        wait_to_be_killed()


def loop(db: Path, chars: int) -> None:
    with SessionStore.open(db) as store:
        session = store.create_session("looping")
        run = store.start_run(session.id, "left", "local", "m.gguf", {}, {"thinking": True}, {})
        report(session=session.id, run=run)
        n = 0
        while True:
            n += 1
            tag = f"{n:06d}"
            store.update_run_progress(run, tag + "t" * chars, tag + "a" * chars)
            report(committed=n)


def main(argv: list[str]) -> None:
    sqlite3.enable_callback_tracebacks(True)
    mode, db = argv[0], Path(argv[1])
    if mode == "stop":
        stop(db, argv[2], int(argv[3]), int(argv[4]))
    elif mode == "hold":
        hold(db)
    elif mode == "loop":
        loop(db, int(argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
