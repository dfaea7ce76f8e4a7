"""What the app does about evidence: blind mode, samples, votes, the gallery and the
leaderboard, and the terminal title that says what it is doing.

:class:`Voting` is the part of :class:`~pelican_tui.app.PelicanApp` that keeps
the vote state (pictures waiting for a blind vote, which runs the panes show,
which pairs were voted on) and draws it; the app's run loop feeds it finished
samples (:meth:`Voting.add_pair`). Votes are stored with
:meth:`~pelican_tui.backends.store.sessions.SessionStore.add_vote`; nothing
here decides anything about a run.

Blind mode hides everything that could tell who drew a picture until the
vote: the panes (titles, facts, numbers, thinking, answers) are replaced by A
and B (:class:`~pelican_tui.widgets.vote_pair.PairView`, in random order), the
status bar keeps only what names no model, the answer, log, sessions, gallery
and leaderboard keys say they wait for the vote, and the terminal title says
"vote A/B". Pairs not voted on are kept in the state file (their runs, by id)
until they are: the next start, or blind mode turned on again, offers them
again, their runs read from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from textual import work
from textual.app import App

from pelican_tui.backends.engine.choices import SLOTS
from pelican_tui.backends.settings import Settings
from pelican_tui.backends.text import fold_words, plural, shorten
from pelican_tui.messages import KeyRow
from pelican_tui.terminal_title import TerminalTitle
from pelican_tui.votes import (
    Contender,
    VotePair,
    blind_note,
    blind_vote_stays,
    facts_line,
    no_verdict,
    series_revealed,
    shown_as,
    store_vote,
    stored_runs,
    unrated_note,
)
from pelican_tui.widgets.prompt_box import PromptBox
from pelican_tui.widgets.status_bar import StatusBar
from pelican_tui.widgets.vote_pair import PairView, vote_keys_line

if TYPE_CHECKING:
    from pelican_tui.backends.engine.batch import BatchStep
    from pelican_tui.backends.engine.comparison import ComparisonEngine, ComparisonResult
    from pelican_tui.backends.engine.run import RunResult
    from pelican_tui.backends.prompt_sets import PromptSet
    from pelican_tui.backends.store.records import Slot, Verdict, Winner
    from pelican_tui.backends.store.sessions import SessionStore
    from pelican_tui.widgets.model_pane import ModelPane

_NAMES_ROOM = 8
"""The fewest cells :func:`set_subtitle` cuts a set's and a prompt's name into."""


def set_subtitle(step: BatchStep, width: int) -> str:
    """Where a prompt set is, in ``width`` cells at most ("set animals: heron 2/3 ·
    sample 1/4"). Too long, the names are cut, the prompt's keeping at least half the
    room, and the place stays whole (the border cut the end, the place with it); with
    no room for the names, the place alone."""
    set_name, prompt_name, place = step.set_name or "", step.prompt.name, step.place
    room = width - cell_len(f"set :  {place}")
    if room < _NAMES_ROOM and cell_len(set_name) + cell_len(prompt_name) > room:
        return shorten(place, width)
    if cell_len(set_name) + cell_len(prompt_name) > room:
        prompt_name = shorten(prompt_name, max(room - cell_len(set_name), room // 2))
        set_name = shorten(set_name, room - cell_len(prompt_name))
    return shorten(f"set {set_name}: {prompt_name} {place}", width)


SAMPLE_STEPS = (1, 2, 4, 8)
"""What ``n`` cycles through (``ui.samples`` may be any number up to ``MAX_SAMPLES``)."""
VERDICT_WINNER: dict[str, Winner] = {
    "left": "a",
    "right": "b",
    "tie": "tie",
    "both_bad": "both_bad",
}
"""A verdict key as a vote: the left pane (or A, in blind mode) is shown as A."""
SESSION_VERDICT: dict[str, Verdict] = {"left": "left", "right": "right", "tie": "tie"}
"""The verdicts a session stores itself, when only one pane has a run to vote on."""
VERDICT_WORDS = {
    "left": "left is better",
    "right": "right is better",
    "tie": "a tie",
    "both_bad": "both are bad",
}

REVEAL_TITLES = ("Blind vote saved", "Blind votes saved")
"""The titles of the notice that says who drew which: taken away when a pair is shown."""


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st."""
    last = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{last}"


def _won(winner: Winner, a: int | None, b: int | None) -> int | None:
    """The run that won a vote between ``a`` and ``b`` (None: a tie, or both bad)."""
    return {"a": a, "b": b}.get(winner)


def _kept_entry(pair: VotePair) -> dict[str, Any]:
    """A blind pair as the state file keeps it until it is voted on: its two stored runs
    (A first) and their sessions, its label, and where in a prompt set it was (the
    names, never a prompt's text: a private set's stays in the store)."""
    step = pair.step
    return {
        "runs": [pair.a.run_id, pair.b.run_id],
        "sessions": [pair.a.session_id, pair.b.session_id],
        "label": pair.label,
        "step": None
        if step is None or step.prompt_set is None
        else {"set": step.prompt_set.name, "prompt": step.prompt.name, "sample": step.sample,
              "samples": step.samples, "number": step.number, "steps": step.steps},
    }  # fmt: skip


def _kept_runs(entry: dict[str, Any]) -> tuple[int, int, int, int] | None:
    """A kept pair's runs and sessions (A's run, B's run, A's session, B's session), or
    None where the entry is not one (hand-edited, or from another version)."""
    runs, sessions = entry.get("runs"), entry.get("sessions")
    if not isinstance(runs, list) or not isinstance(sessions, list):
        return None
    ids = [*runs, *sessions]
    if len(ids) != 4 or not all(type(n) is int for n in ids) or runs[0] == runs[1]:
        return None
    return ids[0], ids[1], ids[2], ids[3]


def _kept_step(entry: dict[str, Any], prompt: str, sets: dict[str, PromptSet]) -> BatchStep:
    """The step of the run a kept pair is of: a prompt set's, found again in ``sets``
    (:func:`_prompt_sets`), else one of ``prompt`` alone (the set or its prompt changed
    since, or there was none), so that the prompt box shows the prompt the pair
    answers, not the one the app started with."""
    from pelican_tui.backends.engine.batch import BatchStep
    from pelican_tui.backends.prompt_sets import NamedPrompt

    step = entry.get("step")
    if isinstance(step, dict):
        with contextlib.suppress(Exception):  # a step from another version: no set's step
            prompt_set = sets[step["set"]]
            named = next(p for p in prompt_set.prompts if p.name == step["prompt"])
            if named.text == prompt:
                sample, samples, number, steps = (
                    int(step[key]) for key in ("sample", "samples", "number", "steps")
                )
                return BatchStep(named, sample, samples, prompt_set, number, steps)
    return BatchStep(NamedPrompt("prompt", prompt), 1, 1, None, 1, 1)


def _prompt_sets() -> dict[str, PromptSet]:
    """The prompt sets, read once for all the kept pairs; none where the file cannot
    be read (the pairs then show their prompt alone)."""
    from pelican_tui.backends.prompt_sets import PromptSetsError, load_prompt_sets

    try:
        return load_prompt_sets()
    except PromptSetsError:
        return {}


def _pair_key(first: int, second: int) -> tuple[int, int]:
    """Two runs in a fixed order: one pair, whichever was A."""
    return (min(first, second), max(first, second))


class Voting(App[None]):
    """Blind mode, samples, votes and the evidence screens (see the module doc)."""

    # What the app provides (see PelicanApp).
    prompt: str
    session_id: int | None
    image_mode: str
    _quit_running_said: int

    @property
    def engine(self) -> ComparisonEngine:
        raise NotImplementedError

    async def open_store(self) -> SessionStore:
        """The session store, opened at first use; what opening it has to say (it was
        damaged, moved aside and made anew) is said by whichever key opened it, once."""
        store = await self.engine.store()
        self.say_store_words(self.engine.store_notices())
        return store

    def say_store_words(self, notices: Iterable[str]) -> None:
        """Say what opening the session store had to say, each thing once while the app
        runs: the gallery, the leaderboard and every ``o`` open the store again, and a
        read-only one said "read only" at each (the app had said it at start, too)."""
        for notice in notices:
            if notice not in self._store_words_said:
                self._store_words_said.add(notice)
                said = self.toast_lines(notice)
                self.notify(said, title="Sessions", severity="warning", timeout=15)

    @property
    def toast_width(self) -> int:
        """The cells of a toast's line: a toast is at most 60 cells, or half the
        screen, and its text 6 fewer (34 at 80 columns, as drawn)."""
        return min(60, self.size.width // 2) - 6

    def toast_lines(self, text: str) -> str:
        """``text`` folded to :attr:`toast_width`, between words and a path between its
        folders (:func:`fold_words`): Textual's own wrapping broke a path anywhere,
        in a file's name ("…/sessions.sqli" over "te3.corrupt-…")."""
        return fold_words(text, self.toast_width)

    def pane(self, slot: str) -> ModelPane:
        raise NotImplementedError

    def key_rows(self) -> list[KeyRow]:
        raise NotImplementedError

    def _nothing_stored(self, what: str) -> str:
        raise NotImplementedError

    def forget_deleted_session(self, session_id: int) -> None:
        raise NotImplementedError

    def _save_state(self, **changes: Any) -> None:
        raise NotImplementedError

    def _init_voting(self, settings: Settings, state: dict[str, Any]) -> None:
        """``state``: what the app kept from its last start (the samples and blind mode
        the user left it with, as :meth:`action_cycle_samples` and
        :meth:`action_toggle_blind` keep them); a setting other than its default wins."""
        self.samples: int = (
            settings.ui.samples if settings.ui.samples > 1 else state.get("samples", 1)
        )
        """How many times ``r`` runs each pane (one session per sample)."""
        self.blind: bool = settings.ui.blind or state.get("blind", False)
        """Blind mode: after a comparison the pictures are A and B; who drew them is hidden
        until the vote."""
        self.blind_kept = self.blind and not settings.ui.blind
        """Blind mode is on because the user left it on (said at start: no setting asked)."""
        self.pending_pairs: list[VotePair] = []
        """Blind pairs not voted on yet, oldest first (the first is on screen)."""
        kept = state.get("blind_pairs", [])
        self._set_aside: list[dict[str, Any]] = [e for e in kept if isinstance(e, dict)]
        """Blind pairs not voted on and not on screen, as the state file keeps them
        (:func:`_kept_entry`): left at the last quit, or when blind mode was turned off;
        offered again (:meth:`offer_kept_pairs`) at start, or when it is turned on."""
        voted = state.get("blind_voted", [])
        self._voted_aside: list[dict[str, Any]] = [
            e for e in (voted if isinstance(voted, list) else []) if isinstance(e, dict)
        ]
        """Blind pairs voted on whose names wait for the rest of their series, as the state
        file keeps them (:func:`_kept_entry` and the ``winner``): left at the last quit
        with pairs of the series waiting; named with them (:meth:`offer_kept_pairs`)."""
        self.pane_runs: dict[Slot, int] = {}
        """The stored run each pane shows (what a verdict votes on)."""
        self._voted: dict[tuple[int, int], tuple[Winner, int | None, bool]] = {}
        """Pairs of runs voted on from the main screen, and how: the winner, the run
        that won (None for a tie or both bad) and whether it was blind: said when the
        store, which has every vote (:meth:`_latest_vote`), cannot be read."""
        self._progress: dict[tuple[int, Slot], tuple[int, int]] = {}
        """Of each comparison in progress (its number) and each pane it still runs: (runs
        started, runs planned); a pane a newer comparison takes is counted by that one."""
        self._step: BatchStep | None = None
        """The step of the batch in progress (prompt, sample), or the last one."""
        self._in_progress: set[int] = set()
        """Numbers of the comparisons in progress."""
        self._blind_of: int | None = None
        """The blind comparison in progress: the panes stay hidden while it runs."""
        self._blind_run = 0
        """Which run (r) the blind comparison in progress is of those whose pairs wait:
        1 when none waited as it started, else one more than the run of the newest pair
        (a run cancelled or failed before it made a pair takes no number)."""
        self._paired_run = 0
        """Which run the newest pair to vote on is of (as :attr:`_blind_run` counts)."""
        self._rng = random.Random()
        self._title = TerminalTitle(self._write_terminal)
        self._quit_asked = False
        """q was pressed with these pairs not voted on, and said so: the next q quits
        (the app's :meth:`action_quit` decides, with the run and runs not saved)."""
        self._pair_drawn = True
        """The first pair to vote on has been drawn since it came first: a verdict key
        typed before (a double tap, queued behind the vote on the pair before) waits."""
        self._store_words_said: set[str] = set()
        """What :meth:`say_store_words` said (and what the app said at start)."""
        self._unrevealed: list[tuple[VotePair, Winner, str]] = []
        """Pairs voted on blind while more pairs waited (or were drawn), with the vote and
        what the ratings say of it: who drew which is said once the last one is voted on
        (:meth:`_reveal_series`), not while a pair of the same two models waits."""

    # -- state ------------------------------------------------------------------------

    @property
    def comparing(self) -> bool:
        """Whether a comparison (or a series of samples) is in progress."""
        return bool(self._in_progress)

    @property
    def blind_hidden(self) -> bool:
        """Whether who drew what is hidden now: a blind comparison runs, or a vote is due."""
        return self._blind_of is not None or bool(self.pending_pairs)

    @property
    def terminal_title(self) -> str:
        """What the terminal's title says now ("pelican-tui · ready")."""
        return self._title.text

    def start_blind(self, number: int) -> None:
        """The comparison ``number`` runs blind: the panes stay hidden, and where pairs
        of an earlier run still wait, its labels say which run it is ("of the 2nd run"):
        one more than the run of the newest pair waiting, so a run that was cancelled
        (or failed) before it made a pair is not counted."""
        self._blind_of = number
        self._blind_run = self._paired_run + 1 if self.pending_pairs else 1

    def _of_run(self, label: str) -> str:
        """A blind sample's ``label`` with the run it is of, from the 2nd run whose pairs
        wait (two runs each have a "sample 1/2")."""
        if self._blind_run < 2:
            return label
        run = f"the {_ordinal(self._blind_run)} run"
        return f"{label} of {run}" if label else run

    # -- drawing ----------------------------------------------------------------------

    def show_modes(self) -> None:
        """The prompt's subtitle says how ``r`` runs (samples, blind); while samples
        run, which one runs ("sample 1/4 · blind"); while a prompt set runs, the box
        shows the prompt running and its subtitle where it is ("set animals: heron 2/3
        · sample 1/4"), and after, the user's prompt again. While a blind pair of a
        set's run waits for its vote, the box shows that pair's prompt and place."""
        step = self._step
        if self.comparing and step is not None and step.samples > 1:
            words = [step.place]  # the panes said nothing of which sample they ran
        else:
            words = [f"{self.samples} samples per pane"] if self.samples > 1 else []
        if self.blind:
            words.append("blind")
        box = self.query_one("#prompt", PromptBox)
        # The prompt of the pair on screen (of a set's run) while it waits for its vote,
        # else the one running: a heron's pair was judged under the pelican's prompt.
        shown = self.pending_pairs[0].step if self.pending_pairs else None
        if shown is None and self.comparing and step is not None and step.set_name is not None:
            shown = step
        if shown is not None:
            at: BatchStep = shown
            box.show_running(at.prompt.text)
            if at.set_name is not None:
                box.show_subtitle(lambda width: set_subtitle(at, width))
            else:  # a pair kept from last time, of a prompt of its own
                modes = " · ".join(words)
                box.show_subtitle(lambda width: shorten(modes, width))
        else:
            box.show_running(None)
            modes = " · ".join(words)
            box.show_subtitle(lambda width: shorten(modes, width))

    def _vote_keys(self) -> dict[str, str]:
        keys = {row.id: row.keys for row in self.key_rows()}
        ids = {"a": "verdict_left", "b": "verdict_right", "tie": "verdict_tie",
               "both_bad": "verdict_both_bad"}  # fmt: skip
        return {winner: keys.get(binding_id, "?") for winner, binding_id in ids.items()}

    def show_blind(self) -> None:
        """Hide the panes behind A and B while blind, or show them again; say where it is
        (and in the prompt box, which prompt the pair on screen answers)."""
        self.show_modes()
        hidden = self.blind_hidden
        if not hidden:
            self._reveal_series()
        self.set_class(hidden, "-blind")
        self.query_one(StatusBar).set_blind(hidden)
        self.show_activity()
        if not hidden:
            for view in self.screen_stack[0].query("#blind-pair").results(PairView):
                view.clear()  # hidden now (if ever built): its pictures are not kept decoded
            return
        view = self._blind_pair()
        running = next_one = ""
        if self._blind_of is not None:
            label = self._of_run(self._step.label if self._step is not None else "")
            # Not "A: running… B: running…": which picture is A is drawn after both end,
            # and the two may run in turn.
            running = " · ".join(filter(None, (label, "drawing the pictures…")))
            next_one = label or "drawing the pictures…"
        if self.pending_pairs:
            # The pair shown, how many wait (it too), and what is drawn meanwhile:
            # "Blind · sample 1/2 · 2 pairs to vote on · next: sample 1/2 of the 2nd run".
            pair = self.pending_pairs[0]
            view.show_pair(pair)
            waiting = len(self.pending_pairs)
            words = [pair.label] if pair.label else []
            if waiting > 1:
                words.append(f"{waiting} pairs to vote on")
            words = words or ["who drew which is hidden"]
            after = [f"next: {next_one}"] if next_one else []
            view.set_status(self._with_votes_saved(view, ["Blind", *words], after))
            view.set_keys(vote_keys_line(self._vote_keys()) + " · B leaves blind mode")
        else:
            view.show_waiting("running…", "running…")
            view.set_status(
                self._with_votes_saved(view, ["Blind", running] if running else ["Blind"])
            )
            view.set_keys("The pictures are shown as A and B when both are done · c cancels")

    def _with_votes_saved(self, view: PairView, words: list[str], after: Iterable[str] = ()) -> str:
        """The status line above A and B: ``words``, the blind votes saved whose names
        wait for the last pair ("vote saved (1 of 2), names after the last pair", its
        end left out where the line has no room), then ``after``. A notice said it over
        picture B's corner at 80x24."""
        later = list(after)
        voted = len(self._unrevealed)
        if not voted:
            return " · ".join([*words, *later])
        waiting = len(self.pending_pairs)
        count = f"{voted} of {voted + waiting}" if self._blind_of is None else f"{voted}"
        saved = f"vote saved ({count})"
        whole = " · ".join([*words, f"{saved}, names after the last pair", *later])
        if cell_len(whole) <= view.size.width - 2:  # its padding
            return whole
        return " · ".join([*words, saved, *later])

    def _blind_pair(self) -> PairView:
        """The main screen's A/B view, mounted the first time blind mode needs it.

        Not composed with the screen: most sessions never hide the panes, and
        its 18 widgets were styled and laid out before the first frame. It is
        mounted in the panes' place and drawn to at once (it keeps its parts);
        the ``-blind`` class that hides the panes is set before. A pair screen
        (gallery) on top has a PairView of its own: this one is found by id.
        """
        main = self.screen_stack[0]
        found = main.query("#blind-pair")
        if found:
            return found.only_one(PairView)
        view = PairView(image_mode=self.image_mode, id="blind-pair")
        main.mount(view, after=main.query_one("#panes"))
        return view

    async def add_pair(
        self, outcome: ComparisonResult, step: BatchStep, stops: str | None = None
    ) -> None:
        """A finished blind sample, ``step`` of its run, becomes a pair to vote on, in
        random order; the step's label says which, and of which run when pairs of an
        earlier run wait (:meth:`start_blind`); a set's step, which prompt it answers.
        ``stops``: why the series goes no further after it (a side it needs could not
        run, or failed too often), said with the sample's own notice when it makes no
        pair, as a pair needs both sides."""
        from pelican_tui.backends.store.records import cut_to_nothing, is_a_picture

        label = self._of_run(step.label)
        results = outcome.results
        if set(results) | set(outcome.not_sent) | set(outcome.refused) != set(SLOTS):
            return  # a pane did not run: nothing to compare
        # An empty pane is no picture to prefer (and its vote is not rated), nor is a
        # finished run without one (its note, "cut at its token limit", said which side
        # had the lower limit). Why, said with its pane (no pair is made: no A or B to
        # give away): "right: failed: Anthropic is overloaded (529)", "left: no picture:
        # …", not run, as its side could not run (a refused side drew nothing: naming
        # it gives no picture away), or not sent, as the series gave up on it.
        why = []
        for slot in SLOTS:
            result = results.get(slot)
            if slot in outcome.refused:
                why.append(f"{slot}: not run: {outcome.refused[slot].reason}")
            elif result is None:
                why.append(f"{slot}: {outcome.not_sent[slot]}")
            elif result.outcome == "failed":
                why.append(f"{slot}: failed: {result.failure_reason or 'no reason given'}")
            elif result.outcome != "finished":
                why.append(f"{slot}: {result.outcome}")
            elif not is_a_picture(
                result.outcome,
                has_picture=result.png is not None,
                cut=cut_to_nothing(result.picture_facts),
            ):  # finished, its SVG unfinished or missing, or cut to nothing: as empty
                reason = blind_note(await self._no_picture_reason(result))
                why.append(f"{slot}: no picture: {reason}")
        if why:
            said = f"{label or 'This sample'}: no pair to vote on ({'; '.join(why)})."
            if stops is not None and stops != "cancelled" and step.number < step.steps:
                because = "" if stops in said else f": {stops}"  # not twice in one notice
                left = plural(step.steps - step.number, "sample")
                said += f" Blind series stopped{because}; no pair can be made ({left} not run)."
            self.notify(said, title="Blind", timeout=8)
            return
        contenders = []
        labels = await self._run_labels([r.run_id for r in results.values()])
        for number, slot in enumerate(SLOTS, 1):
            result = results[slot]
            pane = self.pane(slot)
            named = labels.get(result.run_id) if result.run_id is not None else None
            contenders.append(
                Contender(
                    run_id=result.run_id,
                    png=result.png,
                    note=None,  # both have a picture
                    facts=facts_line(result.picture_facts, blind=True),
                    who=f"{named}, in pane {number}" if named else pane.border_title or slot,
                    numbers=pane.stats_line(),
                    session_id=outcome.session_id,
                    pane=number,
                )
            )
        a, b = shown_as(contenders[0], contenders[1], blind=True, rng=self._rng)
        self.pending_pairs.append(VotePair(a, b, label, step if step.set_name else None))
        self._keep_pairs()
        self._paired_run = self._blind_run
        if self._quit_running_said != self._blind_of:  # q said this run: it said its pairs
            self._quit_asked = False
        self.show_blind()
        if len(self.pending_pairs) == 1:
            for notice in list(self._notifications):  # no long notice over a pair to vote on
                if notice.title in REVEAL_TITLES:
                    self._unnotify(notice)
            self._wait_for_drawing()

    def _reveal_series(self) -> None:
        """Say who drew which in the pairs voted on blind since the last reveal, once."""
        if not self._unrevealed:
            return
        said = series_revealed(self._unrevealed)
        title = "Blind vote saved" if len(self._unrevealed) == 1 else "Blind votes saved"
        self._unrevealed = []
        self._keep_pairs()
        self.notify(said, title=title, timeout=20, markup=False)

    def _keep_pairs(self) -> None:
        """Keep the blind pairs not voted on in the state file, those waiting and those
        set aside: a quit (or a crash) loses none of them."""
        waiting = [_kept_entry(pair) for pair in self.pending_pairs if pair.votable]
        voted = [
            {**_kept_entry(pair), "winner": winner}
            for pair, winner, _ in self._unrevealed
            if pair.votable
        ]
        self._save_state(
            blind_pairs=waiting + self._set_aside, blind_voted=voted + self._voted_aside
        )

    @work(exclusive=True, group="kept pairs", exit_on_error=False, name="offer kept pairs")
    async def offer_kept_pairs(self, when: str) -> None:
        """Offer the blind pairs set aside again, as A and B, with their labels, after the
        pairs waiting; ``when`` says where they are from ("from last time"). Runs are
        read again from the store (:meth:`_kept_pair`). With blind mode off they stay
        set aside, and the notice says B shows them. The votes cast blind on pairs of their
        series before (the last quit) wait with them for the names: said all at once
        after the last of them (:meth:`_reveal_series`)."""
        if not self._set_aside and not self._voted_aside:
            return
        pairs, kept, entries = [], [], list(self._set_aside)
        voted: list[tuple[VotePair, Winner, str]] = []
        voted_entries = list(self._voted_aside)
        try:
            store = await self.open_store()
            sets = await asyncio.to_thread(_prompt_sets)
            for entry in entries:
                pair = await self._kept_pair(store, entry, sets)
                if pair is not None:
                    pairs.append(pair)
                    kept.append(entry)
            for entry in voted_entries:
                pair = await self._kept_pair(store, entry, sets, voted=True)
                winner = next(
                    (w for w in VERDICT_WINNER.values() if w == entry.get("winner")), None
                )
                if pair is not None and winner is not None:
                    rated = await asyncio.to_thread(
                        unrated_note, store, pair.a.run_id, pair.b.run_id
                    )
                    voted.append((pair, winner, rated))
        except Exception:  # the store failed: they stay set aside for the next start
            return
        count = plural(len(pairs), "blind pair")
        waits = "waits" if len(pairs) == 1 else "wait"
        later = [entry for entry in self._set_aside if entry not in entries]  # B off meanwhile
        if not self.blind:
            self._set_aside = later + kept
            self._keep_pairs()
            if pairs:
                them = "it" if len(pairs) == 1 else "them"
                self.notify(f"{count} {when} {waits} for your vote: B (blind mode) shows {them}.",
                            title="Blind", timeout=8)  # fmt: skip
            return
        self._set_aside = later
        self._voted_aside = [entry for entry in self._voted_aside if entry not in voted_entries]
        self._unrevealed = voted + self._unrevealed
        first = not self.pending_pairs
        self.pending_pairs.extend(pairs)
        self._keep_pairs()
        if not pairs:
            if voted:
                self.show_blind()  # no pair of their series is left: their names
            return
        self._paired_run = max(self._paired_run, 1)  # a new run's pairs say "of the 2nd run"
        self.notify(f"{count} {when} {waits} for your vote.", title="Blind", timeout=8)
        self.show_blind()
        if first:
            self._wait_for_drawing()

    async def _kept_pair(
        self,
        store: SessionStore,
        entry: dict[str, Any],
        sets: dict[str, PromptSet],
        *,
        voted: bool = False,
    ) -> VotePair | None:
        """A pair kept in the state file (:func:`_kept_entry`) as A and B again, its runs
        read from the store; None, and it goes, if a run was deleted or is of another
        session (a store made anew), has no picture, or the two were voted on since
        (in the gallery); ``voted``: a pair voted on blind, kept for its names."""
        from pelican_tui.backends.ratings.configuration import run_labels
        from pelican_tui.backends.store.records import cut_to_nothing, is_a_picture, run_numbers

        runs = _kept_runs(entry)
        if runs is None:
            return None
        headers = await asyncio.to_thread(store.run_headers, runs[:2])
        found = [headers[run] for run in runs[:2] if run in headers]
        if [header.session_id for header in found] != list(runs[2:]):
            return None
        if not voted and await asyncio.to_thread(store.latest_vote, runs[0], runs[1]) is not None:
            return None
        stored = [await asyncio.to_thread(store.get_run, run) for run in runs[:2]]
        if not all(
            is_a_picture(
                run.status, has_picture=run.png is not None, cut=cut_to_nothing(run.picture_facts)
            )
            for run in stored
        ):
            return None
        a, b = (
            Contender(
                run_id=run.id,
                png=run.png,
                note=None,  # both have a picture
                facts=facts_line(run.picture_facts, blind=True),
                who=f"{named}, in pane {SLOTS.index(run.slot) + 1}",
                numbers=run_numbers(run.timings, run.usage),
                session_id=run.session_id,
                pane=SLOTS.index(run.slot) + 1,
            )
            for run, named in zip(stored, run_labels(found), strict=True)
        )
        label = entry.get("label")
        step = _kept_step(entry, found[0].prompt, sets)
        return VotePair(a, b, label if isinstance(label, str) else "", step)

    def _wait_for_drawing(self) -> None:
        """A new pair is first: verdict keys already typed are not votes on it."""
        self._pair_drawn = False
        self.call_after_refresh(setattr, self, "_pair_drawn", True)

    async def _run_labels(self, run_ids: list[int | None]) -> dict[int, str]:
        """Stored runs by their configuration's label, as the gallery, the leaderboard
        and the ratings name them (how each thought: "… · thinking on (did not)")."""
        from pelican_tui.backends.ratings.configuration import run_labels

        ids = [run_id for run_id in run_ids if run_id is not None]
        with contextlib.suppress(Exception):  # the store failed: no vote to reveal either
            store = await self.open_store()
            headers = await asyncio.to_thread(store.run_headers, ids)
            return dict(zip(headers, run_labels(list(headers.values())), strict=True))
        return {}

    async def _no_picture_reason(self, result: RunResult) -> str:
        """Why a finished run has no picture, in the words of the gallery and the exports
        (its stored run's; the store could not keep a run without an id)."""
        from pelican_tui.backends.export.facts import no_picture_reason

        if result.run_id is not None:
            with contextlib.suppress(Exception):  # the note is optional on screen
                store = await self.open_store()
                return no_picture_reason(await asyncio.to_thread(store.get_run, result.run_id))
        return result.svg_note or "no picture"

    # -- the terminal title -----------------------------------------------------------

    def _activity(self) -> str:
        """What the app is doing, in two or three words (never a model)."""
        vote = "vote A/B" if self.pending_pairs else ""
        if self._in_progress:
            started = sum(counts[0] for counts in self._progress.values())
            planned = sum(counts[1] for counts in self._progress.values())
            return f"running {max(started, 1)}/{planned}" + (f" · {vote}" if vote else "")
        return vote or self._idle_words()

    def _idle_words(self) -> str:
        """What the app is while nothing runs: "ready" (the app says where the local
        server is not, as its status bar does)."""
        return "ready"

    def show_activity(self) -> None:
        """Name the app and what it does in the terminal's title (the one place that
        writes it: :attr:`terminal_title` says what it wrote)."""
        doing = self._activity()
        # Not assigned: the reactive repaints the whole screen (~14 KB at 160x48) at
        # every run's start and end, and nothing on the screen shows it.
        self.set_reactive(App.sub_title, doing)
        self._title.set(f"{self.title} · {doing}")

    def _write_terminal(self, escape: str) -> None:
        driver = self._driver
        if driver is not None and not self.is_headless:
            with contextlib.suppress(Exception):  # a title is not worth a crash
                driver.write(escape)

    # -- keys ---------------------------------------------------------------------------

    def action_toggle_blind(self) -> None:
        """Blind mode on or off; off reveals a comparison still hidden."""
        self.blind = not self.blind
        if self.blind:
            message = ("Blind mode on: from the next run (r) the pictures are shown as A and B, "
                       "and who drew which is hidden until you vote.")  # fmt: skip
            if self._set_aside or self._voted_aside:
                self.offer_kept_pairs("not voted on")
        else:
            # The panes now name the models of the pair they show: no blind vote on it.
            shown = set(self.pane_runs.values())
            named = [p for p in self.pending_pairs if {p.a.run_id, p.b.run_id} == shown]
            aside = [p for p in self.pending_pairs if p not in named and p.votable]
            self._set_aside = [_kept_entry(pair) for pair in aside] + self._set_aside
            self.pending_pairs = []
            self._blind_of = None
            message = "Blind mode off."
            if named:
                votes = " ".join(self._vote_keys().values())
                message += (" The panes show the pair not voted on, the models named: vote on "
                            f"it with {votes}.")  # fmt: skip
            if aside:
                them = "it" if len(aside) == 1 else "them"
                is_kept = "is kept" if len(aside) == 1 else "are kept"
                message += (f" {plural(len(aside), 'blind pair')} not voted on {is_kept}: "
                            f"B shows {them} again.")  # fmt: skip
            self._keep_pairs()
        self._save_state(blind=self.blind)
        self.show_modes()
        self.show_blind()
        self.notify(message, timeout=5)

    def action_cycle_samples(self) -> None:
        """How many times ``r`` runs each pane: 1, 2, 4, 8."""
        later = [n for n in SAMPLE_STEPS if n > self.samples]
        self.samples = later[0] if later else SAMPLE_STEPS[0]
        self._save_state(samples=self.samples)
        self.show_modes()
        times = "once" if self.samples == 1 else f"{self.samples} times, one session each"
        self.notify(f"Samples: r runs each pane {times}; g shows every picture.", timeout=4)

    def hidden_now(self, what: str) -> bool:
        """In blind mode before the vote: say that ``what`` is hidden (True), else False."""
        if not self.blind_hidden and not self._unrevealed:
            return False
        self.notify(f"{what} is hidden until you vote (blind mode); B leaves blind mode.",
                    timeout=4)  # fmt: skip
        return True

    def _screen_prompt(self) -> str:
        return self.query_one("#prompt", PromptBox).prompt or self.prompt

    @work(exclusive=True, group="screens", exit_on_error=False, name="open the gallery")
    async def action_gallery(self) -> None:
        if self.hidden_now("The gallery"):
            return
        from pelican_tui.screens.gallery_screen import GalleryScreen

        store = await self.open_store()
        prompt = self._screen_prompt()
        prompts: list[tuple[str, str]] = []
        step = self._step
        if step is not None and step.prompt_set is not None:  # after a set: its prompts
            prompts = [(step.prompt_set.title_of(p), p.text) for p in step.prompt_set.prompts]
            prompt = step.prompt.text
        screen = GalleryScreen(
            store, prompt, blind=self.blind, mode=self.image_mode, prompts=prompts
        )
        self.push_screen(screen)

    @work(exclusive=True, group="screens", exit_on_error=False, name="open the leaderboard")
    async def action_leaderboard(self) -> None:
        # The ratings moved by a blind vote whose names wait tell who drew A.
        if self.hidden_now("The leaderboard"):
            return
        from pelican_tui.screens.leaderboard_screen import LeaderboardScreen

        store = await self.open_store()
        self.push_screen(LeaderboardScreen(store, self._screen_prompt()))

    async def action_verdict(self, verdict: str) -> None:
        """Vote on the two pictures shown: ``<`` left (A) better, ``>`` right (B), ``=``
        tie, ``-`` both bad. The vote is stored for the ratings, and is the session's
        verdict; with one pane run, left, right or tie is stored as it. The same key
        again says the vote is saved (a double tap); another key stores a new vote,
        which replaces the earlier one (as a vote in the gallery does), unless that one was
        blind: a vote cast with the models shown does not replace a blind one."""
        winner = VERDICT_WINNER[verdict]
        if self.pending_pairs:
            if not self._pair_drawn:
                self.notify("The next pair is on screen now: look at it before you vote.",
                            title="Blind", timeout=4)  # fmt: skip
                return
            await self._vote_blind(winner)
            return
        if self.blind_hidden:
            self.notify("Vote when both pictures are shown (blind mode).", timeout=3)
            return
        if self.session_id is None:
            self.notify(self._nothing_stored("vote on"), timeout=4)
            return
        left, right = self.pane_runs.get("left"), self.pane_runs.get("right")
        pair = _pair_key(left, right) if left is not None and right is not None else None
        was = ""
        earlier_vote = await self._latest_vote(pair) if pair is not None else None
        if earlier_vote is not None:
            # In the panes' words: a blind vote's A and B are no longer on screen.
            voted, won, blind = earlier_vote
            earlier = voted if won is None else "left" if won == left else "right"
            if earlier == verdict:
                self.notify(f"Already voted on these two pictures: {VERDICT_WORDS[verdict]}.",
                            timeout=4)  # fmt: skip
                return
            was = VERDICT_WORDS[earlier]
            if stays := blind_vote_stays(blind, was, blind=False):
                self.notify(stays, timeout=6)
                return
        if pair is None and verdict not in SESSION_VERDICT:
            self.notify("Both bad compares two pictures: run the other pane too.", timeout=4)
            return
        from pelican_tui.backends.store.records import RunNotFound, SessionNotFound

        rated = " (not rated: only one pane has a run)"
        try:
            store = await self.open_store()
            if refused := await self._no_verdict(store):
                self.notify(refused, timeout=5)
                return
            if left is not None and right is not None:  # the session's verdict as well
                await asyncio.to_thread(store.add_vote, left, right, winner, blind=False)
                rated = await asyncio.to_thread(unrated_note, store, left, right)
            elif verdict in SESSION_VERDICT:
                await asyncio.to_thread(
                    store.set_verdict, self.session_id, SESSION_VERDICT[verdict]
                )
        except (RunNotFound, SessionNotFound) as error:  # deleted from outside
            if await self._panes_deleted(store):
                self.notify(self._nothing_stored("vote on"), severity="warning", timeout=8)
            else:
                self.notify(f"session store: {error}", severity="warning", timeout=8)
            return
        except Exception as error:
            self.notify(f"session store: {error}", severity="warning", timeout=8)
            return
        if pair is not None:
            self._voted[pair] = (winner, _won(winner, left, right), False)
        if was:
            self.notify(f"Vote changed: {VERDICT_WORDS[verdict]} (was: {was}).{rated}", timeout=4)
            return
        self.notify(f"Verdict saved: {VERDICT_WORDS[verdict]}.{rated}", timeout=3)

    async def _no_verdict(self, store: SessionStore) -> str | None:
        """Why the panes' runs take no vote (:func:`~pelican_tui.votes.no_verdict`: a
        pane's run did not finish, or drew no picture), or None."""
        headers = await asyncio.to_thread(store.run_headers, list(self.pane_runs.values()))
        return no_verdict(
            [(f"the {slot} pane's", headers.get(self.pane_runs.get(slot, -1))) for slot in SLOTS]
        )

    async def _latest_vote(self, pair: tuple[int, int]) -> tuple[Winner, int | None, bool] | None:
        """How two runs were voted on last (the winner, the run that won, whether blind):
        the store's latest vote (one in the gallery replaces the one cast here, and one
        cast before the app started counts too: a session opened with ``o``), else the
        one cast here; None if never."""
        with contextlib.suppress(Exception):  # the store failed: say what was cast here
            store = await self.open_store()
            vote = await asyncio.to_thread(store.latest_vote, *pair)
            if vote is not None:
                return vote.winner, _won(vote.winner, vote.run_a, vote.run_b), vote.blind
        return self._voted.get(pair)

    async def _vote_blind(self, winner: Winner) -> None:
        """Store the vote on the pair shown, then reveal who drew which picture; a pair
        whose runs are stored no more is withdrawn (:meth:`_withdraw_gone_pairs`)."""
        from pelican_tui.backends.store.records import RunNotFound

        pair = self.pending_pairs[0]
        try:
            store = await self.open_store()
            await store_vote(store, pair, winner, blind=True)  # its session's verdict too
            rated = await asyncio.to_thread(unrated_note, store, pair.a.run_id, pair.b.run_id)
        except RunNotFound as error:  # its session was deleted (pelican-tui sessions delete)
            if not await self._withdraw_gone_pairs(store):
                self.notify(f"The vote was not saved: {error}", severity="error", timeout=10)
            return
        except Exception as error:  # the pair stays: the user can vote again
            self.notify(f"The vote was not saved: {error}", severity="error", timeout=10)
            return
        self.pending_pairs.pop(0)
        self._quit_asked = False
        if pair.a.run_id is not None and pair.b.run_id is not None:
            won = _won(winner, pair.a.run_id, pair.b.run_id)
            self._voted[_pair_key(pair.a.run_id, pair.b.run_id)] = (winner, won, True)
        # A pair of the same two models may be next: no names yet, and the status line
        # above A and B says the vote was saved (:meth:`_with_votes_saved`); kept with the
        # pairs waiting, so that a quit does not leave it out of the names.
        self._unrevealed.append((pair, winner, rated))
        self._keep_pairs()
        self.show_blind()  # the names, when no pair waits
        if self.pending_pairs:
            self._wait_for_drawing()

    async def _withdraw_gone_pairs(self, store: SessionStore) -> bool:
        """Withdraw the pairs to vote on whose runs the store no longer has (their
        session was deleted: by ``pelican-tui sessions delete``, or in another window),
        and say so, and whether the pair on screen was one; False when none was."""
        ids = [run for pair in self.pending_pairs for run in (pair.a.run_id, pair.b.run_id)]
        kept = await stored_runs(store, ids)
        if kept is None:
            return False

        def is_gone(pair: VotePair) -> bool:
            return pair.a.run_id not in kept or pair.b.run_id not in kept

        withdrawn = sum(map(is_gone, self.pending_pairs))
        if not withdrawn:
            return False
        shown = is_gone(self.pending_pairs[0])
        self.pending_pairs = [pair for pair in self.pending_pairs if not is_gone(pair)]
        self._keep_pairs()
        others = withdrawn - shown
        if shown:
            more = f" and {plural(others, 'more pair')} waiting" if others else ""
            said = f"The pair on screen{more} {'were' if others else 'was'} withdrawn"
        else:
            said = f"{plural(others, 'pair')} waiting {'was' if others == 1 else 'were'} withdrawn"
        whose = "its session was" if withdrawn == 1 else "their sessions were"
        said += f": {whose} deleted."
        if shown and self.pending_pairs:
            said += " The next pair is on screen now."
        elif not self.blind_hidden and await self._panes_deleted(store):
            runs = "its deleted runs" if withdrawn == 1 else "deleted runs"
            said += f" The panes show {runs}."
        self.notify(said, title="Blind", severity="warning", timeout=10)
        self.show_blind()
        if shown and self.pending_pairs:
            self._wait_for_drawing()
        return True

    async def _panes_deleted(self, store: SessionStore) -> bool:
        """Whether the runs the panes show are stored no more (their session was deleted
        from outside: ``pelican-tui sessions delete``, another window); if so the panes
        say so, and the next run starts a new session (:meth:`forget_deleted_session`)."""
        runs = list(self.pane_runs.values())
        if self.session_id is None or not runs:
            return False
        kept = await stored_runs(store, runs)
        if kept is None or all(run in kept for run in runs):
            return False
        self.forget_deleted_session(self.session_id)
        return True
