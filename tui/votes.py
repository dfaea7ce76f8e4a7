"""Two pictures to vote on, as the front end shows them: A and B, hidden or revealed.

A :class:`VotePair` is what a vote widget draws (the pictures, neutral facts)
and what it reveals after the vote (who drew each picture, and the numbers).
The store records the vote (:meth:`SessionStore.add_vote`); this module only
words it and decides the order of the two pictures on screen
(:func:`shown_as`): in blind mode the order is random, so neither the pane
nor the order in which runs were made gives a model away.

Plain data, no Textual: the main screen, the gallery and the pair screen all
use it.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.text import ink_percent, plural, svg_size

if TYPE_CHECKING:
    from pelican_tui.backends.engine.batch import BatchStep
    from pelican_tui.backends.store.records import RunHeader, Vote, Winner
    from pelican_tui.backends.store.sessions import SessionStore

WINNER_WORDS: dict[str, str] = {
    "a": "A is better",
    "b": "B is better",
    "tie": "a tie",
    "both_bad": "both are bad",
}
"""How a vote reads in a sentence ("Vote saved: A is better.")."""

FactFilter = Literal["all", "rendered", "not_empty"]
FACT_FILTERS: tuple[FactFilter, ...] = ("all", "rendered", "not_empty")
FILTER_WORDS: dict[FactFilter, str] = {
    "all": "all pictures",
    "rendered": "only pictures that render",
    "not_empty": "hide empty pictures",
}
FILTER_SHORT_WORDS: dict[FactFilter, str] = {
    "all": "all pictures",
    "rendered": "rendered only",
    "not_empty": "non-empty only",
}
"""The filter in fewer words, where :data:`FILTER_WORDS` leave no room (a header at 80
columns)."""
FILTER_FEWEST_WORDS: dict[FactFilter, str] = {
    "all": "all pictures",
    "rendered": "rendered",
    "not_empty": "non-empty",
}
"""The filter in the fewest words, where the gallery's header names every mode (a filter,
blind mode, a mark) at 80 columns."""


@frozen
class Contender:
    """One picture of a pair: what may be shown before the vote, and what is revealed after."""

    run_id: int | None
    png: bytes | None
    note: str | None
    """Why there is no picture (or a note on it); in blind mode it says nothing about the
    model (:func:`blind_note`)."""
    facts: str
    """Measured facts about the picture, without times (times can give a model away)."""
    who: str
    """Who drew it: its configuration as the gallery labels it, and where it was
    ("claude-opus-4-7 · thinking on (did not), in pane 1"; "… (session #12)")."""
    numbers: str
    """Speed, tokens, time to the picture (revealed with ``who``)."""
    session_id: int | None = None
    pane: int = 0
    """The main screen's pane that drew it (1, 2); 0 elsewhere (the gallery)."""


@frozen
class VotePair:
    """Two pictures shown as A and B."""

    a: Contender
    b: Contender
    label: str = ""
    """What the pair is ("sample 2/4"); neutral."""
    step: BatchStep | None = None
    """The step of a prompt set's run the pair is of (its prompt, where in the set), or
    of a pair kept from last time (its own prompt): the prompt box shows its prompt
    while the pair waits. None for the prompt in the box."""

    @property
    def votable(self) -> bool:
        """Both pictures come from stored runs (a vote needs their ids)."""
        return self.a.run_id is not None and self.b.run_id is not None

    def revealed(self, winner: str | None = None) -> str:
        """One sentence: who was A and who was B (and how the vote went)."""
        said = f"You voted: {WINNER_WORDS[winner]}. " if winner else ""
        return f"{said}A was {self.a.who}; B was {self.b.who}."


PANE_WINNER_WORDS = {"tie": "a tie", "both_bad": "both bad"}
"""A vote that names no pane, as :func:`series_revealed` says it."""


