"""Which picture mode a terminal gets, and why; the Sixel palette; one naming of image modes.

The replies below are the bytes the real terminals sent (xterm 379 as a VT340,
kitty 0.26.5, tmux 3.3a, all under Xvfb on Debian 12). The pseudo-terminal
tests put :func:`ask_terminal` and the app's start-up on a real pty, with the
test playing the terminal.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import shutil
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any, get_args

import pytest
from PIL import Image

from pelican_tui.backends.settings import ImageMode
from pelican_tui.terminal_caps import (
    DEVICE_ATTRIBUTES,
    IMAGE_MODES,
    KITTY_GRAPHICS_QUERY,
    SETTING_VALUES,
    XTVERSION,
    TerminalQuestions,
    TerminalReport,
    ask_terminal,
    choose_image_mode,
    parse_name_version,
    parse_replies,
)

XTERM_VT340 = b"\x1bP>|XTerm(379)\x1b\\\x1b[?63;1;2;4;6;9;15;16;22;28c"
KITTY_0_26 = b"\x1bP>|kitty(0.26.5)\x1b\\\x1b_Gi=31;OK\x1b\\\x1b[6;20;9t\x1b[?62;c"
KITTY_0_35 = b"\x1bP>|kitty(0.35.2)\x1b\\\x1b_Gi=31;OK\x1b\\\x1b[?62;c"
TMUX = b"\x1bP>|tmux 3.3a\x1b\\\x1b[?1;2c"
WEZTERM = b"\x1bP>|WezTerm 20240203-110809-5046fc22\x1b\\\x1b_Gi=31;OK\x1b\\\x1b[?65;4;6;18;22c"
PLAIN_XTERM = b"\x1bP>|XTerm(379)\x1b\\\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c"
NO_ENV: dict[str, str] = {}


def report(data: bytes, environ: dict[str, str] | None = None) -> TerminalReport:
    return parse_replies(data, environ=NO_ENV if environ is None else environ)


# -- what each terminal gets -------------------------------------------------------------


def test_xterm_as_a_vt340_gets_sixel() -> None:
    seen = report(XTERM_VT340)
    assert (seen.name, seen.version, seen.name_source) == ("xterm", "379", "XTVERSION")
    assert seen.sixel and not seen.kitty_graphics and seen.answered
    choice = choose_image_mode(seen)
    assert (choice.mode, choice.fallback, choice.note) == ("sixel", False, "")
    assert choice.reason == "xterm 379 reports Sixel"


def test_kitty_before_0_28_falls_back_to_half_cells_and_says_why() -> None:
    seen = report(KITTY_0_26)
    assert seen.kitty_graphics and not seen.sixel
    assert seen.cell_px == (9, 20), "CSI 16 t answers height;width"
    choice = choose_image_mode(seen)
    assert (choice.mode, choice.fallback) == ("halfcell", True)
    assert choice.reason.startswith("kitty 0.26.5 cannot draw Kitty-graphics Unicode placeholders")
    assert "0.28" in choice.reason and "no Sixel" in choice.reason
    assert choice.note == "kitty 0.26.5 fallback"


def test_kitty_from_0_28_gets_kitty_graphics() -> None:
    choice = choose_image_mode(report(KITTY_0_35))
    assert (choice.mode, choice.fallback) == ("tgp", False)
    assert choice.reason == "kitty 0.35.2 reports Kitty graphics"


def test_wezterm_and_konsole_get_sixel_although_they_report_kitty_graphics() -> None:
    wezterm = choose_image_mode(report(WEZTERM))
    assert (wezterm.mode, wezterm.fallback) == ("sixel", True)
    assert "fails with its Unicode placeholders" in wezterm.reason
    # Konsole without an XTVERSION answer: named by its environment variable.
    konsole_replies = b"\x1b_Gi=31;OK\x1b\\\x1b[?62;4c"
    konsole = report(konsole_replies, {"KONSOLE_VERSION": "230804"})
    assert (konsole.name, konsole.name_source) == ("konsole", "KONSOLE_VERSION")
    assert choose_image_mode(konsole).mode == "sixel"


def test_tmux_never_gets_kitty_graphics() -> None:
    plain = choose_image_mode(report(TMUX))
    assert (plain.mode, plain.fallback) == ("halfcell", False)
    assert plain.reason == "tmux 3.3a reports neither Kitty graphics nor Sixel: half-cell blocks"
    # Even if an outer terminal's answer leaked through, tmux would not pass the images.
    leaked = report(b"\x1b_Gi=31;OK\x1b\\" + TMUX)
    assert choose_image_mode(leaked).mode == "halfcell"
    inside = report(b"\x1b[?1;2;4c", {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "screen"})
    assert inside.name == "tmux" and choose_image_mode(inside).mode == "sixel"


def test_terminals_without_graphics_and_silent_ones_get_half_cells() -> None:
    assert choose_image_mode(report(PLAIN_XTERM)).mode == "halfcell"
    silent = report(b"")
    assert not silent.answered and silent.name is None
    choice = choose_image_mode(silent)
    assert choice.mode == "halfcell"
    assert choice.reason.startswith("this terminal did not answer within")


def test_no_terminal_gets_unicode_and_a_setting_forces_any_mode() -> None:
    assert choose_image_mode(TerminalReport(tty=False)).mode == "unicode"
    assert choose_image_mode(None).mode == "unicode"
    for mode in IMAGE_MODES:
        forced = choose_image_mode(report(KITTY_0_26), mode)
        assert (forced.mode, forced.forced, forced.fallback) == (mode, True, False)
        assert forced.reason == "set by ui.image_mode or --image-mode"
    with pytest.raises(ValueError, match="image mode must be one of auto, tgp"):
        choose_image_mode(report(KITTY_0_26), "kitty")


def test_names_and_versions_from_xtversion() -> None:
    assert parse_name_version("kitty(0.26.5)") == ("kitty", "0.26.5")
    assert parse_name_version("XTerm(379)") == ("xterm", "379")
    assert parse_name_version("tmux 3.3a") == ("tmux", "3.3a")
    assert parse_name_version("foot(1.16.2)") == ("foot", "1.16.2")
    assert parse_name_version("") == (None, None)


# -- one naming ------------------------------------------------------------------------


def test_one_set_of_image_mode_names() -> None:
    """The setting, --image-mode, the widgets and the labels all use IMAGE_MODES' names."""
    from textual_image.widget import SixelImage, TGPImage, UnicodeImage

    from pelican_tui.cli import build_parser
    from pelican_tui.widgets import picture

    assert SETTING_VALUES == get_args(ImageMode) == ("auto", *IMAGE_MODES)
    assert picture.PICTURE_MODES == SETTING_VALUES
    flag = next(a for a in build_parser()._actions if "--image-mode" in a.option_strings)
    assert tuple(flag.choices or ()) == SETTING_VALUES
    drawn_by = {
        "tgp": TGPImage,
        "sixel": SixelImage,
        "halfcell": picture.RunsHalfcellImage,  # pelican-tui's own
        "unicode": UnicodeImage,
    }
    assert set(drawn_by) == set(IMAGE_MODES)
    for mode, widget in drawn_by.items():
        assert issubclass(picture.widget_class(mode), widget), mode


