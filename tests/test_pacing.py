"""A streamed answer is read in batches (backends.pacing), and nothing of it is lost."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from _anthropic_server import AnthropicTestServer
from _dialect_servers import VllmServer, openai_frames
from _http_proxy import forwarding_proxy

from pelican_tui.backends import pacing
from pelican_tui.backends.anthropic_backend import ClaudeBackend
from pelican_tui.backends.events import Finished, GenerationEvent, TextDelta
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.settings import ClaudeSettings

ANSWER = "".join(f"p{index:03d} " for index in range(150))
FRAMES = openai_frames(None, ANSWER, field="reasoning")
"""88 server-sent events: the answer in 9-character pieces, the end, the usage."""
SPACING_S = 0.008
"""The server sends an event every 8 ms: ~125 a second, a fast local model's rate."""


ROLE_FRAME = json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
"""llama-server's first chunk: the role, no token, sent before it reads the prompt."""


@dataclass
class _SteadyServer(VllmServer):
    """vLLM's dialect, the answer's events sent one at a time, every 8 ms; with
    ``prompt_s``, llama-server's order: the role chunk at once, then that long reading
    the prompt, then the answer."""

    prompt_s: float = 0.0

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        if not (method == "POST" and path == "/v1/chat/completions"):
            await super().route(method, path, body, writer)
            return
        head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        writer.write((head + "transfer-encoding: chunked\r\nconnection: close\r\n\r\n").encode())
        frames = [ROLE_FRAME, *FRAMES] if self.prompt_s else FRAMES
        for index, frame in enumerate(frames):
            data = f"data: {frame}\n\n".encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()
            await asyncio.sleep(self.prompt_s if index == 0 and self.prompt_s else SPACING_S)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def _answer(server: _SteadyServer) -> tuple[list[GenerationEvent], float]:
    """The events of one answer from ``server``, and the seconds it took."""
    backend = OpenAICompatibleBackend(base_url=server.url, name="steady")
    try:
        request = GenerationRequest(prompt="Draw.", max_tokens=4096, thinking=False)
        began = time.monotonic()
        events = [event async for event in backend.generate(request)]
        return events, time.monotonic() - began
    finally:
        await backend.aclose()


def _streams(monkeypatch: pytest.MonkeyPatch) -> list[pacing.PacedStream]:
    """Every connection the paced network backend makes from now on."""
    made: list[pacing.PacedStream] = []
    connect = pacing.PacedNetworkBackend.connect_tcp

    async def recorded(self: pacing.PacedNetworkBackend, *args: Any, **kwargs: Any) -> Any:
        stream = await connect(self, *args, **kwargs)
        made.append(stream)
        return stream

    monkeypatch.setattr(pacing.PacedNetworkBackend, "connect_tcp", recorded)
    return made


async def test_an_answer_is_read_a_few_times_a_second_and_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    streams = _streams(monkeypatch)
    with _SteadyServer() as server:
        events, took = await _answer(server)
    assert isinstance(events[-1], Finished), events[-1]
    text = "".join(event.text for event in events if isinstance(event, TextDelta))
    assert text == ANSWER, "a piece was lost"
    answer = max(streams, key=lambda stream: stream.reads)  # (the probe's are 1-3 reads)
    # Read as it came, the answer takes about one read per event (88). Paced, a read
    # starts READ_PACE_S after the one before returned: at most took / READ_PACE_S + 1.
    # (Counting the headers' reads too, as the bound "+ 3" did, failed now and then:
    # they come in one read or two, as the server's writes fall.)
    assert answer.paced_reads <= took / pacing.READ_PACE_S + 1, (answer.paced_reads, took)
    assert 0 < answer.paced_reads <= answer.reads < len(FRAMES) / 4


