"""A half-cell picture is drawn row by row, and a new picture repaints only what changed.

Checked: the rows pelican-tui draws through the line API are, segment for
segment, the cells textual-image's own half-cell widget draws for the same
picture in the same cells (equal neighbours joined);
a live preview that adds a shape to the picture repaints only the cells of the
rows the shape touched; a picture of another size, or one after the
placeholder, repaints all of it.
A Sixel picture's last line, which carries the image, keeps its escape codes
whole where a notification cuts it.
"""

from __future__ import annotations

import io
from typing import Any

from _app_support import until
from PIL import Image, ImageDraw
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.geometry import Region
from textual.pilot import Pilot

from pelican_tui.widgets.picture import PictureView, RunsHalfcellImage, changed_cells


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _scene(*, sun: bool) -> Image.Image:
    """A 400x300 picture: sky, ground, a bird; ``sun``: a yellow disc at the top right."""
    image = Image.new("RGB", (400, 300), (135, 206, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 220, 400, 300), fill=(60, 160, 60))
    draw.ellipse((120, 120, 260, 200), fill=(250, 250, 250), outline=(20, 20, 20), width=3)
    draw.polygon([(250, 150), (330, 165), (250, 175)], fill=(240, 160, 30))
    if sun:
        draw.ellipse((320, 20, 370, 70), fill=(255, 220, 0))
    return image


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield PictureView(mode="halfcell")


async def _shown(pilot: Pilot[Any], view: PictureView, png: bytes) -> RunsHalfcellImage:
    view.set_png(png)
    image = view.query_one("#picture-image", RunsHalfcellImage)
    await until(pilot, lambda: image.size.width > 10 and view._drawn is not None)
    await pilot.pause()
    return image


async def _textual_image_rows(pilot: Pilot[Any], image: RunsHalfcellImage) -> list[list[Segment]]:
    """The rows textual-image's half-cell widget draws for ``image``'s picture, in the
    same cells and the same box, equal neighbours joined (as pelican-tui's are)."""
    from textual_image.widget import HalfcellImage

    from pelican_tui.widgets.textual_image_pictures import runs_of_cells

    width, height = image.size
    theirs = HalfcellImage(image.image)
    theirs.styles.width, theirs.styles.height = width, height
    assert image.parent is not None
    await image.parent.mount(theirs)
    await until(pilot, lambda: theirs.size == image.size)
    rows = [list(runs_of_cells(theirs.render_line(y))) for y in range(height)]
    await theirs.remove()
    return rows


async def test_rows_are_the_cells_textual_image_draws() -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(PictureView)
        image = await _shown(pilot, view, _png(_scene(sun=True)))
        assert image.size.height > 10
        ours = [list(image.render_line(y)) for y in range(image.size.height)]
        theirs = await _textual_image_rows(pilot, image)
        for y, (mine, textual_images) in enumerate(zip(ours, theirs, strict=True)):
            assert mine == textual_images, f"row {y}"
        assert len(image._strips) == image.size.height, "drawn from its own rows"
        image.show(_scene(sun=False))  # another shape: scaled to the cells as textual-image does
        await pilot.pause()
        ours = [list(image.render_line(y)) for y in range(image.size.height)]
        assert ours == await _textual_image_rows(pilot, image)


