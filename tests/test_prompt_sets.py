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
from pelican_tui.backends.store.records import Session

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


# --------------------------------------------------------------- private sets in exports

SECRET = "Draw a narwhal juggling seven teacups"
"""A private prompt; its distinctive words must reach no exported file."""
SECRET_WORDS = ("narwhal", "teacups", "juggling")


def all_text_in(folder: Path) -> str:
    """Every file of an export, as text, with every base64 data URI decoded too."""
    import base64
    import re

    texts = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            texts.append(data.decode("utf-8", errors="replace"))
            for blob in re.findall(rb"data:[\w/+.-]+;base64,([A-Za-z0-9+/=]+)", data):
                texts.append(base64.b64decode(blob).decode("utf-8", errors="replace"))
    return "\n".join(texts).lower()


def make_set_session(private: bool) -> int:
    """A session of the set "secret": both answers quote the prompt, in prose, thinking
    and the SVG; the left has a stored PNG, the right is drawn at export."""
    from _session_support import HOST, LOCAL_FILE, LOCAL_INFO, LOCAL_SETTINGS, PELICAN_SVG

    from pelican_tui.backends.store.sessions import SessionStore

    svg = PELICAN_SVG.replace("<circle", f"<title>{SECRET}</title><circle", 1)
    with SessionStore.open() as store:
        session = store.create_session(SECRET, prompt_set="secret", private=private)
        for slot in ("left", "right"):
            run = store.start_run(
                session.id, slot, "local", LOCAL_FILE, LOCAL_INFO, LOCAL_SETTINGS, HOST
            )
            store.finish_run(
                run,
                thinking_text=f"The user wants: {SECRET}.",
                answer=f"{SECRET}? Here it is:\n```svg\n{svg}\n```",
                svg=svg,
                png=_png() if slot == "left" else None,
                timings={"total_s": 3.0, "generated_tokens": 99},
                picture_facts={"renders": True, "elements": 5, "svg_bytes": len(svg)},
            )
        store.set_verdict(session.id, "left", note=f"the {SECRET.split()[2]} looked right")
        return session.id


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG")
    return out.getvalue()


def stored(session_id: int) -> Session:
    from pelican_tui.backends.store.sessions import SessionStore

    with SessionStore.open() as store:
        return store.get_session(session_id)


def test_a_private_sessions_export_holds_pictures_and_numbers_only(tmp_path: Path) -> None:
    from pelican_tui.backends.export import export_session, load_export, sandboxed_renderer

    session = stored(make_set_session(private=True))
    out = tmp_path / "export"
    with sandboxed_renderer() as renderer:
        result = export_session(session, out, renderer)
    names = sorted(path.name for path in out.iterdir())
    assert names == ["index.html", "left.png", "right.png", "run-card.md", "session.json"]
    assert {path.name for path in result.files} == set(names)
    text = all_text_in(out)
    for word in SECRET_WORDS:
        assert word not in text, f"{word!r} leaked into the export"
    assert "private prompt from set secret" in text

    card = (out / "run-card.md").read_text()
    assert "- **Prompt set:** secret (private" in card
    assert "pelican-tui run --set secret" in card and "--prompt" not in card
    assert card.count("Left out: the prompt set is private") == 2
    assert "| SVG file | left out: the prompt set is private |" in card
    assert "| Picture facts | render ok · 5 elements ·" in card
    assert "| Generated tokens | 99 |" in card
    page = (out / "index.html").read_text()
    assert page.count('<img alt="') == 2 and "image/svg+xml" not in page
    assert "prompt set secret (private" in page
    back = load_export(out)
    assert back.private is True and back.prompt_set == "secret"
    assert back.prompt == "private prompt from set secret" and back.verdict == "left"
    assert [(run.answer, run.thinking_text, run.svg) for run in back.runs] == [("", "", None)] * 2
    assert [run.timings for run in back.runs] == [run.timings for run in session.runs]


def test_each_part_of_an_export_leaves_a_private_sets_texts_out_on_its_own() -> None:
    from pelican_tui.backends.export import render_run_card
    from pelican_tui.backends.export.html_page import render_html
    from pelican_tui.backends.export.session_json import session_json_bytes

    session = stored(make_set_session(private=True))
    for text in (
        render_run_card(session, {}),
        render_html(session, {}, {}),
        session_json_bytes(session, {}).decode(),
    ):
        assert not any(word in text.lower() for word in SECRET_WORDS)


def test_a_public_sets_export_keeps_its_texts_and_names_the_set(tmp_path: Path) -> None:
    from pelican_tui.backends.export import export_session, load_export

    session = stored(make_set_session(private=False))
    out = tmp_path / "export"
    export_session(session, out)
    assert (out / "left.svg").is_file() and (out / "right.svg").is_file()
    assert "narwhal" in (out / "run-card.md").read_text()
    assert "- **Prompt set:** secret\n" in (out / "run-card.md").read_text()
    assert load_export(out) == session  # the round trip keeps prompt_set and private
