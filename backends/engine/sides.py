"""The sides a pane can run, built from the settings: the local model, a remote
OpenAI-compatible server, Claude.

A :class:`Side` is everything the engine needs to make a run on one backend:
the request it sends for a pane's choice (prompt, system prompt, thinking,
effort, sampling, seed, max tokens), what the session records about it (model
id, identity, settings as sent), which server it runs on (runs on one server
take turns), and how a pane is titled. Front ends never build these
themselves: they pick a :class:`PaneChoice` and read :class:`PaneHeader`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pelican_tui.backends.anthropic_backend import ClaudeBackend
from pelican_tui.backends.engine.choices import CLAUDE, LOCAL, REMOTE, PaneChoice, PaneHeader
from pelican_tui.backends.engine.thinking_check import IGNORED_SWITCH_NOTE
from pelican_tui.backends.events import Failed
from pelican_tui.backends.llama.config import without_port
from pelican_tui.backends.llama.gguf_info import format_params
from pelican_tui.backends.llama.local_model import LocalPlan, server_config
from pelican_tui.backends.llama.process import (
    LlamaServer,
    ServerState,
    ServerStatus,
    StatusCallback,
)
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.openai_compat.payload import recommended_sampling
from pelican_tui.backends.openai_compat.probe import (
    CHECK_TIMEOUT_S,
    normalize_base_url,
    short_model_name,
)
from pelican_tui.backends.openai_compat.server_kinds import LLAMA_CPP
from pelican_tui.backends.protocol import (
    BackendStatus,
    Capabilities,
    Effort,
    GenerationRequest,
    ModelBackend,
)
from pelican_tui.backends.secrets import url_without_credentials
from pelican_tui.backends.settings import LocalSettings, Settings
from pelican_tui.backends.text import NO_THINKING_SWITCH, on_off, thinking_word

if TYPE_CHECKING:
    from pelican_tui.backends.llama.gguf_info import GGUFInfo
    from pelican_tui.backends.store.records import BackendKind


def gguf_facts(info: GGUFInfo) -> dict[str, Any]:
    """What a GGUF header says about the model, with counts as integers."""
    facts: dict[str, Any] = {"arch": info.architecture, "total_params": info.total_params}
    if info.expert_count:
        facts["active_params"] = info.active_params
        facts["experts"] = f"{info.expert_used_count}/{info.expert_count}"
    facts["quant"] = info.quantization
    if info.context_length:
        facts["trained_ctx"] = info.context_length
    return facts


THIS_MACHINE = "this machine"
"""The :attr:`Side.turn_key` of every server on this machine."""
NOT_ANSWERING = "not answering"
"""The status bar's word on a server someone else runs whose last run gave up for
silence, until it answers again."""
MACHINE_TURN = "two servers on this machine, in turn"
"""Why a run waits for a run on another server of this machine."""


OWN_SERVER_NOTES = {
    ServerState.STARTING: "loading model",
    ServerState.LOADING: "loading model",
    ServerState.DOWNLOADING: "downloading model",
    ServerState.CRASHED: "server crashed",
}
"""What the terminal's title says of a llama-server pelican-tui runs that cannot take a
run (:meth:`LocalSide.not_ready_note`), as the status bar's "server: loading…"."""


