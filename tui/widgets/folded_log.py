"""A log whose long lines go on over the rows below: ``FoldedLog``, the server log's view.

Textual's ``Log`` draws a line on one row and scrolls sideways for the rest of it:
at 80 columns most of llama-server's lines ran off the right edge. ``FoldedLog``
keeps the lines as written and gives ``Log`` rows no wider than the view, cut at
a space where there is one, the rows after a line's first indented. Folding is
done once per line as it is written, and again for every kept line only when the
view's width changes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Self

from rich.cells import cell_len, split_text
from textual import events
from textual.widgets import Log

from pelican_tui.backends.text import printable

INDENT = "  "
"""Before each row that goes on with the line above it."""


def fold(line: str, width: int) -> list[str]:
    """``line`` as rows of at most ``width`` cells: cut at the last space of a row when
    it is in the row's second half, else at the width; rows after the first indented."""
    if cell_len(line) <= width:
        return [line]
    rows: list[str] = []
    rest, room = line, max(width, 1)
    while cell_len(rest) > room:
        head, tail = split_text(rest, room)
        space = head.rfind(" ")
        if space > room // 2:
            head, tail = head[:space], head[space + 1 :] + tail
        rows.append(head if not rows else INDENT + head)
        rest, room = tail.lstrip(" "), max(width - len(INDENT), 1)
    if rest:
        rows.append(INDENT + rest)
    return rows


class FoldedLog(Log):
    """A ``Log`` that folds its lines to its width and keeps the last ``max_lines`` lines.

    ``write_lines`` takes whole lines (no newlines in them). ``lines`` and
    ``line_count`` are ``Log``'s: rows as drawn; :attr:`kept_lines` are the lines
    as written. Until it has a width, lines are only kept; they are folded and
    drawn at the first resize.
    """

    DEFAULT_CSS = """
    FoldedLog {
        overflow-x: hidden;
        overflow-y: scroll;
    }
    """

    def __init__(self, max_lines: int, *, id: str | None = None) -> None:
        super().__init__(auto_scroll=True, id=id)
        self._max_lines = max_lines
        self._kept: deque[str] = deque(maxlen=max_lines)
        self._folds: deque[int] = deque(maxlen=max_lines)
        """How many rows each kept line takes at :attr:`_width_folded`."""
        self._rows = 0
        self._width_folded = 0
        """The width the rows were cut to; 0 before the first resize."""

    @property
    def kept_lines(self) -> list[str]:
        """The lines as written, oldest first (at most ``max_lines``)."""
        return list(self._kept)

    def write_lines(self, lines: Iterable[str], scroll_end: bool | None = None) -> Self:
        new = list(lines)
        self._kept.extend(new)
        if not self._width_folded:
            return self
        return super().write_lines(self._fold_new(new[-self._max_lines :]), scroll_end)

    def _fold_new(self, lines: list[str]) -> list[str]:
        """The rows of ``lines``, counted in; ``Log`` drops as many rows as the kept
        lines they push out took."""
        rows: list[str] = []
        for line in lines:
            folded = fold(_one_row(line), self._width_folded)
            if len(self._folds) == self._max_lines:
                self._rows -= self._folds[0]
            self._folds.append(len(folded))
            self._rows += len(folded)
            rows.extend(folded)
        self.max_lines = self._rows
        return rows

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._width_folded:
            return
        following = self.is_vertical_scroll_end or self.max_scroll_y == 0
        top_line = self._line_at_row(round(self.scroll_y))
        self._width_folded = width
        self.clear()
        self._folds.clear()
        self._rows = 0
        super().write_lines(self._fold_new(list(self._kept)), scroll_end=False)
        if following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=sum(list(self._folds)[:top_line]), animate=False, immediate=True)

    def _line_at_row(self, row: int) -> int:
        """Which kept line row ``row`` belongs to, as the rows were last cut."""
        for index, rows in enumerate(self._folds):
            row -= rows
            if row < 0:
                return index
        return len(self._folds)


def _one_row(line: str) -> str:
    """``line`` printable on one row, and never empty: ``Log`` would skip an empty row,
    and the rows would no longer add up."""
    return " ".join(printable(line.expandtabs(4)).splitlines()) or " "