# -- the Sixel palette -------------------------------------------------------------------


_TERMINAL_DEFAULT = (51, 204, 51)
"""What xterm drew before any colour was selected, in a bare test (VT340's colour 3)."""


def decode_sixel(data: str, *, definition_selects: bool) -> Image.Image:
    """A small Sixel decoder, with either reading of ``#n;2;r;g;b``.

    VT340 documents a definition as also selecting the colour; xterm 379
    (``-ti vt340``) does not select it: pixels drawn after a definition keep
    the colour selected before (at first, the terminal's own). The pixels a
    stream draws under each reading are what a terminal of that kind shows.
    """
    header = re.match(r'\x1bP[0-9;]*q(?:"1;1;(\d+);(\d+))?', data)
    assert header is not None and header.group(1), "expected raster attributes"
    width, height = int(header.group(1)), int(header.group(2))
    image = Image.new("RGB", (width, height), (0, 255, 0))  # green: never drawn
    pixels = image.load()
    assert pixels is not None
    registers: dict[int, tuple[int, int, int]] = {}
    current: int | None = None  # nothing selected yet: the terminal's own colour
    x = band = 0
    body = data[header.end() : data.rindex("\x1b\\")]
    for token in re.finditer(r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?|!(\d+)(.)|([?-~])|\$|-", body):
        text = token.group(0)
        if text.startswith("#"):
            register = int(token.group(1))
            if token.group(2) is not None:
                r, g, b = (round(int(token.group(i)) * 255 / 100) for i in (2, 3, 4))
                registers[register] = (r, g, b)
                if definition_selects:
                    current = register
            else:
                current = register
            continue
        if text == "$":
            x = 0
            continue
        if text == "-":
            x, band = 0, band + 1
            continue
        count, char = (int(token.group(5)), token.group(6)) if token.group(5) else (1, text)
        bits = ord(char) - 0x3F
        colour = _TERMINAL_DEFAULT if current is None else registers.get(current, _TERMINAL_DEFAULT)
        for _ in range(count):
            for row in range(6):
                y = band * 6 + row
                if bits >> row & 1 and x < width and y < height:
                    pixels[x, y] = colour
            x += 1
    return image


def _sample_picture() -> Image.Image:
    """A pelican-like picture: white page, a grey ellipse, a red bar, an orange beak."""
    from PIL import ImageDraw

    image = Image.new("RGB", (120, 90), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 30, 80, 60), fill=(250, 250, 250), outline=(51, 51, 51), width=2)
    draw.line((20, 80, 100, 70), fill=(204, 51, 51), width=4)
    draw.polygon([(80, 40), (118, 45), (80, 44)], fill=(245, 166, 35))
    return image


