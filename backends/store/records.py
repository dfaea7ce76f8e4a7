"""What the session store holds and what it raises: plain records, no SQLite.

:class:`Session` (one prompt) holds :class:`Run` s (one generation each);
:class:`SessionSummary` and :class:`RunSummary` are what a session list shows;
:class:`Vote` is one judgement of two runs (the user's, or a judge model's);
:class:`RunHeader` is who made a run and how, without its texts or picture.
The store (:mod:`.sessions`) writes and reads them; exports and front ends
only read them. :func:`scrub_session` is a copy fit to leave the machine.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from rich.cells import cell_len

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.secrets import Scrubber
from pelican_tui.backends.text import first_line, shorten, shorten_middle, shown_line

Slot = Literal["left", "right"]
BackendKind = Literal["local", "openai", "claude"]
RunStatus = Literal["running", "finished", "failed", "cancelled", "interrupted"]
FinalStatus = Literal["finished", "failed", "cancelled"]
Verdict = Literal["left", "right", "tie"]
"""What :meth:`~.sessions.SessionStore.set_verdict` stores (the column's values)."""
SessionVerdict = Literal["left", "right", "tie", "both_bad"]
"""A session's verdict as read: your latest vote on two of its runs, or the stored one."""
Winner = Literal["a", "b", "tie", "both_bad"]
"""A vote's outcome: the run shown as A is better, B is, they are as good, both are bad."""

SLOTS: tuple[Slot, ...] = get_args(Slot)
BACKENDS: tuple[BackendKind, ...] = get_args(BackendKind)
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
WINNERS: tuple[Winner, ...] = get_args(Winner)
FINAL_STATUSES: tuple[FinalStatus, ...] = get_args(FinalStatus)

JSONDict = dict[str, Any]


def json_dict(text: str | None) -> JSONDict:
    """A dict column as stored (JSON text): {} for none; a value that is not a
    dict (written by hand, or by a much older pelican-tui) as ``{"value": ...}``.
    Raises :class:`SessionStoreError` for text that is not JSON."""
    try:
        value = json.loads(text) if text else {}
    except (TypeError, ValueError):
        raise SessionStoreDamaged(text, "JSON") from None
    return value if isinstance(value, dict) else {"value": value}


def stored_time(text: str) -> datetime:
    """A time column as stored (ISO 8601). Raises :class:`SessionStoreError` for text
    that is not one."""
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise SessionStoreDamaged(text, "a time") from None


def recorded_number(value: Any) -> float | None:
    """A number from a run's record (its timings or usage), or None for anything else
    (missing, text, a bool: JSON from an older or newer pelican-tui)."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else None


def recorded_numbers(
    timings: Mapping[str, Any], usage: Mapping[str, Any]
) -> tuple[int | None, float | None, float | None]:
    """A recorded run's tokens written (the server's count, else the API's), tokens/s
    and seconds to the first token, each None where the record does not say."""
    tokens = recorded_number(timings.get("generated_tokens")) or recorded_number(
        usage.get("output_tokens")
    )
    return (
        None if tokens is None else int(tokens),
        recorded_number(timings.get("generation_tokens_per_s")),
        recorded_number(timings.get("time_to_first_token_s")),
    )


def prompt_from_cache(timings: Mapping[str, Any], usage: Mapping[str, Any]) -> int:
    """How many of a recorded run's prompt tokens the server took from its prompt
    cache instead of reading them (0: it read them all, or the record does not say):
    the whole prompt (``usage.input_tokens``) less those it evaluated
    (``timings.prompt_tokens``). Such a run's time to the first token does not
    compare with one that read its whole prompt."""
    evaluated = recorded_number(timings.get("prompt_tokens"))
    whole = recorded_number(usage.get("input_tokens"))
    if evaluated is None or whole is None or whole <= evaluated:
        return 0
    return int(whole) - int(evaluated)


def run_numbers(timings: Mapping[str, Any], usage: Mapping[str, Any]) -> str:
    """A recorded run's speed in a few words: "38.2 tok/s · 2140 tok · TTFT 0.41s"."""
    tokens, rate, first = recorded_numbers(timings, usage)
    words = []
    if rate is not None:
        words.append(f"{rate:.1f} tok/s")
    if tokens:
        words.append(f"{tokens} tok")
    if first is not None:
        words.append(f"TTFT {first:.2f}s")
    return " · ".join(words)


# --------------------------------------------------------------------------- data model


@frozen
class Run:
    """One generation by one backend, as stored."""

    id: int
    session_id: int
    slot: Slot
    backend: BackendKind
    model_id: str
    """The GGUF file name, the attached server's model name, or the Claude model id."""
    model_info: JSONDict
    settings: JSONDict
    thinking_text: str
    answer: str
    svg: str | None
    svg_note: str | None
    """Why there is no SVG, or how it was chosen ("2 SVGs, kept the last")."""
    png: bytes | None = field(repr=False)
    status: RunStatus
    failure_reason: str | None
    timings: JSONDict
    usage: JSONDict
    peak_ram: JSONDict
    host: JSONDict
    started_at: datetime
    finished_at: datetime | None
    picture_facts: JSONDict = field(default_factory=dict)
    """Measured facts about the picture (schema version 3), from
    :mod:`pelican_tui.backends.svg.facts`; {} for runs stored before."""


@frozen
class Session:
    """One prompt and the runs made for it, in :func:`pane_order` (left then right)."""

    id: int
    created_at: datetime
    prompt: str
    title: str
    verdict: SessionVerdict | None
    """Your latest vote on its left and right runs (``set_verdict``'s, for sessions
    voted on before votes were stored)."""
    runs: tuple[Run, ...] = ()
    verdict_note: str | None = None
    """Free text next to the verdict (schema version 2)."""
    prompt_set: str | None = None
    """The name of the prompt set the prompt came from; None for a prompt typed freely."""
    private: bool = False
    """From a private prompt set: never written to exports or pages (schema version 3)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", tuple(sorted(self.runs, key=pane_order)))

    def runs_in(self, slot: Slot) -> tuple[Run, ...]:
        return tuple(run for run in self.runs if run.slot == slot)


@frozen
class RunSummary:
    """What a session list shows about one run (no text, no pictures)."""

    id: int
    slot: Slot
    backend: BackendKind
    model_id: str
    status: RunStatus
    has_svg: bool


@frozen
class SessionSummary:
    """One line of the session list."""

    id: int
    created_at: datetime
    prompt: str
    title: str
    verdict: SessionVerdict | None
    """As :attr:`Session.verdict`."""
    runs: tuple[RunSummary, ...] = ()
    """In :func:`pane_order`, as :attr:`Session.runs`."""
    prompt_set: str | None = None
    private: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", tuple(sorted(self.runs, key=pane_order)))

    @property
    def listed_as(self) -> str:
        """How the lists name it (the sessions browser, ``sessions list``): its title,
        or its prompt's first line where the title is a cut-down copy of that."""
        title = self.title.strip()
        if title and not title.endswith("…"):
            return title
        return first_line(self.prompt) or title or "untitled"

    def models_line(self, width: int | None = None) -> str:
        """The models its panes ran, as the lists name them (the sessions browser,
        ``sessions list`` on a terminal): "A vs B", the left pane's first; "A (both)"
        where both ran the one model; "A x2" for a pane that ran it twice. In ``width``
        cells (None: whole), each name cut in the middle, its quantization kept."""
        ran: list[tuple[str, str]] = []
        for slot in SLOTS:
            runs = [run for run in self.runs if run.slot == slot]
            if runs:
                models = dict.fromkeys(listed_model(run.model_id) for run in runs)
                ran.append((", ".join(models), f" x{len(runs)}" if len(runs) > 1 else ""))
        if not ran:
            return "no runs"
        both = " (both)" if len(ran) > 1 and len(set(ran)) == 1 else ""
        ran = list(dict.fromkeys(ran))

        def line(cells: list[int]) -> str:
            cuts = zip(ran, cells, strict=True)
            names = [_cut_model(name, room) + count for (name, count), room in cuts]
            return " vs ".join(names) + both

        whole = line([1 << 30] * len(ran))
        if width is None or cell_len(whole) <= width:
            return whole
        room = width - cell_len(" vs ".join(count for _, count in ran) + both)  # the names'
        return shorten(line(_shares([cell_len(name) for name, _ in ran], room)), width)


def _cut_model(name: str, cells: int) -> str:
    """A model's name in ``cells``: cut in the middle, its quantization kept, where that
    leaves enough of its start to know it by; else at its end ("SmolLM…")."""
    return shorten_middle(name, cells) if cells >= _MIDDLE_CUT_FROM else shorten(name, cells)


_MIDDLE_CUT_FROM = 14
"""Below so many cells a name's start says more than its start and end together."""


def _shares(wanted: list[int], room: int) -> list[int]:
    """``room`` cells shared among names that want ``wanted`` each: a name that wants
    less than an even share has what it wants, the rest share what is left."""
    shares = [0] * len(wanted)
    left = sorted(range(len(wanted)), key=lambda at: wanted[at])
    while left:
        fair = max(room // len(left), 1)
        at = left.pop(0)
        shares[at] = min(wanted[at], fair) if left else max(room, 1)
        room -= shares[at]
    return shares


def listed_model(model_id: str) -> str:
    """A run's model as the lists name it: printable, no secret, without ``.gguf``."""
    return shown_line(model_id, 200).removesuffix(".gguf")


def pane_order(run: Run | RunSummary) -> tuple[int, int]:
    """Where a run comes among its session's: the left pane's runs before the right's,
    each pane's in the order they started (run id). A session's runs are kept in this
    order, so the run card, index.html, session.json and the lists all read left then
    right, even when the right run started (or failed) first."""
    slot = SLOTS.index(run.slot) if run.slot in SLOTS else len(SLOTS)
    return (slot, run.id)


@frozen
class RunHeader:
    """Who made a run and how, with its prompt: what ratings need, without texts or picture."""

    id: int
    session_id: int
    prompt: str
    private: bool
    """Its prompt is private: a session of it came from a private prompt set (this
    run's, or another of the same text typed by hand)."""
    slot: Slot
    backend: BackendKind
    model_id: str
    model_info: JSONDict
    settings: JSONDict
    status: RunStatus
    has_picture: bool
    """A picture of it is stored (its PNG): a finished run whose answer had no SVG, or
    one that did not render, has none."""
    cut_to_nothing: bool = False
    """Its picture is an SVG cut off before its end, closed up, that draws nothing
    (:func:`cut_to_nothing`)."""

    @property
    def is_a_picture(self) -> bool:
        """Whether a vote can prefer it: it finished, with a picture. A run that did not
        finish, or drew no picture (none stored, or only the empty closing of an SVG cut
        at its token limit: :func:`cut_to_nothing`), is an empty pane: the main screen's
        and the pair screen's vote keys refuse it, a blind sample makes no pair of it,
        and the ratings leave a vote on it out
        (:func:`~pelican_tui.backends.ratings.leaderboard.unrated`)."""
        return is_a_picture(self.status, has_picture=self.has_picture, cut=self.cut_to_nothing)


def cut_to_nothing(picture_facts: Mapping[str, Any]) -> bool:
    """Whether a picture is no more than the closing of an SVG cut off before its end
    (at the token limit, closed up to be drawn): its facts say ``truncated`` and
    ``empty`` (almost no ink). What it shows is where the cut fell, not what the model
    drew: the run drew no picture. A whole SVG that draws a blank is a picture (a bad
    one: a vote may prefer the other)."""
    return bool(picture_facts.get("truncated")) and bool(picture_facts.get("empty"))


def is_a_picture(status: str, *, has_picture: bool, cut: bool) -> bool:
    """The one rule of :attr:`RunHeader.is_a_picture`, for a run read whole or one just
    made: it finished, with a picture stored, not one cut to nothing."""
    return status == "finished" and has_picture and not cut


@frozen
class Vote:
    """One judgement of two runs, as stored (schema version 3).

    ``run_a`` was shown as A and ``run_b`` as B. ``judge`` is None for the
    user's own vote, else the judge model's id; judges' votes are never mixed
    into the user's ratings.
    """

    id: int
    run_a: int
    run_b: int
    winner: Winner
    blind: bool
    """The models were hidden until the vote was cast."""
    judge: str | None
    reason: str | None
    created_at: datetime


# --------------------------------------------------------------------------- errors


class SessionStoreError(Exception):
    """The session store can't be used; the message says why and what to do."""


class SessionStoreTooNew(SessionStoreError):
    """The file was written by a newer pelican-tui; it is left untouched."""

    def __init__(self, path: Path, found: int, known: int) -> None:
        self.path = path
        self.found = found
        self.known = known
        super().__init__(
            f"the session store {path} has schema version {found}, newer than this "
            f"pelican-tui understands ({known}); upgrade pelican-tui, or set PELICAN_HOME "
            "to use another folder. The file was not changed."
        )


class SessionStoreDamaged(SessionStoreError):
    """A value in the store is not what pelican-tui wrote (the file was changed by hand
    or by another program); what can be read of the rest stays readable."""

    def __init__(self, value: object, expected: str) -> None:
        from pelican_tui.backends.text import shown_line

        shown = shown_line(repr(value), 40)
        super().__init__(
            f"the session store holds a damaged value ({shown} is not {expected}); it was "
            "changed outside pelican-tui"
        )


class SessionStoreMissing(SessionStoreError):
    """Opened with ``create=False`` and there is no store yet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"there is no session store yet at {path}")


class SessionNotFound(SessionStoreError, LookupError):
    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        super().__init__(f"no session with id {session_id}")


class RunNotFound(SessionStoreError, LookupError):
    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(f"no run with id {run_id}")


# --------------------------------------------------------------------------- leaving the machine


_SCRUBBED_RUN_FIELDS = (
    "model_id",
    "model_info",
    "settings",
    "thinking_text",
    "answer",
    "svg",
    "svg_note",
    "failure_reason",
    "timings",
    "usage",
    "peak_ram",
    "host",
    "picture_facts",
)
"""The texts and dicts of a :class:`Run` that a model, a server or the machine wrote
(its slot, backend and status are pelican-tui's own words)."""
_SCRUBBED_SESSION_FIELDS = ("prompt", "title", "verdict_note")
"""The texts of a :class:`Session` a user or a model wrote."""
_Record = TypeVar("_Record", Run, Session)


def scrub_session(session: Session) -> Session:
    """A copy of ``session`` with every text and dict field passed through the secret policy
    (:mod:`pelican_tui.backends.secrets`).

    Exports use it, so a secret stored before it was known (a store written by
    an older pelican-tui, a key set since) still never leaves the machine.
    """
    scrubber = Scrubber()

    def scrubbed(record: _Record, names: tuple[str, ...]) -> _Record:
        # Scrubber.data passes strings through Scrubber.text and None as it is.
        return dataclasses.replace(
            record, **{name: scrubber.data(getattr(record, name)) for name in names}
        )

    runs = tuple(scrubbed(run, _SCRUBBED_RUN_FIELDS) for run in session.runs)
    return dataclasses.replace(scrubbed(session, _SCRUBBED_SESSION_FIELDS), runs=runs)
