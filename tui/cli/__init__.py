"""The ``pelican-tui`` command: the TUI by default, plus setup, doctor, render,
run (headless), sessions, leaderboard, export-evidence and judge.

Imports are lazy: ``pelican-tui --help`` and the first frame must not pay for
modules a command does not use.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any, TextIO, cast

from pelican_tui.cli.args import (
    Console,
    Exit,
    OutputError,
    Parser,
    StandardOutput,
    UsageError,
    help_texts,
    parse,
)
from pelican_tui.cli.model_flags import (
    add_model_flags,
    add_remote_flag,
    model_overrides,
    password_warnings,
    settings_from_flags,
)

OWN_PARSERS = ("render", "sessions", "run", "leaderboard", "export-evidence", "judge")
"""Commands that read the rest of the line with their own parsers."""
COMMANDS = (
    "tui",
    "setup",
    "doctor",
    "render",
    "run",
    "sessions",
    "leaderboard",
    "export-evidence",
    "judge",
)
NO_TERMINAL = (
    "pelican-tui: the TUI needs a terminal for its keys and its screen, and standard "
    "input or output is not one.\n"
    "  over SSH: ssh -t HOST pelican-tui\n"
    "  in a script or a pipe: pelican-tui run (see pelican-tui run --help)"
)

SETUP_DESCRIPTION = """\
Find or build llama-server and fetch the default model (or read the one given),
then check, as doctor does, that the local side can run: llama-server is one and
can load the model, or the --url server answers a short request. Progress on
stderr; the TUI does the same before it starts."""
SETUP_EPILOG = """\
exit status:
  0  set up, and the local side can run
  1  it cannot: no llama-server (or not one), a model missing or unreadable, a
     --url server that cannot be reached or does not answer; one line says why
  2  bad usage or settings
"""
DOCTOR_DESCRIPTION = """\
Show what pelican-tui will use and whether it works: llama-server and the model,
the --url and --remote servers (contacted, sent a short request), the terminal's
image mode, Claude (its key is never shown or sent), the folders. A line marked
!! is what cannot work or may not."""
DOCTOR_EPILOG = """\
exit status:
  0  the local side, and the remote if there is one, can run
  1  the local side or the remote cannot run (see the lines marked !!)
  2  bad usage or settings
"""


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The flags of ``pelican-tui`` (and ``tui``, ``doctor``) as a nested settings
    override; None stands for a flag not given."""
    ui = {"image_mode": getattr(args, "image_mode", None), "theme": getattr(args, "theme", None)}
    return {**model_overrides(args), "ui": ui}


def build_parser(*, commands: bool = True) -> Parser:
    """``pelican-tui``'s parser; without ``commands``, its flags alone."""
    parser = Parser(
        prog="pelican-tui",
        description="Compare a local llama.cpp model with Claude on the pelican test.",
        epilog="Without a command, starts the TUI. Settings: see `pelican-tui doctor`.",
    )
    if not commands:
        add_model_flags(parser)
        add_remote_flag(parser)
        _add_screen_flags(parser)
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    tui = sub.add_parser("tui", help="start the terminal UI (the default)")
    setup = sub.add_parser(
        "setup",
        help="find or build llama-server and fetch the default model",
        **help_texts(SETUP_DESCRIPTION, SETUP_EPILOG),
    )
    doctor = sub.add_parser(
        "doctor",
        help="show what will be used and whether it works",
        **help_texts(DOCTOR_DESCRIPTION, DOCTOR_EPILOG),
    )
    sub.add_parser("render", help="render an SVG to PNG in the sandbox", add_help=False)
    sub.add_parser("sessions", help="list, export or delete saved sessions", add_help=False)
    sub.add_parser("run", help="run the comparison headless", add_help=False)
    sub.add_parser("leaderboard", help="ratings from your votes, with intervals", add_help=False)
    sub.add_parser(
        "export-evidence",
        help="leaderboard and pictures as one HTML page, CSV, JSON",
        add_help=False,
    )
    sub.add_parser("judge", help="let a Claude model vote on pairs, blind", add_help=False)
    for each in (parser, tui, doctor):
        add_model_flags(each)
        add_remote_flag(each)
    # `setup --llama-server PATH` was refused as an unrecognized argument, under a usage
    # line that lists it: setup uses the same llama-server and model as the app.
    add_model_flags(setup)
    for each in (parser, tui):
        _add_screen_flags(each)
    for command in (tui, doctor, setup):
        # A flag before the command (`pelican-tui --url URL doctor`) is kept: argparse
        # otherwise sets every flag the command did not see to its default again.
        for action in command._actions:
            if action.dest != "help":
                action.default = argparse.SUPPRESS
    return parser


def _add_screen_flags(parser: Parser) -> None:
    parser.add_argument(
        "--image-mode",
        choices=("auto", "tgp", "sixel", "halfcell", "unicode"),
        help="terminal image protocol (default: detect)",
    )
    parser.add_argument("--theme", help="colour theme (pelican-dark, pelican-light, ...)")


def _own_parser_command(argv: list[str]) -> tuple[str, list[str], list[str]] | None:
    """A command with its own parser, the words it is given, and which of them were
    ``pelican-tui``'s flags before it (`pelican-tui --ctx 4096 run --out d` gives run
    ``--ctx 4096 --out d``). None: no such command (a command word given as a flag's
    value is not one)."""
    for i, word in enumerate(argv):
        if word not in OWN_PARSERS:
            continue
        before = argv[:i]
        if not before:
            return word, argv[1:], []
        if "-h" in before or "--help" in before:
            return None
        flags = build_parser(commands=False)
        try:
            _, unknown = flags.parse_known_args(before)
        except UsageError:
            continue
        if not unknown:
            return word, [*before, *argv[i + 1 :]], before
    return None


