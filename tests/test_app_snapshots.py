"""Snapshots of the main screen at 80x24 and 160x48.

Deterministic by construction: no llama-server, no resource sampling (so no
clocks or memory numbers), no hostname; pictures under pytest use textual-image's
Unicode fallback with a fixed cell size.
"""

from __future__ import annotations

from typing import Any

import pytest
from _app_support import header_read, make_app


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_help_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), press=["question_mark"], terminal_size=size)


def test_narrow_second_pane(snap_compare: Any) -> None:
    assert snap_compare(make_app(), press=["w", "t"], terminal_size=(80, 24))


@pytest.fixture(scope="module")
def pelican_png() -> bytes:
    """The corpus pelican, rendered by the real sandboxed worker (deterministic output)."""
    from pathlib import Path

    from pelican_tui.backends.svg.render import SvgRenderer

    svg = (Path(__file__).parent / "svg_corpus" / "good_pelican_bicycle.svg").read_text()
    with SvgRenderer() as renderer:
        result = renderer.render_sync(svg, 400, 300)
    assert result.ok and result.png is not None, result.reason
    return result.png


def _finished_comparison(png: bytes) -> Any:
    """Fill both panes and the status bar with fixed content, as after a run."""
    from pelican_tui.backends.events import (
        Finished,
        LiveStats,
        TextDelta,
        ThinkingDelta,
        Timings,
        Usage,
    )
    from pelican_tui.backends.resources import ResourceSample
    from pelican_tui.widgets.status_bar import StatusBar

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        assert await header_read(pilot), "the panes show the model's facts first"
        for slot, tokens_per_s, thinking in (
            ("left", 38.2, "A pelican: long beak."),
            ("right", 61.0, ""),
        ):
            pane = app.pane(slot)
            pane.ceiling_tok_s = 150.0 if slot == "left" else None
            pane.begin()
            if thinking:
                pane.feed(ThinkingDelta(thinking))
            pane.feed(TextDelta('```svg\n<svg viewBox="0 0 400 300">…</svg>\n```'))
            pane.feed(LiveStats(tokens=120, tokens_per_s=tokens_per_s, time_to_first_token_s=0.41))
            timings = Timings(
                time_to_first_token_s=0.41,
                generation_tokens_per_s=tokens_per_s,
                generated_tokens=2140,
            )
            pane.feed(Finished(timings, Usage(output_tokens=2140, thinking_tokens=812)))
            pane.picture.set_png(png)
            pane.end("finished")
        # The terminal says its size again (as after SIGWINCH): the app lays the panes out
        # as after a run ends, at 80x24 "w: show 2 (finished)".
        await pilot.resize_terminal(*app.size)
        gib = 1024**3
        sample = ResourceSample(
            ram_total=32 * gib,
            ram_used=int(21.3 * gib),
            ram_available=int(10.7 * gib),
            swap_used=0,
            cpu_percent=96.0,
            own_rss=74 * 1024**2,
            server_rss=int(21.0 * gib),  # the model's resident pages included
            server_model_mapped=int(19.8 * gib),
        )
        app.query_one(StatusBar).set_sample(sample)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_finished_comparison(snap_compare: Any, size: tuple[int, int], pelican_png: bytes) -> None:
    app = make_app(overrides={"ui": {"image_mode": "halfcell", "theme": "pelican-dark"}})
    assert snap_compare(app, run_before=_finished_comparison(pelican_png), terminal_size=size)


def _blind_pair(png: bytes) -> Any:
    """A blind comparison waiting for its vote: A a pelican, B an answer with no SVG."""
    from pelican_tui.votes import Contender, VotePair

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        a = Contender(1, png, None, "ink 41% · 39 elements · 2.5 KB", "1 local", "38.2 tok/s")
        b = Contender(2, None, "no SVG in the answer", "no SVG", "2 claude", "61.0 tok/s")
        app.pending_pairs.append(VotePair(a, b, "sample 1/2"))
        app.show_blind()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_blind_vote(snap_compare: Any, size: tuple[int, int], pelican_png: bytes) -> None:
    app = make_app(overrides={"ui": {"image_mode": "halfcell", "blind": True}})
    assert snap_compare(app, run_before=_blind_pair(pelican_png), terminal_size=size)


def _stored_runs(samples: int = 1) -> None:
    """Comparisons in the test's own session store: ``samples`` of a pelican against a
    blank (the first voted A, the rest B), and one of no SVG against a pelican (a tie)."""
    from _evidence_support import add_comparison, pictures

    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore

    drawn = pictures()
    with SessionStore.open(locations.sessions_db()) as store:
        pairs = [add_comparison(store, drawn["pelican"], drawn["blank"]) for _ in range(samples)]
        second = add_comparison(store, drawn["no_svg"], drawn["pelican"])
        for index, pair in enumerate(pairs):
            store.add_vote(*pair, "a" if index == 0 else "b", blind=True)
        store.add_vote(*second, "tie", blind=False)


async def _wait_for_screen(pilot: Any, name: str) -> None:
    from _app_support import pictures_drawn, wait_for

    app = pilot.app
    await wait_for(pilot, lambda: type(app.screen).__name__ == name, 10)
    screen = app.screen
    await wait_for(
        pilot,
        lambda: getattr(screen, "loaded", False) or getattr(screen, "board", None) is not None,
        20,
    )
    await pictures_drawn(pilot, screen)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_gallery(snap_compare: Any, size: tuple[int, int]) -> None:
    from _evidence_support import PROMPT

    _stored_runs()
    app = make_app(overrides={"prompt": PROMPT, "ui": {"image_mode": "halfcell"}})

    async def run_before(pilot: Any) -> None:
        await pilot.press("g")
        await _wait_for_screen(pilot, "GalleryScreen")

    assert snap_compare(app, run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_leaderboard(snap_compare: Any, size: tuple[int, int]) -> None:
    from _evidence_support import PROMPT

    _stored_runs(samples=6)  # seven votes, each on a pair of its own
    app = make_app(overrides={"prompt": PROMPT})

    async def run_before(pilot: Any) -> None:
        await pilot.press("L")
        await _wait_for_screen(pilot, "LeaderboardScreen")

    assert snap_compare(app, run_before=run_before, terminal_size=size)
