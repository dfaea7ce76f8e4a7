"""Facts about one run's picture, measured, not judged.

:func:`picture_facts` turns what the engine knows at the end of a run (the
answer, what :func:`~.extract.extract_svg` found in it, the PNG the sandboxed
renderer drew or why it could not) into a small dict that is stored with the
run, shown beside the picture and usable to filter a gallery:

``renders``
    a PNG was drawn.
``not_svg``
    the answer holds no SVG at all.
``truncated``
    the SVG was never finished: it was closed up to be drawn, or (cut off
    inside its first tag) could not be.
``render_failed``
    the answer holds an SVG and the renderer refused or failed to draw it
    (an SVG nobody tried to draw has ``renders`` and ``render_failed`` both
    false).
``empty``
    the PNG is almost blank: ``ink`` below :data:`EMPTY_INK`.
``ink``
    the share (0..1) of pixels that differ from the background, or None
    without a PNG. The background is the picture's most common colour (the
    renderer's white letterbox, or the SVG's own sky); a pixel within
    :data:`BACKGROUND_TOLERANCE` of it on every channel counts as background,
    so anti-aliased edges of a blank canvas do not count as ink.
``elements``
    how many SVG elements the SVG has (start tags, ``<svg>`` included).
``svg_bytes``
    the SVG's size in UTF-8 bytes (0 without one).
``seconds_to_picture``
    as given by the caller (time from the request to the drawn picture), or
    None when there is no picture.

The SVG is model output, so it is never parsed as XML here: elements are
counted by one linear scan that skips comments, CDATA, processing
instructions and declarations, and expands nothing (an entity bomb is a few
tags). Ink is measured by :func:`~.ink.ink_of` on the picture the sandboxed
renderer drew, as it drew it (a run's picture), or on the PNG decoded with
Pillow, at most :data:`MAX_INK_SIDE` pixels a side (a larger one is reduced
first).
"""

from __future__ import annotations

import io
import re
from typing import Any

from pelican_tui.backends.svg.extract import SvgExtraction
from pelican_tui.backends.svg.ink import BACKGROUND_TOLERANCE, MAX_INK_SIDE, ink_of

__all__ = [
    "BACKGROUND_TOLERANCE",
    "EMPTY_INK",
    "FACT_KEYS",
    "MAX_INK_SIDE",
    "count_elements",
    "ink_share",
    "picture_facts",
]

EMPTY_INK = 0.002
"""A picture with less ink than this share of its pixels (0.2 %) is "empty"."""

FACT_KEYS = (
    "renders",
    "not_svg",
    "truncated",
    "render_failed",
    "empty",
    "ink",
    "elements",
    "svg_bytes",
    "seconds_to_picture",
)
"""The keys :func:`picture_facts` returns, in the order people read them."""

# Every kind of markup that starts with `<`: a comment, CDATA, a processing
# instruction or a declaration (skipped to its end), an end tag (not counted),
# or a start tag (counted).
_MARKUP_START = re.compile(r"<(?:(!--)|(!\[CDATA\[)|(\?)|(!)|(/)|[A-Za-z_])")
_SKIP_TO = {1: "-->", 2: "]]>", 3: "?>", 4: ">"}


def count_elements(svg: str) -> int:
    """How many elements ``svg`` has: start tags outside comments and CDATA.

    One pass over the text, never an XML parser: nothing is expanded or
    fetched, and a comment that is never closed ends the count (an XML parser
    would stop there too). Exact for well-formed XML.
    """
    count = 0
    pos = 0
    while True:
        match = _MARKUP_START.search(svg, pos)
        if match is None:
            return count
        group = match.lastindex
        if group in _SKIP_TO:
            end = svg.find(_SKIP_TO[group], match.end())
            if end < 0:
                return count
            pos = end + len(_SKIP_TO[group])
            continue
        if group is None:  # a start tag
            count += 1
        pos = match.end()


def ink_share(png: bytes) -> float:
    """The share (0..1) of ``png``'s pixels that are not background (see the module doc).

    Transparent pixels are laid on white first. Raises ``OSError`` or
    ``ValueError`` (Pillow's) for bytes that are not an image. Decoding the
    PNG is most of the cost (a 1024x1024 picture: ~10 ms); the sandboxed
    renderer measures the picture it draws for a run without it
    (:func:`~.ink.ink_of`, the same measure).
    """
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return ink_of(image)


def picture_facts(
    answer: str,
    extraction: SvgExtraction,
    png: bytes | None,
    render_problem: str | None,
    seconds_to_picture: float | None,
    *,
    ink: float | None = None,
) -> dict[str, Any]:
    """The facts of one run's picture (keys in :data:`FACT_KEYS`; see the module doc).

    ``answer`` is the model's whole answer, ``extraction`` what
    :func:`~.extract.extract_svg` found in it, ``png`` the drawn picture (None
    when it could not be drawn or was not tried), ``render_problem`` the
    renderer's reason when it refused. Never raises for anything about the
    answer or the PNG: a PNG that cannot be decoded has no ink measure.
    ``ink``: the share the renderer measured as it drew ``png``
    (:attr:`~.render.RenderResult.ink`); None: measured here, from ``png``.
    """
    svg = extraction.svg
    has_svg = svg is not None
    # An SVG whose first tag was cut off cannot be drawn, but it is an SVG.
    started = extraction.started
    if png is None:
        ink = None
    elif ink is not None:
        ink = round(ink, 6)
    else:
        try:
            ink = round(ink_share(png), 6)
        except (OSError, ValueError):  # not an image after all: no measure
            ink = None
    renders = png is not None
    return {
        "renders": renders,
        "not_svg": not started,
        "truncated": extraction.partial or (started and not has_svg),
        "render_failed": has_svg and not renders and render_problem is not None,
        "empty": ink is not None and ink < EMPTY_INK,
        "ink": ink,
        "elements": count_elements(svg) if svg is not None else 0,
        "svg_bytes": len(svg.encode("utf-8")) if svg is not None else 0,
        "seconds_to_picture": (
            round(seconds_to_picture, 3) if renders and seconds_to_picture is not None else None
        ),
    }
