"""The gallery (g), the pair screen and the leaderboard (L), through the real app.

The session store is filled before the app starts with runs whose pictures
the real sandboxed renderer drew and whose facts the real measuring code
took; the app opens the same store (PELICAN_HOME is per test). Keys are
pressed through Pilot; what is asserted is what the screens show and what
the store holds afterwards.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from _app_support import make_app, pictures_drawn, wait_for
from _evidence_support import (
    CLAUDE_MODEL,
    PROMPT,
    Drawn,
    add_comparison,
    add_run,
    add_unthought_run,
    draw,
    pictures,
    screen_text,
)
from _session_support import unwritable
from rich.cells import cell_len
from textual.widgets import DataTable

from pelican_tui.backends import locations
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import sentence
from pelican_tui.screens.gallery_screen import GalleryScreen, grid_shape
from pelican_tui.screens.leaderboard_screen import LeaderboardScreen
from pelican_tui.screens.pair_screen import PairScreen
from pelican_tui.screens.sessions_screen import SessionsScreen
from pelican_tui.screens.sessions_screen_list import SessionList
from pelican_tui.widgets.text_line import TextLine
from pelican_tui.widgets.vote_pair import PairView


@pytest.fixture(scope="module")
def drawn() -> dict[str, Drawn]:
    return pictures()


def _fill(drawn: dict[str, Drawn]) -> list[tuple[int, int]]:
    """Three comparisons of PROMPT (a pelican against a blank, twice; a no-SVG answer
    against a pelican), one of another prompt."""
    with SessionStore.open(locations.sessions_db()) as store:
        pairs = [
            add_comparison(store, drawn["pelican"], drawn["blank"]),
            add_comparison(store, drawn["pelican"], drawn["blank"]),
            add_comparison(store, drawn["no_svg"], drawn["pelican"]),
        ]
        add_comparison(store, drawn["pelican"], drawn["pelican"], prompt="a heron")
    return pairs


async def _open_gallery(pilot: Any) -> GalleryScreen:
    app = pilot.app
    await pilot.press("g")
    assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 10)
    screen = app.screen
    assert await wait_for(pilot, lambda: screen.loaded and bool(screen.cells()), 10)
    assert await pictures_drawn(pilot, screen)
    return screen  # type: ignore[no-any-return]


async def _open_leaderboard(pilot: Any, *, judge: bool = False) -> LeaderboardScreen:
    """Press L and wait for the board (and the judge's, with ``judge``) to be made."""
    app = pilot.app
    await pilot.press("L")
    assert await wait_for(pilot, lambda: isinstance(app.screen, LeaderboardScreen), 10)
    board = app.screen
    assert isinstance(board, LeaderboardScreen)
    made = (lambda: board.judge_board is not None) if judge else (lambda: board.board is not None)
    assert await wait_for(pilot, made, 20)
    await pilot.pause()
    return board


@pytest.mark.parametrize(("size", "columns"), [((80, 24), 2), ((160, 48), 4)])
async def test_gallery_shows_every_picture_of_the_prompt_with_its_facts(
    drawn: dict[str, Drawn], size: tuple[int, int], columns: int
) -> None:
    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=size) as pilot:
        gallery = await _open_gallery(pilot)
        cells = gallery.cells()
        assert len(cells) == 6, "three sessions of two runs; the heron's are not shown"
        assert gallery.query_one("#gallery-grid").styles.grid_size_columns == columns
        text = screen_text(app)
        # The answer without an SVG has a cell (saying why), but it is no picture.
        assert "Gallery · 5 pictures of “" in text, text
        assert "” · 1 run without one" in text and "all pictures" not in text, text
        if size == (80, 24):  # the room "all pictures" took is the prompt's, also after a resize
            assert "Gallery · 5 pictures of “Generate an SVG of a pelican ri…”" in text, text
            await pilot.resize_terminal(160, 48)
            await pilot.pause()
            assert f"of “{PROMPT}” · 1 run without one" in screen_text(app), screen_text(app)
            await pilot.resize_terminal(*size)
            await pilot.pause()
        assert "claude-opus-4-7 · thinking high" in text
        # Cut in the model's name, not at its end: the quant and the thinking show.
        assert re.search(r"╭─ Qwen3\.6-\S*…\S*Q4_K_M · thinking on ─", text), text
        assert "ink " in text and "elements" in text and "KB" in text
        assert "empty" in text, "the blank canvas is measured as empty"
        first = cells[0]
        assert first.region.width >= 36 and first.region.height >= 10
        await pilot.press("down")
        assert gallery.focused is cells[columns], "down moves one row of cells"
        await pilot.press("down", "down")  # to the last row: it scrolls into view
        await pilot.pause()
        assert gallery.focused in cells[4:]
        assert "no SVG" in screen_text(app), "the answer without SVG says so"
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, GalleryScreen), 5)


SMALL_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300">'
    '<circle cx="200" cy="150" r="60" fill="white" stroke="black"/>'
    '<path d="M240 140 L330 160 L240 170 Z" fill="orange"/></svg>'
)
"""A small model's picture: its facts ("ink 1.8% · 3 elements · 184 B · 4.2 s") one
character too long for a cell's line at 80 columns with the unit."""


async def test_a_cells_facts_never_part_a_number_from_its_unit() -> None:
    """At 80x24 a cell's facts were wrapped by the terminal's rule, at a space: "ink 1.8%
    · 3 elements · 184 B · 4.2" over "s". Now they break between facts only."""
    small = draw(f"```svg\n{SMALL_SVG}\n```", seconds=4.2)
    with SessionStore.open(locations.sessions_db()) as store:
        add_comparison(store, small, small)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(80, 24)) as pilot:
        gallery = await _open_gallery(pilot)
        text = screen_text(app)
        assert "│ 4.2 s " in text and not re.search(r"4\.2\s*│", text), text
        assert "│ ink 1.8% · 3 elements · 184 B " in text, text
        await pilot.resize_terminal(160, 48)  # broken again for the cell's new width
        assert await wait_for(pilot, lambda: "184 B · 4.2 s" in screen_text(app), 5)
        assert len(gallery.cells()) == 2


