"""``pelican-tui run``: the whole comparison without the TUI, for scripts and batches.

::

    pelican-tui run [--prompt TEXT] [--model PATH | --hf REF | --url URL]
                    [--llama-server PATH] [--ctx N] [--threads N]
                    [--claude-model ID] [--no-claude]
                    [--thinking on|off|both] [--samples N] [--force] --out DIR

For every sample (1..N) and every thinking mode, the prompt goes to the local
model and, when Claude is used, to Claude at the same time. Everything is saved
to the session store (the same one the TUI uses: ``pelican-tui sessions list``
shows the runs), and each session is exported to ``DIR/session-<id>/`` (SVGs,
PNGs, run card, HTML page, session.json; see :mod:`.export`).
``DIR/summary.json`` describes the whole batch; it is rewritten after every
session, so an interrupted batch still describes what finished.

Sessions and slots
    *With Claude*: one session per (sample, thinking mode); left = the local
    model, right = Claude, both in that thinking mode, run concurrently.

    *Without Claude* (``--no-claude``, ``claude.enabled = false``, or no
    ``ANTHROPIC_API_KEY``) and ``--thinking both``: one session per sample;
    left = the local model thinking on, right = the same model thinking off.
    The two run one after the other, not together: they share one llama-server
    and would each get about half its speed, so their tokens/s would mislead.

    *Without Claude, one thinking mode*: one session per sample, left only.

Thinking defaults to ``local.thinking`` from the settings (on). llama-server is
started once for the whole batch and always stopped at the end.

Output
    Progress on stderr: model loading, then each run's live token count and
    tokens/s on one line redrawn in place when stderr is a terminal, plain lines
    (one every few seconds per run) otherwise. A summary table on stdout.

Exit status
    0    every run finished (an answer without an SVG still finished: the
         summary says "no SVG")
    1    some run failed, or a session could not be exported or saved; the
         other runs are kept and exported
    2    bad usage or settings, ``--out`` not usable (a file, or a non-empty
         folder without ``--force``), Claude asked for by ``--claude-model`` but
         not configured, or the session store unusable; nothing was run
    3    the local model could not start: no llama-server, the model file is
         missing or unreadable, llama-server failed to load it, or the
         ``--url`` server cannot be reached
    130  interrupted (Ctrl-C); 143: terminated (SIGTERM). Finished sessions are
         kept and exported, runs in flight are saved as "cancelled",
         llama-server is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from pelican_tui.backends import locations
from pelican_tui.backends.engine.comparison import (
    PNG_SIZE,
    RunResult,
    RunSpec,
    claude_model_info,
    claude_request,
    claude_run_settings,
    execute_run,
    local_model_id,
    local_model_info,
    local_request,
    local_run_settings,
)
from pelican_tui.backends.engine.record import RunAccumulator
from pelican_tui.backends.events import Failed, Finished, GenerationEvent, LiveStats
from pelican_tui.backends.llama.server import (
    LlamaServer,
    ServerStartError,
    ServerState,
    ServerStatus,
)
from pelican_tui.backends.openai_compat.backend import short_model_name
from pelican_tui.backends.protocol import ModelBackend
from pelican_tui.backends.store.sessions import (
    BackendKind,
    Run,
    Session,
    SessionStore,
    SessionStoreError,
    Slot,
    default_title,
    scrub_secrets,
)

if TYPE_CHECKING:  # imported where used: `pelican-tui run --help` stays quick
    from pelican_tui.backends.llama.local_model import LocalPlan
    from pelican_tui.backends.resources import ResourceSampler
    from pelican_tui.backends.settings import Settings
    from pelican_tui.backends.svg.render import SvgRenderer

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCAL_MODEL = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

PROG = "pelican-tui run"
SUMMARY_FORMAT = "pelican-tui-run-summary"
SUMMARY_FORMAT_VERSION = 1
MAX_SAMPLES = 1000
PLAIN_PROGRESS_EVERY_S = 10.0
"""Without a terminal, a run's progress line is printed at most this often."""
LIVE_REDRAW_EVERY_S = 0.2

EPILOG = """\
sessions: with Claude, one session per sample and thinking mode (left = local,
right = Claude, run concurrently). Without Claude (--no-claude or no key) and
--thinking both, one session per sample (left = thinking on, right = thinking
off, run one after the other so their tokens/s stay honest).

output: DIR/session-<id>/ per session (SVG, PNG, run-card.md, index.html,
session.json) and DIR/summary.json; progress on stderr, a summary on stdout.

exit status:
  0    every run finished
  1    some run failed, or a session could not be exported (others are kept)
  2    bad usage or settings, --out unusable, or the session store unusable
  3    the local model could not start (llama-server, model file, --url)
  130  interrupted by Ctrl-C (143: SIGTERM): finished sessions are kept and
       exported, runs in flight saved as cancelled, llama-server stopped
"""


