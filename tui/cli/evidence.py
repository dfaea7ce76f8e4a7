"""``pelican-tui export-evidence --out DIR``: the leaderboard and every picture as one page.

Writes DIR/index.html (one self-contained page: the leaderboard with its
intervals, the judge's ratings apart, then per prompt its leaderboard and a
gallery of every picture with its facts) and beside it ratings.csv,
ratings.json, votes.csv and votes.json. Prompts from a private prompt set are
left out of all of them, with their runs and votes; the page says how many
sessions were left out.

DIR is checked first, before the evidence is gathered and its pictures drawn:
a file, a folder holding other files (an earlier evidence export is refreshed)
or a place where nothing can be written exits 2, as ``run --out`` and
``leaderboard --csv`` do. A picture that could not be drawn is said at its
place on the page, and counted in one line after "Wrote".

Exit status (also in ``--help``): 0 written; 1 it could not be done (no
session store yet, no session has the --prompt, the prompt is from a private
set, writing DIR failed after its check); 2 bad usage, or DIR unusable.
"""

from __future__ import annotations

import argparse

from pelican_tui.backends.export.evidence import PrivatePromptError
from pelican_tui.backends.export.evidence_folder import check_evidence_folder, export_evidence
from pelican_tui.backends.export.files import ExportError
from pelican_tui.backends.export.pictures import sandboxed_renderer
from pelican_tui.backends.store.records import SessionStoreError
from pelican_tui.backends.text import plural
from pelican_tui.cli.args import Console, Exit, Parser, command, command_parser, out_folder
from pelican_tui.cli.leaderboard import add_min_votes
from pelican_tui.cli.store_access import add_prompt_option, chosen_prompt, open_store

PROG = "pelican-tui export-evidence"
DESCRIPTION = (
    "Write the leaderboard and a gallery of every picture as one self-contained\n"
    "HTML page (DIR/index.html), the votes and ratings beside it as CSV and JSON."
)

EPILOG = """\
Private prompt sets: a prompt any private set's session used is left out of
every file, with its pictures and every vote on one of its runs, so the
ratings here count public prompts only.

exit status:
  0  written
  1  it could not be done (no session store yet, or a damaged one, left as it
     is; no session has the --prompt, the prompt is from a private set; writing
     DIR failed after its check)
  2  bad usage, or DIR unusable: a file, a folder holding other files, or a
     place that cannot be written (checked before anything is gathered)
"""


def _parser() -> Parser:
    parser = command_parser(PROG, description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--out", type=out_folder, metavar="DIR", required=True, help="the folder")
    add_prompt_option(parser, "only this prompt's pictures and votes")
    add_min_votes(parser)
    return parser


@command(PROG, _parser)
def evidence_command(args: argparse.Namespace, console: Console) -> int:
    """Run ``pelican-tui export-evidence ARGV``; returns the exit status."""
    try:
        check_evidence_folder(args.out)
    except ExportError as error:
        return console.fail(str(error), Exit.USAGE)
    try:
        with open_store(console) as store:
            prompt, missing = chosen_prompt(store, args.prompt)
            if missing:
                return console.fail(missing)
            with sandboxed_renderer() as renderer:
                done = export_evidence(
                    store,
                    args.out,
                    prompt=prompt,
                    min_votes=args.min_votes,
                    renderer=renderer,
                )
    except PrivatePromptError:
        return console.fail("that prompt is from a private prompt set: it is never exported")
    except (SessionStoreError, ExportError) as error:
        return console.fail(str(error))
    evidence = done.evidence
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
    if undrawn := evidence.undrawn:
        which = ", ".join(str(run) for run in undrawn)
        print(
            f"{plural(len(undrawn), 'SVG')} could not be drawn "
            f"(run{'s' if len(undrawn) > 1 else ''} {which}): the page says why.",
            file=console.out,
        )
    if evidence.hidden_sessions:
        print(
            f"Left out: {plural(evidence.hidden_sessions, 'session')} from private prompt sets.",
            file=console.out,
        )
    return Exit.OK


__all__ = ["evidence_command"]
