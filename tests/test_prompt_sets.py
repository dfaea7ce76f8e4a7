"""Prompt sets (backends/prompt_sets.py): the file format, its errors, and the built-in set."""

from __future__ import annotations

from pathlib import Path

import pytest

from pelican_tui.backends import locations
from pelican_tui.backends.prompt_sets import (
    BUILTIN_SET,
    MAX_NAME,
    NamedPrompt,
    PromptSet,
    PromptSetsError,
    load_prompt_sets,
    private_placeholder,
)
from pelican_tui.backends.protocol import DEFAULT_PROMPT

PELICAN = PromptSet(BUILTIN_SET, False, (NamedPrompt("pelican", DEFAULT_PROMPT),))


def write_sets(text: str) -> Path:
    path = locations.prompt_sets_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_file_lives_in_the_config_folder(_isolated_home: Path) -> None:
    assert locations.prompt_sets_file() == _isolated_home / "config" / "prompts.toml"


def test_without_a_file_there_is_the_pelican_set_alone() -> None:
    assert load_prompt_sets() == {BUILTIN_SET: PELICAN}


def test_sets_are_read_in_order_after_the_built_in_one() -> None:
    write_sets(
        """
[sets.animals]
private = false
prompts = [
  { name = "pelican", text = "Generate an SVG of a pelican riding a bicycle" },
  { name = "heron", text = "  Generate an SVG of a heron on a unicycle\\n" },
]

[sets.secret]
private = true

[[sets.secret.prompts]]
name = "s1"
text = "Draw the thing nobody may see"
"""
    )
    sets = load_prompt_sets()
    assert list(sets) == [BUILTIN_SET, "animals", "secret"]
    assert sets["animals"] == PromptSet(
        "animals",
        False,
        (
            NamedPrompt("pelican", DEFAULT_PROMPT),
            NamedPrompt("heron", "Generate an SVG of a heron on a unicycle"),
        ),
    )
    assert sets["secret"].private is True
    assert sets["secret"].prompts == (NamedPrompt("s1", "Draw the thing nobody may see"),)


def test_private_defaults_to_false() -> None:
    write_sets('[sets.a]\nprompts = [{ name = "x", text = "y" }]\n')
    assert load_prompt_sets()["a"].private is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sets.a\n", "is not valid TOML"),
        ("[set.a]\nprompts = []\n", 'set: unknown key (prompt sets go under "sets"'),
        ("sets = 3\n", "sets: must be a table of sets"),
        ("[sets.a]\nprivate = false\n", "sets.a: has no prompts"),
        ("[sets.a]\nprompts = []\n", "sets.a.prompts: must be a non-empty list"),
        ('[sets.a]\nprompts = "x"\n', "sets.a.prompts: must be a non-empty list"),
        ('[sets.a]\nprivte = true\nprompts = [{ name = "x", text = "y" }]\n',
         "sets.a.privte: unknown key"),
        ('[sets.a]\nprivate = "yes"\nprompts = [{ name = "x", text = "y" }]\n',
         "sets.a.private: must be true or false, not 'yes'"),
        ('[sets.a]\nprompts = [{ name = "x", text = "y" }, "z"]\n',
         "sets.a.prompts[2]: must be a table"),
        ('[sets.a]\nprompts = [{ text = "y" }]\n', "sets.a.prompts[1]: has no name"),
        ('[sets.a]\nprompts = [{ name = "x" }]\n', "sets.a.prompts[1] (x): has no text"),
        ('[sets.a]\nprompts = [{ name = "x", text = "  " }]\n',
         "sets.a.prompts[1] (x): text must be non-empty text"),
        ('[sets.a]\nprompts = [{ name = "x", text = "y", title = "t" }]\n',
         "sets.a.prompts[1].title: unknown key"),
        ('[sets.a]\nprompts = [{ name = "x", text = "y" }, { name = "x", text = "z" }]\n',
         'sets.a.prompts[2] (x): a prompt named "x" comes earlier in the set'),
        ('[sets.a]\nprompts = [{ name = 7, text = "y" }]\n',
         "sets.a.prompts[1].name: a prompt name must be non-empty text"),
        ('[sets.pelican]\nprompts = [{ name = "x", text = "y" }]\n',
         'sets.pelican: "pelican" is the built-in set'),
        ('[sets." a"]\nprompts = [{ name = "x", text = "y" }]\n',
         "a set name is one line with no spaces at its ends"),
        ('[sets."a\\nb"]\nprompts = [{ name = "x", text = "y" }]\n',
         'sets."a\\nb": a set name is one line'),
        (f'[sets.{"n" * (MAX_NAME + 1)}]\nprompts = [{{ name = "x", text = "y" }}]\n',
         f"at most {MAX_NAME} characters"),
        ("sets.a = 1\n", "sets.a: must be a table with prompts"),
    ],
)  # fmt: skip
def test_a_broken_file_names_the_file_and_the_entry(text: str, message: str) -> None:
    path = write_sets(text)
    with pytest.raises(PromptSetsError) as raised:
        load_prompt_sets()
    assert str(raised.value).startswith(f"{path}")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_file_that_is_not_utf8_or_unreadable_says_so(tmp_path: Path) -> None:
    path = write_sets("")
    path.write_bytes(b"\xff\xfe[sets]")
    with pytest.raises(PromptSetsError, match=r"is not UTF-8 text"):
        load_prompt_sets()
    folder = tmp_path / "a-folder.toml"
    folder.mkdir()
    with pytest.raises(PromptSetsError, match=rf"^cannot read {folder}: "):
        load_prompt_sets(folder)


def test_the_placeholder_names_the_set() -> None:
    assert private_placeholder("secret") == "private prompt from set secret"
    assert private_placeholder(None) == "private prompt"
