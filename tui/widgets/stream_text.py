"""A text view for streamed text that costs the same per redraw however long it gets.

Appending only stores the piece; the widget redraws when :meth:`flush` is
called (the pane does so at a fixed rate), and it draws only the tail that
fits, wrapped to its width. So a 50 KB answer costs what a 2 KB one does.
"""

from __future__ import annotations

import textwrap

from rich.text import Text
from textual.widget import Widget

TAIL_CHARS = 6000


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
        super().__init__(id=id)
        self._parts: list[str] = []
        self._dirty = False
        self.placeholder = placeholder

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def append(self, piece: str) -> None:
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
            self.refresh()

    def tail_lines(self, width: int, height: int) -> list[str]:
        text = self.text[-TAIL_CHARS:]
        if width <= 0 or height <= 0:
            return []
        lines: list[str] = []
        for raw in text.splitlines()[-height * 2 :] or [""]:
            wrapped = textwrap.wrap(
                raw.expandtabs(2),
                width,
                drop_whitespace=False,
                replace_whitespace=False,
                break_on_hyphens=False,
            )
            lines.extend(wrapped or [""])
        return lines[-height:]

    def render(self) -> Text:
        self.set_class(not self._parts, "-placeholder")
        if not self._parts:
            return Text(self.placeholder)
        return Text("\n".join(self.tail_lines(self.content_size.width, self.content_size.height)))
