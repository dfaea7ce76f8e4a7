"""``pelican-tui render FILE -o OUT.png``: the sandboxed renderer from the shell.

FILE may be a bare SVG or a whole model answer (Markdown, prose, code fences):
the SVG is picked as :func:`~pelican_tui.backends.svg.extract.extract_svg`
does (the last complete one). An unfinished SVG is refused here, although the
TUI previews one: a file on disk is expected to be whole. FILE may be a pipe
(``<(...)``, or a named one being written); at most :data:`MAX_FILE_BYTES` of it are
read. A named pipe nothing writes to is refused at once, not waited on.

Exit status (also in ``--help``): 0 the PNG was written; 1 FILE was read but
its SVG could not be rendered (empty, no SVG, unfinished, too large, the render
failed or timed out); 2 bad usage, or a file problem: FILE missing, unreadable,
a folder or a pipe nothing writes to, OUT there already (it is kept unless
``--force``, as leaderboard's ``--csv``) or not writable. Every failure prints
exactly one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import select
import stat
import sys
import time
from pathlib import Path

from pelican_tui.backends.svg.extract import extract_svg
from pelican_tui.backends.svg.render import (
    DEFAULT_MAX_INPUT_BYTES,
    MAX_SIDE,
    SvgRenderer,
    is_background_colour,
)
from pelican_tui.cli.args import (
    Console,
    Exit,
    OutputError,
    Parser,
    command,
    command_parser,
    existing_file,
    given_path,
    out_file,
    same_file,
    whole_number,
    write_problem,
)

PROG = "pelican-tui render"
DESCRIPTION = (
    "Render an SVG (or a model answer containing one) to PNG in the same sandboxed\n"
    "worker the TUI uses: nothing is fetched, time and memory are bounded."
)
MAX_FILE_BYTES = 4 * DEFAULT_MAX_INPUT_BYTES
"""The most of FILE that is read: room for a model answer around an SVG of at
most ``DEFAULT_MAX_INPUT_BYTES`` (the renderer's own cap)."""
WRITER_WAIT_S = 1.0
"""How long a named pipe nothing writes to is given a writer before it is refused."""

EPILOG = f"""\
exit status:
  0  the PNG was written
  1  the SVG could not be rendered: FILE is empty, holds no SVG or an
     unfinished one, is larger than {MAX_FILE_BYTES // 1024} KB (the SVG itself at most
     {DEFAULT_MAX_INPUT_BYTES // 1024} KB), or the render failed or timed out
  2  bad usage, or FILE is missing, unreadable, a folder or a pipe nothing
     writes to, or OUT exists (without --force: it is kept) or cannot be
     written
every failure is one line on stderr.
"""


_pixels = whole_number(1, MAX_SIDE)
"""``--width`` and ``--height``: a side the renderer accepts, in pixels."""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{value:g}: give seconds above 0, at most 600")
    return value


def _parser() -> Parser:
    parser = command_parser(PROG, description=DESCRIPTION, epilog=EPILOG)
    # An empty FILE (an unset shell variable) was read as "." and said to be a folder.
    parser.add_argument("file", type=given_path, metavar="FILE", help="SVG file or model answer")
    parser.add_argument(
        "-o",
        "--output",
        type=out_file,
        required=True,
        metavar="OUT.png",
        help="the PNG to write; - for standard output (not a terminal)",
    )
    parser.add_argument("--force", action="store_true", help="write over an OUT.png that exists")
    parser.add_argument(
        "--width",
        type=_pixels,
        default=800,
        metavar="N",
        help="PNG width in pixels (default 800)",
    )
    parser.add_argument(
        "--height",
        type=_pixels,
        default=None,
        metavar="N",
        help="PNG height in pixels (default: from the SVG's aspect ratio)",
    )
    parser.add_argument(
        "--background",
        default="white",
        metavar="COLOR",
        help='fill behind the picture, "none" for transparent (default white)',
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=10.0, metavar="S", help="give up after S seconds"
    )
    return parser


@command(PROG, _parser, one_line=True)
def render_command(args: argparse.Namespace, console: Console) -> int:
    """Run ``pelican-tui render`` with ``argv`` (the words after ``render``)."""

    def fail(message: str, code: int) -> int:
        return console.fail(" ".join(message.split()), code)  # one line, always

    background: str | None = None if args.background.lower() == "none" else args.background
    if background is not None and not is_background_colour(background):
        example = "e.g. white, #f0f0f0, rgba(0,0,0,0.5)"
        return fail(f"--background {background!r} is not a colour ({example})", Exit.USAGE)
    to_stdout = str(args.output) == "-"
    if to_stdout and console.out.isatty():
        return fail("-o -: standard output is a terminal; pipe it or name a file", Exit.USAGE)
    if args.output.is_dir():
        return fail(f"cannot write {args.output}: it is a folder", Exit.USAGE)
    if not to_stdout and same_file(args.output, args.file):
        return fail(f"-o {args.output} is FILE itself: name another PNG", Exit.USAGE)
    if kept := existing_file("-o", args.output, force=args.force):
        return fail(kept, Exit.USAGE)
    data = _read(args.file)
    if isinstance(data, str):
        return fail(data, Exit.USAGE)
    if len(data) > MAX_FILE_BYTES:
        return fail(
            f"{args.file}: larger than {MAX_FILE_BYTES // 1024} KB, more than an SVG "
            f"(at most {DEFAULT_MAX_INPUT_BYTES // 1024} KB) or a model answer holds",
            Exit.FAILED,
        )
    if not data.strip():
        return fail(f"{args.file} is empty", Exit.FAILED)
    extraction = extract_svg(data.decode("utf-8", "replace"))
    if extraction.partial:
        return fail(f"{args.file}: the SVG is unfinished (no closing </svg>)", Exit.FAILED)
    if extraction.svg is None:
        return fail(f"{args.file}: {extraction.note}", Exit.FAILED)

    try:
        with SvgRenderer() as renderer:
            result = renderer.render_sync(
                extraction.svg, args.width, args.height, args.timeout, background=background
            )
    except ValueError as exc:  # a malformed --background
        return fail(f"error: {exc}", Exit.USAGE)
    if not result.ok or result.png is None:
        return fail(f"{args.file}: {result.reason}", Exit.FAILED)

    try:
        if to_stdout:
            out = console.out.buffer if hasattr(console.out, "buffer") else sys.stdout.buffer
            out.write(result.png)
            out.flush()
        else:
            args.output.write_bytes(result.png)
    except BrokenPipeError:
        raise  # the reader went away (`| head -c 8`): pelican-tui stops quietly, as others
    except OSError as exc:
        if to_stdout:  # `-o - > /dev/full`: said as every command's standard output
            raise OutputError(exc) from exc
        return fail(f"cannot write {args.output}: {write_problem(exc, args.output)}", Exit.USAGE)
    return Exit.OK


def _read(path: Path) -> bytes | str:
    """At most ``MAX_FILE_BYTES + 1`` bytes of ``path`` (a pipe or a device too), or why not.

    It is opened without waiting: a named pipe nothing writes to, opened as a file is,
    waited for a writer for ever. Such a pipe is refused (:func:`_pipe_start`).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return _unreadable(path, exc)
    try:
        start = _pipe_start(fd) if stat.S_ISFIFO(os.fstat(fd).st_mode) else b""
        if start is None:
            return f"cannot read {path}: it is a pipe nothing is writing to"
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return start + handle.read(MAX_FILE_BYTES + 1 - len(start))
    except OSError as exc:
        return _unreadable(path, exc)
    finally:
        os.close(fd)


def _unreadable(path: Path, error: OSError) -> str:
    if isinstance(error, IsADirectoryError):
        return f"cannot read {path}: it is a folder"
    return f"cannot read {path}: {error.strerror or error}"


def _pipe_start(fd: int) -> bytes | None:
    """The first bytes of the pipe open on ``fd`` without waiting (the rest is read
    waiting for its writer), or None: nothing writes to it, nor starts to within
    :data:`WRITER_WAIT_S`.

    At its end before anything was read, a pipe has no writer (yet: one started just
    before ``render`` may be about to open it); one that came and went (``<(true)``)
    leaves it empty.
    """
    deadline = time.monotonic() + WRITER_WAIT_S
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    writer_gone = False
    while True:
        try:
            data = os.read(fd, MAX_FILE_BYTES + 1)
        except BlockingIOError:  # a writer, with nothing written yet
            return b""
        if data or writer_gone:
            return data
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        events = poller.poll(left * 1000)
        writer_gone = any(event & select.POLLHUP for _, event in events)
