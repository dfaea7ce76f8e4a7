"""Streaming chat completions from llama-server or any OpenAI-compatible server.

One class serves both the llama-server pelican-tui spawns (it then owns the
process and reports its state) and a server it attaches to by URL (a bigger
box, a remote GPU, vLLM). Thinking is toggled per request through
``chat_template_kwargs.enable_thinking``: no restart.

An attached server is checked with :meth:`OpenAICompatibleBackend.probe`
(``/v1/models`` for reachability and the model to name, ``/props`` to tell
llama.cpp from anything else). llama.cpp-only request fields
(:data:`LLAMA_CPP_ONLY_FIELDS`) are sent only to llama.cpp, so a strict server
that rejects unknown fields still works; and a stream that goes silent for
``stream_timeout_s`` ends in :class:`~.events.Failed` instead of hanging.
"""

from __future__ import annotations

import functools
import json
import os
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx

from pelican_tui.backends.events import (
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
from pelican_tui.backends.llama.server import LlamaServer, ServerState
from pelican_tui.backends.protocol import BackendStatus, Capabilities, GenerationRequest, Sampling

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
DEFAULT_STREAM_TIMEOUT_S = 120.0
"""Seconds without a byte from the server before a generation is abandoned."""
CHECK_TIMEOUT_S = 10.0
"""Bound on each request :func:`check_server` makes."""

LLAMA_CPP_ONLY_FIELDS = ("top_k", "min_p", "timings_per_token", "chat_template_kwargs")
"""Request fields only llama.cpp understands; strict OpenAI-compatible servers answer 400."""


def normalize_base_url(url: str) -> str:
    """The server root for a URL a person typed.

    Whitespace, trailing slashes and one trailing ``/v1`` are removed (and
    ``http://`` is added when there is no scheme), so ``host:8080``,
    ``http://host:8080/``, ``http://host:8080/v1`` and ``http://host:8080/v1/``
    all give ``http://host:8080``; requests then go to ``<root>/v1/...``.
    """
    root = url.strip().rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")].rstrip("/")
    if root and "://" not in root:
        root = f"http://{root}"
    return root


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


def build_payload(
    request: GenerationRequest, model: str | None, *, llama_cpp: bool = True
) -> dict[str, Any]:
    """The JSON body for ``/v1/chat/completions`` (public so tests can inspect it).

    With ``llama_cpp=False`` the :data:`LLAMA_CPP_ONLY_FIELDS` are left out:
    only standard OpenAI fields (plus whatever ``request.extra`` adds) are sent.
    """
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
    }
    if not llama_cpp:
        for key in LLAMA_CPP_ONLY_FIELDS:
            payload.pop(key, None)
    payload.update(request.extra)
    if model:
        payload["model"] = model
    return payload


