"""What is rated: a configuration, the model and the settings that shape its pictures.

Votes judge runs; ratings are per configuration, so every run of the same set-up
counts for the same entry on the leaderboard:

- a spawned local model: the GGUF file, its quantization, thinking on or off;
- Claude: the model, thinking off or thinking with its effort;
- an OpenAI-compatible server (``--url`` or the remote): the served model,
  thinking off, on, or with the level it was sent where the model has levels
  (Ollama's gpt-oss: "thinking low" and "thinking high" are rated apart).

Thinking is what the run did: a server that ignored the switch (or had none)
rates the run by whether reasoning arrived, not by what was asked
(:func:`thinking_ran`). Sampling, context size and the machine are not part of it: they are recorded
with each run, and a configuration that should be rated apart gets a
different model file or server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pelican_tui.backends.text import LABEL_PARTS, thinking_word


@dataclass(frozen=True, slots=True, order=True)
class Configuration:
    """One rated set-up: ``key`` identifies it (stable across runs and sessions),
    ``label`` is what people read ("Qwen3.6-35B-A3B-Q4_K_M · thinking on")."""

    key: str
    label: str


class ConfiguredRun(Protocol):
    """What :func:`configuration_of` reads: a stored :class:`~.store.records.Run`
    or a :class:`~.store.records.RunHeader`."""

    @property
    def backend(self) -> str: ...

    @property
    def model_id(self) -> str: ...

    @property
    def model_info(self) -> Mapping[str, Any]: ...

    @property
    def settings(self) -> Mapping[str, Any]: ...


def configuration_of(run: ConfiguredRun) -> Configuration:
    """The configuration a run was made with (see the module doc)."""
    thinking = thinking_ran(run.settings)
    if run.backend == "local":
        return _local(run, thinking)
    if run.backend == "claude":
        return _claude(run, thinking)
    return _served(run, thinking)


def thinking_ran(settings: Mapping[str, Any]) -> bool:
    """Whether a run thought: what it asked, unless the check after it found that the
    server did otherwise (it ignored the switch, or had none to send)."""
    ran = settings.get("thinking_ran")
    if isinstance(ran, bool):
        return ran
    asked = bool(settings.get("thinking"))
    # Runs recorded before thinking_ran: an ignored switch did the opposite.
    return not asked if settings.get("thinking_switch_ignored") is True else asked


def thinking_words(asked: bool, ran: bool, effort: str | None = None) -> str:
    """A run's thinking in a word, as its configuration's label says it after "thinking":
    what it was asked, with its ``effort`` where it has one (Claude's: "high"), and what
    it did where that differs ("on (did not)": no reasoning arrived; "off (thought)": the
    server ignored the switch)."""
    if ran == asked:
        return (effort or "on") if asked else "off"
    return "on (did not)" if asked else "off (thought)"


def run_label(run: ConfiguredRun) -> str:
    """A stored run's configuration label, its thinking said as the run went where that
    was not as asked ("… · thinking off (thought)", as its numbers line says it)."""
    label = configuration_of(run).label
    if thinking_ran(run.settings) == bool(run.settings.get("thinking")):
        return label
    words = recorded_thinking_words(run.settings)
    return f"{label.rpartition(LABEL_PARTS)[0]}{LABEL_PARTS}thinking {words}"


def recorded_thinking_words(settings: Mapping[str, Any]) -> str:
    """:func:`thinking_words` for a stored run's settings (its effort, where it was sent
    one: "high", as :func:`configuration_of` names it)."""
    effort = _text(settings.get("effort"))
    return thinking_words(bool(settings.get("thinking")), thinking_ran(settings), effort)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _local(run: ConfiguredRun, thinking: bool) -> Configuration:
    file = _text(run.model_info.get("file")) or _text(run.model_id) or "unknown model"
    quant = _text(run.model_info.get("quant"))
    name = file.removesuffix(".gguf")
    shown = name if not quant or quant.lower() in name.lower() else f"{name} {quant}"
    key = f"local|{file}|{quant}|{'think' if thinking else 'no-think'}"
    return Configuration(key, f"{shown} · {thinking_word(thinking)}")


def _claude(run: ConfiguredRun, thinking: bool) -> Configuration:
    model = _text(run.model_id) or _text(run.model_info.get("model")) or "claude"
    mode, words = _thinking_mode(run, thinking)
    return Configuration(f"claude|{model}|{mode}", f"{model} · {words}")


def _thinking_mode(run: ConfiguredRun, thinking: bool) -> tuple[str, str]:
    """A run's thinking as its configuration's key and label have it: with the effort
    it recorded where it has one (Claude's; a served model's level)."""
    effort = _text(run.settings.get("effort")) if thinking else ""
    if not thinking:
        return "no-think", "thinking off"
    if effort:
        return f"think-{effort}", f"thinking {effort}"
    return "think", "thinking on"


def _served(run: ConfiguredRun, thinking: bool) -> Configuration:
    info = run.model_info
    served = (
        _text(info.get("served_model"))
        or _text(info.get("url_model"))
        or _text(run.model_id)
        or "unknown server model"
    )
    mode, words = _thinking_mode(run, thinking)
    return Configuration(f"{run.backend}|{served}|{mode}", f"{served} (server) · {words}")
