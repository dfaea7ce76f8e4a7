"""The resource sampler against a real llama-server serving a memory-mapped model."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest
from _server_support import server_binary, tiny_model

from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.process import LlamaServer
from pelican_tui.backends.resource_sampler import ResourceSampler, descendant_pids, mapped_rss
from pelican_tui.backends.resources import ResourceSample, format_bytes

pytestmark = pytest.mark.slow


@pytest.fixture
async def server() -> AsyncIterator[LlamaServer]:
    srv = LlamaServer(
        ServerConfig(
            binary=server_binary(), model=tiny_model(), context=1024, threads=2, load_mode="mmap"
        )
    )
    await srv.start()
    try:
        # One answer touches every weight, so the whole mapping is resident.
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.post(
                f"{srv.base_url}/v1/chat/completions",
                headers={"Authorization": f"Bearer {srv.api_key}"},
                json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
            )
        assert answer.status_code == 200, answer.text
        yield srv
    finally:
        await srv.stop()


def _sampler(server: LlamaServer, model: Path | None = None) -> ResourceSampler:
    return ResourceSampler(
        server_pid=lambda: server.pid, model_path=lambda: model or tiny_model(), maps_interval=1
    )


async def test_sample_of_a_running_server(server: LlamaServer) -> None:
    sample = _sampler(server).sample()
    size = tiny_model().stat().st_size
    assert sample.server_rss is not None and sample.server_rss > 0
    mapped = sample.server_model_mapped
    assert mapped is not None
    # Resident pages of the model file's mapping: the whole file, give or take
    # the GGUF header pages nothing touched; never more than the file.
    assert 0.8 * size <= mapped <= size + 4096, (format_bytes(mapped), format_bytes(size))
    # Read from the model's own blocks of smaps: what psutil's parse of them all gives.
    regions = psutil.Process(server.pid).memory_maps(grouped=True)
    target = str(tiny_model().resolve())
    assert mapped == sum(region.rss for region in regions if region.path == target)
    assert mapped_rss(server.pid, "/no/such/model.gguf") == 0
    assert 0 < sample.ram_used <= sample.ram_total
    assert 0 < sample.ram_available <= sample.ram_total
    assert sample.ram_total == psutil.virtual_memory().total
    assert sample.swap_used >= 0
    assert sample.own_rss == pytest.approx(psutil.Process(os.getpid()).memory_info().rss, rel=0.5)
    assert sample.own_rss > 0
    assert isinstance(sample.cpu_percent, float) and math.isfinite(sample.cpu_percent)
    assert 0.0 <= sample.cpu_percent <= 100.0
    assert sample.server_cpu_percent is not None and sample.server_cpu_percent >= 0.0


async def test_server_cpu_is_seen_while_it_generates(server: LlamaServer) -> None:
    sampler = _sampler(server)
    sampler.sample()  # the baseline psutil measures CPU time against
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(
            f"{server.base_url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {server.api_key}"},
            json={"messages": [{"role": "user", "content": "Tell a story."}], "max_tokens": 64},
        )
    assert answer.status_code == 200
    sample = sampler.sample()
    assert sample.server_cpu_percent is not None and sample.server_cpu_percent > 0.0


async def test_no_server_fields_without_a_server_and_a_foreign_file_maps_nothing(
    server: LlamaServer, tmp_path: Path
) -> None:
    alone = ResourceSampler().sample()
    assert (alone.server_rss, alone.server_model_mapped, alone.server_cpu_percent) == (
        None,
        None,
        None,
    )
    other = tmp_path / "not-loaded.gguf"
    other.write_bytes(b"GGUF")
    assert _sampler(server, other).sample().server_model_mapped == 0


async def test_a_new_server_is_not_given_the_last_ones_model_figure(
    server: LlamaServer,
) -> None:
    """Apply & restart: for a few seconds the status bar said "srv 30M (model 92M)" of
    the server still starting, the model's figure the last server's (the mappings are
    read every few samples). A new server's mapping is read at its first sample."""
    pid: list[int | None] = [server.pid]
    sampler = ResourceSampler(server_pid=lambda: pid[0], model_path=tiny_model, maps_interval=4)
    before = sampler.sample()
    assert before.server_model_mapped and before.server_model_mapped > 0.8 * (
        tiny_model().stat().st_size
    )
    # A process that has not mapped the model yet, as a llama-server that just started.
    starting = await asyncio.create_subprocess_exec("sleep", "30")
    try:
        pid[0] = starting.pid
        after = sampler.sample()
        assert after.server_rss is not None and after.server_rss < before.server_model_mapped
        assert after.server_model_mapped == 0, format_bytes(after.server_model_mapped)
    finally:
        starting.kill()
        await starting.wait()


