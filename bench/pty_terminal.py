"""A pseudo-terminal that plays the part of a terminal emulator for a benchmark.

:class:`PtyTerminal` starts a command on a pty of a fixed size, reads
everything it writes on a background thread (counting bytes and keeping a
timestamp for each chunk), answers the queries a real xterm-like terminal
answers, and types keys into it.

The terminal it imitates is a modern xterm-compatible one without graphics:
it answers Device Attributes (``ESC [ c``, without Sixel) and the
synchronized-output mode query (``ESC [ ? 2026 $ p``), reports its pixel size
through ``TIOCGWINSZ``, and ignores everything else, as xterm ignores the
Kitty graphics query. So textual-image picks half-cell pictures, the mode
most terminals get, and the app pays the one graphics-query timeout it would
pay in such a terminal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import termios
import threading
import time
from collections.abc import Mapping, Sequence

DA1_QUERY = b"\x1b[c"
DA1_REPLY = b"\x1b[?62;22c"  # VT220-class, ANSI colour; no "4": no Sixel
SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"  # mode known (currently reset): synchronized output works
CELL_PIXELS = (10, 20)
_REPLIES = ((DA1_QUERY, DA1_REPLY), (SYNC_QUERY, SYNC_REPLY))


class PtyTerminal:
    """One child process on a pty of ``cols`` x ``rows`` cells."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        cols: int = 160,
        rows: int = 48,
        cwd: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cols, self.rows = cols, rows
        self.cwd = cwd
        self.pid = 0
        self.fd = -1
        self.spawned_at = 0.0
        """``time.monotonic()`` just before the fork."""
        self.spawned_wall = 0.0
        """``time.time()`` at the same moment (to compare with process start times)."""
        self.total_bytes = 0
        self._buffer = bytearray()
        self._chunks: list[tuple[float, int]] = []
        """(monotonic time read, buffer length after the chunk)."""
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._reader: threading.Thread | None = None
        self._eof = False
        self.exit_status: int | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        winsize = struct.pack(
            "HHHH", self.rows, self.cols, self.cols * CELL_PIXELS[0], self.rows * CELL_PIXELS[1]
        )
        self.spawned_wall = time.time()
        self.spawned_at = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal, then become the command
            try:
                fcntl.ioctl(1, termios.TIOCSWINSZ, winsize)
                if self.cwd:
                    os.chdir(self.cwd)
                os.execvpe(self.argv[0], self.argv, self.env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self._reader = threading.Thread(target=self._read_loop, name="pty-reader", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.5)
                if not ready:
                    if self._child_gone():
                        break
                    continue
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            now = time.monotonic()
            with self._changed:
                before = len(self._buffer)
                self._buffer += data
                self.total_bytes += len(data)
                self._chunks.append((now, len(self._buffer)))
                self._changed.notify_all()
                for query, reply in _REPLIES:
                    # Only queries that end in this chunk (one split across
                    # two reads is found once, when its last byte arrives).
                    at = self._buffer.find(query, max(0, before - len(query) + 1))
                    while at >= 0:
                        self.write(reply)
                        at = self._buffer.find(query, at + 1)
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def _child_gone(self) -> bool:
        if self.exit_status is not None:
            return True
        with contextlib.suppress(ChildProcessError):
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.exit_status = status
                return True
        return False

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd, data)

    def press(self, key: str) -> float:
        """Type ``key`` (plain characters); returns the monotonic time it was sent."""
        sent = time.monotonic()
        self.write(key.encode())
        return sent

    def wait_exit(self, timeout_s: float) -> bool:
        """Wait for the child to exit; True if it did."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._child_gone():
                return True
            time.sleep(0.02)
        return self._child_gone()

    def close(self, grace_s: float = 10.0) -> None:
        """Ask nicely (SIGTERM after ``grace_s`` of waiting), then SIGKILL; close the pty."""
        if self.pid and not self.wait_exit(grace_s):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            if not self.wait_exit(5.0):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self.wait_exit(5.0)
        if self._reader is not None:
            self._reader.join(2.0)
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    # -- reading the screen stream --------------------------------------------

    def output(self) -> bytes:
        with self._lock:
            return bytes(self._buffer)

    def bytes_at(self) -> int:
        with self._lock:
            return self.total_bytes

    def wait_for(self, marker: bytes, timeout_s: float, start: int = 0) -> float | None:
        """Monotonic time of the chunk that completed the first ``marker`` after byte ``start``.

        None on timeout or when the child closed the terminal first.
        """
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                at = self._buffer.find(marker, start)
                if at >= 0:
                    end = at + len(marker)
                    for moment, length in self._chunks:
                        if length >= end:
                            return moment
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._eof:
                    return None
                self._changed.wait(min(remaining, 0.5))
