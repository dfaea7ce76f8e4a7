"""Exports (SVG, PNG, run card, HTML, JSON) and the `pelican-tui sessions` command."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import json
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from _session_support import (
    CLAUDE_SETTINGS,
    FAKE_PNG,
    HOST,
    LOCAL_FILE,
    LOCAL_INFO,
    LOCAL_SETTINGS,
    PELICAN_SVG,
    FixedClock,
    make_comparison,
)
from PIL import Image

from pelican_tui.backends import locations
from pelican_tui.backends.export import (
    ExportError,
    export_session,
    load_export,
    render_run_card,
)
from pelican_tui.backends.export import files as export_files
from pelican_tui.backends.store.records import Session
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.cli import run as headless
from pelican_tui.cli.sessions import sessions_command

RENDERED_PNG = b"\x89PNG\r\n\x1a\nrendered"


class FakeRenderer:
    def __init__(self, result: bytes | None = RENDERED_PNG) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self.result = result

    def __call__(self, svg: str, width: int, height: int) -> bytes | None:
        self.calls.append((svg, width, height))
        return self.result


@pytest.fixture
def session() -> Session:
    with SessionStore.open(clock=FixedClock()) as store:
        return make_comparison(store, prompt="Generate an SVG of a pelican riding a bicycle")


def _img_sources(page: str) -> list[str]:
    return re.findall(r'<img [^>]*src="([^"]*)"', page)


def _articles(page: str) -> dict[str, str]:
    """Each run's part of index.html, by the title it starts with ("Left · local · m")."""
    parts = re.findall(r"<article[^>]*><h2>(.*?)</h2>(.*?)</article>", page, re.DOTALL)
    return {title: body for title, body in parts}


def _internal_names(session: Session, text: str) -> list[str]:
    """The stored keys (``app_rss_bytes``, ``time_to_first_token_s``...) shown as they are.

    Keys without an underscore ("file", "cpu") read as words; those with one are
    machine names a person should never have to read. llama-server's arguments are
    shown as a command, so their key is not a label either."""
    keys = {
        key
        for run in session.runs
        for data in (run.model_info, run.settings, run.timings, run.usage, run.peak_ram, run.host)
        for key in data
        if "_" in key
    }
    return sorted(key for key in keys if re.search(rf"\b{re.escape(key)}\b", text))


# --------------------------------------------------------------------------- export files


def test_export_round_trip(session: Session, tmp_path: Path) -> None:
    out = tmp_path / "export"
    renderer = FakeRenderer()
    result = export_session(session, out, renderer, png_size=(640, 640))

    names = sorted(p.name for p in result.files)
    assert names == sorted(
        [
            "session.json",
            "run-card.md",
            "index.html",
            "left.svg",
            "left.png",
            "right.svg",
            "right.png",
        ]
    )
    assert sorted(p.name for p in out.iterdir()) == names  # nothing else (no temp files)
    assert result.notes == ()

    # Pictures: the SVGs verbatim, the stored PNG as stored, the other rendered.
    left, right = session.runs
    assert (out / "left.svg").read_text() == left.svg
    assert (out / "right.svg").read_text() == right.svg
    assert (out / "left.png").read_bytes() == FAKE_PNG
    assert (out / "right.png").read_bytes() == RENDERED_PNG
    assert renderer.calls == [(right.svg, 640, 640)]

    # session.json loads back into an equal session.
    document = json.loads((out / "session.json").read_text())
    assert document["format"] == "pelican-tui-session" and document["format_version"] == 1
    assert [r["files"] for r in document["runs"]] == [
        {"svg": "left.svg", "png": "left.png", "png_source": "stored"},
        {"svg": "right.svg", "png": "right.png", "png_source": "rendered"},
    ]
    assert load_export(out) == session
    # Stable output: the same session exports to the same bytes.
    again = export_session(session, tmp_path / "again", FakeRenderer())
    for path in again.files:
        assert path.read_bytes() == (out / path.name).read_bytes(), path.name


