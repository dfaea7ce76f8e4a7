"""The one rule for cutting text to fit (it was written out in nine places)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.cells import cell_len

from pelican_tui.backends.store.records import RunSummary, SessionSummary
from pelican_tui.backends.text import (
    first_line,
    fold_label,
    fold_parts,
    fold_words,
    home_path,
    one_line,
    printable,
    shorten,
    shorten_keeping_last,
    shorten_label,
    shorten_parts,
    shorten_title,
)


@pytest.mark.parametrize(
    ("text", "width", "shown"),
    [
        ("a pelican", 20, "a pelican"),
        ("  a\n pelican\triding ", 20, "a pelican riding"),
        ("a pelican riding a bicycle", 10, "a pelican…"),
        ("a pelican riding", 3, "a…"),
        ("pelican", 0, "…"),
    ],
)
def test_shorten_folds_white_space_and_marks_the_cut(text: str, width: int, shown: str) -> None:
    assert shorten(text, width) == shown
    assert len(shorten(text, width)) <= max(width, 1)


@pytest.mark.parametrize("width", range(1, 30))
def test_shorten_measures_terminal_cells(width: int) -> None:
    """A Chinese prompt's characters take two cells each: cut by characters, a title
    in `sessions list` or the status bar ran twice as wide as its room."""
    text = "画一只骑自行车的鹈鹕 · local vs claude · thinking on vs high"
    for cut in (shorten(text, width), shorten_parts(text, width)):
        assert cell_len(cut) <= max(width, 1)
        assert cut == text or "…" in cut or cut == text.split(" · ")[0]  # the name whole
    assert shorten("鹈鹕骑车", 6) == "鹈鹕…"  # the third character would straddle the edge


@pytest.mark.parametrize("width", range(8, 45))
def test_a_label_keeps_what_tells_two_configurations_apart(width: int) -> None:
    """At 80 columns the leaderboard and gallery showed "SmolLM2-135M-Instruct.Q4_1 ·
    thin…" for both thinking on and off."""
    on = shorten_label("Qwen3.6-35B-A3B-Q4_K_M · thinking on", width)
    off = shorten_label("Qwen3.6-35B-A3B-Q8_0 · thinking off", width)
    assert len(on) <= width and len(off) <= width
    rest = len(" · thinking off")
    if width >= rest + 8:  # room for the thinking and a bit of the model's name
        assert on.endswith(" · thinking on") and off.endswith(" · thinking off")
        assert on.startswith("Qw") and ("…" in on) == (width < 36)
        # The quantization whole, before more of the name's start ("Qw…Q4_K_M").
        assert "Q4_K_M · thinking on" in on and "Q8_0 · thinking off" in off, (on, off)
    if width >= rest + 16:  # and for both ends of the name: the quantization shows
        assert on.endswith("-Q4_K_M · thinking on") and on.startswith("Qwen3.6"), on
        assert off.endswith("-Q8_0 · thinking off"), off


SERVED = (
    "unsloth/Qwen3-4B-GGUF:Q4_K_M (server) · thinking on",
    "unsloth/Qwen3-8B-GGUF:Q4_K_M (server) · thinking on",
    "unsloth/gemma-3-12b-it-GGUF:Q4_K_M (server) · thinking on",
    "llama3.1:8b-instruct-q4_K_M (server) · thinking on",
    "llama3.2:3b-instruct-q4_K_M (server) · thinking on",
    "averyveryverylongmodelnameA-Q4_K_M · thinking on",
    "averyveryverylongmodelnameB-Q4_K_M · thinking on",
    "averyveryverylongmodelnameB-Q4_K_M · thinking off",
)


@pytest.mark.parametrize("width", range(8, 60))
def test_labels_shown_together_are_cut_apart(width: int) -> None:
    """A gallery of two served models of one owner and one quantization, at 80
    columns: both cells read "unsl…Q4_K_M (server) · thinking on". Shown together,
    labels that differ are cut to differ, wherever the room holds their thinking."""
    cut = [shorten_label(label, width, SERVED) for label in SERVED]
    assert all(len(text) <= width for text in cut), cut
    alone = [shorten_label(label, width) for label in SERVED]
    for label, text, text_alone in zip(SERVED, cut, alone, strict=True):
        if alone.count(text_alone) == 1:  # told apart already: cut as it was
            assert text == text_alone, (label, text)
    if width >= len(" (server) · thinking on") + 9:
        assert len(set(cut)) == len(SERVED), cut


