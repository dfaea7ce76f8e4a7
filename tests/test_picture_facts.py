"""Facts per picture (backends/svg/facts.py) over tests/svg_corpus, drawn by the real
sandboxed renderer, and shown in the export's run card and HTML page."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from PIL import Image

from pelican_tui.backends.engine.run import PNG_SIZE
from pelican_tui.backends.svg.extract import extract_svg
from pelican_tui.backends.svg.facts import (
    EMPTY_INK,
    FACT_KEYS,
    count_elements,
    ink_share,
    picture_facts,
)
from pelican_tui.backends.svg.render import SvgRenderer

CORPUS = Path(__file__).parent / "svg_corpus"
SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'


@pytest.fixture(scope="module")
def renderer() -> Iterator[SvgRenderer]:
    with SvgRenderer() as shared:
        shared.start()
        yield shared


def facts_for(answer: str, renderer: SvgRenderer, seconds: float | None = 2.5) -> dict[str, object]:
    """What the engine would store: extract, draw in the sandbox (which measures the
    ink as it draws), measure the rest."""
    extraction = extract_svg(answer)
    png = problem = ink = None
    if extraction.svg is not None:
        result = renderer.render_sync(
            extraction.svg, PNG_SIZE[0], PNG_SIZE[1], timeout_s=8.0, ink=True
        )
        png, problem, ink = result.png, result.reason, result.ink
    facts = picture_facts(answer, extraction, png, problem, seconds, ink=ink)
    assert list(facts) == list(FACT_KEYS)
    return facts


def corpus_text(name: str) -> str:
    return (CORPUS / name).read_bytes().decode("utf-8", errors="replace")


def test_a_good_pelican_renders_with_ink_and_counted_elements(renderer: SvgRenderer) -> None:
    answer = corpus_text("good_pelican_bicycle.svg")
    facts = facts_for(f"Here is the pelican:\n```svg\n{answer}\n```\nEnjoy!", renderer)
    svg = extract_svg(answer).svg
    assert svg is not None
    parsed = sum(1 for _ in fromstring(svg.encode()).iter())  # a real XML parser agrees
    assert facts == {
        "renders": True,
        "not_svg": False,
        "truncated": False,
        "render_failed": False,
        "empty": False,
        "ink": facts["ink"],
        "elements": parsed,
        "svg_bytes": len(svg.encode("utf-8")),
        "seconds_to_picture": 2.5,
    }
    assert isinstance(facts["ink"], float) and 0.05 < facts["ink"] <= 1.0
    assert parsed > 20


def test_the_classic_pelican_counts_like_an_xml_parser(renderer: SvgRenderer) -> None:
    answer = corpus_text("good_pelican_classic.svg")
    svg = extract_svg(answer).svg
    assert svg is not None
    assert count_elements(svg) == sum(1 for _ in fromstring(svg.encode()).iter())
    facts = facts_for(answer, renderer)
    assert facts["renders"] and not facts["empty"]


@pytest.mark.parametrize("name", ["empty.svg", "not_svg.txt", "binary_junk.bin"])
def test_an_answer_without_an_svg_is_not_svg(name: str, renderer: SvgRenderer) -> None:
    facts = facts_for(corpus_text(name), renderer)
    assert facts == {
        "renders": False,
        "not_svg": True,
        "truncated": False,
        "render_failed": False,
        "empty": False,
        "ink": None,
        "elements": 0,
        "svg_bytes": 0,
        "seconds_to_picture": None,
    }


def test_a_truncated_svg_is_closed_up_drawn_and_says_so(renderer: SvgRenderer) -> None:
    answer = corpus_text("truncated.svg")
    facts = facts_for(answer, renderer)
    assert facts["truncated"] is True and facts["renders"] is True
    assert facts["not_svg"] is False and facts["render_failed"] is False
    # <svg>, <rect>, <g> and the first, complete <path>: the cut-off one is dropped.
    assert facts["elements"] == 4


def test_a_blind_caption_says_what_the_picture_shows_not_how_it_was_made(
    renderer: SvgRenderer,
) -> None:
    """A blind pair's caption and the blind gallery's said "truncated" under a cut-off
    picture: the answer ran out of tokens, which the local model's smaller limit does,
    not Claude's; a caption that names it gives the model away, as a time would."""
    from pelican_tui.votes import facts_line

    facts = facts_for(corpus_text("truncated.svg"), renderer, seconds=12.4)
    seen = facts_line(facts)
    assert "truncated" in seen and "12.4 s" in seen
    blind = facts_line(facts, blind=True)
    assert "truncated" not in blind and " s" not in blind
    assert blind == seen.replace("truncated · ", "").replace(" · 12.4 s", "")
    assert "4 elements" in blind