async def test_a_pairs_captions_never_part_a_number_from_its_unit() -> None:
    """The pair screen (two pictures marked in the gallery, enter) wrapped its captions
    as the gallery did: "… · 184 B · 4.2" over "s" at 80x24."""
    small = draw(f"```svg\n{SMALL_SVG}\n```", seconds=4.2)
    with SessionStore.open(locations.sessions_db()) as store:
        add_comparison(store, small, small)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_gallery(pilot)
        await pilot.press("space", "right", "space", "enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), 5)
        view = app.screen.query_one(PairView)
        assert await wait_for(pilot, lambda: all(view.captions()), 5)
        for caption in view.captions():
            assert caption.splitlines()[-2:] == ["ink 1.8% · 3 elements · 184 B", "4.2 s"], caption


def test_a_run_that_did_not_think_as_asked_is_titled_as_its_pane_said() -> None:
    """The pane said "think on (did not)"; the gallery titled the same run "thinking off"."""
    from pelican_tui.screens.gallery_screen import gallery_items

    with SessionStore.open(locations.sessions_db()) as store:
        add_unthought_run(store, PROMPT)
        [item] = gallery_items(store.runs_for_prompt(PROMPT))
    assert item.label.endswith(" · thinking on (did not)"), item.label


def test_grid_is_larger_cells_when_narrow() -> None:
    assert grid_shape(80, 24, 12) == (2, 11)
    assert grid_shape(160, 48, 12) == (4, 15)
    assert grid_shape(160, 48, 1) == (1, 46), "one picture: one large cell"
    assert grid_shape(80, 24, 2) == (2, 22), "one row of pictures: the screen's height"
    assert grid_shape(160, 48, 4) == (4, 25), "no taller than a square picture needs"


async def test_a_cell_laid_out_without_its_resize_is_still_drawn_and_titled(
    drawn: dict[str, Drawn], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI twice saw a gallery at 80x24 laid out with blank pictures and uncut titles:
    its cells and pictures had not had their Resize. They also fit after every
    layout of the screen, so they are drawn without it."""
    from pelican_tui.screens.gallery_screen import GalleryCell
    from pelican_tui.widgets.picture import PictureView

    monkeypatch.setattr(PictureView, "on_resize", lambda self: None)
    monkeypatch.setattr(GalleryCell, "on_resize", lambda self: None)
    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_gallery(pilot)
        assert re.search(r"╭─ Qwen3\.6-\S*…\S*Q4_K_M · thinking on ─", screen_text(app))


async def test_a_run_without_a_picture_says_why_as_the_exports_do(drawn: dict[str, Drawn]) -> None:
    """A cell whose SVG the sandbox could not draw said only "no picture" (the gallery,
    the pair from it and each export had their own words): now one wording says why."""
    from pelican_tui.backends.export.facts import no_picture_reason
    from pelican_tui.screens.gallery_screen import GalleryCell

    with SessionStore.open(locations.sessions_db()) as store:
        session = store.create_session(PROMPT)
        add_run(store, session.id, "left", drawn["pelican"])
        undrawn = store.start_run(
            session.id, "right", "claude", CLAUDE_MODEL, {"model": CLAUDE_MODEL}, {}
        )
        store.finish_run(
            undrawn,
            svg='<svg xmlns="http://www.w3.org/2000/svg"><circle r="5"/></svg>',
            picture_facts={"render_failed": True, "renders": False},
        )
        stored = store.get_run(undrawn)
    why = no_picture_reason(stored)
    assert why == "the SVG could not be drawn by the sandboxed renderer"
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(160, 48)) as pilot:
        gallery = await _open_gallery(pilot)
        assert why in screen_text(app)
        [cell] = [c for c in gallery.cells() if isinstance(c, GalleryCell) and not c.item.run.png]
        assert cell.item.contender(blind=True).note == why


async def test_the_headers_counts_add_up_to_the_cells_shown(drawn: dict[str, Drawn]) -> None:
    """The header said "5 pictures … · 2 runs without one" over 5 cells with a filter
    on: the runs it hid (no SVG, an SVG the renderer could not draw) were still counted.
    Now the pictures and the runs without one are those of the cells shown."""
    _fill(drawn)
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.create_session(PROMPT)
        undrawn = store.start_run(
            session.id, "right", "claude", CLAUDE_MODEL, {"model": CLAUDE_MODEL}, {}
        )
        store.finish_run(
            undrawn,
            svg='<svg xmlns="http://www.w3.org/2000/svg"><circle r="5"/></svg>',
            picture_facts={"render_failed": True, "renders": False},
        )
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(160, 48)) as pilot:
        gallery = await _open_gallery(pilot)

        def counted() -> int:
            header = screen_text(app).splitlines()[0]
            pictures = re.search(r"Gallery · (\d+) (?:of \d+ )?pictures? of", header)
            without = re.search(r" · (\d+) runs? without one", header)
            assert pictures is not None, header
            return int(pictures.group(1)) + (int(without.group(1)) if without else 0)

        seen = []
        for count in (7, 5, 3):  # all; only those that render; not empty either
            assert await wait_for(pilot, lambda: len(gallery.cells()) == count, 5)  # noqa: B023
            await pilot.pause()
            seen.append((counted(), len(gallery.cells())))
            await pilot.press("f")
        assert seen == [(7, 7), (5, 5), (3, 3)], seen


async def test_gallery_filters_by_a_fact(drawn: dict[str, Drawn]) -> None:
    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(160, 48)) as pilot:
        gallery = await _open_gallery(pilot)
        await pilot.press("f")  # only pictures that render
        assert await wait_for(pilot, lambda: len(gallery.cells()) == 5, 5)
        assert all(cell.item.facts["renders"] for cell in gallery.cells())
        assert "Gallery · 5 pictures of “" in screen_text(app), "all the pictures there are"
        await pilot.press("f")  # hide empty ones too
        assert await wait_for(pilot, lambda: len(gallery.cells()) == 3, 5)
        assert not any(cell.item.facts["empty"] for cell in gallery.cells())
        assert "hide empty pictures" in screen_text(app)
        assert "Gallery · 3 of 5 pictures of “" in screen_text(app)
        await pilot.press("f")
        assert await wait_for(pilot, lambda: len(gallery.cells()) == 6, 5)


async def test_the_filter_is_named_whole_at_80_columns(drawn: dict[str, Drawn]) -> None:
    """At 80 columns the header was cut in the filter's words: "Gallery · 5 pictures of
    “Generate an…” (1/2, [ ]) · 1 run without one · only pictures th…". Now it says the
    filter in fewer words, and leaves out the count of runs without a picture first
    (with a filter on, none is shown here, so the filter is said in its full words)."""
    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(80, 24)) as pilot:
        gallery = await _open_gallery(pilot)

        def header() -> str:
            return screen_text(app).splitlines()[0].strip()

        await pilot.press("f")
        assert await wait_for(pilot, lambda: len(gallery.cells()) == 5, 5)
        # No run without a picture among the cells shown: room for the filter's words.
        assert header().endswith(" · only pictures that render"), header()
        assert "“Generate an" in header(), header()
        await pilot.press("f")
        assert await wait_for(pilot, lambda: len(gallery.cells()) == 3, 5)
        assert header().endswith(" · hide empty pictures"), header()
        await pilot.press("B")
        assert await wait_for(pilot, lambda: header().endswith(" · blind"), 5), header()
        assert " · hide empty pictures · blind" in header(), header()


async def test_the_header_with_every_mode_on_fits_80_columns_in_whole_words(
    drawn: dict[str, Drawn],
) -> None:
    """With a filter, blind mode and a marked picture at 80 columns the header ran over
    its row and was cut in its last words: "… · non-empty only · blind · mar…". Now
    it is said in fewer words, whole, each mode named."""
    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(80, 24)) as pilot:
        gallery = await _open_gallery(pilot)

        def header() -> str:
            return screen_text(app).splitlines()[0].strip()

        await pilot.press("f", "f", "B")
        assert await wait_for(pilot, lambda: gallery.blind and len(gallery.cells()) == 3, 5)
        await pilot.press("space")
        assert await wait_for(pilot, lambda: "marked" in header(), 5), header()
        assert "…" not in header().partition("”")[2], header()
        assert header().startswith("Gallery · 3 of 5 pictures of “Generate"), header()
        for mode in ("non-empty", "blind", "marked 1/2"):
            assert f" {mode}" in header(), (mode, header())
        assert len(gallery.query_one(".gallery-header", TextLine).text) <= 78


async def test_the_pair_screen_names_the_vote_keys_as_remapped(drawn: dict[str, Drawn]) -> None:
    """With ``ui.keymap`` giving A's vote to ``1``, the pair screen still said "Vote: <
    A better"; ``<`` did nothing there and ``1`` was nowhere on screen."""
    _fill(drawn)
    keymap = {"pair_vote_a": "1", "pair_vote_both_bad": "0"}
    app = make_app(overrides={"prompt": PROMPT, "ui": {"keymap": keymap}})
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_gallery(pilot)
        await pilot.press("space", "right", "space", "enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), 5)
        assert "Vote: 1 A better · > B better · = tie · 0 both bad" in screen_text(app)
        pair_screen = app.screen
        assert isinstance(pair_screen, PairScreen)
        await pilot.press("1")
        assert await wait_for(pilot, lambda: pair_screen.winner == "a", 5)


async def test_two_pictures_side_by_side_are_voted_on_and_stored(drawn: dict[str, Drawn]) -> None:
    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(160, 48)) as pilot:
        gallery = await _open_gallery(pilot)
        cells = gallery.cells()
        first, second = cells[0].item.run.id, cells[3].item.run.id
        await pilot.press("space", "right", "right", "right", "space")
        assert gallery.marked == [first, second]
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), 5)
        pair_screen = app.screen
        assert isinstance(pair_screen, PairScreen)
        assert pair_screen.pair.a.run_id == first, "not blind: the first marked is A"
        text = screen_text(app)
        assert "Qwen3.6" in text, "not blind: who drew each picture is shown"
        await pilot.press("greater_than_sign")
        assert await wait_for(pilot, lambda: pair_screen.winner == "b", 5)
        assert "Vote saved: B is better" in screen_text(app)
        await pilot.press("less_than_sign")  # one vote per pair
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: app.screen is gallery, 5)
        assert gallery.marked == [], "a pair voted on is unmarked"
    with SessionStore.open(locations.sessions_db()) as store:
        votes = store.votes()
    assert [(v.run_a, v.run_b, v.winner, v.blind) for v in votes] == [(first, second, "b", False)]


