"""Prompt sets run from the TUI (``P``) the way ``pelican-tui run --set NAME`` runs them.

Both front ends walk :func:`~pelican_tui.backends.engine.batch.plan_batch` and
make each session with :func:`~pelican_tui.backends.engine.batch.run_step`; here
the real app runs a set against the loopback Anthropic server (both panes are
Claude, so no llama-server is needed) and the real store is read back.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from _anthropic_server import AnthropicTestServer
from _app_support import COPY_SVG_PROMPT, RUN_WAIT_S, make_app, server_ready, wait_for
from _evidence_support import screen_text
from textual.widgets import Input

from pelican_tui.app import PelicanApp
from pelican_tui.backends import locations
from pelican_tui.backends.engine.batch import plan_batch
from pelican_tui.backends.engine.comparison import ComparisonEngine
from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.prompt_sets import NamedPrompt, PromptSet, load_prompt_sets
from pelican_tui.backends.settings import load_settings
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.screens.gallery_screen import GalleryScreen
from pelican_tui.screens.prompt_set_screen import PromptSetScreen
from pelican_tui.widgets.status_bar import StatusBar

PROMPTS_TOML = """
[sets.animals]
prompts = [
  { name = "pelican", text = "Generate an SVG of a pelican riding a bicycle" },
  { name = "heron", text = "Generate an SVG of a heron riding a unicycle" },
]