def test_an_empty_working_directory_is_exported_into_in_place(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out .`` in an empty folder: it cannot be swapped for a new folder (the rename
    said "[Errno 22] Invalid argument: '.'"), so it is written in place."""
    from pelican_tui.backends.export.files import write_folder

    for name, write in (
        ("session", lambda: export_session(session, Path())),
        ("any", lambda: write_folder(Path(), {"index.html": b"ok"}, refresh=False, refused="")),
    ):
        here = tmp_path / name
        here.mkdir()
        monkeypatch.chdir(here)
        write()
        assert (here / "index.html").is_file() and Path.cwd() == here
        assert Path("index.html").is_file(), "the working directory is still the folder"


def test_run_card_has_what_it_takes_to_reproduce(session: Session, tmp_path: Path) -> None:
    export_session(session, tmp_path / "e")
    card = (tmp_path / "e" / "run-card.md").read_text()
    for expected in (
        f"# Pelican run card: session {session.id}",
        "Generate an SVG of a pelican riding a bicycle",  # prompt
        "left (Qwen3.6-35B-A3B-Q4_K_M.gguf) is better",  # verdict
        "better wheels",
        LOCAL_FILE,
        "ab" * 32,  # sha256
        "19.0 GiB (20,400,000,000 bytes)",  # file size
        "qwen35moe",
        "35.00B",
        "3.00B",
        "Q4_K_M",
        "7000 (abcdef0)",  # server build
        "llama-server -m /models/Qwen3.6-35B-A3B-Q4_K_M.gguf -c 16384 --metrics",
        "| Thinking | on |",
        "presence_penalty=1.5, temperature=1, top_k=20, top_p=0.95",
        "| Effort | high |",
        "| Time to first token | 0.42 s |",
        "| Generation speed | 41.2 tok/s |",
        "| Prompt speed | 310.5 tok/s |",
        "| Thinking tokens | 120 |",
        "| Output tokens | 900 |",
        "| llama-server resident (model pages included) | 19.6 GiB (21,000,000,000 bytes) |",
        "| CPU | Test CPU 9000 |",
        "| RAM | 32.0 GiB",
        "Let me think about wheels. Then the beak.",
        "claude-opus-4-7",
        "pelican-tui run --prompt 'Generate an SVG of a pelican riding a bicycle' "
        # The full path llama-server was started with, not just the file name.
        # ... and the context it had (-c 16384 in its arguments).
        "--model /models/Qwen3.6-35B-A3B-Q4_K_M.gguf --ctx 16384 --claude-model claude-opus-4-7 "
        "--thinking on --out DIR",
        "The same comparison without the TUI (replace DIR):",
    ):
        assert expected in card, expected
    # One host section: both runs ran on the same machine.
    assert card.count("## Host") == 1
    assert _internal_names(session, card) == []


def test_run_card_understands_the_short_model_keys(tmp_path: Path) -> None:
    info = {
        "model": "SmolLM2-135M-Instruct.Q4_1",
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "size": "0.10 GB",
        "params": "135M",
        "experts": "2/8",
        "server_flags": ["-m", "/m/SmolLM2.gguf", "--api-key", "***", "--port", "0"],
    }
    with SessionStore.open() as store:
        s = store.create_session("p")
        run = store.start_run(s.id, "left", "local", "SmolLM2", info, {"thinking": False}, HOST)
        store.finish_run(run, answer="no svg", peak_ram={"server_bytes": 300 * 1024**2})
        session = store.get_session(s.id)
    export_session(session, tmp_path / "e")
    card = (tmp_path / "e" / "run-card.md").read_text()
    assert "llama-server -m /m/SmolLM2.gguf --api-key '[redacted]' --port 0" in card
    assert "| Total parameters | 135M |" in card and "| Experts (used/total) | 2/8 |" in card
    assert "| File size | 0.10 GB |" in card and "| Thinking | off |" in card
    assert (
        "| llama-server resident + model pages (counted twice) | 300.0 MiB (314,572,800 bytes) |"
        in card
    )
    assert "server_bytes" not in card
    assert "--model /m/SmolLM2.gguf --no-claude --thinking off" in card  # the TUI's -m


@pytest.mark.parametrize(
    ("info", "expected", "note"),
    [
        # What headless runs store: the path, preferred over llama-server's -m.
        (
            {"file": "a b.gguf", "path": "/models/a b.gguf", "server_args": ["-m", "x.gguf"]},
            "--model '/models/a b.gguf' --no-claude",
            "(replace DIR)",
        ),
        # Nothing but a name: kept, and the card asks for the path.
        ({"file": "a.gguf"}, "--model a.gguf --no-claude", "give the local model's path"),
        ({"hf": "org/repo:Q4_K_M", "path": "/c/x.gguf"}, "--hf org/repo:Q4_K_M", "(replace DIR)"),
    ],
)
def test_run_it_again_names_the_model_by_its_path(
    tmp_path: Path, info: dict[str, object], expected: str, note: str
) -> None:
    with SessionStore.open() as store:
        s = store.create_session("p")
        run = store.start_run(s.id, "left", "local", "a.gguf", info, {"thinking": False}, HOST)
        store.finish_run(run, answer="no svg")
        session = store.get_session(s.id)
    card = render_run_card(session, {})
    again = card[card.index("## Run it again") :]
    assert expected in again
    assert note in again


def _rerun(session: Session) -> list[str]:
    """The "Run it again" command of the session's run card, as argv."""
    card = render_run_card(session, {})
    again = card[card.index("## Run it again") :]
    (line,) = [ln for ln in again.splitlines() if ln.startswith("pelican-tui run ")]
    return shlex.split(line)


def _session_with(*runs: tuple[str, str, str, dict[str, object], dict[str, object]]) -> Session:
    with SessionStore.open() as store:
        s = store.create_session("Generate an SVG of a pelican riding a bicycle")
        for slot, backend, model_id, info, settings in runs:
            run = store.start_run(s.id, slot, backend, model_id, info, settings, HOST)  # type: ignore[arg-type]
            store.finish_run(run, answer="no svg")
        return store.get_session(s.id)


CLAUDE = ("right", "claude", "claude-opus-4-7", {"model": "claude-opus-4-7"})


@pytest.mark.parametrize(
    ("runs", "flags", "ctx", "thinking"),
    [
        # What a headless run records: the path and the context it gave llama-server.
        (
            [
                (
                    "left",
                    "local",
                    "a.gguf",
                    {"path": "/m/a.gguf", "context": 4096},
                    {"thinking": False},
                )
            ],
            ["--model", "/m/a.gguf", "--ctx", "4096", "--no-claude"],
            4096,
            "off",
        ),
        # What the TUI records: llama-server's flags (-c in them), Claude beside it.
        (
            [
                (
                    "left",
                    "local",
                    "a.gguf",
                    {"server_flags": ["-m", "/m/a.gguf", "--port", "0", "-c", "32768"]},
                    {"thinking": True},
                ),
                (*CLAUDE, {"thinking": True, "effort": "high"}),
            ],
            ["--model", "/m/a.gguf", "--ctx", "32768", "--claude-model", "claude-opus-4-7"],
            32768,
            "on",
        ),
        (
            [("left", "local", "r", {"hf": "org/repo:Q4_K_M", "server_args": ["-c=2048"]}, {})],
            ["--hf", "org/repo:Q4_K_M", "--ctx", "2048", "--no-claude"],
            2048,
            None,
        ),
        # Both modes of the local model side by side (no Claude): --thinking both.
        (
            [
                (
                    "left",
                    "local",
                    "a.gguf",
                    {"path": "/m/a.gguf", "context": 8192},
                    {"thinking": True},
                ),
                (
                    "right",
                    "local",
                    "a.gguf",
                    {"path": "/m/a.gguf", "context": 8192},
                    {"thinking": False},
                ),
            ],
            ["--model", "/m/a.gguf", "--ctx", "8192", "--no-claude"],
            8192,
            "both",
        ),
        # An attached server: its context is its own business, not a flag of `run`.
        (
            [
                (
                    "left",
                    "openai",
                    "m",
                    {"url": "http://127.0.0.1:9", "context": 4096},
                    {"thinking": True},
                )
            ],
            ["--url", "http://127.0.0.1:9", "--no-claude"],
            None,
            "on",
        ),
    ],
)
def test_run_it_again_carries_the_context_and_the_thinking_mode(
    runs: list[tuple[str, str, str, dict[str, object], dict[str, object]]],
    flags: list[str],
    ctx: int | None,
    thinking: str | None,
) -> None:
    argv = _rerun(_session_with(*runs))
    assert argv[:4] == [
        "pelican-tui",
        "run",
        "--prompt",
        "Generate an SVG of a pelican riding a bicycle",
    ]
    expected = [*flags, *(["--thinking", thinking] if thinking else []), "--out", "DIR"]
    assert argv[4:] == expected
    # The real `pelican-tui run` parser takes it and gets the recorded values.
    args = headless.build_parser().parse_args(argv[2:])
    assert (args.ctx, args.thinking, args.prompt) == (ctx, thinking, argv[3])


def test_run_it_again_says_how_to_get_the_same_answer_limit() -> None:
    """The card recorded "Max tokens 60" but its command could not say it."""
    session = _session_with(
        ("left", "local", "a.gguf", {"path": "/m/a.gguf"}, {"thinking": True, "max_tokens": 60}),
    )
    card = render_run_card(session, {})
    assert "`PELICAN_LOCAL__MAX_TOKENS=60`" in card
    usual = _session_with(
        ("left", "local", "a.gguf", {"path": "/m/a.gguf"}, {"thinking": True, "max_tokens": 8192}),
    )
    assert "MAX_TOKENS" not in render_run_card(usual, {})


def test_run_it_again_says_when_the_sides_thought_differently() -> None:
    session = _session_with(
        ("left", "local", "a.gguf", {"path": "/m/a.gguf", "context": 4096}, {"thinking": False}),
        (*CLAUDE, {"thinking": True, "effort": "high"}),
    )
    argv = _rerun(session)
    # `run` gives both sides one mode: the local model's is the one kept.
    assert argv[argv.index("--thinking") + 1] == "off"
    card = render_run_card(session, {})
    assert "the local model thought off and Claude on" in card


def _again(session: Session) -> str:
    card = render_run_card(session, {})
    return card[card.index("## Run it again") :]


ATTACHED = {"url": "http://127.0.0.1:18309", "server_kind": "Ollama"}


def test_run_it_again_says_it_cannot_repeat_a_pane_on_the_remote_server() -> None:
    """Pane 2 on the remote server (``--remote``) at thinking on, pane 1 at level "low":
    the card said "The same comparison" and gave ``--url LOCAL --no-claude --thinking
    on``, which runs neither the remote nor the level."""
    session = _session_with(
        ("left", "openai", "gpt-oss:20b", ATTACHED, {"thinking": True, "effort": "low"}),
        (
            "right",
            "openai",
            "qwen3.6-35b-a3b",
            {"url": "http://127.0.0.1:18304", "server_kind": "LM Studio"},
            {"thinking": True},
        ),
    )
    again = _again(session)
    assert "A similar run without the TUI (replace DIR):" in again
    assert "The same comparison" not in again
    assert "- The right pane's run, qwen3.6-35b-a3b on the LM Studio server at " in again
    assert "http://127.0.0.1:18304" in again
    assert "- The left pane's thinking level, low: " in again
    assert "`--thinking on` asks the default, high." in again
    argv = _rerun(session)
    assert argv[4:] == ["--url", ATTACHED["url"], "--no-claude", "--thinking", "on", "--out", "DIR"]


def test_run_it_again_keeps_the_mode_of_the_pane_it_repeats() -> None:
    """The left pane thinking on and the remote's off made ``--thinking both``: two
    panes of the left server, a comparison that never ran."""
    session = _session_with(
        ("left", "openai", "m", ATTACHED, {"thinking": True}),
        ("right", "openai", "r", {"url": "http://10.0.0.2:8080"}, {"thinking": False}),
    )
    argv = _rerun(session)
    assert argv[argv.index("--thinking") + 1] == "on"


def test_run_it_again_says_how_to_repeat_claudes_effort() -> None:
    session = _session_with(
        ("left", "local", "a.gguf", {"path": "/m/a.gguf"}, {"thinking": True}),
        (*CLAUDE, {"thinking": True, "effort": "low"}),
    )
    again = _again(session)
    assert "The same comparison without the TUI (replace DIR):" in again
    assert "`PELICAN_CLAUDE__EFFORT=low`" in again
    usual = _session_with(
        ("left", "local", "a.gguf", {"path": "/m/a.gguf"}, {"thinking": True}),
        (*CLAUDE, {"thinking": True, "effort": "high"}),
    )
    assert "EFFORT" not in _again(usual)


def test_run_it_again_says_what_credentials_the_server_took() -> None:
    """The URL is stored without its user and password, so the command got a 401. Then
    it said ``--url http://USER:PASSWORD@…``: a password on the command line, in the
    process list and the shell's history, where the README says to give it in
    PELICAN_LOCAL__URL. Now the command sets that variable."""
    login = {**ATTACHED, "login": "user and password in the URL"}
    again = _again(_session_with(("left", "openai", "m", login, {"thinking": True})))
    assert "(replace DIR; USER:PASSWORD with the server's user and password):" in again
    (line,) = [ln for ln in again.splitlines() if "pelican-tui run " in ln]
    assert line.startswith(
        "PELICAN_LOCAL__URL=http://USER:PASSWORD@127.0.0.1:18309 pelican-tui run --prompt "
    ), line
    assert "--url" not in line and line.endswith(" --no-claude --thinking on --out DIR")
    key = {**ATTACHED, "login": "API key from PELICAN_REMOTE_API_KEY"}
    again = _again(_session_with(("left", "openai", "m", key, {"thinking": True})))
    assert "The server took an API key (API key from PELICAN_REMOTE_API_KEY): " in again
    assert "set PELICAN_LOCAL_API_KEY to it" in again


@pytest.mark.parametrize(
    ("status", "words"),
    [("interrupted", "the run was interrupted"), ("running", "the run was still going")],
)
def test_the_session_page_says_how_a_run_ended_as_the_evidence_page_does(
    status: str, words: str
) -> None:
    """It said nothing of an interrupted run, and "the run was running" of one still going;
    now it says why there is no picture in the evidence page's words."""
    from pelican_tui.backends.export.facts import no_picture_reason
    from pelican_tui.backends.export.files import RunFiles
    from pelican_tui.backends.export.html_document import escape
    from pelican_tui.backends.export.html_page import render_html
    from pelican_tui.backends.text import sentence

    session = _session_with(("left", "local", "a.gguf", {"path": "/m/a.gguf"}, {}))
    [run] = session.runs
    unfinished = dataclasses.replace(run, status=status, svg=None, png=None)  # type: ignore[arg-type]
    page = render_html(dataclasses.replace(session, runs=(unfinished,)), {run.id: RunFiles()}, {})
    why = no_picture_reason(unfinished)
    assert why.startswith(words)
    assert f"<p>{escape(sentence(why))}</p>" in page


def test_html_page_shows_both_pictures_as_images_only(session: Session, tmp_path: Path) -> None:
    export_session(session, tmp_path / "e", FakeRenderer())
    page = (tmp_path / "e" / "index.html").read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    sources = _img_sources(page)
    assert len(sources) == 4  # PNG and SVG for each side
    decoded = [base64.b64decode(src.split(",", 1)[1]) for src in sources]
    assert FAKE_PNG in decoded and RENDERED_PNG in decoded
    assert session.runs[0].svg.encode() in decoded  # type: ignore[union-attr]
    assert sum(src.startswith("data:image/svg+xml;base64,") for src in sources) == 2
    assert "<svg" not in page  # never inlined
    assert "Verdict: left (Qwen3.6-35B-A3B-Q4_K_M.gguf) is better" in page
    assert 'class="winner"' in page
    assert "41.2 tok/s" in page and "0.42 s" in page
    assert page.index("Left · local") < page.index("Right · claude")
    assert "<caption>Peak memory</caption>" in page
    assert (
        "<th>llama-server resident (model pages included)</th>"
        "<td>19.6 GiB (21,000,000,000 bytes)</td>" in page
    )
    assert _internal_names(session, page) == []
    assert 'class="no-picture"' not in page  # both pictures were drawn


def test_memory_rows_read_as_words(tmp_path: Path) -> None:
    """Every figure a run records about memory has a person's label, on the page and the card."""
    peak = {
        "app_rss_bytes": 90 * 1024**2,
        "server_rss_bytes": 1536 * 1024**2,
        "server_model_mapped_bytes": 20 * 1024**3,
        "server_bytes": 1536 * 1024**2 + 20 * 1024**3,  # recorded by older versions
        "gpu_vram_bytes": 2 * 1024**3,  # one this version has no label for
    }
    with SessionStore.open() as store:
        s = store.create_session("p")
        run = store.start_run(s.id, "left", "local", "m.gguf", LOCAL_INFO, LOCAL_SETTINGS, HOST)
        store.finish_run(run, answer="no svg", peak_ram=peak)
        session = store.get_session(s.id)
    export_session(session, tmp_path / "e")
    page = (tmp_path / "e" / "index.html").read_text()
    card = (tmp_path / "e" / "run-card.md").read_text()
    expected = [
        ("llama-server resident (model pages included)", "1.5 GiB"),
        ("of which the model file (resident pages)", "20.0 GiB"),
        ("llama-server resident + model pages (counted twice)", "21.5 GiB"),
        ("pelican-tui (resident)", "90.0 MiB"),
        ("Gpu vram", "2.0 GiB"),
    ]
    for label, value in expected:
        assert f"<tr><th>{label}</th><td>{value} (" in page, label
        assert f"| {label} | {value} (" in card, label
    # Largest first on the page, in the order above.
    positions = [page.index(f"<th>{label}</th>") for label, _ in expected]
    assert positions == sorted(positions)
    assert "### Peak memory" in card and "Peak RAM" not in page + card
    assert _internal_names(session, page) == [] and _internal_names(session, card) == []


@pytest.mark.parametrize(
    ("backend", "info", "server"),
    [
        ("local", LOCAL_INFO, "llama-server"),
        ("openai", {"url": "http://127.0.0.1:8080", "server_kind": "llama.cpp"}, "llama-server"),
        ("openai", {"url": "http://127.0.0.1:11434/v1", "server_kind": "Ollama"}, "Ollama"),
        ("openai", {"url": "http://127.0.0.1:1234/v1", "server_kind": "LM Studio"}, "LM Studio"),
        ("openai", {"url": "http://127.0.0.1:8000", "server_kind": "OpenAI-compatible"}, "server"),
        # Stored before runs recorded their server's kind: which server is not known.
        ("openai", {"url": "http://127.0.0.1:8080"}, "server"),
    ],
)
def test_the_memory_rows_name_the_server_that_was_measured(
    tmp_path: Path, backend: str, info: dict[str, str], server: str
) -> None:
    """A run attached to Ollama or LM Studio on this machine recorded that server's peak,
    and its card and page called it "llama-server resident (model pages included)"."""
    peak = {"server_rss_bytes": 1536 * 1024**2, "server_bytes": 1600 * 1024**2}
    with SessionStore.open() as store:
        s = store.create_session("p")
        run = store.start_run(s.id, "left", backend, "m", info, LOCAL_SETTINGS, HOST)  # type: ignore[arg-type]
        store.finish_run(run, answer="no svg", peak_ram=peak)
        session = store.get_session(s.id)
    export_session(session, tmp_path / "e")
    page = (tmp_path / "e" / "index.html").read_text()
    card = (tmp_path / "e" / "run-card.md").read_text()
    for label in (
        f"{server} resident (model pages included)",
        f"{server} resident + model pages (counted twice)",
    ):
        assert f"<tr><th>{label}</th><td>" in page, label
        assert f"| {label} | " in card, label
    if server != "llama-server":
        assert "llama-server" not in page + card


def test_prompt_tokens_read_from_the_cache_are_said_so(tmp_path: Path) -> None:
    """llama-server's prompt_n counts the tokens it evaluated, not those it reused from
    its cache: the card and page said "Prompt tokens 1" beside "Input tokens 62"."""
    with SessionStore.open() as store:
        s = store.create_session("p")
        run = store.start_run(s.id, "left", "local", "m.gguf", LOCAL_INFO, LOCAL_SETTINGS, HOST)
        store.finish_run(
            run,
            answer="no svg",
            timings={"prompt_tokens": 1, "generated_tokens": 16},
            usage={"input_tokens": 62, "output_tokens": 16},
        )
        session = store.get_session(s.id)
    export_session(session, tmp_path / "e")
    page = (tmp_path / "e" / "index.html").read_text()
    card = (tmp_path / "e" / "run-card.md").read_text()
    _, shown, _ = _run(["show", str(s.id)])
    for text in (card, shown):
        assert "| Prompt tokens evaluated | 1 of 62 (61 from the cache) |" in text
        assert "| Input tokens | 62 |" in text
    assert "<th>Prompt tokens evaluated</th><td>1 of 62 (61 from the cache)</td>" in page
    # Stored and exported under their own names, as numbers.
    [exported] = json.loads((tmp_path / "e" / "session.json").read_text())["runs"]
    assert exported["timings"]["prompt_tokens"] == 1 and exported["usage"]["input_tokens"] == 62


def test_a_whole_prompt_evaluated_is_one_number(session: Session) -> None:
    card = render_run_card(session, {})
    assert "| Prompt tokens evaluated | 30 |" in card  # 30 of 30: nothing from a cache
    assert "from the cache" not in card


def test_hostile_text_is_escaped_everywhere(tmp_path: Path) -> None:
    hostile_svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
        "<script>alert(2)</script><rect width='1' height='1'/></svg>"
    )
    with SessionStore.open() as store:
        s = store.create_session('<img src=x onerror=alert(3)> "pelican" ```` & more')
        run = store.start_run(s.id, "left", "openai", "<b>model</b>|x", {"url": "http://h"}, {}, {})
        store.finish_run(
            run,
            answer=f"```svg\n{hostile_svg}\n```</pre><script>alert(4)</script>",
            svg=hostile_svg,
            failure_reason=None,
        )
        session = store.get_session(s.id)
    export_session(session, tmp_path / "e")
    page = (tmp_path / "e" / "index.html").read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"<[^>]*\bon\w+\s*=", page)  # no element has an event handler
    assert "&lt;img src=x onerror=alert(3)&gt;" in page
    assert "&lt;b&gt;model&lt;/b&gt;" in page
    # The SVG is drawn only from base64 data; its markup shows up only as escaped text.
    assert "onload=&quot;alert(1)&quot;" in page
    card = (tmp_path / "e" / "run-card.md").read_text()
    # The prompt holds four backticks: its fence is longer, so it can't break out.
    assert "`````text\n<img src=x onerror=alert(3)>" in card
    assert "&lt;b&gt;model&lt;/b&gt;\\|x" in card  # table cells escaped


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_the_page_shows_control_characters_as_nothing_and_keeps_them_stored(
    tmp_path: Path,
) -> None:
    # A prompts.toml prompt with ESC and BEL: index.html held them as written ("[31mRED").
    prompt = "\x1b[31mRED\x07 pelican\x1b[0m on a bicycle"
    with SessionStore.open() as store:
        s = store.create_session(prompt, prompt_set="mine")
        run = store.start_run(s.id, "left", "openai", "model\x1b]0;title\x07", {}, {}, {})
        store.finish_run(run, answer="Here:\x1b[2J\r\n<svg/>", svg="<svg/>")
        session = store.get_session(s.id)
    export_session(session, tmp_path / "e")
    page = (tmp_path / "e" / "index.html").read_text()
    assert not CONTROL.findall(page), CONTROL.findall(page)
    assert "<title>[31mRED pelican[0m on a bicycle · session" in page
    assert "[31mRED pelican[0m on a bicycle</div>" in page
    assert "model]0;title" in page and "Here:[2J\n&lt;svg/&gt;" in page
    # The stored session and session.json keep the text as it was written.
    assert load_export(tmp_path / "e") == session and session.prompt == prompt
    assert "\\u001b[31mRED\\u0007" in (tmp_path / "e" / "session.json").read_text()


