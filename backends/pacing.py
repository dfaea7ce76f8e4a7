"""Reading a streamed answer in batches, a few times a second, not a token at a time.

A model's answer arrives as one small server-sent event per token: ~90 a
second from the stand-in, 20-80 from a real model. Read as it comes, each
token wakes this process: the event loop returns from ``epoll``, the socket is
read, and httpcore, httpx and the backend's generators each resume once. That
is a large part of what a front end spends per token (~0.1-0.2 ms of ~0.7 here),
and on a laptop every wake-up takes a core from llama-server for a moment:
with ``-t`` = all cores, its other threads wait for the one that was put off.

So once the answer streams (:func:`pace_reads`, called after its first
piece, so the time to the first token is seen as it is), the connection is
read at most every :data:`READ_PACE_S` seconds: the kernel keeps what arrives
meanwhile, and one read takes it all. Nothing a person sees changes: the
screen is redrawn 4 times a second (``ui.stats_fps``), and the numbers come
from the server's own timings. An answer's end is seen at most that much later.

The pacing is a wrapper around the network backend of the HTTP client's
connection pool (:func:`paced_transport`), for httpx (an OpenAI-compatible
server) and httpx2 (Anthropic's SDK) alike: both are built on httpcore's
network-backend interface, and the response's ``network_stream`` extension
names the connection to pace.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

READ_PACE_S = 0.1
"""The shortest time between two reads of a streaming answer's connection. Measured
(the app's CPU per two-pane comparison of 256 tokens a pane, the stand-in): 0.37-0.40 s
read as data came, 0.28-0.32 s every 50 ms, 0.24-0.30 s every 100 ms. An answer's end
comes 50 ms late on average, ~1.7% of the stand-in's 3 s answers in the client-timed
tok/s (``bin/bench`` figure 1b: 0.975 and 0.991 of the bare client in two runs); at
50 ms, the wake-ups cost more than that: app/bare tok/s 0.960 (0.948-0.984), 1b 0.957,
CPU per server CPU 0.039, against 1.006-1.008, 0.975-0.991 and 0.033-0.034 at 100 ms."""


class PacedStream:
    """A connection (httpcore's ``AsyncNetworkStream``) whose reads can be paced."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._pace_s = 0.0
        self._next_read = 0.0
        self.reads = 0
        """How many reads reached the connection (the tests count them)."""
        self.paced_reads = 0
        """How many of them were paced (made once :meth:`pace` was set)."""

    def pace(self, seconds: float) -> None:
        """From now on, reads at most every ``seconds`` (0: as data comes)."""
        self._pace_s = seconds
        self._next_read = 0.0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 (httpcore's interface)
        pace = self._pace_s
        if pace:
            loop = asyncio.get_running_loop()
            wait = self._next_read - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            data: bytes = await self._inner.read(max_bytes, timeout)
            self._next_read = loop.time() + pace
            self.paced_reads += 1
        else:
            data = await self._inner.read(max_bytes, timeout)
        self.reads += 1
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> PacedStream:
        return PacedStream(await self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PacedNetworkBackend:
    """httpcore's network backend, its connections wrapped in :class:`PacedStream`."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> PacedStream:
        return PacedStream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> PacedStream:
        return PacedStream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def paced_transport(transport: Any) -> Any:
    """``transport`` (an ``httpx.AsyncHTTPTransport`` or httpx2's), its connections
    made pace-able. httpx has no public way to give its transport a network
    backend: the pool's is wrapped where httpx keeps it. Where a version keeps
    it elsewhere, the transport is returned as it is and reads are not paced
    (``tests/test_pacing.py`` fails then, so an upgrade that loses it is seen)."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is not None and not isinstance(backend, PacedNetworkBackend):
        pool._network_backend = PacedNetworkBackend(backend)  # type: ignore[union-attr]
    return transport


ClientT = TypeVar("ClientT")


def paced_client(client: ClientT) -> ClientT:
    """``client`` (an ``httpx.AsyncClient`` or httpx2's) with every transport it may
    send by made pace-able (:func:`paced_transport`): its own, and a proxy's from the
    environment (``HTTP_PROXY``), kept apart. Where httpx keeps them (no public way):
    a version that moves them leaves reads unpaced, and ``tests/test_pacing.py`` fails."""
    mounts: dict[Any, Any] = getattr(client, "_mounts", {})
    for transport in (getattr(client, "_transport", None), *mounts.values()):
        if transport is not None:
            paced_transport(transport)
    return client


def pace_reads(response: Any, seconds: float = READ_PACE_S) -> PacedStream | None:
    """Pace the reads of ``response``'s connection (an httpx or httpx2 response) from
    now on; the connection, or None where it is not a paced one. Call
    ``pace(0)`` on it when the answer is over if the connection may be reused."""
    stream = getattr(response, "extensions", {}).get("network_stream")
    if isinstance(stream, PacedStream):
        stream.pace(seconds)
        return stream
    return None
