"""Ratings: configurations, the Bradley-Terry fit and its intervals, leaderboards from
real stored votes (the user's and a judge's, never mixed), agreement, exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from _session_support import frozen_store

from pelican_tui.backends import locations, secrets
from pelican_tui.backends.ratings import bradley_terry as bt
from pelican_tui.backends.ratings.configuration import configuration_of
from pelican_tui.backends.ratings.export import (
    VOTE_COLUMNS,
    leaderboard_csv,
    leaderboard_to_json,
    vote_records,
    votes_csv,
    votes_to_json,
)
from pelican_tui.backends.ratings.leaderboard import agreement, leaderboard
from pelican_tui.backends.store.records import RunHeader, Vote, Winner
from pelican_tui.backends.store.sessions import SessionStore

PELICAN = "Generate an SVG of a pelican riding a bicycle"
QWEN = "Qwen3.6-35B-A3B-Q4_K_M.gguf"

# (backend, model id, model_info, settings) of the configurations the tests vote on.
SETUPS: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
    "qwen-think": ("local", QWEN, {"file": QWEN, "quant": "Q4_K_M"}, {"thinking": True}),
    "qwen-plain": ("local", QWEN, {"file": QWEN, "quant": "Q4_K_M"}, {"thinking": False}),
    "claude-high": (
        "claude",
        "claude-opus-4-7",
        {"model": "claude-opus-4-7"},
        {"thinking": True, "effort": "high"},
    ),
    "server": ("openai", "gpt-oss-20b", {"served_model": "gpt-oss-20b"}, {"thinking": True}),
}


def _run(store: SessionStore, session_id: int, setup: str, slot: str = "left") -> int:
    backend, model_id, info, settings = SETUPS[setup]
    run = store.start_run(session_id, slot, backend, model_id, info, settings, {})  # type: ignore[arg-type]
    store.finish_run(run, svg="<svg/>", answer="<svg/>", png=b"\x89PNG")  # a picture to prefer
    return run


def _pair(store: SessionStore, a: str, b: str, prompt: str = PELICAN, **kw: Any) -> tuple[int, int]:
    """A session of ``prompt`` with a run of setup ``a`` (left) and of ``b`` (right)."""
    session = store.create_session(prompt, **kw)
    return _run(store, session.id, a, "left"), _run(store, session.id, b, "right")


def _vote(
    store: SessionStore, a: str, b: str, winner: Winner, times: int = 1, **kw: Any
) -> list[Vote]:
    out = []
    for _ in range(times):
        run_a, run_b = _pair(store, a, b)
        out.append(store.add_vote(run_a, run_b, winner, blind=True, **kw))
    return out


def _rows(board: Any) -> dict[str, Any]:
    return {row.configuration.label: row for row in board.rows}


# --------------------------------------------------------------------------- configurations


def _header(
    backend: str, model_id: str, info: Mapping[str, Any], settings: Mapping[str, Any]
) -> RunHeader:
    """A run as the store describes it to ratings."""
    return RunHeader(
        id=1,
        session_id=1,
        prompt=PELICAN,
        private=False,
        slot="left",
        backend=backend,  # type: ignore[arg-type]
        model_id=model_id,
        model_info=dict(info),
        settings=dict(settings),
        status="finished",
        has_picture=True,
    )


def test_a_configuration_is_the_model_quant_thinking_and_effort() -> None:
    labels = {name: configuration_of(_header(*setup)) for name, setup in SETUPS.items()}
    assert labels["qwen-think"].label == "Qwen3.6-35B-A3B-Q4_K_M · thinking on"
    assert labels["qwen-plain"].label == "Qwen3.6-35B-A3B-Q4_K_M · thinking off"
    assert labels["claude-high"].label == "claude-opus-4-7 · thinking high"
    assert labels["server"].label == "gpt-oss-20b (server) · thinking on"
    assert len({c.key for c in labels.values()}) == 4
    # Another quantization of one model is another configuration; a quant not in the
    # file name is shown.
    other = configuration_of(
        _header("local", "qwen.gguf", {"file": "qwen.gguf", "quant": "Q8_0"}, {})
    )
    assert other.label == "qwen Q8_0 · thinking off"
    assert (
        other.key != configuration_of(_header("local", "qwen.gguf", {"file": "qwen.gguf"}, {})).key
    )
    # Claude: the effort counts only with thinking; sampling and machine never do.
    low = configuration_of(
        _header("claude", "claude-opus-4-7", {}, {"thinking": True, "effort": "low"})
    )
    off = configuration_of(_header("claude", "claude-opus-4-7", {}, {"thinking": False}))
    assert low.key != labels["claude-high"].key and off.label == "claude-opus-4-7 · thinking off"
    same = configuration_of(
        _header(*SETUPS["qwen-think"][:3], {"thinking": True, "sampling": {"temperature": 0.1}})
    )
    assert same == labels["qwen-think"]


def test_a_run_is_rated_by_the_thinking_it_did_not_the_thinking_asked() -> None:
    """A server that ignored the switch (or had none) thought when asked not to: its
    win went to "thinking off" on the leaderboard."""
    file, info = SETUPS["server"][1], SETUPS["server"][2]

    def rated(**settings: Any) -> str:
        return configuration_of(_header("openai", file, info, settings)).label

    assert rated(thinking=False, thinking_ran=True) == rated(thinking=True)
    assert rated(thinking=True, thinking_ran=False) == rated(thinking=False)
    assert rated(thinking=False, thinking_ran=True).endswith("thinking on")
    # Recorded before thinking_ran: an ignored switch did the opposite of the ask.
    assert rated(thinking=False, thinking_switch_ignored=True).endswith("thinking on")
    assert rated(thinking=False, thinking_switch_ignored=False).endswith("thinking off")
    assert rated(thinking=True, thinking_switch_ignored=None).endswith("thinking on")


def test_stored_runs_and_run_headers_give_one_configuration() -> None:
    with SessionStore.open() as store:
        a, b = _pair(store, "qwen-think", "claude-high")
        headers = store.run_headers([a, b])
        for run_id in (a, b):
            assert configuration_of(store.get_run(run_id)) == configuration_of(headers[run_id])


# --------------------------------------------------------------------------- the fit


def _simulate(rng: np.random.Generator, theta: np.ndarray, votes: int) -> list[bt.Comparison]:
    out = []
    for _ in range(votes):
        i, j = rng.choice(len(theta), 2, replace=False)
        p = 1.0 / (1.0 + np.exp(theta[j] - theta[i]))
        out.append(bt.Comparison(int(i), int(j), 1.0 if rng.random() < p else 0.0))
    return out


def test_the_fit_recovers_a_known_order() -> None:
    theta = np.array([0.8, -1.2, 0.2, 1.5, -0.4, 0.0])
    comparisons = _simulate(np.random.default_rng(11), theta, 3000)
    fitted = bt.log_strengths(len(theta), comparisons)
    assert list(np.argsort(fitted)) == list(np.argsort(theta))
    # The scale's origin is the fit's reference: compare differences, not values.
    assert np.abs((fitted - fitted.mean()) - (theta - theta.mean())).max() < 0.2


def test_intervals_cover_the_true_ratings_in_most_simulated_trials() -> None:
    theta = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    truth = bt.to_rating(theta)
    rng = np.random.default_rng(2026)
    covered = trials = 0
    for trial in range(40):
        result = bt.fit(len(theta), _simulate(rng, theta, 200), seed=trial)
        for low, true, high in zip(result.low, truth, result.high, strict=True):
            trials += 1
            covered += low <= true <= high
        assert all(
            lo <= r <= hi for lo, r, hi in zip(result.low, result.ratings, result.high, strict=True)
        )
    assert covered / trials >= 0.85, f"covered {covered} of {trials}"


def test_a_configuration_that_always_wins_stays_finite_and_ties_are_halves() -> None:
    always = bt.fit(2, [bt.Comparison(0, 1, 1.0)] * 50)
    assert bt.BASE_RATING < always.ratings[0] < 3000
    assert always.ratings[0] - bt.BASE_RATING == pytest.approx(bt.BASE_RATING - always.ratings[1])
    ties = bt.fit(2, [bt.Comparison(0, 1, 0.5)] * 20)
    assert ties.ratings == pytest.approx((bt.BASE_RATING, bt.BASE_RATING))
    # A tie is half a win each: one win and one loss fit the same as two ties.
    split = bt.log_strengths(3, [bt.Comparison(0, 1, 1.0), bt.Comparison(0, 1, 0.0)])
    halves = bt.log_strengths(3, [bt.Comparison(0, 1, 0.5), bt.Comparison(1, 0, 0.5)])
    assert split == pytest.approx(halves)
    # No votes at all: everyone at the reference, and an item with no comparisons too.
    assert bt.fit(3, []).ratings == (bt.BASE_RATING,) * 3
    assert bt.log_strengths(3, [bt.Comparison(0, 1, 1.0)])[2] == 0.0


def test_an_interval_resampling_cannot_move_is_not_known() -> None:
    # One tie gave "1000..1000": each resample of one vote is that vote.
    assert bt.fit(2, [bt.Comparison(0, 1, 0.5)]).low == (None, None)
    same = bt.fit(2, [bt.Comparison(0, 1, 1.0)] * 5)  # only ever one outcome of one pair
    assert same.low == same.high == (None, None) and same.ratings[0] > bt.BASE_RATING
    varied = bt.fit(2, [bt.Comparison(0, 1, 1.0)] * 4 + [bt.Comparison(0, 1, 0.0)])
    for low, rating, high in zip(varied.low, varied.ratings, varied.high, strict=True):
        assert low is not None and high is not None
        assert high - low >= bt.NARROWEST_INTERVAL and low <= rating <= high


def test_intervals_are_repeatable_with_a_seed() -> None:
    comparisons = _simulate(np.random.default_rng(5), np.array([0.0, 0.7, -0.3]), 60)
    assert bt.fit(3, comparisons, seed=9) == bt.fit(3, comparisons, seed=9)
    assert bt.fit(3, comparisons, seed=9).low != bt.fit(3, comparisons, seed=10).low


def test_the_fit_refuses_what_it_cannot_mean() -> None:
    with pytest.raises(ValueError, match="outside"):
        bt.fit(2, [bt.Comparison(0, 2, 1.0)])
    with pytest.raises(ValueError, match="itself"):
        bt.fit(2, [bt.Comparison(1, 1, 1.0)])
    with pytest.raises(ValueError, match="from 0 to 1"):
        bt.fit(2, [bt.Comparison(0, 1, 2.0)])
    with pytest.raises(ValueError, match="prior_games"):
        bt.log_strengths(2, [bt.Comparison(0, 1, 1.0)], prior_games=0)


# --------------------------------------------------------------------------- leaderboards


def test_a_second_vote_on_a_pair_replaces_the_first() -> None:
    """Voted on the main screen, then again in the gallery: both counted (1/1 on one
    pair) while the sessions list showed the first."""
    with SessionStore.open() as store:
        run_a, run_b = _pair(store, "qwen-think", "claude-high")
        store.add_vote(run_a, run_b, "b", blind=False)
        store.add_vote(run_b, run_a, "b", blind=True)  # shown the other way round: A won
        store.add_vote(run_a, run_b, "a", blind=False, judge="claude-judge")
        board = leaderboard(store, min_votes=0)
        judged = leaderboard(store, judge=True, min_votes=0)
    qwen = _rows(board)["Qwen3.6-35B-A3B-Q4_K_M · thinking on"]
    assert board.counted == 1 and (qwen.votes, qwen.wins, qwen.losses) == (1, 1, 0)
    assert judged.counted == 1, "the judge's vote is its own, not replaced by yours"


def test_a_vote_on_a_run_that_did_not_finish_is_not_rated() -> None:
    """Claude answered 500: its empty pane won nothing, yet the vote counted as a win
    for the local model."""
    with SessionStore.open() as store:
        session = store.create_session(PELICAN)
        local = _run(store, session.id, "qwen-think", "left")
        backend, model_id, info, settings = SETUPS["claude-high"]
        failed = store.start_run(session.id, "right", backend, model_id, info, settings, {})  # type: ignore[arg-type]
        store.finish_run(failed, status="failed", failure_reason="Anthropic server error (500)")
        store.add_vote(local, failed, "a", blind=True)
        assert leaderboard(store, min_votes=0).counted == 0


def test_leaderboard_from_stored_votes_ranks_and_lists_the_rest() -> None:
    with SessionStore.open() as store:
        _vote(store, "claude-high", "qwen-think", "a", times=6)
        _vote(store, "qwen-think", "qwen-plain", "a", times=4)
        _vote(store, "qwen-plain", "claude-high", "b", times=2)
        _vote(store, "qwen-plain", "claude-high", "tie")
        _vote(store, "server", "qwen-plain", "both_bad", times=2)
        board = leaderboard(store)
    rows = _rows(board)
    assert board.counted == 15 and board.same_configuration == 0
    claude = rows["claude-opus-4-7 · thinking high"]
    assert (claude.votes, claude.wins, claude.losses, claude.ties, claude.both_bad) == (
        9,
        8,
        0,
        1,
        0,
    )
    plain = rows["Qwen3.6-35B-A3B-Q4_K_M · thinking off"]
    assert (plain.votes, plain.wins, plain.losses, plain.ties, plain.both_bad) == (9, 0, 6, 1, 2)
    server = rows["gpt-oss-20b (server) · thinking on"]
    assert (server.votes, server.both_bad, server.ranked) == (2, 2, False)
    assert [row.configuration.label for row in board.ranked] == [
        "claude-opus-4-7 · thinking high",
        "Qwen3.6-35B-A3B-Q4_K_M · thinking on",
        "Qwen3.6-35B-A3B-Q4_K_M · thinking off",
    ]
    assert board.unranked == (server,) and board.rows[-1] == server
    for row in board.rows:
        assert row.low <= row.rating <= row.high


def test_ranks_the_votes_do_not_yet_settle_are_said() -> None:
    """Even votes between two configurations rank one above the other by a few points;
    their intervals overlap, and every front end's caveats say so. A third configuration
    that loses 19 of 20 is told apart from both."""
    with SessionStore.open() as store:
        _vote(store, "claude-high", "qwen-think", "a", times=5)
        _vote(store, "claude-high", "qwen-think", "b", times=5)
        _vote(store, "qwen-think", "qwen-plain", "a", times=19)
        _vote(store, "qwen-think", "qwen-plain", "b", times=1)
        board = leaderboard(store)
    first, second, third = board.ranked
    assert third.configuration.label == "Qwen3.6-35B-A3B-Q4_K_M · thinking off"
    assert first.low is not None and second.high is not None and first.low <= second.high
    assert second.low is not None and third.high is not None and second.low > third.high
    assert board.overlapping_ranks() == [(1, 2)]
    said = "the votes do not yet settle the order of ranks 1 and 2 (their intervals overlap)"
    assert said in board.caveats()
    with SessionStore.open() as store:  # an even 3:3 pair in the middle overlaps both sides
        _vote(store, "qwen-plain", "server", "a", times=3)
        _vote(store, "qwen-plain", "server", "b", times=3)
        wider = leaderboard(store)
    assert wider.overlapping_ranks() == [(1, 2), (2, 3), (3, 4)]
    best, *_, worst = wider.ranked  # said pair by pair: the first and last are apart
    assert best.low is not None and worst.high is not None and best.low > worst.high
    said = "the order of ranks 1 and 2, 2 and 3, 3 and 4 (their intervals overlap)"
    assert any(said in caveat for caveat in wider.caveats())


def test_both_bad_is_a_tie_in_the_fit_but_counted_apart() -> None:
    with SessionStore.open() as store:
        _vote(store, "server", "qwen-plain", "both_bad", times=3)
        bad = leaderboard(store, min_votes=1)
    with SessionStore.open(locations.data_dir() / "other.sqlite3") as store:
        _vote(store, "server", "qwen-plain", "tie", times=3)
        tied = leaderboard(store, min_votes=1)
    assert [r.rating for r in bad.rows] == pytest.approx([r.rating for r in tied.rows])
    assert [(r.ties, r.both_bad) for r in bad.rows] == [(0, 3), (0, 3)]
    assert [(r.ties, r.both_bad) for r in tied.rows] == [(3, 0), (3, 0)]


def test_judge_votes_never_move_the_users_ratings() -> None:
    with SessionStore.open() as store:
        mine = _vote(store, "qwen-think", "claude-high", "a", times=6)
        before = leaderboard(store)
        # The judge disagrees, loudly, on the same pairs and on more.
        for vote in mine:
            store.add_vote(vote.run_b, vote.run_a, "a", blind=True, judge="claude-opus-4-7")
        _vote(store, "claude-high", "qwen-think", "a", times=10, judge="claude-opus-4-7")
        after = leaderboard(store)
        judged = leaderboard(store, judge=True)
    assert after == before
    assert before.judge is False and before.agreement is None
    assert judged.judge is True and judged.counted == 16
    assert judged.ranked[0].configuration.label == "claude-opus-4-7 · thinking high"
    assert before.ranked[0].configuration.label == "Qwen3.6-35B-A3B-Q4_K_M · thinking on"
    assert judged.agreement is not None
    assert (judged.agreement.pairs, judged.agreement.agreed) == (6, 0)


def test_agreement_on_shared_pairs_latest_vote_and_neither() -> None:
    with SessionStore.open() as store:
        pairs = [_pair(store, "qwen-think", "claude-high") for _ in range(4)]
        (p1, p2, p3, p4) = pairs
        # Pair 1: both say the Qwen run, shown in swapped order to the judge.
        store.add_vote(*p1, "a", blind=True)
        store.add_vote(p1[1], p1[0], "b", blind=True, judge="j")
        # Pair 2: the user changed their mind; the latest vote counts.
        store.add_vote(*p2, "a", blind=True)
        store.add_vote(*p2, "b", blind=False)
        store.add_vote(*p2, "b", blind=True, judge="j")
        # Pair 3: a tie and "both bad" both mean neither is better.
        store.add_vote(*p3, "tie", blind=True)
        store.add_vote(*p3, "both_bad", blind=True, judge="j")
        # Pair 4: disagreement; and a pair only the judge voted on.
        store.add_vote(*p4, "a", blind=True)
        store.add_vote(*p4, "b", blind=True, judge="j")
        store.add_vote(*_pair(store, "server", "qwen-plain"), "a", blind=True, judge="j")
        shared = agreement(store.votes(), store.votes(judge=True))
        assert (shared.pairs, shared.agreed, shared.rate) == (4, 3, 0.75)
        assert leaderboard(store, judge=True).agreement == shared
        # A second judge model agrees on pair 4: its vote is one more, not a replacement
        # of the first judge's (the ratings count both).
        store.add_vote(*p4, "a", blind=True, judge="another judge")
        both = agreement(store.votes(), store.votes(judge=True))
        assert (both.pairs, both.agreed) == (5, 4)
    assert agreement([], []).rate is None


def test_votes_between_runs_of_one_configuration_are_left_out() -> None:
    with SessionStore.open() as store:
        _vote(store, "qwen-think", "qwen-think", "a", times=2)
        _vote(store, "qwen-think", "claude-high", "b")
        board = leaderboard(store, min_votes=1)
    assert (board.counted, board.same_configuration) == (1, 2)
    assert {r.configuration.label: r.votes for r in board.rows} == {
        "claude-opus-4-7 · thinking high": 1,
        "Qwen3.6-35B-A3B-Q4_K_M · thinking on": 1,
    }


def test_per_prompt_and_overall() -> None:
    with SessionStore.open() as store:
        _vote(store, "qwen-think", "claude-high", "a", times=5)
        for _ in range(7):
            a, b = _pair(store, "qwen-think", "claude-high", prompt="a heron on a scooter")
            store.add_vote(a, b, "b", blind=True)
        pelican = leaderboard(store, prompt=PELICAN)
        heron = leaderboard(store, prompt="a heron on a scooter")
        overall = leaderboard(store)
    assert pelican.prompt == PELICAN and overall.prompt is None
    assert (pelican.counted, heron.counted, overall.counted) == (5, 7, 12)
    assert pelican.ranked[0].configuration.label.startswith("Qwen")
    assert heron.ranked[0].configuration.label.startswith("claude")
    assert overall.ranked[0].configuration.label.startswith("claude")


def test_ratings_survive_a_restart_and_an_upgrade_from_a_v2_store() -> None:
    db = locations.sessions_db()
    frozen_store(db, 2)
    with SessionStore.open(db) as store:
        # Runs 1 (local Qwen, thinking) and 2 (Claude, high) were stored by version 2;
        # run 2 without its PNG (no picture to prefer), drawn since (pelican-tui render).
        store.set_run_png(2, b"\x89PNG\r\n\x1a\n")
        for winner in ("a", "a", "b", "a", "tie"):
            store.add_vote(1, 2, winner, blind=True)  # type: ignore[arg-type]
        store.add_vote(2, 1, "a", blind=True, judge="claude-opus-4-7", reason="the beak")
        before = leaderboard(store)
        judged = leaderboard(store, judge=True)
    with SessionStore.open(db) as store:
        assert leaderboard(store) == before
        assert leaderboard(store, judge=True) == judged
    rows = _rows(before)
    assert set(rows) == {"Qwen3.6-35B-A3B-Q4_K_M · thinking on", "claude-opus-4-7 · thinking high"}
    qwen = rows["Qwen3.6-35B-A3B-Q4_K_M · thinking on"]
    # Five votes on the one pair of runs: the latest (a tie) is the one that counts.
    assert (qwen.votes, qwen.wins, qwen.losses, qwen.ties, qwen.ranked) == (1, 0, 0, 1, False)
    assert judged.agreement is not None and judged.agreement.pairs == 1


# --------------------------------------------------------------------------- exports


def test_exports_leave_private_prompts_out_and_defuse_formulas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "pasted-key-" + "Q7z" * 12
    secret_prompt = "My secret benchmark prompt"
    with SessionStore.open() as store:
        public = _vote(store, "qwen-think", "claude-high", "a", times=5)
        a, b = _pair(store, "qwen-plain", "claude-high", prompt=secret_prompt, private=True)
        hidden = store.add_vote(a, b, "b", blind=True, reason="=HYPERLINK(1)")
        # A key the store did not know when the vote was written, set since.
        conn = store._connection()
        conn.execute("UPDATE votes SET reason = ? WHERE id = ?", (f"+{key}", public[0].id))
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
        monkeypatch.setattr(secrets, "_registered", set())
        records = vote_records(store)
        board = leaderboard(store)
        private_board = leaderboard(store, prompt=secret_prompt, min_votes=1)
    by_id = {record.id: record for record in records}
    assert by_id[hidden.id].prompt is None and by_id[hidden.id].private is True
    assert by_id[public[1].id].prompt == PELICAN and by_id[public[1].id].private is False
    as_json = json.dumps(votes_to_json(records)) + json.dumps(leaderboard_to_json(board))
    as_json += json.dumps(leaderboard_to_json(private_board, prompt_private=True))
    as_csv = votes_csv(records) + leaderboard_csv(board) + leaderboard_csv(private_board)
    for text in (as_json, as_csv):
        assert secret_prompt not in text and key not in text
        assert "[redacted]" in text
    table = list(csv.DictReader(io.StringIO(votes_csv(records))))
    assert list(table[0]) == list(VOTE_COLUMNS)
    cells = {int(row["id"]): row for row in table}
    assert cells[hidden.id]["reason"] == "'=HYPERLINK(1)"
    assert cells[hidden.id]["prompt"] == "" and cells[hidden.id]["private"] == "true"
    assert cells[public[0].id]["reason"] == "'+[redacted]"
    document = leaderboard_to_json(private_board, prompt_private=True)
    assert (document["prompt"], document["prompt_private"]) == (None, True)
    ratings = list(csv.DictReader(io.StringIO(leaderboard_csv(board))))
    assert [row["rank"] for row in ratings] == ["1", "2", ""]  # the last has too few votes
    first = board.rows[0]
    assert float(ratings[0]["rating"]) == pytest.approx(first.rating, abs=0.05)
    assert int(ratings[0]["votes"]) == first.votes


def test_a_rows_record_counts_both_bad_as_a_tie_and_names_it() -> None:
    from pelican_tui.backends.ratings.configuration import Configuration
    from pelican_tui.backends.ratings.leaderboard import Row

    def row(both_bad: int) -> Row:
        return Row(
            Configuration("k", "K"), 6 + both_bad, 3, 1, 2, both_bad, 1000.0, 900.0, 1100.0, True
        )

    assert row(0).record() == "3/1/2"
    assert row(1).record() == "3/1/3 (1 both bad)"
    assert row(1).record(name_both_bad=False) == "3/1/3"
