"""An optional judge: a vision-capable Claude model votes on pairs of pictures, blind.

What a front end calls, in order (``pelican-tui judge`` does exactly this)::

    judge = Judge(settings.judge, settings.claude)        # judge.problem(): off? no key?
    plan = choose_pairs(store, judge.model, prompt=None, max_pairs=10)
    cost = estimate(plan.pairs, settings.judge, judge.model)   # before any call
    async for outcome in judge_pairs(store, judge, plan.pairs):
        ...  # Judged (stored), Unparseable (not stored), CallFailed (the last one)

- :func:`choose_pairs`: two finished runs of one prompt with stored PNGs, of
  different configurations, that this judge model has not voted on yet; the
  pairs you voted on first (so the judge's agreement with you can be
  measured), then spread over configuration pairs, prompts and runs. A prompt
  from a private prompt set is never sent to the judge: it is skipped.
- :func:`estimate`: calls and tokens, from the pictures' sizes. Anthropic
  counts an image as about width x height / 750 tokens; the stored PNGs are
  1024 x 1024 (~1400 tokens each), so they are downscaled to
  ``judge.image_px`` (512: ~350) before they are sent.
- :class:`Judge`: one non-streamed Messages call per pair, with the prompt and
  both pictures labelled A and B in random order; the answer asked for is one
  line "A", "B", "tie" or "both bad" and one line saying why. Failures read
  like the Claude side's (the same mapping).
- :func:`judge_pairs`: stores each answer as a blind vote with ``judge`` set
  to the model id (never among the user's votes), reports an unparseable
  answer without storing it, and stops at the first failed call, or after
  :data:`UNREADABLE_IN_A_ROW` unparseable answers one after another.

The call is not streamed, but it goes by the runs' idle rule
(:mod:`~pelican_tui.backends.idle`, the ``idle_timeout_s`` setting): the whole
wait for the reply is silence, and ends in the runs' words, "no data from
Anthropic for N s; gave up".
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
import os
import random
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from PIL import Image

from pelican_tui.backends.anthropic_backend import (
    API_KEY_ENV,
    BASE_URL_ENV,
    CHARS_PER_TOKEN,
    ClaudeBackend,
    Secret,
    sdk_client,
)
from pelican_tui.backends.events import Failed
from pelican_tui.backends.frozen import frozen
from pelican_tui.backends.idle import IdleRule, StreamIdle, idle_failure, within_idle
from pelican_tui.backends.ratings.configuration import configuration_of
from pelican_tui.backends.store.records import Run, Vote, Winner
from pelican_tui.backends.svg.render import png_size
from pelican_tui.backends.text import shorten

if TYPE_CHECKING:
    from types import ModuleType

    from pelican_tui.backends.settings import ClaudeSettings, JudgeSettings
    from pelican_tui.backends.store.sessions import SessionStore

SYSTEM: Final = (
    "You judge pictures that AI models drew as SVG for a text prompt, rendered to PNG. "
    "You see the prompt and two pictures, A and B. Say which one fulfils the prompt better: "
    "is every thing the prompt asks for there and recognisable, doing what the prompt says, "
    "and is the drawing coherent. Neither the order of the pictures nor detail the prompt "
    "did not ask for is a reason to prefer one.\n"
    "Answer with exactly two lines and nothing else:\n"
    "line 1: A, B, tie or both bad\n"
    "line 2: one short sentence saying why."
)
QUESTION: Final = (
    "Which picture fulfils the prompt better? Line 1: A, B, tie or both bad. "
    "Line 2: why, in one sentence."
)
IMAGE_TOKEN_PIXELS: Final = 750
"""Anthropic's rule of thumb: an image costs about width x height / 750 input tokens."""
ANTHROPIC_MAX_EDGE: Final = 1568
ANTHROPIC_MAX_IMAGE_TOKENS: Final = 1600
"""Anthropic scales an image down first when its long edge or its tokens exceed these."""
_FRAMING_TOKENS: Final = 30
"""Message framing and the labels around the pictures, roughly."""
_MAX_REASON_CHARS: Final = 300
UNREADABLE_IN_A_ROW: Final = 3
"""Unparseable answers, one after another, that stop :func:`judge_pairs`: a model
that does not answer in the format asked for would be paid for every pair left."""

