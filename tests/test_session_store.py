"""The session store: round trips, upgrades, crashes, corruption, secrets, host facts."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import select
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _session_support import (
    FAKE_PNG,
    HOST,
    LOCAL_FILE,
    PELICAN_SVG,
    FixedClock,
    frozen_store,
    make_comparison,
    raw_connection,
    schema,
    unwritable,
    upgraded_whole,
)
from _store_writer_child import BIG, PICTURE_FACTS

from pelican_tui.backends import host_info, locations, secrets
from pelican_tui.backends.store import sessions as ss
from pelican_tui.backends.store import upgrades
from pelican_tui.backends.store.records import (
    Session,
    SessionNotFound,
    SessionStoreError,
    SessionStoreMissing,
    SessionStoreTooNew,
)
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.store.upgrades import SCHEMA_VERSION

# --------------------------------------------------------------------------- basics


def test_nothing_is_created_until_opened_for_writing() -> None:
    path = locations.sessions_db()
    assert not path.exists()
    with pytest.raises(SessionStoreMissing):
        SessionStore.open(create=False)
    assert not path.exists()
    with SessionStore.open() as store:
        assert store.path == path
        assert store.notices == []
    assert path.exists()
    # Prompts and answers are the user's business: owner-only file.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_store_settings_wal_full_sync_and_version() -> None:
    with SessionStore.open() as store:
        conn = store._connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert upgrades.schema_version(conn) == SCHEMA_VERSION == len(upgrades.UPGRADES) == 5
        assert conn.execute("PRAGMA application_id").fetchone()[0] == upgrades.APPLICATION_ID


def test_create_run_finish_and_get_round_trip() -> None:
    clock = FixedClock()
    with SessionStore.open(clock=clock) as store:
        session = make_comparison(store, prompt="Draw a pelican\non a bicycle")
        assert session.title == "Draw a pelican"
        assert session.verdict == "left"
        assert session.verdict_note == "better wheels"
        left, right = session.runs
        assert (left.slot, left.backend, left.model_id) == ("left", "local", LOCAL_FILE)
        assert left.status == "finished" and left.finished_at is not None
        assert left.thinking_text == "Let me think about wheels. Then the beak."
        assert left.svg == PELICAN_SVG
        assert left.png == FAKE_PNG
        assert left.timings["generation_tokens_per_s"] == 41.25
        assert left.usage == {"input_tokens": 30, "output_tokens": 500, "thinking_tokens": 120}
        assert left.peak_ram == {"server_rss_bytes": 21_000_000_000}
        assert left.model_info["sha256"] == "ab" * 32
        assert left.settings["sampling"]["top_k"] == 20
        assert left.host == HOST
        assert left.started_at < left.finished_at
        assert right.png is None and right.backend == "claude"
        assert session.runs_in("right") == (right,)

    # Reopening gives back exactly the same data.
    with SessionStore.open() as store:
        assert store.get_session(session.id) == session
        assert store.get_run(left.id) == left


def test_progress_checkpoint_is_committed_and_finish_keeps_it() -> None:
    with SessionStore.open() as store:
        session = store.create_session("p")
        run = store.start_run(session.id, "right", "claude", "claude-opus-4-7", {}, {}, {})
        assert store.get_run(run).status == "running"
        assert store.update_run_progress(run, "thinking...", "<svg><rect")
        # A second connection (another process) sees the checkpoint at once.
        with raw_connection(store.path) as other:
            row = other.execute("SELECT status, answer FROM runs WHERE id = ?", (run,)).fetchone()
        assert row == ("running", "<svg><rect")
        store.finish_run(run, status="cancelled")
        got = store.get_run(run)
        assert (got.status, got.thinking_text, got.answer) == (
            "cancelled",
            "thinking...",
            "<svg><rect",
        )
        # A finished run takes no more progress.
        assert store.update_run_progress(run, "late", "late") is False
        assert store.get_run(run).answer == "<svg><rect"


def test_list_sessions_newest_first_with_run_summaries() -> None:
    with SessionStore.open(clock=FixedClock()) as store:
        first = make_comparison(store, "first")
        second = store.create_session("second")
        third = store.create_session("third")
        summaries = store.list_sessions()
        assert [s.id for s in summaries] == [third.id, second.id, first.id]
        assert [(r.slot, r.model_id, r.status, r.has_svg) for r in summaries[2].runs] == [
            ("left", LOCAL_FILE, "finished", True),
            ("right", "claude-opus-4-7", "finished", True),
        ]
        assert summaries[2].verdict == "left"
        assert [s.id for s in store.list_sessions(limit=1)] == [third.id]
        assert [s.id for s in store.list_sessions(limit=1, offset=1)] == [second.id]
        assert store.count_sessions() == 3


def _list_statements(store: SessionStore) -> list[str]:
    """The SELECTs :meth:`SessionStore.list_sessions` runs, their values bound in."""
    seen: list[str] = []
    conn = store._connection()
    conn.set_trace_callback(seen.append)
    try:
        store.list_sessions()
    finally:
        conn.set_trace_callback(None)
    return [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]


def _row_reads(conn: sqlite3.Connection, sql: str, table: str) -> list[tuple[object, ...]]:
    """The instructions of ``sql`` that read a column from a row of ``table`` itself
    (not from one of its indexes)."""
    (root,) = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    program = [tuple(row) for row in conn.execute(f"EXPLAIN {sql}")]
    # EXPLAIN's columns: addr, opcode, p1 (the cursor), p2 (for OpenRead: the root page) ...
    cursors = {row[2] for row in program if row[1] == "OpenRead" and row[3] == root}
    return [row for row in program if row[1] == "Column" and row[2] in cursors]


def test_the_sessions_list_reads_its_runs_from_indexes_alone() -> None:
    """A run's row holds its texts and PNG before its status: reading the status from
    the row walks the picture's overflow pages. The list reads no run's row, with the
    planner's statistics (written by ``PRAGMA optimize`` on close) and without."""
    with SessionStore.open() as store:
        for n in range(3):
            make_comparison(store, f"pelican {n}")
        conn = store._connection()
        for statistics in ("none", "analyzed"):
            if statistics == "analyzed":
                conn.execute("ANALYZE")
            statements = _list_statements(store)
            for sql in statements:
                assert _row_reads(conn, sql, "runs") == [], (statistics, sql)
            # The verdicts' statement reads runs too (a verdict is the latest vote on two
            # of a session's runs): from runs_listed alone, as checked above.
            on_runs = [sql for sql in statements if "FROM runs" in sql and "votes" not in sql]
            assert len(on_runs) == 2, statements
            plans = " ".join(
                str(row[3]) for sql in on_runs for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")
            )
            assert "COVERING INDEX runs_listed" in plans and "runs_pictured" in plans, plans


