"""Before the local model can start: llama-server found or built, the default
model fetched, the memory bandwidth measured once (for the decode ceiling).

Progress goes to the ``say`` callback the front end gives (stderr for the
command line), so a first run on a fresh machine shows what it is doing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.settings import Settings

Say = Callable[[str], None]


@frozen
class Prepared:
    """What set-up found: the llama-server binary (None when attaching)."""

    binary: Path | None
    binary_source: str | None
    problem: str | None = None
    """A set-up failure to show in the UI (the app still starts: Claude may work)."""


def needs_server(settings: Settings) -> bool:
    """True when pelican-tui spawns llama-server itself (no ``local.url``)."""
    return not settings.local.url


def setup(settings: Settings, say: Say) -> Prepared:
    """Find or build llama-server and fetch the default model if it is used."""
    from pelican_tui.backends.llama import default_model
    from pelican_tui.backends.llama.binary import ServerBinaryError, ensure_server_binary
    from pelican_tui.backends.llama.local_model import uses_stand_in

    binary = source = None
    if needs_server(settings):
        try:
            found = ensure_server_binary(settings.local.llama_server, progress=say)
        except ServerBinaryError as error:
            return Prepared(None, None, problem=str(error))
        binary, source = found.path, found.source
        if uses_stand_in(settings.local):
            try:
                default_model.ensure_default_model(progress=say)
            except default_model.DefaultModelError as error:
                return Prepared(binary, source, problem=str(error))
        ensure_bandwidth_measured(say)
    return Prepared(binary, source)


def ensure_bandwidth_measured(say: Say) -> None:
    """Measure memory bandwidth once per machine: the decode ceiling shown beside tok/s."""
    from pelican_tui.backends import hardware

    if hardware.read_cached_bandwidth() is not None:
        return
    say("measuring memory bandwidth once (about a second) for the decode ceiling ...")
    try:
        bandwidth = hardware.memory_bandwidth(cached=False)
    except (MemoryError, RuntimeError, ValueError) as error:
        say(f"could not measure memory bandwidth ({error}); no decode ceiling will be shown")
        return
    say(f"memory bandwidth: {hardware.format_bandwidth(bandwidth)}")