[sets.secret]
private = true
prompts = [{ name = "s1", text = "Generate an SVG of a secret walrus" }]
"""


def _write_sets(text: str = PROMPTS_TOML) -> None:
    path = locations.prompt_sets_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_batch_is_every_sample_of_a_prompt_then_the_next() -> None:
    animals = PromptSet(
        "animals", False, (NamedPrompt("pelican", "a pelican"), NamedPrompt("heron", "a heron"))
    )
    steps = plan_batch(animals, 2)
    assert [(s.prompt.name, s.sample, s.number, s.steps) for s in steps] == [
        ("pelican", 1, 1, 4),
        ("pelican", 2, 2, 4),
        ("heron", 1, 3, 4),
        ("heron", 2, 4, 4),
    ]
    assert [s.label for s in steps] == [
        "pelican 1/2 · sample 1/2",
        "pelican 1/2 · sample 2/2",
        "heron 2/2 · sample 1/2",
        "heron 2/2 · sample 2/2",
    ]
    choices = {"left": PaneChoice("local", True), "right": PaneChoice("claude", True)}
    engine = ComparisonEngine(load_settings(), Prepared(None, None), read_header=False)
    title = steps[2].title(engine, choices)
    assert title.startswith("animals/heron · local vs claude"), "a set's prompt by name"
    assert title.endswith(" · sample 1/2") and "a heron" not in title
    assert all(s.set_name == "animals" and not s.private for s in steps)

    [alone] = plan_batch([NamedPrompt("prompt", "draw a heron")], 1)
    assert alone.label == "" and alone.set_name is None and not alone.private
    assert alone.title(engine, choices).startswith("draw a heron")


def _claude_panes(monkeypatch: pytest.MonkeyPatch, claude: AnthropicTestServer) -> PelicanApp:
    """The app with both panes on ``claude`` (the loopback server), thinking on and off:
    no llama-server is needed."""
    claude.serve(monkeypatch)
    app = make_app(overrides={"claude": {"max_retries": 0}})
    app.choices["left"] = PaneChoice("claude", True)
    app.choices["right"] = PaneChoice("claude", False)
    return app


async def _run_set(pilot: Any, name: str) -> PromptSetScreen:
    """Press P, check the picker, choose the set called ``name``."""
    app = pilot.app
    await pilot.press("P")
    assert await wait_for(pilot, lambda: isinstance(app.screen, PromptSetScreen), 10)
    picker: PromptSetScreen = app.screen
    order = list(picker.sets)
    for _ in range(order.index(name)):
        await pilot.press("down")
    await pilot.press("enter")
    assert await wait_for(pilot, lambda: not isinstance(app.screen, PromptSetScreen), 5)
    return picker


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_P_runs_every_prompt_of_a_set_in_both_panes(
    monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    _write_sets()
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.02) as claude:
        app = _claude_panes(monkeypatch, claude)
        async with app.run_test(size=size) as pilot:
            await pilot.press("P")
            assert await wait_for(pilot, lambda: isinstance(app.screen, PromptSetScreen), 10)
            text = screen_text(app)
            assert "animals · 2 prompts: pelican, heron" in text
            assert "secret · 1 prompt: s1 · private" in text
            assert "walrus" not in text, "a set is listed by its prompts' names"
            assert "prompts.toml" in text, "the picker says where sets are kept"
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: not isinstance(app.screen, PromptSetScreen), 5)
            assert not app.comparing, "escape runs nothing"

            prompt_box = app.query_one("#prompt", Input)
            own = "A cat of my own"
            prompt_box.value = own  # typed, not run
            await _run_set(pilot, "animals")
            seen: set[tuple[str, str, bool]] = set()

            def watch() -> bool:
                seen.add((str(prompt_box.border_subtitle), prompt_box.value, prompt_box.disabled))
                return not app.comparing

            assert await wait_for(pilot, watch, 60)
            # The box said the pelican prompt while the heron was drawn: it shows the
            # prompt running, not editable, and gives the user's back after.
            heron = "Generate an SVG of a heron riding a unicycle"
            assert ("set animals: heron 2/2", heron, True) in seen, seen
            assert not any(sub.startswith("set ") and value == own for sub, value, _ in seen)
            assert str(prompt_box.border_subtitle) == "", "the set's place goes when it ends"
            assert prompt_box.value == own and not prompt_box.disabled
            assert any("Running prompt set animals: 2 prompts;" in n.message for n in app.notices)

            # The gallery goes through the set's prompts, named as in the titles.
            await pilot.press("g")
            assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 10)
            gallery: GalleryScreen = app.screen
            assert await wait_for(pilot, lambda: gallery.loaded and len(gallery.cells()) == 2, 10)
            assert "2 pictures of “animals/heron” (2/2, [ ])" in screen_text(app)
            # Every key the footer lists fits, at 80 columns too (it once cut "? Help").
            footer = screen_text(app).splitlines()[-1]
            for key in ("Mark", "Vote", "Next prompt", "? Help", "q Quit"):
                assert key in footer, (key, footer)
            await pilot.press("right_square_bracket")
            assert await wait_for(pilot, lambda: "“animals/pelican” (1/2" in screen_text(app), 10)
            assert await wait_for(pilot, lambda: gallery.loaded and len(gallery.cells()) == 2, 10)
            assert gallery.prompt == "Generate an SVG of a pelican riding a bicycle"
            # Every mode on: each named whole, the set's place too (at 80 columns the
            # header ran over its row, cut in its last words).
            await pilot.press("f", "f", "B", "space")
            assert await wait_for(pilot, lambda: "marked 1/2" in screen_text(app), 10)
            header = screen_text(app).splitlines()[0].strip()
            assert "“animals/" in header and "” (1/2" in header, header
            assert " · non-empty" in header or " · hide empty pictures" in header, header
            assert header.endswith(" · blind · marked 1/2"), header
            await pilot.press("escape")
    sent = [r.body["messages"][-1]["content"] for r in claude.requests]
    texts = [c if isinstance(c, str) else c[0]["text"] for c in sent]
    assert sorted(texts) == sorted(
        ["Generate an SVG of a pelican riding a bicycle"] * 2
        + ["Generate an SVG of a heron riding a unicycle"] * 2
    ), "each prompt of the set ran in both panes"
    with SessionStore.open(locations.sessions_db()) as store:
        sessions = sorted(store.list_sessions(), key=lambda s: s.id)
        runs = [store.get_session(s.id).runs for s in sessions]
    assert [s.prompt_set for s in sessions] == ["animals", "animals"]
    assert [s.title.split(" · ")[0] for s in sessions] == ["animals/pelican", "animals/heron"]
    assert [len(r) for r in runs] == [2, 2]
    assert not any(s.private for s in sessions)


async def test_a_blind_pair_of_a_set_shows_the_prompt_it_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B, then P and the set animals: the second pair was titled "Blind · heron 2/2",
    but the prompt box said the pelican's prompt: the heron's text was never on screen
    while the pair was judged. Now the box shows the prompt of the pair on screen."""
    _write_sets()
    pelican = "Generate an SVG of a pelican riding a bicycle"
    heron = "Generate an SVG of a heron riding a unicycle"
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.02) as claude:
        app = _claude_panes(monkeypatch, claude)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("B")
            await _run_set(pilot, "animals")
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 2, 60), [
                n.message for n in app.notices
            ]
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            await pilot.pause()
            text = screen_text(app)
            assert "Blind · pelican 1/2" in text and pelican in text, text
            assert heron not in text, text
            await pilot.press("equals_sign")
            assert await wait_for(pilot, lambda: len(app.pending_pairs) == 1, 10)
            await pilot.pause()
            text = screen_text(app)
            assert "Blind · heron 2/2" in text, text
            assert heron in text and pelican not in text, text
            await pilot.press("equals_sign")
            assert await wait_for(pilot, lambda: not app.pending_pairs, 10)
            await pilot.pause()
            box = app.query_one("#prompt", Input)
            assert box.value == pelican and not box.disabled, "the user's prompt is back"


