"""ClaudeBackend against a real loopback server speaking the Messages SSE protocol."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from _anthropic_server import AnthropicTestServer, Scenario
from _server_support import pool_requests

from pelican_tui.backends.anthropic_backend import ClaudeBackend
from pelican_tui.backends.events import (
    MIN_RATE_SPAN_S,
    Failed,
    Finished,
    GenerationEvent,
    LiveStats,
    Started,
    TextDelta,
    ThinkingDelta,
    Usage,
    Waiting,
)
from pelican_tui.backends.protocol import GenerationRequest, ModelBackend
from pelican_tui.backends.settings import ClaudeSettings, load_settings

KEY = "sk-ant-test-DO-NOT-LEAK-0123456789"
TIMEOUT_S = 15.0
SERVER_SCRIPT = Path(__file__).with_name("_anthropic_server.py")


@pytest.fixture
def server() -> Iterator[AnthropicTestServer]:
    with AnthropicTestServer() as srv:
        yield srv


def backend_for(server: AnthropicTestServer, **settings: object) -> ClaudeBackend:
    options: dict[str, object] = {"base_url": server.base_url, "max_retries": 0, "timeout_s": 10}
    options.update(settings)
    return ClaudeBackend(ClaudeSettings.model_validate(options), api_key=KEY)


async def collect(
    backend: ClaudeBackend, request: GenerationRequest | None = None
) -> list[GenerationEvent]:
    async def run() -> list[GenerationEvent]:
        return [event async for event in backend.generate(request or GenerationRequest())]

    # A hang is a failure: every generation must end on its own.
    return await asyncio.wait_for(run(), TIMEOUT_S)


def texts(events: list[GenerationEvent], kind: type[ThinkingDelta | TextDelta]) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def assert_one_terminal_event_last(events: list[GenerationEvent]) -> None:
    terminal = [e for e in events if isinstance(e, Finished | Failed)]
    assert len(terminal) == 1
    assert events[-1] is terminal[0]


async def disconnected(server: AnthropicTestServer) -> bool:
    return await asyncio.to_thread(server.client_disconnected.wait, 5.0)


# -- a whole answer -------------------------------------------------------------------


async def test_streams_thinking_then_text_with_real_usage(server: AnthropicTestServer) -> None:
    events = await collect(backend_for(server))

    assert_one_terminal_event_last(events)
    assert events[0] == Started(model="claude-opus-4-7")
    assert texts(events, ThinkingDelta) == server.thinking_text
    answer = texts(events, TextDelta)
    assert answer == server.answer_text
    assert "```svg\n<svg" in answer and "</svg>\n```" in answer
    kinds = [type(e) for e in events if isinstance(e, ThinkingDelta | TextDelta)]
    assert kinds.index(TextDelta) > kinds.index(ThinkingDelta)
    assert ThinkingDelta not in kinds[kinds.index(TextDelta) :]

    finished = events[-1]
    assert isinstance(finished, Finished)
    expected = server.last_usage
    assert finished.usage == Usage(
        input_tokens=expected["input_tokens"],
        output_tokens=expected["output_tokens"],
        thinking_tokens=expected["thinking_tokens"],
    )
    assert finished.stop_reason == "end_turn"
    timings = finished.timings
    assert timings.prompt_tokens == expected["input_tokens"]
    assert timings.generated_tokens == expected["output_tokens"]
    assert timings.time_to_first_token_s is not None and timings.total_s is not None
    assert 0 < timings.time_to_first_token_s <= timings.total_s
    # The loopback stream comes at once: no rate to measure (it read 344251.8 tok/s),
    # unless a loaded machine spread it over more than the shortest span measured.
    span = timings.total_s - timings.time_to_first_token_s
    rate = timings.generation_tokens_per_s
    if span < MIN_RATE_SPAN_S:
        assert rate is None
    else:
        assert rate == pytest.approx((timings.generated_tokens - 1) / span, 0.1)

    # Live numbers: estimates while streaming, the real usage just before Finished.
    live = [e for e in events if isinstance(e, LiveStats)]
    assert live and isinstance(events[-2], LiveStats)
    assert events[-2].tokens == expected["output_tokens"]
    assert events[-2].thinking_tokens == expected["thinking_tokens"]
    assert all(e.time_to_first_token_s is not None for e in live)


async def test_live_stats_are_throttled(server: AnthropicTestServer) -> None:
    server.scenario = "slow"
    server.chunk_delay_s = 0.01
    events = await collect(backend_for(server))
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.timings.total_s is not None
    deltas = [e for e in events if isinstance(e, ThinkingDelta | TextDelta)]
    live = [e for e in events if isinstance(e, LiveStats)]
    # At most ten per second while streaming, plus the final one with real usage.
    assert len(live) <= finished.timings.total_s * 10 + 2
    assert len(live) < len(deltas)
    streaming = live[:-1]
    assert [e.tokens for e in streaming] == sorted(e.tokens for e in streaming)


async def test_request_shape_with_thinking(server: AnthropicTestServer) -> None:
    request = GenerationRequest(prompt="draw it", system="SVG only", effort="xhigh", max_tokens=900)
    await collect(backend_for(server, model="claude-test-model"), request)

    assert len(server.requests) == 1
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.body == {
        "model": "claude-test-model",
        "max_tokens": 900,
        "system": "SVG only",
        "messages": [{"role": "user", "content": "draw it"}],
        "thinking": {"type": "adaptive", "display": "summarized"},
        "output_config": {"effort": "xhigh"},
        "stream": True,
    }
    # SDK 2.12 sends the API key as a bearer token, not as x-api-key.
    assert sent.headers.get("authorization") == f"Bearer {KEY}"
    assert sent.headers.get("anthropic-version")


async def test_thinking_off_sends_no_thinking_and_streams_no_thinking(
    server: AnthropicTestServer,
) -> None:
    events = await collect(backend_for(server), GenerationRequest(thinking=False))

    body = server.requests[0].body
    assert body is not None
    assert "thinking" not in body and "output_config" not in body
    assert "system" not in body  # None is omitted, never sent as null
    assert not any(isinstance(e, ThinkingDelta) for e in events)
    assert texts(events, TextDelta) == server.answer_text
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.usage.thinking_tokens == 0


async def test_base_url_from_environment(
    server: AnthropicTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.serve(monkeypatch, KEY)
    backend = ClaudeBackend(ClaudeSettings(max_retries=0, timeout_s=10))
    events = await collect(backend)
    assert isinstance(events[-1], Finished)
    assert server.requests[0].headers.get("authorization") == f"Bearer {KEY}"


async def test_settings_base_url_wins_over_environment(
    server: AnthropicTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{free_port()}")
    events = await collect(backend_for(server))
    assert isinstance(events[-1], Finished)
    assert len(server.requests) == 1


# -- failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "reason", "hint"),
    [
        ("401", "Anthropic rejected the API key (401)", "check ANTHROPIC_API_KEY"),
        (
            "403",
            "Anthropic refused the request: permission denied (403)",
            "check that the key's workspace may use claude-opus-4-7",
        ),
        ("429", "Anthropic rate limit reached (429)", "wait a minute and try again"),
        ("529", "Anthropic is overloaded (529)", "try again in a few minutes"),
        ("404", "Anthropic does not know model 'claude-opus-4-7' (404)", None),
        ("500", "Anthropic server error (500): Internal server error", "try again"),
        (
            "400",
            "Anthropic rejected the request (400): "
            "prompt is too long: 210000 tokens > 200000 maximum",
            "check claude.model, claude.effort and claude.max_tokens in the config",
        ),
    ],
)
async def test_http_errors(
    server: AnthropicTestServer, scenario: Scenario, reason: str, hint: str | None
) -> None:
    server.scenario = scenario
    events = await collect(backend_for(server))
    assert len(events) == 1
    failed = events[0]
    assert isinstance(failed, Failed)
    assert failed.reason == reason
    if hint is not None:
        assert failed.hint == hint
    assert not failed.cancelled
    # Refused for good (a batch sends no more) or for now or this request alone (a
    # prompt too long: the next prompt of a set is sent).
    assert failed.permanent is (scenario in ("401", "403", "404")), failed
    assert len(server.requests) == 1  # max_retries=0


async def test_retries_overloaded_then_reports_it(server: AnthropicTestServer) -> None:
    server.scenario = "529"
    events = await collect(backend_for(server, max_retries=2))
    assert isinstance(events[-1], Failed)
    assert events[-1].reason == "Anthropic is overloaded (529)"
    assert len(server.requests) == 3
    assert [r.headers.get("x-stainless-retry-count") for r in server.requests] == ["0", "1", "2"]


async def test_error_event_mid_stream(server: AnthropicTestServer) -> None:
    server.scenario = "error_event"
    events = await collect(backend_for(server))
    assert_one_terminal_event_last(events)
    assert isinstance(events[0], Started)
    assert texts(events, ThinkingDelta)  # it got going before the error
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.reason == "Anthropic is overloaded (mid-answer)"
    assert not failed.permanent


async def test_connection_cut_mid_stream_fails_without_hanging(
    server: AnthropicTestServer,
) -> None:
    server.scenario = "cut"
    events = await collect(backend_for(server))
    assert_one_terminal_event_last(events)
    assert texts(events, ThinkingDelta)
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.reason == "the connection to Anthropic was cut mid-answer"


def test_a_connection_error_once_the_answer_began_is_a_cut() -> None:
    """Once the answer has begun, Anthropic was reached: a connection error then is a
    cut, however the SDK wraps it (CI once said "could not reach" after thinking had
    streamed)."""
    import anthropic
    import httpx2

    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/messages")
    err = anthropic.APIConnectionError(request=request)
    backend = ClaudeBackend(ClaudeSettings(max_retries=0, timeout_s=10))
    mid_answer = backend.describe_failure(anthropic, err, mid_stream=True)
    assert mid_answer.reason == "the connection to Anthropic was cut mid-answer"
    before = backend.describe_failure(anthropic, err)
    assert before.reason.startswith("could not reach Anthropic at 127.0.0.1:9"), before


async def test_stream_ending_without_message_stop_fails(server: AnthropicTestServer) -> None:
    server.scenario = "truncated"
    events = await collect(backend_for(server))
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.reason == "the connection to Anthropic ended before the answer was complete"


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("bad_json", "Anthropic sent something that is not its API's JSON mid-answer"),
        ("html", "Anthropic's reply held no answer (not a stream of its API's events)"),
        # It said "Anthropic does not know model 'claude-opus-4-7' (404)".
        ("html_404", "the server at 127.0.0.1:{port} is not Anthropic's API (404)"),
        # "Claude failed: AttributeError: 'NoneType' object has no attribute 'stop_reason'"
        ("null_delta", "Anthropic sent an event of a shape its API does not use mid-answer"),
    ],
)
async def test_a_reply_that_is_not_the_api_is_said_in_plain_words(
    server: AnthropicTestServer, scenario: str, reason: str
) -> None:
    """It said "Claude failed: JSONDecodeError: Expecting property name enclosed in
    double quotes: line 1 column 2 (char 1)", and for an HTML page that the
    connection ended before the answer was complete."""
    server.scenario = scenario  # type: ignore[assignment]
    events = await collect(backend_for(server))
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.reason == reason.format(port=server.port)
    hint = (
        "check ANTHROPIC_BASE_URL" if scenario == "html_404" else "check ANTHROPIC_BASE_URL if set"
    )
    assert str(failed.hint).startswith(hint), failed.hint


async def test_a_silent_stream_shows_waiting_then_fails_and_hangs_up(
    server: AnthropicTestServer,
) -> None:
    server.scenario = "stall"
    settings = load_settings(
        {"idle_timeout_s": 2, "claude": {"base_url": server.base_url, "max_retries": 0}}
    )
    backend = ClaudeBackend(settings.claude, api_key=KEY, idle_timeout_s=settings.idle_timeout_s)
    events = await collect(backend)
    assert_one_terminal_event_last(events)
    assert texts(events, ThinkingDelta), "the events before the silence arrived"
    waiting = [e.idle_s for e in events if isinstance(e, Waiting)]
    assert len(waiting) >= 2 and waiting == sorted(waiting) and waiting[-1] < 2.0, waiting
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.reason == "no data from Anthropic for 2 s; gave up"
    assert failed.hint is not None and "idle_timeout_s" in failed.hint
    assert await disconnected(server), "the silent stream was closed"


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("silent", "Anthropic did not answer in time (timeout 1 s)"),
        ("slow", "Anthropic's answer did not finish in time (timeout 1 s)"),
        ("stall", "Anthropic's answer did not finish in time (timeout 1 s)"),
    ],
)
async def test_claude_timeout_bounds_the_whole_call_retries_included(
    server: AnthropicTestServer, scenario: Scenario, reason: str
) -> None:
    """``claude.timeout_s`` is the whole call. The SDK's ``timeout`` bounded each wait
    for the network, per try: a server that never answered cost it three times plus
    the waits between tries (~4.3 s for 1 s) while the failure said "timeout 1 s",
    and an answer that kept trickling ran past it to its end (~7 s here), with the
    idle limit off (``idle_timeout_s`` unset) or longer than the answer's gaps."""
    import anthropic  # noqa: F401 (imported before the clock starts: it takes a second)

    server.scenario, server.chunk_delay_s = scenario, 0.3
    settings = ClaudeSettings(base_url=server.base_url, timeout_s=1, max_retries=2)
    backend = ClaudeBackend(settings, api_key=KEY, idle_timeout_s=None)
    start = time.monotonic()
    events = await collect(backend)
    took = time.monotonic() - start
    assert_one_terminal_event_last(events)
    failed = events[-1]
    assert isinstance(failed, Failed), failed
    assert failed.reason == reason
    assert failed.hint is not None and "claude.timeout_s" in failed.hint
    assert 0.9 < took < 1.8, f"{took:.2f} s for a 1 s timeout"
    assert await disconnected(server), "the call was closed"
    await backend.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_endpoint() -> None:
    port = free_port()
    settings = ClaudeSettings(base_url=f"http://127.0.0.1:{port}", max_retries=0, timeout_s=5)
    events = await collect(ClaudeBackend(settings, api_key=KEY))
    assert len(events) == 1
    failed = events[0]
    assert isinstance(failed, Failed)
    # It gave no cause: refused, an unknown host and TLS to a plain port read the same.
    refused = "connection refused (is the server running?)"
    assert failed.reason == f"could not reach Anthropic at 127.0.0.1:{port}: {refused}"
    assert failed.hint is not None and "ANTHROPIC_BASE_URL" in failed.hint
    unknown = ClaudeSettings(base_url="http://no-such-host.invalid:9", max_retries=0, timeout_s=5)
    [failed] = await collect(ClaudeBackend(unknown, api_key=KEY))
    assert isinstance(failed, Failed)
    assert failed.reason == "could not reach Anthropic at no-such-host.invalid:9: unknown host name"


