"""The app under things going wrong: bad settings, a restarted run, a backend bug,
a corrupt model, a crashed server, and reopening what was saved.

Everything runs the real PelicanApp with Pilot; the real llama-server where a
run is needed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _app_support import RUN_WAIT_S, header_read, make_app, wait_for
from _evidence_support import screen_text

from pelican_tui.app import PelicanApp
from pelican_tui.backends import locations
from pelican_tui.backends.events import Finished, GenerationEvent, TextDelta, Timings
from pelican_tui.backends.llama.process import ServerState, ServerStatus
from pelican_tui.backends.protocol import BackendStatus, Capabilities, GenerationRequest
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.backends.text import fold_words
from pelican_tui.screens.help_screen import HelpScreen
from pelican_tui.widgets.status_bar import StatusBar


def _notes(app: PelicanApp) -> str:
    return " ".join(n.message for n in app.notices)


async def test_unknown_theme_falls_back_and_says_so() -> None:
    app = make_app(overrides={"ui": {"theme": "no-such-theme"}})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "pelican-dark"
        assert "Unknown theme 'no-such-theme'" in _notes(app)
        assert "pelican-light" in _notes(app), "the message lists the themes there are"


async def test_every_theme_the_app_offers_draws_its_screen() -> None:
    """ansi-dark and ansi-light, Textual's own (offered by ctrl+p and named in the
    unknown-theme notice), stopped the app with a traceback at its next frame: the
    status bar coloured its words with the theme's "ansi_yellow", a name Textual
    knows and Rich does not. Chosen, the theme was kept, and every start after it
    ended the same way. Each theme now draws the main screen and its status bar."""
    app = make_app(overrides={"ui": {"theme": "ansi-dark"}})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for name in sorted(app.available_themes):
            app.theme = name
            await pilot.pause()
            assert "r Run both" in screen_text(app), name  # drawn: the footer, the bar
            assert app.query_one(StatusBar).render_line(0).text.strip(), name
        assert app.is_running


@pytest.mark.parametrize("mode", [0o644, 0o600])
async def test_a_config_file_others_can_read_that_holds_a_password_is_said_at_start(
    mode: int,
) -> None:
    """A server's password in config.toml (where the README says to put it), in a file
    every user of the machine could read, and the app said nothing."""
    config = locations.config_file()
    locations.ensure(config.parent)
    config.write_text('[remote]\nurl = "http://alice:s3cret-PW@127.0.0.1:9"\n')
    config.chmod(mode)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        said = [n.message for n in app.notices if f"chmod 600 {config}" in n.message]
        assert len(said) == (mode == 0o644), _notes(app)
        assert "s3cret" not in _notes(app)


@pytest.mark.parametrize(
    "state",
    [
        '{"history": 5}',
        '{"history": ["a pelican", 7, null]}',
        '{"theme": ["x"]}',
        '{"blind": "yes", "samples": "4"}',
        '{"blind": 1, "samples": true}',
        '{"samples": 0}',
        '{"samples": 1000000}',
    ],
)
async def test_a_state_file_with_values_of_the_wrong_type_is_read_as_far_as_it_can_be(
    state: str,
) -> None:
    """state.json edited by hand (or by another version): a history or theme of the
    wrong type stopped the app with a traceback, at start or at ↑ in the prompt box.
    Blind mode or samples of the wrong type (or out of range) are left out too."""
    path = locations.state_file()
    locations.ensure(path.parent)
    path.write_text(state)
    app = make_app(overrides={"ui": {}})  # no theme set: the saved one is read
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p", "up")
        assert app.theme == "pelican-dark"
        assert app.history in ([], ["a pelican"])
        assert not app.blind and app.samples == 1
        await pilot.press("escape", "t")  # the app goes on, and saves its state again
        assert app.is_running


async def test_a_prompt_history_that_cannot_be_saved_says_so_once() -> None:
    """state.json that cannot be written (a full disk, a read-only data folder, here a
    folder in its place): every prompt run was dropped from the history at quit
    without a word. The app now says so, once, and keeps it for the session."""
    locations.state_file().mkdir(parents=True)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for prompt in ("a heron", "a stork"):
            await pilot.press("p", "ctrl+u", *prompt, "enter")
            await pilot.pause()
        said = [n.message for n in app.notices if "prompt history" in n.message]
        assert len(said) == 1, [n.message for n in app.notices]
        assert "state.json: Is a directory. They last until you quit." in said[0], said
        assert app.history[-2:] == ["a heron", "a stork"]


async def test_an_export_that_cannot_be_written_is_said_as_the_export_failing() -> None:
    """x onto a full disk said 'Something went wrong' (the title of a bug) over 'export
    session: cannot write …/session-1: No space left on device'. Here a file stands
    where the exports folder goes."""
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.create_session("a pelican")
    locations.exports_dir().write_text("")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_export(session.id)
        assert await wait_for(pilot, lambda: bool(app.notices), 10), "nothing was said"
        titles = [n.title for n in app.notices]
        said = [n.message for n in app.notices if n.title == "Export"]
        assert "Something went wrong" not in titles, [n.message for n in app.notices]
        assert len(said) == 1 and said[0].startswith(f"Session #{session.id} was not exported:")
        assert "cannot write" in said[0], said


async def test_a_state_file_that_is_not_json_is_kept_aside_not_written_over() -> None:
    """state.json edited by hand into something that is not JSON: the history started
    empty without a word, and the next save (a prompt run, a theme) wrote over it."""
    path = locations.state_file()
    locations.ensure(path.parent)
    edited = '{"history": ["a pelican on a unicycle",]}'  # a trailing comma
    path.write_text(edited)
    app = make_app(overrides={"ui": {}})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.history == []
        await pilot.press("p", "ctrl+a", "ctrl+k", *"a heron", "escape")
        notes = [n.message for n in app.notices if n.title == "Prompt history"]
        await pilot.press("q")  # the prompt typed is kept in the history at quit
    kept = list(path.parent.glob("state.json.corrupt-*"))
    assert [p.read_text() for p in kept] == [edited]
    assert len(notes) == 1 and "it is kept as" in notes[0], notes
    assert kept[0].name.replace(".corrupt", ".\ncorrupt") in notes[0], "folded after a dot"
    assert json.loads(path.read_text())["history"] == ["a heron"]


@pytest.mark.parametrize("size", [(60, 24), (80, 24)])
async def test_the_state_file_notice_breaks_between_words_and_folders(
    size: tuple[int, int],
) -> None:
    """At 60x24 the notice for a state.json that is not JSON broke its words where the
    toast's line ended: ".../data/st" over "ate.json was not JSON", and the kept file's
    name "state.json.corrupt-2026120" over "5-171242". It is folded as the other notices
    are, between words, a path between its folders and a long name after a "."."""
    from textual.geometry import Region
    from textual.widgets._toast import Toast

    path = locations.state_file()
    locations.ensure(path.parent)
    path.write_text('{"samples": "many", "blind": [1,2')
    app = make_app(overrides={"ui": {}})
    async with app.run_test(size=size, notifications=True) as pilot:
        assert await wait_for(pilot, lambda: bool(app.screen.query(Toast)), 10), _notes(app)
        await pilot.pause()
        [toast] = app.screen.query(Toast)
        shown = [strip.text for strip in toast.render_lines(Region(0, 0, *toast.size))]
    [kept] = path.parent.glob("state.json.corrupt-*")
    text = "\n".join(line for line in (line.strip(" ▌▐") for line in shown) if line)
    # (the test's own folders may be longer than a line: the path from "data/" on)
    for name in (f"{path.parent.name}/{path.name}", kept.name):  # a break allowed anywhere
        found = re.search("\n?".join(re.escape(ch) for ch in name), text)
        assert found is not None, (name, shown)
        breaks = [n for n, ch in enumerate(found.group(0)) if ch == "\n"]
        assert all(found.group(0)[n - 1] in "/." for n in breaks), shown
    assert "state.json.\ncorrupt-" in text or size[0] > 80, shown


async def test_help_and_palette_show_the_remapped_key() -> None:
    from pelican_tui.commands import PelicanCommands

    app = make_app(overrides={"ui": {"keymap": {"run_both": "g", "help": "f2"}}})
    async with app.run_test(size=(160, 48)) as pilot:
        rows = {row.id: row for row in app.key_rows()}
        assert rows["run_both"].keys == "g"
        assert rows["help"].keys == "f2"
        assert rows["cancel"].keys == "c", "keys not in the keymap stay as they were"
        await pilot.press("f2")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        shown = {row[2]: row[0] for row in screen.rows}
        assert shown["run_both"] == "g"
        await pilot.press("escape")
        provider = PelicanCommands(app.screen)
        helps = {str(hit.display): str(hit.help) async for hit in provider.discover()}
        assert helps["Run both"] == "press g · ui.keymap id run_both"


@pytest.mark.parametrize(
    ("keymap", "said"),
    [
        ({"run_bth": "g"}, ['ui.keymap: "run_bth" is not a key\'s id, so it does nothing']),
        (
            {"run_both": "q"},
            ["ui.keymap gives q to run_both: Quit (quit) is on ctrl+q now"],
        ),
        (
            {"run_both": "q", "cancel": "ctrl+q"},
            ["ui.keymap gives q to run_both: Quit (quit) has no key now"],
        ),
        ({"run_both": "q", "quit": "r"}, []),  # swapped: both keep a key
        ({"sessions_list_up": "k"}, []),  # another screen's id
        (
            {"cancel": "notakey", "view_answer": "ctrl+shift+alt+wat"},
            [
                'ui.keymap: "notakey" (for cancel) is not a key, so no key does it',
                'ui.keymap: "ctrl+shift+alt+wat" (for view_answer) is not a key, so no key does it',
            ],
        ),
        ({"cancel": "ctrl+home, f5, less_than_sign, C, space"}, []),  # keys, all of them
        ({"cancel": "C, wat"}, ['ui.keymap: "wat" (for cancel) is not a key']),
    ],
)
async def test_a_keymap_that_does_nothing_or_takes_a_key_says_so(
    keymap: dict[str, str], said: list[str]
) -> None:
    """A misspelt id was ignored, and a key given to one action silently left the
    action that had it with none (run_both = "q": q no longer quit, and no word)."""
    app = make_app(overrides={"ui": {"keymap": keymap}})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        notes = [n.message for n in app.notices if n.title == "Keys"]
        lines = [line for note in notes for line in note.splitlines()]
        assert lines == ([*said, "The help screen (?) lists every key and its id."] if said else [])


def test_looking_up_a_keymap_id_imports_no_picture_widget() -> None:
    """An id that is not the main screen's is looked for on the other screens. It was
    looked for by importing them all, textual-image with them, which asks the terminal
    a question when imported: with Textual already reading the terminal, its read
    waited for ever, and the app hung before its first frame until a key came."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pelican_tui.app import PelicanApp\n"
        "from pelican_tui.keymap_check import keymap_problems\n"
        "print(keymap_problems({'gallery_close': 'x', 'nosuch': 'z'}, PelicanApp.BINDINGS))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('textual_image', 'PIL'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    problems, imported = done.stdout.strip().splitlines()[-2:]
    assert problems == "['ui.keymap: \"nosuch\" is not a key\\'s id, so it does nothing']"
    assert imported == "[]"


