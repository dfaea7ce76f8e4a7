"""From the last SVG token to the picture on screen, timed inside pelican-tui.

Method: the real :class:`PelicanApp` runs in this process under
``App.run_test`` (headless, 160x48) with its real llama-server and the tiny
model, and ``r`` is pressed ``--runs`` times (one app, runs one after the
other). Four of the app's own steps are wrapped, without changing what they
do, to take ``time.monotonic()`` stamps:

- each pane's ``feed``, where the app hands the pane each event of the
  engine's updates as they arrive: when the pane's answer text first holds
  one more ``</svg>`` (the last such event is "the last SVG token") and when
  its ``Finished`` event arrives;
- the engine's SVG renderer (``render``): when a render (live preview or
  final) starts;
- each pane's ``picture.set_png``: when a PNG is handed to the picture, then
  ``call_after_refresh``: when the next screen refresh after it has happened
  ("on screen").

Per pane and run it reports ``close_to_screen_ms`` (last ``</svg>`` token to
the first picture on screen whose render started after that token: a live
preview or the final picture) and ``finished_to_screen_ms`` (``Finished`` to
the final picture on screen). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from workload import COLS, ROWS, Workload


async def measure(runs: int, workload: Workload, timeout_s: float = 900.0) -> dict[str, Any]:
    import pelican_tui.widgets.picture  # noqa: F401 - as launch.py: before the app
    from pelican_tui.app import SLOTS, PelicanApp
    from pelican_tui.backends.events import Finished, TextDelta
    from pelican_tui.backends.llama.prepare import Prepared, setup
    from pelican_tui.backends.llama.process import ServerState

    settings = workload.settings()
    prepared = setup(settings, print)
    if prepared.problem:
        raise SystemExit(prepared.problem)
    prepared = Prepared(binary=prepared.binary, binary_source=prepared.binary_source)
    app = PelicanApp(settings, prepared, start_server=True, sample_resources=True)

    marks: dict[str, dict[str, Any]] = {}
    renders: dict[int, float] = {}
    shown: dict[str, list[tuple[float, float]]] = {slot: [] for slot in SLOTS}

    closes: dict[str, int] = {}

    renderer = app.engine.renderer()
    original_render = renderer.render

    async def render(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        result = await original_render(*args, **kwargs)
        if result.png is not None:
            renders[id(result.png)] = started
        return result

    renderer.render = render  # type: ignore[method-assign]

    samples: list[dict[str, Any]] = []
    async with app.run_test(headless=True, size=(COLS, ROWS)) as pilot:
        deadline = time.monotonic() + 300
        while app.server is None or app.server.status.state is not ServerState.READY:
            if time.monotonic() > deadline:
                raise SystemExit("llama-server did not become ready")
            await pilot.pause(0.05)

        for slot in SLOTS:
            pane = app.pane(slot)
            original_feed = pane.feed

            def feed(
                event: Any, _slot: str = slot, _pane: Any = pane, _original: Any = original_feed
            ) -> None:
                _original(event)  # cheap: it stores the event (the pane draws at its redraw)
                if isinstance(event, TextDelta):
                    count = _pane.answer_text.count("</svg>")  # this run's (begin clears it)
                    if count > closes.get(_slot, 0):
                        closes[_slot] = count
                        marks.setdefault(_slot, {})["svg_closed"] = time.monotonic()
                elif isinstance(event, Finished):
                    marks.setdefault(_slot, {})["finished"] = time.monotonic()

            pane.feed = feed  # type: ignore[method-assign]
            picture = pane.picture
            original_set = picture.set_png

            def set_png(
                png: bytes | None,
                *args: Any,
                _slot: str = slot,
                _original: Any = original_set,
                **kwargs: Any,
            ) -> None:
                handed = time.monotonic()
                _original(png, *args, **kwargs)
                if png is not None:
                    render_started = renders.get(id(png), handed)

                    def on_screen() -> None:
                        shown[_slot].append((render_started, time.monotonic()))

                    app.call_after_refresh(on_screen)

            picture.set_png = set_png  # type: ignore[method-assign]

        for run in range(runs):
            marks.clear()
            closes.clear()
            for slot in SLOTS:
                shown[slot].clear()
            await pilot.press("r")
            deadline = time.monotonic() + timeout_s
            await pilot.pause(0.2)
            while any(app.pane(s).state == "running" for s in SLOTS):
                if time.monotonic() > deadline:
                    states = [(s, app.pane(s).state, app.pane(s).stats_line()) for s in SLOTS]
                    raise SystemExit(f"runs did not finish: {states}")
                await pilot.pause(0.05)
            await pilot.pause(0.3)  # the final refresh after the last picture
            for slot in SLOTS:
                samples.append(_sample(run, slot, marks.get(slot, {}), shown[slot]))
    return {"method": __doc__.split("\n\n")[1].replace("\n", " "), "samples": samples}


def _sample(
    run: int, slot: str, marks: dict[str, Any], shown: list[tuple[float, float]]
) -> dict[str, Any]:
    finished = marks.get("finished")
    closed = marks.get("svg_closed") or finished  # never closed: the end closes it
    sample: dict[str, Any] = {
        "run": run,
        "slot": slot,
        "svg_closed_in_text": "svg_closed" in marks,
        "stream_finished": finished is not None,
        "pictures_shown": len(shown),
    }
    if closed is not None:
        after = [screen for started, screen in shown if started >= closed]
        if after:
            sample["close_to_screen_ms"] = (min(after) - closed) * 1000
    # The final picture is the one whose render started after the stream ended.
    finals = [screen for started, screen in shown if finished and started >= finished]
    if finished is not None and finals:
        sample["finished_to_screen_ms"] = (max(finals) - finished) * 1000
    return sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=Workload().max_tokens)
    parser.add_argument("--model", type=Path, default=None, help="GGUF (default: the stand-in)")
    parser.add_argument("--threads", type=int, default=None, help="llama-server -t")
    args = parser.parse_args()
    workload = Workload(max_tokens=args.max_tokens, model=args.model, threads=args.threads)
    home = Path(tempfile.mkdtemp(prefix="pelican-bench-picture-"))
    for key, value in workload.env(home).items():
        if key.startswith("PELICAN_") or key not in os.environ:
            os.environ[key] = value
    for key in [k for k in os.environ if k.startswith("ANTHROPIC_")]:
        del os.environ[key]
    try:
        result = asyncio.run(measure(args.runs, workload))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for key in ("close_to_screen_ms", "finished_to_screen_ms"):
        values = [s[key] for s in result["samples"] if key in s]
        result[key] = statistics.median(values) if values else None
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
