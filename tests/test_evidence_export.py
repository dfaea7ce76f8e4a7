"""``pelican-tui export-evidence``: the leaderboard and every picture as one page, with
the votes and ratings as CSV and JSON beside it, from a store of real sessions whose
pictures the sandboxed renderer drew and measured."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from _evidence_support import Drawn, add_unthought_run, draw
from PIL import Image

from pelican_tui.backends.export.evidence import THUMBNAIL_SIDE, gather_evidence
from pelican_tui.backends.export.evidence_page import render_evidence_html
from pelican_tui.backends.ratings.export import rating_rows
from pelican_tui.backends.store.records import Winner
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.svg.facts import FACT_KEYS
from pelican_tui.cli import main

CORPUS = Path(__file__).parent / "svg_corpus"
PELICAN = "Generate an SVG of a pelican riding a bicycle"
HOSTILE = 'Draw <script>alert("pwned")</script> & a <img src=x onerror=alert(1)> "pelican"'
SECRET = "A heron juggling seven lanterns over Lake Zurich"
QWEN = "Qwen3.6-35B-A3B-Q4_K_M.gguf"
HOSTILE_FILE = "evil<b>bold</b>.gguf"
CLAUDE = "claude-opus-4-7"
FILES = {"index.html", "ratings.csv", "ratings.json", "votes.csv", "votes.json"}


def _draw(answer: str) -> Drawn:
    """Extract, render at the stored size (in the sandbox) and measure, as the engine does."""
    return draw(answer, (1024, 1024), seconds=9.5)


@pytest.fixture(scope="module")
def drawn() -> dict[str, Drawn]:
    corpus = {name: (CORPUS / f"{name}.svg").read_text() for name in ("good_pelican_bicycle",)}
    return {
        "pelican": _draw(f"```svg\n{corpus['good_pelican_bicycle']}\n```"),
        "classic": _draw((CORPUS / "good_pelican_classic.svg").read_text()),
        "bomb": _draw((CORPUS / "billion_laughs.svg").read_text()),
        "no_svg": _draw("I cannot draw, but pelicans are lovely birds."),
    }


def _run(
    store: SessionStore,
    session: int,
    slot: str,
    picture: Drawn,
    who: str = "qwen",
    *,
    png: bytes | str | None = "stored",
    **finish: Any,
) -> int:
    if who == "claude":
        run = store.start_run(
            session, slot, "claude", CLAUDE, {"model": CLAUDE},  # type: ignore[arg-type]
            {"thinking": True, "effort": "high"},
        )  # fmt: skip
    else:
        file = HOSTILE_FILE if who == "hostile" else QWEN
        thinking = who != "qwen-plain"
        run = store.start_run(
            session, slot, "local", file,  # type: ignore[arg-type]
            {"file": file, "quant": "Q4_K_M"}, {"thinking": thinking},
        )  # fmt: skip
    store.finish_run(
        run,
        answer=picture.answer,
        svg=picture.svg,
        svg_note=None if picture.svg else "no SVG in the answer",
        png=picture.png if png == "stored" else png,  # type: ignore[arg-type]
        **{"picture_facts": picture.facts, **finish},
    )
    return run


def _pair(
    store: SessionStore,
    left: Drawn,
    right: Drawn,
    winner: Winner | None,
    *,
    prompt: str = PELICAN,
    private: bool = False,
    judge: Winner | None = None,
) -> tuple[int, int]:
    session = store.create_session(
        prompt, prompt_set="secret" if private else None, private=private
    ).id
    a, b = _run(store, session, "left", left), _run(store, session, "right", right, "claude")
    if winner is not None:
        store.add_vote(a, b, winner, blind=True)
    if judge is not None:
        store.add_vote(a, b, judge, blind=True, judge=CLAUDE, reason="the beak is clearer")
    return a, b


@pytest.fixture
def filled(drawn: dict[str, Drawn]) -> Path:
    """Pelican votes (Claude ranked above Qwen), a hostile prompt and model name, runs
    without pictures for every reason, a judge, and a private set's session with votes."""
    pelican, classic = drawn["pelican"], drawn["classic"]
    with SessionStore.open() as store:
        for n in range(6):
            _pair(store, classic, pelican, "b", judge="b" if n < 3 else "a")
        _pair(store, pelican, classic, "tie")
        session = store.create_session(PELICAN).id
        _run(store, session, "left", drawn["no_svg"], "qwen-plain")
        _run(store, session, "right", drawn["bomb"], "claude")
        _run(store, session, "left", pelican, png=b"\x89PNG\r\n\x1a\n not really a picture")
        _run(
            store, session, "right", drawn["no_svg"], "claude",
            status="failed", failure_reason="Claude said: overloaded",
        )  # fmt: skip
        hostile = store.create_session(HOSTILE).id
        a = _run(store, hostile, "left", classic, "hostile")
        b = _run(store, hostile, "right", pelican, "claude")
        store.add_vote(a, b, "a", blind=False)
        for _ in range(3):
            _pair(store, pelican, classic, "a", prompt=SECRET, private=True, judge="a")
        return store.path


