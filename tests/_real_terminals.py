"""Pictures in real terminals: the app run in xterm, kitty and tmux under Xvfb, photographed.

Not a mock: a virtual X display (Xvfb) runs the real terminal programs; each
starts the real ``pelican-tui`` (the tiny local model, and Claude answered by
the loopback Anthropic server in ``_anthropic_server.py`` with its fixed
pelican SVG). The right pane is run with ``2``; when the answer is in, the
screen is photographed with ImageMagick's ``import``, the picture is found on
the photograph (the large white rectangle), and compared with the PNG that
the SVG sandbox renders for the same SVG: the mean colour difference (0-255)
after scaling, over the whole picture and per horizontal band (a stripe along
one edge cannot hide in the average).

Terminals, and what each must show:

``xterm``  ``xterm -ti vt340``: Sixel, pixel-sharp (compared at full size), and
           still whole and alone after full screen and back, a resize, and
           switching panes at 80 columns (:func:`check_redraws`); at 80x24, a
           notification over the full-screen picture and the picture are both
           whole, and leave nothing once it has gone (:func:`check_notification_gone`);
           full screen following a run sends each new picture once
           (:func:`check_following`, which counts the bytes the app writes), and
           full screen opened on a finished run sends its picture once
           (:func:`check_opening`), and so does a resize (:func:`check_resize`).
``kitty``  kitty: Kitty graphics from 0.28; before that (Debian 12 has 0.26.5)
           half-cell blocks, said in the status bar, and no placeholder boxes;
           Kitty graphics forced, the pictures full screen replaced are deleted,
           and full screen opened, or a resize, sends its picture once.
``tmux``   tmux 3.3 inside a plain xterm: half-cell blocks.

Debian packages: ``xvfb xterm kitty imagemagick xdotool tmux``. As a script::

    python tests/_real_terminals.py --out real-terminals/            # all three
    python tests/_real_terminals.py --out shots/ --only xterm kitty

writes ``<terminal>.png`` (the screen), ``<terminal>-picture.png`` (the found
picture beside the reference) and prints one line per terminal; exit 1 if
one is outside its tolerance. ``tests/test_real_terminals.py`` (pytest marker
``real_terminal``) runs the same checks and skips, naming the missing
programs, where they are not installed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _anthropic_server import PELICAN_SVG, AnthropicTestServer

TERMINALS = ("xterm", "kitty", "tmux")

PROGRAMS: dict[str, tuple[str, ...]] = {
    "xterm": ("Xvfb", "xterm", "import", "xdotool"),
    "kitty": ("Xvfb", "kitty", "import"),
    "tmux": ("Xvfb", "xterm", "tmux", "import"),
}
"""The programs each check runs (from Debian's xvfb, xterm, kitty, imagemagick, xdotool, tmux)."""

SCREEN = (1600, 1000)
COLUMNS, ROWS = 160, 48
TIMEOUT_S = 90.0
"""Bound on each wait (start-up includes loading the tiny model on a busy 2-core machine)."""

_SESSIONS = itertools.count(1)

KITTY_PLACEHOLDER = "\U0010eeee"
"""The character textual-image writes for Kitty-graphics cells: boxes where it is not drawn."""


@dataclass(frozen=True)
class Tolerance:
    """Largest accepted mean colour differences (0-255 per channel)."""

    full: float
    """Over the picture at the size it was drawn (cells blur edges: looser for half-cells)."""
    coarse: float
    """Over the picture scaled down to 48 px wide (what the eye sees from afar)."""
    band: float
    """In the worst of 8 horizontal bands of the coarse comparison (stripes)."""


# Measured (full/coarse/band) on 2026-12-02: xterm 2.7/2.0/6.0 in a pane, 4.3/3.3/12.8 at 80
# columns (a smaller picture: a pixel of misplacement weighs more); kitty 0.26.5 5.8/2.3/7.2;
# tmux 5.8/2.7/8.7. textual-image's own Sixel encoding (the red stripe along the top, in
# xterm) gave 25.5/24.8/68.8.
TOLERANCES = {
    "sixel": Tolerance(full=6.0, coarse=4.0, band=18.0),
    "tgp": Tolerance(full=6.0, coarse=4.0, band=18.0),
    "halfcell": Tolerance(full=12.0, coarse=5.0, band=18.0),
}


@dataclass
class Shot:
    """One terminal's photograph and how its picture compares with the sandbox's PNG."""

    terminal: str
    expected_mode: str
    screenshot: Path
    picture_box: tuple[int, int, int, int] | None = None
    """(left, top, right, bottom) of the picture on the screenshot."""
    full_diff: float | None = None
    coarse_diff: float | None = None
    worst_band_diff: float | None = None
    screen_text: str | None = None
    """The screen as text (kitty and tmux can say; xterm cannot)."""
    problems: list[str] = field(default_factory=list)

    @property
    def status_line(self) -> str:
        lines = [line for line in (self.screen_text or "").splitlines() if "img " in line]
        return lines[-1].strip() if lines else ""

    def verdict(self) -> str:
        numbers = "no picture found"
        if self.full_diff is not None:
            numbers = (
                f"difference full {self.full_diff:.1f} · coarse {self.coarse_diff:.1f}"
                f" · worst band {self.worst_band_diff:.1f}"
            )
        state = "ok" if not self.problems else "FAIL: " + "; ".join(self.problems)
        return f"{self.terminal:<6} {self.expected_mode:<8} {numbers} · {state}"


def missing_programs(terminal: str) -> list[str]:
    return [name for name in PROGRAMS[terminal] if shutil.which(name) is None]


def kitty_version() -> tuple[int, ...] | None:
    try:
        out = subprocess.run(
            ["kitty", "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"kitty (\d+(?:\.\d+)*)", out)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def expected_mode(terminal: str) -> str:
    if terminal == "xterm":
        return "sixel"
    if terminal == "kitty":
        version = kitty_version()
        return "tgp" if version is not None and version >= (0, 28) else "halfcell"
    return "halfcell"


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` (bounded) until true; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)


# -- the virtual display ---------------------------------------------------------------


@contextlib.contextmanager
def virtual_display() -> Iterator[str]:
    """An Xvfb display of :data:`SCREEN` pixels; yields its name (":N")."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            f"{SCREEN[0]}x{SCREEN[1]}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        with os.fdopen(read_end) as answer:
            number = answer.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start (no display number)")
        yield f":{number}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def screenshot(display: str, path: Path) -> Image.Image:
    subprocess.run(
        ["import", "-display", display, "-window", "root", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    with Image.open(path) as opened:
        return opened.convert("RGB")


# -- finding and comparing the picture -------------------------------------------------


def _longest_run(flags: np.ndarray, gap: int) -> tuple[int, int] | None:
    """(start, end) of the longest run of True allowing gaps of up to ``gap`` False."""
    best: tuple[int, int] | None = None
    start = last = None
    for index in np.flatnonzero(flags):
        index = int(index)
        if start is None or last is None or index - last > gap + 1:
            start = index
        last = index
        if best is None or last - start > best[1] - best[0]:
            best = (start, last + 1)
    return best


def find_picture(screen: Image.Image) -> tuple[int, int, int, int] | None:
    """The picture's box on a screenshot: the large white rectangle (SVGs are drawn on white).

    White is eroded first (a pixel counts when its four neighbours are white too),
    so window borders and text strokes do not count.
    """
    light = np.asarray(screen).min(axis=2) >= 225
    white = np.zeros_like(light)
    white[1:-1, 1:-1] = (
        light[1:-1, 1:-1] & light[:-2, 1:-1] & light[2:, 1:-1] & light[1:-1, :-2] & light[1:-1, 2:]
    )
    row_counts = white.sum(axis=1)
    if row_counts.max() < 60:
        return None
    rows = _longest_run(row_counts >= 0.25 * row_counts.max(), gap=6)
    if rows is None or rows[1] - rows[0] < 40:
        return None
    column_counts = white[rows[0] : rows[1]].sum(axis=0)
    columns = _longest_run(column_counts >= 0.25 * (rows[1] - rows[0]), gap=6)
    if columns is None or columns[1] - columns[0] < 50:
        return None
    return columns[0], rows[0], columns[1], rows[1]


def compare(
    screen: Image.Image, box: tuple[int, int, int, int], reference: Image.Image
) -> tuple[float, float, float]:
    """(full, coarse, worst band) mean colour differences of the picture in ``box``.

    ``reference`` is the sandbox's PNG of the same SVG at the box's size.
    """
    drawn = screen.crop(box)
    full = _mean_diff(drawn, reference)
    coarse_size = (48, max(1, round(48 * drawn.height / drawn.width)))
    a = np.asarray(drawn.resize(coarse_size, Image.Resampling.BOX), dtype=np.float64)
    b = np.asarray(reference.resize(coarse_size, Image.Resampling.BOX), dtype=np.float64)
    per_row = np.abs(a - b).mean(axis=(1, 2))
    bands = [band.mean() for band in np.array_split(per_row, 8) if band.size]
    return full, float(per_row.mean()), float(max(bands))


def _mean_diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).mean())


def side_by_side(
    screen: Image.Image, box: tuple[int, int, int, int], reference: Image.Image
) -> Image.Image:
    """The picture as the terminal showed it, beside the sandbox's PNG."""
    drawn = screen.crop(box)
    pair = Image.new("RGB", (drawn.width * 2 + 8, drawn.height), (255, 0, 255))
    pair.paste(drawn, (0, 0))
    pair.paste(reference, (drawn.width + 8, 0))
    return pair


def sandbox_png(width: int, height: int | None = None) -> bytes:
    """The pelican SVG as the sandbox renders it (the real worker process), fitted and
    centred on white in ``width`` x ``height`` as the app's pictures are."""
    from pelican_tui.backends.svg.render import SvgRenderer

    with SvgRenderer() as renderer:
        result = renderer.render_sync(PELICAN_SVG, width, height, timeout_s=30)
    if not result.ok or result.png is None:
        raise RuntimeError(f"the sandbox did not render the test SVG: {result.reason}")
    return result.png


def sandbox_picture(width: int, height: int | None) -> Image.Image:
    with Image.open(io.BytesIO(sandbox_png(width, height))) as opened:
        return opened.convert("RGB")


def reference_for(drawn: Image.Image) -> Image.Image:
    """The sandbox's PNG placed as the app places it in a picture of ``drawn``'s size.

    The app fits the drawing in its picture, centred on white; how much white
    depends on the PNG it rendered (the pane's shape at the time, or the
    stored one for full screen), which cannot be seen from outside. So the
    drawing's scale is searched (75-100 % of the fit, centred) for the closest
    match: a stripe, stray colours or a wrong picture still differ.
    """
    width, height = drawn.size
    tight = sandbox_picture(1024, None)
    fit = min(width / tight.width, height / tight.height)
    small = np.asarray(drawn.resize((48, max(1, round(48 * height / width)))), dtype=np.float64)
    best: tuple[float, Image.Image] | None = None
    for percent in range(75, 101):
        size = (
            max(1, round(tight.width * fit * percent / 100)),
            max(1, round(tight.height * fit * percent / 100)),
        )
        page = Image.new("RGB", (width, height), (255, 255, 255))
        page.paste(
            tight.resize(size, Image.Resampling.LANCZOS),
            ((width - size[0]) // 2, (height - size[1]) // 2),
        )
        candidate = np.asarray(page.resize((small.shape[1], small.shape[0])), dtype=np.float64)
        score = float(np.abs(candidate - small).mean())
        if best is None or score < best[0]:
            best = (score, page)
    assert best is not None
    return best[1]


# -- one terminal ------------------------------------------------------------------------


class _Session:
    """A terminal running the app on a display; keys in, text out (where the terminal can)."""

    def __init__(
        self,
        terminal: str,
        display: str,
        app_env: dict[str, str],
        work: Path,
        size: tuple[int, int] = (COLUMNS, ROWS),
        log: Path | None = None,
        typescript: Path | None = None,
        app_args: tuple[str, ...] = (),
    ) -> None:
        self.terminal = terminal
        self.resource_name = f"pelicanreal{os.getpid()}x{next(_SESSIONS)}"
        """The X resource (instance) name of an xterm window: keys go to this one only."""
        self.display = display
        self.work = work
        self.kitty_socket = work / "kitty.sock"
        self.tmux_name = f"pelican-real-{os.getpid()}"
        app = [sys.executable, "-m", "pelican_tui", *app_args]
        if typescript is not None:  # every byte the app writes, kept (util-linux `script`)
            app = ["script", "-q", "-f", "-c", shlex.join(app), str(typescript)]
        columns, rows = size
        env = {**os.environ, "DISPLAY": display, **app_env}
        for outer in ("TMUX", "STY"):  # not inside the tests' own tmux or screen
            env.pop(outer, None)
        if terminal == "xterm":
            env["COLORTERM"] = "truecolor"
            command = [
                "xterm",
                "-name",
                self.resource_name,
                "-ti",
                "vt340",
                "-tn",
                "xterm-256color",
                "-geometry",
                f"{columns}x{rows}+0+0",
                "-e",
                *app,
            ]
        elif terminal == "kitty":
            env["LIBGL_ALWAYS_SOFTWARE"] = "1"
            command = [
                "kitty",
                "--config",
                "NONE",
                "-o",
                "allow_remote_control=yes",
                "--listen-on",
                f"unix:{self.kitty_socket}",
                "-o",
                "remember_window_size=no",
                "-o",
                f"initial_window_width={columns}c",
                "-o",
                f"initial_window_height={rows}c",
                *app,
            ]
        else:
            config = work / "tmux.conf"
            config.write_text(
                "set -g default-terminal tmux-256color\n"
                "set -ga terminal-overrides ',xterm*:Tc'\n"
                "set -g status off\n"
            )
            inner = ["env", "COLORTERM=truecolor", *(f"{k}={v}" for k, v in app_env.items()), *app]
            command = [
                "xterm",
                "-name",
                self.resource_name,
                "-tn",
                "xterm-256color",
                "-geometry",
                f"{columns}x{rows}+0+0",
                "-e",
                "tmux",
                "-L",
                self.tmux_name,
                "-f",
                str(config),
                "new-session",
                *inner,
            ]
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(log or work / f"{terminal}.log").open("wb"),
            start_new_session=True,
        )
        self._window: str | None = None

    # keys and text

    def press(self, key: str) -> None:
        if self.terminal == "kitty":
            self._kitty("send-text", {"Escape": "\\x1b"}.get(key, key))
            return
        if self.terminal == "tmux":
            subprocess.run(["tmux", "-L", self.tmux_name, "send-keys", key], check=True, timeout=30)
            return
        window = self._xterm_window()
        env = {**os.environ, "DISPLAY": self.display}
        subprocess.run(
            ["xdotool", "windowfocus", "--sync", window], env=env, check=True, timeout=30
        )
        subprocess.run(["xdotool", "key", key], env=env, check=True, timeout=30)

    def resize(self, columns: int, rows: int) -> None:
        """Resize the terminal's window to ``columns`` x ``rows`` cells (as a window manager
        would; kitty through its remote control)."""
        if self.terminal == "kitty":
            self._kitty("resize-os-window", "--unit", "cells", "--width", str(columns),
                        "--height", str(rows))  # fmt: skip
            return
        subprocess.run(
            ["xdotool", "windowsize", "--usehints", self._xterm_window(), str(columns), str(rows)],
            env={**os.environ, "DISPLAY": self.display},
            check=True,
            timeout=30,
        )

    def stop_llama_server(self) -> None:
        """End the llama-server the app started (as if it crashed): the app says so."""
        import psutil

        for child in psutil.Process(self.process.pid).children(recursive=True):
            if child.name() == "llama-server":
                child.kill()
                return
        raise RuntimeError("the app has no llama-server to stop")

    def text(self) -> str | None:
        """The screen's text, where the terminal can give it (kitty, tmux)."""
        try:
            if self.terminal == "kitty":
                return self._kitty("get-text")
            if self.terminal == "tmux":
                return subprocess.run(
                    ["tmux", "-L", self.tmux_name, "capture-pane", "-p"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=True,
                ).stdout
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return ""
        return None

    def _kitty(self, *args: str) -> str:
        return subprocess.run(
            ["kitty", "@", "--to", f"unix:{self.kitty_socket}", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout

    def _xterm_window(self) -> str:
        if self._window is None:
            found = subprocess.run(
                ["xdotool", "search", "--sync", "--classname", self.resource_name],
                env={**os.environ, "DISPLAY": self.display},
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout.split()
            self._window = found[0]
        return self._window

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.press("q")
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if self.terminal == "tmux":
            subprocess.run(
                ["tmux", "-L", self.tmux_name, "kill-server"], capture_output=True, timeout=30
            )


def _app_is_drawn(session: _Session, probe: Path) -> bool:
    """The app's first frame is on screen: colours where the terminal started blank."""
    if session.process.poll() is not None:
        raise RuntimeError(
            f"{session.terminal} closed before the app drew anything: pelican-tui exited at"
            " start (run `python -m pelican_tui` in a terminal to see why)"
        )
    colours = screenshot(session.display, probe).getcolors(maxcolors=4096)
    return colours is None or len(colours) > 4


@contextlib.contextmanager
def _app_in(
    terminal: str,
    display: str,
    out_dir: Path,
    name: str,
    size: tuple[int, int] = (COLUMNS, ROWS),
) -> Iterator[_Session]:
    """The app running in ``terminal``, Claude's pane (``2``) answered with the pelican.

    The terminal's own messages go to ``out_dir/<name>.log``; if a wait gives
    up, the screen at that moment is kept as ``<name>-gave-up.png``.
    """
    with (
        AnthropicTestServer() as claude,
        tempfile.TemporaryDirectory(prefix=f"pelican-{terminal}-") as scratch,
    ):
        work = Path(scratch)
        app_env = {
            "PELICAN_HOME": str(work / "home"),
            "PELICAN_LOCAL__CONTEXT": "1024",
            "ANTHROPIC_API_KEY": "test-key-not-secret",
            "ANTHROPIC_BASE_URL": claude.base_url,
        }
        session = _Session(terminal, display, app_env, work, size, out_dir / f"{name}.log")
        try:
            probe = work / "probe.png"
            wait_for(lambda: _app_is_drawn(session, probe), TIMEOUT_S, "the app's first frame")
            if size[0] < 100:
                session.press("w")  # narrow: one pane at a time; show Claude's
            # `2` runs the right pane (Claude). A key typed while the app still
            # starts can be lost: press again until the request arrives.
            for _attempt in range(5):
                session.press("2")
                with contextlib.suppress(TimeoutError):
                    wait_for(lambda: bool(claude.requests), 10, "the Claude request")
                    break
            if not claude.requests:
                raise TimeoutError("the app never took the key 2 (no request reached Claude)")
            wait_for(lambda: claude.streams_completed >= 1, TIMEOUT_S, "Claude's answer")
            yield session
        except TimeoutError:
            with contextlib.suppress(Exception):
                screenshot(display, out_dir / f"{name}-gave-up.png")
            raise
        finally:
            session.close()


def check_terminal(terminal: str, display: str, out_dir: Path) -> Shot:
    """Run the app in ``terminal`` on ``display``, show the pelican, photograph and compare it."""
    with _app_in(terminal, display, out_dir, terminal) as session:
        return _photograph(session, out_dir, terminal)


def check_redraws(display: str, out_dir: Path) -> list[Shot]:
    """xterm (Sixel): the picture after full screen and back, a resize, and pane switches at 80.

    Sixel pixels stay on a terminal's screen until something is drawn over
    them, so each step checks that the picture is whole and alone where it
    should be (a leftover would change the white rectangle found).
    """
    shots: list[Shot] = []
    with _app_in("xterm", display, out_dir, "xterm-redraws") as session:
        first = _photograph(session, out_dir, "xterm-1-pane")
        shots.append(first)
        session.press("f")
        full_screen = _photograph(session, out_dir, "xterm-2-full-screen", after=first)
        shots.append(full_screen)
        session.press("Escape")
        closed = _photograph(session, out_dir, "xterm-3-full-screen-closed", after=full_screen)
        if first.picture_box != closed.picture_box:
            closed.problems.append(
                f"the pane's picture moved: {first.picture_box} before, {closed.picture_box} after"
            )
        shots.append(closed)
        session.resize(120, 40)
        shots.append(_photograph(session, out_dir, "xterm-4-resized-120x40", after=closed))
    with _app_in("xterm", display, out_dir, "xterm-80-columns", size=(80, 40)) as session:
        shots.append(_photograph(session, out_dir, "xterm-5-80-columns"))
        session.press("w")
        hidden = Shot("xterm-6-80-columns-other-pane", "sixel", out_dir / "xterm-6.png")
        try:
            wait_for(lambda: _no_picture(display, hidden.screenshot), TIMEOUT_S, "no picture")
        except TimeoutError as error:
            hidden.problems.append(f"the hidden pane's picture stayed on the screen ({error})")
        shots.append(hidden)
        session.press("w")
        shots.append(_photograph(session, out_dir, "xterm-7-80-columns-back"))
    return shots


def check_notification_gone(display: str, out_dir: Path) -> list[Shot]:
    """xterm (Sixel) at 80x24: a notification over the full-screen picture, both whole.

    The notification is a real one: llama-server (the app's own, on the tiny model)
    ends while the picture is full screen, and the app says so for 15 s, over the
    picture's last rows. While it is up, full screen is closed and opened again
    (``escape``, ``f``): the picture, drawn anew, must look as when the
    notification came over it (not missing, not drawn over the notification).
    Once it has gone, the screen must be what it was before it came, pixel for pixel.
    """
    shots: list[Shot] = []
    with _app_in("xterm", display, out_dir, "xterm-notification", size=(80, 24)) as session:
        # (the pane's picture is small at 80x24: found, not compared)
        pane = Shot("xterm-8-80x24-pane", "sixel", out_dir / "xterm-8-80x24-pane.png")
        pane.picture_box, _ = _stable_picture(session, pane.screenshot, "sixel")
        session.press("f")
        before = _photograph(session, out_dir, "xterm-9-80x24-full-screen", after=pane)
        shown = Shot("xterm-10-notification", "sixel", out_dir / "xterm-10-notification.png")
        again = Shot("xterm-11-f-again", "sixel", out_dir / "xterm-11-f-again.png")
        gone = Shot("xterm-12-notification-gone", "sixel", out_dir / "xterm-12.png")
        shots += [pane, before, shown, again, gone]
        if before.problems:
            return shots
        clean = _pixels(before.screenshot)
        session.stop_llama_server()
        try:
            wait_for(
                lambda: not _same_screen(display, shown.screenshot, clean), 30, "a notification"
            )
            with_notification = _steady_screen(display, shown.screenshot)
            notification = _difference_box(shown.screenshot, clean)
            assert notification is not None
            # What must be as it was: the notification, and all above it (the cells
            # beside it on its rows may go without the picture: it is sent above it).
            seen = np.zeros(clean.shape[:2], dtype=bool)
            seen[: notification[1]] = True
            left, top, right, bottom = notification
            seen[top:bottom, left:right] = True
            session.press("Escape")
            wait_for(
                lambda: not _same_screen(display, again.screenshot, with_notification),
                10,
                "the main screen",
            )
            session.press("f")
            wait_for(
                lambda: _same_screen(display, again.screenshot, with_notification, seen),
                8,
                "the full-screen picture and the notification as they were",
            )
        except TimeoutError as error:
            box = _difference_box(again.screenshot, _pixels(shown.screenshot))
            again.problems.append(f"{error}: it differs in {box}")
        try:
            wait_for(lambda: _same_screen(display, gone.screenshot, clean), 40, "it to go")
        except TimeoutError as error:
            box = _difference_box(gone.screenshot, clean)
            gone.problems.append(f"the screen is not as before ({error}): it differs in {box}")
    return shots


@dataclass
class Following:
    """What the app wrote to the terminal while full screen (``f``) followed a streaming run."""

    terminal: str
    mode: str
    streaming_bytes: int = 0
    streaming_s: float = 0.0
    idle_bytes: int = 0
    """Written in :data:`IDLE_S` with full screen open after the run ended."""
    idle_s: float = 0.0
    images: int = 0
    """Pictures sent while it followed the run (Sixel images, Kitty-graphics transmissions)."""
    resent: int = 0
    """Sixel images sent again, unchanged, where the one before them was."""
    kept: list[str] = field(default_factory=list)
    """Kitty-graphics pictures sent while following, not deleted with their data
    (``d=I,i=<id>``) when replaced or when full screen closed."""
    problems: list[str] = field(default_factory=list)

    def verdict(self) -> str:
        rate = self.streaming_bytes / max(self.streaming_s, 1e-9)
        state = "ok" if not self.problems else "FAIL: " + "; ".join(self.problems)
        return (
            f"{self.terminal:<6} {self.mode:<8} following: {self.streaming_bytes} B in"
            f" {self.streaming_s:.1f} s ({rate:.0f} B/s), {self.images} pictures,"
            f" {self.resent} re-sent unchanged, {len(self.kept)} kept;"
            f" idle {self.idle_bytes} B in {self.idle_s:.1f} s · {state}"
        )


IDLE_S = 5.0
IDLE_BUDGET_BYTES = 2_000
"""Most an open full screen may write in :data:`IDLE_S` once its pictures are final."""


def check_following(terminal: str, display: str, out_dir: Path, mode: str) -> Following:
    """The bytes written while the full-screen pictures (``f``) follow a streaming run.

    Claude's pane (``2``) streams its pelican slowly (the loopback server's ``slow``
    scenario, 0.4 s between events: ~15 s); ``f`` is pressed once the request has
    arrived. ``script`` keeps every byte the app writes. Each new preview must be sent
    once (Sixel: the same image is not sent again where it is; Kitty graphics: a
    picture replaced is deleted with its data), and once the run has ended the open
    full screen writes (almost) nothing. Kitty graphics: every picture sent while it
    followed is deleted with its data by the time full screen is closed (escape).
    """
    result = Following(terminal, mode)
    typescript = out_dir / f"{terminal}-{mode}-following.typescript"
    with (
        AnthropicTestServer(scenario="slow", chunk_delay_s=0.4) as claude,
        tempfile.TemporaryDirectory(prefix=f"pelican-{terminal}-") as scratch,
    ):
        work = Path(scratch)
        app_env = {
            "PELICAN_HOME": str(work / "home"),
            "PELICAN_LOCAL__CONTEXT": "1024",
            "ANTHROPIC_API_KEY": "test-key-not-secret",
            "ANTHROPIC_BASE_URL": claude.base_url,
        }
        log = out_dir / f"{terminal}-{mode}-following.log"
        session = _Session(
            terminal, display, app_env, work, log=log, typescript=typescript,
            app_args=("--image-mode", mode),
        )  # fmt: skip
        try:
            probe = work / "probe.png"
            wait_for(lambda: _app_is_drawn(session, probe), TIMEOUT_S, "the app's first frame")
            for _attempt in range(5):  # a key typed while the app still starts can be lost
                session.press("2")
                with contextlib.suppress(TimeoutError):
                    wait_for(lambda: bool(claude.requests), 10, "the Claude request")
                    break
            if not claude.requests:
                raise TimeoutError("the app never took the key 2 (no request reached Claude)")
            session.press("f")
            time.sleep(1.0)  # full screen drawn with the picture of that moment
            start, started = typescript.stat().st_size, time.monotonic()
            wait_for(lambda: claude.streams_completed >= 1, TIMEOUT_S, "Claude's answer")
            time.sleep(2.0)  # the final picture drawn
            end, ended = typescript.stat().st_size, time.monotonic()
            screenshot(display, out_dir / f"{terminal}-{mode}-following.png")
            time.sleep(IDLE_S)
            idle_end = typescript.stat().st_size
            result.idle_s = time.monotonic() - ended
            session.press("Escape")
            time.sleep(3.0)  # full screen closed: the panes drawn again
            closed = typescript.stat().st_size
            screenshot(display, out_dir / f"{terminal}-{mode}-following-closed.png")
        except TimeoutError:
            with contextlib.suppress(Exception):
                screenshot(display, out_dir / f"{terminal}-{mode}-following-gave-up.png")
            raise
        finally:
            session.close()
    written = typescript.read_bytes()
    result.streaming_bytes, result.streaming_s = end - start, ended - started
    result.idle_bytes = idle_end - end
    following = written[start:end]
    if mode == "sixel":
        result.images, result.resent = _sixel_images(following)
        if result.resent:
            result.problems.append(f"{result.resent} Sixel images sent again unchanged")
    elif mode == "tgp":
        result.images, result.kept = _kitty_pictures(following, written[start:closed])
        if result.kept:
            result.problems.append(
                f"pictures of the full screen kept in the terminal once closed: {result.kept}"
            )
    if result.idle_bytes > IDLE_BUDGET_BYTES:
        result.problems.append(
            f"{result.idle_bytes} B written in {result.idle_s:.1f} s with nothing new to show"
        )
    return result


@dataclass
class Opening:
    """What the app wrote to the terminal when full screen (``f``) opened on a finished run
    (or when the terminal was resized: :attr:`action`)."""

    terminal: str
    mode: str
    action: str = "opening full screen"
    written: int = 0
    """Bytes written from the key (or the resize) to :data:`OPENING_S` after it."""
    images: int = 0
    """Pictures sent (Sixel images; Kitty graphics: transmissions and placements)."""
    problems: list[str] = field(default_factory=list)

    def verdict(self) -> str:
        state = "ok" if not self.problems else "FAIL: " + "; ".join(self.problems)
        return (
            f"{self.terminal:<6} {self.mode:<8} {self.action}: {self.written} B,"
            f" {self.images} pictures · {state}"
        )


OPENING_S = 5.0
"""How long after ``f`` what the app writes is counted (drawn and settled)."""


def check_opening(terminal: str, display: str, out_dir: Path, mode: str) -> Opening:
    """The pictures sent when the pictures full screen (``f``) opens on a finished run.

    Claude's pane (``2``) draws its pelican (the loopback server, at full speed); once
    the answer is in and drawn, ``f``. ``script`` keeps every byte the app writes; the
    one picture there is must be sent once (Sixel: one image; Kitty graphics: one
    transmission, one placement, and its cells of placeholders written once).
    """
    return _sends_after(terminal, display, out_dir, mode, "opening", lambda s: s.press("f"))


RESIZED = (120, 40)
"""The size in cells :func:`check_resize` gives the terminal (from 160x48)."""


def check_resize(terminal: str, display: str, out_dir: Path, mode: str) -> Opening:
    """The pictures sent when the terminal is resized (to :data:`RESIZED`) on a finished run.

    As :func:`check_opening`, with a resize of the terminal's window for the key: the
    pane's one picture must be sent once, at its new size; and the screen photographed
    after it shows the picture, whole (not blank, not the old size's).
    """
    result = _sends_after(
        terminal,
        display,
        out_dir,
        mode,
        "resize",
        lambda s: s.resize(*RESIZED),
        photograph=mode == expected_mode(terminal),  # (kitty 0.26 draws no Kitty graphics)
    )
    result.action = "resizing the terminal"
    return result


def _sends_after(
    terminal: str,
    display: str,
    out_dir: Path,
    mode: str,
    name: str,
    act: Callable[[_Session], None],
    photograph: bool = False,
) -> Opening:
    """What the app writes in :data:`OPENING_S` after ``act`` on a finished run of Claude's
    pane (see :func:`check_opening`); ``photograph``: the screen then too, its picture
    compared as :func:`check_terminal` does."""
    result = Opening(terminal, mode)
    typescript = out_dir / f"{terminal}-{mode}-{name}.typescript"
    with (
        AnthropicTestServer(scenario="ok") as claude,
        tempfile.TemporaryDirectory(prefix=f"pelican-{terminal}-") as scratch,
    ):
        work = Path(scratch)
        app_env = {
            "PELICAN_HOME": str(work / "home"),
            "PELICAN_LOCAL__CONTEXT": "1024",
            "ANTHROPIC_API_KEY": "test-key-not-secret",
            "ANTHROPIC_BASE_URL": claude.base_url,
        }
        log = out_dir / f"{terminal}-{mode}-{name}.log"
        session = _Session(
            terminal, display, app_env, work, log=log, typescript=typescript,
            app_args=("--image-mode", mode),
        )  # fmt: skip
        try:
            probe = work / "probe.png"
            wait_for(lambda: _app_is_drawn(session, probe), TIMEOUT_S, "the app's first frame")
            for _attempt in range(5):  # a key typed while the app still starts can be lost
                session.press("2")
                with contextlib.suppress(TimeoutError):
                    wait_for(lambda: claude.streams_completed >= 1, 10, "Claude's answer")
                    break
            if not claude.streams_completed:
                raise TimeoutError("the app never took the key 2 (no answer from Claude)")
            time.sleep(3.0)  # the pane's picture drawn, the run's end shown
            start = typescript.stat().st_size
            act(session)
            time.sleep(OPENING_S)
            end = typescript.stat().st_size
            if photograph:
                shot = _photograph(session, out_dir, f"{terminal}-{mode}-{name}")
                result.problems += shot.problems
            else:
                screenshot(display, out_dir / f"{terminal}-{mode}-{name}.png")
        except TimeoutError:
            with contextlib.suppress(Exception):
                screenshot(display, out_dir / f"{terminal}-{mode}-{name}-gave-up.png")
            raise
        finally:
            session.close()
    opened = typescript.read_bytes()[start:end]
    result.written = len(opened)
    if mode == "sixel":
        result.images = len(_SIXEL.findall(opened))
    elif mode == "tgp":
        transmitted = len(list(dict.fromkeys(_kitty_commands(opened, (b"t", b"T")))))
        placed = len(list(_kitty_commands(opened, (b"p",))))
        result.images = max(transmitted, placed)
        if placed != transmitted:
            result.problems.append(f"{transmitted} pictures transmitted, {placed} placements")
        cells = opened.decode("utf-8", "replace").count(KITTY_PLACEHOLDER)
        area = sum(int(keys.get(b"c", 0)) * int(keys.get(b"r", 0)) for keys in _kitty_keys(opened))
        if cells != area:  # the picture's cells of placeholders, each frame that draws it
            result.problems.append(f"{cells} placeholder cells sent for {area} cells placed")
    if result.images != 1:
        result.problems.append(f"{result.images} pictures sent for the one picture shown")
    return result


_SIXEL = re.compile(rb"\x1b\[(\d+);(\d+)H\x1bP[^\x1b]*?q(.*?)\x1b\\", re.S)
_KITTY = re.compile(rb"\x1b_G([^;\x1b]*)(?:;[^\x1b]*)?\x1b\\")


def _sixel_images(written: bytes) -> tuple[int, int]:
    """(Sixel images in ``written``, how many repeat the image sent before at their place).

    The first picture at a place counts too: Textual painted a widget it resized, then
    again with the layout it asked for after (see ``textual_image_pictures``).
    """
    last: dict[tuple[bytes, bytes], bytes] = {}
    images = resent = 0
    for match in _SIXEL.finditer(written):
        place, image = (match.group(1), match.group(2)), match.group(3)
        images += 1
        resent += last.get(place) == image
        last[place] = image
    return images, resent


def _kitty_pictures(written: bytes, until_closed: bytes) -> tuple[int, list[str]]:
    """(pictures transmitted in ``written``, the ids of those not deleted, with their
    data, by ``a=d,d=I,i=<id>`` in ``until_closed``: replaced, or the screen closed)."""
    sent = list(dict.fromkeys(_kitty_commands(written, (b"t", b"T"))))
    deleted = set(_kitty_commands(until_closed, (b"d",), b"I"))
    return len(sent), [image for image in sent if image not in deleted]


def _kitty_keys(written: bytes) -> Iterator[dict[bytes, bytes]]:
    """The keys of each Kitty-graphics placement (``a=p``) in ``written``."""
    for match in _KITTY.finditer(written):
        keys = dict(pair.split(b"=", 1) for pair in match.group(1).split(b",") if b"=" in pair)
        if keys.get(b"a") == b"p":
            yield keys


def _kitty_commands(
    written: bytes, actions: tuple[bytes, ...], delete: bytes | None = None
) -> Iterator[str]:
    """The image ids of the Kitty-graphics commands in ``written`` with one of ``actions``
    (and, for deletes, ``d=<delete>``)."""
    for match in _KITTY.finditer(written):
        keys = dict(pair.split(b"=", 1) for pair in match.group(1).split(b",") if b"=" in pair)
        if keys.get(b"a", b"t") in actions and (delete is None or keys.get(b"d") == delete):
            yield keys.get(b"i", b"").decode()


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as opened:
        return np.asarray(opened.convert("RGB"))


def _steady_screen(display: str, path: Path) -> np.ndarray:
    """The screen once two photographs in a row are the same (bounded)."""
    last = np.asarray(screenshot(display, path))

    def steady() -> bool:
        nonlocal last
        now = np.asarray(screenshot(display, path))
        same, last = bool(np.array_equal(now, last)), now
        return same

    wait_for(steady, 10, "a steady screen")
    return last


def _same_screen(
    display: str, path: Path, clean: np.ndarray, where: np.ndarray | None = None
) -> bool:
    """Whether the screen (photographed to ``path``) is ``clean``, where ``where`` is True."""
    now = np.asarray(screenshot(display, path))
    if where is None:
        return bool(np.array_equal(now, clean))
    return bool(np.array_equal(now[where], clean[where]))


def _difference_box(path: Path, clean: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the pixels of the screenshot at ``path`` that differ."""
    if not path.exists():
        return None
    with Image.open(path) as opened:
        differs = np.any(np.asarray(opened.convert("RGB")) != clean, axis=2)
    rows, columns = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    if not rows.size:
        return None
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def _photograph(session: _Session, out_dir: Path, name: str, after: Shot | None = None) -> Shot:
    """Wait for a steady picture, photograph the screen and compare the picture.

    ``after``: the shot before a key or resize that moves the picture; its
    picture must be gone from where it was before this one counts.
    """
    mode = expected_mode(session.terminal)
    shot = Shot(name, mode, out_dir / f"{name}.png")
    moved_from = after.picture_box if after is not None else None
    shot.picture_box, screen = _stable_picture(session, shot.screenshot, mode, moved_from)
    shot.screen_text = session.text()
    if shot.picture_box is None or screen is None:
        shot.problems.append("no picture found on the screen")
        return shot
    reference = reference_for(screen.crop(shot.picture_box))
    full, coarse, band = compare(screen, shot.picture_box, reference)
    shot.full_diff, shot.coarse_diff, shot.worst_band_diff = full, coarse, band
    side_by_side(screen, shot.picture_box, reference).save(out_dir / f"{name}-picture.png")
    tolerance = TOLERANCES[mode]
    if full > tolerance.full:
        shot.problems.append(f"full-size difference {full:.1f} > {tolerance.full}")
    if coarse > tolerance.coarse:
        shot.problems.append(f"difference {coarse:.1f} > {tolerance.coarse}")
    if band > tolerance.band:
        shot.problems.append(f"a band differs by {band:.1f} > {tolerance.band} (a stripe?)")
    if shot.screen_text is not None:
        if f"img {mode}" not in shot.status_line:
            shot.problems.append(f"status bar does not say img {mode}: {shot.status_line!r}")
        if KITTY_PLACEHOLDER in shot.screen_text and mode != "tgp":
            shot.problems.append("Kitty-graphics placeholder boxes on the screen")
    return shot


def _no_picture(display: str, path: Path) -> bool:
    return find_picture(screenshot(display, path)) is None


def _stable_picture(
    session: _Session,
    path: Path,
    mode: str,
    moved_from: tuple[int, int, int, int] | None = None,
) -> tuple[tuple[int, int, int, int] | None, Image.Image | None]:
    """Poll until the picture is on screen and the same in three photographs in a row.

    Returns its box and the last photograph. Waits out a one-time notification
    over the pane (the fallback note), and with ``moved_from``, until the
    picture is no longer in that box (a key or a resize has taken effect).
    """
    frames: list[tuple[tuple[int, int, int, int], np.ndarray]] = []
    last: Image.Image | None = None

    def settled() -> bool:
        nonlocal last
        text = session.text()
        if text is not None and "Pictures" in text:
            return False  # the fallback notification still covers part of the pane
        last = screenshot(session.display, path)
        found = find_picture(last)
        if found is None or found == moved_from:
            frames.clear()
            return False
        frames.append((found, np.asarray(last.crop(found))))
        del frames[:-3]
        return len(frames) == 3 and all(
            box == found and np.array_equal(pixels, frames[-1][1]) for box, pixels in frames
        )

    with contextlib.suppress(TimeoutError):
        wait_for(settled, TIMEOUT_S, f"a steady picture ({mode})")
    if not frames or last is None:
        return None, last
    return frames[-1][0], last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("real-terminals"))
    parser.add_argument("--only", nargs="+", choices=TERMINALS, default=list(TERMINALS))
    parser.add_argument(
        "--no-redraws",
        dest="redraws",
        action="store_false",
        help="skip xterm's redraw steps (full screen and back, resize, panes at 80 columns)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reference.png").write_bytes(sandbox_png(1024))
    failed = False
    with virtual_display() as display:
        for terminal in args.only:
            missing = missing_programs(terminal)
            if missing:
                print(f"{terminal:<6} skipped: {', '.join(missing)} not installed")
                continue
            shots = [check_terminal(terminal, display, args.out)]
            if terminal == "xterm" and args.redraws:
                shots += check_redraws(display, args.out)
                shots += check_notification_gone(display, args.out)
            for shot in shots:
                print(shot.verdict())
                if shot.status_line:
                    print(f"       status bar: {shot.status_line}")
                failed |= bool(shot.problems)
    print(f"screenshots in {args.out}/")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
