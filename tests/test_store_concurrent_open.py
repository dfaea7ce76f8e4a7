"""Two processes open a session store that is being created: both get it, whole.

This happens when ``pelican-tui sessions list`` (or ``run``, or a test that
watches the store) opens the store at the moment the TUI creates it for its
first comparison. The app's open used to fail ("database is locked", or "is an
SQLite file but not a pelican-tui session store") and the comparison went
unsaved.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from pelican_tui.backends.store.sessions import SessionStore

WATCHER = """
import json, sys
from pathlib import Path
from pelican_tui.backends.store.records import SessionStoreMissing
from pelican_tui.backends.store.sessions import SessionStore

root, rounds = Path(sys.argv[1]), int(sys.argv[2])
errors, opened = [], 0
for i in range(rounds):
    path, done = root / str(i) / "sessions.sqlite3", root / f"{i}.done"
    print(i, flush=True)  # watching this round's store
    while not done.exists():
        try:
            with SessionStore.open(path, create=False) as store:
                store.list_sessions(limit=1)
            opened += 1
        except SessionStoreMissing:
            pass
        except Exception as error:
            errors.append(f"round {i}: {type(error).__name__}: {error}")
print(json.dumps({"errors": errors, "opened": opened}), flush=True)
"""


def test_a_store_being_written_by_another_is_waited_for(tmp_path: Path) -> None:
    """The switch to WAL waits for another connection's write instead of failing at once."""
    path = tmp_path / "sessions.sqlite3"
    path.touch()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process, in the middle of creating it
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    try:
        with SessionStore.open(path, busy_timeout=10.0) as store:
            session = store.create_session("a pelican", title="t")
            assert [s.id for s in store.list_sessions()] == [session.id]
    finally:
        other.close()


def test_two_processes_opening_a_new_store_both_succeed(tmp_path: Path) -> None:
    rounds = 40
    watcher = subprocess.Popen(
        [sys.executable, "-c", WATCHER, str(tmp_path), str(rounds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    mine: list[str] = []
    try:
        for i in range(rounds):
            assert watcher.stdout.readline().strip() == str(i)
            path = tmp_path / str(i) / "sessions.sqlite3"
            try:
                with SessionStore.open(path) as store:
                    store.create_session(f"prompt {i}", title="t")
                    mine.extend(f"round {i}: {notice}" for notice in store.notices)
            except Exception as error:
                mine.append(f"round {i}: {type(error).__name__}: {error}")
            (tmp_path / f"{i}.done").touch()
        report = json.loads(watcher.stdout.readline())
    finally:
        watcher.kill()
        watcher.wait()
    assert mine == [], "the creating process could not open its store"
    assert report["errors"] == [], "the watching process could not open the store"
    assert report["opened"] > 0, "the watcher never opened a store: nothing was tested"
    for i in range(rounds):
        with SessionStore.open(tmp_path / str(i) / "sessions.sqlite3", create=False) as store:
            assert [s.prompt for s in store.list_sessions()] == [f"prompt {i}"]
