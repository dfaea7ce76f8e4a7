"""Every key binding of the main screen, driven through the real app with Pilot.

These tests do not start llama-server (start_server=False): they check what
each key does to the app's state and screens. End-to-end runs are in
test_app_e2e.py.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from _app_support import RUN_WAIT_S, header_read, make_app, wait_for
from _dialect_servers import LmStudioServer, OllamaServer
from _evidence_support import screen_text
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from pelican_tui.app import PelicanApp
from pelican_tui.backends import locations
from pelican_tui.backends.resources import ResourceSample
from pelican_tui.messages import ResourceTick
from pelican_tui.screens.gallery_screen import GalleryScreen
from pelican_tui.screens.help_screen import HelpScreen
from pelican_tui.screens.leaderboard_screen import LeaderboardScreen
from pelican_tui.screens.log_screen import LogScreen
from pelican_tui.screens.opening_key import OPENING_KEYS
from pelican_tui.screens.picture_screen import PictureScreen
from pelican_tui.screens.server_settings_screen import ServerSettingsScreen
from pelican_tui.screens.sessions_screen import SessionsScreen
from pelican_tui.screens.text_screen import TextScreen
from pelican_tui.widgets.prompt_box import PromptBox
from pelican_tui.widgets.status_bar import StatusBar
from pelican_tui.widgets.text_line import TextLine


def _notes(app: PelicanApp) -> list[str]:
    return [n.message for n in app.notices]


async def test_every_binding_has_an_id_and_a_description() -> None:
    app = make_app()
    ids = set()
    for binding in app.BINDINGS:
        assert binding.id, binding  # type: ignore[union-attr]
        assert binding.description, binding  # type: ignore[union-attr]
        ids.add(binding.id)  # type: ignore[union-attr]
    assert {"run_both", "cancel", "toggle_thinking", "toggle_other_thinking"} <= ids
    assert {"verdict_left", "verdict_right", "verdict_tie", "restart_server"} <= ids
    assert {"verdict_both_bad", "toggle_blind", "cycle_samples", "gallery", "leaderboard"} <= ids


async def test_thinking_toggle_key_changes_the_next_request() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        before = app.choices["left"].thinking
        await pilot.press("t")
        assert app.choices["left"].thinking is not before
        request = app.engine.request(app.choices["left"], app.prompt)
        assert request is not None and request.thinking is not before
        facts = app.pane("left").query_one(".facts").text  # type: ignore[attr-defined]
        assert ("thinking on" if not before else "thinking off") in str(facts)


async def test_without_claude_the_panes_compare_thinking_on_and_off() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        left, right = app.choices["left"], app.choices["right"]
        assert left.side == right.side == "local", "no API key: both panes run the local model"
        assert left.thinking is not right.thinking
        await pilot.press("T")  # the other pane's switch
        assert app.choices["right"].thinking is not right.thinking
        await pilot.press("e")
        assert any("No pane's backend has effort levels" in n for n in _notes(app))


async def test_claude_thinking_and_effort_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.choices["right"].side == "claude"
        thinking = app.choices["right"].thinking
        await pilot.press("T")
        assert app.choices["right"].thinking is not thinking
        facts = str(app.pane("right").query_one(".facts").text)  # type: ignore[attr-defined]
        assert ("thinking off" in facts) is thinking
        if not app.choices["right"].thinking:  # `e` steps the effort with thinking on only
            await pilot.press("T")
        effort = app.engine.request(app.choices["right"], app.prompt).effort  # type: ignore[union-attr]
        await pilot.press("e")
        request = app.engine.request(app.choices["right"], app.prompt)
        assert request is not None and request.effort != effort
        assert app.choices["right"].effort == request.effort
        facts = str(app.pane("right").query_one(".facts").text)  # type: ignore[attr-defined]
        assert f"thinking {request.effort}" in facts


async def test_effort_key_leaves_a_pane_without_thinking_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With Claude's thinking off, `e` said "claude effort: xhigh" and changed a level
    the run does not send (no thinking, no effort): now it says so and changes nothing."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    app = make_app(overrides={"claude": {"thinking": True, "effort": "high"}})
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.choices["right"].side == "claude"
        await pilot.press("T")  # Claude's thinking off
        assert app.choices["right"].thinking is False
        await pilot.press("e")
        assert app.choices["right"].effort is None, "nothing changed"
        facts = str(app.pane("right").query_one(".facts").text)  # type: ignore[attr-defined]
        assert facts == "thinking off"
        said = _notes(app)[-1]
        assert "effort applies only with thinking on" in said
        assert "effort: xhigh" not in said
        await pilot.press("T")  # thinking on again: `e` steps the effort
        await pilot.press("e")
        assert app.choices["right"].effort == "xhigh"
        facts = str(app.pane("right").query_one(".facts").text)  # type: ignore[attr-defined]
        assert facts == "thinking xhigh"
        assert _notes(app)[-1] == "Effort xhigh in pane 2 (claude), from the next run"


async def test_effort_key_names_the_pane_it_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """`e` with pane 1 (the local model, no effort levels) active changed Claude's effort
    in pane 2 and said only "claude effort: xhigh", while `t` there said pane 1 has no
    switch: as if pane 1 had changed. Now it names the pane, and when it applies."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    app = make_app(overrides={"claude": {"thinking": True, "effort": "high"}})
    async with app.run_test(size=(160, 48)) as pilot:
        assert (app.active, app.choices["right"].side) == ("left", "claude")
        before = app.choices["left"]
        await pilot.press("e")
        assert app.choices["left"] == before, "the local pane has no levels"
        assert app.choices["right"].effort == "xhigh"
        assert _notes(app)[-1] == "Effort xhigh in pane 2 (claude), from the next run"


async def test_a_remote_panes_effort_steps_from_its_own_default() -> None:
    """`e` started every side from claude.effort: with it "medium", a remote model with
    levels (sent "high" by default) went to "high" again, and nothing changed."""
    with OllamaServer(model="gpt-oss:20b", levels=("low", "medium", "high")) as server:
        app = make_app(overrides={"remote": {"url": server.url}, "claude": {"effort": "medium"}})
        async with app.run_test(size=(160, 48)) as pilot:
            for _ in range(4):
                if app.choices["left"].side == "remote":
                    break
                await pilot.press("b")
            choice = app.choices["left"]
            assert choice.side == "remote"
            side = app.engine.sides["remote"]
            await side.check()
            assert side.backend.capabilities.supports_effort
            before = app.engine.request(choice, app.prompt)
            await pilot.press("e")
            after = app.engine.request(app.choices["left"], app.prompt)
    assert before is not None and after is not None
    # From "high", the model's highest level, to its lowest: no level it does not have.
    assert (before.effort, after.effort) == ("high", "low")


