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
  and :meth:`FloorSparkline.show` repaints only when the bars drawn change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from textual.widgets import Sparkline

BARS = "▁▂▃▄▅▆▇█"

Summary = Callable[[Sequence[float]], float]


def bars(
    values: Sequence[float],
    width: int,
    floor: float | None = 0.0,
    summary: Summary = max,
    span: int | None = None,
) -> str:
    """``values`` as ``width`` bar characters, oldest on the left.

    More values than cells: each cell shows ``summary`` of its share of them;
    fewer: each value is drawn over several cells, so the row is always full,
    unless ``span`` says how many values a full row stands for (a fixed time
    window): fewer values then fill only its right-hand part, newest at the
    right edge. Bars are scaled from ``floor`` (None: the smallest value) to the
    largest value. No values: a blank row."""
    if width <= 0:
        return ""
    if not values:
        return " " * width
    if span and len(values) < span:
        used = max(1, width * len(values) // span)
        return " " * (width - used) + bars(values, used, floor, summary)
    low = min(values) if floor is None else min(floor, min(values))
    extent = max(values) - low
    top = len(BARS) - 1
    count = len(values)
    out = []
    for cell in range(width):
        start = cell * count // width
        end = max((cell + 1) * count // width, start + 1)
        value = summary(values[start:end])
        out.append(BARS[int((value - low) / extent * top)] if extent > 0 else BARS[0])
    return "".join(out)


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
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``floor`` and ``span``: as for :func:`bars`."""
        super().__init__([], summary_function=summary_function, id=id, classes=classes)
        self.floor = floor
        self.span = span
        self._drawn = ""

    @property
    def values(self) -> list[float]:
        return list(self.data or [])

    def show(self, values: Sequence[float]) -> None:
        """Take new values; repaint only if the bars drawn from them differ from those shown."""
        values = list(values)
        self.set_reactive(Sparkline.data, values)  # no repaint of its own
        drawn = self._bars(values)
        if drawn != self._drawn:
            self._drawn = drawn
            self.refresh()

    def render(self) -> _Bars:
        colour = self.max_color or self.get_component_styles("sparkline--max-color").color
        _, base = self.background_colors
        self._drawn = self._bars(self.data or [])
        return _Bars(self._drawn, Style.from_color((base + colour).rich_color))

    def _bars(self, values: Sequence[float]) -> str:
        return bars(values, self.size.width, self.floor, self.summary_function, self.span)
