"""Start the TUI: ask the terminal what it draws before Textual takes it,
run the app, and make sure llama-server is gone whatever happens."""

from __future__ import annotations

import atexit
import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.settings import Settings

if TYPE_CHECKING:
    from pelican_tui.terminal_caps import TerminalReport


VT340_CELL_PX = (10, 20)
"""textual-image's cell size, in pixels, for a terminal that does not say its own."""


def _survive_zero_sized_terminals() -> None:
    """A pty that reports 0x0 (some SSH clients, `script`, fresh ptys) made
    textual-image 0.12 divide by zero at import; treat it as "size unknown"
    so it falls back to asking the terminal, then to defaults."""
    from textual_image import _terminal

    # A private helper of textual-image's: reached through getattr/setattr so
    # the type checker does not pretend it is part of the public API.
    original = getattr(_terminal, "get_tiocgwinsz")  # noqa: B009

    def checked() -> tuple[int, int, int, int]:
        rows, columns, width, height = original()
        if not rows or not columns:
            raise OSError("the terminal reports a size of 0x0")
        return rows, columns, width, height

    setattr(_terminal, "get_tiocgwinsz", checked)  # noqa: B010


@contextlib.contextmanager
def _textual_image_asks_nothing(cell_px: tuple[int, int] | None) -> Iterator[None]:
    """Import textual-image without its own terminal queries.

    At import it asks the terminal for Sixel and Kitty graphics (0.1 s each
    when unanswered) and, without a kernel cell size, for that too. The one
    round trip of :func:`pelican_tui.terminal_caps.detect_terminal` has asked
    all of it already: its cell size is handed over, and every other question
    fails at once (textual-image's own choice is not used). A terminal that
    did not tell its cell size gets textual-image's own fallback, the VT340's
    10x20 pixels, handed over too: asked again, textual-image would log the
    refused question with a traceback on stderr, under the first frame.
    """
    from textual_image import _terminal

    def already_asked(*_args: object, **_kwargs: object) -> object:
        raise _terminal.TerminalError("pelican-tui has asked the terminal already")

    original = getattr(_terminal, "capture_terminal_response", None)
    get_cell_size = getattr(_terminal, "get_cell_size", None)
    if get_cell_size is not None and hasattr(_terminal, "CellSize"):
        width, height = cell_px or VT340_CELL_PX
        setattr(get_cell_size, "_result", _terminal.CellSize(width, height))  # noqa: B010
    if original is not None:
        setattr(_terminal, "capture_terminal_response", already_asked)  # noqa: B010
    try:
        yield
    finally:
        if original is not None:
            setattr(_terminal, "capture_terminal_response", original)  # noqa: B010


@contextlib.contextmanager
def _numpy_left_out(leave_out: bool) -> Iterator[None]:
    """With ``leave_out``, ``import numpy`` fails inside the block (and only there)."""
    hide = leave_out and "numpy" not in sys.modules
    if hide:
        sys.modules["numpy"] = None  # type: ignore[assignment]  # "import halted"
    try:
        yield
    finally:
        if hide and "numpy" in sys.modules and sys.modules["numpy"] is None:
            del sys.modules["numpy"]


def import_picture_widgets(report: TerminalReport, image_mode: str) -> None:
    """Import textual-image, through the picture widgets, before the first frame,
    when pictures will be drawn with it.

    Half-cell blocks (most terminals without graphics, tmux) are drawn by
    pelican-tui's own widget, so there neither textual-image nor Pillow is
    imported before the first frame. Kitty graphics, Sixel and Unicode blocks
    are textual-image's: imported here without its own terminal questions
    (:func:`_textual_image_asks_nothing`), and without numpy unless pictures will
    be drawn in Sixel: textual-image imports numpy (~0.1 s, a fifth of a
    hello-world Textual app's whole start) only to encode Sixel faster, and
    encodes it in pure Python without it. A terminal that gets Kitty graphics
    never encodes Sixel (the mode is chosen once per process), so there numpy is
    left out of the first frame; the model header reader imports it after.
    Should a textual-image ever need numpy for more than that, the import is
    simply done again with it.
    """
    from pelican_tui.terminal_caps import choose_image_mode

    mode = choose_image_mode(report, image_mode).mode
    if mode == "halfcell":
        return
    _survive_zero_sized_terminals()
    with _textual_image_asks_nothing(report.cell_px):
        try:
            with _numpy_left_out(mode != "sixel"):
                import pelican_tui.widgets.textual_image_pictures
        except ImportError:
            import pelican_tui.widgets.textual_image_pictures  # noqa: F401


def run_app(settings: Settings, prepared: Prepared) -> int:
    # The terminal is asked what it draws once, before the app owns it
    # (Textual's input thread would take the answers). The questions went out
    # at the start (cli.main: start_asking); what needs no answer is imported
    # first, so an answer on its way (over SSH, a network round trip) is not waited for.
    import textual.app
    import textual.widgets  # noqa: F401

    from pelican_tui.terminal_caps import detect_terminal

    report = detect_terminal()
    import_picture_widgets(report, settings.ui.image_mode)
    from pelican_tui.app import PelicanApp

    app = PelicanApp(settings, prepared)
    from textual.drivers.linux_driver import LinuxDriver

    if app.driver_class is LinuxDriver:  # Linux and macOS terminals
        from pelican_tui.terminal_driver import HangupSafeDriver

        app.driver_class = HangupSafeDriver

    def last_resort() -> None:
        server = app.server if app.engine_built else None  # not built: nothing started
        if server is not None:
            server.kill_now()

    atexit.register(last_resort)
    try:
        app.run()
    finally:
        last_resort()
    if app.crash is not None:  # a bug after start: said as one at start is (cli.main)
        raise app.crash
    return app.return_code or 0
