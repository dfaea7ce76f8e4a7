"""The evidence across all sessions, gathered for a page and its data files.

:func:`gather_evidence` reads the session store once and returns an
:class:`Evidence`: the leaderboard of the user's votes, the judge's apart
(with its agreement with the user), and per prompt every picture with its
facts and configuration, plus that prompt's own leaderboard. The page
(:mod:`.evidence_page`) and the CSV/JSON files (:mod:`.evidence_data`) are
made from it; :mod:`.evidence_folder` writes them.

The private rule, the simplest safe one: a prompt that any session from a
private prompt set used is *hidden*. Its text, its pictures, its runs and
every vote that touches one of its runs are left out of everything made
here (page, ratings and votes alike); the page says how many sessions and
votes were left out, nothing more. So the ratings here can differ from
``pelican-tui leaderboard``'s, which counts private votes without their text.

Everything shown passes the secret policy (:func:`~..secrets.scrub_text`).
Stored PNGs are checked and shrunk to at most :data:`THUMBNAIL_SIDE` pixels
a side; one that cannot be read, or a run without one, gets the reason
instead (:func:`~.facts.no_picture_reason`). A run with an SVG but no stored PNG is
drawn by the ``renderer`` given (the sandboxed worker), if any.
"""

from __future__ import annotations

import io
from dataclasses import field, replace
from datetime import UTC, datetime

from pelican_tui.backends.export.facts import no_picture_reason
from pelican_tui.backends.export.pictures import STORED_PNG_SIZE, Renderer
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.ratings.configuration import (
    Configuration,
    configuration_of,
    run_labels,
)
from pelican_tui.backends.ratings.export import VoteRecord, vote_records
from pelican_tui.backends.ratings.leaderboard import (
    DEFAULT_MIN_VOTES,
    Leaderboard,
    agreement,
    rate_votes,
)
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.store.records import Run, RunHeader, RunStatus, Slot, Vote
from pelican_tui.backends.store.sessions import SessionStore

THUMBNAIL_SIDE = 512
"""The largest side, in pixels, of a picture embedded in the page."""


@frozen
class Picture:
    """One run in a gallery: its configuration, its picture or why there is none."""

    run_id: int
    session_id: int
    slot: Slot
    configuration: Configuration
    """Its label passed the secret policy, and says its thinking as the run went where
    that was not as asked ("thinking on (did not)": :func:`~.configuration.run_label`)."""
    status: RunStatus
    facts: dict[str, object]
    """The run's measured picture facts ({} for a run stored before them)."""
    png: bytes | None
    """A checked PNG, at most :data:`THUMBNAIL_SIDE` a side; None: see ``missing``."""
    missing: str | None
    """Why there is no picture, in words (None when there is one)."""


@frozen
class PromptEvidence:
    """One public prompt: every picture made for it, and its own leaderboard."""

    prompt: str
    """The prompt's text, passed through the secret policy."""
    pictures: tuple[Picture, ...]
    """Newest first."""
    board: Leaderboard
    """From the user's votes on two runs of this prompt (no rows: no votes)."""


@frozen
class Evidence:
    """Everything an evidence page and its data files show."""

    made_at: datetime
    prompt: str | None
    """The one prompt it is limited to (secrets scrubbed), or None for every prompt."""
    overall: Leaderboard
    judge: Leaderboard | None
    """The judges' votes, rated apart, with the agreement; None if no judge voted."""
    prompts: tuple[PromptEvidence, ...]
    votes: tuple[VoteRecord, ...]
    """The user's and the judges' votes (``judge`` set), oldest first."""
    hidden_sessions: int = 0
    """Sessions left out by the private rule (see the module doc)."""
    hidden_votes: int = 0
    """Votes (the user's and the judges') left out by the private rule."""
    undrawn: tuple[int, ...] = field(default=())
    """The runs whose SVG could not be drawn at export (the page says why at each), in
    the order of their ids."""


class PrivatePromptError(ValueError):
    """The prompt asked for is hidden by the private rule: nothing may be written about it."""


