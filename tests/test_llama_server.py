"""The real llama-server on the tiny default model: lifecycle, streaming, faults."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import os
import signal
import socket
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from _server_support import (
    async_wait_until,
    pid_alive,
    pool_requests,
    server_binary,
    tiny_model,
)

from pelican_tui.backends.events import (
    Failed,
    Finished,
    LiveStats,
    Started,
    TextDelta,
    ThinkingDelta,
)
from pelican_tui.backends.llama import binary as binary_module
from pelican_tui.backends.llama import process as llama_process
from pelican_tui.backends.llama.config import ServerConfig, without_port
from pelican_tui.backends.llama.downloads import DOWNLOAD_SUFFIX, DownloadWatcher, download_folders
from pelican_tui.backends.llama.process import (
    LOG_LINES,
    LlamaServer,
    ServerStartError,
    ServerState,
    ServerStatus,
)
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.secrets import REDACTED, redact_args, secret_values

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


async def test_a_one_token_answer_has_no_rate(server: LlamaServer) -> None:
    """llama-server says 0 tokens/s of one token, which the pane showed as "0.0 tok/s
    (0% of 531 max)" and run's progress line as "0.0 tok/s"."""
    backend = OpenAICompatibleBackend(server=server)
    request = GenerationRequest(prompt="Say hello.", max_tokens=1, thinking=False)
    events = [event async for event in backend.generate(request)]
    final = events[-1]
    assert isinstance(final, Finished), final
    assert final.timings.generated_tokens == 1
    assert final.timings.generation_tokens_per_s is None
    # The one token may be one that shows no text (a fresh-clone CI drew such a one):
    # then nothing arrived first, and there is no time to it either.
    shown = any(isinstance(event, (TextDelta, ThinkingDelta)) for event in events)
    assert (final.timings.time_to_first_token_s is not None) is shown, events


async def test_finished_runs_leave_no_request_behind(server: LlamaServer) -> None:
    """Run after run on one backend, the connection pool lets each finished request go
    (leaving a stream at its end marker cancelled the read while the response closed,
    and the pool kept the request: one more per run; seen with Claude's)."""
    backend = OpenAICompatibleBackend(server=server)
    try:
        before = pool_requests()  # other tests' clients, if any are still alive
        during: list[int] = []
        for _ in range(3):
            seen: list[object] = []
            async for event in backend.generate(
                GenerationRequest(prompt="Say hello.", max_tokens=8, thinking=False)
            ):
                if not seen:
                    during.append(pool_requests())
                seen.append(event)
            assert isinstance(seen[-1], Finished), seen[-1]
        assert min(during) >= before + 1, "the count sees a request in flight"
        assert pool_requests() <= before
    finally:
        await backend.aclose()


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


async def test_a_binary_this_machine_cannot_run_is_said_in_words(tmp_path: Path) -> None:
    """An executable that is no program (a text file, another machine's build): the
    failure said "[Errno 8] Exec format error: '/path/llama-server'"."""
    binary = tmp_path / "llama-server"
    binary.write_text("not a program\n")
    binary.chmod(0o755)
    srv = LlamaServer(_config(binary=binary))
    with pytest.raises(ServerStartError) as caught:
        await srv.start()
    assert str(caught.value) == (
        f"could not start {binary}: Exec format error (not a program this machine can run)"
    )
    assert srv.status.message == (
        "could not start llama-server: Exec format error (not a program this machine can run)"
    )
    assert srv.status.state is ServerState.CRASHED and not srv.running


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


async def test_a_start_up_failure_names_the_reason_llama_server_logged(tmp_path: Path) -> None:
    """A model architecture llama-server does not know: the failure said "exit 1" and
    the app's notice its last line, "exiting due to model loading error"."""
    odd = tmp_path / "odd.gguf"
    odd.write_bytes(tiny_model().read_bytes().replace(b"llama", b"llamx"))
    srv = LlamaServer(_config(model=odd, ready_timeout_s=60))
    with pytest.raises(ServerStartError) as caught:
        await srv.start()
    message = srv.status.message
    assert str(caught.value).startswith(message)
    assert message.startswith("llama-server exited during start-up (exit 1): "), message
    assert message.endswith("error loading model: unknown model architecture: 'llamx'")