async def test_a_panes_thinking_level_stays_with_its_side_through_b(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`e` set pane 2 to "medium" (Claude's effort, or a server's level); `b` through the
    other backends and back to it gave "thinking high" again. Each side of a pane keeps
    the level chosen for it while the app runs."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    with OllamaServer(model="gpt-oss:20b", levels=("low", "medium", "high")) as server:
        overrides = {"remote": {"url": server.url}, "claude": {"thinking": True, "effort": "high"}}
        app = make_app(overrides=overrides)
        async with app.run_test(size=(160, 48)) as pilot:

            async def step(key: str, until: Any) -> None:
                for _ in range(6):
                    if until(app.choices["right"]):
                        return
                    await pilot.press(key)
                assert until(app.choices["right"]), app.choices["right"]

            def facts() -> str:
                return str(app.pane("right").query_one(".facts").text)  # type: ignore[attr-defined]

            await pilot.press("w")  # pane 2, on Claude
            await step("e", lambda choice: choice.effort == "medium")
            assert facts() == "thinking medium"
            await step("b", lambda choice: choice.side == "remote")
            assert (await app.engine.sides["remote"].check()).ready
            await step("e", lambda choice: choice.effort == "low")
            remote = app.choices["right"]
            await step("b", lambda choice: choice.side == "claude")
            assert app.choices["right"].effort == "medium", app.choices["right"]
            assert facts() == "thinking medium", "not claude.effort's high"
            await step("b", lambda choice: choice.side == "remote")
            assert app.choices["right"] == remote
            request = app.engine.request(app.choices["right"], app.prompt)
    assert request is not None and request.effort == "low"


async def _pane_2_on_remote(pilot: Pilot[Any], app: PelicanApp) -> None:
    """Pane 2 switched to the remote server (``w``, then ``b`` until it is)."""
    await pilot.press("w")
    for _ in range(4):
        if app.choices["right"].side == "remote":
            break
        await pilot.press("b")
    assert app.choices["right"].side == "remote"


def _memory_tick() -> ResourceTick:
    """A resource sample as the app's sampler posts it, with fixed numbers."""
    gib = 1024**3
    sample = ResourceSample(
        ram_total=32 * gib, ram_used=int(21.3 * gib), ram_available=int(10.7 * gib),
        swap_used=0, cpu_percent=96.0, own_rss=74 * 1024**2,
        server_rss=int(21.0 * gib), server_model_mapped=int(19.8 * gib),
    )  # fmt: skip
    return ResourceTick(sample)


async def test_at_80_columns_the_status_bar_says_the_remote_pane_2_runs_on() -> None:
    """``--no-claude --remote URL``, pane 2 on the remote: the bar said the sides in one
    segment ("remote: LM Studio · qwen3.6-35b-a3b · claude: off"), which at 80 columns
    did not fit beside the memory figures and was dropped whole. Each side says its
    state in a segment of its own (its kind and model are in the pane's header), and
    the side a pane runs on is said before the memory figures."""
    with LmStudioServer() as server:
        app = make_app(overrides={"remote": {"url": server.url}, "claude": {"enabled": False}})
        async with app.run_test(size=(80, 24)) as pilot:
            await _pane_2_on_remote(pilot, app)
            bar = app.query_one(StatusBar)
            app.post_message(_memory_tick())

            def said() -> bool:
                line = bar.render_text().plain
                return "RAM 21.3G/32.0G" in line and line.endswith("│ remote: ready")

            assert await wait_for(pilot, said, 15), bar.render_text().plain
            line = bar.render_text().plain
            assert "LM Studio" not in line, "its kind is in the pane's header"
            facts = str(app.pane("right").query_one(".facts").text)  # type: ignore[attr-defined]
            assert "LM Studio" in facts, facts
            await pilot.resize_terminal(160, 48)
            await pilot.pause()
            line = bar.render_text().plain
            assert "│ remote: ready │ claude: off │" in line, line


async def test_at_80_columns_the_status_bar_says_a_remote_that_cannot_be_reached() -> None:
    from pelican_tui.backends.llama.process import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = make_app(overrides={"remote": {"url": url}, "claude": {"enabled": False}})
    async with app.run_test(size=(80, 24)) as pilot:
        await _pane_2_on_remote(pilot, app)
        bar = app.query_one(StatusBar)
        app.post_message(_memory_tick())

        def said() -> bool:
            line = bar.render_text().plain
            return "RAM 21.3G/32.0G" in line and line.endswith("│ remote: not reachable")

        assert await wait_for(pilot, said, 15), bar.render_text().plain


async def test_backend_cycle_and_pane_switch() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.active == "left"
        await pilot.press("w")
        assert app.active == "right"
        assert app.pane("right").has_class("-active")
        seen = []
        for _ in range(3):
            await pilot.press("b")
            seen.append((app.choices["right"].side, app.choices["right"].thinking))
        assert ("claude", app.settings.claude.thinking) in seen
        assert ("local", True) in seen and ("local", False) in seen


async def test_narrow_terminal_shows_one_pane_and_w_switches() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.has_class("-narrow")
        assert app.pane("right").has_class("-hidden")
        await pilot.press("w")
        assert app.pane("left").has_class("-hidden")
        assert not app.pane("right").has_class("-hidden")


async def test_prompt_edit_history_and_escape() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        prompt = app.query_one("#prompt", Input)
        assert app.focused is prompt
        # Its keys are on screen: the letter keys type into it, and the footer said only
        # "f1 Help".
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        for key in ("⏎ Run", "esc Leave", "↑↓ History", "f1 Help"):
            assert key in footer, footer
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rows = {row[2]: row[:2] for row in app.screen.rows}
        assert rows["prompt_run"] == ("⏎", "Run (in the prompt box, p)"), "and in the help"
        assert rows["prompt_history_back"] == ("↑", "History (in the prompt box, p)")
        assert rows["prompt_history_on"] == ("↓", "History (in the prompt box, p)")
        await pilot.press("escape")
        assert app.focused is prompt
        prompt.value = ""
        await pilot.press(*"a heron", "enter")
        assert app.focused is None
        assert app.prompt == "a heron"
        assert app.history[-1] == "a heron"
        await pilot.press("p", "up")
        assert prompt.value == "a heron"
        await pilot.press("escape")
        assert app.focused is None
        # A line being typed survives a look at the history (it was replaced by the prompt).
        await pilot.press("p")
        prompt.value = ""
        await pilot.press(*"a cat", "up")
        assert prompt.value == "a heron"
        await pilot.press("down")
        assert prompt.value == "a cat"
        # The history is kept in the state file, with a key pasted into a prompt replaced.
        prompt.value = "a heron, sk-ant-api03-PLANTEDPROMPTKEY0000"
        await pilot.press("enter")
    state = locations.state_file().read_text()
    assert "a heron, [redacted]" in state and "PLANTEDPROMPTKEY" not in state


LONG_PROMPT = (
    "Draw an SVG of a 🦩 flamingo on a unicycle, wearing a tiny hat, juggling three oranges "
    "while a crowd of penguins cheers loudly in the snowy background scene"
)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_a_long_prompt_shows_its_start_outside_editing(size: tuple[int, int]) -> None:
    """p, ↑ to a long prompt, esc: the box showed the prompt's end ("ges while a crowd
    of penguins cheers …"), its subject gone, and at 160 columns its start cut ("w an
    SVG of a 🦩 flamingo …"). Outside editing it shows the start, "…" where it is cut;
    while editing, the box as Textual draws it; the prompt itself is unchanged."""
    path = locations.state_file()  # the history as a user's arrives: kept from before
    locations.ensure(path.parent)
    path.write_text(json.dumps({"history": [LONG_PROMPT]}))
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("p", "up")
        box = app.query_one("#prompt", Input)
        assert box.value == LONG_PROMPT
        await pilot.pause()
        editing = screen_text(app).splitlines()[1].strip(" ▊▌▐▎")
        assert editing.endswith("snowy background scene"), "editing: the cursor's end shown"
        await pilot.press("escape")
        await pilot.pause()
        row = screen_text(app).splitlines()[1].strip(" ▊▌▐▎")
        assert row.startswith("Draw an SVG of a 🦩 flamingo"), row
        assert row.endswith("…") and row[:-1].rstrip() in LONG_PROMPT, row
        assert box.value == LONG_PROMPT
        assert app.query_one("#prompt", PromptBox).prompt == LONG_PROMPT
        await pilot.press("p")  # editing again: Textual's box, the cursor at the end
        await pilot.pause()
        assert screen_text(app).splitlines()[1].strip(" ▊▌▐▎").endswith("background scene")


def _typed_at_once(app: PelicanApp, keys: list[str]) -> None:
    """``keys`` as a fast typist (or a laggy SSH link) sends them: all in the app's
    queue before it has handled the first (``pilot.press`` waits after each)."""
    from textual import events

    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def test_letters_typed_at_once_after_p_go_into_the_prompt() -> None:
    """``p`` then "red fox" sent at once: the focus moved to the prompt box after the
    letters had gone to the main screen, so r started a comparison (a paid Claude
    call), e changed an effort and f opened the pictures. They are typed in the box."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = app.query_one("#prompt", Input)
        before = prompt.value
        _typed_at_once(app, ["p", *"red fox"])
        await pilot.pause(0.3)
        assert app.focused is prompt
        assert prompt.value == before + "red fox"
        assert app.screen is app.screen_stack[0], "f opened nothing"
        assert app.pane("left").state == "idle" and app.pane("right").state == "idle"
        assert not any("Effort" in notice.message for notice in app.notices), app.notices


async def test_a_field_typed_at_once_after_tab_in_the_settings_is_the_next_one() -> None:
    """In S, "4096", Tab, "2" sent at once gave Context "40962": Tab moved the focus
    after the 2 had gone to the field it left."""
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        first = app.screen.focused
        assert isinstance(first, Input)
        await pilot.pause()
        _typed_at_once(app, ["x", "tab", "2"])
        await pilot.pause(0.3)
        second = app.screen.focus_chain[app.screen.focus_chain.index(first) + 1]
        assert app.screen.focused is second
        assert first.value.endswith("x"), first.value
        assert isinstance(second, Input) and second.value.endswith("2"), second


async def test_a_prompt_typed_and_not_run_is_kept_at_quit() -> None:
    """p, " with a hat", esc, q: the next start had only the prompt setting, the words
    typed lost. They are the newest prompt in the history: ↑ gives them back."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
    assert app.history == [], "nothing typed: nothing kept"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p", *" with a hat", "escape", "q")
    typed = f"{app.settings.prompt} with a hat"
    assert json.loads(locations.state_file().read_text())["history"] == [typed]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = app.query_one("#prompt", Input)
        assert prompt.value == app.settings.prompt
        await pilot.press("p", "up")
        assert prompt.value == typed


async def test_an_opened_prompt_of_several_lines_shows_on_one_line_and_runs_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """o, enter on a session of `run --prompt $'Line one\\nLine two'` put the newline in
    the one-line box: it drew "Line one" over the old prompt, which stayed on screen
    (a prompt with ESC and BEL did worse). It shows on one line; r runs it whole."""
    from _anthropic_server import AnthropicTestServer

    from pelican_tui.backends.engine.choices import PaneChoice
    from pelican_tui.backends.store.sessions import SessionStore

    written = "Line one\nLine two\x1b[31m red\x07"
    with SessionStore.open(locations.sessions_db()) as store:
        session_id = store.create_session(written).id
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(80, 24)) as pilot:
            app.choices["left"] = app.choices["right"] = PaneChoice("claude", False)
            app.load_session(session_id)
            await app.workers.wait_for_complete()
            await pilot.pause()
            box = app.query_one("#prompt", Input)
            assert box.value == "Line one ⏎ Line two[31m red", repr(box.value)
            row = screen_text(app).splitlines()[1]
            assert row.strip(" ▊▌▐▎") == "Line one ⏎ Line two[31m red", repr(row)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: len(claude.requests) == 2, 10)
            await app.workers.wait_for_complete()
            sent = [r.body["messages"][0]["content"] for r in claude.requests if r.body]
            assert sent == [written, written], "unedited, the prompt runs as it was written"
            # p puts the cursor at the end, nothing selected: what is typed is added.
            await pilot.press("p", *" in blue", "enter")
            assert await wait_for(pilot, lambda: len(claude.requests) == 4, 10)
            await app.workers.wait_for_complete()
            # Edited, the box's text runs, each ⏎ a line break again.
            assert app.prompt == "Line one\nLine two[31m red in blue"
            last = claude.requests[-1].body
            assert last is not None and last["messages"][0]["content"] == app.prompt


