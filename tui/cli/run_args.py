"""``pelican-tui run``'s command line: its parser and help, and the checks made on
its arguments before anything runs (``--out`` is made and proven writable)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pelican_tui.backends.settings import MAX_SAMPLES
from pelican_tui.cli.args import Parser, command_parser, given, out_folder, whole_number
from pelican_tui.cli.model_flags import add_model_flags

if TYPE_CHECKING:
    from pelican_tui.backends.prompt_sets import PromptSet

PROG = "pelican-tui run"
DESCRIPTION = (
    "Run the comparison without the TUI: the local model (and Claude, when\n"
    "ANTHROPIC_API_KEY is set) on one prompt, saved to the session store and\n"
    "exported to a folder."
)

EPILOG = """\
prompts: --prompt TEXT, or --set NAME for every prompt of a prompt set from
prompts.toml in the config folder (the built-in set "pelican" is the default
prompt), --set SET/PROMPT for one of them; each prompt gets every sample and
thinking mode. A private set's
prompts, answers and SVGs are kept out of the exports and summary.json.

sessions: without --thinking, one session per sample of what the TUI's panes
start with (left = local as local.thinking says; right = Claude as
claude.thinking says, or without Claude (--no-claude or no key) the local model
thinking the other way round). With --thinking and Claude, one session per
sample and mode (left = local, right = Claude, run concurrently); without
Claude, --thinking both is one session per sample (left = on, right = off) and
on or off is the left pane alone. Runs on one llama-server take turns, so their
tokens/s stay honest.

output: DIR/session-<id>/ per session (SVG, PNG, run-card.md, index.html,
session.json) and DIR/summary.json; progress on stderr, a summary on stdout.
DIR is created (and checked writable) before anything runs. The summary's
PICTURE column: drawn; not drawn (an SVG was found but could not be drawn: the
run card says why); truncated (an SVG began but was cut off inside its first
tag); no SVG (none in the answer); — (the run failed or was cancelled before
its answer could be read). With --force, DIR may hold an earlier batch's files:
they stay (a session-<id> already there is not replaced: the new one goes to
session-<id>-2), and its summary.json is kept, renamed summary-<its start,
UTC>.json, beside this batch's.

exit status:
  0    every run finished
  1    some run failed, or a session could not be exported (others are kept);
       or an internal error (a bug), its traceback in errors.log in the data
       folder (pelican-tui doctor shows where)
  2    bad usage or settings, --out unusable, or the session store unusable
  3    the local model could not start (llama-server, model file, --url)
  130  interrupted by Ctrl-C (143: SIGTERM, 129: SIGHUP): finished sessions are
       kept and exported, runs in flight saved as cancelled, llama-server
       stopped
