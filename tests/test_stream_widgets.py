"""What a pane draws while a model streams, at the cost it was made for.

Checked: the streamed text draws its wrapped tail row by row (control characters
dropped), a live picture of the same size is repainted without laying the
screen out again, a picture is kept as its PNG and given to the image widget at
the size it is drawn at, and live previews are paced by what they were seen to
cost.
No clocks: the pace is given its times.
"""

from __future__ import annotations

import io
from typing import Any, cast

from _app_support import until
from PIL import Image
from textual.app import App, ComposeResult
from textual.widgets import Static

from pelican_tui.widgets.picture import PictureView, PreviewPace
from pelican_tui.widgets.stream_text import StreamText


def _rows(widget: StreamText) -> list[str]:
    return [widget.render_line(y).text.rstrip() for y in range(widget.content_size.height)]


async def test_stream_text_draws_the_wrapped_tail() -> None:
    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield StreamText("(no answer yet)", id="answer")

        CSS = "StreamText { height: 3; width: 22; }"  # 20 columns inside the padding

    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        text = app.query_one(StreamText)
        await until(pilot, lambda: text.content_size.width == 20)
        assert _rows(text)[0] == "(no answer yet)"
        assert text.has_class("-placeholder")
        for line in ("first line", "second \x1b[31mline\x07", "a third line that wraps here"):
            text.append(line + "\n")
        text.append("tail")
        assert _rows(text)[0] == "(no answer yet)", "nothing is drawn before a flush"
        text.flush()
        await pilot.pause()
        assert not text.has_class("-placeholder")
        # The last three rows that fit: the third line wrapped at 20 columns, then the tail.
        assert _rows(text) == ["a third line that", "wraps here", "tail"]
        text.set_text("one\ttwo \x1b[0mthree")
        await pilot.pause()
        assert _rows(text)[0] == "one two [0mthree", "tabs expanded, ESC dropped"
        assert text.text == "one\ttwo \x1b[0mthree", "the text itself is kept as streamed"


def _png(width: int, height: int, colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


async def test_a_same_size_picture_is_repainted_without_a_layout() -> None:
    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield PictureView(mode="halfcell", placeholder="no picture yet")

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(PictureView)
        image = view.query_one("#picture-image")

        def centre() -> Any:
            shown = cast(Any, image).image  # what the image widget was given, as drawn
            return None if shown is None else shown.getpixel((shown.width // 2, shown.height // 2))

        view.set_png(_png(200, 150, "red"), "partial")
        await until(pilot, lambda: image.size.width > 0 and view._drawn is not None)
        await pilot.pause()
        assert not image._layout_required
        blue = _png(200, 150, "blue")
        view.set_png(blue, "partial")  # the next preview: same size
        assert view._drawn is not None and view._drawn[0] is blue and centre() == (0, 0, 255)
        assert not image._layout_required, "a preview of the same size needs no layout"
        assert not view.query_one("#picture-message")._layout_required
        view.set_png(_png(300, 150, "green"))  # the final picture: another shape
        await until(pilot, lambda: centre() == (0, 128, 0))


async def test_a_picture_is_given_at_the_size_it_is_drawn_and_not_kept_decoded() -> None:
    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield PictureView(mode="halfcell", id="half")
            yield PictureView(mode="unicode", id="blocks")

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        half, blocks = app.query_one("#half", PictureView), app.query_one("#blocks", PictureView)
        png = _png(1024, 1024, "red")
        for view in (half, blocks):
            view.set_png(png)
        await until(pilot, lambda: half._drawn is not None and blocks._drawn is not None)
        for view in (half, blocks):
            assert view.picture_size == (1024, 1024) and view.has_picture
            assert not any(isinstance(value, Image.Image) for value in vars(view).values())
        columns, rows = half._fitted
        shown = cast(Any, half.query_one("#picture-image")).image
        assert (shown.size, shown.mode) == ((columns, rows * 2), "RGB"), "two pixels a cell"
        columns, rows = blocks._fitted
        shown = cast(Any, blocks.query_one("#picture-image")).image
        assert (shown.size, shown.mode) == ((columns, rows), "L"), "one grey pixel a cell"


async def test_a_png_whose_pixels_do_not_read_says_so() -> None:
    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield PictureView(mode="halfcell")

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(PictureView)
        pixels = bytes((i * 7919) % 251 for i in range(200 * 150 * 3))  # no run to compress
        out = io.BytesIO()
        Image.frombytes("RGB", (200, 150), pixels).save(out, "PNG")
        png = out.getvalue()
        view.set_png(png[: len(png) // 2])  # the header reads, the pixels are cut short
        placeholder = view.query_one("#picture-placeholder", Static)
        await until(pilot, lambda: "cannot show this picture" in str(placeholder.render()))
        assert not view.has_picture and view.png is None


def test_preview_pace_follows_what_previews_cost() -> None:
    pace = PreviewPace(fps=2.0, share=0.02)
    assert pace.due(0.0)
    pace.started(10.0)
    assert not pace.due(10.4) and pace.due(10.5), "at most fps a second"
    pace.drawn(10.0, 0.005)  # a cheap preview: the fps limit decides
    assert pace.due(10.5)
    pace.started(11.0)
    pace.drawn(11.0, 0.1)  # 100 ms of work at 2 %: the next one 5 s after it started
    assert not pace.due(15.9) and pace.due(16.0)
    assert pace.last_cost_s == 0.1


async def test_streamed_rows_stay_put_until_the_page_is_full() -> None:
    """While text streams, rows do not shift up one by one (each shift makes the terminal
    redraw every row); a full page jumps by half, and settle() brings the tail down."""

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield StreamText("(no answer yet)", id="answer")

        CSS = "StreamText { height: 4; width: 22; }"  # 4 rows of 20 columns

    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        text = app.query_one(StreamText)
        await until(pilot, lambda: text.content_size.width == 20)
        seen = []
        for n in range(1, 8):
            text.append(f"line {n}\n")
            text.flush()
            await pilot.pause()
            seen.append(_rows(text))
        assert seen[3] == ["line 1", "line 2", "line 3", "line 4"], "a page fills in place"
        assert seen[4] == ["line 4", "line 5", "", ""], "full: half a page on"
        assert seen[5] == ["line 4", "line 5", "line 6", ""], "then rows fill below"
        assert seen[6] == ["line 4", "line 5", "line 6", "line 7"]
        text.append("line 8")
        text.flush()
        await pilot.pause()
        assert _rows(text) == ["line 7", "line 8", "", ""]
        text.settle()
        await pilot.pause()
        assert _rows(text) == ["line 5", "line 6", "line 7", "line 8"], "the tail at the bottom"
