"""The PostgreSQL node store's schema, as forward migrations, and the code that applies them.

``MIGRATIONS[n - 1]`` takes a node schema from version ``n - 1`` to ``n``; each is a tuple of
statements applied, with its row in ``schema_version``, in one transaction that first takes the
node's writer lock (:data:`~.statements.WRITER_LOCK`), so two workers opening a new schema cannot
both migrate it and a failed migration leaves the previous version intact (PostgreSQL's DDL is
transactional).  A migration is never edited once released: a change is a new one.

Version 1 holds what versions 1 to 3 of the SQLite store hold, version 2 what its version 4
holds (the list indexes), version 3 what its version 5 holds (``outbox.digest``), version 4 what
its version 7 holds (``outbox_payloads``; its version 6 changes only SQLite's table layout)
(:mod:`gsomia.adapters.sqlite_store.schema`): the same tables, columns, keys, checks and
indexes, so that the statements of the SQLite store run here too (:mod:`.statements`), with
PostgreSQL's own types: instants are ``timestamptz`` (microseconds, like the records), blobs
``bytea``, flags ``boolean``, the JSON of label sets and lists ``text`` as written by
:mod:`gsomia.adapters.store_codec`.  Every text column is ``COLLATE "C"``: ids sort and compare
by code point, as in SQLite and in Python, whatever the database's locale.  Two sequence numbers
(``outbox.seq``, ``agreement_events.seq``) are assigned as ``MAX + 1`` under the writer lock,
not by a PostgreSQL sequence, so that a rolled-back unit of work leaves no gap (as SQLite's
``AUTOINCREMENT`` does, and as the contract tests require).

The triggers are SQLite's, and a few more: no row of the record of custody is ever deleted *or
truncated* (``TRUNCATE`` skips row triggers, so each table also refuses it), inbox, receipt,
reclassification and agreement-event rows never change, a returned or destroyed item, a decided
consent request or visit, a closed breach and a completed disposal are final, and the audit
tables are append-only.  They raise ``restrict_violation`` (SQLSTATE 23001), an integrity error,
which the store reports as ``STORE_CONFLICT``.
"""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg import sql

from gsomia.adapters.postgres_store import statements as s
from gsomia.errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

T: Final = 'text COLLATE "C"'
TS: Final = "timestamptz"


def _guard(table: str, action: str, message: str, when: str = "") -> str:
    each = "STATEMENT" if action == "TRUNCATE" else "ROW"
    condition = f" WHEN ({when})" if when else ""
    return (
        f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} FOR EACH {each}"
        f"{condition} EXECUTE FUNCTION refuse('{message}')"
    )


_CUSTODY: Final = (
    "items", "outbox", "inbox", "receipts", "officials", "api_tokens", "consents",
    "consent_requests", "breaches", "disposals", "visits", "reclassifications", "agreement_events",
)  # fmt: skip

