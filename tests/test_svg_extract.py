"""Finding the SVG in an answer, and closing up a streaming one."""

from __future__ import annotations

import time
import xml.dom.minidom

import pytest

from pelican_tui.backends.svg.extract import close_partial_svg, extract_svg

A = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'
B = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 20"><circle r="4"/></svg>'


def well_formed(text: str) -> bool:
    try:
        xml.dom.minidom.parseString(text)
    except Exception:
        return False
    return True


@pytest.mark.parametrize(
    ("answer", "svg", "count", "partial", "note"),
    [
        (A, A, 1, False, "found 1 SVG"),
        (f"Here you go:\n\n```svg\n{A}\n```\n\nEnjoy!", A, 1, False, "found 1 SVG"),
        (f"```xml\n{A}\n```", A, 1, False, "found 1 SVG"),
        (f"```\n{A}```", A, 1, False, "found 1 SVG"),
        (f"Prose first. {A} and prose after.", A, 1, False, "found 1 SVG"),
        (
            f"First try:\n```svg\n{A}\n```\nBetter:\n```svg\n{B}\n```",
            B,
            2,
            False,
            "found 2 SVGs; using the last one",
        ),
        (f"{A}\n{B}\n{A}", A, 3, False, "found 3 SVGs; using the last one"),
        ("I can't draw that, sorry.", None, 0, False, "no SVG in the answer"),
        ("", None, 0, False, "the answer is empty"),
        ("  \n\t ", None, 0, False, "the answer is empty"),
        ("The `<svg>` element is the root. No picture today.", None, 0, False, "no SVG"),
    ],
)
def test_extract(answer: str, svg: str | None, count: int, partial: bool, note: str) -> None:
    result = extract_svg(answer)
    assert result.svg == svg
    assert result.count == count
    assert result.partial is partial
    assert result.note.startswith(note)


def test_extract_keeps_nested_svg_inside_its_parent() -> None:
    nested = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9">'
        '<svg x="1" width="3"><rect width="1" height="1"/></svg><circle r="1"/></svg>'
    )
    result = extract_svg(f"Look:\n```svg\n{nested}\n```")
    assert result.svg == nested
    assert result.count == 1


def test_extract_ignores_a_prose_mention_before_the_picture() -> None:
    answer = f"I'll write an <svg> element with a pelican.\n\n{A}\n"
    result = extract_svg(answer)
    assert result.svg == A
    assert result.count == 1


def test_extract_leaves_out_the_prolog_and_doctype() -> None:
    answer = f'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x "y">]>\n{A}'
    assert extract_svg(answer).svg == A


def test_extract_closes_up_a_truncated_answer() -> None:
    answer = (
        'Sure:\n```svg\n<svg xmlns="http://www.w3.org/2000/svg"><g><rect width="4"/><path d="M0 0 L'
    )
    result = extract_svg(answer)
    assert result.partial is True
    assert result.count == 0
    assert result.svg == '<svg xmlns="http://www.w3.org/2000/svg"><g><rect width="4"/></g></svg>'
    assert "unfinished" in result.note


def test_extract_prefers_a_complete_svg_over_a_later_unfinished_one() -> None:
    result = extract_svg(f"{A}\nRevised:\n<svg viewBox='0 0 1 1'><rect")
    assert result.svg == A
    assert result.partial is False
    assert "unfinished SVG after it was ignored" in result.note


def test_extract_reports_an_opening_tag_cut_off() -> None:
    result = extract_svg('Here: <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0')
    assert result.svg is None
    assert "cut off" in result.note


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no picture yet", None),
        ("Here it comes: <sv", None),
        ('Here: <svg viewBox="0 0 10', None),
        ("<svg>", "<svg></svg>"),
        ('<svg a="1"><g>', '<svg a="1"><g></g></svg>'),
        ('<svg><g><rect x="1"', "<svg><g></g></svg>"),
        ("<svg><g><rect/><text>hel", "<svg><g><rect/><text></text></g></svg>"),
        ("<svg><text>a &am", "<svg><text></text></svg>"),
        ("<svg><!-- a comment <rect/> not yet closed", "<svg></svg>"),
        ("<svg><!-- done --><rect/><", "<svg><!-- done --><rect/></svg>"),
        ("<svg><style><![CDATA[ rect { fill: red", "<svg><style></style></svg>"),
        ('<svg><rect title="a>b"/><g', '<svg><rect title="a>b"/></svg>'),
        ("<svg><g></g></svg> trailing prose", "<svg><g></g></svg>"),
        ("<svg/>", "<svg/>"),
        ("<svg><g></svg", "<svg><g></g></svg>"),
    ],
)
def test_close_partial(text: str, expected: str | None) -> None:
    assert close_partial_svg(text) == expected


def test_close_partial_follows_the_newest_svg() -> None:
    assert close_partial_svg(f"{A}\nAgain: <svg viewBox='0 0 1 1'><g>") == (
        "<svg viewBox='0 0 1 1'><g></g></svg>"
    )
    assert close_partial_svg(f"{A}\n{B}\nDone.") == B


def test_every_prefix_of_an_answer_closes_to_well_formed_xml() -> None:
    answer = (
        "Here is my pelican:\n\n```svg\n"
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">\n'
        "  <!-- body -->\n"
        '  <g transform="translate(10 10)" fill="#fff">\n'
        '    <ellipse cx="40" cy="40" rx="30" ry="20"/>\n'
        '    <text x="5" y="90">a &lt; b</text>\n'
        "    <style><![CDATA[ .x { stroke: red } ]]></style>\n"
        '    <path d="M0 0 C 10 20, 30 40, 50 60"/>\n'
        "  </g>\n"
        "</svg>\n```\nDone!"
    )
    previews = [close_partial_svg(answer[:end]) for end in range(len(answer) + 1)]
    started = [p for p in previews if p is not None]
    assert started, "a preview appears once the opening tag is complete"
    assert all(well_formed(p) for p in started)
    assert previews[-1] == extract_svg(answer).svg


def test_close_partial_is_fast_on_a_long_answer() -> None:
    body = "".join(
        f'<g transform="translate({i} 1)"><path d="M{i} 0 L {i} 100 C 1 2 3 4 5 6" '
        'stroke="#123456" fill="none"/>'
        for i in range(500)
    )
    answer = "Thinking out loud... " * 200 + "```svg\n<svg viewBox='0 0 9 9'>" + body
    assert len(answer) > 50_000
    started = time.perf_counter()
    for _ in range(10):
        preview = close_partial_svg(answer)
    per_call = (time.perf_counter() - started) / 10
    assert preview is not None and well_formed(preview)
    assert preview.endswith("</g>" * 500 + "</svg>")
    assert per_call < 0.05, f"{per_call * 1000:.1f} ms per call"


@pytest.mark.parametrize(
    ("broken", "repaired"),
    [
        (
            '<svg viewBox="0 0 10 10"><circle r="4"></svg>',
            '<svg viewBox="0 0 10 10"><circle r="4"></circle></svg>',
        ),
        ("<svg><g><rect/></g></g></svg>", "<svg><g><rect/></g></svg>"),
        ("<svg><g><path d='M0 0'/>", "<svg><g><path d='M0 0'/></g></svg>"),
        ("<svg><rect/></svg>", "<svg><rect/></svg>"),
    ],
)
def test_repair_svg_balances_tags(broken: str, repaired: str) -> None:
    import xml.etree.ElementTree as ET

    from pelican_tui.backends.svg.extract import repair_svg

    assert repair_svg(broken) == repaired
    ET.fromstring(repaired)  # well-formed
