"""Prompt sets: the pelican prompt, plus the user's own named prompts in a TOML file.

The file is ``prompts.toml`` in the config folder
(:func:`~pelican_tui.backends.locations.prompt_sets_file`; ``pelican-tui
doctor`` prints the config folder). Each set is a table under ``sets`` with
an optional ``private`` flag and a non-empty list of prompts, each with a
``name`` and a ``text``::

    [sets.animals]
    private = false            # optional, false by default
    prompts = [
      { name = "pelican", text = "Generate an SVG of a pelican riding a bicycle" },
      { name = "heron", text = "Generate an SVG of a heron riding a unicycle" },
    ]

    [sets.secret]
    private = true             # never written to exports or HTML pages
    prompts = [{ name = "s1", text = "..." }]

The long form ``[[sets.animals.prompts]]`` with ``name = ...`` and ``text =
...`` lines is the same TOML, and works too. Set and prompt names are one line
of at most :data:`MAX_NAME` characters; prompt names are unique within their
set. Unknown keys are errors (a typo such as ``privte = true`` must not make
a secret set public).

The built-in set :data:`BUILTIN_SET` ("pelican": the one default prompt) is
always there and cannot be redefined. A set marked ``private`` keeps its
prompts on this machine: exports and HTML pages show a placeholder instead of
its text (:func:`private_placeholder`), and no answer or thinking text.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pelican_tui.backends import locations
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.protocol import DEFAULT_PROMPT

__all__ = [
    "BUILTIN_SET",
    "MAX_NAME",
    "NamedPrompt",
    "PromptSet",
    "PromptSetsError",
    "load_prompt_sets",
    "named_prompts",
    "names_prompt",
    "parse_prompt_sets",
    "private_placeholder",
]

BUILTIN_SET = "pelican"
"""The name of the set that is always there: the default prompt alone."""
MAX_NAME = 64
"""The longest set or prompt name, in characters."""

_SET_KEYS = frozenset({"private", "prompts"})
_PROMPT_KEYS = frozenset({"name", "text"})
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

_Fail = Callable[[str, str], "PromptSetsError"]
"""Makes the error for (where in the file, what is wrong)."""


class PromptSetsError(Exception):
    """The prompt sets file cannot be used; the message names the file and the entry."""


@frozen
class NamedPrompt:
    """One prompt of a set."""

    name: str
    """Unique within its set: what titles, progress and a private set's exports
    show instead of the text."""
    text: str
    """What is sent to the models."""


@frozen
class PromptSet:
    """A named list of prompts, run together with ``pelican-tui run --set NAME``."""

    name: str
    private: bool
    """True: the prompts never leave the machine in an export (see the module doc)."""
    prompts: tuple[NamedPrompt, ...]

    def title_of(self, prompt: NamedPrompt) -> str:
        """How titles and screens name one of its prompts: "SET/PROMPT", never its text."""
        return f"{self.name}/{prompt.name}"


def names_prompt(given: str, set_name: str, prompt_name: str) -> bool:
    """Whether ``given`` names the prompt ``prompt_name`` of the set ``set_name``, as a
    person names a prompt set's prompt: ``SET/NAME`` (as titles and the TUI name it),
    or its NAME alone. The one rule for every command that takes a prompt's name."""
    return given in (f"{set_name}/{prompt_name}", prompt_name)


def named_prompts(sets: Mapping[str, PromptSet], given: str) -> list[tuple[PromptSet, NamedPrompt]]:
    """Each prompt of ``sets`` that ``given`` names (:func:`names_prompt`), with its set."""
    return [
        (each, prompt)
        for each in sets.values()
        for prompt in each.prompts
        if names_prompt(given, each.name, prompt.name)
    ]


def private_placeholder(set_name: str | None) -> str:
    """What exports show instead of a private set's prompt text."""
    return f"private prompt from set {set_name}" if set_name else "private prompt"


def _builtin() -> PromptSet:
    return PromptSet(BUILTIN_SET, False, (NamedPrompt(BUILTIN_SET, DEFAULT_PROMPT),))


