"""Three national nodes (KOR, JPN, USA) on fakes or SQLite, with real keys and officials."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.catalog import builtin_registry
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.node import Node
from gsomia.node.framing import FrameKind, decode
from gsomia.policy import Official
from gsomia.ports import OfficialRecord, OutboxEntry, Role, Store
from gsomia.testing import InMemoryNetwork, InMemoryStore, ManualClock
from tests.conftest import at, make_label

NOW = at("2026-11-23T12:00:00+09:00")
PARTIES = ("KOR", "JPN", "USA")
RELEASER = "kor-release-1"
JPN_READER = "jpn-analyst-1"  # 極秘, on duty for NK-MISSILE
JPN_NO_DUTY = "jpn-analyst-2"  # 極秘, on duty for maritime security only
KOR_SECURITY = "kor-security-1"  # decides consent requests (Art. 6)
KOR_READER = "kor-reader-1"
JPN_RELEASER = "jpn-release-1"  # releases JPN's items; requests consent and forwards (Art. 6)
JPN_SECURITY = "jpn-security-1"
USA_SECURITY = "usa-security-1"
USA_RELEASER = "usa-release-1"
USA_READER = "usa-analyst-1"  # SECRET, on duty for NK-MISSILE
USA_NO_DUTY = "usa-analyst-2"  # SECRET, on duty for exercises only
TISA_ERA = at("2015-06-01T12:00:00+09:00")  # before the ROK-JPN GSOMIA: KOR → USA → JPN only
PAYLOAD = "북한 탄도미사일 발사 (NK ballistic missile launch)".encode()


def officials(party: str) -> list[OfficialRecord]:
    """The directory of each node (Art. 7: clearance under national law, duties as topics)."""
    if party == "KOR":
        return [
            OfficialRecord(
                Official(RELEASER, "KOR", "군사II급비밀", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.RELEASE_OFFICER, Role.READER}),
            ),
            OfficialRecord(
                Official(KOR_READER, "KOR", "군사II급비밀", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.READER}),
            ),
        ]
    if party == "JPN":
        return [
            OfficialRecord(
                Official(JPN_READER, "JPN", "極秘", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.READER}),
            ),
            OfficialRecord(
                Official(JPN_NO_DUTY, "JPN", "極秘", frozenset({"MARITIME-SECURITY"}), True),
                frozenset({Role.READER}),
            ),
        ]
    return []


def custody_officials(party: str) -> list[OfficialRecord]:
    """The officials the relay and consent tests add (``build(custody=True)``): security
    officers who decide consent (Art. 6), JPN's release officer, the USA's directory."""
    if party == "KOR":
        return [
            OfficialRecord(
                Official(KOR_SECURITY, "KOR", "군사II급비밀", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.SECURITY_OFFICER}),
            )
        ]
    if party == "JPN":
        return [
            OfficialRecord(
                Official(JPN_RELEASER, "JPN", "極秘", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.RELEASE_OFFICER, Role.READER}),
            ),
            OfficialRecord(
                Official(JPN_SECURITY, "JPN", "極秘", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.SECURITY_OFFICER}),
            ),
        ]
    if party == "USA":
        return [
            OfficialRecord(
                Official(USA_SECURITY, "USA", "SECRET", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.SECURITY_OFFICER}),
            ),
            OfficialRecord(
                Official(USA_RELEASER, "USA", "SECRET", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.RELEASE_OFFICER}),
            ),
            OfficialRecord(
                Official(USA_READER, "USA", "SECRET", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.READER}),
            ),
            OfficialRecord(
                Official(USA_NO_DUTY, "USA", "SECRET", frozenset({"EXERCISES"}), True),
                frozenset({Role.READER}),
            ),
        ]
    return []


@dataclass
class Cluster:
    """Nodes by party on one network and one manual clock."""

    network: InMemoryNetwork
    clock: ManualClock
    stores: dict[str, Store]
    nodes: dict[str, Node] = field(default_factory=dict)

    def pump(self, rounds: int = 4, step: timedelta = timedelta(0)) -> None:
        """Deliver and receive on every node, ``rounds`` times, moving the clock by ``step``."""
        for _ in range(rounds):
            for node in self.nodes.values():
                node.deliver_due()
            for node in self.nodes.values():
                node.receive()
            self.clock.advance(step)

    def audit(self, party: str) -> list[AuditRecord]:
        """The audit log of ``party``'s node."""
        with self.stores[party].read() as reader:
            return [reader.audit_entry(i) for i in range(reader.audit_size())]

    def kinds(self, party: str) -> list[tuple[AuditKind, str | None]]:
        """``(kind, decision)`` of each audit record of ``party``'s node."""
        return [(r.kind, r.decision) for r in self.audit(party)]


def build(
    store_for: Callable[[str], Store] | None = None,
    *,
    start: datetime = NOW,
    custody: bool = False,
) -> Cluster:
    """A cluster of KOR, JPN and USA nodes at ``start``, keys generated and trust exchanged;
    with ``custody``, the officials of :func:`custody_officials` too."""
    registry = builtin_registry()
    clock = ManualClock(start)
    network = InMemoryNetwork()
    keys = {p: NodeKeys.generate(p, start - timedelta(days=1)) for p in PARTIES}
    stores = {p: (store_for or (lambda _: InMemoryStore()))(p) for p in PARTIES}
    cluster = Cluster(network, clock, stores)
    for party in PARTIES:
        trust = TrustStore()
        for other in PARTIES:
            if other != party:
                trust = trust.add_bundle(keys[other].public_bundle())
        with stores[party].unit_of_work() as uow:
            for record in officials(party) + (custody_officials(party) if custody else []):
                uow.put_official(record)
        cluster.nodes[party] = Node(
            party, registry, stores[party], network.channel(party), keys[party], trust, clock
        )
    return cluster


def release_to_japan(cluster: Cluster, level: str = "군사II급비밀"):  # type: ignore[no-untyped-def]
    """KOR's release officer releases the payload to JPN on NK-MISSILE."""
    return cluster.nodes["KOR"].release(
        RELEASER,
        PAYLOAD,
        make_label(level=level, created="2026-11-23T11:00:00+09:00"),
        ["JPN"],
        "NK-MISSILE",
        "early warning of NK missile launches",
    )


PURPOSE = "early warning of NK missile launches"


def release_via_hub(  # type: ignore[no-untyped-def]
    cluster: Cluster,
    *,
    originator: str = "KOR",
    recipient: str = "JPN",
    topic: str = "NK-MISSILE",
    **kwargs,
):
    """The originator's release officer releases to ``recipient`` in the TISA era (via USA)."""
    if originator == "KOR":
        actor, level = RELEASER, "군사II급비밀"
    else:
        actor, level = JPN_RELEASER, "極秘"
    label = make_label(
        level=level,
        originator=originator,
        topics=(topic,),
        created="2015-06-01T11:00:00+09:00",
    )
    return cluster.nodes[originator].release(
        actor, PAYLOAD, label, [recipient], topic, PURPOSE, **kwargs
    )


def only_a_negative_receipt(outbox: list[OutboxEntry], item_id: str, to: str) -> None:
    """``outbox`` holds one message: the batch receipt refusing ``item_id``, to ``to`` (ADR 0011)."""
    (entry,) = outbox
    assert (entry.message.kind, entry.message.recipient) == ("receipt", to)
    frame = decode(entry.message.payload)
    assert frame.kind is FrameKind.RECEIPTS
    *_, line = frame.body.split(b"\n")  # one entry: the full form of a batch of one
    value = json.loads(line)
    assert (value[0], value[2]) == (item_id, "refused")
