"""``index.html``: one self-contained page: the pictures side by side, their facts, the verdict.

Model output only ever enters it as escaped text or as base64 ``<img>`` data
(an SVG drawn by ``<img>`` runs no script and loads nothing), and a
Content-Security-Policy forbids scripts and remote loads.

Pages are for people: a picture that is missing says why in a box of its own
(no SVG in the answer, the SVG could not be drawn and the renderer's reason,
an SVG a browser cannot draw as written) instead of a broken-image icon, and
every fact has a label, never a stored key's name.

A private prompt set's session shows no prompt, answer, thinking or SVG
text: its PNGs and numbers only (:mod:`.private`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC
from xml.etree.ElementTree import ParseError

from pelican_tui.backends.export.facts import (
    RunTables,
    backend_words,
    format_value,
    no_picture_reason,
    picture_facts_text,
    run_tables,
    thinking_setting,
    thinking_switch_warning,
    verdict_text,
)
from pelican_tui.backends.export.files import RunFiles, run_basenames
from pelican_tui.backends.export.html_document import data_uri, document, escape
from pelican_tui.backends.export.private import withhold_private
from pelican_tui.backends.store.records import Run, Session, scrub_session
from pelican_tui.backends.svg.xml_words import root_problem, xml_error_words
from pelican_tui.backends.text import sentence

_CSS = """
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #f6f5f2; --card: #fff;
  --muted: #6b6b70; --line: #dcdcde; --win: #2f8f4e; --warn: #a15c00; --warn-bg: #fff6e8; }
