"""The real llama-server when things go wrong: what it inherits, and what a person sees
when it stops answering (SIGSTOP) or dies mid-answer (SIGKILL)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from _server_support import async_wait_until, pid_alive, server_binary, tiny_model, wait_until

from pelican_tui.backends.events import Failed, GenerationEvent, TextDelta, Waiting
from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.process import (
    API_KEY_ENV,
    LlamaServer,
    ServerStartError,
    ServerState,
    ServerStatus,
    child_environment,
)
from pelican_tui.backends.llama.router import RouterLoadError, ensure_loaded
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.settings import load_settings

ANTHROPIC_KEY = "sk-ant-api03-parent-only-0123456789abcdef"
LIBRARY_WORDS = ("peer closed", "incomplete chunked read", "RemoteProtocolError", "Errno")


def _environ(pid: int) -> tuple[dict[str, str], bytes]:
    """The environment of process ``pid``, parsed and raw."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (entry.decode().partition("=") for entry in raw.split(b"\0") if entry)
    return {name: value for name, _, value in pairs}, raw


# -- the child's environment ------------------------------------------------------------


def test_child_environment_keeps_what_llama_server_needs_and_nothing_secret() -> None:
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "LLAMA_CACHE": "/cache/llama",
        "LLAMA_ARG_THREADS": "4",
        "HF_HOME": "/cache/hf",
        "CUDA_VISIBLE_DEVICES": "0",
        "HTTPS_PROXY": "http://proxy:3128",
        "HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz",
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "OPENAI_API_KEY": "sk-openai",
        "LLAMA_API_KEY": "the-parents-own",
        "GITHUB_TOKEN": "ghp_x",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "PELICAN_REMOTE_API_KEY": "remote",
        "EDITOR": "vim",
    }
    env = child_environment(parent, "ours")
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "LLAMA_CACHE": "/cache/llama",
        "LLAMA_ARG_THREADS": "4",
        "HF_HOME": "/cache/hf",
        "CUDA_VISIBLE_DEVICES": "0",
        "HTTPS_PROXY": "http://proxy:3128",
        API_KEY_ENV: "ours",
    }
    downloading = child_environment(parent, "ours", downloads=True)
    assert downloading["HF_TOKEN"] == parent["HF_TOKEN"], "-hf needs it for gated models"
    assert "ANTHROPIC_API_KEY" not in downloading


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
async def test_anthropic_key_does_not_reach_llama_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-should-stay-home")
    monkeypatch.setenv("HF_HOME", "/nonexistent/hf-home")
    server = LlamaServer(ServerConfig(binary=server_binary(), model=tiny_model(), context=1024))
    await server.start()
    try:
        assert server.pid is not None
        environ, raw = _environ(server.pid)
    finally:
        await server.stop()
    assert "ANTHROPIC_API_KEY" not in environ and ANTHROPIC_KEY.encode() not in raw
    assert "SOME_SERVICE_TOKEN" not in environ
    assert environ[API_KEY_ENV] == server.api_key
    assert environ["HF_HOME"] == "/nonexistent/hf-home"
    assert environ["PATH"] == os.environ["PATH"] and "HOME" in environ
    assert set(environ) <= set(os.environ) | {API_KEY_ENV}


# -- a server that stops answering, or dies ----------------------------------------------


async def _slot_busy(server: LlamaServer) -> bool:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{server.base_url}/slots", headers={"Authorization": f"Bearer {server.api_key}"}
        )
    return any(slot.get("is_processing") for slot in response.json())


LONG = GenerationRequest(
    prompt="Write a very long essay about bicycles.", max_tokens=900, thinking=False
)
WARM_UP = replace(LONG, max_tokens=4)


