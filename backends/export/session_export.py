"""Export a saved session to a folder a person can open and a script can read.

:func:`export_session` writes, into one folder:

- ``left.svg`` / ``right.svg`` (``left-1.svg``, ``left-2.svg``... when a slot
  has several runs): each extracted SVG exactly as the model wrote it (secrets
  aside, see below);
- ``left.png`` / ``right.png``: the stored picture, or one rendered by the
  ``renderer`` passed in (pelican-tui passes its sandboxed render worker);
- ``run-card.md``: everything needed to reproduce the runs (model file and
  hash, server build and arguments, sampling, thinking, timings, usage, host,
  prompt) and their raw output;
- ``index.html``: a self-contained page with the pictures side by side, their
  stats and the verdict. Model output only ever enters it as escaped text or as
  base64 ``<img>`` data (an SVG drawn by ``<img>`` runs no script and loads
  nothing), and a Content-Security-Policy forbids scripts and remote loads;
- ``session.json``: the session for machines (stable, sorted keys);
  :func:`load_export` reads it back into an equal :class:`Session`.

Secrets never leave in an export: every text and record of the session passes
through :func:`~.session_store.scrub_session` first (so a key pasted into a
prompt, or stored by an older pelican-tui, shows as ``[redacted]``), and the
SVG files and pictures are made from the scrubbed text.

The folder appears whole or not at all: it is built in a temporary sibling
folder and renamed into place. Re-exporting the same session over its own
earlier export replaces each file atomically instead.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pelican_tui.backends import locations
from pelican_tui.backends.store.sessions import Run, Session, scrub_session

if TYPE_CHECKING:
    from pelican_tui.backends.svg.render import SvgRenderer

Renderer = Callable[[str, int, int], bytes | None]
"""``renderer(svg_text, width, height)`` → PNG bytes, or None if it can't be drawn.

It may raise instead: the export goes on and notes the error's text."""
EXPORT_RENDER_TIMEOUT_S = 10.0
"""Wall-clock limit for drawing one missing PNG at export (export is not interactive)."""

EXPORT_FORMAT = "pelican-tui-session"
EXPORT_FORMAT_VERSION = 1
DEFAULT_PNG_SIZE = (1024, 1024)

PngSource = Literal["stored", "rendered"]


class ExportError(Exception):
    """The export could not be written; the message says why."""


@dataclass(frozen=True, slots=True)
class RunFiles:
    """The files exported for one run (names relative to the export folder)."""

    svg: str | None = None
    png: str | None = None
    png_source: PngSource | None = None


@dataclass(frozen=True, slots=True)
class ExportResult:
    out_dir: Path
    files: tuple[Path, ...]
    """Every file written, session.json first."""
    notes: tuple[str, ...] = ()
    """One line per thing worth saying ("right: no SVG in the answer")."""


# --------------------------------------------------------------------------- entry point


