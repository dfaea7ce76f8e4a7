"""What an export folder holds for each run, how a folder is written (whole or not at
all), and the error when it cannot be written or read."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pelican_tui.backends import locations
from pelican_tui.backends.atomic import replace_file, sync_folder, write_synced
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.store.records import Session

PngSource = Literal["stored", "rendered"]
"""Where an exported PNG came from: the store, or drawn at export."""


class ExportError(Exception):
    """The export could not be written or read; the message says why."""


@frozen
class RunFiles:
    """The pictures exported for one run (names relative to the export folder)."""

    svg: str | None = None
    png: str | None = None
    png_source: PngSource | None = None
    render_problem: str | None = None
    """Why the PNG could not be drawn at export (the renderer's reason), if it was tried."""
    svg_withheld: bool = False
    """The run has an SVG, left out because its prompt set is private (see :mod:`.private`)."""


def empty_working_dir(folder: Path) -> bool:
    """Whether ``folder`` is an empty folder that is, or holds, the working directory
    (``--out .``): it is written in place, as swapping it for a new folder fails
    (and would leave the shell in a deleted one)."""
    try:
        here = Path.cwd().resolve().is_relative_to(folder.resolve())
        return here and folder.is_dir() and not any(folder.iterdir())
    except OSError:
        return False


def write_folder(
    out_dir: Path,
    contents: Mapping[str, bytes],
    *,
    refresh: bool,
    refused: str,
    stale: Iterable[str] = (),
) -> None:
    """Write ``contents`` (file name → bytes) as the folder ``out_dir``, whole or not at all.

    A missing or empty folder is built in a temporary sibling and renamed into place.
    A folder that holds files is refreshed when ``refresh`` says they are an earlier
    export of the same thing: each file is replaced atomically, and the ``stale``
    names that ``contents`` no longer has are removed. Else it is refused, the
    message ending in ``refused`` (what the person can do instead). An empty
    working directory is written in place (:func:`empty_working_dir`).

    Raises :class:`ExportError`, for a failed write too (said for the folder, not
    for the temporary file in it).
    """
    try:
        if _in_place(out_dir, refresh=refresh, refused=refused):
            _refresh_in_place(out_dir, contents, () if empty_working_dir(out_dir) else stale)
        else:
            _build_beside(out_dir, contents)
    except OSError as error:
        raise ExportError(f"cannot write {out_dir}: {error.strerror or error}") from error


def check_folder(out_dir: Path, *, refresh: bool, refused: str) -> None:
    """Raise :class:`ExportError` now, as :func:`write_folder` would later, when
    ``out_dir`` cannot be written: a file; a folder holding other files (unless
    ``refresh``); a place where nothing can be made (a read-only disk, ``/proc``, a
    path under a file, no permission). So a command says so before the work of
    filling the folder. It leaves nothing behind: its probe, an empty folder made
    where the files would go (or where the folder would be built), is removed."""
    try:
        if _in_place(out_dir, refresh=refresh, refused=refused):
            where = out_dir
        else:  # built beside it, its missing parents made first: the first one there is
            where = next(folder for folder in out_dir.absolute().parents if folder.exists())
        Path(tempfile.mkdtemp(prefix=".pelican-tui-probe-", dir=where)).rmdir()
    except OSError as error:
        raise ExportError(f"cannot write {out_dir}: {error.strerror or error}") from error


def _in_place(out_dir: Path, *, refresh: bool, refused: str) -> bool:
    """Whether ``out_dir`` is written in place (an earlier export refreshed, an empty
    working directory) rather than built beside it; :class:`ExportError` if it is
    refused. May raise :class:`OSError`."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} is a file, not a folder")
    for folder in out_dir.absolute().parents:  # under a file, mkdir says "File exists"
        if folder.exists():
            if not folder.is_dir():
                raise ExportError(f"cannot write {out_dir}: {folder} is a file")
            break
    if empty_working_dir(out_dir):
        return True
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not refresh:
            raise ExportError(
                f"{out_dir} already holds other files; choose a new folder ({refused})"
            )
        return True
    return False


def _build_beside(out_dir: Path, contents: Mapping[str, bytes]) -> None:
    parent = out_dir.parent
    locations.ensure(parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=parent))
    try:
        tmp.chmod(0o755)
        for name, data in contents.items():
            write_synced(tmp / name, data)
        if out_dir.is_dir():
            out_dir.rmdir()  # empty (checked before); rename needs it gone or empty
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    sync_folder(parent)


def _refresh_in_place(out_dir: Path, contents: Mapping[str, bytes], stale: Iterable[str]) -> None:
    for name, data in contents.items():
        replace_file(out_dir / name, data)
    for name in set(stale) - set(contents):
        with contextlib.suppress(OSError):
            (out_dir / name).unlink()
    sync_folder(out_dir)


def run_basenames(session: Session) -> dict[int, str]:
    """File name stem per run id: ``left``/``right``, or ``left-1``, ``left-2``... if a
    slot has several runs (numbered in run order)."""
    out: dict[int, str] = {}
    for slot in ("left", "right"):
        runs = [run for run in session.runs if run.slot == slot]
        for index, run in enumerate(runs, start=1):
            out[run.id] = slot if len(runs) == 1 else f"{slot}-{index}"
    return out


def earlier_export(path: Path, format_name: str) -> dict[str, Any] | None:
    """The JSON document an earlier export left at ``path`` (its ``format`` is
    ``format_name``), or None. Only a regular file is read: a FIFO there waited for
    a writer that never came, and the export with it."""
    try:
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == format_name else None
