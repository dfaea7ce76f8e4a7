"""One line of text that redraws in place: no layout pass when its text changes.

``Static.update`` asks for a layout refresh every time (its size may follow
its content), and on a screen with two panes of pictures a layout pass costs
far more than drawing one line. The pane's facts and live numbers change a
few times a second and always fill exactly one row, so they use this.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class TextLine(Widget):
    """A single row of text; :meth:`update` repaints only when the text changed."""

    DEFAULT_CSS = """
    TextLine { height: 1; }
    """

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._text = text

    @property
    def text(self) -> str:
        return self._text

    def update(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.refresh()  # a repaint of this row, not a layout of the screen

    def render(self) -> Text:
        return Text(self._text, no_wrap=True, overflow="ellipsis")
