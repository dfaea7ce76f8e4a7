"""The llama-server pelican-tui spawns learns, as one it is attached to does, whether
its model's chat template has a thinking switch (``/apply-template`` with
``enable_thinking`` true and false), once it is ready: a real server on the stand-in
SmolLM2 (no switch) and on a test GGUF with Qwen's thinking template."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _app_support import RUN_WAIT_S, header_read, make_app, server_ready, wait_for
from _gguf_factory import write_tiny_moe
from _server_support import server_binary, tiny_model

from pelican_tui.backends import locations
from pelican_tui.backends.engine.comparison import ComparisonEngine
from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.engine.thinking_check import same_request_note
from pelican_tui.backends.engine.updates import SameRequest
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.llama.process import LlamaServer, ServerState, ServerStatus
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.settings import load_settings
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.widgets.text_line import TextLine

pytestmark = pytest.mark.slow

ON_OFF = {"left": PaneChoice("local", True), "right": PaneChoice("local", False)}


def _engine(model: Path) -> ComparisonEngine:
    settings = load_settings({"local": {"model": model, "context": 1024, "max_tokens": 16}})
    return ComparisonEngine(settings, Prepared(server_binary(), "cache"))


async def test_the_stand_in_says_it_has_no_thinking_switch() -> None:
    """SmolLM2 (no thinking in its template) spawned: its header said "thinking on" and
    "thinking off", on vs off ran as a thinking comparison, and the runs recorded no
    switch. Now it says "no thinking switch", the two runs are said to be the same
    request, and each records that no switch was sent, as attached to it by URL."""
    engine = _engine(tiny_model())
    updates: list[Any] = []
    try:
        assert (await engine.start_local()).ready
        local = engine.local
        assert local is not None and local.server is not None
        headers = [engine.header(choice, "1").facts for choice in ON_OFF.values()]
        supports = local.backend.capabilities.supports_thinking
        sent = local.openai.dialect.payload(GenerationRequest("p", thinking=True), None)
        outcome = await engine.run_comparison("Say hello.", ON_OFF, updates.append)
    finally:
        await engine.close()
    assert all(h.endswith(" · ctx 1024 · no thinking switch") for h in headers), headers
    assert supports is False and "chat_template_kwargs" not in sent
    assert [u.note for u in updates if isinstance(u, SameRequest)] == [same_request_note("local")]
    assert outcome.session_id is not None
    with SessionStore.open(locations.sessions_db()) as store:
        runs = store.get_session(outcome.session_id).runs
    assert {run.settings["thinking_switch"] for run in runs} == {
        "not sent: the model's chat template has no thinking switch"
    }
    assert {run.settings["thinking_check"] for run in runs} == {
        "no thinking switch was sent (the model has none); no reasoning arrived"
    }


async def test_a_thinking_template_keeps_its_switch(tmp_path: Path) -> None:
    """A model whose template reacts to ``enable_thinking`` (Qwen's) is sent the switch,
    and its header says thinking on or off, as before."""
    model = write_tiny_moe(tmp_path / "qwen3moe.gguf", tiny_model(), arch="qwen3moe")
    engine = _engine(Path(model["path"]))
    try:
        assert (await engine.start_local()).ready
        local = engine.local
        assert local is not None
        headers = [engine.header(choice, "1").facts for choice in ON_OFF.values()]
        thinks = local.openai.dialect.facts.thinks
        supports = local.backend.capabilities.supports_thinking
        sent = local.openai.dialect.payload(GenerationRequest("p", thinking=False), None)
        recorded = local.recorded_settings(GenerationRequest("p", thinking=False))
    finally:
        await engine.close()
    assert thinks is True and supports is True
    assert headers[0].endswith(" · thinking on") and headers[1].endswith(" · thinking off")
    assert sent["chat_template_kwargs"] == {"enable_thinking": False}
    assert "thinking_switch" not in recorded, "a spawned server's runs record as before"


async def test_the_pane_header_follows_the_spawned_server_once_ready() -> None:
    """The header is drawn before llama-server starts: once it is ready the panes of the
    stand-in say "no thinking switch", and ``t`` says the model has none."""
    app = make_app(start_server=True, overrides={"local": {"context": 1024}})
    async with app.run_test(size=(160, 48), notifications=True) as pilot:

        def facts() -> list[str]:
            return [app.pane(s).query_one(".facts", TextLine).text for s in ("left", "right")]

        said = await wait_for(
            pilot, lambda: all(f.endswith(" · no thinking switch") for f in facts()), 60
        )
        shown = facts()
        before = dict(app.choices)
        await pilot.press("t")
        await pilot.pause()
        notes = [n.message for n in app.notices]
        after = dict(app.choices)
    assert said, shown
    assert after == before and "Pane 1's model has no thinking switch." in notes, notes


async def test_server_settings_switch_models_and_the_header_follows(tmp_path: Path) -> None:
    """``S`` (apply & restart) loads another model: once it is ready its panes say the
    new model's switch, and ``t`` follows it, from the stand-in to a Qwen-template model
    and back."""
    from textual.widgets import Input

    from pelican_tui.screens.server_settings_screen import ServerSettingsScreen

    qwen = Path(write_tiny_moe(tmp_path / "qwen3moe.gguf", tiny_model(), arch="qwen3moe")["path"])
    app = make_app(start_server=True, overrides={"local": {"context": 1024}})
    async with app.run_test(size=(160, 48), notifications=True) as pilot:

        def facts() -> list[str]:
            return [app.pane(s).query_one(".facts", TextLine).text for s in ("left", "right")]

        async def load(model: Path) -> None:
            await pilot.press("S")
            assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
            app.screen.query_one("#settings-model", Input).value = str(model)
            await pilot.press("ctrl+s")
            assert await wait_for(
                pilot, lambda: not isinstance(app.screen, ServerSettingsScreen), 10
            )
            assert await wait_for(pilot, lambda: app.settings.local.model == model, 30)
            await server_ready(pilot)
            assert await wait_for(pilot, started, 30)

        def started() -> bool:  # the start worker has asked the new server and redrawn
            return not any(w.group == "server" and not w.is_finished for w in app.workers)

        async def toggled() -> tuple[bool, list[str]]:
            before = app.choices["left"].thinking
            app.notices.clear()
            await pilot.press("t")
            await pilot.pause()
            return app.choices["left"].thinking != before, [n.message for n in app.notices]

        assert await wait_for(pilot, lambda: facts()[0].endswith(" · no thinking switch"), 60)
        await load(qwen)
        on_qwen, (switched, said) = facts(), await toggled()
        await load(tiny_model())
        on_stand_in, (switched_back, said_back) = facts(), await toggled()
    assert on_qwen[0].endswith(" · thinking on") and on_qwen[1].endswith(" · thinking off"), on_qwen
    assert switched and "Pane 1's model has no thinking switch." not in said, said
    assert all(f.endswith(" · no thinking switch") for f in on_stand_in), on_stand_in
    assert not switched_back and "Pane 1's model has no thinking switch." in said_back, said_back


DID = (" · did not think", " · thought")
"""How a numbers line ends after a run of a model with no thinking switch."""


async def test_no_switch_numbers_line_names_no_thinking_asked() -> None:
    """Under "no thinking switch" the stand-in's numbers line said "· idle · thinking on"
    (and "thinking on (did not)" after a run), as if a switch had been sent. It now
    names no thinking before a run, and after one what it did."""
    app = make_app(start_server=True, overrides={"local": {"context": 1024, "max_tokens": 16}})
    async with app.run_test(size=(160, 48)) as pilot:
        left, right = app.pane("left"), app.pane("right")
        assert await wait_for(
            pilot,
            lambda: left.query_one(".facts", TextLine).text.endswith(" · no thinking switch"),
            60,
        )
        idle = [left.stats_line(), right.stats_line()]
        await pilot.press("1")
        assert await wait_for(pilot, lambda: left.state in ("finished", "failed"), 120)
        ran, other = left.stats_line(), right.stats_line()
    assert all("thinking" not in line for line in idle), idle
    assert ran.endswith(DID) and "thinking" not in ran, ran
    assert "thinking" not in other, other


async def test_an_attached_server_without_a_switch_names_no_thinking_asked(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A llama-server attached by URL whose check finds no switch: the same."""
    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    app = make_app(overrides={"local": {"url": llama.base_url + "/v1", "max_tokens": 16}})
    async with app.run_test(size=(160, 48)) as pilot:
        left = app.pane("left")
        assert await wait_for(
            pilot,
            lambda: left.query_one(".facts", TextLine).text.endswith(" · no thinking switch"),
            30,
        )
        idle = left.stats_line()
        await pilot.press("1")
        assert await wait_for(pilot, lambda: left.state in ("finished", "failed"), 120)
        ran = left.stats_line()
    assert "thinking" not in idle, idle
    assert ran.endswith(DID) and "thinking" not in ran, ran


async def test_while_it_starts_the_header_says_the_switch_is_being_checked() -> None:
    """While the spawned llama-server started, the stand-in's header said "thinking on",
    then "no thinking switch" once it was ready. Until its server has said, it now says
    "thinking on (checking…)"."""
    app = make_app(start_server=True, overrides={"local": {"context": 1024}})
    seen: list[tuple[str, str]] = []
    async with app.run_test(size=(160, 48)) as pilot:
        left = app.pane("left").query_one(".facts", TextLine)

        def known() -> bool:
            server = app.server if app.local_known else None
            if server is not None:
                seen.append((server.status.state.value, left.text))
            return left.text.endswith(" · no thinking switch")

        deadline = time.monotonic() + RUN_WAIT_S  # a step each time the app has run
        while not known() and time.monotonic() < deadline:
            await pilot.pause()
    starting = [facts for state, facts in seen if state in ("starting", "loading")]
    assert starting, seen
    assert all(facts.endswith(" · thinking on (checking…)") for facts in starting), starting
    assert seen[-1][1].endswith(" · no thinking switch"), seen[-1]


@contextlib.asynccontextmanager
async def _suspended_when_ready(
    overrides: dict[str, Any], resume_after_s: float | None = None
) -> AsyncIterator[tuple[ComparisonEngine, list[int]]]:
    """An engine whose llama-server is suspended (``kill -STOP``) as it becomes ready,
    and resumed after ``resume_after_s`` (None: by the test); its pid, once stopped."""
    stopped: list[int] = []

    def suspend_when_ready(status: ServerStatus) -> None:
        if status.state is ServerState.READY and status.pid is not None and not stopped:
            os.kill(status.pid, signal.SIGSTOP)
            stopped.append(status.pid)
            if resume_after_s is not None:
                loop = asyncio.get_running_loop()
                loop.call_later(resume_after_s, os.kill, status.pid, signal.SIGCONT)

    settings = load_settings({"local": {"model": tiny_model(), "context": 1024}, **overrides})
    engine = ComparisonEngine(
        settings, Prepared(server_binary(), "cache"), on_server_status=suspend_when_ready
    )
    try:
        yield engine, stopped
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        await engine.close()


async def test_a_switch_question_left_unanswered_is_said_and_asked_again() -> None:
    """llama-server suspended as it became ready (``kill -STOP``) did not answer whether
    its model has a thinking switch, and the header went on saying "thinking on
    (checking…)" though nothing asked again before the next run. It now says the
    switch is not known yet; asked again (before a run), once resumed, it learns it."""
    async with _suspended_when_ready({}) as (engine, stopped):
        await engine.start_local()
        local = engine.local
        assert local is not None and stopped
        unanswered = [engine.header(choice, "1").facts for choice in ON_OFF.values()]
        os.kill(stopped[0], signal.SIGCONT)
        await engine.learn_from_local_server()
        answered = engine.header(ON_OFF["left"], "1").facts
    assert unanswered[0].endswith(" · thinking on (switch not known yet)"), unanswered
    assert unanswered[1].endswith(" · thinking off (switch not known yet)"), unanswered
    assert answered.endswith(" · no thinking switch"), answered


async def test_the_switch_question_waits_as_long_as_check_timeout_s() -> None:
    """The question whether the model has a thinking switch had 5 s, whatever the
    settings: on a loaded machine the TUI's session was titled "thinking on vs off" and
    `run`'s "no thinking switch" for one model. It has ``check_timeout_s``, as every
    question to a server: a server that answers after 6 s (suspended, then resumed) is
    heard when the setting gives it 30 s."""
    async with _suspended_when_ready({"check_timeout_s": 30}, resume_after_s=6.0) as (
        engine,
        stopped,
    ):
        await engine.start_local()
        assert stopped, "suspended as it became ready"
        facts = engine.header(ON_OFF["left"], "1").facts
    assert facts.endswith(" · no thinking switch"), facts


async def test_the_pane_says_an_unanswered_switch_and_follows_the_next_run() -> None:
    """The same in the app: suspended as it became ready, the stand-in's panes said
    "(checking…)" for good. They now say the switch is not known yet, ``t`` says what
    it does then, and once resumed the next run asks again and the header follows."""
    app = make_app(start_server=True, overrides={"local": {"context": 1024, "max_tokens": 16}})
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        assert await header_read(pilot)
        server = app.server
        assert server is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        # Each turn of the loop, to stop it before the app asks it anything (the app's own
        # word that it is ready is a message, handled after the question is sent).
        while server.status.state is not ServerState.READY and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0)
        assert server.status.state is ServerState.READY and server.pid is not None
        os.kill(server.pid, signal.SIGSTOP)
        try:
            left = app.pane("left").query_one(".facts", TextLine)

            def started() -> bool:
                return not any(w.group == "server" and not w.is_finished for w in app.workers)

            assert await wait_for(pilot, started, 30)
            await pilot.pause()
            unanswered = left.text
            await pilot.press("t")
            await pilot.pause()
            said = [n.message for n in app.notices][-1]
        finally:
            os.kill(server.pid, signal.SIGCONT)
        await pilot.press("1")
        assert await wait_for(pilot, lambda: app.pane("left").state == "running", 30)
        await pilot.pause()
        running = left.text
        assert await wait_for(pilot, lambda: app.pane("left").state != "running", 120)
    assert unanswered.endswith(" · thinking on (switch not known yet)"), unanswered
    assert said.startswith("Thinking off in pane 1 (local), from the next run"), said
    assert "llama-server has not said whether its model has a switch" in said, said
    assert running.endswith(" · no thinking switch"), running


