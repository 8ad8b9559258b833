"""What a partner track link may carry: the release, relay and accept decisions (Arts. 4, 6; TISA).

Three decisions, each at the deciding node's own instant and failing closed (PRODUCT.md §5, §8):

*Egress of our own track to partner P* (:meth:`LinkPolicy.outgoing`).  The message goes on P's
link only if :func:`gsomia.policy.release` lets us release it to P directly (the decision's path
is ``(us, P)``) and P is not configured ``via`` a hub; and it asks P to relay it to each partner R
whose release decision routes through P (``(us, P, R)``: TISA, for example KOR → USA → JPN in
2015) or that is configured ``via = P`` (then P must be the hub of an arrangement with us and R,
and both releases, to P and to R, must be allowed).  Nothing else is sent: a track Releasable To
KOR, USA never reaches JPN's link, because release to JPN is refused (``NOT_RELEASABLE_TO``) and
no relay to JPN is asked.

*Relay at the hub* (:meth:`LinkPolicy.relayed`).  A partner's track goes on R's link only if its
originator asked (that very message carried R among its relay requests), a standing approval of
the originator for this hub, R and the topic is held (see below), and
:func:`gsomia.policy.relay` allows it with that approval, the item re-marked at our equivalent
(Art. 4): the label set sent carries our alternative label.

*The standing approval* (the TISA relay rule for a stream).  A relay approval names an item; a
track stream has no item id, so the originator approves the *stream* of its tracks on one topic
to one third party through one hub: a :class:`~gsomia.policy.Consent` of kind ``hub_approval``
with item id :func:`stream_item_id` (``tracks:KOR:NK-MISSILE``) and digest
:func:`stream_digest`, signed with the originator's node key
(:func:`gsomia.proofs.issue_consent`), valid :data:`APPROVAL_VALIDITY` and re-issued every
:data:`APPROVAL_RENEW_S` seconds while the link is up.  The originator sends it to the hub on its
link; the hub checks it per message (:func:`gsomia.policy.relay`: scope, parties, expiry) and
passes the signed token on to the final recipient before the first track it relays, and the
recipient checks it per message too (:func:`gsomia.policy.accept` with sender = the hub).
Withdrawal is by not renewing it: it lapses within :data:`APPROVAL_VALIDITY`.

Egress and relay decisions are cached per (label, partner) for at most
:data:`~gsomia.streaming.lens.DECISION_TTL_S` of node time and dropped when the registry changes
(an agreement event: the very next message is decided under it, Art. 21), as
:mod:`gsomia.streaming.lens` does; ingest decides every message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from gsomia.envelope import NodeKeys
from gsomia.labels import LabelSet, OriginatorLabel
from gsomia.node import Node
from gsomia.policy import Consent, ConsentKind, Decision, accept, relay, release
from gsomia.proofs import issue_consent
from gsomia.streaming.lens import DECISION_TTL_S, held_labels, only_topic
from gsomia.streaming.link_settings import LinkSettings

__all__ = [
    "APPROVAL_PURPOSE",
    "APPROVAL_RENEW_S",
    "APPROVAL_VALIDITY",
    "Approvals",
    "LinkPolicy",
    "Outgoing",
    "stream_digest",
    "stream_item_id",
]

APPROVAL_VALIDITY: Final = timedelta(hours=1)
APPROVAL_RENEW_S: Final = 600.0
APPROVAL_PURPOSE: Final = "live missile warning tracks"
_MAX_CACHED: Final = 4096


def stream_item_id(originator: str, topic: str) -> str:
    """The item id a standing approval names: the originator's track stream on ``topic``."""
    return f"tracks:{originator}:{topic}"


def stream_digest(originator: str, topic: str) -> str:
    """The ``item_digest`` of that stream (SHA-256, lower-case hex)."""
    data = b"gsomia-tracks/1 stream\x00" + originator.encode() + b"\x00" + topic.encode()
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What goes on a link for one message: the label set to send and the relays asked."""

    labels: LabelSet
    relay_to: tuple[str, ...] = ()


@dataclass
class Approvals:
    """Standing approvals held: as a hub (to relay) and as a recipient (of relayed tracks).

    Keyed ``(holder, originator, third party, topic)``; a newer token replaces an older one.
    """

    _held: dict[tuple[str, str, str, str], tuple[Consent, bytes]] = field(default_factory=dict)

    def keep(self, consent: Consent, token: bytes) -> str | None:
        """Keep a verified approval; the topic it covers, or None if it is not a stream's."""
        prefix = f"tracks:{consent.originator}:"
        topic = consent.item_id.removeprefix(prefix)
        if (
            consent.kind is not ConsentKind.HUB_APPROVAL
            or not consent.item_id.startswith(prefix)
            or consent.item_digest != stream_digest(consent.originator, topic)
        ):
            return None
        key = (consent.holder, consent.originator, consent.third_party, topic)
        known = self._held.get(key)
        if known is None or known[0].expires <= consent.expires:
            self._held[key] = (consent, token)
        return topic

    def get(
        self, holder: str, originator: str, third: str, topic: str
    ) -> tuple[Consent, bytes] | None:
        """The approval held for this relay, if any (validity is the policy's to check)."""
        return self._held.get((holder, originator, third, topic))


