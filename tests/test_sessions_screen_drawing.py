"""What the sessions screen draws as it opens, and how often.

Opening it shows the keys a list with rows has while its first page is read
(so they do not change when the rows come), Textual's loading indicator only
when the store is slow to answer, and the list's lines in the styles of their
rows and of the cursor, one drawing pass at a time.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _app_support import until
from test_tui_screens import Host, loaded_sessions, make_store, run_host
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.screens.sessions_screen import SessionsScreen
from pelican_tui.screens.sessions_screen_list import SessionList

SESSION_KEYS = {"Open", "Rerun", "Export", "Delete"}


def _keys(screen: SessionsScreen) -> set[str]:
    return {key.description for key in screen.query(FooterKey)}


@contextlib.contextmanager
def _held_by_another_writer(db: Path) -> Iterator[sqlite3.Connection]:
    """A store of three sessions that another writer holds (``BEGIN IMMEDIATE``): the
    screen's store upgrade step waits until the test sends ``COMMIT`` on it."""
    make_store(db)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        yield writer
    finally:
        writer.close()


async def test_the_keys_stay_as_they_are_when_the_rows_come(tmp_path: Path) -> None:
    """The keys that need a session are shown while the first page is read, as a list
    with rows shows them: its arrival changes none, so the footer's keys are not
    composed again. (Another writer holds the store until the keys are drawn.)"""
    db = tmp_path / "sessions.sqlite3"
    with _held_by_another_writer(db) as writer:

        async def body(pilot: Pilot[Any], app: Host) -> None:
            screen = app.screen
            assert isinstance(screen, SessionsScreen)
            await until(pilot, lambda: _keys(screen) >= SESSION_KEYS)
            assert not screen.loaded
            before = list(screen.query(FooterKey))
            writer.execute("COMMIT")
            await loaded_sessions(pilot, app)
            await pilot.pause()
            assert screen.query_one(SessionList).row_count == 3
            assert list(screen.query(FooterKey)) == before, "the footer was composed again"

        await run_host(lambda: SessionsScreen(db), body)


async def test_an_empty_store_hides_the_keys_that_need_a_session(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite3"
    with SessionStore.open(db):
        pass

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        await until(pilot, lambda: not SESSION_KEYS & _keys(screen))
        assert "Close" in _keys(screen)
        assert screen.selected_session is None

    await run_host(lambda: SessionsScreen(db), body)


async def test_a_slow_store_shows_the_loading_indicator_until_its_page_comes(
    tmp_path: Path,
) -> None:
    """Another writer holds the store: the screen's open waits for it, and the list
    shows that it is loading until the page comes."""
    db = tmp_path / "sessions.sqlite3"
    with _held_by_another_writer(db) as writer:

        async def body(pilot: Pilot[Any], app: Host) -> None:
            screen = app.screen
            assert isinstance(screen, SessionsScreen)
            table = screen.query_one(SessionList)
            await until(pilot, lambda: table.loading)
            assert not screen.loaded
            writer.execute("COMMIT")
            await loaded_sessions(pilot, app)
            assert not table.loading
            assert table.row_count == 3

        await run_host(lambda: SessionsScreen(db), body)


async def test_the_cursor_row_and_the_even_rows_are_drawn_in_their_styles(
    tmp_path: Path,
) -> None:
    """Lines drawn in one pass (as Textual draws them) take the cursor's style on the
    cursor's row only, and it moves with the cursor; even rows keep their own."""
    db = tmp_path / "sessions.sqlite3"
    make_store(db)

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one(SessionList)

        def backgrounds() -> list[object]:
            width = table.scrollable_content_region.width
            lines = table.render_lines(Region(0, 0, width, 4))  # the header and 3 rows
            return [next(iter(line)).style.bgcolor for line in lines]  # type: ignore[union-attr]

        header, first, second, third = backgrounds()
        assert len({header, first, second}) == 3, "header, cursor and odd rows differ"
        assert third != second, "the third row is even, as the first"
        await pilot.press("down")
        await until(pilot, lambda: table.cursor_row == 1)
        await pilot.pause()
        moved = backgrounds()
        assert moved[2] == first, "the cursor's style moved to the second row"
        assert moved[1] == third, "the first row is drawn as an even row again"
        assert moved[0] == header

    await run_host(lambda: SessionsScreen(db), body, size=(120, 30))


async def test_the_models_take_the_room_the_prompts_leave(tmp_path: Path) -> None:
    """At 160 columns the models were cut ("SmolLM2-135M-Instruct.… vs …") beside a
    prompt column twice as wide as the longest prompt. A model both panes ran is named
    once (at 80 columns it was "SmolLM… vs SmolLM…")."""
    db = tmp_path / "sessions.sqlite3"
    with SessionStore.open(db) as store:
        session = store.create_session("A pelican riding a bicycle")
        for slot in ("left", "right"):
            run = store.start_run(session.id, slot, "local", "SmolLM2-135M-Instruct.Q4_1.gguf")
            store.finish_run(run, svg="<svg/>")

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one(SessionList)
        [_date, prompt, models, _verdict] = (str(cell) for cell in table.get_row_at(0))
        assert prompt == "A pelican riding a bicycle"
        assert models == "SmolLM2-135M-Instruct.Q4_1 (both)"

    await run_host(lambda: SessionsScreen(db), body, size=(160, 48))
