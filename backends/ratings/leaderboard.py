"""The leaderboard: every configuration that was voted on, rated across all sessions.

:func:`leaderboard` reads the votes from the session store (the user's, or with
``judge`` the judges' — never both at once), turns each into a comparison of
the two runs' configurations (:mod:`.configuration`) and fits them
(:mod:`.bradley_terry`). "tie" and "both_bad" both count as a tie in the fit;
rows report them apart. A vote between two runs of one configuration says
nothing about ratings and is left out (counted in
:attr:`Leaderboard.same_configuration`).

A configuration is *ranked* once it took part in at least ``min_votes``
counted votes (:data:`DEFAULT_MIN_VOTES`); the others are listed after the
ranked ones, with their counts, but no rank. They are still part of the fit.
Ratings that are shown alike (to the whole point) share a rank, and the next
rank counts them all: "1, 1, 3" (:attr:`Row.rank`, which every front end shows).
An interval the votes cannot give is None (:data:`~.bradley_terry.NARROWEST_INTERVAL`).

For a judge's leaderboard, :attr:`Leaderboard.agreement` says how often the
judge agreed with the user on the pairs of runs both voted on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.ratings.bradley_terry import (
    DEFAULT_RESAMPLES,
    LEVEL,
    Comparison,
    fit,
)
from pelican_tui.backends.ratings.configuration import (
    Configuration,
    configuration_of,
    told_apart,
)
from pelican_tui.backends.store.records import RunHeader, Vote
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import plural

DEFAULT_MIN_VOTES = 5
"""Votes a configuration needs before it is ranked. Below that, its interval
is too wide for a rank to mean anything (with 5 votes it still spans hundreds
of points); it is listed, unranked, with its counts."""

UNKNOWN = "unknown"
"""What stands in a row's interval cell when the interval is not known (every front end)."""
UNKNOWN_INTERVAL = (
    "the votes cannot give one (every resample of them gave the same rating: one vote, or only"
    " ever one outcome)"
)
"""Why a row's interval is not known (:attr:`Row.low` None), in the words every
front end shows beside it."""

_SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}


@frozen
class Row:
    """One configuration on the leaderboard. Counts are of counted votes."""

    configuration: Configuration
    votes: int
    wins: int
    losses: int
    ties: int
    """Votes that said "tie"."""
    both_bad: int
    """Votes that said "both bad" (a tie in the fit)."""
    rating: float
    """Elo scale: 1000 is the fit's reference, +400 is 10-to-1 odds."""
    low: float | None
    high: float | None
    """The bootstrap interval (:data:`~.bradley_terry.LEVEL`) of the rating; None when
    it is not known: every resample of the votes gave the same rating (one vote, or
    only ever one outcome of one pair), see :data:`~.bradley_terry.NARROWEST_INTERVAL`."""
    ranked: bool
    """At least ``min_votes`` votes: it has a rank."""
    rank: int | None = None
    """1 for the best rating, and so on; ratings that are shown alike (rounded to the
    whole point) share one, the next counting them all ("1, 1, 3"). None when not ranked."""

    @property
    def interval_known(self) -> bool:
        return self.low is not None and self.high is not None

    def record(self, *, name_both_bad: bool = True, short: bool = False) -> str:
        """Won, lost and tied, "both bad" counted as a tie (as the fit counts it) and,
        unless told not to (a narrow column that says so above it), named after: "3/1/2
        (1 both bad)"; ``short``, in fewer cells for a narrow terminal: "3/1/2 (1 bad)"."""
        record = f"{self.wins}/{self.losses}/{self.ties + self.both_bad}"
        if name_both_bad and self.both_bad:
            record += f" ({self.both_bad} bad)" if short else f" ({self.both_bad} both bad)"
        return record


@frozen
class Agreement:
    """How often the judge agreed with the user, on pairs of runs both voted on.

    A pair's outcome is the run that won, or "neither" for a tie or both bad;
    where someone voted on a pair more than once, their latest vote counts."""

    pairs: int
    agreed: int

    @property
    def rate(self) -> float | None:
        """``agreed / pairs``; None when there is no shared pair."""
        return self.agreed / self.pairs if self.pairs else None