async def test_blind_gallery_hides_who_until_the_vote(drawn: dict[str, Drawn]) -> None:
    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        gallery = await _open_gallery(pilot)
        # b is a pane's backend on the main screen, and was blind here; B is blind on both.
        await pilot.press("b")
        await pilot.pause()
        assert not gallery.blind, "b is not blind mode in the gallery"
        assert "B Blind" in screen_text(app).splitlines()[-1], "the footer says B"
        await pilot.press("B")
        assert await wait_for(
            pilot, lambda: gallery.blind and gallery.cells()[0].border_title == "#1", 5
        )
        text = screen_text(app)
        for name in ("Qwen", "claude", CLAUDE_MODEL, "local", "tok/s", "thinking"):
            assert name not in text, name
        # Two pictures, wherever the shuffle put them: a run without one takes no vote.
        cells = gallery.cells()
        first, second = [at for at, cell in enumerate(cells) if cell.item.run.png][:2]
        marked = {cells[first].item.run.id, cells[second].item.run.id}
        await pilot.press(*["right"] * first, "space", *["right"] * (second - first), "space")
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), 5)
        pair_screen = app.screen
        assert isinstance(pair_screen, PairScreen)
        view = pair_screen.query_one(PairView)
        before = screen_text(app)
        for name in ("Qwen", "claude", "tok/s", "thinking"):
            assert name not in before, name
        await pilot.press("minus")
        assert await wait_for(pilot, lambda: view.revealed, 5)
        after = screen_text(app)
        assert "Vote saved: both are bad" in after
        captions = " ".join(view.captions())
        assert "tok/s" in captions and "session #" in captions, "revealed after the vote"
        assert "Qwen3.6" in after or CLAUDE_MODEL in after
    with SessionStore.open(locations.sessions_db()) as store:
        (vote,) = store.votes()
    assert {vote.run_a, vote.run_b} == marked
    assert vote.winner == "both_bad" and vote.blind


