"""End to end: the real tiny model and the loopback Claude server stream into the app."""

from __future__ import annotations

import itertools
import os
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
from _anthropic_server import AnthropicTestServer, Scenario
from _app_support import (
    COPY_SVG_PROMPT,
    RUN_WAIT_S,
    header_read,
    make_app,
    server_ready,
    wait_for,
)
from textual import events
from textual.pilot import Pilot

from pelican_tui.app import PelicanApp
from pelican_tui.backends import locations
from pelican_tui.backends.engine.run import PNG_SIZE
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.svg.render import png_size
from pelican_tui.widgets.model_pane import ModelPane

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_both_models_stream_and_both_pictures_appear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    previews: list[tuple[str, tuple[int, int]]] = []
    stage = ModelPane.stage_preview

    def staged(pane: ModelPane, png: bytes) -> None:
        previews.append((pane.slot, png_size(png)))
        stage(pane, png)

    monkeypatch.setattr(ModelPane, "stage_preview", staged)
    # Claude's answer streams over ~2.4 s (24 pieces, 0.1 s apart), so its pane has
    # previews to draw however fast the machine is; the stand-in's short SVG may
    # be over before its first preview is due.
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.1) as claude:
        claude.serve(monkeypatch)
        app = make_app(
            start_server=True, overrides={"prompt": COPY_SVG_PROMPT, "claude": {"max_retries": 0}}
        )
        async with app.run_test(size=(160, 48)) as pilot:
            await server_ready(pilot)
            assert app.choices["right"].side == "claude"
            await pilot.press("r")
            done = ("finished", "failed", "cancelled")
            assert await wait_for(
                pilot, lambda: all(app.pane(s).state in done for s in ("left", "right")), 90
            )
            for slot in ("left", "right"):
                pane = app.pane(slot)
                assert pane.state == "finished", (slot, pane.stats_line())
                assert pane.answer_text
                assert pane.picture.png is not None, (slot, pane.answer_text)
                assert pane.picture.png.startswith(PNG_MAGIC)
                assert "tok/s" in pane.stats_line()
            assert app.pane("right").thinking_text, "Claude's thinking should stream too"
            # Live previews have the stored picture's shape, so the final one takes
            # their cells (no jump in size, no layout of the screen at the end).
            assert any(slot == "right" for slot, _ in previews), "previewed while it streams"
            assert all(w * PNG_SIZE[1] == h * PNG_SIZE[0] for _, (w, h) in previews), previews
            await pilot.press("less_than_sign")
            # Stored off the event loop: said once it is (a loaded machine took longer
            # than one pause, and the app closed before the verdict was written).
            saved = "Verdict saved: left is better."
            assert await wait_for(
                pilot, lambda: any(n.message.startswith(saved) for n in app.notices), 15
            ), [n.message for n in app.notices]
            session_id = app.session_id
        assert session_id is not None
        with SessionStore.open(locations.sessions_db()) as store:
            session = store.get_session(session_id)
        assert session.verdict == "left"
        runs = {run.slot: run for run in session.runs}
        assert runs["left"].status == runs["right"].status == "finished"
        assert runs["left"].model_info.get("sha256"), "model file hash must be recorded"
        assert runs["right"].model_id == "claude-opus-4-7"
        assert runs["left"].png and runs["right"].png
        raw = Path(locations.sessions_db()).read_bytes()  # noqa: ASYNC240
        assert b"test-key-not-a-secret" not in raw