@frozen
class Leaderboard:
    """Ratings of every configuration in the votes it was made from."""

    prompt: str | None
    """The prompt the votes were limited to; None: every prompt."""
    judge: bool
    """Made from the judges' votes (True) or the user's own (False)."""
    min_votes: int
    rows: tuple[Row, ...]
    """Ranked rows by rating, best first; then unranked ones by votes, most first."""
    counted: int
    """Votes that went into the fit."""
    same_configuration: int
    """Votes left out: both runs had one configuration."""
    resamples: int
    level: float = LEVEL
    agreement: Agreement | None = None
    """For a judge's leaderboard: agreement with the user (None for the user's own)."""

    @property
    def ranked(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.ranked)

    @property
    def unranked(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if not row.ranked)

    def overlapping_ranks(self) -> list[tuple[int, int]]:
        """The ranks of each two ranked rows, one after the next, whose intervals
        overlap: their order is the fit's best guess, which more votes may turn round.
        ``[(1, 2)]``: whether the best is better than the second is not yet known.
        Rows that share a rank are shown as equal already and add nothing."""
        out = []
        for above, below in zip(self.ranked, self.ranked[1:], strict=False):
            if above.rank is None or below.rank is None or above.rank == below.rank:
                continue
            if above.low is not None and below.high is not None and above.low <= below.high:
                out.append((above.rank, below.rank))
        return out

    @property
    def none_yet(self) -> str:
        """How a board with no rows begins: no votes at all, or none that rates."""
        return "No vote rated yet" if self.same_configuration else "No votes yet"

    def caveats(self) -> list[str]:
        """What a reader should know beyond the rows, a phrase each (no capital, no
        full stop), in the words every front end shows: an interval not known, ranks
        whose order the votes do not yet settle, votes left out."""
        out = []
        if any(not row.interval_known for row in self.ranked):
            out.append(f"interval unknown: {UNKNOWN_INTERVAL}")
        overlaps = [f"{above} and {below}" for above, below in self.overlapping_ranks()]
        if overlaps:
            pairs = ", ".join(overlaps[:-1]) + ", " if len(overlaps) > 1 else ""
            out.append(
                f"the votes do not yet settle the order of ranks {pairs}{overlaps[-1]}"
                " (their intervals overlap)"
            )
        if self.same_configuration:
            votes = plural(self.same_configuration, "vote")
            out.append(
                f"{votes} between two runs of one configuration left out (they say nothing"
                " about ratings)"
            )
        return out


UNFINISHED = "a run did not finish"
NO_PICTURE = "a run drew no picture"
NEITHER_PICTURE = "neither run drew a picture"
NEITHER_FINISHED = "neither run finished"
SAME_CONFIGURATION = "both pictures are of one configuration"


def unrated(a: RunHeader, b: RunHeader) -> str | None:
    """Why a vote on runs ``a`` and ``b`` is left out of the ratings, or None when it
    counts: a run that did not finish, or drew no picture (its empty pane is no picture
    to prefer: :attr:`.RunHeader.is_a_picture`), or two runs of one configuration
    (nothing between them to rate)."""
    if not (a.is_a_picture and b.is_a_picture):
        finished = a.status == b.status == "finished"
        if not (a.is_a_picture or b.is_a_picture):  # neither: said so, not "a run"
            if finished:
                return NEITHER_PICTURE
            if "finished" not in (a.status, b.status):
                return NEITHER_FINISHED
        return NO_PICTURE if finished else UNFINISHED
    if configuration_of(a).key == configuration_of(b).key:
        return SAME_CONFIGURATION
    return None


def leaderboard(
    store: SessionStore,
    *,
    prompt: str | None = None,
    judge: bool = False,
    min_votes: int = DEFAULT_MIN_VOTES,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = 0,
) -> Leaderboard:
    """The leaderboard of the user's votes (or with ``judge``, the judges'), on
    ``prompt`` only or on every prompt. ``seed`` makes the intervals repeatable."""
    votes = store.votes(judge=judge, prompt=prompt)
    headers = store.run_headers(run for vote in votes for run in (vote.run_a, vote.run_b))
    board = rate_votes(
        votes, headers, min_votes=min_votes, resamples=resamples, seed=seed, prompt=prompt
    )
    if not judge:
        return board
    mine = store.votes(judge=False, prompt=prompt)
    return replace(board, judge=True, agreement=agreement(mine, votes))


