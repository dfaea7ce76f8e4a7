"""``pelican-tui run`` end to end: the tiny real model, the loopback Claude server,
the real session store and the real export, checked file by file."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import http.server
import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from _anthropic_server import AnthropicTestServer
from _dialect_servers import LmStudioServer, Recorded, VllmServer, openai_frames, send_json, stream
from _http_proxy import forwarding_proxy
from _server_support import pid_alive, server_binary, tiny_model, wait_until
from PIL import Image

from pelican_tui.backends import locations
from pelican_tui.backends.engine.batch import default_plan, plan_batch, plan_modes
from pelican_tui.backends.engine.choices import PaneChoice
from pelican_tui.backends.engine.run import PNG_SIZE
from pelican_tui.backends.engine.thinking_check import same_request_note
from pelican_tui.backends.llama import process as llama_process
from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.process import LlamaServer
from pelican_tui.backends.prompt_sets import NamedPrompt
from pelican_tui.backends.resource_sampler import REMOTE_NOTE, on_this_machine
from pelican_tui.backends.secrets import REDACTED
from pelican_tui.backends.store.records import Run, Session, SessionStoreMissing, recorded_numbers
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.svg.extract import extract_svg
from pelican_tui.backends.svg.render import SvgRenderer
from pelican_tui.cli import run as headless
from pelican_tui.cli.run import run_command

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLAUDE_KEY = "sk-ant-test-headless-" + secrets.token_hex(12)
LLAMA_KEY = "llamakey-" + secrets.token_hex(16)
MAX_TOKENS = 48


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def claude_server() -> Iterator[AnthropicTestServer]:
    with AnthropicTestServer() as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Small, deterministic local runs on the real binary; no retries against Claude."""
    monkeypatch.setenv("PELICAN_LOCAL__MAX_TOKENS", str(MAX_TOKENS))
    monkeypatch.setenv("PELICAN_LOCAL__LLAMA_SERVER", str(server_binary()))
    monkeypatch.setenv("PELICAN_LOCAL__EXTRA_ARGS", '["--seed", "42"]')
    monkeypatch.setenv("PELICAN_LOCAL__READY_TIMEOUT_S", "120")
    monkeypatch.setenv("PELICAN_CLAUDE__MAX_RETRIES", "0")
    monkeypatch.setenv("PELICAN_CLAUDE__TIMEOUT_S", "30")
    return monkeypatch


def use_claude(monkeypatch: pytest.MonkeyPatch, server: AnthropicTestServer) -> None:
    server.serve(monkeypatch, CLAUDE_KEY)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def running(argv: list[str], err_file: Path) -> Iterator[subprocess.Popen[str]]:
    """``pelican-tui ARGV`` in a process of its own, its stderr to ``err_file``, its
    stdout a pipe; killed on the way out if it is still running."""
    with err_file.open("w") as err_handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pelican_tui", *argv],
            stdout=subprocess.PIPE,
            stderr=err_handle,
            env=os.environ.copy(),
            text=True,
            # As a terminal's foreground job has it: a shell starts a background job
            # (`bin/test &`, a CI runner) with SIGINT ignored, and the child would
            # inherit that and never see a Ctrl-C.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def local_args(out_dir: Path) -> list[str]:
    return ["--model", str(tiny_model()), "--ctx", "2048", "--out", str(out_dir)]


def stored_sessions() -> list[Session]:
    with SessionStore.open(create=False) as store:
        return [store.get_session(s.id) for s in reversed(store.list_sessions())]


def server_pid(stderr: str) -> int:
    match = re.search(r"llama-server: ready in .*\(pid (\d+),", stderr)
    assert match, f"no ready line with the server pid in:\n{stderr}"
    return int(match.group(1))


def data_files() -> list[Path]:
    return [p for p in locations.data_dir().rglob("*") if p.is_file()]


def check_local_run(run: Run, *, thinking: bool) -> None:
    assert run.backend == "local"
    assert run.status == "finished", run.failure_reason
    assert run.model_id == tiny_model().name
    info = run.model_info
    assert info["file"] == tiny_model().name
    assert info["file_size"] == tiny_model().stat().st_size
    assert info["sha256"] == hashlib.sha256(tiny_model().read_bytes()).hexdigest()
    assert info["arch"] == "llama" and info["total_params"] > 100_000_000
    assert info["server_version"] and info["server_version"] != "unknown"
    assert info["context"] == 2048
    args = info["server_args"]
    assert args[args.index("-m") + 1] == str(tiny_model())
    assert args[args.index("-c") + 1] == "2048"
    assert args[args.index("--seed") + 1] == "42"
    # The server's key is never on the recorded command line: masked when the
    # key is passed as --api-key, absent when llama-server reads it from its
    # environment instead.
    assert LLAMA_KEY not in args
    if "--api-key" in args:
        assert args[args.index("--api-key") + 1] == "[redacted]"
    assert run.settings["thinking"] is thinking
    assert run.settings["max_tokens"] == MAX_TOKENS
    assert set(run.settings["sampling"]) >= {"temperature", "top_p", "top_k", "min_p"}
    assert run.settings["system"].startswith("You draw with SVG")
    timings = run.timings
    assert 0 < timings["generated_tokens"] <= MAX_TOKENS
    assert timings["generation_tokens_per_s"] > 0
    assert timings["prompt_tokens"] > 0 and timings["prompt_tokens_per_s"] > 0
    assert 0 < timings["time_to_first_token_s"] < timings["total_s"]
    assert run.usage["input_tokens"] > 0 and run.usage["output_tokens"] > 0
    assert run.peak_ram["server_rss_bytes"] > 10_000_000
    assert "server_bytes" not in run.peak_ram, "RSS already holds the model's pages"
    assert run.peak_ram["app_rss_bytes"] > 0
    check_host(run)
    assert run.answer, "the local model said nothing"
    check_svg_record(run)
    assert run.finished_at is not None and run.finished_at >= run.started_at


def check_svg_record(run: Run) -> None:
    """The stored SVG, note and PNG say what the answer holds and what the renderer did."""
    found = extract_svg(run.answer)
    assert run.svg == found.svg
    assert run.svg_note is not None
    # Why an SVG is unfinished or missing when the answer was cut by its token limit,
    # "found 1 SVG" (or "closed it up"), then "; <why>" only when rendering failed.
    expected = found.note
    if (found.partial or found.svg is None) and run.usage.get("stop_reason") == "length":
        expected = f"cut at the {run.settings['max_tokens']}-token limit: {expected}"
    if found.svg is None:
        assert run.svg_note == expected and run.png is None
        return
    assert run.svg_note.startswith(expected), run.svg_note
    rendered = run.svg_note == expected
    assert (run.png is not None) == rendered, run.svg_note
    if run.png is not None:
        assert run.png.startswith(PNG_MAGIC)


def check_host(run: Run) -> None:
    host = run.host
    assert host["cpu_threads"] >= 1 and host["ram_total_bytes"] > 0
    assert host["os"] and host["python"]


# --------------------------------------------------------------------------- the layout


def _layout(
    samples: int, modes: list[bool], with_claude: bool
) -> list[tuple[int, str, tuple[tuple[str, str, bool], ...]]]:
    """The sessions of a one-prompt batch in order: (sample, thinking label, choices)."""
    steps = plan_batch([NamedPrompt("prompt", "draw")], samples)
    return [
        (step.sample, p.label, tuple((s, c.side, c.thinking) for s, c in p.choices.items()))
        for step in steps
        for p in plan_modes(modes, with_claude)
    ]


def test_session_layout() -> None:
    assert _layout(2, [True, False], with_claude=True) == [
        (1, "on", (("left", "local", True), ("right", "claude", True))),
        (1, "off", (("left", "local", False), ("right", "claude", False))),
        (2, "on", (("left", "local", True), ("right", "claude", True))),
        (2, "off", (("left", "local", False), ("right", "claude", False))),
    ]
    assert _layout(1, [True, False], with_claude=False) == [
        (1, "on vs off", (("left", "local", True), ("right", "local", False)))
    ]
    assert _layout(3, [False], with_claude=False) == [
        (n, "off", (("left", "local", False),)) for n in (1, 2, 3)
    ]


