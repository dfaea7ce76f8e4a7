"""``session.json``: the session for machines (stable, sorted keys), and reading it back.

Every field of a stored :class:`Run` is written under its own name, except the
PNG (its sha256, and the file it was copied to) and the times (ISO 8601, UTC).
:func:`load_export` reads a folder back into a :class:`Session` equal to the
stored one. A private prompt set's session is written without its texts
(:mod:`.private`), so it reads back as that: placeholders and numbers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pelican_tui.backends.export.files import ExportError, RunFiles
from pelican_tui.backends.export.private import withhold_private
from pelican_tui.backends.store.records import Run, Session, scrub_session

EXPORT_FORMAT = "pelican-tui-session"
EXPORT_FORMAT_VERSION = 1

_TIMES = ("started_at", "finished_at")
_COPIED = tuple(f.name for f in fields(Run) if f.name not in ("png", *_TIMES))
"""Run fields written to JSON as they are."""
_SINCE_FIRST = {"picture_facts": dict}
"""Run fields older exports lack, with the default they read back as."""


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def session_to_json(session: Session, files: Mapping[int, RunFiles]) -> dict[str, Any]:
    """The machine-readable form written to ``session.json`` (secrets scrubbed, a
    private set's texts left out)."""
    session = withhold_private(scrub_session(session))
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "id": session.id,
        "created_at": _ts(session.created_at),
        "prompt": session.prompt,
        "prompt_set": session.prompt_set,
        "private": session.private,
        "title": session.title,
        "verdict": session.verdict,
        "verdict_note": session.verdict_note,
        "runs": [_run_to_json(run, files.get(run.id, RunFiles())) for run in session.runs],
    }


def session_json_bytes(session: Session, files: Mapping[int, RunFiles]) -> bytes:
    """``session.json`` as written: indented, keys sorted, UTF-8, one final newline."""
    document = session_to_json(session, files)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _run_to_json(run: Run, files: RunFiles) -> dict[str, Any]:
    out: dict[str, Any] = {name: getattr(run, name) for name in _COPIED}
    out.update({name: _ts(getattr(run, name)) for name in _TIMES})
    out["png_sha256"] = hashlib.sha256(run.png).hexdigest() if run.png is not None else None
    out["files"] = {"svg": files.svg, "png": files.png, "png_source": files.png_source}
    return out


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
    try:
        runs = tuple(_run_from_json(item, read_file) for item in data["runs"])
        return Session(
            id=data["id"],
            created_at=datetime.fromisoformat(data["created_at"]),
            prompt=data["prompt"],
            title=data["title"],
            verdict=data["verdict"],
            verdict_note=data.get("verdict_note"),
            runs=runs,
            prompt_set=data.get("prompt_set"),
            private=bool(data.get("private", False)),
        )
    except KeyError as error:
        raise ExportError(f"session.json has no {error.args[0]!r}") from error


def _run_from_json(item: Mapping[str, Any], read_file: Callable[[str], bytes] | None) -> Run:
    files = item.get("files") or {}
    png = None
    if files.get("png_source") == "stored" and files.get("png") and read_file is not None:
        png = read_file(files["png"])
    finished = item.get("finished_at")
    copied = {
        name: item[name] if name in item or name not in _SINCE_FIRST else _SINCE_FIRST[name]()
        for name in _COPIED
    }
    return Run(
        **copied,
        png=png,
        started_at=datetime.fromisoformat(item["started_at"]),
        finished_at=datetime.fromisoformat(finished) if finished else None,
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
