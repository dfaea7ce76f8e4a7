"""Each server kind recognised from its own endpoints and spoken to in its own dialect.

The servers are loopback implementations of what Ollama's, LM Studio's and
vLLM's documentation and issue threads say (``_dialect_servers.py``), including
the known failures: a switch that is ignored. Every run is checked afterwards
(``thinking_check``), so an ignored switch is reported, never compared blind.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

import httpx
import pytest
from _dialect_servers import (
    ANSWER,
    REASONING,
    LmStudioServer,
    OllamaServer,
    VllmServer,
    pieces,
    send_json,
)
from test_attach import OpenAITestServer

from pelican_tui.backends.engine.thinking_check import check_thinking
from pelican_tui.backends.events import (
    Failed,
    Finished,
    GenerationEvent,
    LiveStats,
    TextDelta,
    ThinkingDelta,
)
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.openai_compat.dialects import Dialect, NDJSONDecoder
from pelican_tui.backends.openai_compat.probe import check_server
from pelican_tui.backends.openai_compat.think_tags import ThinkTags
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.store.records import prompt_from_cache


async def _run(
    backend: OpenAICompatibleBackend, thinking: bool, **extra: Any
) -> list[GenerationEvent]:
    request = GenerationRequest(prompt="Draw a pelican.", thinking=thinking, max_tokens=300)
    if extra:
        request = GenerationRequest(
            prompt=request.prompt, thinking=thinking, max_tokens=300, extra=extra
        )
    return [event async for event in backend.generate(request)]


def _text(events: list[GenerationEvent], kind: type[TextDelta | ThinkingDelta]) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def _judge(events: list[GenerationEvent], asked: bool, thinks: bool | None) -> Any:
    return check_thinking(asked, _text(events, ThinkingDelta), _text(events, TextDelta), thinks)


# --------------------------------------------------------------------------- knowing the kind


async def test_each_kind_is_recognised_from_its_own_endpoints() -> None:
    found = {}
    servers = {"ollama": OllamaServer(), "lmstudio": LmStudioServer(), "vllm": VllmServer()}
    for name, server in [*servers.items(), ("plain", OpenAITestServer())]:
        with server:
            found[name] = await check_server(server.url)
    assert {k: c.kind.label for k, c in found.items()} == {
        "ollama": "Ollama 0.12.3",
        "lmstudio": "LM Studio",
        "vllm": "vLLM 0.11.0",
        "plain": "OpenAI-compatible",
    }
    assert all(c.ready for c in found.values())
    assert found["ollama"].message == "Ollama 0.12.3 · qwen3:30b", "what the status bar shows"
    assert found["plain"].message == "OpenAI-compatible · test-model"


async def test_lm_studio_with_no_model_loaded_is_still_named() -> None:
    """LM Studio with no model loaded (its lists empty) was called "OpenAI-compatible"
    ("lists no models at /v1/models (OpenAI-compatible)"): its empty ``/api/v0/models``
    list together with its own ``/api/v1/models`` shape now say it is LM Studio."""
    with LmStudioServer(listed=False) as server:
        check = await check_server(server.url, url_setting="--url")
    assert not check.ready
    assert check.kind.label == "LM Studio"
    assert check.message == f"{server.url} lists no models at /v1/models (LM Studio)"


async def test_a_url_with_a_servers_own_api_path_says_the_url_to_use() -> None:
    """``--url http://host:11434/api`` (Ollama's own API) said the server "has no model
    list (404 for GET /v1/models)", LM Studio's ``/api/v1`` that it "lists no models";
    each now says what the path is and which URL to give. An endpoint's URL pasted
    whole (``/v1/chat/completions``) is read as the root it is under, as before."""
    with OllamaServer() as ollama, LmStudioServer() as lms:
        checks = {
            path: await check_server(f"{server.url}{path}", url_setting="--url")
            for server, path in [(ollama, "/api"), (ollama, "/api/chat"), (lms, "/api/v1")]
        }
        other = await check_server(f"{lms.url}/lmstudio/", url_setting="local.url")
        pasted = await check_server(f"{ollama.url}/v1/chat/completions")
    for path, check in checks.items():
        server = lms if path == "/api/v1" else ollama
        assert not check.ready, path
        own = "LM Studio" if server is lms else "Ollama"
        assert check.message == (
            f"{server.url}{path} is {own}'s own API, not its OpenAI-compatible one"
        )
        assert check.hint == f"use --url {server.url} (or {server.url}/v1)"
    assert not other.ready
    assert (
        other.message == f"{lms.url}/lmstudio/ is not the API root: LM Studio answers at {lms.url}"
    )
    assert other.hint == f"set local.url to {lms.url} (or {lms.url}/v1)"
    assert pasted.ready and pasted.model == "qwen3:30b"


async def test_model_facts_come_from_each_servers_model_info_endpoint() -> None:
    with OllamaServer() as ollama, LmStudioServer() as lms, VllmServer() as vllm:
        o, lm, v = [(await check_server(s.url)).facts for s in (ollama, lms, vllm)]
    # Ollama /api/show: details, model_info, parameters (num_ctx), capabilities, modelfile.
    assert (o.params_text, o.quant, o.context, o.trained_ctx) == ("30.5B", "Q4_K_M", 40960, 262144)
    assert o.total_params == 30532122624 and o.arch == "qwen3moe" and o.thinks is True
    assert o.file == "/root/.ollama/models/blobs/sha256-3e4f"
    assert o.bits() == ["30.5B", "Q4_K_M", "ctx 40960"]
    # LM Studio /api/v0/models/{id} and /api/v1/models (loaded context, reasoning setting).
    assert (lm.params_text, lm.quant, lm.context, lm.trained_ctx) == (
        "35B",
        "Q4_K_M",
        32768,
        262144,
    )
    assert lm.arch == "qwen3moe" and lm.thinks is True
    # vLLM: its model card's max_model_len.
    assert v.context == 32768 and v.bits() == ["ctx 32768"]


class _SlowAfterFirst(OllamaServer):
    """Ollama answering the first question of a check (its model list), then none
    in time (busy: another request, or loading)."""

    async def answer(self, request: Any, reader: Any, writer: Any) -> None:
        if len(self.requests) > 1:
            await asyncio.sleep(30)  # ended when the server stops
        await super().answer(request, reader, writer)


async def test_a_slow_server_is_checked_within_check_timeout_s() -> None:
    """Each question of the check (model list, /props, the kind's probes, ...) had the
    whole of check_timeout_s, one after another: a server that answered the first and
    then stalled held the check (and what waited on it) for a multiple of the setting.
    Now the whole check has one deadline, and what it learnt by then is kept."""
    with _SlowAfterFirst() as server:
        started = time.monotonic()
        check = await check_server(server.url, timeout_s=1.0)
        took = time.monotonic() - started
    assert took < 1.5, f"the check took {took:.1f} s with check_timeout_s = 1"
    assert check.reachable and check.ready, check
    assert check.models == ("qwen3:30b",), check


class _TrickledList(OllamaServer):
    """A server that sends its model list a few bytes at a time (a slow link, or a busy
    proxy): each read comes before a timeout, the whole answer long after."""

    async def answer(self, request: Any, reader: Any, writer: Any) -> None:
        body = b'{"object": "list", "data": [{"id": "m", "object": "model"}]}'
        head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
        data = head.encode() + body
        for start in range(0, len(data), 20):
            writer.write(data[start : start + 20])
            await writer.drain()
            await asyncio.sleep(0.4)


async def test_an_answer_in_trickles_does_not_stretch_the_check() -> None:
    """httpx's timeouts bound each read, not an answer: a model list sent a few bytes at
    a time held the check for as long as it took, far past check_timeout_s. Now it ends
    at the deadline, said as a server that answered the connection but not the check."""
    with _TrickledList() as server:
        started = time.monotonic()
        check = await check_server(server.url, timeout_s=1.0)
        took = time.monotonic() - started
    assert took < 1.5, f"the check took {took:.1f} s with check_timeout_s = 1"
    assert check.reachable and not check.ready, check
    assert "answered the connection but not the check in 1 s" in check.message, check


# --------------------------------------------------------------------------- Ollama


class _ModelGoneAtChat(OllamaServer):
    """Ollama that still lists its model but refuses a chat with it, as Ollama does for a
    model removed (``ollama rm``) or renamed after the check."""

    async def chat(self, body: dict[str, Any], writer: Any) -> None:
        await send_json(writer, 404, {"error": f"model '{self.model}' not found"})


async def test_a_model_not_found_is_not_blamed_on_the_url() -> None:
    """A 404 saying "model 'qwen3:30b' not found" came with "check that the URL points at
    the server's API root (without /v1)": the URL was right (the server answered in its
    own words); the model was missing. The hint now says what to do about the model."""
    with _ModelGoneAtChat() as server:
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        events = await _run(backend, thinking=True)
    failed = events[-1]
    assert isinstance(failed, Failed), events
    assert failed.reason.endswith("answered 404: model 'qwen3:30b' not found"), failed.reason
    assert failed.hint is not None and "API root" not in failed.hint
    assert "qwen3:30b" in failed.hint and "load or pull" in failed.hint, failed.hint


async def test_an_ollama_prompt_from_its_cache_is_not_said_read() -> None:
    """Ollama keeps the prompts it read, and no request field turns that off: the
    second run read 1 token of 26, yet its record said 26 read, and its time to the
    first token stood in the table as if it compared with the first run's."""
    with OllamaServer(cached=25) as server:
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        final = (await _run(backend, thinking=False))[-1]
    assert isinstance(final, Finished), final
    assert final.timings.prompt_tokens == 1 and final.usage.input_tokens == 26
    assert final.timings.prompt_tokens_per_s == pytest.approx(1 / 0.13)


