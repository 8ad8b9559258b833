"""Pagination of every list (issue 4 §3): ``limit`` 1..1000, an opaque ``after`` cursor.

A page is ``{"items": [...], "next": <cursor> | null}``.  Pass ``next`` back as ``after`` for the
following page; ``null`` means the list ended.  A cursor is opaque to clients: unpadded base64url
of ``<list kind>:<key>`` (an item or official id, an outbox sequence number), so a cursor of one
list is refused by another (400 ``CURSOR_INVALID``).

To know whether a page is the last, a route asks the node for one entry more than ``limit``
(:func:`fetch_size`); at the maximum page size it cannot, and a full page of 1000 gets a
``next`` that may lead to an empty page.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Final, TypeVar

from fastapi import Query

from gsomia.api.errors import CursorInvalidError
from gsomia.ports import MAX_PAGE

__all__ = [
    "After",
    "Limit",
    "decode_cursor",
    "encode_cursor",
    "fetch_size",
    "split_page",
]

T = TypeVar("T")
DEFAULT_LIMIT: Final = 100
_MAX_CURSOR: Final = 256

Limit = Annotated[
    int, Query(ge=1, le=MAX_PAGE, description=f"page size, 1 to {MAX_PAGE} (default 100)")
]
After = Annotated[
    str | None,
    Query(max_length=_MAX_CURSOR, description="the `next` cursor of the previous page"),
]


def encode_cursor(kind: str, key: str) -> str:
    """The opaque cursor that resumes the list ``kind`` after ``key``."""
    raw = f"{kind}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The key a cursor of list ``kind`` resumes after; None for the first page."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise CursorInvalidError("the cursor was not given by this API") from None
    prefix, sep, key = text.partition(":")
    if not sep or prefix != kind or not key:
        raise CursorInvalidError(f"the cursor is not one of the {kind} list")
    return key


def fetch_size(limit: int) -> int:
    """How many entries to ask the node for: one more than ``limit`` when allowed."""
    return min(limit + 1, MAX_PAGE)


def split_page(
    found: Sequence[T], limit: int, kind: str, key: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """The entries of this page and the cursor of the next (None after the last page)."""
    page = list(found[:limit])
    more = len(found) > limit or (len(page) == limit == MAX_PAGE)
    return page, encode_cursor(kind, key(page[-1])) if more and page else None
