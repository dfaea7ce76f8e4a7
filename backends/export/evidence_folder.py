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

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pelican_tui.backends import locations
from pelican_tui.backends.export.evidence import Evidence, gather_evidence
from pelican_tui.backends.export.evidence_data import RATINGS_FORMAT, RATINGS_JSON, data_files
from pelican_tui.backends.export.evidence_page import render_evidence_html
from pelican_tui.backends.export.files import ExportError, empty_working_dir
from pelican_tui.backends.export.pictures import Renderer
from pelican_tui.backends.ratings.leaderboard import DEFAULT_MIN_VOTES
from pelican_tui.backends.store.sessions import SessionStore

PAGE = "index.html"


@dataclass(frozen=True, slots=True)
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
    write_folder(Path(out_dir), contents)
    return EvidenceExport(Path(out_dir), tuple(Path(out_dir) / name for name in contents), evidence)


def write_folder(out_dir: Path, contents: Mapping[str, bytes]) -> None:
    """Write ``contents`` as the folder ``out_dir`` (see the module doc)."""
    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise ExportError(f"{out_dir} is a file, not a folder")
        holds_files = out_dir.is_dir() and any(out_dir.iterdir())
        if holds_files and not _earlier_export(out_dir):
            raise ExportError(
                f"{out_dir} already holds other files; choose a new folder "
                "(a folder with an earlier evidence export is refreshed)"
            )
        if holds_files or empty_working_dir(out_dir):  # written in place
            for name, data in contents.items():
                _replace(out_dir / name, data)
            return
        locations.ensure(out_dir.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
        try:
            tmp.chmod(0o755)
            for name, data in contents.items():
                _write_synced(tmp / name, data)
            if out_dir.is_dir():
                out_dir.rmdir()
            tmp.rename(out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    except OSError as error:
        raise ExportError(f"cannot write {out_dir}: {error.strerror or error}") from error


def _earlier_export(out_dir: Path) -> bool:
    try:
        data = json.loads((out_dir / RATINGS_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == RATINGS_FORMAT


def _replace(path: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        _write_synced(tmp, data)
        tmp.chmod(0o644)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


__all__ = ["PAGE", "EvidenceExport", "evidence_contents", "export_evidence", "write_folder"]
