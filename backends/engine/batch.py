"""A batch: the prompts of a set (or one prompt), each run ``samples`` times.

Both front ends walk the same plan and make each step's session the same way:
``pelican-tui run --set NAME --samples N`` and the TUI's ``r`` (one prompt) and
``P`` (a whole set). :func:`plan_batch` lists the steps in order (every sample
of the first prompt, then the next prompt); :func:`run_step` runs one through
:meth:`~.comparison.ComparisonEngine.run_comparison` with the step's title, its
set and the set's privacy, so a session made by either front end is the same.

A set's prompt is named "SET/PROMPT" in titles and labels, never by its text:
a private set's text stays out of anything that may be shown or exported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pelican_tui.backends.engine.choices import CLAUDE, LOCAL, PaneChoice
from pelican_tui.backends.engine.updates import RunRefused
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.prompt_sets import NamedPrompt, PromptSet
from pelican_tui.backends.text import on_off

if TYPE_CHECKING:
    from pelican_tui.backends.engine.comparison import ComparisonEngine, ComparisonResult
    from pelican_tui.backends.engine.run import RunResult
    from pelican_tui.backends.engine.updates import Listener
    from pelican_tui.backends.store.records import Slot


@frozen
class ModePlan:
    """One session of a batch step: what each slot runs."""

    label: str
    """Thinking: on, off, or "on vs off" (local only, both modes in one session)."""
    choices: dict[Slot, PaneChoice]


def default_plan(engine: ComparisonEngine) -> ModePlan:
    """The session each step makes when no thinking mode is asked for: the engine's
    default choices, which the TUI's panes start with (what ``r`` runs at once)."""
    choices = engine.default_choices()
    words = [on_off(choice.thinking) for choice in choices.values()]
    return ModePlan(words[0] if len(set(words)) == 1 else " vs ".join(words), choices)


def plan_modes(modes: Sequence[bool], with_claude: bool) -> list[ModePlan]:
    """The sessions each step of a batch makes for the thinking modes asked for, in
    order: with Claude, one per mode (the local model left, Claude right, both in that
    mode); without, thinking on vs off in one session, or the one mode alone. Which
    runs go together and which take turns is the engine's decision (runs on one server
    take turns), the same as in the TUI."""
    if with_claude:
        return [
            ModePlan(
                on_off(thinking),
                {"left": PaneChoice(LOCAL, thinking), "right": PaneChoice(CLAUDE, thinking)},
            )
            for thinking in modes
        ]
    if len(modes) == 2:
        return [
            ModePlan(
                "on vs off", {"left": PaneChoice(LOCAL, True), "right": PaneChoice(LOCAL, False)}
            )
        ]
    return [ModePlan(on_off(modes[0]), {"left": PaneChoice(LOCAL, modes[0])})]


def batch_thinking(plans: Sequence[ModePlan]) -> dict[str, set[bool]]:
    """The thinking modes ``plans`` ask of each side (by key), across their sessions:
    with Claude, ``--thinking both`` asks the local model for on in one session and off
    in the next, which a side without a thinking switch makes the same request twice."""
    asked: dict[str, set[bool]] = {}
    for plan in plans:
        for choice in plan.choices.values():
            asked.setdefault(choice.side, set()).add(choice.thinking)
    return asked


def as_run(engine: ComparisonEngine, plan: ModePlan) -> ModePlan:
    """``plan`` labelled as its runs think where one asks for thinking off of a model
    that cannot turn it off (its lowest level runs: "on vs off" is "high vs low"); as
    it is otherwise. Read once the sides are checked."""
    for choice in plan.choices.values():
        side = engine.side(choice.side)
        if not choice.thinking and side is not None and side.lowest_thinking() is not None:
            words = dict.fromkeys(engine.thinking(c) for c in plan.choices.values())
            return ModePlan(" vs ".join(words), plan.choices)
    return plan


