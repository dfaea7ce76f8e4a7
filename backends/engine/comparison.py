"""One comparison run on the engine side: its request, its record, and the run itself.

What the session store says about a run is decided here, so every caller saves
the same things: the request built from :class:`~.settings.Settings`
(:func:`local_request`, :func:`claude_request`), the settings recorded with it
(:func:`local_run_settings`, :func:`claude_run_settings`), the model identity
(:func:`local_model_info`, :func:`claude_model_info`), and :func:`execute_run`,
which streams one generation into the store:

1. the run is committed as "running" with its model identity, settings and host;
2. every event is folded into a :class:`~.run_record.RunAccumulator` and
   handed to ``on_event`` (progress display); the text so far is checkpointed
   every :data:`CHECKPOINT_EVERY_S` seconds;
3. with a :class:`~.resources.ResourceSampler`, llama-server's memory is
   sampled every :data:`RAM_SAMPLE_EVERY_S` seconds and the peak kept;
4. at the end the SVG is extracted, rendered in the sandboxed worker and the
   run committed as "finished" or "failed" with timings, usage and peak RAM.
   If the task running it is cancelled, the run is committed as "cancelled"
   with the text it had, and the cancellation goes on.

Nothing here imports Textual; the headless runner uses it, and the TUI may.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pelican_tui.backends.engine.record import RunAccumulator, RunOutcome
from pelican_tui.backends.events import Failed, GenerationEvent
from pelican_tui.backends.export.session_export import DEFAULT_PNG_SIZE
from pelican_tui.backends.llama.local_model import answer_token_limit
from pelican_tui.backends.openai_compat.backend import recommended_sampling
from pelican_tui.backends.protocol import GenerationRequest, ModelBackend
from pelican_tui.backends.store.sessions import BackendKind, FinalStatus, SessionStore, Slot
from pelican_tui.backends.svg.extract import SvgExtraction, extract_svg

if TYPE_CHECKING:  # for annotations only: importing them costs time `--help` need not pay
    from pelican_tui.backends.llama.gguf_info import GGUFInfo
    from pelican_tui.backends.llama.local_model import LocalPlan
    from pelican_tui.backends.llama.server import LlamaServer
    from pelican_tui.backends.resources import ResourceSample, ResourceSampler
    from pelican_tui.backends.settings import LocalSettings, Settings
    from pelican_tui.backends.svg.render import SvgRenderer

CHECKPOINT_EVERY_S = 2.0
"""How often the text of a running run is saved (a crash loses at most this much)."""
RAM_SAMPLE_EVERY_S = 0.5
"""How often llama-server's memory is sampled during a local run."""
PNG_SIZE = DEFAULT_PNG_SIZE
"""Pixel size of the picture stored with each run (the export's size too)."""
RENDER_TIMEOUT_S = 10.0


# --------------------------------------------------------------------------- requests


def local_request(settings: Settings, prompt: str, thinking: bool) -> GenerationRequest:
    """The request for the local model: the shared system prompt, local max tokens."""
    return GenerationRequest(
        prompt=prompt,
        thinking=thinking,
        system=settings.system_prompt,
        max_tokens=answer_token_limit(settings.local),
    )


def claude_request(settings: Settings, prompt: str, thinking: bool) -> GenerationRequest:
    """The request for Claude: the same prompt and system prompt, Claude's limits and effort."""
    return GenerationRequest(
        prompt=prompt,
        thinking=thinking,
        system=settings.system_prompt,
        max_tokens=settings.claude.max_tokens,
        effort=settings.claude.effort,
    )


def local_run_settings(request: GenerationRequest) -> dict[str, Any]:
    """The ``settings`` recorded for a local run (sampling as actually sent)."""
    sampling = request.sampling or recommended_sampling(request.thinking)
    return {
        "thinking": request.thinking,
        "sampling": asdict(sampling),
        "max_tokens": request.max_tokens,
        "system": request.system,
    }


def claude_run_settings(request: GenerationRequest) -> dict[str, Any]:
    """The ``settings`` recorded for a Claude run (effort only applies with thinking)."""
    recorded: dict[str, Any] = {"thinking": request.thinking}
    if request.thinking:
        recorded["effort"] = request.effort
    recorded["max_tokens"] = request.max_tokens
    recorded["system"] = request.system
    return recorded


# --------------------------------------------------------------------------- model identity


def gguf_facts(info: GGUFInfo) -> dict[str, Any]:
    """What a GGUF header says about the model, under the store's conventional keys."""
    facts: dict[str, Any] = {
        "arch": info.architecture,
        "total_params": info.total_params,
    }
    if info.expert_count:
        facts["active_params"] = info.active_params
        facts["experts"] = f"{info.expert_used_count}/{info.expert_count}"
    facts["quant"] = info.quantization
    if info.context_length:
        facts["trained_ctx"] = info.context_length
    return facts


