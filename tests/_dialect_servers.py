"""Loopback servers that speak Ollama's, LM Studio's and vLLM's dialects as documented.

No real Ollama or LM Studio can run here, so these implement what their
documentation and issue threads say, including the known failures:

- :class:`OllamaServer`: ``/api/version``, ``/api/tags``, ``/api/show``
  (details, model_info, capabilities, parameters, modelfile), native
  ``/api/chat`` streaming NDJSON with ``message.thinking`` and nanosecond
  durations, honouring ``think`` (docs/api.md, docs/capabilities/thinking.mdx);
  a 400 for ``think: true`` on a model without the thinking capability
  (server/routes.go); ``gpt-oss``-style models that take levels and think
  whatever a boolean says. Its OpenAI-compatible ``/v1/chat/completions``
  streams reasoning in ``reasoning`` and **ignores** ``reasoning_effort``, as
  ollama/ollama#17969 reports for qwen3.
- :class:`LmStudioServer`: ``/api/v0/models`` and ``/api/v0/models/{id}``
  (REST API v0 docs), ``/api/v1/models`` with ``capabilities.reasoning``
  (0.4 docs), ``/v1/chat/completions`` with ``reasoning_content`` and
  ``usage.completion_tokens_details.reasoning_tokens``. By default it
  **ignores** the thinking switch (lmstudio-ai/lmstudio-bug-tracker#1990);
  ``honours=True`` follows the maintainer's table in #2057 (``reasoning_effort:
  "none"``); ``inline_think=True`` writes reasoning into the answer as
  ``<think>…</think>`` (#632).
- :class:`VllmServer`: ``/version``, ``/v1/models`` with ``owned_by: "vllm"``
  and ``max_model_len``, ``/v1/chat/completions`` honouring
  ``chat_template_kwargs.enable_thinking``, reasoning in ``reasoning``, usage on
  every chunk with ``continuous_usage_stats``.

Run one by hand (for a look at the app attached to it)::

    .venv/bin/python tests/_dialect_servers.py lmstudio
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

ANSWER = (
    '```svg\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<circle cx="50" cy="50" r="40" fill="orange"/></svg>\n```'
)
REASONING = "Okay, the user wants a pelican on a bicycle. A circle will do for a start."


def pieces(text: str, size: int = 9) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    """Names lower-cased."""


@dataclass
class LoopbackServer:
    """An HTTP/1.1 server on 127.0.0.1 in its own thread that records every request;
    subclasses answer them (:meth:`route`, or :meth:`answer` for the whole request
    and its connection). Stopping it ends the answers still streaming."""

    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    basic_auth: str | None = None
    """``user:password``: a request without it in its ``authorization`` header is
    answered 401 (a server behind basic auth, reached as ``http://user:password@host``)."""
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.path == path and r.method == "POST"]

    def __enter__(self) -> LoopbackServer:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "loopback server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _serve(self, port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", port or self.port)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in asyncio.all_tasks():  # answers still streaming, or stalled
                if task is not asyncio.current_task():
                    task.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, target, _ = (await reader.readline()).decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode("latin-1")) not in ("\r\n", "\n", ""):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = json.loads(await reader.readexactly(length)) if length else None
            request = Recorded(method, target, body, headers)
            self.requests.append(request)
            if self.basic_auth is not None and headers.get("authorization") != "Basic " + (
                base64.b64encode(self.basic_auth.encode()).decode()
            ):
                await send_json(writer, 401, {"error": {"message": "Unauthorized"}})
                return
            await self.answer(request, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def answer(
        self, request: Recorded, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer ``request`` (``reader`` is the rest of the connection: it ends when the
        client hangs up); by default by its method and path, with :meth:`route`."""
        await self.route(request.method, request.path, request.body, writer)

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        await send_json(writer, 404, {"error": {"message": f"no route {path}"}})


async def send_json(writer: asyncio.StreamWriter, status: int, payload: object) -> None:
    data = json.dumps(payload).encode()
    head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
    head += f"content-length: {len(data)}\r\nconnection: close\r\n\r\n"
    writer.write(head.encode() + data)
    await writer.drain()


async def stream(writer: asyncio.StreamWriter, kind: str, frames: list[str]) -> None:
    """A chunked 200 response: ``kind`` is ``sse`` (``data:`` frames) or ``ndjson``."""
    content_type = "text/event-stream" if kind == "sse" else "application/x-ndjson"
    head = f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n"
    writer.write((head + "transfer-encoding: chunked\r\nconnection: close\r\n\r\n").encode())
    for frame in frames:
        data = (f"data: {frame}\n\n" if kind == "sse" else f"{frame}\n").encode()
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()


def openai_frames(
    reasoning: str | None,
    answer: str,
    *,
    field: str = "reasoning_content",
    inline_think: bool = False,
    usage_every_chunk: bool = False,
    timings_every_chunk: float | None = None,
    cached_tokens: int | None = None,
) -> list[str]:
    """Chat-completion SSE frames: reasoning (in ``field``, or inline), answer, usage, DONE.
    ``timings_every_chunk``: each chunk has llama.cpp's ``timings`` (``timings_per_token``),
    with that rate from its first token on. ``cached_tokens``: of the 11 prompt tokens,
    those the server took from its cache (``usage.prompt_tokens_details``, as vLLM says it)."""
    deltas: list[dict[str, str]] = []
    if reasoning and inline_think:
        answer = f"<think>\n{reasoning}\n</think>\n\n{answer}"
    elif reasoning:
        deltas += [{field: p} for p in pieces(reasoning)]
    deltas += [{"content": p} for p in pieces(answer)]
    frames: list[str] = []
    for index, delta in enumerate(deltas, 1):
        chunk: dict[str, Any] = {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        if usage_every_chunk:
            chunk["usage"] = {"prompt_tokens": 11, "completion_tokens": index}
        if timings_every_chunk is not None:
            chunk["timings"] = {"predicted_n": index, "predicted_per_second": timings_every_chunk}
        frames.append(json.dumps(chunk))
    frames.append(json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    thinking_tokens = len(pieces(reasoning)) if reasoning else 0
    usage = {
        "prompt_tokens": 11,
        "completion_tokens": len(deltas),
        "completion_tokens_details": {"reasoning_tokens": thinking_tokens},
    }
    if cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    frames += [json.dumps({"choices": [], "usage": usage}), "[DONE]"]
    return frames


@dataclass
class OllamaServer(LoopbackServer):
    model: str = "qwen3:30b"
    version: str = "0.12.3"
    thinks: bool = True
    """The model has the ``thinking`` capability."""
    levels: tuple[str, ...] = ()
    """Named thinking levels (``gpt-oss``): it then thinks whatever a boolean says."""
    listed: bool = True
    """The model is in the lists (False: deleted, ``ollama rm``: they are empty)."""
    cached: int | None = None
    """``prompt_eval_cached_count``: of the 26 prompt tokens, those from its cache."""

    def show(self) -> dict[str, Any]:
        capabilities = ["completion", "thinking"] if self.thinks else ["completion"]
        shown: dict[str, Any] = {
            "modelfile": '# Modelfile generated by "ollama show"\n'
            "FROM /root/.ollama/models/blobs/sha256-3e4f\nTEMPLATE {{ .Prompt }}",
            "parameters": "num_ctx                        40960\ntemperature 0.6",
            "details": {
                "format": "gguf",
                "family": "qwen3moe",
                "parameter_size": "30.5B",
                "quantization_level": "Q4_K_M",
            },
            "model_info": {
                "general.architecture": "qwen3moe",
                "general.parameter_count": 30532122624,
                "qwen3moe.context_length": 262144,
            },
            "capabilities": capabilities,
        }
        if self.levels:
            shown["thinking"] = {"values": list(self.levels), "default": self.levels[1]}
        return shown

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        listed = {"name": self.model, "model": self.model, "details": self.show()["details"]}
        if method == "GET" and path == "/api/version":
            await send_json(writer, 200, {"version": self.version})
        elif method == "GET" and path == "/api/tags":
            await send_json(writer, 200, {"models": [listed] if self.listed else []})
        elif method == "GET" and path == "/v1/models":
            card = {"id": self.model, "object": "model", "created": 0, "owned_by": "library"}
            await send_json(writer, 200, {"object": "list", "data": [card] if self.listed else []})
        elif method == "POST" and path == "/api/show":
            if body.get("model") != self.model:
                await send_json(writer, 404, {"error": f"model '{body.get('model')}' not found"})
            else:
                await send_json(writer, 200, self.show())
        elif method == "POST" and path == "/api/chat":
            await self.chat(body, writer)
        elif method == "POST" and path == "/v1/chat/completions":
            # ollama/ollama#17969: reasoning_effort is ignored; the model thinks anyway.
            await stream(writer, "sse", openai_frames(REASONING, ANSWER, field="reasoning"))
        else:
            await send_json(writer, 404, {"error": "404 page not found"})

    async def chat(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        think = body.get("think")
        if think is True and not self.thinks:
            await send_json(writer, 400, {"error": f'"{self.model}" does not support thinking'})
            return
        thinking = self.thinks and (bool(self.levels) or think is not False)
        lines: list[dict[str, Any]] = []
        for part in pieces(REASONING) if thinking else []:
            lines.append({"message": {"role": "assistant", "content": "", "thinking": part}})
        for part in pieces(ANSWER):
            lines.append({"message": {"role": "assistant", "content": part}})
        for line in lines:
            line |= {"model": self.model, "created_at": "2026-12-02T10:00:00Z", "done": False}
        final = {
            "model": self.model,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 2_100_000_000,
            "prompt_eval_count": 26,
            "prompt_eval_duration": 130_000_000,
            "eval_count": len(lines),
            "eval_duration": 500_000_000,
        }
        if self.cached is not None:
            final["prompt_eval_cached_count"] = self.cached
        await stream(writer, "ndjson", [json.dumps(x) for x in [*lines, final]])


@dataclass
class LmStudioServer(LoopbackServer):
    model: str = "qwen3.6-35b-a3b"
    honours: bool = False
    """Follow ``reasoning_effort: "none"`` (#2057); by default ignore it (#1990)."""
    inline_think: bool = False
    """Reasoning written into the answer as ``<think>…</think>`` (#632)."""
    listed: bool = True
    """The model is in the lists (False: unloaded or deleted: they are empty)."""
    timings: float | None = None
    """A rate in every chunk's llama.cpp-style ``timings``, from the first token on."""

    def card_v0(self) -> dict[str, Any]:
        return {
            "id": self.model,
            "object": "model",
            "type": "llm",
            "publisher": "lmstudio-community",
            "arch": "qwen3moe",
            "compatibility_type": "gguf",
            "quantization": "Q4_K_M",
            "state": "loaded",
            "max_context_length": 262144,
        }

    def model_v1(self) -> dict[str, Any]:
        return {
            "type": "llm",
            "publisher": "qwen",
            "key": self.model,
            "display_name": "Qwen3.6 35B A3B",
            "architecture": "qwen3moe",
            "quantization": {"name": "Q4_K_M", "bits_per_weight": 4},
            "size_bytes": 21_000_000_000,
            "params_string": "35B",
            "loaded_instances": [{"id": self.model, "config": {"context_length": 32768}}],
            "max_context_length": 262144,
            "format": "gguf",
            "capabilities": {
                "vision": False,
                "trained_for_tool_use": True,
                "reasoning": {"allowed_options": ["off", "on"], "default": "on"},
            },
        }

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        if method == "GET" and path == "/v1/models":
            card = {"id": self.model, "object": "model", "owned_by": "organization_owner"}
            await send_json(writer, 200, {"object": "list", "data": [card] if self.listed else []})
        elif method == "GET" and path == "/api/v0/models":
            cards = [self.card_v0()] if self.listed else []
            await send_json(writer, 200, {"object": "list", "data": cards})
        elif method == "GET" and path == f"/api/v0/models/{self.model}" and self.listed:
            await send_json(writer, 200, self.card_v0())
        elif method == "GET" and path == "/api/v1/models":
            await send_json(writer, 200, {"models": [self.model_v1()] if self.listed else []})
        elif method == "POST" and path == "/v1/chat/completions":
            off = body.get("reasoning_effort") == "none"
            reasoning = None if (off and self.honours) else REASONING
            frames = openai_frames(
                reasoning, ANSWER, inline_think=self.inline_think, timings_every_chunk=self.timings
            )
            await stream(writer, "sse", frames)
        else:
            await send_json(writer, 404, {"error": f"Unexpected endpoint or method. ({path})"})


@dataclass
class VllmServer(LoopbackServer):
    model: str = "Qwen/Qwen3.6-35B-A3B"
    version: str = "0.11.0"
    cached: int | None = None
    """``prompt_tokens_details.cached_tokens``: of the 11 prompt tokens, those from its cache."""

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        if method == "GET" and path == "/version":
            await send_json(writer, 200, {"version": self.version})
        elif method == "GET" and path == "/v1/models":
            card = {
                "id": self.model,
                "object": "model",
                "owned_by": "vllm",
                "root": self.model,
                "parent": None,
                "max_model_len": 32768,
            }
            await send_json(writer, 200, {"object": "list", "data": [card]})
        elif method == "POST" and path == "/v1/chat/completions":
            kwargs = body.get("chat_template_kwargs") or {}
            reasoning = REASONING if kwargs.get("enable_thinking", True) else None
            options = body.get("stream_options") or {}
            every = bool(options.get("continuous_usage_stats"))
            frames = openai_frames(
                reasoning,
                ANSWER,
                field="reasoning",
                usage_every_chunk=every,
                cached_tokens=self.cached,
            )
            await stream(writer, "sse", frames)
        else:
            await send_json(writer, 404, {"detail": "Not Found"})


SERVERS: dict[str, type[LoopbackServer]] = {
    "ollama": OllamaServer,
    "lmstudio": LmStudioServer,
    "vllm": VllmServer,
}

if __name__ == "__main__":  # serve one until SIGINT/SIGTERM: `_dialect_servers.py lmstudio [port]`
    import signal

    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # the server thread inherits the mask
    server = SERVERS[sys.argv[1]]()
    server.port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with server:
        print(server.url, flush=True)
        signal.sigwait(stop)
