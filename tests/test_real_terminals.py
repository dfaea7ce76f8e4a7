"""Pictures in real terminals under Xvfb: xterm as a VT340 (Sixel), kitty, tmux (half-cells).

Each test starts the real app in the real terminal, runs Claude's pane
against the loopback Anthropic server (a fixed pelican SVG), photographs the
screen and compares the picture with the sandbox's PNG (see
``_real_terminals.py`` for the method and the tolerances). Skipped, naming
what is missing, where the programs are not installed: ``bin/test`` installs
nothing system-wide. Debian: ``apt-get install xvfb xterm kitty imagemagick
xdotool tmux``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _real_terminals import (
    check_notification_gone,
    check_redraws,
    check_terminal,
    missing_programs,
    virtual_display,
)
from _server_support import server_binary, tiny_model

pytestmark = [pytest.mark.real_terminal, pytest.mark.slow]

_PACKAGES = "xvfb xterm kitty imagemagick xdotool tmux"


def _require(terminal: str) -> None:
    missing = missing_programs(terminal)
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian packages: {_PACKAGES})")
    server_binary()  # the app spawns llama-server on the tiny model, as a person's would
    tiny_model()


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip(f"needs Xvfb (Debian packages: {_PACKAGES})")
    with virtual_display() as name:
        yield name


def test_xterm_vt340_draws_a_clean_sixel_picture(display: str, tmp_path: Path) -> None:
    """Sixel, pixel-sharp, and no stripe along any edge (the bands are compared one by one)."""
    _require("xterm")
    shot = check_terminal("xterm", display, tmp_path)
    assert shot.expected_mode == "sixel"
    assert not shot.problems, shot.verdict()


def test_xterm_sixel_pictures_redraw_cleanly(display: str, tmp_path: Path) -> None:
    """Full screen and back, a resize, switching panes at 80 columns: whole, no leftovers."""
    _require("xterm")
    shots = check_redraws(display, tmp_path)
    assert [shot.terminal for shot in shots if shot.problems] == [], "\n".join(
        shot.verdict() for shot in shots
    )


def test_xterm_a_notification_over_a_full_screen_sixel_picture_leaves_both_whole(
    display: str, tmp_path: Path
) -> None:
    """At 80x24, llama-server ended while the picture was full screen: its notification
    covered the picture's last rows. Closing and opening full screen while it was up
    (escape, f) drew no picture at all until it went; once it had gone, a white patch
    stayed beside the picture (the picture had been sent again from its last row,
    without the move to its top-left corner). Now the picture is drawn above the
    notification, and the screen afterwards is as before, pixel for pixel."""
    _require("xterm")
    shots = check_notification_gone(display, tmp_path)
    assert [shot.terminal for shot in shots if shot.problems] == [], "\n".join(
        shot.verdict() for shot in shots
    )


def test_kitty_draws_what_it_can_without_boxes(display: str, tmp_path: Path) -> None:
    """kitty before 0.28 (Debian 12: 0.26.5): half-cell blocks, said in the status bar."""
    _require("kitty")
    shot = check_terminal("kitty", display, tmp_path)
    assert not shot.problems, shot.verdict()
    if shot.expected_mode == "halfcell":
        assert "img halfcell (kitty" in shot.status_line
        assert "fallback" in shot.status_line, shot.status_line


def test_tmux_draws_half_cells(display: str, tmp_path: Path) -> None:
    """tmux passes neither Kitty graphics nor (3.3) Sixel: half-cell blocks."""
    _require("tmux")
    shot = check_terminal("tmux", display, tmp_path)
    assert shot.expected_mode == "halfcell"
    assert not shot.problems, shot.verdict()
    assert "fallback" not in shot.status_line, "tmux reports nothing better: not a fallback"
