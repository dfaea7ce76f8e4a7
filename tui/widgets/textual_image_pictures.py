"""The picture widgets textual-image draws: Kitty graphics, Sixel and Unicode blocks.

:class:`~pelican_tui.widgets.picture.PictureView` takes its image widget from
here for every mode but half-cell blocks, which pelican-tui draws itself
(:class:`~pelican_tui.widgets.picture.RunsHalfcellImage`). This module is
imported only when one of these modes is used: importing textual-image (and
Pillow with it) cost ~15 ms before a half-cell terminal's first frame (tmux,
most SSH sessions) for widgets it never draws with.

textual-image asks the terminal what it draws when it is imported; in the app
:func:`pelican_tui.launch.import_picture_widgets` imports this module before
Textual starts, with those questions already answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Self, cast

from PIL import Image as PILImage
from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual_image.renderable import TGPImage as _TGPRenderable
from textual_image.renderable import UnicodeImage as _UnicodeRenderable
from textual_image.renderable.tgp import _send_tgp_message
from textual_image.widget import SixelImage, TGPImage, UnicodeImage
from textual_image.widget.sixel import _ImageSixelImpl, _NoopRenderable

from pelican_tui.widgets.picture import (
    UPPER_HALF,
    DrawnOnceWhenSized,
    PictureWidget,
    palette_first,
)


class _RepaintWhenSized(PictureWidget, DrawnOnceWhenSized):
    """An image widget that takes a new picture without a layout when its size is set.

    textual-image lays the whole screen out again for every new picture (its
    size may follow the picture's). A :class:`PictureView` sets the widget's
    width and height in cells before it gives it a picture, so a new picture
    (every live preview, the final one) changes nothing a layout would compute
    and needs only a repaint: a layout of the screen cost ~15-30 ms here, at
    every preview.
    """

    _repaint_only = False

    def show(self, picture: PILImage.Image | None) -> None:
        width, height = self.styles.width, self.styles.height
        sized = width is not None and height is not None and width.is_cells and height.is_cells
        self._repaint_only = sized
        try:
            cast(Any, self).image = picture  # textual-image's property, on the classes mixed in
        finally:
            self._repaint_only = False

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        layout = layout and not self._repaint_only
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.waits_for_fit():  # no picture until it is sized for its new box
            return [Strip.blank(crop.width, self.rich_style)] * crop.height
        return super().render_lines(crop)


class _RunsOfCells(PictureWidget):
    """Draw neighbouring cells of the same colours as one run.

    textual-image's cell pictures give every cell its own segment, so every
    cell costs a full colour escape (~40 bytes) even in a flat sky: a 78x40
    half-cell pelican was ~100 KB per frame. Joining equal neighbours (what
    an SVG's flat fills are made of) writes each run's colours once; the
    picture is unchanged, cell for cell.
    """

    def render_line(self, y: int) -> Strip:
        return runs_of_cells(super().render_line(y))


def runs_of_cells(line: Strip) -> Strip:
    """``line`` with neighbouring cells of the same colours joined (see :class:`_RunsOfCells`)."""
    return Strip([_flat(segment) for segment in line]).simplify()


def _flat(segment: Segment) -> Segment:
    """A half-cell whose two halves share one colour is a space on that colour (1 byte, not 3)."""
    text, style, control = segment
    if (
        style is not None
        and style.color is not None
        and style.color == style.bgcolor
        and not control
        and text == UPPER_HALF * len(text)
    ):
        return Segment(" " * len(text), Style(bgcolor=style.bgcolor))
    return segment


class RunsUnicodeImage(
    _RepaintWhenSized, _RunsOfCells, UnicodeImage, Renderable=_UnicodeRenderable
):
    """Unicode blocks, equal neighbours joined (see :class:`_RunsOfCells`)."""


_NO_CELLS = ((ControlType.CURSOR_FORWARD, 0),)
"""A segment's control codes that take no cells (as textual-image marks its Sixel data)."""


class _SixelLine(Strip):
    """The line that carries a Sixel image: cut on its right, it keeps the image whole.

    Its segments take no cells (:data:`_NO_CELLS`): the move to the picture's
    top-left corner, the image, the move back. When a notification went, Textual
    drew again the part of the screen it had covered, cutting the lines on its
    right; its cut (``Strip.crop``) dropped a first segment that takes no cells,
    and the one after the image: in xterm (vt340) the picture was sent from its
    last row, drawn down over the rows below until the screen was drawn again.
    """

    __slots__ = ()

    def divide(self, cuts: Iterable[int]) -> Sequence[Strip]:
        parts = list(super().divide(cuts))
        if parts and not isinstance(parts[0], _SixelLine):  # the image goes with the first
            parts[0] = _SixelLine(parts[0]._segments, parts[0].cell_length)
        return parts

    def crop(self, start: int, end: int | None = None) -> Strip:
        end = self.cell_length if end is None else min(self.cell_length, end)
        if start > 0 or end == self.cell_length:
            return super().crop(start, end)
        return _SixelLine(self._segments, max(end, 0))


class _PaletteFirstSixels(_ImageSixelImpl, DrawnOnceWhenSized):
    """textual-image's Sixel drawing, with the palette written first (:func:`palette_first`)."""

    def _image_to_sixels(self, *args: object, **kwargs: object) -> str:
        return palette_first(super()._image_to_sixels(*args, **kwargs))  # type: ignore[arg-type]

    _rows_sent = 0
    """How many rows of the picture the image was last sent for (the last carries it)."""

    def render_lines(self, crop: Region) -> list[Strip]:
        picture = self.parent
        if isinstance(picture, PictureWidget) and picture.waits_for_fit():
            return [Strip.blank(crop.width, self.rich_style)] * crop.height  # (see there)
        sent = self._rows_clear_of_notifications(crop)
        self._rows_sent = sent.height
        lines = super().render_lines(sent)
        if not lines:
            return lines
        lines[-1] = _SixelLine(lines[-1]._segments, lines[-1].cell_length)  # it carries the image
        return lines + [Strip([])] * (crop.height - len(lines))

    def _rows_clear_of_notifications(self, crop: Region) -> Region:
        """``crop`` without its rows from the first a notification covers down.

        The image is sent with the last row it is sent for, over every cell it covers.
        A notification over the picture's last rows (a tall one over the full-screen
        picture at 80x24) hid that row's first cell, and the picture was not drawn
        until the notification went (8-15 s); or, not hiding it, the image was drawn
        over the notification's upper lines. Sent for the rows above the notification
        only, both are whole. A notification over the first row changes nothing.
        """
        region = self.region
        shown = Region(region.x + crop.x, region.y + crop.y, crop.width, crop.height)
        tops = [
            toast.region.y for toast in self.screen.query("Toast") if toast.region.overlaps(shown)
        ]
        first = min(tops, default=shown.bottom)
        if first <= shown.y or first >= shown.bottom:
            return crop
        return Region(crop.x, crop.y, crop.width, first - shown.y)

    def _get_sixel_segments(self, sixel_data: str) -> list[Segment]:
        """textual-image's segments, its cursor moves marked as taking no cells, and
        the move after the image to the last row it is sent for.

        Unmarked, each move's printable characters (``[18;92H``) counted as cells,
        so a notification starting within a few cells of the picture's bottom-left
        corner cut a move in two: the image was left out, and the notification's
        words were written over the picture's first line instead.

        textual-image moves the cursor to the row under the picture, not to its last
        row (the line the image is sent with), so the rest of that line (the margin
        between two pictures, the border) was written on the row below and never on
        its own: whatever an earlier frame left there stayed.
        """
        segments = [
            Segment(text, style, control or _NO_CELLS)
            for text, style, control in super()._get_sixel_segments(sixel_data)
        ]
        region = self.screen.find_widget(self).visible_region
        last_row = region.y + self._rows_sent - 1 if self._rows_sent else region.bottom - 1
        back = Control.move_to(region.right, last_row).segment.text
        segments[-1] = Segment(back, segments[-1].style, _NO_CELLS)
        return segments


class _FreedTGPRenderable(_TGPRenderable):
    """textual-image's Kitty-graphics picture, deleted from the terminal with its data.

    textual-image deletes a picture it replaces with ``a=d,I=<id>``: ``I`` is an
    image *number*, not the id it sent the picture with, and without ``d=I`` the
    terminal deletes what is visible and keeps every picture's pixels. Following
    a run (each preview a new picture), they piled up in the terminal's memory.
    ``d=I,i=<id>`` deletes that picture and frees it.
    """

    def cleanup(self) -> None:
        if self.terminal_image_id:
            _send_tgp_message(a="d", d="I", i=self.terminal_image_id, q=2)
            self.terminal_image_id = None


class RepaintTGPImage(_RepaintWhenSized, TGPImage, Renderable=_FreedTGPRenderable):
    """textual-image's Kitty graphics widget, repainted without a layout when it can be."""

    def on_unmount(self) -> None:
        """Its picture goes from the terminal with it (the full screen closed, a view gone)."""
        if self._renderable is not None:
            self._renderable.cleanup()
            self._renderable = None


class PaletteFirstSixelImage(_RepaintWhenSized, SixelImage, Renderable=_NoopRenderable):
    """textual-image's Sixel widget, drawing through :class:`_PaletteFirstSixels`."""

    def compose(self) -> ComposeResult:
        yield _PaletteFirstSixels(self.image, self._sixel_options)

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        """A new picture of the size laid out goes to the widget drawing it, not to a new one.

        textual-image composes a new drawing widget for every picture: mounted, it
        was drawn, then drawn again with the layout its mounting asks for, and each
        time the whole Sixel image was sent. Following a run full screen (``f``),
        every preview went to the terminal twice (~10-20 KB each, at 2 a second).
        """
        drawings = [child for child in self.children if isinstance(child, _PaletteFirstSixels)]
        if recompose and self._repaint_only and drawings:
            drawings[0].image = self.image
            drawings[0].refresh()
            recompose = False
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


WIDGETS: dict[str, type[PictureWidget]] = {
    "tgp": RepaintTGPImage,
    "sixel": PaletteFirstSixelImage,
    "unicode": RunsUnicodeImage,
}
"""The widget each of these drawing modes draws with."""
