"""No orphans: llama-server dies when its owner dies, however it dies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _server_support import pid_alive, server_binary, tiny_model, wait_until
from _tui_process import spawn_tui

from pelican_tui.backends.llama.process import ORPHANED_EXIT, parent_death_hook

pytestmark = pytest.mark.slow

OWNER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from pelican_tui.backends.llama.config import ServerConfig
    from pelican_tui.backends.llama.process import LlamaServer

    async def main():
        server = LlamaServer(ServerConfig(binary=Path(sys.argv[1]), model=Path(sys.argv[2]),
                                          context=1024))
        await server.start()
        Path(sys.argv[3]).write_text(str(server.pid))
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def _spawn_owner(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    pid_file = tmp_path / "server.pid"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(server_binary()), str(tiny_model()), str(pid_file)],
        env=os.environ.copy(),
    )
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text() != "", 60), (
        "the owner never reported a ready server"
    )
    server_pid = int(pid_file.read_text())
    assert pid_alive(server_pid)
    return owner, server_pid


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP, signal.SIGTERM])
def test_server_dies_with_its_owner(tmp_path: Path, sig: signal.Signals) -> None:
    owner, server_pid = _spawn_owner(tmp_path)
    killed_at = time.monotonic()
    owner.send_signal(sig)
    owner.wait(10)
    gone = wait_until(lambda: not pid_alive(server_pid), 2.0)
    elapsed = time.monotonic() - killed_at
    if not gone:
        os.kill(server_pid, signal.SIGKILL)
    assert gone, f"llama-server outlived its owner killed by {sig.name}"
    print(f"{sig.name}: server gone {elapsed:.3f} s after the owner was signalled")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP])
def test_tui_killed_leaves_no_server(tmp_path: Path, sig: signal.Signals) -> None:
    app_pid, fd, server_pid = spawn_tui(tmp_path)
    try:
        os.kill(app_pid, sig)
        # SIGKILL: the kernel ends the server at once (PDEATHSIG); SIGHUP: the app shuts
        # down first (Textual, the engine, SIGTERM to the server), as test_hangup allows.
        gone = wait_until(lambda: not pid_alive(server_pid), 2.0 if sig == signal.SIGKILL else 15.0)
        if not gone:
            os.kill(server_pid, signal.SIGKILL)
        assert gone, f"llama-server outlived pelican-tui killed by {sig.name}"
    finally:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(app_pid, 0)
        os.close(fd)


PRINT_PDEATHSIG = (
    "import ctypes, signal; libc = ctypes.CDLL(None, use_errno=True); v = ctypes.c_int(-1); "
    "libc.prctl(2, ctypes.byref(v), 0, 0, 0); print(v.value)"  # 2 = PR_GET_PDEATHSIG
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_parent_death_hook_sets_sigkill_without_loading_libraries_in_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ctypes

    hook = parent_death_hook()
    assert hook is not None

    def no_dlopen(*args: object, **kwargs: object) -> None:
        raise AssertionError("ctypes.CDLL called after fork")

    # Whatever runs between fork and exec may not dlopen (it can deadlock on a
    # lock another thread held at fork): the hook must work with CDLL gone.
    monkeypatch.setattr(ctypes, "CDLL", no_dlopen)
    done = subprocess.run(
        [sys.executable, "-c", PRINT_PDEATHSIG],
        preexec_fn=hook,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(int(signal.SIGKILL))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_parent_death_hook_exits_if_the_parent_is_already_gone(tmp_path: Path) -> None:
    # The hook was made in this process; run it in a grandchild whose parent is
    # someone else, as when the owner died between fork and prctl: it must not exec.
    hook = parent_death_hook()
    assert hook is not None
    marker = tmp_path / "ran"
    middle = os.fork()
    if middle == 0:  # pragma: no cover - the forked middle process
        code = 99
        try:
            code = subprocess.call(["/bin/sh", "-c", f"touch {marker}"], preexec_fn=hook)
        finally:
            os._exit(code)
    _, status = os.waitpid(middle, 0)
    assert os.waitstatus_to_exitcode(status) == ORPHANED_EXIT
    assert not marker.exists(), "the child ran its command although its parent was gone"