async def test_a_keymap_moves_blind_mode_in_the_gallery_too(drawn: dict[str, Drawn]) -> None:
    """The gallery's blind key is the main screen's (one id): ``toggle_blind = "v"`` moves
    both."""
    _fill(drawn)
    keymap = {"toggle_blind": "v"}
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark", "keymap": keymap}})
    async with app.run_test(size=(80, 24)) as pilot:
        gallery = await _open_gallery(pilot)
        await pilot.press("v")
        assert await wait_for(pilot, lambda: gallery.blind, 5)
        await pilot.press("escape", "v")
        assert await wait_for(pilot, lambda: app.blind, 5)


async def test_empty_gallery_says_how_to_fill_it() -> None:
    app = make_app(overrides={"prompt": "a prompt never run", "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")
        assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 10)
        assert await wait_for(
            pilot, lambda: "No pictures of this prompt yet" in screen_text(app), 10
        )


async def test_the_header_names_a_prompt_of_several_lines_on_one_line() -> None:
    """A prompt of two lines (pasted, or `run --prompt`) cut the header at its line
    break: `Gallery · 0 pictures of “draw a pelican`, no closing quote."""
    app = make_app(overrides={"prompt": "draw a pelican\nin blue ink", "ui": {}})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")
        assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 10)
        screen = app.screen
        assert await wait_for(pilot, lambda: screen.loaded, 10)
        await pilot.pause()
        header = screen_text(app).splitlines()[0]
        assert header.strip() == "Gallery · 0 pictures of “draw a pelican in blue ink”", header


HERON = "Generate an SVG of a heron riding a unicycle"
"""A prompt that starts as PROMPT does: at 80 columns both read "Generate an SVG of a…"."""


async def _header_of(screen_key: str, prompt: str, width: int) -> str:
    """The first line of the gallery (``g``) or the leaderboard (``L``) opened for
    ``prompt`` in a terminal ``width`` wide, once it has read its runs or votes."""
    opened = GalleryScreen if screen_key == "g" else LeaderboardScreen

    def read(screen: Any) -> bool:  # its runs or its votes
        return bool(screen.loaded) if screen_key == "g" else screen.board is not None

    app = make_app(overrides={"prompt": prompt, "ui": {}})
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.press(screen_key)
        assert await wait_for(pilot, lambda: isinstance(app.screen, opened), 10)
        assert await wait_for(pilot, lambda: read(app.screen), 10)
        await pilot.pause()
        return screen_text(app).splitlines()[0]


@pytest.mark.parametrize("screen_key", ["g", "L"])
async def test_the_headers_name_a_prompt_by_what_tells_it_from_the_others(
    drawn: dict[str, Drawn], screen_key: str
) -> None:
    """At 80 columns every prompt of pelican-test read "Gallery · 2 pictures of “Generate
    an SVG of a…”" and "Leaderboard · this prompt (“Generate an SVG of a…”)": the cut
    fell where they start alike. A set's prompt is named as its sessions are."""
    long_heron = f"{HERON}, its feet on the pedals, in a circus tent full of people"
    with SessionStore.open(locations.sessions_db()) as store:
        add_comparison(store, drawn["pelican"], drawn["blank"], prompt=long_heron)
        add_comparison(store, drawn["pelican"], drawn["blank"])
        named = store.create_session(long_heron + " at night", prompt_set="birds",
                                     title="birds/owl · local vs claude · thinking on")  # fmt: skip
        add_run(store, named.id, "left", drawn["pelican"])

    for prompt, shown in [
        (long_heron, "“…heron riding a"),
        (long_heron + " at night", "“birds/owl”"),
    ]:
        header = await _header_of(screen_key, prompt, 80)
        assert shown in header and "“Generate" not in header, header
        assert cell_len(header.rstrip()) <= 80, header


@pytest.mark.parametrize("screen_key", ["g", "L"])
async def test_the_plain_prompt_is_named_by_its_text_though_a_set_ran_it_too(
    drawn: dict[str, Drawn], screen_key: str
) -> None:
    """The pelican prompt, run plainly and also from a set "animals" that holds the same
    text, was named "animals/pelican" in the gallery's and leaderboard's headers when
    opened for the plain prompt. A prompt run without a set is now named by its text; a
    prompt only a set ran is still named "SET/NAME"."""
    with SessionStore.open(locations.sessions_db()) as store:
        add_comparison(store, drawn["pelican"], drawn["blank"])  # r: no set
        title = "animals/pelican · local vs claude · thinking on"
        from_set = store.create_session(PROMPT, prompt_set="animals", title=title)
        add_run(store, from_set.id, "left", drawn["pelican"])
        title = "birds/heron · local vs claude · thinking on"
        heron = store.create_session(HERON, prompt_set="birds", title=title)
        add_run(store, heron.id, "left", drawn["pelican"])

    plain = await _header_of(screen_key, PROMPT, 160)
    assert f"“{PROMPT}”" in plain and "animals" not in plain, plain
    only_from_set = await _header_of(screen_key, HERON, 160)
    assert "“birds/heron”" in only_from_set, only_from_set


# --------------------------------------------------------------------------- leaderboard


