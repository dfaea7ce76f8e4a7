"""A streaming pane lays the screen out only when something on it really moves.

Checked: the thinking section opens when thinking streams and closes when the
answer starts, and a model that does not think never opens it; a live preview
waits for the pane's next redraw (one screen update with the text, not one of
its own), and a run's end drops one still waiting; a picture that appears with
its note is sized for the box as it will be laid out (one layout, not two). No
clocks there: the redraws are called. And the app draws the status bar's sample
with the panes' redraw, on its own clock, while a run streams (a run on the
loopback Claude that stays open until it is cancelled).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from textual.app import App, ComposeResult
from textual.widgets import Collapsible

from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.events import LiveStats, TextDelta, ThinkingDelta
from pelican_tui.widgets.model_pane import ModelPane
from pelican_tui.widgets.picture import PictureView
from pelican_tui.widgets.stream_text import StreamText
from pelican_tui.widgets.text_line import TextLine


def _png(width: int, height: int, colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


class Host(App[None]):
    def __init__(self, thinking: bool = True) -> None:
        super().__init__()
        self.thinking = thinking

    def compose(self) -> ComposeResult:
        yield ModelPane("left", PaneChoice("local", self.thinking), image_mode="halfcell",
                        redraw_hz=0)  # fmt: skip


async def test_the_thinking_section_opens_only_while_thinking_streams() -> None:
    async with Host().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(ModelPane)
        box = pane.query_one(Collapsible)
        pane.begin()
        pane.flush()
        assert box.collapsed, "closed until thinking arrives"
        pane.feed(ThinkingDelta("A pelican has a long beak."))
        pane.flush()
        assert not box.collapsed, "open while it thinks"
        pane.feed(TextDelta("<svg"))
        pane.flush()
        assert box.collapsed, "closed when the answer starts"
        pane.end("finished")
        await pilot.pause()
        assert box.collapsed

        pane.begin()  # a thinking-on run whose model answers without thinking
        for piece in ("<svg", "/>"):
            pane.feed(TextDelta(piece))
            pane.flush()
            assert box.collapsed, "never opened: no layout for it"


async def test_a_pane_asked_not_to_think_marks_its_thinking_section_unused_until_it_thinks() -> (
    None
):
    """A thinking-off pane showed "▶ Thinking" over nothing: at 80 columns a row the
    screen cannot spare (the app hides a box marked unused there). It is in use again
    if a server that ignores the switch thinks anyway, and for a run asked to think."""
    async with Host(thinking=False).run_test(size=(80, 24)) as pilot:
        pane = pilot.app.query_one(ModelPane)
        box = pane.query_one(Collapsible)
        assert box.has_class("-unused"), "off"
        pane.begin()
        pane.feed(TextDelta("<svg"))
        pane.flush()
        assert box.has_class("-unused"), "no thinking came"
        pane.feed(ThinkingDelta("I ignore the switch."))
        pane.flush()
        assert not box.has_class("-unused"), "thinking came anyway"
        pane.end("finished")
        pane.choice = PaneChoice("local", False)
        pane.begin()
        assert box.has_class("-unused"), "the next run starts without it"
        pane.choice = PaneChoice("local", True)
        pane.describe("a model", "thinking on")
        assert not box.has_class("-unused"), "a pane set to think shows where it will go"
        await pilot.pause()


async def test_a_model_with_no_thinking_switch_marks_its_thinking_section_unused() -> None:
    """A model with no thinking switch (the stand-in, Ollama without "thinking") showed
    "▶ Thinking" before a run and "▼ Thinking" over "(no thinking)" after a run it
    answered at once, though its header says "no thinking switch": two rows at 80
    columns. The section is unused until such a model thinks anyway."""
    async with Host(thinking=True).run_test(size=(80, 24)) as pilot:
        pane = pilot.app.query_one(ModelPane)
        box = pane.query_one(Collapsible)
        pane.thinking_switch = False  # as the app sets it from the pane's header
        pane.describe("a model", "no thinking switch")
        assert box.has_class("-unused"), "before a run"
        pane.begin()
        pane.feed(TextDelta("<svg/>"))
        pane.end("finished")  # over before its first redraw
        await pilot.pause()
        assert box.has_class("-unused"), "no thinking came"
        assert box.collapsed, "not opened over nothing"
        pane.begin()
        pane.feed(ThinkingDelta("I think without a switch."))
        pane.flush()
        assert not box.has_class("-unused"), "thinking came"
        assert not box.collapsed, "open while it thinks"


async def test_the_end_shows_the_final_counts_and_says_no_answer_came() -> None:
    """The thinking box's title kept the last live count (520) under a numbers line
    with the final one (728); a finished run with no answer said "(no answer yet)"."""
    from pelican_tui.backends.events import Finished, Timings, Usage

    async with Host().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(ModelPane)
        box = pane.query_one(Collapsible)
        answer = pane.query_one("#answer", StreamText)
        pane.begin()
        pane.feed(ThinkingDelta("A pelican has a long beak."))
        pane.feed(LiveStats(tokens=520, tokens_per_s=30.0, thinking_tokens=520))
        pane.flush()
        pane.feed(Finished(Timings(), Usage(output_tokens=736, thinking_tokens=728)))
        pane.end("finished")
        await pilot.pause()
        assert box.title == "Thinking (728 tokens)"
        assert "736 tok · 728 think" in pane.stats_line()
        assert answer.placeholder == "(no answer)"
        assert answer.render_line(0).text.startswith("(no answer)")
        pane.begin()
        assert answer.placeholder == "(no answer yet)", "a new run waits for its answer"
        pane.feed(Finished(Timings(), Usage(output_tokens=1024), stop_reason="length"))
        pane.end("finished")
        assert "1024 tok (limit) · " in pane.stats_line(), "cut by the token limit"


async def test_at_80_columns_the_numbers_line_shows_how_the_run_thought() -> None:
    """At 80 columns "· think on (did not)" was word-wrapped onto a second row that a
    one-row line never shows: the screen said "think on". The ceiling's share, which
    the gauge shows too, gives way; a line still too long ends in an ellipsis."""
    from pelican_tui.backends.events import Finished, Timings, Usage

    async with Host().run_test(size=(80, 24)) as pilot:
        pane = pilot.app.query_one(ModelPane)
        pane.ceiling_tok_s = 375.0
        pane.begin()
        timings = Timings(
            time_to_first_token_s=0.22, generation_tokens_per_s=97.8, generated_tokens=1024
        )
        pane.feed(Finished(timings, Usage(output_tokens=1024), stop_reason="length"))
        pane.end("finished", thinking="thinking on (did not)")
        await pilot.pause()
        row = pane.query_one(".stats", TextLine).render_line(0).text.rstrip()
        assert row.endswith("1024 tok (limit) · thinking on (did not)"), row
        assert "(26% of 375 max)" in pane.stats_line(), "given room, the share is said"
        line = pane.query_one(".stats", TextLine)
        line.update("a numbers line " * 8)
        await pilot.pause()
        assert line.render_line(0).text.rstrip().endswith("…"), "cut, not wrapped away"


async def test_a_preview_is_drawn_at_the_next_redraw() -> None:
    async with Host(thinking=False).run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(ModelPane)
        pane.begin()
        red = _png(200, 150, "red")
        pane.stage_preview(red)
        assert pane.picture.png is None, "not drawn on arrival"
        pane.flush()
        assert pane.picture.png is red
        pane.stage_preview(_png(200, 150, "blue"))
        pane.end("finished")
        assert pane.picture.png is red, "a preview waiting at the run's end is dropped"
        pane.stage_preview(_png(200, 150, "green"))
        pane.flush()
        assert pane.picture.png is red, "none is taken once the run is over"
        await pilot.pause()


async def test_a_picture_and_its_note_are_sized_in_the_same_layout() -> None:
    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield PictureView(mode="halfcell")

    async with One().run_test(size=(80, 24)) as pilot:
        view = pilot.app.query_one(PictureView)
        await pilot.pause()
        image = view.query_one("#picture-image")
        view.set_png(_png(400, 300, "red"), "partial: still drawing")
        sized_at_once = view._fitted
        assert sized_at_once != (0, 0), "sized before the layout"
        await pilot.pause()
        await pilot.pause()
        assert view._fitted == sized_at_once, "the box's size was foreseen, note row included"
        assert (image.size.width, image.size.height) == sized_at_once
        view.set_png(_png(400, 300, "blue"))  # the note goes: the box gets its row back
        sized_at_once = view._fitted
        await pilot.pause()
        await pilot.pause()
        assert view._fitted == sized_at_once


async def test_the_status_bar_sample_waits_for_the_panes_redraw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from _anthropic_server import AnthropicTestServer
    from _app_support import make_app, wait_for

    from pelican_tui.backends.resources import ResourceSample
    from pelican_tui.messages import ResourceTick
    from pelican_tui.widgets.status_bar import StatusBar

    def sample(gib_used: int, cpu_percent: float) -> ResourceSample:
        return ResourceSample(
            ram_total=8 << 30, ram_used=gib_used << 30, ram_available=(8 - gib_used) << 30,
            swap_used=0, cpu_percent=cpu_percent, own_rss=80 << 20, server_rss=None,
            server_model_mapped=None,
        )  # fmt: skip

    # A run that streams a few events, then stays open and silent until it is cancelled:
    # its pane runs, and the app's redraw clock ticks, for as long as the test needs.
    with AnthropicTestServer(scenario="stall") as claude:
        claude.serve(monkeypatch)
        app: Any = make_app(
            overrides={"claude": {"max_retries": 0}, "ui": {"image_mode": "halfcell"}}
        )
        async with app.run_test(size=(160, 48)) as pilot:
            bar = app.query_one(StatusBar)
            pane = app.pane("left")
            app.choices["left"] = PaneChoice("claude", True)
            await pilot.press("1")
            assert await wait_for(pilot, lambda: pane.state == "running", 30)
            held = sample(3, 12.0)
            app.on_resource_tick(ResourceTick(held))
            assert bar.sample is not held, "held while the panes redraw on the clock"
            assert await wait_for(pilot, lambda: bar.sample is held, 10), "drawn at its tick"
            assert pane.state == "running", "drawn with the running pane's redraw"
            await pilot.press("c")
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            assert pane.state == "cancelled"
            last = sample(4, 3.0)
            app.on_resource_tick(ResourceTick(last))  # drawn by the clock's last tick, or at once
            assert await wait_for(pilot, lambda: bar.sample is last, 10)
            other = sample(5, 1.0)
            app.on_resource_tick(ResourceTick(other))
            assert bar.sample is other, "no pane runs, no clock: drawn at once"
            await pilot.pause()


def _count_layouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the screen is laid out from now on (one number, updated)."""
    from textual.screen import Screen

    count = [0]
    lay_out = Screen._refresh_layout

    def counted(self: Screen[Any], *args: Any, **kwargs: Any) -> None:
        count[0] += 1
        lay_out(self, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    return count


def _screen_text(app: App[Any]) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_a_run_after_the_first_picture_lays_nothing_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Words, previews, the final picture with or without its note, and the next run's
    words: after the first picture (its size), not one layout of the screen."""
    layouts = _count_layouts(monkeypatch)
    async with Host(thinking=False).run_test(size=(160, 48)) as pilot:
        app = pilot.app
        view = app.query_one(ModelPane).picture
        await pilot.pause()
        settled = layouts[0]
        view.set_png(None, "waiting for an SVG…")
        await pilot.pause()
        assert layouts[0] == settled, "new words are no layout"
        assert any("waiting for an SVG…" in row for row in _screen_text(app))
        view.set_png(_png(160, 160, "red"))  # the first preview: the picture's size is laid out
        await pilot.pause()
        await pilot.pause()
        assert layouts[0] <= settled + 1
        image = view.query_one("#picture-image")
        assert image.size.width > 40, "drawn at its size"
        assert not any("waiting for an SVG" in row for row in _screen_text(app))
        settled = layouts[0]
        for png, note in (
            (_png(160, 160, "blue"), None),  # the next preview
            (_png(1024, 1024, "green"), "the SVG is unfinished; closed it up"),  # the final one
            (None, "waiting for an SVG…"),  # the next run
            (_png(160, 160, "red"), None),
            (_png(1024, 1024, "blue"), None),  # its final picture, no note
            (None, "the answer had no SVG"),
        ):
            view.set_png(png, note)
            await pilot.pause()
            await pilot.pause()
            shown = _screen_text(app)
            assert layouts[0] == settled, f"laid out for {note or 'a picture'}"
            if png is None:
                assert any(note in row for row in shown), f"{note!r} is shown"
            else:
                assert any(note in row for row in shown) if note else True
                row = image.render_line(image.size.height // 2)
                assert "waiting" not in row.text and row.text.strip() == ""  # the picture
        assert not any("unfinished" in row for row in shown), "the note went with its picture"


async def test_new_words_repaint_the_picture_widget_where_it_shows_them() -> None:
    """The picture widget covers the placeholder's middle and draws the words under it
    while it has no picture: new words are drawn there too, and nothing of the old ones
    stays (a repaint of the rows it thought changed left an earlier message's words,
    torn, on the terminal)."""

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield PictureView(mode="halfcell")

    async with One().run_test(size=(80, 24)) as pilot:
        view = pilot.app.query_one(PictureView)
        image = view.query_one("#picture-image")
        placeholder = view.query_one("#picture-placeholder")
        view.set_png(_png(400, 400, "red"))
        await pilot.pause()
        await pilot.pause()
        row = image.region.y + 1  # (not the words' row, which is repainted anyway)
        margin = image.region.x - 2  # left of the picture, on the blank placeholder
        assert margin > placeholder.region.x
        view.set_png(None, "waiting for an SVG…")
        assert any(
            region.contains(margin - placeholder.region.x, row - placeholder.region.y)
            for region in placeholder._repaint_regions
        ), "the margins beside the picture are repainted in the words' style"
        assert image.size.height > 10
        await pilot.pause()
        words = [y for y in range(image.size.height) if "waiting" in image.render_line(y).text]
        assert len(words) == 1, "drawn by the picture widget, from the words beneath it"
        view.set_png(None, "the answer had no SVG")
        regions = set(image._repaint_regions)
        assert any(region.contains(0, words[0]) for region in regions), regions
        await pilot.pause()
        shown = [image.render_line(y).text for y in range(image.size.height)]
        assert any("no SVG" in row for row in shown)
        assert not any("waiting" in row for row in shown), shown


class _OnePicture(App[None]):
    """A half-cell picture widget alone, its box's height set by the test."""

    def compose(self) -> ComposeResult:
        yield PictureView(mode="halfcell")


async def test_words_are_whole_in_a_box_grown_smaller_than_the_last_picture() -> None:
    """The picture widget keeps the last picture's size while it shows the words (no
    layout), and the box may have shrunk under it since (the pane's text grew): the
    words were drawn only where the widget did not lie, "canc                  ture"
    for "cancelled before a picture" after a run cancelled in a pane that had drawn
    a picture."""

    async with _OnePicture().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        view = app.query_one(PictureView)
        image = view.query_one("#picture-image")
        view.set_png(_png(400, 400, "red"))
        await pilot.pause()
        await pilot.pause()
        view.set_png(None, "waiting for an SVG…")
        view.styles.height = 8  # the pane's thinking and answer took the rows
        await pilot.pause()
        await pilot.pause()
        box = view.query_one("#picture-placeholder").region
        assert image.region.height > box.height, "the widget is as the picture left it"
        view.set_png(None, "cancelled before a picture")
        await pilot.pause()
        await pilot.pause()
        assert any("cancelled before a picture" in row for row in _screen_text(app))


@pytest.mark.parametrize("after", [5, 12])
async def test_words_stay_whole_when_the_box_changes_after_they_are_shown(after: int) -> None:
    """A run cancelled mid-run in a pane that had drawn a picture, then the pane's text
    took a row or gave some back: the words were centred again in the new box, but
    the picture widget over them kept the rows it had drawn, "ed before a" a row
    above "cancell            picture"."""

    async with _OnePicture().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        view = app.query_one(PictureView)
        view.styles.height = 7
        await pilot.pause()
        view.set_png(_png(400, 400, "red"))
        await pilot.pause()
        await pilot.pause()
        view.set_png(None, "cancelled before a picture")
        await pilot.pause()
        await pilot.pause()
        assert any("cancelled before a picture" in row for row in _screen_text(app))
        view.styles.height = after
        await pilot.pause()
        await pilot.pause()
        shown = _screen_text(app)
        assert any("cancelled before a picture" in row for row in shown), shown