def test_palette_first_sixels_draw_the_same_on_both_kinds_of_terminal() -> None:
    from textual_image._sixel import image_to_sixels

    from pelican_tui.widgets.picture import palette_first

    picture = _sample_picture()
    original = image_to_sixels(picture)
    fixed = palette_first(original)
    as_vt340 = decode_sixel(fixed, definition_selects=True)
    as_xterm = decode_sixel(fixed, definition_selects=False)
    assert as_vt340.tobytes() == as_xterm.tobytes()
    meant = decode_sixel(original, definition_selects=True)
    assert meant.tobytes() == as_vt340.tobytes(), "the same picture as textual-image meant"
    # textual-image's own stream, read as xterm reads it: the top bands (all
    # white) come out in another colour, the stripe seen in xterm.
    broken = decode_sixel(original, definition_selects=False)
    assert broken.getpixel((60, 2)) != (255, 255, 255)
    assert as_xterm.getpixel((60, 2)) == (255, 255, 255)
    # Every colour defined once, before the first pixel.
    header_end = fixed.index("#")
    first_pixel = re.search(r"[?-~!]", fixed[header_end:])
    assert first_pixel is not None
    palette = fixed[header_end : header_end + first_pixel.start()]
    definitions = re.findall(r"#(\d+);2;", palette)
    assert len(definitions) == len(set(definitions)) == len(re.findall(r"#\d+;2;", original))
    assert not re.search(r"#\d+;2;", fixed[header_end + first_pixel.start() :])


def test_palette_first_leaves_what_it_cannot_reorder() -> None:
    from pelican_tui.widgets.picture import palette_first

    assert palette_first("not sixel") == "not sixel"
    redefined = '\x1bP0;0;0q"1;1;2;12#1;2;100;0;0!2~-#1;2;0;0;100!2~\x1b\\'
    assert palette_first(redefined) == redefined, "a register redefined mid-image stays as sent"


def test_pictures_are_given_the_shape_of_their_cells() -> None:
    """Whole cells are seldom the picture's shape; white margin, not stretching, makes it up."""
    from pelican_tui.widgets.picture import MATTE, shaped_like

    picture = Image.new("RGB", (400, 300), (10, 20, 30))
    # 61x23 cells of 10x20 px = 610x460 px: a little taller than 4:3.
    shaped = shaped_like(picture, 610, 460)
    assert shaped.size == (400, 302)
    assert shaped.getpixel((200, 0)) == MATTE and shaped.getpixel((200, 301)) == MATTE
    assert shaped.getpixel((200, 1)) == (10, 20, 30)
    wide = shaped_like(picture, 800, 300)
    assert wide.size == (800, 300) and wide.getpixel((0, 150)) == MATTE
    assert shaped_like(picture, 401, 300) is picture, "within a pixel: unchanged"


# -- on a real pseudo-terminal -----------------------------------------------------------


def _read_available(fd: int, until: bytes, limit_s: float = 10.0) -> bytes:
    """Read from ``fd`` until ``until`` has been seen (bounded)."""
    data = b""
    while until not in data:
        ready, _, _ = select.select([fd], [], [], limit_s)
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed (the child exited)
            break
        if not chunk:
            break
        data += chunk
    return data


