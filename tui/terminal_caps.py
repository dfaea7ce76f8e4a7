"""Which picture protocol the terminal really draws: one question, a table of limits, a choice.

Terminals say what they support, and some say too much. kitty before 0.28
answers the Kitty-graphics query but cannot draw the Unicode placeholders
that textual-image draws Kitty images with (the picture fills with boxes);
Konsole and WezTerm answer it too and fail the same way (both draw Sixel);
tmux never passes Kitty graphics through. So the choice is made from what the
terminal *is* as well as what it reports:

1. One round trip before Textual takes the terminal (:func:`ask_terminal`):
   XTVERSION (``CSI > 0 q``, answered ``DCS > | name(version) ST`` by xterm,
   kitty, tmux, WezTerm, foot ...), the Kitty-graphics query (not inside tmux
   or screen: :func:`takes_apc_as_title`), the cell size in pixels when the
   kernel does not know it (``CSI 16 t``), and last the
   primary device attributes (DA1, ``CSI c``), which every terminal answers
   (its attribute 4 means Sixel). Terminals answer in order, so reading stops
   at the DA1 reply: one round trip, and no waiting on terminals that ignore
   the other questions. A terminal that answers nothing costs at most
   :data:`REPLY_TIMEOUT_S`, once. The TUI sends the questions as soon as it
   knows it will start (:func:`start_asking`) and reads the answers just
   before it needs them (:func:`detect_terminal`), so the round trip (over
   SSH, the network's) overlaps the start-up work in between.
2. :data:`KNOWN_LIMITS`: the protocols a terminal reports but does not draw.
3. :func:`choose_image_mode`: Kitty graphics, else Sixel, else half-cell blocks
   (Unicode blocks when there is no terminal), skipping what the table rules
   out, with the reason in words.

This module holds the one naming of image modes: :data:`IMAGE_MODES` (the
values of the ``ui.image_mode`` setting and ``--image-mode`` besides "auto",
the name shown in the status bar and by ``doctor``) and what each is called on
screen. It does not import Textual or textual-image, so ``doctor`` can use it
without starting either.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from typing import get_args

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.settings import ImageMode

IMAGE_MODES: dict[str, str] = {
    "tgp": "Kitty graphics",
    "sixel": "Sixel",
    "halfcell": "half-cell blocks",
    "unicode": "Unicode blocks",
}
"""Every drawing mode, best first, and what it is called on screen.

The keys are the ``ui.image_mode`` / ``--image-mode`` values besides "auto"
(:data:`SETTING_VALUES`); textual-image's widget classes for them are
``TGPImage``, ``SixelImage``, ``HalfcellImage`` and ``UnicodeImage``.
"""

SETTING_VALUES: tuple[str, ...] = get_args(ImageMode)
"""``auto`` and every key of :data:`IMAGE_MODES`: what the setting accepts."""

REPLY_TIMEOUT_S = 0.2
"""The longest wait for the terminal's answers (no longer than textual-image's own two
0.1 s queries it replaces). Answering terminals end the wait at their DA1 reply."""

XTVERSION = "\x1b[>0q"
KITTY_GRAPHICS_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
CELL_SIZE_QUERY = "\x1b[16t"
DEVICE_ATTRIBUTES = "\x1b[c"

_DA1_REPLY = re.compile(rb"\x1b\[\?([0-9;]*)c")
_XTVERSION_REPLY = re.compile(rb"\x1bP>\|([^\x1b]*)\x1b\\")
_KITTY_REPLY = re.compile(rb"\x1b_G([^\x1b]*)\x1b\\")
_CELL_SIZE_REPLY = re.compile(rb"\x1b\[6;(\d+);(\d+)t")
_NAME_VERSION = re.compile(r"^\s*([^\s(]+)\s*(?:\(([^)]*)\)|(\S+))?")
_REPLIES = (_DA1_REPLY, _XTVERSION_REPLY, _KITTY_REPLY, _CELL_SIZE_REPLY)
ANY_REPLY = re.compile("|".join(reply.pattern.decode() for reply in _REPLIES))
"""An answer to any of the questions, as text: one that comes after they were read is
dropped from the app's input (:mod:`.terminal_driver`), not typed."""


