"""Two pictures side by side as A and B, with the vote keys: the one vote widget.

The main screen shows it in blind mode (instead of the panes), the pair
screen shows it for any two pictures of the gallery. It draws a
:class:`~pelican_tui.votes.VotePair` hidden (pictures and measured facts
only) or revealed (who drew each picture, and the numbers); it decides
nothing and stores nothing: the screen that owns it handles the keys.

It keeps its parts instead of querying for them, so it can be given a pair
as soon as it is built, before it is mounted: the main screen mounts it only
when blind mode first hides the panes (18 widgets less to style before the
first frame).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from pelican_tui.votes import Contender, VotePair
from pelican_tui.widgets.caption import Caption
from pelican_tui.widgets.picture import PictureView
from pelican_tui.widgets.text_line import TextLine


def vote_keys_line(keys: dict[str, str]) -> str:
    """The vote keys as the user has them: ``< A better · > B better · = tie · - both bad``."""
    words = (("a", "A better"), ("b", "B better"), ("tie", "tie"), ("both_bad", "both bad"))
    return "Vote: " + " · ".join(f"{keys.get(w, '?')} {text}" for w, text in words)


_AB = ("a", "b")


class PairView(Vertical):
    """A and B, each a picture with a caption; a status line above and a keys line below."""

    DEFAULT_CSS = """
    PairView { height: 1fr; }
    PairView > .pair-status { height: 1; padding: 0 1; background: $boost; }
    PairView > .pair-pictures { height: 1fr; }
    PairView .contender { width: 1fr; height: 1fr; border: round $panel-lighten-2; }
    PairView .contender.-winner { border: round $success; }
    PairView .contender PictureView { height: 1fr; min-height: 3; }
    PairView .contender-caption { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    PairView > .pair-keys { height: 1; padding: 0 1; color: $accent; text-style: bold; }
    """

    def __init__(self, *, image_mode: str = "auto", id: str | None = None) -> None:
        super().__init__(id=id)
        self.image_mode = image_mode
        self.pair: VotePair | None = None
        self.revealed = False
        self.winner: str | None = None
        self._status = TextLine("", classes="pair-status")
        self._keys = Static("", classes="pair-keys", markup=False)
        self._boxes = {name: Vertical(classes="contender", id=f"contender-{name}") for name in _AB}
        self._pictures = {
            name: PictureView(mode=image_mode, placeholder="waiting…") for name in _AB
        }
        self._captions = {name: Caption(classes="contender-caption") for name in _AB}
        for name, box in self._boxes.items():
            box.border_title = name.upper()

    def compose(self) -> ComposeResult:
        yield self._status
        with Horizontal(classes="pair-pictures"):
            for name in _AB:
                with self._boxes[name]:
                    yield self._pictures[name]
                    yield self._captions[name]
        yield self._keys

    # -- what the owner calls ------------------------------------------------------

    def set_status(self, text: str) -> None:
        self._status.update(text)

    def set_keys(self, text: str) -> None:
        self._keys.update(text)

    @property
    def status_text(self) -> str:
        return self._status.text

    def show_waiting(self, a: str, b: str) -> None:
        """No pair yet: each side says only what the other says too ("running…")."""
        self.pair, self.revealed, self.winner = None, False, None
        for name, text in (("a", a), ("b", b)):
            self._boxes[name].remove_class("-winner")
            self._boxes[name].border_title = name.upper()
            self._pictures[name].set_png(None, text)
            self._captions[name].show("")

    def clear(self) -> None:
        """Show nothing and let go of the pictures (the view is hidden until the next pair).

        A hidden view would otherwise keep both pictures decoded (a 1024x1024
        RGB image each, plus the copy textual-image draws from) for as long as
        the app runs.
        """
        if self.pair is None and not any(view.png for view in self._pictures.values()):
            return
        self.show_waiting("", "")
        self.set_status("")
        self.set_keys("")

    def show_pair(
        self, pair: VotePair, *, revealed: bool = False, winner: str | None = None
    ) -> None:
        """Draw ``pair``; ``revealed`` adds who drew each picture and the numbers."""
        self.pair, self.revealed, self.winner = pair, revealed, winner
        for name, contender in (("a", pair.a), ("b", pair.b)):
            box = self._boxes[name]
            box.set_class(revealed and winner in (name, "tie"), "-winner")
            self._pictures[name].set_png(contender.png, contender.note)
            self._captions[name].show(_caption(contender, revealed))
            box.border_title = f"{name.upper()} · {contender.who}" if revealed else name.upper()

    def captions(self) -> list[str]:
        """The captions as shown (for tests and the picture screen)."""
        return [str(self._captions[name].render()) for name in _AB]


def _caption(contender: Contender, revealed: bool) -> str:
    if not revealed:
        return contender.facts
    return "\n".join(line for line in (contender.who, contender.numbers, contender.facts) if line)
