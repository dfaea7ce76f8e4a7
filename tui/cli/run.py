"""``pelican-tui run``: the whole comparison without the TUI, for scripts and batches.

::

    pelican-tui run [--prompt TEXT | --set NAME] [--model PATH | --hf REF | --url URL]
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
session, so an interrupted batch still describes what finished. ``--force``
writes into a DIR that is not empty: an earlier batch's session folders stay
(a session whose ``session-<id>`` is taken, by a batch from another data folder,
goes to ``session-<id>-2``), and its ``summary.json`` is kept, renamed
``summary-<its start, UTC>.json`` (``summary-20261205T021630Z.json``), before this
batch's first is written.

Prompt sets
    ``--set NAME`` runs every prompt of a prompt set (:mod:`.prompt_sets`:
    ``prompts.toml`` in the config folder, or the built-in "pelican"), one
    after the other, each with every sample and thinking mode; sessions record
    the set, and are titled "SET/PROMPT · ..." rather than by the prompt's
    text. A private set's prompt texts are never written to DIR: the exports
    hold pictures and numbers only, and ``summary.json`` lists the prompts by
    name. ``--set SET/PROMPT`` runs that one prompt of the set. An unknown set,
    or a broken ``prompts.toml``, exits 2.

Sessions and slots
    *Without* ``--thinking``: one session per sample, of what the TUI's two
    panes start with (and ``r`` runs): left = the local model thinking as
    ``local.thinking`` says; right = Claude thinking as ``claude.thinking``
    says, or without Claude (``--no-claude``, ``claude.enabled = false``, or
    no ``ANTHROPIC_API_KEY``) the local model thinking the other way round
    (with ``local.models_dir``: the folder's second model).

    *With Claude and* ``--thinking``: one session per (sample, thinking mode);
    left = the local model, right = Claude, both in that thinking mode, run
    concurrently.

    *Without Claude and* ``--thinking both``: one session per sample; left =
    the local model thinking on, right = the same model thinking off. A model
    without a thinking switch (the server's check says so) still runs both:
    a note at the start of the batch (once) and in its sessions' ``notes`` in
    summary.json says the two send the same request, so they are two samples, not
    thinking compared; so too with Claude, the on and off runs in two sessions.
    ``--thinking on`` or ``off``: one session per sample, left only.

Runs on one llama-server take turns, not together: they would each get about
half its speed, so their tokens/s would mislead. llama-server is started once
for the whole batch and always stopped at the end.

Output
    Progress on stderr: model loading, then each run's live token count and
    tokens/s on one line redrawn in place when stderr is a terminal, plain lines
    (one every few seconds per run) otherwise. A summary table on stdout, one
    row per run; its PICTURE column says ``drawn``, ``not drawn`` (an SVG was
    found but could not be drawn), ``truncated`` (an SVG began but was cut off
    inside its first tag), ``no SVG``, or ``—`` (a run that failed or was
    cancelled before its answer could be read).

Exit status
    0    every run finished (an answer without an SVG still finished: the
         summary says "no SVG")
    1    some run failed, or a session could not be exported or saved; the
         other runs are kept and exported. Or an internal error (a bug): said
         in one line, its traceback appended to ``errors.log`` in the data
         folder; llama-server is stopped, finished sessions are kept and
         exported, runs in flight are saved as "cancelled"
    2    bad usage or settings, an unknown prompt set or a broken
         ``prompts.toml``, ``--out`` not usable (a file, a non-empty
         folder without ``--force``, or a place that cannot be created or
         written: checked before anything runs), Claude asked for by
         ``--claude-model`` but not configured, or the session store
         unusable; nothing was run
    3    the local model could not start: no llama-server, the model file is
         missing or unreadable, llama-server failed to load it, or the
         ``--url`` server cannot be reached
    130  interrupted (Ctrl-C); 143: terminated (SIGTERM); 129: hung up (SIGHUP:
         the terminal or ssh connection closed; not under ``nohup``). Finished
         sessions are kept and exported, runs in flight are saved as
         "cancelled", llama-server is stopped. A second Ctrl-C stops the
         exports too; summary.json still says what was and was not exported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pelican_tui.backends import locations
from pelican_tui.backends.engine import updates
from pelican_tui.backends.engine.batch import (
    BatchStep,
    GivenUp,
    ModePlan,
    as_run,
    batch_thinking,
    default_plan,
    plan_batch,
    plan_modes,
    run_step,
    stop_reason,
)
from pelican_tui.backends.engine.comparison import (
    PNG_SIZE,
    SLOTS,
    ComparisonEngine,
    is_local,
)
from pelican_tui.backends.llama.process import ServerStartError
from pelican_tui.backends.secrets import url_without_credentials
from pelican_tui.backends.store.records import Session, SessionStoreError, Slot
from pelican_tui.backends.store.sessions import SessionStore, default_title
from pelican_tui.backends.text import NO_SWITCH, first_line, plural
from pelican_tui.cli.args import Console, Exit, OutputError, command
from pelican_tui.cli.internal_error import internal_error_words, report_internal_error
from pelican_tui.cli.model_flags import model_overrides, password_warnings, settings_from_flags
from pelican_tui.cli.run_args import (
    EPILOG,
    PROG,
    OutDir,
    build_parser,
    chosen_prompt_set,
    prompt_name_note,
    thinking_modes,
)
from pelican_tui.cli.run_progress import Progress, result_hint, result_line, run_advice
from pelican_tui.cli.run_summary import (
    BatchFacts,
    SessionOutcome,
    keep_earlier_summary,
    print_summary,
    stored_runs,
    summary_data,
    write_summary,
)

if TYPE_CHECKING:  # imported where used: `pelican-tui run --help` stays quick
    from pelican_tui.backends.engine.run import RunResult
    from pelican_tui.backends.prompt_sets import NamedPrompt, PromptSet
    from pelican_tui.backends.settings import Settings

EXIT_RUN_FAILED = 1
EXIT_LOCAL_MODEL = 3
EXIT_TERMINATED = 143
EXIT_HANGUP = 129
STOP_SIGNALS = {"terminated": EXIT_TERMINATED, "hung up": EXIT_HANGUP}
"""How a signal that stops the batch is said, and its exit status (128 + its number)."""
INTERNAL_ERROR = "internal error"
"""How a batch stopped by a bug (an exception nobody expected) is said; it exits
:data:`EXIT_RUN_FAILED`, its traceback in the error log (:mod:`.internal_error`)."""

# --------------------------------------------------------------------------- the batch


@dataclass(eq=False)
class _Batch:
    """The sessions of one ``pelican-tui run``, made by the engine, printed and exported."""

    engine: ComparisonEngine
    """Makes the sessions; :meth:`run` starts its local model and closes it at the end."""
    store: SessionStore
    """Where the engine saves them (it was given this store); exports read them back."""
    prompts: tuple[NamedPrompt, ...]
    """The prompts to run in turn: a set's, or ``--prompt``'s alone."""
    prompt_set: PromptSet | None
    """The set ``--set`` named; None for ``--prompt``."""
    modes: list[bool] | None
    """The thinking modes ``--thinking`` asks for: ``[True]``, ``[False]`` or both;
    None: the engine's default choices, as the TUI's panes start."""
    samples: int
    """How many times each prompt is run in each mode (``--samples``)."""
    with_claude: bool
    """Claude runs beside the local model; else the local model alone (see the module doc)."""
    claude_note: str | None
    """Why Claude is not used, when it was wanted: said at the start and in the summary."""
    out_dir: Path
    """``--out``: each session is exported to ``session-<id>/`` in it, beside ``summary.json``."""
    progress: Progress
    """Where the batch says what it does (stderr)."""
    stdout: TextIO
    """Where the summary table goes."""
    local_id: str = field(init=False)
    """The local model as the summary names it: its plan's label until it is started,
    then what it says it is."""
    local_info: dict[str, Any] = field(default_factory=dict)
    """What the local model says about itself (file, hash, server), for the summary."""
    outcomes: list[SessionOutcome] = field(default_factory=list)
    """The sessions so far, in order."""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When the batch was made (UTC), for the summary."""
    stopped: str | None = None
    """Why the batch stopped early: a signal ("interrupted", "terminated") or
    :data:`INTERNAL_ERROR` (a bug), else None."""
    hurry: bool = False
    """Ctrl-C again while it cleaned up: exports not yet begun are skipped."""
    fatal: str | None = None
    """Why the batch failed as a whole (the store, summary.json, a side that cannot run),
    said once; else None."""
    planned: int = 0
    """How many runs the batch plans (the summary counts the finished out of these)."""
    summary_written: bool = True
    """Whether the last write of ``summary.json`` succeeded (the last line names it)."""
    output_error: OutputError | None = None
    """Why the summary could not be written to stdout (a full disk), or None: said,
    once the batch is cleaned up, by ``pelican-tui`` as for every command."""
    earlier_summary_kept: bool = False
    """Whether a ``summary.json`` an earlier batch left in ``out_dir`` was looked for and
    renamed (:func:`keep_earlier_summary`), before this batch's first one is written."""
    given_up: GivenUp = field(default_factory=GivenUp)
    """The sides that failed for good: the batch sends them no more runs."""
    _said: set[str] = field(default_factory=set)
    """The notes of the batch said already (each is said once, at its first session)."""
    _current: tuple[BatchStep, ModePlan] | None = None
    """The step of the batch and the session of it that runs now."""
    _ended: dict[Slot, RunResult] = field(default_factory=dict)
    """The runs of the session that runs now that have ended, not yet said: said
    together once the session's runs all end, or (the batch stopped before they did)
    as it cleans up (:meth:`_say_results`)."""
    plans: list[ModePlan] = field(init=False)
    """The sessions each step makes (one per thinking mode asked for, or the default)."""

    def __post_init__(self) -> None:
        self.local_id = self.engine.plan.label
        if self.modes is None:
            self.plans = [default_plan(self.engine)]
        else:
            self.plans = plan_modes(self.modes, self.with_claude)

    @property
    def local_modes(self) -> list[bool]:
        """How the local model thinks in the batch's runs, in order (for the summary)."""
        thinking = (c.thinking for p in self.plans for c in p.choices.values() if is_local(c.side))
        return list(dict.fromkeys(thinking))

    # ----------------------------------------------------------------- entry

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        by_signal: list[str] = []

        def on_signal(name: str) -> None:
            if by_signal:  # again, while it cleans up: stop llama-server now, skip exports
                self.hurry = True
                if self.engine.local is not None and self.engine.local.server is not None:
                    self.engine.local.server.kill_now()
                return
            by_signal.append(name)
            if task is not None:
                task.cancel()

        handled = []
        stops = ((signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated"))
        for signum, name in (*stops, (signal.SIGHUP, "hung up")):
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue  # ignored when started (`nohup`, a background job): stays so
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, on_signal, name)
                handled.append(signum)
        code: int = Exit.OK
        bug: Exception | None = None
        try:
            code = await self._run()
        except asyncio.CancelledError:
            self.stopped = by_signal[0] if by_signal else "interrupted"
            code = STOP_SIGNALS.get(self.stopped, Exit.INTERRUPTED)
        except Exception as error:  # a bug: cleaned up as after a signal, then raised again
            self.stopped, code, bug = INTERNAL_ERROR, EXIT_RUN_FAILED, error
            self.fatal = self.fatal or internal_error_words(error)
        try:
            await self._clean_up(code)
        finally:
            for signum in handled:
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(signum)
        if bug is not None:  # said by run_command's last resort, its traceback logged
            raise bug
        if self.output_error is not None:  # said by pelican-tui, as every command's
            raise OutputError(self.output_error.error, status=_failed(code), kept=self._kept())
        return code

    async def _clean_up(self, code: int) -> None:
        """Stop llama-server; after a signal, export what the batch has and write the
        summary (a second Ctrl-C meanwhile skips the exports not begun)."""
        self.progress.close()
        # The session stopped mid-way: its runs that ended before the stop are said as
        # every session's are (those the stop cancelled, all at once below).
        self._ended = {s: r for s, r in self._ended.items() if r.outcome != "cancelled"}
        if self.stopped and self._ended and self.outcomes:
            self._say_results(self.outcomes[-1])
        server = self.engine.local.server if self.engine.local is not None else None
        with contextlib.suppress(Exception):
            await self.engine.close()
        if server is not None and self.stopped:
            self.progress.say("llama-server stopped.")
        if not self.stopped:
            return
        self.progress.say(
            f"{PROG}: {self.stopped}; finished sessions are kept, "
            "runs in flight were saved as cancelled."
        )
        # The session in flight: its finished runs are worth having in DIR too.
        # Their pictures are already stored, so no renderer is needed.
        for outcome in self.outcomes:
            if outcome.export_dir is None and outcome.export_error is None:
                outcome.notes.append(f"{self.stopped}: runs in flight were saved as cancelled")
                if self.hurry:
                    outcome.notes.append(_not_exported(outcome))
                    self.progress.say(f"  session {outcome.session_id} {_not_exported(outcome)}")
                    with contextlib.suppress(Exception):  # one quick read: the summary's runs
                        outcome.session = self.store.get_session(outcome.session_id)
                    continue
                with contextlib.suppress(SessionStoreError):
                    await self._export(outcome, with_renderer=False)
        self._finish(code)

    async def _run(self) -> int:
        steps = plan_batch(self.prompt_set or self.prompts, self.samples)
        batch = [(step, plan) for step in steps for plan in self.plans]
        self.planned = sum(len(plan.choices) for _, plan in batch)  # a Ctrl-C in start: said
        started = await self._start_local()
        if started is not None:
            return started
        for index, (step, asked) in enumerate(batch, start=1):
            plan = as_run(self.engine, asked)  # "off" of a model that cannot: its lowest level
            self._current = step, plan
            sent = self.given_up.sent(plan.choices)
            turn = self.engine.shared_turn(sent)
            how = f"in turn ({turn})" if turn else "together"
            who = " and ".join(self._who(slot) for slot in sent)
            which = f"prompt {step.prompt.name}, " if self.prompt_set is not None else ""
            self.progress.say(
                f"[{index}/{len(batch)}] {which}sample {step.sample}/{self.samples}, "
                f"thinking {plan.label}: {who}" + (f", {how}" if len(sent) > 1 else "")
            )
            result = await run_step(
                self.engine,
                step,
                plan.choices,
                self._on_update,
                given_up=self.given_up,
                thinking=batch_thinking(self.plans),
            )
            stop = stop_reason(result)
            if result.session_id is None:
                self.fatal = self.fatal or stop
                self.progress.say(f"{PROG}: {self.fatal}; stopping the batch.")
                break
            outcome = self.outcomes[-1]
            refused = {slot: refusal.reason for slot, refusal in result.refused.items()}
            for slot, reason in {**refused, **result.not_sent}.items():
                outcome.notes.append(f"{slot}: not run: {reason}")
            for error in dict.fromkeys(result.listener_errors):  # a bug here; runs recorded
                self.progress.say(f"  warning: the progress display failed: {error}")
            self._ended = dict(result.results)
            self._say_results(outcome)
            await self._export(outcome, with_renderer=True)
            self._write_summary(None)
            if stop is not None:
                self.fatal = self.fatal or stop
                self.progress.say(f"{PROG}: {stop}; stopping the batch.")
                break
        code = Exit.OK if self._all_ok() else EXIT_RUN_FAILED
        self._finish(code)
        return code

    def _say_results(self, outcome: SessionOutcome) -> None:
        """Say the runs of ``outcome`` that ended (:attr:`_ended`), left then right: a
        line each, its warnings and notes (those in ``outcome.notes`` too), once."""
        ended, self._ended = self._ended, {}
        outcome.results = [ended[slot] for slot in SLOTS if slot in ended]
        for run in outcome.results:
            self.progress.say("  " + result_line(run))
            if hint := result_hint(run):  # its own line: the numbers are not part of it
                self.progress.say("  " + hint)
            for warning in run.warnings():  # the thinking switch ignored; a stall
                self.progress.say(f"  warning: {run.spec.label}: {warning}")
            if run.thinking_warning:  # what scripts read says it too
                outcome.notes.append(f"{run.spec.slot}: {run.thinking_warning}")
            if run.spec.off_note:  # the model cannot turn thinking off
                self.progress.say(f"  note: {run.spec.label}: {run.spec.off_note}")
                outcome.notes.append(f"{run.spec.slot}: {run.spec.off_note}")

    def _on_update(self, update: Any) -> None:
        """Print what the engine reports: live numbers, turns, refusals, store trouble."""
        match update:
            case updates.RunProgress():
                self.progress.run_event(f"{update.slot} {self._who(update.slot)}", update.event)
            case updates.RunEnded():
                self.progress.drop(f"{update.slot} {self._who(update.slot)}")
                self._ended[update.slot] = update.result
            case updates.RunQueued():
                self.progress.say(f"  {update.slot}: {update.reason}")
            case updates.SessionStarted():
                assert self._current is not None
                self._ended = {}
                step, plan = self._current
                outcome = SessionOutcome(update.session_id, step.sample, plan.label)
                if self.prompt_set is not None:
                    outcome.prompt_name = step.prompt.name
                self.outcomes.append(outcome)
                self.progress.say(f"  session {update.session_id}")
            case updates.SameRequest():  # no thinking switch: on vs off is not a comparison
                if update.note not in self._said:  # once a batch, whichever its sessions
                    self._said.add(update.note)
                    self.progress.say(f"  note: {update.note}")
                if self.outcomes and self.outcomes[-1].session_id == update.session_id:
                    self.outcomes[-1].notes.append(update.note)
            case updates.RunRefused():
                advice = run_advice(update.hint)
                hint = f"; {advice}" if advice else ""
                self.progress.say(f"  {update.slot}: not run: {update.reason}{hint}")
            case updates.StoreProblem(saved=True):
                pass  # a notice from opening the store, said as it was opened; runs saved
            case updates.StoreProblem():
                self.progress.say(f"{PROG}: {update.message}")
                self.fatal = self.fatal or update.message

    def _who(self, slot: Slot) -> str:
        """What ``slot`` runs in the session that runs now: "local (on)", "claude (high)",
        "local (no switch)" (its model has no thinking switch: as its runs are named)."""
        choice = self._current[1].choices.get(slot) if self._current is not None else None
        if choice is None:
            return ""
        words = self.engine.thinking(choice) if self.engine.sends_switch(choice) else NO_SWITCH
        return f"{choice.side} ({words})"

    # ----------------------------------------------------------------- local model

    async def _start_local(self) -> int | None:
        """Start (or reach) the local model and learn its identity; an exit code on failure."""
        engine = self.engine
        local = engine.local
        if local is None:
            self.progress.say(f"{PROG}: local model: {engine.local_problem}")
            return EXIT_LOCAL_MODEL
        if local.server is not None:
            flags = " ".join(local.server.display_flags())
            self.progress.say(f"llama-server: starting {flags}")
        try:
            status = await engine.start_local()
        except ServerStartError as error:
            self.progress.drop("server")
            reason = first_line(str(error))
            self.progress.say(f"{PROG}: local model could not start: {reason}")
            for line in error.last_lines[-8:]:
                self.progress.say(f"  | {line}")
            return EXIT_LOCAL_MODEL
        self.progress.drop("server")
        if not status.ready:
            advice = run_advice(status.hint)
            hint = f"; {advice}" if advice else ""
            self.progress.say(f"{PROG}: local model: {status.message}{hint}")
            return EXIT_LOCAL_MODEL
        # The SVG renderer's worker starts now, as the TUI's does: started by the first
        # picture, its ~0.2 s of CPU would fall into the next run's stream.
        await asyncio.to_thread(engine.start_renderer)
        self.local_id, self.local_info = await local.identity()
        self.progress.drop("hash")
        if local.server is None:
            shown = url_without_credentials(engine.plan.url or "")
            self.progress.say(f"Attached to {shown} ({self.local_id}).")
        else:
            server = local.server
            self.progress.say(
                f"llama-server: ready in {server.status.message.removeprefix('ready ').strip('()')}"
                f" (pid {server.pid}, {server.base_url})"
            )
        return None

    # ----------------------------------------------------------------- sessions

    async def _export(self, outcome: SessionOutcome, *, with_renderer: bool) -> None:
        """Export one session; with the renderer, PNGs missing from the store are drawn."""
        from pelican_tui.backends.export import (
            ExportError,
            export_folder_for,
            export_session,
            worker_renderer,
        )

        renderer = worker_renderer(self.engine.renderer()) if with_renderer else None
        session: Session = await asyncio.to_thread(self.store.get_session, outcome.session_id)
        outcome.session = session
        # Beside a folder another session with its id left (--force: an earlier batch
        # from another data folder, or from before a damaged store was moved aside).
        folder = await asyncio.to_thread(export_folder_for, self.out_dir, session)
        name = locations.session_export_name(session.id)
        taken = name if folder.name != name else None
        try:
            result = await asyncio.to_thread(
                export_session,
                session,
                folder,
                renderer,
                png_size=PNG_SIZE,
            )
        except (ExportError, OSError) as error:
            outcome.export_error = str(error)
            self.progress.say(f"  export failed: {error}")
            return
        outcome.export_dir = folder.name
        outcome.notes += result.notes
        kept = f" ({taken} holds an earlier export, kept)" if taken else ""
        self.progress.say(f"  exported to {folder}{kept}")

    # ----------------------------------------------------------------- results

    def _all_ok(self) -> bool:
        if self.fatal is not None or not self.outcomes:
            return False
        if any(outcome.export_error or outcome.session is None for outcome in self.outcomes):
            return False
        return all(run.status == "finished" for run in stored_runs(self.outcomes))

    def _finish(self, code: int) -> None:
        self._write_summary(code)
        try:
            print_summary(
                self.stdout,
                self.outcomes,
                self.samples,
                self.out_dir,
                self.planned,
                summary_written=self.summary_written,
                not_sent=self.given_up.summary(),
            )
        except BrokenPipeError:  # the reader went away: its choice, the status stands
            pass
        except OutputError as error:  # `> /dev/full`: the batch fails (see run())
            if code != EXIT_HANGUP:  # hung up: no terminal to print to
                self.output_error = error
                if code == Exit.OK:  # summary.json says the status run exits with (1)
                    self.fatal = self.fatal or f"cannot print the summary: {error}"
                    self._write_summary(_failed(code))

    def _kept(self) -> str:
        """What the batch keeps although its summary could not be printed."""
        exported = sum(outcome.export_dir is not None for outcome in self.outcomes)
        summary = " (summary.json)" if self.summary_written else ""
        where = (
            f"{plural(exported, 'session')} exported to {self.out_dir}{summary}"
            if exported
            else "none exported"
        )
        return f"the runs are kept in the session store, {where}"

    def abandon(self) -> None:
        """A second Ctrl-C cut the clean-up short: write summary.json (quick) so it
        says so, naming the sessions left unexported, and nothing else."""
        self.stopped = self.stopped or "interrupted"
        left = [o for o in self.outcomes if o.export_dir is None and o.export_error is None]
        for outcome in left:
            outcome.notes.append(_not_exported(outcome))
        self._write_summary(Exit.INTERRUPTED)
        said = f"{PROG}: interrupted again; summary.json written"
        if left:
            ids = ", ".join(str(o.session_id) for o in left)
            said += f", {'sessions' if len(left) > 1 else 'session'} {ids} not exported"
        self.progress.say(said)

    def _write_summary(self, code: int | None) -> None:
        facts = BatchFacts(
            prompt=self.prompts[0].text if self.prompt_set is None else None,
            prompt_set=_set_facts(self.prompt_set) if self.prompt_set is not None else None,
            samples=self.samples,
            modes=self.local_modes,
            started_at=self.started_at,
            session_store=self.store.path,
            local_id=self.local_id,
            local_info=self.local_info,
            claude_model=self.engine.settings.claude.model if self.with_claude else None,
            claude_note=self.claude_note,
            planned_runs=self.planned,
        )
        data = summary_data(
            facts, self.outcomes, self.out_dir, code=code, stopped=self.stopped, error=self.fatal
        )
        try:
            if not self.earlier_summary_kept:  # --force: an earlier batch's, in DIR before
                kept = keep_earlier_summary(self.out_dir)
                self.earlier_summary_kept = True
                if kept is not None:
                    self.progress.say(
                        f"{PROG}: the earlier summary.json in {self.out_dir} is kept as {kept.name}"
                    )
            write_summary(self.out_dir, data)
        except OSError as error:
            self.summary_written = False
            if self.fatal is None:  # said once, not after every session
                # Not "[Errno 28] No space left on device: '…/.summary.json.x1y2.tmp'".
                self.fatal = f"could not write summary.json: {error.strerror or error}"
                self.progress.say(f"{PROG}: {self.fatal}")
        else:
            self.summary_written = True


def _failed(code: int) -> int:
    """The exit status of a batch whose summary could not be printed: its own failure,
    else :data:`EXIT_RUN_FAILED` (what ``summary.json`` then says too)."""
    return code if code != Exit.OK else EXIT_RUN_FAILED


def _not_exported(outcome: SessionOutcome) -> str:
    return (
        "not exported: interrupted again "
        f"(pelican-tui sessions export {outcome.session_id} --out DIR)"
    )


def _set_facts(prompt_set: PromptSet) -> dict[str, Any]:
    """``summary.json``'s account of ``--set``: a private set's prompts by name only."""
    prompts = [
        {"name": p.name} if prompt_set.private else {"name": p.name, "text": p.text}
        for p in prompt_set.prompts
    ]
    return {"name": prompt_set.name, "private": prompt_set.private, "prompts": prompts}


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


@command(PROG, build_parser)
def run_command(args: argparse.Namespace, console: Console) -> int:
    """Run ``pelican-tui run ARGV``; returns the exit status (see the module doc)."""
    try:
        return _prepare_then_run(args, console)
    except KeyboardInterrupt:
        with contextlib.suppress(OSError, ValueError):
            console.err.write("\n")
            console.note("interrupted")
        return Exit.INTERRUPTED
    except OutputError:  # not a bug: said by pelican-tui, as every command's
        raise
    except Exception as error:  # a bug: llama-server was stopped and the batch saved on the way
        return report_internal_error(console, error)


def _prepare_then_run(args: argparse.Namespace, console: Console) -> int:
    """The prompt set resolved and ``--out`` claimed (released on the way out), then
    the run (:func:`_run_claimed`)."""
    prompt_set: PromptSet | None = None
    if args.prompt_set is not None:
        chosen = chosen_prompt_set(args.prompt_set)
        if isinstance(chosen, str):
            return console.fail(chosen, Exit.USAGE)
        prompt_set = chosen
    out_dir = OutDir(args.out)
    problem = out_dir.claim(args.force)
    if problem is not None:
        return console.fail(problem, Exit.USAGE)
    try:
        return _run_claimed(args, prompt_set, out_dir.path, console)
    finally:
        out_dir.release()  # only what it created, and only if nothing was written there


def _run_claimed(
    args: argparse.Namespace, prompt_set: PromptSet | None, out_dir: Path, console: Console
) -> int:
    """The run, once the arguments parsed and ``--out`` proved writable."""
    from pelican_tui.backends.settings import SettingsError

    overrides = {**model_overrides(args), "prompt": args.prompt}
    try:
        settings = settings_from_flags(overrides)
    except SettingsError as error:  # a bad value, file or variable; a bug is the last resort's
        return console.invalid_settings(error)
    for warning in password_warnings(settings):
        console.note(warning)
    if note := prompt_name_note(args.prompt):
        console.note(note)
    from pelican_tui.backends.prompt_sets import NamedPrompt

    if prompt_set is not None:
        prompts = prompt_set.prompts
    else:
        prompts = (NamedPrompt("prompt", settings.prompt),)

    progress = Progress(console.err)
    with_claude, why_not = _claude_side(settings, args)
    if not with_claude and args.claude_model:
        why = why_not or "--no-claude was given too"
        return console.fail(f"--claude-model {args.claude_model} given, but {why}", Exit.USAGE)
    claude_note = f"Claude not used: {why_not}; running the local model only." if why_not else None
    modes = thinking_modes(args.thinking)

    try:
        store = SessionStore.open()
    except SessionStoreError as error:
        return console.fail(first_line(str(error)), Exit.USAGE)
    with store:
        for notice in store.notices:
            progress.say(f"sessions: {notice}")
        from pelican_tui.backends.llama.prepare import setup

        with _child_output_to_stderr():
            prepared = setup(settings, progress.say)
        if prepared.problem:
            return console.fail(f"local model: {first_line(prepared.problem)}", EXIT_LOCAL_MODEL)
        engine = ComparisonEngine(
            settings,
            prepared,
            on_server_status=progress.server_status,
            on_hash_progress=progress.hashing,
        )
        engine.use_store(store)
        if engine.local is None:
            return console.fail(f"local model: {engine.local_problem}", EXIT_LOCAL_MODEL)
        fit = engine.plan.fit
        if fit is not None and fit.level != "ok":
            progress.say(f"warning: {fit.message}")
        batch = _Batch(
            engine=engine,
            store=store,
            prompts=prompts,
            prompt_set=prompt_set,
            modes=modes,
            samples=args.samples if args.samples is not None else settings.ui.samples,
            with_claude=with_claude,
            claude_note=claude_note,
            out_dir=out_dir,
            progress=progress,
            stdout=console.out,
        )
        if claude_note:
            progress.say(claude_note)
        vs = f" vs {settings.claude.model}" if with_claude else ""
        label = engine.plan.label
        if engine.plan.mode == "attach" and not settings.local.url_model:  # not asked yet
            label = f"the one served at {url_without_credentials(engine.plan.url or '')}"
        progress.say(f"Local model: {label}{vs}; {_what_runs(prompts, prompt_set)}")
        try:
            return asyncio.run(batch.run())
        except KeyboardInterrupt:  # a second Ctrl-C during clean-up
            if engine.local is not None and engine.local.server is not None:
                engine.local.server.kill_now()
            batch.abandon()
            raise


def _what_runs(prompts: Sequence[NamedPrompt], prompt_set: PromptSet | None) -> str:
    """What the batch runs, in one phrase: "prompt: Generate an SVG…", or
    "prompt set animals (2 prompts: pelican, heron)"."""
    if prompt_set is None:
        return f"prompt: {default_title(prompts[0].text)}"
    names = ", ".join(p.name for p in prompts)
    private = ", private" if prompt_set.private else ""
    count = f"{plural(len(prompts), 'prompt')}"
    return f"prompt set {prompt_set.name} ({count}{private}: {names})"


def _claude_side(settings: Settings, args: argparse.Namespace) -> tuple[bool, str | None]:
    """Whether Claude is used, and why not when it was wanted (None for --no-claude)."""
    if args.no_claude:
        return False, None
    from pelican_tui.backends.anthropic_backend import ClaudeBackend

    status = ClaudeBackend(settings.claude).status()
    return (True, None) if status.ready else (False, status.message)


__all__ = [
    "EPILOG",
    "EXIT_HANGUP",
    "EXIT_LOCAL_MODEL",
    "EXIT_RUN_FAILED",
    "EXIT_TERMINATED",
    "INTERNAL_ERROR",
    "build_parser",
    "run_command",
]
