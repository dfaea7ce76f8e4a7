"""What is rated: a configuration, the model and the settings that shape its pictures.

Votes judge runs; ratings are per configuration, so every run of the same set-up
counts for the same entry on the leaderboard:

- a spawned local model: the GGUF file (its sha256), its quantization, thinking
  on or off;
- Claude: the model, thinking off or thinking with its effort;
- an OpenAI-compatible server (``--url`` or the remote): the served model on that
  server, thinking off, on, or with the level it was sent where the model has
  levels (Ollama's gpt-oss: "thinking low" and "thinking high" are rated apart).

Thinking is what the run did: a server that ignored the switch rates the run by
whether reasoning arrived, not by what was asked (:func:`thinking_ran`). A run sent
no switch (its model or server has none: :func:`switch_sent`) is rated as its model
thinks by itself, "no thinking switch", one configuration whatever its pane asked and
whether reasoning arrived. Sampling, context size and the machine's hardware are not
part of it: they are recorded with each run, and a configuration that should be
rated apart gets a different model file or server.

Where a run ran is part of it: one model name on two servers (``qwen3:8b`` on
Ollama and on LM Studio, a spawned GGUF and an attached llama.cpp serving another
file under its name) is two configurations. A server is its host and port as the
run recorded its URL; a spawned model file is its sha256 (the same file copied or
renamed is one configuration). A run stored without those facts is keyed as
before them. Labels stay the model's and its thinking; :func:`told_apart` adds
where it ran only to labels that would otherwise read the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field, replace
from typing import Any, Protocol

from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.text import (
    LABEL_PARTS,
    NO_KNOWN_SWITCH,
    NO_SWITCH,
    NO_THINKING_SWITCH,
    thinking_word,
)
from pelican_tui.backends.urls import split_url

SPAWNED = "spawned"
"""Where a spawned llama-server's run ran, as a label told apart says it."""


@frozen(order=True)
class Configuration:
    """One rated set-up: ``key`` identifies it (stable across runs and sessions),
    ``label`` is what people read ("Qwen3.6-35B-A3B-Q4_K_M · thinking on")."""

    key: str
    label: str
    places: tuple[str, ...] = field(default=(), compare=False)
    """Where it ran, in words that may tell it from another configuration whose label
    reads the same, plainest first ("Ollama", "10.0.0.5:11434"; "spawned", "sha256
    1a2b3c4d"); "" for a fact its runs did not record (see :func:`told_apart`)."""


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


def switch_sent(settings: Mapping[str, Any]) -> bool:
    """Whether a run was sent a thinking switch: not where its model or server has none
    (its ``thinking_switch`` recorded "not sent: …"); Claude's runs, and runs stored
    before the switch was recorded, were."""
    return not _text(settings.get("thinking_switch")).startswith("not sent")


def thinking_ran(settings: Mapping[str, Any]) -> bool:
    """Whether a run thought: what it asked, unless the check after it found that the
    server did otherwise (it ignored the switch, or had none to send)."""
    ran = settings.get("thinking_ran")
    if isinstance(ran, bool):
        return ran
    asked = bool(settings.get("thinking"))
    # Runs recorded before thinking_ran: an ignored switch did the opposite.
    return not asked if settings.get("thinking_switch_ignored") is True else asked


def thinking_ran_known(settings: Mapping[str, Any], thinking_text: str, answer: str) -> bool | None:
    """Whether a run thought, only where that can be told, for what reports it as a fact
    (``summary.json``): true where reasoning arrived; where its answer arrived without
    any, what the check after it found (false, if it ended before the check); false where
    nothing arrived from a model sent no switch because it has none; None where nothing
    arrived to tell by (a run that failed or was cancelled before its first token).
    Ratings group by :func:`thinking_ran`, which falls back to what was asked."""
    if thinking_text.strip():
        return True
    if answer.strip():
        ran = settings.get("thinking_ran")
        return ran if isinstance(ran, bool) else False
    if not switch_sent(settings) and _text(settings.get("thinking_switch")) != NO_KNOWN_SWITCH:
        return False
    return None


def thinking_words(asked: bool, ran: bool, effort: str | None = None) -> str:
    """A run's thinking in a word, as its configuration's label says it after "thinking":
    what it was asked, with its ``effort`` where it has one (Claude's: "high"), and what
    it did where that differs ("on (did not)": no reasoning arrived; "off (thought)": the
    server ignored the switch)."""
    if ran == asked:
        return (effort or "on") if asked else "off"
    return "on (did not)" if asked else "off (thought)"


def told_apart(configurations: Iterable[Configuration]) -> dict[str, Configuration]:
    """``configurations`` by key, those whose labels read the same (one model name on
    two servers) each with where it ran added to its label: the first of its
    :attr:`~Configuration.places` that differs for every one of them ("qwen3:8b
    (Ollama server) · thinking on", "… (LM Studio server) · …"), all of them where none
    does. Labels no other reads alike stay as they are."""
    by_key = {config.key: config for config in configurations}
    alike: dict[str, list[Configuration]] = {}
    for config in by_key.values():
        alike.setdefault(config.label, []).append(config)
    for group in alike.values():
        if len(group) < 2:
            continue
        depth = max(len(config.places) for config in group)
        words = [(*config.places, *[""] * depth)[:depth] for config in group]
        at = next((i for i in range(depth) if len({w[i] for w in words}) == len(group)), None)
        for config, its in zip(group, words, strict=True):
            place = its[at] if at is not None else ", ".join(w for w in its if w)
            by_key[config.key] = replace(config, label=_with_place(config.label, place))
    return by_key


