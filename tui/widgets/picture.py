"""A picture in the terminal: one PNG drawn as large as its box allows.

:class:`PictureView` keeps the picture's aspect ratio, centres it in whatever
space the layout gives it (give the view a definite height, e.g. ``1fr``: two
stacked ``height: auto`` images collapse), and shows a centred placeholder
when there is no picture; its last row is kept for a one-line note (folded onto
more rows where the view is asked to: :func:`fold_note`). It draws half-cell blocks itself
(:class:`RunsHalfcellImage`) and every other mode with textual-image
(:mod:`.textual_image_pictures`, imported only when such a mode is used).
Pillow is imported when the first picture is shown.

Which protocol "auto" means is decided by :mod:`pelican_tui.terminal_caps`
from what the terminal reported before Textual started (``launch`` asks it
once); :func:`image_choice` says which mode a setting draws with, and why.
The mode names are :data:`~pelican_tui.terminal_caps.IMAGE_MODES`.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

from rich.color import Color
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from pelican_tui.backends.svg.render import png_size
from pelican_tui.backends.text import fold_parts, fold_words
from pelican_tui.terminal_caps import SETTING_VALUES, ImageChoice, detect_terminal, detected_choice
from pelican_tui.widgets.kept_lines import KeptContainer, KeptLines, KeptStatic

if TYPE_CHECKING:
    from PIL import Image as PILImage

PICTURE_MODES: tuple[str, ...] = SETTING_VALUES
"""The modes a :class:`PictureView` accepts: "auto" and every drawing mode."""

UPPER_HALF = "\u2580"


class PictureWidget(Widget):
    """What a :class:`PictureView` draws its picture with, in one drawing mode."""

    COVERS = False
    """Whether it draws the widget beneath it while it has no picture (its
    ``beneath``), so that a view shows its words without hiding it."""

    fitted_in: Size | None = None
    """The size of the box (its parent) its picture was last fitted to: its
    :class:`PictureView` sets it (None: not fitted yet)."""

    def show(self, picture: PILImage.Image | None) -> None:
        """Draw ``picture`` (None: nothing), given at the size it is drawn at (:func:`as_drawn`)."""
        raise NotImplementedError

    def waits_for_fit(self) -> bool:
        """Whether its box has a size its picture is not fitted to yet: the terminal was
        resized, and the view has not sized and drawn the picture for the new box.

        The textual-image widgets draw no picture meanwhile. A resize painted the
        picture at its old size where the new layout put it, once more, then at its
        new size: a Sixel picture was sent to the terminal four times (~100 KB at
        160x48), Kitty graphics wrote its cells of placeholders four times.
        """
        box = self.parent
        return (
            self.fitted_in is not None
            and isinstance(box, Widget)
            and box.content_size != self.fitted_in
        )


class DrawnOnceWhenSized(Widget):
    """A picture widget drawn once when the layout gives it a new size, not twice.

    A new size repaints it (Textual marks it dirty), and Textual then sets its
    virtual size (what it scrolls over, which a picture does not) in a way that
    asks for a layout of the screen after it; that layout painted it again. For
    Sixel it meant the whole image sent to the terminal twice: opening the
    pictures full screen (``f``), the first picture went twice (35 KB at 80x24,
    100 KB at 160x48, each time). List it after a widget's first base: Textual
    takes a widget's CSS type names from its first bases.
    """

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)


class RunsHalfcellImage(PictureWidget, KeptLines, DrawnOnceWhenSized):
    """Half-cell blocks, drawn row by row; a new picture repaints only the rows it changed.

    It draws through Textual's line API (:meth:`render_line`), each cell's upper
    half the colour of one pixel and its lower half the next row's, neighbours
    of the same colours joined into one run (a flat fill, what an SVG is mostly
    made of, writes its colour once): two pixels a cell, from the picture it is
    given when that has the widget's shape (as :func:`as_drawn` makes it), else
    from it scaled to that shape (as textual-image's half-cell drawing does;
    the cells are the same). Each row is made once and kept until its pixels
    change. A new picture of the same shape (the next live preview) is compared
    with the one shown, and only the changed part of each changed row is
    repainted, so the terminal is sent what a new SVG element touched rather
    than the whole picture (tens of KB per preview at 160x48).

    It needs neither textual-image nor Pillow until it is given a picture.

    With no picture it shows what lies beneath it (:attr:`beneath`: the
    :class:`PictureView`'s placeholder, which it covers): a view swaps its
    picture and its words by what this widget draws, not by showing and hiding
    widgets, each of which is a layout of the whole screen (10-25 ms at 160x48).
    """

    COVERS = True
    """It can draw the widget beneath it instead of a picture (see :attr:`beneath`)."""

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._image: PILImage.Image | None = None
        self._pixels: tuple[tuple[int, int], bytes] | None = None
        """The size and RGB bytes of :attr:`image` (None: no picture, or not RGB)."""
        self._scaled: tuple[tuple[int, int], bytes] | None = None
        """:attr:`image` scaled to the widget's shape when it had another, as RGB bytes."""
        self._strips: dict[int, Strip] = {}
        """Rows made for :attr:`_strips_for` from the bytes :attr:`_strips_from`, by row."""
        self._strips_for: tuple[Style, Size] | None = None
        self._strips_from: bytes | None = None
        self._cell_styles: dict[bytes, Style] = {}
        """The style of a cell by its two pixels' RGB bytes, for :attr:`_strips_for`'s base
        style (a picture has few colours: a preview's rows reuse them)."""
        self.beneath: Widget | None = None
        """The widget this one covers, drawn in its place while there is no picture."""

    @property
    def image(self) -> PILImage.Image | None:
        """The picture drawn (None: none)."""
        return self._image

    @image.setter
    def image(self, picture: PILImage.Image | None) -> None:
        self.show(picture)

    def show(self, picture: PILImage.Image | None) -> None:
        before = self._pixels if self._image is not None else None
        after = (picture.size, picture.tobytes()) if picture and picture.mode == "RGB" else None
        self._image, self._pixels, self._scaled = picture, after, None
        width, height = self.size
        shape = (width, height * 2)
        if after is None or before is None or not before[0] == after[0] == shape:
            self.refresh(layout=not self._sized_in_cells())  # another shape, or the first
            return
        if self._strips_from is before[1]:
            self._strips_from = after[1]  # the rows not changed stay as they were made
        for y, first, last in changed_cells(before[1], after[1], width, height):
            self._strips.pop(y, None)
            self.refresh(Region(first, y, last - first + 1, 1))

    def _sized_in_cells(self) -> bool:
        width, height = self.styles.width, self.styles.height
        return width is not None and height is not None and width.is_cells and height.is_cells

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        if repaint and not regions:
            self._strips.clear()
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _pixels_drawn(self, shape: tuple[int, int]) -> bytes | None:
        """The RGB bytes of the picture at ``shape`` (two pixels a cell); None: no picture."""
        if self._image is None or 0 in shape:
            return None
        if self._pixels is not None and self._pixels[0] == shape:
            return self._pixels[1]
        if self._scaled is None or self._scaled[0] != shape:
            scaled = self._image.convert("RGB").resize(shape)
            self._scaled = (shape, scaled.tobytes())
        return self._scaled[1]

    def render_line(self, y: int) -> Strip:
        size = self.size
        width, height = size
        base = self.visual_style.rich_style
        pixels = self._pixels_drawn((width, height * 2))
        if pixels is None or not 0 <= y < height:
            if self._image is None and self.beneath is not None:
                return self._line_beneath(self.beneath, y, width)
            return Strip.blank(width, base)
        if self._strips_for != (base, size) or self._strips_from is not pixels:
            self._strips.clear()
            if self._strips_for is None or self._strips_for[0] != base:
                self._cell_styles = {}
            self._strips_for, self._strips_from = (base, size), pixels
        strip = self._strips.get(y)
        if strip is None:
            if len(self._cell_styles) > _MAX_CELL_STYLES:
                self._cell_styles = {}
            strip = self._strips[y] = _halfcell_row(pixels, width, y, base, self._cell_styles)
        return strip

    def _line_beneath(self, beneath: Widget, y: int, width: int) -> Strip:
        """Row ``y`` of this widget's region as ``beneath`` draws it (a blank row where it
        is not laid out under this widget).

        The widget keeps the last picture's size while it shows the words, and may
        stand out of a box that shrank since (its parent cuts it): the rows it shares
        with ``beneath`` are still drawn. Blank unless the whole region was under it,
        they tore the words ("canc                  ture")."""
        mine, theirs = self.region, beneath.region
        row, x = y + mine.y - theirs.y, mine.x - theirs.x
        if not (0 <= row < theirs.height and 0 <= x < theirs.width):
            return Strip.blank(width, self.visual_style.rich_style)
        return beneath.render_line(row).crop_extend(x, x + width, None)

    def refresh_beneath(self) -> None:
        """The widget beneath changed: repaint this widget, while it shows that one."""
        if self._image is None and self.beneath is not None:
            self.refresh()


def changed_cells(
    before: bytes, after: bytes, columns: int, rows: int
) -> list[tuple[int, int, int]]:
    """(row, first column, last column) of each half-cell row whose pixels differ.

    ``before`` and ``after`` are RGB pictures of ``columns`` x ``rows * 2``
    pixels; a row of cells is two rows of pixels. The first and last differing
    byte of a row are found as the lowest and highest set bits of the two rows
    XORed as integers (no loop over the cells).
    """
    stride = columns * 3
    changed = []
    for y in range(rows):
        first, last = columns, -1
        for start in (2 * y * stride, (2 * y + 1) * stride):
            old, new = before[start : start + stride], after[start : start + stride]
            if old == new:
                continue
            diff = int.from_bytes(old, "big") ^ int.from_bytes(new, "big")
            first = min(first, (stride - 1 - (diff.bit_length() - 1) // 8) // 3)
            last = max(last, (stride - 1 - ((diff & -diff).bit_length() - 1) // 8) // 3)
        if last >= 0:
            changed.append((y, first, last))
    return changed


_MAX_CELL_STYLES = 4096
"""Cell styles a half-cell widget keeps at most (then it starts again)."""


def _halfcell_row(
    pixels: bytes, columns: int, y: int, base: Style, styles: dict[bytes, Style] | None = None
) -> Strip:
    """Row ``y`` of cells of an RGB picture ``columns`` wide, as textual-image draws it,
    neighbours of the same colours joined (a cell whose halves share a colour is a
    space on it).

    ``styles``: the style of each cell met so far, by its two pixels' bytes (made
    for ``base``), filled in here; a picture has few colours, and making a rich
    Style for each run was most of the cost of a row."""
    stride = columns * 3
    start = 2 * y * stride
    upper = pixels[start : start + stride]
    lower = pixels[start + stride : start + 2 * stride]
    known = {} if styles is None else styles
    cells = [upper[i : i + 3] + lower[i : i + 3] for i in range(0, stride, 3)]
    ends = [x for x in range(1, columns) if cells[x] != cells[x - 1]]
    ends.append(columns)
    segments: list[Segment] = []
    append = segments.append
    begin = 0
    for end in ends:
        cell = cells[begin]
        style = known.get(cell)
        if style is None:
            style = known[cell] = _cell_style(cell, base)
        append(Segment((" " if cell[:3] == cell[3:] else UPPER_HALF) * (end - begin), style))
        begin = end
    return Strip(segments, columns)


def _cell_style(cell: bytes, base: Style) -> Style:
    """The style of a cell whose upper and lower pixels are ``cell``'s 6 RGB bytes."""
    top, bottom = cell[:3], cell[3:]
    if top == bottom:
        return Style(bgcolor=_colour(bottom))
    return base + Style(color=_colour(top), bgcolor=_colour(bottom))


def _colour(rgb: bytes) -> Color:
    return Color.from_triplet(ColorTriplet(rgb[0], rgb[1], rgb[2]))


class _PictureBox(KeptContainer, DrawnOnceWhenSized):
    """The box a :class:`PictureView`'s picture is centred in, laid out once when resized.

    It does not scroll (``overflow: hidden``), and the layout Textual asked for
    after setting its virtual size painted the picture in it again: in xterm, a
    resize sent the Sixel picture once at its new size and once more, ~0.04 s later.
    """


class _Placeholder(Static):
    """The words shown instead of a picture, centred in the whole box.

    New words repaint the whole box (~5 KB at 160x48, a few times a run). It had
    repainted only the rows it found changed, by comparing its lines before and
    after; lines it had not been asked to draw again were read from its cache, and
    words of an earlier message were left on the terminal, torn ("wa … iting for an
    SVG")."""

    _blank = False

    def show_text(self, text: str) -> None:
        """Show ``text`` (all of the box is drawn again)."""
        self._blank = not text
        self.update(text, layout=False)

    def render_lines(self, crop: Region) -> list[Strip]:
        box = self.parent
        if self._blank and isinstance(box, Widget) and box.region == self.region:
            # No words (a picture lies over it): the box shows through, as it did when
            # the placeholder was hidden (its blanks would be italic, in its colour).
            return box.render_lines(crop)
        return super().render_lines(crop)


_DEFAULT_CELL_PIXELS = (10, 20)

PREVIEW_SHARE = 0.02
"""The share of the time live previews of one picture may take (render and draw)."""


@dataclass(eq=False)
class PreviewPace:
    """When the next live preview of a picture being written may start.

    At most ``fps`` a second, and never more often than keeps its cost within
    ``share`` of the time: a preview that took ``cost`` seconds (the sandboxed
    render and the drawing, measured as they happen) is followed by the next one
    ``cost / share`` seconds after it started. While a model streams, every CPU
    slice taken here is one the model waits for; a picture that grows complex,
    a bigger picture (Sixel, Kitty) or a busy machine makes previews rarer, by
    what they were seen to cost, not by a guess.
    """

    fps: float
    share: float = PREVIEW_SHARE
    next_at: float = 0.0
    """The monotonic time before which no preview starts."""
    last_cost_s: float | None = None

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def started(self, now: float) -> None:
        """A preview starts now: none other until the fps limit allows (or it is drawn)."""
        self.next_at = now + 1.0 / max(self.fps, 0.1)

    def drawn(self, started: float, cost_s: float) -> None:
        """The preview started at ``started`` took ``cost_s`` seconds of work."""
        self.last_cost_s = cost_s
        self.next_at = started + max(1.0 / max(self.fps, 0.1), cost_s / self.share)


MATTE = (255, 255, 255)
"""Transparent pixels are shown on white (SVG pictures assume a white page)."""


_COLOUR_DEFINITION = re.compile(r"#(\d+);(\d+;\d+;\d+;\d+)")
_SIXEL_START = re.compile(r'\x1bP[0-9;]*q(?:"[0-9;]*)?')


def palette_first(sixels: str) -> str:
    """The same Sixel image with every colour defined at the start, and selected where used.

    textual-image defines each colour register where it is first used
    (``#5;2;80;20;20`` followed by pixels) and relies on the definition also
    selecting it. xterm (as a VT340) defines without selecting, so every
    colour's first pixels were drawn in the previously selected one: the top
    bands of a picture (all background) came out as a red stripe, and edges had
    stray pixels. Defining all registers first and selecting each with ``#5``
    where it is used draws the same on terminals of both readings.
    """
    start = _SIXEL_START.match(sixels)
    if start is None:
        return sixels
    definitions: dict[str, str] = {}
    for register, value in _COLOUR_DEFINITION.findall(sixels, start.end()):
        if definitions.setdefault(register, value) != value:
            return sixels  # a register redefined mid-image: leave it as it is
    body = _COLOUR_DEFINITION.sub(lambda match: f"#{match.group(1)}", sixels[start.end() :])
    palette = "".join(f"#{register};{value}" for register, value in definitions.items())
    return sixels[: start.end()] + palette + body


def widget_class(mode: str) -> type[PictureWidget]:
    """The widget a drawing mode (:data:`~pelican_tui.terminal_caps.IMAGE_MODES`) draws with.

    Half-cell blocks are pelican-tui's own; the others are textual-image's,
    imported the first time one is asked for (:mod:`.textual_image_pictures`).
    """
    if mode == "halfcell":
        return RunsHalfcellImage
    from pelican_tui.widgets.textual_image_pictures import WIDGETS

    return WIDGETS[mode]


def image_choice(mode: str = "auto") -> ImageChoice:
    """The mode a :class:`PictureView` with ``mode`` draws with, and why ("auto": detected)."""
    try:
        return detected_choice(mode)
    except ValueError:
        raise ValueError(
            f"picture mode must be one of {', '.join(PICTURE_MODES)}, not {mode!r}"
        ) from None


def resolve_mode(mode: str) -> str:
    """The protocol a :class:`PictureView` with ``mode`` draws with ("auto" resolved)."""
    return image_choice(mode).mode


def cell_pixels() -> tuple[int, int]:
    """Width and height of one terminal cell in pixels, as the terminal or the kernel
    said before Textual started; textual-image is handed the same (see ``launch``)."""
    size = detect_terminal(ask=False).cell_px
    if size is None or size[0] <= 0 or size[1] <= 0:
        return _DEFAULT_CELL_PIXELS
    return size


def fit_cells(
    image_px: tuple[int, int], box_cells: tuple[int, int], cell_px: tuple[int, int]
) -> tuple[int, int]:
    """The largest (columns, rows) showing an ``image_px`` picture undistorted in ``box_cells``."""
    image_w, image_h = image_px
    box_w, box_h = box_cells
    cell_w, cell_h = cell_px
    if min(image_w, image_h, box_w, box_h, cell_w, cell_h) <= 0:
        return 0, 0
    scale = min(box_w * cell_w / image_w, box_h * cell_h / image_h)
    columns = min(box_w, max(1, math.floor(image_w * scale / cell_w + 1e-6)))
    rows = min(box_h, max(1, math.floor(image_h * scale / cell_h + 1e-6)))
    return columns, rows


def shaped_like(picture: PILImage.Image, width: int, height: int) -> PILImage.Image:
    """``picture`` centred on a :data:`MATTE` canvas with the shape of ``width`` x ``height``.

    Never scales: it only adds margin, on two sides. The same picture when the
    shapes already agree (within a pixel).
    """
    w, h = picture.size
    if min(w, h, width, height) <= 0:
        return picture
    canvas = (
        (w, round(w * height / width))
        if w * height > h * width
        else (
            round(h * width / height),
            h,
        )
    )
    if abs(canvas[0] - w) <= 1 and abs(canvas[1] - h) <= 1:
        return picture
    from PIL import Image as PILImage

    page = PILImage.new("RGB", canvas, MATTE)
    page.paste(picture, ((canvas[0] - w) // 2, (canvas[1] - h) // 2))
    return page


def decode_png(png: bytes) -> PILImage.Image:
    """The picture in ``png`` as an RGB image on a white matte. Raises ValueError."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(png)) as opened:
            opened.load()
            if opened.mode == "RGB" and "transparency" not in opened.info:
                return opened  # opaque (the renderer draws on white): nothing to lay on the matte
            image = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"not a readable picture ({error})") from error
    page = PILImage.new("RGB", image.size, MATTE)
    page.paste(image, mask=image.getchannel("A"))
    return page


def as_drawn(
    picture: PILImage.Image, mode: str, cells: tuple[int, int], cell_px: tuple[int, int]
) -> PILImage.Image:
    """``picture`` shaped like ``cells`` and scaled as ``mode`` draws it in them.

    Half-cell blocks draw two pixels a cell, Unicode blocks one in grey, both
    scaled by textual-image to exactly that: scaling first (the same way)
    leaves its own scaling a copy, so the cells are the same. Sixel and Kitty
    draw the cells' pixels: a larger picture is scaled down to them.
    """
    columns, rows = cells
    cell_w, cell_h = cell_px
    shaped = shaped_like(picture, columns * cell_w, rows * cell_h)
    if mode == "halfcell":
        return shaped.resize((columns, rows * 2))
    if mode == "unicode":
        return shaped.convert("L").resize((columns, rows))
    target = (columns * cell_w, rows * cell_h)
    if shaped.width > target[0] or shaped.height > target[1]:
        return shaped.resize(target)
    return shaped


NOTE_MARGIN = 1
"""Cells left blank each side of a note folded to a picture's width."""


def fold_note(note: str, width: int) -> str:
    """A picture's note on lines of at most ``width`` cells: broken between its facts
    (at "; ", which the break replaces), and a fact still too long between its words.
    On one row, "an empty picture: the SVG draws nothing; cut at the 300-token limit:
    the SVG …" lost its end."""
    facts = fold_parts(note, width, "; ").splitlines()
    return "\n".join(fold_words(fact, width) for fact in facts)


class PictureView(KeptLines):
    """One picture, centred and as large as the widget allows, or a placeholder.

    It keeps the PNG and the size its header gives, not the decoded picture: a
    picture is decoded when it is drawn, and the image widget is given it at the
    size it is drawn at (half-cell: two pixels a cell; Unicode blocks: one, in
    grey; Sixel and Kitty: the cells' pixels, when smaller), which is what
    textual-image would scale it to anyway (the same cells). A 1024x1024 picture
    kept decoded, with textual-image's copy, was 6 MiB a view for a session.

    A picture, its note and the placeholder come and go without a layout of the
    screen once the picture's size is laid out (each layout is 10-25 ms of CPU at
    160x48): the note's row is always there (empty without a note), and the
    half-cell widget lies over the placeholder and draws its words while it has
    no picture, so neither is shown or hidden (:attr:`PictureWidget.COVERS`; the
    textual-image widgets are still shown and hidden).

    Args:
        png: The picture as PNG bytes, or None for the placeholder.
        mode: "auto" (what the terminal draws, see :func:`image_choice`) or one to force:
            "tgp", "sixel", "halfcell", "unicode".
        placeholder: Text shown centred while there is no picture.
        fold_note: Fold a note too long for one row onto as many as it needs
            (:func:`fold_note`), the picture drawn smaller for them. Off in the panes:
            there the picture would be drawn again, smaller, as its run ends (the
            whole picture sent to the terminal anew, as much as a run's text), and a
            cut note ends in "…"; on in the picture screen (``f``), which shows it whole.
    """

    DEFAULT_CSS = (Path(__file__).with_suffix(".tcss")).read_text(encoding="utf-8")

    def __init__(
        self,
        png: bytes | None = None,
        mode: str = "auto",
        placeholder: str = "no picture yet",
        *,
        fold_note: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._image_class = widget_class(resolve_mode(mode))
        self.mode = mode
        self.placeholder = placeholder
        self.fold_note = fold_note
        self._png: bytes | None = None
        self._png_size: tuple[int, int] | None = None
        """The picture's size in pixels, from the PNG's header (None: no picture)."""
        self._message: str | None = None
        self._fitted = (0, 0)
        self._sized = (0, 0)
        """The image widget's width and height in cells, as last set."""
        self._drawn: tuple[bytes, tuple[int, int]] | None = None
        """The PNG and cell size the image widget was last given (no redraw when equal)."""
        self._ready = False
        self._pending: tuple[bytes | None, str | None] = (png, None)
        self.pace = PreviewPace(fps=2.0)
        """When the next live preview may be drawn here (the app sets one per run)."""
        self._image = self._image_class(id="picture-image")
        self._placeholder = _Placeholder(self.placeholder, id="picture-placeholder")
        self._words = self.placeholder
        """What the placeholder says now ("" while a picture covers it)."""
        if isinstance(self._image, RunsHalfcellImage):
            self._image.beneath = self._placeholder
        self._note = KeptStatic("", id="picture-message")
        self._note_text = ""
        self._note_rows = 1
        """The rows the note takes (the style's one, until it is folded onto more)."""

    @property
    def png(self) -> bytes | None:
        """The PNG shown now (None: the placeholder is shown)."""
        return self._png

    @property
    def note(self) -> str | None:
        """The message shown with the picture, or instead of it (e.g. why there is none)."""
        return self._message

    @property
    def has_picture(self) -> bool:
        return self._png_size is not None

    @property
    def picture_size(self) -> tuple[int, int] | None:
        """The picture's size in pixels, or None."""
        return self._png_size

    @property
    def drawn(self) -> bool:
        """Whether its picture is drawn in the cells it fits (False while the view waits
        for its size, and with no picture)."""
        return self._png is not None and self._drawn is not None and self._drawn[0] is self._png

    @property
    def drawn_with(self) -> str:
        """The protocol this view draws with: "tgp", "sixel", "halfcell" or "unicode"."""
        return resolve_mode(self.mode)

    def compose(self) -> ComposeResult:
        with _PictureBox(id="picture-box"):
            yield self._placeholder
            yield self._image
        yield self._note

    def on_mount(self) -> None:
        self._ready = True
        # Fitted after every layout of the screen too, not only on a Resize: in the
        # gallery's grid a view was seen laid out without its Resize, and stayed blank.
        self.screen.screen_layout_refresh_signal.subscribe(self, self._laid_out)
        png, message = self._pending
        self.set_png(png, message)

    def set_png(self, png: bytes | None, message: str | None = None) -> None:
        """Show ``png``, or the placeholder when it is None.

        ``message``: with no picture, it replaces the placeholder text (e.g. "the
        answer had no SVG"); with a picture, it is a one-line note under it (e.g.
        "partial: still drawing"). Bytes that are not a picture show the reason
        as the placeholder instead of raising.
        """
        if not self._ready:
            self._pending = (png, message)
            return
        if png is not None and png == self._png and message == self._message:
            return  # the same picture again (a preview that drew nothing new): no redraw
        size = None if png is None else png_size(png)
        if png is not None and size is None:
            png, message = None, "cannot show this picture: it is not a PNG image"
        previous = self._png_size
        self._png = png
        self._png_size = size
        self._message = message
        if size is None:
            self._show_placeholder(message)
            return
        if not self._image.COVERS:
            self._placeholder.display = False
            self._image.display = True
        self._set_note(message or "")
        if previous != size:
            self._fitted = (0, 0)  # a new size: fit again (same size: keep the layout)
        # Sized and drawn now, for the box as this frame's layout will make it: a new
        # size then costs one layout, not two. Fitted again once laid out (nothing
        # happens when the fit was right).
        self._fit()
        if self._image.COVERS and self._png_size is not None:
            # It covers the words with the picture: no widget shown or hidden. Blank
            # beneath (a picture narrower than the words would show their ends).
            self._say("")
        self.call_after_refresh(self._fit)

    def _set_note(self, text: str) -> None:
        """The note's row is always there: a note shown or gone is new words, no layout
        (folded, a layout when it takes more rows, or fewer, than the last)."""
        if self._note_text != text:
            self._note_text = text
            self._show_note()

    def _show_note(self) -> None:
        """The note on its row; folded (:attr:`fold_note`) for the view's width, a
        margin each side, on as many rows as it has lines."""
        shown = self._note_text
        width = self.content_size.width - 2 * NOTE_MARGIN if self.fold_note else 0
        if width > 0:  # a pane's note (not folded) is one row: nothing to measure
            shown = fold_note(shown, width)
            rows = shown.count("\n") + 1
            if rows != self._note_rows:
                self._note_rows = rows
                self._note.styles.height = rows
        self._note.update(shown, layout=False)

    def _say(self, words: str) -> None:
        """Show ``words`` as the placeholder."""
        if words == self._words:
            return
        self._words = words
        self._placeholder.show_text(words)  # all of it: the margins beside a picture too
        if isinstance(self._image, RunsHalfcellImage):
            self._image.refresh_beneath()

    def _show_placeholder(self, message: str | None) -> None:
        """No picture: the placeholder, or ``message`` in its place."""
        self._png = None
        self._png_size = None
        if not self._image.COVERS:
            self._image.display = False
        if self._image.image is not None:  # type: ignore[attr-defined]  # (it lays out the screen)
            self._image.image = None  # type: ignore[attr-defined]
        self._drawn = None
        self._say(message if message is not None else self.placeholder)
        self._placeholder.display = True
        self._set_note("")

    def on_resize(self) -> None:
        if self.fold_note:
            self._show_note()  # folded for the new width
        self.call_after_refresh(self._fit)
        if isinstance(self._image, RunsHalfcellImage):
            # The words are centred again in the new box; the widget over them keeps
            # the rows it drew from the old one ("ed before a" a row above "cancell
            # picture") unless it draws them again.
            self.call_after_refresh(self._image.refresh_beneath)

    def _laid_out(self, _screen: object) -> None:
        self.call_after_refresh(self._fit)  # nothing happens when the fit was right

    def _box_cells(self) -> tuple[int, int]:
        """The picture box's size in cells (the note's row is always kept under it)."""
        box = self.query_one("#picture-box")
        return box.content_size.width, box.content_size.height

    def _fit(self) -> None:
        """Size the image to the largest undistorted fit in the box, and draw it."""
        if self._png_size is None or not self._ready:
            return
        try:
            box = self._box_cells()
        except NoMatches:  # asked for by a layout while the view was being removed
            return  # (its children go first, and the fit comes after)
        waited = self._image.waits_for_fit()
        self._image.fitted_in = Size(*box)
        columns, rows = fit_cells(self._png_size, box, cell_pixels())
        if (columns, rows) == (0, 0):
            return
        if (columns, rows) != self._fitted:
            self._fitted = (columns, rows)
            if (columns, rows) != self._sized:  # a new size is a layout: only when it differs
                self._sized = (columns, rows)
                self._image.styles.width = columns
                self._image.styles.height = rows
        self._draw()
        if waited:
            self._image.refresh()  # drawn now (the same cells and picture: nothing else does)

    def _draw(self) -> None:
        """Give the image widget the picture, shaped like the cells it is drawn in.

        Whole cells rarely have the picture's exact shape, and textual-image
        stretches a picture to fill its cells: up to a cell too wide or tall
        (3 % at 33 rows, 10 % at 10). A white margin (:data:`MATTE`, the
        picture's own background) makes up the difference instead.

        The picture is decoded here and given at the size it is drawn at (see
        :class:`PictureView`); nothing keeps it decoded but the image widget.
        A PNG whose header reads but whose pixels do not shows the reason.
        """
        png = self._png
        if png is None or self._fitted == (0, 0):
            return
        drawn = self._drawn
        if drawn is not None and drawn[0] is png and drawn[1] == self._fitted:
            return
        try:
            picture = decode_png(png)
        except ValueError as error:
            self._message = f"cannot show this picture: {error}"
            self._show_placeholder(self._message)
            return
        self._image.show(as_drawn(picture, self.drawn_with, self._fitted, cell_pixels()))
        self._drawn = (png, self._fitted)
