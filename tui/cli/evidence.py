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

from pelican_tui.backends.export.evidence import PrivatePromptError
from pelican_tui.backends.export.evidence_folder import export_evidence
from pelican_tui.backends.export.files import ExportError
from pelican_tui.backends.export.pictures import sandboxed_renderer
from pelican_tui.backends.store.records import SessionStoreError
from pelican_tui.backends.text import plural
from pelican_tui.cli.args import Console, Exit, Parser, command, command_parser, out_folder
from pelican_tui.cli.leaderboard import add_min_votes
from pelican_tui.cli.store_access import add_prompt_option, open_store, unknown_prompt

PROG = "pelican-tui export-evidence"

EPILOG = """\
Private prompt sets: a prompt any private set's session used is left out of
every file, with its pictures and every vote on one of its runs, so the
ratings here count public prompts only.

exit status:
  0  written
  1  it could not be done (no session store yet, or a damaged one, left as it
     is; no session has the --prompt, the prompt is from a private set, DIR holds
     other files or cannot be written)
  2  bad usage
"""


def _parser() -> Parser:
    parser = command_parser(
        PROG,
        description=(
            "Write the leaderboard and a gallery of every picture as one self-contained "
            "HTML page (DIR/index.html), with the votes and ratings as CSV and JSON beside it."
        ),
        epilog=EPILOG,
    )
    parser.add_argument("--out", type=out_folder, metavar="DIR", required=True, help="the folder")
    add_prompt_option(parser, "only this prompt's pictures and votes")
    add_min_votes(parser)
    return parser


@command(PROG, _parser)
def evidence_command(args: argparse.Namespace, console: Console) -> int:
    """Run ``pelican-tui export-evidence ARGV``; returns the exit status."""
    try:
        with open_store(console) as store:
            if missing := unknown_prompt(store, args.prompt):
                return console.fail(missing)
            with sandboxed_renderer() as renderer:
                done = export_evidence(
                    store,
                    args.out,
                    prompt=args.prompt,
                    min_votes=args.min_votes,
                    renderer=renderer,
                )
    except PrivatePromptError:
        return console.fail("that prompt is from a private prompt set: it is never exported")
    except (SessionStoreError, ExportError) as error:
        return console.fail(str(error))
    evidence = done.evidence
    for note in evidence.notes:
        console.note(note)
    runs = sum(len(each.pictures) for each in evidence.prompts)
    counts = ", ".join(
        plural(n, what)
        for n, what in (
            (len(evidence.prompts), "prompt"),
            (runs, "run"),
            (evidence.overall.counted, "vote"),
        )
    )
    print(
        f"Wrote {done.out_dir}/: {', '.join(path.name for path in done.files)} ({counts} counted)",
        file=console.out,
    )
    if evidence.hidden_sessions:
        print(
            f"Left out: {plural(evidence.hidden_sessions, 'session')} from private prompt sets.",
            file=console.out,
        )
    return Exit.OK


__all__ = ["evidence_command"]