def _votes(
    drawn: dict[str, Drawn], pairs: list[tuple[int, int]], *, judge: str | None = None
) -> None:
    """Claude (B) wins 5 of 6 votes: on the first comparison's runs and five more like
    them (a pair's latest vote is the one that counts); one tie on another."""
    with SessionStore.open(locations.sessions_db()) as store:
        more = [add_comparison(store, drawn["pelican"], drawn["blank"]) for _ in range(5)]
        for index, (a, b) in enumerate([pairs[0], *more]):
            winner = "a" if index == 0 else "b"
            store.add_vote(a, b, winner, blind=True, judge=judge)  # type: ignore[arg-type]
        store.add_vote(*pairs[1], "tie", blind=False, judge=judge)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_leaderboard_ranks_with_intervals(
    drawn: dict[str, Drawn], size: tuple[int, int]
) -> None:
    pairs = _fill(drawn)
    _votes(drawn, pairs)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=size) as pilot:
        board = await _open_leaderboard(pilot)
        assert board.board is not None
        ranked = board.board.ranked
        assert next(row.configuration.label.split(" · ")[0] for row in ranked) == CLAUDE_MODEL
        text = screen_text(app)
        assert "this prompt" in text and "7 votes" in text
        assert "1000..1264" in text, "the interval in numbers"
        if size[0] >= 160:
            assert "●" in text and "├" in text, "and as a bar beside them"
        assert "5/1/1" in text, "Claude: 5 wins, 1 loss, 1 tie"
        assert "judge" not in text.lower(), "no judge votes: no judge section"
        await pilot.press("p")
        assert await wait_for(pilot, lambda: "all prompts" in screen_text(app), 20)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_leaderboard_shows_the_intervals_in_numbers(
    drawn: dict[str, Drawn], size: tuple[int, int]
) -> None:
    """The interval was only ever a bar (``├──●───┤``), even at 160 columns, where
    ``pelican-tui leaderboard`` prints its numbers ("936..1116"). Now each ranked row
    says them, and draws the bar beside them where the names leave room (160)."""
    pairs = _fill(drawn)
    _votes(drawn, pairs)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=size) as pilot:
        board = await _open_leaderboard(pilot)
        lines = screen_text(app).splitlines()
    assert board.board is not None and board.board.ranked
    for row in board.board.ranked:
        assert row.low is not None and row.high is not None
        [line] = [line for line in lines if line[:3].strip() == str(row.rank)]
        assert f"{row.low:.0f}..{row.high:.0f}" in line, "\n".join(lines)
        if size[0] >= 160:
            assert "●" in line and "┤" in line, "\n".join(lines)


async def test_leaderboard_ratings_alike_share_a_rank_and_no_interval_is_made_up(
    drawn: dict[str, Drawn],
) -> None:
    """Five ties between Qwen and Claude: both 1000, ranked 1 and 2 with the interval
    1000..1000 (every resample of five ties is five ties)."""
    with SessionStore.open(locations.sessions_db()) as store:
        for _ in range(5):
            store.add_vote(
                *add_comparison(store, drawn["pelican"], drawn["blank"]), "tie", blind=True
            )
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(100, 30)) as pilot:
        board = await _open_leaderboard(pilot)
        table = board.query_one("#leaderboard-table", DataTable)
        cells = [[str(cell).strip() for cell in table.get_row_at(i)] for i in range(2)]
        assert [(row[0], row[2], row[3]) for row in cells] == [("1", "1000", "unknown")] * 2
        text = screen_text(app)
        assert "Interval unknown: the votes cannot give one" in text, text
        assert "├" not in text, "no bar drawn for an interval nobody knows"


async def test_leaderboard_names_take_the_room_the_other_columns_leave(
    drawn: dict[str, Drawn],
) -> None:
    """At 80 columns, with a configuration not ranked yet, the names were cut to 27
    characters ("claud…s-4-7 · thinking high") beside a rating column as wide as "too
    few votes" and a table that ended short of the screen's edge."""
    pairs = _fill(drawn)
    _votes(drawn, pairs)
    with SessionStore.open(locations.sessions_db()) as store:  # one vote: not ranked
        session = store.create_session(PROMPT)
        served = store.start_run(
            session.id, "left", "openai", "qwen3:30b", {"served_model": "qwen3:30b"},
            {"thinking": True},
        )  # fmt: skip
        store.finish_run(served, answer="<svg/>", svg="<svg/>", png=b"\x89PNG")  # a picture
        claude = add_run(store, session.id, "right", drawn["pelican"], claude=True, thinking=False)
        store.add_vote(served, claude, "a", blind=True)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(80, 24)) as pilot:
        board = await _open_leaderboard(pilot)
        text = screen_text(app)
    assert board.board is not None and board.board.unranked
    labels = [row.configuration.label for row in board.board.rows]
    assert "claude-opus-4-7 · thinking high" in labels
    for label in labels:  # all of them up to 36 characters (Qwen3.6-…-Q4_K_M · thinking on)
        assert label in text, (label, text)
    assert "too few votes" in text and "5/1/1" in text and "W/L/T" in text, text


SERVED = [
    "unsloth/Qwen3.6-35B-A3B-GGUF:Q4_K_M",
    "unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M",
    "bartowski/Qwen3.6-35B-A3B-GGUF:Q5_K_M",
    "lmstudio-community/gpt-oss-20b-GGUF",
    "qwen3:30b",
    "gpt-oss:20b",
    "gemma3:27b",
    "mistral-small3.2:24b",
]
"""Models of OpenAI-compatible servers, named as those servers name them."""


def _served_votes(drawn: dict[str, Drawn], models: list[str], *, judge: bool = False) -> None:
    """Each of ``models`` (served, thinking) against Claude, voted on five times (and as
    many times by the judge, with ``judge``), the served model winning the first."""
    with SessionStore.open(locations.sessions_db()) as store:
        for model in models:
            for index in range(5):
                session = store.create_session(PROMPT)
                served = store.start_run(
                    session.id, "left", "openai", model, {"served_model": model},
                    {"thinking": True},
                )  # fmt: skip
                store.finish_run(served, answer="<svg/>", svg="<svg/>", png=b"\x89PNG")  # a picture
                claude = add_run(store, session.id, "right", drawn["pelican"], claude=True)
                winner = "a" if index == 0 else "b"
                store.add_vote(served, claude, winner, blind=True)  # type: ignore[arg-type]
                if judge:
                    store.add_vote(served, claude, "tie", blind=True, judge=CLAUDE_MODEL)


