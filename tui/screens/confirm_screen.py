"""A yes/no question in a small modal: ``ConfirmScreen`` dismisses with a bool."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask ``question``; dismiss(True) for yes, dismiss(False) for no.

    Keys: ``y`` yes, ``n`` or ``escape`` no; tab/arrows move between the
    buttons and enter presses the focused one. "No" has the focus at first, so
    a stray enter never deletes anything.

    Args:
        question: What to ask, one or more lines (markup is not interpreted).
        yes_label: Label of the button that confirms (e.g. "Delete").
        no_label: Label of the button that backs out.
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes"),
        Binding("n", "answer(False)", "No", id="confirm_no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm_cancel"),
        Binding("left", "app.focus_previous", "Previous button", show=False, id="confirm_left"),
        Binding("right", "app.focus_next", "Next button", show=False, id="confirm_right"),
    ]

    def __init__(self, question: str, yes_label: str = "Delete", no_label: str = "Cancel") -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes_label
        self.no_label = no_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(self.yes_label, variant="error", id="confirm-yes")
                yield Button(self.no_label, variant="primary", id="confirm-no")
            yield Label(
                f"[b]y[/] {self.yes_label}   [b]n[/]/[b]esc[/] {self.no_label}",
                id="confirm-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
