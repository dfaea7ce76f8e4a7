"""Shared helpers for the session store and export tests."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pelican_tui.backends import locations
from pelican_tui.backends.events import Timings, Usage
from pelican_tui.backends.store.records import Session
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.store.upgrades import SCHEMA_VERSION, schema_version

PELICAN_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200">'
    '<circle cx="60" cy="150" r="30" fill="none" stroke="black"/>'
    '<circle cx="140" cy="150" r="30" fill="none" stroke="black"/>'
    '<ellipse cx="100" cy="90" rx="40" ry="25" fill="white" stroke="black"/></svg>'
)
FAKE_PNG = b"\x89PNG\r\n\x1a\nstored-picture"

LOCAL_FILE = "Qwen3.6-35B-A3B-Q4_K_M.gguf"
LOCAL_INFO = {
    "file": LOCAL_FILE,
    "file_size": 20_400_000_000,
    "sha256": "ab" * 32,
    "arch": "qwen35moe",
    "total_params": 35_000_000_000,
    "active_params": 3_000_000_000,
    "quant": "Q4_K_M",
    "server_version": "b7000",
    "server_build": "7000 (abcdef0)",
    "server_args": ["-m", "/models/Qwen3.6-35B-A3B-Q4_K_M.gguf", "-c", "16384", "--metrics"],
}
LOCAL_SETTINGS = {
    "thinking": True,
    "max_tokens": 8192,
    "sampling": {"temperature": 1.0, "top_p": 0.95, "top_k": 20, "presence_penalty": 1.5},
}
CLAUDE_SETTINGS = {"thinking": True, "effort": "high", "max_tokens": 8192}
HOST = {
    "cpu": "Test CPU 9000",
    "cpu_cores": 8,
    "cpu_threads": 16,
    "ram_total_bytes": 32 * 1024**3,
    "os": "Linux 6.1",
    "arch": "x86_64",
    "python": "3.11.7",
}


FIXTURES = Path(__file__).parent / "fixtures"


def raw_connection(path: Path) -> sqlite3.Connection:
    """A plain SQLite connection to ``path`` in autocommit mode, around the store."""
    return sqlite3.connect(path, isolation_level=None)


def frozen_store(db: Path, version: int) -> None:
    """The checked-in store of schema ``version`` (``fixtures/sessions_v{version}.sql``:
    schema and rows frozen as SQL, as that version's pelican-tui left them) at ``db``."""
    locations.ensure(db.parent)
    script = (FIXTURES / f"sessions_v{version}.sql").read_text(encoding="utf-8")
    with contextlib.closing(raw_connection(db)) as conn:
        conn.executescript(script)


def upgraded_whole(store: SessionStore) -> sqlite3.Connection:
    """``store``'s connection, once asserted to be at this pelican-tui's schema and whole:
    SQLite finds no damage, and no row's foreign key points nowhere."""
    conn = store._connection()
    assert schema_version(conn) == SCHEMA_VERSION
    assert [tuple(r) for r in conn.execute("PRAGMA integrity_check")] == [("ok",)]
    assert [tuple(r) for r in conn.execute("PRAGMA foreign_key_check")] == []
    return conn


def schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every table, index and trigger with its SQL, white space folded; SQLite's own
    statistics tables (``sqlite_stat*``, written by ``PRAGMA optimize``) left out."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' "
        "ORDER BY type, name"
    )
    return [(kind, name, " ".join((sql or "").split())) for kind, name, sql in rows]


class FixedClock:
    """A clock that moves one second per call, for deterministic timestamps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def make_comparison(store: SessionStore, prompt: str = "A pelican riding a bicycle") -> Session:
    """A finished two-sided session: local on the left (stored PNG), Claude on the right."""
    session = store.create_session(prompt)
    left = store.start_run(
        session.id,
        "left",
        "local",
        LOCAL_FILE,
        LOCAL_INFO,
        LOCAL_SETTINGS,
        HOST,
    )
    store.update_run_progress(left, "Let me think about wheels.", "<svg")
    store.finish_run(
        left,
        thinking_text="Let me think about wheels. Then the beak.",
        answer=f"Here you go:\n```svg\n{PELICAN_SVG}\n```",
        svg=PELICAN_SVG,
        png=FAKE_PNG,
        timings=Timings(
            time_to_first_token_s=0.42,
            prompt_tokens_per_s=310.5,
            generation_tokens_per_s=41.25,
            total_s=12.5,
            prompt_tokens=30,
            generated_tokens=500,
        ),
        usage=Usage(input_tokens=30, output_tokens=500, thinking_tokens=120),
        peak_ram={"server_rss_bytes": 21_000_000_000},
    )
    right = store.start_run(
        session.id,
        "right",
        "claude",
        "claude-opus-4-7",
        {"model": "claude-opus-4-7"},
        CLAUDE_SETTINGS,
        HOST,
    )
    store.finish_run(
        right,
        thinking_text="Summarized thinking.",
        answer=PELICAN_SVG.replace("white", "pink"),
        svg=PELICAN_SVG.replace("white", "pink"),
        timings={"time_to_first_token_s": 1.5, "total_s": 20.0},
        usage={"input_tokens": 25, "output_tokens": 900, "thinking_tokens": 300},
    )
    store.set_verdict(session.id, "left", note="better wheels")
    return store.get_session(session.id)


@contextlib.contextmanager
def unwritable(folder: Path) -> Iterator[Path]:
    """``folder`` made so that nothing can be created in it, as on a read-only file
    system: SQLite cannot make a store's ``-wal`` and ``-shm`` files beside it.

    Mode bits do not stop root, so as root the folder is made immutable (``chattr
    +i``); otherwise it is chmod 0o555. Proved before the test relies on it."""
    as_root = os.geteuid() == 0
    if as_root:
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        if made.returncode != 0:
            pytest.skip(f"running as root and chattr +i failed: {made.stderr!r}")
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(OSError):
            (folder / "probe").write_text("x")
        yield folder
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)
