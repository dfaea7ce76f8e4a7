"""Live resource numbers: system RAM, the model server's memory and CPU, our own RSS.

A model loaded with mmap is file-backed: its pages count in RSS only once
read, and the kernel may drop them again. We report ``server_rss`` (what
``top`` shows, the model's resident pages included) and, as a part of it,
``server_model_mapped`` (the resident pages of the model file mapping).

The server is the llama-server pelican-tui spawned (its pid), or one it is
attached to by URL: when the URL's host is this machine, the process listening
on its port (:func:`find_listener`, from ``psutil.net_connections``) and its
children (Ollama and LM Studio run the model in a child process) are measured
the same way; the model file is the one the server names (llama.cpp's
``model_path``, Ollama's modelfile), else the largest model-like file they map.
On another machine: "remote, memory not visible".
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psutil

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.resources import ResourceSample
from pelican_tui.backends.urls import split_url, unmapped

REMOTE_NOTE = "remote, memory not visible"
LISTENER_RETRY_S = 10.0
"""How often a listener that was not found (or has gone) is looked for again."""
MODEL_SUFFIXES = (".gguf", ".safetensors", ".bin", ".mlx", ".npz")
MIN_MODEL_BYTES = 16 * 1024 * 1024


@frozen
class Listener:
    """The process serving a URL on this machine, or why there is none to measure."""

    pid: int | None
    note: str | None = None


def _this_machine_addresses() -> set[str]:
    addresses = {"0.0.0.0", "::"}
    with contextlib.suppress(OSError):
        for entries in psutil.net_if_addrs().values():
            addresses |= {entry.address.split("%")[0] for entry in entries}
    return addresses


def _resolved(host: str) -> set[str]:
    """``host``'s addresses; an IPv4-mapped IPv6 one (``::ffff:127.0.0.1``) as the IPv4
    address it is (Python 3.11 calls the mapped loopback address no loopback)."""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return set()
    return {unmapped(str(info[4][0])) for info in found}


def _here(ips: set[str]) -> bool:
    local = _this_machine_addresses()
    return any(ipaddress.ip_address(ip).is_loopback or ip in local for ip in ips)


def on_this_machine(url: str) -> bool:
    """Whether ``url``'s server runs on this machine: its host is a loopback address
    or one of this machine's (a name is looked up: call it off the event loop)."""
    return _here(_resolved(split_url(url).hostname or ""))