"""


def build_parser() -> Parser:
    parser = command_parser(PROG, description=DESCRIPTION, epilog=EPILOG)
    prompts = parser.add_mutually_exclusive_group()
    prompts.add_argument(
        "--prompt",
        type=given,  # "" (an unset shell variable) said "invalid settings" and a paragraph
        metavar="TEXT",
        help="the prompt (default: the prompt in the settings)",
    )
    prompts.add_argument(
        "--set",
        dest="prompt_set",
        metavar="NAME",
        help="run every prompt of the prompt set NAME (from prompts.toml; built in: "
        "pelican), or SET/PROMPT: that one prompt of the set",
    )
    parser.add_argument(
        "--out",
        type=out_folder,
        required=True,
        metavar="DIR",
        help="folder for exports and summary.json",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into DIR even if it is not empty (an earlier summary.json is kept, "
        "renamed summary-<its start>.json)",
    )
    parser.add_argument(
        "--thinking",
        choices=("on", "off", "both"),
        help="thinking mode(s) to run (default: as the TUI's panes start, see below)",
    )
    parser.add_argument(
        "--samples",
        type=whole_number(1, MAX_SAMPLES),
        metavar="N",
        help="runs per thinking mode (default: the ui.samples setting, 1)",
    )
    add_model_flags(parser)
    return parser


def chosen_prompt_set(name: str) -> PromptSet | str:
    """The prompt set ``--set NAME`` names, or with ``--set SET/PROMPT`` that set with
    only that prompt (as leaderboard's ``--prompt`` takes ``animals/heron``); or one line
    saying why it can't be used (the file is broken, or no set has that name: the known
    ones are listed)."""
    from pelican_tui.backends import locations
    from pelican_tui.backends.prompt_sets import (
        PromptSet,
        PromptSetsError,
        load_prompt_sets,
        named_prompts,
    )

    try:
        sets = load_prompt_sets()
    except PromptSetsError as error:
        return f"--set {name}: {error}"
    if name in sets:
        return sets[name]
    for named_set, prompt in named_prompts(sets, name):
        if named_set.title_of(prompt) == name:  # SET/PROMPT; a NAME alone names a set
            return PromptSet(named_set.name, named_set.private, (prompt,))
    where = locations.prompt_sets_file()
    source = f"built in, and from {where}" if where.is_file() else f"built in; no {where}"
    return f"--set {name}: no prompt set of that name; known sets: {', '.join(sets)} ({source})"


def prompt_name_note(prompt: str | None) -> str | None:
    """What to say when ``--prompt TEXT`` is exactly a prompt set's prompt's name
    ("cat", "tiny/cat"): it runs the text as it is, and ``--set SET/PROMPT`` runs the
    set's prompt (leaderboard's and judge's ``--prompt`` read a name as the set's
    prompt). None: it names none, or the prompt sets cannot be read (a run of a text
    does not need them)."""
    from pelican_tui.backends.prompt_sets import PromptSetsError, load_prompt_sets, named_prompts
    from pelican_tui.cli.store_access import quoted_prompt

    if prompt is None:
        return None
    try:
        named = named_prompts(load_prompt_sets(), prompt)
    except PromptSetsError:
        return None
    if not named:
        return None
    flags = " or ".join(f"--set {each.title_of(p)}" for each, p in named)
    return (
        f"note: this runs the text {quoted_prompt(prompt)}; to run the prompt set's prompt "
        f"of that name use {flags}"
    )


def thinking_modes(choice: str | None) -> list[bool] | None:
    """``--thinking`` as the modes to run, in order; None when it is not given (the
    engine's default choices run, as in the TUI)."""
    if choice is None:
        return None
    return [True, False] if choice == "both" else [choice == "on"]


class OutDir:
    """``--out``, claimed before anything runs.

    :meth:`claim` creates the folder (and missing parents) and writes and
    deletes a probe file in it, so a path under a file, a read-only place or a
    full disk is found before a model is loaded. :meth:`release` removes again
    the folders it created if nothing was written into them (a run that
    stopped early leaves no empty folder behind).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._created: list[Path] = []

    def claim(self, force: bool) -> str | None:
        """None when DIR can be written; else one line saying why not."""
        out = self.path
        if out.exists() and not out.is_dir():
            return f"--out {out} is a file, not a folder"
        try:
            if out.is_dir() and not force and any(out.iterdir()):
                return f"--out {out} is not empty; choose a new folder or add --force"
        except OSError as error:
            return f"--out {out} cannot be read: {error.strerror or error}"
        missing = [folder for folder in (out, *out.parents) if not folder.exists()]
        try:
            for folder in reversed(missing):
                folder.mkdir()
                self._created.insert(0, folder)
        except OSError as error:  # the folders made before it are not left behind
            self.release()
            return f"--out {out} cannot be created: {_why(error, out)}"
        try:
            with tempfile.NamedTemporaryFile(dir=out, prefix=".pelican-tui-probe-") as probe:
                probe.write(b"probe")
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as error:
            self.release()
            return f"--out {out} is not writable: {error.strerror or error}"
        return None

    def release(self) -> None:
        """Remove the folders :meth:`claim` created, deepest first, while they are empty."""
        for folder in self._created:
            try:
                folder.rmdir()
            except OSError:  # something was written there: keep it, and its parents
                break
        self._created.clear()


def _why(error: OSError, out: Path) -> str:
    if error.errno == errno.ENOTDIR:
        for folder in out.parents:
            with contextlib.suppress(OSError):
                if folder.exists() and not folder.is_dir():
                    return f"{folder} is a file"
    return error.strerror or str(error)


__all__ = [
    "EPILOG",
    "PROG",
    "OutDir",
    "build_parser",
    "chosen_prompt_set",
    "prompt_name_note",
    "thinking_modes",
]