_V1: Final = (
    """CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
    END $$""",
    f"""CREATE TABLE items (
        item_id {T} PRIMARY KEY,
        originator {T} NOT NULL,
        labels {T} NOT NULL,
        topic {T} NOT NULL,
        sealed bytea,
        received {TS} NOT NULL,
        agreement {T},
        table_version integer,
        received_from {T},
        derived_from {T} REFERENCES items (item_id),
        state {T} NOT NULL CHECK (state IN ('held', 'returned', 'destroyed')),
        state_changed {TS},
        CHECK ((state = 'held') = (sealed IS NOT NULL))
    )""",
    f"""CREATE TABLE outbox (
        seq bigint PRIMARY KEY CHECK (seq >= 1),
        key {T} NOT NULL UNIQUE,
        recipient {T} NOT NULL,
        kind {T} NOT NULL,
        subject {T} NOT NULL,
        payload bytea NOT NULL,
        created {TS} NOT NULL,
        state {T} NOT NULL CHECK (state IN ('pending', 'acknowledged', 'cancelled')),
        attempts integer NOT NULL CHECK (attempts >= 0),
        next_attempt {TS} NOT NULL,
        last_attempt {TS},
        last_error {T},
        settled {TS}
    )""",
    "CREATE INDEX outbox_due ON outbox (next_attempt, seq) WHERE state = 'pending'",
    "CREATE INDEX outbox_subject ON outbox (subject, seq)",
    f"""CREATE TABLE inbox (
        item_id {T} PRIMARY KEY,
        sender {T} NOT NULL,
        digest bytea NOT NULL CHECK (length(digest) = 32),
        received {TS} NOT NULL,
        outcome {T} NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
        reasons {T} NOT NULL,
        audit_index bigint
    )""",
    f"""CREATE TABLE receipts (
        item_id {T} NOT NULL,
        party {T} NOT NULL,
        direction {T} NOT NULL CHECK (direction IN ('received', 'issued')),
        token bytea NOT NULL,
        at {TS} NOT NULL,
        PRIMARY KEY (item_id, party, direction)
    )""",
    f"""CREATE TABLE officials (
        official_id {T} PRIMARY KEY,
        nationality {T} NOT NULL,
        clearance {T},
        duties {T} NOT NULL,
        in_register boolean NOT NULL,
        rank {T} NOT NULL,
        post {T} NOT NULL,
        roles {T} NOT NULL,
        active boolean NOT NULL
    )""",
    f"""CREATE TABLE api_tokens (
        token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
        official_id {T} NOT NULL REFERENCES officials (official_id),
        created {TS} NOT NULL,
        revoked {TS}
    )""",
    "CREATE INDEX api_tokens_official ON api_tokens (official_id)",
    f"""CREATE TABLE consents (
        consent_id {T} PRIMARY KEY,
        kind {T} NOT NULL CHECK (kind IN ('forward_consent', 'hub_approval')),
        item_id {T} NOT NULL,
        item_digest {T} NOT NULL,
        originator {T} NOT NULL,
        holder {T} NOT NULL,
        third_party {T} NOT NULL,
        purpose {T} NOT NULL,
        issued {TS} NOT NULL,
        expires {TS} NOT NULL,
        conditions {T} NOT NULL,
        revoked_at {TS},
        token bytea NOT NULL,
        revocation bytea
    )""",
    "CREATE INDEX consents_item ON consents (item_id, consent_id)",
    f"""CREATE TABLE consent_requests (
        request_id {T} PRIMARY KEY,
        direction {T} NOT NULL CHECK (direction IN ('sent', 'received')),
        item_id {T} NOT NULL,
        originator {T} NOT NULL,
        holder {T} NOT NULL,
        third_party {T} NOT NULL,
        purpose {T} NOT NULL,
        requested {TS} NOT NULL,
        requested_by {T} NOT NULL,
        expires {TS},
        state {T} NOT NULL CHECK (state IN ('pending', 'approved', 'refused')),
        decided {TS},
        decided_by {T},
        decision bytea,
        CHECK ((state = 'pending') = (decided IS NULL)),
        CHECK ((state = 'pending') = (decision IS NULL))
    )""",
    "CREATE INDEX consent_requests_state ON consent_requests (state, request_id)",
    f"""CREATE TABLE breaches (
        breach_id {T} PRIMARY KEY,
        item_id {T} NOT NULL,
        originator {T} NOT NULL,
        reporter {T} NOT NULL,
        reported_by {T} NOT NULL,
        kind {T} NOT NULL CHECK (kind IN ('actual', 'possible')),
        description {T} NOT NULL,
        reported {TS} NOT NULL,
        updated {TS} NOT NULL,
        status {T} NOT NULL CHECK (status IN ('reported', 'investigating', 'closed')),
        version integer NOT NULL CHECK (version >= 1),
        investigation {T} NOT NULL,
        results {T} NOT NULL,
        measures {T} NOT NULL,
        token bytea
    )""",
    "CREATE INDEX breaches_item ON breaches (item_id, breach_id)",
    f"""CREATE TABLE disposals (
        disposal_id {T} PRIMARY KEY,
        item_id {T} NOT NULL,
        originator {T} NOT NULL,
        holder {T} NOT NULL,
        action {T} NOT NULL CHECK (action IN ('return', 'destroy')),
        reason {T} NOT NULL,
        requested {TS},
        state {T} NOT NULL CHECK (state IN ('requested', 'completed')),
        completed {TS},
        request bytea,
        certificate bytea,
        CHECK ((state = 'completed') = (completed IS NOT NULL)),
        CHECK ((state = 'completed') = (certificate IS NOT NULL))
    )""",
    "CREATE INDEX disposals_item ON disposals (item_id, disposal_id)",
    f"""CREATE TABLE visits (
        visit_id {T} PRIMARY KEY,
        requester {T} NOT NULL,
        host {T} NOT NULL,
        visitor_name {T} NOT NULL,
        visitor_nationality {T} NOT NULL,
        visitor_clearance {T} NOT NULL,
        visitor_post {T} NOT NULL,
        purpose {T} NOT NULL,
        starts {TS} NOT NULL,
        ends {TS} NOT NULL,
        requested {TS} NOT NULL,
        request bytea NOT NULL,
        state {T} NOT NULL CHECK (state IN ('requested', 'approved', 'denied')),
        level {T},
        decided {TS},
        note {T} NOT NULL,
        decision bytea,
        CHECK ((state = 'requested') = (decided IS NULL)),
        CHECK ((state = 'approved') = (level IS NOT NULL))
    )""",
    f"""CREATE TABLE reclassifications (
        item_id {T} NOT NULL,
        seq integer NOT NULL CHECK (seq >= 1),
        originator {T} NOT NULL,
        previous {T} NOT NULL,
        level {T} NOT NULL,
        at {TS} NOT NULL,
        token bytea,
        PRIMARY KEY (item_id, seq)
    )""",
    f"""CREATE TABLE agreement_events (
        seq bigint PRIMARY KEY CHECK (seq >= 1),
        agreement_id {T} NOT NULL,
        kind {T} NOT NULL,
        at {TS} NOT NULL,
        by_party {T},
        note {T} NOT NULL,
        source {T} NOT NULL,
        condition {T} NOT NULL,
        disputed_by {T},
        effective {TS},
        table_version integer,
        recorded {TS} NOT NULL,
        recorded_by {T} NOT NULL
    )""",
    "CREATE INDEX agreement_events_agreement ON agreement_events (agreement_id, seq)",
    # The audit log: the tables of gsomia.adapters.audit_tables (RFC 9162 leaf hashes).
    """CREATE TABLE audit_entries (
        idx bigint PRIMARY KEY CHECK (idx >= 0),
        entry bytea NOT NULL,
        leaf_hash bytea NOT NULL
    )""",
    """CREATE TABLE audit_checkpoints (
        size bigint PRIMARY KEY CHECK (size >= 1),
        root bytea NOT NULL
    )""",
    *(
        _guard(table, action, "the audit log is append-only")
        for table in ("audit_entries", "audit_checkpoints")
        for action in ("UPDATE", "DELETE", "TRUNCATE")
    ),
    *(
        _guard(table, action, "the record of custody is never deleted")
        for table in _CUSTODY
        for action in ("DELETE", "TRUNCATE")
    ),
    *(
        _guard(table, "UPDATE", f"{table} rows never change")
        for table in ("inbox", "receipts", "reclassifications", "agreement_events")
    ),
    _guard("items", "UPDATE", "a returned or destroyed item is final", "OLD.state <> 'held'"),
    _guard(
        "consent_requests",
        "UPDATE",
        "a decided consent request is final",
        "OLD.state <> 'pending'",
    ),
    _guard("breaches", "UPDATE", "a closed breach is final", "OLD.status = 'closed'"),
    _guard("disposals", "UPDATE", "a completed disposal is final", "OLD.state = 'completed'"),
    _guard("visits", "UPDATE", "a decided visit is final", "OLD.state <> 'requested'"),
)

