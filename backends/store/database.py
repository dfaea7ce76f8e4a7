"""Opening the session store's SQLite file: private, checked, in WAL mode, upgraded.

:func:`open_checked` looks before it changes anything: a file that belongs to
something else or to a newer pelican-tui is left as it is; a damaged one raises
:class:`Corrupt`, and :func:`move_aside` then keeps it beside a fresh store.

The whole-file check (``PRAGMA quick_check``) costs as much as the history is
long, so it runs only when the file may not be as pelican-tui left it
(:data:`Check`). :func:`close` records, in ``sessions.sqlite3-closed``, the
size and modification time of a file its last connection closed whole (no
write-ahead log left, no corruption seen); :func:`open_checked` trusts that
record only while the file still has them and no ``-wal`` file is beside it
(a crashed or still-running writer leaves one), and removes it once open.
A change that keeps the size within the file system's timestamp granularity
of that close would go unseen (Linux 6.13+ ext4, xfs, btrfs and tmpfs give a
change after a ``stat`` a new timestamp, so none there).

A store whose folder cannot be written to (a read-only file system, a folder made
immutable) cannot be opened as usual: reading a WAL-mode file needs its ``-shm``
file, made beside it. :func:`open_read_only` reads it anyway, changing nothing:
with no ``-wal`` file beside it (SQLite folds the log into the file and removes it
when the last connection closes), the file holds every commit and is opened
``immutable`` (no ``-shm`` needed); with one (a writer that crashed, or one using
the folder through a writable path), through that log and its ``-shm`` file, as
``immutable`` would not read the log and its commits would go unseen. A writer
that starts after the open is not seen, and reads may fail while it writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pelican_tui.backends import locations
from pelican_tui.backends.store.records import (
    SessionStoreDamaged,
    SessionStoreError,
    SessionStoreTooNew,
)
from pelican_tui.backends.store.upgrades import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    schema_version,
    upgrade,
)


class Corrupt(Exception):
    """The file is damaged (SQLite says so, or ``PRAGMA quick_check`` finds faults)."""


Check = Literal["full", "clean close", "open here"]
"""How :func:`open_checked` checked a file, besides its header:

- ``"full"``: ``PRAGMA quick_check`` over the whole file: it is new, it was
  not closed cleanly (a ``-wal`` file is left: a crash, or another process has
  it open), it changed since, or the last close saw it damaged;
- ``"clean close"``: the last pelican-tui to close it left it whole and it has
  the same size and modification time: header only;
- ``"open here"``: this process already has it open, checked: header only.
"""

CLOSED_SUFFIX = "-closed"
"""The clean-close record beside the store (``sessions.sqlite3-closed``)."""

_lock = threading.Lock()
_open_here: dict[sqlite3.Connection, tuple[int, int]] = {}
"""Connections :func:`open_checked` made in this process, to their file's (device, inode)."""


