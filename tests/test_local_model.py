"""Planning the local side before anything is spawned: model choice, facts, memory fit."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest
from _gguf_factory import write_sparse_moe

from pelican_tui.backends.llama.local_model import plan_local
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

    sixteen_gib = 16 * 1024**3  # a 16 GB laptop
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=sixteen_gib))
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


# --------------------------------------------------------------------------- -hf cache

QWEN_REPO = "ggml-org/Qwen3.6-35B-A3B-GGUF"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _cache_like_llama_cpp(cache: Path, repo: str, files: dict[str, Path]) -> Path:
    """Lay files out as llama.cpp's downloader does: blobs, a snapshot of symlinks, refs/main."""
    repo_dir = cache / ("models--" + repo.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / COMMIT
    (repo_dir / "blobs").mkdir(parents=True)
    for index, (name, source) in enumerate(files.items()):
        blob = repo_dir / "blobs" / f"{index:064x}"
        source.rename(blob)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    return snapshot


@pytest.fixture
def sixteen_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    available = SimpleNamespace(available=16 * 1024**3)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: available)


def test_a_cached_hf_model_gets_the_same_fit_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sixteen_gib: None
) -> None:
    cache = tmp_path / "llama-cache"
    monkeypatch.setenv("LLAMA_CACHE", str(cache))
    work = tmp_path / "work"
    work.mkdir()
    q4 = write_sparse_moe(work / "q4.gguf")
    small = write_sparse_moe(work / "q8.gguf", n_blocks=4, vocab=1024, name="decoy")
    mmproj = write_sparse_moe(work / "mmproj.gguf", n_blocks=4, vocab=1024, name="vision")
    snapshot = _cache_like_llama_cpp(
        cache,
        QWEN_REPO,
        {
            "Qwen3.6-35B-A3B-Q4_K_M.gguf": q4["path"],
            "Qwen3.6-35B-A3B-Q8_0.gguf": small["path"],
            "mmproj-Qwen3.6-35B-A3B-Q4_K_M.gguf": mmproj["path"],
        },
    )
    for ref in (f"{QWEN_REPO}:Q4_K_M", f"{QWEN_REPO}:q4_k_m", QWEN_REPO):
        plan = plan_local(LocalSettings(hf=ref, context=262144, fit="refuse"))
        assert plan.info is not None, ref
        assert plan.info.path == snapshot / "Qwen3.6-35B-A3B-Q4_K_M.gguf"
        assert plan.info.active_params == q4["active_params"]
        assert plan.fit is not None and plan.fit.level == "too_big"
        assert plan.problem == plan.fit.message, "refused before llama-server downloads anything"
        assert plan.hf == ref and plan.model_path is None, "still spawned with -hf"
    q8 = plan_local(LocalSettings(hf=f"{QWEN_REPO}:Q8_0"))
    assert q8.info is not None and q8.info.name == "decoy"


def test_an_hf_model_not_downloaded_says_the_fit_cannot_be_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMA_CACHE", str(tmp_path / "empty-cache"))
    plan = plan_local(LocalSettings(hf=f"{QWEN_REPO}:Q4_K_M", fit="refuse"))
    assert plan.info is None and plan.fit is None
    assert plan.problem is None
    assert plan.fit_note is not None
    assert "can't be checked until" in plan.fit_note
    assert str(tmp_path / "empty-cache") in plan.fit_note


def test_llama_cache_dir_follows_llama_cpp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pelican_tui.backends.llama.local_model import llama_cache_dir

    for name in ("LLAMA_CACHE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert llama_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert llama_cache_dir() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("LLAMA_CACHE", str(tmp_path / "llama"))
    assert llama_cache_dir() == tmp_path / "llama"


def test_the_stand_in_gets_a_short_answer_limit_and_real_models_their_own(
    tmp_path: Path,
) -> None:
    from pelican_tui.backends.llama.local_model import STAND_IN_MAX_TOKENS, plan_local
    from pelican_tui.backends.settings import LocalSettings

    def limit(local: LocalSettings) -> int:
        return plan_local(local, read_header=False).answer_limit(local.max_tokens)

    assert limit(LocalSettings()) == STAND_IN_MAX_TOKENS < LocalSettings().max_tokens
    assert limit(LocalSettings(max_tokens=300)) == 300, "a lower setting wins"
    real = LocalSettings(model=tmp_path / "qwen.gguf")
    assert limit(real) == real.max_tokens
    assert limit(LocalSettings(hf="ggml-org/x-GGUF:Q4_K_M")) == 8192
    assert limit(LocalSettings(url="http://box:8080")) == 8192
    # The stand-in's file named as the model (or through a link) is still the stand-in:
    # it had no cap, and went on for 7715 tokens in a blind comparison.
    from pelican_tui.backends.llama.default_model import default_model_path

    link = tmp_path / "smol.gguf"
    link.symlink_to(default_model_path())
    for named in (default_model_path(), link):
        assert limit(LocalSettings(model=named)) == STAND_IN_MAX_TOKENS
        assert "tiny stand-in" in plan_local(LocalSettings(model=named), read_header=False).label