def local_model_id(plan: LocalPlan, model_file: Path | None = None) -> str:
    """The GGUF file name, the ``-hf`` reference, or the attached server's model name."""
    if model_file is not None:
        return model_file.name
    if plan.model_path is not None:
        return plan.model_path.name
    if plan.hf:
        return plan.hf
    return plan.label


def local_model_info(
    plan: LocalPlan,
    local: LocalSettings,
    *,
    server: LlamaServer | None = None,
    model_file: Path | None = None,
    sha256: str | None = None,
    server_version: str | None = None,
    server_build: str | None = None,
) -> dict[str, Any]:
    """The ``model_info`` of a local run: what file, which hash, which server, how started.

    ``server_args`` come from :meth:`~.llama_server.ServerConfig.display_flags`,
    so the server's API key is never part of them.
    """
    info: dict[str, Any] = {"model": plan.label}
    if plan.stand_in:
        info["stand_in"] = True
    model_file = model_file or plan.model_path
    if model_file is not None:
        info["file"] = model_file.name
        info["path"] = str(model_file.absolute())
        with contextlib.suppress(OSError):
            info["file_size"] = model_file.stat().st_size
    if sha256 is not None:
        info["sha256"] = sha256
    if plan.info is not None:
        info.update(gguf_facts(plan.info))
    if plan.hf:
        info["hf"] = plan.hf
    if plan.url:
        info["url"] = plan.url
        if local.url_model:
            info["url_model"] = local.url_model
    if server is not None:
        info["context"] = server.config.context
        if server_version is not None:
            info["server_version"] = server_version
        if server_build is not None:
            info["server_build"] = server_build
        info["server_args"] = server.config.display_flags()
        load = server.status.load_seconds
        if load is not None:
            info["server_load_s"] = round(load, 3)
    return info


