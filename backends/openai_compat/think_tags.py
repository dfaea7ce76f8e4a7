"""Reasoning written into the answer as ``<think>…</think>``, told apart as it streams.

Some servers put a model's reasoning in the answer text instead of a separate
field: LM Studio when "separate reasoning_content" is off or for MLX models
(lmstudio-ai/lmstudio-bug-tracker#632 shows ``"content": "<think>\\nOkay, …"``),
and any server whose reasoning parser is off. A ``<think>`` block at the very
start of the answer is reasoning; anything else is answer. Tags may be split
across chunks, so a piece that could still become a tag is held back.
"""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"


class ThinkTags:
    """Feed answer text as it arrives; get back (is_thinking, text) pieces."""

    def __init__(self) -> None:
        self._state = "start"
        """start (no answer text yet), inside (a think block), answer."""
        self._held = ""

    @property
    def answering(self) -> bool:
        """Past any ``<think>`` block: text now is answer as it comes (nothing held)."""
        return self._state == "answer"

    def feed(self, text: str) -> list[tuple[bool, str]]:
        if self._state == "answer":
            return [(False, text)] if text else []
        self._held += text
        out: list[tuple[bool, str]] = []
        if self._state == "start":
            lead = self._held.lstrip()
            if OPEN.startswith(lead):  # empty, or a tag not complete yet
                return out
            if not lead.startswith(OPEN):
                self._state, held, self._held = "answer", self._held, ""
                return [(False, held)]
            self._state, self._held = "inside", lead[len(OPEN) :]
        end = self._held.find(CLOSE)
        if end >= 0:
            thinking, rest = self._held[:end], self._held[end + len(CLOSE) :]
            self._state, self._held = "answer", ""
            if thinking.strip():  # Qwen's "thinking off" block is an empty one
                out.append((True, thinking))
            rest = rest.lstrip("\n")
            if rest:
                out.append((False, rest))
            return out
        keep = _partial_suffix(self._held, CLOSE)
        ready = self._held[: len(self._held) - keep]
        if ready.strip():  # whitespace waits: the block may turn out empty
            self._held = self._held[len(ready) :]
            out.append((True, ready))
        return out

    def close(self) -> list[tuple[bool, str]]:
        """What is still held when the answer ends (an unclosed block stays reasoning)."""
        held, self._held = self._held, ""
        inside = self._state == "inside"
        if not held.strip() if inside else not held:
            return []
        return [(inside, held)]


def _partial_suffix(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could be the start of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
