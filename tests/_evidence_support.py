"""Stored runs with real pictures (for the gallery, pair and leaderboard screens), and
what a screen shows as text.

Pictures are drawn by the real sandboxed renderer and measured by the real
:func:`~pelican_tui.backends.svg.facts.picture_facts`, once per test module.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App

from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.svg.extract import extract_svg
from pelican_tui.backends.svg.facts import picture_facts

CORPUS = Path(__file__).parent / "svg_corpus"
PROMPT = "Generate an SVG of a pelican riding a bicycle"
LOCAL_FILE = "Qwen3.6-35B-A3B-Q4_K_M.gguf"
CLAUDE_MODEL = "claude-opus-4-7"
BLANK_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300"></svg>'


@dataclass(frozen=True)
class Drawn:
    """One answer, its PNG (or None) and its measured facts."""

    answer: str
    svg: str | None
    png: bytes | None
    facts: dict[str, Any]


def draw(answer: str, size: tuple[int, int] = (400, 300), seconds: float = 12.5) -> Drawn:
    """Extract, render (``size``, in the sandbox) and measure ``answer`` as the engine
    does, as if the picture came ``seconds`` after the request."""
    from pelican_tui.backends.svg.render import SvgRenderer

    extraction = extract_svg(answer)
    png, problem = None, None
    if extraction.svg is not None:
        with SvgRenderer() as renderer:
            result = renderer.render_sync(extraction.svg, *size)
        png, problem = (result.png, None) if result.ok else (None, result.reason)
    facts = picture_facts(answer, extraction, png, problem, seconds if png else None)
    return Drawn(answer, extraction.svg, png, facts)


def pictures() -> dict[str, Drawn]:
    """A good pelican, a blank canvas, and an answer without SVG."""
    pelican = (CORPUS / "good_pelican_bicycle.svg").read_text()
    return {
        "pelican": draw(f"```svg\n{pelican}\n```"),
        "blank": draw(f"```svg\n{BLANK_SVG}\n```"),
        "no_svg": draw("I cannot draw, but pelicans are lovely birds."),
    }


def add_run(
    store: SessionStore,
    session_id: int,
    slot: str,
    drawn: Drawn,
    *,
    claude: bool = False,
    thinking: bool = True,
    tokens_per_s: float = 40.0,
) -> int:
    """Record one finished run of the local Qwen or of Claude with ``drawn``'s picture."""
    if claude:
        run = store.start_run(
            session_id, slot, "claude", CLAUDE_MODEL, {"model": CLAUDE_MODEL},  # type: ignore[arg-type]
            {"thinking": thinking, "effort": "high"},
        )  # fmt: skip
    else:
        run = store.start_run(
            session_id, slot, "local", LOCAL_FILE,  # type: ignore[arg-type]
            {"file": LOCAL_FILE, "quant": "Q4_K_M"}, {"thinking": thinking},
        )  # fmt: skip
    store.finish_run(
        run,
        answer=drawn.answer,
        svg=drawn.svg,
        svg_note=None if drawn.svg else "no SVG in the answer",
        png=drawn.png,
        timings={"generation_tokens_per_s": tokens_per_s, "generated_tokens": 900},
        usage={"output_tokens": 900},
        picture_facts=drawn.facts,
    )
    return run


def add_unthought_run(store: SessionStore, prompt: str) -> int:
    """A session of ``prompt`` with one finished local run that was asked to think and
    did not (no picture); returns the run's id."""
    session = store.create_session(prompt)
    run = store.start_run(
        session.id, "left", "local", "SmolLM2.gguf", {"file": "SmolLM2.gguf"},
        {"thinking": True, "thinking_ran": False},
    )  # fmt: skip
    store.finish_run(run, answer="no svg")
    return run


def add_comparison(
    store: SessionStore, left: Drawn, right: Drawn, prompt: str = PROMPT
) -> tuple[int, int]:
    """A session: the local model (left) against Claude (right); returns their run ids."""
    session = store.create_session(prompt)
    return (
        add_run(store, session.id, "left", left),
        add_run(store, session.id, "right", right, claude=True, tokens_per_s=61.0),
    )


def screen_text(app: App[Any]) -> str:
    """Every row of the screen as the terminal would show it (notifications included)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def screenshot_text(app: App[Any]) -> str:
    """The text of :meth:`App.export_screenshot` (an SVG): its text elements, unescaped
    (the stylesheet, which names fonts, left out)."""
    svg = re.sub(r"<style>.*?</style>", "", app.export_screenshot(), flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
