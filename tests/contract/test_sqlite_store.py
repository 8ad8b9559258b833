"""What only the SQLite store can show: files, reopening, durability, damage, crashes.

PRODUCT.md §8: an item accepted by a node is never lost by a crash; tokens are hashed at rest
(issue 4 §1).
"""

from __future__ import annotations

import os
import secrets
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SCHEMA_VERSION, STORE_FILE, SqliteStore
from gsomia.adapters.sqlite_store import schema as schema_module
from gsomia.adapters.sqlite_store import store as store_module
from gsomia.adapters.sqlite_store.schema import APPLICATION_ID
from gsomia.audit.merkle import MerkleTree
from gsomia.errors import StoreError
from gsomia.ports import (
    ConsentRequestDirection,
    ConsentRequestRecord,
    ConsentRequestState,
    ItemState,
    ReceiptDirection,
    Store,
    token_hash,
)
from tests.contract.conftest import (
    T0,
    audit,
    consent,
    inbound,
    item,
    message,
    official,
    receipt,
)
from tests.contract.dump import dump

ROOT = Path(__file__).parents[2]


def populate(store: Store, token: str) -> None:
    with store.unit_of_work() as uow:
        uow.put_item(item("item-1"))
        uow.put_item(item("item-2", originator="USA", received_from="USA"))
        uow.set_item_state("item-2", ItemState.DESTROYED, at=T0)
        uow.enqueue(message())
        uow.record_attempt("item-1/JPN", at=T0, next_attempt=T0, error="timeout")
        uow.record_inbound(inbound("item-1", audit_index=0))
        uow.record_receipt(receipt())
        uow.record_receipt(receipt(direction=ReceiptDirection.ISSUED))
        uow.put_official(official())
        uow.add_token("kor-ro-1", token_hash(token), created=T0)
        uow.put_consent(consent())
        uow.revoke_consent("consent-1", at=T0, revocation=b"revocation")
        for n in range(3):
            uow.append_audit(audit(n=n))


def everything(store: Store, token: str) -> dict[str, object]:
    return dump(store, item_ids=["item-1", "item-2"], tokens=[token], consent_ids=["consent-1"])


def test_reopen_after_close_keeps_everything(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(32)
    with SqliteStore.in_data_dir(tmp_path) as store:
        populate(store, token)
        before = everything(store, token)
    with SqliteStore.in_data_dir(tmp_path) as store:
        assert store.migrated_from == SCHEMA_VERSION
        assert everything(store, token) == before
        with store.unit_of_work() as uow:
            assert uow.append_audit(audit(n=3)) == 3
    with SqliteAuditLog(tmp_path / STORE_FILE) as log:  # one log, verifiable by the audit tool
        result = log.verify()
        assert result.ok, result.problems
        assert result.size == 4
        assert result.checkpoints == 2


def test_tokens_are_never_stored_in_clear(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(32)
    store = SqliteStore.in_data_dir(tmp_path)
    populate(store, token)

    def files() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(tmp_path.iterdir()) if p.is_file())

    for content in (files(), (store.close(), files())[1]):  # WAL and all, then checkpointed
        assert token.encode() not in content
        assert token.encode("utf-16-le") not in content
    assert token_hash(token) in (tmp_path / STORE_FILE).read_bytes()


def test_files_settings_and_schema(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with SqliteStore.in_data_dir(data) as store:
        populate(store, "t")
        db = store._db  # the durability argument rests on these settings
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / STORE_FILE).stat().st_mode) == 0o600
    other = sqlite3.connect(data / STORE_FILE)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        versions = other.execute("SELECT version FROM schema_version").fetchall()
        assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            other.execute("DELETE FROM items")
    finally:
        other.close()


def _never_deleted_nor_changed(path: Path, table: str, change: str) -> None:
    """The guards of ``table``, as another connection meets them."""
    other = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            other.execute(f"DELETE FROM {table}")
        with pytest.raises(sqlite3.IntegrityError, match="never change"):
            other.execute(f"UPDATE {table} SET {change}")
    finally:
        other.close()


def _overflow_pages(db: sqlite3.Connection, table: str) -> int:
    query = "SELECT count(*) FROM dbstat WHERE name = ? AND pagetype = 'overflow'"
    return int(db.execute(query, (table,)).fetchone()[0])