# --------------------------------------------------------------------------- arguments


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises on usage errors instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _samples(text: str) -> int:
    value = _positive(text)
    if value > MAX_SAMPLES:
        raise argparse.ArgumentTypeError(f"{value} is more than {MAX_SAMPLES}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Run the comparison without the TUI: the local model (and Claude, when\n"
            "ANTHROPIC_API_KEY is set) on one prompt, saved to the session store and\n"
            "exported to a folder."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--prompt", metavar="TEXT", help="the prompt (default: the prompt in the settings)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder for exports and summary.json"
    )
    parser.add_argument(
        "--force", action="store_true", help="write into DIR even if it is not empty"
    )
    parser.add_argument(
        "--thinking",
        choices=("on", "off", "both"),
        help="thinking mode(s) to run (default: local.thinking from the settings)",
    )
    parser.add_argument(
        "--samples", type=_samples, default=1, metavar="N", help="runs per thinking mode (1)"
    )
    local = parser.add_argument_group("local model (one of --model, --hf, --url)")
    which = local.add_mutually_exclusive_group()
    which.add_argument("--model", type=Path, metavar="PATH", help="GGUF file to serve")
    which.add_argument("--hf", metavar="REF", help="llama-server -hf reference (user/repo:quant)")
    which.add_argument("--url", help="an OpenAI-compatible server to use instead of spawning one")
    local.add_argument("--llama-server", type=Path, metavar="PATH", help="llama-server binary")
    local.add_argument("--ctx", type=_positive, metavar="N", help="context size (-c)")
    local.add_argument("--threads", type=_positive, metavar="N", help="generation threads (-t)")
    claude = parser.add_argument_group("Claude")
    claude.add_argument("--claude-model", metavar="ID", help="Anthropic model id")
    claude.add_argument("--no-claude", action="store_true", help="run the local model only")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    local: dict[str, Any] = {
        "model": args.model,
        "hf": args.hf,
        "url": args.url,
        "llama_server": args.llama_server,
        "context": args.ctx,
        "threads": args.threads,
    }
    claude: dict[str, Any] = {"model": args.claude_model}
    if args.no_claude:
        claude["enabled"] = False
    return {"prompt": args.prompt, "local": local, "claude": claude}


def _load_settings(args: argparse.Namespace) -> Settings:
    from pelican_tui.backends.settings import load_settings

    settings = load_settings(_overrides(args))
    # One of --model/--hf/--url on the command line replaces whichever the file names.
    chosen: dict[str, Any] = {}
    if args.model is not None:
        chosen = {"hf": None, "url": None}
    elif args.hf is not None:
        chosen = {"model": None, "url": None}
    elif args.url is not None:
        chosen = {"model": None, "hf": None}
    if chosen:
        settings = settings.model_copy(update={"local": settings.local.model_copy(update=chosen)})
    return settings


# --------------------------------------------------------------------------- progress


class _Progress:
    """Progress on stderr: plain lines, plus one live line redrawn in place on a terminal."""

    def __init__(self, stream: TextIO, live: bool | None = None) -> None:
        self.stream = stream
        if live is None:
            try:
                live = stream.isatty()
            except (AttributeError, ValueError):
                live = False
        self.live = live
        self._status: dict[str, str] = {}
        self._shown = False
        self._last_draw = 0.0
        self._last_plain: dict[str, float] = {}

    def say(self, text: str) -> None:
        self._clear()
        self._write(text + "\n")
        self._draw(force=True)

    def status(self, key: str, text: str, *, plain_every_s: float | None = None) -> None:
        """Show ``text`` for ``key`` on the live line; without a terminal, as a plain
        line at most every ``plain_every_s`` seconds (never, if None)."""
        if self.live:
            self._status[key] = text
            self._draw()
            return
        if plain_every_s is None:
            return
        now = time.monotonic()
        if now - self._last_plain.get(key, 0.0) >= plain_every_s:
            self._last_plain[key] = now
            self._write(text + "\n")

    def drop(self, key: str) -> None:
        self._last_plain.pop(key, None)
        if self._status.pop(key, None) is not None:
            self._draw(force=True)

    def close(self) -> None:
        self._status.clear()
        self._clear()

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text)
            self.stream.flush()

    def _clear(self) -> None:
        if self._shown:
            self._write("\r\x1b[2K")
            self._shown = False

    def _draw(self, force: bool = False) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < LIVE_REDRAW_EVERY_S:
            return
        self._last_draw = now
        line = " │ ".join(self._status.values())
        if not line and not self._shown:
            return
        width = shutil.get_terminal_size((100, 24)).columns - 1
        if len(line) > width:
            line = line[: max(0, width - 1)] + "…"
        self._write("\r\x1b[2K" + line)
        self._shown = bool(line)


