"""The sandboxed SVG renderer against tests/svg_corpus, one file per attack or breakage.

Every case asserts its outcome (a PNG of exactly the requested size, or a
one-line reason) and a time bound that includes any worker restart.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PIL import Image

from pelican_tui.backends.svg import render as svg_render
from pelican_tui.backends.svg.extract import extract_svg
from pelican_tui.backends.svg.render import RenderResult, SvgRenderer, render_svg_in_process
from pelican_tui.backends.svg.worker import data_only_fetcher, sanitize
from pelican_tui.cli.render import render_command

CORPUS = Path(__file__).parent / "svg_corpus"
BOUND_S = 8.0
"""Upper bound for any single render, restart included (the machine may be busy)."""
REFUSED_S = 2.0
"""Upper bound for an SVG refused before drawing: well under the 5 s render
timeout, so a refusal that only came from the timeout (or from cairosvg giving
up after seconds of work) fails the bound."""


@pytest.fixture(scope="module")
def renderer() -> Iterator[SvgRenderer]:
    with SvgRenderer() as shared:
        shared.start()
        yield shared


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def png_size(result: RenderResult) -> tuple[int, int]:
    assert result.ok, result.reason
    assert result.png is not None and result.png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(result.png)) as image:
        image.load()
        return image.size


def pixels(png: bytes) -> list[tuple[int, int, int]]:
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
        return [rgb.getpixel((x, y)) for y in range(rgb.height) for x in range(rgb.width)]


def assert_one_line_reason(result: RenderResult, *fragments: str) -> None:
    assert not result.ok
    assert result.png is None
    assert result.reason is not None
    assert "\n" not in result.reason
    for fragment in fragments:
        assert fragment in result.reason


def test_every_corpus_file_has_a_test() -> None:
    tested = {name for name, *_ in CASES} | {"marker_fanout.svg"}
    assert {path.name for path in CORPUS.iterdir()} == tested


# (file, expected outcome: None = renders, else a fragment of the reason)
CASES: list[tuple[str, str | None]] = [
    ("good_pelican_bicycle.svg", None),
    ("good_pelican_classic.svg", None),
    ("xxe_file_entity.svg", "uses XML entities"),
    ("billion_laughs.svg", "uses XML entities"),
    ("use_fanout.svg", "expands to more than 20,000 elements through <use>"),
    ("use_self_reference.svg", "<use> element refers to itself"),
    ("pattern_self_reference.svg", "refers to itself"),
    ("deep_nesting.svg", "nests elements too deeply"),
    ("canvas_30000.svg", None),
    ("huge_path_2mb.svg", "SVG too large (2048 KB > 512 KB)"),
    ("path_100k_segments.svg", None),
    ("external_http_refs.svg", None),
    ("local_file_refs.svg", None),
    ("script_and_events.svg", None),
    ("data_uri_bombs.svg", None),
    ("data_svg_images.svg", None),
    ("truncated.svg", "not valid XML"),
    ("not_svg.txt", "not an SVG"),
    ("empty.svg", "the SVG is empty"),
    ("binary_junk.bin", "not valid XML"),
]


@pytest.mark.parametrize(("name", "failure"), CASES)
def test_corpus(renderer: SvgRenderer, name: str, failure: str | None) -> None:
    data = corpus(name)
    started = time.perf_counter()
    result = renderer.render_sync(data, 400, 300)
    elapsed = time.perf_counter() - started
    if failure is None:
        assert png_size(result) == (400, 300)
        assert elapsed < BOUND_S, f"drawn in {elapsed:.2f} s"
    else:
        assert_one_line_reason(result, failure)
        assert elapsed < REFUSED_S, f"refused after {elapsed:.2f} s"


def test_huge_canvas_is_drawn_scaled_not_allocated(renderer: SvgRenderer) -> None:
    result = renderer.render_sync(corpus("canvas_30000.svg"), 400, 300)
    image = pixels(result.png or b"")
    assert image[150 * 400 + 200] == (255, 204, 0), "the circle's centre, scaled down"
    assert image[150 * 400 + 20] == (255, 255, 255), "letterboxed: a square in a 4:3 box"


def test_data_images_are_drawn(renderer: SvgRenderer) -> None:
    # good_pelican_classic.svg embeds a blue PNG as a data: URI at (10..50, 10..50) of 300.
    result = renderer.render_sync(corpus("good_pelican_classic.svg"), 300, 300)
    assert pixels(result.png or b"")[30 * 300 + 30] == (20, 40, 200)


def test_embedded_svg_images_are_drawn(renderer: SvgRenderer) -> None:
    # A red square (base64) at the top left, a blue disc (percent-encoded) at
    # the bottom right, on grey. Sanitized embedded SVG used to be written
    # back as <ns0:svg>, which cairosvg took for a bitmap: the render failed.
    result = renderer.render_sync(corpus("data_svg_images.svg"), 100, 100)
    image = pixels(result.png or b"")
    assert image[25 * 100 + 25] == (204, 0, 0), "the base64 SVG's square"
    assert image[75 * 100 + 75] == (0, 51, 204), "the percent-encoded SVG's disc"
    assert image[25 * 100 + 75] == (238, 238, 238), "the ground between them"
    assert image[52 * 100 + 52] == (238, 238, 238), "outside the disc, in its box"


def test_embedded_svg_is_sanitized_and_written_as_svg() -> None:
    inner = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<script>alert(1)</script><rect id="r" width="1" height="1"/>'
        b'<use xlink:href="#r"/><image href="file:///etc/passwd"/></svg>'
    )
    uri = "data:image/svg+xml;base64," + base64.b64encode(inner).decode()
    cleaned = data_only_fetcher(uri, "image/*")  # what cairosvg asks for an <image>
    assert cleaned.startswith(b"<svg "), cleaned  # not <ns0:svg ...>
    assert b'xmlns="http://www.w3.org/2000/svg"' in cleaned
    assert b"<rect" in cleaned and b"script" not in cleaned and b"passwd" not in cleaned
    use = ElementTree.fromstring(cleaned).find("{http://www.w3.org/2000/svg}use")
    assert use is not None and use.get("{http://www.w3.org/1999/xlink}href") == "#r"


def test_embedded_bombs_are_dropped_and_the_rest_drawn(renderer: SvgRenderer) -> None:
    result = renderer.render_sync(corpus("data_uri_bombs.svg"), 100, 100)
    assert set(pixels(result.png or b"")) == {(0, 170, 0)}, "only the green background"
    assert result.elapsed_s < BOUND_S


def test_truncated_answer_renders_once_closed_up(renderer: SvgRenderer) -> None:
    extraction = extract_svg(corpus("truncated.svg").decode())
    assert extraction.partial and extraction.svg is not None
    assert png_size(renderer.render_sync(extraction.svg, 200, 200)) == (200, 200)


@pytest.mark.parametrize(
    ("svg", "reason"),
    [
        # The stand-in wrote this one; cairosvg said "Root node is {...}svg. Should be one
        # of marker, svg, image, or g."
        (
            '<svg xmlns="http://www.w3.org/1996/xmark/svg"><rect width="5" height="5"/></svg>',
            'not an SVG: its <svg> tag is in the namespace "http://www.w3.org/1996/xmark/svg",'
            ' not "http://www.w3.org/2000/svg"',
        ),
        # expat said "not well-formed (invalid token)" and "duplicate attribute".
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>',
            "not valid XML: a character XML does not allow there (a bare & or <) (line 1,",
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg">\n<rect width="1" width="2"/></svg>',
            "not valid XML: an attribute given twice in one tag (line 2,",
        ),
        # cairosvg said "could not convert string to float: 'x'" and "tuple index out
        # of range" / "string index out of range".
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" opacity="x"/></svg>',
            "the SVG has a number that cannot be read: 'x'",
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10"><rect width="5"/></svg>',
            "the SVG has a list of numbers that stops short (a viewBox or a path command)",
        ),
        (
            '<svg xmlns="http://www.w3.org/2000/svg"><path d="M1 1 A 5 5 0 1"/></svg>',
            "the SVG has a list of numbers that stops short (a viewBox or a path command)",
        ),
    ],
)
def test_why_an_svg_is_not_drawn_is_said_in_words(
    renderer: SvgRenderer, svg: str, reason: str
) -> None:
    result = renderer.render_sync(svg, 100, 100)
    assert result.png is None and result.reason is not None
    assert result.reason.startswith(reason), result.reason


def test_sanitize_removes_scripts_events_and_external_links() -> None:
    root = sanitize(corpus("script_and_events.svg"))
    names = {element.tag.rpartition("}")[2] for element in root.iter()}
    assert names == {"svg", "rect", "a", "circle"}
    cleaned = ElementTree.tostring(root, encoding="unicode")
    for banned in ("alert", "onload", "onclick", "onmouseover", "javascript:", "127.0.0.1"):
        assert banned not in cleaned

    root = sanitize(corpus("external_http_refs.svg"))
    names = {element.tag.rpartition("}")[2] for element in root.iter()}
    assert names == {"svg", "style", "rect"}, "images and <use> without a link are gone"
    cleaned = ElementTree.tostring(root, encoding="unicode")
    assert "127.0.0.1" not in cleaned and "@import" not in cleaned
    assert "rect { fill: #0a0; }" in cleaned

    cleaned = ElementTree.tostring(sanitize(corpus("local_file_refs.svg")), encoding="unicode")
    assert "/etc/" not in cleaned and "secret" not in cleaned and "image" not in cleaned


def test_fetcher_decodes_data_uris_and_refuses_everything_else() -> None:
    assert data_only_fetcher("data:text/plain;base64,aGk", "text/css") == b"hi"
    assert data_only_fetcher("data:text/plain,a%20b", "text/css") == b"a b"
    assert data_only_fetcher("file:///etc/passwd", "image/*") == b""
    assert data_only_fetcher("/etc/passwd", "image/*") == b""
    assert data_only_fetcher("http://127.0.0.1:9/x.css", "text/css") == b""
    assert b"<svg" in data_only_fetcher("file:///etc/x.svg", "image/svg+xml")


# -- nothing leaves the sandbox ---------------------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server
    server.close()


def connection_attempted(server: socket.socket) -> bool:
    readable, _, _ = select.select([server], [], [], 0.2)
    return bool(readable)


def loopback_svg(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    return f"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
      viewBox="0 0 100 100">
      <style>@import url("{base}/a.css");</style>
      <image href="{base}/b.png" width="50" height="50"/>
      <image xlink:href="{base}/c.svg" width="50" height="50"/>
      <use href="{base}/d.svg#x"/>
      <rect width="10" height="10" style="fill: url({base}/e.svg#g)"/>
    </svg>"""