PASTED_KEY = "pasted-key-" + "Q7z" * 12
"""An ANTHROPIC_API_KEY matching no key pattern: only its literal value can find it."""


def test_a_pasted_key_never_reaches_an_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><text>{PASTED_KEY}</text></svg>'
    # A store written before the key was scrubbed (or before it was set): the
    # key sits in the prompt, the thinking text, the answer and the SVG.
    with SessionStore.open() as store:
        s = store.create_session("placeholder")
        run = store.start_run(s.id, "left", "local", "m.gguf", {}, {"thinking": True}, HOST)
        store.finish_run(run, answer="placeholder")
        other = store.start_run(s.id, "right", "claude", "claude-opus-4-7", {}, {}, HOST)
        store.finish_run(other, answer="placeholder")
    with contextlib.closing(sqlite3.connect(locations.sessions_db())) as conn, conn:
        conn.execute("UPDATE sessions SET prompt = ?, title = ?", (f"Key {PASTED_KEY}: draw", "t"))
        conn.execute(
            "UPDATE runs SET thinking_text = ?, answer = ?, svg = ?, svg_note = ? WHERE id = ?",
            (f"think {PASTED_KEY}", f"```svg\n{svg}\n```", svg, f"note {PASTED_KEY}", run),
        )
        conn.execute(
            "UPDATE runs SET answer = ?, failure_reason = ? WHERE id = ?",
            (f"echo {PASTED_KEY}", f"401 {PASTED_KEY}", other),
        )
    monkeypatch.setenv("ANTHROPIC_API_KEY", PASTED_KEY)
    with SessionStore.open() as store:
        session = store.get_session(s.id)
    assert PASTED_KEY in session.prompt and PASTED_KEY in session.runs[0].svg  # type: ignore[operator]

    renderer = FakeRenderer()
    export_session(session, tmp_path / "direct", renderer)
    code, _, err = _run(["export", str(s.id), "--out", str(tmp_path / "cli")], renderer=renderer)
    assert code == 0, err
    shown = [_run(["show", str(s.id)]), _run(["list"])]

    exported = [p for d in ("direct", "cli") for p in (tmp_path / d).iterdir()]
    assert {p.name for p in exported} >= {
        "session.json",
        "run-card.md",
        "index.html",
        "left.svg",
        "left.png",
    }
    everything = b"".join(p.read_bytes() for p in exported)
    # The HTML carries the SVG and PNG base64-encoded: decode those too.
    for page in (p for p in exported if p.name == "index.html"):
        for src in _img_sources(page.read_text()):
            everything += base64.b64decode(src.split(",", 1)[1])
    everything += "".join(out + err for _, out, err in shown).encode()
    everything += "".join(call[0] for call in renderer.calls).encode()  # what was drawn
    assert b"[redacted]" in everything and b"draw" in everything
    assert PASTED_KEY.encode() not in everything
    assert PASTED_KEY[:16].encode() not in everything  # not even cut short by `list`
    assert (tmp_path / "cli" / "left.svg").read_text() == svg.replace(PASTED_KEY, "[redacted]")
    loaded = load_export(tmp_path / "cli")
    assert loaded.prompt == "Key [redacted]: draw"
    assert loaded.runs[1].failure_reason == "401 [redacted]"


