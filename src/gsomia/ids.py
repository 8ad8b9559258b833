"""Identifiers a node makes for the items it releases: time-ordered UUIDs (RFC 9562 §5.7).

Why version 7 and not version 4
-------------------------------
An item id keys the rows a release and an acceptance write on both nodes: the held copy, the
outbox message (``<item id>:<hop>``), the inbox record, the receipts.  Those are B-tree keys.
A random (version 4) id lands each new row on a random leaf page of every such index, so each
insert reads and dirties another page; a time-ordered id lands new rows beside the last ones,
on the same few pages at the right edge.  Measured in process (docs/benchmarks.md, ADR 0020):
the receipts insert 46-52 -> 14-15 us per item, the outbox insert 31-41 -> 28-30 us, the whole
exchange 861-1,065 -> 788-869 us per item, and the gap grows with the tables.

Layout (RFC 9562 §5.7, with §6.2 method 3 for sub-millisecond order)::

    unix_ts_ms (48) | ver = 7 (4) | rand_a (12) | var = 0b10 (2) | rand_b (62)

``unix_ts_ms`` is the release instant's milliseconds since the Unix epoch; ``rand_a`` is the
fraction of that millisecond in 1/4096 (so ids of one node sort by their instant to about a
quarter of a microsecond); ``rand_b`` is 62 bits from the operating system's CSPRNG, so two ids
of one instant still differ with overwhelming probability.  The id tells no more than the item's
signed header already does: its creation time (docs/wire-format.md §1, ``created``).

Pure: the instant and the random bits are arguments (:func:`item_id`); :func:`new_item_id`
draws the bits.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Final

__all__ = ["item_id", "new_item_id"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_RANDOM_SIZE: Final = 8  # 62 of these 64 bits are used


def item_id(at: datetime, random: bytes) -> str:
    """The version-7 UUID of instant ``at`` (aware) with ``random`` (8 bytes) as its random part,
    in the canonical text form (RFC 9562 §4)."""
    if at.tzinfo is None:
        raise ValueError("an item id's instant must be aware")
    if len(random) != _RANDOM_SIZE:
        raise ValueError(f"an item id takes {_RANDOM_SIZE} random bytes")
    delta = at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not 0 <= micros < (1 << 48) * 1000:
        raise ValueError("an item id's instant must lie between 1970 and 10889")
    millis, fraction = divmod(micros, 1000)
    value = (
        millis << 80
        | 0x7 << 76
        | (fraction * 4096 // 1000) << 64
        | 0b10 << 62
        | int.from_bytes(random, "big") & ((1 << 62) - 1)
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_item_id(at: datetime) -> str:
    """A fresh version-7 UUID for an item released at ``at``."""
    return item_id(at, secrets.token_bytes(_RANDOM_SIZE))
