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
  :data:`UPGRADES` holds one step per change: ``UPGRADES[n]`` upgrades version
  ``n`` to ``n + 1``. A store from a newer pelican-tui is refused
  (:class:`SessionStoreTooNew`), never downgraded or touched.
- **A corrupt file is moved aside**, to ``sessions.sqlite3.corrupt-YYYYmmdd-HHMMSS``,
  and a fresh store started; :attr:`SessionStore.moved_corrupt_to` and
  :attr:`SessionStore.notices` say where, so the caller can tell the user.
- **Secrets are never stored.** Every text the store writes (prompt, title,
  model id, thinking text, answer, SVG, SVG note, failure reason, verdict note)
  and every dict field passes through :func:`scrub_secrets` first, so a key a
  user pasted into a prompt, or one a model repeated, is replaced by
  :data:`REDACTED`. That includes a key cut off at the end of a text (a
  checkpoint taken while it streams in, an answer stopped by ``max_tokens``).

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
- ``peak_ram``: byte counts, e.g. ``server_rss_bytes``, ``app_rss_bytes``.
- ``host``: what :func:`~pelican_tui.backends.host_info.host_summary` returns.

The store is safe to share between threads (one lock around the connection):
a Textual thread worker may call it directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast, get_args

import psutil

from pelican_tui.backends import locations

Slot = Literal["left", "right"]
BackendKind = Literal["local", "openai", "claude"]
RunStatus = Literal["running", "finished", "failed", "cancelled", "interrupted"]
FinalStatus = Literal["finished", "failed", "cancelled"]
Verdict = Literal["left", "right", "tie"]

SLOTS: tuple[Slot, ...] = get_args(Slot)
BACKENDS: tuple[BackendKind, ...] = get_args(BackendKind)
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
FINAL_STATUSES: tuple[FinalStatus, ...] = get_args(FinalStatus)

APPLICATION_ID = 0x50454C49
"""``PRAGMA application_id`` of a pelican-tui store ("PELI")."""

INTERRUPTED_REASON = "pelican-tui stopped before this run finished"

JSONDict = dict[str, Any]


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True, slots=True)
class Run:
    """One generation by one backend, as stored."""

    id: int
    session_id: int
    slot: Slot
    backend: BackendKind
    model_id: str
    """The GGUF file name, the attached server's model name, or the Claude model id."""
    model_info: JSONDict
    settings: JSONDict
    thinking_text: str
    answer: str
    svg: str | None
    svg_note: str | None
    """Why there is no SVG, or how it was chosen ("2 SVGs, kept the last")."""
    png: bytes | None = field(repr=False)
    status: RunStatus
    failure_reason: str | None
    timings: JSONDict
    usage: JSONDict
    peak_ram: JSONDict
    host: JSONDict
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Session:
    """One prompt and the runs made for it, oldest run first."""

    id: int
    created_at: datetime
    prompt: str
    title: str
    verdict: Verdict | None
    runs: tuple[Run, ...] = ()
    verdict_note: str | None = None
    """Free text next to the verdict (schema version 2)."""

    def runs_in(self, slot: Slot) -> tuple[Run, ...]:
        return tuple(run for run in self.runs if run.slot == slot)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a session list shows about one run (no text, no pictures)."""

    id: int
    slot: Slot
    backend: BackendKind
    model_id: str
    status: RunStatus
    has_svg: bool


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One line of the session list."""

    id: int
    created_at: datetime
    prompt: str
    title: str
    verdict: Verdict | None
    runs: tuple[RunSummary, ...] = ()


# --------------------------------------------------------------------------- errors


class SessionStoreError(Exception):
    """The session store can't be used; the message says why and what to do."""


class SessionStoreTooNew(SessionStoreError):
    """The file was written by a newer pelican-tui; it is left untouched."""

    def __init__(self, path: Path, found: int, known: int) -> None:
        self.path = path
        self.found = found
        self.known = known
        super().__init__(
            f"the session store {path} has schema version {found}, newer than this "
            f"pelican-tui understands ({known}); upgrade pelican-tui, or set PELICAN_HOME "
            "to use another folder. The file was not changed."
        )