async def test_server_killed_mid_run_fails_one_pane_not_the_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.1) as claude:
        claude.serve(monkeypatch)
        app = make_app(
            start_server=True,
            overrides={
                "prompt": "Write a very long story about a pelican.",
                "local": {"context": 2048, "max_tokens": 1500, "seed": 7},
                "claude": {"max_retries": 0},
            },
        )
        async with app.run_test(size=(160, 48)) as pilot:
            server = await server_ready(pilot)
            await pilot.press("r")
            left, right = app.pane("left"), app.pane("right")
            assert await wait_for(pilot, lambda: len(left.answer_text) > 20, 30)
            assert server.pid is not None
            os.kill(server.pid, signal.SIGKILL)
            assert await wait_for(pilot, lambda: left.state == "failed", 20)
            problem = str(left.query_one(".problem").render())
            assert "closed the connection" in problem and "restart" in problem
            assert await wait_for(pilot, lambda: right.state == "finished", 60)
            assert right.picture.png is not None
            assert await wait_for(pilot, lambda: server.status.state.value == "crashed", 5)
            (crash,) = [n.message for n in app.notices if "exited unexpectedly" in n.message]
            assert crash.startswith("llama-server exited unexpectedly (killed by SIGKILL).")
            await pilot.press("1")  # on the crashed server: not run, said once
            assert await wait_for(pilot, lambda: "Not run:" in _problem(left), 10)
            assert _problem(left) == (
                "Not run: llama-server exited unexpectedly (killed by SIGKILL) — "
                "press R to restart the server, l for its log"
            )


def _problem(pane: ModelPane) -> str:
    return str(pane.query_one(".problem").render())


