"""Pick a prompt set to run: ``PromptSetScreen`` dismisses with the set, or None.

Opened by ``P`` on the main screen. It lists the built-in "pelican" set and
the user's own from ``prompts.toml`` (see the README's "Prompt sets"), each
with its prompts' names, never their texts: a private set's prompts are shown
by name only, like everywhere else.
"""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from pelican_tui.backends.prompt_sets import PromptSet
from pelican_tui.backends.text import plural


def set_line(prompt_set: PromptSet, width: int) -> str:
    """One set in a line of ``width`` cells: "animals · 2 prompts: pelican, heron · private"."""
    count = len(prompt_set.prompts)
    names = Text(", ".join(p.name for p in prompt_set.prompts))
    private = " · private" if prompt_set.private else ""
    head = f"{prompt_set.name} · {plural(count, 'prompt')}: "
    names.truncate(max(8, width - cell_len(head) - len(private)), overflow="ellipsis")
    return f"{head}{names.plain}{private}"


class _SetLine:
    """A set's line cut to the width the list draws it at (a line cut to a guessed
    width wrapped, its last names and "private" on a line of their own)."""

    def __init__(self, prompt_set: PromptSet) -> None:
        self.prompt_set = prompt_set

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = set_line(self.prompt_set, options.max_width)
        yield Text(line, no_wrap=True, overflow="ellipsis")


class PromptSetScreen(ModalScreen[PromptSet | None]):
    """Choose one of ``sets`` to run; enter runs it, escape backs out.

    Args:
        sets: The sets by name, in the order to list them.
        where: The prompt sets file, named so the user knows where to add sets.
        runs: What running a set means now ("both panes, 4 samples each").
    """

    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="prompt_set_cancel"),
    ]

    def __init__(self, sets: dict[str, PromptSet], where: Path, runs: str) -> None:
        super().__init__()
        self.sets = sets
        self.where = where
        self.runs = runs

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-set-dialog"):
            yield Label("Run a prompt set", id="prompt-set-title")
            yield OptionList(
                *(Option(_SetLine(s), id=name) for name, s in self.sets.items()),
                id="prompt-set-list",
            )
            own = "" if len(self.sets) > 1 else " (none yet)"
            yield Static(
                f"Each prompt runs in {self.runs}, one session each.\n"
                f"Your own sets{own}: {self.where}",
                id="prompt-set-about",
                markup=False,
            )
            yield Label("[b]enter[/] run   [b]esc[/] cancel", id="prompt-set-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        name = event.option.id
        self.dismiss(self.sets.get(name) if name is not None else None)
