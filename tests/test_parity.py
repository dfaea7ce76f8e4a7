"""One run engine: the TUI and ``pelican-tui run`` make the same session.

The same prompt and settings run once through the real app (Pilot, real
llama-server, keys) and once through ``pelican-tui run``. The two stored
sessions and their exported ``session.json`` must have the same fields with
the same types, and the same values everywhere except times, measurements
(tokens/s, memory) and what the model generated.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _app_support import make_app, server_ready, wait_for
from _server_support import tiny_model

from pelican_tui.backends import locations
from pelican_tui.backends.export import export_session
from pelican_tui.backends.store.records import Run, Session
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.cli.run import run_command

pytestmark = pytest.mark.slow

SETTINGS: dict[str, Any] = {
    "system_prompt": "",
    "prompt": "Draw a red circle as an SVG.",
    "local": {"context": 2048, "max_tokens": 48, "seed": 7},
}

GENERATED = {"thinking_text", "answer", "svg", "svg_note", "png", "failure_reason", "picture_facts"}
"""What the model wrote (and what follows from it: the picture and its note)."""
MEASURED = {"timings", "usage", "peak_ram"}
"""Times and measurements: they differ between any two runs."""
TIMES = {"id", "session_id", "created_at", "started_at", "finished_at"}
MEASURED_INFO = {"server_load_s"}
"""Model facts that are measurements (how long llama-server took to load)."""


def _shape(value: Any) -> Any:
    """The names and types of a value, recursively (what the parity is about)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_shape(item) for item in value]
    return type(value).__name__


def _run_fields(run: Run) -> dict[str, Any]:
    return {name: getattr(run, name) for name in Run.__dataclass_fields__}


def _comparable(run: Run) -> dict[str, Any]:
    fields = _run_fields(run)
    for name in GENERATED | MEASURED | TIMES:
        fields.pop(name, None)
    fields["model_info"] = {k: v for k, v in run.model_info.items() if k not in MEASURED_INFO}
    return fields


def _settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same settings for both front ends, through the environment."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("PELICAN_LOCAL__MODEL", str(tiny_model()))
    monkeypatch.setenv("PELICAN_SYSTEM_PROMPT", SETTINGS["system_prompt"])
    monkeypatch.setenv("PELICAN_PROMPT", SETTINGS["prompt"])
    for key, value in SETTINGS["local"].items():
        monkeypatch.setenv(f"PELICAN_LOCAL__{key.upper()}", str(value))


async def _through_the_app() -> Session:
    app = make_app(start_server=True, overrides=SETTINGS)
    async with app.run_test(size=(160, 48)) as pilot:
        await server_ready(pilot)
        # Whether the model has a thinking switch is asked once the server is ready (a
        # quick question, given 5 s): the session's title says what was learnt. `run`
        # asks before its first run; here it is asked before r, as a user sees it.
        facts = app.pane("left").query_one(".facts")

        def switch_known() -> bool:
            return "checking" not in str(facts.text)  # type: ignore[attr-defined]

        assert await wait_for(pilot, switch_known, 60), str(facts.text)  # type: ignore[attr-defined]
        await pilot.press("r")
        panes = [app.pane("left"), app.pane("right")]
        done = ("finished", "failed", "cancelled")
        assert await wait_for(pilot, lambda: all(p.state in done for p in panes), 240)
        await app.workers.wait_for_complete()
        session_id = app.session_id
    assert session_id is not None
    with SessionStore.open(locations.sessions_db()) as store:
        return store.get_session(session_id)


def _through_run(out: Path) -> Session:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_command(
        ["--thinking", "both", "--ctx", "2048", "--out", str(out)], stdout=stdout, stderr=stderr
    )
    assert code == 0, stderr.getvalue()
    summary = json.loads((out / "summary.json").read_text())
    (session_id,) = [s["id"] for s in summary["sessions"]]
    with SessionStore.open(locations.sessions_db()) as store:
        return store.get_session(session_id)


async def test_the_tui_and_run_make_the_same_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _settings_env(monkeypatch)
    tui = await _through_the_app()
    # `run` makes its own event loop, as it does from the shell: give it a thread.
    headless = await asyncio.to_thread(_through_run, tmp_path / "run")

    # The session: same prompt and title; one run per pane, in the same slots.
    assert (tui.prompt, tui.title) == (headless.prompt, headless.title)
    assert [r.slot for r in tui.runs] == [r.slot for r in headless.runs] == ["left", "right"]
    for ours, theirs in zip(tui.runs, headless.runs, strict=True):
        assert _shape(_comparable(ours)) == _shape(_comparable(theirs)), (
            ours.slot,
            json.dumps(_shape(_comparable(ours)), indent=1, sort_keys=True),
            json.dumps(_shape(_comparable(theirs)), indent=1, sort_keys=True),
        )
        differ = {
            key: (value, _comparable(theirs)["model_info"].get(key))
            for key, value in _comparable(ours)["model_info"].items()
            if _comparable(theirs)["model_info"].get(key) != value
        }
        assert _comparable(ours) == _comparable(theirs), (ours.slot, differ)
        # Measured and generated fields: the same names and types, values aside.
        for name in MEASURED:
            assert set(getattr(ours, name)) == set(getattr(theirs, name)), (ours.slot, name)
        assert isinstance(ours.started_at, datetime) and isinstance(theirs.started_at, datetime)
        assert ours.status == theirs.status == "finished"
        # A stored SVG has its picture, unless the renderer refused it (recorded so).
        assert ours.png is not None or ours.svg is None or ours.picture_facts["render_failed"]
    # Thinking on on the left, off on the right, as sent and recorded.
    assert [r.settings["thinking"] for r in tui.runs] == [True, False]
    assert tui.runs[0].settings["seed"] == 7 and tui.runs[0].settings["max_tokens"] == 48

    # The exports: session.json alike in names and types, and in values but for
    # times, ids, measurements and generated text.
    exported = []
    for session, folder in ((tui, tmp_path / "tui"), (headless, tmp_path / "headless")):
        export_session(session, folder, None)
        exported.append(json.loads((folder / "session.json").read_text()))
    ours_json, theirs_json = exported
    assert _shape(_strip(ours_json)) == _shape(_strip(theirs_json))
    assert _strip(ours_json) == _strip(theirs_json)


def _strip(data: Any) -> Any:
    """session.json without what may differ between two runs of the same comparison."""
    drop = GENERATED | MEASURED | TIMES | MEASURED_INFO | {"files", "exported_at"}
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in drop}
    if isinstance(data, list):
        return [_strip(item) for item in data]
    return data
