"""The leaderboard: configurations rated from the user's votes, with 95% intervals.

``LeaderboardScreen`` asks :func:`~pelican_tui.backends.ratings.leaderboard.leaderboard`
(in a worker: it reads the store and bootstraps the intervals) for the votes
on one prompt or on every prompt, and draws one row per configuration: rank,
name (on two lines where one is too short), rating, the interval in numbers
("1046..1370") and, where the names leave room, as a small bar of text beside them,
votes, wins/losses/ties.
Configurations with too few votes are listed after the ranked ones, unranked.
When a judge model has voted, its ratings are shown apart, below, with how
often it agreed with the user and what to know of them (ranks its votes do not
yet settle), as for the user's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker

from pelican_tui.backends.ratings.leaderboard import (
    UNKNOWN,
    Leaderboard,
    Row,
    leaderboard,
)
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import fold_label, one_line, plural, sentence, shorten_prompt
from pelican_tui.messages import say_if_failed
from pelican_tui.screens.opening_key import opening_key_closes
from pelican_tui.widgets.footer import KeysFooter
from pelican_tui.widgets.text_line import TextLine

BAR_WIDTH = 15
"""Characters of the interval bar, where the names leave room for them."""
MIN_BAR = 8
"""Characters of the narrowest bar drawn beside the numbers; with less room, the numbers
are shown alone."""
UNRANKED = "too few votes"
"""The interval cell of a configuration not ranked yet (its rating says "-")."""
MIN_NAME = 16
"""Characters of the name column however narrow the screen."""
PADDING = 2
"""Columns a table column takes beyond its text (one space either side)."""
SCROLLBAR = 2
"""Columns kept for the table's scroll bar."""


def interval_bar(row: Row, low: float, high: float, width: int = BAR_WIDTH) -> str:
    """The interval of ``row`` on the scale ``low``..``high``: ``  ├──●───┤    ``;
    :data:`UNKNOWN` when it is not known (``row.low`` is None).

    A part beyond the scale is cut at the edge and marked ``◂`` or ``▸``.
    """
    if row.low is None or row.high is None:
        return UNKNOWN.ljust(width)
    span = max(high - low, 1e-9)

    def at(value: float) -> int:
        return round((value - low) / span * (width - 1))

    left, mid, right = at(row.low), at(row.rating), at(row.high)
    cells = [" "] * width
    for x in range(max(left, 0), min(right, width - 1) + 1):
        cells[x] = "─"
    if 0 <= left < width:
        cells[left] = "├"
    if 0 <= right < width:
        cells[right] = "┤"
    if left < 0:
        cells[0] = "◂"
    if right >= width:
        cells[-1] = "▸"
    cells[max(0, min(mid, width - 1))] = "●"
    return "".join(cells)


def interval_numbers(row: Row, low_width: int = 0) -> str:
    """The interval of ``row`` in numbers, ``1046..1370``, its low end right-aligned to
    ``low_width`` (so the rows' ``..`` line up); :data:`UNKNOWN` when it is not known."""
    if row.low is None or row.high is None:
        return UNKNOWN
    return f"{row.low:.0f}".rjust(low_width) + f"..{row.high:.0f}"


def scale(rows: Sequence[Row]) -> tuple[float, float]:
    """The range the bars are drawn on: the ranked rows' intervals (all rows if none),
    and their ratings (an interval may not be known)."""
    shown = [row for row in rows if row.ranked] or list(rows)
    ends = [end for row in shown for end in (row.low, row.rating, row.high) if end is not None]
    if not ends:
        return 0.0, 1.0
    return min(ends), max(ends)


