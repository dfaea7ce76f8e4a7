"""HTTP clients for model servers: how one reaches its server, and one kept per event loop.

Every client that asks a model server something (the spawned llama-server's
readiness, an attached server's check, a run, Claude) reaches it as
:func:`reach_options` says: through the environment's proxy (``HTTP_PROXY``...)
or, for a loopback URL, directly; a failure to reach it names the proxy it went
through (:func:`proxy_words`).

Both model backends keep one HTTP client (Anthropic's SDK client, an httpx
client for an OpenAI-compatible server) instead of making one per run: its
connections are reused and no run loads certificates. A client belongs to the
event loop it was made on; used from another (a test's new loop, a second
``asyncio.run``) a new one is made and the old one dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from pelican_tui.backends.tls import verify_for
from pelican_tui.backends.urls import names_loopback, split_url

if TYPE_CHECKING:
    import httpx

ClientT = TypeVar("ClientT")


def reach_options(url: str) -> dict[str, Any]:
    """What an httpx (or the Anthropic SDK's httpx2) client for the server at ``url`` is
    given: the process's TLS context for ``https`` (:func:`verify_for`), and whether it
    goes by the environment's proxy (``HTTP_PROXY``, ``NO_PROXY``...): not when ``url``
    names this machine's loopback. A proxy, elsewhere on the network, cannot reach this
    machine's loopback: with ``HTTP_PROXY`` set and no ``NO_PROXY`` naming
    ``127.0.0.1``, the spawned llama-server was asked through it and never heard
    from. Go's HTTP client and the browsers leave loopback out of the proxy too."""
    return {"verify": verify_for(url), "trust_env": not names_loopback(url)}


def server_client(url: str, **options: Any) -> httpx.AsyncClient:
    """An httpx client for the model server at ``url`` (:func:`reach_options`), given
    ``options`` (timeout, limits)."""
    import httpx  # here, not at import: the first frame does not wait for it

    return httpx.AsyncClient(**reach_options(url), **options)


PROXY_HINT: Final = (
    "check the proxy settings (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY), or name the "
    "server's host in NO_PROXY if it is reached without the proxy"
)
"""What helps when a server asked through the environment's proxy was not reached."""


def proxy_words(url: str) -> str:
    """`` through the proxy HOST:PORT`` when the environment's proxy carries the requests
    to ``url`` (:func:`reach_options`), else "": a server that cannot be reached may be
    a proxy that cannot be. The proxy's user and password are never said."""
    if names_loopback(url):
        return ""
    proxies = urllib.request.getproxies()  # as httpx reads them (the system's on macOS)
    try:
        parts = split_url(url)
        if urllib.request.proxy_bypass(parts.hostname or ""):
            return ""
        proxy = proxies.get(parts.scheme) or proxies.get("all")
        if not proxy:
            return ""
        where = split_url(proxy)
        port = f":{where.port}" if where.port else ""
    except ValueError:
        return " through the proxy the environment names"
    return f" through the proxy {where.hostname}{port}"


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
