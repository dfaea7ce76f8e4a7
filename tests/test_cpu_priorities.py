"""Who gets the CPU while a model streams: llama-server first; the SVG worker niced below
it where it counts. Real processes: the sandboxed SVG worker."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pelican_tui.backends.svg.render import SvgRenderer
from pelican_tui.backends.svg.worker import NICENESS

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="scheduling policies and autogroups are Linux's"
)

AUTOGROUPS = Path("/proc/self/autogroup").exists()
"""Whether this kernel shares the CPU between sessions first (CONFIG_SCHED_AUTOGROUP)."""
PELICAN = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<circle cx="5" cy="5" r="4" fill="orange"/></svg>'
)


def _autogroup(pid: int | str) -> tuple[str, int]:
    """(group, nice) from ``/proc/<pid>/autogroup``: "/autogroup-42 nice 10"."""
    group, _, nice = Path(f"/proc/{pid}/autogroup").read_text().split()
    return group, int(nice)


def test_the_svg_worker_is_niced_in_its_own_scheduling_group() -> None:
    """A nice value weighs only within its session's autogroup, and the worker leads a
    session of its own: the group's nice must be lowered too, or the worker weighs as
    much as llama-server (measured in worker._yield_to_the_model's docstring)."""
    our_nice = os.getpriority(os.PRIO_PROCESS, 0)
    our_group = _autogroup("self") if AUTOGROUPS else None
    with SvgRenderer() as renderer:
        renderer.start()
        assert renderer.render_sync(PELICAN.encode(), 32, 32).ok
        pid = renderer.worker_pid
        assert pid is not None
        expected = min(our_nice + NICENESS, 19)
        assert os.getpriority(os.PRIO_PROCESS, pid) == expected
        assert os.getsid(pid) == pid, "the worker leads its own session"
        if our_group is not None:
            group, nice = _autogroup(pid)
            assert group != our_group[0], "the worker has an autogroup of its own"
            assert nice == expected, f"the worker's autogroup is at nice {nice}"
    if our_group is not None:
        assert _autogroup("self") == our_group, "the app's own group must stay as it was"
