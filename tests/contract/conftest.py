"""Fixtures of the Store contract: every implementation, and small record factories.

``STORES``: the in-memory fake, the SQLite store and the PostgreSQL store (a schema of its own
per test in the session's private server, tests/private_postgres.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsomia.adapters.postgres_store import PostgresStore
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.labels import LabelSet
from gsomia.policy import Consent, ConsentKind, Official
from gsomia.ports import (
    ConsentRecord,
    HeldItem,
    InboxEntry,
    InboxOutcome,
    OfficialRecord,
    OutboxMessage,
    ReceiptDirection,
    ReceiptRecord,
    Role,
    Store,
)
from gsomia.testing import InMemoryStore
from tests.conftest import make_label
from tests.private_postgres import PrivatePostgres

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
STORES = ["memory", "sqlite", "postgres"]


def open_store(kind: str, directory: Path, request: pytest.FixtureRequest) -> Store:
    """A new, empty store of ``kind`` (``directory`` for SQLite; PostgreSQL: a new schema)."""
    if kind == "memory":
        return InMemoryStore()
    if kind == "sqlite":
        return SqliteStore.in_data_dir(directory)
    server: PrivatePostgres = request.getfixturevalue("postgres")
    return PostgresStore(server.dsn, schema=server.new_schema())


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each contract test runs against every store."""
    s = open_store(request.param, tmp_path / "data", request)
    yield s
    s.close()


def item(
    item_id: str = "item-1",
    *,
    originator: str = "KOR",
    sealed: bytes = b"sealed item bytes",
    at: datetime = T0,
    **fields: object,
) -> HeldItem:
    level = "군사II급비밀" if originator == "KOR" else "SECRET"
    labels = LabelSet(make_label(level=level, originator=originator))
    return HeldItem(item_id, labels, "NK-MISSILE", sealed, at, **fields)  # type: ignore[arg-type]


def message(
    key: str = "item-1/JPN",
    *,
    recipient: str = "JPN",
    subject: str = "item-1",
    created: datetime = T0,
    kind: str = "item",
) -> OutboxMessage:
    return OutboxMessage(key, recipient, kind, subject, b"sealed " + key.encode(), created)


def audit(
    subject: str = "item-1", *, kind: AuditKind = AuditKind.RELEASE, n: int = 0
) -> AuditRecord:
    return AuditRecord(
        kind, T0 + timedelta(seconds=n), "kor-ro-1", subject, "allow", detail={"n": n}
    )


def inbound(
    item_id: str = "item-9",
    *,
    payload: bytes = b"sealed from JPN",
    outcome: InboxOutcome = InboxOutcome.ACCEPTED,
    audit_index: int | None = None,
) -> InboxEntry:
    reasons = ("ACCEPT_ALLOWED",) if outcome is InboxOutcome.ACCEPTED else ("NOT_RELEASABLE_TO",)
    digest = hashlib.sha256(payload).digest()
    return InboxEntry(item_id, "JPN", digest, T0, outcome, reasons, audit_index)


def receipt(
    item_id: str = "item-1",
    party: str = "JPN",
    direction: ReceiptDirection = ReceiptDirection.RECEIVED,
    token: bytes = b'{"typ":"gsomia-receipt/1"}',
) -> ReceiptRecord:
    return ReceiptRecord(item_id, party, direction, token, T0)


def official(
    official_id: str = "kor-ro-1",
    *,
    roles: frozenset[Role] = frozenset({Role.RELEASE_OFFICER}),
    active: bool = True,
    clearance: str | None = "군사II급비밀",
) -> OfficialRecord:
    person = Official(
        id=official_id,
        nationality="KOR",
        clearance=clearance,
        duties=frozenset({"NK-MISSILE"}),
        in_register=True,
        rank="Lt Col",
        post="J2",
    )
    return OfficialRecord(person, roles, active)


def consent(consent_id: str = "consent-1", item_id: str = "item-1") -> ConsentRecord:
    c = Consent(
        kind=ConsentKind.FORWARD,
        consent_id=consent_id,
        item_id=item_id,
        item_digest="ab" * 32,
        originator="KOR",
        holder="USA",
        third_party="JPN",
        purpose="missile warning",
        issued=T0,
        expires=T0 + timedelta(days=30),
        conditions=("no further release", "destroy after use"),
    )
    return ConsentRecord(c, b'{"typ":"gsomia-consent/1"}')
