"""``pelican-tui leaderboard``: ratings of every configuration from the votes, with intervals.

Prints a table (rank, configuration, rating with its 95% interval, votes,
wins/losses/ties), the ranked configurations first and the others after with
how many votes they have of how many they need; ``--json`` prints the same for
machines. ``--csv FILE`` writes the ratings as CSV and ``--votes FILE`` the
votes themselves (CSV, or JSON for a name ending in ``.json``); a file that exists
is kept (nothing is written) unless ``--force``; a prompt from a private prompt set
is never written to either.

Exit status (also in ``--help``): 0 done (also when there are no votes yet);
1 the session store cannot be used, or no session has the ``--prompt``; 2 bad
usage (``--csv`` and ``--votes`` naming one FILE too), or a FILE that exists (without
``--force``) or cannot be written.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rich.cells import cell_len

from pelican_tui.backends.ratings.bradley_terry import LEVEL
from pelican_tui.backends.ratings.export import (
    VoteRecord,
    leaderboard_csv,
    leaderboard_to_json,
    vote_records,
    votes_csv,
    votes_to_json,
)
from pelican_tui.backends.ratings.leaderboard import (
    DEFAULT_MIN_VOTES,
    UNKNOWN,
    Leaderboard,
    Row,
    leaderboard,
    rate_votes,
)
from pelican_tui.backends.store.records import SessionStoreMissing
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import plural, sentence, shorten_label
from pelican_tui.cli.args import (
    Console,
    Exit,
    Parser,
    command,
    command_parser,
    existing_file,
    out_file,
    same_file,
    whole_number,
    write_problem,
)
from pelican_tui.cli.columns import fold_line, output_width
from pelican_tui.cli.store_access import (
    add_prompt_option,
    chosen_prompt,
    quoted_prompt,
    with_store,
)

PROG = "pelican-tui leaderboard"
DESCRIPTION = "Which configuration draws the better pelican: ratings from your votes."
STDOUT = "-"
"""The FILE of ``--csv`` or ``--votes`` that is standard output."""

EPILOG = f"""\
Ratings are Bradley-Terry strengths on the Elo scale (1000 is the reference;
400 points more is 10-to-1 odds of a better picture), fitted to every vote
across all sessions, with {LEVEL:.0%} bootstrap intervals. "tie" and "both bad"
votes count as ties. Ratings that read alike share a rank (1, 1, 3). An
interval is "unknown" when resampling the votes cannot move the rating (one
vote, or only ever one outcome between the same two configurations): it would
read 1000..1000, a certainty the votes do not give. A configuration is a local
model file and quantization, Claude's model and effort, or a server's model,
each with thinking on or off; one model name on two servers is two, named by
their server.

exit status:
  0  done (also when there are no votes yet)
  1  the session store cannot be used, or no session has the --prompt
  2  bad usage (--csv and --votes naming one FILE too), or a FILE that exists
     (without --force) or cannot be written