async def test_an_hf_download_that_cannot_begin_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--hf`` on a machine that cannot reach Hugging Face: the failure said only
    "failed to load model, ''", llama-server's last error, and not that the download
    never began. It names the repository and llama-server's reason."""
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("LLAMA_CACHE", str(tmp_path / "llama-cache"))
    srv = LlamaServer(_config(model=None, hf="tester/tiny-GGUF:Q4_1", ready_timeout_s=60))
    with pytest.raises(ServerStartError) as caught:
        await srv.start()
    assert srv.status.message == (
        "llama-server exited during start-up (exit 1): could not download tester/tiny-GGUF: "
        "HTTPLIB failed: Could not establish connection"
    )
    assert str(caught.value).startswith(srv.status.message)


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
    assert server.status.message == "llama-server exited unexpectedly (killed by SIGKILL)"
    assert server.log[-1] == "[pelican-tui] llama-server exited unexpectedly (killed by SIGKILL)"
    status = backend.status()
    assert not status.ready and status.hint


async def test_attach_mode_uses_an_existing_server(
    server: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pelican_tui.backends.engine.sides import make_local_backend
    from pelican_tui.backends.llama.local_model import plan_local
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


# -- the API key stays off the command line ------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
async def test_api_key_is_in_the_environment_not_the_command_line(server: LlamaServer) -> None:
    assert server.pid is not None
    proc = Path(f"/proc/{server.pid}")
    cmdline = proc.joinpath("cmdline").read_bytes().split(b"\0")
    assert cmdline[0].endswith(b"llama-server"), cmdline
    assert server.api_key.encode() not in b" ".join(cmdline), "API key visible in ps"
    assert not any(b"api-key" in arg for arg in cmdline)
    environ = proc.joinpath("environ").read_bytes().split(b"\0")
    assert f"LLAMA_API_KEY={server.api_key}".encode() in environ
    assert proc.joinpath("environ").stat().st_mode & 0o077 == 0, "environ readable by others"
    async with httpx.AsyncClient() as client:
        keyless = await client.get(f"{server.base_url}/v1/models")
        wrong = await client.get(
            f"{server.base_url}/v1/models", headers={"Authorization": "Bearer not-the-key"}
        )
        keyed = await client.get(
            f"{server.base_url}/v1/models", headers={"Authorization": f"Bearer {server.api_key}"}
        )
    assert (keyless.status_code, wrong.status_code, keyed.status_code) == (401, 401, 200)
    # Start-up made one keyless request itself: its log says whose the warning is.
    assert any("refuses a request without its API key" in line for line in server.last_lines(400))


# -- what the log and the records show --------------------------------------------------


def test_redaction_of_secret_flags_and_token_shaped_values() -> None:
    token = "hf_" + "a1B2" * 9
    args = ["-m", "x.gguf", "--hf-token", token, "-hft", "short-secret", "--api-key=k3y-value"]
    args += ["--api-key-file", "/home/me/keys", "-mu", f"https://h/x?token={token}", "-c", "9"]
    shown = redact_args(args)
    assert shown == [
        "-m", "x.gguf", "--hf-token", REDACTED, "-hft", REDACTED, f"--api-key={REDACTED}",
        "--api-key-file", REDACTED, "-mu", f"https://h/x?token={REDACTED}", "-c", "9",
    ]  # fmt: skip
    assert secret_values(args) >= {token, "short-secret", "k3y-value"}


def test_display_flags_name_no_port_before_one_is_chosen() -> None:
    """They said ``--port 0``, which run printed as it started the server."""
    flags = _config().display_flags()
    assert not any(flag.startswith("--port") for flag in flags), flags
    assert not any("api-key" in flag for flag in flags)
    assert without_port(["-m", "x", "--port", "8080", "--port=9", "-c", "9"]) == [
        "-m", "x", "-c", "9"
    ]  # fmt: skip


async def test_display_flags_and_log_show_the_real_port_and_hide_user_secrets() -> None:
    token = "hf_" + "Zq9" * 12
    user_key = "user-chosen-key-0042"
    srv = LlamaServer(_config(extra_args=("--hf-token", token, "--api-key", user_key)))
    await srv.start()
    try:
        port = httpx.URL(srv.base_url).port
        assert port is not None and port > 0
        flags = srv.config.display_flags()
        assert flags[flags.index("--port") + 1] == str(port)
        assert flags[flags.index("--hf-token") + 1] == REDACTED
        assert flags[flags.index("--api-key") + 1] == REDACTED
        echoed = srv.log[0]
        assert echoed.startswith(f"$ LLAMA_API_KEY={REDACTED} ") and f"--port {port} " in echoed
        assert f"--hf-token {REDACTED} " in echoed and f"--api-key {REDACTED}" in echoed
        for secret in (token, user_key, srv.api_key):
            assert secret not in " ".join(flags)
            assert all(secret not in line for line in srv.log), f"{secret[:6]}… in the log"
        async with httpx.AsyncClient() as client:  # the user's own extra key works too
            models = await client.get(
                f"{srv.base_url}/v1/models", headers={"Authorization": f"Bearer {user_key}"}
            )
        assert models.status_code == 200
    finally:
        await srv.stop()


# -- stand-ins, for the parts the real binary cannot be made to do here ----------------


def _stand_in(tmp_path: Path, name: str, body: str) -> Path:
    """An executable Python script spawned in llama-server's place."""
    script = tmp_path / name
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return script


# A process that is alive but never listens: what a llama-server still starting looks like.
NEVER_LISTENS = """
    import time
    print("stand-in: up, not listening", flush=True)
    time.sleep(3600)
"""


@pytest.fixture
def foreign_http() -> Iterator[tuple[int, list[str]]]:
    """Someone else's HTTP server on a loopback port, answering 200 to every GET."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'{"status":"ok","data":[]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], hits
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- ports ------------------------------------------------------------------------------


async def test_occupied_port_fails_clearly() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        srv = LlamaServer(_config(port=port, ready_timeout_s=60))
        with pytest.raises(ServerStartError) as caught:
            await srv.start()
    assert caught.value.port_in_use == port
    first_line = str(caught.value).splitlines()[0]
    assert first_line == f"port {port} is in use on 127.0.0.1: llama-server could not bind it"
    assert any(f"port: {port}" in line for line in caught.value.last_lines)
    assert srv.status.state is ServerState.CRASHED
    assert not srv.running


async def test_a_picked_port_taken_meanwhile_is_retried_once_on_a_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_free_port = llama_process.free_port
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        picks = iter([taken])  # the race: our pick is grabbed before llama-server binds it
        monkeypatch.setattr(
            llama_process,
            "free_port",
            lambda host="127.0.0.1": next(picks, None) or real_free_port(host),
        )
        srv = LlamaServer(_config(ready_timeout_s=60))
        await srv.start()
    try:
        assert srv.status.state is ServerState.READY
        assert httpx.URL(srv.base_url).port not in (None, taken)
        log = "\n".join(srv.log)
        assert f"port: {taken}" in log and f"port {taken} was taken meanwhile" in log
    finally:
        await srv.stop()


async def test_a_foreign_server_answering_health_is_not_taken_as_ready(
    tmp_path: Path, foreign_http: tuple[int, list[str]]
) -> None:
    port, hits = foreign_http
    seen: list[ServerStatus] = []
    binary = _stand_in(tmp_path, "llama-server", NEVER_LISTENS)
    srv = LlamaServer(_config(binary=binary, port=port, ready_timeout_s=2.0), on_status=seen.append)
    with pytest.raises(ServerStartError) as caught:
        await srv.start()
    assert "/health" in hits, "the foreign server was never asked: the test proved nothing"
    assert ServerState.READY not in {s.state for s in seen}
    assert str(caught.value).splitlines()[0] == (
        f"llama-server not ready after 2 s; another process answers on port {port}"
    )
    assert not srv.running


async def test_real_server_on_a_foreign_servers_port_reports_the_port(
    foreign_http: tuple[int, list[str]],
) -> None:
    port, _ = foreign_http
    seen: list[ServerStatus] = []
    srv = LlamaServer(_config(port=port, ready_timeout_s=60), on_status=seen.append)
    with pytest.raises(ServerStartError) as caught:
        await srv.start()
    assert caught.value.port_in_use == port
    assert ServerState.READY not in {s.state for s in seen}


# -- downloads ----------------------------------------------------------------------------


def test_download_folders_follow_llama_cpp_cache_rules(tmp_path: Path) -> None:
    hf = _config(model=None, hf="ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M")
    blobs = "models--ggml-org--Qwen3.6-35B-A3B-GGUF/blobs"
    assert download_folders(hf, {"LLAMA_CACHE": "/c", "HOME": "/h"}) == [
        Path("/c") / blobs,
        Path("/c"),
    ]
    assert download_folders(hf, {"HF_HOME": "/hf", "HOME": "/h"})[0] == Path("/hf/hub") / blobs
    if sys.platform.startswith("linux"):
        assert download_folders(hf, {"HOME": "/h"}) == [
            Path("/h/.cache/huggingface/hub") / blobs,
            Path("/h/.cache/llama.cpp"),
        ]
    assert download_folders(_config(), {"HOME": "/h"}) == [], "a local file downloads nothing"


def test_download_watcher_follows_a_growing_file(tmp_path: Path) -> None:
    folder = tmp_path / "blobs"
    folder.mkdir()
    stale = folder / f"old{DOWNLOAD_SUFFIX}"
    stale.write_bytes(b"x" * 1000)
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    watcher = DownloadWatcher([folder, tmp_path / "missing"], total=4000)
    assert not watcher.poll().active, "a leftover nobody writes is not a download"
    partial = folder / f"abc{DOWNLOAD_SUFFIX}"
    fractions = []
    with partial.open("wb") as out:
        for _ in range(4):
            out.write(b"y" * 1000)
            out.flush()
            progress = watcher.poll()
            assert progress.active and progress.files == (partial.name,)
            fractions.append(progress.fraction)
    assert fractions == [0.25, 0.5, 0.75, 1.0]
    partial.rename(folder / "abc")
    done = watcher.poll()
    assert not done.active and done.downloaded == 4000
    assert DownloadWatcher([folder]).poll().fraction is None, "no total, no fraction"


# Plays llama-server's download phase: waits for the blob the test "downloads",
# then becomes the real llama-server on it (same pid, -hf swapped for -m).
DOWNLOAD_THEN_SERVE = """
    import os, sys, time
    from pathlib import Path
    args = sys.argv[1:]
    at = args.index("-hf")
    repo = args[at + 1].split(":")[0]
    blobs = Path(os.environ["LLAMA_CACHE"]) / ("models--" + repo.replace("/", "--")) / "blobs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = [p for p in blobs.glob("*") if not p.name.endswith(".downloadInProgress")]
        if done:
            break
        time.sleep(0.05)
    else:
        sys.exit(3)
    args[at : at + 3] = ["-m", str(done[0])]
    os.execv(REAL, [REAL, *args])
"""


async def test_download_progress_from_the_growing_file_and_no_timeout_while_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "llama-cache"
    monkeypatch.setenv("LLAMA_CACHE", str(cache))
    body = DOWNLOAD_THEN_SERVE.replace("REAL", repr(str(server_binary())))
    binary = _stand_in(tmp_path, "llama-server", body)
    model = tiny_model()
    size = model.stat().st_size
    timeout = 15.0  # of loading, after the download; 8 s was too few at load 10
    seen: list[ServerStatus] = []
    srv = LlamaServer(
        _config(
            binary=binary,
            model=None,
            hf="tester/tiny-GGUF:Q4_1",
            download_bytes=size,
            ready_timeout_s=timeout,
        ),
        on_status=seen.append,
    )
    started = time.monotonic()
    starting = asyncio.create_task(srv.start())
    blobs = cache / "models--tester--tiny-GGUF" / "blobs"
    blobs.mkdir(parents=True)
    partial = blobs / f"0123abcd{DOWNLOAD_SUFFIX}"
    written = 0
    try:
        with model.open("rb") as src, partial.open("wb") as out:
            while chunk := src.read(size // 8 + 1):
                out.write(chunk)
                out.flush()
                written += len(chunk)
                seen_all = await async_wait_until(
                    lambda n=written: srv.status.downloaded_bytes == n,
                    10,
                )
                assert seen_all, f"the watcher never saw {written} bytes"
            # Keep the download "running" past the ready timeout: it must not count.
            while time.monotonic() < started + timeout + 1.0:
                assert not starting.done(), starting
                assert srv.status.state is ServerState.DOWNLOADING
                await asyncio.sleep(0.1)
        partial.rename(blobs / "0123abcd")
        await asyncio.wait_for(starting, 60)
        elapsed = time.monotonic() - started
        assert srv.status.state is ServerState.READY
        downloading = [s for s in seen if s.state is ServerState.DOWNLOADING]
        fractions = [s.progress for s in downloading]
        assert len(fractions) >= 8 and fractions == sorted(fractions), fractions  # type: ignore[type-var]
        assert fractions[-1] == 1.0 and downloading[-1].download_total == size
        assert downloading[-1].message.startswith("downloading model: ")
        states = [s.state for s in seen]
        last_download = len(states) - 1 - states[::-1].index(ServerState.DOWNLOADING)
        assert ServerState.LOADING in states[last_download:], states
        assert elapsed > timeout + 1.0, "the download did not outlast the ready timeout"
        load = srv.status.load_seconds
        assert load is not None and 0 < load < timeout, "download time counted as loading"
    finally:
        if not starting.done():
            starting.cancel()
        with contextlib.suppress(BaseException):
            await starting
        await srv.stop()


async def test_ready_timeout_still_bounds_loading_and_ignores_stale_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "llama-cache"
    blobs = cache / "models--tester--tiny-GGUF" / "blobs"
    blobs.mkdir(parents=True)
    stale = blobs / f"feed{DOWNLOAD_SUFFIX}"
    stale.write_bytes(b"z" * 4096)
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    monkeypatch.setenv("LLAMA_CACHE", str(cache))
    seen: list[ServerStatus] = []
    binary = _stand_in(tmp_path, "llama-server", NEVER_LISTENS)
    srv = LlamaServer(
        _config(binary=binary, model=None, hf="tester/tiny-GGUF", ready_timeout_s=2.0),
        on_status=seen.append,
    )
    with pytest.raises(ServerStartError) as caught:
        await asyncio.wait_for(srv.start(), 30)
    assert str(caught.value).splitlines()[0] == "llama-server not ready after 2 s"
    assert ServerState.DOWNLOADING not in {s.state for s in seen}
    assert srv.status.state is ServerState.CRASHED and not srv.running


async def test_a_crash_at_start_up_is_named_and_on_an_amx_cpu_says_what_helps(
    tmp_path: Path,
) -> None:
    """A segmentation fault is said in words; where the CPU has AMX (whose llama.cpp
    kernels crash on the first token), the message names the flag that avoids them."""
    binary = _stand_in(
        tmp_path,
        "llama-server",
        """
        import os, signal
        print("init: llama threadpool init, n_threads = 2", flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)
        """,
    )
    srv = LlamaServer(_config(binary=binary, ready_timeout_s=30))
    with pytest.raises(ServerStartError) as caught:
        await srv.start()
    first = str(caught.value).splitlines()[0]
    assert first.startswith("llama-server crashed during start-up (segmentation fault)")
    assert ("--no-repack" in first) == (binary_module.amx_crash_hint() is not None)
    assert srv.status.state is ServerState.CRASHED and not srv.running


def test_amx_hint_and_build_flags(tmp_path: Path) -> None:
    with_amx = tmp_path / "amx"
    with_amx.write_text("flags\t\t: fpu avx512f amx_bf16 amx_tile amx_int8\n")
    without = tmp_path / "plain"
    without.write_text("flags\t\t: fpu avx2 fma\n")
    hint = binary_module.amx_crash_hint(with_amx)
    assert hint is not None and "--server-arg=--no-repack" in hint
    # The setting it names is one (it named local.server_args, which settings refuse).
    from pelican_tui.backends.settings import Settings

    assert "(or local.extra_args)" in hint
    Settings(local={"extra_args": ["--no-repack"]})
    assert binary_module.amx_crash_hint(without) is None
    assert binary_module.amx_crash_hint(tmp_path / "missing") is None
    # The build leaves AMX out on x86-64 only (the flags do not exist elsewhere), and a
    # build made before that is not reused: the recipe is part of the cache key.
    assert binary_module._cpu_flags("x86_64") == ["-mno-amx-tile", "-mno-amx-int8", "-mno-amx-bf16"]
    assert binary_module._cpu_flags("aarch64") == []
    assert binary_module.cached_binary_path().parts[-3].endswith("-noamx")


def test_the_cpu_flags_keep_amx_out_of_a_native_build() -> None:
    """What the build relies on: the compiler drops AMX even after ``-march=native``."""
    import platform
    import shutil
    import subprocess

    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None or platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("needs a C++ compiler on x86-64")
    defined = subprocess.run(
        [compiler, *binary_module._cpu_flags(), "-march=native", "-dM", "-E", "-x", "c++", "-"],
        input="",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "__AMX_INT8__" not in defined and "__AMX_TILE__" not in defined
    assert "__x86_64__" in defined  # the check read the compiler's real macros


# -- the log buffer and stopping -----------------------------------------------------------


async def test_log_keeps_the_last_lines_only(tmp_path: Path) -> None:
    total = LOG_LINES + 1000
    binary = _stand_in(
        tmp_path,
        "llama-server",
        f"""
        import sys
        for i in range({total}):
            print(f"line {{i}}")
        sys.exit(3)
        """,
    )
    srv = LlamaServer(_config(binary=binary, ready_timeout_s=30))
    heard: list[str] = []
    srv.log_listeners.append(heard.append)
    with pytest.raises(ServerStartError, match=r"exited during start-up \(exit 3\)"):
        await srv.start()
    assert len(srv.log) == LOG_LINES
    assert srv.log[0] == f"line {total - LOG_LINES}" and srv.log[-1] == f"line {total - 1}"
    assert len(heard) == total + 1 and heard[0].startswith("$ "), "listeners hear every line"


async def test_a_url_password_with_a_space_is_hidden_from_the_log_whole(tmp_path: Path) -> None:
    """``--model-url http://alice:s3cret PW@host/m.gguf``: the log's echo of the command
    and the server's own lines quoting the URL kept the password, as what finds one in
    a text stops at a space. An argument is one value: its password is known, whole."""
    url = "http://alice:s3cret PW@gpu-box:8080/m.gguf"
    binary = _stand_in(
        tmp_path,
        "llama-server",
        """
        import sys
        url = sys.argv[sys.argv.index("--model-url") + 1]
        print(f"common_download_file: GET {url}: 401")
        print(f"auth failed for {url.split('//')[1].split('@')[0]}, password {url.split(':')[2]}")
        sys.exit(3)
        """,
    )
    srv = LlamaServer(_config(binary=binary, extra_args=("--model-url", url), ready_timeout_s=30))
    with pytest.raises(ServerStartError, match=r"exit 3"):
        await srv.start()
    lines = list(srv.log)
    assert f"--model-url http://{REDACTED}@gpu-box:8080/m.gguf " in lines[0] + " ", lines[0]
    assert lines[1:3] == [
        f"common_download_file: GET http://{REDACTED}@gpu-box:8080/m.gguf: 401",
        f"auth failed for {REDACTED}, password {REDACTED}@gpu-box",
    ]
    assert not any("s3cret" in line for line in lines), lines
    assert "s3cret" not in " ".join(srv.config.display_flags())


async def test_stop_kills_a_server_that_ignores_sigterm(tmp_path: Path) -> None:
    """A llama-server that does not end on SIGTERM is given its grace, then SIGKILL. (A
    SIGSTOPped one no longer shows this: it is sent SIGCONT with the SIGTERM, and ends.)"""
    binary = _stand_in(
        tmp_path,
        "llama-server",
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stand-in: up, ignoring SIGTERM", flush=True)
        time.sleep(3600)
        """,
    )
    srv = LlamaServer(_config(binary=binary, ready_timeout_s=60))
    starting = asyncio.create_task(srv.start())
    try:
        up = lambda: any("ignoring SIGTERM" in line for line in srv.log)  # noqa: E731
        for _ in range(200):
            if up():
                break
            await asyncio.sleep(0.05)
        assert up(), srv.log
        pid = srv.pid
        assert pid is not None
        grace = 1.0
        began = time.monotonic()
        await asyncio.wait_for(srv.stop(grace_s=grace), grace + 10)
        took = time.monotonic() - began
    finally:
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, ServerStartError):
            await starting
    assert took >= grace, "stop() did not give SIGTERM its grace period"
    assert srv.status.exit_code == -signal.SIGKILL
    assert not pid_alive(pid)
    assert any("SIGKILL" in line for line in srv.log)


