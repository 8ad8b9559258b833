"""What only the PostgreSQL store can show: schemas, the writer lock, workers, the server itself.

Every case of the Store contract also runs on PostgreSQL (tests/contract/conftest.py); these are
the cases the contract cannot express.  Issue 7 §1: several workers of a node share one database
and the audit log stays ONE consistent RFC 9162 Merkle log per node.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from gsomia.adapters.postgres_store import SCHEMA_VERSION, PostgresStore
from gsomia.adapters.postgres_store import statements as pg_statements
from gsomia.adapters.sqlite_store import cases as sqlite_cases
from gsomia.adapters.sqlite_store import queries as sqlite_queries
from gsomia.audit.merkle import MerkleTree
from gsomia.errors import InputError, StoreError
from gsomia.ports import ConsentRequestState, ItemState, Store, token_hash
from tests.contract.conftest import T0, audit, item, message
from tests.contract.dump import dump
from tests.contract.test_sqlite_store import populate, swallow_a_failed_statement
from tests.contract.test_store_contract import _request
from tests.private_postgres import PrivatePostgres


@pytest.fixture
def schema(postgres: PrivatePostgres) -> str:
    return postgres.new_schema()


def opened(postgres: PrivatePostgres, schema: str, **options: Any) -> PostgresStore:
    return PostgresStore(postgres.dsn, schema=schema, **options)


@contextmanager
def session(postgres: PrivatePostgres, schema: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection of another client, in autocommit, with the node's schema on its path."""
    with psycopg.connect(postgres.dsn, autocommit=True, cursor_factory=psycopg.RawCursor) as conn:
        conn.execute(f"SET search_path TO {schema}")
        yield conn


def everything(store: Store, token: str) -> dict[str, object]:
    return dump(store, item_ids=["item-1", "item-2"], tokens=[token], consent_ids=["consent-1"])


def test_reopen_keeps_everything_and_the_log_verifies(
    postgres: PrivatePostgres, schema: str
) -> None:
    token = secrets.token_urlsafe(32)
    with opened(postgres, schema) as store:
        assert store.migrated_from == 0
        populate(store, token)
        before = everything(store, token)
    with opened(postgres, schema) as store:
        assert store.migrated_from == SCHEMA_VERSION
        assert everything(store, token) == before
        with store.unit_of_work() as uow:
            assert uow.append_audit(audit(n=3)) == 3
        result = store.verify_audit()
        assert result.ok, result.problems
        assert (result.size, result.checkpoints) == (4, 2)


def test_tokens_are_never_stored_in_clear(postgres: PrivatePostgres, schema: str) -> None:
    token = secrets.token_urlsafe(32)
    with opened(postgres, schema) as store:
        populate(store, token)
    with session(postgres, schema) as conn:
        tables = [r[0] for r in conn.execute(pg_statements.SCHEMA_TABLES, (schema,))]
        assert "api_tokens" in tables
        for table in tables:
            rows = conn.execute(f"SELECT t::text FROM {table} AS t").fetchall()
            assert all(token not in row[0] for row in rows), table
        hashes = conn.execute("SELECT token_hash FROM api_tokens").fetchall()
        assert hashes == [(token_hash(token),)]


