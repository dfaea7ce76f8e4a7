"""A full-screen, scrollable view of one run's answer and thinking."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import TextArea

from pelican_tui.screens.opening_key import opening_key_closes
from pelican_tui.widgets.footer import KeysFooter


class TextScreen(ModalScreen[None]):
    """Read a whole answer (or thinking) that the pane only shows the end of."""

    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > TextArea { width: 100%; height: 1fr; border: round $accent; }
    """
    TITLE = "Answer text"

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="text_close"),
        # Quit, where ui.keymap puts it (id "quit"): a dialog hears none of the app's keys.
        Binding("ctrl+q", "app.quit", "Quit", show=False, id="quit"),
        # The text area is read-only: it leaves a typed letter to the screen.
        opening_key_closes("view_answer", action="dismiss"),
        # Before the text area, which takes a typed "?" as its own even read-only.
        Binding("question_mark", "app.help", "Help", priority=True, id="text_help"),
    ]
    Q_CLOSES = True
    """``q`` closes it, so the footer does not offer the app's "q Quit"."""
    AUTO_FOCUS = "TextArea"
    """Focused, so the arrows, PageUp/PageDown, Home and End scroll it (the app focuses
    nothing by itself, and an unfocused text area read no key)."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self._title = title
        self._text = text

    def compose(self) -> ComposeResult:
        area = TextArea(self._text or "(empty)", read_only=True, soft_wrap=True)
        area.border_title = self._title
        yield area
        yield KeysFooter()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
