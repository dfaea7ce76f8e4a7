"""The pictures of an export: each run's SVG as written, its stored PNG, or one drawn now.

A run's PNG is normally stored with it (drawn by the engine at
:data:`STORED_PNG_SIZE`). One without a stored PNG is drawn at export by a
:data:`Renderer`; every front end passes the same one, :func:`worker_renderer`
over the sandboxed render process, so a picture that cannot be drawn says why
in the notes, the run card and the HTML page alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from pelican_tui.backends.export.facts import no_picture_reason
from pelican_tui.backends.export.files import PngSource, RunFiles, run_basenames
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.store.records import Session

if TYPE_CHECKING:
    from pelican_tui.backends.svg.render import SvgRenderer

STORED_PNG_SIZE = (1024, 1024)
"""Width and height of the PNG stored with a run, and of one drawn at export."""

EXPORT_RENDER_TIMEOUT_S = 10.0
"""Wall-clock limit for drawing one missing PNG at export (export is not interactive)."""

Renderer = Callable[[str, int, int], bytes | None]
"""``renderer(svg_text, width, height)`` → PNG bytes, or None if it can't be drawn.

It may raise instead: the export goes on, and the error's text is the reason it gives."""

NO_PICTURE_REASON = "the renderer gave no picture"
"""The reason shown when a :data:`Renderer` returned None without saying why."""


class RenderRefused(Exception):
    """The sandboxed worker did not draw the SVG; ``str(exc)`` is its one-line reason."""


def worker_renderer(worker: SvgRenderer, *, timeout_s: float = EXPORT_RENDER_TIMEOUT_S) -> Renderer:
    """A :data:`Renderer` drawing through ``worker`` (the sandboxed render process).

    A refused or failed render raises :class:`RenderRefused` with the worker's
    reason, so the export says why ("…could not be rendered (the SVG uses XML
    entities…)"). Safe to call from a thread while the worker serves others.
    """

    def render(svg: str, width: int, height: int) -> bytes | None:
        result = worker.render_sync(svg, width, height, timeout_s)
        if not result.ok or result.png is None:
            raise RenderRefused(result.reason or "the SVG could not be rendered")
        return result.png

    return render


@contextlib.contextmanager
def sandboxed_renderer(*, timeout_s: float = EXPORT_RENDER_TIMEOUT_S) -> Iterator[Renderer]:
    """A :func:`worker_renderer` on a render worker of its own, stopped on exit.

    The worker process starts only if something is drawn: exporting runs whose
    PNGs are all stored costs nothing.
    """
    from pelican_tui.backends.svg.render import SvgRenderer

    with SvgRenderer() as worker:
        yield worker_renderer(worker, timeout_s=timeout_s)


@frozen
class ExportedPictures:
    files: dict[int, RunFiles]
    """Per run id: which picture files it has, and why a PNG is missing."""
    contents: dict[str, bytes]
    """File name → bytes, for every picture file."""
    notes: tuple[str, ...]
    """One line per run whose picture is missing ("right: no SVG in the answer")."""


def export_pictures(
    session: Session, renderer: Renderer | None, png_size: tuple[int, int]
) -> ExportedPictures:
    """Each run's SVG as written and its PNG: the stored one, else one drawn by ``renderer``.

    ``session`` should already be scrubbed of secrets: the files are made from its text.
    A private set's session gets PNGs only: its SVG texts stay out (:mod:`.private`).
    """
    names = run_basenames(session)
    files: dict[int, RunFiles] = {}
    contents: dict[str, bytes] = {}
    notes: list[str] = []
    for run in session.runs:
        base = names[run.id]
        if run.svg is None:
            notes.append(f"{base}: {no_picture_reason(run)}")
            files[run.id] = RunFiles()
            continue
        withheld = session.private
        svg_name = None if withheld else f"{base}.svg"
        if svg_name is not None:
            contents[svg_name] = run.svg.encode("utf-8")
        png: bytes | None = run.png
        source: PngSource = "stored"
        problem: str | None = None
        if png is None and renderer is not None:
            png, problem = _draw(renderer, run.svg, png_size)
            source = "rendered"
            if problem is not None:
                shown = "" if problem == NO_PICTURE_REASON else f" ({problem})"
                notes.append(f"{base}: the SVG could not be rendered{shown}")
        if png is None:
            files[run.id] = RunFiles(svg=svg_name, render_problem=problem, svg_withheld=withheld)
            continue
        contents[f"{base}.png"] = png
        files[run.id] = RunFiles(
            svg=svg_name, png=f"{base}.png", png_source=source, svg_withheld=withheld
        )
    return ExportedPictures(files, contents, tuple(notes))


def _draw(renderer: Renderer, svg: str, size: tuple[int, int]) -> tuple[bytes | None, str | None]:
    """The PNG, or None and the reason it could not be drawn."""
    try:
        png = renderer(svg, size[0], size[1])
    except Exception as error:  # a renderer must never break the export
        return None, str(error) or type(error).__name__
    return (png, None) if png is not None else (None, NO_PICTURE_REASON)