def test_an_svg_cut_off_in_its_first_tag_is_truncated_not_missing(
    renderer: SvgRenderer,
) -> None:
    facts = facts_for('Sure:\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0', renderer)
    assert facts["truncated"] is True and facts["not_svg"] is False
    assert facts["renders"] is False and facts["render_failed"] is False


@pytest.mark.parametrize(
    ("name", "elements"),
    [
        ("billion_laughs.svg", 2),  # counted as written: nothing is expanded
        ("xxe_file_entity.svg", 2),
        ("deep_nesting.svg", 5002),
        ("use_self_reference.svg", 4),
        ("pattern_self_reference.svg", 5),
        ("use_fanout.svg", 59),
    ],
)
def test_hostile_svgs_fail_to_render_and_are_counted_without_expansion(
    name: str, elements: int, renderer: SvgRenderer
) -> None:
    started = time.perf_counter()
    facts = facts_for(corpus_text(name), renderer)
    assert facts["render_failed"] is True and facts["renders"] is False
    assert facts["not_svg"] is False and facts["ink"] is None and facts["empty"] is False
    assert facts["elements"] == elements
    assert facts["seconds_to_picture"] is None
    assert time.perf_counter() - started < 8.0


def test_a_huge_svg_is_refused_and_still_measured(renderer: SvgRenderer) -> None:
    answer = corpus_text("huge_path_2mb.svg")
    facts = facts_for(answer, renderer)
    assert facts["render_failed"] is True
    assert facts["svg_bytes"] > 2_000_000
    assert facts["elements"] == 2


@pytest.mark.parametrize(
    "body",
    [
        "",  # nothing drawn at all
        '<rect width="100" height="100" fill="#87ceeb"/>',  # sky only: no ink on it
        '<rect x="200" y="200" width="1" height="1" fill="black"/>',  # outside the viewBox
    ],
)
def test_a_blank_picture_is_empty(body: str, renderer: SvgRenderer) -> None:
    facts = facts_for(f'<svg {SVG_NS} viewBox="0 0 100 100">{body}</svg>', renderer)
    assert facts["renders"] is True
    assert facts["empty"] is True and facts["ink"] == 0.0


def test_ink_is_the_share_of_pixels_off_the_background(renderer: SvgRenderer) -> None:
    # A black quarter on a sky-blue canvas: the sky is the background, the quarter is ink.
    svg = (
        f'<svg {SVG_NS} viewBox="0 0 100 100"><rect width="100" height="100" fill="#87ceeb"/>'
        '<rect width="50" height="50" fill="black"/></svg>'
    )
    facts = facts_for(svg, renderer)
    assert facts["ink"] == pytest.approx(0.25, abs=0.01)
    assert facts["empty"] is False


