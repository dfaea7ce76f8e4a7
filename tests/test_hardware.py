"""Memory bandwidth (measured and cached) and the decode ceiling it implies.

The ceiling is checked against a real GGUF written by ``_gguf_factory`` (a
random-weight MoE whose parameter counts the factory reports independently).
No timing is asserted: only that a real measurement gives a positive number.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from _gguf_factory import write_tiny_moe
from _server_support import tiny_model

from pelican_tui.backends import hardware, locations
from pelican_tui.backends.llama.gguf_info import read_gguf_info


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bandwidth cache lives in the (normally shared) cache dir: isolate it."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(locations.CACHE_ENV, str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_moe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("hardware-gguf")
    return write_tiny_moe(folder / "moe.gguf", tiny_model(), arch="qwen3moe", n_experts=8, n_used=2)


def test_decode_ceiling_is_bandwidth_over_active_bytes(tiny_moe: dict[str, Any]) -> None:
    info = read_gguf_info(tiny_moe["path"])
    bits = tiny_moe["tensor_bytes"] * 8 / tiny_moe["total_params"]
    per_token = tiny_moe["active_params"] * bits / 8
    # A MoE reads only the experts a token uses: fewer bytes than the whole file.
    assert tiny_moe["active_params"] < tiny_moe["total_params"]
    assert per_token < tiny_moe["tensor_bytes"]

    bandwidth = 20e9
    ceiling = hardware.decode_ceiling_tokens_per_s(info, bandwidth)
    assert ceiling == pytest.approx(bandwidth / per_token, rel=1e-9)
    # Twice the bandwidth, twice the ceiling.
    assert hardware.decode_ceiling_tokens_per_s(info, 2 * bandwidth) == pytest.approx(2 * ceiling)
    assert hardware.decode_ceiling_tokens_per_s(info, 0.0) == 0.0


def test_decode_ceiling_of_the_dense_default_model() -> None:
    info = read_gguf_info(tiny_model())
    # Dense: every parameter is read for every token.
    assert info.active_params == info.total_params
    ceiling = hardware.decode_ceiling_tokens_per_s(info, 10e9)
    assert ceiling == pytest.approx(10e9 / (info.tensor_bytes), rel=1e-6)


def test_cache_round_trip(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hardware.read_cached_bandwidth() is None
    record = hardware.write_cached_bandwidth(12.5e9)
    path = locations.bandwidth_cache_file()
    assert path.parent == cache_dir
    stored = json.loads(path.read_text())
    assert stored["bytes_per_s"] == 12.5e9
    assert stored["measured_at"] == record.measured_at
    assert hardware.read_cached_bandwidth() == record

    def no_measuring(seconds: float = 1.0, **_: Any) -> float:
        raise AssertionError("a cached value must not be measured again")

    monkeypatch.setattr(hardware, "measure_memory_bandwidth", no_measuring)
    assert hardware.memory_bandwidth(cached=True) == 12.5e9


def test_uncached_measures_and_stores(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hardware.write_cached_bandwidth(1e9)
    calls: list[float] = []

    def fake_measure(seconds: float = 1.0, **_: Any) -> float:
        calls.append(seconds)
        return 7e9

    monkeypatch.setattr(hardware, "measure_memory_bandwidth", fake_measure)
    assert hardware.memory_bandwidth(cached=False, seconds=0.5) == 7e9
    assert calls == [0.5]
    cached = hardware.read_cached_bandwidth()
    assert cached is not None and cached.bytes_per_s == 7e9


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"bytes_per_s": -1, "measured_at": "x", "host": "h"}),
        json.dumps({"measured_at": "x"}),
        json.dumps([1, 2]),
    ],
)
def test_bad_cache_is_ignored(cache_dir: Path, content: str) -> None:
    path = locations.bandwidth_cache_file()
    locations.ensure(path.parent)
    path.write_text(content)
    assert hardware.read_cached_bandwidth() is None


def test_cache_from_another_machine_is_ignored(cache_dir: Path) -> None:
    hardware.write_cached_bandwidth(5e9)
    path = locations.bandwidth_cache_file()
    data = json.loads(path.read_text())
    data["host"] = "some-other-box|x86_64|64|1"
    path.write_text(json.dumps(data))
    assert hardware.read_cached_bandwidth() is None


def test_real_measurement_is_positive(cache_dir: Path) -> None:
    value = hardware.measure_memory_bandwidth(seconds=0.1)
    assert value > 0
    with pytest.raises(ValueError):
        hardware.measure_memory_bandwidth(seconds=0)
    # Nothing is cached by a bare measurement.
    assert hardware.read_cached_bandwidth() is None


def test_format_bandwidth() -> None:
    assert hardware.format_bandwidth(31.24e9) == "31.2 GB/s"


# -- the ceiling on screen ------------------------------------------------------------


async def test_pane_shows_live_and_final_rate_against_the_ceiling() -> None:
    from textual.app import App, ComposeResult

    from pelican_tui.backends.engine.sides import PaneChoice
    from pelican_tui.backends.events import Finished, LiveStats, Timings, Usage
    from pelican_tui.widgets.model_pane import ModelPane

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield ModelPane("left", PaneChoice("local", True))

    async with Host().run_test(size=(100, 30)) as pilot:
        pane = pilot.app.query_one(ModelPane)
        pane.ceiling_tok_s = 400.0
        pane.begin()
        pane.feed(LiveStats(tokens=12, tokens_per_s=100.0, time_to_first_token_s=0.2))
        assert "100.0 tok/s (25% of 400 max)" in pane.stats_line()
        pane.feed(Finished(Timings(generation_tokens_per_s=300.0, generated_tokens=50), Usage()))
        pane.end("finished")
        assert "300.0 tok/s (75% of 400 max)" in pane.stats_line()
        pane.ceiling_tok_s = None  # unknown ceiling (Claude, attach mode): just the rate
        assert "300.0 tok/s ·" in pane.stats_line()
        assert "max)" not in pane.stats_line()


def test_app_reads_the_ceiling_from_the_cached_bandwidth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from _server_support import server_binary

    from pelican_tui.app import PelicanApp
    from pelican_tui.backends.llama.prepare import Prepared
    from pelican_tui.backends.settings import load_settings

    model, binary = tiny_model(), server_binary()  # found in the shared cache first
    monkeypatch.setenv(locations.CACHE_ENV, str(tmp_path / "cache"))
    settings = load_settings({"local": {"model": model, "context": 2048}})
    prepared = Prepared(binary=binary, binary_source="cache")

    without = PelicanApp(settings, prepared, start_server=False, sample_resources=False)
    asyncio.run(without.engine.read_local_header())  # the app reads it after its first frame
    assert without.ceiling_tok_s is None  # never measured here: nothing invented

    hardware.write_cached_bandwidth(8e9)
    app = PelicanApp(settings, prepared, start_server=False, sample_resources=False)
    asyncio.run(app.engine.read_local_header())
    expected = 8e9 / read_gguf_info(model).bytes_per_token_read()
    assert app.ceiling_tok_s == pytest.approx(expected)