async def test_a_prompt_of_several_lines_pasted_is_kept_whole() -> None:
    """A prompt pasted into the box (a terminal's bracketed paste) kept its first line
    only, without a word, and its escapes and bells went to the model."""
    from textual import events

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p", "ctrl+u")
        app.post_message(events.Paste("Draw a pelican\r\nin blue\x1b[31m ink\x07\n"))
        await pilot.pause()
        box = app.query_one("#prompt", Input)
        assert box.value == "Draw a pelican ⏎ in blue[31m ink", repr(box.value)
        await pilot.press(*", please", "enter")
        assert app.prompt == "Draw a pelican\nin blue[31m ink, please"


async def test_an_empty_prompt_box_runs_the_prompt_setting_and_shows_it() -> None:
    """p, ctrl+u, r ran the pelican prompt while the box showed only its placeholder."""
    app = make_app(overrides={"prompt": "Generate an SVG of a heron."})
    async with app.run_test(size=(160, 48)) as pilot:
        prompt = app.query_one("#prompt", Input)
        prompt.value = ""
        await pilot.press("r")
        assert prompt.value == "Generate an SVG of a heron." == app.prompt
        assert "The prompt box was empty: the prompt setting runs." in _notes(app)


async def test_run_without_a_ready_server_says_so_in_the_pane() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot)  # its problem lines would replace the refusal
        await pilot.press("r")
        problem = str(app.pane("left").query_one(".problem").render())
        assert "not started" in problem or "starting" in problem
        assert "press R" in problem


@pytest.mark.parametrize(
    ("key", "screen"),
    [
        ("question_mark", HelpScreen),
        ("f", PictureScreen),
        ("a", TextScreen),
        ("o", SessionsScreen),
        ("S", ServerSettingsScreen),
        ("l", LogScreen),
        ("g", GalleryScreen),
        ("L", LeaderboardScreen),
    ],
)
async def test_keys_that_open_screens(key: str, screen: type) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(key)
        assert await wait_for(pilot, lambda: isinstance(app.screen, screen), 5)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, screen), 5)


@pytest.mark.parametrize(
    ("key", "screen"),
    [
        ("question_mark", HelpScreen),
        ("f", PictureScreen),
        ("a", TextScreen),
        ("o", SessionsScreen),
        ("l", LogScreen),
        ("g", GalleryScreen),
        ("L", LeaderboardScreen),
    ],
)
async def test_the_key_that_opens_a_screen_closes_it(key: str, screen: type) -> None:
    """g opened the gallery and g again did nothing (? over the help did nothing, a over
    the answer did nothing): only escape closed them. Now the key that opened a screen
    closes it too."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.screen
        await pilot.press(key)
        assert await wait_for(pilot, lambda: isinstance(app.screen, screen), 5)
        await pilot.pause()
        await pilot.press(key)
        assert await wait_for(pilot, lambda: app.screen is main, 5), app.screen
        await pilot.pause()
        assert app.screen is main, "closed, not opened again"


async def _off_the_text_fields(pilot: Pilot[Any]) -> None:
    """Tab from the server settings' first field (where they open) to the load mode's
    choice, the first field that takes no letter."""
    await pilot.press("tab", "tab", "tab", "tab", "tab", "tab")
    assert pilot.app.focused is pilot.app.screen.query_one("#settings-load_mode")


async def test_the_server_settings_close_with_s_where_no_field_takes_it() -> None:
    """S opened the server settings and S again, off the form's text fields, did nothing:
    only escape closed them. Now S closes them there too (nothing applied); in a text
    field, where a model's path may have an S, the field still takes it."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.screen
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        settings = app.screen
        model = settings.query_one("#settings-model", Input)
        assert app.focused is model
        await pilot.press("S")
        await pilot.pause()
        assert app.screen is settings and model.value.endswith("S"), model.value
        await _off_the_text_fields(pilot)
        await pilot.press("S")
        assert await wait_for(pilot, lambda: app.screen is main, 5), app.screen
        await pilot.pause()
        assert app.screen is main, "closed, not opened again"
        assert app.settings.local.model is None, "closed as escape does: nothing applied"


_OPENED_BY = {
    "fullscreen": PictureScreen,
    "view_answer": TextScreen,
    "gallery": GalleryScreen,
    "leaderboard": LeaderboardScreen,
    "sessions": SessionsScreen,
    "server_log": LogScreen,
    "server_settings": ServerSettingsScreen,
    "help": HelpScreen,
}
"""The screen each opening key opens, by its binding id."""


def test_every_opening_key_is_tested() -> None:
    assert set(_OPENED_BY) == set(OPENING_KEYS)


@pytest.mark.parametrize(("opened_by", "screen"), sorted(_OPENED_BY.items()))
async def test_every_opening_key_the_keymap_moves_closes_its_screen(
    opened_by: str, screen: type
) -> None:
    """A ``[ui.keymap]`` entry for a key that opens a screen moves the key that closes
    it too, for every such key: f5 opens the screen and f5 closes it."""
    app = make_app(overrides={"ui": {"keymap": {opened_by: "f5"}}})
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.screen
        await pilot.press("f5")
        assert await wait_for(pilot, lambda: isinstance(app.screen, screen), 5), opened_by
        await pilot.pause()
        if screen is ServerSettingsScreen:
            # A focused text field takes S, and Textual drops S (and with it the binding
            # the keymap moves to f5) before it applies the keymap.
            await _off_the_text_fields(pilot)
        await pilot.press("f5")
        assert await wait_for(pilot, lambda: app.screen is main, 5), app.screen


async def test_the_key_that_closes_a_screen_is_the_one_the_keymap_gives_its_opening() -> None:
    """With ui.keymap moving the gallery to G, G opens it and G closes it; g, which opens
    nothing now, does not close it, and the help over it says which key closes it."""
    app = make_app(overrides={"ui": {"keymap": {"gallery": "G"}}})
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.screen
        await pilot.press("G")
        assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 5)
        gallery = app.screen
        await pilot.press("g")
        await pilot.pause()
        assert app.screen is gallery
        await pilot.press("question_mark")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 5)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert ("G", "Close", "gallery") in help_screen.rows, help_screen.rows
        await pilot.press("question_mark")  # the help closes with its key, over the gallery
        assert await wait_for(pilot, lambda: app.screen is gallery, 5)
        await pilot.press("G")
        assert await wait_for(pilot, lambda: app.screen is main, 5), app.screen


