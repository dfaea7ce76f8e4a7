"""``pelican-tui sessions``: list, show, export and delete saved sessions.

Exit status: 0 done; 1 the command could not be carried out (unknown id,
export folder taken, store unusable); 2 bad usage (including ``delete``
without ``--yes``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TextIO

from rich.cells import cell_len

from pelican_tui.backends.export import (
    ExportError,
    Renderer,
    export_session,
    render_run_card,
    sandboxed_renderer,
)
from pelican_tui.backends.export.pictures import STORED_PNG_SIZE
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.store.records import (
    SessionNotFound,
    SessionStoreMissing,
    SessionSummary,
)
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.svg.worker import MAX_SIDE
from pelican_tui.backends.text import (
    LABEL_PARTS,
    TITLE_LEAST,
    printable,
    shorten_title,
    shown_line,
    title_tail_cells,
)
from pelican_tui.cli.args import (
    Console,
    Exit,
    Parser,
    command_parser,
    out_folder,
    positive,
    run_parsed,
    whole_number,
)
from pelican_tui.cli.columns import (
    fit_columns,
    output_width,
    print_folded,
    said_once,
    table_width,
)
from pelican_tui.cli.store_access import with_store

PROG = "pelican-tui sessions"
DESCRIPTION = "Saved sessions: every prompt, run and verdict."

_session_id = whole_number(1, what="a session id; 'pelican-tui sessions list' shows the ids")


EPILOG = """\
exit status:
  0  done
  1  it could not be done: no session with that id, an export folder that holds
     other files or cannot be written, a session store that cannot be used
  2  bad usage (delete without --yes too)
"""


def _parser() -> Parser:
    parser = command_parser(PROG, description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="action", metavar="{list,show,export,delete}")
    sub.required = True
    listing = sub.add_parser("list", help="newest sessions first")
    listing.add_argument("--limit", type=positive, default=50, help="how many (default 50)")
    show = sub.add_parser("show", help="print a session's run card (Markdown)")
    show.add_argument("id", type=_session_id)
    export = sub.add_parser("export", help="write SVGs, PNGs, a run card, HTML and JSON")
    export.add_argument("id", type=_session_id)
    export.add_argument("--out", type=out_folder, required=True, help="the export folder")
    export.add_argument("--force", action="store_true", help="write into a non-empty folder")
    export.add_argument(
        "--width",
        type=whole_number(1, MAX_SIDE, what="a number of pixels"),
        default=STORED_PNG_SIZE[0],
        help=f"width and height of PNGs drawn for runs without a stored one "
        f"(1..{MAX_SIDE}, default {STORED_PNG_SIZE[0]})",
    )
    delete = sub.add_parser("delete", help="delete a session, its runs and the votes on them")
    delete.add_argument("id", type=_session_id)
    delete.add_argument("--yes", action="store_true", help="really delete")
    return parser


def sessions_command(
    argv: Sequence[str],
    *,
    renderer: Renderer | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``pelican-tui sessions ARGV``; returns the exit status.

    ``renderer`` draws PNGs for runs that have an SVG but no stored picture;
    by default (None) ``export`` draws them in the sandboxed render worker
    (:func:`~.export.sandboxed_renderer`, started only if needed and stopped
    afterwards).
    """
    return run_parsed(
        PROG,
        _parser,
        argv,
        lambda args, console: _sessions(args, console, renderer),
        stdout=stdout,
        stderr=stderr,
    )


def _sessions(args: argparse.Namespace, console: Console, renderer: Renderer | None) -> int:
    if args.action == "delete" and not args.yes:
        return console.fail(f"not deleting session {args.id} without --yes", Exit.USAGE)

    def no_store(missing: SessionStoreMissing) -> int:
        if args.action == "list":
            print(f"No saved sessions yet (the store will be {missing.path}).", file=console.out)
            return Exit.OK
        return console.fail(f"no session with id {args.id} (no sessions yet)")

    def act(store: SessionStore) -> int:
        try:
            if args.action == "list":
                return _list(store, args.limit, console.out)
            if args.action == "show":
                session = store.get_session(args.id)
                # For a terminal: texts as written (no HTML entities), and no escape
                # sequence from a prompt acts on it.
                card = render_run_card(session, None, for_terminal=True)
                print(printable(card), file=console.out)
                return Exit.OK
            if args.action == "export":
                if renderer is not None:
                    return _export(store, args, renderer, console)
                with sandboxed_renderer() as sandboxed:
                    return _export(store, args, sandboxed, console)
            store.delete_session(args.id)
            print(f"Deleted session {args.id}, its runs and the votes on them.", file=console.out)
            return Exit.OK
        except SessionNotFound as error:
            return console.fail(f"{error} ('pelican-tui sessions list' shows the ids)")

    return with_store(console, act, missing=no_store)