def test_ask_terminal_sends_one_round_of_questions_and_stops_at_the_da1_answer() -> None:
    master, slave = pty.openpty()
    try:
        import threading

        seen: list[bytes] = []

        def play_kitty() -> None:
            seen.append(_read_available(master, DEVICE_ATTRIBUTES.encode()))
            os.write(master, KITTY_0_26 + b"typed after")

        terminal = threading.Thread(target=play_kitty)
        terminal.start()
        got = ask_terminal(slave, slave, environ=NO_ENV)
        terminal.join(10)
        questions = seen[0]
        assert questions.startswith(XTVERSION.encode() + KITTY_GRAPHICS_QUERY.encode())
        assert questions.endswith(DEVICE_ATTRIBUTES.encode()), "DA1 last: its answer ends the wait"
        assert b"\x1b[16t" in questions, "a pty without pixel sizes: the cell size is asked"
        assert (got.name, got.version, got.kitty_graphics, got.cell_px) == (
            "kitty",
            "0.26.5",
            True,
            (9, 20),
        )
        assert got.answered and got.asked
        assert termios.tcgetattr(slave)[3] & termios.ECHO, "the terminal's mode is restored"
    finally:
        os.close(master)
        os.close(slave)


def test_ask_terminal_gives_up_on_a_terminal_that_never_answers() -> None:
    master, slave = pty.openpty()
    try:
        got = ask_terminal(slave, slave, timeout_s=0.05, environ=NO_ENV)
        assert got.asked and not got.answered
        assert choose_image_mode(got).mode == "halfcell"
        assert "did not answer" in choose_image_mode(got).reason
    finally:
        os.close(master)
        os.close(slave)


def test_questions_sent_early_are_read_later_and_the_mode_restored() -> None:
    """Sent at the start of start-up, answered while it works, read when needed."""
    master, slave = pty.openpty()
    try:
        asking = TerminalQuestions(slave, slave, environ=NO_ENV)
        assert not termios.tcgetattr(slave)[3] & termios.ECHO, "the answers are not echoed"
        assert _read_available(master, DEVICE_ATTRIBUTES.encode()).startswith(XTVERSION.encode())
        os.write(master, XTERM_VT340)
        got = asking.answers()
        assert (got.name, got.sixel, got.answered) == ("xterm", True, True)
        assert asking.answers() is got, "read once"
        assert termios.tcgetattr(slave)[3] & termios.ECHO, "the terminal's mode is restored"
    finally:
        os.close(master)
        os.close(slave)


_STARTUP = """
import json, sys
from pelican_tui.terminal_caps import detect_terminal, start_asking
start_asking()  # as the command does, before the settings; answered while Textual is imported
from pelican_tui.launch import _survive_zero_sized_terminals, _textual_image_asks_nothing
import textual.app
_survive_zero_sized_terminals()
report = detect_terminal()
with _textual_image_asks_nothing(report.cell_px):
    from pelican_tui.widgets.picture import cell_pixels, image_choice
choice = image_choice("auto")
result = [choice.mode, choice.fallback, list(cell_pixels())]
sys.stdout.write("RESULT " + json.dumps(result) + "\\n")
"""


def _start_up_on_a_pty(answer: bytes | None) -> tuple[bytes, list[Any]]:
    """Run :data:`_STARTUP` on a pty whose terminal answers ``answer`` (None: nothing);
    return what it wrote and its result (mode, fallback, cell size)."""
    pid, master = pty.fork()
    if pid == 0:  # the child: the app's start-up up to the widgets' import
        # Not inside tmux or screen, wherever the tests run: the Kitty query is sent.
        environ = {k: v for k, v in os.environ.items() if k not in ("TMUX", "STY")}
        environ["TERM"] = "xterm-256color"
        os.execvpe(sys.executable, [sys.executable, "-c", _STARTUP], environ)
    written = b""
    try:
        if answer is not None:
            written += _read_available(master, DEVICE_ATTRIBUTES.encode(), limit_s=60)
            os.write(master, answer)
        written += _read_available(master, b"RESULT ", limit_s=60)
        written += _read_available(master, b"\n", limit_s=10)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(master)
    assert os.waitstatus_to_exitcode(status) == 0, written.decode(errors="replace")
    result = re.search(rb"RESULT (\[.*\])", written)
    assert result is not None, written
    return written, json.loads(result.group(1))


def test_start_up_asks_the_terminal_once_and_textual_image_asks_nothing(tmp_path: Path) -> None:
    """What launch does before Textual starts, on a pty with the test playing kitty 0.26.5."""
    written, (mode, fallback, cell) = _start_up_on_a_pty(KITTY_0_26)
    assert (mode, fallback, cell) == ("halfcell", True, [9, 20])
    # One round of questions: textual-image's own Sixel, Kitty and size queries never went out.
    assert written.count(b"\x1b[c") == 1
    assert written.count(b"\x1b_G") == 1
    assert written.count(b"\x1b[16t") == 1


