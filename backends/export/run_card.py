"""``run-card.md``: what ran, how, how fast, on what, what came out, and how to run it again."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pelican_tui.backends.export.facts import (
    SERVER_ARG_KEYS,
    backend_words,
    host_rows,
    no_picture_reason,
    picture_facts_text,
    run_tables,
    thinking_switch_warning,
    verdict_text,
)
from pelican_tui.backends.export.files import RunFiles, run_basenames
from pelican_tui.backends.export.private import withhold_private
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.protocol import GenerationRequest
from pelican_tui.backends.settings import ClaudeSettings, LocalSettings
from pelican_tui.backends.store.records import Run, Session, scrub_session
from pelican_tui.backends.text import on_off

_Inline = Callable[[str], str]
"""How the card writes a text inside a line or table cell: :func:`_md` or :func:`_plain`."""


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell (and free of raw HTML): the file's form."""
    text = _plain(text)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str) -> str:
    """Text as written, on one line (a table row stays one row): the terminal's form,
    which no Markdown viewer or browser reads, so ``</svg>`` is not ``&lt;/svg&gt;``."""
    return " ".join(text.split())


def _md_table(rows: Iterable[tuple[str, str]], inline: _Inline) -> list[str]:
    rows = list(rows)
    if not rows:
        return ["(none recorded)", ""]
    lines = ["| Key | Value |", "|---|---|"]
    lines += [f"| {inline(key)} | {inline(value)} |" for key, value in rows]
    return [*lines, ""]


def _fence(text: str, info: str = "text") -> list[str]:
    """A fenced block longer than any backtick run inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{info}", text, ticks, ""]


def _utc(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _server_command(run: Run) -> str | None:
    args = next((run.model_info[k] for k in SERVER_ARG_KEYS if k in run.model_info), None)
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        return None
    if not args or not Path(args[0]).name.startswith("llama-server"):
        args = ["llama-server", *args]
    return shlex.join(args)


def model_path(info: Mapping[str, Any]) -> str | None:
    """The local model's full path as recorded: ``path``, else llama-server's ``-m``."""
    path = info.get("path")
    if isinstance(path, str) and path:
        return path
    for key in SERVER_ARG_KEYS:
        args = info.get(key)
        if isinstance(args, list) and "-m" in args[:-1]:
            value = args[args.index("-m") + 1]
            if isinstance(value, str) and value:
                return value
    return None


def context_size(info: Mapping[str, Any]) -> int | None:
    """The context size a local run's llama-server had: ``context``, else its ``-c``."""
    value = info.get("context")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    for key in SERVER_ARG_KEYS:
        args = info.get(key)
        if not isinstance(args, list):
            continue
        for index, arg in enumerate(args):
            flag, eq, inline = str(arg).partition("=")
            if flag not in ("-c", "--ctx-size"):
                continue
            text = inline if eq else (str(args[index + 1]) if index + 1 < len(args) else "")
            if text.isdigit() and int(text) > 0:
                return int(text)
    return None


@frozen
class _Rerun:
    command: str
    has_path: bool
    """Whether the local model is named by its path (or -hf reference, or URL)."""
    notes: tuple[str, ...] = ()
    """How to get from the command what it cannot say in flags (a variable to set)."""
    left_out: tuple[str, ...] = ()
    """What the command cannot repeat at all: then it is a similar run, not the same."""
    fill_in: tuple[str, ...] = ()
    """What to put in for a placeholder besides DIR ("USER:PASSWORD …")."""


def _thinking_of(run: Run) -> bool | None:
    value = run.settings.get("thinking")
    return value if isinstance(value, bool) else None


def _source(run: Run) -> tuple[str, str]:
    """Where a run that is not Claude's got its model: a server's URL, an -hf
    reference, or a model file; two runs with different ones cannot both be repeated."""
    info = run.model_info
    if run.backend == "openai" and info.get("url"):
        return "url", str(info["url"])
    if info.get("hf"):
        return "hf", str(info["hf"])
    return "model", model_path(info) or str(info.get("file") or run.model_id)


def _elsewhere(run: Run) -> str:
    """A run `run` cannot repeat beside the one it keeps, in words: its pane, model, where."""
    kind, where = _source(run)
    place = f"on the {backend_words(run)} at {where}" if kind == "url" else "(another model)"
    return (
        f"The {run.slot} pane's run, {run.model_id} {place}: `pelican-tui run` runs one "
        "local model or server (and Claude), so this pane is not repeated."
    )


def _level_left_out(run: Run) -> str | None:
    """A server's thinking level chosen for ``run`` (``e``: "low") that ``run`` cannot send:
    it has no flag for one, and ``--thinking on`` asks the default."""
    level, default = run.settings.get("effort"), GenerationRequest().effort
    if _thinking_of(run) is not True or not isinstance(level, str) or level == default:
        return None
    return (
        f"The {run.slot} pane's thinking level, {level}: `pelican-tui run` has no flag for "
        f"a level, and `--thinking on` asks the default, {default}."
    )


