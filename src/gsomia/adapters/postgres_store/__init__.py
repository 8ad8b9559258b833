"""The scale-out Store adapter: a national node's state in one PostgreSQL schema (issue 7 §1).

``PostgresStore(dsn)`` opens (and creates or migrates) the schema ``gsomia`` of the database at
``dsn``; ``PostgresStore.for_node(dsn, "KOR")`` uses ``gsomia_kor``, so the nodes of a test bed
or a hosting site can share one database, a schema each.  It passes the same contract tests as
:class:`~gsomia.testing.InMemoryStore` and the SQLite store (``tests/contract``), and runs the
SQLite store's port logic over tables of the same shape (:mod:`.units`, :mod:`.statements`), so
the two cannot drift apart.  Requires ``pip install 'gsomia[postgres]'`` (psycopg 3) and
PostgreSQL 13 or later.  ADR 0008 records the choices.

Theory of operation
-------------------
*Units of work are serial per node.*  A unit of work is one ``READ COMMITTED`` transaction whose
first statement takes the node's **writer lock**, ``pg_advisory_xact_lock(GSMA,
hashtext(schema))``, held until ``COMMIT`` or ``ROLLBACK``.  Every later statement of the unit
sees everything committed before the lock was granted, and no other writer of the node commits
until it ends: units of work run one at a time, exactly as under SQLite's ``BEGIN IMMEDIATE``, so
the checks-then-writes of the port logic are as safe as there, and nothing needs a retry loop
(``SERIALIZABLE`` would take its snapshot *before* the lock is granted and fail the unit that
waited).  Reads (``store.read()``) are ``REPEATABLE READ, READ ONLY`` snapshots, without the lock:
they never wait for a writer nor hold one up.  Several workers of a node (processes, each with
its own store objects) therefore share one database safely; they run their sealing, verifying
and network I/O in parallel and take turns only to commit.

*The audit log.*  Each node keeps ONE RFC 9162 Merkle log, in ``audit_entries`` and
``audit_checkpoints`` (:mod:`gsomia.adapters.audit_tables`, the same tables and leaf hashing as
SQLite).  The writer lock is its single sequencer: a unit appends at index ``size`` of the log
as committed when it took the lock, so indexes are contiguous whichever worker appends, and it
records the checkpoint ``(size, root)`` of its appends just before ``COMMIT``.  Each store object
keeps the tree in memory to quote roots and proofs at no cost; after taking the lock (or opening
a read snapshot) it compares the stored size with its tree and, when another worker appended,
reads only the new leaf hashes and checks the result against the latest checkpoint
(:func:`.units.sync_audit`).  A rolled-back unit cuts the tree back to the committed size.
``PostgresStore.verify_audit()`` recomputes everything from the entries, as
``SqliteAuditLog.verify()`` does for a file.

*Durability.*  ``synchronous_commit = on`` for the session: ``COMMIT`` returns once the WAL is
flushed (and replicated, where the server is set up for synchronous standbys).  A commit whose
answer is lost with the connection is in doubt; the next unit of work finds its audit entries
and catches up.

*Errors* (one error tree, wrapped at the port): an integrity violation, deadlock or
serialization failure is ``STORE_CONFLICT``; anything else from psycopg ``STORE_UNAVAILABLE``
(a server down or restarting, a lock not granted within ``timeout``); a row that no longer
decodes ``STORE_DAMAGED``; a damaged audit log refuses appends with ``AUDIT_LOG_DAMAGED``.
Messages name the server, database and schema, never the DSN (it may hold a password).

*Faults.*  A server restart or outage costs the units under way (``STORE_UNAVAILABLE``, nothing
written); connections are opened again with backoff (:mod:`.connection`; ADR 0008, "Faults").

Modules: :mod:`.store` (:class:`PostgresStore`), :mod:`.connection`, :mod:`.schema`,
:mod:`.statements`, :mod:`.units`.
"""

from gsomia.adapters.postgres_store.schema import SCHEMA_VERSION
from gsomia.adapters.postgres_store.store import DEFAULT_SCHEMA, PostgresStore

__all__ = ["DEFAULT_SCHEMA", "SCHEMA_VERSION", "PostgresStore"]
