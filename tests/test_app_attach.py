"""The app attached to a running server by URL (``--url``) instead of spawning one."""

from __future__ import annotations

import pytest
from _anthropic_server import AnthropicTestServer
from _app_support import make_app, wait_for
from _server_support import tiny_model

from pelican_tui.backends.llama.process import LlamaServer, free_port
from pelican_tui.cli.sessions import format_session_table
from pelican_tui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.slow


async def test_attached_server_is_checked_named_and_runs(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    app = make_app(overrides={"local": {"url": llama.base_url + "/v1", "max_tokens": 24}})
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.server is None, "attach mode spawns nothing"
        bar = app.query_one(StatusBar)
        assert await wait_for(pilot, lambda: "checking" not in bar.server_note, 15)
        assert bar.server_note.startswith("local: "), bar.server_note
        assert "not reachable" not in bar.server_note
        await pilot.press("1")
        left = app.pane("left")
        assert await wait_for(pilot, lambda: left.state in ("finished", "failed"), 60)
        assert left.state == "finished", left.stats_line()
        assert left.answer_text


async def test_unreachable_url_is_said_plainly_and_checked_again_on_r() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = make_app(overrides={"local": {"url": url}})
    async with app.run_test(size=(160, 48)) as pilot:
        bar = app.query_one(StatusBar)
        assert await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 15)
        problem = str(app.pane("left").query_one(".problem").render())
        assert "press R to check again" in problem
        await pilot.press("1")  # an attached server is checked again when run
        left = app.pane("left")

        def refused() -> str:
            return str(left.query_one(".problem").render())

        assert await wait_for(pilot, lambda: refused().startswith("Not run:"), 15)
        assert "cannot reach" in refused() and left.state == "not run", (
            "nothing ran, nothing stored"
        )
        await pilot.press("R")
        await app.workers.wait_for_complete()
        assert bar.server_note == "local: not reachable"


async def test_a_pane_not_run_beside_one_that_ran_is_stored_as_a_failed_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """r with the attached server gone: the left pane said "Not run: cannot reach …",
    Claude ran, and the session held Claude's run alone (``sessions list``: "finished").
    The left slot is now stored as ``run`` stores it: a failed run of what it asked
    for, "not run: …" its reason; the pane says "Not run" as before."""
    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with AnthropicTestServer() as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"local": {"url": url}})
        async with app.run_test(size=(160, 48)) as pilot:
            bar = app.query_one(StatusBar)
            assert await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 15)
            await pilot.press("r")
            left, right = app.pane("left"), app.pane("right")
            assert await wait_for(pilot, lambda: right.state == "finished", 30), right.state
            await app.workers.wait_for_complete()
            assert left.state == "not run" and left.problem.startswith("Not run: cannot reach")
            session_id = app.session_id
            # As when the session is opened again: the left pane shows its stored row, a
            # failed run, which takes no verdict (before, "right better" was stored).
            assert app.pane_runs.keys() == {"left", "right"}, app.pane_runs
            await pilot.press("greater_than_sign")
            refused = (
                "No verdict: the left pane's run failed; a verdict compares two finished pictures."
            )
            assert await wait_for(pilot, lambda: refused in [n.message for n in app.notices], 5)
    assert session_id is not None
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.get_session(session_id)
        [listed] = [s for s in store.list_sessions() if s.id == session_id]
    assert [(r.slot, r.backend, r.status) for r in session.runs] == [
        ("left", "openai", "failed"),
        ("right", "claude", "finished"),
    ]
    [refused] = session.runs_in("left")
    reason = refused.failure_reason or ""
    assert reason.startswith(f"not run: cannot reach {url}"), reason
    assert refused.model_info["url"] == url and refused.settings["thinking"] is True
    assert not refused.answer and refused.png is None and refused.timings == {}
    assert format_session_table([listed]).splitlines()[-1].rstrip().endswith(" left failed")
    assert session.verdict is None


