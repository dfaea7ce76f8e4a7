"""Did the server do what the thinking switch asked? Checked at the end of every run.

A user who presses ``t`` and gets thinking anyway compares the wrong thing
without knowing it; some servers do exactly that (LM Studio ignoring
``enable_thinking`` for Qwen, lmstudio-ai/lmstudio-bug-tracker#1990 and #632;
Ollama's ``/v1`` ignoring ``reasoning_effort``, ollama/ollama#17969). So:

- thinking asked **off** and reasoning arrived (a reasoning field, or a
  ``<think>`` block in the answer, non-blank): the switch was **ignored**;
- thinking asked **on**, no reasoning arrived, and the server says the model
  thinks (Ollama's ``thinking`` capability, LM Studio's reasoning setting,
  llama.cpp's template reacting to ``enable_thinking``): **ignored**;
- otherwise it was not ignored; a run that produced nothing cannot tell;
- a server with no known switch, or a model without one (the server says so),
  was sent none, so it ignored nothing: the run thought if reasoning arrived.

What is recorded (the run's ``settings``, read by exports and ratings):

- ``thinking_switch_ignored``: true / false / null (nothing arrived to judge
  by, or no switch was sent);
- ``thinking_ran``: whether the run thought, as far as can be told: reasoning
  arrived (or, with nothing at all arrived, what was asked); ratings rate this,
  not the ask;
- ``thinking_check``: one sentence saying what was asked and what arrived.

A session with an ignored switch gets `` · thinking switch ignored`` in its
title; the pane shows the sentence (:attr:`ThinkingCheck.warning`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pelican_tui.backends.frozen import frozen

if TYPE_CHECKING:
    from pelican_tui.backends.engine.record import RunAccumulator
    from pelican_tui.backends.engine.sides import Side
    from pelican_tui.backends.protocol import GenerationRequest

IGNORED_TITLE_NOTE = "thinking switch ignored"
"""Added to the title of a session in which a run's thinking switch was ignored."""

IGNORED_SWITCH_NOTE = "ignored by the server"
"""After a pane's header's thinking ("thinking off (ignored by the server)") while the
last run that sent its switch found it ignored (:meth:`~.sides.Side.switch_ignored`)."""


@frozen
class ThinkingCheck:
    """What a run asked of the thinking switch, and what arrived."""

    asked: bool
    reasoning_chars: int
    ignored: bool | None
    """True: the server ignored the switch; None: nothing arrived to judge by, or
    no switch was sent."""
    note: str
    ran: bool
    """Whether the run thought: reasoning arrived (``asked`` when nothing did)."""

    @property
    def warning(self) -> str | None:
        """The sentence a pane shows when the switch was ignored (else None)."""
        return self.note if self.ignored else None

    def recorded(self) -> dict[str, Any]:
        """The keys merged into the run's recorded settings."""
        return {
            "thinking_switch_ignored": self.ignored,
            "thinking_ran": self.ran,
            "thinking_check": self.note,
        }


def check_thinking(
    asked: bool,
    thinking_text: str,
    answer_text: str,
    model_thinks: bool | None = None,
    *,
    switch_sent: bool = True,
) -> ThinkingCheck:
    """Judge one run (see the module doc). ``model_thinks``: what the server says;
    ``switch_sent``: whether the request carried a thinking switch."""
    reasoning = len(thinking_text.strip())
    if not reasoning and not answer_text.strip():
        note = "nothing arrived, so whether the thinking switch was followed is unknown"
        return ThinkingCheck(asked, 0, None, note, asked)
    if not switch_sent:
        arrived = "reasoning arrived" if reasoning else "no reasoning arrived"
        none = "the model has none" if model_thinks is False else "none is known for this server"
        note = f"no thinking switch was sent ({none}); {arrived}"
        return ThinkingCheck(asked, reasoning, None, note, bool(reasoning))
    if not asked and reasoning:
        note = (
            "The server ignored the thinking switch: thinking was asked off, but "
            f"{reasoning:,} characters of reasoning arrived. This is not a thinking-off run."
        )
        return ThinkingCheck(asked, reasoning, True, note, True)
    if asked and not reasoning and model_thinks:
        note = (
            "The server ignored the thinking switch: thinking was asked on, and the "
            "server says this model thinks, but no reasoning arrived."
        )
        return ThinkingCheck(asked, reasoning, True, note, False)
    if asked and not reasoning:
        why = (
            "this model's chat template has no thinking switch"
            if model_thinks is False
            else "the model may not think"
        )
        note = f"thinking was asked on; no reasoning arrived ({why})"
        return ThinkingCheck(asked, 0, False, note, False)  # it did not think
    if asked:
        note = "thinking was asked on, and reasoning arrived"
        return ThinkingCheck(asked, reasoning, False, note, asked)
    note = "thinking was asked off, and no reasoning arrived"
    return ThinkingCheck(asked, 0, False, note, asked)


def check_run_thinking(
    side: Side, request: GenerationRequest, acc: RunAccumulator
) -> ThinkingCheck:
    """:func:`check_thinking` for a run of ``side`` that streamed into ``acc``."""
    return check_thinking(
        request.thinking,
        acc.thinking_text,
        acc.answer_text,
        side.model_thinks(),
        switch_sent=side.backend.capabilities.supports_thinking,
    )


def same_request_note(label: str) -> str:
    """What a comparison of thinking on and off says when ``label``'s side has no
    thinking switch: the two runs send the same request (but for each mode's sampling)."""
    return (
        f"{label} has no thinking switch: its thinking on and off runs send the same "
        "request (only the sampling recommended for each mode differs), so they compare "
        "two samples, not thinking"
    )


StoreCall = Callable[..., Awaitable[Any]]


async def record_thinking_check(
    store_call: StoreCall, run_id: object, session_id: int | None, check: ThinkingCheck
) -> None:
    """Merge the check into the run's settings; note an ignored switch in the session's title.

    ``store_call(method, *args)`` is the run's store caller (it keeps failures
    to itself, so a check never costs a run its record); ``run_id`` is the run's id,
    or its recorder's stand-in while its row is not written (None: no store)."""
    if run_id is not None:
        await store_call("update_run_settings", run_id, check.recorded())
    if check.ignored and session_id is not None:
        await store_call("add_title_note", session_id, IGNORED_TITLE_NOTE)


__all__ = [
    "IGNORED_SWITCH_NOTE",
    "IGNORED_TITLE_NOTE",
    "ThinkingCheck",
    "check_run_thinking",
    "check_thinking",
    "record_thinking_check",
    "same_request_note",
]
