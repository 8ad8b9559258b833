"""Connections of the PostgreSQL store: opened, checked, and opened again after a loss, with
backoff (issue 7 §2: "restart PostgreSQL"; ADR 0008, "Faults").

A :class:`Connector` opens the one connection of a :class:`~.store.PostgresStore`: autocommit
(transactions are begun explicitly), ``$1`` placeholders, the server version checked (13+), and
the session settings of :data:`.statements.SESSION` (``search_path``, ``lock_timeout``,
``synchronous_commit = on``).  Every ``psycopg.Error`` is wrapped into the project's error tree
at the port: :class:`~gsomia.errors.StoreError` ``STORE_UNAVAILABLE`` (HTTP 503, exit code 6),
whose message names the server, database and schema, never the DSN.

*Reconnecting.*  When the server restarts, psycopg marks the store's connection broken at the
first statement that fails on it.  The store then asks the connector for a new one before its
next unit of work or read.  While the server is down, each attempt fails (``connect_timeout``
bounds it), and the connector spaces the attempts out: after ``n`` consecutive failures it
refuses at once, without touching the network, until ``min(cap, first * 2**(n-1))`` seconds
have passed since the last attempt (``STORE_UNAVAILABLE``, "reconnecting in …").  The API thus
answers 503 quickly during an outage instead of every request waiting for a connect timeout,
and the server is not hammered by every thread of every worker when it comes back.  The first
successful attempt resets the schedule.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from gsomia.adapters.postgres_store import statements as s
from gsomia.adapters.postgres_store.units import error_code
from gsomia.errors import InputError, StoreError

__all__ = [
    "FIRST_RETRY",
    "MIN_SERVER",
    "RETRY_CAP",
    "SCHEMA_NAME",
    "Connector",
    "describe",
    "discard_schema",
    "has_password",
    "probe_schema",
    "usable",
    "wrap",
]

SCHEMA_NAME: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
"""A node schema's name: an unquoted PostgreSQL identifier of lower-case letters, digits, ``_``."""
MIN_SERVER: Final = 130000  # PostgreSQL 13: the oldest version the project is tested against
FIRST_RETRY: Final = 0.05
"""Seconds to wait after the first failed connection attempt (doubled after each further one)."""
RETRY_CAP: Final = 2.0
"""The longest wait between connection attempts, in seconds."""


@contextmanager
def wrap(operation: str, where: str) -> Iterator[None]:
    """Turn a ``psycopg.Error`` raised inside into :class:`StoreError` (the port's error tree):
    ``STORE_CONFLICT`` or ``STORE_UNAVAILABLE`` (:func:`.units.error_code`)."""
    try:
        yield
    except psycopg.Error as exc:
        raise StoreError(
            f"node store {operation} failed: {exc}",
            code=error_code(exc),
            detail={"operation": operation, "store": where},
        ) from exc


