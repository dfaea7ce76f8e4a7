"""``pelican-tui run``'s summary: the table on stdout and ``DIR/summary.json``.

Both describe the sessions as stored (:class:`SessionOutcome.session`), so
they say what the store and the exports hold, not what a run hoped for.

``summary.json``'s ``format_version``:

1. the first.
2. each run adds what was recorded about its thinking switch, under the names
   its ``settings`` have in the store and ``session.json``: ``thinking_switch``
   (how it was sent to a server someone else runs; null for the spawned
   llama-server and Claude), ``thinking_switch_ignored`` (true / false / null:
   nothing arrived to judge by, or no switch was sent) and ``thinking_check``
   (the check's sentence). A session's ``notes`` say an ignored switch
   ("right: The server ignored …"), and a comparison of thinking on and off on a
   model without a switch (the same request twice).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pelican_tui.backends.atomic import replace_file
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.ratings.configuration import (
    recorded_thinking_words,
    thinking_ran_known,
)
from pelican_tui.backends.secrets import scrub_secrets
from pelican_tui.backends.store.records import Run, Session, prompt_from_cache, recorded_numbers
from pelican_tui.backends.text import on_off, plural, shorten
from pelican_tui.cli.columns import fit_columns, fold_line, output_width

if TYPE_CHECKING:
    from pelican_tui.backends.engine.run import RunResult

SUMMARY_FORMAT = "pelican-tui-run-summary"
SUMMARY_FORMAT_VERSION = 2
SUMMARY_FILE = "summary.json"
THINKING_SWITCH_KEYS = ("thinking_switch", "thinking_switch_ignored", "thinking_check")
"""What a run's ``settings`` record about its thinking switch, copied to its entry."""


@dataclass
class SessionOutcome:
    """One session of a batch, as the summary reports it."""

    session_id: int
    sample: int
    thinking: str
    results: list[RunResult] = field(default_factory=list)
    session: Session | None = None
    """The session as stored once its runs ended (the source for the summary)."""
    export_dir: str | None = None
    export_error: str | None = None
    notes: list[str] = field(default_factory=list)
    prompt_name: str | None = None
    """The prompt's name in its prompt set (``--set``); None for ``--prompt``."""


@frozen
class BatchFacts:
    """What a batch was asked and what it ran on: the head of ``summary.json``."""

    prompt: str | None
    """The prompt; None when a prompt set was run (see ``prompt_set``)."""
    samples: int
    modes: Sequence[bool]
    started_at: datetime
    session_store: Path
    local_id: str
    local_info: Mapping[str, Any]
    claude_model: str | None
    """The Claude model used; None when Claude was not used."""
    claude_note: str | None
    """Why Claude was not used, if it was wanted."""
    prompt_set: Mapping[str, Any] | None = None
    """``--set``'s name, privacy and prompts (a private set's without their text)."""
    planned_runs: int = 0
    """How many runs the batch plans (more than ran when it stopped early)."""


def stored_runs(outcomes: Sequence[SessionOutcome]) -> list[Run]:
    return [run for o in outcomes if o.session is not None for run in o.session.runs]