async def test_a_pane_key_mid_set_says_the_set_stops_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1 pressed while a set's first prompt ran: the rest of the set was dropped, and
    the notice spoke only of the left pane's run."""
    _write_sets()
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.05) as claude:
        app = _claude_panes(monkeypatch, claude)
        async with app.run_test(size=(80, 24)) as pilot:
            await _run_set(pilot, "animals")
            assert await wait_for(pilot, lambda: app.pane("left").answer_text != "", 20)
            await pilot.press("1")
            said = "the prompt set animals stops at pelican 1/2, 1 session after it not run"
            assert await wait_for(pilot, lambda: any(said in n.message for n in app.notices), 5), [
                n.message for n in app.notices
            ]
            assert await wait_for(pilot, lambda: not app.comparing, 60)
    prompts = [r.body["messages"][-1]["content"] for r in claude.requests if r.body]
    assert not any("heron" in str(p) for p in prompts), "the set stopped where it said"


async def test_a_private_set_run_from_the_tui_is_recorded_private(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write_sets()
    with AnthropicTestServer(scenario="ok") as claude:
        app = _claude_panes(monkeypatch, claude)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("n")  # 2 samples
            await _run_set(pilot, "secret")

            # The loopback Claude is quick: the set may be over by the time the key
            # press returns, so wait for its runs, not for it to be seen running.
            def done() -> bool:
                return len(claude.requests) == 4 and not app.comparing

            assert await wait_for(pilot, done, 60), "one prompt, two samples, two panes"
            assert "walrus" not in app.terminal_title
    assert len(claude.requests) == 4, "no run more"
    with SessionStore.open(locations.sessions_db()) as store:
        sessions = store.list_sessions()
    assert len(sessions) == 2
    assert all(s.private and s.prompt_set == "secret" for s in sessions)
    assert all("walrus" not in s.title and s.title.startswith("secret/s1") for s in sessions)
    # `sessions list` names them as the TUI does: it listed the private prompt's text.
    from pelican_tui.cli.sessions import format_session_table

    listed = format_session_table(sessions)
    assert "walrus" not in listed and listed.count("secret/s1 · ") == 2, listed


async def test_a_key_claude_refuses_is_sent_once_and_the_local_samples_go_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """r with 3 samples and a key Claude refuses: each sample sent it again, and each
    failed the same way. Now the first says it; the later ones are not sent, the pane
    says why, and the local model runs all three."""
    with AnthropicTestServer(scenario="401") as claude:
        claude.serve(monkeypatch)
        local = {"context": 2048, "max_tokens": 24, "seed": 7, "thinking": False}
        app = make_app(start_server=True, overrides={"claude": {"max_retries": 0}, "local": local})
        async with app.run_test(size=(160, 48)) as pilot:
            await server_ready(pilot)
            assert app.choices["right"].side == "claude"
            app.samples = 3
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.comparing, 10)
            titles: list[str] = []

            def ended() -> bool:
                titles.append(app.terminal_title)
                return not app.comparing

            assert await wait_for(pilot, ended, RUN_WAIT_S)
            await pilot.pause()
            screen = screen_text(app)
            # It said "claude: ready" after the key was refused, and the title "running
            # 4/6" at the last run: the runs not sent count as done.
            assert app.query_one(StatusBar).claude_note == "claude: key refused"
    running = [title for title in dict.fromkeys(titles) if "running" in title]
    assert running[-1] == "pelican-tui · running 6/6", running
    assert len(claude.requests) == 1, f"Claude was sent {len(claude.requests)} requests"
    assert "Not run: not sent: Anthropic rejected the API key (401)" in screen, screen
    with SessionStore.open(locations.sessions_db()) as store:
        sessions = [store.get_session(s.id) for s in reversed(store.list_sessions())]
    assert [[r.status for r in s.runs_in("left")] for s in sessions] == [["finished"]] * 3
    assert [[r.status for r in s.runs_in("right")] for s in sessions] == [["failed"], [], []]


