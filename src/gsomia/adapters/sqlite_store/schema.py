"""The node store's schema, as forward migrations, and the code that applies them.

``MIGRATIONS[n - 1]`` takes a database from version ``n - 1`` to ``n``; each is a tuple of SQL
statements applied, with its row in ``schema_version``, in one ``BEGIN IMMEDIATE`` transaction,
so two processes opening a new file cannot both migrate it and a failed migration leaves the
previous version intact.  A migration is never edited once released: a change is a new one.

Version 1 (tables are ``STRICT``, SQLite 3.37 or later, except the audit tables, which are exactly
those of :mod:`gsomia.adapters.sqlite_audit` so that ``SqliteAuditLog(path).verify()`` reads
them)::

    items            item_id PK · originator · labels (JSON of the LabelSet, json_codec) · topic ·
                     sealed BLOB (NULL once returned/destroyed) · received · agreement ·
                     table_version · received_from · derived_from → items · state · state_changed
    outbox           seq PK AUTOINCREMENT · key UNIQUE · recipient · kind · subject · payload ·
                     created · state · attempts · next_attempt · last_attempt · last_error ·
                     settled;  index (next_attempt, seq) WHERE state = 'pending'
    inbox            item_id PK · sender · digest (32 bytes) · received · outcome · reasons (JSON)
                     · audit_index
    receipts         (item_id, party, direction) PK · token · at
    officials        official_id PK · nationality · clearance · duties (JSON) · in_register ·
                     rank · post · roles (JSON) · active
    api_tokens       token_hash PK (SHA-256, 32 bytes) · official_id → officials · created · revoked
    consents         consent_id PK · kind · item_id · item_digest · originator · holder ·
                     third_party · purpose · issued · expires · conditions (JSON) · revoked_at ·
                     token · revocation
    audit_entries    idx PK · entry (RFC 8785 audit record) · leaf_hash (RFC 9162 §2.1.1)
    audit_checkpoints size PK · root (one per unit of work that appended)

Instants are text, ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, fixed width so that text order is time
order.  Triggers keep the record of custody: no row of ``items``, ``inbox``, ``receipts``,
``outbox``, ``officials``, ``api_tokens``, ``consents`` is ever deleted (PRODUCT.md §8: an
accepted item is never lost; Art. 6 registers), a returned or destroyed item is final (Art. 13),
inbox and receipt rows never change, and the audit tables are append-only.

Migration ``_LIST_INDEXES`` (version 4): ``items (state, item_id)`` and ``outbox (state, seq)``,
for the API's lists filtered by state on stores of millions of rows.

Migration ``_SENT_DIGEST`` (version 5): ``outbox.digest``, the SHA-256 (32 bytes) of the body a
receipt of the message quotes (an item's sealed bytes), or NULL (no receipt settles it, or it was
enqueued before version 5).

Migration ``_RECEIPTS_IN_ROWS`` (version 6): ``receipts`` as a rowid table (same columns, same
primary key, same guards), so that a receipt's token of about 1 KiB stays in its B-tree leaf
instead of an overflow page of its own (ADR 0022).

Migration ``_OUTBOX_PAYLOADS`` (version 7)::

    outbox_payloads  seq PK → outbox · payload (written once; never changed nor deleted)

and ``outbox`` loses its ``payload`` column, so that the row a claim, a retry or a settlement
rewrites is about 150 bytes instead of a 4 KiB page (ADR 0022).

Migration ``_CONSENT_REQUESTS`` (Art. 6, :mod:`gsomia.node.consent`)::

    consent_requests request_id PK · direction (sent | received) · item_id · originator · holder ·
                     third_party · purpose · requested · requested_by · expires · state (pending |
                     approved | refused) · decided · decided_by · decision (signed token)

Never deleted; a decided request is final.

Migration ``_CASES`` (Arts. 6, 8, 13, 17, 21; :mod:`.cases`, :mod:`gsomia.ports.cases`)::

    breaches          breach_id PK · item_id · originator · reporter · reported_by · kind · description
                      · reported · updated · status · version · investigation · results · measures
                      · token
    disposals         disposal_id PK · item_id · originator · holder · action · reason · requested ·
                      state · completed · request (signed) · certificate (signed)
    visits            visit_id PK · requester · host · visitor_name · visitor_nationality ·
                      visitor_clearance · visitor_post · purpose · starts · ends · requested ·
                      request (signed) · state · level · decided · note · decision (signed)
    reclassifications (item_id, seq) PK · originator · previous · level · at · token
    agreement_events  seq PK AUTOINCREMENT · agreement_id · kind · at · by_party · note · source ·
                      condition · disputed_by · effective · table_version · recorded · recorded_by

Never deleted; a closed breach, a completed disposal and a decided visit are final;
reclassifications and agreement events never change.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from gsomia.errors import StoreError

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "migrate"]

APPLICATION_ID: Final = 0x47534D41  # "GSMA" in the SQLite header: this file is a gsomia node store


def _guard(table: str, action: str, message: str, when: str = "") -> str:
    return (
        f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} {when}"
        f" BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )


_V1: Final = (
    """CREATE TABLE items (
        item_id TEXT PRIMARY KEY,
        originator TEXT NOT NULL,
        labels TEXT NOT NULL,
        topic TEXT NOT NULL,
        sealed BLOB,
        received TEXT NOT NULL,
        agreement TEXT,
        table_version INTEGER,
        received_from TEXT,
        derived_from TEXT REFERENCES items (item_id),
        state TEXT NOT NULL CHECK (state IN ('held', 'returned', 'destroyed')),
        state_changed TEXT,
        CHECK ((state = 'held') = (sealed IS NOT NULL))
    ) STRICT""",
    """CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        payload BLOB NOT NULL,
        created TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'acknowledged', 'cancelled')),
        attempts INTEGER NOT NULL CHECK (attempts >= 0),
        next_attempt TEXT NOT NULL,
        last_attempt TEXT,
        last_error TEXT,
        settled TEXT
    ) STRICT""",
    "CREATE INDEX outbox_due ON outbox (next_attempt, seq) WHERE state = 'pending'",
    "CREATE INDEX outbox_subject ON outbox (subject, seq)",
    """CREATE TABLE inbox (
        item_id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        digest BLOB NOT NULL CHECK (length(digest) = 32),
        received TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
        reasons TEXT NOT NULL,
        audit_index INTEGER
    ) STRICT""",
    """CREATE TABLE receipts (
        item_id TEXT NOT NULL,
        party TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('received', 'issued')),
        token BLOB NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (item_id, party, direction)
    ) STRICT, WITHOUT ROWID""",
    """CREATE TABLE officials (
        official_id TEXT PRIMARY KEY,
        nationality TEXT NOT NULL,
        clearance TEXT,
        duties TEXT NOT NULL,
        in_register INTEGER NOT NULL CHECK (in_register IN (0, 1)),
        rank TEXT NOT NULL,
        post TEXT NOT NULL,
        roles TEXT NOT NULL,
        active INTEGER NOT NULL CHECK (active IN (0, 1))
    ) STRICT""",
    """CREATE TABLE api_tokens (
        token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
        official_id TEXT NOT NULL REFERENCES officials (official_id),
        created TEXT NOT NULL,
        revoked TEXT
    ) STRICT, WITHOUT ROWID""",
    "CREATE INDEX api_tokens_official ON api_tokens (official_id)",
    """CREATE TABLE consents (
        consent_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('forward_consent', 'hub_approval')),
        item_id TEXT NOT NULL,
        item_digest TEXT NOT NULL,
        originator TEXT NOT NULL,
        holder TEXT NOT NULL,
        third_party TEXT NOT NULL,
        purpose TEXT NOT NULL,
        issued TEXT NOT NULL,
        expires TEXT NOT NULL,
        conditions TEXT NOT NULL,
        revoked_at TEXT,
        token BLOB NOT NULL,
        revocation BLOB
    ) STRICT""",
    "CREATE INDEX consents_item ON consents (item_id, consent_id)",
    # The audit log: the tables of gsomia.adapters.sqlite_audit, verbatim in shape and names.
    """CREATE TABLE audit_entries (
        idx INTEGER PRIMARY KEY,
        entry BLOB NOT NULL,
        leaf_hash BLOB NOT NULL
    )""",
    """CREATE TABLE audit_checkpoints (
        size INTEGER PRIMARY KEY,
        root BLOB NOT NULL
    )""",
    *(
        _guard(table, action, "the audit log is append-only")
        for table in ("audit_entries", "audit_checkpoints")
        for action in ("UPDATE", "DELETE")
    ),
    *(
        _guard(table, "DELETE", "the record of custody is never deleted")
        for table in ("items", "outbox", "inbox", "receipts", "officials", "api_tokens", "consents")
    ),
    *(_guard(table, "UPDATE", f"{table} rows never change") for table in ("inbox", "receipts")),
    _guard("items", "UPDATE", "a returned or destroyed item is final", "WHEN OLD.state != 'held'"),
)

# -- consent requests (Art. 6; node/consent.py) ------------------------------------------------
_CONSENT_REQUESTS: Final = (
    """CREATE TABLE consent_requests (
        request_id TEXT PRIMARY KEY,
        direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
        item_id TEXT NOT NULL,
        originator TEXT NOT NULL,
        holder TEXT NOT NULL,
        third_party TEXT NOT NULL,
        purpose TEXT NOT NULL,
        requested TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        expires TEXT,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'refused')),
        decided TEXT,
        decided_by TEXT,
        decision BLOB,
        CHECK ((state = 'pending') = (decided IS NULL)),
        CHECK ((state = 'pending') = (decision IS NULL))
    ) STRICT""",
    "CREATE INDEX consent_requests_state ON consent_requests (state, request_id)",
    _guard("consent_requests", "DELETE", "the record of custody is never deleted"),
    _guard(
        "consent_requests",
        "UPDATE",
        "a decided consent request is final",
        "WHEN OLD.state != 'pending'",
    ),
)
# -- end consent requests -------------------------------------------------------------------------

# -- cases: breaches, disposals, visits, reclassifications, agreement events (cases.py) ---------
_CASES: Final = (
    """CREATE TABLE breaches (
        breach_id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL,
        originator TEXT NOT NULL,
        reporter TEXT NOT NULL,
        reported_by TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('actual', 'possible')),
        description TEXT NOT NULL,
        reported TEXT NOT NULL,
        updated TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('reported', 'investigating', 'closed')),
        version INTEGER NOT NULL CHECK (version >= 1),
        investigation TEXT NOT NULL,
        results TEXT NOT NULL,
        measures TEXT NOT NULL,
        token BLOB
    ) STRICT""",
    "CREATE INDEX breaches_item ON breaches (item_id, breach_id)",
    """CREATE TABLE disposals (
        disposal_id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL,
        originator TEXT NOT NULL,
        holder TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('return', 'destroy')),
        reason TEXT NOT NULL,
        requested TEXT,
        state TEXT NOT NULL CHECK (state IN ('requested', 'completed')),
        completed TEXT,
        request BLOB,
        certificate BLOB,
        CHECK ((state = 'completed') = (completed IS NOT NULL)),
        CHECK ((state = 'completed') = (certificate IS NOT NULL))
    ) STRICT""",
    "CREATE INDEX disposals_item ON disposals (item_id, disposal_id)",
    """CREATE TABLE visits (
        visit_id TEXT PRIMARY KEY,
        requester TEXT NOT NULL,
        host TEXT NOT NULL,
        visitor_name TEXT NOT NULL,
        visitor_nationality TEXT NOT NULL,
        visitor_clearance TEXT NOT NULL,
        visitor_post TEXT NOT NULL,
        purpose TEXT NOT NULL,
        starts TEXT NOT NULL,
        ends TEXT NOT NULL,
        requested TEXT NOT NULL,
        request BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'denied')),
        level TEXT,
        decided TEXT,
        note TEXT NOT NULL,
        decision BLOB,
        CHECK ((state = 'requested') = (decided IS NULL)),
        CHECK ((state = 'approved') = (level IS NOT NULL))
    ) STRICT""",
    """CREATE TABLE reclassifications (
        item_id TEXT NOT NULL,
        seq INTEGER NOT NULL CHECK (seq >= 1),
        originator TEXT NOT NULL,
        previous TEXT NOT NULL,
        level TEXT NOT NULL,
        at TEXT NOT NULL,
        token BLOB,
        PRIMARY KEY (item_id, seq)
    ) STRICT, WITHOUT ROWID""",
    """CREATE TABLE agreement_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        agreement_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        by_party TEXT,
        note TEXT NOT NULL,
        source TEXT NOT NULL,
        condition TEXT NOT NULL,
        disputed_by TEXT,
        effective TEXT,
        table_version INTEGER,
        recorded TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    ) STRICT""",
    "CREATE INDEX agreement_events_agreement ON agreement_events (agreement_id, seq)",
    *(
        _guard(table, "DELETE", "the record of custody is never deleted")
        for table in ("breaches", "disposals", "visits", "reclassifications", "agreement_events")
    ),
    *(
        _guard(table, "UPDATE", f"{table} rows never change")
        for table in ("reclassifications", "agreement_events")
    ),
    _guard("breaches", "UPDATE", "a closed breach is final", "WHEN OLD.status = 'closed'"),
    _guard("disposals", "UPDATE", "a completed disposal is final", "WHEN OLD.state = 'completed'"),
    _guard("visits", "UPDATE", "a decided visit is final", "WHEN OLD.state != 'requested'"),
)
# -- end cases ------------------------------------------------------------------------------------

# Migration ``_LIST_INDEXES``: the API's filtered lists on millions of rows (bench/store_queries.py)
_LIST_INDEXES: Final = (
    "CREATE INDEX items_state ON items (state, item_id)",
    "CREATE INDEX outbox_state ON outbox (state, seq)",
)

# Migration ``_SENT_DIGEST`` (version 5): the SHA-256 of the body an outbox message carries, which
# its receipt quotes, so settlement compares it without reading the payload back (ADR 0011).
# Rows enqueued before it keep NULL and settle the old way (receipts.py reads their payload).
_SENT_DIGEST: Final = (
    "ALTER TABLE outbox ADD COLUMN digest BLOB CHECK (digest IS NULL OR length(digest) = 32)",
)

# Migration ``_RECEIPTS_IN_ROWS`` (version 6): ``receipts`` becomes a rowid table.  A receipt's
# token (a batch receipt's entry with its inclusion path, about 1,070 bytes) exceeds the ~1,000
# bytes a WITHOUT ROWID table keeps in its leaf, so each row spilled to an overflow page of its
# own: 4 KiB written per receipt, a third of a commit's pages (ADR 0022).  The rows are copied in
# key order.
_RECEIPTS_IN_ROWS: Final = (
    """CREATE TABLE receipts_rows (
        item_id TEXT NOT NULL,
        party TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('received', 'issued')),
        token BLOB NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (item_id, party, direction)
    ) STRICT""",
    "INSERT INTO receipts_rows (item_id, party, direction, token, at) "
    "SELECT item_id, party, direction, token, at FROM receipts ORDER BY item_id, party, direction",
    "DROP TABLE receipts",  # its triggers go with it; the implicit DELETE fires none
    "ALTER TABLE receipts_rows RENAME TO receipts",
    _guard("receipts", "DELETE", "the record of custody is never deleted"),
    _guard("receipts", "UPDATE", "receipts rows never change"),
)

# Migration ``_OUTBOX_PAYLOADS`` (version 7): an outbox message's payload (an item's frame, about
# 2 KiB) moves to a table of its own, written once; the ``outbox`` row that claims, retries and
# settlement rewrite shrinks to about 150 bytes, where it filled a 4 KiB page (ADR 0022).
_OUTBOX_PAYLOADS: Final = (
    """CREATE TABLE outbox_payloads (
        seq INTEGER PRIMARY KEY REFERENCES outbox (seq),
        payload BLOB NOT NULL
    ) STRICT""",
    "INSERT INTO outbox_payloads (seq, payload) SELECT seq, payload FROM outbox ORDER BY seq",
    "ALTER TABLE outbox DROP COLUMN payload",
    _guard("outbox_payloads", "DELETE", "the record of custody is never deleted"),
    _guard("outbox_payloads", "UPDATE", "outbox_payloads rows never change"),
)

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    _V1, _CONSENT_REQUESTS, _CASES, _LIST_INDEXES, _SENT_DIGEST, _RECEIPTS_IN_ROWS,
    _OUTBOX_PAYLOADS,
)  # fmt: skip
SCHEMA_VERSION: Final = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, path: str) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; return the version it was at.

    Raises :class:`StoreError` ``STORE_FOREIGN_FILE`` for a database that is not a node store,
    ``STORE_SCHEMA_NEWER`` for one written by a newer gsomia.  ``sqlite3`` errors propagate (the
    caller wraps them).
    """
    detail = {"path": path}
    db.execute("BEGIN IMMEDIATE")
    try:
        app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
        tables = {
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(row[0]).startswith("sqlite_")
        }
        if app_id not in (0, APPLICATION_ID) or (tables and "schema_version" not in tables):
            raise StoreError(
                "this file is not a gsomia node store", code="STORE_FOREIGN_FILE", detail=detail
            )
        if not tables:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY) STRICT")
        current = int(
            db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
        )
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the store has schema version {current}; this gsomia knows up to {SCHEMA_VERSION}",
                code="STORE_SCHEMA_NEWER",
                detail={**detail, "version": current},
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return current
