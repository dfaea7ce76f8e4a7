"""The first frame does not wait for the model's header: plan without it, read it after.

A front end plans the local side with ``read_header=False`` (which file, its
label: no file read, no numpy) and the engine reads the header later, in a
thread, before anything is spawned. These tests check what is known when, that
the memory fit still refuses a model too big before llama-server starts, and
that the modules the first frame must not pay for are not imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from _gguf_factory import write_sparse_moe

from pelican_tui.backends.engine.comparison import ComparisonEngine
from pelican_tui.backends.engine.sides import LOCAL, PaneChoice
from pelican_tui.backends.llama.local_model import plan_local
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.settings import LocalSettings, load_settings

NO_BINARY = Prepared(Path("/nonexistent/llama-server"), "test")
"""A binary that is never run: nothing here starts llama-server."""


def test_a_plan_without_the_header_knows_the_file_and_label_only() -> None:
    quick = plan_local(LocalSettings(), read_header=False)
    assert quick.header_pending and quick.stand_in
    assert quick.model_path is not None and "tiny stand-in" in quick.label
    assert quick.info is None and quick.fit is None and quick.problem is None
    assert quick.facts() == {"model": quick.label}
    full = plan_local(LocalSettings())
    assert not full.header_pending
    assert full.label == quick.label and full.model_path == quick.model_path
    assert full.facts()["quant"] == "Q4_1"


def test_an_hf_reference_is_planned_without_looking_in_the_cache() -> None:
    quick = plan_local(LocalSettings(hf="ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M"), read_header=False)
    assert quick.header_pending and quick.hf == "ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M"
    assert quick.label == "Qwen3.6-35B-A3B-GGUF:Q4_K_M" and quick.fit_note is None


def test_an_attached_server_has_no_header_to_wait_for() -> None:
    plan = plan_local(LocalSettings(url="http://127.0.0.1:9"), read_header=False)
    assert plan.mode == "attach" and not plan.header_pending


async def test_the_engine_fills_in_the_facts_when_the_header_is_read() -> None:
    settings = load_settings({"local": {"context": 2048}, "claude": {"enabled": False}})
    engine = ComparisonEngine(settings, NO_BINARY, read_header=False)
    choice = PaneChoice(LOCAL, True)
    before = engine.header(choice, "1")
    assert engine.plan.header_pending and engine.local is not None
    assert "Q4_1" not in before.facts and "ctx 2048" in before.facts
    sides_before = dict(engine.sides)
    plan = await engine.read_local_header()
    assert plan is engine.plan and not plan.header_pending and plan.info is not None
    after = engine.header(choice, "1")
    assert after.title == before.title
    assert "Q4_1" in after.facts and "ctx 2048" in after.facts
    assert engine.local is not None and engine.local is not sides_before[LOCAL]
    assert engine.local.plan is plan
    assert list(engine.sides) == list(sides_before), "the same sides, in the same order"
    assert all(engine.sides[k] is sides_before[k] for k in engine.sides if k != LOCAL)
    assert await engine.read_local_header() is plan, "read once"


async def test_a_model_too_big_is_still_refused_before_spawning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    sixteen_gib = 16 * 1024**3
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=sixteen_gib))
    model = write_sparse_moe(tmp_path / "qwen36.gguf")["path"]
    settings = load_settings(
        {
            "local": {"model": model, "context": 262144, "fit": "refuse"},
            "claude": {"enabled": False},
        }
    )
    engine = ComparisonEngine(settings, NO_BINARY, read_header=False)
    assert engine.local is not None, "not known to be too big before the header is read"
    status = await engine.start_local()  # reads the header first: nothing is spawned
    assert not status.ready
    assert engine.local is None and LOCAL not in engine.sides
    assert engine.local_problem is not None and engine.local_problem.startswith("Too big")
    assert engine.unavailable(PaneChoice(LOCAL, True)) == engine.local_problem


def test_the_first_frame_imports_no_numpy_gguf_or_run_machinery(tmp_path: Path) -> None:
    """What a front end imports to build its engine before the first frame (a fresh
    interpreter: other tests have imported everything already)."""
    code = """
import json, sys
from pelican_tui.backends.engine.comparison import ComparisonEngine
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.settings import load_settings
from pathlib import Path
engine = ComparisonEngine(
    load_settings({"claude": {"enabled": False}}),
    Prepared(Path("/nonexistent/llama-server"), "test"),
    read_header=False,
)
engine.header(engine.default_choices()["left"], "1")
print(json.dumps(sorted(sys.modules)))
"""
    env = {**os.environ, "PELICAN_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    modules = set(json.loads(out.stdout))
    for heavy in (
        "numpy",
        "gguf",
        "httpx",  # imported where a request is made
        "pelican_tui.backends.engine.run",
        "pelican_tui.backends.export",
        "pelican_tui.backends.store.sessions",
    ):
        assert heavy not in modules, f"{heavy} is imported before the first frame"


@pytest.mark.parametrize(
    ("image_mode", "drawn_with", "numpy_before_first_frame"),
    [("auto", "halfcell", False), ("tgp", "tgp", False), ("sixel", "sixel", True)],
)
def test_picture_widgets_leave_numpy_out_unless_pictures_are_sixel(
    tmp_path: Path, image_mode: str, drawn_with: str, numpy_before_first_frame: bool
) -> None:
    """textual-image imports numpy only to encode Sixel faster: a terminal that gets
    Kitty graphics starts without it, Sixel keeps it; half-cell blocks (pelican-tui's
    own drawing) import no textual-image at all."""
    code = f"""
import json, sys
from pelican_tui.launch import import_picture_widgets
from pelican_tui.terminal_caps import TerminalReport, choose_image_mode
report = TerminalReport(tty=True, asked=True, answered=True)
import_picture_widgets(report, {image_mode!r})
import pelican_tui.widgets.picture
before = "numpy" in sys.modules
textual_image = "textual_image.widget" in sys.modules
sixel_fast = textual_image and sys.modules["textual_image._sixel"]._HAS_NUMPY
import numpy  # later imports are not affected
mode = choose_image_mode(report, {image_mode!r}).mode
print(json.dumps([mode, before, textual_image, sixel_fast]))
"""
    env = {**os.environ, "PELICAN_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    mode, numpy_loaded, textual_image, sixel_fast = json.loads(out.stdout)
    assert mode == drawn_with
    assert numpy_loaded is numpy_before_first_frame
    assert textual_image is (drawn_with != "halfcell")
    assert sixel_fast is numpy_before_first_frame


async def test_a_server_started_before_the_header_is_read_is_stopped_not_orphaned() -> None:
    """A restart key pressed before the header is read starts the first local side's
    llama-server; reading the header replaces that side, so its server is stopped
    (the new side's server starts when the front end starts it)."""
    from _server_support import server_binary, tiny_model

    settings = load_settings(
        {"local": {"model": tiny_model(), "context": 512}, "claude": {"enabled": False}}
    )
    engine = ComparisonEngine(settings, Prepared(server_binary(), "cache"), read_header=False)
    try:
        first = engine.local
        assert first is not None and first.server is not None
        await first.server.start()  # what the app's restart key does
        pid = first.server.pid
        assert first.server.running and pid is not None
        await engine.read_local_header()
        assert not first.server.running, "the replaced side's llama-server was stopped"
        assert engine.local is not None and engine.local is not first
        assert engine.local.server is not None and not engine.local.server.running
        assert engine.plan.info is not None
    finally:
        await engine.close()