class SessionStoreMissing(SessionStoreError):
    """Opened with ``create=False`` and there is no store yet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"there is no session store yet at {path}")


class SessionNotFound(SessionStoreError, LookupError):
    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        super().__init__(f"no session with id {session_id}")


class RunNotFound(SessionStoreError, LookupError):
    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(f"no run with id {run_id}")


class _Corrupt(Exception):
    pass


# --------------------------------------------------------------------------- secrets

REDACTED = "[redacted]"
"""What a secret is replaced with, in the store and in exports."""
_MIN_SECRET_CHARS = 8
"""Secrets shorter than this are not scrubbed, nor cut-off parts shorter than this."""

_SECRET_VALUE = re.compile(
    r"sk-ant-[A-Za-z0-9_\-]{8,}"  # Anthropic keys
    r"|(?<![A-Za-z0-9])sk-(?:proj-)?[A-Za-z0-9_\-]{20,}"  # OpenAI-style keys
    r"|(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}"  # Hugging Face tokens
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{16,}=*"  # Authorization header values
)
_SECRET_NAME = re.compile(
    r"(?:^|[_\-.])(?:api[_\-]?key|apikey|authorization|password|passwd|secret|token|"
    r"access[_\-]token|auth[_\-]token|hft)$",
    re.IGNORECASE,
)
_SECRET_ENV_VARS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "PELICAN_LOCAL_API_KEY",
)
_registered_secrets: set[str] = set()
_registered_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Make :func:`scrub_secrets` remove ``value`` wherever it appears.

    For secrets that match no pattern, e.g. the random ``--api-key`` given to a
    spawned llama-server. Values shorter than 8 characters are ignored.
    """
    if len(value) >= _MIN_SECRET_CHARS:
        with _registered_lock:
            _registered_secrets.add(value)


def _known_secrets(extra: Iterable[str]) -> list[str]:
    values = {os.environ.get(name, "") for name in _SECRET_ENV_VARS}
    with _registered_lock:
        values |= _registered_secrets
    values |= set(extra)
    # Longest first, so a secret containing another is removed whole.
    return sorted((v for v in values if len(v) >= _MIN_SECRET_CHARS), key=len, reverse=True)


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name.strip().lstrip("-")))


def scrub_secrets(value: Any, extra: Iterable[str] = ()) -> Any:
    """A copy of ``value`` (JSON-like data) with anything that looks like a secret replaced.

    Removes: API-key-shaped strings (``sk-ant-...``, ``sk-...``, ``hf_...``,
    ``Bearer ...``), the values of the usual key environment variables and of
    :func:`register_secret`, string values under secret-sounding keys
    (``api_key``, ``authorization``, ``token``...), and the argument after a
    secret-sounding flag in argument lists (``--api-key KEY``, ``--api-key=KEY``).
    """
    secrets = _known_secrets(extra)
    return _scrub(value, secrets)


