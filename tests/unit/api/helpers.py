"""An API test bench: the three-node cluster of the node tests, an app per node, and tokens.

:class:`ProblemClient` is a ``TestClient`` that holds every response to the API's one error
rule: anything but 2xx is ``application/problem+json`` (RFC 9457) with the problem members, and
the status in the body is the status on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

from gsomia.api import create_app
from gsomia.audit.records import AuditRecord
from gsomia.labels import json_codec
from gsomia.policy import Official
from gsomia.ports import OfficialRecord, Role, Store, token_hash
from tests.conftest import make_label
from tests.unit.node.cluster import (
    JPN_NO_DUTY,
    JPN_READER,
    NOW,
    PAYLOAD,
    RELEASER,
    Cluster,
    build,
)

KOR_SO = "kor-so-1"
JPN_SO = "jpn-so-1"
KOR_READER = "kor-reader-1"
PURPOSE = "early warning of NK missile launches"
PROBLEM = "application/problem+json"

__all__ = [
    "JPN_NO_DUTY",
    "JPN_READER",
    "JPN_SO",
    "KOR_READER",
    "KOR_SO",
    "PAYLOAD",
    "PROBLEM",
    "PURPOSE",
    "RELEASER",
    "Bench",
    "ProblemClient",
    "auth",
    "label_json",
    "release_body",
    "token",
]


def token(official_id: str) -> str:
    """The test token of an official (registered by :func:`bench`)."""
    return f"test-token-{official_id}"


def auth(official_id: str) -> dict[str, str]:
    """The ``Authorization`` header of an official."""
    return {"Authorization": f"Bearer {token(official_id)}"}


def label_json(**kwargs: Any) -> dict[str, Any]:
    """A KOR originator label in its canonical JSON form."""
    kwargs.setdefault("created", "2026-11-23T11:00:00+09:00")
    return json_codec.to_dict(make_label(**kwargs))


def release_body(**overrides: Any) -> dict[str, Any]:
    """A release of the test payload to JPN on NK-MISSILE (allowed under the ROK–JPN GSOMIA)."""
    body: dict[str, Any] = {
        "label": label_json(),
        "text": PAYLOAD.decode(),
        "topic": "NK-MISSILE",
        "purpose": PURPOSE,
        "recipients": ["JPN"],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


class ProblemClient(TestClient):
    """A test client that checks every non-2xx response is an RFC 9457 problem."""

    def request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        """Send, then hold an error response to the problem rule."""
        response = super().request(method, url, **kwargs)
        if not 200 <= response.status_code < 300:
            assert response.headers["content-type"] == PROBLEM, response.text
            problem = response.json()
            for member in ("type", "title", "status", "detail", "code", "instance"):
                assert member in problem, (member, problem)
            assert problem["status"] == response.status_code
            assert problem["type"].startswith("urn:gsomia:problem:")
            if response.status_code == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["cache-control"] == "no-store"
        return response


def _so(party: str, official_id: str) -> OfficialRecord:
    level = {"KOR": "군사II급비밀", "JPN": "極秘"}[party]
    return OfficialRecord(
        Official(official_id, party, level, frozenset({"NK-MISSILE"}), True),
        frozenset({Role.SECURITY_OFFICER}),
    )


@dataclass
class Bench:
    """The cluster, and a client on the KOR and the JPN node's API."""

    cluster: Cluster
    clients: dict[str, ProblemClient] = field(default_factory=dict)

    @property
    def kor(self) -> ProblemClient:
        return self.clients["KOR"]

    @property
    def jpn(self) -> ProblemClient:
        return self.clients["JPN"]

    def store(self, party: str) -> Store:
        return self.cluster.stores[party]

    def stored(self, party: str) -> tuple[int, int, int]:
        """(items, outbox messages, officials) held by ``party``'s node."""
        with self.store(party).read() as reader:
            return (
                len(reader.items(limit=1000)),
                len(reader.outbox(limit=1000)),
                len(reader.officials(limit=1000)),
            )

    def audit(self, party: str) -> list[AuditRecord]:
        return self.cluster.audit(party)


def bench(max_body: int = 64 * 1024) -> Bench:
    """A fresh cluster with a security officer per node and a token for every official."""
    cluster = build()
    out = Bench(cluster)
    extra = {"KOR": _so("KOR", KOR_SO), "JPN": _so("JPN", JPN_SO)}
    for party, record in extra.items():
        store = cluster.stores[party]
        with store.unit_of_work() as uow:
            uow.put_official(record)
            for official in uow.officials(limit=1000):
                uow.add_token(
                    official.official.id, token_hash(token(official.official.id)), created=NOW
                )
        out.clients[party] = ProblemClient(create_app(cluster.nodes[party], max_body=max_body))
    return out
