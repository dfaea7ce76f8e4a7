"""The prompt box: the prompt on one line, and the prompt as it runs behind it.

An :class:`~textual.widgets.Input` holds one line. A prompt may have several
(``run --prompt`` with a newline in it, a prompt of ``prompts.toml``) and
characters that act on the terminal (ESC, BEL): put in the box as they were,
they were drawn over the line and left old text on screen. The box shows the
prompt's one-line form (:func:`one_line_form`: each line break a ``⏎``,
control characters left out) and keeps the prompt itself, so
:attr:`PromptBox.prompt` is what runs: the prompt as it was given while the
box shows it unedited, the box's text (each ``⏎`` a line break again) once
someone typed in it.

While a prompt set runs, the box shows the prompt running, greyed (it cannot
be edited then), and keeps the user's own to give back when the set ends
(:meth:`PromptBox.show_running`): a box that kept the user's prompt said a
pelican while a heron was drawn.

Outside editing it shows the prompt's start, "…" where the box cuts it
(:meth:`PromptBox.render_line`): Input draws its text from where its cursor
last scrolled it, and a long prompt stepped to with ↑ showed only its end
("ges while a crowd of penguins cheers …"), its subject gone.

Its border's subtitle is fitted to the box (:meth:`PromptBox.show_subtitle`):
one too long for the border was cut at its end, by the border, and drawn from
the left edge instead of the right.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widgets import Input

from pelican_tui.backends.text import printable, shorten

LINE_BREAK = " ⏎ "
"""A line break of the prompt, as the box shows it."""
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_SHOWN_BREAK = re.compile(r" ?⏎ ?")


def one_line_form(prompt: str) -> str:
    """``prompt`` on one line: its line breaks ``⏎``, tabs spaces, control characters
    (escapes, bells) left out."""
    lines = _LINE_ENDS.split(prompt)
    return LINE_BREAK.join(printable(line).replace("\t", " ") for line in lines)


def from_one_line(line: str) -> str:
    """The prompt a line typed in the box stands for: each ``⏎`` a line break."""
    return _SHOWN_BREAK.sub("\n", line).strip()


_SUBTITLE_CHROME = 6
"""Cells of the bottom border the subtitle cannot have: corners, a border cell and a
space on each side."""


class PromptBox(Input):
    """The main screen's prompt: one line shown, the whole prompt kept (module doc).

    Set what it shows with :meth:`show_prompt`, never ``value`` (a prompt of several
    lines put there is drawn over the line, and its line breaks are lost)."""

    # Shown in the footer while the box has the focus: the main screen's letter keys
    # type into it then, and the footer said only "f1 Help".
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Run", id="prompt_run"),
        Binding("escape", "leave", "Leave", id="prompt_leave"),
        Binding("up", "history(-1)", "History", key_display="↑↓", id="prompt_history_back"),
        Binding("down", "history(1)", "History", show=False, id="prompt_history_on"),
    ]

    def __init__(self, prompt: str, *, placeholder: str = "", id: str | None = None) -> None:
        self._given = prompt
        self._own: tuple[str, str, int] | None = None
        """While a set's prompt is shown: the user's (prompt given, text, cursor)."""
        self.history: list[str] = []
        """The prompts run, oldest first (the owner keeps it): ↑ and ↓ step through it."""
        self._history_at = 0
        """Where ↑/↓ are in :attr:`history`; its length: the line being typed."""
        self._draft = prompt
        """The line being typed, kept while ↑/↓ show the history."""
        self._subtitle: Callable[[int], str] = lambda _width: ""
        """The subtitle for a width in cells (:meth:`show_subtitle`)."""
        # p puts the cursor at the end to add to the prompt: selected whole on focus,
        # the first key typed replaced it (a long reopened prompt lost to one key).
        super().__init__(
            one_line_form(prompt), placeholder=placeholder, id=id, select_on_focus=False
        )

    @property
    def prompt(self) -> str:
        """What runs: the prompt given while the box shows it unedited, else the box's
        text; "" for a box that shows nothing. While a set's prompt is shown, the
        user's own (:meth:`show_running`)."""
        if self._own is not None:
            given, value, _ = self._own
            return _meant(given, value)
        return _meant(self._given, self.value)

    @property
    def running(self) -> bool:
        """Whether it shows a set's running prompt, not the user's."""
        return self._own is not None

    def show_prompt(self, prompt: str) -> None:
        """Show ``prompt`` (on one line), keeping it whole for :attr:`prompt`; while a
        set's prompt is shown, it is the one given back after."""
        if self._own is not None:
            self._own = (prompt, one_line_form(prompt), 0)
            return
        self._given = prompt
        self.value = one_line_form(prompt)
        self.cursor_position = 0  # its start shown, where the box is too narrow for all

    def on_focus(self) -> None:
        self._history_at = len(self.history)
        self.refresh()  # drawn as Input draws it, from where its cursor scrolled it

    def on_blur(self) -> None:
        self.refresh()  # its start again

    def render_line(self, y: int) -> Strip:
        """While it is edited, the line as Input draws it; else the prompt's start, cut
        with "…" where the box is too narrow (the value is not changed)."""
        if self.has_focus or y != 0 or not self.value:
            return super().render_line(y)
        width = self.scrollable_content_region.width
        line = self.value if cell_len(self.value) <= width else shorten(self.value, width)
        shown = Text(line, no_wrap=True, overflow="ignore", end="")
        options = self.app.console_options.update_width(width + 1)
        strip = Strip(self.app.console.render(shown, options)).extend_cell_length(width + 1)
        return strip.apply_style(self.rich_style)

    def action_leave(self) -> None:
        self.screen.set_focus(None)

    def action_history(self, step: int) -> None:
        """Show the prompt ``step`` places back (-1) or on (1) in :attr:`history`; past
        the newest, the line that was being typed."""
        if not self.history:
            return
        if self._history_at >= len(self.history):  # leaving the line being typed: keep it
            self._draft = self.prompt
        self._history_at = max(0, min(len(self.history), self._history_at + step))
        at = self._history_at
        self.show_prompt(self.history[at] if at < len(self.history) else self._draft)
        self.cursor_position = len(self.value)

    def _on_paste(self, event: events.Paste) -> None:
        """A paste goes in in its one-line form: Input keeps a paste's first line only,
        and its control characters (a prompt of several lines pasted lost all but its
        first line, without a word)."""
        event.prevent_default()
        event.stop()
        if not (text := event.text.rstrip("\r\n")):
            return
        line = one_line_form(text)
        if self.selection.is_empty:
            self.insert_text_at_cursor(line)
        else:
            self.replace(line, *self.selection)

    def show_subtitle(self, words: Callable[[int], str]) -> None:
        """Show ``words(width)`` in the bottom border, ``width`` the cells it has there:
        fitted now and again at every resize."""
        self._subtitle = words
        self._fit_subtitle()

    def on_resize(self) -> None:
        self._fit_subtitle()

    def _fit_subtitle(self) -> None:
        outer = self.outer_size.width  # with the border (``size`` is inside it)
        words = self._subtitle(outer - _SUBTITLE_CHROME if outer else 1_000)
        if self.border_subtitle != words:  # assigning repaints the box
            self.border_subtitle = words

    def show_running(self, prompt: str | None) -> None:
        """Show ``prompt``, a set's running now, greyed and not editable, the user's own
        kept; None gives the user's own back."""
        if prompt is None:
            if self._own is not None:
                own, self._own = self._own, None
                self._given, self.value, self.cursor_position = own
                self.disabled = False
            return
        if self._own is None:
            self._own = (self._given, self.value, self.cursor_position)
        self._given = prompt
        self.value = one_line_form(prompt)
        self.cursor_position = 0
        self.disabled = True


def _meant(given: str, shown: str) -> str:
    """The prompt a box showing ``shown`` runs, ``given`` being the last one put in it."""
    if not shown.strip():
        return ""
    return given.strip() if shown == one_line_form(given) else from_one_line(shown)
