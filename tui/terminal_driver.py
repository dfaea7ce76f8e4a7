"""A Textual driver that survives its terminal going away (a dropped SSH connection).

When sshd loses the connection it closes the pseudo-terminal: the app gets
SIGHUP and every write to the terminal fails with EIO. Textual's output thread
dies on the first failed write; its bounded queue then fills and the next
write blocks the event loop for ever, so the app never finishes quitting (it
did stop llama-server, but the pelican-tui process stayed behind).

:class:`HangupSafeDriver` wraps the terminal's file so that a failed write
marks the terminal gone, drops all further output, and asks the app to exit:
quitting then runs its normal path (runs in flight saved as cancelled,
llama-server stopped, the SVG worker closed).

It also drops the terminal's answers to start-up's questions
(:mod:`.terminal_caps`) that come after they were read: over a slow link or
from a busy terminal, an answer such as ``ESC [ ? 62 ; 4 c`` reached Textual's
parser, which typed it as keys: ``?`` opened the help, ``2`` ran the right pane
and ``c`` cancelled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import IO, Any

from textual._xterm_parser import XTermParser
from textual.drivers import linux_driver
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from pelican_tui.terminal_caps import ANY_REPLY


class TerminalOutput:
    """A file-like that turns the first write error into "the terminal is gone"."""

    def __init__(self, file: IO[str], on_gone: Any) -> None:
        self._file = file
        self._on_gone = on_gone
        self.gone = False

    def _lost(self) -> None:
        if not self.gone:
            self.gone = True
            self._on_gone()

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._file.write(text)
            except (OSError, ValueError):  # EIO/EPIPE, or a closed file
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self._lost()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class HangupSafeDriver(LinuxDriver):
    """:class:`LinuxDriver` whose output never blocks on a terminal that hung up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # the base keeps the app's loop in self._loop
        self.output = TerminalOutput(self._file, self._terminal_gone)  # type: ignore[arg-type]
        self._file = self.output  # type: ignore[assignment]

    def _terminal_gone(self) -> None:
        """Called on the output thread: ask the app to exit, on its own loop."""
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(self._app.exit)

    def run_input_thread(self) -> None:
        # LinuxDriver makes its parser here, by its module's name for the class.
        linux_driver.XTermParser = RepliesDroppedParser  # type: ignore[attr-defined]
        super().run_input_thread()


class RepliesDroppedParser(XTermParser):
    """Textual's input parser, less the terminal's answers to start-up's questions."""

    def feed(self, data: str) -> Iterable[Message]:
        keys = ANY_REPLY.sub("", data)
        if data and not keys:  # "" is the end of input
            return ()
        return super().feed(keys)