class _BrokenBackend:
    """A backend with a bug: it raises mid-stream instead of yielding Failed."""

    name = "local"
    capabilities = Capabilities(can_cancel=True, owns_process=False, supports_thinking=True)
    server = None

    def status(self) -> BackendStatus:
        return BackendStatus(ready=True, message="ready")

    def describe(self) -> dict[str, str]:
        return {}

    async def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        yield TextDelta("<svg")
        raise RuntimeError("backend bug")

    async def aclose(self) -> None:
        return None


async def test_a_backend_bug_fails_the_pane_instead_of_leaving_it_running() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot)  # the local side is rebuilt when it is read
        local = app.engine.local
        assert local is not None
        local.backend = _BrokenBackend()
        await pilot.press("1")
        left = app.pane("left")
        assert await wait_for(pilot, lambda: left.state == "failed", 10)
        problem = str(left.query_one(".problem").render())
        assert "RuntimeError: backend bug" in problem


class _AnswerBackend(_BrokenBackend):
    """A backend that answers with an SVG at once."""

    async def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        yield TextDelta('<svg xmlns="http://www.w3.org/2000/svg"><rect width="5"/></svg>')
        yield Finished(Timings(), stop_reason="stop")


async def test_a_drawing_bug_is_said_and_the_run_still_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine kept a run going past a bug in the app's drawing of it, and the app
    never said so: the pane just stopped moving."""
    from pelican_tui.widgets.model_pane import ModelPane

    def broken(self: ModelPane, event: GenerationEvent) -> None:
        raise ValueError("a drawing bug")

    app = make_app(overrides={"claude": {"enabled": False}})
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot)
        local = app.engine.local
        assert local is not None
        local.backend = _AnswerBackend()
        monkeypatch.setattr(ModelPane, "feed", broken)
        await pilot.press("1")
        said = "Drawing the run failed (ValueError: a drawing bug); the run itself was recorded"
        assert await wait_for(pilot, lambda: said in _notes(app), 10), _notes(app)
        assert _notes(app).count(said) == 1, "said once, not once per update"
    with SessionStore.open(create=False) as store:
        [listed] = store.list_sessions()
        assert [run.status for run in store.get_session(listed.id).runs] == ["finished"]


async def test_corrupt_model_is_refused_with_the_header_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    app = make_app(start_server=True, overrides={"local": {"model": broken}})
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot), (
            "the header is read (and found broken) after the first frame"
        )
        assert app.server is None, "an unreadable GGUF is not handed to llama-server"
        problem = str(app.pane("left").query_one(".problem").render())
        assert "broken.gguf" in problem and "press S" in problem
        assert 'fit = "ignore"' not in problem, "ignoring the memory fit cannot fix a broken file"


async def test_status_bar_names_a_crash_and_the_key_that_restarts() -> None:
    app = make_app(overrides={"claude": {"enabled": False}})
    async with app.run_test(size=(160, 48)) as pilot:
        bar = app.query_one(StatusBar)
        assert "claude: off" in bar.render_text().plain
        bar.set_server(ServerStatus(ServerState.CRASHED, "exited", exit_code=-9))
        await pilot.pause()
        text = bar.render_text()
        assert "server: crashed (SIGKILL), R restarts" in text.plain
        error = app.theme_variables["error"]
        assert any(error in str(span.style) for span in text.spans)


async def test_a_server_status_that_comes_as_the_app_closes_is_let_go() -> None:
    """llama-server reports its state from another thread, and its last reports (it
    stops) can reach the app while it closes, its screen's widgets gone: the app died
    with "No nodes match 'StatusBar'" (fresh-clone CI, once in 1354 tests). Here the
    status bar is taken away first, as closing does, and a report comes after it."""
    from pelican_tui.messages import ServerStatusChanged

    app = make_app(overrides={"claude": {"enabled": False}})
    async with app.run_test(size=(160, 48)) as pilot:
        await app.query_one(StatusBar).remove()
        app.post_message(ServerStatusChanged(ServerStatus(ServerState.STOPPED, "stopped")))
        await pilot.pause()
        assert app.is_running, "the app died of a report that came as it closed"


@pytest.mark.slow
async def test_pressing_run_again_mid_stream_restarts_cleanly() -> None:
    app = make_app(
        start_server=True,
        # --ignore-eos and 300 tokens: the first run cannot end before it is superseded.
        overrides={
            "prompt": "Write a very long story.",
            "local": {"max_tokens": 300, "extra_args": ["--ignore-eos"]},
        },
    )
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot)  # llama-server starts once the header is read
        server = app.server
        assert server is not None
        assert await wait_for(pilot, lambda: server.status.state.value == "ready", 60)
        left = app.pane("left")
        await pilot.press("1")
        assert await wait_for(pilot, lambda: len(left.answer_text) > 5, 30)
        await pilot.press("1")  # supersedes the run in flight
        # Its 300 tokens take a minute and more on a loaded machine (5 tok/s seen).
        ended = await wait_for(pilot, lambda: left.state != "running", RUN_WAIT_S)
        assert ended, left.stats_line()
        assert left.state == "finished", left.stats_line()
        assert left._final is not None
        first_session = app.session_id
    assert first_session is not None
    with SessionStore.open(locations.sessions_db()) as store:
        sessions = store.list_sessions()
        statuses = sorted(run.status for s in sessions for run in store.get_session(s.id).runs)
    assert statuses == ["cancelled", "finished"], "the superseded run is kept, as cancelled"


async def _reopened_left_stats(session_id: int) -> str:
    """The left pane's numbers line of ``session_id`` opened in a new app."""
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        app.load_session(session_id)
        await app.workers.wait_for_complete()
        await pilot.pause()
        return app.pane("left").stats_line()