def test_schema_settings_collation_and_triggers(postgres: PrivatePostgres, schema: str) -> None:
    with opened(postgres, schema) as store:
        populate(store, "t")
        with store.unit_of_work() as uow:
            uow.put_consent_request(_request())
            uow.decide_consent_request("req-1", ConsentRequestState.REFUSED, at=T0, decision=b"r")
        settings = store._conn.execute(
            "SELECT current_setting('TimeZone'), current_setting('synchronous_commit'),"
            " current_setting('search_path')"
        ).fetchone()
        assert settings == ("UTC", "on", schema)
    with session(postgres, schema) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
        not_c = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema "
            "= $1 AND data_type = 'text' AND collation_name IS DISTINCT FROM 'C'",
            (schema,),
        ).fetchall()
        assert not_c == []  # ids compare by code point, as in SQLite and Python
        refused = {
            "DELETE FROM items": "never deleted",
            "TRUNCATE outbox, outbox_payloads": "never deleted",  # alone: its foreign key
            "DELETE FROM outbox_payloads": "never deleted",
            "UPDATE outbox_payloads SET payload = payload": "never change",
            "TRUNCATE audit_entries": "append-only",
            "UPDATE audit_checkpoints SET root = root": "append-only",
            "DELETE FROM audit_entries": "append-only",
            "UPDATE inbox SET sender = 'USA'": "never change",
            "UPDATE items SET topic = 'X' WHERE state = 'destroyed'": "final",
            "UPDATE consent_requests SET state = 'pending', decided = NULL, decision = NULL": "final",
        }
        for statement, message in refused.items():
            with pytest.raises(psycopg.errors.RestrictViolation, match=message):
                conn.execute(statement)


def test_foreign_newer_and_ill_named_schemas_are_refused(postgres: PrivatePostgres) -> None:
    foreign = postgres.new_schema("foreign")
    postgres.execute(f"CREATE SCHEMA {foreign}")
    postgres.execute(f"CREATE TABLE {foreign}.x (y int)")
    with pytest.raises(StoreError) as exc:
        PostgresStore(postgres.dsn, schema=foreign)
    assert exc.value.code == "STORE_FOREIGN_FILE"
    newer = postgres.new_schema("newer")
    PostgresStore(postgres.dsn, schema=newer).close()
    postgres.execute(f"INSERT INTO {newer}.schema_version VALUES ({SCHEMA_VERSION + 1})")
    with pytest.raises(StoreError) as exc:
        PostgresStore(postgres.dsn, schema=newer)
    assert exc.value.code == "STORE_SCHEMA_NEWER"
    for bad in ("Public", "a-b", "x;drop", "", "a" * 64):
        with pytest.raises(InputError):
            PostgresStore(postgres.dsn, schema=bad)
    with pytest.raises(InputError):
        PostgresStore.for_node(postgres.dsn, "kor")


def test_an_unreachable_server_is_unavailable_and_the_password_never_shows(tmp_path: Any) -> None:
    dsn = f"postgresql://gsomia:s3cret-pw@/nowhere?host={tmp_path}&connect_timeout=1"
    with pytest.raises(StoreError) as exc:
        PostgresStore(dsn, timeout=1)
    assert exc.value.code == "STORE_UNAVAILABLE"
    assert "s3cret-pw" not in str(exc.value)
    assert "s3cret-pw" not in repr(exc.value.to_problem())
    assert str(tmp_path) in exc.value.detail["store"]


def test_for_node_keeps_each_node_in_its_own_schema(postgres: PrivatePostgres) -> None:
    dsn = postgres.new_database("nodes")
    kor, jpn = PostgresStore.for_node(dsn, "KOR"), PostgresStore.for_node(dsn, "JPN")
    try:
        assert (kor.schema, jpn.schema) == ("gsomia_kor", "gsomia_jpn")
        with kor.unit_of_work() as uow:
            uow.put_item(item())
            uow.append_audit(audit())
        with jpn.read() as r:
            assert r.item("item-1") is None
            assert r.audit_size() == 0
        with jpn.unit_of_work() as uow:  # a log of its own, from index 0
            assert uow.append_audit(audit(n=5)) == 0
    finally:
        kor.close()
        jpn.close()


def test_a_node_role_needs_rights_on_its_own_schema_only(postgres: PrivatePostgres) -> None:
    """docs/operations.md: a DBA makes the node's schema, owned by the node's role, which needs
    no right on the database (not even to create a schema) nor on any other node's schema."""
    role, schema = postgres.new_schema("role"), postgres.new_schema("own")
    postgres.execute(f"CREATE ROLE {role} LOGIN")
    postgres.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {role}")
    dsn = make_conninfo(postgres.dsn, user=role)
    with PostgresStore(dsn, schema=schema) as store:
        with store.unit_of_work() as uow:
            uow.put_item(item())
            uow.append_audit(audit())
        assert store.verify_audit().ok
    with pytest.raises(StoreError) as exc:
        PostgresStore(dsn, schema=postgres.new_schema("other"))
    assert exc.value.code == "STORE_UNAVAILABLE"
    assert "permission denied" in str(exc.value)


