"""The llama-server child process: spawn, readiness, log, stop, restart, crash report.

The process is owned: it runs in its own process group, is stopped on every
exit path (gracefully, then forcibly), and on Linux the kernel kills it if
pelican-tui dies abruptly (``PR_SET_PDEATHSIG``), so ``kill -9`` of pelican-tui
or a dropped SSH connection never leaves a 20 GB model resident.

The random API key travels in the child's environment (``LLAMA_API_KEY``,
which llama-server reads like ``--api-key``), never on its command line:
``/proc/PID/cmdline`` is readable by every local user, ``/proc/PID/environ``
only by the owner. That environment is a minimal one (:func:`child_environment`):
llama-server does not inherit ``ANTHROPIC_API_KEY`` or any other secret of
pelican-tui's.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import functools
import os
import re
import secrets
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field, replace
from typing import TYPE_CHECKING

from pelican_tui.backends.clients import server_client
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama.binary import amx_crash_hint
from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.downloads import (
    DOWNLOAD_POLL_S,
    DownloadProgress,
    DownloadWatcher,
    download_folders,
    download_message,
)
from pelican_tui.backends.secrets import (
    REDACTED,
    Scrubber,
    is_secret_name,
    redact_args,
    secret_values,
)
from pelican_tui.backends.text import shorten

if TYPE_CHECKING:
    import httpx

LOG_LINES = 2000
"""llama-server log lines kept in memory; older ones drop off."""
TAIL_LINES = 12
"""How many of the last log lines a start failure or a crash report shows."""
API_KEY_ENV = "LLAMA_API_KEY"
"""llama-server reads its API key from this variable (common/arg.cpp, ``--api-key``)."""
_CAUSE = re.compile(r"unknown|invalid|cannot|can't|not found|out of memory|unable|not within")
"""Words of a log line that says what went wrong (before lines that only say "error")."""
_FAILED = re.compile(r"error|fail", re.I)
_GENERIC = ("exiting due to", "main: exiting")
"""llama-server's last words that only say it stops, not why."""
_LOG_PREFIX = re.compile(r"^[\d.]+ [A-Z] ")
"""llama-server's time and level before each line ("0.00.043.808 E ")."""


def exit_words(code: int) -> str:
    """A process's end as a person reads it: "exit 1", "killed by SIGKILL"."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit {code}"


def crash_cause(lines: tuple[str, ...]) -> str | None:
    """The line of llama-server's log that says why it stopped (its last error, not
    its generic "exiting due to model loading error"); None: it gave none."""
    said = [
        _LOG_PREFIX.sub("", line.strip())
        for line in lines
        if not line.startswith("[pelican-tui]") and not any(g in line for g in _GENERIC)
    ]
    for pattern in (_CAUSE, _FAILED):
        found = next((text for text in reversed(said) if pattern.search(text)), None)
        if found:
            return shorten(found, 200)
    return None


_REPO_ERROR = re.compile(r"get_repo_commit: error: (.+)")
_REPO_UNRESOLVED = re.compile(r"failed to resolve commit for (\S+)")


def download_failure(lines: Iterable[str]) -> str | None:
    """Why an ``-hf`` download could not begin (no network, no such repository, no
    access), from llama-server's log; None: none failed. llama-server goes on to its
    generic "failed to load model, ''", which does not say that nothing was downloaded."""
    repo = why = None
    for line in lines:
        if found := _REPO_ERROR.search(line):
            why = found.group(1).strip()
        elif found := _REPO_UNRESOLVED.search(line):
            repo = found.group(1)
    if repo is None:
        return None
    return f"could not download {repo}" + (f": {shorten(why, 160)}" if why else "")


LOADED_LINE = "model loaded"
"""What llama-server's log says once the model is loaded, just before ``/health`` says 200."""
READY_POLL_S = 0.05
"""How often ``/health`` is asked once the log says :data:`LOADED_LINE` (or in router mode)."""
LOADING_POLL_S = 0.5
"""How often ``/health`` is asked before that line: a fallback for a build that words it
otherwise. Asking every 50 ms all along cost pelican-tui ~1-2 ms of CPU a time (during
loading each answer is a 503 that closes the connection, so each ask connects anew) and
woke it and llama-server 20 times a second while llama-server needed both cores."""