async def test_leaderboard_names_too_long_for_the_column_are_folded_whole(
    drawn: dict[str, Drawn],
) -> None:
    """At 80 columns two served models read alike, cut in the middle of their names:
    "unsloth…Q4_K_M (server) · thinking on" twice. Now a name too long for its column
    is folded on a second row of its own, where nothing of it is lost."""
    _served_votes(drawn, SERVED[:3])
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_leaderboard(pilot)
        rows = screen_text(app).splitlines()
    text = "\n".join(rows)
    names = slice(rows[1].index("Configuration"), rows[1].index("Rating"))
    shown = []  # each row's name, with the row under it that goes on with it (no rank)
    for row in rows[2:]:
        if row[:3].strip().isdigit():
            shown.append(row[names].strip())
        elif shown and row[:3].strip() == "" and row[names].strip():
            shown[-1] += " " + row[names].strip()
    for model in SERVED[:3]:
        whole = [name for name in shown if name.replace(" ", "") == f"{model}(server)·thinkingon"]
        assert len(whole) == 1, (model, text)
    assert "claude-opus-4-7 · thinking high" in shown, text


async def test_leaderboard_tables_taller_than_the_screen_share_it(
    drawn: dict[str, Drawn],
) -> None:
    """Two tables taller than the screen (nine configurations, some folded on two rows)
    each took all of it: the screen scrolled under a scroll bar that cut its header's
    last words ("p: all promp…") and hid the judge's table below the keys. Now each
    table scrolls in its share of the screen."""
    _served_votes(drawn, SERVED, judge=True)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(80, 24)) as pilot:
        board = await _open_leaderboard(pilot, judge=True)
        rows = screen_text(app).splitlines()
        assert not board.scrollbars_enabled[0], "the screen itself does not scroll"
    text = "\n".join(rows)
    assert rows[0].rstrip().endswith("· p: all prompts"), text
    judge = next(place for place, row in enumerate(rows) if "The judge's ratings" in row)
    assert rows[judge + 1].split()[:2] == ["#", "Configuration"], text
    assert "q Quit" in rows[-1], text


async def test_leaderboard_lists_too_few_votes_and_the_judge_apart(
    drawn: dict[str, Drawn],
) -> None:
    pairs = _fill(drawn)
    with SessionStore.open(locations.sessions_db()) as store:
        store.add_vote(*pairs[0], "a", blind=True)  # as the judge voted on this pair
    _votes(drawn, pairs, judge=CLAUDE_MODEL)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_leaderboard(pilot, judge=True)
        text = screen_text(app)
        assert "too few votes" in text, "one vote of mine: listed, not ranked"
        assert "The judge's ratings" in text
        assert "agreed with you on 1 of 1 pair" in text


@pytest.mark.parametrize(
    ("size", "said"),
    [((80, 24), "agreed with you on 2 of 2 pairs"), ((60, 20), "agreed on 2 of 2")],
)
async def test_the_judges_line_says_its_agreement_whole_in_a_small_terminal(
    drawn: dict[str, Drawn], size: tuple[int, int], said: str
) -> None:
    """At 80 columns the judge's line was cut in its agreement: "The judge's ratings
    (apart from yours) · 7 votes · agreed with you on 2 of …"."""
    pairs = _fill(drawn)
    _votes(drawn, pairs)
    _votes(drawn, pairs, judge=CLAUDE_MODEL)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=size) as pilot:
        await _open_leaderboard(pilot, judge=True)
        line = next(row for row in screen_text(app).splitlines() if "The judge's" in row)
    assert line.strip().startswith("The judge's ratings"), line
    assert line.rstrip().endswith(f"7 votes · {said}"), line


async def test_a_leaderboard_of_votes_all_left_out_says_why(drawn: dict[str, Drawn]) -> None:
    """Every vote between two runs of one configuration (thinking on vs off of a model
    that never reasons): the screen stayed blank, its drawing failed on no rows, and no
    one was told."""
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.create_session(PROMPT)
        a, b = (add_run(store, session.id, slot, drawn["pelican"]) for slot in ("left", "right"))
        store.add_vote(a, b, "a", blind=False)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("L")
        assert await wait_for(pilot, lambda: isinstance(app.screen, LeaderboardScreen), 10)
        said = "1 vote between two runs of one configuration left out (they say nothing"
        assert await wait_for(pilot, lambda: said in screen_text(app), 10), screen_text(app)
        assert "No vote rated yet" in screen_text(app)
        assert not [n for n in app.notices if n.severity == "error"], app.notices


