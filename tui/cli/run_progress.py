"""``pelican-tui run``'s progress on stderr: plain lines, plus one live line redrawn in
place when stderr is a terminal (plain lines every few seconds otherwise)."""

from __future__ import annotations

import contextlib
import shutil
import time
from typing import TYPE_CHECKING, TextIO

from pelican_tui.backends.events import Failed, Finished, GenerationEvent, LiveStats, Waiting
from pelican_tui.backends.llama.process import ServerState, ServerStatus
from pelican_tui.backends.openai_compat.backend import RESTART_HINT
from pelican_tui.backends.store.records import run_numbers
from pelican_tui.backends.text import first_line, shorten
from pelican_tui.cli.columns import fold_line, output_width

if TYPE_CHECKING:
    from pelican_tui.backends.engine.run import RunResult

PLAIN_PROGRESS_EVERY_S = 10.0
"""Without a terminal, a run's progress line is printed at most this often."""
LIVE_REDRAW_EVERY_S = 0.2
SERVER_GONE = (
    "the batch stops without it (run does not restart it): what finished is kept, "
    "run it again for the rest"
)
"""What a llama-server that died mid-batch means for ``run``, said after why it died
(run starts it once per batch and never again: there is nothing to restart)."""
HASH_LINES_FROM_BYTES = 256 * 1024 * 1024
"""Without a terminal, hashing progress is printed (in quarters) only for files this big."""


class Progress:
    """Progress on stderr: plain lines, plus one live line redrawn in place on a terminal."""

    def __init__(self, stream: TextIO, live: bool | None = None) -> None:
        self.stream = stream
        if live is None:
            try:
                live = stream.isatty()
            except (AttributeError, ValueError):
                live = False
        self.live = live
        self.width = output_width(stream)
        """The terminal's width (or ``COLUMNS``) its plain lines are folded to; None:
        kept whole, for a file or a pipe to hold each on one line."""
        self._status: dict[str, str] = {}
        self._shown = False
        self._last_draw = 0.0
        self._last_plain: dict[str, float] = {}
        self._last_download_tenth = -1
        self._last_hash_quarter: dict[str, int] = {}
        self._server_ready = False

    def say(self, text: str) -> None:
        """Print ``text`` as plain lines, folded between words to the terminal's width
        (each line after the first indented two more than the first), not wrapped by
        the terminal in the middle of a word and back to the first column."""
        self._clear()
        self._write(fold_line(text, self.width) + "\n")
        self._draw(force=True)

    def status(self, key: str, text: str, *, plain_every_s: float | None = None) -> None:
        """Show ``text`` for ``key`` on the live line; without a terminal, as a plain
        line at most every ``plain_every_s`` seconds (never, if None)."""
        if self.live:
            self._status[key] = text
            self._draw()
            return
        if plain_every_s is None:
            return
        now = time.monotonic()
        if now - self._last_plain.get(key, 0.0) >= plain_every_s:
            self._last_plain[key] = now
            self._write(text + "\n")

    def drop(self, key: str) -> None:
        self._last_plain.pop(key, None)
        if self._status.pop(key, None) is not None:
            self._draw(force=True)

    def close(self) -> None:
        self._status.clear()
        self._clear()

    # ----------------------------------------------------------------- what is shown

    def run_event(self, label: str, event: GenerationEvent) -> None:
        """A run's live numbers (tokens, tok/s) under ``label``, or how long its stream has
        been silent; gone when it ends."""
        if isinstance(event, Finished | Failed):
            self.drop(label)
            return
        if isinstance(event, Waiting):  # as the TUI's pane says it, while it lasts
            text = f"{label}: no data for {event.idle_s:.0f} s"
            self.status(label, text, plain_every_s=PLAIN_PROGRESS_EVERY_S)
            return
        if not isinstance(event, LiveStats):
            return
        rate = f"{event.tokens_per_s:.1f} tok/s" if event.tokens_per_s else "… tok/s"
        thinking = f" ({event.thinking_tokens} thinking)" if event.thinking_tokens else ""
        self.status(
            label,
            f"{label}: {event.tokens} tok{thinking}, {rate}",
            # Plain lines only once there is a rate to report.
            plain_every_s=PLAIN_PROGRESS_EVERY_S if event.tokens_per_s else None,
        )

    def server_status(self, status: ServerStatus) -> None:
        """llama-server downloading, loading, or dead once it was ready (dead before, it
        is said by the start-up error, with the end of its log)."""
        if status.state is ServerState.READY:
            self._server_ready = True
        elif status.state is ServerState.DOWNLOADING:
            percent = f" {status.progress * 100:.0f}%" if status.progress is not None else ""
            if self.live:
                self.status("server", f"llama-server: downloading the model{percent}")
                return
            tenth = int((status.progress or 0) * 10)
            if tenth != self._last_download_tenth:
                self._last_download_tenth = tenth
                self.say(f"llama-server: downloading the model{percent}")
        elif status.state is ServerState.LOADING:
            self.say("llama-server: loading the model...")
        elif status.state is ServerState.CRASHED and self._server_ready:
            # Its message says why, when llama-server's log did; its last line was
            # pelican-tui's own note of the same exit.
            self._server_ready = False
            self.say(f"{status.message}; {SERVER_GONE}")

    def hashing(self, name: str, done: int, total: int) -> None:
        """How far the sha256 of model file ``name`` has got (call on the loop's thread)."""
        if self.live:
            self.status("hash", f"sha256 of {name}: {done * 100 // max(total, 1)}%")
            return
        quarter = done * 4 // max(total, 1)
        if total > HASH_LINES_FROM_BYTES and quarter != self._last_hash_quarter.get(name):
            self._last_hash_quarter[name] = quarter
            self.say(f"sha256 of {name}: {quarter * 25}%")

    # ----------------------------------------------------------------- drawing

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text)
            self.stream.flush()

    def _clear(self) -> None:
        if self._shown:
            self._write("\r\x1b[2K")
            self._shown = False

    def _draw(self, force: bool = False) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < LIVE_REDRAW_EVERY_S:
            return
        self._last_draw = now
        line = " │ ".join(self._status.values())
        if not line and not self._shown:
            return
        width = self._live_width() - 1
        line = shorten(line, width)  # in cells: a wide character takes two
        self._write("\r\x1b[2K" + line)
        self._shown = bool(line)

    def _live_width(self) -> int:
        """The width of the terminal the live line is drawn on (``COLUMNS`` first), asked
        at each redraw (a window resized): ``stream``'s own, not standard output's,
        which is a file under ``run ... > table.txt``."""
        return output_width(self.stream) or shutil.get_terminal_size((100, 24)).columns