@dataclass(frozen=True, slots=True)
class ServerCheck:
    """What contacting an OpenAI-compatible server found (see :func:`check_server`)."""

    url: str
    reachable: bool
    """Something answered HTTP at the URL."""
    ready: bool
    """It can take a chat request now."""
    message: str
    """One line for a person (status bar, doctor)."""
    hint: str | None = None
    """The next step when not ready."""
    models: tuple[str, ...] = ()
    """Model ids from ``/v1/models``, in the server's order."""
    llama_cpp: bool = False
    """``/props`` answered like llama-server: llama.cpp-only fields may be sent."""
    build: str | None = None
    """llama.cpp's ``build_info``, when it is llama.cpp."""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client this process makes.

    httpx builds a new one per client by default, loading the system's CA
    certificates each time (~25 ms of CPU): once per generation, that was a
    visible share of what a run cost the UI.
    """
    return httpx.create_ssl_context()


def _auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _error_text(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _model_ids(listing: Any) -> tuple[tuple[str, ...], bool]:
    """(model ids, whether an entry says llama.cpp owns it) from a ``/v1/models`` body."""
    data = listing.get("data") if isinstance(listing, dict) else None
    ids: list[str] = []
    llama = False
    for entry in data if isinstance(data, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            ids.append(entry["id"])
            llama |= entry.get("owned_by") == "llamacpp"
    return tuple(ids), llama


async def check_server(
    url: str,
    api_key: str | None = None,
    *,
    model: str | None = None,
    api_key_env: str | None = None,
    timeout_s: float = CHECK_TIMEOUT_S,
) -> ServerCheck:
    """Contact the server at ``url``: is it there, ready, llama.cpp, and what does it serve?

    ``GET /v1/models`` decides reachability, readiness and the model list;
    ``GET /props`` (llama-server's) decides whether it is llama.cpp. Never raises.
    """
    root = normalize_base_url(url)
    headers = _auth(api_key)
    key_hint = f"set {api_key_env} to the server's API key" if api_key_env else "check the API key"
    try:
        async with httpx.AsyncClient(timeout=timeout_s, verify=tls_context()) as client:
            listing = await client.get(f"{root}/v1/models", headers=headers)
            props_body: Any = None
            if listing.status_code == 200 or listing.status_code == 404:
                try:
                    props = await client.get(f"{root}/props", headers=headers)
                except httpx.HTTPError:
                    props = None
                if props is not None and props.status_code == 200:
                    props_body = _json_or_none(props)
    except httpx.HTTPError as error:
        return ServerCheck(
            url,
            reachable=False,
            ready=False,
            message=f"cannot reach {url}: {_error_text(error)}",
            hint=f"start the server at {url}, or change local.url",
        )
    code = listing.status_code
    if code in (401, 403):
        return ServerCheck(
            url,
            True,
            False,
            f"{url} refused the request ({code}): wrong or missing API key",
            hint=key_hint,
        )
    if code == 503:
        return ServerCheck(
            url,
            True,
            False,
            f"{url} is still loading its model (503)",
            hint="wait until it has loaded, then run again",
        )
    llama_cpp = isinstance(props_body, dict) and (
        "default_generation_settings" in props_body or "build_info" in props_body
    )
    build = props_body.get("build_info") if llama_cpp and isinstance(props_body, dict) else None
    models: tuple[str, ...] = ()
    if code == 200:
        models, owned_by_llama = _model_ids(_json_or_none(listing))
        llama_cpp |= owned_by_llama
    elif code != 404:
        return ServerCheck(
            url,
            True,
            False,
            f"{url} answered {code} to GET /v1/models",
            hint="check that local.url points at an OpenAI-compatible server",
        )
    kind = "llama.cpp" if llama_cpp else "OpenAI-compatible"
    chosen = model or (models[0] if models else None)
    if chosen is None and not llama_cpp:
        return ServerCheck(
            url,
            True,
            False,
            f"{url} lists no models at /v1/models",
            hint="set local.url_model to the model name the server expects",
            llama_cpp=llama_cpp,
        )
    message = f"attached to {url} ({kind}"
    message += f", model {short_model_name(chosen)})" if chosen else ")"
    if model and models and model not in models:
        message += f"; {model!r} is not in its list ({', '.join(models[:5])})"
    return ServerCheck(
        url,
        True,
        True,
        message,
        models=models,
        llama_cpp=llama_cpp,
        build=build if isinstance(build, str) else None,
    )


def short_model_name(model: str) -> str:
    """A model id for people: llama-server names its model by its file path."""
    return model.rsplit("/", 1)[-1] if model.endswith(".gguf") else model


class _SSEDecoder:
    """Server-sent events to their ``data`` payloads (bytes), incrementally.

    ``data:`` with or without the space, CRLF or LF, comments and other fields
    ignored; an event ends at a blank line. A server that forgets the blank
    line between two complete JSON events still works.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, raw: bytes) -> list[bytes]:
        self._buffer += raw
        events: list[bytes] = []
        while (index := self._buffer.find(b"\n")) >= 0:
            line = self._buffer[:index].rstrip(b"\r")
            self._buffer = self._buffer[index + 1 :]
            self._line(line, events)
        return events

    def close(self) -> list[bytes]:
        """The events still pending when the body ended."""
        events: list[bytes] = []
        if self._buffer:
            self._line(self._buffer.rstrip(b"\r"), events)
            self._buffer = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[bytes]) -> None:
        if not line:
            if self._data:
                events.append(b"\n".join(self._data))
                self._data = []
            return
        if line.startswith(b":"):
            return
        name, _, value = line.partition(b":")
        if name != b"data":
            return
        value = value[1:] if value.startswith(b" ") else value
        if self._data and _complete(b"\n".join(self._data)):
            events.append(b"\n".join(self._data))
            self._data = []
        self._data.append(value)


