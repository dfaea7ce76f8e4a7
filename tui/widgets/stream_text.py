"""A text view for streamed text that costs the same per redraw however long it gets.

Appending only stores the piece; the widget redraws when :meth:`flush` is
called (the pane does so at a fixed rate), and it draws only the tail that
fits, wrapped to its width. So a 50 KB answer costs what a 2 KB one does.

It draws through Textual's line API (:meth:`StreamText.render_line`): the tail
is wrapped once per redraw, into rows of plain text in the widget's style.
A ``render`` returning a ``Text`` cost ~1.5 ms per redraw at 160x48, most of
it Textual turning the text into its own content and wrapping it a second
time: the largest single part of a screen update while a model streams.

While text streams in, the view scrolls by half a page at a time, not by a
row: new rows fill the empty half below while the rows above stay where they
are, and :meth:`StreamText.flush` asks Textual to repaint only the rows that
changed (one or two), so the terminal is sent those rather than every row of
the widget. Over SSH that is most of the bytes a stream costs.
:meth:`StreamText.settle` puts the last rows at the bottom again (the pane
calls it when the run ends), as do a new size and :meth:`set_text`.
"""

from __future__ import annotations

import textwrap

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

TAIL_CHARS = 6000

_Row = tuple[int, int, str]
"""(offset of the raw line's first character in the text, row within that line, the row)."""

_CONTROLS = {code: None for code in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)}
"""Control characters model output may hold, dropped before drawing (tab and newline are kept)."""


class StreamText(Widget):
    """The last lines of a growing text, wrapped to the widget's width."""

    DEFAULT_CSS = """
    StreamText {
        height: 1fr;
        min-height: 1;
        padding: 0 1;
    }
    StreamText.-placeholder {
        color: $text-muted;
    }
    """

    def __init__(self, placeholder: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-placeholder")
        self._parts: list[str] = []
        self._dirty = False
        self.placeholder = placeholder
        self._rows: list[Strip] | None = None
        """What :meth:`render_line` draws, for :attr:`_rows_for` (None: wrap again)."""
        self._rows_for: tuple[int, int, Style] | None = None
        """The width, height and style :attr:`_rows` were made for."""
        self._row_texts: list[str] = []
        """The text of each of :attr:`_rows` (what :meth:`flush` compares)."""
        self._top: tuple[int, int] | None = None
        """The first row shown, as (raw line offset, row within it); None: the tail's."""
        self._top_for: tuple[int, int] = (0, 0)
        """The width and height :attr:`_top` was chosen for."""

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def has_text(self) -> bool:
        """Whether anything was appended (cheaper than ``text``, which joins the pieces)."""
        return bool(self._parts)

    def append(self, piece: str) -> None:
        if piece:
            self._parts.append(piece)
            self._dirty = True

    def set_text(self, text: str) -> None:
        self._parts = [text] if text else []
        self._top = None
        self._rows = None  # so flush repaints all of it
        self._dirty = True
        self.flush()

    def settle(self) -> None:
        """Show the last rows at the bottom again (the text stopped growing)."""
        if self._top is not None:
            self._top = None
            self._rows = None
            self.refresh()

    def clear(self) -> None:
        self.set_text("")

    def set_placeholder(self, placeholder: str) -> None:
        """What it says while it has no text."""
        if placeholder != self.placeholder:
            self.placeholder = placeholder
            if not self._parts:
                self._rows = None
                self.refresh()

    def flush(self) -> None:
        """Redraw if anything was appended since the last flush: only the rows that
        changed, when the widget's size and style are those of the rows on screen."""
        if not self._dirty:
            return
        self._dirty = False
        was_empty = self.has_class("-placeholder")
        self.set_class(not self._parts, "-placeholder")
        drawn, same = self._row_texts, self._rows is not None
        width, height = self.content_size
        self._rows = None
        if not same or was_empty or not self.is_mounted:
            self.refresh()
            return
        if self._rows_for != (width, height, self.rich_style):
            self.refresh()
            return
        self._make_rows()
        now = self._row_texts
        changed = [
            y
            for y in range(height)
            if (drawn[y] if y < len(drawn) else None) != (now[y] if y < len(now) else None)
        ]
        if changed:
            self.refresh(*(Region(0, y, width, 1) for y in changed))

    def tail_lines(self, width: int, height: int) -> list[str]:
        """The last ``height`` rows of the text wrapped to ``width``."""
        return [row for _, _, row in self._tail_rows(width, height)]

    def _rows_from(self, offset: int, width: int) -> list[_Row]:
        """The rows of the text from ``offset`` (a raw line's start) on, wrapped."""
        rows: list[_Row] = []
        for raw in self.text[offset:].split("\n"):
            wrapped = textwrap.wrap(
                raw.expandtabs(2).translate(_CONTROLS),
                width,
                drop_whitespace=False,
                replace_whitespace=False,
                break_on_hyphens=False,
            )
            rows.extend((offset, index, row) for index, row in enumerate(wrapped or [""]))
            offset += len(raw) + 1
        if self.text.endswith("\n"):
            rows.pop()  # a last empty line is not a row (as splitlines has it)
        return rows

    def _tail_rows(self, width: int, height: int) -> list[_Row]:
        if width <= 0 or height <= 0:
            return []
        text = self.text
        start = max(0, len(text) - TAIL_CHARS)
        if start:  # from a raw line's start, so rows are the same however it is cut
            newline = text.find("\n", start)
            start = newline + 1 if newline != -1 else start
        return self._rows_from(start, width)[-height:]

    def _shown_rows(self, width: int, height: int) -> list[str]:
        """The rows on screen: from :attr:`_top` while they fit, else half a page on."""
        if self._top is None or self._top_for != (width, height):
            rows = self._tail_rows(width, height)
        else:
            offset, skip = self._top
            rows = self._rows_from(offset, width)[skip:]
            if len(rows) > height:  # full: jump so that half the page is free below
                rows = rows[len(rows) - max(1, height - height // 2) :]
        if rows:
            self._top, self._top_for = (rows[0][0], rows[0][1]), (width, height)
        return [row for _, _, row in rows[:height]]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rows = None  # the colours changed (a theme, the placeholder class)

    def _make_rows(self) -> list[Strip]:
        width, height = self.content_size
        style = self.rich_style
        if self._rows is None or self._rows_for != (width, height, style):
            self._rows_for = (width, height, style)
            if self._parts:
                lines = self._shown_rows(width, height)
            else:
                lines = textwrap.wrap(self.placeholder, width) if width > 0 else []
            self._row_texts = lines
            self._rows = [
                Strip([Segment(set_cell_size(line, width), style)], width) for line in lines
            ]
        return self._rows

    def render_line(self, y: int) -> Strip:
        rows = self._make_rows()
        if y < len(rows):
            return rows[y]
        return Strip.blank(self.content_size.width, self.rich_style)
