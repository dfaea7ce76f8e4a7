"""Does the app's memory grow run after run? The real app, headless, N comparisons in a row.

Usage::

    .venv/bin/python bench/memory_growth.py [--comparisons 8] [--samples 4] [--blind|--no-blind]
                                            [--local] [--no-trace] [--trim] [--census]

Starts :class:`~pelican_tui.app.PelicanApp` with ``run_test(size=(160, 48))``
(as ``tests/_app_support.make_app`` builds it, on a fresh ``PELICAN_HOME``)
with both panes on Claude (thinking on and off) against the loopback server
speaking Anthropic's protocol (``tests/_anthropic_server.py``, ``ok``
scenario, run as its own process so its request log is not counted), or with
``--local`` the left pane on the tiny model's llama-server (its previews go
through the SVG render worker). Each comparison is ``r`` with ``ui.samples``
samples of both panes; in blind mode every pair is then voted on with ``<``
and ``>`` in turn, as a person would.

After each comparison it prints this process's RSS (psutil) and, with
``--census``, what is still reachable: decoded PIL images (their pixels live
outside Python's allocator, so tracemalloc does not see them), Textual
workers, notices. ``--trim`` also prints the RSS after ``malloc_trim(0)``
(glibc): memory freed but kept by the allocator shows as the difference. By
default tracemalloc runs (it costs memory of its own: use ``--no-trace`` for
the RSS figures) and the top growth between comparison 2 and the last is
printed, by line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import os
import subprocess
import sys
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
TESTS = BENCH_DIR.parent / "tests"
sys.path.insert(0, str(TESTS))

MIB = 1024 * 1024


def _isolate() -> Path:
    """A fresh home, config and no PELICAN_ settings from outside (as the tests' conftest)."""
    home = Path(tempfile.mkdtemp(prefix="pelican-bench-memory-"))
    for name in list(os.environ):
        if name.startswith("PELICAN_") and name != "PELICAN_CACHE_DIR":
            del os.environ[name]
    os.environ["PELICAN_HOME"] = str(home)
    os.environ["PELICAN_CONFIG_FILE"] = str(home / "config.toml")
    return home


def _start_claude() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, str(TESTS / "_anthropic_server.py"), "--port", "0", "--scenario", "ok"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"the loopback Anthropic server did not start: {line!r}")
    return process, line.removeprefix("listening on ")


def _rss() -> float:
    return psutil.Process().memory_info().rss / MIB


def _trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _census() -> str:
    """What is reachable now: decoded pictures (and their pixel bytes), workers, notices."""
    from PIL import Image

    from pelican_tui.votes import Contender

    counts: Counter[str] = Counter()
    pixels = 0
    for obj in gc.get_objects():
        if isinstance(obj, Image.Image):
            counts["PIL images"] += 1
            pixels += obj.width * obj.height * len(obj.getbands())
        elif isinstance(obj, Contender):
            counts["contenders"] += 1
        else:
            name = type(obj).__name__
            if name in ("Worker", "Notification", "Timer", "Task"):
                counts[name] += 1
    if os.environ.get("MEMORY_GROWTH_HOLDERS"):  # who holds each decoded picture
        for obj in gc.get_objects():
            if isinstance(obj, Image.Image):
                holders = [type(r).__name__ for r in gc.get_referrers(obj) if r is not obj]
                print(f"    {obj.size} {obj.mode} held by {holders}")
    words = [f"{n} {what}" for what, n in sorted(counts.items())]
    return ", ".join(words) + f"; pixels {pixels / MIB:.1f} MiB"


def _stuck(app: Any, what: str) -> None:
    said = [f"{notice.title}: {notice.message}" for notice in app.notices[-4:]]
    panes = [app.pane(slot).stats_line() for slot in ("left", "right")]
    raise SystemExit(f"{what} (screen {app.screen!r}, panes {panes}, notices {said})")


