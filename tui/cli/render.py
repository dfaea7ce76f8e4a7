"""``pelican-tui render FILE -o OUT.png``: the sandboxed renderer from the shell.

FILE may be a bare SVG or a whole model answer (Markdown, prose, code fences):
the SVG is picked as :func:`~pelican_tui.backends.svg.extract.extract_svg`
does (the last complete one). An unfinished SVG is refused here, although the
TUI previews one: a file on disk is expected to be whole.

Exit status: 0 the PNG was written; 1 the SVG could not be rendered (the
reason is printed); 2 bad usage, or FILE/OUT could not be read/written.
Every failure prints exactly one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from pelican_tui.backends.svg.extract import extract_svg
from pelican_tui.backends.svg.render import DEFAULT_MAX_INPUT_BYTES, MAX_SIDE, SvgRenderer

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

PROG = "pelican-tui render"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises on usage errors instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _side(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_SIDE:
        raise argparse.ArgumentTypeError(f"{value} is outside 1..{MAX_SIDE}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{value:g} is outside 0..600 seconds")
    return value


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Render an SVG (or a model answer containing one) to PNG in the same "
            "sandboxed worker the TUI uses: nothing is fetched, time and memory are bounded."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="SVG file or model answer")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.png")
    parser.add_argument(
        "--width", type=_side, default=800, metavar="N", help="PNG width in pixels (default 800)"
    )
    parser.add_argument(
        "--height",
        type=_side,
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


def _fail(stderr: TextIO, message: str, code: int) -> int:
    print(f"{PROG}: {' '.join(message.split())}", file=stderr)
    return code


def render_command(argv: Sequence[str], *, stderr: TextIO | None = None) -> int:
    """Run ``pelican-tui render`` with ``argv`` (the words after ``render``)."""
    err = stderr if stderr is not None else sys.stderr
    try:
        args = _parser().parse_args(list(argv))
    except _UsageError as exc:
        return _fail(err, f"error: {exc} (see --help)", EXIT_USAGE)
    except SystemExit as exc:  # --help printed the help text
        return exc.code if isinstance(exc.code, int) else EXIT_OK

    background: str | None = None if args.background.lower() == "none" else args.background
    try:
        with args.file.open("rb") as handle:
            data = handle.read(4 * DEFAULT_MAX_INPUT_BYTES + 1)
    except OSError as exc:
        return _fail(err, f"cannot read {args.file}: {exc.strerror or exc}", EXIT_USAGE)
    if len(data) > 4 * DEFAULT_MAX_INPUT_BYTES:
        kb = args.file.stat().st_size // 1024
        return _fail(
            err, f"{args.file}: SVG too large ({kb} KB > {DEFAULT_MAX_INPUT_BYTES // 1024} KB)", 1
        )

    if not data.strip():
        return _fail(err, f"{args.file} is empty", EXIT_FAILED)
    extraction = extract_svg(data.decode("utf-8", "replace"))
    if extraction.partial:
        return _fail(err, f"{args.file}: the SVG is unfinished (no closing </svg>)", EXIT_FAILED)
    if extraction.svg is None:
        return _fail(err, f"{args.file}: {extraction.note}", EXIT_FAILED)

    try:
        with SvgRenderer() as renderer:
            result = renderer.render_sync(
                extraction.svg, args.width, args.height, args.timeout, background=background
            )
    except ValueError as exc:  # a malformed --background
        return _fail(err, f"error: {exc}", EXIT_USAGE)
    if not result.ok or result.png is None:
        return _fail(err, f"{args.file}: {result.reason}", EXIT_FAILED)

    try:
        args.output.write_bytes(result.png)
    except OSError as exc:
        return _fail(err, f"cannot write {args.output}: {exc.strerror or exc}", EXIT_USAGE)
    return EXIT_OK