async def test_an_unpaced_connection_reads_as_data_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The counting above can tell: without pace_reads, each piece is its own read."""
    streams = _streams(monkeypatch)
    monkeypatch.setattr(
        "pelican_tui.backends.openai_compat.backend.pace_reads", lambda response: None
    )
    with _SteadyServer() as server:
        events, _ = await _answer(server)
    assert isinstance(events[-1], Finished), events[-1]
    assert max(s.reads for s in streams) > len(FRAMES) / 2


async def test_a_claude_answer_is_read_in_batches_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anthropic's SDK (httpx2) streams through the same paced connections; the one it
    keeps for the next request reads as data comes again once the answer is over."""
    streams = _streams(monkeypatch)
    answer = "".join(f"p{index:03d} " for index in range(100))
    with AnthropicTestServer(
        scenario="slow", chunk_delay_s=SPACING_S, answer_text=answer, chunk_size=5
    ) as server:
        settings = ClaudeSettings(base_url=server.base_url, max_retries=0, timeout_s=10)
        backend = ClaudeBackend(settings, api_key="sk-ant-test-0123456789")
        try:
            began = time.monotonic()
            events = [e async for e in backend.generate(GenerationRequest(thinking=False))]
            took = time.monotonic() - began
        finally:
            await backend.aclose()
    assert isinstance(events[-1], Finished), events[-1]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer
    (connection,) = streams
    # ~106 events (100 answer pieces) 8 ms apart: ~106 reads unpaced. Paced: the
    # headers and the events before the first piece (message_start, content_block_start,
    # the first delta: ~5 reads) as they come, then one read every READ_PACE_S.
    assert connection.reads <= took / pacing.READ_PACE_S + 6, (connection.reads, took)
    assert connection.reads < 30
    assert connection._pace_s == 0, "the kept connection is still paced"


async def test_a_claude_answer_through_a_proxy_is_read_in_batches_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Behind a proxy (``HTTPS_PROXY`` for Anthropic's API) the SDK sends by the proxy's
    transport, not its own, and only its own was paced: a fast answer woke the app
    at every event. A proxy's transport is paced too, as for an OpenAI-compatible server."""
    streams = _streams(monkeypatch)
    answer = "".join(f"p{index:03d} " for index in range(100))
    server = AnthropicTestServer(
        scenario="slow", chunk_delay_s=SPACING_S, answer_text=answer, chunk_size=5
    )
    with server, forwarding_proxy(f"{server.host}:{server.port}") as proxy:
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, proxy)
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        elsewhere = "http://192.0.2.8:8080"  # TEST-NET-1: reached by the proxy alone
        settings = ClaudeSettings(base_url=elsewhere, max_retries=0, timeout_s=10)
        backend = ClaudeBackend(settings, api_key="sk-ant-test-0123456789")
        try:
            events = [e async for e in backend.generate(GenerationRequest(thinking=False))]
        finally:
            await backend.aclose()
    assert isinstance(events[-1], Finished), events[-1]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer
    (connection,) = streams  # to the proxy
    assert connection.reads < 30, connection.reads  # ~106 unpaced


async def test_the_first_token_is_read_as_it_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pacing starts at the first token, not at llama-server's role-only first chunk:
    the read that brings the first token is not held back, so the time to the first
    token is what it was."""
    reads: list[tuple[float, bytes]] = []  # (the pace in force, what the read brought)
    read = pacing.PacedStream.read

    async def recorded(self: pacing.PacedStream, *args: Any, **kwargs: Any) -> bytes:
        pace = self._pace_s
        data = await read(self, *args, **kwargs)
        reads.append((pace, data))
        return data

    monkeypatch.setattr(pacing.PacedStream, "read", recorded)
    with _SteadyServer(prompt_s=0.3) as server:
        events, _ = await _answer(server)
    assert isinstance(events[-1], Finished), events[-1]
    first_token = next(i for i, (_, data) in enumerate(reads) if b'"content"' in data)
    assert reads[first_token][0] == 0, "the first token's read was paced"
    assert any(pace for pace, _ in reads[first_token + 1 :]), "nothing was paced after it"


def test_the_transport_wraps_this_httpx_pool() -> None:
    """pacing reaches into httpx for the pool's network backend; an upgrade that moves
    it is caught here (and by the counts above)."""
    import httpx

    transport = pacing.paced_transport(httpx.AsyncHTTPTransport())
    assert isinstance(transport._pool._network_backend, pacing.PacedNetworkBackend)
    import anthropic

    client = anthropic.DefaultAsyncHttpxClient()
    pacing.paced_transport(client._transport)
    assert isinstance(client._transport._pool._network_backend, pacing.PacedNetworkBackend)
