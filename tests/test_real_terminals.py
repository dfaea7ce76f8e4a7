"""Pictures in real terminals under Xvfb: xterm as a VT340 (Sixel), kitty, tmux (half-cells).

Each test starts the real app in the real terminal, runs Claude's pane
against the loopback Anthropic server (a fixed pelican SVG), photographs the
screen and compares the picture with the sandbox's PNG (see
``_real_terminals.py`` for the method and the tolerances). Skipped, naming
what is missing, where the programs are not installed: ``bin/test`` installs
nothing system-wide. Debian: ``apt-get install xvfb xterm kitty imagemagick
xdotool tmux``; ``script`` (util-linux) keeps what the app writes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _real_terminals import (
    check_following,
    check_notification_gone,
    check_opening,
    check_redraws,
    check_resize,
    check_terminal,
    missing_programs,
    virtual_display,
)
from _server_support import server_binary, tiny_model

pytestmark = [pytest.mark.real_terminal, pytest.mark.slow]

_PACKAGES = "xvfb xterm kitty imagemagick xdotool tmux"


def _require(terminal: str, *also: str) -> None:
    missing = missing_programs(terminal) + [name for name in also if shutil.which(name) is None]
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


def test_xterm_full_screen_following_a_run_sends_each_sixel_picture_once(
    display: str, tmp_path: Path
) -> None:
    """``f`` open while Claude's pane streams: every new preview was sent to xterm twice
    (textual-image mounted a new drawing widget for each picture, drawn, then drawn
    again by the layout its mounting asked for): 305 KB in 23 s, half of it pictures
    sent again. Now each preview goes once, and nothing more once the run has ended."""
    _require("xterm", "script")
    following = check_following("xterm", display, tmp_path, "sixel")
    assert following.images >= 3, following.verdict()  # it did follow the run
    assert not following.problems, following.verdict()


def test_xterm_full_screen_sends_a_finished_runs_sixel_picture_once(
    display: str, tmp_path: Path
) -> None:
    """``f`` on a finished run: its picture was sent to xterm twice (the image widget,
    sized by the layout, was painted, then painted again by the layout Textual asked
    for after setting its virtual size): 35 KB more at 80x24. Now once."""
    _require("xterm", "script")
    opening = check_opening("xterm", display, tmp_path, "sixel")
    assert not opening.problems, opening.verdict()


def test_kitty_graphics_full_screen_sends_a_finished_runs_picture_once(
    display: str, tmp_path: Path
) -> None:
    """Kitty graphics forced: ``f`` on a finished run transmitted and placed its picture
    once, but wrote its cells of placeholders twice (painted, then painted again by the
    layout Textual asked for after setting the widget's virtual size). Now once."""
    _require("kitty", "script")
    opening = check_opening("kitty", display, tmp_path, "tgp")
    assert not opening.problems, opening.verdict()


def test_xterm_full_screen_following_a_run_in_half_cells_writes_nothing_once_done(
    display: str, tmp_path: Path
) -> None:
    """The byte budget in half-cell blocks (tmux, most SSH sessions): once the run has
    ended, the open full screen writes (almost) nothing (measured: 0 B in 5 s)."""
    _require("xterm", "script")
    following = check_following("xterm", display, tmp_path, "halfcell")
    assert following.streaming_bytes > 0, following.verdict()
    assert not following.problems, following.verdict()


def test_kitty_graphics_full_screen_deletes_the_pictures_it_replaced(
    display: str, tmp_path: Path
) -> None:
    """Kitty graphics forced (``--image-mode tgp``; kitty 0.26.5 draws its placeholders
    as boxes, but takes the pictures): ``f`` following a run replaced each preview with
    ``a=d,I=<id>``, which names no picture (``I`` is an image number, ``d`` missing) and
    frees nothing, and left its pictures when closed: every preview stayed in kitty's
    memory. Now each is deleted with its data (``d=I,i=<id>``) when replaced or closed."""
    _require("kitty", "script")
    following = check_following("kitty", display, tmp_path, "tgp")
    assert following.images >= 3, following.verdict()
    assert not following.problems, following.verdict()


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


def test_xterm_a_resize_sends_a_finished_runs_sixel_picture_once(
    display: str, tmp_path: Path
) -> None:
    """The terminal resized (160x48 to 120x40) on a finished run: its picture was sent
    to xterm four times (tens of KB each, a wait over SSH): painted at its old size
    where the new layout put it, again, then at its new size. Now once, at its new
    size, and the picture photographed after it is whole."""
    _require("xterm", "script")
    resized = check_resize("xterm", display, tmp_path, "sixel")
    assert not resized.problems, resized.verdict()


def test_kitty_graphics_a_resize_sends_a_finished_runs_picture_once(
    display: str, tmp_path: Path
) -> None:
    """Kitty graphics forced: the terminal resized on a finished run wrote its picture's
    cells of placeholders more than once (see the Sixel test above). Now once."""
    _require("kitty", "script")
    resized = check_resize("kitty", display, tmp_path, "tgp")
    assert not resized.problems, resized.verdict()
