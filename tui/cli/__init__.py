"""The ``pelican-tui`` command: the TUI by default, plus setup, doctor, render,
run (headless) and sessions.

Imports are lazy: ``pelican-tui --help`` and the first frame must not pay for
modules a command does not use.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

COMMANDS = ("tui", "setup", "doctor", "render", "run", "sessions")


def _add_local_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("local model")
    group.add_argument("--model", type=Path, help="GGUF file to serve with llama-server")
    group.add_argument(
        "--hf", help="llama-server -hf reference, e.g. ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M"
    )
    group.add_argument("--url", help="attach to this OpenAI-compatible server instead")
    group.add_argument("--llama-server", type=Path, help="llama-server binary to use")
    group.add_argument("--ctx", type=int, help="context size (-c)")
    group.add_argument("--threads", type=int, help="generation threads (-t)")
    group.add_argument("--n-cpu-moe", type=int, help="keep experts of the first N layers on CPU")
    group.add_argument("--ngl", type=int, help="layers to offload to a GPU (-ngl)")
    group.add_argument("--load-mode", help="llama-server --load-mode (mmap, mlock, ...)")
    group.add_argument(
        "--server-arg",
        action="append",
        default=None,
        metavar="ARG",
        help="extra llama-server argument (repeatable), e.g. --server-arg=--flash-attn=on",
    )
    group.add_argument(
        "--remote", metavar="URL", help="also offer this OpenAI-compatible server (b switches)"
    )
    claude = parser.add_argument_group("Claude")
    claude.add_argument("--claude-model", help="Anthropic model id (default claude-opus-4-7)")
    claude.add_argument("--no-claude", action="store_true", help="do not use Claude")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """CLI flags as a nested settings override (None: not given)."""
    local = {
        "model": getattr(args, "model", None),
        "hf": getattr(args, "hf", None),
        "url": getattr(args, "url", None),
        "llama_server": getattr(args, "llama_server", None),
        "context": getattr(args, "ctx", None),
        "threads": getattr(args, "threads", None),
        "n_cpu_moe": getattr(args, "n_cpu_moe", None),
        "gpu_layers": getattr(args, "ngl", None),
        "load_mode": getattr(args, "load_mode", None),
        "extra_args": getattr(args, "server_arg", None),
    }
    remote = {"url": getattr(args, "remote", None)}
    claude: dict[str, Any] = {"model": getattr(args, "claude_model", None)}
    if getattr(args, "no_claude", False):
        claude["enabled"] = False
    ui = {
        "image_mode": getattr(args, "image_mode", None),
        "theme": getattr(args, "theme", None),
    }
    return {"local": local, "remote": remote, "claude": claude, "ui": ui}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pelican-tui",
        description="Compare a local llama.cpp model with Claude on the pelican test.",
        epilog="Without a command, starts the TUI. Settings: see `pelican-tui doctor`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    tui = sub.add_parser("tui", help="start the terminal UI (the default)")
    sub.add_parser("setup", help="find or build llama-server and fetch the default model")
    doctor = sub.add_parser("doctor", help="show what will be used and whether it works")
    sub.add_parser("render", help="render an SVG to PNG in the sandbox", add_help=False)
    sub.add_parser("sessions", help="list, export or delete saved sessions", add_help=False)
    sub.add_parser("run", help="run the comparison headless", add_help=False)
    for each in (parser, tui, doctor):
        _add_local_flags(each)
    for each in (parser, tui):
        each.add_argument(
            "--image-mode",
            choices=("auto", "tgp", "sixel", "halfcell", "unicode"),
            help="terminal image protocol (default: detect)",
        )
        each.add_argument("--theme", help="colour theme (pelican-dark, pelican-light, ...)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Commands with their own parsers take the rest of the line verbatim.
    if argv and argv[0] in ("render", "sessions", "run"):
        return _delegate(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    command = args.command or "tui"
    from pelican_tui.backends.settings import load_settings

    try:
        settings = load_settings(overrides_from_args(args))
    except Exception as error:  # pydantic ValidationError, TOML errors
        print(f"pelican-tui: invalid settings: {error}", file=sys.stderr)
        return 2
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
    from pelican_tui.cli.run import run_command

    return int(run_command(rest))


if __name__ == "__main__":
    raise SystemExit(main())
