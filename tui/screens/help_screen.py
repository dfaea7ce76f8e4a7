"""Every key in one table: ``HelpScreen`` shows (keys, description, binding id) rows."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from pelican_tui.screens.opening_key import opening_key_closes

_CHROME_ROWS = 7
"""Dialog rows besides the table: border (2), title (2), hint (3)."""
_MIN_WIDTH = 64
"""Wide enough for the hint lines."""


class HelpScreen(ModalScreen[None]):
    """A scrollable table of keys; ``escape``, ``q`` or ``?`` (the key that opened it)
    closes it (dismiss(None)).

    Args:
        bindings: One ``(keys as displayed, what it does, binding id)`` per row,
            in the order to show. The id is what a user writes in
            ``[ui.keymap]`` to remap the key.
        title: The heading.
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS = [
        Binding("escape", "close", "Close", id="help_close"),
        Binding("q", "close", "Close", show=False, id="help_close_q"),
        # Quit, where ui.keymap puts it (id "quit"): a dialog hears none of the app's keys.
        Binding("ctrl+q", "app.quit", "Quit", show=False, id="quit"),
        opening_key_closes("help"),
    ]
    Q_CLOSES = True
    """``q`` closes it, so the footer does not offer the app's "q Quit"."""

    def __init__(self, bindings: Iterable[tuple[str, str, str]], title: str = "Keys") -> None:
        super().__init__()
        self.rows = list(bindings)
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label(self.title_text, id="help-title")
            table: DataTable[Text] = DataTable(
                id="help-table", cursor_type="row", zebra_stripes=True
            )
            yield table
            yield Static(
                'Remap any key in config.toml:  [b]\\[ui.keymap][/]  [i]id[/] = "keys"\n'
                "[b]↑↓ PgUp PgDn[/] scroll   [b]esc[/]/[b]q[/]/[b]?[/] close",
                id="help-hint",
            )

    def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one("#help-table", DataTable)
        table.add_column("Key", key="key")
        table.add_column("Action", key="action")
        table.add_column("Keymap id", key="id")
        for keys, description, binding_id in self.rows:
            table.add_row(
                Text(keys, style="bold"),
                Text(description),
                Text(binding_id, style="italic"),
            )
        if not self.rows:
            table.add_row(Text(""), Text("No keys to show."), Text(""))
        table.focus()
        self._fit_height()

    def on_resize(self) -> None:
        self._fit_height()

    def _fit_height(self) -> None:
        """As large as the rows need, at most 92% of the screen (the table scrolls)."""
        dialog = self.query_one("#help-dialog")
        rows = max(len(self.rows), 1) + 1  # + the header row
        limit = max(int(self.size.height * 0.92), _CHROME_ROWS + 3)
        dialog.styles.height = min(rows + _CHROME_ROWS, limit)
        columns = [len(header) for header in ("Key", "Action", "Keymap id")]
        for row in self.rows:
            columns = [max(width, len(cell)) for width, cell in zip(columns, row, strict=True)]
        # Two cells of padding per column, the scrollbar, the dialog's padding and border.
        wanted = max(sum(columns) + 2 * len(columns) + 2 + 2 + 2, _MIN_WIDTH)
        dialog.styles.width = min(wanted, max(int(self.size.width * 0.96), 20))

    def action_close(self) -> None:
        self.dismiss(None)
