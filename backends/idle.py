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
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pelican_tui.backends.events import Failed, Waiting
from pelican_tui.backends.frozen import frozen

if TYPE_CHECKING:
    import asyncio

DEFAULT_IDLE_TIMEOUT_S = 120.0
"""Seconds of silence before an answer is abandoned (the ``idle_timeout_s`` default)."""
NOTICE_AFTER_S = 5.0
"""Seconds of silence before the first :class:`~.events.Waiting` (shorter for short timeouts)."""
TICK_S = 1.0
"""How often :class:`~.events.Waiting` repeats while the silence lasts."""

T = TypeVar("T")


@frozen
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


_END = object()
"""The reader's mark: the source is exhausted."""


@frozen
class _Raised:
    """The reader's mark: the source raised ``error`` (raised again to the consumer)."""

    error: Exception


class _Reader:
    """One task that reads ``source`` for the whole stream and hands its items over.

    Per item: an append, a clock read and, when the consumer waits, one future
    set. A task and an ``asyncio.wait`` with its timer per item, as before, cost
    ~50 µs more a token (a replayed llama-server stream, ~600 µs a token in
    all). The clock that notices silence is one timer, armed when the consumer
    waits and none is armed yet: while data flows it fires about once per
    notice period, finds data, and is armed again.
    """

    def __init__(
        self,
        source: AsyncIterator[Any],
        loop: asyncio.AbstractEventLoop,
        keep_alive: Callable[[Any], bool] | None = None,
    ) -> None:
        import asyncio

        self.items: deque[Any] = deque()
        self.loop = loop
        self.last = loop.time()
        """When the last item arrived (the request's start until the first)."""
        self._waiter: asyncio.Future[bool] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._keep_alive = keep_alive
        self.task = asyncio.ensure_future(self._read(source))

    async def _read(self, source: AsyncIterator[Any]) -> None:
        items, clock = self.items, self.loop.time
        try:
            async for item in source:
                items.append(item)
                if self._keep_alive is None or not self._keep_alive(item):
                    self.last = clock()
                if self._waiter is not None:
                    self._wake(False)
        except Exception as error:  # the consumer raises it, as a direct read would
            items.append(_Raised(error))
        else:
            items.append(_END)
        self._wake(False)

    def _wake(self, timer: bool) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._wake(True)

    async def wait(self, deadline: float) -> bool:
        """Until an item arrives (False) or the clock passes about ``deadline`` (True)."""
        timer = self._timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self.loop.call_at(deadline, self._on_timer)
        self._waiter = self.loop.create_future()
        return await self._waiter

    async def close(self) -> None:
        """Stop reading: the read in progress is cancelled, and waited for."""
        import asyncio

        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.task.done():
            self.task.cancel()
            # Waited for without raising: a CancelledError raised and suppressed here,
            # inside the aclose() of a backend's generator, left that generator
            # "already running" on CPython 3.11 (test_idle has the case).
            await asyncio.wait({self.task})


async def _read_to_end(reader: _Reader, within_s: float) -> None:
    """Take the reader's items, unseen, until its source ends or is silent ``within_s``."""
    items = reader.items
    while True:
        while items:
            item = items.popleft()
            if item is _END or isinstance(item, _Raised):
                return  # (an error after the answer's end changes nothing)
        if await reader.wait(reader.loop.time() + within_s) and not items:
            return  # still open after its end: leave it (closed by the caller)


async def watch_idle(
    source: AsyncIterator[T],
    rule: IdleRule,
    ended: Callable[[], bool] | None = None,
    keep_alive: Callable[[T], bool] | None = None,
) -> AsyncGenerator[T | Waiting, None]:
    """``source``'s items, with :class:`~.events.Waiting` while it is silent.

    Raises :class:`StreamIdle` once it has been silent for ``rule.timeout_s``;
    the read in progress is cancelled first. Whenever this iterator ends
    (exhausted, closed, cancelled, idle), ``source`` is closed too if it can
    be (``aclose``), so an async generator holding an HTTP stream lets it go.
    Wrap it in :func:`contextlib.aclosing` so that happens at once.

    ``source`` is read by one task of its own for the whole stream (see
    :class:`_Reader`); items that arrive together are handed over without a
    wait between them. Silence is counted from the last item's arrival.

    ``ended`` says when the consumer has its answer's last item (an end
    marker): this then reads ``source`` to its end without handing anything
    over, and ends, or leaves it if it is still open after the notice period.
    A consumer that instead closed this at its end marker cancelled the
    source's read while it closed its HTTP response, and httpcore's connection
    pool then kept that request for the client's life, one more per run.

    ``keep_alive`` says which items only keep the connection open (an SSE comment,
    ``: ping``): they are handed over, but are no data, so the silence goes on.
    """
    import asyncio  # here: the settings import this module, and they must stay light

    reader = _Reader(source, asyncio.get_running_loop(), keep_alive)
    items, timeout = reader.items, rule.timeout_s
    silence_from = reader.last
    next_notice = rule.notice_s
    try:
        while True:
            if items:
                item = items.popleft()
                if item is _END:
                    return
                if isinstance(item, _Raised):
                    raise item.error
                yield item
                if ended is not None and ended():
                    await _read_to_end(reader, rule.notice_s)
                    return
                continue
            if reader.last != silence_from:  # data came since the last notice
                silence_from, next_notice = reader.last, rule.notice_s
            until = next_notice if timeout is None else min(next_notice, timeout)
            if not await reader.wait(silence_from + until):
                continue
            idle = reader.loop.time() - silence_from
            if items or reader.last != silence_from or idle < until:
                continue  # data after all, or the timer ran a little early
            if timeout is not None and idle >= timeout:
                raise StreamIdle(idle)
            yield Waiting(idle)
            next_notice += rule.tick_s
    finally:
        await reader.close()
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


async def within_idle(call: Callable[[], Awaitable[T]], rule: IdleRule) -> T:
    """What ``call`` returns, by the rule of a stream with one item (a reply that is
    not streamed: the judge's): the whole wait for it is silence, and it raises
    :class:`StreamIdle` (``call`` cancelled) once that lasts ``rule.timeout_s``."""

    async def reply() -> AsyncIterator[T]:
        yield await call()

    async with contextlib.aclosing(watch_idle(reply(), rule)) as items:
        async for item in items:
            if not isinstance(item, Waiting):
                return item
    raise StreamIdle(0.0)  # never: the one item comes, or the rule raises


def idle_failure(who: str, error: StreamIdle, hint: str | None) -> Failed:
    """The one way a silent stream ends: ``no data from <who> for N s``."""
    advice = "if it is only slow, raise idle_timeout_s"
    return Failed(
        f"no data from {who} for {error.idle_s:.0f} s; gave up",
        hint=f"{hint}; {advice}" if hint else advice,
    )