@frozen
class BatchStep:
    """One prompt, one sample: one session of the batch."""

    prompt: NamedPrompt
    sample: int
    """1-based, of :attr:`samples`."""
    samples: int
    prompt_set: PromptSet | None
    """The set the prompt is from; None for a prompt of its own."""
    number: int
    """1-based place in the batch, of :attr:`steps`."""
    steps: int

    @property
    def set_name(self) -> str | None:
        return self.prompt_set.name if self.prompt_set is not None else None

    @property
    def private(self) -> bool:
        return self.prompt_set is not None and self.prompt_set.private

    @property
    def shown(self) -> str:
        """How titles name the prompt: its text, or "SET/PROMPT" for a set's."""
        if self.prompt_set is None:
            return self.prompt.text
        return self.prompt_set.title_of(self.prompt)

    @property
    def label(self) -> str:
        """Where the batch is, in a few words ("heron 2/3 · sample 1/4"); "" for a
        prompt of its own run once."""
        if self.prompt_set is None:
            return self.place
        return f"{self.prompt.name} {self.place}"

    @property
    def place(self) -> str:
        """:attr:`label` without the prompt's name ("2/3 · sample 1/4")."""
        parts = []
        if self.prompt_set is not None:
            count = len(self.prompt_set.prompts)
            place = self.prompt_set.prompts.index(self.prompt) + 1
            parts.append(f"{place}/{count}")
        if self.samples > 1:
            parts.append(f"sample {self.sample}/{self.samples}")
        return " · ".join(parts)

    def title(self, engine: ComparisonEngine, choices: Mapping[Slot, PaneChoice]) -> str:
        """The session's title: the engine's, and the sample when there are several."""
        title = engine.title(self.shown, choices)
        return f"{title} · sample {self.sample}/{self.samples}" if self.samples > 1 else title


def plan_batch(prompts: PromptSet | Sequence[NamedPrompt], samples: int) -> list[BatchStep]:
    """The steps of a batch in order: every sample of a prompt, then the next prompt.

    ``prompts``: a set (its sessions record it), or prompts of their own.
    """
    prompt_set: PromptSet | None
    if isinstance(prompts, PromptSet):
        prompt_set, listed = prompts, prompts.prompts
    else:
        prompt_set, listed = None, tuple(prompts)
    pairs = [(prompt, sample) for prompt in listed for sample in range(1, samples + 1)]
    return [
        BatchStep(prompt, sample, samples, prompt_set, number, len(pairs))
        for number, (prompt, sample) in enumerate(pairs, start=1)
    ]


@dataclass
class GivenUp:
    """The sides a batch sends no more runs to, and why: a run of theirs failed for good
    (:attr:`~pelican_tui.backends.events.Failed.permanent`: Anthropic refused the key,
    knows no such model), so every later one would fail the same way, each after its
    wait (and the SDK's retries); or, with :attr:`after_failures`, it failed for now (an
    overload, a rate limit) in that many steps in a row. Their slots in the later steps
    are not sent, each said as not run with the reason; the other sides' runs go on.
    One per batch."""

    reasons: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """Why, and the next step (the failure's hint), by side key."""
    not_sent: dict[str, int] = field(default_factory=dict)
    """How many runs were not sent, by side key."""
    after_failures: int | None = None
    """After how many steps in a row whose runs of a side all failed for now a batch
    sends it no more: the TUI's 2 (a person waits on each sample, and a blind one with
    a failed run is no pair to vote on); None, ``pelican-tui run``'s, asks again at every
    step (unattended, it may outlast an overload)."""
    failed_at: dict[str, list[str]] = field(default_factory=dict)
    """Where a side's runs failed for now in the steps just before (their labels), by
    side key; a step where one of its runs did not fail empties it."""

    def learn(self, step: BatchStep, result: ComparisonResult) -> None:
        """Note the sides whose run in ``step`` failed for good, and, with
        :attr:`after_failures`, those whose runs failed for now once too often."""
        where = step.label or "an earlier run"
        by_side: dict[str, list[RunResult]] = {}
        for run in result.results.values():
            key = run.spec.side.key
            by_side.setdefault(key, []).append(run)
            if run.failure_permanent and key not in self.reasons:
                reason = f"not sent: {run.failure_reason} on {where}"
                self.reasons[key] = (reason, run.failure_hint)
        for key, runs in by_side.items():
            if self.after_failures is None or key in self.reasons:
                continue
            if not all(run.outcome == "failed" for run in runs):
                self.failed_at.pop(key, None)
                continue
            places = self.failed_at.setdefault(key, [])
            places.append(where)
            if len(places) >= self.after_failures:
                last = runs[-1]
                on = ", ".join(places[:-1]) + f" and {places[-1]}"
                self.reasons[key] = (f"not sent: {last.failure_reason} on {on}", last.failure_hint)

    def sent(self, choices: Mapping[Slot, PaneChoice]) -> dict[Slot, PaneChoice]:
        """The slots of ``choices`` still sent: those whose side has not failed for good."""
        return {slot: choice for slot, choice in choices.items() if choice.side not in self.reasons}

    def stops_pairs(self, choices: Mapping[Slot, PaneChoice]) -> str | None:
        """Why a blind series of ``choices`` goes no further: a pair needs a picture of
        every side, and a side of theirs is sent no more ("claude failed: Anthropic is
        overloaded (529) on sample 1/3 and sample 2/3"); None: none is."""
        for choice in choices.values():
            if choice.side in self.reasons:
                reason = self.reasons[choice.side][0].removeprefix("not sent: ")
                return f"{choice.side} failed: {reason}"
        return None

    def summary(self) -> list[str]:
        """One line per side given up that had runs not sent ("claude: 2 runs not sent:
        Anthropic rejected the API key (401) on sample 1/3")."""
        lines = []
        for key, count in self.not_sent.items():
            reason = self.reasons[key][0].removeprefix("not sent: ")
            runs = f"{count} run" if count == 1 else f"{count} runs"
            lines.append(f"{key}: {runs} not sent: {reason}")
        return lines


