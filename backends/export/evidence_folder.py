"""Write an evidence export: ``index.html`` and the votes and ratings beside it.

:func:`export_evidence` gathers the evidence from the store (:mod:`.evidence`),
makes the page (:mod:`.evidence_page`) and the data files
(:mod:`.evidence_data`), and writes them into one folder:

    index.html  ratings.csv  ratings.json  votes.csv  votes.json

The folder appears whole or not at all: it is built in a temporary sibling
and renamed into place. A folder holding an earlier evidence export (its
``ratings.json`` says so) is refreshed, each file replaced atomically; a
folder holding anything else is refused with :class:`~.files.ExportError`.
"""

from __future__ import annotations

from pathlib import Path

from pelican_tui.backends.export.evidence import Evidence, gather_evidence
from pelican_tui.backends.export.evidence_data import RATINGS_FORMAT, RATINGS_JSON, data_files
from pelican_tui.backends.export.evidence_page import render_evidence_html
from pelican_tui.backends.export.files import check_folder, earlier_export, write_folder
from pelican_tui.backends.export.pictures import Renderer
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.ratings.leaderboard import DEFAULT_MIN_VOTES
from pelican_tui.backends.store.sessions import SessionStore

PAGE = "index.html"


@frozen
class EvidenceExport:
    out_dir: Path
    files: tuple[Path, ...]
    """Every file written, the page first."""
    evidence: Evidence


def evidence_contents(evidence: Evidence) -> dict[str, bytes]:
    """File name → contents of the folder, the page first."""
    return {PAGE: render_evidence_html(evidence).encode("utf-8"), **data_files(evidence)}


def export_evidence(
    store: SessionStore,
    out_dir: Path,
    *,
    prompt: str | None = None,
    min_votes: int = DEFAULT_MIN_VOTES,
    renderer: Renderer | None = None,
) -> EvidenceExport:
    """Write the evidence in ``store`` (on ``prompt`` only, if given) into ``out_dir``.

    Raises :class:`~.evidence.PrivatePromptError` for a prompt from a private
    set, :class:`~.files.ExportError` when the folder cannot be written."""
    evidence = gather_evidence(store, prompt=prompt, min_votes=min_votes, renderer=renderer)
    contents = evidence_contents(evidence)
    write_folder(Path(out_dir), contents, refresh=_earlier_export(Path(out_dir)), refused=_REFUSED)
    return EvidenceExport(Path(out_dir), tuple(Path(out_dir) / name for name in contents), evidence)


def check_evidence_folder(out_dir: Path) -> None:
    """Raise :class:`~.files.ExportError` if :func:`export_evidence` could not write
    ``out_dir`` (:func:`~.files.check_folder`): said before the evidence is gathered
    and its pictures drawn."""
    check_folder(Path(out_dir), refresh=_earlier_export(Path(out_dir)), refused=_REFUSED)


_REFUSED = "a folder with an earlier evidence export is refreshed"


def _earlier_export(out_dir: Path) -> bool:
    return earlier_export(out_dir / RATINGS_JSON, RATINGS_FORMAT) is not None


__all__ = [
    "PAGE",
    "EvidenceExport",
    "check_evidence_folder",
    "evidence_contents",
    "export_evidence",
]
