"""The app attached to a running server by URL (``--url``) instead of spawning one."""

from __future__ import annotations

import pytest
from _app_support import make_app, wait_for

from pelican_tui.backends.llama_server import LlamaServer, free_port
from pelican_tui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.slow


async def test_attached_server_is_checked_named_and_runs(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    app = make_app(overrides={"local": {"url": llama.base_url + "/v1", "max_tokens": 24}})
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.server is None, "attach mode spawns nothing"
        bar = app.query_one(StatusBar)
        assert await wait_for(pilot, lambda: "checking" not in bar.server_note, 15)
        assert bar.server_note.startswith("local: "), bar.server_note
        assert "not reachable" not in bar.server_note
        await pilot.press("1")
        left = app.pane("left")
        assert await wait_for(pilot, lambda: left.state in ("finished", "failed"), 60)
        assert left.state == "finished", left.stats_line()
        assert left.answer_text


async def test_unreachable_url_is_said_plainly_and_checked_again_on_r() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = make_app(overrides={"local": {"url": url}})
    async with app.run_test(size=(160, 48)) as pilot:
        bar = app.query_one(StatusBar)
        assert await wait_for(pilot, lambda: bar.server_note == "local: not reachable", 15)
        problem = str(app.pane("left").query_one(".problem").render())
        assert "press R to check again" in problem
        await pilot.press("1")  # an attached server is checked again when run
        left = app.pane("left")
        assert await wait_for(pilot, lambda: left.state == "failed", 15)
        assert "not ready" in str(left.query_one(".problem").render())
        await pilot.press("R")
        await app.workers.wait_for_complete()
        assert bar.server_note == "local: not reachable"
