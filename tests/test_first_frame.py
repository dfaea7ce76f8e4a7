"""The first frame is drawn as the widgets were styled when they mounted.

Textual restyles a screen whole when it is resumed with ``refresh_styles`` (the
first screen at start, a mode's screen when switched to): the main screen's
first resume, just before the first frame, is not restyled.
"""

from __future__ import annotations

from typing import Any

import pytest
from _app_support import make_app
from textual.screen import Screen

from pelican_tui.app import MainScreen


@pytest.mark.parametrize("first", [True, False])
async def test_the_first_resume_does_not_restyle_the_screen(
    monkeypatch: pytest.MonkeyPatch, first: bool
) -> None:
    restyled: list[Screen[Any]] = []
    update_node_styles = Screen.update_node_styles

    def spy(self: Screen[Any], animate: bool = True) -> None:
        restyled.append(self)
        update_node_styles(self, animate)

    monkeypatch.setattr(Screen, "update_node_styles", spy)
    if not first:  # as if resumed before: what Textual does on every resume
        monkeypatch.setattr(MainScreen, "_resumed", True)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        await pilot.pause()
        assert (main in restyled) is not first


_HALF_CELL_FIRST_FRAME = """
import asyncio, gc, sys
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.settings import load_settings
from pelican_tui.launch import import_picture_widgets
from pelican_tui.terminal_caps import TerminalReport

import_picture_widgets(TerminalReport(tty=True, asked=True), "halfcell")
from pelican_tui.app import PelicanApp
from textual.widgets import Footer

ENGINE_MODULES = (
    "pelican_tui.backends.engine.comparison",
    "pelican_tui.backends.engine.sides",
    "pelican_tui.backends.engine.updates",
    "pelican_tui.backends.openai_compat",
)
settings = load_settings({"ui": {"image_mode": "halfcell", "theme": "pelican-dark"}})
app = PelicanApp(settings, Prepared(None, None), start_server=False, sample_resources=False)
gc.disable()  # as the command does until the first frame

async def first_frame():
    async with app.run_test(size=(160, 48)):
        footer = app.query_one(Footer)
        while not any(key.size.width for key in footer.children):  # the frame with the keys
            await asyncio.sleep(0)
        later = ("PIL", "textual_image", "ctypes", "tarfile", "psutil")
        later += ("pelican_tui.backends.store",)
        later += ENGINE_MODULES
        print(sorted(m for m in sys.modules if m.startswith(later)))
        await app.workers.wait_for_complete()
        print("engine built:", app.engine_built, "gc on:", gc.isenabled())
        print(sorted(m for m in sys.modules if m.startswith(ENGINE_MODULES))[:1])

asyncio.run(first_frame())
"""


