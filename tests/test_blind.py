"""Blind mode and votes from the main screen, through the real app.

Claude is the real loopback server speaking Anthropic's protocol
(tests/_anthropic_server.py); the local model, where used, is the real
llama-server on the tiny model. What is checked is what a person could see:
the screen's text (at 80x24 and 160x48), the SVG screenshot, the terminal
title (also as written to a real pseudo-terminal), the screens a key opens,
and what the store holds after the vote.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _anthropic_server import AnthropicTestServer
from _app_support import COPY_SVG_PROMPT, header_read, make_app, server_ready, wait_for
from _evidence_support import screen_text, screenshot_text
from _terminal_screen import TerminalScreen
from textual import events
from textual.pilot import Pilot

from pelican_tui.app import PelicanApp
from pelican_tui.backends import locations
from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.protocol import DEFAULT_PROMPT
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.screens.gallery_screen import GalleryScreen, gallery_items
from pelican_tui.screens.leaderboard_screen import LeaderboardScreen
from pelican_tui.screens.log_screen import LogScreen
from pelican_tui.screens.pair_screen import PairScreen
from pelican_tui.screens.picture_screen import PictureScreen
from pelican_tui.screens.sessions_screen import SessionsScreen
from pelican_tui.screens.text_screen import TextScreen
from pelican_tui.votes import Contender, shown_as
from pelican_tui.widgets.prompt_box import PromptBox
from pelican_tui.widgets.vote_pair import PairView

GIVEAWAYS = (
    "claude",
    "Claude",
    "opus",
    "local",
    "SmolLM2",
    "135M",
    "Q4_1",
    "tok/s",
    "TTFT",
    "thinking on",
    "thinking off",
    "think on",
    "think off",
    *(f"thinking {effort}" for effort in ("low", "medium", "high", "xhigh", "max")),
    "server:",
    "truncated",
)
"""Words that would tell which model drew a picture, or how fast it was."""


def _hides_the_models(app: PelicanApp, where: str) -> None:
    for text in (screen_text(app), screenshot_text(app), app.terminal_title):
        for word in GIVEAWAYS:
            assert word not in text, f"{where}: {word!r} is on screen before the vote:\n{text}"


def _both_claude(app: PelicanApp) -> None:
    """Both panes on the loopback Claude (thinking on vs off): fast, no llama-server."""
    app.choices["left"] = PaneChoice("claude", True)
    app.choices["right"] = PaneChoice("claude", False)


async def _compared(pilot: Pilot[None], app: PelicanApp) -> tuple[int, int]:
    """Both panes on the loopback Claude, ``r``, and the comparison over: the panes'
    two stored runs (left, right)."""
    _both_claude(app)
    await pilot.press("r")
    assert await wait_for(pilot, lambda: len(app.pane_runs) == 2, 10)
    assert await wait_for(pilot, lambda: not app.comparing, 30)
    return app.pane_runs["left"], app.pane_runs["right"]


@contextlib.asynccontextmanager
async def _two_pairs_waiting(
    monkeypatch: pytest.MonkeyPatch, claude: AnthropicTestServer, *, notifications: bool = False
) -> AsyncIterator[tuple[PelicanApp, Pilot[None]]]:
    """The app at 80x24, blind with 2 samples, both panes on ``claude``, after ``r``:
    its two pairs wait for their votes and the comparison is over. ``notifications``:
    notices are drawn as toasts (as a person sees them)."""
    claude.serve(monkeypatch)
    app = make_app(overrides={"claude": {"max_retries": 0}, "ui": {"blind": True, "samples": 2}})
    async with app.run_test(size=(80, 24), notifications=notifications) as pilot:
        _both_claude(app)
        await pilot.press("r")
        assert await wait_for(pilot, lambda: len(app.pending_pairs) == 2, 60)
        assert await wait_for(pilot, lambda: not app.comparing, 10)
        yield app, pilot


@contextlib.asynccontextmanager
async def _blind_run(
    monkeypatch: pytest.MonkeyPatch, **claude: Any
) -> AsyncIterator[tuple[PelicanApp, Pilot[PelicanApp]]]:
    """The app at 80x24 in blind mode, both panes on a loopback Claude (``claude``: its
    scenario and answers, one try), ``r`` pressed: the pair is on its way."""
    with AnthropicTestServer(**claude) as server:
        server.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}, "ui": {"blind": True}})
        async with app.run_test(size=(80, 24)) as pilot:
            _both_claude(app)
            await pilot.press("r")
            yield app, pilot


async def test_a_sample_whose_run_failed_is_no_pair_to_vote_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claude answered 500: the empty pane became a pair, and its vote a win."""
    async with _blind_run(monkeypatch, scenario="500") as (app, pilot):
        assert await wait_for(pilot, lambda: app.pane("left").state == "failed", 30)
        assert await wait_for(pilot, lambda: not app.comparing, 30)
        assert not app.pending_pairs
        said = " ".join(n.message for n in app.notices)
        # Why, with each pane (no pair: no A or B to give away); it said "left: failed".
        assert "no pair to vote on (left: failed: Anthropic server error (500)" in said, said
        assert "; right: failed: Anthropic server error (500)" in said, said


CUT_TO_NOTHING = (
    '```svg\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300">'
    '<g fill="none"><path d="M'
)
"""An answer cut before its SVG drew anything: closed up, it renders blank."""


async def test_a_sample_whose_svg_was_cut_to_nothing_is_no_pair_to_vote_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both answers cut inside their SVG, closed up: the blank pictures ("empty · 2
    elements") became a pair and were voted on, where the README says a run that drew
    no picture (its SVG cut) is no pair. Now it is none, said with each pane."""
    async with _blind_run(monkeypatch, scenario="ok", answer_text=CUT_TO_NOTHING) as (
        app,
        pilot,
    ):
        assert await wait_for(pilot, lambda: len(app.pane_runs) == 2, 10)
        assert await wait_for(pilot, lambda: not app.comparing, 30)
        await pilot.pause()
        assert not app.pending_pairs, "a pair of two blanks"
        said = [n.message for n in app.notices if "no pair" in n.message]
        assert said, [n.message for n in app.notices]
        assert "(left: no picture: " in said[0] and "; right: no picture: " in said[0], said


async def test_a_side_that_fails_two_blind_samples_in_a_row_is_sent_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, 3 samples, Claude overloaded (529): each sample said "no pair to vote on
    (right: failed)", no reason, and each sent Claude the request again while the local
    model drew a picture no vote could use. Now it says why, and after two samples in a
    row the series sends Claude no more. It then went on with the local model alone, each
    sample "no pair to vote on (right: not sent …)": pictures no vote could use. Now the
    series stops there, saying so once."""
    with AnthropicTestServer(scenario="529") as claude:
        claude.serve(monkeypatch)
        overrides = {
            "claude": {"max_retries": 0},
            "ui": {"blind": True, "samples": 3},
            "prompt": COPY_SVG_PROMPT,
        }
        app = make_app(start_server=True, overrides=overrides)
        async with app.run_test(size=(80, 24)) as pilot:
            await server_ready(pilot)
            assert (app.choices["left"].side, app.choices["right"].side) == ("local", "claude")
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.comparing, 10)
            assert await wait_for(pilot, lambda: not app.comparing, 180)
            said = [n.message for n in app.notices if "no pair to vote on" in n.message]
            sent = len(claude.requests)
            with SessionStore.open(locations.sessions_db()) as store:
                sessions = [store.get_session(s.id) for s in reversed(store.list_sessions())]
    assert not app.pending_pairs
    failed = "right: failed: Anthropic is overloaded (529)"
    why = "claude failed: Anthropic is overloaded (529) on sample 1/3 and sample 2/3"
    assert said == [
        f"sample 1/3: no pair to vote on ({failed}).",
        f"sample 2/3: no pair to vote on ({failed}). Blind series stopped: {why};"
        " no pair can be made (1 sample not run).",
    ], said
    assert sent == 2, f"Claude was sent {sent} requests"
    assert [[r.status for r in s.runs_in("left")] for s in sessions] == [["finished"]] * 2
    assert [[r.status for r in s.runs_in("right")] for s in sessions] == [["failed"]] * 2


