"""The benchmark's real-shape model: Qwen3.6-35B-A3B's widths, random weights, Q4_K_M types.

``bin/bench --model real-shape`` writes it with 4 layers (2.8 GB); here the same
recipe is written small: the real hidden size, attention and Gated DeltaNet
widths, expert and shared-expert sizes and 8 routed experts, but 16 experts
instead of 256, 2 layers (one DeltaNet, one attention) and a vocabulary padded
only to 50176. Its header must read back as written, and real llama-server must
load it and answer. Sparse files (a header, no data) check that a few layers
extrapolate exactly to the full 40.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from _gguf_factory import (
    QWEN36_35B_A3B,
    extrapolate_layers,
    q4_k_m_types,
    random_k_blocks,
    tensor_layout,
    write_real_shape_moe,
    write_sparse_moe,
)
from _server_support import server_binary, tiny_model
from gguf.constants import GGMLQuantizationType
from gguf.quants import dequantize

from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.gguf_info import read_gguf_info
from pelican_tui.backends.llama.process import LlamaServer

SMALL = {"n_blocks": 2, "full_attention_interval": 2, "n_experts": 16, "vocab": 50_176}


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("real-shape") / "small.gguf"
    return write_real_shape_moe(path, tiny_model(), **SMALL)


def test_the_full_shape_is_35b_total_3b_active() -> None:
    layout = tensor_layout(QWEN36_35B_A3B)
    total = sum(math.prod(dims) for dims, _ in layout.values())
    expert = sum(math.prod(dims) for name, (dims, _) in layout.items() if "_exps" in name)
    active = total - expert + expert * 8 // 256
    assert round(total / 1e9) == 35
    assert 3e9 <= active < 4e9
    assert len(QWEN36_35B_A3B.attention_layers) == 10
    assert len(QWEN36_35B_A3B.recurrent_layers) == 30


def test_q4_k_m_gives_q6_k_to_half_the_sensitive_layers_as_llama_quantize_does() -> None:
    types = q4_k_m_types(QWEN36_35B_A3B)
    q6 = {name for name, kind in types.items() if kind == GGMLQuantizationType.Q6_K}
    assert "output.weight" in q6
    assert types["token_embd.weight"] == GGMLQuantizationType.Q4_K
    assert sum(1 for n in q6 if n.endswith("ffn_down_exps.weight")) == 20
    assert sum(1 for n in q6 if n.endswith("ffn_down_shexp.weight")) == 20
    assert sum(1 for n in q6 if n.endswith(("attn_v.weight", "attn_qkv.weight"))) == 20
    assert types["blk.0.ffn_gate_inp.weight"] == GGMLQuantizationType.F32
    assert types["blk.0.ssm_conv1d.weight"] == GGMLQuantizationType.F32
    assert {types[n] for n in types if n.endswith("_norm.weight")} == {GGMLQuantizationType.F32}


@pytest.mark.parametrize("kind", [GGMLQuantizationType.Q4_K, GGMLQuantizationType.Q6_K])
def test_random_blocks_decode_to_small_centred_weights(kind: GGMLQuantizationType) -> None:
    blocks = random_k_blocks(kind, 256 * 512, np.random.default_rng(1))
    weights = dequantize(blocks, kind)
    assert weights.size == 256 * 512
    assert np.isfinite(weights).all()
    assert abs(float(weights.mean())) < 0.002
    assert 0.017 < float(weights.std()) < 0.023


def test_a_few_layers_extrapolate_exactly_to_forty(tmp_path: Path) -> None:
    four = write_sparse_moe(tmp_path / "four.gguf", n_blocks=4)
    forty = write_sparse_moe(tmp_path / "forty.gguf", n_blocks=40)
    seen = extrapolate_layers(four["path"], 40)
    assert (seen["total_params"], seen["active_params"]) == (
        four["total_params"],
        four["active_params"],
    )
    assert seen["full_total_params"] == forty["total_params"]
    assert seen["full_active_params"] == forty["active_params"]
    assert seen["full_tensor_bytes"] == forty["tensor_bytes"]


def test_header_reads_back_the_recipe(small_model: dict[str, Any]) -> None:
    path = Path(small_model["path"])
    info = read_gguf_info(path)
    assert info.architecture == "qwen35moe"
    assert info.total_params == small_model["total_params"]
    assert info.active_params == small_model["active_params"]
    assert info.active_params < info.total_params
    assert (info.expert_count, info.expert_used_count) == (16, 8)
    assert info.quantization == "Q4_K_M"
    assert info.embedding_length == QWEN36_35B_A3B.hidden == 2048
    assert (info.head_count, info.head_count_kv, info.key_length) == (16, 2, 256)
    assert info.full_attention_interval == 2
    assert info.kv_heads_per_layer == (0, 2)
    # llama.cpp's recurrent state of one DeltaNet layer with the real widths:
    # conv (kernel - 1) x (values + 2 x keys) + state head size x values, in F32.
    values, keys = 32 * 128, 16 * 128
    assert info.recurrent_state_bytes == ((4 - 1) * (values + 2 * keys) + 128 * values) * 4
    assert info.tensor_bytes == small_model["tensor_bytes"]
    assert info.file_size == path.stat().st_size
    assert small_model["tensor_types"].keys() >= {"Q4_K", "Q6_K", "F32"}


@pytest.mark.slow
async def test_llama_server_loads_it_and_answers(small_model: dict[str, Any]) -> None:
    server = LlamaServer(
        ServerConfig(binary=server_binary(), model=Path(small_model["path"]), context=1024)
    )
    await server.start()
    try:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
            models = await client.get("/v1/models")
            answer = await client.post(
                "/v1/chat/completions",
                json={
                    "messages": [{"role": "user", "content": "Draw a pelican."}],
                    "max_tokens": 8,
                    "chat_template_kwargs": {"enable_thinking": False},
                },
                timeout=120,
            )
    finally:
        await server.stop()
    meta = models.json()["data"][0]["meta"]
    assert meta["n_params"] == small_model["total_params"]
    assert meta["n_vocab"] == SMALL["vocab"]
    assert meta["n_embd"] == 2048
    body = answer.json()
    assert answer.status_code == 200, body
    assert body["usage"]["completion_tokens"] >= 1
    assert body["timings"]["predicted_n"] == body["usage"]["completion_tokens"]
