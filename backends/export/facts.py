"""A run's recorded facts as a person reads them: labels and formatted values.

The store keeps facts under short machine names (``server_rss_bytes``,
``time_to_first_token_s``); the run card and the HTML page show them under
the labels here. A key with no label (written by a newer or older
pelican-tui) is shown with its name made readable, never raw.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping
from typing import Any

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.openai_compat.server_kinds import LLAMA_CPP, LM_STUDIO, OLLAMA, VLLM
from pelican_tui.backends.ratings.configuration import switch_sent
from pelican_tui.backends.secrets import scrub_text
from pelican_tui.backends.store.records import Run, Session, prompt_from_cache, recorded_number
from pelican_tui.backends.text import NO_THINKING_SWITCH, ink_percent, svg_size

MODEL_LABELS = {
    "model": "Model",
    "file": "Model file",
    "path": "Model path",
    "file_size": "File size",
    "size": "File size",
    "sha256": "sha256",
    "arch": "Architecture",
    "total_params": "Total parameters",
    "params": "Total parameters",
    "active_params": "Active parameters",
    "active": "Active parameters",
    "experts": "Experts (used/total)",
    "quant": "Quantization",
    "trained_ctx": "Trained context",
    "hf": "Hugging Face reference",
    "url": "Server URL",
    "login": "Server login",
    "server_version": "Server version",
    "server_kind": "Server kind",
    "model_thinks": "Model has a thinking mode",
    "server_build": "Server build",
    "context": "Context size",
    "server_args": "Server arguments",
    "server_flags": "Server arguments",
}
SERVER_ARG_KEYS = ("server_args", "server_flags")
"""model_info keys holding llama-server's arguments (a list, binary first or not)."""

SETTINGS_LABELS = {
    "thinking": "Thinking",
    "effort": "Effort",
    "max_tokens": "Max tokens",
    "sampling": "Sampling",
    "system": "System prompt",
    "thinking_switch": "Thinking switch sent",
    "thinking_switch_ignored": "Thinking switch ignored",
    "thinking_check": "Thinking check",
}
TIMING_LABELS = {
    "time_to_first_token_s": "Time to first token",
    "prompt_tokens_per_s": "Prompt speed",
    "generation_tokens_per_s": "Generation speed",
    "total_s": "Total time",
    "prompt_tokens": "Prompt tokens evaluated",
    "generated_tokens": "Generated tokens",
    "silent_s": "Silent mid-answer",
}
USAGE_LABELS = {
    "input_tokens": "Input tokens",
    "output_tokens": "Output tokens",
    "thinking_tokens": "Thinking tokens",
    "stop_reason": "Stop reason",
}
MEMORY_LABELS = {
    "server_rss_bytes": "{server} resident (model pages included)",
    "server_model_mapped_bytes": "of which the model file (resident pages)",
    # Recorded before 2026-12: RSS plus the model's pages, which RSS already holds.
    "server_bytes": "{server} resident + model pages (counted twice)",
    "server_note": "Server",  # why it has no figure: "remote, memory not visible"
    "app_rss_bytes": "pelican-tui (resident)",
}
"""The peak memory a run recorded (the engine's ``PeakRam``), largest figure first;
``{server}``: the server measured, as :func:`memory_labels` names it."""
SERVER_PROCESS_NAMES = {
    LLAMA_CPP: "llama-server",
    OLLAMA: "Ollama",
    LM_STUDIO: "LM Studio",
    VLLM: "vLLM",
}
"""A server kind (``model_info["server_kind"]``) by the name of the process measured."""
HOST_LABELS = {
    "cpu": "CPU",
    "cpu_cores": "CPU cores",
    "cpu_threads": "CPU threads",
    "ram_total_bytes": "RAM",
    "os": "OS",
    "arch": "Architecture",
    "python": "Python",
    "pelican_tui": "pelican-tui",
}


def human_bytes(n: float) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def human_count(n: float) -> str:
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= threshold:
            return f"{n / threshold:.2f}{suffix}"
    return str(n)