def series_revealed(votes: Sequence[tuple[VotePair, str, str]]) -> str:
    """Who drew which, said once for pairs voted on blind in a row: ``votes`` are each
    pair, its winner and what the ratings say of it (" (not rated: …)" or "").

    One pair: :meth:`VotePair.revealed`. Pairs of the same two panes drawn by the same
    two configurations (the samples of a run): the panes named once, then each pair's
    vote in panes ("sample 1/2: pane 2 better (A was pane 1)"). Else each pair in full.
    """
    if len(votes) == 1:
        pair, winner, rated = votes[0]
        label = f"{pair.label}: " if pair.label else ""
        return f"{label}{pair.revealed(winner)}{rated}"
    panes = {c.pane: c.who for pair, _, _ in votes for c in (pair.a, pair.b)}
    one_each = all({p.a.pane, p.b.pane} == {1, 2} for p, _, _ in votes)
    if not one_each or len(set(panes.values())) != 2:
        return "\n".join(series_revealed([vote]) for vote in votes)
    names = "; ".join(
        f"pane {n} was {panes[n].removesuffix(f', in pane {n}')}" for n in sorted(panes)
    )
    lines = [names[0].upper() + names[1:] + "."]
    for pair, winner, _ in votes:
        chosen = {"a": pair.a, "b": pair.b}.get(winner)
        words = f"pane {chosen.pane} better" if chosen else PANE_WINNER_WORDS[winner]
        label = f"{pair.label}: " if pair.label else ""
        lines.append(f"{label}{words} (A was pane {pair.a.pane}).")
    lines.extend(dict.fromkeys(rated.strip() for _, _, rated in votes if rated))
    return "\n".join(lines)


def shown_as(
    first: Contender, second: Contender, *, blind: bool, rng: random.Random | None = None
) -> tuple[Contender, Contender]:
    """The order on screen: in blind mode a coin toss, else as given."""
    if blind and (rng or random).random() < 0.5:
        return second, first
    return first, second


def facts_line(facts: Mapping[str, Any] | None, *, blind: bool = False) -> str:
    """A picture's measured facts in a few words: "ink 23% · 34 elements · 3.1 KB · 12.4 s".

    ``blind``: only what the picture shows, nothing of how it was made: no time (a
    fast one is the small local model) and not "truncated" (the answer ran out of
    tokens: the local model's smaller limit, mostly). Empty without facts (runs
    stored before facts were measured).
    """
    if not facts:
        return ""
    words: list[str] = []
    if facts.get("renders"):
        if not isinstance(facts.get("ink"), int | float) and not facts.get("empty"):
            words.append("renders")  # else the ink (or "empty") says it was drawn
    elif facts.get("not_svg"):
        words.append("no SVG")
    elif facts.get("render_failed"):
        words.append("render failed")
    else:
        words.append("no picture")
    if facts.get("truncated") and not blind:
        words.append("truncated")
    if facts.get("empty"):
        words.append("empty")
    elif isinstance(ink := facts.get("ink"), int | float):
        words.append(f"ink {ink_percent(ink)}")
    if elements := facts.get("elements"):
        words.append(f"{plural(elements, 'element')}")
    if size := facts.get("svg_bytes"):
        words.append(svg_size(size))
    seconds = facts.get("seconds_to_picture")
    if not blind and isinstance(seconds, int | float):
        words.append(f"{seconds:.1f} s")
    return " · ".join(words)


_SIDE_NUMBERS = (
    (re.compile(r"cut at the \d+-token limit"), "cut at its token limit"),
    (re.compile(r"cut where the \d+-token context was full"), "cut where its context was full"),
    (
        re.compile(r"cut by the server at \d+ tokens, short of the \d+-token limit"),
        "cut by the server short of its token limit",
    ),
)
"""Where a run's note says the numbers of its side (the engine's ``_cut_words``), and
how blind mode says it instead: only the local stand-in has a 1024-token limit."""


