"""What a resource sample holds, and bytes in a status bar's words.

The numbers are taken by :mod:`pelican_tui.backends.resource_sampler` (psutil
and ``/proc``); the widgets that draw them need only this module, so drawing
the first frame does not import psutil.
"""

from __future__ import annotations

from pelican_tui.backends.frozen import frozen


@frozen
class ResourceSample:
    ram_total: int
    ram_used: int
    ram_available: int
    swap_used: int
    cpu_percent: float
    """System-wide CPU% since the previous sample."""
    own_rss: int
    server_rss: int | None = None
    server_model_mapped: int | None = None
    """Resident bytes of the mapped model file inside llama-server."""
    server_cpu_percent: float | None = None
    """llama-server's CPU% since the previous sample (100 = one core)."""
    server_note: str | None = None
    """Why an attached server's memory is not shown ("remote, memory not visible")."""
    server_suspended: bool = False
    """llama-server is stopped by a signal (SIGSTOP, ctrl+z): alive, answering nothing."""


def format_bytes(value: int | None) -> str:
    """``1.5G``, ``340M``: short enough for a status bar."""
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "K", "M", "G", "T"):
        shown = round(size) if unit in ("B", "K", "M") else round(size, 1)
        if shown < 1024 or unit == "T":  # 1023.7M is "1.0G", not "1024M"
            return f"{shown:.0f}{unit}" if unit in ("B", "K", "M") else f"{shown:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}T"