def run_advice(hint: str | None) -> str | None:
    """A backend's next step as ``run`` gives it: never "restart the server" (the TUI's
    ``R``; run starts llama-server once per batch, and says what its death means)."""
    return None if hint == RESTART_HINT else hint


def result_line(result: RunResult) -> str:
    """One line for a run that ended: outcome, why, tokens, tok/s, first token, SVG.
    What to do about a failure is :func:`result_hint`'s line, after it: joined to it,
    the numbers read as part of the hint ("or change --url, 5.0 tok/s · 21 tok")."""
    spec = result.spec
    parts = [f"{spec.label}: {result.outcome}"]
    if result.failure_reason and result.outcome != "finished":
        parts.append(first_line(result.failure_reason))
    if numbers := run_numbers(result.timings, result.usage):
        parts.append(numbers)
    if result.outcome == "finished" or (result.outcome == "failed" and result.answer_chars):
        parts.append(f"SVG: {result.svg_note}" if result.svg_note else "no SVG")
    return ", ".join(parts)


def result_hint(result: RunResult) -> str | None:
    """What to do about a run that failed, for a line of its own after
    :func:`result_line` ("hint: local: start the server at …, or change --url")."""
    if not result.failure_reason or result.outcome == "finished":
        return None
    advice = run_advice(result.failure_hint)
    return f"hint: {result.spec.label}: {advice}" if advice else None


__all__ = [
    "PLAIN_PROGRESS_EVERY_S",
    "SERVER_GONE",
    "Progress",
    "result_hint",
    "result_line",
    "run_advice",
]
