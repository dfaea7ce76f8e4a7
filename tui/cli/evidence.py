"""``pelican-tui export-evidence --out DIR``: the leaderboard and every picture as one page.

Writes DIR/index.html (one self-contained page: the leaderboard with its
intervals, the judge's ratings apart, then per prompt its leaderboard and a
gallery of every picture with its facts) and beside it ratings.csv,
ratings.json, votes.csv and votes.json. Prompts from a private prompt set are
left out of all of them, with their runs and votes; the page says how many
sessions were left out.

Exit status (also in ``--help``): 0 written; 1 it could not be done (no
session store yet, no session has the --prompt, the prompt is from a private
set, DIR holds other files or cannot be written); 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pelican_tui.backends import locations
from pelican_tui.backends.export.evidence import PrivatePromptError
from pelican_tui.backends.export.evidence_folder import export_evidence
from pelican_tui.backends.export.files import ExportError
from pelican_tui.backends.export.pictures import sandboxed_renderer
from pelican_tui.backends.ratings.leaderboard import DEFAULT_MIN_VOTES
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.store.records import SessionStoreError
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.cli.args import EXIT_USAGE, Parser, parse, whole_number

EXIT_OK = 0
EXIT_FAILED = 1

PROG = "pelican-tui export-evidence"

EPILOG = """\
Private prompt sets: a prompt any private set's session used is left out of
every file, with its pictures and every vote on one of its runs, so the
ratings here count public prompts only.

exit status:
  0  written
  1  it could not be done (no session store yet, no session has the --prompt,
     the prompt is from a private set, DIR holds other files or cannot be written)
  2  bad usage
"""


def _parser() -> Parser:
    parser = Parser(
        prog=PROG,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Write the leaderboard and a gallery of every picture as one self-contained "
            "HTML page (DIR/index.html), with the votes and ratings as CSV and JSON beside it."
        ),
    )
    parser.add_argument("--out", type=Path, metavar="DIR", required=True, help="the folder")
    parser.add_argument("--prompt", metavar="TEXT", help="only this prompt's pictures and votes")
    parser.add_argument(
        "--min-votes",
        type=whole_number(0, what="a number of votes"),
        default=DEFAULT_MIN_VOTES,
        metavar="N",
        help=f"votes a configuration needs to be ranked (default {DEFAULT_MIN_VOTES})",
    )
    return parser


def evidence_command(
    argv: Sequence[str],
    *,
    db_path: Path | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``pelican-tui export-evidence ARGV``; returns the exit status."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = parse(_parser(), argv, err)
    if isinstance(args, int):
        return args
    try:
        with SessionStore.open(db_path or locations.sessions_db(), create=False) as store:
            for notice in store.notices:
                print(f"{PROG}: {notice}", file=err)
            if args.prompt is not None and args.prompt not in dict(store.prompts()):
                return _fail(err, f"no session has the prompt {_quoted(args.prompt)}")
            with sandboxed_renderer() as renderer:
                done = export_evidence(
                    store,
                    args.out,
                    prompt=args.prompt,
                    min_votes=args.min_votes,
                    renderer=renderer,
                )
    except PrivatePromptError:
        return _fail(err, "that prompt is from a private prompt set: it is never exported")
    except (SessionStoreError, ExportError) as error:
        return _fail(err, str(error))
    evidence = done.evidence
    for note in evidence.notes:
        print(f"{PROG}: {note}", file=err)
    runs = sum(len(each.pictures) for each in evidence.prompts)
    print(
        f"Wrote {done.out_dir}/: {', '.join(path.name for path in done.files)} "
        f"({len(evidence.prompts)} prompts, {runs} runs, {evidence.overall.counted} votes counted)",
        file=out,
    )
    if evidence.hidden_sessions:
        print(f"Left out: {evidence.hidden_sessions} sessions from private prompt sets.", file=out)
    return EXIT_OK


def _fail(err: TextIO, message: str) -> int:
    print(f"{PROG}: {message}", file=err)
    return EXIT_FAILED


def _quoted(prompt: str, width: int = 60) -> str:
    text = " ".join(scrub_text(prompt).split())
    return repr(text if len(text) <= width else text[: width - 1] + "…")


__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "evidence_command"]
