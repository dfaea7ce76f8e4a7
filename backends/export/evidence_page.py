"""``index.html`` of an evidence export: the leaderboard, then every prompt's gallery.

One self-contained page, made like the session page (:mod:`.html_page`): no
script (a Content-Security-Policy forbids scripts and every remote load),
every text escaped, and pictures only as PNGs in ``data:`` URIs: the PNGs
the sandboxed renderer drew, checked and shrunk (:mod:`.evidence`). No SVG a
model wrote is put in the page, inline or as an image. A run without a
picture gets a box saying why, never a broken image.

It shows, for people: the leaderboard of the user's votes (rank, the
configuration in words, the rating with its 95% interval drawn as a bar,
votes, won/lost/tied; configurations with too few votes listed unranked);
the judge's ratings in a table of their own with its agreement with the
user; then per prompt a leaderboard (if anyone voted on it) and a grid of
every picture with its configuration and its facts in words. Prompts from a
private set are not on the page at all; it says how many sessions were left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from pelican_tui.backends.export.evidence import Evidence, Picture, PromptEvidence
from pelican_tui.backends.export.evidence_data import DATA_FILES
from pelican_tui.backends.export.facts import UNFINISHED_WORDS, picture_facts_text
from pelican_tui.backends.export.html_document import data_uri, document, escape
from pelican_tui.backends.ratings.leaderboard import UNKNOWN, UNKNOWN_INTERVAL, Leaderboard, Row
from pelican_tui.backends.text import plural, sentence, shorten

_CSS = """
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #f6f5f2; --card: #fff;
  --muted: #6b6b70; --line: #dcdcde; --bar: #3d6fb6; --bar-bg: #e4e9f2; --warn: #a15c00;
  --warn-bg: #fff6e8; }
@media (prefers-color-scheme: dark) { :root { --fg: #ececec; --bg: #18181a; --card: #232326;
  --muted: #a0a0a6; --line: #3a3a3e; --bar: #7fa8e8; --bar-bg: #2c3340; --warn: #f0b060;
  --warn-bg: #2e2518; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.5rem; font: 15px/1.45 system-ui, sans-serif; color: var(--fg);
  background: var(--bg); }
@media (max-width: 600px) { body { padding: .6rem; } }
header, main > section { max-width: 1200px; margin: 0 auto 1.5rem; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
p { margin: .3rem 0; }
a { color: var(--bar); }
.meta { color: var(--muted); }
.note { background: var(--warn-bg); color: var(--fg); border-left: 4px solid var(--warn);
  padding: .4rem .7rem; }
.prompt { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--card);
  border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; margin: .5rem 0; }
.table-box { overflow-x: auto; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line);
  vertical-align: middle; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.config { overflow-wrap: anywhere; min-width: 10rem; }
tr.unranked td { color: var(--muted); }
td.interval { min-width: 9rem; width: 30%; }
.bar { position: relative; height: .7rem; background: var(--bar-bg); border-radius: 4px; }
.bar .range { position: absolute; top: 0; bottom: 0; background: var(--bar); opacity: .45;
  border-radius: 4px; }
.bar .point { position: absolute; top: -.2rem; width: .3rem; height: 1.1rem; margin-left: -.15rem;
  background: var(--bar); border-radius: 2px; }
.bar .reference { position: absolute; top: -.25rem; bottom: -.25rem; border-left: 1px dashed
  var(--muted); }
.interval-text { font-size: .8rem; color: var(--muted); font-variant-numeric: tabular-nums; }
nav ul { margin: .3rem 0; padding-left: 1.2rem; }
nav li { overflow-wrap: anywhere; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr));
  gap: .8rem; margin-top: .6rem; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: .5rem; display: flex; flex-direction: column; gap: .4rem; }
figure img, .no-picture { width: 100%; aspect-ratio: 1 / 1; border-radius: 4px; }
figure img { display: block; height: auto; object-fit: contain; background: #fff;
  border: 1px solid var(--line); }
.no-picture { display: flex; flex-direction: column; justify-content: center; gap: .3rem;
  padding: .8rem; border: 2px dashed var(--warn); background: var(--warn-bg);
  overflow-wrap: anywhere; font-size: .85rem; }
.no-picture strong { color: var(--warn); }
figcaption { font-size: .85rem; display: flex; flex-direction: column; gap: .15rem;
  overflow-wrap: anywhere; }