def test_receipts_of_a_kib_stay_in_their_leaves_and_migrate_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 6 (ADR 0022): a batch receipt's token (about 1,070 bytes) spilled to an overflow
    page of its own in the WITHOUT ROWID table of versions 1-5; in the rowid table it does not.
    A version 5 store migrates with every row, and the table keeps its key and guards."""
    path = tmp_path / "node.db"
    tokens = [secrets.token_bytes(1070) for _ in range(40)]

    def write(store: SqliteStore, first: int) -> None:
        with store.unit_of_work() as uow:
            for n, token in enumerate(tokens[first : first + 20], start=first):
                uow.record_receipt(receipt(f"item-{n:02d}", token=token))

    with monkeypatch.context() as m:  # a store of version 5, as the release before wrote it
        m.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:5])
        m.setattr(schema_module, "SCHEMA_VERSION", 5)
        with SqliteStore(path) as old:
            write(old, 0)
            assert _overflow_pages(old._db, "receipts") == 20  # one page per receipt
    with SqliteStore(path) as store:
        assert store.migrated_from == 5
        write(store, 20)
        assert _overflow_pages(store._db, "receipts") == 0
        with store.read() as reader:
            assert [reader.receipt(f"item-{n:02d}", "JPN", ReceiptDirection.RECEIVED).token
                    for n in range(40)] == tokens  # fmt: skip
        with store.unit_of_work() as uow:  # the primary key is kept: the first one stands
            again = uow.record_receipt(receipt("item-00"))
        assert again.duplicate
        assert again.value.token == tokens[0]
    _never_deleted_nor_changed(path, "receipts", "at = 'x'")


def test_outbox_payloads_move_to_their_own_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 7 (ADR 0022): a version 6 store's messages keep their payloads, now rows of
    ``outbox_payloads`` that never change; the ``outbox`` row a claim rewrites is small."""
    path = tmp_path / "node.db"
    payloads = [secrets.token_bytes(2000) for _ in range(3)]
    with monkeypatch.context() as m:  # a store of version 6, as the release before wrote it
        m.setattr(schema_module, "MIGRATIONS", schema_module.MIGRATIONS[:6])
        m.setattr(schema_module, "SCHEMA_VERSION", 6)
        SqliteStore(path).close()
    db = sqlite3.connect(path)
    with db:
        for n, payload in enumerate(payloads):
            db.execute(
                "INSERT INTO outbox (key, recipient, kind, subject, payload, created, state, "
                "attempts, next_attempt) VALUES (?, 'JPN', 'item', ?, ?, "
                "'2024-05-01T09:00:00.000000Z', 'pending', 0, '2024-05-01T09:00:00.000000Z')",
                (f"item-{n}:JPN", f"item-{n}", payload),
            )
    db.close()
    with SqliteStore(path) as store:
        assert store.migrated_from == 6
        with store.unit_of_work() as uow:
            claimed = uow.record_attempt("item-0:JPN", at=T0, next_attempt=T0)
            uow.enqueue(message("item-3:JPN", subject="item-3"))
        assert claimed.message.payload == payloads[0]
        with store.read() as reader:
            stored = [reader.outbox_entry(f"item-{n}:JPN") for n in range(3)]
            assert [e.message.payload for e in stored if e is not None] == payloads
            new = reader.outbox_entry("item-3:JPN")
            assert new is not None
            assert new.message.payload == b"sealed item-3:JPN"
        columns = [row[1] for row in store._db.execute("PRAGMA table_info(outbox)")]
        assert "payload" not in columns
    _never_deleted_nor_changed(path, "outbox_payloads", "payload = x'00'")


def test_foreign_and_newer_files_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE x (y)")
    db.close()
    with pytest.raises(StoreError) as exc:
        SqliteStore(foreign)
    assert exc.value.code == "STORE_FOREIGN_FILE"
    SqliteAuditLog(tmp_path / "audit.db").close()
    with pytest.raises(StoreError) as exc:
        SqliteStore(tmp_path / "audit.db")
    assert exc.value.code == "STORE_FOREIGN_FILE"
    (tmp_path / "garbage.db").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError) as exc:
        SqliteStore(tmp_path / "garbage.db")
    assert exc.value.code == "STORE_UNAVAILABLE"
    SqliteStore(tmp_path / "new.db").close()
    db = sqlite3.connect(tmp_path / "new.db")
    db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(StoreError) as exc:
        SqliteStore(tmp_path / "new.db")
    assert exc.value.code == "STORE_SCHEMA_NEWER"


def test_a_locked_store_is_unavailable_not_broken(tmp_path: Path) -> None:
    store = SqliteStore.in_data_dir(tmp_path, timeout=0.05)
    other = sqlite3.connect(tmp_path / STORE_FILE, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreError) as exc, store.unit_of_work():
        pass
    assert exc.value.code == "STORE_UNAVAILABLE"
    other.execute("ROLLBACK")
    other.close()
    with store.unit_of_work() as uow:
        uow.put_item(item())
    store.close()


def swallow_a_failed_statement(store: SqliteStore) -> None:
    with store.unit_of_work() as uow:
        uow.put_item(item("item-2"))
        with pytest.raises(StoreError) as exc:
            uow._rows("probe", "SELEC nonsense")  # any non-constraint error
        assert exc.value.code == "STORE_UNAVAILABLE"
        with pytest.raises(StoreError):
            uow.item("item-2")  # poisoned: it can only roll back


