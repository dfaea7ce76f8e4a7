"""The `pelican-tui` command line: doctor, help and subcommand wiring."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _gguf_factory import write_sparse_moe
from _server_support import tiny_model

from pelican_tui.backends.llama.process import LlamaServer, free_port

SECRET = "sk-ant-test-secret-0123456789"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pelican_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_doctor_reports_what_will_be_used_and_never_the_key() -> None:
    tiny_model()
    done = _run("doctor", env={"ANTHROPIC_API_KEY": SECRET})
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for label in ("llama-server", "model", "header", "memory fit", "image mode", "claude"):
        assert label in out
    assert "tiny stand-in" in out
    assert "ANTHROPIC_API_KEY is set" in out
    assert SECRET not in out + done.stderr
    assert "local side can run" in out


def test_doctor_fails_on_a_missing_model(tmp_path: Path) -> None:
    done = _run("doctor", "--model", str(tmp_path / "missing.gguf"))
    assert done.returncode == 1
    assert "no such file" in done.stdout
    assert "Traceback" not in done.stderr


def test_doctor_fails_on_a_broken_gguf(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf at all")
    done = _run("doctor", "--model", str(broken))
    assert done.returncode == 1
    assert "not a GGUF file" in done.stdout


def test_help_lists_the_commands() -> None:
    done = _run("--help")
    assert done.returncode == 0
    for command in ("setup", "doctor", "render", "run", "sessions"):
        assert command in done.stdout


def test_invalid_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[local]\ncontext = 'lots'\n")
    done = _run("doctor", env={"PELICAN_CONFIG_FILE": str(config)})
    assert done.returncode == 2
    assert "invalid settings" in done.stderr
    assert "Traceback" not in done.stderr


def test_invalid_settings_name_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[local]\ncontxt = 4096\n")
    done = _run("doctor", env={"PELICAN_CONFIG_FILE": str(config)})
    assert done.returncode == 2
    assert "local.contxt: unknown setting" in done.stderr
    assert str(config) in done.stderr


# --------------------------------------------------------------------------- attach mode


@pytest.mark.slow
async def test_doctor_contacts_an_attached_llama_server(llama: LlamaServer) -> None:
    env = {"PELICAN_LOCAL_API_KEY": llama.api_key}
    done = await asyncio.to_thread(_run, "doctor", "--url", f"{llama.base_url}/v1/", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "llama.cpp" in out
    assert tiny_model().name in out, "the model list names the served model"
    assert "local side can run" in out
    assert llama.api_key not in out + done.stderr


@pytest.mark.slow
async def test_doctor_without_the_attached_servers_key_fails(llama: LlamaServer) -> None:
    done = await asyncio.to_thread(_run, "doctor", "--url", llama.base_url)
    assert done.returncode == 1, done.stdout
    assert "401" in done.stdout and "PELICAN_LOCAL_API_KEY" in done.stdout


def test_doctor_fails_when_the_attached_server_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = _run("doctor", "--url", url)
    assert done.returncode == 1, done.stdout
    assert f"cannot reach {url}" in done.stdout
    assert "local side cannot run" in done.stdout
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- -hf fit


def test_doctor_checks_the_fit_of_a_cached_hf_model(tmp_path: Path) -> None:
    commit = "89abcdef" * 5
    snapshot = tmp_path / "cache" / "models--ggml-org--Qwen3.6-35B-A3B-GGUF" / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text(commit)
    write_sparse_moe(snapshot / "Qwen3.6-35B-A3B-Q4_K_M.gguf")
    env = {"LLAMA_CACHE": str(tmp_path / "cache")}
    ref = "ggml-org/Qwen3.6-35B-A3B-GGUF:Q4_K_M"
    done = _run("doctor", "--hf", ref, "--ctx", "262144", env=env)
    out = done.stdout
    assert f"cached at {snapshot / 'Qwen3.6-35B-A3B-Q4_K_M.gguf'}" in out, out
    assert "qwen35moe" in out
    fit = next(line for line in out.splitlines() if "memory fit" in line)
    assert "GiB" in fit, fit

    empty = {"LLAMA_CACHE": str(tmp_path / "empty")}
    done = _run("doctor", "--hf", ref, env=empty)
    fit = next(line for line in done.stdout.splitlines() if "memory fit" in line)
    assert "can't be checked until llama-server has downloaded it" in fit