def create_private_file(path: Path) -> None:
    """Create the empty database file readable by its owner only (SQLite copies
    the mode to its -wal and -shm files)."""
    locations.ensure(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _connect(path: Path | str, busy_timeout: float, *, uri: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        timeout=busy_timeout,
        isolation_level=None,  # we issue BEGIN/COMMIT ourselves
        check_same_thread=False,  # guarded by SessionStore._lock
        uri=uri,
    )
    conn.row_factory = _checked_row
    return conn


BLOB_COLUMNS = frozenset({"png"})
"""The columns that hold bytes; bytes in any other were put there outside pelican-tui
(SQLite keeps what it is given, whatever the column's type)."""


def _checked_row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> sqlite3.Row:
    """A row as :class:`sqlite3.Row`, with no bytes where text belongs: such a value
    would fail far from here, in whatever first treats it as text."""
    for column, value in zip(cursor.description, values, strict=True):
        if isinstance(value, bytes) and column[0] not in BLOB_COLUMNS:
            raise SessionStoreDamaged(value, f"text, in column {column[0]}")
    return sqlite3.Row(cursor, values)


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _fingerprint(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _closed_cleanly(path: Path) -> bool:
    """The clean-close record matches the file and no write-ahead log is left beside it."""
    if _side(path, "-wal").exists():
        return False
    try:
        recorded = json.loads(_side(path, CLOSED_SUFFIX).read_text(encoding="utf-8"))
        return bool(recorded == _fingerprint(path))
    except (OSError, ValueError):
        return False


def _choose_check(path: Path) -> tuple[Check, tuple[int, int]]:
    st = path.stat()
    key = (st.st_dev, st.st_ino)
    with _lock:
        if key in _open_here.values():
            return "open here", key
    return ("clean close" if _closed_cleanly(path) else "full"), key


def _emptied(path: Path) -> str | None:
    """Why an empty file is not a new store: the last clean close recorded it with
    sessions in it (it was truncated since). None: it is not that."""
    try:
        if path.stat().st_size:
            return None
        recorded = json.loads(_side(path, CLOSED_SUFFIX).read_text(encoding="utf-8"))
        size = int(recorded["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return f"the file is empty, but held {size:,} bytes when last closed" if size else None


def is_new_file(path: Path) -> bool:
    """An empty file that is no emptied store (:func:`_emptied`): one created a moment
    ago for a store, or by hand; opening it writes a store into it."""
    try:
        return path.stat().st_size == 0 and _emptied(path) is None
    except OSError:
        return False


def open_checked(path: Path, busy_timeout: float) -> tuple[sqlite3.Connection, Check]:
    """Connect, check (:data:`Check` says how), switch to WAL and upgrade.
    Raises :class:`Corrupt`. Close the connection with :func:`close`."""
    emptied = _emptied(path)
    if emptied is not None:  # SQLite would take it for a new store, and lose nothing visibly
        raise Corrupt(emptied)
    check, key = _choose_check(path)
    try:
        conn = _connect(path, busy_timeout)
    except sqlite3.Error as error:  # a folder in its place, no permission to read it
        raise SessionStoreError(f"could not open the session store {path}: {error}") from error
    try:
        _look(conn, path, check)
        _use_wal(conn, busy_timeout)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        upgrade(conn)
        # Open now: a crash from here on must leave no clean-close record.
        _side(path, CLOSED_SUFFIX).unlink(missing_ok=True)
        with _lock:
            _open_here[conn] = key
        return conn, check
    except sqlite3.DatabaseError as error:
        conn.close()
        if is_corruption(error):
            raise Corrupt(str(error)) from error
        raise SessionStoreError(f"could not open the session store {path}: {error}") from error
    except BaseException:
        conn.close()
        raise


def _look(conn: sqlite3.Connection, path: Path, check: Check) -> int:
    """Check the file as :data:`Check` says, changing nothing; returns its schema version.
    Raises :class:`Corrupt`, or :class:`SessionStoreError` for a newer or foreign file."""
    # Look before changing anything: a newer or foreign file is left as it is.
    # One read transaction: another process may be creating this store right now,
    # and its tables and version must be seen together (apart, a store it had just
    # made looked like someone else's file: no version yet, tables already).
    with read_transaction(conn):
        version = schema_version(conn)
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        tables = int(conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0])
    if app_id not in (0, APPLICATION_ID) or (version == 0 and tables):
        raise SessionStoreError(f"{path} is an SQLite file but not a pelican-tui session store")
    if version > SCHEMA_VERSION:
        raise SessionStoreTooNew(path, version, SCHEMA_VERSION)
    if check == "full":
        faults = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
        if faults != ["ok"]:
            raise Corrupt("; ".join(faults[:3]))
    return version


def unwritable_folder(path: Path) -> str | None:
    """Why nothing can be made beside the store ``path`` (its ``-wal`` and ``-shm``
    files), or None: it can."""
    folder = path.parent
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"its folder {folder} is on a read-only file system"
    except OSError:
        pass
    return f"its folder {folder} is not writable"


def open_read_only(path: Path, busy_timeout: float) -> tuple[sqlite3.Connection, Check]:
    """Connect to read only, for a store whose folder cannot be written to (see the
    module doc): checked as :func:`open_checked` checks, nothing changed, nothing
    recorded. Raises :class:`Corrupt`; :class:`SessionStoreError` also for a store
    that would need an upgrade or could not be read whole here. Close the
    connection with :func:`close`."""
    log_left = _side(path, "-wal").exists()
    mode = "mode=ro" if log_left else "mode=ro&immutable=1"
    check: Check = "clean close" if _closed_cleanly(path) else "full"
    try:
        conn = _connect(f"{path.absolute().as_uri()}?{mode}", busy_timeout, uri=True)
    except sqlite3.Error as error:
        raise SessionStoreError(f"could not open the session store {path}: {error}") from error
    try:
        version = _look(conn, path, check)
        if version == 0:
            raise SessionStoreError(
                f"the session store {path} is empty, and cannot be made: {unwritable_folder(path)}"
            )
        if version < SCHEMA_VERSION:
            raise SessionStoreError(
                f"the session store {path} was made by an older pelican-tui and must be "
                "upgraded, which needs its folder to be writable"
            )
        return conn, check
    except sqlite3.DatabaseError as error:
        conn.close()
        if is_corruption(error):
            raise Corrupt(str(error)) from error
        if log_left:  # its -shm file is gone: SQLite cannot read the log without it
            raise SessionStoreError(
                f"the session store {path} was not closed cleanly (its write-ahead log is "
                f"beside it), and its folder cannot be written to, so it cannot be read "
                f"whole: open it once where its folder is writable ({error})"
            ) from error
        raise SessionStoreError(f"could not open the session store {path}: {error}") from error
    except BaseException:
        conn.close()
        raise


@contextlib.contextmanager
def read_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: the reads inside see the file as it was at their first.
    Ending it changes nothing, so an error ending it is passed over."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("COMMIT")


def _use_wal(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """Switch to write-ahead logging, waiting up to ``busy_timeout`` for other writers.

    While another connection writes a store still in rollback-journal mode (another
    process creating it at the same moment), SQLite answers the switch with "database
    is locked" at once, without its busy wait: the open failed, and the app's
    comparison went unsaved. So the switch is tried again until the other is done.
    """
    deadline = time.monotonic() + busy_timeout
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            busy = getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def close(conn: sqlite3.Connection, path: Path, *, whole: bool) -> None:
    """Close a connection from :func:`open_checked` (or :func:`open_read_only`: nothing
    is recorded for it). When it was this process's
    last on the file and no other process has it open (SQLite removed the
    ``-wal`` file), record a clean close unless ``whole`` is false (corruption
    was seen): the next open may then skip the whole-file check."""
    with _lock:
        key = _open_here.pop(conn, None)
        conn.close()
        last = key is not None and key not in _open_here.values()
        if last and whole and not _side(path, "-wal").exists():
            with contextlib.suppress(OSError):
                _record_clean_close(path)


def _record_clean_close(path: Path) -> None:
    partial = _side(path, f"{CLOSED_SUFFIX}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(_fingerprint(path)), encoding="utf-8")
    partial.replace(_side(path, CLOSED_SUFFIX))


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
        side = _side(path, suffix)
        if side.exists():
            side.replace(_side(target, suffix))
    _side(path, CLOSED_SUFFIX).unlink(missing_ok=True)  # it described the moved file
    return target


_CORRUPT_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def is_corruption(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _CORRUPT_CODES