async def test_the_pictures_full_screen_follows_a_run_that_streams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """f while a run streamed showed the picture of that moment ("waiting for an SVG…")
    and kept it: the pane went on to draw its previews and its final picture, the full
    screen did not. Now it shows what the pane shows, and says "still running" only
    while it runs."""
    from _anthropic_server import AnthropicTestServer

    from pelican_tui.backends.engine.choices import PaneChoice
    from pelican_tui.widgets.picture import PictureView

    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.1) as claude:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-not-a-secret")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.base_url)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(80, 24)) as pilot:
            app.choices["left"] = app.choices["right"] = PaneChoice("claude", False)
            left = app.pane("left")
            await pilot.press("1")
            assert await wait_for(pilot, lambda: left.state == "running", 10)
            await pilot.press("f")
            assert await wait_for(pilot, lambda: isinstance(app.screen, PictureScreen), 5)
            view = app.screen.query_one("#picture-0", PictureView)
            assert view.png is None, "opened before the first preview"
            assert await wait_for(pilot, lambda: "still running" in screen_text(app), 5)
            previews: list[bytes] = []

            def ended() -> bool:
                if left.state == "running" and view.png is not None:
                    previews.append(view.png)
                return left.state != "running"

            assert await wait_for(pilot, ended, 30)
            await pilot.pause()
            assert previews, "the previews, as the pane drew them"
            assert view.png is not None and view.png == left.picture.png, "the final picture"
            assert "still running" not in screen_text(app)


async def test_focus_keys_work_on_every_screen() -> None:
    """The app kept its actions to the main screen, Textual's focus actions too: Tab in
    the server settings typed into the model field, Left in the delete dialog did
    nothing."""
    from textual.widgets import Button

    from pelican_tui.screens.confirm_screen import ConfirmScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        first = app.focused
        await pilot.press("tab")
        assert app.focused is not first and app.focused is not None
        await pilot.press("shift+tab")
        assert app.focused is first
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, ServerSettingsScreen), 5)
        answers: list[bool | None] = []
        app.push_screen(ConfirmScreen("Delete session #1?"), answers.append)
        assert await wait_for(pilot, lambda: isinstance(app.focused, Button), 5)
        shown = app.focused
        assert isinstance(shown, Button)
        await pilot.press("left" if shown.id == "confirm-no" else "right")
        assert app.focused is not shown
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: answers == [False], 5)


async def test_visits_to_other_screens_leave_no_footer_keys_alive() -> None:
    """Each visit to another screen builds the main footer's keys twice (its keys hide
    while covered); the keys of earlier builds are let go, not kept by Textual's
    watchers of the footer's ``compact`` (they were: ~20 more keys alive a visit)."""
    import gc

    from textual.widgets._footer import FooterKey

    from pelican_tui.widgets.footer import KeysFooter

    def alive() -> int:
        gc.collect()
        return sum(isinstance(o, FooterKey) for o in gc.get_objects())

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        main = app.screen
        footer = main.query_one(KeysFooter)

        async def visit() -> None:
            await pilot.press("o")
            assert await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), 5)
            await pilot.press("escape")
            assert await wait_for(pilot, lambda: app.screen is main, 5)
            await pilot.pause()

        await visit()
        after_one = alive()
        keys = [key.description for key in footer.query(FooterKey)]
        for _ in range(5):
            await visit()
        shown = len(keys)
        assert alive() <= after_one + shown, "at most one build's keys more (a visit's: ~20)"
        assert [key.description for key in footer.query(FooterKey)] == keys
        assert "Run both" in keys and "Quit" in keys


async def test_verdict_save_export_and_cancel_need_a_run_first() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        for key in ("less_than_sign", "minus", "s", "x", "c"):
            await pilot.press(key)
        await pilot.pause()
        notes = " ".join(_notes(app))
        assert "Nothing to vote on yet: run a comparison first (r)." in notes
        assert "Nothing to save yet" in notes and "Nothing to export yet" in notes
        assert "Nothing is running" in notes


async def test_q_during_a_run_says_what_it_stops_and_q_again_quits() -> None:
    """q on the main screen while a run went on quit at once, the run kept as cancelled
    without a word. Now q says so, the run goes on, and q again quits; on another
    screen (the server log) q quits at once, as it did."""
    from _app_support import server_ready

    from pelican_tui.backends.store.sessions import SessionStore

    local = {"context": 2048, "max_tokens": 400, "seed": 7, "extra_args": ["--ignore-eos"]}
    app = make_app(start_server=True, overrides={"local": local})
    async with app.run_test(size=(80, 24)) as pilot:
        await server_ready(pilot)
        left = app.pane("left")
        await pilot.press("1")
        assert await wait_for(pilot, lambda: left.state == "running", 30)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and app.return_code is None, "quit without a word"
        said = _notes(app)[-1]
        assert said == "A run is in progress: q again quits and keeps it as cancelled.", said
        assert left.state == "running"
        session_id = app.session_id
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
    assert session_id is not None
    with SessionStore.open(locations.sessions_db()) as store:
        (run,) = store.get_session(session_id).runs
    assert run.status == "cancelled"
    app = make_app(start_server=True, overrides={"local": local})
    async with app.run_test(size=(80, 24)) as pilot:
        await server_ready(pilot)
        await pilot.press("1")
        assert await wait_for(pilot, lambda: app.pane("left").state == "running", 30)
        await pilot.press("l")
        assert await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), 5)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0, "q on another screen quits at once"


@pytest.mark.parametrize("quit_key", ["q", "ctrl+q"])
async def test_q_says_a_run_in_progress_and_runs_not_saved_at_once(quit_key: str) -> None:
    """With a run going and a run the session store could not save, q said the run,
    q again said the unsaved run, and only a third q quit. Now the first q says both
    in one notice and the second quits, leaving no llama-server behind; ctrl+q alike."""
    import sqlite3

    from _app_support import server_ready

    from pelican_tui.backends.store.sessions import SessionStore

    local = {"context": 2048, "max_tokens": 300, "seed": 7, "extra_args": ["--ignore-eos"]}
    app = make_app(start_server=True, overrides={"local": local})
    db = locations.sessions_db()
    with SessionStore.open(db, busy_timeout=0.5) as store:
        async with app.run_test(size=(80, 24)) as pilot:
            app.engine.use_store(store)
            server = await server_ready(pilot)
            left = app.pane("left")
            await pilot.press("1")
            assert await wait_for(pilot, lambda: left.state == "running" and app.session_id, 30)
            other = sqlite3.connect(db, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # the store cannot write any more
            try:
                assert await wait_for(pilot, lambda: app.engine.unsaved_runs == 1, RUN_WAIT_S)
                await pilot.press("1")
                assert await wait_for(pilot, lambda: app.engine.running("left"), 30)
                before = len(app.notices)
                await pilot.press(quit_key)
                await pilot.pause()
                assert app.is_running and app.return_code is None, "quit without a word"
                said = _notes(app)[before:]
                assert len(said) == 1, said
                assert "A run is in progress" in said[0] and "1 run not saved" in said[0], said
                pid = server.pid
                await pilot.press(quit_key)
                await pilot.pause()
                assert app.return_code == 0, _notes(app)[before:]
            finally:
                other.execute("COMMIT")
                other.close()
    assert pid is not None and not server.running, "quitting must stop llama-server"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_r_during_a_run_asks_first_and_r_again_says_the_run_it_cut() -> None:
    """R while a run streamed on llama-server cancelled it without a word: only
    "Restarting llama-server…", the pane left half an answer and no "cancelled". Now
    R says what it would stop, the run goes on, and R again restarts, the pane and a
    notice saying the run was cancelled and kept as cancelled."""
    from _app_support import server_ready

    local = {"context": 2048, "max_tokens": 400, "seed": 7, "extra_args": ["--ignore-eos"]}
    app = make_app(start_server=True, overrides={"local": local, "claude": {"enabled": False}})
    async with app.run_test(size=(80, 24)) as pilot:
        server = await server_ready(pilot)
        pid = server.pid
        left = app.pane("left")
        await pilot.press("1")
        assert await wait_for(pilot, lambda: len(left.answer_text) > 5, 30)
        await pilot.press("R")
        await pilot.pause()
        said = _notes(app)[-1]
        assert said == (
            "A run is in progress on llama-server: R again restarts it and keeps the run "
            "as cancelled."
        ), said
        assert left.state == "running" and server.pid == pid, "restarted without a word"
        await pilot.press("R")
        assert await wait_for(pilot, lambda: left.state == "cancelled", 30), left.stats_line()
        assert await wait_for(pilot, lambda: server.pid not in (None, pid), 30)
        said = _notes(app)
        assert (
            "Restarting llama-server… The left pane's run in flight was cancelled and kept "
            "as cancelled." in said
        ), said
        await pilot.pause()
        assert "cancelled before a picture" in screen_text(app), screen_text(app)
        assert await wait_for(pilot, lambda: server.status.state.value == "ready", 60)


async def test_restart_key_restarts_the_server_and_q_quits() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("R")
        server = app.server
        assert server is not None
        assert await wait_for(pilot, lambda: server.status.state.value == "ready", 60)
        pid = server.pid
        await pilot.press("q")
        await pilot.pause()
    assert pid is not None
    assert not server.running, "quitting must stop llama-server"


async def test_keymap_setting_remaps_a_binding() -> None:
    app = make_app(overrides={"ui": {"keymap": {"run_both": "g"}, "theme": "pelican-dark"}})
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot)  # its problem lines would replace the refusal
        await pilot.press("g")
        problem = str(app.pane("left").query_one(".problem").render())
        assert "press R" in problem, "g should now run both panes"


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_a_key_the_keymap_takes_from_quit_leaves_quit_in_the_footer(
    size: tuple[int, int],
) -> None:
    """help = "q" took q from Quit, and the footer showed no Quit at all, though ctrl+q
    still quit (the help listed ^q). The footer shows Quit on the key it keeps."""
    from textual.widgets._footer import FooterKey

    app = make_app(overrides={"ui": {"keymap": {"help": "q"}, "theme": "pelican-dark"}})
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        shown = [
            (key.key_display, key.description) for key in app.screen.query(FooterKey) if key.display
        ]
        assert ("q", "Help") in shown, shown
        assert ("^q", "Quit") in shown, shown
        await pilot.press("q")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 5)
        quits = [row for row in app.screen.rows if row[1] == "Quit"]
        assert [row[0] for row in quits] == ["^q"], "one row, not one per binding"
        await pilot.press("escape", "ctrl+q")
        assert await wait_for(pilot, lambda: app.return_code is not None, 5)


