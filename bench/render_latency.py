"""Render latency of a typical pelican SVG: sandboxed worker versus in-process.

Prints one JSON object. Interleaves the three ways of rendering in the same
run so machine load affects them alike:

- ``worker``: :class:`SvgRenderer.render_sync` (pipe round trip, sanitize, cairosvg)
- ``in_process``: the worker's same pipeline called in this process
- ``cairosvg_raw``: a bare ``cairosvg.svg2png`` call, no sanitizing

Usage: python bench/render_latency.py [SVG] [--runs N] [--width W] [--height H]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cairosvg

from pelican_tui.backends.svg.render import SvgRenderer, render_svg_in_process

DEFAULT_SVG = Path(__file__).parent.parent / "tests" / "svg_corpus" / "good_pelican_bicycle.svg"


def _stats(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {
        "median_ms": round(statistics.median(ms), 2),
        "worst_ms": round(ms[-1], 2),
        "best_ms": round(ms[0], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(
    svg: Path = DEFAULT_SVG, runs: int = 30, width: int = 400, height: int = 300
) -> dict[str, Any]:
    """Render ``svg`` ``runs`` times each way, interleaved; return the report."""
    data = svg.read_bytes()

    def via_worker() -> None:
        result = renderer.render_sync(data, width, height)
        if not result.ok:
            raise SystemExit(f"worker failed: {result.reason}")

    def in_process() -> None:
        render_svg_in_process(data, width, height)

    def raw() -> None:
        cairosvg.svg2png(bytestring=data, output_width=width, output_height=height)

    with SvgRenderer() as renderer:
        startup = _timed(renderer.start)
        for call in (via_worker, in_process, raw):  # warm up caches and imports
            for _ in range(3):
                call()
        samples: dict[str, list[float]] = {"worker": [], "in_process": [], "cairosvg_raw": []}
        for _ in range(runs):
            samples["worker"].append(_timed(via_worker))
            samples["in_process"].append(_timed(in_process))
            samples["cairosvg_raw"].append(_timed(raw))

    return {
        "svg": svg.name,
        "svg_bytes": len(data),
        "output": f"{width}x{height}",
        "runs": runs,
        "worker_startup_ms": round(startup * 1000, 1),
        **{name: _stats(values) for name, values in samples.items()},
        "worker_overhead_median_ms": round(
            (statistics.median(samples["worker"]) - statistics.median(samples["in_process"]))
            * 1000,
            2,
        ),
        "samples_ms": {
            name: [round(v * 1000, 3) for v in values] for name, values in samples.items()
        },
        "python": platform.python_version(),
        "cairosvg": cairosvg.__version__,
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("svg", nargs="?", type=Path, default=DEFAULT_SVG)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--width", type=int, default=400)
    parser.add_argument("--height", type=int, default=300)
    args = parser.parse_args()
    report = measure(args.svg, args.runs, args.width, args.height)
    del report["samples_ms"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
