"""Tokens/s of the tiny model through pelican-tui's local backend vs a bare HTTP client.

Both stream the same request from ONE llama-server, interleaved A/B over
``--runs`` rounds (the machine is shared and noisy: only the ratio in the same
run means anything). The rate is client-side: generated tokens over the time
from the first token to the last, so any per-token cost in the backend shows.

    python bench/backend_throughput.py --runs 5 --max-tokens 256
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

from pelican_tui.backends.events import Finished, TextDelta, ThinkingDelta
from pelican_tui.backends.llama.binary import find_server_binary
from pelican_tui.backends.llama.config import ServerConfig
from pelican_tui.backends.llama.default_model import default_model_path
from pelican_tui.backends.llama.process import LlamaServer
from pelican_tui.backends.openai_compat.backend import OpenAICompatibleBackend
from pelican_tui.backends.openai_compat.payload import build_payload
from pelican_tui.backends.protocol import GenerationRequest

PROMPT = "Generate an SVG of a pelican riding a bicycle"


def _request(max_tokens: int) -> GenerationRequest:
    # ignore_eos keeps every answer exactly max_tokens long, so both sides do equal work.
    return GenerationRequest(
        prompt=PROMPT,
        thinking=False,
        max_tokens=max_tokens,
        extra={"seed": 1, "ignore_eos": True},
    )


async def bare_client(server: LlamaServer, max_tokens: int) -> tuple[int, float]:
    payload = build_payload(_request(max_tokens), None)
    headers = {"Authorization": f"Bearer {server.api_key}"}
    tokens = 0
    first = last = 0.0
    async with (
        httpx.AsyncClient(timeout=None, trust_env=False) as client,  # loopback: no proxy
        client.stream(
            "POST", f"{server.base_url}/v1/chat/completions", json=payload, headers=headers
        ) as response,
    ):
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if delta.get("content") or delta.get("reasoning_content"):
                    tokens += 1
                    last = time.perf_counter()
                    first = first or last
    return tokens, (tokens - 1) / (last - first)


async def through_backend(backend: OpenAICompatibleBackend, max_tokens: int) -> tuple[int, float]:
    tokens = 0
    first = last = 0.0
    async for event in backend.generate(_request(max_tokens)):
        if isinstance(event, TextDelta | ThinkingDelta):
            tokens += 1
            last = time.perf_counter()
            first = first or last
        elif isinstance(event, Finished):
            pass
    return tokens, (tokens - 1) / (last - first)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    binary = find_server_binary()
    assert binary is not None, "no llama-server: run `pelican-tui setup`"
    server = LlamaServer(ServerConfig(binary=binary.path, model=default_model_path(), context=2048))
    await server.start()
    backend = OpenAICompatibleBackend(server=server)
    bare: list[float] = []
    ours: list[float] = []
    try:
        await bare_client(server, 32)  # warm-up
        for run in range(args.runs):
            order = (
                (bare_client, through_backend) if run % 2 == 0 else (through_backend, bare_client)
            )
            for fn in order:
                if fn is bare_client:
                    _, rate = await bare_client(server, args.max_tokens)
                    bare.append(rate)
                else:
                    _, rate = await through_backend(backend, args.max_tokens)
                    ours.append(rate)
    finally:
        await server.stop()
    ratios = [o / b for o, b in zip(ours, bare, strict=True)]
    print(
        json.dumps(
            {
                "runs": args.runs,
                "max_tokens": args.max_tokens,
                "bare_tok_s_median": round(statistics.median(bare), 2),
                "backend_tok_s_median": round(statistics.median(ours), 2),
                "ratio_median": round(statistics.median(ratios), 4),
                "ratio_min": round(min(ratios), 4),
                "ratio_max": round(max(ratios), 4),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
