"""The real llama-server on the tiny default model: lifecycle, streaming, faults."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from _server_support import async_wait_until, pid_alive, server_binary, tiny_model

from pelican_tui.backends.events import Failed, Finished, LiveStats, Started, TextDelta
from pelican_tui.backends.llama_server import (
    LlamaServer,
    ServerConfig,
    ServerStartError,
    ServerState,
)
from pelican_tui.backends.openai_backend import OpenAICompatibleBackend
from pelican_tui.backends.protocol import GenerationRequest

pytestmark = pytest.mark.slow


def _config(**changes: object) -> ServerConfig:
    base = ServerConfig(binary=server_binary(), model=tiny_model(), context=2048, threads=2)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def server() -> AsyncIterator[LlamaServer]:
    srv = LlamaServer(_config())
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_start_reports_ready_and_serves_health(server: LlamaServer) -> None:
    assert server.status.state is ServerState.READY
    assert server.status.load_seconds is not None and server.status.load_seconds > 0
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{server.base_url}/health")
        models = await client.get(f"{server.base_url}/v1/models")
        unauthorised = models.status_code
        models = await client.get(
            f"{server.base_url}/v1/models", headers={"Authorization": f"Bearer {server.api_key}"}
        )
    assert health.status_code == 200
    assert unauthorised == 401, "the spawned server must require its random API key"
    assert models.status_code == 200
    assert all(server.api_key not in line for line in server.log), "API key leaked into the log"


async def test_streaming_yields_typed_events_with_timings(server: LlamaServer) -> None:
    backend = OpenAICompatibleBackend(server=server)
    events = [
        event
        async for event in backend.generate(
            GenerationRequest(prompt="Say hello.", max_tokens=24, thinking=False)
        )
    ]
    assert isinstance(events[0], Started)
    assert any(isinstance(e, TextDelta) and e.text for e in events)
    final = events[-1]
    assert isinstance(final, Finished), final
    assert final.timings.generated_tokens and final.timings.generated_tokens > 0
    assert final.timings.generation_tokens_per_s and final.timings.generation_tokens_per_s > 0
    assert final.timings.prompt_tokens and final.timings.prompt_tokens > 0
    assert final.timings.time_to_first_token_s is not None
    assert final.timings.time_to_first_token_s < final.timings.total_s  # type: ignore[operator]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.strip()


async def _slot_busy(server: LlamaServer) -> bool:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{server.base_url}/slots", headers={"Authorization": f"Bearer {server.api_key}"}
        )
    return any(slot.get("is_processing") for slot in response.json())


async def test_cancel_closes_the_stream_and_stops_generation(server: LlamaServer) -> None:
    backend = OpenAICompatibleBackend(server=server)
    stream = backend.generate(
        GenerationRequest(prompt="Count from one to five hundred.", max_tokens=2000, thinking=False)
    )
    seen = 0
    async for event in stream:
        if isinstance(event, TextDelta):
            seen += 1
            if seen == 5:
                break
    await stream.aclose()
    for _ in range(100):
        if not await _slot_busy(server):
            break
        await asyncio.sleep(0.05)
    assert not await _slot_busy(server), "generation kept running after the stream was closed"


async def test_live_stats_arrive_during_a_long_answer(server: LlamaServer) -> None:
    backend = OpenAICompatibleBackend(server=server)
    events = [
        e
        async for e in backend.generate(
            GenerationRequest(prompt="Write a long story.", max_tokens=200, thinking=False)
        )
    ]
    live = [e for e in events if isinstance(e, LiveStats)]
    assert live, "no live stats during a 200-token answer"
    assert any(e.tokens_per_s for e in live)
    assert [e.tokens for e in live] == sorted(e.tokens for e in live)


async def test_stop_and_restart_with_changed_flags() -> None:
    srv = LlamaServer(_config(context=1024))
    await srv.start()
    first_pid = srv.pid
    assert first_pid is not None
    await srv.restart(_config(context=1536))
    try:
        assert srv.pid != first_pid
        assert not pid_alive(first_pid)
        async with httpx.AsyncClient() as client:
            props = await client.get(
                f"{srv.base_url}/props", headers={"Authorization": f"Bearer {srv.api_key}"}
            )
        n_ctx = props.json()["default_generation_settings"]["n_ctx"]
        assert n_ctx == 1536
    finally:
        pid = srv.pid
        await srv.stop()
    assert srv.status.state is ServerState.STOPPED
    assert pid is not None and not pid_alive(pid)


async def test_missing_model_fails_clearly(tmp_path: Path) -> None:
    srv = LlamaServer(_config(model=tmp_path / "nope.gguf"))
    with pytest.raises(ServerStartError, match="model file not found"):
        await srv.start()
    assert not srv.running


async def test_corrupt_gguf_fails_with_the_log_tail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + os.urandom(4096))
    srv = LlamaServer(_config(model=broken, ready_timeout_s=60))
    with pytest.raises(ServerStartError) as caught:
        await srv.start()
    assert "exited during start-up" in str(caught.value)
    assert caught.value.last_lines, "the failure must carry llama-server's last log lines"
    assert srv.status.state is ServerState.CRASHED
    assert not srv.running


async def test_occupied_port_fails_clearly() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        srv = LlamaServer(_config(port=port, ready_timeout_s=60))
        with pytest.raises(ServerStartError) as caught:
            await srv.start()
    tail = "\n".join(caught.value.last_lines).lower()
    assert "bind" in tail or "address" in tail or "port" in tail, tail
    assert not srv.running


async def test_server_killed_mid_stream_ends_with_failure(server: LlamaServer) -> None:
    backend = OpenAICompatibleBackend(server=server)
    stream = backend.generate(
        GenerationRequest(prompt="Write a very long essay.", max_tokens=4000, thinking=False)
    )

    async def consume() -> list[object]:
        events: list[object] = []
        async for event in stream:
            events.append(event)
            if len(events) == 5:
                assert server.pid is not None
                os.kill(server.pid, signal.SIGKILL)
        return events

    events = await asyncio.wait_for(consume(), timeout=30)
    assert isinstance(events[-1], Failed), events[-1]
    assert "stopped" in events[-1].reason or "closed" in events[-1].reason
    assert events[-1].hint
    assert await async_wait_until(lambda: server.status.state is ServerState.CRASHED, 5)
    assert "exited unexpectedly" in server.status.message
    status = backend.status()
    assert not status.ready and status.hint


async def test_attach_mode_uses_an_existing_server(
    server: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pelican_tui.backends.local_model import make_local_backend, plan_local
    from pelican_tui.backends.settings import LocalSettings

    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", server.api_key)
    local = LocalSettings(url=server.base_url)
    plan = plan_local(local)
    assert plan.mode == "attach"
    backend = make_local_backend(local, plan, binary=None)
    assert not backend.capabilities.owns_process
    events = [
        e
        async for e in backend.generate(
            GenerationRequest(prompt="Hi", max_tokens=8, thinking=False)
        )
    ]
    assert isinstance(events[-1], Finished), events[-1]
