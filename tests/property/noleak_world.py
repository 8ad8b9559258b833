"""Three real nodes (KOR, JPN, USA) for the no-leak machine: SQLite stores, lossy wire, restarts.

Each node is a real :class:`gsomia.node.Node` over a real :class:`SqliteStore` in a temporary
directory (its audit log in the same file), real keys and trust stores, on one
:class:`~gsomia.testing.InMemoryNetwork` and one :class:`~gsomia.testing.ManualClock`.  The wire
can lose or duplicate messages (:class:`LossyChannel`, driven by the machine's seeded random);
a restart closes a node's store and builds the node again from the file.  The directory of each
node is defined here as :class:`~tests.property.noleak_oracle.Person` values (the oracle's view)
and written to the store as :class:`OfficialRecord` values (the node's).
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.catalog import builtin_registry
from gsomia.envelope import EnvelopeError, NodeKeys, TrustStore, open_item
from gsomia.node import Node
from gsomia.node.framing import decode
from gsomia.policy import Official
from gsomia.ports import HeldItem, Inbound, OfficialRecord, Role
from gsomia.registry import Registry
from gsomia.testing import InMemoryChannel, InMemoryNetwork, ManualClock
from tests.property.noleak_oracle import PARTIES, Person

NK = frozenset({"NK-MISSILE", "NK-NUCLEAR"})
ALL_DUTIES = frozenset({"NK-MISSILE", "NK-NUCLEAR", "EXERCISES", "MARITIME-SECURITY"})
RELEASE, SECURITY, READER = "release_officer", "security_officer", "reader"

# Per party: (release officer, security officer) ids, then every official.
RELEASER = {"KOR": "kor-release", "JPN": "jpn-release", "USA": "usa-release"}
SECURITY_OFFICER = {"KOR": "kor-security", "JPN": "jpn-security", "USA": "usa-security"}


def _people(party: str, top: str, mid: str, low: str, extra: Sequence[Person] = ()) -> list[Person]:
    p = party.lower()
    return [
        Person(RELEASER[party], party, mid, NK, roles=frozenset({RELEASE, READER})),
        Person(SECURITY_OFFICER[party], party, top, ALL_DUTIES, roles=frozenset({SECURITY})),
        Person(f"{p}-top", party, top, NK),
        Person(f"{p}-mid", party, mid, ALL_DUTIES),
        Person(f"{p}-low", party, low, NK),
        Person(f"{p}-no-duty", party, top, frozenset({"EXERCISES"})),
        Person(f"{p}-unregistered", party, top, ALL_DUTIES, in_register=False),
        Person(f"{p}-inactive", party, top, ALL_DUTIES, active=False),
        Person(f"{p}-uncleared", party, None, ALL_DUTIES),
        *extra,
    ]


DIRECTORY: dict[str, list[Person]] = {
    # a foreign national listed at each node, cleared under the host's scheme (Art. 7: no)
    "KOR": _people(
        "KOR", "군사I급비밀", "군사II급비밀", "군사III급비밀",
        [Person("kor-liaison-jpn", "JPN", "군사I급비밀", ALL_DUTIES)],
    ),
    "JPN": _people(
        "JPN", "機密", "極秘", "秘",
        [
            Person("jpn-designated", "JPN", "特定秘密", NK),
            Person("jpn-liaison-usa", "USA", "機密", ALL_DUTIES),
        ],
    ),
    "USA": _people(
        "USA", "TOP SECRET", "SECRET", "CONFIDENTIAL",
        [Person("usa-liaison-kor", "KOR", "TOP SECRET", ALL_DUTIES)],
    ),
}  # fmt: skip


def record(person: Person) -> OfficialRecord:
    """The node's directory entry for ``person``."""
    return OfficialRecord(
        Official(
            person.id, person.nationality, person.clearance, person.duties, person.in_register
        ),
        frozenset(Role(r) for r in person.roles),
        person.active,
    )