@pytest.mark.parametrize("on_sigterm", ["ends", "ignored"])
async def test_a_stop_during_start_up_is_not_a_crash(tmp_path: Path, on_sigterm: str) -> None:
    """stop() while llama-server loads was reported as a crash: the start raised "exited
    during start-up (killed by SIGTERM)" (SIGKILL for one that ignores SIGTERM), and the
    status said so last, after "stopped"."""
    ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN)" if on_sigterm == "ignored" else ""
    binary = _stand_in(
        tmp_path,
        "llama-server",
        f"""
        import signal, time
        {ignore}
        print("stand-in: up, loading", flush=True)
        time.sleep(3600)
        """,
    )
    states: list[ServerState] = []
    srv = LlamaServer(
        _config(binary=binary, ready_timeout_s=60), on_status=lambda s: states.append(s.state)
    )
    starting = asyncio.create_task(srv.start())
    try:
        assert await async_wait_until(lambda: any("loading" in line for line in srv.log), 10)
        pid = srv.pid
        assert pid is not None
        await asyncio.wait_for(srv.stop(grace_s=1.0), 15)
        with pytest.raises(ServerStartError) as raised:
            await asyncio.wait_for(starting, 15)
    finally:
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, ServerStartError):
            await starting
    assert "exited during start-up" not in str(raised.value)
    assert ServerState.CRASHED not in states, states
    assert srv.status.state is ServerState.STOPPED, srv.status
    assert srv.status.message == "stopped", "a front end can tell a stop from a failure"
    assert str(raised.value).startswith("llama-server was stopped before it was ready")
    assert not pid_alive(pid)


