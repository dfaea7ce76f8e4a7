"""Server-sent events (``text/event-stream``) decoded to their ``data`` payloads."""

from __future__ import annotations

import json


class SSEDecoder:
    """Server-sent events to their ``data`` payloads (bytes), incrementally.

    ``data:`` with or without the space, CRLF or LF, comments and other fields
    ignored; an event ends at a blank line. A server that forgets the blank
    line between two complete JSON events still works.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, raw: bytes) -> list[bytes]:
        self._buffer += raw
        events: list[bytes] = []
        while (index := self._buffer.find(b"\n")) >= 0:
            line = self._buffer[:index].rstrip(b"\r")
            self._buffer = self._buffer[index + 1 :]
            self._line(line, events)
        return events

    def close(self) -> list[bytes]:
        """The events still pending when the body ended."""
        events: list[bytes] = []
        if self._buffer:
            self._line(self._buffer.rstrip(b"\r"), events)
            self._buffer = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[bytes]) -> None:
        if not line:
            if self._data:
                events.append(b"\n".join(self._data))
                self._data = []
            return
        if line.startswith(b":"):
            return
        name, _, value = line.partition(b":")
        if name != b"data":
            return
        value = value[1:] if value.startswith(b" ") else value
        if self._data and _complete(b"\n".join(self._data)):
            events.append(b"\n".join(self._data))
            self._data = []
        self._data.append(value)


def _complete(data: bytes) -> bool:
    if data.strip() == b"[DONE]":
        return True
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
