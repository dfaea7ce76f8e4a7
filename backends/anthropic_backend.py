"""Claude through Anthropic's Messages API, streamed as typed generation events.

The ``anthropic`` SDK takes over a second to import, so it is imported lazily,
in a thread, the first time a generation starts: importing this module costs
only the standard library and the small event/protocol modules.

The API key comes from the constructor or ``ANTHROPIC_API_KEY``; it is held in
a :class:`Secret` so no ``repr``, ``vars()`` dump or traceback with locals
shows it, and it is scrubbed from every failure reason.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from pelican_tui.backends import events
from pelican_tui.backends.clients import PROXY_HINT, PerLoop, proxy_words, reach_options
from pelican_tui.backends.idle import (
    DEFAULT_IDLE_TIMEOUT_S,
    IdleRule,
    StreamIdle,
    idle_failure,
    watch_idle,
)
from pelican_tui.backends.pacing import PacedStream, pace_reads, paced_client
from pelican_tui.backends.protocol import EFFORTS, BackendStatus, Capabilities, GenerationRequest
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.text import shorten
from pelican_tui.backends.urls import server_url_problem

if TYPE_CHECKING:
    import anthropic

    from pelican_tui.backends.settings import ClaudeSettings

API_KEY_ENV: Final = "ANTHROPIC_API_KEY"
BASE_URL_ENV: Final = "ANTHROPIC_BASE_URL"
"""Where the SDK sends requests instead of Anthropic's API (a proxy, a test server)."""
ANTHROPIC_API: Final = "https://api.anthropic.com"
"""Where the SDK sends requests when neither ``claude.base_url`` nor :data:`BASE_URL_ENV`
names another endpoint."""
LIVE_STATS_INTERVAL_S: Final = 0.1
"""Live numbers are sent at most this often (10 per second)."""
CHARS_PER_TOKEN: Final = 4
"""Rough characters per token, for live counts before the API reports usage."""
THINKING_ON: Final = {"type": "adaptive", "display": "summarized"}
"""Opus 4.7 accepts only adaptive thinking; without ``display`` it sends empty blocks."""
_MAX_DETAIL_CHARS: Final = 200
PERMANENT_STATUSES: Final = frozenset({401, 403, 404})
"""Anthropic refused the side itself (the key, its permission, no such model or no API
there): any request sent again is refused again. Not 400: that is one request's fault (a
prompt too long, a thinking setting), and the next prompt or mode may be sent."""