@frozen
class TerminalReport:
    """What the terminal said about itself (and what the environment adds)."""

    tty: bool
    """stdin and stdout are a terminal (nothing is asked otherwise)."""
    asked: bool = False
    """The questions were sent (only before Textual starts: see :func:`detect_terminal`)."""
    answered: bool = False
    """The terminal answered the device-attributes query in time."""
    name: str | None = None
    """The terminal's name, lower-case: from XTVERSION, else from the environment."""
    version: str | None = None
    name_source: str | None = None
    """Where the name came from: "XTVERSION" or the environment variable."""
    kitty_graphics: bool = False
    """It answered the Kitty-graphics query with OK."""
    sixel: bool = False
    """Its device attributes include 4 (Sixel graphics)."""
    cell_px: tuple[int, int] | None = None
    """One cell's (width, height) in pixels, if the kernel or the terminal knows it."""
    waited_s: float = 0.0
    """How long the question took."""

    @property
    def who(self) -> str:
        """The terminal as a person would name it, e.g. "kitty 0.26.5" or "a terminal"."""
        if self.name is None:
            return "this terminal"
        return f"{self.name} {self.version}" if self.version else self.name


@frozen
class KnownLimit:
    """A protocol that a terminal reports (or might) but does not draw for us."""

    terminal: str
    """The terminal's name, lower-case, as XTVERSION or the environment give it."""
    mode: str
    """The mode it cannot draw: a key of :data:`IMAGE_MODES`."""
    why: str
    """Why, in words, after the terminal's name and version."""
    before: tuple[int, ...] | None = None
    """Only versions older than this; None: every version."""

    def applies(self, report: TerminalReport) -> bool:
        if report.name != self.terminal:
            return False
        if self.before is None:
            return True
        version = _version_tuple(report.version)
        return version is not None and version < self.before


KNOWN_LIMITS: tuple[KnownLimit, ...] = (
    KnownLimit(
        "kitty",
        "tgp",
        "cannot draw Kitty-graphics Unicode placeholders (kitty 0.28 added them), "
        "which is how Kitty images are drawn here",
        before=(0, 28),
    ),
    KnownLimit("konsole", "tgp", "reports Kitty graphics but fails with its Unicode placeholders"),
    KnownLimit("wezterm", "tgp", "reports Kitty graphics but fails with its Unicode placeholders"),
    KnownLimit("tmux", "tgp", "does not pass Kitty graphics through"),
    KnownLimit("screen", "tgp", "does not pass Kitty graphics through"),
)
"""Known gaps between what terminals report and what they draw (textual-image's own
notes, and what was seen in kitty 0.26.5 under Xvfb)."""


@frozen
class ImageChoice:
    """The mode pictures are drawn with, and why."""

    mode: str
    """A key of :data:`IMAGE_MODES`."""
    reason: str
    """One sentence: why this mode (the terminal, what it reported, what rules a mode out)."""
    forced: bool = False
    """Set by ``ui.image_mode`` / ``--image-mode`` rather than detected."""
    fallback: bool = False
    """A better mode was reported but is known not to work here (:data:`KNOWN_LIMITS`)."""
    report: TerminalReport | None = None

    @property
    def label(self) -> str:
        return IMAGE_MODES[self.mode]

    @property
    def note(self) -> str:
        """A short suffix for the status bar: empty unless this is a fallback."""
        if not self.fallback or self.report is None:
            return ""
        return f"{self.report.who} fallback"


def _version_tuple(version: str | None) -> tuple[int, ...] | None:
    if not version:
        return None
    numbers = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(part) for part in numbers.group(0).split(".")) if numbers else None


def parse_name_version(text: str) -> tuple[str | None, str | None]:
    """("kitty", "0.26.5") from "kitty(0.26.5)"; ("tmux", "3.3a") from "tmux 3.3a"."""
    match = _NAME_VERSION.match(text)
    if match is None:
        return None, None
    return match.group(1).lower(), match.group(2) or match.group(3)


