"""The JSON body of a ``/v1/chat/completions`` request, and the sampling it carries.

Thinking is toggled per request through ``chat_template_kwargs.enable_thinking``
(no restart). llama.cpp-only fields (:data:`LLAMA_CPP_ONLY_FIELDS`) are left
out for other servers, so a strict one that rejects unknown fields still works.

Every run reads its whole prompt: llama-server is sent ``cache_prompt: false``.
By default it reuses the prompt it read for the last request, so the second run
of a batch on one server read 1 token of 62 and its time to the first token
(0.05 s beside the first run's 1.04 s) measured the cache, not the model.
"""

from __future__ import annotations

from typing import Any

from pelican_tui.backends.protocol import GenerationRequest, Sampling

# Qwen3.6 model card recommendations. Thinking on uses the "precise coding"
# row (an SVG is code); thinking off uses the non-thinking row.
QWEN_SAMPLING_THINKING = Sampling(
    temperature=0.6, top_p=0.95, top_k=20, min_p=0.0, presence_penalty=0.0
)
QWEN_SAMPLING_NO_THINKING = Sampling(
    temperature=0.7, top_p=0.8, top_k=20, min_p=0.0, presence_penalty=1.5
)

LLAMA_CPP_ONLY_FIELDS = (
    "top_k",
    "min_p",
    "timings_per_token",
    "cache_prompt",
    "chat_template_kwargs",
)
"""Request fields only llama.cpp understands; strict OpenAI-compatible servers answer 400."""


def recommended_sampling(thinking: bool) -> Sampling:
    """The Qwen3.6 model card's sampling for thinking on or off."""
    return QWEN_SAMPLING_THINKING if thinking else QWEN_SAMPLING_NO_THINKING


def sampling_fields(sampling: Sampling) -> dict[str, Any]:
    """The request fields for ``sampling`` (those left None are not sent)."""
    fields = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,
        "min_p": sampling.min_p,
        "presence_penalty": sampling.presence_penalty,
    }
    return {key: value for key, value in fields.items() if value is not None}


def chat_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """The system prompt (if any) and the prompt, as chat messages."""
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": request.prompt})
    return messages


def build_payload(
    request: GenerationRequest, model: str | None, *, llama_cpp: bool = True
) -> dict[str, Any]:
    """The JSON body for ``/v1/chat/completions`` (public so tests can inspect it).

    With ``llama_cpp=False`` the :data:`LLAMA_CPP_ONLY_FIELDS` are left out:
    only standard OpenAI fields (plus whatever ``request.extra`` adds) are sent.
    """
    sampling = request.sampling or recommended_sampling(request.thinking)
    payload: dict[str, Any] = {
        "messages": chat_messages(request),
        "stream": True,
        "max_tokens": request.max_tokens,
        "timings_per_token": True,
        "cache_prompt": False,  # the whole prompt read every run: times comparable
        "stream_options": {"include_usage": True},
        "chat_template_kwargs": {"enable_thinking": request.thinking},
        **sampling_fields(sampling),
    }
    if not llama_cpp:
        for key in LLAMA_CPP_ONLY_FIELDS:
            payload.pop(key, None)
    payload.update(request.extra)
    if model:
        payload["model"] = model
    return payload
