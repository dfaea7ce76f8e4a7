"""Every main-screen key is also a command in the palette (ctrl+p).

The provider lists the app's bindings by description, so new keys appear in
the palette without being listed twice. Opened over another screen (the
gallery, the sessions list), it lists only what works there: the main screen's
keys wait for the main screen.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from pelican_tui.app import PelicanApp


_SYSTEM = {"quit"}
"""Actions Textual's own commands offer already ("Quit the application")."""


class PelicanCommands(Provider):
    """Run both, cancel, toggles, verdicts, screens: all of the app's actions."""

    def _commands(self) -> list[tuple[str, str, str, str]]:
        """(description, action, help, words it is found by) for each key that works."""
        app: PelicanApp = self.app  # type: ignore[assignment]
        rows = []
        for row in app.key_rows():  # keys as remapped by the user's keymap
            if not app.main_key_works(row.action, self.screen) or row.action in _SYSTEM:
                continue  # opened over another screen: only what works there
            help_text = f"press {row.keys}" + (f" · ui.keymap id {row.id}" if row.id else "")
            # "thinking" finds "Think" (toggle_thinking), "vote" the verdicts.
            words = " ".join([row.description, (row.id or "").replace("_", " ")])
            if row.action.startswith("verdict"):
                words += " vote"
            rows.append((row.description, row.action, help_text, words))
        return rows

    async def discover(self) -> Hits:
        for description, action, help_text, _ in self._commands():
            yield DiscoveryHit(description, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for description, action, help_text, words in self._commands():
            score = max(matcher.match(description), matcher.match(words) * 0.9)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(description),
                    partial(self._run, action),
                    help=help_text,
                )

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)
