"""Runs take turns on one server, and on the servers of one machine: two at once
share its cores and memory, and each would be timed at a fraction of its speed
(``bench/machine_turns.py``: 0.32x on the real shape, 0.02x on the stand-in). A
spawned llama-server and a ``remote`` on localhost (an Ollama, an LM Studio) are
two such servers. A run cancelled while it waits for its turn ends, unrecorded."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any

import psutil
from _dialect_servers import VllmServer
from _server_support import server_binary, tiny_model

from pelican_tui.backends.engine.comparison import ComparisonEngine
from pelican_tui.backends.engine.sides import MACHINE_TURN, PaneChoice
from pelican_tui.backends.engine.updates import RunEnded, RunProgress, RunQueued, RunStarted
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.resource_sampler import on_this_machine
from pelican_tui.backends.settings import load_settings


def _elsewhere() -> str:
    """A documentation address (RFC 5737) that is not one of this machine's own."""
    own = {e.address for entries in psutil.net_if_addrs().values() for e in entries}
    return next(a for a in ("192.0.2.1", "198.51.100.7", "203.0.113.9") if a not in own)


def test_a_url_is_on_this_machine_by_its_address() -> None:
    assert on_this_machine("http://127.0.0.1:8080")
    assert on_this_machine("http://localhost:11434/v1")
    assert on_this_machine("http://[::1]:1234")
    assert on_this_machine("127.0.0.2:9")  # no scheme, as a person may type it
    own = [
        entry.address
        for entries in psutil.net_if_addrs().values()
        for entry in entries
        if entry.family == socket.AF_INET and not entry.address.startswith("127.")
    ]
    for address in own:  # this machine's own interfaces (a LAN address)
        assert on_this_machine(f"http://{address}:8080"), address
    assert not on_this_machine(f"http://{_elsewhere()}:8080")
    assert not on_this_machine("http://no-such-host.invalid:8080")


def test_sides_take_turns_by_where_their_servers_run() -> None:
    def shared_turn(local: dict[str, Any], remote_url: str) -> str | None:
        settings = load_settings({"local": local, "remote": {"url": remote_url}})
        engine = ComparisonEngine(settings, Prepared(server_binary(), "cache"))
        choices = {"left": PaneChoice("local", False), "right": PaneChoice("remote", False)}
        return engine.shared_turn(choices)

    spawned = {"model": tiny_model(), "context": 2048}
    elsewhere = f"http://{_elsewhere()}:8080"
    assert shared_turn(spawned, elsewhere) is None  # on another machine: together
    assert shared_turn(spawned, "http://127.0.0.1:9") == "one machine"
    assert shared_turn({"url": "http://localhost:8081"}, "http://127.0.0.1:9") == "one machine"
    assert shared_turn({"url": elsewhere}, "http://127.0.0.1:9") is None
    assert shared_turn({"url": "http://127.0.0.1:9"}, "http://127.0.0.1:9") == "one server"
    # One server on another machine, its URL written two ways: the runs take turns.
    assert shared_turn({"url": f"{elsewhere}/v1"}, f"u:p@{elsewhere[7:]}/") == "one server"


async def test_a_spawned_llama_server_and_a_server_on_localhost_take_turns() -> None:
    updates: list[tuple[float, Any]] = []
    with VllmServer() as remote:
        settings = load_settings(
            {
                "local": {"model": tiny_model(), "context": 2048, "max_tokens": 40, "seed": 3},
                "remote": {"url": remote.url},
            }
        )
        engine = ComparisonEngine(settings, Prepared(server_binary(), "cache"))
        try:
            status = await engine.start_local()
            assert status.ready, status
            choices = {"left": PaneChoice("local", False), "right": PaneChoice("remote", False)}
            outcome = await engine.run_comparison(
                "Draw a pelican.", choices, lambda u: updates.append((time.monotonic(), u))
            )
        finally:
            await engine.close()
    assert outcome.session_id is not None
    queued = [u for _, u in updates if isinstance(u, RunQueued)]
    assert [q.slot for q in queued] == ["right"], queued
    assert queued[0].reason == f"waiting for the left pane: {MACHINE_TURN}"
    left_end = next(t for t, u in updates if isinstance(u, RunEnded) and u.slot == "left")
    right_start = next(t for t, u in updates if isinstance(u, RunStarted) and u.slot == "right")
    assert left_end <= right_start, "the remote run started while the local one streamed"
    ended = {u.slot: u.result.outcome for _, u in updates if isinstance(u, RunEnded)}
    assert ended == {"left": "finished", "right": "finished"}


