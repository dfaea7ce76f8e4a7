"""From settings to a running local model: which file, which server, will it fit.

:func:`plan_local` decides everything before anything is spawned (so the UI
and ``doctor`` can show it), and :func:`make_local_backend` turns the plan into
a backend, owning a :class:`LlamaServer` unless the plan attaches to a URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil

from . import default_model
from .gguf_info import FitVerdict, GGUFError, GGUFInfo, check_fit, estimate_memory, read_gguf_info
from .llama_server import LlamaServer, ServerConfig, StatusCallback
from .openai_backend import OpenAICompatibleBackend
from .settings import LocalSettings


@dataclass(frozen=True, slots=True)
class LocalPlan:
    """What the local side will run, decided before spawning."""

    mode: str
    """"spawn" (pelican-tui runs llama-server) or "attach" (an existing URL)."""
    label: str
    """Short name for the pane title."""
    model_path: Path | None = None
    hf: str | None = None
    url: str | None = None
    info: GGUFInfo | None = None
    info_error: str | None = None
    fit: FitVerdict | None = None
    stand_in: bool = False
    """True for the tiny default model (labelled as such on screen)."""

    @property
    def problem(self) -> str | None:
        """Why the local side cannot start, or None."""
        if self.mode == "attach":
            return None
        if self.model_path is not None and self.info_error:
            return self.info_error
        if self.fit is not None and self.fit.level == "too_big":
            return self.fit.message
        return None

    def facts(self) -> dict[str, str]:
        """Key facts for the pane header and the session record."""
        facts: dict[str, str] = {"model": self.label}
        if self.info is not None:
            info = self.info
            facts["arch"] = info.architecture
            facts["params"] = _params(info.total_params)
            if info.expert_count:
                facts["active"] = _params(info.active_params)
                facts["experts"] = f"{info.expert_used_count}/{info.expert_count}"
            facts["quant"] = info.quantization
            facts["file"] = info.path.name
            facts["size"] = f"{info.file_size / 1e9:.2f} GB"
            if info.context_length:
                facts["trained_ctx"] = str(info.context_length)
        if self.hf:
            facts["hf"] = self.hf
        if self.url:
            facts["url"] = self.url
        return facts


def _params(count: int) -> str:
    if count >= 1e9:
        return f"{count / 1e9:.1f}B"
    return f"{count / 1e6:.0f}M"


def resolve_model_path(local: LocalSettings) -> tuple[Path | None, bool]:
    """The GGUF to load and whether it is the default stand-in."""
    if local.model is not None:
        return Path(local.model).expanduser(), False
    if local.hf:
        return None, False
    return default_model.default_model_path(), True


def plan_local(local: LocalSettings) -> LocalPlan:
    if local.url:
        return LocalPlan(mode="attach", label=local.url_model or "remote model", url=local.url)
    path, stand_in = resolve_model_path(local)
    if path is None:
        return LocalPlan(mode="spawn", label=str(local.hf).split("/")[-1], hf=local.hf)
    label = default_model.LABEL if stand_in else path.name.removesuffix(".gguf")
    try:
        info = read_gguf_info(path)
    except GGUFError as error:
        return LocalPlan("spawn", label, model_path=path, info_error=str(error), stand_in=stand_in)
    estimate = estimate_memory(info, local.context)
    verdict: FitVerdict | None = check_fit(estimate, psutil.virtual_memory().available)
    if verdict is None or local.fit == "ignore":
        verdict = None
    elif local.fit == "warn" and verdict.level == "too_big":
        verdict = FitVerdict(ok=False, level="tight", message=verdict.message)
    return LocalPlan("spawn", label, model_path=path, info=info, fit=verdict, stand_in=stand_in)


def server_config(local: LocalSettings, plan: LocalPlan, binary: Path) -> ServerConfig:
    return ServerConfig(
        binary=binary,
        model=plan.model_path,
        hf=plan.hf,
        context=local.context,
        threads=local.threads,
        n_cpu_moe=local.n_cpu_moe,
        gpu_layers=local.gpu_layers,
        load_mode=local.load_mode,
        extra_args=tuple(local.extra_args),
        ready_timeout_s=local.ready_timeout_s,
    )


def make_local_backend(
    local: LocalSettings,
    plan: LocalPlan,
    binary: Path | None,
    on_status: StatusCallback | None = None,
) -> OpenAICompatibleBackend:
    """The local backend for ``plan``: a spawned server (not started yet) or a URL."""
    if plan.mode == "attach":
        return OpenAICompatibleBackend(
            base_url=plan.url,
            api_key=os.environ.get(local.url_api_key_env),
            name="local",
            model=local.url_model,
            facts=plan.facts(),
            stream_timeout_s=local.stream_timeout_s,
            api_key_env=local.url_api_key_env,
        )
    if binary is None:
        raise ValueError("a llama-server binary is needed to spawn the local model")
    server = LlamaServer(server_config(local, plan, binary), on_status=on_status)
    return OpenAICompatibleBackend(
        server=server,
        name="local",
        facts=plan.facts(),
        stream_timeout_s=local.stream_timeout_s,
    )
