"""Every path pelican-tui reads or writes comes from here.

Nothing is created at import: callers ask for a directory and ``ensure`` it
when they are about to write.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "pelican-tui"

CONFIG_FILE_ENV = "PELICAN_CONFIG_FILE"
"""Points at another config file (tests and alternative setups use it)."""
HOME_ENV = "PELICAN_HOME"
"""If set, config and data (sessions, state) live under this one folder."""
CACHE_ENV = "PELICAN_CACHE_DIR"
"""Overrides the cache folder (built llama-server, downloaded models, hashes).

The cache holds only things that can be rebuilt or fetched again, so tests
that isolate config and data with ``PELICAN_HOME`` still share it.
"""


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else None


# -- the three roots ---------------------------------------------------------------


def config_dir() -> Path:
    """Settings (``config.toml``): ``PELICAN_HOME/config`` or the platform config folder."""
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """What people made (sessions, UI state): ``PELICAN_HOME/data`` or the platform data folder."""
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME))


def cache_dir() -> Path:
    """What can be rebuilt or fetched again: ``PELICAN_CACHE_DIR`` or the platform cache folder."""
    override = os.environ.get(CACHE_ENV)
    return Path(override).expanduser() if override else Path(platformdirs.user_cache_dir(APP_NAME))


# -- below them: one function per file or folder -------------------------------------


def config_file() -> Path:
    """The TOML settings file (``PELICAN_CONFIG_FILE`` points at another)."""
    override = os.environ.get(CONFIG_FILE_ENV)
    return Path(override).expanduser() if override else config_dir() / "config.toml"


def prompt_sets_file() -> Path:
    """The user's prompt sets: ``prompts.toml`` in the config folder (see ``prompt_sets``)."""
    return config_dir() / "prompts.toml"


def state_file() -> Path:
    """Small UI state remembered between runs (theme, prompt history, samples, blind mode)."""
    return data_dir() / "state.json"


def sessions_db() -> Path:
    """The SQLite session store: every prompt, run and verdict."""
    return data_dir() / "sessions.sqlite3"


def error_log_file() -> Path:
    """Tracebacks of internal errors (bugs), appended, for a bug report: where
    ``pelican-tui run``'s last resort writes what it does not print."""
    return data_dir() / "errors.log"


def exports_dir() -> Path:
    """Where the TUI exports sessions (``x``), each in :func:`session_export_name`."""
    return data_dir() / "exports"


def session_export_name(session_id: int) -> str:
    """The folder a session is exported to, inside the TUI's :func:`exports_dir` or
    ``run --out``."""
    return f"session-{session_id}"


def models_dir() -> Path:
    """Models pelican-tui fetched itself (the tiny stand-in)."""
    return cache_dir() / "models"


def llama_server_cache_dir() -> Path:
    """Built llama-server binaries, one folder per llama.cpp version."""
    return cache_dir() / "llama-server"


def hash_cache_file() -> Path:
    """sha256 of model files, keyed by path, size and mtime."""
    return cache_dir() / "file-hashes.json"


def bandwidth_cache_file() -> Path:
    """This machine's measured memory read bandwidth (for the decode ceiling)."""
    return cache_dir() / "memory-bandwidth.json"


def cannot_make(path: Path) -> str | None:
    """Why the folder ``path`` could not be made or written into, or None: the nearest
    part of it that exists is a file (``PELICAN_HOME`` naming a file), or a folder
    this user cannot write. Nothing is created."""
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                return f"{part} is a file, not a folder"
            if not os.access(part, os.W_OK | os.X_OK):
                return f"{part} is not writable"
            return None
    return None


def ensure(path: Path) -> Path:
    """Create ``path`` (a directory) if needed and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path