"""


def _parser() -> Parser:
    parser = command_parser(PROG, description=DESCRIPTION, epilog=EPILOG)
    add_prompt_option(parser, "only votes on runs of this prompt")
    parser.add_argument("--judge", action="store_true", help="the judge model's votes instead")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--csv",
        type=out_file,
        metavar="FILE",
        help="also write the ratings as CSV (-: print them instead of the table)",
    )
    parser.add_argument(
        "--votes",
        type=out_file,
        metavar="FILE",
        help="also write the votes (CSV, or JSON if FILE ends in .json; -: print them as CSV)",
    )
    parser.add_argument(
        "--force", action="store_true", help="write over a FILE of --csv or --votes that exists"
    )
    add_min_votes(parser)
    return parser


def add_min_votes(parser: Parser) -> None:
    """``--min-votes N``: how many votes rank a configuration (here and in
    ``export-evidence``)."""
    parser.add_argument(
        "--min-votes",
        type=whole_number(0, what="a number of votes"),
        default=DEFAULT_MIN_VOTES,
        metavar="N",
        help=f"votes a configuration needs to be ranked (default {DEFAULT_MIN_VOTES})",
    )


@command(PROG, _parser)
def leaderboard_command(args: argparse.Namespace, console: Console) -> int:
    """Run ``pelican-tui leaderboard ARGV``; returns the exit status."""
    printing = [args.json, str(args.csv) == STDOUT, str(args.votes) == STDOUT]
    if sum(printing) > 1:
        return console.fail("one of --json, --csv -, --votes - at a time prints", Exit.USAGE)
    files = [file for file in (args.csv, args.votes) if file is not None and str(file) != STDOUT]
    if len(files) == 2 and same_file(*files):  # the votes were written over the ratings
        return console.fail(
            f"--csv {args.csv} and --votes {args.votes} are the same file; give each its own",
            Exit.USAGE,
        )

    def no_store(missing: SessionStoreMissing) -> int:
        if args.prompt is not None:
            quoted = quoted_prompt(args.prompt)
            return console.fail(f"no session has the prompt {quoted} (none yet)")
        empty = replace(rate_votes([], {}, min_votes=args.min_votes), judge=args.judge)
        return _finish(empty, [], False, args, console, note=f"the store will be {missing.path}")

    def rate(store: SessionStore) -> int:
        prompt, unknown = chosen_prompt(store, args.prompt)
        if unknown:
            return console.fail(unknown)
        private = prompt is not None and store.is_private_prompt(prompt)
        board = leaderboard(store, prompt=prompt, judge=args.judge, min_votes=args.min_votes)
        records = vote_records(store, judge=args.judge, prompt=prompt) if args.votes else []
        return _finish(board, records, private, args, console)

    return with_store(console, rate, missing=no_store)


def _finish(
    board: Leaderboard,
    votes: Sequence[VoteRecord],
    private: bool,
    args: argparse.Namespace,
    console: Console,
    *,
    note: str | None = None,
) -> int:
    files: list[tuple[Path, str]] = []
    if args.csv is not None:
        files.append((args.csv, leaderboard_csv(board)))
    if args.votes is not None:
        if args.votes.suffix.lower() == ".json":
            text = json.dumps(votes_to_json(votes), indent=2, ensure_ascii=False) + "\n"
        else:
            text = votes_csv(votes)
        files.append((args.votes, text))
    printed = [text for file, text in files if str(file) == STDOUT]
    files = [(file, text) for file, text in files if str(file) != STDOUT]
    for flag, file in (("--csv", args.csv), ("--votes", args.votes)):
        if file is not None and (kept := existing_file(flag, file, force=args.force)):
            return console.fail(kept, Exit.USAGE)
    for file, text in files:
        try:
            file.write_text(text, encoding="utf-8")
        except OSError as error:
            return console.fail(f"cannot write {file}: {write_problem(error, file)}", Exit.USAGE)
    if printed:  # "-" is standard output, as for render's -o (it was a file named "-")
        console.out.write(printed[0])
    elif args.json:
        document = leaderboard_to_json(board, prompt_private=private)
        print(json.dumps(document, indent=2, ensure_ascii=False), file=console.out)
    else:
        table = format_leaderboard(
            board, prompt_private=private, note=note, width=output_width(console.out)
        )
        print(table, file=console.out)
    for file, _ in files:
        print(f"Wrote {file}", file=console.err if args.json or printed else console.out)
    return Exit.OK


LEAST_LABEL = 24
"""A configuration's label is never cut shorter than this to fit the terminal."""


def format_leaderboard(
    board: Leaderboard,
    *,
    prompt_private: bool = False,
    note: str | None = None,
    width: int | None = None,
) -> str:
    """The table ``pelican-tui leaderboard`` prints; in ``width`` cells (a terminal's;
    None: everything) where it can be: the configurations' labels cut in the middle of
    their model's name, their quantization and thinking kept (:func:`shorten_label`,
    as the TUI's leaderboard cuts them), and the sentences folded between words."""
    text = _leaderboard_text(board, prompt_private, note, width=None)
    if width is not None and max(cell_len(line) for line in text.splitlines()) > width:
        text = _leaderboard_text(board, prompt_private, note, width=width)
    return fold_line(text, width)