def _complete(data: bytes) -> bool:
    if data.strip() == b"[DONE]":
        return True
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


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
        stream_timeout_s: float | None = DEFAULT_STREAM_TIMEOUT_S,
        api_key_env: str | None = None,
    ) -> None:
        self.name = name
        self.server = server
        self._base_url = normalize_base_url(base_url) if base_url else None
        self._display_url = base_url.strip() if base_url else None
        self._api_key = api_key
        self._api_key_env = api_key_env
        self._configured_model = model
        self.model = model
        """The model id sent as ``model`` (an attached server's first listed one if unset)."""
        self.facts = dict(facts or {})
        self.check: ServerCheck | None = None
        """What the last :meth:`probe` of an attached server found (None: not yet)."""
        self.llama_cpp = server is not None
        """Whether llama.cpp-only fields are sent (spawned: always; attached: after a probe)."""
        self.stream_timeout_s = stream_timeout_s
        self.capabilities = Capabilities(
            can_cancel=True, owns_process=server is not None, supports_thinking=True
        )
        self._timeout = httpx.Timeout(
            connect=connect_timeout_s, read=stream_timeout_s, write=30.0, pool=30.0
        )

    @classmethod
    def attached(
        cls,
        url: str,
        *,
        name: str,
        model: str | None,
        api_key_env: str,
        facts: dict[str, str],
        stream_timeout_s: float | None,
    ) -> OpenAICompatibleBackend:
        """A server someone else runs; its key is read from ``api_key_env`` (never a setting)."""
        return cls(
            base_url=url,
            api_key=os.environ.get(api_key_env),
            api_key_env=api_key_env,
            name=name,
            model=model,
            facts=facts,
            stream_timeout_s=stream_timeout_s,
        )

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
        return _auth(key)

    def status(self) -> BackendStatus:
        if self.server is None:
            if self.check is None:
                return BackendStatus(True, f"attached to {self._display_url} (not checked yet)")
            return BackendStatus(self.check.ready, self.check.message, hint=self.check.hint)
        status = self.server.status
        if status.state is ServerState.READY:
            return BackendStatus(True, "ready")
        if status.state in (ServerState.CRASHED, ServerState.STOPPED):
            return BackendStatus(False, f"llama-server {status.message}", hint=RESTART_HINT)
        return BackendStatus(False, status.message)

    async def probe(self) -> BackendStatus:
        """Contact the server now and return the status that results.

        For an attached server this is :func:`check_server`: it fills
        :attr:`check`, picks the model to name (the first listed, unless one
        was configured), decides whether llama.cpp-only fields are sent and
        whether thinking can be toggled. A spawned server's state is already
        known, so its status is returned as is. Safe to call from a worker.
        """
        if self.server is not None:
            return self.status()
        check = await check_server(
            self._display_url or "",
            self._api_key,
            model=self._configured_model,
            api_key_env=self._api_key_env,
        )
        self.check = check
        if check.ready:
            self.llama_cpp = check.llama_cpp
            if self._configured_model is None:
                self.model = check.models[0] if check.models else None
            self.capabilities = replace(self.capabilities, supports_thinking=check.llama_cpp)
        return self.status()

    def _lost(self, message: str, hint: str) -> None:
        """Record that an attached server stopped answering, so :meth:`status` says so."""
        if self.server is None:
            base = self.check or ServerCheck(self._display_url or "", False, False, message)
            self.check = replace(base, reachable=False, ready=False, message=message, hint=hint)

    def describe(self) -> dict[str, str]:
        facts = dict(self.facts)
        facts.setdefault("model", self.model or "local model")
        if self.server is None and self.model:
            facts["served_model"] = self.model
        if self._url():
            facts["url"] = str(self._url())
        return facts

    async def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        if self.server is None and (self.check is None or not self.check.ready):
            await self.probe()
        url = self._url()
        status = self.status()
        if url is None or not status.ready:
            yield Failed(f"local model not ready: {status.message}", hint=status.hint)
            return
        attached = self.server is None
        lost_hint = f"check the server at {self._display_url}" if attached else RESTART_HINT
        payload = build_payload(request, self.model, llama_cpp=self.llama_cpp)
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
                httpx.AsyncClient(timeout=self._timeout, verify=tls_context()) as client,
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
                decoder = _SSEDecoder()
                stream = response.aiter_raw()
                while not done:
                    raw = await anext(stream, None)
                    events = decoder.feed(raw) if raw is not None else decoder.close()
                    for data in events:
                        if data.strip() == b"[DONE]":
                            done = True
                            break
                        chunk = json.loads(data)
                        if not isinstance(chunk, dict):
                            continue
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
                            chunks = thinking_chunks + answer_chunks
                            yield LiveStats(
                                tokens=chunks,
                                tokens_per_s=live_rate or _rate(chunks - 1, now - first_token_at),
                                thinking_tokens=thinking_chunks,
                                time_to_first_token_s=first_token_at - sent,
                            )
                    if raw is None:
                        break
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            message = f"cannot reach the local server at {url}: {_error_text(error)}"
            self._lost(message, lost_hint)
            yield Failed(message, hint=lost_hint)
            return
        except httpx.TimeoutException:
            limit = f"{self.stream_timeout_s:g} s" if self.stream_timeout_s else "too long"
            yield Failed(
                f"the local server sent nothing for {limit}; gave up (local.stream_timeout_s)",
                hint=lost_hint,
            )
            return
        except (httpx.RemoteProtocolError, httpx.ReadError) as error:
            yield Failed(f"the local server stopped mid-answer ({error})", hint=lost_hint)
            return
        except httpx.HTTPError as error:
            yield Failed(f"local server error: {_error_text(error)}", hint=lost_hint)
            return
        except ValueError as error:  # json.JSONDecodeError, non-UTF-8 data
            yield Failed(f"the local server sent malformed data: {error}")
            return
        if not done and finish_reason is None:
            yield Failed("the local server closed the stream early", hint=lost_hint)
            return
        ended = time.monotonic()
        generated = final.get("predicted_n") or usage.get("completion_tokens")
        decode_rate = final.get("predicted_per_second")
        if decode_rate is None and generated and first_token_at is not None:
            decode_rate = _rate(generated - 1, ended - first_token_at)
        yield Finished(
            timings=Timings(
                time_to_first_token_s=(first_token_at - sent) if first_token_at else None,
                prompt_tokens_per_s=final.get("prompt_per_second"),
                generation_tokens_per_s=decode_rate,
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


def _rate(count: int, seconds: float) -> float | None:
    """Tokens per second measured here, for servers that send no timings."""
    return count / seconds if count > 0 and seconds > 0 else None


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