def _export(tmp_path: Path, *args: str) -> tuple[int, Path]:
    out = tmp_path / "evidence"
    return main(["export-evidence", "--out", str(out), *args]), out


class _Page(HTMLParser):
    """The page as a browser's parser sees it: tags, attributes, visible text; and
    every non-void element closed in order (the page is well-formed)."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.open: list[str] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()
        assert self.open == [], f"unclosed elements: {self.open}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] not in ("style", "title"):
            self.text.append(data)

    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())

    def elements(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [
            attrs
            for name, attrs in self.tags
            if name == tag and (cls is None or cls in attrs.get("class", "").split())
        ]


def test_the_page_embeds_checked_pngs_and_nothing_a_model_wrote(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _export(tmp_path)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert {path.name for path in out.iterdir()} == FILES
    assert "Left out: 3 sessions from private prompt sets." in printed.out
    text = (out / "index.html").read_text(encoding="utf-8")
    page = _Page(text)
    images = page.elements("img")
    # Two pictures from each of the 7 voted pelican sessions and from the hostile one.
    assert len(images) == 16
    for image in images:
        assert image["src"].startswith("data:image/png;base64,")
        png = base64.b64decode(image["src"].removeprefix("data:image/png;base64,"))
        with Image.open(io.BytesIO(png)) as picture:
            assert picture.format == "PNG" and max(picture.size) == THUMBNAIL_SIDE
        assert image["alt"].startswith("Picture by ")
    assert "<svg" not in text and "image/svg+xml" not in text
    assert not page.elements("script")
    assert [a["href"] for a in page.elements("a") if "." in a["href"]] == [
        "ratings.csv", "ratings.json", "votes.csv", "votes.json",
    ]  # fmt: skip
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]
    csp = [m for m in page.elements("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_a_run_without_a_picture_says_why(filled: Path, tmp_path: Path) -> None:
    code, out = _export(tmp_path)
    assert code == 0
    page = _Page((out / "index.html").read_text(encoding="utf-8"))
    boxes = page.elements("div", "no-picture")
    assert len(boxes) == 4
    visible = page.visible()
    for reason in (
        "No picture No SVG in the answer.",
        "No picture The stored picture could not be read.",
        "No picture The run failed: Claude said: overloaded; no SVG in the answer.",
        # The sandbox refused the entity bomb when the run was made and again at export.
        "No picture The SVG could not be drawn (",
    ):
        assert reason in visible, reason
    assert "the run failed" in visible
    # Facts in words beside each picture.
    assert (
        "render ok (" in visible and " elements · " in visible and "picture after 9.5 s" in visible
    )
    assert "not an SVG" in visible


def test_no_internal_key_names_on_the_page(filled: Path, tmp_path: Path) -> None:
    code, out = _export(tmp_path)
    assert code == 0
    visible = _Page((out / "index.html").read_text(encoding="utf-8")).visible()
    # Fact names that are plain words ("ink", "empty") may be read; the stored keys may not.
    for key in (*FACT_KEYS, "both_bad", "picture_facts", "model_info", "failure_reason"):
        assert "_" not in key or key not in visible, key
    assert not re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", visible)
    assert "local|" not in visible and "claude|" not in visible
    for words in (
        "Rank Configuration Rating 95% interval Votes Won / lost / tied",
        "claude-opus-4-7 · thinking high",
        "Qwen3.6-35B-A3B-Q4_K_M · thinking on",
        "evil<b>bold</b> Q4_K_M · thinking on too few votes to rank (1 of 5)",
        "session ",
        "left pane",
    ):
        assert words in visible, words


def test_the_leaderboards_the_judge_and_the_intervals(filled: Path, tmp_path: Path) -> None:
    code, out = _export(tmp_path)
    assert code == 0
    page = _Page((out / "index.html").read_text(encoding="utf-8"))
    visible = page.visible()
    with SessionStore.open(filled) as store:
        evidence = gather_evidence(store)
    board = evidence.overall
    assert board.counted == 8  # 7 pelican votes and the hostile prompt's; none private
    top = board.ranked[0]
    assert top.configuration.label == "claude-opus-4-7 · thinking high"
    assert f"1 claude-opus-4-7 · thinking high {top.rating:.0f}" in visible
    assert f"{top.low:.0f} to {top.high:.0f}" in visible
    bars = page.elements("div", "bar")
    # The overall, the judge's and the pelican prompt's tables each rank two.
    assert len(bars) == 6
    assert bars[0]["aria-label"] == (
        f"95% interval {top.low:.0f} to {top.high:.0f}, rating {top.rating:.0f}"
    )
    assert "The judge\u2019s ratings" in visible
    assert "(claude-opus-4-7)" in visible
    # The judge voted on six public pairs, agreeing on three; its private votes are left out.
    assert "The judge agreed with you on 3 of 6 pairs you both voted on (50%)." in visible
    # A leaderboard for each prompt with votes: the pelican and the hostile one.
    assert visible.count("Leaderboard for this prompt") == 2


def test_ratings_alike_share_a_rank_and_an_unknown_interval_says_so(
    drawn: dict[str, Drawn], tmp_path: Path
) -> None:
    # One tie: the page ranked Qwen 1st and Claude 2nd at 1000 each, both "1000 to 1000".
    with SessionStore.open() as store:
        _pair(store, drawn["pelican"], drawn["classic"], "tie")
    code, out = _export(tmp_path, "--min-votes", "1")
    assert code == 0
    page = _Page((out / "index.html").read_text(encoding="utf-8"))
    visible = page.visible()
    assert "1 Qwen3.6-35B-A3B-Q4_K_M · thinking on 1000 unknown" in visible
    assert "1 claude-opus-4-7 · thinking high 1000 unknown" in visible
    assert "1000 to 1000" not in visible and not page.elements("div", "bar")
    assert "; interval unknown: the votes cannot give one (every resample" in visible
    with (out / "ratings.csv").open(newline="") as file:
        assert [(r["rank"], r["low"]) for r in csv.DictReader(file)] == [("1", "")] * 2
    ratings = json.loads((out / "ratings.json").read_text(encoding="utf-8"))
    assert ratings["format_version"] == 2
    assert [(r["rank"], r["low"]) for r in ratings["overall"]["rows"]] == [(1, None)] * 2


def test_control_characters_are_left_out_of_the_page_not_the_data(
    drawn: dict[str, Drawn], tmp_path: Path
) -> None:
    # ESC and BEL of a prompts.toml prompt were copied into index.html as written.
    prompt = "\x1b[31mRED\x07 pelican"
    with SessionStore.open() as store:
        _pair(store, drawn["pelican"], drawn["classic"], "b", prompt=prompt)
    code, out = _export(tmp_path, "--min-votes", "1")
    assert code == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert not re.findall(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", page)
    assert "[31mRED pelican" in _Page(page).visible()
    [vote] = json.loads((out / "votes.json").read_text(encoding="utf-8"))["votes"]
    assert vote["prompt"] == prompt, "the data keeps the prompt as stored"


def test_hostile_text_is_escaped(filled: Path, tmp_path: Path) -> None:
    code, out = _export(tmp_path)
    assert code == 0
    text = (out / "index.html").read_text(encoding="utf-8")
    page = _Page(text)
    assert "<script" not in text and "<img src=x" not in text and "<b>bold" not in text
    assert "&lt;script&gt;" in text
    assert HOSTILE in page.visible()
    assert "evil<b>bold</b> Q4_K_M · thinking on" in page.visible()
    assert not page.elements("script") and not page.elements("b")


def test_a_private_prompt_is_never_written(filled: Path, tmp_path: Path) -> None:
    code, out = _export(tmp_path)
    assert code == 0
    written = "".join(path.read_text(encoding="utf-8") for path in out.iterdir())
    written = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", written)
    for word in ("heron", "juggling", "lanterns", "Zurich", "secret"):
        assert word not in written, word
    visible = _Page((out / "index.html").read_text(encoding="utf-8")).visible()
    assert (
        "3 sessions from private prompt sets (6 votes) not shown and not counted: "
        "their prompts stay on this machine."
    ) in visible
    assert json.loads((out / "ratings.json").read_text())["private_votes_left_out"] == 6
    # Asking for it by name writes nothing.
    code, other = _export(tmp_path / "other", "--prompt", SECRET)
    assert code == 1 and not other.exists()


def test_a_prompt_sets_prompt_is_named_as_the_tui_names_it(
    filled: Path, drawn: dict[str, Drawn], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--prompt heron`` was refused ("no session has the prompt 'heron'") though the
    TUI and the sessions' titles name a set's prompt so. Now its name is taken."""
    heron = "A heron on one leg"
    with SessionStore.open() as store:
        title = "birds/heron · qwen vs claude"
        session = store.create_session(heron, title=title, prompt_set="birds")
        a = _run(store, session.id, "left", drawn["pelican"])
        b = _run(store, session.id, "right", drawn["classic"], "claude")
        store.add_vote(a, b, "a", blind=True)
    code, out = _export(tmp_path, "--prompt", "heron")
    assert code == 0, capsys.readouterr().err
    visible = _Page((out / "index.html").read_text(encoding="utf-8")).visible()
    assert "Limited to one prompt" in visible and heron in visible