def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


# --------------------------------------------------------------------------- the batch


@dataclass(frozen=True, slots=True)
class _SessionPlan:
    sample: int
    label: str
    """Thinking: on, off, or "on vs off" (local only, both modes in one session)."""
    runs: tuple[tuple[str, bool], ...]
    """(slot role, thinking) pairs: role "local" or "claude"."""
    concurrent: bool


@dataclass
class _SessionOutcome:
    session_id: int
    sample: int
    thinking: str
    results: list[RunResult] = field(default_factory=list)
    session: Session | None = None
    """The session as stored once its runs ended (the source for the summary)."""
    export_dir: str | None = None
    export_error: str | None = None
    notes: list[str] = field(default_factory=list)


def plan_sessions(samples: int, modes: Sequence[bool], with_claude: bool) -> list[_SessionPlan]:
    """Which sessions a batch makes, in order (see the module doc for the layout)."""
    plans: list[_SessionPlan] = []
    for sample in range(1, samples + 1):
        if with_claude:
            for thinking in modes:
                label = "on" if thinking else "off"
                runs = (("local", thinking), ("claude", thinking))
                plans.append(_SessionPlan(sample, label, runs, concurrent=True))
        elif len(modes) == 2:
            runs = (("local", True), ("local", False))
            plans.append(_SessionPlan(sample, "on vs off", runs, concurrent=False))
        else:
            label = "on" if modes[0] else "off"
            plans.append(_SessionPlan(sample, label, (("local", modes[0]),), concurrent=False))
    return plans


class _HashCancelled(Exception):
    pass


