"""``pelican-tui judge``: a vision-capable Claude model votes on pairs of pictures, blind.

Says first, and only, what stops the judge (it is off, there is no API key).
Prints the plan (how many calls, about how many tokens, which model) and asks
before calling, unless ``--yes``; with stdin not a terminal and no ``--yes`` it
prints the plan and stops. Then it judges the pairs one by one, progress on
stderr (a line before each call, a line after it), and prints a summary on
stdout; it stops at a failed call, or after a few answers in a row not in the
format asked for. Lines are folded between words on a terminal, as every
command's are. The judge's votes are
stored apart from yours: ``pelican-tui leaderboard --judge`` rates them and
says how often the judge agreed with you. See :mod:`pelican_tui.backends.judge`.

Exit status (also in ``--help``): 0 done (also nothing to judge, or not
confirmed); 1 a call failed or an answer could not be read, the store cannot be
used, or no session has the ``--prompt``; 2 bad usage, or settings that stop
the judge (it is off, there is no key, invalid settings); 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from pelican_tui.backends.events import Failed
from pelican_tui.backends.idle import IdleRule
from pelican_tui.backends.judge import (
    UNREADABLE_IN_A_ROW,
    CallFailed,
    Estimate,
    Judge,
    Judged,
    Outcome,
    Pair,
    Plan,
    TokenUse,
    Unparseable,
    choose_pairs,
    estimate,
    judge_pairs,
)
from pelican_tui.backends.ratings.configuration import configuration_of
from pelican_tui.backends.settings import SettingsError, load_settings
from pelican_tui.backends.store.records import Run, SessionStoreMissing
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import plural
from pelican_tui.cli.args import Console, Exit, Parser, command, command_parser, positive
from pelican_tui.cli.columns import print_folded
from pelican_tui.cli.store_access import add_prompt_option, chosen_prompt, with_store

PROG = "pelican-tui judge"
DESCRIPTION = "Let a vision-capable Claude model vote on pairs of pictures, blind."

EPILOG = f"""\
The judge sees the prompt and the two stored pictures (downscaled to
judge.image_px, 512 px by default), labelled A and B in random order, never
which model drew them. It answers A, B, tie or both bad, and why in one line.
Only pairs of finished runs of different configurations that this judge has not
voted on are sent; pairs you voted on go first. Prompts from private prompt
sets are never sent. The judge is off until judge.enabled = true; it uses
ANTHROPIC_API_KEY and judge.model (by default claude.model). Judging stops at
a call that fails (no data for idle_timeout_s fails it, as it does a run), and
after {UNREADABLE_IN_A_ROW} answers in a row not in the format asked for.

exit status:
  0    done (also: nothing to judge, or not confirmed)
  1    a call failed or an answer could not be read, the store cannot be used,
       or no session has the --prompt
  2    bad usage, or the judge is off, has no key, or the settings are invalid
  130  interrupted (the votes stored so far are kept)
