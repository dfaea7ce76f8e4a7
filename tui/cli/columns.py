"""Plain-text tables for the command line (``run``'s summary, ``sessions list``):
columns two spaces apart, measured in terminal cells, so a prompt or model named
in Chinese or with an emoji (two cells a character) keeps the columns after it in
line.

On a terminal (or with ``COLUMNS`` set) a table is fitted to its width
(:func:`fit_columns`), since a row the terminal wraps is no row a person can read
over SSH at 80 columns; in a file or a pipe it keeps everything (:func:`output_width`).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Container, Mapping, Sequence
from typing import TextIO

from rich.cells import cell_len

from pelican_tui.backends.text import LABEL_PARTS, path_parts, shorten_middle


def columns(rows: Sequence[Sequence[str]], *, right: Container[int] = ()) -> str:
    """``rows`` (the first is the header) as lines of padded columns; the columns whose
    index is in ``right`` are aligned right (numbers). Trailing spaces are dropped."""
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            gap = " " * (widths[i] - cell_len(cell))
            cells.append(gap + cell if i in right else cell + gap)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def output_width(stream: TextIO) -> int | None:
    """How many cells a line printed on ``stream`` may take: ``COLUMNS`` when it is set,
    else the terminal's width when ``stream`` is one; None (lines kept whole) for a
    file or a pipe."""
    given = os.environ.get("COLUMNS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        pass
    return None


def fold_line(text: str, width: int | None, hang: int | None = None) -> str:
    """Each line of ``text`` folded between words to ``width`` (None: as it is), its
    continuation lines indented under its own indent, two more: "  left local (on):
    finished, …" over "    SVG: cut at …"; or by ``hang`` cells, under a table's
    value column. A word longer than a line (a path) is kept whole, for the terminal
    to wrap; under a ``hang`` it is broken after a "/" (between a path's folders, not
    in a name: :class:`_PathWrapper`), to stay in its column."""
    if width is None:
        return text
    folded = []
    for line in text.split("\n"):
        if cell_len(line) <= width:
            folded.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip(" "))] + "  " if hang is None else " " * hang
        head, line = ("", line) if hang is None else (line[:hang], line[hang:])
        folded.append(
            _PathWrapper(
                max(width, len(indent) + 12),
                initial_indent=head,
                subsequent_indent=indent,
                break_long_words=hang is not None,
                break_on_hyphens=False,
            ).fill(line)
        )
    return "\n".join(folded)


class _PathWrapper(textwrap.TextWrapper):
    """Folds between words, and a word too long for a line (a path, in doctor's value
    column) after each "/" in it: a path broken where the line ended lost a letter or
    two of a folder's name to the next line ("…/bin/ll" over "ama-server"). Only a
    part with no "/" still longer than a line is broken where the line ends. Without
    ``break_long_words`` a long word is kept whole, as :class:`textwrap.TextWrapper`
    keeps it."""

    def _split(self, text: str) -> list[str]:
        room = self.width - len(self.subsequent_indent)
        chunks = []
        for chunk in super()._split(text):
            if self.break_long_words and "/" in chunk and cell_len(chunk) > room:
                chunks += path_parts(chunk)
            else:
                chunks.append(chunk)
        return chunks


def print_folded(text: str, stream: TextIO) -> None:
    """Print ``text`` on ``stream``, folded between words to its width on a terminal
    (:func:`fold_line`, :func:`output_width`): a command's messages, usage errors and
    progress lines, which ran past 80 columns and broke in the middle of a word."""
    print(fold_line(text, output_width(stream)), file=stream)


def fit_columns(
    rows: Sequence[Sequence[str]],
    width: int | None,
    *,
    right: Container[int] = (),
    same: Sequence[int] = (),
    same_by: Mapping[int, int] | None = None,
    cut: Mapping[int, int] | None = None,
    drop: Sequence[int] = (),
    keys: Sequence[int] = (),
    cutter: Mapping[int, Callable[[str, int], str]] | None = None,
) -> str:
    """:func:`columns`, in ``width`` cells where it can be (None: as it is). While it is
    too wide: the columns of ``same`` (in that order) whose every row says the same
    leave the table, said once in a line above it ("All runs: MODEL x · STATUS
    finished"); then those of ``same_by`` (a column mapped to the column it goes by)
    that say the same in every row of one value of the other, said once for each
    ("MODEL x (left) · MODEL y (right)"); the columns of ``cut`` are cut in the middle
    (or as ``cutter`` says for one), each down to the cells it maps to; then the
    columns of ``drop`` (in that order) are left out, but one of ``keys`` (the columns
    that tell rows apart: a session and its side) only where the keys still shown
    tell the rows apart as the whole table did. A number (``right``) is never cut
    nor left out: a table that still does not fit is printed as it is."""
    if width is None or table_width(rows, range(len(rows[0])), {}) <= width:
        return columns(rows, right=right)
    header, body = rows[0], rows[1:]
    shown = list(range(len(header)))
    said = []
    for i in same:
        if table_width(rows, shown, {}) <= width:
            break
        if body and len({row[i] for row in body}) == 1:
            shown.remove(i)
            said.append(f"{header[i]} {body[0][i]}")
    for i, by in (same_by or {}).items():
        if table_width(rows, shown, {}) <= width:
            break
        each = dict.fromkeys((row[by], row[i]) for row in body)
        if i in shown and by in shown and len(each) == len({by_value for by_value, _ in each}):
            shown.remove(i)
            said += [f"{header[i]} {value} ({by_value})" for by_value, value in each]
    cutters = {i: (cutter or {}).get(i, shorten_middle) for i in cut or {}}
    limits = _cuts(rows, shown, width, cut or {})
    told_apart = len({tuple(row[i] for i in keys) for row in body})
    for i in drop:
        if table_width(rows, shown, limits) <= width:
            break
        if i not in shown or i in right:
            continue
        rest = [at for at in shown if at != i]
        rest_limits = _cuts(rows, rest, width, cut or {})
        if i in keys:
            shown_keys = [at for at in keys if at in rest]
            cells = {
                tuple(_cell(row[at], at, rest_limits, cutters) for at in shown_keys) for row in body
            }
            if len(cells) < told_apart:
                continue
        shown, limits = rest, rest_limits
    table = _given_back(rows, shown, width, limits, cutters)
    lines = [said_once("All runs: ", said, width)] if said else []
    moved_right = {at for at, i in enumerate(shown) if i in right}
    return "\n".join([*lines, columns(table, right=moved_right)])


def said_once(head: str, parts: Sequence[str], width: int) -> str:
    """``head`` and ``parts`` joined by " · " on lines of ``width``, broken only between
    parts: a line ends with its "·" and the next is indented two, as a folded line is
    (:func:`fold_line`), so it is not read as a line of its own. A part too long for a
    line is folded between its words (a long model name)."""
    lines = [head + parts[0]]
    for part in parts[1:]:
        if cell_len(lines[-1]) + cell_len(LABEL_PARTS + part) <= width:
            lines[-1] += LABEL_PARTS + part
        else:
            lines[-1] += LABEL_PARTS.rstrip()
            lines.append("  " + part)
    return "\n".join(fold_line(line, width) for line in lines)


def _given_back(
    rows: Sequence[Sequence[str]],
    shown: Sequence[int],
    width: int,
    limits: dict[int, int],
    cutters: Mapping[int, Callable[[str, int], str]],
) -> list[list[str]]:
    """The ``shown`` columns of ``rows``, cut to ``limits``, and then the room a cutter
    left unused given back to the columns cut before it, in the order they were cut: a
    column's ``cutter`` may make its cells narrower than its limit (a session's models,
    each name cut in its middle), after an earlier column (the title) was cut for it.
    ``sessions list`` at 140 columns cut titles to 34 cells and left 18 blank."""

    def cut(limits: Mapping[int, int]) -> list[list[str]]:
        return [[_cell(row[i], i, limits, cutters) for i in shown] for row in rows]

    table = cut(limits)
    for i in list(limits):
        spare = width - table_width(table, range(len(shown)), {})
        natural = max(cell_len(row[i]) for row in rows)
        if spare <= 0:
            break
        if limits[i] >= natural:
            continue
        grown = {**limits, i: min(natural, limits[i] + spare)}
        wider = cut(grown)
        if table_width(wider, range(len(shown)), {}) <= width:
            table, limits = wider, grown
    return table


def _cell(
    text: str,
    column: int,
    limits: Mapping[int, int],
    cutters: Mapping[int, Callable[[str, int], str]],
) -> str:
    """``text`` of ``column`` as it is shown: cut to its limit, if it has one."""
    return cutters[column](text, limits[column]) if column in limits else text


def table_width(
    rows: Sequence[Sequence[str]], shown: Sequence[int], limits: Mapping[int, int]
) -> int:
    """The widest line :func:`columns` makes of the ``shown`` columns, cut to ``limits``."""
    widths = [min(max(cell_len(row[i]) for row in rows), limits.get(i, 1 << 30)) for i in shown]
    return sum(widths) + 2 * (len(widths) - 1)


def _cuts(
    rows: Sequence[Sequence[str]], shown: Sequence[int], width: int, floors: Mapping[int, int]
) -> dict[int, int]:
    """How far each shown column of ``floors`` is cut, in turn, for the table to fit
    ``width`` (none below its floor, nor below its header)."""
    limits: dict[int, int] = {}
    for i, floor in floors.items():
        over = table_width(rows, shown, limits) - width
        if i not in shown or over <= 0:
            continue
        natural = max(cell_len(row[i]) for row in rows)
        least = max(floor, cell_len(rows[0][i]))
        if natural > least:
            limits[i] = max(least, natural - over)
    return limits


__all__ = [
    "columns",
    "fit_columns",
    "fold_line",
    "output_width",
    "table_width",
]
