"""What the app no longer shows, it no longer keeps: pictures are released once hidden.

Through the real app, both panes on the loopback server speaking Anthropic's
protocol (tests/_anthropic_server.py). ``bench/memory_growth.py`` measures
what this saves.
"""

from __future__ import annotations

import gc
import weakref

import pytest
from _anthropic_server import AnthropicTestServer
from _app_support import make_app, wait_for

from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.widgets.picture import PictureView
from pelican_tui.widgets.vote_pair import PairView


async def test_the_blind_pair_lets_go_of_its_pictures_after_the_vote(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the last vote the A/B view is hidden: its decoded pictures (and the copies
    textual-image draws from) are released, while the panes keep theirs on screen."""
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(
            overrides={"claude": {"max_retries": 0}, "ui": {"blind": True, "samples": 1}}
        )
        async with app.run_test(size=(160, 48)) as pilot:
            app.choices["left"] = PaneChoice("claude", True)
            app.choices["right"] = PaneChoice("claude", False)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: bool(app.pending_pairs), 60)
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            view = app.query_one("#blind-pair", PairView)
            pictures = list(view.query(PictureView))

            def drawn() -> list[object]:
                return [p.query_one("#picture-image").image for p in pictures]  # type: ignore[attr-defined]

            assert await wait_for(pilot, lambda: None not in drawn(), 5), "both pictures drawn"
            images = drawn()
            released = [weakref.ref(image) for image in images]
            del images

            await pilot.press("less_than_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            await pilot.pause()
            assert not app.has_class("-blind"), "the panes are shown again"
            assert view.pair is None
            assert not any(p.has_picture or p.png for p in pictures)
            gc.collect()
            assert [ref() for ref in released] == [None, None], "the decoded pictures are freed"
            assert all(app.pane(slot).picture.has_picture for slot in ("left", "right"))


def test_glibc_returns_large_freed_blocks() -> None:
    """The app's allocator setting takes on glibc (elsewhere it says it did nothing)."""
    import platform
    import sys

    from pelican_tui.allocator import return_large_blocks

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert return_large_blocks() is glibc