@pytest.mark.slow
async def test_a_sigstopped_server_shows_waiting_then_fails_and_the_stream_is_closed(
    llama: LlamaServer,
) -> None:
    # Warm up first (weights paged in, prompt cached): a first answer can take seconds
    # to start on a busy machine, and that silence is not what this test is about.
    warm = [e async for e in OpenAICompatibleBackend(server=llama).generate(WARM_UP)]
    assert not isinstance(warm[-1], Failed), warm[-1]
    settings = load_settings({"idle_timeout_s": 4})
    backend = OpenAICompatibleBackend(server=llama, idle_timeout_s=settings.idle_timeout_s)
    pid = llama.pid
    assert pid is not None
    events: list[GenerationEvent] = []
    stopped_at: int | None = None
    try:
        async with contextlib.aclosing(backend.generate(LONG)) as stream:
            async for event in stream:
                events.append(event)
                texts = sum(isinstance(e, TextDelta) for e in events)
                if stopped_at is None and texts == 5:
                    os.kill(pid, signal.SIGSTOP)
                    stopped_at = len(events)
                if len(events) > 2000:
                    break
        assert stopped_at is not None, "the answer ended before 5 pieces"
        assert llama.suspended
    finally:
        os.kill(pid, signal.SIGCONT)
    failed = events[-1]
    assert isinstance(failed, Failed), failed
    assert failed.reason == "no data from llama-server for 4 s; gave up"
    assert failed.hint is not None and f"kill -CONT {pid}" in failed.hint
    assert "idle_timeout_s" in failed.hint
    waiting = [e.idle_s for e in events[stopped_at:] if isinstance(e, Waiting)]
    assert len(waiting) >= 2 and waiting == sorted(waiting) and waiting[-1] < 4.0, waiting
    assert not llama.suspended
    # The stream was closed: once resumed, llama-server sees it and stops generating.
    for _ in range(100):
        if not await _slot_busy(llama):
            break
        await asyncio.sleep(0.05)
    assert not await _slot_busy(llama), "generation kept running after the stream was closed"


@pytest.mark.slow
async def test_a_server_killed_mid_answer_is_said_in_plain_words(llama: LlamaServer) -> None:
    backend = OpenAICompatibleBackend(server=llama)
    events: list[GenerationEvent] = []
    killed = False
    async with contextlib.aclosing(backend.generate(LONG)) as stream:
        async for event in stream:
            events.append(event)
            if not killed and sum(isinstance(e, TextDelta) for e in events) == 5:
                assert llama.pid is not None
                os.kill(llama.pid, signal.SIGKILL)
                killed = True
    assert killed, "the answer ended before 5 pieces"
    failed = events[-1]
    assert isinstance(failed, Failed), failed
    assert failed.reason == "llama-server closed the connection mid-answer"
    assert failed.hint == "restart the server"
    assert not any(word in failed.reason for word in LIBRARY_WORDS)
    assert await async_wait_until(lambda: not llama.running, 5)


@pytest.mark.slow
async def test_a_server_gone_before_the_request_is_said_in_plain_words(
    llama: LlamaServer,
) -> None:
    backend = OpenAICompatibleBackend(server=llama)
    url = llama.base_url
    assert llama.pid is not None
    os.kill(llama.pid, signal.SIGKILL)
    assert await async_wait_until(lambda: not llama.running, 5)
    # The crash is already known: the backend says so before trying.
    events = [e async for e in backend.generate(LONG)]
    assert len(events) == 1 and isinstance(events[0], Failed)
    assert events[0].reason == (
        "local model not ready: llama-server exited unexpectedly (killed by SIGKILL)"
    )
    # Attached to the same (dead) address, the connection itself fails.
    attached = OpenAICompatibleBackend(url)
    events = [e async for e in attached.generate(LONG)]
    assert isinstance(events[-1], Failed)
    assert events[-1].reason == (
        f"local model not ready: cannot reach {url}: connection refused (is the server running?)"
    )
    assert not any(word in events[-1].reason for word in LIBRARY_WORDS)


@pytest.mark.slow
async def test_settle_lets_the_status_catch_up_with_a_server_just_killed(
    llama: LlamaServer,
) -> None:
    # Alive: settling changes nothing and does not wait.
    started = asyncio.get_running_loop().time()
    await llama.settle()
    assert asyncio.get_running_loop().time() - started < 0.5
    assert llama.status.state is ServerState.READY
    pid = llama.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # Nothing has yet seen the death (the event loop has not run since): the status
    # lags, which is what a run failing mid-answer meets. Settling waits for it.
    assert llama.status.state is ServerState.READY
    assert wait_until(lambda: not pid_alive(pid), 5)  # blocking: the event loop stays still
    await llama.settle()
    assert llama.status.state is ServerState.CRASHED
    assert llama.status.message == "llama-server exited unexpectedly (killed by SIGKILL)"