def test_without_thinking_given_claude_thinks_as_its_setting_says(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    """As the TUI starts (the engine's default choices): ``claude.thinking = false`` with
    local thinking on. ``run`` gave Claude the local mode; ``--thinking`` still sets both."""
    use_claude(env, claude_server)
    env.setenv("PELICAN_CLAUDE__THINKING", "false")
    code, _, err = run(*local_args(tmp_path / "out"))
    assert code == 0, err
    [sent] = claude_server.requests
    assert sent.body is not None and "thinking" not in sent.body
    [session] = stored_sessions()
    assert sorted((r.slot, r.settings["thinking"]) for r in session.runs) == [
        ("left", True),
        ("right", False),
    ]
    [both_off] = plan_modes([False], with_claude=True)
    assert both_off.choices["right"] == PaneChoice("claude", False)


def test_without_thinking_given_run_plans_what_the_tui_starts_with() -> None:
    """Without Claude, ``run`` ran the local model alone in its one mode, where the TUI's
    panes start (and ``r`` runs) thinking as set vs the other way round."""
    from pelican_tui.backends.engine.comparison import ComparisonEngine
    from pelican_tui.backends.llama.prepare import Prepared
    from pelican_tui.backends.settings import load_settings

    local = {"model": tiny_model(), "context": 2048, "thinking": False}
    engine = ComparisonEngine(load_settings({"local": local}), Prepared(server_binary(), "cache"))
    plan = default_plan(engine)
    assert plan.choices == engine.default_choices()
    assert plan.choices == {"left": PaneChoice("local", False), "right": PaneChoice("local", True)}
    assert plan.label == "off vs on"


def test_one_rule_stops_a_batch_in_both_front_ends() -> None:
    """The TUI went on through a batch whose sessions its store could not keep."""
    from pelican_tui.backends.engine.batch import stop_reason
    from pelican_tui.backends.engine.comparison import ComparisonResult
    from pelican_tui.backends.engine.updates import RunRefused

    assert stop_reason(ComparisonResult(7)) is None
    assert stop_reason(ComparisonResult(7, cancelled=["left"])) == "cancelled"
    refused = ComparisonResult(7, refused={"right": RunRefused("right", "claude: no key")})
    assert stop_reason(refused) == "right: not run: claude: no key"
    assert stop_reason(ComparisonResult(None)) == "the session store failed"


def test_the_engine_decides_which_runs_take_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thinking on vs off share one llama-server: in turn. Local vs Claude: together."""
    from pelican_tui.backends.engine.comparison import ComparisonEngine
    from pelican_tui.backends.llama.prepare import Prepared
    from pelican_tui.backends.settings import load_settings

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-" + "x" * 20)
    settings = load_settings({"local": {"model": tiny_model(), "context": 2048}})
    engine = ComparisonEngine(settings, Prepared(server_binary(), "cache"))
    [local_both] = plan_modes([True, False], with_claude=False)
    [with_claude, _] = plan_modes([True, False], with_claude=True)
    assert engine.shared_turn(local_both.choices) == "one server"
    assert engine.shared_turn(with_claude.choices) is None


# --------------------------------------------------------------------------- usage: exit 2


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command(["--help"]) == 0
    text = capsys.readouterr().out
    for line in (
        "0    every run finished",
        "1    some run failed",
        "2    bad usage",
        "3    the local model could not start",
        "130  interrupted",
    ):
        assert line in text
    for code in ("0 ", "1 ", "2 ", "3 ", "130 "):
        assert f"\n    {code}" in (headless.__doc__ or ""), f"exit {code} not in the module doc"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--samples", "0"], "--samples: 0 is not from 1 to 1000"),
        (["--thinking", "maybe"], "invalid choice"),
        (["--model", "a.gguf", "--hf", "x/y"], "not allowed with argument"),
        ([], "the following arguments are required: --out"),
    ],
)
def test_bad_usage_exits_2(argv: list[str], expected: str, tmp_path: Path) -> None:
    if argv:
        argv = [*argv, "--out", str(tmp_path / "out")]
    code, out, err = run(*argv)
    assert code == 2
    assert expected in err
    assert out == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["--thinking", "maybe"],
        ["--url", "ftp://gpu-box"],
    ],
)
def test_a_usage_error_folds_to_the_terminal(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns the one line saying what was wrong ran to 90 and more, for the
    terminal to wrap mid-word; it folds between words now, as run's other lines do."""
    monkeypatch.setenv("COLUMNS", "80")
    code, _, err = run(*argv, "--out", str(tmp_path / "out"))
    assert code == 2
    said = err[err.index("pelican-tui run: error:") :]
    assert len(said.splitlines()) > 1, said
    assert all(len(line) <= 80 for line in said.splitlines()), said
    monkeypatch.delenv("COLUMNS")
    _, _, whole = run(*argv, "--out", str(tmp_path / "out"))
    assert " ".join(said.split()) == whole.splitlines()[-1], "in a file: one line"


def test_unusable_out_dir_exits_2(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = run("--out", str(a_file), "--no-claude")
    assert code == 2 and "is a file" in err
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    code, _, err = run("--out", str(busy), "--no-claude")
    assert code == 2 and "not empty" in err and "--force" in err
    assert (busy / "keep.txt").read_text() == "mine"


def test_claude_model_without_a_key_exits_2(tmp_path: Path) -> None:
    code, _, err = run("--claude-model", "claude-opus-4-7", "--out", str(tmp_path / "out"))
    assert code == 2
    assert "ANTHROPIC_API_KEY is not set" in err
    assert len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- exit 3


def test_missing_model_file_exits_3_with_one_line(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-model.gguf"
    out_dir = tmp_path / "out"
    code, out, err = run("--model", str(missing), "--no-claude", "--out", str(out_dir))
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(missing) in lines[0] and "no such file" in lines[0]
    assert out == ""
    assert not out_dir.exists(), "nothing ran, so nothing should be written"


def test_a_file_that_is_not_gguf_exits_3(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all")
    code, _, err = run("--model", str(junk), "--no-claude", "--out", str(tmp_path / "out"))
    assert code == 3
    assert "not a GGUF file" in err and len(err.strip().splitlines()) == 1


def test_unreachable_url_exits_3(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = run(
        "--url", f"http://127.0.0.1:{port}", "--no-claude", "--out", str(tmp_path / "out")
    )
    assert code == 3
    assert f"cannot reach http://127.0.0.1:{port}" in err


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_full_comparison_is_stored_and_exported(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    use_claude(env, claude_server)
    # A known llama-server key, to prove it reaches no file.
    env.setattr(llama_process, "secrets", SimpleNamespace(token_urlsafe=lambda n: LLAMA_KEY))
    out_dir = tmp_path / "out"
    prompt = "Generate an SVG of a pelican riding a bicycle"
    started = time.monotonic()
    code, out, err = run("--prompt", prompt, "--thinking", "on", *local_args(out_dir))
    elapsed = time.monotonic() - started
    assert code == 0, err
    print(f"headless run: {elapsed:.1f} s\n{err}\n{out}")

    # llama-server was stopped.
    pid = server_pid(err)
    assert wait_until(lambda: not pid_alive(pid), 10), "llama-server outlived the run"

    # Claude got the same prompt and system prompt, with thinking, once.
    assert len(claude_server.requests) == 1
    sent = claude_server.requests[0]
    assert sent.headers.get("authorization") == f"Bearer {CLAUDE_KEY}"
    assert sent.body is not None
    assert sent.body["messages"] == [{"role": "user", "content": prompt}]
    assert sent.body["system"].startswith("You draw with SVG")
    assert sent.body["thinking"]["type"] == "adaptive"

    # The store: one session, left = local, right = Claude, both complete.
    [session] = stored_sessions()
    assert session.prompt == prompt
    assert session.title.endswith(" · no switch vs thinking high"), session.title
    [left] = session.runs_in("left")
    [right] = session.runs_in("right")
    check_local_run(left, thinking=True)  # its SVG and PNG as its answer allows

    assert right.backend == "claude" and right.status == "finished"
    assert right.model_id == "claude-opus-4-7"
    assert right.model_info["model"] == "claude-opus-4-7"
    assert right.model_info["thinking"] == "adaptive, summarized"
    assert right.settings["thinking"] is True and right.settings["effort"] == "high"
    assert right.thinking_text and "pelican" in right.answer
    assert right.svg is not None and right.svg.startswith("<svg")
    assert right.png is not None and right.png.startswith(PNG_MAGIC)
    assert right.usage["input_tokens"] == 37
    assert right.usage["output_tokens"] == claude_server.last_usage["output_tokens"]
    assert right.timings["time_to_first_token_s"] > 0 and right.timings["total_s"] > 0
    check_host(right)
    assert right.host == left.host
    # The two runs overlapped: they ran concurrently.
    assert left.started_at < right.finished_at and right.started_at < left.finished_at  # type: ignore[operator]

    # The export folder, file by file.
    folder = out_dir / f"session-{session.id}"
    names = sorted(p.name for p in folder.iterdir())
    # Claude's fixed answer always draws; the tiny model's 48 tokens draw as they fall.
    drawn = ["right", *(["left"] if left.png is not None else [])]
    left_files = [name for name, has in (("left.png", left.png), ("left.svg", left.svg)) if has]
    assert names == sorted(
        ["index.html", *left_files, "right.png", "right.svg", "run-card.md", "session.json"]
    )
    for slot in drawn:
        png = (folder / f"{slot}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 100
        assert (folder / f"{slot}.svg").read_text().startswith("<svg")
    html = (folder / "index.html").read_text()
    for slot in drawn:
        encoded = base64.b64encode((folder / f"{slot}.png").read_bytes()).decode()
        assert encoded in html, f"the {slot} picture is not in index.html"
    card = (folder / "run-card.md").read_text()
    assert left.model_info["sha256"] in card
    assert "llama-server -m " in card and "-c 2048" in card and "--seed 42" in card
    assert left.model_info["server_version"] in card
    assert "claude-opus-4-7" in card
    document = json.loads((folder / "session.json").read_text())
    assert document["id"] == session.id
    assert [r["status"] for r in document["runs"]] == ["finished", "finished"]
    assert {r["slot"] for r in document["runs"]} == {"left", "right"}

    # summary.json describes the batch.
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["format"] == "pelican-tui-run-summary"
    assert summary["status"] == "complete" and summary["exit_code"] == 0
    totals = {"planned": 2, "runs": 2, "finished": 2, "failed": 0, "cancelled": 0}
    assert summary["totals"] == totals
    assert summary["local"]["model_info"]["sha256"] == left.model_info["sha256"]
    assert summary["claude"]["used"] is True
    [entry] = summary["sessions"]
    assert entry["id"] == session.id and entry["export_dir"] == folder.name
    runs = {item["slot"]: item for item in entry["runs"]}
    for slot, stored in (("left", left), ("right", right)):
        item = runs[slot]
        assert item["status"] == "finished"
        for kind, data in (("svg", stored.svg), ("png", stored.png)):
            assert (item["files"][kind] is not None) == (data is not None), item["files"]
            if data is not None:
                assert (out_dir / item["files"][kind]).is_file()

    # The summary table on stdout.
    header, *rows, footer = out.strip().splitlines()
    assert header.split() == [
        "SESSION",
        "SAMPLE",
        "THINKING",
        "SLOT",
        "MODEL",
        "STATUS",
        "TOKENS",
        "TOK/S",
        "TTFT",
        "PICTURE",
    ]
    assert len(rows) == 2
    assert tiny_model().name in rows[0] and "claude-opus-4-7" in rows[1]
    assert all(" finished " in row for row in rows)
    assert footer.startswith("2 of 2 runs finished; 1 session exported")

    # No key anywhere: not in the exports, the database files, or the output.
    for path in [*out_dir.rglob("*"), *data_files()]:
        if path.is_file():
            data = path.read_bytes()
            assert CLAUDE_KEY.encode() not in data, f"the Anthropic key is in {path}"
            assert LLAMA_KEY.encode() not in data, f"the llama-server key is in {path}"
    assert CLAUDE_KEY not in out + err and LLAMA_KEY not in out + err


@pytest.mark.slow
def test_a_failing_claude_exits_1_and_keeps_the_local_run(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    with AnthropicTestServer(scenario="401") as claude_server:
        use_claude(env, claude_server)
        out_dir = tmp_path / "out"
        code, out, err = run("--thinking", "off", *local_args(out_dir))
    assert code == 1, err
    [session] = stored_sessions()
    [left] = session.runs_in("left")
    [right] = session.runs_in("right")
    check_local_run(left, thinking=False)
    assert right.status == "failed"
    assert right.failure_reason and "401" in right.failure_reason
    assert CLAUDE_KEY not in right.failure_reason
    assert "failed" in right.failure_reason.lower() or "key" in right.failure_reason.lower()

    folder = out_dir / f"session-{session.id}"
    assert (folder / "session.json").is_file() and (folder / "run-card.md").is_file()
    assert "failed" in (folder / "run-card.md").read_text()
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["exit_code"] == 1
    totals = {"planned": 2, "runs": 2, "finished": 1, "failed": 1, "cancelled": 0}
    assert summary["totals"] == totals
    assert "right claude (off): failed" in err
    assert " failed " in out and "1 of 2 runs finished" in out


def test_claudes_picture_time_starts_when_its_total_time_does(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    """All of a run's times start when its request is sent. In a fresh process the
    first Claude run imports the SDK first (0.9 s), and its run card said "picture
    after 1.0 s" beside "Total time 0.05 s": the picture's clock had started before
    the import, the total's after it."""
    use_claude(env, claude_server)
    out_dir = tmp_path / "out"
    argv = ["run", "--thinking", "off", "--samples", "2", *local_args(out_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "pelican_tui", *argv],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    claude = [run for session in stored_sessions() for run in session.runs_in("right")]
    assert len(claude) == 2 and all(run.backend == "claude" for run in claude)
    after_stream = []
    for run in claude:
        total, first = run.timings["total_s"], run.timings["time_to_first_token_s"]
        picture = run.picture_facts["seconds_to_picture"]
        assert 0 < first <= total <= picture, (first, total, picture)
        after_stream.append(picture - total)  # the drawing (and a memory sample) only
    # The first run's picture waited no longer after its stream than the second's did,
    # give or take a drawing on a busy machine: the SDK's import is not in it.
    assert after_stream[0] < after_stream[1] + 0.3, after_stream


@pytest.mark.slow
def test_a_key_claude_refuses_is_sent_once_and_the_local_samples_go_on(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """Every sample sent Claude the key it had refused, and failed the same way."""
    with AnthropicTestServer(scenario="401") as claude_server:
        use_claude(env, claude_server)
        out_dir = tmp_path / "out"
        code, out, err = run("--thinking", "off", "--samples", "3", *local_args(out_dir))
        sent = len(claude_server.requests)
    assert code == 1, err
    assert sent == 1, f"Claude was sent {sent} requests"
    sessions = stored_sessions()
    assert [len(s.runs_in("left")) for s in sessions] == [1, 1, 1]
    for session in sessions:
        check_local_run(session.runs_in("left")[0], thinking=False)
    assert [len(s.runs_in("right")) for s in sessions] == [1, 0, 0]
    assert sessions[0].runs_in("right")[0].status == "failed"
    why = "not sent: Anthropic rejected the API key (401) on sample 1/3"
    assert err.count(f"right: not run: {why}") == 2, err
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["totals"] == {
        "planned": 6, "runs": 4, "finished": 3, "failed": 1, "cancelled": 0,
    }  # fmt: skip
    notes = [s["notes"] for s in summary["sessions"]]
    assert notes[1:] == [[f"right: not run: {why}"], [f"right: not run: {why}"]]
    assert "claude: 2 runs not sent: Anthropic rejected the API key (401) on sample 1/3" in out
    assert "3 of 4 runs finished (2 of the 6 planned not run)" in out
    assert "[2/3] sample 2/3, thinking off: local (no switch)\n" in err


@pytest.mark.slow
def test_an_overloaded_claude_is_asked_again_at_every_sample(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """A failure for now (529: overloaded) may pass: each sample asks again."""
    with AnthropicTestServer(scenario="529") as claude_server:
        use_claude(env, claude_server)
        code, out, err = run("--thinking", "off", "--samples", "3", *local_args(tmp_path / "o"))
        sent = len(claude_server.requests)
    assert code == 1, err
    assert sent == 3, f"Claude was sent {sent} requests"
    sessions = stored_sessions()
    assert [s.runs_in("right")[0].status for s in sessions] == ["failed"] * 3
    assert "not sent" not in err + out


def test_the_summary_says_thinking_ran_only_where_it_can_be_told(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """summary.json said ``"thinking_ran": true`` of a Claude run that failed (529)
    before anything arrived, beside its check's "nothing arrived, so … unknown", and of
    runs of a model with no thinking switch: it fell back to what was asked. Now it is
    null where nothing arrived to tell by, and false for the model that has no switch."""
    with AnthropicTestServer(scenario="529") as claude_server:
        use_claude(env, claude_server)
        out_dir = tmp_path / "out"
        code, _, err = run("--thinking", "on", *local_args(out_dir))
    assert code == 1, err
    [session] = json.loads((out_dir / "summary.json").read_text())["sessions"]
    runs = {entry["slot"]: entry for entry in session["runs"]}
    assert runs["right"]["status"] == "failed" and runs["right"]["thinking"] is True
    assert "nothing arrived" in runs["right"]["thinking_check"]
    assert runs["right"]["thinking_ran"] is None
    assert runs["left"]["thinking_switch"].startswith("not sent"), runs["left"]
    assert runs["left"]["thinking_ran"] is False


@pytest.mark.slow
def test_thinking_both_with_claude_says_once_that_a_model_without_a_switch_sends_one_request(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    """With Claude, ``--thinking both`` runs the local model on in one session and off
    in the next: on the stand-in (no thinking switch) the same request twice, and
    nothing said it, as the check looked within one session. Now the note is said once
    at the start of the batch and is in each session's notes in summary.json."""
    use_claude(env, claude_server)
    out_dir = tmp_path / "out"
    code, _out, err = run("--samples", "2", "--thinking", "both", *local_args(out_dir))
    assert code == 0, err
    note = same_request_note("local")
    lines = err.splitlines()
    assert lines.count(f"  note: {note}") == 1, err
    assert lines.index(f"  note: {note}") < min(
        i for i, line in enumerate(lines) if line.startswith("  left ")
    ), err  # at the start: before the first run's result
    summary = json.loads((out_dir / "summary.json").read_text())
    assert [s["thinking"] for s in summary["sessions"]] == ["on", "off", "on", "off"]
    assert all(note in s["notes"] for s in summary["sessions"]), summary["sessions"]


@pytest.mark.slow
def test_no_claude_thinking_both_puts_thinking_off_on_the_right(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    use_claude(env, claude_server)  # configured, yet --no-claude must not call it
    out_dir = tmp_path / "out"
    code, out, err = run("--no-claude", "--thinking", "both", *local_args(out_dir))
    assert code == 0, err
    assert claude_server.requests == []
    [session] = stored_sessions()
    [left] = session.runs_in("left")
    [right] = session.runs_in("right")
    check_local_run(left, thinking=True)
    check_local_run(right, thinking=False)
    assert left.model_info["sha256"] == right.model_info["sha256"]
    # One after the other, so neither's tokens/s is halved by the other.
    assert left.finished_at is not None and left.finished_at <= right.started_at
    assert session.title.endswith(" · no thinking switch"), "the stand-in has none to send"
    folder = out_dir / f"session-{session.id}"
    assert (folder / "session.json").is_file() and (folder / "index.html").is_file()
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["claude"]["used"] is False
    assert summary["thinking"] == ["on", "off"]
    assert [r["thinking"] for r in summary["sessions"][0]["runs"]] == [True, False]
    assert len(out.strip().splitlines()) == 4  # header, two runs, footer


def test_every_run_on_one_server_reads_its_whole_prompt(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """Runs one after the other on one llama-server are measured alike: each reads
    the whole prompt. Its prompt cache on, the runs after the first read 1 token of
    62, and their time to the first token (0.05 s beside 1.04 s) measured the cache."""
    out_dir = tmp_path / "out"
    argv = ["--no-claude", "--thinking", "both", "--samples", "2", *local_args(out_dir)]
    code, _out, err = run(*argv)
    assert code == 0, err
    runs = [run for session in stored_sessions() for run in session.runs]
    assert len(runs) == 4 and all(run.status == "finished" for run in runs)
    read = [(run.timings.get("prompt_tokens"), run.usage.get("input_tokens")) for run in runs]
    whole = read[0][1]
    assert isinstance(whole, int) and whole > 10, read
    assert read == [(whole, whole)] * 4, f"(prompt tokens read, of the prompt) per run: {read}"


@pytest.mark.slow
def test_a_port_chosen_for_the_server_is_never_said_to_be_0(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """run said "llama-server: starting ... --port 0 ...", and the record, summary.json
    and the exports held "--port 0" too: a port no server listened on. The command is
    said and kept without the port it was given none of; the ready line says the real one."""
    out_dir = tmp_path / "out"
    code, out, err = run("--no-claude", "--thinking", "off", *local_args(out_dir))
    assert code == 0, err
    [session] = stored_sessions()
    [left] = session.runs_in("left")
    args = left.model_info["server_args"]
    assert "--port" not in args, args
    starting = next(line for line in err.splitlines() if line.startswith("llama-server: start"))
    assert starting == f"llama-server: starting {' '.join(args)}", "said as it is kept"
    assert re.search(r"llama-server: ready in .*http://127\.0\.0\.1:\d+\)", err), err
    summary = (out_dir / "summary.json").read_text()
    assert "--port" not in summary
    assert "--port 0" not in out + err


@pytest.fixture
def running_server(request: pytest.FixtureRequest) -> Iterator[LlamaServer]:
    """A llama-server someone already runs (for --url), owned by a loop in its own thread;
    its context 2048, or the test's parameter."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="attached llama-server", daemon=True)
    thread.start()
    context = getattr(request, "param", 2048)
    config = ServerConfig(binary=server_binary(), model=tiny_model(), context=context, threads=2)
    server = LlamaServer(config)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=120)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.mark.slow
def test_url_attaches_to_a_running_server(
    tmp_path: Path, env: pytest.MonkeyPatch, running_server: LlamaServer
) -> None:
    env.setenv("PELICAN_LOCAL_API_KEY", running_server.api_key)
    out_dir = tmp_path / "out"
    url = running_server.base_url
    code, out, err = run("--url", url, "--no-claude", "--thinking", "off", "--out", str(out_dir))
    assert code == 0, err
    assert f"Attached to {url} ({tiny_model().name})" in err
    assert "llama-server: starting" not in err, "attach mode must not spawn a server"
    assert running_server.pid is not None and pid_alive(running_server.pid), "not ours to stop"

    [session] = stored_sessions()
    [left] = session.runs
    assert left.slot == "left" and left.backend == "openai"
    assert left.status == "finished", left.failure_reason
    assert left.model_id == tiny_model().name  # what the server's /v1/models lists
    assert left.model_info["url"] == url
    assert left.model_info["served_model"] == tiny_model().name
    assert "server_args" not in left.model_info, "no command line: we did not start it"
    assert left.settings["thinking"] is False
    assert 0 < left.timings["generated_tokens"] <= MAX_TOKENS
    assert left.answer
    check_svg_record(left)
    check_host(left)

    # On this machine: the process listening on its port is measured, as a spawned one.
    assert left.model_info["server_kind"] == "llama.cpp"
    assert left.peak_ram["server_rss_bytes"] > 10_000_000, left.peak_ram
    assert left.peak_ram["server_rss_bytes"] >= left.peak_ram["server_model_mapped_bytes"] > 0
    assert "server_note" not in left.peak_ram

    card = (out_dir / f"session-{session.id}" / "run-card.md").read_text()
    assert "pelican-tui run --prompt" in card and f"--url {url} --no-claude" in card
    assert "| llama-server resident (model pages included) | " in card
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["exit_code"] == 0 and summary["totals"]["finished"] == 1
    assert running_server.api_key not in out + err + card


@pytest.fixture
def proxy_to_server(running_server: LlamaServer) -> Iterator[str]:
    """A forwarding proxy process (``_http_proxy.py``) in front of ``running_server``:
    its ``http://HOST:PORT``."""
    with forwarding_proxy(running_server.base_url.removeprefix("http://")) as proxy:
        yield proxy


@pytest.mark.slow
def test_a_server_on_another_machine_is_recorded_with_its_memory_not_visible(
    tmp_path: Path, env: pytest.MonkeyPatch, running_server: LlamaServer, proxy_to_server: str
) -> None:
    """``--url`` to a server at another machine's address (reached through a proxy, as a
    GPU box behind one is): its memory cannot be read here, and the run's stored peak
    and its card say so, "remote, memory not visible", not a bare "(none recorded)"."""
    for name in ("http_proxy", "HTTP_PROXY"):
        env.setenv(name, proxy_to_server)
    for name in ("no_proxy", "NO_PROXY"):
        env.setenv(name, "127.0.0.1,localhost")
    for name in ("all_proxy", "ALL_PROXY"):
        env.delenv(name, raising=False)
    env.setenv("PELICAN_LOCAL_API_KEY", running_server.api_key)
    port = running_server.base_url.rsplit(":", 1)[1]
    elsewhere = f"http://192.0.2.7:{port}"  # TEST-NET-1: not this machine
    assert not on_this_machine(elsewhere)
    out_dir = tmp_path / "out"
    args = ["--url", elsewhere, "--no-claude", "--thinking", "off", "--out", str(out_dir)]
    code, _, err = run(*args)
    assert code == 0, err
    assert f"Attached to {elsewhere} ({tiny_model().name})" in err

    [session] = stored_sessions()
    [left] = session.runs
    assert left.status == "finished", left.failure_reason
    assert left.model_info["url"] == elsewhere and left.answer
    assert left.peak_ram["server_note"] == REMOTE_NOTE, left.peak_ram
    assert "server_rss_bytes" not in left.peak_ram
    assert left.peak_ram["app_rss_bytes"] > 0
    card = (out_dir / f"session-{session.id}" / "run-card.md").read_text()
    assert f"| Server | {REMOTE_NOTE} |" in card
    assert "resident (model pages included)" not in card
    summary = json.loads((out_dir / "summary.json").read_text())
    [summarized] = summary["sessions"][0]["runs"]
    assert summarized["peak_ram"]["server_note"] == REMOTE_NOTE


class _RefusingProxy(http.server.BaseHTTPRequestHandler):
    """A company proxy asked for an address only the asking machine can reach: 502."""

    asked: ClassVar[list[str]] = []
    address: ClassVar[str] = ""

    def _refuse(self) -> None:
        type(self).asked.append(f"{self.command} {self.path}")
        body = b"<html><body>502 Bad Gateway: cannot reach that host</body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_CONNECT = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        pass


def company_proxy_address() -> str:
    """``HOST:PORT`` of the test's :func:`company_proxy`."""
    return _RefusingProxy.address


@pytest.fixture
def company_proxy(env: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """``HTTP_PROXY`` (and the rest) set to a proxy that answers every request 502, no
    ``NO_PROXY``, as on a laptop on a company network: the requests it was asked."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _RefusingProxy.asked = []
    _RefusingProxy.address = f"127.0.0.1:{server.server_address[1]}"
    url = f"http://{_RefusingProxy.address}"
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        env.setenv(name, url)
        env.setenv(name.upper(), url)
    for name in ("no_proxy", "NO_PROXY"):
        env.delenv(name, raising=False)
    try:
        yield _RefusingProxy.asked
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_a_proxy_in_the_environment_is_not_asked_for_a_server_on_this_machines_loopback(
    tmp_path: Path,
    env: pytest.MonkeyPatch,
    running_server: LlamaServer,
    claude_server: AnthropicTestServer,
    company_proxy: list[str],
) -> None:
    """With ``HTTP_PROXY`` set and no ``NO_PROXY``, the spawned llama-server's readiness
    was asked through the proxy, which cannot reach this machine's loopback: "not ready
    after 120 s" though it listened, and no run. A loopback URL, the spawned server's,
    one given to ``--url`` or Claude's ``ANTHROPIC_BASE_URL``, goes direct; a server
    elsewhere still goes by the proxy (below, and through a forwarding one above)."""
    use_claude(env, claude_server)
    code, _, err = run("--thinking", "off", *local_args(tmp_path / "spawned"))
    assert code == 0, err
    env.setenv("PELICAN_LOCAL_API_KEY", running_server.api_key)
    args = ["--url", running_server.base_url, "--no-claude", "--thinking", "off"]
    code, _, err = run(*args, "--out", str(tmp_path / "attached"))
    assert code == 0, err
    assert company_proxy == []
    spawned, attached = stored_sessions()
    assert [run.status for run in spawned.runs + attached.runs] == ["finished"] * 3
    assert [run.slot for run in spawned.runs] == ["left", "right"]  # Claude's too
    assert attached.runs[0].model_info["url"] == running_server.base_url


@pytest.mark.slow
def test_a_server_elsewhere_that_the_proxy_refuses_is_said_to_be_behind_it(
    tmp_path: Path, env: pytest.MonkeyPatch, company_proxy: list[str]
) -> None:
    """A proxy that refuses the tunnel to a server elsewhere: the failure names the
    proxy it went through (never its user or password) and what the proxy said, with
    the settings to check, not "the connection failed" of the server itself."""
    proxy = f"http://someone:hunter2@{company_proxy_address()}"
    for name in ("https_proxy", "HTTPS_PROXY"):
        env.setenv(name, proxy)
    env.setenv("ANTHROPIC_API_KEY", CLAUDE_KEY)
    env.delenv("ANTHROPIC_BASE_URL", raising=False)  # Anthropic's API, through the proxy
    attach = ["--url", "https://192.0.2.7:8443", "--thinking", "off"]
    code, out, err = run(*attach, "--out", str(tmp_path / "attached"))
    assert code == 3, err
    through = f"through the proxy {company_proxy_address()}"
    assert f"cannot reach https://192.0.2.7:8443 {through}: the proxy refused it (502" in err
    assert "NO_PROXY" in err and "hunter2" not in out + err
    out_dir = tmp_path / "out"
    code, out, err = run("--thinking", "off", *local_args(out_dir))
    assert code == 1, err
    [session] = stored_sessions()
    [claude] = session.runs_in("right")
    assert claude.status == "failed"
    assert claude.failure_reason == (
        f"could not reach Anthropic at api.anthropic.com {through}: "
        "the proxy refused it (502 Bad Gateway)"
    )
    assert "hunter2" not in out + err + (out_dir / "summary.json").read_text()
    assert company_proxy == ["CONNECT 192.0.2.7:8443", "CONNECT api.anthropic.com:443"]


def test_an_attached_lm_studio_here_is_measured_under_its_own_name(tmp_path: Path) -> None:
    """``--url`` to LM Studio on this machine: the process listening on its port was
    measured, and the run card called it "llama-server resident (model pages
    included)"; it names the server the run recorded."""
    out_dir = tmp_path / "out"
    with LmStudioServer() as server:
        code, _, err = run(
            "--url", server.url, "--no-claude", "--thinking", "off", "--out", str(out_dir)
        )
    assert code == 0, err
    [session] = stored_sessions()
    [left] = session.runs
    assert left.model_info["server_kind"] == "LM Studio"
    assert left.peak_ram["server_rss_bytes"] > 0, left.peak_ram  # this test's process
    card = (out_dir / f"session-{session.id}" / "run-card.md").read_text()
    assert "| LM Studio resident (model pages included) | " in card
    assert "llama-server" not in card


@pytest.mark.slow
@pytest.mark.parametrize("running_server", [256], indirect=True)
def test_an_answer_cut_by_the_servers_context_is_not_said_cut_by_the_token_limit(
    tmp_path: Path, env: pytest.MonkeyPatch, running_server: LlamaServer
) -> None:
    """A server started with a context smaller than the request's limit ends the answer
    when the context is full, with the same finish reason: the note said "cut at the
    8192-token limit" of an answer 194 tokens long, which a larger limit would not help."""
    env.setenv("PELICAN_LOCAL_API_KEY", running_server.api_key)
    env.setenv("PELICAN_LOCAL__MAX_TOKENS", "8192")
    env.setenv("PELICAN_LOCAL__SEED", "2")  # the tiny model rambles past the context
    args = ["--url", running_server.base_url, "--no-claude", "--thinking", "off"]
    code, _, err = run(*args, "--out", str(tmp_path / "out"))
    assert code == 0, err
    [left] = stored_sessions()[0].runs
    prompt, answer = left.usage["input_tokens"], left.usage["output_tokens"]
    assert left.usage["stop_reason"] == "length" and prompt + answer == 256, left.usage
    assert left.svg_note is not None
    assert left.svg_note.startswith("cut where the 256-token context was full: "), left.svg_note
    assert "8192" not in err, err


@dataclass
class BasicAuthServer(VllmServer):
    """A vLLM behind a proxy that wants basic auth on every request (401 without)."""

    credentials: str = ""

    async def answer(
        self, request: Recorded, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
        if request.headers.get("authorization") != expected:
            return await send_json(writer, 401, {"error": {"message": "authentication needed"}})
        return await super().answer(request, reader, writer)


def test_a_password_in_the_url_is_used_but_never_shown_or_stored(tmp_path: Path) -> None:
    """``http://user:password@host`` reaches a server behind basic auth: the password is
    sent with every request (the probe's were sent without it: 401, "wrong or missing
    API key"), and is in none of what was printed, stored or exported."""
    out_dir = tmp_path / "out"
    password = "pw-in-the-url"
    with BasicAuthServer(credentials=f"bob:{password}") as server:
        url = server.url.replace("://", f"://bob:{password}@")
        code, out, err = run(
            "--url", url, "--no-claude", "--thinking", "off", "--out", str(out_dir)
        )
    assert code == 0, err
    sent = base64.b64encode(f"bob:{password}".encode()).decode()
    assert server.requests[-1].headers["authorization"] == f"Basic {sent}"
    assert f"Attached to {server.url} (" in err
    assert "1 of 1 run finished; 1 session exported" in out, out
    [session] = stored_sessions()
    [left] = session.runs
    assert left.status == "finished", left.failure_reason
    assert left.model_info["url"] == server.url
    card = (out_dir / f"session-{session.id}" / "run-card.md").read_text()
    # The command gives the user and password back as placeholders (without, a 401), in
    # the variable, not on its command line.
    login = server.url.replace("://", "://USER:PASSWORD@")
    assert f"PELICAN_LOCAL__URL={login} pelican-tui run " in card
    assert "--url" not in card
    assert "; USER:PASSWORD with the server's user and password):" in card
    assert left.model_info["login"] == "user and password in the URL"
    written = [p.read_bytes() for p in [*out_dir.rglob("*"), *data_files()] if p.is_file()]
    assert written and not any(password.encode() in data for data in written)
    assert password not in out + err


def test_the_summary_says_when_a_server_thought_although_asked_not_to(tmp_path: Path) -> None:
    """LM Studio ignores the switch: the table said "off" and summary.json nothing of it,
    while the leaderboard filed the run under "thinking on"."""
    out_dir = tmp_path / "out"
    with LmStudioServer() as server:
        code, out, err = run(
            "--url", server.url, "--no-claude", "--thinking", "off", "--out", str(out_dir)
        )
    assert code == 0, err
    [row] = [line for line in out.splitlines() if " left " in line]
    assert " off (thought) " in row, out
    [summarized] = json.loads((out_dir / "summary.json").read_text())["sessions"][0]["runs"]
    assert (summarized["thinking"], summarized["thinking_ran"]) == (False, True)


def test_run_url_names_the_model_once_the_server_said_it(tmp_path: Path) -> None:
    """``run --url`` began "Local model: model at 127.0.0.1:PORT", as if that were the
    model's name, before the server was asked; it says where the model is served, and
    the next line names it, from the server's list."""
    with LmStudioServer() as server:
        code, _, err = run("--url", server.url, "--no-claude", "--out", str(tmp_path / "out"))
    assert code == 0, err
    lines = err.splitlines()
    said = f"Local model: the one served at {server.url}; prompt: Generate an SVG of a pelican"
    [first] = [line for line in lines if line.startswith("Local model: ")]
    assert first.startswith(said), first
    assert f"Attached to {server.url} (qwen3.6-35b-a3b)." in lines, err
    assert "model at " not in err


UNDRAWABLE_SVG = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" opacity="x"/></svg>'


@dataclass
class ThreeAnswersServer(VllmServer):
    """Answers in turn with a pelican, an SVG that cannot be drawn, and no SVG."""

    answers: tuple[str, ...] = (
        (Path(__file__).parent / "svg_corpus" / "good_pelican_classic.svg").read_text(),
        UNDRAWABLE_SVG,
        "I would rather describe a pelican than draw one.",
    )

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        if path != "/v1/chat/completions":
            return await super().route(method, path, body, writer)
        answered = len(self.bodies(path)) - 1
        await stream(writer, "sse", openai_frames(None, self.answers[answered % 3]))


def test_the_summary_says_of_each_run_whether_its_picture_was_drawn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The SVG column said yes, svg or no: "svg" meant found but not drawn."""
    with ThreeAnswersServer() as server:
        code, out, err = run(
            "--url", server.url, "--no-claude", "--thinking", "off", "--samples", "3",
            "--out", str(tmp_path / "out"),
        )  # fmt: skip
    assert code == 0, err
    header, *rows, _ = out.strip().splitlines()
    assert header.split()[-1] == "PICTURE"
    assert [row.rsplit("  ", 1)[-1].strip() for row in rows] == ["drawn", "not drawn", "no SVG"]
    assert run_command(["--help"]) == 0
    assert "PICTURE column: drawn; not drawn (an SVG was found but could not be drawn" in " ".join(
        capsys.readouterr().out.split()
    )


CUT_IN_ITS_FIRST_TAG = 'Here is my pelican:\n<svg xmlns="http://www.w3.org/2000/svg" viewBox='


@dataclass
class CutThenFailingServer(VllmServer):
    """Answers in turn with an SVG cut off inside its first tag, and a 500 error (a
    failed run with no answer)."""

    async def route(self, method: str, path: str, body: Any, writer: asyncio.StreamWriter) -> None:
        if path != "/v1/chat/completions":
            return await super().route(method, path, body, writer)
        if len(self.bodies(path)) % 2:
            return await stream(writer, "sse", openai_frames(None, CUT_IN_ITS_FIRST_TAG))
        await send_json(writer, 500, {"error": {"message": "the model fell over"}})


def test_the_summary_says_truncated_and_nothing_of_an_answer_never_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The PICTURE column said "no SVG" of an SVG cut off inside its first tag (its
    facts, the run card and the vote say "truncated") and of a failed run that wrote
    nothing (its numbers said "—"; nothing was there to look in)."""
    with CutThenFailingServer() as server:
        code, out, err = run(
            "--url", server.url, "--no-claude", "--thinking", "off", "--samples", "2",
            "--out", str(tmp_path / "out"),
        )  # fmt: skip
    assert code == 1, err
    cut, failed = (s.runs[0] for s in stored_sessions())
    assert cut.status == "finished" and cut.svg is None and cut.picture_facts["truncated"]
    assert failed.status == "failed" and failed.answer == ""
    header, *rows, _ = out.strip().splitlines()
    assert header.split()[-1] == "PICTURE"
    assert [row.split()[-1] for row in rows] == ["truncated", "—"], out
    assert rows[1].split()[-4:] == ["—"] * 4, "as its numbers say: nothing was written"
    assert run_command(["--help"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "truncated (an SVG began but was cut off inside its first tag)" in said
    assert "— (the run failed or was cancelled before its answer could be read)" in said


@dataclass
class KeyEchoingServer(VllmServer):
    """A server that writes the key it was sent into its picture's text or, with
    ``refuse``, into a 429 error ("invalid api key '…'")."""

    refuse: bool = False

    async def answer(
        self, request: Recorded, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if request.path != "/v1/chat/completions":
            return await super().answer(request, reader, writer)
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.refuse:
            return await send_json(writer, 429, {"error": {"message": f"invalid api key '{key}'"}})
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 100">'
            f'<text x="5" y="60" font-size="28">{key}</text></svg>'
        )
        await stream(writer, "sse", openai_frames(None, svg))


@dataclass
class RefusingGateway(VllmServer):
    """A vLLM behind a gateway that lists its models to anyone but answers every chat
    with ``status`` and ``error`` (a key it does not take, a model it does not have)."""

    status: int = 401
    error: str = "Incorrect API key provided"

    async def answer(
        self, request: Recorded, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if request.path != "/v1/chat/completions":
            return await super().answer(request, reader, writer)
        await send_json(writer, self.status, {"error": {"message": self.error}})


@pytest.mark.parametrize(
    ("status", "error", "for_good"),
    [
        (401, "Incorrect API key provided", "rejected the API key (401)"),
        (403, "key may not use this model", "rejected the API key (403)"),
        (404, "model 'qwen' not found, try pulling it first", "answered 404: model 'qwen' "),
        (404, "no route /v1/chat/completions", None),  # not the model: not said for good
        (429, "too many requests", None),
    ],
)
def test_an_attached_server_that_refuses_the_key_or_model_is_sent_one_sample(
    tmp_path: Path,
    env: pytest.MonkeyPatch,
    claude_server: AnthropicTestServer,
    status: int,
    error: str,
    for_good: str | None,
) -> None:
    """``--url`` with a key the server refuses (or a model it does not have): each of
    three samples was sent and failed alike. Now the first is, the later two are not
    sent and say why, and Claude runs all three. A failure that may pass (busy, 429)
    is asked again at each sample."""
    use_claude(env, claude_server)
    env.setenv("PELICAN_LOCAL_API_KEY", "a-key-the-gateway-refuses")
    with RefusingGateway(status=status, error=error) as gateway:
        args = ["--url", gateway.url, "--thinking", "off", "--samples", "3"]
        code, out, err = run(*args, "--out", str(tmp_path / "out"))
        chats = gateway.bodies("/v1/chat/completions")
    assert code == 1, err
    assert len(claude_server.requests) == 3, "Claude runs every sample"
    sessions = stored_sessions()
    assert [[r.status for r in s.runs_in("right")] for s in sessions] == [["finished"]] * 3
    left = [[r.status for r in s.runs_in("left")] for s in sessions]
    if for_good is None:
        assert len(chats) == 3 and left == [["failed"]] * 3, err
        assert "not sent" not in out + err
        return
    assert len(chats) == 1, f"the server was sent {len(chats)} chats"
    assert left == [["failed"], [], []], err
    why = f"not sent: the server at {gateway.url} {for_good}"
    assert err.count(f"left: not run: {why}") == 2, err
    assert f"local: 2 runs not sent: the server at {gateway.url} {for_good}" in out, out


@dataclass
class ServerThatLeaves(VllmServer):
    """A vLLM that answers its first chat, then stops listening (shut down between two
    samples): the next sample's check before its run cannot reach it."""

    async def answer(
        self, request: Recorded, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await super().answer(request, reader, writer)
        if request.path == "/v1/chat/completions" and self._stop is not None:
            self._stop.set()  # the answer is written: no connection is taken after it


def test_a_side_that_could_not_run_is_stored_as_a_failed_run_saying_why(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    """The attached server gone by sample 2: its pane was "not run: cannot reach …",
    Claude ran, and the session held Claude's run alone: ``sessions list`` said
    "finished", ``sessions show`` and the export had no left side and no reason. The
    left slot is now stored as a failed run that asked what it would have, "not run: …"
    its reason, counted once in the totals."""
    use_claude(env, claude_server)
    out_dir = tmp_path / "out"
    with ServerThatLeaves() as server:
        args = ["--url", server.url, "--thinking", "off", "--samples", "2"]
        code, out, err = run(*args, "--out", str(out_dir))
    assert code == 1, err
    reach = f"cannot reach {server.url}"
    assert re.search(rf"^  left: not run: .*{re.escape(reach)}", err, re.MULTILINE), err
    first, second = stored_sessions()
    assert [(r.slot, r.status) for r in first.runs] == [("left", "finished"), ("right", "finished")]
    assert [(r.slot, r.status) for r in second.runs] == [("left", "failed"), ("right", "finished")]
    left, asked = second.runs[0], first.runs[0]
    assert left.failure_reason is not None and left.failure_reason.startswith("not run: ")
    assert reach in left.failure_reason, left.failure_reason
    # What was asked for, as the run that went recorded it (without what the check
    # after that run found of its thinking switch); nothing ran.
    assert (left.backend, left.model_id) == (asked.backend, asked.model_id)
    assert left.settings == {key: asked.settings[key] for key in left.settings}, asked.settings
    assert left.settings["thinking"] is False and "thinking_check" not in left.settings
    assert left.model_info["url"] == server.url
    assert not left.answer and not left.thinking_text and left.svg is None and left.png is None
    assert left.timings == {} and left.usage == {}
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["totals"] == {
        "planned": 4, "runs": 4, "finished": 3, "failed": 1, "cancelled": 0,
    }  # fmt: skip
    assert "3 of 4 runs finished;" in out and "planned not run" not in out, out
    listed = subprocess.run(
        [sys.executable, "-m", "pelican_tui", "sessions", "list"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    [row] = [line for line in listed.stdout.splitlines() if line.split()[0] == str(second.id)]
    assert row.rstrip().endswith("left failed"), listed.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "pelican_tui", "sessions", "show", str(second.id)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "not run: " in shown.stdout and reach in shown.stdout, shown.stdout


def test_a_key_from_a_variable_you_name_is_in_no_record_picture_or_message(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """``local.url_api_key_env`` names the variable that holds the server's key: the
    redactor knows that key too, the stored picture is drawn from the SVG as stored
    (the key's pixels were in it), and a server's error quoting it is scrubbed."""
    key = "Pl4ntedGatewayKey99"
    env.setenv("PELICAN_LOCAL__URL_API_KEY_ENV", "MY_GATEWAY_KEY")
    env.setenv("MY_GATEWAY_KEY", key)
    args = ("--no-claude", "--thinking", "off")
    with KeyEchoingServer() as server:
        code, out, err = run("--url", server.url, *args, "--out", str(tmp_path / "drawn"))
    assert code == 0, err
    assert server.requests[-1].headers["authorization"] == f"Bearer {key}", "it was sent"
    [session] = stored_sessions()
    [left] = session.runs
    assert left.svg is not None and REDACTED in left.svg and left.png is not None
    with SvgRenderer() as renderer:
        as_stored = renderer.render_sync(left.svg, *PNG_SIZE).png
        as_written = renderer.render_sync(left.svg.replace(REDACTED, key), *PNG_SIZE).png
    assert as_stored is not None and as_written is not None
    assert pixels(left.png) == pixels(as_stored) != pixels(as_written)
    with KeyEchoingServer(refuse=True) as server:
        code, out, err = run("--url", server.url, *args, "--out", str(tmp_path / "refused"))
    assert code == 1 and f"invalid api key '{REDACTED}'" in err, err
    assert "\n  hint: left " in err and "the server is busy" in err, err
    assert "SVG: the answer is empty" not in err, "a failure that wrote nothing has no SVG to tell"
    written = [p.read_bytes() for p in [*tmp_path.rglob("*"), *data_files()] if p.is_file()]
    assert not any(key.encode() in data for data in written)
    assert key not in out + err


def pixels(png: bytes) -> tuple[tuple[int, int], bytes]:
    """A picture's size and RGB bytes, to compare pictures by."""
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
        return rgb.size, rgb.tobytes()


@pytest.mark.slow
def test_claude_model_flag_is_what_claude_is_asked_for(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    use_claude(env, claude_server)
    model = "claude-test-model-x"
    out_dir = tmp_path / "out"
    code, out, err = run("--claude-model", model, "--thinking", "off", *local_args(out_dir))
    assert code == 0, err
    [sent] = claude_server.requests
    assert sent.path == "/v1/messages"
    assert sent.body is not None and sent.body["model"] == model
    assert "thinking" not in sent.body or sent.body["thinking"].get("type") != "adaptive"

    [session] = stored_sessions()
    [left] = session.runs_in("left")
    [right] = session.runs_in("right")
    check_local_run(left, thinking=False)
    assert right.backend == "claude" and right.status == "finished", right.failure_reason
    assert right.model_id == model and right.model_info["model"] == model
    assert right.settings["thinking"] is False
    card = (out_dir / f"session-{session.id}" / "run-card.md").read_text()
    assert f"--claude-model {model} --thinking off" in card
    summary = json.loads((out_dir / "summary.json").read_text())
    assert {r["model_id"] for r in summary["sessions"][0]["runs"]} >= {model}
    assert model in out


@pytest.mark.slow
@pytest.mark.parametrize("asked_by", ["flag", "setting"])
def test_two_samples_are_two_sessions_on_one_server(
    tmp_path: Path, env: pytest.MonkeyPatch, asked_by: str
) -> None:
    """``--samples 2``, or without it the TUI's own ``ui.samples`` (one setting for both)."""
    out_dir = tmp_path / "out"
    samples = ["--samples", "2"]
    if asked_by == "setting":
        env.setenv("PELICAN_UI__SAMPLES", "2")
        samples = []
    code, out, err = run(*samples, "--no-claude", "--thinking", "off", *local_args(out_dir))
    assert code == 0, err
    assert err.count("llama-server: ready in") == 1, "one server for the whole batch"
    pid = server_pid(err)
    assert wait_until(lambda: not pid_alive(pid), 10), "llama-server outlived the run"

    sessions = stored_sessions()
    assert len(sessions) == 2
    for sample, session in enumerate(sessions, start=1):
        assert f"sample {sample}/2" in session.title and "no thinking switch" in session.title
        [left] = session.runs
        check_local_run(left, thinking=False)
        assert (out_dir / f"session-{session.id}" / "session.json").is_file()
    first, second = (session.runs[0] for session in sessions)
    assert first.finished_at is not None and first.finished_at <= second.started_at

    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["exit_code"] == 0
    totals = {"planned": 2, "runs": 2, "finished": 2, "failed": 0, "cancelled": 0}
    assert summary["totals"] == totals
    assert [entry["id"] for entry in summary["sessions"]] == [s.id for s in sessions]
    assert out.strip().splitlines()[-1].startswith("2 of 2 runs finished; 2 sessions exported")


# --------------------------------------------------------------------------- prompt sets

SECRET_SET = """
[sets.secret]
private = true
prompts = [
  { name = "narwhal", text = "Generate an SVG of a narwhal juggling teacups" },
  { name = "okapi", text = "Generate an SVG of an okapi on stilts" },
]

[sets.open]
prompts = [{ name = "heron", text = "Generate an SVG of a heron on a unicycle" }]
"""
SECRET_WORDS = ("narwhal juggling", "teacups", "okapi on stilts", "stilts")


def write_prompt_sets(text: str) -> Path:
    path = locations.prompt_sets_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--set", "open", "--prompt", "x"], "argument --prompt: not allowed with argument --set"),
        (
            ["--set", "nope"],
            "--set nope: no prompt set of that name; "
            "known sets: pelican, secret, open (built in, and from ",
        ),
    ],
)
def test_a_set_is_one_source_of_prompts_and_must_exist(
    argv: list[str], expected: str, tmp_path: Path
) -> None:
    write_prompt_sets(SECRET_SET)
    code, out, err = run(*argv, "--no-claude", "--out", str(tmp_path / "out"))
    assert code == 2 and out == ""
    assert expected in err
    assert not (tmp_path / "out").exists(), "nothing ran, so nothing should be written"


def test_a_broken_prompts_file_exits_2_naming_the_file_and_the_entry(tmp_path: Path) -> None:
    path = write_prompt_sets('[sets.a]\nprompts = [{ name = "x" }]\n')
    code, _, err = run("--set", "a", "--no-claude", "--out", str(tmp_path / "out"))
    assert code == 2
    assert err.strip() == f"pelican-tui run: --set a: {path}: sets.a.prompts[1] (x): has no text"
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_private_set_runs_every_prompt_and_leaves_no_text_in_the_output(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    use_claude(env, claude_server)
    write_prompt_sets(SECRET_SET)
    out_dir = tmp_path / "out"
    code, out, err = run("--set", "secret", "--thinking", "off", *local_args(out_dir))
    assert code == 0, err
    header, *rows, footer = out.strip().splitlines()
    assert footer.startswith("4 of 4 runs finished; 2 sessions exported")
    # Each row says which prompt of the set it ran, by name (it said only the session).
    assert header.split()[:3] == ["SESSION", "PROMPT", "SAMPLE"]
    assert [row.split()[1] for row in rows] == ["narwhal", "narwhal", "okapi", "okapi"]
    assert "prompt set secret (2 prompts, private: narwhal, okapi)" in err
    assert "[1/2] prompt narwhal, sample 1/1" in err and "[2/2] prompt okapi" in err

    # Each prompt went to both models, as written, and was stored as it is.
    sent = [r.body["messages"][0]["content"] for r in claude_server.requests if r.body]
    assert sent == [
        "Generate an SVG of a narwhal juggling teacups",
        "Generate an SVG of an okapi on stilts",
    ]
    sessions = stored_sessions()
    assert [s.prompt for s in sessions] == sent
    assert [(s.prompt_set, s.private) for s in sessions] == [("secret", True)] * 2
    title = "secret/narwhal · local vs claude · no switch vs thinking off"
    assert sessions[0].title.startswith(title), sessions[0].title
    for session in sessions:
        assert [run.slot for run in session.runs] == ["left", "right"]
        check_local_run(session.runs_in("left")[0], thinking=False)

    # Nothing written under --out holds the prompts, answers or SVGs.
    written = [path for path in out_dir.rglob("*") if path.is_file()]
    assert {path.name for path in written} >= {"summary.json", "index.html", "session.json"}
    assert not [path for path in written if path.suffix == ".svg"]
    for path in written:
        text = path.read_bytes().decode("utf-8", errors="replace").lower()
        for words in SECRET_WORDS:
            assert words not in text, f"{words!r} leaked into {path}"
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["prompt"] is None
    assert summary["prompt_set"] == {
        "name": "secret",
        "private": True,
        "prompts": [{"name": "narwhal"}, {"name": "okapi"}],
    }
    assert [entry["prompt_name"] for entry in summary["sessions"]] == ["narwhal", "okapi"]
    card = (out_dir / f"session-{sessions[0].id}" / "run-card.md").read_text()
    assert "pelican-tui run --set secret" in card


TINY_SET = """\
[sets.tiny]
prompts = [
  { name = "cat", text = "Generate an SVG of a cat on a skateboard" },
  { name = "dog", text = "Generate an SVG of a dog on a kite" },
]
"""


@pytest.mark.slow
def test_set_slash_prompt_runs_that_one_prompt_of_the_set(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """``run --set tiny/cat`` was refused ("no prompt set of that name") where
    leaderboard's ``--prompt`` takes ``animals/heron``: no way to run one prompt of a
    set. It runs that prompt alone, recorded as the set's."""
    write_prompt_sets(TINY_SET)
    out_dir = tmp_path / "out"
    code, _, err = run(
        "--set", "tiny/cat", "--no-claude", "--thinking", "off", *local_args(out_dir)
    )
    assert code == 0, err
    assert "prompt set tiny (1 prompt: cat)" in err
    [session] = stored_sessions()
    assert session.prompt == "Generate an SVG of a cat on a skateboard"
    assert session.prompt_set == "tiny" and session.title.startswith("tiny/cat · ")
    summary = json.loads((out_dir / "summary.json").read_text())
    assert [entry["prompt_name"] for entry in summary["sessions"]] == ["cat"]


def test_a_prompt_that_is_a_sets_prompt_name_says_how_to_run_that_prompt(
    tmp_path: Path,
) -> None:
    """``run --prompt cat`` ran the text "cat", where leaderboard's and judge's
    ``--prompt cat`` mean the set's prompt named cat, without a word. The text is still
    run, and a note says ``--set tiny/cat`` runs the set's prompt; a sentence gets none."""
    write_prompt_sets(TINY_SET)
    nowhere = f"http://127.0.0.1:{llama_process.free_port()}"  # exits 3 once it is said
    for prompt in ("cat", "tiny/cat", "Generate an SVG of a cat on a skateboard"):
        out_dir = tmp_path / f"out-{len(prompt)}"
        code, _, err = run(
            "--prompt", prompt, "--url", nowhere, "--no-claude", "--out", str(out_dir)
        )
        assert code == 3, err
        note = (
            f"pelican-tui run: note: this runs the text {prompt!r}; to run the prompt set's "
            "prompt of that name use --set tiny/cat"
        )
        assert (note in " ".join(err.split())) is (
            prompt != "Generate an SVG of a cat on a skateboard"
        ), err


# --------------------------------------------------------------------------- Ctrl-C


def _stop_run(
    tmp_path: Path, env: pytest.MonkeyPatch, signals: list[signal.Signals]
) -> tuple[int, str, str, Path, float]:
    """``pelican-tui run --samples 2`` against a slow Claude, sent ``signals`` (10 ms
    apart) once Claude's request is in flight: (exit status, stdout, stderr, --out,
    seconds from the first signal to the exit)."""
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.5) as claude_server:
        use_claude(env, claude_server)
        out_dir = tmp_path / "out"
        err_file = tmp_path / "stderr.txt"
        with running(["run", "--samples", "2", *local_args(out_dir)], err_file) as proc:
            # Claude streams for ~20 s; stop it once its request is in flight.
            assert claude_server.wait_for_requests(1, timeout_s=120), err_file.read_text()
            stopped_at = time.monotonic()
            for signum in signals:
                proc.send_signal(signum)
                time.sleep(0.01)
            out, _ = proc.communicate(timeout=30)
    took = time.monotonic() - stopped_at
    return proc.returncode, out, err_file.read_text(), out_dir, took


@pytest.mark.slow
def test_ctrl_c_cancels_cleanly_and_stops_the_server(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    code, out, err, out_dir, took = _stop_run(tmp_path, env, [signal.SIGINT])
    assert code == 130, err
    assert took < 15, f"Ctrl-C took {took:.1f} s"
    pid = server_pid(err)
    assert wait_until(lambda: not pid_alive(pid), 5), "llama-server survived Ctrl-C"
    assert "interrupted" in err

    [session] = stored_sessions()  # the second sample never started
    statuses = {run.slot: run.status for run in session.runs}
    assert statuses["right"] == "cancelled"
    assert statuses["left"] in ("finished", "cancelled")
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["exit_code"] == 130
    assert summary["totals"]["cancelled"] >= 1
    assert (out_dir / f"session-{session.id}" / "session.json").is_file()
    assert "cancelled" in out


def test_ctrl_c_before_the_model_is_ready_says_what_was_planned(tmp_path: Path) -> None:
    """Ctrl-C while the server was still being waited for (a big model loading): the
    summary said "0 of 0 runs finished", and summary.json that 0 were planned."""
    import socket

    held: list[socket.socket] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:  # answers nothing
        port = listener.getsockname()[1]
        threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
        out_dir = tmp_path / "out"
        argv = ["run", "--no-claude", "--url", f"http://127.0.0.1:{port}", "--out", str(out_dir)]
        with running(argv, tmp_path / "err.txt") as proc:
            assert wait_until(lambda: bool(held), 20), "run never asked the server"
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=20)
    for connection in held:
        connection.close()
    assert proc.returncode == 130
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["totals"]["planned"] == 2 and summary["totals"]["runs"] == 0
    assert "0 of 0" not in out
    assert out.splitlines()[-1] == "None of the 2 planned runs ran; no session exported."


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signals", "code", "said"),
    [
        pytest.param([signal.SIGINT, signal.SIGINT], 130, "interrupted", id="ctrl-c-twice"),
        pytest.param([signal.SIGHUP], 129, "hung up", id="hang-up"),
    ],
)
def test_a_second_ctrl_c_or_a_hang_up_still_leaves_a_true_summary(
    tmp_path: Path, env: pytest.MonkeyPatch, signals: list[signal.Signals], code: int, said: str
) -> None:
    """Ctrl-C twice skipped the summary (summary.json said "running", no table), and a
    hang-up (the terminal or ssh closing) killed the batch with nothing written."""
    exit_code, out, err, out_dir, _ = _stop_run(tmp_path, env, signals)
    assert exit_code == code, err
    assert "Traceback" not in err
    pid = server_pid(err)
    assert wait_until(lambda: not pid_alive(pid), 5), "llama-server survived"
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["status"] == said and summary["exit_code"] == code
    [session] = summary["sessions"]
    exported = (out_dir / f"session-{session['id']}" / "session.json").is_file()
    assert exported == (session["export_dir"] is not None)
    if not exported:  # the second Ctrl-C came before its export began
        assert any("sessions export" in note for note in session["notes"])
    assert "runs finished" in out
    # Its runs are stored as cancelled: the summary says so ("No runs." when not exported).
    assert summary["totals"]["runs"] == len(session["runs"]) >= 1, summary["totals"]
    assert "No runs." not in out


def _first_local_run_finished() -> bool:
    """Whether the first session's left (local) run is stored as finished."""
    try:  # the file is there a moment before its schema
        sessions = stored_sessions()
    except SessionStoreMissing:
        return False
    runs = sessions[0].runs_in("left") if sessions else []
    return bool(runs) and runs[0].status == "finished"


@pytest.mark.slow
def test_a_run_that_finished_before_ctrl_c_is_said_as_every_run_is(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during ``--samples 3`` while Claude still wrote: the local run had
    finished (the table said so) but its "left local (…): finished, …" line was never
    said; a session's runs were said only once both had ended. It is said once now,
    and Claude's run, cancelled before its answer was read, has no picture word."""
    # Claude must still be writing when the local run ends: its answer takes ~48 s (24
    # pieces, 2 s apart), the local run is short (48 tokens). At 0.5 s apart and the
    # default limit, a loaded CI machine once ended Claude's answer first.
    env.setenv("PELICAN_LOCAL__MAX_TOKENS", "48")
    with AnthropicTestServer(scenario="slow", chunk_delay_s=2.0) as claude_server:
        use_claude(env, claude_server)
        out_dir = tmp_path / "out"
        err_file = tmp_path / "stderr.txt"
        argv = ["run", "--samples", "3", "--thinking", "off", *local_args(out_dir)]
        with running(argv, err_file) as proc:
            assert wait_until(_first_local_run_finished, 120), err_file.read_text()
            assert claude_server.wait_for_requests(1, timeout_s=30)
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=60)
    err = err_file.read_text()
    assert proc.returncode == 130, err
    said = [line for line in err.splitlines() if re.match(r"  left local \(.+\): ", line)]
    assert len(said) == 1 and ": finished, " in said[0], err
    assert not re.search(r"^  right claude \(.+\): ", err, re.MULTILINE), "cancelled: said below"
    [left] = [row.split() for row in out.splitlines() if " left " in row]
    [right] = [row.split() for row in out.splitlines() if " right " in row]
    assert "finished" in left and right[-1] == "—" and "cancelled" in right, out


@pytest.mark.slow
def test_a_server_killed_between_samples_stops_the_batch_and_fails(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """llama-server SIGKILLed after sample 1's local run: run exited 0 with "3 of 3 runs
    finished", the local runs it never made left out of the count (and then ran sample
    2's Claude run against a pane that could not run)."""
    # The kill must land inside sample 1: its local run is short (48 tokens) and Claude's
    # answer takes ~36 s (24 pieces, 1.5 s apart), so sample 2 has not begun (at 0.5 s
    # apart a loaded machine may end Claude's answer before the local run).
    env.setenv("PELICAN_LOCAL__MAX_TOKENS", "48")
    with AnthropicTestServer(scenario="slow", chunk_delay_s=1.5) as claude_server:
        use_claude(env, claude_server)
        out_dir = tmp_path / "out"
        err_file = tmp_path / "stderr.txt"
        argv = ["run", "--samples", "2", "--thinking", "off", *local_args(out_dir)]
        with running(argv, err_file) as proc:
            assert wait_until(_first_local_run_finished, 120), err_file.read_text()
            assert claude_server.wait_for_requests(1, timeout_s=30)
            os.kill(server_pid(err_file.read_text()), signal.SIGKILL)
            out, _ = proc.communicate(timeout=120)
    err = err_file.read_text()
    assert proc.returncode == 1, err
    # Stopped after sample 1, as the server went down in it: sample 2 (Claude alone
    # against a pane that cannot run) is not begun.
    assert "left: llama-server exited unexpectedly" in err and "stopping the batch" in err
    assert "[2/2]" not in err, err
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["exit_code"] == 1 and "llama-server exited" in summary["error"]
    assert summary["totals"]["planned"] == 4 and summary["totals"]["runs"] == 2
    assert "(2 of the 4 planned not run)" in out.strip().splitlines()[-1]


@pytest.mark.slow
def test_a_server_killed_mid_run_is_said_once_with_advice_for_run(tmp_path: Path) -> None:
    """It printed "llama-server: llama-server exited unexpectedly (killed by SIGKILL):
    [pelican-tui] llama-server exited unexpectedly (killed by SIGKILL)", and "— restart
    the server", which run has no way to do."""
    out_dir = tmp_path / "out"
    err_file = tmp_path / "stderr.txt"
    argv = ["run", "--no-claude", "--thinking", "on", "--samples", "2", *local_args(out_dir)]
    with running(argv, err_file) as proc:
        assert wait_until(lambda: "  session 1" in err_file.read_text(), 120)
        os.kill(server_pid(err_file.read_text()), signal.SIGKILL)
        proc.communicate(timeout=120)
    err = err_file.read_text()
    assert proc.returncode == 1, err
    said = [line for line in err.splitlines() if line.startswith("llama-server exited")]
    assert said == [
        "llama-server exited unexpectedly (killed by SIGKILL); the batch stops without it "
        "(run does not restart it): what finished is kept, run it again for the rest"
    ], err
    assert "[pelican-tui]" not in err and "llama-server: llama-server" not in err
    assert "restart the server" not in err
    assert "left local (no switch): failed" in err or "left: not run" in err, err
    # Where the kill lands (mid-stream, or just after the run ended, before the server's
    # death is seen) is a race here; that a batch stops at once when its server goes down
    # mid-comparison is checked without one by the between-samples test above.
    assert "stopping the batch" in err, err


def test_a_server_that_cannot_start_is_said_once(tmp_path: Path) -> None:
    """llama-server refusing a flag: "llama-server: llama-server exited during start-up
    (exit 1): error: invalid argument: --bogus: error: invalid argument: --bogus", then
    the same as run's could-not-start line."""
    code, _, err = run(
        "--no-claude", "--thinking", "on", "--server-arg=--bogus", *local_args(tmp_path / "out")
    )
    assert code == 3, err
    said = [line for line in err.splitlines() if "exited during start-up" in line]
    assert said == [
        "pelican-tui run: local model could not start: llama-server exited during start-up "
        "(exit 1): error: invalid argument: --bogus"
    ], err
    assert "  | error: invalid argument: --bogus" in err.splitlines(), "the end of its log"


def test_an_internal_error_is_one_line_its_traceback_logged_and_the_batch_kept(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """A bug in run printed a Python traceback and left llama-server to the exit
    handlers, the session it had made neither exported nor in a summary.json."""

    def broken(result: object) -> str | None:
        raise RuntimeError("a bug after the step")

    env.setattr(headless, "stop_reason", broken)  # the engine's rule, as run calls it
    out_dir = tmp_path / "out"
    code, out, err = run("--no-claude", "--thinking", "on", *local_args(out_dir))
    assert code == 1, err
    log = locations.error_log_file()
    assert err.splitlines()[-1] == (
        "pelican-tui run: internal error: RuntimeError: a bug after the step; "
        f"the traceback is in {log}"
    )
    assert "Traceback" not in err
    logged = log.read_text()
    assert "Traceback (most recent call last)" in logged and "in broken" in logged
    assert logged.rstrip().endswith("RuntimeError: a bug after the step")
    pid = server_pid(err)
    assert wait_until(lambda: not pid_alive(pid), 5), "llama-server survived the bug"

    [session] = stored_sessions()
    assert [stored.status for stored in session.runs] == ["finished"]
    assert (out_dir / f"session-{session.id}" / "session.json").is_file()
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["status"] == "internal error" and summary["exit_code"] == 1
    assert summary["error"] == "internal error: RuntimeError: a bug after the step"
    assert "1 run finished; 1 session exported" in out


def test_a_bug_while_loading_settings_is_an_internal_error_not_invalid_settings(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """Every exception from loading the settings read "invalid settings" (exit 2),
    a bug's too, which then looked like the user's mistake."""
    from pelican_tui.backends import settings as settings_module

    def broken(overrides: object = None) -> object:
        raise KeyError("a bug in the settings code")

    env.setattr(settings_module, "load_settings", broken)
    code, _, err = run("--no-claude", *local_args(tmp_path / "out"))
    assert code == 1, err
    assert "invalid settings" not in err
    assert err.splitlines()[-1].startswith(
        "pelican-tui run: internal error: KeyError: 'a bug in the settings code'; the traceback"
    ), err


def test_a_bug_in_the_progress_lines_is_said_once_and_the_runs_kept(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """The engine kept the runs going when run's progress printing raised, and run
    never said so: the live lines just stopped."""
    from pelican_tui.cli.run_progress import Progress

    def broken(self: Progress, label: str, event: object) -> None:
        raise ValueError("a drawing bug")

    env.setattr(Progress, "run_event", broken)
    code, out, err = run("--no-claude", "--thinking", "on", *local_args(tmp_path / "out"))
    assert code == 0, err
    warning = "  warning: the progress display failed: ValueError: a drawing bug"
    assert (out + err).splitlines().count(warning) == 1, out + err
    [session] = stored_sessions()
    assert [stored.status for stored in session.runs] == ["finished"]


def test_a_store_repaired_on_opening_is_said_once_and_is_no_failure(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """run moved a damaged store aside and saved every run in a new one, then exited 1
    ("a session could not be saved") and said the repair twice."""
    db = locations.sessions_db()
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(secrets.token_bytes(8192))
    code, out, err = run("--no-claude", "--thinking", "on", *local_args(tmp_path / "out"))
    assert code == 0, err
    said = [line for line in (out + err).splitlines() if "The session store was damaged" in line]
    assert len(said) == 1 and said[0].startswith("sessions: "), said
    [session] = stored_sessions()
    assert [stored.status for stored in session.runs] == ["finished"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["exit_code"] == 0 and summary["error"] is None, summary


def test_a_summary_that_cannot_be_written_is_said_in_words_and_not_claimed(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """A summary.json that could not be written (a full disk; here a folder in its
    place) was said as "[Errno 21] Is a directory: '…/.summary.json.x1y2.tmp' -> …",
    and the last line still pointed at it: "exported to OUT (summary.json)"."""
    out_dir = tmp_path / "out"
    (out_dir / "summary.json").mkdir(parents=True)
    code, out, err = run("--no-claude", "--thinking", "on", "--force", *local_args(out_dir))
    assert code == 1, err
    said = [line for line in err.splitlines() if "summary.json" in line]
    assert said == ["pelican-tui run: could not write summary.json: Is a directory"], err
    assert out.splitlines()[-1] == f"1 of 1 run finished; 1 session exported to {out_dir}."
    assert (out_dir / "summary.json").is_dir()


def test_the_headless_module_does_not_import_textual() -> None:
    code = (
        "import sys, pelican_tui.cli.run, pelican_tui.backends.engine.comparison; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_image')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_an_unknown_set_says_where_sets_come_from(tmp_path: Path) -> None:
    """Without a prompts.toml, the known sets are the built-in ones: it said they came
    "from" a file that did not exist."""
    from pelican_tui.backends import locations
    from pelican_tui.cli import main

    assert not locations.prompt_sets_file().exists()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["run", "--set", "nope", "--out", str(tmp_path / "out")]) == 2
    assert "known sets: pelican (built in; no " in err.getvalue(), err.getvalue()


def test_force_keeps_the_earlier_summary_beside_the_new_one(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """``--force`` into a folder an earlier batch wrote: its summary.json was replaced by
    one of the new batch alone, while the earlier session folders stayed beside the new
    ones, described by nothing. The earlier summary is kept now, under its start time."""
    out_dir = tmp_path / "out"
    code, _, err = run("--no-claude", "--thinking", "on", *local_args(out_dir))
    assert code == 0, err
    earlier = json.loads((out_dir / "summary.json").read_text())
    code, _, err = run("--no-claude", "--thinking", "off", "--force", *local_args(out_dir))
    assert code == 0, err
    stamp = datetime.fromisoformat(earlier["started_at"]).strftime("%Y%m%dT%H%M%SZ")
    kept = out_dir / f"summary-{stamp}.json"
    assert json.loads(kept.read_text()) == earlier
    assert f"the earlier summary.json in {out_dir} is kept as {kept.name}" in err, err
    latest = json.loads((out_dir / "summary.json").read_text())
    [earlier_session], [session] = earlier["sessions"], latest["sessions"]
    assert session["id"] != earlier_session["id"] and latest["thinking"] == ["off"]
    folders = {f"session-{earlier_session['id']}", f"session-{session['id']}"}
    assert {path.name for path in out_dir.iterdir() if path.is_dir()} == folders


def test_force_never_replaces_a_session_folder_an_earlier_batch_left(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """A batch from another data folder (or after a damaged store was moved aside: its
    ids start again at 1), written with ``--force`` into a folder where the earlier
    batch left ``session-1``: the new session 1 replaced it, pictures and all, while
    the kept earlier summary still pointed at it. It goes beside it now."""
    out_dir = tmp_path / "out"
    env.setenv("PELICAN_HOME", str(tmp_path / "first"))
    code, _, err = run("--no-claude", "--thinking", "on", *local_args(out_dir))
    assert code == 0, err
    before = {path.name: path.read_bytes() for path in (out_dir / "session-1").iterdir()}
    env.setenv("PELICAN_HOME", str(tmp_path / "second"))
    code, _, err = run("--no-claude", "--thinking", "off", "--force", *local_args(out_dir))
    assert code == 0, err
    after = {path.name: path.read_bytes() for path in (out_dir / "session-1").iterdir()}
    assert after == before, "the earlier batch's session folder was replaced"
    [session] = json.loads((out_dir / "summary.json").read_text())["sessions"]
    assert session["id"] == 1 and session["export_dir"] == "session-1-2"
    exported = json.loads((out_dir / "session-1-2" / "session.json").read_text())
    assert [r["settings"]["thinking"] for r in exported["runs"]] == [False]
    assert f"exported to {out_dir / 'session-1-2'} (session-1 holds an earlier export" in err


def test_the_summary_table_keeps_its_columns_in_line_under_wide_characters() -> None:
    """A model or a prompt named in Chinese or with an emoji is twice as wide on a
    terminal as its length: the table padded by length, and pushed every column after
    it out of line by one cell per such character."""
    from rich.cells import cell_len

    from pelican_tui.cli.run_summary import SessionOutcome, summary_table

    outcomes = []
    with SessionStore.open() as store:
        for name, model in (("鹈鹕骑车", "鹈鹕🐦.gguf"), ("owl", "owl.gguf")):
            session = store.create_session("Generate an SVG of a pelican riding a bicycle")
            run_id = store.start_run(session.id, "left", "local", model, {}, {}, {})
            store.finish_run(run_id, thinking_text="", answer="no", svg=None, png=None,
                             timings={"total_s": 1.0}, usage={"output_tokens": 7})  # fmt: skip
            outcome = SessionOutcome(session.id, 1, "on", session=store.get_session(session.id))
            outcome.prompt_name = name
            outcomes.append(outcome)
    lines = summary_table(outcomes, 1).splitlines()

    def column(line: str, word: str) -> int:  # where a column starts, in cells
        return cell_len(line[: line.index(word)])

    assert len(lines) == 3, lines
    for header, cells in (("SAMPLE", ("1/1",) * 2), ("SLOT", ("left",) * 2),
                          ("STATUS", ("finished",) * 2)):  # fmt: skip
        starts = {column(line, word) for line, word in zip(lines, (header, *cells), strict=True)}
        assert len(starts) == 1, "\n".join(lines)


def _stored_outcomes(samples: int, sides: tuple[tuple[str, str, str, str | None], ...]) -> list:
    """A batch's outcomes as ``run`` stores them: ``samples`` samples in both thinking
    modes, one run a side (slot, backend, model, effort); the third sample's left
    run cancelled, the second's answers without a picture."""
    from pelican_tui.cli.run_summary import SessionOutcome

    outcomes = []
    with SessionStore.open() as store:
        for sample in range(1, samples + 1):
            for thinking in (True, False):
                session = store.create_session("Generate an SVG of a pelican riding a bicycle")
                for slot, backend, model, effort in sides:
                    settings = {"thinking": thinking, "thinking_ran": thinking, "effort": effort}
                    run_id = store.start_run(session.id, slot, backend, model, {}, settings, {})
                    store.finish_run(
                        run_id,
                        status="cancelled" if sample == 3 and slot == "left" else "finished",
                        answer="<svg/>",
                        svg="<svg/>" if sample != 2 else None,
                        timings={"generation_tokens_per_s": 123.4, "time_to_first_token_s": 12.5},
                        usage={"output_tokens": 12345},
                    )
                stored = store.get_session(session.id)
                mode = "on" if thinking else "off"
                outcomes.append(SessionOutcome(session.id, sample, mode, session=stored))
    return outcomes


LOCAL_AND_CLAUDE = (
    ("left", "local", "Qwen3.5-2B-UD-Q4_K_XL.gguf", None),
    ("right", "claude", "claude-opus-4-7", "high"),
)


@pytest.mark.parametrize("width", [160, 80, 40])
def test_the_summary_table_keeps_every_number_however_narrow(width: int) -> None:
    """``run --samples 3 --thinking both`` on an 80-column terminal: the time to the
    first token, then tokens/s, were left out to fit (README: numbers are never cut)
    while the model's name still took its cells; at 40 columns only the tokens were
    left. Every number stays now, the model of each side said once above the table,
    and the SLOT tells the runs apart."""
    from rich.cells import cell_len

    from pelican_tui.cli.run_summary import summary_table

    outcomes = _stored_outcomes(3, LOCAL_AND_CLAUDE)
    assert cell_len(summary_table(outcomes, 3).splitlines()[0]) > 80, "too narrow to test"
    lines = summary_table(outcomes, 3, width).splitlines()
    assert max(cell_len(line) for line in lines) <= width, "\n".join(lines)
    at = next(i for i, line in enumerate(lines) if line.startswith("SESSION"))
    header, rows = lines[at].split(), lines[at + 1 :]
    for kept in ("SESSION", "TOKENS", "TOK/S", "TTFT"):
        assert kept in header, "\n".join(lines)
    assert len(rows) == 12 and all("12345  123.4  12.50s" in row for row in rows), rows
    said = " ".join(lines[:at])
    for model in ("Qwen3.5-2B-UD-Q4_K_XL.gguf", "claude-opus-4-7"):  # whole, in the table or above
        assert model in said or any(model in row for row in rows), "\n".join(lines)
    apart = "SLOT" if "SLOT" in header else "MODEL"
    assert apart in header, "\n".join(lines)
    assert len({(row.split()[0], row.split()[header.index(apart)]) for row in rows}) == 12, rows
    if width >= 80:
        for kept in ("SAMPLE", "THINKING", "STATUS", "PICTURE"):
            assert kept in header, "\n".join(lines)
        assert "cancelled" in "\n".join(rows), "\n".join(lines)


def test_at_40_columns_the_summary_still_tells_left_from_right() -> None:
    """``run --no-claude`` at 40 columns: both sides ran the one model with no thinking
    switch, the model went above the table and the SLOT was left out, so the two rows
    (``1  no switch  200  no SVG``) could not be told apart; the numbers were gone too."""
    from rich.cells import cell_len

    from pelican_tui.cli.run_summary import SessionOutcome, summary_table

    with SessionStore.open() as store:
        session = store.create_session("Generate an SVG of a pelican riding a bicycle")
        for slot, rate in (("left", 121.2), ("right", 98.7)):
            run_id = store.start_run(session.id, slot, "local", "SmolLM2-135M-Instruct.Q4_1.gguf",
                                     {}, {}, {})  # fmt: skip
            store.finish_run(run_id, answer="no", svg=None, timings={
                "generation_tokens_per_s": rate, "time_to_first_token_s": 1.06},
                usage={"output_tokens": 200})  # fmt: skip
        outcomes = [SessionOutcome(session.id, 1, "on", session=store.get_session(session.id))]
    lines = summary_table(outcomes, 1, 40).splitlines()
    assert max(cell_len(line) for line in lines) <= 40, "\n".join(lines)
    assert lines[-3].split() == ["SESSION", "SLOT", "TOKENS", "TOK/S", "TTFT"], "\n".join(lines)
    assert lines[-2].split() == ["1", "left", "200", "121.2", "1.06s"], "\n".join(lines)
    assert lines[-1].split() == ["1", "right", "200", "98.7", "1.06s"], "\n".join(lines)
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in "\n".join(lines[:-3]), "\n".join(lines)


def test_a_ttft_from_a_prompt_partly_cached_is_marked_and_said_why(tmp_path: Path) -> None:
    """A server that keeps the prompts it read (Ollama, LM Studio, vLLM: none takes a
    field that turns it off for one request) read 1 token of 62 for the second run:
    its TTFT, 0.05 s beside 1.04 s, stood in the table as if the two compared."""
    from pelican_tui.cli.run_summary import SessionOutcome, print_summary

    outcomes = []
    with SessionStore.open() as store:
        session = store.create_session("Generate an SVG of a pelican riding a bicycle")
        for slot, read, ttft in (("left", 62, 1.04), ("right", 1, 0.05)):
            run_id = store.start_run(session.id, slot, "local", "qwen3:30b", {}, {}, {})
            store.finish_run(
                run_id,
                answer="no",
                svg=None,
                png=None,
                timings={"time_to_first_token_s": ttft, "prompt_tokens": read},
                usage={"input_tokens": 62, "output_tokens": 7},
            )
        stored = store.get_session(session.id)
    outcomes.append(SessionOutcome(session.id, 1, "off", session=stored))
    out = io.StringIO()
    print_summary(out, outcomes, 1, tmp_path)
    lines = out.getvalue().splitlines()
    [left] = [line for line in lines if " left " in line]
    [right] = [line for line in lines if " right " in line]
    assert "1.04s" in left.split() and "*0.05s" in right.split(), lines
    assert lines[3].startswith("* part of the prompt came from the server's cache"), lines


def test_the_live_progress_line_is_cut_to_the_terminal_in_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The live line was cut by length: one with wide characters ran past the edge of
    the terminal, wrapped, and every redraw left a line behind."""
    from rich.cells import cell_len

    from pelican_tui.cli.run_progress import Progress

    monkeypatch.setenv("COLUMNS", "40")
    stream = io.StringIO()
    progress = Progress(stream, live=True)
    progress.status("left", "left 鹈鹕🐦.gguf (on): 120 tok (80 thinking), 31.5 tok/s 鹈鹕骑车")
    drawn = stream.getvalue().rsplit("\r\x1b[2K", 1)[-1]
    assert drawn.endswith("…") and drawn.startswith("left 鹈鹕"), drawn
    assert 38 <= cell_len(drawn) <= 39, drawn


def test_the_live_line_fits_the_terminal_its_on_when_the_table_goes_to_a_file(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    """``pelican-tui run ... > table.txt`` on an 80-column terminal: the live line was cut
    to the width of standard output, not a terminal, so to 99 cells; it wrapped, and
    each redraw left its first half behind. It is cut to stderr's terminal now."""
    import fcntl
    import pty
    import struct
    import termios

    from rich.cells import cell_len

    claude_server.scenario = "slow"
    claude_server.chunk_delay_s = 0.3
    use_claude(env, claude_server)
    env.setenv("PELICAN_LOCAL__MAX_TOKENS", "400")
    env.delenv("COLUMNS", raising=False)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with (tmp_path / "table.txt").open("w") as table:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pelican_tui", "run", *local_args(tmp_path / "out")],
            stdout=table,
            stderr=slave,
            env=os.environ.copy(),
        )
    os.close(slave)
    shown = b""
    try:
        while True:  # drained as it comes, or the child blocks on a full terminal
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed it: EIO on Linux
                break
            if not chunk:
                break
            shown += chunk
        assert proc.wait(60) in (0, 1)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # A redraw: "\r\x1b[2K" and the line, up to the next; a plain line ends in "\r\n".
    draws = [d.rstrip("\r") for d in shown.decode().split("\x1b[2K")[1:] if "\n" not in d]
    assert any("│" in d for d in draws), "both panes were never live together"
    too_wide = [d for d in draws if cell_len(d) > 79]
    assert not too_wide, too_wide[:3]


def test_an_earlier_summary_is_kept_under_a_name_no_other_holds(tmp_path: Path) -> None:
    """A second and third ``--force`` batch into one folder keep every earlier summary;
    one that is not a summary (or a FIFO, never opened) is kept by when it was written."""
    from pelican_tui.cli.run_summary import keep_earlier_summary

    assert keep_earlier_summary(tmp_path) is None
    earlier = '{"format": "pelican-tui-run-summary", "started_at": "2026-12-05T02:16:30+00:00"}'
    names = []
    for _ in range(2):
        (tmp_path / "summary.json").write_text(earlier)
        kept = keep_earlier_summary(tmp_path)
        assert kept is not None and kept.read_text() == earlier
        names.append(kept.name)
    assert names == ["summary-20261205T021630Z.json", "summary-20261205T021630Z-2.json"]
    os.mkfifo(tmp_path / "summary.json")
    os.utime(tmp_path / "summary.json", (0, 0))
    kept = keep_earlier_summary(tmp_path)
    assert kept is not None and kept.name == "summary-19700101T000000Z.json"
    assert not (tmp_path / "summary.json").exists()


def test_run_fits_an_80_column_terminal_and_keeps_every_column_in_a_pipe(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    """Over SSH at 80 columns the summary table was 110 cells wide: every row wrapped in
    two, and so did the result lines on stderr, in the middle of a word. Now the
    table fits (the model every run had is said once above it, no number cut) and
    the lines fold between words; in a pipe without ``COLUMNS`` the table is whole."""
    from rich.cells import cell_len

    env.setenv("COLUMNS", "80")
    code, out, err = run("--no-claude", "--thinking", "both", *local_args(tmp_path / "narrow"))
    assert code == 0, err
    lines = out.splitlines()
    assert max(cell_len(line) for line in lines) <= 80, out
    assert lines[0] == f"All runs: SAMPLE 1/1 · MODEL {tiny_model().name}", out
    header = lines[1].split()
    assert header[:2] == ["SESSION", "THINKING"] and "MODEL" not in header, out
    [session] = stored_sessions()
    for line, run_ in zip(lines[2:4], session.runs, strict=True):
        tokens, rate, ttft = recorded_numbers(run_.timings, run_.usage)
        assert rate is not None and ttft is not None
        numbers = rf"\s{tokens}\s+{re.escape(f'{rate:.1f}')}\s+{re.escape(f'{ttft:.2f}')}s\s"
        assert re.search(numbers, line), out
    # stderr: every line within 80 cells, but a single word (a path) too long for one.
    assert all(cell_len(line) <= 80 or " " not in line.strip() for line in err.splitlines()), err
    assert any(line.startswith("    ") for line in err.splitlines()), err  # a folded result

    env.delenv("COLUMNS")
    code, whole, err = run("--no-claude", "--thinking", "both", *local_args(tmp_path / "pipe"))
    assert code == 0, err
    assert "MODEL" in whole.splitlines()[0].split() and "All runs" not in whole, whole
    assert max(cell_len(line) for line in whole.splitlines()[:-1]) > 80, whole


@pytest.mark.parametrize("columns", [80, 60])
def test_the_all_runs_line_folds_between_parts_with_its_separator_and_an_indent(
    tmp_path: Path, env: pytest.MonkeyPatch, columns: int
) -> None:
    """Folded, "All runs:" lost the " · " between its parts and started its second line
    at the first column ("MODEL claude-opus-4-7 (right)"), where it read as a heading of
    its own. Now a folded line ends with its "·" and the next is indented 2, as every
    other folded line of ``run``'s is."""
    from rich.cells import cell_len

    env.setenv("COLUMNS", str(columns))
    with AnthropicTestServer(scenario="529") as claude_server:  # its STATUS differs
        use_claude(env, claude_server)
        code, out, err = run("--thinking", "off", *local_args(tmp_path / "out"))
    assert code == 1, err
    lines = out.splitlines()
    said = lines[: next(i for i, line in enumerate(lines) if line.startswith("SESSION"))]
    assert len(said) >= 2 and said[0].startswith("All runs: "), out
    assert all(cell_len(line) <= columns for line in said), out
    assert all(line.endswith(" ·") for line in said[:-1]), out
    assert all(line.startswith("  ") and line[2] != " " for line in said[1:]), out
    whole = " ".join(line.strip() for line in said)
    assert f"MODEL {tiny_model().name} (left) · MODEL " in whole, out
    assert whole.endswith(" (right)"), out


def _stand_in_against_claude(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> tuple[Session, str, str]:
    """``run`` of the stand-in (no thinking switch: none is sent) against Claude: the
    session stored, stdout and stderr."""
    use_claude(env, claude_server)
    code, out, err = run("--prompt", "Draw a cat", *local_args(tmp_path / "out"))
    assert code == 0, err
    [session] = stored_sessions()
    return session, out, err


def test_a_session_of_a_model_with_no_thinking_switch_is_titled_so(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    """The gallery and the leaderboard name the stand-in's runs "no thinking switch";
    its session's title said "thinking on vs high" (the TUI's too: see test_parity)."""
    session, _, _ = _stand_in_against_claude(tmp_path, env, claude_server)
    assert session.title == "Draw a cat · local vs claude · no switch vs thinking high"


def test_run_names_a_model_with_no_thinking_switch_so_in_its_progress_and_summary(
    tmp_path: Path, env: pytest.MonkeyPatch, claude_server: AnthropicTestServer
) -> None:
    """The stand-in's runs, "no thinking switch" on the leaderboard, were "local (on)" and
    "left local (on)" in the progress and "on (did not)" in the summary's THINKING
    column. Claude's, sent its switch, are named as they were."""
    _, out, err = _stand_in_against_claude(tmp_path, env, claude_server)
    assert "sample 1/1, thinking on: local (no switch) and claude (high), together\n" in err
    assert "  left local (no switch): finished" in err, err
    assert "  right claude (high): finished" in err, err
    header, *rows, _ = out.strip().splitlines()
    at = header.index("THINKING")
    assert [row[at:].split("  ")[0] for row in rows] == ["no switch", "high"], out
