"""Contacting an OpenAI-compatible server: its URL, whether it answers, what it serves.

:func:`check_server` asks ``/v1/models`` (reachability, readiness, the model
to name) and ``/props`` (llama-server's: is it llama.cpp?). Transport errors
are told in plain words (:func:`connection_problem`), never as the HTTP
library's own text.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from pelican_tui.backends.clients import PROXY_HINT, proxy_words, server_client
from pelican_tui.backends.connection import TLS_FAILED, TLS_UNANSWERED, connection_problem
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.openai_compat.server_kinds import (
    LLAMA_CPP,
    LM_STUDIO,
    OLLAMA,
    ModelFacts,
    ServerKind,
    get_json,
    identify,
    listing_entries,
    model_facts,
)
from pelican_tui.backends.secrets import url_without_credentials
from pelican_tui.backends.text import one_line, shorten
from pelican_tui.backends.tls import tls_context as tls_context  # the app warms it up here
from pelican_tui.backends.urls import has_user, split_url, with_scheme

if TYPE_CHECKING:
    import httpx

CHECK_TIMEOUT_S = 10.0
"""Bound on :func:`check_server`: its requests share it, one after another."""


_ENDPOINTS = ("/chat/completions", "/completions", "/models")
"""The endpoints requests and probes go to, below ``/v1``."""


def normalize_base_url(url: str) -> str:
    """The server root for a URL a person typed.

    Whitespace, trailing slashes, an endpoint's path (``/v1/chat/completions``,
    ``/v1/models``) and one trailing ``/v1`` are removed (and ``http://`` is added
    when there is no scheme), so ``host:8080``, ``http://host:8080/``,
    ``http://host:8080/v1`` and ``http://host:8080/v1/chat/completions`` all give
    ``http://host:8080``; requests then go to ``<root>/v1/...``.
    """
    root = url.strip().rstrip("/")
    for endpoint in _ENDPOINTS:  # an endpoint's URL pasted from a server's docs
        if root.endswith(endpoint):
            root = root[: -len(endpoint)].rstrip("/")
            break
    if root.endswith("/v1"):
        root = root[: -len("/v1")].rstrip("/")
    return with_scheme(root)


@frozen
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
    model: str | None = None
    """The model requests will name (the configured one, else the first listed)."""
    kind: ServerKind = field(default_factory=ServerKind)
    """Which server answers (llama.cpp, Ollama, LM Studio, vLLM, OpenAI-compatible)."""
    facts: ModelFacts = field(default_factory=ModelFacts)
    """What the server says about the model to be sent."""
    no_model: bool = False
    """It answered and lists no model to name (none loaded, or all deleted)."""

    @property
    def llama_cpp(self) -> bool:
        """It is llama.cpp: llama.cpp-only fields may be sent."""
        return self.kind.name == LLAMA_CPP

    @property
    def build(self) -> str | None:
        """llama.cpp's ``build_info``, when it is llama.cpp."""
        return self.kind.version if self.llama_cpp else None

    @property
    def summary(self) -> str:
        """``Ollama 0.12.3 · qwen3:30b``: the server and its model, for a status bar."""
        name = short_model_name(self.model) if self.model else None
        return f"{self.kind.label} · {name}" if name else self.kind.label


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The ``Authorization`` header for ``api_key`` (none without a key)."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_words(body: Any) -> str | None:
    """The message in an error body, in the formats servers use (OpenAI's
    ``{"error": {"message": …}}``, Ollama's ``{"error": "…"}``, FastAPI's
    ``{"detail": "…"}``), cut to one short line; None when it has none."""
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail")
    if isinstance(body, dict) and not error:
        error = body.get("detail") or body.get("message")
    return shorten(error, 200) or None if isinstance(error, str) else None


def is_web_page(body: str) -> bool:
    """Whether a body is markup (HTML: a proxy's, a login page's, another web
    server's), not an API's answer."""
    return body.lstrip().startswith("<")


def _model_ids(listing: Any) -> tuple[str, ...]:
    """The model ids of a ``/v1/models`` body, in its order."""
    return tuple(one_line(entry["id"]) for entry in listing_entries(listing))


