"""Attacks on the audit log and on the checkpoints partners exchange (boundaries: the node's
store file, the audit checkpoint exchange; actors: an insider with file access, a compromised
node that shows partners different logs).

The node's SQLite file holds the audit log (ADR 0004 §3).  Someone who can write the file can
drop its append-only triggers and edit it; ``SqliteAuditLog.verify`` must then fail with the
code of what was done, and a node whose log no longer matches its checkpoints refuses to write
(``AUDIT_LOG_DAMAGED``).  Cutting the tail of both tables is invisible in the file alone: the
signed checkpoints partners hold catch it, as they catch a log forked to show two partners two
histories (``gsomia.proofs.notes``).
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.audit.merkle import MerkleTree
from gsomia.errors import StoreError
from gsomia.node import Node
from gsomia.proofs import (
    ConsistencyError,
    NoteVerifier,
    check_consistency,
    cosign,
    detect_fork,
)
from gsomia.testing import InMemoryNetwork
from tests.conftest import make_label
from tests.unit.node.cluster import RELEASER, Cluster, build, release_to_japan

pytestmark = pytest.mark.integration

TRIGGERS = [
    f"{table}_no_{action}"
    for table in ("audit_entries", "audit_checkpoints")
    for action in ("update", "delete")
]
ORIGIN = "gsomia/kor/audit"


@dataclass
class Filed:
    """A cluster on SQLite files after some traffic; KOR's node file closed for tampering."""

    cluster: Cluster
    path: Path
    size: int


@pytest.fixture
def filed(tmp_path: Path) -> Filed:
    cluster = build(lambda party: SqliteStore.in_data_dir(tmp_path / party))
    for _ in range(3):
        assert release_to_japan(cluster).released
    cluster.pump()
    path = Path(cluster.stores["KOR"].path)  # type: ignore[attr-defined]
    with cluster.stores["KOR"].read() as reader:
        size = reader.audit_size()
    for store in cluster.stores.values():
        store.close()
    return Filed(cluster, path, size)


