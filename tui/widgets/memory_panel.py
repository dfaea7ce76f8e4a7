"""Memory over the last few minutes: llama-server's and the app's, as sparklines.

The app keeps a :class:`MemoryHistory` of the resource samples it gets once a
second (whether or not anything shows them), so the panel has the last few
minutes to draw as soon as it opens; the panel then redraws when a sample
arrives, and only the rows whose bars or numbers changed.

Resident memory (RSS, what ``top`` shows) includes the pages of a memory-mapped
model file that are in RAM; the model row shows that part of it. Under memory
pressure the kernel drops those pages and the row falls: the model is read from
disk again as it runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from pelican_tui.backends.resources import ResourceSample, format_bytes
from pelican_tui.widgets.sparkline import FloorSparkline
from pelican_tui.widgets.text_line import TextLine

HISTORY_SAMPLES = 300
"""Samples kept: five minutes at one a second."""

Listener = Callable[[], None]


class MemoryHistory:
    """The last :data:`HISTORY_SAMPLES` samples as three series, in bytes, oldest first.

    A server that is not running (not started yet, restarting, or one whose
    memory cannot be read) counts as 0 bytes; :attr:`latest` says which.
    """

    def __init__(self, limit: int = HISTORY_SAMPLES) -> None:
        self.limit = limit
        self.server: deque[float] = deque(maxlen=limit)
        self.model: deque[float] = deque(maxlen=limit)
        self.app: deque[float] = deque(maxlen=limit)
        self.latest: ResourceSample | None = None
        self._listeners: list[Listener] = []

    def add(self, sample: ResourceSample) -> None:
        self.latest = sample
        self.server.append(float(sample.server_rss or 0))
        self.model.append(float(sample.server_model_mapped or 0))
        self.app.append(float(sample.own_rss))
        for listener in list(self._listeners):
            listener()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after each sample (on the caller's thread); returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe


def span_words(samples: int) -> str:
    """``5 min`` / ``40 s``: how long ``samples`` one-second samples span."""
    return f"{samples // 60} min" if samples >= 120 else f"{samples} s"


class MemoryPanel(Vertical):
    """Three rows: llama-server resident, the model file's part of it, pelican-tui resident."""

    DEFAULT_CSS = """
    MemoryPanel {
        height: auto; border: round $panel-lighten-2; border-title-color: $text-muted;
        padding: 0 1;
    }
    MemoryPanel > Horizontal { height: 1; }
    MemoryPanel .label { width: 14; color: $text-muted; }
    MemoryPanel .value { width: 30; padding: 0 0 0 1; }
    """

    ROWS = (
        ("server", "llama-server", "resident"),
        ("model", "  model file", "of the above"),
        ("app", "pelican-tui", "resident"),
    )

    def __init__(self, history: MemoryHistory, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history = history
        self._unsubscribe: Callable[[], None] | None = None
        self.border_title = f"memory, last {span_words(history.limit)}, one sample a second"

    def compose(self) -> ComposeResult:
        for key, label, _ in self.ROWS:
            with Horizontal(id=f"memory-{key}"):
                yield Static(label, classes="label")
                yield FloorSparkline(floor=0.0, summary_function=max, span=self.history.limit)
                yield TextLine("", classes="value")

    def on_mount(self) -> None:
        self._unsubscribe = self.history.subscribe(self.draw)
        self.call_after_refresh(self.draw)  # the sparklines know their width then

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def series(self, key: str) -> list[float]:
        """The values drawn in row ``key`` (server, model, app)."""
        return self.query_one(f"#memory-{key} FloorSparkline", FloorSparkline).values

    def draw(self) -> None:
        history = self.history
        for key, _, words in self.ROWS:
            row = self.query_one(f"#memory-{key}", Horizontal)
            row.query_one(FloorSparkline).show(getattr(history, key))
            row.query_one(TextLine).update(self._value(key, words, history.latest))

    @staticmethod
    def _value(key: str, words: str, sample: ResourceSample | None) -> str:
        if sample is None:
            return "-"
        if key == "app":
            return f"{format_bytes(sample.own_rss)} {words}"
        if sample.server_rss is None:
            return (sample.server_note or "not running") if key == "server" else "-"
        if key == "model":
            mapped = sample.server_model_mapped
            return f"{format_bytes(mapped)} {words}" if mapped is not None else "-"
        return f"{format_bytes(sample.server_rss)} {words}"