def format_value(key: str, value: Any) -> str:
    """One value as a person reads it, judged by its key's conventional suffix."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        if key == "thinking":
            return "on" if value else "off"
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if key.endswith("_per_s"):
            return f"{value:.1f} tok/s"
        if key.endswith("_s"):
            return f"{value:.2f} s"
        if key.endswith("_bytes") or key in ("file_size", "size"):
            return f"{human_bytes(value)} ({int(value):,} bytes)"
        if key.endswith("_params"):
            return human_count(value)
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list | tuple):
        if all(isinstance(item, str) for item in value):
            return shlex.join(value)
        return ", ".join(format_value(key, item) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(str(k), v)}" for k, v in value.items())
    return str(value)


def readable_name(key: str) -> str:
    """A label for a key nobody labelled: ``queue_wait_s`` → "Queue wait"."""
    for suffix in ("_per_s", "_bytes", "_s"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    words = key.replace("_", " ").strip() or key
    return words[:1].upper() + words[1:]


def labelled_rows(data: Mapping[str, Any], labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """Known keys in their order with their labels, then the others by readable name."""
    rows = [(label, format_value(key, data[key])) for key, label in labels.items() if key in data]
    rows += [
        (readable_name(key), format_value(key, data[key]))
        for key in sorted(data)
        if key not in labels
    ]
    return rows


def timing_rows(timings: Mapping[str, Any], usage: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A run's timings as :func:`labelled_rows`, where the prompt tokens the server
    evaluated say how many more it took from its cache: llama-server reads again only
    what its prompt cache lacks, so a prompt run twice reads "1 of 62 (61 from the
    cache)" where "Prompt tokens 1" sat beside "Input tokens 62" (the whole prompt)."""
    cached = prompt_from_cache(timings, usage)
    if cached:
        of = int(recorded_number(usage.get("input_tokens")) or 0)
        timings = {**timings, "prompt_tokens": f"{of - cached} of {of} ({cached} from the cache)"}
    return labelled_rows(timings, TIMING_LABELS)


Rows = list[tuple[str, str]]
"""A table of labelled facts: (label, value) pairs, in the order shown."""


@frozen
class RunTables:
    """A run's recorded facts, one labelled table per kind: what the run card and
    the HTML page show of a run (each picks the tables it shows and where)."""

    model: Rows
    settings: Rows
    timings: Rows
    usage: Rows
    memory: Rows
    """The peak memory the run recorded."""
    host: Rows


def run_tables(run: Run, *, leave_out: Collection[str] = ()) -> RunTables:
    """``run``'s facts as :class:`RunTables`; ``leave_out``: model_info keys shown
    elsewhere (the run card writes llama-server's arguments as a command)."""
    model_info = {k: v for k, v in run.model_info.items() if k not in leave_out}
    return RunTables(
        model=labelled_rows(model_info, MODEL_LABELS),
        settings=labelled_rows(_shown_settings(run.settings), SETTINGS_LABELS),
        timings=timing_rows(run.timings, run.usage),
        usage=labelled_rows(run.usage, USAGE_LABELS),
        memory=labelled_rows(run.peak_ram, memory_labels(run)),
        host=host_rows(run.host),
    )


def memory_labels(run: Run) -> dict[str, str]:
    """:data:`MEMORY_LABELS` naming the server whose memory ``run`` recorded: the
    llama-server pelican-tui ran, or the kind of server it was attached to as the run
    recorded it ("Ollama resident (model pages included)"); "server" where it recorded
    no kind it names (an OpenAI-compatible server, or a run stored before kinds were)."""
    if run.backend == "local":
        server = SERVER_PROCESS_NAMES[LLAMA_CPP]
    else:
        kind = run.model_info.get("server_kind")
        server = SERVER_PROCESS_NAMES.get(kind, "server") if isinstance(kind, str) else "server"
    return {key: label.format(server=server) for key, label in MEMORY_LABELS.items()}


def thinking_setting(settings: Mapping[str, Any]) -> str:
    """A run's thinking as its facts say it: as asked ("on", "off"), or "no thinking
    switch", as its configuration's label says it, where none was sent
    (:func:`~.configuration.switch_sent`): what its pane asked changed nothing sent."""
    if not switch_sent(settings):
        return NO_THINKING_SWITCH
    return format_value("thinking", settings.get("thinking"))