# -- cancellation ---------------------------------------------------------------------


async def first_delta(stream: AsyncIterator[GenerationEvent]) -> GenerationEvent:
    async for event in stream:
        if isinstance(event, ThinkingDelta | TextDelta):
            return event
    raise AssertionError("no delta before the stream ended")


async def test_aclose_mid_stream_closes_the_connection(server: AnthropicTestServer) -> None:
    server.scenario = "slow"
    stream = backend_for(server).generate(GenerationRequest())
    await asyncio.wait_for(first_delta(stream), TIMEOUT_S)
    await asyncio.wait_for(stream.aclose(), 5)

    assert await disconnected(server)
    assert server.streams_completed == 0
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


async def test_task_cancel_mid_stream_closes_the_connection(server: AnthropicTestServer) -> None:
    server.scenario = "slow"
    backend = backend_for(server)
    got_delta = asyncio.Event()
    seen: list[GenerationEvent] = []

    async def consume() -> None:
        async for event in backend.generate(GenerationRequest()):
            seen.append(event)
            if isinstance(event, ThinkingDelta | TextDelta):
                got_delta.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_delta.wait(), TIMEOUT_S)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)

    assert await disconnected(server)
    assert server.streams_completed == 0
    assert not any(isinstance(e, Finished | Failed) for e in seen)


