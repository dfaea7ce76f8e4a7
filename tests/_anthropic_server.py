"""A real loopback HTTP server speaking Anthropic's Messages API, for tests.

It answers ``POST /v1/messages`` like the real API does: with ``stream: true``
a ``text/event-stream`` of ``message_start``, a thinking block
(``thinking_delta`` + ``signature_delta``; only when the request asked for
thinking), a text block (``text_delta``) holding a fenced SVG pelican,
``message_delta`` with usage, ``message_stop``; without it, one JSON message.

Point the SDK at it with ``base_url`` (``ClaudeSettings.base_url``) or
``ANTHROPIC_BASE_URL``. What it does is scripted by :attr:`scenario`:

``ok``           the whole stream.
``401``/``403``/``404``/``429``/``500``/``529``  that HTTP error, with the API's JSON error body.
``error_event``  a few events, then an SSE ``event: error`` (overloaded) mid-stream.
``cut``          a few events, then the socket is aborted (chunked body left unfinished).
``truncated``    a few events, then a clean end of body without ``message_stop``.
``stall``        a few events, then silence (connection open) until the client hangs up.
``silent``       the request read, then nothing at all (not even a status line) until the
                 client hangs up: the SDK's timeout, and its retries, see no response.
``slow``         the whole stream with :attr:`chunk_delay_s` between events (cancel tests).
``bad_json``     a few events, then one whose data is not JSON.
``html``         200 with an HTML page instead of the stream or the message (a proxy's,
                 a wrong URL).
``html_404``     404 with an HTML page: another web server at the base URL.
``null_delta``   the whole stream, its ``message_delta`` with ``delta: null``.

Every request is recorded (method, path, lower-cased headers, parsed JSON) in
:attr:`requests`; :attr:`client_disconnected` is set when a client closes
the connection before a stream finished.

As a fixture::

    with AnthropicTestServer(scenario="ok") as server:
        settings = ClaudeSettings(base_url=server.base_url, max_retries=0)

Standalone (the TUI, headless and benchmark tests use it through
``ANTHROPIC_BASE_URL``)::

    python tests/_anthropic_server.py --port 0 --scenario slow --delay 0.2

prints ``listening on http://127.0.0.1:PORT`` on stdout and serves until
interrupted or terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

Scenario = Literal[
    "ok",
    "400",
    "401",
    "403",
    "404",
    "429",
    "500",
    "529",
    "error_event",
    "cut",
    "truncated",
    "stall",
    "silent",
    "slow",
    "bad_json",
    "html",
    "html_404",
    "null_delta",
]
SCENARIOS: Final[tuple[str, ...]] = get_args(Scenario)

TEST_KEY: Final = "test-key-not-a-secret"
"""The API key tests give pelican-tui for this server (:meth:`AnthropicTestServer.serve`)."""

PELICAN_SVG: Final = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 160">\n'
    '  <circle cx="60" cy="130" r="22" fill="none" stroke="#333" stroke-width="4"/>\n'
    '  <circle cx="150" cy="130" r="22" fill="none" stroke="#333" stroke-width="4"/>\n'
    '  <path d="M60 130 L100 95 L150 130 M100 95 L95 70" stroke="#c33" stroke-width="4"/>\n'
    '  <ellipse cx="100" cy="60" rx="30" ry="20" fill="#fafafa" stroke="#333"/>\n'
    '  <circle cx="128" cy="35" r="10" fill="#fafafa" stroke="#333"/>\n'
    '  <path d="M136 35 L185 45 L136 42 Z" fill="#f5a623" stroke="#b67800"/>\n'
    "</svg>"
)
DEFAULT_THINKING: Final = (
    "The user wants a pelican riding a bicycle. Two wheels first, then a frame, "
    "a white oval body on the saddle, a small head and a long orange beak."
)
DEFAULT_TEXT: Final = f"Here is a pelican riding a bicycle:\n\n```svg\n{PELICAN_SVG}\n```\n"
SIGNATURE: Final = "EqQBCkgIARABGAIiQK7test-signature-not-real"

_STATUS_TEXT: Final = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    529: "Overloaded",
}
_ERRORS: Final = {
    400: ("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "This API key may not use the specified resource."),
    404: ("not_found_error", "model: not found"),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: dict[str, Any] | None
    """The JSON body, or None if it was missing or not JSON."""


@dataclass
class AnthropicTestServer:
    """A Messages API server on 127.0.0.1 running in its own thread."""

    scenario: Scenario = "ok"
    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port; read the real one from :attr:`port` after :meth:`start`."""
    chunk_delay_s: float = 0.15
    """Pause between events in the ``slow`` scenario."""
    thinking_text: str = DEFAULT_THINKING
    answer_text: str = DEFAULT_TEXT
    answer_for: Callable[[dict[str, Any]], str] | None = None
    """Scripts non-streamed answers: the text for a request's JSON body (a judge test
    looks at the pictures it was sent); None: :attr:`answer_text`."""
    chunk_size: int = 24
    """Characters per delta event."""
    input_tokens: int = 37
    error_message: str | None = None
    """Replaces the message in error bodies and error events (e.g. to echo a secret)."""
    requests: list[RecordedRequest] = field(default_factory=list)
    last_usage: dict[str, int] = field(default_factory=dict)
    """Usage sent in the last ``message_delta``: input, output and thinking tokens."""
    client_disconnected: threading.Event = field(default_factory=threading.Event)
    """Set when a client closed its connection before the stream finished."""
    streams_completed: int = 0
    """Streams sent all the way to ``message_stop``."""

    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _stop: asyncio.Event | None = field(default=None, repr=False)
    _ready: threading.Event = field(default_factory=threading.Event, repr=False)
    _error: BaseException | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve(self, monkeypatch: Any, key: str = TEST_KEY) -> None:
        """Point pelican-tui's Claude at this server for the test (``monkeypatch``):
        ``ANTHROPIC_API_KEY`` (``key``) and ``ANTHROPIC_BASE_URL`` set."""
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", self.base_url)

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> AnthropicTestServer:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="anthropic-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test Anthropic server did not start in 10 s")
        if self._error is not None:
            raise RuntimeError(f"test Anthropic server failed to start: {self._error}")
        return self

    def stop(self) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(10)
        self._thread = None

    def __enter__(self) -> AnthropicTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_requests(self, count: int, timeout_s: float = 5.0) -> bool:
        """Poll (bounded) until ``count`` requests arrived."""
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.requests) >= count

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # surfaced to start()
            self._error = err
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            # Open SSE handlers end when their sockets close.
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

    # -- one connection, one request -------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handle_request(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _handle_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        request_line = (await reader.readline()).decode("latin-1").strip()
        if not request_line:
            return
        method, _, rest = request_line.partition(" ")
        target = rest.rsplit(" ", 1)[0]
        headers: dict[str, str] = {}
        while True:
            line = (await reader.readline()).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or "0")
        raw = await reader.readexactly(length) if length else b""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        path = target.split("?", 1)[0]
        with self._lock:
            self.requests.append(RecordedRequest(method, path, headers, body))
            request_id = f"req_test_{next(self._ids):04d}"

        if path != "/v1/messages":
            await self._send_error(writer, 404, request_id, ("not_found_error", "Not found"))
            return
        if method != "POST":
            await self._send_error(writer, 405, request_id, ("invalid_request_error", "POST only"))
            return
        if not headers.get("x-api-key") and not headers.get("authorization"):
            await self._send_error(
                writer, 401, request_id, ("authentication_error", "x-api-key header is required")
            )
            return
        scenario = self.scenario
        if scenario.isdigit():
            status = int(scenario)
            await self._send_error(writer, status, request_id, _ERRORS[status])
            return
        if scenario == "silent":
            await reader.read(1)  # the client sends nothing more: this is its hang-up
            self.client_disconnected.set()
            return
        if body is None or not isinstance(body.get("messages"), list):
            await self._send_error(
                writer, 400, request_id, ("invalid_request_error", "messages: field required")
            )
            return

        thinking = isinstance(body.get("thinking"), dict) and body["thinking"].get("type") in (
            "adaptive",
            "enabled",
        )
        model = str(body.get("model", "claude-test"))
        if scenario in ("html", "html_404"):
            await self._send_page(writer, request_id, scenario)
            return
        if body.get("stream") is not True:
            await self._send_message(writer, request_id, model, thinking, body)
            return
        await self._stream(reader, writer, request_id, model, thinking, scenario)

    # -- responses -----------------------------------------------------------------

    def _usage(self, thinking: bool) -> dict[str, int]:
        thinking_tokens = _tokens(self.thinking_text) if thinking else 0
        usage = {
            "input_tokens": self.input_tokens,
            "output_tokens": thinking_tokens + _tokens(self.answer_text),
            "thinking_tokens": thinking_tokens,
        }
        self.last_usage = usage
        return usage

    async def _send_page(
        self, writer: asyncio.StreamWriter, request_id: str, scenario: str
    ) -> None:
        page = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
        head = {"content-type": "text/html", "content-length": str(len(page))}
        await self._send_head(writer, 404 if scenario == "html_404" else 200, request_id, head)
        writer.write(page)
        await writer.drain()

    async def _send_head(
        self, writer: asyncio.StreamWriter, status: int, request_id: str, headers: dict[str, str]
    ) -> None:
        lines = [f"HTTP/1.1 {status} {_STATUS_TEXT.get(status, 'Error')}"]
        lines += [
            f"request-id: {request_id}",
            "anthropic-organization-id: org-test",
            "connection: close",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()

    async def _send_json(
        self, writer: asyncio.StreamWriter, status: int, request_id: str, payload: object
    ) -> None:
        data = json.dumps(payload).encode()
        headers = {"content-type": "application/json", "content-length": str(len(data))}
        if status in (429, 529):
            headers["retry-after-ms"] = "10"  # SDK retries, if enabled, are quick
        await self._send_head(writer, status, request_id, headers)
        writer.write(data)
        await writer.drain()

    async def _send_error(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        request_id: str,
        error: tuple[str, str],
    ) -> None:
        payload = {
            "type": "error",
            "error": {"type": error[0], "message": self.error_message or error[1]},
            "request_id": request_id,
        }
        await self._send_json(writer, status, request_id, payload)

    async def _send_message(
        self,
        writer: asyncio.StreamWriter,
        request_id: str,
        model: str,
        thinking: bool,
        body: dict[str, Any],
    ) -> None:
        usage = self._usage(thinking)
        text = self.answer_text if self.answer_for is None else self.answer_for(body)
        if self.answer_for is not None:
            usage["output_tokens"] = usage["thinking_tokens"] + _tokens(text)
        content: list[dict[str, Any]] = []
        if thinking:
            content.append(
                {"type": "thinking", "thinking": self.thinking_text, "signature": SIGNATURE}
            )
        content.append({"type": "text", "text": text})
        message = {
            "id": f"msg_{request_id}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": usage["input_tokens"],
                "output_tokens": usage["output_tokens"],
                "output_tokens_details": {"thinking_tokens": usage["thinking_tokens"]},
            },
        }
        await self._send_json(writer, 200, request_id, message)

    def _events(self, request_id: str, model: str, thinking: bool) -> list[tuple[str, object]]:
        usage = self._usage(thinking)
        events: list[tuple[str, object]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": f"msg_{request_id}",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1},
                    },
                },
            ),
            ("ping", {"type": "ping"}),
        ]
        index = 0
        if thinking:
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                    },
                )
            )
            for piece in _chunks(self.thinking_text, self.chunk_size):
                delta = {"type": "thinking_delta", "thinking": piece}
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
            signature = {"type": "signature_delta", "signature": SIGNATURE}
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": signature},
                )
            )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        for piece in _chunks(self.answer_text, self.chunk_size):
            delta = {"type": "text_delta", "text": piece}
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {
                        "output_tokens": usage["output_tokens"],
                        "output_tokens_details": {"thinking_tokens": usage["thinking_tokens"]},
                    },
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    async def _stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request_id: str,
        model: str,
        thinking: bool,
        scenario: str,
    ) -> None:
        events: list[tuple[str, Any]] = self._events(request_id, model, thinking)
        if scenario in ("error_event", "cut", "truncated", "stall", "bad_json"):
            events = events[:6]
        if scenario == "error_event":
            error = {
                "type": "error",
                "error": {
                    "type": "overloaded_error",
                    "message": self.error_message or "Overloaded",
                },
            }
            events.append(("error", error))
        headers = {
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            "transfer-encoding": "chunked",
        }
        await self._send_head(writer, 200, request_id, headers)
        # The client sends nothing after its request: EOF here means it hung up.
        hung_up = asyncio.ensure_future(reader.read(1))
        delay = self.chunk_delay_s if scenario == "slow" else 0.0
        try:
            for name, data in events:
                if hung_up.done():
                    self.client_disconnected.set()
                    return
                if scenario == "null_delta" and name == "message_delta":
                    data = {**data, "delta": None}
                frame = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                if scenario == "bad_json" and name == "content_block_delta":
                    frame = f"event: {name}\ndata: {{'type': oops}}\n\n".encode()
                writer.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
                try:
                    await writer.drain()
                except ConnectionError:
                    self.client_disconnected.set()
                    return
                if delay:
                    await asyncio.wait({hung_up}, timeout=delay)
            if scenario == "cut":
                writer.transport.abort()  # no final chunk: the body is incomplete
                return
            if scenario == "stall":
                await hung_up  # silent, connection open, until the client gives up
                self.client_disconnected.set()
                return
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            if scenario not in ("truncated", "error_event"):
                self.streams_completed += 1
        finally:
            hung_up.cancel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--scenario", choices=SCENARIOS, default="ok")
    parser.add_argument("--delay", type=float, default=0.15, help="seconds between events (slow)")
    args = parser.parse_args(argv)

    server = AnthropicTestServer(
        scenario=args.scenario, host=args.host, port=args.port, chunk_delay_s=args.delay
    )
    done = threading.Event()

    def _quit(*_: object) -> None:
        done.set()

    # Before it says where it listens: a caller that stops it at once (on a loaded
    # machine, before the main thread ran again) ended it by the signal, not exit 0.
    signal.signal(signal.SIGTERM, _quit)
    signal.signal(signal.SIGINT, _quit)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _quit)
    server.start()
    print(f"listening on {server.base_url}", flush=True)
    while not done.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
