"""The terminal's title: the app and what it is doing, so its tab can be found.

Textual 8 keeps ``App.title`` for its own header but never tells the terminal;
:class:`TerminalTitle` writes it with OSC 2 (xterm, kitty, tmux's pane title,
most SSH clients' tabs), only when it changes. The terminal's own title is
pushed on xterm's title stack first (``CSI 22;0 t``) and popped on exit
(``CSI 23;0 t``), so the shell's title comes back; terminals without the
stack ignore both.
"""

from __future__ import annotations

from collections.abc import Callable

TITLE = "\x1b]2;{}\x07"
KEEP = "\x1b[22;0t"
GIVE_BACK = "\x1b[23;0t"


def _printable(text: str) -> str:
    """No control characters: a title must not end its own escape sequence."""
    return "".join(ch for ch in text if ch.isprintable())


class TerminalTitle:
    """Writes the title through ``write`` (the app's terminal driver; nothing when headless)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self.text = ""
        """The title as last written ("pelican-tui · ready")."""

    def keep(self) -> None:
        """Save the terminal's own title (call once, before the first :meth:`set`)."""
        self._write(KEEP)

    def set(self, text: str) -> None:
        text = _printable(text)
        if text != self.text:
            self.text = text
            self._write(TITLE.format(text))

    def give_back(self) -> None:
        """Restore the title the terminal had before :meth:`keep`."""
        self._write(GIVE_BACK)
