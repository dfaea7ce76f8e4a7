"""The process that turns untrusted SVG into PNG, and the rules it applies.

:class:`~pelican_tui.backends.svg.render.SvgRenderer` starts this module as
``python -m pelican_tui.backends.svg.worker`` and talks to it over its stdin
and stdout with length-prefixed frames (see :func:`write_frame`). It imports
only the standard library, cairosvg, defusedxml and Pillow (cairosvg's), and
:mod:`.ink` and :mod:`.xml_words`: never Textual, never the rest of pelican-tui.

Every SVG goes through the same steps, here or in-process (benchmark only):

1. **Parse** with defusedxml: DTD entities and external entities raise, so
   XXE and entity expansion ("billion laughs") never happen.
2. **Sanitize** (defense in depth, cairosvg is already told not to fetch):
   drop ``<script>``, ``<foreignObject>``, event-handler elements and
   animations of ``href``, every ``on*`` attribute, every
   ``href``/``xlink:href`` not starting with ``#`` or ``data:image/`` (and
   the ``<use>``/``<image>`` elements left without a link),
   ``xml:base``, and CSS ``@import`` rules.
3. **Bound** the work before drawing: count the elements the document expands
   to through ``<use>`` (each reference counted as the subtree it copies);
   more than :data:`MAX_EXPANDED_ELEMENTS`, a ``<use>`` that refers to itself
   or nesting deeper than the recursion limit is refused with a reason.
4. **Render** with cairosvg (``bytestring=...``, ``unsafe=False``), a
   ``url_fetcher`` that decodes ``data:`` URIs and returns nothing for any
   other URL (no file, no network), and both ``output_width`` and
   ``output_height`` set: the pixel buffer is exactly the requested size
   whatever the SVG's own width and height say (checked: a 30000x30000
   canvas renders at 400x300 using ~54 MB). Content is scaled to fit with its
   aspect ratio kept (the root's ``preserveAspectRatio``, default "meet").

The worker process additionally limits its address space (``RLIMIT_AS``,
1 GiB by default), its file writes (``RLIMIT_FSIZE`` 0), core dumps, and its
CPU time per request (so an orphaned worker stuck in a render still ends);
the parent adds a wall-clock timeout and restarts the worker when needed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import math
import os
import re
import resource
import signal
import struct
import sys
import time
import urllib.parse
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO
from xml.etree import ElementTree

from pelican_tui.backends.svg.xml_words import SVG_NAMESPACE, root_problem, xml_error_words

MAX_EXPANDED_ELEMENTS = 20_000
"""Elements a document may expand to through ``<use>`` (a pelican uses < 500)."""
MAX_SIDE = 8192
"""Largest output width or height in pixels."""
PNG_COMPRESS_LEVEL = 6
"""zlib level of an opaque picture's PNG: cairo's own (libpng's default), the same size."""
MAX_FRAME = 512 * 1024 * 1024
"""Largest frame either side accepts; anything bigger means a broken stream."""
DEFAULT_MEMORY_LIMIT = 1 << 30
MAX_EMBEDDED_BYTES = 4 * 1024 * 1024
"""Largest SVG a gzip-compressed ``data:`` URI may inflate to."""
MAX_EMBEDDED_PIXELS = 16_000_000
"""Largest raster image (width x height) a ``data:`` URI may carry."""
CPU_SECONDS_PER_REQUEST = 60
"""CPU budget per request; the parent's wall-clock timeout is far shorter."""

_XLINK_NS = "http://www.w3.org/1999/xlink"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_DROPPED_ELEMENTS = frozenset({"script", "foreignobject", "handler", "listener"})
_LINK_ELEMENTS = frozenset({"use", "image", "feimage", "tref"})
"""Elements that draw nothing without their ``href``."""
_IMPORT_RULE = re.compile(r"@import[^;]*;?", re.IGNORECASE)
_EMPTY_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
_FRAME = struct.Struct("!I")
_UNREADABLE_NUMBER = re.compile(r"could not convert string to float: (.*)", re.DOTALL)
"""What cairosvg's float() says of a value like width="5%" or opacity="x"."""
_WARM_UP = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><text y="8">Pe</text></svg>'
)


