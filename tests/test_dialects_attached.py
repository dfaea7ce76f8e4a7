"""Attach mode end to end: the kind and facts in the pane and status bar, every run's
thinking switch checked and recorded (run, session title, export), and the memory
of an attached server on this machine (a real llama-server by URL)."""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from _app_support import header_read, make_app, wait_for
from _dialect_servers import (
    ANSWER,
    REASONING,
    LmStudioServer,
    OllamaServer,
    VllmServer,
    openai_frames,
)
from _server_support import tiny_model

from pelican_tui.backends import locations
from pelican_tui.backends.engine.comparison import ComparisonEngine
from pelican_tui.backends.engine.sides import PaneChoice, RemoteSide
from pelican_tui.backends.engine.thinking_check import IGNORED_TITLE_NOTE, same_request_note
from pelican_tui.backends.engine.updates import RunQueued, RunStarted, SameRequest
from pelican_tui.backends.events import Failed
from pelican_tui.backends.export.html_page import render_html
from pelican_tui.backends.export.run_card import render_run_card
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.llama.process import LlamaServer
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.ratings.configuration import configuration_of, run_label
from pelican_tui.backends.resource_sampler import (
    REMOTE_NOTE,
    ResourceSampler,
    find_listener,
    on_this_machine,
)
from pelican_tui.backends.settings import load_settings
from pelican_tui.backends.store.records import Session
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.cli.run import run_command
from pelican_tui.widgets.status_bar import StatusBar
from pelican_tui.widgets.text_line import TextLine

ON_OFF = {"left": PaneChoice("local", True), "right": PaneChoice("local", False)}


def _stored(session_id: int | None) -> Session:
    assert session_id is not None
    with SessionStore.open(locations.sessions_db()) as store:
        return store.get_session(session_id)


async def _on_off(url: str, listener: Any = lambda _: None) -> Any:
    """Thinking on vs off through the engine, attached to the server at ``url``."""
    engine = ComparisonEngine(load_settings({"local": {"url": url}}), Prepared(None, None))
    try:
        return await engine.run_comparison("Draw a pelican.", ON_OFF, listener)
    finally:
        await engine.close()


async def test_an_ignored_switch_is_recorded_and_marked_in_title_and_export() -> None:
    """LM Studio ignoring the switch (lmstudio-bug-tracker#1990): thinking on vs off."""
    with LmStudioServer() as server:
        outcome = await _on_off(server.url)
    left, right = outcome.results["left"], outcome.results["right"]
    assert left.thinking_warning is None
    assert right.thinking_warning is not None
    assert right.thinking_warning.startswith("The server ignored the thinking switch")
    session = _stored(outcome.session_id)
    assert session.title.endswith(f" · {IGNORED_TITLE_NOTE}"), session.title
    on, off = session.runs_in("left")[0], session.runs_in("right")[0]
    assert on.settings["thinking_switch"] == 'reasoning_effort="medium"'
    assert off.settings["thinking_switch"] == 'reasoning_effort="none"'
    assert (on.settings["thinking_switch_ignored"], off.settings["thinking_switch_ignored"]) == (
        False,
        True,
    )
    assert off.settings["thinking_check"] == right.thinking_warning
    assert off.model_info["server_kind"] == "LM Studio"
    assert {k: off.model_info[k] for k in ("params", "quant", "context", "trained_ctx")} == {
        "params": "35B",
        "quant": "Q4_K_M",
        "context": 32768,
        "trained_ctx": 262144,
    }
    card = render_run_card(session, {})
    assert card.count("> ⚠ **Warning: The server ignored the thinking switch") == 1
    assert card.count("| Thinking switch ignored | yes |") == 1
    page = render_html(session, {}, {})
    assert page.count('<p class="warning" role="note">⚠ Warning: The server ignored') == 1
    # Headed by the server it ran on, as the panes and the ratings name it, not by the
    # protocol it was stored under ("## Right: openai — …").
    assert "## Right: LM Studio server — qwen3.6-35b-a3b" in card, card
    assert "<h2>Right · LM Studio server · qwen3.6-35b-a3b</h2>" in page
    assert "openai" not in card and "openai" not in page


async def test_the_remote_side_says_its_kind_in_header_note_and_record() -> None:
    with OllamaServer() as server:
        settings = load_settings({"remote": {"url": server.url}})
        side = RemoteSide(settings)
        assert side.note() is None, "not checked yet"
        assert (await side.check()).ready
        header = side.header(PaneChoice("remote", False), "2")
        _, info = await side.identity()
    assert header.title == "2 remote · qwen3:30b"
    assert header.facts == "Ollama 0.12.3 · 30.5B · Q4_K_M · ctx 40960 · thinking off"
    assert side.note() == "remote: ready", "its kind and model are in the header"
    assert info["server_kind"] == "Ollama" and info["server_version"] == "0.12.3"
    assert info["total_params"] == 30532122624 and info["model_thinks"] is True
    settings_sent = side.recorded_settings(side.request(PaneChoice("remote", False), "p"))
    assert settings_sent["thinking_switch"] == "think=false"


# --------------------------------------------------------------------------- memory


def test_a_server_on_another_machine_says_its_memory_is_not_visible() -> None:
    url = "http://192.0.2.7:11434"  # TEST-NET-1: never this machine
    assert find_listener(url).note == REMOTE_NOTE
    sample = ResourceSampler(server_url=lambda: url).sample()
    assert sample.server_rss is None and sample.server_note == REMOTE_NOTE
    bar = StatusBar("halfcell")
    bar.set_sample(sample)
    assert f"srv: {REMOTE_NOTE}" in bar.render_text().plain