async def check_server(
    url: str,
    api_key: str | None = None,
    *,
    model: str | None = None,
    api_key_env: str | None = None,
    url_setting: str = "local.url",
    model_setting: str = "local.url_model",
    timeout_s: float = CHECK_TIMEOUT_S,
) -> ServerCheck:
    """Contact the server at ``url``: is it there, ready, which kind, and what does it serve?

    ``GET /v1/models`` decides reachability, readiness and the model list;
    :func:`~.server_kinds.identify` the kind (``/props``, ``/api/version``, ...);
    :func:`~.server_kinds.model_facts` what it says about the model. A ``model``
    the server does not list is not ready (its requests would be refused), and so is
    a URL with a path below the API root that lists models (Ollama's own ``/api``,
    LM Studio's ``/api/v0``): the hint gives the root. Hints name where the URL was
    given (``--url``, ``local.url``) and the model's setting. Never raises.

    The whole check takes at most about ``timeout_s``: the model list has it all, the
    questions after it what is left (unanswered by then, the kind and facts stay
    unknown, as for a server that does not answer them).
    """
    import httpx

    root = normalize_base_url(url)
    by_user = has_user(url)  # a 401 refused the user or password, not a key
    url = url_without_credentials(url)  # as it is shown from here on
    headers = auth_headers(api_key)
    key_hint = f"set {api_key_env} to the server's API key" if api_key_env else "check the API key"
    kind, facts = ServerKind(), ModelFacts()
    listing_body: Any = None
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        async with server_client(root, timeout=timeout_s) as client:
            listing = await _answered_by(client, f"{root}/v1/models", headers, deadline)
            if listing.status_code in (200, 404):
                listing_body = _json_or_none(listing) if listing.status_code == 200 else None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        props_body = await get_json(client, f"{root}/props", headers)
                        kind = await identify(client, root, headers, listing_body, props_body)
                        listed = _model_ids(listing_body)
                        chosen = model or (listed[0] if listed else None)
                        facts = await model_facts(
                            client, root, headers, kind, chosen, listing_body, props_body
                        )
    except (httpx.ReadTimeout, TimeoutError):  # connected and asked: busy, not down
        return _not_ready(
            url,
            f"answered the connection but not the check in {timeout_s:g} s "
            "(busy: loading a model?)",
            "wait, then run again, or raise check_timeout_s",
        )
    except httpx.HTTPError as error:
        problem = connection_problem(error, timeout_s)
        through = proxy_words(root)
        hint = PROXY_HINT if through else f"start the server at {url}, or change {url_setting}"
        not_tls = problem == TLS_FAILED or problem.startswith(TLS_UNANSWERED)
        if url.startswith("https://") and not_tls:  # it answered, or waited, not in TLS
            plain = "http://" + url.removeprefix("https://")
            hint = f"if the server speaks plain HTTP, use {plain}, or change {url_setting}"
        return ServerCheck(
            url,
            reachable=False,
            ready=False,
            message=f"cannot reach {url}{through}: {problem}",
            hint=hint,
        )
    code = listing.status_code
    if code in (401, 403) and by_user:
        return _not_ready(
            url,
            f"refused the user or password in the URL ({code})",
            f"correct them in {url_setting}",
        )
    if code in (401, 403):
        return _not_ready(url, f"refused the request ({code}): wrong or missing API key", key_hint)
    if code == 503:
        return _not_ready(
            url, "is still loading its model (503)", "wait until it has loaded, then run again"
        )
    said = error_words(_json_or_none(listing))
    if code not in (200, 404):
        return _not_ready(
            url,
            f"answered {code} to GET /v1/models" + (f": {said}" if said else ""),
            "the server is busy or limits requests: wait, then run again"
            if code == 429
            else "the server failed: see its log, then run again"
            if code >= 500
            else f"check that {url_setting} points at an OpenAI-compatible server",
        )
    models = _model_ids(listing_body)
    chosen = model or (models[0] if models else None)
    if not models and kind.name != LLAMA_CPP:  # a path too many: no list, or not OpenAI's
        above = await _root_above(root, headers, deadline)
        if above is not None:
            return _wrong_path(url, root, *above, url_setting)
    if chosen is None and code == 404 and kind.name != LLAMA_CPP:
        page = ", a web page" if is_web_page(listing.text) else ""
        return _not_ready(
            url,
            f"has no model list (404 for GET /v1/models{page})",
            f"check that {url_setting} is the server's API root (without /v1), "
            f"or set {model_setting}",
            kind=kind,
            no_model=True,
        )
    if chosen is None and kind.name != LLAMA_CPP:
        return _not_ready(
            url,
            f"lists no models at /v1/models ({kind.label})",
            f"load a model in the server, or set {model_setting} to the name it expects",
            kind=kind,
            no_model=True,
        )
    if model and models and not _serves(models, model):
        names = ", ".join(models[:5]) + (", …" if len(models) > 5 else "")
        return _not_ready(
            url,
            f"does not serve {model!r} ({kind.label}; it lists {names})",
            f"set {model_setting} to one it lists, or load {model!r} in the server",
            kind=kind,
        )
    found = ServerCheck(url, True, True, "", models=models, model=chosen, kind=kind, facts=facts)
    return replace(found, message=found.summary)


