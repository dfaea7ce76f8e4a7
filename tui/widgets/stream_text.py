"""A text view for streamed text that costs the same per redraw however long it gets.

Appending only stores the piece; the widget redraws when :meth:`flush` is
called (the pane does so at a fixed rate), and it draws only the tail that
fits, wrapped to its width. So a 50 KB answer costs what a 2 KB one does.

It draws through Textual's line API (:meth:`StreamText.render_line`): the tail
is wrapped once per redraw, into rows of plain text in the widget's style.
A ``render`` returning a ``Text`` cost ~1.5 ms per redraw at 160x48, most of
it Textual turning the text into its own content and wrapping it a second
time: the largest single part of a screen update while a model streams.
"""

from __future__ import annotations

import textwrap

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

TAIL_CHARS = 6000

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
        self._dirty = True
        self.flush()

    def clear(self) -> None:
        self.set_text("")

    def flush(self) -> None:
        """Redraw if anything was appended since the last flush."""
        if self._dirty:
            self._dirty = False
            self._rows = None
            self.set_class(not self._parts, "-placeholder")
            self.refresh()

    def tail_lines(self, width: int, height: int) -> list[str]:
        text = self.text[-TAIL_CHARS:]
        if width <= 0 or height <= 0:
            return []
        lines: list[str] = []
        for raw in text.splitlines()[-height * 2 :] or [""]:
            wrapped = textwrap.wrap(
                raw.expandtabs(2).translate(_CONTROLS),
                width,
                drop_whitespace=False,
                replace_whitespace=False,
                break_on_hyphens=False,
            )
            lines.extend(wrapped or [""])
        return lines[-height:]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rows = None  # the colours changed (a theme, the placeholder class)

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size
        style = self.rich_style
        if self._rows is None or self._rows_for != (width, height, style):
            self._rows_for = (width, height, style)
            if self._parts:
                lines = self.tail_lines(width, height)
            else:
                lines = textwrap.wrap(self.placeholder, width) if width > 0 else []
            self._rows = [
                Strip([Segment(set_cell_size(line, width), style)], width) for line in lines
            ]
        if y < len(self._rows):
            return self._rows[y]
        return Strip.blank(width, style)