@pytest.mark.slow
async def test_opened_session_shows_its_numbers() -> None:
    # --ignore-eos: the tiny model cannot stop by itself within 40 tokens; the limit cuts it.
    app = make_app(
        start_server=True, overrides={"local": {"max_tokens": 40, "extra_args": ["--ignore-eos"]}}
    )
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot)  # llama-server starts once the header is read
        server = app.server
        assert server is not None
        assert await wait_for(pilot, lambda: server.status.state.value == "ready", 60)
        await pilot.press("1")
        left = app.pane("left")
        assert await wait_for(pilot, lambda: left.state == "finished", RUN_WAIT_S)
        session_id = app.session_id
        before = left.stats_line()
        assert session_id is not None
        await app.workers.wait_for_complete()
    after = await _reopened_left_stats(session_id)
    assert after.startswith("✓ TTFT"), after
    # The same numbers as when it ran (the ceiling part depends on the cache).
    assert after.split(" · ")[:3] == before.split(" · ")[:3]
    # Thinking as it ran, live and reopened alike: the stand-in has no thinking switch
    # (none was sent), and no reasoning came.
    assert before.endswith(" · did not think"), before
    assert after.endswith(" · did not think"), after
    assert " 40 tok (limit)" in before, "the tiny model rambles: cut by max_tokens"
    with SessionStore.open(locations.sessions_db()) as store:
        [run] = store.get_session(session_id).runs
    assert run.usage["stop_reason"] == "length"
    cut_picture = run.svg is None or run.picture_facts["truncated"]
    # The cause leads the note only where the limit cut the picture: the tiny model now and
    # then closes a small SVG within 40 tokens and rambles on after it.
    assert run.svg_note is not None
    assert run.svg_note.startswith("cut at the 40-token limit: ") == cut_picture, run.svg_note


