"""The judge: pairs chosen from a real store, a real Messages call to the loopback
Anthropic server with both pictures, votes stored apart from the user's."""

from __future__ import annotations

import io
import json
import random
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _anthropic_server import AnthropicTestServer
from _judge_support import (
    BLUE,
    HERON,
    JUDGE_MODEL,
    KEY,
    PELICAN,
    RED,
    add_session,
    color_of,
    pictures_by_label,
    red_wins,
)
from PIL import Image

from pelican_tui.backends.judge import (
    SYSTEM,
    CallFailed,
    Judge,
    Judged,
    Outcome,
    Pair,
    Unparseable,
    choose_pairs,
    estimate,
    image_tokens,
    judge_pairs,
    parse_answer,
    sent_size,
)
from pelican_tui.backends.ratings.leaderboard import Agreement, leaderboard
from pelican_tui.backends.settings import ClaudeSettings, JudgeSettings
from pelican_tui.backends.store.sessions import SessionStore


@pytest.fixture
def server() -> Iterator[AnthropicTestServer]:
    with AnthropicTestServer(answer_for=red_wins) as running:
        yield running


def _judge(server: AnthropicTestServer, seed: int = 0, **settings: Any) -> Judge:
    claude = ClaudeSettings(base_url=server.base_url, max_retries=0, timeout_s=20)
    options: dict[str, Any] = {"enabled": True, "model": JUDGE_MODEL, **settings}
    return Judge(JudgeSettings(**options), claude, api_key=KEY, rng=random.Random(seed))


async def _run_all(store: SessionStore, judge: Judge, pairs: tuple[Pair, ...]) -> list[Outcome]:
    return [outcome async for outcome in judge_pairs(store, judge, pairs)]


# --------------------------------------------------------------------------- the call


async def test_the_request_carries_the_prompt_and_both_pictures_downscaled(
    server: AnthropicTestServer,
) -> None:
    with SessionStore.open() as store:
        add_session(store, "claude", "qwen")
        judge = _judge(server)
        plan = choose_pairs(store, judge.model, max_pairs=5)
        outcomes = await _run_all(store, judge, plan.pairs)
    assert len(outcomes) == 1 and isinstance(outcomes[0], Judged)
    [request] = server.requests
    assert request.headers.get("authorization") == f"Bearer {KEY}"  # how the SDK sends it
    body = request.body
    assert body is not None and body["model"] == JUDGE_MODEL and body["system"] == SYSTEM
    assert "stream" not in body and "thinking" not in body
    content = body["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": f"The prompt:\n{PELICAN}"}
    assert [block["type"] for block in content] == [
        "text",
        "text",
        "image",
        "text",
        "image",
        "text",
    ]
    assert content[-1]["text"].startswith("Which picture fulfils the prompt better?")
    pictures = pictures_by_label(body)
    assert sorted(pictures) == ["A", "B"]
    for png in pictures.values():
        with Image.open(io.BytesIO(png)) as image:
            assert (image.format, image.size) == ("PNG", (512, 512)), "downscaled from 1024"
    assert {color_of(png) for png in pictures.values()} == {RED, BLUE}
    sent = json.dumps(body)
    assert "claude-opus" not in sent and "Qwen" not in sent, "blind: no model named"


async def test_the_order_is_random_and_the_vote_names_the_run_shown_as_a(
    server: AnthropicTestServer,
) -> None:
    with SessionStore.open() as store:
        # One prompt per session: each pair is the two runs of one session.
        reds = {add_session(store, "claude", "qwen", prompt=f"{PELICAN} {i}")[0] for i in range(4)}
        reds |= {
            add_session(store, "claude", "qwen", (BLUE, RED), prompt=f"{PELICAN} {i}")[1]
            for i in range(4, 8)
        }
        judge = _judge(server, seed=3)
        plan = choose_pairs(store, judge.model, max_pairs=8)
        outcomes = await _run_all(store, judge, plan.pairs)
        stored = store.votes(judge=True)
    judged = [o for o in outcomes if isinstance(o, Judged)]
    assert len(judged) == 8 and len(server.requests) == 8
    shown_first = set()
    for outcome, request in zip(judged, server.requests, strict=True):
        vote, answer = outcome.vote, outcome.answer
        assert request.body is not None
        pictures = pictures_by_label(request.body)
        # What was labelled A in the request is the run stored as run_a.
        assert (vote.run_a, vote.run_b) == (answer.shown_a.id, answer.shown_b.id)
        assert color_of(pictures["A"]) == color_of(answer.shown_a.png or b"")
        assert color_of(pictures["B"]) == color_of(answer.shown_b.png or b"")
        winner = {"a": vote.run_a, "b": vote.run_b}[vote.winner]
        assert winner in reds, "the judge's 'A' or 'B' is mapped to the run it saw"
        assert vote.judge == JUDGE_MODEL and vote.blind
        assert vote.reason == "The red picture has a pelican on the bicycle."
        shown_first.add(answer.shown_a.id == answer.pair.first.id)
    assert shown_first == {True, False}, "both orders occur"
    assert [v.id for v in stored] == [o.vote.id for o in judged]