async def test_single_pane_run_cancel_save_export_and_verdicts() -> None:
    app = make_app(
        start_server=True,
        # --ignore-eos: the story cannot end by itself before "c" is pressed.
        overrides={
            "prompt": "Write a very long story.",
            "local": {"max_tokens": 2000, "extra_args": ["--ignore-eos"]},
        },
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await server_ready(pilot)
        left, right = app.pane("left"), app.pane("right")
        await pilot.press("1")
        assert await wait_for(pilot, lambda: len(left.answer_text) > 10, 30)
        assert right.state == "idle", "1 runs the left pane only"
        await pilot.press("c")
        assert await wait_for(pilot, lambda: left.state == "cancelled", 10)
        await pilot.press("2")
        assert await wait_for(pilot, lambda: len(right.answer_text) > 10, 30)
        await pilot.press("c")
        assert await wait_for(pilot, lambda: right.state == "cancelled", 10)
        session_id = app.session_id
        assert session_id is not None
        await pilot.press("s")
        await pilot.press("greater_than_sign")
        await pilot.press("greater_than_sign")
        await pilot.press("x")
        export_dir = locations.exports_dir() / f"session-{session_id}"
        assert await wait_for(pilot, lambda: (export_dir / "session.json").exists(), 30)
        notes = " ".join(n.message for n in app.notices)
        assert f"Session #{session_id} saved" in notes
        # Both runs were cancelled: no picture to prefer, no verdict (one was saved, and
        # shown in the sessions list, though the ratings left it out).
        refused = (
            "No verdict: the left pane's run was cancelled and the right pane's run was "
            "cancelled; a verdict compares two finished pictures."
        )
        assert [n.message for n in app.notices].count(refused) == 2, notes
        assert "Verdict saved" not in notes
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.get_session(session_id)
        assert store.votes() == []
    assert session.verdict is None
    assert {run.status for run in session.runs} == {"cancelled"}
    assert all(run.answer for run in session.runs), "cancelled runs keep their text"
    assert (export_dir / "run-card.md").exists() and (export_dir / "index.html").exists()


async def test_a_starting_server_is_not_called_not_started() -> None:
    """Between the pane's first description and readiness, the pane must not tell the
    user to restart a server that is on its way (seen at start-up in tmux)."""
    app = make_app(start_server=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await header_read(pilot)
        server = app.server
        assert server is not None
        problems: set[str] = set()

        def watch() -> bool:
            problems.add(str(app.pane("left").query_one(".problem").render()))
            return server.status.state.value == "ready"

        assert await wait_for(pilot, watch, 90)
        await pilot.pause()
        watch()
        assert not any("not started" in text for text in problems), problems
        assert str(app.pane("left").query_one(".problem").render()) == ""


async def test_the_status_bar_says_claude_streams_while_it_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The local pane's run ended (finished, or cancelled by R) while Claude's still
    streamed: the status bar went back to "claude: ready" beside a pane still running
    on it, until that run ended too."""
    from pelican_tui.widgets.status_bar import StatusBar

    # Claude's answer takes ~16 s (40 pieces, 0.4 s apart); the stand-in's, 32 tokens.
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.4) as claude:
        claude.serve(monkeypatch)
        overrides = {
            "claude": {"max_retries": 0},
            "local": {"context": 2048, "max_tokens": 32, "seed": 7},
        }
        app = make_app(start_server=True, overrides=overrides)
        async with app.run_test(size=(160, 48)) as pilot:
            await server_ready(pilot)
            left, right = app.pane("left"), app.pane("right")
            await pilot.press("r")
            bar = app.query_one(StatusBar)
            assert await wait_for(pilot, lambda: left.state == "finished", 60), left.stats_line()
            assert right.state == "running", "Claude's answer outlasts the stand-in's"
            assert bar.claude_note == "claude: streaming", bar.claude_note
            assert await wait_for(pilot, lambda: right.state == "finished", 60)
            assert bar.claude_note == "claude: ready", bar.claude_note


async def test_the_status_bar_says_claude_refused_the_key_until_a_run_of_it_finishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claude refused the key (401) and the status bar said "claude: ready" as soon as
    the local run ended. Now it says the key was refused, until a run of Claude's
    finishes (the key was fixed where it is kept)."""
    from pelican_tui.widgets.status_bar import StatusBar

    with AnthropicTestServer(scenario="401") as claude:
        claude.serve(monkeypatch)
        overrides = {
            "claude": {"max_retries": 0},
            "local": {"context": 2048, "max_tokens": 24, "seed": 7},
        }
        app = make_app(start_server=True, overrides=overrides)
        async with app.run_test(size=(160, 48)) as pilot:
            await server_ready(pilot)
            left, right = app.pane("left"), app.pane("right")
            bar = app.query_one(StatusBar)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.comparing, 10)
            assert await wait_for(pilot, lambda: not app.comparing, 60)
            assert (left.state, right.state) == ("finished", "failed")
            assert bar.claude_note == "claude: key refused", bar.claude_note
            claude.scenario = "ok"
            await pilot.press("2")
            assert await wait_for(pilot, lambda: right.state == "finished", 60), right.state
            assert bar.claude_note == "claude: ready", bar.claude_note


async def test_the_status_bar_says_how_claudes_latest_run_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claude refused the key (401), then was overloaded (529): the bar said "claude:
    failed", and c on the local pane's run brought "claude: key refused" back, an
    error of an earlier run. After a cut stream, c turned "claude: failed" into
    "claude: ready". Now the bar says how Claude's latest run ended, whatever the
    other pane does after it."""
    from pelican_tui.widgets.status_bar import StatusBar

    with AnthropicTestServer(scenario="401") as claude:
        claude.serve(monkeypatch)
        local = {"context": 2048, "max_tokens": 400, "seed": 7, "extra_args": ["--ignore-eos"]}
        overrides = {"claude": {"max_retries": 0}, "local": local}
        app = make_app(start_server=True, overrides=overrides)
        async with app.run_test(size=(160, 48)) as pilot:
            await server_ready(pilot)
            left, right = app.pane("left"), app.pane("right")
            bar = app.query_one(StatusBar)

            async def claude_run(scenario: Scenario) -> None:
                claude.scenario = scenario
                before = app.pane_runs.get("right")
                await pilot.press("2")

                def ended() -> bool:  # a failure may end it between two looks: its run's id
                    return app.pane_runs.get("right") != before and right.state != "running"

                assert await wait_for(pilot, ended, 60), right.state

            async def local_run_cancelled() -> None:
                await pilot.press("1")
                assert await wait_for(pilot, lambda: left.state == "running", 30)
                await pilot.press("c")
                assert await wait_for(pilot, lambda: left.state == "cancelled", 30)

            await claude_run("401")
            assert bar.claude_note == "claude: key refused", bar.claude_note
            await claude_run("529")
            assert right.state == "failed"
            assert bar.claude_note == "claude: failed", bar.claude_note
            await local_run_cancelled()
            assert bar.claude_note == "claude: failed", "not the 401 of the run before"
            await claude_run("ok")
            assert bar.claude_note == "claude: ready", bar.claude_note
            await claude_run("cut")
            assert right.state == "failed"
            assert bar.claude_note == "claude: failed", bar.claude_note
            await local_run_cancelled()
            assert bar.claude_note == "claude: failed", bar.claude_note


async def test_the_status_bar_says_how_long_claude_has_sent_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Claude that accepted the request and sent nothing: the bar said "claude:
    streaming" until the idle limit, while the pane said "no data for 99 s". Now the
    bar says it too, then that the run failed."""
    from pelican_tui.widgets.status_bar import StatusBar

    with AnthropicTestServer(scenario="silent") as claude:
        claude.serve(monkeypatch)
        overrides = {"claude": {"max_retries": 0}, "idle_timeout_s": 12}
        app = make_app(overrides=overrides)
        async with app.run_test(size=(160, 48)) as pilot:
            right = app.pane("right")
            bar = app.query_one(StatusBar)
            await pilot.press("2")
            assert await wait_for(pilot, lambda: right.state == "running", 10)
            seen: set[str] = set()

            def silent_said() -> bool:
                seen.add(bar.claude_note)
                return bar.claude_note.startswith("claude: no data for ")

            assert await wait_for(pilot, silent_said, 10), seen
            assert "no data for" in right.stats_line(), right.stats_line()
            assert await wait_for(pilot, lambda: right.state == "failed", 30), right.state
            assert bar.claude_note == "claude: failed", bar.claude_note


async def test_the_answer_and_pictures_opened_mid_run_say_they_are_so_far(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """a and f while Claude streamed showed the text and numbers as they were when
    opened, frozen, with the running mark "▶" that never turned to "✓": the answer
    looked cut short, the numbers live. Now they say the run goes on."""
    from textual.widgets import TextArea

    from pelican_tui.screens.picture_screen import PictureScreen
    from pelican_tui.screens.text_screen import TextScreen

    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.4) as claude:
        claude.serve(monkeypatch)
        app = make_app(start_server=True, overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(160, 48)) as pilot:
            await server_ready(pilot)
            right = app.pane("right")
            await pilot.press("w", "r")  # the Claude pane is the active one
            assert await wait_for(pilot, lambda: bool(right.thinking_text), 30)
            assert right.state == "running"
            await pilot.press("a")
            assert await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), 5)
            title = str(app.screen.query_one(TextArea).border_title)
            assert title.endswith(" · so far: still running"), title
            await pilot.press("escape", "f")
            assert await wait_for(pilot, lambda: isinstance(app.screen, PictureScreen), 5)
            screen = app.screen
            assert isinstance(screen, PictureScreen)
            caption = screen.pictures[1].caption
            # The pictures follow the run (test_app_keys): "still running", not "so far".
            assert caption.startswith("▶") and caption.endswith(" · still running"), caption
            assert "so far" not in caption, caption
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: right.state == "finished", 60)
            await pilot.press("a")
            assert await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), 5)
            assert "so far" not in str(app.screen.query_one(TextArea).border_title)


