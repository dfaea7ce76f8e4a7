"""Streaming chat completions from llama-server or any OpenAI-compatible server.

One class serves both the llama-server pelican-tui spawns (it then owns the
process and reports its state) and a server it attaches to by URL (a bigger
box, a remote GPU, vLLM). Thinking is toggled per request through
``chat_template_kwargs.enable_thinking``: no restart.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from .events import (
    Failed,
    Finished,
    GenerationEvent,
    LiveStats,
    Started,
    TextDelta,
    ThinkingDelta,
    Timings,
    Usage,
)
from .llama_server import LlamaServer, ServerState
from .protocol import BackendStatus, Capabilities, GenerationRequest, Sampling

# Qwen3.6 model card recommendations. Thinking on uses the "precise coding"
# row (an SVG is code); thinking off uses the non-thinking row.
QWEN_SAMPLING_THINKING = Sampling(
    temperature=0.6, top_p=0.95, top_k=20, min_p=0.0, presence_penalty=0.0
)
QWEN_SAMPLING_NO_THINKING = Sampling(
    temperature=0.7, top_p=0.8, top_k=20, min_p=0.0, presence_penalty=1.5
)

LIVE_STATS_INTERVAL_S = 0.25
RESTART_HINT = "restart the server"


def recommended_sampling(thinking: bool) -> Sampling:
    return QWEN_SAMPLING_THINKING if thinking else QWEN_SAMPLING_NO_THINKING


def _sampling_fields(sampling: Sampling) -> dict[str, Any]:
    fields = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,
        "min_p": sampling.min_p,
        "presence_penalty": sampling.presence_penalty,
    }
    return {key: value for key, value in fields.items() if value is not None}


def build_payload(request: GenerationRequest, model: str | None) -> dict[str, Any]:
    """The JSON body for ``/v1/chat/completions`` (public so tests can inspect it)."""
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": request.prompt})
    sampling = request.sampling or recommended_sampling(request.thinking)
    payload: dict[str, Any] = {
        "messages": messages,
        "stream": True,
        "max_tokens": request.max_tokens,
        "timings_per_token": True,
        "stream_options": {"include_usage": True},
        "chat_template_kwargs": {"enable_thinking": request.thinking},
        **_sampling_fields(sampling),
        **request.extra,
    }
    if model:
        payload["model"] = model
    return payload


class OpenAICompatibleBackend:
    """A model behind ``/v1/chat/completions``: spawned llama-server or a URL."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        server: LlamaServer | None = None,
        name: str = "local",
        model: str | None = None,
        facts: dict[str, str] | None = None,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self.server = server
        self._base_url = base_url
        self._api_key = api_key
        self.model = model
        self.facts = dict(facts or {})
        self.capabilities = Capabilities(
            can_cancel=True, owns_process=server is not None, supports_thinking=True
        )
        self._timeout = httpx.Timeout(connect=connect_timeout_s, read=None, write=30.0, pool=30.0)

    def __repr__(self) -> str:
        return f"OpenAICompatibleBackend(name={self.name!r}, url={self._url()!r})"

    def _url(self) -> str | None:
        if self.server is not None:
            try:
                return self.server.base_url
            except RuntimeError:
                return None
        return self._base_url

    def _headers(self) -> dict[str, str]:
        key = self.server.api_key if self.server is not None else self._api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    def status(self) -> BackendStatus:
        if self.server is None:
            return BackendStatus(True, f"attached to {self._base_url}")
        status = self.server.status
        if status.state is ServerState.READY:
            return BackendStatus(True, "ready")
        if status.state in (ServerState.CRASHED, ServerState.STOPPED):
            return BackendStatus(False, f"llama-server {status.message}", hint=RESTART_HINT)
        return BackendStatus(False, status.message)

    def describe(self) -> dict[str, str]:
        facts = dict(self.facts)
        facts.setdefault("model", self.model or "local model")
        if self._url():
            facts["url"] = str(self._url())
        return facts

    async def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        url = self._url()
        status = self.status()
        if url is None or not status.ready:
            yield Failed(f"local model not ready: {status.message}", hint=status.hint)
            return
        payload = build_payload(request, self.model)
        sent = time.monotonic()
        first_token_at: float | None = None
        thinking_chunks = 0
        answer_chunks = 0
        live_rate: float | None = None
        last_live = 0.0
        final: dict[str, Any] = {}
        usage: dict[str, Any] = {}
        finish_reason: str | None = None
        done = False
        try:
            async with (
                httpx.AsyncClient(timeout=self._timeout) as client,
                client.stream(
                    "POST",
                    f"{url}/v1/chat/completions",
                    json=payload,
                    headers=self._headers(),
                ) as response,
            ):
                if response.status_code != 200:
                    body = (await response.aread()).decode("utf-8", "replace")
                    yield _http_failure(response.status_code, body)
                    return
                yield Started(self.model or str(self.facts.get("model", "local")))
                buffer = b""
                async for raw in response.aiter_raw():
                    buffer += raw
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        if not line.startswith(b"data: "):
                            continue
                        data = line[6:].strip()
                        if data == b"[DONE]":
                            done = True
                            break
                        chunk = json.loads(data)
                        if "error" in chunk:
                            yield _error_event(chunk["error"])
                            return
                        if chunk.get("usage"):
                            usage = chunk["usage"]
                        timings = chunk.get("timings")
                        if timings:
                            final = timings
                            live_rate = timings.get("predicted_per_second") or live_rate
                        for choice in chunk.get("choices") or ():
                            delta = choice.get("delta") or {}
                            thinking = delta.get("reasoning_content")
                            text = delta.get("content")
                            if thinking:
                                thinking_chunks += 1
                                first_token_at = first_token_at or time.monotonic()
                                yield ThinkingDelta(thinking)
                            if text:
                                answer_chunks += 1
                                first_token_at = first_token_at or time.monotonic()
                                yield TextDelta(text)
                            finish_reason = choice.get("finish_reason") or finish_reason
                        now = time.monotonic()
                        if now - last_live >= LIVE_STATS_INTERVAL_S and first_token_at:
                            last_live = now
                            yield LiveStats(
                                tokens=thinking_chunks + answer_chunks,
                                tokens_per_s=live_rate,
                                thinking_tokens=thinking_chunks,
                                time_to_first_token_s=first_token_at - sent,
                            )
                    if done:
                        break
        except httpx.ConnectError as error:
            yield Failed(f"cannot reach the local server at {url}: {error}", hint=RESTART_HINT)
            return
        except (httpx.RemoteProtocolError, httpx.ReadError) as error:
            yield Failed(f"the local server stopped mid-answer ({error})", hint=RESTART_HINT)
            return
        except httpx.HTTPError as error:
            yield Failed(f"local server error: {error}", hint=RESTART_HINT)
            return
        except json.JSONDecodeError as error:
            yield Failed(f"the local server sent malformed data: {error}")
            return
        if not done and finish_reason is None:
            yield Failed("the local server closed the stream early", hint=RESTART_HINT)
            return
        ended = time.monotonic()
        generated = final.get("predicted_n") or usage.get("completion_tokens")
        yield Finished(
            timings=Timings(
                time_to_first_token_s=(first_token_at - sent) if first_token_at else None,
                prompt_tokens_per_s=final.get("prompt_per_second"),
                generation_tokens_per_s=final.get("predicted_per_second"),
                total_s=ended - sent,
                prompt_tokens=final.get("prompt_n") or usage.get("prompt_tokens"),
                generated_tokens=generated,
            ),
            usage=Usage(
                input_tokens=usage.get("prompt_tokens") or final.get("prompt_n"),
                output_tokens=generated,
                thinking_tokens=thinking_chunks,
            ),
            stop_reason=finish_reason,
        )


def _http_failure(status: int, body: str) -> Failed:
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = body[:200]
    if status == 503:
        return Failed(f"the local server is still loading ({message})", hint="wait for ready")
    if status == 401:
        return Failed("the local server rejected the API key (401)")
    return Failed(f"the local server answered {status}: {message}")


def _error_event(error: Any) -> Failed:
    if isinstance(error, dict):
        return Failed(f"the local server reported an error: {error.get('message', error)}")
    return Failed(f"the local server reported an error: {error}")
