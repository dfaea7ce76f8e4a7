"""``pelican-tui run`` says on stderr what the TUI says in the pane, and in
summary.json what the store records: a thinking switch the server ignored (LM
Studio ignoring it, lmstudio-bug-tracker#1990, played by the loopback server of
``_dialect_servers``)."""

from __future__ import annotations

import io
import json
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


def test_summary_json_says_what_the_switch_did(tmp_path: Path) -> None:
    """summary.json's runs had ``thinking`` and ``thinking_ran`` but not whether the
    switch was ignored, nor the check's sentence, and the session's notes were []: the
    warning was only on stderr. Now each run carries them under the names its settings
    have in session.json, and the notes say the ignored switch."""
    out, err = io.StringIO(), io.StringIO()
    with LmStudioServer() as server:
        run_command(
            ["--url", server.url, "--thinking", "both", "--no-claude", "--prompt",
             "Draw a pelican.", "--out", str(tmp_path / "out")],
            stdout=out, stderr=err,
        )  # fmt: skip
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    [session] = summary["sessions"]
    on, off = session["runs"]
    exported = json.loads((tmp_path / "out" / session["export_dir"] / "session.json").read_text())
    stored = {run["slot"]: run["settings"] for run in exported["runs"]}
    assert summary["format_version"] == 2
    for run in (on, off):
        for key in ("thinking_switch", "thinking_switch_ignored", "thinking_check"):
            assert run[key] == stored[run["slot"]][key], (key, run)
    assert (on["thinking_switch_ignored"], off["thinking_switch_ignored"]) == (False, True)
    assert off["thinking_switch"] == 'reasoning_effort="none"'
    assert off["thinking_check"].startswith("The server ignored the thinking switch")
    assert f"right: {off['thinking_check']}" in session["notes"], session["notes"]