def _name_from_environment(environ: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """The terminal's (name, version, variable) from variables terminals set, if any."""
    if environ.get("TMUX"):
        return "tmux", None, "TMUX"
    if environ.get("TERM", "").startswith("screen") and environ.get("STY"):
        return "screen", None, "STY"
    program = environ.get("TERM_PROGRAM", "")
    if program:
        return program.lower(), environ.get("TERM_PROGRAM_VERSION") or None, "TERM_PROGRAM"
    if environ.get("KONSOLE_VERSION"):
        return "konsole", environ["KONSOLE_VERSION"], "KONSOLE_VERSION"
    return None, None, None


def takes_apc_as_title(environ: dict[str, str]) -> bool:
    """Inside tmux or GNU screen (or a session started from one): an APC string
    (``ESC _ ... ESC \\``, as the Kitty-graphics query is) becomes the window's title
    there, screen's old hardstatus; and neither passes Kitty graphics through."""
    term = environ.get("TERM", "")
    return bool(environ.get("TMUX") or environ.get("STY")) or term.startswith(("tmux", "screen"))


def parse_replies(
    data: bytes,
    *,
    environ: dict[str, str] | None = None,
    cell_px: tuple[int, int] | None = None,
    waited_s: float = 0.0,
) -> TerminalReport:
    """A :class:`TerminalReport` from the bytes a terminal sent back (see :func:`ask_terminal`)."""
    da1 = _DA1_REPLY.search(data)
    attributes = da1.group(1).decode("ascii").split(";") if da1 else []
    name = version = source = None
    xtversion = _XTVERSION_REPLY.search(data)
    if xtversion:
        name, version = parse_name_version(xtversion.group(1).decode("utf-8", "replace"))
        source = "XTVERSION" if name else None
    if name is None:
        name, version, source = _name_from_environment(
            dict(os.environ) if environ is None else environ
        )
    kitty = _KITTY_REPLY.search(data)
    if cell_px is None:
        size = _CELL_SIZE_REPLY.search(data)
        if size and int(size.group(1)) > 0 and int(size.group(2)) > 0:
            cell_px = int(size.group(2)), int(size.group(1))
    return TerminalReport(
        tty=True,
        asked=True,
        answered=da1 is not None,
        name=name,
        version=version,
        name_source=source,
        kitty_graphics=kitty is not None and kitty.group(1).endswith(b";OK"),
        sixel="4" in attributes,
        cell_px=cell_px,
        waited_s=waited_s,
    )


def kernel_cell_pixels(fd: int) -> tuple[int, int] | None:
    """One cell's size in pixels from the terminal's window size (TIOCGWINSZ), if it is set."""
    try:
        import fcntl
        import struct
        import termios

        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except (ImportError, OSError):
        return None
    rows, columns, width, height = struct.unpack("HHHH", packed)
    if not (rows and columns and width and height):
        return None
    cell = width // columns, height // rows
    return cell if min(cell) > 0 else None


class TerminalQuestions:
    """The questions of :func:`ask_terminal`, sent at once; the answers read later.

    Sent early in start-up, the round trip overlaps the work before the first
    frame (settings, set-up, importing Textual): over SSH the answers arrive
    while Python imports, and a terminal that answers nothing costs what is
    left of :data:`REPLY_TIMEOUT_S` after that work, usually nothing. Until
    :meth:`answers` the terminal does not echo (its answers wait in the input
    queue); :meth:`answers` restores its mode, also after an error.
    """

    def __init__(self, fd_in: int, fd_out: int, *, environ: dict[str, str] | None = None) -> None:
        import termios
        import tty

        self.fd_in = fd_in
        self.environ = environ
        self.cell_px = kernel_cell_pixels(fd_out)
        questions = XTVERSION
        if not takes_apc_as_title(dict(os.environ) if environ is None else environ):
            questions += KITTY_GRAPHICS_QUERY  # in tmux it would be the pane's title
        if self.cell_px is None:
            questions += CELL_SIZE_QUERY
        questions += DEVICE_ATTRIBUTES
        self._saved = termios.tcgetattr(fd_in)
        self.sent_at = time.monotonic()
        try:
            tty.setcbreak(fd_in, termios.TCSANOW)  # no echo, no line buffering
            os.write(fd_out, questions.encode("ascii"))
        except BaseException:
            termios.tcsetattr(fd_in, termios.TCSANOW, self._saved)
            raise
        self._report: TerminalReport | None = None

    def answers(self, timeout_s: float = REPLY_TIMEOUT_S) -> TerminalReport:
        """The terminal's answers: read until its DA1 reply, or ``timeout_s`` after the
        questions were sent (what arrived meanwhile is read without waiting)."""
        import select
        import termios

        if self._report is not None:
            return self._report
        data = b""
        deadline = self.sent_at + timeout_s
        try:
            while _DA1_REPLY.search(data) is None:
                left = max(0.0, deadline - time.monotonic())
                if not select.select([self.fd_in], [], [], left)[0]:
                    break
                chunk = os.read(self.fd_in, 1024)
                if not chunk:
                    break
                data += chunk
        finally:
            if _DA1_REPLY.search(data) is None:
                termios.tcflush(self.fd_in, termios.TCIFLUSH)  # a late answer is not typed input
            termios.tcsetattr(self.fd_in, termios.TCSANOW, self._saved)
        self._report = parse_replies(
            data,
            environ=self.environ,
            cell_px=self.cell_px,
            waited_s=time.monotonic() - self.sent_at,
        )
        return self._report


def ask_terminal(
    fd_in: int,
    fd_out: int,
    *,
    timeout_s: float = REPLY_TIMEOUT_S,
    environ: dict[str, str] | None = None,
) -> TerminalReport:
    """Ask the terminal on ``fd_in``/``fd_out`` what it is, in one round trip.

    Call it before Textual starts (Textual's input thread would take the
    answers). Reading stops at the DA1 reply or after ``timeout_s``.
    """
    return TerminalQuestions(fd_in, fd_out, environ=environ).answers(timeout_s)


def choose_image_mode(report: TerminalReport | None, setting: str = "auto") -> ImageChoice:
    """The mode to draw with for ``setting``, given what the terminal reported (None: not asked)."""
    if setting not in SETTING_VALUES:
        raise ValueError(f"image mode must be one of {', '.join(SETTING_VALUES)}, not {setting!r}")
    if setting != "auto":
        return ImageChoice(
            setting,
            "set by ui.image_mode or --image-mode",
            forced=True,
            report=report,
        )
    if report is None or not report.tty:
        return ImageChoice(
            "unicode", "not a terminal: Unicode blocks, which need nothing", report=report
        )
    who = report.who
    ruled_out = {limit.mode: limit for limit in KNOWN_LIMITS if limit.applies(report)}
    reported = {"tgp": report.kitty_graphics, "sixel": report.sixel}
    skipped: list[str] = []
    for mode in ("tgp", "sixel"):
        if not reported[mode]:
            continue
        limit = ruled_out.get(mode)
        if limit is not None:
            skipped.append(f"{who} {limit.why}")
            continue
        because = f"{who} reports {IMAGE_MODES[mode]}"
        if skipped:
            because = f"{'; '.join(skipped)}; {because}"
        return ImageChoice(mode, because, fallback=bool(skipped), report=report)
    if skipped:
        return ImageChoice(
            "halfcell",
            f"{'; '.join(skipped)}; no Sixel: half-cell blocks",
            fallback=True,
            report=report,
        )
    if not report.asked:
        because = (
            f"{who} was not asked what it draws (asked only before start-up): half-cell blocks"
        )
    elif not report.answered:
        because = f"{who} did not answer within {REPLY_TIMEOUT_S:g} s: half-cell blocks"
    else:
        because = f"{who} reports neither Kitty graphics nor Sixel: half-cell blocks"
    return ImageChoice("halfcell", because, report=report)


@dataclass
class _Detection:
    """The one report per process (the terminal is asked at most once)."""

    report: TerminalReport | None = None
    asking: TerminalQuestions | None = None
    """Questions sent by :func:`start_asking`, not read yet."""


_detection = _Detection()


def _terminal_fds() -> tuple[int, int] | None:
    stdin, stdout = sys.__stdin__, sys.__stdout__
    if stdin is None or stdout is None or not (stdin.isatty() and stdout.isatty()):
        return None
    return stdin.fileno(), stdout.fileno()


def start_asking() -> None:
    """Send the terminal its questions now; :func:`detect_terminal` reads the answers.

    Call :func:`detect_terminal` (or :func:`stop_asking`) before anything else reads
    the terminal or the program ends: until then the terminal does not echo.
    """
    if _detection.report is not None or _detection.asking is not None:
        return
    fds = _terminal_fds()
    if fds is None:
        return
    try:
        _detection.asking = TerminalQuestions(*fds)
    except (OSError, ImportError):  # cannot be put in cbreak mode, went away; no termios
        _detection.report = TerminalReport(tty=True, asked=True)


def stop_asking() -> None:
    """Read (or give up on) the answers to questions sent, restoring the terminal's mode."""
    if _detection.asking is not None:
        detect_terminal()


def detect_terminal(*, ask: bool = True) -> TerminalReport:
    """What the terminal on stdin/stdout is: asked once per process, then remembered.

    The answers to questions :func:`start_asking` sent are read here. ``ask=False``
    never writes to the terminal (for callers that run after Textual started): a
    terminal is then reported as not having answered.
    """
    asking, _detection.asking = _detection.asking, None
    if asking is not None:
        try:
            _detection.report = asking.answers()
        except (OSError, ImportError):
            _detection.report = TerminalReport(tty=True, asked=True)
    known = _detection.report
    if known is not None and (known.asked or not known.tty or not ask):
        return known
    fds = _terminal_fds()
    if fds is None:
        report = TerminalReport(tty=False)
    elif ask:
        try:
            report = ask_terminal(*fds)
        except (OSError, ImportError):  # cannot be put in cbreak mode, went away; no termios
            report = TerminalReport(tty=True, asked=True)
    else:
        report = TerminalReport(tty=True, cell_px=kernel_cell_pixels(fds[1]))
    _detection.report = report
    return report


def detected_choice(setting: str = "auto") -> ImageChoice:
    """The mode for ``setting`` from what :func:`detect_terminal` found, never asking again."""
    return choose_image_mode(detect_terminal(ask=False), setting)
