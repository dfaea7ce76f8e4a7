"""What the hardware allows: sustained memory read bandwidth and the decode ceiling.

Generating one token reads every active weight once, so on a machine without a
GPU, decoding is bounded by memory bandwidth::

    ceiling tokens/s = read bandwidth (bytes/s) / bytes read per token

where bytes read per token is active parameters x bits per weight / 8, from the
GGUF header (:meth:`GGUFInfo.bytes_per_token_read`). For a mixture-of-experts
model such as Qwen3.6-35B-A3B only the routed experts a token uses are read,
which is why it decodes like a ~3B dense model.

The ceiling ignores KV-cache reads (they grow with the context) and compute
limits, so real decoding stays below it; achieved / ceiling says how close the
model runs to what the memory allows.

Bandwidth is measured once (about a second) and cached in
:func:`~pelican_tui.backends.locations.bandwidth_cache_file`.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pelican_tui.backends import locations
from pelican_tui.backends.atomic import replace_file
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama.gguf_info import GGUFInfo

if TYPE_CHECKING:  # numpy is imported only to measure: reading the cache stays cheap
    import numpy as np

__all__ = [
    "DEFAULT_ARRAY_BYTES",
    "BandwidthRecord",
    "cached_ceiling_tokens_per_s",
    "decode_ceiling_tokens_per_s",
    "format_bandwidth",
    "host_key",
    "measure_memory_bandwidth",
    "memory_bandwidth",
    "read_cached_bandwidth",
    "write_cached_bandwidth",
]

DEFAULT_ARRAY_BYTES = 256 * 1024 * 1024
"""Much larger than any last-level cache, so passes read from RAM, not cache."""
METHOD = "best pass of a threaded int64 sum over a 256 MiB array (numpy)"
"""How :func:`measure_memory_bandwidth` measures, recorded with each cached value."""


@frozen
class BandwidthRecord:
    """A cached bandwidth measurement."""

    bytes_per_s: float
    measured_at: str
    """ISO 8601 UTC time of the measurement."""
    host: str
    """:func:`host_key` of the machine that measured it (another machine re-measures)."""
    method: str = METHOD
    """How it was measured (:data:`METHOD` for a record written now), kept with the
    number for whoever reads the cache file."""


def host_key() -> str:
    """Identifies the machine well enough to notice a cache copied from elsewhere."""
    return f"{platform.node()}|{platform.machine()}|{os.cpu_count()}|{_memory_total()}"


def _memory_total() -> int:
    """Bytes of RAM, as ``psutil.virtual_memory().total`` says it.

    Every start reads the cached bandwidth (and so this) before the first frame; on
    Linux it comes from ``/proc/meminfo`` (psutil's own source: MemTotal, in KiB),
    which spares importing psutil there (~20 ms)."""
    try:
        with Path("/proc/meminfo").open("rb") as meminfo:
            for line in meminfo:
                if line.startswith(b"MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import psutil

    return int(psutil.virtual_memory().total)


def _sum_chunk(chunk: np.ndarray[Any, np.dtype[np.int64]]) -> int:
    return int(chunk.sum())


def measure_memory_bandwidth(
    seconds: float = 1.0, *, array_bytes: int = DEFAULT_ARRAY_BYTES
) -> float:
    """Sustained memory read bandwidth in bytes/s.

    Sums an ``array_bytes`` int64 array (far larger than the CPU caches) split
    into one slice per core, each summed on its own thread (numpy releases
    the GIL in reductions, and decoding uses every core too). Passes repeat
    for about ``seconds`` (at least three) and the best pass is returned: the
    sustained rate the memory system can deliver, as STREAM-style benchmarks
    report it. Noise on a shared machine only lowers a pass, so the best is
    the least noisy estimate.
    """
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    import numpy as np

    count = max(1, array_bytes // 8)
    data = np.ones(count, dtype=np.int64)  # written once: every page is really backed
    workers = max(1, min(os.cpu_count() or 1, 16))
    chunks = np.array_split(data, workers)
    best = 0.0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bandwidth") as pool:
        deadline = time.perf_counter() + seconds
        passes = 0
        while passes < 3 or time.perf_counter() < deadline:
            started = time.perf_counter()
            total = sum(pool.map(_sum_chunk, chunks))
            elapsed = time.perf_counter() - started
            if total != count:  # the sum is used, so no pass can be skipped
                raise RuntimeError("memory bandwidth measurement read wrong data")
            if elapsed > 0:
                best = max(best, data.nbytes / elapsed)
            passes += 1
    return best


def read_cached_bandwidth(path: Path | None = None) -> BandwidthRecord | None:
    """The cached measurement, or None if missing, unreadable or from another machine."""
    path = path or locations.bandwidth_cache_file()
    try:
        data = json.loads(path.read_text())
        record = BandwidthRecord(
            bytes_per_s=float(data["bytes_per_s"]),
            measured_at=str(data["measured_at"]),
            host=str(data["host"]),
            method=str(data.get("method", METHOD)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if record.bytes_per_s <= 0 or record.host != host_key():
        return None
    return record


def write_cached_bandwidth(bytes_per_s: float, path: Path | None = None) -> BandwidthRecord:
    """Store a measurement (atomically) and return the record written."""
    path = path or locations.bandwidth_cache_file()
    record = BandwidthRecord(
        bytes_per_s=bytes_per_s,
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        host=host_key(),
    )
    locations.ensure(path.parent)
    replace_file(path, json.dumps(asdict(record), indent=1))
    return record


def memory_bandwidth(cached: bool = True, seconds: float = 1.0) -> float:
    """Bytes/s: the cached value when ``cached`` and present, else measured (and cached)."""
    if cached:
        record = read_cached_bandwidth()
        if record is not None:
            return record.bytes_per_s
    value = measure_memory_bandwidth(seconds)
    with contextlib.suppress(OSError):
        write_cached_bandwidth(value)
    return value


def decode_ceiling_tokens_per_s(info: GGUFInfo, bandwidth: float) -> float:
    """The memory-bound decode ceiling: ``bandwidth / bytes read per token``.

    ``bandwidth`` is in bytes/s. Returns 0.0 when the model's bytes per token
    are unknown (a header without tensors).
    """
    per_token = info.bytes_per_token_read()
    if per_token <= 0 or bandwidth <= 0:
        return 0.0
    return bandwidth / per_token


def cached_ceiling_tokens_per_s(info: GGUFInfo | None) -> float | None:
    """The decode ceiling from the cached bandwidth, or None (no cache, no header).

    Never measures: the UI calls this and must not stall; ``pelican-tui
    setup`` measures once per machine.
    """
    if info is None:
        return None
    record = read_cached_bandwidth()
    if record is None:
        return None
    return decode_ceiling_tokens_per_s(info, record.bytes_per_s) or None


def format_bandwidth(bytes_per_s: float) -> str:
    """e.g. ``31.2 GB/s`` (decimal units, as memory bandwidth is usually quoted)."""
    return f"{bytes_per_s / 1e9:.1f} GB/s"
