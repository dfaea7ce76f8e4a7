"""Long sessions stay fast: pelican-tui with 500 sessions in its store against a fresh store.

Usage: python bench/long_sessions.py [--sessions 500] [--rounds 3] [--runs-in-one-app 50]
                                     [--max-tokens 48] [--out FILE]

1. A store of ``--sessions`` real-shaped sessions is written once through
   :class:`~pelican_tui.backends.store.sessions.SessionStore` (:func:`fill_store`):
   two runs each, as the engine records them: model facts, settings, host,
   thinking (~8 KB) and answer text with the SVG, the PNG the sandboxed
   renderer draws at the stored 1024x1024 from the pelicans of
   ``tests/svg_corpus`` (60-90 KB each), timings, usage, memory peaks and
   picture facts; a verdict on every third.
2. ``--rounds`` rounds, in alternating order, start pelican-tui (the stand-in,
   ``--max-tokens`` per answer) on a fresh home and on a copy of the full one,
   and time in each:

   - launch to first frame (as :mod:`first_frame`);
   - ``o`` to the sessions screen's first row on screen (a fresh store has
     the one session the run below made, so the screen is opened after it and
     both draw rows);
   - ``r`` until both panes' runs are recorded as finished: wall time and the
     app's CPU time (the store is polled by this process, read-only).

3. One more app on the full store does ``--runs-in-one-app`` comparisons in a
   row and times ``o`` and ``r`` again at the end: against its own first ones
   (the same process, 50 runs and 50 sessions later).

Every time is a median (min-max) over the rounds; ratios are long / fresh,
paired round by round. The app's CPU time is the steadier figure on a shared
machine: wall times include whatever else the machine was doing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
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
from workload import ROOT

from pelican_tui.backends.store.sessions import SessionStore

PROMPT = "Generate an SVG of a pelican riding a bicycle"
SESSIONS_MARKER = b"Sessions"
POLL_S = 0.05
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


def _cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _finished_runs(db: Path) -> int:
    """Runs recorded as ended (finished, failed, cancelled): read-only, through indexes
    only (a status test on every row would read past each run's PNG)."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
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
        """Press o; seconds until the first session row is on screen; then escape."""
        start = self.term.bytes_at()
        cpu0 = _cpu(self.term.pid)
        pressed = self.term.press("o")
        shown = self._wait_row(first_title, start, timeout_s)
        result = {"sessions_s": shown - pressed, "sessions_cpu_s": _cpu(self.term.pid) - cpu0}
        time.sleep(0.3)
        self.term.press("\x1b")
        time.sleep(0.5)
        return result

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
    """Start pelican-tui on a ``kind`` ("fresh" or "long") home and time what a user does."""
    out: dict[str, Any] = {"kind": kind}

    def then(term: PtyTerminal) -> dict[str, Any]:
        home = Path(term.env["PELICAN_HOME"])
        app = AppUnderTest(term, home)
        app.wait_ready()
        time.sleep(0.5)
        result: dict[str, Any] = {}
        result.update(app.run_both())
        title = PROMPT[:24].encode()
        result.update(app.open_sessions(title))
        if runs_in_app:
            for index in range(runs_in_app):
                app.run_both()
                if (index + 1) % 10 == 0:
                    say(f"  {index + 1}/{runs_in_app} runs in one app")
            last: dict[str, Any] = {}
            last.update(app.run_both())
            last.update(app.open_sessions(title))
            result["after_runs"] = last
        result["rss_bytes"] = psutil.Process(term.pid).memory_info().rss
        return result

    out.update(launcher.launch("app", "pty", then=then, settle_s=0.5, timeout_s=120.0))
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
    ("first_frame_s", "launch to first frame, s"),
    ("sessions_s", "o to the first session row, s"),
    ("sessions_cpu_s", "  app CPU for it, s"),
    ("run_s", "r to both runs recorded, s"),
    ("run_cpu_s", "  app CPU for it, s"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs-in-one-app", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=48, help="tokens per answer")
    parser.add_argument("--out", type=Path, help="write the samples and summary as JSON")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="pelican-long-"))
    cache = Path(tempfile.mkdtemp(prefix="pelican-pyc-"))
    try:
        template = scratch / "long-home"
        (template / "data").mkdir(parents=True)
        say(f"writing {args.sessions} sessions through SessionStore ...")
        filled = fill_store(template / "data" / "sessions.sqlite3", args.sessions)
        say(
            f"  {filled['bytes'] / 1e6:.0f} MB in {filled['seconds']:.0f} s "
            f"(PNGs {min(filled['png_bytes']) // 1000}-{max(filled['png_bytes']) // 1000} KB)"
        )
        fresh = Launcher(home_template=None, bytecode_cache=cache, max_tokens=args.max_tokens)
        full = Launcher(home_template=template, bytecode_cache=cache, max_tokens=args.max_tokens)
        say("warm-up launch (bytecode written, not counted)")
        fresh.launch("app", "pty", settle_s=0.5)
        rounds = []
        for index in range(args.rounds):
            order = ("fresh", "long") if index % 2 == 0 else ("long", "fresh")
            pair: dict[str, Any] = {"round": index + 1, "order": list(order)}
            for kind in order:
                pair[kind] = one_app(fresh if kind == "fresh" else full, kind)
            say(
                f"round {index + 1}/{args.rounds}: "
                + " · ".join(
                    f"{key} {pair['long'][key] / pair['fresh'][key]:.2f}"
                    for key, _ in FIGURES
                    if pair["fresh"].get(key)
                )
            )
            rounds.append(pair)
        long_app: dict[str, Any] | None = None
        if args.runs_in_one_app:
            say(f"one app on the full store, {args.runs_in_one_app} runs in a row ...")
            long_app = one_app(full, "long", runs_in_app=args.runs_in_one_app)
        fresh.close()
        full.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    load = os.getloadavg()
    print(
        f"{args.sessions} sessions ({filled['bytes'] / 1e6:.0f} MB) against a fresh store, "
        f"{args.rounds} rounds, medians (min-max); load {load[0]:.1f}"
    )
    summary: dict[str, Any] = {}
    for key, name in FIGURES:
        fresh_values = [r["fresh"][key] for r in rounds]
        long_values = [r["long"][key] for r in rounds]
        ratios = [r["long"][key] / r["fresh"][key] for r in rounds if r["fresh"][key]]
        summary[key] = {
            "fresh": _spread(fresh_values),
            "long": _spread(long_values),
            "ratio": _spread(ratios),
        }
        print(
            f"  {name:32} fresh {_fmt(fresh_values)} · {args.sessions} sessions "
            f"{_fmt(long_values)} · ratio {_fmt(ratios, 2)}"
        )
    if long_app is not None:
        first, last = long_app, long_app["after_runs"]
        print(f"  one app, first vs after {args.runs_in_one_app} more runs:")
        for key, name in FIGURES[1:]:
            print(f"  {name:32} {first[key]:.3f} -> {last[key]:.3f} ({last[key] / first[key]:.2f})")
        summary["one_app"] = {k: (first[k], last[k]) for k, _ in FIGURES[1:]}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "command": " ".join(["bench/long_sessions.py", *(argv or sys.argv[1:])]),
                    "load_average": load,
                    "store": filled,
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