async def test_a_vllm_prompt_from_its_cache_is_not_said_read() -> None:
    """vLLM (and the OpenAI API) say the prompt tokens taken from a cache in
    ``usage.prompt_tokens_details.cached_tokens``; the record said all 11 read, so
    the run's time to the first token was not marked as not comparable."""
    with VllmServer(cached=10) as server:
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        final = (await _run(backend, thinking=False))[-1]
    assert isinstance(final, Finished), final
    assert final.timings.prompt_tokens == 1 and final.usage.input_tokens == 11
    timings, usage = asdict(final.timings), asdict(final.usage)
    assert prompt_from_cache(timings, usage) == 10


async def test_ollama_thinking_switch_is_native_think_and_is_followed() -> None:
    with OllamaServer() as server:
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        assert backend.capabilities.supports_thinking and not backend.capabilities.supports_effort
        on = await _run(backend, thinking=True, seed=7)
        off = await _run(backend, thinking=False)
        sent_on, sent_off = server.bodies("/api/chat")
    assert sent_on["think"] is True and sent_off["think"] is False
    assert sent_on["options"]["num_predict"] == 300 and sent_on["options"]["seed"] == 7
    assert sent_on["options"]["top_k"] == 20 and sent_on["model"] == "qwen3:30b"
    assert _text(on, ThinkingDelta) == REASONING, "message.thinking is the reasoning"
    assert _text(on, TextDelta) == _text(off, TextDelta) == ANSWER
    assert _text(off, ThinkingDelta) == ""
    final = on[-1]
    assert isinstance(final, Finished), final
    # eval_count / eval_duration (ns) → tokens/s, as Ollama's docs compute it.
    assert final.timings.generated_tokens == final.usage.output_tokens
    assert final.timings.generation_tokens_per_s == pytest.approx(
        final.timings.generated_tokens / 0.5
    )
    assert final.timings.prompt_tokens == 26 and final.stop_reason == "stop"
    assert _judge(on, True, True).ignored is False
    assert _judge(off, False, True).ignored is False
    assert backend.dialect.switch(GenerationRequest(thinking=False)) == "think=false"