async def test_a_pane_switches_to_the_remote_server_and_runs_there(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``remote.url``: a second OpenAI-compatible model next to the local one (``b``)."""
    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore

    monkeypatch.setenv("PELICAN_REMOTE_API_KEY", llama.api_key)
    app = make_app(
        overrides={"remote": {"url": llama.base_url + "/v1/"}, "local": {"max_tokens": 24}}
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("w")  # the right pane
        choices = [c.side for c in app.engine.choices()]
        assert choices == ["local", "local", "remote", "claude"]
        while app.choices["right"].side != "remote":
            await pilot.press("b")
        await app.workers.wait_for_complete()
        right = app.pane("right")
        assert right.border_title.startswith("2 remote · "), right.border_title
        assert tiny_model().stem in right.border_title, "named by the model it serves"
        await pilot.press("2")
        assert await wait_for(pilot, lambda: right.state in ("finished", "failed"), 60)
        assert right.state == "finished", right.stats_line()
        await app.workers.wait_for_complete()
        session_id = app.session_id
    assert session_id is not None
    with SessionStore.open(locations.sessions_db()) as store:
        (run,) = store.get_session(session_id).runs
    assert run.backend == "openai" and run.slot == "right"
    assert run.model_info.get("url", "").startswith(llama.base_url)
    assert llama.api_key not in str(run.model_info), "the remote key is never stored"


async def test_the_remote_model_keeps_its_answer_limit_beside_the_stand_in() -> None:
    from pelican_tui.backends.engine.sides import PaneChoice
    from pelican_tui.backends.llama.local_model import STAND_IN_MAX_TOKENS

    url = f"http://127.0.0.1:{free_port()}"
    app = make_app(overrides={"remote": {"url": url}, "local": {"max_tokens": 4000}})
    local = app.engine.request(PaneChoice("local", True), app.prompt)
    remote = app.engine.request(PaneChoice("remote", True), app.prompt)
    assert local is not None and local.max_tokens == STAND_IN_MAX_TOKENS
    assert remote is not None and remote.max_tokens == 4000


async def test_the_header_and_status_bar_follow_a_server_that_goes_and_comes_back() -> None:
    """An attached server that went away stayed "ready" in the status bar; back again,
    its runs streamed under its bare URL (the header of the check before)."""
    from test_attach import OpenAITestServer

    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    app = make_app(overrides={"local": {"url": url}})
    async with app.run_test(size=(160, 48)) as pilot:
        bar, left = app.query_one(StatusBar), app.pane("left")

        def facts() -> str:
            return str(left.query_one(".facts").render())

        def problem() -> str:
            return str(left.query_one(".problem").render())

        assert await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 15)
        for _ in range(2):
            with OpenAITestServer(port=port):
                await pilot.press("1")
                assert await wait_for(pilot, lambda: left.state == "finished", 30)
                assert facts() == "OpenAI-compatible · no thinking switch", facts()
                assert left.border_title == "1 local · test-model", left.border_title
                assert bar.server_note == "local: OpenAI-compatible · test-model"
                await app.workers.wait_for_complete()
                with SessionStore.open(locations.sessions_db()) as store:
                    run = store.get_session(app.session_id or 0).runs[-1]
                assert run.model_id == run.model_info["model"] == "test-model", (
                    "it was recorded as 'remote model'"
                )
            await pilot.press("1")
            assert await wait_for(pilot, lambda: problem().startswith("Not run:"), 15)
            assert bar.server_note == "local: not reachable", bar.server_note
            assert facts().startswith(url), facts()


async def test_the_status_bar_says_a_server_that_went_away_during_a_comparison() -> None:
    """Gone after the check, before the second pane's turn: that run failed with
    "cannot reach …" and the status bar still named the server as ready."""
    from test_attach import OpenAITestServer

    port = free_port()
    app = make_app(overrides={"local": {"url": f"http://127.0.0.1:{port}/v1"}})
    async with app.run_test(size=(160, 48)) as pilot:
        bar, left, right = app.query_one(StatusBar), app.pane("left"), app.pane("right")
        assert app.choices["right"].side == "local", "both panes on the one server, in turn"
        with OpenAITestServer(port=port, stall_after=2):
            await pilot.press("r")
            assert await wait_for(pilot, lambda: left.state == "running", 15)
            assert bar.server_note == "local: OpenAI-compatible · test-model", bar.server_note
        assert await wait_for(pilot, lambda: right.state == "failed", 15)
        assert "cannot reach" in str(right.query_one(".problem").render())
        await app.workers.wait_for_complete()
        assert bar.server_note == "local: not reachable", bar.server_note


async def test_a_dropped_stream_is_followed_by_a_check_of_the_server() -> None:
    """A server gone mid-answer (its connection closed) stayed "ready" in the status bar
    until another run tried it; the dropped stream is now followed by one check, which
    says it is not reachable. A drop from a server still there (a one-off) leaves it
    ready."""
    from test_attach import OpenAITestServer

    port = free_port()
    app = make_app(overrides={"local": {"url": f"http://127.0.0.1:{port}"}})
    async with app.run_test(size=(160, 48)) as pilot:
        bar, left = app.query_one(StatusBar), app.pane("left")
        ready = "local: OpenAI-compatible · test-model"

        def problem() -> str:
            return str(left.query_one(".problem").render())

        with OpenAITestServer(port=port, cut_after=3) as server:  # drops it, stays up
            await pilot.press("1")
            assert await wait_for(pilot, lambda: left.state == "failed", 15)
            await app.workers.wait_for_complete()
            assert "closed the connection mid-answer" in problem(), problem()
            paths = [r.path for r in server.requests]
            after = paths[len(paths) - paths[::-1].index("/v1/chat/completions") :]
            assert "/v1/models" in after, f"checked once more: {after}"
            assert bar.server_note == ready, bar.server_note
        with OpenAITestServer(port=port, stall_after=2):
            await pilot.press("1")
            assert await wait_for(pilot, lambda: left.state == "running", 15)
            assert bar.server_note == ready, bar.server_note
        # The server stopped mid-answer: its connections closed, nothing listens.
        assert await wait_for(pilot, lambda: left.state == "failed", 15)
        await app.workers.wait_for_complete()
        assert "closed the connection mid-answer" in problem(), problem()
        assert f"start the server at http://127.0.0.1:{port}" in problem(), problem()
        assert bar.server_note == "local: not reachable", bar.server_note


async def test_at_80_columns_the_other_pane_is_said_not_run_when_its_run_is_refused() -> None:
    """The server gone, r refused both panes: the shown pane's border still said
    "w: show 2 (finished)" of the run before, for a pane that now reads "Not run"."""
    from test_attach import OpenAITestServer

    port = free_port()
    app = make_app(overrides={"local": {"url": f"http://127.0.0.1:{port}"}})
    async with app.run_test(size=(80, 24)) as pilot:
        left, right = app.pane("left"), app.pane("right")
        with OpenAITestServer(port=port):
            await pilot.press("r")
            assert await wait_for(pilot, lambda: right.state == "finished", 30)
            await app.workers.wait_for_complete()
        assert left.border_subtitle == "w: show 2 (finished)", left.border_subtitle
        await pilot.press("r")
        assert await wait_for(pilot, lambda: right.state == "not run", 15)
        await app.workers.wait_for_complete()
        assert left.border_subtitle == "w: show 2 (not run)", left.border_subtitle


async def test_a_server_that_stopped_answering_is_not_waited_for_twice(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A llama-server attached by URL, suspended mid-answer (``kill -STOP``): pane 1 gave
    up after ``idle_timeout_s``, then pane 2 started on the same stopped server and
    waited as long again, while the status bar named the server as ready. Now pane 2 is
    failed after one quick question the server does not answer, and the status bar
    says it is not answering."""
    import os
    import signal
    import time

    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    idle_s = 4.0
    app = make_app(
        overrides={
            # Seeded: an answer of its own (unseeded) could end before the server was
            # stopped, and the pane had nothing to give up on (once in CI).
            "local": {"url": llama.base_url, "max_tokens": 900, "seed": 7},
            "idle_timeout_s": idle_s,
            "check_timeout_s": 1.0,
        }
    )
    assert llama.pid is not None
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            bar, left, right = app.query_one(StatusBar), app.pane("left"), app.pane("right")
            assert await wait_for(pilot, lambda: "checking" not in bar.server_note, 15)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: len(left.answer_text) > 20, 60)
            os.kill(llama.pid, signal.SIGSTOP)
            failed = await wait_for(pilot, lambda: left.state == "failed", 3 * idle_s)
            assert failed, (left.state, left.stats_line(), len(left.answer_text))
            gave_up = time.monotonic()
            assert await wait_for(pilot, lambda: right.state in ("failed", "finished"), 3 * idle_s)
            waited = time.monotonic() - gave_up
            await app.workers.wait_for_complete()
            left_problem = str(left.query_one(".problem").render())
            right_problem = str(right.query_one(".problem").render())
            note = bar.server_note
    finally:
        os.kill(llama.pid, signal.SIGCONT)
    assert left_problem.startswith(f"no data from the server at {llama.base_url} for 4 s")
    assert right.state == "failed" and waited < idle_s, (waited, right_problem)
    assert right_problem.startswith(f"the server at {llama.base_url} is not answering"), (
        right_problem
    )
    assert note == "local: not answering", note