async def test_an_opened_cancelled_run_keeps_its_numbers() -> None:
    """Live it showed "■ TTFT 0.30s · 34.6 tok/s · 2464 tok"; reopened, "■ cancelled"."""
    with SessionStore.open(locations.sessions_db()) as store:
        session_id = store.create_session("Generate an SVG of a pelican.").id
        run = store.start_run(
            session_id, "left", "local", "m.gguf", {"file": "m.gguf"}, {"thinking": False}
        )
        timings = {"generated_tokens": 2464, "generation_tokens_per_s": 34.6,
                   "time_to_first_token_s": 0.3}  # fmt: skip
        store.finish_run(run, status="cancelled", answer="<svg", timings=timings)
    stats = await _reopened_left_stats(session_id)
    assert stats.startswith("■ TTFT 0.30s · 34.6 tok/s"), stats
    assert "2464 tok" in stats and stats.endswith("thinking off"), stats


async def test_an_opened_cancelled_run_says_why_it_has_no_picture() -> None:
    """A stored cancelled Claude run, opened: its pane and the full-screen view said "no
    picture yet", as if one were still to come, and its numbers line dropped the "36
    think" it showed live, although its thinking text was shown."""
    from pelican_tui.screens.picture_screen import PictureScreen
    from pelican_tui.widgets.picture import PictureView

    with SessionStore.open(locations.sessions_db()) as store:
        session_id = store.create_session("Generate an SVG of a pelican.").id
        run = store.start_run(
            session_id, "left", "claude", "claude-sonnet-4-5", {"model": "claude-sonnet-4-5"},
            {"thinking": True, "effort": "high"},
        )  # fmt: skip
        timings = {"generated_tokens": 120, "generation_tokens_per_s": 51.0,
                   "time_to_first_token_s": 0.8}  # fmt: skip
        usage = {"output_tokens": 120, "thinking_tokens": 36}
        store.finish_run(
            run, status="cancelled", thinking_text="A pelican has a long beak.",
            answer="Here is", timings=timings, usage=usage,
        )  # fmt: skip
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        app.load_session(session_id)
        await app.workers.wait_for_complete()
        await pilot.pause()
        left = app.pane("left")
        stats = left.stats_line()
        assert left.picture.note == "no picture: the run was cancelled", left.picture.note
        assert "36 think" in stats, stats
        await pilot.press("f")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PictureScreen), 5)
        await pilot.pause()
        left_view = app.screen.query(PictureView).first()  # the left pane's, then the right's
        assert left_view.note == "no picture: the run was cancelled", left_view.note


async def test_an_opened_run_is_measured_against_the_ceiling_of_its_own_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run made on an attached (Ollama) server, reopened, read "46.0 tok/s (9% of 531
    max)": 531 was the spawned local model's ceiling, nothing to do with that server."""
    from _server_support import server_binary, tiny_model

    from pelican_tui.backends import hardware
    from pelican_tui.backends.llama.prepare import Prepared
    from pelican_tui.backends.settings import load_settings

    model, binary = tiny_model(), server_binary()  # found in the shared cache first
    monkeypatch.setenv(locations.CACHE_ENV, str(tmp_path / "cache"))
    hardware.write_cached_bandwidth(8e9)  # this machine's ceiling for the model: known
    timings = {"generated_tokens": 23, "generation_tokens_per_s": 46.0,
               "time_to_first_token_s": 0.01}  # fmt: skip
    with SessionStore.open(locations.sessions_db()) as store:
        session_id = store.create_session("Generate an SVG of a pelican.").id
        attached = store.start_run(
            session_id, "left", "openai", "qwen3:30b",
            {"model": "qwen3:30b", "url": "http://127.0.0.1:11434", "server_kind": "ollama"},
            {"thinking": False},
        )  # fmt: skip
        spawned = store.start_run(
            session_id, "right", "local", model.name,
            {"file": model.name, "path": str(model.absolute()), "server_kind": "llama.cpp"},
            {"thinking": False},
        )  # fmt: skip
        for run in (attached, spawned):
            store.finish_run(run, answer="<svg/>", timings=timings)
    settings = load_settings({"local": {"model": str(model), "context": 2048}})
    prepared = Prepared(binary=binary, binary_source="cache")
    app = PelicanApp(settings, prepared, start_server=False, sample_resources=False)
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot)
        ceiling = app.ceiling_tok_s
        assert ceiling, "the spawned model's ceiling is known"
        assert app.pane("left").ceiling_tok_s == ceiling, "the pane's next run is local"
        app.load_session(session_id)
        await app.workers.wait_for_complete()
        await pilot.pause()
        left, right = app.pane("left").stats_line(), app.pane("right").stats_line()
    assert "46.0 tok/s · " in left and "max)" not in left, left
    assert f"46.0 tok/s ({46 / ceiling:.0%} of {ceiling:.0f} max)" in right, right


@pytest.mark.parametrize("mode", ["halfcell", "sixel"])
async def test_image_mode_setting_forces_the_protocol_and_is_shown(
    mode: str, pelican_svg_png: bytes
) -> None:
    from textual_image.widget import SixelImage

    from pelican_tui.widgets.picture import RunsHalfcellImage

    expected = {"halfcell": RunsHalfcellImage, "sixel": SixelImage}[mode]
    app = make_app(overrides={"ui": {"image_mode": mode}})
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.image_mode == mode
        assert f"img {mode}" in app.query_one(StatusBar).render_text().plain
        picture = app.pane("left").picture
        picture.set_png(pelican_svg_png)
        await pilot.pause()
        drawn = picture.query_one("#picture-image")
        assert isinstance(drawn, expected), f"drawn with {type(drawn).__name__}"


