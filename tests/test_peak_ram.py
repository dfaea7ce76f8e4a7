"""Every local run records its server's peak memory, however short it is.

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
from pelican_tui.backends.engine.run import PeakRam
from pelican_tui.backends.engine.sides import PaneChoice
from pelican_tui.backends.export.facts import MEMORY_LABELS, labelled_rows, run_tables
from pelican_tui.backends.llama.prepare import Prepared
from pelican_tui.backends.llama.process import LlamaServer
from pelican_tui.backends.resource_sampler import REMOTE_NOTE, ResourceSampler
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


async def test_a_server_attached_on_this_machine_records_its_peak_as_a_spawned_one(
    llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--url`` to a llama-server on this machine: the status bar measured it ("srv
    220M (model 92M)"), the run card said "(none recorded)". Its run records the peak of
    the process listening there, as a spawned llama-server's does (in ``run`` too: no
    front end samples here)."""
    monkeypatch.setenv("PELICAN_LOCAL_API_KEY", llama.api_key)
    settings = load_settings({"local": {"url": llama.base_url, "max_tokens": 4, "seed": 7}})
    engine = ComparisonEngine(settings, Prepared(server_binary(), "cache"))
    try:
        status = await engine.start_local()
        assert status.ready, status
        choices = {"left": PaneChoice("local", False)}
        outcome = await engine.run_comparison("Draw a pelican.", choices, lambda _: None)
    finally:
        await engine.close()
    assert outcome.session_id is not None
    with SessionStore.open(locations.sessions_db(), create=False) as store:
        [run] = store.get_session(outcome.session_id).runs
    assert run.model_info["url"] == llama.base_url, "a server someone else runs"
    assert run.peak_ram["server_rss_bytes"] > 10_000_000, run.peak_ram
    assert run.peak_ram["server_rss_bytes"] >= run.peak_ram["server_model_mapped_bytes"]
    rows = dict(run_tables(run).memory)
    assert rows["llama-server resident (model pages included)"].endswith(" bytes)"), rows


def test_a_server_on_another_machine_says_why_its_peak_is_not_recorded() -> None:
    """Attached to a server elsewhere: its run card said a bare "(none recorded)"; it
    says why, as the status bar does."""
    peak = PeakRam()
    peak.add(ResourceSampler(server_url=lambda: "http://192.0.2.7:11434").sample())  # TEST-NET-1
    assert dict(labelled_rows(peak.record(), MEMORY_LABELS))["Server"] == REMOTE_NOTE