def test_the_process_listening_on_a_local_url_is_measured() -> None:
    with OllamaServer() as server:  # it listens from a thread of this test process
        assert find_listener(server.url).pid == os.getpid()
        # Named by its IPv4-mapped IPv6 address, it is this machine all the same (Python
        # 3.11 calls ::ffff:127.0.0.1 no loopback: it was "remote, memory not visible").
        mapped = server.url.replace("127.0.0.1", "[::ffff:127.0.0.1]", 1)
        assert mapped != server.url and on_this_machine(mapped)
        assert find_listener(mapped).pid == os.getpid()
        sample = ResourceSampler(server_url=lambda: server.url).sample()
    assert sample.server_note is None
    assert sample.server_rss is not None and sample.server_rss >= sample.own_rss // 2


@pytest.mark.slow
async def test_a_real_llama_server_attached_by_url(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    settings = load_settings({"local": {"url": llama.base_url + "/v1", "max_tokens": 24}})
    engine = ComparisonEngine(settings, Prepared(None, None))
    try:
        assert (await engine.start_local()).ready
        local = engine.local
        assert local is not None and local.openai.check is not None
        check = local.openai.check
        assert check.kind.name == "llama.cpp" and (check.kind.version or "").startswith("b")
        facts = check.facts
        assert (facts.quant, facts.context, facts.trained_ctx) == ("Q4_1", 1024, 8192)
        assert facts.total_params is not None and 130e6 < facts.total_params < 140e6
        assert facts.thinks is False, "/apply-template: SmolLM2's template has no switch"
        header = engine.header(PaneChoice("local", True), "1")
        assert header.facts == (
            f"llama.cpp {check.kind.version} · 135M · Q4_1 · ctx 1024 · no thinking switch"
        ), "as Ollama's model without the capability says it"
        sent = local.openai.dialect.payload(GenerationRequest("p", thinking=True), None)
        assert "chat_template_kwargs" not in sent, "a switch that changes nothing is not sent"
        assert local.model_file == tiny_model(), "/props names the model file on this machine"
        # Its memory, like the spawned llama-server's: the listener's RSS and model mapping.
        assert find_listener(llama.base_url).pid == llama.pid
        sample = engine.resource_sampler(maps_interval=1).sample()
        assert sample.server_rss and sample.server_model_mapped, sample
        updates: list[Any] = []
        outcome = await engine.run_comparison(
            "Say hello.", {"left": ON_OFF["left"]}, updates.append
        )
    finally:
        await engine.close()
    result = outcome.results["left"]
    assert result.outcome == "finished" and result.timings["generation_tokens_per_s"]
    assert result.thinking_warning is None
    [run] = _stored(outcome.session_id).runs
    assert run.model_info["server_kind"] == "llama.cpp" and run.model_info["quant"] == "Q4_1"
    assert run.settings["thinking_switch"] == (
        "not sent: the model's chat template has no thinking switch"
    )
    assert run.settings["thinking_switch_ignored"] is None
    assert run.settings["thinking_check"] == (
        "no thinking switch was sent (the model has none); no reasoning arrived"
    )


@pytest.mark.slow
async def test_a_model_without_a_switch_is_not_compared_on_vs_off_silently(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A llama-server (started by hand) whose model's chat template has no thinking
    switch: the panes said "thinking on", ``t`` switched it, and ``r`` ran on vs off, the
    same request twice, as a thinking comparison. Now the facts say "no thinking switch",
    ``t`` says the model has none, and ``r`` says the two runs send the same request."""
    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    app = make_app(overrides={"local": {"url": llama.base_url, "max_tokens": 16}})
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        assert await header_read(pilot)  # then the app checks the server
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert (app.choices["left"].thinking, app.choices["right"].thinking) == (True, False)
        facts = [app.pane(s).query_one(".facts", TextLine).text for s in ("left", "right")]
        await pilot.press("t")
        toggled = app.choices["left"].thinking
        said = [n.message for n in app.notices]
        app.notices.clear()
        await pilot.press("r")
        assert await wait_for(pilot, lambda: app.session_id is not None, 30)
        await app.workers.wait_for_complete()
        notes = [n.message for n in app.notices]
    assert all(f.endswith(" · no thinking switch") for f in facts), facts
    assert toggled is True and said == ["Pane 1's model has no thinking switch."], said
    assert [n for n in notes if "same request" in n] == [same_request_note("local")], notes


@pytest.mark.slow
def test_run_says_on_vs_off_without_a_switch_is_the_same_request(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``run --url … --thinking both`` on a model without a thinking switch ran on vs
    off and said nothing of it; now a note says so at the start and in summary.json."""
    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    monkeypatch.setenv("PELICAN_LOCAL__MAX_TOKENS", "16")
    out, err = io.StringIO(), io.StringIO()
    code = run_command(
        ["--url", llama.base_url, "--thinking", "both", "--no-claude", "--prompt",
         "Say hello.", "--out", str(tmp_path / "out")],
        stdout=out, stderr=err,
    )  # fmt: skip
    assert code in (0, 1), err.getvalue()
    note = same_request_note("local")
    assert f"  note: {note}" in err.getvalue().splitlines(), err.getvalue()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    [session] = summary["sessions"]
    assert session["thinking"] == "on vs off" and note in session["notes"], session
    assert [run["thinking"] for run in session["runs"]] == [True, False]
    assert {run["thinking_switch"] for run in session["runs"]} == {
        "not sent: the model's chat template has no thinking switch"
    }


# --------------------------------------------------------------------------- the app


async def test_the_app_shows_the_kind_and_says_plainly_that_the_switch_was_ignored() -> None:
    with LmStudioServer() as server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            bar = app.query_one(StatusBar)
            assert await wait_for(pilot, lambda: "checking" not in bar.server_note, 15)
            assert bar.server_note == "local: LM Studio · qwen3.6-35b-a3b"
            right = app.pane("right")
            assert not app.choices["right"].thinking
            facts = right.query_one(".facts", TextLine).text
            assert facts == "LM Studio · 35B · Q4_K_M · ctx 32768 · thinking off"
            await pilot.press("r")
            done = ("finished", "failed")
            assert await wait_for(
                pilot, lambda: {app.pane(s).state for s in ("left", "right")} <= set(done), 30
            )
            await app.workers.wait_for_complete()
            problem = str(right.query_one(".problem").render())
            left_problem = str(app.pane("left").query_one(".problem").render())
    assert problem.startswith("⚠ The server ignored the thinking switch: thinking was asked off")
    assert left_problem == ""


async def test_a_switch_the_server_ignored_is_said_in_the_header_and_by_t() -> None:
    """LM Studio ignored thinking off: the run's pane warned, but ``t`` twice said
    "Thinking off in pane 2 (local), from the next run." and the header "… · thinking
    off", as if the next run would be off; the next ``r`` was on vs on again. Now both
    say the server ignored it, until a run finds it honoured."""
    with LmStudioServer() as server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48), notifications=True) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            right = app.pane("right")
            facts_before = right.query_one(".facts", TextLine).text
            await pilot.press("r")
            done = ("finished", "failed")
            assert await wait_for(
                pilot, lambda: {app.pane(s).state for s in ("left", "right")} <= set(done), 30
            )
            await app.workers.wait_for_complete()
            facts_ran = right.query_one(".facts", TextLine).text
            await pilot.press("w", "t", "t")  # pane 2: thinking on, then off again
            facts = right.query_one(".facts", TextLine).text
            said = [n.message for n in app.notices]
            server.honours = True  # LM Studio fixed: the next run is off
            await pilot.press("r")
            assert await wait_for(
                pilot, lambda: {app.pane(s).state for s in ("left", "right")} <= set(done), 30
            )
            await app.workers.wait_for_complete()
            facts_after = right.query_one(".facts", TextLine).text
    assert facts_before.endswith(" · thinking off"), facts_before
    assert facts_ran.endswith(" · thinking off (ignored by the server)"), facts_ran
    assert facts == facts_ran, facts
    assert said[-1] == (
        "Thinking off in pane 2 (local), from the next run: the server ignored it in "
        "its last run that sent it."
    ), said
    assert facts_after.endswith(" · thinking off"), facts_after


