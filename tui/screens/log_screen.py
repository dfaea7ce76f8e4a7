"""The live llama-server log, full screen: ``LogScreen`` follows new lines as they come,
a long line going on over the rows below it (:mod:`~pelican_tui.widgets.folded_log`).

Above the log, when the app passes its memory history: llama-server's and the
app's memory over the last few minutes (:mod:`~pelican_tui.widgets.memory_panel`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Label, Log

from pelican_tui.screens.opening_key import opening_key_closes
from pelican_tui.widgets.folded_log import FoldedLog
from pelican_tui.widgets.footer import KeysFooter
from pelican_tui.widgets.memory_panel import MemoryHistory, MemoryPanel

LineCallback = Callable[[str], None]
Unsubscribe = Callable[[], None]
Subscribe = Callable[[LineCallback], Unsubscribe]

FLUSH_INTERVAL_S = 0.2
"""New lines are collected and written to the screen at most this often (5 Hz)."""

MAX_LINES = 20_000
"""Older lines are dropped from the view beyond this many."""


class LogScreen(Screen[None]):
    """Shows ``lines`` and then every line ``subscribe`` delivers, until closed.

    The view follows the end of the log while it is scrolled to the bottom; scroll
    up to read and it stays put; ``end`` or ``f`` jumps back and follows again.
    ``escape`` closes (dismiss(None)).

    Args:
        lines: The log so far. It is read when the screen mounts, right before
            subscribing, so pass the live buffer (e.g. the server's deque): when
            lines are produced on the event loop thread, none is lost or doubled.
        subscribe: Registers a callback for each new line and returns a function
            that unregisters it. The callback may be called from any thread and
            at any rate: it only appends to a list, flushed at 5 Hz.
        title: The heading.
        memory: The app's memory samples, drawn above the log (None: no panel).
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    TITLE = "Server log"

    BINDINGS = [
        Binding("escape", "close", "Close", id="log_close"),
        opening_key_closes("server_log"),
        Binding("f", "follow", "Follow", id="log_follow"),
    ]

    def __init__(
        self,
        lines: Iterable[str],
        subscribe: Subscribe,
        title: str = "llama-server log",
        memory: MemoryHistory | None = None,
    ) -> None:
        super().__init__()
        self._initial = lines
        self._subscribe = subscribe
        self._unsubscribe: Unsubscribe | None = None
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._flush_timer: Timer | None = None
        self._received = 0
        self._status = ""
        self.title_text = title
        self.memory = memory

    @property
    def line_count(self) -> int:
        """Lines shown so far, including those dropped beyond :data:`MAX_LINES`."""
        return self._received

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-header"):
            yield Label(self.title_text, id="log-title")
            yield Label("", id="log-status")
        if self.memory is not None:
            yield MemoryPanel(self.memory, id="log-memory")
        yield FoldedLog(MAX_LINES, id="log-view")
        yield KeysFooter()

    def on_mount(self) -> None:
        log = self.query_one(Log)
        snapshot = list(self._initial)  # one C-level copy: safe even if a thread appends
        self._unsubscribe = self._subscribe(self._on_line)
        self._initial = ()
        initial = [_clean(line) for line in snapshot]
        if initial:
            log.write_lines(initial[-MAX_LINES:])
            self._received += len(initial)
        self._flush_timer = self.set_interval(FLUSH_INTERVAL_S, self._flush, name="log-flush")
        log.focus()
        self._update_status()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            unsubscribe()
        if self._flush_timer is not None:
            self._flush_timer.stop()

    def _on_line(self, line: str) -> None:
        """Subscriber callback: any thread, any rate; only queues the line."""
        with self._lock:
            self._pending.append(line)

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self.query_one(Log).write_lines([_clean(line) for line in batch[-MAX_LINES:]])
            self._received += len(batch)
        self._update_status()

    def _update_status(self) -> None:
        log = self.query_one(Log)
        following = log.is_vertical_scroll_end or log.max_scroll_y == 0
        noun = "line" if self._received == 1 else "lines"
        where = "following" if following else "paused · end/f to follow"
        status = f"{self._received:,} {noun} · {where}"
        if status != self._status:
            self._status = status
            self.query_one("#log-status", Label).update(status)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_follow(self) -> None:
        self.query_one(Log).scroll_end(animate=False)
        self.call_after_refresh(self._update_status)


def _clean(line: str) -> str:
    """One display line: no trailing newline, tabs expanded."""
    return line.rstrip("\r\n").expandtabs(4)