async def test_flat_colours_are_written_as_runs_not_cell_by_cell() -> None:
    """A flat fill costs one colour escape per run, not ~40 bytes per cell."""
    import io

    from PIL import Image

    from pelican_tui.widgets.picture import RunsHalfcellImage

    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (200, 30, 30)).save(buffer, "PNG")
    app = make_app(overrides={"ui": {"image_mode": "halfcell"}})
    async with app.run_test(size=(160, 48)) as pilot:
        picture = app.pane("left").picture
        picture.set_png(buffer.getvalue())
        await pilot.pause()
        await pilot.pause()
        image = picture.query_one("#picture-image", RunsHalfcellImage)
        assert image.size.width > 10
        line = image.render_line(image.size.height // 2)
        coloured = [
            seg for seg in line if seg.text.strip() == "" and seg.style and seg.style.bgcolor
        ]
        assert len(list(line)) <= 3, list(line)
        assert coloured and coloured[0].style.bgcolor.triplet == (200, 30, 30)  # type: ignore[union-attr]
        assert "\u2580" not in line.text, "a flat half-cell is a space on its colour"


def test_image_mode_flag_reaches_the_settings() -> None:
    from pelican_tui.backends.settings import load_settings
    from pelican_tui.cli import build_parser, overrides_from_args

    args = build_parser().parse_args(["--image-mode", "halfcell"])
    assert load_settings(overrides_from_args(args)).ui.image_mode == "halfcell"


@pytest.fixture(scope="module")
def pelican_svg_png() -> bytes:
    from pelican_tui.backends.svg.render import SvgRenderer

    svg = (Path(__file__).parent / "svg_corpus" / "good_pelican_classic.svg").read_text()
    with SvgRenderer() as renderer:
        result = renderer.render_sync(svg, 200, 150)
    assert result.png is not None, result.reason
    return result.png


async def test_status_bar_shows_download_progress() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        bar = app.query_one(StatusBar)
        gib = 1024**3
        known = ServerStatus(
            ServerState.DOWNLOADING,
            "downloading",
            progress=0.25,
            downloaded_bytes=5 * gib,
            download_total=20 * gib,
        )
        bar.set_server(known)
        await pilot.pause()
        assert "server: downloading 25% 5.0G/20.0G" in bar.render_text().plain
        bar.set_server(ServerStatus(ServerState.DOWNLOADING, "downloading", downloaded_bytes=gib))
        assert "server: downloading 1.0G " in bar.render_text().plain


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_full_screen_says_why_a_pane_has_no_picture(size: tuple[int, int]) -> None:
    """It said "no picture yet" in the picture's place and glued the reason to the
    numbers in the caption, the two panels' captions running into each other."""
    from pelican_tui.screens.picture_screen import PictureScreen
    from pelican_tui.widgets.picture import PictureView

    app = make_app()
    async with app.run_test(size=size) as pilot:
        app.pane("left").picture.set_png(None, "the answer had no SVG")
        await pilot.press("f")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PictureScreen), 5)
        screen = app.screen
        assert isinstance(screen, PictureScreen)
        await pilot.pause()
        left, right = (screen.query_one(f"#picture-{i}", PictureView) for i in (0, 1))
        assert left.note == "the answer had no SVG" and right.note is None
        text = screen_text(app)
        assert "the answer had no SVG" in text and "no picture yet" in text, text
        assert screen.pictures[0].caption == app.pane("left").stats_line()
        if size[0] >= 100:  # side by side: a gap between the two captions' words
            first, second = screen.query(".picture-caption")
            assert first.content_region.right + 2 <= second.content_region.x


async def test_a_failed_run_says_it_failed_where_its_picture_would_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claude answered 529: the pane said why on its problem line, and "the answer is
    empty" where the picture would be, as if the model had answered nothing. Reopened
    from the store, the same."""
    from _anthropic_server import AnthropicTestServer

    from pelican_tui.backends.engine.choices import PaneChoice

    with AnthropicTestServer(scenario="529") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(80, 24)) as pilot:
            assert await header_read(pilot)
            app.choices["left"] = PaneChoice("claude", True)
            app.choices["right"] = PaneChoice("claude", False)
            await pilot.press("r")
            assert await wait_for(pilot, lambda: not app.comparing, 30)
            pane = app.pane("left")
            assert pane.state == "failed"
            assert "overloaded" in pane.problem, pane.problem
            assert pane.picture.note == "no picture: the run failed"
            # The local side told again (S, ctrl+s; as when its header is read after a
            # run at start-up): nothing to say of Claude's panes, their failure stays.
            await pilot.press("S")
            await pilot.pause()
            await pilot.press("ctrl+s")
            assert await wait_for(pilot, lambda: app.screen is app.screen_stack[0], 10)
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "overloaded" in pane.problem, pane.problem
            session_id = app.session_id
            assert session_id is not None
            pane.picture.set_png(None, "something else")
            app.load_session(session_id)
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert pane.picture.note == "no picture: the run failed"


async def test_a_damaged_store_moved_aside_is_said_once_not_with_every_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store was damaged, moved aside and made anew when the app opened it: the
    app said so with its first comparison, then again with every comparison after it
    (a warning for 15 s each time, about one open)."""
    from _anthropic_server import AnthropicTestServer

    from pelican_tui.backends.engine.choices import PaneChoice

    path = locations.sessions_db()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)  # not a database any more
    with AnthropicTestServer(scenario="ok") as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(80, 24)) as pilot:
            app.choices["left"] = PaneChoice("claude", True)
            app.choices["right"] = PaneChoice("claude", False)
            for _ in range(2):
                await pilot.press("r")
                assert await wait_for(pilot, lambda: app.session_id is not None, 30)
                assert await wait_for(pilot, lambda: not app.comparing, 30)
            said = [n.message for n in app.notices if "store was damaged" in n.message]
            assert len(said) == 1, said
            assert list(path.parent.glob("sessions.sqlite3.corrupt-*")), "it was moved aside"