class ServerHandle:
    """The llama-server a side owns, as a front end may use it: start, stop,
    restart, its status and its log (never its internals)."""

    def __init__(self, server: LlamaServer) -> None:
        self._server = server

    @property
    def status(self) -> ServerStatus:
        return self._server.status

    @property
    def pid(self) -> int | None:
        return self._server.pid

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._server.running

    @property
    def base_url(self) -> str:
        """Where it listens (``http://127.0.0.1:PORT``; only once started)."""
        return self._server.base_url

    @property
    def log(self) -> list[str]:
        """The log lines kept so far (oldest first)."""
        return list(self._server.log)

    def subscribe_log(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback`` with every new log line; returns the unsubscribe function."""
        self._server.log_listeners.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._server.log_listeners.remove(callback)

        return unsubscribe

    def display_flags(self) -> list[str]:
        """The command line, secrets redacted."""
        return self._server.config.display_flags()

    async def start(self) -> None:
        await self._server.start()

    async def stop(self, grace_s: float = 5.0) -> None:
        await self._server.stop(grace_s=grace_s)

    async def restart(self) -> None:
        await self._server.restart()

    async def settle(self) -> None:
        """Let :attr:`status` catch up with a process that has just died."""
        await self._server.settle()

    def kill_now(self) -> None:
        self._server.kill_now()


class Side:
    """One backend as the engine runs it (see the module doc)."""

    key: str
    kind: BackendKind
    backend: ModelBackend
    server_key: str
    """The server its runs go to: runs of sides with one key run one after the other."""
    server: ServerHandle | None = None
    """The llama-server this side owns, if it owns one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._on_this_machine: bool | None = None
        self.last_failure: Failed | None = None
        """How its latest run that was not cancelled failed (:meth:`run_ended`); None:
        that run finished, or none has ended."""
        self._ignored_switches: set[tuple[str, bool, Effort | None]] = set()
        """The thinking switches (model, thinking, level) the check after the last run
        that sent each found ignored (:meth:`switch_checked`)."""

    def on_this_machine(self) -> bool:
        """Whether its server runs here (:meth:`_server_here`, asked once). May look a
        host name up: call it off the event loop the first time."""
        if self._on_this_machine is None:
            self._on_this_machine = self._server_here()
        return self._on_this_machine

    @property
    def knows_where(self) -> bool:
        """Whether :meth:`on_this_machine` has its answer (no host name to look up)."""
        return self._on_this_machine is not None

    def _server_here(self) -> bool:
        return self.server is not None  # one it owns

    @property
    def memory_sampled(self) -> bool:
        """Whether the engine's memory samples are of its server (a run's peak memory
        is recorded): the llama-server it owns."""
        return self.server is not None

    @property
    def turn_key(self) -> str:
        """Runs whose sides share this key run one after the other: the runs of one
        server, and of every server on this machine, which share its cores and memory
        (two at once would each be timed at a fraction of its speed)."""
        return THIS_MACHINE if self.on_this_machine() else self.server_key

    # -- what a front end reads ------------------------------------------------------

    @property
    def label(self) -> str:
        """The side's short name, for status lines ("local", "claude")."""
        return self.key

    @property
    def can_check(self) -> bool:
        """Whether :meth:`check` contacts a server (an attached or remote one)."""
        return False

    def status(self) -> BackendStatus:
        return self.backend.status()

    def unreachable(self) -> bool:
        """Whether its server someone else runs was last found not reachable (the app
        then asks it again now and then)."""
        return False

    async def check(self) -> BackendStatus:
        """Contact the server now where that means something; else the current status."""
        return self.status()

    def thinking_switch_unknown(self) -> bool:
        """Whether its server was asked if the model has a thinking switch and did not
        answer (the switch is sent, and asked about again before the next run)."""
        return False

    async def ask_thinking_switch(self) -> None:
        """Ask its server again whether its model has a thinking switch (one small
        question): the app asks while :meth:`thinking_switch_unknown`, every few seconds
        while no pane runs on it."""

    async def still_there(self) -> BackendStatus | None:
        """For its server someone else runs, last found ready: one cheap question whether
        it still answers (the app asks an idle one every few seconds); the status when
        it does not, None when it does or there is nothing to ask."""
        return None

    def header(self, choice: PaneChoice, number: str) -> PaneHeader:
        raise NotImplementedError

    def note(self) -> str | None:
        """A status-bar segment for sides without a server process ("claude: ready")."""
        return None

    def run_ended(self, outcome: str, failed: Failed | None) -> None:
        """Keep how a run of it ended, :attr:`last_failure`, until a run of it finishes
        or fails otherwise (a 529 after a 401: the key got through). A cancelled run
        says nothing new of it."""
        if outcome == "finished":
            self.last_failure = None
        elif outcome == "failed":
            self.last_failure = failed or Failed("failed")

    def switch_checked(self, request: GenerationRequest, ignored: bool | None) -> None:
        """Keep what the check after a run of ``request`` found of its thinking switch
        (:mod:`.thinking_check`): ignored, or followed; None (nothing arrived, no switch
        sent) leaves what was known. Its header says an ignored one until a run that
        sends the same switch to the same model finds it followed."""
        key = self._switch_key(request)
        if ignored:
            self._ignored_switches.add(key)
        elif ignored is False:
            self._ignored_switches.discard(key)

    def switch_ignored(self, choice: PaneChoice) -> bool:
        """Whether the last run that sent ``choice``'s thinking switch to this model
        found it ignored (LM Studio thinking when asked not to): its next run will
        likely think as that one did."""
        if not self._ignored_switches:
            return False
        return self._switch_key(self.request(choice, "")) in self._ignored_switches

    def ignored_switch_note(self, choice: PaneChoice) -> str | None:
        """:meth:`switch_ignored` in words, for the notice of a key that chose ``choice``
        ("the server ignored it in its last run that sent it"); None: it was not."""
        if not self.switch_ignored(choice):
            return None
        return "the server ignored it in its last run that sent it"

    def _switch_key(self, request: GenerationRequest) -> tuple[str, bool, Effort | None]:
        """What makes a thinking switch the same one: the model, thinking, and the level
        where the model takes levels (Ollama's gpt-oss)."""
        levels = self.backend.capabilities.supports_effort and request.thinking
        return self.model_name(), request.thinking, request.effort if levels else None

    @property
    def refused(self) -> str | None:
        """Why its latest run failed for good (:attr:`.Failed.permanent`), in a few
        words ("key refused"): its status until a run of it finishes or fails
        otherwise; None: it did not."""
        failed = self.last_failure
        if failed is None or not failed.permanent:
            return None
        return failed.briefly or "refused"

    @property
    def failed_lately(self) -> bool:
        """Whether its latest run failed, but not for good (the status bar says
        "failed" while no run of it streams; its :meth:`note` says a failure for good)."""
        return self.last_failure is not None and not self.last_failure.permanent

    def effort(self, choice: PaneChoice) -> Effort:
        """The effort a run of ``choice`` asks: the pane's, else the side's default
        (the request's; Claude's is ``claude.effort``)."""
        return choice.effort or GenerationRequest().effort

    def thinking(self, choice: PaneChoice) -> str:
        """How a run of ``choice`` thinks, as its configuration names it after "thinking"
        ("on", "off"; Claude's effort, "high")."""
        return on_off(choice.thinking)

    def sends_switch(self, choice: PaneChoice) -> bool:
        """Whether a run of ``choice`` is sent a thinking switch, as its run will record
        it (:func:`~pelican_tui.backends.ratings.configuration.switch_sent`): not where
        its model or server is known to have none (the stand-in's template)."""
        # Imported here: the ratings package brings numpy, not on the way to the first frame.
        from pelican_tui.backends.ratings.configuration import switch_sent

        return switch_sent(self.recorded_settings(self.request(choice, "")))

    def lowest_thinking(self) -> Effort | None:
        """Where the model cannot turn thinking off (it takes levels and reasons whatever
        it is sent: Ollama's gpt-oss), its lowest level, at which a run asked for thinking
        off runs ("low"); None: thinking off is off (or not known yet: before the check)."""
        return _lowest_level(self.backend.capabilities)

    def no_off_note(self) -> str | None:
        """That the model cannot turn thinking off, in one sentence ("gpt-oss:20b cannot
        turn thinking off: its lowest level is low"); None: it can (see
        :meth:`lowest_thinking`)."""
        lowest = self.lowest_thinking()
        if lowest is None:
            return None
        return f"{self.model_name()} cannot turn thinking off: its lowest level is {lowest}"

    def off_note(self, choice: PaneChoice) -> str | None:
        """Why a run of ``choice`` thinks although it asks for thinking off (the model
        cannot turn it off: its lowest level runs instead), recorded with the run; None:
        it runs as asked."""
        lowest = None if choice.thinking else self.lowest_thinking()
        if lowest is None:
            return None
        return (
            f"thinking off was asked, but {self.model_name()} cannot turn thinking off: "
            f"it ran at its lowest level, {lowest}"
        )

    def model_name(self) -> str:
        """The model as its pane's title names it."""
        return self.label

    def turn_reason(self, holder: Side | None) -> str:
        """Why a run of this side waits while ``holder``'s run (None: unknown) has the
        turn (see :attr:`turn_key`)."""
        if holder is not None and holder.server_key != self.server_key:
            return MACHINE_TURN
        return f"one {self.label} server, in turn"

    # -- what the engine uses --------------------------------------------------------

    def request(self, choice: PaneChoice, prompt: str) -> GenerationRequest:
        raise NotImplementedError

    def recorded_settings(self, request: GenerationRequest) -> dict[str, Any]:
        """The ``settings`` stored with a run: everything sent that shapes the answer."""
        sampling = request.sampling or recommended_sampling(request.thinking)
        recorded: dict[str, Any] = {
            "thinking": request.thinking,
            "sampling": asdict(sampling),
            "max_tokens": request.max_tokens,
            "system": request.system,
            "seed": request.extra.get("seed"),
        }
        return recorded

    async def identity(
        self, request: GenerationRequest | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The model id and model identity recorded with a run (of ``request``)."""
        raise NotImplementedError

    def model_thinks(self) -> bool | None:
        """Whether the server says the model has a thinking mode (None: it does not say);
        the check after each run (:mod:`.thinking_check`) reads it."""
        return None

    async def aclose(self) -> None:
        """Close the backend's HTTP client (kept for the app's life; the engine's close)."""


HashProgress = Callable[[str, int, int], None]


class HashStopped(Exception):
    """Raised in the hashing thread to stop it (the side was reconfigured or closed)."""


def local_kind(plan: LocalPlan) -> BackendKind:
    """How a run of the local model is stored: "local" (llama-server spawned by
    pelican-tui) or "openai" (a server at ``local.url``)."""
    return "openai" if plan.mode == "attach" else "local"


class LocalSide(Side):
    """The local model: llama-server spawned by pelican-tui, or a server at ``local.url``."""

    key = LOCAL

    def __init__(
        self,
        settings: Settings,
        plan: LocalPlan,
        binary: Path | None,
        *,
        on_status: StatusCallback | None = None,
        ceiling_tok_s: float | None = None,
        on_hash_progress: HashProgress | None = None,
        backend: OpenAICompatibleBackend | None = None,
    ) -> None:
        """``backend``: a backend made elsewhere (one model of a router's,
        :mod:`.router_sides`); None: :func:`make_local_backend` makes one for ``plan``."""
        super().__init__(settings)
        self.plan = plan
        self.on_hash_progress = on_hash_progress
        """Called on the event loop with (file name, bytes done, total) while hashing."""
        self._stop_hashing = threading.Event()
        self.binary = binary
        self.ceiling_tok_s = ceiling_tok_s
        local = settings.local
        self.openai = backend or make_local_backend(
            local,
            plan,
            binary,
            on_status=on_status,
            idle_timeout_s=settings.idle_timeout_s,
            check_timeout_s=settings.check_timeout_s,
        )
        self.backend = self.openai
        self.attached = plan.mode == "attach"
        self.kind = local_kind(plan)
        self.server_key = _url_key(plan.url or "") if self.attached else "llama-server"
        if self.openai.server is not None:
            self.server = ServerHandle(self.openai.server)
        self.model_file: Path | None = plan.model_path
        """The GGUF being served (for ``-hf``: known once llama-server has it)."""
        self._identity: asyncio.Task[dict[str, Any]] | None = None

    @property
    def can_check(self) -> bool:
        return self.attached

    def _server_here(self) -> bool:
        return super()._server_here() or (
            self.attached and self.plan.url is not None and url_on_this_machine(self.plan.url)
        )

    @property
    def memory_sampled(self) -> bool:
        """Its own llama-server, or one it is attached to: the process listening on its
        URL when that is on this machine, as the status bar measures it; else the
        samples say why not ("remote, memory not visible")."""
        return self.server is not None or self.attached

    async def check(self) -> BackendStatus:
        if not self.attached:
            return self.status()
        status = await self.openai.probe()
        check = self.openai.check
        if status.ready and check is not None and self.model_file is None:
            # A server on this machine that names its model file: its mapping is
            # then measured like the spawned llama-server's.
            self.model_file = existing_file(check.facts.file)
        return status

    async def still_there(self) -> BackendStatus | None:
        return await self.openai.still_there() if self.attached else None

    def thinking_switch_unknown(self) -> bool:
        return self.openai.thinking_switch_unknown

    async def ask_thinking_switch(self) -> None:
        await self.openai.learn_thinking_switch()

    def model_thinks(self) -> bool | None:
        if self.attached:
            return _attached_thinks(self.openai)
        return self.openai.dialect.facts.thinks  # once its llama-server was asked

    def ran(self, model_info: Mapping[str, Any]) -> bool:
        """Whether a stored run's ``model_info`` (:meth:`identity`) is of this side as it
        is now: the model file its spawned llama-server serves. A run on a server it
        was attached to records the server's URL and no file."""
        path = model_info.get("path")
        if self.attached or "url" in model_info or not isinstance(path, str):
            return False
        return self.model_file is not None and str(self.model_file.absolute()) == path

    def unreachable(self) -> bool:
        return self.attached and _unreachable(self.openai)

    def server_note(self) -> str | None:
        """A server it is attached to, as last contacted ("vLLM 0.11.0 · Qwen3.6…",
        "not reachable"); None: it owns its server, or has not contacted it yet."""
        if not self.attached:
            return None
        return self.refused or _check_words(self.openai)

    def not_ready_note(self) -> str | None:
        """Why it cannot take a run now, in the few words of the terminal's title, as the
        status bar says it: its own llama-server's state ("loading model", "server
        crashed"), or a server it is attached to as :meth:`server_note` says it, after its
        name ("local: not ready": a key refused, "local: not reachable", "local: not
        answering"); None: it can, as far as is known (or its server was not started)."""
        if not self.attached:
            return OWN_SERVER_NOTES.get(self.server.status.state) if self.server else None
        ready = self.refused is None and self.openai.gave_up is None and self.status().ready
        return None if ready else f"{self.label}: {self.server_note()}"

    async def aclose(self) -> None:
        await self.openai.aclose()

    def recorded_settings(self, request: GenerationRequest) -> dict[str, Any]:
        recorded = super().recorded_settings(request)
        if self.attached or not self.openai.capabilities.supports_thinking:
            recorded |= _switch_settings(self.openai, request)  # spawned: when none is sent
        return recorded

    def thinking(self, choice: PaneChoice) -> str:
        return _level_sent(self.openai, choice, self.effort(choice)) or on_off(choice.thinking)

    def model_name(self) -> str:
        if not self.attached:
            return self.plan.label
        served = short_model_name(self.openai.model or "").removesuffix(".gguf")
        return self.settings.local.url_model or served or self.plan.label

    def header(self, choice: PaneChoice, number: str) -> PaneHeader:
        if self.attached:
            name = self.model_name()
            level = _level_sent(self.openai, choice, self.effort(choice))
            ignored = self.switch_ignored(choice)
            facts = _attached_facts(self.openai, str(self.plan.url), choice, level, ignored)
            has_switch = not _no_switch_found(self.openai)
            return PaneHeader(f"{number} local · {name}", facts, None, level, has_switch)
        bits: list[str] = []
        info = self.plan.info
        if info is not None:
            bits.append(format_params(info.total_params))
            if info.expert_count:
                bits.append(f"{format_params(info.active_params)} active")
            bits.append(info.quantization)
        has_switch = self.openai.capabilities.supports_thinking  # its llama-server says
        switch = thinking_word(choice.thinking) if has_switch else NO_THINKING_SWITCH
        if has_switch and self.openai.thinking_switch_pending:  # it may have none
            switch += " (checking…)"
        elif has_switch and self.thinking_switch_unknown():  # asked again before a run
            switch += " (switch not known yet)"
        elif has_switch and self.switch_ignored(choice):
            switch += f" ({IGNORED_SWITCH_NOTE})"
        bits += [f"ctx {self.settings.local.context}", switch]
        return PaneHeader(
            f"{number} local · {self.plan.label}",
            " · ".join(bits),
            self.ceiling_tok_s,
            thinking_switch=has_switch,
        )

    def request(self, choice: PaneChoice, prompt: str) -> GenerationRequest:
        limit = self.plan.answer_limit(self.settings.local.max_tokens)
        lowest = self.lowest_thinking()
        return _chat_request(self.settings, choice, prompt, max_tokens=limit, lowest=lowest)

    def start_identifying(self) -> None:
        """Begin hashing the model file and asking the server's version (once)."""
        if self._identity is None:
            self._identity = asyncio.create_task(self._identify(), name="identify local model")

    def forget_identity(self) -> None:
        """Drop what is known (or being found out) about the model; stops a hash."""
        if self._identity is not None and not self._identity.done():
            self._stop_hashing.set()
            self._identity.cancel()
        self._identity = None

    async def _identify(self) -> dict[str, Any]:
        from pelican_tui.backends.host_info import file_sha256_cached
        from pelican_tui.backends.llama.binary import server_version

        found: dict[str, Any] = {}
        if self.binary is not None:
            found["server_version"] = await asyncio.to_thread(server_version, self.binary)
        path = self.model_file
        if path is not None and path.is_file():
            loop = asyncio.get_running_loop()
            stop = self._stop_hashing = threading.Event()
            report = self.on_hash_progress

            def progress(done: int, total: int) -> None:  # in the hashing thread
                if stop.is_set():
                    raise HashStopped
                if report is not None:
                    loop.call_soon_threadsafe(report, path.name, done, total)

            with contextlib.suppress(OSError, HashStopped):
                found["sha256"] = await asyncio.to_thread(
                    file_sha256_cached, path, progress=progress
                )
        return found

    async def learn_from_server(self) -> None:
        """Once its spawned llama-server is ready: the file it loaded (for ``-hf``), and
        whether the model has a thinking switch; each asked once per process."""
        if self.openai.server is None:
            return
        await self.served_model_file()
        await self.openai.learn_thinking_switch()

    async def served_model_file(self) -> None:
        """For ``-hf``: learn from llama-server's ``/props`` which file it loaded."""
        if self.model_file is not None or self.openai.server is None:
            return
        props = await self.openai.server_props()
        served = existing_file(props.get("model_path"))
        if served is not None:
            self.model_file = served
            self.forget_identity()

    async def identity(
        self, request: GenerationRequest | None = None
    ) -> tuple[str, dict[str, Any]]:
        plan = self.plan
        info: dict[str, Any] = {"model": plan.label}
        if plan.stand_in:
            info["stand_in"] = True
        if self.attached:
            info["url"] = url_without_credentials(plan.url or "")
            served = short_model_name(self.openai.model) if self.openai.model else None
            if self.settings.local.url_model:
                info["url_model"] = self.settings.local.url_model
            elif served:
                info["served_model"] = served
            info.update(_attached_info(self.openai))
            if login := self.openai.login():
                info["login"] = login
            info["model"] = self.settings.local.url_model or served or plan.label
            return info["model"], info
        await self.served_model_file()
        self.start_identifying()
        assert self._identity is not None
        try:
            identity = await asyncio.shield(self._identity)
        except Exception:  # a hash that failed is a missing fact, not a failed run
            identity = {}
        model_file = self.model_file
        if model_file is not None:
            info["file"] = model_file.name
            info["path"] = str(model_file.absolute())
            with contextlib.suppress(OSError):
                info["file_size"] = model_file.stat().st_size
        info.update(identity)
        if plan.info is not None:
            info.update(gguf_facts(plan.info))
        if plan.hf:
            info["hf"] = plan.hf
        info["context"] = self.settings.local.context
        info["server_kind"] = LLAMA_CPP  # the one pelican-tui spawns
        if self.server is not None:
            info["server_args"] = without_port(self.server.display_flags())
            build = (await self.openai.server_props()).get("build_info")
            if isinstance(build, str):
                info["server_build"] = build
            load = self.server.status.load_seconds
            if load is not None:
                info["server_load_s"] = round(load, 3)
        model_id = model_file.name if model_file is not None else plan.hf or plan.label
        return model_id, info


class RemoteSide(Side):
    """A second OpenAI-compatible server a pane can switch to (``remote.url``)."""

    key = REMOTE
    kind: BackendKind = "openai"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        remote = settings.remote
        url = remote.url or ""
        self.openai = OpenAICompatibleBackend.attached(
            url,
            name=REMOTE,
            model=remote.model,
            api_key_env=remote.api_key_env,
            facts={"url": url_without_credentials(url)},
            idle_timeout_s=settings.idle_timeout_s,
            settings=(remote.url_origin, "remote.model"),
            check_timeout_s=settings.check_timeout_s,
        )
        self.backend = self.openai
        self.server_key = _url_key(url)

    @property
    def can_check(self) -> bool:
        return True

    def _server_here(self) -> bool:
        return url_on_this_machine(self.settings.remote.url or "")

    def unreachable(self) -> bool:
        return _unreachable(self.openai)

    async def check(self) -> BackendStatus:
        return await self.openai.probe()

    async def still_there(self) -> BackendStatus | None:
        return await self.openai.still_there()

    def _name(self) -> str:
        remote = self.settings.remote
        served = short_model_name(self.openai.model or "").removesuffix(".gguf")
        return remote.label or served or remote.url or REMOTE

    def thinking(self, choice: PaneChoice) -> str:
        return _level_sent(self.openai, choice, self.effort(choice)) or on_off(choice.thinking)

    def model_name(self) -> str:
        return self._name()

    def header(self, choice: PaneChoice, number: str) -> PaneHeader:
        level = _level_sent(self.openai, choice, self.effort(choice))
        url = str(self.settings.remote.url)
        facts = _attached_facts(self.openai, url, choice, level, self.switch_ignored(choice))
        has_switch = not _no_switch_found(self.openai)
        return PaneHeader(f"{number} remote · {self._name()}", facts, None, level, has_switch)

    def note(self) -> str | None:
        """Its state in a word or two ("remote: ready", "remote: not reachable"): its
        kind and model are in its pane's header (beside the memory figures they did not
        fit 80 columns)."""
        found = self.refused or _check_words(self.openai, named=False)
        return f"remote: {found}" if found else None

    def model_thinks(self) -> bool | None:
        return _attached_thinks(self.openai)

    async def aclose(self) -> None:
        await self.openai.aclose()

    def recorded_settings(self, request: GenerationRequest) -> dict[str, Any]:
        return super().recorded_settings(request) | _switch_settings(self.openai, request)

    def request(self, choice: PaneChoice, prompt: str) -> GenerationRequest:
        # local.max_tokens: the stand-in's short limit is not for this model.
        return _chat_request(
            self.settings,
            choice,
            prompt,
            max_tokens=self.settings.local.max_tokens,
            lowest=self.lowest_thinking(),
        )

    async def identity(
        self, request: GenerationRequest | None = None
    ) -> tuple[str, dict[str, Any]]:
        info: dict[str, Any] = {
            "model": self._name(),
            "url": url_without_credentials(self.settings.remote.url or ""),
        }
        if self.openai.model:
            info["served_model"] = short_model_name(self.openai.model)
        info.update(_attached_info(self.openai))
        if login := self.openai.login():
            info["login"] = login
        return self.openai.model or str(self.settings.remote.url), info


class ClaudeSide(Side):
    """Claude through the Anthropic Messages API."""

    key = CLAUDE
    kind: BackendKind = "claude"
    server_key = "anthropic"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.claude = ClaudeBackend(settings.claude, idle_timeout_s=settings.idle_timeout_s)
        self.backend = self.claude

    async def aclose(self) -> None:
        await self.claude.aclose()

    def effort(self, choice: PaneChoice) -> Effort:
        return choice.effort or self.settings.claude.effort

    def thinking(self, choice: PaneChoice) -> str:
        return self.effort(choice) if choice.thinking else "off"

    def header(self, choice: PaneChoice, number: str) -> PaneHeader:
        think = self.thinking(choice)
        title = f"{number} claude · {self.settings.claude.model}"
        return PaneHeader(title, f"thinking {think}", None, think)

    def note(self) -> str:
        if not self.settings.claude.enabled:
            return "claude: off"
        if self.refused is not None:
            return f"claude: {self.refused}"
        return "claude: ready" if self.status().ready else "claude: no key"

    def request(self, choice: PaneChoice, prompt: str) -> GenerationRequest:
        return GenerationRequest(
            prompt=prompt,
            thinking=choice.thinking,
            system=self.settings.system_prompt,
            max_tokens=self.settings.claude.max_tokens,
            effort=self.effort(choice),
        )

    def recorded_settings(self, request: GenerationRequest) -> dict[str, Any]:
        return {
            "thinking": request.thinking,
            "effort": request.effort if request.thinking else None,
            "sampling": None,  # not sent: the API no longer takes it for these models
            "max_tokens": request.max_tokens,
            "system": request.system,
            "seed": None,
        }

    async def identity(
        self, request: GenerationRequest | None = None
    ) -> tuple[str, dict[str, Any]]:
        model = self.settings.claude.model
        info: dict[str, Any] = {"model": model, "provider": "Anthropic Messages API"}
        if request is not None:
            info["thinking"] = "adaptive, summarized" if request.thinking else "off"
        with contextlib.suppress(metadata.PackageNotFoundError):
            info["sdk"] = f"anthropic {metadata.version('anthropic')}"
        return model, info


def _chat_request(
    settings: Settings,
    choice: PaneChoice,
    prompt: str,
    *,
    max_tokens: int,
    lowest: Effort | None = None,
) -> GenerationRequest:
    """The request to an OpenAI-compatible server, spawned or attached: the system
    prompt, ``local.seed``, and the choice's effort where the server has thinking
    levels (Ollama's gpt-oss). ``lowest``: the model cannot turn thinking off, so a
    choice of thinking off asks for thinking at this level (what the model does)."""
    seed = settings.local.seed
    thinking, effort = choice.thinking, choice.effort
    if not thinking and lowest is not None:
        thinking, effort = True, lowest
    request = GenerationRequest(
        prompt=prompt,
        thinking=thinking,
        system=settings.system_prompt,
        max_tokens=max_tokens,
        extra={"seed": seed} if seed is not None else {},
    )
    return replace(request, effort=effort) if effort else request


def _url_key(url: str) -> str:
    """The :attr:`Side.server_key` of a server given by URL: one server however its URL
    is written (``host:8080``, ``http://host:8080/v1/``, with a user and password)."""
    return f"url:{url_without_credentials(normalize_base_url(url))}"


def _switch_settings(
    backend: OpenAICompatibleBackend, request: GenerationRequest
) -> dict[str, Any]:
    """What a run on a server someone else runs records of its thinking switch: how it
    was sent, and where the model has thinking levels (Ollama's gpt-oss) the level sent
    as its ``effort``, as Claude's runs record theirs (None with thinking off), so each
    level is rated and named apart. A model without levels records no effort."""
    dialect = backend.dialect
    recorded: dict[str, Any] = {"thinking_switch": dialect.switch(request)}
    if dialect.has_effort:
        recorded["effort"] = dialect.level(request)
    return recorded


def _level_sent(backend: OpenAICompatibleBackend, choice: PaneChoice, effort: Effort) -> str | None:
    """The thinking level a run of ``choice`` at ``effort`` sends to a server someone
    else runs ("high": Ollama's gpt-oss; with thinking off, its lowest where it cannot
    turn thinking off); None: thinking off, or the model has no levels."""
    lowest = _lowest_level(backend.capabilities)
    if not choice.thinking and lowest is not None:
        return lowest
    return backend.dialect.level(GenerationRequest(thinking=choice.thinking, effort=effort))


def _lowest_level(capabilities: Capabilities) -> Effort | None:
    """The model's lowest thinking level where it cannot turn thinking off (see
    :meth:`Side.lowest_thinking`); None: it can, or it has no levels that are efforts."""
    if capabilities.thinking_off or not capabilities.efforts:
        return None
    return capabilities.efforts[0]


def _attached_facts(
    backend: OpenAICompatibleBackend,
    url: str,
    choice: PaneChoice,
    level: str | None,
    ignored: bool = False,
) -> str:
    """A pane's facts line for ``choice`` on a server someone else runs: its kind and
    version, what it says about the model, and thinking, with the ``level`` sent where
    the model has levels ("thinking high"; its URL until it has been checked), and
    whether the server ``ignored`` that switch in its last run that sent it. Not ready
    now (not reachable), it says what a run would send once it is back, as its last
    check found ("thinking low (no off)"), not the pane's choice alone."""
    check = backend.check
    switch = f"thinking {level}" if level else thinking_word(choice.thinking)
    if level and not choice.thinking:  # off asked of a model that cannot: its lowest runs
        switch += " (no off)"
    elif ignored:
        switch += f" ({IGNORED_SWITCH_NOTE})"
    if _no_switch_found(backend):
        switch = NO_THINKING_SWITCH  # what it does is the model's own (see the check)
    if check is None or not check.ready:
        return f"{url_without_credentials(url)} · {switch}"
    return " · ".join([check.kind.label, *check.facts.bits(), switch])


def _no_switch_found(backend: OpenAICompatibleBackend) -> bool:
    """Whether the check of a server someone else runs found no thinking switch for its
    model: its last check that found it ready, so a server not reachable now goes on
    saying so (False until one has: its capabilities before a check say no switch)."""
    return backend.last_ready_check is not None and not backend.capabilities.supports_thinking


def _unreachable(backend: OpenAICompatibleBackend) -> bool:
    """Whether the last contact with a server someone else runs did not reach it."""
    return backend.check is not None and not backend.check.reachable


def _check_words(backend: OpenAICompatibleBackend, *, named: bool = True) -> str | None:
    """What the last contact with a server someone else runs found, in a few words for
    the status bar (None: not contacted yet): "not answering" after a run on it gave up
    for silence, until it answers again. Ready, it is named with its model (``named``),
    else said "ready"."""
    check = backend.check
    if check is None:
        return None
    if backend.gave_up is not None:  # the last run's stream went silent for good
        return NOT_ANSWERING
    if check.ready:
        return check.summary if named else "ready"
    return "not ready" if check.reachable else "not reachable"


def _attached_info(backend: OpenAICompatibleBackend) -> dict[str, Any]:
    """``model_info`` about a server someone else runs: ``server_kind``, ``server_version``
    and the model facts it gives (see :mod:`~pelican_tui.backends.openai_compat.server_kinds`)."""
    check = backend.check
    if check is None or not check.ready:
        return {}
    info: dict[str, Any] = {"server_kind": check.kind.name}
    if check.kind.version:
        info["server_version"] = check.kind.version
    info.update(check.facts.record())
    return info


def _attached_thinks(backend: OpenAICompatibleBackend) -> bool | None:
    return backend.check.facts.thinks if backend.check is not None else None


def url_on_this_machine(url: str) -> bool:
    """Whether ``url``'s server runs on this machine (psutil is imported only then)."""
    from pelican_tui.backends.resource_sampler import on_this_machine

    return on_this_machine(url)


def existing_file(path: object) -> Path | None:
    """``path`` as a Path when it names a regular file, else None."""
    if not isinstance(path, str) or not path:
        return None
    candidate = Path(path)
    return candidate if candidate.is_file() else None


def make_local_backend(
    local: LocalSettings,
    plan: LocalPlan,
    binary: Path | None,
    on_status: StatusCallback | None = None,
    *,
    idle_timeout_s: float | None = None,
    check_timeout_s: float = CHECK_TIMEOUT_S,
) -> OpenAICompatibleBackend:
    """The local backend for ``plan``: a spawned server (not started yet) or a URL;
    ``check_timeout_s`` bounds the questions either is asked (the setting)."""
    if plan.mode == "attach":
        return OpenAICompatibleBackend.attached(
            plan.url or "",
            name=LOCAL,
            model=local.url_model,
            api_key_env=local.url_api_key_env,
            facts=plan.facts(),
            idle_timeout_s=idle_timeout_s,
            settings=(local.url_origin, "local.url_model"),
            check_timeout_s=check_timeout_s,
        )
    if binary is None:
        raise ValueError("a llama-server binary is needed to spawn the local model")
    config = server_config(local, binary, model=plan.model_path, hf=plan.hf)
    server = LlamaServer(config, on_status=on_status)
    return OpenAICompatibleBackend(
        server=server,
        name=LOCAL,
        facts=plan.facts(),
        idle_timeout_s=idle_timeout_s,
        check_timeout_s=check_timeout_s,
    )


__all__ = [
    "CLAUDE",
    "LOCAL",
    "MACHINE_TURN",
    "REMOTE",
    "THIS_MACHINE",
    "ClaudeSide",
    "LocalSide",
    "PaneChoice",
    "PaneHeader",
    "RemoteSide",
    "ServerHandle",
    "Side",
    "gguf_facts",
    "make_local_backend",
]