async def test_a_start_cancelled_while_the_model_loads_ends_stopped() -> None:
    """The app quitting while the model loads cancels the start: the process was ended,
    but the status stayed "loading model", so what read it after (run's summary) said
    the server was still loading. Cancelled as the status says "loading", so before
    the tiny model can be ready."""
    heard: list[ServerStatus] = []
    starting: asyncio.Task[None] | None = None

    def hear(status: ServerStatus) -> None:
        heard.append(status)
        if status.state is ServerState.LOADING and starting is not None:
            starting.cancel()

    srv = LlamaServer(_config(), on_status=hear)
    starting = asyncio.create_task(srv.start())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(starting, 60)
    states = [status.state for status in heard]
    assert ServerState.LOADING in states and ServerState.READY not in states, states
    (pid,) = {status.pid for status in heard if status.state is ServerState.LOADING}
    assert pid is not None and not pid_alive(pid) and not srv.running
    assert srv.status.state is ServerState.STOPPED, srv.status
    assert srv.status.message == "stopped"
    await srv.stop()  # as the app does on its way out: nothing left to stop
    assert srv.status.state is ServerState.STOPPED, srv.status


async def test_runs_share_one_client_and_props_are_asked_once(server: LlamaServer) -> None:
    backend = OpenAICompatibleBackend(server=server)
    request = GenerationRequest(prompt="Say hello.", max_tokens=4, thinking=False)
    clients = []
    for _ in range(2):
        events = [event async for event in backend.generate(request)]
        assert isinstance(events[-1], Finished), events[-1]
        clients.append(backend.client())
    assert clients[0] is clients[1]
    assert not clients[0].is_closed
    props = await backend.server_props()
    assert "build_info" in props
    assert await backend.server_props() is props  # the same process: not asked again
    await backend.aclose()
    assert clients[0].is_closed
    events = [event async for event in backend.generate(request)]  # a new client after close
    assert isinstance(events[-1], Finished), events[-1]
    assert backend.client() is not clients[0]
    await backend.aclose()


async def test_request_after_request_on_one_backend_all_answer(server: LlamaServer) -> None:
    """Runs and /props one after the other on one backend's client all get answers.

    With connections kept alive, llama-server closed one after a few requests
    without saying so and the next request sent on it failed ("closed the
    connection before answering": 5 of 60 requests here)."""
    backend = OpenAICompatibleBackend(server=server)
    request = GenerationRequest(prompt="Say hello.", max_tokens=4, thinking=False)
    failed: list[object] = []
    try:
        for _ in range(15):
            events = [event async for event in backend.generate(request)]
            if not isinstance(events[-1], Finished):
                failed.append(events[-1])
            if "build_info" not in await backend.server_props():
                failed.append("/props")
    finally:
        await backend.aclose()
    assert failed == []