# -- configuration and secrecy --------------------------------------------------------


async def test_finished_runs_leave_no_request_behind(server: AnthropicTestServer) -> None:
    """Run after run on one client, the pool lets each finished request go.

    Leaving the stream at message_stop cancelled the read while the SDK closed the
    response, and the connection pool kept that request (with its connection) for
    the client's life: one more per run."""
    backend = backend_for(server)
    try:
        before = pool_requests()  # other tests' clients, if any are still alive
        during: list[int] = []
        for _ in range(4):
            seen: list[GenerationEvent] = []
            async for event in backend.generate(GenerationRequest()):
                if not seen:
                    during.append(pool_requests())
                seen.append(event)
            assert isinstance(seen[-1], Finished)
        assert min(during) >= before + 1, "the count sees a request in flight"
        assert pool_requests() <= before
    finally:
        await backend.aclose()


async def test_a_streamed_answer_has_its_decode_rate(server: AnthropicTestServer) -> None:
    server.scenario, server.chunk_delay_s = "slow", 0.02
    events = await collect(backend_for(server))
    finished = events[-1]
    assert isinstance(finished, Finished)
    timings = finished.timings
    assert timings.generated_tokens and timings.total_s and timings.time_to_first_token_s
    span = timings.total_s - timings.time_to_first_token_s
    rate = timings.generation_tokens_per_s
    assert rate is not None and rate == pytest.approx((timings.generated_tokens - 1) / span, 0.1)


