"""Export a saved session to a folder a person can open and a script can read.

:func:`export_session` writes, into one folder:

- ``left.svg`` / ``right.svg`` (``left-1.svg``, ``left-2.svg``... when a slot
  has several runs): each extracted SVG exactly as the model wrote it (secrets
  aside, see below);
- ``left.png`` / ``right.png``: the stored picture, or one drawn by the
  ``renderer`` passed in (:mod:`.pictures`);
- ``run-card.md`` (:mod:`.run_card`): everything needed to reproduce the runs
  and their raw output;
- ``index.html`` (:mod:`.html_page`): a self-contained page with the pictures
  side by side, their facts and the verdict;
- ``session.json`` (:mod:`.session_json`): the session for machines.

Secrets never leave in an export: the session passes through
:func:`~pelican_tui.backends.store.records.scrub_session` first (so a key
pasted into a prompt, or stored by an older pelican-tui, shows as
``[redacted]``), and the SVG files and pictures are made from the scrubbed text.

A session from a private prompt set leaves with its pictures and numbers only
(:mod:`.private`): no prompt, title, answer, thinking or SVG text, and no
``.svg`` files, in any file of the folder.

The folder appears whole or not at all: it is built in a temporary sibling
folder and renamed into place. Re-exporting the same session over its own
earlier export replaces each file atomically instead, and says so in a note.
"The same session" is its id and its start: ids start again at 1 in a store made
anew (a damaged one moved aside) and in another data folder, and such an export
is another session's (:func:`export_folder_for` finds the folder beside it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any

from pelican_tui.backends import locations
from pelican_tui.backends.export.files import earlier_export, write_folder
from pelican_tui.backends.export.html_page import render_html
from pelican_tui.backends.export.pictures import STORED_PNG_SIZE, Renderer, export_pictures
from pelican_tui.backends.export.run_card import render_run_card
from pelican_tui.backends.export.session_json import EXPORT_FORMAT, session_json_bytes
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.store.records import Session, scrub_session


@frozen
class ExportResult:
    out_dir: Path
    files: tuple[Path, ...]
    """Every file written, session.json first."""
    notes: tuple[str, ...] = ()
    """One line per thing worth saying ("right: no SVG in the answer")."""


REPLACED_NOTE = "it replaced the session's earlier export there (changes made to it are gone)"
"""The note of an export written over the session's earlier one, for every front end: a
second ``x`` (or ``sessions export`` to the same folder) replaced it without a word."""


def export_session(
    session: Session,
    out_dir: Path,
    renderer: Renderer | None = None,
    *,
    png_size: tuple[int, int] = STORED_PNG_SIZE,
    overwrite: bool = False,
) -> ExportResult:
    """Write the export folder ``out_dir`` for ``session``.

    ``renderer`` draws the PNG of a run that has an SVG but no stored picture
    (every front end passes :func:`~.pictures.worker_renderer`); without one,
    such a run gets no PNG. ``out_dir`` may be missing or empty. If it holds an
    earlier export of the same session, it is refreshed, and a note says so; if it
    holds anything else, :class:`ExportError` is raised unless ``overwrite`` is true.
    """
    out_dir = Path(out_dir)
    session = scrub_session(session)
    pictures = export_pictures(session, renderer, png_size)
    contents = {
        "session.json": session_json_bytes(session, pictures.files),
        "run-card.md": render_run_card(session, pictures.files).encode("utf-8"),
        "index.html": render_html(session, pictures.files, pictures.contents).encode("utf-8"),
        **pictures.contents,
    }
    previous = _previous_export(out_dir)
    replaced = previous is not None and _same_session(previous, session)
    write_folder(
        out_dir,
        contents,
        refresh=overwrite or replaced,
        refused="or overwrite them with --force",
        stale=_previous_picture_names(previous),
    )
    return ExportResult(
        out_dir=out_dir,
        files=tuple(out_dir / name for name in contents),
        notes=(*pictures.notes, REPLACED_NOTE) if replaced else pictures.notes,
    )


def export_folder_for(parent: Path, session: Session) -> Path:
    """Where ``session`` is exported in ``parent``: ``session-<id>``, unless that holds
    something other than an earlier export of it (another session with its id: a
    store made anew, another data folder); then the first ``session-<id>-2``,
    ``-3``… that is missing, empty or its own earlier export. What is there stays."""
    name = locations.session_export_name(session.id)
    for number in count(1):
        folder = parent / (name if number == 1 else f"{name}-{number}")
        try:
            if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
                return folder
        except OSError:
            continue  # unreadable: not ours to fill
        previous = _previous_export(folder)
        if previous is not None and _same_session(previous, session):
            return folder
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- an earlier export


def _same_session(previous: Mapping[str, Any], session: Session) -> bool:
    """Whether an earlier export's ``session.json`` is of ``session``: its id and start."""
    if previous.get("id") != session.id:
        return False
    try:
        return datetime.fromisoformat(str(previous.get("created_at"))) == session.created_at
    except (TypeError, ValueError):
        return False


def _previous_export(out_dir: Path) -> dict[str, Any] | None:
    return earlier_export(out_dir / "session.json", EXPORT_FORMAT)


_PICTURE_NAME = re.compile(r"^(left|right)(-\d+)?\.(svg|png)$")


def _previous_picture_names(previous: Mapping[str, Any] | None) -> set[str]:
    names: set[str] = set()
    for run in (previous or {}).get("runs", []):
        for key in ("svg", "png"):
            name = run.get("files", {}).get(key) if isinstance(run, dict) else None
            if isinstance(name, str) and _PICTURE_NAME.match(name):
                names.add(name)
    return names
