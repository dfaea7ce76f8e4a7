"""The session store's schema, one upgrade step per version (``PRAGMA user_version``).

``user_version`` holds the schema version of a store; :data:`UPGRADES` holds
one function per change, ``UPGRADES[n]`` upgrading version ``n`` to ``n + 1``,
and :func:`upgrade` runs the missing steps in one transaction. Steps are
append-only: a store written by any earlier pelican-tui is brought forward,
and one from a newer pelican-tui is refused (:class:`.SessionStoreTooNew`).
To change the schema, append a step and never edit an old one.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

from pelican_tui.backends.store.records import SessionStoreTooNew

APPLICATION_ID = 0x50454C49
"""``PRAGMA application_id`` of a pelican-tui store ("PELI")."""


def _upgrade_0_to_1(conn: sqlite3.Connection) -> None:
    """The original schema."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            prompt TEXT NOT NULL,
            title TEXT NOT NULL,
            verdict TEXT CHECK (verdict IS NULL OR verdict IN ('left', 'right', 'tie'))
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            slot TEXT NOT NULL CHECK (slot IN ('left', 'right')),
            backend TEXT NOT NULL,
            model_id TEXT NOT NULL,
            model_info TEXT NOT NULL DEFAULT '{}',
            settings TEXT NOT NULL DEFAULT '{}',
            thinking_text TEXT NOT NULL DEFAULT '',
            answer TEXT NOT NULL DEFAULT '',
            svg TEXT,
            svg_note TEXT,
            png BLOB,
            status TEXT NOT NULL CHECK (
                status IN ('running', 'finished', 'failed', 'cancelled', 'interrupted')
            ),
            failure_reason TEXT,
            timings TEXT NOT NULL DEFAULT '{}',
            usage TEXT NOT NULL DEFAULT '{}',
            peak_ram TEXT NOT NULL DEFAULT '{}',
            host TEXT NOT NULL DEFAULT '{}',
            started_at TEXT NOT NULL,
            finished_at TEXT
        )
        """
    )


def _upgrade_1_to_2(conn: sqlite3.Connection) -> None:
    """A note beside the verdict, the owner of a running run, and indexes."""
    conn.execute("ALTER TABLE sessions ADD COLUMN verdict_note TEXT")
    # "pid:start-time" of the process writing a running run; NULL for runs
    # from version 1, which count as not owned by any live process.
    conn.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
    conn.execute("CREATE INDEX runs_by_session ON runs (session_id, id)")
    conn.execute("CREATE INDEX sessions_by_created ON sessions (created_at)")
    conn.execute("CREATE INDEX runs_running ON runs (status) WHERE status = 'running'")


def _upgrade_2_to_3(conn: sqlite3.Connection) -> None:
    """Prompt sets and privacy, measured picture facts, and votes on pairs of runs."""
    conn.execute("ALTER TABLE sessions ADD COLUMN prompt_set TEXT")
    conn.execute(
        "ALTER TABLE sessions ADD COLUMN private INTEGER NOT NULL DEFAULT 0 "
        "CHECK (private IN (0, 1))"
    )
    conn.execute("ALTER TABLE runs ADD COLUMN picture_facts TEXT NOT NULL DEFAULT '{}'")
    conn.execute(
        """
        CREATE TABLE votes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_a INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            run_b INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
            blind INTEGER NOT NULL CHECK (blind IN (0, 1)),
            judge TEXT,
            reason TEXT,
            created_at TEXT NOT NULL,
            CHECK (run_a <> run_b)
        )
        """
    )
    conn.execute("CREATE INDEX votes_by_run_a ON votes (run_a)")
    conn.execute("CREATE INDEX votes_by_run_b ON votes (run_b)")
    conn.execute("CREATE INDEX sessions_by_prompt ON sessions (prompt, id)")


def _upgrade_3_to_4(conn: sqlite3.Connection) -> None:
    """The sessions list's runs read from indexes alone, never from the runs' rows.

    A run's row holds its texts and PNG before ``status``: reading ``status``
    from the row walks every overflow page of the picture (~20 pages of a 70 KB
    PNG), most of a page's read. ``runs_listed`` holds what the list shows of a
    run and replaces ``runs_by_session``, its first two columns; ``runs_pictured``
    lists the runs with an SVG (``svg IS NOT NULL`` is not read from an index on
    an expression before SQLite 3.41).
    """
    conn.execute(
        "CREATE INDEX runs_listed ON runs (session_id, id, slot, backend, model_id, status)"
    )
    conn.execute("CREATE INDEX runs_pictured ON runs (session_id, id) WHERE svg IS NOT NULL")
    conn.execute("DROP INDEX runs_by_session")


UPGRADES: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _upgrade_0_to_1,
    _upgrade_1_to_2,
    _upgrade_2_to_3,
    _upgrade_3_to_4,
)
"""``UPGRADES[n]`` upgrades a store from version ``n`` to ``n + 1``. Append only."""

SCHEMA_VERSION = len(UPGRADES)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def upgrade(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the store on ``conn`` to version ``target`` in one transaction.

    Returns the version before. Each step sets ``user_version`` after itself,
    and the whole upgrade commits or rolls back as one, so a crash mid-upgrade
    leaves the old version intact. Tests use ``target=1`` to build an old store.
    """
    if not 0 <= target <= SCHEMA_VERSION:
        raise ValueError(f"no schema version {target}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read inside the write lock: another process may have just upgraded.
        before = schema_version(conn)
        if before > SCHEMA_VERSION:
            raise SessionStoreTooNew(Path(_db_path(conn)), before, SCHEMA_VERSION)
        for version in range(before, target):
            UPGRADES[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return before


def _db_path(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row else "?"