async def test_the_next_runs_warning_is_kept_whole_in_a_narrow_pane() -> None:
    """80 columns, LM Studio ignoring thinking off: ``t`` on pane 1 after a run read
    "last run · next: local · qwen3.6-35b-a3b, thinking off (ignored by the serv…".
    The model's name gives way instead."""
    with LmStudioServer() as server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(80, 24)) as pilot:
            assert await header_read(pilot)
            await app.workers.wait_for_complete()
            await pilot.press("r")
            done = ("finished", "failed")
            assert await wait_for(
                pilot, lambda: {app.pane(s).state for s in ("left", "right")} <= set(done), 30
            )
            await app.workers.wait_for_complete()
            left = app.pane("left")
            await pilot.press("t")  # pane 1: thinking off, which the server ignored
            await pilot.pause()
            text = left.query_one(".facts", TextLine).text
            shown = left.query_one(".facts", TextLine).render_line(0).text.rstrip()
            width = left.query_one(".facts").content_size.width
    assert text.startswith("last run · next: ") and len(text) > width, text
    assert shown.endswith(", thinking off (ignored by the server)"), shown
    assert len(shown) <= width and "qwen3" in shown, shown


class _PausesMidAnswer(LmStudioServer):
    """LM Studio ignoring thinking off, silent for :attr:`pause_s` after a few frames."""

    pause_s = 2.5

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        if path != "/v1/chat/completions":
            await super().route(method, path, body, writer)
            return
        frames = openai_frames(REASONING, ANSWER)
        head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        writer.write((head + "transfer-encoding: chunked\r\nconnection: close\r\n\r\n").encode())
        for index, frame in enumerate(frames):
            data = f"data: {frame}\n\n".encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()
            if index == 12:
                await asyncio.sleep(self.pause_s)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def test_two_warnings_in_a_pane_read_as_sentences() -> None:
    """An ignored switch and a silence mid-answer read "…This is not a thinking-off
    run.; the stream was silent for 3 s mid-answer; its tok/s counts that time": the
    two joined with "; " after a full stop. Now each is a sentence of its own."""
    with _PausesMidAnswer() as server:
        app = make_app(overrides={"local": {"url": server.url}, "idle_timeout_s": 4})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            right = app.pane("right")
            await pilot.press("2")
            assert await wait_for(pilot, lambda: right.state in ("finished", "failed"), 30)
            await app.workers.wait_for_complete()
            problem = str(right.query_one(".problem").render())
    assert right.state == "finished", problem
    assert ". This is not a thinking-off run. The stream was silent for " in problem, problem
    assert problem.endswith(" s mid-answer; its tok/s counts that time."), problem
    assert ".;" not in problem, problem


