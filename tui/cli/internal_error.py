"""A command's last resort: an exception nobody expected (a bug) said in one line,
its traceback kept in the error log (:func:`~pelican_tui.backends.locations.error_log_file`)
for a bug report rather than printed over the command's own output."""

from __future__ import annotations

import os
import traceback
from datetime import UTC, datetime
from pathlib import Path

from pelican_tui.backends import locations
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.text import shown_line
from pelican_tui.cli.args import Console, Exit

LOG_MODE = 0o600
"""The error log is its owner's alone: a traceback may quote a prompt or a path."""


def internal_error_words(error: Exception) -> str:
    """``internal error: Type: words`` (known secrets scrubbed, on one printable line):
    how the stderr line and ``summary.json`` say a bug."""
    words = shown_line(str(error), 200) or "(no message)"
    return f"internal error: {type(error).__name__}: {words}"


def report_internal_error(console: Console, error: Exception) -> int:
    """Say ``PROG: internal error: Type: words; the traceback is in LOG`` on stderr,
    with the traceback (known secrets scrubbed) appended to the error log, or printed
    above that line when the log cannot be written. Returns :data:`Exit.FAILED`."""
    trace = scrub_text("".join(traceback.format_exception(error)))
    log = locations.error_log_file()
    try:
        try:
            _append(log, f"--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, {console.prog}\n{trace}")
            where = f"the traceback is in {log}"
        except OSError as problem:
            console.err.write(trace)
            where = f"the traceback is above (not written to {log}: {problem.strerror or problem})"
        console.note(f"{internal_error_words(error)}; {where}")
    except OSError:  # stderr is gone too (a closed pipe): the exit status says it
        pass
    return Exit.FAILED


def _append(log: Path, text: str) -> None:
    locations.ensure(log.parent)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_MODE)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(text)


__all__ = ["report_internal_error"]
