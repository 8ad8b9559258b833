"""The authorisation matrix's bench: a KOR node on a real SQLite store, with a history, per cell.

:func:`template` builds, once, KOR, JPN and USA nodes on SQLite files (real keys, the in-memory
network between them) and makes a history through the node service: items each way, consent
requests each way (one pending, one granted), disposal requests each way, a breach reported here
and one notified by JPN, a visit each way.  KOR's file is then closed and kept as a template.

:func:`fresh` copies the template to a new file and serves it with a new :class:`Node` and app,
so each cell of the matrix starts from the same state and one cell's success cannot change
another's outcome.  :func:`table_contents` reads every table but the audit log's, to prove that a
denial left no state; :func:`audit_since` the records a denial added.

The callers (:data:`CALLERS`) are KOR's officials of each role, and the callers that must never
get in: no token, a token the node never issued, the token of an official whose token was
revoked, of an official made inactive, of a JPN official (valid at JPN only), and JPN's node
itself, sending a request signed with its channel key (ADR 0005) to an official route.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from fastapi.testclient import TestClient

from gsomia.adapters.http_channel import sign_request
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.api import create_app
from gsomia.audit.records import AuditRecord
from gsomia.catalog import builtin_registry
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.node import Node
from gsomia.policy import Official
from gsomia.ports import OfficialRecord, Role, Store, Visitor, token_hash
from gsomia.testing import InMemoryNetwork, ManualClock
from tests.conftest import make_label
from tests.unit.node.cluster import NOW, PARTIES, PAYLOAD, PURPOSE, custody_officials, officials

__all__ = ["CALLERS", "Cell", "Fresh", "Template", "audit_since", "fresh", "template"]

LEVEL: Final = {"KOR": "군사II급비밀", "JPN": "極秘", "USA": "SECRET"}
KOR_SENSOR: Final = "kor-sensor-1"
KOR_REVOKED: Final = "kor-revoked-1"
KOR_INACTIVE: Final = "kor-inactive-1"
OFFICIAL_OF: Final = {
    "security_officer": "kor-security-1",
    "release_officer": "kor-release-1",
    "reader": "kor-reader-1",
    "sensor_feed": KOR_SENSOR,
    "revoked_token": KOR_REVOKED,
    "inactive_official": KOR_INACTIVE,
    "other_node_official": "jpn-security-1",
}
CALLERS: Final = (
    "security_officer",
    "release_officer",
    "reader",
    "sensor_feed",
    "no_token",
    "garbage_token",
    "revoked_token",
    "inactive_official",
    "other_node_official",
    "partner_node_signed",
)
"""Who calls, in the order the matrix's columns name them."""


def token(official_id: str) -> str:
    """The API token of an official of the bench."""
    return f"gsomia-matrix-token-{official_id}"


def _record(oid: str, party: str, roles: set[Role], *, active: bool = True) -> OfficialRecord:
    official = Official(oid, party, LEVEL[party], frozenset({"NK-MISSILE"}), True)
    return OfficialRecord(official, frozenset(roles), active=active)


@dataclass
class Template:
    """KOR's seeded store file, the nodes' keys and trust, and the ids of KOR's records."""

    path: Path
    keys: dict[str, NodeKeys]
    trust: TrustStore
    ids: dict[str, str]


def _release(node: Node, actor: str, originator: str, recipient: str) -> str:
    label = make_label(level=LEVEL[originator], originator=originator,
                       created="2026-11-23T11:00:00+09:00")  # fmt: skip
    result = node.release(actor, PAYLOAD, label, [recipient], "NK-MISSILE", PURPOSE)
    assert result.released, result.reasons
    return result.item_id


