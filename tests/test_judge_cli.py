"""``pelican-tui judge`` end to end: settings from the environment, a real store,
the loopback Anthropic server, the plan, the confirmation, progress and summary."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator

import pytest
from _anthropic_server import AnthropicTestServer
from _judge_support import KEY, PELICAN, add_session, red_wins

from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.cli import main

MODEL = "claude-judge-cli"


class _Terminal(io.StringIO):
    """Typed answers on a stdin that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[AnthropicTestServer]:
    with AnthropicTestServer(answer_for=red_wins) as running:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("PELICAN_CLAUDE__BASE_URL", running.base_url)
        monkeypatch.setenv("PELICAN_CLAUDE__MAX_RETRIES", "0")
        monkeypatch.setenv("PELICAN_JUDGE__ENABLED", "true")
        monkeypatch.setenv("PELICAN_JUDGE__MODEL", MODEL)
        yield running


@pytest.fixture
def two_sessions() -> tuple[tuple[int, int], tuple[int, int]]:
    """Two sessions of the pelican: red Claude against blue Qwen; four pairs to judge."""
    with SessionStore.open() as store:
        return add_session(store, "claude", "qwen"), add_session(store, "claude", "qwen")


Cli = Callable[..., tuple[int, str, str]]
"""``cli(*ARGS, stdin=None)``: ``pelican-tui ARGS`` run in this process with ``stdin``
(default: empty, not a terminal); its exit status, stdout and stderr."""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    def run(*args: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", stdin or io.StringIO(""))
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_a_store_that_cannot_be_written_is_refused_before_any_call(
    server: AnthropicTestServer, two_sessions: object, cli: Cli
) -> None:
    """A store on a read-only file system is read now (sessions list, leaderboard):
    the judge would have paid for a call and then failed to save its vote."""
    from _session_support import unwritable

    from pelican_tui.backends import locations

    folder = locations.sessions_db().parent
    with unwritable(folder):
        code, out, err = cli("judge", "--yes")
    assert (code, out) == (1, "")
    assert err.endswith(
        f"pelican-tui judge: the judge's votes could not be saved: its folder {folder} "
        "is not writable\n"
    ), err
    assert server.requests == []


def test_off_by_default(cli: Cli, monkeypatch: pytest.MonkeyPatch, two_sessions: object) -> None:
    with AnthropicTestServer() as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("PELICAN_CLAUDE__BASE_URL", server.base_url)
        code, out, err = cli("judge", "--yes")
    assert (code, out) == (2, "")
    assert err.strip() == (
        "pelican-tui judge: the judge is off; "
        "set judge.enabled = true in config.toml, or PELICAN_JUDGE__ENABLED=true"
    )
    assert server.requests == []


def test_without_a_terminal_the_plan_is_printed_and_nothing_is_sent(
    server: AnthropicTestServer, two_sessions: object, cli: Cli
) -> None:
    code, out, err = cli("judge", "--max-pairs", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"Plan: 3 calls to {MODEL}, one per pair (of 4 pairs not judged yet)."
    tokens = re.fullmatch(
        r"About ([\d,]+) input tokens and at most 600 output tokens \(200 per answer; "
        r"two short lines are asked for\)\.",
        lines[1],
    )
    assert tokens is not None and 3 * 700 < int(tokens[1].replace(",", "")) < 3 * 1000
    assert lines[2] == (
        "2 pictures per call, downscaled from 1024x1024 to 512x512 px: "
        "about 350 tokens each (width x height / 750)."
    )
    assert "stdin is not a terminal" in err and "--yes" in err
    assert server.requests == []
    with SessionStore.open() as store:
        assert store.votes(judge=True) == []


def test_yes_judges_with_progress_and_a_summary_then_the_leaderboard_shows_it(
    server: AnthropicTestServer, two_sessions: tuple[tuple[int, int], tuple[int, int]], cli: Cli
) -> None:
    (red, blue), _ = two_sessions
    with SessionStore.open() as store:
        store.add_vote(blue, red, "b", blind=True)  # the user picked red too
    code, out, err = cli("judge", "--yes", "--prompt", PELICAN)
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) == 8 and len(server.requests) == 4
    asking, progress = lines[::2], lines[1::2]
    assert all(re.fullmatch(rf"\[\d/4\] asking {MODEL}: run \d+ \(.+\) vs run \d+ \(.+\)", line)
               for line in asking), asking  # fmt: skip
    claude = "claude-opus-4-7 · thinking high"
    # The reason speaks of A and B, which the line never matched to the runs. It named
    # each run's configuration again, as the asking line above had just done.
    result = r"\[1/4\] ([AB]) \(run (\d+)\) beat ([AB]) \(run (\d+)\): (.*)"
    said = re.fullmatch(result, progress[0])
    assert said is not None, progress[0]
    assert (said[2], said[4]) == (str(red), str(blue)), "the user's pair went first"
    assert f"run {red} ({claude})" in asking[0], asking[0]
    assert all(claude not in line for line in progress), progress
    assert said[5] == "The red picture has a pelican on the bicycle."
    with SessionStore.open() as store:
        [vote] = [v for v in store.votes(judge=True) if {v.run_a, v.run_b} == {red, blue}]
    shown = {"A": vote.run_a, "B": vote.run_b}
    assert (shown[said[1]], shown[said[3]]) == (red, blue), "each letter is the run shown so"
    summary = out.splitlines()[-3:]
    assert re.fullmatch(
        rf"Judged 4 of 4 pairs with {MODEL}: 4 votes stored "
        r"\(A \d, B \d, tie 0, both bad 0\)\.",
        summary[0],
    )
    assert summary[1] == "Tokens used: 148 input, 48 output."  # the test server's counts
    assert summary[2] == "The judge's ratings: pelican-tui leaderboard --judge"

    code, board, err = cli("leaderboard", "--judge", "--min-votes", "1")
    assert (code, err) == (0, "")
    assert board.startswith("Leaderboard from the judge's votes on every prompt: 4 votes")
    assert "1  claude-opus-4-7 · thinking high" in board
    assert "Agreement with your votes: 1 of 1 pair (100%)." in board
    code, mine, err = cli("leaderboard", "--min-votes", "1")
    assert mine.startswith("Leaderboard from your votes on every prompt: 1 vote,")


@pytest.mark.parametrize(("typed", "judged"), [("y\n", 1), ("\n", 0), ("no\n", 0)])
def test_a_terminal_is_asked_first(
    typed: str, judged: int, server: AnthropicTestServer, two_sessions: object, cli: Cli
) -> None:
    code, out, err = cli("judge", "--max-pairs", "1", stdin=_Terminal(typed))
    assert code == 0
    assert out.startswith(f"Plan: 1 call to {MODEL}")
    assert err.startswith("Judge 1 pair? [y/N] ")
    assert len(server.requests) == judged
    if not judged:
        assert "Not judged." in err


@pytest.mark.parametrize("sessions", [0, 2])
def test_no_key_is_the_one_thing_said(
    sessions: int, server: AnthropicTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is checked before the pairs are looked for: without one, "Nothing to
    judge: no sessions yet." (or the plan) came too, before or after the key's line."""
    with SessionStore.open() as store:
        for _ in range(sessions):
            add_session(store, "claude", "qwen")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    terminal = io.StringIO()  # stdout and stderr on one terminal, in the order written
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setattr("sys.stderr", terminal)
    code = main(["judge", "--yes"])
    assert code == 2
    assert terminal.getvalue() == (
        "pelican-tui judge: the judge has no API key; set ANTHROPIC_API_KEY\n"
    )
    assert server.requests == []


def test_a_rate_limit_stops_the_run_and_says_so(
    server: AnthropicTestServer, two_sessions: object, cli: Cli
) -> None:
    """In the Claude pane's words, its hint after a dash as there and in run: in
    parentheses it read "(429) (wait a minute and try again)", and a refused connection
    "(is the server running?) (check the network connection (and ANTHROPIC_BASE_URL if set))"."""
    server.scenario = "429"
    code, out, err = cli("judge", "--yes")
    assert code == 1 and len(server.requests) == 1
    assert err.splitlines()[-1].endswith(
        ": Anthropic rate limit reached (429) — wait a minute and try again"
    )
    assert out.splitlines()[-2:] == [
        "Stopped: Anthropic rate limit reached (429) — wait a minute and try again; "
        "3 pairs not sent.",
        "Tokens used: 0 input, 0 output.",
    ]
    assert f"Judged 0 of 4 pairs with {MODEL}: 0 votes stored" in out


def test_an_unreadable_answer_is_reported(
    server: AnthropicTestServer, two_sessions: object, cli: Cli
) -> None:
    server.answer_for = lambda body: "Hard to say!"
    code, out, err = cli("judge", "--yes", "--max-pairs", "2")
    assert code == 1 and len(server.requests) == 2
    assert "answer not in the format asked for, not stored: 'Hard to say!'" in err
    assert out.splitlines()[-2] == (
        f"Asked 2 of 2 pairs with {MODEL}: 0 votes stored (A 0, B 0, tie 0, both bad 0), "
        "2 answers unreadable."
    )
    with SessionStore.open() as store:
        assert store.votes(judge=True) == []


def test_answers_unreadable_one_after_another_stop_the_run(
    server: AnthropicTestServer, two_sessions: object, cli: Cli
) -> None:
    """A judge that never answers in the format asked for was asked (and paid) for
    every pair, and the last line began "Judged 40 of 40 pairs"."""
    with SessionStore.open() as store:
        add_session(store, "claude", "qwen")  # 9 pairs
    server.answer_for = lambda body: "Both are lovely in their own way."
    code, out, err = cli("judge", "--yes")
    assert code == 1 and len(server.requests) == 3
    assert err.count("answer not in the format asked for, not stored") == 3
    assert out.splitlines()[-3:] == [
        f"Asked 3 of 9 pairs with {MODEL}: 0 votes stored (A 0, B 0, tie 0, both bad 0), "
        "3 answers unreadable.",
        "Stopped: 3 answers in a row not in the format asked for; 6 pairs not sent.",
        "Tokens used: 111 input, 27 output.",
    ]


def test_a_silent_anthropic_fails_by_the_runs_idle_rule_after_saying_what_it_waits_for(
    server: AnthropicTestServer, two_sessions: object, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the plan nothing was printed, and only claude.timeout_s (600 s) ended a
    call Anthropic never answered: now a line says which pair is asked, and the
    idle_timeout_s the runs go by ends it, in the runs' words."""
    server.scenario = "silent"
    monkeypatch.setenv("PELICAN_IDLE_TIMEOUT_S", "1")
    monkeypatch.setenv("PELICAN_CLAUDE__TIMEOUT_S", "8")
    started = time.monotonic()
    code, out, err = cli("judge", "--yes", "--max-pairs", "2")
    assert time.monotonic() - started < 6
    assert code == 1 and len(server.requests) == 1
    asking, failed = err.splitlines()
    assert re.fullmatch(rf"\[1/2\] asking {MODEL}: run \d+ \(.+\) vs run \d+ \(.+\)", asking)
    words = (
        "no data from Anthropic for 1 s; gave up — check the network connection; "
        "if it is only slow, raise idle_timeout_s"
    )
    assert re.fullmatch(rf"\[1/2\] run \d+ vs run \d+: {re.escape(words)}", failed), failed
    assert f"Stopped: {words}; 1 pair not sent." in out


def test_the_output_is_folded_to_the_terminal(
    server: AnthropicTestServer, two_sessions: object, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan, the progress lines and the summary broke mid-word at the edge of the
    terminal; they fold between words now, as every other command's do."""
    monkeypatch.setenv("COLUMNS", "60")
    code, out, err = cli("judge", "--yes", "--max-pairs", "1")
    assert code == 0, err
    lines = out.splitlines() + err.splitlines()
    assert max(len(line) for line in lines) <= 60, "\n".join(lines)
    assert lines[1].startswith("  ") and not lines[0].startswith(" "), lines  # the plan
    folded = err.splitlines()
    assert folded[0].startswith("[1/1] asking") and folded[1].startswith("  "), folded
    said = " ".join(line.strip() for line in folded)
    assert "The red picture has a pelican on the bicycle." in said


def test_nothing_to_judge_and_an_unknown_prompt(server: AnthropicTestServer, cli: Cli) -> None:
    assert cli("judge", "--yes") == (
        0,
        "Nothing to judge: no sessions yet.\n",
        "",
    )
    with SessionStore.open() as store:
        add_session(store, "qwen", "qwen")
        add_session(store, "claude", "qwen", prompt="a private prompt", private=True)
    code, out, err = cli("judge", "--yes")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Left out 1 prompt from private prompt sets: they are never sent to the judge.",
        "Nothing to judge: no pair of finished runs of different configurations with "
        "pictures that the judge has not voted on yet.",
    ]
    code, out, err = cli("judge", "--prompt", "never used")
    assert (code, out) == (1, "")
    assert err.strip() == (
        "pelican-tui judge: no session has the prompt 'never used'; the sessions' prompts: "
        f"{PELICAN!r} (and 1 from a private prompt set)"
    )
    assert server.requests == []


def test_a_prompt_sets_prompt_is_named_as_the_tui_names_it(
    server: AnthropicTestServer, two_sessions: object, cli: Cli
) -> None:
    """``--prompt heron`` was refused ("no session has the prompt 'heron'") though the
    TUI and the sessions' titles name it so. Now it is that prompt's pairs alone."""
    with SessionStore.open() as store:
        add_session(store, "claude", "qwen", prompt="A heron on one leg", named="birds/heron")
    for given in ("heron", "birds/heron"):
        code, out, err = cli("judge", "--prompt", given)
        assert code == 0, err
        assert out.splitlines()[0] == f"Plan: 1 call to {MODEL}, one per pair.", out
    assert server.requests == []


def test_help_lists_the_exit_statuses(cli: Cli) -> None:
    code, out, _ = cli("judge", "--help")
    assert code == 0 and "--max-pairs N" in out and "130  interrupted" in out
    code, _, err = cli("judge", "--max-pairs", "0")
    assert code == 2 and "0 must be at least 1" in err
