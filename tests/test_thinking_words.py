"""A run's thinking is named one way wherever it is shown, as its configuration's label
says it (Claude's with its effort: "thinking high").

Before: `run`'s summary said "on" and the pane's numbers line "think on" for a Claude
run the pane's title, the gallery and the leaderboard called "thinking high"; the
session's title said "thinking on".
"""

from __future__ import annotations

import pytest
from _anthropic_server import AnthropicTestServer
from _app_support import make_app, wait_for

from pelican_tui.backends import locations
from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.ratings.configuration import run_label
from pelican_tui.backends.store.records import Run
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import LABEL_PARTS
from pelican_tui.cli.run_summary import SessionOutcome, summary_table

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
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-not-a-secret")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.base_url)
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
            assert ended and not app.comparing
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
