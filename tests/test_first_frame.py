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
import asyncio, sys
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.settings import load_settings
from pelican_tui.launch import import_picture_widgets
from pelican_tui.terminal_caps import TerminalReport

import_picture_widgets(TerminalReport(tty=True, asked=True), "halfcell")
from pelican_tui.app import PelicanApp
from textual.widgets import Footer

settings = load_settings({"ui": {"image_mode": "halfcell", "theme": "pelican-dark"}})
app = PelicanApp(settings, Prepared(None, None), start_server=False, sample_resources=False)

async def first_frame():
    async with app.run_test(size=(160, 48)):
        footer = app.query_one(Footer)
        while not any(key.size.width for key in footer.children):  # the frame with the keys
            await asyncio.sleep(0)
        later = ("PIL", "textual_image", "ctypes", "tarfile", "psutil")
        later += ("pelican_tui.backends.store",)
        print(sorted(m for m in sys.modules if m.startswith(later)))

asyncio.run(first_frame())
"""


def test_the_first_frame_waits_for_none_of_what_comes_after_it() -> None:
    """Half-cell blocks are drawn by pelican-tui's own widget: a terminal that gets
    them (tmux, most without graphics) imports neither textual-image nor Pillow
    before the first frame. Nor the allocator setting's ctypes, the llama-server
    build's tarfile, the session store (its records are types to the engine) or
    psutil (~20 ms: the resource sampler starts after the first frame)."""
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
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