class ServerState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    LOADING = "loading"
    DOWNLOADING = "downloading"
    READY = "ready"
    STOPPING = "stopping"
    CRASHED = "crashed"


STARTING_STATES = frozenset({ServerState.STARTING, ServerState.LOADING, ServerState.DOWNLOADING})
"""States of a llama-server on its way to ready (a run waits for them to end)."""


@frozen
class ServerStatus:
    state: ServerState
    message: str
    progress: float | None = None
    """0..1 while downloading, when the expected size is known."""
    pid: int | None = None
    url: str | None = None
    exit_code: int | None = None
    last_lines: tuple[str, ...] = field(default_factory=tuple)
    load_seconds: float | None = None
    """Seconds from spawn (or from the end of a download) to 'model loaded'."""
    downloaded_bytes: int | None = None
    """Bytes on disk so far while downloading."""
    download_total: int | None = None


class ServerStartError(Exception):
    """llama-server did not become ready. ``last_lines`` is the end of its log."""

    def __init__(
        self,
        message: str,
        last_lines: tuple[str, ...] = (),
        port_in_use: int | None = None,
    ) -> None:
        super().__init__(message)
        self.last_lines = last_lines
        self.port_in_use = port_in_use
        """The port llama-server could not bind, when that is why it failed."""

    def __str__(self) -> str:
        text = self.args[0]
        if self.last_lines:
            text += "\n  " + "\n  ".join(self.last_lines[-TAIL_LINES:])
        return str(text)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# -- the child's environment ----------------------------------------------------------

_CHILD_ENV_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR",
        "XDG_CACHE_HOME", "HUGGINGFACE_HUB_CACHE", "MODEL_ENDPOINT",
        "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
        "http_proxy", "https_proxy", "all_proxy", "no_proxy",
    }
)  # fmt: skip
"""Variables llama-server (or the libraries it loads) may read, passed as they are."""
_CHILD_ENV_PREFIXES = (
    "LC_",  # locale
    "LLAMA_",  # LLAMA_CACHE, LLAMA_ARG_* (flags from the environment)
    "GGML_",  # backend tuning (GGML_CUDA_*, GGML_VK_*, GGML_METAL_*...)
    "HF_",  # HF_HOME, HF_HUB_CACHE, HF_ENDPOINT
    "CUDA_", "HIP_", "ROCR_", "GPU_DEVICE_ORDINAL",  # which GPUs
    "OMP_", "GOMP_", "KMP_",  # OpenMP threads
)  # fmt: skip
HF_TOKEN_ENV = "HF_TOKEN"
"""The token llama-server sends to Hugging Face for ``-hf`` downloads (gated repositories)."""


def child_environment(
    parent: Mapping[str, str], api_key: str, *, downloads: bool = False
) -> dict[str, str]:
    """The environment llama-server is started with: only what it needs.

    Paths, locale, proxies and certificates, llama.cpp's and ggml's own
    variables (``LLAMA_*``, ``GGML_*``, ``HF_*`` cache folders, GPU and OpenMP
    selection), and :data:`API_KEY_ENV` set to ``api_key``. Nothing else of
    pelican-tui's environment reaches it: no ``ANTHROPIC_API_KEY``, no other
    program's credentials. Secret-looking names are dropped even from the
    passed families, except ``HF_TOKEN`` when llama-server is to download
    (``downloads``), which is what it is for.
    """
    env: dict[str, str] = {}
    for name, value in parent.items():
        if name not in _CHILD_ENV_NAMES and not name.startswith(_CHILD_ENV_PREFIXES):
            continue
        if is_secret_name(name) and not (downloads and name == HF_TOKEN_ENV):
            continue
        env[name] = value
    env[API_KEY_ENV] = api_key
    return env


# -- dying with the parent (Linux) ----------------------------------------------------

