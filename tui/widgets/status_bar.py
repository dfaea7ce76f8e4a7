"""The bottom status line: llama-server state, memory, CPU, Claude state, image mode."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from pelican_tui.backends.llama_server import ServerState, ServerStatus
from pelican_tui.backends.resources import ResourceSample, format_bytes

_STATE_STYLE = {
    ServerState.READY: "bold green",
    ServerState.CRASHED: "bold red",
    ServerState.STOPPED: "yellow",
}


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
        self._last = ""

    def set_server(self, status: ServerStatus) -> None:
        self.server = status
        self._maybe_refresh()

    def set_server_note(self, note: str) -> None:
        self.server_note = note
        self._maybe_refresh()

    def set_claude(self, note: str) -> None:
        self.claude_note = note
        self._maybe_refresh()

    def set_sample(self, sample: ResourceSample) -> None:
        self.sample = sample
        self._maybe_refresh()

    def _server_text(self) -> tuple[str, str]:
        status = self.server
        if status is None:
            return self.server_note, "yellow"
        if status.state is ServerState.DOWNLOADING and status.progress is not None:
            return f"server: downloading {status.progress:.0%}", "yellow"
        if status.state in (ServerState.LOADING, ServerState.STARTING):
            return "server: loading…", "yellow"
        return f"server: {status.state.value}", _STATE_STYLE.get(status.state, "")

    def _memory_text(self) -> str:
        s = self.sample
        if s is None:
            return ""
        parts = [f"RAM {format_bytes(s.ram_used)}/{format_bytes(s.ram_total)}"]
        if s.server_rss is not None:
            mapped = (
                f"+{format_bytes(s.server_model_mapped)} mapped" if s.server_model_mapped else ""
            )
            parts.append(f"srv {format_bytes(s.server_rss)}{mapped}")
        parts.append(f"ui {format_bytes(s.own_rss)}")
        parts.append(f"CPU {s.cpu_percent:.0f}%")
        if s.swap_used > 64 * 1024 * 1024:
            parts.append(f"swap {format_bytes(s.swap_used)}")
        return " · ".join(parts)

    def _maybe_refresh(self) -> None:
        text = self.render_text().plain
        if text != self._last:
            self._last = text
            self.refresh()

    def render_text(self) -> Text:
        server, style = self._server_text()
        text = Text()
        text.append(server, style=style)
        memory = self._memory_text()
        if memory:
            text.append(" │ " + memory)
        text.append(" │ " + self.claude_note)
        text.append(f" │ img {self.image_mode}", style="dim")
        return text

    def render(self) -> Text:
        return self.render_text()
