"""What the pictures full screen (``f``) and a resize write to the terminal: each picture once.

The app's screen updates are kept as the terminal would be sent them (the
headless driver writes nothing; :class:`Sent` takes what Textual hands it).
Checked, for Sixel and for Kitty graphics (its picture's cells of placeholders;
the image itself goes to the terminal outside Textual's updates): opening full
screen sends each picture once, and a new picture (a run it follows) or a
terminal of another size sends it again, once; a terminal resized under two
panes' pictures sends each once, at its new size (or where it moved, when its
size stays).
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from _app_support import until
from PIL import Image, ImageDraw
from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen

from pelican_tui.screens.picture_screen import Picture, PictureScreen
from pelican_tui.widgets.picture import PictureView

_SIXEL = re.compile(r"\x1bP[^\x1b]*?q.*?\x1b\\", re.S)
_KITTY_PLACEHOLDER = chr(0x10EEEE)


class Sent:
    """The screen updates ``app`` writes to its terminal, as text."""

    def __init__(self, app: App[Any]) -> None:
        self.updates: list[str] = []
        self._console = Console(force_terminal=True, file=io.StringIO())
        shown = app._display

        def display(screen: Any, update: Any) -> None:
            if update is not None and not app._batch_count:  # what Textual writes
                options = self._console.options
                segments = update.__rich_console__(self._console, options)
                self.updates.append("".join(segment.text for segment in segments))
            shown(screen, update)

        app._display = display  # type: ignore[method-assign]

    def pictures(self, mode: str, screen: Screen[Any], since: int = 0) -> float:
        """Pictures sent in the updates from the ``since``-th on: Sixel images; with
        Kitty graphics, the cells of its placeholders (the image itself goes to the
        terminal once, outside Textual's updates; its cells are what each frame
        sends of it), counted in pictures of the size ``screen`` shows them now."""
        updates = self.updates[since:]
        if mode == "sixel":
            return sum(len(_SIXEL.findall(update)) for update in updates)
        sizes = {widget.size for widget in screen.query("#picture-image")}
        assert len(sizes) == 1, f"pictures of one size here, not {sizes}"
        (size,) = sizes
        return sum(update.count(_KITTY_PLACEHOLDER) for update in updates) / size.area


def _png(colour: str, sun: bool = False) -> bytes:
    image = Image.new("RGB", (400, 300), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((120, 120, 260, 200), fill=(250, 250, 250), outline=(20, 20, 20), width=3)
    if sun:
        draw.ellipse((330, 20, 380, 70), fill=(250, 210, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def _settle(pilot: Any) -> None:
    """Let every layout and repaint the last change asked for happen."""
    for _ in range(10):
        await pilot.pause(0.05)


@pytest.mark.parametrize("mode", ["sixel", "tgp"])
async def test_full_screen_sends_each_picture_once(mode: str) -> None:
    """Opening the pictures full screen (``f``) sent each picture twice: the image
    widgets, sized by the layout, were painted, then painted again by the layout
    Textual asked for after setting their virtual size (a Sixel picture full screen
    is 35 KB at 80x24, 100 KB at 160x48). Now once; a new picture and a terminal of
    another size still send it again, once each."""
    from _app_support import pictures_drawn

    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        sent = Sent(app)
        pictures = [Picture("1 local", _png("skyblue"), "✓ 90 tok"),
                    Picture("2 claude", _png("khaki"), "✓ 180 tok")]  # fmt: skip
        screen = PictureScreen(pictures, mode=mode)
        await app.push_screen(screen)
        assert await pictures_drawn(pilot, screen)
        await _settle(pilot)
        assert sent.pictures(mode, screen) == 2, "each picture once when full screen opens"

        following = [pictures[0], pictures[1]._replace(png=_png("khaki", sun=True))]
        screen.show_pictures(following)  # the run it follows drew something new
        await _settle(pilot)
        assert sent.pictures(mode, screen) == 3, "the new picture once, the other not again"

        before, size = len(sent.updates), screen.query_one("#picture-image").size
        await pilot.resize_terminal(120, 40)
        await _settle(pilot)
        assert screen.query_one("#picture-image").size != size, "drawn larger"
        assert sent.pictures(mode, screen, since=before) >= 2, "both drawn again"


class TwoPanes(App[None]):
    """Two finished runs' pictures side by side, as the main screen's panes show them."""

    CSS = "PictureView { width: 1fr; height: 1fr; }"

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield PictureView(_png("skyblue"), mode=self.mode)
            yield PictureView(_png("khaki"), mode=self.mode)


@pytest.mark.parametrize("mode", ["sixel", "tgp"])
@pytest.mark.parametrize(("size", "grows"), [((120, 40), True), ((100, 40), False)])
async def test_a_resize_sends_each_picture_once(
    mode: str, size: tuple[int, int], grows: bool
) -> None:
    """A terminal resized under finished runs' pictures sent each three times (four in
    a real xterm: tests/test_real_terminals.py): painted at its old size where the new
    layout put it, painted so again, then at its new size (a Sixel picture is tens of
    KB: over SSH, a wait at every resize). Now once, at its new size; taller panes whose
    pictures keep their width (and so their size) send each once where it now is, not
    none (the picture would be left blank)."""
    app = TwoPanes(mode)
    async with app.run_test(size=(100, 30)) as pilot:
        sent = Sent(app)
        views = list(app.query(PictureView))
        await until(pilot, lambda: all(view.drawn for view in views))
        await _settle(pilot)
        before = len(sent.updates)
        sizes = [view.query_one("#picture-image").size for view in views]
        await pilot.resize_terminal(*size)
        await _settle(pilot)
        now = [view.query_one("#picture-image").size for view in views]
        assert (now != sizes) is grows, f"pictures of {sizes} now {now}"
        assert all(view.drawn for view in views)
        assert sent.pictures(mode, app.screen, since=before) == 2, "each picture once"