@pytest.mark.parametrize("screen_key", ["a", "q"])
async def test_with_help_on_q_each_screen_says_the_keys_that_work_there(screen_key: str) -> None:
    """help = "q": the start notice said "The help screen (?) lists every key", though ?
    opened nothing; the settings' footer said "q Help" while q typed into its field; and
    ctrl+q, Quit's key now, did nothing over the answer (a) or the help (q). Now the
    notice names q, the settings' footer leaves help out, and ctrl+q quits there."""
    from textual.widgets._footer import FooterKey

    app = make_app(overrides={"ui": {"keymap": {"help": "q"}}})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        (said,) = [n.message for n in app.notices if n.title == "Keys"]
        assert said.splitlines()[-1] == "The help screen (q) lists every key and its id.", said
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        await pilot.pause()
        assert isinstance(app.focused, Input)
        shown = [
            (key.key_display, key.description) for key in app.screen.query(FooterKey) if key.display
        ]
        assert ("q", "Help") not in shown, shown
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: len(app.screen_stack) == 1, 5)
        await pilot.press(screen_key)
        opened = TextScreen if screen_key == "a" else HelpScreen
        assert await wait_for(pilot, lambda: isinstance(app.screen, opened), 5)
        await pilot.press("ctrl+q")
        assert await wait_for(pilot, lambda: app.return_code is not None, 5), "ctrl+q did nothing"


async def test_the_help_shows_the_prompt_box_keys_as_remapped() -> None:
    """ui.keymap remaps the prompt box's keys too, but the help still said "⏎ Run" and
    "↑↓ History" after prompt_run = "ctrl+j" and prompt_history_on = "ctrl+n", and ↓'s
    id was in no row."""
    keymap = {"prompt_run": "ctrl+j", "prompt_history_on": "ctrl+n"}
    app = make_app(overrides={"ui": {"keymap": keymap, "theme": "pelican-dark"}})
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rows = {row[2]: row[0] for row in app.screen.rows}
        assert rows["prompt_run"] == "^j"
        assert rows["prompt_leave"] == "esc"
        assert (rows["prompt_history_back"], rows["prompt_history_on"]) == ("↑", "^n")
        await pilot.press("escape", "p")
        prompt = app.query_one("#prompt", Input)
        prompt.value = "a heron"
        await pilot.press("ctrl+j")
        assert app.prompt == "a heron", "the key the help shows is the one that runs"


async def test_theme_choice_is_remembered() -> None:
    app = make_app(overrides={"ui": {"theme": None}})
    async with app.run_test(size=(160, 48)) as pilot:
        app.theme = "pelican-light"
        await pilot.pause()
    again = make_app(overrides={"ui": {"theme": None}})
    async with again.run_test(size=(160, 48)):
        assert again.theme == "pelican-light"


async def test_every_key_is_in_the_command_palette() -> None:
    from pelican_tui.commands import PelicanCommands

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        provider = PelicanCommands(app.screen)
        listed = [str(hit.display) async for hit in provider.discover()]
        for binding in app.BINDINGS:
            action = binding.action  # type: ignore[union-attr]
            if action != "quit":  # Textual's "Quit the application": listed once
                assert binding.description in listed  # type: ignore[union-attr]
        assert "Quit" not in listed
        votes = [str(hit.text) async for hit in provider.search("vote")]
        assert sorted(votes) == ["Both bad", "Left (A) better", "Right (B) better", "Tie"]
        hits = [hit async for hit in provider.search("thinking")]
        assert hits and str(hits[0].text) == "Think", [str(h.text) for h in hits]
        before = app.choices["left"].thinking
        await hits[0].command()  # type: ignore[misc]
        await pilot.pause()
        assert app.choices["left"].thinking is not before


async def test_samples_and_blind_keys_say_how_r_runs() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = app.query_one("#prompt", Input)
        seen = []
        for _ in range(4):
            await pilot.press("n")
            seen.append(app.samples)
        assert seen == [2, 4, 8, 1]
        await pilot.press("n")
        assert prompt.border_subtitle == "2 samples per pane"
        assert any("r runs each pane 2 times" in n for n in _notes(app))
        await pilot.press("B")
        assert app.blind
        assert prompt.border_subtitle == "2 samples per pane · blind"
        await pilot.press("1")
        assert any("Blind mode compares both panes" in n for n in _notes(app))
        assert app.pane("left").state == "idle", "a single pane is not run blind"
        await pilot.press("B")
        assert not app.blind and prompt.border_subtitle == "2 samples per pane"


async def test_the_prompt_box_says_which_sample_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """With samples, the prompt box's subtitle over the panes says which one runs, at 80
    columns ("sample 1/2"): it said "2 samples per pane" all along, the panes nothing."""
    from _anthropic_server import AnthropicTestServer

    from pelican_tui.backends.engine.sides import PaneChoice

    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.05) as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}, "ui": {"samples": 2}})
        async with app.run_test(size=(80, 24)) as pilot:
            app.choices["left"] = PaneChoice("claude", True)
            app.choices["right"] = PaneChoice("claude", False)
            await pilot.press("r")
            seen: set[str] = set()

            def watch() -> bool:
                top = screen_text(app).splitlines()[:3]  # the prompt box, over the panes
                seen.update(part for part in ("sample 1/2", "sample 2/2") if part in top[2])
                return not app.comparing

            assert await wait_for(pilot, lambda: app.comparing, 10)
            assert await wait_for(pilot, watch, 60)
            assert seen == {"sample 1/2", "sample 2/2"}, seen
            await pilot.pause()
            assert "2 samples per pane" in screen_text(app).splitlines()[2], "and after, the mode"


