"""The sessions browser: saved prompts and runs, newest first.

``SessionsScreen`` opens the session store in a thread worker (SQLite blocks),
lists the sessions a page at a time (the next page as the cursor nears the
end, so a long history costs no more to open than a short one) in a
:class:`~.sessions_screen_list.SessionList`, which formats and draws only the
rows on screen, deletes one
after a :class:`ConfirmScreen`, and dismisses with a :class:`SessionAction`
(open, rerun, export) or None.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Label, Static
from textual.worker import Worker, WorkerState

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.store.records import (
    SessionStoreError,
    SessionStoreMissing,
    SessionSummary,
    listed_model,
)
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import first_line, plural, shorten, shorten_title
from pelican_tui.screens.confirm_screen import ConfirmScreen
from pelican_tui.screens.opening_key import opening_key_closes
from pelican_tui.screens.sessions_screen_list import Cells, SessionList
from pelican_tui.themes import theme_color
from pelican_tui.widgets.footer import KeysFooter

SessionActionKind = Literal["open", "rerun", "export"]

PAGE_SIZE = 60
"""Sessions read at a time, newest first, at least: a terminal taller than
``PAGE_SIZE - MORE_WHEN_WITHIN`` rows gets pages of its height plus that margin."""
MORE_WHEN_WITHIN = 20
"""The next page is read when the cursor comes this close to the last row read."""
LOADING_AFTER_S = 0.3
"""Textual's loading indicator is shown only if the first page takes this long (drawing
it, and taking it away, cost two frames of a screen that is read in a few ms)."""

_VERDICTS = {"left": "◀ left", "right": "right ▶", "tie": "= tie", "both_bad": "✗ both bad"}
_DATE_WIDTH = len("YYYY-MM-DD HH:MM")
_VERDICT_WIDTH = max(len(label) for label in _VERDICTS.values())


@frozen
class SessionAction:
    """What the user chose to do with a session."""

    kind: SessionActionKind
    """"open" (show it), "rerun" (run its prompt again) or "export" (write it out)."""
    session_id: int


class SessionsScreen(Screen[SessionAction | None]):
    """Browse saved sessions; dismiss(SessionAction) or dismiss(None) on escape.

    Keys: ``enter`` open, ``r`` rerun, ``e`` export, ``d`` delete (asks first),
    ``escape`` close. The store is opened without creating it: with no store
    yet, the screen says so instead of making an empty file.

    Args:
        store_path: The SQLite file (normally ``locations.sessions_db()``).
        say: How what opening the store had to say is said (the app says each thing
            once while it runs); None: a warning toast each time.
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    TITLE = "Sessions"

    BINDINGS = [
        Binding("escape", "close", "Close", id="sessions_close"),
        opening_key_closes("sessions"),
        # priority: the list's own bindings come first otherwise.
        Binding("enter", "choose('open')", "Open", priority=True, id="sessions_open"),
        Binding("r", "choose('rerun')", "Rerun", id="sessions_rerun"),
        Binding("e", "choose('export')", "Export", id="sessions_export"),
        Binding("d", "delete", "Delete", id="sessions_delete"),
    ]

    class Loaded(Message):
        """A page of the list arrived from the store."""

        def __init__(
            self,
            sessions: list[SessionSummary],
            notices: list[str],
            *,
            offset: int = 0,
            total: int | None = None,
        ) -> None:
            super().__init__()
            self.sessions = sessions
            self.notices = notices
            self.offset = offset
            """Where the page starts in the newest-first list (0: the first page)."""
            self.total = total
            """How many sessions the store holds (read with the first page)."""

    class Deleted(Message):
        """A session is gone from the store."""

        def __init__(self, session_id: int) -> None:
            super().__init__()
            self.session_id = session_id

    def __init__(self, store_path: Path, say: Callable[[list[str]], None] | None = None) -> None:
        super().__init__()
        self.store_path = Path(store_path)
        self._say = say
        self.sessions: list[SessionSummary] = []
        """What the table shows, in order (the pages read so far)."""
        self.total = 0
        """Sessions in the store (more than :attr:`sessions` until every page is read)."""
        self.loaded = False
        self._first_read_done = False
        """The first page came, or reading it failed."""
        self._reading_more = False
        self._store: SessionStore | None = None
        self._store_lock = threading.Lock()
        self._closing = False

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="sessions-header"):
            yield Label("Sessions", id="sessions-title")
            yield Label("loading…", id="sessions-count")
        yield SessionList(_cells, (_DATE_WIDTH, _VERDICT_WIDTH), id="sessions-table")
        yield Static("", id="sessions-empty")
        yield Static("", id="sessions-detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.set_timer(LOADING_AFTER_S, self._still_loading)
        self.query_one("#sessions-empty").display = False
        self.query_one("#sessions-detail").display = False
        self._load()

    def _still_loading(self) -> None:
        if not self._first_read_done:
            self._table().loading = True

    def on_unmount(self) -> None:
        with self._store_lock:
            self._closing = True
            store, self._store = self._store, None
        if store is not None:
            store.close()

    def on_resize(self) -> None:
        self.set_class(self.size.height < 30, "-short")
        if self.loaded and self.sessions:
            self._show_detail()

    def _table(self) -> SessionList:
        return self.query_one("#sessions-table", SessionList)

    # ----------------------------------------------------------------- store access

    def _open_store(self) -> SessionStore | None:
        """The open store (opened on first use); None if there is none yet. Thread side."""
        with self._store_lock:
            if self._closing:
                return None
            if self._store is None:
                try:
                    self._store = SessionStore.open(
                        self.store_path, create=False, read_only_ok=True
                    )
                except SessionStoreMissing:
                    return None
            return self._store

    @work(thread=True, exclusive=True, group="sessions-load", exit_on_error=False)
    def _load(self) -> None:
        store = self._open_store()
        if store is None:
            self.post_message(self.Loaded([], []))
            return
        sessions = store.list_sessions(limit=self._page_size())
        total = store.count_sessions()
        self.post_message(self.Loaded(sessions, store.notices, total=total))

    @work(thread=True, exclusive=True, group="sessions-more", exit_on_error=False)
    def _load_more(self, offset: int) -> None:
        store = self._open_store()
        if store is None:
            return
        sessions = store.list_sessions(limit=self._page_size(), offset=offset)
        self.post_message(self.Loaded(sessions, [], offset=offset))

    @work(thread=True, group="sessions-delete", exit_on_error=False)
    def _delete(self, session_id: int) -> None:
        store = self._open_store()
        if store is None:
            raise SessionStoreError("the session store is closed")
        store.delete_session(session_id)
        self.post_message(self.Deleted(session_id))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        reason = str(error) if isinstance(error, SessionStoreError) else repr(error)
        if event.worker.group == "sessions-more":
            self._reading_more = False
            self.notify(f"Could not read more sessions: {reason}", severity="error")
        elif event.worker.group == "sessions-load":
            self._first_read_done = True
            self.refresh_bindings()
            self._table().loading = False
            self._show_empty(f"Could not read the sessions.\n\n{reason}", error=True)
            self.query_one("#sessions-count", Label).update("")
        else:
            self.notify(f"Could not delete the session: {reason}", severity="error")

    # ----------------------------------------------------------------- showing

    @on(Loaded)
    def _on_loaded(self, message: Loaded) -> None:
        if message.offset:
            self._add_page(message.sessions)
            return
        with self.app.batch_update():  # one frame for the rows, the count and the detail
            self.loaded = self._first_read_done = True
            self.sessions = list(message.sessions)
            self.total = message.total if message.total is not None else len(self.sessions)
            self._table().loading = False
            if self._say is not None:
                self._say(message.notices)
            else:
                for notice in message.notices:
                    self.notify(notice, severity="warning", timeout=8)
            self._fill_table()

    def _add_page(self, page: list[SessionSummary]) -> None:
        """Append the next page (sessions already listed are skipped: one may have
        been made meanwhile, moving the rest down)."""
        self._reading_more = False
        known = {session.id for session in self.sessions}
        new = [session for session in page if session.id not in known]
        if not page:
            self.total = len(self.sessions)  # some were deleted elsewhere
        self.sessions.extend(new)
        self.total = max(self.total, len(self.sessions))
        if new:
            self._table().add_rows(new)
        self._update_count()

    def _page_size(self) -> int:
        """Enough rows to fill the screen with room to move: the rest waits for the cursor."""
        return max(PAGE_SIZE, self.app.size.height + MORE_WHEN_WITHIN)

    def _more_if_near_end(self) -> None:
        row = self._table().cursor_row
        near_end = row >= len(self.sessions) - MORE_WHEN_WITHIN
        if near_end and not self._reading_more and len(self.sessions) < self.total:
            self._reading_more = True
            self._load_more(len(self.sessions))

    @on(Deleted)
    def _on_deleted(self, message: Deleted) -> None:
        index = next((i for i, s in enumerate(self.sessions) if s.id == message.session_id), None)
        if index is None:
            return
        gone = self.sessions.pop(index)
        self.total = max(self.total - 1, len(self.sessions))
        self._table().remove_row(index)
        self._update_count()
        if not self.sessions:
            self._show_empty(_EMPTY_TEXT)
        self._show_detail()
        self.refresh_bindings()
        titles = [other.listed_as for other in (*self.sessions, gone)]
        self.notify(f"Deleted “{shorten_title(gone.listed_as, 60, titles)}”.", timeout=4)

    def _fill_table(self) -> None:
        table = self._table()
        self._update_count()
        if not self.sessions:
            self.refresh_bindings()  # the keys that need a session go (see check_action)
            self._show_empty(_EMPTY_TEXT)
            return
        self.query_one("#sessions-empty").display = False
        table.display = True
        table.set_rows(self.sessions)
        table.focus()
        self._show_detail()

    def _show_empty(self, text: str, error: bool = False) -> None:
        self._table().display = False
        self.query_one("#sessions-detail").display = False
        empty = self.query_one("#sessions-empty", Static)
        empty.set_class(error, "-error")
        empty.update(text)
        empty.display = True

    def _update_count(self) -> None:
        n = max(self.total, len(self.sessions))
        text = plural(n, "session") if n else ""
        self.query_one("#sessions-count", Label).update(text)

    @on(SessionList.Highlighted, "#sessions-table")
    def _on_highlight(self) -> None:
        self._show_detail()
        self._more_if_near_end()

    @on(SessionList.Selected, "#sessions-table")
    def _on_selected(self) -> None:
        self.action_choose("open")

    def _show_detail(self) -> None:
        detail = self.query_one("#sessions-detail", Static)
        session = self.selected_session
        if session is None:
            detail.display = False
            return
        colors = {
            status: theme_color(self.app, variable, fallback)
            for status, (variable, fallback) in _STATUS_COLORS.items()
        }
        detail.update(_detail(session, compact=self.has_class("-short"), colors=colors))
        detail.display = True

    # ----------------------------------------------------------------- actions

    @property
    def selected_session(self) -> SessionSummary | None:
        """The session under the cursor, if any."""
        if not self.sessions:
            return None
        row = self._table().cursor_row
        if 0 <= row < len(self.sessions):
            return self.sessions[row]
        return None

    @property
    def selected_session_id(self) -> int | None:
        session = self.selected_session
        return None if session is None else session.id

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("choose", "delete"):
            # Shown while the first page is read, so the footer stays as it is when
            # the rows come (an empty store hides them then).
            return not self._first_read_done or self.selected_session is not None
        return True

    def action_close(self) -> None:
        self.dismiss(None)

    def action_choose(self, kind: SessionActionKind) -> None:
        session_id = self.selected_session_id
        if session_id is not None:
            self.dismiss(SessionAction(kind, session_id))

    def action_delete(self) -> None:
        session = self.selected_session
        if session is None:
            return
        store = self._store
        if store is not None and store.read_only is not None:  # it asked, then could not
            self.notify(
                f"Could not delete the session: the session store is read only: {store.read_only}.",
                severity="error",
            )
            return
        runs = len(session.runs)
        titles = [other.listed_as for other in self.sessions]  # as the rows cut it
        question = (
            f"Delete “{shorten_title(session.listed_as, 60, titles)}”?\n\n"
            f"The session from {_date(session.created_at)} and its "
            f"{plural(runs, 'run')} go for good, with every vote on them "
            "(the leaderboard changes)."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(session.id)

        self.app.push_screen(ConfirmScreen(question, "Delete", "Keep"), answered)


_EMPTY_TEXT = (
    "No saved sessions yet.\n\n"
    "Run the two models on a prompt and save the result:\n"
    "it shows up here, ready to open, rerun or export."
)


def _date(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _verdict(session: SessionSummary) -> str:
    if session.verdict is None:
        return "—"
    return _VERDICTS.get(session.verdict, session.verdict)


def _cells(
    session: SessionSummary, prompt_w: int, models_w: int, among: Sequence[SessionSummary]
) -> Cells:
    """One row of the list: date, title, models and verdict, cut to the widths; the
    title without the start its prompt shares with the others ``among`` the rows."""
    titles = [other.listed_as for other in among]
    return (
        _date(session.created_at),
        shorten_title(session.listed_as, prompt_w, titles),  # as `sessions list` cuts it
        session.models_line(models_w),
        _verdict(session),
    )


_STATUS_COLORS = {
    "finished": ("text-success", "green"),
    "failed": ("text-error", "red"),
    "cancelled": ("text-warning", "yellow"),
    "interrupted": ("text-warning", "yellow"),
    "running": ("text-primary", "cyan"),
}


def _detail(session: SessionSummary, compact: bool, colors: dict[str, str]) -> Text:
    """The highlighted session: its prompt, then one line per run."""
    text = Text()
    prompt = first_line(session.prompt) if compact else session.prompt.strip()
    text.append(shorten(prompt, 400), style="bold")
    if compact:
        text.no_wrap = True
        text.overflow = "ellipsis"
    if not session.runs:
        text.append("\nno runs", style="dim")
    for run in session.runs:
        text.append(f"\n{run.slot:<5} ", style="dim")
        text.append(f"{listed_model(run.model_id)} ")
        text.append(run.status, style=colors.get(run.status, ""))
        text.append("  picture" if run.has_svg else "  no picture", style="dim")
    return text