async def test_the_app_says_why_the_remote_pane_waits_at_80x24() -> None:
    """The waiting pane says why, and the pane on screen names it as waiting."""
    from _app_support import make_app, server_ready, wait_for

    with VllmServer() as remote:
        app = make_app(start_server=True, overrides={"remote": {"url": remote.url}})
        async with app.run_test(size=(80, 24)) as pilot:
            await server_ready(pilot)
            await pilot.press("w", "b", "w")  # the right pane, hidden at 80 columns: remote
            assert app.choices["right"].side == "remote"
            await pilot.press("r")
            right = app.pane("right")
            assert await wait_for(pilot, lambda: right.status == "waiting", 30)
            assert f"waiting for the left pane: {MACHINE_TURN}" in right.stats_line()
            assert app.pane("left").border_subtitle == "w: show 2 (waiting)"
            assert await wait_for(pilot, lambda: right.state == "finished", 90)
            assert app.pane("left").state == "finished"
            assert app.pane("left").border_subtitle == "w: show 2 (finished)"
            assert right.picture.note != "waiting to start…"
            await pilot.press("r")  # again: the waiting pane drops the last run's picture
            assert await wait_for(pilot, lambda: right.status == "waiting", 30)
            assert right.picture.note == "waiting to start…"
            assert right.picture.png is None


async def test_a_run_cancelled_while_it_waits_ends_as_cancelled() -> None:
    """Thinking on and off on one llama-server: cancelled while the left pane streams,
    the waiting right pane ends too (it said "waiting for the left pane" for ever)."""
    settings = load_settings({"local": {"model": tiny_model(), "context": 2048, "seed": 3}})
    engine = ComparisonEngine(settings, Prepared(server_binary(), "cache"))
    updates: list[Any] = []
    comparison: list[asyncio.Task[Any]] = []
    waiting: dict[str, bool] = {}

    def listener(update: Any) -> None:
        updates.append(update)
        if isinstance(update, RunProgress) and update.slot == "left" and update.acc.answer_text:
            waiting.update({slot: engine.waiting(slot) for slot in ("left", "right")})
            comparison[0].cancel()

    try:
        assert (await engine.start_local()).ready
        choices = {"left": PaneChoice("local", True), "right": PaneChoice("local", False)}
        comparison.append(
            asyncio.ensure_future(engine.run_comparison("Draw a pelican.", choices, listener))
        )
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(comparison[0]), 60)
    finally:
        await engine.close()
    assert comparison[0].cancelled()
    assert waiting == {"left": False, "right": True}, "the engine knows which pane waits"
    assert [u.slot for u in updates if isinstance(u, RunQueued)] == ["right"]
    assert not any(isinstance(u, RunStarted) and u.slot == "right" for u in updates)
    ended = {u.slot: u.result for u in updates if isinstance(u, RunEnded)}
    assert ended["left"].outcome == ended["right"].outcome == "cancelled"
    assert ended["right"].run_id is None


async def test_the_app_ends_a_waiting_pane_on_cancel() -> None:
    from _app_support import make_app, server_ready, wait_for

    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await server_ready(pilot)
        await pilot.press("r")
        right = app.pane("right")
        assert await wait_for(pilot, lambda: right.status == "waiting", 30)
        await pilot.press("c")
        assert await wait_for(pilot, lambda: right.state == "cancelled", 10), right.stats_line()
        assert "waiting" not in right.stats_line()
        assert app.pane("left").state == "cancelled"


async def test_a_pane_is_titled_for_the_run_in_it_until_that_ends() -> None:
    """b (or t) while a pane runs chooses its next run: the pane goes on naming the
    model that writes in it (it was retitled "claude" over the local model's text), and
    once the run has ended it still does, its facts line saying what runs next."""
    from _app_support import make_app, server_ready, wait_for

    from pelican_tui.widgets.text_line import TextLine

    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await server_ready(pilot)
        left = app.pane("left")
        running_title = str(left.border_title)
        await pilot.press("r")
        assert await wait_for(pilot, lambda: left.state == "running", 10)
        for _ in range(3):  # local thinking off (where the model has a switch), then Claude
            if app.choices["left"].side == "claude":
                break
            await pilot.press("b")
        assert app.choices["left"].side == "claude"
        assert str(left.border_title) == running_title
        assert left.choice.side == "local" and left.choice.thinking
        # The stand-in has no thinking switch: nothing asked of it is said (nor Claude's).
        assert "thinking" not in left.stats_line(), left.stats_line()
        done = ("finished", "failed", "cancelled")
        assert await wait_for(pilot, lambda: app.pane("right").state in done, 90)
        await pilot.pause(0.2)
        title, facts = str(left.border_title), left.query_one(".facts", TextLine).text
        stats = left.stats_line()
    assert title == running_title, title
    assert facts.startswith("last run · next: claude · "), facts
    # As the finished run did (the tiny model gives no reasoning), not as the next is asked.
    assert stats.endswith(" · did not think"), stats