async def test_a_blind_sample_with_a_side_that_cannot_run_says_why_and_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, 3 samples, the left pane on a server that cannot be reached (known only
    when it is asked, as the run begins): the series stopped after the first sample and
    said nothing at all, and the panes came back with no word of a pair or of the
    samples not run. Now the sample says why it is no pair (a side not run drew
    nothing: naming it gives no picture away), and that the series stopped there."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        overrides = {
            "claude": {"max_retries": 0},
            "ui": {"blind": True, "samples": 3},
            "remote": {"url": "http://127.0.0.1:9"},  # the discard port: nobody listens
        }
        app = make_app(overrides=overrides)
        async with app.run_test(size=(80, 24)) as pilot:
            app.choices["left"] = PaneChoice("remote", False)
            app.choices["right"] = PaneChoice("claude", False)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: any(n.title == "Blind" for n in app.notices), 30)
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            said = [n.message for n in app.notices if n.title == "Blind"]
    assert not app.pending_pairs
    assert len(said) == 1, said
    assert said[0].startswith("sample 1/3: no pair to vote on (left: not run: "), said
    assert said[0].endswith(" Blind series stopped; no pair can be made (2 samples not run)."), said
    assert len(claude.requests) <= 1, "the series went on"


async def test_blind_r_with_a_side_that_cannot_run_says_so_at_once_and_runs_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, no ANTHROPIC_API_KEY, a pane on Claude: r started the series anyway, the
    local side ran for nothing, and only then "no pair … Blind series stopped"; the pane
    said "press S for server settings", but S sets no key. Now the pane points at the
    environment variable, and r says at once that the pane cannot run, running
    nothing, as a pair needs both."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    app = make_app(overrides={"ui": {"blind": True, "samples": 2}})
    async with app.run_test(size=(80, 24)) as pilot:
        assert await header_read(pilot)
        await pilot.press("w", "b")  # the right pane to Claude
        await pilot.pause()
        assert app.choices["right"].side == "claude"
        line = (
            "ANTHROPIC_API_KEY is not set — set ANTHROPIC_API_KEY and start pelican-tui "
            "again to compare with Claude, b to switch"
        )
        assert app.pane("right").problem == line, app.pane("right").problem
        await pilot.press("r")
        await pilot.pause()
        assert not app.comparing, "the series started"
        said = [n.message for n in app.notices if n.title == "Blind"]
        assert said == [
            f"Nothing run: blind mode needs both panes, and the right pane cannot run: {line}."
            " B leaves blind mode."
        ], said
        assert app.pane("left").state == "idle"


async def test_a_run_without_a_picture_is_no_pair_and_its_note_says_no_token_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The local stand-in's answer, cut at its limit, drew no picture, yet the two
    panes were offered as a pair, the note "cut at its token limit" under A or B
    hinting which side had the lower limit. A pair needs two pictures: it is no pair
    now, said as a failed run is ("left: no picture: …"). The note never says the
    number in blind mode (the notice, the gallery); with the models shown, it does."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        overrides = {
            "claude": {"max_retries": 0},
            "local": {"context": 2048, "max_tokens": 8, "seed": 7},
            "ui": {"blind": True},
            "prompt": COPY_SVG_PROMPT,
        }
        app = make_app(start_server=True, overrides=overrides)
        async with app.run_test(size=(160, 48)) as pilot:
            await server_ready(pilot)
            assert (app.choices["left"].side, app.choices["right"].side) == ("local", "claude")
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.comparing, 10)
            assert await wait_for(pilot, lambda: not app.comparing, 120)
            assert app.pane("left").answer_text, "the stand-in wrote nothing"
            said = [n.message for n in app.notices if "no pair" in n.message]
            assert not app.pending_pairs, f"a pair with one picture: {said}"
            assert said, [n.message for n in app.notices]
            (notice,) = said
            start = "This sample: no pair to vote on (left: no picture: cut at its token limit"
            assert notice.startswith(start), notice
            assert "8" not in notice and "right" not in notice, notice
            await pilot.press("g")
            assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 10)
            gallery = app.screen
            assert isinstance(gallery, GalleryScreen) and gallery.blind
            await pilot.pause()
            cut = [item for item in gallery.shown if item.run.png is None]
            note = cut[0].note(blind=True) or ""
            assert note.startswith("cut at its token limit"), note
            assert "8-token" not in screen_text(app)
            assert "cut at its token limit" in screen_text(app)
            assert (cut[0].note(blind=False) or "").startswith("cut at the 8-token limit")


def test_blind_order_is_a_coin_toss() -> None:
    first = Contender(1, None, None, "", "one", "")
    second = Contender(2, None, None, "", "two", "")
    rng = random.Random(7)
    orders = [shown_as(first, second, blind=True, rng=rng)[0].run_id for _ in range(400)]
    assert 150 < orders.count(1) < 250, "each run is A about half the time"
    assert shown_as(first, second, blind=False) == (first, second), "not blind: as given"