def test_the_sessions_list_reads_none_of_a_runs_overflow_pages(tmp_path: Path) -> None:
    """Every page holding the rest of a run's texts and picture made unreadable: the
    list's own statements read the same rows as before, while a run's status no longer
    can be read from its row."""
    db = tmp_path / "sessions.sqlite3"
    with SessionStore.open(db, clock=FixedClock()) as store:
        for n in range(3):
            session = make_comparison(store, f"pelican {n}")
            store.set_run_png(session.runs[0].id, os.urandom(50_000))  # ~12 pages each
            store.add_vote(session.runs[0].id, session.runs[1].id, "a", blind=False)
        statements = _list_statements(store)
    with contextlib.closing(raw_connection(db)) as conn:
        try:
            overflow = [
                int(row[0])
                for row in conn.execute(
                    "SELECT pageno FROM dbstat WHERE name = 'runs' AND pagetype = 'overflow'"
                )
            ]
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table to find the overflow pages with")
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        expected = [[tuple(row) for row in conn.execute(sql)] for sql in statements]
    assert len(overflow) >= 3 * 12
    assert not db.with_name(db.name + "-wal").exists(), "every page is in the file"
    with db.open("r+b") as file:
        for page in overflow:
            file.seek((page - 1) * page_size)
            file.write(b"\xff" * page_size)  # the next overflow page: past the file's end
    with contextlib.closing(raw_connection(db)) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="malformed"):
            conn.execute("SELECT status FROM runs NOT INDEXED").fetchall()  # from the rows
        assert [[tuple(row) for row in conn.execute(sql)] for sql in statements] == expected
    # sessions, their verdicts (votes), pictured runs, runs
    assert [len(rows) for rows in expected] == [3, 3, 6, 6]


def test_delete_session_removes_its_runs_and_unknown_ids_are_clear() -> None:
    with SessionStore.open() as store:
        keep = make_comparison(store, "keep")
        gone = make_comparison(store, "gone")
        store.delete_session(gone.id)
        with pytest.raises(SessionNotFound, match=f"no session with id {gone.id}"):
            store.get_session(gone.id)
        with pytest.raises(SessionNotFound):
            store.delete_session(gone.id)
        with pytest.raises(SessionNotFound):
            store.set_verdict(gone.id, "tie")
        with pytest.raises(SessionNotFound):
            store.start_run(gone.id, "left", "local", "m", {}, {}, {})
        assert store.get_session(keep.id) == keep
        conn = store._connection()
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2


def test_verdicts_and_invalid_values() -> None:
    with SessionStore.open() as store:
        session = store.create_session("p")
        store.set_verdict(session.id, "tie")
        assert store.get_session(session.id).verdict == "tie"
        store.set_verdict(session.id, None)
        assert store.get_session(session.id).verdict is None
        with pytest.raises(ValueError, match="verdict"):
            store.set_verdict(session.id, "middle")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="slot"):
            store.start_run(session.id, "center", "local", "m", {}, {}, {})  # type: ignore[arg-type]
        run = store.start_run(session.id, "left", "local", "m", {}, {}, {})
        with pytest.raises(ValueError, match="status"):
            store.finish_run(run, status="running")  # type: ignore[arg-type]


def test_a_sessions_verdict_is_your_latest_vote_on_its_two_runs() -> None:
    """A "both bad" vote was saved as no verdict ("—" in the list, "no verdict yet" on
    the card), and a second vote in the gallery left the list showing the first."""
    with SessionStore.open() as store:
        session = store.create_session("p")
        left = store.start_run(session.id, "left", "local", "m", {}, {}, {})
        right = store.start_run(session.id, "right", "claude", "c", {}, {}, {})
        store.set_verdict(session.id, "right")  # stored before votes were: still read
        assert store.get_session(session.id).verdict == "right"
        store.add_vote(left, right, "both_bad", blind=False)
        assert store.get_session(session.id).verdict == "both_bad"
        assert store.list_sessions()[0].verdict == "both_bad"
        store.add_vote(right, left, "b", blind=True)  # shown the other way round: left won
        assert store.get_session(session.id).verdict == "left"
        store.add_vote(right, left, "a", blind=False, judge="claude-judge")
        assert store.list_sessions()[0].verdict == "left", "the judge's vote is not yours"
        other = store.create_session("p")
        elsewhere = store.start_run(other.id, "left", "local", "m", {}, {}, {})
        store.add_vote(left, elsewhere, "a", blind=False)
        assert store.get_session(session.id).verdict == "left", "a vote across sessions"
        assert store.get_session(other.id).verdict is None


def test_threads_can_share_one_store() -> None:
    with SessionStore.open() as store:

        def work(n: int) -> None:
            for i in range(5):
                s = store.create_session(f"thread {n} #{i}")
                run = store.start_run(s.id, "left", "local", "m", {}, {}, {})
                store.finish_run(run, answer="a")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.count_sessions() == 20


def test_a_busy_store_gives_a_clear_error_and_stays_usable() -> None:
    with SessionStore.open(busy_timeout=0.05) as store:
        session = store.create_session("p")
        blocker = raw_connection(store.path)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(SessionStoreError, match="busy"):
                store.set_verdict(session.id, "tie")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        store.set_verdict(session.id, "tie")
        assert store.get_session(session.id).verdict == "tie"


# --------------------------------------------------------------------------- crashes


def test_running_runs_of_a_live_process_are_left_alone() -> None:
    with SessionStore.open() as writer:
        session = writer.create_session("p")
        run = writer.start_run(session.id, "left", "local", "m", {}, {}, {})
        # A second open (e.g. `sessions list` while the TUI runs) must not touch it.
        with SessionStore.open() as reader:
            assert reader.interrupted_on_open == 0
            assert reader.get_run(run).status == "running"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_live_processs_runs_stay_running_when_the_wall_clock_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process's create time is the boot time plus its start, and the boot time comes
    from the wall clock: the virtual machine was paused and resumed mid-suite (the
    kernel said "crng reseeded due to virtual machine fork"), every create time moved,
    and the runs of the live test process read as crashed to the next open. A run's
    owner is now its start in clock ticks since boot, which a clock step leaves alone."""
    import psutil

    with SessionStore.open() as writer:
        session = writer.create_session("p")
        run = writer.start_run(session.id, "left", "local", "m", {}, {}, {})
        stepped = psutil.Process.create_time
        monkeypatch.setattr(psutil.Process, "create_time", lambda self: stepped(self) + 120)
        with SessionStore.open() as reader:
            assert reader.interrupted_on_open == 0
            assert reader.get_run(run).status == "running"


_WRITER = r"""
import os, sqlite3, sys
from pathlib import Path
from pelican_tui.backends.store.sessions import SessionStore

