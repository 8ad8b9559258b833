"""The KOR → JPN exchange with every node on PostgreSQL (issue 7 §1): release → receive → receipt.

Each node keeps its state in a schema of its own (``PostgresStore.for_node``) of one database in
the session's private server (tests/private_postgres.py), as the SQLite exchange keeps a file
each (test_node_sqlite.py); then every store is closed, opened again, and its log verified.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gsomia.adapters.postgres_store import PostgresStore
from gsomia.audit.records import AuditKind
from gsomia.node import NodeAccessDeniedError
from gsomia.ports import DeliveryState, ItemState, ReceiptDirection
from tests.private_postgres import PrivatePostgres
from tests.unit.node.cluster import (
    JPN_READER,
    JPN_SECURITY,
    PAYLOAD,
    RELEASER,
    Cluster,
    build,
    release_to_japan,
)


@pytest.fixture
def dsn(postgres: PrivatePostgres) -> str:
    return postgres.new_database("nodes")


@pytest.fixture
def cluster(dsn: str) -> Iterator[Cluster]:
    built = build(lambda party: PostgresStore.for_node(dsn, party), custody=True)
    yield built
    for store in built.stores.values():
        store.close()


def reopened(cluster: Cluster, dsn: str, party: str) -> PostgresStore:
    """Close ``party``'s store, open its schema again, and verify its audit log."""
    cluster.stores[party].close()
    cluster.stores[party] = again = PostgresStore.for_node(dsn, party)
    verified = again.verify_audit()
    assert verified.ok, verified.problems
    return again


def test_the_happy_path_on_postgresql_survives_reopening(cluster: Cluster, dsn: str) -> None:
    result = release_to_japan(cluster)
    assert result.released
    cluster.pump()
    assert cluster.nodes["JPN"].read(JPN_READER, result.item_id) == PAYLOAD

    with reopened(cluster, dsn, "JPN").read() as reader:
        held = reader.item(result.item_id)
        assert held is not None
        assert held.labels.marking_for("JPN") == ("JPN", "極秘")
        assert reader.receipt(result.item_id, "KOR", ReceiptDirection.ISSUED) is not None
        kinds = [reader.audit_entry(i).kind for i in range(reader.audit_size())]
        assert kinds == [AuditKind.ACCEPT, AuditKind.READ]
    with reopened(cluster, dsn, "KOR").read() as reader:
        entry = reader.outbox_entry(f"{result.item_id}:JPN")
        assert entry is not None
        assert entry.state is DeliveryState.ACKNOWLEDGED
        assert reader.receipt(result.item_id, "JPN", ReceiptDirection.RECEIVED) is not None
        assert reader.audit_size() == 2
    reopened(cluster, dsn, "USA")


def test_destruction_on_request_erases_the_copy_on_postgresql(cluster: Cluster, dsn: str) -> None:
    result = release_to_japan(cluster)
    assert result.released
    cluster.pump()
    request = cluster.nodes["KOR"].request_disposal(
        RELEASER, result.item_id, "JPN", "destroy", "no longer needed"
    )
    cluster.pump()
    cluster.nodes["JPN"].execute_disposal(JPN_SECURITY, request.disposal_id)
    cluster.pump()
    with pytest.raises(NodeAccessDeniedError):
        cluster.nodes["JPN"].read(JPN_READER, result.item_id)
    with reopened(cluster, dsn, "JPN").read() as reader:
        item = reader.item(result.item_id)
        assert item is not None
        assert (item.state, item.sealed) == (ItemState.DESTROYED, None)
    with reopened(cluster, dsn, "KOR").read() as reader:
        done = reader.disposal(request.disposal_id)
        assert done is not None
        assert done.certificate is not None
