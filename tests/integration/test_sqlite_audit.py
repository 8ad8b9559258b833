"""The durable audit log on a real SQLite file: proofs, reopening, tampering, crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gsomia.adapters import audit_tables
from gsomia.adapters.sqlite_audit import SqliteAuditLog, VerifyResult
from gsomia.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    root,
    verify_consistency,
    verify_inclusion,
)
from gsomia.errors import InputError, StoreError

pytestmark = pytest.mark.integration

TRIGGERS = [
    f"{table}_no_{action}"
    for table in ("audit_entries", "audit_checkpoints")
    for action in ("update", "delete")
]


def entries(count: int, start: int = 0) -> list[bytes]:
    return [b"entry %d" % i for i in range(start, start + count)]


def filled(path: Path, sizes: list[int]) -> tuple[SqliteAuditLog, list[bytes]]:
    log = SqliteAuditLog(path)
    written: list[bytes] = []
    for size in sizes:
        batch = entries(size, len(written))
        assert log.append_batch(batch) == list(range(len(written), len(written) + size))
        written += batch
    return log, written


def tamper(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Edit the file as an attacker with file access would: drop the guards, then write."""
    db = sqlite3.connect(path)
    for name in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    for sql, params in statements:
        db.execute(sql, params)
    db.commit()
    db.close()


def codes(result: VerifyResult) -> set[str]:
    return {p.code for p in result.problems}


# -- the happy path --------------------------------------------------------------------------