def test_csv_and_json_round_trip(filled: Path, tmp_path: Path) -> None:
    code, out = _export(tmp_path)
    assert code == 0
    with SessionStore.open(filled) as store:
        evidence = gather_evidence(store)
        every = (*store.votes(), *store.votes(judge=True))
        headers = store.run_headers(vote.run_a for vote in every)
    ratings = json.loads((out / "ratings.json").read_text(encoding="utf-8"))
    assert ratings["format"] == "pelican-tui-evidence-ratings"
    expected = rating_rows(evidence.overall)
    assert ratings["overall"]["rows"] == expected
    rows = list(csv.DictReader((out / "ratings.csv").open(encoding="utf-8")))
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        assert row["label"] == want["label"]
        assert float(row["rating"]) == want["rating"]
        assert (float(row["low"]), float(row["high"])) == (want["low"], want["high"])
        assert row["rank"] == ("" if want["rank"] is None else str(want["rank"]))
        assert int(row["votes"]) == want["votes"]
    assert ratings["judge"]["agreement"] == {"pairs": 6, "agreed": 3, "rate": 0.5}
    assert [board["prompt"] for board in ratings["prompts"]] == [HOSTILE, PELICAN]
    votes = json.loads((out / "votes.json").read_text(encoding="utf-8"))["votes"]
    table = list(csv.DictReader((out / "votes.csv").open(encoding="utf-8")))
    assert [int(row["id"]) for row in table] == [vote["id"] for vote in votes]
    public = sorted(vote.id for vote in every if not headers[vote.run_a].private)
    assert len(votes) == 8 + 6 and [vote["id"] for vote in votes] == public
    for row, vote in zip(table, votes, strict=True):
        assert row["prompt"] == vote["prompt"] and vote["private"] is False
        assert row["winner"] == vote["winner"] and row["judge"] == (vote["judge"] or "")
    assert sum(vote["judge"] == CLAUDE for vote in votes) == 6