# Migration ``_LIST_INDEXES``: the API's filtered lists on millions of rows (bench/store_queries.py)
_LIST_INDEXES: Final = (
    "CREATE INDEX items_state ON items (state, item_id)",
    "CREATE INDEX outbox_state ON outbox (state, seq)",
)

# Migration ``_SENT_DIGEST``: the SHA-256 of the body a receipt of the message quotes (as SQLite's
# version 5); rows enqueued before it keep NULL and settle the old way (receipts.py).
_SENT_DIGEST: Final = (
    "ALTER TABLE outbox ADD COLUMN digest bytea CHECK (digest IS NULL OR length(digest) = 32)",
)

# Migration ``_OUTBOX_PAYLOADS``: an outbox message's payload in a table of its own, written once
# (as SQLite's version 7, ADR 0022), so that both stores run the same outbox statements.
_OUTBOX_PAYLOADS: Final = (
    """CREATE TABLE outbox_payloads (
        seq bigint PRIMARY KEY REFERENCES outbox (seq),
        payload bytea NOT NULL
    )""",
    "INSERT INTO outbox_payloads (seq, payload) SELECT seq, payload FROM outbox ORDER BY seq",
    "ALTER TABLE outbox DROP COLUMN payload",
    *(
        _guard("outbox_payloads", action, "the record of custody is never deleted")
        for action in ("DELETE", "TRUNCATE")
    ),
    _guard("outbox_payloads", "UPDATE", "outbox_payloads rows never change"),
)

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    _V1, _LIST_INDEXES, _SENT_DIGEST, _OUTBOX_PAYLOADS,
)  # fmt: skip
SCHEMA_VERSION: Final = len(MIGRATIONS)


