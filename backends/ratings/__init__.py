"""Ratings across all sessions: which configuration draws the better pelican, with intervals.

- :mod:`.configuration`: what is rated (:func:`configuration_of` a run);
- :mod:`.bradley_terry`: the fit of pairwise votes and its bootstrap intervals;
- :mod:`.leaderboard`: :func:`leaderboard` of the user's votes or a judge's,
  per prompt or overall, and the judge's agreement with the user;
- :mod:`.export`: votes and ratings as CSV and JSON (private prompts left out).
"""

from pelican_tui.backends.ratings.configuration import Configuration, configuration_of
from pelican_tui.backends.ratings.leaderboard import (
    DEFAULT_MIN_VOTES,
    Agreement,
    Leaderboard,
    Row,
    leaderboard,
)

__all__ = [
    "DEFAULT_MIN_VOTES",
    "Agreement",
    "Configuration",
    "Leaderboard",
    "Row",
    "configuration_of",
    "leaderboard",
]