def test_append_reopen_and_prove(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, written = filled(path, [1, 7, 100, 3])
    assert log.size() == 111
    assert log.append(b"one more") == 111
    written.append(b"one more")
    assert log.root() == root(written)
    log.close()

    with SqliteAuditLog(path) as log:
        assert log.size() == 112
        assert log.root() == root(written)
        assert log.entry(5) == written[5]
        assert log.root(8) == root(written[:8])
        for index, size in [(0, 1), (5, 8), (107, 112), (111, 112), (64, 100)]:
            proof = log.inclusion_proof(index, size)
            assert verify_inclusion(written[index], index, size, proof, log.root(size))
        for old, new in [(1, 8), (8, 108), (108, 111), (3, 112), (112, 112)]:
            proof = log.consistency_proof(old, new)
            assert verify_consistency(old, new, log.root(old), log.root(new), proof)
        assert log.inclusion_proof(3) == MerkleTree.from_entries(written).inclusion_proof(3)
        assert log.consistency_proof(8) == MerkleTree.from_entries(written).consistency_proof(8)
        assert [size for size, _ in log.checkpoints()] == [1, 8, 108, 111, 112]
        assert all(r == root(written[:s]) for s, r in log.checkpoints())
        result = log.verify()
        assert result.ok, result.problems
        assert (result.size, result.root, result.checkpoints) == (112, root(written), 5)


def test_an_empty_log(tmp_path: Path) -> None:
    with SqliteAuditLog(tmp_path / "audit.db") as log:
        assert log.size() == 0
        assert log.root() == EMPTY_ROOT
        assert log.append_batch([]) == []
        result = log.verify()
        assert result.ok
        assert result.root == EMPTY_ROOT


def test_durability_settings(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with SqliteAuditLog(path) as log:
        assert log._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        other = sqlite3.connect(path)
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        other.close()


def test_verify_streams_in_chunks_and_reports_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_tables, "_CHUNK", 8)  # the verifier is shared (audit_tables)
    monkeypatch.setattr(audit_tables, "_CHUNK_HEIGHT", 3)
    log, written = filled(tmp_path / "audit.db", [3, 5, 1, 20, 8, 7, 33, 16, 2])
    calls: list[tuple[int, int]] = []
    result = log.verify(progress=lambda done, total: calls.append((done, total)))
    assert result.ok, result.problems
    assert result.root == root(written)
    assert result.checkpoints == 9
    assert calls[-1] == (95, 95)
    assert [done for done, _ in calls] == [*range(8, 95, 8), 95]
    log.close()
    reopened = SqliteAuditLog(tmp_path / "audit.db")
    assert reopened.root() == root(written)
    reopened.close()


def test_two_handles_on_one_file_stay_consistent(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    a, b = SqliteAuditLog(path), SqliteAuditLog(path)
    assert a.append_batch(entries(3)) == [0, 1, 2]
    assert b.append_batch(entries(2, 3)) == [3, 4]  # b catches up with a first
    assert a.append(b"entry 5") == 5
    b.refresh()
    assert a.root() == b.root() == root(entries(6))
    assert a.verify().ok
    a.close()
    b.close()


# -- refusals and errors ---------------------------------------------------------------------


def test_entries_must_be_bytes_and_nothing_is_half_written(tmp_path: Path) -> None:
    log, _ = filled(tmp_path / "audit.db", [4])
    with pytest.raises(InputError) as err:
        log.append_batch([b"fine", "not bytes"])  # type: ignore[list-item]
    assert err.value.code == "AUDIT_ENTRY_INVALID"
    assert log.append_batch([bytearray(b"ba"), memoryview(b"mv")]) == [4, 5]  # type: ignore[list-item]
    assert log.size() == 6
    assert log.verify().ok
    log.close()


def test_out_of_range_reads(tmp_path: Path) -> None:
    log, _ = filled(tmp_path / "audit.db", [4])
    for call in (lambda: log.entry(4), lambda: log.entry(-1), lambda: log.inclusion_proof(4)):
        with pytest.raises(InputError) as err:
            call()
        assert err.value.code == "AUDIT_INDEX_OUT_OF_RANGE"
    with pytest.raises(InputError) as err:
        log.root(5)
    assert err.value.code == "AUDIT_SIZE_OUT_OF_RANGE"
    log.close()


def test_an_unopenable_file_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        SqliteAuditLog(tmp_path / "missing-dir" / "audit.db")
    assert err.value.code == "STORE_UNAVAILABLE"
    assert isinstance(err.value.__cause__, sqlite3.Error)


def test_a_store_without_wal_is_refused() -> None:
    with pytest.raises(StoreError, match="WAL"):
        SqliteAuditLog(":memory:")


def test_the_triggers_keep_the_tables_append_only(tmp_path: Path) -> None:
    log, _ = filled(tmp_path / "audit.db", [4])
    db = sqlite3.connect(tmp_path / "audit.db")
    for sql in (
        "UPDATE audit_entries SET entry = x'00' WHERE idx = 1",
        "DELETE FROM audit_entries WHERE idx = 3",
        "DELETE FROM audit_checkpoints",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(sql)
    db.close()
    assert log.verify().ok
    log.close()


def test_a_failed_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [10])
    # Someone plants a checkpoint where our next batch will end: our insert of it fails.
    tamper(path, ("INSERT INTO audit_checkpoints (size, root) VALUES (13, x'00')", ()))
    with pytest.raises(StoreError) as err:
        log.append_batch(entries(3, 10))
    assert err.value.code == "STORE_UNAVAILABLE"
    assert log.size() == 10
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM audit_entries").fetchone() == (10,)
    with pytest.raises(StoreError) as err:  # and the log now knows it is damaged
        log.append(b"more")
    assert err.value.code == "AUDIT_LOG_DAMAGED"
    assert "AUDIT_TRUNCATED" in codes(log.verify())
    log.close()


# -- tamper evidence -------------------------------------------------------------------------


def test_an_altered_entry_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [10, 10])
    tamper(path, ("UPDATE audit_entries SET entry = ? WHERE idx = ?", (b"forged", 12)))
    result = log.verify()
    assert not result.ok
    assert result.problems[0].code == "AUDIT_LEAF_MISMATCH"
    assert result.problems[0].index == 12
    assert "AUDIT_CHECKPOINT_MISMATCH" in codes(result)
    log.close()


def test_an_altered_entry_with_its_leaf_hash_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [10, 10])
    forged = b"forged"
    tamper(
        path,
        (
            "UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 3",
            (forged, MerkleTree.from_entries([forged]).root()),
        ),
    )
    result = log.verify()
    assert codes(result) == {"AUDIT_CHECKPOINT_MISMATCH"}
    log.close()
    reopened = SqliteAuditLog(path)  # opening notices the root no longer matches
    with pytest.raises(StoreError) as err:
        reopened.append(b"x")
    assert err.value.code == "AUDIT_LOG_DAMAGED"
    reopened.close()


def test_a_removed_row_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [10, 10])
    tamper(path, ("DELETE FROM audit_entries WHERE idx = ?", (7,)))
    result = log.verify()
    assert not result.ok
    missing = [p for p in result.problems if p.code == "AUDIT_ENTRY_MISSING"]
    assert [p.index for p in missing] == [7]
    assert "AUDIT_TRUNCATED" in codes(result)  # 19 rows left, the checkpoint says 20
    log.close()
    reopened = SqliteAuditLog(path)
    assert reopened.size() == 7  # the tree stops at the gap
    with pytest.raises(StoreError) as err:
        reopened.append(b"x")
    assert err.value.code == "AUDIT_LOG_DAMAGED"
    assert not reopened.verify().ok
    reopened.close()