async def test_ollama_openai_endpoint_ignores_reasoning_effort_and_the_check_says_so() -> None:
    """ollama/ollama#17969: /v1 with reasoning_effort "none" still thinks (reasoning field)."""
    with OllamaServer() as server:
        async with httpx.AsyncClient() as client:
            body = {"model": "qwen3:30b", "messages": [], "reasoning_effort": "none"}
            raw = await client.post(f"{server.url}/v1/chat/completions", json=body)
        assert '"reasoning": "Okay' in raw.text, "the documented failure, reproduced"
        # Talking /v1 as a plain OpenAI-compatible client, with that switch:
        backend = OpenAICompatibleBackend(server.url, dialect=Dialect())
        events = await _run(backend, thinking=False, reasoning_effort="none")
        assert server.bodies("/v1/chat/completions")[-1]["reasoning_effort"] == "none"
    assert _text(events, ThinkingDelta) == REASONING, "Ollama's /v1 `reasoning` field is read"
    check = _judge(events, False, None)
    assert check.ignored is True and check.warning is not None
    assert check.warning.startswith("The server ignored the thinking switch")
    assert f"{len(REASONING)} characters of reasoning arrived" in check.warning


async def test_ollama_model_without_the_thinking_capability_gets_no_think_field() -> None:
    with OllamaServer(model="llama3.2", thinks=False) as server:
        async with httpx.AsyncClient() as client:
            body = {"model": "llama3.2", "messages": [], "think": True}
            refused = await client.post(f"{server.url}/api/chat", json=body)
        assert refused.status_code == 400, "what Ollama does with think on such a model"
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        assert not backend.capabilities.supports_thinking, "`t` says there is no switch"
        events = await _run(backend, thinking=True)
        assert "think" not in server.bodies("/api/chat")[-1]
    assert isinstance(events[-1], Finished), events[-1]
    # Its record says why: Ollama has a switch, this model has no thinking (it said
    # "no known thinking switch for this server").
    assert backend.dialect.switch(GenerationRequest()) == (
        "not sent: the model cannot think (Ollama lists no thinking capability)"
    )


