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
