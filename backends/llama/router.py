"""Several local models from one folder, served by llama-server's router mode.

With ``local.models_dir`` set, pelican-tui spawns one llama-server with
``--models-dir DIR`` and no model. That process is a *router*: it lists the
folder's models on ``GET /models`` (id = the file name without ``.gguf``, or
a sub-folder's name; each with ``status.value`` ``unloaded`` / ``loading`` /
``loaded``, and ``"failed": true`` plus ``exit_code`` when a load failed),
spawns one child llama-server per model on demand (a request's ``model``
field, or ``POST /models/load {"model": ID}``), and forwards requests to it.
The router's own flags (``-c``, ``-t``, ``--metrics``…) are passed on to
every child. When ``--models-max`` models are loaded, loading another first
unloads the least recently used one and waits until it has exited, so
``--models-max 1`` never has two models in memory. Checked on build 11434:
``/health`` answers at once (no model is loaded at start), ``/models`` and
``/v1/models`` need the API key, and a child gets the router's environment
(so the same ``LLAMA_API_KEY``) and dies with it.

This module decides everything before spawning, as :mod:`.local_model` does
for one model: which files the router will list and under which names, each
file's header facts, each one's memory estimate (:func:`.gguf_info.estimate_memory`),
and from those how many may stay loaded together (:attr:`RouterPlan.models_max`).
:func:`ensure_loaded` loads a model before a run, so its load time is not
counted in the run's time to first token.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import psutil

from pelican_tui.backends.clients import server_client
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama.gguf_info import (
    GGUFError,
    GGUFInfo,
    estimate_memory,
    format_gib,
    read_gguf_info,
)
from pelican_tui.backends.llama.local_model import LocalPlan, fit_verdict, is_stand_in
from pelican_tui.backends.settings import LocalSettings

_COMPANION = ("mmproj",)
"""Files the router skips as models of their own (vision projectors)."""
_DRAFT_PREFIXES = ("mtp-", "dspark-", "dflash-")
_FIRST_SHARD = "-00001-of-"
LOAD_POLL_S = 0.1


@frozen
class FolderModel:
    """One model the router will list."""

    name: str
    """The router's id for it: the file name without ``.gguf`` (a sub-folder's name)."""
    path: Path
    info: GGUFInfo | None = None
    info_error: str | None = None
    estimate_bytes: int | None = None
    """Weights + KV cache + overhead at ``local.context`` (None: header not read)."""

    def local_plan(self, local: LocalSettings, available: int | None) -> LocalPlan:
        """This model as a one-model plan (the facts a :class:`LocalPlan` carries)."""
        stand_in = is_stand_in(self.path)
        fit = None
        if self.info is not None and available is not None:
            fit = fit_verdict(self.info, local, available)
        return LocalPlan(
            "spawn",
            self.name,
            model_path=self.path,
            info=self.info,
            info_error=self.info_error,
            fit=fit,
            stand_in=stand_in,
        )


@frozen
class RouterPlan:
    """What the router will serve, decided before spawning."""

    folder: Path
    models: tuple[FolderModel, ...]
    available_bytes: int | None = None
    """Memory available when planned (None: headers not read yet)."""
    problem: str | None = None
    """Why no model can be served (no folder, no GGUF in it)."""
    header_pending: bool = False

    def model(self, name: str) -> FolderModel | None:
        return next((m for m in self.models if m.name == name), None)

    @property
    def models_max(self) -> int:
        """``--models-max``: how many may be loaded at once so that any of them fit
        together (the largest estimates first); 1 when that is unknown."""
        sizes = sorted((m.estimate_bytes for m in self.models), key=lambda s: -(s or 0))
        if self.available_bytes is None or not sizes or any(s is None for s in sizes):
            return 1
        total, count = 0, 0
        for size in sizes:
            total += size or 0
            if total > self.available_bytes:
                break
            count += 1
        return max(1, count)

    def fit_together(self, first: str, second: str) -> bool | None:
        """Whether both models fit in memory at once (None: not known)."""
        a, b = self.model(first), self.model(second)
        if a is None or b is None or self.available_bytes is None:
            return None
        if a.estimate_bytes is None or b.estimate_bytes is None:
            return None
        return a.estimate_bytes + b.estimate_bytes <= self.available_bytes

    def turn_reason(self, first: str, second: str) -> str:
        """Why two models on this router run one after the other, for a pane."""
        fits = self.fit_together(first, second)
        if fits is False:
            a, b = self.model(first), self.model(second)
            assert a is not None and b is not None and self.available_bytes is not None
            need = (a.estimate_bytes or 0) + (b.estimate_bytes or 0)
            return (
                "one llama-server, in turn: both models do not fit in memory together "
                f"({format_gib(need)} GiB, {format_gib(self.available_bytes)} GiB available)"
            )
        if fits and self.models_max >= 2:
            return "one llama-server, in turn (both models stay loaded)"
        return "one llama-server, in turn"


def _is_model_file(name: str) -> bool:
    return (
        name.endswith(".gguf")
        and not any(word in name for word in _COMPANION)
        and not name.startswith(_DRAFT_PREFIXES)
    )


def folder_model_files(folder: Path) -> list[tuple[str, Path]]:
    """The (router id, file) pairs llama-server's ``--models-dir`` scan finds.

    As llama.cpp's ``load_from_models_dir``: every ``*.gguf`` directly in the
    folder except vision projectors (``mmproj``) and draft models, named by
    the file name without ``.gguf``; and each sub-folder holding a model,
    named by the sub-folder (its first shard, else its one GGUF).
    """
    found: list[tuple[str, Path]] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            files = sorted(p for p in entry.iterdir() if p.is_file() and _is_model_file(p.name))
            first = [p for p in files if _FIRST_SHARD in p.name]
            if files:
                found.append((entry.name, first[0] if first else files[-1]))
        elif entry.is_file() and _is_model_file(entry.name):
            found.append((entry.name.replace(".gguf", ""), entry))
    return found


def plan_router(local: LocalSettings, *, read_header: bool = True) -> RouterPlan:
    """What ``llama-server --models-dir local.models_dir`` will serve, with each
    model's header facts and memory estimate at ``local.context``."""
    assert local.models_dir is not None
    folder = Path(local.models_dir).expanduser()
    if not folder.is_dir():
        return RouterPlan(folder, (), problem=f"local.models_dir is not a folder: {folder}")
    try:
        files = folder_model_files(folder)
    except OSError as error:
        return RouterPlan(folder, (), problem=f"cannot read {folder}: {error}")
    if not files:
        return RouterPlan(folder, (), problem=f"no GGUF model in local.models_dir ({folder})")
    if not read_header:
        models = tuple(FolderModel(name, path) for name, path in files)
        return RouterPlan(folder, models, header_pending=True)
    out: list[FolderModel] = []
    for name, path in files:
        try:
            info = read_gguf_info(path)
        except GGUFError as error:
            out.append(FolderModel(name, path, info_error=str(error)))
            continue
        estimate = estimate_memory(info, local.context).total_bytes
        out.append(FolderModel(name, path, info=info, estimate_bytes=estimate))
    return RouterPlan(folder, tuple(out), available_bytes=available_memory())


