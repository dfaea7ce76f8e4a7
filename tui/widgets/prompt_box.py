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
"""

from __future__ import annotations

import re

from textual.widgets import Input

from pelican_tui.backends.text import printable

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


class PromptBox(Input):
    """The main screen's prompt: one line shown, the whole prompt kept (module doc).

    Set what it shows with :meth:`show_prompt`, never ``value`` (a prompt of several
    lines put there is drawn over the line, and its line breaks are lost)."""

    def __init__(self, prompt: str, *, placeholder: str = "", id: str | None = None) -> None:
        self._given = prompt
        super().__init__(one_line_form(prompt), placeholder=placeholder, id=id)

    @property
    def prompt(self) -> str:
        """What runs: the prompt given while the box shows it unedited, else the box's
        text; "" for a box that shows nothing."""
        if not self.value.strip():
            return ""
        if self.value == one_line_form(self._given):
            return self._given.strip()
        return from_one_line(self.value)

    def show_prompt(self, prompt: str) -> None:
        """Show ``prompt`` (on one line), keeping it whole for :attr:`prompt`."""
        self._given = prompt
        self.value = one_line_form(prompt)
        self.cursor_position = 0  # its start shown, where the box is too narrow for all