def _export(
    store: SessionStore, args: argparse.Namespace, renderer: Renderer, console: Console
) -> int:
    """``sessions export``: session ``args.id`` into ``args.out`` (``--force``, ``--width``)."""
    session = store.get_session(args.id)
    try:
        result = export_session(
            session, args.out, renderer, png_size=(args.width, args.width), overwrite=args.force
        )
    except (ExportError, OSError) as error:
        return console.fail(f"export failed: {error}")
    print(f"Exported session {args.id} to {result.out_dir}:", file=console.out)
    for path in result.files:
        print(f"  {path.name}", file=console.out)
    for note in result.notes:  # what the export holds (no PNG, and why): not a failure
        print_folded(f"note: {note}", console.err)
    return Exit.OK


NARROW_MODEL_CELLS = (24, 16)
"""How wide each model's name is in a ``sessions list`` too wide for the terminal: the
first, then the second, cut in the middle (its quantization kept)."""

NARROW_MODELS_LEAST = 20
"""The models of a ``sessions list`` row are cut to no fewer cells than this ("Qwen3.6…
vs claude-…") before its title gives up the parts that tell sessions apart."""


def _models(summary: SessionSummary, model_cells: int | None = None) -> str:
    """The models of each slot, "left: A; right: B" (each cut to 32 characters). With
    ``model_cells`` (a narrow terminal), as the sessions browser lists them, in about
    ``model_cells`` cells a name (:meth:`~.SessionSummary.models_line`)."""
    if model_cells is not None:
        return summary.models_line(2 * model_cells + len(" vs "))
    parts = []
    for slot in ("left", "right"):
        runs = [run for run in summary.runs if run.slot == slot]
        if not runs:
            continue
        models = list(dict.fromkeys(run.model_id for run in runs))
        label = ", ".join(shown_line(model, 32) for model in models)
        count = f" x{len(runs)}" if len(runs) > 1 else ""
        parts.append(f"{slot}: {label}{count}")
    return "; ".join(parts) or "—"


def _ended(summary: SessionSummary) -> str:
    """How a session's runs ended, where one did not finish: "failed" (all of them),
    "right cancelled" (one pane's); "finished" where all did, "—" with no runs."""
    if not summary.runs:
        return "—"
    unfinished = [run for run in summary.runs if run.status != "finished"]
    if not unfinished:
        return "finished"
    statuses = {run.status for run in summary.runs}
    if len(unfinished) == len(summary.runs) and len(statuses) == 1:
        return unfinished[0].status
    said = dict.fromkeys(f"{run.slot} {run.status}" for run in unfinished)
    return ", ".join(said)


