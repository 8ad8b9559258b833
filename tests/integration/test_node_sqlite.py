"""The KOR → JPN exchange on SQLite node files: durable, reopened, audit logs verified (ADR 0004)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.agreements import Event, EventKind, State
from gsomia.audit.records import AuditKind
from gsomia.catalog import builtin_registry
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.node import Node, NodeAccessDeniedError
from gsomia.ports import (
    BreachStatus,
    DeliveryState,
    DisposalState,
    ItemState,
    ReceiptDirection,
    Visitor,
    VisitState,
)
from gsomia.testing import InMemoryNetwork
from tests.unit.node.cluster import (
    JPN_READER,
    JPN_SECURITY,
    KOR_SECURITY,
    NOW,
    PAYLOAD,
    RELEASER,
    Cluster,
    build,
    release_to_japan,
)


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


# -- cases on SQLite: breaches, reclassification and disposal, visits, agreement events ----------
# (Arts. 6, 8, 13, 17, 21; node/breach.py and kin; ADR 0006)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    built = build(lambda party: SqliteStore.in_data_dir(tmp_path / party), custody=True)
    yield built
    for store in built.stores.values():
        store.close()


def reopened(cluster: Cluster, party: str) -> SqliteStore:
    """Close ``party``'s store, verify its audit log, and open the file again."""
    store = cluster.stores[party]
    assert isinstance(store, SqliteStore)
    store.close()
    verified = SqliteAuditLog(store.path).verify()
    assert verified.ok, verified.problems
    cluster.stores[party] = again = SqliteStore(store.path)
    return again


def released(cluster: Cluster) -> str:
    result = release_to_japan(cluster)
    assert result.released
    cluster.pump()
    return result.item_id


def test_a_breach_and_its_investigation_survive_reopening(cluster: Cluster) -> None:
    item_id = released(cluster)
    jpn = cluster.nodes["JPN"]
    breach = jpn.report_breach(JPN_READER, item_id, "actual", "printout missing from safe")
    closed = jpn.update_breach(JPN_SECURITY, breach.breach_id, status="closed", measures="audit")
    cluster.pump()
    for party in ("KOR", "JPN"):
        with reopened(cluster, party).read() as reader:
            assert reader.breach(breach.breach_id) == closed
            assert closed.status is BreachStatus.CLOSED


def test_reclassification_and_destruction_survive_reopening(cluster: Cluster) -> None:
    item_id = released(cluster)
    cluster.nodes["KOR"].reclassify(RELEASER, item_id, "군사III급비밀")
    cluster.pump()
    request = cluster.nodes["KOR"].request_disposal(RELEASER, item_id, "JPN", "destroy", "done")
    cluster.pump()
    cluster.nodes["JPN"].execute_disposal(JPN_SECURITY, request.disposal_id)
    with pytest.raises(NodeAccessDeniedError):
        cluster.nodes["JPN"].read(JPN_READER, item_id)
    cluster.pump()
    with reopened(cluster, "JPN").read() as reader:
        item = reader.item(item_id)
        assert item is not None
        assert (item.state, item.sealed) == (ItemState.DESTROYED, None)
        assert item.labels.marking_for("JPN") == ("JPN", "秘")
        assert [r.seq for r in reader.reclassifications(item_id)] == [1]
    with reopened(cluster, "KOR").read() as reader:
        done = reader.disposal(request.disposal_id)
        assert done is not None
        assert done.state is DisposalState.COMPLETED
        assert done.certificate is not None


def test_a_visit_decision_survives_reopening(cluster: Cluster) -> None:
    start = NOW + timedelta(days=3)
    visitor = Visitor("KIM Min-jun", "KOR", "군사II급비밀")
    visit = cluster.nodes["KOR"].request_visit(
        KOR_SECURITY, visitor, "JPN", "liaison", start, start + timedelta(days=1)
    )
    cluster.pump()
    cluster.nodes["JPN"].decide_visit(JPN_SECURITY, visit.visit_id, approve=True, level="秘")
    cluster.pump()
    for party in ("KOR", "JPN"):
        with reopened(cluster, party).read() as reader:
            stored = reader.visit(visit.visit_id)
            assert stored is not None
            assert (stored.state, stored.level) == (VisitState.APPROVED, "秘")


def test_recorded_agreement_events_apply_after_a_restart(cluster: Cluster) -> None:
    terminated = Event(EventKind.TERMINATED, NOW, note="exchange of notes")
    cluster.nodes["KOR"].record_agreement_event(KOR_SECURITY, "kor-jpn-gsomia-2016", terminated)
    store = reopened(cluster, "KOR")
    node = Node(
        "KOR", builtin_registry(), store, InMemoryNetwork().channel("KOR"),
        NodeKeys.generate("KOR", NOW - timedelta(days=1)), TrustStore(), cluster.clock,
    )  # fmt: skip
    segment = node.registry.timeline("kor-jpn-gsomia-2016").segment_at(NOW)
    assert segment.state is State.TERMINATED