def test_the_first_frame_waits_for_none_of_what_comes_after_it() -> None:
    """Half-cell blocks are drawn by pelican-tui's own widget: a terminal that gets
    them (tmux, most without graphics) imports neither textual-image nor Pillow
    before the first frame. Nor the allocator setting's ctypes, the llama-server
    build's tarfile, the session store (its records are types to the engine),
    psutil (~20 ms: the resource sampler starts after the first frame) or the run
    engine (its sides, backends and updates, ~20 ms: the panes are drawn from the
    settings, :func:`~pelican_tui.backends.engine.choices.first_view`). After the
    frame the engine is built and garbage collection, held off until then, is on."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _HALF_CELL_FIRST_FRAME],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    at_frame, after, engine_after = done.stdout.strip().splitlines()[-3:]
    assert at_frame == "[]", done.stdout
    assert after == "engine built: True gc on: True", done.stdout
    assert engine_after == "['pelican_tui.backends.engine.comparison']", done.stdout


FIRST_VIEW_CASES: dict[str, tuple[dict[str, Any], str | None]] = {
    "stand-in, no key": ({}, None),
    "stand-in, a key": ({}, "sk-ant-test-first-view-0000"),
    "a blank key": ({}, "   "),  # no key: the right pane is not Claude's
    "claude thinking off, local thinking off": (
        {"local": {"thinking": False}, "claude": {"thinking": False}},
        "sk-ant-test-first-view-0000",
    ),
    "claude effort low": ({"claude": {"effort": "low"}}, "sk-ant-test-first-view-0000"),
    "claude off, a key": ({"claude": {"enabled": False}}, "sk-ant-test-first-view-0000"),
    "a model file, its context": ({"local": {"model": "TINY", "context": 4096}}, None),
    "a model by reference": ({"local": {"hf": "someone/Some-Model-GGUF:Q4_K_M"}}, None),
    "attached, named": ({"local": {"url": "http://127.0.0.1:9", "url_model": "m.gguf"}}, None),
    "attached, unnamed": ({"local": {"url": "http://127.0.0.1:9"}}, "sk-ant-test-first-view-0000"),
    "a remote server": ({"remote": {"url": "http://127.0.0.1:9", "label": "other"}}, None),
    "no llama-server": ({}, None),
}


@pytest.mark.parametrize("case", list(FIRST_VIEW_CASES))
async def test_the_first_view_is_what_the_engine_says(
    monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The panes and the status bar are drawn from the settings before the engine is
    built; once it is, it must say the same (else the first frame shows something
    that changes a moment later): choices, titles, facts, notes."""
    from _server_support import server_binary, tiny_model

    from pelican_tui.backends.engine.choices import SLOTS, first_view
    from pelican_tui.backends.engine.comparison import ComparisonEngine
    from pelican_tui.backends.llama.prepare import Prepared
    from pelican_tui.backends.settings import load_settings

    overrides, key = FIRST_VIEW_CASES[case]
    if overrides.get("local", {}).get("model") == "TINY":
        overrides = {**overrides, "local": {**overrides["local"], "model": str(tiny_model())}}
    if key is not None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    settings = load_settings(overrides)
    binary = None if case == "no llama-server" else server_binary()
    prepared = Prepared(binary, "cache" if binary else None)
    view = first_view(settings, prepared)
    engine = ComparisonEngine(settings, prepared, read_header=False)
    try:
        assert view is not None
        assert view.choices == engine.default_choices()
        for number, slot in enumerate(SLOTS, 1):
            assert view.headers[slot] == engine.header(view.choices[slot], str(number))
        used = {choice.side for choice in view.choices.values()}
        notes = [
            (note, key in used)
            for key, side in engine.sides.items()
            if (note := side.note()) is not None
        ]
        assert view.notes == notes
    finally:
        await engine.close()


async def test_a_models_folder_is_drawn_from_the_engine(tmp_path: Any) -> None:
    """A models folder's files are the panes' choices: the settings alone cannot say
    them, so the engine is built before the first frame there."""
    from _app_support import make_app
    from _server_support import tiny_model

    (tmp_path / tiny_model().name).symlink_to(tiny_model())
    app = make_app(overrides={"local": {"models_dir": str(tmp_path)}})
    assert app.engine_built
    assert app.choices["left"].side == app.engine.default_choices()["left"].side


async def test_the_first_frame_has_the_titles_the_engine_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real app: the panes' titles and the status bar's notes in the frame with the
    footer's keys stay once the engine is built behind it (no flash of other titles)."""
    import asyncio

    from _app_support import make_app, wait_for
    from textual.widgets import Footer

    from pelican_tui.widgets.status_bar import StatusBar

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-first-view-0000")
    app = make_app()

    def shown() -> tuple[list[str], str]:
        titles = [str(app.pane(slot).border_title) for slot in ("left", "right")]
        return titles, app.query_one(StatusBar).render_text().plain

    async with app.run_test(size=(160, 48)) as pilot:
        footer = app.query_one(Footer)
        # Every turn of the loop, to look at the very frame (the app builds its engine
        # once it has seen that frame, a refresh later).
        while not any(key.size.width for key in footer.children):  # noqa: ASYNC110
            await asyncio.sleep(0)
        first = shown()
        assert not app.engine_built
        assert await wait_for(pilot, lambda: app.engine_built, 10)
        await pilot.pause()
        assert shown() == first
        assert first[0] == ["1 local · SmolLM2-135M (tiny stand-in)", "2 claude · claude-opus-4-7"]
        assert "claude: ready" in first[1]
