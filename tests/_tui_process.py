"""The real ``pelican-tui`` as a process on a pseudo-terminal (what a person runs)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path


def spawn_tui(tmp_path: Path, extra_env: dict[str, str] | None = None) -> tuple[int, int, int]:
    """Start ``python -m pelican_tui`` on a pty; return (app pid, pty master fd, server pid).

    The pty is drained while waiting for llama-server to appear, so the app
    never blocks on output.
    """
    import pty

    import psutil

    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "PELICAN_HOME": str(tmp_path / "home"),
        "PELICAN_LOCAL__CONTEXT": "1024",
        **(extra_env or {}),
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: become pelican-tui
        os.execvpe(
            sys.executable,
            [sys.executable, "-m", "pelican_tui", "--image-mode", "halfcell"],
            env,
        )
    app = psutil.Process(pid)
    deadline = time.monotonic() + 60
    server_pid = None
    while time.monotonic() < deadline and server_pid is None:
        try:
            os.read(fd, 65536)
        except OSError:
            break
        for child in app.children(recursive=True):
            # A short-lived child may have exited between the listing and the name.
            with contextlib.suppress(psutil.NoSuchProcess):
                if "llama-server" in child.name():
                    server_pid = child.pid
    assert server_pid is not None, "pelican-tui never started llama-server"
    return pid, fd, server_pid