def rate_votes(
    votes: Sequence[Vote],
    headers: dict[int, RunHeader],
    *,
    min_votes: int = DEFAULT_MIN_VOTES,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = 0,
    prompt: str | None = None,
) -> Leaderboard:
    """The leaderboard of ``votes`` whose runs are described by ``headers``: a pair's
    latest vote (:func:`latest_per_pair`), on two pictures (a failed run's empty pane,
    or a finished one that drew none, is no picture to prefer: :func:`unrated`), of
    two configurations; votes on runs missing from ``headers`` are
    left out."""
    if min_votes < 0:
        raise ValueError("min_votes must be 0 or more")
    votes = latest_per_pair(votes)
    configurations: dict[str, Configuration] = {}
    index: dict[str, int] = {}
    comparisons: list[Comparison] = []
    tallies: dict[str, list[int]] = {}  # key -> [votes, wins, losses, ties, both_bad]
    same = 0
    for vote in votes:
        a, b = headers.get(vote.run_a), headers.get(vote.run_b)
        if a is None or b is None:
            continue
        reason = unrated(a, b)
        if reason == SAME_CONFIGURATION:
            same += 1
        if reason is not None:
            continue
        config_a, config_b = configuration_of(a), configuration_of(b)
        for config in (config_a, config_b):
            if config.key not in index:
                index[config.key] = len(index)
                configurations[config.key] = config
                tallies[config.key] = [0, 0, 0, 0, 0]
        score = _SCORE[vote.winner]
        comparisons.append(Comparison(index[config_a.key], index[config_b.key], score))
        for config, mine in ((config_a, score), (config_b, 1.0 - score)):
            tally = tallies[config.key]
            tally[0] += 1
            if vote.winner == "both_bad":
                tally[4] += 1
            elif vote.winner == "tie":
                tally[3] += 1
            else:
                tally[1 if mine == 1.0 else 2] += 1
    fitted = fit(len(index), comparisons, resamples=resamples, seed=seed)
    configurations = told_apart(configurations.values())  # one model on two servers
    rows = [
        Row(
            configuration=configurations[key],
            votes=tally[0],
            wins=tally[1],
            losses=tally[2],
            ties=tally[3],
            both_bad=tally[4],
            rating=fitted.ratings[i],
            low=fitted.low[i],
            high=fitted.high[i],
            ranked=tally[0] >= min_votes,
        )
        for key, i in index.items()
        for tally in (tallies[key],)
    ]
    ranked = _with_ranks(
        sorted((r for r in rows if r.ranked), key=lambda r: (-r.rating, r.configuration))
    )
    unranked = sorted((r for r in rows if not r.ranked), key=lambda r: (-r.votes, r.configuration))
    return Leaderboard(
        prompt=prompt,
        judge=False,
        min_votes=min_votes,
        rows=(*ranked, *unranked),
        counted=len(comparisons),
        same_configuration=same,
        resamples=resamples,
    )


def _with_ranks(rows: Sequence[Row]) -> list[Row]:
    """``rows`` (best first) with their ranks: standard competition ranking of the
    ratings as shown, to the whole point, so two rows that read "1000" are both 1st
    and the row after them 3rd, not 1st, 2nd and 3rd."""
    out: list[Row] = []
    for position, row in enumerate(rows, start=1):
        shared = bool(out) and round(out[-1].rating) == round(row.rating)
        out.append(replace(row, rank=out[-1].rank if shared else position))
    return out


def latest_per_pair(votes: Iterable[Vote]) -> list[Vote]:
    """The votes that count: where someone (you, or one judge) voted on a pair of runs
    more than once (the main screen, then the gallery), their latest vote, which
    replaces the earlier; in the order given."""
    votes = list(votes)
    latest: dict[tuple[frozenset[int], str | None], Vote] = {}
    for vote in votes:
        key = (_pair(vote), vote.judge)
        if key not in latest or vote.id > latest[key].id:
            latest[key] = vote
    kept = {vote.id for vote in latest.values()}
    return [vote for vote in votes if vote.id in kept]


def agreement(user_votes: Iterable[Vote], judge_votes: Iterable[Vote]) -> Agreement:
    """How often the judges' votes agree with the user's on the pairs both voted on:
    the votes that count (:func:`latest_per_pair`), each judge model's on its own."""
    mine = {_pair(vote): _outcome(vote) for vote in latest_per_pair(user_votes)}
    shared = [vote for vote in latest_per_pair(judge_votes) if _pair(vote) in mine]
    agreed = sum(mine[_pair(vote)] == _outcome(vote) for vote in shared)
    return Agreement(pairs=len(shared), agreed=agreed)


def _pair(vote: Vote) -> frozenset[int]:
    return frozenset((vote.run_a, vote.run_b))


def _outcome(vote: Vote) -> int | None:
    """The winning run's id, or None for "neither" (a tie, both bad)."""
    return {"a": vote.run_a, "b": vote.run_b}.get(vote.winner)