def test_a_picture_without_a_stored_png_is_drawn_in_the_sandbox(
    drawn: dict[str, Drawn], tmp_path: Path
) -> None:
    with SessionStore.open() as store:
        session = store.create_session(PELICAN).id
        _run(store, session, "left", drawn["pelican"], png=None)
        _run(store, session, "right", drawn["bomb"], "claude", png=None, picture_facts={})
    code, out = _export(tmp_path)
    assert code == 0
    page = _Page((out / "index.html").read_text(encoding="utf-8"))
    assert len(page.elements("img")) == 1
    visible = page.visible()
    assert "No picture The SVG could not be drawn (" in visible
    assert "no facts measured" in visible
    # The same page without a renderer says what is missing instead.
    with SessionStore.open() as store:
        plain = render_evidence_html(gather_evidence(store))
    assert "No picture was stored with this run." in _Page(plain).visible()


def test_folders_and_exit_statuses(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _export(tmp_path, "--prompt", PELICAN)
    assert code == 0
    visible = _Page((out / "index.html").read_text(encoding="utf-8")).visible()
    assert "Limited to one prompt" in visible and HOSTILE not in visible
    # The private sets' sessions are of other prompts: none is left out of this one.
    assert "private prompt sets" not in visible + capsys.readouterr().out
    # An earlier evidence export is refreshed; any other folder is refused.
    code, _ = _export(tmp_path)
    assert code == 0 and "Limited to one prompt" not in (out / "index.html").read_text()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(["export-evidence", "--out", str(taken)]) == 2
    assert "already holds other files" in capsys.readouterr().err
    assert main(["export-evidence", "--out", str(tmp_path / "x"), "--prompt", "nobody"]) == 1
    assert "no session has the prompt 'nobody'" in capsys.readouterr().err
    assert main(["export-evidence"]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["export-evidence", "--help"]) == 0
    assert "exit status:" in capsys.readouterr().out


def test_an_unusable_folder_is_bad_usage_said_before_anything_is_drawn(
    drawn: dict[str, Drawn], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out /proc/ev exited 1 (leaderboard --csv /proc/x exits 2), after drawing every
    picture the store has no PNG of and saying each one that failed, on every call."""
    with SessionStore.open() as store:
        session = store.create_session(PELICAN).id
        undrawable = _run(store, session, "left", drawn["bomb"], png=None, picture_facts={})
    here = tmp_path / "here"
    here.mkdir()
    (here / "a-file").write_text("mine")
    for out, why in (
        (here / "a-file" / "evidence", f"{here / 'a-file'} is a file"),
        (Path("/proc/evidence"), "No such file or directory"),
    ):
        assert main(["export-evidence", "--out", str(out)]) == 2
        printed = capsys.readouterr()
        assert printed.err == f"pelican-tui export-evidence: cannot write {out}: {why}\n"
        assert printed.out == ""
    # Written, it says the picture it could not draw once, with the counts, not on stderr.
    for _ in range(2):
        code, out = _export(here)
        printed = capsys.readouterr()
        assert (code, printed.err) == (0, "")
        assert sorted(p.name for p in here.iterdir()) == ["a-file", "evidence"], "no probe left"
        assert printed.out.splitlines()[1:] == [
            f"1 SVG could not be drawn (run {undrawable}): the page says why."
        ]


def test_the_runs_it_could_not_draw_are_listed_in_order(
    drawn: dict[str, Drawn], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """They were listed prompt by prompt, the latest prompt first: "(runs 107, 100, 90,
    …, 11, 61)". Now in the order of their ids."""
    undrawable = []
    with SessionStore.open() as store:
        for prompt in (PELICAN, "Generate an SVG of a heron", PELICAN):
            session = store.create_session(prompt).id
            for slot in ("left", "right"):
                picture = drawn["bomb"]
                undrawable.append(_run(store, session, slot, picture, png=None, picture_facts={}))
    code, _ = _export(tmp_path)
    assert code == 0
    listed = ", ".join(str(run) for run in sorted(undrawable))
    assert capsys.readouterr().out.splitlines()[1:] == [
        f"6 SVGs could not be drawn (runs {listed}): the page says why."
    ]


def test_no_store_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _export(tmp_path)
    assert code == 1 and not out.exists()
    assert "there is no session store yet" in capsys.readouterr().err


def test_a_damaged_store_is_nothing_to_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was moved aside and an empty page written with exit 0: a script took the
    evidence as exported. Now it is left where it is, and nothing is written."""
    from pelican_tui.backends import locations

    db = locations.sessions_db()
    with SessionStore.open(db) as store:
        store.create_session("a pelican")
    db.write_bytes(b"junk" * 1000)
    code, out = _export(tmp_path)
    err = capsys.readouterr().err
    assert code == 1 and not out.exists(), err
    assert "is damaged" in err and "left as it is" in err


def test_a_picture_is_labelled_by_how_its_run_thought(tmp_path: Path) -> None:
    """The page labelled a run asked to think that did not "thinking off"; the app's
    gallery and pane say "thinking on (did not)". It is rated with the runs that did not
    think (the key), and labelled as they say it."""
    from pelican_tui.backends.export.evidence import gather_evidence
    from pelican_tui.backends.ratings.configuration import configuration_of

    with SessionStore.open(tmp_path / "s.sqlite3") as store:
        run = add_unthought_run(store, PELICAN)
        [prompt] = gather_evidence(store).prompts
        stored = store.get_run(run)
    [picture] = prompt.pictures
    assert picture.configuration.label.endswith(" · thinking on (did not)")
    assert picture.configuration.key == configuration_of(stored).key
