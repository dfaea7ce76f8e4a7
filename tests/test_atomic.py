"""Files pelican-tui keeps for itself are replaced whole (backends/atomic.py)."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from pelican_tui.backends import atomic
from pelican_tui.backends.atomic import replace_file
from pelican_tui.backends.hardware import read_cached_bandwidth, write_cached_bandwidth


def test_a_file_is_replaced_readable_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    replace_file(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    replace_file(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "summary.json"
    target.write_text('{"kept": true}')

    def disk_full(path: Path, data: bytes) -> None:
        path.write_bytes(data[:3])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "write_synced", disk_full)
    with pytest.raises(OSError, match="No space left"):
        replace_file(target, '{"kept": false, "and much more": 1}')
    assert json.loads(target.read_text()) == {"kept": True}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_two_writers_of_one_cache_file_never_break_it(tmp_path: Path) -> None:
    """The bandwidth cache was written through one fixed ``.tmp`` name: two
    pelican-tuis measuring at once renamed each other's half-written file away
    (FileNotFoundError) or left a reader a cut one."""
    path = tmp_path / "bandwidth.json"
    errors: list[BaseException] = []
    stop = threading.Event()

    def write(rate: float) -> None:
        try:
            for _ in range(200):
                write_cached_bandwidth(rate, path)
        except BaseException as error:
            errors.append(error)

    def read() -> None:
        while not stop.is_set():
            if path.exists() and read_cached_bandwidth(path) is None:
                errors.append(AssertionError(f"a reader saw a broken file: {path.read_text()!r}"))
                return

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(1e9 * (n + 1),)) for n in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    assert errors == []
    record = read_cached_bandwidth(path)
    assert record is not None and record.bytes_per_s in {1e9, 2e9, 3e9, 4e9}
    assert [p.name for p in tmp_path.iterdir()] == ["bandwidth.json"]