def test_sqlite_errors_are_wrapped_and_a_failed_statement_poisons_the_unit(tmp_path: Path) -> None:
    with SqliteStore.in_data_dir(tmp_path) as store:
        with store.unit_of_work() as uow:
            uow.put_item(item())
            with pytest.raises(StoreError) as exc:
                uow._rows("probe", "INSERT INTO items (item_id) VALUES ('item-1')")
            assert exc.value.code == "STORE_CONFLICT"
        with pytest.raises(StoreError):
            swallow_a_failed_statement(store)  # even though the caller swallowed the error
        with store.read() as r:
            assert r.item("item-1") is not None
            assert r.item("item-2") is None


def test_a_damaged_row_or_log_is_reported_not_trusted(tmp_path: Path) -> None:
    with SqliteStore.in_data_dir(tmp_path) as store:
        populate(store, "t")
    db = sqlite3.connect(tmp_path / STORE_FILE)
    db.execute("UPDATE items SET labels = '{}' WHERE item_id = 'item-1'")
    db.execute("DROP TRIGGER audit_checkpoints_no_delete")
    db.execute("DELETE FROM audit_checkpoints")
    db.commit()
    db.close()
    with SqliteStore.in_data_dir(tmp_path) as store:
        with store.read() as r:
            with pytest.raises(StoreError) as exc:
                r.item("item-1")
            assert exc.value.code == "STORE_DAMAGED"
            assert r.audit_entry(2) == audit(n=2)  # reads go on
        with pytest.raises(StoreError) as exc, store.unit_of_work() as uow:
            uow.append_audit(audit(n=9))
        assert exc.value.code == "AUDIT_LOG_DAMAGED"


def test_two_handles_on_one_file_keep_one_log(tmp_path: Path) -> None:
    a, b = SqliteStore.in_data_dir(tmp_path), SqliteStore.in_data_dir(tmp_path)
    for n in range(6):
        with (a if n % 2 else b).unit_of_work() as uow:
            assert uow.append_audit(audit(n=n)) == n
    expected = MerkleTree.from_entries(audit(n=n).to_bytes() for n in range(6)).root()
    for handle in (a, b):  # each sees the other's appends
        with handle.read() as r:
            assert r.audit_size() == 6
            assert r.audit_root() == expected
    a.close()
    b.close()
    with SqliteAuditLog(tmp_path / STORE_FILE) as log:
        assert log.verify().ok
        assert log.size() == 6


def test_a_handle_reads_only_the_entries_another_appended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes on one file: a handle catches up with the other's appends by reading
    just those (O(new entries)), never the whole log again."""
    a, b = SqliteStore.in_data_dir(tmp_path), SqliteStore.in_data_dir(tmp_path)
    reloads: list[int] = []
    load = store_module.load_audit
    monkeypatch.setattr(store_module, "load_audit", lambda db: reloads.append(1) or load(db))
    for n in range(9):
        with (a if n % 3 else b).unit_of_work() as uow:
            assert uow.append_audit(audit(n=n)) == 2 * n
            uow.append_audit(audit(n=100 + n))
    expected = MerkleTree.from_entries(
        audit(n=k).to_bytes() for n in range(9) for k in (n, 100 + n)
    ).root()
    for handle in (a, b):
        with handle.read() as r:
            assert (r.audit_size(), r.audit_root()) == (18, expected)
    assert reloads == []
    a.close()
    b.close()


def test_a_log_changed_behind_a_handle_is_reloaded_and_its_damage_noted(tmp_path: Path) -> None:
    """What a handle reads on catching up must end at the latest checkpoint's root; if not (the
    file was changed behind its back), the whole log is read again and the damage noted."""
    a, b = SqliteStore.in_data_dir(tmp_path), SqliteStore.in_data_dir(tmp_path)
    with a.unit_of_work() as uow:
        uow.append_audit(audit(n=0))
    with b.read() as r:
        assert r.audit_size() == 1
    with a.unit_of_work() as uow:
        uow.append_audit(audit(n=1))
    db = sqlite3.connect(tmp_path / STORE_FILE)
    db.execute("DROP TRIGGER audit_checkpoints_no_update")
    db.execute("UPDATE audit_checkpoints SET root = zeroblob(32) WHERE size = 2")
    db.commit()
    db.close()
    with pytest.raises(StoreError) as exc, b.unit_of_work() as uow:
        uow.append_audit(audit(n=2))
    assert exc.value.code == "AUDIT_LOG_DAMAGED"
    with b.read() as r:
        assert r.audit_size() == 2  # reads go on
        assert r.audit_entry(1) == audit(n=1)
    a.close()
    b.close()


CHILD = textwrap.dedent(
    """
    import sys
    from gsomia.adapters.sqlite_store import SqliteStore
    from tests.contract.conftest import audit, inbound, item, message

    store = SqliteStore.in_data_dir(sys.argv[1])
    n = 0
    while True:
        with store.unit_of_work() as uow:
            uow.put_item(item(f"item-{n}", sealed=bytes(16384)))
            uow.enqueue(message(f"item-{n}/JPN", subject=f"item-{n}"))
            uow.record_inbound(inbound(f"in-{n}", audit_index=n))
            uow.append_audit(audit(f"item-{n}", n=n))
        print(n, flush=True)
        n += 1
    """
)


def test_committed_units_survive_sigkill_and_none_is_half_written(tmp_path: Path) -> None:
    """PRODUCT.md §8: an item accepted by a node is never lost by a crash."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert child.stdout is not None
    committed: list[int] = []
    try:
        while len(committed) < 150:
            line = child.stdout.readline()
            assert line, "the child died before committing enough units"
            committed.append(int(line))
        child.send_signal(signal.SIGKILL)
        committed += [int(line) for line in child.stdout if line.endswith("\n")]
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert committed == list(range(len(committed)))

    with SqliteStore.in_data_dir(tmp_path) as store:
        with store.read() as r:
            size = r.audit_size()
            assert size in (len(committed), len(committed) + 1)  # at most one unreported commit
            for n in range(size):  # every unit whole: none half-written
                held = r.item(f"item-{n}")
                assert held is not None
                assert held.sealed == bytes(16384)
                assert r.outbox_entry(f"item-{n}/JPN") is not None
                assert r.inbox_entry(f"in-{n}") is not None
                assert r.audit_entry(n).subject == f"item-{n}"
            assert len(r.items(limit=1000)) == size
            assert len(r.outbox(limit=1000)) == size
            assert r.inbox_entry(f"in-{size}") is None
        with store.unit_of_work() as uow:
            assert uow.append_audit(audit("after", n=size)) == size
    with SqliteAuditLog(tmp_path / STORE_FILE) as log:
        assert log.verify().ok


