"""The default Store adapter: a national node's state in one SQLite file.

Data directory layout (``gsomia node init --data DATA`` creates it, mode 0700)::

    DATA/node.sqlite          this store: items, outbox, inbox, receipts, officials, API token
                              hashes, consents and the audit log (mode 0600)
    DATA/node.sqlite-wal      SQLite's write-ahead log, -shm its index (same mode)
    DATA/node.sqlite-lock     empty; the write turn of the node's processes (flock, ADR 0022)
    DATA/keys/keys.json       the node's keys, encrypted at rest (gsomia.adapters.keystore_files)
    DATA/keys/trust.json      partners' public keys

Why one file (ADR 0004): a release is committed to the outbox in the same transaction as its audit
entry (issue 4 §1), and an acceptance, its inbox entry, the stored item and the receipt quoting its
audit index and root commit together.  Two files cannot commit atomically without a two-phase
protocol; one SQLite file does it with one ``COMMIT``.  The audit tables are those of
:mod:`gsomia.adapters.sqlite_audit`, so ``SqliteAuditLog(store.path).verify()`` checks the log.

Durability: WAL with ``synchronous=FULL``, so every ``COMMIT`` fsyncs the log and what a unit of
work committed survives a process crash and a power cut (PRODUCT.md §8: an item accepted by a node
is never lost).  ``foreign_keys=ON``; ``secure_delete=ON`` so that the sealed bytes of a returned
or destroyed item (Art. 6, Art. 13) are overwritten in the file, not merely unlinked (copies may
remain in the WAL until its next checkpoint, and in backups).  The schema is versioned
(``schema_version`` table, forward migrations in :mod:`.schema`), and the file carries an
``application_id`` so that a foreign SQLite file is refused rather than altered.

Errors: every ``sqlite3`` error becomes :class:`~gsomia.errors.StoreError`, ``STORE_CONFLICT`` for
a constraint violation, ``STORE_UNAVAILABLE`` otherwise; a row that no longer decodes,
``STORE_DAMAGED``; a damaged audit log refuses appends with ``AUDIT_LOG_DAMAGED``.

Several processes of one node (a serving node and its API workers, ADR 0021) write the file in
turns: each takes ``flock`` on ``node.sqlite-lock`` before ``BEGIN IMMEDIATE`` and frees it after
``COMMIT`` (:mod:`.writer_lock`, ADR 0022), which hands a freed turn over within about a
millisecond where SQLite's busy handler sleeps up to 100 ms.

Modules: :mod:`.store` (:class:`SqliteStore`), :mod:`.schema`, :mod:`.queries`, :mod:`.codec`,
:mod:`.reader`, :mod:`.uow`, :mod:`.writer_lock`.
"""

from gsomia.adapters.sqlite_store.schema import SCHEMA_VERSION
from gsomia.adapters.sqlite_store.store import STORE_FILE, SqliteStore

__all__ = ["SCHEMA_VERSION", "STORE_FILE", "SqliteStore"]
