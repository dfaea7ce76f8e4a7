"""Attach mode: any OpenAI-compatible server by URL, and a real llama-server by URL.

"Other" servers are a real loopback HTTP server defined here
(:class:`OpenAITestServer`) that speaks the chat-completions SSE protocol and
records every request body; it can be strict (400 on any non-standard field,
404 on an unknown model, like OpenAI itself), omit the space after ``data:``,
live under a path prefix, or go silent mid-stream. The llama.cpp side is a real
llama-server started by the test on the tiny default model.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from _dialect_servers import LoopbackServer, Recorded, send_json
from _server_support import tiny_model

from pelican_tui.backends.engine.sides import make_local_backend
from pelican_tui.backends.events import (
    Failed,
    Finished,
    GenerationEvent,
    TextDelta,
    ThinkingDelta,
    Waiting,
)
from pelican_tui.backends.llama.local_model import plan_local
from pelican_tui.backends.llama.process import LlamaServer, free_port
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.openai_compat.payload import LLAMA_CPP_ONLY_FIELDS, build_payload
from pelican_tui.backends.openai_compat.probe import check_server, normalize_base_url
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.settings import LocalSettings, Settings, load_settings

ANSWER = '```svg\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"/>\n```'
PIECES = [ANSWER[i : i + 7] for i in range(0, len(ANSWER), 7)]
"""The answer as the server streams it: one "token" per chunk."""

STANDARD_FIELDS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "stop",
        "n",
        "user",
    }
)
"""What a strict OpenAI-compatible server accepts; anything else is a 400."""

# Qwen3.6 model card (FACTS.md): thinking for precise coding, and non-thinking.
CARD_THINKING = {
    "temperature": 0.6,
    "top_p": 0.95,
    "top_k": 20,
    "min_p": 0.0,
    "presence_penalty": 0.0,
}
CARD_NO_THINKING = {
    "temperature": 0.7,
    "top_p": 0.8,
    "top_k": 20,
    "min_p": 0.0,
    "presence_penalty": 1.5,
}


@dataclass
class OpenAITestServer(LoopbackServer):
    """A chat-completions server on 127.0.0.1, in its own thread."""

    models: tuple[str, ...] = ("test-model",)
    strict: bool = False
    """400 for any field outside :data:`STANDARD_FIELDS`; 404 for a missing or unknown model."""
    llama_props: bool = False
    """Answer ``/props`` like llama-server (otherwise 404, like everything else)."""
    space_after_colon: bool = True
    prefix: str = ""
    """Serve the API under this path (``/api`` gives ``/api/v1/...``)."""
    stall_after: int | None = None
    """Send this many chunks, then nothing more until the client hangs up."""
    pause_s: float | None = None
    """With ``stall_after``: go silent this long, then send the rest (a slow server)."""
    chunk_delay_s: float = 0.0
    """Between chunks (a server that streams, rather than all in one read)."""
    ping_s: float | None = None
    """With ``stall_after``: while silent, send an SSE comment (``: ping``) this often."""
    cut_after: int | None = None
    """Send this many chunks, then drop the connection mid-body."""
    api_key: str | None = None
    client_hung_up: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)
    """Set once ``stall_after`` chunks were sent (and flushed) and it went silent."""

    @property
    def url(self) -> str:
        return super().url + self.prefix

    def chat_bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    async def answer(
        self, request: Recorded, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        method, target, headers, body = request.method, request.path, request.headers, request.body
        path = target.removeprefix(self.prefix) if target.startswith(self.prefix) else ""
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            await send_json(writer, 401, {"error": {"message": "Incorrect API key provided"}})
        elif method == "GET" and path == "/v1/models":
            data = [{"id": m, "object": "model", "owned_by": "test"} for m in self.models]
            await send_json(writer, 200, {"object": "list", "data": data})
        elif method == "GET" and path == "/props" and self.llama_props:
            props = {"build_info": "b0-test", "default_generation_settings": {}}
            await send_json(writer, 200, props)
        elif method == "POST" and path == "/v1/chat/completions":
            await self._chat(reader, writer, body)
        else:
            await send_json(writer, 404, {"error": {"message": f"no route {target}"}})

    async def _chat(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: Any
    ) -> None:
        if self.strict:
            unknown = sorted(set(body) - STANDARD_FIELDS)
            if unknown:
                message = f"Unrecognized request argument supplied: {', '.join(unknown)}"
                await send_json(writer, 400, {"error": {"message": message}})
                return
            if body.get("model") not in self.models:
                message = f"The model `{body.get('model')}` does not exist"
                await send_json(writer, 404, {"error": {"message": message}})
                return
        head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        writer.write((head + "transfer-encoding: chunked\r\nconnection: close\r\n\r\n").encode())
        hung_up = asyncio.ensure_future(reader.read(1))
        chunks: list[object] = [
            {"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
            for p in PIECES
        ]
        chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        usage = {"prompt_tokens": 11, "completion_tokens": len(PIECES), "total_tokens": 0}
        chunks.append({"choices": [], "usage": usage})
        chunks.append("[DONE]")
        space = " " if self.space_after_colon else ""
        for index, chunk in enumerate(chunks):
            if self.stall_after is not None and index == self.stall_after:
                if self.pause_s is not None:  # a slow server: silent for a while, then on
                    await asyncio.wait({hung_up}, timeout=self.pause_s)
                else:
                    self.stalled.set()
                    while self.ping_s is not None and not hung_up.done():  # alive, no answer
                        frame = b": ping\n\n"
                        writer.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
                        await asyncio.wait({hung_up}, timeout=self.ping_s)
                    await hung_up  # silent until the client gives up
                    self.client_hung_up.set()
                    return
            if self.cut_after is not None and index == self.cut_after:
                writer.transport.abort()  # the chunked body is left unfinished
                return
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
            data = chunk if isinstance(chunk, str) else json.dumps(chunk)
            frame = f"data:{space}{data}\n\n".encode()
            writer.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


@pytest.fixture
def openai_server(request: pytest.FixtureRequest) -> Iterator[OpenAITestServer]:
    options = getattr(request, "param", {})
    with OpenAITestServer(**options) as server:
        yield server


async def _collect(
    backend: OpenAICompatibleBackend, thinking: bool = False
) -> list[GenerationEvent]:
    request = GenerationRequest(prompt="Draw a pelican.", thinking=thinking, max_tokens=64)
    return [event async for event in backend.generate(request)]


def _answer(events: list[GenerationEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# --------------------------------------------------------------------------- URL forms


@pytest.mark.parametrize(
    ("typed", "root"),
    [
        ("http://h:8080", "http://h:8080"),
        ("http://h:8080/", "http://h:8080"),
        ("http://h:8080/v1", "http://h:8080"),
        ("http://h:8080/v1/", "http://h:8080"),
        (" https://h/api/v1/ ", "https://h/api"),
        ("localhost:8080/v1", "http://localhost:8080"),
        # An endpoint's URL, pasted from a server's docs
        ("http://h:8080/v1/chat/completions", "http://h:8080"),
        ("http://h:8080/v1/models/", "http://h:8080"),
        ("https://h/api/v1/chat/completions", "https://h/api"),
    ],
)
def test_normalize_base_url(typed: str, root: str) -> None:
    assert normalize_base_url(typed) == root


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
@pytest.mark.parametrize("openai_server", [{}, {"prefix": "/api"}], indirect=True)
async def test_every_url_form_reaches_chat_completions(
    openai_server: OpenAITestServer, suffix: str
) -> None:
    backend = OpenAICompatibleBackend(openai_server.url + suffix)
    events = await _collect(backend)
    assert isinstance(events[-1], Finished), events[-1]
    assert _answer(events) == ANSWER
    paths = [r.path for r in openai_server.requests]
    assert f"{openai_server.prefix}/v1/chat/completions" in paths
    assert not any("/v1/v1" in path for path in paths), paths


# --------------------------------------------------------------------------- model choice


@pytest.mark.parametrize(
    "openai_server", [{"strict": True, "models": ("first-model", "second-model")}], indirect=True
)
async def test_without_url_model_the_first_listed_model_is_sent(
    openai_server: OpenAITestServer,
) -> None:
    local = LocalSettings(url=openai_server.url)
    backend = make_local_backend(local, plan_local(local), binary=None)
    events = await _collect(backend)
    assert isinstance(events[-1], Finished), events[-1]
    assert [body["model"] for body in openai_server.chat_bodies()] == ["first-model"]
    assert backend.describe()["served_model"] == "first-model"

    chosen = LocalSettings(url=openai_server.url, url_model="second-model")
    backend = make_local_backend(chosen, plan_local(chosen), binary=None)
    events = await _collect(backend)
    assert isinstance(events[-1], Finished), events[-1]
    assert openai_server.chat_bodies()[-1]["model"] == "second-model"


# --------------------------------------------------------------------------- status is real


async def test_status_reports_an_unreachable_server_after_a_probe() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    backend = OpenAICompatibleBackend(url)
    assert "not checked yet" in backend.status().message
    status = await backend.probe()
    assert not status.ready
    assert status.message == f"cannot reach {url}: connection refused (is the server running?)"
    assert status.hint and "local.url" in status.hint
    assert backend.status() == status
    events = await _collect(backend)
    assert len(events) == 1 and isinstance(events[0], Failed)
    assert "cannot reach" in events[0].reason and events[0].hint


async def test_the_remotes_hints_name_the_remote_settings() -> None:
    """A remote that cannot be reached said "or change local.url"."""
    from pelican_tui.backends.engine.sides import RemoteSide
    from pelican_tui.backends.settings import Settings

    url = f"http://127.0.0.1:{free_port()}/v1"
    status = await RemoteSide(Settings(remote={"url": url})).check()
    assert not status.ready and status.hint is not None
    assert status.hint.endswith("or change remote.url"), status.hint


@pytest.mark.parametrize("openai_server", [{"models": ("a-model", "qwen3:latest")}], indirect=True)
async def test_a_model_the_server_does_not_list_is_not_ready(
    openai_server: OpenAITestServer,
) -> None:
    """doctor said "ok" to a model name the server then refused with 404 at the run."""
    from pelican_tui.backends.engine.sides import RemoteSide
    from pelican_tui.backends.settings import Settings

    status = await OpenAICompatibleBackend(openai_server.url, model="nope").probe()
    assert not status.ready, status.message
    assert "does not serve 'nope'" in status.message and "a-model" in status.message
    assert status.hint is not None and "local.url_model" in status.hint
    remote = RemoteSide(Settings(remote={"url": openai_server.url, "model": "nope"}))
    hint = (await remote.check()).hint
    assert hint is not None and "remote.model" in hint, hint
    assert (await OpenAICompatibleBackend(openai_server.url, model="qwen3").probe()).ready, (
        "Ollama's qwen3 is the qwen3:latest it lists"
    )


@pytest.mark.parametrize("openai_server", [{"api_key": "right-key"}], indirect=True)
async def test_probe_names_the_api_key_variable_on_401(openai_server: OpenAITestServer) -> None:
    wrong = OpenAICompatibleBackend(openai_server.url, "wrong-key", api_key_env="MY_KEY_VAR")
    status = await wrong.probe()
    assert not status.ready and "401" in status.message
    assert status.hint is not None and "MY_KEY_VAR" in status.hint
    right = OpenAICompatibleBackend(openai_server.url, "right-key")
    assert (await right.probe()).ready


async def test_a_server_that_goes_away_turns_status_not_ready() -> None:
    with OpenAITestServer() as server:
        backend = OpenAICompatibleBackend(server.url)
        assert (await backend.probe()).ready
    events = await _collect(backend)
    assert isinstance(events[-1], Failed)
    assert "cannot reach" in events[-1].reason
    assert not backend.status().ready


# --------------------------------------------------------------------------- stalls


def _idle_settings(url: str, idle_timeout_s: float) -> Settings:
    return load_settings({"idle_timeout_s": idle_timeout_s, "local": {"url": url}})


def _attached(settings: Settings) -> OpenAICompatibleBackend:
    local = settings.local
    return make_local_backend(
        local, plan_local(local), binary=None, idle_timeout_s=settings.idle_timeout_s
    )


@pytest.mark.parametrize(
    "openai_server", [{"stall_after": 3}, {"stall_after": 3, "ping_s": 0.2}], indirect=True
)
async def test_a_silent_server_shows_waiting_then_fails_and_is_hung_up_on(
    openai_server: OpenAITestServer,
) -> None:
    settings = _idle_settings(openai_server.url, 2.0)
    started = time.monotonic()
    events = await asyncio.wait_for(_collect(_attached(settings)), timeout=30)
    elapsed = time.monotonic() - started
    failed = events[-1]
    assert isinstance(failed, Failed), failed
    assert failed.reason == f"no data from the server at {openai_server.url} for 2 s; gave up"
    assert failed.hint is not None and "idle_timeout_s" in failed.hint
    waiting = [e for e in events if isinstance(e, Waiting)]
    assert len(waiting) >= 2, events
    idles = [w.idle_s for w in waiting]
    assert idles == sorted(idles) and idles[0] >= 0.5 and idles[-1] < 2.0, idles
    last_text = max(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert last_text < events.index(waiting[0]), "the chunks before the silence arrived first"
    assert 2.0 <= elapsed < 10, elapsed
    assert openai_server.client_hung_up.wait(5), "the client closed the silent stream"


@pytest.mark.parametrize("openai_server", [{"stall_after": 3}], indirect=True)
def test_run_says_while_a_stream_is_silent(
    openai_server: OpenAITestServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TUI's pane says "no data for N s" while a stream is silent; run printed
    nothing until the failure (120 s by default)."""
    import io

    from pelican_tui.cli.run import run_command

    monkeypatch.setenv("PELICAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PELICAN_IDLE_TIMEOUT_S", "3")
    err = io.StringIO()
    argv = ["--url", openai_server.url, "--no-claude", "--thinking", "off"]
    code = run_command([*argv, "--out", str(tmp_path / "out")], stdout=io.StringIO(), stderr=err)
    said = err.getvalue()
    assert code == 1, said
    assert "left local (no switch): no data for 1 s" in said, said  # none known to send
    assert f"no data from the server at {openai_server.url} for 3 s; gave up" in said
    # The silence failed the run, whose tok/s is not shown: no word of it counting.
    assert "its tok/s counts that time" not in said, said