async def test_a_broken_prompts_file_is_named_and_nothing_runs() -> None:
    _write_sets('[sets.animals]\nprompts = [{ name = "x" }]\n')
    with pytest.raises(Exception, match=r"prompts\.toml"):
        load_prompt_sets()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("P")
        assert await wait_for(pilot, lambda: bool(app.notices), 5)
        assert not isinstance(app.screen, PromptSetScreen)
        assert not app.comparing
        [notice] = app.notices
        assert "prompts.toml" in notice.message and "animals" in notice.message


async def test_a_toast_over_the_picker_leaves_its_keys_readable() -> None:
    """At 80x24, n then P: the "Samples" toast sat over the picker's centred "enter run
    esc cancel". A toast takes at most the screen's right half; the keys are on the left."""
    from textual.widgets._toast import Toast

    _write_sets(PROMPTS_TOML + '[sets.vehicles]\nprompts = [{ name = "bus", text = "a bus" }]\n')
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("n", "P")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PromptSetScreen), 10)
        assert await wait_for(pilot, lambda: bool(app.screen.query(Toast)), 5)
        await pilot.pause()
        text = screen_text(app)
        assert "Samples: r runs each pane 2 times" in text, text
        assert "enter run   esc cancel" in text, text


@pytest.mark.parametrize("size", [(80, 24), (60, 24)])
async def test_the_picker_lists_each_set_on_one_line(size: tuple[int, int]) -> None:
    """A set of many prompts was cut to 70 characters in a list 68 wide: its last
    name wrapped onto a line of its own (and a private set's "private" with it), at
    every width; wide characters counted as one."""
    birds = ", ".join(f'{{ name = "bird-number-{i}", text = "a bird" }}' for i in range(9))
    _write_sets(
        f"[sets.birds]\nprompts = [{birds}]\n"
        f"[sets.hidden]\nprivate = true\nprompts = [{birds}]\n"
        '[sets."鳥の動物セット"]\nprompts = ['
        '{ name = "鶴と白鳥と鷺と鵜と鷗と鳩と雀と燕と鷹と鷲と鴨", text = "a crane" },'
        ' { name = "heron", text = "a heron" }]\n'
    )
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("P")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PromptSetScreen), 10)
        await pilot.pause()
        lines = screen_text(app).splitlines()
        listed = [line for line in lines if "prompts:" in line]
        assert len(listed) == 3, "\n".join(lines)
        assert "· private" in next(line for line in listed if "hidden ·" in line)
        for line in listed:
            assert "…" in line, line  # cut to the width, on its own line
        assert not any(line.strip(" ▊▎█").startswith("bird-number") for line in lines)


