"""How to speak to each kind of server: the request, the thinking switch, the stream.

- **llama.cpp**: ``/v1/chat/completions``; switch ``chat_template_kwargs.enable_thinking``
  (not sent when the check found the model's chat template has no switch: the
  prompt is the same either way); reasoning in ``reasoning_content``; numbers in
  ``timings``.
- **Ollama**: native ``/api/chat`` (NDJSON); switch ``think: true/false``, or a level
  when the model names levels (``gpt-oss``: that is the effort); reasoning in
  ``message.thinking``; ``eval_count``/``eval_duration`` in the last line.
- **LM Studio**: ``/v1/chat/completions``; switch ``reasoning_effort: "none"`` or
  ``"medium"``; reasoning in ``reasoning_content`` (or as ``<think>`` in the answer);
  ``usage`` at the end.
- **vLLM**: ``/v1/chat/completions``; switch ``chat_template_kwargs.enable_thinking``;
  reasoning in ``reasoning`` (older releases: ``reasoning_content``); ``usage`` on
  every chunk.
- **OpenAI-compatible**: standard fields only; no switch is known, so none is sent;
  reasoning read from ``reasoning_content`` or ``reasoning``.

Why these switches (the sources, since no real Ollama or LM Studio runs here):

- Ollama: native ``/api/chat`` honours ``"think": false``, while its OpenAI-
  compatible ``/v1`` ignored ``reasoning_effort`` for qwen3 in some releases
  (ollama/ollama#17969); ``think`` on a model without the ``thinking``
  capability is a 400, so it is sent only when ``/api/show`` does not say the
  model lacks it. Ollama's API docs: ``think``, ``message.thinking``,
  ``options`` (``num_predict``, ``seed``, sampling), durations in nanoseconds.
- LM Studio: its docs list no thinking field for ``/v1/chat/completions``;
  an LM Studio maintainer's table (lmstudio-ai/lmstudio-bug-tracker#2057) gives
  ``reasoning_effort`` ``"none"``/``"medium"`` there. Open reports say
  ``enable_thinking`` is ignored for Qwen models (#1990, #632): every run is
  checked (:mod:`~pelican_tui.backends.engine.thinking_check`).
- vLLM: Qwen's deployment guide and vLLM's reasoning-outputs page
  (``chat_template_kwargs``); vLLM renamed ``reasoning_content`` to ``reasoning``.

Every dialect's stream ends up as OpenAI-style chunk dicts (:meth:`Dialect.chunks`),
so one reader (:class:`~.backend.OpenAICompatibleBackend`) handles them all.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from pelican_tui.backends.openai_compat.payload import (
    build_payload,
    chat_messages,
    recommended_sampling,
    sampling_fields,
)
from pelican_tui.backends.openai_compat.server_kinds import (
    LLAMA_CPP,
    LM_STUDIO,
    OLLAMA,
    OPENAI_COMPATIBLE,
    VLLM,
    ModelFacts,
)
from pelican_tui.backends.openai_compat.sse import SSEDecoder
from pelican_tui.backends.protocol import EFFORTS, Effort, GenerationRequest
from pelican_tui.backends.text import NO_KNOWN_SWITCH

DONE = "[DONE]"
"""What :meth:`Dialect.chunks` yields when the server says the answer is complete."""


class Decoder(Protocol):
    def feed(self, raw: bytes) -> list[bytes]: ...

    def close(self) -> list[bytes]: ...


class NDJSONDecoder:
    """Newline-delimited JSON (Ollama's streams) to one payload per line, incrementally."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, raw: bytes) -> list[bytes]:
        self._buffer += raw
        *lines, self._buffer = self._buffer.split(b"\n")
        return [line for line in lines if line.strip()]

    def close(self) -> list[bytes]:
        rest, self._buffer = self._buffer, b""
        return [rest] if rest.strip() else []


def _flag(value: object) -> str:
    return json.dumps(value)


class Dialect:
    """An OpenAI-compatible server that takes only standard fields (the fallback)."""

    kind = OPENAI_COMPATIBLE
    chat_path = "/v1/chat/completions"
    llama_cpp_fields = False

    def __init__(self, facts: ModelFacts | None = None) -> None:
        self.facts = facts or ModelFacts()

    @property
    def can_switch_thinking(self) -> bool:
        """Whether a thinking switch is sent at all."""
        return self.switch_fields(GenerationRequest(thinking=False)) != {}

    @property
    def has_effort(self) -> bool:
        """Whether the model takes named thinking levels (pelican-tui's effort)."""
        return False

    @property
    def efforts(self) -> tuple[Effort, ...]:
        """The model's thinking levels that are efforts, lowest first (empty: none)."""
        return ()

    @property
    def can_turn_off(self) -> bool:
        """Whether thinking can be turned off (False: the model thinks whatever is sent)."""
        return True

    def level(self, request: GenerationRequest) -> str | None:
        """The thinking level ``request`` sends (None: thinking off, or no levels)."""
        return None

    def switch_fields(self, request: GenerationRequest) -> dict[str, Any]:
        """The request fields that switch thinking (and carry the effort)."""
        return {}

    def switch(self, request: GenerationRequest) -> str:
        """How thinking was switched, for the run's record: ``think=false``."""
        fields = self.switch_fields(request)
        if not fields:
            return NO_KNOWN_SWITCH
        return ", ".join(f"{key}={_flag(value)}" for key, value in _flat(fields))

    def payload(self, request: GenerationRequest, model: str | None) -> dict[str, Any]:
        payload = build_payload(request, model, llama_cpp=self.llama_cpp_fields)
        extra = self.extra_fields(request)
        if extra:
            payload.update(extra)
            payload.update(request.extra)  # what the caller set still wins
        return payload

    def extra_fields(self, request: GenerationRequest) -> dict[str, Any]:
        """Fields beyond the standard ones this server takes."""
        return self.switch_fields(request)

    def decoder(self) -> Decoder:
        return SSEDecoder()

    def chunks(self, payloads: list[bytes]) -> list[Any]:
        """Decoded payloads as OpenAI-style chunk dicts, or :data:`DONE`."""
        out: list[Any] = []
        for data in payloads:
            if data.startswith(b"{"):  # the usual chunk: no [DONE] check, str for json
                out.append(json.loads(data.decode()))
            elif data.strip() == b"[DONE]":
                out.append(DONE)
                break
            else:
                out.append(json.loads(data))
        return out


def _flat(fields: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in fields.items():
        if isinstance(value, dict):
            out += _flat(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


class LlamaCppDialect(Dialect):
    kind = LLAMA_CPP
    llama_cpp_fields = True

    def switch_fields(self, request: GenerationRequest) -> dict[str, Any]:
        if self.facts.thinks is False:
            return {}  # the check found the template's prompt the same either way
        return {"chat_template_kwargs": {"enable_thinking": request.thinking}}

    def switch(self, request: GenerationRequest) -> str:
        if self.facts.thinks is False:  # llama.cpp has a switch; this model's template not
            return "not sent: the model's chat template has no thinking switch"
        return super().switch(request)

    def payload(self, request: GenerationRequest, model: str | None) -> dict[str, Any]:
        payload = super().payload(request, model)
        if not self.switch_fields(request) and "chat_template_kwargs" not in request.extra:
            payload.pop("chat_template_kwargs", None)  # it would change nothing
        return payload

    def extra_fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {}  # build_payload already sends llama.cpp's fields, the switch among them


class VllmDialect(Dialect):
    kind = VLLM

    def switch_fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {"chat_template_kwargs": {"enable_thinking": request.thinking}}

    def extra_fields(self, request: GenerationRequest) -> dict[str, Any]:
        sampling = sampling_fields(request.sampling or recommended_sampling(request.thinking))
        fields: dict[str, Any] = {k: sampling[k] for k in ("top_k", "min_p") if k in sampling}
        # Usage on every chunk: live token counts without counting chunks.
        fields["stream_options"] = {"include_usage": True, "continuous_usage_stats": True}
        return {**fields, **self.switch_fields(request)}


class LmStudioDialect(Dialect):
    kind = LM_STUDIO

    def switch_fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {"reasoning_effort": "medium" if request.thinking else "none"}

    def extra_fields(self, request: GenerationRequest) -> dict[str, Any]:
        sampling = sampling_fields(request.sampling or recommended_sampling(request.thinking))
        fields = {"top_k": sampling["top_k"]} if "top_k" in sampling else {}
        return {**fields, **self.switch_fields(request)}


class OllamaDialect(Dialect):
    """Ollama's native ``/api/chat``: NDJSON lines, normalised to OpenAI-style chunks."""

    kind = OLLAMA
    chat_path = "/api/chat"

    @property
    def has_effort(self) -> bool:
        return bool(self.facts.think_levels)

    @property
    def efforts(self) -> tuple[Effort, ...]:
        return tuple(level for level in EFFORTS if level in self.facts.think_levels)

    @property
    def can_turn_off(self) -> bool:
        # A model that names levels takes no boolean: `think: false` is ignored and it
        # reasons at its default level (Ollama's thinking docs).
        return not self.facts.think_levels

    def _level(self, request: GenerationRequest) -> str:
        """The model's level nearest below the requested effort (else its first)."""
        levels = self.facts.think_levels
        wanted = EFFORTS.index(request.effort)
        known = [lvl for lvl in levels if lvl in EFFORTS and EFFORTS.index(lvl) <= wanted]
        return max(known, key=EFFORTS.index) if known else levels[0]

    def level(self, request: GenerationRequest) -> str | None:
        return self._level(request) if self.facts.think_levels and request.thinking else None

    def switch_fields(self, request: GenerationRequest) -> dict[str, Any]:
        if self.facts.think_levels:
            # Booleans are ignored by such models (Ollama's thinking docs): off is
            # asked all the same, and the check after the run says what happened.
            return {"think": self.level(request) or False}
        if self.facts.thinks is False:
            return {}  # Ollama answers 400 to `think` for a model without the capability
        return {"think": request.thinking}

    def switch(self, request: GenerationRequest) -> str:
        if self.facts.thinks is False:  # Ollama has a switch; this model has no thinking
            return "not sent: the model cannot think (Ollama lists no thinking capability)"
        return super().switch(request)

    def payload(self, request: GenerationRequest, model: str | None) -> dict[str, Any]:
        sampling = sampling_fields(request.sampling or recommended_sampling(request.thinking))
        options: dict[str, Any] = {**sampling, "num_predict": request.max_tokens}
        extra = dict(request.extra)
        if "seed" in extra:
            options["seed"] = extra.pop("seed")
        body: dict[str, Any] = {
            "messages": chat_messages(request),
            "stream": True,
            "options": options,
            **self.switch_fields(request),
            **extra,
        }
        if model:
            body["model"] = model
        return body

    def decoder(self) -> Decoder:
        return NDJSONDecoder()

    def chunks(self, payloads: list[bytes]) -> list[Any]:
        out: list[Any] = []
        for data in payloads:
            line = json.loads(data)
            if not isinstance(line, dict):
                continue
            if "error" in line:
                out.append({"error": line["error"]})
                break
            out.append(ollama_chunk(line))
            if line.get("done"):
                out.append(DONE)
                break
        return out


def ollama_chunk(line: dict[str, Any]) -> dict[str, Any]:
    """One ``/api/chat`` line as an OpenAI-style chunk; the last line's numbers
    become llama.cpp-style ``timings`` (Ollama's durations are nanoseconds)."""
    message = line.get("message")
    message = message if isinstance(message, dict) else {}
    delta = {"reasoning_content": message.get("thinking"), "content": message.get("content")}
    done = bool(line.get("done"))
    chunk: dict[str, Any] = {
        "choices": [{"delta": delta, "finish_reason": line.get("done_reason") if done else None}]
    }
    if done:
        generated, gen_ns = line.get("eval_count"), line.get("eval_duration")
        prompt, prompt_ns = line.get("prompt_eval_count"), line.get("prompt_eval_duration")
        # Ollama keeps the prompts it read and no request field turns that off; its
        # ``prompt_eval_count`` counts the whole prompt, ``prompt_eval_cached_count``
        # those taken from the cache (not read, and not in the duration).
        cached = line.get("prompt_eval_cached_count")
        cached = cached if isinstance(cached, int) and cached > 0 else 0
        timings: dict[str, Any] = {}
        if isinstance(generated, int) and isinstance(gen_ns, int) and gen_ns > 0:
            timings |= {"predicted_n": generated, "predicted_ms": gen_ns / 1e6}
            timings["predicted_per_second"] = generated / (gen_ns / 1e9)
        if isinstance(prompt, int) and isinstance(prompt_ns, int) and prompt_ns > 0:
            read = max(prompt - cached, 0)
            timings |= {"prompt_n": read, "prompt_ms": prompt_ns / 1e6}
            timings["prompt_per_second"] = read / (prompt_ns / 1e9)
        chunk["timings"] = timings
        chunk["usage"] = {"prompt_tokens": prompt, "completion_tokens": generated}
    return chunk


DIALECTS: dict[str, type[Dialect]] = {
    LLAMA_CPP: LlamaCppDialect,
    OLLAMA: OllamaDialect,
    LM_STUDIO: LmStudioDialect,
    VLLM: VllmDialect,
    OPENAI_COMPATIBLE: Dialect,
}


def dialect_for(kind: str, facts: ModelFacts | None = None) -> Dialect:
    """The dialect for a server kind (:data:`~.server_kinds.KINDS`)."""
    return DIALECTS.get(kind, Dialect)(facts)


__all__ = [
    "DIALECTS",
    "DONE",
    "Dialect",
    "LlamaCppDialect",
    "LmStudioDialect",
    "NDJSONDecoder",
    "OllamaDialect",
    "VllmDialect",
    "dialect_for",
    "ollama_chunk",
]
