"""Server-Sent Events framing (WHATWG HTML §9.2): one event, a comment, the response headers.

The dashboard pushes track messages and audit progress as ``text/event-stream``: each event is
an ``event:`` line, one ``data:`` line of JSON (JSON has no raw newline, so one line suffices),
an optional ``id:``, then a blank line.  A comment line (``: ping``) every
:data:`HEARTBEAT_S` keeps proxies and the browser from timing the stream out and lets the server
notice a client that went away.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["HEADERS", "HEARTBEAT_S", "MEDIA_TYPE", "comment", "event"]

MEDIA_TYPE: Final = "text/event-stream"
HEARTBEAT_S: Final = 10.0
HEADERS: Final = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def event(name: str, data: Any, event_id: str | None = None) -> bytes:
    """One event named ``name`` carrying ``data`` as JSON."""
    if "\n" in name or "\r" in name:
        raise ValueError("an event name is one line")
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {body}\n\n".encode()


def comment(text: str = "ping") -> bytes:
    """A comment line: ignored by the browser, keeps the connection alive."""
    return f": {text.splitlines()[0] if text else ''}\n\n".encode()