async def _comparison(pilot: Any, app: Any, blind: bool) -> None:
    from _app_support import wait_for

    shown = app.session_id
    await pilot.press("r")
    # Begun: it runs, or it ran (its first session replaced the one shown; r clears that).
    if not await wait_for(pilot, lambda: app.comparing or app.session_id not in (None, shown), 10):
        _stuck(app, "r started nothing")
    if blind:
        # Vote as pairs arrive, as a person would, until the comparison is over and voted on.
        votes = 0
        while app.comparing or app.pending_pairs:
            if app.pending_pairs:
                pair = app.pending_pairs[0]  # the pair on screen: a vote taken removes it
                await pilot.press("less_than_sign" if votes % 2 == 0 else "greater_than_sign")
                if not await wait_for(
                    pilot, lambda p=pair: all(w is not p for w in app.pending_pairs), 10
                ):
                    _stuck(app, "the vote was not taken")
                votes += 1
            else:
                await pilot.pause(0.1)
        if votes != app.samples:
            _stuck(app, f"{votes} votes for {app.samples} samples")
    else:
        if not await wait_for(pilot, lambda: not app.comparing, 300):
            _stuck(app, "the comparison hung")
        await pilot.press("less_than_sign")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _run(args: argparse.Namespace) -> None:
    from _app_support import header_read, make_app, wait_for

    from pelican_tui.backends.engine.sides import PaneChoice

    overrides: dict[str, Any] = {
        "claude": {"max_retries": 0},
        "ui": {
            "blind": args.blind,
            "samples": args.samples,
            "theme": "pelican-dark",
            "image_mode": args.image_mode,
        },
    }
    if args.local:
        from _app_support import COPY_SVG_PROMPT

        overrides["prompt"] = COPY_SVG_PROMPT
    app = make_app(start_server=args.local, overrides=overrides)
    snapshots: dict[int, tracemalloc.Snapshot] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        if args.local:
            assert await header_read(pilot)
            server = app.server
            assert server is not None
            ready = await wait_for(pilot, lambda: server.status.state.value == "ready", 120)
            assert ready, "llama-server did not start"
            app.choices["left"] = PaneChoice("local", True)
        else:
            app.choices["left"] = PaneChoice("claude", True)
        app.choices["right"] = PaneChoice("claude", False)  # r titles the panes for them
        await pilot.pause()
        gc.collect()
        print(f"start: rss {_rss():.1f} MiB", flush=True)
        if args.trace:
            snapshots[0] = tracemalloc.take_snapshot()
        for number in range(1, args.comparisons + 1):
            await _comparison(pilot, app, args.blind)
            gc.collect()
            line = f"comparison {number}: rss {_rss():.1f} MiB"
            if args.trace:
                current, _peak = tracemalloc.get_traced_memory()
                line += f" (traced {current / MIB:.1f} MiB)"
            if args.trim:
                _trim()
                line += f", after malloc_trim {_rss():.1f} MiB"
            if args.census:
                line += f"; {_census()}"
            print(line, flush=True)
            if args.trace and number in (1, 2, args.comparisons):
                snapshots[number] = tracemalloc.take_snapshot()
    last = args.comparisons
    for first, then in ((0, 1), (2, last)):
        if args.trace and first in snapshots and then in snapshots and then > first:
            print(f"\ntracemalloc: top growth from {_name(first)} to {_name(then)}")
            stats = snapshots[then].compare_to(snapshots[first], args.group_by)
            for stat in stats[: args.top]:
                print(f"  {stat}")


def _name(number: int) -> str:
    return "the start" if number == 0 else f"comparison {number}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comparisons", type=int, default=8)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--blind", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--local", action="store_true", help="the left pane on llama-server")
    parser.add_argument("--trace", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--trim", action="store_true", help="also RSS after malloc_trim(0)")
    parser.add_argument("--census", action="store_true", help="reachable pictures, workers")
    parser.add_argument(
        "--image-mode", default="halfcell", help="ui.image_mode (halfcell: as in tmux)"
    )
    parser.add_argument(
        "--glibc-default", action="store_true", help="leave malloc's thresholds as glibc has them"
    )
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--group-by", choices=("lineno", "filename", "traceback"), default="lineno")
    args = parser.parse_args()
    home = _isolate()
    claude, base_url = _start_claude()
    os.environ["ANTHROPIC_API_KEY"] = "test-key-not-a-secret"
    os.environ["ANTHROPIC_BASE_URL"] = base_url
    print(f"home {home}; samples {args.samples}, blind {args.blind}, local {args.local}")
    if args.glibc_default:
        print("glibc's default malloc thresholds (not the app's)")
    else:
        from pelican_tui.allocator import return_large_blocks

        return_large_blocks()  # as the app does after its first frame
    if args.trace:
        tracemalloc.start(10)
    try:
        asyncio.run(_run(args))
    finally:
        claude.terminate()
        claude.wait(10)


if __name__ == "__main__":
    main()