class SvgRejected(Exception):
    """The SVG cannot or must not be drawn; ``str(exc)`` is a one-line reason."""


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def data_only_fetcher(url: str, resource_type: str) -> bytes:
    """cairosvg ``url_fetcher`` that only decodes ``data:`` URIs.

    Any other URL (``http:``, ``file:``, a relative path cairosvg turned into
    ``file://``) gets an empty answer: no socket is opened, no file is read.
    Embedded content is held to the same rules as the document: an SVG is
    sanitized (a refused one becomes empty), gzip is inflated only up to
    :data:`MAX_EMBEDDED_BYTES`, and a raster image of more than
    :data:`MAX_EMBEDDED_PIXELS` is dropped before anything decodes it.
    """
    if not url.startswith("data:"):
        return _EMPTY_SVG if resource_type == "image/svg+xml" else b""
    payload = _decode_data_uri(url)
    if payload[:2] == b"\x1f\x8b":
        inflated = _gunzip_capped(payload, MAX_EMBEDDED_BYTES)
        if inflated is None:
            return _EMPTY_SVG if resource_type == "image/svg+xml" else b""
        payload = inflated
    if resource_type == "image/svg+xml" or b"<svg" in payload:
        try:
            return serialize(sanitize(payload))
        except SvgRejected:
            return _EMPTY_SVG if resource_type == "image/svg+xml" else b""
    if resource_type.startswith("image/") and not _is_small_image(payload):
        return b""
    return payload


def _decode_data_uri(url: str) -> bytes:
    meta, comma, payload = url[5:].partition(",")
    if not comma:
        return b""
    if meta.lower().endswith(";base64"):
        try:
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            return b""
    return urllib.parse.unquote_to_bytes(payload)


def _gunzip_capped(data: bytes, limit: int) -> bytes | None:
    """Inflate gzip ``data``, or None if it is broken or inflates past ``limit``."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        return None
    return out if len(out) <= limit else None


def _is_small_image(data: bytes) -> bool:
    """Whether a raster image's header declares at most MAX_EMBEDDED_PIXELS."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            width, height = image.size
    except Exception:  # unreadable, or Pillow's own decompression-bomb error
        return False
    return width * height <= MAX_EMBEDDED_PIXELS


def _is_allowed_href(value: str) -> bool:
    value = value.strip()
    return value.startswith("#") or value[:11].lower() == "data:image/"


def _is_dropped(element: ElementTree.Element) -> bool:
    if not isinstance(element.tag, str):  # comments, processing instructions
        return True
    name = _local(element.tag).lower()
    if name in _DROPPED_ELEMENTS:
        return True
    if name in _LINK_ELEMENTS and not any(
        _local(key) == "href" and _is_allowed_href(value) for key, value in element.attrib.items()
    ):
        return True  # a <use> or <image> whose only purpose was an outside link
    # Animations could set an href at "run time"; cairosvg ignores them, but
    # an animated link is never needed for a still picture.
    return name in ("set", "animate") and element.get("attributeName", "").endswith("href")


ENTITIES_REFUSED = "the SVG uses XML entities, which are not allowed"


