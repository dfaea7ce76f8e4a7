"""A command whose reader goes away (``pelican-tui sessions list | head -1``) stops
quietly: exit 1, no traceback on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("argv", [["sessions", "list"], ["leaderboard", "--json"]])
def test_a_closed_pipe_ends_a_command_without_a_traceback(argv: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # nobody will read: the first write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pelican_tui", *argv],
            stdout=write, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr, done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert done.returncode == 1


@pytest.mark.parametrize(
    "argv", [["doctor", "--url", "http://127.0.0.1:9"], ["sessions", "list"], ["--help"]]
)
def test_a_closed_standard_output_is_written_nowhere_without_a_traceback(
    argv: list[str],
) -> None:
    """Started with standard output closed (``>&-``), Python's is None: doctor ended in
    "'NoneType' object has no attribute 'flush'", and run in one after all its work."""
    done = subprocess.run(
        [sys.executable, "-m", "pelican_tui", *argv],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
        pass_fds=(), preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == (1 if argv[0] == "doctor" else 0), done.stderr


def test_a_closed_pipe_ends_render_to_standard_output_as_every_command(tmp_path: Path) -> None:
    """``render FILE -o - | head -c 8``: it said "cannot write -: Broken pipe" and exited
    2, "OUT cannot be written", where every other command stops quietly with 1."""
    svg = tmp_path / "p.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>')
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pelican_tui", "render", str(svg), "-o", "-"],
            stdout=write, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (1, "")