def find_listener(url: str) -> Listener:
    """The process listening on ``url``'s port, when its host is this machine.

    Listening sockets of other users' processes show no pid unless run as
    root; then the memory is "not visible" and says why."""
    parts = split_url(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return Listener(None, "memory not visible (no port in the URL)")
    ips = _resolved(parts.hostname or "")
    if not _here(ips):
        return Listener(None, REMOTE_NOTE)
    try:
        sockets = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return Listener(None, "memory not visible (cannot list this machine's sockets)")
    bound = ips | {"0.0.0.0", "::", "::ffff:0.0.0.0"}
    listening = [  # (whether it listens on the URL's address, pid)
        (str(c.laddr[0]) in bound, c.pid)
        for c in sockets
        if c.status == psutil.CONN_LISTEN and len(c.laddr) >= 2 and c.laddr[1] == port
    ]
    for _, pid in sorted(listening, key=lambda item: not item[0]):
        if pid is not None:
            return Listener(pid)
    if listening:
        return Listener(None, "memory not visible (another user's process)")
    return Listener(None, f"memory not visible (nothing listens on port {port} here)")


def descendant_pids(pid: int) -> list[int] | None:
    """The pids of ``pid``'s children, their children and so on, from Linux's
    ``/proc/<pid>/task/<tid>/children``; None where that is not available.

    A few small files per process in the tree, where psutil's ``children()`` reads
    the ``stat`` of every process on the machine (~2 ms each time with 80 of
    them): the resource sampler asks every second, while a model streams.
    """
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            if parent == pid:
                return None
            continue  # a child that exited meanwhile
        for task in tasks:
            try:
                children = [int(child) for child in (task / "children").read_bytes().split()]
            except FileNotFoundError:
                if parent == pid and task.name == str(pid):
                    return None  # a kernel without the children files
                continue  # a thread that ended meanwhile
            except (OSError, ValueError):
                continue
            found.extend(children)
            pending.extend(children)
    return found


def mapped_rss(pid: int, path: str) -> int:
    """Resident bytes of the mappings of the file ``path`` in process ``pid``: the
    ``Rss`` of each of its blocks in ``/proc/<pid>/smaps``. Raises OSError.

    Only those blocks are read: psutil's ``memory_maps()`` parses every line of
    every mapping into Python objects, a third of what reading the maps cost
    (~2.4 of 6.8 ms for llama-server here, every few seconds while a model
    streams); the rest is the kernel's.
    """
    data = Path(f"/proc/{pid}/smaps").read_bytes()
    ending = b" " + os.fsencode(path) + b"\n"  # a block's first line ends with its path
    total = 0
    at = data.find(ending)
    while at >= 0:
        rss = data.find(b"\nRss:", at)
        if rss < 0:
            break
        total += int(data[rss + 5 : data.find(b"\n", rss + 1)].split()[0]) * 1024
        at = data.find(ending, at + len(ending))
    return total


def _model_like(path: str, size: int) -> bool:
    return size >= MIN_MODEL_BYTES and (path.endswith(MODEL_SUFFIXES) or "/blobs/sha256" in path)


class ResourceSampler:
    """Samples system and process memory; call :meth:`sample` at any rate.

    Reading a process's memory maps costs a few ms for a big mapping, so the
    mapped-model figure is refreshed at most every ``maps_interval`` samples.
    """

    def __init__(
        self,
        server_pid: Callable[[], int | None] = lambda: None,
        model_path: Callable[[], Path | None] = lambda: None,
        maps_interval: int = 4,
        server_url: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._server_pid = server_pid
        self._model_path = model_path
        self._server_url = server_url
        """An attached server's URL (asked when there is no spawned server's pid)."""
        self._own = psutil.Process(os.getpid())
        self._server: psutil.Process | None = None
        self._tree: dict[int, psutil.Process] = {}
        self._listener: tuple[str, Listener, float] | None = None
        self._note: str | None = None
        self._maps_interval = maps_interval
        self._count = 0
        self._mapped: int | None = None
        psutil.cpu_percent(None)

    def _attached_pid(self) -> int | None:
        """The pid listening on the attached server's URL (looked up again when it is gone)."""
        url = self._server_url()
        if url is None:
            self._listener, self._note = None, None
            return None
        cached = self._listener
        now = time.monotonic()
        stale = cached is None or cached[0] != url
        if cached is not None and not stale:
            pid = cached[1].pid
            stale = not psutil.pid_exists(pid) if pid else now - cached[2] > LISTENER_RETRY_S
        if stale:
            self._listener = cached = (url, find_listener(url), now)
        assert cached is not None
        self._note = cached[1].note
        return cached[1].pid

    def _server_process(self) -> psutil.Process | None:
        pid = self._server_pid()
        self._note = None
        if pid is None:
            pid = self._attached_pid()
        if pid is None:
            self._server, self._tree = None, {}
            return None
        if self._server is None or self._server.pid != pid:
            try:
                self._server = psutil.Process(pid)
                self._server.cpu_percent(None)
            except psutil.Error:
                self._server = None
            self._tree = {}
            # Another server (a restart): its own mapping is read at once. The last
            # server's figure, kept until the next read, said "srv 30M (model 92M)" of
            # one still loading, more of the model than the whole process holds.
            self._mapped, self._count = None, 0
        return self._server

    def _processes(self, proc: psutil.Process) -> list[psutil.Process]:
        """The server and its children (the model may run in one), measured as one."""
        pids = descendant_pids(proc.pid)
        if pids is None:
            try:
                found = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                found = [proc]
        else:
            found = [proc]
            for pid in pids:
                member = self._tree.get(pid)
                if member is None:
                    try:
                        member = psutil.Process(pid)
                    except psutil.Error:
                        continue
                found.append(member)
        tree: dict[int, psutil.Process] = {}
        for member in found:
            known = self._tree.get(member.pid)
            if known is None:
                with contextlib.suppress(psutil.Error):
                    member.cpu_percent(None)
                known = member
            tree[member.pid] = known
        self._tree = tree
        return list(tree.values())

    def _model_mapped(self, procs: list[psutil.Process]) -> int | None:
        model = self._model_path()
        if model is None and self._server_url() is None:
            return None
        if model is not None:
            target, total = str(model.resolve()), 0
            for proc in procs:
                with contextlib.suppress(OSError, ValueError):
                    total += mapped_rss(proc.pid, target)
            return total
        by_file: dict[str, int] = {}
        for proc in procs:
            with contextlib.suppress(psutil.Error, OSError):
                for region in proc.memory_maps(grouped=True):
                    by_file[region.path] = by_file.get(region.path, 0) + region.rss
        # An attached server that does not name its file: the largest model-like mapping.
        sizes = [rss for path, rss in by_file.items() if _model_like(path, _file_size(path))]
        return max(sizes, default=0)

    def sample(self) -> ResourceSample:
        vm = psutil.virtual_memory()
        swap = psutil.swap_memory()
        server_rss = server_cpu = None
        proc = self._server_process()
        state = _state(proc) if proc is not None else None
        if proc is not None and state in (None, psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            # It exited: a zombie (until its parent reaps it) holds no memory, and the
            # model's figure was the last one read ("srv 0B (model 92M)"). Measured as
            # none; an attached server's port is looked at anew.
            self._server, self._tree, self._listener = None, {}, None
            proc = None
        suspended = state == psutil.STATUS_STOPPED
        if proc is not None:
            procs = self._processes(proc)
            try:
                server_rss = proc.memory_info().rss
                server_cpu = proc.cpu_percent(None)
            except psutil.Error:
                self._server = None
            for child in procs[1:]:
                with contextlib.suppress(psutil.Error):
                    server_rss = (server_rss or 0) + child.memory_info().rss
                    server_cpu = (server_cpu or 0.0) + child.cpu_percent(None)
            if self._server is not None and self._count % self._maps_interval == 0:
                self._mapped = self._model_mapped(procs)
        else:
            self._mapped = None
        self._count += 1
        return ResourceSample(
            ram_total=vm.total,
            ram_used=vm.total - vm.available,
            ram_available=vm.available,
            swap_used=swap.used,
            cpu_percent=psutil.cpu_percent(None),
            own_rss=self._own.memory_info().rss,
            server_rss=server_rss,
            server_model_mapped=self._mapped if proc is not None else None,
            server_cpu_percent=server_cpu,
            server_note=self._note if proc is None else None,
            server_suspended=suspended,
        )

    async def stream(self, interval_s: float = 1.0) -> AsyncIterator[ResourceSample]:
        """Yield a sample every ``interval_s`` seconds (a UI subscribes to this).

        Ticks are on a fixed schedule from the first sample, so the time a
        sample takes does not add up into drift. Ticks missed because sampling
        or the consumer was slow are skipped, not delivered in a burst.
        """
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            yield await asyncio.to_thread(self.sample)
            next_at += interval_s
            now = loop.time()
            if next_at < now:
                next_at += math.ceil((now - next_at) / interval_s) * interval_s
            await asyncio.sleep(next_at - now)


def _state(proc: psutil.Process) -> str | None:
    """A process's state (``psutil.STATUS_*``); None: it is gone."""
    try:
        return str(proc.status())
    except psutil.Error:
        return None


def _file_size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