async def test_ollama_thinking_levels_are_the_effort_and_off_is_checked() -> None:
    """gpt-oss names levels; booleans are ignored for it (Ollama's thinking docs)."""
    levels = ("low", "medium", "high")
    with OllamaServer(model="gpt-oss:20b", levels=levels) as server:
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        assert backend.capabilities.supports_effort
        for effort in ("medium", "max"):
            request = GenerationRequest(prompt="p", thinking=True, effort=effort)
            [e async for e in backend.generate(request)]
        off = await _run(backend, thinking=False)
        sent = [b["think"] for b in server.bodies("/api/chat")]
    assert sent == ["medium", "high", False], "max is above the model's highest level"
    assert _judge(off, False, True).ignored is True, "it thought although asked not to"


# --------------------------------------------------------------------------- LM Studio


async def test_lm_studio_that_ignores_the_switch_is_reported() -> None:
    """lmstudio-ai/lmstudio-bug-tracker#1990: thinking stays on whatever is sent."""
    with LmStudioServer() as server:
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        off = await _run(backend, thinking=False)
        body = server.bodies("/v1/chat/completions")[-1]
    assert body["reasoning_effort"] == "none" and body["top_k"] == 20
    assert "chat_template_kwargs" not in body and "min_p" not in body
    assert _text(off, ThinkingDelta) == REASONING
    assert _text(off, TextDelta) == ANSWER
    final = off[-1]
    assert isinstance(final, Finished)
    assert final.usage.thinking_tokens == len(pieces(REASONING)), "usage's reasoning_tokens"
    check = _judge(off, False, backend.check.facts.thinks if backend.check else None)
    assert check.ignored is True
    assert check.recorded()["thinking_switch_ignored"] is True


async def test_lm_studio_that_follows_reasoning_effort_is_not_reported() -> None:
    with LmStudioServer(honours=True) as server:
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        on = await _run(backend, thinking=True)
        off = await _run(backend, thinking=False)
        sent = [b["reasoning_effort"] for b in server.bodies("/v1/chat/completions")]
    assert sent == ["medium", "none"]
    assert _text(on, ThinkingDelta) == REASONING and _text(off, ThinkingDelta) == ""
    assert _judge(on, True, True).ignored is False
    assert _judge(off, False, True).ignored is False


async def test_reasoning_written_into_the_answer_as_think_tags_is_told_apart() -> None:
    """lmstudio-ai/lmstudio-bug-tracker#632: ``"content": "<think>\\nOkay, …"``."""
    with LmStudioServer(inline_think=True) as server:
        backend = OpenAICompatibleBackend(server.url)
        events = await _run(backend, thinking=False)
    assert _text(events, ThinkingDelta).strip() == REASONING
    assert _text(events, TextDelta) == ANSWER, "the answer (and its SVG) is clean"
    assert _judge(events, False, True).ignored is True


# --------------------------------------------------------------------------- vLLM


