"""One line of text that redraws in place: no layout pass when its text changes.

``Static.update`` asks for a layout refresh every time (its size may follow
its content), and on a screen with two panes of pictures a layout pass costs
far more than drawing one line. The pane's facts and live numbers change a
few times a second and always fill exactly one row, so they use this; and as
Textual sends the whole region a widget refreshes, :meth:`TextLine.update`
refreshes only the runs of cells that changed (a few digits of a number).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip

from pelican_tui.widgets.kept_lines import KeptLines

Cell = TypeVar("Cell")

_AT_START = Style.from_meta({"offset": (0, 0)})
"""The meta Textual gives a line's first segment (where a click or selection lands)."""

JOIN_GAP = 6
"""Changed runs this close repaint as one: a cursor move costs about as much as the cells."""


def changed_runs(
    shown: Sequence[Cell], new: Sequence[Cell], blank: Cell, gap: int = JOIN_GAP
) -> list[Region]:
    """Regions of row 0 covering the cells where ``new`` differs from ``shown``.

    The shorter one counts as padded with ``blank``; runs at most ``gap`` cells
    apart are joined. Empty when nothing changed.
    """
    length = max(len(shown), len(new))
    runs: list[list[int]] = []
    for x in range(length):
        before = shown[x] if x < len(shown) else blank
        after = new[x] if x < len(new) else blank
        if before == after:
            continue
        if runs and x - runs[-1][1] <= gap:
            runs[-1][1] = x
        else:
            runs.append([x, x])
    return [Region(first, 0, last - first + 1, 1) for first, last in runs]


class TextLine(KeptLines):
    """A single row of text; :meth:`update` repaints only the cells that changed."""

    DEFAULT_CSS = """
    TextLine { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(
        self,
        text: str = "",
        *,
        classes: str | None = None,
        fit: Callable[[str, int], str] | None = None,
    ) -> None:
        super().__init__(classes=classes)
        self._text = text
        self._fit = fit
        """How a text too wide is cut to the width (None: at its end, by Rich); ``text``
        stays the whole text."""

    @property
    def text(self) -> str:
        return self._text

    def update(self, text: str) -> None:
        if text == self._text:
            return
        shown, self._text = self._text, text
        width = self.size.width
        if not self.is_mounted or max(len(shown), len(text)) > width:  # an ellipsis moves
            self.refresh()
        elif cell_len(shown) != len(shown) or cell_len(text) != len(text):
            self.refresh()  # wide characters: cells are not characters
        elif self.styles.text_align not in ("left", "start"):
            self.refresh()  # the text moves with its length
        else:
            self.refresh(*changed_runs(shown, text, " "))  # a repaint of cells in this row

    def render(self) -> Text:
        text, width = self._text, self.content_size.width
        if self._fit is not None and width and cell_len(text) > width:
            text = self._fit(text, width)
        return Text(text, no_wrap=True, overflow="ellipsis")

    def render_line(self, y: int) -> Strip:
        """A text that fits, left-aligned, in characters one cell wide: one segment,
        the strip Textual makes of :meth:`render` for it (the live numbers redraw a
        few times a second, and turning a ``Text`` into Textual's content for each
        was ~0.2 ms of a ~2 ms screen update). Anything else through :meth:`render`."""
        text = self._text
        if (
            y
            or len(text) > self.content_size.width
            or cell_len(text) != len(text)  # wide or control characters
            or self.styles.text_align not in ("left", "start")
        ):
            return super().render_line(y)
        return Strip([Segment(text, self.rich_style + _AT_START)], len(text))
