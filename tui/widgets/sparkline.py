"""Textual's ``Sparkline``, drawn for numbers that are redrawn a few times a second.

Two changes to how Textual's own widget draws, none to how it is used (``data``,
``summary_function``, the ``sparkline--max-color`` component class):

- **From a floor.** Textual scales a sparkline from the smallest value to the
  largest, so a rate that wavers between 52 and 56 tok/s fills the row from ▁ to
  █. :class:`FloorSparkline` scales from ``floor`` (0 by default) instead: a
  steady value looks steady, and a bar's height is its share of the largest.
- **One colour, one run of text.** Textual colours each bar on a gradient, one
  segment (and escape sequence) per cell: a 76-cell row costs ~3 KB a redraw in
  a true-colour terminal. Here the row is one string in one colour (~250 bytes),
  and :meth:`FloorSparkline.show` repaints only the cells whose bars changed
  (with ``fill``, usually the newest one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Sparkline

BARS = "▁▂▃▄▅▆▇█"

Summary = Callable[[Sequence[float]], float]


def bars(
    values: Sequence[float],
    width: int,
    floor: float | None = 0.0,
    summary: Summary = max,
    *,
    span: int | None = None,
    fill: bool = False,
) -> str:
    """``values`` as ``width`` bar characters, oldest on the left.

    By default the values are spread over the whole row: more values than
    cells, each cell shows ``summary`` of its share of them; fewer, each value
    is drawn over several cells. ``span``: how many values a full row stands
    for (a fixed time window); fewer values then fill only its right-hand part,
    newest at the right edge. ``fill``: one cell per value from the left edge,
    and once the row is full, one per 2, 4, 8… values (``summary`` of each
    group): as values arrive only the newest cell changes, until the row is
    full again. Bars are scaled from ``floor`` (None: the lowest cell) to the
    highest cell. No values: a blank row."""
    if width <= 0:
        return ""
    if not values:
        return " " * width
    if fill:
        group = 1
        while len(values) > width * group:
            group *= 2
        cells = [summary(values[i : i + group]) for i in range(0, len(values), group)]
        return _scaled(cells, floor) + " " * (width - len(cells))
    if span and len(values) < span:
        used = max(1, width * len(values) // span)
        return " " * (width - used) + bars(values, used, floor, summary)
    count = len(values)
    cells = []
    for cell in range(width):
        start = cell * count // width
        end = max((cell + 1) * count // width, start + 1)
        cells.append(summary(values[start:end]))
    return _scaled(cells, floor)


def _scaled(cells: Sequence[float], floor: float | None) -> str:
    low = min(cells) if floor is None else min(floor, min(cells))
    extent = max(cells) - low
    if extent <= 0:
        return BARS[0] * len(cells)
    top = len(BARS) - 1
    return "".join(BARS[int((value - low) / extent * top)] for value in cells)


class _Bars:
    """A row of bars as one segment (Rich renderable)."""

    def __init__(self, text: str, style: Style) -> None:
        self.text = text
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Segment(self.text, self.style)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(len(self.text), len(self.text))


class FloorSparkline(Sparkline):
    """One row of bars scaled from ``floor``, in the ``sparkline--max-color`` colour."""

    DEFAULT_CSS = """
    FloorSparkline { height: 1; width: 1fr; }
    FloorSparkline > .sparkline--max-color { color: $secondary; }
    """

    def __init__(
        self,
        *,
        floor: float | None = 0.0,
        summary_function: Summary = max,
        span: int | None = None,
        fill: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``floor``, ``span`` and ``fill``: as for :func:`bars`."""
        super().__init__([], summary_function=summary_function, id=id, classes=classes)
        self.floor = floor
        self.span = span
        self.fill = fill
        self._drawn = ""
        self._drawn_from: object = None
        """The values :attr:`_drawn` was drawn from."""

    @property
    def values(self) -> list[float]:
        return list(self.data or [])

    def show(self, values: Sequence[float]) -> None:
        """Take new values; repaint only the cells whose bars differ from those shown."""
        values = list(values)
        self.set_reactive(Sparkline.data, values)  # no repaint of its own
        drawn, shown = self._bars(values), self._drawn
        self._drawn_from = values
        if drawn == shown:
            return
        self._drawn = drawn
        if len(drawn) != len(shown) or not self.is_mounted:
            self.refresh()
            return
        changed = [i for i, (new, old) in enumerate(zip(drawn, shown, strict=True)) if new != old]
        self.refresh(Region(changed[0], 0, changed[-1] - changed[0] + 1, 1))

    def render(self) -> _Bars:
        colour = self.max_color or self.get_component_styles("sparkline--max-color").color
        _, base = self.background_colors
        if self.data is not self._drawn_from or len(self._drawn) != self.size.width:
            self._drawn = self._bars(self.data or [])  # else: drawn by show() already
            self._drawn_from = self.data
        return _Bars(self._drawn, Style.from_color((base + colour).rich_color))

    def render_line(self, y: int) -> Strip:
        """The row as one segment, straight from :meth:`render`'s text and colour.

        Textual would turn the renderable into strips through a Rich console
        (~0.3 ms a redraw here, and the row changes at most redraws while a model
        streams); the strip is the same, made directly."""
        width = self.size.width
        if y:
            return Strip.blank(width, self.visual_style.rich_style)
        bars = self.render()
        style = self.visual_style.rich_style + bars.style
        return Strip([Segment(bars.text, style)], len(bars.text)).extend_cell_length(
            width, self.visual_style.rich_style
        )

    def _bars(self, values: Sequence[float]) -> str:
        summary, width = self.summary_function, self.size.width
        return bars(values, width, self.floor, summary, span=self.span, fill=self.fill)
