"""Messages the app's workers post to widgets.

High-rate ones (resource ticks) replace an unprocessed predecessor in the
queue (``can_replace``), so a slow screen never falls behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from pelican_tui.backends.llama.process import ServerStatus
from pelican_tui.backends.resources import ResourceSample


@dataclass
class ResourceTick(Message):
    """A new psutil sample for the status bar."""

    sample: ResourceSample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ResourceTick)


@dataclass
class ServerStatusChanged(Message):
    """llama-server changed state (loading, ready, crashed...)."""

    status: ServerStatus


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One key of the main screen as the user has it (help screen, command palette)."""

    keys: str
    """As displayed, e.g. ``r`` or ``? / f1``."""
    description: str
    action: str
    id: str | None
    """What ``[ui.keymap]`` uses to remap it."""
