"""Start the TUI: pick the image protocol before Textual takes the terminal,
run the app, and make sure llama-server is gone whatever happens."""

from __future__ import annotations

import atexit

from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.settings import Settings


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


def run_app(settings: Settings, prepared: Prepared) -> int:
    # textual-image detects the terminal's graphics support once, at import,
    # by querying it: this must happen before the app owns the terminal.
    _survive_zero_sized_terminals()
    import pelican_tui.widgets.picture  # noqa: F401
    from pelican_tui.app import PelicanApp

    app = PelicanApp(settings, prepared)
    from textual.drivers.linux_driver import LinuxDriver

    if app.driver_class is LinuxDriver:  # Linux and macOS terminals
        from pelican_tui.terminal_driver import HangupSafeDriver

        app.driver_class = HangupSafeDriver

    def last_resort() -> None:
        if app.server is not None:
            app.server.kill_now()

    atexit.register(last_resort)
    try:
        app.run()
    finally:
        last_resort()
    return app.return_code or 0
