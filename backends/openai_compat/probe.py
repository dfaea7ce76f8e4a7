"""Contacting an OpenAI-compatible server: its URL, whether it answers, what it serves.

:func:`check_server` asks ``/v1/models`` (reachability, readiness, the model
to name) and ``/props`` (llama-server's: is it llama.cpp?). Transport errors
are told in plain words (:func:`connection_problem`), never as the HTTP
library's own text.
"""

from __future__ import annotations

import errno
import functools
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

CHECK_TIMEOUT_S = 10.0
"""Bound on each request :func:`check_server` makes."""


def normalize_base_url(url: str) -> str:
    """The server root for a URL a person typed.

    Whitespace, trailing slashes and one trailing ``/v1`` are removed (and
    ``http://`` is added when there is no scheme), so ``host:8080``,
    ``http://host:8080/``, ``http://host:8080/v1`` and ``http://host:8080/v1/``
    all give ``http://host:8080``; requests then go to ``<root>/v1/...``.
    """
    root = url.strip().rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")].rstrip("/")
    if root and "://" not in root:
        root = f"http://{root}"
    return root


@dataclass(frozen=True, slots=True)
class ServerCheck:
    """What contacting an OpenAI-compatible server found (see :func:`check_server`)."""

    url: str
    reachable: bool
    """Something answered HTTP at the URL."""
    ready: bool
    """It can take a chat request now."""
    message: str
    """One line for a person (status bar, doctor)."""
    hint: str | None = None
    """The next step when not ready."""
    models: tuple[str, ...] = ()
    """Model ids from ``/v1/models``, in the server's order."""
    llama_cpp: bool = False
    """``/props`` answered like llama-server: llama.cpp-only fields may be sent."""
    build: str | None = None
    """llama.cpp's ``build_info``, when it is llama.cpp."""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client this process makes.

    httpx builds a new one per client by default, loading the system's CA
    certificates each time (~25 ms of CPU): once per generation, that was a
    visible share of what a run cost the UI.
    """
    return httpx.create_ssl_context()


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The ``Authorization`` header for ``api_key`` (none without a key)."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _model_ids(listing: Any) -> tuple[tuple[str, ...], bool]:
    """(model ids, whether an entry says llama.cpp owns it) from a ``/v1/models`` body."""
    data = listing.get("data") if isinstance(listing, dict) else None
    ids: list[str] = []
    llama = False
    for entry in data if isinstance(data, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            ids.append(entry["id"])
            llama |= entry.get("owned_by") == "llamacpp"
    return tuple(ids), llama


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
    if isinstance(error, httpx.TimeoutException):
        within = f" within {timeout_s:g} s" if timeout_s else " in time"
        if isinstance(error, httpx.ConnectTimeout):
            return f"no connection{within}"
        return f"no answer{within}"
    if isinstance(error, httpx.UnsupportedProtocol):
        return "the URL must start with http:// or https://"
    if isinstance(error, httpx.InvalidURL):
        return "not a valid URL"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the server closed the connection before the answer was complete"
    for cause in _chain(error):
        if isinstance(cause, socket.gaierror):
            return "unknown host name"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "its TLS certificate was not accepted"
        if isinstance(cause, ssl.SSLError):
            return "the TLS handshake failed"
        if isinstance(cause, OSError) and cause.errno in _ERRNO_WORDS:
            return _ERRNO_WORDS[cause.errno]
    if isinstance(error, httpx.ConnectError):
        return "the connection failed"
    if isinstance(error, httpx.ReadError):
        return "the connection was cut"
    if isinstance(error, httpx.WriteError):
        return "the request could not be sent"
    return "the connection failed"


async def check_server(
    url: str,
    api_key: str | None = None,
    *,
    model: str | None = None,
    api_key_env: str | None = None,
    timeout_s: float = CHECK_TIMEOUT_S,
) -> ServerCheck:
    """Contact the server at ``url``: is it there, ready, llama.cpp, and what does it serve?

    ``GET /v1/models`` decides reachability, readiness and the model list;
    ``GET /props`` (llama-server's) decides whether it is llama.cpp. Never raises.
    """
    root = normalize_base_url(url)
    headers = auth_headers(api_key)
    key_hint = f"set {api_key_env} to the server's API key" if api_key_env else "check the API key"
    try:
        async with httpx.AsyncClient(timeout=timeout_s, verify=tls_context()) as client:
            listing = await client.get(f"{root}/v1/models", headers=headers)
            props_body: Any = None
            if listing.status_code == 200 or listing.status_code == 404:
                try:
                    props = await client.get(f"{root}/props", headers=headers)
                except httpx.HTTPError:
                    props = None
                if props is not None and props.status_code == 200:
                    props_body = _json_or_none(props)
    except httpx.HTTPError as error:
        return ServerCheck(
            url,
            reachable=False,
            ready=False,
            message=f"cannot reach {url}: {connection_problem(error, timeout_s)}",
            hint=f"start the server at {url}, or change local.url",
        )
    code = listing.status_code
    if code in (401, 403):
        return ServerCheck(
            url,
            True,
            False,
            f"{url} refused the request ({code}): wrong or missing API key",
            hint=key_hint,
        )
    if code == 503:
        return ServerCheck(
            url,
            True,
            False,
            f"{url} is still loading its model (503)",
            hint="wait until it has loaded, then run again",
        )
    llama_cpp = isinstance(props_body, dict) and (
        "default_generation_settings" in props_body or "build_info" in props_body
    )
    build = props_body.get("build_info") if llama_cpp and isinstance(props_body, dict) else None
    models: tuple[str, ...] = ()
    if code == 200:
        models, owned_by_llama = _model_ids(_json_or_none(listing))
        llama_cpp |= owned_by_llama
    elif code != 404:
        return ServerCheck(
            url,
            True,
            False,
            f"{url} answered {code} to GET /v1/models",
            hint="check that local.url points at an OpenAI-compatible server",
        )
    kind = "llama.cpp" if llama_cpp else "OpenAI-compatible"
    chosen = model or (models[0] if models else None)
    if chosen is None and not llama_cpp:
        return ServerCheck(
            url,
            True,
            False,
            f"{url} lists no models at /v1/models",
            hint="set local.url_model to the model name the server expects",
            llama_cpp=llama_cpp,
        )
    message = f"attached to {url} ({kind}"
    message += f", model {short_model_name(chosen)})" if chosen else ")"
    if model and models and model not in models:
        message += f"; {model!r} is not in its list ({', '.join(models[:5])})"
    return ServerCheck(
        url,
        True,
        True,
        message,
        models=models,
        llama_cpp=llama_cpp,
        build=build if isinstance(build, str) else None,
    )


def short_model_name(model: str) -> str:
    """A model id for people: llama-server names its model by its file path."""
    return model.rsplit("/", 1)[-1] if model.endswith(".gguf") else model