def sanitize(data: bytes) -> ElementTree.Element:
    """Parse untrusted SVG bytes and remove everything that could reach out.

    Raises :class:`SvgRejected` with a one-line reason for input that is not
    an SVG document or uses XML entities.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if not data.strip():
        raise SvgRejected("the SVG is empty")
    if b"<svg" not in data and b"<SVG" not in data and b":svg" not in data:
        raise SvgRejected("not an SVG (no <svg> tag)")
    try:
        root: ElementTree.Element = fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise SvgRejected(ENTITIES_REFUSED) from None
    except ElementTree.ParseError as exc:
        if str(exc).startswith("undefined entity"):  # its DTD is not part of the SVG taken
            raise SvgRejected(ENTITIES_REFUSED) from None
        raise SvgRejected(f"not valid XML: {xml_error_words(exc)}") from None
    if problem := root_problem(root.tag, namespace_needed=False):
        raise SvgRejected(f"not an SVG: {problem}")
    for parent in root.iter():
        for child in list(parent):
            if _is_dropped(child):
                parent.remove(child)
        for key in list(parent.attrib):
            local = _local(key)
            if (
                local[:2].lower() == "on"
                or key == _XML_BASE
                or (local == "href" and not _is_allowed_href(parent.attrib[key]))
            ):
                del parent.attrib[key]
        if _local(parent.tag) == "style" and parent.text:
            parent.text = _IMPORT_RULE.sub("", parent.text)
    _check_expansion(root)
    return root


def serialize(root: ElementTree.Element) -> bytes:
    """The bytes of a sanitized tree, with SVG as the default namespace.

    Plain ``ElementTree.tostring`` writes ``<ns0:svg xmlns:ns0="...">``: valid
    XML, but cairosvg takes an embedded image for SVG only if its bytes contain
    ``<svg``, and hands anything else to the bitmap decoder, which fails the
    whole render. (``tostring(default_namespace=...)`` refuses any
    unprefixed attribute, so every real SVG.) Here SVG-namespace tags lose
    their prefix under ``xmlns="http://www.w3.org/2000/svg"``; cairosvg reads
    no-namespace and SVG-namespace elements alike, so nothing changes meaning.
    Other namespaces (xlink) keep generated prefixes. Rewrites ``root``'s tags
    in place.
    """
    prefix = f"{{{SVG_NAMESPACE}}}"
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith(prefix):
            element.tag = element.tag[len(prefix) :]
    root.set("xmlns", SVG_NAMESPACE)
    data: bytes = ElementTree.tostring(root, encoding="utf-8")
    return data


def _check_expansion(root: ElementTree.Element) -> None:
    """Refuse ``<use>`` fan-out and self-reference before cairosvg meets them."""
    by_id: dict[str, ElementTree.Element] = {}
    for element in root.iter():
        element_id = element.get("id")
        if element_id is not None:
            by_id.setdefault(element_id, element)
    cost: dict[int, int] = {}
    visiting: set[int] = set()

    def expanded(element: ElementTree.Element) -> int:
        key = id(element)
        known = cost.get(key)
        if known is not None:
            return known
        if key in visiting:
            raise SvgRejected("a <use> element refers to itself or its own ancestor")
        visiting.add(key)
        total = 1 + sum(expanded(child) for child in element)
        if _local(element.tag) == "use":
            href = element.get(f"{{{_XLINK_NS}}}href") or element.get("href") or ""
            target = by_id.get(href.strip()[1:]) if href.strip().startswith("#") else None
            if target is not None:
                total += expanded(target)
        if total > MAX_EXPANDED_ELEMENTS:
            raise SvgRejected(
                f"the SVG expands to more than {MAX_EXPANDED_ELEMENTS:,} elements through <use>"
            )
        visiting.discard(key)
        cost[key] = total
        return total

    try:
        expanded(root)
    except RecursionError:
        raise SvgRejected("the SVG nests elements too deeply") from None


def _number(value: str | None) -> float | None:
    if not value:
        return None
    match = re.match(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(px|pt|mm|cm|in|pc)?\s*$", value)
    if match is None:
        return None
    number = float(match.group(1))
    return number if number > 0 and math.isfinite(number) else None


def aspect_ratio(root: ElementTree.Element) -> float | None:
    """Height / width the SVG declares (viewBox first), or None if unknown."""
    view_box = root.get("viewBox")
    if view_box:
        parts = re.split(r"[\s,]+", view_box.strip())
        if len(parts) == 4:
            width, height = _number(parts[2]), _number(parts[3])
            if width and height:
                return height / width
    width, height = _number(root.get("width")), _number(root.get("height"))
    if width and height:
        return height / width
    return None


def output_size(root: ElementTree.Element, width: int, height: int | None) -> tuple[int, int]:
    """The pixel size to draw: as asked, or ``width`` and the SVG's aspect ratio."""
    if height is not None:
        return width, height
    ratio = aspect_ratio(root) or 1.0
    return width, max(1, min(MAX_SIDE, 4 * width, round(width * ratio)))


