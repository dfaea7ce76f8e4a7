"""Side B: llama-server spawned bare, and the bare HTTP client against it.

The server gets exactly the command line pelican-tui builds (same binary,
model, ``-c``, seed, ``--metrics``, an API key), is spawned with plain
``subprocess`` and polled on ``/health`` every 10 ms: its time to ready is
llama-server's own load time. Then :mod:`bare_client` streams the same two
requests the app sends, in turn as the app does (or together, then the left
one alone, when ``Workload.turns`` is off); the single-stream rate is what the
hardware ceiling is compared with.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import tempfile
import time
from typing import Any

import httpx
import psutil
from workload import ROOT, Workload, python

from pelican_tui.backends.llama.process import API_KEY_ENV, free_port

HEALTH_POLL_S = 0.01


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def spawn_bare_server(workload: Workload) -> tuple[subprocess.Popen[bytes], str, str, float]:
    """Start llama-server; return (process, url, key, seconds from spawn to /health 200)."""
    port = free_port()
    key = secrets.token_urlsafe(24)
    cmd = workload.server_command(port)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, API_KEY_ENV: key},
    )
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=2.0, trust_env=False) as client:  # loopback: no proxy
        while True:
            if proc.poll() is not None:
                log.seek(0)
                tail = log.read()[-2000:].decode("utf-8", "replace")
                raise RuntimeError(f"bare llama-server exited ({proc.returncode}):\n{tail}")
            try:
                if client.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > 300:
                stop_server(proc)
                raise RuntimeError("bare llama-server not ready after 300 s")
            time.sleep(HEALTH_POLL_S)
    return proc, url, key, time.monotonic() - started


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def run_bare_once(workload: Workload) -> dict[str, Any]:
    """Spawn a bare server, stream both requests through the bare client, measure."""
    server, url, key, load_s = spawn_bare_server(workload)
    client = None
    try:
        payloads = workload.payloads()
        client = subprocess.Popen(
            [python(), str(ROOT / "bench" / "bare_client.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert client.stdin is not None and client.stdout is not None
        phases_sent = [payloads] if workload.turns else [payloads, payloads[:1]]
        config = {"url": url, "key": key, "phases": phases_sent, "turns": workload.turns}
        client.stdin.write(json.dumps(config))
        client.stdin.write("\n")
        server_proc = psutil.Process(server.pid)
        client_proc = psutil.Process(client.pid)
        phases = []
        for _ in phases_sent:
            json.loads(client.stdout.readline())  # {"ready": i}
            time.sleep(0.2)  # like the app side: start from a quiet client
            server0, client0 = _cpu(server_proc), _cpu(client_proc)
            started = time.monotonic()
            client.stdin.write("go\n")
            line = client.stdout.readline()
            ended = time.monotonic()
            if not line:
                raise RuntimeError("the bare client died")
            phases.append(
                {
                    "window_s": ended - started,
                    "client_cpu_s": _cpu(client_proc) - client0,
                    "server_cpu_s": _cpu(server_proc) - server0,
                    "streams": json.loads(line)["streams"],
                }
            )
        rss = client_proc.memory_info().rss
        client.stdin.close()
        client.wait(10)
    finally:
        if client is not None and client.poll() is None:
            client.kill()
            client.wait(5)
        stop_server(server)
    pair = phases[0]
    single = phases[1] if len(phases) > 1 else pair  # in turn, every stream is single
    return {
        "load_s": load_s,
        "window_s": pair["window_s"],
        "client_cpu_s": pair["client_cpu_s"],
        "server_cpu_s": pair["server_cpu_s"],
        "streams": pair["streams"],
        "client_rss_bytes": rss,
        "single": single,
    }