async def test_not_configured_without_a_key() -> None:
    backend = ClaudeBackend(ClaudeSettings())
    status = backend.status()
    assert not status.ready
    assert status.message == "ANTHROPIC_API_KEY is not set"
    assert status.hint == "set ANTHROPIC_API_KEY and start pelican-tui again to compare with Claude"

    events = await collect(backend)
    assert events == [Failed("ANTHROPIC_API_KEY is not set", hint=status.hint)]


async def test_a_base_url_that_cannot_work_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """It gave "Claude failed: InvalidURL: Invalid port: ':1'" at the first request."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://[::1")
    backend = ClaudeBackend(ClaudeSettings())
    status = backend.status()
    assert not status.ready
    assert status.message == "ANTHROPIC_BASE_URL is not a URL: an IPv6 address needs its closing ]"
    assert await collect(backend) == [Failed(status.message, hint=status.hint)]


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert ClaudeBackend(ClaudeSettings()).status().ready
    assert not ClaudeBackend(ClaudeSettings(), api_key="").status().ready
    assert not ClaudeBackend(ClaudeSettings(enabled=False)).status().ready


def test_backend_protocol_capabilities_and_description() -> None:
    backend = ClaudeBackend(ClaudeSettings(effort="max"), api_key=KEY)
    assert isinstance(backend, ModelBackend)
    assert backend.name == "claude"
    caps = backend.capabilities
    assert caps.can_cancel and caps.supports_thinking and caps.supports_effort
    assert not caps.owns_process
    assert backend.describe() == {
        "model": "claude-opus-4-7",
        "thinking": "adaptive (summarized)",
        "effort": "max",
    }
    off = ClaudeBackend(ClaudeSettings(thinking=False), api_key=KEY).describe()
    assert off["thinking"] == "off"


async def test_key_never_shown(server: AnthropicTestServer) -> None:
    backend = backend_for(server)
    for text in (repr(backend), str(backend), repr(vars(backend)), repr(backend.describe())):
        assert KEY not in text
    assert repr(backend) == "ClaudeBackend(model='claude-opus-4-7', api_key=set)"

    # Even when the server echoes the key back in an error message.
    server.error_message = f"bad key {KEY}"
    reasons: dict[str, str] = {}
    scenarios: tuple[Scenario, ...] = ("401", "500", "error_event")
    for scenario in scenarios:
        server.scenario = scenario
        failed = (await collect(backend))[-1]
        assert isinstance(failed, Failed)
        assert KEY not in failed.reason and KEY not in (failed.hint or "")
        reasons[scenario] = failed.reason
    assert reasons["500"] == "Anthropic server error (500): bad key [redacted]"


def test_import_is_light() -> None:
    """Importing the backend must not pull in the SDK (startup time) or Textual."""
    code = (
        "import sys, pelican_tui.backends.anthropic_backend as m\n"
        "m.ClaudeBackend(__import__('pelican_tui.backends.settings').backends.settings"
        ".ClaudeSettings()).status()\n"
        "bad = [n for n in ('anthropic', 'httpx2', 'textual') if n in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# -- the server as a separate process (how the TUI and benchmark tests use it) -------


async def test_standalone_server_via_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVER_SCRIPT),
        "--port",
        "0",
        "--scenario",
        "ok",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), TIMEOUT_S)).decode()
        assert line.startswith("listening on http://127.0.0.1:")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", line.split()[-1])
        backend = ClaudeBackend(ClaudeSettings(max_retries=0, timeout_s=10), api_key=KEY)
        events = await collect(backend)
        assert isinstance(events[-1], Finished)
        assert "<svg" in texts(events, TextDelta)
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_runs_share_one_sdk_client_until_closed(server: AnthropicTestServer) -> None:
    backend = backend_for(server)
    for _ in range(2):
        events = await collect(backend)
        assert isinstance(events[-1], Finished), events[-1]
    client = backend._client.current
    assert client is not None and not client.is_closed()
    await backend.aclose()
    assert client.is_closed()
    events = await collect(backend)
    assert isinstance(events[-1], Finished) and backend._client.current is not client
    await backend.aclose()
