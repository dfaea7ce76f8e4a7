"""Messages the app's workers post to widgets, and what any failed worker says.

High-rate ones (resource ticks) replace an unprocessed predecessor in the
queue (``can_replace``), so a slow screen never falls behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.llama.process import ServerStatus
from pelican_tui.backends.resources import ResourceSample

if TYPE_CHECKING:
    from textual.app import App


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


@frozen
class KeyRow:
    """One key of the main screen as the user has it (help screen, command palette)."""

    keys: str
    """As displayed, e.g. ``r`` or ``? / f1``."""
    description: str
    action: str
    id: str | None
    """What ``[ui.keymap]`` uses to remap it."""


def say_if_failed(node: App[Any] | Widget, event: Worker.StateChanged) -> None:
    """A failed worker's error as a notification. Textual tells only the node that
    started the worker (the app, or a screen), so each of them passes it here."""
    if event.state is WorkerState.ERROR and event.worker.error is not None:
        node.notify(
            f"{event.worker.name}: {event.worker.error}",
            title="Something went wrong",
            severity="error",
            timeout=15,
        )