async def test_a_stored_session_shows_how_its_runs_ran_until_r() -> None:
    """Opened from the browser, a pane said the thinking it is set to now ("think on"
    for a run stored thinking off), and "(session #N)" stayed in the titles of the
    runs after it."""
    from _app_support import make_app, server_ready, wait_for

    from pelican_tui.backends.engine.choices import PaneChoice
    from pelican_tui.screens.sessions_screen import SessionsScreen

    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await server_ready(pilot)
        right = app.pane("right")
        await pilot.press("2")  # thinking off, as the right pane is set
        assert await wait_for(pilot, lambda: right.state == "finished", 60)
        stored = app.session_id
        # The right pane: thinking on from now (the stand-in has no thinking switch,
        # so `t` refuses; the choice is what the pane runs and titles).
        app.choices["right"] = PaneChoice("local", True)
        await pilot.press("o")
        assert await wait_for(
            pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.sessions, 10
        )
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: f"(session #{stored})" in str(right.border_title), 5)
        # The stand-in has no thinking switch: what the stored run did, not "thinking on".
        assert right.stats_line().endswith(" · did not think"), right.stats_line()
        await pilot.press("r")
        assert await wait_for(pilot, lambda: right.state == "running", 10)
        assert "(session #" not in str(right.border_title)
        assert await wait_for(pilot, lambda: right.state == "finished", 60)
        assert right.stats_line().endswith(" · did not think"), right.stats_line()


async def test_r_again_replaces_the_comparison_and_c_stops_them_all() -> None:
    """r pressed four times ran four comparisons one after the other, three of them
    hidden (the panes said "waiting for another run" for minutes), and c stopped
    only the last."""
    from _app_support import RUN_WAIT_S, make_app, server_ready, wait_for
    from _evidence_support import screen_text
    from textual.worker import WorkerState

    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore

    def finished_runs() -> int:
        with SessionStore.open(locations.sessions_db()) as store:
            sessions = [store.get_session(s.id) for s in store.list_sessions()]
        return sum(run.status == "finished" for s in sessions for run in s.runs)

    def comparisons_left() -> list[str]:
        """The comparison workers not ended (a hidden one would be among them)."""
        live = (WorkerState.PENDING, WorkerState.RUNNING)
        groups = [w.group for w in app.workers if w.state in live]
        return [group for group in groups if group.startswith("comparison-")]

    # --ignore-eos: a run takes its 160 tokens, so none ends before c.
    local = {"context": 2048, "max_tokens": 160, "seed": 7, "extra_args": ["--ignore-eos"]}
    app = make_app(start_server=True, overrides={"local": local})
    async with app.run_test(size=(160, 48)) as pilot:
        await server_ready(pilot)
        for _ in range(4):  # as fast as a terminal sends them: no pause between
            app.action_run_both()
        done = ("finished", "failed", "cancelled")
        both = lambda: all(app.pane(s).state in done for s in ("left", "right"))  # noqa: E731
        # Two runs of 160 tokens in turn: minutes on a loaded machine (5 tok/s seen).
        assert await wait_for(pilot, both, 2 * RUN_WAIT_S), app.pane("right").stats_line()
        assert await wait_for(pilot, lambda: not app.engine.running("left"), 5)
        assert not app.engine.running("right")
        assert finished_runs() == 2, "only the last comparison ran"
        for _ in range(3):
            app.action_run_both()
        # The last comparison's runs have begun: the left streams, the right waits its turn
        # (both panes said "finished" until then).
        left, right = app.pane("left"), app.pane("right")
        started = lambda: left.state == "running" and right.status == "waiting"  # noqa: E731
        assert await wait_for(pilot, started, 30), (left.stats_line(), right.stats_line())
        await pilot.press("c")
        assert await wait_for(pilot, both, 10)
        stopped = lambda: not any(app.engine.running(s) for s in ("left", "right"))  # noqa: E731
        assert await wait_for(pilot, stopped, 10)
        # The pane that waited for its turn said so still, under "cancelled".
        shown = screen_text(app)
        assert "waiting for" not in shown and "cancelled before a picture" in shown, shown
        assert await wait_for(pilot, lambda: not comparisons_left(), 10), comparisons_left()
        assert finished_runs() == 2, "a hidden comparison ran on after c"


