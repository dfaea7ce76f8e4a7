"""A Bradley-Terry fit of pairwise votes, with bootstrap 95% intervals.

Each item ``i`` has a strength ``exp(theta_i)``; ``i`` beats ``j`` with
probability ``exp(theta_i) / (exp(theta_i) + exp(theta_j))``. A comparison
scores 1 for the first item's win, 0 for its loss and 1/2 for a tie (each side
gets half a win). The log-strengths are found by Newton's method on the
log-likelihood plus a weak prior: every item also plays :data:`PRIOR_GAMES`
virtual games against a fixed reference of strength 1 (``theta = 0``), winning
half of them. The prior keeps an item that always wins finite, fixes the
scale's origin at the reference, and makes the fit unique even when the votes
do not connect every item with every other.

Ratings are given on the familiar Elo scale: ``BASE_RATING + 400 *
log10(strength)``: 1000 is the reference, and 400 points more means odds of
10 to 1. Intervals come from the bootstrap: the comparisons are resampled with
replacement, refitted (all resamples at once, as one batch of Newton steps)
and the 2.5th and 97.5th percentiles of each item's rating kept.

An interval narrower than :data:`NARROWEST_INTERVAL` is not an interval: it
comes from votes that resampling cannot change (one vote, or only ever the same
outcome between the same two), which every resample fits alike. It is given as
None, not known, rather than as a zero-width "1000..1000" that claims certainty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pelican_tui.backends.frozen import frozen

FloatArray = npt.NDArray[np.float64]

BASE_RATING = 1000.0
"""The rating of the reference strength (and of an item with no comparisons)."""
RATING_PER_LOG_STRENGTH = 400.0 / math.log(10.0)
"""Rating points per unit of ``theta`` (400 points = a factor of 10 in strength)."""
PRIOR_GAMES = 1.0
"""Virtual games each item plays against the reference, half of them won."""
DEFAULT_RESAMPLES = 300
"""Bootstrap resamples for the intervals."""
LEVEL = 0.95
"""The intervals' coverage."""
NARROWEST_INTERVAL = 1.0
"""Rating points: a bootstrap interval narrower than this is not known (None). Every
resample gave the item the same rating, so the bootstrap cannot tell how far off it is."""

_MAX_STEPS = 200
_TOLERANCE = 1e-9
_MAX_STEP = 2.0  # at most this change of any theta per Newton step


@frozen
class Comparison:
    """One vote between items ``first`` and ``second`` (indexes from 0).

    ``score`` is the first item's share of the win: 1, 0 or 0.5 for a tie."""

    first: int
    second: int
    score: float


@frozen
class Fit:
    """Ratings (Elo scale) of items ``0 .. n - 1``, with bootstrap intervals."""

    ratings: tuple[float, ...]
    low: tuple[float | None, ...]
    high: tuple[float | None, ...]
    """The interval's ends; None where it is not known (:data:`NARROWEST_INTERVAL`)."""
    resamples: int


def to_rating(theta: FloatArray) -> FloatArray:
    """Log-strengths on the Elo scale."""
    return BASE_RATING + RATING_PER_LOG_STRENGTH * theta


def log_strengths(
    items: int, comparisons: Sequence[Comparison], *, prior_games: float = PRIOR_GAMES
) -> FloatArray:
    """The fitted ``theta`` of each item (0 for an item with no comparisons)."""
    first, second, score = _arrays(items, comparisons)
    everything = np.arange(len(score))[None, :]
    wins, games = _tally(items, first, second, score, everything)
    theta: FloatArray = _newton(wins, games, prior_games)[0]
    return theta