def issue_standing(keys: NodeKeys, hub: str, third: str, topic: str, now: datetime) -> bytes:
    """Our signed standing approval for ``hub`` to relay our ``topic`` tracks to ``third``."""
    consent = Consent(
        kind=ConsentKind.HUB_APPROVAL,
        consent_id=f"approval:{stream_item_id(keys.party, topic)}:{third}",
        item_id=stream_item_id(keys.party, topic),
        item_digest=stream_digest(keys.party, topic),
        originator=keys.party,
        holder=hub,
        third_party=third,
        purpose=APPROVAL_PURPOSE,
        issued=now,
        expires=now + APPROVAL_VALIDITY,
    )
    return issue_consent(consent, keys)


class LinkPolicy:
    """The link decisions of one node (module docstring)."""

    def __init__(self, node: Node, settings: LinkSettings, approvals: Approvals) -> None:
        self.node = node
        self.settings = settings
        self.approvals = approvals
        self._registry = node.registry
        self._cache: dict[tuple[object, ...], tuple[float, Outgoing | None]] = {}

    def _cached(self, key: tuple[object, ...], now: datetime) -> tuple[bool, Outgoing | None]:
        registry = self.node.registry
        if registry is not self._registry:  # an agreement event: decide everything again
            self._cache.clear()
            self._registry = registry
        found = self._cache.get(key)
        if found is not None and 0.0 <= now.timestamp() - found[0] < DECISION_TTL_S:
            return True, found[1]
        return False, None

    def _store(self, key: tuple[object, ...], now: datetime, value: Outgoing | None) -> None:
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[key] = (now.timestamp(), value)

    def hubs_for(self, peer: str) -> list[tuple[str, str]]:
        """``(third party, topic)`` pairs our tracks may be relayed to through ``peer`` (the
        standing approvals we give ``peer``): every configured partner with a hub arrangement
        whose hub is ``peer``, for every topic in its scope."""
        party, registry = self.node.party, self.node.registry
        out: set[tuple[str, str]] = set()
        for partner in self.settings.partners:
            for agreement in registry.hub_arrangements(party, partner.party):
                if agreement.hub == peer:
                    out.update((partner.party, t) for t in agreement.topics or registry.topics)
        return sorted(out)

    def _release(self, label: OriginatorLabel, to: str, topic: str, now: datetime) -> Decision:
        return release(self.node.registry, label, self.node.party, to, topic, now)

    def outgoing(self, label: OriginatorLabel, peer: str, now: datetime) -> Outgoing | None:
        """What of our own track with ``label`` goes on ``peer``'s link at ``now``, or None."""
        key = ("own", label, peer)
        hit, value = self._cached(key, now)
        if hit:
            return value
        value = self._outgoing(label, peer, now)
        self._store(key, now, value)
        return value

    def _outgoing(self, label: OriginatorLabel, peer: str, now: datetime) -> Outgoing | None:
        us = self.node.party
        topic = only_topic(label)
        if topic is None or label.originator != us:
            return None
        first = self._release(label, peer, topic, now)
        if not first.allowed:  # the peer may not hold it at all: nothing goes on its link
            return None
        config = self.settings.partner(peer)
        direct = first.path == (us, peer) and (config is None or config.via is None)
        relays: list[str] = []
        for partner in self.settings.partners:
            third = partner.party
            if third in (peer, us):
                continue
            decision = self._release(label, third, topic, now)
            if not decision.allowed:
                continue
            if partner.via == peer:
                hubs = self.node.registry.hub_arrangements(us, third)
                if any(a.hub == peer for a in hubs):
                    relays.append(third)
            elif partner.via is None and decision.path == (us, peer, third):
                relays.append(third)
        if not direct and not relays:
            return None
        return Outgoing(LabelSet(label), tuple(relays))

    def relayed(
        self, label: OriginatorLabel, peer: str, now: datetime
    ) -> tuple[Outgoing, bytes] | None:
        """A partner's track relayed by us, the hub, to ``peer`` at ``now`` (with the signed
        approval that must travel with it), or None.  The caller checks that the originator
        asked for this relay."""
        topic = only_topic(label)
        if topic is None:
            return None
        us, originator = self.node.party, label.originator
        held = self.approvals.get(us, originator, peer, topic)
        if held is None:
            return None
        key = ("relay", label, peer, held[1])
        hit, value = self._cached(key, now)
        if not hit:
            value = None
            labels = held_labels(self.node, label, topic, now)
            if labels is not None:
                decision = relay(
                    self.node.registry,
                    labels,
                    item_id=stream_item_id(originator, topic),
                    item_digest=stream_digest(originator, topic),
                    hub=us,
                    recipient=peer,
                    topic=topic,
                    approval=held[0],
                    at=now,
                    purpose=None,
                )
                value = Outgoing(labels) if decision.allowed else None
            self._store(key, now, value)
        return None if value is None else (value, held[1])

    def incoming(self, labels: LabelSet, sender: str, now: datetime) -> Decision:
        """May we take a track with ``labels`` that ``sender`` sent on its link (Art. 4, 6)?"""
        label = labels.originator
        topic = only_topic(label) or ""
        us = self.node.party
        held = None
        if sender != label.originator:
            held = self.approvals.get(sender, label.originator, us, topic)
        return accept(
            self.node.registry,
            labels,
            item_id=stream_item_id(label.originator, topic),
            item_digest=stream_digest(label.originator, topic),
            sender=sender,
            receiver=us,
            topic=topic,
            at=now,
            consent=None if held is None else held[0],
        )
