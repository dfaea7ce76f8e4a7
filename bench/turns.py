"""Thinking on vs off without Claude: the TUI and ``pelican-tui run`` give the same tok/s.

Both panes run the local model on one llama-server; the engine runs them in
turn, so each gets the server's whole speed, whichever front end asked. Each
round runs the comparison once through the real app (Textual's ``run_test``,
headless, real llama-server, the ``r`` key) and once through ``pelican-tui
run --thinking both`` in a subprocess, interleaved (which goes first
alternates), and reads the generation tok/s llama-server reported for each
pane from the session store. Prints medians, ranges and the ratios app/run.

tok/s is noisy on a shared machine; the steadier figure is the front end's CPU
per generated token: the CPU seconds the front end and the processes it
started (the SVG render worker, not llama-server) used from the comparison's
start to its last recorded run, over the tokens llama-server generated in it.
The app is measured in-process (``time.process_time()`` around the ``r`` key,
after the first-run warm-up imports are done, as a user's app has them);
``pelican-tui run`` from outside (psutil, read when it prints the comparison's
first line and its first result line: imports, server start and the export
after it are left out).

The app has no terminal here, so ``ui.image_mode`` "auto" draws pictures in
textual-image's Unicode mode; ``--image-mode halfcell`` draws them as in tmux and
most terminals without graphics. The two cost differently: counted in the app,
a two-pane comparison lays the screen out 4 times with Unicode pictures (style
changes of the picture and its placeholder) and 0 times in half-cell after the
first comparison's 2.

    .venv/bin/python bench/turns.py [--rounds 3] [--max-tokens 128] [--image-mode auto[,halfcell]]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Generate an SVG of a pelican riding a bicycle"
RUN_STARTS = re.compile(r"^\[\d+/\d+\] ")
"""``pelican-tui run``'s line just before it starts the comparison."""
RUN_ENDED = re.compile(r"^  (left|right) .*: (finished|failed|cancelled)")
"""``pelican-tui run``'s result lines, printed once the comparison is over."""