async def test_a_damaged_store_is_said_by_whichever_key_opens_it_first() -> None:
    """L (or g) opened the damaged store first: it was moved aside without a word, the
    leaderboard said "No votes yet", and the warning came only at the next r."""
    path = locations.sessions_db()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000)  # not a database any more
    app = make_app(start_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("L")
        said = lambda: [n.message for n in app.notices if "store was damaged" in n.message]  # noqa: E731
        assert await wait_for(pilot, lambda: bool(said()), 10)
        await pilot.press("escape", "g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(said()) == 1, said()


async def test_a_damaged_store_is_said_at_start_before_any_key() -> None:
    """A session store of garbage was said only when a key opened it (o, r): the user
    learnt that their sessions had been moved aside after going on to run. The app now
    opens the store there is after its first frame, and says where the damaged one went."""
    path = locations.sessions_db()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"garbage, not a session store " * 300)
    app = make_app(start_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        said = lambda: [n for n in app.notices if "store was damaged" in n.message]  # noqa: E731
        assert await wait_for(pilot, lambda: bool(said()), 10), _notes(app)
        [notice] = said()
    [moved] = path.parent.glob(f"{path.name}.corrupt-*")
    sentence = f"The session store was damaged: moved it to {moved} and started a fresh one."
    assert notice.message == fold_words(sentence, 34), "folded to a toast's lines at 80 columns"
    assert notice.severity == "warning" and notice.title == "Sessions"


async def test_the_damaged_store_notice_breaks_its_path_between_folders_at_80_columns() -> None:
    """At 80x24 the notice broke the moved store's path where the toast's line ended,
    inside the file's name ("…/data/sessions.sqli" over "te3.corrupt-…"); now it
    breaks after a "/", and the file's name, longer than a line, after a "."."""
    from textual.geometry import Region
    from textual.widgets._toast import Toast

    path = locations.sessions_db()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"garbage, not a session store " * 300)
    app = make_app(start_server=False)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        assert await wait_for(pilot, lambda: bool(app.screen.query(Toast)), 10), _notes(app)
        await pilot.pause()
        [toast] = app.screen.query(Toast)
        shown = [strip.text for strip in toast.render_lines(Region(0, 0, *toast.size))]
    [moved] = path.parent.glob(f"{path.name}.corrupt-*")
    lines = [line.strip(" ▌▐") for line in shown]
    text = "\n".join(line for line in lines if line)
    # The path as shown: each of its characters, a line break allowed between any two.
    found = re.search("\n?".join(re.escape(ch) for ch in str(moved)), text)
    assert found is not None, shown
    breaks = [n for n, ch in enumerate(found.group(0)) if ch == "\n"]
    assert breaks, "the path is longer than a line at 80 columns"
    assert all(found.group(0)[n - 1] in "/." for n in breaks), shown
    assert "sessions.sqlite3.\ncorrupt-" in text, shown


async def test_no_session_store_is_made_at_start() -> None:
    """Opening the store at start (to say it was damaged) makes none where there is none."""
    app = make_app(start_server=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.local_known
    assert not locations.sessions_db().exists()


async def test_a_cancel_after_the_svg_was_complete_keeps_its_picture() -> None:
    """c pressed once the answer's SVG was closed (``</svg>`` streamed), the model still
    writing after it: the run was stored cancelled with no picture, and opened again
    it showed none, though its SVG was whole. The picture is kept, said to be from a
    cancelled run, live and when the session is opened."""
    from _app_support import COPY_SVG_PROMPT, server_ready

    # Thinking on, it copies the SVG and stops there; past its end it writes on.
    local = {"context": 2048, "max_tokens": 400, "seed": 7, "extra_args": ["--ignore-eos"]}
    app = make_app(start_server=True, overrides={"prompt": COPY_SVG_PROMPT, "local": local})
    async with app.run_test(size=(160, 48)) as pilot:
        await server_ready(pilot)
        left = app.pane("left")
        await pilot.press("1")
        assert await wait_for(pilot, lambda: "</svg>" in left.answer_text, RUN_WAIT_S)
        assert left.state == "running", "the answer goes on after the SVG"
        await pilot.press("c")
        assert await wait_for(pilot, lambda: left.state == "cancelled", 20)
        # Not workers.wait_for_complete(): it raises for the comparison c cancelled.
        assert await wait_for(pilot, lambda: not app.comparing, 20)
        assert await wait_for(pilot, lambda: left.picture.png is not None, 20)
        assert "cancelled" in (left.picture.note or ""), left.picture.note
        session_id = app.session_id
    assert session_id is not None
    with SessionStore.open(locations.sessions_db()) as store:
        (run,) = store.get_session(session_id).runs
    assert run.status == "cancelled"
    assert run.svg is not None and run.svg.rstrip().endswith("</svg>"), run.svg
    assert run.png is not None, "the whole SVG's picture is stored"
    assert "cancelled" in (run.svg_note or ""), run.svg_note
    again = make_app()  # a later start: the session opened from the store
    async with again.run_test(size=(160, 48)) as pilot:
        again.load_session(session_id)
        opened = again.pane("left").picture
        assert await wait_for(pilot, lambda: opened.png is not None, 10)
        assert "cancelled" in (opened.note or ""), opened.note


async def test_a_session_opened_while_a_run_streams_keeps_its_own_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """o, Enter on an earlier session while a comparison streamed: the panes showed the
    opened session (its header, "the run was cancelled"), then the run in flight ended
    on top of it: its numbers, its picture note under the opened session's name, and
    a vote would have gone to the opened session. The run goes on unseen and is saved
    in its own session; the opened one stays as it was read."""
    from _anthropic_server import AnthropicTestServer

    from pelican_tui.backends.engine.choices import PaneChoice

    with AnthropicTestServer(scenario="slow", chunk_delay_s=0.15) as claude:
        claude.serve(monkeypatch)
        app = make_app(overrides={"claude": {"max_retries": 0}})
        async with app.run_test(size=(80, 24)) as pilot:
            assert await header_read(pilot)
            app.choices["left"] = PaneChoice("claude", True)
            app.choices["right"] = PaneChoice("claude", False)
            await pilot.press("1")
            left = app.pane("left")
            assert await wait_for(pilot, lambda: len(left.answer_text) > 10, 30)
            await pilot.press("c")  # the first session: one cancelled run
            assert await wait_for(pilot, lambda: not app.comparing, 10)
            first = app.session_id
            assert first is not None and left.state == "cancelled"
            app.samples = 2  # a second sample starts its session after the opening
            await pilot.press("r")
            assert await wait_for(pilot, lambda: app.session_id not in (None, first), 10)
            second = app.session_id
            assert await wait_for(pilot, lambda: len(left.answer_text) > 10, 30)
            app.load_session(first)
            await app.workers.wait_for_complete()
            await pilot.pause()
            opened = (left.state, left.stats_line(), left.answer_text, left.picture.note)
            assert left.state == "cancelled" and app.session_id == first
            assert app.pane("right").state != "running", "the opened session has no run there"
            assert await wait_for(pilot, lambda: not app.comparing, 60)
            await pilot.pause()
            assert (left.state, left.stats_line(), left.answer_text, left.picture.note) == opened
            assert app.session_id == first
            assert any(f"#{second}" in n.message for n in app.notices), _notes(app)
        with SessionStore.open(locations.sessions_db()) as store:
            for session_id in (second, second + 1):  # both samples
                runs = store.get_session(session_id).runs
                assert {run.status for run in runs} == {"finished"}, "saved, unseen"


async def _titles_until_ready(pilot: Any, app: PelicanApp) -> list[str]:
    """Every title the app shows, in order, until its llama-server is ready and said so
    (the one it has then: the side is rebuilt when the model's header is read)."""
    seen: list[str] = [app.terminal_title]
    for _ in range(12000):  # 60 s at most
        server = app.server
        ready = server is not None and server.status.state is ServerState.READY
        if ready and seen[-1] == "pelican-tui · ready":
            break
        await pilot.pause(0.005)
        if app.terminal_title != seen[-1]:
            seen.append(app.terminal_title)
    return seen


async def test_the_terminal_title_never_says_ready_before_the_server_starts_or_restarts() -> None:
    """The title said "ready" for a second after the app started, before its own
    llama-server was spawned, and again while R stopped it to start it again: "ready"
    while nothing could run. It now says "starting", then "loading model", and
    "restarting" while R stops it, and "ready" only once the server is."""
    app = make_app(start_server=True, overrides={"claude": {"enabled": False}})
    async with app.run_test(size=(80, 24)) as pilot:
        first = app.terminal_title
        assert await wait_for(pilot, lambda: app.server is not None, 10)
        started = await _titles_until_ready(pilot, app)
        server = app.server
        assert server is not None and server.status.state is ServerState.READY
        assert first == "pelican-tui · starting", started
        assert started[-1] == "pelican-tui · ready", started
        assert "pelican-tui · ready" not in started[:-1], started
        assert "pelican-tui · loading model" in started, started
        restart = asyncio.create_task(app.run_action("restart_server"))  # R, watched as it goes
        restarted = [app.terminal_title]
        for _ in range(2000):
            await pilot.pause(0.005)
            if app.terminal_title != restarted[-1]:
                restarted.append(app.terminal_title)
            if server.status.state is not ServerState.READY:
                break
        restarted += (await _titles_until_ready(pilot, app))[1:]
        await restart
        assert "pelican-tui · restarting" in restarted, restarted
        assert "pelican-tui · ready" not in restarted[1:-1], restarted
        assert restarted[-1] == "pelican-tui · ready", restarted


async def _own_server_ready(pilot: Any, app: PelicanApp) -> bool:
    """Wait until the app's own llama-server (the one it has now: the side is rebuilt
    when the model's header is read) is ready and the title says so."""
    return await wait_for(
        pilot,
        lambda: (
            app.server is not None
            and app.server.status.state is ServerState.READY
            and app.terminal_title == "pelican-tui · ready"
        ),
        60,
    )


def _server_word(app: PelicanApp) -> str:
    """What the status bar says of the app's own llama-server ("server: ready")."""
    return app.query_one(StatusBar).render_text().plain.split(" │ ")[0].strip()


async def test_the_status_bar_says_restarting_from_r_until_the_new_server_is_ready() -> None:
    """After R the status bar said "server: ready" while the title said "restarting",
    then "server: stopping" and "server: stopped" before the new server loaded. It now
    says "server: restarting…" whenever the title says "restarting", and "ready" only
    once the new server is."""
    app = make_app(start_server=True, overrides={"claude": {"enabled": False}})
    async with app.run_test(size=(120, 24)) as pilot:
        assert await _own_server_ready(pilot, app)
        assert _server_word(app) == "server: ready"
        seen = [(app.terminal_title, _server_word(app))]
        show_activity = app.show_activity  # what writes the title, every time

        def record() -> None:  # every title written, however short it stays
            show_activity()
            now = (app.terminal_title, _server_word(app))
            if now != seen[-1]:
                seen.append(now)

        app.show_activity = record  # type: ignore[method-assign]
        restart = asyncio.create_task(app.run_action("restart_server"))  # R
        restarted = await wait_for(
            pilot,
            lambda: (
                any(title.endswith("restarting") for title, _ in seen)
                and seen[-1] == ("pelican-tui · ready", "server: ready")
            ),
            60,
        )
        assert restarted, seen
        await restart
        restarting = [bar for title, bar in seen if title == "pelican-tui · restarting"]
        assert restarting, seen
        assert set(restarting) == {"server: restarting…"}, seen
        first = next(i for i, (title, _) in enumerate(seen) if title.endswith("restarting"))
        words = [bar for _, bar in seen[first:]]
        assert "server: ready" not in words[:-1], seen
        assert not {"server: stopping", "server: stopped"} & set(words), seen
        assert seen[-1] == ("pelican-tui · ready", "server: ready"), seen


async def test_the_terminal_title_says_restarting_while_new_server_settings_apply() -> None:
    """S, Apply & restart: the title said "ready" while the status bar said "server:
    stopped", then "loading model"; never "restarting", as R says. It now says
    "restarting" while the old server stops and the new one starts, and "ready" only
    once the new one is."""
    from pelican_tui.screens.server_settings_screen import ServerSettingsScreen

    app = make_app(start_server=True, overrides={"claude": {"enabled": False}})
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.server is not None, 10)
        await _titles_until_ready(pilot, app)
        old = app.server
        assert old is not None and old.status.state is ServerState.READY
        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ServerSettingsScreen), 5)
        seen = [app.terminal_title]
        assert seen == ["pelican-tui · ready"], seen
        show_activity = app.show_activity  # what writes the title, every time

        def record() -> None:  # every title written, however short it stays
            show_activity()
            if app.terminal_title != seen[-1]:
                seen.append(app.terminal_title)

        app.show_activity = record  # type: ignore[method-assign]
        await pilot.press("ctrl+s")  # Apply & restart
        assert await wait_for(pilot, lambda: app.server is not old, 60)
        server = app.server
        assert server is not None and server is not old
        ready = await wait_for(
            pilot,
            lambda: (
                server.status.state is ServerState.READY
                and app.terminal_title == "pelican-tui · ready"
            ),
            60,
        )
        assert ready, seen
        assert "pelican-tui · restarting" in seen, seen
        assert "pelican-tui · ready" not in seen[1:-1], seen
        assert seen[-1] == "pelican-tui · ready", seen


