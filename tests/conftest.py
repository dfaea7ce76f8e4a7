"""Shared test setup: every test runs with its own config and data folders.

The cache (built llama-server, downloaded models) is shared with the user's
real cache on purpose: it only holds things that can be rebuilt.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pelican_tui.backends.llama.process import LlamaServer


@pytest.fixture(autouse=True, scope="session")
def _shared_cache_facts_kept() -> Iterator[None]:
    """The shared cache's measured facts are the machine's, not a test's: a test that
    wrote a made-up memory bandwidth there (8 GB/s) showed every later app a decode
    ceiling below the rate it ran at ("128% of 83 max")."""
    from pelican_tui.backends import locations

    facts = locations.bandwidth_cache_file()
    before = facts.read_bytes() if facts.exists() else None
    yield
    if before is not None:
        assert facts.exists() and facts.read_bytes() == before, f"a test changed {facts}"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "pelican-home"
    monkeypatch.setenv("PELICAN_HOME", str(home))
    monkeypatch.setenv("PELICAN_CONFIG_FILE", str(home / "config.toml"))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)  # set, the commands fold their lines to it
    # GNU readline, once imported (pdb imports it), sets COLUMNS in the process's own
    # environment, which os.environ does not show: the commands a test starts saw it.
    os.unsetenv("COLUMNS")
    for name in list(__import__("os").environ):
        if name.startswith("PELICAN_") and name not in (
            "PELICAN_HOME",
            "PELICAN_CONFIG_FILE",
            "PELICAN_CACHE_DIR",
        ):
            monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
async def llama() -> AsyncIterator[LlamaServer]:
    """A real llama-server on the tiny model (1024 context), stopped afterwards."""
    from _server_support import server_binary, tiny_model

    from pelican_tui.backends.llama.config import ServerConfig
    from pelican_tui.backends.llama.process import LlamaServer

    server = LlamaServer(ServerConfig(binary=server_binary(), model=tiny_model(), context=1024))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
