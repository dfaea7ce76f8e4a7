"""``pelican-tui setup`` and the set-up before the TUI starts, with progress on stderr.

On a fresh machine this finds or builds llama-server and fetches the default
model, so the app itself starts in under a second.
"""

from __future__ import annotations

import sys

from pelican_tui.backends.llama.prepare import Prepared, setup
from pelican_tui.backends.settings import Settings
from pelican_tui.cli.columns import print_folded


def say(message: str) -> None:
    """One progress line on stderr (stdout stays free for command output), folded
    between words on a terminal (llama-server's path and where it came from ran past
    80 columns)."""
    print_folded(f"[pelican-tui] {message}", sys.stderr)
    sys.stderr.flush()


def run_setup(settings: Settings) -> int:
    prepared = setup(settings, say)
    if prepared.problem:
        print(f"pelican-tui: {prepared.problem}", file=sys.stderr)
        return 1
    if prepared.binary is not None:
        say(f"llama-server: {prepared.binary} ({prepared.binary_source})")
    if problem := _model_problem(settings):
        print(f"pelican-tui: local model: {problem}", file=sys.stderr)
        return 1
    if problem := _local_problem(settings):
        print_folded(f"pelican-tui: the local side cannot run: {problem}", sys.stderr)
        return 1
    say("setup complete")
    return 0


def _local_problem(settings: Settings) -> str | None:
    """Why the local side cannot run, checked as ``pelican-tui doctor`` checks it (is
    llama-server one, can its model be loaded; a ``--url`` server contacted), in the
    words of doctor's lines marked ``!!``; None when it can run."""
    from pelican_tui.backends.secrets import scrub_text
    from pelican_tui.backends.text import printable
    from pelican_tui.cli.doctor import check_local

    cannot: list[str] = []

    def keep(label: str, value: str, ok: bool | None = None) -> None:
        if ok is False:
            words = printable(scrub_text(value))
            cannot.append(f"{label}: {words}" if label else words)

    can_run, _ = check_local(settings, keep)
    if can_run:
        return None
    return "; ".join(cannot or ["a check failed"]) + "; pelican-tui doctor says more"


def _model_problem(settings: Settings) -> str | None:
    """Why the model file the local side would load cannot be read, or None (a server
    attached to, or a model llama-server fetches itself, is not checked here)."""
    from pelican_tui.backends.llama.local_model import plan_local

    plan = plan_local(settings.local)
    return plan.info_error if plan.mode == "spawn" and plan.model_path is not None else None


def prepare_for_tui(settings: Settings) -> Prepared:
    prepared = setup(settings, say)
    if prepared.problem:
        # Still start: the app shows the problem in the local pane, and the
        # Claude side can run. Say it here too, in case the screen is cleared.
        say(prepared.problem)
    return prepared
