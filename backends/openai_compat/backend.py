"""Streaming chat completions from llama-server or any OpenAI-compatible server.

One class serves both the llama-server pelican-tui spawns (it then owns the
process and reports its state) and a server it attaches to by URL (a bigger
box, a remote GPU, Ollama, LM Studio, vLLM). An attached server is checked by
:mod:`.probe`, which learns its kind (:mod:`.server_kinds`); the kind picks the
dialect (:mod:`.dialects`) that builds the request and turns the stream into
OpenAI-style chunks, read here. Reasoning written into the answer as
``<think>…</think>`` is told apart (:mod:`.think_tags`).

A stream that goes silent is handled by the one idle rule
(:mod:`~pelican_tui.backends.idle`): :class:`~.events.Waiting` while it is
quiet, then :class:`~.events.Failed` and the HTTP stream closed. Failures
are told in the app's words, never as the HTTP library's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from pelican_tui.backends import events
from pelican_tui.backends.clients import PerLoop, proxy_words, server_client
from pelican_tui.backends.connection import connection_problem
from pelican_tui.backends.idle import (
    DEFAULT_IDLE_TIMEOUT_S,
    IdleRule,
    StreamIdle,
    idle_failure,
    watch_idle,
)
from pelican_tui.backends.llama.process import STARTING_STATES, LlamaServer, ServerState
from pelican_tui.backends.openai_compat.dialects import (
    DONE,
    Dialect,
    LlamaCppDialect,
    dialect_for,
)
from pelican_tui.backends.openai_compat.probe import (
    CHECK_TIMEOUT_S,
    ServerCheck,
    auth_headers,
    check_server,
    error_words,
    is_web_page,
    normalize_base_url,
)
from pelican_tui.backends.openai_compat.server_kinds import ModelFacts, template_thinks
from pelican_tui.backends.openai_compat.think_tags import ThinkTags
from pelican_tui.backends.pacing import pace_reads, paced_client
from pelican_tui.backends.protocol import BackendStatus, Capabilities, GenerationRequest
from pelican_tui.backends.secrets import register_secret, url_without_credentials
from pelican_tui.backends.text import one_line
from pelican_tui.backends.urls import has_user

if TYPE_CHECKING:
    import httpx

LIVE_STATS_INTERVAL_S = 0.25
RESTART_HINT = "restart the server"

_Reply = Literal["answered", "slow", "unreached"]
"""How a server met one small question (:meth:`OpenAICompatibleBackend._ask_models`)."""


class OpenAICompatibleBackend:
    """A model behind ``/v1/chat/completions``: spawned llama-server or a URL."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        server: LlamaServer | None = None,
        name: str = "local",
        model: str | None = None,
        facts: dict[str, str] | None = None,
        connect_timeout_s: float = 10.0,
        idle_timeout_s: float | None = DEFAULT_IDLE_TIMEOUT_S,
        api_key_env: str | None = None,
        dialect: Dialect | None = None,
        check_timeout_s: float = CHECK_TIMEOUT_S,
    ) -> None:
        self.name = name
        self.server = server
        self._base_url = normalize_base_url(base_url) if base_url else None
        self._given_url = base_url.strip() if base_url else None
        """As given: a user and password in it reach the server (basic auth) on every
        request, the probe's included; never shown (:attr:`_display_url` is)."""
        self._display_url = url_without_credentials(base_url) if base_url else None
        self._api_key = api_key
        if api_key:  # whichever variable it came from (``remote.api_key_env``), never shown
            register_secret(api_key)
        self._api_key_env = api_key_env
        self._settings = ("local.url", "local.url_model")
        """The settings that give an attached server's URL and model (named in hints)."""
        self._check_timeout_s = check_timeout_s
        """The bound on :meth:`probe`'s check as a whole, and on a spawned server's
        question whether its model has a thinking switch (``check_timeout_s``)."""
        self._configured_model = model
        self.model = model
        """The model id sent as ``model`` (an attached server's first listed one if unset)."""
        self.facts = dict(facts or {})
        self.check: ServerCheck | None = None
        """What the last :meth:`probe` of an attached server found (None: not yet)."""
        self.last_ready_check: ServerCheck | None = None
        """The last :meth:`probe` that found it ready (the :attr:`dialect` and
        :attr:`capabilities` are its), kept while it is not reachable; None: none has."""
        self._fixed_dialect = dialect is not None or server is not None
        self.dialect: Dialect = dialect or (LlamaCppDialect() if server is not None else Dialect())
        """How requests are made (spawned: llama.cpp; attached: the probed kind's, unless given)."""
        self.idle = IdleRule(idle_timeout_s)
        """How long the stream may be silent (the ``idle_timeout_s`` setting)."""
        self.capabilities = Capabilities(
            can_cancel=True,
            owns_process=server is not None,
            supports_thinking=self.dialect.can_switch_thinking,
        )
        self._connect_timeout_s = connect_timeout_s
        self._client: PerLoop[httpx.AsyncClient] = PerLoop(
            is_closed=lambda client: client.is_closed, close=lambda client: client.aclose()
        )
        self._props: dict[str, Any] = {}
        self._props_pid: int | None = None
        self._template_pid: int | None = None
        self._template_unanswered_pid: int | None = None
        """The spawned llama-server that did not answer the switch question in time."""
        self.gave_up: StreamIdle | None = None
        """The silence the last run on a server someone else runs gave up after (its
        stream said nothing for ``idle_timeout_s``); None: it did not, or the server
        has answered since (:meth:`probe`, :meth:`still_there`)."""

    @classmethod
    def attached(
        cls,
        url: str,
        *,
        name: str,
        model: str | None,
        api_key_env: str,
        facts: dict[str, str],
        idle_timeout_s: float | None,
        settings: tuple[str, str] = ("local.url", "local.url_model"),
        check_timeout_s: float = CHECK_TIMEOUT_S,
    ) -> OpenAICompatibleBackend:
        """A server someone else runs; its key is read from ``api_key_env`` (never a setting).
        ``settings`` name where its URL and model are set, for the probe's hints;
        ``check_timeout_s`` bounds its check as a whole (the setting)."""
        backend = cls(
            base_url=url,
            api_key=os.environ.get(api_key_env),
            api_key_env=api_key_env,
            name=name,
            model=model,
            facts=facts,
            idle_timeout_s=idle_timeout_s,
            check_timeout_s=check_timeout_s,
        )
        backend._settings = settings
        return backend

    def login(self) -> str | None:
        """How an attached server is let in, in words and never the secret ("user and
        password in the URL", "API key from PELICAN_REMOTE_API_KEY"); None: nothing is
        sent. A run records it, so its run card can say what to give again."""
        said: list[str] = []
        if self._given_url and self._given_url != self._display_url:
            said.append("user and password in the URL")
        if self.server is None and self._api_key and self._api_key_env:
            said.append(f"API key from {self._api_key_env}")
        return ", ".join(said) or None

    @property
    def llama_cpp(self) -> bool:
        """Whether llama.cpp-only fields are sent (spawned: always; attached: after a probe)."""
        return self.dialect.llama_cpp_fields

    def __repr__(self) -> str:
        url = url_without_credentials(self._url() or "")
        return f"OpenAICompatibleBackend(name={self.name!r}, url={url!r})"

    def _url(self) -> str | None:
        if self.server is not None:
            try:
                return self.server.base_url
            except RuntimeError:
                return None
        return self._base_url

    def _headers(self) -> dict[str, str]:
        key = self.server.api_key if self.server is not None else self._api_key
        return auth_headers(key)

    def _who(self) -> str:
        """The server as failure messages name it."""
        return "llama-server" if self.server is not None else f"the server at {self._display_url}"

    def status(self) -> BackendStatus:
        if self.server is None:
            if self.check is None:
                return BackendStatus(True, f"attached to {self._display_url} (not checked yet)")
            return BackendStatus(self.check.ready, self.check.message, hint=self.check.hint)
        status = self.server.status
        if status.state is ServerState.READY:
            if self.server.suspended:  # a run would wait for it until idle_timeout_s
                return BackendStatus(False, self._suspended(), hint=RESTART_HINT)
            return BackendStatus(True, "ready")
        if status.state in (ServerState.CRASHED, ServerState.STOPPED):
            message = status.message
            if not message.startswith("llama-server"):
                message = f"llama-server {message}"
            return BackendStatus(False, message, hint=RESTART_HINT)
        return BackendStatus(False, status.message)

    async def probe(self) -> BackendStatus:
        """Contact the server now and return the status that results.

        For an attached server this is :func:`~.probe.check_server`: it fills
        :attr:`check`, picks the model to name (the first listed, unless one
        was configured; none when it lists none, so a model unloaded since the
        last check is not named) and the :attr:`dialect` for the server's kind,
        which decides whether thinking can be toggled and has effort levels. A
        spawned server's state is already known, so its status is returned as
        is. Safe to call from a worker.
        """
        if self.server is not None:
            return self.status()
        check = await check_server(
            self._given_url or "",
            self._api_key,
            model=self._configured_model,
            api_key_env=self._api_key_env,
            url_setting=self._settings[0],
            model_setting=self._settings[1],
            timeout_s=self._check_timeout_s,
        )
        self.check = check
        if check.ready:
            self.gave_up = None
        if check.no_model:
            self.model = self._configured_model
        if check.ready:
            self.last_ready_check = check
            if self._configured_model is None:
                self.model = check.model
            if not self._fixed_dialect:
                self.dialect = dialect_for(check.kind.name, check.facts)
            self.capabilities = replace(
                self.capabilities,
                supports_thinking=self.dialect.can_switch_thinking,
                supports_effort=self.dialect.has_effort,
                efforts=self.dialect.efforts,
                thinking_off=self.dialect.can_turn_off,
            )
        return self.status()

    async def still_there(self) -> BackendStatus | None:
        """For a server someone else runs, last found ready: does it still take a
        connection? One small ``GET /v1/models`` (no generation), cheap enough to ask
        an idle server every few seconds. When it cannot be reached, the full check
        (:meth:`probe`) says why, and its status is returned; None: it answered (a
        slow answer too: busy is not gone), or it is not one to ask."""
        url = self._url()
        if self.server is not None or url is None or self.check is None or not self.check.ready:
            return None
        reply = await self._ask_models(url, within_s=5.0)
        if reply == "unreached":  # refused, reset, no connection: the check says why
            return await self.probe()
        if reply == "answered" and self.gave_up is not None:  # it answers again: said so
            self.gave_up = None
            return self.status()
        return None

    async def _answers_after_silence(self, url: str) -> bool:
        """For a server someone else runs on which the last run gave up for silence
        (:attr:`gave_up`): whether it answers one small question (``GET /v1/models``)
        within ``check_timeout_s`` (5 s at most), before another run waits on it for
        ``idle_timeout_s``. Not reached at all, it is the run's to say why."""
        reply = await self._ask_models(url, within_s=min(self._check_timeout_s, 5.0))
        if reply == "answered":
            self.gave_up = None
        return reply != "slow"

    async def _ask_models(self, url: str, *, within_s: float) -> _Reply:
        """Ask the server one small question (``GET /v1/models``, no generation):
        "answered"; "slow", it took the connection but did not answer in ``within_s``;
        "unreached", it refused or reset the connection, or took none in ``within_s``."""
        import httpx

        try:
            await self.client().get(f"{url}/v1/models", headers=self._headers(), timeout=within_s)
        except httpx.ConnectTimeout:
            return "unreached"
        except httpx.TimeoutException:
            return "slow"
        except httpx.TransportError:
            return "unreached"
        return "answered"

    def _not_answering(self, gave_up: StreamIdle) -> events.Failed:
        """A run not sent to a server that is not answering (:meth:`_answers_after_silence`),
        with the hint of the run that gave up on it (:func:`~.idle.idle_failure`)."""
        hint = idle_failure(self._who(), gave_up, self._lost_hint()).hint
        return events.Failed(
            f"{self._who()} is not answering: the last run had no data for "
            f"{gave_up.idle_s:.0f} s, and it did not answer a check now either",
            hint=hint,
        )

    def _lost(self, message: str, hint: str) -> None:
        """Record that an attached server stopped answering, so :meth:`status` says so."""
        if self.server is None:
            base = self.check or ServerCheck(self._display_url or "", False, False, message)
            self.check = replace(base, reachable=False, ready=False, message=message, hint=hint)

    async def _after_drop(self) -> str:
        """After an attached server dropped a stream: ask it once whether it is still
        there (:meth:`probe`), so :meth:`status` says it is not reachable when it is
        gone; one that answers stays ready (a dropped stream can be a one-off). The
        hint for the failure: the probe's when it found the server not ready."""
        if self.server is not None:
            return self._lost_hint()
        status = await self.probe()
        return self._lost_hint() if status.ready else status.hint or self._lost_hint()

    def _lost_hint(self) -> str:
        if self.server is None:
            return "check that the server is up"  # the reason names it, with its URL
        if self.server.suspended:
            return f"{self._suspended()}, or restart"
        return RESTART_HINT

    def _suspended(self) -> str:
        pid = self.server.pid if self.server is not None else None
        return f"llama-server (pid {pid}) is suspended: kill -CONT {pid} resumes it"

    def describe(self) -> dict[str, str]:
        facts = dict(self.facts)
        facts.setdefault("model", self.model or "local model")
        if self.server is None and self.model:
            facts["served_model"] = self.model
        if self._url():
            facts["url"] = url_without_credentials(str(self._url()))
        return facts

    def client(self) -> httpx.AsyncClient:
        """The HTTP client every request to this server goes through, made once.

        Kept for the backend's life (:meth:`aclose` closes it), so a run builds no
        client and loads no certificates; it keeps no idle connection (see
        ``make``). A plain-``http`` URL (the spawned llama-server, a server on the
        LAN) gets no certificate store at all; ``https`` the process's one
        :func:`~pelican_tui.backends.tls.tls_context`. A client belongs to one event loop: used
        from another (a test's new loop, a second ``asyncio.run``), a new one
        is made and the old one dropped.
        """
        import httpx  # here, not at import: the first frame does not wait for it

        def make() -> httpx.AsyncClient:
            # No read timeout: silence is the idle rule's to judge, with notice first.
            timeout = httpx.Timeout(
                connect=self._connect_timeout_s, read=None, write=30.0, pool=30.0
            )
            # A connection per request, none kept idle: llama-server (cpp-httplib) closes a
            # kept-alive connection after a few requests without saying so, and the next
            # request sent on it failed ("closed the connection before answering", 5 of
            # 60 requests here). A new loopback connection costs ~0.1 ms a run.
            # Its connections' reads are paced once an answer streams (.pacing); a
            # proxy from the environment (HTTP_PROXY; server_client says when), if any,
            # gets the same verify and limits, and its connections are paced too. httpx
            # makes a proxy's transport only for a client given none of its own: given
            # one, runs went straight to the server's address ("cannot reach") while its
            # check went by the proxy.
            limits = httpx.Limits(max_keepalive_connections=0)
            return paced_client(server_client(self._url() or "", timeout=timeout, limits=limits))

        return self._client.get(make)

    async def aclose(self) -> None:
        """Close the HTTP client (its pooled connections); a later request makes a new one."""
        await self._client.aclose()

    async def server_props(self) -> dict[str, Any]:
        """The spawned llama-server's ``GET /props`` (build, model path), asked once per
        process: it does not change while the server runs. {} when it does not answer
        within ``check_timeout_s``."""
        import httpx

        server = self.server
        if server is None or not server.running:
            return {}
        if self._props_pid == server.pid:
            return self._props
        try:
            response = await self.client().get(
                f"{server.base_url}/props", headers=self._headers(), timeout=self._check_timeout_s
            )
            props = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError, RuntimeError):
            return {}
        self._props = props if isinstance(props, dict) else {}
        self._props_pid = server.pid
        return self._props

    @property
    def thinking_switch_pending(self) -> bool:
        """Whether its spawned llama-server has yet to say if the model has a thinking
        switch: it is starting, or ready and not yet asked (:meth:`learn_thinking_switch`).
        False for a server someone else runs, for one stopped or crashed, and for one
        that did not answer (:attr:`thinking_switch_unknown`)."""
        server = self.server
        if server is None:
            return False
        state = server.status.state
        if state is ServerState.READY:
            return server.pid not in (self._template_pid, self._template_unanswered_pid)
        return state in STARTING_STATES

    @property
    def thinking_switch_unknown(self) -> bool:
        """Whether its spawned llama-server, ready, was asked whether the model has a
        thinking switch and did not answer in time (suspended, say): the switch is sent
        as for a model that has one, and asked about again before the next run."""
        server = self.server
        if server is None or server.status.state is not ServerState.READY:
            return False
        return self._template_unanswered_pid == server.pid != self._template_pid

    async def learn_thinking_switch(self) -> None:
        """Whether the spawned llama-server's model has a thinking switch (its chat template
        reacts to ``enable_thinking``: :func:`~.server_kinds.template_thinks`), asked once
        per process once it is ready. The dialect and capabilities follow, as they do
        after an attached llama.cpp's check: a template without one is sent no switch,
        and thinking cannot be switched. Kept as it was when the server does not say."""
        server = self.server
        if server is None or server.status.state is not ServerState.READY:
            return
        if self._template_pid == server.pid:
            return
        asked = template_thinks(self.client(), server.base_url, self._headers())
        try:  # its client waits as long as an answer takes; this is a quick question
            thinks = await asyncio.wait_for(asked, self._check_timeout_s)
        except TimeoutError:  # suspended, say: said unknown, and asked again next time
            self._template_unanswered_pid = server.pid
            return
        self._template_pid = server.pid
        self.dialect = LlamaCppDialect(ModelFacts(thinks=thinks))
        self.capabilities = replace(
            self.capabilities, supports_thinking=self.dialect.can_switch_thinking
        )

    async def _exchange(
        self, url: str, payload: dict[str, Any], answering: Callable[[], bool]
    ) -> AsyncIterator[httpx.Response | bytes]:
        # ``url`` is the full chat endpoint (the dialect's path on the server root).
        """The response (its body read unless 200), then the raw body chunks.

        One async generator, so the idle rule covers the wait for the headers
        as well as the body, and closing it closes the HTTP stream. Once
        ``answering`` says the first token is in, the connection is read in
        batches (:mod:`~pelican_tui.backends.pacing`): llama-server's first chunk
        (the role, no token) comes before the prompt is read, and the time to the
        first token is seen as it is.
        """
        client = self.client()
        async with client.stream("POST", url, json=payload, headers=self._headers()) as response:
            if response.status_code != 200:
                await response.aread()
            yield response
            if response.status_code == 200:
                paced = False
                async for raw in response.aiter_raw():
                    yield raw
                    if not paced and answering():
                        pace_reads(response)
                        paced = True

    async def generate(self, request: GenerationRequest) -> AsyncIterator[events.GenerationEvent]:
        import httpx

        gave_up, url = self.gave_up, self._url()
        if gave_up is not None and url is not None and not await self._answers_after_silence(url):
            yield self._not_answering(gave_up)  # not waited on for idle_timeout_s again
            return
        if self.server is None and (self.check is None or not self.check.ready):
            await self.probe()
        url = self._url()
        status = self.status()
        if url is None or not status.ready:
            yield events.Failed(f"local model not ready: {status.message}", hint=status.hint)
            return
        who = self._who()
        stream = _Stream(who, model=self.model or str(self.facts.get("model", "local")))
        dialect = self.dialect
        payload = dialect.payload(request, self.model)
        decoder = dialect.decoder()
        endpoint = f"{url}{dialect.chat_path}"
        head = bytearray()  # the body until a chunk is read: what it was, if no stream
        try:
            source = self._exchange(endpoint, payload, lambda: stream.first_token_at is not None)
            async with contextlib.aclosing(
                watch_idle(source, self.idle, ended=lambda: stream.over, keep_alive=_keep_alive)
            ) as exchange:
                async for item in exchange:
                    if isinstance(item, events.Waiting):
                        yield item
                        continue
                    if isinstance(item, httpx.Response):
                        if item.status_code != 200:
                            yield _http_failure(
                                who,
                                item.status_code,
                                item.text,
                                self.model,
                                by_user=has_user(self._given_url or ""),
                            )
                            return
                        yield stream.started()
                        continue
                    if not stream.chunks_seen and len(head) < _BODY_KEPT:
                        head += item[: _BODY_KEPT - len(head)]
                    for event in stream.handle(dialect.chunks(decoder.feed(item))):
                        yield event
                if not stream.over:
                    for event in stream.handle(dialect.chunks(decoder.close())):
                        yield event
        except StreamIdle as idle:
            if self.server is None:  # the next run asks it first (a spawned one says itself)
                self.gave_up = idle
            yield idle_failure(who, idle, self._lost_hint())
            return
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            problem = connection_problem(error, self._connect_timeout_s)
            where = who if self.server else self._display_url
            message = f"cannot reach {where}{proxy_words(self._url() or '')}: {problem}"
            hint = self._lost_hint()
            self._lost(message, hint)
            yield events.Failed(message, hint=hint)
            return
        except (httpx.RemoteProtocolError, httpx.ReadError):
            where = "mid-answer" if stream.began else "before answering"
            hint = await self._after_drop()
            yield events.Failed(f"{who} closed the connection {where}", hint=hint)
            return
        except httpx.HTTPError as error:
            yield events.Failed(
                f"the connection to {who} failed: {connection_problem(error)}",
                hint=self._lost_hint(),
            )
            return
        except ValueError:  # json.JSONDecodeError, non-UTF-8 data
            yield events.Failed(f"{who} sent data that is not valid JSON; the answer was abandoned")
            return
        if stream.failed:
            return
        for event in stream.flush():
            yield event
        if not stream.done and stream.finish_reason is None:
            if stream.chunks_seen:
                hint = await self._after_drop()
                yield events.Failed(f"{who} ended the answer before it was complete", hint=hint)
                return
            whole = _whole_answer(bytes(head))
            if whole is None:
                yield _not_a_stream(who, bytes(head))
                return
            # Answered all at once (no stream): the answer as one chunk, kept.
            for event in [*stream.handle([whole]), *stream.flush()]:
                yield event
        yield stream.finished()