def test_a_silent_terminal_gets_default_cells_and_no_traceback(tmp_path: Path) -> None:
    """A terminal that answers nothing (and a pty with no pixel size): textual-image is
    handed its own 10x20 fallback, so it neither asks nor logs its refused question
    (a warning with a traceback on stderr, left under the first frame)."""
    written, (mode, _fallback, cell) = _start_up_on_a_pty(None)
    assert (mode, cell) == ("halfcell", [10, 20])
    assert b"Traceback" not in written and b"Failed to get" not in written, written
    assert written.count(b"\x1b[16t") == 1, "textual-image asked for the cell size again"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (Debian: tmux)")
def test_under_tmux_the_pane_title_from_before_start_is_kept(tmp_path: Path) -> None:
    """tmux takes an APC string as the pane's title, and the Kitty-graphics query is
    one: sent inside tmux, the title stayed ``Gi=31,s=1,...`` after pelican-tui ended.

    A real tmux server; pelican-tui asks the terminal, then stops at a broken
    settings file (exit 2) before the app would set a title of its own."""
    config = tmp_path / "config.toml"
    config.write_text("this is = = broken\n")
    pelican = f"{shlex.quote(sys.executable)} -m pelican_tui --no-claude"
    shell = f"printf '\\033]2;before\\033\\\\'; sleep 0.3; {pelican}"
    env = dict(os.environ, PELICAN_CONFIG_FILE=str(config))
    env.pop("TMUX", None)
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock"), "-f", os.devnull]

    def ask(*words: str) -> str:
        done = subprocess.run([*tmux, *words], env=env, capture_output=True, text=True, timeout=30)
        return done.stdout.strip()

    ask("new-session", "-d", "-s", "p", "-x", "80", "-y", "24", "sh", "-c", shell)
    try:
        ask("set-option", "-t", "p", "remain-on-exit", "on")
        deadline = time.monotonic() + 60
        while ask("display", "-p", "-t", "p", "#{pane_dead}") != "1":
            assert time.monotonic() < deadline, ask("capture-pane", "-p", "-t", "p")
            time.sleep(0.1)
        # It stopped at the broken settings, before the app would set a title of its own.
        # Said on screen, not read from tmux's exit status: in CI's background job tmux
        # at times never collected it (the pane dead, "#{pane_dead_status}" empty for 60 s).
        said = ask("capture-pane", "-p", "-t", "p")
        assert "config.toml is" in said and "not valid TOML" in said, said
        assert ask("display", "-p", "-t", "p", "#{pane_title}") == "before"
    finally:
        ask("kill-server")


def test_doctor_says_what_was_detected_and_why(tmp_path: Path) -> None:
    """Under pytest there is no terminal: doctor says so, and what a forced mode overrides."""
    env = {
        **os.environ,
        "PELICAN_UI__IMAGE_MODE": "sixel",
        "PELICAN_LOCAL__URL": "http://127.0.0.1:9",
    }
    out = subprocess.run(
        [sys.executable, "-m", "pelican_tui", "doctor"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    ).stdout
    assert "image mode       sixel (Sixel): set by ui.image_mode or --image-mode" in out, out
    assert "auto would choose unicode (Unicode blocks): not a terminal" in out
    assert "terminal         none (stdin or stdout is not a terminal; nothing asked)" in out


async def test_status_bar_says_a_fallback_and_why_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.app import App, ComposeResult

    from pelican_tui import terminal_caps
    from pelican_tui.widgets.status_bar import StatusBar

    monkeypatch.setattr(terminal_caps._detection, "report", report(KITTY_0_26))

    class Host(App[None]):
        def __init__(self, mode: str) -> None:
            super().__init__()
            self.mode = mode
            self.notes: list[str] = []

        def compose(self) -> ComposeResult:
            yield StatusBar(self.mode)

        def notify(self, message: str, **kwargs: object) -> None:  # type: ignore[override]
            self.notes.append(message)

    detected = Host("halfcell")
    async with detected.run_test(size=(160, 3)) as pilot:
        await pilot.pause()
        text = detected.query_one(StatusBar).render_text().plain
        assert text.endswith("img halfcell (kitty 0.26.5 fallback)")
        assert len(detected.notes) == 1 and "kitty 0.28 added them" in detected.notes[0]
    forced = Host("sixel")  # --image-mode sixel in the same kitty: no fallback to explain
    async with forced.run_test(size=(160, 3)) as pilot:
        await pilot.pause()
        assert forced.query_one(StatusBar).render_text().plain.endswith("img sixel")
        assert forced.notes == []
