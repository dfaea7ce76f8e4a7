"""Two servers on this machine: pelican-tui runs them in turn; together, each is slow.

The left pane runs the spawned llama-server, the right a second llama-server on
localhost, standing for an Ollama or LM Studio on the same laptop (same model,
same flags, its own process). Each round runs the comparison twice, in an order
that alternates: once as pelican-tui does (servers of one machine take turns,
``Side.turn_key``), and once together (every server its own turn, as the engine
did before). Prints each pane's generation tok/s as its llama-server reported
it, and the comparison's wall time, with the together/in-turn ratios.

    .venv/bin/python bench/machine_turns.py [--rounds 3] [--max-tokens 256] [--model real-shape]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bare_side import spawn_bare_server, stop_server
from workload import Workload

MODES = ("in turn", "together")
SLOTS = ("left", "right")
REMOTE_KEY_ENV = "PELICAN_BENCH_REMOTE_KEY"


@contextmanager
def each_server_its_own_turn() -> Iterator[None]:
    """The engine as before: a run waits only for runs on its own server."""
    from pelican_tui.backends.engine.sides import Side

    kept = Side.turn_key
    Side.turn_key = property(lambda side: side.server_key)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        Side.turn_key = kept  # type: ignore[method-assign]


async def _rounds(workload: Workload, url: str, rounds: int) -> dict[str, list[dict[str, Any]]]:
    from pelican_tui.backends.engine.comparison import ComparisonEngine
    from pelican_tui.backends.engine.sides import PaneChoice
    from pelican_tui.backends.llama.binary import find_server_binary
    from pelican_tui.backends.llama.prepare import Prepared

    settings = workload.settings(remote={"url": url, "api_key_env": REMOTE_KEY_ENV})
    found = find_server_binary(settings.local.llama_server)
    assert found is not None
    engine = ComparisonEngine(settings, Prepared(found.path, "cache"))
    choices = {"left": PaneChoice("local", False), "right": PaneChoice("remote", False)}
    measured: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    try:
        status = await engine.start_local()
        assert status.ready, status.message
        await engine.run_comparison(settings.prompt, choices, ignore)  # warm-up
        for number in range(rounds):
            for mode in MODES if number % 2 == 0 else reversed(MODES):
                started = time.monotonic()
                if mode == "together":
                    with each_server_its_own_turn():
                        outcome = await engine.run_comparison(settings.prompt, choices, ignore)
                else:
                    outcome = await engine.run_comparison(settings.prompt, choices, ignore)
                row: dict[str, Any] = {"wall_s": time.monotonic() - started}
                for slot in SLOTS:
                    result = outcome.results[slot]
                    assert result.outcome == "finished", (slot, result.failure_reason)
                    row[slot] = result.timings["generation_tokens_per_s"]
                measured[mode].append(row)
                print(f"round {number + 1} {mode}: {row}", file=sys.stderr)
    finally:
        await engine.close()
    return measured


def ignore(update: object) -> None:
    pass


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def _ratios(measured: dict[str, list[dict[str, Any]]], key: str) -> str:
    pairs = zip(measured["together"], measured["in turn"], strict=True)
    values = [t[key] / i[key] for t, i in pairs]
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--model", choices=["stand-in", "real-shape"], default="stand-in")
    args = parser.parse_args()
    model = None
    if args.model == "real-shape":
        from real_shape import ensure_real_shape_model

        model = ensure_real_shape_model()
    workload = Workload(max_tokens=args.max_tokens, model=model)
    os.environ["PELICAN_HOME"] = tempfile.mkdtemp(prefix="pelican-machine-turns-")
    remote, url, key, _ = spawn_bare_server(workload)
    os.environ[REMOTE_KEY_ENV] = key
    try:
        measured = asyncio.run(_rounds(workload, url, args.rounds))
    finally:
        stop_server(remote)
    print(
        f"{args.rounds} rounds, {args.model}, max_tokens {args.max_tokens}, cores {os.cpu_count()}"
    )
    print("| figure | in turn | together | together / in turn |")
    print("|---|---|---|---|")
    for key, name in (
        ("left", "spawned llama-server tok/s"),
        ("right", "server on localhost tok/s"),
    ):
        print(
            f"| {name} | {_median(measured['in turn'], key):.1f} "
            f"| {_median(measured['together'], key):.1f} | {_ratios(measured, key)} |"
        )
    print(
        f"| comparison wall s | {_median(measured['in turn'], 'wall_s'):.2f} "
        f"| {_median(measured['together'], 'wall_s'):.2f} | {_ratios(measured, 'wall_s')} |"
    )


if __name__ == "__main__":
    main()