def _with_login_placeholder(url: str) -> str:
    """``url`` with ``USER:PASSWORD@`` where its user and password were (never stored)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}USER:PASSWORD@{rest}" if sep else f"USER:PASSWORD@{url}"


def _headless_command(session: Session) -> _Rerun:
    """``pelican-tui run ...`` for this session, with what it can't reproduce."""
    parts = ["pelican-tui", "run", "--prompt", session.prompt]
    variables: list[str] = []  # NAME=value before the command: kept off its command line
    complete = True
    notes: list[str] = []
    left_out: list[str] = []
    fill_in: list[str] = []
    if session.private and session.prompt_set:  # the prompt itself stays on this machine
        parts[2:] = ["--set", session.prompt_set]
        notes.append(
            f"The prompt set {session.prompt_set} is private, so its prompt is not in this "
            "export; `--set` runs every prompt of the set, from your prompts.toml."
        )
    others = [run for run in session.runs if run.backend != "claude"]
    local = others[0] if others else None
    kept = [run for run in others if local is not None and _source(run) == _source(local)]
    left_out += [_elsewhere(run) for run in others if run not in kept]
    if local is not None:
        info = local.model_info
        if local.backend == "openai" and info.get("url"):
            url = str(info["url"])
            login = str(info.get("login") or "")
            if "user and password" in login:
                # Not --url: a flag's value is in the process list and the shell's history.
                url = _with_login_placeholder(url)
                fill_in.append("USER:PASSWORD with the server's user and password")
                variables.append(f"PELICAN_LOCAL__URL={shlex.quote(url)}")
            else:
                parts += ["--url", url]
            if "API key" in login:
                variable = LocalSettings().url_api_key_env
                notes.append(
                    f"The server took an API key ({login}): set {variable} to it, where "
                    "`pelican-tui run` reads the key of `--url`'s server (unless "
                    "local.url_api_key_env names another variable)."
                )
        else:
            if info.get("hf"):
                parts += ["--hf", str(info["hf"])]
            else:
                path = model_path(info)
                complete = path is not None
                parts += ["--model", path or str(info.get("file") or local.model_id)]
            ctx = context_size(info)
            if ctx is not None:
                parts += ["--ctx", str(ctx)]
        limit = local.settings.get("max_tokens")
        if isinstance(limit, int) and limit != LocalSettings().max_tokens:
            notes.append(  # `run` has no flag for it: the setting's variable does it
                f"Its answers were limited to {limit} tokens: run it with "
                f"`PELICAN_LOCAL__MAX_TOKENS={limit}` for the same limit."
            )
        left_out += [said for run in kept if (said := _level_left_out(run))]
    claude = next((run for run in session.runs if run.backend == "claude"), None)
    if claude is not None:
        parts += ["--claude-model", claude.model_id]
        effort = claude.settings.get("effort")
        if isinstance(effort, str) and effort != ClaudeSettings().effort:
            notes.append(  # `run` has no flag for it: the setting's variable does it
                f"Claude thought at effort {effort}: run it with "
                f"`PELICAN_CLAUDE__EFFORT={effort}` for the same effort."
            )
    else:
        parts.append("--no-claude")
    runs = [*kept, *([claude] if claude is not None else [])]
    modes = {mode for run in runs if (mode := _thinking_of(run)) is not None}
    chosen = _thinking_of(local) if local is not None else None
    if claude is not None and len(modes) == 2 and chosen is not None:
        # With Claude, `run` gives both sides one mode per session: keep the local one.
        modes = {chosen}
        left_out.append(
            f"Here the local model thought {on_off(chosen)} and Claude "
            f"{on_off(not chosen)}; `pelican-tui run` gives both sides the same "
            "mode, so Claude's side will differ."
        )
    if modes:
        parts += ["--thinking", "both" if len(modes) == 2 else ("on" if True in modes else "off")]
    parts += ["--out", "DIR"]
    command = " ".join([*variables, shlex.join(parts)])
    return _Rerun(command, complete, tuple(notes), tuple(left_out), tuple(fill_in))


def _picture_rows(run: Run, files: RunFiles | None) -> list[tuple[str, str]]:
    """Which picture files the run has, and in words why one is missing; with no
    ``files`` (the card shown, not exported: ``sessions show``), what the store holds."""
    facts = picture_facts_text(run.picture_facts)
    shown = [("Picture facts", facts)] if facts else []
    if files is None:  # it said "none: found 1 SVG" of a run with a stored picture
        picture = "stored with the run" if run.png else f"none: {no_picture_reason(run)}"
        note = [("SVG note", run.svg_note)] if run.png and run.svg_note else []
        return [("Picture", picture), *shown, *note]
    if files.svg is None and not files.svg_withheld:
        return [("Picture", f"none: {no_picture_reason(run)}"), *shown]
    rows = [("SVG file", files.svg or "left out: the prompt set is private"), *shown]
    if run.svg_note:
        rows.append(("SVG note", run.svg_note))
    if files.png:
        made = " (rendered at export)" if files.png_source == "rendered" else ""
        rows.append(("PNG file", files.png + made))
    elif files.render_problem:
        rows.append(("PNG file", f"none: the SVG could not be drawn ({files.render_problem})"))
    else:
        rows.append(("PNG file", "none"))
    return rows


