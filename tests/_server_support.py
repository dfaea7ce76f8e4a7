"""Shared helpers for tests that run the real llama-server on a tiny model."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pelican_tui.backends.llama import default_model
from pelican_tui.backends.llama.binary import find_server_binary


def server_binary() -> Path:
    found = find_server_binary()
    if found is None:
        pytest.fail("no llama-server: bin/test runs `pelican-tui setup` first, which builds one")
    return found.path


def tiny_model() -> Path:
    path = default_model.default_model_path()
    if not path.is_file():
        pytest.fail(
            f"default model missing at {path}: bin/test fetches it with `pelican-tui setup`"
        )
    return path


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout_s`` passes (bounded, no fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


def pid_alive(pid: int) -> bool:
    try:
        # A zombie (state Z) is dead for our purposes.
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def async_wait_until(
    predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.05
) -> bool:
    """Like :func:`wait_until`, but lets the event loop run between polls."""
    import asyncio

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval_s)
    return predicate()


def pool_requests() -> int:
    """HTTP requests alive in httpcore's connection pools, the SDK's client's and the
    backends' (each holds one from sending it until its response is closed)."""
    import gc

    gc.collect()
    return sum(type(o).__name__ in ("AsyncPoolRequest", "PoolRequest") for o in gc.get_objects())
