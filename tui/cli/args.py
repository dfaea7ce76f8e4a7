"""The argparse pieces every ``pelican-tui`` command shares, and where it prints.

Each command parses its own words with a :class:`Parser`, which raises
:class:`UsageError` instead of printing usage and exiting, so the command
decides how a usage error is shown and returns exit status 2 itself (the
commands are also called as functions, by tests and by ``pelican-tui``).
:func:`parse` does that in one place; a :class:`Console` is where a command
prints, and says ``PROG: message`` for it. :func:`command` makes a command of
its parser and its body, :func:`run_parsed` runs one. :class:`StandardOutput` is
how ``pelican-tui`` writes standard output for every command, so that output that
cannot be written is said one way (:class:`OutputError`, :data:`OUTPUT_STATUS`).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn, Protocol, TextIO

from pelican_tui.backends.frozen import frozen


class Exit(IntEnum):
    """The exit statuses every command shares (``pelican-tui run`` has two more).

    Standard output that cannot be written (a full disk, ``> /dev/full``) is
    :data:`FAILED`, said in one line; a reader that goes away (``| head``) is its
    choice, not a failure: the status is the command's own (:data:`OUTPUT_STATUS`)."""

    OK = 0
    FAILED = 1
    """It could not be done (the reasons differ: see each command's ``--help``)."""
    USAGE = 2
    """Bad usage."""
    INTERRUPTED = 130
    """Stopped by Ctrl+C (SIGINT), as a shell reports it; what was done so far is kept."""


OUTPUT_STATUS = """\
  standard output that cannot be written (a full disk) is a failure: 1, said in
  one line; a reader that stops reading (| head) is not: the status is the
  command's own, 0 if the reader left before it was done"""
"""The lines every command's exit-status table ends with (see :class:`StandardOutput`)."""


class OutputError(Exception):
    """Standard output could not be written: a full disk (``> /dev/full``), an I/O
    error. Raised by :class:`StandardOutput`, whichever command wrote, and said by
    ``pelican-tui`` in one line: ``PROG: cannot write the output: REASON``.

    Not an OSError, so that a command's handling of its own files (``--out``) does
    not take it for theirs. A closed pipe stays a BrokenPipeError: the reader's
    choice, not a failure."""

    def __init__(self, error: OSError, *, status: int = Exit.FAILED, kept: str = "") -> None:
        super().__init__(error.strerror or str(error))
        self.error = error
        self.status = status
        """The exit status to return with: :data:`Exit.FAILED`, or the command's own
        failure (``pelican-tui run``'s)."""
        self.kept = kept
        """What was done all the same, said after the reason (``run``: its sessions)."""

    def words(self) -> str:
        """``cannot write the output: REASON[; KEPT]``."""
        kept = f"; {self.kept}" if self.kept else ""
        return f"cannot write the output: {self}{kept}"


@contextlib.contextmanager
def output_errors() -> Iterator[None]:
    """Raise an OSError but a closed pipe as :class:`OutputError` (standard output's)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(error) from error


class StandardOutput:
    """A command's standard output as ``pelican-tui`` gives it (``sys.stdout``): the
    stream it wraps, but a write or flush that fails raises :class:`OutputError`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        with output_errors():
            return self.stream.write(text)

    def flush(self) -> None:
        with output_errors():
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, buffer, encoding, ...
        return getattr(self.stream, name)