def export_session(
    session: Session,
    out_dir: Path,
    renderer: Renderer | None = None,
    *,
    png_size: tuple[int, int] = DEFAULT_PNG_SIZE,
    overwrite: bool = False,
) -> ExportResult:
    """Write the export folder ``out_dir`` for ``session``.

    ``out_dir`` may be missing or empty. If it holds an earlier export of the
    same session, it is refreshed; if it holds anything else, :class:`ExportError`
    is raised unless ``overwrite`` is true.
    """
    out_dir = Path(out_dir)
    session = scrub_session(session)
    names = run_basenames(session)
    files: dict[int, RunFiles] = {}
    contents: dict[str, bytes] = {}
    notes: list[str] = []
    pictures: dict[str, bytes] = {}

    for run in session.runs:
        base = names[run.id]
        svg_name = png_name = None
        source: PngSource | None = None
        png = run.png
        if run.svg is not None:
            svg_name = f"{base}.svg"
            pictures[svg_name] = run.svg.encode("utf-8")
        else:
            why = run.svg_note or "no SVG in the answer"
            notes.append(f"{base}: {why}")
        if png is not None:
            source = "stored"
        elif run.svg is not None and renderer is not None:
            png = _render(renderer, run.svg, png_size, base, notes)
            source = "rendered" if png is not None else None
        if png is not None:
            png_name = f"{base}.png"
            pictures[png_name] = png
        files[run.id] = RunFiles(svg=svg_name, png=png_name, png_source=source)

    document = session_to_json(session, files)
    contents["session.json"] = (
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode("utf-8")
    contents["run-card.md"] = render_run_card(session, files).encode("utf-8")
    contents["index.html"] = render_html(session, files, pictures).encode("utf-8")
    contents.update(pictures)

    _write_folder(out_dir, contents, session.id, overwrite=overwrite)
    return ExportResult(
        out_dir=out_dir,
        files=tuple(out_dir / name for name in contents),
        notes=tuple(notes),
    )


def _render(
    renderer: Renderer, svg: str, size: tuple[int, int], base: str, notes: list[str]
) -> bytes | None:
    try:
        png = renderer(svg, size[0], size[1])
    except Exception as error:  # a renderer must never break the export
        notes.append(f"{base}: the SVG could not be rendered ({error})")
        return None
    if png is None:
        notes.append(f"{base}: the SVG could not be rendered")
    return png


class RenderRefused(Exception):
    """The sandboxed worker did not draw the SVG; ``str(exc)`` is its one-line reason."""


def worker_renderer(worker: SvgRenderer, *, timeout_s: float = EXPORT_RENDER_TIMEOUT_S) -> Renderer:
    """A :data:`Renderer` drawing through ``worker`` (the sandboxed render process).

    A refused or failed render raises :class:`RenderRefused` with the worker's
    reason, so the export's note says why ("…could not be rendered (the SVG
    uses XML entities…)").
    """

    def render(svg: str, width: int, height: int) -> bytes | None:
        result = worker.render_sync(svg, width, height, timeout_s)
        if not result.ok or result.png is None:
            raise RenderRefused(result.reason or "the SVG could not be rendered")
        return result.png

    return render


@contextlib.contextmanager
def sandboxed_renderer(*, timeout_s: float = EXPORT_RENDER_TIMEOUT_S) -> Iterator[Renderer]:
    """A :func:`worker_renderer` on a renderer of its own, stopped on exit.

    The worker process starts only if something is drawn: exporting runs whose
    PNGs are all stored costs nothing.
    """
    from pelican_tui.backends.svg.render import SvgRenderer

    with SvgRenderer() as worker:
        yield worker_renderer(worker, timeout_s=timeout_s)


def run_basenames(session: Session) -> dict[int, str]:
    """File name stem per run id: ``left``/``right``, or ``left-1``, ``left-2``... if a
    slot has several runs (numbered in run order)."""
    out: dict[int, str] = {}
    for slot in ("left", "right"):
        runs = [run for run in session.runs if run.slot == slot]
        for index, run in enumerate(runs, start=1):
            out[run.id] = slot if len(runs) == 1 else f"{slot}-{index}"
    return out


# --------------------------------------------------------------------------- writing


def _write_folder(
    out_dir: Path, contents: Mapping[str, bytes], session_id: int, *, overwrite: bool
) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} is a file, not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        previous = _previous_export(out_dir)
        if not overwrite and (previous is None or previous.get("id") != session_id):
            raise ExportError(
                f"{out_dir} already holds other files; choose a new folder "
                "(or overwrite them with --force)"
            )
        _refresh_in_place(out_dir, contents, previous)
        return

    parent = out_dir.parent
    locations.ensure(parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=parent))
    try:
        tmp.chmod(0o755)
        for name, data in contents.items():
            _write_synced(tmp / name, data)
        if out_dir.is_dir():
            out_dir.rmdir()  # empty (checked above); rename needs it gone or empty
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(parent)


def _refresh_in_place(
    out_dir: Path, contents: Mapping[str, bytes], previous: Mapping[str, Any] | None
) -> None:
    for name, data in contents.items():
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.chmod(0o644)
            tmp.replace(out_dir / name)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    # Pictures of the earlier export that this one no longer has.
    for name in _previous_picture_names(previous) - set(contents):
        with contextlib.suppress(OSError):
            (out_dir / name).unlink()
    _fsync_dir(out_dir)


def _previous_export(out_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out_dir / "session.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("format") == EXPORT_FORMAT:
        return data
    return None


_PICTURE_NAME = re.compile(r"^(left|right)(-\d+)?\.(svg|png)$")


def _previous_picture_names(previous: Mapping[str, Any] | None) -> set[str]:
    names: set[str] = set()
    for run in (previous or {}).get("runs", []):
        for key in ("svg", "png"):
            name = run.get("files", {}).get(key) if isinstance(run, dict) else None
            if isinstance(name, str) and _PICTURE_NAME.match(name):
                names.add(name)
    return names


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- session.json


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def session_to_json(session: Session, files: Mapping[int, RunFiles]) -> dict[str, Any]:
    """The machine-readable form written to ``session.json`` (secrets scrubbed)."""
    session = scrub_session(session)
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "id": session.id,
        "created_at": _ts(session.created_at),
        "prompt": session.prompt,
        "title": session.title,
        "verdict": session.verdict,
        "verdict_note": session.verdict_note,
        "runs": [_run_to_json(run, files.get(run.id, RunFiles())) for run in session.runs],
    }


