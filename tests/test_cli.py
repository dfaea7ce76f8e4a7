"""The `pelican-tui` command line: doctor, help and subcommand wiring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from _server_support import tiny_model

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
