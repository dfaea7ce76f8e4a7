"""Fold a generation's events into what a session records about the run.

Used by the TUI and by headless runs alike, so both save the same things.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Literal

from pelican_tui.backends import events
from pelican_tui.backends.store.records import recorded_number

RunOutcome = Literal["running", "finished", "failed", "cancelled"]

SILENT_KEY = "silent_s"
"""The timings' key for :attr:`RunAccumulator.silent_s` (recorded only when not 0)."""


def silence_warning(timings: dict[str, Any]) -> str | None:
    """A run's silence mid-answer in a sentence, or None: a server suspended or stuck,
    a network stall. Its tokens per second count that time (the server's clock, or
    ours, ran on), so a person should not read it as the model's speed."""
    silent = recorded_number(timings.get(SILENT_KEY))
    if silent is None or silent <= 0:
        return None
    return f"the stream was silent for {silent:.0f} s mid-answer; its tok/s counts that time"


class RunAccumulator:
    """Collects thinking, answer and numbers from a stream of events."""

    def __init__(self) -> None:
        self._thinking: list[str] = []
        self._answer: list[str] = []
        self.model: str | None = None
        self.live: events.LiveStats | None = None
        self.finished: events.Finished | None = None
        self.failed: events.Failed | None = None
        self.answer_version = 0
        """Bumped on every answer delta (cheap change detection for previews)."""
        self._silent_s = 0.0
        self._silence = 0.0
        self._streaming = False

    @property
    def silent_s(self) -> float:
        """Seconds the stream was silent mid-answer, summed over its silences (each one
        long enough for :class:`~.events.Waiting`; the wait for the first token is the
        time to it, not a silence)."""
        return self._silent_s + self._silence

    def feed(self, event: events.GenerationEvent) -> None:
        if isinstance(event, events.Waiting):
            if self._streaming:
                self._silence = event.idle_s
            return
        if self._silence:
            self._silent_s += self._silence
            self._silence = 0.0
        self._streaming = self._streaming or isinstance(
            event, events.TextDelta | events.ThinkingDelta | events.LiveStats
        )
        match event:
            case events.TextDelta(text=text):
                self._answer.append(text)
                self.answer_version += 1
            case events.ThinkingDelta(text=text):
                self._thinking.append(text)
            case events.LiveStats():
                self.live = event
            case events.Started(model=model):
                self.model = model
            case events.Finished():
                self.finished = event
            case events.Failed():
                self.failed = event

    def cancel(self) -> None:
        if self.finished is None and self.failed is None:
            self.failed = events.Failed("cancelled", cancelled=True)

    @property
    def thinking_text(self) -> str:
        if len(self._thinking) > 1:
            self._thinking[:] = ["".join(self._thinking)]
        return self._thinking[0] if self._thinking else ""

    @property
    def answer_text(self) -> str:
        if len(self._answer) > 1:
            self._answer[:] = ["".join(self._answer)]
        return self._answer[0] if self._answer else ""

    @property
    def finished_at_token_limit(self) -> bool:
        """It finished because it reached the request's ``max_tokens``."""
        return self.finished is not None and self.finished.at_token_limit

    @property
    def outcome(self) -> RunOutcome:
        if self.finished is not None:
            return "finished"
        if self.failed is not None:
            return "cancelled" if self.failed.cancelled else "failed"
        return "running"

    def timings(self) -> dict[str, Any]:
        timings: dict[str, Any] = {}
        if self.finished is not None:
            timings = asdict(self.finished.timings)
        elif self.live is not None:
            timings = {
                "time_to_first_token_s": self.live.time_to_first_token_s,
                "generation_tokens_per_s": self.live.tokens_per_s,
                "generated_tokens": self.live.tokens,
            }
        if self.silent_s:
            timings[SILENT_KEY] = round(self.silent_s, 1)
        return timings

    def usage(self) -> dict[str, Any]:
        if self.finished is not None:
            usage = asdict(self.finished.usage)
            if self.finished.stop_reason is not None:
                usage["stop_reason"] = self.finished.stop_reason
            return usage
        if self.live is not None:
            return {"output_tokens": self.live.tokens, "thinking_tokens": self.live.thinking_tokens}
        return {}


def finished_from_record(
    timings: dict[str, Any] | None, usage: dict[str, Any] | None
) -> events.Finished:
    """The :class:`~.events.Finished` event a stored run's timings and usage describe.

    The inverse of :meth:`RunAccumulator.timings` / :meth:`RunAccumulator.usage`:
    an opened session shows its numbers as they were. Unknown keys (from an
    older or newer schema) are ignored.
    """

    def known(cls: type[Any], values: dict[str, Any] | None) -> dict[str, Any]:
        names = {f.name for f in fields(cls)}
        return {k: v for k, v in (values or {}).items() if k in names}

    stop_reason = (usage or {}).get("stop_reason")
    return events.Finished(
        events.Timings(**known(events.Timings, timings)),
        events.Usage(**known(events.Usage, usage)),
        stop_reason if isinstance(stop_reason, str) else None,
    )