async def test_blind_mode_and_the_samples_are_kept_across_starts() -> None:
    """B and n were forgotten at quit: a user who works blind with 4 samples set both
    again at every start. They are kept with the theme and the prompt history; blind
    mode kept is said at start, as B says it."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("B", "n", "n", "q")
    assert app.blind and app.samples == 4
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.blind and app.samples == 4
        assert app.query_one("#prompt", Input).border_subtitle == "4 samples per pane · blind"
        assert any("Blind mode on, as you left it" in n for n in _notes(app)), _notes(app)
        await pilot.press("B", "n", "q")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.blind and app.samples == 8
        assert not any("as you left it" in n for n in _notes(app))
    # A setting says how this start runs: blind is not "as you left it" then.
    app = make_app(overrides={"ui": {"blind": True, "samples": 2, "theme": "pelican-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.blind and app.samples == 2
        assert not any("as you left it" in n for n in _notes(app))


async def test_settings_start_blind_with_samples() -> None:
    app = make_app(overrides={"ui": {"blind": True, "samples": 4, "theme": "pelican-dark"}})
    async with app.run_test(size=(160, 48)):
        assert app.blind and app.samples == 4
        assert app.query_one("#prompt", Input).border_subtitle == "4 samples per pane · blind"
        assert app.terminal_title == "pelican-tui · ready"


async def test_main_keys_wait_for_the_main_screen() -> None:
    from textual.widgets import Footer

    from pelican_tui.commands import PelicanCommands

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("g")
        assert await wait_for(pilot, lambda: isinstance(app.screen, GalleryScreen), 5)
        gallery = app.screen
        await pilot.press("r", "n")
        assert app.pane("left").state == "idle" and app.samples == 1, "r and n wait"
        footer = " ".join(str(key.render()) for key in gallery.query_one(Footer).query("FooterKey"))
        assert "Filter" in footer and "Run both" not in footer
        listed = {str(hit.display) async for hit in PelicanCommands(gallery).discover()}
        assert listed == {"Help"}, "over the gallery the palette offers what works (and Quit)"
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: app.screen is not gallery, 5)
        await pilot.press("n")
        assert app.samples == 2


async def test_a_live_resize_below_100_columns_switches_to_one_pane() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        assert not app.has_class("-narrow")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.has_class("-narrow")
        assert app.pane("right").has_class("-hidden")
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert not app.has_class("-narrow") and not app.pane("right").has_class("-hidden")


async def test_a_resize_under_another_screen_lays_the_panes_out_on_return() -> None:
    """80x24, o, resized to 160x48, escape: the two panes stayed stacked one above
    the other (the covered screen kept the narrow layout's styles)."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("o")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), 5)
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, SessionsScreen), 5)
        await pilot.pause()
        left, right = app.pane("left").region, app.pane("right").region
        assert left.y == right.y and left.right <= right.x, (left, right)
        assert left.width + right.width >= 150


async def _delete_the_session_on_screen(pilot: Pilot[Any]) -> Screen[Any]:
    """o, d, y: delete the session the main screen shows; returns the screen on top
    after (the sessions list)."""
    from pelican_tui.screens.confirm_screen import ConfirmScreen

    app = pilot.app
    assert isinstance(app, PelicanApp)
    await pilot.press("o")
    assert await wait_for(
        pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.sessions, 10
    )
    await pilot.press("d")
    assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 5)
    await pilot.press("y")
    assert await wait_for(pilot, lambda: app.session_id is None, 5)
    return app.screen_stack[-1]


async def _run_the_left_pane(pilot: Pilot[Any]) -> PelicanApp:
    """Once the server is ready, ``1`` and its run to the end."""
    from _app_support import server_ready

    app = pilot.app
    assert isinstance(app, PelicanApp)
    await server_ready(pilot)
    await pilot.press("1")
    assert await wait_for(pilot, lambda: app.pane("left").state == "finished", RUN_WAIT_S)
    return app


async def _a_left_run(pilot: Pilot[Any]) -> int:
    """:func:`_run_the_left_pane`: the session it made."""
    app = await _run_the_left_pane(pilot)
    assert app.session_id is not None
    return app.session_id


async def test_runs_after_deleting_the_session_on_screen_go_to_a_new_one() -> None:
    """o, d, y on the session on screen, then 2: the run joined the deleted session and
    was lost ("no session with id N"), and s had said it was saved."""
    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore

    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        deleted = await _a_left_run(pilot)
        right = app.pane("right")
        sessions = await _delete_the_session_on_screen(pilot)
        assert isinstance(sessions, SessionsScreen)
        await pilot.press("escape")
        await pilot.press("2")
        assert await wait_for(pilot, lambda: right.state == "finished", 60), right.stats_line()
        assert app.session_id not in (None, deleted)
    with SessionStore.open(locations.sessions_db()) as store:
        (run,) = store.get_session(app.session_id).runs
    assert run.slot == "right" and run.status == "finished"


async def test_a_pane_run_on_another_prompt_starts_a_session_of_its_own() -> None:
    """1 on one prompt, a new prompt typed, then 2: the run joined the first session,
    stored under a prompt it was never given."""
    from pelican_tui.backends import locations
    from pelican_tui.backends.store.sessions import SessionStore

    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        first = await _a_left_run(pilot)
        left, right = app.pane("left"), app.pane("right")
        app.query_one("#prompt", Input).value = "Generate an SVG of a heron."
        await pilot.press("2")
        assert await wait_for(pilot, lambda: right.state == "finished", 60), right.stats_line()
        second = app.session_id
        # The left pane's run is of the first session: no vote pairs it with this one
        # (a vote between a pelican and a heron counted in the leaderboard).
        assert set(app.pane_runs) == {"right"}, app.pane_runs
        await pilot.press("minus")  # "both bad" of one picture: nothing to store
        assert any("Both bad compares two pictures" in n for n in _notes(app)), _notes(app)
        await pilot.press("1")  # the same prompt again: it joins

        def ran_again() -> bool:
            return "left" in app.pane_runs and left.state == "finished"

        assert await wait_for(pilot, ran_again, 60), left.stats_line()
        assert app.session_id == second
    assert first is not None and second not in (None, first)
    with SessionStore.open(locations.sessions_db()) as store:
        assert [r.slot for r in store.get_session(first).runs] == ["left"]
        heron = store.get_session(second)
        assert store.votes() == [], "no vote was stored"
    assert heron.prompt == "Generate an SVG of a heron."
    assert [r.slot for r in heron.runs] == ["left", "right"]  # in pane order, whichever ran first


async def test_the_whole_answer_scrolls() -> None:
    """a showed a long answer's first screenful only: nothing had the focus, so no
    key scrolled it."""
    from textual.widgets import TextArea

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.pane("left").query_one("#answer").set_text(  # type: ignore[attr-defined]
            "\n".join(f"line {n}" for n in range(200))
        )
        await pilot.press("a")
        assert await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), 5)
        area = app.screen.query_one(TextArea)
        await pilot.press("pagedown", "end")
        await pilot.pause()
        assert area.scroll_y > 0
        await pilot.press("q")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, TextScreen), 5)


async def test_help_opens_over_the_answer_and_no_footer_offers_a_quit_that_closes() -> None:
    """In the answer view ? did nothing (the text area took it), and over it and the
    help the footer said "q Quit" while q closed the screen."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        assert await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), 5)
        assert app.check_action("quit", ()) is False
        await pilot.press("question_mark")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 5)
        assert app.check_action("quit", ()) is False
        await pilot.press("q")
        assert await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), 5)
        await pilot.press("q")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, TextScreen), 5)
        assert app.check_action("quit", ()) is True and app.is_running


@pytest.mark.parametrize(
    ("key", "screen", "title", "shown"),
    [
        ("g", GalleryScreen, "Keys · Gallery",
         {"gallery_mark": ("m", "Mark"), "gallery_filter": ("f", "Filter"),
          "toggle_blind": ("B", "Blind"), "gallery_right": ("→", "Right")}),
        ("L", LeaderboardScreen, "Keys · Leaderboard",
         {"leaderboard_close": ("esc", "Close"),
          "leaderboard_prompt": ("p", "This prompt / all")}),
        ("o", SessionsScreen, "Keys · Sessions",
         {"sessions_open": ("⏎", "Open"), "sessions_delete": ("d", "Delete"),
          "sessions_list_page_down": ("pgdn", "Page down")}),
    ],
)  # fmt: skip
async def test_help_lists_the_keys_of_the_screen_it_is_over(
    key: str, screen: type, title: str, shown: dict[str, tuple[str, str]]
) -> None:
    """? in the gallery listed the main screen's keys ("b Pane backend", "f Picture",
    "r Run both"), none of which works there, and not the gallery's: B Blind, f Filter,
    space Mark. Now the help is headed with the screen it is over and lists its keys."""
    from pelican_tui.backends.store.sessions import SessionStore

    with SessionStore.open(locations.sessions_db()) as store:
        store.create_session("a heron")  # a session to open, export or delete
    app = make_app(overrides={"ui": {"keymap": {"gallery_mark": "m"}}})  # as remapped
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key)
        assert await wait_for(pilot, lambda: isinstance(app.screen, screen), 5)
        await pilot.press("question_mark")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 5)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = {row[2]: row[:2] for row in help_screen.rows}
        assert help_screen.title_text == title
        for binding_id, row in shown.items():
            assert rows.get(binding_id) == row, (binding_id, help_screen.rows)
        assert rows.get("help") == ("? / f1", "Help"), "help works over every screen"
        for main_only in ("run_both", "cycle_backend", "fullscreen"):
            assert main_only not in rows, help_screen.rows
        await pilot.pause()
        assert title in screen_text(app)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, screen), 5)


@pytest.mark.parametrize(
    ("key", "screen", "title"),
    [
        ("a", TextScreen, "Keys · Answer text"),
        ("l", LogScreen, "Keys · Server log"),
        ("S", ServerSettingsScreen, "Keys · Server settings"),
    ],
)
async def test_the_help_is_headed_with_the_screens_name(key: str, screen: type, title: str) -> None:
    """The help was headed with the screen's class name: "Keys · Text" over the answer
    (opened with a, "Answer text"), "Keys · Log" over the llama-server log. Now it says
    the screen's name."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key)
        assert await wait_for(pilot, lambda: isinstance(app.screen, screen), 5)
        await pilot.press("f1" if screen is ServerSettingsScreen else "question_mark")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 5)
        await pilot.pause()
        assert title in screen_text(app), screen_text(app)