class _Stream:
    """Turns decoded SSE chunks into generation events and keeps the numbers."""

    def __init__(self, who: str, *, model: str) -> None:
        self.who = who
        self.model = model
        self.sent = time.monotonic()
        self.began = False
        self.first_token_at: float | None = None
        self.thinking_chunks = 0
        self.answer_chunks = 0
        self.live_rate: float | None = None
        self.last_live = 0.0
        self.final: dict[str, Any] = {}
        self.usage: dict[str, Any] = {}
        self.finish_reason: str | None = None
        self.done = False
        """``data: [DONE]`` arrived."""
        self.chunks_seen = 0
        """Chunks decoded from the body (none: the body was not a stream of them)."""
        self.failed = False
        """The server reported an error mid-stream (already yielded as :class:`Failed`)."""
        self.tags = ThinkTags()
        """Reasoning inside the answer text (``<think>…</think>``) is told apart."""

    @property
    def over(self) -> bool:
        return self.done or self.failed

    def started(self) -> events.Started:
        self.began = True
        return events.Started(self.model)

    def handle(self, chunks: list[Any]) -> list[events.GenerationEvent]:
        """Events for a dialect's chunks (OpenAI-style dicts, or :data:`~.dialects.DONE`)."""
        out: list[events.GenerationEvent] = []
        for chunk in chunks:
            self.chunks_seen += 1
            if chunk is DONE:
                self.done = True
                break
            if not isinstance(chunk, dict):
                continue
            if "error" in chunk:
                self.failed = True
                out.append(_error_event(self.who, chunk["error"]))
                break
            try:
                self._chunk(chunk, out)
            except (AttributeError, TypeError, ValueError):  # a field of another shape
                self.failed = True
                out.append(
                    events.Failed(
                        f"{self.who} sent a chunk that is not a chat-completion chunk; "
                        "the answer was abandoned",
                        hint="check that the URL points at an OpenAI-compatible server",
                    )
                )
                break
        return out

    def _chunk(self, chunk: dict[str, Any], out: list[events.GenerationEvent]) -> None:
        # Per token: each field looked up once, one clock read, one event per piece.
        usage = chunk.get("usage")
        if usage:
            self.usage = usage
        timings = chunk.get("timings")
        if timings:
            self.final = timings
            self.live_rate = timings.get("predicted_per_second") or self.live_rate
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta")
            if delta:
                # llama.cpp, LM Studio, older vLLM: reasoning_content;
                # vLLM, Ollama's /v1: reasoning.
                thinking = delta.get("reasoning_content") or delta.get("reasoning")
                if thinking and isinstance(thinking, str):
                    self.thinking_chunks += 1
                    out.append(events.ThinkingDelta(thinking))
                text = delta.get("content")
                if text and isinstance(text, str):
                    if self.tags.answering:
                        self.answer_chunks += 1
                        out.append(events.TextDelta(text))
                    else:
                        for is_thinking, piece in self.tags.feed(text):
                            self._piece(is_thinking, piece, out)
            finish = choice.get("finish_reason")
            if finish:
                self.finish_reason = finish
        now = time.monotonic()
        if self.first_token_at is None:
            if not out:
                return
            self.first_token_at = now
        if now - self.last_live >= LIVE_STATS_INTERVAL_S:
            self.last_live = now
            counted = self.usage.get("completion_tokens")  # vLLM: usage on every chunk
            chunks = counted if isinstance(counted, int) and counted > 0 else None
            chunks = chunks or self.thinking_chunks + self.answer_chunks
            span = now - self.first_token_at
            measured = events.rate_measurable(chunks, span)  # the server's rate too
            out.append(
                events.LiveStats(
                    tokens=chunks,
                    tokens_per_s=(self.live_rate or events.decode_rate(chunks, span))
                    if measured
                    else None,
                    thinking_tokens=self.thinking_chunks,
                    time_to_first_token_s=self.first_token_at - self.sent,
                )
            )

    def _piece(self, thinking: bool, text: str, out: list[events.GenerationEvent]) -> None:
        if thinking:
            self.thinking_chunks += 1
            out.append(events.ThinkingDelta(text))
        else:
            self.answer_chunks += 1
            out.append(events.TextDelta(text))

    def flush(self) -> list[events.GenerationEvent]:
        """Answer text held back while it could still have been a ``<think>`` tag."""
        out: list[events.GenerationEvent] = []
        for is_thinking, piece in self.tags.close():
            self._piece(is_thinking, piece, out)
        if out and self.first_token_at is None:
            self.first_token_at = time.monotonic()
        return out

    def finished(self) -> events.Finished:
        ended = time.monotonic()
        final, usage, first = self.final, self.usage, self.first_token_at
        generated = final.get("predicted_n") or usage.get("completion_tokens")
        # llama-server says 0 tokens/s of a one-token answer: a rate needs two tokens.
        decode_rate = final.get("predicted_per_second") or None
        if decode_rate is None and generated and first is not None:
            decode_rate = events.decode_rate(generated, ended - first)
        if generated is not None and generated < 2:
            decode_rate = None
        return events.Finished(
            timings=events.Timings(
                time_to_first_token_s=(first - self.sent) if first else None,
                prompt_tokens_per_s=final.get("prompt_per_second"),
                generation_tokens_per_s=decode_rate,
                total_s=ended - self.sent,
                prompt_tokens=final.get("prompt_n") or _prompt_tokens_read(usage),
                generated_tokens=generated,
            ),
            usage=events.Usage(
                input_tokens=usage.get("prompt_tokens") or final.get("prompt_n"),
                output_tokens=generated,
                thinking_tokens=_reasoning_tokens(usage) or self.thinking_chunks,
            ),
            stop_reason=self.finish_reason,
        )


