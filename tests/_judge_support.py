"""A store of real sessions whose runs carry plain red or blue pictures, and a
judge for the loopback Anthropic server that prefers the red one wherever it is shown."""

from __future__ import annotations

import base64
import io
import itertools
from typing import Any

from PIL import Image

from pelican_tui.backends.store.sessions import SessionStore

PELICAN = "Generate an SVG of a pelican riding a bicycle"
HERON = "Generate an SVG of a heron riding a unicycle"
KEY = "sk-ant-api03-judge-test-key-0123456789abcdef"
JUDGE_MODEL = "claude-judge-test"
RED, BLUE = (220, 30, 30), (30, 30, 220)
SETUPS: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
    "qwen": ("local", "Qwen.gguf", {"file": "Qwen.gguf", "quant": "Q4_K_M"}, {"thinking": True}),
    "claude": ("claude", "claude-opus-4-7", {}, {"thinking": True, "effort": "high"}),
    "smol": ("local", "Smol.gguf", {"file": "Smol.gguf", "quant": "Q4_1"}, {}),
}


def _png(color: tuple[int, int, int], size: tuple[int, int] = (1024, 1024)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


PNGS = {RED: _png(RED), BLUE: _png(BLUE)}


def color_of(png: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(png)) as image:
        pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


def add_session(
    store: SessionStore,
    left: str,
    right: str,
    colors: tuple[tuple[int, int, int] | None, tuple[int, int, int] | None] = (RED, BLUE),
    *,
    prompt: str = PELICAN,
    private: bool = False,
    named: str | None = None,
) -> tuple[int, int]:
    """A session of ``prompt`` with a finished run of each setup and their pictures;
    ``named`` "SET/NAME": of that prompt set, titled as the engine titles it."""
    prompt_set = named.partition("/")[0] if named else "mine" if private else None
    title = f"{named} · claude vs local" if named else None
    session = store.create_session(prompt, title=title, private=private, prompt_set=prompt_set)
    runs = []
    for slot, setup, color in (("left", left, colors[0]), ("right", right, colors[1])):
        backend, model_id, info, settings = SETUPS[setup]
        run = store.start_run(session.id, slot, backend, model_id, info, settings, {})  # type: ignore[arg-type]
        png = PNGS[color] if color is not None else None
        store.finish_run(run, svg="<svg/>", answer="<svg/>", png=png)
        runs.append(run)
    return runs[0], runs[1]


def pictures_by_label(body: dict[str, Any]) -> dict[str, bytes]:
    """The pictures of a judge request by their label ("A", "B")."""
    content = body["messages"][0]["content"]
    out: dict[str, bytes] = {}
    for label_block, image in itertools.pairwise(content):
        text = label_block.get("text", "") if label_block["type"] == "text" else ""
        if image["type"] == "image" and text.startswith("Picture "):
            out[text.removeprefix("Picture ").rstrip(":")] = base64.b64decode(
                image["source"]["data"]
            )
    return out


def red_wins(body: dict[str, Any]) -> str:
    """A judge that prefers the red picture, wherever it was shown."""
    for label, png in pictures_by_label(body).items():
        if color_of(png) == RED:
            return f"{label}\nThe red picture has a pelican on the bicycle."
    return "tie\nNeither is red."
