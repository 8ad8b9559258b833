"""A three-server JetStream cluster loses one server mid-exchange, ``kill -9`` (issue 7 §2).

Every node's stream is replicated on the three servers (``replicas=3``); the nodes' clients know
all three.  One server is killed while items flow KOR → JPN: the nodes' clients
reconnect to the others, the stream keeps its quorum (electing a new leader if it lost it), the
publishes that failed meanwhile are retried by the outbox, and every item is accepted exactly
once, with every delivery receipted and every audit log verified.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from tests.integration.test_nats_exchange import NatsCluster
from tests.private_nats import PrivateNats
from tests.unit.node.cluster import PARTIES, release_to_japan

pytestmark = pytest.mark.integration

ROUND = 20


@pytest.fixture
def three() -> Iterator[PrivateNats]:
    deployment = PrivateNats.start_cluster()
    yield deployment
    deployment.stop()


def test_items_survive_the_loss_of_one_of_three_servers(three: PrivateNats, tmp_path: Path) -> None:
    cluster = NatsCluster(three, tmp_path, replicas=3, ack_wait=5.0, timeout=3.0)
    try:
        ids = [release_to_japan(cluster).item_id for _ in range(ROUND)]
        cluster.pump(
            until=lambda: cluster.acknowledged("KOR", f"{ids[0]}:JPN"), step=timedelta(seconds=1)
        )
        three.servers[0].kill()  # kill -9, mid-exchange: its replicas and its clients go
        ids += [release_to_japan(cluster).item_id for _ in range(ROUND)]
        cluster.pump(
            until=lambda: all(cluster.acknowledged("KOR", f"{i}:JPN") for i in ids),
            rounds=600,
            step=timedelta(seconds=2),  # the outbox's backoff lets failed publishes fall due
        )
        accepted = Counter(cluster.accepted("JPN"))
        assert accepted == Counter(dict.fromkeys(ids, 1))
    finally:
        cluster.close()
    for party in PARTIES:
        verified = SqliteAuditLog(tmp_path / party / "node.sqlite").verify()
        assert verified.ok, verified.problems
