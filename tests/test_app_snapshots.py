"""Snapshots of the main screen at 80x24 and 160x48.

Deterministic by construction: no llama-server, no resource sampling (so no
clocks or memory numbers), no hostname; pictures under pytest use textual-image's
Unicode fallback with a fixed cell size.
"""

from __future__ import annotations

from typing import Any

import pytest
from _app_support import make_app


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_help_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), press=["question_mark"], terminal_size=size)


def test_narrow_second_pane(snap_compare: Any) -> None:
    assert snap_compare(make_app(), press=["w", "t"], terminal_size=(80, 24))
