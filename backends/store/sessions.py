"""Saved sessions: every prompt and every run, in one SQLite file a user can trust.

The store lives at :func:`~pelican_tui.backends.locations.sessions_db` and is
created only when opened for writing. Guarantees:

- **Every write is one transaction** (``BEGIN IMMEDIATE`` ... ``COMMIT``), in
  WAL mode with ``synchronous=FULL``. Killing pelican-tui at any moment loses at
  most what was not yet committed: a run is committed as "running" the moment
  it starts and its text is checkpointed with :meth:`SessionStore.update_run_progress`.
- **Crashed runs are visible.** Each running run records its owner process
  (pid and start time). On open, runs still "running" whose owner is gone
  become "interrupted" (:meth:`SessionStore.mark_interrupted`); runs of a live
  pelican-tui (a second window, a headless batch) are left alone.
- **Versioned schema.** ``PRAGMA user_version`` holds the schema version and
  :data:`.upgrades.UPGRADES` holds one step per change: ``UPGRADES[n]`` upgrades
  version ``n`` to ``n + 1``. A store from a newer pelican-tui is refused
  (:class:`.SessionStoreTooNew`), never downgraded or touched (:mod:`.database`).
- **A store that cannot be written is still read.** With ``read_only_ok``, a
  store whose folder cannot be written to (a read-only file system) is opened to
  read only (:func:`.database.open_read_only`): :attr:`SessionStore.read_only`;
  every write then raises :class:`.SessionStoreError` saying nothing can be saved,
  and runs of crashed processes, which it cannot mark, are read as "interrupted".
  Without it, such an open fails.
- **A corrupt file is moved aside**, to ``sessions.sqlite3.corrupt-YYYYmmdd-HHMMSS``,
  and a fresh store started; :attr:`SessionStore.moved_corrupt_to` and
  :attr:`SessionStore.notices` say where, so the caller can tell the user.
- **Secrets are never stored.** Every text the store writes (prompt, title,
  prompt set name, model id, thinking text, answer, SVG, SVG note, failure
  reason, verdict note, a vote's judge and reason) and every dict field passes
  through the one secret policy (:mod:`pelican_tui.backends.secrets`) first,
  so a key a user pasted into a prompt, or one a model repeated, is replaced
  by ``[redacted]``. That includes
  a key cut off at the end of a text (a checkpoint taken while it streams in,
  an answer stopped by ``max_tokens``).

Conventional keys (the run card and the HTML export label these; others are
shown as they are):

- ``model_info``: ``file``, ``path`` (the file's full path), ``file_size``,
  ``sha256``, ``arch``, ``total_params``, ``active_params``, ``quant``, ``hf``,
  ``url``, ``server_version``,
  ``server_build``, ``server_args`` (list of llama-server arguments), ``context``;
  also understood: ``model``, ``size``, ``params``, ``active``, ``experts``,
  ``trained_ctx``, ``server_flags`` (same as ``server_args``).
- ``settings``: ``thinking`` (bool), ``effort``, ``max_tokens``, ``sampling``
  (dict with ``temperature``, ``top_p``, ``top_k``, ``min_p``, ``presence_penalty``),
  ``system``.
- ``timings``: the field names of :class:`~pelican_tui.backends.events.Timings`.
- ``usage``: the field names of :class:`~pelican_tui.backends.events.Usage`.
- ``peak_ram``: byte counts, e.g. ``server_rss_bytes``, ``app_rss_bytes``; or
  ``server_note``, why a server's was not measured ("remote, memory not visible").
- ``host``: what :func:`~pelican_tui.backends.host_info.host_summary` returns.
- ``picture_facts``: what :func:`pelican_tui.backends.svg.facts.picture_facts` measures.

Votes (schema version 3) judge two runs, shown as A and B, usually of one
prompt; :meth:`SessionStore.add_vote` records one, :meth:`SessionStore.votes`
reads them (the user's or a judge's, never both at once). Deleting a session
deletes the votes on its runs.

The store is safe to share between threads (one lock around the connection):
a Textual thread worker may call it directly. What it holds and raises is in
:mod:`.records`; the schema and its upgrades in :mod:`.upgrades`; a run's
row read into a record in :mod:`.run_rows`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import psutil

from pelican_tui.backends import locations
from pelican_tui.backends.secrets import scrub_secrets, scrub_text
from pelican_tui.backends.store import database, run_rows, votes
from pelican_tui.backends.store.records import (
    BACKENDS,
    FINAL_STATUSES,
    SLOTS,
    VERDICTS,
    BackendKind,
    FinalStatus,
    JSONDict,
    Run,
    RunHeader,
    RunNotFound,
    RunStatus,
    RunSummary,
    Session,
    SessionNotFound,
    SessionStoreError,
    SessionStoreMissing,
    SessionSummary,
    SessionVerdict,
    Slot,
    Verdict,
    Vote,
    Winner,
    json_dict,
    stored_time,
)
from pelican_tui.backends.store.run_rows import RUN_COLUMNS
from pelican_tui.backends.text import LABEL_PARTS, first_line, plural, shown_line

INTERRUPTED_REASON = "pelican-tui stopped before this run finished"


# --------------------------------------------------------------------------- helpers


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _to_dict(value: Mapping[str, Any] | object | None) -> JSONDict:
    if value is None:
        return {}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"expected a mapping or a dataclass, got {type(value).__name__}")


def _dump(value: Mapping[str, Any] | object | None) -> str:
    clean = scrub_secrets(_to_dict(value))
    return json.dumps(clean, sort_keys=True, ensure_ascii=False, default=str)


_VOTED = (
    "SELECT a.session_id, v.winner, a.slot AS slot_a, b.slot AS slot_b "
    "FROM runs a INDEXED BY runs_listed CROSS JOIN votes v ON v.run_a = a.id "
    "JOIN runs b INDEXED BY runs_listed ON b.id = v.run_b AND b.session_id = a.session_id "
    "WHERE a.session_id IN ({marks}) AND a.slot <> b.slot AND v.judge IS NULL ORDER BY v.id"
)
"""Your votes on a left and a right run of one session, oldest first, for the sessions
in ``{marks}``: from their runs to the votes on them (CROSS JOIN keeps that order, as
the runs are read from ``runs_listed`` alone: a run's row holds its texts and picture)."""


def _verdicts(conn: sqlite3.Connection, ids: list[int]) -> dict[int, SessionVerdict]:
    """A session's verdict (:attr:`.records.Session.verdict`) where you voted on two of
    its runs: your latest vote, in whichever order they were shown ("both_bad" too,
    which the verdict column cannot hold). Sessions without such a vote are left out:
    their verdict is the column's (``set_verdict``; stores from before votes)."""
    if not ids:
        return {}
    found: dict[int, SessionVerdict] = {}
    sql = _VOTED.format(marks=",".join("?" * len(ids)))
    for row in conn.execute(sql, ids):
        winner = row["winner"]
        found[int(row["session_id"])] = {"a": row["slot_a"], "b": row["slot_b"]}.get(winner, winner)
    return found


def default_title(prompt: str, width: int = 60) -> str:
    """The first non-empty line of the prompt as it may be shown: secrets scrubbed, no
    control characters (a prompt file can hold escape sequences), shortened to ``width``
    characters."""
    return shown_line(first_line(prompt), width)


def _scrub_optional_text(text: str | None) -> str | None:
    return None if text is None else scrub_text(text)


_own_owner: tuple[int, str] | None = None


def _current_owner() -> str:
    global _own_owner
    pid = os.getpid()
    if _own_owner is None or _own_owner[0] != pid:
        _own_owner = (pid, f"{pid}:{_start_mark(pid)}")
    return _own_owner[1]


def _start_mark(pid: int) -> str:
    """When process ``pid`` started, as a run's owner records it: where the system keeps
    it (Linux's ``/proc/PID/stat``), "t" and its start in clock ticks since boot, which
    no step of the wall clock moves; else its create time, seconds since the epoch.

    A create time is the boot time plus that start, and the boot time is worked out
    from the wall clock: a virtual machine paused and resumed steps it, and the runs of
    a process alive all along then read as crashed to the next open (a second pelican-tui,
    ``sessions list``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return "t" + stat.rpartition(")")[2].split()[19]  # field 22, starttime
    except (OSError, IndexError):
        return f"{psutil.Process(pid).create_time():.3f}"


def _owner_alive(owner: str | None) -> bool:
    if not owner:
        return False
    pid_text, _, started_text = owner.partition(":")
    try:
        pid = int(pid_text)
        started = None if started_text.startswith("t") else float(started_text)
    except ValueError:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if started is None:  # clock ticks since boot: the same process has the same
            return _start_mark(pid) == started_text
        return abs(process.create_time() - started) < 1.0  # a create time (older stores)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # can't look (another user's process): assume it is alive


def read_only_notice(why: str) -> str:
    """What a store opened to read only says (:attr:`SessionStore.notices`), for
    ``why`` nothing can be saved (its folder cannot be written to)."""
    return f"The session store is read only: {why}; nothing can be saved."


def read_only_notice_for(path: Path) -> str | None:
    """What the store at ``path`` says when it is opened (its :func:`read_only_notice`)
    because its folder cannot be written to; None: it can (or there is no folder)."""
    if not path.parent.is_dir():
        return None
    why = database.unwritable_folder(path)
    return None if why is None else read_only_notice(why)


def _runs_of_gone_processes(conn: sqlite3.Connection) -> list[int]:
    """The ids of "running" runs whose process is gone (it crashed, or was killed)."""
    rows = conn.execute("SELECT id, owner FROM runs WHERE status = 'running'").fetchall()
    return [int(row["id"]) for row in rows if not _owner_alive(row["owner"])]


def _check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")


# --------------------------------------------------------------------------- the store


class SessionStore:
    """The session database. Open with :meth:`open`; use as a context manager."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        clock: Callable[[], datetime] = _utc_now,
        moved_corrupt_to: Path | None = None,
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        self._clock = clock
        self.path = path
        self.moved_corrupt_to = moved_corrupt_to
        """Where a corrupt store was moved on open (None: it was fine)."""
        self.interrupted_on_open = 0
        """How many runs of crashed processes :meth:`open` marked "interrupted"."""
        self.check_on_open: database.Check = "full"
        """How :meth:`open` checked the file: the whole of it only when it may not be
        as pelican-tui left it (:data:`.database.Check`)."""
        self._damaged = False
        self.read_only: str | None = None
        """Why nothing can be saved (its folder cannot be written to), when :meth:`open`
        opened it to read only; None: it was opened for writing."""
        self._unmarked: frozenset[int] = frozenset()
        """Runs of crashed processes that a store opened to read only cannot mark
        "interrupted" (:meth:`mark_interrupted`): they are read as if it had."""

    # ----------------------------------------------------------------- opening

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        create: bool = True,
        repair: bool = True,
        clock: Callable[[], datetime] | None = None,
        busy_timeout: float = 10.0,
        read_only_ok: bool = False,
    ) -> SessionStore:
        """Open (and with ``create``, create) the store, upgraded and checked.

        Raises :class:`SessionStoreMissing` when ``create`` is false and there
        is no file, :class:`SessionStoreTooNew` for a newer schema, and
        :class:`SessionStoreError` for a file that belongs to something else. A
        corrupt file is moved aside and a fresh store opened instead; without
        ``repair`` it is left where it is (another process may have it open:
        the app, a ``run``) and :class:`SessionStoreError` says so.
        ``busy_timeout`` is how long a write waits for another writer, in seconds.
        With ``read_only_ok``, a store whose folder cannot be written to is opened to
        read only (:attr:`read_only`), and a damaged one left as it is.
        """
        path = Path(path) if path is not None else locations.sessions_db()
        now = clock or _utc_now
        if path.is_dir():
            raise SessionStoreError(f"{path} is a folder, not a session store")
        if not create and (not path.exists() or database.is_new_file(path)):
            raise SessionStoreMissing(path)  # an empty file too: a schema would make a store
        if not path.exists():
            try:
                database.create_private_file(path)
            except OSError as error:  # PELICAN_HOME a file: "Not a directory" named none
                why = locations.cannot_make(path.parent) or error.strerror or str(error)
                raise SessionStoreError(f"cannot create the session store {path}: {why}") from error
        moved: Path | None = None
        unwritable = database.unwritable_folder(path) if read_only_ok else None
        try:
            if unwritable is not None:
                conn, check = database.open_read_only(path, busy_timeout)
            else:
                conn, check = database.open_checked(path, busy_timeout)
        except SessionStoreError as error:
            # To write, SQLite makes its -wal and -shm files beside the store: where it
            # cannot, it said only "unable to open database file". (Opened to read only,
            # the refusal names the folder itself.)
            folder = database.unwritable_folder(path) if unwritable is None else None
            if folder is None or type(error) is not SessionStoreError:
                raise
            raise SessionStoreError(f"{error}: nothing can be saved there, as {folder}") from error
        except database.Corrupt as error:
            if unwritable is not None:
                raise SessionStoreError(
                    f"the session store {path} is damaged ({error}); it was left as it is: "
                    f"{unwritable}"
                ) from error
            if not repair:
                raise SessionStoreError(
                    f"the session store {path} is damaged ({error}); it was left as it is: "
                    "pelican-tui or `pelican-tui run` moves it aside and starts a fresh one"
                ) from error
            moved = database.move_aside(path, now())
            database.create_private_file(path)
            try:
                conn, check = database.open_checked(path, busy_timeout)
            except database.Corrupt as error:  # a fresh file can't be corrupt; say so plainly
                raise SessionStoreError(f"could not create a session store at {path}") from error
        store = cls(conn, path, clock=now, moved_corrupt_to=moved)
        store.check_on_open = check
        store.read_only = unwritable
        if unwritable is not None:  # crashed runs cannot be marked: they are read as marked
            store._unmarked = frozenset(_runs_of_gone_processes(conn))
            return store
        try:
            store.interrupted_on_open = store.mark_interrupted()
        except BaseException:
            store.close()
            raise
        return store

    @property
    def notices(self) -> list[str]:
        """Things worth telling the user about the open, one line each."""
        out = []
        if self.moved_corrupt_to is not None:
            out.append(
                f"The session store was damaged: moved it to {self.moved_corrupt_to} "
                "and started a fresh one."
            )
        if self.interrupted_on_open:
            n = self.interrupted_on_open
            out.append(f"{plural(n, 'run')} from an earlier crash marked interrupted.")
        if self.read_only is not None:
            out.append(read_only_notice(self.read_only))
        return out

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                if self.read_only is None:  # one opened to read only is left as it is
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("PRAGMA optimize")
                # Damage seen: no clean-close record, so the next open checks it all.
                database.close(self._conn, self.path, whole=not self._damaged)
                self._conn = None

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------- transactions

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise SessionStoreError("the session store is closed")
        return self._conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            if self.read_only is not None:
                raise SessionStoreError(
                    f"nothing can be saved to the session store {self.path}: {self.read_only}"
                )
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise SessionStoreError(
                    f"the session store {self.path} is busy or unwritable ({error})"
                ) from error
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    self._damaged |= database.is_corruption(error)
                    raise SessionStoreError(
                        f"could not save to the session store {self.path}: {error}"
                    ) from error
                raise

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so multi-query reads see one consistent state."""
        with self._lock:
            conn = self._connection()
            try:
                with database.read_transaction(conn):
                    yield conn
            except sqlite3.Error as error:
                self._damaged |= database.is_corruption(error)
                raise SessionStoreError(
                    f"could not read the session store {self.path}: {error}"
                ) from error

    # ----------------------------------------------------------------- writes

    def create_session(
        self,
        prompt: str,
        *,
        title: str | None = None,
        prompt_set: str | None = None,
        private: bool = False,
    ) -> Session:
        """A new empty session for ``prompt`` (title: its first line by default).

        ``prompt_set`` names the prompt set the prompt came from (None: typed
        freely); ``private`` marks a session of a private set, which exports leave out.
        """
        created = self._clock()
        prompt = scrub_text(prompt)
        title = scrub_text(title) if title is not None else default_title(prompt)
        prompt_set = _scrub_optional_text(prompt_set)
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO sessions (created_at, prompt, title, prompt_set, private) "
                "VALUES (?, ?, ?, ?, ?)",
                (_ts(created), prompt, title, prompt_set, int(bool(private))),
            )
            session_id = int(cast(int, cursor.lastrowid))
        return Session(
            id=session_id,
            created_at=stored_time(_ts(created)),
            prompt=prompt,
            title=title,
            verdict=None,
            prompt_set=prompt_set,
            private=bool(private),
        )

    def start_run(
        self,
        session_id: int,
        slot: Slot,
        backend: BackendKind,
        model_id: str,
        model_info: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
        host: Mapping[str, Any] | None = None,
    ) -> int:
        """Record a run as "running" and commit at once; returns its id."""
        _check_choice("slot", slot, SLOTS)
        _check_choice("backend", backend, BACKENDS)
        with self._write() as conn:
            if (
                conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone()
                is None
            ):
                raise SessionNotFound(session_id)
            cursor = conn.execute(
                "INSERT INTO runs (session_id, slot, backend, model_id, model_info, settings, "
                "host, status, started_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (
                    session_id,
                    slot,
                    backend,
                    scrub_text(model_id),
                    _dump(model_info),
                    _dump(settings),
                    _dump(host),
                    _ts(self._clock()),
                    _current_owner(),
                ),
            )
            return int(cast(int, cursor.lastrowid))

    def update_run_progress(self, run_id: int, thinking_text: str, answer: str) -> bool:
        """Checkpoint the text so far. False if the run is no longer running."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE runs SET thinking_text = ?, answer = ? WHERE id = ? AND status = 'running'",
                (scrub_text(thinking_text), scrub_text(answer), run_id),
            )
            if cursor.rowcount == 0:
                self._require_run(conn, run_id)
                return False
            return True

    def finish_run(
        self,
        run_id: int,
        *,
        status: FinalStatus = "finished",
        thinking_text: str | None = None,
        answer: str | None = None,
        svg: str | None = None,
        svg_note: str | None = None,
        png: bytes | None = None,
        failure_reason: str | None = None,
        timings: Mapping[str, Any] | object | None = None,
        usage: Mapping[str, Any] | object | None = None,
        peak_ram: Mapping[str, Any] | None = None,
        picture_facts: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the end of a run. Text left as None keeps the last checkpoint.

        ``timings`` and ``usage`` may be the :mod:`.events` dataclasses or dicts;
        ``picture_facts`` is what was measured about the picture (None: nothing).
        """
        _check_choice("status", status, FINAL_STATUSES)
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE runs SET status = ?, thinking_text = COALESCE(?, thinking_text), "
                "answer = COALESCE(?, answer), svg = ?, svg_note = ?, png = ?, "
                "failure_reason = ?, timings = ?, usage = ?, peak_ram = ?, picture_facts = ?, "
                "finished_at = ?, owner = NULL WHERE id = ?",
                (
                    status,
                    _scrub_optional_text(thinking_text),
                    _scrub_optional_text(answer),
                    _scrub_optional_text(svg),
                    _scrub_optional_text(svg_note),
                    png,
                    _scrub_optional_text(failure_reason),
                    _dump(timings),
                    _dump(usage),
                    _dump(peak_ram),
                    _dump(picture_facts),
                    _ts(self._clock()),
                    run_id,
                ),
            )
            if cursor.rowcount == 0:
                raise RunNotFound(run_id)

    def set_run_png(self, run_id: int, png: bytes | None) -> None:
        """Store (or clear) the rendered picture of a run, e.g. after a re-render."""
        with self._write() as conn:
            if conn.execute("UPDATE runs SET png = ? WHERE id = ?", (png, run_id)).rowcount == 0:
                raise RunNotFound(run_id)

    def update_run_settings(self, run_id: int, changes: Mapping[str, Any]) -> None:
        """Merge ``changes`` into a run's recorded settings (what a check after it found)."""
        with self._write() as conn:
            row = conn.execute("SELECT settings FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(run_id)
            settings = {**json_dict(row["settings"]), **_to_dict(changes)}
            conn.execute("UPDATE runs SET settings = ? WHERE id = ?", (_dump(settings), run_id))

    def add_title_note(self, session_id: int, note: str) -> None:
        """Append `` · note`` to a session's title (once)."""
        with self._write() as conn:
            row = conn.execute("SELECT title FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise SessionNotFound(session_id)
            title, note = row["title"], scrub_text(note)
            if not title.endswith(f" · {note}"):
                conn.execute(
                    "UPDATE sessions SET title = ? WHERE id = ?", (f"{title} · {note}", session_id)
                )

    def set_verdict(
        self, session_id: int, verdict: Verdict | None, note: str | None = None
    ) -> None:
        """Which picture is better ("left", "right", "tie"), or None to clear it."""
        if verdict is not None:
            _check_choice("verdict", verdict, VERDICTS)
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET verdict = ?, verdict_note = ? WHERE id = ?",
                (verdict, _scrub_optional_text(note), session_id),
            )
            if cursor.rowcount == 0:
                raise SessionNotFound(session_id)

    def add_vote(
        self,
        run_a: int,
        run_b: int,
        winner: Winner,
        *,
        blind: bool,
        judge: str | None = None,
        reason: str | None = None,
    ) -> Vote:
        """Record a vote on two runs: ``run_a`` was shown as A, ``run_b`` as B.

        ``winner`` is "a", "b", "tie" or "both_bad"; ``blind``: the models were
        hidden until the vote; ``judge``: None for the user's own vote, else the
        judge model's id; ``reason``: the judge's (or user's) one line. Raises
        :class:`RunNotFound` for an unknown run and ValueError for a bad winner
        or a run voted against itself.
        """
        _check_choice("winner", winner, votes.WINNERS)
        if run_a == run_b:
            raise ValueError("a vote needs two different runs")
        created = _ts(self._clock())
        judge = _scrub_optional_text(judge)
        reason = _scrub_optional_text(reason)
        with self._write() as conn:
            for run_id in (run_a, run_b):
                self._require_run(conn, run_id)
            vote_id = votes.insert(conn, run_a, run_b, winner, blind, judge, reason, created)
        return Vote(vote_id, run_a, run_b, winner, bool(blind), judge, reason, stored_time(created))

    def delete_session(self, session_id: int) -> None:
        """Delete a session, its runs and the votes on them."""
        with self._write() as conn:
            conn.execute("DELETE FROM runs WHERE session_id = ?", (session_id,))
            if conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount == 0:
                raise SessionNotFound(session_id)

    def mark_interrupted(self) -> int:
        """Mark "running" runs whose owner process is gone as "interrupted"; returns how many."""
        with self._write() as conn:
            dead = _runs_of_gone_processes(conn)
            now = _ts(self._clock())
            for run_id in dead:
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?, owner = NULL, "
                    "failure_reason = COALESCE(failure_reason, ?) WHERE id = ?",
                    (now, INTERRUPTED_REASON, run_id),
                )
            return len(dead)

    # ----------------------------------------------------------------- reads

    def votes(self, *, judge: bool = False, prompt: str | None = None) -> list[Vote]:
        """Votes, oldest first: the user's own (``judge`` false) or the judges' (true),
        never both; with ``prompt``, only votes on two runs of that prompt."""
        with self._read() as conn:
            return votes.select(conn, judge=judge, prompt=prompt)

    def latest_vote(self, first: int, second: int) -> Vote | None:
        """The user's latest vote on two runs (the one the ratings and the session's
        verdict count), whichever was shown as A; None if they were never voted on."""
        with self._read() as conn:
            return votes.latest(conn, first, second)

    def run_headers(self, run_ids: Iterable[int]) -> dict[int, RunHeader]:
        """Who made each of these runs and how, with its prompt (unknown ids are left out)."""
        with self._read() as conn:
            return votes.headers(conn, run_ids)

    def prompts(self) -> list[tuple[str, int]]:
        """Every prompt with its number of finished runs, the most recently used first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT sessions.prompt AS prompt, "
                "COUNT(runs.id) FILTER (WHERE runs.status = 'finished') AS n, "
                "MAX(sessions.id) AS latest FROM sessions "
                "LEFT JOIN runs ON runs.session_id = sessions.id "
                "GROUP BY sessions.prompt ORDER BY latest DESC"
            ).fetchall()
        return [(str(row["prompt"]), int(row["n"])) for row in rows]

    def set_prompts(self) -> list[tuple[str, str, str]]:
        """Each prompt of a prompt set that sessions have, as (set, title, prompt): the
        title of its latest session ("birds/heron · local vs claude · …", which names
        the prompt as "SET/PROMPT"), the most recently used first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT prompt_set, title, prompt, MAX(id) AS latest FROM sessions "
                "WHERE prompt_set IS NOT NULL GROUP BY prompt_set, prompt ORDER BY latest DESC"
            ).fetchall()
        return [(str(row["prompt_set"]), str(row["title"]), str(row["prompt"])) for row in rows]

    def prompt_names(self) -> dict[str, str]:
        """Every prompt with how the screens name it, the most recently used first: a
        prompt set's as "SET/PROMPT" (as the title of its latest session from the set
        names it), a prompt typed freely by its text. A prompt also run without a set
        (the pelican prompt, which a set of the user's may hold too) is named by its
        text: the screens show its runs of both."""
        names = {text: text for text, _runs in self.prompts()}
        with self._read() as conn:
            plain = {
                str(row[0])
                for row in conn.execute(
                    "SELECT DISTINCT prompt FROM sessions WHERE prompt_set IS NULL"
                )
            }
        for set_name, title, text in reversed(self.set_prompts()):  # the latest last
            shown = title.partition(LABEL_PARTS)[0]
            if shown.startswith(f"{set_name}/") and text not in plain:
                names[text] = shown
        return names

    def is_private_prompt(self, prompt: str) -> bool:
        """Whether ``prompt`` is private: any session of it came from a private prompt set
        (then it is private everywhere, in a session typed by hand too)."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {votes.PRIVATE_PROMPT.format(prompt='?')}", (prompt,)
            ).fetchone()
        return bool(row[0])

    def runs_for_prompt(self, prompt: str, *, finished_only: bool = True) -> list[Run]:
        """Every run of ``prompt`` across sessions, newest first (pictures included);
        with ``finished_only``, only runs that finished."""
        status = "AND runs.status = 'finished' " if finished_only else ""
        columns = ", ".join(f"runs.{name.strip()}" for name in RUN_COLUMNS.split(","))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {columns} FROM sessions JOIN runs ON runs.session_id = sessions.id "
                f"WHERE sessions.prompt = ? {status}ORDER BY runs.id DESC",
                (prompt,),
            ).fetchall()
        return [self._as_read(run_rows.run(row)) for row in rows]

    def list_sessions(self, limit: int = 50, offset: int = 0) -> list[SessionSummary]:
        """Newest sessions first, with a summary of their runs."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, created_at, prompt, title, verdict, prompt_set, private FROM sessions "
                "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            ids = [int(row["id"]) for row in rows]
            voted = _verdicts(conn, ids)
            runs: dict[int, list[RunSummary]] = {i: [] for i in ids}
            if ids:
                marks = ",".join("?" * len(ids))
                # From the indexes alone (upgrades._upgrade_3_to_4): a run's row holds its
                # texts and PNG before its status. Ordered as runs_listed is, so only the
                # page's runs are read ("ORDER BY id" alone scanned every run in the store).
                pictured = {
                    int(row["id"])
                    for row in conn.execute(
                        f"SELECT id FROM runs WHERE session_id IN ({marks}) AND svg IS NOT NULL",
                        ids,
                    )
                }
                for run in conn.execute(
                    "SELECT id, session_id, slot, backend, model_id, status FROM runs "
                    f"WHERE session_id IN ({marks}) ORDER BY session_id, id",
                    ids,
                ):
                    runs[int(run["session_id"])].append(
                        RunSummary(
                            id=int(run["id"]),
                            slot=run["slot"],
                            backend=run["backend"],
                            model_id=run["model_id"],
                            status=self._status(int(run["id"]), run["status"]),
                            has_svg=int(run["id"]) in pictured,
                        )
                    )
        return [
            SessionSummary(
                id=int(row["id"]),
                created_at=stored_time(row["created_at"]),
                prompt=row["prompt"],
                title=row["title"],
                verdict=voted.get(int(row["id"]), row["verdict"]),
                runs=tuple(runs[int(row["id"])]),
                prompt_set=row["prompt_set"],
                private=bool(row["private"]),
            )
            for row in rows
        ]

    def count_sessions(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    def session_prompt(self, session_id: int) -> str | None:
        """The prompt of a session; None when there is no such session."""
        with self._read() as conn:
            row = conn.execute("SELECT prompt FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else str(row["prompt"])

    def get_session(self, session_id: int) -> Session:
        """The whole session with its runs (pictures included); raises :class:`SessionNotFound`."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, created_at, prompt, title, verdict, verdict_note, prompt_set, private "
                "FROM sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
            if row is None:
                raise SessionNotFound(session_id)
            voted = _verdicts(conn, [session_id])
            runs = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE session_id = ? ORDER BY id",
                (session_id,),
            ).fetchall()
        return Session(
            id=int(row["id"]),
            created_at=stored_time(row["created_at"]),
            prompt=row["prompt"],
            title=row["title"],
            verdict=voted.get(session_id, row["verdict"]),
            verdict_note=row["verdict_note"],
            runs=tuple(self._as_read(run_rows.run(r)) for r in runs),
            prompt_set=row["prompt_set"],
            private=bool(row["private"]),
        )

    def get_run(self, run_id: int) -> Run:
        with self._read() as conn:
            row = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return self._as_read(run_rows.run(row))

    def _status(self, run_id: int, status: RunStatus) -> RunStatus:
        """A run's status as read: "interrupted" for one :attr:`_unmarked`."""
        return "interrupted" if run_id in self._unmarked else status

    def _as_read(self, run: Run) -> Run:
        """``run`` as :meth:`mark_interrupted` would have left it, where this store
        (opened to read only) could not mark it: its process crashed. It read
        "running", a run nobody runs."""
        if run.id not in self._unmarked:
            return run
        return dataclasses.replace(
            run, status="interrupted", failure_reason=run.failure_reason or INTERRUPTED_REASON
        )

    def _require_run(self, conn: sqlite3.Connection, run_id: int) -> None:
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise RunNotFound(run_id)
