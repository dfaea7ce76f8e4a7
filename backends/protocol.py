"""One small protocol in front of every model backend.

The spawned llama-server, any OpenAI-compatible URL and Anthropic all look the
same to the UI: a :class:`ModelBackend` with :class:`Capabilities` flags and a
``generate`` method that yields :mod:`~pelican_tui.backends.events`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import field
from typing import Literal, Protocol, runtime_checkable

from pelican_tui.backends.events import GenerationEvent
from pelican_tui.backends.frozen import frozen

DEFAULT_PROMPT = "Generate an SVG of a pelican riding a bicycle"

Effort = Literal["low", "medium", "high", "xhigh", "max"]
EFFORTS: tuple[Effort, ...] = ("low", "medium", "high", "xhigh", "max")


@frozen
class Capabilities:
    """What a backend can do, so the UI never has to know which backend it is."""

    can_cancel: bool = True
    owns_process: bool = False
    supports_thinking: bool = True
    supports_effort: bool = False
    efforts: tuple[Effort, ...] = ()
    """The effort levels it takes, lowest first (empty: none); ``e`` cycles these."""
    thinking_off: bool = True
    """Whether thinking can be turned off (False: the model takes levels and reasons
    whatever it is sent, as Ollama's gpt-oss does; its lowest level is as low as it goes)."""


@frozen
class Sampling:
    """Sampling parameters sent per request (None: the server's default)."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    presence_penalty: float | None = None


@frozen
class GenerationRequest:
    """One prompt for one backend."""

    prompt: str = DEFAULT_PROMPT
    thinking: bool = True
    system: str | None = None
    max_tokens: int = 8192
    effort: Effort = "high"
    sampling: Sampling | None = None
    """None: the backend picks the model card's recommendation for the mode."""
    extra: dict[str, object] = field(default_factory=dict)


@frozen
class BackendStatus:
    """Whether a backend can take a request now, in words for the status bar."""

    ready: bool
    message: str
    hint: str | None = None


@runtime_checkable
class ModelBackend(Protocol):
    """Everything the UI and the headless runner need from a model backend."""

    name: str
    """A short label for the pane title ("local", "claude")."""
    capabilities: Capabilities

    def status(self) -> BackendStatus:
        """Whether the backend can run now (configured, server ready...)."""
        ...

    def describe(self) -> dict[str, str]:
        """Key facts about the model for display and for the session record."""
        ...

    def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        """Stream one generation. Always ends with ``Finished`` or ``Failed``.

        Cancel by closing the iterator (``aclose()``) or cancelling the task
        consuming it: the underlying HTTP stream is closed, which stops the
        generation server-side.
        """
        ...