def _leaderboard_text(
    board: Leaderboard, prompt_private: bool, note: str | None, *, width: int | None
) -> str:
    """:func:`format_leaderboard`'s lines, the labels cut to leave the ranked rows
    ``width`` cells (None: whole)."""
    whose = "the judge's votes" if board.judge else "your votes"
    if board.prompt is None:
        scope = "every prompt"
    elif prompt_private:
        scope = "one prompt (from a private set)"
    else:
        scope = f"the prompt {quoted_prompt(board.prompt)}"
    lines = [f"Leaderboard from {whose} on {scope}"]
    if not board.rows:
        if board.judge:
            lines.append("No judge votes yet: `pelican-tui judge` asks the judge model.")
        else:
            lines.append(f"{board.none_yet}: vote on pairs of pictures in the TUI (blind or not).")
        lines += [sentence(caveat) for caveat in board.caveats()]
        if note:
            lines.append(f"({note})")
        return "\n".join(lines)
    lines[0] += (
        f": {plural(board.counted, 'vote')}, "
        f"{board.level:.0%} intervals from {board.resamples} resamples"
    )
    labels = {row.configuration.label: row.configuration.label for row in board.rows}
    short = False  # the records name their "both bad" votes: "(3 both bad)"
    if width is not None:
        room = _label_room(board, width, short=False)
        if any(len(label) > room for label in labels):  # the labels first, then "(3 bad)"
            short = True
            room = _label_room(board, width, short=True)
        labels = {label: shorten_label(label, room, among=labels) for label in labels}
    column = max(len("CONFIGURATION"), *(len(label) for label in labels.values()))
    header = f"{'RANK':>4}  {'CONFIGURATION':<{column}}  {'RATING':>6}  {'95% INTERVAL':<12}"
    lines += ["", header + f"  {'VOTES':>5}  W/L/T"]
    ranked = board.ranked
    for row in ranked:
        interval = interval_words(row)
        lines.append(
            f"{row.rank:>4}  {labels[row.configuration.label]:<{column}}  {row.rating:>6.0f}  "
            f"{interval:<12}  {row.votes:>5}  {row.record(short=short)}"
        )
    if not ranked:
        lines.append(f"{'':>4}  (none yet: each needs {board.min_votes} votes)")
    unranked = board.unranked
    if unranked:
        lines += ["", f"Not ranked (fewer than {board.min_votes} votes):"]
        if width is not None:  # in line with each other only: "W/L/T 0/1/0" kept on the line
            column = max(len(labels[row.configuration.label]) for row in unranked)
        for row in unranked:
            lines.append(
                f"{'-':>4}  {labels[row.configuration.label]:<{column}}  "
                f"{_too_few(row, board)}  W/L/T {row.record(short=short)}"
            )
    for caveat in board.caveats():
        lines += ["", sentence(caveat)]
    if board.agreement is not None:
        agreement = board.agreement
        if agreement.rate is None:
            lines += ["", "Agreement with your votes: no pair that both of you voted on."]
        else:
            lines += [
                "",
                f"Agreement with your votes: {agreement.agreed} of "
                f"{plural(agreement.pairs, 'pair')} ({agreement.rate:.0%}).",
            ]
    return "\n".join(lines)


def _label_room(board: Leaderboard, width: int, *, short: bool) -> int:
    """How many cells the configurations' labels have for every line of the table to
    fit ``width``: the header's and each row's, ranked or not, after the label. The
    same for your votes and the judge's but for their records ("3/1/2"), so a label is
    cut alike in both."""
    # RANK and two spaces before the label; after it, two spaces before each of RATING,
    # the interval, VOTES and the record (W/L/T in the header).
    after = [31 + max(len("W/L/T"), len(row.record(short=short)))
             for row in board.ranked]  # fmt: skip
    after += [
        4 + len(_too_few(row, board)) + len(f"W/L/T {row.record(short=short)}")
        for row in board.unranked
    ]
    return max(LEAST_LABEL, len("CONFIGURATION"), width - 6 - max(36, *after))


def _too_few(row: Row, board: Leaderboard) -> str:
    """Why ``row`` is not ranked, in the table: "(too few votes: 2 of 5)"."""
    return f"(too few votes: {row.votes} of {board.min_votes})"


def interval_words(row: Row) -> str:
    """``797..1203``, or ``unknown`` when the votes cannot give the interval."""
    if row.low is None or row.high is None:
        return UNKNOWN
    return f"{row.low:.0f}..{row.high:.0f}"


__all__ = [
    "add_min_votes",
    "format_leaderboard",
    "leaderboard_command",
]