def available_memory() -> int:
    """Bytes of memory available now (psutil's ``available``)."""
    return int(psutil.virtual_memory().available)


# --------------------------------------------------------------------------- the router


class RouterLoadError(Exception):
    """The router could not load a model; the message is one line for a person."""


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


async def router_models(base_url: str, api_key: str) -> dict[str, dict[str, Any]]:
    """``GET /models``: each model's entry by id (``status``, ``source``…)."""
    async with server_client(base_url, timeout=5.0) as client:
        response = await client.get(f"{base_url}/models", headers=_headers(api_key))
    response.raise_for_status()
    data = response.json().get("data", [])
    return {str(entry.get("id")): entry for entry in data if isinstance(entry, dict)}


def model_state(entry: dict[str, Any] | None) -> str:
    """``loaded``, ``loading``, ``unloaded``, ``failed`` or ``missing``."""
    if entry is None:
        return "missing"
    status = entry.get("status") or {}
    if status.get("failed"):
        return "failed"
    return str(status.get("value", "unknown"))


async def ensure_loaded(base_url: str, api_key: str, name: str, timeout_s: float) -> float:
    """Have the router load ``name`` (unloading another if ``--models-max`` says so)
    and wait until it is loaded. Returns the seconds it took (0 when already loaded).
    The whole wait, the router's answers included, has ``timeout_s`` seconds.
    Raises :class:`RouterLoadError`."""
    import httpx

    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            state = model_state((await router_models(base_url, api_key)).get(name))
            if state == "loaded":
                return 0.0
            if state == "missing":
                raise RouterLoadError(f"llama-server's router does not list the model {name!r}")
            if state != "loading":
                async with server_client(base_url, timeout=10.0) as client:
                    response = await client.post(
                        f"{base_url}/models/load", json={"model": name}, headers=_headers(api_key)
                    )
                if response.status_code != 200 and "already" not in response.text:
                    raise RouterLoadError(
                        f"llama-server's router refused to load {name!r}: "
                        f"HTTP {response.status_code} {response.text[:200]}"
                    )
            while True:
                await asyncio.sleep(LOAD_POLL_S)
                entry = (await router_models(base_url, api_key)).get(name)
                state = model_state(entry)
                if state == "loaded":
                    return time.monotonic() - started
                if state in ("failed", "missing") or (state == "unloaded" and entry is not None):
                    code = (entry or {}).get("status", {}).get("exit_code")
                    why = f" (exit {code})" if code is not None else ""
                    raise RouterLoadError(f"llama-server could not load {name!r}{why}; see its log")
    except TimeoutError:
        # The router's answers count too: checked between polls only, each poll could
        # wait 5 s more (the load request 10 s), and "not loaded after 1 s" came at 6.
        raise RouterLoadError(f"{name!r} not loaded after {timeout_s:.0f} s") from None
    except (httpx.HTTPError, ValueError) as error:
        raise RouterLoadError(f"llama-server's router did not answer: {error}") from error


__all__ = [
    "FolderModel",
    "RouterLoadError",
    "RouterPlan",
    "available_memory",
    "ensure_loaded",
    "folder_model_files",
    "model_state",
    "plan_router",
    "router_models",
]