async def test_stream_keeps_its_rate_when_sampling_is_slow() -> None:
    """A sample that takes 40 % of the interval must not stretch the period.

    Counted, not timed: over a window of 20 intervals a drifting loop
    (sleep after sampling) yields about 14 samples; a scheduled one 20 or 21.
    """
    interval = 0.1
    slow_part = 0.4 * interval

    def slow_pid() -> int | None:
        time.sleep(slow_part)  # a slow /proc read, in the sampler's worker thread
        return None

    sampler = ResourceSampler(server_pid=slow_pid)
    window = 20 * interval
    got: list[ResourceSample] = []
    loop = asyncio.get_running_loop()
    stream = sampler.stream(interval)
    began = loop.time()
    async for sample in stream:
        got.append(sample)
        if loop.time() - began >= window or len(got) > 40:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    # 21 on time; a loaded machine may skip a tick or two; ticks that drift give ~14.
    assert 17 <= len(got) <= 22, f"{len(got)} samples in {window:.1f} s at {interval} s"


async def test_stream_skips_ticks_a_slow_consumer_missed_instead_of_bursting() -> None:
    interval = 0.05
    sampler = ResourceSampler()
    stream = sampler.stream(interval)
    loop = asyncio.get_running_loop()
    await anext(stream)
    await asyncio.sleep(10 * interval)  # the consumer is busy elsewhere for 10 ticks
    resumed = loop.time()
    await anext(stream)
    burst = 0
    while loop.time() - resumed < 2 * interval and burst < 20:
        await anext(stream)
        burst += 1
    await stream.aclose()  # type: ignore[attr-defined]
    assert burst <= 3, f"{burst} samples in two intervals: missed ticks were replayed"


def test_descendants_are_those_psutil_finds_and_the_sampler_measures_them() -> None:
    """The children files of /proc give the tree psutil gives (from every process's
    stat); the sampler adds a child's memory to the server's."""
    import subprocess

    script = "sleep 60 & (sleep 60 & sleep 60; wait) & wait"
    tree = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    try:
        root = psutil.Process(tree.pid)
        deadline = time.monotonic() + 10
        while len(root.children(recursive=True)) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        expected = sorted(child.pid for child in root.children(recursive=True))
        assert len(expected) >= 4
        assert sorted(descendant_pids(tree.pid) or []) == expected
        sample = ResourceSampler(server_pid=lambda: tree.pid).sample()
        assert sample.server_rss is not None and sample.server_rss > root.memory_info().rss
    finally:
        os.killpg(tree.pid, 9)
        tree.wait()
    assert descendant_pids(tree.pid) is None  # gone: the caller falls back to psutil


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "-"),
        (0, "0B"),
        (1023, "1023B"),
        (1024, "1K"),
        (1023 * 1024**2, "1023M"),
        (1024**3 - 300_000, "1.0G"),  # "1024M" in the status bar
        (int(1.5 * 1024**3), "1.5G"),
        (1024**4 * 3, "3.0T"),
    ],
)
def test_sizes_roll_over_to_the_next_unit(value: int | None, shown: str) -> None:
    assert format_bytes(value) == shown


def test_a_server_that_exited_is_not_measured_as_holding_nothing_but_its_model() -> None:
    """An attached llama-server killed: for a refresh the status bar said "srv 0B (model
    92M)", the model more than the whole. It was a zombie (until its parent reaps it:
    no memory, the pid still there) and the model's figure the last one read. A server
    that exited is measured as none: the bar drops its part."""
    import subprocess

    from _server_support import wait_until

    from pelican_tui.backends.llama.process import free_port
    from pelican_tui.widgets.status_bar import StatusBar

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [server_binary(), "-m", tiny_model(), "-c", "1024", "--host", "127.0.0.1"]
    # Started here and not reaped, as a server someone else runs is not by pelican-tui.
    child = subprocess.Popen([*map(str, argv), "--port", str(port)], stderr=subprocess.DEVNULL)

    def ready() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{url}/health", timeout=5).status_code == 200
        return False

    try:
        assert wait_until(ready, 60, interval_s=0.1)
        sampler = ResourceSampler(server_url=lambda: url, model_path=tiny_model, maps_interval=4)
        before = sampler.sample()
        assert before.server_rss and before.server_model_mapped, before
        child.kill()
        zombie = lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE  # noqa: E731
        assert wait_until(zombie, 10)
        after = sampler.sample()
        bar = StatusBar("halfcell")
        bar.set_sample(after)
        shown = bar.render_text().plain
    finally:
        child.kill()
        child.wait()
    assert (after.server_rss, after.server_model_mapped) == (None, None), after
    assert "srv" not in shown, shown
