"""Sensor ingest: the checks a track message passes before it enters the hub, and refusals audited.

Every transport (CoT over TCP or TLS, JSON over HTTP) decodes with the strict codecs of
:mod:`gsomia.tracks` and hands each message to :meth:`TrackIngest.take` with the official the
connection or request authenticated as.  A message is taken only if, in this order (deny by
default; PRODUCT.md §5, §8):

=============================  ==================================================================
NODE_FORBIDDEN                 the official is not an active ``sensor_feed`` official of this node
TRACK_ORIGINATOR_FOREIGN       the label's originator is not this node's party: a sensor of this
                               node reports for this nation only (a partner's tracks arrive over
                               the partner link, accepted under :func:`gsomia.policy.accept`)
TRACK_LABEL_UNKNOWN_LEVEL      the label's policy is not our scheme, or its level is not in it
TRACK_TOPIC_INVALID            the label does not name exactly one topic
COT_STALE, COT_TIME_FUTURE     :func:`gsomia.tracks.check_current` at the node's instant
TRACK_SEQ_NOT_MONOTONIC, …     :meth:`gsomia.streaming.hub.TrackHub.publish`: per-track order
=============================  ==================================================================

Refusals (these, and the decoders' ``COT_*``/``TRACK_*`` codes the transports report with
:meth:`TrackIngest.refuse`) are counted at once and audited in batches: the transports call
:meth:`TrackIngest.flush` every second or so (and the JSON route after each request), and each
flush audits one ``reject`` record per distinct (official, route, code) seen since the last one
(:meth:`gsomia.node.Node.audit_refused_request`), so a flood of bad events costs a few audit
commits a second, never one per event, and never stalls the stream.  Totals since start are in
:meth:`TrackIngest.stats`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from gsomia.errors import CotError, TrackError
from gsomia.node import Node
from gsomia.node.directory import may
from gsomia.ports import OfficialRecord, Role
from gsomia.streaming.hub import TrackHub
from gsomia.tracks import TrackMessage, check_current

__all__ = ["MAX_SKEW", "AuditSink", "Refusal", "TrackIngest", "node_audit_sink"]

MAX_SKEW: Final = timedelta(seconds=30)
UNKNOWN_OFFICIAL: Final = "unknown-official"

Refusal = tuple[str, str, str, int]
"""``(official id, route, code, count)``: one line of a flush."""
AuditSink = Callable[[Sequence[Refusal]], None]


def node_audit_sink(node: Node) -> AuditSink:
    """Audit each aggregated refusal as one ``reject`` record at ``node``."""

    def sink(batch: Sequence[Refusal]) -> None:
        for official, route, code, _count in batch:
            node.audit_refused_request(route, code, official)

    return sink


class TrackIngest:
    """The checks before the hub, and the refusal counters (module docstring)."""

    def __init__(
        self,
        node: Node,
        hub: TrackHub,
        audit: AuditSink | None = None,
        *,
        max_skew: timedelta = MAX_SKEW,
    ) -> None:
        self.node = node
        self.hub = hub
        self._audit = audit or node_audit_sink(node)
        self._max_skew = max_skew
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: Counter[tuple[str, str, str]] = Counter()
        self._refused: Counter[str] = Counter()
        self._accepted = 0

    def may_feed(self, record: OfficialRecord | None) -> bool:
        """Whether ``record`` is an active ``sensor_feed`` official of this node."""
        return may(record, self.node.party, Role.SENSOR_FEED)

    def _check(self, record: OfficialRecord, message: TrackMessage, now: datetime) -> str | None:
        node = self.node
        if not self.may_feed(record):
            return "NODE_FORBIDDEN"
        label = message.label
        if label.originator != node.party:
            return "TRACK_ORIGINATOR_FOREIGN"
        scheme = node.registry.schemes.get(node.party)
        if (
            scheme is None
            or label.policy_id != scheme.id
            or scheme.find(label.classification) is None
        ):
            return "TRACK_LABEL_UNKNOWN_LEVEL"
        if len(label.topics) != 1:
            return "TRACK_TOPIC_INVALID"
        try:
            check_current(message, now, self._max_skew)
            self.hub.publish(message)
        except (CotError, TrackError) as exc:
            return exc.code
        return None

    def take(
        self, record: OfficialRecord, message: TrackMessage, now: datetime, route: str
    ) -> str | None:
        """Publish ``message`` from ``record``'s sensor; None, or the refusal's code (counted)."""
        code = self._check(record, message, now)
        if code is None:
            with self._lock:
                self._accepted += 1
            return None
        self.refuse(record.official.id, route, code)
        return code

    def refuse(self, official_id: str | None, route: str, code: str, count: int = 1) -> None:
        """Count ``count`` refusals with ``code`` on ``route``; audited at the next flush."""
        with self._lock:
            self._pending[(official_id or UNKNOWN_OFFICIAL, route, code)] += count
            self._refused[code] += count

    def flush(self) -> int:
        """Audit what was refused since the last flush (blocking: the store commits); how many
        records were written."""
        with self._flush_lock:
            with self._lock:
                batch = [(o, r, c, n) for (o, r, c), n in self._pending.items()]
                self._pending.clear()
            if batch:
                self._audit(batch)
            return len(batch)

    def stats(self) -> dict[str, Any]:
        """Messages accepted and refused (by code) since start; subscribers now."""
        with self._lock:
            refused = dict(sorted(self._refused.items()))
            accepted = self._accepted
        return {
            "accepted": accepted,
            "refused": refused,
            "published": self.hub.published,
            "subscribers": self.hub.subscribers,
        }