async def test_samples_fill_the_gallery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two samples of both panes (the loopback Claude, thinking on and off): two sessions,
    four pictures in the gallery."""
    from _anthropic_server import AnthropicTestServer

    from pelican_tui.backends.engine.sides import PaneChoice

    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"prompt": PROMPT, "claude": {"max_retries": 0}})
        async with app.run_test(size=(80, 24)) as pilot:
            app.choices["left"] = PaneChoice("claude", True)
            app.choices["right"] = PaneChoice("claude", False)
            await pilot.press("n")
            await pilot.press("r")

            # The loopback Claude is quick: the whole series may be over by the time
            # the key press returns, so wait for its runs, not for it to be seen running.
            def done() -> bool:
                return len(claude.requests) == 4 and not app.comparing

            assert await wait_for(pilot, done, 60), "each pane ran twice"
            gallery = await _open_gallery(pilot)
            assert len(gallery.cells()) == 4
            labels = {cell.item.label for cell in gallery.cells()}
            assert labels == {f"{CLAUDE_MODEL} · thinking high", f"{CLAUDE_MODEL} · thinking off"}
    with SessionStore.open(locations.sessions_db()) as store:
        titles = [session.title for session in store.list_sessions()]
    assert sorted(title.rsplit(" · ", 1)[-1] for title in titles) == ["sample 1/2", "sample 2/2"]


async def test_keys_typed_quickly_mark_the_pictures_they_mean(drawn: dict[str, Drawn]) -> None:
    """A burst (space, right, right, space) arrives before focus has moved: the marks
    still land on the first and the third picture (seen in tmux with the old code)."""
    from textual import events

    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(160, 48)) as pilot:
        gallery = await _open_gallery(pilot)
        cells = gallery.cells()
        driver = app._driver
        assert driver is not None
        for key, char in (("space", " "), ("right", None), ("right", None), ("space", " ")):
            event = events.Key(key, char)
            event.set_sender(app)
            driver.send_message(event)  # as the terminal's input thread does: all queued at once
        assert await wait_for(pilot, lambda: len(gallery.marked) == 2, 5)
        assert gallery.marked == [cells[0].item.run.id, cells[2].item.run.id]
        assert await wait_for(pilot, lambda: gallery.focused is cells[2], 5)


async def _titles_at_80_columns(
    drawn: dict[str, Drawn], models: list[str], efforts: tuple[str, str] = ("", "")
) -> list[str]:
    """The gallery's cell titles at 80x24 for a run of each served model in ``models``
    (checked to be drawn on the screen as they are), at thinking level ``efforts``."""
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.create_session(PROMPT)
        for slot, model, effort in zip(("left", "right"), models, efforts, strict=True):
            settings = {"thinking": True} | ({"effort": effort} if effort else {})
            run = store.start_run(
                session.id, slot, "openai", model, {"served_model": model}, settings,  # type: ignore[arg-type]
            )  # fmt: skip
            store.finish_run(
                run, answer=drawn["pelican"].answer, svg=drawn["pelican"].svg,
                png=drawn["pelican"].png, picture_facts=drawn["pelican"].facts,
            )  # fmt: skip
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        gallery = await _open_gallery(pilot)
        titles = [str(cell.border_title) for cell in gallery.cells()]
        text = screen_text(app)
    for title in titles:
        assert f"─ {title} ─" in text, text
    return titles


async def test_gallery_titles_tell_two_served_models_of_one_owner_apart(
    drawn: dict[str, Drawn],
) -> None:
    """At 80 columns a cell's title is cut in its model's name, keeping its end: two
    served models of one owner, one quantization apart, read alike all the same."""
    models = ["unsloth/Qwen3.6-35B-A3B-GGUF:Q4_K_M", "unsloth/Qwen3.6-35B-A3B-GGUF:Q5_K_M"]
    titles = await _titles_at_80_columns(drawn, models)
    # They read "unsl…_K_M (server) · thinking on" both; the quantization is kept whole.
    for title, quant in zip(titles, ("Q4_K_M", "Q5_K_M"), strict=True):
        assert title.endswith(f"…{quant} (server) · thinking on"), titles


async def test_gallery_titles_tell_two_models_of_one_quantization_apart(
    drawn: dict[str, Drawn],
) -> None:
    """Two models of one owner in one quantization (a server's Qwen3 4B and 8B): at
    80 columns both cells read "unsl…Q4_K_M (server) · thinking on". Each keeps
    where its name differs from the other's now."""
    models = ["unsloth/Qwen3-4B-GGUF:Q4_K_M", "unsloth/Qwen3-8B-GGUF:Q4_K_M"]
    titles = await _titles_at_80_columns(drawn, models)
    assert len(set(titles)) == 2, titles
    assert titles == [
        "…4…Q4_K_M (server) · thinking on",  # 32 columns: a letter of the name, at least
        "…8…Q4_K_M (server) · thinking on",
    ]


async def test_gallery_titles_keep_a_served_models_thinking_level(
    drawn: dict[str, Drawn],
) -> None:
    """Ollama's gpt-oss at thinking low and high: at 80 columns both cells read
    "gpt-oss:20b (server) · thinkin…", the level (all that tells them apart) cut off.
    The kind of server gives way to it now."""
    models = ["gpt-oss:20b", "gpt-oss:20b"]
    titles = await _titles_at_80_columns(drawn, models, ("low", "high"))
    assert titles[0].endswith("· thinking low"), titles
    assert titles[1] == "gpt-oss:20b · thinking high"  # 32 columns: no room for "(server)"


async def test_sessions_in_a_folder_that_cannot_be_written_are_shown(
    drawn: dict[str, Drawn],
) -> None:
    """PELICAN_HOME on a read-only file system: the gallery said "unable to open
    database file" and the sessions screen "Could not read the sessions", though every
    session was in the file. Both show them now, and nothing can be saved is said once:
    the app said it at start, then the gallery and every ``o`` said it again in other
    words. ``d`` asked "Delete …?" and then could not; now it says why at once."""
    _fill(drawn)
    folder = locations.sessions_db().parent
    before = {path.name: path.read_bytes() for path in folder.iterdir()}

    def about_the_folder() -> list[str]:
        said = [notice.message for notice in app.notices if str(folder) in notice.message]
        return [message for message in said if not message.startswith("Could not delete")]

    with unwritable(folder):
        app = make_app(overrides={"prompt": PROMPT})
        async with app.run_test(size=(160, 48)) as pilot:
            gallery = await _open_gallery(pilot)
            assert len(gallery.cells()) == 6
            assert about_the_folder() == [
                f"Sessions cannot be saved: {folder} is not writable (see PELICAN_HOME)."
            ]
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: not isinstance(app.screen, GalleryScreen), 5)
            for _ in range(2):
                await pilot.press("o")
                assert await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), 5)
                sessions = app.screen
                assert isinstance(sessions, SessionsScreen)
                assert await wait_for(pilot, lambda s=sessions: s.loaded, 10)
                assert sessions.query_one("#sessions-table", SessionList).row_count == 4
                assert len(about_the_folder()) == 1, about_the_folder()
                await pilot.press("d")
                await pilot.pause()
                assert app.screen is sessions, "it asked to delete what it cannot"
                assert app.notices[-1].message == (
                    "Could not delete the session: the session store is read only: its "
                    f"folder {folder} is not writable."
                )
                await pilot.press("escape")
                assert await wait_for(pilot, lambda s=sessions: app.screen is not s, 5)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