db = Path(sys.argv[1])
with SessionStore.open(db) as store:
    for i in range(3):
        s = store.create_session(f"committed {i}")
        run = store.start_run(s.id, "left", "local", "m.gguf", {}, {}, {})
        store.finish_run(run, answer=f"answer {i}", svg="<svg/>")
    s = store.create_session("in flight")
    run = store.start_run(s.id, "right", "claude", "claude-opus-4-7", {}, {}, {})
    store.update_run_progress(run, "thinking so far", "partial answer")

    # A big transaction that never commits; a tiny page cache makes SQLite
    # spill its uncommitted pages into the WAL before the kill.
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA cache_size = 8")
    conn.execute("BEGIN IMMEDIATE")
    blob = os.urandom(32 * 1024)
    for i in range(150):
        cur = conn.execute(
            "INSERT INTO sessions (created_at, prompt, title) VALUES (?, ?, ?)",
            ("2030-01-01T00:00:00.000000+00:00", f"uncommitted {i}", "u"),
        )
        conn.execute(
            "INSERT INTO runs (session_id, slot, backend, model_id, status, started_at, png) "
            "VALUES (?, 'left', 'local', 'm', 'running', ?, ?)",
            (cur.lastrowid, "2030-01-01T00:00:00.000000+00:00", blob),
        )
    conn.execute("UPDATE runs SET answer = 'overwritten' WHERE id = 1")
    print("ready", flush=True)
    sys.stdin.read()  # wait here until killed
