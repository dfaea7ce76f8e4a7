"""The typed events a generation streams, the same for every backend.

A generation is an async iterator of these small frozen dataclasses. It always
ends with exactly one :class:`Finished` or :class:`Failed`, so a consumer never
has to guess whether a stream hung or completed.
"""

from __future__ import annotations

from dataclasses import field

from pelican_tui.backends.frozen import frozen


@frozen
class Usage:
    """Token counts for one generation (None where the backend does not say)."""

    input_tokens: int | None = None
    """The prompt as the model read it (with Claude, cached input counted in)."""
    output_tokens: int | None = None
    """Everything the model wrote: the reasoning and the answer."""
    thinking_tokens: int | None = None
    """The reasoning's share of ``output_tokens`` (counted or estimated)."""


@frozen
class Timings:
    """How long a generation took, in the units a person reads."""

    time_to_first_token_s: float | None = None
    """Seconds from sending the request to the first thinking or answer token."""
    prompt_tokens_per_s: float | None = None
    """How fast the prompt was read, as the server timed it (llama-server says;
    Claude does not)."""
    generation_tokens_per_s: float | None = None
    """How fast the model wrote: the server's own decode rate where it gives one,
    else :func:`decode_rate` measured as the answer streamed."""
    total_s: float | None = None
    """Seconds from sending the request to the end of the stream."""
    prompt_tokens: int | None = None
    """The prompt's tokens the server evaluated: llama-server's ``prompt_n`` leaves out
    those it reused from its prompt cache (:attr:`Usage.input_tokens` counts the whole
    prompt); servers that do not say, and Claude, count the whole prompt."""
    generated_tokens: int | None = None
    """The tokens written, reasoning included (as :attr:`Usage.output_tokens`)."""


MIN_RATE_SPAN_S = 0.05
"""A stream that came in less time than this (all in one read) has no rate to measure."""


def rate_measurable(tokens: int, seconds: float) -> bool:
    """Whether ``tokens`` that came over ``seconds`` from the first give a rate: more
    than one, over at least :data:`MIN_RATE_SPAN_S`. A rate a server gives live is
    shown by the same rule ("1 tok, 165.0 tok/s" is a rate from one token)."""
    return tokens > 1 and seconds >= MIN_RATE_SPAN_S


def decode_rate(tokens: int, seconds: float) -> float | None:
    """Tokens per second measured where a server gives no rate: the tokens after the
    first over the ``seconds`` from the first token to now (the first token's time is
    the prompt's); None when there is nothing to measure (one token, or an answer
    that arrived all at once)."""
    return (tokens - 1) / seconds if rate_measurable(tokens, seconds) else None


@frozen
class Started:
    """The request was accepted; ``model`` is what the backend says it runs."""

    model: str


@frozen
class ThinkingDelta:
    """A piece of the model's reasoning (Qwen ``reasoning_content``, Claude thinking)."""

    text: str


@frozen
class TextDelta:
    """A piece of the answer."""

    text: str


@frozen
class LiveStats:
    """Numbers while streaming: tokens so far and the current rate."""

    tokens: int
    """Tokens written so far, reasoning and answer together (counted by the server,
    else one per streamed piece; estimated from the text's length for Claude)."""
    tokens_per_s: float | None
    """The writing rate so far: the server's own where it sends one, else ``tokens``
    over the time since the first token; None until it can be told."""
    thinking_tokens: int = 0
    """The reasoning's share of ``tokens``."""
    time_to_first_token_s: float | None = None
    """Seconds from sending the request to the first thinking or answer token."""


@frozen
class Waiting:
    """Nothing has arrived from the server for ``idle_s`` seconds.

    Sent about once a second while a stream is silent (see
    :mod:`~pelican_tui.backends.idle`); the next event of another kind means
    data flows again. A stream silent for the ``idle_timeout_s`` setting ends
    with :class:`Failed`.
    """

    idle_s: float


@frozen
class Finished:
    """The generation completed; final timings and usage."""

    timings: Timings
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None
    """Why the model stopped, in the backend's own word ("stop", "length",
    "end_turn", "max_tokens"); None where it did not say."""

    @property
    def at_token_limit(self) -> bool:
        """The answer was cut by the request's ``max_tokens`` (the usual cause of an
        unfinished SVG), as OpenAI-compatible servers and Anthropic say it."""
        return self.stop_reason in ("length", "max_tokens")


@frozen
class Failed:
    """The generation failed; ``reason`` is one line a person can act on."""

    reason: str
    hint: str | None = None
    """The next step ("set ANTHROPIC_API_KEY", "restart the server")."""
    cancelled: bool = False
    """The run was stopped on purpose (cancelled by the user or the app), not failed."""
    permanent: bool = False
    """No request to this side can succeed: the service refused the side itself
    (Anthropic or an attached server refused the key or its permission, has no such
    model), not this request (an invalid one) nor for now (a rate limit, an overload, a
    cut connection, a timeout). A batch sends that side no more of its runs
    (:mod:`.engine.batch`)."""
    briefly: str | None = None
    """What is wrong in a few words, for the side's status where it lasts (a
    :attr:`permanent` failure: "key refused", "no such model")."""


GenerationEvent = Started | ThinkingDelta | TextDelta | LiveStats | Waiting | Finished | Failed