async def test_save_and_export_say_the_store_failed_not_run_first() -> None:
    """The store could not be opened: the run went on unsaved, and x then said "Run a
    comparison first (r)" under a finished pane."""

    from pelican_tui.backends import locations

    locations.sessions_db().mkdir(parents=True)  # a folder where the store should be
    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await _run_the_left_pane(pilot)
        assert app.session_id is None
        await pilot.press("x", "s")
        await pilot.pause()
        said = _notes(app)
        assert sum("was not saved: the session store failed" in n for n in said) >= 2, said
        assert not any("run a comparison first" in n.lower() for n in said), said


async def test_save_while_a_run_streams_says_the_store_failed_not_run_first() -> None:
    """The store could not be opened: s while the run streamed said "Nothing to save yet:
    run a comparison first (r)." over the running pane."""
    from _app_support import server_ready

    from pelican_tui.backends import locations

    locations.sessions_db().mkdir(parents=True)  # a folder where the store should be
    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await server_ready(pilot)
        await pilot.press("1")
        left = app.pane("left")
        assert await wait_for(pilot, lambda: bool(left.answer_text or left.thinking_text), 60)
        server = app.server
        assert server is not None and server.pid is not None
        os.kill(server.pid, signal.SIGSTOP)  # the run stays mid-stream while s is read
        try:
            assert left.state == "running"
            await pilot.press("s")
            await pilot.pause()
        finally:
            os.kill(server.pid, signal.SIGCONT)
        said = _notes(app)
        assert any("is not being saved: the session store failed" in n for n in said), said
        assert not any("run a comparison first" in n.lower() for n in said), said


async def test_a_run_into_a_store_that_cannot_be_written_says_why_it_is_not_saved() -> None:
    """A data folder on a read-only file system: the gallery and o now read the store
    there; a comparison is still not saved, and says why (it said "unable to open
    database file")."""
    from _session_support import make_comparison, unwritable

    from pelican_tui.backends.store.sessions import SessionStore

    db = locations.sessions_db()
    with SessionStore.open(db) as store:
        make_comparison(store, "kept on a read-only disk")
    with unwritable(db.parent):
        app = make_app(start_server=True)
        async with app.run_test(size=(160, 48)) as pilot:
            await _run_the_left_pane(pilot)
            assert app.session_id is None
            why = f"nothing can be saved to the session store {db}: its folder {db.parent}"
            said = ["".join(n.split()) for n in _notes(app)]  # as said, folded for a toast
            whole = f"the session store failed ({why} is not writable); this comparison is not"
            whole += " saved"
            assert any("".join(whole.split()) in n for n in said), said
    with SessionStore.open(db) as store:
        assert [s.title for s in store.list_sessions()] == ["kept on a read-only disk"]


async def test_a_run_the_full_store_could_not_save_is_saved_by_s_once_it_can() -> None:
    """The data folder's disk filled during a run (seen on a full tmpfs: 'database or
    disk is full'): its end was not saved, s then said 'Session #1 saved', and the run
    was stored 'interrupted: pelican-tui stopped before this run finished', with no
    picture or numbers. s now says it is not saved, and saves it once the store can
    write again. Here another writer holds the store mid-run (a second pelican-tui,
    say), a write failure that does not depend on how much the run writes; the store
    the engine is given waits half a second for it."""
    import sqlite3

    from _app_support import server_ready

    from pelican_tui.backends.store.sessions import SessionStore

    app = make_app(
        start_server=True,
        overrides={
            "local": {"context": 2048, "max_tokens": 100, "seed": 7, "extra_args": ["--ignore-eos"]}
        },
    )
    db = locations.sessions_db()
    with SessionStore.open(db, busy_timeout=0.5) as store:
        async with app.run_test(size=(80, 24)) as pilot:
            app.engine.use_store(store)
            await server_ready(pilot)
            await pilot.press("1")
            left = app.pane("left")
            assert await wait_for(pilot, lambda: left.state == "running" and app.session_id, 30)
            other = sqlite3.connect(db, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # the store cannot write any more
            assert await wait_for(pilot, lambda: left.state == "finished", 90), left.stats_line()
            await pilot.press("s")
            assert await wait_for(
                pilot, lambda: any("Some runs are not saved" in n for n in _notes(app)), 5
            )
            said = _notes(app)
            assert any("busy or unwritable" in n and "s tries again" in n for n in said), said
            # The run's end says it once ("the session store failed: the session store …").
            assert not any("failed: the session store" in n for n in said), said
            assert not any(" saved in " in n for n in said), said
            await pilot.press("q")  # q says what it would lose: it quit without a word
            assert await wait_for(
                pilot, lambda: any("1 run not saved" in n for n in _notes(app)), 5
            )
            assert app.is_running
            other.execute("COMMIT")  # it can again
            other.close()
            await pilot.press("s")
            assert await wait_for(pilot, lambda: any(" saved in " in n for n in _notes(app)), 5)
            assert app.session_id is not None
            (run,) = store.get_session(app.session_id).runs
            assert run.status == "finished", run.status
            assert run.answer and run.timings, run


async def test_run_keys_during_a_comparison_say_that_it_starts_over() -> None:
    """r while the panes ran cancelled the comparison and began another without a
    word: a stray key seemed to throw a long run away. The cut runs are kept (as
    cancelled), and now the app says so; a pane that only waited for its turn is
    said to have waited (it said "run in flight ... kept as cancelled" of it too,
    where nothing of it had started or was kept)."""
    from _app_support import server_ready

    from pelican_tui.backends.store.sessions import SessionStore

    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await server_ready(pilot)
        left, right = app.pane("left"), app.pane("right")
        await pilot.press("r")
        assert await wait_for(pilot, lambda: right.status == "waiting", 30), right.stats_line()
        await pilot.press("r")
        said = (
            "The left pane's run in flight was cancelled and kept as cancelled; "
            "the right pane was waiting its turn and was cancelled; running again."
        )
        assert said in _notes(app), _notes(app)
        assert await wait_for(pilot, lambda: right.status == "waiting", 30), right.stats_line()
        await pilot.press("2")
        said = "The right pane was waiting its turn and was cancelled; running again."
        assert said in _notes(app), _notes(app)
        assert await wait_for(pilot, lambda: right.status == "waiting", 30), right.stats_line()
        await pilot.press("1")
        said = "The left pane's run in flight was cancelled and kept as cancelled; running again."
        assert said in _notes(app), _notes(app)
        finished = lambda: left.state == right.state == "finished"  # noqa: E731
        assert await wait_for(pilot, finished, 120), (left.stats_line(), right.stats_line())
    with SessionStore.open(locations.sessions_db()) as store:
        statuses = [
            run.status for s in store.list_sessions() for run in store.get_session(s.id).runs
        ]
    assert sorted(statuses).count("finished") == 2 and "cancelled" in statuses, statuses


async def test_settings_applied_after_a_run_leave_no_not_started_line() -> None:
    """S, a model file, ctrl+s after a finished run: the server started again and the
    status bar said ready, but the finished pane kept "llama-server not started —
    press S for server settings" until the next run (only idle panes were cleared)."""
    from _app_support import server_ready
    from _server_support import tiny_model

    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await _a_left_run(pilot)
        left = app.pane("left")
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        app.screen.query_one("#settings-model", Input).value = str(tiny_model())
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, ServerSettingsScreen), 5)
        await server_ready(pilot)
        assert await wait_for(pilot, lambda: left.problem == "", 10), left.problem
        assert left.state == "finished"


