"""Several local models from one folder (``local.models_dir``), served by llama-server's
router mode: the plan, the command line, the pane choices, and runs on the real binary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from _gguf_factory import write_tiny_moe
from _server_support import server_binary, tiny_model

from pelican_tui.backends.engine.comparison import ComparisonEngine
from pelican_tui.backends.engine.router_sides import RouterSide, build_router_sides
from pelican_tui.backends.engine.sides import LOCAL, PaneChoice
from pelican_tui.backends.engine.updates import RunQueued
from pelican_tui.backends.llama import router as router_module
from pelican_tui.backends.llama.local_model import STAND_IN_MAX_TOKENS
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.llama.router import folder_model_files, plan_router
from pelican_tui.backends.settings import LocalSettings, load_settings
from pelican_tui.backends.store.sessions import SessionStore

NO_BINARY = Prepared(Path("/nonexistent/llama-server"), "test")


@pytest.fixture(scope="module")
def models_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real models: the stand-in (a link to it) and a random-weight MoE."""
    folder = tmp_path_factory.mktemp("models")
    (folder / "smollm2.gguf").symlink_to(tiny_model())
    write_tiny_moe(folder / "tiny-moe.gguf", tiny_model(), arch="qwen3moe")
    return folder


def _settings(folder: Path, **local: Any) -> Any:
    return load_settings(
        {
            "local": {"models_dir": str(folder), "context": 2048, "max_tokens": 24, **local},
            "claude": {"enabled": False},
        }
    )


def test_the_folder_is_scanned_as_the_router_does(tmp_path: Path) -> None:
    (tmp_path / "a-Q4_K_M.gguf").write_bytes(b"")
    (tmp_path / "mmproj-a.gguf").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    sub = tmp_path / "big"
    sub.mkdir()
    (sub / "big-00002-of-00002.gguf").write_bytes(b"")
    (sub / "big-00001-of-00002.gguf").write_bytes(b"")
    found = folder_model_files(tmp_path)
    assert found == [
        ("a-Q4_K_M", tmp_path / "a-Q4_K_M.gguf"),
        ("big", sub / "big-00001-of-00002.gguf"),
    ]