async def test_the_terminal_title_says_the_server_stopped_when_new_settings_fail() -> None:
    """S, Apply & restart, failing after the old server was stopped (here a model path
    under a user that does not exist, which pathlib cannot expand): the status bar said
    "server: stopped" and the title "ready". The title now says "server stopped" too."""
    app = make_app(start_server=True, overrides={"claude": {"enabled": False}})
    async with app.run_test(size=(120, 24)) as pilot:
        assert await _own_server_ready(pilot, app)
        server = app.server
        assert server is not None
        bad = app.settings.local.model_copy(update={"model": "~no-such-user-pelican/m.gguf"})
        applying = app.apply_local_settings(bad)
        assert await wait_for(pilot, lambda: applying.is_finished, 30)
        await pilot.pause()
        assert applying.error is not None, "the new settings were applied"
        assert server.status.state is ServerState.STOPPED
        assert _server_word(app) == "server: stopped"
        assert app.terminal_title == "pelican-tui · server stopped", app.terminal_title


async def test_the_terminal_title_says_the_own_server_is_loading_or_crashed() -> None:
    """While the app's own llama-server loaded its model the status bar said "server:
    loading…" and the terminal's title "pelican-tui · ready", and the same after it
    crashed. Now the title says "loading model", then "ready", then "server crashed"."""
    app = make_app(start_server=True, overrides={"claude": {"enabled": False}})
    async with app.run_test(size=(80, 24)) as pilot:
        assert await header_read(pilot), "the local model's header was not read"
        server = app.server
        assert server is not None, "the app started no llama-server"
        for _ in range(3000):  # held as soon as it is spawned, before it can have loaded
            if server.pid is not None:
                break
            await pilot.pause(0.005)
        assert server.pid is not None, "llama-server was not spawned"
        os.kill(server.pid, signal.SIGSTOP)
        try:
            loading = await wait_for(
                pilot, lambda: app.terminal_title == "pelican-tui · loading model", 10
            )
            assert loading, (server.status.state, app.terminal_title)
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert await wait_for(pilot, lambda: server.status.state is ServerState.READY, 60)
        await pilot.pause()
        assert app.terminal_title == "pelican-tui · ready"
        os.kill(server.pid, signal.SIGKILL)
        assert await wait_for(pilot, lambda: server.status.state is ServerState.CRASHED, 15)
        await pilot.pause()
        assert app.terminal_title == "pelican-tui · server crashed"