def test_a_tiny_mark_is_below_the_empty_line_and_a_small_drawing_above() -> None:
    def png(draw: int) -> bytes:
        image = Image.new("RGBA", (100, 100), (255, 255, 255, 0))  # transparent: laid on white
        for x in range(draw):
            image.putpixel((x % 100, x // 100), (0, 0, 0, 255))
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue()

    assert ink_share(png(10)) == pytest.approx(0.001) and ink_share(png(10)) < EMPTY_INK
    assert ink_share(png(300)) == pytest.approx(0.03)


def _sorted_pixels_ink(png: bytes) -> float:
    """The measure as first written: every pixel sorted by colour (numpy), for comparison."""
    import numpy as np

    with Image.open(io.BytesIO(png)) as image:
        rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    pixels = np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.int32)
    pixels = pixels.reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    top = colours[int(np.argmax(counts))]
    return float(1.0 - np.all(np.abs(pixels - top) <= 8, axis=1).sum() / len(pixels))


@pytest.mark.parametrize(
    "bands",
    [
        [((255, 255, 255, 255), 50), ((0, 0, 0, 255), 50)],  # a tie: the lower colour wins
        [((200, 0, 0, 255), 40), ((0, 200, 0, 255), 30), ((0, 0, 200, 255), 30)],  # no majority
        [((250, 250, 250, 255), 30), ((255, 255, 255, 255), 35), ((0, 0, 0, 128), 35)],
        [((0, 0, 0, 0), 70), ((4, 9, 250, 255), 30)],  # transparent: laid on white
    ],
)
def test_ink_matches_the_share_measured_over_every_pixel(
    bands: list[tuple[tuple[int, int, int, int], int]],
) -> None:
    image = Image.new("RGBA", (100, 100))
    top = 0
    for colour, rows in bands:
        image.paste(colour, (0, top, 100, top + rows))
        top += rows
    out = io.BytesIO()
    image.save(out, "PNG")
    assert ink_share(out.getvalue()) == pytest.approx(_sorted_pixels_ink(out.getvalue()), abs=1e-9)


def test_ink_of_drawn_pictures_matches_the_share_measured_over_every_pixel(
    renderer: SvgRenderer,
) -> None:
    for name in ("good_pelican_bicycle.svg", "good_pelican_classic.svg"):
        drawn = renderer.render_sync((CORPUS / name).read_text(), *PNG_SIZE)
        assert drawn.png is not None
        assert ink_share(drawn.png) == pytest.approx(_sorted_pixels_ink(drawn.png), abs=1e-9)


@pytest.mark.parametrize("background", ["white", None, "#87ceeb"])
def test_the_renderer_measures_the_ink_the_png_has(
    renderer: SvgRenderer, background: str | None
) -> None:
    """The worker measures the pixels it drew (no PNG to decode); the number is the
    one the PNG gives, transparent pictures included."""
    names = ("good_pelican_bicycle.svg", "good_pelican_classic.svg", "data_svg_images.svg")
    for name in names:
        svg = (CORPUS / name).read_bytes()
        for size in (PNG_SIZE, (300, 200)):
            drawn = renderer.render_sync(svg, *size, ink=True, background=background)
            assert drawn.png is not None and drawn.ink is not None, name
            assert drawn.ink == ink_share(drawn.png), (name, size)
    assert renderer.render_sync(svg, 64, 64).ink is None  # not asked: not measured


def test_bytes_that_are_not_a_png_have_no_ink_measure() -> None:
    svg = f'<svg {SVG_NS} viewBox="0 0 10 10"><circle r="4"/></svg>'
    facts = picture_facts(svg, extract_svg(svg), b"not a png", None, 1.0)
    assert facts["renders"] is True and facts["ink"] is None and facts["empty"] is False


def test_an_svg_nobody_drew_is_neither_rendered_nor_failed() -> None:
    svg = f'<svg {SVG_NS} viewBox="0 0 10 10"><circle r="4"/></svg>'
    facts = picture_facts(svg, extract_svg(svg), None, None, 3.0)
    assert facts["renders"] is False and facts["render_failed"] is False
    assert facts["seconds_to_picture"] is None and facts["elements"] == 2


@pytest.mark.parametrize(
    ("svg", "elements"),
    [
        ("<svg><!-- <g><g><g> --><g/></svg>", 2),
        ("<svg><![CDATA[ <rect/><rect/> ]]><rect/></svg>", 2),
        ('<?xml version="1.0"?><!DOCTYPE svg><svg><a></a></svg>', 2),
        ("<svg><g><!-- never closed <rect/><rect/>", 2),  # the count stops with the comment
        ("<svg>< g>1 < 2</svg>", 1),  # a lone `<` is text, not an element
    ],
)
def test_elements_are_start_tags_outside_comments_and_cdata(svg: str, elements: int) -> None:
    assert count_elements(svg) == elements


def test_counting_a_flood_of_unclosed_comments_stays_linear() -> None:
    svg = "<svg>" + "<!--" * 200_000
    started = time.perf_counter()
    assert count_elements(svg) == 1
    assert time.perf_counter() - started < 1.0


# --------------------------------------------------------------------------- in the export


def test_the_run_card_and_the_page_say_the_facts_in_words(
    tmp_path: Path, renderer: SvgRenderer
) -> None:
    from _session_support import LOCAL_FILE, LOCAL_INFO, LOCAL_SETTINGS

    from pelican_tui.backends.export import export_session, load_export
    from pelican_tui.backends.store.sessions import SessionStore

    good = corpus_text("good_pelican_classic.svg")
    drawn = renderer.render_sync(good, PNG_SIZE[0], PNG_SIZE[1], timeout_s=8.0)
    good_facts = picture_facts(good, extract_svg(good), drawn.png, None, 3.25)
    prose = corpus_text("not_svg.txt")
    with SessionStore.open() as store:
        session = store.create_session("Draw a pelican")
        for slot, answer, png, facts in (
            ("left", good, drawn.png, good_facts),
            ("right", prose, None, picture_facts(prose, extract_svg(prose), None, None, None)),
        ):
            run = store.start_run(
                session.id, slot, "local", LOCAL_FILE, LOCAL_INFO, LOCAL_SETTINGS, {}
            )
            store.finish_run(
                run,
                answer=answer,
                svg=extract_svg(answer).svg,
                png=png,
                picture_facts=facts,
            )
        stored = store.get_session(session.id)
    out = tmp_path / "export"
    export_session(stored, out)

    ink, size = good_facts["ink"], good_facts["svg_bytes"]
    assert isinstance(ink, float) and isinstance(size, int) and size > 1024
    good_words = (
        f"render ok ({ink * 100:.0f}% ink) · {good_facts['elements']} elements · "
        f"{size / 1024:.1f} KB · picture after 3.2 s"
    )
    card = (out / "run-card.md").read_text()
    assert f"| Picture facts | {good_words} |" in card
    assert "| Picture facts | not an SVG |" in card
    page = (out / "index.html").read_text()
    assert f"<th>Picture</th><td>{good_words}</td>" in page
    assert "<th>Picture</th><td>not an SVG</td>" in page
    assert [run.picture_facts for run in load_export(out).runs] == [
        run.picture_facts for run in stored.runs
    ]


def test_the_gallery_and_the_export_give_a_pictures_numbers_alike() -> None:
    """The gallery said "ink 0%" and "0.2 KB" where the export said "0.42% ink" and
    "182 bytes", for the same picture."""
    from pelican_tui.backends.export.facts import picture_facts_text
    from pelican_tui.votes import facts_line

    facts = {"renders": True, "ink": 0.0042, "elements": 4, "svg_bytes": 182}
    assert facts_line(facts) == "ink 0.42% · 4 elements · 182 B"
    assert picture_facts_text(facts) == "render ok (0.42% ink) · 4 elements · 182 B"


def test_svg_in_prose_is_no_svg_for_the_facts_either() -> None:
    """The note said "no SVG in the answer" while the facts said "truncated, not drawn":
    the facts had their own, looser idea of where an SVG starts."""
    answer = "The reply begins with <svg and ends with </svg>."
    extraction = extract_svg(answer)
    assert extraction.note == "no SVG in the answer" and not extraction.started
    facts = picture_facts(answer, extraction, None, None, None)
    assert (facts["not_svg"], facts["truncated"]) == (True, False)
    cut = extract_svg('Here: <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0')
    assert cut.started and picture_facts("", cut, None, None, None)["not_svg"] is False