async def _answered_by(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], deadline: float
) -> httpx.Response:
    """``GET url``, its answer read by ``deadline`` (the event loop's clock); TimeoutError
    when it is not. Connecting has the client's own timeout (a server that does not take
    the connection is told apart); the deadline holds from when the request is sent, so
    an answer that comes a few bytes at a time cannot stretch the check."""
    async with asyncio.timeout(None) as bound:

        async def sent(event: str, info: dict[str, Any]) -> None:
            if event == "http11.send_request_headers.started":  # connected (and TLS done)
                bound.reschedule(deadline)

        return await client.get(url, headers=headers, extensions={"trace": sent})


def _roots_above(root: str) -> list[str]:
    """Where the API root may be when ``root`` has a path: above an ``/api`` in it
    (Ollama's own API, LM Studio's ``/api/v0``), then the server's origin."""
    parts = split_url(root)
    path = parts.path.rstrip("/")
    if not path:
        return []
    segments = path.split("/")
    paths = ["/".join(segments[: segments.index("api")])] if "api" in segments else []
    roots = [f"{parts.scheme}://{parts.netloc}{above}" for above in [*paths, ""]]
    return list(dict.fromkeys(r for r in roots if r != root))


async def _root_above(
    root: str, headers: dict[str, str], deadline: float
) -> tuple[str, ServerKind] | None:
    """The API root above ``root``'s path that answers ``/v1/models`` with a model list
    (a URL pasted with a path too many), and which server it is; None when there is none,
    or none answered before ``deadline`` (the check's, on the event loop's clock)."""

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout_at(deadline):
            for candidate in _roots_above(root):
                left = max(deadline - asyncio.get_running_loop().time(), 0.0)
                async with server_client(candidate, timeout=left) as client:
                    listing = await get_json(client, f"{candidate}/v1/models", headers)
                    if isinstance(listing, dict) and isinstance(listing.get("data"), list):
                        props = await get_json(client, f"{candidate}/props", headers)
                        return candidate, await identify(client, candidate, headers, listing, props)
    return None


def _wrong_path(url: str, root: str, found: str, kind: ServerKind, url_setting: str) -> ServerCheck:
    """A URL with a path below the API root the server answers at (``found``): what
    the path is, and the URL to give instead (it is read with or without ``/v1``)."""
    shown = url_without_credentials(found)
    below = root.removeprefix(found)
    if kind.name in (OLLAMA, LM_STUDIO) and below.startswith("/api"):
        problem = f"is {kind.name}'s own API, not its OpenAI-compatible one"
    else:
        problem = f"is not the API root: {kind.label} answers at {shown}"
    flag = url_setting.startswith("-")  # given on the command line (--url), or a setting
    use = f"use {url_setting} {shown}" if flag else f"set {url_setting} to {shown}"
    return _not_ready(url, problem, f"{use} (or {shown}/v1)", kind=kind)


def _serves(models: tuple[str, ...], model: str) -> bool:
    """Whether a request for ``model`` names a model in the list (Ollama's ``qwen3``
    is its ``qwen3:latest``)."""
    return model in models or f"{model}:latest" in models


def _not_ready(
    url: str, problem: str, hint: str, *, kind: ServerKind | None = None, no_model: bool = False
) -> ServerCheck:
    """A server that answered at ``url`` but cannot take a request: "URL PROBLEM"."""
    return ServerCheck(
        url,
        reachable=True,
        ready=False,
        message=f"{url} {problem}",
        hint=hint,
        kind=kind or ServerKind(),
        no_model=no_model,
    )


def short_model_name(model: str) -> str:
    """A model id for people: llama-server names its model by its file path."""
    return model.rsplit("/", 1)[-1] if model.endswith(".gguf") else model
