"""The data files beside an evidence page: the votes and the ratings, as CSV and JSON.

- ``votes.csv`` / ``votes.json``: every vote the page counts, the user's and
  the judges' (the ``judge`` column names the judge model; empty for the
  user's own), in the columns of ``pelican-tui leaderboard --votes``;
- ``ratings.csv``: the leaderboard of the user's votes, in the columns of
  ``pelican-tui leaderboard --csv``;
- ``ratings.json``: that leaderboard, the judge's (or null), and one per
  prompt with votes, each as ``pelican-tui leaderboard --json`` prints it,
  plus how many sessions and votes the private rule left out.

They hold what the page holds (:mod:`.evidence`): no private prompt, no
vote on a run of one.
"""

from __future__ import annotations

import json
from typing import Any

from pelican_tui.backends.export.evidence import Evidence
from pelican_tui.backends.ratings.export import (
    leaderboard_csv,
    leaderboard_to_json,
    votes_csv,
    votes_to_json,
)

RATINGS_FORMAT = "pelican-tui-evidence-ratings"
FORMAT_VERSION = 2
"""2: its leaderboards' rows as :data:`~pelican_tui.backends.ratings.export.FORMAT_VERSION`
2 has them (an interval not known is null; equal ratings share a rank)."""

VOTES_CSV = "votes.csv"
VOTES_JSON = "votes.json"
RATINGS_CSV = "ratings.csv"
RATINGS_JSON = "ratings.json"
DATA_FILES = (RATINGS_CSV, RATINGS_JSON, VOTES_CSV, VOTES_JSON)
"""The names of the data files, in the order the page lists them."""


def ratings_document(evidence: Evidence) -> dict[str, Any]:
    """``ratings.json``: the overall leaderboard, the judge's, and one per prompt."""
    return {
        "format": RATINGS_FORMAT,
        "format_version": FORMAT_VERSION,
        "made_at": evidence.made_at.isoformat(timespec="seconds"),
        "prompt": evidence.prompt,
        "overall": leaderboard_to_json(evidence.overall),
        "judge": None if evidence.judge is None else leaderboard_to_json(evidence.judge),
        "prompts": [
            leaderboard_to_json(each.board) for each in evidence.prompts if each.board.rows
        ],
        "private_sessions_left_out": evidence.hidden_sessions,
        "private_votes_left_out": evidence.hidden_votes,
    }


def _json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def data_files(evidence: Evidence) -> dict[str, bytes]:
    """File name → contents, for every file in :data:`DATA_FILES`."""
    return {
        RATINGS_CSV: leaderboard_csv(evidence.overall).encode("utf-8"),
        RATINGS_JSON: _json_bytes(ratings_document(evidence)),
        VOTES_CSV: votes_csv(evidence.votes).encode("utf-8"),
        VOTES_JSON: _json_bytes(votes_to_json(evidence.votes)),
    }


__all__ = [
    "DATA_FILES",
    "RATINGS_CSV",
    "RATINGS_FORMAT",
    "RATINGS_JSON",
    "VOTES_CSV",
    "VOTES_JSON",
    "data_files",
    "ratings_document",
]
