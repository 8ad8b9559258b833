"""A private PostgreSQL for the tests, never the machine's own server (issue 7 §2).

``pgserver`` (a wheel that ships PostgreSQL, installed by the ``test`` extra) runs ``initdb`` and
``pg_ctl`` in a temporary directory made for the session; the server listens on a Unix socket in
that directory only (no TCP port at all, so it cannot meet a server on 5432), with trust
authentication for its own ``postgres`` role, and without ``fsync`` (its data is thrown away at
the end of the session; the store still asks for ``synchronous_commit = on``, which a test
checks).  Run as root, pgserver starts it as the system
user ``pgserver`` (created if missing) and opens the directory's parents for traversal, which is
why the directory is made under the system temporary directory rather than pytest's.  Each test
gets a schema of its own (:meth:`PrivatePostgres.new_schema`), which is cheaper than a database.
Fault tests stop it (:meth:`PrivatePostgres.halt`, a fast or immediate shutdown) and start it again
on the same directory and socket (:meth:`PrivatePostgres.resume`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

CI = os.environ.get("CI", "").lower() in {"1", "true"}
_TEST_SETTINGS = (  # a throwaway server: no fsync (the store's own settings are unchanged)
    "ALTER SYSTEM SET fsync = off",
    "ALTER SYSTEM SET full_page_writes = off",
)


@dataclass
class PrivatePostgres:
    """A PostgreSQL server started for this test session."""

    directory: str
    dsn: str
    server: Any
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def start(cls) -> PrivatePostgres:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pgserver  # noqa: PLC0415  (only when a test needs the server)

        directory = tempfile.mkdtemp(prefix="gsomia-pg-")
        try:
            server = pgserver.get_server(os.path.join(directory, "pgdata"), cleanup_mode="stop")
            dsn = server.get_uri()
            with psycopg.connect(dsn, autocommit=True) as conn:
                for setting in _TEST_SETTINGS:
                    conn.execute(setting)
                conn.execute("SELECT pg_reload_conf()")
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return cls(directory, dsn, server)

    def new_schema(self, prefix: str = "test") -> str:
        """A fresh name for a node schema (the store creates it)."""
        return f"{prefix}_{os.getpid()}_{next(self._names)}"

    def new_database(self, prefix: str = "db") -> str:
        """Create an empty database; return its DSN (for nodes that each take a schema)."""
        name = self.new_schema(prefix)
        self.execute(f"CREATE DATABASE {name}")
        return make_conninfo(self.dsn, dbname=name)

    def execute(self, sql: Any, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on a connection of its own (autocommit); return its rows."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []

    def halt(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m fast|immediate``), keeping its directory and socket:
        a fault test's outage; :meth:`resume` starts it again."""
        from pgserver._commands import pg_ctl  # noqa: PLC0415

        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"pg_ctl has no shutdown mode {mode!r}")
        pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def resume(self) -> None:
        """Start the server again after :meth:`halt`, on the same directory and socket."""
        self.server.ensure_postgres_running()
        self.execute("SELECT 1")

    def stop(self) -> None:
        try:
            self.server.cleanup()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
