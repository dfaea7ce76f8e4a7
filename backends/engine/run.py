"""One run: a request to one side, streamed, recorded and drawn.

:func:`execute_run` is the only code that turns a generation into a stored run,
whichever front end asked for it:

1. it waits for its turn on the side's server (two panes on one llama-server
   take turns, so each gets the server's whole speed; so do servers on one
   machine, see :attr:`~.sides.Side.turn_key`), saying so;
2. it records the run as "running", with the model identity, the settings as
   sent and the host;
3. every event is folded into a :class:`~.record.RunAccumulator` and handed to
   the listener; the text so far is checkpointed every
   :data:`CHECKPOINT_EVERY_S` seconds; a local run's memory peak is kept;
4. at the end the SVG is extracted, rendered in the sandboxed worker at
   :data:`PNG_SIZE` (with its tags balanced and tried again if it does not
   render as written) and the run recorded as "finished" or "failed". If the
   task is cancelled, the run is recorded as "cancelled" with the text it had.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pelican_tui.backends.engine.record import RunAccumulator, RunOutcome, silence_warning
from pelican_tui.backends.engine.sides import PaneChoice, Side
from pelican_tui.backends.engine.thinking_check import check_run_thinking, record_thinking_check
from pelican_tui.backends.engine.updates import (
    Listener,
    RunEnded,
    RunProgress,
    RunQueued,
    RunStarted,
)
from pelican_tui.backends.events import Failed, Finished, GenerationEvent, Usage
from pelican_tui.backends.export.pictures import STORED_PNG_SIZE
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.ratings.configuration import numbers_thinking, recorded_thinking_words
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.store.records import FinalStatus, SessionStoreError, Slot
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.svg.extract import SvgExtraction, close_partial_svg, extract_svg
from pelican_tui.backends.svg.facts import picture_facts
from pelican_tui.backends.text import one_line, sentence

if TYPE_CHECKING:
    from pelican_tui.backends.resources import ResourceSample
    from pelican_tui.backends.svg.render import SvgRenderer

CHECKPOINT_EVERY_S = 2.0
"""How often the text of a running run is saved (a crash loses at most this much)."""
PNG_SIZE = STORED_PNG_SIZE
"""Pixel size of the picture stored with each run, whatever terminal made it."""
RENDER_TIMEOUT_S = 10.0


# --------------------------------------------------------------------------- one run


@frozen
class RunSpec:
    """One generation to run and record."""

    slot: Slot
    side: Side
    request: GenerationRequest
    off_note: str | None = None
    """Why the run thinks although its pane asked for thinking off: the model cannot
    turn thinking off, so its lowest level runs (:meth:`~.sides.Side.off_note`); None:
    it runs as asked."""

    @classmethod
    def of_choice(cls, slot: Slot, side: Side, choice: PaneChoice, prompt: str) -> RunSpec:
        """The run of ``choice`` (a pane's side and thinking) on ``prompt``, as ``side``
        makes its request, with its note where thinking off cannot be (its off note)."""
        return cls(slot, side, side.request(choice, prompt), side.off_note(choice))

    @property
    def label(self) -> str:
        """Short name for progress lines: "left local (on)", "right claude (high)",
        "left local (no switch)"."""
        return f"{self.slot} {self.side.label} ({self.thinking()})"

    def thinking(self, ran: bool | None = None) -> str:
        """How the run is asked to think, or with ``ran`` (what the check after it found)
        how it did, as its stored run will be named (:func:`recorded_thinking_words`):
        "on", "off", Claude's effort ("high"), "on (did not)"; "no switch" where none is
        sent (the model has none)."""
        settings = self.recorded_settings()
        if ran is not None:
            settings["thinking_ran"] = ran
        return recorded_thinking_words(settings)

    def recorded_settings(self) -> dict[str, Any]:
        """The run's stored ``settings``: its side's for the request, and where the pane
        asked for thinking off and the model cannot do it, that it was asked
        (``thinking_asked``) and what ran instead (``thinking_note``)."""
        settings = self.side.recorded_settings(self.request)
        if self.off_note is not None:
            settings |= {"thinking_asked": False, "thinking_note": self.off_note}
        return settings


@frozen
class RunResult:
    """How one run ended, as recorded in the store."""

    run_id: int | None
    spec: RunSpec
    outcome: RunOutcome
    failure_reason: str | None
    thinking_chars: int
    answer_chars: int
    timings: dict[str, Any]
    usage: dict[str, Any]
    peak_ram: dict[str, Any]
    svg_found: bool
    svg_note: str | None
    png: bytes | None
    render_problem: str | None = None
    store_problem: str | None = None
    """Why the run could not be saved (None: it was)."""
    save_again: Callable[[], None] | None = None
    """Saves what the store could not save of the run, once it can (blocking; raises the
    store's error if it still cannot). None: nothing is left unsaved."""
    picture_facts: dict[str, Any] = field(default_factory=dict)
    """Measured facts about the picture (:func:`~pelican_tui.backends.svg.facts.picture_facts`)."""
    thinking_warning: str | None = None
    """The server ignored the thinking switch, in a sentence (:mod:`.thinking_check`)."""
    failure_hint: str | None = None
    """The next step for a failed run, when its backend suggested one."""
    failure_permanent: bool = False
    """The failure would come again for the same request (:attr:`.Failed.permanent`)."""
    thinking_ran: bool | None = None
    """Whether it thought, as the check after it found (None: cancelled before the check)."""

    def warnings(self) -> list[str]:
        """What a person should know of the run before reading its numbers: the server
        ignored its thinking switch; its stream was silent mid-answer (its tok/s counts
        that time: said of a run that finished, the one whose tok/s is shown; a failed
        run's reason says the silence that failed it)."""
        silence = silence_warning(self.timings) if self.outcome == "finished" else None
        return [warning for warning in (self.thinking_warning, silence) if warning]

    def warning(self) -> str | None:
        """:meth:`warnings` in sentences, on one line; None: none."""
        return " ".join(sentence(warning) for warning in self.warnings()) or None

    def numbers_thinking(self) -> str | None:
        """How its numbers line says its thinking now it has ended (:func:`numbers_thinking`:
        "thinking on (did not)"; "did not think" with no switch sent); None: as asked
        (cancelled before the check, or nothing arrived from a model with no switch)."""
        if self.thinking_ran is None:
            return None
        settings = self.spec.recorded_settings() | {"thinking_ran": self.thinking_ran}
        arrived = bool(self.thinking_chars or self.answer_chars)
        return numbers_thinking(settings, arrived, reasoned=self.thinking_ran)


@dataclass(eq=False)
class PeakRam:
    """The largest memory figures seen while a run streamed."""

    server_rss_bytes: int = 0
    server_model_mapped_bytes: int = 0
    """The model file's resident pages: a part of ``server_rss_bytes``, not more."""
    app_rss_bytes: int = 0
    server_note: str | None = None
    """Why the server's memory was not measured (on another machine), as sampled last."""
    samples: int = field(default=0)

    def add(self, sample: ResourceSample) -> None:
        self.samples += 1
        self.server_note = sample.server_note or self.server_note
        rss = sample.server_rss or 0
        mapped = sample.server_model_mapped or 0
        self.server_rss_bytes = max(self.server_rss_bytes, rss)
        self.server_model_mapped_bytes = max(self.server_model_mapped_bytes, mapped)
        self.app_rss_bytes = max(self.app_rss_bytes, sample.own_rss)

    def record(self) -> dict[str, Any]:
        if not self.samples:
            return {}
        out: dict[str, Any] = {"app_rss_bytes": self.app_rss_bytes}
        if self.server_rss_bytes:
            out["server_rss_bytes"] = self.server_rss_bytes
            out["server_model_mapped_bytes"] = self.server_model_mapped_bytes
        elif self.server_note:
            out["server_note"] = self.server_note
        return out


@dataclass
class RunContext:
    """What a run shares with the rest of the comparison."""

    store: SessionStore | None
    session_id: int | None
    host: Mapping[str, Any]
    renderer: SvgRenderer | None
    listener: Listener
    turn: asyncio.Lock
    """Held while generating: one run at a time per :attr:`~.sides.Side.turn_key`."""
    turn_holder: dict[str, Slot]
    """Which slot holds each turn (for "waiting for the left pane")."""
    peaks: list[PeakRam]
    """Where the engine's resource samples go while runs stream."""
    turn_sides: dict[str, Side] = field(default_factory=dict)
    """Which side holds each turn (for :meth:`~.sides.Side.turn_reason`)."""
    sample_now: Callable[[], Awaitable[None]] | None = None
    """Takes one resource sample into :attr:`peaks` (for a run that ended before any)."""


class _RunId:
    """Where a call kept for later takes the run's id: its row is written then too."""


THIS_RUN = _RunId()


class _Recorder:
    """A run's store calls, off the event loop; a failure is kept, never raised. The
    call that failed is kept too, and every later one behind it, in order, for
    :meth:`save_again` once the store works again (a disk that was full has room)."""

    def __init__(self, store: SessionStore | None) -> None:
        self.store = store
        self.problem: str | None = None
        self.start: tuple[Any, ...] | None = None
        """``start_run``'s arguments while the run has no row (its start failed)."""
        self.run_id: int | None = None
        """The row :meth:`save_again` wrote for a run whose start failed."""
        self.unsaved: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    @property
    def pending(self) -> bool:
        """Whether something of the run is not saved yet."""
        return self.start is not None or bool(self.unsaved)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.store is None:
            return None
        if self.pending:  # behind a call that failed: kept, in order (a checkpoint is not)
            if method != "update_run_progress":
                self.unsaved.append((method, args, kwargs))
            return None
        try:
            return await asyncio.to_thread(getattr(self.store, method), *args, **kwargs)
        except Exception as error:  # the store must never stop a run
            # The store's own errors say what failed ("could not save to the session
            # store …: database or disk is full"); "the session store failed: " said it twice.
            said = str(error) if isinstance(error, SessionStoreError) else None
            self.problem = self.problem or said or f"the session store failed: {error}"
            if method == "start_run":
                self.start = args
            elif method != "update_run_progress":  # the run's end saves its text
                self.unsaved.append((method, args, kwargs))
            return None

    def save_again(self) -> None:
        """Make the calls that failed, in order (blocking: run it in a thread). Raises
        the store's error if one fails again; what is left is kept for the next try."""
        assert self.store is not None
        if self.start is not None:
            self.run_id = self.store.start_run(*self.start)
            self.start = None
        while self.unsaved:
            method, args, kwargs = self.unsaved[0]
            args = tuple(self.run_id if arg is THIS_RUN else arg for arg in args)
            getattr(self.store, method)(*args, **kwargs)
            del self.unsaved[0]


def preview_svg(answer: str) -> str | None:
    """What a live preview draws of an answer still streaming: its SVG so far, closed
    up, with secrets replaced as in the stored picture (None: no SVG has begun)."""
    svg = close_partial_svg(answer)
    return None if svg is None else scrub_text(svg)


@frozen
class RunPicture:
    """A run's picture as the sandbox drew it, or why not."""

    png: bytes | None = None
    problem: str | None = None
    ink: float | None = None
    """Its ink share, measured as it was drawn (None: not measured)."""


async def render_picture(
    renderer: SvgRenderer | None,
    svg: str,
    size: tuple[int, int] = PNG_SIZE,
    *,
    ink: bool = True,
) -> RunPicture:
    """Render ``svg`` at ``size`` in the sandbox (which tries once more with balanced
    tags if it fails as written).

    With ``ink`` the renderer measures the picture's ink share as it draws it: the
    picture's facts then need no decoding of the PNG here, on the event loop,
    where every millisecond is one the model's stream waits for (a 1024 px
    picture: ~20 ms, most of it decoding; measured on the pixels drawn: ~8 ms,
    in the worker)."""
    if renderer is None:
        return RunPicture()
    try:
        result = await renderer.render(svg, size[0], size[1], timeout_s=RENDER_TIMEOUT_S, ink=ink)
        if result.ok:
            return RunPicture(result.png, None, result.ink)
    except Exception as error:  # a picture must never cost the run its record
        return RunPicture(None, f"could not render: {error}")
    return RunPicture(None, result.reason)


def _final_status(outcome: RunOutcome) -> FinalStatus:
    """A run's stored status for its accumulator's outcome (a run still "running" failed)."""
    if outcome == "finished" or outcome == "cancelled":
        return outcome
    return "failed"


def not_started(spec: RunSpec) -> RunEnded:
    """The end of a run cancelled before it started (while it waited): a cancelled
    result with nothing recorded."""
    acc = RunAccumulator()
    acc.cancel()
    return RunEnded(spec.slot, _result(spec, None, acc, PeakRam(), _Recorder(None)))


async def execute_run(spec: RunSpec, ctx: RunContext) -> RunResult:
    """Run ``spec`` and record it (see the module doc).

    Backend failures are a "failed" result, not an exception. Cancelling the
    calling task records the run as "cancelled" and re-raises; while it waits for
    its turn, nothing is recorded (it never started) and its RunEnded says so.
    """
    side = spec.side
    if ctx.turn.locked():
        holder = ctx.turn_holder.get(side.turn_key)
        who = f"the {holder} pane" if holder and holder != spec.slot else "another run"
        reason = side.turn_reason(ctx.turn_sides.get(side.turn_key))
        ctx.listener(RunQueued(spec.slot, f"waiting for {who}: {reason}"))
    try:
        await ctx.turn.acquire()
    except asyncio.CancelledError:  # while it waited: never started, nothing recorded
        ctx.listener(not_started(spec))
        raise
    ctx.turn_holder[side.turn_key] = spec.slot
    ctx.turn_sides[side.turn_key] = side
    try:
        return await _execute(spec, ctx)
    finally:
        ctx.turn_holder.pop(side.turn_key, None)
        ctx.turn_sides.pop(side.turn_key, None)
        ctx.turn.release()


async def _execute(spec: RunSpec, ctx: RunContext) -> RunResult:
    side = spec.side
    recorder = _Recorder(ctx.store)
    model_id, model_info = await side.identity(spec.request)
    run_id: int | None = None
    acc = RunAccumulator()
    peak = PeakRam()
    if ctx.session_id is not None:
        starting = asyncio.ensure_future(
            recorder.call(
                "start_run",
                ctx.session_id,
                spec.slot,
                side.kind,
                model_id,
                model_info,
                spec.recorded_settings(),
                dict(ctx.host),
            )
        )
        try:
            run_id = await asyncio.shield(starting)
        except asyncio.CancelledError:  # r again, just then: the row is written all the same
            run_id = await starting
            acc.cancel()
            if (row := _row(run_id, recorder)) is not None:  # cancelled, not left "running"
                await _record_end(recorder, row, acc, peak)
            ctx.listener(RunEnded(spec.slot, _result(spec, run_id, acc, peak, recorder)))
            raise
    ctx.listener(RunStarted(spec.slot, run_id, spec))
    row = _row(run_id, recorder)
    if side.memory_sampled:
        ctx.peaks.append(peak)
    last_checkpoint = sent = time.monotonic()

    def emit(event: GenerationEvent) -> None:
        if isinstance(event, Failed):  # a server's error text may quote a key, or be odd
            event = replace(
                event,
                reason=one_line(scrub_text(event.reason)),
                hint=None if event.hint is None else one_line(scrub_text(event.hint)),
            )
        acc.feed(event)
        ctx.listener(RunProgress(spec.slot, event, acc))

    try:
        try:
            async for event in side.backend.generate(spec.request):
                emit(event)
                now = time.monotonic()
                if isinstance(event, Finished) and event.timings.total_s is not None:
                    # The backend's clock starts when it sends the request, after its
                    # set-up (Claude's SDK imported, 0.9 s the first time; an attached
                    # server asked): the time to the picture starts there too, so it
                    # is the run's total time and the drawing after it.
                    sent = now - event.timings.total_s
                if run_id is not None and now - last_checkpoint >= CHECKPOINT_EVERY_S:
                    last_checkpoint = now
                    await recorder.call(
                        "update_run_progress", run_id, acc.thinking_text, acc.answer_text
                    )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a backend must end with Failed; record it if it did not
            emit(Failed(f"the {side.label} run stopped: {type(error).__name__}: {error}"))
        # A cancel after the stream, until the run is recorded (its peak RAM, its
        # picture, the thinking check), records it too: it left the run "running" in
        # the store, the answer's tail since the last checkpoint lost (Ctrl-C in `run`
        # while the left pane's picture was drawn). The stream's own outcome stands.
        if side.memory_sampled and not peak.samples and ctx.sample_now is not None:
            with contextlib.suppress(Exception):  # a run shorter than the sampling period
                await ctx.sample_now()
        _discard(ctx.peaks, peak)
        if acc.outcome == "running":  # a backend that ended without saying how
            emit(Failed("the stream ended without a result"))
        side.run_ended(acc.outcome, acc.failed)
        extraction = extract_svg(acc.answer_text)
        picture = RunPicture()
        if extraction.svg is not None:  # drawn as stored: a key written in it is no picture's
            picture = await render_picture(ctx.renderer, scrub_text(extraction.svg))
        thinking = check_run_thinking(spec.side, spec.request, acc)
        spec.side.switch_checked(spec.request, thinking.ignored)
        await asyncio.shield(record_thinking_check(recorder.call, row, ctx.session_id, thinking))
    except asyncio.CancelledError:
        acc.cancel()  # while streaming: "cancelled" (an ended stream keeps its outcome)
        _discard(ctx.peaks, peak)
        kept = await _whole_picture(ctx, acc)
        if row is not None:
            with contextlib.suppress(Exception):
                await _record_end(recorder, row, acc, peak, kept)
        ctx.listener(RunEnded(spec.slot, _result(spec, run_id, acc, peak, recorder, kept)))
        raise
    seconds = time.monotonic() - sent if picture.png is not None else None
    svg_note = extraction.note
    if (extraction.partial or extraction.svg is None) and acc.finished_at_token_limit:
        # The cause first: a pane shows the note's beginning on one line.
        usage = acc.finished.usage if acc.finished is not None else Usage()
        svg_note = f"{_cut_words(spec.request.max_tokens, usage, model_info)}: {svg_note}"
    end = _end_picture(acc.answer_text, extraction, picture, svg_note, seconds)
    if row is not None:
        await _record_end(recorder, row, acc, peak, end)
    result = _result(spec, run_id, acc, peak, recorder, end)
    result = replace(result, thinking_warning=thinking.warning, thinking_ran=thinking.ran)
    ctx.listener(RunEnded(spec.slot, result))
    return result


@frozen
class _EndPicture:
    """What a run's end records of its picture (:func:`_end_picture`); empty: none."""

    svg: str | None = None
    note: str | None = None
    png: bytes | None = None
    problem: str | None = None
    """Why the SVG could not be drawn."""
    facts: dict[str, Any] = field(default_factory=dict)


_NO_PICTURE = _EndPicture()
"""A run's end with no picture to record: none found, or it ended before one."""


def _end_picture(
    answer: str,
    extraction: SvgExtraction,
    picture: RunPicture,
    note: str | None,
    seconds: float | None,
) -> _EndPicture:
    """A run's picture as its end records it: the SVG found in ``answer``, the
    picture drawn of it, its facts (``seconds`` to the picture), and ``note`` with
    why it could not be drawn, if it could not."""
    facts = picture_facts(
        answer, extraction, picture.png, picture.problem, seconds, ink=picture.ink
    )
    if picture.problem:
        note = f"{note}; {picture.problem}" if note else picture.problem
    return _EndPicture(extraction.svg, note, picture.png, picture.problem, facts)


CANCELLED_AFTER_SVG = "complete before the run was cancelled"
"""Said after a cancelled run's SVG note when its SVG was whole and kept."""


async def _whole_picture(ctx: RunContext, acc: RunAccumulator) -> _EndPicture:
    """The picture of a cancelled run's answer when its SVG was whole (``</svg>``
    written, the model writing on after it): drawn and kept, not thrown away by a
    late cancel. An SVG cut off by the cancel is not drawn (a preview showed it). A
    second cancel while it is drawn keeps the SVG without its picture."""
    extraction = extract_svg(acc.answer_text)
    if extraction.svg is None or extraction.partial:
        return _EndPicture()
    picture = RunPicture()
    with contextlib.suppress(asyncio.CancelledError):
        picture = await asyncio.shield(render_picture(ctx.renderer, scrub_text(extraction.svg)))
    note = extraction.note
    if acc.outcome == "cancelled":
        note = f"{note}, {CANCELLED_AFTER_SVG}"
    return _end_picture(acc.answer_text, extraction, picture, note, None)


def _cut_words(max_tokens: int, usage: Usage, model_info: Mapping[str, Any]) -> str:
    """Where an answer that ended at a length limit was cut: the request's limit, or
    short of it, where the model's context was full (a server with a context smaller
    than the limit ends the answer there, in the same words)."""
    written, prompt, context = usage.output_tokens, usage.input_tokens, model_info.get("context")
    if written is None or written >= max_tokens:
        return f"cut at the {max_tokens}-token limit"
    if isinstance(context, int) and prompt is not None and prompt + written >= context:
        return f"cut where the {context}-token context was full"
    return f"cut by the server at {written} tokens, short of the {max_tokens}-token limit"


def _row(run_id: int | None, recorder: _Recorder) -> int | _RunId | None:
    """The run's id for its store calls: :data:`THIS_RUN` when its start could not be
    saved (its calls are then kept for :meth:`_Recorder.save_again`), None without a store."""
    return run_id if run_id is not None else THIS_RUN if recorder.start is not None else None


async def _record_end(
    recorder: _Recorder,
    run_id: int | _RunId,
    acc: RunAccumulator,
    peak: PeakRam,
    picture: _EndPicture = _NO_PICTURE,
) -> None:
    """Record how a run ended: its outcome, text and numbers, and its picture when it
    got that far. Shielded: a cancel while it is written does not lose it."""
    await asyncio.shield(
        recorder.call(
            "finish_run",
            run_id,
            status=_final_status(acc.outcome),
            thinking_text=acc.thinking_text,
            answer=acc.answer_text,
            svg=picture.svg,
            svg_note=picture.note,
            png=picture.png,
            failure_reason=acc.failed.reason if acc.failed is not None else None,
            timings=acc.timings(),
            usage=acc.usage(),
            peak_ram=peak.record(),
            picture_facts=picture.facts or None,
        )
    )


def _discard(peaks: list[PeakRam], peak: PeakRam) -> None:
    with contextlib.suppress(ValueError):
        peaks.remove(peak)


def _result(
    spec: RunSpec,
    run_id: int | None,
    acc: RunAccumulator,
    peak: PeakRam,
    recorder: _Recorder,
    picture: _EndPicture = _NO_PICTURE,
) -> RunResult:
    return RunResult(
        run_id=run_id,
        spec=spec,
        outcome=acc.outcome,
        failure_reason=acc.failed.reason if acc.failed is not None else None,
        failure_hint=acc.failed.hint if acc.failed is not None else None,
        failure_permanent=acc.failed is not None and acc.failed.permanent,
        thinking_chars=len(acc.thinking_text),
        answer_chars=len(acc.answer_text),
        timings=acc.timings(),
        usage=acc.usage(),
        peak_ram=peak.record(),
        svg_found=picture.svg is not None,
        svg_note=picture.note,
        png=picture.png,
        render_problem=picture.problem,
        store_problem=recorder.problem,
        save_again=recorder.save_again if recorder.pending else None,
        picture_facts=picture.facts,
    )