async def test_blind_samples_hide_the_models_until_each_vote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.03) as claude:
        claude.serve(monkeypatch)
        app = make_app(
            overrides={
                "claude": {"max_retries": 0},
                "ui": {"blind": True, "samples": 2, "theme": "pelican-dark"},
            }
        )
        async with app.run_test(size=(160, 48)) as pilot:
            _both_claude(app)
            assert app.terminal_title == "pelican-tui · ready"
            assert not app.query("#blind-pair"), "built when blind mode first hides the panes"
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.pane("left").state == "running", 10)
            await pilot.pause()
            assert "drawing the pictures…" in screen_text(app)
            assert app.terminal_title.startswith("pelican-tui · running 1/4")
            _hides_the_models(app, "while streaming")

            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 2, 60)
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            await pilot.pause()
            assert app.terminal_title == "pelican-tui · vote A/B"
            text = screen_text(app)
            assert "< A better · > B better · = tie · - both bad" in text
            assert "Blind · sample 1/2 · 2 pairs to vote on" in text
            _hides_the_models(app, "160x48, before the vote")
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            _hides_the_models(app, "80x24, before the vote")

            for key, what in (("l", LogScreen), ("a", TextScreen), ("o", SessionsScreen)):
                await pilot.press(key)
                await pilot.pause()
                assert not isinstance(app.screen, what), f"{key} must wait for the vote"
            await pilot.press("g")
            await pilot.pause()
            assert not isinstance(app.screen, GalleryScreen)
            assert sum("hidden until you vote" in n.message for n in app.notices) == 4
            await pilot.press("f")  # the pictures full screen: A and B, nothing more
            assert await wait_for(pilot, lambda: isinstance(app.screen, PictureScreen), 5)
            _hides_the_models(app, "full-screen pictures")
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: not isinstance(app.screen, PictureScreen), 5)

            first, second = app.pending_pairs
            await pilot.press("greater_than_sign")
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 1, 10)
            await pilot.pause()
            _hides_the_models(app, "the second pair, before its vote")
            await pilot.press("equals_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            await pilot.pause()
            (reveal,) = [n.message for n in app.notices if " was " in n.message]
            # One model, both panes: the reveal said "1 claude · …" and "2 claude · …",
            # never what differed.
            assert "· thinking off" in reveal and reveal.count("· thinking ") == 2, reveal
            assert not app.blind_hidden
            after = screen_text(app)
            assert "claude" in after and "tok/s" in after, "after the vote everything shows"
            assert app.terminal_title == "pelican-tui · ready"
    with SessionStore.open(locations.sessions_db()) as store:
        votes = store.votes()
        titles = [store.get_session(pair.a.session_id).title for pair in (first, second)]  # type: ignore[arg-type]
        session = store.get_session(first.a.session_id)  # type: ignore[arg-type]
        (b_slot,) = [run.slot for run in session.runs if run.id == first.b.run_id]
    assert [(v.run_a, v.run_b, v.winner, v.blind) for v in votes] == [
        (first.a.run_id, first.b.run_id, "b", True),
        (second.a.run_id, second.b.run_id, "tie", True),
    ]
    assert first.a.session_id != second.a.session_id, "one session per sample"
    assert [t.endswith(f"sample {n}/2") for n, t in enumerate(titles, 1)] == [True, True]
    assert session.verdict == b_slot, "the session's verdict names the pane that was B"


async def test_a_blind_vote_names_no_model_while_a_pair_of_its_run_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, 2 samples, at 80x24: the vote on the first pair said for 20 seconds "A
    was claude-opus-4-7 · thinking on …, in pane 1; B was …", over the lower half of
    picture B, while the second pair of the same two configurations waited for its
    blind vote. Now the vote is acknowledged without names, and once the last pair is
    voted on, who drew which in every pair is said once. The acknowledgement, "Vote
    saved (1 of 2)", was a 3-second notice over the bottom corner of picture B (its
    facts and border); it is said in the line above A and B now."""
    from textual.widgets._toast import Toast

    with AnthropicTestServer(scenario="ok") as claude:
        async with _two_pairs_waiting(monkeypatch, claude, notifications=True) as (app, pilot):
            first, second = app.pending_pairs
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: app.pending_pairs == [second], 10)
            await pilot.pause()
            _hides_the_models(app, "the second pair, after the first vote")
            view = app.query_one("#blind-pair", PairView)
            assert view.status_text == (
                "Blind · sample 2/2 · vote saved (1 of 2), names after the last pair"
            ), view.status_text
            b = app.query_one("#contender-b").region
            over_b = [t.region for t in app.screen.query(Toast) if t.region.overlaps(b)]
            assert not over_b, f"a notice covers picture B {b}: {over_b}\n{screen_text(app)}"
            await pilot.press("greater_than_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            await pilot.pause()
            reveals = [n.message for n in app.notices if " was " in n.message]
    assert len(reveals) == 1, reveals
    lines = reveals[0].split("\n")
    names = {first.a.pane: first.a.who, first.b.pane: first.b.who}
    assert lines[0] == (
        f"Pane 1 was {names[1].removesuffix(', in pane 1')}; "
        f"pane 2 was {names[2].removesuffix(', in pane 2')}."
    ), lines
    assert lines[1:3] == [
        f"sample 1/2: pane {first.a.pane} better (A was pane {first.a.pane}).",
        f"sample 2/2: pane {second.b.pane} better (A was pane {second.a.pane}).",
    ], lines


async def test_the_leaderboard_waits_for_the_names_of_a_blind_series(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, 2 samples, the first pair voted on: L showed the ratings the vote had
    moved, so which model gained said who drew A, while the names waited for the last
    pair. Now L says it is hidden until the vote, as g, o, a, l and x do; after the
    last vote it opens."""
    with AnthropicTestServer(scenario="ok") as claude:
        async with _two_pairs_waiting(monkeypatch, claude) as (app, pilot):
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 1, 10)
            await pilot.press("L")
            await pilot.pause()
            assert not isinstance(app.screen, LeaderboardScreen), "L shows the ratings moved"
            said = [n.message for n in app.notices]
            assert said[-1].startswith("The leaderboard is hidden until you vote"), said
            await pilot.press("greater_than_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            await pilot.press("L")
            assert await wait_for(pilot, lambda: isinstance(app.screen, LeaderboardScreen), 10)


REVEAL = "Blind vote saved"
"""The title of the notice naming the models of the pair voted on."""


async def test_the_reveal_is_taken_away_when_the_next_pair_is_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, r, the vote, and r again: the 20-second notice naming both models stayed
    over picture B of the next pair, waiting for its blind vote. Now it goes when that
    pair is shown."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}, "ui": {"blind": True}})
        terminal = TerminalScreen(app, 80, 24)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            _both_claude(app)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: bool(app.pending_pairs), 30)
            voted_at = time.monotonic()  # the reveal, said after this, is meant for 20 s

            def reveal_shown() -> bool:
                return any(REVEAL in text for text in (screen_text(app), terminal.text))

            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            said = [n.message for n in app.notices if n.title == REVEAL]
            assert len(said) == 1 and " was " in said[0], said
            assert await wait_for(pilot, reveal_shown, 10), "the reveal is shown"
            await pilot.press("r")
            assert await wait_for(pilot, lambda: bool(app.pending_pairs), 30)
            assert await wait_for(pilot, lambda: not reveal_shown(), 5), terminal.text
            assert time.monotonic() - voted_at < 20, "taken away, not left to time out"