@pytest.mark.parametrize("server_class", [OllamaServer, LmStudioServer])
async def test_a_model_gone_from_the_servers_list_leaves_the_title(
    server_class: type[OllamaServer | LmStudioServer],
) -> None:
    """A model unloaded or deleted from the server kept its name in the pane title
    after the check found the list empty; now the title is the one a server with no
    model has from the start ("model at HOST:PORT"), and the name is back with it."""
    with server_class() as server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            left = app.pane("left")
            assert left.border_title == f"1 local · {server.model}", left.border_title
            server.listed = False
            await pilot.press("R")  # checked again: it lists no models
            await app.workers.wait_for_complete()
            assert app.query_one(StatusBar).server_note == "local: not ready"
            assert left.border_title == f"1 local · model at 127.0.0.1:{server.port}", (
                left.border_title
            )
            server.listed = True
            await pilot.press("R")
            await app.workers.wait_for_complete()
            assert left.border_title == f"1 local · {server.model}", left.border_title


async def test_a_password_in_the_url_is_on_no_screen_and_in_no_record() -> None:
    """A server behind basic auth, reached as ``http://user:password@host``."""
    password = "pw-in-the-url"
    with LmStudioServer() as server:
        app = make_app(
            overrides={"local": {"url": server.url.replace("://", f"://bob:{password}@")}}
        )
        async with app.run_test(size=(160, 48)) as pilot:
            screens = [app.export_screenshot()]  # the header and status bar before the check
            assert await header_read(pilot)
            bar = app.query_one(StatusBar)
            screens.append(app.export_screenshot())
            assert await wait_for(pilot, lambda: "checking" not in bar.server_note, 15)
            assert bar.server_note == "local: LM Studio · qwen3.6-35b-a3b"
            await pilot.press("r")
            done = ("finished", "failed")
            assert await wait_for(
                pilot, lambda: {app.pane(s).state for s in ("left", "right")} <= set(done), 30
            )
            await app.workers.wait_for_complete()
            screens.append(app.export_screenshot())
            session_id = app.session_id
    assert server.requests[-1].headers["authorization"].startswith("Basic "), "it was sent"
    assert server.url.removeprefix("http://") in screens[0], "the URL is shown, without it"
    assert not any(password in screen for screen in screens)
    session = _stored(session_id)
    assert {run.model_info["url"] for run in session.runs} == {server.url}
    stored = locations.sessions_db().read_bytes()
    assert session.runs and password.encode() not in stored


async def test_a_password_in_a_url_flag_is_warned_of_in_the_app_too() -> None:
    """``pelican-tui --url http://user:password@host`` printed its warning just before
    the app took the screen, which hid it until the app quit. The app now says it at
    start as a notice, in the same words, without the password; a URL given in
    PELICAN_LOCAL__URL gets none."""
    from pelican_tui.app import PelicanApp
    from pelican_tui.cli.model_flags import password_warnings, settings_from_flags

    password = "pw-in-the-flag"
    with LmStudioServer() as server:
        url = server.url.replace("://", f"://bob:{password}@")
        settings = settings_from_flags({"local": {"url": url}, "claude": {"enabled": False}})
        [printed] = password_warnings(settings)
        attached = Prepared(binary=None, binary_source=None)
        app = PelicanApp(settings, attached, start_server=False, sample_resources=False)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            said = [n for n in app.notices if n.title == "Settings"]
            screen = app.export_screenshot()
            quiet = make_app(overrides={"local": {"url": url}, "claude": {"enabled": False}})
        async with quiet.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            unsaid = [n.message for n in quiet.notices if n.title == "Settings"]
    assert [n.message for n in said] == ["T" + printed.removeprefix("warning: t")], said
    assert said[0].severity == "warning", said
    assert "PELICAN_LOCAL__URL instead" in said[0].message and "--url" in said[0].message
    assert password not in said[0].message and password not in screen
    assert unsaid == [], unsaid


async def test_a_refused_password_in_the_url_is_named_as_the_password() -> None:
    """A server behind basic auth refusing the user or password in the URL was "wrong
    or missing API key; set PELICAN_LOCAL_API_KEY…" at the check, and "rejected the API
    key (401)" for a run: a key never given. Both name the URL's user or password,
    without repeating them."""
    with LmStudioServer(basic_auth="alice:right-password") as server:
        wrong = server.url.replace("://", "://alice:wrong-password@")
        backend = OpenAICompatibleBackend(wrong)
        status = await backend.probe()
        assert not status.ready
        assert status.message == f"{server.url} refused the user or password in the URL (401)"
        assert status.hint == "correct them in local.url"
        right = OpenAICompatibleBackend(server.url.replace("://", "://alice:right-password@"))
        assert (await right.probe()).ready
        server.basic_auth = "alice:changed-since"  # between the check and the run
        request = GenerationRequest(prompt="Draw a pelican.", thinking=False, max_tokens=300)
        failed = [event async for event in right.generate(request)][-1]
        await backend.aclose()
        await right.aclose()
    assert isinstance(failed, Failed), failed
    assert failed.reason.endswith("refused the user or password in the URL (401)"), failed
    assert failed.permanent
    said = f"{status.message} {status.hint} {failed.reason} {failed.hint}"
    assert "password" in said and "-password" not in said and "alice" not in said
    assert "API" not in said


