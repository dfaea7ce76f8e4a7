"""What a pane runs and how it is titled, without the sides that run it.

:class:`PaneChoice` and :class:`PaneHeader` are what a front end keeps and
draws; :mod:`.sides` builds the sides (backends, llama-server) and titles panes
from them. This module imports neither, so a front end can draw its first
frame before the run engine is built: :func:`first_view` says from the
settings alone what the engine would say before anything has been read or
contacted (the default choices, the pane titles, the status-bar notes).
``tests/test_first_frame.py`` holds it to the engine's own answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.protocol import Effort
from pelican_tui.backends.secrets import url_without_credentials
from pelican_tui.backends.text import thinking_word

if TYPE_CHECKING:
    from pelican_tui.backends.llama.prepare import Prepared
    from pelican_tui.backends.settings import Settings
    from pelican_tui.backends.store.records import Slot

SLOTS: tuple[Slot, Slot] = ("left", "right")
"""The panes, left then right."""

LOCAL, REMOTE, CLAUDE = "local", "remote", "claude"
"""The keys of the sides (a :class:`PaneChoice` names one)."""


@frozen
class PaneChoice:
    """What a pane runs: a side, with thinking on or off (and an effort, where it has one)."""

    side: str
    thinking: bool
    effort: Effort | None = None
    """None: the side's default (``claude.effort``); ignored by sides without efforts."""


@frozen
class PaneHeader:
    """How a pane is titled for a choice: the model, and one line of facts."""

    title: str
    facts: str
    ceiling_tok_s: float | None = None
    """The memory-bandwidth decode ceiling (a spawned local model only)."""
    thinking: str | None = None
    """How a run of the choice thinks, as its configuration names it after "thinking"
    (Claude's effort: "high"); None: "on" or "off", as the choice's switch is."""
    thinking_switch: bool = True
    """False: the facts say "no thinking switch" (its server's check found none), so
    what a run of the choice is asked of thinking changes nothing."""


@frozen
class FirstView:
    """What the panes and the status bar show before the engine is built."""

    choices: dict[Slot, PaneChoice]
    headers: dict[Slot, PaneHeader]
    notes: list[tuple[str, bool]]
    """The status bar's notes of sides without a server process ("claude: ready"),
    each with whether a pane runs on its side."""


def first_view(settings: Settings, prepared: Prepared) -> FirstView | None:
    """What :class:`~.comparison.ComparisonEngine` (built with ``read_header=False``)
    gives as its default choices, their headers and its sides' notes, from the
    settings alone; None where they cannot say it (a models folder: its files are
    the choices)."""
    from pelican_tui.backends.anthropic_backend import ClaudeBackend
    from pelican_tui.backends.llama.local_model import plan_local, uses_models_folder

    local, claude = settings.local, settings.claude
    if uses_models_folder(local):
        return None
    plan = plan_local(local, read_header=False)
    has_local = plan.mode == "attach" or prepared.binary is not None
    claude_ready = ClaudeBackend(claude).status().ready
    choices: dict[Slot, PaneChoice] = {
        "left": PaneChoice(LOCAL, local.thinking),
        "right": PaneChoice(CLAUDE, claude.thinking)
        if claude_ready
        else PaneChoice(LOCAL, not local.thinking),
    }

    def header(choice: PaneChoice, number: str) -> PaneHeader:
        if choice.side == CLAUDE:
            think = (choice.effort or claude.effort) if choice.thinking else "off"
            return PaneHeader(f"{number} claude · {claude.model}", f"thinking {think}", None, think)
        if not has_local:
            return PaneHeader(f"{number} local · unavailable", "")
        if plan.mode == "attach":  # not checked yet: named by the settings, its URL as facts
            name = local.url_model or plan.label
            facts = f"{url_without_credentials(plan.url or '')} · {thinking_word(choice.thinking)}"
            return PaneHeader(f"{number} local · {name}", facts)
        facts = f"ctx {local.context} · {thinking_word(choice.thinking)}"  # the header unread
        return PaneHeader(f"{number} local · {plan.label}", facts)

    headers = {slot: header(choices[slot], str(i)) for i, slot in enumerate(SLOTS, 1)}
    if not claude.enabled:
        note = "claude: off"
    else:
        note = "claude: ready" if claude_ready else "claude: no key"
    in_a_pane = any(choice.side == CLAUDE for choice in choices.values())
    return FirstView(choices, headers, [(note, in_a_pane)])


__all__ = [
    "CLAUDE",
    "LOCAL",
    "REMOTE",
    "SLOTS",
    "FirstView",
    "PaneChoice",
    "PaneHeader",
    "first_view",
]
