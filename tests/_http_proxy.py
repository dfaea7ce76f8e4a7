"""A forwarding HTTP proxy on 127.0.0.1, in a process of its own, that sends every
request to one server, whatever host the request names.

A client told to use it (``HTTP_PROXY``) reaches a server it names by another
machine's address (``http://192.0.2.7:8080``, TEST-NET-1) as through a proxy in
front of a GPU box: the server really is reached, and its address is not this
machine's. Each request gets a connection of its own (``Connection: close`` both
ways), so the requests of a kept-alive client are each forwarded.

Run::

    .venv/bin/python tests/_http_proxy.py 127.0.0.1:8080   # prints the port it listens on

or, in a test, ``with forwarding_proxy("127.0.0.1:8080") as proxy_url: ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

HOP_BY_HOP = ("connection:", "proxy-connection:", "keep-alive:", "proxy-authorization:")


def _head(raw: bytes, first: str | None = None) -> bytes:
    """An HTTP head with its hop-by-hop headers replaced by ``Connection: close``;
    ``first``: a new request line."""
    lines = raw.decode("latin-1").split("\r\n")
    kept = [line for line in lines[1:] if line and not line.lower().startswith(HOP_BY_HOP)]
    return "\r\n".join([first or lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


async def _forward(
    upstream: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        parts = urlsplit(target)  # absolute-form: http://host:port/path?query
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        up_reader, up_writer = await asyncio.open_connection(*upstream)
    except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        writer.close()
        return
    up_writer.write(_head(head, f"{method} {path} {version}"))
    sending = asyncio.create_task(_pipe(reader, up_writer))  # the request's body
    try:
        answer = await up_reader.readuntil(b"\r\n\r\n")
        writer.write(_head(answer))
        await _pipe(up_reader, writer)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        sending.cancel()
        up_writer.close()
        writer.close()


async def main(upstream: str) -> None:
    host, port = upstream.rsplit(":", 1)
    server = await asyncio.start_server(
        lambda r, w: _forward((host, int(port)), r, w), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def forwarding_proxy(upstream: str) -> Iterator[str]:
    """This proxy in a process of its own, sending every request to ``upstream``
    (``HOST:PORT``): its ``http://127.0.0.1:PORT``, for ``HTTP_PROXY``."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__)), upstream], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}"
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(sys.argv[1]))