def test_a_held_writer_lock_makes_writes_unavailable_but_reads_go_on(
    postgres: PrivatePostgres, schema: str
) -> None:
    store = opened(postgres, schema, timeout=0.05)
    with store.unit_of_work() as uow:
        uow.put_item(item())
    with session(postgres, schema) as other:
        other.execute("BEGIN")
        other.execute(pg_statements.WRITER_LOCK, (schema,))
        with pytest.raises(StoreError) as exc, store.unit_of_work():
            pass
        assert exc.value.code == "STORE_UNAVAILABLE"
        with store.read() as r:  # a snapshot never waits for the writer
            assert r.item("item-1") is not None
        other.execute("ROLLBACK")
    with store.unit_of_work() as uow:
        uow.put_item(item("item-2"))
    store.close()


def test_errors_are_wrapped_and_a_failed_statement_poisons_the_unit(
    postgres: PrivatePostgres, schema: str
) -> None:
    with opened(postgres, schema) as store:
        with store.unit_of_work() as uow:
            uow.put_item(item())
            with pytest.raises(StoreError) as exc:  # a constraint: only that statement undone
                uow._rows("probe", "INSERT INTO items (item_id) VALUES ('item-1')")
            assert exc.value.code == "STORE_CONFLICT"
            uow.put_item(item("item-3"))  # the unit goes on
        with pytest.raises(StoreError):
            swallow_a_failed_statement(store)  # even though the caller swallowed the error
        with store.read() as r:
            assert [i.item_id for i in r.items()] == ["item-1", "item-3"]


def test_a_damaged_row_or_log_is_reported_not_trusted(
    postgres: PrivatePostgres, schema: str
) -> None:
    with opened(postgres, schema) as store:
        populate(store, "t")
    with session(postgres, schema) as conn:
        conn.execute("UPDATE items SET labels = '{}' WHERE item_id = 'item-1'")
        conn.execute("ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_no_delete")
        conn.execute("DELETE FROM audit_checkpoints")
    with opened(postgres, schema) as store:
        with store.read() as r:
            with pytest.raises(StoreError) as exc:
                r.item("item-1")
            assert exc.value.code == "STORE_DAMAGED"
            assert r.audit_entry(2) == audit(n=2)  # reads go on
        with pytest.raises(StoreError) as exc, store.unit_of_work() as uow:
            uow.append_audit(audit(n=9))
        assert exc.value.code == "AUDIT_LOG_DAMAGED"
        result = store.verify_audit()
        assert not result.ok
        assert [p.code for p in result.problems] == ["AUDIT_CHECKPOINT_MISSING"]


def test_a_lost_connection_fails_one_unit_and_the_next_connects_again(
    postgres: PrivatePostgres, schema: str
) -> None:
    """A server restart, as the store sees it: its connection is gone.  Lost while idle, it is
    replaced when the next unit begins (nothing was done on it); lost inside a unit, that unit
    fails with ``STORE_UNAVAILABLE``, leaves nothing, and the next connects again."""
    with opened(postgres, schema) as store:
        with store.unit_of_work() as uow:
            uow.append_audit(audit(n=0))
        pid = store._conn.info.backend_pid
        postgres.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with store.unit_of_work() as uow:
            assert uow.append_audit(audit(n=1)) == 1
        assert store._conn.info.backend_pid != pid

        def lost_inside_a_unit() -> None:
            with store.unit_of_work() as uow:
                postgres.execute("SELECT pg_terminate_backend(%s)", (store._conn.info.backend_pid,))
                uow.append_audit(audit(n=2))

        with pytest.raises(StoreError) as exc:
            lost_inside_a_unit()
        assert exc.value.code == "STORE_UNAVAILABLE"
        with store.unit_of_work() as uow:
            assert uow.append_audit(audit(n=3)) == 2
        assert store.verify_audit().ok