def _write_copy_set() -> None:
    """A set of three prompts the tiny stand-in answers quickly, with an SVG."""
    prompt = json.dumps(COPY_SVG_PROMPT)
    names = ("one", "two", "three")
    listed = ", ".join(f'{{ name = "{name}", text = {prompt} }}' for name in names)
    _write_sets(f"[sets.copy]\nprompts = [{listed}]\n")


def _sessions() -> list[tuple[str, list[tuple[str, str, Any]]]]:
    """Each stored session's title and its runs: slot, status, the context it ran with."""
    with SessionStore.open(locations.sessions_db()) as store:
        sessions = sorted(store.list_sessions(), key=lambda s: s.id)
        return [
            (s.title, [(r.slot, r.status, r.model_info.get("context")) for r in runs])
            for s in sessions
            for runs in [store.get_session(s.id).runs]
        ]


async def test_server_settings_applied_mid_set_stop_it_and_say_so() -> None:
    """S and ctrl+s while a set's first prompt ran: its runs were cancelled and said to
    be, and the set stopped there without a word of it (two prompts never run)."""
    from pelican_tui.screens.server_settings_screen import ServerSettingsScreen

    _write_copy_set()
    # The first run must still stream at the apply: the tiny model may end its copy early.
    local = {"context": 2048, "max_tokens": 1024, "extra_args": ["--ignore-eos"]}
    app = make_app(start_server=True, overrides={"local": local})
    async with app.run_test(size=(160, 48)) as pilot:
        old = await server_ready(pilot)
        await _run_set(pilot, "copy")
        left = app.pane("left")
        assert await wait_for(pilot, lambda: bool(left.answer_text or left.thinking_text), 60)
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        app.screen.query_one("#settings-context", Input).value = "1536"
        await pilot.press("ctrl+s")
        said = "the prompt set copy stops at one 1/3, 2 sessions after it not run."
        notes = lambda: [n.message for n in app.notices if "Applying" in n.message]  # noqa: E731
        assert await wait_for(pilot, lambda: bool(notes()), 20)
        assert notes()[0].endswith(said), notes()
        assert await wait_for(pilot, lambda: not app.comparing, 30)
        assert await wait_for(pilot, lambda: app.server not in (None, old), 30)
        await server_ready(pilot)  # the new server, with the new context
        assert app.settings.local.context == 1536
        await pilot.pause(1)
        assert not app.comparing
    [(title, runs)] = _sessions()
    assert title.startswith("copy/one"), "nothing of the set ran after the apply"
    assert runs and all(status == "cancelled" and ctx == 2048 for _, status, ctx in runs), runs


async def test_server_settings_applied_between_a_sets_prompts_stop_it_and_say_so() -> None:
    """The settings applied just as a set's first prompt ended, before the next began
    (no run was live to cancel): the set stopped without a word, as if it were done."""
    _write_copy_set()
    app = make_app(start_server=True)
    applied: list[int] = []
    compare = app.engine.run_comparison

    async def compare_then_apply(*args: Any, **kwargs: Any) -> Any:
        """Run one of the set's comparisons (the engine's own); after the first, apply
        new settings (what S and ctrl+s do once the screen has checked them) and give
        the apply a moment, which it uses to cancel the set where it is: here, between
        its first prompt and its second."""
        outcome = await compare(*args, **kwargs)
        if not applied:
            applied.append(1)
            app.apply_local_settings(app.settings.local.model_copy(update={"context": 1536}))
            await asyncio.sleep(5)
        return outcome

    app.engine.run_comparison = compare_then_apply  # type: ignore[method-assign]
    async with app.run_test(size=(160, 48)) as pilot:
        old = await server_ready(pilot)
        await _run_set(pilot, "copy")
        assert await wait_for(pilot, lambda: bool(applied), RUN_WAIT_S)
        said = "Applying the server settings: the prompt set copy stops at one 1/3, 2 sessions"
        notes = [n.message for n in app.notices]
        assert await wait_for(pilot, lambda: any(said in n.message for n in app.notices), 10), notes
        assert await wait_for(pilot, lambda: not app.comparing, 30)
        assert await wait_for(pilot, lambda: app.server not in (None, old), 30)
        await server_ready(pilot)
        await pilot.pause(1)
        assert not app.comparing
    [(title, runs)] = _sessions()
    assert title.startswith("copy/one"), "nothing of the set ran after the apply"
    assert [status for _, status, _ in runs] == ["finished", "finished"], runs


