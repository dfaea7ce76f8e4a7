"""Following llama-server's ``-hf`` downloads: where they go and how far they got.

llama-server draws its download bar only on a terminal; pelican-tui reads its
output through a pipe, so it watches the ``*.downloadInProgress`` files grow
instead (:class:`DownloadWatcher`), in the folders :func:`download_folders`
names for a :class:`~.config.ServerConfig`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.resources import format_bytes

DOWNLOAD_SUFFIX = ".downloadInProgress"
"""llama.cpp writes ``<file>.downloadInProgress`` and renames it when done (common/download.cpp)."""
DOWNLOAD_POLL_S = 0.5
"""How often the folders are looked at while llama-server may be downloading."""


def llama_cache_dir(env: Mapping[str, str]) -> Path:
    """llama.cpp's own cache folder (``fs_get_cache_directory`` in common/common.cpp)."""
    if env.get("LLAMA_CACHE"):
        return Path(env["LLAMA_CACHE"])
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "llama.cpp"
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else home / ".cache"
    return base / "llama.cpp"


def hf_cache_dir(env: Mapping[str, str]) -> Path:
    """Where ``-hf`` downloads go (``get_cache_directory`` in common/hf-cache.cpp)."""
    for var, sub in (
        ("LLAMA_CACHE", ""),
        ("HF_HUB_CACHE", ""),
        ("HUGGINGFACE_HUB_CACHE", ""),
        ("HF_HOME", "hub"),
        ("XDG_CACHE_HOME", "huggingface/hub"),
    ):
        if env.get(var):
            return Path(env[var]) / sub if sub else Path(env[var])
    return Path(env.get("HOME") or Path.home()) / ".cache" / "huggingface" / "hub"


_DOWNLOAD_FLAGS = {"-mu", "--model-url", "-dr", "--docker-repo"}


def download_folders(config: ServerConfig, env: Mapping[str, str]) -> list[Path]:
    """The folders llama-server writes ``*.downloadInProgress`` files into for ``config``.

    ``-hf user/repo`` downloads into ``<hf cache>/models--user--repo/blobs/``;
    ``-mu``/``-dr`` (and llama.cpp builds from before the HF-cache layout)
    into the flat llama.cpp cache folder. Nothing to watch for a local file.
    """
    folders: list[Path] = []
    if config.model is None and config.hf:
        repo = config.hf.split(":", 1)[0]
        folders.append(hf_cache_dir(env) / ("models--" + repo.replace("/", "--")) / "blobs")
    if folders or _DOWNLOAD_FLAGS.intersection(config.extra_args):
        folders.append(llama_cache_dir(env))
    return folders


@frozen
class DownloadProgress:
    active: bool
    """Some ``*.downloadInProgress`` file is being written."""
    downloaded: int
    """Bytes of this download on disk: in-progress files plus files finished meanwhile."""
    total: int | None
    files: tuple[str, ...] = ()

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.downloaded / self.total)


class DownloadWatcher:
    """Follows llama-server's downloads by watching its in-progress files grow.

    llama-server draws its download bar only when stdout is a terminal, and
    ours is a pipe, so its log says nothing while it downloads. The file on
    disk does. Files left over from an older, abandoned download (not modified
    since ``since``, a wall-clock time) are ignored until they change.
    """

    def __init__(
        self, folders: Iterable[Path], total: int | None = None, since: float | None = None
    ) -> None:
        self._folders = tuple(folders)
        self._total = total
        self._since = time.time() if since is None else since
        self._active: dict[Path, int] = {}
        self._finished: dict[Path, int] = {}

    def poll(self) -> DownloadProgress:
        current: dict[Path, int] = {}
        for folder in self._folders:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if not entry.name.endswith(DOWNLOAD_SUFFIX):
                    continue
                path = Path(entry.path)
                try:
                    info = entry.stat()
                except OSError:
                    continue
                if path not in self._active and info.st_mtime < self._since - 1.0:
                    continue
                current[path] = info.st_size
        for path, size in self._active.items():
            if path not in current:
                final = path.with_name(path.name.removesuffix(DOWNLOAD_SUFFIX))
                with contextlib.suppress(OSError):
                    size = final.stat().st_size
                self._finished[path] = size
        self._active = current
        downloaded = sum(current.values()) + sum(self._finished.values())
        names = tuple(sorted(p.name for p in current))
        return DownloadProgress(bool(current), downloaded, self._total, names)


def download_message(progress: DownloadProgress) -> str:
    if progress.total:
        done = f"{format_bytes(progress.downloaded)} of {format_bytes(progress.total)}"
    else:
        done = f"{format_bytes(progress.downloaded)} so far"
    return f"downloading model: {done}"
