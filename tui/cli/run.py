"""``pelican-tui run``: the whole comparison without the TUI, for scripts and batches.

::

    pelican-tui run [--prompt TEXT] [--model PATH | --hf REF | --url URL]
                    [--llama-server PATH] [--ctx N] [--threads N] [--n-cpu-moe N]
                    [--ngl N] [--load-mode MODE] [--server-arg ARG]...
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
    2    bad usage or settings, ``--out`` not usable (a file, a non-empty
         folder without ``--force``, or a place that cannot be created or
         written: checked before anything runs), Claude asked for by
         ``--claude-model`` but not configured, or the session store
         unusable; nothing was run
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
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

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
from pelican_tui.backends.events import GenerationEvent
from pelican_tui.backends.llama.process import (
    LlamaServer,
    ServerStartError,
)
from pelican_tui.backends.openai_compat.backend import short_model_name
from pelican_tui.backends.protocol import ModelBackend
from pelican_tui.backends.store.records import BackendKind, Session, SessionStoreError, Slot
from pelican_tui.backends.store.sessions import SessionStore, default_title
from pelican_tui.cli.args import EXIT_USAGE, parse
from pelican_tui.cli.model_flags import model_overrides, settings_from_flags
from pelican_tui.cli.run_args import EPILOG, PROG, OutDir, build_parser, thinking_modes
from pelican_tui.cli.run_progress import Progress, first_line, result_line
from pelican_tui.cli.run_summary import (
    BatchFacts,
    SessionOutcome,
    print_summary,
    stored_runs,
    summary_data,
    write_summary,
)

if TYPE_CHECKING:  # imported where used: `pelican-tui run --help` stays quick
    from pelican_tui.backends.llama.local_model import LocalPlan
    from pelican_tui.backends.resources import ResourceSampler
    from pelican_tui.backends.settings import Settings
    from pelican_tui.backends.svg.render import SvgRenderer

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_LOCAL_MODEL = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

# --------------------------------------------------------------------------- the batch


@dataclass(frozen=True, slots=True)
class _SessionPlan:
    sample: int
    label: str
    """Thinking: on, off, or "on vs off" (local only, both modes in one session)."""
    runs: tuple[tuple[str, bool], ...]
    """(slot role, thinking) pairs: role "local" or "claude"."""
    concurrent: bool


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
        progress: Progress,
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
        self.outcomes: list[SessionOutcome] = []
        self.started_at = datetime.now(UTC)
        self.stopped: str | None = None
        """Why the batch stopped early: a signal ("interrupted", "terminated"), else None."""
        self.fatal: str | None = None
        self._hash_stop = threading.Event()

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
            self.settings.local, self.plan, self.binary, on_status=self.progress.server_status
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
            reason = first_line(str(error))
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

        def progress(done: int, total: int) -> None:  # runs in the hashing thread
            if self._hash_stop.is_set():
                raise _HashCancelled
            loop.call_soon_threadsafe(self.progress.hashing, path.name, done, total)

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
        outcome = SessionOutcome(session.id, plan.sample, plan.label)
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
            self.progress.say("  " + result_line(result))
        await self._export(outcome, renderer)

    def _event(self, spec: RunSpec, acc: RunAccumulator, event: GenerationEvent) -> None:
        self.progress.run_event(spec.label, event)

    async def _export(self, outcome: SessionOutcome, worker: SvgRenderer | None) -> None:
        """Export one session; ``worker`` draws PNGs missing from the store (None: none)."""
        from pelican_tui.backends.export import (
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

    def _all_ok(self) -> bool:
        if self.fatal is not None or not self.outcomes:
            return False
        if any(outcome.export_error or outcome.session is None for outcome in self.outcomes):
            return False
        return all(run.status == "finished" for run in stored_runs(self.outcomes))

    def _finish(self, code: int) -> None:
        self._write_summary(code)
        print_summary(self.stdout, self.outcomes, self.samples, self.out_dir)

    def _write_summary(self, code: int | None) -> None:
        facts = BatchFacts(
            prompt=self.prompt,
            samples=self.samples,
            modes=self.modes,
            started_at=self.started_at,
            session_store=self.store.path,
            local_id=self.local_id,
            local_info=self.local_info,
            claude_model=self.settings.claude.model if self.claude is not None else None,
            claude_note=self.claude_note,
        )
        data = summary_data(
            facts, self.outcomes, self.out_dir, code=code, stopped=self.stopped, error=self.fatal
        )
        try:
            write_summary(self.out_dir, data)
        except OSError as error:
            if self.fatal is None:  # said once, not after every session
                self.fatal = f"could not write summary.json: {error}"
                self.progress.say(f"pelican-tui run: {self.fatal}")


def _existing_file(path: object) -> Path | None:
    if not isinstance(path, str) or not path:
        return None
    candidate = Path(path)
    return candidate if candidate.is_file() else None


# --------------------------------------------------------------------------- entry point


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
            return first_line(str(error))
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
    args = parse(build_parser(), argv, err)
    if isinstance(args, int):
        return args
    out_dir = OutDir(args.out.expanduser())
    problem = out_dir.claim(args.force)
    if problem is not None:
        print(f"{PROG}: {problem}", file=err)
        return EXIT_USAGE
    try:
        return _run_claimed(args, out_dir.path, out, err)
    finally:
        out_dir.release()  # only what it created, and only if nothing was written there


def _run_claimed(args: argparse.Namespace, out_dir: Path, out: TextIO, err: TextIO) -> int:
    """The run, once the arguments parsed and ``--out`` proved writable."""

    def fail(code: int, message: str) -> int:
        print(f"{PROG}: {message}", file=err)
        return code

    try:
        settings = settings_from_flags({**model_overrides(args), "prompt": args.prompt})
    except Exception as error:  # pydantic ValidationError, TOML errors
        return fail(EXIT_USAGE, f"invalid settings: {first_line(str(error))}")
    prompt = settings.prompt.strip()
    if not prompt:
        return fail(EXIT_USAGE, "the prompt is empty")

    progress = Progress(err)
    claude, why_not = _claude_side(settings, args)
    if claude is None and args.claude_model and not args.no_claude:
        return fail(EXIT_USAGE, f"--claude-model {args.claude_model} given, but {why_not}")
    claude_note = f"Claude not used: {why_not}; running the local model only." if why_not else None
    modes = thinking_modes(args.thinking, settings.local.thinking)

    try:
        store = SessionStore.open()
    except SessionStoreError as error:
        return fail(EXIT_USAGE, first_line(str(error)))
    with store:
        for notice in store.notices:
            progress.say(f"sessions: {notice}")
        with _child_output_to_stderr():
            prepared = _prepare_local(settings, progress.say)
        if isinstance(prepared, str):
            return fail(EXIT_LOCAL_MODEL, f"local model: {prepared}")
        plan, binary = prepared
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
            return asyncio.run(batch.run())
        except KeyboardInterrupt:  # a second Ctrl-C during clean-up
            if batch.server is not None:
                batch.server.kill_now()
            raise


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
