"""The PostgreSQL text of the node store's statements, and the statements only PostgreSQL needs.

The store runs the reads and writes of the SQLite store (:mod:`gsomia.adapters.sqlite_store`:
its checks, state tables and statements, one implementation of the port's logic for both) over
tables of the same shape (:mod:`.schema`).  :func:`postgres` gives the PostgreSQL text of one of
those statements, computed once per statement and cached:

* placeholders: ``?N`` becomes ``$N`` and the k-th bare ``?`` becomes ``$k`` (psycopg's
  :class:`~psycopg.RawCursor` binds them; parameters are always bound, never spliced);
* an optional filter ``?N IS NULL OR column = ?N`` becomes ``CAST($N AS text) IS NULL OR …``:
  PostgreSQL must know a parameter's type where it first meets it, and every optional filter of
  the store is on text;
* SQLite's ``INDEXED BY name`` hint is dropped (PostgreSQL plans from its statistics);
* :data:`OVERRIDES` gives the few statements whose PostgreSQL text differs otherwise: the two
  sequence numbers taken as ``MAX + 1`` under the writer lock (SQLite's ``AUTOINCREMENT``), and a
  boolean compared as a boolean.

Every statement of the SQLite modules is checked against a live PostgreSQL by the tests (it must
prepare), so a statement added there that PostgreSQL would not take is caught at once.  The
statements below this module's docstring are PostgreSQL's own, literal text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Final

from gsomia.adapters.sqlite_store import cases as sqlite_cases
from gsomia.adapters.sqlite_store import queries as q
from gsomia.errors import GsomiaError

GSMA: Final = 0x47534D41
"""The advisory-lock class of gsomia ("GSMA", as SQLite's ``application_id``)."""

WRITER_LOCK: Final = "SELECT pg_advisory_xact_lock(1196641601, hashtext($1))"
"""The node's writer lock, held to the end of the transaction: ``(GSMA, hashtext(schema))``."""

SESSION: Final = (
    "SELECT set_config('search_path', $1, false), set_config('TimeZone', 'UTC', false), "
    "set_config('synchronous_commit', 'on', false), set_config('lock_timeout', $2, false)"
)
BEGIN_WRITE: Final = "BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE"
BEGIN_READ: Final = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
SAVEPOINT: Final = "SAVEPOINT gsomia_statement"
RELEASE: Final = "RELEASE SAVEPOINT gsomia_statement"
ROLLBACK_TO: Final = "ROLLBACK TO SAVEPOINT gsomia_statement"
SCHEMA_TABLES: Final = (
    "SELECT c.relname FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON "
    "n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
)
SCHEMA_EXISTS: Final = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1"
CREATE_SCHEMA_VERSION: Final = "CREATE TABLE schema_version (version integer PRIMARY KEY)"
SCHEMA_VERSION_NOW: Final = "SELECT COALESCE(MAX(version), 0) FROM schema_version"
INSERT_SCHEMA_VERSION: Final = "INSERT INTO schema_version (version) VALUES ($1)"

OVERRIDES: Final[Mapping[str, str]] = {
    q.INSERT_OUTBOX: (
        "INSERT INTO outbox (seq, key, recipient, kind, subject, created, state, attempts, "
        "next_attempt, digest) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox), $1, $2, "
        "$3, $4, $5, 'pending', 0, $6, $7) RETURNING seq"
    ),
    sqlite_cases.INSERT_AGREEMENT_EVENT: (
        "INSERT INTO agreement_events (seq, agreement_id, kind, at, by_party, note, source, "
        "condition, disputed_by, effective, table_version, recorded, recorded_by) VALUES ("
        "(SELECT COALESCE(MAX(seq), 0) + 1 FROM agreement_events), $1, $2, $3, $4, $5, $6, $7, "
        "$8, $9, $10, $11, $12) RETURNING seq"
    ),
    q.SELECT_OFFICIAL_BY_HASH: (
        "SELECT o.official_id, o.nationality, o.clearance, o.duties, o.in_register, o.rank, "
        "o.post, o.roles, o.active FROM api_tokens AS t JOIN officials AS o USING (official_id)"
        " WHERE t.token_hash = $1 AND t.revoked IS NULL AND o.active"
    ),
}
"""PostgreSQL text for the SQLite statements that differ by more than their placeholders."""

_NUMBERED = re.compile(r"\?(\d+)")
_OPTIONAL = re.compile(r"\$(\d+) IS NULL")
_INDEXED_BY = re.compile(r" INDEXED BY [a-z_]+")


@functools.cache
def postgres(sqlite_statement: str) -> str:
    """The PostgreSQL text of a statement of the SQLite store (see the module docstring)."""
    override = OVERRIDES.get(sqlite_statement)
    if override is not None:
        return override
    if "'?" in sqlite_statement or "?'" in sqlite_statement:
        raise GsomiaError("a ? inside a string literal is not a placeholder", code="STORE_MISUSE")
    if _NUMBERED.search(sqlite_statement):
        text = _NUMBERED.sub(r"$\1", sqlite_statement)
        if "?" in text:
            raise GsomiaError("numbered and bare placeholders are mixed", code="STORE_MISUSE")
    else:
        parts = sqlite_statement.split("?")
        text = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))
    return _INDEXED_BY.sub("", _OPTIONAL.sub(r"CAST($\1 AS text) IS NULL", text))


def is_write(sqlite_statement: str) -> bool:
    """Whether the statement changes rows (it then runs under a savepoint)."""
    return sqlite_statement.lstrip()[:6].upper() != "SELECT"
