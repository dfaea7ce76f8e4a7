"""The sessions screen reads a long history a page at a time.

Opening it reads the same with 170 sessions as with a screenful: one page (the
screen's height and a margin), the count of all of them, and the next page only
when the cursor nears the end. Nor does it check the whole file again while the
app has the store open.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _app_support import make_app, until
from test_tui_screens import NOT_DISMISSED, Host, run_host
from textual.pilot import Pilot
from textual.widgets import DataTable, Label

from pelican_tui.backends import locations
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.screens.sessions_screen import PAGE_SIZE, SessionAction, SessionsScreen

MANY = 2 * PAGE_SIZE + 50


def make_history(path: Path, count: int) -> list[int]:
    """``count`` sessions of one run each, oldest first; returns their ids."""
    ids = []
    with SessionStore.open(path) as store:
        for index in range(count):
            session = store.create_session(f"Prompt number {index}")
            run = store.start_run(session.id, "left", "local", "SmolLM2-135M-Instruct.Q4_1.gguf")
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
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        await until(pilot, lambda: screen.loaded)
        await pilot.pause()
        table = screen.query_one("#sessions-table", DataTable)
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
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        await until(pilot, lambda: screen.loaded)
        table = screen.query_one("#sessions-table", DataTable)
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
