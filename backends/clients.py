"""HTTP clients for model servers: how one is made, and one kept for its event loop.

Every httpx client that asks a model server something (the spawned llama-server's
readiness, an attached server's check, a run) is made by :func:`server_client`, so
all of them reach a server the same way: through the environment's proxy
(``HTTP_PROXY``...) or, for a loopback URL, directly.

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
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pelican_tui.backends.tls import verify_for
from pelican_tui.backends.urls import names_loopback

if TYPE_CHECKING:
    import httpx

ClientT = TypeVar("ClientT")


def server_client(url: str, **options: Any) -> httpx.AsyncClient:
    """An httpx client for the model server at ``url``, given ``options`` (timeout,
    limits): the process's TLS context for ``https`` (:func:`verify_for`), and the
    environment's proxy (``HTTP_PROXY``, ``NO_PROXY``...) unless ``url`` names this
    machine's loopback. A proxy, elsewhere on the network, cannot reach this
    machine's loopback: with ``HTTP_PROXY`` set and no ``NO_PROXY`` naming
    ``127.0.0.1``, the spawned llama-server was asked through it and never heard
    from. Go's HTTP client and the browsers leave loopback out of the proxy too."""
    import httpx  # here, not at import: the first frame does not wait for it

    return httpx.AsyncClient(verify=verify_for(url), trust_env=not names_loopback(url), **options)


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
