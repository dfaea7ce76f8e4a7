"""What a terminal shows of an app run headless: its screen updates applied to cells.

Pilot's headless driver writes nothing, and ``screen_text`` draws the whole
screen afresh, so neither sees a cell the app forgot to redraw (a notification
gone from the DOM but left on the terminal). :class:`TerminalScreen` takes
every update the app would have written and applies it, as a terminal would.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.segment import ControlType

from pelican_tui.app import PelicanApp


class TerminalScreen:
    """The cells of a ``width`` x ``height`` terminal the app draws on."""

    def __init__(self, app: PelicanApp, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells = [[" "] * width for _ in range(height)]
        self._console = Console(width=width, height=height, force_terminal=True)
        shown = app._display

        def display(screen: Any, update: Any) -> None:
            if update is not None and not app._batch_count:  # what Textual writes
                self.apply(update)
            shown(screen, update)

        app._display = display  # type: ignore[method-assign]

    def apply(self, update: Any) -> None:
        x = y = 0
        for segment in update.__rich_console__(self._console, self._console.options):
            for code in segment.control or ():
                if code[0] == ControlType.CURSOR_MOVE_TO:
                    x, y = int(code[1]), int(code[2])
            if segment.control:
                continue
            for char in segment.text:
                if char == "\n":
                    x, y = 0, y + 1
                    continue
                if 0 <= y < self.height and 0 <= x < self.width:
                    self.cells[y][x] = char
                x += max(cell_len(char), 1)

    @property
    def text(self) -> str:
        return "\n".join("".join(row) for row in self.cells)