def _run_to_json(run: Run, files: RunFiles) -> dict[str, Any]:
    return {
        "id": run.id,
        "session_id": run.session_id,
        "slot": run.slot,
        "backend": run.backend,
        "model_id": run.model_id,
        "model_info": run.model_info,
        "settings": run.settings,
        "thinking_text": run.thinking_text,
        "answer": run.answer,
        "svg": run.svg,
        "svg_note": run.svg_note,
        "png_sha256": hashlib.sha256(run.png).hexdigest() if run.png is not None else None,
        "status": run.status,
        "failure_reason": run.failure_reason,
        "timings": run.timings,
        "usage": run.usage,
        "peak_ram": run.peak_ram,
        "host": run.host,
        "started_at": _ts(run.started_at),
        "finished_at": _ts(run.finished_at),
        "files": {"svg": files.svg, "png": files.png, "png_source": files.png_source},
    }


def session_from_json(
    data: Mapping[str, Any], read_file: Callable[[str], bytes] | None = None
) -> Session:
    """Rebuild a :class:`Session` from ``session.json`` data.

    A run's ``png`` is filled (through ``read_file(name)``) only where the
    export copied a stored picture, so a store → export → load round trip
    gives back an equal session.
    """
    if data.get("format") != EXPORT_FORMAT:
        raise ExportError("not a pelican-tui session export")
    if int(data.get("format_version", 0)) > EXPORT_FORMAT_VERSION:
        raise ExportError("this session export was written by a newer pelican-tui")
    runs = []
    for item in data["runs"]:
        files = item.get("files") or {}
        png = None
        if files.get("png_source") == "stored" and files.get("png") and read_file is not None:
            png = read_file(files["png"])
        finished = item.get("finished_at")
        runs.append(
            Run(
                id=item["id"],
                session_id=item["session_id"],
                slot=item["slot"],
                backend=item["backend"],
                model_id=item["model_id"],
                model_info=item["model_info"],
                settings=item["settings"],
                thinking_text=item["thinking_text"],
                answer=item["answer"],
                svg=item["svg"],
                svg_note=item["svg_note"],
                png=png,
                status=item["status"],
                failure_reason=item["failure_reason"],
                timings=item["timings"],
                usage=item["usage"],
                peak_ram=item["peak_ram"],
                host=item["host"],
                started_at=datetime.fromisoformat(item["started_at"]),
                finished_at=datetime.fromisoformat(finished) if finished else None,
            )
        )
    return Session(
        id=data["id"],
        created_at=datetime.fromisoformat(data["created_at"]),
        prompt=data["prompt"],
        title=data["title"],
        verdict=data["verdict"],
        verdict_note=data.get("verdict_note"),
        runs=tuple(runs),
    )


