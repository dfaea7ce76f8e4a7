"""The main screen under another screen: drawn while it shows, left alone while hidden.

Textual repainted the whole screen on top each time a widget of the main screen
changed under it (the status bar's sample every second, the panes while a model
streams): 6-25 KB a second to the terminal, over SSH, while the sessions list
sat still. A dialog (help) lets the main screen show through, so it is still drawn
under one.
"""

from __future__ import annotations

from typing import Any

from _app_support import make_app, wait_for
from textual.widgets import Input

from pelican_tui.screens.help_screen import HelpScreen
from pelican_tui.screens.sessions_screen import SessionsScreen


async def test_a_hidden_main_screen_is_not_drawn_until_it_shows_again() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        main = app.screen
        prompt = app.query_one("#prompt", Input)

        await pilot.press("question_mark")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 5)
        assert main.is_current, "under a dialog the main screen shows: it is drawn"
        await pilot.press("escape")

        await pilot.press("o")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), 5)
        top = app.screen
        await pilot.pause(0.3)  # the sessions screen has drawn itself
        assert not main.is_current

        repaints: list[tuple[Any, ...]] = []
        refresh = top.refresh

        def counted(*regions: Any, **kwargs: Any) -> Any:
            repaints.append(regions)
            return refresh(*regions, **kwargs)

        top.refresh = counted  # type: ignore[method-assign]
        prompt.value = "heron-on-a-unicycle"  # a change on the hidden main screen
        await pilot.pause(0.3)
        assert repaints == [], "a change under the sessions screen repainted it"

        await pilot.press("escape")
        assert await wait_for(pilot, lambda: app.screen is main, 5)
        await pilot.pause(0.2)
        assert main.is_current
        assert "heron-on-a-unicycle" in app.export_screenshot(), (
            "the change made while hidden is drawn when the main screen shows again"
        )
