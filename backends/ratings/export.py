"""Votes and ratings as CSV and JSON, for files, pages and other programs.

Everything that leaves the machine here passes the secret policy again (a key
set since the vote was stored is still hidden), and a prompt from a private
prompt set is never written: it becomes ``null`` (JSON) or an empty cell
(CSV), with ``private`` set. CSV cells of text that a spreadsheet would take
for a formula (starting with ``=``, ``+``, ``-``, ``@``) are prefixed with
``'``: a model's one-line reason must not run in someone's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.ratings.configuration import configuration_of, told_apart
from pelican_tui.backends.ratings.leaderboard import Leaderboard
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.store.sessions import SessionStore

LEADERBOARD_FORMAT = "pelican-tui-leaderboard"
VOTES_FORMAT = "pelican-tui-votes"
FORMAT_VERSION = 2
"""2: ``low`` and ``high`` are null where the interval is not known, and equal ratings
share a ``rank`` ("1, 1, 3"); 1: every row had an interval and its own rank."""

RATING_COLUMNS = (
    "rank",
    "configuration",
    "label",
    "rating",
    "low",
    "high",
    "votes",
    "wins",
    "losses",
    "ties",
    "both_bad",
    "ranked",
)
VOTES_FORMAT_VERSION = 2
"""2: ``configuration_a``/``_b`` are the keys ratings.csv's ``configuration`` has (1:
they were the labels, now ``label_a``/``_b``), so the two files join."""


@frozen
class VoteRecord:
    """One vote as exported (its fields are the columns, in order): the runs'
    configurations, the prompt unless private."""

    id: int
    created_at: datetime
    prompt: str | None
    """None when either run came from a private prompt set."""
    private: bool
    run_a: int
    run_b: int
    configuration_a: str
    """Run A's configuration key, as in the ratings' ``configuration`` column."""
    label_a: str
    configuration_b: str
    label_b: str
    winner: str
    blind: bool
    judge: str | None
    reason: str | None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def rating_rows(board: Leaderboard) -> list[dict[str, Any]]:
    """The leaderboard's rows as plain dicts (keys: :data:`RATING_COLUMNS`); ``rank``
    is 1, 2, ... for ranked rows, equal ratings sharing one ("1, 1, 3"), and None for
    the others; ``low`` and ``high`` are None when the interval is not known."""
    out: list[dict[str, Any]] = []
    for row in board.rows:
        out.append(
            {
                "rank": row.rank,
                "configuration": scrub_text(row.configuration.key),
                "label": scrub_text(row.configuration.label),
                "rating": _rounded(row.rating),
                "low": _rounded(row.low),
                "high": _rounded(row.high),
                "votes": row.votes,
                "wins": row.wins,
                "losses": row.losses,
                "ties": row.ties,
                "both_bad": row.both_bad,
                "ranked": row.ranked,
            }
        )
    return out


def leaderboard_to_json(board: Leaderboard, *, prompt_private: bool = False) -> dict[str, Any]:
    """The leaderboard for machines: ratings, intervals and vote counts."""
    agreement = board.agreement
    return {
        "format": LEADERBOARD_FORMAT,
        "format_version": FORMAT_VERSION,
        "prompt": None if prompt_private or board.prompt is None else scrub_text(board.prompt),
        "prompt_private": prompt_private,
        "judge": board.judge,
        "min_votes": board.min_votes,
        "level": board.level,
        "resamples": board.resamples,
        "votes_counted": board.counted,
        "votes_same_configuration": board.same_configuration,
        "agreement": None
        if agreement is None
        else {"pairs": agreement.pairs, "agreed": agreement.agreed, "rate": agreement.rate},
        "rows": rating_rows(board),
    }


def leaderboard_csv(board: Leaderboard) -> str:
    """The leaderboard's rows as CSV, with a header line (:data:`RATING_COLUMNS`)."""
    return _csv(RATING_COLUMNS, rating_rows(board))


def vote_records(
    store: SessionStore, *, judge: bool = False, prompt: str | None = None
) -> list[VoteRecord]:
    """The user's votes (or the judges'), oldest first, ready to export."""
    votes = store.votes(judge=judge, prompt=prompt)
    headers = store.run_headers(run for vote in votes for run in (vote.run_a, vote.run_b))
    configurations = told_apart(configuration_of(run) for run in headers.values())
    out = []
    for vote in votes:
        a, b = headers.get(vote.run_a), headers.get(vote.run_b)
        if a is None or b is None:
            continue
        private = a.private or b.private
        out.append(
            VoteRecord(
                id=vote.id,
                created_at=vote.created_at,
                prompt=None if private else scrub_text(a.prompt),
                private=private,
                run_a=vote.run_a,
                run_b=vote.run_b,
                configuration_a=scrub_text(configuration_of(a).key),
                label_a=scrub_text(configurations[configuration_of(a).key].label),
                configuration_b=scrub_text(configuration_of(b).key),
                label_b=scrub_text(configurations[configuration_of(b).key].label),
                winner=vote.winner,
                blind=vote.blind,
                judge=None if vote.judge is None else scrub_text(vote.judge),
                reason=None if vote.reason is None else scrub_text(vote.reason),
            )
        )
    return out


VOTE_COLUMNS = tuple(column.name for column in fields(VoteRecord))


def _vote_dict(record: VoteRecord) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in VOTE_COLUMNS}
    row["created_at"] = record.created_at.astimezone(UTC).isoformat(timespec="seconds")
    return row


def votes_to_json(records: Sequence[VoteRecord]) -> dict[str, Any]:
    """The votes for machines (keys of each: :data:`VOTE_COLUMNS`)."""
    return {
        "format": VOTES_FORMAT,
        "format_version": VOTES_FORMAT_VERSION,
        "votes": [_vote_dict(record) for record in records],
    }


def votes_csv(records: Sequence[VoteRecord]) -> str:
    """The votes as CSV, with a header line (:data:`VOTE_COLUMNS`)."""
    return _csv(VOTE_COLUMNS, [_vote_dict(record) for record in records])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
    return str(value)


def _csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[name]) for name in columns])
    return buffer.getvalue()
