"""Long sessions stay fast: pelican-tui with a long history in its store against a fresh store.

Usage: python bench/long_sessions.py [--sessions 50,500] [--rounds 3] [--runs-in-one-app 50]
                                     [--max-tokens 32] [--out FILE]

1. Stores of ``--sessions`` real-shaped sessions are written once through
   :class:`~pelican_tui.backends.store.sessions.SessionStore` (:func:`fill_store`):
   two runs each, as the engine records them: model facts, settings, host,
   thinking (6-10 KB) and answer text with the SVG, the PNG the sandboxed
   renderer draws at the stored 1024x1024 from the pelicans of
   ``tests/svg_corpus`` (67-77 KB), timings, usage, memory peaks and picture
   facts; a verdict on every third. 50 sessions fill a screen; 500 are the
   long history. ``SessionStore.open`` is timed on each, warm and with the
   file dropped from the page cache, after a clean close (the header is
   checked) and after an unclean one (the whole file is: ``PRAGMA
   quick_check``, as after a crash). In this process, with ``--screen-repeats``:
   the sessions screen's store work alone (a new connection, the first page with
   its runs, the count: :func:`sessions_page_cost`), and the real screen on
   Textual's headless driver (:func:`sessions_screen_cost`), each store in turn.
2. ``--rounds`` rounds, the order turned by one each round, start pelican-tui
   (the stand-in, ``--max-tokens`` per answer) on a fresh home and on a copy of
   each full one, and time in each:

   - launch to first frame (as :mod:`first_frame`);
   - ``r`` until both panes' runs are recorded as ended, twice (the first
     comparison also opens the store): wall time, and the app's CPU time (the
     store is polled read-only by this process);
   - ``o`` to the sessions screen's first row on screen, twice (the first also
     imports the screen), and the app's CPU until its last frame (the output
     quiet for ``QUIET_S``): whether the rows come in the first frame or the
     next is a race with the thread that reads them, so CPU to the first row
     alone moves by a frame from one press to the next. A fresh store holds the
     sessions the runs made (one or two rows); the screenful store (the smallest
     size) draws as many rows as the longest, so ``500/50`` is the ratio that
     says whether the cost grows with the history.

3. One more app on the longest store does ``--runs-in-one-app`` comparisons in
   a row, then times ``r`` and ``o`` again, against its own second ones; it
   also prints the app's CPU for the first and last fifth of those comparisons,
   and its RSS before and after them.

Times are medians (min-max) over the rounds; ratios are paired round by
round. The app's CPU time (every thread's, to the nanosecond, from its
CPU-time clock) is the steadier figure on a shared machine: wall times include
whatever else the machine was doing, and a run's wall time is mostly
llama-server's. The in-process screen timing turns each frame into the
terminal's bytes as the real driver does.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil
from first_frame import Launcher, screen_text
from pty_terminal import PtyTerminal
from report import Spread
from workload import ROOT, ROWS

from pelican_tui.backends.store.database import CLOSED_SUFFIX
from pelican_tui.backends.store.sessions import SessionStore

PROMPT = "Generate an SVG of a pelican riding a bicycle"
SESSIONS_MARKER = b"Sessions"
POLL_S = 0.05
QUIET_S = 0.3
SETTLE_S = 0.4
"""The sessions screen in-process: frames drawn within this long of its push count."""
"""A screen is drawn once the app has written nothing for this long (its idle redraws
come every 0.5 s or more)."""
THINKING_WORDS = (
    "the pelican needs a long beak and a pouch, the bicycle two wheels with spokes, "
    "a frame, pedals; place the bird on the saddle, wings to the handlebars, feet on "
    "the pedals; keep the viewBox square and the strokes simple"
)


def say(message: str) -> None:
    print(f"[long-sessions] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the store


def _pictures() -> list[tuple[str, bytes]]:
    """(SVG, PNG) for each good pelican of the corpus, drawn by the real sandboxed renderer."""
    from pelican_tui.backends.engine.run import PNG_SIZE
    from pelican_tui.backends.svg.render import SvgRenderer

    renderer = SvgRenderer()
    out = []
    try:
        for path in sorted((ROOT / "tests" / "svg_corpus").glob("good_*.svg")):
            svg = path.read_text()
            result = renderer.render_sync(svg, PNG_SIZE[0], PNG_SIZE[1], timeout_s=30.0)
            if not result.ok or result.png is None:
                raise RuntimeError(f"could not render {path.name}: {result.reason}")
            out.append((svg, result.png))
    finally:
        renderer.close()
    return out


def _thinking(rng: random.Random, size: int) -> str:
    words = THINKING_WORDS.split()
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(words)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)


def fill_store(db: Path, sessions: int, seed: int = 7) -> dict[str, Any]:
    """Write ``sessions`` real-shaped sessions (two runs each) into the store at ``db``."""
    rng = random.Random(seed)
    pictures = _pictures()
    host = {
        "cpu": "AMD EPYC (2 cores)",
        "cpu_cores": 2,
        "cpu_threads": 2,
        "ram_total_bytes": 24 * 1024**3,
        "os": "Linux 6.1",
        "arch": "x86_64",
        "python": "3.11.7",
    }
    local_info = {
        "model": "SmolLM2-135M-Instruct (tiny stand-in)",
        "stand_in": True,
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "path": "/root/.cache/pelican-tui/models/SmolLM2-135M-Instruct.Q4_1.gguf",
        "file_size": 98_000_000,
        "sha256": "ab" * 32,
        "arch": "llama",
        "total_params": 134_515_008,
        "active_params": 134_515_008,
        "quant": "Q4_1",
        "context": 2048,
        "server_kind": "llama.cpp",
        "server_args": ["-m", "SmolLM2-135M-Instruct.Q4_1.gguf", "-c", "2048", "--port", "*"],
        "server_build": "11434 (0000000)",
        "server_load_s": 0.41,
    }
    started = time.monotonic()
    store = SessionStore.open(db)
    try:
        for index in range(sessions):
            session = store.create_session(PROMPT, title=f"{PROMPT} · thinking on vs off")
            for slot, thinking in (("left", True), ("right", False)):
                svg, png = pictures[(index * 2 + (slot == "right")) % len(pictures)]
                run_id = store.start_run(
                    session.id,
                    slot,  # type: ignore[arg-type]
                    "local",
                    "SmolLM2-135M-Instruct.Q4_1.gguf",
                    model_info=local_info,
                    settings={"thinking": thinking, "max_tokens": 1024, "seed": 42},
                    host=host,
                )
                think = _thinking(rng, rng.randint(6000, 10000)) if thinking else ""
                answer = f"Here is the pelican:\n\n```svg\n{svg}\n```\n" + _thinking(rng, 800)
                tokens = (len(think) + len(answer)) // 4
                store.finish_run(
                    run_id,
                    thinking_text=think,
                    answer=answer,
                    svg=svg,
                    png=png,
                    timings={
                        "time_to_first_token_s": 0.21,
                        "total_s": tokens / 55,
                        "generated_tokens": tokens,
                        "generation_tokens_per_s": 55.0,
                        "prompt_tokens_per_s": 900.0,
                    },
                    usage={"input_tokens": 60, "output_tokens": tokens},
                    peak_ram={"server_rss_bytes": 310_000_000, "app_rss_bytes": 90_000_000},
                    picture_facts={
                        "renders": True,
                        "ink": 0.17,
                        "elements": 22,
                        "svg_bytes": len(svg),
                        "seconds_to_picture": 9.5,
                    },
                )
            if index % 3 == 0:
                store.set_verdict(session.id, rng.choice(["left", "right", "tie"]))
    finally:
        store.close()
    return {
        "sessions": sessions,
        "bytes": db.stat().st_size,
        "seconds": time.monotonic() - started,
        "png_bytes": [len(png) for _, png in pictures],
    }


# --------------------------------------------------------------------------- one app


_libc = ctypes.CDLL(None, use_errno=True)


def _cpu(pid: int) -> float:
    """CPU seconds of every thread ``pid`` ran so far, those gone included, to the
    nanosecond (the process's CPU-time clock): the 10 ms ticks of ``/proc/PID/stat``
    are a fifth of what a sessions screen costs. Falls back on the ticks."""
    clock = ctypes.c_int()
    if _libc.clock_getcpuclockid(pid, ctypes.byref(clock)) == 0:
        with contextlib.suppress(OSError):
            return time.clock_gettime(clock.value)
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _finished_runs(db: Path) -> int:
    """Runs recorded as ended (finished, failed, cancelled), read through indexes only
    (a status test on every row would read past each run's PNG).

    Not a read-only connection: one leaves the ``-wal`` file it made behind (it may
    not remove it), and the app's next :meth:`SessionStore.open` then checks the whole
    file, as after a crash (~50 ms of CPU for 500 sessions: the first comparison on a
    long history cost that much more, measured). A connection that only reads and
    is the last to close removes it and leaves the file as it was."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(db, timeout=1.0)
        try:
            total = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            running = conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'running'").fetchone()[
                0
            ]
        finally:
            conn.close()
    except sqlite3.Error:
        return -1
    return int(total) - int(running)


class AppUnderTest:
    """The keys and clocks of one running pelican-tui."""

    def __init__(self, term: PtyTerminal, home: Path) -> None:
        self.term = term
        self.db = home / "data" / "sessions.sqlite3"

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        if self.term.wait_for(b"server: ready", timeout_s) is None:
            raise RuntimeError("llama-server did not become ready:\n" + self.tail())

    def run_both(self, timeout_s: float = 300.0) -> dict[str, float]:
        """Press r; wall and app CPU seconds until both runs are recorded as finished."""
        done_before = max(_finished_runs(self.db), 0)
        cpu0 = _cpu(self.term.pid)
        pressed = self.term.press("r")
        deadline = pressed + timeout_s
        while _finished_runs(self.db) < done_before + 2:
            if time.monotonic() > deadline:
                raise RuntimeError("the runs did not finish:\n" + self.tail())
            time.sleep(POLL_S)
        wall = time.monotonic() - pressed
        return {"run_s": wall, "run_cpu_s": _cpu(self.term.pid) - cpu0}

    def open_sessions(self, first_title: bytes, timeout_s: float = 60.0) -> dict[str, float]:
        """Press o; seconds and app CPU until the first session row is on screen, and
        app CPU until the screen's last frame (the output then quiet for ``QUIET_S``:
        the whole screen, whichever frame its rows come in); then escape."""
        start = self.term.bytes_at()
        cpu0 = _cpu(self.term.pid)
        pressed = self.term.press("o")
        shown = self._wait_row(first_title, start, timeout_s)
        result = {"sessions_s": shown - pressed, "sessions_cpu_s": _cpu(self.term.pid) - cpu0}
        result["sessions_drawn_cpu_s"] = self._cpu_to_quiet(cpu0, timeout_s) - cpu0
        result["sessions_bytes"] = self.term.bytes_at() - start
        self.term.press("\x1b")
        time.sleep(0.5)
        return result

    def _cpu_to_quiet(self, cpu0: float, timeout_s: float) -> float:
        """The app's CPU clock when it last wrote, once nothing came for ``QUIET_S``."""
        seen, at_last = self.term.bytes_at(), _cpu(self.term.pid)
        quiet_since = time.monotonic()
        deadline = quiet_since + timeout_s
        while time.monotonic() - quiet_since < QUIET_S and time.monotonic() < deadline:
            time.sleep(0.005)
            now_bytes, now_cpu = self.term.bytes_at(), _cpu(self.term.pid)
            if now_bytes != seen:
                seen, at_last, quiet_since = now_bytes, now_cpu, time.monotonic()
        return at_last

    def _wait_row(self, title: bytes, start: int, timeout_s: float) -> float:
        """The moment a row holding ``title`` appears after the screen's header."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            data = self.term.output()[start:]
            text = screen_text(data)
            header = text.find(SESSIONS_MARKER)
            if header >= 0 and text.find(title, header) >= 0:
                return time.monotonic()  # polled every 5 ms
            time.sleep(0.005)
        raise RuntimeError("the sessions screen showed no row:\n" + self.tail())

    def tail(self) -> str:
        return screen_text(self.term.output()[-20000:]).decode("utf-8", "replace")[-1500:]


def one_app(launcher: Launcher, kind: str, *, runs_in_app: int = 0) -> dict[str, Any]:
    """Start pelican-tui on a ``kind`` home and time what a user does: two comparisons
    (the first opens the store), then the sessions screen twice (the first imports it)."""
    out: dict[str, Any] = {"kind": kind}
    title = PROMPT[:24].encode()

    def steady(app: AppUnderTest, repeats: int = 1) -> dict[str, Any]:
        """A run and the sessions screen once more each (medians of ``repeats``)."""
        samples: dict[str, list[float]] = {}
        for _ in range(repeats):
            for key, value in (*app.run_both().items(), *app.open_sessions(title).items()):
                samples.setdefault(f"{key}2", []).append(value)
        result: dict[str, Any] = {k: statistics.median(v) for k, v in samples.items()}
        result["samples"] = samples
        return result

    def then(term: PtyTerminal) -> dict[str, Any]:
        home = Path(term.env["PELICAN_HOME"])
        app = AppUnderTest(term, home)
        app.wait_ready()
        time.sleep(0.5)
        result: dict[str, Any] = {}
        result.update(app.run_both())
        result.update(app.open_sessions(title))
        result.update(steady(app, 3 if runs_in_app else 1))
        result["rss_bytes"] = psutil.Process(term.pid).memory_info().rss
        if runs_in_app:
            each: list[dict[str, float]] = []
            for index in range(runs_in_app):
                each.append(app.run_both())
                if (index + 1) % 10 == 0:
                    say(f"  {index + 1}/{runs_in_app} runs in one app")
            result["each_run"] = each
            result["after_runs"] = steady(app, 3)
            result["after_runs"]["rss_bytes"] = psutil.Process(term.pid).memory_info().rss
        return result

    out.update(launcher.launch("app", "pty", then=then, settle_s=0.5, timeout_s=120.0))
    return out


def store_open_s(db: Path, cold: bool, whole: bool = False) -> float:
    """Seconds :meth:`SessionStore.open` takes on ``db``; ``cold``: with the file's
    pages first dropped from the page cache; ``whole``: as after an unclean close
    (no clean-close record), so it checks the whole file."""
    if whole:
        db.with_name(db.name + CLOSED_SUFFIX).unlink(missing_ok=True)
    if cold:
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
    started = time.perf_counter()
    store = SessionStore.open(db, create=False)
    elapsed = time.perf_counter() - started
    store.close()
    expected = "full" if whole else "clean close"
    if store.check_on_open != expected:
        raise RuntimeError(f"SessionStore.open checked {store.check_on_open!r}, not {expected!r}")
    return elapsed


def sessions_screen_cost(dbs: dict[str, Path], repeats: int) -> dict[str, list[float]]:
    """CPU seconds from pushing the real sessions screen to every frame it draws within
    ``SETTLE_S``, per store.

    In this process, on Textual's headless driver, in a host app with nothing
    else to do (no llama-server, no redraw clock): the steadiest figure for
    what the screen itself costs. Each frame is turned into the terminal's
    bytes as the real driver does (the headless driver skips that). The stores
    take turns, ``repeats`` times.
    """
    import asyncio

    from textual._compositor import CompositorUpdate
    from textual.app import App, ComposeResult
    from textual.screen import Screen
    from textual.widgets import Static

    from pelican_tui.screens.sessions_screen import SessionsScreen
    from pelican_tui.themes import register_themes

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("host")

        def on_mount(self) -> None:
            register_themes(self)
            self.theme = "pelican-dark"

        def _display(self, screen: Screen[Any], renderable: Any) -> None:
            if isinstance(renderable, CompositorUpdate) and not self._batch_count:
                renderable.render_segments(self.console)

    async def once(db: Path) -> float:
        app = Host()
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            screen = SessionsScreen(db)
            started = time.process_time()  # every thread: the store is read in a worker
            app.push_screen(screen)
            settled = time.monotonic() + SETTLE_S
            while not screen.loaded or time.monotonic() < settled:
                await pilot.pause(0.005)
            return time.process_time() - started

    async def every() -> dict[str, list[float]]:
        out: dict[str, list[float]] = {kind: [] for kind in dbs}
        kinds = list(dbs)
        await once(dbs[kinds[0]])  # imports, not counted
        for index in range(repeats):
            turn = index % len(kinds)
            for kind in kinds[turn:] + kinds[:turn]:
                out[kind].append(await once(dbs[kind]))
        return out

    return asyncio.run(every())


def sessions_page_cost(dbs: dict[str, Path], repeats: int) -> dict[str, list[float]]:
    """CPU seconds of the sessions screen's store work alone, per store: open the store
    (a new connection, as each visit to the screen makes), read the first page of
    sessions with their runs, count them, close. The stores take turns, ``repeats``
    times; the files are warm in the page cache."""
    from pelican_tui.screens.sessions_screen import MORE_WHEN_WITHIN, PAGE_SIZE

    page = max(PAGE_SIZE, ROWS + MORE_WHEN_WITHIN)  # as the screen reads at 160x48
    out: dict[str, list[float]] = {kind: [] for kind in dbs}
    kinds = list(dbs)
    for index in range(repeats + 1):
        turn = index % len(kinds)
        for kind in kinds[turn:] + kinds[:turn]:
            started = time.process_time()
            store = SessionStore.open(dbs[kind], create=False)
            store.list_sessions(limit=page)
            store.count_sessions()
            elapsed = time.process_time() - started
            store.close()
            if index:  # the first turn warms the page cache: not counted
                out[kind].append(elapsed)
    return out


# --------------------------------------------------------------------------- the rounds


def _spread(values: list[float]) -> dict[str, Any] | None:
    spread = Spread.of(values)
    return asdict(spread) if spread is not None else None


def _fmt(values: list[float], digits: int = 3) -> str:
    spread = Spread.of(values)
    if spread is None:
        return "-"
    return f"{spread.median:.{digits}f} ({spread.low:.{digits}f}-{spread.high:.{digits}f})"


FIGURES = (
    ("first_frame_s", "launch to first frame"),
    ("run_s", "first r to both runs recorded"),
    ("run_cpu_s", "  app CPU for it"),
    ("run_s2", "second r to both runs recorded"),
    ("run_cpu_s2", "  app CPU for it"),
    ("sessions_s", "first o to the first session row"),
    ("sessions_cpu_s", "  app CPU for it"),
    ("sessions_drawn_cpu_s", "  app CPU to its last frame"),
    ("sessions_s2", "second o to the first session row"),
    ("sessions_cpu_s2", "  app CPU for it"),
    ("sessions_drawn_cpu_s2", "  app CPU to its last frame"),
)

ONE_APP_FIGURES = (
    "run_s2",
    "run_cpu_s2",
    "sessions_s2",
    "sessions_cpu_s2",
    "sessions_drawn_cpu_s2",
)
"""The figures the one long-running app reports before and after its many comparisons."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sessions",
        default="50,500",
        help="store sizes to compare with a fresh store (default 50,500: a screenful, and long)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs-in-one-app", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=32, help="tokens per answer")
    parser.add_argument(
        "--screen-repeats",
        type=int,
        default=15,
        help="in-process sessions-screen timings per store (0: none)",
    )
    parser.add_argument("--out", type=Path, help="write the samples and summary as JSON")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sessions.split(",") if n.strip()]
    kinds = ["fresh", *(str(n) for n in sizes)]
    longest = str(max(sizes))
    screenful = str(min(sizes))

    scratch = Path(tempfile.mkdtemp(prefix="pelican-long-"))
    cache = Path(tempfile.mkdtemp(prefix="pelican-pyc-"))
    stores: dict[str, Any] = {}
    try:
        launchers = {
            "fresh": Launcher(home_template=None, bytecode_cache=cache, max_tokens=args.max_tokens)
        }
        for size in sizes:
            template = scratch / f"home-{size}"
            (template / "data").mkdir(parents=True)
            db = template / "data" / "sessions.sqlite3"
            say(f"writing {size} sessions through SessionStore ...")
            stores[str(size)] = fill_store(db, size)
            info = stores[str(size)]
            for whole, name in ((False, "open"), (True, "open_whole")):
                info[f"{name}_warm_s"] = [store_open_s(db, False, whole) for _ in range(5)]
                info[f"{name}_cold_s"] = [store_open_s(db, True, whole) for _ in range(3)]
            launchers[str(size)] = Launcher(
                home_template=template, bytecode_cache=cache, max_tokens=args.max_tokens
            )
            say(
                f"  {info['bytes'] / 1e6:.0f} MB; SessionStore.open after a clean close "
                f"{_fmt(info['open_warm_s'])} s warm, {_fmt(info['open_cold_s'])} s cold; "
                f"after an unclean one {_fmt(info['open_whole_warm_s'])} s warm, "
                f"{_fmt(info['open_whole_cold_s'])} s cold"
            )
        screen_cpu: dict[str, list[float]] = {}
        page_cpu: dict[str, list[float]] = {}
        if args.screen_repeats:
            say("the sessions screen in-process, each store in turn ...")
            one = scratch / "one" / "sessions.sqlite3"
            one.parent.mkdir()
            fill_store(one, 1)
            dbs = {"fresh": one}
            dbs.update({str(n): scratch / f"home-{n}" / "data" / "sessions.sqlite3" for n in sizes})
            page_cpu = sessions_page_cost(dbs, 4 * args.screen_repeats)
            screen_cpu = sessions_screen_cost(dbs, args.screen_repeats)
        say("warm-up launch (bytecode written, not counted)")
        launchers["fresh"].launch("app", "pty", settle_s=0.5)
        rounds = []
        for index in range(args.rounds):
            turn = index % len(kinds)
            order = kinds[turn:] + kinds[:turn]
            sample: dict[str, Any] = {"round": index + 1, "order": order}
            for kind in order:
                sample[kind] = one_app(launchers[kind], kind)
            say(
                f"round {index + 1}/{args.rounds}, {longest} / fresh: "
                + " · ".join(
                    f"{key} {sample[longest][key] / sample['fresh'][key]:.2f}"
                    for key, _ in FIGURES
                    if sample["fresh"].get(key)
                )
            )
            rounds.append(sample)
        long_app: dict[str, Any] | None = None
        if args.runs_in_one_app:
            say(f"one app on the {longest}-session store, {args.runs_in_one_app} runs in a row ...")
            long_app = one_app(launchers[longest], longest, runs_in_app=args.runs_in_one_app)
        for launcher in launchers.values():
            launcher.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    load = os.getloadavg()
    print(
        f"pelican-tui with {', '.join(f'{n} sessions' for n in sizes)} in its store against a "
        f"fresh one, {args.rounds} rounds (the stand-in, {args.max_tokens} tokens per "
        f"answer), seconds, medians (min-max); load {load[0]:.1f}"
    )
    summary: dict[str, Any] = {"stores": stores}
    for key, name in FIGURES:
        if any(key not in r[kind] for r in rounds for kind in kinds):
            continue
        values = {kind: [r[kind][key] for r in rounds] for kind in kinds}
        ratios = {
            kind: [r[kind][key] / r["fresh"][key] for r in rounds if r["fresh"][key]]
            for kind in kinds[1:]
        }
        # Against the screenful store too: does the cost grow with the history, beyond
        # what drawing a screen of rows instead of a fresh store's two costs?
        to_screenful = [r[longest][key] / r[screenful][key] for r in rounds if r[screenful][key]]
        summary[key] = {
            "values": {kind: _spread(v) for kind, v in values.items()},
            "ratio_to_fresh": {kind: _spread(v) for kind, v in ratios.items()},
            f"ratio_to_{screenful}": _spread(to_screenful),
        }
        print(
            f"  {name:34} "
            + " · ".join(f"{kind} {_fmt(values[kind])}" for kind in kinds)
            + f" · {longest}/fresh {_fmt(ratios[longest], 2)}"
            + (f" · {longest}/{screenful} {_fmt(to_screenful, 2)}" if screenful != longest else "")
        )
    if page_cpu:
        ratio = {
            kind: [
                big / small for big, small in zip(page_cpu[longest], page_cpu[kind], strict=True)
            ]
            for kind in ("fresh", screenful)
        }
        print(
            f"  the screen's store work alone, CPU ({len(page_cpu['fresh'])} each): "
            + " · ".join(f"{kind} {_fmt(v, 4)}" for kind, v in page_cpu.items())
            + f" · {longest}/fresh {_fmt(ratio['fresh'], 2)}"
            + f" · {longest}/{screenful} {_fmt(ratio[screenful], 2)}"
        )
        summary["page_cpu_s"] = {kind: _spread(v) for kind, v in page_cpu.items()}
    if screen_cpu:
        ratio = [
            big / fresh for big, fresh in zip(screen_cpu[longest], screen_cpu["fresh"], strict=True)
        ]
        print(
            f"  sessions screen in-process, CPU to its frames drawn ({args.screen_repeats} each): "
            + " · ".join(f"{kind} {_fmt(v)}" for kind, v in screen_cpu.items())
            + f" · {longest}/fresh {_fmt(ratio, 2)}"
        )
        summary["screen_cpu_s"] = {kind: _spread(v) for kind, v in screen_cpu.items()}
    for size in sizes:
        info = stores[str(size)]
        print(
            f"  SessionStore.open, {size} sessions ({info['bytes'] / 1e6:.0f} MB), after a "
            f"clean close: {_fmt(info['open_warm_s'])} warm, {_fmt(info['open_cold_s'])} cold; "
            f"after an unclean one (whole file): {_fmt(info['open_whole_warm_s'])} warm, "
            f"{_fmt(info['open_whole_cold_s'])} cold"
        )
    if long_app is not None:
        before, after = long_app, long_app["after_runs"]
        print(
            f"  one app, {longest} sessions: its 2nd-4th comparisons and screens vs the "
            f"3 after {args.runs_in_one_app} more comparisons (medians)"
        )
        for key in ONE_APP_FIGURES:
            name = dict(FIGURES)[key].strip()
            print(
                f"  {name:34} {before[key]:.3f} -> {after[key]:.3f} "
                f"({after[key] / before[key]:.2f})"
            )
        each = long_app.get("each_run", [])
        tenth = max(len(each) // 5, 1)
        if len(each) >= 2 * tenth:
            first = [run["run_cpu_s"] for run in each[:tenth]]
            last = [run["run_cpu_s"] for run in each[-tenth:]]
            print(
                f"  app CPU per comparison, the first {tenth} of the {len(each)} in a row "
                f"{_fmt(first)} -> the last {tenth} {_fmt(last)}"
            )
            summary["one_app_cpu_first_last"] = (_spread(first), _spread(last))
        print(
            f"  app memory (RSS) before the {args.runs_in_one_app} comparisons "
            f"{before['rss_bytes'] / 2**20:.0f} MiB -> after {after['rss_bytes'] / 2**20:.0f} MiB"
        )
        summary["one_app"] = {key: (before[key], after[key]) for key in ONE_APP_FIGURES}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "command": " ".join(["bench/long_sessions.py", *(argv or sys.argv[1:])]),
                    "load_average": load,
                    "summary": summary,
                    "rounds": rounds,
                    "one_app": long_app,
                },
                indent=1,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
