"""A running KOR node (and its JPN partner) with officials of every role and some history.

:func:`start_nodes` is shared by ``tests/conformance/test_schemathesis.py`` and
``bench/schemathesis.py``: two real ``gsomia node serve`` processes (:class:`LocalCluster`:
SQLite files, keys, the loopback channel), officials enrolled through the API with real tokens,
and a small history made through the API as an integrator would, so that the conformance run
reaches the deep paths of each route and not only its 404s:

* KOR releases an item to JPN (``own_item``), JPN releases one to KOR (``held_item``);
* KOR's release officer asks JPN for consent to forward ``held_item`` to the USA (a pending
  consent request at both nodes); JPN asks KOR to destroy its copy (a pending disposal at KOR);
* a KOR analyst reports a possible compromise of ``held_item`` (a breach at KOR and at JPN);
* KOR's security officer asks JPN to host a visit (a visit at both nodes).

:attr:`Running.ids` names one record of each kind, by the path parameter that takes it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from gsomia.runtime.client import ApiClient
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.scenario import MISSILE, OFFICIALS, PURPOSE, missile_label

__all__ = ["ROLES", "Running", "start_nodes"]

SENSOR: Final = {
    "id": "kor-sensor-1",
    "nationality": "KOR",
    "clearance": "군사II급비밀",
    "duties": [MISSILE],
    "roles": ["sensor_feed"],
    "in_register": True,
    "rank": "",
    "post": "",
    "active": True,
}
ROLES: Final = {
    "security_officer": "officer",
    "release_officer": "kor-release-1",
    "reader": "kor-analyst-1",
    "sensor_feed": "kor-sensor-1",
}
"""The KOR official holding each role (``officer`` is the node's first security officer)."""


@dataclass
class Running:
    """The KOR node under test: its API address, a token per role, a record of each kind."""

    cluster: LocalCluster
    api_url: str
    tokens: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    def client(self, role: str = "security_officer") -> ApiClient:
        """An API client of the KOR node acting in ``role``."""
        return ApiClient(self.api_url, self.tokens[role])


def _wait(what: str, found: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"the nodes did not {what} in {timeout:.0f} s")


def _release(client: ApiClient, sender: str, recipient: str, text: str) -> str:
    body = {
        "label": missile_label(sender, {"KOR": "군사II급비밀", "JPN": "極秘"}[sender],
                               datetime.now(UTC) - timedelta(minutes=1)),
        "text": text,
        "topic": MISSILE,
        "purpose": PURPOSE,
        "recipients": [recipient],
    }  # fmt: skip
    answer = client.json("POST", "/v1/items", body=body)
    assert answer["released"] is True, answer
    return str(answer["item_id"])


def _seed(cluster: LocalCluster) -> dict[str, str]:
    kor, jpn = cluster.nodes["KOR"], cluster.nodes["JPN"]
    kor_release, jpn_release = kor.client("kor-release-1"), jpn.client("jpn-release-1")
    own = _release(kor_release, "KOR", "JPN", "KOR track report (conformance run)")
    held = _release(jpn_release, "JPN", "KOR", "JPN track report (conformance run)")

    def arrived() -> bool:
        return any(i["id"] == held for i in kor.client().json("GET", "/v1/items")["items"])

    _wait("deliver the JPN item", arrived)
    consent = kor_release.json(
        "POST",
        f"/v1/items/{held}/consent-requests",
        body={"third_party": "USA", "purpose": PURPOSE},
    )
    disposal = jpn.client().json(
        "POST",
        f"/v1/items/{held}/disposal-requests",
        body={"holder": "KOR", "action": "destroy", "reason": "no longer needed"},
    )
    breach = kor.client("kor-analyst-1").json(
        "POST",
        "/v1/breaches",
        body={"item_id": held, "kind": "possible", "description": "a laptop was left unattended"},
    )
    start = datetime.now(UTC) + timedelta(days=30)
    visit = kor.client().json(
        "POST",
        "/v1/visits",
        body={
            "visitor": {"name": "KIM Min-jun", "nationality": "KOR", "clearance": "군사II급비밀"},
            "host": "JPN",
            "purpose": "missile warning data exchange procedures",
            "start": start.isoformat(),
            "end": (start + timedelta(days=2)).isoformat(),
        },
    )

    def disposal_arrived() -> bool:
        return bool(kor.client().json("GET", "/v1/disposals", params={"item_id": held})["items"])

    _wait("deliver the disposal request", disposal_arrived)
    assert disposal["disposal_id"]
    return {
        "own_item": own,
        "held_item": held,
        "request_id": str(consent["request_id"]),
        "consent_id": str(consent["request_id"]),  # a consent's id is its request's
        "disposal_id": str(disposal["disposal_id"]),
        "breach_id": str(breach["breach_id"]),
        "visit_id": str(visit["visit_id"]),
        "official_id": "kor-analyst-1",
        "agreement_id": "kor-jpn-gsomia-2016",
    }


@contextmanager
def start_nodes(workdir: Path) -> Iterator[Running]:
    """Start KOR and JPN under ``workdir``, enrol their officials, make a history; stop after."""
    cluster = LocalCluster(workdir, ("KOR", "JPN"))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    cluster.start()
    try:
        cluster.enrol({"KOR": [*OFFICIALS["KOR"], SENSOR], "JPN": OFFICIALS["JPN"]})
        kor = cluster.nodes["KOR"]
        tokens = {role: kor.tokens[official] for role, official in ROLES.items()}
        running = Running(cluster, kor.api_url, tokens, _seed(cluster))
        yield running
    finally:
        cluster.stop()