class LossyChannel:
    """A channel whose sends may be lost on the wire (the sender is told they went)."""

    def __init__(self, inner: InMemoryChannel) -> None:
        self.inner = inner
        self.loss = 0.0
        self.rng = random.Random(0)
        self.lost = 0

    @property
    def party(self) -> str:
        return self.inner.party

    def _keep(self) -> bool:
        if self.loss and self.rng.random() < self.loss:
            self.lost += 1
            return False
        return True

    def send(self, party: str, payload: bytes, *, idempotency_key: str) -> None:
        self.inner.send(party, payload, idempotency_key=idempotency_key)
        if not self._keep():  # lost after the partner's queue took it: take it back out
            self.inner._network._queues[party].pop()

    def send_many(self, party: str, messages: Sequence[tuple[bytes, str]]) -> None:
        kept = [m for m in messages if self._keep()]
        if kept:
            self.inner.send_many(party, kept)

    def receive(self, *, limit: int = 100, timeout: float = 0.0) -> list[Inbound]:
        return self.inner.receive(limit=limit, timeout=timeout)

    def refusals(self) -> list[tuple[str, int]]:
        return self.inner.refusals()

    def close(self) -> None:
        self.inner.close()


@dataclass
class World:
    """The three nodes, their files, keys, channels and the shared clock."""

    start: datetime
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gsomia-noleak-")))
    registry: Registry = field(default_factory=builtin_registry)
    network: InMemoryNetwork = field(default_factory=InMemoryNetwork)
    nodes: dict[str, Node] = field(default_factory=dict)
    stores: dict[str, SqliteStore] = field(default_factory=dict)
    channels: dict[str, LossyChannel] = field(default_factory=dict)
    people: dict[str, dict[str, Person]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.clock = ManualClock(self.start)
        self.keys = {p: NodeKeys.generate(p, self.start - timedelta(days=1)) for p in PARTIES}
        for party in PARTIES:
            self.channels[party] = LossyChannel(self.network.channel(party))
            self.stores[party] = store = SqliteStore.in_data_dir(self.root / party)
            self.people[party] = {p.id: p for p in DIRECTORY[party]}
            with store.unit_of_work() as uow:
                for person in DIRECTORY[party]:
                    uow.put_official(record(person))
            self._build(party)

    def _build(self, party: str) -> None:
        trust = TrustStore()
        for other in PARTIES:
            if other != party:
                trust = trust.add_bundle(self.keys[other].public_bundle())
        self.nodes[party] = Node(
            party, self.registry, self.stores[party], self.channels[party],  # type: ignore[arg-type]
            self.keys[party], trust, self.clock,
        )  # fmt: skip

    def restart(self, party: str) -> None:
        """Close ``party``'s store and build its node again from the file (what a process
        restart does: nothing in memory survives, the wire keeps what was in flight)."""
        path = self.stores[party].path
        self.stores[party].close()
        self.stores[party] = SqliteStore(path)
        self._build(party)

    def set_person(self, party: str, person: Person) -> None:
        """The oracle's copy of a directory change the node accepted."""
        self.people[party][person.id] = person

    def held(self, party: str) -> dict[str, HeldItem]:
        """Every item ``party``'s store has a record of, whatever its state."""
        out: dict[str, HeldItem] = {}
        with self.stores[party].read() as reader:
            while page := reader.items(after=max(out) if out else None, limit=200):
                out.update((i.item_id, i) for i in page)
        return out

    def readable_copies(self, party: str, item_id: str) -> list[str]:
        """Keys of ``party``'s outbox messages carrying ``item_id`` that ``party`` itself can
        still open with its keys (a copy at rest outside the item record)."""
        trust = self.nodes[party]._ctx.open_trust
        out = []
        with self.stores[party].read() as reader:
            entries = reader.outbox(subject=item_id, limit=100)
        for entry in entries:
            if entry.message.kind != "item":
                continue
            try:
                open_item(
                    decode(entry.message.payload).body, self.keys[party], trust, self.clock.now()
                )
            except EnvelopeError:
                continue
            out.append(entry.key)
        return out

    def verify_audit(self, party: str) -> tuple[bool, int, bytes]:
        """Full recomputation of ``party``'s audit log from its file: ``(ok, size, root)``."""
        log = SqliteAuditLog(self.stores[party].path)
        try:
            result = log.verify()
        finally:
            log.close()
        return result.ok and not result.problems, result.size, result.root

    def audit_root(self, party: str, size: int) -> bytes:
        with self.stores[party].read() as reader:
            return reader.audit_root(size)

    def close(self) -> None:
        for store in self.stores.values():
            store.close()
        shutil.rmtree(self.root, ignore_errors=True)


def with_roles(person: Person, **changes: object) -> Person:
    """``person`` with some fields changed."""
    return replace(person, **changes)  # type: ignore[arg-type]