def test_runs_without_svg_and_failed_renders_are_reported(tmp_path: Path) -> None:
    with SessionStore.open() as store:
        s = store.create_session("p")
        a = store.start_run(s.id, "left", "local", "tiny.gguf", {}, {"thinking": False}, HOST)
        store.finish_run(a, answer="I cannot draw.", svg=None, svg_note="no <svg> in the answer")
        b = store.start_run(s.id, "right", "claude", "claude-opus-4-7", {}, {}, HOST)
        store.finish_run(b, status="failed", svg=PELICAN_SVG, failure_reason="overloaded (529)")
        session = store.get_session(s.id)
    result = export_session(session, tmp_path / "e", FakeRenderer(result=None))
    assert sorted(p.name for p in result.files) == [
        "index.html",
        "right.svg",
        "run-card.md",
        "session.json",
    ]
    assert result.notes == (
        "left: no <svg> in the answer",
        "right: the SVG could not be rendered",
    )
    page = (tmp_path / "e" / "index.html").read_text()
    articles = _articles(page)
    left, right = articles["Left · local · tiny.gguf"], articles["Right · claude · claude-opus-4-7"]
    # No broken-image icons: a box that says why, and no <img> at all.
    assert "<img" not in page
    assert (
        '<div class="no-picture" role="note"><strong>No picture</strong>'
        "<p>No &lt;svg&gt; in the answer.</p></div>"
    ) in left
    assert (
        "<strong>No picture: the SVG could not be drawn</strong>"
        "<p>The renderer gave no picture.</p>"
        "<p>The SVG as the model wrote it is in right.svg.</p>"
    ) in right
    assert "<th>Failure</th><td>overloaded (529)</td>" in right
    card = (tmp_path / "e" / "run-card.md").read_text()
    assert "| Picture | none: no &lt;svg&gt; in the answer |" in card
    assert "| PNG file | none: the SVG could not be drawn (the renderer gave no picture) |" in card
    assert load_export(tmp_path / "e") == session