def test_a_label_cut_apart_keeps_where_it_differs() -> None:
    assert [shorten_label(label, 40, SERVED) for label in SERVED[:3]] == [
        "…3-4B-GGUF:Q4_K_M (server) · thinking on",
        "…3-8B-GGUF:Q4_K_M (server) · thinking on",
        "…gemma-3…F:Q4_K_M (server) · thinking on",
    ]
    assert shorten_label(SERVED[0], 40) == "unsloth/…F:Q4_K_M (server) · thinking on"
    # Among other labels of one model, a label is cut as it is alone.
    assert shorten_label(SERVED[7], 30, SERVED) == shorten_label(SERVED[7], 30)


@pytest.mark.parametrize("width", range(8, 70))
def test_a_label_with_a_place_keeps_its_thinking_whole(width: int) -> None:
    """Two LM Studio servers in one gallery, one of which ignored the switch: the card
    read "qwen3.6-35b-a3b (localhost:4781…", its "thinking off (thought)" cut away
    (the place made even the bare label too long, and it was cut at its end)."""
    label = "qwen3.6-35b-a3b (localhost:47811 server) · thinking off (thought)"
    cut = shorten_label(label, width)
    assert len(cut) <= width, cut
    if width >= len("… · thinking off (thought)"):
        assert cut.endswith(" · thinking off (thought)"), cut
    if width >= len("qwen3.…47811) · thinking off (thought)"):
        assert cut.startswith("qwen") and "47811" in cut, cut  # the place's end kept
    assert shorten_label("gpt-oss:20b (server) · thinking low", 20) == "gp…0b · thinking low"


def test_a_next_runs_warning_is_kept_whole_and_its_model_cut() -> None:
    """A pane 78 wide read "… thinking off (ignored by the serv…"."""
    line = "last run · next: local · qwen3.6-35b-a3b, thinking off (ignored by the server)"
    assert shorten_keeping_last(line, 76) == (
        "last run · next: local · qwen3.…5b-a3b, thinking off (ignored by the server)"
    )
    for width in range(len(", thinking off (ignored by the server)") + 4, len(line)):
        cut = shorten_keeping_last(line, width)
        assert cut.endswith(", thinking off (ignored by the server)") and len(cut) <= width, cut
    assert shorten_keeping_last(line, 20) == "last run · next: lo…"
    assert shorten_keeping_last("LM Studio · 35B · ctx 32768", 10) == "LM Studio · 35B · ctx 32768"


def test_samples_of_a_server_that_ignored_the_switch_are_listed_apart() -> None:
    """``sessions list`` at 80 columns: the two samples of a run on LM Studio (which
    ignored thinking off) both read "G… · thinking switch ignored", the note after
    "sample N/M" and listed with sessions that have the note or the sample alone."""
    prompt = "Generate an SVG of a pelican riding a bicycle"
    note = "thinking switch ignored"
    ignored = [f"{prompt} · thinking on vs off · sample {n}/2 · {note}" for n in (2, 1)]
    titles = [
        *[f"{prompt} · thinking on vs off · sample {n}/2" for n in (2, 1)],
        *ignored,
        f"{prompt} · thinking on vs off · thinking switch ignored",
        f"{prompt} · thinking on vs off",
        f"{prompt} · no thinking switch",
    ]
    for width in (28, 35):
        cut = [shorten_title(title, width, titles) for title in ignored]
        assert all(cell_len(text) <= width for text in cut), cut
        assert cut[0] != cut[1] and "sample 2/2" in cut[0] and "sample 1/2" in cut[1], cut


def test_a_label_that_fits_or_has_no_parts_is_shortened_at_its_end() -> None:
    assert shorten_label("claude-opus-4-7 · thinking high", 40) == "claude-opus-4-7 · thinking high"
    assert shorten_label("gpt-oss-20b (server)", 10) == "gpt-oss-2…"
    # Cut in the name, not in the kind of server after it ("fake-pel…(server)").
    assert shorten_label("fake-pelican (server) · thinking on", 34) == (
        "fake-…lican (server) · thinking on"
    )


