"""Opening the session store's SQLite file: private, checked, in WAL mode, upgraded.

:func:`open_checked` looks before it changes anything: a file that belongs to
something else or to a newer pelican-tui is left as it is; a damaged one raises
:class:`Corrupt`, and :func:`move_aside` then keeps it beside a fresh store.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import datetime
from pathlib import Path

from pelican_tui.backends import locations
from pelican_tui.backends.store.records import SessionStoreError, SessionStoreTooNew
from pelican_tui.backends.store.upgrades import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    schema_version,
    upgrade,
)


class Corrupt(Exception):
    """The file is damaged (SQLite says so, or ``PRAGMA quick_check`` finds faults)."""


def create_private_file(path: Path) -> None:
    """Create the empty database file readable by its owner only (SQLite copies
    the mode to its -wal and -shm files)."""
    locations.ensure(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        timeout=busy_timeout,
        isolation_level=None,  # we issue BEGIN/COMMIT ourselves
        check_same_thread=False,  # guarded by SessionStore._lock
    )
    conn.row_factory = sqlite3.Row
    return conn


def open_checked(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """Connect, check, switch to WAL and upgrade. Raises :class:`Corrupt`."""
    conn = _connect(path, busy_timeout)
    try:
        # Look before changing anything: a newer or foreign file is left as it is.
        version = schema_version(conn)
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        if app_id not in (0, APPLICATION_ID):
            raise SessionStoreError(f"{path} is an SQLite file but not a pelican-tui session store")
        if version > SCHEMA_VERSION:
            raise SessionStoreTooNew(path, version, SCHEMA_VERSION)
        if version == 0 and conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
            raise SessionStoreError(f"{path} is an SQLite file but not a pelican-tui session store")
        check = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
        if check != ["ok"]:
            raise Corrupt("; ".join(check[:3]))
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        upgrade(conn)
        return conn
    except sqlite3.DatabaseError as error:
        conn.close()
        if _is_corruption(error):
            raise Corrupt(str(error)) from error
        raise SessionStoreError(f"could not open the session store {path}: {error}") from error
    except BaseException:
        conn.close()
        raise


def move_aside(path: Path, now: datetime) -> Path:
    stamp = now.astimezone().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    path.replace(target)
    # Keep the journal files beside it under matching names, so SQLite tools
    # can still read whatever is left.
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(target.with_name(target.name + suffix))
    return target


_CORRUPT_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _is_corruption(error: sqlite3.DatabaseError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _CORRUPT_CODES