def load_prompt_sets(path: Path | None = None) -> dict[str, PromptSet]:
    """Every prompt set by name: the built-in "pelican" first, then the file's in its order.

    ``path`` defaults to :func:`~pelican_tui.backends.locations.prompt_sets_file`;
    a missing file means no sets of the user's. Raises :class:`PromptSetsError`
    for a file that cannot be read, is not TOML, or holds a broken entry.
    """
    path = path or locations.prompt_sets_file()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {BUILTIN_SET: _builtin()}
    except OSError as error:
        raise PromptSetsError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as error:
        raise PromptSetsError(f"{path} is not UTF-8 text: {error.reason}") from None
    except tomllib.TOMLDecodeError as error:
        raise PromptSetsError(f"{path} is not valid TOML: {error}") from None
    return parse_prompt_sets(data, path)


def parse_prompt_sets(data: Mapping[str, Any], path: Path) -> dict[str, PromptSet]:
    """The sets in parsed TOML ``data`` (from ``path``, named in errors), built-in first."""

    def fail(where: str, problem: str) -> PromptSetsError:
        return PromptSetsError(f"{path}: {where}: {problem}")

    for key in data:
        if key != "sets":
            raise fail(key, 'unknown key (prompt sets go under "sets", e.g. [sets.animals])')
    tables = data.get("sets", {})
    if not isinstance(tables, dict):
        raise fail("sets", "must be a table of sets, e.g. [sets.animals]")
    sets = {BUILTIN_SET: _builtin()}
    for name, table in tables.items():
        where = f"sets.{_key(name)}"
        _check_name(name, where, fail, "set")
        if name == BUILTIN_SET:
            raise fail(where, f'"{BUILTIN_SET}" is the built-in set; give yours another name')
        if not isinstance(table, dict):
            raise fail(where, "must be a table with prompts = [...]")
        for key in table:
            if key not in _SET_KEYS:
                raise fail(f"{where}.{key}", "unknown key (a set has private and prompts)")
        private = table.get("private", False)
        if not isinstance(private, bool):
            raise fail(f"{where}.private", f"must be true or false, not {private!r}")
        sets[name] = PromptSet(name, private, _prompts(table.get("prompts"), where, fail))
    return sets


def _prompts(items: Any, where: str, fail: _Fail) -> tuple[NamedPrompt, ...]:
    if items is None:
        raise fail(where, 'has no prompts (add prompts = [{ name = "...", text = "..." }])')
    if not isinstance(items, list) or not items:
        raise fail(f"{where}.prompts", 'must be a non-empty list of { name = "...", text = "..." }')
    prompts: list[NamedPrompt] = []
    for index, item in enumerate(items, start=1):
        at = f"{where}.prompts[{index}]"
        if not isinstance(item, dict):
            raise fail(at, 'must be a table { name = "...", text = "..." }')
        for key in item:
            if key not in _PROMPT_KEYS:
                raise fail(f"{at}.{key}", "unknown key (a prompt has name and text)")
        name, text = item.get("name"), item.get("text")
        if name is None:
            raise fail(at, "has no name")
        _check_name(name, f"{at}.name", fail, "prompt")
        at = f"{where}.prompts[{index}] ({name})"
        if not isinstance(text, str) or not text.strip():
            raise fail(at, "has no text" if text is None else "text must be non-empty text")
        if any(prompt.name == name for prompt in prompts):
            raise fail(at, f'a prompt named "{name}" comes earlier in the set')
        prompts.append(NamedPrompt(name, text.strip()))
    return tuple(prompts)


def _key(name: str) -> str:
    """``name`` as a TOML key: bare when it can be, else quoted (and escaped, so one line)."""
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _check_name(name: Any, where: str, fail: _Fail, what: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise fail(where, f"a {what} name must be non-empty text")
    if name != name.strip() or not name.isprintable():
        raise fail(where, f"a {what} name is one line with no spaces at its ends")
    if len(name) > MAX_NAME:
        raise fail(where, f"a {what} name has at most {MAX_NAME} characters")
