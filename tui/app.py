"""The pelican-tui app: two models, two pictures, live numbers.

The app owns the engine objects (the local backend and its llama-server, the
Claude backend, the SVG renderer, the session store, the resource sampler)
and runs every piece of I/O in a named worker. Widgets only draw what they are
fed; see :mod:`pelican_tui.widgets.model_pane`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from pelican_tui.backends import locations
from pelican_tui.backends.anthropic_backend import ClaudeBackend
from pelican_tui.backends.engine.record import RunAccumulator, finished_from_record
from pelican_tui.backends.engine.sides import make_local_backend
from pelican_tui.backends.events import Failed
from pelican_tui.backends.llama.local_model import (
    LocalPlan,
    answer_token_limit,
    plan_local,
)
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.llama.process import LlamaServer, ServerStartError, ServerState
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend, short_model_name
from pelican_tui.backends.protocol import (
    EFFORTS,
    BackendStatus,
    GenerationRequest,
    ModelBackend,
)
from pelican_tui.backends.resources import ResourceSampler
from pelican_tui.backends.settings import LocalSettings, Settings
from pelican_tui.backends.svg.extract import close_partial_svg, extract_svg, repair_svg
from pelican_tui.commands import PelicanCommands
from pelican_tui.messages import KeyRow, ResourceTick, ServerStatusChanged
from pelican_tui.widgets.model_pane import ModelPane, PaneSpec
from pelican_tui.widgets.picture import cell_pixels, resolve_mode
from pelican_tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from pelican_tui.backends.engine.comparison import PeakRam

SLOTS = ("left", "right")
NARROW_BELOW = 100
PROMPT_HISTORY = 20
CHECKPOINT_EVERY_S = 2.0
DEFAULT_THEME = "pelican-dark"
WARM_UP_MODULES = (
    "pelican_tui.backends.engine.comparison",  # with the session store and exports
    "pelican_tui.backends.svg.render",
    "pelican_tui.backends.host_info",
    "pelican_tui.backends.llama.binary",
    "PIL.PngImagePlugin",
)
"""Imported in the background after the first frame (see :meth:`PelicanApp.warm_up`)."""


class PelicanApp(App[None]):
    """Compare a local model with Claude (or with itself) on one prompt."""

    CSS_PATH = "app.tcss"
    TITLE = "pelican-tui"
    AUTO_FOCUS = None
    COMMAND_PALETTE_BINDING = "ctrl+p"
    COMMANDS = App.COMMANDS | {PelicanCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run_both", "Run both", id="run_both"),
        Binding("1", "run_pane('left')", "Run left", show=False, id="run_left"),
        Binding("2", "run_pane('right')", "Run right", show=False, id="run_right"),
        Binding("c", "cancel", "Cancel", id="cancel"),
        Binding("p", "edit_prompt", "Prompt", id="edit_prompt"),
        Binding("t", "toggle_local_thinking", "Qwen think", id="toggle_local_thinking"),
        Binding(
            "T", "toggle_claude_thinking", "Claude think", show=False, id="toggle_claude_thinking"
        ),
        Binding("e", "cycle_effort", "Effort", show=False, id="cycle_effort"),
        Binding("b", "cycle_backend", "Pane backend", show=False, id="cycle_backend"),
        Binding("w", "switch_pane", "Pane", id="switch_pane"),
        Binding("f", "fullscreen", "Picture", id="fullscreen"),
        Binding("a", "view_answer", "Answer text", show=False, id="view_answer"),
        Binding("less_than_sign", "verdict('left')", "Left better", show=False, id="verdict_left"),
        Binding(
            "greater_than_sign", "verdict('right')", "Right better", show=False, id="verdict_right"
        ),
        Binding("equals_sign", "verdict('tie')", "Tie", show=False, id="verdict_tie"),
        Binding("s", "save", "Save", show=False, id="save"),
        Binding("o", "sessions", "Sessions", show=False, id="sessions"),
        Binding("x", "export", "Export", show=False, id="export"),
        Binding("l", "server_log", "Log", show=False, id="server_log"),
        Binding("R", "restart_server", "Restart server", show=False, id="restart_server"),
        Binding("S", "server_settings", "Server settings", show=False, id="server_settings"),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]  # fmt: skip

    def __init__(
        self,
        settings: Settings,
        prepared: Prepared,
        *,
        start_server: bool = True,
        sample_resources: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.prepared = prepared
        self.start_server = start_server
        self.sample_resources = sample_resources
        self.image_mode = resolve_mode(settings.ui.image_mode)
        self.prompt = settings.prompt
        self.history: list[str] = []
        self.plan: LocalPlan = plan_local(settings.local)
        self.local: OpenAICompatibleBackend | None = None
        self.local_problem: str | None = prepared.problem or self.plan.problem
        self.claude = ClaudeBackend(settings.claude)
        self.remote: OpenAICompatibleBackend | None = None
        """A second OpenAI-compatible server a pane can switch to (``remote.url``)."""
        if settings.remote.url:
            self.remote = OpenAICompatibleBackend.attached(
                settings.remote.url,
                name="remote",
                model=settings.remote.model,
                api_key_env=settings.remote.api_key_env,
                facts={"url": settings.remote.url},
                stream_timeout_s=settings.local.stream_timeout_s,
            )
        self.effort = settings.claude.effort
        self.session_id: int | None = None
        self.run_ids: dict[str, int] = {}
        self.active = "left"
        self._store: Any = None
        self._renderer: Any = None
        self._sampler: ResourceSampler | None = None
        self._peak: dict[str, PeakRam] = {}
        """Per pane, the largest memory figures seen while its run streamed."""
        self._previewing: set[str] = set()
        self._run_tokens: dict[str, int] = {}
        """Per pane, which generation is the current one (see :meth:`_generate`)."""
        self._session_lock = asyncio.Lock()
        self.model_identity: dict[str, Any] = {}
        """sha256, size and server version of the local model (filled by a worker)."""
        self.ceiling_tok_s: float | None = None
        """Decode ceiling of the spawned model from the cached memory bandwidth."""
        self._build_local()
        claude_ready = self.claude.status().ready
        self.specs = {
            "left": PaneSpec("local", settings.local.thinking),
            "right": (
                PaneSpec("claude", settings.claude.thinking)
                if claude_ready
                else PaneSpec("local", not settings.local.thinking)
            ),
        }

    # -- set-up -------------------------------------------------------------------

    def _build_local(self) -> None:
        """The local backend for :attr:`plan`, or None (with :attr:`local_problem` saying why)."""
        from pelican_tui.backends.hardware import cached_ceiling_tokens_per_s

        self.local = None
        self.ceiling_tok_s = (
            cached_ceiling_tokens_per_s(self.plan.info) if self.plan.mode == "spawn" else None
        )
        if self.plan.mode == "spawn" and self.prepared.binary is None:
            return
        # An unreadable header (or, with fit = "refuse", a model too big for RAM)
        # is said plainly now instead of as llama-server's exit code later.
        if self.plan.problem and self.settings.local.fit != "ignore":
            if self.plan.info_error:
                self.local_problem = (
                    f'{self.plan.problem} (local.fit = "ignore" starts llama-server anyway)'
                )
            return
        self.local = make_local_backend(
            self.settings.local,
            self.plan,
            self.prepared.binary,
            on_status=self._post_server_status,
        )

    def _post_server_status(self, status: Any) -> None:
        self.post_message(ServerStatusChanged(status))

    @property
    def server(self) -> LlamaServer | None:
        return self.local.server if self.local is not None else None

    def compose(self) -> ComposeResult:
        yield Input(self.prompt, placeholder="Prompt (p to edit, enter to run)", id="prompt")
        with Horizontal(id="panes"):
            for slot in SLOTS:
                yield ModelPane(
                    slot,
                    self.specs[slot],
                    image_mode=self.image_mode,
                    redraw_hz=0,  # both panes redraw on the app's one clock
                )
        yield StatusBar(self.image_mode)
        yield Footer()

    def on_mount(self) -> None:
        from pelican_tui.themes import register_themes

        register_themes(self)
        wanted = self.settings.ui.theme or self._state().get("theme") or DEFAULT_THEME
        if wanted not in self.available_themes:
            self.notify(
                f"Unknown theme {wanted!r}; using {DEFAULT_THEME}. Themes: "
                + ", ".join(sorted(self.available_themes)),
                title="Theme",
                severity="warning",
                timeout=10,
            )
            wanted = DEFAULT_THEME
        self.theme = wanted
        if self.settings.ui.keymap:
            self.set_keymap(self.settings.ui.keymap)
        self.history = list(self._state().get("history", []))[-PROMPT_HISTORY:]
        for slot in SLOTS:
            self._describe_pane(slot)
        self.query_one("#left", ModelPane).add_class("-active")
        self._on_resize_layout()
        self._update_claude_note()
        status = self.query_one(StatusBar)
        if self.local is None:
            problem = self.local_problem or "local model unavailable"
            status.set_server_note("local: unavailable")
            for slot in SLOTS:
                if self.specs[slot].backend == "local":
                    self.pane(slot).show_problem(f"{problem} — press S for server settings")
        elif self.plan.mode == "attach":
            status.set_server_note(f"local: checking {self.plan.url}…")
            self.probe_local()
        elif self.plan.fit is not None and self.plan.fit.level != "ok":
            self.notify(self.plan.fit.message, title="Memory", severity="warning", timeout=10)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, self.exit)
        if self.start_server and self.server is not None:
            self.start_local_server()
            self.identify_model()
        if self.sample_resources:
            self.sample_loop()
        # One clock redraws every running pane: one screen update per tick, not one per pane.
        self._redraw_clock = self.set_interval(
            1 / max(self.settings.ui.stats_fps, 0.5), self._redraw_panes, pause=True
        )

    def watch_theme(self, theme: str) -> None:
        if self.is_running:
            self._save_state(theme=theme)

    def on_resize(self) -> None:
        self._on_resize_layout()

    def _on_resize_layout(self) -> None:
        narrow = self.size.width < NARROW_BELOW
        self.set_class(narrow, "-narrow")
        footer = self.query_one(Footer)
        footer.compact = narrow
        footer.show_command_palette = not narrow
        other = "right" if self.active == "left" else "left"
        for slot in SLOTS:
            pane = self.pane(slot)
            pane.set_class(narrow and slot != self.active, "-hidden")
            subtitle = (
                f"w: show {'2' if other == 'right' else '1'} ({self.pane(other).state})"
                if narrow and slot == self.active
                else ""
            )
            if pane.border_subtitle != subtitle:  # assigning repaints the whole pane
                pane.border_subtitle = subtitle

    # -- small helpers ----------------------------------------------------------------

    def pane(self, slot: str) -> ModelPane:
        return self.query_one(f"#{slot}", ModelPane)

    def backend_for(self, spec: PaneSpec) -> ModelBackend | None:
        return {"claude": self.claude, "remote": self.remote}.get(spec.backend, self.local)

    def _describe_pane(self, slot: str) -> None:
        spec = self.specs[slot]
        pane = self.pane(slot)
        pane.spec = spec
        number = "1" if slot == "left" else "2"
        pane.ceiling_tok_s = self.ceiling_tok_s if spec.backend == "local" else None
        if spec.backend == "claude":
            think = f"thinking {self.effort}" if spec.thinking else "thinking off"
            pane.describe(f"{number} claude · {self.settings.claude.model}", think)
        elif spec.backend == "remote" and self.remote is not None:
            remote = self.settings.remote
            served = short_model_name(self.remote.model or "").removesuffix(".gguf")
            name = remote.label or served or remote.url or "remote"
            think = "thinking on" if spec.thinking else "thinking off"
            pane.describe(f"{number} remote · {name}", f"{remote.url} · {think}")
        else:
            facts = self.plan.facts()
            bits = [facts.get("params", "")]
            if "active" in facts:
                bits.append(f"{facts['active']} active")
            bits += [facts.get("quant", ""), f"ctx {self.settings.local.context}"]
            bits.append("thinking on" if spec.thinking else "thinking off")
            pane.describe(f"{number} local · {self.plan.label}", " · ".join(b for b in bits if b))
        pane.redraw_stats()

    def _update_claude_note(self, activity: str | None = None) -> None:
        """The Claude segment of the status bar: off, no key, ready, or what a run is doing."""
        status = self.claude.status()
        if not self.settings.claude.enabled:
            note = "claude: off"
        elif not status.ready:
            note = "claude: no key"
        else:
            note = f"claude: {activity or 'ready'}"
        self.query_one(StatusBar).set_claude(note)

    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads(locations.state_file().read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_state(self, **changes: Any) -> None:
        state = {**self._state(), **changes}
        path = locations.state_file()
        with contextlib.suppress(OSError):
            locations.ensure(path.parent)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=1))
            tmp.replace(path)

    # -- workers: server, resources ------------------------------------------------------

    @work(exclusive=True, group="server", exit_on_error=False, name="start llama-server")
    async def start_local_server(self) -> None:
        server = self.server
        if server is None:
            return
        try:
            await server.start()
        except ServerStartError as error:
            message = str(error).splitlines()[0]
            for slot in SLOTS:
                if self.specs[slot].backend == "local":
                    self.pane(slot).show_problem(
                        f"{message} — press l for the log, R to restart, S for settings"
                    )
            self.notify(message, title="llama-server", severity="error", timeout=15)

    def _redraw_panes(self) -> None:
        running = [self.pane(slot) for slot in SLOTS if self.pane(slot).state == "running"]
        with self.batch_update():
            for pane in running:
                pane.flush()
        if not running:
            self._redraw_clock.pause()

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False, name="warm up")
    def warm_up(self) -> None:
        """Import the modules a run needs (the first frame did not wait for them).

        Touches nothing on screen: it only fills ``sys.modules``, so the
        first run does not spend its first second importing.
        """
        import importlib

        for module in WARM_UP_MODULES:
            importlib.import_module(module)
        from pelican_tui.backends.openai_compat.backend import tls_context

        tls_context()  # CA certificates loaded once, before the first request

    @work(exclusive=True, group="resources", exit_on_error=False, name="sample resources")
    async def sample_loop(self) -> None:
        self._sampler = ResourceSampler(
            server_pid=lambda: self.server.pid if self.server is not None else None,
            model_path=lambda: self.plan.model_path,
        )
        async for sample in self._sampler.stream(1.0):
            self.post_message(ResourceTick(sample))

    def on_resource_tick(self, message: ResourceTick) -> None:
        self.query_one(StatusBar).set_sample(message.sample)
        for slot, peak in self._peak.items():
            if self.pane(slot).state == "running":
                peak.add(message.sample)

    def on_server_status_changed(self, message: ServerStatusChanged) -> None:
        status = message.status
        self.query_one(StatusBar).set_server(status)
        if status.state is ServerState.CRASHED and status.exit_code is not None:
            tail = status.last_lines[-1] if status.last_lines else ""
            self.notify(
                f"{status.message}. {tail}\nPress R to restart, l for the log.",
                title="llama-server",
                severity="error",
                timeout=20,
            )
        if status.state is ServerState.READY:
            # Not before: start-up and readiness must not wait behind these imports.
            self.warm_up()
            for slot in SLOTS:
                if self.specs[slot].backend == "local" and self.pane(slot).state == "idle":
                    self.pane(slot).show_problem(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place where any worker failure becomes a visible notification."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.notify(
                f"{event.worker.name}: {event.worker.error}",
                title="Something went wrong",
                severity="error",
                timeout=15,
            )

    # -- running the comparison -------------------------------------------------------------

    def _request(self, spec: PaneSpec) -> GenerationRequest:
        if spec.backend == "claude":
            return GenerationRequest(
                prompt=self.prompt,
                thinking=spec.thinking,
                system=self.settings.system_prompt,
                max_tokens=self.settings.claude.max_tokens,
                effort=self.effort,
            )
        seed = self.settings.local.seed
        local = self.settings.local
        return GenerationRequest(
            prompt=self.prompt,
            thinking=spec.thinking,
            system=self.settings.system_prompt,
            # The stand-in's short limit is for the stand-in, not for a remote model.
            max_tokens=local.max_tokens if spec.backend == "remote" else answer_token_limit(local),
            extra={"seed": seed} if seed is not None else {},
        )

    def _remember_prompt(self) -> None:
        if self.prompt and (not self.history or self.history[-1] != self.prompt):
            self.history = [*self.history, self.prompt][-PROMPT_HISTORY:]
            self._save_state(history=self.history)

    def action_run_both(self) -> None:
        self._begin_session()
        for slot in SLOTS:
            self._run(slot)

    def action_run_pane(self, slot: str) -> None:
        if self.session_id is None or self.pane(slot).state == "running":
            self._begin_session()
        self._run(slot)

    def _begin_session(self) -> None:
        self.prompt = self.query_one("#prompt", Input).value.strip() or self.settings.prompt
        self._remember_prompt()
        self.session_id = None
        self.run_ids = {}

    def _run(self, slot: str) -> None:
        spec = self.specs[slot]
        backend = self.backend_for(spec)
        pane = self.pane(slot)
        if backend is None:
            pane.show_problem(f"{self.local_problem or 'local model unavailable'} — press S")
            return
        status = backend.status()
        attached = spec.backend == "remote" or (
            spec.backend == "local" and self.plan.mode == "attach"
        )
        if not status.ready and not attached:  # an attached server is checked again on run
            hint = f" — {status.hint}" if status.hint else ""
            if spec.backend == "local" and status.hint:
                hint = " — press R to restart the server"
            pane.show_problem(f"{status.message}{hint}")
            return
        self.run_worker(
            self._generate(slot, backend, self._request(spec)),
            group=f"gen-{slot}",
            exclusive=True,
            exit_on_error=False,
            name=f"generate {slot}",
        )

    async def _store_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run one session-store call off the event loop; failures become notifications."""
        try:
            store = await self._open_store()
            return await asyncio.to_thread(getattr(store, method), *args, **kwargs)
        except Exception as error:  # the store must never stop a run
            self.notify(f"session store: {error}", severity="warning", timeout=8)
            return None

    async def _open_store(self) -> Any:
        if self._store is None:
            from pelican_tui.backends.store.sessions import SessionStore

            self._store = await asyncio.to_thread(SessionStore.open)
            for notice in self._store.notices:
                self.notify(notice, title="Sessions", severity="warning", timeout=15)
        return self._store

    def _renderer_instance(self) -> Any:
        if self._renderer is None:
            from pelican_tui.backends.svg.render import SvgRenderer

            self._renderer = SvgRenderer()
        return self._renderer

    async def _ensure_session(self) -> int | None:
        async with self._session_lock:  # both panes start at once: one session
            if self.session_id is None:
                session = await self._store_call("create_session", self.prompt)
                self.session_id = session.id if session is not None else None
            return self.session_id

    def _run_info(self, spec: PaneSpec) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
        """Backend kind, model id, model identity and settings for the run record."""
        info: dict[str, Any]
        settings: dict[str, Any]
        if spec.backend == "claude":
            info = {"model": self.settings.claude.model, **self.claude.describe()}
            settings = {"thinking": spec.thinking, "effort": self.effort}
            return "claude", self.settings.claude.model, info, settings
        if spec.backend == "remote" and self.remote is not None:
            info = self.remote.describe()
            model_id = self.remote.model or str(self.settings.remote.url)
            return "openai", model_id, info, {"thinking": spec.thinking}
        info = {**self.plan.facts(), **self.model_identity}
        if self.server is not None:
            info["server_flags"] = self.server.config.display_flags()
        if self.plan.mode == "attach":
            return "openai", self.plan.label, info, {"thinking": spec.thinking}
        from pelican_tui.backends.openai_compat.backend import recommended_sampling

        sampling = recommended_sampling(spec.thinking)
        settings = {"thinking": spec.thinking, "sampling": asdict(sampling)}
        return "local", self.plan.label, info, settings

    @work(exclusive=True, group="identity", exit_on_error=False, name="identify model")
    async def identify_model(self) -> None:
        """Hash the model file (once; cached by path, size and mtime) and ask the server version."""
        from pelican_tui.backends.host_info import file_sha256_cached
        from pelican_tui.backends.llama.binary import server_version

        identity: dict[str, Any] = {}
        if self.prepared.binary is not None:
            identity["server_version"] = await asyncio.to_thread(
                server_version, self.prepared.binary
            )
        path = self.plan.model_path
        if path is not None and path.is_file():
            identity["sha256"] = await asyncio.to_thread(file_sha256_cached, path)
            identity["file_size"] = path.stat().st_size
        self.model_identity = identity

    async def _generate(self, slot: str, backend: ModelBackend, request: GenerationRequest) -> None:
        pane = self.pane(slot)
        spec = self.specs[slot]
        # A newer run in this pane supersedes this one: the cancelled worker's
        # clean-up must not touch the pane the new run has already begun.
        self._run_tokens[slot] = token = self._run_tokens.get(slot, 0) + 1

        def current() -> bool:
            return self._run_tokens.get(slot) == token

        pane.begin()
        self._redraw_clock.resume()
        self._on_resize_layout()
        pane.picture.set_png(None, "waiting for an SVG…")
        if spec.backend == "claude":
            self._update_claude_note("streaming")
        acc = RunAccumulator()
        from pelican_tui.backends.engine.comparison import PeakRam

        self._peak[slot] = PeakRam()
        run_id: int | None = None
        session_id = await self._ensure_session()
        if session_id is not None:
            from pelican_tui.backends.host_info import host_summary

            kind, model_id, info, run_settings = self._run_info(spec)
            run_id = await self._store_call(
                "start_run", session_id, slot, kind, model_id, info, run_settings, host_summary()
            )
            if run_id is not None:
                self.run_ids[slot] = run_id
        preview_every = 1.0 / max(self.settings.ui.preview_fps, 0.1)
        last_preview = last_checkpoint = time.monotonic()
        previewed_version = 0
        previewed_svg: str | None = None
        try:
            async for event in backend.generate(request):
                acc.feed(event)
                pane.feed(event)
                now = time.monotonic()
                if (
                    acc.answer_version != previewed_version
                    and now - last_preview >= preview_every
                    and slot not in self._previewing
                ):
                    last_preview, previewed_version = now, acc.answer_version
                    svg = close_partial_svg(acc.answer_text)
                    if svg is not None and svg != previewed_svg:  # only new markup is drawn
                        previewed_svg = svg
                        self._start_preview(slot, svg, token)
                if run_id is not None and now - last_checkpoint >= CHECKPOINT_EVERY_S:
                    last_checkpoint = now
                    await self._store_call(
                        "update_run_progress", run_id, acc.thinking_text, acc.answer_text
                    )
        except asyncio.CancelledError:
            acc.cancel()
            if current():
                if acc.failed is not None:
                    pane.feed(acc.failed)
                pane.end("cancelled")
                if spec.backend == "claude":
                    self._update_claude_note()
            if run_id is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._finish_run(slot, run_id, acc, None, None))
            raise
        except Exception as error:  # a bug or an unexpected library error: never a stuck pane
            acc.feed(Failed(f"unexpected error: {type(error).__name__}: {error}"))
        if acc.outcome == "running":  # a backend that ended without saying how
            acc.feed(Failed("the stream ended without a result"))
        if acc.failed is not None and current():
            pane.feed(acc.failed)
        extraction = extract_svg(acc.answer_text)
        png = None
        if extraction.svg is not None:
            png, reason = await self._render_for(slot, extraction.svg, repair=True)
            if current():
                pane.picture.set_png(png, reason)
        elif current():
            pane.picture.set_png(None, extraction.note)
        if current():
            pane.end(acc.outcome)
            self._on_resize_layout()
            if spec.backend == "claude":
                self._update_claude_note("failed" if acc.outcome == "failed" else None)
        if run_id is not None:
            await self._finish_run(slot, run_id, acc, extraction, png)

    async def _finish_run(
        self, slot: str, run_id: int, acc: RunAccumulator, extraction: Any, png: bytes | None
    ) -> None:
        failure = acc.failed.reason if acc.failed is not None else None
        await self._store_call(
            "finish_run",
            run_id,
            status=acc.outcome if acc.outcome != "running" else "failed",
            thinking_text=acc.thinking_text,
            answer=acc.answer_text,
            svg=extraction.svg if extraction is not None else None,
            svg_note=extraction.note if extraction is not None else None,
            png=png,
            failure_reason=failure,
            timings=acc.timings(),
            usage=acc.usage(),
            peak_ram=self._peak[slot].record() if slot in self._peak else {},
        )

    def _picture_pixels(self, slot: str, *, preview: bool = False) -> int:
        """Width to render at: the picture's pixels on screen.

        Half-cell and Unicode pictures show about one pixel per column (two
        per row), so a live preview rendered at the cell size's 10x would only
        be thrown away by the downscale; it is drawn at 2 px per column (a
        little supersampling) instead. The final picture is kept in the session
        and exported, so it is always rendered at full size.
        """
        picture = self.pane(slot).picture
        if preview and picture.drawn_with in ("halfcell", "unicode"):
            return max(120, min(1024, picture.size.width * 2))
        cell_w, _ = cell_pixels()
        return max(240, min(1024, picture.size.width * cell_w))

    async def _render_for(
        self, slot: str, svg: str, *, repair: bool = False, preview: bool = False
    ) -> tuple[bytes | None, str | None]:
        """Render in the sandbox; with ``repair``, retry once with balanced tags."""
        renderer = self._renderer_instance()
        width = self._picture_pixels(slot, preview=preview)
        try:
            result = await renderer.render(svg, width)
            if not result.ok and repair:
                fixed = repair_svg(svg)
                if fixed != svg:
                    retry = await renderer.render(fixed, width)
                    if retry.ok:
                        return retry.png, None
        except Exception as error:
            return None, f"could not render: {error}"
        return (result.png, None) if result.ok else (None, result.reason)

    def _start_preview(self, slot: str, svg: str, token: int) -> None:
        """Render the closed-up partial ``svg`` in the sandbox and show it if still current."""
        self._previewing.add(slot)

        async def preview() -> None:
            try:
                png, _ = await self._render_for(slot, svg, preview=True)
                pane = self.pane(slot)
                if png is not None and pane.state == "running" and self._run_tokens[slot] == token:
                    pane.picture.set_png(png)
            finally:
                self._previewing.discard(slot)

        self.run_worker(preview(), group=f"preview-{slot}", exit_on_error=False, name="preview")

    def action_cancel(self) -> None:
        cancelled = False
        for slot in SLOTS:
            if self.pane(slot).state == "running":
                self.workers.cancel_group(self, f"gen-{slot}")
                cancelled = True
        if not cancelled:
            self.notify("Nothing is running.", timeout=3)

    # -- prompt -----------------------------------------------------------------------

    def action_edit_prompt(self) -> None:
        prompt = self.query_one("#prompt", Input)
        prompt.focus()
        prompt.cursor_position = len(prompt.value)
        self._history_index = len(self.history)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "prompt":
            self.set_focus(None)
            self.action_run_both()

    def on_key(self, event: Any) -> None:
        prompt = self.query_one("#prompt", Input)
        if self.focused is not prompt:
            return
        if event.key == "escape":
            self.set_focus(None)
            event.stop()
        elif event.key in ("up", "down") and self.history:
            index = getattr(self, "_history_index", len(self.history))
            index += -1 if event.key == "up" else 1
            index = max(0, min(len(self.history), index))
            self._history_index = index
            prompt.value = self.history[index] if index < len(self.history) else self.prompt
            prompt.cursor_position = len(prompt.value)
            event.stop()

    # -- toggles -------------------------------------------------------------------------

    def _local_slots(self) -> list[str]:
        """Panes on an OpenAI-compatible model (local or remote), the active one first."""
        slots = [s for s in SLOTS if self.specs[s].backend in ("local", "remote")]
        return sorted(slots, key=lambda s: s != self.active)

    def action_toggle_local_thinking(self) -> None:
        slots = self._local_slots()
        if not slots:
            self.notify("No pane runs the local model.", timeout=3)
            return
        slot = slots[0]
        self.specs[slot] = replace(self.specs[slot], thinking=not self.specs[slot].thinking)
        self._describe_pane(slot)
        state = "on" if self.specs[slot].thinking else "off"
        self.notify(
            f"Local thinking {state} for the {slot} pane (next run, no restart).", timeout=3
        )

    def action_toggle_claude_thinking(self) -> None:
        for slot in SLOTS:
            if self.specs[slot].backend == "claude":
                self.specs[slot] = replace(self.specs[slot], thinking=not self.specs[slot].thinking)
                self._describe_pane(slot)
                state = "on" if self.specs[slot].thinking else "off"
                self.notify(f"Claude thinking {state}.", timeout=3)
                return
        self.notify("No pane runs Claude (press b to change a pane's backend).", timeout=4)

    def action_cycle_effort(self) -> None:
        self.effort = EFFORTS[(EFFORTS.index(self.effort) + 1) % len(EFFORTS)]
        for slot in SLOTS:
            if self.specs[slot].backend == "claude":
                self._describe_pane(slot)
        self.notify(f"Claude effort: {self.effort}", timeout=3)

    def backend_choices(self) -> list[PaneSpec]:
        """What ``b`` cycles through: local thinking on/off, the remote server if set, Claude."""
        choices = [PaneSpec("local", True), PaneSpec("local", False)]
        if self.remote is not None:
            choices.append(PaneSpec("remote", self.settings.local.thinking))
        choices.append(PaneSpec("claude", self.settings.claude.thinking))
        return choices

    def action_cycle_backend(self) -> None:
        """Switch the active pane to the next backend in :meth:`backend_choices`."""
        slot = self.active
        spec = self.specs[slot]
        choices = self.backend_choices()
        kinds = [(c.backend, c.thinking if c.backend == "local" else None) for c in choices]
        here = (spec.backend, spec.thinking if spec.backend == "local" else None)
        index = kinds.index(here) if here in kinds else -1
        new = choices[(index + 1) % len(choices)]
        self.specs[slot] = new
        self._describe_pane(slot)
        self.pane(slot).show_problem(None)
        if new.backend == "remote":
            self.probe_remote()
        if new.backend == "claude" and not self.claude.status().ready:
            self.pane(slot).show_problem(
                "Claude not configured — set ANTHROPIC_API_KEY and restart pelican-tui"
            )

    def action_switch_pane(self) -> None:
        self.pane(self.active).remove_class("-active")
        self.active = "right" if self.active == "left" else "left"
        self.pane(self.active).add_class("-active")
        self._on_resize_layout()

    # -- verdict, save, export ------------------------------------------------------------

    async def action_verdict(self, verdict: str) -> None:
        if self.session_id is None:
            self.notify("Run a comparison first (r).", timeout=3)
            return
        await self._store_call("set_verdict", self.session_id, verdict)
        label = {"left": "left is better", "right": "right is better", "tie": "a tie"}[verdict]
        self.notify(f"Verdict saved: {label}.", timeout=3)

    async def action_save(self) -> None:
        if self.session_id is None:
            self.notify("Nothing to save yet: run a comparison first (r).", timeout=3)
            return
        for slot, run_id in self.run_ids.items():
            pane = self.pane(slot)
            if pane.state == "running":
                await self._store_call(
                    "update_run_progress", run_id, pane.thinking_text, pane.answer_text
                )
        self.notify(f"Session #{self.session_id} saved in {locations.sessions_db()}", timeout=4)

    @work(exclusive=True, group="export", exit_on_error=False, name="export session")
    async def action_export(self, session_id: int | None = None) -> None:
        session_id = session_id or self.session_id
        if session_id is None:
            self.notify("Run a comparison first (r), or export from the sessions list (o).")
            return
        from pelican_tui.backends.export.session_export import export_session

        store = await self._open_store()
        session = await asyncio.to_thread(store.get_session, session_id)
        out = locations.data_dir() / "exports" / f"session-{session_id}"
        renderer = self._renderer_instance()

        def render(svg: str, width: int, height: int) -> bytes | None:
            result = renderer.render_sync(svg, width, height)
            return result.png if result.ok else None

        result = await asyncio.to_thread(export_session, session, out, render)
        self.notify(f"Exported {len(result.files)} files to {out}", title="Export", timeout=8)

    # -- other screens ---------------------------------------------------------------------

    def key_rows(self) -> list[KeyRow]:
        """Every main-screen key as the user has it (after ``ui.keymap``), in binding order."""
        from textual.binding import BindingsMap

        bindings = BindingsMap(self.BINDINGS)
        if self._keymap:
            bindings.apply_keymap(self._keymap)
        keys: dict[str, list[Binding]] = {}
        for _key, binding in bindings:
            keys.setdefault(binding.id or binding.action, []).append(binding)
        rows = []
        for original in Binding.make_bindings(self.BINDINGS):
            group = keys.pop(original.id or original.action, None)
            if group:
                shown = " / ".join(dict.fromkeys(self.get_key_display(b) for b in group))
                rows.append(KeyRow(shown, original.description, original.action, original.id))
        return rows

    def action_help(self) -> None:
        from pelican_tui.screens.help_screen import HelpScreen

        rows = [(row.keys, row.description, row.id or "") for row in self.key_rows()]
        palette = Binding(self.COMMAND_PALETTE_BINDING, "command_palette")
        rows.append((self.get_key_display(palette), "Command palette (every action)", ""))
        rows.append((self.get_key_display(Binding("ctrl+q", "quit")), "Quit", ""))
        self.push_screen(HelpScreen(rows))

    def action_view_answer(self) -> None:
        from pelican_tui.screens.text_screen import TextScreen

        pane = self.pane(self.active)
        text = pane.answer_text
        if pane.thinking_text:
            text = f"--- thinking ---\n{pane.thinking_text}\n\n--- answer ---\n{text}"
        self.push_screen(TextScreen(pane.border_title or self.active, text))

    def action_fullscreen(self) -> None:
        from pelican_tui.screens.picture_screen import PictureScreen

        pictures = []
        for slot in SLOTS:
            pane = self.pane(slot)
            caption = pane.stats_line()
            if pane.picture.png is None and pane.picture.note:
                caption = f"{pane.picture.note} — {caption}"  # why there is no picture
            pictures.append((pane.border_title or slot, pane.picture.png, caption))
        self.push_screen(PictureScreen(pictures, mode=self.image_mode))

    def action_server_log(self) -> None:
        from pelican_tui.screens.log_screen import LogScreen

        server = self.server
        if server is None:
            self.notify("No llama-server is managed by pelican-tui (attached or unavailable).")
            return

        def subscribe(callback: Any) -> Any:
            server.log_listeners.append(callback)
            return lambda: server.log_listeners.remove(callback)

        self.push_screen(LogScreen(server.log, subscribe))

    @work(exclusive=True, group="probe", exit_on_error=False, name="check attached server")
    async def probe_local(self) -> None:
        """Contact the attached server; say in the status bar what it is and serves."""
        local = self.local
        if local is None or local.server is not None:
            return
        status = await local.probe()
        bar = self.query_one(StatusBar)
        if status.ready:
            bar.set_server_note(f"local: {status.message}")
        else:
            bar.set_server_note("local: not reachable")
            hint = f"\n{status.hint}" if status.hint else ""
            self.notify(f"{status.message}{hint}", title="Attached server", severity="error")
        self._show_probe("local", status, "press R to check again")

    @work(exclusive=True, group="probe-remote", exit_on_error=False, name="check remote server")
    async def probe_remote(self) -> None:
        """Contact the remote server; panes on it show what answers, or why not."""
        if self.remote is None:
            return
        status = await self.remote.probe()
        self._show_probe("remote", status, "press b to switch")

    def _show_probe(self, backend: str, status: BackendStatus, next_step: str) -> None:
        """After a server check: panes on ``backend`` show its name, or why it cannot run."""
        for slot in SLOTS:
            if self.specs[slot].backend == backend:
                self._describe_pane(slot)
                if self.pane(slot).state != "running":
                    self.pane(slot).show_problem(
                        None if status.ready else f"{status.message} — {next_step}"
                    )

    @work(exclusive=True, group="server", exit_on_error=False, name="restart llama-server")
    async def action_restart_server(self) -> None:
        server = self.server
        if server is None and self.plan.mode == "attach":
            self.probe_local()  # nothing to restart: check the attached server again
            return
        if server is None:
            self.notify("No llama-server to restart (see S for server settings).")
            return
        for slot in SLOTS:
            if self.specs[slot].backend == "local" and self.pane(slot).state == "running":
                self.workers.cancel_group(self, f"gen-{slot}")
        self.notify("Restarting llama-server…", timeout=3)
        try:
            await server.restart()
        except ServerStartError as error:
            self.notify(str(error).splitlines()[0], title="llama-server", severity="error")
            return
        for slot in SLOTS:
            if self.specs[slot].backend == "local":
                self.pane(slot).show_problem(None)

    def action_server_settings(self) -> None:
        from pelican_tui.screens.server_settings_screen import ServerSettingsScreen

        def apply(new: LocalSettings | None) -> None:
            if new is not None:
                self.apply_local_settings(new)

        self.push_screen(ServerSettingsScreen(self.settings.local), apply)

    @work(exclusive=True, group="server", exit_on_error=False, name="apply server settings")
    async def apply_local_settings(self, new: LocalSettings) -> None:
        if self.server is not None:
            await self.server.stop()
        self.settings = self.settings.model_copy(update={"local": new})
        self.plan = await asyncio.to_thread(plan_local, new)
        if self.prepared.binary is None and self.plan.mode == "spawn":
            from pelican_tui.backends.llama.prepare import setup

            self.prepared = await asyncio.to_thread(setup, self.settings, lambda _line: None)
        self.local_problem = self.prepared.problem or self.plan.problem
        self.model_identity = {}
        self._build_local()
        for slot in SLOTS:
            self._describe_pane(slot)
            if self.specs[slot].backend == "local":
                self.pane(slot).show_problem(
                    f"{self.local_problem} — press S for server settings"
                    if self.local is None
                    else None
                )
        if self.server is not None:
            self.start_local_server()
            self.identify_model()

    def action_sessions(self) -> None:
        from pelican_tui.screens.sessions_screen import SessionAction, SessionsScreen

        def chosen(action: SessionAction | None) -> None:
            if action is None:
                return
            if action.kind == "export":
                self.action_export(int(action.session_id))
            else:
                self.load_session(int(action.session_id), rerun=action.kind == "rerun")

        self.push_screen(SessionsScreen(locations.sessions_db()), chosen)

    @work(exclusive=True, group="load", exit_on_error=False, name="open session")
    async def load_session(self, session_id: int, rerun: bool = False) -> None:
        store = await self._open_store()
        session = await asyncio.to_thread(store.get_session, session_id)
        self.query_one("#prompt", Input).value = session.prompt
        self.prompt = session.prompt
        if rerun:
            self.action_run_both()
            return
        self.session_id = session.id
        for slot in SLOTS:
            runs = session.runs_in(slot)
            pane = self.pane(slot)
            if not runs:
                continue
            run = runs[-1]
            pane.begin()
            pane.query_one("#thinking").set_text(run.thinking_text or "")  # type: ignore[attr-defined]
            pane.query_one("#answer").set_text(run.answer or "")  # type: ignore[attr-defined]
            pane.picture.set_png(run.png, run.svg_note)
            if run.status == "finished":
                pane.feed(finished_from_record(run.timings, run.usage))
            elif run.failure_reason:
                pane.feed(Failed(run.failure_reason))
            pane.end(run.status if run.status in ("finished", "failed", "cancelled") else "failed")
            number = "1" if slot == "left" else "2"
            pane.border_title = f"{number} {run.backend} · {run.model_id} (session #{session.id})"
        self.notify(f"Opened session #{session.id}.", timeout=3)

    # -- shutdown -------------------------------------------------------------------------

    async def on_unmount(self) -> None:
        await self.shutdown_engine()

    async def shutdown_engine(self) -> None:
        server = self.server
        if server is not None:
            await server.stop(grace_s=3.0)
        if self._renderer is not None:
            await asyncio.to_thread(self._renderer.close)
        if self._store is not None:
            self._store.close()
