"""No orphans: llama-server dies when its owner dies, however it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _server_support import pid_alive, server_binary, tiny_model, wait_until

pytestmark = pytest.mark.slow

OWNER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from pelican_tui.backends.llama_server import LlamaServer, ServerConfig

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