async def test_server_settings_applied_mid_run_say_the_runs_were_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """S and ctrl+s while Claude streamed cancelled Claude's run too (every backend is
    rebuilt) without a word: the pane just turned to "cancelled"."""
    from pelican_tui.screens.server_settings_screen import ServerSettingsScreen

    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.4) as claude:
        claude.serve(monkeypatch)
        app = make_app(start_server=True, overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(160, 48)) as pilot:
            await server_ready(pilot)
            left, right = app.pane("left"), app.pane("right")
            await pilot.press("r")
            assert await wait_for(pilot, lambda: bool(right.thinking_text), 30)
            await pilot.press("S")
            assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
            live = [slot for slot in ("left", "right") if app.pane(slot).state == "running"]
            old_server = app.server
            await pilot.press("ctrl+s")
            assert await wait_for(pilot, lambda: right.state == "cancelled", 10)
            said = "; ".join(
                f"the {slot} pane's run in flight was cancelled and kept as cancelled"
                for slot in live
            )
            notes = [n.message for n in app.notices]
            assert f"Applying the server settings: {said}." in notes, notes
            assert left.state in ("finished", "cancelled")
            # The runs are cancelled before the old server stops: the new one is ready next.
            assert await wait_for(pilot, lambda: app.server is not old_server, 30)
            await server_ready(pilot)