async def run_step(
    engine: ComparisonEngine,
    step: BatchStep,
    choices: Mapping[Slot, PaneChoice],
    listener: Listener,
    *,
    session_id: int | None = None,
    given_up: GivenUp | None = None,
    thinking: Mapping[str, Set[bool]] | None = None,
) -> ComparisonResult:
    """Run one step of a batch: one session, titled, with its set recorded.

    ``given_up``: the batch's sides that failed for good; their slots are not sent (a
    :class:`RunRefused` each, :attr:`.ComparisonResult.not_sent`), and the sides whose
    run fails for good now are added to it.
    ``thinking``: the modes the whole batch asks of each side (:func:`batch_thinking`),
    so that on and off of a side without a switch is said in whichever session."""
    from pelican_tui.backends.engine.comparison import ComparisonResult

    not_sent: dict[Slot, str] = {}
    sent = dict(choices) if given_up is None else given_up.sent(choices)
    for slot, choice in choices.items():
        if slot not in sent:
            assert given_up is not None
            reason, hint = given_up.reasons[choice.side]
            given_up.not_sent[choice.side] = given_up.not_sent.get(choice.side, 0) + 1
            not_sent[slot] = reason
            listener(RunRefused(slot, reason, hint))
    if not sent:
        return ComparisonResult(session_id, not_sent=not_sent)
    result = await engine.run_comparison(
        step.prompt.text,
        sent,
        listener,
        session_id=session_id,
        title=step.title(engine, choices),
        prompt_set=step.set_name,
        private=step.private,
        batch_thinking=thinking,
    )
    result.not_sent.update(not_sent)
    if given_up is not None:
        given_up.learn(step, result)
    return result


def stop_reason(result: ComparisonResult) -> str | None:
    """Why a batch goes no further after a step, or None to go on: the step was
    cancelled, a side could not run or went down in it (it will not come back: nothing
    restarts it within a batch), or the session store failed (what runs next could not
    be kept), or no slot can succeed any more (each failed for good, or was not sent
    since its side had). Both front ends stop on it."""
    if result.cancelled:
        return "cancelled"
    for slot, refusal in result.refused.items():
        return f"{slot}: not run: {refusal.reason}"
    for slot, reason in result.lost.items():
        return f"{slot}: {reason}"
    for_good = {
        s: r.failure_reason or "failed" for s, r in result.results.items() if r.failure_permanent
    }
    if (for_good or result.not_sent) and all(
        run.failure_permanent for run in result.results.values()
    ):
        slot, reason = next(iter({**result.not_sent, **for_good}.items()))
        return f"{slot}: {reason}"
    if result.session_id is None:
        return "the session store failed"
    return None
