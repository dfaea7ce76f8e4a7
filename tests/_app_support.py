"""Building the real PelicanApp for tests, and waiting on it without sleeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _server_support import server_binary
from textual.pilot import Pilot

from pelican_tui.app import PelicanApp
from pelican_tui.backends.engine.sides import ServerHandle
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.settings import load_settings

COPY_SVG_PROMPT = (
    "Copy this SVG exactly, in a ```svg block:\n"
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<circle cx="50" cy="50" r="40" fill="orange"/></svg>'
)
"""A prompt the tiny SmolLM2 reliably answers with an SVG (so a picture appears)."""


def make_app(
    *,
    start_server: bool = False,
    overrides: dict[str, Any] | None = None,
) -> PelicanApp:
    settings = load_settings(
        {
            # No system prompt and a fixed seed: the tiny model then copies the SVG
            # in both thinking modes (checked against the real server).
            "system_prompt": "",
            "local": {"context": 2048, "max_tokens": 160, "seed": 7},
            "ui": {"theme": "pelican-dark"},
        }
        | (overrides or {})
    )
    prepared = Prepared(binary=server_binary(), binary_source="cache")
    return PelicanApp(settings, prepared, start_server=start_server, sample_resources=False)


RUN_WAIT_S = 180.0
"""How long a test waits for a run of the stand-in to end: it may write its 1024-token
limit, and on a loaded machine (CI beside other work) it writes 8-15 tokens a second."""


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Let the app run until ``predicate`` holds (bounded; pilot.pause yields to the app)."""
    steps = int(timeout_s / 0.1)
    for _ in range(steps):
        if predicate():
            return True
        await pilot.pause(0.1)
    return predicate()


async def pictures_drawn(pilot: Pilot[Any], screen: Any, timeout_s: float = 20) -> bool:
    """Let ``screen`` draw every picture it has (a gallery: every cell mounted first).

    A gallery's cells are mounted, then laid out (which sizes their titles), then
    drawn: read the screen before that and it shows a frame no person sees."""
    from pelican_tui.widgets.picture import PictureView

    def drawn() -> bool:
        cells = getattr(screen, "cells", None)
        if cells is not None and len(cells()) != len(screen.shown):
            return False
        views = list(screen.query(PictureView))
        return all(view.drawn for view in views if view.png is not None)

    done = await wait_for(pilot, drawn, timeout_s)
    await pilot.pause()
    return done


async def header_read(pilot: Pilot[Any], timeout_s: float = 10) -> bool:
    """Let the app read the local model's header, as it does after its first frame.

    Until then the local side is a plan from the settings alone; reading the header
    rebuilds it (facts, memory fit, a new server handle), then the app checks or
    starts it.
    """
    app = pilot.app
    assert isinstance(app, PelicanApp)
    return await wait_for(pilot, lambda: app.local_known, timeout_s)


async def server_ready(pilot: Pilot[Any], timeout_s: float = 60) -> ServerHandle:
    """Let the app read the local model's header, which starts its llama-server, and
    run until that server is ready; returns it. Fails if either does not happen."""
    app = pilot.app
    assert isinstance(app, PelicanApp)
    assert await header_read(pilot), "the local model's header was not read"
    server = app.server
    assert server is not None, "the app started no llama-server"
    ready = await wait_for(pilot, lambda: server.status.state.value == "ready", timeout_s)
    assert ready, f"llama-server was not ready after {timeout_s} s"
    return server


async def until(pilot: Pilot[Any], condition: Callable[[], bool], tries: int = 300) -> None:
    """Let the app run until ``condition`` holds (bounded; fails loudly)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    assert condition(), "condition not reached"
