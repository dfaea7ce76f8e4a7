"""Find the SVG in a model's answer, complete or still streaming.

Answers put the picture inside or outside Markdown code fences, with prose
before and after, sometimes several times (a first try, then "here is an
improved version"). Two entry points:

* :func:`extract_svg` for a finished answer: which SVG to keep and why.
* :func:`close_partial_svg` while the answer streams: a well-formed SVG made
  from what has arrived so far, for a live preview.

Both are one linear pass over the text with precompiled regular expressions
(possessive quantifiers, so no backtracking), cheap enough to call a few times
a second on answers of tens of kilobytes. Nothing here parses XML or renders:
the result is untrusted text for :mod:`.svg_render`.
"""

from __future__ import annotations

import re

from pelican_tui.backends.frozen import frozen

__all__ = ["SvgExtraction", "close_partial_svg", "extract_svg", "repair_svg"]

# `<svg` or `</svg` as a tag name (not `<svgfoo`), case-insensitive because
# models occasionally shout. A `<svg>` written as inline code (preceded by a
# backtick, as in "the `<svg>` element") is prose, not a picture.
_SVG_TAG = re.compile(r"<(/?)svg(?=[\s/>])", re.IGNORECASE)

# One complete markup construct starting at a `<`. Tags allow `>` inside quoted
# attribute values. Possessive quantifiers keep a failed match (a tag cut off
# mid-attribute at the end of a stream) linear.
_MARKUP = re.compile(
    r"""
    <!--.*?-->
    | <!\[CDATA\[.*?\]\]>
    | <\?.*?\?>
    | <!(?!--|\[CDATA\[)(?:[^>"'\[]++|"[^"]*+"|'[^']*+'|\[[^\]]*+\])*+>
    | <(?P<close>/?)(?P<name>[A-Za-z_][\w:.\-]*+)
      (?P<attrs>(?:[^>"'<]++|"[^"]*+"|'[^']*+')*+)>
    """,
    re.DOTALL | re.VERBOSE,
)


@frozen
class SvgExtraction:
    """What :func:`extract_svg` found in an answer."""

    svg: str | None
    """The SVG text to render, or None when the answer has no SVG at all."""
    count: int
    """How many complete ``<svg>…</svg>`` documents the answer contains."""
    partial: bool
    """True when ``svg`` was closed up from an SVG the answer never finished."""
    note: str
    """One plain sentence for people, e.g. "no SVG in the answer"."""
    started: bool = False
    """An SVG began in the answer, drawable or not (its first tag cut off); ``<svg``
    in prose or inline code is no start (the rules that find the SVG decide)."""


def _is_inline_code(text: str, pos: int) -> bool:
    return pos > 0 and text[pos - 1] == "`"


