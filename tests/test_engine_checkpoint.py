"""A run's text can be saved while it streams (the app's save key): the engine keeps
each run's accumulator from its first update, not per token, and saves from it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _server_support import server_binary, tiny_model

from pelican_tui.backends import locations
from pelican_tui.backends.engine.comparison import ComparisonEngine
from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.engine.updates import RunEnded, RunProgress, SessionStarted
from pelican_tui.backends.events import TextDelta
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.settings import load_settings
from pelican_tui.backends.store.sessions import SessionStore


async def test_a_checkpoint_mid_run_saves_the_text_streamed_so_far() -> None:
    settings = load_settings(
        {
            "local": {
                "model": tiny_model(),
                "context": 2048,
                "max_tokens": 120,
                "seed": 7,
                "extra_args": ["--ignore-eos"],  # the run cannot end before the checkpoint
            }
        }
    )
    engine = ComparisonEngine(settings, Prepared(server_binary(), "cache"))
    pieces = 0
    saving: list[asyncio.Task[tuple[int, str, str, str]]] = []
    session: list[int] = []

    def stored() -> tuple[str, str]:
        with SessionStore.open(locations.sessions_db(), create=False) as store:
            (run,) = store.get_session(session[0]).runs
        return run.status, run.answer

    async def save() -> tuple[int, str, str, str]:
        answer = progress_seen[-1].acc.answer_text  # what has streamed when it is asked
        saved = await engine.checkpoint()
        return saved, answer, *await asyncio.to_thread(stored)

    progress_seen: list[RunProgress] = []

    def listener(update: Any) -> None:
        nonlocal pieces
        if isinstance(update, SessionStarted):
            session.append(update.session_id)
        if isinstance(update, RunProgress) and isinstance(update.event, TextDelta):
            progress_seen.append(update)
            pieces += 1
            if pieces == 20:
                saving.append(asyncio.create_task(save()))

    try:
        status = await engine.start_local()
        assert status.ready, status
        choice = {"left": PaneChoice("local", False)}
        outcome = await engine.run_comparison("Write a long story.", choice, listener)
    finally:
        await engine.close()
    saved, answer_then, status_then, stored_then = await saving[0]
    assert saved == 1, "the run in flight was saved"
    assert status_then == "running" and answer_then and stored_then.startswith(answer_then)
    assert outcome.session_id is not None
    with SessionStore.open(locations.sessions_db(), create=False) as store:
        (run,) = store.get_session(outcome.session_id).runs
    assert run.answer.startswith(answer_then)


async def test_a_cancel_after_the_stream_still_records_the_run() -> None:
    """Cancelled once the answer is in, while its picture is drawn (Ctrl-C in ``run``
    just then): the run is recorded with its whole answer and the stream's outcome.
    It was left "running" in the store, its answer only as of the last checkpoint."""
    from _dialect_servers import ANSWER, VllmServer

    from pelican_tui.backends.events import Finished

    with VllmServer() as server:
        settings = load_settings({"local": {"url": server.url}})
        engine = ComparisonEngine(settings, Prepared(None, None))
        session: list[int] = []
        comparison: list[asyncio.Task[Any]] = []

        def listener(update: Any) -> None:
            if isinstance(update, SessionStarted):
                session.append(update.session_id)
            if isinstance(update, RunProgress) and isinstance(update.event, Finished):
                comparison[0].cancel()  # lands at the run's next wait: its picture

        choice = {"left": PaneChoice("local", False)}
        comparison.append(
            asyncio.ensure_future(engine.run_comparison("Draw a pelican.", choice, listener))
        )
        try:
            await asyncio.wait_for(asyncio.shield(comparison[0]), 60)
        except asyncio.CancelledError:
            pass
        finally:
            await engine.close()
    assert comparison[0].cancelled()
    with SessionStore.open(locations.sessions_db(), create=False) as store:
        (run,) = store.get_session(session[0]).runs
    assert run.status == "finished", run.status
    assert run.answer == ANSWER


async def test_runs_join_a_session_of_their_own_prompt_only() -> None:
    """The rule was the TUI's alone: any front end could add a heron to a pelican's session."""
    from _dialect_servers import VllmServer

    with VllmServer() as server:
        engine = ComparisonEngine(
            load_settings({"local": {"url": server.url}}), Prepared(None, None)
        )
        left, right = {"left": PaneChoice("local", False)}, {"right": PaneChoice("local", True)}
        try:
            first = await engine.run_comparison("a pelican", left, lambda _: None)
            joined = await engine.run_comparison(
                "a pelican", right, lambda _: None, session_id=first.session_id
            )
            other = await engine.run_comparison(
                "a heron", right, lambda _: None, session_id=first.session_id
            )
        finally:
            await engine.close()
    assert first.session_id is not None and joined.session_id == first.session_id
    assert other.session_id not in (None, first.session_id)
    with SessionStore.open(locations.sessions_db(), create=False) as store:
        pelican = store.get_session(first.session_id)
        heron = store.get_session(other.session_id)  # type: ignore[arg-type]
    assert [r.slot for r in pelican.runs] == ["left", "right"]
    assert (heron.prompt, [r.slot for r in heron.runs]) == ("a heron", ["right"])


async def test_a_cancel_while_the_run_is_being_recorded_records_it_cancelled() -> None:
    """r pressed again while the store wrote the run's row: the row was written, its id
    never seen, and the run stayed "running" until a later start called it interrupted."""
    import threading

    from _dialect_servers import VllmServer

    with VllmServer() as server:
        engine = ComparisonEngine(
            load_settings({"local": {"url": server.url}}), Prepared(None, None)
        )
        store = await engine.store()
        writing, written = threading.Event(), threading.Event()
        start_run = store.start_run

        def slow_start_run(*args: Any, **kwargs: Any) -> int:
            writing.set()
            written.wait(5)  # the cancel lands while the row is being written
            return start_run(*args, **kwargs)

        store.start_run = slow_start_run  # type: ignore[method-assign]
        ended: list[Any] = []
        comparison = asyncio.create_task(
            engine.run_comparison("a pelican", {"left": PaneChoice("local", False)}, ended.append)
        )
        try:
            assert await asyncio.to_thread(writing.wait, 5)
            comparison.cancel()
            await asyncio.sleep(0.05)
            written.set()
            with pytest.raises(asyncio.CancelledError):
                await comparison
        finally:
            written.set()
            await engine.close()
    [session] = [u.session_id for u in ended if isinstance(u, SessionStarted)]
    with SessionStore.open(locations.sessions_db(), create=False) as reopened:
        (run,) = reopened.get_session(session).runs
    assert run.status == "cancelled"
    assert [u.result.outcome for u in ended if isinstance(u, RunEnded)] == ["cancelled"]
