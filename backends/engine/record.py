"""Fold a generation's events into what a session records about the run.

Used by the TUI and by headless runs alike, so both save the same things.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, Literal

from pelican_tui.backends import events

RunOutcome = Literal["running", "finished", "failed", "cancelled"]


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

    def feed(self, event: events.GenerationEvent) -> None:
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
        if self.finished is not None:
            return asdict(self.finished.timings)
        if self.live is not None:
            return {
                "time_to_first_token_s": self.live.time_to_first_token_s,
                "generation_tokens_per_s": self.live.tokens_per_s,
                "generated_tokens": self.live.tokens,
            }
        return {}

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
