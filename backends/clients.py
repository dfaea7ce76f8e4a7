"""A client kept for the life of its event loop, for the backends that stream.

Both model backends keep one HTTP client (Anthropic's SDK client, an httpx
client for an OpenAI-compatible server) instead of making one per run: its
connections are reused and no run loads certificates. A client belongs to the
event loop it was made on; used from another (a test's new loop, a second
``asyncio.run``) a new one is made and the old one dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

ClientT = TypeVar("ClientT")


class PerLoop(Generic[ClientT]):
    """One client, made at first use and again when closed or on another loop."""

    def __init__(
        self,
        is_closed: Callable[[ClientT], bool],
        close: Callable[[ClientT], Awaitable[object]],
    ) -> None:
        self._is_closed = is_closed
        self._close = close
        self._client: ClientT | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def current(self) -> ClientT | None:
        """The client made last, None before the first use and after :meth:`aclose`."""
        return self._client

    def get(self, make: Callable[[], ClientT]) -> ClientT:
        """The kept client, or a new one from ``make`` (called on the running loop)."""
        loop = asyncio.get_running_loop()
        client = self._client
        if client is None or self._loop is not loop or self._is_closed(client):
            client = self._client = make()
            self._loop = loop
        return client

    async def aclose(self) -> None:
        """Close the client (its connections); the next :meth:`get` makes a new one."""
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is gone: nothing to close
                await self._close(client)
