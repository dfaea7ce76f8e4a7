"""The status bar and the memory panel repaint only what a new sample changes.

Checked in a tiny host app, counting the regions each widget asks to repaint:
the same sample again repaints nothing; a new CPU figure repaints a few cells of
the bar, not its line, and a shorter one does not move the segments after it;
the memory panel repaints nothing for a sample that changes none of its rows.
No clocks: the samples are handed over.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region

from pelican_tui.backends.resources import ResourceSample
from pelican_tui.widgets.memory_panel import MemoryHistory, MemoryPanel
from pelican_tui.widgets.status_bar import StatusBar

GIB = 1 << 30


def _sample(cpu: float = 12.0, own_rss: int = 80 << 20) -> ResourceSample:
    return ResourceSample(
        ram_total=8 * GIB, ram_used=3 * GIB, ram_available=5 * GIB, swap_used=0,
        cpu_percent=cpu, own_rss=own_rss, server_rss=2 * GIB, server_model_mapped=GIB,
    )  # fmt: skip


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.history = MemoryHistory()

    def compose(self) -> ComposeResult:
        yield MemoryPanel(self.history)
        yield StatusBar("halfcell")


def _count_refreshes(widget: Any) -> list[tuple[Region, ...]]:
    """Record the regions of each ``refresh`` of ``widget`` (``()``: the whole widget)."""
    calls: list[tuple[Region, ...]] = []
    refresh = widget.refresh

    def counted(*regions: Region, **kwargs: Any) -> Any:
        calls.append(regions)
        return refresh(*regions, **kwargs)

    widget.refresh = counted
    return calls


async def test_the_status_bar_repaints_only_the_cells_that_changed() -> None:
    app = Host()
    async with app.run_test(size=(160, 10)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set_sample(_sample())
        await pilot.pause()
        line = bar.render_text().plain  # CPU 12%
        calls = _count_refreshes(bar)

        bar.set_sample(_sample())
        bar.set_sides(list(bar.side_notes))
        assert calls == [], "the same words: no repaint"

        bar.set_sample(_sample(cpu=100.0))  # wider: moves what follows, once
        assert len(calls) == 1 and calls[0], "regions, not the whole bar"
        assert bar.render_text().plain.startswith(line[: line.index("CPU")])
        await pilot.pause()

        bar.set_sample(_sample(cpu=7.0))  # shorter: the rest of the line stays put
        assert len(calls) == 2 and sum(region.width for region in calls[1]) <= 4, calls
        assert len(bar.render_text().plain) == len(line) + 1, "the widest CPU width is kept"
        bar.set_sample(_sample(cpu=42.0))
        assert len(calls) == 3 and sum(region.width for region in calls[2]) <= 3, calls
        await pilot.pause()


async def test_the_memory_panel_repaints_nothing_for_the_same_numbers() -> None:
    app = Host()
    async with app.run_test(size=(160, 10)) as pilot:
        panel = app.query_one(MemoryPanel)
        for _ in range(3):
            app.history.add(_sample())
        await pilot.pause()
        widgets = [panel, *panel.query("*")]
        calls = [_count_refreshes(widget) for widget in widgets]
        app.history.add(_sample(cpu=50.0))  # the CPU is not in the panel
        assert all(not made for made in calls), calls
        app.history.add(_sample(own_rss=81 << 20))  # the app's row changes
        assert any(made for made in calls)
        await pilot.pause()


async def test_a_text_line_repaints_the_digits_that_changed() -> None:
    from pelican_tui.widgets.text_line import TextLine

    class LineHost(App[None]):
        def compose(self) -> ComposeResult:
            yield TextLine("3.1s · 31.4 tok/s · 97 tok")

    app = LineHost()
    async with app.run_test(size=(80, 4)) as pilot:
        line = app.query_one(TextLine)
        calls = _count_refreshes(line)
        line.update(line.text)
        assert calls == []
        line.update("3.4s · 31.2 tok/s · 98 tok")
        assert [[region.x for region in regions] for regions in calls] == [[2, 10, 21]]
        line.update("3.4s · 31.2 tok/s · 100 tok")  # longer: the rest moves, the start stays
        assert calls[1][0].x == 20
        line.update("x" * 100)  # cut with an ellipsis: all of it
        assert calls[2] == ()
        await pilot.pause()


async def test_at_80_columns_claudes_state_stays_and_the_image_mode_gives_way() -> None:
    """At 80 columns the bar dropped "claude: no key" and kept "img halfcell", which a
    notification says anyway when it is a fallback."""
    app = Host()
    async with app.run_test(size=(80, 10)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set_server_note("server: ready")
        bar.set_sides([("claude: no key", False)])
        bar.set_sample(_sample())
        await pilot.pause()
        line = bar.render_text().plain
        assert line.endswith("claude: no key"), line
        assert "img" not in line and "srv 2.0G (model 1.0G)" in line, line
        await pilot.resize_terminal(160, 10)
        await pilot.pause()
        assert bar.render_text().plain.endswith("claude: no key │ img halfcell"), "given room"


async def test_at_80_columns_a_long_server_note_leaves_room_for_memory() -> None:
    """Attached to a llama-server (--url), the bar's first segment named the server and
    its model ("local: llama.cpp b11434-unknown · SmolLM2-135M-Instruct.Q4_1.gguf") and
    at 80 columns left room for nothing else: RAM and the server's memory were gone. The
    note gives up its model (the pane's title names it) before they go."""
    app = Host()
    note = "local: llama.cpp b11434-unknown · SmolLM2-135M-Instruct.Q4_1.gguf"
    async with app.run_test(size=(80, 10)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set_server_note(note)
        bar.set_sides([("claude: off", False)])
        bar.set_sample(_sample())
        await pilot.pause()
        line = bar.render_text().plain
        assert line.startswith("local: llama.cpp b11434-unknown · … │ RAM 3.0G/8.0G"), line
        assert line.endswith("srv 2.0G (model 1.0G)"), line  # then by their priorities
        await pilot.resize_terminal(160, 10)
        await pilot.pause()
        assert bar.render_text().plain.startswith(f"{note} │ RAM"), "given room, whole"


async def test_a_server_stopped_while_it_loads_is_said_suspended() -> None:
    """kill -STOP on llama-server during its load: the bar counted "server: loading… 41s"
    on, as if it loaded; once ready, a stopped server was already said suspended."""
    from pelican_tui.backends.llama.process import ServerState, ServerStatus

    app = Host()
    async with app.run_test(size=(80, 10)) as pilot:
        bar = app.query_one(StatusBar)
        bar.set_server(ServerStatus(ServerState.LOADING, "loading model", pid=4321))
        bar.set_sample(_sample())
        await pilot.pause()
        assert bar.render_text().plain.startswith("server: loading… "), bar.render_text()
        stopped = dataclasses.replace(_sample(), server_suspended=True)
        bar.set_sample(stopped)
        await pilot.pause()
        line = bar.render_text().plain
        assert line.startswith("server: suspended (kill -CONT resumes) │ RAM"), line
