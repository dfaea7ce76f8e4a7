"""One model name on two servers is two configurations (ratings, the leaderboard,
the gallery's titles), through the real store, the real ratings code, the command
line and the real app.

The runs are stored with the ``model_info`` the engine's sides record
(:mod:`pelican_tui.backends.engine.sides`): an attached server's URL, kind and model
facts; the spawned llama-server's file, path and sha256.
"""

from __future__ import annotations

from typing import Any

import pytest
from _app_support import make_app, wait_for
from _evidence_support import CLAUDE_MODEL, PROMPT, screen_text

from pelican_tui.backends import locations
from pelican_tui.backends.export.evidence import gather_evidence
from pelican_tui.backends.ratings.configuration import configuration_of, run_labels
from pelican_tui.backends.ratings.export import vote_records
from pelican_tui.backends.ratings.leaderboard import leaderboard, unrated
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.cli import main
from pelican_tui.screens.leaderboard_screen import LeaderboardScreen

GGUF = "Qwen3-8B-Q4_K_M.gguf"


def _ollama(url: str = "http://127.0.0.1:11434") -> tuple[str, str, dict[str, Any]]:
    return (
        "openai",
        "qwen3:8b",
        {
            "model": "qwen3:8b",
            "url": url,
            "served_model": "qwen3:8b",
            "server_kind": "Ollama",
            "server_version": "0.12.3",
            "quant": "Q4_K_M",
        },
    )


LM_STUDIO = (
    "openai",
    "qwen3:8b",
    {
        "model": "qwen3:8b",
        "url": "http://localhost:1234",
        "served_model": "qwen3:8b",
        "server_kind": "LM Studio",
        "quant": "Q4_K_M",
    },
)
CLAUDE = ("claude", CLAUDE_MODEL, {"model": CLAUDE_MODEL})


def _spawned(
    sha256: str = "1a2b3c4d" * 8, path: str = f"/models/{GGUF}"
) -> tuple[str, str, dict[str, Any]]:
    name = path.rpartition("/")[2]
    info = {"model": name, "file": name, "path": path, "sha256": sha256, "quant": "Q4_K_M"}
    return "local", name, info | {"server_kind": "llama.cpp"}


ATTACHED_LLAMA = (
    "local",
    GGUF,
    {
        "model": GGUF,
        "url": "http://127.0.0.1:8080",
        "served_model": GGUF,
        "server_kind": "llama.cpp",
        "quant": "Q4_K_M",  # what it says it serves: it was asked its model by that name
    },
)


def _run(store: SessionStore, session_id: int, slot: str, setup: tuple[Any, ...]) -> int:
    backend, model_id, info = setup
    settings = {"thinking": True, "effort": "high"} if backend == "claude" else {"thinking": True}
    run = store.start_run(session_id, slot, backend, model_id, info, settings, {})
    store.finish_run(run, svg="<svg/>", answer="<svg/>", png=b"\x89PNG")
    return run


def _votes(
    store: SessionStore, a: tuple[Any, ...], b: tuple[Any, ...], winner: str, times: int
) -> None:
    for _ in range(times):
        session = store.create_session(PROMPT)
        left, right = _run(store, session.id, "left", a), _run(store, session.id, "right", b)
        store.add_vote(left, right, winner, blind=True)  # type: ignore[arg-type]


def _two_servers(store: SessionStore) -> None:
    """qwen3:8b on Ollama beats Claude five times; on LM Studio it loses five times."""
    _votes(store, _ollama(), CLAUDE, "a", 5)
    _votes(store, LM_STUDIO, CLAUDE, "b", 5)


OLLAMA_LABEL = "qwen3:8b (Ollama server) · thinking on"
LM_STUDIO_LABEL = "qwen3:8b (LM Studio server) · thinking on"


def test_one_model_name_on_two_servers_is_rated_as_two() -> None:
    """Ollama's and LM Studio's qwen3:8b were one row: their votes pooled, 5 wins and
    5 losses, rated as Claude's equal. Now each is rated on its own votes, named by
    the server it ran on."""
    with SessionStore.open(locations.sessions_db()) as store:
        _two_servers(store)
        session = store.create_session(PROMPT)  # the two servers against each other
        ollama = _run(store, session.id, "left", _ollama())
        lm_studio = _run(store, session.id, "right", LM_STUDIO)
        assert unrated(*store.run_headers([ollama, lm_studio]).values()) is None
        store.add_vote(ollama, lm_studio, "a", blind=True)
        board = leaderboard(store, min_votes=1)
    rows = {row.configuration.label: row for row in board.rows}
    assert set(rows) == {OLLAMA_LABEL, LM_STUDIO_LABEL, f"{CLAUDE_MODEL} · thinking high"}
    assert (rows[OLLAMA_LABEL].wins, rows[OLLAMA_LABEL].losses) == (6, 0)
    assert (rows[LM_STUDIO_LABEL].wins, rows[LM_STUDIO_LABEL].losses) == (0, 6)
    assert board.ranked[0].configuration.label == OLLAMA_LABEL
    assert board.same_configuration == 0 and board.counted == 11


