"""Every local run records llama-server's peak memory, however short it is.

The engine samples memory every ``RAM_SAMPLE_EVERY_S`` while runs stream; a run
that starts and ends between two samples (the second of two panes on one
server, which waits its turn) takes one sample when it ends. The sampling
period is stretched here so that only that rule can record it.
"""

from __future__ import annotations

import pytest
from _server_support import server_binary, tiny_model

from pelican_tui.backends import locations
from pelican_tui.backends.engine import comparison
from pelican_tui.backends.engine.comparison import ComparisonEngine
from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.settings import load_settings
from pelican_tui.backends.store.sessions import SessionStore


async def test_a_run_between_two_samples_still_records_its_peak(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(comparison, "RAM_SAMPLE_EVERY_S", 3600.0)
    settings = load_settings(
        {"local": {"model": tiny_model(), "context": 2048, "max_tokens": 4, "seed": 7}}
    )
    engine = ComparisonEngine(settings, Prepared(server_binary(), "cache"))
    try:
        status = await engine.start_local()
        assert status.ready, status
        choices = {"left": PaneChoice("local", True), "right": PaneChoice("local", False)}
        outcome = await engine.run_comparison("Draw a pelican.", choices, lambda _: None)
    finally:
        await engine.close()
    assert outcome.session_id is not None
    with SessionStore.open(locations.sessions_db(), create=False) as store:
        runs = store.get_session(outcome.session_id).runs
    assert len(runs) == 2
    for run in runs:
        assert run.peak_ram["server_rss_bytes"] > 10_000_000, (run.slot, run.peak_ram)
        assert run.peak_ram["server_rss_bytes"] >= run.peak_ram["server_model_mapped_bytes"]
        assert "server_bytes" not in run.peak_ram
