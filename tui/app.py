"""The pelican-tui app: two models, two pictures, live numbers.

The app decides nothing about a run. It keeps what each pane shows (a
:class:`~pelican_tui.backends.engine.choices.PaneChoice` per pane), asks the
:class:`~pelican_tui.backends.engine.comparison.ComparisonEngine` to run them,
and draws the engine's updates: live text and numbers, previews of the SVG
being written, the stored picture at the end. Every piece of I/O runs in a
named worker; widgets only draw what they are fed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.keys import key_to_character
from textual.notifications import Notify
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from pelican_tui.backends import locations
from pelican_tui.backends.atomic import replace_file
from pelican_tui.backends.engine.choices import SLOTS, PaneChoice, first_view
from pelican_tui.backends.events import Failed, TextDelta, Waiting
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.llama.process import (
    STARTING_STATES,
    ServerStartError,
    ServerState,
    ServerStatus,
)
from pelican_tui.backends.protocol import BackendStatus, Effort
from pelican_tui.backends.resources import ResourceSample
from pelican_tui.backends.secrets import scrub_secrets, url_without_credentials
from pelican_tui.backends.settings import (
    MAX_SAMPLES,
    LocalSettings,
    Settings,
    config_file_exposed,
)
from pelican_tui.backends.text import first_line, fold_path, home_path, on_off, plural
from pelican_tui.commands import PelicanCommands
from pelican_tui.messages import KeyRow, ResourceTick, ServerStatusChanged, say_if_failed
from pelican_tui.screens.opening_key import opening_binding
from pelican_tui.voting import Voting
from pelican_tui.widgets.footer import KeysFooter
from pelican_tui.widgets.memory_panel import MemoryHistory
from pelican_tui.widgets.model_pane import ModelPane
from pelican_tui.widgets.picture import resolve_mode
from pelican_tui.widgets.prompt_box import PromptBox
from pelican_tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import RenderableType
    from textual.dom import DOMNode

    # Imported after the first frame: the engine when it is built (PelicanApp.engine),
    # the batch planner and the store's records by the first run or prompt set.
    from pelican_tui.backends.engine.batch import BatchStep
    from pelican_tui.backends.engine.comparison import ComparisonEngine
    from pelican_tui.backends.engine.sides import ServerHandle, Side
    from pelican_tui.backends.engine.updates import RunProgress
    from pelican_tui.backends.prompt_sets import PromptSet
    from pelican_tui.backends.store.records import Slot
    from pelican_tui.screens.picture_screen import Picture, PictureScreen

NARROW_BELOW = 100
PROMPT_HISTORY = 20
ANY_SCREEN_ACTIONS = ("help", "quit")
"""Main-screen keys that also work over other screens (the rest wait for the main screen)."""
DEFAULT_THEME = "pelican-dark"
WARM_UP_MODULES = (
    "pelican_tui.backends.engine.run",  # with the session store and exports
    "pelican_tui.backends.engine.batch",  # with the prompt sets
    "pelican_tui.backends.svg.render",
    "pelican_tui.backends.host_info",
    "pelican_tui.backends.llama.binary",
    "PIL.PngImagePlugin",
)
"""Imported in the background after the first frame (see :meth:`PelicanApp.warm_up`)."""


_KEPT_UNSAVED = "The app keeps what was not saved until you quit: s tries again."
"""Said when the store failed to save an ended run (a full disk): ``s`` saves it later."""
_UNAVAILABLE_HINT = "b to switch"
"""How a pane's line on a side that cannot run ends (:meth:`PelicanApp._problem_line`)."""
RECHECK_S = 5.0
"""How often a server someone else runs is asked again while no pane runs on it: found
not reachable, checked in full; found ready, one small question (is it still there?).
The spawned llama-server too, while it has not said whether its model has a thinking
switch (:meth:`~.sides.Side.thinking_switch_unknown`)."""
_ON_ITS_WAY = STARTING_STATES | {ServerState.READY}
"""Server states in which a pane's "not started" problem line is out of date."""
_STILL_STOPPED = frozenset({ServerState.STOPPED, ServerState.STOPPING})
"""States of the app's own llama-server in which the title says what the app asked of
it ("starting", "restarting"), where it said "ready" until the server began to load."""


@frozen
class Notice:
    """A notification the user was shown."""

    message: str
    title: str
    severity: str


class MainScreen(Screen[None]):
    """The app's first screen, not styled twice before its first frame.

    Textual restyles a screen whole when it is resumed, in case something
    changed while it was covered; the first screen is resumed once at start,
    its widgets just styled as they were mounted, the theme set before that
    (~40 nodes, 15% of the time from ``App.run`` to the first frame). That
    first time it is drawn as styled; later resumes restyle as usual.
    """

    _resumed = False

    @property
    def is_current(self) -> bool:
        """Visible: on top, or under a screen that lets it show through (a dialog).

        Textual counts the screen under any other as visible and, each time one of its
        widgets changes (the status bar's sample every second, the panes while a model
        streams), repaints the *whole* screen on top: 6-25 KB a second to the terminal
        while the sessions list, the gallery or the help sat still (measured at 160x48).
        Under a screen that hides it whole, it is left alone; when it is shown again,
        Textual draws it whole, as it stands then.
        """
        top = self.app.screen
        return top is self or (top.styles.background.a < 1 and super().is_current)

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen's own handler (Textual calls each class's, subclass first).
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False
            return
        # Resized while covered: the app's -narrow class changed then, but this screen,
        # not current, kept its old styles (two panes stacked at 160 columns).
        self.app.update_styles(self)


def keymap_problems(keymap: Mapping[str, str]) -> list[str]:
    """What ``ui.keymap`` asks for that cannot work as meant, a line each
    (:func:`~pelican_tui.keymap_check.keymap_problems` for the main screen and the prompt
    box): the app says them at start, doctor marks them."""
    from pelican_tui.keymap_check import keymap_problems as problems

    prompt_box = [b.id for b in Binding.make_bindings(PromptBox.BINDINGS) if b.id]
    return problems(keymap, PelicanApp.BINDINGS, prompt_box)


