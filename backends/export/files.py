"""What an export folder holds for each run, and the error when it cannot be written or read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pelican_tui.backends.store.records import Session

PngSource = Literal["stored", "rendered"]
"""Where an exported PNG came from: the store, or drawn at export."""


class ExportError(Exception):
    """The export could not be written or read; the message says why."""


@dataclass(frozen=True, slots=True)
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


def run_basenames(session: Session) -> dict[int, str]:
    """File name stem per run id: ``left``/``right``, or ``left-1``, ``left-2``... if a
    slot has several runs (numbered in run order)."""
    out: dict[int, str] = {}
    for slot in ("left", "right"):
        runs = [run for run in session.runs if run.slot == slot]
        for index, run in enumerate(runs, start=1):
            out[run.id] = slot if len(runs) == 1 else f"{slot}-{index}"
    return out