async def test_a_picture_that_draws_nothing_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """An SVG that renders but draws nothing (the stand-in's cut-off answers, closed up,
    often do): the pane showed a blank box over "found 1 SVG", as if the picture had
    not been drawn. It says the picture is empty, live and when the session is opened."""
    blank = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300"></svg>'
    with AnthropicTestServer(answer_text=f"```svg\n{blank}\n```\n") as claude:
        claude.serve(monkeypatch)
        app = make_app(start_server=True, overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(160, 48)) as pilot:
            await header_read(pilot)
            await pilot.press("2")
            right = app.pane("right")
            assert await wait_for(pilot, lambda: right.state == "finished", 60)
            assert right.picture.png is not None, "drawn, and stored"
            said = "an empty picture: the SVG draws nothing; found 1 SVG"
            assert right.picture.note == said
            session_id = app.session_id
    assert session_id is not None
    again = make_app()  # a later start: the session opened from the store
    async with again.run_test(size=(160, 48)) as pilot:
        again.load_session(session_id)
        opened = again.pane("right").picture
        assert await wait_for(pilot, lambda: opened.png is not None, 10)
        assert opened.note == said


async def _loading_server(pilot: Pilot[Any]) -> int:
    """The pid of the app's llama-server, once it is loading its model."""
    app = pilot.app
    assert isinstance(app, PelicanApp) and await header_read(pilot)
    server = app.server
    assert server is not None
    loading = lambda: server.status.state.value == "loading" and server.pid is not None  # noqa: E731
    assert await wait_for(pilot, loading, 30)
    assert server.pid is not None
    return server.pid


async def test_run_pressed_while_the_model_loads_waits_for_it() -> None:
    """r pressed while the status bar said "server: loading…" (at launch, or after S or
    R) refused both panes: "Not run: loading model — press R to restart the server",
    advice that starts the load over. The run waits for the model, and says so."""
    app = make_app(start_server=True, overrides={"local": {"max_tokens": 64}})
    async with app.run_test(size=(80, 24)) as pilot:
        pid = await _loading_server(pilot)
        os.kill(pid, signal.SIGSTOP)  # a model that takes its time to load
        try:
            await pilot.press("r")
            left, right = app.pane("left"), app.pane("right")
            waiting = "waiting for llama-server: loading model"
            both = lambda: all(waiting in pane.stats_line() for pane in (left, right))  # noqa: E731
            assert await wait_for(pilot, both, 10), (left.stats_line(), left.problem)
            assert "Not run" not in left.problem + right.problem
        finally:
            os.kill(pid, signal.SIGCONT)
        assert await wait_for(pilot, lambda: not app.comparing, RUN_WAIT_S)
        for pane in (left, right):
            assert pane.state == "finished", (pane.slot, pane.stats_line(), pane.problem)
        assert app.session_id is not None