async def test_vllm_switch_is_chat_template_kwargs_and_usage_streams_live() -> None:
    with VllmServer() as server:
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        on = await _run(backend, thinking=True)
        off = await _run(backend, thinking=False)
        bodies = server.bodies("/v1/chat/completions")
    assert [b["chat_template_kwargs"] for b in bodies] == [
        {"enable_thinking": True},
        {"enable_thinking": False},
    ]
    assert bodies[0]["stream_options"]["continuous_usage_stats"] is True
    assert bodies[0]["top_k"] == 20 and "timings_per_token" not in bodies[0]
    assert _text(on, ThinkingDelta) == REASONING, "vLLM's `reasoning` field"
    assert _text(off, ThinkingDelta) == ""
    live = [e for e in on if isinstance(e, LiveStats)]
    assert live and live[0].tokens >= 1


async def test_a_servers_rate_of_one_token_is_not_shown() -> None:
    """A server that gives its rate with every chunk (llama.cpp's timings per token) had
    it shown from the first token: `run` said "1 tok, 165.0 tok/s". Now its rate is
    shown by the rule a rate measured here follows: two tokens at least, over
    MIN_RATE_SPAN_S."""
    with LmStudioServer(timings=165.0) as server:
        backend = OpenAICompatibleBackend(server.url)
        await backend.probe()
        events = await _run(backend, thinking=True)
    live = [e for e in events if isinstance(e, LiveStats)]
    assert live and live[0].tokens == 1, live
    assert live[0].tokens_per_s is None, live[0]


# --------------------------------------------------------------------------- pieces


@pytest.mark.parametrize(
    ("chunks", "thinking", "answer"),
    [
        (["<thi", "nk>\nhmm", "</th", "ink>\n\nA <svg/>"], "\nhmm", "A <svg/>"),
        (["<think>", "\n\n", "</think>", "\n\nA"], "", "\n\nA"),  # Qwen's empty "off" block
        (["Hello", " <think>x</think>"], "", "Hello <think>x</think>"),
        (["  ", "<", "b>bold"], "", "  <b>bold"),
        (["<think>never closed"], "never closed", ""),
    ],
)
def test_think_tags_split_across_chunks(chunks: list[str], thinking: str, answer: str) -> None:
    tags = ThinkTags()
    out = [piece for chunk in chunks for piece in tags.feed(chunk)] + tags.close()
    assert "".join(t for is_t, t in out if is_t) == thinking
    assert "".join(t for is_t, t in out if not is_t) == answer


def test_ndjson_lines_split_across_reads() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n{"b"') == [b'{"a": 1}']
    assert decoder.feed(b": 2}\n\n") == [b'{"b": 2}']
    assert decoder.feed(b'{"c": 3}') == [] and decoder.close() == [b'{"c": 3}']


@pytest.mark.parametrize(
    ("asked", "reasoning", "answer", "thinks", "ignored"),
    [
        (False, "I think", "A", None, True),
        (False, "  \n", "A", True, False),
        (True, "", "A", True, True),
        (True, "", "A", None, False),
        (True, "", "A", False, False),
        (True, "hmm", "A", True, False),
        (False, "", "", True, None),
    ],
)
def test_the_check_after_a_run(
    asked: bool, reasoning: str, answer: str, thinks: bool | None, ignored: bool | None
) -> None:
    check = check_thinking(asked, reasoning, answer, thinks)
    assert check.ignored is ignored
    assert (check.warning is not None) is bool(ignored)
    # It thought if reasoning arrived; with nothing at all, as asked. "Asked on, no
    # reasoning" recorded "thinking ran: yes" beside "no reasoning arrived".
    arrived = reasoning.strip() or answer.strip()
    assert check.ran is (bool(reasoning.strip()) if arrived else asked)
    assert check.recorded()["thinking_ran"] is check.ran


@pytest.mark.parametrize("asked", [True, False])
@pytest.mark.parametrize("reasoning", ["I think", ""])
def test_a_server_with_no_switch_ignored_nothing_and_thought_if_reasoning_came(
    asked: bool, reasoning: str
) -> None:
    """A plain OpenAI-compatible server is sent no switch: its runs were recorded
    "thinking switch sent: not sent" and "ignored: yes" at once, and rated by the ask."""
    check = check_thinking(asked, reasoning, "A", None, switch_sent=False)
    assert check.ignored is None and check.warning is None
    assert check.ran is bool(reasoning)
    assert check.note.startswith("no thinking switch was sent")
