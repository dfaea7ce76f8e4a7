"""Pictures full screen: one of them, or all side by side, as large as the terminal allows.

Pictures are drawn in the mode the terminal was found to draw before the app
started (:mod:`pelican_tui.terminal_caps`); closing the screen redraws the
panes' pictures (checked in real terminals by ``tests/_real_terminals.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.screen import Screen
from textual.widgets import Label, Static

from pelican_tui.screens.opening_key import opening_key_closes
from pelican_tui.widgets.footer import KeysFooter
from pelican_tui.widgets.picture import PictureView, cell_pixels, fit_cells


class Picture(NamedTuple):
    """One picture to show, as its pane has it."""

    title: str
    png: bytes | None
    caption: str
    """The run's numbers."""
    note: str | None = None
    """Why there is no picture (shown in its place), or a line under the picture."""


_CHROME_ROWS = 3
"""Rows a panel spends on its title, caption and border top (for the layout choice)."""


class PictureScreen(Screen[None]):
    """Show ``pictures`` full screen; ``escape`` or ``f`` closes (dismiss(None)).

    Keys: ``1``/``2`` show only the first/second picture, ``b`` both again.
    With two pictures the screen puts them side by side or one above the
    other, whichever draws them larger in the current terminal.

    Args:
        pictures: One :class:`Picture` per picture (one or two).
        show: The index of the picture to show alone at first; None: all of them.
        mode: The picture mode for :class:`PictureView` ("auto", "tgp", ...).
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    TITLE = "Picture"

    BINDINGS = [
        Binding("escape", "close", "Close", id="picture_close"),
        opening_key_closes("fullscreen"),
        Binding("1", "show(0)", "Left only", id="picture_first"),
        Binding("2", "show(1)", "Right only", id="picture_second"),
        Binding("b", "show_both", "Both", id="picture_both"),
    ]

    def __init__(
        self,
        pictures: Sequence[Picture],
        show: int | None = None,
        mode: str = "auto",
    ) -> None:
        super().__init__()
        if not pictures:
            raise ValueError("PictureScreen needs at least one picture")
        self.pictures = list(pictures)
        self.mode = mode
        self.shown: int | None = show if show is None or 0 <= show < len(pictures) else None
        """Index of the picture shown alone, or None when all are shown."""

    def compose(self) -> ComposeResult:
        with Container(id="pictures"):
            for index, picture in enumerate(self.pictures):
                with Vertical(classes="picture-panel", id=f"picture-panel-{index}"):
                    yield Label(picture.title, classes="picture-title", markup=False)
                    view = PictureView(mode=self.mode, fold_note=True, id=f"picture-{index}")
                    view.set_png(picture.png, picture.note)  # shown once mounted
                    yield view
                    yield Static(picture.caption, classes="picture-caption", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self._apply_visibility()

    def show_pictures(self, pictures: Sequence[Picture]) -> None:
        """Show ``pictures`` in place of those shown, in the same order (the panes'
        pictures as their runs go on: each preview, then the final picture). Only what
        changed is drawn again."""
        resized = False
        for index, (shown, picture) in enumerate(zip(self.pictures, pictures, strict=False)):
            if picture == shown:
                continue
            panel = self.query_one(f"#picture-panel-{index}")
            if picture.title != shown.title:
                panel.query_one(".picture-title", Label).update(picture.title)
            if (picture.png, picture.note) != (shown.png, shown.note):
                view = self.query_one(f"#picture-{index}", PictureView)
                size = view.picture_size
                view.set_png(picture.png, picture.note)
                resized = resized or view.picture_size != size
            if picture.caption != shown.caption:
                panel.query_one(".picture-caption", Static).update(picture.caption)
            self.pictures[index] = picture
        if resized:
            self._choose_layout()

    def on_resize(self) -> None:
        self._choose_layout()

    @property
    def visible_indexes(self) -> list[int]:
        if self.shown is None:
            return list(range(len(self.pictures)))
        return [self.shown]

    def _apply_visibility(self) -> None:
        for index in range(len(self.pictures)):
            panel = self.query_one(f"#picture-panel-{index}")
            panel.display = index in self.visible_indexes
        self._choose_layout()
        self.refresh_bindings()

    def _choose_layout(self) -> None:
        """Side by side or stacked: whichever shows the visible pictures larger."""
        visible = self.visible_indexes
        sizes = [self._picture_px(i) for i in visible]
        if len(visible) < 2:
            self.query_one("#pictures").remove_class("-stacked")
            return
        width, height = self.size.width, max(self.size.height - 1, 1)
        cell = cell_pixels()
        n = len(visible)
        side = sum(
            _area(fit_cells(px, (width // n - 2, height - _CHROME_ROWS), cell)) for px in sizes
        )
        stacked = sum(
            _area(fit_cells(px, (width - 2, height // n - _CHROME_ROWS), cell)) for px in sizes
        )
        self.query_one("#pictures").set_class(stacked > side, "-stacked")

    def _picture_px(self, index: int) -> tuple[int, int]:
        view = self.query_one(f"#picture-{index}", PictureView)
        return view.picture_size or (4, 3)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show":
            index = parameters[0] if parameters else None
            if not isinstance(index, int) or index >= len(self.pictures):
                return False
            return True if self.shown != index else None
        if action == "show_both":
            if len(self.pictures) < 2:
                return False
            return True if self.shown is not None else None
        return True

    def action_show(self, index: int) -> None:
        if 0 <= index < len(self.pictures):
            self.shown = index
            self._apply_visibility()

    def action_show_both(self) -> None:
        self.shown = None
        self._apply_visibility()

    def action_close(self) -> None:
        self.dismiss(None)


def _area(cells: tuple[int, int]) -> int:
    return cells[0] * cells[1]
