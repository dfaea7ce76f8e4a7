"""The model flags ``pelican-tui`` (the TUI, ``tui``, ``doctor``) and ``pelican-tui run``
share: one definition of the flags, one way to turn them into settings.

The local model comes from one of ``--model``, ``--hf`` or ``--url``; the one
given on the command line replaces whichever of the three the settings file
(or environment) names, so ``--model x.gguf`` works with ``local.hf`` set.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pelican_tui.backends.llama.config import (
    CONTEXT_RANGE,
    LAYERS_RANGE,
    LOAD_MODES,
    THREADS_RANGE,
)
from pelican_tui.backends.secrets import SECRET_ARG_PROBLEM, secret_flag
from pelican_tui.backends.urls import server_url_problem
from pelican_tui.cli.args import given, given_path, whole_number

if TYPE_CHECKING:  # pydantic is not imported for --help
    from pelican_tui.backends.settings import Settings

LOCAL_GROUP = "local model (one of --model, --hf, --url)"
SOURCES = ("model", "hf", "url")
"""The settings that say where the local model comes from; one is used."""


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """The local-model and Claude flags (not ``--remote``: see :func:`add_remote_flag`)."""
    local = parser.add_argument_group(LOCAL_GROUP)
    which = local.add_mutually_exclusive_group()
    which.add_argument("--model", type=given_path, metavar="PATH", help="GGUF file to serve")
    which.add_argument(
        "--hf",
        type=given,
        metavar="REF",
        help="llama-server -hf reference, e.g. ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M",
    )
    which.add_argument(
        "--url",
        type=server_url,
        help="an OpenAI-compatible server to use instead of spawning llama-server "
        "(one with a password: give it in PELICAN_LOCAL__URL, not here)",
    )
    local.add_argument(
        "--llama-server", type=given_path, metavar="PATH", help="llama-server binary"
    )
    local.add_argument(
        "--ctx", type=whole_number(*CONTEXT_RANGE), metavar="N", help="context size (-c)"
    )
    local.add_argument(
        "--threads", type=whole_number(*THREADS_RANGE), metavar="N", help="generation threads (-t)"
    )
    local.add_argument(
        "--n-cpu-moe",
        type=whole_number(*LAYERS_RANGE),
        metavar="N",
        help="keep the expert weights of the first N layers on the CPU",
    )
    local.add_argument(
        "--ngl",
        type=whole_number(*LAYERS_RANGE),
        metavar="N",
        help="layers to offload to a GPU (-ngl)",
    )
    local.add_argument("--load-mode", choices=LOAD_MODES, help="how llama-server loads weights")
    local.add_argument(
        "--server-arg",
        action="append",
        type=server_arg,
        default=None,
        metavar="ARG",
        help="extra llama-server argument, repeatable, replacing local.extra_args "
        "(e.g. --server-arg=--flash-attn=on)",
    )
    claude = parser.add_argument_group("Claude")
    claude.add_argument("--claude-model", metavar="ID", help="Anthropic model id")
    claude.add_argument("--no-claude", action="store_true", help="do not use Claude")


def server_arg(text: str) -> str:
    """An argparse ``type`` for ``--server-arg``: one that holds a secret is refused
    here, naming the flag typed; in settings it said "invalid settings:
    local.extra_args holds --api-key…", a setting never set."""
    if flag := secret_flag(text):
        raise argparse.ArgumentTypeError(f"holds {flag}: {SECRET_ARG_PROBLEM}")
    return text


def server_url(text: str) -> str:
    """An argparse ``type`` for ``--url`` and ``--remote``: a URL that cannot name a
    server is refused here, naming the flag typed (in settings it said "local.url
    must start with http://…", a setting never set), without repeating it (it may
    hold a password)."""
    url = given(text)
    if problem := server_url_problem(url):
        raise argparse.ArgumentTypeError(problem)
    return url


def add_remote_flag(parser: argparse.ArgumentParser) -> None:
    """``--remote``: a second server a TUI pane can switch to (``run`` has no use for it)."""
    parser.add_argument(
        "--remote",
        type=server_url,
        metavar="URL",
        help="also offer this OpenAI-compatible server (b switches; one with a password: "
        "give it in PELICAN_REMOTE__URL, not here)",
    )


def model_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The flags of :func:`add_model_flags` (and ``--remote``, where the parser has it)
    as a nested settings override; None stands for a flag not given."""
    local = {
        "model": args.model,
        "hf": args.hf,
        "url": args.url,
        "llama_server": args.llama_server,
        "context": args.ctx,
        "threads": args.threads,
        "n_cpu_moe": args.n_cpu_moe,
        "gpu_layers": args.ngl,
        "load_mode": args.load_mode,
        "extra_args": args.server_arg,
    }
    claude: dict[str, Any] = {"model": args.claude_model}
    if args.no_claude:
        claude["enabled"] = False
    overrides: dict[str, Any] = {"local": local, "claude": claude}
    if hasattr(args, "remote"):
        overrides["remote"] = {"url": args.remote}
    return overrides


def password_warnings(settings: Settings) -> list[str]:
    """One warning for each of ``--url`` and ``--remote`` given a URL with a password
    in it (:attr:`~pelican_tui.backends.settings.LocalSettings.flag_password_warning`):
    the run goes on, but a flag's value is in the process list and the shell's history."""
    return [
        f"warning: {warning}"
        for section in (settings.local, settings.remote)
        if (warning := section.flag_password_warning) is not None
    ]


def settings_from_flags(overrides: dict[str, Any]) -> Settings:
    """Settings with command-line ``overrides`` on top (:func:`model_overrides`, plus a
    command's own, e.g. ``{"prompt": ...}``), where the one of ``--model``, ``--hf``,
    ``--url`` given replaces whichever of them the file or environment names.

    Raises :class:`~pelican_tui.backends.settings.SettingsError` for bad settings.
    """
    from pelican_tui.backends.settings import SettingsError, load_settings

    local = overrides.get("local") or {}
    sources = [name for name in SOURCES if local.get(name) is not None]
    if len(sources) > 1:  # one before the command and one after it (argparse sees no clash)
        flags = " and ".join(f"--{name}" for name in sources)
        raise SettingsError(f"{flags} both name the local model; give one")
    settings = load_settings(overrides)
    if sources:
        others = {name: None for name in SOURCES if name not in sources}
        settings = settings.model_copy(update={"local": settings.local.model_copy(update=others)})
    if local.get("url") is not None:  # hints name the flag, not a setting never set
        settings.local.url_given_by("--url")
    if (overrides.get("remote") or {}).get("url") is not None:
        settings.remote.url_given_by("--remote")
    if (overrides.get("claude") or {}).get("enabled") is False:
        settings.claude.turned_off_by("--no-claude")
    return settings


__all__ = [
    "LOCAL_GROUP",
    "add_model_flags",
    "add_remote_flag",
    "model_overrides",
    "password_warnings",
    "server_arg",
    "server_url",
    "settings_from_flags",
]
