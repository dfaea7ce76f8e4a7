"""The one TLS context every HTTPS client of this process uses.

httpx builds a new context per client by default, loading the system's CA
certificates each time (~25 ms of CPU). Both model backends (an attached
OpenAI-compatible server over ``https``, Anthropic) take this one instead; a
plain-``http`` server needs none (:func:`verify_for`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import ssl


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context with the CA certificates, made on first use."""
    import httpx  # here, not at import: the first frame does not wait for it

    return httpx.create_ssl_context()


def verify_for(url: str) -> ssl.SSLContext | Literal[False]:
    """What an httpx client for ``url`` is given as ``verify``: :func:`tls_context`
    for ``https``, else False (no certificate store is loaded for plain HTTP)."""
    return tls_context() if url.lower().startswith("https:") else False