"""


def _parser() -> Parser:
    parser = command_parser(PROG, description=DESCRIPTION, epilog=EPILOG)
    add_prompt_option(parser, "only pairs of runs of this prompt")
    parser.add_argument(
        "--max-pairs",
        type=positive,
        metavar="N",
        help="judge at most N pairs (default: the judge.max_pairs setting, 10)",
    )
    parser.add_argument("--yes", action="store_true", help="judge without asking first")
    return parser


@command(PROG, _parser)
def judge_command(args: argparse.Namespace, console: Console) -> int:
    """Run ``pelican-tui judge ARGV``; returns the exit status. The confirmation is
    read from ``sys.stdin``."""
    try:
        settings = load_settings()
    except SettingsError as error:
        return console.invalid_settings(error)
    judge = Judge(settings.judge, settings.claude, idle=IdleRule(settings.idle_timeout_s))
    problem = judge.problem()
    if problem is not None:  # before the pairs are looked for: the one thing said
        return console.fail(_problem_words(problem), Exit.USAGE)
    max_pairs = args.max_pairs or judge.settings.max_pairs

    def no_store(_: SessionStoreMissing) -> int:
        print_folded("Nothing to judge: no sessions yet.", console.out)
        return Exit.OK

    def plan_then_judge(store: SessionStore) -> int:
        if store.read_only is not None:  # before any call is paid for
            return console.fail(f"the judge's votes could not be saved: {store.read_only}")
        prompt, missing = chosen_prompt(store, args.prompt)
        if missing:
            return console.fail(missing)
        plan = choose_pairs(store, judge.model, prompt=prompt, max_pairs=max_pairs)
        cost = estimate(plan.pairs, judge.settings, judge.model)
        print_folded(describe_plan(plan, cost), console.out)
        console.out.flush()
        if not plan.pairs:
            return Exit.OK
        if not args.yes and not _confirmed(console, len(plan.pairs)):
            return Exit.OK
        return _judge(store, judge, plan.pairs, console)

    return with_store(console, plan_then_judge, missing=no_store)


def describe_plan(plan: Plan, cost: Estimate) -> str:
    """What a judge run will do and cost, before any call."""
    lines: list[str] = []
    if plan.private_skipped:
        n = plan.private_skipped
        lines.append(
            f"Left out {plural(n, 'prompt')} from private prompt sets: "
            "they are never sent to the judge."
        )
    if not plan.pairs:
        lines.append(
            "Nothing to judge: no pair of finished runs of different configurations with "
            "pictures that the judge has not voted on yet."
        )
        return "\n".join(lines)
    calls = f"{plural(cost.calls, 'call')}"
    cut = f" (of {plan.available} pairs not judged yet)" if plan.available > cost.calls else ""
    voted = sum(pair.user_voted for pair in plan.pairs)
    lines.append(f"Plan: {calls} to {cost.model}, one per pair{cut}.")
    lines.append(
        f"About {cost.input_tokens:,} input tokens and at most {cost.output_tokens:,} output "
        f"tokens ({cost.output_tokens // max(cost.calls, 1):,} per answer; two short lines "
        "are asked for)."
    )
    if cost.stored_size and cost.sent_size:
        sent, stored = _px(cost.sent_size), _px(cost.stored_size)
        how = f"downscaled from {stored} to {sent}" if sent != stored else f"at {sent}"
        lines.append(
            f"2 pictures per call, {how} px: about {cost.picture_tokens:,} tokens each "
            "(width x height / 750)."
        )
    if voted:
        lines.append(f"{voted} of the pairs you voted on too: they measure agreement.")
    return "\n".join(lines)


def _px(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _confirmed(console: Console, pairs: int) -> bool:
    """Whether the person at the terminal says yes (asked on stderr, read from stdin)."""
    if not sys.stdin.isatty():
        console.note(
            "not judged: stdin is not a terminal to confirm on (run again with --yes to judge)"
        )
        return False
    ask = f"Judge {plural(pairs, 'pair')}? [y/N] "
    print(ask, end="", file=console.err, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer in ("y", "yes"):
        return True
    print("Not judged.", file=console.err)
    return False


def _judge(store: SessionStore, judge: Judge, pairs: Sequence[Pair], console: Console) -> int:
    outcomes: list[Outcome] = []

    def asking(pair: Pair) -> None:
        said = f"asking {judge.model}: {_run(pair.first)} vs {_run(pair.second)}"
        print_folded(f"[{len(outcomes) + 1}/{len(pairs)}] {said}", console.err)
        console.err.flush()

    async def go() -> None:
        async for outcome in judge_pairs(store, judge, pairs, asking):
            outcomes.append(outcome)
            line = f"[{len(outcomes)}/{len(pairs)}] {progress_line(outcome)}"
            print_folded(line, console.err)
            console.err.flush()

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        print_folded(summary(judge.model, outcomes, len(pairs)), console.out)
        return console.fail("interrupted; the votes stored so far are kept", Exit.INTERRUPTED)
    print_folded(summary(judge.model, outcomes, len(pairs)), console.out)
    failed = any(not isinstance(outcome, Judged) for outcome in outcomes)
    return Exit.FAILED if failed else Exit.OK


def _run(run: Run) -> str:
    return f"run {run.id} ({configuration_of(run).label})"


def _shown(letter: str, run: Run) -> str:
    return f"{letter} (run {run.id})"


def progress_line(outcome: Outcome) -> str:
    """One judged pair, for people: who won and why, or what went wrong. Each run is
    named by its id, with the letter it was shown as, which the judge's reason speaks
    of: "B (run 1) beat A (run 2): B looks more like a bicycle". Their configurations
    are in the line that asked, just before (:func:`_run`): said again here, each pair
    was named twice, and the result ran to three lines at 80 columns."""
    if isinstance(outcome, Judged):
        answer = outcome.answer
        a, b = _shown("A", answer.shown_a), _shown("B", answer.shown_b)
        said = {
            "a": f"{a} beat {b}",
            "b": f"{b} beat {a}",
            "tie": f"{a} tied with {b}",
            "both_bad": f"both bad: {a} and {b}",
        }[answer.winner]
        return f"{said}: {answer.reason or '(no reason given)'}"
    pair = f"run {outcome.pair.first.id} vs run {outcome.pair.second.id}"
    if isinstance(outcome, Unparseable):
        return f"{pair}: answer not in the format asked for, not stored: {outcome.answer!r}"
    hint = f" — {outcome.failure.hint}" if outcome.failure.hint else ""
    return f"{pair}: {outcome.failure.reason}{hint}"


def summary(model: str, outcomes: Sequence[Outcome], planned: int) -> str:
    """What a judge run did, on stdout."""
    judged = [o for o in outcomes if isinstance(o, Judged)]
    unreadable = sum(isinstance(o, Unparseable) for o in outcomes)
    failed = next((o for o in outcomes if isinstance(o, CallFailed)), None)
    counts = {w: sum(o.answer.winner == w for o in judged) for w in ("a", "b", "tie", "both_bad")}
    stored = f"{plural(len(judged), 'vote')} stored"
    # "Judged" only when every answer was: "Judged 40 of 40 pairs … 0 votes stored"
    # read as done.
    did = f"Asked {len(judged) + unreadable}" if unreadable else f"Judged {len(judged)}"
    lines = [
        f"{did} of {planned} pairs with {model}: {stored} "
        f"(A {counts['a']}, B {counts['b']}, tie {counts['tie']}, both bad {counts['both_bad']})"
        + (f", {plural(unreadable, 'answer')} unreadable" if unreadable else "")
        + "."
    ]
    rest = planned - len(outcomes)
    if failed is not None:
        hint = f" — {failed.failure.hint}" if failed.failure.hint else ""
        lines.append(f"Stopped: {failed.failure.reason}{hint}; {plural(rest, 'pair')} not sent.")
    elif rest > 0 and _unreadable_last(outcomes) >= UNREADABLE_IN_A_ROW:
        lines.append(
            f"Stopped: {_unreadable_last(outcomes)} answers in a row not in the format asked "
            f"for; {plural(rest, 'pair')} not sent."
        )
    used = TokenUse(
        sum(_usage(o).input_tokens for o in outcomes),
        sum(_usage(o).output_tokens for o in outcomes),
    )
    lines.append(f"Tokens used: {used.input_tokens:,} input, {used.output_tokens:,} output.")
    if judged:
        lines.append("The judge's ratings: pelican-tui leaderboard --judge")
    return "\n".join(lines)


def _unreadable_last(outcomes: Sequence[Outcome]) -> int:
    """How many of the last ``outcomes`` in a row were answers not in the format asked for."""
    count = 0
    for outcome in reversed(outcomes):
        if not isinstance(outcome, Unparseable):
            break
        count += 1
    return count


def _usage(outcome: Outcome) -> TokenUse:
    if isinstance(outcome, Judged):
        return outcome.answer.usage
    if isinstance(outcome, Unparseable):
        return outcome.usage
    return TokenUse()


__all__ = ["describe_plan", "judge_command", "progress_line", "summary"]


def _problem_words(problem: Failed) -> str:
    """Why the judge cannot be asked, and what to do: "the judge is off; set …"."""
    return f"{problem.reason}; {problem.hint}" if problem.hint else problem.reason