def test_a_label_is_cut_in_its_name_as_any_model_name_is() -> None:
    """A label's model name had a middle cut of its own beside :func:`shorten_middle`:
    a served model named by its file lost its quantization ("Qwen3-8…_M.gguf (server) ·
    thinking on"), and a name in Chinese was cut by characters, 4 cells past its room."""
    served = "Qwen3-8B-Q4_K_M.gguf (server) · thinking on"
    assert shorten_label(served, 38) == "Qwe…Q4_K_M.gguf (server) · thinking on"
    wide = shorten_label("画一只骑自行车的鹈鹕-Q4_K_M · thinking on", 22)
    assert wide == "画一…K_M · thinking on"
    assert cell_len(wide) == 22


@pytest.mark.parametrize(
    ("label", "lines"),
    [
        ("claude-opus-4-7 · thinking high", ["claude-opus-4-7 · thinking high"]),
        (
            "Qwen3.6-35B-A3B-UD-Q4_K_XL · thinking off",
            ["Qwen3.6-35B-A3B-UD-Q4_K_XL", "· thinking off"],
        ),
        (
            "unsloth/Qwen3.6-35B-A3B-GGUF:Q4_K_M (server) · thinking on",
            ["unsloth/Qwen3.6-35B-A3B-GGUF:Q4_K_M", "(server) · thinking on"],
        ),
        (  # after the tag, not in the quantization ("…Q5_K_" / "M")
            "bartowski/Qwen3.6-35B-A3B-GGUF:Q5_K_M (server) · thinking on",
            ["bartowski/Qwen3.6-35B-A3B-GGUF:", "Q5_K_M (server) · thinking on"],
        ),
        (
            "unsloth/Qwen3-30B-A3B-Instruct-2507-GGUF:Q4_K_M (server) · thinking on",
            ["unsloth/Qwen3-30B-A3B-Instruct-2507-", "GGUF:Q4_K_M (server) · thinking on"],
        ),
    ],
)
def test_a_label_too_long_for_one_line_is_folded_on_two_whole(label: str, lines: list[str]) -> None:
    assert fold_label(label, 36) == lines


@pytest.mark.parametrize("width", range(12, 36))
def test_a_folded_label_keeps_its_thinking_however_narrow(width: int) -> None:
    lines = fold_label("unsloth/Qwen3.6-35B-A3B-GGUF:Q4_K_M (server) · thinking on", width)
    assert len(lines) == 2 and all(len(line) <= width for line in lines), lines
    assert lines[1].endswith("thinking on") and lines[0].startswith("unsloth/"), lines


@pytest.mark.parametrize(
    ("width", "lines"),
    [
        (40, ["ink 1.8% · 3 elements · 184 B · 4.2 s"]),
        (36, ["ink 1.8% · 3 elements · 184 B", "4.2 s"]),
        (20, ["ink 1.8%", "3 elements · 184 B", "4.2 s"]),
        (4, ["ink 1.8%", "3 elements", "184 B", "4.2 s"]),
    ],
)
def test_facts_are_broken_between_facts_only(width: int, lines: list[str]) -> None:
    assert fold_parts("ink 1.8% · 3 elements · 184 B · 4.2 s", width).splitlines() == lines


def test_what_a_server_or_model_wrote_cannot_act_on_the_terminal() -> None:
    text = "a\x1b[31mred\x07\r\tb\nc\x9b2J"
    assert printable(text) == "a[31mred\tb\nc2J", "escapes, bells, CR gone; tab, newline kept"
    assert one_line(text) == "a[31mred b c2J"
    # A right-to-left override turns the rest of a line around as a terminal (or a
    # browser) shows it: a prompt with one reordered `sessions list`'s columns.
    assert printable("pelican\u202egnp.exe \u2066x\u2069 | 3") == "pelicangnp.exe x | 3"
    assert printable("\u05e9\u05dc\u05d5\u05dd \u200f!") == "\u05e9\u05dc\u05d5\u05dd \u200f!", (
        "RTL text and its marks kept"
    )


def test_one_decode_rate_for_every_backend_that_gives_none() -> None:
    """Claude's was n/t and an OpenAI-compatible server's (n-1)/t; an answer that came
    in one read showed "344251.8 tok/s"."""
    from pelican_tui.backends.events import decode_rate

    assert decode_rate(11, 2.0) == 5.0, "the first token's time is the prompt's"
    assert decode_rate(1, 2.0) is None
    assert decode_rate(500, 0.001) is None, "all at once: nothing to measure"


