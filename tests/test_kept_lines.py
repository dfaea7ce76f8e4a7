"""Widgets that skip part of Textual's drawing draw what Textual would have drawn.

:class:`~pelican_tui.widgets.kept_lines.KeptLines` answers the compositor's
ask for a widget's lines from the last ask while nothing changed. Checked: an
unchanged widget is not drawn again, and after each kind of change (new text,
a class that changes an ancestor's background, another theme, a new size) its
lines equal the lines drawn afresh, with nothing kept. A
:class:`~pelican_tui.widgets.text_line.TextLine` draws its line itself when it
fits: the same strip as Textual's drawing of its ``render()``.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from pelican_tui.widgets.kept_lines import KeptContainer, KeptLines, KeptStatic
from pelican_tui.widgets.text_line import TextLine


class CountingStatic(KeptStatic):
    drawn = 0

    def render_line(self, y: int) -> Strip:
        self.drawn += 1
        return super().render_line(y)


class Host(App[None]):
    CSS = """
    #box { height: 5; background: $panel; }
    #box.-lit { background: $accent; }
    #words { height: 3; }
    """

    def compose(self) -> ComposeResult:
        with KeptContainer(id="box"):
            yield CountingStatic("a pelican", id="words")


def _fresh(widget: KeptLines, crop: Region) -> list[Strip]:
    """The widget's lines drawn from nothing (no kept lines, no styles cache)."""
    widget._kept = None
    widget._styles_cache.clear()
    return widget.render_lines(crop)


async def test_kept_lines_are_the_lines_drawn_afresh_after_every_change() -> None:
    async with Host().run_test(size=(40, 10)) as pilot:
        box = pilot.app.query_one("#box", KeptContainer)
        words = pilot.app.query_one("#words", CountingStatic)
        await pilot.pause()

        def crops() -> list[tuple[KeptLines, Region]]:
            return [(w, w.size.region) for w in (box, words)]

        first = words.render_lines(words.size.region)
        drawn = words.drawn
        assert words._kept is not None, "this Textual lacks the hooks KeptLines needs"
        again = words.render_lines(words.size.region)
        assert again == first
        assert words.drawn == drawn, "nothing changed: the lines are kept, not drawn again"

        async def changed(why: str) -> None:
            await pilot.pause()
            for widget, crop in crops():
                kept = widget.render_lines(crop)  # what the next screen update draws
                assert kept == _fresh(widget, crop), f"{why}: {widget.id} drew stale lines"

        words.update("a pelican on a bicycle")
        await changed("new text")
        assert "bicycle" in "".join(s.text for s in words.render_lines(words.size.region))

        before = box.render_lines(box.size.region)
        box.add_class("-lit")
        await changed("an ancestor's background")
        assert box.render_lines(box.size.region) != before

        before = words.render_lines(words.size.region)
        pilot.app.theme = "textual-light" if pilot.app.theme != "textual-light" else "nord"
        await changed("another theme")
        assert words.render_lines(words.size.region) != before

        await pilot.resize_terminal(30, 10)
        await changed("a new size")
        assert all(s.cell_length == 30 for s in box.render_lines(box.size.region))


class Lines(App[None]):
    CSS = """
    TextLine { padding: 0 1; background: $boost; color: $text-muted; }
    TextLine.-bold { text-style: bold; padding: 0; }
    TextLine.-centred { text-align: center; }
    """

    def compose(self) -> ComposeResult:
        for classes in ("", "-bold", "-centred"):
            yield TextLine("", classes=classes)


async def test_a_text_line_draws_what_textual_draws_of_its_text() -> None:
    """TextLine draws a text that fits as one segment itself: the same strip
    Textual makes of its render(); other texts go through render()."""
    texts = [
        "▶ TTFT 0.41s · 38.2 tok/s · 120 tok · thinking on",
        "",
        "  spaces kept  ",
        "x" * 28,  # exactly the width inside the padding
        "z" * 29,  # one cell over it (fits where there is no padding)
        "a text far too long for the row it is given to draw in",
        "wide 画 characters",
        "a\ttab",
    ]
    async with Lines().run_test(size=(30, 5)) as pilot:
        for line in pilot.app.query(TextLine):
            for text in texts:
                line.update(text)
                await pilot.pause()
                drawn = line.render_line(0)
                line.refresh()  # Textual's own drawing of render(), from nothing
                assert drawn == Widget.render_line(line, 0), (line.classes, text)