_PR_SET_PDEATHSIG = 1
ORPHANED_EXIT = 125
"""Exit code of a child that found its parent already gone before exec."""


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, resolved once in the parent (never between fork and exec)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here, not at import: on the way to the TUI's first frame nothing spawns

    try:
        func = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    func.restype = ctypes.c_int
    return func


def parent_death_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when this process dies.

    Everything is looked up here, in the parent; between fork and exec the hook
    only calls the already-resolved ``prctl`` and ``getppid`` (no ``dlopen``,
    no imports, which could deadlock on a lock another thread held at fork).
    If the parent died before ``prctl`` took effect, the child exits at once.
    The signal fires when the *thread* that forked exits: spawn from the
    event-loop thread that lives as long as the app.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()
    sigkill = int(signal.SIGKILL)
    getppid = os.getppid
    exit_now = os._exit

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
        if getppid() != parent:
            exit_now(ORPHANED_EXIT)

    return hook


# -- the process ----------------------------------------------------------------------

_BIND_FAILED = re.compile(r"couldn't bind HTTP server socket, hostname: (\S+), port: (\d+)")


StatusCallback = Callable[[ServerStatus], None]


class LlamaServer:
    """One llama-server process, owned by pelican-tui.

    Call :meth:`start` (returns when the server we spawned answers, or raises
    :class:`ServerStartError` with the log's last lines), :meth:`stop`, or
    :meth:`restart` with a new config. ``on_status`` is called on every state
    change, from the event loop that called ``start``.
    """

    def __init__(self, config: ServerConfig, on_status: StatusCallback | None = None) -> None:
        self._config = config
        self.api_key = secrets.token_urlsafe(24)
        self.log: deque[str] = deque(maxlen=LOG_LINES)
        self._on_status = on_status
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._spawned_at = 0.0
        self._loading_since = 0.0
        self._loaded_at: float | None = None
        self._loaded = asyncio.Event()
        """Set when the log says :data:`LOADED_LINE` (a new one for every start)."""
        self._download_seen_at = 0.0
        self._bind_failed: tuple[str, int] | None = None
        self._stopping = False
        self._scrubber = Scrubber((self.api_key,))
        self.status = ServerStatus(ServerState.STOPPED, "not started")
        self.log_listeners: list[Callable[[str], None]] = []

    # -- public ---------------------------------------------------------------

    @property
    def config(self) -> ServerConfig:
        """The config in use; once a port is chosen, ``port`` is the real one."""
        if self._port is not None and self._config.port != self._port:
            return replace(self._config, port=self._port)
        return self._config

    @config.setter
    def config(self, value: ServerConfig) -> None:
        self._config = value

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("server not started")
        return f"http://{self._config.host}:{self._port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def suspended(self) -> bool:
        """The process is stopped by a signal (SIGSTOP, ctrl+z): alive, but answering nothing."""
        pid = self.pid
        if pid is None or not self.running:
            return False
        import psutil  # imported where used: not on the way to the app's first frame

        try:
            return bool(psutil.Process(pid).status() == psutil.STATUS_STOPPED)
        except psutil.Error:
            return False

    def last_lines(self, n: int = TAIL_LINES) -> tuple[str, ...]:
        return tuple(list(self.log)[-n:])

    async def start(self) -> None:
        """Spawn llama-server and wait until it serves requests.

        A free port picked by us can be taken by someone else before
        llama-server binds it; then we try once more on a new port.
        """
        if self.running:
            return
        self._check_model()
        attempts = 1 if self._config.port else 2
        for attempt in range(attempts):
            port = self._config.port or free_port(self._config.host)
            try:
                await self._start_once(port)
                return
            except ServerStartError as error:
                if error.port_in_use is None or attempt + 1 == attempts:
                    raise
                self._log_line(f"[pelican-tui] port {port} was taken meanwhile; trying a new port")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop gracefully (SIGTERM), then forcibly (SIGKILL) after ``grace_s``."""
        if self._proc is None:
            return
        self._stopping = True
        self._set(ServerState.STOPPING, "stopping")
        code = await self._terminate(grace_s)
        self._set(ServerState.STOPPED, "stopped", exit_code=code)

    async def restart(self, config: ServerConfig | None = None) -> None:
        await self.stop()
        if config is not None:
            self.config = config
        await self.start()

    async def settle(self, timeout_s: float = 2.0) -> None:
        """Let the status catch up with a process that has just died: a run that fails
        because llama-server was killed can end before its exit is seen (the status
        still says "ready"). Waits at most ``timeout_s``, and only for a dead process."""
        watcher, pid = self._watcher, self.pid
        if watcher is None or watcher.done() or pid is None or not self._exited(pid):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(watcher), timeout_s)

    @staticmethod
    def _exited(pid: int) -> bool:
        """Whether ``pid`` is gone or a zombie (dead, not yet reaped)."""
        import psutil  # imported where used: not on the way to the app's first frame

        try:
            return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return True
        except psutil.Error:
            return False

    def kill_now(self) -> None:
        """Synchronous last resort for exit paths (atexit, signal handlers)."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    # -- internals ------------------------------------------------------------

    def _check_model(self) -> None:
        folder = self._config.models_dir
        if folder is not None:
            # Router mode: no model is loaded at start; readiness is the router's own
            # (/health, then the keyed /v1/models, as for one model). Models load later.
            if not folder.is_dir():
                message = f"models folder not found: {folder}"
                self._set(ServerState.CRASHED, message)
                raise ServerStartError(message)
            return
        model = self._config.model
        if model is not None and not model.is_file():
            message = f"model file not found: {model}"
            self._set(ServerState.CRASHED, message)
            raise ServerStartError(message)
        if model is None and not self._config.hf:
            raise ServerStartError("no model: set local.model to a GGUF file or local.hf")

    async def _start_once(self, port: int) -> None:
        self._stopping = False
        self._loaded_at = None
        self._loaded = asyncio.Event()  # made in this start's event loop
        self._bind_failed = None
        self._port = port
        config = self._config
        cmd = config.command(port)
        folders = download_folders(config, os.environ)
        env = child_environment(os.environ, self.api_key, downloads=bool(folders))
        self._scrubber = Scrubber((self.api_key, *secret_values(cmd[1:])))
        self._log_line(f"$ {API_KEY_ENV}={REDACTED} " + " ".join([cmd[0], *redact_args(cmd[1:])]))
        self._set(ServerState.STARTING, "starting llama-server")
        self._spawned_at = self._loading_since = time.monotonic()
        spawned_wall = time.time()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=parent_death_hook(),
            )
        except OSError as error:
            why = error.strerror or str(error)  # no "[Errno 8] …: 'path'" twice
            if error.errno == errno.ENOEXEC:
                why += " (not a program this machine can run)"
            self._set(ServerState.CRASHED, f"could not start llama-server: {why}")
            raise ServerStartError(f"could not start {cmd[0]}: {why}") from error
        self._reader = asyncio.create_task(self._read_log(), name="llama-server-log")
        self._set(ServerState.LOADING, "loading model")
        downloads = None
        if folders:
            downloads = DownloadWatcher(folders, config.download_bytes, spawned_wall)
        try:
            await self._wait_ready(downloads)
        except BaseException:
            code = await self._terminate()
            if self.status.state in STARTING_STATES:  # cancelled (the app quit while it
                # loaded): the process is gone, so is "loading" (a failure said its own)
                self._set(ServerState.STOPPED, "stopped", exit_code=code)
            raise
        self._watcher = asyncio.create_task(self._watch_exit(), name="llama-server-exit")

    def _set(self, state: ServerState, message: str, **extra: object) -> None:
        url = f"http://{self._config.host}:{self._port}" if self._port else None
        self.status = replace(
            ServerStatus(state, message, pid=self.pid, url=url),
            **extra,  # type: ignore[arg-type]
        )
        if self._on_status is not None:
            self._on_status(self.status)

    def _log_line(self, line: str) -> None:
        line = self._scrubber.text(line)
        self.log.append(line)
        for listener in list(self.log_listeners):
            listener(line)

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
            self._log_line(line)
            self._note_line(line)

    def _note_line(self, line: str) -> None:
        if LOADED_LINE in line and self._loaded_at is None:
            self._loaded_at = time.monotonic()
            self._loaded.set()
        bind = _BIND_FAILED.search(line)
        if bind:
            self._bind_failed = (bind.group(1), int(bind.group(2)))

    def _note_download(self, progress: DownloadProgress) -> None:
        state = self.status.state
        if progress.active:
            self._download_seen_at = time.monotonic()
            if state is ServerState.DOWNLOADING and (
                self.status.downloaded_bytes == progress.downloaded
            ):
                return
            self._set(
                ServerState.DOWNLOADING,
                download_message(progress),
                progress=progress.fraction,
                downloaded_bytes=progress.downloaded,
                download_total=progress.total,
            )
        elif state is ServerState.DOWNLOADING:
            # The last poll that still saw the file: loading cannot have begun before it.
            self._loading_since = self._download_seen_at
            self._set(ServerState.LOADING, "loading model")

    def _start_failure(self, code: int) -> ServerStartError:
        lines = self.last_lines()
        port_in_use = None
        if self._bind_failed is not None:
            host, port_in_use = self._bind_failed
            message = f"port {port_in_use} is in use on {host}: llama-server could not bind it"
        elif code == -signal.SIGSEGV:
            message = "llama-server crashed during start-up (segmentation fault)"
            hint = amx_crash_hint()
            if hint:
                message += f": {hint}"
        else:
            message = f"llama-server exited during start-up ({exit_words(code)})"
            cause = download_failure(self.log) or crash_cause(lines)
            if cause:
                message += f": {cause}"
        self._set(ServerState.CRASHED, message, exit_code=code, last_lines=lines)
        return ServerStartError(message, lines, port_in_use=port_in_use)

    def _owns_port(self, pid: int) -> bool:
        """Is ``pid`` the one listening on our port? (True when we cannot tell.)"""
        import psutil

        try:
            connections = psutil.Process(pid).net_connections(kind="inet")
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return True
        return any(
            c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == self._port
            for c in connections
        )

    async def _answers_as_ours(self, client: httpx.AsyncClient) -> bool | None:
        """True: our server is up. False: not yet. None: something else answers there."""
        import httpx

        proc = self._proc
        assert proc is not None
        try:
            health = await client.get(f"{self.base_url}/health")
        except httpx.HTTPError:
            return False
        if health.status_code != 200:
            return False
        if proc.returncode is not None or not self._owns_port(proc.pid):
            return None
        try:
            keyed = await client.get(
                f"{self.base_url}/v1/models",
                headers={"Authorization": f"Bearer {self.api_key}"},
            )
            keyless = await client.get(f"{self.base_url}/v1/models")
        except httpx.HTTPError:
            return False
        if keyed.status_code != 200:
            return False
        if keyless.status_code != 401:
            message = (
                f"llama-server answered without its API key (HTTP {keyless.status_code}): "
                f"this build ignores {API_KEY_ENV}; use a newer llama-server"
            )
            self._set(ServerState.CRASHED, message, last_lines=self.last_lines())
            raise ServerStartError(message, self.last_lines())
        # llama-server logs that refused request as a warning ("unauthorized: Invalid
        # API Key"); say whose it was, so the log screen does not read as an intrusion.
        self._log_line(
            "[pelican-tui] checked that llama-server refuses a request without its API key "
            "(the 'unauthorized' warning in its log)"
        )
        return True

    async def _wait_ready(self, downloads: DownloadWatcher | None) -> None:
        proc = self._proc
        assert proc is not None
        timeout = self._config.ready_timeout_s
        downloading_s = 0.0
        last_tick = next_poll = time.monotonic()
        foreign = False
        # Plain HTTP on loopback: no TLS context to load (~25 ms), no proxy to go by.
        async with server_client(self.base_url, timeout=2.0) as client:
            while True:
                if proc.returncode is not None:
                    await self._drain_reader()
                    if self._stopping:  # stop() ended it: its status says "stopped"
                        raise ServerStartError(
                            "llama-server was stopped before it was ready", self.last_lines()
                        )
                    raise self._start_failure(proc.returncode)
                now = time.monotonic()
                if self.status.state is ServerState.DOWNLOADING:
                    downloading_s += now - last_tick
                last_tick = now
                if downloads is not None and now >= next_poll:
                    next_poll = now + DOWNLOAD_POLL_S
                    self._note_download(downloads.poll())
                # The limit bounds the asks too: one to a server that accepts and does
                # not answer (stopped, swapping) waited 2 s more, each.
                deadline = self._spawned_at + downloading_s + timeout
                if time.monotonic() >= deadline:
                    message = f"llama-server not ready after {timeout:.0f} s"
                    if downloading_s:
                        message += f" of loading (plus {downloading_s:.0f} s downloading)"
                    if foreign:
                        message += f"; another process answers on port {self._port}"
                    self._set(ServerState.CRASHED, message, last_lines=self.last_lines())
                    raise ServerStartError(message, self.last_lines())
                try:
                    async with asyncio.timeout(deadline - time.monotonic()):
                        answer = await self._answers_as_ours(client)
                except TimeoutError:
                    continue  # said above, once time spent downloading is counted out
                if answer:
                    if downloads is not None and self.status.state is ServerState.DOWNLOADING:
                        self._note_download(downloads.poll())
                    break
                if answer is None and not foreign:
                    foreign = True
                    self._log_line(
                        f"[pelican-tui] another process answers on port {self._port}; "
                        "waiting for the llama-server we started"
                    )
                await self._until_next_ask(proc, deadline - time.monotonic())
        ready_at = time.monotonic()
        load = (self._loaded_at or ready_at) - self._loading_since
        self._set(
            ServerState.READY,
            f"ready ({ready_at - self._spawned_at:.1f} s)",
            load_seconds=load,
        )

    async def _until_next_ask(self, proc: asyncio.subprocess.Process, at_most_s: float) -> None:
        """Wait before asking ``/health`` again: :data:`READY_POLL_S` once the log has
        said :data:`LOADED_LINE` (and in router mode, which loads no model at start),
        :data:`LOADING_POLL_S` before it, never more than ``at_most_s`` (what is left of
        the ready timeout). The process's exit and that line end the wait."""
        fast = self._loaded.is_set() or self._config.models_dir is not None
        waiters = [asyncio.ensure_future(proc.wait())]
        if not fast:
            waiters.append(asyncio.ensure_future(self._loaded.wait()))
        try:
            await asyncio.wait(
                waiters,
                timeout=max(0.0, min(READY_POLL_S if fast else LOADING_POLL_S, at_most_s)),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _drain_reader(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader), 1.0)

    async def _watch_exit(self) -> None:
        proc = self._proc
        assert proc is not None
        code = await proc.wait()
        if self._stopping:
            return
        await self._drain_reader()
        message = f"llama-server exited unexpectedly ({exit_words(code)})"
        cause = crash_cause(self.last_lines()) if code > 0 else None  # a signal says no more
        self._log_line(f"[pelican-tui] {message}")
        self._set(
            ServerState.CRASHED,
            f"{message}: {cause}" if cause else message,
            exit_code=code,
            last_lines=self.last_lines(),
        )

    async def _terminate(self, grace_s: float = 5.0) -> int | None:
        """Stop the process (SIGTERM and SIGCONT, then SIGKILL after ``grace_s``); its exit code."""
        proc = self._proc
        if proc is None:
            return None
        self._stopping = True
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
                # A stopped process (SIGSTOP, ctrl+z) acts on SIGTERM only once continued:
                # without this it would end only at the SIGKILL, ``grace_s`` later.
                os.killpg(proc.pid, signal.SIGCONT)
            try:
                await asyncio.wait_for(proc.wait(), grace_s)
            except TimeoutError:
                self._log_line(f"[pelican-tui] no exit {grace_s:g} s after SIGTERM: SIGKILL")
                self.kill_now()
                await proc.wait()
        for task in (self._watcher, self._reader):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._watcher = self._reader = None
        self._proc = None
        return proc.returncode