# -- consent requests (Art. 6; node/consent.py) --------------------------------------------------


def test_a_decided_consent_request_is_final_and_never_deleted(tmp_path: Path) -> None:
    request = ConsentRequestRecord(
        "req-1", ConsentRequestDirection.SENT, "item-1", "KOR", "JPN", "USA", "assessment",
        T0, "jpn-ro-1", T0 + timedelta(days=1),
    )  # fmt: skip
    with SqliteStore.in_data_dir(tmp_path) as store, store.unit_of_work() as uow:
        uow.put_consent_request(request)
        uow.decide_consent_request(
            "req-1", ConsentRequestState.REFUSED, at=T0, decision=b"signed refusal"
        )
    with SqliteStore(tmp_path / STORE_FILE) as store, store.read() as reader:
        stored = reader.consent_request("req-1")
        assert stored is not None
        assert (stored.state, stored.decision) == (ConsentRequestState.REFUSED, b"signed refusal")
    other = sqlite3.connect(tmp_path / STORE_FILE)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="final"):
            other.execute("UPDATE consent_requests SET state = 'pending', decided = NULL")
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            other.execute("DELETE FROM consent_requests")
    finally:
        other.close()


def test_list_and_due_queries_walk_their_indexes(tmp_path: Path) -> None:
    """On millions of rows a plan that scans or sorts is a timeout (bench/store_queries.py)."""
    from gsomia.adapters.sqlite_store import queries as q  # noqa: PLC0415

    SqliteStore.in_data_dir(tmp_path / "data").close()
    with sqlite3.connect(tmp_path / "data" / STORE_FILE) as db:

        def plan(sql: str, *params: object) -> str:
            rows = db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            return " | ".join(row[3] for row in rows)

        due = plan(q.SELECT_DUE, "2024-01-01T00:00:00.000000Z", 100)
        assert "outbox_due" in due
        assert "TEMP B-TREE" not in due
        assert "outbox_state" in plan(q.SELECT_OUTBOX_IN_STATE, 0, "pending", 100)
        assert "outbox_subject" in plan(q.SELECT_OUTBOX_OF_SUBJECT, 0, "item-1", 100)
        assert "items_state" in plan(q.SELECT_ITEMS_IN_STATE, "held", "", 100)
        assert plan(q.SELECT_ITEMS, "", 100).startswith("SEARCH items USING INDEX")
        payload = "CORRELATED SCALAR SUBQUERY 1 | SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"
        assert plan(q.SELECT_OUTBOX, 0, 100) == (
            "SEARCH outbox USING INTEGER PRIMARY KEY (rowid>?) | " + payload
        )
        assert plan(q.SELECT_DUE, "2024-01-01T00:00:00.000000Z", 100).endswith(payload)
