"""The sessions screen reads a long history a page at a time.

Opening it reads the same with 170 sessions as with a screenful: one page (the
screen's height and a margin), the count of all of them, and the next page only
when the cursor nears the end. Nor does it check the whole file again while the
app has the store open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _app_support import make_app, until
from test_tui_screens import NOT_DISMISSED, Host, loaded_sessions, run_host
from textual.pilot import Pilot
from textual.widgets import Label

from pelican_tui.backends import locations
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.screens.sessions_screen import (
    MORE_WHEN_WITHIN,
    PAGE_SIZE,
    SessionAction,
    SessionsScreen,
)
from pelican_tui.screens.sessions_screen_list import SessionList

MANY = 2 * PAGE_SIZE + 50


def make_history(path: Path, count: int, runs: int = 1) -> list[int]:
    """``count`` sessions of ``runs`` runs each (1 or 2), oldest first; returns their ids."""
    ids = []
    with SessionStore.open(path) as store:
        for index in range(count):
            session = store.create_session(f"Prompt number {index}")
            for slot in ("left", "right")[:runs]:
                run = store.start_run(
                    session.id,
                    slot,  # type: ignore[arg-type]
                    "local",
                    "SmolLM2-135M-Instruct.Q4_1.gguf",
                )
                store.finish_run(run, svg="<svg/>")
            ids.append(session.id)
    return ids


async def test_a_long_history_opens_with_one_page_and_reads_the_rest_on_the_way_down(
    tmp_path: Path,
) -> None:
    db = tmp_path / "sessions.sqlite3"
    ids = make_history(db, MANY)
    newest_first = list(reversed(ids))

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one("#sessions-table", SessionList)
        assert table.row_count == PAGE_SIZE, "one page, not the whole history"
        assert screen.total == MANY
        assert str(screen.query_one("#sessions-count", Label).render()) == f"{MANY} sessions"
        # Walk to the end: each page is read as the cursor nears the last row read.
        for _ in range(MANY // 40 + 5):
            await pilot.press("pagedown")
            await pilot.pause()
        await until(pilot, lambda: table.row_count == MANY)
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert [s.id for s in screen.sessions] == newest_first, "in order, none twice"
        assert str(table.get_row_at(MANY - 1)[1]) == "Prompt number 0"
        await pilot.press("enter")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: SessionsScreen(db), body, size=(100, 40))
    assert app.result == SessionAction("open", ids[0])


async def test_deleting_keeps_the_count_and_the_next_page_right(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite3"
    ids = make_history(db, PAGE_SIZE + 10)

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one("#sessions-table", SessionList)
        await pilot.press("d")
        await until(pilot, lambda: app.screen is not screen)
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen and table.row_count == PAGE_SIZE - 1)
        assert screen.total == PAGE_SIZE + 9
        await pilot.press("ctrl+end")
        await until(pilot, lambda: table.row_count == PAGE_SIZE + 9)
        assert [s.id for s in screen.sessions] == list(reversed(ids[:-1]))
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    await run_host(lambda: SessionsScreen(db), body, size=(100, 40))


async def test_the_screen_beside_the_apps_open_store_skips_the_whole_file_check() -> None:
    """The app's store (opened by its first comparison) was checked when it opened:
    the screen's own store on the same file, in the same process, is not checked again;
    and the app's close leaves the record that lets the next start skip it too."""
    db = locations.sessions_db()
    make_history(db, 3)
    closed = db.with_name(db.name + "-closed")
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        store = await app.engine.store()
        assert store.check_on_open == "clean close"
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.loaded)
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        assert screen.total == 3
        assert screen._store is not None and screen._store.check_on_open == "open here"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SessionsScreen))
        assert not closed.exists(), "the app still has the store open"
    assert closed.exists()
    with SessionStore.open(db) as again:
        assert again.check_on_open == "clean close"


LONG = 500


async def test_a_500_session_store_reads_one_page_and_formats_only_the_rows_on_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the screen reads and draws on opening is the same for 500 sessions as for a
    screenful: one page from the store, and cells formatted only for the rows drawn."""
    db = tmp_path / "sessions.sqlite3"
    ids = make_history(db, LONG)
    reads: list[tuple[int, int]] = []
    list_sessions = SessionStore.list_sessions

    def counted(store: SessionStore, limit: int = 50, offset: int = 0) -> list[Any]:
        reads.append((limit, offset))
        return list_sessions(store, limit=limit, offset=offset)

    monkeypatch.setattr(SessionStore, "list_sessions", counted)
    clicked: list[int] = []

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one("#sessions-table", SessionList)
        page = max(PAGE_SIZE, app.size.height + MORE_WHEN_WITHIN)
        assert reads == [(page, 0)], "one page read, from the newest"
        assert table.row_count == page and screen.total == LONG
        on_screen = table.scrollable_content_region.height - 1  # under the header
        assert 0 < len(table._drawn) <= on_screen, "only the rows on screen are formatted"
        # Moving down a screen formats the rows that come into view, no others.
        await pilot.press("pagedown")
        await pilot.pause()
        assert len(table._drawn) <= 2 * on_screen
        assert table.cursor_row == on_screen - 1
        assert screen.selected_session_id == ids[-on_screen]
        # A click on a row moves the cursor there; a second click opens it.
        row_y = table.cursor_row - int(table.scroll_y)  # the row above it (line 0: header)
        await pilot.click(SessionList, offset=(3, row_y))
        assert table.cursor_row == on_screen - 2
        clicked.append(ids[-(on_screen - 1)])
        await pilot.click(SessionList, offset=(3, row_y))
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: SessionsScreen(db), body, size=(160, 48))
    assert app.result == SessionAction("open", clicked[0])


def _steps_to_list_a_page(path: Path) -> int:
    """SQLite virtual-machine steps :meth:`SessionStore.list_sessions` takes for one page."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    with SessionStore.open(path) as store:
        store._conn.set_progress_handler(count, 1)
        page = store.list_sessions(limit=PAGE_SIZE)
        store._conn.set_progress_handler(None, 1)
    assert len(page) == PAGE_SIZE and all(session.runs for session in page)
    return steps


def test_listing_a_page_costs_the_same_in_a_store_ten_times_as_long(tmp_path: Path) -> None:
    """The page's sessions and their runs are found through indexes: the work does not
    grow with the sessions and runs that are not on the page."""
    short, long = tmp_path / "short.sqlite3", tmp_path / "long.sqlite3"
    # Two runs a session, as a comparison makes: up to some thousands of runs, SQLite
    # preferred reading every run in id order to sorting a page's worth of them.
    make_history(short, PAGE_SIZE + 10, runs=2)
    make_history(long, 10 * (PAGE_SIZE + 10), runs=2)
    assert _steps_to_list_a_page(long) <= 1.1 * _steps_to_list_a_page(short)
