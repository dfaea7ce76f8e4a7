"""Numbers drawn as pictures: the panes' tokens/s sparklines and ceiling bars, and the
memory panel of the server log screen.

What is checked: the bars a row shows (scaled from 0, newest on the right of a
fixed window), one point per redraw and none after the run, what a redraw
writes (one run of text, and nothing when the bars did not change), and through
the real app (Claude on the loopback test server): values while streaming,
none after, hidden in blind mode until the vote; the memory panel draws the
server's and the app's samples, the ones before it opened included.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

import pytest
from _anthropic_server import AnthropicTestServer
from _app_support import make_app, wait_for
from _evidence_support import screen_text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.visual import Visual

from pelican_tui.app import PelicanApp
from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.events import Finished, LiveStats, Timings, Usage
from pelican_tui.backends.resources import ResourceSample
from pelican_tui.messages import ResourceTick
from pelican_tui.screens.log_screen import LogScreen
from pelican_tui.widgets.memory_panel import MemoryHistory, MemoryPanel
from pelican_tui.widgets.model_pane import ModelPane
from pelican_tui.widgets.sparkline import FloorSparkline, bars
from pelican_tui.widgets.sparkline_row import CeilingBar, RateRow, RateSeries

MIB = 1024 * 1024


# -- the bars -------------------------------------------------------------------------


def test_bars_are_scaled_from_zero_so_a_steady_rate_looks_steady() -> None:
    assert bars([52.0, 50.0, 56.0], 3) == "▇▇█"
    assert bars([52.0, 50.0, 56.0], 3, floor=None) == "▃▁█", "Textual's own scale: min to max"
    assert bars([0.0, 7.0], 2) == "▁█"
    assert bars([5.0, 5.0], 2, floor=None) == "▁▁", "nothing to scale: the lowest bar"
    assert bars([], 4) == "    ", "no values: a blank row"
    assert bars([1.0], 0) == ""


def test_bars_fill_the_row_or_a_fixed_window() -> None:
    assert bars([1.0, 2.0], 6) == "▄▄▄███", "few values are stretched over the row"
    assert bars([1.0, 2.0, 1.0, 8.0], 2) == "▂█", "many: each cell shows its share's summary"
    assert bars([1.0, 2.0, 3.0, 8.0], 2, floor=None, summary=min) == "▁█"
    window = bars([4.0, 8.0], 10, span=4)
    assert window == "     ▄▄▄██", "a window of 4 values, 2 so far: newest at the right"
    assert bars([8.0], 10, span=300) == " " * 9 + "█", "at least one cell"
    assert bars([8.0] * 20, 10, span=20) == "█" * 10


def test_bars_fill_from_the_left_so_a_new_value_changes_the_newest_cell() -> None:
    assert bars([4.0, 8.0], 6, fill=True) == "▄█    ", "one cell per value"
    assert bars([8.0] * 6, 6, fill=True) == "██████"
    assert bars([8.0] * 7, 6, fill=True) == "████  ", "full: one cell per 2 values"
    assert bars([8.0] * 7 + [0.0], 6, fill=True, summary=fmean) == "███▄  ", "the newest group"
    assert bars([8.0] * 13, 6, fill=True) == "████  ", "then per 4"
    before = bars([8.0, 6.0, 7.0, 8.0, 5.0], 4, fill=True, summary=fmean)
    after = bars([8.0, 6.0, 7.0, 8.0, 5.0, 7.0], 4, fill=True, summary=fmean)
    assert before[:2] == after[:2] and before[2] != after[2]


def test_rate_series_is_the_rate_between_samples() -> None:
    series = RateSeries()
    assert series.add(10, 20.0), "the first point is the first sample's own rate"
    assert series.add(30, 20.0)  # 30 tokens at 20/s: 1.5 s; 10 more than at 0.5 s
    assert series.add(40, 10.0)  # 4 s: 10 tokens in 2.5 s
    assert series.points == [20.0, 20.0, 4.0]
    assert not series.add(40, 10.0), "no token since the last sample: no point"
    assert not series.add(40, 5.0), "the same tokens over a longer time: no point either"
    assert not series.add(None, 5.0) and not series.add(50, None) and not series.add(50, 0.0)
    assert series.points == [20.0, 20.0, 4.0]
    series.clear()
    assert series.points == [] and series.add(5, 5.0) and series.points == [5.0]


def test_rate_series_keeps_a_long_run_whole() -> None:
    series = RateSeries(limit=4)
    tokens, seconds, added = 0, 0.0, []
    for rate in (10, 20, 30, 40, 50, 60, 70, 80):  # one second at each rate
        tokens, seconds = tokens + rate, seconds + 1
        added.append(series.add(tokens, tokens / seconds))
    assert series.points == [25.0, 65.0], "averaged in pairs, twice: the whole run, coarser"
    assert added == [True, True, True, True, False, True, False, True]


# -- the pane's row, mounted alone ----------------------------------------------------


class PaneHost(App[None]):
    def compose(self) -> ComposeResult:
        yield ModelPane("left", PaneChoice("local", True), image_mode="halfcell", redraw_hz=0)


def _finished(tokens: int, rate: float) -> Finished:
    timings = Timings(
        time_to_first_token_s=0.2, generation_tokens_per_s=rate, generated_tokens=tokens
    )
    return Finished(timings, Usage(output_tokens=tokens))


async def test_pane_adds_one_point_per_redraw_and_none_after_the_run() -> None:
    app = PaneHost()
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.query_one(ModelPane)
        sparkline = pane.query_one(FloorSparkline)
        pane.begin()
        tokens = 0
        for tick in range(3):
            for _ in range(25):  # many live numbers between two redraws: one point
                tokens += 1
                pane.feed(LiveStats(tokens=tokens, tokens_per_s=25.0 + tick))
            pane.flush()
            assert len(sparkline.values) == tick + 1
        pane.flush()
        assert len(sparkline.values) == 3, "nothing new since the last redraw: no point"
        pane.feed(LiveStats(tokens=tokens + 5, tokens_per_s=26.0))
        pane.feed(_finished(tokens + 5, 26.0))
        pane.end("finished")
        assert len(sparkline.values) == 3, "the final numbers add no point"
        final = sparkline.values
        pane.feed(LiveStats(tokens=500, tokens_per_s=90.0))
        pane.flush()
        await pilot.pause()
        assert sparkline.values == final, "no points after the run"
        row = pane.query_one(RateRow)
        assert str(row.sparkline.render().text).strip(), "the run's shape stays shown"
        pane.begin()
        assert sparkline.values == [], "a new run starts a new line"
        pane.feed(LiveStats(tokens=12, tokens_per_s=40.0))
        pane.feed(_finished(12, 40.0))
        pane.end("finished")
        assert sparkline.values == [40.0], "a run shorter than a redraw: one point, its average"


async def test_ceiling_bar_shows_the_share_of_the_ceiling_only_when_known() -> None:
    app = PaneHost()
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.query_one(ModelPane)
        bar = pane.query_one(CeilingBar)
        pane.begin()
        pane.feed(LiveStats(tokens=20, tokens_per_s=30.0))
        pane.flush()
        await pilot.pause()
        assert not bar.display or not bar.region, "no ceiling known: no bar"
        pane.ceiling_tok_s = 60.0
        pane.redraw_stats()
        await pilot.pause()
        assert bar.region.width > 0
        assert bar.eighths == 40, "30 of 60 tok/s: half of 10 cells"
        assert "█████····· max" in screen_text(app)
        pane.feed(LiveStats(tokens=40, tokens_per_s=90.0))
        pane.flush()
        assert bar.eighths == 80, "beyond the ceiling: a full bar, no more"


async def test_a_redraw_writes_one_run_of_text_and_nothing_when_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = PaneHost()
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.query_one(ModelPane)
        sparkline = pane.query_one(FloorSparkline)
        pane.begin()
        for tokens in range(10, 400, 10):
            pane.feed(LiveStats(tokens=tokens, tokens_per_s=20.0 + tokens % 7))
            pane.flush()
        await pilot.pause()
        width = sparkline.size.width
        strip = sparkline.render_lines(Region(0, 0, width, 1))[0]
        assert sum(1 for segment in strip if segment.text) <= 2, list(strip)
        written = strip.render(app.console)
        assert len(written.encode()) < width * 3 + 80, "bars and one colour, no code per cell"

        repaints: list[tuple[Region, ...]] = []
        original = sparkline.refresh

        def counting_refresh(*regions: Region, **kwargs: Any) -> Any:
            repaints.append(regions)
            return original(*regions, **kwargs)

        monkeypatch.setattr(sparkline, "refresh", counting_refresh)
        sparkline.show(list(sparkline.values))
        assert not repaints, "the same bars: no repaint"
        values = sparkline.values
        sparkline.show([*values, values[-1]])
        assert len(repaints) == 1
        (region,) = repaints[0]
        assert region.width <= 2, f"a new point repaints the newest cell, not the row: {region}"


async def test_the_row_drawn_directly_is_the_one_textual_draws_from_render() -> None:
    """The sparkline makes its row itself (no Rich console per redraw): the same
    segments as Textual's own drawing of :meth:`FloorSparkline.render`, empty, one
    point, a full row and more points than cells."""
    app = PaneHost()
    async with app.run_test(size=(80, 30)) as pilot:
        sparkline = app.query_one(ModelPane).query_one(FloorSparkline)
        for values in ([], [3.0], [1.0, 5.0, 0.0, 8.0] * 18, [float(i % 9) for i in range(300)]):
            sparkline.show(values)
            await pilot.pause()
            width = sparkline.size.width
            drawn = sparkline.render_line(0)
            textual = Visual.to_strips(
                sparkline, sparkline._render(), width, 1, sparkline.visual_style
            )[0]
            assert list(drawn) == list(textual), values
            assert drawn.cell_length == width


# -- the real app -----------------------------------------------------------------------


def _rates(app: PelicanApp, slot: str) -> list[float]:
    return app.pane(slot).query_one(FloorSparkline).values


async def test_sparkline_gets_values_while_streaming_and_stops_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.05) as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert app.active == "left"
            for _ in range(len(app.engine.choices())):  # b, as a user picks the backend
                if (app.choices["left"].side, app.choices["left"].thinking) == ("claude", True):
                    break
                await pilot.press("b")
            assert app.choices["left"] == PaneChoice("claude", True), app.choices["left"]
            pane = app.pane("left")
            assert pane.border_title.startswith("1 claude · "), pane.border_title
            row = pane.query_one(RateRow)
            drawn: list[tuple[str, int]] = []  # (the pane's state, points) at each new point
            show_rates = row.show_rates

            def spy(points: list[float]) -> None:
                drawn.append((pane.state, len(points)))
                show_rates(points)

            monkeypatch.setattr(row, "show_rates", spy)
            await pilot.press("1")
            assert await wait_for(pilot, lambda: pane.state == "finished", 30)
            await app.workers.wait_for_complete()
            while_running = [points for state, points in drawn if state == "running"]
            assert max(while_running, default=0) >= 2, f"values while it streams: {drawn}"
            after = _rates(app, "left")
            assert after and all(value > 0 for value in after), repr(after[-4:])
            assert len(after) == drawn[-1][1]
            calls = len(drawn)
            for _ in range(5):
                await pilot.pause(0.1)
            assert _rates(app, "left") == after, "no values after the run"
            assert len(drawn) == calls, "nothing drawn after the run"
            line = next(line for line in screen_text(app).splitlines() if "│ tok/s " in line)
            left = line.split("││")[0]
            width = row.sparkline.size.width
            shown = sum(left.count(bar) for bar in "▁▂▃▄▅▆▇█")
            assert shown == min(len(after), width) or shown > width // 2, line


async def test_sparklines_are_hidden_in_blind_mode_until_the_vote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.02) as claude:
        claude.serve(monkeypatch)
        app = make_app(
            overrides={"claude": {"max_retries": 0}, "ui": {"blind": True, "theme": "pelican-dark"}}
        )
        async with app.run_test(size=(160, 48)) as pilot:
            app.choices["left"] = PaneChoice("claude", True)
            app.choices["right"] = PaneChoice("claude", False)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: len(_rates(app, "left")) >= 2, 20)
            rows = list(app.query(RateRow))

            def shown() -> list[RateRow]:
                visible = app.screen._compositor.visible_widgets
                return [row for row in rows if row in visible or row.sparkline in visible]

            assert not shown(), "while streaming: no sparkline on screen"
            assert "tok/s" not in screen_text(app)
            assert await wait_for(pilot, lambda: bool(app.pending_pairs), 30)
            await pilot.pause()
            assert not shown(), "before the vote: still hidden"
            assert "tok/s" not in screen_text(app)
            await pilot.press("equals_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            await pilot.pause()
            assert len(shown()) == 2, "after the vote both panes show their lines"
            assert _rates(app, "left") and _rates(app, "right")


# -- memory -------------------------------------------------------------------------------


def _sample(second: int) -> ResourceSample:
    return ResourceSample(
        ram_total=8 * 1024 * MIB,
        ram_used=2 * 1024 * MIB,
        ram_available=6 * 1024 * MIB,
        swap_used=0,
        cpu_percent=10.0,
        own_rss=(80 + second) * MIB,
        server_rss=(300 + 10 * second) * MIB,
        server_model_mapped=90 * MIB,
    )


def test_memory_history_keeps_the_last_minutes() -> None:
    history = MemoryHistory(limit=3)
    calls: list[int] = []
    unsubscribe = history.subscribe(lambda: calls.append(1))
    for second in range(5):
        history.add(_sample(second))
    assert list(history.app) == [float((80 + s) * MIB) for s in (2, 3, 4)]
    assert list(history.server) == [float((300 + 10 * s) * MIB) for s in (2, 3, 4)]
    assert len(calls) == 5
    unsubscribe()
    history.add(_sample(5))
    assert len(calls) == 5
    history.add(ResourceSample(1, 1, 1, 0, 0.0, 5 * MIB))  # no server running: 0 bytes
    assert history.server[-1] == 0.0 and history.app[-1] == 5 * MIB


async def test_memory_panel_shows_the_server_and_app_series() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.server is not None
        for second in range(3):  # before the screen opens
            app.post_message(ResourceTick(_sample(second)))
            await pilot.pause()
        await pilot.press("l")
        assert await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), 5)
        panel = app.screen.query_one(MemoryPanel)
        await pilot.pause()
        assert panel.series("server") == [(300 + 10 * s) * MIB for s in range(3)]
        assert panel.series("app") == [(80 + s) * MIB for s in range(3)]
        assert panel.series("model") == [90 * MIB] * 3
        app.post_message(ResourceTick(_sample(3)))
        await pilot.pause()
        await pilot.pause()
        assert panel.series("server")[-1] == 330 * MIB
        assert panel.series("app")[-1] == 83 * MIB
        text = screen_text(app)
        assert "memory, last 5 min" in text
        assert "llama-server" in text and "330M resident" in text
        assert "pelican-tui" in text and "83M resident" in text
        assert "90M of the above" in text
        server_row = next(line for line in text.splitlines() if "330M resident" in line)
        assert server_row.rstrip(" │").endswith("330M resident")
        assert "llama-server      " in server_row, "4 s of a 5 min window: the left is empty"
        assert "█ 330M" in server_row, "the newest samples at the right"
        await pilot.press("escape")
        await pilot.pause()
        app.post_message(ResourceTick(_sample(4)))  # the closed panel no longer listens
        await pilot.pause()
        assert len(app.memory.app) == 5
