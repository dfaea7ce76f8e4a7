"""Rasterize untrusted SVG in a long-lived, sandboxed worker process.

Model answers are untrusted: an SVG can ask for files or URLs, expand XML
entities, fan out through ``<use>``, or declare a canvas of billions of
pixels. :class:`SvgRenderer` sends each SVG to one worker process
(:mod:`.worker`, which applies the rules listed there) and waits at most
a wall-clock timeout for the PNG. The worker starts on first use and is reused,
so a render costs the drawing plus a pipe round trip, not an interpreter
start-up. When it hangs it is killed; when it crashes or is killed from
outside, the next render starts a fresh one.

Every outcome is a :class:`RenderResult`: ``ok`` with PNG bytes of exactly the
requested size, or a one-line ``reason`` a person can read.

The worker speaks length-prefixed frames over its stdin/stdout rather than
``multiprocessing``: a spawn-context child re-imports the parent's
``__main__`` (the TUI, hence Textual), while ``python -m`` imports only the
worker module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.secrets import is_secret_name
from pelican_tui.backends.svg.extract import repair_svg
from pelican_tui.backends.svg.worker import DEFAULT_MEMORY_LIMIT, MAX_FRAME, MAX_SIDE, render_png

__all__ = [
    "DEFAULT_MAX_INPUT_BYTES",
    "DEFAULT_MEMORY_LIMIT",
    "MAX_SIDE",
    "RenderResult",
    "SvgRenderer",
    "render_svg_in_process",
]

DEFAULT_MAX_INPUT_BYTES = 512 * 1024
"""Larger SVGs are refused before they reach the worker."""
DEFAULT_START_TIMEOUT_S = 30.0
"""How long a (re)starting worker may take to import cairosvg and say ready."""

P = ParamSpec("P")
T = TypeVar("T")

_FRAME = struct.Struct("!I")
_COLOR = re.compile(r"#[0-9A-Fa-f]{3,8}|[A-Za-z]{3,30}|rgba?\([0-9.,%\s]{5,40}\)")


def is_background_colour(text: str) -> bool:
    """Whether ``text`` is a colour the renderer fills a background with: a CSS
    colour name, ``#rgb`` to ``#rrggbbaa``, or ``rgb()``/``rgba()``."""
    if not _COLOR.fullmatch(text):
        return False
    if not text.isalpha():
        return True
    from PIL import ImageColor  # its names are CSS's (an unknown one drew black)

    return text.lower() in ImageColor.colormap


_PNG_HEADER = struct.Struct("!8sI4sII")
"""A PNG's signature, then its first chunk, IHDR: length, type, width, height."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, read from its header (nothing is decoded); None when
    ``png`` does not begin as a PNG does."""
    if len(png) < _PNG_HEADER.size:
        return None
    signature, _, chunk, width, height = _PNG_HEADER.unpack_from(png)
    if signature != _PNG_SIGNATURE or chunk != b"IHDR" or not (width and height):
        return None
    return width, height


@frozen
class RenderResult:
    """The outcome of one render."""

    ok: bool
    png: bytes | None
    """PNG bytes when ``ok``: exactly the requested width and height."""
    reason: str | None
    """One line for people when not ``ok``, e.g. "SVG too large (600 KB > 512 KB)"."""
    elapsed_s: float
    """Wall-clock seconds for the whole call, including any worker restart."""
    ink: float | None = None
    """The picture's ink share (:func:`~.ink.ink_of`), measured by the worker on the
    pixels it drew when asked (``ink=True``); None otherwise."""


class _WorkerGone(Exception):
    """The worker closed its end of a pipe (it crashed or was killed)."""


class _TimedOut(Exception):
    pass


def _package_root() -> str:
    """The folder holding the ``pelican_tui`` package, for the worker's path.

    Not resolved through symlinks: in a development tree the package is a
    folder of symlinks and its real parent holds no ``pelican_tui``.
    """
    return str(Path(__file__).absolute().parent.parent.parent)