async def test_a_pair_vote_the_ratings_leave_out_says_so(drawn: dict[str, Drawn]) -> None:
    """Two pictures of the local model marked in the gallery: the vote was stored and
    "Vote saved" said, but nothing that the ratings leave it out, as the main screen says."""
    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        gallery = await _open_gallery(pilot)
        cells = gallery.cells()
        assert cells[0].item.label == cells[2].item.label, "one configuration"
        await pilot.press("space", "down", "space", "enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), 5)
        pair_screen = app.screen
        assert isinstance(pair_screen, PairScreen)
        await pilot.press("minus")
        assert await wait_for(pilot, lambda: pair_screen.winner is not None, 5)
        await pilot.pause()
        said = "Vote saved: both are bad. (not rated: both pictures are of one configuration)"
        assert said in screen_text(app).splitlines()[0], screen_text(app)


async def _refused_pair(app: Any, pilot: Any) -> str:
    """Mark the gallery's first two pictures, open them as a pair, press = and return
    what the pair screen said of it, as its top line shows it."""
    gallery = await _open_gallery(pilot)
    await pilot.press("space", "right", "space", "enter")
    assert await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), 5)
    count = len(app.notices)
    await pilot.press("equals_sign")
    assert await wait_for(pilot, lambda: len(app.notices) > count, 5)
    await pilot.pause()
    assert isinstance(app.screen, PairScreen) and app.screen.winner is None
    assert gallery.marked, "not voted on: still marked"
    return str(app.notices[-1].message)


async def test_a_gallery_pair_of_runs_without_a_picture_takes_no_vote(
    drawn: dict[str, Drawn],
) -> None:
    """Two pictures that render failed (no picture) marked in the gallery: = stored
    "Vote saved: a tie. (not rated: a run drew no picture)", where the main screen
    refuses a vote on them, and "a run" where neither drew. Now the pair screen refuses
    it in the main screen's words, naming each."""
    with SessionStore.open(locations.sessions_db()) as store:
        add_comparison(store, drawn["no_svg"], drawn["no_svg"])
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        said = await _refused_pair(app, pilot)
        assert said == (
            "No verdict: A's run drew no picture and B's run drew no picture; a verdict "
            "compares two finished pictures."
        ), said
        assert "No verdict: A's run drew no picture" in screen_text(app)
    with SessionStore.open(locations.sessions_db()) as store:
        assert store.votes() == []


async def test_a_picture_cut_to_nothing_is_no_picture_to_vote_on(drawn: dict[str, Drawn]) -> None:
    """A run cut inside its SVG, closed up, drew a blank ("empty · 2 elements"): the
    pair screen stored a vote on it and the ratings counted it, where the README says a
    run whose SVG was cut drew no picture. Now it is none, as for a run with no SVG;
    a whole SVG that draws a blank stays a picture (a bad one)."""
    from pelican_tui.backends.ratings.leaderboard import NO_PICTURE, unrated

    cut = draw(
        '```svg\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300"><g><path d="M'
    )
    assert cut.png is not None and cut.facts["truncated"] and cut.facts["empty"], cut.facts
    with SessionStore.open(locations.sessions_db()) as store:
        cut_run, pelican = add_comparison(store, cut, drawn["pelican"])
        whole_blank, other = add_comparison(store, drawn["blank"], drawn["pelican"])
        headers = store.run_headers([cut_run, pelican, whole_blank, other])
    assert not headers[cut_run].is_a_picture
    assert unrated(headers[cut_run], headers[pelican]) == NO_PICTURE
    assert headers[whole_blank].is_a_picture
    assert unrated(headers[whole_blank], headers[other]) is None
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        said = await _refused_pair(app, pilot)
    assert said == "No verdict: A's run drew no picture; a verdict compares two finished pictures."
    with SessionStore.open(locations.sessions_db()) as store:
        assert store.votes() == []


async def test_a_pair_whose_session_was_deleted_says_so_and_leaves_the_gallery(
    drawn: dict[str, Drawn],
) -> None:
    """Two pictures of one session marked in the gallery, then that session deleted
    (``pelican-tui sessions delete``, another window): a vote said "The vote was not
    saved: no run with id 1", every time, and the gallery kept showing them. Now the
    vote says their session was deleted, and the gallery drops them."""
    _fill(drawn)
    app = make_app(overrides={"prompt": PROMPT, "ui": {"theme": "pelican-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        gallery = await _open_gallery(pilot)
        cells = gallery.cells()
        first, second = cells[0].item.run, cells[1].item.run
        assert first.session_id == second.session_id
        before = len(gallery.items)
        await pilot.press("space", "right", "space", "enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PairScreen), 5)
        with SessionStore.open(locations.sessions_db()) as other:  # as the CLI does
            other.delete_session(first.session_id)
        await pilot.press("less_than_sign")
        assert await wait_for(pilot, lambda: app.screen is gallery, 5)
        assert await wait_for(pilot, lambda: len(gallery.items) == before - 2, 5)
        said = [n.message for n in app.notices]
        assert said[-1] == (
            "These pictures' session was deleted: the vote was not saved, "
            "and they are gone from the gallery."
        ), said
        await pilot.pause()
        shown = {cell.item.run.id for cell in gallery.cells()}
        assert shown and not shown & {first.id, second.id}, shown
        assert gallery.marked == []
        header = screen_text(app).splitlines()[0]
        assert "Gallery · 3 pictures of" in header, header  # of 4 runs: one has no SVG
    with SessionStore.open(locations.sessions_db()) as store:
        assert store.votes() == []


async def test_the_judges_ranks_its_votes_do_not_settle_are_said(
    drawn: dict[str, Drawn],
) -> None:
    """`leaderboard --judge` said "The votes do not yet settle the order of ranks 1 and
    2"; the judge's table on the leaderboard screen showed the same overlapping
    intervals and said nothing. Now it says it below the table, in the same words."""
    pairs = _fill(drawn)
    _votes(drawn, pairs, judge=CLAUDE_MODEL)
    app = make_app(overrides={"prompt": PROMPT})
    async with app.run_test(size=(160, 48)) as pilot:
        board = await _open_leaderboard(pilot, judge=True)
        assert board.judge_board is not None
        said = [sentence(caveat) for caveat in board.judge_board.caveats()]
        rows = screen_text(app).splitlines()
    text = "\n".join(rows)
    settle = "The votes do not yet settle the order of ranks 1 and 2 (their intervals overlap)."
    assert settle in said, said
    judge = next(place for place, row in enumerate(rows) if "The judge's ratings" in row)
    assert any(settle in row for row in rows[judge:]), text
