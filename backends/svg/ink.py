"""How much of a picture is ink: the share of its pixels off the background.

Measured on a Pillow image, so that the sandboxed worker can measure the
picture it has just drawn (its pixels are there, no PNG to decode) and
:func:`~.facts.ink_share` a stored PNG, with the same code and so the same
number. Imports only the standard library (Pillow when called): the worker
imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from PIL import Image

BACKGROUND_TOLERANCE = 8
"""How far (0..255, per channel) a pixel may be from the background and still be background."""
MAX_INK_SIDE = 1024
"""Larger pictures are reduced to this many pixels a side before ink is measured."""


def ink_of(image: Image.Image) -> float:
    """The share (0..1) of ``image``'s pixels that are not background.

    The background is the picture's most common colour (the renderer's white
    letterbox, or the SVG's own sky); a pixel within
    :data:`BACKGROUND_TOLERANCE` of it on every channel counts as background.
    Transparent pixels are laid on white first; a picture larger than
    :data:`MAX_INK_SIDE` a side is reduced first (``image`` is then changed).

    Pillow's C loops only, no per-pixel arrays: the channels' histograms, then
    one lookup table that sorts every pixel into equal to, near or far from
    the background. The background is found from the histograms when that
    colour covers more than half the picture (it is then the most common
    colour, the usual case: a letterbox or a sky); otherwise every colour is
    counted.
    """
    from PIL import Image

    if max(image.size) > MAX_INK_SIDE:
        image.thumbnail((MAX_INK_SIDE, MAX_INK_SIDE))
    if image.mode == "RGB" and "transparency" not in image.info:
        rgb = image.convert("RGB")
    else:
        rgba = image.convert("RGBA")
        alpha = cast("tuple[tuple[int, int], ...]", rgba.getextrema())[3]
        if alpha[0] < 255:
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            rgba = Image.alpha_composite(white, rgba)
        rgb = rgba.convert("RGB")
    total = rgb.width * rgb.height
    if not total:
        return 0.0
    hist = rgb.histogram()
    guess = tuple(max(range(256), key=lambda v: hist[256 * band + v]) for band in range(3))
    exact, near = _pixels_near(rgb, guess, BACKGROUND_TOLERANCE)
    if 2 * exact <= total:  # no majority: the most common colour, counted
        _, near = _pixels_near(rgb, _most_common(rgb, total), BACKGROUND_TOLERANCE)
    return 1.0 - near / total


def _most_common(rgb: Image.Image, total: int) -> tuple[int, int, int]:
    """The most common colour of ``rgb`` (of equals, the lowest as 0xRRGGBB)."""
    colours = cast("list[tuple[int, tuple[int, int, int]]]", rgb.getcolors(total))
    _, (red, green, blue) = max(
        colours, key=lambda item: (item[0], -((item[1][0] << 16) | (item[1][1] << 8) | item[1][2]))
    )
    return red, green, blue


def _pixels_near(rgb: Image.Image, colour: tuple[int, ...], within: int) -> tuple[int, int]:
    """How many pixels of ``rgb`` are ``colour`` exactly, and how many are within
    ``within`` of it on every channel, in one pass: each channel is mapped to 2
    (equal), 1 (near) or 0 (far), which leaves at most 27 colours to count."""
    table: list[int] = []
    for target in colour:
        table += [2 if v == target else 1 if abs(v - target) <= within else 0 for v in range(256)]
    counts = cast("list[tuple[int, tuple[int, int, int]]]", rgb.point(table).getcolors(27))
    exact = sum(count for count, mapped in counts if mapped == (2, 2, 2))
    near = sum(count for count, mapped in counts if min(mapped) >= 1)
    return exact, near