@pytest.mark.parametrize("openai_server", [{"stall_after": 3, "pause_s": 6.5}], indirect=True)
def test_run_says_a_silence_mid_answer_is_in_the_speed(
    openai_server: OpenAITestServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stall from outside (a suspended server) was stored as the model's speed, with
    nothing to say so; it is recorded, and said with the run."""
    import io
    import re

    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore
    from pelican_tui.cli.run import run_command

    monkeypatch.setenv("PELICAN_HOME", str(tmp_path / "home"))
    err = io.StringIO()
    argv = ["--url", openai_server.url, "--no-claude", "--thinking", "off"]
    code = run_command([*argv, "--out", str(tmp_path / "out")], stdout=io.StringIO(), stderr=err)
    said = err.getvalue()
    assert code == 0, said
    assert re.search(r"warning: .*: the stream was silent for [56] s mid-answer; its tok/s", said)
    with SessionStore.open(locations.sessions_db(), create=False) as store:
        [summary] = store.list_sessions()
        [run] = store.get_session(summary.id).runs
    assert 5.0 <= run.timings["silent_s"] < 6.5, run.timings
    card = next((tmp_path / "out").glob("session-*/run-card.md")).read_text()
    assert "Silent mid-answer" in card


@pytest.mark.parametrize("openai_server", [{"stall_after": 3, "pause_s": 6.5}], indirect=True)
async def test_the_pane_says_a_silence_mid_answer_is_in_the_speed(
    openai_server: OpenAITestServer,
) -> None:
    """The TUI says it as run does: where a failure would be, once the run is over."""
    from _app_support import make_app, wait_for

    app = make_app(overrides={"local": {"url": openai_server.url}})
    async with app.run_test(size=(160, 48)) as pilot:
        left = app.pane("left")
        await pilot.press("1")
        assert await wait_for(pilot, lambda: left.state == "finished", 30), left.stats_line()
        problem = str(left.query_one(".problem").render())
        assert "⚠ The stream was silent for" in problem and "mid-answer" in problem, problem


@pytest.mark.parametrize("openai_server", [{"stall_after": 3, "pause_s": 3.0}], indirect=True)
async def test_a_slow_server_shows_waiting_and_then_finishes(
    openai_server: OpenAITestServer,
) -> None:
    events = await asyncio.wait_for(
        _collect(_attached(_idle_settings(openai_server.url, 8.0))), timeout=30
    )
    assert isinstance(events[-1], Finished), events[-1]
    assert _answer(events) == ANSWER
    waiting = [i for i, e in enumerate(events) if isinstance(e, Waiting)]
    assert waiting, "3 s of silence with an 8 s limit is noticed at 2 s"
    assert any(isinstance(e, TextDelta) for e in events[waiting[-1] :]), "then data flowed again"


def test_idle_timeout_comes_from_settings() -> None:
    settings = _idle_settings("http://127.0.0.1:1", 42.0)
    assert _attached(settings).idle.timeout_s == 42.0
    assert load_settings().idle_timeout_s == 120.0


@pytest.mark.parametrize("openai_server", [{"cut_after": 3}], indirect=True)
async def test_a_connection_cut_mid_answer_is_said_in_plain_words(
    openai_server: OpenAITestServer,
) -> None:
    events = await asyncio.wait_for(_collect(OpenAICompatibleBackend(openai_server.url)), 30)
    failed = events[-1]
    assert isinstance(failed, Failed), failed
    assert failed.reason == f"the server at {openai_server.url} closed the connection mid-answer"
    assert failed.hint == "check that the server is up"
    assert failed.reason.count(openai_server.url) == 1, "the URL once, in the reason"


async def test_an_unknown_host_is_said_in_plain_words() -> None:
    check = await check_server("http://no-such-host.invalid:8080")
    assert not check.reachable
    assert check.message == "cannot reach http://no-such-host.invalid:8080: unknown host name"


async def test_https_to_a_plain_http_server_suggests_http() -> None:
    """A plain-HTTP server given as https:// was "the TLS handshake failed" with the
    hint to start the server (it was running) at that https URL."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)  # 400 to TLS
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"127.0.0.1:{server.server_address[1]}"
    try:
        check = await check_server(f"https://{url}")
    finally:
        server.shutdown()
        server.server_close()
    assert not check.reachable
    assert check.message == f"cannot reach https://{url}: the TLS handshake failed"
    assert check.hint == f"if the server speaks plain HTTP, use http://{url}, or change local.url"


# --------------------------------------------------------------------------- dialects


@pytest.mark.parametrize("openai_server", [{"strict": True, "chunk_delay_s": 0.01}], indirect=True)
async def test_a_strict_server_gets_only_standard_fields(openai_server: OpenAITestServer) -> None:
    # The server really rejects llama.cpp's fields...
    llama_body = build_payload(GenerationRequest(), "test-model", llama_cpp=True)
    async with httpx.AsyncClient() as client:
        rejected = await client.post(f"{openai_server.url}/v1/chat/completions", json=llama_body)
    assert rejected.status_code == 400 and "top_k" in rejected.text
    # ...and the backend, having probed it, does not send them.
    backend = OpenAICompatibleBackend(openai_server.url)
    status = await backend.probe()
    assert status.ready and "OpenAI-compatible" in status.message
    assert not backend.llama_cpp and not backend.capabilities.supports_thinking
    events = await _collect(backend, thinking=True)
    assert isinstance(events[-1], Finished), events[-1]
    body = openai_server.chat_bodies()[-1]
    assert set(body) <= STANDARD_FIELDS
    assert not set(body) & set(LLAMA_CPP_ONLY_FIELDS)
    assert events[-1].usage.output_tokens == len(PIECES), "from the usage chunk"
    assert events[-1].timings.generation_tokens_per_s is not None, "measured client-side"


@pytest.mark.parametrize("openai_server", [{"llama_props": True}], indirect=True)
async def test_a_server_with_llama_props_gets_llama_fields(
    openai_server: OpenAITestServer,
) -> None:
    backend = OpenAICompatibleBackend(openai_server.url)
    await backend.probe()
    assert backend.llama_cpp and backend.check is not None and backend.check.build == "b0-test"
    events = await _collect(backend)
    assert isinstance(events[-1], Finished)
    body = openai_server.chat_bodies()[-1]
    assert set(LLAMA_CPP_ONLY_FIELDS) <= set(body)
    assert body["chat_template_kwargs"] == {"enable_thinking": False}


@pytest.mark.parametrize("openai_server", [{"space_after_colon": False}], indirect=True)
async def test_sse_data_without_a_space_after_the_colon(openai_server: OpenAITestServer) -> None:
    events = await _collect(OpenAICompatibleBackend(openai_server.url))
    assert isinstance(events[-1], Finished), events[-1]
    assert _answer(events) == ANSWER


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("openai_server", [{"llama_props": True}], indirect=True)
async def test_recommended_sampling_sent_per_mode_is_the_model_cards(
    openai_server: OpenAITestServer,
) -> None:
    backend = OpenAICompatibleBackend(openai_server.url)
    for thinking in (True, False):
        events = await _collect(backend, thinking=thinking)
        assert isinstance(events[-1], Finished), events[-1]
    on, off = openai_server.chat_bodies()
    assert {key: on[key] for key in CARD_THINKING} == CARD_THINKING
    assert {key: off[key] for key in CARD_NO_THINKING} == CARD_NO_THINKING
    assert on["chat_template_kwargs"] == {"enable_thinking": True}
    assert off["chat_template_kwargs"] == {"enable_thinking": False}


@pytest.mark.parametrize("openai_server", [{"strict": True}], indirect=True)
async def test_a_strict_server_still_gets_the_standard_sampling_fields(
    openai_server: OpenAITestServer,
) -> None:
    backend = OpenAICompatibleBackend(openai_server.url)
    events = await _collect(backend, thinking=False)
    assert isinstance(events[-1], Finished), events[-1]
    body = openai_server.chat_bodies()[-1]
    standard = {k: v for k, v in CARD_NO_THINKING.items() if k not in LLAMA_CPP_ONLY_FIELDS}
    assert {key: body[key] for key in standard} == standard


# --------------------------------------------------------------------------- real llama-server


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["/v1/", "/"])
async def test_attach_to_a_real_llama_server_by_url(
    llama: LlamaServer, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    local = LocalSettings(url=llama.base_url + suffix)
    backend = make_local_backend(local, plan_local(local), binary=None)
    status = await backend.probe()
    assert status.ready, status
    assert backend.llama_cpp
    assert not backend.capabilities.supports_thinking, "SmolLM2's template has no switch"
    assert backend.check is not None and backend.check.models
    assert backend.model == backend.check.models[0]
    assert backend.model.endswith(tiny_model().name), "llama-server lists its model by path"
    events = await _collect(backend)
    assert isinstance(events[-1], Finished), events[-1]
    assert events[-1].timings.generation_tokens_per_s, "llama.cpp timings were asked for"


@pytest.mark.slow
async def test_check_server_without_the_key_says_which_variable(llama: LlamaServer) -> None:
    check = await check_server(llama.base_url, None, api_key_env="PELICAN_LOCAL_API_KEY")
    assert check.reachable and not check.ready
    assert check.hint is not None and "PELICAN_LOCAL_API_KEY" in check.hint


@pytest.mark.slow
async def test_https_to_a_llama_server_that_waits_suggests_http(llama: LlamaServer) -> None:
    """llama-server does not answer a TLS handshake (it waits for a request line): an
    https:// URL for it was "no connection within 10 s" with the hint to start the
    server, which was running."""
    plain = llama.base_url.removeprefix("http://")
    check = await check_server(f"https://{plain}", llama.api_key, timeout_s=1.0)
    assert not check.reachable
    said = "no answer to the TLS handshake within 1 s"
    assert check.message == f"cannot reach https://{plain}: {said}"
    assert check.hint == f"if the server speaks plain HTTP, use http://{plain}, or change local.url"


# --------------------------------------------------------------------------- odd answers


@dataclass
class OddServer(LoopbackServer):
    """Lists one model, and answers a chat request with ``status``, ``content_type`` and
    ``body`` as given: what proxies, web servers and half-compatible servers send."""

    status: int = 200
    content_type: str = "text/event-stream"
    body: bytes = b""

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        if method == "GET" and path == "/v1/models":
            await send_json(writer, 200, {"object": "list", "data": [{"id": "m"}]})
            return
        if method != "POST":
            await send_json(writer, 404, {"error": {"message": "no route"}})
            return
        head = f"HTTP/1.1 {self.status} X\r\ncontent-type: {self.content_type}\r\n"
        head += f"content-length: {len(self.body)}\r\nconnection: close\r\n\r\n"
        writer.write(head.encode() + self.body)
        await writer.drain()


HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def _sse(*chunks: object) -> bytes:
    return b"".join(f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks)


JSON, SSE = "application/json", "text/event-stream"
ODD_ANSWERS: dict[str, tuple[int, str, bytes, str, str | None]] = {
    "502 HTML": (502, "text/html", HTML, " answered 502 with a web page, not an API error", None),
    "FastAPI": (422, JSON, b'{"detail": "Not Found"}', " answered 422: Not Found", None),
    "no message": (400, JSON, b'{"error": {"code": 42}}', " answered 400", None),
    "429": (429, JSON, b'{"error": {"message": "slow"}}', " answered 429: slow", "wait"),
    "404 text": (404, "text/plain", b"404 page not found", " answered 404", "API root"),
    "200 HTML": (200, "text/html", HTML, " answered with a web page, not the API", "the URL"),
    "200 error": (
        200, JSON, b'{"error": {"message": "Model qwen not found, try pulling it first"}}',
        " answered with an error: Model qwen not found, try pulling it first", None,
    ),
    "empty": (200, SSE, b"", " answered with nothing", None),
    "odd chunk": (
        200, SSE, _sse({"choices": [{"delta": {"content": "<svg"}}]}, {"choices": "abc"}),
        " sent a chunk that is not a chat-completion chunk; the answer was abandoned",
        "OpenAI-compatible",
    ),
    "mid-stream": (200, SSE, _sse({"error": {"code": 5}}), " reported an error mid-answer", None),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ODD_ANSWERS))