def tamper(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Edit the file as an insider with file access would: drop the guards, then write."""
    db = sqlite3.connect(path)
    for name in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    for sql, params in statements:
        db.execute(sql, params)
    db.commit()
    db.close()


def problems(path: Path) -> set[str]:
    with SqliteAuditLog(path) as log:
        result = log.verify()
    assert not result.ok
    return {p.code for p in result.problems}


def _refuses_to_write(filed: Filed) -> None:
    """The reopened node reads on but writes nothing more into a damaged log."""
    store = SqliteStore(filed.path)
    ctx = filed.cluster.nodes["KOR"]._ctx
    node = Node(
        "KOR", ctx.registry, store, InMemoryNetwork().channel("KOR"), ctx.keys, ctx.trust,
        filed.cluster.clock,
    )  # fmt: skip
    try:
        with store.read() as reader:
            items = len(reader.items())
        with pytest.raises(StoreError) as err:
            node.release(RELEASER, b"x", make_label(), ["JPN"], "NK-MISSILE", "p")
        assert err.value.code == "AUDIT_LOG_DAMAGED"
        with store.read() as reader:
            assert len(reader.items()) == items  # nothing half-written
    finally:
        store.close()


def test_audit_entry_altered(filed: Filed) -> None:
    tamper(filed.path, ("UPDATE audit_entries SET entry = ? WHERE idx = ?", (b"{}", 1)))
    assert "AUDIT_LEAF_MISMATCH" in problems(filed.path)


def test_audit_entry_altered_with_its_leaf_hash(filed: Filed) -> None:
    forged = b'{"forged":true}'
    tamper(
        filed.path,
        (
            "UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 1",
            (forged, MerkleTree.from_entries([forged]).root()),
        ),
    )
    assert problems(filed.path) == {"AUDIT_CHECKPOINT_MISMATCH"}
    _refuses_to_write(filed)


def test_audit_entry_removed(filed: Filed) -> None:
    tamper(filed.path, ("DELETE FROM audit_entries WHERE idx = ?", (1,)))
    assert "AUDIT_ENTRY_MISSING" in problems(filed.path)
    _refuses_to_write(filed)


def test_audit_entries_reordered(filed: Filed) -> None:
    last = filed.size - 1
    tamper(
        filed.path,
        ("UPDATE audit_entries SET idx = -1 WHERE idx = 0", ()),
        ("UPDATE audit_entries SET idx = 0 WHERE idx = ?", (last,)),
        ("UPDATE audit_entries SET idx = ? WHERE idx = -1", (last,)),
    )
    assert problems(filed.path) == {"AUDIT_CHECKPOINT_MISMATCH"}
    _refuses_to_write(filed)


def _verifier(filed: Filed) -> NoteVerifier:
    return NoteVerifier.from_record(ORIGIN, filed.cluster.nodes["KOR"]._ctx.keys.current.sig)


def _note(filed: Filed, path: Path) -> bytes:
    """KOR's signed checkpoint of the log in ``path``."""
    store = SqliteStore(path)
    ctx = filed.cluster.nodes["KOR"]._ctx
    try:
        node = Node(
            "KOR", ctx.registry, store, InMemoryNetwork().channel("KOR"), ctx.keys, ctx.trust,
            filed.cluster.clock,
        )  # fmt: skip
        return node.checkpoint()
    finally:
        store.close()


def _earlier_checkpoint(path: Path) -> int:
    """The size of the last checkpoint before the latest: a cut there leaves a tidy file."""
    with SqliteAuditLog(path) as log:
        sizes = [size for size, _ in log.checkpoints()]
    assert len(sizes) >= 2
    return sizes[-2]


def test_audit_tail_cut_from_both_tables(filed: Filed) -> None:
    """Invisible in the file alone; the checkpoint JPN holds shows the rollback."""
    seen_by_jpn = _note(filed, filed.path)
    keep = _earlier_checkpoint(filed.path)
    tamper(
        filed.path,
        ("DELETE FROM audit_entries WHERE idx >= ?", (keep,)),
        ("DELETE FROM audit_checkpoints WHERE size > ?", (keep,)),
    )
    with SqliteAuditLog(filed.path) as log:
        assert log.verify().ok  # the file alone cannot tell
    shown_now = _note(filed, filed.path)
    with pytest.raises(ConsistencyError) as err:
        check_consistency(seen_by_jpn, shown_now, [], [_verifier(filed)])
    assert err.value.code == "LOG_ROLLBACK"


def test_audit_tail_rewritten_then_extended(filed: Filed) -> None:
    """The last entries replaced by others and the log grown past its old size: no
    consistency proof from the checkpoint JPN holds can exist."""
    seen_by_jpn = _note(filed, filed.path)
    keep = _earlier_checkpoint(filed.path)
    tamper(
        filed.path,
        ("DELETE FROM audit_entries WHERE idx >= ?", (keep,)),
        ("DELETE FROM audit_checkpoints WHERE size > ?", (keep,)),
    )
    with SqliteAuditLog(filed.path) as log:
        log.append_batch([b'{"rewritten":%d}' % i for i in range(filed.size - keep + 1)])
        proof = log.consistency_proof(filed.size)
    with pytest.raises(ConsistencyError) as err:
        check_consistency(seen_by_jpn, _note(filed, filed.path), proof, [_verifier(filed)])
    assert err.value.code == "LOG_INCONSISTENT"


def test_forked_log_shown_to_two_partners(filed: Filed, tmp_path: Path) -> None:
    """KOR's node keeps two copies of its log, grows each differently, and shows JPN one and
    the USA the other.  When the partners compare notes, the fork is proved."""
    fork = tmp_path / "fork.sqlite"
    shutil.copyfile(filed.path, fork)
    with SqliteAuditLog(filed.path) as log:
        log.append(b'{"shown_to":"JPN"}')
    with SqliteAuditLog(fork) as log:
        log.append(b'{"shown_to":"USA"}')
    to_jpn, to_usa = _note(filed, filed.path), _note(filed, fork)
    verifiers = [_verifier(filed)]
    evidence = detect_fork(to_jpn, to_usa, verifiers)
    assert evidence is not None
    assert evidence.checkpoint_a.size == evidence.checkpoint_b.size == filed.size + 1
    with pytest.raises(ConsistencyError) as err:
        check_consistency(to_jpn, to_usa, [], verifiers)
    assert err.value.code == "LOG_FORK"
    assert err.value.evidence.note_b == to_usa  # evidence for the Art. 17 notification
    jpn_keys = filed.cluster.nodes["JPN"]._ctx.keys
    cosigned = cosign(to_jpn, jpn_keys, "gsomia/jpn/witness", at=filed.cluster.clock.now(),
                      log_verifiers=verifiers)  # fmt: skip
    with pytest.raises(ConsistencyError):  # the witness never vouches for the other branch
        cosign(to_usa, jpn_keys, "gsomia/jpn/witness", at=filed.cluster.clock.now(),
               log_verifiers=verifiers, previous=cosigned, proof=[])  # fmt: skip


def test_an_untampered_log_verifies(filed: Filed) -> None:
    """Control: the same traffic, no tampering: every node's file verifies."""
    for party in ("KOR", "JPN"):
        path = Path(str(filed.path).replace("/KOR/", f"/{party}/"))
        with SqliteAuditLog(path) as log:
            assert log.verify().ok
