"""Live resource numbers: system RAM, llama-server's memory and CPU, our own RSS.

A model loaded with mmap looks small in RSS: its weights are file-backed pages
counted separately. We report both, honestly: ``server_rss`` (what ``top``
shows) and ``server_model_mapped`` (resident pages of the model file mapping).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True, slots=True)
class ResourceSample:
    ram_total: int
    ram_used: int
    ram_available: int
    swap_used: int
    cpu_percent: float
    """System-wide CPU% since the previous sample."""
    own_rss: int
    server_rss: int | None = None
    server_model_mapped: int | None = None
    """Resident bytes of the mapped model file inside llama-server."""
    server_cpu_percent: float | None = None
    """llama-server's CPU% since the previous sample (100 = one core)."""


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
    ) -> None:
        self._server_pid = server_pid
        self._model_path = model_path
        self._own = psutil.Process(os.getpid())
        self._server: psutil.Process | None = None
        self._maps_interval = maps_interval
        self._count = 0
        self._mapped: int | None = None
        psutil.cpu_percent(None)

    def _server_process(self) -> psutil.Process | None:
        pid = self._server_pid()
        if pid is None:
            self._server = None
            return None
        if self._server is None or self._server.pid != pid:
            try:
                self._server = psutil.Process(pid)
                self._server.cpu_percent(None)
            except psutil.Error:
                self._server = None
        return self._server

    def _model_mapped(self, proc: psutil.Process) -> int | None:
        model = self._model_path()
        if model is None:
            return None
        target = str(model.resolve())
        total = 0
        with contextlib.suppress(psutil.Error, OSError):
            for region in proc.memory_maps(grouped=True):
                if region.path == target:
                    total += region.rss
        return total

    def sample(self) -> ResourceSample:
        vm = psutil.virtual_memory()
        swap = psutil.swap_memory()
        server_rss = server_cpu = None
        proc = self._server_process()
        if proc is not None:
            try:
                server_rss = proc.memory_info().rss
                server_cpu = proc.cpu_percent(None)
                if self._count % self._maps_interval == 0:
                    self._mapped = self._model_mapped(proc)
            except psutil.Error:
                self._server = None
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


def format_bytes(value: int | None) -> str:
    """``1.5G``, ``340M``: short enough for a status bar."""
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "K", "M", "G", "T"):
        if size < 1024 or unit == "T":
            if unit in ("B", "K", "M"):
                return f"{size:.0f}{unit}"
            return f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}T"