def main(argv: list[str] | None = None) -> int:
    import os
    from pathlib import Path

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # started with it closed (`>&-`): Python gives None
            # What would have been printed goes nowhere, as into a pipe nobody reads; the
            # work (a run, its exports and summary.json) is done as asked.
            setattr(sys, name, Path(os.devnull).open("w"))  # noqa: SIM115 (for the process)
    words = list(sys.argv[1:] if argv is None else argv)
    stdout = sys.stdout
    sys.stdout = cast("TextIO", StandardOutput(stdout))
    code: int | None = None
    try:
        code = _main(words)
        sys.stdout.flush()  # what is still buffered fails here, not in Python's exit
        return code
    except KeyboardInterrupt:  # Ctrl-C before a command handles it (while importing)
        print("\ninterrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`pelican-tui leaderboard --json | head`): its choice, so
        # no traceback, nothing said, and the command's own status (0 if it was cut
        # short); none at exit either, when Python flushes stdout into the closed pipe.
        _output_nowhere(stdout)
        return Exit.OK if code is None else code
    except OutputError as error:  # `> /dev/full`: one line, whichever command wrote
        _output_nowhere(stdout)
        with contextlib.suppress(OSError):
            Console.of(_prog(words), stdout, sys.stderr).note(error.words())
        return error.status if code in (None, Exit.OK) else code
    finally:
        sys.stdout = stdout


def _output_nowhere(stdout: TextIO) -> None:
    """What standard output still holds goes nowhere: not again into what failed."""
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())


def _prog(argv: list[str]) -> str:
    """The command ``argv`` runs as its messages name it: ``pelican-tui sessions``."""
    own = _own_parser_command(argv)
    if own is not None:
        return f"pelican-tui {own[0]}"
    named = [word for word in argv if word in COMMANDS]
    return f"pelican-tui {named[0]}" if named else "pelican-tui"


def _main(argv: list[str]) -> int:
    # Commands with their own parsers take the rest of the line verbatim.
    own = _own_parser_command(argv)
    if own is not None:
        command, words, moved = own
        if moved and command != "run":  # only run shares pelican-tui's flags
            print(f"pelican-tui {command}: error: it takes no {moved[0]} (see pelican-tui "
                  f"{command} --help)", file=sys.stderr)  # fmt: skip
            return Exit.USAGE
        return _delegate(command, words)
    args = parse(build_parser(), argv, sys.stderr)
    if isinstance(args, int):
        return args
    command = args.command or "tui"
    if command != "tui":
        return _command(command, args)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # Textual's input thread reads a stdin at its end (< /dev/null, nohup) again and
        # again: a core at 100% and no key ever read; output to a file is escape codes.
        print(NO_TERMINAL, file=sys.stderr)
        return Exit.USAGE
    import gc

    from pelican_tui.terminal_caps import start_asking, stop_asking

    # No cyclic garbage collection before the first frame: the imports and the
    # first screen leave ~125,000 objects for the collector to track, and its
    # ~200 collections there (50-80 ms here, one of them full) free ~1,700.
    # The app turns it back on once that frame is drawn
    # (PelicanApp.read_header_then_start).
    gc.disable()
    start_asking()  # the answers are read just before the app starts (launch.run_app)
    try:
        try:
            return _command(command, args)
        finally:
            stop_asking()  # the terminal echoes again before anything is said
            gc.enable()
    except OutputError:  # not a bug: said by main, as every command's
        raise
    except Exception as error:  # a bug as the app starts: one line, its traceback logged
        from pelican_tui.cli.internal_error import report_internal_error

        return report_internal_error(Console.of("pelican-tui", None, None), error)


def _command(command: str, args: argparse.Namespace) -> int:
    from pelican_tui.backends.settings import SettingsError  # loaded by the settings anyway

    console = Console.of("pelican-tui", None, None)
    overrides = overrides_from_args(args)
    try:
        settings = settings_from_flags(overrides)
    except SettingsError as error:  # a bad value, file or variable: not a bug
        return console.invalid_settings(error)
    for warning in password_warnings(settings):  # said here too: the app says it at start
        console.note(warning)
    if command == "setup":
        from pelican_tui.cli.setup import run_setup

        return run_setup(settings)
    if command == "doctor":
        from pelican_tui.cli.doctor import run_doctor

        return run_doctor(settings)
    from pelican_tui.cli.setup import prepare_for_tui

    prepared = prepare_for_tui(settings)
    if prepared is None:
        return 1
    from pelican_tui.launch import run_app

    return run_app(settings, prepared)


def _delegate(command: str, rest: list[str]) -> int:
    if command == "render":
        from pelican_tui.cli.render import render_command

        return int(render_command(rest))
    if command == "sessions":
        from pelican_tui.cli.sessions import sessions_command

        return int(sessions_command(rest))
    if command == "leaderboard":
        from pelican_tui.cli.leaderboard import leaderboard_command

        return int(leaderboard_command(rest))
    if command == "export-evidence":
        from pelican_tui.cli.evidence import evidence_command

        return int(evidence_command(rest))
    if command == "judge":
        from pelican_tui.cli.judge import judge_command

        return int(judge_command(rest))
    from pelican_tui.cli.run import run_command

    return int(run_command(rest))


if __name__ == "__main__":
    raise SystemExit(main())