async def test_a_new_shape_repaints_only_the_cells_of_its_rows() -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(PictureView)
        image = await _shown(pilot, view, _png(_scene(sun=False)))
        width, height = image.size
        assert not image._repaint_regions
        view.set_png(_png(_scene(sun=True)))  # the next preview: the same size, a sun added
        regions = set(image._repaint_regions)
        assert regions, "the change is repainted"
        assert all(region.height == 1 for region in regions), regions
        rows = sorted(region.y for region in regions)
        assert max(rows) <= height // 3, f"only the sun's rows (the top third), not {rows}"
        assert all(region.x > width // 2 for region in regions), "only the sun's columns"
        await pilot.pause()
        ours = [list(image.render_line(y)) for y in range(height)]
        assert ours == await _textual_image_rows(pilot, image)
        view.set_png(_png(_scene(sun=True).resize((300, 300))))  # another shape: all of it
        await until(pilot, lambda: view._fitted[0] < width)
        await pilot.pause()
        view.set_png(None, "waiting")
        await pilot.pause()
        view.set_png(_png(_scene(sun=True).resize((300, 300))))  # after the placeholder
        assert Region(0, 0, *image.size) in image._repaint_regions or image._layout_required


def test_changed_cells_finds_the_first_and_last_changed_column() -> None:
    columns, rows = 5, 3
    before = bytes(columns * rows * 2 * 3)
    after = bytearray(before)
    after[(2 * 1 + 1) * columns * 3 + 3 * 1] = 9  # row 1's lower pixels, column 1
    after[(2 * 1) * columns * 3 + 3 * 3 + 2] = 9  # row 1's upper pixels, column 3 (blue)
    after[(2 * 2) * columns * 3 + 3 * 4] = 9  # row 2, the last column
    assert changed_cells(before, bytes(after), columns, rows) == [(1, 1, 3), (2, 4, 4)]
    assert changed_cells(before, before, columns, rows) == []


async def test_a_new_size_repaints_the_picture_once_without_a_second_layout() -> None:
    from textual.geometry import Size

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(PictureView)
        image = await _shown(pilot, view, _png(_scene(sun=True)))
        width, height = image.size
        image._size_updated(Size(width - 2, height - 1), Size(width - 2, height - 1), Size(80, 24))
        assert image._repaint_regions, "repainted at its new size"
        assert not image._layout_required, "no layout for its virtual size (it never scrolls)"


async def test_new_placeholder_words_repaint_only_their_rows() -> None:
    from textual.widgets import Static

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(PictureView)
        placeholder = view.query_one("#picture-placeholder", Static)
        await pilot.pause()
        height = placeholder.size.height
        assert height > 10
        view.set_png(None, "waiting for an SVG…")
        rows = {region.y for region in placeholder._repaint_regions}
        assert rows and len(rows) <= 3, f"the words' rows, not all {height}: {rows}"
        await pilot.pause()
        assert "waiting for an SVG" in str(placeholder.render())
        shown = [placeholder.render_line(y).text for y in range(height)]
        assert any("waiting for an SVG" in row for row in shown)
        assert not any("no picture yet" in row for row in shown)


class SixelHost(App[None]):
    def compose(self) -> ComposeResult:
        yield PictureView(mode="sixel")


async def test_a_notification_near_a_sixel_pictures_corner_leaves_it_whole() -> None:
    """The Sixel image and its cursor moves go out whole, however its last line is cut.

    A notification over a picture cuts the picture's last line (the one that
    carries the image) where the notification starts. textual-image's cursor
    moves counted their characters as cells, so a notification starting in the
    first few cells cut a move in two: in xterm the picture was left out and
    the notification's words were written on its first line.
    """
    from pelican_tui.widgets.textual_image_pictures import _PaletteFirstSixels

    app = SixelHost()
    async with app.run_test(size=(80, 30)) as pilot:
        app.query_one(PictureView).set_png(_png(_scene(sun=True)))
        await until(pilot, lambda: any(s.size.area for s in app.query(_PaletteFirstSixels)))
        sixels = app.query_one(_PaletteFirstSixels)
        width, height = sixels.size
        line = sixels.render_lines(Region(0, 0, width, height))[-1]
        assert line.text.count("\x1bP") == 1, "the line carries the Sixel image"
        left_of_the_notification = line.divide([4, width])[0]
        assert left_of_the_notification.text == line.text


async def test_a_sixel_pictures_last_line_cut_on_its_right_keeps_its_cursor_moves() -> None:
    """When a notification goes, Textual draws its region again and cuts the lines on
    its right (``Strip.crop``), the picture's last line too. The cut dropped the move to
    the picture's top-left corner and the move after it: in xterm the picture was sent
    from its last row, drawn down over the rows below. And the move after the image went
    to the row under the picture, so the rest of its last line was written there, never
    on its own row (a white patch stayed beside the picture)."""
    from textual_image.widget.sixel import _ImageSixelImpl

    app = SixelHost()
    async with app.run_test(size=(80, 30)) as pilot:
        app.query_one(PictureView).set_png(_png(_scene(sun=True)))
        await until(pilot, lambda: any(s.size.area for s in app.query(_ImageSixelImpl)))
        sixels = app.query_one(_ImageSixelImpl)
        region = sixels.region
        width, height = sixels.size
        line = sixels.render_lines(Region(0, 0, width, height))[-1]
        cut = line.divide([width])[0].crop(0, width - 1)
        top_left = f"\x1b[{region.y + 1};{region.x + 1}H"
        last_row = f"\x1b[{region.bottom};{region.right + 1}H"
        assert cut.text.startswith(top_left + "\x1bP"), cut.text[:20]
        assert cut.text.endswith("\x1b\\" + last_row), cut.text[-20:]


async def test_a_sixel_picture_under_a_notification_is_sent_above_it() -> None:
    """The image is sent with the last row it is sent for, over every cell it covers. A
    tall notification over the full-screen picture's last rows (80x24) hid that row's
    first cell: the picture was not drawn until the notification went. It is sent for
    the rows above the notification, with the move after it to the last of them."""
    from textual.widgets._toast import Toast
    from textual_image.widget.sixel import _ImageSixelImpl

    app = SixelHost()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.query_one(PictureView).set_png(_png(_scene(sun=True)))
        await until(pilot, lambda: any(s.size.area for s in app.query(_ImageSixelImpl)))
        app.notify("Exported 7 files to\n/tmp/pelican/data/exports/session-1", title="Export")
        await until(pilot, lambda: bool(app.screen.query(Toast)))
        await pilot.pause()
        toast = app.screen.query_one(Toast).region
        sixels = app.query_one(_ImageSixelImpl)
        region = sixels.region
        assert region.y < toast.y < region.bottom and toast.x > region.x, (region, toast)
        lines = sixels.render_lines(Region(0, 0, region.width, region.height))
        assert len(lines) == region.height
        carrying = [y for y, line in enumerate(lines) if "\x1bP" in line.text]
        assert carrying == [toast.y - region.y - 1], (carrying, region, toast)
        assert lines[carrying[0]].text.endswith(f"\x1b[{toast.y};{region.right + 1}H")


class GridHost(App[None]):
    CSS = "Grid { grid-size: 3; }"

    def compose(self) -> ComposeResult:
        yield Grid()


async def test_pictures_removed_while_the_screen_is_laid_out_are_not_fitted() -> None:
    """The gallery's filter (``f``) takes every cell away and mounts new ones. A view
    asks for its fit after each layout of the screen; one asked for while the view was
    being removed ran after its children were gone, and the app died of "No nodes
    match '#picture-box'" (seen once in CI, in test_gallery_filters_by_a_fact). Here
    a grid is filled anew many times over, as the filter does."""
    app = GridHost()
    png = _png(_scene(sun=True))
    async with app.run_test(size=(160, 48)) as pilot:
        grid = app.query_one(Grid)
        for refill in range(60):
            await grid.remove_children()
            await grid.mount_all(
                [PictureView(png, mode="halfcell") for _ in range(6 if refill % 2 else 3)]
            )
            if refill % 3 == 0:
                await pilot.pause()
        views = list(app.query(PictureView))
        await until(pilot, lambda: all(view.drawn for view in views))  # (run_test raises
        # the error that ended the app)
