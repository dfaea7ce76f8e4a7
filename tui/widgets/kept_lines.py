"""A widget whose drawn lines are handed back unchanged while nothing about it changed.

Textual's compositor asks *every* widget whose clip overlaps a screen update's
region for its lines, and for a widget laid directly on the screen (the status
bar, the footer) or in a pane (the pane's border, its picture box) the clip is
the whole screen or the whole pane: while a model streams, each of the few
screen updates a second asked some ten widgets that had not changed for their
lines. Textual keeps the lines in its styles cache, but each ask still walks
the widget's ancestors for its background, looks up its styles and applies the
line filters to every row (a pane's border: 44 rows): ~50-250 µs a widget, ~1 ms
of each ~2.5 ms update at 160x48.

:class:`KeptLines` answers such an ask from the last one: the same crop, the
same line filters, and nothing since that Textual counts as a change to the
widget. Every such change goes through ``Widget._set_dirty`` (a refresh of any
region, a new size, ``reset_styles``) or ``notify_style_update`` (new styles
for it or an ancestor: a theme, a class), which is where Textual empties its
own styles cache too; both drop the kept lines here, so what is drawn is what
Textual would have drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.containers import Container
from textual.widget import Widget
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.geometry import Region
    from textual.strip import Strip


_HOOKED = callable(getattr(Widget, "_set_dirty", None)) and callable(
    getattr(Widget, "notify_style_update", None)
)
"""Textual still has the two private hooks every change goes through (pyproject caps
Textual below its next major; a version without them draws every time, as Textual does)."""


class KeptLines(Widget):
    """Subclass it instead of ``Widget`` (``class StatusBar(KeptLines)``), or list it after
    another widget class (``class ModelPane(Vertical, KeptLines)``): Textual takes a
    widget's CSS type names from its first bases, so ``Vertical`` still matches."""

    _kept: tuple[Region, tuple[Any, ...], list[Strip]] | None = None
    """The last crop asked for, the line filters then, and the lines given."""

    def render_lines(self, crop: Region) -> list[Strip]:
        if not _HOOKED:
            return super().render_lines(crop)
        filters = tuple(self.get_line_filters())
        kept = self._kept
        if kept is not None and kept[0] == crop and kept[1] == filters:
            return list(kept[2])  # a copy: the compositor's lists are its own
        lines = super().render_lines(crop)
        self._kept = (crop, filters, list(lines))
        return lines

    def _set_dirty(self, *regions: Region) -> None:
        self._kept = None
        super()._set_dirty(*regions)

    def notify_style_update(self) -> None:
        self._kept = None
        super().notify_style_update()


class KeptStatic(Static, KeptLines):
    """A :class:`~textual.widgets.Static` that keeps its lines (see :class:`KeptLines`)."""


class KeptContainer(Container, KeptLines):
    """A :class:`~textual.containers.Container` that keeps its lines (see :class:`KeptLines`)."""
