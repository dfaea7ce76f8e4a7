"""The sessions screen's list: one line per session, drawn through the line API.

``SessionList`` keeps the sessions read so far and draws only the lines on
screen, each from four short strings (date, title, models, verdict) cut to
its columns when the line is drawn: a screenful costs a few segments a row,
however many sessions were read or are in the store. A ``DataTable`` drew the
same rows through a Rich render per cell and cost a fresh store's screen
twice over on first open with a screenful of rows.

Keys: up/down, page up/down, home/end (and ctrl+home/ctrl+end) move the
cursor; a click moves it, a click on the cursor's row selects it. It posts
:class:`SessionList.Highlighted` when the cursor moves to another session and
:class:`SessionList.Selected` on a click on the cursor's row (``enter`` is the
screen's binding).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, NamedTuple

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pelican_tui.backends.store.records import SessionSummary

Cells = tuple[str, str, str, str]
"""Date, title, models and verdict of one row, as they read before cutting."""

HEADER: Cells = ("Date", "Title", "Models", "Verdict")
PAD = 1
"""Cells of padding each side of a column."""


class _Look(NamedTuple):
    """What every line of one drawing pass shares: read once a pass."""

    width: int
    top: int
    """The first row on screen (the scroll offset)."""
    widths: tuple[int, int, int, int]
    """Date, prompt, models and verdict columns, in cells."""
    base: Style
    header: Style
    even: Style
    cursor: Style
    date: Style
    verdict: Style


_UNCUT = 10_000
"""A width no cell reaches: the cells as they read whole."""


class SessionList(ScrollView, can_focus=True):
    """Sessions, newest first, a line each under a header line that stays put.

    Args:
        cells: Formats one session's columns for a prompt and a models column
            of the given widths, among the rows' sessions (called only for the rows
            drawn).
        widths: Fixed widths of the date and verdict columns.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "session-list--header",
        "session-list--even-row",
        "session-list--cursor",
        "session-list--date",
        "session-list--verdict",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False, id="sessions_list_up"),
        Binding("down", "cursor(1)", "Down", show=False, id="sessions_list_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="sessions_list_page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="sessions_list_page_down"),
        Binding("home,ctrl+home", "ends(0)", "First", show=False, id="sessions_list_first"),
        Binding("end,ctrl+end", "ends(1)", "Last", show=False, id="sessions_list_last"),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=False, repaint=False)
    """The highlighted row (0: the newest session)."""

    class _RowMessage(Message):
        """Something about the session at ``row`` of ``session_list``."""

        def __init__(self, session_list: SessionList, row: int) -> None:
            super().__init__()
            self.session_list = session_list
            self.row = row

        @property
        def control(self) -> SessionList:
            return self.session_list

    class Highlighted(_RowMessage):
        """The cursor moved to the session at ``row``."""

    class Selected(_RowMessage):
        """The session at ``row`` was clicked while under the cursor."""

    def __init__(
        self,
        cells: Callable[[SessionSummary, int, int, Sequence[SessionSummary]], Cells],
        widths: tuple[int, int],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._cells = cells
        self._date_w, self._verdict_w = widths
        self.sessions: list[SessionSummary] = []
        """The rows, in order (the screen's pages read so far)."""
        self._pass: _Look | None = None
        """What every line of the pass being drawn shares (see :meth:`render_lines`)."""
        self._drawn: dict[int, tuple[tuple[int, int], Cells]] = {}
        """Cells of the rows drawn so far, by session id, with the prompt and models
        widths they were cut to."""
        self._wanted = (0, 0)
        """The widest prompt and models cells of the rows, uncut."""

    # ----------------------------------------------------------------- rows

    @property
    def row_count(self) -> int:
        return len(self.sessions)

    def set_rows(self, sessions: Sequence[SessionSummary], cursor: int = 0) -> None:
        """Show ``sessions`` (replacing any rows) with the cursor on row ``cursor``."""
        self.sessions = list(sessions)
        self._drawn.clear()
        self._measure()
        self._resized()
        self.set_reactive(SessionList.cursor_row, -1)
        self.move_cursor(cursor)

    def add_rows(self, sessions: Sequence[SessionSummary]) -> None:
        """Append rows below the last (the next page)."""
        self.sessions.extend(sessions)
        self._drawn.clear()  # cut among the rows, which are others now
        self._measure()
        self._resized()
        self.refresh()

    def remove_row(self, row: int) -> None:
        """Remove the row at ``row``; the cursor stays on the row below (or the last)."""
        self.sessions.pop(row)
        self._drawn.clear()
        self._measure()
        self._resized()
        self.set_reactive(SessionList.cursor_row, -1)
        self.move_cursor(min(row, len(self.sessions) - 1))

    def get_row_at(self, row: int) -> Cells:
        """The cells of row ``row`` as drawn at the current width."""
        return self._row_cells(row)

    def move_cursor(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped) and scroll it into view."""
        if not self.sessions:
            self.cursor_row = 0
            return
        self.cursor_row = max(0, min(row, len(self.sessions) - 1))

    def watch_cursor_row(self, row: int) -> None:
        if not self.sessions:
            return
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, row))

    # ----------------------------------------------------------------- keys and clicks

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, pages: int) -> None:
        self.move_cursor(self.cursor_row + pages * max(self._visible_rows() - 1, 1))

    def action_ends(self, last: int) -> None:
        self.move_cursor(len(self.sessions) - 1 if last else 0)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = int(self.scroll_y) + offset.y - 1
        if not 0 <= row < len(self.sessions):
            return
        if row == self.cursor_row:
            self.post_message(self.Selected(self, row))
        else:
            self.move_cursor(row)

    # ----------------------------------------------------------------- drawing

    def on_resize(self) -> None:
        # Cells cut to other widths are cut again when drawn (_row_cells): a change of
        # height alone (the detail below coming) keeps every row's cells.
        self._resized()

    def _measure(self) -> None:
        """What the rows' prompt and models cells need (after the rows changed)."""
        uncut = [self._cells(session, _UNCUT, _UNCUT, ()) for session in self.sessions]
        self._wanted = (
            max((len(cells[1]) for cells in uncut), default=0),
            max((len(cells[2]) for cells in uncut), default=0),
        )

    def _resized(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.sessions) + 1)

    def _visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        visible = self._visible_rows()
        row = self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False, immediate=True)

    def _widths(self) -> tuple[int, int]:
        """Prompt and models column widths for the current width: three fifths for the
        prompt, unless the rows' prompts need less and their models more (models were
        cut at 160 columns beside a half-empty prompt column), or the other way round."""
        width = max(self.scrollable_content_region.width, 40)
        free = width - self._date_w - self._verdict_w - 4 * 2 * PAD
        prompt = max(16, free * 3 // 5)
        wanted_prompt, wanted_models = self._wanted
        if wanted_prompt < prompt:
            prompt = max(16, wanted_prompt, free - wanted_models)
        elif wanted_models < free - prompt:
            prompt = max(16, free - max(12, wanted_models))
        return prompt, max(12, free - prompt)

    def _row_cells(self, row: int, widths: tuple[int, int] | None = None) -> Cells:
        session = self.sessions[row]
        widths = widths or self._widths()
        drawn = self._drawn.get(session.id)
        if drawn is None or drawn[0] != widths:
            drawn = (widths, self._cells(session, *widths, self.sessions))
            self._drawn[session.id] = drawn
        return drawn[1]

    def render_lines(self, crop: Region) -> list[Strip]:
        # Every line of one pass has the same styles, widths and scroll offset: they are
        # read once here, not once a line (the widget's style alone cost ~30 us a line).
        self._pass = self._look()
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def _look(self) -> _Look:
        base = self.rich_style
        return _Look(
            width=self.scrollable_content_region.width,
            top=int(self.scroll_y),
            widths=(self._date_w, *self._widths(), self._verdict_w),
            base=base,
            header=base + self.get_component_rich_style("session-list--header"),
            even=self.get_component_rich_style("session-list--even-row"),
            cursor=self.get_component_rich_style("session-list--cursor"),
            date=self.get_component_rich_style("session-list--date", partial=True),
            verdict=self.get_component_rich_style("session-list--verdict", partial=True),
        )

    def render_line(self, y: int) -> Strip:
        look = self._pass or self._look()
        if y == 0:
            return self._strip(HEADER, look, look.header, look.header, look.header)
        row = look.top + y - 1
        if row >= len(self.sessions):
            return Strip.blank(look.width, look.base)
        style = look.base
        if row % 2 == 0:
            style += look.even
        if row == self.cursor_row:
            style += look.cursor
        cells = self._row_cells(row, look.widths[1:3])
        date_style = style + look.date
        verdict_style = style + look.verdict if cells[3] != "—" else date_style
        return self._strip(cells, look, style, date_style, verdict_style)

    @staticmethod
    def _strip(cells: Cells, look: _Look, style: Style, date: Style, verdict: Style) -> Strip:
        pad = " " * PAD
        styles = (date, style, style, verdict)
        segments = [
            Segment(f"{pad}{set_cell_size(text, column)}{pad}", cell_style)
            for text, column, cell_style in zip(cells, look.widths, styles, strict=True)
        ]
        return Strip(segments).adjust_cell_length(look.width, style)
