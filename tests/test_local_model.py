"""Planning the local side before anything is spawned: model choice, facts, memory fit."""

from __future__ import annotations

from pathlib import Path

import pytest
from _gguf_factory import write_sparse_moe

from pelican_tui.backends.local_model import plan_local
from pelican_tui.backends.settings import LocalSettings


def test_default_plan_is_the_labelled_stand_in() -> None:
    plan = plan_local(LocalSettings())
    assert plan.stand_in
    assert "tiny stand-in" in plan.label
    assert plan.problem is None
    assert plan.facts()["quant"] == "Q4_1"


def test_a_qwen36_sized_moe_is_refused_before_spawning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    import pelican_tui.backends.local_model as local_model

    sixteen_gib = 16 * 1024**3  # a 16 GB laptop
    monkeypatch.setattr(
        local_model.psutil, "virtual_memory", lambda: SimpleNamespace(available=sixteen_gib)
    )
    expected = write_sparse_moe(tmp_path / "qwen36.gguf")
    local = LocalSettings(model=Path(expected["path"]), context=262144, fit="refuse")
    plan = plan_local(local)
    facts = plan.facts()
    assert facts["arch"] == "qwen35moe"
    assert "active" in facts and facts["experts"].endswith("/256")
    assert plan.info is not None
    assert plan.info.active_params == expected["active_params"]
    assert plan.fit is not None
    assert plan.fit.level == "too_big"
    assert "16.0 GiB" in plan.fit.message
    assert plan.problem == plan.fit.message
    warn = plan_local(local.model_copy(update={"fit": "warn"}))
    assert warn.problem is None, "fit=warn starts anyway (the UI shows the warning)"
    assert warn.fit is not None and warn.fit.level == "tight"


def test_a_missing_model_is_a_plan_problem(tmp_path: Path) -> None:
    plan = plan_local(LocalSettings(model=tmp_path / "gone.gguf"))
    assert plan.problem is not None and "no such file" in plan.problem