def test_a_refused_password_is_to_be_corrected_where_the_url_was_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A wrong password given in PELICAN_LOCAL__URL, with no settings file: ``run`` said
    "correct them in local.url", a setting nobody set. The hint now names the variable
    that gave the URL, and the setting where the settings file gave it."""
    with LmStudioServer(basic_auth="alice:right-password") as server:
        wrong = server.url.replace("://", "://alice:wrong-password@")
        monkeypatch.setenv("PELICAN_LOCAL__URL", wrong)
        out, err = io.StringIO(), io.StringIO()
        code = run_command(
            ["--thinking", "on", "--no-claude", "--out", str(tmp_path / "out")],
            stdout=out,
            stderr=err,
        )
        monkeypatch.delenv("PELICAN_LOCAL__URL")
        monkeypatch.setenv("PELICAN_REMOTE__URL", wrong)
        by_variable = asyncio.run(RemoteSide(load_settings()).check())
        monkeypatch.delenv("PELICAN_REMOTE__URL")
        locations.config_file().parent.mkdir(parents=True, exist_ok=True)
        locations.config_file().write_text(f'[remote]\nurl = "{wrong}"\n')
        locations.config_file().chmod(0o600)
        by_file = asyncio.run(RemoteSide(load_settings()).check())
    assert code == 3, err.getvalue()
    assert "correct them in PELICAN_LOCAL__URL" in err.getvalue(), err.getvalue()
    assert "local.url" not in err.getvalue(), err.getvalue()
    assert by_variable.hint == "correct them in PELICAN_REMOTE__URL", by_variable
    assert by_file.hint == "correct them in remote.url", by_file


async def test_a_servers_words_cannot_act_on_the_terminal() -> None:
    """A model id with an escape and a newline broke the pane's border and the status
    bar, and coloured doctor's output."""
    with VllmServer(model="evil\x1b[31m\nmodel", version="0.11\x1b]0;title\x07") as server:
        side = RemoteSide(load_settings({"remote": {"url": server.url}}))
        assert (await side.check()).ready
        header = side.header(PaneChoice("remote", False), "2")
        note = side.note()
    assert header.title == "2 remote · evil[31m model"
    assert note == "remote: ready"
    assert "vLLM 0.11]0;title" in header.facts, header.facts
    assert not any(ord(c) < 32 for c in header.title + header.facts)


async def test_a_reopened_run_says_how_it_ran_as_the_leaderboard_does() -> None:
    """LM Studio thought although asked not to: the reopened pane said "thinking off"
    and named the run by its backend kind ("2 openai · …")."""
    with LmStudioServer() as server:
        settings = {"local": {"url": server.url}}
        engine = ComparisonEngine(load_settings(settings), Prepared(None, None))
        try:
            outcome = await engine.run_comparison("Draw a pelican.", ON_OFF, lambda _: None)
        finally:
            await engine.close()
        assert outcome.session_id is not None
        app = make_app(overrides=settings)
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            bar = app.query_one(StatusBar)
            assert await wait_for(pilot, lambda: "checking" not in bar.server_note, 15)
            app.load_session(outcome.session_id)
            await app.workers.wait_for_complete()
            await pilot.pause()
            right = app.pane("right")
            title, stats = str(right.border_title), right.stats_line()
    # Its title and its numbers say it alike: asked not to, it thought (the leaderboard
    # rates it as a run with thinking on).
    assert title.startswith("2 qwen3.6-35b-a3b") and "thinking off (thought)" in title, title
    assert "openai" not in title
    assert "thinking off (thought)" in stats, stats


async def test_a_panes_effort_reaches_a_model_with_thinking_levels() -> None:
    """Ollama's gpt-oss takes levels: the pane's effort (``e``) is the level sent."""
    with OllamaServer(model="gpt-oss:20b", levels=("low", "medium", "high")) as server:
        side = RemoteSide(load_settings({"remote": {"url": server.url}}))
        await side.check()
        assert side.backend.capabilities.supports_effort, "so `e` cycles it"
        request = side.request(PaneChoice("remote", True, effort="low"), "p")
        [event async for event in side.backend.generate(request)]
        assert server.bodies("/api/chat")[-1]["think"] == "low"
    assert side.recorded_settings(request)["thinking_switch"] == 'think="low"'


async def test_e_offers_only_the_levels_the_model_has() -> None:
    """``e`` on Ollama's gpt-oss (levels low, medium, high) cycled Claude's five efforts:
    the pane said "effort: xhigh", then "max", and both sent ``think: "high"``, a run
    like the one before under another name. Now it cycles the model's own levels, and
    each run sends the level the pane names."""
    with OllamaServer(model="gpt-oss:20b", levels=("low", "medium", "high")) as server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            chosen = []
            for _ in range(4):
                await pilot.press("e")
                chosen.append(app.choices["left"].effort)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: len(server.bodies("/api/chat")) == 2, 30)
            await app.workers.wait_for_complete()
        sent = [body["think"] for body in server.bodies("/api/chat")]
    assert chosen == ["low", "medium", "high", "low"], chosen
    # The right pane's "off" runs at the lowest level (the model cannot turn thinking
    # off), so `e` stepped it too: low, medium, high, low, medium.
    assert sent == ["low", "medium"], "each pane's level"


async def test_e_says_a_model_has_no_effort_levels_it_can_set() -> None:
    """``e`` on an Ollama model whose thinking levels are none of pelican-tui's efforts
    cycled Claude's five, none of which the model takes. Now it says so and sets none."""
    with OllamaServer(model="odd:1b", levels=("fast", "deep")) as server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48), notifications=True) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            await pilot.press("e")
            effort = app.choices["left"].effort
            notes = [n.message for n in app.notices]
    assert effort is None, effort
    assert notes[-1] == (  # pane 2 is the same model, thinking off
        "Pane 1's model has no effort levels pelican-tui can set; "
        "Pane 2's model has no effort levels pelican-tui can set"
    ), notes


