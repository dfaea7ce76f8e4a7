"""The footer of key bindings, its keys built once, with the screen, as they will be drawn.

Textual's :class:`~textual.widgets.Footer` composes no keys until its screen
signals its bindings, and then recomposes a refresh later: the first frame
with the keys was the second or third frame the app drew, each a layout and a
paint of the whole screen before it. It also builds each key compact and then
binds it to the footer's own ``compact`` (False here), so every key was styled
once more, with its two component styles (10 keys, 57 of 222 stylesheet
applications up to that frame). And every signal rebuilt the keys, changed
or not.

:class:`KeysFooter` composes its keys with the screen, each given the
footer's ``compact`` before it is mounted, and builds them again only when
what they show changes. Keys that do not fit are hidden, last first, but help
and quit (:data:`KEPT_ACTIONS`): Textual's footer cut the line at the edge, and
at 60 columns "? Help" and "q Quit" were the keys lost.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from pelican_tui.widgets.kept_lines import KeptLines

KEPT_ACTIONS = frozenset({"help", "quit"})
"""The keys shown however narrow the footer: help lists every key the footer hides."""


def key_width(key: FooterKey, *, compact: bool) -> int:
    """Cells ``key`` takes in the footer, as Textual's stylesheet lays it out: the key
    padded by a space either side and the description by one after it, or (compact) a
    space between them and one after the key."""
    width = cell_len(key.key_display)
    if key.description:
        width += cell_len(key.description) + (2 if compact else 3)
    elif compact:
        width += 1
    if key.has_class("-command-palette"):
        width += 1 if compact else 2  # its border, and its padding when not compact
    return width


def fit_keys(keys: list[FooterKey], width: int, *, compact: bool) -> list[bool]:
    """Which of ``keys`` are shown in ``width`` cells: those of :data:`KEPT_ACTIONS` and
    the command palette's always, the others in order while they fit beside them."""

    def kept(key: FooterKey) -> bool:
        action = key.action.rpartition(".")[2]  # "app.help" on a screen that binds "?"
        return key.has_class("-command-palette") or action in KEPT_ACTIONS

    # The last key's trailing space may go past the edge: its words are whole.
    room = width + 1 - sum(key_width(key, compact=compact) for key in keys if kept(key))
    shown, fits = [], True
    for key in keys:
        if not kept(key):
            room -= key_width(key, compact=compact)
            fits = fits and room >= 0  # none after the first that does not: keys keep order
        shown.append(kept(key) or fits)
    return shown


class KeysFooter(Footer, KeptLines):
    """Textual's footer, its keys composed at once and rebuilt only when they change."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[object, ...] | None = None
        """What the keys composed last show (:meth:`_keys_shown`); None: not composed yet."""

    def _keys_shown(self) -> tuple[object, ...]:
        """Everything the composed keys depend on, but ``compact`` (bound to each key)."""
        app = self.app
        keys = tuple(
            (binding.key, app.get_key_display(binding), binding.description, binding.action,
             binding.group, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )  # fmt: skip
        return (keys, self.show_command_palette, app.ENABLE_COMMAND_PALETTE)

    def compose(self) -> ComposeResult:
        self._forget_removed_keys()
        if self.is_attached:  # the screen's bindings are known: compose them now
            self.set_reactive(Footer._bindings_ready, True)
            self._shown = self._keys_shown()
        widgets = list(super().compose())
        for widget in widgets:
            # The command palette's key is not bound to the footer: it is left as it is.
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
        self._fit(widgets)
        yield from widgets

    def _fit(self, widgets: list[Widget] | None = None, width: int | None = None) -> None:
        """Hide the keys that do not fit the footer's width (see :func:`fit_keys`); the
        screen's width while the footer is not laid out yet (it spans the screen)."""
        widgets = list(self.children) if widgets is None else widgets
        keys = [widget for widget in widgets if isinstance(widget, FooterKey)]
        if len(keys) != len(widgets):
            return  # groups of keys: laid out as Textual does
        width = width or self.size.width or self.app.size.width
        for key, shown in zip(keys, fit_keys(keys, width, compact=self.compact), strict=True):
            key.display = shown

    def on_resize(self, event: events.Resize) -> None:
        self._fit(width=event.size.width)

    def _watch_compact(self, compact: bool) -> None:
        self._fit()  # compact keys are narrower: more of them fit

    def _forget_removed_keys(self) -> None:
        """Drop the keys of earlier builds from Textual's watchers of ``compact``.

        Each key is bound to the footer's ``compact`` (``data_bind``), and Textual
        drops a removed key's entry only when ``compact`` changes, which it never
        does here: each build of the keys (every visit to another screen takes
        two) left its keys alive, and each new key is checked against the whole
        list. Composing runs after the old keys were removed (``recompose``).
        """
        watchers = getattr(self, "__watchers", {}).get("compact")
        if watchers:
            watchers[:] = [
                (node, callback)
                for node, callback in watchers
                if not (isinstance(node, FooterKey) and not node.is_attached)
            ]

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self._shown is not None and screen is self.screen and self._keys_shown() == self._shown:
            return  # the same keys as on screen: nothing to build again
        super().bindings_changed(screen)

    def _watch_show_command_palette(self, show: bool) -> None:
        if self._shown is not None and self.is_attached and self._keys_shown() != self._shown:
            self.call_after_refresh(self.recompose)
