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
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _upgrade_4_to_5(conn: sqlite3.Connection) -> None:
    """Runs stored before a URL's password with a space in it was hidden lose it.

    What finds a URL's user and password in a text stops at white space, so such a
    password stayed in a run's recorded URL (``model_info``'s ``url``, any key whose
    last word is "url") and command line (``server_args``: an argument
    ``http://alice:s3cret PW@host/m.gguf``), and in what quoted it (a failure reason).
    Where the URL is one value its whole user information is known: a URL under such
    a key loses it, as one stored now does; an argument has it replaced by
    ``[redacted]``; and it, and its password alone, are replaced wherever else they
    appear in that run's texts. Runs without such a URL are not written. The policy is
    written out here, not taken from :mod:`pelican_tui.backends.secrets`, so this step
    stays as it is when that changes. The pages the old values were on are zeroed
    (``secure_delete``), so the file keeps no copy of them.
    """
    (secure_delete,) = conn.execute("PRAGMA secure_delete").fetchone()
    conn.execute("PRAGMA secure_delete = ON")
    try:
        _scrub_url_user_info(conn)
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(secure_delete)}")


def _scrub_url_user_info(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT id, model_info, settings FROM runs").fetchall()
    texts = [  # the other text columns, as the file has them
        name
        for _cid, name, kind, *_rest in conn.execute("PRAGMA table_info(runs)")
        if kind.upper() == "TEXT" and name not in ("model_info", "settings")
    ]
    for run_id, model_info, settings in rows:
        found: set[str] = set()
        parsed = [_json_or_none(text) for text in (model_info, settings)]
        stripped = [_without_user_info(value, found) for value in parsed]
        if not found:
            continue
        known = sorted((v for v in found if len(v) >= _MIN_KNOWN), key=len, reverse=True)
        model_info, settings = (
            text if value is None else _json_text(_known_replaced(value, known))
            for text, value in zip((model_info, settings), stripped, strict=True)
        )
        conn.execute(
            "UPDATE runs SET model_info = ?, settings = ? WHERE id = ?",
            (model_info, settings, run_id),
        )
        for value in known:
            for column in texts:
                conn.execute(
                    f"UPDATE runs SET {column} = replace({column}, ?, ?) "
                    f"WHERE id = ? AND instr({column}, ?) > 0",
                    (value, _REDACTED, run_id, value),
                )


_REDACTED = "[redacted]"
_MIN_KNOWN = 8
"""Known values shorter than this are not searched for in texts (the secret policy's)."""
_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_URL_USER_INFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://|)([^/?#\[\]]*)@")
"""A URL's scheme (or none) and its user information, up to its last ``@``."""
_ARG_USER_INFO = re.compile(r"^((?:-[^=]*=)?[A-Za-z][A-Za-z0-9+.\-]*://)([^/?#\[\]]*)@")
"""An argument that is a URL with user information (``--flag=URL`` too)."""


def _json_or_none(text: object) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _json_text(value: Any) -> str:
    """As the store writes a dict column."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _user_info(match: re.Match[str], found: set[str]) -> None:
    info = match.group(2)
    found.update((info, info.partition(":")[2]))


def _without_user_info(value: Any, found: set[str], key: str = "") -> Any:
    """``value`` with URLs under ``url`` keys, and arguments that are URLs, without
    their user information (added to ``found``, with the password alone)."""
    if isinstance(value, dict):
        return {k: _without_user_info(v, found, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if isinstance(item, str) and (match := _ARG_USER_INFO.match(item)):
                _user_info(match, found)
                item = f"{match.group(1)}{_REDACTED}@{item[match.end() :]}"
            out.append(_without_user_info(item, found))
        return out
    url_key = _NAME_WORD.findall(key)[-1:] in (["url"], ["URL"])
    if url_key and isinstance(value, str) and (match := _URL_USER_INFO.match(value.strip())):
        _user_info(match, found)
        return match.group(1) + value.strip()[match.end() :]
    return value


def _known_replaced(value: Any, known: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _known_replaced(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_known_replaced(item, known) for item in value]
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, _REDACTED)
    return value


UPGRADES: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _upgrade_0_to_1,
    _upgrade_1_to_2,
    _upgrade_2_to_3,
    _upgrade_3_to_4,
    _upgrade_4_to_5,
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
