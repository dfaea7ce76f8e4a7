"""pelican-tui's benchmark: what the UI costs next to the model, and the hardware ceiling.

Usage: bin/bench [--model stand-in|real-shape|PATH] [--runs N] [--max-tokens N] [--out DIR]

``--model stand-in`` (the default) serves the tiny default model;
``--model real-shape`` a random-weight model with Qwen3.6-35B-A3B's widths and
4 of its 40 layers (:mod:`real_shape`, written once and cached), where
llama-server's work per token is of the real model's kind; a path serves that
GGUF. llama-server gets ``-t`` = all cores (``--threads`` to change it), as on a
laptop that runs nothing else.

Every figure is a ratio against a baseline measured in the same run, A/B
interleaved over ``--runs`` rounds (the order alternates each round), with the
median and the spread (min-max) reported. Per round:

- A: the real pelican-tui (``python -m pelican_tui``) on a 160x48 (``--size``)
  pseudo-terminal, spawning its own llama-server, ``r`` pressed: both panes
  stream (in turn: they share one server), with live previews and final
  pictures;
- B: the same llama-server command line spawned bare and polled on
  ``/health``, then a bare httpx client streaming the same two requests, in
  turn like the app;
- the smallest Textual app on the same pseudo-terminal (start-up and memory
  baseline).

Then: pictures timed inside the app (:mod:`picture_latency`; stand-in only:
random weights write no SVG), SVG render latency in the sandboxed worker
versus in-process (:mod:`render_latency`), and memory bandwidth with the
decode ceiling it implies for the model.

Writes ``bench-results/<model>/latest.json`` and ``latest.md`` (``<model>`` is
``stand-in``, ``real-shape`` or the GGUF's name).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from app_side import run_app_once, run_hello_once
from bare_side import run_bare_once
from render_latency import measure as measure_render
from report import Figure, Spread, paired_ratio, write_results
from workload import COLS, ROOT, ROWS, Workload, python, warm_bytecode

from pelican_tui.backends import hardware
from pelican_tui.backends.llama.binary import find_server_binary
from pelican_tui.backends.llama.default_model import default_model_path
from pelican_tui.backends.llama.gguf_info import read_gguf_info

STAND_IN = "stand-in"
REAL_SHAPE = "real-shape"

MIB = 1024 * 1024


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def isolate_environment() -> Path:
    """This process builds settings too: give it the same clean environment as the app."""
    home = Path(tempfile.mkdtemp(prefix="pelican-bench-"))
    for key in list(os.environ):
        if key.startswith("ANTHROPIC_") or (
            key.startswith("PELICAN_") and key != "PELICAN_CACHE_DIR"
        ):
            del os.environ[key]
    os.environ["PELICAN_HOME"] = str(home)
    os.environ["PELICAN_CONFIG_FILE"] = str(home / "config.toml")
    return home


def mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def delivered(stream: dict[str, Any]) -> float | None:
    """Tokens after the first over the time from the first token to the end of the stream."""
    generated, total, ttft = (
        stream.get("generated_tokens"),
        stream.get("total_s"),
        stream.get("ttft_s"),
    )
    if not generated or generated < 2 or total is None or ttft is None or total <= ttft:
        return None
    return float((generated - 1) / (total - ttft))


def tokens(streams: list[dict[str, Any]]) -> int:
    return sum(int(s.get("generated_tokens") or 0) for s in streams)


def run_rounds(workload: Workload, runs: int) -> list[dict[str, Any]]:
    rounds = []
    for index in range(runs):
        order = ("app", "bare") if index % 2 == 0 else ("bare", "app")
        sample: dict[str, Any] = {"order": list(order)}
        for side in order:
            started = time.monotonic()
            if side == "app":
                sample["hello"] = run_hello_once()
                sample["app"] = run_app_once(workload)
            else:
                sample["bare"] = run_bare_once(workload)
            say(f"round {index + 1}/{runs}: {side} done in {time.monotonic() - started:.1f} s")
        app, bare = sample["app"], sample["bare"]
        say(
            f"  tok/s app {mean([s['server_tok_s'] for s in app['streams']]) or 0:.1f} "
            f"bare {mean([s['server_tok_s'] for s in bare['streams']]) or 0:.1f} · "
            f"UI CPU/server CPU {app_cpu(app) / max(app['server_cpu_s'], 1e-9):.3f} · "
            f"{app['terminal_bytes'] / max(tokens(app['streams']), 1):.0f} B/token · "
            f"first frame {app['first_frame_s']:.2f} s · RSS {app['rss_bytes'] / MIB:.0f} MiB"
        )
        rounds.append(sample)
    return rounds


def run_picture_latency(workload: Workload, runs: int) -> dict[str, Any]:
    command = [
        python(),
        str(ROOT / "bench" / "picture_latency.py"),
        "--runs",
        str(runs),
        "--max-tokens",
        str(workload.max_tokens),
    ]
    if workload.model is not None:
        command += ["--model", str(workload.model)]
    if workload.threads is not None:
        command += ["--threads", str(workload.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        say(f"picture latency failed: {done.stderr.strip()[-800:]}")
        return {"error": done.stderr.strip()[-800:]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _readiness_note(apps: list[dict[str, Any]], bares: list[dict[str, Any]]) -> str:
    load = [
        (a["server_healthy_s"] - a["app_to_server_spawn_s"]) * 1000
        for a in apps
        if a.get("server_healthy_s") is not None
    ]
    shown = [
        (a["ready_shown_s"] - a["server_healthy_s"]) * 1000
        for a in apps
        if a.get("server_healthy_s") is not None
    ]
    if not load:
        return ""
    bare = statistics.median(b["load_s"] * 1000 for b in bares)
    return (
        f"split by polling the app's own llama-server on /health from outside: its load "
        f"took {statistics.median(load):.0f} ms (bare: {bare:.0f} ms), then "
        f"{statistics.median(shown):.0f} ms until 'server: ready' was on screen (medians)."
    )


def build_figures(
    rounds: list[dict[str, Any]],
    pictures: dict[str, Any],
    render: dict[str, Any],
    ceiling: dict[str, Any],
) -> list[Figure]:
    apps = [r["app"] for r in rounds]
    bares = [r["bare"] for r in rounds]
    hellos = [r["hello"] for r in rounds]
    figures: list[Figure] = []

    def add(
        key: str,
        name: str,
        unit: str,
        values: list[float | None],
        baseline_name: str = "",
        baselines: list[float | None] | None = None,
        **extra: Any,
    ) -> Figure:
        figure = Figure(
            key=key,
            name=name,
            unit=unit,
            value=Spread.of([v for v in values if v is not None]),
            baseline_name=baseline_name,
            baseline=Spread.of([b for b in baselines or [] if b is not None]),
            ratio=paired_ratio(values, baselines) if baselines else None,
            **extra,
        )
        figures.append(figure)
        return figure

    add(
        "1",
        "Throughput: generation tok/s (llama-server's timing, mean of the 2 streams)",
        "tok/s",
        [mean([s["server_tok_s"] for s in a["streams"]]) for a in apps],
        "bare httpx client, same requests, identical server",
        [mean([s["server_tok_s"] for s in b["streams"]]) for b in bares],
        target=">= 0.98 (ratio)",
        target_on="ratio",
        limit=0.98,
        higher_is_better=True,
    )
    add(
        "1b",
        "Throughput: delivered tok/s (client-timed, first token to end of stream)",
        "tok/s",
        [mean([delivered(s) for s in a["streams"]]) for a in apps],
        "bare httpx client",
        [mean([delivered(s) for s in b["streams"]]) for b in bares],
        target=">= 0.98 (ratio)",
        target_on="ratio",
        limit=0.98,
        higher_is_better=True,
    )
    add(
        "2",
        "UI cost: pelican-tui CPU s (its SVG worker included) per llama-server CPU s",
        "ratio",
        [app_cpu(a) / a["server_cpu_s"] for a in apps if a["server_cpu_s"] > 0],
        "bare client CPU s per server CPU s",
        [b["client_cpu_s"] / b["server_cpu_s"] for b in bares if b["server_cpu_s"] > 0],
        target="<= 0.05",
        limit=0.05,
        note="the SVG worker's pictures are the app's work, so its CPU is counted "
        "(figure 2b: the app process alone, as figure 2 was measured before)",
    )
    add(
        "2b",
        "UI cost without the SVG worker process (the app process alone)",
        "ratio",
        [a["app_cpu_s"] / a["server_cpu_s"] for a in apps if a["server_cpu_s"] > 0],
        "bare client",
        [b["client_cpu_s"] / b["server_cpu_s"] for b in bares if b["server_cpu_s"] > 0],
    )
    add(
        "2d",
        "UI cost per token: pelican-tui CPU (its SVG worker included) per generated token",
        "us",
        [app_cpu(a) * 1e6 / max(tokens(a["streams"]), 1) for a in apps],
        "bare client CPU per generated token",
        [b["client_cpu_s"] * 1e6 / max(tokens(b["streams"]), 1) for b in bares],
        note="the figure to drive down whatever the model: llama-server's CPU per token "
        "grows with the model, pelican-tui's should not. Medians of the server's own CPU per "
        f"token in the same rounds: {_server_cpu_per_token(apps):.0f} us (app side), "
        f"{_server_cpu_per_token(bares):.0f} us (bare side); of the SVG worker's: "
        f"{_worker_cpu_per_token(apps):.0f} us.",
    )
    add(
        "2c",
        "Terminal bytes written per generated token",
        "B/token",
        [a["terminal_bytes"] / max(tokens(a["streams"]), 1) for a in apps],
        "answer text bytes per token",
        [sum(s["text_bytes"] for s in b["streams"]) / max(tokens(b["streams"]), 1) for b in bares],
        target="<= 300",
        limit=300,
    )
    add(
        "3",
        "Start-up: process start to first full frame",
        "s",
        [a["first_frame_s"] for a in apps],
        "smallest Textual app with a footer",
        [h["first_frame_s"] for h in hellos],
        target="< 1 s",
        limit=1.0,
    )
    add(
        "3b",
        "Readiness overhead: server spawn to 'ready' on screen, minus llama-server's own load",
        "ms",
        [
            ((a["ready_shown_s"] - a["app_to_server_spawn_s"]) - b["load_s"]) * 1000
            for a, b in zip(apps, bares, strict=True)
        ],
        "llama-server's own load (spawn to /health 200, 10 ms polls)",
        [b["load_s"] * 1000 for b in bares],
        target="< 150 ms",
        limit=150,
        note=_readiness_note(apps, bares),
    )
    add(
        "3c",
        "Launch to 'server: ready' on screen (what a person waits)",
        "s",
        [a["ready_shown_s"] for a in apps],
        "llama-server's own load",
        [b["load_s"] for b in bares],
        note="includes pelican-tui's start-up before it spawns llama-server "
        f"(median {statistics.median(a['app_to_server_spawn_s'] for a in apps):.2f} s).",
    )
    worker = render.get("samples_ms", {}).get("worker", [])
    in_process = render.get("samples_ms", {}).get("in_process", [])
    add(
        "4",
        f"SVG render: sandboxed worker ({render.get('svg')}, {render.get('output')})",
        "ms",
        worker,
        "cairosvg pipeline in-process",
        in_process,
        target="<= 1.5 (ratio)",
        target_on="ratio",
        limit=1.5,
        higher_is_better=False,
    )
    samples = pictures.get("samples", [])
    add(
        "4b",
        "Last </svg> token to that picture on screen (in-app, preview or final)",
        "ms",
        [s.get("close_to_screen_ms") for s in samples if s.get("svg_closed_in_text")],
        note=f"not measured: {pictures['skipped']}."
        if "skipped" in pictures
        else "not measured: bench/picture_latency.py failed (its last error line: "
        f"{pictures['error'].splitlines()[-1] if pictures['error'] else '?'})."
        if "error" in pictures
        else "timed inside the real app (run_test, headless, real llama-server; method in "
        "bench/picture_latency.py), panes whose answer closed its </svg> mid-stream only "
        f"({sum(1 for s in samples if s.get('svg_closed_in_text'))} of {len(samples)} pane "
        "runs). Includes the wait for the next live-preview tick (ui.preview_fps); when "
        "the mid-stream preview fails (invalid XML that only the final repair fixes), "
        "the first picture of the whole SVG is the final one, after the stream ends.",
    )
    add(
        "4c",
        "Finished event to the final picture on screen (in-app)",
        "ms",
        [s.get("finished_to_screen_ms") for s in samples],
    )
    add(
        "5",
        "Memory: pelican-tui RSS after a two-pane run with pictures",
        "MiB",
        [a["rss_bytes"] / MIB for a in apps],
        "smallest Textual app",
        [h["rss_bytes"] / MIB for h in hellos],
        target="<= 150 MiB",
        limit=150,
    )
    add(
        "5b",
        "Memory: SVG worker RSS (separate process)",
        "MiB",
        [a["svg_worker_rss_bytes"] / MIB for a in apps if a.get("svg_worker_rss_bytes")],
        "bare client RSS",
        [b["client_rss_bytes"] / MIB for b in bares],
    )
    ceiling_tps = ceiling["ceiling_tok_s"]
    add(
        "6",
        "Achieved / hardware ceiling: single-stream decode tok/s (bare client)",
        "tok/s",
        [mean([s["server_tok_s"] for s in b["single"]["streams"]]) for b in bares],
        f"ceiling {ceiling_tps:.0f} tok/s = {hardware.format_bandwidth(ceiling['bandwidth'])} "
        f"/ {ceiling['bytes_per_token'] / 1e6:.1f} MB per token",
        [ceiling_tps for _ in bares],
        note=f"memory bandwidth: {ceiling['method']} ({ceiling['measured_at']}).",
    )
    return figures


def app_cpu(app: dict[str, Any]) -> float:
    """CPU seconds of the app's side of a round: its process and its SVG worker
    (the pictures it draws are its work; llama-server, its other child, is not)."""
    return float(app["app_cpu_s"] + app.get("svg_worker_cpu_s", 0.0))


def _worker_cpu_per_token(apps: list[dict[str, Any]]) -> float:
    return statistics.median(
        a.get("svg_worker_cpu_s", 0.0) * 1e6 / max(tokens(a["streams"]), 1) for a in apps
    )


def _server_cpu_per_token(sides: list[dict[str, Any]]) -> float:
    return statistics.median(s["server_cpu_s"] * 1e6 / max(tokens(s["streams"]), 1) for s in sides)


def ceiling_for_model(model: Path, remeasure: bool) -> dict[str, Any]:
    info = read_gguf_info(model)
    bandwidth = hardware.memory_bandwidth(cached=not remeasure)
    record = hardware.read_cached_bandwidth()
    return {
        "bandwidth": bandwidth,
        "bytes_per_token": info.bytes_per_token_read(),
        "ceiling_tok_s": hardware.decode_ceiling_tokens_per_s(info, bandwidth),
        "model": info.summary(),
        "method": hardware.METHOD,
        "measured_at": record.measured_at if record else "now",
    }


def resolve_model(choice: str, say_progress: Any = say) -> tuple[str, Path]:
    """(results folder name, GGUF path) for ``--model``; writes the real-shape model if needed."""
    if choice == STAND_IN:
        return STAND_IN, default_model_path()
    if choice == REAL_SHAPE:
        from real_shape import ensure_real_shape_model

        return REAL_SHAPE, ensure_real_shape_model(say=say_progress)
    path = Path(choice).expanduser()
    if not path.is_file():
        raise SystemExit(f"--model: no such file {path} (or say stand-in / real-shape)")
    return path.name.removesuffix(".gguf"), path


def describe_model(key: str, path: Path) -> str:
    if key == STAND_IN:
        return f"tiny default model ({read_gguf_info(path).summary()})"
    if key == REAL_SHAPE:
        from real_shape import describe

        facts = describe(path)
        full = facts["at_40_layers"]["said"]
        return (
            f"real-shape model: {facts['summary']}, random weights; Qwen3.6-35B-A3B's widths "
            f"with {facts['layers']} of its 40 layers (at 40 layers: {full})"
        )
    return read_gguf_info(path).summary()


def _size(text: str) -> tuple[int, int]:
    """``80x24`` as (80, 24)."""
    try:
        cols, rows = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not COLSxROWS (e.g. 80x24)") from None
    if cols < 40 or rows < 12:
        raise argparse.ArgumentTypeError(f"{text!r} is smaller than the app's 40x12")
    return cols, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bin/bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--model",
        default=STAND_IN,
        help=f"{STAND_IN} (default: the tiny default model), {REAL_SHAPE} (Qwen3.6-35B-A3B's "
        "widths, 4 layers, random weights; written once, ~20 s, 2.8 GB) or a GGUF path",
    )
    parser.add_argument("--runs", type=int, default=5, help="interleaved A/B rounds (default 5)")
    parser.add_argument("--max-tokens", type=int, default=256, help="tokens per stream")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="llama-server -t (default: all cores, %(default)s here)",
    )
    parser.add_argument(
        "--size",
        type=_size,
        default=(COLS, ROWS),
        metavar="COLSxROWS",
        help=f"the app's terminal for the CPU and bytes rounds (default {COLS}x{ROWS}; 80x24 "
        "shows one pane at a time, as over SSH); pictures and first frame stay at the default",
    )
    parser.add_argument("--picture-runs", type=int, default=None, help="default: --runs")
    parser.add_argument("--render-runs", type=int, default=30)
    parser.add_argument(
        "--out", type=Path, default=None, help="results folder (default bench-results/<model>)"
    )
    parser.add_argument(
        "--remeasure-bandwidth", action="store_true", help="ignore the cached bandwidth"
    )
    args = parser.parse_args(argv)
    home = isolate_environment()
    if find_server_binary() is None or not default_model_path().is_file():
        say("llama-server or the default model is missing: run `bin/pelican-tui setup` first")
        return 1
    key, model = resolve_model(args.model)
    described = describe_model(key, model)
    workload = Workload(
        max_tokens=args.max_tokens,
        model=None if key == STAND_IN else model,
        threads=args.threads,
        size=args.size,
    )
    started = time.monotonic()
    load_at_start = os.getloadavg()
    try:
        say(f"{described}")
        say(f"{args.runs} interleaved rounds, {args.max_tokens} tokens per stream")
        warm_bytecode()
        rounds = run_rounds(workload, args.runs)
        if key == STAND_IN:
            say("pictures, timed inside the app")
            pictures = run_picture_latency(workload, args.picture_runs or args.runs)
        else:
            pictures = {"skipped": "random weights write no SVG (pictures: see the stand-in)"}
        say("SVG render latency: worker versus in-process")
        render = measure_render(runs=args.render_runs)
        say("memory bandwidth and the decode ceiling")
        ceiling = ceiling_for_model(model, args.remeasure_bandwidth)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    figures = build_figures(rounds, pictures, render, ceiling)
    command = " ".join(["bin/bench", *(sys.argv[1:] if argv is None else argv)])
    memory = psutil.virtual_memory().total / 1024**3
    meta = {
        "command": command,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {memory:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "runs": args.runs,
        "model": key,
        "workload": f"{described}, two panes (thinking on/off), {args.max_tokens} "
        f"max tokens per stream, -c {workload.context}, --seed {workload.seed}, "
        f"-t {args.threads}, {'x'.join(map(str, workload.size))} pty (xterm-256color, "
        "half-cell pictures)",
        "duration_s": round(time.monotonic() - started, 1),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
    }
    raw = {"rounds": rounds, "pictures": pictures, "render": render, "ceiling": ceiling}
    json_path, md_path = write_results(args.out or ROOT / "bench-results" / key, figures, meta, raw)
    print(md_path.read_text())
    say(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