def claude_model_info(model: str, request: GenerationRequest) -> dict[str, Any]:
    """The ``model_info`` of a Claude run: the model id, how it was asked to think, the SDK."""
    info: dict[str, Any] = {
        "model": model,
        "provider": "Anthropic Messages API",
        "thinking": "adaptive, summarized" if request.thinking else "off",
    }
    with contextlib.suppress(metadata.PackageNotFoundError):
        info["sdk"] = f"anthropic {metadata.version('anthropic')}"
    return info


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One generation to run and record."""

    slot: Slot
    kind: BackendKind
    backend: ModelBackend
    request: GenerationRequest
    model_id: str
    model_info: Mapping[str, Any]
    settings: Mapping[str, Any]
    label: str = ""
    """Short name for progress lines ("local", "claude")."""
    sampler: ResourceSampler | None = None
    """Set for a spawned llama-server: its memory is sampled during the run."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """How one run ended, as recorded in the store."""

    run_id: int
    spec: RunSpec
    outcome: RunOutcome
    failure_reason: str | None
    thinking_chars: int
    answer_chars: int
    timings: dict[str, Any]
    usage: dict[str, Any]
    peak_ram: dict[str, Any]
    svg_found: bool
    svg_note: str | None
    png: bool
    render_problem: str | None = None


EventCallback = Callable[[RunSpec, RunAccumulator, GenerationEvent], None]


@dataclass
class PeakRam:
    """The largest memory figures seen while a run streamed."""

    server_rss_bytes: int = 0
    server_model_mapped_bytes: int = 0
    server_bytes: int = 0
    """RSS plus resident model-file pages, at the same instant."""
    app_rss_bytes: int = 0
    samples: int = field(default=0)

    def add(self, sample: ResourceSample) -> None:
        self.samples += 1
        rss = sample.server_rss or 0
        mapped = sample.server_model_mapped or 0
        self.server_rss_bytes = max(self.server_rss_bytes, rss)
        self.server_model_mapped_bytes = max(self.server_model_mapped_bytes, mapped)
        self.server_bytes = max(self.server_bytes, rss + mapped)
        self.app_rss_bytes = max(self.app_rss_bytes, sample.own_rss)

    def record(self) -> dict[str, Any]:
        if not self.samples:
            return {}
        out: dict[str, Any] = {"app_rss_bytes": self.app_rss_bytes}
        if self.server_rss_bytes:
            out["server_rss_bytes"] = self.server_rss_bytes
            out["server_model_mapped_bytes"] = self.server_model_mapped_bytes
            out["server_bytes"] = self.server_bytes
        return out


async def _sample_memory(sampler: ResourceSampler, peak: PeakRam) -> None:
    while True:
        peak.add(await asyncio.to_thread(sampler.sample))
        await asyncio.sleep(RAM_SAMPLE_EVERY_S)


async def _render(renderer: SvgRenderer | None, svg: str) -> tuple[bytes | None, str | None]:
    if renderer is None:
        return None, None
    try:
        result = await renderer.render(svg, PNG_SIZE[0], PNG_SIZE[1], timeout_s=RENDER_TIMEOUT_S)
    except Exception as error:  # a picture must never cost the run its record
        return None, f"could not render: {error}"
    return (result.png, None) if result.ok else (None, result.reason)


async def execute_run(
    store: SessionStore,
    session_id: int,
    spec: RunSpec,
    *,
    host: Mapping[str, Any],
    renderer: SvgRenderer | None = None,
    on_event: EventCallback | None = None,
) -> RunResult:
    """Run ``spec`` and record it in ``store`` under ``session_id`` (see the module doc).

    Returns how the run ended; backend failures are a "failed" result, not an
    exception. Store errors (:class:`~.session_store.SessionStoreError`) propagate.
    Cancelling the calling task records the run as "cancelled" and re-raises.
    """
    run_id = await asyncio.to_thread(
        store.start_run,
        session_id,
        spec.slot,
        spec.kind,
        spec.model_id,
        dict(spec.model_info),
        dict(spec.settings),
        dict(host),
    )
    acc = RunAccumulator()
    peak = PeakRam()
    sampling: asyncio.Task[None] | None = None
    if spec.sampler is not None:
        sampling = asyncio.create_task(_sample_memory(spec.sampler, peak), name="sample memory")
    last_checkpoint = time.monotonic()
    try:
        try:
            async for event in spec.backend.generate(spec.request):
                acc.feed(event)
                if on_event is not None:
                    on_event(spec, acc, event)
                now = time.monotonic()
                if now - last_checkpoint >= CHECKPOINT_EVERY_S:
                    last_checkpoint = now
                    await asyncio.to_thread(
                        store.update_run_progress, run_id, acc.thinking_text, acc.answer_text
                    )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a backend must end with Failed; record it if it did not
            acc.feed(Failed(f"the {spec.label or spec.kind} run stopped: {error}"))
    except asyncio.CancelledError:
        acc.cancel()
        await _stop_sampling(sampling)
        with contextlib.suppress(Exception):
            await asyncio.shield(
                asyncio.to_thread(
                    store.finish_run,
                    run_id,
                    status="cancelled",
                    thinking_text=acc.thinking_text,
                    answer=acc.answer_text,
                    failure_reason="cancelled",
                    timings=acc.timings(),
                    usage=acc.usage(),
                    peak_ram=peak.record(),
                )
            )
        raise
    await _stop_sampling(sampling)
    if acc.outcome == "running":  # a backend that ended without saying how
        acc.feed(Failed("the stream ended without a result"))
        if on_event is not None and acc.failed is not None:
            on_event(spec, acc, acc.failed)

    extraction: SvgExtraction = extract_svg(acc.answer_text)
    png: bytes | None = None
    render_problem: str | None = None
    if extraction.svg is not None:
        png, render_problem = await _render(renderer, extraction.svg)
    svg_note = extraction.note
    if render_problem:
        svg_note = f"{svg_note}; {render_problem}"
    outcome = acc.outcome
    status: FinalStatus = (
        "finished" if outcome == "finished" else "cancelled" if outcome == "cancelled" else "failed"
    )
    failure = acc.failed.reason if acc.failed is not None else None
    timings, usage, peak_ram = acc.timings(), acc.usage(), peak.record()
    await asyncio.shield(
        asyncio.to_thread(
            store.finish_run,
            run_id,
            status=status,
            thinking_text=acc.thinking_text,
            answer=acc.answer_text,
            svg=extraction.svg,
            svg_note=svg_note,
            png=png,
            failure_reason=failure,
            timings=timings,
            usage=usage,
            peak_ram=peak_ram,
        )
    )
    return RunResult(
        run_id=run_id,
        spec=spec,
        outcome=outcome,
        failure_reason=failure,
        thinking_chars=len(acc.thinking_text),
        answer_chars=len(acc.answer_text),
        timings=timings,
        usage=usage,
        peak_ram=peak_ram,
        svg_found=extraction.svg is not None,
        svg_note=svg_note,
        png=png is not None,
        render_problem=render_problem,
    )


async def _stop_sampling(task: asyncio.Task[None] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = [
    "CHECKPOINT_EVERY_S",
    "PNG_SIZE",
    "RAM_SAMPLE_EVERY_S",
    "EventCallback",
    "PeakRam",
    "RunResult",
    "RunSpec",
    "claude_model_info",
    "claude_request",
    "claude_run_settings",
    "execute_run",
    "gguf_facts",
    "local_model_id",
    "local_model_info",
    "local_request",
    "local_run_settings",
]