def test_a_loopback_url_is_never_connected_to(
    renderer: SvgRenderer, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    svg = loopback_svg(port)
    assert png_size(renderer.render_sync(svg, 100, 100)) == (100, 100)
    assert not connection_attempted(listener)

    # Second layer alone: cairosvg with our fetcher on the unsanitized SVG.
    from cairosvg.surface import PNGSurface

    PNGSurface.convert(
        bytestring=svg.encode(), url_fetcher=data_only_fetcher, output_width=50, output_height=50
    )
    assert not connection_attempted(listener)

    # Control: the check does see a connection when one is made.
    with socket.create_connection(("127.0.0.1", port)):
        assert connection_attempted(listener)


def test_a_local_file_href_does_not_leak_its_contents(
    renderer: SvgRenderer, tmp_path: Path
) -> None:
    secret_png = tmp_path / "secret.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(secret_png)
    secret_svg = tmp_path / "secret.svg"
    secret_svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
        '<rect id="r" width="8" height="8" fill="#f00"/></svg>'
    )
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
      viewBox="0 0 100 100">
      <image href="{secret_png}" width="100" height="50"/>
      <image xlink:href="{secret_svg.as_uri()}" y="50" width="100" height="50"/>
      <use href="{secret_svg}#r" transform="scale(10)"/>
    </svg>"""
    result = renderer.render_sync(svg, 100, 100)
    assert png_size(result) == (100, 100)
    assert (255, 0, 0) not in set(pixels(result.png or b""))

    # Control: cairosvg told to be unsafe does read those files.
    import cairosvg

    leaked = cairosvg.svg2png(bytestring=svg.encode(), unsafe=True, output_width=100)
    assert (255, 0, 0) in set(pixels(leaked))


# -- the worker's life ------------------------------------------------------


def test_timeout_kills_the_worker_and_the_next_render_works(renderer: SvgRenderer) -> None:
    before = renderer.worker_pid
    assert before is not None
    started = time.perf_counter()
    result = renderer.render_sync(corpus("marker_fanout.svg"), 400, 300, timeout_s=1.0)
    assert_one_line_reason(result, "rendering took longer than 1 s")
    assert time.perf_counter() - started < 3.0
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)  # killed and reaped

    result = renderer.render_sync(corpus("good_pelican_bicycle.svg"), 400, 300)
    assert png_size(result) == (400, 300)
    assert result.elapsed_s < BOUND_S
    assert renderer.worker_pid not in (None, before)


def test_a_worker_killed_from_outside_is_replaced(renderer: SvgRenderer) -> None:
    renderer.render_sync(corpus("good_pelican_bicycle.svg"), 40, 30)
    pid = renderer.worker_pid
    restarts = renderer.restarts
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    result = renderer.render_sync(corpus("good_pelican_bicycle.svg"), 400, 300)
    assert png_size(result) == (400, 300)
    assert result.elapsed_s < BOUND_S
    assert renderer.restarts == restarts + 1
    assert renderer.worker_pid not in (None, pid)


def test_memory_limit_gives_a_reason_and_a_fresh_worker() -> None:
    # 8192 x 8192 ARGB needs 256 MiB for the surface alone.
    with SvgRenderer(memory_limit_bytes=200 * 1024 * 1024) as small:
        small.start()
        first = small.worker_pid
        assert first is not None and small.restarts == 0
        result = small.render_sync(corpus("good_pelican_bicycle.svg"), 8192, 8192)
        assert_one_line_reason(result, "needs more memory than allowed (200 MB)")
        assert result.elapsed_s < BOUND_S
        # The worker that ran out of memory answered, then was let go.
        assert small.worker_pid is None
        assert not pid_alive(first)
        result = small.render_sync(corpus("good_pelican_bicycle.svg"), 400, 300)
        assert png_size(result) == (400, 300)
        assert small.restarts == 1
        assert small.worker_pid not in (None, first)


# -- a worker killed in the middle of a render -------------------------------


def pid_alive(pid: int) -> bool:
    try:
        # A zombie (state Z) is dead for our purposes.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of ``pid`` in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def wait_until_drawing(renderer: SvgRenderer, pid: int, idle_ticks: int) -> None:
    """Wait (bounded) until worker ``pid`` has spent 0.2 s of CPU past ``idle_ticks``.

    An idle worker blocks reading its stdin and uses no CPU, so CPU time that
    grows means the render request arrived and cairosvg is drawing.
    """
    busy = idle_ticks + max(1, os.sysconf("SC_CLK_TCK") // 5)
    deadline = time.monotonic() + BOUND_S
    while cpu_ticks(pid) < busy:
        assert renderer.worker_pid == pid, "the worker changed before it was seen drawing"
        assert time.monotonic() < deadline, "the worker never started drawing"
        time.sleep(0.02)


def render_in_thread(
    renderer: SvgRenderer, svg: str | bytes, timeout_s: float
) -> tuple[threading.Thread, list[RenderResult]]:
    results: list[RenderResult] = []
    thread = threading.Thread(
        target=lambda: results.append(renderer.render_sync(svg, 400, 300, timeout_s=timeout_s))
    )
    thread.start()
    return thread, results


def slow_svg(vertices: int) -> str:
    """marker_fanout.svg cut down to ``vertices`` marked vertices (~3 ms each here)."""
    text = corpus("marker_fanout.svg").decode()
    head, _, rest = text.partition(' d="')
    _, _, tail = rest.partition('"')
    return f'{head} d="M10 10{"h1v1" * (vertices // 2)}"{tail}'


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@needs_proc
def test_a_worker_killed_while_drawing_is_replaced_and_the_render_retried() -> None:
    svg = slow_svg(500)  # ~1.5 s of drawing: long enough to be caught at it
    with SvgRenderer() as fresh:
        fresh.start()
        first = fresh.worker_pid
        assert first is not None
        thread, results = render_in_thread(fresh, svg, timeout_s=BOUND_S * 2)
        wait_until_drawing(fresh, first, cpu_ticks(first))
        os.kill(first, signal.SIGKILL)
        thread.join(timeout=BOUND_S * 3)
        assert not thread.is_alive()
        [result] = results
        # The successor drew the same SVG: a crash from outside costs a retry.
        assert png_size(result) == (400, 300)
        assert fresh.restarts == 1
        second = fresh.worker_pid
        assert second not in (None, first)
        assert not pid_alive(first)
        assert pixels(result.png or b"") == pixels(render_svg_in_process(svg, 400, 300))


@needs_proc
def test_a_worker_killed_twice_on_one_svg_gives_a_reason_and_a_new_worker() -> None:
    with SvgRenderer() as fresh:
        fresh.start()
        first = fresh.worker_pid
        assert first is not None
        started = time.perf_counter()
        # marker_fanout.svg draws for ~30 s: both workers are killed mid-render.
        thread, results = render_in_thread(fresh, corpus("marker_fanout.svg"), timeout_s=60)
        wait_until_drawing(fresh, first, cpu_ticks(first))
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + BOUND_S
        while fresh.restarts < 1:  # the successor said ready; the SVG is sent next
            assert time.monotonic() < deadline, "no successor started"
            time.sleep(0.02)
        second = fresh.worker_pid
        assert second not in (None, first)
        wait_until_drawing(fresh, second, cpu_ticks(second))
        os.kill(second, signal.SIGKILL)
        thread.join(timeout=BOUND_S)
        assert not thread.is_alive()
        [result] = results
        assert_one_line_reason(result, "the SVG renderer crashed (was killed by SIGKILL)")
        assert time.perf_counter() - started < BOUND_S * 2, "no wait for the 60 s timeout"
        assert fresh.worker_pid is None
        assert not pid_alive(first) and not pid_alive(second)

        result = fresh.render_sync(corpus("good_pelican_bicycle.svg"), 400, 300)
        assert png_size(result) == (400, 300)
        assert fresh.restarts == 2
        assert fresh.worker_pid not in (None, first, second)


async def test_two_panes_render_concurrently(renderer: SvgRenderer) -> None:
    good = corpus("good_pelican_bicycle.svg").decode()
    results = await asyncio.wait_for(
        asyncio.gather(
            renderer.render(good, 400, 300),
            renderer.render(corpus("use_fanout.svg"), 400, 300),
            renderer.render(good, 200, 150),
            renderer.render(corpus("good_pelican_classic.svg"), 300, 300),
        ),
        timeout=BOUND_S * 2,
    )
    assert png_size(results[0]) == (400, 300)
    assert_one_line_reason(results[1], "through <use>")
    assert png_size(results[2]) == (200, 150)
    assert png_size(results[3]) == (300, 300)


def test_height_from_the_aspect_ratio(renderer: SvgRenderer) -> None:
    assert png_size(renderer.render_sync(corpus("good_pelican_bicycle.svg"), 200)) == (200, 150)
    assert png_size(renderer.render_sync(corpus("good_pelican_classic.svg"), 200)) == (200, 200)
    tall = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1000"><rect width="1"/></svg>'
    assert png_size(renderer.render_sync(tall, 100)) == (100, 400), "capped at 4 x width"


@pytest.mark.parametrize(
    ("width", "height"), [(0, 10), (10, 0), (9000, 10), (10, 9000), (-1, None), (1.5, 10)]
)
def test_output_size_is_checked(renderer: SvgRenderer, width: int, height: int | None) -> None:
    with pytest.raises(ValueError, match="must be an integer"):
        renderer.render_sync("<svg/>", width, height)


def test_background_must_be_a_color(renderer: SvgRenderer) -> None:
    with pytest.raises(ValueError, match="is not a colour"):
        renderer.render_sync("<svg/>", 10, 10, background="url(file:///etc/passwd)")
    with pytest.raises(ValueError, match="is not a colour"):
        renderer.render_sync("<svg/>", 10, 10, background="notacolor")  # it drew black
    result = renderer.render_sync(corpus("good_pelican_classic.svg"), 400, 300, background=None)
    with Image.open(io.BytesIO(result.png or b"")) as image:
        assert image.convert("RGBA").getpixel((5, 150))[3] == 0, "transparent letterbox"


def test_closed_renderer_refuses_and_stops_its_worker() -> None:
    renderer = SvgRenderer()
    renderer.start()
    pid = renderer.worker_pid
    assert pid is not None
    renderer.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(RuntimeError, match="closed"):
        renderer.render_sync("<svg/>", 10, 10)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_the_worker_gets_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-for-the-worker")
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "token-not-for-the-worker")
    with SvgRenderer() as fresh:
        fresh.start()
        environ = Path(f"/proc/{fresh.worker_pid}/environ").read_bytes()
    assert b"not-for-the-worker" not in environ
    assert b"PYTHONPATH=" in environ


def test_a_worker_that_cannot_start_gives_a_reason() -> None:
    with SvgRenderer(python="/bin/false") as broken:
        result = broken.render_sync(corpus("good_pelican_bicycle.svg"), 40, 30)
    assert_one_line_reason(result, "the SVG renderer did not start (exited with code 1)")
    assert result.elapsed_s < BOUND_S


def test_the_worker_never_imports_textual() -> None:
    code = (
        "import sys\n"
        "import pelican_tui.backends.svg.worker, cairosvg, defusedxml, PIL.Image\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_image')))"
    )
    env = dict(os.environ, PYTHONPATH=svg_render._package_root())
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_in_process_baseline_matches_the_worker(renderer: SvgRenderer) -> None:
    svg = corpus("good_pelican_bicycle.svg")
    via_worker = renderer.render_sync(svg, 400, 300)
    assert pixels(render_svg_in_process(svg, 400, 300)) == pixels(via_worker.png or b"")


# -- the command --------------------------------------------------------------


def test_render_command_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pelican.png"
    answer = tmp_path / "answer.md"
    answer.write_text(f"Here you go:\n\n```svg\n{corpus('good_pelican_bicycle.svg').decode()}```\n")
    assert render_command([str(answer), "-o", str(out), "--width", "320"]) == 0
    with Image.open(out) as image:
        assert image.size == (320, 240)
    assert capsys.readouterr().err == ""


UNBALANCED = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<g fill="orange"><circle cx="50" cy="50" r="40"></svg>'
)
"""A model's slip: its ``<g>`` (and circle) never closed. As written it is not XML."""