class PelicanApp(Voting):
    """Compare a local model with Claude (or with itself) on one prompt."""

    CSS_PATH = "app.tcss"
    TITLE = "pelican-tui"
    AUTO_FOCUS = None
    COMMAND_PALETTE_BINDING = "ctrl+p"
    COMMANDS = App.COMMANDS | {PelicanCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run_both", "Run both", id="run_both"),
        Binding("1", "run_pane('left')", "Run left", show=False, id="run_left"),
        Binding("2", "run_pane('right')", "Run right", show=False, id="run_right"),
        Binding("c", "cancel", "Cancel", id="cancel"),
        # A priority, so the letters typed right after it go into the box: the app
        # gives it the focus before it takes the next key (off while a field types it).
        Binding("p", "edit_prompt", "Prompt", priority=True, id="edit_prompt"),
        Binding("t", "toggle_thinking('active')", "Think", id="toggle_thinking"),
        Binding(
            "T", "toggle_thinking('other')", "Think (other pane)", show=False,
            id="toggle_other_thinking",
        ),
        Binding("e", "cycle_effort", "Effort (with thinking on)", show=False, id="cycle_effort"),
        Binding("b", "cycle_backend", "Pane backend", show=False, id="cycle_backend"),
        Binding("w", "switch_pane", "Pane", id="switch_pane"),
        opening_binding("fullscreen", show=True),
        opening_binding("view_answer"),
        Binding("n", "cycle_samples", "Samples", show=False, id="cycle_samples"),
        Binding("P", "run_set", "Run a prompt set", show=False, id="run_set"),
        Binding("B", "toggle_blind", "Blind", id="toggle_blind"),
        Binding(
            "less_than_sign", "verdict('left')", "Left (A) better", show=False, id="verdict_left"
        ),
        Binding(
            "greater_than_sign", "verdict('right')", "Right (B) better", show=False,
            id="verdict_right",
        ),
        Binding("equals_sign", "verdict('tie')", "Tie", show=False, id="verdict_tie"),
        Binding("minus", "verdict('both_bad')", "Both bad", show=False, id="verdict_both_bad"),
        opening_binding("gallery"),
        opening_binding("leaderboard"),
        Binding("s", "save", "Save", show=False, id="save"),
        opening_binding("sessions"),
        Binding("x", "export", "Export", show=False, id="export"),
        opening_binding("server_log"),
        Binding("R", "restart_server", "Restart server", show=False, id="restart_server"),
        opening_binding("server_settings"),
        opening_binding("help", show=True),
        Binding("q", "quit", "Quit", id="quit"),
        # In raw mode the terminal sends Ctrl-Z as a key, not SIGTSTP: over SSH, a
        # shell's job control was out of reach. Textual stops and resumes the screen.
        Binding("ctrl+z", "suspend_process", "Suspend to the shell (fg resumes)", show=False,
                id="suspend"),
    ]  # fmt: skip

    def __init__(
        self,
        settings: Settings,
        prepared: Prepared,
        *,
        start_server: bool = True,
        sample_resources: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.start_server = start_server
        self.sample_resources = sample_resources
        self.image_mode = resolve_mode(settings.ui.image_mode)
        self.prompt = settings.prompt
        self.history: list[str] = []
        self._prepared = prepared
        self._engine: ComparisonEngine | None = None
        # The panes are drawn from the settings; the engine is built after the first
        # frame (see engine), unless they cannot say what it would show.
        self._first_view = first_view(settings, prepared)
        self.choices: dict[Slot, PaneChoice] = (
            dict(self._first_view.choices)
            if self._first_view is not None
            else self.engine.default_choices()
        )
        """What each pane runs; the keys t, T, e and b change it."""
        self._levels: dict[tuple[Slot, str], Effort] = {}
        """The thinking level last chosen for each side of each pane (``e``): ``b`` back to
        the side keeps it (it gave the side's default, Claude's "high", again)."""
        self.session_id: int | None = None
        """The session shown (the last run's, or one opened): a pane's run is offered to it."""
        self._deleted_on_screen: int | None = None
        """The session shown was deleted in the browser (its id), until the next run or open."""
        self._store_failed = False
        """The comparison last started is not saved: the store failed as it began."""
        self._rechecking = False
        """The servers someone else runs are being asked again (:data:`RECHECK_S`)."""
        self._quit_unsaved_said = 0
        """How many unsaved runs q last said it would lose: q again then quits."""
        self._quit_running_said = 0
        """Which comparison q last said it would stop (its number): q again then quits."""
        self._restart_running_said = 0
        """Which comparison R last said it would cut (its number): R again then restarts."""
        self._stored_shown: dict[Slot, tuple[int, str, str, bool]] = {}
        """Panes that show an opened session's run, or a run of a session deleted: (session
        id, run label, how it ended, deleted), until the pane is titled for another run."""
        self.active: Slot = "left"
        self._previewing: set[Slot] = set()
        self._panes_full_screen: PictureScreen | None = None
        """The panes' pictures full screen (``f``) while it is open: it follows them."""
        self._silent_server: dict[Slot, float | None] = {}
        """Runs on the app's llama-server: how long it has sent each nothing (None: it
        sends), for the status bar."""
        self._streaming: dict[Slot, str] = {}
        """Runs streaming now: the key of the side each runs on, for the status bar."""
        self._silent_side: dict[Slot, float] = {}
        """Of :attr:`_streaming`, runs on a side without a server process whose stream has
        sent nothing for a while: for how long, for the status bar ("claude: no data for
        9 s", not "streaming")."""
        self._last_preview: dict[Slot, tuple[float, int, str | None]] = {}
        self._pane_run: dict[Slot, int] = {}
        """Per pane, which comparison owns it (updates of a superseded one are ignored)."""
        self._panes: dict[str, ModelPane] = {}
        """The panes found by :meth:`pane` (asked for at every streamed token)."""
        self._comparisons = 0
        self.notices: list[Notice] = []
        """What the user was told in notifications, oldest first."""
        self._series = 0
        """The number of the latest comparison of both panes (its samples go on)."""
        self.memory = MemoryHistory()
        """The last few minutes of resource samples (the server log screen draws them)."""
        self.local_known = False
        """The local model's header was read after the first frame, its side checked or started."""
        self._server_going: str | None = None
        """What the app's own llama-server is about to do while it is still stopped or
        stopping ("starting", "restarting"), for the terminal's title; None: nothing asked."""
        self.crash: Exception | None = None
        """The first exception nobody caught after the app started (a bug): the launcher
        says it in one line, its traceback in the error log, once the terminal is back."""
        state = self._state()
        self._history_kept: list[str] = state.get("history", [])
        """The prompt history the state file kept (read once, here; shown at mount)."""
        self._init_voting(settings, state)
        # The theme is set before the first frame, so nothing restyles the screen after it.
        from pelican_tui.themes import register_themes

        register_themes(self)
        wanted = settings.ui.theme or state.get("theme") or DEFAULT_THEME
        self._unknown_theme = None if wanted in self.available_themes else wanted
        """A theme asked for that does not exist (on_mount says so); None: it does."""
        self.theme = DEFAULT_THEME if self._unknown_theme else wanted

    # -- set-up -------------------------------------------------------------------

    @property
    def engine(self) -> ComparisonEngine:
        """The run engine: its sides, the store, the renderer.

        Built, and its modules imported (~20 ms), after the first frame
        (:meth:`read_header_then_start`), or sooner by whatever needs it first (a
        key pressed before then). Until then the panes and the status bar show
        what :func:`~pelican_tui.backends.engine.choices.first_view` says it will.
        The model's header (gguf, numpy, the file) is read later still.
        """
        if self._engine is None:
            from pelican_tui.backends.engine.comparison import ComparisonEngine

            self._engine = ComparisonEngine(
                self.settings,
                self._prepared,
                on_server_status=self._post_server_status,
                read_header=False,
            )
        return self._engine

    @property
    def engine_built(self) -> bool:
        """Whether :attr:`engine` has been built yet."""
        return self._engine is not None

    def _post_server_status(self, status: ServerStatus) -> None:
        self.post_message(ServerStatusChanged(status))

    @property
    def server(self) -> ServerHandle | None:
        """The llama-server pelican-tui owns, if any (log, restart, status)."""
        return next((s.server for s in self.engine.sides.values() if s.server), None)

    @property
    def ceiling_tok_s(self) -> float | None:
        """The decode ceiling of the spawned local model (None: unknown)."""
        local = self.engine.local
        return local.ceiling_tok_s if local is not None else None

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield PromptBox(self.prompt, placeholder="Prompt (p to edit, enter to run)", id="prompt")
        with Horizontal(id="panes"):
            for slot in SLOTS:
                pane = ModelPane(
                    slot,
                    self.choices[slot],
                    image_mode=self.image_mode,
                    redraw_hz=0,  # both panes redraw on the app's one clock
                )
                # Marked before it is mounted: marked after, the pane was styled again.
                pane.set_class(slot == self.active, "-active", update=False)
                yield pane
        yield StatusBar(self.image_mode)
        yield KeysFooter()

    def on_mount(self) -> None:
        if self._unknown_theme is not None:
            self.notify(
                f"Unknown theme {self._unknown_theme!r}; using {DEFAULT_THEME}. Themes: "
                + ", ".join(sorted(self.available_themes)),
                title="Theme",
                severity="warning",
                timeout=10,
            )
        if keymap := self.settings.ui.keymap:
            from pelican_tui.keymap_check import keymap_to_apply

            self.set_keymap(keymap_to_apply(keymap, self.BINDINGS))
            self._say_keymap_problems(keymap)
        if unsaved := locations.cannot_make(locations.data_dir()):  # before a run, not after
            self.notify(f"Sessions cannot be saved: {unsaved} (see PELICAN_HOME).",
                        title="Session store", severity="error", timeout=20)  # fmt: skip
            from pelican_tui.backends.store.sessions import read_only_notice_for

            if same := read_only_notice_for(locations.sessions_db()):  # in the store's words
                self._store_words_said.add(same)
        if exposed := config_file_exposed():
            self.notify(exposed, title="Settings", severity="warning", timeout=20)
        for section in (self.settings.local, self.settings.remote):  # said before, then hidden
            if said := section.flag_password_warning:
                self.notify(said[0].upper() + said[1:], title="Settings", severity="warning",
                            timeout=20)  # fmt: skip
        self._say_state_aside()
        self._set_history(self._history_kept)
        self.query_one("#left", ModelPane).add_class("-active")
        self.set_class(self.image_mode == "sixel", "-sixel")  # where toasts go (app.tcss)
        self._on_resize_layout()
        self._describe_panes()
        self._update_side_notes()
        self.show_modes()
        self._title.keep()
        self.show_blind()
        if self.blind_kept:
            self.notify("Blind mode on, as you left it: the pictures of each run (r) are shown "
                        "as A and B, and who drew which is hidden until you vote; B leaves "
                        "blind mode.", timeout=8)  # fmt: skip
        self.read_header_then_start()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, self.exit)
        # Back from SIGTSTP (fg): Textual enters the alternate screen again, empty, and
        # draws only what changes after; its own suspend() redraws all, this path did not.
        self.app_resume_signal.subscribe(self, lambda _app: self.refresh(layout=True))
        # One clock redraws every running pane: one screen update per tick, not one per pane.
        self._redraw_clock = self.set_interval(
            1 / max(self.settings.ui.stats_fps, 0.5), self._redraw_panes, pause=True
        )
        self.set_interval(RECHECK_S, self._recheck_lost_servers_now)

    @work(exclusive=True, group="header", exit_on_error=False, name="read the model header")
    async def read_header_then_start(self) -> None:
        """After the first frame: read the local model's header, show its facts, start it
        (and fix the allocator's threshold for large blocks, see :mod:`pelican_tui.allocator`).

        The first frame is the one with the footer's keys (Textual draws the screen
        two or three times before them): nothing here competes with drawing it. A
        footer that gets no keys (no focus) waits 20 refreshes at most.
        """
        footer = self.query_one(Footer)
        for _ in range(20):
            if any(key.size.width for key in footer.children):
                break  # laid out, so drawn: Textual lays out and draws in one screen update
            refreshed = asyncio.Event()
            self.call_after_refresh(refreshed.set)
            await refreshed.wait()
        if not gc.isenabled():  # held off until this frame by the command (pelican_tui.cli)
            gc.enable()
        self._build_engine()
        self.say_store_at_start()
        self.offer_kept_pairs("from last time")  # blind pairs left at the last quit
        from pelican_tui.allocator import return_large_blocks  # (ctypes: not before the frame)

        return_large_blocks()  # pictures decoded run after run do not stay in RSS
        if self.sample_resources:
            self.sample_loop()
        await self.engine.read_local_header()
        self._describe_panes()
        self._after_local_change(starting=True)
        self.local_known = True
        self.show_activity()  # "starting" no more: the title says what the local side is

    @work(exclusive=True, group="store", exit_on_error=False, name="open the session store")
    async def say_store_at_start(self) -> None:
        """Open the session store there is, so what opening it says is said at start: a
        damaged one moved aside and a new one made was said only by the first key that
        opened it (o, r), after the user had gone on. None is made here; one that cannot
        be opened is said by the run it fails, as before."""
        from pelican_tui.backends.store.records import SessionStoreError

        if not await asyncio.to_thread(locations.sessions_db().is_file):
            return
        with contextlib.suppress(SessionStoreError, OSError):
            await self.open_store()

    def _build_engine(self) -> None:
        """Build the engine (after the first frame), unless something needed it sooner,
        and draw what it says where the panes still show what the settings said."""
        first, self._first_view = self._first_view, None
        engine = self.engine
        if first is None:  # drawn from the engine already (a models folder)
            return
        if self.choices == first.choices:  # no key changed them meanwhile
            self.choices = engine.default_choices()
        self._describe_panes()
        self._update_side_notes()

    def _after_local_change(self, *, starting: bool = False, going: str = "starting") -> None:
        """Show what the local side is now, and start or check it; ``going``: what the
        title says until the server it starts says what it does ("restarting" after
        new server settings stopped the one before)."""
        engine = self.engine
        status = self.query_one(StatusBar)
        local = engine.local
        if local is None:
            status.set_server_note("local: unavailable")
        elif local.server is None:
            status.set_server_note(
                f"local: checking {url_without_credentials(engine.plan.url or '')}…"
            )
        elif engine.plan.fit is not None and engine.plan.fit.level != "ok" and starting:
            self.notify(engine.plan.fit.message, title="Memory", severity="warning", timeout=10)
        for slot in SLOTS:
            pane, problem = self.pane(slot), self._problem_line(self.choices[slot])
            # Nothing to say leaves a run's own failure line: a run that failed before the
            # header was read (r at start-up) lost it when this came after.
            if (
                problem
                or pane.state in ("idle", "running")
                or pane.problem.endswith(_UNAVAILABLE_HINT)
            ):
                pane.show_problem(problem)
        for side in self._sides_in_panes():
            if side.can_check:
                self.check_side(side)
        if self.start_server and self.server is not None:
            self._say_server_going(going)
            self.start_local_server()
        else:
            self._say_server_going(None)  # none of its own to start: what the side says

    def watch_theme(self, theme: str) -> None:
        if self.is_running:
            self._save_state(theme=theme)

    def on_resize(self, event: events.Resize) -> None:
        # Textual updates ``self.size`` after this handler: read the new size from the event.
        self._on_resize_layout(event.size.width)

    def _on_resize_layout(self, width: int | None = None) -> None:
        narrow = (self.size.width if width is None else width) < NARROW_BELOW
        self.set_class(narrow, "-narrow")
        footer = self.query_one(Footer)
        footer.compact = narrow
        footer.show_command_palette = not narrow
        other = self._other(self.active)
        for slot in SLOTS:
            pane = self.pane(slot)
            pane.set_class(narrow and slot != self.active, "-hidden")
            subtitle = (
                f"w: show {'2' if other == 'right' else '1'} ({self.pane(other).status})"
                if narrow and slot == self.active
                else ""
            )
            if pane.border_subtitle != subtitle:  # assigning repaints the whole pane
                pane.border_subtitle = subtitle

    # -- small helpers ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The main screen's keys work on the main screen; other screens show (and
        answer) their own keys, plus help and quit. Textual's own (focus with Tab and
        Shift+Tab, a screen's keys that call ``app.focus_next``) work everywhere."""
        return self.main_key_works(action, self.screen)

    def main_key_works(self, action: str, screen: object) -> bool:
        """Whether a main-screen ``action`` works with ``screen`` on top (the palette asks)."""
        if action in ANY_SCREEN_ACTIONS and self._keys_taken(action, screen):
            return False  # the footer must not say "q Quit" where q closes the screen
        name = action.partition("(")[0]  # the palette asks with the parameters
        if name == "edit_prompt" and isinstance(getattr(screen, "focused", None), Input):
            return False  # a priority key: the field with the focus types it
        if name not in _MAIN_ACTIONS or name in ANY_SCREEN_ACTIONS or not self.screen_stack:
            return True
        return screen is self.screen_stack[0]

    def _keys_taken(self, action: str, screen: object) -> bool:
        """Whether every key of the app's ``action`` (help, quit; after ``ui.keymap``) is
        taken on ``screen`` before the app sees it: ``q`` where it closes the screen, a
        letter where a text field has the focus (the server settings), so its key there
        does something else. With ``help = "q"``, quit on ctrl+q still quits over the
        help screen and the answer, and the settings' footer said "q Help"."""
        from textual.binding import BindingsMap

        bindings = BindingsMap(self.BINDINGS)
        if self._keymap:
            bindings.apply_keymap(self._keymap)
        keys = {key for key, binding in bindings if binding.action == action}
        if not keys:
            return False
        # Over a dialog where q closes, only quit: the dialog's help ("?" over the
        # answer) is its own binding, and the app's key for help does not reach it.
        taken = {"q"} if action == "quit" and getattr(screen, "Q_CLOSES", False) else set()
        focused = getattr(screen, "focused", None)
        # A text field types it, not help's key (quit is left alone: Textual's own ctrl+q
        # asks here too, and must still quit while the prompt is edited).
        if action == "help" and isinstance(focused, Input):
            taken |= {key for key in keys if len(key) == 1 or key_to_character(key)}
        return keys <= taken

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
        """Show a notification, and keep it in :attr:`notices` (the last 50)."""
        notice = Notice(message, kwargs.get("title", ""), kwargs.get("severity", "information"))
        self.notices.append(notice)
        del self.notices[:-50]
        super().notify(message, *args, **kwargs)

    def on_notify(self, event: Notify) -> None:
        """Once a notification's time is up, draw the screen again, for its cells.

        Textual takes the toast away on time, then lays the screen out again and
        redraws what changed. But it rebuilds its map of the screen lazily, and it did
        so in between (a widget not on screen had been redrawn: the toast rack, the
        panes hidden in blind mode, the other pane at 80 columns): the toast was in
        neither map, none of its cells were redrawn, and it stayed on the terminal
        until something under it was drawn (in blind mode, over the B picture until
        the pictures came, ~15 s for a 4 s notice)."""
        notification = event.notification

        def redraw(tries: int = 8) -> None:
            if notification in self._notifications and tries:  # not gone yet: a busy moment
                self.set_timer(0.25, lambda: redraw(tries - 1))
                return
            with contextlib.suppress(Exception):  # the app is closing
                self.screen.refresh()

        self.set_timer(notification.time_left + 0.1, redraw)

    def pane(self, slot: str) -> ModelPane:
        """The pane of ``slot``. Raises NoMatches once the app's screen is gone."""
        pane = self._panes.get(slot)
        if pane is None or not pane.is_attached:  # (a query per token was ~1,300 a run)
            pane = self._panes[slot] = self.query_one(f"#{slot}", ModelPane)
        return pane

    @staticmethod
    def _other(slot: Slot) -> Slot:
        return "right" if slot == "left" else "left"

    def _side(self, slot: Slot) -> Side | None:
        return self.engine.side(self.choices[slot].side)

    def _sides_in_panes(self) -> list[Side]:
        sides = [self._side(slot) for slot in SLOTS]
        return list({id(s): s for s in sides if s is not None}.values())

    def _problem_line(self, choice: PaneChoice) -> str | None:
        """Why a pane with ``choice`` cannot run, and what to do: the side's own advice (a
        key is set in the environment, not in S), else server settings."""
        problem = self.engine.unavailable(choice)
        if not problem:
            return None
        side = self.engine.side(choice.side)
        own_server = side is not None and side.server is not None  # its settings are S's
        fix = None if own_server else self.engine.unavailable_hint(choice)
        fix = fix or "press S for server settings"
        return f"{problem} — {fix}, {_UNAVAILABLE_HINT}"

    def _describe_panes(self, *, runs_kept: bool = False) -> None:
        """Title every pane (:meth:`_describe_pane`). ``runs_kept``: not those that show a
        run that ended, as after the local server (re)started: what their headers said
        of the run holds, not the new server's state ("thinking on (checking…)")."""
        for slot in SLOTS:
            pane = self.pane(slot)
            if runs_kept and pane.state not in ("idle", "not run", "running"):
                continue
            self._describe_pane(slot, pane.choice if pane.state == "running" else None)

    def _choose(self, slot: Slot, choice: PaneChoice) -> bool:
        """Make ``choice`` the pane's next run. Returns whether the pane is titled for it
        now: a pane that runs is titled for its run until that ends (:meth:`_show_next`),
        one that shows a run's results stays titled for that run (its facts line says
        the next run, :meth:`_describe_pane`)."""
        self.choices[slot] = choice
        if choice.effort is not None:
            self._levels[slot, choice.side] = choice.effort
        self._update_side_notes()  # a side a pane now runs on is said before memory
        if self.pane(slot).state == "running":
            return False
        self._describe_pane(slot)
        return self.pane(slot).choice == choice and slot not in self._stored_shown

    def _show_next(self) -> None:
        """Title each idle pane for its next run, where a key changed it mid-run."""
        for slot in SLOTS:
            pane = self.pane(slot)
            if pane.state != "running" and pane.choice != self.choices[slot]:
                self._describe_pane(slot)
                problem = self._problem_line(self.choices[slot])
                if problem:
                    pane.show_problem(problem)

    def _describe_pane(self, slot: Slot, choice: PaneChoice | None = None) -> None:
        """Title the pane for ``choice`` (None: its next run's, :attr:`choices`).

        A run's numbers stay measured against the ceiling of the model it ran on
        (set as it starts): a pane that shows one takes its next run's ceiling only
        for a run of ``choice`` about to start in it."""
        showing_a_run = choice is None and self.pane(slot).state not in ("idle", "not run")
        pane = self.pane(slot)
        if showing_a_run and (slot in self._stored_shown or pane.choice != self.choices[slot]):
            self._describe_shown_run(slot)
            return
        side = self._side(slot) if showing_a_run and self._engine is not None else None
        if side is not None and not side.status().ready:
            # Its server gone (killed, not reachable): the run stays titled as it ran, not
            # by the bare URL of a server that no longer says what it serves.
            return
        choice = choice or self.choices[slot]
        self._stored_shown.pop(slot, None)
        pane.choice = choice
        if self._engine is None and self._first_view is not None:  # the first frame
            header = self._first_view.headers[slot]
        else:
            header = self.engine.header(choice, pane.number)
        if not showing_a_run:
            pane.ceiling_tok_s = header.ceiling_tok_s
        pane.choice_thinking, pane.thinking_switch = header.thinking, header.thinking_switch
        pane.describe(header.title, header.facts)
        pane.redraw_stats()

    def _describe_shown_run(self, slot: Slot) -> None:
        """Title a pane for the run it shows, not for its next run: its answer, numbers
        and picture are that run's (``b`` or ``t`` after it ended relabelled them as the
        next run's). The facts line says what the next run is, where a key changed it;
        ``r`` runs that."""
        pane, choice = self.pane(slot), self.choices[slot]
        next_run = None if pane.choice == choice else self.engine.next_run_words(choice)
        if (stored := self._stored_shown.get(slot)) is not None:
            session_id, label, how, deleted = stored
            self._describe_stored(slot, session_id, label, how, deleted=deleted, next_run=next_run)
            return
        title = self.engine.header(pane.choice, pane.number).title
        pane.describe(title, f"last run · next: {next_run}")

    def _update_side_notes(self) -> None:
        """Status-bar segments of sides without a server process ("claude: ready"): what
        their run streaming now does, else how their latest run ended; each says whether
        a pane runs on it (said before the memory figures at 80 columns)."""
        if self._engine is None and self._first_view is not None:  # the first frame
            self.query_one(StatusBar).set_sides(self._first_view.notes)
            return
        used = {choice.side for choice in self.choices.values()}
        notes: list[tuple[str, bool]] = []
        # A side with a run still streaming says so (the other pane's end does not
        # make it "ready"), or how long its stream has been silent; one whose latest
        # run failed says so (a later cancel of the other pane's run does not undo it).
        doings = {key: "failed" for key, side in self.engine.sides.items() if side.failed_lately}
        for key in self._streaming.values():
            doings[key] = self._silence(key) or "streaming"
        for key, side in self.engine.sides.items():
            note = side.note()
            if note is not None:
                doing = doings.get(key)
                notes.append((f"{side.label}: {doing}" if doing else note, key in used))
        self.query_one(StatusBar).set_sides(notes)

    def _silence(self, key: str) -> str | None:
        """Of the side ``key``, a run streams on: "no data for N s" when every run
        streaming on it has sent nothing for a while (its pane says so too, from the
        same moment); None: one sends, or none streams. Said of every side the same way
        in the status bar (the app's own llama-server: by :meth:`StatusBar.set_server_silent`)."""
        idle = [self._silent_side.get(slot) for slot, on in self._streaming.items() if on == key]
        if not idle or None in idle:
            return None
        return f"no data for {min(s for s in idle if s is not None):.0f} s"

    def _state(self) -> dict[str, Any]:
        path = locations.state_file()
        try:
            data = json.loads(path.read_text())
        except OSError:
            return {}
        except ValueError:  # hand-edited: kept aside, not written over by the next save
            self._put_state_aside(path)
            return {}
        if not isinstance(data, dict):
            return {}
        # Hand-edited or from another version: a value of the wrong type is left out, as
        # a file that is not JSON is ("history": 5 stopped the app with a traceback).
        history = data.get("history", [])
        history = history if isinstance(history, list) else []
        data["history"] = [prompt for prompt in history if isinstance(prompt, str)]
        if not isinstance(data.get("theme", ""), str):
            del data["theme"]
        if not isinstance(data.get("blind", False), bool):
            del data["blind"]
        if not isinstance(data.get("blind_pairs", []), list):
            del data["blind_pairs"]
        samples = data.get("samples", 1)
        counted = isinstance(samples, int) and not isinstance(samples, bool)  # true is an int
        if not counted or not 1 <= samples <= MAX_SAMPLES:
            del data["samples"]
        return data

    def _put_state_aside(self, path: Path) -> None:
        from datetime import datetime

        from pelican_tui.backends.store.database import move_aside

        try:
            kept = move_aside(path, datetime.now())
        except OSError:
            return  # a folder that cannot be written: nothing is written over either
        self._state_aside = (
            f"{home_path(path)} was not JSON: it is kept as {kept.name}, and the prompt "
            "history starts empty."
        )
        if self.is_running:
            self._say_state_aside()

    _state_aside: str | None = None
    """What :meth:`_put_state_aside` has to say, kept until the app runs (the state is
    read before, when the screen's width is not known), then folded to a toast's lines:
    Textual's own wrapping broke it inside words (".../data/st" over "ate.json")."""

    def _say_state_aside(self) -> None:
        if self._state_aside is not None:
            said, self._state_aside = self._state_aside, None
            self.notify(self.toast_lines(said), title="Prompt history", severity="warning",
                        timeout=10)  # fmt: skip

    _state_unsaved_said = False
    """Whether the app said that ``state.json`` could not be written (it says it once)."""

    def _save_state(self, **changes: Any) -> None:
        state = {**self._state(), **changes}
        path = locations.state_file()
        try:
            locations.ensure(path.parent)
            replace_file(path, json.dumps(scrub_secrets(state), indent=1))
        except OSError as error:  # a full disk, a read-only or odd data folder
            if not self._state_unsaved_said:
                self._state_unsaved_said = True
                self.notify(
                    "Could not save the prompt history, theme, samples, blind mode and blind "
                    f"pairs to {home_path(path)}: "
                    f"{error.strerror or error}. They last until you quit.",
                    title="Prompt history",
                    severity="warning",
                    timeout=10,
                )

    # -- workers: server, resources ------------------------------------------------------

    @work(exclusive=True, group="server", exit_on_error=False, name="start llama-server")
    async def start_local_server(self) -> None:
        try:
            await self.engine.start_local()
            # It says now whether its model has a thinking switch.
            self._describe_panes(runs_kept=True)
        except ServerStartError as error:
            self._say_server_going(None)  # refused before it was spawned: it stays stopped
            message = first_line(str(error))
            for slot in SLOTS:
                side = self._side(slot)
                if side is not None and side.server is not None:
                    self.pane(slot).show_problem(
                        f"{message} — press l for the log, R to restart, S for settings"
                    )
            status = self.server.status if self.server is not None else None
            if (
                status is not None
                and status.state is ServerState.CRASHED
                and (status.exit_code is not None)
            ):
                return  # its crash was said as it happened (on_server_status_changed)
            self.notify(message, title="llama-server", severity="error", timeout=15)

    _clock_running = False
    """Whether the redraw clock ticks (a pane runs): other updates wait for its tick."""
    _staged_sample: ResourceSample | None = None
    """A resource sample for the status bar, drawn at the clock's next tick."""

    def _start_clock(self) -> None:
        self._clock_running = True
        self._redraw_clock.resume()

    def _redraw_panes(self) -> None:
        """The clock's tick: every running pane, and the status bar's newest sample, in
        one screen update (each update costs ~3-5 ms at 160x48 however little changed)."""
        try:
            running = [self.pane(slot) for slot in SLOTS if self.pane(slot).state == "running"]
            with self.batch_update():
                for pane in running:
                    pane.flush()
                self._follow_pictures()
                sample, self._staged_sample = self._staged_sample, None
                if sample is not None:
                    self.query_one(StatusBar).set_sample(sample)
        except NoMatches:  # the app is closing
            running = []
        if not running:
            self._clock_running = False
            self._redraw_clock.pause()

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False, name="warm up")
    def warm_up(self) -> None:
        """Import the modules a run needs (the first frame did not wait for them).

        Touches nothing on screen: it fills ``sys.modules`` and starts the SVG
        renderer's worker, so the first run does not spend its first second on them.
        """
        import importlib

        for module in WARM_UP_MODULES:
            importlib.import_module(module)
        from pelican_tui.backends.openai_compat.probe import tls_context

        tls_context()  # CA certificates loaded once, before the first request
        self.engine.start_renderer()  # ~0.2 s of CPU now rather than during a run

    @work(exclusive=True, group="resources", exit_on_error=False, name="sample resources")
    async def sample_loop(self) -> None:
        def show(sample: ResourceSample) -> None:
            self.post_message(ResourceTick(sample))

        await self.engine.sample_resources(show)

    def on_resource_tick(self, message: ResourceTick) -> None:
        self.memory.add(message.sample)
        if self._clock_running:  # drawn with the panes, not in a screen update of its own
            self._staged_sample = message.sample
            return
        with contextlib.suppress(NoMatches):  # a tick that arrives while the app closes
            self.query_one(StatusBar).set_sample(message.sample)

    _server_ran = False
    """Whether the app's llama-server became ready since it was last started: a crash
    before then may be its settings' (an HF reference that cannot download)."""

    def on_server_status_changed(self, message: ServerStatusChanged) -> None:
        status = message.status
        try:
            bar = self.query_one(StatusBar)
        except NoMatches:  # a report that arrives while the app closes (the server stops)
            return
        bar.set_server(status)
        if status.state not in _STILL_STOPPED:  # it says what it does now, not the app
            self._say_server_going(None)  # and the terminal's title ("loading model")
        else:
            self.show_activity()  # the terminal's title says it too
        if status.state in STARTING_STATES:
            self._server_ran = False
        elif status.state is ServerState.READY:
            self._server_ran = True
        if status.state is ServerState.CRASHED and status.exit_code is not None:
            # One that never became ready may fail again on R, for its settings.
            restart = (
                "R to restart" if self._server_ran else "R to restart or S to change the settings"
            )
            self.notify(  # the message names the cause llama-server logged, if any
                f"{status.message}.\nPress {restart}, l for the log.",
                title="llama-server",
                severity="error",
                timeout=20,
            )
        if status.state is ServerState.READY:
            # Not before: start-up and readiness must not wait behind these imports.
            self.warm_up()
        # "(checking…)" in a header while it starts: of a pane that shows no run (a run
        # shown, finished or stored, keeps what its header said of it).
        for slot in SLOTS:
            side, idle = self._side(slot), self.pane(slot).state in ("idle", "not run")
            shown = slot in self._stored_shown
            own = side is not None and side.server is not None
            if own and status.state is ServerState.READY and self.pane(slot).state == "not run":
                self.pane(slot).forget_run()  # "not run" was the failed server's state
            if own and idle and not shown:
                self._describe_pane(slot)
        if status.state in _ON_ITS_WAY:  # "not started" no longer holds; the status bar says more
            for slot in SLOTS:
                side, pane = self._side(slot), self.pane(slot)
                if side is None or side.server is None:
                    continue
                # An idle pane's line, or the "unavailable" line put over a finished run's
                # (it stayed there after S applied new settings and the server started).
                if pane.state == "idle" or pane.problem.endswith(_UNAVAILABLE_HINT):
                    pane.show_problem(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        say_if_failed(self, event)

    # -- running the comparison -------------------------------------------------------------

    def _set_history(self, prompts: list[str]) -> None:
        """The prompts run, the newest last: kept, and stepped through in the prompt box."""
        self.history = prompts[-PROMPT_HISTORY:]
        self.query_one("#prompt", PromptBox).history = self.history

    def _remember_prompt(self, prompt: str | None = None) -> None:
        """Keep ``prompt`` (None: the one that runs) as the newest in the history."""
        prompt = self.prompt if prompt is None else prompt
        if prompt and (not self.history or self.history[-1] != prompt):
            self._set_history([*self.history, prompt])
            self._save_state(history=self.history)

    def exit(
        self,
        result: None = None,
        return_code: int = 0,
        message: RenderableType | None = None,
    ) -> None:
        """Leave the app, keeping a prompt typed and not run in the history (↑ gives it
        back next time): it was lost at q."""
        with contextlib.suppress(NoMatches):  # gone already, or never drawn
            typed = self.query_one("#prompt", PromptBox).prompt
            if typed != self.prompt:
                self._remember_prompt(typed)
        super().exit(result, return_code, message)

    def _handle_exception(self, error: Exception) -> None:
        """A bug after start closes the app as Textual closes it, kept in :attr:`crash`
        for the launcher (as a bug at start is said): Textual's own traceback on stderr
        gave no error log, and was printed over what the terminal showed."""
        if self.crash is None:
            self.crash = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """Close the app after a bug without Textual's traceback: :attr:`crash` keeps it."""
        self._close_messages_no_wait()

    def _take_prompt(self) -> None:
        """The prompt box's text is what runs; an empty box gets the ``prompt`` setting
        back, shown, so the screen says what ran (it ran unseen behind the placeholder)."""
        box = self.query_one("#prompt", PromptBox)
        self.prompt = box.prompt or self.settings.prompt
        if not box.prompt:
            box.show_prompt(self.prompt)
            self.notify("The prompt box was empty: the prompt setting runs.", timeout=5)
        self._remember_prompt()

    def action_run_both(self) -> None:
        """Run every pane on the prompt, :attr:`samples` times (one session per sample)."""
        from pelican_tui.backends.engine.batch import plan_batch
        from pelican_tui.backends.prompt_sets import NamedPrompt

        self._take_prompt()
        if self._blind_cannot_run():
            return
        self._run_batch(plan_batch([NamedPrompt("prompt", self.prompt)], self.samples))

    def _blind_cannot_run(self) -> bool:
        """In blind mode, with a pane whose side cannot run (no key set): say so at once
        and run nothing (True). A pair needs both pictures: the other side ran for
        nothing, and only then was the series stopped. Without blind mode the other pane
        runs alone, the refused one saying why."""
        if not self.blind:
            return False
        problems = [
            f"the {slot} pane cannot run: {line}"
            for slot in SLOTS
            # Not the app's own llama-server: a run waits for it to start.
            if ((side := self._side(slot)) is None or side.server is None)
            and (line := self._problem_line(self.choices[slot])) is not None
        ]
        if not problems:
            return False
        keys = {row.id: row.keys for row in self.key_rows()}
        self.notify(f"Nothing run: blind mode needs both panes, and {'; '.join(problems)}. "
                    f"{keys.get('toggle_blind', 'B')} leaves blind mode.", title="Blind",
                    severity="warning", timeout=10)  # fmt: skip
        return True

    def action_run_set(self) -> None:
        """Pick a prompt set (``prompts.toml``) and run every prompt of it."""
        from pelican_tui.backends.prompt_sets import PromptSetsError, load_prompt_sets
        from pelican_tui.screens.prompt_set_screen import PromptSetScreen

        try:
            sets = load_prompt_sets()
        except PromptSetsError as error:
            self.notify(str(error), title="Prompt sets", severity="error", timeout=15)
            return
        times = "once" if self.samples == 1 else f"{self.samples} times"
        runs = f"both panes, {times}" + (", blind" if self.blind else "")

        def chosen(prompt_set: PromptSet | None) -> None:
            if prompt_set is not None:
                self.run_prompt_set(prompt_set)

        self.push_screen(PromptSetScreen(sets, locations.prompt_sets_file(), runs), chosen)

    def run_prompt_set(self, prompt_set: PromptSet) -> None:
        """Run every pane on every prompt of ``prompt_set``, :attr:`samples` times each
        (one session per prompt and sample, as ``pelican-tui run --set NAME``)."""
        from pelican_tui.backends.engine.batch import plan_batch

        if self._blind_cannot_run():
            return
        self._run_batch(plan_batch(prompt_set, self.samples))
        count = len(prompt_set.prompts)
        times = f", {self.samples} samples each" if self.samples > 1 else ""
        self.notify(f"Running prompt set {prompt_set.name}: {plural(count, 'prompt')}{times}; "
                    "c cancels.", timeout=5)  # fmt: skip

    def _run_batch(self, steps: list[BatchStep]) -> None:
        live = self._live_runs(SLOTS)
        if self._cancel_comparisons():
            self._say_superseded(*live, whole=True)
        self.session_id = None
        self.pane_runs = {}
        self._compare(dict(self.choices), session_id=None, steps=steps)

    def action_run_pane(self, slot: Slot) -> None:
        """Run one pane again; it joins the current session unless that pane is running
        or the prompt is another (a session holds runs of one prompt)."""
        if self.blind:
            self.notify("Blind mode compares both panes: press r (or B to leave blind mode).",
                        timeout=4)  # fmt: skip
            return
        self._take_prompt()
        session_id = self.session_id
        live = self._live_runs([slot])
        if self.engine.cancel(slot):  # running: its run is cut short, so it starts afresh
            session_id = None
            self._say_superseded(*live)
        elif self._cancel_unbegun(slot):  # this pane's run, not begun: never run unseen
            self._say_superseded([], [slot])
        self._compare({slot: self.choices[slot]}, session_id=session_id)

    def _count_run(self, slot: Slot) -> None:
        """One run of ``slot`` started or was refused: the terminal title's "running N/M"
        counts it."""
        key = (self._pane_run.get(slot, 0), slot)
        if (counts := self._progress.get(key)) is not None:
            started, planned = counts
            self._progress[key] = (min(started + 1, planned), planned)
        self.show_activity()

    def _cancel_unbegun(self, slot: Slot) -> bool:
        """Cancel the comparison of ``slot`` alone that has not begun its run (it waits
        for its llama-server to load): the engine has no run of it to cancel yet, and it
        went on unseen once the model was loaded. A comparison of both panes goes on for
        the other one alone (it ran this one too, unseen, beside the pane's new run).
        Returns whether there was one."""
        number = self._pane_run.get(slot)
        if number is None:
            return False
        group = f"comparison-{number}"
        both = number == self._pane_run.get(self._other(slot))
        live = (WorkerState.PENDING, WorkerState.RUNNING)
        if both and number not in self._in_progress:
            # Not begun (1 pressed with r, in one read from the terminal): it leaves out
            # the pane the newer comparison takes (see :meth:`_comparison`).
            return any(worker.group == group and worker.state in live for worker in self.workers)
        if self.pane(slot).state != "running":
            return False
        if both:
            return self.engine.drop_unbegun(slot)
        pending = [
            worker for worker in self.workers if worker.group == group and worker.state in live
        ]
        for worker in pending:
            worker.cancel()
        return bool(pending)

    def _compare(
        self,
        choices: dict[Slot, PaneChoice],
        session_id: int | None,
        steps: list[BatchStep] | None = None,
    ) -> Worker[None]:
        """Run ``choices`` through the engine, step by step (one prompt, once: the
        prompt box's), in a worker of group ``comparison-N``."""
        from pelican_tui.backends.engine.batch import plan_batch
        from pelican_tui.backends.prompt_sets import NamedPrompt

        steps = steps or plan_batch([NamedPrompt("prompt", self.prompt)], 1)
        self._deleted_on_screen = None
        self._store_failed = False
        self._comparisons += 1
        number = self._comparisons
        for slot, choice in choices.items():
            # The comparison that had the pane runs it no more (its runs go uncounted).
            self._progress.pop((self._pane_run.get(slot, 0), slot), None)
            self._pane_run[slot] = number
            self._streaming.pop(slot, None)  # the run it had ends unseen (a newer owns it)
            self._describe_pane(slot, choice)  # after t, b, e mid-run, or a stored session
        if len(choices) > 1:
            self._series = number
        blind = self.blind and len(choices) > 1

        async def comparison() -> None:
            await self._comparison(number, choices, session_id, steps, blind)

        # Panes on one server run in turn: the waiting pane says so (no pop-up: a toast
        # shown and hidden repaints most of the screen, ~23 KB at 160x48, mid-run).
        # A function, not a coroutine: a comparison cancelled before it starts (r pressed
        # again) then leaves no coroutine that was never awaited.
        return self.run_worker(
            comparison,
            group=f"comparison-{number}",
            exit_on_error=False,
            name="run the comparison",
        )

    async def _comparison(
        self,
        number: int,
        choices: dict[Slot, PaneChoice],
        session_id: int | None,
        steps: list[BatchStep],
        blind: bool,
    ) -> None:
        """Run the comparison once per step, one session each (as ``pelican-tui run
        --samples N [--set NAME]`` does); in blind mode each step becomes a pair to
        vote on."""
        from pelican_tui.backends.engine.batch import GivenUp, run_step, stop_reason
        from pelican_tui.backends.engine.updates import SameRequest, SessionStarted

        said: set[str] = set()  # the batch's notes of the same request twice: once each

        def on_update(update: Any) -> None:
            slot = getattr(update, "slot", None)
            if slot is not None and self._pane_run.get(slot) != number:
                return  # a newer run owns this pane
            if isinstance(update, SessionStarted) and number not in self._pane_run.values():
                return  # it goes on unseen (a session opened meanwhile): not the one shown
            if isinstance(update, SameRequest):
                if update.note in said:
                    return  # said at the batch's first session: once is enough
                said.add(update.note)
            with contextlib.suppress(NoMatches):  # the app is closing: panes are gone
                self._draw_update(update)

        self._in_progress.add(number)
        # Not the panes a newer comparison took already (1 pressed with r): it runs them.
        for slot in choices:
            if self._pane_run.get(slot) == number:
                self._progress[number, slot] = (0, len(steps))
        # The sides that failed for good, or for now in two samples in a row: sent no
        # more of this batch (a third sample against an overloaded Claude waited as long).
        given_up = GivenUp(after_failures=2)
        if blind:
            self.start_blind(number)
        try:
            for step in steps:
                # A pane a newer comparison took (1 pressed while this one waited for
                # the model to load) is not run by this one: it would run unseen.
                owned = {s: c for s, c in choices.items() if self._pane_run.get(s, 0) <= number}
                if not owned:
                    break
                self._step = step
                self.show_blind()
                self.show_modes()
                outcome = await run_step(
                    self.engine,
                    step,
                    owned,
                    on_update,
                    session_id=session_id,
                    given_up=given_up,
                )
                for error in dict.fromkeys(outcome.listener_errors):  # a bug in drawing it
                    self.notify(
                        f"Drawing the run failed ({error}); the run itself was recorded:"
                        " press o to open it from the sessions.",
                        severity="error",
                        timeout=12,
                    )
                stops = stop_reason(outcome)
                if blind and stops is None:  # a pair needs both: a side given up ends it
                    stops = given_up.stops_pairs(owned)
                if blind and self._blind_of == number:
                    with contextlib.suppress(NoMatches):
                        await self.add_pair(outcome, step, stops)
                if stops is not None or self._series != number:
                    break  # as run stops, or a newer comparison took over
        finally:
            self._in_progress.discard(number)
            if not self._in_progress:  # else its runs still count in those of the others
                self._progress.clear()
            if self._blind_of == number:
                self._blind_of = None
            with contextlib.suppress(NoMatches):
                self.show_blind()
                self.show_modes()
                self._show_next()

    def _draw_update(self, update: Any) -> None:
        """Draw one engine update (see :mod:`pelican_tui.backends.engine.run`)."""
        from pelican_tui.backends.engine import updates  # imported by the engine already

        if isinstance(update, updates.RunProgress):
            pane = self.pane(update.slot)
            pane.feed(update.event)
            if update.slot in self._silent_server:  # a run on the app's llama-server
                idle = update.event.idle_s if isinstance(update.event, Waiting) else None
                if idle is not None or self._silent_server[update.slot] is not None:
                    self._silent_server[update.slot] = idle
                    self.query_one(StatusBar).set_server_silent(idle)
            elif update.slot in self._streaming:  # a side without one: its note says it
                idle = update.event.idle_s if isinstance(update.event, Waiting) else None
                if idle is not None or update.slot in self._silent_side:
                    if idle is None:
                        del self._silent_side[update.slot]
                    else:
                        self._silent_side[update.slot] = idle
                    side = self.engine.sides.get(self._streaming[update.slot])
                    if side is not None:
                        self._show_side_status(side)
            if isinstance(update.event, TextDelta):
                self._maybe_preview(pane, update)
        elif isinstance(update, updates.RunStarted):
            if update.spec.side.server is not None:
                self._silent_server[update.slot] = None
            # It was contacted (a spawned one: asked about its thinking switch, when it had
            # not said): the header says what answered.
            if update.spec.side.can_check or update.spec.side.server is not None:
                self._describe_pane(update.slot, self.pane(update.slot).choice)
                self._show_side_status(update.spec.side)
            if update.run_id is not None:
                self.pane_runs[update.slot] = update.run_id
            self._count_run(update.slot)
            pane = self.pane(update.slot)
            header = update.spec.side.header(pane.choice, pane.number)  # its model, now read
            pane.ceiling_tok_s, pane.thinking_switch = header.ceiling_tok_s, header.thinking_switch
            pane.begin(update.spec.thinking())
            pane.picture.set_png(None, "waiting for an SVG…")
            from pelican_tui.widgets.picture import PreviewPace

            pane.picture.pace = PreviewPace(self.settings.ui.preview_fps)
            if self.engine.renderer().worker_pid is None:
                # Not started by the warm-up (no local server): its start (~0.2 s of
                # CPU) while the prompt is read, not at the first preview, mid-answer,
                # where every CPU slice it takes is one the model waits for.
                self.run_worker(self.engine.start_renderer, thread=True, group="renderer",
                                exit_on_error=False, name="start the SVG renderer")  # fmt: skip
            self._last_preview[update.slot] = (time.monotonic(), 0, None)
            self._start_clock()
            self._on_resize_layout()
            self._streaming[update.slot] = update.spec.side.key
            self._silent_side.pop(update.slot, None)
            self._update_side_notes()
        elif isinstance(update, updates.RunEnded):
            self._streaming.pop(update.slot, None)
            self._silent_side.pop(update.slot, None)
            if self._silent_server.pop(update.slot, None) is not None:
                self.query_one(StatusBar).set_server_silent(None)
            result = update.result
            pane = self.pane(update.slot)
            # A cancelled run whose SVG was whole has its picture too (its note says so).
            if result.outcome != "cancelled" or result.svg_found:
                note = picture_note(
                    result.outcome, result.svg_found, result.svg_note, result.picture_facts
                )
                pane.picture.set_png(result.png, note)
            elif pane.picture.picture_size is None:  # the last preview stays; with none,
                pane.picture.set_png(None, "cancelled before a picture")  # not "waiting…"
            if result.outcome == "cancelled":
                pane.feed(Failed("cancelled", cancelled=True))
            pane.end(result.outcome, result.warning(), thinking=result.numbers_thinking())
            self._follow_pictures()  # the final picture (the clock may have stopped)
            self._on_resize_layout()
            if result.spec.side.can_check:  # a run that could not reach it says it is gone
                self._show_side_status(result.spec.side)
            for slot in SLOTS:  # what the run found of its switch ("ignored by the server")
                if self._side(slot) is result.spec.side and self.pane(slot).state != "running":
                    self._describe_pane(slot)
            self._update_side_notes()
        elif isinstance(update, updates.RunQueued):
            pane = self.pane(update.slot)
            pane.queue(update.reason)
            pane.picture.set_png(None, "waiting to start…")  # not the last run's
            self._start_clock()
            self._on_resize_layout()
        elif isinstance(update, updates.SessionStarted):
            if update.session_id != self.session_id:
                self.pane_runs = {}  # the other pane's run is of another session: no pair
            self.session_id = update.session_id
        elif isinstance(update, updates.RunRefused):
            self._count_run(update.slot)  # not run: as good as done, for "running N/M"
            side = self._side(update.slot)
            if side is not None and side.server is not None:
                hint = " — press R to restart the server, l for its log"
            else:
                hint = f" — {update.hint}" if update.hint else ""
            if side is not None and side.can_check:
                self._describe_pane(update.slot, self.pane(update.slot).choice)
                self._show_side_status(side)
            pane = self.pane(update.slot)
            # Its last run's numbers and answer go: under "Not run", they read as this one's.
            pane.begin()
            pane.picture.set_png(None, "not run")
            pane.end("not run")
            pane.show_problem(f"Not run: {update.reason}{hint}")
            self._on_resize_layout()  # at 80 columns the other pane's border says its state
        elif isinstance(update, updates.RefusalRecorded):  # its stored row: a failed run
            self.pane_runs[update.slot] = update.run_id
        elif isinstance(update, updates.SameRequest):  # on vs off on a model without a switch
            self.notify(update.note, title="Thinking", severity="warning", timeout=10)
        elif isinstance(update, updates.StoreProblem):
            self._store_failed = self._store_failed or not update.saved
            kept = f". {_KEPT_UNSAVED}" if self.engine.unsaved_runs else ""
            self.notify(
                self.toast_lines(update.message + kept),
                title="Sessions",
                severity="warning",
                timeout=15,
            )

    def _maybe_preview(self, pane: ModelPane, update: RunProgress) -> None:
        """Draw the SVG being written, at most ``ui.preview_fps`` times a second and
        less often when previews cost more (:class:`~.widgets.picture.PreviewPace`).

        Called for every answer token: the answer is read (its pieces joined) only
        when a preview is due."""
        if self._blind_of is not None:
            return  # the panes are hidden: no preview to draw
        slot, acc = update.slot, update.acc
        if slot in self._previewing:
            return
        _, last_version, last_svg = self._last_preview.get(slot, (0.0, 0, None))
        version = acc.answer_version
        if version == last_version:
            return
        now = time.monotonic()
        pace = pane.picture.pace
        if not pace.due(now):
            return
        pace.started(now)
        from pelican_tui.backends.engine.run import preview_svg  # loaded by then

        svg = preview_svg(acc.answer_text)
        self._last_preview[slot] = (now, version, svg if svg is not None else last_svg)
        if svg is None or svg == last_svg:  # only new markup is drawn
            return
        self._previewing.add(slot)
        self.run_worker(
            self._preview(slot, svg, self._pane_run.get(slot)),
            group=f"preview-{slot}",
            exit_on_error=False,
            name="preview",
        )

    async def _preview(self, slot: Slot, svg: str, owner: int | None) -> None:
        """Render a closed-up partial SVG at the picture's size on screen, and show it
        at the pane's next redraw if the run is still the pane's. Half-cell and
        Unicode pictures show about one pixel per column, so those are drawn at 2 px
        per column. The pace counts the render (the drawing, at the redraw, costs
        the cells that changed). Drawn in the shape of the run's stored picture
        (:data:`~pelican_tui.backends.engine.run.PNG_SIZE`, letterboxed the same way),
        so the final picture takes the previews' cells: no jump in size at the end,
        and no layout of the screen (~10-25 ms) to make it."""
        from pelican_tui.backends.engine.run import PNG_SIZE
        from pelican_tui.widgets.picture import cell_pixels

        try:
            pane = self.pane(slot)
            picture = pane.picture
            if picture.drawn_with in ("halfcell", "unicode"):
                width = max(120, min(PNG_SIZE[0], picture.size.width * 2))
            else:
                width = max(240, min(PNG_SIZE[0], picture.size.width * cell_pixels()[0]))
            renderer = self.engine.renderer()
            pace, started = picture.pace, time.monotonic()
            running = renderer.worker_pid is not None  # else its start is not a preview's cost
            with contextlib.suppress(Exception):  # a preview is optional
                result = await renderer.render(svg, width, width * PNG_SIZE[1] // PNG_SIZE[0])
                mine = pane.state == "running" and self._pane_run.get(slot) == owner
                if result.ok and result.png is not None and mine:
                    pane.stage_preview(result.png)
            pace.drawn(started, time.monotonic() - started if running else 0.0)
        finally:
            self._previewing.discard(slot)

    def on_sessions_screen_deleted(self, message: Any) -> None:
        """A session was deleted in the browser (:meth:`forget_deleted_session`)."""
        self.forget_deleted_session(message.session_id)

    def forget_deleted_session(self, deleted: int) -> None:
        """The session ``deleted`` was deleted (in the browser, or from outside); if it is
        the session on screen, the next run starts a new one (it joined the deleted
        session and was lost; ``s`` said it was saved). Panes that show its runs say
        they are deleted: their titles no longer claim they are stored."""
        if deleted == self.session_id:
            for slot in self.pane_runs:
                if slot not in self._stored_shown:  # a run of this app's, titled as it ran
                    pane = self.pane(slot)
                    label = (pane.border_title or "").removeprefix(f"{pane.number} ")
                    self._describe_stored(slot, deleted, label, "", deleted=True)
            self.session_id = None
            self.pane_runs = {}
            self._deleted_on_screen = deleted
        for slot, (session_id, label, how, _) in list(self._stored_shown.items()):
            if session_id == deleted:
                self._describe_stored(slot, session_id, label, how, deleted=True)

    def _describe_stored(
        self,
        slot: Slot,
        session_id: int,
        label: str,
        how: str,
        *,
        deleted: bool = False,
        next_run: str | None = None,
    ) -> None:
        """Title a pane for the run of an opened session it shows (``label``: as the
        gallery names it; ``how``: how it ended, "" for finished); ``deleted``: the
        session was deleted since, and the pane's run is stored no more; ``next_run``:
        the pane's next run in words, where a key changed it since the session opened."""
        pane = self.pane(slot)
        session = f"session #{session_id} deleted" if deleted else f"session #{session_id}"
        kept = "deleted run" if deleted else "stored run"
        then = f"next: {next_run}" if next_run else "r runs the panes as set now"
        pane.describe(
            f"{pane.number} {label} ({session})", " · ".join(filter(None, (kept, how, then)))
        )
        self._stored_shown[slot] = (session_id, label, how, deleted)

    def action_cancel(self) -> None:
        if not self._cancel_comparisons():
            self.notify("Nothing is running.", timeout=3)

    def _live_runs(self, slots: Iterable[Slot]) -> tuple[list[Slot], list[Slot]]:
        """Of ``slots``, the panes whose run has started, and those whose run waits
        for its turn (as the engine has them, before a cancel)."""
        live = [slot for slot in slots if self.engine.running(slot)]
        waiting = [slot for slot in live if self.engine.waiting(slot)]
        return [slot for slot in live if slot not in waiting], waiting

    def _say_superseded(
        self, started: list[Slot], waiting: list[Slot], *, whole: bool = False
    ) -> None:
        """A run key pressed while runs were going starts over: say so, and where the
        cut runs are (a stray key must not throw work away unseen). A run that only
        waited for its turn never started: nothing of it is kept. ``whole``: the
        comparison was cancelled, not one pane's run."""
        if whole and not waiting and len(started) > 1:
            said = ["The comparison in flight was cancelled and kept as cancelled"]
        else:
            said = _cut_runs(started, waiting)
        if not said:  # between the runs of a batch, or before its first began
            said.append("The comparison in flight was cancelled before its next run began")
        if stops := self._batch_stops():
            said.append(stops)
        text = "; ".join(said)
        self.notify(f"{text[0].upper()}{text[1:]}; running again.", timeout=6)

    def _batch_stops(self) -> str | None:
        """Where a batch in progress stops if its comparison is cancelled now, in words
        ("the prompt set animals stops at pelican 1/2, 1 session after it not run");
        None when no batch has sessions left to run."""
        step = self._step
        if not (self._in_progress and step is not None and step.number < step.steps):
            return None
        batch = f"prompt set {step.set_name} stops" if step.set_name else "samples stop"
        after = plural(step.steps - step.number, "session")
        return f"the {batch} at {step.label}, {after} after it not run"

    def _cancel_comparisons(self) -> bool:
        """Stop every comparison: those running, waiting their turn, or not begun (``r``
        pressed again before the last one started). Returns whether there was one."""
        pending = [
            worker
            for worker in self.workers
            if worker.group.startswith("comparison-")
            and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
        ]
        for worker in pending:
            worker.cancel()
        return self.engine.cancel() or bool(pending)

    # -- prompt -----------------------------------------------------------------------

    def action_edit_prompt(self) -> None:
        prompt = self.query_one("#prompt", PromptBox)
        if prompt.running:
            self.notify("The prompt box shows the set's prompt while the set runs; "
                        "yours is back when it ends (c cancels the set).", timeout=4)  # fmt: skip
            return
        self.set_focus(prompt)  # now, not after the keys already typed (focus() waits)
        prompt.cursor_position = len(prompt.value)

    def on_input_submitted(self, event: PromptBox.Submitted) -> None:
        if event.input.id == "prompt":
            self.set_focus(None)
            self.action_run_both()

    # -- toggles -------------------------------------------------------------------------

    def action_toggle_thinking(self, which: str = "active") -> None:
        """Thinking on/off for the next run of a pane (no restart): ``t`` the active
        pane, ``T`` the other one; a pane whose backend has no switch says so."""
        slot = self.active if which == "active" else self._other(self.active)
        side = self._side(slot)
        number = self.pane(slot).number
        if side is None or not side.backend.capabilities.supports_thinking:
            self.notify(f"Pane {number}'s model has no thinking switch.", timeout=4)
            return
        no_off = side.no_off_note()
        if no_off is not None and self.choices[slot].thinking:  # off would run its lowest level
            keys = {row.id: row.keys for row in self.key_rows()}
            self.notify(f"{no_off} ({keys.get('cycle_effort', 'e')} steps the level).", timeout=5)
            return
        self._choose(slot, replace(self.choices[slot], thinking=not self.choices[slot].thinking))
        state = on_off(self.choices[slot].thinking)
        unknown = (  # sent as a switch; whether the model has one is asked before the run
            " (sent as asked: llama-server has not said whether its model has a switch)"
            if side.thinking_switch_unknown()
            else ""
        )
        if (ignored := side.ignored_switch_note(self.choices[slot])) is not None:
            unknown = f": {ignored}"
        self.notify(f"Thinking {state} in pane {number} ({side.label}), from the next run"
                    f"{unknown}.", timeout=3 if not unknown else 6)  # fmt: skip

    def action_cycle_effort(self) -> None:
        """The next of its backend's effort levels for every pane that has them and whose
        thinking is on; a pane with thinking off is left as it is, and said so (its
        runs send no effort). The note names each pane it changed, as ``t`` does."""
        said, changed = [], []
        for number, slot in enumerate(SLOTS, 1):
            side = self._side(slot)
            if side is None or not side.backend.capabilities.supports_effort:
                continue
            levels = side.backend.capabilities.efforts
            if not levels:  # its levels are the model's own words ("fast"), none an effort
                said.append(f"Pane {number}'s model has no effort levels pelican-tui can set")
                continue
            choice = self.choices[slot]
            lowest = side.lowest_thinking()
            if not choice.thinking and lowest is not None:  # it runs at its lowest level
                choice = replace(choice, thinking=True, effort=lowest)
            if not choice.thinking:
                keys = {row.id: row.keys for row in self.key_rows()}
                which = "toggle_thinking" if slot == self.active else "toggle_other_thinking"
                key = keys.get(which, "t")
                said.append(f"Pane {number} ({side.label}) has thinking off: effort applies "
                            f"only with thinking on ({key} turns it on)")  # fmt: skip
                continue
            current = side.effort(choice)
            after = levels.index(current) + 1 if current in levels else 0
            effort = levels[after % len(levels)]
            self._choose(slot, replace(choice, effort=effort))
            changed.append(f"{effort} in pane {number} ({side.label})")
        if changed:
            said.insert(0, f"Effort {', '.join(changed)}, from the next run")
        self.notify("; ".join(said) or "No pane's backend has effort levels.", timeout=3)

    def action_cycle_backend(self) -> None:
        """Switch the active pane to the next of the engine's choices, at the thinking
        level last chosen for that side in this pane (:attr:`_levels`)."""
        slot = self.active
        current = self.choices[slot]
        choices = self.engine.choices()
        same = [i for i, c in enumerate(choices) if c.side == current.side]
        exact = [i for i in same if choices[i].thinking == current.thinking]
        index = (exact or same or [-1])[0]
        new = choices[(index + 1) % len(choices)]
        if (level := self._levels.get((slot, new.side))) is not None:
            new = replace(new, effort=level)
        pane = self.pane(slot)
        titled = self._choose(slot, new)
        problem = self._problem_line(new)
        # Over a run's results their own line (a failure) stays, unless there is one to say.
        own_line = pane.state != "not run" and not pane.problem.endswith(_UNAVAILABLE_HINT)
        if pane.state != "running" and (problem or pane.state == "idle" or not own_line):
            pane.show_problem(problem)
        if not titled:  # its title is the run it shows: a notice says what comes next
            words = self.engine.next_run_words(new)
            self.notify(f"Pane {pane.number}: {words}, from the next run.", timeout=3)
        side = self.engine.side(new.side)
        if side is not None and side.can_check:
            self.check_side(side)

    def action_switch_pane(self) -> None:
        self.pane(self.active).remove_class("-active")
        self.active = self._other(self.active)
        self.pane(self.active).add_class("-active")
        self._on_resize_layout()

    # -- save, export ------------------------------------------------------------------

    def _nothing_stored(self, what: str) -> str:
        """Why there is no session to ``what`` ("save", "export"): none ran yet, the one
        shown was deleted in the browser, the store failed (for the comparison running
        too), or the comparison has not begun its session yet."""
        if self._deleted_on_screen is not None:
            number = self._deleted_on_screen
            return f"Session #{number} was deleted: nothing to {what} until the next run (r)."
        running = any(self.pane(slot).state == "running" for slot in SLOTS)
        if self._store_failed and running:  # not "run a comparison first" under a live one
            return "This comparison is not being saved: the session store failed (see its notice)."
        if any(self.pane(slot).state in ("finished", "failed", "cancelled") for slot in SLOTS):
            return "This comparison was not saved: the session store failed (see its notice)."
        if self.comparing:  # waiting for the model to load, or for its turn
            return f"Nothing to {what} yet: the comparison's session begins with its runs."
        return f"Nothing to {what} yet: run a comparison first (r)."

    async def action_quit(self) -> None:
        """Quit; on the main screen during a run, with runs the session store could not
        save (a full disk), or with blind pairs not voted on, say so first, all in one
        notice: the run was stopped, those runs lost, and the vote never asked for, at
        quit without a word. The next q quits (it took a third, or more, while a run went
        on beside runs not saved or pairs waiting: each was asked about on its own)."""
        main = bool(self.screen_stack) and self.screen is self.screen_stack[0]
        running = main and self.comparing
        unsaved = self._engine.unsaved_runs if self._engine is not None else 0
        waiting = len(self.pending_pairs)
        new_run = running and self._quit_running_said != self._comparisons
        new_unsaved = bool(unsaved) and unsaved != self._quit_unsaved_said
        new_pairs = bool(waiting) and not self._quit_asked
        if not (new_run or new_unsaved or new_pairs):
            self.exit()
            return
        if running:
            self._quit_running_said = self._comparisons
        self._quit_unsaved_said = unsaved
        self._quit_asked = True  # with the pairs this run makes: the next q quits
        keys = {row.id: row.keys for row in self.key_rows()}
        quit_key, save_key = keys.get("quit", "q"), keys.get("save", "s")
        pairs = kept_words = ""
        if waiting:
            votes = " ".join(self._vote_keys().values())
            have = "The blind pair has" if waiting == 1 else f"{waiting} blind pairs have"
            kept = "it is" if waiting == 1 else "they are"
            pairs = f"{have} no vote yet: vote with {votes}"
            kept_words = f"{kept} kept, and offered again at the next start."
        if not unsaved and not running:
            self.notify(f"{pairs} or press {quit_key} again to quit; {kept_words}",
                        title="Blind", severity="warning", timeout=10)  # fmt: skip
            return
        after = f" {pairs}; {kept_words}" if pairs else ""
        if not unsaved:
            self.notify(
                f"A run is in progress: {quit_key} again quits and keeps it as cancelled.{after}",
                title="Quit",
                severity="warning",
                timeout=10,
            )
            return
        lost = f"{plural(unsaved, 'run')} not saved: the session store failed."
        if running:
            said = (f"A run is in progress, and {lost} {save_key} tries again; {quit_key} "
                    "again stops the run and quits without them.")  # fmt: skip
        else:
            said = f"{lost} {save_key} tries again; {quit_key} again quits without them."
        self.notify(said + after, title="Sessions", severity="error", timeout=15)

    async def action_save(self) -> None:
        if self.session_id is None:
            self.notify(self._nothing_stored("save"), timeout=6)
            return
        try:
            await self.engine.checkpoint()
        except Exception as error:  # a full disk still full: what it keeps is tried again
            self.notify(
                f"Some runs are not saved: {error}. {_KEPT_UNSAVED}",
                title="Sessions",
                severity="warning",
                timeout=12,
            )
            return
        self.notify(f"Session #{self.session_id} saved in {locations.sessions_db()}", timeout=4)

    @work(exclusive=True, group="export", exit_on_error=False, name="export session")
    async def action_export(self, session_id: int | None = None) -> None:
        if self.blind_hidden:  # its run card and page name the models
            self.notify("Export waits until you vote: it names the models (blind mode); "
                        "B leaves blind mode.", timeout=4)  # fmt: skip
            return
        session_id = session_id or self.session_id
        if session_id is None:
            self.notify(
                f"{self._nothing_stored('export')} The sessions list (o) exports saved ones."
            )
            return
        from pelican_tui.backends.export import (
            ExportError,
            export_folder_for,
            export_session,
            worker_renderer,
        )

        store = await self.open_store()
        session = await asyncio.to_thread(store.get_session, session_id)
        # Beside another session's export with its id (a store made anew), not over it.
        out = await asyncio.to_thread(export_folder_for, locations.exports_dir(), session)
        # The same renderer as `run` and `sessions export`: a picture that can't
        # be drawn says why, here and in the exported page.
        renderer = worker_renderer(self.engine.renderer())
        try:
            result = await asyncio.to_thread(export_session, session, out, renderer)
        except (ExportError, OSError) as error:  # a full disk, a folder that cannot be made
            self.notify(
                f"Session #{session_id} was not exported: {error}",
                title="Export",
                severity="error",
                timeout=15,
            )
            return
        # The path on lines of its own, broken after a "/".
        path = fold_path(str(out), self.toast_width)
        self.notify(
            "\n".join([f"Exported {len(result.files)} files to", path, *result.notes]),
            title="Export",
            severity="warning" if result.notes else "information",
            timeout=12 if result.notes else 8,
        )

    # -- other screens ---------------------------------------------------------------------

    def _say_keymap_problems(self, keymap: dict[str, str]) -> None:
        if problems := keymap_problems(keymap):
            # The key that opens it now (it said "(?)" after help = "q" took help from ?).
            keys = {row.id: row.keys for row in self.key_rows()}.get("help", "")
            key = keys.split(" / ")[0]
            help_line = [f"The help screen ({key}) lists every key and its id."] if key else []
            self.notify(
                "\n".join([*problems, *help_line]),
                title="Keys",
                severity="warning",
                timeout=15,
            )

    def key_rows(self) -> list[KeyRow]:
        """Every main-screen key as the user has it (after ``ui.keymap``), in binding order."""
        from textual.binding import BindingsMap

        bindings = BindingsMap(self.BINDINGS)
        if self._keymap:
            bindings.apply_keymap(self._keymap)
        keys: dict[str, list[Binding]] = {}
        for _key, binding in bindings:
            keys.setdefault(binding.id or binding.action, []).append(binding)
        rows = []
        for original in Binding.make_bindings(self.BINDINGS):
            group = keys.pop(original.id or original.action, None)
            if group:
                shown = " / ".join(dict.fromkeys(self.get_key_display(b) for b in group))
                rows.append(KeyRow(shown, original.description, original.action, original.id))
        return rows

    def screen_key_rows(self, screen: Screen[Any]) -> list[tuple[str, str, str]]:
        """The keys that work on ``screen`` now, as the user has them (after
        ``ui.keymap``), one row a binding id: the screen's own, its widgets' (the sessions
        list's), then the app's that work over it (help, quit), each in binding order.
        Textual's own (a table's cursor, scrolling) have no id and are left out, as on the
        main screen."""
        active: dict[tuple[int, str], list[Binding]] = {}
        nodes: dict[int, DOMNode] = {}
        for node, binding, _enabled, _tooltip in screen.active_bindings.values():
            if binding.id:
                active.setdefault((id(node), binding.id), []).append(binding)
                nodes[id(node)] = node
        ranked = sorted(nodes.values(), key=lambda n: 0 if n is screen else 2 if n is self else 1)
        rows = []
        for node in ranked:
            ids = [b.id for b in Binding.make_bindings(type(node).BINDINGS)]
            ids += [binding_id for owner, binding_id in active if owner == id(node)]
            for binding_id in dict.fromkeys(ids):
                group = active.pop((id(node), binding_id or ""), None)
                if group:
                    shown = " / ".join(dict.fromkeys(self.get_key_display(b) for b in group))
                    rows.append((shown, group[0].description, binding_id or ""))
        return rows

    def action_help(self) -> None:
        from textual.binding import BindingsMap

        from pelican_tui.screens.help_screen import HelpScreen

        screen = self.screen
        if self.screen_stack and screen is not self.screen_stack[0]:
            # Over the gallery, ? listed the main screen's keys ("b Pane backend", "f
            # Picture"), none of which works there, and not the gallery's (b Blind, f Filter).
            # Headed with the screen's title, in the words of the keys that open it: its
            # class name said "Keys · Text" over the answer.
            title = f"Keys · {screen.title}" if screen.title else "Keys"
            self.push_screen(HelpScreen(self.screen_key_rows(screen), title))
            return
        rows = [(row.keys, row.description, row.id or "") for row in self.key_rows()]
        # The prompt box's own, while editing, after ui.keymap, one row a key: ↓ has its
        # own id (the footer shows it with ↑ as "↑↓").
        prompt_keys = BindingsMap(PromptBox.BINDINGS)
        if self._keymap:
            prompt_keys.apply_keymap(self._keymap)
        for binding in Binding.make_bindings(PromptBox.BINDINGS):
            keys = [b for _key, b in prompt_keys if b.id == binding.id]
            shown = " / ".join(self.get_key_display(replace(b, key_display=None)) for b in keys)
            where = f"{binding.description} (in the prompt box, p)"
            rows.append((shown, where, binding.id or ""))
        palette = Binding(self.COMMAND_PALETTE_BINDING, "command_palette")
        rows.append((self.get_key_display(palette), "Command palette (every action)", ""))
        quit_key = self.get_key_display(Binding("ctrl+q", "quit"))
        if not any(row[2] == "quit" and row[0] == quit_key for row in rows):  # the keymap's
            rows.append((quit_key, "Quit", ""))
        self.push_screen(HelpScreen(rows))

    def action_view_answer(self) -> None:
        if self.hidden_now("The answer"):
            return
        from pelican_tui.screens.text_screen import TextScreen

        pane = self.pane(self.active)
        text = pane.answer_text
        if pane.thinking_text:
            text = f"--- thinking ---\n{pane.thinking_text}\n\n--- answer ---\n{text}"
        title = f"{pane.border_title or self.active}{_so_far(pane)}"
        self.push_screen(TextScreen(title, text))

    def action_fullscreen(self) -> None:
        from pelican_tui.screens.picture_screen import Picture, PictureScreen

        if self.pending_pairs:  # blind: A and B, as on the main screen, nothing more
            pair = self.pending_pairs[0]
            shown = [Picture("A", pair.a.png, pair.a.facts, pair.a.note),
                     Picture("B", pair.b.png, pair.b.facts, pair.b.note)]  # fmt: skip
            self.push_screen(PictureScreen(shown, mode=self.image_mode))
            return
        if self.hidden_now("The picture"):
            return
        screen = PictureScreen(self._pane_pictures(), mode=self.image_mode)
        self._panes_full_screen = screen
        self.push_screen(screen)

    def _pane_pictures(self) -> list[Picture]:
        """Each pane's picture as it is now, for the pictures full screen (``f``)."""
        from pelican_tui.screens.picture_screen import Picture

        pictures = []
        for slot in SLOTS:
            pane = self.pane(slot)
            picture = pane.picture  # its note: why there is none, in its place
            title = pane.border_title or slot
            running = " · still running" if pane.state == "running" else ""  # it follows
            caption = f"{pane.stats_line()}{running}"
            pictures.append(Picture(title, picture.png, caption, picture.note))
        return pictures

    def _follow_pictures(self) -> None:
        """The panes' pictures full screen (``f``), while it is open, shows what the
        panes show now: opened while a run streamed, it kept the picture of that moment
        (often "waiting for an SVG…") while the pane drew its previews, then the final
        picture. Not in blind mode while the pictures are hidden."""
        screen = self._panes_full_screen
        if screen is None:
            return
        if screen not in self.screen_stack:
            self._panes_full_screen = None
        elif not self.blind_hidden:
            screen.show_pictures(self._pane_pictures())

    def action_server_log(self) -> None:
        if self.hidden_now("The server log"):
            return
        from pelican_tui.screens.log_screen import LogScreen

        server = self.server
        if server is None:
            self.notify("No llama-server is managed by pelican-tui (attached or unavailable).")
            return
        self.push_screen(LogScreen(server.log, server.subscribe_log, memory=self.memory))

    @work(exclusive=False, group="check", exit_on_error=False, name="check a server")
    async def check_side(self, side: Side) -> None:
        """Contact a server someone else runs; panes on it show what answers, or why not."""
        status = await side.check()
        if side is self.engine.local and not status.ready:
            hint = f"\n{status.hint}" if status.hint else ""
            self.notify(f"{status.message}{hint}", title="Attached server", severity="error")
        self._show_check(side, status)

    def _recheck_lost_servers_now(self) -> None:
        """Every :data:`RECHECK_S`: a worker asks the servers someone else runs again,
        and one that has not said whether its model has a thinking switch, only when a
        pane is on one (the timer itself costs nothing then)."""
        if not self._rechecking and any(
            s.can_check or s.thinking_switch_unknown() for s in self._sides_in_panes()
        ):
            self._recheck_lost_servers()

    @work(exclusive=False, group="recheck", exit_on_error=False, name="check a lost server")
    async def _recheck_lost_servers(self) -> None:
        """Ask each server someone else runs again, quietly, while no pane of it runs: one
        last found not reachable is checked in full, and once it answers the status bar
        and its panes say so; one last found ready is asked one small question
        (:meth:`~.sides.Side.still_there`), and once it is gone they say that. One that
        has not said whether its model has a thinking switch is asked that again, and
        once it says, its panes' headers follow."""
        if self._rechecking:
            return  # the last one still waits for an answer
        self._rechecking = True
        try:
            for side in self._sides_in_panes():
                running = any(
                    self._side(slot) is side and self.pane(slot).state == "running"
                    for slot in SLOTS
                )
                if running:
                    continue
                if side.thinking_switch_unknown():
                    await side.ask_thinking_switch()
                    if not side.thinking_switch_unknown():  # it said: its panes follow
                        for slot in SLOTS:
                            if self._side(slot) is side and self.pane(slot).state != "running":
                                self._describe_pane(slot)
                if not side.can_check:
                    continue
                if side.unreachable():
                    status = await side.check()
                    if not side.unreachable():
                        self._show_check(side, status)
                elif (lost := await side.still_there()) is not None:
                    self._show_check(side, lost)
        finally:
            self._rechecking = False

    def _show_side_status(self, side: Side) -> None:
        """The status bar's word on a server someone else runs, as last contacted."""
        if side is not self.engine.local:
            self._update_side_notes()
            return
        note = self.engine.local.server_note() if self.engine.local else None
        if note is not None:
            note = self._silence(side.key) or note  # a run on it sends nothing: said first
            self.query_one(StatusBar).set_server_note(f"local: {note}")
            self.show_activity()  # the terminal's title says it too

    def _say_server_going(self, going: str | None) -> None:
        """The app's own llama-server is about to start or restart (``going``; None: it
        says itself what it does): the status bar and the terminal's title say so."""
        self._server_going = going
        with contextlib.suppress(NoMatches):  # a report that arrives while the app closes
            self.query_one(StatusBar).set_server_going(going)
        self.show_activity()

    def _idle_words(self) -> str:
        """The title's word while nothing runs: what the local side says (its server
        "loading model"), else what the app asked of its own stopped server
        ("starting", "restarting"), else "starting" until the app has read the model's
        header and started its server, else "server stopped" while its own server is
        stopped with nothing asked of it (new server settings that failed part-way), as
        the status bar's "server: stopped", else "ready"."""
        local = self._engine.local if self._engine is not None else None
        if note := local.not_ready_note() if local is not None else None:
            return note
        if self._server_going is not None:
            return self._server_going
        if self.start_server and not self.local_known:
            return "starting"
        server = self.server if self.start_server and self._engine is not None else None
        if server is not None and server.status.state in _STILL_STOPPED:
            return f"server {server.status.state.value}"
        return "ready"

    def _show_check(self, side: Side, status: BackendStatus) -> None:
        """After a server check: panes on ``side`` show its name, or why it cannot run."""
        self._show_side_status(side)
        for slot in SLOTS:
            if self._side(slot) is side:
                if status.ready and self.pane(slot).state == "not run":
                    self.pane(slot).forget_run()  # "not run" was the unreachable server's state
                self._describe_pane(slot)
                if self.pane(slot).state != "running":
                    self.pane(slot).show_problem(
                        None if status.ready else f"{status.message} — press R to check again"
                    )

    @work(exclusive=True, group="server", exit_on_error=False, name="restart llama-server")
    async def action_restart_server(self) -> None:
        """Restart the owned llama-server; servers someone else runs are checked again."""
        # The engine stops a server started on a side it replaces when it reads the header.
        await self.engine.read_local_header()
        for side in self._sides_in_panes():
            if side.can_check:
                self.check_side(side)
        server = self.server
        if server is None:
            if not any(side.can_check for side in self._sides_in_panes()):
                self.notify("No llama-server to restart (see S for server settings).")
            return
        on_it = [s for s in SLOTS if (pane_side := self._side(s)) and pane_side.server is server]
        started, waiting = self._live_runs(on_it)
        if (started or waiting) and self._restart_running_said != self._comparisons:
            self._restart_running_said = self._comparisons  # R again restarts
            key = {row.id: row.keys for row in self.key_rows()}.get("restart_server", "R")
            self.notify(f"A run is in progress on llama-server: {key} again restarts it "
                        "and keeps the run as cancelled.", title="Restart",
                        severity="warning", timeout=10)  # fmt: skip
            return
        for slot in on_it:
            self.engine.cancel(slot)
        if cut := "; ".join(_cut_runs(started, waiting)):
            self.notify(f"Restarting llama-server… {cut[0].upper()}{cut[1:]}.", timeout=6)
        else:
            self.notify("Restarting llama-server…", timeout=3)
        self._say_server_going("restarting")
        try:
            await self.engine.restart_server(server)  # a run begun meanwhile waits for it
        except ServerStartError as error:
            self._say_server_going(None)
            self.notify(first_line(str(error)), title="llama-server", severity="error")
            return
        await self.engine.learn_from_local_server()
        self._describe_panes(runs_kept=True)
        for slot in SLOTS:
            if (pane_side := self._side(slot)) is not None and pane_side.server is server:
                self.pane(slot).show_problem(None)

    def action_server_settings(self) -> None:
        from pelican_tui.screens.server_settings_screen import ServerSettingsScreen

        def apply(new: LocalSettings | None) -> None:
            if new is not None:
                self.apply_local_settings(new)

        self.push_screen(ServerSettingsScreen(self.settings.local), apply)

    @work(exclusive=True, group="server", exit_on_error=False, name="apply server settings")
    async def apply_local_settings(self, new: LocalSettings) -> None:
        # Every side is rebuilt: runs on Claude stop too, which the user must be told.
        # A batch stops with them, wherever it is: its next session, started between
        # its runs, ran on the server being stopped (or stopped the set without a word).
        started, waiting = self._live_runs(SLOTS)
        stops = self._batch_stops()
        self._cancel_comparisons()
        if said := _cut_runs(started, waiting) + ([stops] if stops else []):
            self.notify(f"Applying the server settings: {'; '.join(said)}.", timeout=8)

        def say(line: str) -> None:  # set-up progress (a build, a download) from a thread
            self.call_from_thread(self.query_one(StatusBar).set_server_note, line[:60])

        # The title says "restarting" while the server stops, as for R (it said "ready").
        restarting = self.server is not None
        self._say_server_going("restarting" if restarting else None)
        try:
            await self.engine.reconfigure_local(new, say)
        except BaseException:  # said by the worker's failure notice
            self._say_server_going(None)
            raise
        self.settings = self.engine.settings
        self._describe_panes(runs_kept=True)
        self._after_local_change(going="restarting" if restarting else "starting")

    def action_sessions(self) -> None:
        if self.hidden_now("The sessions list"):
            return
        from pelican_tui.screens.sessions_screen import SessionAction, SessionsScreen

        def chosen(action: SessionAction | None) -> None:
            if action is None:
                return
            if action.kind == "export":
                self.action_export(int(action.session_id))
            else:
                self.load_session(int(action.session_id), rerun=action.kind == "rerun")

        self.push_screen(SessionsScreen(locations.sessions_db(), say=self.say_store_words), chosen)

    @work(exclusive=True, group="load", exit_on_error=False, name="open session")
    async def load_session(self, session_id: int, rerun: bool = False) -> None:
        from pelican_tui.backends.engine.record import finished_from_record
        from pelican_tui.backends.events import LiveStats
        from pelican_tui.backends.export.facts import UNFINISHED_WORDS
        from pelican_tui.backends.ratings.configuration import numbers_thinking, run_label
        from pelican_tui.backends.store.records import recorded_number, recorded_numbers

        store = await self.open_store()
        session = await asyncio.to_thread(store.get_session, session_id)
        self.query_one("#prompt", PromptBox).show_prompt(session.prompt)
        self.prompt = session.prompt
        if rerun:
            self.action_run_both()
            return
        # The runs' ceilings (below) need the local model's header, read after the first
        # frame: a session opened before then is not measured again when it is read.
        await self.engine.read_local_header()
        # Runs in flight go on unseen, saved in their own session: drawn here, they
        # ended on top of the opened session's runs, and a vote went to the wrong one.
        in_flight = self.session_id if any(self.engine.running(s) for s in SLOTS) else None
        self.session_id = session.id
        self._deleted_on_screen = None
        self.pane_runs = {}
        for slot in SLOTS:
            runs = session.runs_in(slot)
            pane = self.pane(slot)
            live = self._pane_run.pop(slot, None) is not None and pane.state == "running"
            self._streaming.pop(slot, None)  # no comparison owns the pane now
            if not runs:
                if live:  # not left "running" with the opened session's other pane
                    pane.begin()
                    pane.picture.set_png(None, "no run in this session")
                    pane.end("idle")
                continue
            run = runs[-1]
            self.pane_runs[slot] = run.id
            pane.begin()
            pane.query_one("#thinking").set_text(run.thinking_text or "")  # type: ignore[attr-defined]
            pane.query_one("#answer").set_text(run.answer or "")  # type: ignore[attr-defined]
            pane.picture.set_png(
                run.png,
                picture_note(run.status, run.svg is not None, run.svg_note, run.picture_facts),
            )
            # Against the ceiling of the model it ran on, not the pane's next run's.
            pane.ceiling_tok_s = self.engine.stored_ceiling(run.model_info)
            if run.status == "finished":
                pane.feed(finished_from_record(run.timings, run.usage))
            else:  # the numbers as far as it got, as the pane showed them live
                tokens, rate, first = recorded_numbers(run.timings, run.usage)
                if tokens:
                    thought = recorded_number(run.usage.get("thinking_tokens"))
                    pane.feed(LiveStats(tokens, rate, int(thought or 0), first))
                if run.failure_reason:
                    pane.feed(Failed(run.failure_reason))
            # As it ran (the ratings' rule: a server may ignore the switch), not as the
            # pane is set now; named as the gallery and the leaderboard name it, and,
            # where it did not do as asked, as its numbers line says it (a model with no
            # thinking switch: by what it did alone, as it said live).
            status = run.status if run.status in ("finished", "failed", "cancelled") else "failed"
            arrived = bool(run.thinking_text or run.answer)
            reasoned = bool((run.thinking_text or "").strip())  # a run cancelled before the check
            pane.end(status, thinking=numbers_thinking(run.settings, arrived, reasoned=reasoned))
            how = UNFINISHED_WORDS.get(run.status, "") if run.status != "failed" else ""
            pane.choice = self.choices[slot]  # what r runs: a key that changes it says so
            self._describe_stored(slot, session.id, run_label(run), how)
        if in_flight is not None and in_flight != session.id:
            self.notify(
                f"Opened session #{session.id}. The comparison in flight goes on unseen, "
                f"saved as session #{in_flight} (o opens it).",
                timeout=8,
            )
            return
        self.notify(f"Opened session #{session.id}.", timeout=3)

    # -- shutdown -------------------------------------------------------------------------

    async def on_unmount(self) -> None:
        self._title.give_back()
        await self.shutdown_engine()

    async def shutdown_engine(self) -> None:
        if self._engine is not None:  # a quit before the first frame built nothing
            await self._engine.close()


def picture_note(
    status: str, svg_found: bool, svg_note: str | None, facts: Mapping[str, Any] | None = None
) -> str | None:
    """What a pane shows with (or in place of) a run's picture: the run's own note,
    but for a failed or cancelled run with no SVG, that it failed or was cancelled (the
    pane's problem line says why; "the answer is empty" said it as if the model had
    answered nothing, and a cancelled one said "no picture yet", as if one were still to
    come), and first, for a picture that draws nothing, that it is empty (the pane
    showed a blank box over "found 1 SVG", as if the picture had not been drawn)."""
    if status == "failed" and not svg_found:
        return "no picture: the run failed"
    if status == "cancelled" and not svg_found:
        return "no picture: the run was cancelled"
    if facts and facts.get("empty"):
        return "; ".join(filter(None, ["an empty picture: the SVG draws nothing", svg_note]))
    return svg_note


def _cut_runs(started: list[Slot], waiting: list[Slot]) -> list[str]:
    """What a cancel did to these panes' runs, a phrase each: kept, or never begun."""
    said = [f"the {slot} pane's run in flight was cancelled and kept as cancelled"
            for slot in started]  # fmt: skip
    return said + [f"the {slot} pane was waiting its turn and was cancelled" for slot in waiting]


def _so_far(pane: ModelPane) -> str:
    """Said after a running pane's title on a screen that shows its text as it was when
    it opened (``a``): it does not follow the run, which goes on."""
    return " · so far: still running" if pane.state == "running" else ""


_MAIN_ACTIONS = frozenset(
    [
        binding.action.partition("(")[0]
        for binding in PelicanApp.BINDINGS
        if isinstance(binding, Binding)
    ]
    + ["command_palette"]  # it offers the main screen's keys
)
"""The main screen's actions (``verdict``, not ``verdict('left')``), and the palette
of them: the ones :meth:`PelicanApp.check_action` keeps to the main screen."""