# ----------------------------------------------------------------------------- choosing pairs


@frozen
class Pair:
    """Two finished runs of one prompt, each with a stored PNG, of different configurations."""

    prompt: str
    first: Run
    second: Run
    user_voted: bool = False
    """You voted on this pair too: the judge's vote on it measures agreement."""


@frozen
class Plan:
    """The pairs to judge and what was left out."""

    pairs: tuple[Pair, ...]
    available: int
    """Pairs that could be judged, before ``max_pairs`` cut them."""
    private_skipped: int
    """Prompts of private prompt sets left out: they are never sent to the judge."""


def choose_pairs(
    store: SessionStore, judge_model: str, *, prompt: str | None = None, max_pairs: int
) -> Plan:
    """The pairs ``judge_model`` should judge next, for ``prompt`` or every prompt (see
    the module doc for which and in what order), at most ``max_pairs``."""
    prompts = [prompt] if prompt is not None else [text for text, n in store.prompts() if n > 1]
    private = 0
    voted_first: list[Pair] = []
    lanes: list[list[Pair]] = []
    for text in prompts:
        if store.is_private_prompt(text):
            private += 1
            continue
        done = _pairs_of(v for v in store.votes(judge=True, prompt=text) if v.judge == judge_model)
        mine = _pairs_of(store.votes(judge=False, prompt=text))
        by_config: dict[str, list[Run]] = {}
        for run in store.runs_for_prompt(text):  # newest first
            if run.png and png_size(run.png) is not None:
                by_config.setdefault(configuration_of(run).key, []).append(run)
        groups = list(by_config.values())
        for i, ours in enumerate(groups):
            for theirs in groups[i + 1 :]:
                lane: list[Pair] = []
                for x, y in _spread(ours, theirs):
                    ids = frozenset((x.id, y.id))
                    if ids not in done:
                        pair = Pair(text, x, y, user_voted=ids in mine)
                        (voted_first if pair.user_voted else lane).append(pair)
                lanes.append(lane)
    ordered = voted_first + _round_robin(lanes)
    return Plan(tuple(ordered[: max(0, max_pairs)]), len(ordered), private)


def _pairs_of(votes: Iterable[Vote]) -> set[frozenset[int]]:
    return {frozenset((vote.run_a, vote.run_b)) for vote in votes}


def _spread(xs: Sequence[Run], ys: Sequence[Run]) -> list[tuple[Run, Run]]:
    """Every (x, y), ordered so the first ones use different runs: (0,0), (1,1), … then (0,1) …"""
    cells = [(i, j) for i in range(len(xs)) for j in range(len(ys))]
    cells.sort(key=lambda ij: ((ij[1] - ij[0]) % len(ys), ij[0]))
    return [(xs[i], ys[j]) for i, j in cells]


def _round_robin(lanes: Sequence[Sequence[Pair]]) -> list[Pair]:
    longest = max((len(lane) for lane in lanes), default=0)
    return [lane[k] for k in range(longest) for lane in lanes if k < len(lane)]


# ----------------------------------------------------------------------------- pictures and cost


def sent_size(size: tuple[int, int], max_px: int | None) -> tuple[int, int]:
    """The size a stored picture of ``size`` is sent at: at most ``max_px`` a side."""
    width, height = size
    if max_px is None or max(width, height) <= max_px:
        return size
    scale = max_px / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def image_tokens(size: tuple[int, int]) -> int:
    """About how many input tokens Anthropic counts for a picture of ``size``."""
    width, height = size
    scale = min(
        1.0,
        ANTHROPIC_MAX_EDGE / max(width, height, 1),
        math.sqrt(ANTHROPIC_MAX_IMAGE_TOKENS * IMAGE_TOKEN_PIXELS / max(width * height, 1)),
    )
    return math.ceil(width * scale * height * scale / IMAGE_TOKEN_PIXELS)