figcaption .facts { color: var(--fg); }
figcaption .where { color: var(--muted); font-size: .8rem; }
.caption { font-size: .85rem; margin: .3rem .2rem 0; }
@media (max-width: 600px) {
  thead { display: none; }
  table, tbody { display: block; }
  tr { display: grid; grid-template-columns: 2rem 1fr auto; gap: .2rem .5rem; padding: .5rem .6rem;
    border-bottom: 1px solid var(--line); }
  th, td { border: 0; padding: 0; }
  td.interval, td.too-few { grid-column: 2 / -1; width: auto; min-width: 0; }
  td.votes, td.record { grid-column: 2 / -1; text-align: left; }
  td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); }
}
"""

_SLOT_WORDS = {"left": "left pane", "right": "right pane"}


# --------------------------------------------------------------------------- leaderboards


def _bar(row: Row, level: str, low: float, high: float) -> str:
    """The interval from ``row.low`` to ``row.high`` and the rating, on a scale ``low..high``."""
    span = max(high - low, 1.0)

    def at(value: float) -> float:
        return round(min(max((value - low) / span, 0.0), 1.0) * 100, 2)

    if row.low is None or row.high is None:
        words = f"{level} interval unknown: {UNKNOWN_INTERVAL}; rating {row.rating:.0f}"
        return f'<span class="interval-text unknown" title="{escape(words)}">{UNKNOWN}</span>'
    left, right, point = at(row.low), at(row.high), at(row.rating)
    reference = (
        f'<span class="reference" style="left:{at(1000.0)}%" title="1000: the reference"></span>'
        if low < 1000.0 < high
        else ""
    )
    words = f"{level} interval {row.low:.0f} to {row.high:.0f}, rating {row.rating:.0f}"
    return (
        f'<div class="bar" role="img" aria-label="{escape(words)}">{reference}'
        f'<span class="range" style="left:{left}%;width:{max(right - left, 0.5)}%"></span>'
        f'<span class="point" style="left:{point}%"></span></div>'
        f'<span class="interval-text">{row.low:.0f} to {row.high:.0f}</span>'
    )


def _board_table(board: Leaderboard, caption: str) -> str:
    """The leaderboard as a table: ranked rows with their interval bars, then the others."""
    ranked = board.ranked
    ends = [end for row in ranked for end in (row.low, row.rating, row.high) if end is not None]
    low, high = min(ends, default=0.0), max(ends, default=0.0)
    pad = max((high - low) * 0.05, 5.0)
    level = f"{board.level:.0%}"
    rows = []
    for row in ranked:
        rows.append(
            f'<tr><td class="num">{row.rank}</td>'
            f'<td class="config">{escape(row.configuration.label)}</td>'
            f'<td class="num" data-label="Rating">{row.rating:.0f}</td>'
            f'<td class="interval">{_bar(row, level, low - pad, high + pad)}</td>'
            f"{_counts(row)}</tr>"
        )
    for row in board.unranked:
        rows.append(
            '<tr class="unranked"><td class="num">—</td>'
            f'<td class="config">{escape(row.configuration.label)}</td>'
            f'<td class="too-few" colspan="2">too few votes to rank '
            f"({row.votes} of {board.min_votes})</td>{_counts(row)}</tr>"
        )
    head = (
        '<tr><th class="num">Rank</th><th>Configuration</th><th class="num">Rating</th>'
        f"<th>{escape(level)} interval</th>"
        '<th class="num">Votes</th><th>Won / lost / tied</th></tr>'
    )
    return (
        f'<div class="table-box"><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody>'
        f'</table></div><p class="meta caption">{escape(caption)}</p>'
    )


def _counts(row: Row) -> str:
    """The votes and won/lost/tied cells (labelled when the table is stacked on a phone)."""
    return (
        f'<td class="num votes" data-label="Votes">{row.votes}</td>'
        f'<td class="record" data-label="Won / lost / tied">{escape(row.record())}</td>'
    )


def _board_caption(board: Leaderboard) -> str:
    parts = [
        f"{plural(board.counted, 'vote')} counted",
        f"{board.level:.0%} intervals from {board.resamples} bootstrap resamples",
        f"ranked from {plural(board.min_votes, 'vote')}",
    ]
    return "; ".join([*parts, *board.caveats()]) + "."


def _leaderboard_section(evidence: Evidence) -> str:
    board = evidence.overall
    scope = "this prompt" if evidence.prompt is not None else "every prompt shown below"
    out = ['<section id="leaderboard"><h2>Leaderboard</h2>']
    out.append(
        f"<p>From your votes on {scope}. Ratings are Bradley-Terry strengths on the Elo "
        "scale: 1000 is the reference, and 400 points more means odds of 10 to 1 of the "
        "better picture. Ties and &ldquo;both bad&rdquo; count as half a win each. The bar is the "
        f"{board.level:.0%} interval, the mark the rating, the dashed line 1000.</p>"
    )
    if board.rows:
        out.append(_board_table(board, _board_caption(board)))
    else:
        out.append(f'<p class="note">{board.none_yet}: vote on pairs of pictures in the TUI.</p>')
    out.append("</section>")
    if evidence.judge is not None:
        out.append(_judge_section(evidence, evidence.judge))
    return "".join(out)


def _judge_section(evidence: Evidence, board: Leaderboard) -> str:
    judges = sorted({record.judge for record in evidence.votes if record.judge})
    who = f" ({', '.join(judges)})" if judges else ""
    shared = board.agreement
    if shared is None or shared.rate is None:
        agreed = "There is no pair of pictures that both you and the judge voted on yet."
    else:
        agreed = (
            f"The judge agreed with you on {shared.agreed} of "
            f"{plural(shared.pairs, 'pair')} you both voted on ({shared.rate:.0%})."
        )
    return (
        '<section id="judge"><h2>The judge&rsquo;s ratings</h2>'
        f"<p>From a vision model&rsquo;s blind votes{escape(who)}, kept apart from yours and never "
        f"mixed into them. {escape(agreed)}</p>"
        f"{_board_table(board, _board_caption(board))}</section>"
    )


# --------------------------------------------------------------------------- galleries


def _picture(picture: Picture) -> str:
    label = picture.configuration.label
    if picture.png is not None:
        shown = (
            f'<img alt="{escape(f"Picture by {label}, run {picture.run_id}")}" '
            f'src="{data_uri("image/png", picture.png)}">'
        )
    else:
        why = picture.missing or "no picture was stored with this run"
        shown = (
            '<div class="no-picture" role="note"><strong>No picture</strong>'
            f"<p>{escape(sentence(why))}</p></div>"
        )
    facts = picture_facts_text(picture.facts) or (
        "no facts measured (a run from before them)"
        if picture.status == "finished"
        else "no facts: the run did not finish"
    )
    status = UNFINISHED_WORDS.get(picture.status)
    where = f"session {picture.session_id} · {_SLOT_WORDS.get(picture.slot, 'a pane')}"
    where += f" · run {picture.run_id}" + (f" · {status}" if status else "")
    return (
        f"<figure>{shown}<figcaption><strong>{escape(label)}</strong>"
        f'<span class="facts">{escape(facts)}</span><span class="where">{escape(where)}</span>'
        "</figcaption></figure>"
    )


def _prompt_section(number: int, each: PromptEvidence) -> str:
    sessions = len({picture.session_id for picture in each.pictures})
    drawn = sum(picture.png is not None for picture in each.pictures)
    counts = (
        f"{plural(len(each.pictures), 'run')} from {plural(sessions, 'session')}, "
        f"{drawn} with a picture · {plural(each.board.counted, 'vote')}"
    )
    board = ""
    if each.board.rows:
        board = (
            f"<h3>Leaderboard for this prompt</h3>"
            f"{_board_table(each.board, _board_caption(each.board))}"
        )
    pictures = "".join(_picture(picture) for picture in each.pictures)
    gallery = f'<div class="gallery">{pictures}</div>' if pictures else "<p>No runs.</p>"
    return (
        f'<section id="prompt-{number}"><h2>Prompt {number}</h2>'
        f'<div class="prompt">{escape(each.prompt)}</div><p class="meta">{escape(counts)}</p>'
        f"{board}<h3>Pictures</h3>{gallery}</section>"
    )


def _contents(prompts: Sequence[PromptEvidence]) -> str:
    if len(prompts) < 2:
        return ""
    items = "".join(
        f'<li><a href="#prompt-{n}">{escape(shorten(each.prompt, 90))}</a></li>'
        for n, each in enumerate(prompts, start=1)
    )
    return f"<nav><strong>Prompts</strong><ul>{items}</ul></nav>"


# --------------------------------------------------------------------------- the page


def _header(evidence: Evidence) -> str:
    pictures = sum(len(each.pictures) for each in evidence.prompts)
    when = f"{evidence.made_at:%Y-%m-%d %H:%M} UTC"
    summary = (
        f"Made {when} by pelican-tui · {plural(len(evidence.prompts), 'prompt')} · "
        f"{plural(pictures, 'run')} · {plural(evidence.overall.counted, 'vote')} counted"
    )
    links = ", ".join(f'<a href="{escape(name)}">{escape(name)}</a>' for name in DATA_FILES)
    out = [
        "<header><h1>Which configuration draws the better pelican?</h1>",
        f'<p class="meta">{escape(summary)}</p>',
        f"<p>The data beside this page: {links}.</p>",
    ]
    if evidence.prompt is not None:
        out.append("<p>Limited to one prompt: the one below.</p>")
    if evidence.hidden_sessions or evidence.hidden_votes:
        out.append(
            f'<p class="note">{plural(evidence.hidden_sessions, "session")} from private '
            f"prompt sets ({plural(evidence.hidden_votes, 'vote')}) not shown and not "
            "counted: their prompts stay on this machine.</p>"
        )
    out.append(_contents(evidence.prompts))
    out.append("</header>")
    return "".join(out)


def render_evidence_html(evidence: Evidence) -> str:
    """The self-contained evidence page. No script, no remote loads, no model-written SVG."""
    sections = "".join(_prompt_section(n, each) for n, each in enumerate(evidence.prompts, start=1))
    return document(
        "pelican-tui: leaderboard and pictures",
        _CSS,
        f"{_header(evidence)}<main>{_leaderboard_section(evidence)}{sections}</main>",
    )


__all__ = ["render_evidence_html"]
