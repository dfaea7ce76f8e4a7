"""Writing a file so that whoever reads it sees the old one or the new one, whole.

Every file pelican-tui keeps for itself (the app's state, the cached memory
bandwidth and file hashes, ``run``'s ``summary.json``, an export's files) is
written with :func:`replace_file`: into a temporary file beside it, synced to
disk, then renamed over it. A crash, a full disk or a second pelican-tui
writing the same file at the same moment leaves the old file or the new one,
never a mix, and no temporary file behind.

Files a person names on the command line (``render -o``, ``leaderboard
--csv``) are written where they are, as named: they may be a device or a pipe,
which a rename would replace.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

FILE_MODE = 0o644
"""What a written file may be read by: everyone, as a plainly written file would be
(a temporary file is made readable by its owner alone)."""


def replace_file(target: Path, data: bytes | str) -> None:
    """Replace ``target`` with ``data`` (text is written as UTF-8) atomically.

    The folder must exist. Raises OSError; the temporary file is removed then."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write_synced(tmp, payload)
        tmp.chmod(FILE_MODE)
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and wait until it is on disk."""
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def sync_folder(path: Path) -> None:
    """Put a folder's new and renamed entries on disk (where the system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["FILE_MODE", "replace_file", "sync_folder", "write_synced"]
