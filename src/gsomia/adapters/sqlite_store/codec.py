"""Rows to records and back: moved to :mod:`gsomia.adapters.store_codec`, shared with PostgreSQL.

Kept so that ``from gsomia.adapters.sqlite_store import codec`` (in :mod:`.reader`, :mod:`.uow`
and :mod:`.cases`) goes on working unchanged.
"""

from gsomia.adapters.store_codec import (
    _at,
    consent_from,
    consent_params,
    consent_request_from,
    consent_request_params,
    decode,
    inbox_from,
    inbox_params,
    instant,
    item_from,
    item_params,
    labels_text,
    maybe_instant,
    official_from,
    official_params,
    outbox_from,
    receipt_from,
    receipt_params,
    words,
)

__all__ = [
    "_at",
    "consent_from",
    "consent_params",
    "consent_request_from",
    "consent_request_params",
    "decode",
    "inbox_from",
    "inbox_params",
    "instant",
    "item_from",
    "item_params",
    "labels_text",
    "maybe_instant",
    "official_from",
    "official_params",
    "outbox_from",
    "receipt_from",
    "receipt_params",
    "words",
]
