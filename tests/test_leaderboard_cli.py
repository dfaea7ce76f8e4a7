"""``pelican-tui leaderboard`` on a store filled with real sessions, runs and votes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pelican_tui.backends import locations
from pelican_tui.backends.ratings.leaderboard import leaderboard
from pelican_tui.backends.store.records import Winner
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.cli import main

PELICAN = "Generate an SVG of a pelican riding a bicycle"
SECRET_PROMPT = "The prompt nobody may train on"
QWEN = "Qwen3.6-35B-A3B-Q4_K_M.gguf"
SETUPS: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
    "qwen": ("local", QWEN, {"file": QWEN, "quant": "Q4_K_M"}, {"thinking": True}),
    "qwen-plain": ("local", QWEN, {"file": QWEN, "quant": "Q4_K_M"}, {"thinking": False}),
    "claude": ("claude", "claude-opus-4-7", {}, {"thinking": True, "effort": "high"}),
    "smol": ("local", "SmolLM2.gguf", {"file": "SmolLM2.gguf", "quant": "Q4_1"}, {}),
}


def _vote(
    store: SessionStore,
    a: str,
    b: str,
    winner: Winner,
    *,
    prompt: str = PELICAN,
    judge: str | None = None,
    private: bool = False,
) -> None:
    session = store.create_session(prompt, private=private, prompt_set="mine" if private else None)
    runs = []
    for slot, setup in (("left", a), ("right", b)):
        backend, model_id, info, settings = SETUPS[setup]
        run = store.start_run(session.id, slot, backend, model_id, info, settings, {})  # type: ignore[arg-type]
        store.finish_run(run, svg="<svg/>", answer="<svg/>", png=b"\x89PNG")
        runs.append(run)
    store.add_vote(runs[0], runs[1], winner, blind=True, judge=judge)


@pytest.fixture
def filled() -> Path:
    """A store with the user's votes (three ranked configurations, one not) and a judge's."""
    with SessionStore.open() as store:
        for _ in range(6):
            _vote(store, "claude", "qwen", "a")
        for _ in range(4):
            _vote(store, "qwen", "qwen-plain", "a")
        _vote(store, "qwen-plain", "claude", "tie")
        _vote(store, "smol", "qwen-plain", "both_bad")
        _vote(store, "smol", "qwen-plain", "b")
        for _ in range(3):
            _vote(store, "qwen", "claude", "a", judge="claude-opus-4-7")
        _vote(store, "qwen", "claude", "b", prompt=SECRET_PROMPT, private=True)
        return store.path


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["leaderboard", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_table_ranks_then_lists_the_rest(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _main(capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Leaderboard from your votes on every prompt: 14 votes, 95%")
    assert "RANK" in lines[2] and "95% INTERVAL" in lines[2] and "W/L/T" in lines[2]
    ranked = [line.split() for line in lines[3:6]]
    assert [row[:2] for row in ranked] == [
        ["1", "claude-opus-4-7"],
        ["2", "Qwen3.6-35B-A3B-Q4_K_M"],
        ["3", "Qwen3.6-35B-A3B-Q4_K_M"],
    ]
    assert "thinking on" in lines[4] and "thinking off" in lines[5]
    with SessionStore.open(filled) as store:
        board = leaderboard(store)
    top = board.ranked[0]
    assert f"{top.rating:.0f}  {top.low:.0f}..{top.high:.0f}" in lines[3]
    # Six wins and a tie on the pelican, a win on the private prompt.
    assert top.votes == 8 and lines[3].rstrip().endswith("8  7/0/1")
    assert "Not ranked (fewer than 5 votes):" in out
    assert "SmolLM2 Q4_1 · thinking off" in out
    assert "(too few votes: 2 of 5)  W/L/T 0/1/1 (1 both bad)" in out


def test_ratings_that_read_alike_share_a_rank_and_no_interval_is_made_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A tie was ranked "1 claude… 1000" then "2 SmolLM… 1000", and one tie vote gave the
    # interval "1000..1000": every resample of one vote is that vote.
    with SessionStore.open() as store:
        _vote(store, "qwen", "qwen-plain", "a")
        _vote(store, "claude", "smol", "tie")
    ratings = tmp_path / "ratings.csv"
    code, out, err = _main(capsys, "--min-votes", "1", "--csv", str(ratings))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    ranked = [line.split() for line in lines[3:7]]
    assert [(row[0], row[1]) for row in ranked] == [
        ("1", "Qwen3.6-35B-A3B-Q4_K_M"),
        ("2", "claude-opus-4-7"),
        ("2", "SmolLM2"),
        ("4", "Qwen3.6-35B-A3B-Q4_K_M"),
    ]
    for line in lines[4:6]:
        assert "  1000  unknown  " in line, line
    assert "1000..1000" not in out
    assert re.search(r"  \d+\.\.\d+  ", lines[3]), "resampling moves the winner: an interval"
    assert "Interval unknown: the votes cannot give one (every resample of them gave the" in out
    with ratings.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["rank"], r["low"], r["high"]) for r in rows[1:3]] == [("2", "", "")] * 2
    assert [r["rank"] for r in rows] == ["1", "2", "2", "4"]

    code, out, _ = _main(capsys, "--min-votes", "1", "--json")
    document = json.loads(out)
    assert document["format_version"] == 2, "null intervals and shared ranks are new"
    assert [row["rank"] for row in document["rows"]] == [1, 2, 2, 4]
    assert [(row["low"], row["high"]) for row in document["rows"][1:3]] == [(None, None)] * 2
    assert document["rows"][0]["low"] is not None


def test_json_has_the_ratings_and_the_votes_counts(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _main(capsys, "--json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    with SessionStore.open(filled) as store:
        board = leaderboard(store)
    assert document["format"] == "pelican-tui-leaderboard"
    assert (document["votes_counted"], document["judge"], document["agreement"]) == (
        14,
        False,
        None,
    )
    assert [row["rank"] for row in document["rows"]] == [1, 2, 3, None]
    for row, expected in zip(document["rows"], board.rows, strict=True):
        assert row["label"] == expected.configuration.label
        assert row["rating"] == pytest.approx(expected.rating, abs=0.05)
        assert (row["low"], row["high"]) == pytest.approx((expected.low, expected.high), abs=0.05)
        assert (row["votes"], row["wins"], row["losses"]) == (
            expected.votes,
            expected.wins,
            expected.losses,
        )
        assert (row["ties"], row["both_bad"], row["ranked"]) == (
            expected.ties,
            expected.both_bad,
            expected.ranked,
        )


def test_judge_and_prompt(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(capsys, "--judge", "--min-votes", "3")
    assert code == 0
    assert out.startswith("Leaderboard from the judge's votes on every prompt: 3 votes")
    assert "Agreement with your votes: no pair that both of you voted on." in out
    code, out, _ = _main(capsys, "--prompt", SECRET_PROMPT, "--min-votes", "1")
    assert code == 0
    assert "one prompt (from a private set): 1 vote," in out and SECRET_PROMPT not in out
    code, out, _ = _main(capsys, "--prompt", PELICAN, "--json")
    document = json.loads(out)
    assert (document["prompt"], document["votes_counted"]) == (PELICAN, 13)


def test_csv_and_votes_files_never_hold_a_private_prompt(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ratings, votes, votes_json = tmp_path / "r.csv", tmp_path / "v.csv", tmp_path / "v.json"
    code, out, _ = _main(capsys, "--csv", str(ratings), "--votes", str(votes))
    assert code == 0 and f"Wrote {ratings}" in out and f"Wrote {votes}" in out
    rows = list(csv.DictReader(ratings.open(encoding="utf-8")))
    assert [row["rank"] for row in rows] == ["1", "2", "3", ""]
    assert rows[0]["label"] == "claude-opus-4-7 · thinking high"
    table = list(csv.DictReader(votes.open(encoding="utf-8")))
    assert len(table) == 14
    assert sum(row["private"] == "true" for row in table) == 1
    assert {row["prompt"] for row in table} == {PELICAN, ""}
    code, _, err = _main(
        capsys,
        "--prompt",
        SECRET_PROMPT,
        "--json",
        "--votes",
        str(votes_json),
        "--csv",
        str(ratings),
        "--force",  # ratings is the file written above
    )
    assert code == 0 and f"Wrote {votes_json}" in err
    written = votes_json.read_text(encoding="utf-8") + ratings.read_text(encoding="utf-8")
    assert SECRET_PROMPT not in written
    assert json.loads(votes_json.read_text())["votes"][0]["prompt"] is None


def test_a_dash_prints_the_csv_instead_of_the_table(
    filled: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--csv -` wrote a file named "-" and said "Wrote -"; render's `-o -` is
    standard output, and so is it now (for `| column -s, -t`, a spreadsheet)."""
    monkeypatch.chdir(tmp_path)
    code, out, err = _main(capsys, "--csv", "-")
    assert (code, err) == (0, "") and not (tmp_path / "-").exists()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["label"] == "claude-opus-4-7 · thinking high" and "RANK" not in out
    votes = tmp_path / "v.csv"
    code, out, err = _main(capsys, "--votes", "-", "--csv", str(votes))
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 14
    assert err == f"Wrote {votes}\n", "said apart from the printed CSV"
    code, out, err = _main(capsys, "--json", "--csv", "-")
    assert (code, out) == (2, "") and "one of --json, --csv -, --votes - at a time" in err


