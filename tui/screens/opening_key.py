"""A screen closes with the key that opened it, as with ``escape``: ``g`` opens the
gallery and ``g`` again closes it.

The keys that open a screen are written once, in :data:`OPENING_KEYS`: the app's
binding that opens the screen (:func:`opening_binding`) and the screen's binding that
closes it (:func:`opening_key_closes`) are both made from it, with the same id, so a
``[ui.keymap]`` entry that moves the one moves the other: Textual applies a keymap by
binding id, on every screen. The closing binding is not shown in the footer
(``escape`` is) and it is not a priority binding unless asked, so an input with the
focus still takes the key.
"""

from __future__ import annotations

from typing import Final

from textual.binding import Binding

from pelican_tui.backends.frozen import frozen


@frozen
class OpeningKey:
    """The app's binding that opens a screen, less its id (the key of its row)."""

    keys: str
    """The keys, as Textual names them ("question_mark,f1")."""
    action: str
    """The app's action that opens the screen."""
    description: str
    """What the help and the footer call it."""


OPENING_KEYS: Final[dict[str, OpeningKey]] = {
    "fullscreen": OpeningKey("f", "fullscreen", "Picture"),
    "view_answer": OpeningKey("a", "view_answer", "Answer text"),
    "gallery": OpeningKey("g", "gallery", "Gallery"),
    "leaderboard": OpeningKey("L", "leaderboard", "Leaderboard"),
    "sessions": OpeningKey("o", "sessions", "Sessions"),
    "server_log": OpeningKey("l", "server_log", "Log"),
    "server_settings": OpeningKey("S", "server_settings", "Server settings"),
    "help": OpeningKey("question_mark,f1", "help", "Help"),
}
"""The keys that open a screen, by the id of the app's binding that opens it."""


def opening_binding(opens: str, *, show: bool = False) -> Binding:
    """The app's binding with the id ``opens`` ("gallery"), from its row of
    :data:`OPENING_KEYS`."""
    key = OPENING_KEYS[opens]
    return Binding(key.keys, key.action, key.description, show=show, id=opens)


def opening_key_closes(opened_by: str, *, action: str = "close", priority: bool = False) -> Binding:
    """The binding that closes a screen (its ``action``) with the keys of the app's
    binding ``opened_by`` (its id: "gallery")."""
    keys = OPENING_KEYS[opened_by].keys
    return Binding(keys, action, "Close", show=False, priority=priority, id=opened_by)
