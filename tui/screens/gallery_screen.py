"""Every picture of one prompt in a grid, across sessions; pick two to vote on.

``GalleryScreen`` reads the prompt's finished runs from the session store (in
a worker: SQLite blocks), draws each picture in a cell with its measured
facts (:attr:`Run.picture_facts`) and who drew it, and lets the user filter
by a fact, mark two pictures and open them side by side in the
:class:`~pelican_tui.screens.pair_screen.PairScreen` to vote on.

Opened after a prompt set ran, it goes through the set's prompts (``[`` and
``]``), each named "SET/PROMPT" as in session titles.

In blind mode the cells are numbered, not named, in a shuffled order, and
show no times: the pair is then voted on blind too. The grid has fewer,
larger cells in a narrow terminal and scrolls when there are more pictures
than fit.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.events import DescendantFocus
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker

from pelican_tui.backends.export.facts import no_picture_reason
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.ratings.configuration import run_labels
from pelican_tui.backends.store.records import Run, run_numbers
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import one_line, plural, shorten_label, shorten_prompt
from pelican_tui.messages import say_if_failed
from pelican_tui.screens.opening_key import opening_key_closes
from pelican_tui.screens.pair_screen import PairScreen
from pelican_tui.votes import (
    FACT_FILTERS,
    FILTER_FEWEST_WORDS,
    FILTER_SHORT_WORDS,
    FILTER_WORDS,
    Contender,
    FactFilter,
    VotePair,
    blind_note,
    facts_line,
    passes,
    shown_as,
    stored_runs,
)
from pelican_tui.widgets.caption import Caption
from pelican_tui.widgets.footer import KeysFooter
from pelican_tui.widgets.picture import PictureView
from pelican_tui.widgets.text_line import TextLine

MIN_CELL_WIDTH = 38
"""Columns a cell needs at least: 2 cells across at 80 columns, 4 at 160."""
MAX_COLUMNS = 6
"""The most cells across, however wide the terminal."""


@frozen
class GalleryItem:
    """One picture of the prompt: the run, who made it, what was measured."""

    run: Run
    label: str
    """The configuration (model, thinking, effort) that made it; its thinking said as the
    run went where that was not as asked, as the pane says it ("thinking on (did not)",
    :func:`~pelican_tui.backends.ratings.configuration.run_label`)."""
    facts: dict[str, Any]
    """The run's picture facts; for a run stored before they were measured, only
    whether there is a picture."""

    def note(self, *, blind: bool) -> str | None:
        """Why the run has no picture (None: it has one); ``blind``: without its side's
        numbers (:func:`~pelican_tui.votes.blind_note`)."""
        note = None if self.run.png else no_picture_reason(self.run)
        return blind_note(note) if blind else note

    def contender(self, *, blind: bool) -> Contender:
        run = self.run
        return Contender(
            run_id=run.id,
            png=run.png,
            note=self.note(blind=blind),
            facts=facts_line(self.facts, blind=blind),
            who=f"{self.label} (session #{run.session_id})",
            numbers=run_numbers(run.timings, run.usage),
            session_id=run.session_id,
        )


def gallery_items(runs: list[Run]) -> list[GalleryItem]:
    """The store's runs as gallery items, oldest first (the store gives newest first)."""
    items = []
    runs = runs[::-1]
    for run, label in zip(runs, run_labels(runs), strict=True):
        facts = dict(run.picture_facts) if run.picture_facts else {"renders": run.png is not None}
        items.append(GalleryItem(run, label, facts))
    return items