class _SlowToCheck(LmStudioServer):
    """LM Studio answering every question but a chat slowly (a busy or far server)."""

    async def answer(self, request: Any, reader: Any, writer: Any) -> None:
        if request.method == "GET":
            await asyncio.sleep(0.4)
        await super().answer(request, reader, writer)


async def test_a_slow_check_before_a_run_is_said_and_made_once() -> None:
    """Before a run the engine asks an attached server what it serves (four questions in
    turn), once per pane: on a server slow to answer, both panes stayed idle, saying
    nothing, for 40 s. The check is made once for both panes, and one that takes a
    while is said in the pane while it goes on."""
    updates: list[Any] = []
    with _SlowToCheck() as server:
        outcome = await _on_off(server.url, updates.append)
        gets = [r.path for r in server.requests if r.method == "GET"]
    assert set(outcome.results) == {"left", "right"}
    assert gets and len(gets) == len(set(gets)), f"checked more than once: {gets}"
    waits = [u for u in updates if isinstance(u, RunQueued)]
    assert waits and waits[0].slot == "left", updates
    assert waits[0].reason == "waiting for the local server to answer its check"
    started = next(i for i, u in enumerate(updates) if isinstance(u, RunStarted))
    assert updates.index(waits[0]) < started


async def test_each_thinking_level_is_rated_and_named_apart() -> None:
    """Runs of Ollama's gpt-oss at level low and at level high recorded no effort (only
    ``thinking_switch`` held it), so the leaderboard rated them as one configuration,
    "gpt-oss:20b (server) · thinking on". Each run now records the level it was sent,
    as Claude's runs record their effort; a model without levels records none."""
    with OllamaServer(model="gpt-oss:20b", levels=("low", "medium", "high")) as server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            sessions, chats = [], server.bodies
            for presses, total in ((1, 2), (2, 4)):  # low, then medium and high
                for _ in range(presses):
                    await pilot.press("e")
                await pilot.press("r")
                assert await wait_for(pilot, lambda t=total: len(chats("/api/chat")) == t, 30)
                await app.workers.wait_for_complete()
                sessions.append(_stored(app.session_id))
    low, high = (session.runs_in("left")[0] for session in sessions)
    assert (low.settings["thinking_switch"], high.settings["thinking_switch"]) == (
        'think="low"',
        'think="high"',
    )
    assert (low.settings["effort"], high.settings["effort"]) == ("low", "high")
    assert configuration_of(low) != configuration_of(high)
    assert run_label(low) == "gpt-oss:20b (server) · thinking low", run_label(low)
    assert run_label(high) == "gpt-oss:20b (server) · thinking high", run_label(high)
    # A model without levels: its runs record no effort, and rate as they did.
    with OllamaServer() as server:
        outcome = await _on_off(server.url)
    for run in _stored(outcome.session_id).runs:
        assert "effort" not in run.settings, run.settings
    labels = sorted(run_label(run) for run in _stored(outcome.session_id).runs)
    assert labels == ["qwen3:30b (server) · thinking off", "qwen3:30b (server) · thinking on"]


async def test_the_pane_names_the_thinking_level_it_sends() -> None:
    """Attached to gpt-oss with thinking on, the pane's facts said "thinking on" while
    ``think: "high"`` was sent; they now name the level, as Claude's pane does."""
    with OllamaServer(model="gpt-oss:20b", levels=("low", "medium", "high")) as server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            left, right = app.pane("left"), app.pane("right")
            facts = [left.query_one(".facts", TextLine).text]
            await pilot.press("e")
            await pilot.pause()
            facts.append(left.query_one(".facts", TextLine).text)
            right_facts = right.query_one(".facts", TextLine).text
            await pilot.press("r")
            assert await wait_for(pilot, lambda: len(server.bodies("/api/chat")) == 2, 30)
            await app.workers.wait_for_complete()
            stats = left.stats_line()
            title = _stored(app.session_id).title
        sent = server.bodies("/api/chat")[0]["think"]
    assert facts[0].endswith(" · thinking high"), facts
    assert facts[1].endswith(" · thinking low"), facts
    assert right_facts.endswith(" · thinking medium"), "off ran at low, and `e` stepped it"
    assert sent == "low"
    assert "thinking low" in stats, stats
    assert " · thinking low vs medium" in title, title


GPT_OSS = {"model": "gpt-oss:20b", "levels": ("low", "medium", "high")}
NO_OFF = "gpt-oss:20b cannot turn thinking off: its lowest level is low"
OFF_RAN = (
    "thinking off was asked, but gpt-oss:20b cannot turn thinking off: "
    "it ran at its lowest level, low"
)


