"""Decisions on moving CMI between parties: release, relay through a hub, forward, accept.

All four rest on one step, :func:`_hop`: may CMI at ``party a``'s level ``L`` pass from ``a`` to
``b`` under agreement ``A`` at instant ``t``?  It needs ``A`` to allow new exchanges at ``t``
(Art. 21), ``t``'s equivalence table to give ``b`` an equivalent of ``L`` (Art. 4) and the topic to
be in ``A``'s scope.  A release then adds what the originator's label says (Releasable To, topic);
a relay adds the originator's approval (TISA); a forward the originator's written consent (Art. 6).

The functions are pure and fast (a policy decision is a handful of dictionary look-ups and one
binary search in the agreement's compiled timeline); ``at`` is always an argument.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime

from gsomia.agreements import Agreement, Segment, State
from gsomia.labels import LabelSet, OriginatorLabel
from gsomia.policy.consent import Consent, ConsentKind, check_consent
from gsomia.policy.decision import Code, Decision, Marking, deny
from gsomia.reasons import Reason
from gsomia.registry import Registry

_ART4, _ART6 = "Art. 4", "Art. 6"


def _hop(
    reg: Registry, agreement: Agreement, a: str, level: str, b: str, topic: str, ts: float
) -> tuple[str, int] | Reason:
    """``(b's equivalent level, table version)`` if the hop is allowed, else the reason not.

    The answer depends on ``ts`` only through the timeline segment holding it, and every other
    input has been checked against the registry before, so the answer is memoised per segment
    in the registry's bounded cache.
    """
    timeline = reg.timelines[agreement.id]
    index = bisect_right(timeline.starts, ts) - 1
    key = (agreement.id, index, a, level, b, topic)
    found = reg.memo.get(key)
    if found is None:
        found = reg.memo[key] = _hop_uncached(
            agreement, timeline.segments[index], a, level, b, topic
        )
    return found


def _hop_uncached(
    agreement: Agreement, seg: Segment, a: str, level: str, b: str, topic: str
) -> tuple[str, int] | Reason:
    if not seg.state.exchange_allowed:
        if seg.state is State.TERMINATED:
            return Reason(
                Code.AGREEMENT_TERMINATED,
                f"{agreement.id} is terminated: no new exchanges",
                agreement.cite,
            )
        return Reason(
            Code.AGREEMENT_NOT_IN_FORCE, f"{agreement.id} is not in force", agreement.cite
        )
    if agreement.topics is not None and topic not in agreement.topics:
        return Reason(
            Code.TOPIC_OUT_OF_SCOPE,
            f"{topic} is outside the scope of {agreement.id} "
            f"({', '.join(sorted(agreement.topics))})",
            agreement.cite,
        )
    equivalent = agreement.tables[seg.table_version - 1].equivalent(a, level, b)
    if equivalent is None:
        return Reason(
            Code.LEVEL_NOT_COVERED,
            f"{a} {level} has no {b} equivalent under {agreement.id} table "
            f"v{seg.table_version}: it can never be provided under it",
            _ART4,
        )
    return equivalent, seg.table_version


def _direct_allowed(
    reg: Registry,
    agreement_id: str,
    version: int,
    sender: str,
    native: str,
    recipient: str,
    equivalent: str,
) -> Decision:
    """The allowed direct release; a value, so built once per distinct content and shared."""
    key = ("direct", agreement_id, version, sender, native, recipient, equivalent)
    found: Decision | None = reg.memo.get(key)
    if found is None:
        found = reg.memo[key] = Decision(
            True,
            (
                Reason(
                    Code.RELEASE_ALLOWED,
                    f"{sender} may release {native} to {recipient} as "
                    f"{equivalent} under {agreement_id}",
                    _ART4,
                ),
            ),
            agreement_id,
            version,
            (sender, recipient),
            (Marking(sender, native), Marking(recipient, equivalent)),
        )
    return found


def _label_reasons(
    reg: Registry, label: OriginatorLabel, sender: str, recipient: str, topic: str
) -> list[Reason]:
    """Why the originator's label and the request do not allow ``sender``→``recipient``."""
    out: list[Reason] = []
    for party in (sender, recipient):
        if party not in reg.parties:
            out.append(Reason(Code.UNKNOWN_PARTY, f"unknown party {party!r}", "deny by default"))
    if sender == recipient:
        out.append(Reason(Code.SAME_PARTY, "sender and recipient are the same party", ""))
    scheme = reg.schemes.get(label.originator)
    if scheme is None or scheme.party != label.originator:
        out.append(
            Reason(
                Code.UNKNOWN_PARTY, f"unknown originator {label.originator!r}", "deny by default"
            )
        )
    elif label.policy_id != scheme.id:
        out.append(
            Reason(
                Code.LABEL_POLICY_MISMATCH,
                f"the label's policy {label.policy_id!r} is not the {scheme.id} scheme",
                _ART4,
            )
        )
    elif scheme.find(label.classification) is None:
        out.append(
            Reason(
                Code.UNKNOWN_LEVEL,
                f"{label.classification!r} is not a level of the {scheme.id} scheme",
                "deny by default",
            )
        )
    if topic not in reg.topics:
        out.append(Reason(Code.UNKNOWN_TOPIC, f"unknown topic {topic!r}", "deny by default"))
    elif label.topics and topic not in label.topics:
        out.append(
            Reason(
                Code.TOPIC_NOT_ON_LABEL,
                f"the label's topics are {', '.join(sorted(label.topics))}, not {topic}",
                _ART6,
            )
        )
    if recipient not in label.releasable_to:
        out.append(
            Reason(
                Code.NOT_RELEASABLE_TO,
                f"{recipient} is not in Releasable To "
                f"({', '.join(sorted(label.releasable_to)) or 'none'})",
                _ART6,
            )
        )
    return out


def _marking_reasons(reg: Registry, labels: LabelSet, holder: str) -> list[Reason]:
    """Why ``holder``'s marking in ``labels`` is not its equivalent of the originator's level.

    A hub or holder passes on an item at its own marking, from which the next party's marking
    follows (Art. 4).  That marking must be the one the agreement it names gives for the
    originator's level (its table version, its scheme): a compromised or faulty partner that
    lowered it would otherwise lower every marking after it without detection (PRODUCT.md §8).
    """
    alt = labels.alternative_for(holder)
    if alt is None:
        return []  # NO_HOLDER_MARKING is the caller's reason
    label = labels.originator
    agreement = reg.agreements.get(alt.agreement)
    scheme = reg.schemes.get(holder)
    expected = None
    if agreement is not None and 1 <= alt.table_version <= len(agreement.tables):
        table = agreement.tables[alt.table_version - 1]
        expected = table.equivalent(label.originator, label.classification, holder)
    ours = None if scheme is None else (scheme.id, expected)
    if expected is not None and (alt.policy_id, alt.classification) == ours:
        return []
    return [
        Reason(
            Code.HOLDER_MARKING_MISMATCH,
            f"{holder} marks this item {alt.policy_id} {alt.classification}, which is not its "
            f"equivalent of {label.originator} {label.classification} under {alt.agreement} "
            f"table v{alt.table_version}",
            _ART4,
        )
    ]


def release(
    reg: Registry,
    label: OriginatorLabel,
    sender: str,
    recipient: str,
    topic: str,
    at: datetime,
    purpose: str = "",
) -> Decision:
    """May ``sender``, the originator, release an item with ``label`` to ``recipient`` at ``at``?

    Direct when an agreement between the two allows it (bilateral first); otherwise through the
    hub of a hub arrangement (TISA: KOR → USA → JPN), the originator's release being its approval
    of the relay.  The path and each party's marking are in the decision.
    """
    ts = at.timestamp()
    scheme = reg.schemes.get(sender)
    level = None if scheme is None else scheme.find(label.classification)
    if (  # the common case, checked without building anything; else say every reason
        level is not None
        and label.originator == sender
        and scheme is not None
        and scheme.party == sender
        and label.policy_id == scheme.id
        and recipient in reg.parties
        and recipient != sender
        and topic in reg.topics
        and (not label.topics or topic in label.topics)
        and recipient in label.releasable_to
    ):
        return _route(reg, label, sender, level.native, recipient, topic, ts)
    problems = _label_reasons(reg, label, sender, recipient, topic)
    if label.originator != sender:
        problems.append(
            Reason(
                Code.NOT_ORIGINATOR,
                f"{sender} did not originate this item; a holder forwards only with consent",
                _ART6,
            )
        )
    assert problems, "the fast path above took every request without a problem"
    return deny(*problems)


def _route(
    reg: Registry,
    label: OriginatorLabel,
    sender: str,
    native: str,
    recipient: str,
    topic: str,
    ts: float,
) -> Decision:
    """The release decision once the label and request are known to be in order."""
    failures: list[Reason] = []
    for agreement in reg.between(sender, recipient):
        hop = _hop(reg, agreement, sender, native, recipient, topic, ts)
        if isinstance(hop, Reason):
            failures.append(hop)
            continue
        return _direct_allowed(reg, agreement.id, hop[1], sender, native, recipient, hop[0])
    for agreement in reg.hub_arrangements(sender, recipient):
        hub = agreement.hub
        assert hub is not None
        if hub not in label.releasable_to:
            failures.append(
                Reason(
                    Code.NOT_RELEASABLE_TO,
                    f"the hub {hub} is not in Releasable To, so nothing can pass through it",
                    _ART6,
                )
            )
            continue
        first = _hop(reg, agreement, sender, native, hub, topic, ts)
        if isinstance(first, Reason):
            failures.append(first)
            continue
        second = _hop(reg, agreement, hub, first[0], recipient, topic, ts)
        if isinstance(second, Reason):
            failures.append(second)
            continue
        key = ("hub", agreement.id, second[1], sender, native, first[0], recipient, second[0])
        found: Decision | None = reg.memo.get(key)
        if found is None:
            found = reg.memo[key] = Decision(
                True,
                (
                    Reason(
                        Code.RELEASE_ALLOWED,
                        f"{sender} may release {native} to {recipient} "
                        f"through the hub {hub} under {agreement.id}",
                        agreement.cite,
                    ),
                    Reason(
                        Code.VIA_HUB,
                        f"{hub} relays it re-marked {first[0]}; the "
                        "originator's release is its approval of the relay",
                        agreement.cite,
                    ),
                ),
                agreement.id,
                second[1],
                (sender, hub, recipient),
                (Marking(sender, native), Marking(hub, first[0]), Marking(recipient, second[0])),
            )
        return found
    if not failures:
        failures.append(
            Reason(
                Code.NO_AGREEMENT,
                f"no agreement lets {sender} provide CMI to {recipient}",
                "deny by default",
            )
        )
    return deny(*failures)


def relay(
    reg: Registry,
    labels: LabelSet,
    *,
    item_id: str,
    item_digest: str | None,
    hub: str,
    recipient: str,
    topic: str,
    approval: Consent | None,
    at: datetime,
    purpose: str | None = None,
) -> Decision:
    """May ``hub`` pass on to ``recipient`` what a spoke originated (TISA)?

    Only within a hub arrangement in which ``hub`` is the hub, within its scope, with the
    originator's approval for that item, that recipient and that purpose, re-marked at the hub's
    level and then at the recipient's.  ``purpose``, when given, must be the approval's
    (``CONSENT_OTHER_PURPOSE`` otherwise); None leaves it unchecked.
    """
    label = labels.originator
    originator = label.originator
    problems = _label_reasons(reg, label, hub, recipient, topic)
    hub_marking = labels.marking_for(hub)
    if hub_marking is None:
        problems.append(
            Reason(Code.NO_HOLDER_MARKING, f"{hub} holds no marking of this item", "Art. 4")
        )
    problems.extend(_marking_reasons(reg, labels, hub))
    arrangements = [a for a in reg.hub_arrangements(originator, recipient) if a.hub == hub]
    if not arrangements:
        problems.append(
            Reason(
                Code.NOT_A_HUB,
                f"{hub} is not the hub of an arrangement with {originator} and {recipient}",
                "TISA",
            )
        )
    if problems:
        return deny(*problems)
    assert hub_marking is not None
    failures: list[Reason] = []
    ts = at.timestamp()
    for agreement in arrangements:
        consent = check_consent(
            approval,
            kind=ConsentKind.HUB_APPROVAL,
            item_id=item_id,
            item_digest=item_digest,
            originator=originator,
            holder=hub,
            third_party=recipient,
            purpose=purpose,
            at=at,
        )
        hop = _hop(reg, agreement, hub, hub_marking[1], recipient, topic, ts)
        if consent or isinstance(hop, Reason):
            failures.extend(consent)
            if isinstance(hop, Reason):
                failures.append(hop)
            continue
        return Decision(
            True,
            (
                Reason(
                    Code.RELAY_ALLOWED,
                    f"{hub} may relay {originator}'s item to {recipient} "
                    f"as {hop[0]} with the originator's approval",
                    agreement.cite,
                ),
            ),
            agreement.id,
            hop[1],
            (originator, hub, recipient),
            (
                Marking(originator, label.classification),
                Marking(hub, hub_marking[1]),
                Marking(recipient, hop[0]),
            ),
        )
    return deny(*failures)


def forward(
    reg: Registry,
    labels: LabelSet,
    *,
    item_id: str,
    item_digest: str | None,
    holder: str,
    third_party: str,
    topic: str,
    purpose: str,
    consent: Consent | None,
    at: datetime,
) -> Decision:
    """May ``holder`` forward a received item to ``third_party`` (Art. 6)?

    Only with the originator's prior written consent for that item, that third party and that
    purpose, and under an agreement between holder and third party in force at ``at`` that gives
    the third party an equivalent of the holder's marking.
    """
    label = labels.originator
    out: list[Reason] = []
    for party in (holder, third_party):
        if party not in reg.parties:
            out.append(Reason(Code.UNKNOWN_PARTY, f"unknown party {party!r}", "deny by default"))
    if topic not in reg.topics:
        out.append(Reason(Code.UNKNOWN_TOPIC, f"unknown topic {topic!r}", "deny by default"))
    if holder == label.originator:
        out.append(
            Reason(Code.NOT_ORIGINATOR, "the originator releases, it does not forward", _ART6)
        )
    if third_party == label.originator:
        out.append(
            Reason(
                Code.FORWARD_TO_ORIGINATOR,
                "CMI goes back to its originator by return (Art. 6), not by forward",
                _ART6,
            )
        )
    if holder == third_party:
        out.append(Reason(Code.SAME_PARTY, "holder and third party are the same party", ""))
    marking = labels.marking_for(holder)
    if marking is None:
        out.append(Reason(Code.NO_HOLDER_MARKING, f"{holder} holds no marking of this item", _ART4))
    out.extend(_marking_reasons(reg, labels, holder))
    out.extend(
        check_consent(
            consent,
            kind=ConsentKind.FORWARD,
            item_id=item_id,
            item_digest=item_digest,
            originator=label.originator,
            holder=holder,
            third_party=third_party,
            purpose=purpose,
            at=at,
        )
    )
    if out:
        return deny(*out)
    assert marking is not None
    ts = at.timestamp()
    failures: list[Reason] = []
    for agreement in reg.between(holder, third_party):
        hop = _hop(reg, agreement, holder, marking[1], third_party, topic, ts)
        if isinstance(hop, Reason):
            failures.append(hop)
            continue
        return Decision(
            True,
            (
                Reason(
                    Code.FORWARD_ALLOWED,
                    f"{holder} may forward to {third_party} as {hop[0]} "
                    f"with {label.originator}'s written consent",
                    _ART6,
                ),
            ),
            agreement.id,
            hop[1],
            (holder, third_party),
            (Marking(holder, marking[1]), Marking(third_party, hop[0])),
        )
    if not failures:
        failures.append(
            Reason(
                Code.NO_AGREEMENT,
                f"no agreement lets {holder} provide CMI to {third_party}",
                "deny by default",
            )
        )
    return deny(*failures)


def accept(
    reg: Registry,
    labels: LabelSet,
    *,
    item_id: str,
    item_digest: str | None,
    sender: str,
    receiver: str,
    topic: str,
    at: datetime,
    consent: Consent | None = None,
    purpose: str | None = None,
) -> Decision:
    """May ``receiver`` take custody of an item ``sender`` sent, and under which marking?

    From the originator: the release rule, checked again by the receiver.  From a hub: the relay
    rule (the originator's approval must travel with it), unless what travels with it is a
    written consent (a hub may also forward under Art. 6).  From another holder: the forward rule
    (the originator's consent must travel with it).  On success the last marking is the
    alternative label the receiver applies beside the originator's (Art. 4).
    """
    label = labels.originator
    if labels.alternative_for(receiver) is not None:  # Art. 4: the receiver marks it, once
        return deny(
            Reason(
                Code.RECEIVER_MARKING_PRESENT,
                f"the label set already carries a marking of {receiver}, which only {receiver} "
                "applies, on receipt",
                _ART4,
            )
        )
    if sender == label.originator:
        return release(reg, label, sender, receiver, topic, at)
    if (consent is None or consent.kind is not ConsentKind.FORWARD) and any(
        a.hub == sender for a in reg.hub_arrangements(label.originator, receiver)
    ):
        return relay(
            reg,
            labels,
            item_id=item_id,
            item_digest=item_digest,
            hub=sender,
            recipient=receiver,
            topic=topic,
            approval=consent,
            at=at,
            purpose=purpose,
        )
    return forward(
        reg,
        labels,
        item_id=item_id,
        item_digest=item_digest,
        holder=sender,
        third_party=receiver,
        topic=topic,
        purpose=purpose or "",
        consent=consent,
        at=at,
    )