def _with_place(label: str, place: str) -> str:
    """``label`` with where it ran after its model's name: "qwen3:8b (Ollama server) ·
    …" for a served model, "Qwen3-8B-Q4_K_M (spawned) · …" for a local one."""
    if not place:
        return label
    head, parts, rest = label.partition(LABEL_PARTS)
    if head.endswith(" (server)"):
        return f"{head.removesuffix(' (server)')} ({place} server){parts}{rest}"
    return f"{head} ({place}){parts}{rest}"


def run_label(run: ConfiguredRun, label: str | None = None) -> str:
    """A stored run's configuration label (or ``label``, that label told apart from
    others: :func:`run_labels`), its thinking said as the run went where that was not
    as asked ("… · thinking off (thought)", as its numbers line says it). A run sent no
    switch is named by its configuration alone ("… · no thinking switch")."""
    label = configuration_of(run).label if label is None else label
    if not switch_sent(run.settings):
        return label
    if thinking_ran(run.settings) == bool(run.settings.get("thinking")):
        return label
    words = recorded_thinking_words(run.settings)
    return f"{label.rpartition(LABEL_PARTS)[0]}{LABEL_PARTS}thinking {words}"


def run_labels(runs: Sequence[ConfiguredRun]) -> list[str]:
    """:func:`run_label` of each of ``runs``, shown together: where two configurations'
    labels read the same, each says where it ran (:func:`told_apart`)."""
    configurations = [configuration_of(run) for run in runs]
    apart = told_apart(configurations)
    return [
        run_label(run, apart[config.key].label)
        for run, config in zip(runs, configurations, strict=True)
    ]


def recorded_thinking_words(settings: Mapping[str, Any]) -> str:
    """:func:`thinking_words` for a stored run's settings (its effort, where it was sent
    one: "high", as :func:`configuration_of` names it); "no switch" for a run sent none
    (:func:`switch_sent`), as its configuration is named whatever its pane asked."""
    if not switch_sent(settings):
        return NO_SWITCH
    effort = _text(settings.get("effort"))
    return thinking_words(bool(settings.get("thinking")), thinking_ran(settings), effort)


def numbers_thinking(settings: Mapping[str, Any], arrived: bool, *, reasoned: bool) -> str | None:
    """How an ended run's numbers line says its thinking: "thinking" and
    :func:`recorded_thinking_words` ("thinking on (did not)"); a run sent no thinking
    switch (its model has none) by what it did alone, "thought" or "did not think",
    as the check after it found, or where it recorded none (cancelled before it) as
    ``reasoned`` says: whether reasoning arrived (None: nothing ``arrived`` to tell by)."""
    if switch_sent(settings):
        return f"thinking {recorded_thinking_words(settings)}"
    if not arrived:
        return None
    ran = settings.get("thinking_ran")
    return "thought" if (ran if isinstance(ran, bool) else reasoned) else "did not think"


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _server(info: Mapping[str, Any]) -> str:
    """The server a run recorded it ran on: its URL's host and port ("10.0.0.5:11434",
    "localhost:1234" however this machine was named), "" where it recorded none."""
    url = _text(info.get("url"))
    if not url:
        return ""
    try:
        parts = split_url(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return url
    if host in ("localhost", "::1") or host.startswith("127."):
        host = "localhost"
    return f"{host}:{port or (443 if parts.scheme == 'https' else 80)}"


def _server_places(info: Mapping[str, Any], server: str) -> tuple[str, ...]:
    """A served run's :attr:`~Configuration.places`: the server's kind, its address."""
    return (_text(info.get("server_kind")), server)


def _local(run: ConfiguredRun, thinking: bool) -> Configuration:
    info = run.model_info
    file = _text(info.get("file")) or _text(run.model_id) or "unknown model"
    quant = _text(info.get("quant"))
    name = file.removesuffix(".gguf")
    shown = name if not quant or quant.lower() in name.lower() else f"{name} {quant}"
    think, words = _thinking_mode(run, thinking, levels=False)
    label = f"{shown} · {words}"
    server = _server(info)
    if server:  # a server someone else runs (``--url``)
        key = f"local|{file}|{quant}|{think}|@{server}"
        places = tuple(f"{word} server" if word else "" for word in _server_places(info, server))
        return Configuration(key, label, places)
    sha256 = _text(info.get("sha256"))
    if sha256:  # the spawned llama-server's file, however it is named
        return Configuration(
            f"local|sha256:{sha256}|{think}", label, (SPAWNED, f"sha256 {sha256[:8]}")
        )
    return Configuration(f"local|{file}|{quant}|{think}", label, (SPAWNED,))


def _claude(run: ConfiguredRun, thinking: bool) -> Configuration:
    model = _text(run.model_id) or _text(run.model_info.get("model")) or "claude"
    mode, words = _thinking_mode(run, thinking)
    return Configuration(f"claude|{model}|{mode}", f"{model} · {words}")


def _thinking_mode(run: ConfiguredRun, thinking: bool, *, levels: bool = True) -> tuple[str, str]:
    """A run's thinking as its configuration's key and label have it: with the effort
    it recorded where it has one and ``levels`` are told apart (Claude's; a served
    model's level); one mode for a run sent no switch (:func:`switch_sent`)."""
    if not switch_sent(run.settings):
        return "no-switch", NO_THINKING_SWITCH
    effort = _text(run.settings.get("effort")) if thinking and levels else ""
    if not thinking:
        return "no-think", thinking_word(False)
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
    label = f"{served} (server) · {words}"
    server = _server(info)
    if not server:  # stored before its URL was
        return Configuration(f"{run.backend}|{served}|{mode}", label)
    key = f"{run.backend}|{served}|{mode}|@{server}"
    return Configuration(key, label, _server_places(info, server))