def format_session_table(summaries: Sequence[SessionSummary], width: int | None = None) -> str:
    """The ``sessions list`` table: id, date (local time), title, models, verdict, and
    where a listed session has a run that did not finish, how each one's runs ended
    (:func:`_ended`; left out last where the table does not fit ``width`` otherwise).

    In ``width`` cells (a terminal's; None: everything) where it can be: models every
    listed session ran said once above it, whole ("All sessions: MODELS A vs B");
    else the models said shorter (:func:`_models`, :data:`NARROW_MODEL_CELLS`), the
    narrowest with the date without its year; the title cut to what keeps its last
    part (the thinking or the sample, which tell sessions of one prompt apart:
    :func:`~pelican_tui.backends.text.shorten_title`) and a few cells of its prompt's
    name, without the start the listed prompts share (where that does not fit, to its
    last parts alone), then the models' names cut in
    their middle down to :data:`NARROW_MODELS_LEAST` cells; where that is not enough,
    the title down to 16 cells.

    Titles are scrubbed of secrets before they are shortened (a store written by an
    older pelican-tui may hold a pasted key), and shortened as the TUI lists them: by
    whole parts from its end, the prompt's (a private prompt set's is named by the set
    and the prompt's name, "secret/s1") cut for them, without what the listed titles
    share (:func:`shorten_title`): on a terminal to its ``width``, the room it has; in a
    file or a pipe kept whole."""
    ended = any(_ended(s) not in ("finished", "—") for s in summaries)
    header = ("ID", "DATE", "TITLE", "MODELS", "VERDICT", *(("STATUS",) if ended else ()))
    titles = [printable(scrub_text(s.listed_as)) for s in summaries]

    def table_rows(model_cells: int | None) -> list[tuple[str, ...]]:
        date = "%m-%d %H:%M" if model_cells == NARROW_MODEL_CELLS[-1] else "%Y-%m-%d %H:%M"
        return [
            header,
            *(
                (
                    str(s.id),
                    s.created_at.astimezone().strftime(date),
                    title if width is None else shorten_title(title, width, titles),  # as the TUI
                    _models(s, model_cells),
                    (s.verdict or "—").replace("_", " "),
                    *((_ended(s),) if ended else ()),
                )
                for s, title in zip(summaries, titles, strict=True)
            ),
        ]

    forms = [table_rows(model_cells) for model_cells in (None, *NARROW_MODEL_CELLS)]
    said = ""
    alike = {s.models_line() for s in summaries}
    wide = table_width(forms[0], range(len(header)), {})
    if width is not None and wide > width and len(summaries) > 1 and len(alike) == 1:
        # The models every session ran, said once.
        said = said_once("All sessions: MODELS ", alike.pop().split(LABEL_PARTS), width)
        forms = [[row[:3] + row[4:] for row in forms[0]]]
    columns_shown = len(forms[0][0])
    if width is None:
        rows = forms[0]
    else:  # the models said shorter before the title is cut, then as they fit
        rows = next(
            (f for f in forms if table_width(f, range(columns_shown), {}) <= width),
            next(
                (f for f in forms if table_width(f, range(4 if said else 5), {2: 16}) <= width),
                forms[-1],
            ),
        )
    by_models = {row[3]: s for row, s in zip(rows[1:], summaries, strict=True)}
    by_title = {row[2]: title for row, title in zip(rows[1:], titles, strict=True)}

    def models(text: str, cells: int) -> str:  # each name cut in its middle (not the header)
        return by_models[text].models_line(cells) if text in by_models else text

    def title(text: str, cells: int) -> str:  # without the start the prompts share
        return shorten_title(by_title.get(text, text), cells, titles)

    cutter = {2: title} if said else {2: title, 3: models}
    tails = max((title_tail_cells(row[2]) for row in rows[1:]), default=0)
    # The title cut to its last parts and a few cells of its prompt's name (what tells
    # prompts that start alike apart: "…heron… · sample 2/2", not "…h… · sample 2/2"),
    # else to its last parts; then the models' names, then the rest of the title.
    named = tails + TITLE_LEAST - 1 if tails else 0
    drop = [columns_shown - 1] if ended else []
    for floor in (max(named, 16), max(tails, 16), 16):
        table = fit_columns(
            rows,
            width,
            right={0},
            cut={2: floor} if said else {2: floor, 3: NARROW_MODELS_LEAST},
            drop=drop,
            cutter=cutter,
        )
        if width is None or max(cell_len(line) for line in table.splitlines()) <= width:
            break
    return f"{said}\n{table}" if said else table


def _list(store: SessionStore, limit: int, out: TextIO) -> int:
    summaries = store.list_sessions(limit=limit)
    if not summaries:
        print("No saved sessions yet.", file=out)
        return Exit.OK
    print(format_session_table(summaries, width=output_width(out)), file=out)
    total = store.count_sessions()
    if total > len(summaries):
        print(f"({len(summaries)} of {total}; --limit N shows more)", file=out)
    return Exit.OK


__all__ = ["format_session_table", "sessions_command"]