def _scrub(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if _is_secret_name(name) and isinstance(item, str) and item:
                out[name] = REDACTED
            else:
                out[name] = _scrub(item, secrets)
        return out
    if isinstance(value, list | tuple):
        items: list[Any] = []
        redact_next = False
        for item in value:
            if redact_next and isinstance(item, str):
                items.append(REDACTED)
                redact_next = False
                continue
            redact_next = False
            if isinstance(item, str) and item.startswith("-"):
                flag, eq, _ = item.partition("=")
                if _is_secret_name(flag):
                    if eq:
                        items.append(f"{flag}={REDACTED}")
                        continue
                    redact_next = True
            items.append(_scrub(item, secrets))
        return items
    return value


def _scrub_text(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _SECRET_VALUE.sub(REDACTED, text)
    return _scrub_cut_off_secret(text, secrets)


def _scrub_cut_off_secret(text: str, secrets: Sequence[str]) -> str:
    """``text`` with a known secret's beginning at its very end replaced.

    A checkpoint of a stream can end part-way through a key (the rest arrives
    with the next checkpoint, which the full-value match then catches), and so
    can an answer stopped by ``max_tokens``; most of a key is still a leak.
    """
    for secret in secrets:
        longest = min(len(secret) - 1, len(text))
        for size in range(longest, _MIN_SECRET_CHARS - 1, -1):
            if text.endswith(secret[:size]):
                return text[:-size] + REDACTED
    return text


def scrub_text(text: str) -> str:
    """One text with every secret :func:`scrub_secrets` knows replaced by :data:`REDACTED`."""
    return _scrub_text(text, _known_secrets(()))


def _scrub_optional_text(text: str | None) -> str | None:
    return None if text is None else scrub_text(text)


def scrub_session(session: Session) -> Session:
    """A copy of ``session`` with every text and dict field passed through :func:`scrub_secrets`.

    Exports use it, so a secret stored before it was known (a store written by
    an older pelican-tui, a key set since) still never leaves the machine.
    """
    secrets = _known_secrets(())

    def text(value: str) -> str:
        return _scrub_text(value, secrets)

    def optional(value: str | None) -> str | None:
        return None if value is None else _scrub_text(value, secrets)

    def data(value: JSONDict) -> JSONDict:
        return cast(JSONDict, _scrub(value, secrets))

    runs = tuple(
        dataclasses.replace(
            run,
            model_id=text(run.model_id),
            model_info=data(run.model_info),
            settings=data(run.settings),
            thinking_text=text(run.thinking_text),
            answer=text(run.answer),
            svg=optional(run.svg),
            svg_note=optional(run.svg_note),
            failure_reason=optional(run.failure_reason),
            timings=data(run.timings),
            usage=data(run.usage),
            peak_ram=data(run.peak_ram),
            host=data(run.host),
        )
        for run in session.runs
    )
    return dataclasses.replace(
        session,
        prompt=text(session.prompt),
        title=text(session.title),
        verdict_note=optional(session.verdict_note),
        runs=runs,
    )


# --------------------------------------------------------------------------- schema


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


UPGRADES: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _upgrade_0_to_1,
    _upgrade_1_to_2,
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


# --------------------------------------------------------------------------- helpers


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


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


def _load(text: str | None) -> JSONDict:
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def default_title(prompt: str, width: int = 60) -> str:
    """The first non-empty line of the prompt, shortened to ``width`` characters."""
    line = next((ln.strip() for ln in prompt.splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


_own_owner: tuple[int, str] | None = None


def _current_owner() -> str:
    global _own_owner
    pid = os.getpid()
    if _own_owner is None or _own_owner[0] != pid:
        _own_owner = (pid, f"{pid}:{psutil.Process(pid).create_time():.3f}")
    return _own_owner[1]


def _owner_alive(owner: str | None) -> bool:
    if not owner:
        return False
    pid_text, _, started_text = owner.partition(":")
    try:
        pid, started = int(pid_text), float(started_text)
    except ValueError:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(process.create_time() - started) < 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # can't look (another user's process): assume it is alive


def _check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")


_CORRUPT_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _is_corruption(error: sqlite3.DatabaseError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _CORRUPT_CODES


# --------------------------------------------------------------------------- the store

_RUN_COLUMNS = (
    "id, session_id, slot, backend, model_id, model_info, settings, thinking_text, answer, "
    "svg, svg_note, png, status, failure_reason, timings, usage, peak_ram, host, "
    "started_at, finished_at"
)


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

    # ----------------------------------------------------------------- opening

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        create: bool = True,
        clock: Callable[[], datetime] | None = None,
        busy_timeout: float = 10.0,
    ) -> SessionStore:
        """Open (and with ``create``, create) the store, upgraded and checked.

        Raises :class:`SessionStoreMissing` when ``create`` is false and there
        is no file, :class:`SessionStoreTooNew` for a newer schema, and
        :class:`SessionStoreError` for a file that belongs to something else. A
        corrupt file is moved aside and a fresh store opened instead.
        ``busy_timeout`` is how long a write waits for another writer, in seconds.
        """
        path = Path(path) if path is not None else locations.sessions_db()
        now = clock or _utc_now
        if not path.exists():
            if not create:
                raise SessionStoreMissing(path)
            _create_private_file(path)
        moved: Path | None = None
        try:
            conn = _open_checked(path, busy_timeout)
        except _Corrupt:
            moved = _move_aside(path, now())
            _create_private_file(path)
            try:
                conn = _open_checked(path, busy_timeout)
            except _Corrupt as error:  # a fresh file can't be corrupt; say so plainly
                raise SessionStoreError(f"could not create a session store at {path}") from error
        store = cls(conn, path, clock=now, moved_corrupt_to=moved)
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
            out.append(f"{n} run{'s' if n != 1 else ''} from an earlier crash marked interrupted.")
        return out

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA optimize")
                self._conn.close()
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
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("COMMIT")
            except sqlite3.Error as error:
                raise SessionStoreError(
                    f"could not read the session store {self.path}: {error}"
                ) from error

    # ----------------------------------------------------------------- writes

    def create_session(self, prompt: str, *, title: str | None = None) -> Session:
        """A new empty session for ``prompt`` (title: its first line by default)."""
        created = self._clock()
        prompt = scrub_text(prompt)
        title = scrub_text(title) if title is not None else default_title(prompt)
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO sessions (created_at, prompt, title) VALUES (?, ?, ?)",
                (_ts(created), prompt, title),
            )
            session_id = int(cast(int, cursor.lastrowid))
        return Session(
            id=session_id,
            created_at=_parse_ts(_ts(created)),
            prompt=prompt,
            title=title,
            verdict=None,
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
    ) -> None:
        """Record the end of a run. Text left as None keeps the last checkpoint.

        ``timings`` and ``usage`` may be the :mod:`.events` dataclasses or dicts.
        """
        _check_choice("status", status, FINAL_STATUSES)
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE runs SET status = ?, thinking_text = COALESCE(?, thinking_text), "
                "answer = COALESCE(?, answer), svg = ?, svg_note = ?, png = ?, "
                "failure_reason = ?, timings = ?, usage = ?, peak_ram = ?, finished_at = ?, "
                "owner = NULL WHERE id = ?",
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

    def delete_session(self, session_id: int) -> None:
        """Delete a session and its runs."""
        with self._write() as conn:
            conn.execute("DELETE FROM runs WHERE session_id = ?", (session_id,))
            if conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount == 0:
                raise SessionNotFound(session_id)

    def mark_interrupted(self) -> int:
        """Mark "running" runs whose owner process is gone as "interrupted"; returns how many."""
        with self._write() as conn:
            rows = conn.execute("SELECT id, owner FROM runs WHERE status = 'running'").fetchall()
            dead = [int(row["id"]) for row in rows if not _owner_alive(row["owner"])]
            now = _ts(self._clock())
            for run_id in dead:
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?, owner = NULL, "
                    "failure_reason = COALESCE(failure_reason, ?) WHERE id = ?",
                    (now, INTERRUPTED_REASON, run_id),
                )
            return len(dead)

    # ----------------------------------------------------------------- reads

    def list_sessions(self, limit: int = 50, offset: int = 0) -> list[SessionSummary]:
        """Newest sessions first, with a summary of their runs."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, created_at, prompt, title, verdict FROM sessions "
                "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            ids = [int(row["id"]) for row in rows]
            runs: dict[int, list[RunSummary]] = {i: [] for i in ids}
            if ids:
                marks = ",".join("?" * len(ids))
                for run in conn.execute(
                    "SELECT id, session_id, slot, backend, model_id, status, svg IS NOT NULL "
                    f"AS has_svg FROM runs WHERE session_id IN ({marks}) ORDER BY id",
                    ids,
                ):
                    runs[int(run["session_id"])].append(
                        RunSummary(
                            id=int(run["id"]),
                            slot=run["slot"],
                            backend=run["backend"],
                            model_id=run["model_id"],
                            status=run["status"],
                            has_svg=bool(run["has_svg"]),
                        )
                    )
        return [
            SessionSummary(
                id=int(row["id"]),
                created_at=_parse_ts(row["created_at"]),
                prompt=row["prompt"],
                title=row["title"],
                verdict=row["verdict"],
                runs=tuple(runs[int(row["id"])]),
            )
            for row in rows
        ]

    def count_sessions(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    def get_session(self, session_id: int) -> Session:
        """The whole session with its runs (pictures included); raises :class:`SessionNotFound`."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, created_at, prompt, title, verdict, verdict_note FROM sessions "
                "WHERE id = ?",
                (session_id,),
            ).fetchone()
            if row is None:
                raise SessionNotFound(session_id)
            run_rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE session_id = ? ORDER BY id",
                (session_id,),
            ).fetchall()
        return Session(
            id=int(row["id"]),
            created_at=_parse_ts(row["created_at"]),
            prompt=row["prompt"],
            title=row["title"],
            verdict=row["verdict"],
            verdict_note=row["verdict_note"],
            runs=tuple(_run_from_row(r) for r in run_rows),
        )

    def get_run(self, run_id: int) -> Run:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return _run_from_row(row)

    def _require_run(self, conn: sqlite3.Connection, run_id: int) -> None:
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise RunNotFound(run_id)