def _svg_spans(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Outermost complete SVG spans, and starts of ``<svg`` tags never closed.

    Opening and closing tags are paired with a stack, so nested ``<svg>``
    elements stay inside their parent, and a stray ``<svg>`` mentioned in prose
    before the real picture (never closed) does not swallow it.
    """
    stack: list[int] = []
    pairs: list[tuple[int, int]] = []
    for match in _SVG_TAG.finditer(text):
        start = match.start()
        if _is_inline_code(text, start):
            continue
        end_of_tag = _tag_end(text, match.end())
        if end_of_tag == _NOT_A_TAG:
            continue
        if end_of_tag == _CUT_OFF:  # the stream stops inside this tag
            if not match.group(1):
                stack.append(start)
            break
        if match.group(1):  # </svg>
            if stack:
                pairs.append((stack.pop(), end_of_tag))
        elif text[end_of_tag - 2] == "/":  # <svg ... /> is complete and empty
            pairs.append((start, end_of_tag))
        else:
            stack.append(start)
    pairs.sort()
    outermost: list[tuple[int, int]] = []
    for start, end in pairs:  # properly nested or disjoint: keep the uncovered
        if not outermost or start >= outermost[-1][1]:
            outermost.append((start, end))
    return outermost, stack


_NOT_A_TAG = -1
_CUT_OFF = -2
_ATTRS = re.compile(r"""(?:[^>"'<]++|"[^"]*+"|'[^']*+')*+""")


def _tag_end(text: str, pos: int) -> int:
    """Index just past the ``>`` ending the tag whose name ends at ``pos``.

    ``_CUT_OFF`` when the text ends inside the tag (streaming),
    ``_NOT_A_TAG`` when a ``<`` comes first (prose such as "<svg is ...").
    """
    match = _ATTRS.match(text, pos)  # matches, possibly empty
    end = match.end() if match else pos
    if end >= len(text) or text[end] in "\"'":
        return _CUT_OFF
    if text[end] == ">":
        return end + 1
    return _NOT_A_TAG


def _has_attributes(text: str, start: int) -> bool:
    """Whether the ``<svg`` tag at ``start`` carries attributes (a real picture)."""
    rest = text[start + 4 : start + 200].lstrip()
    return bool(rest) and rest[0] not in ">/"


def _best_unclosed(unclosed: list[int], text: str) -> int:
    """The unclosed start most likely to be the picture, not a prose mention."""
    for start in unclosed:
        if _has_attributes(text, start):
            return start
    return unclosed[0]


UNDRAWABLE_NOTE = "the SVG is unfinished: its first tag is cut off"
"""The note of an SVG that began but cannot be drawn, even closed up."""


def extract_svg(answer: str) -> SvgExtraction:
    """Pick the SVG to draw from a finished answer.

    Rules, in order:

    1. Every complete, outermost ``<svg …>…</svg>`` counts, fenced or not,
       whatever prose surrounds it (nested ``<svg>`` elements belong to their
       parent; ``<svg>`` written as inline code in prose is ignored).
    2. With several, the LAST one wins: models that answer twice almost always
       revise ("here is an improved version"), and the last is what they
       settled on. ``count`` says how many there were.
    3. With none complete but an ``<svg`` that was never closed (the answer ran
       out of tokens), the unfinished one is closed up as in
       :func:`close_partial_svg` and returned with ``partial=True``.
    4. Otherwise ``svg`` is None and ``note`` says so.

    The returned text starts at ``<svg`` and ends at ``</svg>``: an XML
    declaration or DOCTYPE before it (where entity tricks live) is left out.
    """
    if not answer.strip():
        return SvgExtraction(None, 0, False, "the answer is empty")
    spans, unclosed = _svg_spans(answer)
    if spans:
        start, end = spans[-1]
        count = len(spans)
        note = "found 1 SVG" if count == 1 else f"found {count} SVGs; using the last one"
        if any(pos > start for pos in unclosed):
            note += "; an unfinished SVG after it was ignored"
        return SvgExtraction(answer[start:end], count, False, note, started=True)
    if unclosed:
        closed = _close_from(answer, _best_unclosed(unclosed, answer))
        if closed is not None:
            return SvgExtraction(
                closed, 0, True, "the SVG is unfinished (no closing </svg>); closed it up", True
            )
        return SvgExtraction(None, 0, False, UNDRAWABLE_NOTE, started=True)
    return SvgExtraction(None, 0, False, "no SVG in the answer")


def close_partial_svg(text: str) -> str | None:
    """A well-formed SVG from a possibly unfinished answer, for a live preview.

    Takes the SVG being written last: when the newest outermost ``<svg`` is
    still open, the text is cut after its last complete tag (dropping a tag,
    comment or text cut off mid-way) and every element still open is closed,
    innermost first. When every SVG is already closed, the last one is
    returned as is. None when no ``<svg`` tag has started, or when even the
    opening ``<svg …>`` tag is not complete yet.

    One linear scan from the start of that SVG; a stray ``<`` that begins no
    valid markup ends the usable part, as an XML parser would stop there too.
    """
    spans, unclosed = _svg_spans(text)
    if unclosed:
        start = _best_unclosed(unclosed, text)
        if not spans or start > spans[-1][0]:
            return _close_from(text, start)
    if spans:
        start, end = spans[-1]
        return text[start:end]
    return None


def _close_from(text: str, start: int) -> str | None:
    """Cut ``text[start:]`` at its last complete tag and close what is open."""
    open_names: list[str] = []
    cut = start
    pos = start
    find = text.find
    match_markup = _MARKUP.match
    while True:
        lt = find("<", pos)
        if lt < 0:
            break
        match = match_markup(text, lt)
        if match is None:
            break
        name = match.group("name")
        if name is not None:
            if match.group("close"):
                if name in open_names:
                    while open_names and open_names.pop() != name:
                        pass
                    if not open_names:  # the root closed: the SVG is complete
                        return text[start : match.end()]
            elif not match.group("attrs").endswith("/"):
                open_names.append(name)
            elif not open_names:  # <svg/> on its own
                return text[start : match.end()]
        pos = cut = match.end()
    if not open_names:
        return None
    return text[start:cut] + "".join(f"</{name}>" for name in reversed(open_names))


def repair_svg(svg: str) -> str:
    """Balance an SVG's tags the way a forgiving HTML parser would.

    Models sometimes write ``<circle …>`` without closing it, or close a tag
    twice. This inserts the missing end tags where an enclosing element closes
    and drops end tags that close nothing, so an almost-right picture still
    renders. Text and attributes are left as they are; the result is still
    untrusted and goes through the sandboxed renderer like any other SVG.
    """
    out: list[str] = []
    open_names: list[str] = []
    pos = 0
    last = 0
    while True:
        lt = svg.find("<", pos)
        if lt < 0:
            break
        match = _MARKUP.match(svg, lt)
        if match is None:
            pos = lt + 1
            continue
        name = match.group("name")
        if name is not None and match.group("close"):
            out.append(svg[last:lt])
            if name in open_names:
                while open_names:
                    inner = open_names.pop()
                    if inner == name:
                        break
                    out.append(f"</{inner}>")
                out.append(match.group(0))
            last = match.end()
        elif name is not None and not match.group("attrs").endswith("/"):
            open_names.append(name)
        pos = match.end()
    out.append(svg[last:])
    out.extend(f"</{name}>" for name in reversed(open_names))
    return "".join(out)