class _Batch:
    def __init__(
        self,
        *,
        settings: Settings,
        prompt: str,
        plan: LocalPlan,
        binary: Path | None,
        claude: ModelBackend | None,
        claude_note: str | None,
        modes: list[bool],
        samples: int,
        out_dir: Path,
        overwrite: bool,
        store: SessionStore,
        progress: _Progress,
        stdout: TextIO,
    ) -> None:
        self.settings = settings
        self.prompt = prompt
        self.plan = plan
        self.binary = binary
        self.claude = claude
        self.claude_note = claude_note
        self.modes = modes
        self.samples = samples
        self.out_dir = out_dir
        self.overwrite = overwrite
        self.store = store
        self.progress = progress
        self.stdout = stdout
        self.server: LlamaServer | None = None
        self.local_backend: ModelBackend | None = None
        self._model_file: Path | None = None
        self.local_info: dict[str, Any] = {}
        self.local_id = local_model_id(plan)
        self.outcomes: list[_SessionOutcome] = []
        self.started_at = datetime.now(UTC)
        self.stopped: str | None = None
        """Why the batch stopped early: a signal ("interrupted", "terminated"), else None."""
        self.fatal: str | None = None
        self._hash_stop = threading.Event()
        self._last_download_tenth = -1

    # ----------------------------------------------------------------- entry

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        terminated = False

        def on_sigterm() -> None:
            nonlocal terminated
            terminated = True
            if task is not None:
                task.cancel()

        handled = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, on_sigterm)
            handled = True
        from pelican_tui.backends.svg.render import SvgRenderer

        renderer = SvgRenderer()
        code = EXIT_OK
        try:
            code = await self._run(renderer)
        except asyncio.CancelledError:
            self._hash_stop.set()
            self.stopped = "terminated" if terminated else "interrupted"
            code = EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
        finally:
            self._hash_stop.set()
            self.progress.close()
            if self.server is not None:
                with contextlib.suppress(Exception):
                    await self.server.stop()
                if self.stopped:
                    self.progress.say("llama-server stopped.")
            await asyncio.to_thread(renderer.close)
            if handled:
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(signal.SIGTERM)
        if self.stopped:
            self.progress.say(
                f"pelican-tui run: {self.stopped}; finished sessions are kept, "
                "runs in flight were saved as cancelled."
            )
            # The session in flight: its finished runs are worth having in DIR too.
            # Their pictures are already stored, so no renderer is needed.
            for outcome in self.outcomes:
                if outcome.export_dir is None and outcome.export_error is None:
                    outcome.notes.append(f"{self.stopped}: runs in flight were saved as cancelled")
                    with contextlib.suppress(SessionStoreError):
                        await self._export(outcome, None)
            self._finish(code)
        return code

    async def _run(self, renderer: SvgRenderer) -> int:
        from pelican_tui.backends.host_info import host_summary

        started = await self._start_local()
        if started is not None:
            return started
        host = await asyncio.to_thread(host_summary)
        sampler: ResourceSampler | None = None
        if self.server is not None:
            from pelican_tui.backends.resources import ResourceSampler

            server = self.server
            model_file = self._model_file
            sampler = ResourceSampler(
                server_pid=lambda: server.pid, model_path=lambda: model_file, maps_interval=2
            )
        plans = plan_sessions(self.samples, self.modes, self.claude is not None)
        for index, plan in enumerate(plans, start=1):
            try:
                await self._one_session(index, len(plans), plan, host, sampler, renderer)
            except SessionStoreError as error:
                self.fatal = f"the session store failed: {error}"
                self.progress.say(f"pelican-tui run: {self.fatal}; stopping the batch.")
                break
            self._write_summary(None)
        code = EXIT_OK if self._all_ok() else EXIT_RUN_FAILED
        self._finish(code)
        return code

    # ----------------------------------------------------------------- local model

    async def _start_local(self) -> int | None:
        """Start (or reach) the local model and gather its identity; an exit code on failure."""
        from pelican_tui.backends.engine.sides import make_local_backend

        backend = make_local_backend(
            self.settings.local, self.plan, self.binary, on_status=self._server_status
        )
        self.local_backend = backend
        if self.plan.mode == "attach":
            # The same check the TUI and doctor make: reachable, ready, what it serves.
            status = await backend.probe()
            if not status.ready:
                hint = f"; {status.hint}" if status.hint else ""
                self.progress.say(f"pelican-tui run: local model: {status.message}{hint}")
                return EXIT_LOCAL_MODEL
            self.local_info = local_model_info(self.plan, self.settings.local)
            served = short_model_name(backend.model) if backend.model else None
            if not self.settings.local.url_model and served:
                self.local_id = served
                self.local_info["served_model"] = served
            self.progress.say(f"Attached to {self.plan.url} ({self.local_id}).")
            return None

        server = backend.server
        assert server is not None
        self.server = server
        self._model_file = self.plan.model_path
        hashing = self._hash_task(self._model_file)
        version_task = asyncio.create_task(self._server_version(), name="llama-server version")
        self.progress.say(f"llama-server: starting {' '.join(server.config.display_flags())}")
        try:
            await server.start()
        except ServerStartError as error:
            self._hash_stop.set()
            self.progress.drop("server")
            reason = _first_line(str(error))
            self.progress.say(f"pelican-tui run: local model could not start: {reason}")
            for line in error.last_lines[-8:]:
                self.progress.say(f"  | {line}")
            pending = [task for task in (hashing, version_task) if task is not None]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            return EXIT_LOCAL_MODEL
        except BaseException:
            self._hash_stop.set()
            raise
        self.progress.drop("server")
        self.progress.say(
            f"llama-server: ready in {server.status.message.removeprefix('ready ').strip('()')} "
            f"(pid {server.pid}, {server.base_url})"
        )
        build, served_file = await self._server_props(server)
        if self._model_file is None and served_file is not None:
            self._model_file = served_file  # -hf: the file llama-server downloaded
            hashing = self._hash_task(served_file)
        sha = await hashing if hashing is not None else None
        version = await version_task
        self.local_id = local_model_id(self.plan, self._model_file)
        self.local_info = local_model_info(
            self.plan,
            self.settings.local,
            server=server,
            model_file=self._model_file,
            sha256=sha,
            server_version=version,
            server_build=build,
        )
        return None

    def _hash_task(self, path: Path | None) -> asyncio.Task[str | None] | None:
        if path is None:
            return None
        return asyncio.create_task(self._hash(path), name="hash model file")

    async def _hash(self, path: Path) -> str | None:
        from pelican_tui.backends.host_info import file_sha256_cached

        loop = asyncio.get_running_loop()
        last = [-1]

        def progress(done: int, total: int) -> None:  # runs in the hashing thread
            if self._hash_stop.is_set():
                raise _HashCancelled
            quarter = done * 4 // max(total, 1)
            if self.progress.live:
                percent = done * 100 // max(total, 1)
                text = f"sha256 of {path.name}: {percent}%"
                loop.call_soon_threadsafe(self.progress.status, "hash", text)
            elif quarter != last[0] and total > 256 * 1024 * 1024:
                last[0] = quarter
                text = f"sha256 of {path.name}: {quarter * 25}%"
                loop.call_soon_threadsafe(self.progress.say, text)

        try:
            return await asyncio.to_thread(file_sha256_cached, path, progress=progress)
        except (_HashCancelled, OSError) as error:
            if not isinstance(error, _HashCancelled):
                self.progress.say(f"pelican-tui run: could not hash {path.name}: {error}")
            return None
        finally:
            self.progress.drop("hash")

    async def _server_version(self) -> str | None:
        if self.binary is None:
            return None
        from pelican_tui.backends.llama.binary import server_version

        return await asyncio.to_thread(server_version, self.binary)

    async def _server_props(self, server: LlamaServer) -> tuple[str | None, Path | None]:
        """llama-server's build string and the model file it serves (from ``/props``)."""
        import httpx

        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(
                    f"{server.base_url}/props",
                    headers={"Authorization": f"Bearer {server.api_key}"},
                )
                props = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return None, None
        if not isinstance(props, dict):
            return None, None
        build = props.get("build_info")
        path = props.get("model_path")
        served = _existing_file(path)
        return (build if isinstance(build, str) else None), served

    def _server_status(self, status: ServerStatus) -> None:
        if status.state is ServerState.DOWNLOADING:
            percent = f" {status.progress * 100:.0f}%" if status.progress is not None else ""
            if self.progress.live:
                self.progress.status("server", f"llama-server: downloading the model{percent}")
                return
            tenth = int((status.progress or 0) * 10)
            if tenth != self._last_download_tenth:
                self._last_download_tenth = tenth
                self.progress.say(f"llama-server: downloading the model{percent}")
        elif status.state is ServerState.LOADING:
            self.progress.say("llama-server: loading the model...")
        elif status.state is ServerState.CRASHED and status.exit_code is not None:
            tail = f": {status.last_lines[-1]}" if status.last_lines else ""
            self.progress.say(f"llama-server: {status.message}{tail}")

    # ----------------------------------------------------------------- sessions

    def _title(self, plan: _SessionPlan) -> str:
        parts = [default_title(self.prompt)]
        if self.samples > 1:
            parts.append(f"sample {plan.sample}/{self.samples}")
        parts.append(f"thinking {plan.label}")
        return " · ".join(parts)

    def _spec(
        self, slot: Slot, role: str, thinking: bool, sampler: ResourceSampler | None
    ) -> RunSpec:
        mode = "on" if thinking else "off"
        if role == "claude":
            assert self.claude is not None
            model = self.settings.claude.model
            request = claude_request(self.settings, self.prompt, thinking)
            return RunSpec(
                slot=slot,
                kind="claude",
                backend=self.claude,
                request=request,
                model_id=model,
                model_info=claude_model_info(model, request),
                settings=claude_run_settings(request),
                label=f"{slot} claude ({mode})",
            )
        assert self.local_backend is not None
        request = local_request(self.settings, self.prompt, thinking)
        kind: BackendKind = "openai" if self.plan.mode == "attach" else "local"
        return RunSpec(
            slot=slot,
            kind=kind,
            backend=self.local_backend,
            request=request,
            model_id=self.local_id,
            model_info=self.local_info,
            settings=local_run_settings(request),
            label=f"{slot} local ({mode})",
            sampler=sampler,
        )

    async def _one_session(
        self,
        index: int,
        count: int,
        plan: _SessionPlan,
        host: dict[str, Any],
        sampler: ResourceSampler | None,
        renderer: SvgRenderer,
    ) -> None:
        session = await asyncio.to_thread(
            self.store.create_session, self.prompt, title=self._title(plan)
        )
        outcome = _SessionOutcome(session.id, plan.sample, plan.label)
        self.outcomes.append(outcome)
        slots: tuple[Slot, Slot] = ("left", "right")
        specs = [
            self._spec(slots[i], role, thinking, sampler)
            for i, (role, thinking) in enumerate(plan.runs)
        ]
        who = " and ".join(spec.label.split(" ", 1)[1] for spec in specs)
        how = "together" if plan.concurrent and len(specs) > 1 else "in turn"
        self.progress.say(
            f"[{index}/{count}] session {session.id}, sample {plan.sample}/{self.samples}, "
            f"thinking {plan.label}: {who}" + (f", {how}" if len(specs) > 1 else "")
        )

        def run(spec: RunSpec) -> Coroutine[Any, Any, RunResult]:
            return execute_run(
                self.store, session.id, spec, host=host, renderer=renderer, on_event=self._event
            )

        try:
            if plan.concurrent:
                tasks = [asyncio.create_task(run(spec), name=spec.label) for spec in specs]
                try:
                    outcome.results = list(await asyncio.gather(*tasks))
                finally:
                    # On a failure or a cancel, the other runs are cancelled and
                    # given the time to record themselves as cancelled.
                    for task in tasks:
                        if not task.done() and not task.cancelling():
                            task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
            else:
                for spec in specs:
                    outcome.results.append(await run(spec))
        finally:
            for spec in specs:
                self.progress.drop(spec.label)
        for result in outcome.results:
            self.progress.say("  " + _result_line(result))
        await self._export(outcome, renderer)

    def _event(self, spec: RunSpec, acc: RunAccumulator, event: GenerationEvent) -> None:
        if isinstance(event, Finished | Failed):
            self.progress.drop(spec.label)
            return
        if not isinstance(event, LiveStats):
            return
        rate = f"{event.tokens_per_s:.1f} tok/s" if event.tokens_per_s else "… tok/s"
        thinking = f" ({event.thinking_tokens} thinking)" if event.thinking_tokens else ""
        self.progress.status(
            spec.label,
            f"{spec.label}: {event.tokens} tok{thinking}, {rate}",
            # Plain lines only once there is a rate to report.
            plain_every_s=PLAIN_PROGRESS_EVERY_S if event.tokens_per_s else None,
        )

    async def _export(self, outcome: _SessionOutcome, worker: SvgRenderer | None) -> None:
        """Export one session; ``worker`` draws PNGs missing from the store (None: none)."""
        from pelican_tui.backends.export.session_export import (
            ExportError,
            export_session,
            worker_renderer,
        )

        folder = self.out_dir / f"session-{outcome.session_id}"
        renderer = worker_renderer(worker) if worker is not None else None
        session: Session = await asyncio.to_thread(self.store.get_session, outcome.session_id)
        outcome.session = session
        try:
            result = await asyncio.to_thread(
                export_session,
                session,
                folder,
                renderer,
                png_size=PNG_SIZE,
                overwrite=self.overwrite,
            )
        except (ExportError, OSError) as error:
            outcome.export_error = str(error)
            self.progress.say(f"  export failed: {error}")
            return
        outcome.export_dir = folder.name
        outcome.notes += result.notes
        self.progress.say(f"  exported to {folder}")

    # ----------------------------------------------------------------- results

    def _stored_runs(self) -> list[Run]:
        return [run for o in self.outcomes if o.session is not None for run in o.session.runs]

    def _all_ok(self) -> bool:
        if self.fatal is not None or not self.outcomes:
            return False
        if any(outcome.export_error or outcome.session is None for outcome in self.outcomes):
            return False
        return all(run.status == "finished" for run in self._stored_runs())

    def _finish(self, code: int) -> None:
        self._write_summary(code)
        print(self._table(), file=self.stdout)
        runs = self._stored_runs()
        finished = sum(run.status == "finished" for run in runs)
        exported = sum(outcome.export_dir is not None for outcome in self.outcomes)
        print(
            f"{finished} of {len(runs)} runs finished; {exported} session"
            f"{'s' if exported != 1 else ''} exported to {self.out_dir} (summary.json).",
            file=self.stdout,
        )
        with contextlib.suppress(OSError, ValueError):
            self.stdout.flush()

    def _table(self) -> str:
        header = ("SESSION", "SAMPLE", "THINKING", "SLOT", "MODEL", "STATUS", "TOKENS", "TOK/S",
                  "TTFT", "SVG")  # fmt: skip
        rows = [header]
        for outcome in self.outcomes:
            for run in outcome.session.runs if outcome.session is not None else ():
                timings, usage = run.timings, run.usage
                tokens = timings.get("generated_tokens") or usage.get("output_tokens")
                rate = timings.get("generation_tokens_per_s")
                ttft = timings.get("time_to_first_token_s")
                rows.append(
                    (
                        str(outcome.session_id),
                        f"{outcome.sample}/{self.samples}",
                        "on" if run.settings.get("thinking") else "off",
                        run.slot,
                        _truncate(run.model_id, 36),
                        run.status,
                        str(tokens) if tokens is not None else "—",
                        f"{rate:.1f}" if rate else "—",
                        f"{ttft:.2f}s" if ttft is not None else "—",
                        "yes" if run.png else ("svg" if run.svg is not None else "no"),
                    )
                )
        if len(rows) == 1:
            return "No runs."
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        right = {0, 6, 7, 8}
        lines = []
        for row in rows:
            cells = [
                cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                for i, cell in enumerate(row)
            ]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def _summary(self, code: int | None) -> dict[str, Any]:
        from pelican_tui.backends.export.session_export import run_basenames

        sessions = []
        for outcome in self.outcomes:
            runs = []
            if outcome.session is not None:
                stems = run_basenames(outcome.session)
                for run in outcome.session.runs:
                    runs.append(self._run_summary(outcome, run, stems[run.id]))
            sessions.append(
                {
                    "id": outcome.session_id,
                    "sample": outcome.sample,
                    "thinking": outcome.thinking,
                    "export_dir": outcome.export_dir,
                    "export_error": outcome.export_error,
                    "notes": outcome.notes,
                    "runs": runs,
                }
            )
        stored = self._stored_runs()
        totals = {
            "runs": len(stored),
            **{
                status: sum(run.status == status for run in stored)
                for status in ("finished", "failed", "cancelled")
            },
        }
        status = "running" if code is None else (self.stopped or "complete")
        return {
            "format": SUMMARY_FORMAT,
            "format_version": SUMMARY_FORMAT_VERSION,
            "status": status,
            "exit_code": code,
            "error": self.fatal,
            "prompt": self.prompt,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": (
                datetime.now(UTC).isoformat(timespec="seconds") if code is not None else None
            ),
            "samples": self.samples,
            "thinking": ["on" if mode else "off" for mode in self.modes],
            "session_store": str(self.store.path),
            "local": {"model_id": self.local_id, "model_info": self.local_info},
            "claude": {
                "used": self.claude is not None,
                "model": self.settings.claude.model if self.claude is not None else None,
                "note": self.claude_note,
            },
            "totals": totals,
            "sessions": sessions,
        }

    def _run_summary(self, outcome: _SessionOutcome, run: Run, stem: str) -> dict[str, Any]:
        files: dict[str, str | None] = {"svg": None, "png": None}
        if outcome.export_dir is not None:
            folder = self.out_dir / outcome.export_dir
            for ext in ("svg", "png"):
                if (folder / f"{stem}.{ext}").is_file():
                    files[ext] = f"{outcome.export_dir}/{stem}.{ext}"
        return {
            "id": run.id,
            "slot": run.slot,
            "backend": run.backend,
            "model_id": run.model_id,
            "thinking": run.settings.get("thinking"),
            "status": run.status,
            "failure_reason": run.failure_reason,
            "timings": run.timings,
            "usage": run.usage,
            "peak_ram": run.peak_ram,
            "svg": run.svg is not None,
            "svg_note": run.svg_note,
            "files": files,
        }

    def _write_summary(self, code: int | None) -> None:
        data = scrub_secrets(self._summary(code))
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        try:
            locations.ensure(self.out_dir)
            fd, tmp = tempfile.mkstemp(prefix=".summary.", suffix=".tmp", dir=self.out_dir)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).chmod(0o644)
            Path(tmp).replace(self.out_dir / "summary.json")
        except OSError as error:
            self.fatal = self.fatal or f"could not write summary.json: {error}"
            self.progress.say(f"pelican-tui run: could not write summary.json: {error}")


