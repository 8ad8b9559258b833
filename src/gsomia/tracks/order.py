"""Per-track order (PRODUCT.md §5: every update reaches each entitled partner "in order per track").

:class:`TrackCursor` is what a receiver keeps for one track: :meth:`TrackCursor.advance` refuses a
message of another track, originator or weapon (``TRACK_MISMATCH``), a sequence number that does
not increase (``TRACK_SEQ_NOT_MONOTONIC``), a time that goes back (``TRACK_TIME_NOT_MONOTONIC``),
a second launch or anything after the end (``TRACK_ORDER_INVALID``).  Sequence numbers need not
be contiguous: a recipient may be entitled to some messages of a track and not others.
:class:`Track` is a whole history folded through a cursor, starting with its launch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gsomia.errors import TrackError
from gsomia.tracks.model import Kind, TrackMessage, Weapon

__all__ = ["Track", "TrackCursor"]


def _err(code: str, message: str, **detail: Any) -> TrackError:
    return TrackError(message, code=code, detail=detail)


@dataclass(frozen=True, slots=True)
class TrackCursor:
    """What a receiver keeps about one track to hold it in order (PRODUCT.md §5)."""

    track_id: str
    originator: str
    weapon: Weapon
    last_seq: int
    last_time: datetime
    ended: bool = False
    count: int = 1

    @classmethod
    def start(cls, message: TrackMessage) -> TrackCursor:
        """The cursor after the first message seen of a track (a late joiner may miss the launch)."""
        return cls(
            message.track_id,
            message.originator,
            message.weapon,
            message.seq,
            message.time,
            ended=message.kind is Kind.END,
        )

    def advance(self, message: TrackMessage) -> TrackCursor:
        """The cursor after ``message``; raise :class:`TrackError` if it cannot follow."""
        if (
            message.track_id != self.track_id
            or message.originator != self.originator
            or message.weapon != self.weapon
        ):
            raise _err(
                "TRACK_MISMATCH",
                f"message of track {message.track_id} ({message.originator}, {message.weapon}) "
                f"given to track {self.track_id} ({self.originator}, {self.weapon})",
                track=self.track_id,
            )
        if self.ended:
            raise _err("TRACK_ORDER_INVALID", "the track has ended", track=self.track_id)
        if message.kind is Kind.LAUNCH:
            raise _err("TRACK_ORDER_INVALID", "a track has one launch", track=self.track_id)
        if message.seq <= self.last_seq:
            raise _err(
                "TRACK_SEQ_NOT_MONOTONIC",
                f"sequence number {message.seq} does not follow {self.last_seq}",
                track=self.track_id,
                seq=message.seq,
                last_seq=self.last_seq,
            )
        if message.time < self.last_time:
            raise _err(
                "TRACK_TIME_NOT_MONOTONIC",
                "message time is before the track's last message",
                track=self.track_id,
                seq=message.seq,
            )
        return TrackCursor(
            self.track_id,
            self.originator,
            self.weapon,
            message.seq,
            message.time,
            ended=message.kind is Kind.END,
            count=self.count + 1,
        )


@dataclass(frozen=True, slots=True)
class Track:
    """A whole track: its launch first, then messages in order, at most one end (last)."""

    messages: tuple[TrackMessage, ...]
    cursor: TrackCursor = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        messages = tuple(self.messages)
        if not messages:
            raise _err("TRACK_ORDER_INVALID", "a track has at least its launch")
        for message in messages:
            if not isinstance(message, TrackMessage):
                raise _err("TRACK_FIELD_INVALID", "a track holds TrackMessages")
        if messages[0].kind is not Kind.LAUNCH:
            raise _err("TRACK_ORDER_INVALID", "a track starts with its launch")
        cursor = TrackCursor.start(messages[0])
        for message in messages[1:]:
            cursor = cursor.advance(message)
        object.__setattr__(self, "messages", messages)
        object.__setattr__(self, "cursor", cursor)

    @property
    def track_id(self) -> str:
        """The track's id."""
        return self.messages[0].track_id

    @property
    def ended(self) -> bool:
        """Whether the track's last message is its end."""
        return self.cursor.ended

    def latest(self, kind: Kind) -> TrackMessage | None:
        """The most recent message of ``kind``, if any."""
        for message in reversed(self.messages):
            if message.kind is kind:
                return message
        return None
