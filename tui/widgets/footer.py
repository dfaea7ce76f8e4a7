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
what they show changes.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from pelican_tui.widgets.kept_lines import KeptLines


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
        for widget in super().compose():
            # The command palette's key is not bound to the footer: it is left as it is.
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

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