def test_a_failed_run_without_a_picture_says_both(tmp_path: Path) -> None:
    with SessionStore.open() as store:
        s = store.create_session("p")
        run = store.start_run(s.id, "left", "claude", "claude-opus-4-7", {}, {}, HOST)
        store.finish_run(
            run, status="failed", svg_note="the answer is empty", failure_reason="overloaded (529)"
        )
        session = store.get_session(s.id)
    export_session(session, tmp_path / "e", FakeRenderer())
    page = (tmp_path / "e" / "index.html").read_text()
    assert (
        "<strong>No picture</strong><p>The run failed: overloaded (529); the answer is empty.</p>"
    ) in page
    assert "<img" not in page
    card = (tmp_path / "e" / "run-card.md").read_text()
    assert "| Picture | none: the run failed: overloaded (529); the answer is empty |" in card


def test_a_run_cut_before_its_answer_was_read_says_so_not_that_it_had_no_svg() -> None:
    """A run cancelled mid-SVG was "there is no SVG in the answer (the run was
    cancelled)" in the run card and the pages; its answer was never read."""
    from pelican_tui.backends.export.facts import no_picture_reason

    with SessionStore.open() as store:
        s = store.create_session("p")
        run = store.start_run(s.id, "left", "local", "m.gguf", {}, {}, HOST)
        store.finish_run(run, status="cancelled", answer="```svg\n<svg viewBox='0 0 9 9'>")
        cut = store.get_run(run)
    assert no_picture_reason(cut) == "the run was cancelled before a picture"


NO_XMLNS_SVG = '<svg viewBox="0 0 10 10"><rect width="5" height="5" fill="red"/></svg>'
"""Drawn by cairosvg, but a browser shows a broken-image icon for it in an <img>."""
BROKEN_XML_SVG = '<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>'


@pytest.mark.parametrize(
    ("svg", "why"),
    [
        (NO_XMLNS_SVG, "Its &lt;svg&gt; tag has no xmlns=&quot;http://www.w3.org/2000/svg&quot;."),
        (
            BROKEN_XML_SVG,
            "It is not well-formed XML: a character XML does not allow there (a bare &amp; or "
            "&lt;) (line 1, column 49).",
        ),
        (
            '<svg xmlns="http://www.w3.org/1999/xhtml"/>',
            "Its &lt;svg&gt; tag is in the namespace &quot;http://www.w3.org/1999/xhtml&quot;",
        ),
    ],
)
def test_an_svg_a_browser_cannot_draw_is_not_shown_as_a_broken_image(
    tmp_path: Path, svg: str, why: str
) -> None:
    with SessionStore.open() as store:
        s = store.create_session("p")
        for slot, png in (("left", FAKE_PNG), ("right", None)):
            run = store.start_run(s.id, slot, "local", f"{slot}.gguf", {}, {}, HOST)  # type: ignore[arg-type]
            store.finish_run(run, answer=svg, svg=svg, png=png)
        session = store.get_session(s.id)
    export_session(session, tmp_path / "e")  # no renderer: the right run keeps no PNG
    articles = _articles((tmp_path / "e" / "index.html").read_text())
    left, right = articles["Left · local · left.gguf"], articles["Right · local · right.gguf"]
    # Beside a PNG: the PNG, and instead of the SVG a note saying why.
    assert _img_sources(left) == [f"data:image/png;base64,{base64.b64encode(FAKE_PNG).decode()}"]
    assert "<strong>Your browser cannot draw this SVG as written</strong>" in left
    assert why in left and "The PNG beside it is pelican-tui&#x27;s drawing." in left
    # Alone: a box instead of any picture.
    assert "<img" not in right
    assert "<strong>No picture: your browser cannot draw this SVG</strong>" in right
    assert why in right and "the SVG is in right.svg." in right
    assert (tmp_path / "e" / "right.svg").read_text() == svg  # the file stays as written


def test_a_renderer_that_raises_does_not_break_the_export(session: Session, tmp_path: Path) -> None:
    def boom(svg: str, width: int, height: int) -> bytes | None:
        raise RuntimeError("worker crashed")

    result = export_session(session, tmp_path / "e", boom)
    assert result.notes == ("right: the SVG could not be rendered (worker crashed)",)
    assert not (tmp_path / "e" / "right.png").exists()
    assert (tmp_path / "e" / "left.png").read_bytes() == FAKE_PNG


def test_several_runs_per_slot_get_numbered_files(tmp_path: Path) -> None:
    with SessionStore.open() as store:
        s = store.create_session("p")
        for slot, n in (("left", 1), ("left", 2), ("right", 1)):
            run = store.start_run(s.id, slot, "local", f"m{n}.gguf", {}, {}, {})  # type: ignore[arg-type]
            store.finish_run(run, svg=PELICAN_SVG.replace("white", f"#00000{n}"))
        session = store.get_session(s.id)
    result = export_session(session, tmp_path / "e")
    assert sorted(p.name for p in result.files if p.suffix == ".svg") == [
        "left-1.svg",
        "left-2.svg",
        "right.svg",
    ]
    assert "#000002" in (tmp_path / "e" / "left-2.svg").read_text()
    assert load_export(tmp_path / "e") == session