async def test_an_unanswered_switch_is_asked_again_while_idle() -> None:
    """Suspended as it became ready, then resumed: the stand-in's panes said "(switch
    not known yet)" until the user ran something, though it would answer now. While
    the switch is not known the app asks again every few seconds (one small question),
    and the panes follow without a key pressed."""
    app = make_app(start_server=True, overrides={"local": {"context": 1024}})
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot)
        server = app.server
        assert server is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        # Each turn of the loop, to stop it before the app asks it anything (see above).
        while server.status.state is not ServerState.READY and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0)
        assert server.status.state is ServerState.READY and server.pid is not None
        os.kill(server.pid, signal.SIGSTOP)
        try:
            facts = [app.pane(s).query_one(".facts", TextLine) for s in ("left", "right")]

            def started() -> bool:
                return not any(w.group == "server" and not w.is_finished for w in app.workers)

            assert await wait_for(pilot, started, 30)
            await pilot.pause()
            unanswered = [line.text for line in facts]
        finally:
            os.kill(server.pid, signal.SIGCONT)

        def learned() -> bool:
            return all(line.text.endswith(" · no thinking switch") for line in facts)

        asked = await wait_for(pilot, learned, 12)
        states = [app.pane(s).state for s in ("left", "right")]
    assert unanswered[0].endswith(" · thinking on (switch not known yet)"), unanswered
    assert unanswered[1].endswith(" · thinking off (switch not known yet)"), unanswered
    assert asked, [line.text for line in facts]
    assert "running" not in states, "learned with no run"


async def test_the_app_says_once_a_batch_that_on_and_off_send_one_request() -> None:
    """Two samples of on vs off on the stand-in (no thinking switch): the app said the
    two runs send the same request at every sample, a notification per session. Now
    once for the batch, at its first session."""
    overrides = {"local": {"context": 1024, "max_tokens": 16}, "ui": {"samples": 2}}
    app = make_app(start_server=True, overrides=overrides)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        assert await wait_for(
            pilot,
            lambda: (
                app.pane("left")
                .query_one(".facts", TextLine)
                .text.endswith(" · no thinking switch")
            ),
            60,
        )
        assert app.samples == 2
        app.notices.clear()
        await pilot.press("r")
        assert await wait_for(pilot, lambda: app.session_id is not None, RUN_WAIT_S)
        await app.workers.wait_for_complete()
        await pilot.pause()
        notes = [n.message for n in app.notices]
        with SessionStore.open(locations.sessions_db()) as store:
            sessions = store.list_sessions()
    assert len(sessions) == 2, sessions
    assert [n for n in notes if "same request" in n] == [same_request_note("local")], notes