def _prompt_tokens_read(usage: dict[str, Any]) -> int | None:
    """``usage.prompt_tokens`` less ``prompt_tokens_details.cached_tokens`` (vLLM, the
    OpenAI API): the prompt's tokens the server read, not those it took from its cache
    (:func:`~pelican_tui.backends.store.records.prompt_from_cache`)."""
    whole = usage.get("prompt_tokens")
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if isinstance(whole, int) and isinstance(cached, int) and 0 < cached <= whole:
        return whole - cached
    return whole


def _reasoning_tokens(usage: dict[str, Any]) -> int | None:
    """``usage.completion_tokens_details.reasoning_tokens`` (LM Studio, OpenAI), if given."""
    details = usage.get("completion_tokens_details")
    count = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return count if isinstance(count, int) and count > 0 else None


_BODY_KEPT = 1 << 20
"""How much of a body is kept until its first chunk: all of an answer that came at
once (no stream), or enough to say what it was."""


def _whole_answer(body: bytes) -> dict[str, Any] | None:
    """A chat completion that came all at once, as one streamed chunk would carry it
    (its message as the delta), or None when the body is not one."""
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        message = choice["message"]
        delta = {key: message.get(key) for key in ("content", "reasoning_content", "reasoning")}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    if not isinstance(delta["content"], str):
        return None
    finish = choice.get("finish_reason") or "stop"
    whole = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    for key in ("usage", "timings"):
        if isinstance(data.get(key), dict):
            whole[key] = data[key]
    return whole