def migrate(conn: psycopg.Connection[Any], schema: str, where: str) -> int:
    """Bring the node schema ``schema`` to :data:`SCHEMA_VERSION`; return the version it was at.

    Creates the schema if missing.  Raises :class:`StoreError` ``STORE_FOREIGN_FILE`` for a
    schema that holds tables but is not a node store, ``STORE_SCHEMA_NEWER`` for one written by a
    newer gsomia.  ``psycopg`` errors propagate (the caller wraps them).  ``conn`` is in autocommit
    mode with its ``search_path`` set to ``schema``.
    """
    detail = {"store": where}
    conn.execute("BEGIN")
    try:
        conn.execute(s.WRITER_LOCK, (schema,))
        tables = {row[0] for row in conn.execute(s.SCHEMA_TABLES, (schema,))}
        if tables and "schema_version" not in tables:
            raise StoreError(
                f"schema {schema!r} is not a gsomia node store",
                code="STORE_FOREIGN_FILE",
                detail=detail,
            )
        if not tables:  # a new schema, or an empty one a DBA made (then no CREATE on the database)
            if conn.execute(s.SCHEMA_EXISTS, (schema,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            conn.execute(s.CREATE_SCHEMA_VERSION)
        row = conn.execute(s.SCHEMA_VERSION_NOW).fetchone()
        current = int(row[0]) if row is not None else 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the store has schema version {current}; this gsomia knows up to {SCHEMA_VERSION}",
                code="STORE_SCHEMA_NEWER",
                detail={**detail, "version": current},
            )
        for version, statements in enumerate(MIGRATIONS[current:], start=current + 1):
            for statement in statements:  # literal DDL of this module
                conn.execute(statement)
            conn.execute(s.INSERT_SCHEMA_VERSION, (version,))
        conn.execute("COMMIT")
    except BaseException:
        if not conn.closed:
            conn.execute("ROLLBACK")
        raise
    return current