async def test_a_pane_run_pressed_again_while_the_model_loads_runs_once() -> None:
    """1 pressed twice while llama-server loaded its model: the second press did not
    stop the first run (it had not begun), which ran unseen once the model was loaded
    and was saved as a session of its own while the pane waited "for the left pane".
    The second press replaces it, as it does a run that streams."""
    app = make_app(start_server=True, overrides={"local": {"max_tokens": 64}})
    async with app.run_test(size=(80, 24)) as pilot:
        pid = await _loading_server(pilot)
        os.kill(pid, signal.SIGSTOP)
        left = app.pane("left")
        try:
            await pilot.press("1")
            waiting = lambda: "waiting for llama-server" in left.stats_line()  # noqa: E731
            assert await wait_for(pilot, waiting, 10), left.stats_line()
            await pilot.press("1")
            assert await wait_for(pilot, waiting, 10), left.stats_line()
            said = " ".join(n.message for n in app.notices)
            assert "The left pane was waiting its turn and was cancelled" in said, said
        finally:
            os.kill(pid, signal.SIGCONT)
        assert await wait_for(pilot, lambda: not app.comparing, RUN_WAIT_S)
        assert left.state == "finished", (left.stats_line(), left.problem)
    with SessionStore.open(locations.sessions_db()) as store:
        sessions = store.list_sessions()
        statuses = [run.status for s in sessions for run in store.get_session(s.id).runs]
    assert statuses == ["finished"], "the first press's run, never begun, is not run"


@pytest.mark.parametrize("together", [False, True], ids=["after-the-wait", "in-one-read"])
async def test_a_pane_run_pressed_while_both_wait_for_the_model_runs_that_pane_once(
    together: bool,
) -> None:
    """r, then 1, while llama-server loaded its model: the comparison of both panes
    went on for the left pane too, unseen (the pane showed the run of 1), so the left
    pane ran twice, once in a session no pane showed. Now 1 takes the left pane out of
    the comparison of both, which goes on for the right pane alone.

    The terminal title said "running 1/1" to the end, of two runs; and 1 pressed with r
    (both keys in one read from the terminal, before the comparison's worker began)
    took the left pane out without a word. Now the title counts the two runs that run,
    and the pane taken out is said either way."""
    app = make_app(start_server=True, overrides={"local": {"max_tokens": 64}})
    async with app.run_test(size=(80, 24)) as pilot:
        pid = await _loading_server(pilot)
        os.kill(pid, signal.SIGSTOP)
        left, right = app.pane("left"), app.pane("right")
        waiting = lambda: "waiting for llama-server" in left.stats_line()  # noqa: E731
        try:
            if together:  # queued together, as a terminal's one read posts them
                for key in ("r", "1"):
                    event = events.Key(key, key)
                    event.set_sender(app)
                    app.post_message(event)
            else:
                await pilot.press("r")
                assert await wait_for(pilot, waiting, 10), left.stats_line()
                await pilot.press("1")
            assert await wait_for(pilot, waiting, 10), left.stats_line()
            said = " ".join(n.message for n in app.notices)
            assert "The left pane was waiting its turn and was cancelled" in said, said
        finally:
            os.kill(pid, signal.SIGCONT)
        titles: list[str] = []

        def ended() -> bool:
            titles.append(app.terminal_title)
            return not app.comparing

        assert await wait_for(pilot, ended, RUN_WAIT_S)
        for pane in (left, right):
            assert pane.state == "finished", (pane.slot, pane.stats_line(), pane.problem)
        shown = {slot: app.pane_runs.get(slot) for slot in ("left", "right")}
    running = [title for title in dict.fromkeys(titles) if "running" in title]
    assert running[-1] == "pelican-tui · running 2/2", running
    with SessionStore.open(locations.sessions_db()) as store:
        sessions = [store.get_session(s.id) for s in store.list_sessions()]
    runs = {slot: [run.id for s in sessions for run in s.runs_in(slot)] for slot in shown}
    # The right pane's run is of the other session: shown, unless that of 1 began after it.
    assert runs["left"] == [shown["left"]] and len(runs["right"]) == 1, (runs, shown)
    assert shown["right"] in (None, *runs["right"]), (runs, shown)