def test_a_parameter_count_reads_the_same_in_every_header() -> None:
    """Four formatters: a spawned model's header, an attached server's, the settings
    screen and the plan's facts put 800K as "1M" in one and "800K" in another."""
    from pelican_tui.backends.llama.gguf_info import format_params
    from pelican_tui.backends.openai_compat.server_kinds import ModelFacts

    for count, words in ((34_660_000_000, "34.7B"), (4_200_000, "4.2M"), (800_000, "800K")):
        assert format_params(count) == words
        assert ModelFacts(total_params=count).bits() == [words]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("port 8080 is in use\n--- log ---\nbind failed", "port 8080 is in use"),
        ("\n  \n  the server stopped  \nmore", "the server stopped"),
        ("", ""),  # an error with no message: nothing, not an IndexError
        (" \n\t\n", ""),
    ],
)
def test_a_message_is_summed_up_by_its_first_line_that_says_something(text: str, line: str) -> None:
    assert first_line(text) == line


def test_a_recorded_runs_numbers_are_read_one_way() -> None:
    """Run's progress, its summary and the vote reveal each read them (one fell back to
    the API's count, another printed a rate of 0 as a number)."""
    from pelican_tui.backends.store.records import recorded_numbers

    timings = {"generated_tokens": 120, "generation_tokens_per_s": 38.25}
    assert recorded_numbers(timings, {"output_tokens": 99}) == (120, 38.25, None)
    assert recorded_numbers({"time_to_first_token_s": 0.41}, {"output_tokens": 99}) == (
        99,
        None,
        0.41,
    )
    assert recorded_numbers({"generated_tokens": True, "generation_tokens_per_s": "fast"}, {}) == (
        None,
        None,
        None,
    )


def test_a_path_under_the_home_folder_is_shown_from_tilde(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/ada")
    assert home_path(Path("/home/ada/.config/pelican-tui/config.toml")) == (
        "~/.config/pelican-tui/config.toml"
    )
    assert home_path(Path("/etc/pelican.toml")) == "/etc/pelican.toml"
    assert home_path(Path("/home/adam/config.toml")) == "/home/adam/config.toml"


def _summary(*runs: tuple[str, str]) -> SessionSummary:
    return SessionSummary(
        1,
        datetime.now(UTC),
        "a pelican",
        "a pelican",
        None,
        tuple(
            RunSummary(n, slot, "local", model, "finished", True)  # type: ignore[arg-type]
            for n, (slot, model) in enumerate(runs, 1)
        ),
    )


@pytest.mark.parametrize("width", [None, 80, 40, 24, 16, 12])
def test_the_lists_name_a_sessions_models_once_each(width: int | None) -> None:
    """The sessions browser said "SmolLM… vs SmolLM…" at 80 columns for a thinking
    comparison of one model; `sessions list` said the same model twice."""
    qwen = "Qwen3.6-35B-A3B-Instruct-UD-Q4_K_XL.gguf"
    both = _summary(("left", qwen), ("right", qwen)).models_line(width)
    assert both.count("Qw") == 1 and both.endswith(" (both)")
    assert width is None or cell_len(both) <= width
    if width is None or width >= 24:
        assert "Q4_K_XL (both)" in both  # the quantization kept, ".gguf" not
    two = _summary(("left", qwen), ("right", "gpt-oss:20b"), ("right", "gpt-oss:20b"))
    line = two.models_line(width)
    assert width is None or cell_len(line) <= width
    if width is None or width >= 40:
        assert line.endswith(" vs gpt-oss:20b x2"), line
    assert _summary().models_line(width) == "no runs"[: width or None]


def test_fold_words_breaks_a_path_between_folders_and_a_long_name_after_a_dot() -> None:
    """A toast's text: Textual broke a path where the line ended, inside a file's name."""
    notice = (
        "The session store was damaged: moved it to /home/ann/.local/share/pelican-tui/"
        "sessions.sqlite3.corrupt-20261205-142902 and started a fresh one."
    )
    assert fold_words(notice, 34).split("\n") == [
        "The session store was damaged:",
        "moved it to /home/ann/.local/",
        "share/pelican-tui/",
        "sessions.sqlite3.",
        "corrupt-20261205-142902 and",
        "started a fresh one.",
    ]
    assert fold_words(notice, 200) == notice, "what fits is left as it is"