def test_runs_are_listed_left_then_right_whatever_order_they_started_in(
    tmp_path: Path,
) -> None:
    # Claude's run failed first (its server killed): the right run had the lower id,
    # and `sessions show`, run-card.md and session.json listed it before the left.
    with SessionStore.open() as store:
        s = store.create_session("p")
        right = store.start_run(s.id, "right", "claude", "claude-x", {}, CLAUDE_SETTINGS, HOST)
        store.finish_run(right, status="failed", failure_reason="connection lost")
        for n in (1, 2):
            left = store.start_run(s.id, "left", "local", f"m{n}.gguf", {}, {}, HOST)
            store.finish_run(left, svg=PELICAN_SVG, png=FAKE_PNG)
        session = store.get_session(s.id)
        summary = store.list_sessions()[0]
    assert [(run.slot, run.id) for run in session.runs] == [
        ("left", right + 1),
        ("left", right + 2),
        ("right", right),
    ]
    assert [run.slot for run in summary.runs] == ["left", "left", "right"]

    def titles(text: str, pattern: str) -> list[str]:
        return re.findall(pattern, text)

    code, out, err = _run(["show", str(s.id)])
    assert code == 0, err
    assert titles(out, r"(?m)^## (Left|Right)") == ["Left", "Left", "Right"]
    code, _, err = _run(["export", str(s.id), "--out", str(tmp_path / "e")])
    assert code == 0, err
    card = (tmp_path / "e" / "run-card.md").read_text()
    assert titles(card, r"(?m)^## (Left-\d|Right)") == ["Left-1", "Left-2", "Right"]
    page = (tmp_path / "e" / "index.html").read_text()
    assert titles(page, r"<h2>(Left-\d|Right) ") == ["Left-1", "Left-2", "Right"]
    data = json.loads((tmp_path / "e" / "session.json").read_text())
    assert [(run["slot"], run["files"]["png"]) for run in data["runs"]] == [
        ("left", "left-1.png"),
        ("left", "left-2.png"),
        ("right", None),
    ]
    assert load_export(tmp_path / "e") == session


# --------------------------------------------------------------------------- folder handling


def test_existing_folders(session: Session, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    export_session(session, empty)
    assert (empty / "session.json").exists()

    # Re-exporting the same session refreshes in place (and drops stale pictures).
    (empty / "left.svg").write_text("stale")
    export_session(session, empty, FakeRenderer())
    assert (empty / "left.svg").read_text() == session.runs[0].svg
    assert (empty / "right.png").read_bytes() == RENDERED_PNG
    export_session(session, empty)  # no renderer now: right.png is no longer part of it
    assert not (empty / "right.png").exists()

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="already holds other files"):
        export_session(session, busy)
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    export_session(session, busy, overwrite=True)
    assert (busy / "notes.txt").read_text() == "mine"
    assert (busy / "index.html").exists()

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        export_session(session, a_file)


def test_another_session_with_the_same_id_never_replaces_an_export(
    session: Session, tmp_path: Path
) -> None:
    """A store made anew (a damaged one moved aside) numbers its sessions from 1
    again: `x` exported the new session #1 over the old #1's folder, judged "its own
    earlier export" by its id alone, and the old pictures were gone. Now the id and
    the session's start must both match; another session's folder stays, and the
    new one is exported beside it."""
    from pelican_tui.backends.export import export_folder_for

    exports = tmp_path / "exports"
    old = export_folder_for(exports, session)
    assert old.name == f"session-{session.id}"
    export_session(session, old)
    kept = {p.name: p.read_bytes() for p in old.iterdir()}
    other = dataclasses.replace(
        session, created_at=session.created_at.replace(year=2030), prompt="a heron"
    )
    with pytest.raises(ExportError, match="already holds other files"):
        export_session(other, old)
    assert {p.name: p.read_bytes() for p in old.iterdir()} == kept
    beside = export_folder_for(exports, other)
    assert beside.name == f"session-{session.id}-2"
    export_session(other, beside)
    assert {p.name: p.read_bytes() for p in old.iterdir()} == kept
    assert export_folder_for(exports, session) == old, "its own earlier export is refreshed"
    assert export_folder_for(exports, other) == beside


