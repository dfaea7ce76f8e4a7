"""A picture's facts under it, broken between facts at its width.

Wrapped by Textual, "ink 1.8% · 3 elements · 184 B · 4.2 s" was parted at its
last space ("… · 184 B · 4.2" over "s"), and a non-breaking space is a space to
it: :class:`Caption` breaks each line only where a separator was
(:func:`~pelican_tui.backends.text.fold_parts`), again when its width changes.
The gallery's cells and the pair view's A and B use it.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Static

from pelican_tui.backends.text import fold_parts


class Caption(Static):
    """Lines of facts, each broken between facts at the caption's width."""

    def __init__(self, text: str = "", *, classes: str) -> None:
        super().__init__(text, classes=classes, markup=False)
        self._text = text
        self._width: int | None = None
        """The width the lines were last broken for (None: not yet)."""

    def show(self, text: str) -> None:
        self._text, self._width = text, None
        self.fit()

    def on_resize(self, _event: events.Resize) -> None:
        self.fit()

    def fit(self) -> None:
        """Break the lines for the caption's width, unless they are broken for it."""
        width = self.content_size.width
        if width == self._width:
            return  # (its new height lays the box out again, at the same width)
        self._width = width
        lines = self._text.splitlines()
        self.update("\n".join(fold_parts(line, width) for line in lines) if width else self._text)