def _run_from_row(row: sqlite3.Row) -> Run:
    finished = row["finished_at"]
    png = row["png"]
    return Run(
        id=int(row["id"]),
        session_id=int(row["session_id"]),
        slot=row["slot"],
        backend=row["backend"],
        model_id=row["model_id"],
        model_info=_load(row["model_info"]),
        settings=_load(row["settings"]),
        thinking_text=row["thinking_text"],
        answer=row["answer"],
        svg=row["svg"],
        svg_note=row["svg_note"],
        png=bytes(png) if png is not None else None,
        status=row["status"],
        failure_reason=row["failure_reason"],
        timings=_load(row["timings"]),
        usage=_load(row["usage"]),
        peak_ram=_load(row["peak_ram"]),
        host=_load(row["host"]),
        started_at=_parse_ts(row["started_at"]),
        finished_at=_parse_ts(finished) if finished else None,
    )


# --------------------------------------------------------------------------- opening helpers


def _create_private_file(path: Path) -> None:
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


def _open_checked(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """Connect, check, switch to WAL and upgrade. Raises :class:`_Corrupt`."""
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
            raise _Corrupt("; ".join(check[:3]))
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        upgrade(conn)
        return conn
    except sqlite3.DatabaseError as error:
        conn.close()
        if _is_corruption(error):
            raise _Corrupt(str(error)) from error
        raise SessionStoreError(f"could not open the session store {path}: {error}") from error
    except BaseException:
        conn.close()
        raise


def _move_aside(path: Path, now: datetime) -> Path:
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