def _existing_file(path: object) -> Path | None:
    if not isinstance(path, str) or not path:
        return None
    candidate = Path(path)
    return candidate if candidate.is_file() else None


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _result_line(result: RunResult) -> str:
    spec = result.spec
    parts = [f"{spec.label}: {result.outcome}"]
    if result.failure_reason and result.outcome != "finished":
        parts.append(_first_line(result.failure_reason))
    tokens = result.timings.get("generated_tokens") or result.usage.get("output_tokens")
    if tokens is not None:
        parts.append(f"{tokens} tokens")
    rate = result.timings.get("generation_tokens_per_s")
    if rate:
        parts.append(f"{rate:.1f} tok/s")
    ttft = result.timings.get("time_to_first_token_s")
    if ttft is not None:
        parts.append(f"first token {ttft:.2f} s")
    if result.outcome != "cancelled":
        parts.append(f"SVG: {result.svg_note}" if result.svg_note else "no SVG")
    return ", ".join(parts)


# --------------------------------------------------------------------------- entry point


def _out_dir_problem(out: Path, force: bool) -> str | None:
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file, not a folder"
    if out.is_dir() and not force and any(out.iterdir()):
        return f"--out {out} is not empty; choose a new folder or add --force"
    return None


def _thinking_modes(choice: str | None, default: bool) -> list[bool]:
    if choice == "both":
        return [True, False]
    if choice is None:
        return [default]
    return [choice == "on"]


