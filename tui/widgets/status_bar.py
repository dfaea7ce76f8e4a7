"""The bottom status line: llama-server state, memory, CPU, the other sides' states, image mode."""

from __future__ import annotations

import time

from rich.cells import cell_len
from rich.text import Text

from pelican_tui.backends.llama.process import ServerState, ServerStatus, exit_words
from pelican_tui.backends.resources import ResourceSample, format_bytes
from pelican_tui.backends.text import LABEL_PARTS, shorten_parts
from pelican_tui.terminal_caps import choose_image_mode, detected_choice
from pelican_tui.widgets.kept_lines import KeptLines
from pelican_tui.widgets.text_line import changed_runs

_STATE_COLOUR = {
    ServerState.READY: "success",
    ServerState.CRASHED: "error",
    ServerState.STOPPED: "warning",
}
"""Server states drawn in a theme colour (a variable name of the current theme)."""

_NUMBERS = frozenset({"ram", "srv", "ui", "cpu", "swap"})
"""Segments that keep their widest width, so that a shorter number does not move the rest."""


class StatusBar(KeptLines):
    """One line; a new sample repaints only the cells whose characters or styles changed."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, image_mode: str) -> None:
        super().__init__()
        self.server: ServerStatus | None = None
        self.server_note = "local: starting"
        self.server_silent_s: float | None = None
        self.server_going: str | None = None
        """What the app asked of its own llama-server while it is still stopped or
        stopping ("starting", "restarting"): said instead of its state, as the title says it."""
        self.side_notes: tuple[tuple[str, bool], ...] = (("claude: -", False),)
        """Each side's note ("remote: ready", "claude: off"), a segment of its own, and
        whether a pane runs on it: that one is said before the memory figures."""
        self.sample: ResourceSample | None = None
        self.image_mode = image_mode
        detected = detected_choice()
        self.image_choice = (
            detected if detected.mode == image_mode else choose_image_mode(None, image_mode)
        )
        """Why pictures are drawn in ``image_mode`` (a fallback is said once, as a notification)."""
        self._cells: list[tuple[str, str]] = []
        """The cells shown: (character, style)."""
        self._drawn: list[tuple[str, str]] | None = None
        """The (text, style) parts :meth:`render` draws, laid out for :attr:`_drawn_width`."""
        self._drawn_width = 0
        self._widths: dict[str, int] = {}
        """The widest each number segment has been since the segments last changed."""
        self._keys: tuple[str, ...] = ()
        self._since = time.monotonic()
        self.blind = False
        """Blind mode before the vote: only what gives no model away (RAM, pictures)."""

    def set_server(self, status: ServerStatus) -> None:
        if self.server is None or self.server.state is not status.state:
            self._since = time.monotonic()
        self.server = status
        self._maybe_refresh()

    def set_server_silent(self, idle_s: float | None) -> None:
        """The server has sent a streaming run nothing for ``idle_s`` seconds (None: it
        sends again); said instead of "ready" (a stopped server looked ready)."""
        if idle_s != self.server_silent_s:
            self.server_silent_s = idle_s
            self._maybe_refresh()

    def set_server_going(self, going: str | None) -> None:
        """The app's own llama-server is about to start or restart (None: what it says)."""
        if going != self.server_going:
            self.server_going = going
            self._maybe_refresh()

    def set_server_note(self, note: str) -> None:
        self.server_note = note
        self._maybe_refresh()

    @property
    def claude_note(self) -> str:
        """The sides' notes as one line ("remote: ready · claude: off")."""
        return " · ".join(note for note, _ in self.side_notes)

    def set_sides(self, notes: list[tuple[str, bool]]) -> None:
        """The notes of the sides without a server process, each with whether a pane
        runs on it."""
        self.side_notes = tuple(notes)
        self._maybe_refresh()

    def set_blind(self, blind: bool) -> None:
        self.blind = blind
        self._maybe_refresh()

    def set_sample(self, sample: ResourceSample) -> None:
        self.sample = sample
        self._maybe_refresh()

    def _colour(self, name: str, bold: bool = False) -> str:
        """A style in the current theme's colour ``name`` (success, warning, error), as
        Rich reads it: an ANSI theme's (Textual's ansi-dark) is "ansi_yellow", a name
        Rich does not know (it stopped the app at its next frame), for Rich's "yellow"."""
        try:
            colour = self.app.theme_variables.get(name, "")
        except Exception:  # not mounted in an app yet
            colour = ""
        colour = colour.removeprefix("ansi_")
        return f"bold {colour}".strip() if bold else colour

    def _server_text(self) -> tuple[str, str]:
        status = self.server
        warning = self._colour("warning")
        if self.server_going is not None:  # "ready" or "stopped" of the server it replaces
            return f"server: {self.server_going}…", warning
        if status is None:
            return self.server_note, warning
        elapsed = f"{time.monotonic() - self._since:.0f}s"
        if status.state is ServerState.DOWNLOADING:
            done = ""
            if status.downloaded_bytes:
                done = f" {format_bytes(status.downloaded_bytes)}"
                if status.download_total:
                    done += f"/{format_bytes(status.download_total)}"
            if status.progress is not None:
                done = f" {status.progress:.0%}{done}"
            return f"server: downloading{done} {elapsed}", warning
        loading = status.state in (ServerState.LOADING, ServerState.STARTING)
        suspended = bool(self.sample and self.sample.server_suspended)
        # Stopped while it loads too: "loading… 41s" counted on as if it loaded.
        if suspended and (loading or status.state is ServerState.READY):
            return "server: suspended (kill -CONT resumes)", self._colour("error", bold=True)
        if loading:
            return f"server: loading… {elapsed}", warning
        if status.state is ServerState.CRASHED:
            end = status.exit_code
            how = f" ({exit_words(end).removeprefix('killed by ')})" if end is not None else ""
            return f"server: crashed{how}, R restarts", self._colour("error", bold=True)
        if status.state is ServerState.READY and self.server_silent_s is not None:
            return f"server: no data for {self.server_silent_s:.0f}s", warning
        colour = _STATE_COLOUR.get(status.state)
        return f"server: {status.state.value}", self._colour(colour, bold=True) if colour else ""

    def _segments(self) -> list[tuple[int, str, str, str]]:
        """(priority, key, text, style): lower priority numbers are dropped last."""
        server, style = self._server_text()
        segments = [(0, "server", server, style)]
        if self.blind:  # the server, its memory, CPU and Claude's state could name a model
            segments = [
                (0, "blind", "blind: models hidden until the vote", self._colour("warning"))
            ]
        s = self.sample
        if s is not None:
            ram = f"RAM {format_bytes(s.ram_used)}/{format_bytes(s.ram_total)}"
            segments.append((2, "ram", ram, ""))
        if s is not None and not self.blind:
            if s.server_rss is not None:
                # RSS counts the model file's resident pages too: say how much of it they are.
                mapped = s.server_model_mapped
                part = f" (model {format_bytes(mapped)})" if mapped else ""
                segments.append((3, "srv", f"srv {format_bytes(s.server_rss)}{part}", ""))
            elif s.server_note:  # an attached server on another machine, or not ours to read
                segments.append((3, "srv-note", f"srv: {s.server_note}", "dim"))
            segments.append((6, "ui", f"ui {format_bytes(s.own_rss)}", ""))
            segments.append((5, "cpu", f"CPU {s.cpu_percent:.0f}%", ""))
            if s.swap_used > 64 * 1024 * 1024:
                swap = f"swap {format_bytes(s.swap_used)}"
                segments.append((4, "swap", swap, self._colour("warning")))
        if not self.blind:
            # A side a pane runs on ("remote: not reachable") stays while the memory
            # figures give way; one no pane runs on ("claude: off") gives way before
            # them, after the CPU and the app's own figures.
            for note, in_use in self.side_notes:
                key = f"side {note.partition(':')[0]}"
                segments.append((1 if in_use else 4, key, note, ""))
        note = f" ({self.image_choice.note})" if self.image_choice.note else ""
        # Which way pictures are drawn is said once when it is a fallback: it gives way
        # before Claude's state ("claude: no key") on a narrow screen.
        segments.append((6, "img", f"img {self.image_mode}{note}", "dim"))
        return segments

    def on_mount(self) -> None:
        if self.image_choice.fallback:
            self.notify(self.image_choice.reason, title="Pictures", timeout=12)

    def on_resize(self) -> None:
        self._widths, self._cells = {}, []
        self._maybe_refresh()

    def _maybe_refresh(self) -> None:
        """Repaint the cells that differ from those shown, nothing when none do.

        Textual sends a refreshed widget's whole line: the bar, ~750 bytes at 160
        wide, for a CPU figure's two digits. Refreshing the changed runs of cells
        sends only those (a cursor move each), and the numbers keep the widest
        width they have had, so a shorter one does not shift the line after it.
        """
        parts = self._parts()
        cells = [(char, style) for part, style in parts for char in part]
        shown, self._cells, self._drawn = self._cells, cells, parts
        self._drawn_width = self.size.width
        if cells == shown:
            return
        if not shown or not self.is_mounted or any(cell_len(c) != 1 for c, _ in cells):
            self.refresh()
            return
        self.refresh(*changed_runs(shown, cells, (" ", "")))

    def _parts(self) -> list[tuple[str, str]]:
        """The line as (text, style) parts: the segments that fit, with separators."""
        segments = self._segments()
        width = max(self.size.width - 2, 20) if self.size.width else 200
        keys = tuple(key for _, key, _, _ in segments)
        if keys != self._keys:  # another set of segments: their widths start again
            self._keys, self._widths = keys, {}
        padded = [
            (priority, key, text.ljust(self._widths.get(key, 0)), style)
            for priority, key, text, style in segments
        ]
        kept = _fit(padded, width)
        if len(kept) < len(padded):
            unpadded = _fit(segments, width)
            if len(unpadded) > len(kept):  # the kept widths would hide a segment: drop them
                kept, self._widths = unpadded, {}
        parts: list[tuple[str, str]] = []
        for index, (_, key, text, style) in enumerate(kept):
            if key in _NUMBERS:
                self._widths[key] = max(self._widths.get(key, 0), len(text))
            if index:
                parts.append((" │ ", "dim"))
            parts.append((text.rstrip() if index == len(kept) - 1 else text, style))
        return parts

    def render_text(self) -> Text:
        return _as_text(self._parts())

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn = None  # theme colours are in the styles: take the new ones

    def render(self) -> Text:
        """The parts :meth:`_maybe_refresh` compared, so the cells it did not repaint match."""
        if self._drawn is None or self._drawn_width != self.size.width:
            self._drawn = self._parts()
            self._cells = [(char, style) for part, style in self._drawn for char in part]
            self._drawn_width = self.size.width
        return _as_text(self._drawn)


