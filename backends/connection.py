"""A failed connection in the app's words, for every backend.

httpx's (and the Anthropic SDK's httpx2's) own text ("[Errno 111] Connection
refused", "All connection attempts failed", "peer closed connection without
sending complete message body (incomplete chunked read)") is read, not
repeated: the error's type and the causes behind it say what happened.
"""

from __future__ import annotations

import errno
import functools
import socket
import ssl
from collections.abc import Iterator

from pelican_tui.backends.text import shorten

_ErrorWords = tuple[tuple[type[BaseException], str], ...]


@functools.cache
def _error_words() -> _ErrorWords:
    """What an error of the request itself means, looked at first."""
    import httpx

    return (
        (httpx.UnsupportedProtocol, "the URL must start with http:// or https://"),
        (httpx.InvalidURL, "not a valid URL"),
        (
            httpx.RemoteProtocolError,
            "the server closed the connection before the answer was complete",
        ),
    )


TLS_FAILED = "the TLS handshake failed"
TLS_UNANSWERED = "no answer to the TLS handshake"
"""The start of what a connection that timed out in its TLS handshake says: a server
that speaks plain HTTP may wait for a request line (llama-server does)."""

_CAUSE_WORDS: _ErrorWords = (
    (socket.gaierror, "unknown host name"),
    (ssl.SSLCertVerificationError, "its TLS certificate was not accepted"),
    (ssl.SSLError, TLS_FAILED),
)
"""What an error among its causes means (the first one that says, in :func:`_chain` order)."""


@functools.cache
def _last_words() -> _ErrorWords:
    """What the error means when no cause says more."""
    import httpx

    return (
        (httpx.ConnectError, "the connection failed"),
        (httpx.ReadError, "the connection was cut"),
        (httpx.WriteError, "the request could not be sent"),
    )


@functools.cache
def _proxy_errors() -> tuple[type[BaseException], ...]:
    """A proxy's refusal of a tunnel (``CONNECT`` answered ``407``, ``502``...), httpx's
    and the Anthropic SDK's httpx2's."""
    import httpx
    import httpx2

    return (httpx.ProxyError, httpx2.ProxyError)


_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused (is the server running?)",
    errno.ECONNRESET: "the connection was reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "the connection timed out",
    errno.EADDRNOTAVAIL: "address not available",
}


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, its causes and contexts, and the members of exception groups among them."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)


def connection_problem(error: BaseException, timeout_s: float | None = None) -> str:
    """What went wrong with a connection, in a few plain words.

    httpx's own text ("[Errno 111] Connection refused", "All connection
    attempts failed", "peer closed connection without sending complete
    message body (incomplete chunked read)") is read, not repeated.
    """
    import httpx

    if isinstance(error, httpx.TimeoutException):
        within = f" within {timeout_s:g} s" if timeout_s else " in time"
        if isinstance(error, httpx.ConnectTimeout):
            if any(isinstance(cause, ssl.SSLError) for cause in _chain(error)):
                return f"{TLS_UNANSWERED}{within}"  # connected; the handshake was under way
            return f"no connection{within}"
        return f"no answer{within}"
    if words := _words(error, _error_words()):
        return words
    for cause in _chain(error):
        if isinstance(cause, _proxy_errors()):  # its text is the proxy's status line
            said = shorten(str(cause), 60)
            return f"the proxy refused it ({said})" if said else "the proxy refused it"
    for cause in _chain(error):
        if words := _words(cause, _CAUSE_WORDS):
            return words
        if isinstance(cause, OSError) and cause.errno in _ERRNO_WORDS:
            return _ERRNO_WORDS[cause.errno]
    return _words(error, _last_words()) or "the connection failed"


def _words(error: BaseException, table: _ErrorWords) -> str | None:
    """The words of the first entry of ``table`` that ``error`` is an instance of."""
    return next((words for kind, words in table if isinstance(error, kind)), None)