def test_an_unbalanced_svg_is_drawn_by_every_caller(
    renderer: SvgRenderer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The engine drew it (tags balanced) while ``render`` and the export refused it."""
    assert not renderer.render_sync(UNBALANCED, 64, 64, repair=False).ok
    drawn = renderer.render_sync(UNBALANCED, 64, 64)
    assert drawn.ok and drawn.png is not None
    with Image.open(io.BytesIO(drawn.png)) as image:
        assert image.convert("RGB").getpixel((32, 32)) == (255, 165, 0)
    answer = tmp_path / "answer.svg"
    answer.write_text(UNBALANCED)
    out = tmp_path / "out.png"
    assert render_command([str(answer), "-o", str(out)]) == 0, capsys.readouterr().err
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["use_fanout.svg"], 1, "through <use>"),
        (["truncated.svg"], 1, "unfinished"),
        (["not_svg.txt"], 1, "no SVG in the answer"),
        (["empty.svg"], 1, "is empty"),
        (["missing.svg"], 2, "cannot read"),
        (["good_pelican_bicycle.svg", "--width", "0"], 2, "--width"),
    ],
)
def test_render_command_fails_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    fragment: str,
) -> None:
    out = tmp_path / "out.png"
    argv = [str(CORPUS / args[0]), "-o", str(out), *args[1:]]
    started = time.perf_counter()
    assert render_command(argv) == code
    assert time.perf_counter() - started < BOUND_S
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pelican-tui render: ")
    assert fragment in err
    assert not out.exists()


def test_the_worker_runs_at_a_lower_priority_than_the_app(renderer: SvgRenderer) -> None:
    """The worker is niced below pelican-tui (which yields the CPU to llama-server only
    where the kernel does not group CPU time by session: see the worker's comment)."""
    import psutil

    from pelican_tui.backends.svg.worker import NICENESS

    assert renderer.render_sync(corpus("good_pelican_classic.svg"), 64, 48).ok
    pid = renderer.worker_pid
    assert pid is not None
    ours = psutil.Process().nice()
    assert psutil.Process(pid).nice() == min(ours + NICENESS, 19)


def test_a_pngs_size_is_read_from_its_header_alone() -> None:
    from pelican_tui.backends.svg.render import png_size as header_size

    picture = io.BytesIO()
    Image.new("RGB", (321, 123)).save(picture, format="PNG")
    png = picture.getvalue()
    assert header_size(png) == (321, 123)
    assert header_size(png[:24]) == (321, 123)  # nothing past IHDR's width and height
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
    for not_png in (b"", png[:23], jpeg.getvalue(), b"<svg/>" * 10):
        assert header_size(not_png) is None


@pytest.mark.parametrize("background", ["white", "#87ceeb", "rgba(0, 0, 255, 0.5)", None])
def test_the_png_has_the_pixels_cairo_drew(background: str | None) -> None:
    """On an opaque background the worker writes the PNG itself, as RGB (no alpha to
    keep): the same pixels as cairo's own PNG writer gives. A background that lets
    some through, or none, keeps cairo's RGBA PNG."""
    import cairosvg

    from pelican_tui.backends.svg.worker import render_png, serialize

    svg = corpus("good_pelican_bicycle.svg")
    png = render_png(svg, 300, 200, background)
    cairo_png = cairosvg.svg2png(
        bytestring=serialize(sanitize(svg)),
        output_width=300,
        output_height=200,
        background_color=background,
        unsafe=False,  # sanitized: no link left to fetch
    )
    with Image.open(io.BytesIO(png)) as ours, Image.open(io.BytesIO(cairo_png)) as cairos:
        opaque = background in ("white", "#87ceeb")
        assert ours.mode == ("RGB" if opaque else "RGBA")
        assert ours.size == cairos.size == (300, 200)
        assert ours.convert("RGBA").tobytes() == cairos.convert("RGBA").tobytes()