async def test_an_odd_answer_is_said_in_the_apps_words(case: str) -> None:
    """Raw HTML, JSON and Python exceptions reached the pane and the run card; four of
    these all said "ended the answer before it was complete"."""
    status, content_type, body, reason, hint = ODD_ANSWERS[case]
    with OddServer(status=status, content_type=content_type, body=body) as server:
        events = await asyncio.wait_for(_collect(_attached(_idle_settings(server.url, 10))), 30)
    failed = events[-1]
    assert isinstance(failed, Failed), events
    assert failed.reason.startswith(f"the server at {server.url}{reason}"), failed.reason
    assert case == "502 HTML" or failed.reason == f"the server at {server.url}{reason}"
    assert "<" not in failed.reason and "{" not in failed.reason and "Error" not in failed.reason
    assert (hint is None and failed.hint is None) or (hint is not None and hint in str(failed.hint))
    if case == "odd chunk":
        assert _answer(events) == "<svg", "the chunk before the odd one arrived"


@dataclass
class OddListing(LoopbackServer):
    """Answers GET /v1/models with ``status`` and ``body`` (and everything else 404)."""

    status: int = 404
    body: bytes = HTML

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        if path != "/v1/models":
            await send_json(writer, 404, {"error": {"message": "no route"}})
            return
        kind = "text/html" if self.body.startswith(b"<") else "application/json"
        head = f"HTTP/1.1 {self.status} X\r\ncontent-type: {kind}\r\n"
        head += f"content-length: {len(self.body)}\r\nconnection: close\r\n\r\n"
        writer.write(head.encode() + self.body)
        await writer.drain()