def _white_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_a_long_picture_note_is_whole_in_the_picture_screen(size: tuple[int, int]) -> None:
    """A run cut at its token limit whose picture draws nothing: its note ("… cut at the
    300-token limit: the SVG …") was cut at the border in its pane and in the picture
    screen (``f``) alike, its end lost. The pane keeps one row (ending in "…": a note
    folded there would draw the picture again, smaller, as each run ends); the picture
    screen folds it between its facts, each line centred, and all of it shows."""
    from pelican_tui.screens.picture_screen import PictureScreen

    note = "cut at the 300-token limit: the SVG is unfinished (no closing </svg>); closed it up"
    with SessionStore.open(locations.sessions_db()) as store:
        session = store.create_session("A pelican riding a bicycle")
        run = store.start_run(
            session.id, "left", "local", "SmolLM2.gguf", {"file": "SmolLM2.gguf"},
            {"thinking": False},
        )  # fmt: skip
        svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"></svg>'
        store.finish_run(run, answer=svg, svg=svg, svg_note=note, png=_white_png(),
                         picture_facts={"empty": True})  # fmt: skip
    app = make_app()
    async with app.run_test(size=size) as pilot:
        app.load_session(session.id)
        await app.workers.wait_for_complete()
        await pilot.pause()
        pane_rows = screen_text(app).splitlines()
        await pilot.press("f")
        assert await wait_for(pilot, lambda: isinstance(app.screen, PictureScreen), 5)
        await pilot.pause()
        await pilot.pause()
        rows = screen_text(app).splitlines()
    # The pane: one row, its start kept and its cut said.
    [in_pane] = [row for row in pane_rows if "an empty picture: the SVG draws" in row]
    assert "…" in in_pane and "closed it up" not in in_pane, in_pane
    # The picture screen: the left panel (half the width), its rows under the picture
    # and over the caption ("✓ TTFT …"), each centred in it.
    half = size[0] // 2
    last_drawn = max(at for at, row in enumerate(rows) if "█" in row[:half])
    caption = next(at for at, row in enumerate(rows) if row[:half].lstrip().startswith("✓"))
    lines = [row[:half] for row in rows[last_drawn + 1 : caption] if row[:half].strip()]
    said = " ".join(line.strip() for line in lines)
    assert said == f"an empty picture: the SVG draws nothing {note.replace('; ', ' ')}", lines
    for line in lines:
        before, after = len(line) - len(line.lstrip()), len(line) - len(line.rstrip())
        assert abs(before - after) <= 1, ("centred", line, "\n".join(rows))