class UsageError(Exception):
    """A usage error, with the usage line of the (sub)command it concerns."""

    def __init__(self, message: str, *, prog: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.prog = prog
        self.usage = usage


class WholeWordsFormatter(argparse.HelpFormatter):
    """argparse's help layout, its lines broken between words only: argparse also
    breaks after a hyphen, and split the ``--hf`` example after "ggml-" (copied from
    the screen it read "ggml- org/Qwen3.6-…")."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.fill(
            text, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
        )


class RawDescriptionFormatter(argparse.RawDescriptionHelpFormatter, WholeWordsFormatter):
    """:class:`WholeWordsFormatter` that prints the description and epilog as written."""


class Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting.

    Subcommand parsers made by :meth:`add_subparsers` are Parsers too.
    ``--help`` still prints the help and raises ``SystemExit(0)``, its lines broken
    between words only (:class:`WholeWordsFormatter`) unless told otherwise.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", WholeWordsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, prog=self.prog, usage=self.format_usage().rstrip())


def help_texts(description: str, epilog: str) -> dict[str, Any]:
    """A command's description and epilog (its exit statuses, laid out as a table, last)
    as argparse takes them: printed as written, not re-wrapped, the table ending with
    what every command does when its output cannot be written (:data:`OUTPUT_STATUS`)."""
    return {
        "description": description,
        "epilog": f"{epilog.rstrip()}\n{OUTPUT_STATUS}\n",
        "formatter_class": RawDescriptionFormatter,
    }


def command_parser(prog: str, *, description: str, epilog: str) -> Parser:
    """A command's :class:`Parser`, its help as :func:`help_texts` lays it out."""
    return Parser(prog=prog, **help_texts(description, epilog))


def parse(
    parser: Parser, argv: Sequence[str], stderr: TextIO, *, one_line: bool = False
) -> argparse.Namespace | int:
    """``argv`` parsed, or the exit status to return at once: 0 after ``--help``,
    :data:`Exit.USAGE` after a usage error (printed on ``stderr``: the usage and
    ``PROG: error: ...``, or with ``one_line`` a single line pointing at ``--help``)."""
    try:
        return parser.parse_args(list(argv))
    except UsageError as error:
        from pelican_tui.cli.columns import print_folded

        # The error line is folded between words on a terminal, as notes are.
        if one_line:
            print_folded(f"{error.prog}: error: {error.message} (see --help)", stderr)
        else:
            print(error.usage, file=stderr)
            print_folded(f"{error.prog}: error: {error.message}", stderr)
        return Exit.USAGE
    except SystemExit as stop:  # --help printed the help text
        return stop.code if isinstance(stop.code, int) else 0


@frozen
class Console:
    """Where a command prints, and the name its own messages carry.

    ``pelican-tui`` runs a command on the process's streams; a test calls the
    command as a function with streams of its own (:meth:`of`). A message about
    the command itself (a failure, a notice) goes to :attr:`err` under its name:
    ``PROG: message``."""

    prog: str
    """The command as its messages name it: ``pelican-tui judge``."""
    out: TextIO
    """What the command was asked for: tables, summaries, what it wrote."""
    err: TextIO
    """Everything else: progress, notices, failures, usage errors."""

    @classmethod
    def of(cls, prog: str, stdout: TextIO | None, stderr: TextIO | None) -> Console:
        """The streams a command was given (tests pass their own), else the
        process's ``sys.stdout`` and ``sys.stderr`` as they are when it is called."""
        return cls(prog, stdout or sys.stdout, stderr or sys.stderr)

    def note(self, message: str) -> None:
        """Print ``PROG: message`` on :attr:`err`, folded between words on a terminal
        (a hint naming a setting ran past 80 columns and broke in the middle of it)."""
        from pelican_tui.cli.columns import print_folded

        print_folded(f"{self.prog}: {message}", self.err)

    def fail(self, message: str, code: int = Exit.FAILED) -> int:
        """:meth:`note` ``message``; returns ``code``, the exit status to return with."""
        self.note(message)
        return code

    def invalid_settings(self, error: Exception) -> int:
        """``PROG: invalid settings: …`` for settings that cannot be loaded (a
        :class:`~pelican_tui.backends.settings.SettingsError`), said whole: a wrong
        value's message ends with where settings come from; returns :data:`Exit.USAGE`."""
        return self.fail(f"invalid settings: {error}", Exit.USAGE)


Body = Callable[[argparse.Namespace, Console], int]
"""What a command does once its words are parsed: its exit status."""


class Command(Protocol):
    """A command as ``pelican-tui`` and the tests call it: ``argv`` is the words after
    its name; it prints on ``stdout`` and ``stderr`` (by default the process's) and
    returns the exit status."""

    def __call__(
        self, argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> int: ...


def run_parsed(
    prog: str,
    parser: Callable[[], Parser],
    argv: Sequence[str],
    body: Body,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    one_line: bool = False,
) -> int:
    """Run the command ``prog``: ``argv`` parsed with a fresh ``parser()`` (see
    :func:`parse`), then ``body(args, console)``, whose exit status is returned; or,
    without calling ``body``, 0 after ``--help`` and :data:`Exit.USAGE` after a usage
    error."""
    console = Console.of(prog, stdout, stderr)
    args = parse(parser(), argv, console.err, one_line=one_line)
    if isinstance(args, int):
        return args
    return body(args, console)


def command(
    prog: str, parser: Callable[[], Parser], *, one_line: bool = False
) -> Callable[[Body], Command]:
    """Decorator: a ``body(args, console) -> int`` becomes the :class:`Command` that
    parses its words with ``parser()`` first (:func:`run_parsed`). The command keeps
    the body's name and docstring."""

    def decorate(body: Body) -> Command:
        def entry(
            argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None
        ) -> int:
            return run_parsed(
                prog, parser, argv, body, stdout=stdout, stderr=stderr, one_line=one_line
            )

        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(entry, name, getattr(body, name))
        return entry

    return decorate


LARGEST = 2**63 - 1
"""The largest whole number the session store's SQLite holds: above it, a number given
as an id or a count fails there as OverflowError, so no argument goes higher."""


def whole_number(
    low: int = 1, high: int | None = None, *, what: str = "a whole number"
) -> Callable[[str], int]:
    """An argparse ``type`` for a whole number from ``low`` to ``high`` (None: to
    :data:`LARGEST`); ``what`` names it in the message for text that is not a number."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not from {low} to {high}")
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} must be at least {low}")
        if value > LARGEST:
            raise argparse.ArgumentTypeError(f"{value} is too large (at most {LARGEST})")
        return value

    return convert


positive = whole_number(1)
"""A whole number, at least 1 (sizes, counts)."""


def given(text: str) -> str:
    """An argparse ``type`` for a value that must say something: an empty one, which an
    unset shell variable gives (``--url "$URL"``), would quietly mean "the default"."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty")
    return text.strip()


def given_path(text: str) -> Path:
    """:func:`given`, as a path."""
    return Path(given(text))


def out_folder(text: str) -> Path:
    """An argparse ``type`` for a folder to write: any path but an empty one, which an
    unset shell variable gives (``--out "$DIR"``) and which would mean "here"; ``~``
    as the shell reads it (a quoted ``"~/x"`` is no folder named ``~``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name (to write here, say --out .)")
    return _home_expanded(text)


def out_file(text: str) -> Path:
    """An argparse ``type`` for a file to write, read as :func:`out_folder` reads a folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name")
    return _home_expanded(text)


def same_file(one: Path, other: Path) -> bool:
    """Whether ``one`` and ``other`` name the same file (``./r.csv`` and ``r.csv``, a
    link and what it points at), there or not yet."""
    try:
        return one.resolve() == other.resolve() or one.samefile(other)
    except OSError:
        return False


def existing_file(flag: str, file: Path, *, force: bool) -> str | None:
    """Why ``flag FILE`` is not written: ``file`` exists and ``force`` is not given, said
    one way by every command that writes a file (``FLAG FILE exists; choose a new name or
    add --force``), as run's and sessions export's ``--out`` keep what is there. None:
    it may be written. Standard output (``-``) and what is not a regular file
    (``/dev/null``) are no file to keep."""
    if force or str(file) == "-" or not file.is_file():
        return None
    return f"{flag} {file} exists; choose a new name or add --force"


def write_problem(error: OSError, file: Path) -> str:
    """Why ``file`` could not be written (``error``), in words: a folder on its way that
    is missing (``no such folder: /x``) or is a file (``/x is a file``), else the
    system's reason ("Not a directory" named no folder, and said so of one missing)."""
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        for folder in file.parents:
            with contextlib.suppress(OSError):
                if folder.exists():
                    if not folder.is_dir():
                        return f"{folder} is a file"
                    if folder != file.parent:
                        return f"no such folder: {file.parent}"
                    break
    return error.strerror or str(error)


def _home_expanded(text: str) -> Path:
    try:
        return Path(text).expanduser()
    except RuntimeError:  # ~name of no user: "Could not determine home directory"
        user = text.split("/", 1)[0]
        raise argparse.ArgumentTypeError(f"{user}: there is no such user") from None


__all__ = [
    "LARGEST",
    "OUTPUT_STATUS",
    "Body",
    "Command",
    "Console",
    "Exit",
    "OutputError",
    "Parser",
    "StandardOutput",
    "UsageError",
    "command",
    "command_parser",
    "existing_file",
    "given",
    "given_path",
    "help_texts",
    "out_file",
    "out_folder",
    "output_errors",
    "parse",
    "positive",
    "run_parsed",
    "same_file",
    "whole_number",
    "write_problem",
]
