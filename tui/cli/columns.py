"""Plain-text tables for the command line (``run``'s summary, ``sessions list``):
columns two spaces apart, measured in terminal cells, so a prompt or model named
in Chinese or with an emoji (two cells a character) keeps the columns after it in
line."""

from __future__ import annotations

from collections.abc import Container, Sequence

from rich.cells import cell_len


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
