"""Thinking on vs off without Claude: the TUI and ``pelican-tui run`` give the same tok/s.

Both panes run the local model on one llama-server; the engine runs them in
turn, so each gets the server's whole speed, whichever front end asked. Each
round runs the comparison once through the real app (Textual's ``run_test``,
headless, real llama-server, the ``r`` key) and once through ``pelican-tui
run --thinking both`` in a subprocess, interleaved (which goes first
alternates), and reads the generation tok/s llama-server reported for each
pane from the session store. Prints medians, ranges and the ratios app/run.

    .venv/bin/python bench/turns.py [--rounds 3] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Generate an SVG of a pelican riding a bicycle"


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
    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore

    assert locations.data_dir().is_relative_to(home)
    with SessionStore.open(locations.sessions_db(), create=False) as store:
        session = store.get_session(session_id)
    return {
        run.slot: float(run.timings.get("generation_tokens_per_s") or 0.0) for run in session.runs
    }


async def _through_the_app(home: Path) -> dict[str, float]:
    from pelican_tui.app import PelicanApp
    from pelican_tui.backends.llama.prepare import setup
    from pelican_tui.backends.settings import load_settings

    settings = load_settings()
    prepared = setup(settings, lambda _line: None)
    app = PelicanApp(settings, prepared, start_server=True, sample_resources=True)
    async with app.run_test(headless=True, size=(160, 48)) as pilot:
        server = app.server
        assert server is not None
        while server.status.state.value != "ready":
            await pilot.pause(0.1)
        await pilot.press("r")
        panes = [app.pane("left"), app.pane("right")]
        # A pane ends after its run is recorded (the engine's RunEnded comes last).
        while not all(p.state in ("finished", "failed", "cancelled") for p in panes):
            await pilot.pause(0.1)
        session_id = app.session_id
    assert session_id is not None
    return _rates(home, session_id)


def _through_run(home: Path, env: dict[str, str]) -> dict[str, float]:
    out = home / f"run-{len(list(home.glob('run-*')))}"
    done = subprocess.run(
        [sys.executable, "-m", "pelican_tui", "run", "--thinking", "both", "--no-claude",
         "--out", str(out)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"pelican-tui run exited {done.returncode}:\n{done.stderr}")
    summary = json.loads((out / "summary.json").read_text())
    return _rates(home, summary["sessions"][0]["id"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"app": [], "run": []}
    with tempfile.TemporaryDirectory(prefix="pelican-turns-") as scratch:
        home = Path(scratch)
        env = _env(home, args.max_tokens)
        os.environ.update(env)
        for name in [k for k in os.environ if k.startswith("ANTHROPIC_")]:
            del os.environ[name]
        for round_ in range(args.rounds):
            order = ("app", "run") if round_ % 2 == 0 else ("run", "app")
            for side in order:
                rates = (
                    asyncio.run(_through_the_app(home))
                    if side == "app"
                    else _through_run(home, env)
                )
                results[side].append(rates)
                print(f"round {round_ + 1} {side}: {rates}", file=sys.stderr)
    report: dict[str, Any] = {}
    for slot, label in (("left", "thinking on"), ("right", "thinking off")):
        app = [r[slot] for r in results["app"]]
        run = [r[slot] for r in results["run"]]
        ratios = [a / b for a, b in zip(app, run, strict=True) if b]
        report[label] = {
            "app_tok_s_median": statistics.median(app),
            "app_range": [min(app), max(app)],
            "run_tok_s_median": statistics.median(run),
            "run_range": [min(run), max(run)],
            "ratio_median": statistics.median(ratios) if ratios else None,
            "ratio_range": [min(ratios), max(ratios)] if ratios else None,
        }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