def picture_for_judge(png: bytes, max_px: int | None) -> bytes:
    """The PNG sent to the judge: downscaled to ``max_px`` a side, on white if it has alpha."""
    with Image.open(io.BytesIO(png)) as image:
        target = sent_size(image.size, max_px)
        if target == image.size and image.mode == "RGB":
            return png
        flat = image.convert("RGBA")
        background = Image.new("RGBA", flat.size, "white")
        picture = Image.alpha_composite(background, flat).convert("RGB")
        if target != picture.size:
            picture = picture.resize(target, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        picture.save(out, "PNG", optimize=True)
        return out.getvalue()


@frozen
class Estimate:
    """What a judge run will cost, worked out before any call."""

    model: str
    calls: int
    input_tokens: int
    """About: the instructions, the prompts and the pictures."""
    output_tokens: int
    """At most: ``judge.max_tokens`` per call (the two lines asked for are far fewer)."""
    stored_size: tuple[int, int] | None
    sent_size: tuple[int, int] | None
    """The first picture's size as stored and as sent (all are stored at one size)."""
    picture_tokens: int
    """About how many input tokens one picture of :attr:`sent_size` costs."""


def estimate(pairs: Sequence[Pair], settings: JudgeSettings, model: str) -> Estimate:
    """Calls and tokens of judging ``pairs`` with ``model``."""
    sizes: dict[int, tuple[int, int]] = {}
    total = 0
    for pair in pairs:
        text = len(SYSTEM) + len(QUESTION) + len(pair.prompt)
        total += math.ceil(text / CHARS_PER_TOKEN) + _FRAMING_TOKENS
        for run in (pair.first, pair.second):
            if run.id not in sizes:
                sizes[run.id] = png_size(run.png or b"") or (0, 0)
            total += image_tokens(sent_size(sizes[run.id], settings.image_px))
    stored = next(iter(sizes.values()), None)
    sent = None if stored is None else sent_size(stored, settings.image_px)
    return Estimate(
        model=model,
        calls=len(pairs),
        input_tokens=total,
        output_tokens=len(pairs) * settings.max_tokens,
        stored_size=stored,
        sent_size=sent,
        picture_tokens=0 if sent is None else image_tokens(sent),
    )


# ----------------------------------------------------------------------------- the answer

_VERDICT = re.compile(
    r"(?:(?:line\s*1|answer|verdict|winner|choice)\s*[:\-]\s*)?(?:picture\s+)?"
    r"(?P<verdict>a|b|tie|both[\s_-]*(?:are\s+)?bad)\s*(?:is\s+better|wins|is\s+the\s+winner)?"
    r"\s*(?:[.:;,!\-\u2013\u2014]\s*(?P<rest>.*))?",
    re.IGNORECASE,
)
_REASON_LABEL = re.compile(r"(?:line\s*2|reason|why|because)\s*[:\-]\s*", re.IGNORECASE)


def parse_answer(text: str) -> tuple[Winner, str | None] | None:
    """The judge's verdict and reason, or None when its first line is not one of
    A, B, tie, both bad (markdown, a label like "Answer:" and "is better" are allowed)."""
    lines = [_plain(line) for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("```")]
    if not lines:
        return None
    match = _VERDICT.fullmatch(_unmarked(lines[0]))
    if match is None:
        return None
    word = re.sub(r"[\s_-]+", " ", match["verdict"].lower())
    winner: Winner = "both_bad" if word.startswith("both") else word  # type: ignore[assignment]
    reason = (match["rest"] or "").strip() or (_unmarked(lines[1]) if len(lines) > 1 else "")
    reason = _REASON_LABEL.sub("", reason, count=1).strip()
    return winner, shorten(reason, _MAX_REASON_CHARS) or None


def _plain(line: str) -> str:
    return line.strip().strip("*_#>` ").strip()


def _unmarked(line: str) -> str:
    """``line`` without markdown emphasis and code marks."""
    return re.sub(r"[*`]", "", line).strip()


# ----------------------------------------------------------------------------- the call


@frozen
class TokenUse:
    """Tokens a judge call used, as Anthropic counted them (0 where it did not say)."""

    input_tokens: int = 0
    output_tokens: int = 0


@frozen
class Answer:
    """What the judge said about a pair: ``shown_a`` was shown as A, ``shown_b`` as B."""

    pair: Pair
    shown_a: Run
    shown_b: Run
    winner: Winner
    """A or B (of the order shown), tie, or both bad."""
    reason: str | None
    """The judge's why, on one line (shortened); None when it gave none."""
    usage: TokenUse


@frozen
class Judged:
    """An answer stored as a vote (``vote.run_a`` is the run shown as A)."""

    answer: Answer
    vote: Vote


@frozen
class Unparseable:
    """An answer that is not in the format asked for: reported, not stored."""

    pair: Pair
    answer: str
    """The judge's words on one line (shortened)."""
    usage: TokenUse


@frozen
class CallFailed:
    """The call failed (no key, 401, 429, 529, the network …); judging stops here."""

    pair: Pair
    failure: Failed


Outcome = Judged | Unparseable | CallFailed


def judge_model(settings: JudgeSettings, claude: ClaudeSettings) -> str:
    """The judge's model id: ``judge.model``, else ``claude.model``."""
    return settings.model or claude.model


class Judge:
    """Asks one model about one pair at a time. The key is read once, here, and kept
    out of every ``repr``, message and store (as the Claude side keeps it)."""

    def __init__(
        self,
        settings: JudgeSettings,
        claude: ClaudeSettings,
        *,
        api_key: str | None = None,
        rng: random.Random | None = None,
        idle: IdleRule | None = None,
    ) -> None:
        """``api_key`` overrides ``ANTHROPIC_API_KEY``; ``rng`` decides the A/B order;
        ``idle``: the ``idle_timeout_s`` setting's rule (see :mod:`.idle`; its default)."""
        self.settings = settings
        self.idle = idle or IdleRule()
        self.model = judge_model(settings, claude)
        self._claude = claude.model_copy(update={"model": self.model, "enabled": True})
        key = (api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")).strip()
        self._key: Secret | None = Secret(key) if key else None
        self._rng = rng or random.SystemRandom()

    def __repr__(self) -> str:
        return f"Judge(model={self.model!r}, api_key={'set' if self._key else 'missing'})"

    def problem(self) -> Failed | None:
        """Why no call can be made (the judge is off, there is no key), or None."""
        if not self.settings.enabled:
            return Failed(
                "the judge is off",
                hint="set judge.enabled = true in config.toml, or PELICAN_JUDGE__ENABLED=true",
            )
        if self._key is None:
            return Failed("the judge has no API key", hint=f"set {API_KEY_ENV}")
        return None

    def message_params(self, prompt: str, picture_a: bytes, picture_b: bytes) -> dict[str, Any]:
        """The keyword arguments sent to ``client.messages.create``."""
        content: list[dict[str, Any]] = [{"type": "text", "text": f"The prompt:\n{prompt}"}]
        for label, png in (("A", picture_a), ("B", picture_b)):
            content.append({"type": "text", "text": f"Picture {label}:"})
            data = base64.b64encode(png).decode("ascii")
            source = {"type": "base64", "media_type": "image/png", "data": data}
            content.append({"type": "image", "source": source})
        content.append({"type": "text", "text": QUESTION})
        return {
            "model": self.model,
            "max_tokens": self.settings.max_tokens,
            "system": SYSTEM,
            "messages": [{"role": "user", "content": content}],
        }

    async def ask(self, pair: Pair) -> Answer | Unparseable | CallFailed:
        """One call: the pair shown in random order; never raises for a failed call."""
        problem = self.problem()
        if problem is not None or self._key is None:
            return CallFailed(pair, problem or Failed("the judge has no API key"))
        swap = self._rng.random() < 0.5
        shown_a, shown_b = (pair.second, pair.first) if swap else (pair.first, pair.second)
        try:
            a_png, b_png = await asyncio.to_thread(
                lambda: [
                    picture_for_judge(r.png or b"", self.settings.image_px)
                    for r in (shown_a, shown_b)
                ]
            )
        except (OSError, ValueError) as error:
            return CallFailed(pair, Failed(f"a stored picture cannot be read: {error}"))
        try:
            sdk = await asyncio.to_thread(_import_sdk)
        except ImportError:
            return CallFailed(pair, Failed("the anthropic package is not installed"))
        try:
            client = sdk_client(sdk, self._claude, self._key.reveal())
            # claude.timeout_s bounds the whole call; the SDK's bounds one try of it;
            # idle_timeout_s the silence before the reply, as for the runs.
            async with client, asyncio.timeout(self._claude.timeout_s):
                message = await within_idle(
                    lambda: client.messages.create(
                        **self.message_params(pair.prompt, a_png, b_png)
                    ),
                    self.idle,
                )
        except StreamIdle as idle:
            return CallFailed(pair, idle_failure("Anthropic", idle, "check the network connection"))
        except Exception as err:
            return CallFailed(pair, self._failure(sdk, err))
        text = _reply_text(message)
        if text is None:  # e.g. a web page with status 200: a proxy's, or a wrong base URL
            return CallFailed(
                pair,
                Failed(
                    "Anthropic's reply held no answer (not a message of its API)",
                    hint=f"check {BASE_URL_ENV} if set, or try again",
                ),
            )
        usage = TokenUse(
            int(getattr(message.usage, "input_tokens", 0) or 0),
            int(getattr(message.usage, "output_tokens", 0) or 0),
        )
        parsed = parse_answer(text)
        if parsed is None:
            return Unparseable(pair, self._key.scrub(shorten(text, 200)) or "(empty)", usage)
        winner, reason = parsed
        reason = None if reason is None else self._key.scrub(reason)
        return Answer(pair, shown_a, shown_b, winner, reason, usage)

    def _failure(self, sdk: ModuleType, err: Exception) -> Failed:
        """The Claude side's words for ``err``, with the judge's settings in the hints."""
        failure = ClaudeBackend(self._claude, api_key="-").describe_failure(sdk, err)
        hint = failure.hint
        if hint is not None:
            if self.settings.model is not None:
                hint = hint.replace("claude.model", "judge.model")
            hint = hint.replace("claude.effort and claude.max_tokens", "judge.max_tokens")
        assert self._key is not None
        return Failed(self._key.scrub(failure.reason), self._key.scrub(hint) if hint else None)


def _reply_text(message: object) -> str | None:
    """The text blocks of a Messages API reply, joined; None when ``message`` is not one
    (the SDK hands back whatever body came: a string, or another API's JSON)."""
    content = getattr(message, "content", None)
    if not isinstance(content, list):
        return None
    return "".join(
        str(getattr(block, "text", "")) for block in content if getattr(block, "type", "") == "text"
    )


def _import_sdk() -> ModuleType:
    import anthropic

    return anthropic


async def judge_pairs(
    store: SessionStore,
    judge: Judge,
    pairs: Iterable[Pair],
    asking: Callable[[Pair], None] | None = None,
) -> AsyncIterator[Outcome]:
    """Judge ``pairs`` one after another, storing each answer as the judge's blind vote
    as it comes; an unparseable answer is reported and not stored; the first
    :class:`CallFailed` is the last outcome, and so is the
    :data:`UNREADABLE_IN_A_ROW`-th :class:`Unparseable` in a row. ``asking`` is
    told of each pair before its call (a front end says what it waits for)."""
    unreadable = 0
    for pair in pairs:
        if asking is not None:
            asking(pair)
        outcome = await judge.ask(pair)
        if isinstance(outcome, Answer):
            vote = store.add_vote(
                outcome.shown_a.id,
                outcome.shown_b.id,
                outcome.winner,
                blind=True,
                judge=judge.model,
                reason=outcome.reason,
            )
            unreadable = 0
            yield Judged(outcome, vote)
            continue
        yield outcome
        unreadable += 1
        if isinstance(outcome, CallFailed) or unreadable >= UNREADABLE_IN_A_ROW:
            return


__all__ = [
    "UNREADABLE_IN_A_ROW",
    "Answer",
    "CallFailed",
    "Estimate",
    "Judge",
    "Judged",
    "Outcome",
    "Pair",
    "Plan",
    "TokenUse",
    "Unparseable",
    "choose_pairs",
    "estimate",
    "image_tokens",
    "judge_model",
    "judge_pairs",
    "parse_answer",
    "picture_for_judge",
    "sent_size",
]
