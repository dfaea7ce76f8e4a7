"""What happens in the terminal before the TUI starts: first-run setup.

On a fresh machine this finds or builds llama-server and fetches the default
model, printing progress to stderr, so the app itself starts in under a second.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from pelican_tui.backends.settings import Settings


def _say(message: str) -> None:
    print(f"[pelican-tui] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What preflight found: the llama-server binary (None when attaching)."""

    binary: Path | None
    binary_source: str | None
    problem: str | None = None
    """A setup failure to show in the UI (the app still starts: Claude may work)."""


def _needs_server(settings: Settings) -> bool:
    return not settings.local.url


def setup(settings: Settings) -> Prepared:
    """Find or build llama-server and fetch the default model if it is used."""
    from pelican_tui.backends import default_model
    from pelican_tui.backends.server_binary import ServerBinaryError, ensure_server_binary

    binary = source = None
    if _needs_server(settings):
        try:
            found = ensure_server_binary(settings.local.llama_server, progress=_say)
        except ServerBinaryError as error:
            return Prepared(None, None, problem=str(error))
        binary, source = found.path, found.source
        if settings.local.model is None and not settings.local.hf:
            try:
                default_model.ensure_default_model(progress=_say)
            except default_model.DefaultModelError as error:
                return Prepared(binary, source, problem=str(error))
        _ensure_bandwidth_measured()
    return Prepared(binary, source)


def _ensure_bandwidth_measured() -> None:
    """Measure memory bandwidth once per machine: the decode ceiling shown beside tok/s."""
    from pelican_tui.backends import hardware

    if hardware.read_cached_bandwidth() is not None:
        return
    _say("measuring memory bandwidth once (about a second) for the decode ceiling ...")
    try:
        bandwidth = hardware.memory_bandwidth(cached=False)
    except (MemoryError, RuntimeError, ValueError) as error:
        _say(f"could not measure memory bandwidth ({error}); no decode ceiling will be shown")
        return
    _say(f"memory bandwidth: {hardware.format_bandwidth(bandwidth)}")


def run_setup(settings: Settings) -> int:
    prepared = setup(settings)
    if prepared.problem:
        print(f"pelican-tui: {prepared.problem}", file=sys.stderr)
        return 1
    if prepared.binary is not None:
        _say(f"llama-server: {prepared.binary} ({prepared.binary_source})")
    _say("setup complete")
    return 0


def prepare_for_tui(settings: Settings) -> Prepared | None:
    prepared = setup(settings)
    if prepared.problem:
        # Still start: the app shows the problem in the local pane, and the
        # Claude side can run. Say it here too, in case the screen is cleared.
        _say(prepared.problem)
    return prepared