@contextlib.contextmanager
def _child_output_to_stderr() -> Iterator[None]:
    """Send what child processes print (pip, during a first-run download) to stderr:
    stdout is kept for the summary, which scripts read."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _prepare_local(
    settings: Settings, say: Callable[[str], None]
) -> tuple[LocalPlan, Path | None] | str:
    """The local plan and llama-server binary, fetching what is missing; or why not."""
    from pelican_tui.backends.llama import default_model
    from pelican_tui.backends.llama.binary import ServerBinaryError, ensure_server_binary
    from pelican_tui.backends.llama.local_model import plan_local

    local = settings.local
    if not local.url and local.model is None and not local.hf:
        try:
            default_model.ensure_default_model(progress=say)
        except default_model.DefaultModelError as error:
            return str(error)
    plan = plan_local(local)
    if plan.problem is not None:
        return plan.problem
    if plan.fit is not None and plan.fit.level != "ok":
        say(f"warning: {plan.fit.message}")
    binary = None
    if plan.mode == "spawn":
        try:
            binary = ensure_server_binary(local.llama_server, progress=say).path
        except ServerBinaryError as error:
            return _first_line(str(error))
    return plan, binary


def run_command(
    argv: Sequence[str],
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``pelican-tui run ARGV``; returns the exit status (see the module doc)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        return _run_command(list(argv), out, err)
    except KeyboardInterrupt:
        with contextlib.suppress(OSError, ValueError):
            err.write("\npelican-tui run: interrupted\n")
        return EXIT_INTERRUPTED


def _run_command(argv: list[str], out: TextIO, err: TextIO) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as error:
        print(parser.format_usage().rstrip(), file=err)
        print(f"{PROG}: error: {error}", file=err)
        return EXIT_USAGE
    except SystemExit as stop:  # --help
        return int(stop.code or 0)

    def fail(code: int, message: str) -> int:
        print(f"{PROG}: {message}", file=err)
        return code

    out_dir: Path = args.out.expanduser()
    problem = _out_dir_problem(out_dir, args.force)
    if problem is not None:
        return fail(EXIT_USAGE, problem)
    try:
        settings = _load_settings(args)
    except Exception as error:  # pydantic ValidationError, TOML errors
        return fail(EXIT_USAGE, f"invalid settings: {_first_line(str(error))}")
    prompt = settings.prompt.strip()
    if not prompt:
        return fail(EXIT_USAGE, "the prompt is empty")

    progress = _Progress(err)
    claude, why_not = _claude_side(settings, args)
    if claude is None and args.claude_model and not args.no_claude:
        return fail(EXIT_USAGE, f"--claude-model {args.claude_model} given, but {why_not}")
    claude_note = f"Claude not used: {why_not}; running the local model only." if why_not else None
    modes = _thinking_modes(args.thinking, settings.local.thinking)

    try:
        store = SessionStore.open()
    except SessionStoreError as error:
        return fail(EXIT_USAGE, _first_line(str(error)))
    with store:
        for notice in store.notices:
            progress.say(f"sessions: {notice}")
        with _child_output_to_stderr():
            prepared = _prepare_local(settings, progress.say)
        if isinstance(prepared, str):
            return fail(EXIT_LOCAL_MODEL, f"local model: {prepared}")
        plan, binary = prepared
        created = not out_dir.exists()
        batch = _Batch(
            settings=settings,
            prompt=prompt,
            plan=plan,
            binary=binary,
            claude=claude,
            claude_note=claude_note,
            modes=modes,
            samples=args.samples,
            out_dir=out_dir,
            overwrite=args.force,
            store=store,
            progress=progress,
            stdout=out,
        )
        if claude_note:
            progress.say(claude_note)
        side = f" vs {settings.claude.model}" if claude is not None else ""
        progress.say(f"Local model: {plan.label}{side}; prompt: {default_title(prompt)}")
        try:
            code = asyncio.run(batch.run())
        except KeyboardInterrupt:  # a second Ctrl-C during clean-up
            if batch.server is not None:
                batch.server.kill_now()
            raise
        finally:
            if created and out_dir.is_dir() and not any(out_dir.iterdir()):
                with contextlib.suppress(OSError):
                    out_dir.rmdir()
        return code


def _claude_side(
    settings: Settings, args: argparse.Namespace
) -> tuple[ModelBackend | None, str | None]:
    """Claude's backend when it will be used, else None and why not (None for --no-claude)."""
    if args.no_claude:
        return None, None
    if not settings.claude.enabled:
        return None, "Claude is disabled in the settings (claude.enabled = false)"
    from pelican_tui.backends.anthropic_backend import API_KEY_ENV, ClaudeBackend

    if not os.environ.get(API_KEY_ENV, "").strip():
        return None, f"{API_KEY_ENV} is not set"
    backend = ClaudeBackend(settings.claude)
    status = backend.status()
    if not status.ready:
        return None, status.message
    return backend, None


__all__ = [
    "EPILOG",
    "EXIT_INTERRUPTED",
    "EXIT_LOCAL_MODEL",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "build_parser",
    "plan_sessions",
    "run_command",
]