def load_export(out_dir: Path) -> Session:
    """Read an export folder back (``session.json`` plus stored PNGs)."""
    out_dir = Path(out_dir)
    try:
        data = json.loads((out_dir / "session.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ExportError(f"cannot read {out_dir / 'session.json'}: {error}") from error

    def read_file(name: str) -> bytes:
        if Path(name).name != name:  # only files beside session.json
            raise ExportError(f"unexpected file name in session.json: {name!r}")
        return (out_dir / name).read_bytes()

    return session_from_json(data, read_file)


# --------------------------------------------------------------------------- formatting values

_MODEL_LABELS = {
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
    "server_version": "Server version",
    "server_build": "Server build",
    "context": "Context size",
    "server_args": "Server arguments",
    "server_flags": "Server arguments",
}
_SERVER_ARG_KEYS = ("server_args", "server_flags")
"""model_info keys holding llama-server's arguments (a list, binary first or not)."""
_SETTINGS_LABELS = {
    "thinking": "Thinking",
    "effort": "Effort",
    "max_tokens": "Max tokens",
    "sampling": "Sampling",
    "system": "System prompt",
}
_TIMING_LABELS = {
    "time_to_first_token_s": "Time to first token",
    "prompt_tokens_per_s": "Prompt speed",
    "generation_tokens_per_s": "Generation speed",
    "total_s": "Total time",
    "prompt_tokens": "Prompt tokens",
    "generated_tokens": "Generated tokens",
}
_USAGE_LABELS = {
    "input_tokens": "Input tokens",
    "output_tokens": "Output tokens",
    "thinking_tokens": "Thinking tokens",
}
_HOST_LABELS = {
    "cpu": "CPU",
    "cpu_cores": "CPU cores",
    "cpu_threads": "CPU threads",
    "ram_total_bytes": "RAM",
    "os": "OS",
    "arch": "Architecture",
    "python": "Python",
    "pelican_tui": "pelican-tui",
}


def _human_bytes(n: float) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _human_count(n: float) -> str:
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
            return f"{_human_bytes(value)} ({int(value):,} bytes)"
        if key.endswith("_params"):
            return _human_count(value)
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list | tuple):
        if all(isinstance(item, str) for item in value):
            return shlex.join(value)
        return ", ".join(format_value(key, item) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(str(k), v)}" for k, v in value.items())
    return str(value)


def labelled_rows(data: Mapping[str, Any], labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """Known keys in their order with their labels, then the others by name."""
    rows = [(label, format_value(key, data[key])) for key, label in labels.items() if key in data]
    rows += [(key, format_value(key, data[key])) for key in sorted(data) if key not in labels]
    return rows


def run_label(run: Run) -> str:
    return f"{run.slot.title()} · {run.backend} · {run.model_id}"


def verdict_text(session: Session) -> str:
    if session.verdict is None:
        return "no verdict yet"
    if session.verdict == "tie":
        return "a tie"
    models = sorted({run.model_id for run in session.runs_in(session.verdict)})
    who = f" ({', '.join(models)})" if models else ""
    return f"{session.verdict}{who} is better"


def _thinking_mode(run: Run) -> str:
    return format_value("thinking", run.settings.get("thinking"))


def _summary_rows(run: Run) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("Status", run.status)]
    if run.failure_reason:
        rows.append(("Failure", run.failure_reason))
    rows.append(("Thinking", _thinking_mode(run)))
    if "effort" in run.settings:
        rows.append(("Effort", format_value("effort", run.settings["effort"])))
    rows += labelled_rows(run.timings, _TIMING_LABELS)
    rows += labelled_rows(run.usage, _USAGE_LABELS)
    rows += [(f"Peak RAM: {key}", format_value(key, v)) for key, v in sorted(run.peak_ram.items())]
    return rows


# --------------------------------------------------------------------------- run-card.md


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell (and free of raw HTML)."""
    text = " ".join(text.split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _md_table(rows: Iterable[tuple[str, str]]) -> list[str]:
    rows = list(rows)
    if not rows:
        return ["(none recorded)", ""]
    lines = ["| Key | Value |", "|---|---|"]
    lines += [f"| {_md(key)} | {_md(value)} |" for key, value in rows]
    return [*lines, ""]


def _fence(text: str, info: str = "text") -> list[str]:
    """A fenced block longer than any backtick run inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{info}", text, ticks, ""]


def _server_command(run: Run) -> str | None:
    args = next((run.model_info[k] for k in _SERVER_ARG_KEYS if k in run.model_info), None)
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
    for key in _SERVER_ARG_KEYS:
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
    for key in _SERVER_ARG_KEYS:
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


@dataclass(frozen=True, slots=True)
class _Rerun:
    command: str
    has_path: bool
    """Whether the local model is named by its path (or -hf reference, or URL)."""
    notes: tuple[str, ...] = ()


def _thinking_of(run: Run) -> bool | None:
    value = run.settings.get("thinking")
    return value if isinstance(value, bool) else None


def _headless_command(session: Session) -> _Rerun:
    """``pelican-tui run ...`` for this session, with what it can't reproduce."""
    parts = ["pelican-tui", "run", "--prompt", session.prompt]
    complete = True
    notes: list[str] = []
    local = next((run for run in session.runs if run.backend != "claude"), None)
    if local is not None:
        info = local.model_info
        if local.backend == "openai" and info.get("url"):
            parts += ["--url", str(info["url"])]
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
    claude = next((run for run in session.runs if run.backend == "claude"), None)
    if claude is not None:
        parts += ["--claude-model", claude.model_id]
    else:
        parts.append("--no-claude")
    modes = {mode for run in session.runs if (mode := _thinking_of(run)) is not None}
    chosen = _thinking_of(local) if local is not None else None
    if claude is not None and len(modes) == 2 and chosen is not None:
        # With Claude, `run` gives both sides one mode per session: keep the local one.
        modes = {chosen}
        notes.append(
            f"Here the local model thought {'on' if chosen else 'off'} and Claude "
            f"{'off' if chosen else 'on'}; `pelican-tui run` gives both sides the same "
            "mode, so Claude's side will differ."
        )
    if modes:
        parts += ["--thinking", "both" if len(modes) == 2 else ("on" if True in modes else "off")]
    parts += ["--out", "DIR"]
    return _Rerun(shlex.join(parts), complete, tuple(notes))


def render_run_card(session: Session, files: Mapping[int, RunFiles]) -> str:
    """The Markdown run card: what ran, how, how fast, on what, and what came out.

    Secrets are scrubbed (:func:`~.session_store.scrub_session`)."""
    session = scrub_session(session)
    names = run_basenames(session)
    lines = [
        f"# Pelican run card: session {session.id}",
        "",
        f"- **Title:** {_md(session.title)}",
        f"- **Date:** {session.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
        f"- **Verdict:** {_md(verdict_text(session))}",
    ]
    if session.verdict_note:
        lines.append(f"- **Verdict note:** {_md(session.verdict_note)}")
    lines += ["", "## Prompt", "", *_fence(session.prompt)]

    hosts: list[dict[str, Any]] = []
    for run in session.runs:
        if run.host and run.host not in hosts:
            hosts.append(run.host)

    for run in session.runs:
        base = names[run.id]
        run_files = files.get(run.id, RunFiles())
        lines += [f"## {_md(base.title())}: {_md(run.backend)} — {_md(run.model_id)}", ""]
        overview = [
            ("Status", run.status),
            ("Started", f"{run.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"),
            (
                "Finished",
                f"{run.finished_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
                if run.finished_at
                else "—",
            ),
        ]
        if run.failure_reason:
            overview.append(("Failure", run.failure_reason))
        overview.append(("SVG file", run_files.svg or f"none ({run.svg_note or 'no SVG'})"))
        if run.svg_note and run_files.svg:
            overview.append(("SVG note", run.svg_note))
        png = run_files.png
        if png:
            png += " (rendered at export)" if run_files.png_source == "rendered" else ""
        overview.append(("PNG file", png or "none"))
        lines += _md_table(overview)
        command = _server_command(run)
        model_info = run.model_info
        if command:  # shown as a command below rather than as a table row
            model_info = {k: v for k, v in model_info.items() if k not in _SERVER_ARG_KEYS}
        lines += ["### Model", "", *_md_table(labelled_rows(model_info, _MODEL_LABELS))]
        if command:
            lines += ["Server command:", "", *_fence(command, "sh")]
        lines += ["### Settings", "", *_md_table(labelled_rows(run.settings, _SETTINGS_LABELS))]
        lines += ["### Timings", "", *_md_table(labelled_rows(run.timings, _TIMING_LABELS))]
        lines += ["### Usage", "", *_md_table(labelled_rows(run.usage, _USAGE_LABELS))]
        lines += ["### Peak RAM", "", *_md_table(labelled_rows(run.peak_ram, {}))]
        if len(hosts) > 1:
            lines += ["### Host", "", *_md_table(labelled_rows(run.host, _HOST_LABELS))]
        if run.thinking_text:
            lines += [f"### Thinking ({len(run.thinking_text):,} characters)", ""]
            lines += _fence(run.thinking_text)
        lines += [f"### Answer ({len(run.answer):,} characters)", ""]
        lines += _fence(run.answer) if run.answer else ["(empty)", ""]

    if len(hosts) == 1:
        lines += ["## Host", "", *_md_table(labelled_rows(hosts[0], _HOST_LABELS))]
    rerun = _headless_command(session)
    replace = "replace DIR" if rerun.has_path else "replace DIR; give the local model's path"
    lines += [
        "## Run it again",
        "",
        f"The same comparison without the TUI ({replace}):",
        "",
        *_fence(rerun.command, "sh"),
        *(line for note in rerun.notes for line in (_md(note), "")),
        "The .svg files are the model's output exactly as written: open them with an image",
        "viewer or through index.html rather than directly in a browser tab.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- index.html

_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

_CSS = """
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #f6f5f2; --card: #fff;
  --muted: #6b6b70; --line: #dcdcde; --win: #2f8f4e; }
@media (prefers-color-scheme: dark) { :root { --fg: #ececec; --bg: #18181a; --card: #232326;
  --muted: #a0a0a6; --line: #3a3a3e; --win: #5cc27f; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.5rem; font: 15px/1.45 system-ui, sans-serif; color: var(--fg);
  background: var(--bg); }
header { max-width: 1200px; margin: 0 auto 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
.prompt { white-space: pre-wrap; background: var(--card); border: 1px solid var(--line);
  border-radius: 6px; padding: .6rem .8rem; margin: .5rem 0; }
.meta { color: var(--muted); }
.verdict { font-weight: 600; }
main { max-width: 1200px; margin: 0 auto; display: grid;
  grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
section.slot { display: flex; flex-direction: column; gap: 1rem; }
article { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 1rem; }
article.winner { border: 2px solid var(--win); }
h2 { font-size: 1.05rem; margin: 0 0 .6rem; overflow-wrap: anywhere; }
.pictures { display: grid; grid-template-columns: 1fr 1fr; gap: .6rem; }
figure { margin: 0; }
figure img { width: 100%; height: auto; aspect-ratio: 1 / 1; object-fit: contain;
  background: #fff; border: 1px solid var(--line); border-radius: 4px; }
figcaption { font-size: .8rem; color: var(--muted); }
.missing { color: var(--muted); font-style: italic; padding: 1rem 0; }
table { border-collapse: collapse; width: 100%; margin-top: .6rem; font-size: .9rem; }
th, td { text-align: left; padding: .15rem .4rem; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 500; color: var(--muted); width: 40%; }
details { margin-top: .6rem; }
summary { cursor: pointer; color: var(--muted); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .8rem; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_table(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>" if body else ""


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _html_run(
    run: Run, base: str, files: RunFiles, pictures: Mapping[str, bytes], winner: bool
) -> str:
    figures = []
    if files.png and files.png in pictures:
        how = "stored by pelican-tui" if files.png_source == "stored" else "rendered at export"
        png_uri = _data_uri("image/png", pictures[files.png])
        figures.append(
            f'<figure><img alt="{_e(base)} PNG" src="{png_uri}">'
            f"<figcaption>PNG, {_e(how)}</figcaption></figure>"
        )
    if files.svg and files.svg in pictures:
        figures.append(
            f'<figure><img alt="{_e(base)} SVG" '
            f'src="{_data_uri("image/svg+xml", pictures[files.svg])}">'
            "<figcaption>SVG, drawn by your browser as an image</figcaption></figure>"
        )
    if figures:
        pictures_html = f'<div class="pictures">{"".join(figures)}</div>'
    else:
        pictures_html = f'<p class="missing">{_e(run.svg_note or "No SVG in the answer.")}</p>'
    model_rows = labelled_rows(run.model_info, _MODEL_LABELS)
    settings_rows = labelled_rows(run.settings, _SETTINGS_LABELS)
    details = ""
    if model_rows or settings_rows:
        details = (
            "<details><summary>Model and settings</summary>"
            f"{_html_table(model_rows)}{_html_table(settings_rows)}</details>"
        )
    if run.answer:
        details += f"<details><summary>Answer</summary><pre>{_e(run.answer)}</pre></details>"
    cls = ' class="winner"' if winner else ""
    return (
        f"<article{cls}><h2>{_e(base.title())} · {_e(run.backend)} · {_e(run.model_id)}</h2>"
        f"{pictures_html}{_html_table(_summary_rows(run))}{details}</article>"
    )


def render_html(
    session: Session, files: Mapping[int, RunFiles], pictures: Mapping[str, bytes]
) -> str:
    """The self-contained page: pictures side by side, stats, verdict. No script.

    The session's texts are scrubbed of secrets; ``pictures`` are shown as given."""
    session = scrub_session(session)
    names = run_basenames(session)
    columns = []
    for slot in ("left", "right"):
        runs = session.runs_in(slot)
        if not runs:
            continue
        winner = session.verdict == slot
        articles = "".join(
            _html_run(run, names[run.id], files.get(run.id, RunFiles()), pictures, winner)
            for run in runs
        )
        columns.append(f'<section class="slot" aria-label="{slot}">{articles}</section>')
    when = f"{session.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(session.title or 'pelican-tui session')} · session {session.id}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(session.title or 'Session')}</h1>"
        f'<div class="meta">Session {session.id} · {_e(when)}</div>'
        f'<div class="prompt">{_e(session.prompt)}</div>'
        f'<div class="verdict">Verdict: {_e(verdict_text(session))}</div>'
        + (f'<div class="meta">{_e(session.verdict_note)}</div>' if session.verdict_note else "")
        + f"</header><main>{''.join(columns)}</main></body></html>\n"
    )
