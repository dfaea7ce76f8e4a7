"""Standard output that cannot be written, the same for every command.

A reader that goes away (``pelican-tui sessions list | head -1``) is its choice, not a
failure: the command stops writing quietly, and exits as it would have (0, unless it
had already failed), whatever was still to be written when the reader left. Output
that cannot be written otherwise (``> /dev/full``: a full disk) is a failure, said in
one line under the command's name, exit status 1; never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _server_support import server_binary, tiny_model
from _session_support import make_comparison

from pelican_tui.backends.store.sessions import SessionStore

FULL = "cannot write the output: No space left on device"


def _pelican(argv: list[str], stdout: int, **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pelican_tui", *argv],
        stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120, check=False,
        **options,  # type: ignore[call-overload]
    )  # fmt: skip


def _into_closed_pipe(argv: list[str]) -> subprocess.CompletedProcess[str]:
    read, write = os.pipe()
    os.close(read)  # nobody will read: the first write fails with EPIPE
    try:
        return _pelican(argv, write)
    finally:
        os.close(write)


def _stored_session() -> int:
    with SessionStore.open() as store:
        return make_comparison(store).id


@pytest.mark.parametrize(
    "argv",
    [
        ["sessions", "list"],
        ["sessions", "show", "SESSION"],
        ["leaderboard", "--json"],
        ["doctor", "--url", "http://127.0.0.1:9"],
        ["--help"],
    ],
)
def test_a_closed_pipe_ends_a_command_quietly_with_status_0(argv: list[str]) -> None:
    """``leaderboard --json | head -1`` exited 1, which its help says means the store
    cannot be used, and ``sessions show 16 | head -1`` 0 (its card fitted the pipe
    before the reader left): the status depended on how fast the reader was."""
    session = str(_stored_session())
    done = _into_closed_pipe([session if word == "SESSION" else word for word in argv])
    assert "Traceback" not in done.stderr, done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "argv", [["doctor", "--url", "http://127.0.0.1:9"], ["sessions", "list"], ["--help"]]
)
def test_a_closed_standard_output_is_written_nowhere_without_a_traceback(
    argv: list[str],
) -> None:
    """Started with standard output closed (``>&-``), Python's is None: doctor ended in
    "'NoneType' object has no attribute 'flush'", and run in one after all its work."""
    done = _pelican(argv, subprocess.DEVNULL, pass_fds=(), preexec_fn=lambda: os.close(1))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == (1 if argv[0] == "doctor" else 0), done.stderr


def test_a_closed_pipe_ends_render_to_standard_output_as_every_command(tmp_path: Path) -> None:
    """``render FILE -o - | head -c 8``: it said "cannot write -: Broken pipe" and exited
    2, "OUT cannot be written", where every other command stops quietly."""
    svg = tmp_path / "p.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>')
    done = _into_closed_pipe(["render", str(svg), "-o", "-"])
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    ("argv", "prog"),
    [
        (["sessions", "list"], "pelican-tui sessions"),
        (["sessions", "show", "SESSION"], "pelican-tui sessions"),
        (["sessions", "export", "SESSION", "--out", "OUT"], "pelican-tui sessions"),
        (["leaderboard", "--json"], "pelican-tui leaderboard"),
        (["doctor", "--url", "http://127.0.0.1:9"], "pelican-tui doctor"),
        (["render", "SVG", "-o", "-"], "pelican-tui render"),
        (["--help"], "pelican-tui"),
        (["sessions", "--help"], "pelican-tui sessions"),
    ],
)
def test_output_that_cannot_be_written_is_said_in_one_line_with_status_1(
    argv: list[str], prog: str, buffered: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sessions show 16 > /dev/full`` printed a traceback ending "OSError: [Errno 28]
    No space left on device"; ``--help > /dev/full`` exited 0 with nothing said."""
    if buffered:
        monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    else:
        monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    svg = tmp_path / "p.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>')
    words = {"SESSION": str(_stored_session()), "OUT": str(tmp_path / "out"), "SVG": str(svg)}
    with Path("/dev/full").open("w") as full:
        done = _pelican([words.get(word, word) for word in argv], full.fileno())
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1] == f"{prog}: {FULL}", done.stderr
    assert done.returncode == 1, done.stderr
    if argv[:2] == ["sessions", "export"]:
        assert (tmp_path / "out" / "session.json").is_file(), "the export itself is done"


def test_a_run_whose_summary_cannot_be_written_fails_and_says_what_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pelican-tui run ... > /dev/full`` exited 0, its summary lost, stderr ending
    "exported to …"."""
    monkeypatch.setenv("PELICAN_LOCAL__MAX_TOKENS", "8")
    monkeypatch.setenv("PELICAN_LOCAL__LLAMA_SERVER", str(server_binary()))
    out = tmp_path / "out"
    argv = ["run", "--model", str(tiny_model()), "--ctx", "1024", "--no-claude"]
    argv += ["--thinking", "off", "--out", str(out)]
    with Path("/dev/full").open("w") as full:
        done = _pelican(argv, full.fileno())
    assert "Traceback" not in done.stderr, done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith(f"pelican-tui run: {FULL}; "), done.stderr
    assert f"exported to {out}" in last and "kept" in last, last
    assert done.returncode == 1, done.stderr
    # summary.json said "exit_code": 0, "error": null of a run that exited 1.
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exit_code"] == done.returncode, summary
    assert summary["error"] == "cannot print the summary: No space left on device", summary
