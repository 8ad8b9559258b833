"""The no-leak invariant as a Hypothesis state machine over three real nodes (issue 8 §4).

Rules draw from what the nodes know (items released, items held, requests pending, consents
granted, disposals asked) and act through the real :class:`gsomia.node.Node` API: releases with
random labels (KOR 군사I급비밀 included), Releasable To, topics and recipients; delivery and
receive pumps over a wire that loses and duplicates messages; ROK-JPN agreement events (Art. 21)
recorded at both parties; the clock; consent requests, decisions, revocations and forwards
(Art. 6); reads by random officials (Art. 7); reclassifications; breach reports (Art. 17);
return and destruction (Art. 13); directory changes; restarts of a node from its SQLite file.
The hub relay (TISA) happens inside the pumps when a release is routed through the USA.

After every step, and after every receive round inside a pump:

* every item a node holds, seen for the first time, came by a route the oracle
  (:mod:`tests.property.noleak_oracle`, written apart from :mod:`gsomia.policy`) allows at the
  instant it arrived; every read that returned content returned the item's own payload to an
  official the oracle lets read it (checked in the read rule, at the instant of the read);
* every held item's level is one its originator gave it, and the holder's marking is not below
  its lowest equivalent of that level (Art. 4);
* every item a node accepted is still there (returned or destroyed only after the test asked,
  and then openable by that node from no copy it keeps, its outbox included: Art. 13);
* every node's audit log verifies in full from its file (RFC 9162 recomputation), only grows,
  and keeps the root it had at each earlier size.

:class:`NoLeakBase` here holds the world, the oracle, releases, the wire, the clock, agreement
events and the invariants; :class:`tests.property.noleak_cases.NoLeak` adds the rules for what
follows a release.  :data:`STATS` counts rules fired, steps, invariant checks and routes seen, for
``bench/noleak.py``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from gsomia.agreements import Event, EventKind
from gsomia.errors import GsomiaError
from gsomia.instants import parse_instant
from gsomia.labels import RELEASABLE_TO, TOPIC, Category, CategoryType, OriginatorLabel
from gsomia.ports import ItemState
from tests.property.noleak_oracle import (
    LEVELS,
    PARTIES,
    Ev,
    Oracle,
    Released,
    least_equivalent_rank,
    rank,
)
from tests.property.noleak_world import (
    DIRECTORY,
    RELEASER,
    SECURITY_OFFICER,
    World,
)

STATS: Counter[str] = Counter()
"""Rules fired (by name), ``steps``, ``invariant_checks``, routes of arrivals, reads allowed."""

STARTS = (
    parse_instant("2026-11-23T12:00:00+09:00"),  # in force, a fresh term
    parse_instant("2027-08-20T12:00:00+09:00"),  # days before the 90-day notice deadline
    parse_instant("2015-06-01T12:00:00+09:00"),  # before the ROK-JPN GSOMIA: TISA hub only
)
TOPICS = ("NK-MISSILE", "NK-NUCLEAR", "EXERCISES", "MARITIME-SECURITY")
PURPOSES = ("early warning of NK missile launches", "combined exercise planning")
ALL_IDS = sorted({p.id for people in DIRECTORY.values() for p in people} | {"nobody"})

parties = st.sampled_from(PARTIES)
indexes = st.integers(min_value=0, max_value=10_000)
durations = st.one_of(
    st.integers(1, 900).map(lambda s: timedelta(seconds=s)),
    st.integers(1, 72).map(lambda h: timedelta(hours=h)),
    st.integers(1, 200).map(lambda d: timedelta(days=d)),
)


def has_foreign(machine: NoLeakBase) -> bool:
    """Whether some node accepted an item from another (a precondition)."""
    return any(route != "originator" for _, route in machine.arrived.values())


def has_own(machine: NoLeakBase) -> bool:
    """Whether some item was released (a precondition)."""
    return bool(machine.oracle.released)


def choose(seq: list[str] | tuple[str, ...], index: int) -> str:
    """A member of ``seq`` picked by a drawn index (so rules draw from what the nodes know)."""
    return seq[index % len(seq)]


class NoLeakBase(RuleBasedStateMachine):
    """Three nodes, one oracle, the wire, the clock, agreement events and the invariants; the
    custody, access and disposal rules are :class:`tests.property.noleak_cases.NoLeak`'s."""

    def __init__(self) -> None:
        super().__init__()
        self.world: World | None = None
        self.oracle = Oracle()
        self.payloads: dict[str, bytes] = {}
        self.released_order: dict[str, int] = {}
        self.arrived: dict[tuple[str, str], tuple[datetime, str]] = {}
        self.disposed: set[tuple[str, str]] = set()
        self.heads: dict[str, tuple[int, bytes]] = {}
        self.granted_ids: list[str] = []

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def w(self) -> World:
        assert self.world is not None
        return self.world

    def now(self) -> datetime:
        return self.w.clock.now()

    def fired(self, name: str) -> None:
        STATS[name] += 1
        STATS["steps"] += 1

    def teardown(self) -> None:
        if self.world is not None:
            self.world.close()

    def held_items(self, party: str, *, foreign: bool) -> list[str]:
        """Item ids ``party`` accepted (``foreign``: from others) and still holds, in release
        order (never by id: ids are random, and a replayed example must draw the same items)."""
        return sorted(
            (
                i
                for (p, i), (_, route) in self.arrived.items()
                if p == party and (route != "originator") == foreign and (p, i) not in self.disposed
            ),
            key=self.order,
        )

    def order(self, item_id: str) -> tuple[int, str]:
        """A sort key by release order (ids the test never released last)."""
        return self.released_order.get(item_id, len(self.released_order)), item_id

    def observe(self) -> None:
        """Check every item held for the first time against the oracle, at this instant."""
        now = self.now()
        for party in PARTIES:
            held = self.w.held(party)
            for item_id in sorted(held, key=self.order):
                item = held[item_id]
                if (party, item_id) in self.arrived:
                    continue
                route = self.oracle.may_hold(party, item_id, now)
                assert route is not None, (
                    f"LEAK: {party} holds {item_id} at {now.isoformat()} by no allowed route; "
                    f"released as {self.oracle.released.get(item_id)}, "
                    f"received from {item.received_from} under {item.agreement}"
                )
                self.arrived[(party, item_id)] = (now, route)
                STATS[f"route:{route}"] += 1
                released = self.oracle.released[item_id]
                if route == "forward" and party not in released.rel_to:
                    STATS["seen:forward outside Releasable To"] += 1
                kor_ts = (released.originator, released.level) == ("KOR", "군사I급비밀")
                if route == "forward" and party == "JPN" and kor_ts:
                    STATS["seen:KOR 군사I급비밀 at JPN by consent"] += 1

    # -- set-up -----------------------------------------------------------------------------

    @initialize(start=st.sampled_from(STARTS))
    def start(self, start: datetime) -> None:
        STATS["examples"] += 1
        self.world = World(start)
        for party in PARTIES:
            _, size, root = self.w.verify_audit(party)
            self.heads[party] = (size, root)

    # -- releases (Art. 6), the wire, the clock ---------------------------------------------

    @rule(
        originator=parties,
        level=indexes,
        rel_to=st.sets(parties, min_size=1, max_size=3),
        label_topics=st.sets(st.sampled_from(TOPICS), min_size=1, max_size=2),
        topic=st.sampled_from(TOPICS),
        recipients=st.sets(parties, min_size=1, max_size=2),
        by_releaser=st.sampled_from([True, True, True, False]),
    )
    def release(
        self,
        originator: str,
        level: int,
        rel_to: set[str],
        label_topics: set[str],
        topic: str,
        recipients: set[str],
        by_releaser: bool,
    ) -> None:
        """Any label, topic and recipients: mostly refused, each refusal audited."""
        self.fired("release")
        self._release(originator, level, rel_to, label_topics, topic, recipients, by_releaser)

    @rule(
        originator=st.sampled_from(["KOR", "KOR", "JPN", "USA"]),
        level=indexes,
        rel_to=st.sampled_from([set(PARTIES), set(PARTIES), {"KOR", "JPN"}, {"KOR", "USA"}]),
        topic=st.sampled_from(["NK-MISSILE", "NK-MISSILE", "NK-NUCLEAR", "EXERCISES"]),
        recipients=st.sets(parties, min_size=1, max_size=2),
    )
    def release_nk(
        self, originator: str, level: int, rel_to: set[str], topic: str, recipients: set[str]
    ) -> None:
        """A release officer's plausible release (topic on the label): often allowed."""
        self.fired("release_nk")
        self._release(originator, level, rel_to, {topic}, topic, recipients, True)

    def _release(
        self,
        originator: str,
        level: int,
        rel_to: set[str],
        label_topics: set[str],
        topic: str,
        recipients: set[str],
        by_releaser: bool,
    ) -> None:
        recipients = recipients - {originator} or {p for p in PARTIES if p != originator}
        native = choose(sorted(LEVELS[originator]), level)
        label = OriginatorLabel(
            policy_id=originator,
            classification=native,
            originator=originator,
            created=self.now() - timedelta(minutes=1),
            categories=(
                Category(RELEASABLE_TO, CategoryType.PERMISSIVE, tuple(sorted(rel_to))),
                Category(TOPIC, CategoryType.RESTRICTIVE, tuple(sorted(label_topics))),
            ),
        )
        actor = RELEASER[originator] if by_releaser else f"{originator.lower()}-mid"
        payload = f"CMI #{len(self.payloads)} of {originator} at {self.now().isoformat()}".encode()
        try:
            result = self.w.nodes[originator].release(
                actor, payload, label, sorted(recipients), topic, PURPOSES[0]
            )
        except GsomiaError:  # not a release officer (any more): refused and audited
            return
        if result.released:
            STATS["released"] += 1
            self.payloads[result.item_id] = payload
            self.released_order[result.item_id] = len(self.released_order)
            self.oracle.released[result.item_id] = Released(
                result.item_id, originator, native, frozenset(rel_to), frozenset(label_topics),
                topic, frozenset(recipients), self.now(), [native],
            )  # fmt: skip

    @rule(
        rounds=st.integers(1, 4),
        loss=st.sampled_from([0.0, 0.0, 0.3]),
        duplicate=st.booleans(),
        seed=st.integers(0, 2**32 - 1),
        step=st.sampled_from([timedelta(0), timedelta(seconds=5), timedelta(minutes=10)]),
    )
    def pump(self, rounds: int, loss: float, duplicate: bool, seed: int, step: timedelta) -> None:
        """Delivery over a wire that may lose and duplicate messages, the clock moving."""
        self.fired("pump")
        self.w.network.duplicate = duplicate
        for i, channel in enumerate(self.w.channels.values()):
            channel.loss = loss
            channel.rng.seed(seed + i)
        try:
            for _ in range(rounds):
                for node in self.w.nodes.values():
                    node.deliver_due()
                for node in self.w.nodes.values():
                    node.receive()
                    self.observe()  # an item arrives at this instant: judge it now
                self.w.clock.advance(step)
        finally:
            self.w.network.duplicate = False
            for channel in self.w.channels.values():
                channel.loss = 0.0

    @rule()
    def deliver(self) -> None:
        """Four clean rounds: what was sent arrives (and receipts and notices come back)."""
        self.fired("deliver")
        self._deliver()

    def _deliver(self) -> None:
        for _ in range(4):
            for node in self.w.nodes.values():
                node.deliver_due()
            for node in self.w.nodes.values():
                node.receive()
                self.observe()

    @rule(delta=durations)
    def advance(self, delta: timedelta) -> None:
        self.fired("advance")
        self.w.clock.advance(delta)

    # -- Art. 21: ROK-JPN agreement events, recorded by both parties -------------------------

    @rule(
        kind=st.sampled_from(
            [
                EventKind.NOTICE_GIVEN,
                EventKind.NOTICE_GIVEN,
                EventKind.NOTICE_SUSPENDED,
                EventKind.NOTICE_RESUMED,
                EventKind.NOTICE_WITHDRAWN,
                EventKind.TERMINATED,
            ]
        ),
        by=st.sampled_from(["KOR", "KOR", "JPN"]),
        days=st.integers(1, 200),
    )
    def agreement_event(self, kind: EventKind, by: str, days: int) -> None:
        self.fired("agreement_event")
        now = self.now()
        effective = now + timedelta(days=days) if kind is EventKind.NOTICE_RESUMED else None
        event = Event(
            kind, now, by=None if kind is EventKind.TERMINATED else by, effective=effective
        )
        outcomes = []
        for party in ("KOR", "JPN"):
            try:
                self.w.nodes[party].record_agreement_event(
                    SECURITY_OFFICER[party], "kor-jpn-gsomia-2016", event
                )
                outcomes.append(True)
            except GsomiaError:
                outcomes.append(False)
        assert outcomes[0] == outcomes[1], f"KOR and JPN disagree on {event}: {outcomes}"
        if outcomes[0]:
            STATS[f"event:{kind.value}"] += 1
            self.oracle.events = (*self.oracle.events, Ev(kind.value, now, effective))

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def nothing_leaked_nothing_lost_logs_verify(self) -> None:
        if self.world is None:
            return
        STATS["invariant_checks"] += 1
        self.observe()
        for party in PARTIES:
            held = self.w.held(party)
            for (p, item_id), _ in self.arrived.items():
                if p != party:
                    continue
                item = held.get(item_id)
                assert item is not None, f"LOST: {party} no longer has {item_id}"
                if item.state is not ItemState.HELD:
                    assert (party, item_id) in self.disposed, (
                        f"{party}'s {item_id} went {item.state} unasked"
                    )
                    copies = self.w.readable_copies(party, item_id)
                    assert not copies, (
                        f"LEAK: {party} {item.state.value} {item_id} (Art. 13) but can still "
                        f"open it from its outbox: {copies}"
                    )
                    continue
                released = self.oracle.released[item_id]
                level = item.labels.originator.classification
                assert level in released.levels, f"{party} holds {item_id} at {level}, never set"
                if party != released.originator:
                    marking = item.labels.marking_for(party)
                    floor = least_equivalent_rank(released.originator, level, party)
                    own = None if marking is None else rank(party, marking[1])
                    assert floor is not None, f"LEAK: {party} has no equivalent of {level}"
                    assert own is not None, f"LEAK: {party} holds {item_id} without its marking"
                    assert own >= floor, (
                        f"LEAK: {party} marks {item_id} ({released.originator} {level}) "
                        f"{marking}, below its equivalent"
                    )
            ok, size, root = self.w.verify_audit(party)
            assert ok, f"{party}'s audit log does not verify"
            old_size, old_root = self.heads[party]
            assert size >= old_size, f"{party}'s audit log shrank"
            assert self.w.audit_root(party, old_size) == old_root, f"{party}'s log was rewritten"
            self.heads[party] = (size, root)
