"""A command whose reader goes away (``pelican-tui sessions list | head -1``) stops
quietly: exit 1, no traceback on stderr."""

from __future__ import annotations

import os
import subprocess
import sys

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