async def test_export_waits_for_the_blind_vote(monkeypatch: pytest.MonkeyPatch) -> None:
    """x with the blind pair waiting wrote the session's run card and page, both naming
    the models, where a, l and o said they wait for the vote. Now x says so too, and
    nothing is written until the vote."""
    async with _blind_run(monkeypatch, scenario="ok") as (app, pilot):
        assert await wait_for(pilot, lambda: bool(app.pending_pairs), 30)
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = [n.message for n in app.notices]
        assert said[-1] == (
            "Export waits until you vote: it names the models (blind mode); B leaves blind mode."
        ), said
        exports = locations.exports_dir()
        assert not exports.exists() or not any(exports.iterdir()), list(exports.iterdir())
        await pilot.press("equals_sign")
        assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
        await pilot.press("x")
        assert await wait_for(pilot, lambda: exports.exists() and any(exports.iterdir()), 30)


async def test_a_second_run_while_pairs_wait_says_which_run_each_sample_is_of(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, 2 samples, r, and r again while the first run's two pairs wait: the line
    over the pictures read "Blind · sample 1/2 (2 pairs to vote on) · next: sample 1/2 ·
    drawing the pict…" at 80 columns: "sample 1/2" twice, the count unclear. Now it says
    the pair shown, how many wait and which run's sample is drawn, whole; the second
    run's pairs say they are of it when their turn comes, and in the reveal."""
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.03) as claude:
        async with _two_pairs_waiting(monkeypatch, claude) as (app, pilot):
            view = app.query_one("#blind-pair", PairView)
            assert view.status_text == "Blind · sample 1/2 · 2 pairs to vote on"
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.pane("left").state == "running", 10)
            await pilot.pause()
            status = "Blind · sample 1/2 · 2 pairs to vote on · next: sample 1/2 of the 2nd run"
            assert view.status_text == status, view.status_text
            assert status in screen_text(app), "whole at 80 columns"
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 4, 60)
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            labels = [pair.label for pair in app.pending_pairs]
            assert labels == ["sample 1/2", "sample 2/2", "sample 1/2 of the 2nd run",
                              "sample 2/2 of the 2nd run"]  # fmt: skip
            await pilot.press("equals_sign")
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 3, 10)
            await pilot.pause()
            await pilot.press("equals_sign")
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 2, 10)
            await pilot.pause()
            status = "Blind · sample 1/2 of the 2nd run · 2 pairs to vote on · vote saved (2 of 4)"
            assert view.status_text == status, view.status_text
            await pilot.press("equals_sign")
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 1, 10)
            await pilot.pause()
            await pilot.press("equals_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            reveals = [n.message for n in app.notices if " was " in n.message]
            assert len(reveals) == 1, reveals
            assert "\nsample 1/2 of the 2nd run: a tie (A was pane " in reveals[0], reveals


async def test_a_blind_run_cancelled_before_its_pair_takes_no_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, r, then r again while the pair waits, cancelled (c) before its pictures
    were drawn, then r once more: that run's line and pair said "the 3rd run", counting
    the cancelled run that made no pair. Now it is the 2nd run, the one after the run
    whose pair waits."""
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.03) as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}, "ui": {"blind": True}})
        async with app.run_test(size=(80, 24)) as pilot:
            _both_claude(app)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 1, 60)
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            view = app.query_one("#blind-pair", PairView)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.pane("left").state == "running", 10)
            await pilot.pause()
            assert view.status_text.endswith("next: the 2nd run"), view.status_text
            await pilot.press("c")
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            assert len(app.pending_pairs) == 1, "the cancelled run made no pair"
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.pane("left").state == "running", 10)
            await pilot.pause()
            status = "Blind · who drew which is hidden · next: the 2nd run"
            assert view.status_text == status, view.status_text
            assert status in screen_text(app), "whole at 80 columns"
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 2, 60)
            assert [pair.label for pair in app.pending_pairs] == ["", "the 2nd run"]


async def test_a_pair_whose_session_was_deleted_is_withdrawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two blind pairs waiting, the first one's session deleted (``pelican-tui sessions
    delete``, another window): a verdict key said "The vote was not saved: no run with
    id …", every time, and the pair stayed on screen with no way past it but to leave
    blind mode. Now it is withdrawn, saying so, and the next pair is voted on."""
    with AnthropicTestServer(scenario="ok") as server:
        async with _two_pairs_waiting(monkeypatch, server) as (app, pilot):
            first, second = app.pending_pairs
            assert first.a.session_id is not None
            with SessionStore.open(locations.sessions_db()) as other:  # as the CLI does
                other.delete_session(first.a.session_id)
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: app.pending_pairs == [second], 10)
            said = [n.message for n in app.notices]
            assert said[-1] == (
                "The pair on screen was withdrawn: its session was deleted. "
                "The next pair is on screen now."
            ), said
            await pilot.pause()
            view = app.query_one("#blind-pair", PairView)
            assert view.status_text == "Blind · sample 2/2", view.status_text
            await pilot.press("greater_than_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
    with SessionStore.open(locations.sessions_db()) as store:
        votes = [(v.run_a, v.run_b, v.winner) for v in store.votes()]
    assert votes == [(second.a.run_id, second.b.run_id, "b")]


async def test_the_reveal_names_each_run_as_the_gallery_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Asked to think, no reasoning came: the reveal said "thinking on" (its request),
    the gallery and the leaderboard "thinking on (did not)" (how it thought)."""
    async with _blind_run(monkeypatch, scenario="ok", thinking_text="") as (app, pilot):
        assert await wait_for(pilot, lambda: bool(app.pending_pairs), 30)
        (pair,) = app.pending_pairs
        await pilot.press("equals_sign")
        assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
        (reveal,) = [n.message for n in app.notices if "A was" in n.message]
    with SessionStore.open(locations.sessions_db()) as store:
        gallery = {
            item.run.id: item.label
            for item in gallery_items(store.runs_for_prompt(app.prompt))  # as g shows them
        }
    assert pair.a.run_id is not None and pair.b.run_id is not None
    a, b = gallery[pair.a.run_id], gallery[pair.b.run_id]
    assert sorted([a, b]) == [
        "claude-opus-4-7 · thinking off",
        "claude-opus-4-7 · thinking on (did not)",
    ]
    assert f"A was {a}, in pane " in reveal and f"B was {b}, in pane " in reveal, reveal


async def test_quitting_with_a_pair_not_voted_on_asks_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """q with the blind pair on screen and no vote quit at once: the vote was never
    asked for, and nothing said it could be cast later. Now q says so, and q again
    quits."""
    async with _blind_run(monkeypatch, scenario="ok") as (app, pilot):
        assert await wait_for(pilot, lambda: bool(app.pending_pairs), 30)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code is None, "quit without a word"
        said = [n.message for n in app.notices]
        assert said[-1] == (
            "The blind pair has no vote yet: vote with < > = - or press q again to quit; "
            "it is kept, and offered again at the next start."
        ), said
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


async def test_q_with_a_run_going_and_pairs_waiting_asks_once_and_q_again_quits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, two pairs waiting, r again, q: it said the run ("q again quits"), the next
    q said the pairs, and one more said them again when the run made a third pair: it
    took three q's, the first notice untrue. Now one notice names the run and the pairs,
    and the next q quits, though the run has made another pair since."""
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.03) as claude:
        async with _two_pairs_waiting(monkeypatch, claude) as (app, pilot):
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.comparing, 10)
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code is None, "quit without a word"
            said = [n.message for n in app.notices]
            assert said[-1] == (
                "A run is in progress: q again quits and keeps it as cancelled. 2 blind "
                "pairs have no vote yet: vote with < > = -; they are kept, and offered "
                "again at the next start."
            ), said
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 3, 60)
            assert app.comparing, "the run's second sample still runs"
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code == 0, [n.message for n in app.notices][-1]


