"""Text for people: one rule for every line a person reads (cut to fit, counts and
shares in words, what a server wrote made printable)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from rich.cells import cell_len, set_cell_size

from pelican_tui.backends.secrets import scrub_text

ELLIPSIS = "…"

LABEL_PARTS = " · "
"""What separates a configuration label's model from how it ran ("… · thinking on")."""


def shorten(text: str, width: int) -> str:
    """``text`` on one line (white space folded), cut to ``width`` terminal cells with
    "…" where it was cut. A wide character (Chinese, Japanese, most emoji) takes two
    cells; one that the cut would split in half is left out."""
    line = " ".join(text.split())
    if cell_len(line) <= width:
        return line
    return set_cell_size(line, max(width - 1, 0)).rstrip() + ELLIPSIS


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Control characters but tab and newline: escapes, carriage returns, bells; and the
bidirectional overrides, embeddings and isolates, which reorder the rest of a line as
the terminal shows it (a prompt with U+202E turned `sessions list`'s columns around)."""


def printable(text: str) -> str:
    """``text`` without the control characters that would act on the terminal instead
    of being read (an escape sequence in a model's answer or a server's model name);
    tabs and newlines stay."""
    return _CONTROL.sub("", text)


def one_line(text: str) -> str:
    """``text`` printable, on one line (white space folded): a name or a message from
    a server, shown."""
    return " ".join(printable(text).split())


def on_off(switch: bool) -> str:
    """A switch in a word: "on" or "off"."""
    return "on" if switch else "off"


def thinking_word(thinking: bool) -> str:
    """Thinking as a pane's header and a configuration's label say it: "thinking on"."""
    return f"thinking {on_off(thinking)}"


NO_THINKING_SWITCH = "no thinking switch"
"""A model that has no thinking switch (none is sent), as a pane's header, a
configuration's label and a run card say it instead of "thinking on" or "off"."""

NO_KNOWN_SWITCH = "not sent: no known thinking switch for this server"
"""A run's recorded ``thinking_switch`` where its server has no switch known: unlike a
model whose chat template has none, it may still think by itself."""

NO_SWITCH = "no switch"
""":data:`NO_THINKING_SWITCH` where the words follow a model or sit in a narrow column:
``run``'s progress ("left local (no switch)") and its summary's THINKING cell."""


def first_line(text: str) -> str:
    """The first line of ``text`` that says something, stripped ("" if none): a
    message's summary (an error can carry a whole log after it), a prompt's title."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def shown_line(text: str, width: int) -> str:
    """``text`` as one line a person may be shown: known secrets scrubbed (before it is
    cut, so no cut key escapes the scrubber), no control characters, cut to ``width``."""
    return shorten(printable(scrub_text(text)), width)


def home_path(path: Path) -> str:
    """``path`` as a person types it: under the home folder, from ``~``
    ("~/.config/pelican-tui/config.toml")."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:  # not under it
        return str(path)


def sentence(text: str) -> str:
    """``text`` with a capital first letter and a final full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and the word for that many: "1 prompt", "2 prompts"."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def svg_size(size: int) -> str:
    """An SVG's size, short enough for a gallery tile: "182 B", "2.5 KB"."""
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KB"


def ink_percent(share: float) -> str:
    """0.742 → "74%"; small shares keep two digits: 0.00042 → "0.042%"."""
    percent = share * 100
    return f"{percent:.0f}%" if percent == 0 or percent >= 10 else f"{percent:.2g}%"


QUANT_END = re.compile(r"(?i)(?<![^:/_.\s-])(?:I?Q\d\w*|B?F(?:16|32))$")
"""A model name's quantization at its end ("Q4_K_M", "IQ4_XS", "Q8_0", "BF16")."""


def shorten_label(label: str, width: int, among: Iterable[str] = ()) -> str:
    """A configuration's label cut to ``width`` in the middle of its model's name,
    keeping the name's end and the rest whole ("Qwen3.6-3…-Q4_K_M · thinking on"):
    the quantization and the thinking are what tell two configurations of one model
    apart. Too narrow for that, it drops its kind of server where the rest then fits,
    else it is cut at the end.

    ``among``: the labels shown with it (a gallery's). Where one of them, another
    model, is cut to the same text, the cut keeps where the name differs from the
    nearest such name instead of their shared start: "…3-4B-GGUF:Q4_K_M" and
    "…3-8B-GGUF:Q4_K_M", not "unsloth/…F:Q4_K_M" twice (two served models of one
    owner, one quantization).
    """
    cut = _cut_label(label, width)
    head = _model_name(label)
    alike = [
        name
        for other in among
        if (name := _model_name(other)) != head and _cut_label(other, width) == cut
    ]
    if not alike:
        return cut
    return _cut_label(label, width, max(_same_start(head, other) for other in alike))


def shorten_middle(text: str, width: int) -> str:
    """``text`` in ``width`` cells at most, cut in the middle with "…": its start and
    end kept, the quantization whole where it fits (a model's name: "Qwen3.6…Q4_K_XL")."""
    if cell_len(text) <= width:
        return text
    if width < 3:
        return set_cell_size(text, max(width - 1, 0)).rstrip() + ELLIPSIS if width else ""
    start, end = _middle_cut(text, width, least_start=3)
    return start + ELLIPSIS + end


def _middle_cut(text: str, width: int, least_start: int) -> tuple[str, str]:
    """What a cut in the middle of ``text`` to ``width`` cells keeps of its start and of
    its end, with room for "…" between: half the room each, or the quantization whole
    at the end ("Q4_K_XL.gguf") where ``least_start`` characters of the start are then
    left (:func:`shorten_middle`, and a label's model name: :func:`shorten_label`)."""
    end = (width - 1) // 2
    quant = QUANT_END.search(text.removesuffix(".gguf"))
    if quant and end < len(text) - quant.start() <= width - 1 - least_start:
        end = len(text) - quant.start()
    tail = ""
    for char in reversed(text):
        if cell_len(char + tail) > end:
            break
        tail = char + tail
    return set_cell_size(text, width - 1 - cell_len(tail)).rstrip(), tail


def _same_start(one: str, other: str) -> int:
    """How many characters ``one`` and ``other`` start with alike."""
    pairs = zip(one, other, strict=False)
    return next((at for at, (a, b) in enumerate(pairs) if a != b), min(len(one), len(other)))


def _model_name(label: str) -> str:
    """A label's model name, without its kind ("gpt-oss" of "gpt-oss (server) · …")."""
    head = " ".join(label.split()).partition(LABEL_PARTS)[0]
    name, opens, kind = head.rpartition(" (")
    return name if opens and kind.endswith(")") else head


def _cut_label(label: str, width: int, differs: int = 0) -> str:
    """:func:`shorten_label` of ``label`` alone. With ``differs``, where its model's
    name starts to differ from another's cut alike, what it keeps of the name's start
    begins there (after the word before it, when that fits), not at the start."""
    line = " ".join(label.split())
    head, sep, rest = line.partition(LABEL_PARTS)
    if len(line) <= width or not sep:
        return shorten(line, width)
    name = _model_name(head)  # "gpt-oss (server)": the kind is kept whole
    head, sep = name, head[len(name) :] + sep
    room = width - len(sep + rest)
    if room < 8:
        # Its kind ("(server)") gives way before the thinking, which tells two
        # configurations of one model apart ("gpt-oss:20b · thinking low" and "high").
        # A place ("(localhost:47811 server)") is cut with the name instead: it tells
        # two cards apart too. The thinking stays whole however narrow.
        bare = name + LABEL_PARTS + rest
        plain = sep == " (server)" + LABEL_PARTS
        if plain and len(bare) <= width:
            return bare
        room = width - len(LABEL_PARTS + rest)
        if room >= 3:  # the place's end kept ("qwen3…:47811)"), without its word "server"
            head = name if plain else name + sep.removesuffix(LABEL_PARTS)
            head = head.removesuffix(" server)") + ")" if head.endswith(" server)") else head
            return shorten_middle(head, room) + LABEL_PARTS + rest
        if len(ELLIPSIS + LABEL_PARTS + rest) <= width:
            return ELLIPSIS + LABEL_PARTS + rest
        return ELLIPSIS + rest[max(len(rest) - width + 1, 0) :] if width else ""
    # Its quantization whole where two letters of its start are left: "un…Q4_K_M" and
    # "un…Q5_K_M", not "unsl…_K_M" twice (two served models of one owner, 80 columns).
    start, end = _middle_cut(head, room, least_start=2)
    keep = room - 2 - len(end)  # after an ellipsis of its own
    if 0 < differs < len(head) and keep >= 1:
        if len(head) - differs <= room - 1:  # from there on, the name fits: its end whole
            return ELLIPSIS + head[len(head) - (room - 1) :] + sep + rest
        begins = max(head.rfind(mark, 0, differs) for mark in "/:-_. ") + 1
        if differs - begins >= keep:  # the word is too long: from just before the difference
            begins = differs - keep // 2
        start = ELLIPSIS + head[begins : begins + keep]
    return start + ELLIPSIS + end + sep + rest


def shorten_keeping_last(text: str, width: int, separator: str = ", ") -> str:
    """``text`` in ``width`` cells with its last part (after ``separator``) whole: what
    comes before gives way, its own last part (after " · ", a model's name) cut in the
    middle first, else it is cut at its end. A pane's facts line naming its next run
    ("last run · next: local · qwen3…a3b, thinking off (ignored by the server)"): the
    thinking and what the server does with it are what the line is there to say. A text
    that fits, or without ``separator``, is returned as it is (cut where it is shown)."""
    if cell_len(text) <= width or separator not in text:
        return text
    before, sep, last = " ".join(text.split()).rpartition(separator)
    room = width - cell_len(sep + last)
    if room < 4:
        return shorten(text, width)
    start, parts, name = before.rpartition(LABEL_PARTS)
    if parts and room - cell_len(start + parts) >= 3:
        return start + parts + shorten_middle(name, room - cell_len(start + parts)) + sep + last
    return shorten(before, room) + sep + last


LABEL_BREAKS = ("/:", "-", "_.")
"""Where a folded label may break its model's name, best first (after any space): after
an owner or a tag ("unsloth/", "-GGUF:"), a word, a part of a word ("Q4_", "3.")."""


def _fold_at(text: str, width: int) -> int:
    """Where ``text`` breaks for a first line of at most ``width``: at its last space
    there, else after the last of the best :data:`LABEL_BREAKS` in the line's second
    half ("…-GGUF:" / "Q5_K_M", not "…Q5_K_" / "M"), else at ``width``."""
    if (space := text.rfind(" ", 0, width + 1)) > 0:
        return space
    for marks in LABEL_BREAKS:
        after = [at + 1 for at in range(width // 2, width) if text[at] in marks]
        if after:
            return after[-1]
    return width


def fold_label(label: str, width: int) -> list[str]:
    """A configuration's label on two lines of ``width`` where one is too short: as much
    of its model's name as fits (broken where :func:`_fold_at` says), then the rest
    ("(server) · thinking on"), cut in the middle by :func:`shorten_label` if it is
    still too long (at its start where even that would lose the thinking, which tells
    two configurations of one model apart). Two lines hold every name of 80 columns'
    tables whole; cut to one, two served models read "unsloth…Q4_K_M (server) ·
    thinking on" both."""
    line = " ".join(label.split())
    if len(line) <= width:
        return [line]
    head = line.partition(LABEL_PARTS)[0]
    split = len(head) if len(head) <= width else _fold_at(head, width)
    rest = line[split:].strip()
    second = shorten_label(rest, width)
    if not second.endswith(rest.rpartition(LABEL_PARTS)[2]):  # too narrow to cut the name
        second = ELLIPSIS + rest[len(rest) - width + 1 :]  # the thinking kept, not the name
    return [line[:split].rstrip(), second]


def path_parts(path: str) -> list[str]:
    """``path`` in the pieces it may be broken into, each ending with its "/"
    ("/tmp/", "exports/", "session-7"): a path is folded between folders, never inside
    a name."""
    return [part for part in re.split(r"(?<=/)", path) if part]


def fold_path(path: str, width: int) -> str:
    """``path`` on lines of at most ``width`` cells, each broken after a "/"
    (:func:`path_parts`); a name longer than a line starts a line and is broken
    after a "." in it ("sessions.sqlite3." over "corrupt-20261205-142902"), else
    kept whole on its own."""
    return fold_words(path, width, split_words=False)


def fold_words(text: str, width: int, *, split_words: bool = True) -> str:
    """``text`` on lines of at most ``width`` cells, broken between words, and a path
    too long for a line between its folders as :func:`fold_path` breaks it: what a
    toast says, folded before Textual wraps it, which breaks a long word anywhere
    ("…/sessions.sqli" over "te3.corrupt-…"). A word still longer than a line is
    broken after a "." in it, as a name in a path is ("state.json." over
    "corrupt-20261205-171242"), else kept whole, for the terminal to wrap."""
    lines = [""]

    def put(piece: str, glue: str) -> None:
        if lines[-1] and cell_len(lines[-1] + glue + piece) > width:
            lines.append(piece)
        else:
            lines[-1] += (glue if lines[-1] else "") + piece

    for n, word in enumerate(text.split(" ") if split_words else [text]):
        glue = " " if n else ""
        if cell_len(word) <= width or ("/" not in word and "." not in word[:-1]):
            put(word, glue)
            continue
        for part in path_parts(word):
            if cell_len(part) <= width:
                put(part, glue)
            else:  # a name longer than a line: from a line's start, broken after its dots
                if lines[-1]:
                    lines.append("")
                for piece in re.split(r"(?<=\.)", part):
                    put(piece, "")
            glue = ""
    return "\n".join(lines)


def fold_parts(text: str, width: int, separator: str = LABEL_PARTS) -> str:
    """``text`` of parts joined by ``separator`` ("ink 2% · 3 elements · 184 B · 4.2 s")
    on lines of ``width``, broken only where a separator was (which the break replaces):
    a number is never parted from its unit as the terminal's wrapping did ("… · 4.2" over
    "s"). A part longer than ``width`` is left on a line of its own, to be wrapped."""
    lines: list[str] = []
    for part in text.split(separator):
        if lines and len(lines[-1]) + len(separator) + len(part) <= width:
            lines[-1] += separator + part
        else:
            lines.append(part)
    return "\n".join(lines)


TITLE_LEAST = 8
"""How many cells of a session title's first part (its prompt's name) a cut keeps
before it gives up more parts than the last (:func:`shorten_title`)."""


def shorten_prompt(text: str, width: int, among: Iterable[str] = ()) -> str:
    """A prompt (or a session title's first part, its start) on one line in ``width``
    cells, cut where it says which prompt it is: where it does not fit, the start it
    shares with the nearest of the prompts shown with it (``among``) is left out for "…",
    from the word before the one they part at where the rest then fits whole ("…a heron
    riding a unicycle", not "Generate an SVG of a…" for every prompt of a set that starts
    alike), then the rest cut at its end. Alone, or sharing no word with the others, it
    is cut at its end (:func:`shorten`)."""
    line = " ".join(text.split())
    if cell_len(line) <= width:
        return line
    others = {" ".join(other.split()) for other in among} - {line}
    differs = max((_same_start(line, other) for other in others), default=0)
    begins = line.rfind(" ", 0, differs) + 1  # the word they part at
    if begins == 0 or width < 2:
        return shorten(line, width)
    before = line.rfind(" ", 0, begins - 1) + 1  # the word before it
    rest = line[before:] if cell_len(ELLIPSIS + line[before:]) <= width else line[begins:]
    return ELLIPSIS + shorten(rest, width - 1)


def shorten_title(text: str, width: int, among: Iterable[str] = ()) -> str:
    """A session's title ("Generate an SVG of a pelican… · local vs claude · no switch vs
    thinking high") in ``width`` cells: its last parts kept whole, as many as fit from
    the end (the thinking and the sample: what tells sessions of one prompt apart), its
    first part, the prompt's name, cut for them, which says parts were left out
    ("Generate… · no switch vs thinking high"); the last part alone is kept even
    when the prompt's name is then cut below :data:`TITLE_LEAST` cells ("… · thinking
    on vs high"). Where not even the last part fits, as :func:`shorten_parts` cuts it.

    ``among``: the titles listed with it. The prompt's name is cut as
    :func:`shorten_prompt` cuts it among theirs: without the start they share. Where
    that cut loses a part in which the titles differ ("… · thinking off" of sessions
    that differ only there), the parts every title has are left out instead, and
    where that is not enough, the start a part shares with theirs ("…thinking off ·
    sample 1/2", not "Generate an SVG of a… · sample 1/2" for both thinking modes)."""
    line = " ".join(text.split())
    if cell_len(line) <= width:
        return line
    cut = _title_cut(line, width, among)
    others = [" ".join(other.split()).split(LABEL_PARTS) for other in among]
    parts = line.split(LABEL_PARTS)
    differ = [at for at, part in enumerate(parts) if not all(part in other for other in others)]
    if not differ:
        return cut
    # Then only the parts in which it differs from the titles that differ from it in one
    # part alone: "… · sample 2/2" of "… · on vs off · sample 2/2 · thinking switch
    # ignored" (that note after the sample, the end kept alike for every sample).
    apart = sorted(
        {
            unlike[0]
            for other in others
            if len(other) == len(parts)
            and len(unlike := [at for at, part in enumerate(parts) if other[at] != part]) == 1
        }
    )
    for shown_parts in (differ, apart) if apart and apart != differ else (differ,):
        if all(parts[at] in cut.split(LABEL_PARTS) for at in shown_parts):
            return cut
        for word_before in (True, False):  # "…thinking off · sample 1/2", "…off · sample 1/2"
            kept = [ELLIPSIS] if shown_parts[0] > 0 else []
            for at in shown_parts:
                if kept and at - 1 not in shown_parts and kept[-1] != ELLIPSIS:
                    kept.append(ELLIPSIS)
                alike = [other[at] for other in others if len(other) > at]
                whole_word = word_before or at == shown_parts[-1]  # "sample 1/2", not "…1/2"
                part = _unshared(parts[at], alike, word_before=whole_word) if at else parts[at]
                kept.append(part)
            shown = LABEL_PARTS.join(kept).replace(ELLIPSIS + LABEL_PARTS + ELLIPSIS, ELLIPSIS)
            if cell_len(shown) <= width:
                return shown
    return cut


def _unshared(part: str, alike: Iterable[str], *, word_before: bool) -> str:
    """``part`` of a title without the start it shares with the nearest of ``alike`` (the
    same part of the other titles), from the word they part at or (``word_before``) the
    word before it: "…thinking off" of "no switch vs thinking off" among "… thinking
    high"."""
    differs = max((_same_start(part, other) for other in alike if other != part), default=0)
    begins = part.rfind(" ", 0, differs) + 1
    if word_before and begins:
        begins = part.rfind(" ", 0, begins - 1) + 1
    if begins == 0:
        return part
    # The part's start goes with the parts left out before it: "…" is said once.
    return ELLIPSIS + part[begins:]


def _title_cut(line: str, width: int, among: Iterable[str]) -> str:
    """:func:`shorten_title`'s cut by whole parts from the end (its doc)."""
    parts = line.split(LABEL_PARTS)
    firsts = [" ".join(other.split()).split(LABEL_PARTS)[0] for other in among]
    if len(parts) == 1:
        return shorten_prompt(line, width, firsts)
    first, rest = parts[0], parts[1:]
    least = min(cell_len(first), TITLE_LEAST)
    for kept in range(len(rest), 0, -1):
        tail = LABEL_PARTS + LABEL_PARTS.join(rest[-kept:])
        if kept < len(rest) and cell_len(first + LABEL_PARTS + ELLIPSIS + tail) <= width:
            return first + LABEL_PARTS + ELLIPSIS + tail  # the prompt's name whole
        room = width - cell_len(tail)
        if room >= least or (kept == 1 and room >= 1):
            return shorten_prompt(first, room, firsts) + tail
    return shorten_parts(line, width)


def title_tail_cells(text: str) -> int:
    """The fewest cells in which :func:`shorten_title` keeps ``text``'s last part whole
    ("… · thinking on vs high"); 0 for a title of one part."""
    line = " ".join(text.split())
    _, sep, last = line.rpartition(LABEL_PARTS)
    return min(cell_len(line), cell_len(ELLIPSIS + sep + last)) if sep else 0


def shorten_parts(text: str, width: int, separator: str = LABEL_PARTS) -> str:
    """``text`` of parts joined by ``separator`` (a session's title: "tiny/sun · local vs
    claude · thinking on vs high") cut to ``width`` cells by leaving out whole parts, each run
    of them marked "…": the first part, which names it, is kept whole where it fits, then
    the last ("· sample 2/4", "· thinking …"), then as many of the others as fit, in
    order. A first part too long for ``width`` alone is cut at its end (:func:`shorten`)."""
    line = " ".join(text.split())
    parts = line.split(separator)
    if cell_len(line) <= width or len(parts) == 1 or cell_len(parts[0]) > width:
        return shorten(line, width)

    def joined(kept: set[int]) -> str:
        shown: list[str] = []
        for at, part in enumerate(parts):
            if at in kept:
                shown.append(part)
            elif shown[-1] != ELLIPSIS:
                shown.append(ELLIPSIS)
        return separator.join(shown)

    kept = {0}
    for at in (len(parts) - 1, *range(1, len(parts) - 1)):
        if cell_len(joined(kept | {at})) <= width:
            kept.add(at)
    cut = joined(kept)
    return cut if cell_len(cut) <= width else shorten(parts[0], width)


__all__ = [
    "ELLIPSIS",
    "LABEL_BREAKS",
    "LABEL_PARTS",
    "fold_label",
    "fold_parts",
    "fold_path",
    "fold_words",
    "path_parts",
    "plural",
    "sentence",
    "shorten",
    "shorten_label",
    "shorten_middle",
    "shorten_parts",
    "shorten_prompt",
    "shorten_title",
    "shown_line",
    "title_tail_cells",
]