@media (prefers-color-scheme: dark) { :root { --fg: #ececec; --bg: #18181a; --card: #232326;
  --muted: #a0a0a6; --line: #3a3a3e; --win: #5cc27f; --warn: #f0b060; --warn-bg: #2e2518; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.5rem; font: 15px/1.45 system-ui, sans-serif; color: var(--fg);
  background: var(--bg); }
header { max-width: 1200px; margin: 0 auto 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
.prompt { white-space: pre-wrap; background: var(--card); border: 1px solid var(--line);
  border-radius: 6px; padding: .6rem .8rem; margin: .5rem 0; }
.meta { color: var(--muted); }
.warning { color: var(--warn); background: var(--warn-bg); font-weight: 600; padding: .3rem .5rem; }
.verdict { font-weight: 600; }
main { max-width: 1200px; margin: 0 auto; display: grid;
  grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
section.slot { display: flex; flex-direction: column; gap: 1rem; }
article { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 1rem; }
article.winner { border: 2px solid var(--win); }
h2 { font-size: 1.05rem; margin: 0 0 .6rem; overflow-wrap: anywhere; }
.pictures { display: grid; grid-template-columns: 1fr 1fr; gap: .6rem; }
figure { margin: 0; }
figure img { width: 100%; height: auto; aspect-ratio: 1 / 1; object-fit: contain;
  background: #fff; border: 1px solid var(--line); border-radius: 4px; }
figcaption { font-size: .8rem; color: var(--muted); }
.no-picture { display: flex; flex-direction: column; justify-content: center; gap: .3rem;
  min-height: 10rem; padding: 1rem; border: 2px dashed var(--warn); border-radius: 6px;
  background: var(--warn-bg); overflow-wrap: anywhere; }
.pictures .no-picture { aspect-ratio: 1 / 1; min-height: 0; font-size: .85rem; }
.no-picture strong { color: var(--warn); }
.no-picture p { margin: 0; }
table { border-collapse: collapse; width: 100%; margin-top: .6rem; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .6rem .4rem .2rem; }
th, td { text-align: left; padding: .15rem .4rem; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 500; color: var(--muted); width: 40%; }
details { margin-top: .6rem; }
summary { cursor: pointer; color: var(--muted); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .8rem; }
"""


def _html_table(rows: Iterable[tuple[str, str]], caption: str = "") -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    if not body:
        return ""
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{title}{body}</table>"


def browser_problem(svg: str) -> str | None:
    """Why a browser would show a broken-image icon for ``svg`` in an ``<img>``, or None.

    Browsers draw an SVG image only if it is well-formed XML whose root is an
    ``<svg>`` in the SVG namespace; cairosvg (pelican-tui's renderer) is
    kinder, so a picture pelican-tui drew may still be one a browser can't.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(svg.encode("utf-8"), forbid_dtd=True)
    except DefusedXmlException:
        return "it declares XML entities"
    except ParseError as error:
        return f"it is not well-formed XML: {xml_error_words(error)}"
    return root_problem(str(root.tag), namespace_needed=True)


def _no_picture(headline: str, *lines: str) -> str:
    text = "".join(f"<p>{escape(sentence(line))}</p>" for line in lines if line)
    return f'<div class="no-picture" role="note"><strong>{escape(headline)}</strong>{text}</div>'


def _pictures(run: Run, files: RunFiles, pictures: Mapping[str, bytes]) -> str:
    """The PNG and the browser-drawn SVG, or a box saying why there is no picture."""
    svg = pictures.get(files.svg) if files.svg else None
    png = pictures.get(files.png) if files.png else None
    if files.svg_withheld:
        return _private_picture(files, png)
    if svg is None:
        return _no_picture("No picture", no_picture_reason(run))
    in_browser = browser_problem(svg.decode("utf-8", errors="replace"))
    if png is None and files.render_problem:
        return _no_picture(
            "No picture: the SVG could not be drawn",
            files.render_problem,
            f"The SVG as the model wrote it is in {files.svg}",
        )
    figures = []
    if png is not None:
        figures.append(_png_figure(files, png))
    if in_browser is None:
        figures.append(
            f'<figure><img alt="{escape(files.svg)}: the SVG as written" '
            f'src="{data_uri("image/svg+xml", svg)}">'
            "<figcaption>SVG, drawn by your browser as an image</figcaption></figure>"
        )
    elif png is not None:
        figures.append(
            _no_picture(
                "Your browser cannot draw this SVG as written",
                in_browser,
                "The PNG beside it is pelican-tui's drawing",
            )
        )
    else:
        return _no_picture(
            "No picture: your browser cannot draw this SVG",
            in_browser,
            f"No PNG was stored or drawn at export; the SVG is in {files.svg}",
        )
    return f'<div class="pictures">{"".join(figures)}</div>'


def _png_figure(files: RunFiles, png: bytes) -> str:
    how = "stored by pelican-tui" if files.png_source == "stored" else "drawn at export"
    return (
        f'<figure><img alt="{escape(files.png)}: the picture" '
        f'src="{data_uri("image/png", png)}">'
        f"<figcaption>PNG, {escape(how)}</figcaption></figure>"
    )


def _private_picture(files: RunFiles, png: bytes | None) -> str:
    """A private set's picture: the PNG alone (its SVG text stays out of the page)."""
    withheld = "The SVG is left out: the prompt set is private"
    if png is not None:
        return f'<div class="pictures">{_png_figure(files, png)}</div>'
    if files.render_problem:
        return _no_picture("No picture: the SVG could not be drawn", files.render_problem, withheld)
    return _no_picture("No picture", "No PNG was stored or drawn at export", withheld)


def _summary_rows(run: Run, files: RunFiles, tables: RunTables) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("Status", run.status)]
    if run.failure_reason:
        rows.append(("Failure", run.failure_reason))
    facts = picture_facts_text(run.picture_facts)
    if facts:
        rows.append(("Picture", facts))
    if (run.svg is not None or files.svg_withheld) and run.svg_note:
        rows.append(("SVG", run.svg_note))
    rows.append(("Thinking", thinking_setting(run.settings)))
    if "effort" in run.settings:
        rows.append(("Effort", format_value("effort", run.settings["effort"])))
    rows += tables.timings
    rows += tables.usage
    return rows


def _html_run(
    run: Run, base: str, files: RunFiles, pictures: Mapping[str, bytes], winner: bool
) -> str:
    tables = run_tables(run)
    details = ""
    if tables.model or tables.settings:
        details = (
            "<details><summary>Model and settings</summary>"
            f"{_html_table(tables.model)}{_html_table(tables.settings)}</details>"
        )
    if run.answer:
        details += f"<details><summary>Answer</summary><pre>{escape(run.answer)}</pre></details>"
    summary = _html_table(_summary_rows(run, files, tables))
    memory = _html_table(tables.memory, "Peak memory")
    cls = ' class="winner"' if winner else ""
    warning = thinking_switch_warning(run.settings)
    warned = f'<p class="warning" role="note">⚠ {escape(warning)}</p>' if warning else ""
    return (
        f"<article{cls}>"
        f"<h2>{escape(base.title())} · {escape(backend_words(run))} · {escape(run.model_id)}</h2>"
        f"{warned}{_pictures(run, files, pictures)}{summary}{memory}"
        f"{details}"
        "</article>"
    )


def _set_words(session: Session) -> str:
    if not session.prompt_set:
        return ""
    private = " (private: no prompt, answer, thinking or SVG text here)" if session.private else ""
    return f" · prompt set {session.prompt_set}{private}"


def render_html(
    session: Session, files: Mapping[int, RunFiles], pictures: Mapping[str, bytes]
) -> str:
    """The self-contained page: pictures side by side, stats, verdict. No script.

    The session's texts are scrubbed of secrets and a private set's left out;
    ``pictures`` are shown as given."""
    session = withhold_private(scrub_session(session))
    names = run_basenames(session)
    columns = []
    for slot in ("left", "right"):
        runs = session.runs_in(slot)
        if not runs:
            continue
        winner = session.verdict == slot
        articles = "".join(
            _html_run(run, names[run.id], files.get(run.id, RunFiles()), pictures, winner)
            for run in runs
        )
        columns.append(f'<section class="slot" aria-label="{slot}">{articles}</section>')
    when = f"{session.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC{_set_words(session)}"
    note = f'<div class="meta">{escape(session.verdict_note)}</div>' if session.verdict_note else ""
    return document(
        f"{session.title or 'pelican-tui session'} · session {session.id}",
        _CSS,
        f"<header><h1>{escape(session.title or 'Session')}</h1>"
        f'<div class="meta">Session {session.id} · {escape(when)}</div>'
        f'<div class="prompt">{escape(session.prompt)}</div>'
        f'<div class="verdict">Verdict: {escape(verdict_text(session))}</div>'
        f"{note}</header><main>{''.join(columns)}</main>",
    )
