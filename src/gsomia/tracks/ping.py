"""TAK keep-alives: a ping (``t-x-c-t``) is answered with a pong (``t-x-c-t-r``), nothing else.

ATAK and WinTAK clients write a ping event on their TAK server connection every few seconds
when it has been quiet (uid ``<device uid>-ping``, ``how`` ``m-g``, a 10 s stale, point 0, 0) and
reconnect when nothing comes back; TAK servers answer each with a pong to that client alone.  taky
0.10 (``taky/cot/client.py``, ``TAKClient.pong``) writes ``uid="takPong"``, ``type="t-x-c-t-r"``,
``how="h-g-i-g-o"``, ``time`` and ``start`` now and ``stale`` 20 s later, with a ``point`` and no
``detail``; :func:`pong_event` writes the same event (with an empty ``detail``, which CoT 2.0
allows).

:func:`read_event` is :func:`~gsomia.tracks.decode_event` that tells a ping apart: an event that
the strict decoder parses within its limits (no DTD, no entity, 64 KiB, depth 12), whose root is
``event`` with version 2.0, a valid ``uid`` and only CoT attributes, and whose ``type`` is
``t-x-c-t``.  A ping is no track message: it is never published and never counted as a refusal.
Pure: the caller passes ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gsomia.errors import CotError
from gsomia.instants import format_instant
from gsomia.markings import Scheme
from gsomia.tracks.cot import decode_event
from gsomia.tracks.model import TrackMessage

__all__ = ["PING_TYPE", "PONG_STALE", "PONG_TYPE", "Ping", "pong_event", "read_event"]

PING_TYPE: Final = "t-x-c-t"
PONG_TYPE: Final = "t-x-c-t-r"
#: How long a pong stays current, as taky writes it.
PONG_STALE: Final = timedelta(seconds=20)


@dataclass(frozen=True, slots=True)
class Ping:
    """A TAK client's keep-alive: answer it with :func:`pong_event`."""


_PING: Final = Ping()


def read_event(data: bytes, schemes: Mapping[str, Scheme]) -> TrackMessage | Ping:
    """The track message ``data`` carries, or :class:`Ping` for a TAK ping; else CotError."""
    try:
        return decode_event(data, schemes)
    except CotError as exc:
        # The type is checked after the parse, the root, the attributes, the version and the uid.
        if exc.code == "COT_TYPE_UNKNOWN" and exc.detail.get("type") == PING_TYPE:
            return _PING
        raise


def pong_event(now: datetime) -> bytes:
    """The pong that answers a ping at ``now`` (module docstring)."""
    time = format_instant(now)
    return (
        f'<event version="2.0" uid="takPong" type="{PONG_TYPE}" how="h-g-i-g-o" time="{time}" '
        f'start="{time}" stale="{format_instant(now + PONG_STALE)}"><point lat="0.0" lon="0.0" '
        'hae="0.0" ce="9999999.0" le="9999999.0"/><detail/></event>'
    ).encode()