def _env(home: Path, max_tokens: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PELICAN_", "ANTHROPIC_"))}
    env.update(
        PELICAN_HOME=str(home),
        PELICAN_CONFIG_FILE=str(home / "config.toml"),
        PELICAN_LOCAL__CONTEXT="2048",
        PELICAN_LOCAL__MAX_TOKENS=str(max_tokens),
        PELICAN_LOCAL__SEED="42",
        PELICAN_PROMPT=PROMPT,
    )
    return env


def _rates(home: Path, session_id: int) -> dict[str, float]:
    """tok/s per slot as llama-server reported them, and ``tokens``: all generated."""
    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore

    assert locations.data_dir().is_relative_to(home)
    with SessionStore.open(locations.sessions_db(), create=False) as store:
        session = store.get_session(session_id)
    rates = {
        run.slot: float(run.timings.get("generation_tokens_per_s") or 0.0) for run in session.runs
    }
    rates["tokens"] = float(sum(run.timings.get("generated_tokens") or 0 for run in session.runs))
    return rates


def _helpers_cpu(parent: psutil.Process) -> float:
    """CPU seconds of ``parent``'s descendants other than llama-server (alive now).

    Within the measured window the only other one is the SVG render worker;
    a helper that exits inside the window loses its share (none does here)."""
    total = 0.0
    for child in parent.children(recursive=True):
        try:
            if child.name() == "llama-server":
                continue
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _own_cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def _through_the_app(home: Path) -> dict[str, float]:
    from pelican_tui.app import PelicanApp
    from pelican_tui.backends.llama.prepare import setup
    from pelican_tui.backends.settings import load_settings

    settings = load_settings()
    prepared = setup(settings, lambda _line: None)
    app = PelicanApp(settings, prepared, start_server=True, sample_resources=True)
    async with app.run_test(headless=True, size=(160, 48)) as pilot:
        # app.server is read each time: the local side (and its server) is replaced
        # once the model's header has been read, after the first frame.
        give_up = time.monotonic() + 300
        while app.server is None or app.server.status.state.value != "ready":
            if time.monotonic() > give_up:
                raise SystemExit("llama-server was not ready after 300 s")
            await pilot.pause(0.1)
        await _warm_up_done(app, pilot)
        me = psutil.Process()
        cpu, helpers = time.process_time(), _helpers_cpu(me)
        await pilot.press("r")
        panes = [app.pane("left"), app.pane("right")]
        # A pane ends after its run is recorded (the engine's RunEnded comes last).
        # asyncio.sleep, not pilot.pause: a pause makes every widget process a
        # callback and refreshes the screen, CPU the app would not spend otherwise.
        while not all(p.state in ("finished", "failed", "cancelled") for p in panes):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        cpu, helpers = time.process_time() - cpu, _helpers_cpu(me) - helpers
        session_id = app.session_id
    assert session_id is not None
    return {**_rates(home, session_id), "cpu_s": cpu + helpers, "helpers_cpu_s": helpers}


async def _warm_up_done(app: Any, pilot: Any, wait_s: float = 10.0) -> None:
    """Wait until the app's warm-up imports (started when the server is ready) are done."""
    from pelican_tui.app import WARM_UP_MODULES

    give_up = time.monotonic() + wait_s
    while time.monotonic() < give_up:
        running = any(w.name == "warm up" and not w.is_finished for w in app.workers)
        if not running and all(name in sys.modules for name in WARM_UP_MODULES):
            return
        await pilot.pause(0.05)
    print("(the warm-up imports did not finish: measuring anyway)", file=sys.stderr)


def _through_run(home: Path, env: dict[str, str]) -> dict[str, float]:
    out = home / f"run-{len(list(home.glob('run-*')))}"
    child = subprocess.Popen(
        [sys.executable, "-m", "pelican_tui", "run", "--thinking", "both", "--no-claude",
         "--out", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watched = psutil.Process(child.pid)
    assert child.stderr is not None
    lines: list[str] = []
    start: tuple[float, float] | None = None
    cpu = helpers = float("nan")
    for line in child.stderr:  # stderr is line-buffered: each line arrives as printed
        lines.append(line)
        if start is None and RUN_STARTS.match(line):
            start = (_own_cpu(watched), _helpers_cpu(watched))
        elif start is not None and math.isnan(cpu) and RUN_ENDED.match(line):
            cpu = _own_cpu(watched) - start[0]
            helpers = _helpers_cpu(watched) - start[1]
    if child.wait() != 0:
        raise SystemExit(f"pelican-tui run exited {child.returncode}:\n{''.join(lines)}")
    if math.isnan(cpu):
        print("(pelican-tui run's progress lines not recognised: no CPU figure)", file=sys.stderr)
    summary = json.loads((out / "summary.json").read_text())
    rates = _rates(home, summary["sessions"][0]["id"])
    return {**rates, "cpu_s": cpu + helpers, "helpers_cpu_s": helpers}


def _ratios(front: list[float], run: list[float]) -> dict[str, Any]:
    ratios = [a / b for a, b in zip(front, run, strict=True) if b]
    return {
        "ratio_median": statistics.median(ratios) if ratios else None,
        "ratio_range": [min(ratios), max(ratios)] if ratios else None,
    }


def _report(results: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Medians and ranges per side; each app side's ratios to ``run``, round by round."""
    apps = [side for side in results if side != "run"]
    report: dict[str, Any] = {}
    for slot, label in (("left", "thinking on"), ("right", "thinking off")):
        run = [r[slot] for r in results["run"]]
        report[label] = {
            "run_tok_s_median": statistics.median(run),
            "run_range": [min(run), max(run)],
        }
        for side in apps:
            tok_s = [r[slot] for r in results[side]]
            report[label][side] = {
                "tok_s_median": statistics.median(tok_s),
                "range": [min(tok_s), max(tok_s)],
                **_ratios(tok_s, run),
            }
    per_token = {
        side: [1000 * r["cpu_s"] / r["tokens"] if r["tokens"] else math.nan for r in rounds]
        for side, rounds in results.items()
    }
    cpu: dict[str, Any] = {
        "run_median": statistics.median(per_token["run"]),
        "run_range": [min(per_token["run"]), max(per_token["run"])],
    }
    for side in apps:
        cpu[side] = {
            "median": statistics.median(per_token[side]),
            "range": [min(per_token[side]), max(per_token[side])],
            "helpers_ms_median": statistics.median(
                1000 * r["helpers_cpu_s"] / r["tokens"] for r in results[side] if r["tokens"]
            ),
            **_ratios(per_token[side], per_token["run"]),
        }
    cpu["tokens_per_comparison"] = statistics.median(r["tokens"] for r in results[apps[0]])
    report["cpu ms per generated token"] = cpu
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument(
        "--image-mode",
        default="auto",
        help="ui.image_mode of the app (auto: Unicode here; halfcell: as in tmux); "
        "several, comma-separated, make one app side each, interleaved",
    )
    args = parser.parse_args()
    modes = [mode.strip() for mode in args.image_mode.split(",") if mode.strip()]
    sides = [f"app {mode}" for mode in modes] + ["run"]
    results: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="pelican-turns-") as scratch:
        home = Path(scratch)
        env = _env(home, args.max_tokens)
        os.environ.update(env)
        for name in [k for k in os.environ if k.startswith("ANTHROPIC_")]:
            del os.environ[name]
        for round_ in range(args.rounds):
            shift = round_ % len(sides)  # which side goes first turns round by round
            for side in sides[shift:] + sides[:shift]:
                if side == "run":
                    rates = _through_run(home, env)
                else:
                    os.environ["PELICAN_UI__IMAGE_MODE"] = side.removeprefix("app ")
                    rates = asyncio.run(_through_the_app(home))
                results[side].append(rates)
                shown = {k: round(v, 3) for k, v in rates.items()}
                print(f"round {round_ + 1} {side}: {shown}", file=sys.stderr)
    print(json.dumps(_report(results), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
