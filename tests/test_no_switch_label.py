"""A run of a model with no thinking switch (none was sent) is named one way wherever it
is labelled: "no thinking switch", as its pane's header says it while it runs.

Before: the stand-in's runs (its template does not react to ``enable_thinking``, so
``thinking_switch`` was recorded "not sent: …") were "thinking on (did not)" in the
gallery, the votes and the reveal, "thinking off" on the leaderboard, "thinking on" in
an opened session's header and "| Thinking | on |" in the run card; a cancelled run
asked on was rated as a "thinking on" configuration, apart from the runs asked off,
and its numbers line said "thought" above "(no thinking)".
"""

from __future__ import annotations

from typing import Any

from _app_support import header_read, make_app

from pelican_tui.backends import locations
from pelican_tui.backends.export.run_card import render_run_card
from pelican_tui.backends.ratings.configuration import (
    configuration_of,
    numbers_thinking,
    run_labels,
)
from pelican_tui.backends.ratings.leaderboard import leaderboard
from pelican_tui.backends.store.records import Run
from pelican_tui.backends.store.sessions import SessionStore

SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_INFO = {"file": SMOL, "quant": "Q4_1", "sha256": "ab" * 32}
NOT_SENT = "not sent: the model's chat template has no thinking switch"


def _no_switch(thinking: bool, **check: Any) -> dict[str, Any]:
    """A stand-in run's settings as the engine records them: no switch sent, and what
    the check after it found (``check``; none for a run cancelled before it)."""
    return {"thinking": thinking, "max_tokens": 40, "thinking_switch": NOT_SENT, **check}


CHECKED = {"thinking_switch_ignored": None, "thinking_ran": False}


def _runs(store: SessionStore) -> list[Run]:
    """Stand-in runs asked on, asked off, and asked on but cancelled before the check,
    all without reasoning; and a Qwen run whose switch was sent, asked on, that did not
    think."""
    session = store.create_session("Draw a cat")
    ids = []
    for thinking, check, status in (
        (True, CHECKED, "finished"),
        (False, CHECKED, "finished"),
        (True, {}, "cancelled"),
    ):
        run = store.start_run(
            session.id, "left", "local", SMOL, SMOL_INFO, _no_switch(thinking, **check)
        )
        store.finish_run(run, status=status, answer="<svg/>", svg="<svg/>", png=b"\x89PNG")
        ids.append(run)
    qwen = {"file": "Qwen3-8B-Q4_K_M.gguf", "quant": "Q4_K_M"}
    sent = {"thinking": True, "thinking_ran": False, "thinking_switch_ignored": False}
    run = store.start_run(session.id, "right", "local", "Qwen3-8B-Q4_K_M.gguf", qwen, sent)
    store.finish_run(run, answer="<svg/>", svg="<svg/>", png=b"\x89PNG")
    ids.append(run)
    by_id = {r.id: r for r in store.get_session(session.id).runs}
    return [by_id[i] for i in ids]


def test_a_run_with_no_switch_is_labelled_no_thinking_switch_and_rated_as_one() -> None:
    with SessionStore.open() as store:
        *smol, qwen = _runs(store)
        store.add_vote(smol[0].id, qwen.id, "a", blind=True)
        store.add_vote(smol[1].id, qwen.id, "b", blind=True)
        board = leaderboard(store, min_votes=0)
    name = "SmolLM2-135M-Instruct.Q4_1 · no thinking switch"
    sent = "Qwen3-8B-Q4_K_M · thinking on (did not)"  # a switch sent: as today
    assert run_labels([*smol, qwen]) == [name, name, name, sent]
    assert len({configuration_of(run).key for run in smol}) == 1, "on, off: one configuration"
    labels = {row.configuration.label for row in board.rows}
    assert labels == {name, "Qwen3-8B-Q4_K_M · thinking off"}, labels


def test_a_stored_run_with_no_switch_thought_only_if_reasoning_is_stored() -> None:
    """The cancelled run recorded no check: "thought" was its ask, not its text."""
    cancelled = _no_switch(True)
    assert numbers_thinking(cancelled, True, reasoned=False) == "did not think"
    assert numbers_thinking(cancelled, True, reasoned=True) == "thought"
    assert numbers_thinking(_no_switch(False, **CHECKED), True, reasoned=False) == "did not think"
    assert numbers_thinking(_no_switch(True), False, reasoned=False) is None


def test_the_run_card_says_no_thinking_switch() -> None:
    with SessionStore.open() as store:
        run = _runs(store)[0]
        card = render_run_card(store.get_session(run.session_id), None)
    assert "| Thinking | no thinking switch |" in card, card
    assert "| Thinking | on |" in card, "the run whose switch was sent, as it was asked"


async def test_an_opened_session_names_its_no_switch_run_so() -> None:
    """o, Enter on the stand-in's cancelled run: its header said "· thinking on", its
    numbers line "· thought" above "(no thinking)"."""
    with SessionStore.open(locations.sessions_db()) as store:
        run = _runs(store)[2]
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        assert await header_read(pilot)  # as o opens it: after the first frame's work
        app.load_session(run.session_id)
        await app.workers.wait_for_complete()
        await pilot.pause()
        left = app.pane("left")
        title, stats = str(left.border_title), left.stats_line()
    assert stats.startswith("■ "), stats
    said = (title, stats.rpartition(" · ")[2])
    name = f"1 SmolLM2-135M-Instruct.Q4_1 · no thinking switch (session #{run.session_id})"
    assert said == (name, "did not think"), said