def render_png(
    data: bytes, width: int, height: int | None = None, background: str | None = "white"
) -> bytes:
    """Sanitize and rasterize, in this process. Raises on any failure.

    This is the whole pipeline the worker runs, without its isolation: use it
    only for trusted input or to measure the worker's overhead.
    """
    return render_picture(data, width, height, background)[0]


def render_picture(
    data: bytes,
    width: int,
    height: int | None = None,
    background: str | None = "white",
    *,
    ink: bool = False,
) -> tuple[bytes, float | None]:
    """:func:`render_png`, and with ``ink`` the picture's ink share measured on the
    pixels just drawn (:func:`~.ink.ink_of`, as on the PNG decoded, without decoding
    it; None if it could not be measured)."""
    from cairosvg.parser import Tree
    from cairosvg.surface import PNGSurface

    root = sanitize(data)
    out_width, out_height = output_size(root, width, height)
    cleaned = serialize(root)
    # What PNGSurface.convert does, kept apart so the drawn pixels can be measured
    # and written here (url_fetcher goes to the parser, as convert passes it on).
    tree = Tree(bytestring=cleaned, unsafe=False, url_fetcher=data_only_fetcher)
    surface = PNGSurface(tree, None, 96, None, None, None, 1, out_width, out_height, background)
    try:
        if sys.byteorder != "little":  # the pixels' byte order differs: the caller measures the PNG
            return _cairo_png(surface.cairo), None
        if _is_opaque(background):
            rgb = _surface_image(surface.cairo, "RGB")
            output = io.BytesIO()
            rgb.save(output, "PNG", compress_level=PNG_COMPRESS_LEVEL)
            return output.getvalue(), _ink_share(lambda: rgb) if ink else None
        png = _cairo_png(surface.cairo)
        return png, _ink_share(lambda: _surface_image(surface.cairo, "RGBA")) if ink else None
    finally:
        surface.finish()


def _is_opaque(background: str | None) -> bool:
    """Whether ``background`` covers every pixel (no alpha).

    Every pixel's alpha is then 255, so cairo's premultiplied pixels are the
    colours themselves: read as RGB, they need no unpremultiplying, for the PNG
    (cairo's writer would also make it RGB, the same size at the same zlib level,
    more slowly) nor for the ink measure (no RGBA image). A 1024 px picture with
    its ink: 36 ms instead of 52 (``tests/svg_corpus``'s pelicans, one core)."""
    if background is None:
        return False
    from cairosvg.colors import color

    return bool(color(background)[3] >= 1)


def _cairo_png(cairo_surface: Any) -> bytes:
    output = io.BytesIO()
    cairo_surface.write_to_png(output)
    return output.getvalue()


def _surface_image(cairo_surface: Any, mode: str) -> Any:
    """A cairo ARGB32 image surface's pixels (premultiplied, little-endian) as a
    Pillow image: ``"RGB"`` read as they are (an opaque picture), ``"RGBA"``
    unpremultiplied. Either is a copy: the surface may be finished after."""
    from PIL import Image

    cairo_surface.flush()
    size = (cairo_surface.get_width(), cairo_surface.get_height())
    raw_mode = "BGRX" if mode == "RGB" else "BGRa"
    data = cairo_surface.get_data()
    return Image.frombuffer(mode, size, data, "raw", raw_mode, cairo_surface.get_stride(), 1)


def _ink_share(read: Callable[[], Any]) -> float | None:
    """:func:`~.ink.ink_of` the picture ``read`` gives; None if it cannot be measured."""
    try:
        from pelican_tui.backends.svg.ink import ink_of

        return ink_of(read())
    except Exception:  # a measure is optional; the picture is not
        return None


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def describe_failure(exc: BaseException, memory_limit: int) -> str:
    """A one-line reason for people, for anything :func:`render_png` raised."""
    if isinstance(exc, SvgRejected):
        return _one_line(str(exc))
    if isinstance(exc, RecursionError):
        return "the SVG refers to itself (endless <use>, pattern or gradient recursion)"
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return f"the SVG needs more memory than allowed ({memory_limit // (1 << 20)} MB)"
    if isinstance(exc, ValueError) and (number := _UNREADABLE_NUMBER.fullmatch(str(exc))):
        return f"the SVG has a number that cannot be read: {_one_line(number[1], 60)}"
    if isinstance(exc, IndexError):
        # cairosvg indexes the numbers it split off without counting them first:
        # "tuple index out of range" for viewBox="0 0 10", "string index ..." for an arc.
        return "the SVG has a list of numbers that stops short (a viewBox or a path command)"
    message = _one_line(str(exc)) or type(exc).__name__
    return f"cairosvg could not draw it: {message}"


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    """One frame: a 4-byte big-endian length, then the payload."""
    stream.write(_FRAME.pack(len(payload)) + payload)


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's payload, or None at end of stream."""
    head = _read_exact(stream, _FRAME.size)
    if head is None:
        return None
    (size,) = _FRAME.unpack(head)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is too large")
    return _read_exact(stream, size)


