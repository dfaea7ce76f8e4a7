"""Start the TUI: pick the image protocol before Textual takes the terminal,
run the app, and make sure llama-server is gone whatever happens."""

from __future__ import annotations

import atexit

from pelican_tui.backends.settings import Settings
from pelican_tui.preflight import Prepared


def run_app(settings: Settings, prepared: Prepared) -> int:
    # textual-image detects the terminal's graphics support once, at import,
    # by querying it: this must happen before the app owns the terminal.
    import pelican_tui.widgets.picture  # noqa: F401
    from pelican_tui.app import PelicanApp

    app = PelicanApp(settings, prepared)

    def last_resort() -> None:
        if app.server is not None:
            app.server.kill_now()

    atexit.register(last_resort)
    try:
        app.run()
    finally:
        last_resort()
    return app.return_code or 0
