"""A dropped SSH connection: the terminal goes away under a running pelican-tui.
And a slow one: the terminal's answers come late.

Closing the pseudo-terminal's master side is what sshd does when the
connection drops: the kernel sends SIGHUP to the app (the session leader) and
every later write to the terminal fails with EIO. pelican-tui must then exit
by itself, with llama-server gone, instead of hanging on a terminal nobody
reads (Textual's output thread dies on the first failed write and the next
full write queue blocks the event loop forever).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _server_support import pid_alive, wait_until
from _tui_process import spawn_tui

from pelican_tui.backends.store.records import Run

pytestmark = pytest.mark.slow


def _generated(run: Run) -> str:
    """Thinking, then the answer: what a run has streamed, in order."""
    return (run.thinking_text or "") + (run.answer or "")


def _exited(pid: int) -> bool:
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


@contextlib.contextmanager
def _tui(tmp_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[tuple[int, int, int]]:
    """:func:`spawn_tui`'s (app pid, pty fd, server pid); on leaving, however the test
    went, the app and its llama-server are killed if they still run and the app reaped."""
    app_pid, fd, server_pid = spawn_tui(tmp_path, extra_env)
    try:
        yield app_pid, fd, server_pid
    finally:
        for pid in (app_pid, server_pid):
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(app_pid, 0)


def test_terminal_hangup_ends_the_app_and_its_server(tmp_path: Path) -> None:
    with _tui(tmp_path) as (app_pid, fd, server_pid):
        os.close(fd)  # the terminal is gone: SIGHUP, then EIO on every write
        exited = wait_until(lambda: _exited(app_pid), 10.0)
        server_gone = wait_until(lambda: not pid_alive(server_pid), 5.0)
    assert exited, "pelican-tui kept running after its terminal hung up"
    assert server_gone, "llama-server outlived a hung-up pelican-tui"


def _read_until(fd: int, wanted: bytes, timeout_s: float) -> bool:
    """Read the app's output until ``wanted`` is in it (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    seen = b""
    while time.monotonic() < deadline and wanted not in seen:
        try:
            seen = (seen + os.read(fd, 65536))[-4096:]
        except OSError:
            break
    return wanted in seen


def _drained_and(fd: int, check: Callable[[int], bool], pid: int) -> bool:
    """``check(pid)``, once what the app wrote meanwhile is read (a full pty blocks it)."""
    with contextlib.suppress(OSError):
        if select.select([fd], [], [], 0)[0]:
            os.read(fd, 65536)
    return check(pid)


def test_late_terminal_answers_are_not_typed_as_keys(tmp_path: Path) -> None:
    """Over a slow link (or from a busy terminal) the answers to start-up's questions
    came after they were read, and Textual typed them as keys: ESC [ ? 62 ; 4 c opened
    the help ("?"), where q only closes it, so q did not quit."""
    with _tui(tmp_path) as (app_pid, fd, _server_pid):
        assert _read_until(fd, b"server: ready", 60), "the server never became ready"
        os.write(fd, b"\x1b[?62;4;22c\x1bP>|XTerm(390)\x1b\\\x1b_Gi=31;OK\x1b\\")
        time.sleep(1.0)  # past Textual's escape delay, after which it types what it can't read
        os.write(fd, b"q")
        assert wait_until(lambda: _drained_and(fd, _exited, app_pid), 15), (
            "q did not quit: the late answers were typed as keys"
        )


def test_hangup_while_streaming_keeps_what_was_generated(tmp_path: Path) -> None:
    """The run in flight when the terminal drops is saved (cancelled), not lost."""
    db = tmp_path / "home" / "data" / "sessions.sqlite3"
    extra_env = {"PELICAN_LOCAL__MAX_TOKENS": "4000"}
    with _tui(tmp_path, extra_env) as (app_pid, fd, _server_pid):
        deadline = time.monotonic() + 60
        ready = False
        seen = b""
        while time.monotonic() < deadline and not ready:
            try:
                seen = (seen + os.read(fd, 65536))[-4096:]
            except OSError:
                break
            ready = b"server: ready" in seen
        assert ready, "the server never became ready"
        os.write(fd, b"r")
        assert wait_until(lambda: db.exists(), 20)
        from pelican_tui.backends.store.records import SessionStoreMissing
        from pelican_tui.backends.store.sessions import SessionStore

        checkpointed: dict[str, str] = {}
        screen = [seen]

        def streaming() -> bool:
            try:
                screen[0] = (screen[0] + os.read(fd, 65536))[-4096:]
            except OSError:
                return False
            try:
                store = SessionStore.open(db, create=False)
            except SessionStoreMissing:  # the app made the file and is writing the store into it
                return False
            with store:
                sessions = store.list_sessions(limit=1)
                if not sessions:
                    return False
                runs = store.get_session(sessions[0].id).runs
            checkpointed.clear()
            for run in runs:
                checkpointed[run.slot] = _generated(run)
            return any(len(text) > 20 for text in checkpointed.values())

        # Slow on a loaded machine (1-3 tok/s at a load of 10): a generous wait.
        # What a failure needs to be understood: is the app still there, what did the
        # store hold, and what was the terminal's last output.
        assert wait_until(streaming, 120, interval_s=0.2), (
            f"nothing generated was checkpointed: app exited {_exited(app_pid)}, "
            f"store {checkpointed}, last output {screen[0][-1500:]!r}"
        )
        os.close(fd)
        assert wait_until(lambda: _exited(app_pid), 10.0), "pelican-tui hung after the hang-up"
    with SessionStore.open(db, create=False) as store:
        session = store.get_session(store.list_sessions(limit=1)[0].id)
    statuses = {run.status for run in session.runs}
    assert statuses <= {"cancelled", "interrupted", "finished"}, statuses
    # Two panes on one llama-server run in turn, so the second may not have
    # started when the terminal dropped: it has nothing to keep. What had been
    # generated before the hang-up is still there, at least as long.
    final = {run.slot: _generated(run) for run in session.runs}
    for slot, text in checkpointed.items():
        assert final[slot].startswith(text), f"the text generated so far is kept ({slot})"
    assert any(len(text) > 20 for text in final.values())


def _stopped(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] == "T"
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.parametrize("how", ["SIGTSTP", "Ctrl-Z"])
def test_an_app_continued_after_a_suspend_draws_its_whole_screen(tmp_path: Path, how: str) -> None:
    """SIGTSTP (kill -TSTP, or a shell's job control) leaves the alternate screen and
    stops the app; at fg (SIGCONT) Textual enters it again, empty, and the app drew only
    what changed afterwards: in tmux the prompt, the panes' borders and the footer stayed
    blank, with the status bar and a streaming answer floating in an empty screen.

    Ctrl-Z typed in the app: the terminal is in raw mode, so it arrives as a key, not
    as SIGTSTP, and did nothing (over SSH, no way back to the shell but quitting)."""
    with _tui(tmp_path) as (app_pid, fd, _server_pid):
        assert _read_until(fd, b"server: ready", 60), "the server never became ready"
        if how == "SIGTSTP":
            os.kill(app_pid, signal.SIGTSTP)
        else:
            os.write(fd, b"\x1a")
        assert wait_until(lambda: _drained_and(fd, _stopped, app_pid), 10), "it did not stop"
        os.kill(app_pid, signal.SIGCONT)
        # The footer never changes by itself: it is only written again by a whole redraw.
        assert _read_until(fd, b"Quit", 10), "the footer was not drawn again after fg"
