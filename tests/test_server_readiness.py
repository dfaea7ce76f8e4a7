"""How pelican-tui waits for the llama-server it spawned: rarely while it loads.

While llama-server loads a model, ``/health`` answers 503 and closes the
connection. Asking it every 50 ms all along took CPU from llama-server when it
needed both cores (the real-shape model loaded ~1.1 s slower when spawned by
pelican-tui than bare). Until llama-server's log says the model is loaded,
pelican-tui now asks every :data:`~pelican_tui.backends.llama.process.LOADING_POLL_S`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from _server_support import server_binary, tiny_model

from pelican_tui.backends.llama import process as llama_process
from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.process import (
    LOADED_LINE,
    LOADING_POLL_S,
    LlamaServer,
    ServerStartError,
    ServerState,
    ServerStatus,
)

pytestmark = pytest.mark.slow

LOADING_S = 1.5
"""How long the stand-in plays a loading llama-server before the real one starts."""

# llama-server's loading phase, played for LOADING_S on llama-server's own port: every
# request gets its 503 "Loading model" with ``Connection: close``. Then it says how often
# /health was asked and becomes the real llama-server, which loads the tiny model.
LOADING_THEN_SERVE = """
    import os, socket, sys, time

    args = sys.argv[1:]
    host, port = args[args.index("--host") + 1], int(args[args.index("--port") + 1])
    body = b'{"error":{"message":"Loading model","type":"unavailable_error","code":503}}'
    answer = (
        b"HTTP/1.1 503 Service Unavailable\\r\\nConnection: close\\r\\n"
        b"Content-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body)
    ) + body
    asked = 0
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen()
        deadline = time.monotonic() + LOADING_S
        while (left := deadline - time.monotonic()) > 0:
            listener.settimeout(left)
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                break
            with conn:
                conn.settimeout(2.0)
                if conn.recv(65536).startswith(b"GET /health"):
                    asked += 1
                conn.sendall(answer)
                conn.shutdown(socket.SHUT_WR)
                try:  # the client closes first: no TIME_WAIT left on llama-server's port
                    while conn.recv(65536):
                        pass
                except OSError:
                    pass
    print(f"stand-in: /health asked {asked} times while loading", flush=True)
    os.execv(REAL, [REAL, *args])
"""


AN_HOUR = 3600.0
"""A wait between asks no test outlasts: what ends it early is what is being tested."""


def _config(**changes: object) -> ServerConfig:
    config = ServerConfig(
        binary=server_binary(), model=tiny_model(), context=2048, threads=2, ready_timeout_s=60
    )
    return replace(config, **changes)  # type: ignore[arg-type]


def _loading_stand_in(tmp_path: Path) -> Path:
    script = tmp_path / "llama-server"
    body = textwrap.dedent(LOADING_THEN_SERVE)
    body = body.replace("REAL", repr(str(server_binary()))).replace("LOADING_S", str(LOADING_S))
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(0o755)
    return script


async def test_a_loading_server_is_asked_rarely_and_ready_once_its_log_says_loaded(
    tmp_path: Path,
) -> None:
    seen: list[ServerStatus] = []
    srv = LlamaServer(_config(binary=_loading_stand_in(tmp_path)), on_status=seen.append)
    await srv.start()
    try:
        assert srv.status.state is ServerState.READY
        log = list(srv.log)
        counted = [line for line in log if line.startswith("stand-in: /health asked")]
        assert counted, "the stand-in never handed over to llama-server: the test proved nothing"
        asked = int(counted[0].split()[3])
        # Asked at once, then every LOADING_POLL_S; every 50 ms this was ~30 asks.
        assert 1 <= asked <= LOADING_S / LOADING_POLL_S + 1, asked
        loaded = [i for i, line in enumerate(log) if LOADED_LINE in line]
        assert loaded and loaded[0] > log.index(counted[0])
        assert [s.state for s in seen][-1] is ServerState.READY
    finally:
        await srv.stop()


async def test_the_log_saying_loaded_ends_the_wait_between_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With an hour between asks while loading, only the log's line can make it ready."""
    monkeypatch.setattr(llama_process, "LOADING_POLL_S", AN_HOUR)
    srv = LlamaServer(_config())
    try:
        await asyncio.wait_for(srv.start(), 120)
        assert srv.status.state is ServerState.READY
        assert any(LOADED_LINE in line for line in srv.log)
    finally:
        await srv.stop()


async def test_a_server_that_exits_while_loading_ends_the_wait_between_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(llama_process, "LOADING_POLL_S", AN_HOUR)
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + os.urandom(4096))
    srv = LlamaServer(_config(model=broken))
    with pytest.raises(ServerStartError) as caught:
        await asyncio.wait_for(srv.start(), 120)
    assert "exited during start-up" in str(caught.value)
    assert srv.status.state is ServerState.CRASHED
