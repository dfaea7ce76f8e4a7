"""A pane's tokens/s drawn: a sparkline of the run so far and a bar against the ceiling.

The pane adds a point at most once per redraw tick (``ui.stats_fps``), from the
newest live numbers, never per token; :class:`RateSeries` turns the cumulative
rates the backends report into the rate between two ticks. The line grows from
the left, one cell per point (then per 2, 4… points), so a new point usually
repaints one cell.
"""

from __future__ import annotations

from statistics import fmean

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal

from pelican_tui.widgets.kept_lines import KeptLines, KeptStatic
from pelican_tui.widgets.sparkline import FloorSparkline

MAX_POINTS = 2048
"""Points kept per run (a power of 2, as the sparkline's groups are). A longer run keeps
its whole shape at half the detail."""

PARTIAL = " ▏▎▍▌▋▊▉"
"""Eighths of a cell, for the ceiling bar."""


class RateSeries:
    """Tokens/s between successive samples of a run, oldest first.

    A sample is the cumulative ``(tokens, tokens/s)`` a backend reports in its
    live numbers. ``tokens / rate`` is the streaming time so
    far, so two samples give the rate between them without a clock here (and
    the same numbers draw the same line, in tests too). The first point is the
    first sample's own rate.

    At most :data:`MAX_POINTS` are kept: when full, neighbours are averaged in
    pairs, and later points arrive averaged in pairs too, so the line always
    spans the whole run.
    """

    def __init__(self, limit: int = MAX_POINTS) -> None:
        self.limit = limit - limit % 2
        self.points: list[float] = []
        self._last: tuple[int, float] | None = None
        self._stride = 1
        self._pending: list[float] = []

    def clear(self) -> None:
        self.points = []
        self._last = None
        self._stride = 1
        self._pending = []

    def add(self, tokens: int | None, rate: float | None) -> bool:
        """Take one cumulative sample; True if :attr:`points` changed."""
        if not tokens or not rate or rate <= 0:
            return False
        if self._last is None:
            point = rate
        else:
            before, before_rate = self._last
            span = tokens / rate - before / before_rate
            if tokens <= before or span <= 0:
                return False  # no token since the previous sample: wait for one
            point = (tokens - before) / span
        self._last = (tokens, rate)
        self._pending.append(point)
        if len(self._pending) < self._stride:
            return False
        self.points.append(fmean(self._pending))
        self._pending = []
        if len(self.points) >= self.limit:
            pairs = zip(self.points[::2], self.points[1::2], strict=True)
            self.points = [(a + b) / 2 for a, b in pairs]
            self._stride *= 2
        return True


class CeilingBar(KeptLines):
    """``██████▍··· max``: a rate as a share of the decode ceiling, in eighths of a cell."""

    DEFAULT_CSS = """
    CeilingBar { width: 15; height: 1; color: $secondary; }
    """

    CELLS = 10

    def __init__(self) -> None:
        super().__init__(classes="ceiling")
        self._eighths = 0

    @property
    def eighths(self) -> int:
        return self._eighths

    def show(self, rate: float | None, ceiling: float | None) -> None:
        share = min(max((rate or 0.0) / ceiling, 0.0), 1.0) if ceiling else 0.0
        eighths = round(share * self.CELLS * 8)
        if eighths != self._eighths:
            self._eighths = eighths
            self.refresh()

    def render(self) -> Text:
        full, part = divmod(self._eighths, 8)
        filled = "█" * full + (PARTIAL[part] if part else "")
        return Text.assemble(
            " ", filled, ("·" * (self.CELLS - len(filled)), "dim"), (" max", "dim"), no_wrap=True
        )


class RateRow(Horizontal, KeptLines):
    """One row: ``tok/s`` and the run's rates, then the bar when the ceiling is known."""

    DEFAULT_CSS = """
    RateRow { height: 1; padding: 0 1; }
    RateRow > .label { width: 6; color: $text-muted; }
    RateRow > CeilingBar { display: none; }
    RateRow.-ceiling > CeilingBar { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.sparkline = FloorSparkline(floor=0.0, summary_function=fmean, fill=True)
        self.bar = CeilingBar()

    def compose(self) -> ComposeResult:
        yield KeptStatic("tok/s", classes="label")
        yield self.sparkline
        yield self.bar

    def show_rates(self, points: list[float]) -> None:
        self.sparkline.show(points)

    def show_ceiling(self, rate: float | None, ceiling: float | None) -> None:
        """The bar, shown only when ``ceiling`` is known (a change of layout only then)."""
        if self.has_class("-ceiling") != bool(ceiling):
            self.set_class(bool(ceiling), "-ceiling")
        self.bar.show(rate, ceiling)