async def test_thinking_off_on_a_model_that_cannot_runs_and_is_filed_as_its_lowest_level() -> None:
    """Ollama's gpt-oss takes levels and ignores ``think: false``. Thinking on vs off sent
    ``think: false``; the model thought at its own default level, and the run was filed
    as "thinking on" (no level), labelled "thinking off (thought)", the session titled
    "thinking high vs off · thinking switch ignored": a configuration that never ran.
    Off now runs the model's lowest level, sent, recorded, rated and named as such,
    with a note saying off was asked. A model with a real switch is as it was."""
    updates: list[Any] = []
    with OllamaServer(**GPT_OSS) as server:  # type: ignore[arg-type]
        outcome = await _on_off(server.url)
        low_vs_off = {"left": PaneChoice("local", True, effort="low"), "right": ON_OFF["right"]}
        engine = ComparisonEngine(
            load_settings({"local": {"url": server.url}}), Prepared(None, None)
        )
        try:
            await engine.run_comparison("Draw a pelican.", low_vs_off, updates.append)
            header = engine.header(ON_OFF["right"], "2")
        finally:
            await engine.close()
        sent = [body["think"] for body in server.bodies("/api/chat")]
    assert sent == ["high", "low", "low", "low"], sent
    assert header.facts.endswith(" · thinking low (no off)"), header.facts
    assert outcome.results["right"].thinking_warning is None
    session = _stored(outcome.session_id)
    assert session.title == "Draw a pelican. · thinking high vs low", session.title
    off = session.runs_in("right")[0]
    assert (off.settings["thinking"], off.settings["effort"]) == (True, "low")
    assert off.settings["thinking_asked"] is False
    assert off.settings["thinking_note"] == OFF_RAN
    assert configuration_of(off).key.startswith("openai|gpt-oss:20b|think-low|@localhost:")
    assert run_label(off) == "gpt-oss:20b (server) · thinking low", run_label(off)
    # Low and "off" are one request: said before they run, as for a model with no switch.
    [same] = [u for u in updates if isinstance(u, SameRequest)]
    assert same.note.startswith(NO_OFF) and "two samples, not thinking" in same.note
    # A model with a real switch: off is sent and recorded as off.
    with OllamaServer() as server:
        outcome = await _on_off(server.url)
        sent = [body["think"] for body in server.bodies("/api/chat")]
    assert sent == [True, False]
    off = _stored(outcome.session_id).runs_in("right")[0]
    assert "thinking_asked" not in off.settings and off.settings["thinking"] is False
    assert run_label(off) == "qwen3:30b (server) · thinking off"


async def test_t_says_a_model_cannot_turn_thinking_off() -> None:
    """``t`` on a gpt-oss pane said "Thinking off in pane 1 (local), from the next run",
    and the pane said "thinking off" while the model thought anyway. Now ``t`` says
    plainly that it cannot, and changes nothing; the other pane, whose "off" runs the
    lowest level, says so."""
    with OllamaServer(**GPT_OSS) as server:  # type: ignore[arg-type]
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            await pilot.press("t")
            await pilot.pause()
            said = [n.message for n in app.notices][-1]
            choice = app.choices["left"]
            right_facts = app.pane("right").query_one(".facts", TextLine).text
    assert said == f"{NO_OFF} (e steps the level).", said
    assert choice.thinking is True, "unchanged"
    assert right_facts.endswith(" · thinking low (no off)"), right_facts


def test_run_thinking_both_says_off_ran_at_the_lowest_level(tmp_path: Path) -> None:
    """``run --thinking both`` on gpt-oss printed "thinking on vs off" and filed a run
    as off that thought. It now says what ran ("high vs low"), and why, in its progress
    and its summary."""
    with OllamaServer(**GPT_OSS) as server:  # type: ignore[arg-type]
        out, err = io.StringIO(), io.StringIO()
        code = run_command(
            ["--url", server.url, "--thinking", "both", "--no-claude", "--prompt",
             "Draw.", "--out", str(tmp_path / "out")],
            stdout=out, stderr=err,
        )  # fmt: skip
        sent = [body["think"] for body in server.bodies("/api/chat")]
    said = err.getvalue()
    assert code == 0, said
    assert sent == ["high", "low"]
    assert "thinking high vs low: local (high) and local (low)" in said, said
    assert f"  note: right local (low): {OFF_RAN}" in said.splitlines(), said
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    [session] = summary["sessions"]
    assert session["thinking"] == "high vs low" and f"right: {OFF_RAN}" in session["notes"]


class _BusyOllama(OllamaServer):
    """Ollama accepting connections but answering no question (busy loading a model)."""

    async def answer(self, request: Any, reader: Any, writer: Any) -> None:
        if request.method == "GET":
            await asyncio.sleep(30)  # ended when the server stops
        await super().answer(request, reader, writer)


async def test_a_busy_server_is_not_called_unreachable() -> None:
    """A server that took the connection but did not answer the check in time was told
    as one that is down: "cannot reach …: no answer within 10 s — start the server at
    …", and the status bar said "local: not reachable". Now it is said to have answered
    the connection but not the check, with a hint to wait or give it longer."""
    with _BusyOllama() as server:
        # 3 s, not less: the connection itself must fit in it while CI loads the machine
        # (at 0.5 s a loaded run once timed out connecting: "no connection within 0.5 s")
        app = make_app(overrides={"local": {"url": server.url}, "check_timeout_s": 3})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            note = app.query_one(StatusBar).server_note
            await pilot.press("r")
            await app.workers.wait_for_complete()
            await pilot.pause()
            problem = str(app.pane("left").query_one(".problem").render())
    assert note == "local: not ready", note
    assert "cannot reach" not in problem and "start the server" not in problem, problem
    assert f"{server.url} answered the connection but not the check in 3 s" in problem, problem
    assert "busy: loading a model?" in problem, problem
    assert "wait" in problem and "check_timeout_s" in problem, problem


