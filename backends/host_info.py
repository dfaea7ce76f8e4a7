"""Facts about this machine and about model files, for the session record.

:func:`host_summary` describes the hardware and software a run used (CPU, RAM,
OS, Python) without naming the machine or the person: no hostname, no user
name, no paths. :func:`file_sha256_cached` hashes a model file once and
remembers the result, keyed by path, size and modification time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from pelican_tui.backends import locations
from pelican_tui.backends.atomic import replace_file

HASH_CHUNK_BYTES = 4 * 1024 * 1024
_HASH_CACHE_FORMAT = 1


def host_summary() -> dict[str, Any]:
    """CPU model, cores, total RAM, OS and Python version of this machine.

    Keys: ``cpu``, ``cpu_cores`` (physical, may be None), ``cpu_threads``,
    ``ram_total_bytes``, ``os`` (e.g. "Linux 6.1 (Debian GNU/Linux 12)"),
    ``arch``, ``python``, ``pelican_tui``. A fresh dict each call; the probing
    itself happens once per process.
    """
    return dict(_host_summary())


@functools.cache
def _host_summary() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cpu_cores": psutil.cpu_count(logical=False),
        "cpu_threads": psutil.cpu_count(logical=True),
        "ram_total_bytes": psutil.virtual_memory().total,
        "os": _os_description(),
        "arch": platform.machine() or None,
        "python": platform.python_version(),
        "pelican_tui": _own_version(),
    }


def _cpu_model() -> str | None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
                key, _, value = line.partition(":")
                # x86 says "model name"; some ARM kernels only say "Model" or "Hardware".
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    if sys.platform == "darwin":
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=2,
                check=True,
            ).stdout.strip()
            if out:
                return out
    return platform.processor() or None


def _os_description() -> str:
    system = platform.system() or sys.platform
    if system == "Linux":
        pretty = None
        with contextlib.suppress(OSError):
            pretty = platform.freedesktop_os_release().get("PRETTY_NAME")
        release = platform.release().split("-")[0]
        return f"Linux {release} ({pretty})" if pretty else f"Linux {release}"
    if system == "Darwin":
        mac = platform.mac_ver()[0]
        return f"macOS {mac}" if mac else f"Darwin {platform.release()}"
    return f"{system} {platform.release()}".strip()


def _own_version() -> str | None:
    try:
        return metadata.version("pelican-tui")
    except metadata.PackageNotFoundError:
        return None


def file_sha256_cached(
    path: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    cache_file: Path | None = None,
) -> str:
    """The hex sha256 of ``path``, computed once per (path, size, mtime_ns).

    Reads in chunks (a 20 GB GGUF never sits in memory). ``progress`` is
    called with (bytes done, total bytes) after each chunk when the hash is
    actually computed. The cache lives at
    :func:`~pelican_tui.backends.locations.hash_cache_file`; a missing or
    damaged cache is simply rebuilt. Raises ``OSError`` if the file can't be read.
    """
    path = Path(path).resolve()
    stat = path.stat()
    cache_path = cache_file or locations.hash_cache_file()
    key = str(path)
    entries = _read_hash_cache(cache_path)
    entry = entries.get(key)
    if (
        isinstance(entry, dict)
        and entry.get("size") == stat.st_size
        and entry.get("mtime_ns") == stat.st_mtime_ns
        and isinstance(entry.get("sha256"), str)
    ):
        return str(entry["sha256"])

    digest = _sha256_file(path, stat.st_size, progress)
    # Re-read just before writing so a concurrent writer's entries survive.
    entries = _read_hash_cache(cache_path)
    entries[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    entries = {k: v for k, v in entries.items() if Path(k).exists()}
    with contextlib.suppress(OSError):
        _write_json_atomically(cache_path, {"format": _HASH_CACHE_FORMAT, "entries": entries})
    return digest


def _sha256_file(path: Path, total: int, progress: Callable[[int, int], None] | None) -> str:
    sha = hashlib.sha256()
    done = 0
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            sha.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return sha.hexdigest()


def _read_hash_cache(cache_path: Path) -> dict[str, Any]:
    try:
        data = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _HASH_CACHE_FORMAT:
        return {}
    entries = data.get("entries")
    return dict(entries) if isinstance(entries, dict) else {}


def _write_json_atomically(target: Path, data: object) -> None:
    locations.ensure(target.parent)
    replace_file(target, json.dumps(data, indent=1, sort_keys=True))
