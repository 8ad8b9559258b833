"""What one subscriber may see of the track messages at a node, decided at every egress (Art. 7).

A :class:`TrackLens` belongs to one subscriber (a CoT client, a dashboard session, an API stream)
acting as one official of this node.  :meth:`TrackLens.allows` answers, for one message at one
instant, the label set under which this node holds the message if the official may see it, or
None.  The rule, failing closed at each step (PRODUCT.md §5, §8):

1. the official is active, of this node's nationality and holds the ``reader`` role;
2. the message's label names exactly one topic (a duty must cover it: Art. 7);
3. defence in depth: when the label has a Releasable To list, the official's nationality is
   on it or is the originator's (a track Releasable To KOR, USA never reaches a JPN client);
4. a message of one of our sensors is held under its own label; a partner sensor's message is
   held only if :func:`gsomia.policy.accept` lets this node take it from that partner at this
   instant, under our equivalent marking beside the originator's (Art. 4);
5. :func:`gsomia.policy.access` on that label set (Art. 7: nationality, clearance at or above our
   marking, a duty covering the topic, in the register).

Decisions are cached per distinct label (a track repeats its label in every message, so fan-out
decides once per subscriber and label, not once per message) for at most :data:`DECISION_TTL_S`
seconds of node time, and dropped at once when the node's registry changes (a recorded agreement
event replaces it).  A lens is rebuilt when its official is re-read (streams do that every few
seconds), so a deactivated official or a changed clearance takes effect quickly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Final

from gsomia.labels import AlternativeLabel, LabelSet, OriginatorLabel
from gsomia.node import Node
from gsomia.node.directory import may
from gsomia.policy import accept, access
from gsomia.ports import OfficialRecord, Role
from gsomia.tracks import TrackMessage
from gsomia.tracks.json_codec import to_dict

__all__ = ["DECISION_TTL_S", "TrackLens", "held_labels", "marking_view", "view_of"]

DECISION_TTL_S: Final = 1.0
_LANG: Final = {"KOR": "ko", "JPN": "ja"}
_MAX_CACHED: Final = 4096


def only_topic(label: OriginatorLabel) -> str | None:
    """The label's one topic, or None (deny by default: a message names exactly one)."""
    return next(iter(label.topics)) if len(label.topics) == 1 else None


def held_labels(node: Node, label: OriginatorLabel, topic: str, now: datetime) -> LabelSet | None:
    """The label set under which ``node`` holds a message labelled ``label`` at ``now``, or None.

    Our own sensor's message is held under its own label; a partner's only if
    :func:`gsomia.policy.accept` allows it, with our marking beside the originator's (Art. 4).
    """
    party = node.party
    if label.originator == party:
        return LabelSet(label)
    registry = node.registry
    decision = accept(
        registry,
        LabelSet(label),
        item_id="live-track",
        item_digest=None,
        sender=label.originator,
        receiver=party,
        topic=topic,
        at=now,
    )
    if not (decision.allowed and decision.agreement is not None and decision.table_version):
        return None
    return LabelSet(label).with_alternative(
        AlternativeLabel(
            policy_id=registry.schemes[party].id,
            classification=decision.markings[-1].level,
            originator=label.originator,
            applied_by=party,
            agreement=decision.agreement,
            table_version=decision.table_version,
            applied=now,
        )
    )


def marking_view(node: Node, party: str, policy_id: str, level: str) -> dict[str, str]:
    """A marking as a page shows it: the party that applied it, its native text, the English
    name of the level (Art. 4) and the language of the text (for fonts and screen readers)."""
    scheme = next((s for s in node.registry.schemes.values() if s.id == policy_id), None)
    found = None if scheme is None else scheme.find(level)
    return {
        "party": party,
        "level": level,
        "english": "" if found is None else found.english,
        "lang": _LANG.get(policy_id, "en"),
    }


def view_of(node: Node, message: TrackMessage, labels: LabelSet) -> dict[str, Any]:
    """The JSON view of ``message`` that the stream sends (the same for every official here)."""
    label = message.label
    party = node.party
    ours = labels.marking_for(party)
    out = to_dict(message)
    out["markings"] = {
        "originator": marking_view(node, label.originator, label.policy_id, label.classification),
        "ours": None if ours is None else marking_view(node, party, ours[0], ours[1]),
    }
    return out


class TrackLens:
    """What one official may see of the track messages at ``node`` (module docstring)."""

    def __init__(self, node: Node, record: OfficialRecord) -> None:
        self.node = node
        self.record = record
        self._reader = may(record, node.party, Role.READER)
        self._cache: dict[OriginatorLabel, tuple[float, LabelSet | None]] = {}
        self._registry = node.registry

    @property
    def reader(self) -> bool:
        """Whether the official holds the reader role here (needed to see any content)."""
        return self._reader

    @property
    def official_id(self) -> str:
        """The id of the official this lens decides for."""
        return self.record.official.id

    def _decide(self, label: OriginatorLabel, now: datetime) -> LabelSet | None:
        topic = only_topic(label)
        if topic is None:
            return None
        nationality = self.record.official.nationality
        if (
            label.releasable_to
            and nationality not in label.releasable_to
            and nationality != label.originator
        ):
            return None
        labels = held_labels(self.node, label, topic, now)
        if labels is None:
            return None
        decision = access(self.node.registry, self.record.official, labels, self.node.party, topic)
        return labels if decision.allowed else None

    def allows(self, message: TrackMessage, now: datetime) -> LabelSet | None:
        """The label set the official sees ``message`` under at ``now``, or None (deny)."""
        if not self._reader:
            return None
        registry = self.node.registry
        if registry is not self._registry:  # an agreement event: decide everything again
            self._cache.clear()
            self._registry = registry
        label = message.label
        stamp = now.timestamp()
        cached = self._cache.get(label)
        if cached is not None and 0.0 <= stamp - cached[0] < DECISION_TTL_S:
            return cached[1]
        held = self._decide(label, now)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[label] = (stamp, held)
        return held

    def view(self, message: TrackMessage, now: datetime) -> dict[str, Any] | None:
        """The message as the stream sends it to this official, or None if they may not see it."""
        labels = self.allows(message, now)
        return None if labels is None else view_of(self.node, message, labels)

    def visible(self, messages: Iterable[TrackMessage], now: datetime) -> Iterator[dict[str, Any]]:
        """The views of ``messages`` this official may see, in order."""
        for message in messages:
            seen = self.view(message, now)
            if seen is not None:
                yield seen
