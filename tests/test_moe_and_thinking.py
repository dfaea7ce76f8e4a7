"""Real llama-server on tiny random-weight MoE models written by the tests.

Proves that the GGUF header reader agrees with the server about a MoE, and that
the thinking toggle changes the prompt the server builds exactly as the Qwen
template says: ``<think>\\n`` when on, ``<think>\\n\\n</think>\\n\\n`` when off.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _gguf_factory import write_tiny_moe
from _server_support import server_binary, tiny_model

from pelican_tui.backends.events import Finished, TextDelta, ThinkingDelta
from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.gguf_info import read_gguf_info
from pelican_tui.backends.llama.process import LlamaServer
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.openai_compat.payload import build_payload
from pelican_tui.backends.protocol import GenerationRequest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["qwen3moe", "qwen35moe"])
def moe_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("moe")
    return write_tiny_moe(folder / f"{request.param}.gguf", tiny_model(), arch=request.param)


@pytest.fixture
async def moe_server(moe_file: dict[str, Any]) -> AsyncIterator[LlamaServer]:
    server = LlamaServer(
        ServerConfig(binary=server_binary(), model=Path(moe_file["path"]), context=1024)
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _auth(server: LlamaServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"}


async def test_header_reader_agrees_with_the_server(
    moe_file: dict[str, Any], moe_server: LlamaServer
) -> None:
    info = read_gguf_info(Path(moe_file["path"]))
    assert info.architecture == moe_file["architecture"]
    assert info.expert_count == moe_file["expert_count"] == 8
    assert info.expert_used_count == moe_file["expert_used_count"] == 2
    assert info.active_params == moe_file["active_params"]
    assert info.active_params < info.total_params
    async with httpx.AsyncClient() as client:
        models = await client.get(f"{moe_server.base_url}/v1/models", headers=_auth(moe_server))
    meta = models.json()["data"][0]["meta"]
    assert meta["n_params"] == info.total_params


async def _apply_template(server: LlamaServer, thinking: bool) -> str:
    payload = build_payload(GenerationRequest(prompt="Draw a pelican.", thinking=thinking), None)
    body = {
        "messages": payload["messages"],
        "chat_template_kwargs": payload["chat_template_kwargs"],
    }
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{server.base_url}/apply-template", json=body, headers=_auth(server)
        )
    response.raise_for_status()
    return str(response.json()["prompt"])


async def test_thinking_toggle_changes_the_prompt_exactly(moe_server: LlamaServer) -> None:
    on = await _apply_template(moe_server, thinking=True)
    off = await _apply_template(moe_server, thinking=False)
    assert on.endswith("<think>\n")
    assert off.endswith("<think>\n\n</think>\n\n")
    assert off == on + "\n</think>\n\n", (
        "the two prompts must differ only by the closed think block"
    )


async def test_thinking_streams_as_separate_events(moe_server: LlamaServer) -> None:
    backend = OpenAICompatibleBackend(server=moe_server)
    thinking_on = [e async for e in backend.generate(GenerationRequest(prompt="Hi", max_tokens=16))]
    assert any(isinstance(e, ThinkingDelta) for e in thinking_on)
    assert not any(isinstance(e, TextDelta) for e in thinking_on), (
        "random weights never close </think>, so everything is reasoning"
    )
    thinking_off = [
        e
        async for e in backend.generate(
            GenerationRequest(prompt="Hi", max_tokens=16, thinking=False)
        )
    ]
    assert any(isinstance(e, TextDelta) for e in thinking_off)
    assert not any(isinstance(e, ThinkingDelta) for e in thinking_off)
    for events in (thinking_on, thinking_off):
        assert isinstance(events[-1], Finished)
