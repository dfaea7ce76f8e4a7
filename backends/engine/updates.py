"""What the engine tells a front end while a comparison runs.

A front end passes one listener to
:meth:`~.comparison.ComparisonEngine.run_comparison` and gets these small
frozen dataclasses, in order, on the event loop: the TUI draws them, ``pelican-tui
run`` prints them. They carry facts, never decisions for the front end to make.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pelican_tui.backends.events import GenerationEvent
from pelican_tui.backends.frozen import frozen

if TYPE_CHECKING:
    from pelican_tui.backends.engine.record import RunAccumulator
    from pelican_tui.backends.engine.run import RunResult, RunSpec
    from pelican_tui.backends.store.records import Slot


@frozen
class SessionStarted:
    """The comparison has a session in the store (new, or the one it adds to)."""

    session_id: int
    prompt: str


@frozen
class SameRequest:
    """Runs of the comparison ask one side for thinking on and off, and the side has no
    thinking switch: they send the same request, so they are not a thinking comparison.
    Said once, before they run."""

    session_id: int | None
    """The session the runs go to (None: not saved)."""
    slots: tuple[Slot, ...]
    note: str
    """One sentence for a person (:func:`~.thinking_check.same_request_note`)."""


@frozen
class RunRefused:
    """A slot's side cannot run now: no request is sent. In a comparison that has a
    session (another slot runs), the slot is recorded there as a run that failed, its
    reason "not run: …" (:meth:`~.comparison.ComparisonEngine.run_comparison`); a slot
    a batch did not send (:attr:`~.comparison.ComparisonResult.not_sent`) is not."""

    slot: Slot
    reason: str
    """Why, in one line: what is missing, or the side's status message."""
    hint: str | None = None
    """The next step, when the side's status suggests one."""


@frozen
class RefusalRecorded:
    """A :class:`RunRefused` slot is in the session now, as a run that failed ("not run:
    …"): a front end shows it as that run (the pane's run, which takes no verdict, as
    when the session is opened again)."""

    slot: Slot
    run_id: int


@frozen
class StoreProblem:
    """The session store failed; the runs go on, but may not be saved. Or, ``saved``,
    a notice from opening it (it was damaged, moved aside and made anew): they are."""

    message: str
    """One line: a notice from opening the store, or why this comparison is not saved."""
    saved: bool = False
    """A notice from opening the store: the comparison is saved (in the new store)."""


@frozen
class RunQueued:
    """The run waits: for its turn on a server another run is using, or for its
    server to answer the check before it (one that takes a while)."""

    slot: Slot
    reason: str
    """Whom it waits for and why: "waiting for the left pane: …"."""


@frozen
class RunStarted:
    """The run is recorded and its request sent."""

    slot: Slot
    run_id: int | None
    """The run's id in the store; None when it is not recorded (no store, or it failed)."""
    spec: RunSpec


@frozen
class RunProgress:
    """One generation event of a run, with everything streamed so far."""

    slot: Slot
    event: GenerationEvent
    acc: RunAccumulator
    """The run's accumulator, already fed ``event`` (one object, updated in place)."""


@frozen
class RunEnded:
    """The run is over and recorded (or recorded as far as the store allowed)."""

    slot: Slot
    result: RunResult


Update = (
    SessionStarted
    | RunRefused
    | RefusalRecorded
    | StoreProblem
    | RunQueued
    | RunStarted
    | RunProgress
    | RunEnded
)
Listener = Callable[[Any], None]
"""Called with every :data:`Update`."""