def test_a_failed_write_leaves_no_folder_behind(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = export_files.write_synced

    def flaky(path: Path, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(export_files, "write_synced", flaky)
    parent = tmp_path / "exports"
    parent.mkdir()
    with pytest.raises(ExportError, match="out: disk full"):
        export_session(session, parent / "out")
    assert list(parent.iterdir()) == []  # neither the folder nor a temp folder


# --------------------------------------------------------------------------- the CLI


def _run(argv: list[str], **kwargs: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = sessions_command(argv, stdout=out, stderr=err, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_cli_list_without_a_store_creates_nothing() -> None:
    code, out, err = _run(["list"])
    assert code == 0 and "No saved sessions yet" in out and err == ""
    assert not locations.sessions_db().exists()


def test_cli_list_shows_a_table(session: Session) -> None:
    with SessionStore.open() as store:
        other = store.create_session("x" * 100)
    code, out, err = _run(["list"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "DATE", "TITLE", "MODELS", "VERDICT"]
    assert lines[1].lstrip().startswith(f"{other.id} ")  # newest first
    assert "x" * 100 in lines[1]  # in a pipe every line is kept whole (README)
    row = lines[2]
    assert row.lstrip().startswith(f"{session.id} ")
    assert f"{session.title}  " in row
    assert f"left: {LOCAL_FILE}; right: claude-opus-4-7" in row
    assert row.rstrip().endswith("left")
    code, out, _ = _run(["list", "--limit", "1"])
    assert "(1 of 2; --limit N shows more)" in out


def test_cli_list_keeps_its_columns_in_line_under_wide_characters(session: Session) -> None:
    """A prompt in Chinese or with an emoji is twice as wide on a terminal as its
    length: the columns after it were pushed out of line by one cell per character."""
    from rich.cells import cell_len

    with SessionStore.open() as store:
        store.create_session("画一只骑自行车的鹈鹕")
        store.create_session("a pelican 🦩 on a bike 🚲")
    code, out, err = _run(["list"])
    assert code == 0, err

    def models_column(line: str) -> int:  # in cells
        return cell_len(line[: min(line.index(w) for w in ("MODELS", "left:", "—") if w in line)])

    lines = out.splitlines()
    assert len(lines) == 4 and len({models_column(line) for line in lines}) == 1, out


def test_a_fifo_in_the_export_folder_is_not_read(session: Session, tmp_path: Path) -> None:
    """A FIFO named session.json in the folder: the export opened it to see whether it
    was an earlier export, and waited for a writer that never came."""
    import os
    import threading

    out_dir = tmp_path / "taken"
    out_dir.mkdir()
    fifo = out_dir / "session.json"
    os.mkfifo(fifo)
    read: list[bool] = []
    done = threading.Event()

    def unblock() -> None:  # a reader waiting on the FIFO: note it, and let it go
        while not done.wait(0.05):
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader
                continue
            read.append(True)
            os.write(fd, b"{}")
            os.close(fd)

    writer = threading.Thread(target=unblock, daemon=True)
    writer.start()
    try:
        code, _, err = _run(["export", str(session.id), "--out", str(out_dir)])
    finally:
        done.set()
        writer.join()
    assert not read, "the FIFO was opened for reading"
    assert code == 1 and "already holds other files" in err, err


def test_cli_export_show_and_delete(session: Session, tmp_path: Path) -> None:
    out_dir = tmp_path / "exported"
    renderer = FakeRenderer()
    code, out, err = _run(
        ["export", str(session.id), "--out", str(out_dir), "--width", "300"], renderer=renderer
    )
    assert code == 0, err
    assert f"Exported session {session.id} to {out_dir}" in out
    assert {"session.json", "index.html", "run-card.md", "left.png", "right.png"} <= {
        p.name for p in out_dir.iterdir()
    }
    assert renderer.calls[0][1:] == (300, 300)

    code, out, err = _run(["export", str(session.id), "--out", str(tmp_path)])
    assert code == 1 and "already holds other files" in err and "--force" in err

    code, out, _ = _run(["show", str(session.id)])
    assert code == 0 and LOCAL_INFO["sha256"] in out
    # It said "Picture | none: …" of every run: shown, the card has no files to name.
    assert "| Picture | stored with the run |" in out, out

    code, out, err = _run(["delete", str(session.id)])
    assert code == 2 and "without --yes" in err
    code, out, err = _run(["delete", str(session.id), "--yes"])
    assert code == 0 and f"Deleted session {session.id}, its runs and the votes on them." in out
    code, out, err = _run(["show", str(session.id)])
    assert code == 1
    assert f"no session with id {session.id}" in err and "sessions list" in err


def test_sessions_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """Every other command's --help listed its exit statuses; sessions' none."""
    assert sessions_command(["--help"]) == 0
    said = capsys.readouterr().out
    assert "exit status:\n  0  done\n  1  it could not be done: no session with that id" in said
    assert "  2  bad usage (delete without --yes too)\n" in said


def test_an_export_folder_under_a_file_names_the_file(session: Session, tmp_path: Path) -> None:
    """``--out FILE/x`` said "cannot write FILE/x: File exists" (mkdir's word for a
    parent that is a file), true of neither path."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for out_dir in (a_file / "x", a_file / "x" / "y"):
        code, out, err = _run(["export", str(session.id), "--out", str(out_dir)])
        assert (code, out) == (1, "")
        assert err == (
            f"pelican-tui sessions: export failed: cannot write {out_dir}: {a_file} is a file\n"
        )
    assert a_file.read_text() == "mine"


def test_show_prints_texts_as_written_and_the_exported_card_escapes_them(
    tmp_path: Path,
) -> None:
    # sessions show printed the exported file's Markdown: "no closing &lt;/svg&gt;".
    note = "the SVG is unfinished (no closing </svg>); closed it up"
    with SessionStore.open() as store:
        s = store.create_session("Draw <svg> | a pelican")
        run = store.start_run(s.id, "left", "local", "a.gguf", {"path": "C:\\m\\a.gguf"}, {}, HOST)
        store.finish_run(run, answer="<svg>", svg="<svg></svg>", svg_note=note, png=FAKE_PNG)
    code, out, err = _run(["show", str(s.id)])
    assert code == 0, err
    assert f"| SVG note | {note} |" in out
    assert "| Model path | C:\\m\\a.gguf |" in out
    assert "- **Title:** Draw <svg> | a pelican" in out
    assert "&lt;" not in out and "&gt;" not in out
    assert "index.html" not in out and ".svg files" not in out, "files only an export has"

    with SessionStore.open() as store:
        export_session(store.get_session(s.id), tmp_path / "out", FakeRenderer())
    card = (tmp_path / "out" / "run-card.md").read_text()
    assert "no closing &lt;/svg&gt;" in card and "</svg>" not in card.split("## Prompt")[0]
    assert "| Model path | C:\\\\m\\\\a.gguf |" in card
    assert "- **Title:** Draw &lt;svg&gt; \\| a pelican" in card
    assert "The .svg files are the model's output exactly as written" in card


ENTITY_SVG = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
    '<svg xmlns="http://www.w3.org/2000/svg"><text>&a;</text></svg>'
)


def test_the_real_command_draws_missing_pngs_in_the_sandbox(
    session: Session, tmp_path: Path
) -> None:
    # `pelican-tui sessions export` as a user runs it: no renderer is passed
    # in, so the command must draw the right run's PNG (an SVG, no stored
    # picture) in the sandboxed worker, at --width.
    with SessionStore.open() as store:
        refused = store.create_session("a refused SVG")
        run = store.start_run(refused.id, "left", "claude", "claude-opus-4-7", {}, {}, HOST)
        store.finish_run(run, answer=ENTITY_SVG, svg=ENTITY_SVG)

    def export(session_id: int, out_dir: Path, *flags: str) -> subprocess.CompletedProcess[str]:
        argv = ["sessions", "export", str(session_id), "--out", str(out_dir), *flags]
        return subprocess.run(
            [sys.executable, "-m", "pelican_tui", *argv],
            capture_output=True,
            text=True,
            timeout=120,
        )

    out_dir = tmp_path / "exported"
    done = export(session.id, out_dir, "--width", "200")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    with Image.open(out_dir / "right.png") as image:
        assert image.format == "PNG" and image.size == (200, 200)
        colours = {colour for _, colour in image.convert("RGB").getcolors(200 * 200) or []}
    assert (255, 192, 203) in colours, "the pink body the right run's SVG draws"
    assert (out_dir / "left.png").read_bytes() == FAKE_PNG, "a stored PNG is copied as it is"
    assert "right.png (rendered at export)" in (out_dir / "run-card.md").read_text()
    document = json.loads((out_dir / "session.json").read_text())
    files = {run["slot"]: run["files"] for run in document["runs"]}
    assert files["right"] == {"svg": "right.svg", "png": "right.png", "png_source": "rendered"}
    assert files["left"]["png_source"] == "stored"

    # A refused SVG: the export still happens and says why there is no PNG.
    refused_dir = tmp_path / "refused"
    done = export(refused.id, refused_dir)
    assert done.returncode == 0, done.stderr
    # Said as a note of what the export holds, not as the command's failure.
    assert done.stderr.startswith(
        "note: left: the SVG could not be rendered (the SVG uses XML entities"
    ), done.stderr
    assert "pelican-tui sessions:" not in done.stderr, done.stderr
    assert sorted(p.name for p in refused_dir.iterdir()) == [
        "index.html",
        "left.svg",
        "run-card.md",
        "session.json",
    ]
    page = (refused_dir / "index.html").read_text()
    assert "<img" not in page
    assert (
        "<strong>No picture: the SVG could not be drawn</strong><p>The SVG uses XML entities"
        in page
    )
    card = (refused_dir / "run-card.md").read_text()
    assert "| PNG file | none: the SVG could not be drawn (the SVG uses XML entities" in card

    done = export(session.id, tmp_path / "zero", "--width", "0")
    assert done.returncode == 2 and "--width: 0 is not from 1 to 8192" in done.stderr


async def test_the_app_exports_with_the_same_renderer_and_says_why(tmp_path: Path) -> None:
    """`o`, then `e` on a session in the real app: the PNG missing from the store is drawn
    in the sandbox, and a picture it refuses says why in the notification and on the page."""
    from _app_support import make_app, wait_for

    from pelican_tui.screens.sessions_screen import SessionsScreen

    with SessionStore.open() as store:
        s = store.create_session("p")
        left = store.start_run(s.id, "left", "claude", "claude-opus-4-7", {}, {}, HOST)
        store.finish_run(left, answer=ENTITY_SVG, svg=ENTITY_SVG)
        right = store.start_run(s.id, "right", "local", LOCAL_FILE, LOCAL_INFO, {}, HOST)
        store.finish_run(right, answer=PELICAN_SVG, svg=PELICAN_SVG)
    folder = locations.exports_dir() / f"session-{s.id}"
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("o")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), 5)
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        assert await wait_for(pilot, lambda: screen.loaded, 10)
        await pilot.press("e")
        assert await wait_for(pilot, lambda: (folder / "index.html").exists(), 60)
        await app.workers.wait_for_complete()
        await pilot.pause()
        notes = [n for n in app.notices if n.title == "Export"]
    assert len(notes) == 1 and notes[0].severity == "warning"
    *said, note = notes[0].message.splitlines()
    assert said[0] == "Exported 6 files to" and "".join(said[1:]) == str(folder)
    assert note == (
        "left: the SVG could not be rendered (the SVG uses XML entities, which are not allowed)"
    )
    articles = _articles((folder / "index.html").read_text())
    refused = articles["Left · claude · claude-opus-4-7"]
    assert "<img" not in refused
    assert "<p>The SVG uses XML entities, which are not allowed.</p>" in refused
    with Image.open(folder / "right.png") as image:  # drawn by the app's own render worker
        assert image.format == "PNG" and image.size == (1024, 1024)


async def test_the_apps_export_notice_breaks_its_path_between_folders_at_80_columns() -> None:
    """At 80 columns the notice broke the folder's path where the line ended, inside
    a name ("…/data/exports/se" over "ssion-7"); now it folds after a "/"."""
    from _app_support import make_app, wait_for
    from textual.geometry import Region
    from textual.widgets._toast import Toast

    from pelican_tui.screens.sessions_screen import SessionsScreen

    with SessionStore.open() as store:
        s = store.create_session("p")
        run = store.start_run(s.id, "left", "local", LOCAL_FILE, LOCAL_INFO, {}, HOST)
        store.finish_run(run, answer="no svg")
    folder = locations.exports_dir() / f"session-{s.id}"
    assert len(str(folder)) > 40  # longer than a notice's line at 80 columns
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("o")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), 5)
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        assert await wait_for(pilot, lambda: screen.loaded, 10)
        await pilot.press("e")
        assert await wait_for(pilot, lambda: bool(app.screen.query(Toast)), 60)
        await pilot.pause()
        [toast] = app.screen.query(Toast)
        shown = [strip.text for strip in toast.render_lines(Region(0, 0, *toast.size))]
    lines = [line.strip(" ▌▐") for line in shown]
    lines = [line for line in lines if line]
    start = lines.index("Exported 3 files to")  # the path on lines of its own
    rest = lines[start + 1 :]
    ends = [n for n in range(1, len(rest) + 1) if "".join(rest[:n]) == str(folder)]
    assert ends, shown
    path_lines = rest[: ends[0]]
    assert all(line.endswith("/") for line in path_lines[:-1]), shown


async def test_a_second_x_says_it_replaced_the_first_export() -> None:
    """`x` twice on one comparison wrote the second export over the first without a
    word: a page edited since, or pictures of runs made since, were gone. The folder
    is still refreshed (as `sessions export` refreshes its own earlier export), and
    the second notice now says the earlier export was replaced."""
    from _app_support import make_app, wait_for

    with SessionStore.open() as store:
        s = store.create_session("p")
        run = store.start_run(s.id, "left", "local", LOCAL_FILE, LOCAL_INFO, {}, HOST)
        store.finish_run(run, answer="no svg")
    folder = locations.exports_dir() / f"session-{s.id}"
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        for count in (1, 2):
            app.action_export(s.id)
            assert await wait_for(pilot, lambda n=count: len(app.notices) == n, 60)
            await app.workers.wait_for_complete()
            if count == 1:
                (folder / "index.html").write_text("my notes")
        first, second = (n.message.splitlines() for n in app.notices)
    replaced = "it replaced the session's earlier export there (changes made to it are gone)"
    assert replaced not in first, first
    assert second[-1] == replaced, second
    assert (folder / "index.html").read_text() != "my notes"
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


def test_sessions_export_to_its_earlier_export_says_it_replaced_it(
    session: Session, tmp_path: Path
) -> None:
    """The command line refreshes its own earlier export as `x` does, and says it too."""
    out_dir = tmp_path / "exported"
    argv = ["export", str(session.id), "--out", str(out_dir)]
    code, _, err = _run(argv, renderer=FakeRenderer())
    assert code == 0 and "replaced" not in err, err
    code, out, err = _run(argv, renderer=FakeRenderer())
    assert code == 0 and f"Exported session {session.id} to {out_dir}" in out
    assert "note: it replaced the session's earlier export there" in err, err


def test_cli_unknown_and_malformed_ids(session: Session, tmp_path: Path) -> None:
    for argv, code, message in (
        (["export", "999", "--out", str(tmp_path / "x")], 1, "no session with id 999"),
        (["delete", "999", "--yes"], 1, "no session with id 999"),
        (["export", "abc", "--out", str(tmp_path / "x")], 2, "'abc' is not a session id"),
        (["export", "1"], 2, "the following arguments are required: --out"),
        ([], 2, "usage: pelican-tui sessions"),
        (["frobnicate"], 2, "invalid choice"),
    ):
        got, out, err = _run(argv)
        assert (got, out) == (code, ""), argv
        assert message in err, (argv, err)
    assert not (tmp_path / "x").exists()
    assert _run(["list"])[0] == 0  # the session is still there


def test_cli_refuses_a_newer_store(session: Session) -> None:
    import sqlite3

    conn = sqlite3.connect(locations.sessions_db())
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    conn.close()
    code, out, err = _run(["list"])
    assert code == 1 and "schema version 7" in err and out == ""


def test_cli_reports_a_corrupt_store_and_leaves_it_where_it_is() -> None:
    """``sessions list`` moved a damaged store aside, from under an app that had it
    open (which went on writing to the moved file) and said "No saved sessions yet"."""
    db = locations.sessions_db()
    locations.ensure(db.parent)
    junk = b"\x00junk" * 500
    db.write_bytes(junk)
    for argv in (["list"], ["show", "1"], ["export", "1", "--out", "x"]):
        code, out, err = _run(argv)
        assert code == 1 and out == "", argv
        assert f"the session store {db} is damaged" in err and "left as it is" in err
    assert db.read_bytes() == junk
    assert not list(db.parent.glob("*.corrupt-*"))
    with SessionStore.open(db) as store:  # the app (or run) moves it aside
        assert store.moved_corrupt_to is not None


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("UPDATE sessions SET created_at = 'garbage'", "('garbage' is not a time)"),
        ("UPDATE runs SET model_info = '{bad json'", "('{bad json' is not JSON)"),
        ("UPDATE runs SET started_at = 'soon'", "('soon' is not a time)"),
        ("UPDATE sessions SET prompt = x'ff00'", "(b'\\xff\\x00' is not text, in column prompt)"),
        ("UPDATE runs SET answer = x'ff'", "(b'\\xff' is not text, in column answer)"),
    ],
)
def test_a_value_damaged_by_hand_is_one_line_not_a_traceback(damage: str, said: str) -> None:
    db = locations.sessions_db()
    with SessionStore.open(db) as store:
        session_id = store.create_session("Generate an SVG of a pelican riding a bicycle").id
        store.start_run(session_id, "left", "local", "m.gguf")
    conn = sqlite3.connect(db)
    conn.execute(damage)
    conn.commit()
    conn.close()
    for argv in (["list"], ["show", str(session_id)], ["export", str(session_id), "--out", "x"]):
        code, out, err = _run(argv)
        if code == 0:  # list reads no runs: a run's damage shows where runs are read
            assert "created_at" not in damage, argv
            continue
        assert code == 1 and out == "", (argv, err)
        assert err.startswith("pelican-tui sessions: the session store holds a damaged value "), err
        assert said in err and "Traceback" not in err, err


def test_an_empty_file_with_no_record_of_a_store_is_left_empty() -> None:
    """``sessions list``, which promises not to create the store, wrote a schema into an
    empty sessions.sqlite3 (made by hand, or by the app a moment before it opened it)."""
    db = locations.sessions_db()
    locations.ensure(db.parent)
    db.write_bytes(b"")
    code, out, err = _run(["list"])
    assert code == 0 and "No saved sessions yet" in out and err == ""
    assert db.read_bytes() == b"" and not list(db.parent.glob("sessions.sqlite3-*"))
    with SessionStore.open(db) as store:  # the app (or run) makes its store there
        assert store.list_sessions() == [] and not store.notices


def test_a_store_emptied_since_its_clean_close_is_not_taken_for_a_new_one() -> None:
    db = locations.sessions_db()
    with SessionStore.open(db) as store:
        store.create_session("Generate an SVG of a pelican riding a bicycle")
    db.write_bytes(b"")  # `: > sessions.sqlite3`
    code, out, err = _run(["list"])
    assert out == ""
    assert code == 1 and "the file is empty, but held" in err, err
    with SessionStore.open(db) as store:
        assert store.moved_corrupt_to is not None
        assert "The session store was damaged" in store.notices[0]


def test_session_dataclasses_are_frozen(session: Session) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.verdict = "tie"  # type: ignore[misc]


def test_a_folder_that_cannot_be_made_is_said_for_the_folder(
    session: Session, tmp_path: Path
) -> None:
    """The error named a temporary file (``.sub.umb5gcjo.tmp``) or came as raw errno text."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ExportError, match=r"^cannot write .*a-file/sub: "):
        export_session(session, blocker / "sub")
