"""``pelican-tui run`` says on stderr what the TUI says in the pane: a thinking
switch the server ignored (LM Studio ignoring it, lmstudio-bug-tracker#1990,
played by the loopback server of ``_dialect_servers``)."""

from __future__ import annotations

import io
from pathlib import Path

from _dialect_servers import LmStudioServer

from pelican_tui.cli.run import run_command


def test_run_prints_the_ignored_thinking_switch(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    with LmStudioServer() as server:
        code = run_command(
            ["--url", server.url, "--thinking", "both", "--no-claude", "--prompt",
             "Draw a pelican.", "--out", str(tmp_path / "out")],
            stdout=out, stderr=err,
        )  # fmt: skip
    assert code in (0, 1), err.getvalue()
    warnings = [line for line in err.getvalue().splitlines() if "warning:" in line]
    assert len(warnings) == 1, err.getvalue()
    assert "The server ignored the thinking switch" in warnings[0]
    assert "off" in warnings[0], "it names the run whose switch was ignored"