def template(workdir: Path) -> Template:
    """Build and seed the three nodes under ``workdir``; keep KOR's closed store file."""
    registry = builtin_registry()
    clock = ManualClock(NOW)
    network = InMemoryNetwork()
    keys = {p: NodeKeys.generate(p, NOW - timedelta(days=1)) for p in PARTIES}
    stores: dict[str, Store] = {p: SqliteStore(workdir / f"{p}.sqlite") for p in PARTIES}
    nodes: dict[str, Node] = {}
    trusts: dict[str, TrustStore] = {}
    extra = {
        "KOR": [
            _record(KOR_SENSOR, "KOR", {Role.SENSOR_FEED}),
            _record(KOR_REVOKED, "KOR", {Role.SECURITY_OFFICER}),
            _record(KOR_INACTIVE, "KOR", {Role.SECURITY_OFFICER}, active=False),
        ]
    }
    for party in PARTIES:
        trust = TrustStore()
        for other in PARTIES:
            if other != party:
                trust = trust.add_bundle(keys[other].public_bundle())
        trusts[party] = trust
        with stores[party].unit_of_work() as uow:
            for rec in officials(party) + custody_officials(party) + extra.get(party, []):
                uow.put_official(rec)
                uow.add_token(rec.official.id, token_hash(token(rec.official.id)), created=NOW)
            if party == "KOR":
                uow.revoke_token(token_hash(token(KOR_REVOKED)), at=NOW)
        nodes[party] = Node(party, registry, stores[party], network.channel(party), keys[party],
                            trust, clock)  # fmt: skip

    def pump() -> None:
        for _ in range(4):
            for node in nodes.values():
                node.deliver_due()
            for node in nodes.values():
                node.receive()

    kor, jpn = nodes["KOR"], nodes["JPN"]
    kor_so = kor.authenticate(token("kor-security-1"))
    jpn_so = jpn.authenticate(token("jpn-security-1"))
    kor_rel = kor.authenticate(token("kor-release-1"))
    jpn_rel = jpn.authenticate(token("jpn-release-1"))
    own = _release(kor, "kor-release-1", "KOR", "JPN")
    partner = _release(jpn, "jpn-release-1", "JPN", "KOR")
    pump()
    sent = kor.request_consent(kor_rel, partner, "USA", PURPOSE, None)  # JPN decides
    received = jpn.request_consent(jpn_rel, own, "USA", PURPOSE, None)  # KOR decides
    granted = jpn.request_consent(jpn_rel, own, "USA", "a second purpose: training", None)
    pump()
    kor.decide_consent(kor_so, granted.request_id, True)
    disposal_received = jpn.request_disposal(jpn_so, partner, "KOR", "destroy", "not needed")
    disposal_sent = kor.request_disposal(kor_so, own, "JPN", "destroy", "not needed")
    pump()
    breach_here = kor.report_breach(kor.authenticate(token("kor-reader-1")), partner, "possible",
                                    "a laptop was left unattended")  # fmt: skip
    breach_there = jpn.report_breach(jpn_so, own, "possible", "a document was misfiled")
    visit_from = _visit(jpn, jpn_so, "JPN", "KOR", clock)  # KOR hosts and decides
    visit_to = _visit(kor, kor_so, "KOR", "JPN", clock)
    pump()
    for store in stores.values():
        store.close()
    ids = {
        "own_item": own,
        "partner_item": partner,
        "received_request": received.request_id,
        "sent_request": sent.request_id,
        "granted_consent": granted.request_id,
        "received_disposal": disposal_received.disposal_id,
        "sent_disposal": disposal_sent.disposal_id,
        "breach_here": breach_here.breach_id,
        "breach_there": breach_there.breach_id,
        "visit_from_partner": visit_from.visit_id,
        "visit_to_partner": visit_to.visit_id,
    }
    return Template(workdir / "KOR.sqlite", keys, trusts["KOR"], ids)


def _visit(node: Node, actor: OfficialRecord, party: str, host: str, clock: ManualClock) -> Any:
    start = clock.now() + timedelta(days=30)
    visitor = Visitor("KIM Min-jun" if party == "KOR" else "SATO Hana", party, LEVEL[party], "")
    return node.request_visit(actor, visitor, host, "missile warning procedures", start,
                              start + timedelta(days=2))  # fmt: skip


@dataclass
class Fresh:
    """One cell's KOR node: its store file, its app client, and JPN's keys to sign with."""

    store: SqliteStore
    path: Path
    client: TestClient
    jpn_keys: NodeKeys

    def headers(self, caller: str, method: str, path: str, body: bytes) -> dict[str, str]:
        """The headers with which ``caller`` sends this request."""
        if caller in OFFICIAL_OF:
            return {"Authorization": f"Bearer {token(OFFICIAL_OF[caller])}"}
        if caller == "garbage_token":
            return {"Authorization": "Bearer gsomia_kor_0000000000000000000000"}
        if caller == "partner_node_signed":  # JPN's node, signed as on the channel (ADR 0005)
            signed = sign_request(self.jpn_keys, recipient="KOR", now=NOW, nonce=uuid.uuid4().hex,
                                  idempotency_key=uuid.uuid4().hex, body=body, path=path)  # fmt: skip
            # typed as JSON, as an API call is, so that it reaches the token check
            return {**signed, "Content-Type": "application/json"}
        assert caller == "no_token", caller
        return {}


def fresh(tpl: Template, workdir: Path) -> Fresh:
    """A KOR node and app on a copy of the template's store."""
    path = workdir / f"kor-{uuid.uuid4().hex}.sqlite"
    shutil.copyfile(tpl.path, path)
    store = SqliteStore(path)
    node = Node("KOR", builtin_registry(), store, InMemoryNetwork().channel("KOR"),
                tpl.keys["KOR"], tpl.trust, ManualClock(NOW))  # fmt: skip
    return Fresh(store, path, TestClient(create_app(node)), tpl.keys["JPN"])


def table_contents(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit log's (and SQLite's own)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            name: sorted(db.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in names
            if not name.startswith(("audit", "sqlite_"))
        }


def audit_since(store: Store, start: int) -> list[AuditRecord]:
    """The audit records appended from index ``start`` on."""
    with store.read() as reader:
        return [reader.audit_entry(i) for i in range(start, reader.audit_size())]


Cell = Callable[[Fresh, str], Any]