async def test_a_finished_run_keeps_its_header_while_settings_are_applied() -> None:
    """S and ctrl+s after a run: while llama-server started again, the finished run's
    header said "thinking on (checking…)", the starting server's state, not what it
    said of the run. Its header keeps what it said; only panes with no run follow."""
    from _app_support import server_ready

    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        old = await server_ready(pilot)
        await _a_left_run(pilot)
        left, right = app.pane("left"), app.pane("right")
        shown = (left.border_title, left.query_one(".facts", TextLine).text)
        said: list[tuple[str, str]] = []
        describe = left.describe

        def spy(title: str, facts: str) -> None:
            said.append((title, facts))
            describe(title, facts)

        left.describe = spy  # type: ignore[method-assign]
        idle: list[str] = []
        describe_idle = right.describe

        def spy_idle(title: str, facts: str) -> None:
            idle.append(facts)
            describe_idle(title, facts)

        right.describe = spy_idle  # type: ignore[method-assign]
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: app.server is not old, 30)
        await server_ready(pilot)
        assert await wait_for(
            pilot,
            lambda: not any(w.group == "server" and not w.is_finished for w in app.workers),
            30,
        )
        assert left.state == "finished"
        assert all(facts == shown[1] for _title, facts in said), (shown, said)
        assert (left.border_title, left.query_one(".facts", TextLine).text) == shown
        assert any("(checking…)" in facts for facts in idle), "the idle pane says it"


async def test_settings_set_the_gpu_layers_the_restarted_server_runs_with() -> None:
    """``--ngl`` and ``local.gpu_layers`` set llama-server's -ngl, but S had no field
    for it: changing it meant quitting. S, GPU layers, ctrl+s: the server started
    again with -ngl on its command line."""
    import psutil
    from _app_support import server_ready

    app = make_app(start_server=True)
    async with app.run_test(size=(160, 48)) as pilot:
        old = await server_ready(pilot)
        assert app.settings.local.gpu_layers is None
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        app.screen.query_one("#settings-gpu_layers", Input).value = "0"
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, ServerSettingsScreen), 5)
        assert await wait_for(pilot, lambda: app.server is not old, 30)
        server = await server_ready(pilot)
        assert app.settings.local.gpu_layers == 0
        assert server.pid is not None
        argv = psutil.Process(server.pid).cmdline()
        assert argv[argv.index("-ngl") + 1] == "0", argv


async def test_a_finished_run_keeps_the_ceiling_it_ran_against(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pane's ceiling was its next run's, set again whenever the pane was retitled: b
    to Claude after a local run took "(16% of 531 max)" off that run's numbers, and S
    with another model measured the run made on the earlier one against the new
    model's ceiling. A run keeps the ceiling of the model it ran on; a new run gets its
    own."""
    from _app_support import server_ready
    from _gguf_factory import write_tiny_moe
    from _server_support import tiny_model

    from pelican_tui.backends import hardware

    model, other = tiny_model(), tmp_path / "moe.gguf"  # found in the shared cache first
    write_tiny_moe(other, model, arch="qwen3moe")
    local = {"model": str(model), "context": 2048, "max_tokens": 40, "seed": 7}
    app = make_app(start_server=True, overrides={"local": local})
    monkeypatch.setenv(locations.CACHE_ENV, str(tmp_path / "cache"))
    hardware.write_cached_bandwidth(50e9)  # a ceiling known for both models
    async with app.run_test(size=(160, 48)) as pilot:
        await _a_left_run(pilot)
        left = app.pane("left")
        ceiling = left.ceiling_tok_s
        assert ceiling, "the model's ceiling is known"
        ran = f" of {ceiling:.0f} max)"
        assert ran in left.stats_line(), left.stats_line()
        await pilot.press("b")  # the pane's next run: Claude, which has no ceiling
        assert app.choices["left"].side == "claude"
        assert ran in left.stats_line(), left.stats_line()
        await pilot.press("b")  # local again
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        app.screen.query_one("#settings-model", Input).value = str(other)
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, ServerSettingsScreen), 5)
        await server_ready(pilot)
        new = app.ceiling_tok_s
        assert new and f"{new:.0f}" != f"{ceiling:.0f}", (new, ceiling)
        assert ran in left.stats_line(), "run on the earlier model, measured against it"
        await pilot.press("1")
        measured = f" of {new:.0f} max)"
        done = lambda: left.state == "finished" and measured in left.stats_line()  # noqa: E731
        assert await wait_for(pilot, done, 60), left.stats_line()


@pytest.mark.parametrize(("size", "shown"), [((80, 24), False), ((160, 48), True)])
async def test_a_thinking_off_pane_has_a_thinking_row_only_beside_the_other(
    size: tuple[int, int], shown: bool
) -> None:
    """At 80 columns (one pane at a time) a thinking-off pane gave a row to "▶ Thinking"
    over nothing; side by side the row stays, so that both pictures are one size."""
    from textual.widgets import Collapsible

    app = make_app()
    async with app.run_test(size=size) as pilot:
        left, right = app.pane("left"), app.pane("right")
        assert (left.choice.thinking, right.choice.thinking) == (True, False)
        await pilot.press("w")  # at 80 columns: show the right pane
        await pilot.pause()
        assert right.query_one(Collapsible).display is shown
        assert left.query_one(Collapsible).display, "a pane set to think keeps it"
        if shown:
            assert left.picture.region.height == right.picture.region.height


async def test_save_and_export_after_deleting_the_session_on_screen_say_so() -> None:
    """o, d, y on the session on screen, then x: "This comparison was not saved: the
    session store failed (see its notice)", though the store was fine (no notice)."""

    app = make_app(start_server=True)
    async with app.run_test(size=(80, 24)) as pilot:
        deleted = await _a_left_run(pilot)
        await _delete_the_session_on_screen(pilot)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, SessionsScreen), 5)
        await pilot.press("x", "s")
        await pilot.pause()
        said = _notes(app)
        assert sum(f"Session #{deleted} was deleted" in n for n in said) >= 2, said
        assert not any("session store failed" in n for n in said), said


async def test_an_opened_session_deleted_is_not_titled_as_stored() -> None:
    """o, enter opens the session; o, d, y deletes it: the pane still said "1 … (session
    #N)" over "stored run · r runs the panes as set now", until the next run or open,
    while x and s said the session was deleted. And a vote key said "Run a comparison
    first (r).", under a title saying the session was deleted."""
    app = make_app(start_server=True)
    async with app.run_test(size=(80, 24)) as pilot:
        deleted = await _a_left_run(pilot)
        left = app.pane("left")
        await pilot.press("o")
        assert await wait_for(
            pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.sessions, 10
        )
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: f"Opened session #{deleted}." in _notes(app), 10)
        assert left.border_title is not None
        assert left.border_title.endswith(f"(session #{deleted})"), left.border_title
        await _delete_the_session_on_screen(pilot)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, SessionsScreen), 5)
        await pilot.pause()
        assert left.border_title.endswith(f"(session #{deleted} deleted)"), left.border_title
        facts = str(left.query_one(".facts").text)  # type: ignore[attr-defined]
        assert facts.startswith("deleted run · "), facts
        shown = screen_text(app)
        assert "stored run" not in shown and f"session #{deleted} deleted" in shown, shown
        await pilot.press("greater_than_sign")
        await pilot.pause()
        said = _notes(app)
        assert said[-1] == (
            f"Session #{deleted} was deleted: nothing to vote on until the next run (r)."
        ), said
        # b: the pane still shows the deleted run, titled so; its facts say the next run.
        await pilot.press("b")
        assert left.border_title.endswith(f"(session #{deleted} deleted)"), left.border_title
        facts = str(left.query_one(".facts").text)  # type: ignore[attr-defined]
        assert facts.startswith("deleted run · next: claude · "), facts
