"""The llama-server child process: spawn, readiness, stop, restart, crash report.

The process is owned: it runs in its own process group, is stopped on every
exit path (gracefully, then forcibly), and on Linux the kernel kills it if
pelican-tui dies abruptly (``PR_SET_PDEATHSIG``), so ``kill -9`` of pelican-tui
or a dropped SSH connection never leaves a 20 GB model resident.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import os
import re
import secrets
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

LOG_LINES = 2000
TAIL_LINES = 12


class ServerState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    LOADING = "loading"
    DOWNLOADING = "downloading"
    READY = "ready"
    STOPPING = "stopping"
    CRASHED = "crashed"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything needed to spawn llama-server (the command line is built from it)."""

    binary: Path
    model: Path | None = None
    hf: str | None = None
    context: int = 8192
    threads: int | None = None
    n_cpu_moe: int | None = None
    gpu_layers: int | None = None
    load_mode: str | None = None
    extra_args: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int | None = None
    """None: pick a free loopback port."""
    ready_timeout_s: float = 600.0

    def command(self, port: int, api_key: str) -> list[str]:
        cmd = [str(self.binary)]
        if self.model is not None:
            cmd += ["-m", str(self.model)]
        elif self.hf:
            cmd += ["-hf", self.hf, "--no-mmproj"]
        cmd += ["--host", self.host, "--port", str(port), "-c", str(self.context)]
        cmd += ["--metrics", "--api-key", api_key]
        if self.threads is not None:
            cmd += ["-t", str(self.threads)]
        if self.n_cpu_moe is not None:
            cmd += ["--n-cpu-moe", str(self.n_cpu_moe)]
        if self.gpu_layers is not None:
            cmd += ["-ngl", str(self.gpu_layers)]
        if self.load_mode is not None:
            cmd += ["--load-mode", self.load_mode]
        cmd += list(self.extra_args)
        return cmd

    def display_flags(self) -> list[str]:
        """The command line for records and the log view, with the API key hidden."""
        cmd = self.command(self.port or 0, "***")
        return cmd[1:]


@dataclass(frozen=True, slots=True)
class ServerStatus:
    state: ServerState
    message: str
    progress: float | None = None
    """0..1 while downloading, when known."""
    pid: int | None = None
    url: str | None = None
    exit_code: int | None = None
    last_lines: tuple[str, ...] = field(default_factory=tuple)
    load_seconds: float | None = None
    """llama-server's own time from spawn to 'model loaded' (from its log)."""


