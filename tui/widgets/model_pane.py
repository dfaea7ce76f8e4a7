"""One side of the comparison: a model's facts, thinking, answer, picture and numbers.

The pane never talks to a backend. The app feeds it generation events with
:meth:`ModelPane.feed`; the pane only stores them and redraws at a fixed rate
(:attr:`ModelPane.redraw_hz`), so a fast model costs a few redraws a second,
not one per token. The tokens/s sparkline gets at most one point per redraw,
and a live preview of the picture waits for the next one
(:meth:`ModelPane.stage_preview`).
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import Collapsible

from pelican_tui.backends.engine.choices import PaneChoice
from pelican_tui.backends.events import (
    Failed,
    Finished,
    GenerationEvent,
    LiveStats,
    TextDelta,
    ThinkingDelta,
    Waiting,
)
from pelican_tui.backends.text import on_off, shorten_keeping_last
from pelican_tui.widgets.kept_lines import KeptLines, KeptStatic
from pelican_tui.widgets.picture import PictureView
from pelican_tui.widgets.sparkline_row import RateRow, RateSeries
from pelican_tui.widgets.stream_text import StreamText
from pelican_tui.widgets.text_line import TextLine

NO_THINKING_YET, NO_ANSWER_YET = "(no thinking yet)", "(no answer yet)"
"""What the thinking and the answer say before a run writes any (after it: "(no answer)")."""


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _tokens_per_s(value: float | None, ceiling: float | None) -> str:
    """``38.2 tok/s`` and, when the memory-bound ceiling is known, how close it is."""
    text = f"{_rate(value)} tok/s"
    if ceiling and value is not None:
        text += f" ({value / ceiling:.0%} of {ceiling:.0f} max)"
    return text


class ModelPane(Vertical, KeptLines):
    """Facts, thinking (collapsible), answer, picture and numbers for one model."""

    DEFAULT_CSS = """
    ModelPane { border: round $panel-lighten-2; padding: 0; }
    ModelPane.-active { border: round $accent; }
    ModelPane > .facts { height: 1; color: $text-muted; padding: 0 1; }
    ModelPane > Collapsible { height: auto; max-height: 8; padding: 0; border: none; margin: 0; }
    ModelPane > Collapsible > Contents { padding: 0; height: auto; }
    ModelPane #thinking { height: 5; color: $text-muted; }
    ModelPane #answer { height: 4; }
    ModelPane PictureView { height: 1fr; min-height: 4; }
    ModelPane > .stats { height: 1; padding: 0 1; background: $boost; }
    ModelPane > .problem {
        height: auto; max-height: 4; padding: 0 1; color: $error; display: none;
    }
    ModelPane > .problem.-shown { display: block; }
    """

    state: var[str] = var("idle")
    """idle, running, finished, failed or cancelled.

    A ``var``, not a repainting reactive: a change of state must not repaint
    the whole pane (borders, text and picture: ~20 KB at 160x48); the parts
    that show it (the stats line) redraw themselves.
    """

    def __init__(
        self, slot: str, choice: PaneChoice, *, image_mode: str = "auto", redraw_hz: float = 4.0
    ) -> None:
        super().__init__(id=slot)
        self.slot = slot
        self.number = "1" if slot == "left" else "2"
        """How titles, notices and keys name the pane (``1``, ``2``)."""
        self.choice = choice
        """What the pane runs (the app sets it; the pane reads only ``thinking``)."""
        self.shown_thinking: str | None = None
        """How the numbers line says the run on screen thinks: "thinking" and the words
        its configuration says after it
        (:func:`~pelican_tui.backends.ratings.configuration.thinking_words`), as asked
        from its start ("thinking high", Claude's effort; a key may change :attr:`choice`
        for the next run meanwhile), as it did once it has ended ("thinking on (did
        not)", "thinking off (thought)"; with no switch "did not think", "thought":
        :func:`~pelican_tui.backends.ratings.configuration.numbers_thinking`); None:
        no run shown yet, or nothing to say (no switch, before it ends)."""
        self.choice_thinking: str | None = None
        """How :attr:`choice` thinks, as its header says it after "thinking" (the app
        sets it with :attr:`choice`; None: "on" or "off", as its switch is)."""
        self.thinking_switch = True
        """False: :attr:`choice`'s model has no thinking switch (its header says so), so
        the numbers line says nothing of thinking asked (the app sets it with
        :attr:`choice`)."""
        self.image_mode = image_mode
        self.redraw_hz = redraw_hz
        """Redraws per second while running; 0: no timer of its own (the owner calls
        :meth:`flush`, e.g. one clock for both panes, so they cost one screen update)."""
        self._timer: Timer | None = None
        self._live: LiveStats | None = None
        self._final: Finished | None = None
        self._failure: Failed | None = None
        self._waiting: Waiting | None = None
        """Set while the server sends nothing (cleared by the next other event)."""
        self._queued: str | None = None
        self._preview: bytes | None = None
        """A live preview waiting for the next redraw (see :meth:`stage_preview`)."""
        self._stats_dirty = False
        self._collapsed_once = False
        self._opened_once = False
        self._redrawn = False
        """Whether the pane was redrawn while this run streamed."""
        self._title = slot
        self._facts = ""
        self.ceiling_tok_s: float | None = None
        """Memory-bandwidth decode ceiling of the local model (None: unknown or not local)."""
        self.rates = RateSeries()
        """This run's tokens/s, one point per redraw at most (the sparkline's values)."""
        self._rated: LiveStats | None = None
        """The numbers the last point came from (a point is added only for new ones)."""
        # The parts are kept, not queried for: feed() runs once per token.
        # A next run's thinking and the server's note on it kept whole ("… (ignored by
        # the server)"), its model's name cut instead.
        self._facts_line = TextLine(self._facts, classes="facts", fit=shorten_keeping_last)
        self._stats = TextLine("", classes="stats")
        self._rate_row = RateRow()
        self._thinking = StreamText(NO_THINKING_YET, id="thinking")
        self._thinking_box = Collapsible(
            self._thinking, title="Thinking", collapsed=True, id="thinking-box"
        )
        self._fit_thinking_box()
        self._answer = StreamText(NO_ANSWER_YET, id="answer")
        self._problem = KeptStatic("", classes="problem")
        self._problem_text = ""
        self._picture = PictureView(mode=self.image_mode, placeholder="no picture yet")

    def compose(self) -> ComposeResult:
        # Everything that changes while streaming (numbers, thinking, answer) sits
        # together above the picture: a redraw then repaints only those rows, and the
        # picture below is not re-rendered a few times a second.
        yield self._facts_line
        yield self._stats
        yield self._rate_row
        yield self._thinking_box
        yield self._answer
        yield self._problem
        yield self._picture

    def on_mount(self) -> None:
        self.border_title = self._title
        if self.redraw_hz > 0:
            self._timer = self.set_interval(1 / self.redraw_hz, self.flush, pause=True)
        self._draw_stats()

    # -- what the app calls ---------------------------------------------------

    @property
    def picture(self) -> PictureView:
        return self._picture

    @property
    def answer_text(self) -> str:
        return self._answer.text

    @property
    def thinking_text(self) -> str:
        return self._thinking.text

    def describe(self, title: str, facts: str) -> None:
        """Set the pane title (model name) and the one-line facts under it."""
        self._title, self._facts = title, facts
        if self.is_mounted:
            if self.border_title != title:  # assigning repaints the whole pane
                self.border_title = title
            self._facts_line.update(facts)
            self._fit_thinking_box()

    def begin(self, thinking: str | None = None) -> None:
        """Clear the previous run and start redrawing at :attr:`redraw_hz`; ``thinking``:
        how the run is asked to think (None: as :attr:`choice`)."""
        self._live = self._final = self._failure = None
        self._queued = self._waiting = None
        self._preview = None
        self.rates.clear()
        self._rated = None
        self._rate_row.show_rates([])
        self._thinking.clear()
        self._answer.clear()
        self._thinking.set_placeholder(NO_THINKING_YET)
        self._answer.set_placeholder(NO_ANSWER_YET)
        self._thinking_box.title = "Thinking"
        # Opened when thinking arrives (flush): a model that does not think, or
        # answers at once, never opens and closes it (each a layout of the screen).
        self._thinking_box.collapsed = True
        self._opened_once = self._redrawn = False
        self._fit_thinking_box()
        self.show_problem(None)
        asked = f"thinking {thinking}" if thinking and self.thinking_switch else None
        self.shown_thinking = asked or self._asked_thinking()  # as asked, until it ends
        self.state = "running"
        self._stats_dirty = True
        self._collapsed_once = False
        if self._timer is not None:
            self._timer.resume()

    @property
    def status(self) -> str:
        """Its state in a word, "waiting" for a run that waits for its turn."""
        return "waiting" if self.state == "running" and self._queued else self.state

    def queue(self, reason: str) -> None:
        """The run waits (another pane has the server, or it answers a check slowly):
        say why until it starts."""
        self.begin()
        self._queued = reason
        self._draw_stats()

    def feed(self, event: GenerationEvent) -> None:
        """Take one event; cheap (no drawing happens here)."""
        if isinstance(event, Waiting):
            self._waiting = event
            self._stats_dirty = True
            return
        if self._waiting is not None:
            self._waiting = None  # data flows again
            self._stats_dirty = True
        if isinstance(event, TextDelta):
            answer = self._answer
            if not answer.has_text and not self._live:
                self._stats_dirty = True
            answer.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self._thinking.append(event.text)
        elif isinstance(event, LiveStats):
            self._live = event
            self._stats_dirty = True
        elif isinstance(event, Finished):
            self._final = event
            self._stats_dirty = True
        elif isinstance(event, Failed):
            self._failure = event

    def stage_preview(self, png: bytes) -> None:
        """Show ``png`` (a live preview) at the next redraw, with the text and numbers.

        A preview drawn when its render arrives costs a screen update of its own
        (~3-5 ms at 160x48 however little changed, as Textual renders every widget
        beside the changed rows); drawn at the redraw the pane makes anyway, it costs
        only its changed cells. A newer preview replaces one still waiting."""
        if self.state == "running":
            self._preview = png

    def end(self, state: str, warning: str | None = None, *, thinking: str | None = None) -> None:
        """The run is over: draw everything one last time and stop the timer.

        ``warning``: what the check after the run found wrong (the server ignored
        the thinking switch), shown where a failure would be. ``thinking``: how the run
        thought, as its numbers line says it ("thinking on (did not)", "did not think":
        :func:`~pelican_tui.backends.ratings.configuration.numbers_thinking`; None: as
        the pane is set)."""
        if thinking is not None:
            self.shown_thinking = thinking
        if self._timer is not None:
            self._timer.pause()
        self._preview = None  # the final picture is coming
        self.state = state
        self._stats_dirty = True
        if not self.rates.points:
            self._add_rate()  # a run shorter than a redraw: its one point, its average
        self.flush()
        for text in (self._thinking, self._answer):
            text.settle()  # streaming scrolled by half pages: the last rows at the bottom
        self._thinking.set_placeholder("(no thinking)")
        self._answer.set_placeholder("(no answer)")
        if self._failure is not None:
            hint = f" — {self._failure.hint}" if self._failure.hint else ""
            self.show_problem(f"{self._failure.reason}{hint}")
        elif warning:
            self.show_problem(f"⚠ {warning}")

    def forget_run(self) -> None:
        """Idle again, showing no run: its "not run" was a server's that is gone (one
        that failed to start), and its numbers line said that server's state and
        thinking ("· not run · thinking on") under the new server's title."""
        self.begin()
        if self._timer is not None:
            self._timer.pause()
        self.shown_thinking = None  # as the pane is set now
        self._picture.set_png(None)
        self.state = "idle"
        self._draw_stats()

    @property
    def problem(self) -> str:
        """The problem line shown now ("" for none)."""
        return self._problem_text

    def show_problem(self, message: str | None) -> None:
        if (message or "") == self._problem_text:
            return  # Static.update lays the screen out again, even for the same text
        self._problem_text = message or ""
        self._problem.update(self._problem_text)
        self._problem.set_class(bool(message), "-shown")

    def _fit_thinking_box(self) -> None:
        """Mark the thinking box unused for a run asked not to think, or of a model with
        no thinking switch, until it thinks anyway (a server that ignores the switch, a
        model that always thinks). Where one pane shows at a time (80 columns) an unused
        box takes no row (``app.tcss``); side by side it keeps its row, so that the two
        panes' pictures are drawn at one size."""
        unused = not (self._asks_thinking() or self._thinking.has_text)
        if self._thinking_box.has_class("-unused") != unused:
            self._thinking_box.set_class(unused, "-unused")

    # -- drawing ----------------------------------------------------------------

    def flush(self) -> None:
        thinking, answer, box = self._thinking, self._answer, self._thinking_box
        running = self.state == "running"
        # The title's token count lays the screen out again: once, at the end (while
        # streaming, the numbers line above counts the thinking tokens).
        if thinking.has_text and box.has_class("-unused"):
            self._fit_thinking_box()
        if thinking.has_text and not running:
            tokens = self._thinking_tokens()
            title = f"Thinking ({tokens} tokens)" if tokens else "Thinking"
            if box.title != title:
                box.title = title
        # Thinking streams: open it until the answer starts. A run over before its
        # first redraw shows it open, as it would have been while thinking (a model
        # with no switch, only over its thinking: not over "(no thinking)").
        thinking_now = running and thinking.has_text and not answer.has_text
        over_unseen = not running and not self._redrawn
        wanted = self.choice.thinking and (self.thinking_switch or thinking.has_text)
        if (thinking_now or over_unseen) and wanted and not self._opened_once:
            self._opened_once = True
            box.collapsed = False
        self._redrawn = self._redrawn or running
        if answer.has_text and running and not box.collapsed and not self._collapsed_once:
            self._collapsed_once = True
            box.collapsed = True  # the answer has started: make room for it
        thinking.flush()
        answer.flush()
        if self._preview is not None:
            png, self._preview = self._preview, None
            self._picture.set_png(png)
        if self.state == "running":
            self._add_rate()
        if self._stats_dirty:
            self._stats_dirty = False
            self._draw_stats()

    def _thinking_tokens(self) -> int:
        """The reasoning's tokens: the final count once there is one (as the numbers
        line says), else the last live one."""
        if self._final is not None and self._final.usage.thinking_tokens is not None:
            return self._final.usage.thinking_tokens
        return self._live.thinking_tokens if self._live else 0

    def _asks_thinking(self) -> bool:
        """Whether its runs ask to think: :attr:`choice` thinks and its model has a
        switch to ask with."""
        return self.choice.thinking and self.thinking_switch

    def _asked_thinking(self) -> str | None:
        """How :attr:`choice` thinks, as its numbers line says it ("thinking on"); None
        for a model with no thinking switch: what is asked changes nothing."""
        if not self.thinking_switch:
            return None
        return f"thinking {self.choice_thinking or on_off(self.choice.thinking)}"

    def stats_line(self, width: int | None = None) -> str:
        """The numbers line; within ``width`` cells (where given) it leaves out how close
        the rate is to the ceiling, which the gauge beside the sparkline shows too."""
        line = self._stats_text(self.ceiling_tok_s)
        if width and cell_len(line) > width and self.ceiling_tok_s:
            return self._stats_text(None)
        return line

    def _stats_text(self, ceiling: float | None) -> str:
        state = {"running": "▶", "finished": "✓", "failed": "✗", "cancelled": "■"}.get(
            self.state, "·"
        )
        said = self.shown_thinking or self._asked_thinking()
        think = f" · {said}" if said else ""
        if self._final is not None:
            t = self._final.timings
            u = self._final.usage
            thinking = f" · {u.thinking_tokens} think" if u.thinking_tokens else ""
            limit = " (limit)" if self._final.at_token_limit else ""
            return (
                f"{state} TTFT {_seconds(t.time_to_first_token_s)} · "
                f"{_tokens_per_s(t.generation_tokens_per_s, ceiling)} · "
                f"{t.generated_tokens or u.output_tokens or 0} tok{limit}{thinking}{think}"
            )
        if self._waiting is not None and self.state == "running":
            tokens = f" · {self._live.tokens} tok so far" if self._live else ""
            return f"{state} no data for {self._waiting.idle_s:.0f} s{tokens}{think}"
        if self._live is not None:
            live = self._live
            thinking = f" · {live.thinking_tokens} think" if live.thinking_tokens else ""
            return (
                f"{state} TTFT {_seconds(live.time_to_first_token_s)} · "
                f"{_tokens_per_s(live.tokens_per_s, ceiling)} · "
                f"{live.tokens} tok{thinking}{think}"
            )
        if self.state == "running" and self._queued:
            return f"… {self._queued}{think}"
        if self.state == "running":
            return f"{state} waiting for the first token{think}"
        return f"{state} {self.state}{think}"

    def redraw_stats(self) -> None:
        """Redraw the numbers line now (after the choice or the ceiling changed)."""
        self._draw_stats()

    def _draw_stats(self) -> None:
        self._stats.update(self.stats_line(self._stats.size.width))
        rate = (
            self._final.timings.generation_tokens_per_s
            if self._final is not None
            else self._live.tokens_per_s
            if self._live is not None
            else None
        )
        self._rate_row.show_ceiling(rate, self.ceiling_tok_s)

    def _add_rate(self) -> None:
        """A point for the sparkline from live numbers newer than the last point's.

        Only while the run streams: the final numbers are left out, as some backends
        count their tokens differently at the end (Claude's live counts are estimates
        from the text, its final count is the API's), which would draw a spike."""
        newest = self._live
        if newest is None or newest is self._rated:
            return
        self._rated = newest
        if self.rates.add(newest.tokens, newest.tokens_per_s):
            self._rate_row.show_rates(self.rates.points)