def test_two_workers_appending_at_once_keep_one_contiguous_log(
    postgres: PrivatePostgres, schema: str
) -> None:
    """Issue 7 §1: two workers (two connections, two threads) release at the same time; the
    writer lock sequences their units, so the log is one contiguous, verifiable Merkle log."""
    workers = [opened(postgres, schema), opened(postgres, schema)]
    per_worker, failures = 40, []
    start = threading.Barrier(len(workers))
    indexes: dict[str, list[int]] = {}

    def release(w: int) -> None:
        store, mine = workers[w], []
        try:
            start.wait()
            for n in range(per_worker):
                item_id = f"w{w}-{n}"
                with store.unit_of_work() as uow:
                    uow.put_item(item(item_id))
                    uow.enqueue(message(f"{item_id}/JPN", subject=item_id))
                    first = uow.append_audit(audit(item_id, n=n))
                    second = uow.append_audit(audit(item_id, n=n + 1000))
                    assert second == first + 1  # a unit's entries are adjacent
                    assert uow.audit_root() == uow.audit_root(second + 1)
                mine.append(first)
        except BaseException as exc:  # reported below
            failures.append(exc)
        indexes[f"w{w}"] = mine

    threads = [threading.Thread(target=release, args=(w,)) for w in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    total = 2 * per_worker * len(workers)
    firsts = sorted(i for mine in indexes.values() for i in mine)
    assert firsts == list(range(0, total, 2))  # contiguous, no index used twice
    with workers[0].read() as r0, workers[1].read() as r1:
        assert r0.audit_size() == r1.audit_size() == total
        assert r0.audit_root() == r1.audit_root()
        entries = [r0.audit_entry(i) for i in range(total)]
        assert r0.audit_root() == MerkleTree.from_entries(e.to_bytes() for e in entries).root()
        subjects = [e.subject for e in entries]
        turns = sum(a[:2] != b[:2] for a, b in itertools.pairwise(subjects))
        assert turns > 1, "the two workers did not run at the same time"
        assert sorted(set(subjects)) == sorted(f"w{w}-{n}" for w in (0, 1) for n in range(40))
        assert [e.seq for e in r0.outbox(limit=1000)] == list(range(1, total // 2 + 1))
    result = workers[0].verify_audit()
    assert result.ok, result.problems
    assert (result.size, result.checkpoints) == (total, total // 2)  # one per unit of work
    for store in workers:
        store.close()


def test_every_sqlite_statement_prepares_on_postgresql(
    postgres: PrivatePostgres, schema: str
) -> None:
    """The store runs the SQLite store's statements (statements.py): each must be taken as is."""
    opened(postgres, schema).close()
    constants = [
        value
        for module in (sqlite_queries, sqlite_cases)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str)
        and value.split(" ", 1)[0] in {"SELECT", "INSERT", "UPDATE", "DELETE"}
    ]  # fmt: skip
    assert len(constants) > 40
    with session(postgres, schema) as conn:
        for n, statement in enumerate(constants):
            conn.execute(f"PREPARE probe_{n} AS {pg_statements.postgres(statement)}")
    lock_class = int(pg_statements.WRITER_LOCK.split("(")[1].split(",")[0])
    assert lock_class == pg_statements.GSMA
    assert pg_statements.postgres("SELECT a FROM t WHERE b = ? AND c = ?").endswith("$2")
    assert "CAST($1 AS text) IS NULL" in pg_statements.postgres(sqlite_queries.SELECT_OFFICIALS)


def test_destroyed_items_keep_no_bytes_in_the_table(postgres: PrivatePostgres, schema: str) -> None:
    with opened(postgres, schema) as store, store.unit_of_work() as uow:
        uow.put_item(item(sealed=b"secret sealed bytes"))
        uow.set_item_state("item-1", ItemState.DESTROYED, at=T0)
    rows = postgres.execute(f"SELECT sealed, state FROM {schema}.items")
    assert rows == [(None, "destroyed")]
