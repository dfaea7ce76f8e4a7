"""Shared test setup: every test runs with its own config and data folders.

The cache (built llama-server, downloaded models) is shared with the user's
real cache on purpose: it only holds things that can be rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "pelican-home"
    monkeypatch.setenv("PELICAN_HOME", str(home))
    monkeypatch.setenv("PELICAN_CONFIG_FILE", str(home / "config.toml"))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("PELICAN_") and name not in (
            "PELICAN_HOME",
            "PELICAN_CONFIG_FILE",
            "PELICAN_CACHE_DIR",
        ):
            monkeypatch.delenv(name, raising=False)
    yield home