async def test_run_pressed_straight_after_a_restart_waits_for_the_server() -> None:
    """R, then r at once (both keys in one read from the terminal): the comparison
    found llama-server stopping on its way to the restart, both panes said "Not run",
    and the restart's end wiped the reason off them: two panes "not run", no word
    why. Now the comparison waits for the restarted server, as r does while the
    model loads, and both panes run."""
    app = make_app(start_server=True, overrides={"local": {"max_tokens": 32}})
    async with app.run_test(size=(80, 24)) as pilot:
        server = await server_ready(pilot)
        left, right = app.pane("left"), app.pane("right")
        for key in ("R", "r"):  # queued together, as a terminal's one read posts them
            event = events.Key(key, key)
            event.set_sender(app)
            app.post_message(event)
        ended = ("finished", "failed", "cancelled", "not run")
        both = lambda: left.state in ended and right.state in ended  # noqa: E731
        assert await wait_for(pilot, both, RUN_WAIT_S), (left.state, right.state)
        assert await wait_for(pilot, lambda: not app.comparing, RUN_WAIT_S)
        for pane in (left, right):
            assert pane.state == "finished", (pane.slot, pane.stats_line(), pane.problem)
        assert server.status.state.value == "ready", server.status


async def test_a_run_waiting_for_the_model_to_load_is_cancelled_by_c() -> None:
    """c while a run waits for the model to load ends both panes' runs (none started,
    none recorded); the panes do not go on saying they wait."""
    app = make_app(start_server=True)
    async with app.run_test(size=(80, 24)) as pilot:
        pid = await _loading_server(pilot)
        os.kill(pid, signal.SIGSTOP)
        try:
            await pilot.press("r")
            left, right = app.pane("left"), app.pane("right")
            assert await wait_for(pilot, lambda: right.status == "waiting", 10)
            await pilot.press("c")
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            for pane in (left, right):
                assert pane.state == "cancelled", (pane.slot, pane.stats_line())
                assert "waiting" not in pane.stats_line(), pane.stats_line()
            assert app.session_id is None, "nothing started, nothing recorded"
        finally:
            os.kill(pid, signal.SIGCONT)


async def test_a_server_killed_while_it_loads_is_said_once() -> None:
    """kill -9 on llama-server during its load: the crash was said twice, in two toasts
    ("llama-server exited during start-up (killed by SIGKILL)", then the same with
    "Press R to restart, l for the log.")."""
    app = make_app(start_server=True)
    async with app.run_test(size=(80, 24)) as pilot:
        pid = await _loading_server(pilot)
        os.kill(pid, signal.SIGKILL)
        server = app.server
        assert server is not None
        assert await wait_for(pilot, lambda: server.status.state.value == "crashed", 15)
        await pilot.pause(1)
        said = [n.message for n in app.notices if n.title == "llama-server"]
        assert len(said) == 1, said
        assert "SIGKILL" in said[0] and "R to restart" in said[0], said