NICENESS = 10
"""How much lower the worker's scheduling priority is than pelican-tui's (``nice``)."""


def _limit_resources(memory_limit: int) -> None:
    limits = [
        (resource.RLIMIT_AS, memory_limit),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
    ]
    for which, value in limits:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, hard))


def _limit_cpu_for_next_request() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + CPU_SECONDS_PER_REQUEST
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _handle(header: dict[str, Any], data: bytes, memory_limit: int) -> tuple[dict[str, Any], bytes]:
    started = time.perf_counter()
    try:
        png, ink = render_picture(
            data,
            int(header["width"]),
            header.get("height"),
            header.get("background"),
            ink=bool(header.get("ink")),
        )
    except Exception as exc:  # MemoryError and RecursionError included
        reason = describe_failure(exc, memory_limit)
        # After running out of memory the process may be in a poor state:
        # answer, then exit; the parent starts a fresh worker next time.
        return {"ok": False, "reason": reason, "exit": isinstance(exc, MemoryError)}, b""
    reply: dict[str, Any] = {"ok": True, "elapsed_s": time.perf_counter() - started}
    if ink is not None:
        reply["ink"] = ink
    return reply, png


def main(argv: list[str] | None = None) -> int:
    """Serve render requests until stdin closes.

    Request: a JSON frame ``{"width", "height", "background", "ink"?}`` then a
    frame with the SVG bytes. Reply: a JSON frame ``{"ok", "reason"?, "exit"?,
    "ink"?}`` (``ink``: the picture's ink share, when asked for) then a frame
    with the PNG (empty on failure). The first frame written is
    ``{"ready": true, "pid": N}`` once imports and limits are in place.
    """
    args = sys.argv[1:] if argv is None else argv
    memory_limit = int(args[0]) if args else DEFAULT_MEMORY_LIMIT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The protocol gets private copies of stdin/stdout; fd 0 and 1 are pointed
    # elsewhere so a stray print from a library cannot corrupt a frame.
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)

    import defusedxml.ElementTree  # noqa: F401  # import now, before the limits
    from PIL import Image

    Image.init()  # load every image plugin now, not lazily from disk mid-render
    import pelican_tui.backends.svg.ink  # noqa: F401  # measures a run's picture

    # Draw text once before the limits: fontconfig finds the fonts (and may
    # write its cache, which RLIMIT_FSIZE would forbid later).
    render_png(_WARM_UP, 8, 8)
    _limit_resources(memory_limit)
    # The model comes first: on a laptop every core this worker takes is a token
    # llama-server does not make. Pictures can wait a few milliseconds. (Where the
    # kernel groups CPU time by session, CONFIG_SCHED_AUTOGROUP, this worker leads a
    # session of its own and the nice value weighs only within it: niced by session
    # too, a slow render took 3x as long at load, so that is left; README, Performance.)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    write_frame(replies, json.dumps({"ready": True, "pid": os.getpid()}).encode())
    while True:
        header_bytes = read_frame(requests)
        if header_bytes is None:
            return 0
        data = read_frame(requests)
        if data is None:
            return 0
        _limit_cpu_for_next_request()
        reply, png = _handle(json.loads(header_bytes), data, memory_limit)
        write_frame(replies, json.dumps(reply).encode())
        write_frame(replies, png)
        if reply.get("exit"):
            return 0


if __name__ == "__main__":
    sys.exit(main())