class Connector:
    """Opens connections to one node schema, spacing out attempts after failures (see the
    module docstring).  Thread-safe; ``clock`` is the monotonic clock (tests may pass their
    own)."""

    def __init__(
        self,
        dsn: str,
        schema: str,
        where: str,
        *,
        timeout: float,
        first: float = FIRST_RETRY,
        cap: float = RETRY_CAP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dsn, self._schema, self._where = dsn, schema, where
        self._timeout = timeout
        self._first, self._cap, self._clock = first, cap, clock
        self._lock = threading.Lock()
        self._failures = 0
        self._not_before = 0.0
        self.connections = 0
        """Connections opened so far (the first, then one per reconnection)."""

    @property
    def failures(self) -> int:
        """Consecutive failed attempts since the last connection was opened."""
        return self._failures

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failed attempts."""
        if failures <= 0:
            return 0.0
        return min(self._cap, self._first * 2.0 ** min(failures - 1, 60))

    def connect(self) -> psycopg.Connection[Any]:
        """A new connection with the session settings, or :class:`StoreError`
        ``STORE_UNAVAILABLE`` (at once while the backoff since the last failure runs)."""
        with self._lock:
            wait = self._not_before - self._clock()
            if wait > 0:
                raise StoreError(
                    f"the node store is unreachable; reconnecting in {wait:.2f} s "
                    f"({self._failures} failed attempts)",
                    detail={"operation": "connect", "store": self._where,
                            "failures": self._failures},
                )  # fmt: skip
            try:
                conn = self._open()
            except BaseException:
                self._failures += 1
                self._not_before = self._clock() + self.delay(self._failures)
                raise
            self._failures, self._not_before = 0, 0.0
            self.connections += 1
            return conn

    def _open(self) -> psycopg.Connection[Any]:
        with wrap("connect", self._where):
            conn = psycopg.connect(
                self._dsn,
                autocommit=True,  # transactions are begun explicitly (BEGIN_WRITE, BEGIN_READ)
                cursor_factory=psycopg.RawCursor,  # $1 placeholders (statements.py)
                connect_timeout=max(1, math.ceil(self._timeout)),
            )
        try:
            with wrap("connect", self._where):
                if conn.info.server_version < MIN_SERVER:
                    raise StoreError(
                        f"PostgreSQL {conn.info.server_version} is too old; the store needs 13+",
                        detail={"store": self._where},
                    )
                lock_timeout = f"{max(1, round(self._timeout * 1000))}ms"
                conn.execute(s.SESSION, (self._schema, lock_timeout))
        except BaseException:
            conn.close()
            raise
        return conn


def usable(conn: psycopg.Connection[Any]) -> bool:
    """Whether ``conn`` may still be used (neither closed nor broken by a lost server)."""
    return not (conn.closed or conn.broken)


# ---------------------------------------------------------------------- gsomia node init


def describe(dsn: str, schema: str) -> str:
    """The server, database and schema of ``dsn`` and ``schema``, for messages (never the DSN,
    which may hold a password); ``CONFIG_INVALID`` for a DSN that does not parse (its text is
    not repeated) or a schema name that is not 1-63 characters of ``[a-z0-9_]``."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.Error:
        raise InputError(
            "the PostgreSQL DSN does not parse (a libpq key=value string or a postgresql:// URI)",
            code="CONFIG_INVALID",
        ) from None
    if not SCHEMA_NAME.match(schema):
        raise InputError(f"a node schema is 1-63 characters of [a-z0-9_]: {schema!r}",
                         code="CONFIG_INVALID")  # fmt: skip
    host, port = info.get("host") or "localhost", info.get("port") or "5432"
    return f"postgresql://{host}:{port}/{info.get('dbname') or ''} schema {schema}"


def has_password(dsn: str) -> bool:
    """Whether the DSN (already parsed by :func:`describe`) holds a password."""
    return bool(conninfo_to_dict(dsn).get("password"))


def probe_schema(dsn: str, schema: str, where: str, *, timeout: float = 10.0) -> str:
    """What the node schema ``schema`` holds now, before ``gsomia node init`` uses it:
    ``"absent"``, ``"empty"`` (made by a DBA, no tables), ``"node"`` (a node store) or
    ``"foreign"`` (other tables).  Connecting checks the DSN and the server first:
    :class:`StoreError` ``STORE_UNAVAILABLE`` when they do not serve, before anything is made."""
    with Connector(dsn, schema, where, timeout=timeout).connect() as conn, wrap("probe", where):
        if conn.execute(s.SCHEMA_EXISTS, (schema,)).fetchone() is None:
            return "absent"
        tables = {row[0] for row in conn.execute(s.SCHEMA_TABLES, (schema,))}
    if not tables:
        return "empty"
    return "node" if "schema_version" in tables else "foreign"


def discard_schema(
    dsn: str, schema: str, where: str, *, existed: bool, timeout: float = 10.0
) -> None:
    """Undo what a failed ``gsomia node init`` made in ``schema``: drop the schema it created,
    or, in a schema that existed empty (a DBA's), the tables and functions made in it."""
    with Connector(dsn, schema, where, timeout=timeout).connect() as conn, wrap("discard", where):
        if not existed:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            return
        for (table,) in conn.execute(s.SCHEMA_TABLES, (schema,)).fetchall():
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            )
        functions = conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p JOIN "
            "pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = $1",
            (schema,),
        ).fetchall()
        for (signature,) in functions:
            conn.execute(sql.SQL("DROP FUNCTION IF EXISTS {} CASCADE").format(sql.SQL(signature)))