LONG_SET = "birds-on-vehicles-for-the-quarterly-comparison-of-local-models"
"""A set name of 62 characters (the longest allowed is 64)."""


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_a_long_set_name_is_cut_in_the_prompt_box_not_where_it_is(
    monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    """At 80 columns the border cut "set <62 characters>: heron-on-a-…" at its end: the
    prompt's place and the sample were lost ("…: heron…"). Now the names are cut and
    the place stays whole; where it fits, all of it is shown."""
    _write_sets(
        f"[sets.{LONG_SET}]\nprompts = [\n"
        '  { name = "heron-on-a-unicycle-crossing-a-bridge", text = "Draw a heron" },\n'
        '  { name = "owl", text = "Draw an owl" },\n]\n'
    )
    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.02) as claude:
        app = _claude_panes(monkeypatch, claude)
        async with app.run_test(size=size) as pilot:
            await pilot.press("n")  # 2 samples
            await _run_set(pilot, LONG_SET)
            drawn: set[str] = set()

            def watch() -> bool:
                drawn.add(screen_text(app).splitlines()[2])  # the prompt box's bottom border
                return not app.comparing

            assert await wait_for(pilot, watch, 60)
    wide = size[0] >= 160
    steps = [("heron-on-a-", "1/2 · sample 1/2"), ("heron-on-a-", "1/2 · sample 2/2"),
             ("owl", "2/2 · sample 1/2"), ("owl", "2/2 · sample 2/2")]  # fmt: skip
    for prompt, place in steps:  # each drawn with its place whole, at the right end
        lines = [x for x in drawn if f": {prompt}" in x and x.endswith(f" {place} ▁▎")]
        assert lines, (prompt, place, drawn)
        for line in lines:
            assert " set birds-on-vehicles-" in line, line
            assert (LONG_SET in line) is wide, line
            if prompt == "heron-on-a-":
                assert ("heron-on-a-unicycle-crossing-a-bridge 1/2" in line) is wide, line


@pytest.mark.parametrize(
    ("set_name", "prompt_name", "width", "expected"),
    [
        ("animals", "heron", 74, "set animals: heron 2/2 · sample 1/2"),
        (LONG_SET, "owl", 74, f"set {LONG_SET[:47]}…: owl 2/2 · sample 1/2"),
        (
            "鳥の動物セット",
            "鶴と白鳥と鷺と鵜と鷗と鳩と雀",
            40,
            "set 鳥の動物…: 鶴と白… 2/2 · sample 1/2",
        ),
        (LONG_SET, "owl", 24, "2/2 · sample 1/2"),
    ],
    ids=["fits", "long set", "wide characters", "no room for names"],
)
def test_a_sets_place_fits_its_width_in_cells(
    set_name: str, prompt_name: str, width: int, expected: str
) -> None:
    """Names cut by the cell (a CJK character takes two), the place kept whole; with no
    room for names, the place alone."""
    from rich.cells import cell_len

    from pelican_tui.voting import set_subtitle

    prompts = (NamedPrompt("first", "a pelican"), NamedPrompt(prompt_name, "a heron"))
    step = plan_batch(PromptSet(set_name, False, prompts), 2)[2]
    said = set_subtitle(step, width)
    assert said == expected
    assert cell_len(said) <= width
