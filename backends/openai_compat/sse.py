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
        # One split per read, not a slice of the buffer per line: a read is
        # usually one whole event ("data: {...}\n\n"), and this runs per token.
        *lines, self._buffer = (self._buffer + raw if self._buffer else raw).split(b"\n")
        events: list[bytes] = []
        for line in lines:
            self._line(line.rstrip(b"\r") if line.endswith(b"\r") else line, events)
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
        data = self._data
        if not line:
            if data:
                events.append(data[0] if len(data) == 1 else b"\n".join(data))
                self._data = []
            return
        if line.startswith(b"data:"):
            value = line[6:] if line.startswith(b"data: ") else line[5:]
        elif line == b"data":
            value = b""
        else:
            return  # a comment (":...") or another field
        if data and _complete(b"\n".join(data)):
            events.append(b"\n".join(data))
            self._data = data = []
        data.append(value)


def _complete(data: bytes) -> bool:
    if data.strip() == b"[DONE]":
        return True
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
