"""What is wrong with an SVG's XML, in words a person reads.

The sandboxed worker (which cannot draw such an SVG) and the export page
(where a browser would show a broken image) say it the same way: expat's
own messages ("not well-formed (invalid token): line 8, column 11") name
its grammar, not what the model wrote. Standard library only: the worker
imports it.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

SVG_NAMESPACE = "http://www.w3.org/2000/svg"

_EXPAT_WORDS = {
    "not well-formed (invalid token)": "a character XML does not allow there (a bare & or <)",
    "mismatched tag": "a closing tag that does not match the tag it closes",
    "unclosed token": "a tag cut off before its >",
    "no element found": "it ends before its tags are closed",
    "junk after document element": "text after the closing </svg>",
    "duplicate attribute": "an attribute given twice in one tag",
    "unbound prefix": "a prefix (such as xlink:) that no xmlns declares",
    "syntax error": "it does not begin as XML",
    "undefined entity": "an &name; entity that XML does not define",
    "reference to invalid character number": "a &#...; character XML does not allow",
}


def xml_error_words(error: ParseError) -> str:
    """Why the XML does not parse, and where: "a closing tag that does not match the
    tag it closes (line 24, column 2)". An expat message not known here is kept."""
    reason = str(error).split(":", 1)[0].strip()
    words = _EXPAT_WORDS.get(reason, reason)
    position = getattr(error, "position", None)
    if isinstance(position, tuple) and len(position) == 2:
        return f"{words} (line {position[0]}, column {position[1]})"
    return words


def root_problem(tag: str, *, namespace_needed: bool) -> str | None:
    """What is wrong with the outermost element ``tag`` (ElementTree's ``{ns}name``)
    for an SVG, or None. Without ``namespace_needed``, a missing ``xmlns`` is fine
    (cairosvg draws it; a browser does not)."""
    namespace, _, name = tag.lstrip("{").rpartition("}")
    if name != "svg":
        return f"its outermost element is <{name}>, not <svg>"
    if not namespace:
        return f'its <svg> tag has no xmlns="{SVG_NAMESPACE}"' if namespace_needed else None
    if namespace != SVG_NAMESPACE:
        return f'its <svg> tag is in the namespace "{namespace}", not "{SVG_NAMESPACE}"'
    return None


__all__ = ["SVG_NAMESPACE", "root_problem", "xml_error_words"]