class ServerStartError(Exception):
    """llama-server did not become ready. ``last_lines`` is the end of its log."""

    def __init__(self, message: str, last_lines: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.last_lines = last_lines

    def __str__(self) -> str:
        text = self.args[0]
        if self.last_lines:
            text += "\n  " + "\n  ".join(self.last_lines[-TAIL_LINES:])
        return str(text)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: die when the parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


_DOWNLOAD = re.compile(r"(\d{1,3}(?:\.\d+)?)%")
_LISTENING = re.compile(r"listening on (https?://\S+)")


StatusCallback = Callable[[ServerStatus], None]


class LlamaServer:
    """One llama-server process, owned by pelican-tui.

    Call :meth:`start` (returns when ``/health`` says ready, or raises
    :class:`ServerStartError` with the log's last lines), :meth:`stop`, or
    :meth:`restart` with a new config. ``on_status`` is called on every state
    change, from the event loop that called ``start``.
    """

    def __init__(self, config: ServerConfig, on_status: StatusCallback | None = None) -> None:
        self.config = config
        self.api_key = secrets.token_urlsafe(24)
        self.log: deque[str] = deque(maxlen=LOG_LINES)
        self._on_status = on_status
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._spawned_at = 0.0
        self._loaded_at: float | None = None
        self._stopping = False
        self.status = ServerStatus(ServerState.STOPPED, "not started")
        self.log_listeners: list[Callable[[str], None]] = []

    # -- public ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("server not started")
        return f"http://{self.config.host}:{self._port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def last_lines(self, n: int = TAIL_LINES) -> tuple[str, ...]:
        return tuple(list(self.log)[-n:])

    async def start(self) -> None:
        """Spawn llama-server and wait until it serves requests."""
        if self.running:
            return
        self._check_model()
        self._stopping = False
        self._loaded_at = None
        self._port = self.config.port or free_port(self.config.host)
        cmd = self.config.command(self._port, self.api_key)
        self.log.append("$ " + " ".join([cmd[0], *self.config.display_flags()]))
        self._set(ServerState.STARTING, "starting llama-server")
        self._spawned_at = time.monotonic()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except OSError as error:
            self._set(ServerState.CRASHED, f"could not start llama-server: {error}")
            raise ServerStartError(f"could not start {cmd[0]}: {error}") from error
        self._reader = asyncio.create_task(self._read_log(), name="llama-server-log")
        self._set(ServerState.LOADING, "loading model")
        try:
            await self._wait_ready()
        except BaseException:
            await self._terminate()
            raise
        self._watcher = asyncio.create_task(self._watch_exit(), name="llama-server-exit")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop gracefully (SIGTERM), then forcibly (SIGKILL) after ``grace_s``."""
        if self._proc is None:
            return
        self._stopping = True
        self._set(ServerState.STOPPING, "stopping")
        await self._terminate(grace_s)
        self._set(ServerState.STOPPED, "stopped")

    async def restart(self, config: ServerConfig | None = None) -> None:
        await self.stop()
        if config is not None:
            self.config = config
        await self.start()

    def kill_now(self) -> None:
        """Synchronous last resort for exit paths (atexit, signal handlers)."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    # -- internals ------------------------------------------------------------

    def _check_model(self) -> None:
        model = self.config.model
        if model is not None and not model.is_file():
            message = f"model file not found: {model}"
            self._set(ServerState.CRASHED, message)
            raise ServerStartError(message)
        if model is None and not self.config.hf:
            raise ServerStartError("no model: set local.model to a GGUF file or local.hf")

    def _set(self, state: ServerState, message: str, **extra: object) -> None:
        url = f"http://{self.config.host}:{self._port}" if self._port else None
        self.status = replace(
            ServerStatus(state, message, pid=self.pid, url=url),
            **extra,  # type: ignore[arg-type]
        )
        if self._on_status is not None:
            self._on_status(self.status)

    async def _read_log(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        while True:
            try:
                raw = await proc.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError):
                continue
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            self.log.append(line)
            for listener in list(self.log_listeners):
                listener(line)
            self._note_progress(line)

    def _note_progress(self, line: str) -> None:
        if self.status.state not in (ServerState.LOADING, ServerState.DOWNLOADING):
            return
        if "model loaded" in line:
            self._loaded_at = time.monotonic()
            return
        lowered = line.lower()
        if "download" in lowered:
            match = _DOWNLOAD.search(line)
            percent = float(match.group(1)) / 100 if match else None
            self._set(ServerState.DOWNLOADING, "downloading model", progress=percent)
        elif self.status.state is ServerState.DOWNLOADING and "load" in lowered:
            self._set(ServerState.LOADING, "loading model")

    async def _wait_ready(self) -> None:
        proc = self._proc
        assert proc is not None
        deadline = self._spawned_at + self.config.ready_timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if proc.returncode is not None:
                    await self._drain_reader()
                    message = f"llama-server exited during start-up (exit {proc.returncode})"
                    self._set(
                        ServerState.CRASHED,
                        message,
                        exit_code=proc.returncode,
                        last_lines=self.last_lines(),
                    )
                    raise ServerStartError(message, self.last_lines())
                try:
                    response = await client.get(f"{self.base_url}/health")
                    if response.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    message = f"llama-server not ready after {self.config.ready_timeout_s:.0f} s"
                    self._set(ServerState.CRASHED, message, last_lines=self.last_lines())
                    raise ServerStartError(message, self.last_lines())
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(proc.wait()), 0.05)
        ready_at = time.monotonic()
        load = (self._loaded_at or ready_at) - self._spawned_at
        self._set(
            ServerState.READY,
            f"ready ({ready_at - self._spawned_at:.1f} s)",
            load_seconds=load,
        )

    async def _drain_reader(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader), 1.0)

    async def _watch_exit(self) -> None:
        proc = self._proc
        assert proc is not None
        code = await proc.wait()
        if self._stopping:
            return
        await self._drain_reader()
        self._set(
            ServerState.CRASHED,
            f"llama-server exited unexpectedly (exit {code})",
            exit_code=code,
            last_lines=self.last_lines(),
        )

    async def _terminate(self, grace_s: float = 5.0) -> None:
        proc = self._proc
        if proc is None:
            return
        self._stopping = True
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace_s)
            except TimeoutError:
                self.kill_now()
                await proc.wait()
        for task in (self._watcher, self._reader):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._watcher = self._reader = None
        self._proc = None