def test_the_spawned_file_and_an_attached_server_under_its_name_are_two() -> None:
    """An attached llama.cpp serving another file under the spawned one's name (and
    saying the same quantization) was rated as the spawned GGUF: a vote between them
    was left out as "one configuration"."""
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.create_session(PROMPT)
        spawned = _run(store, session.id, "left", _spawned())
        attached = _run(store, session.id, "right", ATTACHED_LLAMA)
        headers = store.run_headers([spawned, attached])
        assert unrated(headers[spawned], headers[attached]) is None
        runs = [store.get_run(spawned), store.get_run(attached)]
    assert configuration_of(runs[0]).key != configuration_of(runs[1]).key
    assert run_labels(runs) == [
        "Qwen3-8B-Q4_K_M (spawned) · thinking on",
        "Qwen3-8B-Q4_K_M (llama.cpp server) · thinking on",
    ]


def test_one_server_however_written_and_one_file_wherever_it_lies_stay_one() -> None:
    """What tells runs apart is where they ran, not how that was written: one Ollama
    at "localhost" and at "127.0.0.1/v1/" is one configuration, and so is one GGUF
    (one sha256) copied or renamed; two files of one name are two."""
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.create_session(PROMPT)
        ids = [
            _run(store, session.id, "left", _ollama("http://localhost:11434")),
            _run(store, session.id, "right", _ollama("127.0.0.1:11434/v1/")),
            _run(store, session.id, "left", _spawned()),
            _run(store, session.id, "right", _spawned(path=f"/elsewhere/{GGUF}")),
            _run(store, session.id, "left", _spawned(path="/elsewhere/renamed-Q4_K_M.gguf")),
            _run(store, session.id, "right", _spawned(sha256="99" * 32)),
        ]
        runs = [store.get_run(run_id) for run_id in ids]
    keys = [configuration_of(run).key for run in runs]
    assert keys[0] == keys[1]
    assert keys[2] == keys[3] == keys[4]
    assert keys[5] != keys[2]
    labels = run_labels([runs[2], runs[5]])
    assert labels == [
        "Qwen3-8B-Q4_K_M (sha256 1a2b3c4d) · thinking on",
        "Qwen3-8B-Q4_K_M (sha256 99999999) · thinking on",
    ]
    # Alone, or beside other models, a label says nothing of where it ran.
    assert run_labels(runs[:1] + runs[2:3]) == [
        "qwen3:8b (server) · thinking on",
        "Qwen3-8B-Q4_K_M · thinking on",
    ]


def test_runs_stored_without_where_they_ran_group_as_before() -> None:
    """Runs stored before their server or file was recorded keep their one
    configuration and its label."""
    old_served = ("openai", "qwen3:8b", {"served_model": "qwen3:8b"})
    old_local = ("local", GGUF, {"file": GGUF, "quant": "Q4_K_M"})
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.create_session(PROMPT)
        ids = [
            _run(store, session.id, slot, setup)
            for setup in (old_served, old_local)
            for slot in ("left", "right")
        ]
        runs = [store.get_run(run_id) for run_id in ids]
    configs = [configuration_of(run) for run in runs]
    assert configs[0] == configs[1] and configs[2] == configs[3]
    assert [c.label for c in configs] == [
        "qwen3:8b (server) · thinking on",
        "qwen3:8b (server) · thinking on",
        "Qwen3-8B-Q4_K_M · thinking on",
        "Qwen3-8B-Q4_K_M · thinking on",
    ]
    assert configs[0].key == "openai|qwen3:8b|think"
    assert configs[2].key == f"local|{GGUF}|Q4_K_M|think"


def test_exports_name_the_two_servers_as_the_leaderboard_does() -> None:
    """votes.csv's labels and the evidence page's pictures named both "qwen3:8b
    (server) · thinking on"; now by their server, as the leaderboard's rows."""
    with SessionStore.open(locations.sessions_db()) as store:
        _two_servers(store)
        records = vote_records(store)
        evidence = gather_evidence(store, prompt=PROMPT, min_votes=1)
    assert {r.label_a for r in records} == {OLLAMA_LABEL, LM_STUDIO_LABEL}
    assert len({r.configuration_a for r in records}) == 2
    (shown,) = evidence.prompts
    labels = {picture.configuration.label for picture in shown.pictures}
    assert labels == {OLLAMA_LABEL, LM_STUDIO_LABEL, f"{CLAUDE_MODEL} · thinking high"}


def test_the_command_line_names_the_two_servers_as_the_app_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with SessionStore.open(locations.sessions_db()) as store:
        _two_servers(store)
    assert main(["leaderboard", "--min-votes", "1"]) == 0
    out = capsys.readouterr().out
    assert OLLAMA_LABEL in out and LM_STUDIO_LABEL in out, out


async def test_the_leaderboard_screen_rates_one_model_on_two_servers_apart() -> None:
    """At 80 columns the board had one "qwen3:8b (server)" row rated as Claude's equal
    (5/5/0); now a row for each server, each named whole (its thinking folded under
    it where the column is too narrow for the name and the thinking on one line)."""
    with SessionStore.open(locations.sessions_db()) as store:
        _two_servers(store)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("L")
        assert await wait_for(pilot, lambda: isinstance(app.screen, LeaderboardScreen), 10)
        board = app.screen
        assert isinstance(board, LeaderboardScreen)
        assert await wait_for(pilot, lambda: board.board is not None, 20)
        await pilot.pause()
        text = screen_text(app)
    assert board.board is not None
    assert {OLLAMA_LABEL, LM_STUDIO_LABEL} <= {r.configuration.label for r in board.board.rows}
    lines = text.splitlines()
    for name, record in (
        ("qwen3:8b (Ollama server)", "5/0/0"),
        ("qwen3:8b (LM Studio server)", "0/5/0"),
    ):
        at = next(i for i, line in enumerate(lines) if name in line)
        assert record in lines[at] and "· thinking on" in lines[at + 1], text