"""


def test_writer_killed_mid_transaction_loses_nothing_committed(tmp_path: Path) -> None:
    db = locations.sessions_db()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        readable, _, _ = select.select([proc.stdout], [], [], 60)
        assert readable, "the writer never became ready"
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
        wal = db.with_name(db.name + "-wal")
        # The uncommitted transaction really reached the disk (spilled to the WAL).
        assert wal.stat().st_size > 1_000_000
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    with SessionStore.open(db) as store:
        assert store.moved_corrupt_to is None
        assert store.check_on_open == "full", "a crashed writer's store is checked whole"
        assert store.interrupted_on_open == 1
        summaries = store.list_sessions(limit=100)
        assert sorted(s.prompt for s in summaries) == [
            "committed 0",
            "committed 1",
            "committed 2",
            "in flight",
        ]
        for summary in summaries:
            session = store.get_session(summary.id)
            if summary.prompt == "in flight":
                (run,) = session.runs
                assert run.status == "interrupted"
                assert run.failure_reason == ss.INTERRUPTED_REASON
                assert (run.thinking_text, run.answer) == ("thinking so far", "partial answer")
            else:
                (run,) = session.runs
                assert run.status == "finished"
                assert run.answer == f"answer {summary.prompt[-1]}"
        conn = store._connection()
        assert [tuple(r) for r in conn.execute("PRAGMA integrity_check")] == [("ok",)]
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 4


CHILD = Path(__file__).with_name("_store_writer_child.py")


def _int(value: object) -> int:
    assert isinstance(value, int), value
    return value


class _Writer:
    """A child process writing through SessionStore (tests/_store_writer_child.py)."""

    def __init__(self, *args: object) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._buffer = b""

    def report(self, timeout: float = 60.0) -> dict[str, object]:
        """The next JSON line the child writes, waiting at most ``timeout`` seconds."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            readable, _, _ = select.select([fd], [], [], max(0.0, left))
            chunk = os.read(fd, 65536) if readable else b""
            if not chunk:
                self.close()
                stderr = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise AssertionError(
                    f"the writer said nothing more (exit {self.proc.returncode}): {stderr}"
                )
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        data = json.loads(line)
        assert isinstance(data, dict)
        return data

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        assert self.proc.returncode == -signal.SIGKILL, self.proc.returncode

    def rest_of_output(self) -> bytes:
        """Everything it wrote after the last report read (call after :meth:`kill`)."""
        assert self.proc.stdout is not None
        return self._buffer + self.proc.stdout.read()

    def close(self) -> None:
        """Stop it if it still runs; close the pipes to it (stderr stays readable)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()


def _committed_before(db: Path) -> tuple[list[Session], int]:
    """Sessions a user already has (two comparisons with pictures), and a big one to delete."""
    with SessionStore.open(db, clock=FixedClock()) as store:
        make_comparison(store, "kept 1")
        make_comparison(store, "kept 2")
        big = store.create_session("to delete")
        run = store.start_run(big.id, "left", "local", "m.gguf", {}, {}, {})
        store.finish_run(run, answer="d" * BIG, png=b"D" * BIG)
        sessions = [store.get_session(s.id) for s in store.list_sessions()]
    return sessions, big.id


def _check_in_flight_run(store: SessionStore, operation: str, run_id: int, new: bool) -> None:
    run = store.get_run(run_id)
    if operation == "finish_run" and new:
        assert run.status == "finished" and run.failure_reason is None
        assert run.thinking_text == "new" + "t" * BIG
        assert run.answer == "new" + "a" * BIG
        assert (run.svg, run.png, run.timings) == ("<svg/>", b"P" * BIG, {"total_s": 9.0})
        assert run.picture_facts == PICTURE_FACTS
        return
    # Still running when its writer died: interrupted, with whole texts.
    assert (run.status, run.failure_reason) == ("interrupted", ss.INTERRUPTED_REASON)
    assert run.finished_at is not None
    if operation == "update_run_progress" and new:
        assert (run.thinking_text, run.answer) == ("new" + "t" * BIG, "new" + "a" * BIG)
    else:
        assert (run.thinking_text, run.answer) == ("old thinking", "old answer")
    assert (run.svg, run.png, run.timings, run.picture_facts) == (None, None, {}, {})


def _check_vote(store: SessionStore, run_id: int, target: int, new: bool) -> None:
    if not new:
        assert store.votes() == []
        return
    (vote,) = store.votes()
    opponent = store.get_session(target).runs[0].id
    assert (vote.run_a, vote.run_b, vote.winner, vote.blind, vote.judge, vote.reason) == (
        run_id,
        opponent,
        "b",
        True,
        None,
        "the wheels",
    )


@pytest.mark.parametrize(
    "operation", ["finish_run", "update_run_progress", "delete_session", "add_vote"]
)
def test_a_sessionstore_write_killed_at_any_statement_is_all_or_nothing(
    tmp_path: Path, operation: str
) -> None:
    """SIGKILL a real writer inside SessionStore's own transaction, before each
    statement it issues in turn and once after it returns: the store opens, what
    was committed before is intact, and the write is wholly there or wholly not."""
    stopped_before_commit_with_spilled_pages = False
    stop_at = 0
    while True:
        stop_at += 1
        assert stop_at < 10, "the operation never returned"
        db = tmp_path / f"stop-{stop_at}" / "sessions.sqlite3"
        before, target = _committed_before(db)
        writer = _Writer("stop", db, operation, stop_at, target)
        try:
            started = writer.report()
            point = writer.report()
            writer.kill()
        finally:
            writer.close()
        run_id, session_id = _int(started["run"]), _int(started["session"])
        if "returned" in point:
            done = point["returned"]
            # One transaction: BEGIN IMMEDIATE, the change, COMMIT.
            assert isinstance(done, list) and done[0] == "BEGIN IMMEDIATE"
            assert done[-1] == "COMMIT" and done.count("COMMIT") == 1
            new = True
        else:
            earlier = point["earlier"]
            assert isinstance(earlier, list)
            new = "COMMIT" in earlier
            big_write = operation in ("finish_run", "update_run_progress")
            if point["stopped_before"] == "COMMIT" and big_write:
                # The uncommitted change really is on disk, in the WAL, at the kill.
                wal_bytes = point["wal_bytes"]
                assert isinstance(wal_bytes, int) and wal_bytes > BIG // 2
                stopped_before_commit_with_spilled_pages = True

        with SessionStore.open(db) as store:
            assert store.moved_corrupt_to is None
            assert store.check_on_open == "full", "a killed writer's store is checked whole"
            conn = store._connection()
            assert [tuple(r) for r in conn.execute("PRAGMA integrity_check")] == [("ok",)]
            deleted = operation == "delete_session" and new
            for session in before:
                if deleted and session.id == target:
                    with pytest.raises(SessionNotFound):
                        store.get_session(target)
                    count = "SELECT COUNT(*) FROM runs WHERE session_id = ?"
                    assert conn.execute(count, (target,)).fetchone()[0] == 0
                else:
                    assert store.get_session(session.id) == session
            assert store.get_session(session_id).prompt == "in flight"
            _check_in_flight_run(store, operation, run_id, new and operation != "add_vote")
            _check_vote(store, run_id, target, new and operation == "add_vote")
            finished = operation == "finish_run" and new
            assert store.interrupted_on_open == (0 if finished else 1)
            assert store.count_sessions() == len(before) + 1 - deleted
        if "returned" in point:
            break
    if operation in ("finish_run", "update_run_progress"):
        assert stopped_before_commit_with_spilled_pages


def test_a_writer_killed_while_checkpointing_in_a_loop_leaves_one_whole_checkpoint(
    tmp_path: Path,
) -> None:
    """The kill lands wherever the writer happens to be (mostly inside a write):
    the stored texts are one checkpoint, whole, at least the last one reported."""
    db = tmp_path / "sessions.sqlite3"
    chars = 256 * 1024
    writer = _Writer("loop", db, chars)
    try:
        started = writer.report()
        while True:
            if _int(writer.report()["committed"]) >= 3:
                break
        writer.kill()
        later = [json.loads(line) for line in writer.rest_of_output().splitlines() if line.strip()]
    finally:
        writer.close()
    # Reported after each checkpoint returned: all of these are committed.
    reported = max([3, *(_int(line["committed"]) for line in later)])
    with SessionStore.open(db) as store:
        assert store.interrupted_on_open == 1
        run = store.get_run(_int(started["run"]))
        assert run.status == "interrupted"
        tag = run.thinking_text[:6]
        # A checkpoint that returned is there; at most the one in flight beyond it.
        assert reported <= int(tag) <= reported + 1
        assert run.thinking_text == tag + "t" * chars
        assert run.answer == tag + "a" * chars


# --------------------------------------------------------------------------- upgrades and refusals


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_a_frozen_store_has_the_schema_its_upgrade_steps_build(
    version: int, tmp_path: Path
) -> None:
    # The steps up to ``version`` must never change: stores they built are on users'
    # disks. If this fails, a step was edited; add a new step instead and leave the
    # old ones be.
    frozen = tmp_path / "frozen.sqlite3"
    frozen_store(frozen, version)
    built = tmp_path / "built.sqlite3"
    with (
        contextlib.closing(raw_connection(built)) as conn,
        contextlib.closing(raw_connection(frozen)) as old,
    ):
        upgrades.upgrade(conn, target=version)
        assert schema(old) == schema(conn)
        for pragma in ("user_version", "application_id"):
            assert old.execute(f"PRAGMA {pragma}").fetchone() == (
                conn.execute(f"PRAGMA {pragma}").fetchone()
            )
        assert old.execute("PRAGMA user_version").fetchone() == (version,)


def test_a_frozen_v1_store_upgrades_with_its_data() -> None:
    db = locations.sessions_db()
    frozen_store(db, 1)
    with contextlib.closing(raw_connection(db)) as conn:
        assert upgrades.schema_version(conn) == 1
        # Version 1 had no verdict note and no run owner.
        assert "owner" not in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}

    with SessionStore.open(db) as store:
        conn = upgraded_whole(store)
        assert {row[1] for row in conn.execute("PRAGMA index_list(runs)")} == {
            "runs_listed",
            "runs_pictured",
            "runs_running",
        }
        assert [s.id for s in store.list_sessions()] == [3, 2, 1]

        first = store.get_session(1)
        assert (first.prompt, first.verdict, first.verdict_note) == (
            "Generate an SVG of a pelican riding a bicycle",
            "right",
            None,
        )
        assert first.created_at.isoformat() == "2026-01-02T03:04:05+00:00"
        local, claude = first.runs
        assert (local.slot, local.backend, local.model_id, local.status) == (
            "left",
            "local",
            "Qwen3.6-35B-A3B-Q4_K_M.gguf",
            "finished",
        )
        assert local.model_info["server_args"][-2:] == ["-c", "16384"]
        assert local.settings == {"sampling": {"temperature": 1.0, "top_k": 20}, "thinking": True}
        assert local.thinking_text == "Wheels first."
        assert local.answer.startswith("Here:\n```svg\n<svg")
        assert local.svg == '<svg xmlns="http://www.w3.org/2000/svg"><circle r="5"/></svg>'
        assert local.png == b"\x89PNG\r\n\x1a\n\x00\x01\xff"
        assert local.timings == {"generation_tokens_per_s": 41.25, "total_s": 3.0}
        assert local.usage == {"input_tokens": 30, "output_tokens": 500}
        assert local.peak_ram == {"server_rss_bytes": 21_000_000_000}
        assert local.host == {"cpu": "Old CPU", "cpu_threads": 8}
        assert local.finished_at is not None and local.finished_at.second == 9
        # A v1 run left running has no recorded owner: it is interrupted, its text kept.
        assert (claude.status, claude.failure_reason) == ("interrupted", ss.INTERRUPTED_REASON)
        assert (claude.thinking_text, claude.answer) == ("Summarized.", "<svg")
        assert store.interrupted_on_open == 1

        second = store.get_session(2)
        assert second.prompt == "Un pélican à vélo 🚲\nsecond line"
        assert second.title == "Un pélican à vélo 🚲" and second.verdict is None
        cancelled, failed = second.runs
        assert (cancelled.status, cancelled.svg, cancelled.svg_note) == (
            "cancelled",
            None,
            "no <svg> in the answer",
        )
        assert cancelled.model_info == {"url": "http://127.0.0.1:8080"}
        assert (failed.status, failed.failure_reason) == ("failed", "overloaded (529)")
        third = store.get_session(3)
        assert (third.runs, third.verdict) == ((), "tie")

        # The new columns work, and new rows go on after the old ids.
        store.set_verdict(1, "tie", note="both odd")
        assert store.get_session(1).verdict_note == "both odd"
        assert store.create_session("new").id == 4
        assert store.start_run(4, "left", "local", "m", {}, {}, {}) == 5

    # Upgraded once: opening again changes nothing.
    with SessionStore.open(db) as store:
        assert store.interrupted_on_open == 0
        assert store.get_session(1).runs[0] == local


def test_a_frozen_v3_store_upgrades_to_list_its_runs_from_indexes(tmp_path: Path) -> None:
    db = locations.sessions_db()
    frozen_store(db, 3)
    with contextlib.closing(raw_connection(db)) as conn:
        assert upgrades.schema_version(conn) == 3
        assert "runs_by_session" in {row[1] for row in conn.execute("PRAGMA index_list(runs)")}
        # Its statistics (PRAGMA optimize on close) name the index the step replaces.
        assert ("runs", "runs_by_session") in set(
            conn.execute("SELECT tbl, idx FROM sqlite_stat1").fetchall()
        )

    with SessionStore.open(db) as store:
        conn = upgraded_whole(store)
        assert store.interrupted_on_open == 1  # run 4's writer is gone
        assert "runs_by_session" not in {
            row[0] for row in conn.execute("SELECT idx FROM sqlite_stat1")
        }, "no statistics left for an index that is gone"
        listed = [
            (s.id, [(r.id, r.slot, r.backend, r.model_id, r.status, r.has_svg) for r in s.runs])
            for s in store.list_sessions()
        ]
        assert listed == [
            (
                2,
                [
                    (3, "left", "openai", "gpt-oss-20b", "failed", False),
                    (4, "right", "local", "SmolLM2-135M-Instruct.Q4_1.gguf", "interrupted", False),
                ],
            ),
            (
                1,
                [
                    (1, "left", "local", "Qwen3.6-35B-A3B-Q4_K_M.gguf", "finished", True),
                    (2, "right", "claude", "claude-opus-4-7", "finished", False),
                ],
            ),
        ]
        for sql in _list_statements(store):
            assert _row_reads(conn, sql, "runs") == [], sql

        # The data is as it was.
        first = store.get_session(1)
        assert (first.prompt_set, first.private, first.verdict, first.verdict_note) == (
            "pelican",
            False,
            "left",
            "the wheels",
        )
        local, claude = first.runs
        assert local.png == b"\x89PNG\r\n\x1a\n\x00\x03\xff"
        assert local.picture_facts == {"elements": 1, "ink": 0.12, "renders": True}
        assert (claude.svg, claude.svg_note) == (None, "no <svg> in the answer")
        assert store.get_session(2).private is True
        assert [(v.run_a, v.run_b, v.winner) for v in store.votes()] == [(1, 2, "a")]
        assert [v.reason for v in store.votes(judge=True)] == ["round wheels"]
        upgraded = schema(conn)

    # Upgraded once: opening again changes nothing; a store made new has the same schema.
    with SessionStore.open(db) as store:
        assert store.interrupted_on_open == 0
        assert schema(store._connection()) == upgraded
        assert store.get_session(1).runs[0] == local
    with SessionStore.open(tmp_path / "new.sqlite3") as store:
        assert schema(store._connection()) == upgraded


def test_a_frozen_v4_store_upgrades_without_the_url_passwords_it_kept() -> None:
    """A URL password with a space in it stayed in the store (a run's command line, an
    attached server's URL and the failure reason quoting it): exports hid some of it,
    the file kept all of it. The upgrade finds it where the URL is one value and
    replaces it there and in that run's texts; nothing else changes."""
    db = locations.sessions_db()
    frozen_store(db, 4)
    with contextlib.closing(raw_connection(db)) as conn:
        assert upgrades.schema_version(conn) == 4
        untouched = {
            row[0]: tuple(row)
            for row in conn.execute("SELECT * FROM runs WHERE id = 2")  # nothing to hide
        }
    assert b"s3cret PW" in db.read_bytes() and b"pass word 99" in db.read_bytes()

    with SessionStore.open(db) as store:
        conn = upgraded_whole(store)
        local, claude = store.get_session(1).runs
        attached, other = store.get_session(2).runs
        assert local.model_info["server_args"][-3:] == [
            "--mmproj-url",
            "http://[redacted]@gpu-box:8080/mmproj.gguf",
            "--lora-url=http://[redacted]@gpu-box:8080/mmproj.gguf",
        ]
        assert local.model_info["server_args"][:2] == ["-m", "/models/Qwen3.6-35B-A3B-Q4_K_M.gguf"]
        assert (local.thinking_text, local.png) == (
            "Wheels first.",
            b"\x89PNG\r\n\x1a\n\x00\x04\xff",
        )
        assert attached.model_info == {"url": "http://gpu-box:8080/v1"}
        assert attached.failure_reason == (
            "cannot reach http://[redacted]@gpu-box:8080/v1: refused (user [redacted])"
        )
        assert other.settings == {"baseURL": "http://gpu-box:11434/v1", "thinking": True}
        assert other.model_info == {"server_url": "http://[redacted]@gpu-box:11434/v1"}
        assert other.answer == "plain"
        assert tuple(conn.execute("SELECT * FROM runs WHERE id = 2").fetchone()) == untouched[2]
        assert [(v.run_a, v.run_b, v.winner) for v in store.votes()] == [(1, 2, "a")]
        assert claude.answer == "no picture today"
    for path in db.parent.iterdir():  # the store, its log and whatever beside it
        data = path.read_bytes()
        assert b"s3cret" not in data and b"pass word" not in data and b"pw x" not in data, path

    # Upgraded once: opening again changes nothing.
    with SessionStore.open(db) as store:
        assert store.get_session(1).runs[0] == local


def test_failed_upgrade_step_leaves_the_old_version(monkeypatch: pytest.MonkeyPatch) -> None:
    db = locations.sessions_db()
    frozen_store(db, 1)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE sessions ADD COLUMN half_done TEXT")
        raise RuntimeError("step failed")

    monkeypatch.setattr(upgrades, "UPGRADES", (upgrades.UPGRADES[0], broken))
    with pytest.raises(RuntimeError, match="step failed"):
        SessionStore.open(db)
    conn = raw_connection(db)
    assert upgrades.schema_version(conn) == 1
    assert "half_done" not in {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (4,)
    conn.close()


def test_store_from_a_newer_version_is_refused_and_untouched() -> None:
    db = locations.sessions_db()
    with SessionStore.open(db) as store:
        make_comparison(store)
    conn = raw_connection(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(SessionStoreTooNew) as caught:
        SessionStore.open(db)
    message = str(caught.value)
    assert "version 99" in message and str(db) in message and "not changed" in message
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert [p.name for p in db.parent.iterdir() if "corrupt" in p.name] == []


def test_a_foreign_sqlite_file_is_refused_not_moved() -> None:
    db = locations.sessions_db()
    locations.ensure(db.parent)
    conn = raw_connection(db)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    with pytest.raises(SessionStoreError, match="not a pelican-tui session store"):
        SessionStore.open(db)
    assert db.exists()
    assert not list(db.parent.glob("*.corrupt-*"))


# --------------------------------------------------------------------------- corruption


def test_junk_file_is_moved_aside_and_a_fresh_store_started() -> None:
    db = locations.sessions_db()
    locations.ensure(db.parent)
    junk = b"this is not a database \x00\xff" * 200
    db.write_bytes(junk)
    with SessionStore.open(db, clock=FixedClock()) as store:
        moved = store.moved_corrupt_to
        assert moved is not None
        assert moved.parent == db.parent
        assert re.fullmatch(r"sessions\.sqlite3\.corrupt-\d{8}-\d{6}", moved.name)
        assert moved.read_bytes() == junk
        assert any(str(moved) in notice for notice in store.notices)
        assert store.list_sessions() == []
        session = store.create_session("fresh")
    with SessionStore.open(db) as store:
        assert store.moved_corrupt_to is None
        assert [s.id for s in store.list_sessions()] == [session.id]


def test_corrupt_name_uses_the_timestamp_and_never_overwrites() -> None:
    db = locations.sessions_db()
    locations.ensure(db.parent)
    clock = FixedClock()
    stamp = clock.now.astimezone().strftime("%Y%m%d-%H%M%S")
    taken = db.with_name(f"sessions.sqlite3.corrupt-{stamp}")
    taken.write_bytes(b"an earlier corrupt file")
    db.write_bytes(b"junk" * 1000)
    frozen = clock.now
    with SessionStore.open(db, clock=lambda: frozen) as store:
        assert store.moved_corrupt_to == db.with_name(f"sessions.sqlite3.corrupt-{stamp}-1")
    assert taken.read_bytes() == b"an earlier corrupt file"


def test_damaged_pages_are_detected_and_moved_aside() -> None:
    db = locations.sessions_db()
    with SessionStore.open(db) as store:
        for i in range(40):
            store.create_session(f"prompt {i} " + "x" * 2000)
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page : 3 * page] = bytes(range(256)) * (page // 256)
    db.write_bytes(bytes(data))
    with SessionStore.open(db) as store:
        assert store.moved_corrupt_to is not None
        assert store.moved_corrupt_to.read_bytes() == bytes(data)
        assert store.list_sessions() == []


def _closed_record(db: Path) -> Path:
    return db.with_name(db.name + "-closed")


def _store_of_forty(db: Path) -> int:
    """A store of 40 sessions, closed cleanly; the root page of its sessions table."""
    with SessionStore.open(db) as store:
        for i in range(40):
            store.create_session(f"prompt {i} " + "x" * 2000)
        root = store._connection().execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'sessions'"
        )
        page = int(root.fetchone()[0])
    assert _closed_record(db).exists()
    assert not db.with_name(db.name + "-wal").exists()
    return page


def _damage_unseen(db: Path, page_number: int) -> bytes:
    """Overwrite one page, then give the file back its modification time (the size
    does not change): to the file's metadata, it is as it was."""
    before = db.stat()
    data = bytearray(db.read_bytes())
    page = 4096
    start = (page_number - 1) * page
    assert len(data) >= start + page
    data[start : start + page] = bytes(range(256)) * (page // 256)
    db.write_bytes(bytes(data))
    os.utime(db, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = db.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    return bytes(data)


def test_a_clean_reopen_skips_the_whole_file_check() -> None:
    db = locations.sessions_db()
    closed = _closed_record(db)
    with SessionStore.open(db) as store:
        assert store.check_on_open == "full", "a new file has no clean close yet"
        make_comparison(store, "kept")
        # A second store in this process (the sessions screen beside the engine's).
        with SessionStore.open(db) as second:
            assert second.check_on_open == "open here"
            assert [s.prompt for s in second.list_sessions()] == ["kept"]
        assert not closed.exists(), "the first store is still open"
    assert closed.exists()
    with SessionStore.open(db) as store:
        assert store.check_on_open == "clean close"
        assert not closed.exists(), "open: a crash now must leave no clean-close record"
        assert [s.prompt for s in store.list_sessions()] == ["kept"]
    with SessionStore.open(db) as store:
        assert store.check_on_open == "clean close"
    # Changed since (a write by anything else moves the modification time): whole again.
    os.utime(db, ns=(db.stat().st_atime_ns, db.stat().st_mtime_ns + 1))
    with SessionStore.open(db) as store:
        assert store.check_on_open == "full"
        assert store.moved_corrupt_to is None


def test_a_store_another_process_has_open_is_checked_whole(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite3"
    _store_of_forty(db)
    writer = _Writer("hold", db)
    try:
        assert writer.report() == {"check": "clean close"}
        with SessionStore.open(db) as store:
            assert store.check_on_open == "full"
        assert not _closed_record(db).exists(), "not the last to close: no record"
    finally:
        writer.close()


def test_a_corrupt_file_is_detected_after_an_unclean_close(tmp_path: Path) -> None:
    """A pelican-tui killed with the store open leaves its write-ahead log: the next
    open checks the whole file even when a clean-close record matches it."""
    db = tmp_path / "sessions.sqlite3"
    page = _store_of_forty(db)
    record = _closed_record(db).read_bytes()
    writer = _Writer("hold", db)
    try:
        assert writer.report() == {"check": "clean close"}
        writer.kill()
    finally:
        writer.close()
    assert db.with_name(db.name + "-wal").exists(), "the killed writer left its log"
    damaged = _damage_unseen(db, page)
    _closed_record(db).write_bytes(record)  # as if nothing had removed it
    with SessionStore.open(db, clock=FixedClock()) as store:
        assert store.check_on_open == "full"
        moved = store.moved_corrupt_to
        assert moved is not None and moved.read_bytes() == damaged, "kept, byte for byte"
        assert any(str(moved) in notice and "damaged" in notice for notice in store.notices)
        assert store.list_sessions() == []


def test_damage_seen_while_open_gets_the_whole_check_next_time() -> None:
    """Damage a clean close cannot see is found by the first read; that store's close
    records no clean close, so the next open checks the whole file and moves it aside."""
    db = locations.sessions_db()
    damaged = _damage_unseen(db, _store_of_forty(db))
    with SessionStore.open(db) as store:
        assert store.check_on_open == "clean close"
        assert store.moved_corrupt_to is None, "the check was skipped"
        with pytest.raises(SessionStoreError, match="malformed"):
            store.list_sessions()
    assert not _closed_record(db).exists()
    with SessionStore.open(db) as store:
        assert store.check_on_open == "full"
        assert store.moved_corrupt_to is not None
        assert store.moved_corrupt_to.read_bytes() == damaged
        assert not _closed_record(store.moved_corrupt_to).exists()


# --------------------------------------------------------------------------- secrets


def test_secrets_are_scrubbed_before_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    env_key = "plain-looking-secret-value-1234"
    monkeypatch.setenv("ANTHROPIC_API_KEY", env_key)
    anthropic_key = "sk-ant-api03-" + "A1b2C3d4" * 8
    openai_key = "sk-proj-" + "Zz9" * 12
    server_key = "random-server-key-5678"
    monkeypatch.setattr(secrets, "_registered", set())
    secrets.register_secret(server_key)
    with SessionStore.open() as store:
        session = store.create_session("p")
        run = store.start_run(
            session.id,
            "left",
            "local",
            "m.gguf",
            {
                "server_args": ["-m", "m.gguf", "--api-key", server_key, "--port", "0"],
                "flags": [f"--api-key={server_key}"],
                "note": f"used {anthropic_key} here",
                "task-specific-finetune-name-abcdefghijklmnop": "kept",
            },
            {
                "api_key": openai_key,
                "headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwx"},
            },
            {"env_dump": f"ANTHROPIC_API_KEY={env_key}", "hf_token": "hf_" + "q" * 34},
        )
        store.finish_run(
            run,
            status="failed",
            failure_reason=f"401 for key {anthropic_key}",
            usage={"input_tokens": 3, "max_tokens": 10},
        )
        got = store.get_run(run)
    assert got.model_info["server_args"] == [
        "-m",
        "m.gguf",
        "--api-key",
        "[redacted]",
        "--port",
        "0",
    ]
    assert got.model_info["flags"] == ["--api-key=[redacted]"]
    assert got.model_info["note"] == "used [redacted] here"
    assert got.model_info["task-specific-finetune-name-abcdefghijklmnop"] == "kept"
    assert got.settings == {"api_key": "[redacted]", "headers": {"Authorization": "[redacted]"}}
    assert got.host == {"env_dump": "ANTHROPIC_API_KEY=[redacted]", "hf_token": "[redacted]"}
    assert got.failure_reason == "401 for key [redacted]"
    assert got.usage == {"input_tokens": 3, "max_tokens": 10}  # "tokens" is not a secret

    # Not anywhere on disk either (database and WAL).
    raw = b"".join(p.read_bytes() for p in locations.data_dir().iterdir() if p.is_file())
    for secret in (env_key, anthropic_key, openai_key, server_key):
        assert secret.encode() not in raw


def _assert_not_on_disk(*values: str) -> None:
    raw = b"".join(p.read_bytes() for p in locations.data_dir().iterdir() if p.is_file())
    assert b"draw a pelican" in raw  # the grep does see the stored text
    for secret in values:
        assert secret.encode() not in raw


PASTED_KEY = "pasted-key-" + "Q7z" * 12
"""An ANTHROPIC_API_KEY matching no key pattern: only its literal value can find it."""


def test_a_key_pasted_into_any_text_is_never_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", PASTED_KEY)
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><text>{PASTED_KEY}</text></svg>'
    half = PASTED_KEY[: len(PASTED_KEY) // 2]
    with SessionStore.open() as store:
        session = store.create_session(f"My key is {PASTED_KEY}, draw a pelican")
        assert session.prompt == "My key is [redacted], draw a pelican"
        assert session.title == session.prompt
        titled = store.create_session("p", title=f"about {PASTED_KEY}")
        assert titled.title == "about [redacted]"
        run = store.start_run(session.id, "left", "openai", f"model-{PASTED_KEY}", {}, {}, {})
        # A checkpoint taken while the key streams in holds only its first half...
        assert store.update_run_progress(run, f"thinking {half}", f"answer {half}")
        got = store.get_run(run)
        assert (got.thinking_text, got.answer) == ("thinking [redacted]", "answer [redacted]")
        # ... and the whole key, once it has arrived.
        store.update_run_progress(run, f"thinking {PASTED_KEY} more", f"answer {PASTED_KEY}")
        assert store.get_run(run).answer == "answer [redacted]"
        store.finish_run(
            run,
            thinking_text=f"The user's key is {PASTED_KEY}.",
            answer=f"Here:\n```svg\n{svg}\n```\nand again {PASTED_KEY}",
            svg=svg,
            svg_note=f"kept the last of 2 ({PASTED_KEY})",
            failure_reason=None,
        )
        store.set_verdict(session.id, "left", note=f"key {PASTED_KEY}")
        stored = store.get_session(session.id)
        # Nowhere on disk, not even in pages a later write replaced: database, WAL, -shm
        # while open, and the database after the WAL is folded back in on close.
        _assert_not_on_disk(PASTED_KEY, half)
    _assert_not_on_disk(PASTED_KEY, half)
    (run_got,) = stored.runs
    assert run_got.model_id == "model-[redacted]"
    assert run_got.thinking_text == "The user's key is [redacted]."
    assert run_got.answer.endswith("and again [redacted]")
    assert run_got.svg == '<svg xmlns="http://www.w3.org/2000/svg"><text>[redacted]</text></svg>'
    assert run_got.svg_note == "kept the last of 2 ([redacted])"
    assert stored.verdict_note == "key [redacted]"


# --------------------------------------------------------------------------- host facts


def test_host_summary_has_the_facts_and_nothing_identifying() -> None:
    summary = host_info.host_summary()
    assert set(summary) == {
        "cpu",
        "cpu_cores",
        "cpu_threads",
        "ram_total_bytes",
        "os",
        "arch",
        "python",
        "pelican_tui",
    }
    assert summary["ram_total_bytes"] > 0
    assert summary["cpu_threads"] >= 1
    assert summary["python"] == ".".join(map(str, sys.version_info[:3]))
    text = repr(summary)
    import getpass
    import socket

    assert socket.gethostname() not in text
    assert getpass.getuser() not in text.replace("pelican", "")
    assert host_info.host_summary() == summary  # stable


def test_file_sha256_is_computed_once_and_refreshed_on_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "hashes.json"
    model = tmp_path / "model.gguf"
    payload = os.urandom(host_info.HASH_CHUNK_BYTES + 12345)
    model.write_bytes(payload)
    progress: list[tuple[int, int]] = []
    digest = host_info.file_sha256_cached(
        model, cache_file=cache, progress=lambda d, t: progress.append((d, t))
    )
    assert digest == hashlib.sha256(payload).hexdigest()
    assert progress[-1] == (len(payload), len(payload)) and len(progress) == 2

    def must_not_hash(*args: object) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(host_info, "_sha256_file", must_not_hash)
    assert host_info.file_sha256_cached(model, cache_file=cache) == digest
    monkeypatch.undo()

    model.write_bytes(payload[:-1])
    assert host_info.file_sha256_cached(model, cache_file=cache) == (
        hashlib.sha256(payload[:-1]).hexdigest()
    )
    # A damaged cache is rebuilt, not fatal.
    cache.write_text("{not json")
    assert host_info.file_sha256_cached(model, cache_file=cache) == (
        hashlib.sha256(payload[:-1]).hexdigest()
    )


def test_file_sha256_default_cache_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PELICAN_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"gguf")
    host_info.file_sha256_cached(model)
    assert str(model.resolve()) in locations.hash_cache_file().read_text()


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_a_store_whose_folder_cannot_be_written_is_read_and_left_as_it_is(
    tmp_path: Path,
) -> None:
    """A data folder on a read-only file system: SQLite could not make the -shm file a
    WAL store is read through, so every reader failed with "unable to open database
    file" and the sessions were hidden. Cleanly closed, the file holds every commit:
    it is read as it is, and nothing is written, recorded or created beside it."""
    db = tmp_path / "data" / "sessions.sqlite3"
    db.parent.mkdir()
    with SessionStore.open(db, clock=FixedClock()) as store:
        made = [make_comparison(store, "kept 1"), make_comparison(store, "kept 2")]
    before = _files(db.parent)
    assert set(before) == {db.name, db.name + "-closed"}, "closed cleanly: no log left"
    with unwritable(db.parent):
        with pytest.raises(SessionStoreError, match="could not open the session store"):
            SessionStore.open(db)  # to write (run, the app's comparisons): refused as before
        with SessionStore.open(db, create=False, read_only_ok=True) as store:
            why = f"its folder {db.parent} is not writable"
            assert store.read_only == why
            assert store.check_on_open == "clean close"
            assert [store.get_session(s.id) for s in store.list_sessions()] == made[::-1]
            assert store.notices == [
                f"The session store is read only: {why}; nothing can be saved."
            ]
            with pytest.raises(SessionStoreError) as refused:
                store.create_session("not saved")
            assert str(refused.value) == f"nothing can be saved to the session store {db}: {why}"
            with pytest.raises(SessionStoreError, match="nothing can be saved"):
                store.delete_session(made[0].id)
        assert _files(db.parent) == before


def test_a_crashed_run_in_a_store_that_cannot_be_written_reads_interrupted(
    tmp_path: Path,
) -> None:
    """A store opened to read only cannot mark the runs of crashed processes
    "interrupted", as an open for writing does: the sessions list and the session read
    "running" for a run nobody runs. They are read as marked, and only they: a run
    whose process lives (a pelican-tui running now) is still "running"."""
    db = tmp_path / "data" / "sessions.sqlite3"
    db.parent.mkdir()
    with SessionStore.open(db, clock=FixedClock()) as store:
        session = store.create_session("a prompt").id
        crashed = store.start_run(session, "left", "local", "m")
        live = store.start_run(session, "right", "local", "m")
        store.update_run_progress(crashed, "thought", "half an answer")
    with contextlib.closing(raw_connection(db)) as conn, conn:
        conn.execute("UPDATE runs SET owner = '2147480000:1.0' WHERE id = ?", (crashed,))
    with (
        unwritable(db.parent),
        SessionStore.open(db, create=False, read_only_ok=True) as store,
    ):
        (summary,) = store.list_sessions()
        assert [run.status for run in summary.runs] == ["interrupted", "running"]
        run = store.get_run(crashed)
        assert (run.status, run.failure_reason) == ("interrupted", ss.INTERRUPTED_REASON)
        assert (run.thinking_text, run.answer) == ("thought", "half an answer")
        assert [run.status for run in store.get_session(session).runs] == [
            "interrupted",
            "running",
        ]
        by_prompt = store.runs_for_prompt("a prompt", finished_only=False)
        assert {run.id: run.status for run in by_prompt} == {
            crashed: "interrupted",
            live: "running",
        }
    with SessionStore.open(db) as store:  # writable again: the same run, marked
        assert store.interrupted_on_open == 1
        assert store.get_run(crashed).status == "interrupted"
        assert store.get_run(live).status == "running"


def test_an_unwritable_store_with_its_log_left_is_read_through_the_log(tmp_path: Path) -> None:
    """A store whose writer crashed leaves commits in its write-ahead log. Opened
    ``immutable`` SQLite would not read the log, and those sessions would go unseen:
    it is read through the log. Without the log's -shm file it cannot be read whole,
    and says so."""
    db = tmp_path / "live" / "sessions.sqlite3"
    db.parent.mkdir()
    crashed = tmp_path / "crashed" / db.name
    crashed.parent.mkdir()
    with SessionStore.open(db, clock=FixedClock()) as store:
        earlier = make_comparison(store, "checkpointed at a clean close")
    with SessionStore.open(db, clock=FixedClock()) as store:
        in_log = make_comparison(store, "in the log only")
        for suffix in ("", "-wal", "-shm"):  # what a crash leaves, as it is now
            crashed.with_name(crashed.name + suffix).write_bytes(
                db.with_name(db.name + suffix).read_bytes()
            )
    immutable = sqlite3.connect(f"{crashed.as_uri()}?mode=ro&immutable=1", uri=True)
    with contextlib.closing(immutable):
        assert immutable.execute("SELECT id FROM sessions").fetchall() == [(earlier.id,)]
    with (
        unwritable(crashed.parent),
        SessionStore.open(crashed, create=False, read_only_ok=True) as store,
    ):
        assert store.check_on_open == "full"
        assert store.get_session(in_log.id) == in_log
        assert store.get_session(earlier.id) == earlier
    crashed.with_name(crashed.name + "-shm").unlink()
    with (
        unwritable(crashed.parent),
        pytest.raises(SessionStoreError, match="was not closed cleanly") as refused,
    ):
        SessionStore.open(crashed, create=False, read_only_ok=True)
    assert "nothing can be saved there" not in str(refused.value), "the folder said once"


def test_a_store_on_a_read_only_file_system_is_read_and_says_so(tmp_path: Path) -> None:
    """The case itself, a read-only mount (root only: the tests above make a folder
    unwritable, which needs no mount)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a file system needs root")
    mount = tmp_path / "mount"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"could not mount a tmpfs: {made.stderr!r}")
    try:
        db = mount / "data" / "sessions.sqlite3"
        with SessionStore.open(db, clock=FixedClock()) as store:
            kept = make_comparison(store, "kept on a read-only disk")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        with pytest.raises(SessionStoreError, match="unable to open database file"):
            SessionStore.open(db, create=False)
        with SessionStore.open(db, create=False, read_only_ok=True) as store:
            assert store.read_only == f"its folder {db.parent} is on a read-only file system"
            assert store.get_session(kept.id) == kept
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_store_that_cannot_be_a_file_is_a_store_error(tmp_path: Path) -> None:
    """A folder where the file should be, or a place where none can be made, gave
    sqlite3.OperationalError / OSError tracebacks in every command."""
    folder = tmp_path / "sessions.sqlite3"
    folder.mkdir()
    with pytest.raises(ss.SessionStoreError, match="is a folder, not a session store"):
        ss.SessionStore.open(folder)
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(ss.SessionStoreError, match="cannot create the session store"):
        ss.SessionStore.open(blocked / "data" / "sessions.sqlite3")


def test_a_default_title_is_shown_safely() -> None:
    """A title from the prompt (the store's, and run's progress line) held a key typed
    into the prompt and escape sequences that acted on the terminal (a shared prompts
    file can hold them)."""
    key = "sk-ant-api03-" + "Z9y8X7w6" * 8
    prompt = f"\n  draw {key}\x1b]0;PWNED\x07 as a pelican\x1b[2J\nsecond line"
    title = ss.default_title(prompt)
    assert key not in title and "\x1b" not in title and "\x07" not in title
    # What is left of the sequences is inert text; nothing in it acts on a terminal.
    assert title == "draw [redacted]]0;PWNED as a pelican[2J", title