def _shown_settings(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    """``settings`` with their thinking as :func:`thinking_setting` says it."""
    if "thinking" not in settings or switch_sent(settings):
        return settings
    return {**settings, "thinking": NO_THINKING_SWITCH}


def host_rows(host: Mapping[str, Any]) -> Rows:
    """The machine a run ran on (``Run.host``) as labelled rows."""
    return labelled_rows(host, HOST_LABELS)


def thinking_switch_warning(settings: Mapping[str, Any]) -> str | None:
    """The warning line for a run whose server ignored the thinking switch (else None);
    recorded by the engine's check after each run (``thinking_switch_ignored``)."""
    if settings.get("thinking_switch_ignored") is not True:
        return None
    note = settings.get("thinking_check")
    if isinstance(note, str) and note:
        return f"Warning: {note}"
    return "Warning: the server ignored the thinking switch."


def backend_words(run: Run) -> str:
    """Who ran ``run``, for a heading: "local" (the llama-server pelican-tui ran),
    "claude", or the kind of server it was attached to ("LM Studio server"; stored as
    ``openai``, which says only the protocol)."""
    if run.backend != "openai":
        return run.backend
    kind = run.model_info.get("server_kind")
    return f"{kind} server" if isinstance(kind, str) and kind else "server"


def verdict_text(session: Session) -> str:
    if session.verdict is None:
        return "no verdict yet"
    if session.verdict == "tie":
        return "a tie"
    if session.verdict == "both_bad":
        return "both are bad"
    models = sorted({run.model_id for run in session.runs_in(session.verdict)})
    who = f" ({', '.join(models)})" if models else ""
    return f"{session.verdict}{who} is better"


UNFINISHED_WORDS = {
    "failed": "the run failed",
    "cancelled": "the run was cancelled",
    "interrupted": "the run was interrupted",
    "running": "the run was still going",
}
"""A run that did not finish, by its stored status, in words (every export page)."""

NO_PICTURE_WORDS = "the run drew no picture"
"""A finished run with no picture stored (its answer had no SVG, or one that did not
render), in words: beside :data:`UNFINISHED_WORDS`, why it is no picture to vote on."""


_CUT_BEFORE_A_PICTURE = {
    "cancelled": "the run was cancelled before a picture",
    "interrupted": "the run was interrupted before a picture",
    "running": "the run was still going, with no picture yet",
}
"""An unfinished run whose answer was never read for an SVG (not: "there is none")."""


def no_picture_reason(run: Run) -> str:
    """Why ``run`` has no picture, in words a person reads: the one wording of every
    view (the gallery, a vote, the run card, the pages and the export's notes)."""
    facts = run.picture_facts
    note = scrub_text(run.svg_note) if run.svg_note else None
    if run.status == "failed":
        why = scrub_text(run.failure_reason) if run.failure_reason else "no reason recorded"
        return f"the run failed: {why}" + (f"; {note}" if note else "")
    if run.svg is None:
        if note is None and run.status in _CUT_BEFORE_A_PICTURE:  # its answer was never read
            return _CUT_BEFORE_A_PICTURE[run.status]
        return (note or "there is no SVG in the answer") + _unfinished(run)
    if note:  # the run's own words: cut at the token limit, not valid XML, could not render
        return note + _unfinished(run)
    if facts.get("truncated"):
        return "the SVG was cut off before its end and could not be drawn" + _unfinished(run)
    if facts.get("render_failed"):
        return "the SVG could not be drawn by the sandboxed renderer"
    return "no picture was stored with this run" + _unfinished(run)


def _unfinished(run: Run) -> str:
    words = UNFINISHED_WORDS.get(run.status) if run.status != "failed" else None
    return f" ({words})" if words else ""


def picture_facts_text(facts: Mapping[str, Any]) -> str | None:
    """A run's picture facts (:mod:`pelican_tui.backends.svg.facts`) in words, or None
    for a run stored without them.

    "render ok (74% ink) · 39 elements · 2.5 KB · picture after 12.3 s",
    "render ok but empty (0.1% ink) · …", "truncated, render failed · 4 elements ·
    182 B", "not an SVG".
    """
    if not facts:
        return None
    if facts.get("not_svg"):
        return "not an SVG"
    if facts.get("renders"):
        state = "render ok but empty" if facts.get("empty") else "render ok"
        ink = facts.get("ink")
        if isinstance(ink, int | float) and not isinstance(ink, bool):
            state += f" ({ink_percent(ink)} ink)"
    elif facts.get("render_failed"):
        state = "render failed"
    else:
        state = "not drawn"
    parts = [f"truncated, {state}" if facts.get("truncated") else state]
    elements = facts.get("elements")
    if isinstance(elements, int) and elements > 0:
        parts.append(f"{elements:,} element{'' if elements == 1 else 's'}")
    size = facts.get("svg_bytes")
    if isinstance(size, int) and size > 0:
        parts.append(svg_size(size))
    seconds = facts.get("seconds_to_picture")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        parts.append(f"picture after {seconds:.1f} s")
    return " · ".join(parts)