def fit(
    items: int,
    comparisons: Sequence[Comparison],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = 0,
    prior_games: float = PRIOR_GAMES,
) -> Fit:
    """Ratings of ``items`` items from ``comparisons`` with :data:`LEVEL` bootstrap
    intervals from ``resamples`` resamples (``seed`` makes them repeatable; None
    draws fresh ones). With no comparisons every item is at :data:`BASE_RATING`.
    An interval the resamples could not widen is None (:data:`NARROWEST_INTERVAL`),
    as is every interval without comparisons."""
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    first, second, score = _arrays(items, comparisons)
    point = to_rating(log_strengths(items, comparisons, prior_games=prior_games))
    if len(score) == 0:
        unknown = (None,) * items
        return Fit(tuple(float(r) for r in point), unknown, unknown, resamples)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(score), size=(resamples, len(score)))
    wins, games = _tally(items, first, second, score, picks)
    boot = to_rating(_newton(wins, games, prior_games))
    tail = (1.0 - LEVEL) / 2.0 * 100.0
    low, high = np.percentile(boot, [tail, 100.0 - tail], axis=0)
    low, high = np.minimum(low, point), np.maximum(high, point)
    known = high - low >= NARROWEST_INTERVAL
    return Fit(
        ratings=tuple(float(r) for r in point),
        low=tuple(float(v) if k else None for v, k in zip(low, known, strict=True)),
        high=tuple(float(v) if k else None for v, k in zip(high, known, strict=True)),
        resamples=resamples,
    )


def _arrays(
    items: int, comparisons: Sequence[Comparison]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray]:
    if items < 0:
        raise ValueError("items must be >= 0")
    first = np.array([c.first for c in comparisons], dtype=np.int64)
    second = np.array([c.second for c in comparisons], dtype=np.int64)
    score = np.array([c.score for c in comparisons], dtype=np.float64)
    if len(score):
        if first.min() < 0 or second.min() < 0 or max(first.max(), second.max()) >= items:
            raise ValueError(f"an item index is outside 0..{items - 1}")
        if np.any(first == second):
            raise ValueError("an item cannot be compared with itself")
        if np.any((score < 0) | (score > 1)):
            raise ValueError("a score must be from 0 to 1")
    return first, second, score


def _tally(
    items: int,
    first: npt.NDArray[np.int64],
    second: npt.NDArray[np.int64],
    score: FloatArray,
    picks: npt.NDArray[np.int64],
) -> tuple[FloatArray, FloatArray]:
    """Wins ``(B, n)`` and games ``(B, n, n)`` of each resample (row of ``picks``)."""
    batch = picks.shape[0]
    row = np.repeat(np.arange(batch), picks.shape[1])
    f, s, sc = first[picks].ravel(), second[picks].ravel(), score[picks].ravel()
    size = batch * items
    wins = np.bincount(row * items + f, weights=sc, minlength=size).astype(np.float64)
    wins += np.bincount(row * items + s, weights=1.0 - sc, minlength=size)
    pair = np.bincount((row * items + f) * items + s, minlength=size * items).astype(np.float64)
    games = pair.reshape(batch, items, items)
    return wins.reshape(batch, items), games + games.transpose(0, 2, 1)


def _newton(wins: FloatArray, games: FloatArray, prior_games: float) -> FloatArray:
    """Maximise each row's log-likelihood plus prior; ``theta`` of shape ``(B, n)``."""
    if not prior_games > 0:
        raise ValueError("prior_games must be more than 0 (it keeps the fit finite)")
    batch, items = wins.shape
    theta = np.zeros((batch, items))
    if items == 0:
        return theta
    won = wins + prior_games / 2.0
    for _ in range(_MAX_STEPS):
        beats = 1.0 / (1.0 + np.exp(theta[:, None, :] - theta[:, :, None]))  # P(i beats j)
        versus_reference = 1.0 / (1.0 + np.exp(-theta))
        gradient = won - (games * beats).sum(axis=2) - prior_games * versus_reference
        weight = games * beats * (1.0 - beats)
        curvature = weight.sum(axis=2) + prior_games * versus_reference * (1.0 - versus_reference)
        # Minus the Hessian: positive definite (diagonally dominant, prior > 0).
        minus_hessian = -weight
        index = np.arange(items)
        minus_hessian[:, index, index] = curvature
        step = np.linalg.solve(minus_hessian, gradient[:, :, None])[:, :, 0]
        largest = np.abs(step).max(axis=1, keepdims=True)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(largest, 1e-300))
        theta += step
        if float(largest.max()) < _TOLERANCE:
            break
    return theta