async def test_the_terminal_title_says_the_server_is_not_ready_as_the_status_bar_does() -> None:
    """A server that refuses the key (401): the status bar said "local: not ready" and
    the terminal's title "pelican-tui · ready". Now the title says what the bar says,
    and "ready" again once the server takes the key."""
    from test_attach import OpenAITestServer

    port = free_port()
    app = make_app(overrides={"local": {"url": f"http://127.0.0.1:{port}/v1"}})
    async with app.run_test(size=(160, 48)) as pilot:
        bar = app.query_one(StatusBar)
        with OpenAITestServer(port=port, api_key="not-the-one-we-have"):
            assert await wait_for(pilot, lambda: bar.server_note == "local: not ready", 15)
            await pilot.pause()
            refused = app.terminal_title
        with OpenAITestServer(port=port):
            await pilot.press("R")
            await app.workers.wait_for_complete()
            assert await wait_for(pilot, lambda: bar.server_note != "local: not ready", 15)
            await pilot.pause()
            taken = app.terminal_title
    assert refused == "pelican-tui · local: not ready", refused
    assert taken == "pelican-tui · ready", taken


async def test_the_status_bar_says_an_attached_server_sends_nothing_as_the_pane_does(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A llama-server attached by URL, suspended mid-answer (``kill -STOP``): the pane
    said "no data for N s" while the status bar named the server as ready until the run
    gave up. Now the status bar says it too ("local: no data for N s"), as it does for
    Claude, and names the server again once data comes back."""
    import os
    import signal

    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    idle_s = 12.0  # the pane says "no data" after 3 s
    app = make_app(
        overrides={
            # Seeded: an answer of its own (unseeded) could end before the server was
            # stopped, and the pane had nothing to give up on (once in CI).
            "local": {"url": llama.base_url, "max_tokens": 900, "seed": 7},
            "idle_timeout_s": idle_s,
            "check_timeout_s": 1.0,
        }
    )
    assert llama.pid is not None
    async with app.run_test(size=(160, 48)) as pilot:
        bar, left = app.query_one(StatusBar), app.pane("left")
        assert await wait_for(pilot, lambda: "checking" not in bar.server_note, 15)
        await pilot.press("1")
        assert await wait_for(pilot, lambda: len(left.answer_text) > 20, 60)
        ready = bar.server_note  # as the run's start found it
        os.kill(llama.pid, signal.SIGSTOP)
        try:
            silent = lambda: "no data for" in left.stats_line()  # noqa: E731
            assert await wait_for(pilot, silent, idle_s), left.stats_line()
            await pilot.pause()
            note = bar.server_note
        finally:
            os.kill(llama.pid, signal.SIGCONT)
        assert left.state == "running", left.stats_line()
        assert note.startswith("local: no data for "), (note, left.stats_line())
        sends = lambda: bar.server_note == ready  # noqa: E731
        assert await wait_for(pilot, sends, idle_s), (bar.server_note, ready)
        await pilot.press("c")
        await app.workers.wait_for_complete()


async def test_a_finished_run_keeps_its_header_when_the_server_dies(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attached llama-server killed while pane 2 ran: pane 1, finished on it, went
    from "llama.cpp b… · 135M · Q4_1 · ctx … · no thinking switch" to the server's bare
    URL. A finished run stays titled as it ran."""
    import os
    import signal

    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    app = make_app(overrides={"local": {"url": llama.base_url, "max_tokens": 400, "seed": 7}})
    assert llama.pid is not None
    async with app.run_test(size=(160, 48)) as pilot:
        bar, left, right = app.query_one(StatusBar), app.pane("left"), app.pane("right")

        def facts() -> str:
            return str(left.query_one(".facts").render())

        assert await wait_for(pilot, lambda: "checking" not in bar.server_note, 15)
        await pilot.press("r")
        assert await wait_for(pilot, lambda: len(right.answer_text) > 20, 120)
        assert left.state == "finished", left.stats_line()
        ran = (left.border_title, facts())
        assert ran[1].startswith("llama.cpp "), ran
        os.kill(llama.pid, signal.SIGKILL)
        assert await wait_for(pilot, lambda: right.state == "failed", 30), right.stats_line()
        await app.workers.wait_for_complete()
        assert await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 15)
        assert (left.border_title, facts()) == ran