def _worker_environment() -> dict[str, str]:
    """This process's environment minus anything that looks like a secret.

    The worker needs none (it never talks to a model or the network), so an
    API key never sits in the memory of the process that parses hostile input.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not is_secret_name(name) and not name.startswith("ANTHROPIC_")
    }
    env["PYTHONPATH"] = os.pathsep.join(
        path for path in (_package_root(), env.get("PYTHONPATH", "")) if path
    )
    return env


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    """Close the worker's stdin (it exits at EOF), then make sure it is gone."""
    if process.poll() is None:
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5.0)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _exit_description(returncode: int | None) -> str:
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def _in_a_thread(blocking: Callable[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
    """A coroutine function taking ``blocking``'s arguments that runs it in a thread."""

    async def in_a_thread(*args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(blocking, *args, **kwargs)

    return in_a_thread


class SvgRenderer:
    """Turns SVG text into PNG bytes in a sandboxed worker process.

    Thread-safe and shareable: requests are serialized (one worker, one render
    at a time) by a ``threading.Lock`` rather than an ``asyncio.Lock``, so the
    same renderer serves async callers on any event loop (two panes) and
    plain threads (exports) alike. Use as a context manager
    (sync or async) or call :meth:`close`; a forgotten renderer still stops its
    worker when garbage-collected or at interpreter exit.
    """

    def __init__(
        self,
        *,
        max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
        memory_limit_bytes: int = DEFAULT_MEMORY_LIMIT,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        python: str | None = None,
    ) -> None:
        self.max_input_bytes = max_input_bytes
        self.memory_limit_bytes = memory_limit_bytes
        self.start_timeout_s = start_timeout_s
        self._python = python or sys.executable
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._closed = False
        self._started_once = False
        self.restarts = 0
        """How many times a worker was started after the first (for status and tests)."""

    # -- lifecycle -------------------------------------------------------

    @property
    def worker_pid(self) -> int | None:
        """The running worker's pid, or None before the first render."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        """Start the worker now (optional: the first render does it anyway).

        Raises RuntimeError with a one-line reason if it cannot start.
        """
        with self._lock:
            self._ensure_worker()

    def close(self) -> None:
        """Stop the worker. The renderer cannot be used afterwards."""
        with self._lock:
            self._closed = True
            self._discard_worker()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)

    # -- rendering -------------------------------------------------------

    def render_sync(
        self,
        svg: str | bytes,
        width: int,
        height: int | None = None,
        timeout_s: float = 5.0,
        *,
        background: str | None = "white",
        ink: bool = False,
        repair: bool = True,
    ) -> RenderResult:
        """Render ``svg`` to a PNG of ``width`` x ``height`` pixels.

        With ``repair``, an SVG that fails as written is tried once more with its
        tags balanced (:func:`~.extract.repair_svg`: a ``<g>`` never closed, a tag
        closed twice), so every caller draws what the engine draws.

        The picture is scaled to fit with its aspect ratio kept (letterboxed
        with ``background``; None means transparent). ``height=None`` takes
        the height from the SVG's aspect ratio (viewBox, else width/height),
        capped at 4 x ``width``. ``timeout_s`` bounds the render itself; a
        worker that must (re)start first gets ``start_timeout_s`` for that.

        ``ink``: measure the picture's ink share as it is drawn
        (:attr:`RenderResult.ink`; cheaper than decoding the PNG to measure it).

        Never raises for anything about the SVG; raises ValueError for sizes
        outside 1..:data:`MAX_SIDE` or a malformed ``background``, and
        RuntimeError after :meth:`close`.
        """
        started = time.perf_counter()
        _check_size(width, height)
        if background is not None and not is_background_colour(background):
            raise ValueError(f"background {background!r} is not a colour")
        data = svg.encode("utf-8", "replace") if isinstance(svg, str) else svg
        if len(data) > self.max_input_bytes:
            return RenderResult(
                False,
                None,
                f"SVG too large ({math.ceil(len(data) / 1024)} KB > "
                f"{self.max_input_bytes // 1024} KB)",
                time.perf_counter() - started,
            )
        request: dict[str, Any] = {"width": width, "height": height, "background": background}
        if ink:
            request["ink"] = True
        header = json.dumps(request).encode()
        with self._lock:
            if self._closed:
                raise RuntimeError("the SVG renderer is closed")
            ok, png, reason, reply = self._exchange(header, data, timeout_s)
            if not ok and repair:
                fixed = repair_svg(data.decode("utf-8", "replace")).encode("utf-8")
                if fixed != data and len(fixed) <= self.max_input_bytes:
                    retried = self._exchange(header, fixed, timeout_s)
                    if retried[0]:
                        ok, png, reason, reply = retried
        share = reply.get("ink")
        return RenderResult(
            ok,
            png,
            reason,
            time.perf_counter() - started,
            float(share) if ok and isinstance(share, int | float) else None,
        )

    render = _in_a_thread(render_sync)
    """:meth:`render_sync` without blocking the event loop: same arguments, awaited.

    The blocking pipe I/O runs in a thread; concurrent calls queue on the
    renderer's lock. Cancelling the awaiting task does not cancel a render
    already sent (it finishes or times out, and its result is dropped).
    """

    # -- the worker --------------------------------------------------------

    def _exchange(
        self, header: bytes, data: bytes, timeout_s: float
    ) -> tuple[bool, bytes | None, str | None, dict[str, Any]]:
        """Send one request and read its reply (ok, PNG, why not, the reply's fields).
        Caller holds the lock.

        A worker that dies mid-request gets one fresh successor: it may have
        been killed from outside between requests. If the successor dies on
        the same SVG too, the SVG is what crashes it and the reason says so.
        """
        timed_out = f"rendering took longer than {timeout_s:g} s"
        crashed = "the SVG renderer crashed"
        for _attempt in (1, 2):
            try:
                process = self._ensure_worker()
            except RuntimeError as exc:
                return False, None, str(exc), {}
            deadline = time.monotonic() + timeout_s
            try:
                self._send(process, header, data, deadline)
                reply = json.loads(self._receive(process, deadline))
                png = self._receive(process, deadline)
            except _TimedOut:
                self._discard_worker()
                return False, None, timed_out, {}
            except (_WorkerGone, ValueError):  # ValueError: a garbled frame
                crashed = f"the SVG renderer crashed ({_exit_description(self._discard_worker())})"
                continue
            if reply.get("exit"):
                self._discard_worker()
            if reply.get("ok"):
                return True, png, None, reply
            return False, None, str(reply.get("reason") or "the SVG could not be rendered"), reply
        return False, None, crashed, {}

    def _ensure_worker(self) -> subprocess.Popen[bytes]:
        process = self._process
        if process is not None and process.poll() is None:
            return process
        if process is not None:
            self._discard_worker()
        if self._closed:
            raise RuntimeError("the SVG renderer is closed")
        env = _worker_environment()
        try:
            process = subprocess.Popen(
                [
                    self._python,
                    "-P",  # the current directory is not on the worker's import path
                    "-m",
                    f"{__package__}.worker",
                    str(self.memory_limit_bytes),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                bufsize=0,
                close_fds=True,
                start_new_session=True,
            )
        except OSError as exc:
            raise RuntimeError(f"cannot start the SVG renderer: {exc}") from None
        self._process = process
        self._finalizer = weakref.finalize(self, _stop_process, process)
        deadline = time.monotonic() + self.start_timeout_s
        try:
            hello = json.loads(self._receive(process, deadline))
        except (_WorkerGone, _TimedOut, ValueError):
            code = self._discard_worker()
            raise RuntimeError(
                f"the SVG renderer did not start ({_exit_description(code)})"
            ) from None
        if not hello.get("ready"):
            self._discard_worker()
            raise RuntimeError("the SVG renderer did not start (unexpected greeting)")
        if self._started_once:
            self.restarts += 1
        self._started_once = True
        return process

    def _discard_worker(self) -> int | None:
        """Stop the current worker (if any) and return its exit code."""
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5.0)
        _stop_process(process)
        return process.returncode

    @staticmethod
    def _send(
        process: subprocess.Popen[bytes], header: bytes, data: bytes, deadline: float
    ) -> None:
        assert process.stdin is not None
        fd = process.stdin.fileno()
        payload = memoryview(
            b"".join((_FRAME.pack(len(header)), header, _FRAME.pack(len(data)), data))
        )
        os.set_blocking(fd, False)
        while payload:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _TimedOut
            _, writable, _ = select.select([], [fd], [], remaining)
            if not writable:
                raise _TimedOut
            try:
                written = os.write(fd, payload)
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                raise _WorkerGone from None
            payload = payload[written:]

    @classmethod
    def _receive(cls, process: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        (size,) = _FRAME.unpack(cls._read_exact(fd, _FRAME.size, deadline))
        if size > MAX_FRAME:
            raise ValueError(f"frame of {size} bytes")
        return cls._read_exact(fd, size, deadline)

    @staticmethod
    def _read_exact(fd: int, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise _TimedOut
            readable, _, _ = select.select([fd], [], [], wait)
            if not readable:
                raise _TimedOut
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                raise _WorkerGone
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


def _check_size(width: int, height: int | None) -> None:
    for name, value in (("width", width), ("height", height)):
        if value is None and name == "height":
            continue
        if not isinstance(value, int) or not 1 <= value <= MAX_SIDE:
            raise ValueError(f"{name} must be an integer from 1 to {MAX_SIDE}, not {value!r}")


def render_svg_in_process(
    svg: str | bytes, width: int, height: int | None = None, *, background: str | None = "white"
) -> bytes:
    """The worker's exact pipeline, run in this process: PNG bytes or an exception.

    No timeout, no memory limit, no isolation: for the latency benchmark
    (worker versus in-process) and trusted input only, never for model output.
    """
    _check_size(width, height)
    data = svg.encode("utf-8", "replace") if isinstance(svg, str) else svg
    return render_png(data, width, height, background)