async def test_an_unparseable_answer_is_reported_and_not_stored() -> None:
    quiet = AnthropicTestServer(answer_text="Both pictures have their merits, really.")
    with quiet as server, SessionStore.open() as store:
        add_session(store, "claude", "qwen")
        add_session(store, "claude", "qwen")
        judge = _judge(server)
        outcomes = await _run_all(store, judge, choose_pairs(store, judge.model, max_pairs=2).pairs)
        assert store.votes(judge=True) == []
    assert len(outcomes) == 2, "an unreadable answer does not stop the run"
    for outcome in outcomes:
        assert isinstance(outcome, Unparseable)
        assert outcome.answer == "Both pictures have their merits, really."
        assert outcome.usage.output_tokens > 0


async def test_the_judge_reaches_claude_as_the_runs_do(
    server: AnthropicTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The judge made an SDK client of its own: with a proxy in the environment, a
    loopback endpoint (``ANTHROPIC_BASE_URL``) was asked through it, and the call
    failed. It takes the Claude side's client, which asks loopback directly."""
    with socket.socket() as spare:  # a port nothing listens on: the proxy is down
        spare.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{spare.getsockname()[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, down)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with SessionStore.open() as store:
        add_session(store, "claude", "qwen")
        judge = _judge(server)
        outcomes = await _run_all(store, judge, choose_pairs(store, judge.model, max_pairs=1).pairs)
        assert len(store.votes(judge=True)) == 1
    assert [type(outcome) for outcome in outcomes] == [Judged], outcomes
    assert len(server.requests) == 1


async def test_answers_unreadable_in_a_row_stop_the_run_one_read_between_does_not(
    server: AnthropicTestServer,
) -> None:
    """A model that never answered in the format asked for was asked (and paid) for
    every pair; now the third unreadable answer in a row is the last call."""
    answers = iter(["Hmm.", "Hmm.", "A\nIt is red.", "Hmm.", "Hmm.", "Hmm.", "A\nRed."])
    server.answer_for = lambda body: next(answers)
    with SessionStore.open() as store:
        for _ in range(3):
            add_session(store, "claude", "qwen")
        judge = _judge(server)
        outcomes = await _run_all(store, judge, choose_pairs(store, judge.model, max_pairs=9).pairs)
        assert len(store.votes(judge=True)) == 1
    assert [type(o).__name__ for o in outcomes] == [
        "Unparseable", "Unparseable", "Judged", "Unparseable", "Unparseable", "Unparseable"
    ]  # fmt: skip
    assert len(server.requests) == 6


async def test_a_429_stops_the_run_in_the_claude_sides_words() -> None:
    busy = AnthropicTestServer(scenario="429", error_message=f"slow down {KEY}")
    with busy as server, SessionStore.open() as store:
        for _ in range(3):
            add_session(store, "claude", "qwen")
        judge = _judge(server)
        outcomes = await _run_all(store, judge, choose_pairs(store, judge.model, max_pairs=9).pairs)
        assert store.votes(judge=True) == []
    assert len(server.requests) == 1 and len(outcomes) == 1
    [failed] = outcomes
    assert isinstance(failed, CallFailed)
    assert failed.failure.reason == "Anthropic rate limit reached (429)"
    assert failed.failure.hint is not None and "try again" in failed.failure.hint
    assert KEY not in repr(failed) and KEY not in repr(judge)


async def test_claude_timeout_bounds_the_whole_judge_call_retries_included() -> None:
    """A server that never answered cost ``claude.timeout_s`` once per try (three with
    the default retries) plus the waits between them, while the failure said
    "timeout 1 s"."""
    import anthropic  # noqa: F401 (imported before the clock starts: it takes a second)

    with AnthropicTestServer(scenario="silent") as server, SessionStore.open() as store:
        add_session(store, "claude", "qwen")
        pairs = choose_pairs(store, JUDGE_MODEL, max_pairs=1).pairs
        claude = ClaudeSettings(base_url=server.base_url, max_retries=2, timeout_s=1)
        judge = Judge(JudgeSettings(enabled=True), claude, api_key=KEY)
        start = time.monotonic()
        [failed] = await _run_all(store, judge, pairs)
        took = time.monotonic() - start
        assert store.votes(judge=True) == []
    assert isinstance(failed, CallFailed)
    assert failed.failure.reason == "Anthropic did not answer in time (timeout 1 s)"
    assert 0.9 < took < 1.8, f"{took:.2f} s for a 1 s timeout"


async def test_a_reply_that_is_no_message_fails_the_call_in_words() -> None:
    """A web page with status 200 (a proxy's, a wrong ANTHROPIC_BASE_URL) crashed
    ``pelican-tui judge`` with "'str' object has no attribute 'content'"."""
    with AnthropicTestServer(scenario="html") as server, SessionStore.open() as store:
        add_session(store, "claude", "qwen")
        pairs = choose_pairs(store, JUDGE_MODEL, max_pairs=1).pairs
        [failed] = await _run_all(store, _judge(server), pairs)
        assert store.votes(judge=True) == []
    assert isinstance(failed, CallFailed)
    assert failed.failure.reason == "Anthropic's reply held no answer (not a message of its API)"
    assert failed.failure.hint == "check ANTHROPIC_BASE_URL if set, or try again"


async def test_a_rejected_key_and_a_missing_one() -> None:
    with AnthropicTestServer(scenario="401") as server, SessionStore.open() as store:
        add_session(store, "claude", "qwen")
        pairs = choose_pairs(store, JUDGE_MODEL, max_pairs=1).pairs
        [failed] = await _run_all(store, _judge(server), pairs)
        assert isinstance(failed, CallFailed)
        assert failed.failure.reason == "Anthropic rejected the API key (401)"
        keyless = Judge(JudgeSettings(enabled=True), ClaudeSettings(base_url=server.base_url))
        [missing] = await _run_all(store, keyless, pairs)
        assert isinstance(missing, CallFailed)
        assert missing.failure.reason == "the judge has no API key"
        assert len(server.requests) == 1, "no call without a key"


async def test_a_key_echoed_by_the_judge_is_not_stored(server: AnthropicTestServer) -> None:
    server.answer_for = lambda body: f"B: because {KEY} said so"
    with SessionStore.open() as store:
        add_session(store, "claude", "qwen")
        judge = _judge(server)
        [judged] = await _run_all(store, judge, choose_pairs(store, judge.model, max_pairs=1).pairs)
        assert isinstance(judged, Judged)
        [vote] = store.votes(judge=True)
    assert vote.winner == "b" and vote.reason is not None
    assert KEY not in vote.reason and vote.reason.startswith("because ")


# --------------------------------------------------------------------------- ratings apart


async def test_judge_votes_stay_out_of_the_users_ratings_and_agreement_is_measured(
    server: AnthropicTestServer,
) -> None:
    with SessionStore.open() as store:
        agree = add_session(store, "claude", "qwen")  # red claude, blue qwen
        differ = add_session(store, "claude", "qwen")
        store.add_vote(*agree, "a", blind=True)  # the user also picks red
        store.add_vote(differ[1], differ[0], "a", blind=True)  # the user picks blue
        for _ in range(3):
            add_session(store, "claude", "qwen")
        mine_before = leaderboard(store)
        judge = _judge(server)
        plan = choose_pairs(store, judge.model, max_pairs=3)
        assert [pair.user_voted for pair in plan.pairs] == [True, True, False]
        await _run_all(store, judge, plan.pairs)
        mine_after = leaderboard(store)
        theirs = leaderboard(store, judge=True)
        assert len(store.votes()) == 2 and len(store.votes(judge=True)) == 3
        again = choose_pairs(store, judge.model, max_pairs=10)
        judged = {frozenset((v.run_a, v.run_b)) for v in store.votes(judge=True)}
    assert mine_after == mine_before, "the judge's votes never reach the user's ratings"
    assert mine_after.counted == 2 and mine_after.agreement is None
    assert theirs.judge and theirs.counted == 3
    claude_row = next(r for r in theirs.rows if "claude" in r.configuration.label)
    assert (claude_row.wins, claude_row.losses) == (3, 0)
    assert theirs.agreement == Agreement(pairs=2, agreed=1)
    assert again.available == 5 * 5 - 3, "pairs the judge voted on are not offered again"
    assert not judged & {frozenset((p.first.id, p.second.id)) for p in again.pairs}


# --------------------------------------------------------------------------- choosing and cost


def test_pairs_are_of_different_configurations_with_pictures_not_yet_judged() -> None:
    with SessionStore.open() as store:
        add_session(store, "qwen", "qwen")  # one configuration: nothing to rate
        add_session(store, "claude", "qwen", (RED, None))  # no picture on the right
        c1, q1 = add_session(store, "claude", "qwen")
        c2, q2 = add_session(store, "claude", "qwen")
        s1, _ = add_session(store, "smol", "smol", (RED, BLUE), prompt=HERON)
        add_session(store, "claude", "qwen", prompt="a private prompt", private=True)
        failed = store.start_run(
            store.create_session(PELICAN).id, "left", "claude", "x", {}, {}, {}
        )
        store.finish_run(failed, status="failed", failure_reason="boom")
        broken = store.start_run(
            store.create_session(PELICAN).id, "left", "local", "y.gguf", {}, {}, {}
        )
        store.finish_run(broken, svg="<svg/>", png=b"\x89PNG")  # cut short: not a picture
        store.add_vote(c1, q2, "b", blind=True, judge=JUDGE_MODEL)  # judged already
        store.add_vote(c1, q1, "b", blind=True, judge="another-judge")
        plan = choose_pairs(store, JUDGE_MODEL, max_pairs=20)
        pelican_only = choose_pairs(store, JUDGE_MODEL, prompt=PELICAN, max_pairs=1)
        private = choose_pairs(store, JUDGE_MODEL, prompt="a private prompt", max_pairs=10)
    # Pelican runs with pictures: claude 3 (one's partner has none), qwen 4 (two of one session).
    pairs = {frozenset((p.first.id, p.second.id)) for p in plan.pairs}
    assert frozenset((c1, q2)) not in pairs
    assert frozenset((c1, q1)) in pairs, "another judge's vote does not count for this one"
    assert all(p.prompt == PELICAN for p in plan.pairs), "one configuration on the heron"
    assert all(s1 not in pair and broken not in pair for pair in pairs)
    for pair in plan.pairs:
        assert pair.first.png and pair.second.png and pair.first.status == "finished"
        assert pair.first.model_id != pair.second.model_id
    assert plan.private_skipped == 1 and plan.available == len(plan.pairs) == 3 * 4 - 1
    assert len(pelican_only.pairs) == 1 and pelican_only.available == plan.available
    assert (private.pairs, private.private_skipped) == ((), 1)
    # The first pairs spread over runs: no run twice before every run was used once.
    first_two = [run for p in plan.pairs[:2] for run in (p.first.id, p.second.id)]
    assert len(set(first_two)) == 4
    assert {c2, q2} <= set(first_two)


def test_the_estimate_counts_calls_pictures_and_answers() -> None:
    with SessionStore.open() as store:
        add_session(store, "claude", "qwen")
        add_session(store, "claude", "smol")
        plan = choose_pairs(store, JUDGE_MODEL, max_pairs=2)
    small = estimate(plan.pairs, JudgeSettings(max_tokens=100), JUDGE_MODEL)
    full = estimate(plan.pairs, JudgeSettings(image_px=None, max_tokens=100), JUDGE_MODEL)
    assert (small.calls, small.model, small.output_tokens) == (2, JUDGE_MODEL, 200)
    assert (small.stored_size, small.sent_size, small.picture_tokens) == (
        (1024, 1024),
        (512, 512),
        350,  # 512 * 512 / 750, rounded up
    )
    assert (full.sent_size, full.picture_tokens) == ((1024, 1024), 1399)
    text = full.input_tokens - 4 * 1399
    assert text == small.input_tokens - 4 * 350
    assert 2 * (len(SYSTEM) + len(PELICAN)) // 4 < text < 2 * (len(SYSTEM) + len(PELICAN))
    assert sent_size((2048, 1024), 512) == (512, 256)
    assert sent_size((300, 200), 512) == (300, 200)
    assert image_tokens((3000, 3000)) <= 1600, "Anthropic scales large pictures down first"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("A\nThe pelican is on the bike.", ("a", "The pelican is on the bike.")),
        ("**B**\n\nLine 2: the wheels are round", ("b", "the wheels are round")),
        ("Tie.\nBoth are fine.", ("tie", "Both are fine.")),
        ("both bad\nNeither shows a pelican.", ("both_bad", "Neither shows a pelican.")),
        ("Both_Bad", ("both_bad", None)),
        ("Both are bad.\nNo bicycle in either.", ("both_bad", "No bicycle in either.")),
        ("Picture A is better - it has a beak.", ("a", "it has a beak.")),
        ("Answer: B\nReason: a bicycle at last", ("b", "a bicycle at last")),
        ("**Answer:** `A`\n*why:* a beak", ("a", "a beak")),
        ("```\nA\nclearer\n```", ("a", "clearer")),
        ("A beautiful pelican is in B", None),
        ("I prefer the second one.\nB", None),
        ("", None),
        ("A or B", None),
    ],
)
def test_parse_answer(answer: str, expected: tuple[str, str | None] | None) -> None:
    assert parse_answer(answer) == expected
