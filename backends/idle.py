"""One rule for a stream that goes quiet, the same for every backend.

A model's answer streams from a server (llama-server, any OpenAI-compatible
URL, Anthropic). When nothing arrives for a while the server may be busy, stuck,
suspended (SIGSTOP) or gone without closing the connection; a person should
see that, and the run should not hang. So every backend reads its stream
through :func:`watch_idle`:

- after :attr:`IdleRule.notice_s` seconds without data it yields
  :class:`~pelican_tui.backends.events.Waiting` events (every
  :attr:`IdleRule.tick_s` seconds while the silence lasts), which a pane shows
  as "no data for N s";
- after :attr:`IdleRule.timeout_s` seconds (the ``idle_timeout_s`` setting) it
  cancels the read and raises :class:`StreamIdle`; the backend closes its HTTP
  stream (which stops the generation server-side) and ends with
  ``Failed("no data from <server> for N s")`` (:func:`idle_failure`).

The wait for the response's headers and for the first token count as silence
too: a server that accepted the connection and never answers is caught the
same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pelican_tui.backends.events import Failed, Waiting

if TYPE_CHECKING:
    import asyncio

DEFAULT_IDLE_TIMEOUT_S = 120.0
"""Seconds of silence before an answer is abandoned (the ``idle_timeout_s`` default)."""
NOTICE_AFTER_S = 5.0
"""Seconds of silence before the first :class:`~.events.Waiting` (shorter for short timeouts)."""
TICK_S = 1.0
"""How often :class:`~.events.Waiting` repeats while the silence lasts."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IdleRule:
    """How long a stream may be silent: ``timeout_s`` (None: forever, but still noticed)."""

    timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S

    @property
    def notice_s(self) -> float:
        """When silence is first reported: :data:`NOTICE_AFTER_S`, or a quarter of a
        short timeout, so there is always something to see before the failure."""
        if self.timeout_s is None:
            return NOTICE_AFTER_S
        return min(NOTICE_AFTER_S, self.timeout_s / 4)

    @property
    def tick_s(self) -> float:
        return min(TICK_S, self.notice_s)


class StreamIdle(Exception):
    """Nothing arrived for :attr:`idle_s` seconds, the rule's timeout."""

    def __init__(self, idle_s: float) -> None:
        super().__init__(f"no data for {idle_s:.0f} s")
        self.idle_s = idle_s


async def _next(source: AsyncIterator[T]) -> T:
    return await anext(source)


async def watch_idle(source: AsyncIterator[T], rule: IdleRule) -> AsyncGenerator[T | Waiting, None]:
    """``source``'s items, with :class:`~.events.Waiting` while it is silent.

    Raises :class:`StreamIdle` once it has been silent for ``rule.timeout_s``;
    the read in progress is cancelled first. Whenever this iterator ends
    (exhausted, closed, cancelled, idle), ``source`` is closed too if it can
    be (``aclose``), so an async generator holding an HTTP stream lets it go.
    Wrap it in :func:`contextlib.aclosing` so that happens at once.
    """
    import asyncio  # here: the settings import this module, and they must stay light

    loop = asyncio.get_running_loop()
    pending: asyncio.Task[T] | None = None
    try:
        while True:
            pending = asyncio.ensure_future(_next(source))
            since = loop.time()
            next_notice = rule.notice_s
            while True:
                idle = loop.time() - since
                until = next_notice if rule.timeout_s is None else min(next_notice, rule.timeout_s)
                done, _ = await asyncio.wait({pending}, timeout=max(0.0, until - idle))
                if done:
                    break
                idle = loop.time() - since
                if rule.timeout_s is not None and idle >= rule.timeout_s:
                    raise StreamIdle(idle)
                if idle >= next_notice:
                    yield Waiting(idle)
                    next_notice += rule.tick_s
            task, pending = pending, None
            try:
                item = task.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


def idle_failure(who: str, error: StreamIdle, hint: str | None) -> Failed:
    """The one way a silent stream ends: ``no data from <who> for N s``."""
    advice = "if it is only slow, raise idle_timeout_s"
    return Failed(
        f"no data from {who} for {error.idle_s:.0f} s; gave up",
        hint=f"{hint}; {advice}" if hint else advice,
    )