def gather_evidence(
    store: SessionStore,
    *,
    prompt: str | None = None,
    min_votes: int = DEFAULT_MIN_VOTES,
    renderer: Renderer | None = None,
    seed: int | None = 0,
) -> Evidence:
    """The evidence in ``store`` (on ``prompt`` only, if given). Raises
    :class:`PrivatePromptError` for a hidden ``prompt``."""
    hidden = {text for text, _ in store.prompts() if store.is_private_prompt(text)}
    if prompt is not None and prompt in hidden:
        raise PrivatePromptError("that prompt is from a private prompt set")
    summaries = store.list_sessions(limit=max(store.count_sessions(), 1))
    # With a (public) prompt, the private sessions are of other prompts: none left out here.
    hidden_sessions = (
        0 if prompt is not None else sum(1 for s in summaries if s.private or s.prompt in hidden)
    )
    texts = [text for text, _ in store.prompts() if text not in hidden]
    if prompt is not None:
        texts = [text for text in texts if text == prompt]

    mine, mine_left_out = _public_votes(store, hidden, judge=False, prompt=prompt)
    theirs, theirs_left_out = _public_votes(store, hidden, judge=True, prompt=prompt)
    headers = store.run_headers(
        run for vote in (*mine, *theirs) for run in (vote.run_a, vote.run_b)
    )
    overall = rate_votes(mine, headers, min_votes=min_votes, seed=seed, prompt=prompt)
    judge = None
    if theirs:
        board = rate_votes(theirs, headers, min_votes=min_votes, seed=seed, prompt=prompt)
        judge = replace(board, judge=True, agreement=agreement(mine, theirs))

    undrawn: list[int] = []
    prompts = []
    for text in texts:
        votes_here = [v for v in mine if _prompt_of(v, headers) == text]
        runs = store.runs_for_prompt(text, finished_only=False)
        pictures = tuple(
            _picture(run, label, renderer, undrawn)
            for run, label in zip(runs, run_labels(runs), strict=True)
        )
        board = rate_votes(votes_here, headers, min_votes=min_votes, seed=seed, prompt=text)
        prompts.append(PromptEvidence(scrub_text(text), pictures, _scrubbed_prompt(board)))

    kept = {vote.id for vote in (*mine, *theirs)}
    records = [
        record
        for judged in (False, True)
        for record in vote_records(store, judge=judged, prompt=prompt)
        if record.id in kept
    ]
    return Evidence(
        made_at=datetime.now(UTC),
        prompt=None if prompt is None else scrub_text(prompt),
        overall=_scrubbed_prompt(overall),
        judge=None if judge is None else _scrubbed_prompt(judge),
        prompts=tuple(prompts),
        votes=tuple(sorted(records, key=lambda record: record.id)),
        hidden_sessions=hidden_sessions,
        hidden_votes=mine_left_out + theirs_left_out,
        undrawn=tuple(sorted(undrawn)),
    )


def _public_votes(
    store: SessionStore, hidden: set[str], *, judge: bool, prompt: str | None
) -> tuple[list[Vote], int]:
    """The votes none of whose runs belong to a hidden prompt, and how many were left out."""
    votes = store.votes(judge=judge, prompt=prompt)
    headers = store.run_headers(run for vote in votes for run in (vote.run_a, vote.run_b))

    def public(run_id: int) -> bool:
        header = headers.get(run_id)
        return header is not None and not header.private and header.prompt not in hidden

    kept = [vote for vote in votes if public(vote.run_a) and public(vote.run_b)]
    return kept, len(votes) - len(kept)


def _prompt_of(vote: Vote, headers: dict[int, RunHeader]) -> str | None:
    """The prompt of a vote whose two runs share one, else None."""
    a, b = headers.get(vote.run_a), headers.get(vote.run_b)
    return a.prompt if a is not None and b is not None and a.prompt == b.prompt else None


def _scrubbed_prompt(board: Leaderboard) -> Leaderboard:
    return board if board.prompt is None else replace(board, prompt=scrub_text(board.prompt))


# --------------------------------------------------------------------------- pictures


def _picture(run: Run, label: str, renderer: Renderer | None, undrawn: list[int]) -> Picture:
    """``run``'s picture, labelled ``label`` (:func:`~.configuration.run_labels`)."""
    config = configuration_of(run)
    png, missing = run.png, None
    if png is None and run.svg is not None and renderer is not None:
        try:
            png = renderer(run.svg, *STORED_PNG_SIZE)
        except Exception as error:  # a renderer must never break the export
            missing = f"the SVG could not be drawn ({scrub_text(str(error)) or 'no reason given'})"
        if png is None and missing is None:
            missing = "the SVG could not be drawn"
        if missing is not None:
            undrawn.append(run.id)
    if png is not None:
        png = thumbnail(png)
        if png is None:
            missing = "the stored picture could not be read"
    if png is None and missing is None:
        missing = no_picture_reason(run)
    return Picture(
        run_id=run.id,
        session_id=run.session_id,
        slot=run.slot,
        # Labelled as the run went, as the app's gallery and panes say it.
        configuration=Configuration(config.key, scrub_text(label)),
        status=run.status,
        facts=dict(run.picture_facts),
        png=png,
        missing=missing,
    )


def thumbnail(png: bytes, side: int = THUMBNAIL_SIDE) -> bytes | None:
    """``png`` checked and, if larger than ``side`` pixels a side, shrunk; None if it
    cannot be read as a picture (so the page never shows a broken image)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG":
                return None
            image.load()
            if max(image.size) <= side:
                return png
            image.thumbnail((side, side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return out.getvalue()


__all__ = [
    "THUMBNAIL_SIDE",
    "Evidence",
    "Picture",
    "PrivatePromptError",
    "PromptEvidence",
    "gather_evidence",
    "thumbnail",
]