async def test_blind_pairs_not_voted_on_are_offered_at_the_next_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """q with two blind pairs waiting said "you can vote later in the gallery (g)", but
    the gallery marked no pair and the next start said nothing: the pairs were lost.
    Now q says they are kept, and the next start offers them again as A and B, in the
    order and with the labels they had, and says so; a vote on one is stored blind."""
    with AnthropicTestServer(scenario="ok") as claude:
        async with _two_pairs_waiting(monkeypatch, claude) as (app, pilot):
            waiting = [(p.a.run_id, p.b.run_id, p.label) for p in app.pending_pairs]
            await pilot.press("q")
            said = [n.message for n in app.notices]
            assert said[-1] == (
                "2 blind pairs have no vote yet: vote with < > = - or press q again to "
                "quit; they are kept, and offered again at the next start."
            ), said
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code == 0
        heron = "Generate an SVG of a heron riding a unicycle"
        again = make_app(overrides={"ui": {"blind": True}, "prompt": heron})
        async with again.run_test(size=(80, 24)) as pilot:
            assert await wait_for(pilot, lambda: len(again.pending_pairs) == 2, 30)
            await pilot.pause()
            kept = [(p.a.run_id, p.b.run_id, p.label) for p in again.pending_pairs]
            assert kept == waiting
            box = again.query_one("#prompt", PromptBox)
            assert box.value == DEFAULT_PROMPT, "the prompt the pair answers, not the heron"
            assert box.disabled
            said = [n.message for n in again.notices]
            assert "2 blind pairs from last time wait for your vote." in said, said
            view = again.query_one("#blind-pair", PairView)
            assert view.status_text == "Blind · sample 1/2 · 2 pairs to vote on"
            _hides_the_models(again, "a pair from last time")
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: len(again.pending_pairs) == 1, 10)
        with SessionStore.open(locations.sessions_db()) as store:
            vote = store.latest_vote(waiting[0][0], waiting[0][1])
    assert vote is not None and vote.blind, vote
    assert (vote.run_a, vote.run_b, vote.winner) == (waiting[0][0], waiting[0][1], "a")


async def test_the_reveal_after_a_restart_names_the_pairs_voted_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blind, 2 samples, a vote on the first pair, q q, a new start, the vote on the
    second: the reveal named only the second pair; the first, voted before the quit,
    was never named. Now its vote is kept with the pair waiting, and the reveal after
    the last pair names both, as without a restart."""
    with AnthropicTestServer(scenario="ok") as claude:
        async with _two_pairs_waiting(monkeypatch, claude) as (app, pilot):
            first, second = app.pending_pairs
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: app.pending_pairs == [second], 10)
            await pilot.press("q", "q")
            await pilot.pause()
            assert app.return_code == 0
            assert not [n for n in app.notices if " was " in n.message], "named before the end"
        again = make_app(overrides={"ui": {"blind": True}})
        async with again.run_test(size=(80, 24)) as pilot:
            assert await wait_for(pilot, lambda: len(again.pending_pairs) == 1, 30)
            await pilot.pause()
            view = again.query_one("#blind-pair", PairView)
            assert "vote saved (1 of 2)" in view.status_text, view.status_text
            await pilot.press("L")
            await pilot.pause()
            assert not isinstance(again.screen, LeaderboardScreen), "L shows the first vote"
            await pilot.press("greater_than_sign")
            assert await wait_for(pilot, lambda: not again.pending_pairs, 10)
            await pilot.pause()
            reveals = [n.message for n in again.notices if " was " in n.message]
        with SessionStore.open(locations.sessions_db()) as store:
            assert len(store.votes()) == 2
    assert len(reveals) == 1, reveals
    lines = reveals[0].split("\n")
    assert lines[1:3] == [
        f"sample 1/2: pane {first.a.pane} better (A was pane {first.a.pane}).",
        f"sample 2/2: pane {second.b.pane} better (A was pane {second.a.pane}).",
    ], lines


async def test_a_notice_leaves_the_terminal_when_its_time_is_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """n, B, r in blind mode: "Samples: r runs each pane 2 times", meant for 4 s, stayed
    on the terminal over the B picture until the pictures were drawn, ~15 s."""
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.05) as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        terminal = TerminalScreen(app, 80, 24)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            _both_claude(app)
            await pilot.press("n", "B", "r")
            assert await wait_for(pilot, lambda: "Samples: r runs" in terminal.text, 5)
            assert await wait_for(pilot, lambda: len(app.screen.query("Toast")) == 2, 5)
            assert len(app.notices) == 2, app.notices  # the toasts are these two notices
            # The toasts gone from the screen's widgets (read without drawing the screen,
            # which would hide the cells left on the terminal):
            assert await wait_for(pilot, lambda: not app.screen.query("Toast"), 10)
            assert app.comparing, "the notices went while the pictures were drawn"
            await pilot.pause(0.3)  # a few screen updates
            for notice in ("Samples: r runs", "Blind mode on"):
                assert notice not in screen_text(app)
                assert notice not in terminal.text, terminal.text


async def test_blind_comparison_of_the_local_model_and_claude(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real llama-server on the left, Claude on the right: nothing names either."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(
            start_server=True,
            overrides={
                "prompt": COPY_SVG_PROMPT,
                "claude": {"max_retries": 0},
                "local": {"context": 2048, "max_tokens": 100, "seed": 7},
                "ui": {"blind": True, "theme": "pelican-dark"},
            },
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await server_ready(pilot, 90)
            assert app.choices["left"].side == "local" and app.choices["right"].side == "claude"
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.blind_hidden, 5)
            await pilot.pause()
            _hides_the_models(app, "80x24, streaming")
            assert await wait_for(pilot, lambda: bool(app.pending_pairs), 180)
            await pilot.pause()
            _hides_the_models(app, "80x24, before the vote")
            await pilot.resize_terminal(160, 48)
            await pilot.pause()
            _hides_the_models(app, "160x48, before the vote")
            (pair,) = app.pending_pairs
            await pilot.press("minus")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            await pilot.pause()
            after = screen_text(app)
            assert "local" in after and "claude" in after and "tok/s" in after
            revealed = " ".join(n.message for n in app.notices)
            assert "A was" in revealed and "B was" in revealed
    with SessionStore.open(locations.sessions_db()) as store:
        (vote,) = store.votes()
        session = store.get_session(pair.a.session_id)  # type: ignore[arg-type]
    assert (vote.run_a, vote.run_b, vote.winner, vote.blind) == (
        pair.a.run_id,
        pair.b.run_id,
        "both_bad",
        True,
    )
    assert session.verdict == "both_bad", "the session says so (it said no verdict)"


async def test_verdict_keys_vote_on_the_panes_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """< then > on the panes' two pictures: the second key said "Already voted on these
    two pictures: left is better" and the vote stayed, though a vote again in the
    gallery replaces the first. Now the same key again says the vote is saved (a double
    tap), and another key changes it: a new vote, the one the ratings and the session's
    verdict count."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(160, 48)) as pilot:
            runs = await _compared(pilot, app)
            assert "claude" in screen_text(app), "not blind: the panes name their models"

            async def said_after(key: str) -> str:
                count = len(app.notices)
                await pilot.press(key)
                assert await wait_for(pilot, lambda n=count: len(app.notices) > n, 5), key
                return app.notices[-1].message

            said = [await said_after(k) for k in ("less_than_sign",) * 2 + ("greater_than_sign",)]
            session_id = app.session_id
    assert said == [
        "Verdict saved: left is better.",
        "Already voted on these two pictures: left is better.",
        "Vote changed: right is better (was: left is better).",
    ], said
    with SessionStore.open(locations.sessions_db()) as store:
        votes = store.votes()
        verdict = store.get_session(session_id).verdict  # type: ignore[arg-type]
    assert [(v.run_a, v.run_b, v.winner, v.blind) for v in votes] == [
        (*runs, "a", False),
        (*runs, "b", False),
    ]
    assert verdict == "right", "the session's verdict is the vote that replaced the first"


