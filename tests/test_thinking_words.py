"""A run's thinking is named one way wherever it is shown, as its configuration's label
says it (Claude's with its effort: "thinking high"), and the session lists are headed
by what they show and cut where it keeps the prompt's name whole.

Before: `run`'s summary said "on" and the pane's numbers line "think on" for a Claude
run the pane's title, the gallery and the leaderboard called "thinking high"; the
session's title said "thinking on". `sessions list` headed the titles it lists PROMPT
and cut them at 40 characters anywhere ("tiny/sun · local vs claude · thinking o…").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _anthropic_server import AnthropicTestServer
from _app_support import make_app, wait_for
from test_tui_screens import Host, loaded_sessions, run_host
from textual.pilot import Pilot

from pelican_tui.backends import locations
from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.ratings.configuration import run_label
from pelican_tui.backends.store.records import Run
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import LABEL_PARTS, shorten_parts
from pelican_tui.cli.run_summary import SessionOutcome, summary_table
from pelican_tui.cli.sessions import format_session_table
from pelican_tui.screens.sessions_screen import SessionsScreen
from pelican_tui.screens.sessions_screen_list import SessionList

CLAUDE_THINKING = {"thinking": True, "effort": "high", "thinking_ran": True}
LOCAL_DID_NOT = {"thinking": True, "thinking_ran": False}


def _label_thinking(run: Run) -> str:
    """What the gallery and the leaderboard say of a run's thinking ("thinking high")."""
    return run_label(run).rpartition(LABEL_PARTS)[2]


def test_the_run_summary_names_thinking_as_the_leaderboard_does() -> None:
    with SessionStore.open() as store:
        session = store.create_session("Generate an SVG of a pelican riding a bicycle")
        for slot, backend, model, settings in (
            ("left", "local", "SmolLM2-135M-Instruct.Q4_1.gguf", LOCAL_DID_NOT),
            ("right", "claude", "claude-opus-4-7", CLAUDE_THINKING),
        ):
            run_id = store.start_run(session.id, slot, backend, model, {}, settings)  # type: ignore[arg-type]
            store.finish_run(run_id, answer="no", timings={"total_s": 1.0})
        stored = store.get_session(session.id)
    table = summary_table([SessionOutcome(session.id, 1, "as set", session=stored)], 1)
    header, *rows = table.splitlines()
    at = header.index("THINKING")
    cells = [row[at:].split("  ")[0] for row in rows]  # left's run, then right's
    assert cells == ["on (did not)", "high"], table
    for run, cell in zip(stored.runs, cells, strict=True):  # what the label says after it
        assert f"thinking {cell}" == _label_thinking(run), (table, run_label(run))
    assert _label_thinking(stored.runs[1]) == "thinking high"


async def test_the_pane_the_title_and_the_label_say_claudes_effort_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both panes on the loopback Claude at effort medium, thinking and not: the
    numbers lines said "think on" and "think off", the session's title "thinking on vs
    off"; the panes' titles and the gallery "thinking medium"."""
    with AnthropicTestServer() as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0, "effort": "medium"}})
        app.choices["left"] = PaneChoice("claude", True)
        app.choices["right"] = PaneChoice("claude", False)
        async with app.run_test(size=(160, 48)) as pilot:
            left, right = app.pane("left"), app.pane("right")
            ready = await wait_for(pilot, lambda: str(left.border_title).startswith("1 claude"), 10)
            assert ready, left.border_title
            assert left.stats_line().endswith(" · thinking medium"), left.stats_line()
            await pilot.press("r")
            done = ("finished", "failed", "cancelled")
            ended = await wait_for(pilot, lambda: {left.state, right.state} <= set(done), 30)
            assert ended
            # The comparison's task ends just after its panes do (it saves the session).
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            assert left.state == right.state == "finished"
            assert left.stats_line().endswith(" · thinking medium"), left.stats_line()
            assert right.stats_line().endswith(" · thinking off"), right.stats_line()
            session_id = app.session_id
            await app.workers.wait_for_complete()
    assert session_id is not None
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.get_session(session_id)
        [summary] = [s for s in store.list_sessions() if s.id == session_id]
    assert [_label_thinking(run) for run in session.runs] == ["thinking medium", "thinking off"]
    assert session.title.endswith(" · thinking medium vs off"), session.title
    assert summary.listed_as.endswith(" · thinking medium vs off"), "as both lists show it"


TITLE = "tiny/sun · local vs claude · thinking on vs high · sample 2/4"


def test_a_cut_title_keeps_its_prompts_name_whole() -> None:
    assert shorten_parts(TITLE, 200) == TITLE
    assert shorten_parts(TITLE, 40) == "tiny/sun · … · sample 2/4"
    assert shorten_parts(TITLE, 52) == "tiny/sun · local vs claude · … · sample 2/4"
    assert shorten_parts(TITLE, 12) == "tiny/sun · …"
    assert shorten_parts(TITLE, 10) == "tiny/sun"
    assert shorten_parts(TITLE, 6) == "tiny/…"
    long_prompt = "Generate an SVG of a pelican riding a bicycle · local vs claude"
    assert shorten_parts(long_prompt, 40) == "Generate an SVG of a pelican riding a b…"


async def test_sessions_list_and_the_browser_head_and_cut_titles_alike(tmp_path: Path) -> None:
    """`sessions list` headed PROMPT what is the session's title, cut mid-word at 40
    characters ("tiny/sun · local vs claude · thinking o…"); the browser did the same
    under "Prompt"."""
    db = tmp_path / "sessions.sqlite3"
    with SessionStore.open(db) as store:
        store.create_session("Draw the sun", title=TITLE, prompt_set="tiny")
        listed = format_session_table(store.list_sessions(), width=80).splitlines()
    assert listed[0].split() == ["ID", "DATE", "TITLE", "MODELS", "VERDICT"]
    assert "  tiny/sun · … · sample 2/4  " in listed[1], listed

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one("#sessions-table", SessionList)
        header = table.render_line(0).text
        assert header.split()[:2] == ["Date", "Title"], header
        cell = str(table.get_row_at(0)[1])
        assert cell.startswith("tiny/sun · ") and cell.endswith(" · sample 2/4"), cell

    await run_host(lambda: SessionsScreen(db), body, size=(80, 24))
