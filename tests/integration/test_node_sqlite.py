"""The KOR → JPN exchange on SQLite node files: durable, reopened, audit logs verified (ADR 0004)."""

from __future__ import annotations

from pathlib import Path

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.audit.records import AuditKind
from gsomia.ports import DeliveryState, ReceiptDirection
from tests.unit.node.cluster import JPN_READER, PAYLOAD, build, release_to_japan


def test_the_happy_path_on_sqlite_survives_reopening(tmp_path: Path) -> None:
    cluster = build(lambda party: SqliteStore.in_data_dir(tmp_path / party))
    result = release_to_japan(cluster)
    assert result.released
    cluster.pump()
    assert cluster.nodes["JPN"].read(JPN_READER, result.item_id) == PAYLOAD
    paths = {party: store.path for party, store in cluster.stores.items()}
    for store in cluster.stores.values():
        store.close()

    kor, jpn = SqliteStore(paths["KOR"]), SqliteStore(paths["JPN"])
    try:
        with jpn.read() as reader:
            held = reader.item(result.item_id)
            assert held is not None
            assert held.labels.marking_for("JPN") == ("JPN", "極秘")
            assert reader.receipt(result.item_id, "KOR", ReceiptDirection.ISSUED) is not None
            kinds = [reader.audit_entry(i).kind for i in range(reader.audit_size())]
            assert kinds == [AuditKind.ACCEPT, AuditKind.READ]
        with kor.read() as reader:
            entry = reader.outbox_entry(f"{result.item_id}:JPN")
            assert entry is not None
            assert entry.state is DeliveryState.ACKNOWLEDGED
            assert reader.receipt(result.item_id, "JPN", ReceiptDirection.RECEIVED) is not None
    finally:
        kor.close()
        jpn.close()
    for party in ("KOR", "JPN", "USA"):
        verified = SqliteAuditLog(paths[party]).verify()
        assert verified.ok, verified.problems
    assert SqliteAuditLog(paths["KOR"]).verify().size == 2