def summary_data(
    facts: BatchFacts,
    outcomes: Sequence[SessionOutcome],
    out_dir: Path,
    *,
    code: int | None,
    stopped: str | None,
    error: str | None,
) -> dict[str, Any]:
    """``summary.json``'s content; ``code`` None while the batch is still running."""
    from pelican_tui.backends.export import run_basenames

    sessions = []
    for outcome in outcomes:
        runs = []
        if outcome.session is not None:
            stems = run_basenames(outcome.session)
            for run in outcome.session.runs:
                runs.append(_run_summary(out_dir, outcome, run, stems[run.id]))
        sessions.append(
            {
                "id": outcome.session_id,
                "sample": outcome.sample,
                "thinking": outcome.thinking,
                "prompt_name": outcome.prompt_name,
                "export_dir": outcome.export_dir,
                "export_error": outcome.export_error,
                "notes": outcome.notes,
                "runs": runs,
            }
        )
    stored = stored_runs(outcomes)
    totals = {
        "planned": max(facts.planned_runs, len(stored)),
        "runs": len(stored),
        **{
            status: sum(run.status == status for run in stored)
            for status in ("finished", "failed", "cancelled")
        },
    }
    return {
        "format": SUMMARY_FORMAT,
        "format_version": SUMMARY_FORMAT_VERSION,
        "status": "running" if code is None else (stopped or "complete"),
        "exit_code": code,
        "error": error,
        "prompt": facts.prompt,
        "prompt_set": dict(facts.prompt_set) if facts.prompt_set is not None else None,
        "started_at": facts.started_at.isoformat(timespec="seconds"),
        "finished_at": (
            datetime.now(UTC).isoformat(timespec="seconds") if code is not None else None
        ),
        "samples": facts.samples,
        "thinking": [on_off(mode) for mode in facts.modes],
        "session_store": str(facts.session_store),
        "local": {"model_id": facts.local_id, "model_info": dict(facts.local_info)},
        "claude": {
            "used": facts.claude_model is not None,
            "model": facts.claude_model,
            "note": facts.claude_note,
        },
        "totals": totals,
        "sessions": sessions,
    }


def _run_summary(out_dir: Path, outcome: SessionOutcome, run: Run, stem: str) -> dict[str, Any]:
    files: dict[str, str | None] = {"svg": None, "png": None}
    if outcome.export_dir is not None:
        folder = out_dir / outcome.export_dir
        for ext in ("svg", "png"):
            if (folder / f"{stem}.{ext}").is_file():
                files[ext] = f"{outcome.export_dir}/{stem}.{ext}"
    return {
        "id": run.id,
        "slot": run.slot,
        "backend": run.backend,
        "model_id": run.model_id,
        "thinking": run.settings.get("thinking"),
        "thinking_ran": thinking_ran_known(run.settings, run.thinking_text, run.answer),
        **{key: run.settings.get(key) for key in THINKING_SWITCH_KEYS},
        "status": run.status,
        "failure_reason": run.failure_reason,
        "timings": run.timings,
        "usage": run.usage,
        "peak_ram": run.peak_ram,
        "svg": run.svg is not None,
        "svg_note": run.svg_note,
        "files": files,
    }


def keep_earlier_summary(out_dir: Path) -> Path | None:
    """Rename a ``summary.json`` an earlier batch left in ``out_dir`` (``--force``) to
    ``summary-<its start, UTC>.json`` so the new batch's does not replace it; the new
    name, or None when there was none. A folder of that name is left (writing the
    summary says it cannot). Raises OSError."""
    from pelican_tui.backends.export.files import earlier_export

    earlier = out_dir / SUMMARY_FILE
    if earlier.is_dir() or not (earlier.is_symlink() or earlier.exists()):
        return None
    data = earlier_export(earlier, SUMMARY_FORMAT)  # a regular file's only: no FIFO
    started = _when(data.get("started_at") if data else None)
    if started is None:  # not a summary pelican-tui can read: when it was written
        started = datetime.fromtimestamp(earlier.lstat().st_mtime, UTC)
    stem = f"summary-{started:%Y%m%dT%H%M%SZ}"
    kept = out_dir / f"{stem}.json"
    number = 1
    while kept.is_symlink() or kept.exists():  # never over another kept summary
        number += 1
        kept = out_dir / f"{stem}-{number}.json"
    earlier.rename(kept)
    return kept