def test_swapped_rows_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [10, 10])
    tamper(
        path,
        ("UPDATE audit_entries SET idx = -1 WHERE idx = 4", ()),
        ("UPDATE audit_entries SET idx = 4 WHERE idx = 15", ()),
        ("UPDATE audit_entries SET idx = 15 WHERE idx = -1", ()),
    )
    result = log.verify()
    assert codes(result) == {"AUDIT_CHECKPOINT_MISMATCH"}  # each row still hashes right
    assert [p.index for p in result.problems] == [10, 20]
    log.close()


def test_swapped_entries_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, written = filled(path, [10])
    tamper(
        path,
        ("UPDATE audit_entries SET entry = ? WHERE idx = 2", (written[8],)),
        ("UPDATE audit_entries SET entry = ? WHERE idx = 8", (written[2],)),
    )
    result = log.verify()
    assert [(p.code, p.index) for p in result.problems[:2]] == [
        ("AUDIT_LEAF_MISMATCH", 2),
        ("AUDIT_LEAF_MISMATCH", 8),
    ]
    log.close()


def test_a_truncated_tail_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [10, 10])
    tamper(path, ("DELETE FROM audit_entries WHERE idx >= ?", (17,)))
    result = log.verify()
    assert codes(result) == {"AUDIT_TRUNCATED"}
    assert result.size == 17
    log.close()


def test_entries_beyond_the_last_checkpoint_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [10, 10])
    tamper(path, ("DELETE FROM audit_checkpoints WHERE size = ?", (20,)))
    assert codes(log.verify()) == {"AUDIT_CHECKPOINT_MISSING"}
    log.close()


def test_an_entry_turned_into_text_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [5])
    tamper(path, ("UPDATE audit_entries SET entry = 'text' WHERE idx = 1", ()))
    result = log.verify()
    assert "AUDIT_ENTRY_MALFORMED" in codes(result)
    log.close()


def test_an_inserted_row_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [5])
    tamper(path, ("INSERT INTO audit_entries VALUES (-1, x'00', ?)", (bytes(32),)))
    assert "AUDIT_ENTRY_EXTRA" in codes(log.verify())
    log.close()
    with SqliteAuditLog(path) as reopened, pytest.raises(StoreError):
        reopened.append(b"x")


def test_a_malformed_leaf_hash_marks_the_log_damaged_on_open(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [5])
    log.close()
    tamper(path, ("UPDATE audit_entries SET leaf_hash = x'00' WHERE idx = 1", ()))
    with SqliteAuditLog(path) as reopened:
        with pytest.raises(StoreError) as err:
            reopened.append(b"x")
        assert err.value.code == "AUDIT_LOG_DAMAGED"
        assert "AUDIT_LEAF_MISMATCH" in codes(reopened.verify())


def test_problems_are_capped_but_counted(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    log, _ = filled(path, [150])
    tamper(path, ("UPDATE audit_entries SET entry = x'00'", ()))
    result = log.verify()
    assert len(result.problems) == 100
    assert result.problem_count == 151  # 150 leaves and the checkpoint
    log.close()


# -- crash -----------------------------------------------------------------------------------

CHILD = """
import sys
from gsomia.adapters.sqlite_audit import SqliteAuditLog

log = SqliteAuditLog(sys.argv[1])
batch = 0
while True:
    indices = log.append_batch([b"batch %d entry %d" % (batch, i) for i in range(50)])
    print(batch, indices[0], indices[-1], flush=True)
    batch += 1
"""


def test_acknowledged_batches_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert child.stdout is not None
    acknowledged: list[tuple[int, int, int]] = []
    try:
        while len(acknowledged) < 30:
            line = child.stdout.readline()
            assert line, "the child died before acknowledging enough batches"
            batch, first, last = map(int, line.split())
            acknowledged.append((batch, first, last))
        child.send_signal(signal.SIGKILL)
        for line in child.stdout:  # printed before the kill; a torn last line is no ack
            if line.endswith("\n"):
                batch, first, last = map(int, line.split())
                acknowledged.append((batch, first, last))
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with SqliteAuditLog(path) as log:
        last = acknowledged[-1][2]
        assert log.size() in (last + 1, last + 1 + 50)  # at most one unacknowledged batch more
        for batch, first, end in acknowledged:
            assert first == batch * 50
            assert end == first + 49
            assert log.entry(first) == b"batch %d entry 0" % batch
            assert log.entry(end) == b"batch %d entry 49" % batch
        result = log.verify()
        assert result.ok, result.problems
        assert result.size == log.size()
        assert log.append(b"after the crash") == log.size() - 1
