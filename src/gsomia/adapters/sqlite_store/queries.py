"""Every SQL statement of the node store, as literal text (no statement is built at run time).

Columns are selected in the order :mod:`.codec` decodes them; parameters are always bound.
"""

from __future__ import annotations

from typing import Final

SELECT_ITEM: Final = (
    "SELECT item_id, originator, labels, topic, sealed, received, agreement, table_version,"
    " received_from, derived_from, state, state_changed FROM items WHERE item_id = ?"
)
# Lists: one statement per combination of filters, never ``?N IS NULL OR column = ?N``, so that
# each one walks its index on a store of millions of rows (bench/store_queries.py): ``after`` is
# '' for "from the start" (ids are never empty) and 0 for sequence numbers.
_ITEMS_WHERE: Final = (
    "item_id, originator, labels, topic, sealed, received, agreement, table_version,"
    " received_from, derived_from, state, state_changed FROM items WHERE "
)
SELECT_ITEMS: Final = "SELECT " + _ITEMS_WHERE + "item_id > ?1 ORDER BY item_id LIMIT ?2"
SELECT_ITEMS_IN_STATE: Final = (
    "SELECT " + _ITEMS_WHERE + "state = ?1 AND item_id > ?2 ORDER BY item_id LIMIT ?3"
)
INSERT_ITEM: Final = (
    "INSERT INTO items (item_id, originator, labels, topic, sealed, received, agreement, "
    "table_version, received_from, derived_from, state, state_changed) VALUES (?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_ITEM_STATE: Final = (
    "UPDATE items SET state = ?, state_changed = ?, sealed = NULL WHERE item_id = ?"
)
UPDATE_ITEM_LABELS: Final = "UPDATE items SET labels = ? WHERE item_id = ?"
# An outbox message's payload is a row of ``outbox_payloads`` (schema version 7, ADR 0022), written
# once, so that claiming and settling the message rewrite a row of about 150 bytes, not 2 KiB.
_PAYLOAD: Final = "(SELECT payload FROM outbox_payloads p WHERE p.seq = outbox.seq)"
_OUTBOX_COLUMNS: Final = (
    "seq, key, recipient, kind, subject, " + _PAYLOAD + ", created, state, attempts, "
    "next_attempt, last_attempt, last_error, settled"
)
_OUTBOX_WHERE: Final = _OUTBOX_COLUMNS + " FROM outbox WHERE "
SELECT_OUTBOX_ENTRY: Final = "SELECT " + _OUTBOX_WHERE + "key = ?"
SELECT_OUTBOX: Final = "SELECT " + _OUTBOX_WHERE + "seq > ?1 ORDER BY seq LIMIT ?2"
SELECT_OUTBOX_IN_STATE: Final = (
    "SELECT " + _OUTBOX_WHERE + "state = ?2 AND seq > ?1 ORDER BY seq LIMIT ?3"
)
SELECT_OUTBOX_OF_SUBJECT: Final = (
    "SELECT " + _OUTBOX_WHERE + "subject = ?2 AND seq > ?1 ORDER BY seq LIMIT ?3"
)
SELECT_OUTBOX_OF_SUBJECT_IN_STATE: Final = (
    "SELECT " + _OUTBOX_WHERE + "subject = ?3 AND state = ?2 AND seq > ?1 ORDER BY seq LIMIT ?4"
)
# INDEXED BY: the delivery loop's query must walk the partial index in its order, never the list
# index ``outbox (state, seq)`` plus a sort of every pending row (PostgreSQL drops the hint).
SELECT_DUE: Final = (  # constants only, as everywhere here (no input is ever spliced)
    "SELECT " + _OUTBOX_COLUMNS + " FROM outbox INDEXED BY outbox_due "  # noqa: S608
    "WHERE state = 'pending' AND next_attempt <= ? ORDER BY next_attempt, seq LIMIT ?"
)
INSERT_OUTBOX: Final = (
    "INSERT INTO outbox (key, recipient, kind, subject, created, state, attempts, "
    "next_attempt, digest) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) RETURNING seq"
)
INSERT_OUTBOX_PAYLOAD: Final = "INSERT INTO outbox_payloads (seq, payload) VALUES (?, ?)"
# Settling the message a receipt names (receipts.py, ADR 0011) in one statement: it changes the
# row only if it is pending, of that kind, to that recipient, with that digest of the body sent,
# so the payload is neither read back nor decoded; no row back means the narrow read decides.
SETTLE_SENT: Final = (
    "UPDATE outbox SET state = 'acknowledged', settled = ? WHERE key = ? AND state = 'pending' "
    "AND kind = ? AND recipient = ? AND digest = ? RETURNING seq"
)
SETTLE_SENT_REFUSED: Final = (
    "UPDATE outbox SET state = 'cancelled', settled = ?, last_error = ? WHERE key = ? AND state "
    "= 'pending' AND kind = ? AND recipient = ? AND digest = ? RETURNING seq"
)
SELECT_SENT: Final = "SELECT kind, recipient, state, digest FROM outbox WHERE key = ?"
# The same two settlements for a run of a receipt batch's entries (``executemany``): only the count
# of rows settled comes back, which must be all of them (SqliteUnitOfWork.settle_sent_many).
SETTLE_SENT_RUN: Final = (
    "UPDATE outbox SET state = 'acknowledged', settled = ? WHERE key = ? AND state = 'pending' "
    "AND kind = ? AND recipient = ? AND digest = ?"
)
SETTLE_SENT_REFUSED_RUN: Final = (
    "UPDATE outbox SET state = 'cancelled', settled = ?, last_error = ? WHERE key = ? AND state "
    "= 'pending' AND kind = ? AND recipient = ? AND digest = ?"
)
UPDATE_OUTBOX_ATTEMPT: Final = (
    "UPDATE outbox SET attempts = ?, last_attempt = ?, next_attempt = ?, last_error = ? "
    "WHERE key = ?"
)
UPDATE_OUTBOX_STATE: Final = "UPDATE outbox SET state = ?, settled = ? WHERE key = ?"
UPDATE_OUTBOX_STATE_REASON: Final = (
    "UPDATE outbox SET state = ?, settled = ?, last_error = ? WHERE key = ?"
)
# One statement for the common case of a write that checks state (ADR 0004 §2): it changes the
# row only from the states the transition table allows and returns the row written; no row
# back means the slow path (read, then the precise error) decides.
CLAIM_OUTBOX: Final = (
    "UPDATE outbox SET attempts = attempts + 1, last_attempt = ?, next_attempt = ?, "  # noqa: S608
    "last_error = ? WHERE key = ? AND state = 'pending' RETURNING " + _OUTBOX_COLUMNS
)
# The claims of messages this unit of work just read (``due``), run together (``executemany``):
# their message, seq and attempts are known under the unit's lock, so nothing needs to come back
# but the count of rows claimed, which must be all of them.
CLAIM_OUTBOX_KNOWN: Final = (
    "UPDATE outbox SET attempts = attempts + 1, last_attempt = ?, next_attempt = ?, "
    "last_error = NULL WHERE key = ? AND state = 'pending'"
)
ACKNOWLEDGE_OUTBOX: Final = (
    "UPDATE outbox SET state = 'acknowledged', settled = ? WHERE key = ? AND state IN "  # noqa: S608
    "('pending', 'cancelled') RETURNING " + _OUTBOX_COLUMNS
)
ACKNOWLEDGE_FROM: Final = ("pending", "cancelled")
"""The states :data:`ACKNOWLEDGE_OUTBOX` acknowledges from (``DELIVERY_TRANSITIONS``, tested)."""
SELECT_INBOX_ENTRY: Final = (
    "SELECT item_id, sender, digest, received, outcome, reasons, audit_index FROM inbox "
    "WHERE item_id = ?"
)
INSERT_INBOX: Final = (
    "INSERT INTO inbox (item_id, sender, digest, received, outcome, reasons, audit_index) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SELECT_RECEIPT: Final = (
    "SELECT item_id, party, direction, token, at FROM receipts WHERE item_id = ? AND party "
    "= ? AND direction = ?"
)
SELECT_RECEIPTS: Final = (
    "SELECT item_id, party, direction, token, at FROM receipts WHERE item_id = ? ORDER BY "
    "party, direction"
)
INSERT_RECEIPT: Final = (
    "INSERT INTO receipts (item_id, party, direction, token, at) VALUES (?, ?, ?, ?, ?)"
)
SELECT_OFFICIAL: Final = (
    "SELECT official_id, nationality, clearance, duties, in_register, rank, post, roles, "
    "active FROM officials WHERE official_id = ?"
)
SELECT_OFFICIALS: Final = (
    "SELECT official_id, nationality, clearance, duties, in_register, rank, post, roles, "
    "active FROM officials WHERE (?1 IS NULL OR official_id > ?1) ORDER BY official_id "
    "LIMIT ?2"
)
SELECT_OFFICIAL_BY_HASH: Final = (
    "SELECT o.official_id, o.nationality, o.clearance, o.duties, o.in_register, o.rank, "
    "o.post, o.roles, o.active FROM api_tokens AS t JOIN officials AS o USING (official_id)"
    " WHERE t.token_hash = ? AND t.revoked IS NULL AND o.active = 1"
)
UPSERT_OFFICIAL: Final = (
    "INSERT INTO officials (official_id, nationality, clearance, duties, in_register, rank,"
    " post, roles, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (official_id) DO "
    "UPDATE SET nationality = excluded.nationality, clearance = excluded.clearance, duties "
    "= excluded.duties, in_register = excluded.in_register, rank = excluded.rank, post = "
    "excluded.post, roles = excluded.roles, active = excluded.active"
)
SELECT_API_HASH: Final = "SELECT revoked FROM api_tokens WHERE token_hash = ?"
INSERT_API_HASH: Final = (
    "INSERT INTO api_tokens (token_hash, official_id, created) VALUES (?, ?, ?)"
)
REVOKE_API_HASH: Final = (
    "UPDATE api_tokens SET revoked = ? WHERE token_hash = ? AND revoked IS NULL"
)
SELECT_CONSENT: Final = (
    "SELECT consent_id, kind, item_id, item_digest, originator, holder, third_party, "
    "purpose, issued, expires, conditions, revoked_at, token, revocation FROM consents "
    "WHERE consent_id = ?"
)
SELECT_CONSENTS_FOR: Final = (
    "SELECT consent_id, kind, item_id, item_digest, originator, holder, third_party, "
    "purpose, issued, expires, conditions, revoked_at, token, revocation FROM consents "
    "WHERE item_id = ? ORDER BY consent_id"
)
INSERT_CONSENT: Final = (
    "INSERT INTO consents (consent_id, kind, item_id, item_digest, originator, holder, "
    "third_party, purpose, issued, expires, conditions, revoked_at, token, revocation) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
REVOKE_CONSENT: Final = "UPDATE consents SET revoked_at = ?, revocation = ? WHERE consent_id = ?"
AUDIT_NEXT_INDEX: Final = "SELECT COALESCE(MAX(idx), -1) + 1 FROM audit_entries"
SELECT_AUDIT_ENTRY: Final = "SELECT entry FROM audit_entries WHERE idx = ?"
INSERT_AUDIT_ENTRY: Final = "INSERT INTO audit_entries (idx, entry, leaf_hash) VALUES (?, ?, ?)"
INSERT_CHECKPOINT: Final = "INSERT INTO audit_checkpoints (size, root) VALUES (?, ?)"

# -- consent requests (Art. 6; node/consent.py) ---------------------------------------------------
SELECT_CONSENT_REQUEST: Final = (
    "SELECT request_id, direction, item_id, originator, holder, third_party, purpose, "
    "requested, requested_by, expires, state, decided, decided_by, decision FROM "
    "consent_requests WHERE request_id = ?"
)
SELECT_CONSENT_REQUESTS: Final = (
    "SELECT request_id, direction, item_id, originator, holder, third_party, purpose, "
    "requested, requested_by, expires, state, decided, decided_by, decision FROM "
    "consent_requests WHERE (?1 IS NULL OR direction = ?1) AND (?2 IS NULL OR state = ?2) "
    "AND (?3 IS NULL OR request_id > ?3) ORDER BY request_id LIMIT ?4"
)
INSERT_CONSENT_REQUEST: Final = (
    "INSERT INTO consent_requests (request_id, direction, item_id, originator, holder, "
    "third_party, purpose, requested, requested_by, expires, state, decided, decided_by, "
    "decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
DECIDE_CONSENT_REQUEST: Final = (
    "UPDATE consent_requests SET state = ?, decided = ?, decided_by = ?, decision = ? WHERE "
    "request_id = ?"
)
# -- end consent requests -------------------------------------------------------------------------
