"""TAK protocol version 0 stream framing: bytes in, whole CoT events out, no sockets (PRODUCT.md §5).

On a TAK stream (TCP, protocol version 0) events are plain CoT XML written one after another,
often each behind its own XML declaration, sometimes with newlines between; nothing gives their
length.  Like TAK servers and PyTAK, :class:`CotFramer` frames on the closing tag ``</event>``
(in the manner of h11: :meth:`CotFramer.feed` takes whatever bytes arrived and returns what they
complete).

Theory of operation.  Bytes accumulate in a buffer.  Each ``</event>`` ends a frame; within the
frame the event starts at the *last* ``<event`` followed by white space, ``>`` or ``/``.  A
well-formed event cannot hold another ``<event`` (``<`` is escaped in text and attribute values,
and CoT puts no event inside an event), so whatever precedes that start, apart from white space
and one XML declaration, is garbage: it is reported as ``COT_FRAME_GARBAGE`` and the event is
still delivered.  A frame with no start at all is garbage too.  When the buffer grows past
``max_event_bytes`` without a ``</event>``, ``COT_FRAME_TOO_LARGE`` is reported once and bytes
are dropped until the next ``</event>``, after which framing resumes (resynchronisation).  An
event that ends but is longer than the limit is refused the same way.  Each item of the result is
either the bytes of one event (from ``<event`` to ``</event>``, declaration dropped, undecoded)
or a :class:`~gsomia.errors.CotError`; decoding is :func:`gsomia.tracks.cot.decode_event`'s job.
Buffer space is bounded by ``max_event_bytes`` plus the last chunk fed.
"""

from __future__ import annotations

import re
from typing import Final

from gsomia.errors import CotError
from gsomia.tracks._xml import MAX_EVENT_BYTES, cot_error

__all__ = ["END_TAG", "CotFramer"]

END_TAG: Final = b"</event>"
_START: Final = re.compile(rb"<event[\s>/]")
_DECLARATION: Final = re.compile(rb"\s*(?:<\?xml[^>]{0,200}\?>)?\s*")
_SPACE: Final = b" \t\r\n"


class CotFramer:
    """Split a TAK protocol version 0 byte stream into CoT events (module docstring)."""

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        if max_event_bytes < len(END_TAG):
            raise ValueError("max_event_bytes is too small")
        self.max_event_bytes = max_event_bytes
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already known to hold no END_TAG
        self._discarding = False

    @property
    def buffered(self) -> int:
        """Bytes held, waiting for the rest of an event."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes | CotError]:
        """Add ``data`` and return every event (or refusal) it completes, in stream order."""
        out: list[bytes | CotError] = []
        self._buffer += data
        while True:
            if not self._discarding:
                self._skip_space()
            end = self._buffer.find(END_TAG, self._scanned)
            if end < 0:
                self._scanned = max(0, len(self._buffer) - len(END_TAG) + 1)
                self._overflow(out)
                return out
            end += len(END_TAG)
            frame = bytes(self._buffer[:end])
            del self._buffer[:end]
            self._scanned = 0
            if self._discarding:
                self._discarding = False  # the oversized event ends here: resynchronised
                continue
            self._frame(frame, out)

    def _skip_space(self) -> None:
        keep = len(self._buffer) - len(self._buffer.lstrip(_SPACE))
        if keep:
            del self._buffer[:keep]
            self._scanned = max(0, self._scanned - keep)

    def _overflow(self, out: list[bytes | CotError]) -> None:
        if not self._discarding:
            if len(self._buffer) <= self.max_event_bytes:
                return
            out.append(
                cot_error(
                    "COT_FRAME_TOO_LARGE",
                    f"no </event> within {self.max_event_bytes} bytes; skipping to the next one",
                )
            )
            self._discarding = True
        # Keep only what could be the start of an END_TAG split across chunks.
        del self._buffer[: -(len(END_TAG) - 1)]
        self._scanned = 0

    def _frame(self, frame: bytes, out: list[bytes | CotError]) -> None:
        start = -1
        for match in _START.finditer(frame):
            start = match.start()
        if start < 0:
            out.append(cot_error("COT_FRAME_GARBAGE", "bytes before </event> hold no <event"))
            return
        prefix = frame[:start]
        if prefix and not _DECLARATION.fullmatch(prefix):
            out.append(
                cot_error("COT_FRAME_GARBAGE", "garbage before an event was skipped", size=start)
            )
        event = frame[start:]
        if len(event) > self.max_event_bytes:
            out.append(
                cot_error(
                    "COT_FRAME_TOO_LARGE",
                    f"event exceeds {self.max_event_bytes} bytes",
                    size=len(event),
                )
            )
            return
        out.append(event)
