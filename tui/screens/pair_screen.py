"""Two pictures from the gallery side by side, to vote on (blind or not).

``PairScreen`` shows a :class:`~pelican_tui.votes.VotePair` in the
:class:`~pelican_tui.widgets.vote_pair.PairView`, takes one vote (A better,
B better, tie, both bad), stores it with
:meth:`~pelican_tui.backends.store.sessions.SessionStore.add_vote`, and then
reveals who drew which picture. It dismisses with the winner, or None when
closed without a vote; a pair whose session was deleted since the gallery read
it (``pelican-tui sessions delete``, another window) is not voted on: the screen
says so and closes.
"""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from pelican_tui.backends.store.records import RunNotFound, Winner
from pelican_tui.backends.store.sessions import SessionStore
from pelican_tui.votes import (
    WINNER_WORDS,
    VotePair,
    blind_vote_stays,
    no_verdict,
    store_vote,
    stored_runs,
    unrated_note,
)
from pelican_tui.widgets.footer import KeysFooter
from pelican_tui.widgets.vote_pair import PairView, vote_keys_line


class PairScreen(Screen[str | None]):
    """Vote on two pictures; ``escape`` closes (dismiss(winner or None)).

    Args:
        store: Where the vote is recorded.
        pair: The pictures, already in the order shown (A first).
        blind: Whether who drew them is hidden until the vote (and recorded so).
        mode: The picture mode for :class:`PictureView`.
    """

    TITLE = "Vote on two pictures"

    BINDINGS = [
        Binding("less_than_sign", "vote('a')", "A better", id="pair_vote_a"),
        Binding("greater_than_sign", "vote('b')", "B better", id="pair_vote_b"),
        Binding("equals_sign", "vote('tie')", "Tie", id="pair_vote_tie"),
        Binding("minus", "vote('both_bad')", "Both bad", id="pair_vote_both_bad"),
        Binding("escape", "close", "Close", id="pair_close"),
    ]

    def __init__(
        self, store: SessionStore, pair: VotePair, *, blind: bool, mode: str = "auto"
    ) -> None:
        super().__init__()
        self.store = store
        self.pair = pair
        self.blind = blind
        self.mode = mode
        self.winner: str | None = None

    def compose(self) -> ComposeResult:
        yield PairView(image_mode=self.mode, id="pair")
        yield KeysFooter()

    def on_mount(self) -> None:
        view = self.query_one(PairView)
        view.show_pair(self.pair, revealed=not self.blind)
        hidden = "blind: who drew which is shown after your vote" if self.blind else "not blind"
        view.set_status(self._status(hidden))
        view.set_keys(vote_keys_line(self._vote_keys()) + " · esc back")
        self.run_worker(self._say_blind_vote(), group="pair-vote", exit_on_error=False)

    def _status(self, words: str) -> str:
        """The line over the pictures: the pair's label, then ``words``."""
        return f"{self.pair.label} · {words}" if self.pair.label else words

    async def _say_blind_vote(self) -> None:
        """Say at once that the two pictures were voted on blind, and how (a vote with
        the models shown cannot replace it), not only once a key is pressed; in words
        that fit the line at 80 columns (the whole sentence is the notice's)."""
        if (was := await self._blind_vote_was()) is not None and self.winner is None:
            self.query_one(PairView).set_status(self._status(_blind_vote_line(was)))

    def _vote_keys(self) -> dict[str, str]:
        """The vote keys as the user has them, after ``ui.keymap`` (the line said
        "< A better" with ``<`` remapped)."""
        shown: dict[str, str] = {}
        for active in self.active_bindings.values():
            if active.node is self and active.binding.id:
                shown.setdefault(active.binding.id, self.app.get_key_display(active.binding))
        return {w: shown.get(f"pair_vote_{w}", "?") for w in ("a", "b", "tie", "both_bad")}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "vote":
            return self.winner is None  # one vote per pair: the keys go once it is cast
        return True

    async def action_vote(self, winner: Winner) -> None:
        if self.winner is not None:
            return
        view = self.query_one(PairView)
        try:
            if refused := await self._no_verdict():
                view.set_status(refused.split(";")[0])  # the rest is the notice's
                self.notify(refused, timeout=6)
                return
            was = await self._blind_vote_was()
            if was is not None and (stays := blind_vote_stays(True, was, blind=self.blind)):
                view.set_status(self._status(_blind_vote_line(was)))  # whole at 80 columns
                self.notify(stays, timeout=6)
                return
            await store_vote(self.store, self.pair, winner, blind=self.blind)
            rated = await asyncio.to_thread(
                unrated_note, self.store, self.pair.a.run_id, self.pair.b.run_id
            )
        except RunNotFound as error:  # its session was deleted since the gallery read it
            gone = await self._gone()
            said = _gone_words(gone, self.pair) if gone else f"The vote was not saved: {error}"
            self.notify(said, severity="error", timeout=10)
            if gone:
                self.dismiss(None)  # the gallery drops the pictures stored no more
            return
        except Exception as error:  # the pair stays on screen; the user can try again
            self.notify(f"The vote was not saved: {error}", severity="error", timeout=10)
            return
        self.winner = winner
        view.show_pair(self.pair, revealed=True, winner=winner)
        # The note, when there is one, in place of the pointer below: one line at 80 columns.
        under = rated or " Who drew each picture is under it."
        view.set_status(f"Vote saved: {WINNER_WORDS[winner]}.{under}")
        view.set_keys("esc back to the gallery")
        self.refresh_bindings()

    async def _no_verdict(self) -> str | None:
        """Why the two runs take no vote, as the main screen says it (a run that did not
        finish, or drew no picture: :func:`~pelican_tui.votes.no_verdict`), or None."""
        shown = {"A's": self.pair.a.run_id, "B's": self.pair.b.run_id}
        runs = [run for run in shown.values() if run is not None]
        headers = await asyncio.to_thread(self.store.run_headers, runs)
        return no_verdict([(whose, headers.get(run or -1)) for whose, run in shown.items()])

    async def _blind_vote_was(self) -> str | None:
        """How the two pictures were voted on blind, as A and B are now ("B is better"),
        where this vote is not blind and so cannot replace it
        (:func:`~pelican_tui.votes.blind_vote_stays`); None: no such vote."""
        a, b = self.pair.a.run_id, self.pair.b.run_id
        if self.blind or a is None or b is None:
            return None
        earlier = await asyncio.to_thread(self.store.latest_vote, a, b)
        if earlier is None or not earlier.blind:
            return None
        won = {"a": earlier.run_a, "b": earlier.run_b}.get(earlier.winner)
        shown = "a" if won == a else "b" if won == b else earlier.winner  # as A and B now
        return WINNER_WORDS[shown]

    async def _gone(self) -> list[str]:
        """Which of the pictures ("A", "B") the store no longer has; none when it failed."""
        shown = {"A": self.pair.a.run_id, "B": self.pair.b.run_id}
        kept = await stored_runs(self.store, shown.values())
        if kept is None:
            return []
        return [name for name, run in shown.items() if run not in kept]

    def action_close(self) -> None:
        self.dismiss(self.winner)


def _blind_vote_line(was: str) -> str:
    """The blind vote that stays, in the line over the pictures ("voted on blind before
    (B is better): that vote stays"): with the label, 71 cells, whole at 80 columns."""
    return f"voted on blind before ({was}): that vote stays"


def _gone_words(gone: list[str], pair: VotePair) -> str:
    """Why the vote on ``pair`` was not saved, its pictures ``gone`` ("A", "B") deleted
    with their session: "These pictures' session was deleted: …"."""
    if len(gone) == 1:
        (name,) = gone
        return (f"Picture {name}'s session was deleted: the vote was not saved, "
                f"and {name} is gone from the gallery.")  # fmt: skip
    one = pair.a.session_id == pair.b.session_id
    whose = "These pictures' session was" if one else "These pictures' sessions were"
    return f"{whose} deleted: the vote was not saved, and they are gone from the gallery."