def _as_text(parts: list[tuple[str, str]]) -> Text:
    """The (text, style) parts as one styled line."""
    text = Text()
    for part, style in parts:
        text.append(part, style=style)
    return text


def _fit(segments: list[tuple[int, str, str, str]], width: int) -> list[tuple[int, str, str, str]]:
    """``segments`` without the highest priority numbers until they fit ``width``. A
    first segment over half of it that leaves the others no room gives up its last
    parts first: an attached server's note ("local: llama.cpp b11434 · Model.gguf",
    whose model the pane's title names) left no room for RAM and Claude's state."""
    segments = list(segments)
    priority, key, text, style = segments[0]
    room = max(width // 2, 20)
    parts = LABEL_PARTS in text  # whole parts to leave out; one line of words stays whole
    if parts and len(segments) > 1 and len(text.rstrip()) > room and _length(segments) > width:
        segments[0] = (priority, key, shorten_parts(text.rstrip(), room), style)
    while len(segments) > 1 and _length(segments) > width:
        segments.remove(max(segments, key=lambda segment: segment[0]))
    return segments


def _length(segments: list[tuple[int, str, str, str]]) -> int:
    """Cells of ``segments`` on one line, " │ " between them."""
    return sum(len(text) + 3 for _, _, text, _ in segments) - 3