def _run_section(
    run: Run,
    base: str,
    files: RunFiles | None,
    host_per_run: bool,
    private: bool,
    inline: _Inline,
) -> list[str]:
    heading = f"{base.title()}: {backend_words(run)} — {run.model_id}"
    lines = [f"## {inline(heading)}", ""]
    warning = thinking_switch_warning(run.settings)
    if warning:
        lines += [f"> ⚠ **{inline(warning)}**", ""]
    overview = [("Status", run.status), ("Started", _utc(run.started_at))]
    overview.append(("Finished", _utc(run.finished_at)))
    if run.failure_reason:
        overview.append(("Failure", run.failure_reason))
    lines += _md_table([*overview, *_picture_rows(run, files)], inline)
    command = _server_command(run)
    # llama-server's arguments, when they make a command, are shown as one below
    tables = run_tables(run, leave_out=SERVER_ARG_KEYS if command else ())
    lines += ["### Model", "", *_md_table(tables.model, inline)]
    if command:
        lines += ["Server command:", "", *_fence(command, "sh")]
    lines += ["### Settings", "", *_md_table(tables.settings, inline)]
    lines += ["### Timings", "", *_md_table(tables.timings, inline)]
    lines += ["### Usage", "", *_md_table(tables.usage, inline)]
    lines += ["### Peak memory", "", *_md_table(tables.memory, inline)]
    if host_per_run:
        lines += ["### Host", "", *_md_table(tables.host, inline)]
    if private:
        why = "Left out: the prompt set is private, and a model's words can quote the prompt."
        return [*lines, "### Thinking and answer", "", why, ""]
    if run.thinking_text:
        lines += [f"### Thinking ({len(run.thinking_text):,} characters)", ""]
        lines += _fence(run.thinking_text)
    lines += [f"### Answer ({len(run.answer):,} characters)", ""]
    lines += _fence(run.answer) if run.answer else ["(empty)", ""]
    return lines


def render_run_card(
    session: Session, files: Mapping[int, RunFiles] | None, *, for_terminal: bool = False
) -> str:
    """The Markdown run card: what ran, how, how fast, on what, and what came out.

    ``files``: the picture files an export wrote for each run; None for a card shown
    rather than exported (``sessions show``), which says what the store holds.
    ``for_terminal``: the card printed rather than written to a file, its texts as
    written; a file's are escaped for a Markdown viewer (``<`` as ``&lt;``, ``|`` as
    ``\\|``), which would otherwise read an answer's ``</svg>`` as HTML.

    Secrets are scrubbed (:func:`~.sessions.scrub_session`); a private set's
    texts are left out (:func:`~.private.withhold_private`)."""
    session = withhold_private(scrub_session(session))
    names = run_basenames(session)
    inline = _plain if for_terminal else _md
    lines = [
        f"# Pelican run card: session {session.id}",
        "",
        f"- **Title:** {inline(session.title)}",
        f"- **Date:** {_utc(session.created_at)}",
        f"- **Verdict:** {inline(verdict_text(session))}",
    ]
    if session.prompt_set:
        private = " (private: no prompt, answer, thinking or SVG text here)"
        lines.append(
            f"- **Prompt set:** {inline(session.prompt_set)}{private if session.private else ''}"
        )
    if session.verdict_note:
        lines.append(f"- **Verdict note:** {inline(session.verdict_note)}")
    lines += ["", "## Prompt", "", *_fence(session.prompt)]

    hosts: list[dict[str, Any]] = []
    for run in session.runs:
        if run.host and run.host not in hosts:
            hosts.append(run.host)
    for run in session.runs:
        files_of_run = files.get(run.id, RunFiles()) if files is not None else None
        lines += _run_section(
            run, names[run.id], files_of_run, len(hosts) > 1, session.private, inline
        )
    if len(hosts) == 1:
        lines += ["## Host", "", *_md_table(host_rows(hosts[0]), inline)]

    rerun = _headless_command(session)
    replace = "; ".join(
        [
            "replace DIR",
            *rerun.fill_in,
            *([] if rerun.has_path else ["give the local model's path"]),
        ]
    )
    what = "A similar run" if rerun.left_out else "The same comparison"
    lines += [
        "## Run it again",
        "",
        f"{what} without the TUI ({replace}):",
        "",
        *_fence(rerun.command, "sh"),
    ]
    if rerun.left_out:
        lines += ["It cannot repeat all of this session; it leaves out:", ""]
        lines += [*(f"- {inline(said)}" for said in rerun.left_out), ""]
    lines += [line for note in rerun.notes for line in (inline(note), "")]
    if files is not None:  # a card shown, not exported, has no files beside it
        lines += [
            "The .svg files are the model's output exactly as written: open them with an image",
            "viewer or through index.html rather than directly in a browser tab.",
            "",
        ]
    return "\n".join(lines)