async def test_a_server_that_comes_back_is_said_to_be_back() -> None:
    """LM Studio stopped, a run said "cannot reach" and the status bar "local: not
    reachable"; started again, the status bar went on saying "not reachable" (and the
    pane "Not run: cannot reach …") until R or another run. A server found not reachable
    is now asked again every few seconds: once it answers, both say it is back."""
    first = LmStudioServer()
    with first:
        app = make_app(overrides={"local": {"url": first.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)
            await app.workers.wait_for_complete()
            bar = app.query_one(StatusBar)
            assert bar.server_note.startswith("local: LM Studio"), bar.server_note
            first.__exit__()
            await pilot.press("r")
            assert await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 10)
            pane = app.pane("left")
            assert "cannot reach" in str(pane.query_one(".problem").render())
            with LmStudioServer(port=first.port):
                back = await wait_for(pilot, lambda: bar.server_note != "local: not reachable", 12)
                note = bar.server_note
                problem = str(pane.query_one(".problem").render())
    assert back and note.startswith("local: LM Studio"), note
    assert "cannot reach" not in problem, problem


async def test_a_pane_not_run_while_the_server_was_away_is_idle_once_it_answers() -> None:
    """``--url`` where nothing listened: r left both panes "Not run: cannot reach …". Once
    vLLM started there, the status bar named it, but the panes went on saying
    "· not run · thinking on" and a centred "not run" under the new model's title, with
    no reason: the state of a server that was not there. They are now idle for it."""
    from pelican_tui.backends.llama.process import free_port

    port = free_port()  # nothing listens there yet
    app = make_app(overrides={"local": {"url": f"http://127.0.0.1:{port}"}})
    async with app.run_test(size=(160, 48)) as pilot:
        bar = app.query_one(StatusBar)
        assert await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 15)
        await pilot.press("r")
        left, right = app.pane("left"), app.pane("right")
        assert await wait_for(pilot, lambda: left.state == right.state == "not run", 15)
        assert "cannot reach" in left.problem, left.problem
        with VllmServer(port=port):
            back = await wait_for(pilot, lambda: bar.server_note.startswith("local: vLLM"), 15)
            await app.workers.wait_for_complete()
            await pilot.pause()
            seen = [(p.state, p.stats_line(), p.picture.note, p.problem) for p in (left, right)]
    assert back, bar.server_note
    for state, stats, note, problem in seen:
        assert state == "idle", seen
        assert "not run" not in stats and note != "not run", seen
        assert problem == "", seen


async def test_a_lost_gpt_oss_server_still_says_its_off_runs_its_lowest_level() -> None:
    """gpt-oss (no off: "thinking low (no off)") stopped: a run found it not reachable,
    and its pane's header then said "thinking off", as if off could run. It now goes on
    saying what a run would send once it is back: its lowest level."""
    server = OllamaServer(**GPT_OSS)  # type: ignore[arg-type]
    with server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            right = app.pane("right").query_one(".facts", TextLine)
            before = right.text
            server.__exit__()
            await pilot.press("r")
            bar = app.query_one(StatusBar)
            assert await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 10)
            await app.workers.wait_for_complete()
            await pilot.pause()
            lost = right.text
    assert before.endswith(" · thinking low (no off)"), before
    assert lost.endswith(" · thinking low (no off)"), lost
    assert "thinking off" not in lost, lost


async def test_an_idle_server_that_stops_is_said_to_be_gone_and_back() -> None:
    """An attached server stopped while nothing ran: the status bar went on saying "local:
    LM Studio …" and the panes nothing until the next run failed. An idle server is now
    asked for its model list every few seconds (one small GET, not a run): gone, the
    status bar says "not reachable" and the panes why; back, both say so again."""
    first = LmStudioServer()
    with first:
        app = make_app(overrides={"local": {"url": first.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)
            await app.workers.wait_for_complete()
            bar, pane = app.query_one(StatusBar), app.pane("left")
            assert bar.server_note.startswith("local: LM Studio"), bar.server_note
            first.__exit__()
            gone = await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 12)
            problem = str(pane.query_one(".problem").render())
            with LmStudioServer(port=first.port) as second:
                back = await wait_for(pilot, lambda: bar.server_note != "local: not reachable", 12)
                note = bar.server_note
                back_problem = str(pane.query_one(".problem").render())
            chats = [r for r in first.requests + second.requests if "chat" in r.path]
    assert gone, bar.server_note
    assert "cannot reach" in problem, problem
    assert back and note.startswith("local: LM Studio"), note
    assert "cannot reach" not in back_problem, back_problem
    assert chats == [], "asked with no generation"


async def test_a_lost_server_whose_model_has_no_switch_still_says_so() -> None:
    """Ollama's llama3.2 (no thinking capability: "no thinking switch") stopped: a run
    found it not reachable, and its panes' headers then said "thinking on" and "thinking
    off", as if the switch would be sent. They now go on saying "no thinking switch", as
    its last check found, what a run does once the server is back."""
    server = OllamaServer(model="llama3.2", thinks=False)
    with server:
        app = make_app(overrides={"local": {"url": server.url}})
        async with app.run_test(size=(160, 48)) as pilot:
            assert await header_read(pilot)  # then the app checks the server
            await app.workers.wait_for_complete()
            await pilot.pause()
            facts = [app.pane(s).query_one(".facts", TextLine) for s in ("left", "right")]
            before = [line.text for line in facts]
            server.__exit__()
            await pilot.press("r")
            bar = app.query_one(StatusBar)
            assert await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 10)
            await app.workers.wait_for_complete()
            await pilot.pause()
            lost = [line.text for line in facts]
    assert all(f.endswith(" · no thinking switch") for f in before), before
    assert all(f.endswith(" · no thinking switch") for f in lost), lost