async def test_no_verdict_on_a_run_cancelled_before_its_picture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """r, then c before the pictures: the panes said "cancelled before a picture", and
    < said "Verdict saved: left is better. (not rated: a run did not finish)", and the
    sessions list showed the verdict. Now it says why there is no verdict, and stores
    none."""
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.05) as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(160, 48)) as pilot:
            _both_claude(app)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: len(app.pane_runs) == 2, 10)
            await pilot.press("c")
            assert await wait_for(pilot, lambda: not app.comparing, 30)
            await pilot.pause()
            assert "cancelled before a picture" in screen_text(app)
            count = len(app.notices)
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: len(app.notices) > count, 5)
            said = app.notices[-1].message
            session_id = app.session_id
    with SessionStore.open(locations.sessions_db()) as store:
        runs = {run.slot: run.status for run in store.get_session(session_id).runs}  # type: ignore[arg-type]
        cancelled = [f"the {slot} pane's run was cancelled" for slot in ("left", "right")
                     if runs[slot] == "cancelled"]  # fmt: skip
        assert cancelled, runs
        assert said == (
            f"No verdict: {' and '.join(cancelled)}; a verdict compares two finished pictures."
        ), said
        assert store.votes() == []
        assert store.get_session(session_id).verdict is None  # type: ignore[arg-type]


