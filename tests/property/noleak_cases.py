"""The no-leak machine's rules for what follows a release (issue 8 §4): Art. 6 consent requests,
decisions, revocations and forwards; Art. 7 reads by random officials; Art. 6 reclassification;
Art. 17 breach reports; Arts. 6 and 13 return and destruction; directory changes; restarts.

:class:`NoLeak` adds them to :class:`tests.property.noleak_machine.NoLeakBase`, which holds the
world, the oracle, releases, the wire, the clock, agreement events and the invariants (its module
docstring says what is checked after every step).
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from gsomia.errors import GsomiaError
from gsomia.ports import (
    ConsentRequestDirection,
    ConsentRequestState,
    DisposalState,
    ItemState,
)
from tests.property.noleak_machine import (
    ALL_IDS,
    PURPOSES,
    STATS,
    NoLeakBase,
    choose,
    has_foreign,
    has_own,
    indexes,
    parties,
)
from tests.property.noleak_oracle import (
    LEVELS,
    PARTIES,
    Forwarded,
    Granted,
    may_read,
    rank,
)
from tests.property.noleak_world import RELEASER, SECURITY_OFFICER, record, with_roles


class NoLeak(NoLeakBase):
    """The whole machine: see :mod:`tests.property.noleak_machine`."""

    # -- Art. 6: consent requests, decisions, revocations, forwards --------------------------

    @precondition(has_foreign)
    @rule(holder=parties, item=indexes, third=parties, purpose=st.sampled_from(PURPOSES))
    def request_consent(self, holder: str, item: int, third: str, purpose: str) -> None:
        self.fired("request_consent")
        held = self.held_items(holder, foreign=True)
        if not held:
            return
        try:
            self.w.nodes[holder].request_consent(
                RELEASER[holder], choose(held, item), third, purpose
            )
            STATS["consent_requested"] += 1
        except GsomiaError:
            pass

    @rule(
        originator=parties,
        pick=indexes,
        approve=st.booleans(),
        hours=st.sampled_from([1, 24, 24 * 30]),
    )
    def decide_consent(self, originator: str, pick: int, approve: bool, hours: int) -> None:
        self.fired("decide_consent")
        with self.w.stores[originator].read() as reader:
            pending = reader.consent_requests(
                direction=ConsentRequestDirection.RECEIVED,
                state=ConsentRequestState.PENDING,
                limit=100,
            )
        pending.sort(
            key=lambda r: (self.order(r.item_id), r.holder, r.third_party, r.purpose, r.requested)
        )
        if not pending:
            return
        request = pending[pick % len(pending)]
        expires = self.now() + timedelta(hours=hours)
        try:
            self.w.nodes[originator].decide_consent(
                SECURITY_OFFICER[originator], request.request_id, approve, expires=expires
            )
        except GsomiaError:
            return
        if approve:
            STATS["consent_granted"] += 1
            self.granted_ids.append(request.request_id)
            self.oracle.granted[request.request_id] = Granted(
                request.request_id, request.item_id, request.holder, request.third_party,
                request.purpose, self.now(), expires,
            )  # fmt: skip

    @precondition(lambda self: bool(self.granted_ids))
    @rule(pick=indexes)
    def revoke_consent(self, pick: int) -> None:
        self.fired("revoke_consent")
        consent_id = choose(self.granted_ids, pick)
        originator = self.oracle.released[self.oracle.granted[consent_id].item_id].originator
        try:
            self.w.nodes[originator].revoke_consent(SECURITY_OFFICER[originator], consent_id)
            STATS["consent_revoked"] += 1
        except GsomiaError:
            pass

    @precondition(has_foreign)
    @rule(holder=parties, item=indexes, third=parties, purpose=st.sampled_from(PURPOSES))
    def forward(self, holder: str, item: int, third: str, purpose: str) -> None:
        self.fired("forward")
        self._forward(holder, item, third, purpose)

    def _forward(self, holder: str, item: int, third: str, purpose: str) -> None:
        held = self.held_items(holder, foreign=True)
        if not held:
            return
        item_id = choose(held, item)
        with self.w.stores[holder].read() as reader:
            stored = reader.item(item_id)
            revoked = frozenset(
                c.consent.consent_id
                for c in reader.consents_for(item_id)
                if c.consent.revoked_at is not None
            )
        assert stored is not None
        level = stored.labels.originator.classification
        try:
            result = self.w.nodes[holder].forward(RELEASER[holder], item_id, third, purpose)
        except GsomiaError:
            return
        if result.forwarded:
            STATS["forwarded"] += 1
            self.oracle.forwards.append(
                Forwarded(item_id, holder, third, purpose, self.now(), level, revoked)
            )

    @precondition(has_foreign)
    @rule(
        holder=parties,
        item=indexes,
        third=parties,
        purpose=st.sampled_from(PURPOSES),
        hours=st.sampled_from([1, 24 * 30]),
    )
    def consent_then_forward(
        self, holder: str, item: int, third: str, purpose: str, hours: int
    ) -> None:
        """The whole Art. 6 path in one step: request, delivery, grant, delivery, forward."""
        self.fired("consent_then_forward")
        held = self.held_items(holder, foreign=True)
        if not held:
            return
        item_id = choose(held, item)
        originator = self.oracle.released[item_id].originator
        if third in (holder, originator):  # mostly the one party that may be a third party
            third = next(p for p in PARTIES if p not in (holder, originator))
        try:
            request = self.w.nodes[holder].request_consent(
                RELEASER[holder], item_id, third, purpose
            )
        except GsomiaError:
            return
        STATS["consent_requested"] += 1
        self._deliver()
        with self.w.stores[originator].read() as reader:
            arrived = reader.consent_request(request.request_id)
        if arrived is not None and arrived.state is ConsentRequestState.PENDING:
            expires = self.now() + timedelta(hours=hours)
            try:
                self.w.nodes[originator].decide_consent(
                    SECURITY_OFFICER[originator], request.request_id, True, expires=expires
                )
                STATS["consent_granted"] += 1
                self.granted_ids.append(request.request_id)
                self.oracle.granted[request.request_id] = Granted(
                    request.request_id, item_id, holder, third, purpose, self.now(), expires
                )
            except GsomiaError:
                pass
            self._deliver()
        self._forward(holder, held.index(item_id), third, purpose)

    @precondition(has_foreign)
    @rule(party=parties, pick=indexes, item=indexes)
    def read_held(self, party: str, pick: int, item: int) -> None:
        """A read of an item the node holds by one of its own directory's officials."""
        self.fired("read_held")
        held = self.held_items(party, foreign=True) + self.held_items(party, foreign=False)
        if not held:
            return
        ids = list(self.oracle.released)  # release order
        official = choose(sorted(self.w.people[party]), pick)
        self._read(party, official, ids.index(choose(held, item)), True)

    # -- Art. 7: reads by random officials -------------------------------------------------

    @precondition(has_own)
    @rule(party=parties, official=st.sampled_from(ALL_IDS), item=indexes, known=st.booleans())
    def read(self, party: str, official: str, item: int, known: bool) -> None:
        self.fired("read")
        self._read(party, official, item, known)

    def _read(self, party: str, official: str, item: int, known: bool) -> None:
        ids = list(self.oracle.released)  # release order
        if not ids or not known:
            item_id = f"00000000-0000-4000-8000-{item:012d}"
        else:
            item_id = choose(ids, item)
        with self.w.stores[party].read() as reader:
            stored = reader.item(item_id)
        try:
            payload = self.w.nodes[party].read(official, item_id)
        except GsomiaError:
            return
        STATS["read_allowed"] += 1
        person = self.w.people[party].get(official)
        assert stored is not None, f"LEAK: {official} read {item_id}, unknown at {party}"
        assert stored.state is ItemState.HELD, f"LEAK: {official} read {item_id}: not held"
        assert payload == self.payloads[item_id], f"{party} returned another item's content"
        assert (party, item_id) in self.arrived, f"LEAK: {party} read an item it never accepted"
        originator = stored.labels.originator.originator
        marking = stored.labels.marking_for(party)
        topics = {*stored.labels.originator.topics, stored.topic}
        level = stored.labels.originator.classification
        assert person is not None, f"LEAK: {official} is not in {party}'s directory"
        assert may_read(
            person, party, originator, level, None if marking is None else marking[1], topics
        ), f"LEAK: {official} read {item_id} ({originator} {level}) at {party}: not Art. 7"

    # -- Art. 6 reclassification, Art. 17 breaches, Arts. 6/13 return and destruction ----------

    @precondition(has_own)
    @rule(originator=parties, item=indexes, level=indexes)
    def reclassify(self, originator: str, item: int, level: int) -> None:
        self.fired("reclassify")
        own = self.held_items(originator, foreign=False)
        if not own:
            return
        item_id = choose(own, item)
        native = choose(sorted(LEVELS[originator]), level)
        try:
            self.w.nodes[originator].reclassify(RELEASER[originator], item_id, native)
        except GsomiaError:
            return
        STATS["reclassified"] += 1
        self.oracle.released[item_id].levels.append(native)

    @precondition(has_foreign)
    @rule(party=parties, official=st.sampled_from(ALL_IDS), item=indexes, actual=st.booleans())
    def breach(self, party: str, official: str, item: int, actual: bool) -> None:
        self.fired("breach")
        held = self.held_items(party, foreign=True)
        if not held:
            return
        kind = "actual" if actual else "possible"
        try:
            self.w.nodes[party].report_breach(official, choose(held, item), kind, "safe left open")
            STATS["breach_reported"] += 1
        except GsomiaError:
            pass

    @precondition(has_own)
    @rule(originator=parties, item=indexes, holder=parties, destroy=st.booleans())
    def request_disposal(self, originator: str, item: int, holder: str, destroy: bool) -> None:
        self.fired("request_disposal")
        own = self.held_items(originator, foreign=False)
        if not own:
            return
        action = "destroy" if destroy else "return"
        try:
            self.w.nodes[originator].request_disposal(
                RELEASER[originator], choose(own, item), holder, action, "no longer needed"
            )
            STATS["disposal_requested"] += 1
        except GsomiaError:
            pass

    @rule(holder=parties, pick=indexes)
    def execute_disposal(self, holder: str, pick: int) -> None:
        self.fired("execute_disposal")
        with self.w.stores[holder].read() as reader:
            asked = [
                d
                for d in reader.disposals(limit=100)
                if d.holder == holder and d.state is DisposalState.REQUESTED
            ]
        if not asked:
            return
        asked.sort(key=lambda d: (self.order(d.item_id), d.action, d.requested or self.now()))
        disposal = asked[pick % len(asked)]
        try:
            self.w.nodes[holder].execute_disposal(SECURITY_OFFICER[holder], disposal.disposal_id)
        except GsomiaError:
            return
        STATS["disposed"] += 1
        self.disposed.add((holder, disposal.item_id))

    @precondition(has_foreign)
    @rule(holder=parties, item=indexes)
    def destroy(self, holder: str, item: int) -> None:
        self.fired("destroy")
        held = self.held_items(holder, foreign=True)
        if not held:
            return
        item_id = choose(held, item)
        try:
            self.w.nodes[holder].destroy(SECURITY_OFFICER[holder], item_id, "no longer needed")
        except GsomiaError:
            return
        STATS["disposed"] += 1
        self.disposed.add((holder, item_id))

    # -- the directory (Art. 7: register, clearance) and restarts --------------------------------

    @rule(party=parties, pick=indexes, change=st.sampled_from(["register", "active", "clearance"]))
    def change_official(self, party: str, pick: int, change: str) -> None:
        self.fired("change_official")
        people = sorted(
            (
                p
                for p in self.w.people[party].values()
                if not p.roles & {"security_officer", "release_officer"}
            ),
            key=lambda p: p.id,
        )
        person = people[pick % len(people)]
        if change == "register":
            new = with_roles(person, in_register=not person.in_register)
        elif change == "active":
            new = with_roles(person, active=not person.active)
        else:
            levels = sorted(LEVELS[party], key=lambda lv: rank(party, lv) or 0)
            new = with_roles(person, clearance=choose(levels, pick // 7))
        with self.w.stores[party].read() as reader:
            actor = reader.official(SECURITY_OFFICER[party])
        assert actor is not None
        try:
            self.w.nodes[party].add_official(actor, record(new))
        except GsomiaError:
            return
        self.w.set_person(party, new)

    @rule(party=parties)
    def restart(self, party: str) -> None:
        self.fired("restart")
        self.w.restart(party)
