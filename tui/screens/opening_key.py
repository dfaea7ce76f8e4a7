"""A screen closes with the key that opened it, as with ``escape``: ``g`` opens the
gallery and ``g`` again closes it.

The screen's binding has the id of the app's binding that opens it, so a
``[ui.keymap]`` entry that moves the one moves the other: Textual applies a keymap by
binding id, on every screen. It is not shown in the footer (``escape`` is) and it is
not a priority binding unless asked, so an input with the focus still takes the key.
"""

from __future__ import annotations

from textual.binding import Binding


def opening_key_closes(opened_by: str, keys: str, *, priority: bool = False) -> Binding:
    """The binding that closes a screen (its ``close`` action) with the keys of the app's
    binding ``opened_by`` (its id: "gallery"); ``keys`` are that binding's own ("g")."""
    return Binding(keys, "close", "Close", show=False, priority=priority, id=opened_by)