def grid_shape(width: int, height: int, count: int) -> tuple[int, int]:
    """(columns, cell height) for ``count`` pictures on a ``width`` x ``height`` screen:
    two rows of cells in a short terminal, three in a tall one, fewer when the pictures
    fill fewer (two pictures at 80x24 had cells half the screen high, the other half
    empty), and no taller than a square picture as wide as a cell needs."""
    columns = max(1, min(MAX_COLUMNS, width // MIN_CELL_WIDTH, max(count, 1)))
    rows = min(2 if height < 40 else 3, -(-max(count, 1) // columns))
    square = width // columns // 2 + _CELL_CHROME  # a cell is twice as tall as wide
    return columns, max(8, min((height - 2) // rows, square))


MIN_PROMPT = 12
"""Characters of the prompt the gallery's header keeps however narrow the screen."""
_CELL_CHROME = 5
"""A cell's rows besides its picture: its border (2), the picture's note and facts."""


class GalleryCell(Vertical, can_focus=True):
    """One picture with its title (who, or a number when blind) and its facts."""

    DEFAULT_CSS = """
    GalleryCell { border: round $panel-lighten-2; height: 100%; }
    GalleryCell:focus { border: round $accent; }
    GalleryCell.-marked { border: double $success; }
    GalleryCell PictureView { height: 1fr; min-height: 3; }
    GalleryCell > .cell-facts { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    """

    def __init__(
        self,
        item: GalleryItem,
        title: str,
        facts: str,
        mode: str,
        among: tuple[str, ...] = (),
        *,
        note: str | None = None,
    ) -> None:
        super().__init__()
        self.item = item
        self._note = note
        """Why there is no picture (:meth:`GalleryItem.note`)."""
        self._title = title
        self._among = among
        """The other cells' titles: a cut title keeps what tells it from theirs."""
        self._facts = facts
        self._mode = mode

    def compose(self) -> ComposeResult:
        yield PictureView(
            self.item.run.png, mode=self._mode, placeholder=self._note or "no picture"
        )
        yield Caption(self._facts, classes="cell-facts")

    def on_mount(self) -> None:
        self.border_title = self._title
        # Fitted after every layout of the screen too, not only on a Resize: a cell was
        # seen laid out without its Resize (as its PictureView, which then stayed blank).
        self.screen.screen_layout_refresh_signal.subscribe(self, lambda _: self._fit_words())

    def on_resize(self) -> None:
        self._fit_words()

    def _fit_words(self) -> None:
        # A label cut in its model's name, not at its end: "thinking on" or "off" is
        # what tells two cards of one model apart (the border cuts at the end).
        if self.size.width:
            width = max(self.size.width - 6, 8)
            self.border_title = shorten_label(self._title, width, self._among)
        self.query_one(Caption).fit()  # the facts broken between facts

    def mark(self, place: int | None) -> None:
        self.set_class(place is not None, "-marked")
        self.border_subtitle = f"marked {place}" if place is not None else ""


class GalleryScreen(Screen[None]):
    """All pictures of ``prompt``; ``escape`` closes.

    Keys: arrows move, ``space`` marks a picture (two at most), ``enter`` opens
    the two marked pictures side by side to vote on, ``f`` cycles the filter
    (all, only rendered, hide empty), ``B`` blind on/off; with ``prompts``,
    ``[`` and ``]`` show the previous and next prompt's pictures.

    Args:
        store: The session store (shared with the app; it is thread-safe).
        prompt: Whose pictures to show (first).
        blind: Start blind (numbers instead of names, shuffled, no times).
        mode: The picture mode for :class:`PictureView`.
        prompts: Prompts to go through, as (name shown, text): a prompt set's.
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    # Priority bindings, all of them: the scrolling container would take the arrows
    # first, and keys typed quickly must be handled in the order typed (Textual runs
    # priority bindings before it hands other keys to the screen).
    TITLE = "Gallery"
    """The screen's name in the user's words: the help over it is "Keys · Gallery"."""

    BINDINGS = [
        Binding("escape", "close", "Close", priority=True, id="gallery_close"),
        opening_key_closes("gallery", priority=True),
        Binding("space", "mark", "Mark", priority=True, id="gallery_mark"),
        # Vote on the two marked ("Vote on marked" cut the footer's last keys at 80 columns).
        Binding("enter", "open_pair", "Vote", priority=True, id="gallery_open_pair"),
        Binding("f", "cycle_filter", "Filter", priority=True, id="gallery_filter"),
        # B and the id of the main screen's blind mode: b is a pane's backend there, and
        # a keymap that moves one moves both.
        Binding("B", "toggle_blind", "Blind", priority=True, id="toggle_blind"),
        Binding(
            "left_square_bracket",
            "other_prompt(-1)",
            "Prev prompt",
            show=False,  # ] goes round: the footer lists it alone (80 columns)
            priority=True,
            id="gallery_previous_prompt",
        ),
        Binding(
            "right_square_bracket",
            "other_prompt(1)",
            "Next prompt",
            priority=True,
            id="gallery_next_prompt",
        ),
        Binding("left", "move(-1, 0)", "Left", show=False, priority=True, id="gallery_left"),
        Binding("right", "move(1, 0)", "Right", show=False, priority=True, id="gallery_right"),
        Binding("up", "move(0, -1)", "Up", show=False, priority=True, id="gallery_up"),
        Binding("down", "move(0, 1)", "Down", show=False, priority=True, id="gallery_down"),
    ]

    def __init__(
        self,
        store: SessionStore,
        prompt: str,
        *,
        blind: bool = False,
        mode: str = "auto",
        prompts: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__()
        self.store = store
        self.prompt = prompt
        self.prompts = list(prompts)
        """(name shown, text) of the prompts ``[`` and ``]`` go through."""
        self.names: dict[str, str] = {}
        """Every prompt of the store with how it is named (:meth:`SessionStore.prompt_names`)."""
        self.blind = blind
        self.mode = mode
        self.items: list[GalleryItem] = []
        self.loaded = False
        self.fact_filter: FactFilter = "all"
        self.marked: list[int] = []
        """Run ids of the marked pictures, in the order marked (A first when not blind)."""
        self._order: list[GalleryItem] = []
        self.cursor = 0
        """Index of the cell the keys act on (the focused one)."""
        self._rng = random.Random()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        say_if_failed(self, event)  # Textual tells only this screen

    def compose(self) -> ComposeResult:
        yield TextLine("Gallery · loading…", classes="gallery-header")
        with VerticalScroll(id="gallery-scroll"):
            yield Grid(id="gallery-grid")
        yield Static("", id="gallery-empty", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#gallery-empty").display = False
        self._load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "other_prompt":
            return len(self.prompts) > 1  # the footer lists [ and ] only for a set
        return True

    @property
    def prompt_name(self) -> str:
        """How the header names the prompt: "SET/PROMPT" for a set's, else its text."""
        names = [name for name, text in self.prompts if text == self.prompt]
        return names[0] if names else self.names.get(self.prompt, self.prompt)

    @work(exclusive=True, group="gallery-load", exit_on_error=False, name="read the gallery")
    async def _load(self) -> None:
        try:
            runs = await asyncio.to_thread(self.store.runs_for_prompt, self.prompt)
            items = await asyncio.to_thread(gallery_items, runs)
            self.names = await asyncio.to_thread(self.store.prompt_names)
        except Exception as error:
            self._say(f"The session store could not be read: {error}")
            return
        self.items = items
        self.loaded = True
        self._arrange()
        await self._fill()

    # -- drawing ------------------------------------------------------------------------

    @property
    def shown(self) -> list[GalleryItem]:
        """The items in the grid, in order (after the filter; shuffled when blind)."""
        return [item for item in self._order if passes(item.facts, self.fact_filter)]

    def cells(self) -> list[GalleryCell]:
        return list(self.query(GalleryCell))

    def _arrange(self) -> None:
        self._order = list(self.items)
        if self.blind:
            self._rng.shuffle(self._order)

    def _say(self, text: str) -> None:
        empty = self.query_one("#gallery-empty", Static)
        empty.update(text)
        empty.display = True
        self.query_one("#gallery-scroll").display = False

    def _header(self) -> str:
        # Pictures are the runs with one: a cell that says why there is none is no picture.
        # The runs without one are the cells shown that say why (a filter hides them), so
        # the counts add up to the cells.
        total = sum(bool(item.run.png) for item in self.items)
        shown = sum(bool(item.run.png) for item in self.shown)
        pictures = plural(total, "picture")
        count = pictures if shown == total else f"{shown} of {pictures}"
        fewer = pictures if shown == total else f"{shown}/{pictures}"
        without = len(self.shown) - shown
        none = f" · {plural(without, 'run')} without one" if without else ""
        blind = " · blind" if self.blind else ""
        marked = f" · marked {len(self.marked)}/2" if self.marked else ""
        place = at = ""
        texts = [text for _, text in self.prompts]
        if len(texts) > 1 and self.prompt in texts:
            at = f"{texts.index(self.prompt) + 1}/{len(texts)}"
            place, at = f" ({at}, [ ])", f" ({at})"
        # The filter is named when one is on ("all pictures" left the prompt no room). At
        # 80 columns its words were cut ("· only pictures th…"), and with blind mode and a
        # mark on too, the mark ("· blind · mar…"): where the prompt would be left less
        # than MIN_PROMPT, the filter is said in fewer words, then the runs without a
        # picture are not counted, then the rest is said in the fewest words ("3/5
        # pictures" last), each mode still named whole.
        full = short = fewest = ""
        if self.fact_filter != "all":
            full = f" · {FILTER_WORDS[self.fact_filter]}"
            short = f" · {FILTER_SHORT_WORDS[self.fact_filter]}"
            fewest = f" · {FILTER_FEWEST_WORDS[self.fact_filter]}"
        lines = [
            (f"Gallery · {count} of “", f"”{place}{none}{full}{blind}{marked}"),
            (f"Gallery · {count} of “", f"”{place}{none}{short}{blind}{marked}"),
            (f"Gallery · {count} of “", f"”{place}{short}{blind}{marked}"),
            (f"Gallery · {count} of “", f"”{at}{fewest}{blind}{marked}"),
            (f"Gallery · {fewer} of “", f"”{at}{fewest}{blind}{marked}"),
        ]
        # On one line: a prompt of several lines was cut at its first line break, its
        # closing quote and the rest of the header with it.
        name = one_line(self.prompt_name)
        width = self.size.width - 2  # the header's padding
        least = min(cell_len(name), MIN_PROMPT)
        head, rest = next(
            (line for line in lines if width - cell_len("".join(line)) >= least), lines[-1]
        )
        room = max(width - cell_len(head + rest), MIN_PROMPT)
        # Without the start it shares with the store's other prompts: every prompt of a
        # set read "Generate an SVG of a…" at 80 columns.
        return f"{head}{shorten_prompt(name, room, self.names.values())}{rest}"

    async def _fill(self) -> None:
        grid = self.query_one("#gallery-grid", Grid)
        await grid.remove_children()
        shown = self.shown
        self.query_one(".gallery-header", TextLine).update(self._header())
        if not shown:
            why = (
                "No pictures of this prompt yet: run it (r), several times with samples (n)."
                if not self.items
                else f"No picture passes the filter ({FILTER_WORDS[self.fact_filter]}): press f."
            )
            self._say(why)
            return
        self.query_one("#gallery-empty").display = False
        self.query_one("#gallery-scroll").display = True
        self._shape()
        cells = []
        titles = [f"#{n}" if self.blind else item.label for n, item in enumerate(shown, 1)]
        among = tuple(dict.fromkeys(titles))
        for item, title in zip(shown, titles, strict=True):
            facts = facts_line(item.facts, blind=self.blind)
            note = item.note(blind=self.blind)
            cells.append(GalleryCell(item, title, facts, self.mode, among, note=note))
        await grid.mount_all(cells)
        self._show_marks()
        self.cursor = 0
        cells[0].focus()

    def _shape(self) -> None:
        columns, height = grid_shape(self.size.width, self.size.height, len(self.shown))
        grid = self.query_one("#gallery-grid", Grid)
        grid.styles.grid_size_columns = columns
        grid.styles.grid_rows = str(height)

    def on_resize(self) -> None:
        if self.loaded:  # the prompt's room in the header changed too
            self.query_one(".gallery-header", TextLine).update(self._header())
        if self.loaded and self.shown:
            self._shape()

    def _show_marks(self) -> None:
        for cell in self.cells():
            run_id = cell.item.run.id
            cell.mark(self.marked.index(run_id) + 1 if run_id in self.marked else None)
        self.query_one(".gallery-header", TextLine).update(self._header())

    # -- keys ---------------------------------------------------------------------------

    def _focused_cell(self) -> GalleryCell | None:
        """The cell the keys act on: :attr:`cursor`'s (focus itself moves a moment later,
        so keys typed quickly must not read it)."""
        cells = self.cells()
        if not cells:
            return None
        self.cursor = max(0, min(self.cursor, len(cells) - 1))
        return cells[self.cursor]

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        cells = self.cells()
        if isinstance(event.widget, GalleryCell) and event.widget in cells:
            self.cursor = cells.index(event.widget)  # a click moves the cursor too

    def action_move(self, dx: int, dy: int) -> None:
        cells = self.cells()
        if not cells:
            return
        columns = self.query_one("#gallery-grid", Grid).styles.grid_size_columns or 1
        target = self.cursor + dx + dy * columns
        if 0 <= target < len(cells):
            self.cursor = target
            cells[target].focus()
            cells[target].scroll_visible()

    def action_mark(self) -> None:
        cell = self._focused_cell()
        if cell is None:
            return
        run_id = cell.item.run.id
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked = [*self.marked, run_id][-2:]  # a third mark drops the first
        self._show_marks()

    def action_open_pair(self) -> None:
        picked = [item for item in self.items if item.run.id in self.marked]
        focused = self._focused_cell()
        if len(picked) == 1 and focused is not None and focused.item.run.id not in self.marked:
            picked.append(focused.item)  # one marked + the focused one
        if len(picked) != 2:
            self.notify("Mark two pictures with space, then press enter to vote on them.")
            return
        by_mark = sorted(
            picked, key=lambda i: self.marked.index(i.run.id) if i.run.id in self.marked else 2
        )
        first, second = (item.contender(blind=self.blind) for item in by_mark)
        a, b = shown_as(first, second, blind=self.blind, rng=self._rng)
        pair = VotePair(a, b, label="from the gallery")

        def closed(winner: str | None) -> None:
            if winner is not None:
                self.marked = []
                self._show_marks()
            else:  # not voted on: perhaps its session was deleted (the pair screen said so)
                self._drop_deleted()

        self.app.push_screen(PairScreen(self.store, pair, blind=self.blind, mode=self.mode), closed)

    @work(exclusive=True, group="gallery-load", exit_on_error=False, name="read the gallery")
    async def _drop_deleted(self) -> None:
        """Drop the pictures the store no longer has (their session was deleted since
        the gallery read them: ``pelican-tui sessions delete``, another window)."""
        kept = await stored_runs(self.store, [item.run.id for item in self.items])
        if kept is None or len(kept) == len(self.items):
            return
        self.items = [item for item in self.items if item.run.id in kept]
        self._order = [item for item in self._order if item.run.id in kept]
        self.marked = [run for run in self.marked if run in kept]
        await self._fill()

    async def action_cycle_filter(self) -> None:
        index = FACT_FILTERS.index(self.fact_filter)
        self.fact_filter = FACT_FILTERS[(index + 1) % len(FACT_FILTERS)]
        if self.loaded:
            await self._fill()

    async def action_toggle_blind(self) -> None:
        self.blind = not self.blind
        self.notify(
            "Blind: numbers instead of names, shuffled; pairs are voted on blind."
            if self.blind
            else "Not blind: each picture says who drew it.",
            timeout=4,
        )
        if self.loaded:
            self._arrange()
            await self._fill()

    def action_other_prompt(self, step: int) -> None:
        """Show the previous (-1) or next (1) prompt's pictures."""
        texts = [text for _, text in self.prompts]
        if len(texts) < 2:
            return
        place = texts.index(self.prompt) if self.prompt in texts else -step
        self.prompt = texts[(place + step) % len(texts)]
        self.marked = []
        self.loaded = False
        self.query_one(".gallery-header", TextLine).update("Gallery · loading…")
        self._load()

    def action_close(self) -> None:
        self.dismiss(None)