def _not_a_stream(who: str, head: bytes) -> events.Failed:
    """A 200 whose body held no chunk: what it held instead, in words."""
    text = head.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and ("error" in body or "detail" in body):
        message = error_words(body)
        return events.Failed(f"{who} answered with an error{f': {message}' if message else ''}")
    if is_web_page(text):
        return events.Failed(
            f"{who} answered with a web page, not the API",
            hint="check the URL: a proxy, a login page or another web server answered",
        )
    if not text:
        return events.Failed(f"{who} answered with nothing")
    return events.Failed(
        f"{who} answered with something that is not an answer stream",
        hint="check that the URL points at an OpenAI-compatible server",
    )


def _keep_alive(item: object) -> bool:
    """Body bytes that are SSE comments alone (``: ping``, blank lines): a server
    keeping the connection open, not an answer coming in. Called for every read of
    a stream: a read that starts with anything but a comment is answered at once."""
    if not isinstance(item, bytes) or not item.lstrip().startswith(b":"):
        return isinstance(item, bytes) and not item.strip()
    return all(not line.strip() or line.startswith(b":") for line in item.splitlines())


def _http_failure(
    who: str, status: int, body: str, model: str | None = None, *, by_user: bool = False
) -> events.Failed:
    """A refused request in words: the server's own message when it gave one in JSON,
    never an HTML page (a proxy's or a web server's) or a raw body. A 404 that says a
    model was not found came from the API itself (the URL is right): its hint is about
    the model (``model``: the one asked for). Refused for good (``permanent``: a batch
    sends no more) when the key was (401, 403), or the user and password in the URL
    (``by_user``: it names one), or the model is not there (that 404); not any other
    404 (a proxy's, a path), nor a busy or loading server."""
    try:
        message = error_words(json.loads(body))
    except ValueError:
        message = None
    if status == 503:
        return events.Failed(
            f"{who} is still loading its model (503)", hint="wait until it is ready"
        )
    if status in (401, 403) and by_user:
        return events.Failed(
            f"{who} refused the user or password in the URL ({status})",
            permanent=True,
            briefly="password refused",
        )
    if status in (401, 403):
        return events.Failed(
            f"{who} rejected the API key ({status})", permanent=True, briefly="key refused"
        )
    said = f": {message}" if message else ""
    if message is None and is_web_page(body):
        said = " with a web page, not an API error (a proxy or another web server?)"
    hints = {
        404: "check that the URL points at the server's API root (without /v1)",
        429: "the server is busy or limits requests: wait, then run again",
    }
    words = (message or "").lower()
    no_model = status == 404 and "model" in words and "not found" in words
    if no_model:
        name = f" {one_line(model)}" if model else ""
        hints[404] = (
            f"the server does not have the model{name} now: load or pull it there, "
            "or choose one it lists, then run again"
        )
    return events.Failed(
        f"{who} answered {status}{said}",
        hint=hints.get(status),
        permanent=no_model,
        briefly="no such model" if no_model else None,
    )


def _error_event(who: str, error: Any) -> events.Failed:
    message = error_words({"error": error})
    return events.Failed(
        f"{who} reported an error mid-answer" + (f": {message}" if message else "")
    )