async def test_the_status_bar_says_when_the_server_stops_sending() -> None:
    """A SIGSTOPped llama-server: the pane counted "no data for N s" but the status bar
    said "server: ready" all along."""
    import os
    import signal

    from _app_support import make_app, server_ready, wait_for

    from pelican_tui.widgets.status_bar import StatusBar

    app = make_app(
        start_server=True,
        overrides={
            "idle_timeout_s": 4,
            "local": {"context": 2048, "max_tokens": 900, "extra_args": ["--ignore-eos"]},
        },
    )
    async with app.run_test(size=(160, 48)) as pilot:
        server = await server_ready(pilot)
        bar = app.query_one(StatusBar)
        left = app.pane("left")
        await pilot.press("1")
        assert await wait_for(pilot, lambda: "tok/s" in left.stats_line(), 30)
        pid = server.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            said = lambda: "server: no data for" in bar.render_text().plain  # noqa: E731
            assert await wait_for(pilot, said, 10), bar.render_text().plain
            assert await wait_for(pilot, lambda: left.state == "failed", 15), left.stats_line()
            # Known stopped now: r is refused at once (it waited idle_timeout_s again),
            # and the resource sampler's status bar says so (it said "ready").
            await pilot.press("1")
            problem = lambda: str(left.query_one(".problem").render())  # noqa: E731
            assert await wait_for(pilot, lambda: "Not run:" in problem(), 5), problem()
            assert f"is suspended: kill -CONT {pid} resumes it" in problem()
            # Not under the last run's numbers and answer, as if they were this one's.
            assert left.stats_line().startswith("· not run"), left.stats_line()
            assert not left.answer_text
            from pelican_tui.backends.resource_sampler import ResourceSampler

            bar.set_sample(ResourceSampler(server_pid=lambda: pid).sample())
            await pilot.pause()
            assert "server: suspended (kill -CONT resumes)" in bar.render_text().plain
        finally:
            os.kill(pid, signal.SIGCONT)
        bar.set_sample(ResourceSampler(server_pid=lambda: pid).sample())
        assert await wait_for(pilot, lambda: "server: ready" in bar.render_text().plain, 5)


async def test_the_time_to_first_token_leaves_out_the_waits_before_the_request() -> None:
    """TTFT is counted from the request to a ready server: not the wait for its model to
    load (r pressed at once after R, the server SIGSTOPped ~2 s in its load here) nor
    the wait for the other pane's turn. What is left is the server's own prompt reading
    (its ``prompt_n / prompt_per_second``), which a cold server does slowly: the first
    run after a start read 41-62 tokens at 63-90 tok/s (0.6-0.9 s); a warm one whose
    prompt is cached reads 1 token (~0.02 s)."""
    import os
    import signal

    settings = load_settings({"local": {"model": tiny_model(), "context": 2048,
                                        "max_tokens": 8, "seed": 7}})  # fmt: skip
    engine = ComparisonEngine(settings, Prepared(server_binary(), "cache"))
    ended: list[RunEnded] = []
    queued: list[str] = []

    def listener(update: Any) -> None:
        if isinstance(update, RunEnded):
            ended.append(update)
        elif isinstance(update, RunQueued):
            queued.append(update.reason)

    stall_s = 2.0
    starting = asyncio.create_task(engine.start_local())
    try:
        server = engine.sides["local"].server
        assert server is not None
        for _ in range(600):
            if server.status.state.value == "loading" and server.pid is not None:
                break
            await asyncio.sleep(0.05)
        pid = server.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            choices = {"left": PaneChoice("local", False), "right": PaneChoice("local", True)}
            comparing = asyncio.create_task(
                engine.run_comparison("Draw a pelican.", choices, listener)
            )
            await asyncio.sleep(stall_s)
        finally:
            os.kill(pid, signal.SIGCONT)
        outcome = await comparing
        assert (await starting).ready
    finally:
        await engine.close()
    assert any("waiting for llama-server" in reason for reason in queued), queued
    assert len(outcome.results) == 2 and len(ended) == 2
    for end in ended:
        timings = end.result.timings
        first = timings["time_to_first_token_s"]
        # Within a little of the server's own time to read the prompt (the connection,
        # the first chunk's parsing): no wait of ours in it. Not "under the stall": on
        # a loaded machine the server alone took 4.7 s to read 56 tokens just after
        # its load (11.9 tok/s), and TTFT was 4.73 s.
        reading = timings["prompt_tokens"] / timings["prompt_tokens_per_s"]
        assert first - reading < min(0.25, stall_s / 4), (end.slot, timings)