def test_no_store_yet_is_no_votes_yet(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _main(capsys)
    assert (code, err) == (0, "")
    assert "No votes yet" in out and str(locations.sessions_db()) in out
    assert not locations.sessions_db().exists()
    code, out, _ = _main(capsys, "--judge")  # it sent the user to vote in the TUI
    assert code == 0 and "No judge votes yet: `pelican-tui judge` asks" in out
    code, out, _ = _main(capsys, "--json")
    assert code == 0 and json.loads(out)["rows"] == []
    code, _, err = _main(capsys, "--prompt", PELICAN)
    assert code == 1 and "no session has the prompt" in err


def test_an_unknown_prompt_names_the_prompts_there_are(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --prompt no session has sent the user to 'pelican-tui sessions list', whose
    PROMPT column shows titles ("tiny/sun · local vs claude · thinking o…"), not the
    prompts --prompt takes: the error names them itself, never a private one."""
    code, out, err = _main(capsys, "--prompt", "pelican")
    assert (code, out) == (1, "")
    assert err.strip() == (
        "pelican-tui leaderboard: no session has the prompt 'pelican'; the sessions' "
        f"prompts: {PELICAN!r} (and 1 from a private prompt set)"
    ), err
    assert "sessions list" not in err and SECRET_PROMPT not in err


def test_exit_statuses(filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _main(capsys, "--prompt", "a prompt nobody used")
    assert code == 1 and "no session has the prompt 'a prompt nobody used'" in err
    code, _, err = _main(capsys, "--min-votes", "many")
    assert code == 2 and "'many' is not a number of votes" in err
    code, _, err = _main(capsys, "--bogus")
    assert code == 2 and "unrecognized arguments: --bogus" in err
    code, out, err = _main(capsys, "--csv", str(tmp_path / "missing" / "r.csv"))
    assert code == 2 and out == "" and f"cannot write {tmp_path / 'missing' / 'r.csv'}" in err
    code, out, _ = _main(capsys, "--help")
    assert code == 0 and "exit status:" in out and "2  bad usage" in out
    # A store from a newer pelican-tui cannot be used.
    with sqlite3.connect(filled) as conn:
        conn.execute("PRAGMA user_version = 99")
    code, out, err = _main(capsys)
    assert code == 1 and out == "" and "newer than this pelican-tui understands" in err


def test_the_installed_command_runs_it(filled: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pelican_tui", "leaderboard", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["votes_counted"] == 14
    listed = subprocess.run(
        [sys.executable, "-m", "pelican_tui", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "leaderboard" in listed.stdout


def test_a_private_prompt_typed_by_hand_is_still_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A prompt from a private set is private wherever it is used, as on the evidence
    page: a session of the same text typed by hand does not write it out."""
    with SessionStore.open() as store:
        _vote(store, "qwen", "claude", "a", prompt=SECRET_PROMPT, private=True)
        _vote(store, "qwen", "claude", "b", prompt=SECRET_PROMPT)  # typed by hand
    votes = tmp_path / "v.csv"
    code, out, _ = _main(capsys, "--votes", str(votes))
    assert code == 0
    table = list(csv.DictReader(votes.open(encoding="utf-8")))
    assert [(row["winner"], row["private"], row["prompt"]) for row in table] == [
        ("a", "true", ""),
        ("b", "true", ""),
    ]
    assert SECRET_PROMPT not in votes.read_text(encoding="utf-8") + out


def test_the_votes_file_joins_the_ratings_file(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """votes.csv named each configuration by its label where ratings.csv has its key,
    so the two files could not be joined."""
    ratings, votes = tmp_path / "r.csv", tmp_path / "v.csv"
    assert _main(capsys, "--csv", str(ratings), "--votes", str(votes))[0] == 0
    labels = {row["configuration"]: row["label"] for row in csv.DictReader(ratings.open())}
    table = list(csv.DictReader(votes.open(encoding="utf-8")))
    assert list(table[0])[6:10] == ["configuration_a", "label_a", "configuration_b", "label_b"]
    for row in table:
        for side in ("a", "b"):
            assert labels[row[f"configuration_{side}"]] == row[f"label_{side}"], row


def test_the_table_fits_an_80_column_terminal_and_keeps_every_label_in_a_pipe(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A served model's long name made the table 105 cells wide: every row wrapped at 80
    columns. Now the label is cut in the middle of the name (its quantization and
    thinking kept, as the TUI's leaderboard does) and the numbers stay whole."""
    from rich.cells import cell_len

    name = "unsloth/Qwen3.6-35B-A3B-Instruct-GGUF:UD-Q4_K_XL"
    SETUPS["served"] = ("local", name, {"quant": "Q4_K_XL"}, {"thinking": True})
    try:
        with SessionStore.open() as store:
            for _ in range(6):
                _vote(store, "claude", "served", "a")
            for _ in range(5):
                _vote(store, "served", "qwen-plain", "a")
            _vote(store, "smol", "qwen-plain", "b")
    finally:
        del SETUPS["served"]
    code, whole, _ = _main(capsys)
    assert code == 0 and f"{name} · thinking on" in whole, whole
    assert max(cell_len(line) for line in whole.splitlines()) > 80, whole
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _main(capsys)
    assert code == 0 and max(cell_len(line) for line in out.splitlines()) <= 80, out
    [served] = [line for line in out.splitlines() if "UD-Q4_K_XL · thinking on" in line]
    assert "…" in served and served.split()[0] == "2", served
    assert served.split()[-4:] == whole.splitlines()[4].split()[-4:], (served, whole)
    assert out.splitlines()[-1].endswith("W/L/T 0/1/0"), out


def test_a_file_that_exists_is_kept_unless_force(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--csv and --votes wrote over a file that was there, without a word; as run's and
    sessions export's --out, an existing target is refused (nothing written) unless
    --force. /dev/null is no file to keep."""
    ratings, votes = tmp_path / "r.csv", tmp_path / "v.json"
    votes.write_text("mine\n")
    code, out, err = _main(capsys, "--csv", str(ratings), "--votes", str(votes))
    assert (code, out) == (2, "")
    assert f"--votes {votes} exists; choose a new name or add --force" in err
    assert votes.read_text() == "mine\n" and not ratings.exists(), "nothing written"
    assert _main(capsys, "--csv", str(ratings), "--votes", str(votes), "--force")[0] == 0
    assert json.loads(votes.read_text())
    code, _, err = _main(capsys, "--csv", str(ratings))
    assert code == 2 and f"--csv {ratings} exists" in err
    assert _main(capsys, "--csv", os.devnull)[0] == 0


def test_csv_and_votes_naming_one_file_is_bad_usage_and_writes_nothing(
    filled: Path, tmp_path: Path
) -> None:
    """``--csv F --votes F`` (or ``./F`` and ``F``) printed "Wrote F" twice and exited 0,
    the votes written over the ratings. It is refused before anything is written."""
    here = tmp_path / "here"
    here.mkdir()
    for csv_name, votes_name in (("same.csv", "same.csv"), ("./s2.csv", "s2.csv")):
        argv = ["leaderboard", "--csv", csv_name, "--votes", votes_name]
        done = subprocess.run(
            [sys.executable, "-m", "pelican_tui", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=here,
            env=dict(os.environ),
            check=False,
        )
        assert (done.returncode, done.stdout) == (2, ""), done.stdout + done.stderr
        assert done.stderr == (
            f"pelican-tui leaderboard: --csv {Path(csv_name)} and --votes {votes_name} "
            "are the same file; give each its own\n"
        )
        assert list(here.iterdir()) == [], "nothing written"


def test_at_80_columns_a_label_is_cut_in_its_name_alike_in_both_tables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Records naming their "both bad" votes ("1/4/3 (3 both bad)") left the labels 25
    cells: "clau…-4-7 · thinking high", and the stand-in's cut at its end
    ("SmolLM2-135M-Instruct.Q4…", its quantization and "no thinking switch" gone),
    while ``--judge`` cut it another way. Now the records give way first: the name is
    cut in its middle, the quantization and the thinking whole, alike in both. The
    records were then "1/1/4" alone, read as four ties where there was one: they say
    "(3 bad)" now, the count of "both bad" votes kept."""
    stand_in = "SmolLM2-135M-Instruct.Q4_1.gguf"
    no_switch = {"thinking": True, "thinking_switch": "not sent: no thinking switch"}
    SETUPS["stand-in"] = ("local", stand_in, {"file": stand_in, "quant": "Q4_1"}, no_switch)
    try:
        with SessionStore.open() as store:
            for winner in ("a", "both_bad", "both_bad", "both_bad", "b", "tie"):
                _vote(store, "claude", "stand-in", winner)  # type: ignore[arg-type]
                _vote(store, "claude", "stand-in", winner, judge="claude-opus-4-7")  # type: ignore[arg-type]
    finally:
        del SETUPS["stand-in"]
    monkeypatch.setenv("COLUMNS", "80")
    tables = [_main(capsys, *judge)[1] for judge in ((), ("--judge",))]
    rows = []
    for out in tables:
        assert max(len(line) for line in out.splitlines()) <= 80, out
        ranked = [line for line in out.splitlines() if line[:4].strip() in ("1", "2")]
        rows.append([line[6:].split("  ")[0] for line in ranked])
        assert [line.split()[-3:] for line in ranked] == [["1/1/4", "(3", "bad)"]] * 2, out
    assert rows[0] == rows[1], tables
    smol, claude = sorted(rows[0])
    assert claude.startswith("claude-") and claude.endswith("-4-7 · thinking high"), tables
    assert smol.startswith("Smol") and "…" in smol, tables
    assert smol.endswith("Q4_1 · no thinking switch"), tables


def test_with_no_ranked_rows_the_table_keeps_to_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no configuration ranked, the labels were not cut: the header broke onto two
    lines ("…  95% INTERVAL" / "  VOTES  W/L/T") and so did every unranked row."""
    name = "unsloth/Qwen3.6-35B-A3B-Instruct-GGUF:UD-Q4_K_XL"
    SETUPS["served"] = ("local", name, {"quant": "Q4_K_XL"}, {"thinking": True})
    try:
        with SessionStore.open() as store:
            _vote(store, "served", "claude", "both_bad")
    finally:
        del SETUPS["served"]
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _main(capsys)
    lines = out.splitlines()
    assert code == 0 and max(len(line) for line in lines) <= 80, out
    assert [line.split() for line in lines if "RANK" in line] == [
        ["RANK", "CONFIGURATION", "RATING", "95%", "INTERVAL", "VOTES", "W/L/T"]
    ], out
    served = [line for line in lines if "Q4_K_XL · thinking on" in line]
    assert len(served) == 1 and served[0].endswith("W/L/T 0/0/1 (1 bad)"), out


def _set_vote(store: SessionStore, set_name: str, name: str, text: str) -> None:
    """A vote on a session of prompt set ``set_name``'s prompt ``name``, titled as the
    engine titles it ("SET/NAME · local vs claude · …")."""
    session = store.create_session(
        text, title=f"{set_name}/{name} · local vs claude · thinking on", prompt_set=set_name
    )
    runs = []
    for slot, setup in (("left", "qwen"), ("right", "claude")):
        backend, model_id, info, settings = SETUPS[setup]
        run = store.start_run(session.id, slot, backend, model_id, info, settings, {})  # type: ignore[arg-type]
        store.finish_run(run, svg="<svg/>", answer="<svg/>", png=b"\x89PNG")
        runs.append(run)
    store.add_vote(runs[0], runs[1], "a", blind=True)


def test_a_prompt_sets_prompt_is_named_as_the_tui_names_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--prompt heron`` was refused ("no session has the prompt 'heron'") though the
    TUI and the sessions' titles name it so: only its text was taken. Now a set's
    prompt's name, or SET/NAME, is taken too; a name two sets have is refused, naming
    both."""
    heron, pond_heron, duck = "A heron on one leg", "A heron in a pond", "A duck"
    with SessionStore.open() as store:
        _set_vote(store, "birds", "heron", heron)
        _set_vote(store, "birds", "duck", duck)
        _set_vote(store, "pond", "heron", pond_heron)
    for given, text in (("duck", duck), ("birds/heron", heron), (heron, heron)):
        code, out, err = _main(capsys, "--prompt", given, "--json", "--min-votes", "1")
        assert code == 0, err
        assert (json.loads(out)["prompt"], json.loads(out)["votes_counted"]) == (text, 1)
    code, out, err = _main(capsys, "--prompt", "heron")
    assert (code, out) == (1, "")
    assert err.strip() == (
        "pelican-tui leaderboard: 'heron' names prompts of several sets: birds/heron, pond/heron"
    ), err
