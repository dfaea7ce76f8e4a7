"""The bottom status line: llama-server state, memory, CPU, Claude state, image mode."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widget import Widget

from pelican_tui.backends.llama.process import ServerState, ServerStatus
from pelican_tui.backends.resources import ResourceSample, format_bytes
from pelican_tui.terminal_caps import choose_image_mode, detected_choice

_STATE_COLOUR = {
    ServerState.READY: "success",
    ServerState.CRASHED: "error",
    ServerState.STOPPED: "warning",
}
"""Server states drawn in a theme colour (a variable name of the current theme)."""


class StatusBar(Widget):
    """One line, redrawn only when a number it shows changes."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, image_mode: str) -> None:
        super().__init__()
        self.server: ServerStatus | None = None
        self.server_note = "local: starting"
        self.claude_note = "claude: -"
        self.sample: ResourceSample | None = None
        self.image_mode = image_mode
        detected = detected_choice()
        self.image_choice = (
            detected if detected.mode == image_mode else choose_image_mode(None, image_mode)
        )
        """Why pictures are drawn in ``image_mode`` (a fallback is said once, as a notification)."""
        self._last = ""
        self._since = time.monotonic()
        self.blind = False
        """Blind mode before the vote: only what gives no model away (RAM, pictures)."""

    def set_server(self, status: ServerStatus) -> None:
        if self.server is None or self.server.state is not status.state:
            self._since = time.monotonic()
        self.server = status
        self._maybe_refresh()

    def set_server_note(self, note: str) -> None:
        self.server_note = note
        self._maybe_refresh()

    def set_claude(self, note: str) -> None:
        self.claude_note = note
        self._maybe_refresh()

    def set_blind(self, blind: bool) -> None:
        self.blind = blind
        self._maybe_refresh()

    def set_sample(self, sample: ResourceSample) -> None:
        self.sample = sample
        self._maybe_refresh()

    def _colour(self, name: str, bold: bool = False) -> str:
        """A style in the current theme's colour ``name`` (success, warning, error)."""
        try:
            colour = self.app.theme_variables.get(name, "")
        except Exception:  # not mounted in an app yet
            colour = ""
        return f"bold {colour}".strip() if bold else colour

    def _server_text(self) -> tuple[str, str]:
        status = self.server
        warning = self._colour("warning")
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
        if status.state in (ServerState.LOADING, ServerState.STARTING):
            return f"server: loading… {elapsed}", warning
        if status.state is ServerState.CRASHED:
            code = f" (exit {status.exit_code})" if status.exit_code is not None else ""
            return f"server: crashed{code}, R restarts", self._colour("error", bold=True)
        colour = _STATE_COLOUR.get(status.state)
        return f"server: {status.state.value}", self._colour(colour, bold=True) if colour else ""

    def _segments(self) -> list[tuple[int, str, str]]:
        """(priority, text, style): lower priority numbers are dropped last."""
        server, style = self._server_text()
        segments = [(0, server, style)]
        if self.blind:  # the server, its memory, CPU and Claude's state could name a model
            segments = [(0, "blind: models hidden until the vote", self._colour("warning"))]
        s = self.sample
        if s is not None:
            segments.append((1, f"RAM {format_bytes(s.ram_used)}/{format_bytes(s.ram_total)}", ""))
        if s is not None and not self.blind:
            if s.server_rss is not None:
                # RSS counts the model file's resident pages too: say how much of it they are.
                mapped = s.server_model_mapped
                part = f" (model {format_bytes(mapped)})" if mapped else ""
                segments.append((2, f"srv {format_bytes(s.server_rss)}{part}", ""))
            elif s.server_note:  # an attached server on another machine, or not ours to read
                segments.append((2, f"srv: {s.server_note}", "dim"))
            segments.append((5, f"ui {format_bytes(s.own_rss)}", ""))
            segments.append((4, f"CPU {s.cpu_percent:.0f}%", ""))
            if s.swap_used > 64 * 1024 * 1024:
                segments.append((3, f"swap {format_bytes(s.swap_used)}", self._colour("warning")))
        if not self.blind:
            segments.append((3, self.claude_note, ""))
        note = f" ({self.image_choice.note})" if self.image_choice.note else ""
        segments.append((3, f"img {self.image_mode}{note}", "dim"))
        return segments

    def on_mount(self) -> None:
        if self.image_choice.fallback:
            self.notify(self.image_choice.reason, title="Pictures", timeout=12)

    def on_resize(self) -> None:
        self._last = ""
        self._maybe_refresh()

    def _maybe_refresh(self) -> None:
        text = self.render_text().plain
        if text != self._last:
            self._last = text
            self.refresh()

    def render_text(self) -> Text:
        segments = self._segments()
        width = max(self.size.width - 2, 20) if self.size.width else 200
        while len(segments) > 1 and sum(len(t) + 3 for _, t, _ in segments) - 3 > width:
            segments.remove(max(segments, key=lambda segment: segment[0]))
        text = Text()
        for index, (_, part, style) in enumerate(segments):
            if index:
                text.append(" │ ", style="dim")
            text.append(part, style=style)
        return text

    def render(self) -> Text:
        return self.render_text()