def _when(text: Any) -> datetime | None:
    """A summary's ``started_at`` (ISO 8601, with its offset) in UTC, or None."""
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def write_summary(out_dir: Path, data: Mapping[str, Any]) -> None:
    """Replace ``out_dir/summary.json`` atomically, secrets scrubbed; raises OSError."""
    text = json.dumps(scrub_secrets(dict(data)), indent=2, sort_keys=True, ensure_ascii=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    replace_file(out_dir / SUMMARY_FILE, text + "\n")


def picture_words(run: Run) -> str:
    """The table's PICTURE cell: ``drawn``; ``not drawn`` (an SVG was found, the
    renderer could not draw it: the run card says why); ``truncated`` (an SVG began but
    was cut off inside its first tag: nothing to draw; the word of its picture facts,
    :func:`~pelican_tui.backends.export.facts.picture_facts_text`); ``no SVG`` (none in
    the answer); ``—`` (a run that did not finish and wrote nothing to look in: its
    answer was never read for an SVG, as its numbers say ``—``): the runs whose
    progress line (:func:`~.run_progress.result_line`) says nothing of an SVG."""
    if run.png:
        return "drawn"
    if run.svg is not None:
        return "not drawn"
    if run.picture_facts.get("truncated"):
        return "truncated"
    if run.status == "finished" or (run.status == "failed" and run.answer):
        return "no SVG"
    return "—"


FROM_CACHE_MARK = "*"
"""Before the TTFT of a run whose server took some of its prompt from its cache."""


def _ttft_words(run: Run, ttft: float | None) -> str:
    if ttft is None:
        return "—"
    mark = FROM_CACHE_MARK if prompt_from_cache(run.timings, run.usage) else ""
    return f"{mark}{ttft:.2f}s"


def from_cache_legend(runs: Sequence[Run]) -> str | None:
    """The line under the table when a run's TTFT is marked (:data:`FROM_CACHE_MARK`):
    a server that keeps the prompts it read (Ollama, LM Studio, vLLM; llama-server is
    asked not to) read only part of that run's prompt, so its time to the first token
    does not compare with the others'. None when no run is marked."""
    if not any(prompt_from_cache(run.timings, run.usage) for run in runs):
        return None
    return (
        f"{FROM_CACHE_MARK} part of the prompt came from the server's cache (the run card "
        "says how much): that TTFT does not compare with one whose whole prompt was read."
    )


SAME_IN_EVERY_RUN = ("SAMPLE", "MODEL", "SLOT", "PROMPT", "STATUS", "PICTURE", "THINKING")
"""Columns said once above a table too wide for the terminal when every run has the
same in them, in this order until it fits."""
SAME_IN_EACH_SLOT = ("MODEL",)
"""Then these, said once for each side where every run of a side has the same in
them ("MODEL Qwen3.5-2B-Q4_K_M.gguf (left) · MODEL claude-opus-4-7 (right)"): the
SLOT column then tells the runs apart, in five cells."""
CUT_DOWN_TO = {"MODEL": 16, "PROMPT": 12}
"""Then the free-text columns are cut in the middle, each down to so many cells."""
LEFT_OUT_IN_TURN = ("SLOT", "SAMPLE", "STATUS", "PICTURE", "PROMPT", "THINKING", "MODEL")
"""Then these columns are left out, in this order until it fits (``summary.json`` has
them all): the SLOT where the model tells the sides apart, the model where the SLOT
does (:data:`TELL_APART`). The numbers are never left out: they are what a batch
measures, and a row without them says nothing ``run`` does not say again below."""
TELL_APART = ("SESSION", "SLOT", "MODEL")
"""The columns that tell one run from another: one of SLOT and MODEL stays, however
narrow the terminal (at 40 columns both sides of a session ran the one model)."""


def summary_table(
    outcomes: Sequence[SessionOutcome], samples: int, width: int | None = None
) -> str:
    """One row per stored run: session, the prompt's name (``--set``), sample, thinking,
    slot, model, status, numbers, picture (:func:`picture_words`).

    In ``width`` cells (a terminal's; None: everything) where it can be: columns that
    say the same in every run go above it (:data:`SAME_IN_EVERY_RUN`), then the model
    of each side (:data:`SAME_IN_EACH_SLOT`), the model and the prompt are cut
    (:data:`CUT_DOWN_TO`), then text columns go (:data:`LEFT_OUT_IN_TURN`), never all
    of what tells the runs apart (:data:`TELL_APART`). Numbers are never cut nor left
    out."""
    header = ("SESSION", "PROMPT", "SAMPLE", "THINKING", "SLOT", "MODEL", "STATUS", "TOKENS",
              "TOK/S", "TTFT", "PICTURE")  # fmt: skip
    rows: list[tuple[str, ...]] = [header]
    for outcome in outcomes:
        for run in outcome.session.runs if outcome.session is not None else ():
            tokens, rate, ttft = recorded_numbers(run.timings, run.usage)
            rows.append(
                (
                    str(outcome.session_id),
                    shorten(outcome.prompt_name or "", 24),
                    f"{outcome.sample}/{samples}",
                    recorded_thinking_words(run.settings),
                    run.slot,
                    shorten(run.model_id, 36),
                    run.status,
                    str(tokens) if tokens is not None else "—",
                    f"{rate:.1f}" if rate else "—",
                    _ttft_words(run, ttft),
                    picture_words(run),
                )
            )
    if len(rows) == 1:
        return "No runs."
    if not any(outcome.prompt_name for outcome in outcomes):  # --prompt: one prompt
        rows = [row[:1] + row[2:] for row in rows]
    names = list(rows[0])
    right = {i for i, name in enumerate(names) if name in ("SESSION", "TOKENS", "TOK/S", "TTFT")}
    return fit_columns(
        rows,
        width,
        right=right,
        same=[names.index(name) for name in SAME_IN_EVERY_RUN if name in names],
        same_by={names.index(name): names.index("SLOT") for name in SAME_IN_EACH_SLOT},
        cut={names.index(name): cells for name, cells in CUT_DOWN_TO.items() if name in names},
        drop=[names.index(name) for name in LEFT_OUT_IN_TURN if name in names],
        keys=[names.index(name) for name in TELL_APART],
    )


def print_summary(
    stdout: TextIO,
    outcomes: Sequence[SessionOutcome],
    samples: int,
    out_dir: Path,
    planned: int = 0,
    *,
    summary_written: bool = True,
    not_sent: Sequence[str] = (),
) -> None:
    """The table (fitted to the terminal, if ``stdout`` is one), the sides' runs not sent
    and why (``not_sent``: a line each), then one line: how many runs finished (of the
    ``planned``, where some never ran), and where what was exported is (and
    ``summary.json``, if written)."""
    width = output_width(stdout)
    table = summary_table(outcomes, samples, width)
    print(table, file=stdout)
    runs = stored_runs(outcomes)
    shown = any("TTFT" in line.split() for line in table.splitlines())  # not left out
    legend = from_cache_legend(runs) if shown else None
    for line in [*([legend] if legend else []), *not_sent]:
        print(fold_line(line, width), file=stdout)
    finished = sum(run.status == "finished" for run in runs)
    exported = sum(outcome.export_dir is not None for outcome in outcomes)
    summary = " (summary.json)" if summary_written else ""
    where = (
        f"{plural(exported, 'session')} exported to {out_dir}{summary}"
        if exported
        else "no session exported"
    )
    not_run = planned - len(runs)
    unrun = f" ({not_run} of the {planned} planned not run)" if not_run > 0 else ""
    said = f"{finished} of {plural(len(runs), 'run')} finished{unrun}; {where}."
    if not runs and planned:  # stopped before the first began (a model still loading)
        none = f"None of the {planned} planned runs ran" if planned > 1 else "The run did not run"
        said = f"{none}; {where}."
    print(fold_line(said, width), file=stdout)
    with contextlib.suppress(OSError, ValueError):
        stdout.flush()


__all__ = [
    "SUMMARY_FORMAT",
    "SUMMARY_FORMAT_VERSION",
    "BatchFacts",
    "SessionOutcome",
    "keep_earlier_summary",
    "print_summary",
    "stored_runs",
    "summary_data",
    "summary_table",
    "write_summary",
]