def test_plan_reads_each_header_and_decides_what_stays_loaded(
    models_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = LocalSettings(models_dir=models_folder, context=2048)
    plan = plan_router(local)
    assert [m.name for m in plan.models] == ["smollm2", "tiny-moe"]
    small, moe = plan.models
    assert small.info is not None and small.info.architecture == "llama"
    assert moe.info is not None and moe.info.expert_count == 8
    assert small.estimate_bytes and moe.estimate_bytes
    assert plan.models_max == 2  # both fit in this machine's memory
    assert plan.turn_reason("smollm2", "tiny-moe").endswith("(both models stay loaded)")

    # Memory for one of them only: one at a time, and the pane says why.
    monkeypatch.setattr(router_module, "available_memory", lambda: small.estimate_bytes + 1)
    tight = plan_router(local)
    assert tight.models_max == 1
    assert "both models do not fit in memory together" in tight.turn_reason("smollm2", "tiny-moe")
    sides = build_router_sides(_settings(models_folder), tight, Path("/bin/llama-server"))
    assert len({id(side.openai.server) for side in sides}) == 1  # one server for both
    server = sides[0].openai.server
    assert server is not None
    flags = server.config.command(8080)
    assert flags[1:5] == ["--models-dir", str(models_folder), "--models-max", "1"]
    assert "-m" not in flags and "-hf" not in flags
    assert flags[flags.index("-c") + 1] == "2048"  # passed on to every model


def test_each_model_is_a_pane_choice_with_thinking_on_and_off(models_folder: Path) -> None:
    engine = ComparisonEngine(_settings(models_folder), NO_BINARY)
    keys = ["local:smollm2", "local:tiny-moe"]
    choices = engine.choices()
    # Claude is off in these settings: not offered (b offered it, then said to edit them).
    assert [c.side for c in choices] == [k for k in keys for _ in (True, False)]
    assert [c.thinking for c in choices[:4]] == [True, False, True, False]
    left, right = engine.default_choices().values()
    assert (left.side, right.side) == tuple(keys)  # no Claude: the two models
    assert engine.shared_turn(engine.default_choices()) == "one server"
    title = engine.header(PaneChoice("local:tiny-moe", True), "2")
    assert title.title == "2 local · tiny-moe"
    assert "active" in title.facts and "F16" in title.facts
    assert engine.header(left, "1").facts.startswith("135M")
    assert engine.side(LOCAL) is engine.side("local:smollm2")  # "the local model": the first
    sides = [engine.side(k) for k in keys]
    assert all(isinstance(s, RouterSide) for s in sides)
    assert sides[0].server is not None and sides[1].server is not None
    assert sides[0].server.pid is None  # one server, not started yet
    requests = [engine.request(PaneChoice(k, True), "p") for k in keys]
    assert [r.max_tokens for r in requests if r] == [24, 24]
    # A higher limit: the stand-in's own cap, as with one model; the other keeps the setting.
    engine = ComparisonEngine(_settings(models_folder, max_tokens=4096), NO_BINARY)
    requests = [engine.request(PaneChoice(k, True), "p") for k in keys]
    assert [r.max_tokens for r in requests if r] == [STAND_IN_MAX_TOKENS, 4096]


def test_without_a_models_folder_nothing_changes() -> None:
    settings = load_settings({"local": {"context": 2048}, "claude": {"enabled": False}})
    engine = ComparisonEngine(settings, NO_BINARY)
    assert engine.router is None and engine.router_sides == []
    assert [c.side for c in engine.choices()] == [LOCAL, LOCAL]
    assert list(engine.default_choices().values()) == [
        PaneChoice(LOCAL, True),
        PaneChoice(LOCAL, False),
    ]


async def _models(engine: ComparisonEngine) -> dict[str, dict[str, Any]]:
    server = engine.local.server if engine.local else None
    assert server is not None
    return await router_module.router_models(server.base_url, engine.local.openai.server.api_key)  # type: ignore[union-attr]


@pytest.mark.parametrize("fits", [True, False], ids=["both-loaded", "one-at-a-time"])
async def test_two_models_of_one_router_run_in_turn(
    models_folder: Path, monkeypatch: pytest.MonkeyPatch, fits: bool
) -> None:
    binary = server_binary()
    if not fits:
        small = plan_router(LocalSettings(models_dir=models_folder, context=2048)).models[0]
        assert small.estimate_bytes is not None
        monkeypatch.setattr(router_module, "available_memory", lambda: small.estimate_bytes + 1)
    engine = ComparisonEngine(_settings(models_folder), Prepared(binary, "test"))
    assert engine.router is not None and engine.router.models_max == (2 if fits else 1)
    try:
        await engine.start_local()
        listed = await _models(engine)
        assert {"smollm2", "tiny-moe"} <= set(listed)
        assert all(listed[n]["status"]["value"] == "unloaded" for n in ("smollm2", "tiny-moe"))

        queued: list[str] = []

        def listener(update: Any) -> None:
            if isinstance(update, RunQueued):
                queued.append(update.reason)

        choices = {
            "left": PaneChoice("local:smollm2", False),
            "right": PaneChoice("local:tiny-moe", False),
        }
        outcome = await engine.run_comparison("Draw a pelican", choices, listener)
        assert set(outcome.results) == {"left", "right"}, outcome.refused
        for result in outcome.results.values():
            assert result.outcome == "finished", result.failure_reason
        assert len(queued) == 1
        if fits:
            assert queued[0].endswith("one llama-server, in turn (both models stay loaded)")
        else:
            assert "both models do not fit in memory together" in queued[0]

        # The router loaded what each pane asked for: both now, or the last one only.
        state = {n: e["status"]["value"] for n, e in (await _models(engine)).items()}
        assert state["tiny-moe"] == "loaded"  # the right pane ran last
        assert state["smollm2"] == ("loaded" if fits else "unloaded")

        # Each answer comes from its own model (the router names it in the answer).
        server = engine.local.server  # type: ignore[union-attr]
        assert server is not None
        # A fresh connection per request: the router's proxy may close a kept-alive
        # connection once it has answered (seen as "Server disconnected" on reuse).
        for name in ("smollm2", "tiny-moe"):
            async with httpx.AsyncClient(timeout=60) as client:
                answer = await client.post(
                    f"{server.base_url}/v1/chat/completions",
                    headers={"Authorization": f"Bearer {engine.local.openai.server.api_key}"},  # type: ignore[union-attr]
                    json={
                        "model": name,
                        "messages": [{"role": "user", "content": "hi"}],
                        "max_tokens": 2,
                    },
                )
                assert answer.status_code == 200 and answer.json()["model"] == name

        # The session records two different model files, each with its own identity.
        with SessionStore.open() as store:
            assert outcome.session_id is not None
            session = store.get_session(outcome.session_id)
        runs = {run.slot: run for run in session.runs}
        left, right = runs["left"].model_info, runs["right"].model_info
        assert (runs["left"].model_id, runs["right"].model_id) == ("smollm2.gguf", "tiny-moe.gguf")
        assert (left["router_model"], right["router_model"]) == ("smollm2", "tiny-moe")
        assert left["sha256"] != right["sha256"] and len(left["sha256"]) == 64
        assert left["arch"] == "llama" and right["arch"] == "qwen3moe"
        assert "--models-dir" in left["server_args"] and left["server_args"] == right["server_args"]
        assert left["models_max"] == (2 if fits else 1)
    finally:
        await engine.close()


async def test_a_first_frame_plan_reads_the_headers_later(models_folder: Path) -> None:
    engine = ComparisonEngine(_settings(models_folder), NO_BINARY, read_header=False)
    assert engine.plan.header_pending and engine.router is not None
    assert [s.key for s in engine.router_sides] == ["local:smollm2", "local:tiny-moe"]
    assert engine.router_sides[1].plan.info is None
    claude = engine.side("claude")
    await engine.read_local_header()
    assert not engine.plan.header_pending
    assert [s.key for s in engine.router_sides] == ["local:smollm2", "local:tiny-moe"]
    assert engine.router_sides[1].plan.info is not None
    assert engine.side("claude") is claude  # the other sides are kept
    assert engine.side(LOCAL) is engine.router_sides[0]
    assert "F16" in engine.header(PaneChoice("local:tiny-moe", True), "2").facts