async def test_no_verdict_on_runs_that_finished_without_a_picture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claude answered in words, no SVG: both runs finished with no picture, and < said
    "Verdict saved: left is better.", a vote the ratings counted (a blind sample makes
    no pair of such runs). Now no verdict is stored, said as for a run that did not
    finish, and the ratings leave out a vote on them (one cast in the gallery)."""
    from pelican_tui.backends.ratings.leaderboard import NEITHER_PICTURE, leaderboard, unrated

    answer = "I cannot draw here, but picture a pelican on a bicycle."
    with AnthropicTestServer(scenario="ok", answer_text=answer) as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(160, 48)) as pilot:
            left, right = await _compared(pilot, app)
            count = len(app.notices)
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: len(app.notices) > count, 5)
            said = app.notices[-1].message
            session_id = app.session_id
    nothing = "the left pane's run drew no picture and the right pane's run drew no picture"
    assert said == f"No verdict: {nothing}; a verdict compares two finished pictures.", said
    with SessionStore.open(locations.sessions_db()) as store:
        assert [run.status for run in store.get_session(session_id).runs] == ["finished"] * 2  # type: ignore[arg-type]
        assert store.votes() == []
        assert store.get_session(session_id).verdict is None  # type: ignore[arg-type]
        store.add_vote(left, right, "a", blind=False)  # as the gallery's pair screen stores it
        headers = store.run_headers([left, right])
        assert unrated(headers[left], headers[right]) == NEITHER_PICTURE, "not 'a run'"
        assert leaderboard(store).counted == 0


async def test_a_verdict_key_after_a_gallery_vote_says_the_gallery_vote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A vote on the panes' two pictures, then another on the same two in the gallery
    (it replaces the first in the ratings and the session's verdict): a verdict key
    on the main screen still said "Already voted on these two pictures: left is
    better", the vote the store no longer counts."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(160, 48)) as pilot:
            await _compared(pilot, app)
            right = app.pane_runs["right"]
            await pilot.press("less_than_sign")
            assert await wait_for(
                pilot, lambda: any("Verdict saved" in n.message for n in app.notices), 5
            )
            await pilot.press("g")
            assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 10)
            gallery = app.screen
            assert isinstance(gallery, GalleryScreen)
            assert await wait_for(pilot, lambda: gallery.loaded and len(gallery.cells()) == 2, 10)
            await pilot.press("space", "right", "space", "enter")
            assert await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), 5)
            pair_screen = app.screen
            assert isinstance(pair_screen, PairScreen)
            # The right pane's picture wins this time, whichever side it is shown on.
            key = "less_than_sign" if pair_screen.pair.a.run_id == right else "greater_than_sign"
            await pilot.press(key)
            assert await wait_for(pilot, lambda: pair_screen.winner is not None, 5)
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: app.screen is gallery, 5)
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: app.screen is app.screen_stack[0], 5)
            await pilot.press("greater_than_sign")  # the gallery's vote: the same again
            assert await wait_for(pilot, lambda: "Already voted" in app.notices[-1].message, 5), [
                n.message for n in app.notices
            ]
            said = app.notices[-1].message
            session_id = app.session_id
    assert said == "Already voted on these two pictures: right is better.", said
    with SessionStore.open(locations.sessions_db()) as store:
        assert store.get_session(session_id).verdict == "right"  # type: ignore[arg-type]


async def test_a_gallery_vote_with_the_models_shown_does_not_replace_a_blind_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A blind vote on a pair, then B (the models shown), the gallery (g) and a vote on
    the same two pictures the other way: it was stored and replaced the blind vote in
    the ratings and the session's verdict, counted as a vote cast blind, where a verdict
    key on the main screen refuses it. Now the pair screen refuses it too, in the same
    words, and the blind vote stays."""
    async with _blind_run(monkeypatch, scenario="ok") as (app, pilot):
        assert await wait_for(pilot, lambda: len(app.pending_pairs) == 1, 30)
        assert await wait_for(pilot, lambda: not app.comparing, 10)
        blind_winner = app.pending_pairs[0].a.run_id
        await pilot.press("less_than_sign")  # A better
        assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
        await pilot.press("B")
        assert not app.blind
        await pilot.press("g")
        assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 10)
        gallery = app.screen
        assert isinstance(gallery, GalleryScreen) and not gallery.blind
        assert await wait_for(pilot, lambda: gallery.loaded and len(gallery.cells()) == 2, 10)
        await pilot.press("space", "right", "space", "enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), 5)
        pair_screen = app.screen
        assert isinstance(pair_screen, PairScreen)
        shown_a = pair_screen.pair.a.run_id == blind_winner
        # Said on opening (it said "not blind" until a key), whole at 80 columns.
        line = f"from the gallery · voted on blind before ({'A' if shown_a else 'B'} is better)"
        line += ": that vote stays"
        view = pair_screen.query_one(PairView)
        assert await wait_for(pilot, lambda: view.status_text == line, 5), view.status_text
        await pilot.pause()
        assert line in screen_text(app), screen_text(app)
        await pilot.press("greater_than_sign" if shown_a else "less_than_sign")  # the other
        refused = "These two pictures were voted on blind"
        assert await wait_for(pilot, lambda: refused in app.notices[-1].message, 5), [
            n.message for n in app.notices
        ]
        said = app.notices[-1].message
        status = pair_screen.query_one(PairView).status_text
        assert pair_screen.winner is None, "the vote was taken"
        run_a, run_b = pair_screen.pair.a.run_id, pair_screen.pair.b.run_id
    was = "A is better" if shown_a else "B is better"
    assert said == (
        f"These two pictures were voted on blind ({was}): that vote stays, as a vote "
        "cast with the models shown cannot replace it."
    ), said
    assert status == line, "the sentence was cut at 80 columns"
    assert run_a is not None and run_b is not None
    with SessionStore.open(locations.sessions_db()) as store:
        votes = [(v.winner, v.blind) for v in store.votes()]
        latest = store.latest_vote(run_a, run_b)
    assert votes == [("a", True)], votes
    assert latest is not None and latest.blind


async def test_a_verdict_key_on_a_session_voted_on_before_a_restart_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """< on two pictures, quit, start again, open that session (o, enter) and < again:
    it said "Verdict saved: left is better." and stored the vote twice (the app only
    knew the votes cast since it started). Now it reads the store: already voted."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(80, 24)) as pilot:
            runs = await _compared(pilot, app)
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: bool(app.notices), 5)
            assert app.notices[-1].message == "Verdict saved: left is better."
        again = make_app(overrides={"claude": {"max_retries": 0}})
        async with again.run_test(size=(80, 24)) as pilot:
            await pilot.press("o")
            assert await wait_for(pilot, lambda: isinstance(again.screen, SessionsScreen), 10)
            sessions = again.screen
            assert isinstance(sessions, SessionsScreen)
            assert await wait_for(pilot, lambda: sessions.loaded, 10)
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: len(again.pane_runs) == 2, 10)
            assert (again.pane_runs["left"], again.pane_runs["right"]) == runs
            count = len(again.notices)
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: len(again.notices) > count, 5)
            said = again.notices[-1].message
    assert said == "Already voted on these two pictures: left is better.", said
    with SessionStore.open(locations.sessions_db()) as store:
        assert [(v.run_a, v.run_b, v.winner) for v in store.votes()] == [(*runs, "a")]


async def test_a_vote_the_ratings_leave_out_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two pictures of one configuration: stored, but no rating can come of it; the app
    said "Verdict saved" as for any other."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(160, 48)) as pilot:
            app.choices["left"] = app.choices["right"] = PaneChoice("claude", True)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: len(app.pane_runs) == 2, 10)
            assert await wait_for(pilot, lambda: not app.comparing, 30)
            await pilot.press("less_than_sign")
            said = (
                "Verdict saved: left is better. (not rated: both pictures are of one configuration)"
            )
            assert await wait_for(pilot, lambda: any(n.message == said for n in app.notices), 5), [
                n.message for n in app.notices
            ]


def _read_until(fd: int, wanted: bytes, timeout_s: float) -> bytes:
    """Read the pty until ``wanted`` appears (or the time is up, or it closes)."""
    seen = b""
    deadline = time.monotonic() + timeout_s
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.slow
def test_terminal_title_names_the_app_and_never_a_model(tmp_path: Path) -> None:
    """The real pelican-tui on a pseudo-terminal writes its title with OSC 2 and gives
    the terminal's own title back on exit (xterm's title stack)."""
    import pty
    import sys

    env = {**os.environ, "TERM": "xterm-256color", "PELICAN_HOME": str(tmp_path / "home"),
           "PELICAN_LOCAL__CONTEXT": "1024", "PELICAN_UI__BLIND": "true"}  # fmt: skip
    pid, fd = pty.fork()
    if pid == 0:  # the child: become pelican-tui
        argv = [sys.executable, "-m", "pelican_tui", "--image-mode", "halfcell"]
        os.execvpe(sys.executable, argv, env)
    try:
        out = _read_until(fd, "\x1b]2;pelican-tui · ready\x07".encode(), 60)
        assert "\x1b]2;pelican-tui · ready\x07".encode() in out
        assert b"\x1b[22;0t" in out, "the terminal's title is kept first"
        os.write(fd, b"q")
        out += _read_until(fd, b"\x1b[23;0t", 30)
        assert b"\x1b[23;0t" in out, "and given back on exit"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
    titles = [part.split(b"\x07")[0] for part in out.split(b"\x1b]2;")[1:]]
    assert titles and all(t.startswith("pelican-tui · ".encode()) for t in titles)
    for title in titles:
        for word in GIVEAWAYS:
            assert word.encode() not in title


async def test_a_verdict_key_after_the_blind_vote_names_the_pane_that_won(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the blind vote the panes are back, left and right, with no A or B on
    screen; a verdict key then said "Already voted on these two pictures: A is better".
    The pane that won's key says it is saved. Another key replaced the blind vote by
    one cast with the models shown ("Vote changed: a tie (was: …)", stored not blind,
    counted by the ratings as any other); now it is refused, and the blind vote kept."""
    async with _blind_run(monkeypatch, scenario="ok") as (app, pilot):
        assert await wait_for(pilot, lambda: bool(app.pending_pairs), 30)
        (pair,) = app.pending_pairs
        await pilot.press("less_than_sign")
        assert await wait_for(pilot, lambda: not app.blind_hidden, 10)
        won = "left" if pair.a.run_id == app.pane_runs["left"] else "right"
        await pilot.press("less_than_sign" if won == "left" else "greater_than_sign")
        await pilot.pause()
        said = [n.message for n in app.notices]
        assert said[-1] == f"Already voted on these two pictures: {won} is better.", said
        await pilot.press("equals_sign")
        assert await wait_for(pilot, lambda: len(app.notices) > len(said), 5), said
        said = [n.message for n in app.notices]
        assert said[-1] == (
            f"These two pictures were voted on blind ({won} is better): that vote stays, "
            "as a vote cast with the models shown cannot replace it."
        ), said
        session_id = pair.a.session_id
    with SessionStore.open(locations.sessions_db()) as store:
        votes = [(v.run_a, v.run_b, v.winner, v.blind) for v in store.votes()]
        verdict = store.get_session(session_id).verdict  # type: ignore[arg-type]
    assert votes == [(pair.a.run_id, pair.b.run_id, "a", True)]
    assert verdict == won