@pytest.mark.parametrize(
    ("status", "body", "message", "hint"),
    [
        (404, HTML, "has no model list (404 for GET /v1/models, a web page)", "API root"),
        (502, b'{"error": {"message": "down"}}', "answered 502 to GET /v1/models: down", "its log"),
        (429, b'{"error": "slow down"}', "answered 429 to GET /v1/models: slow down", "wait"),
    ],
)  # fmt: skip
async def test_a_model_list_that_is_not_one_is_said_plainly(
    status: int, body: bytes, message: str, hint: str
) -> None:
    """A 404 page read as "lists no models" with the hint to load a model; a 502's
    own message was dropped for "check that local.url points at an OpenAI-compatible
    server"."""
    with OddListing(status=status, body=body) as server:
        check = await check_server(server.url)
    assert not check.ready
    assert check.message == f"{server.url} {message}"
    assert check.hint is not None and hint in check.hint


async def test_an_answer_that_came_all_at_once_is_kept() -> None:
    """A server that ignores stream: true sent the whole answer as one JSON: it was
    dropped with "answered all at once", and the pane said the answer was empty."""
    body = json.dumps(
        {
            "choices": [
                {
                    "message": {"content": "<svg/>", "reasoning_content": "Hmm."},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3},
        }
    ).encode()
    with OddServer(status=200, content_type=JSON, body=body) as server:
        events = await asyncio.wait_for(_collect(_attached(_idle_settings(server.url, 10))), 30)
    finished = events[-1]
    assert isinstance(finished, Finished), events
    assert _answer(events) == "<svg/>"
    assert [e.text for e in events if isinstance(e, ThinkingDelta)] == ["Hmm."]
    assert finished.stop_reason == "length" and finished.usage.output_tokens == 3
    assert finished.timings.generation_tokens_per_s is None, "no stream: no rate to measure"