def blind_note(note: str | None) -> str | None:
    """A picture's note as blind mode shows it: what happened to the picture, without
    numbers of the side that drew it (its token limit, its context)."""
    if note is None:
        return None
    for numbers, words in _SIDE_NUMBERS:
        note = numbers.sub(words, note)
    return note


def passes(facts: Mapping[str, Any] | None, wanted: FactFilter) -> bool:
    """Whether a picture with these facts is shown under the filter ``wanted``.

    Without measured facts a picture counts as rendered when it has a PNG (the
    caller passes ``{"renders": True}`` then).
    """
    facts = facts or {}
    if wanted == "rendered":
        return bool(facts.get("renders"))
    if wanted == "not_empty":
        return bool(facts.get("renders")) and not facts.get("empty")
    return True


def blind_vote_stays(earlier_blind: bool, was: str, *, blind: bool) -> str | None:
    """Why a vote on two pictures is not stored, in a sentence: their latest vote
    (``was``, in the screen's words: "left is better", "A is better") was cast blind
    (``earlier_blind``), and this one is cast with the models shown (not ``blind``): it
    would replace the blind one, and the ratings would count it as cast blind. None:
    it may replace it. The main screen and the pair screen refuse alike."""
    if not earlier_blind or blind:
        return None
    return (f"These two pictures were voted on blind ({was}): that vote stays, as a vote "
            "cast with the models shown cannot replace it.")  # fmt: skip


def no_verdict(headers: Sequence[tuple[str, RunHeader | None]]) -> str | None:
    """Why two runs take no vote, in a sentence: a run that did not finish, or drew no
    picture, is an empty pane, no picture to prefer (:attr:`.RunHeader.is_a_picture`:
    a blind run makes no pair of it, and the ratings leave a vote on it out). The main
    screen and the pair screen refuse alike. ``headers``: each run with whose it is
    ("the left pane's", "A's"); None for a run not known. None: both are pictures."""
    from pelican_tui.backends.export.facts import NO_PICTURE_WORDS, UNFINISHED_WORDS

    words = []
    for whose, header in headers:
        if header is not None and not header.is_a_picture:
            how = (
                NO_PICTURE_WORDS
                if header.status == "finished"
                else UNFINISHED_WORDS.get(header.status, f"the run is {header.status}")
            )
            words.append(how.replace("the run", f"{whose} run", 1))
    if not words:
        return None
    return f"No verdict: {' and '.join(words)}; a verdict compares two finished pictures."


async def store_vote(store: SessionStore, pair: VotePair, winner: Winner, *, blind: bool) -> Vote:
    """Record the vote on ``pair`` (A's run first), off the event loop."""
    if pair.a.run_id is None or pair.b.run_id is None:
        raise ValueError("both pictures need a stored run to be voted on")
    return await asyncio.to_thread(
        store.add_vote, pair.a.run_id, pair.b.run_id, winner, blind=blind
    )


def unrated_note(store: SessionStore, a: int | None, b: int | None) -> str:
    """ " (not rated: …)" when the ratings leave a vote on these runs out, else "" (the
    main screen, the blind reveal and the pair screen say it alike; called after the
    vote is stored, so it never fails)."""
    from pelican_tui.backends.ratings.leaderboard import unrated

    if a is None or b is None:
        return ""
    try:
        headers = store.run_headers([a, b])
    except Exception:  # the vote is stored: a note the store cannot give is left out
        return ""
    reason = unrated(headers[a], headers[b]) if len(headers) == 2 else None
    return f" (not rated: {reason})" if reason else ""


async def stored_runs(store: SessionStore, run_ids: Iterable[int | None]) -> set[int] | None:
    """Which of ``run_ids`` the store still has (a session deleted from outside, by
    ``pelican-tui sessions delete`` or another window, takes its runs with it); None
    when the store failed: nothing is known to be gone."""
    ids = [run for run in run_ids if run is not None]
    try:
        return set(await asyncio.to_thread(store.run_headers, ids))
    except Exception:
        return None