class Secret:
    """A string that never shows itself in ``repr``/``str``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        """``text`` with this key, and anything else the secret policy knows, redacted."""
        return scrub_text(text, (self._value,))

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def endpoint(settings: ClaudeSettings) -> str:
    """Where the SDK sends requests: ``claude.base_url``, else :data:`BASE_URL_ENV`, else
    :data:`ANTHROPIC_API`."""
    return settings.base_url or os.environ.get(BASE_URL_ENV, "").strip() or ANTHROPIC_API


def sdk_client(sdk: ModuleType, settings: ClaudeSettings, api_key: str) -> Any:
    """An SDK client for Claude's ``settings`` (the judge's calls use them too): it
    reaches the endpoint as every server is reached (:func:`reach_options`: the
    process's one TLS context, the environment's proxy but for loopback), and its
    connections' reads can be paced once an answer streams (see :func:`_sdk_events`).
    ``sdk`` is the imported ``anthropic`` module."""
    http_client = paced_client(sdk.DefaultAsyncHttpxClient(**reach_options(endpoint(settings))))
    return sdk.AsyncAnthropic(
        api_key=api_key,
        base_url=settings.base_url or None,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
        http_client=http_client,
    )


def _import_sdk() -> ModuleType:
    import anthropic

    return anthropic


def _estimate_tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


def _one_line(text: str | None) -> str:
    return shorten(text or "", _MAX_DETAIL_CHARS)


class ClaudeBackend:
    """Claude (default ``claude-opus-4-7``) as a :class:`ModelBackend`."""

    name: str = "claude"
    capabilities: Capabilities = Capabilities(
        can_cancel=True,
        owns_process=False,
        supports_thinking=True,
        supports_effort=True,
        efforts=EFFORTS,
    )

    def __init__(
        self,
        settings: ClaudeSettings,
        *,
        api_key: str | None = None,
        idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
    ) -> None:
        """``api_key`` overrides ``ANTHROPIC_API_KEY`` (read once, here);
        ``idle_timeout_s`` is the ``idle_timeout_s`` setting (see :mod:`.idle`)."""
        self._settings = settings
        self.idle = IdleRule(idle_timeout_s)
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
        key = key.strip()
        self._key: Secret | None = Secret(key) if key else None
        self._client: PerLoop[Any] = PerLoop(
            is_closed=lambda client: bool(client.is_closed()),
            close=lambda client: client.close(),
        )
        """The SDK client, made at the first generation and kept (:meth:`_sdk_client`)."""

    def __repr__(self) -> str:
        key = "set" if self._key is not None else "missing"
        return f"ClaudeBackend(model={self._settings.model!r}, api_key={key})"

    @property
    def settings(self) -> ClaudeSettings:
        return self._settings

    # -- ModelBackend ----------------------------------------------------------------

    def status(self) -> BackendStatus:
        if not self._settings.enabled and self._settings.off_origin:
            return BackendStatus(
                ready=False,
                message=f"Claude is off: the {self._settings.off_origin} flag turned it off",
            )
        if not self._settings.enabled:
            return BackendStatus(
                ready=False,
                message="Claude is disabled in the settings (claude.enabled = false)",
                hint="set claude.enabled = true in the config to compare with Claude",
            )
        if self._key is None:
            return BackendStatus(
                ready=False,
                message=f"{API_KEY_ENV} is not set",
                hint=f"set {API_KEY_ENV} and start pelican-tui again to compare with Claude",
            )
        base_url = os.environ.get(BASE_URL_ENV, "").strip()
        problem = server_url_problem(base_url) if base_url else None
        if problem is not None:
            return BackendStatus(
                ready=False,
                message=f"{BASE_URL_ENV} {problem}",
                hint=f"correct or unset {BASE_URL_ENV} and start pelican-tui again",
            )
        return BackendStatus(ready=True, message=f"Claude ready ({self._settings.model})")

    def describe(self) -> dict[str, str]:
        thinking = self._settings.thinking
        return {
            "model": self._settings.model,
            "thinking": "adaptive (summarized)" if thinking else "off",
            "effort": self._settings.effort if thinking else "default",
        }

    def message_params(self, request: GenerationRequest) -> dict[str, Any]:
        """The keyword arguments sent to ``client.messages.stream`` for ``request``.

        Thinking on: ``thinking={"type": "adaptive", "display": "summarized"}`` and
        ``output_config={"effort": request.effort}``. Thinking off: no ``thinking``
        and no ``output_config`` at all: omitting it means no thinking on every
        model, while ``{"type": "disabled"}`` is a 400 on the adaptive-only ones.
        ``request.sampling`` is not sent: the SDK no longer takes
        temperature/top_p/top_k for these models.
        """
        params: dict[str, Any] = {
            "model": self._settings.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if request.system:
            params["system"] = request.system
        if request.thinking:
            params["thinking"] = dict(THINKING_ON)
            params["output_config"] = {"effort": request.effort}
        return params

    async def generate(
        self, request: GenerationRequest
    ) -> AsyncGenerator[events.GenerationEvent, None]:
        """Stream one answer; ends with exactly one ``Finished`` or ``Failed``.

        An async generator (so ``aclose()`` is typed), which satisfies the
        protocol's ``AsyncIterator``.

        Closing the iterator or cancelling its task closes the HTTP stream
        (Anthropic stops generating) and the exception propagates: nothing is
        yielded after cancellation.
        """
        status = self.status()
        if not status.ready or self._key is None:
            yield events.Failed(status.message, hint=status.hint)
            return
        import asyncio  # here: even asyncio costs tens of ms to import

        try:
            sdk = await asyncio.to_thread(_import_sdk)
        except ImportError:
            yield events.Failed(
                "the anthropic package is not installed", hint="pip install anthropic"
            )
            return

        params = self.message_params(request)
        run = _Run(default_model=self._settings.model)
        failure: events.Failed | None = None
        try:
            client = self._sdk_client(sdk, self._key)
            answer = _sdk_events(client, params, within_s=self._settings.timeout_s)
            async with contextlib.aclosing(
                watch_idle(answer, self.idle, ended=lambda: run.finished is not None)
            ) as stream:
                async for event in stream:
                    if isinstance(event, events.Waiting):
                        yield event
                        continue
                    for out in run.handle(event):
                        yield out
        except StreamIdle as idle:
            failure = idle_failure("Anthropic", idle, "check the network connection")
        except Exception as err:
            failure = self.describe_failure(sdk, err, mid_stream=run.started)
        if failure is None and run.finished is None and not run.started:
            failure = events.Failed(  # e.g. an HTML page: a proxy's, or a wrong base URL
                "Anthropic's reply held no answer (not a stream of its API's events)",
                hint=f"check {BASE_URL_ENV} if set, or try again",
            )
        if failure is None and run.finished is None:
            failure = events.Failed(
                "the connection to Anthropic ended before the answer was complete",
                hint="try again",
            )
        if failure is not None:
            hint = self._key.scrub(failure.hint) if failure.hint else None
            yield replace(failure, reason=self._key.scrub(failure.reason), hint=hint)
            return
        assert run.finished is not None
        yield run.final_stats()
        yield run.finished

    def _sdk_client(self, sdk: ModuleType, key: Secret) -> Any:
        """The SDK client (:func:`sdk_client`), made once and kept for the backend's life
        (:meth:`aclose`).

        A client per run built an HTTP client and a TLS context each time
        (the system's CA certificates loaded again, ~25 ms); this one keeps its
        connection to Anthropic between runs. A client belongs to one event loop:
        used from another, a new one is made.
        """
        return self._client.get(lambda: sdk_client(sdk, self._settings, key.reveal()))

    async def aclose(self) -> None:
        """Close the SDK client (its connections); a later generation makes a new one."""
        await self._client.aclose()

    # -- errors ----------------------------------------------------------------------

    def describe_failure(
        self, sdk: ModuleType, err: Exception, *, mid_stream: bool = False
    ) -> events.Failed:
        """What went wrong with a call, in one line a person can act on, and a hint;
        never the key, never a traceback. ``sdk`` is the imported ``anthropic``
        module (its exception classes); the judge words its failures with it too."""
        import httpx2

        api: Any = sdk  # the SDK's exception classes, without importing them at the top
        where = " mid-answer" if mid_stream else ""
        if isinstance(err, api.APITimeoutError | httpx2.TimeoutException | TimeoutError):
            # TimeoutError: claude.timeout_s, the bound on the whole call, ran out.
            limit = f"timeout {self._settings.timeout_s:g} s"
            if mid_stream:
                return events.Failed(
                    f"Anthropic's answer did not finish in time ({limit})",
                    hint="raise claude.timeout_s: it bounds the whole answer",
                )
            return events.Failed(
                f"Anthropic did not answer in time ({limit})",
                hint="check the network, or raise claude.timeout_s",
            )
        if isinstance(err, api.APIConnectionError) and not mid_stream:
            from pelican_tui.backends.connection import connection_problem

            problem = connection_problem(err)  # its causes say it: refused, no such host, TLS
            why = "" if problem == "the connection failed" else f": {problem}"
            through = proxy_words(endpoint(self._settings))
            return events.Failed(
                f"could not reach Anthropic at {self._host(err)}{through}{why}",
                hint=PROXY_HINT
                if through
                else f"check the network connection (and {BASE_URL_ENV} if set)",
            )
        if isinstance(err, httpx2.TransportError | api.APIConnectionError):
            # Mid-answer, Anthropic was reached: whatever wraps the failure, it is a cut.
            return events.Failed(
                f"the connection to Anthropic was cut{where}",
                hint="try again",
            )
        if isinstance(err, api.APIStatusError):
            return self._status_failure(err)
        if isinstance(err, ValueError) and "JSON" in type(err).__name__ + str(err):
            return events.Failed(
                f"Anthropic sent something that is not its API's JSON{where}",
                hint=f"check {BASE_URL_ENV} if set, or try again",
            )
        if isinstance(err, AttributeError | TypeError | IndexError | KeyError):
            # The SDK read an event of another shape (a field null, an index unknown).
            return events.Failed(
                f"Anthropic sent an event of a shape its API does not use{where}",
                hint=f"check {BASE_URL_ENV} if set, or try again",
            )
        detail = _one_line(str(err))
        return events.Failed(
            f"Claude failed: {type(err).__name__}" + (f": {detail}" if detail else ""),
            hint="try again; if it persists, report it",
        )

    def _status_failure(self, err: anthropic.APIStatusError) -> events.Failed:
        """The failure an HTTP status says; refused for good (``permanent``) when Anthropic
        refused the side itself (401, 403, 404) rather than for now or this request."""
        failure = self._status_words(err)
        if err.status_code in PERMANENT_STATUSES:
            return replace(failure, permanent=True)
        return failure

    def _status_words(self, err: anthropic.APIStatusError) -> events.Failed:
        status = err.status_code
        kind = err.type or ""
        message = _one_line(err.api_message)
        # An SSE `error` event arrives on a 200 response: its body's type says what it was.
        where = f"{status}" if status >= 400 else "mid-answer"
        model = self._settings.model
        if status == 401 or kind == "authentication_error":
            return events.Failed(
                f"Anthropic rejected the API key ({where})",
                hint=f"check {API_KEY_ENV}",
                briefly="key refused",
            )
        if status == 403 or kind == "permission_error":
            return events.Failed(
                f"Anthropic refused the request: permission denied ({where})",
                hint=f"check that the key's workspace may use {model}",
                briefly="permission denied",
            )
        if status == 404 and kind != "not_found_error":  # no API error: another server's 404
            return events.Failed(
                f"the server at {self._host(err)} is not Anthropic's API (404)",
                hint=f"check {BASE_URL_ENV}",
                briefly="not Anthropic's API",
            )
        if kind == "not_found_error":
            return events.Failed(
                f"Anthropic does not know model {model!r} ({where})",
                hint="check claude.model in the config",
                briefly="no such model",
            )
        if status == 429 or kind == "rate_limit_error":
            retry_after = err.response.headers.get("retry-after")
            wait = f"wait {retry_after} s" if retry_after else "wait a minute"
            return events.Failed(
                f"Anthropic rate limit reached ({where})", hint=f"{wait} and try again"
            )
        if status == 529 or kind == "overloaded_error":
            return events.Failed(
                f"Anthropic is overloaded ({where})", hint="try again in a few minutes"
            )
        if status == 413:
            return events.Failed(f"the request is too large for Anthropic ({where})", hint=None)
        if status == 400 or kind == "invalid_request_error":
            detail = f": {message}" if message else ""
            return events.Failed(
                f"Anthropic rejected the request ({where}){detail}",
                hint="check claude.model, claude.effort and claude.max_tokens in the config",
            )
        detail = f": {message}" if message else ""
        return events.Failed(f"Anthropic server error ({where}){detail}", hint="try again")

    def _host(self, err: Exception) -> str:
        request = getattr(err, "request", None)
        url = getattr(request, "url", None)
        host = getattr(url, "host", None)
        port = getattr(url, "port", None)
        if isinstance(host, str) and host:
            return f"{host}:{port}" if isinstance(port, int) else host
        return "its API endpoint"


async def _sdk_events(
    client: Any, params: dict[str, Any], *, within_s: float
) -> AsyncIterator[Any]:
    """The SDK's stream events, the request closed when this ends (the client is kept).

    One async generator, so the idle rule covers the wait for the response as
    well as the stream, and closing it closes the HTTP stream. From the first
    piece of the answer on, the connection is read in batches
    (:mod:`~pelican_tui.backends.pacing`), and as data comes again once the
    stream is over: the client keeps the connection for its next request.

    The whole call, the SDK's retries and its waits between them included, has
    ``within_s`` seconds (``claude.timeout_s``); then it raises ``TimeoutError``.
    The SDK's own ``timeout`` bounds each of its waits for the network, not the
    call: a server that never answers cost the timeout once per attempt, and a
    stream that kept trickling was never cut. The limit may be armed across
    ``yield`` because :func:`~pelican_tui.backends.idle.watch_idle` reads this
    generator in a task of its own that awaits nothing else between items.
    """
    import asyncio

    async with asyncio.timeout(within_s), client.messages.stream(**params) as stream:
        paced: PacedStream | None = None
        answering = False
        try:
            async for event in stream:
                yield event
                if not answering and getattr(event, "type", None) == "content_block_delta":
                    paced, answering = pace_reads(stream.response), True
        finally:
            if paced is not None:
                paced.pace(0)


class _Run:
    """Turns the SDK's stream events into generation events and keeps the numbers."""

    def __init__(self, *, default_model: str) -> None:
        self.default_model = default_model
        self.started = False
        self.start = time.monotonic()
        self.first_token_at: float | None = None
        self.last_live_at = -math.inf
        self.thinking_chars = 0
        self.text_chars = 0
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.thinking_tokens: int | None = None
        self.stop_reason: str | None = None
        self.finished: events.Finished | None = None

    def handle(self, event: Any) -> list[events.GenerationEvent]:
        kind = getattr(event, "type", None)
        now = time.monotonic()
        if kind == "message_start":
            self.started = True
            message = event.message
            self._read_usage(message.usage)
            return [events.Started(model=message.model or self.default_model)]
        if kind == "thinking":
            return self._delta(events.ThinkingDelta(event.thinking), now)
        if kind == "text":
            return self._delta(events.TextDelta(event.text), now)
        if kind == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self._read_usage(event.usage)
            return []
        if kind == "message_stop":
            self.finished = self._finish(now)
        return []

    def _read_usage(self, usage: Any) -> None:
        if usage is None:
            return
        input_tokens = getattr(usage, "input_tokens", None)
        if isinstance(input_tokens, int):
            cached = sum(
                value
                for value in (
                    getattr(usage, "cache_creation_input_tokens", None),
                    getattr(usage, "cache_read_input_tokens", None),
                )
                if isinstance(value, int)
            )
            self.input_tokens = input_tokens + cached
        output_tokens = getattr(usage, "output_tokens", None)
        if isinstance(output_tokens, int):
            self.output_tokens = output_tokens
        details = getattr(usage, "output_tokens_details", None)
        thinking_tokens = getattr(details, "thinking_tokens", None)
        if isinstance(thinking_tokens, int):
            self.thinking_tokens = thinking_tokens

    def _delta(
        self, delta: events.ThinkingDelta | events.TextDelta, now: float
    ) -> list[events.GenerationEvent]:
        if not delta.text:
            return []
        if self.first_token_at is None:
            self.first_token_at = now
        if isinstance(delta, events.ThinkingDelta):
            self.thinking_chars += len(delta.text)
        else:
            self.text_chars += len(delta.text)
        out: list[events.GenerationEvent] = [delta]
        if now - self.last_live_at >= LIVE_STATS_INTERVAL_S:
            self.last_live_at = now
            out.append(self._live(now))
        return out

    def _ttft(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.start

    def _live(self, now: float) -> events.LiveStats:
        tokens = _estimate_tokens(self.thinking_chars + self.text_chars)
        elapsed = now - self.first_token_at if self.first_token_at is not None else 0.0
        return events.LiveStats(
            tokens=tokens,
            tokens_per_s=events.decode_rate(tokens, elapsed),
            thinking_tokens=_estimate_tokens(self.thinking_chars),
            time_to_first_token_s=self._ttft(),
        )

    def _finish(self, now: float) -> events.Finished:
        output = self.output_tokens
        rate: float | None = None
        if self.first_token_at is not None and output:
            rate = events.decode_rate(output, now - self.first_token_at)
        timings = events.Timings(
            time_to_first_token_s=self._ttft(),
            generation_tokens_per_s=rate,
            total_s=now - self.start,
            prompt_tokens=self.input_tokens,
            generated_tokens=output,
        )
        usage = events.Usage(
            input_tokens=self.input_tokens,
            output_tokens=output,
            thinking_tokens=self.thinking_tokens,
        )
        return events.Finished(timings=timings, usage=usage, stop_reason=self.stop_reason)

    def final_stats(self) -> events.LiveStats:
        """The last live numbers, with the API's real usage instead of estimates."""
        assert self.finished is not None
        timings = self.finished.timings
        tokens = self.output_tokens
        if tokens is None:
            tokens = _estimate_tokens(self.thinking_chars + self.text_chars)
        thinking = self.thinking_tokens
        if thinking is None:
            thinking = _estimate_tokens(self.thinking_chars)
        return events.LiveStats(
            tokens=tokens,
            tokens_per_s=timings.generation_tokens_per_s,
            thinking_tokens=thinking,
            time_to_first_token_s=timings.time_to_first_token_s,
        )
