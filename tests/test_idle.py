"""The one idle-stream rule: Waiting while a stream is silent, StreamIdle at the limit.

The rule itself on plain async generators (no network), the setting that
drives it, and the pane line that shows it. The backends' own tests drive it
against real servers: a loopback OpenAI-compatible server and the loopback
Anthropic server going silent (test_attach, test_anthropic_backend), and a
SIGSTOPped llama-server (test_llama_server).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pelican_tui.backends.events import LiveStats, TextDelta, Waiting
from pelican_tui.backends.idle import IdleRule, StreamIdle, idle_failure, watch_idle
from pelican_tui.backends.settings import SettingsError, load_settings


class _Source:
    """An async generator that yields ``items``, then waits on :attr:`more` for one more."""

    def __init__(self, *items: str) -> None:
        self.items = items
        self.more = asyncio.Event()
        self.closed: str | None = None
        """How the generator ended: "finished", "cancelled" or "closed"."""

    async def stream(self) -> AsyncIterator[str]:
        try:
            for item in self.items:
                yield item
            await self.more.wait()
            yield "late"
            self.closed = "finished"
        except asyncio.CancelledError:
            self.closed = "cancelled"
            raise
        except GeneratorExit:
            self.closed = "closed"
            raise


def test_the_notice_comes_before_the_timeout() -> None:
    assert IdleRule(120.0).notice_s == 5.0 and IdleRule(120.0).tick_s == 1.0
    assert IdleRule(2.0).notice_s == 0.5 and IdleRule(2.0).tick_s == 0.5
    assert IdleRule(None).notice_s == 5.0


async def test_silence_yields_waiting_then_raises_and_cancels_the_read() -> None:
    source = _Source("a", "b")
    seen: list[object] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(StreamIdle) as idle:
        async for item in watch_idle(source.stream(), IdleRule(0.8)):
            seen.append(item)
    elapsed = loop.time() - started
    assert seen[:2] == ["a", "b"]
    waits = [w.idle_s for w in seen[2:] if isinstance(w, Waiting)]
    assert len(waits) == len(seen) - 2 >= 2, seen
    assert waits == sorted(waits) and waits[0] >= 0.2 and waits[-1] < 0.8
    assert 0.8 <= idle.value.idle_s <= elapsed
    assert source.closed == "cancelled", "the read in progress was cancelled"


async def test_data_after_a_silence_flows_on() -> None:
    source = _Source("a")
    seen: list[object] = []
    async for item in watch_idle(source.stream(), IdleRule(2.0)):
        seen.append(item)
        if isinstance(item, Waiting):
            source.more.set()  # the server answers again, noticed while silent
    assert seen[0] == "a" and isinstance(seen[1], Waiting) and seen[-1] == "late"
    assert source.closed == "finished"


async def test_closing_while_waiting_closes_the_source() -> None:
    source = _Source("a")
    watched = watch_idle(source.stream(), IdleRule(1.0))
    async with contextlib.aclosing(watched):
        assert await anext(watched) == "a"
        assert isinstance(await anext(watched), Waiting)
    assert source.closed == "cancelled"


async def test_cancelling_the_consumer_cancels_the_read() -> None:
    source = _Source("a")
    got_first = asyncio.Event()

    async def consume() -> None:
        async for item in watch_idle(source.stream(), IdleRule(60.0)):
            if item == "a":
                got_first.set()

    task = asyncio.create_task(consume())
    await got_first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.closed == "cancelled"


async def test_the_source_is_read_by_one_task_for_the_whole_stream() -> None:
    """Per item the watcher makes no task of its own (it runs per token): every read
    happens in one reader task, and items that arrived together are taken without a
    wait between them."""
    readers: set[asyncio.Task[object] | None] = set()

    async def source() -> AsyncIterator[int]:
        for number in range(50):
            readers.add(asyncio.current_task())
            yield number
            if number % 10 == 9:
                await asyncio.sleep(0)  # a network read: the consumer may run now

    consumer = asyncio.current_task()
    seen = [item async for item in watch_idle(source(), IdleRule(60.0))]
    assert seen == list(range(50))
    assert len(readers) == 1 and consumer not in readers


async def test_an_error_of_the_source_reaches_the_consumer_and_closes_it() -> None:
    closed: list[str] = []

    async def source() -> AsyncIterator[str]:
        try:
            yield "a"
            await asyncio.sleep(0)
            raise ConnectionResetError("gone")
        finally:
            closed.append("source")

    seen: list[object] = []
    with pytest.raises(ConnectionResetError, match="gone"):
        async for item in watch_idle(source(), IdleRule(60.0)):
            seen.append(item)
    assert seen == ["a"] and closed == ["source"]


async def test_an_outer_generator_closed_mid_stream_is_closed() -> None:
    """A backend's ``generate`` wraps the watcher; closing it while its reader waits
    for data leaves it closed (CPython 3.11 left such a generator "running" when the
    cancelled reader's error was raised and suppressed inside its ``aclose``)."""
    source = _Source("a")

    async def generate() -> AsyncIterator[object]:
        async with contextlib.aclosing(watch_idle(source.stream(), IdleRule(60.0))) as items:
            async for item in items:
                yield item

    outer = generate()
    assert await asyncio.wait_for(anext(outer), 5) == "a"
    await asyncio.wait_for(outer.aclose(), 5)
    assert source.closed in ("cancelled", "closed")  # its read in progress, or at its yield
    with pytest.raises(StopAsyncIteration):
        await anext(outer)


def test_the_failure_names_the_server_and_the_setting() -> None:
    failed = idle_failure("llama-server", StreamIdle(3.02), "restart the server")
    assert failed.reason == "no data from llama-server for 3 s; gave up"
    assert failed.hint == "restart the server; if it is only slow, raise idle_timeout_s"


# -- the setting ------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("PELICAN_CONFIG_FILE", str(path))
    return path


def test_one_setting_for_every_backend(config: Path) -> None:
    assert load_settings().idle_timeout_s == 120.0
    config.write_text("idle_timeout_s = 30\n")
    assert load_settings().idle_timeout_s == 30.0
    assert load_settings({"idle_timeout_s": 5}).idle_timeout_s == 5.0


def test_the_old_local_stream_timeout_is_still_read(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text("[local]\nstream_timeout_s = 45\ncontext = 4096\n")
    settings = load_settings()
    assert settings.idle_timeout_s == 45.0 and settings.local.context == 4096
    config.write_text("idle_timeout_s = 20\n[local]\nstream_timeout_s = 45\n")
    assert load_settings().idle_timeout_s == 20.0, "the new name wins"
    config.write_text("")
    monkeypatch.setenv("PELICAN_LOCAL__STREAM_TIMEOUT_S", "33")
    assert load_settings().idle_timeout_s == 33.0
    monkeypatch.setenv("PELICAN_LOCAL__STREAM_TIMEOUT_S", "0")
    with pytest.raises(SettingsError, match="idle_timeout_s"):
        load_settings()


# -- the pane ---------------------------------------------------------------------------


async def test_the_pane_says_no_data_until_data_flows_again() -> None:
    from textual.app import App, ComposeResult

    from pelican_tui.backends.engine.sides import PaneChoice
    from pelican_tui.widgets.model_pane import ModelPane
    from pelican_tui.widgets.text_line import TextLine

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield ModelPane("left", PaneChoice("local", True), redraw_hz=0)

    async with Host().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(ModelPane)
        stats = pane.query_one(".stats", TextLine)

        def shown() -> str:
            pane.flush()
            return stats.text

        pane.begin()
        pane.feed(TextDelta("<svg"))
        pane.feed(LiveStats(tokens=12, tokens_per_s=40.0, time_to_first_token_s=0.3))
        assert "40.0 tok/s" in shown()
        pane.feed(Waiting(5.2))
        await pilot.pause()
        assert "no data for 5 s · 12 tok so far" in shown()
        pane.feed(Waiting(6.1))
        assert "no data for 6 s" in shown()
        pane.feed(TextDelta(" viewBox"))
        line = shown()
        assert "no data" not in line and "40.0 tok/s" in line
        pane.feed(Waiting(5.0))
        pane.begin()  # a new run starts clean
        assert "no data" not in shown()


async def test_after_the_end_marker_the_source_is_read_to_its_end_unseen() -> None:
    """With ``ended``, nothing after the consumer's end marker is handed over, and the
    source finishes on its own (its clean-up, e.g. closing an HTTP response, is not
    cancelled halfway), or is left if it stays open past the notice period."""
    finished: list[str] = []

    async def source(stay_open: bool) -> AsyncIterator[str]:
        try:
            yield "a"
            yield "end"
            await asyncio.sleep(0.05)
            yield "trailer"  # e.g. what follows [DONE]: read, not handed over
            if stay_open:
                await asyncio.sleep(3600)
            await asyncio.sleep(0.05)  # closing the response takes a while
            finished.append("cleanly")
        except asyncio.CancelledError:
            finished.append("cancelled")
            raise

    async def consume(stay_open: bool) -> list[object]:
        seen: list[object] = []
        async with contextlib.aclosing(
            watch_idle(source(stay_open), IdleRule(0.8), ended=lambda: "end" in seen)
        ) as stream:
            async for item in stream:
                seen.append(item)
        return seen

    assert await asyncio.wait_for(consume(False), 10) == ["a", "end"]
    assert finished == ["cleanly"]
    finished.clear()
    assert await asyncio.wait_for(consume(True), 10) == ["a", "end"]
    assert finished == ["cancelled"], "an open source is left after the notice period"


def test_a_run_records_how_long_its_stream_was_silent_mid_answer() -> None:
    """A server suspended for 31 s mid-answer was stored at 4.4 tok/s with nothing to
    say why. The silences after the first token are summed and recorded; the wait
    for the first token is its time, not a silence."""
    from pelican_tui.backends.engine.record import RunAccumulator, silence_warning
    from pelican_tui.backends.events import Finished, Started, Timings, Usage

    acc = RunAccumulator()
    stream = [
        Started("m"),
        Waiting(5.0),  # before the first token: the time to it
        Waiting(6.0),
        TextDelta("<svg"),
        Waiting(5.0),
        Waiting(9.5),
        TextDelta(">"),
        Waiting(5.0),
        Waiting(7.2),
        Finished(Timings(generation_tokens_per_s=4.4), Usage(output_tokens=90)),
    ]
    for event in stream:
        acc.feed(event)
    assert acc.silent_s == pytest.approx(16.7)
    timings = acc.timings()
    assert timings["silent_s"] == 16.7 and timings["generation_tokens_per_s"] == 4.4
    assert silence_warning(timings) == (
        "the stream was silent for 17 s mid-answer; its tok/s counts that time"
    )
    quiet = RunAccumulator()
    for event in (Started("m"), Waiting(8.0), TextDelta("<svg/>"), Finished(Timings(), Usage())):
        quiet.feed(event)
    assert "silent_s" not in quiet.timings() and silence_warning(quiet.timings()) is None