async def test_a_blind_vote_the_ratings_leave_out_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two pictures of one configuration, voted on blind: the reveal said nothing of the
    ratings leaving the vote out, where the same vote not blind says so."""
    with AnthropicTestServer(scenario="ok") as server:
        server.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}, "ui": {"blind": True}})
        async with app.run_test(size=(80, 24)) as pilot:
            app.choices["left"] = app.choices["right"] = PaneChoice("claude", True)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: bool(app.pending_pairs), 30)
            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            (reveal,) = [n.message for n in app.notices if "A was" in n.message]
    assert reveal.endswith(" (not rated: both pictures are of one configuration)"), reveal


async def test_a_vote_key_pressed_twice_votes_on_the_pair_shown_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two samples to vote on, < pressed twice quickly (a double tap, a key held): the
    second press voted on the second pair before it was ever drawn. Now it says to look
    at the next pair first, and that pair waits for its own vote."""
    with AnthropicTestServer(scenario="ok") as server:
        async with _two_pairs_waiting(monkeypatch, server) as (app, pilot):
            second = app.pending_pairs[1]
            for _ in range(2):  # in one read from the terminal, as a double tap arrives
                app.post_message(events.Key("less_than_sign", "<"))
            assert await wait_for(pilot, lambda: len(app.pending_pairs) < 2, 10)
            await pilot.pause()
            assert app.pending_pairs == [second], "the second pair was voted on unseen"
            said = [n.message for n in app.notices]
            assert "The next pair is on screen now: look at it before you vote." in said, said
            await pilot.press("greater_than_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
    with SessionStore.open(locations.sessions_db()) as store:
        assert [v.winner for v in store.votes()] == ["a", "b"]


async def test_the_panes_after_the_last_pair_was_withdrawn_say_their_runs_were_deleted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one blind pair waiting, its session deleted (``pelican-tui sessions delete``):
    its vote withdrew it, blind mode ended, and the panes came back showing its runs,
    titled as if stored; a verdict key then said "session store: no run with id …".
    Now the panes say their runs were deleted, and so does a verdict key."""
    async with _blind_run(monkeypatch, scenario="ok") as (app, pilot):
        assert await wait_for(pilot, lambda: bool(app.pending_pairs), 30)
        assert await wait_for(pilot, lambda: not app.comparing, 10)
        (pair,) = app.pending_pairs
        session_id = pair.a.session_id
        assert session_id is not None
        with SessionStore.open(locations.sessions_db()) as other:  # as the CLI does
            other.delete_session(session_id)
        await pilot.press("less_than_sign")
        assert await wait_for(pilot, lambda: not app.blind_hidden, 10)
        await pilot.pause()
        said = [n.message for n in app.notices]
        assert said[-1] == (
            "The pair on screen was withdrawn: its session was deleted. "
            "The panes show its deleted runs."
        ), said
        text = screen_text(app)
        assert f"(session #{session_id} deleted)" in text, text
        assert "deleted run · r runs the panes as set now" in text, text
        for key in ("greater_than_sign", "equals_sign"):
            count = len(app.notices)
            await pilot.press(key)
            assert await wait_for(pilot, lambda n=count: len(app.notices) > n, 5), key
            assert app.notices[-1].message == (
                f"Session #{session_id} was deleted: nothing to vote on until the next run (r)."
            ), [n.message for n in app.notices]


async def test_a_verdict_key_on_panes_whose_session_was_deleted_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not blind, the panes' session deleted from outside (``pelican-tui sessions
    delete``): a verdict key said "session store: no run with id …", every time. Now it
    says the session was deleted, and the panes' titles say it too."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(80, 24)) as pilot:
            await _compared(pilot, app)
            session_id = app.session_id
            assert session_id is not None
            with SessionStore.open(locations.sessions_db()) as other:  # as the CLI does
                other.delete_session(session_id)
            for key in ("less_than_sign", "less_than_sign"):
                count = len(app.notices)
                await pilot.press(key)
                assert await wait_for(pilot, lambda n=count: len(app.notices) > n, 5), key
                assert app.notices[-1].message == (
                    f"Session #{session_id} was deleted: nothing to vote on until the next run (r)."
                ), [n.message for n in app.notices]
            await pilot.pause()
            assert f"(session #{session_id} deleted)" in screen_text(app), screen_text(app)


async def test_blind_mode_left_with_one_pair_waiting_says_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B with one pair waiting said "1 pair not voted on: vote on them in the gallery";
    then "vote on it in the gallery", where nothing marked it. The panes show that pair
    now, the models named: B says to vote on it there, and the vote is not blind."""
    async with _blind_run(monkeypatch, scenario="ok") as (app, pilot):
        assert await wait_for(pilot, lambda: len(app.pending_pairs) == 1, 30)
        await pilot.press("B")
        said = [n.message for n in app.notices]
        assert said[-1] == (
            "Blind mode off. The panes show the pair not voted on, the models named: vote "
            "on it with < > = -."
        ), said


async def test_blind_pairs_set_aside_by_blind_mode_off_are_offered_when_it_is_on_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B with two blind pairs waiting said "vote on them in the gallery (g)", where
    nothing marked them. Now the pair the panes show is named there (no blind vote on
    it any more), the other is kept, and B again offers it as A and B."""
    with AnthropicTestServer(scenario="ok") as claude:
        async with _two_pairs_waiting(monkeypatch, claude) as (app, pilot):
            first, second = app.pending_pairs
            assert {second.a.run_id, second.b.run_id} == set(app.pane_runs.values())
            await pilot.press("B")
            said = [n.message for n in app.notices]
            assert said[-1] == (
                "Blind mode off. The panes show the pair not voted on, the models named: "
                "vote on it with < > = -. 1 blind pair not voted on is kept: B shows it again."
            ), said
            assert not app.pending_pairs
            await pilot.press("B")
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 1, 10)
            (again,) = app.pending_pairs
            assert (again.a.run_id, again.b.run_id, again.label) == (
                first.a.run_id, first.b.run_id, "sample 1/2")  # fmt: skip
            said = [n.message for n in app.notices]
            assert "1 blind pair not voted on waits for your vote." in said, said
