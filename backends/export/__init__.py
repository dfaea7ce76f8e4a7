"""A session written out for people and scripts: files, a run card, an HTML page, JSON.

One module per part of the export folder:

- :mod:`.folder`: :func:`export_session` writes the folder, whole or not at all;
- :mod:`.pictures`: each run's SVG, its stored PNG or one drawn now by the
  sandboxed renderer (:func:`worker_renderer`), and why a picture is missing;
- :mod:`.run_card`: ``run-card.md``, with the command that runs it again;
- :mod:`.html_page`: ``index.html``, the self-contained page;
- :mod:`.session_json`: ``session.json``, and :func:`load_export` to read it back;
- :mod:`.facts`: labels and number formats the run card and the page share;
- :mod:`.html_document`: the locked-down HTML document both pages are made in;
- :mod:`.private`: what is left out of a private prompt set's session;
- :mod:`.files`: the file names per run, and :class:`ExportError`.

An evidence export (``pelican-tui export-evidence``) spans every session:
:mod:`.evidence` gathers it (private prompts left out), :mod:`.evidence_page`
is its ``index.html``, :mod:`.evidence_data` its votes and ratings as CSV and
JSON, :mod:`.evidence_folder` writes them.
"""

from pelican_tui.backends.export.files import ExportError, RunFiles, run_basenames
from pelican_tui.backends.export.folder import ExportResult, export_folder_for, export_session
from pelican_tui.backends.export.pictures import (
    STORED_PNG_SIZE,
    Renderer,
    RenderRefused,
    sandboxed_renderer,
    worker_renderer,
)
from pelican_tui.backends.export.run_card import render_run_card
from pelican_tui.backends.export.session_json import load_export

__all__ = [
    "STORED_PNG_SIZE",
    "ExportError",
    "ExportResult",
    "RenderRefused",
    "Renderer",
    "RunFiles",
    "export_folder_for",
    "export_session",
    "load_export",
    "render_run_card",
    "run_basenames",
    "sandboxed_renderer",
    "worker_renderer",
]
