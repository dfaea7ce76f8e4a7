"""The baseline client: httpx streaming ``/v1/chat/completions``, nothing else.

Runs as its own process so its CPU time and memory are measured the same way
as pelican-tui's. Protocol on stdin/stdout, one JSON line each:

- reads ``{"url": ..., "key": ..., "phases": [[payload, ...], ...], "turns": bool}``;
- for each phase prints ``{"ready": i}``, waits for a line ``go``, streams
  the phase's payloads (concurrently, or one after the other when ``turns``,
  as pelican-tui runs two panes on one server) and prints
  ``{"phase": i, "streams": [...]}``.

Per stream it reports what pelican-tui's backend records, measured the same
way: time to first token from the request, total time, chunk count, the
server's final ``timings`` and the answer's UTF-8 size.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx


async def stream_one(
    client: httpx.AsyncClient, url: str, key: str, payload: dict[str, Any]
) -> dict[str, Any]:
    sent = time.monotonic()
    first: float | None = None
    last: float | None = None
    chunks = 0
    text_bytes = 0
    timings: dict[str, Any] = {}
    buffer = b""
    async with client.stream(
        "POST",
        f"{url}/v1/chat/completions",
        json=payload,
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        response.raise_for_status()
        done = False
        async for raw in response.aiter_raw():
            buffer += raw
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if not line.startswith(b"data: "):
                    continue
                data = line[6:].strip()
                if data == b"[DONE]":
                    done = True
                    break
                chunk = json.loads(data)
                if chunk.get("timings"):
                    timings = chunk["timings"]
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    for field in ("reasoning_content", "content"):
                        piece = delta.get(field)
                        if piece:
                            chunks += 1
                            text_bytes += len(piece.encode())
                            now = time.monotonic()
                            first = first or now
                            last = now
            if done:
                break
    ended = time.monotonic()
    return {
        "ttft_s": (first - sent) if first else None,
        "total_s": ended - sent,
        "first_to_last_s": (last - first) if first and last else None,
        "chunks": chunks,
        "text_bytes": text_bytes,
        "generated_tokens": timings.get("predicted_n"),
        "server_tok_s": timings.get("predicted_per_second"),
    }


async def main() -> None:
    config = json.loads(sys.stdin.readline())
    timeout = httpx.Timeout(connect=10.0, read=None, write=30.0, pool=30.0)
    # The servers are on loopback: never through a proxy in the environment, as the app.
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        for index, payloads in enumerate(config["phases"]):
            print(json.dumps({"ready": index}), flush=True)
            if sys.stdin.readline().strip() != "go":
                return
            if config.get("turns"):
                streams = [
                    await stream_one(client, config["url"], config["key"], p) for p in payloads
                ]
            else:
                streams = await asyncio.gather(
                    *(stream_one(client, config["url"], config["key"], p) for p in payloads)
                )
            print(json.dumps({"phase": index, "streams": streams}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