class LeaderboardScreen(Screen[None]):
    """Ratings from votes; ``p`` switches between this prompt and every prompt.

    Args:
        store: The session store (shared with the app; it is thread-safe).
        prompt: The prompt of "this prompt".
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    TITLE = "Leaderboard"

    BINDINGS = [
        Binding("escape", "close", "Close", id="leaderboard_close"),
        opening_key_closes("leaderboard"),
        Binding("p", "toggle_prompt", "This prompt / all", id="leaderboard_prompt"),
    ]

    def __init__(self, store: SessionStore, prompt: str) -> None:
        super().__init__()
        self.store = store
        self.prompt = prompt
        self.all_prompts = False
        self.board: Leaderboard | None = None
        self.judge_board: Leaderboard | None = None
        self.names: dict[str, str] = {}
        """Every prompt of the store with how it is named (:meth:`SessionStore.prompt_names`)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        say_if_failed(self, event)  # Textual tells only this screen

    def compose(self) -> ComposeResult:
        yield TextLine("Leaderboard · loading…", classes="leaderboard-header")
        yield DataTable(id="leaderboard-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="leaderboard-note", markup=False)
        yield TextLine("", classes="judge-header")
        yield DataTable(id="judge-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="judge-note", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(".judge-header").display = False
        self.query_one("#judge-table").display = False
        self.query_one("#judge-note").display = False
        self._load()

    @work(exclusive=True, group="leaderboard", exit_on_error=False, name="rate the votes")
    async def _load(self) -> None:
        prompt = None if self.all_prompts else self.prompt
        table = self.query_one("#leaderboard-table", DataTable)
        table.loading = True
        try:
            mine = await asyncio.to_thread(leaderboard, self.store, prompt=prompt)
            judged = await asyncio.to_thread(leaderboard, self.store, prompt=prompt, judge=True)
            self.names = await asyncio.to_thread(self.store.prompt_names)
        except Exception as error:
            table.loading = False
            self.query_one("#leaderboard-note", Static).update(
                f"The votes could not be read: {error}"
            )
            return
        table.loading = False
        self.board, self.judge_board = mine, judged
        self._draw()

    def _scope(self, room: int) -> str:
        if self.all_prompts:
            return "all prompts"
        # A set's prompt by its name; another without the start it shares with the
        # store's other prompts: every prompt of a set read "Generate an SVG of a…".
        name = one_line(self.names.get(self.prompt, self.prompt))
        return f"this prompt (“{shorten_prompt(name, max(room, 12), self.names.values())}”)"

    def _draw(self) -> None:
        board = self.board
        if board is None:
            return
        rest = f" · {plural(board.counted, 'vote')} · p: " + (
            "this prompt" if self.all_prompts else "all prompts"
        )
        room = self.size.width - len(f"Leaderboard · this prompt (“”){rest}") - 2
        self.query_one(".leaderboard-header", TextLine).update(
            f"Leaderboard · {self._scope(room)}{rest}"
        )
        self._fill(self.query_one("#leaderboard-table", DataTable), board)
        notes = []
        if not board.rows:
            notes.append(
                f"{board.none_yet}. Vote after a comparison (< > = -), blind with B, or on "
                "any two pictures of the gallery (g)."
            )
        else:
            notes.append(
                f"Ranked after {board.min_votes} votes; {board.level:.0%} intervals from "
                f"{board.resamples} bootstrap resamples. T counts ties and “both bad”."
            )
        notes += [sentence(caveat) for caveat in board.caveats()]
        self.query_one("#leaderboard-note", Static).update("\n".join(notes))
        judged = self.judge_board
        has_judge = judged is not None and bool(judged.rows)
        self.query_one(".judge-header").display = has_judge
        self.query_one("#judge-table").display = has_judge
        # What to know of the judge's ranks, in the words of yours (and of the command's)
        judge_notes = [sentence(c) for c in judged.caveats()] if judged and has_judge else []
        self.query_one("#judge-note", Static).update("\n".join(judge_notes))
        self.query_one("#judge-note").display = bool(judge_notes)
        if judged is not None and has_judge:
            self.query_one(".judge-header", TextLine).update(self._judge_line(judged))
            self._fill(self.query_one("#judge-table", DataTable), judged)

    def _judge_line(self, judged: Leaderboard) -> str:
        """The judge table's header, in as many words as the width takes: at 80 columns
        "The judge's ratings (apart from yours) · 40 votes · agreed with you on 16 of …"
        was cut in the agreement."""
        votes = plural(judged.counted, "vote")
        agreement = judged.agreement
        agreed = [""]
        if agreement is not None and agreement.pairs:
            agreed = [
                f" · agreed with you on {agreement.agreed} of {plural(agreement.pairs, 'pair')}",
                f" · agreed on {agreement.agreed} of {agreement.pairs}",
            ]
        lines = [f"The judge's ratings (apart from yours) · {votes}{agreed[0]}"]
        lines += [f"The judge's ratings · {votes}{words}" for words in agreed]
        room = self.size.width - 2  # the header's padding
        return next((line for line in lines if len(line) <= room), lines[-1])

    def _fill(self, table: DataTable[Text], board: Leaderboard) -> None:
        table.clear(columns=True)
        interval = f"{board.level:.0%} interval"
        rows = [*board.ranked, *board.unranked]
        ranks = [str(row.rank) if row.rank is not None else "-" for row in rows]
        ratings = [f"{row.rating:.0f}" for row in board.ranked] + ["-"] * len(board.unranked)
        votes = [str(row.votes) for row in rows]
        records = [row.record(name_both_bad=False) for row in rows]
        labels = [row.configuration.label for row in rows]
        lows = [f"{row.low:.0f}" for row in board.ranked if row.low is not None]
        low_width = max(map(len, lows), default=0)
        numbers = [interval_numbers(row, low_width) for row in board.ranked]
        numbers_width = max(map(len, numbers), default=0)
        name_width, bar_width = self._widths(
            [["#", *ranks], ["Rating", *ratings], ["Votes", *votes], ["W/L/T", *records]],
            least_bar=max(len(interval), len(UNRANKED) if board.unranked else 0),
            longest_name=max(map(len, labels), default=0),
            numbers=numbers_width,
        )
        table.add_column("#", key="rank")
        table.add_column("Configuration", key="configuration")
        table.add_column("Rating", key="rating")
        table.add_column(interval, key="interval")
        table.add_column("Votes", key="votes")
        table.add_column("W/L/T", key="wlt")
        low, high = scale(board.rows)
        lines = 1  # the header
        for place, row in enumerate(rows):
            if row.ranked:
                cell = numbers[place].ljust(numbers_width)
                if bar_width and row.interval_known:  # no bar for an unknown one
                    cell += " " + interval_bar(row, low, high, bar_width)
                strong, bar = "bold", Text(cell)
            else:
                strong, bar = "dim", Text(UNRANKED, style="italic")
            name = fold_label(row.configuration.label, name_width)
            table.add_row(
                Text(ranks[place], style=strong),
                Text("\n".join(name)),
                Text(ratings[place], style=strong),
                bar,
                Text(votes[place]),
                Text(records[place]),
                height=len(name),
            )
            lines += len(name)
        # Its share of the screen (height: 1fr), no more than its rows: two tables taller
        # than the screen each took all of it, and the screen scrolled under a scroll bar.
        table.styles.max_height = lines

    def _widths(
        self, columns: list[list[str]], *, least_bar: int, longest_name: int, numbers: int
    ) -> tuple[int, int]:
        """(name, bar) widths: the other ``columns`` (header and cells) as wide as they
        are, the interval's ``numbers`` and a bar beside them where the longest name
        leaves room for one of :data:`MIN_BAR` or more, the names the room left (folded on
        two lines beyond it, :func:`fold_label`). A bar width of 0: the numbers alone.
        At 80 columns the names were cut ("claud…s-4-7 · thinking high") beside a rating
        column as wide as "too few votes"; and the interval was only ever a bar, its
        numbers (``pelican-tui leaderboard``'s "936..1116") shown at no width."""
        others = sum(max(map(len, column)) for column in columns)
        room = self.size.width - others - PADDING * (len(columns) + 2) - SCROLLBAR
        bar = min(BAR_WIDTH, room - longest_name - numbers - 1)
        if bar < MIN_BAR:
            return max(MIN_NAME, room - max(least_bar, numbers)), 0
        cell = max(least_bar, numbers + 1 + bar)
        return max(MIN_NAME, room - cell), cell - numbers - 1

    def on_resize(self) -> None:
        self._draw()

    def action_toggle_prompt(self) -> None:
        self.all_prompts = not self.all_prompts
        self._load()

    def action_close(self) -> None:
        self.dismiss(None)