@pytest.mark.slow
async def test_a_stopped_server_ends_at_once_when_stopped(llama: LlamaServer) -> None:
    """A SIGSTOPped llama-server does not act on SIGTERM until it is continued: stopping
    it waited the whole grace period (5 s) and then killed it."""
    pid = llama.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        assert await async_wait_until(lambda: llama.suspended, 5, 0.01)
        started = time.monotonic()
        await llama.stop(grace_s=5.0)
        took = time.monotonic() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    assert not pid_alive(pid)
    assert took < 2.0, f"stopping a stopped server took {took:.2f} s"
    assert not any("SIGKILL" in line for line in llama.last_lines()), llama.last_lines()
    assert llama.status.state is ServerState.STOPPED
    assert llama.status.exit_code is not None and llama.status.exit_code >= 0


# -- a server stopped while it loads -------------------------------------------------------


async def _stop_once_listening(server: LlamaServer) -> int:
    """SIGSTOP ``server`` as soon as its port accepts connections (it listens from its
    first milliseconds and answers 503 while its model loads, ~0.4 s for the stand-in):
    a stopped server's kernel still accepts, but nothing answers. Its pid."""
    assert await async_wait_until(lambda: server.pid is not None, 10, 0.002)
    pid = server.pid
    assert pid is not None
    host, port = server.config.host, int(server.base_url.rsplit(":", 1)[1])
    for _ in range(5000):
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.002)
            continue
        os.kill(pid, signal.SIGSTOP)
        writer.close()
        return pid
    raise AssertionError("llama-server never listened")


@pytest.mark.slow
async def test_a_server_stopped_while_loading_fails_at_the_ready_timeout() -> None:
    """``ready_timeout_s`` was checked only between asks, and each ask of a server that
    accepts and does not answer waited 2 s more: "not ready after 1 s" came at ~2.5 s."""
    seen: list[tuple[float, ServerState]] = []
    pid: int | None = None

    def on_status(status: ServerStatus) -> None:
        seen.append((time.monotonic(), status.state))
        if status.state is ServerState.CRASHED and pid is not None:
            os.kill(pid, signal.SIGCONT)  # so that it ends at once (SIGTERM waits on a stop)

    config = ServerConfig(
        binary=server_binary(), model=tiny_model(), context=1024, ready_timeout_s=1.0
    )
    server = LlamaServer(config, on_status=on_status)
    starting = asyncio.create_task(server.start())
    try:
        pid = await _stop_once_listening(server)
        with pytest.raises(ServerStartError) as caught:
            await asyncio.wait_for(starting, 30)
    finally:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):  # gone once start() failed
                os.kill(pid, signal.SIGCONT)
        if not starting.done():
            starting.cancel()
        with contextlib.suppress(BaseException):
            await starting
        await server.stop()
    assert str(caught.value).splitlines()[0] == "llama-server not ready after 1 s"
    spawned = next(at for at, state in seen if state is ServerState.LOADING)
    failed = next(at for at, state in seen if state is ServerState.CRASHED)
    assert failed - spawned < 1.5, f"failed {failed - spawned:.2f} s after the spawn"


@pytest.mark.slow
async def test_a_router_that_stops_answering_fails_a_load_at_its_timeout(tmp_path: Path) -> None:
    """``ensure_loaded``'s limit was checked only between polls, and each poll of a
    router that accepts and does not answer waited 5 s (the load request 10 s) more."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "smollm2.gguf").symlink_to(tiny_model())
    config = ServerConfig(binary=server_binary(), models_dir=folder, context=1024)
    server = LlamaServer(config)
    await server.start()
    pid = server.pid
    assert pid is not None
    try:
        os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(RouterLoadError) as caught:
            await ensure_loaded(server.base_url, server.api_key, "smollm2", timeout_s=1.0)
        took = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
        await server.stop()
    assert str(caught.value) == "'smollm2' not loaded after 1 s"
    assert took < 1.5, f"{took:.2f} s for a 1 s limit"
