"""A node run as several processes on one store (issue 7's workers): an agreement event
recorded through one governs the very next decision of every other (Art. 21), as it does in the
process that recorded it.  Two node objects on one in-memory store, or on one SQLite file through
two connections, stand for two processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.agreements import Event, EventKind, State
from gsomia.catalog import builtin_registry
from gsomia.node import Node, ReleaseRequest
from gsomia.policy import Code
from gsomia.ports import Store
from gsomia.testing.fakes import InMemoryChannel
from tests.conftest import make_label
from tests.unit.node.cluster import (
    JPN_SECURITY,
    KOR_SECURITY,
    NOW,
    PAYLOAD,
    RELEASER,
    Cluster,
    build,
)

GSOMIA = "kor-jpn-gsomia-2016"
MARITIME = make_label(topics=("MARITIME-SECURITY",), created="2026-11-23T11:00:00+09:00")
PURPOSE = "maritime situational awareness"


@pytest.fixture(params=["memory", "sqlite"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Cluster:
    """KOR, JPN and USA with their security officers, on in-memory or SQLite stores."""
    if request.param == "memory":
        return build(custody=True)
    return build(lambda party: SqliteStore(tmp_path / f"{party}.db"), custody=True)


def worker(cluster: Cluster, party: str, tmp_path: Path) -> Node:
    """Another process of ``party``'s node: its own store handle on the same data, the same
    keys, and a consumer of the same inbound queue (as JetStream workers share one)."""
    store: Store = cluster.stores[party]
    if isinstance(store, SqliteStore):
        store = SqliteStore(tmp_path / f"{party}.db")  # a second connection, as a process has
    ctx = cluster.nodes[party]._ctx  # the node's own keys and trust
    channel = InMemoryChannel(cluster.network, party)
    return Node(party, builtin_registry(), store, channel, ctx.keys, ctx.trust, cluster.clock)


def maritime() -> ReleaseRequest:
    return ReleaseRequest(PAYLOAD, MARITIME, ["JPN"], "MARITIME-SECURITY", PURPOSE)


def test_a_termination_recorded_by_one_worker_stops_the_next_release_of_another(
    cluster: Cluster, tmp_path: Path
) -> None:
    other = worker(cluster, "KOR", tmp_path)
    assert other.release_many(RELEASER, [maritime()])[0].released  # registry read: in force
    terminated = Event(EventKind.TERMINATED, NOW, note="exchange of notes")
    cluster.nodes["KOR"].record_agreement_event(KOR_SECURITY, GSOMIA, terminated)
    single = other.release(RELEASER, PAYLOAD, MARITIME, ["JPN"], "MARITIME-SECURITY", PURPOSE)
    (batched,) = other.release_many(RELEASER, [maritime()])
    for refused in (single, batched):
        assert not refused.released
        assert Code.AGREEMENT_TERMINATED in refused.reasons
    assert other.registry.timeline(GSOMIA).segment_at(NOW).state is State.TERMINATED


def test_a_termination_recorded_by_one_worker_governs_acceptance_at_another(
    cluster: Cluster, tmp_path: Path
) -> None:
    """JPN's second worker takes the item from the channel; JPN's first recorded the end."""
    second = worker(cluster, "JPN", tmp_path)  # the worker that will receive
    cluster.nodes["JPN"].record_agreement_event(
        JPN_SECURITY, GSOMIA, Event(EventKind.TERMINATED, NOW, note="exchange of notes")
    )
    result = cluster.nodes["KOR"].release(
        RELEASER, PAYLOAD, MARITIME, ["JPN"], "MARITIME-SECURITY", PURPOSE
    )
    assert result.released  # KOR has not recorded it: its own record decides (Art. 21)
    cluster.nodes["KOR"].deliver_due()
    assert second.receive().messages == 1
    with cluster.stores["JPN"].read() as jpn:
        assert jpn.item(result.item_id) is None
        entry = jpn.inbox_entry(result.item_id)
    assert entry is not None
    assert Code.AGREEMENT_TERMINATED in entry.reasons


def test_nothing_recorded_elsewhere_leaves_the_registry_as_it_is(cluster: Cluster) -> None:
    kor = cluster.nodes["KOR"]
    before = kor.registry
    kor.refresh_agreements()
    assert kor.registry is before  # one look, nothing rebuilt