async def test_b_after_a_run_keeps_the_pane_titled_for_that_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pane 2 ran Claude; `b` then retitled it "2 local · SmolLM2-135M …" over Claude's
    numbers, answer and picture (and the pictures full screen and the answer view took
    that title too). Now the title stays the run's, the facts line says the next run,
    a notice says it, and the numbers stay as they were."""
    from textual.widgets import TextArea

    from pelican_tui.screens.picture_screen import PictureScreen
    from pelican_tui.screens.text_screen import TextScreen

    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(start_server=True, overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(80, 24)) as pilot:
            await server_ready(pilot)
            right = app.pane("right")
            await pilot.press("2")
            assert await wait_for(pilot, lambda: right.state == "finished", RUN_WAIT_S)
            title, numbers = right.border_title, right.stats_line()
            assert title is not None and title.startswith("2 claude · "), title
            await pilot.press("w", "b")
            await pilot.pause()
            assert app.choices["right"].side == "local"
            assert right.border_title == title, "titled for the run it shows"
            facts = str(right.query_one(".facts").text)  # type: ignore[attr-defined]
            assert facts.startswith("last run · next: local · "), facts
            assert right.stats_line() == numbers
            said = [n.message for n in app.notices]
            assert said[-1].startswith("Pane 2: local · ") and "from the next run" in said[-1]
            await pilot.press("f")
            assert await wait_for(pilot, lambda: isinstance(app.screen, PictureScreen), 5)
            assert isinstance(app.screen, PictureScreen)
            shown = app.screen.pictures[1].title
            assert shown == title, shown
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: app.screen is app.screen_stack[0], 5)
            await pilot.press("a")
            assert await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), 5)
            assert str(app.screen.query_one(TextArea).border_title) == title
            await pilot.press("escape")
            await pilot.press("b")  # Claude again, as it ran: titled as before
            await pilot.pause()
            assert app.choices["right"].side == "claude"
            assert right.border_title == title
            facts = str(right.query_one(".facts").text)  # type: ignore[attr-defined]
            assert not facts.startswith("last run"), facts


async def test_b_skips_a_thinking_choice_the_local_model_has_no_switch_for() -> None:
    """The stand-in has no thinking switch: `b` went local thinking on, local thinking
    off (the same request), Claude, so one press in three changed nothing on screen.
    Now the model is offered once, and each press changes the pane."""
    app = make_app(start_server=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await server_ready(pilot)
        left = app.pane("left")
        no_switch = await wait_for(pilot, lambda: not left.thinking_switch, 10)
        assert no_switch, "the stand-in's template has no thinking switch"
        shown = [(left.border_title, str(left.query_one(".facts").text))]  # type: ignore[attr-defined]
        for _ in range(3):
            await pilot.press("b")
            await pilot.pause()
            shown.append((left.border_title, str(left.query_one(".facts").text)))  # type: ignore[attr-defined]
        assert all(a != b for a, b in itertools.pairwise(shown)), shown
        assert [c.side for c in app.engine.choices()] == ["local", "claude"]


async def test_a_pane_not_run_by_a_server_that_failed_is_idle_once_a_new_one_is_ready(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """S, an HF reference that cannot download, ctrl+s: llama-server failed to start, and
    the notice said only "Press R to restart", which retries the same failure. r then
    left pane 1 "not run". The stand-in set back in S and ready, pane 1 was titled for it
    over "· not run · thinking on" and a centred "not run", that server's state. Now the
    notice says S too, and the pane is idle for the new server."""
    from textual.widgets import Input

    from pelican_tui.screens.server_settings_screen import ServerSettingsScreen

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("LLAMA_CACHE", str(tmp_path / "llama-cache"))
    app = make_app(start_server=True, overrides={"claude": {"enabled": False}})
    async with app.run_test(size=(160, 48)) as pilot:

        async def apply(model: str, hf: str) -> str:
            """Set the model file and HF reference in S and apply; the model file before."""
            await pilot.press("S")
            assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
            before = app.screen.query_one("#settings-model", Input).value
            app.screen.query_one("#settings-model", Input).value = model
            app.screen.query_one("#settings-hf", Input).value = hf
            await pilot.press("ctrl+s")
            assert await wait_for(pilot, lambda: app.screen is app.screen_stack[0], 10), (
                getattr(app.screen, "errors", None),
                [n.message for n in app.notices][-3:],
            )
            return before

        await server_ready(pilot)
        model = await apply("", "tester/tiny-GGUF:Q4_1")
        crashed = lambda: app.server is not None and app.server.status.state.value == "crashed"  # noqa: E731
        assert await wait_for(pilot, crashed, 60)
        await pilot.pause(0.5)
        said = [n.message for n in app.notices if n.title == "llama-server"]
        assert said and "could not download" in said[-1], said
        assert "S to change the settings" in said[-1], said
        left = app.pane("left")
        await pilot.press("1")
        assert await wait_for(pilot, lambda: left.state == "not run", 30), left.stats_line()
        await apply(model, "")
        await server_ready(pilot)
        await pilot.pause()
        assert left.state == "idle", left.stats_line()
        assert "not run" not in left.stats_line(), left.stats_line()
        assert left.picture.note != "not run", left.picture.note
