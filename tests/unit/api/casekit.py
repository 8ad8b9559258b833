"""The bench of the case API tests: the three-node cluster with its security officers
(``build(custody=True)``), an app per node, a token per official, and a snapshot of everything
a node stores, to show that a refused request stored nothing but its audit record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from gsomia.api import create_app
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.ports import Store, token_hash
from tests.unit.api.helpers import ProblemClient, auth, token
from tests.unit.node.cluster import (
    JPN_READER,
    JPN_RELEASER,
    JPN_SECURITY,
    KOR_READER,
    KOR_SECURITY,
    NOW,
    PAYLOAD,
    RELEASER,
    USA_READER,
    USA_SECURITY,
    Cluster,
    build,
    release_to_japan,
)

__all__ = [
    "JPN_READER",
    "JPN_RELEASER",
    "JPN_SECURITY",
    "KOR_READER",
    "KOR_SECURITY",
    "NOW",
    "PAYLOAD",
    "RELEASER",
    "USA_READER",
    "USA_SECURITY",
    "CaseBench",
    "auth",
    "case_bench",
]


@dataclass
class CaseBench:
    """The cluster and a problem-checking client on each node's API."""

    cluster: Cluster
    clients: dict[str, TestClient] = field(default_factory=dict)

    @property
    def kor(self) -> TestClient:
        return self.clients["KOR"]

    @property
    def jpn(self) -> TestClient:
        return self.clients["JPN"]

    @property
    def usa(self) -> TestClient:
        return self.clients["USA"]

    def store(self, party: str) -> Store:
        return self.cluster.stores[party]

    def audit(self, party: str) -> list[AuditRecord]:
        return self.cluster.audit(party)

    def pump(self) -> None:
        self.cluster.pump()

    def held_at_jpn(self) -> str:
        """KOR releases the test payload to JPN, and it arrives; the item's id."""
        result = release_to_japan(self.cluster)
        assert result.released, result.reasons
        self.pump()
        return result.item_id

    def snapshot(self, party: str) -> tuple[Any, ...]:
        """Everything ``party``'s node stores but its audit log."""
        with self.store(party).read() as r:
            items = r.items(limit=1000)
            return (
                [(i.item_id, i.state, i.labels) for i in items],
                [(e.key, e.state) for e in r.outbox(limit=1000)],
                r.officials(limit=1000),
                r.consent_requests(limit=1000),
                [r.consents_for(i.item_id) for i in items],
                r.breaches(limit=1000),
                r.disposals(limit=1000),
                r.visits(limit=1000),
                r.agreement_events(limit=1000),
                [r.reclassifications(i.item_id) for i in items],
            )

    def refused(
        self, party: str, method: str, url: str, who: str | None, **kwargs: Any
    ) -> tuple[dict[str, Any], list[AuditRecord]]:
        """Send a request that must be refused; its problem and the audit records it added,
        after checking that nothing else was stored."""
        before, size = self.snapshot(party), len(self.audit(party))
        headers = {**(auth(who) if who else {}), **kwargs.pop("headers", {})}
        response = self.clients[party].request(method, url, headers=headers, **kwargs)
        assert response.status_code >= 400, response.text
        assert self.snapshot(party) == before, response.text
        return response.json(), self.audit(party)[size:]


def denied(records: list[AuditRecord], kind: AuditKind, code: str) -> bool:
    """Whether ``records`` is exactly one ``deny`` of ``kind`` with reason ``code``."""
    return [(r.kind, r.decision, r.reasons) for r in records] == [(kind, "deny", (code,))]


def case_bench() -> CaseBench:
    """A fresh cluster with the custody officials and a token for every official."""
    cluster = build(custody=True)
    out = CaseBench(cluster)
    for party, store in cluster.stores.items():
        with store.unit_of_work() as uow:
            for official in uow.officials(limit=1000):
                uow.add_token(
                    official.official.id, token_hash(token(official.official.id)), created=NOW
                )
        out.clients[party] = ProblemClient(create_app(cluster.nodes[party], max_body=64 * 1024))
    return out


def body_of(response: Any, status: int) -> dict[str, Any]:
    """The JSON of a response that must have ``status``."""
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data
