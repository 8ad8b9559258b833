"""Read everything a store holds, as plain values, to compare two stores or two openings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from gsomia.ports import ReceiptDirection, Store, token_hash
from tests.contract.conftest import T0


def dump(
    store: Store,
    *,
    item_ids: Iterable[str] = (),
    tokens: Iterable[str] = (),
    consent_ids: Iterable[str] = (),
    parties: Iterable[str] = ("JPN", "USA"),
) -> dict[str, Any]:
    item_ids, parties = list(item_ids), list(parties)
    with store.read() as r:
        size = r.audit_size()
        return {
            "items": r.items(limit=1000),
            "outbox": r.outbox(limit=1000),
            "due": [
                [e.key for e in r.due(T0 + timedelta(seconds=s), limit=1000)] for s in (0, 5, 60)
            ],
            "inbox": [r.inbox_entry(i) for i in item_ids],
            "receipts": [r.receipts(i) for i in item_ids],
            "receipt": [
                r.receipt(i, p, d) for i in item_ids for p in parties for d in ReceiptDirection
            ],
            "officials": r.officials(limit=1000),
            "tokens": [r.official_by_token(token_hash(t)) for t in tokens],
            "consents": [r.consent(c) for c in consent_ids],
            "consents_for": [r.consents_for(i) for i in item_ids],
            "audit": [r.audit_entry(i) for i in range(size)],
            "root": r.audit_root(),
        }
