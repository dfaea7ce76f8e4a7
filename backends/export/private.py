"""A session from a private prompt set, as an export may show it: pictures and numbers.

People keep secret prompts so that they cannot leak (into training data, for
one). A session whose prompt came from a private set
(:mod:`pelican_tui.backends.prompt_sets`) is exported without any text that
holds or can quote the prompt:

- the prompt and the title become "private prompt from set NAME";
- answers, thinking and SVG texts are left out (a model often repeats the
  prompt, in prose or in an SVG ``<title>``), so the export has PNGs but no
  ``.svg`` files, and the page shows no SVG drawn by the browser;
- the verdict note (free text) is left out; the verdict stays;
- the run card's command to run it again names the set, not the prompt.

Everything else (models, settings, timings, usage, memory, host, picture
facts, the notes pelican-tui wrote about each picture) is kept: numbers and
pelican-tui's own words. Every part of an export passes the session through
:func:`withhold_private`, so a part called on its own is as safe as the folder.
"""

from __future__ import annotations

import dataclasses

from pelican_tui.backends.prompt_sets import private_placeholder
from pelican_tui.backends.store.records import Session

__all__ = ["withhold_private"]


def withhold_private(session: Session) -> Session:
    """``session`` unchanged, or for a private set's session a copy without its texts."""
    if not session.private:
        return session
    placeholder = private_placeholder(session.prompt_set)
    runs = tuple(
        dataclasses.replace(run, thinking_text="", answer="", svg=None) for run in session.runs
    )
    return dataclasses.replace(
        session, prompt=placeholder, title=placeholder, verdict_note=None, runs=runs
    )
