"""GGUF header facts and the memory-fit estimate.

Real files only: the SmolLM2-135M GGUF (dense llama), tiny random-weight
``qwen3moe`` / ``qwen35moe`` files from ``_gguf_factory`` (which llama-server
loads), and a sparse file with a Qwen3.6-35B-A3B-sized tensor table. The KV
cache numbers asserted here are the ones llama-server itself printed for the
same files and contexts (``llama_kv_cache: size = ...``).
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _gguf_factory import write_sparse_moe, write_tiny_moe
from _server_support import tiny_model
from gguf.constants import GGMLQuantizationType, LlamaFileType

from pelican_tui.backends.llama.gguf_info import (
    COMPUTE_BUFFER_BYTES,
    GIB,
    MIB,
    GGUFError,
    GGUFInfo,
    MemoryEstimate,
    check_fit,
    estimate_memory,
    format_params,
    format_size,
    read_gguf_info,
)


@pytest.fixture(scope="module")
def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF: the default model `pelican-tui setup` fetches."""
    return tiny_model()


@pytest.fixture(scope="module")
def tiny_models(
    smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("tiny-gguf")
    return {
        arch: write_tiny_moe(folder / f"{arch}.gguf", smollm2_gguf, arch=arch)
        for arch in ("qwen3moe", "qwen35moe")
    }


@pytest.fixture(scope="module")
def sparse_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    expected = write_sparse_moe(tmp_path_factory.mktemp("sparse-gguf") / "qwen36-shaped.gguf")
    yield expected
    expected["path"].unlink()


# --------------------------------------------------------------------------- reading


def test_dense_smollm2(smollm2_gguf: Path) -> None:
    info = read_gguf_info(smollm2_gguf)

    assert info.architecture == "llama"
    assert info.name == "Smollm2 135M 8k Lc100K Mix1 Ep2"
    assert info.file_size == 98_362_432
    # llama-server's /v1/models reports n_params 134515008 and size 96576768.
    assert info.total_params == 134_515_008
    assert info.tensor_bytes == 96_576_768
    assert info.active_params == info.total_params
    assert info.expert_count is None and info.expert_used_count is None
    assert not info.is_moe
    assert info.quantization == "Q4_1"
    assert info.bits_per_weight == pytest.approx(96_576_768 * 8 / 134_515_008)
    assert (info.context_length, info.block_count, info.embedding_length) == (8192, 30, 576)
    assert (info.head_count, info.head_count_kv) == (9, 3)
    assert (info.key_length, info.value_length) == (None, None)
    assert (info.head_dim_k, info.head_dim_v) == (64, 64)
    assert info.kv_heads_per_layer == (3,) * 30
    assert info.recurrent_state_bytes == 0
    assert info.summary() == "llama · 135M params · Q4_1 · 98.4 MB · ctx 8192"


@pytest.mark.parametrize("arch", ["qwen3moe", "qwen35moe"])
def test_tiny_moe_matches_what_was_written(
    tiny_models: dict[str, dict[str, Any]], arch: str
) -> None:
    expected = tiny_models[arch]
    info = read_gguf_info(expected["path"])

    assert info.architecture == arch
    assert info.name == expected["name"]
    assert info.total_params == expected["total_params"]
    assert info.active_params == expected["active_params"]
    # The factory's expert tensors are [hidden, ff, experts]: 2 of 8 experts run per token.
    expert = expected["expert_params"]
    assert expert > 0
    assert info.total_params - info.active_params == expert - expert * 2 // 8
    assert (info.expert_count, info.expert_used_count) == (8, 2)
    assert info.is_moe
    assert info.tensor_bytes == expected["tensor_bytes"]
    assert info.quantization == "F16"
    assert info.context_length == expected["context_length"]
    assert info.block_count == expected["block_count"]
    assert info.embedding_length == expected["embedding_length"]
    assert (info.head_count, info.head_count_kv) == (4, 2)
    assert info.key_length == info.value_length == expected["key_length"] == 32
    kv_layers = [i for i, heads in enumerate(info.kv_heads_per_layer) if heads]
    assert kv_layers == expected["attention_layers"]
    assert info.full_attention_interval == expected["full_attention_interval"]
    assert info.summary() == f"{arch} · 3.6M total / 3.3M active · F16 · 9.0 MB · ctx 4096"


def test_hybrid_layers_and_recurrent_state(tiny_models: dict[str, dict[str, Any]]) -> None:
    info = read_gguf_info(tiny_models["qwen35moe"]["path"])
    ssm = tiny_models["qwen35moe"]["ssm"]

    # 2 blocks, full attention every 2nd: block 0 is Gated DeltaNet, block 1 attention.
    assert info.kv_heads_per_layer == (0, 2)
    conv = (ssm["conv_kernel"] - 1) * (
        ssm["inner_size"] + 2 * ssm["group_count"] * ssm["state_size"]
    )
    state = ssm["state_size"] * ssm["inner_size"]
    assert info.recurrent_state_bytes == (conv + state) * 4 == 5632


def test_quantization_label_without_file_type(smollm2_gguf: Path, tmp_path: Path) -> None:
    expected = write_tiny_moe(
        tmp_path / "f32.gguf", smollm2_gguf, arch="qwen3moe", dtype="f32", write_file_type=False
    )
    info = read_gguf_info(expected["path"])
    assert info.quantization == expected["quantization"] == "F32"
    assert info.bits_per_weight == pytest.approx(32.0)


def test_quantization_label_when_file_type_is_a_guess(tmp_path: Path) -> None:
    expected = write_sparse_moe(
        tmp_path / "guessed.gguf", n_blocks=4, n_experts=16, file_type=LlamaFileType.GUESSED
    )
    info = read_gguf_info(expected["path"])
    assert info.quantization == expected["quantization"] == GGMLQuantizationType.Q4_K.name


def test_full_size_moe_header_is_read_without_touching_tensor_data(
    sparse_model: dict[str, Any],
) -> None:
    path: Path = sparse_model["path"]
    assert path.stat().st_size > 19 * 10**9  # apparent size; the data is a hole

    started = time.perf_counter()
    info = read_gguf_info(path)
    elapsed = time.perf_counter() - started

    # Touching ~20 GB of tensor data (even a hole) takes far longer than this.
    assert elapsed < 3.0
    assert info.total_params == sparse_model["total_params"] == 34_660_610_688
    assert info.active_params == sparse_model["active_params"] == 3_454_988_928
    assert (info.expert_count, info.expert_used_count) == (256, 8)
    assert info.quantization == "Q4_K_M"
    assert info.context_length == 262_144
    # 40 layers, full attention in every 4th: 10 layers keep a KV cache.
    assert info.full_attention_interval == 4
    assert [i for i, h in enumerate(info.kv_heads_per_layer) if h] == list(range(3, 40, 4))
    assert info.summary() == (
        "qwen35moe · 34.7B total / 3.5B active · Q4_K_M · 19.6 GB · ctx 262144"
    )
    assert info.bytes_per_token_read() == pytest.approx(
        info.active_params * info.bits_per_weight / 8
    )
    assert info.bytes_per_token_read() == pytest.approx(1.95e9, rel=0.01)


# --------------------------------------------------------------------------- errors


def _assert_one_line(error: pytest.ExceptionInfo[GGUFError], *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GGUFError) as error:
        read_gguf_info(tmp_path / "nope.gguf")
    _assert_one_line(error, "nope.gguf", "no such file")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(GGUFError) as error:
        read_gguf_info(tmp_path)
    _assert_one_line(error, "folder")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    with pytest.raises(GGUFError) as error:
        read_gguf_info(path)
    _assert_one_line(error, "empty.gguf", "empty")


def test_device_instead_of_file() -> None:
    # /dev/zero's size reads as 0: it was called "an empty file"
    with pytest.raises(GGUFError) as error:
        read_gguf_info(Path("/dev/zero"))
    _assert_one_line(error, "/dev/zero", "device or a pipe")


def test_pipe_instead_of_file(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    os.mkfifo(path)
    # A writer holds the pipe open with a GGUF start in it, so that a reader that
    # opens it anyway fails (it cannot seek) instead of blocking the test.
    writer = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        os.write(writer, b"GGUF\x03\0\0\0")
        with pytest.raises(GGUFError) as error:
            read_gguf_info(path)
    finally:
        os.close(writer)
    _assert_one_line(error, "model.gguf", "device or a pipe")


def test_not_a_gguf_file(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b'{"__metadata__": {}}' + b"\0" * 100)
    with pytest.raises(GGUFError) as error:
        read_gguf_info(path)
    _assert_one_line(error, "model.safetensors", "not a GGUF file")


def test_truncated_header(tiny_models: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    path.write_bytes(tiny_models["qwen3moe"]["path"].read_bytes()[:5000])
    with pytest.raises(GGUFError) as error:
        read_gguf_info(path)
    _assert_one_line(error, "cut.gguf", "corrupt or truncated", "fetch the file again")


def test_truncated_tensor_data(tiny_models: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "short.gguf"
    data = tiny_models["qwen35moe"]["path"].read_bytes()
    path.write_bytes(data[: len(data) - 4096])
    with pytest.raises(GGUFError) as error:
        read_gguf_info(path)
    _assert_one_line(error, "short.gguf", "truncated GGUF file (4.1 kB of 9.0 MB missing)")
    _assert_one_line(error, "fetch the file again, and check that it is 9.0 MB")
    assert "fit" not in str(error.value), "no memory setting helps an incomplete file"


def test_half_downloaded_big_model(tmp_path: Path) -> None:
    expected = write_sparse_moe(tmp_path / "partial.gguf")
    full_size = expected["path"].stat().st_size
    os.truncate(expected["path"], full_size // 2)
    with pytest.raises(GGUFError) as error:
        read_gguf_info(expected["path"])
    _assert_one_line(error, "partial.gguf: truncated GGUF file (9.8 GB of 19.6 GB missing)")


def test_unsupported_version(tmp_path: Path) -> None:
    path = tmp_path / "future.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 99, 0, 0))
    with pytest.raises(GGUFError) as error:
        read_gguf_info(path)
    _assert_one_line(error, "future.gguf", "GGUF version 99 is not supported")


def test_garbage_after_the_magic_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "garbage.gguf"
    # Absurd counts: 2**40 metadata keys, then bytes that are not a header.
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 5, 2**40) + bytes(range(256)) * 8)
    started = time.perf_counter()
    with pytest.raises(GGUFError) as error:
        read_gguf_info(path)
    assert time.perf_counter() - started < 2.0
    _assert_one_line(error, "garbage.gguf", "corrupt or truncated")
    # In pelican-tui's words, not numpy's ("index 0 is out of bounds for axis 0").
    assert "a length or count in it is wrong" in str(error.value)


@pytest.mark.parametrize("size", [100, 1000])
def test_a_short_file_is_said_in_plain_words(smollm2_gguf: Path, tmp_path: Path, size: int) -> None:
    """A 100-byte start of a real model said "(When changing to a larger dtype, its
    size must be a divisor of the total size in bytes of the last axis…)"."""
    path = tmp_path / "short.gguf"
    path.write_bytes(smollm2_gguf.read_bytes()[:size])
    with pytest.raises(GGUFError) as error:
        read_gguf_info(path)
    message = str(error.value)
    assert "dtype" not in message and "axis" not in message and "index" not in message
    assert "fetch the file again" in message


def test_huge_array_length_fails_fast(tmp_path: Path) -> None:
    key = b"general.tags"
    field = struct.pack("<Q", len(key)) + key + struct.pack("<IIQ", 9, 8, 2**62)
    path = tmp_path / "array.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + field + b"\0" * 64)
    with pytest.raises(GGUFError) as error:
        read_gguf_info(path)
    _assert_one_line(error, "array.gguf", "corrupt or truncated")


# --------------------------------------------------------------------------- memory


def test_kv_cache_matches_llama_server_dense(smollm2_gguf: Path) -> None:
    estimate = estimate_memory(read_gguf_info(smollm2_gguf), context=8192)
    # llama-server -c 8192: "llama_kv_cache: size = 180.00 MiB (8192 cells, 30 layers)".
    assert estimate.kv_cache_bytes == 180 * MIB
    assert estimate.weights_bytes == 96_576_768
    assert estimate.overhead_bytes == COMPUTE_BUFFER_BYTES
    assert estimate.total_bytes == 96_576_768 + 180 * MIB + COMPUTE_BUFFER_BYTES


def test_kv_cache_matches_llama_server_moe(tiny_models: dict[str, dict[str, Any]]) -> None:
    qwen3 = read_gguf_info(tiny_models["qwen3moe"]["path"])
    qwen35 = read_gguf_info(tiny_models["qwen35moe"]["path"])
    # llama-server -c 2048 on qwen3moe: "size = 1.00 MiB (2048 cells, 2 layers)";
    # -c 512 on qwen35moe: "size = 0.12 MiB (512 cells, 1 layers)" = 2*512*2*32*2 bytes.
    assert estimate_memory(qwen3, 2048).kv_cache_bytes == 1 * MIB
    assert estimate_memory(qwen35, 512).kv_cache_bytes == 131_072
    # A q8_0-sized cache (1 byte per element, roughly) halves it.
    assert estimate_memory(qwen3, 2048, kv_bytes_per_elem=1).kv_cache_bytes == MIB // 2
    # The recurrent state is per sequence: 4 slots -> 4 states (llama-server: 0.02 MiB).
    one = estimate_memory(qwen35, 512)
    four = estimate_memory(qwen35, 512, parallel=4)
    assert four.overhead_bytes - one.overhead_bytes == 3 * 5632


def test_hybrid_kv_cache_only_counts_full_attention_layers(sparse_model: dict[str, Any]) -> None:
    info = read_gguf_info(sparse_model["path"])
    estimate = estimate_memory(info, context=262_144)
    # 10 layers x 262144 tokens x (K+V) x 2 heads x 256 x 2 bytes = 5 GiB, not the
    # 20 GiB that all 40 layers would need.
    assert estimate.kv_cache_bytes == 10 * 262_144 * 2 * 2 * 256 * 2 == 5 * GIB
    # 30 Gated DeltaNet layers: (3 * (4096 + 2*16*128) + 128*4096) * 4 bytes each.
    assert info.recurrent_state_bytes == 30 * (3 * (4096 + 4096) + 128 * 4096) * 4
    assert estimate.total_bytes == (
        info.tensor_bytes + 5 * GIB + COMPUTE_BUFFER_BYTES + info.recurrent_state_bytes
    )


def test_estimate_rejects_nonsense(tiny_models: dict[str, dict[str, Any]]) -> None:
    info = read_gguf_info(tiny_models["qwen3moe"]["path"])
    with pytest.raises(ValueError, match="context"):
        estimate_memory(info, 0)
    with pytest.raises(ValueError, match="parallel"):
        estimate_memory(info, 512, parallel=0)


def _estimate(total_gib: float) -> MemoryEstimate:
    total = int(total_gib * GIB)
    return MemoryEstimate(
        weights_bytes=total - 3 * GIB,
        kv_cache_bytes=2 * GIB,
        overhead_bytes=GIB,
        total_bytes=total,
    )


def test_fit_levels() -> None:
    ok = check_fit(_estimate(16), 24 * GIB)
    assert (ok.ok, ok.level) == (True, "ok")
    assert ok.message == (
        "Fits: needs 16.0 GiB (weights 13.0 + KV cache 2.0 + overhead 1.0) of 24.0 GiB available."
    )

    tight = check_fit(_estimate(22), 24 * GIB)
    assert (tight.ok, tight.level) == (True, "tight")
    assert tight.message.startswith("Tight: needs 22.0 GiB")
    assert "24.0 GiB available" in tight.message

    too_big = check_fit(_estimate(30.5), 24 * GIB)
    assert (too_big.ok, too_big.level) == (False, "too_big")
    assert too_big.message.startswith("Too big: needs 30.5 GiB (weights 27.5 + KV cache 2.0")
    assert "only 24.0 GiB available" in too_big.message


def test_fit_boundaries() -> None:
    exactly = MemoryEstimate(GIB, 0, 0, GIB)
    assert check_fit(exactly, GIB).level == "tight"
    assert check_fit(exactly, GIB - 1).level == "too_big"
    assert check_fit(exactly, 2 * GIB).level == "ok"


def test_qwen36_sized_model_on_a_24_gib_machine(sparse_model: dict[str, Any]) -> None:
    info: GGUFInfo = read_gguf_info(sparse_model["path"])
    full = check_fit(estimate_memory(info, 262_144), 24 * GIB)
    short = check_fit(estimate_memory(info, 32_768), 24 * GIB)
    small_machine = check_fit(estimate_memory(info, 32_768), 16 * GIB)
    assert full.level == "tight"
    assert short.level == "ok"
    assert small_machine.level == "too_big"


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (34_660_610_688, "34.7B"),
        (3_000_000_000, "3.0B"),
        (134_515_008, "135M"),
        (3_589_568, "3.6M"),
        (800, "800"),
        (12_345, "12.3K"),
    ],
)
def test_format_params(count: int, text: str) -> None:
    assert format_params(count) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [(20_400_000_000, "20.4 GB"), (98_362_432, "98.4 MB"), (2048, "2.0 kB"), (12, "12 B")],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text
