"""Fakes of the Clock, Channel and KeyStore ports: time, network and keys held in memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import InputError
from gsomia.instants import require_aware
from gsomia.ports import (
    BatchChannel,
    Channel,
    ChannelError,
    Clock,
    Inbound,
    KeyStore,
    check_limit,
)

__all__ = [
    "FixedClock",
    "InMemoryChannel",
    "InMemoryKeyStore",
    "InMemoryNetwork",
    "ManualClock",
    "loopback_pair",
]


class FixedClock:
    """A clock that always reads ``at``."""

    def __init__(self, at: datetime) -> None:
        self._at = require_aware(at, "at")

    def now(self) -> datetime:
        """The fixed instant."""
        return self._at


class ManualClock:
    """A clock a test moves by hand; it never moves by itself."""

    def __init__(self, start: datetime) -> None:
        self._at = require_aware(start, "start")

    def now(self) -> datetime:
        """The current (manual) instant."""
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (not backward) and return the new instant."""
        if delta < timedelta(0):
            raise InputError("a manual clock only moves forward; use set()", code="CLOCK_BACKWARD")
        self._at += delta
        return self._at

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (backward too, as a real clock may after a correction)."""
        self._at = require_aware(at, "at")


class InMemoryNetwork:
    """Loopback delivery between :class:`InMemoryChannel` objects, by party.

    ``down`` holds parties whose node is unreachable (``send`` raises
    :class:`~gsomia.ports.ChannelError`); with ``duplicate`` set every message arrives twice.
    """

    def __init__(self) -> None:
        self._queues: dict[str, deque[Inbound]] = {}
        self.down: set[str] = set()
        self.duplicate = False
        self.batches = 0  # exchanges of several messages (send_many), for tests
        self.sent: list[tuple[str, str, str]] = []  # (from, to, idempotency key), for tests

    def channel(self, party: str) -> InMemoryChannel:
        """The channel of ``party`` on this network."""
        if party in self._queues:
            raise InputError(f"{party} already has a channel", code="CHANNEL_EXISTS")
        self._queues[party] = deque()
        return InMemoryChannel(self, party)

    def _deliver(self, sender: str, party: str, payload: bytes, key: str) -> None:
        queue = self._queues.get(party)
        if queue is None or party in self.down:
            raise ChannelError(f"{party} is unreachable", detail={"party": party})
        self.sent.append((sender, party, key))
        for _ in range(2 if self.duplicate else 1):
            queue.append(Inbound(sender, bytes(payload), key))

    def _deliver_many(self, sender: str, party: str, messages: Sequence[tuple[bytes, str]]) -> None:
        if self._queues.get(party) is None or party in self.down:
            raise ChannelError(f"{party} is unreachable", detail={"party": party})
        self.batches += 1
        for payload, key in messages:
            self._deliver(sender, party, payload, key)

    def _take(self, party: str, limit: int) -> list[Inbound]:
        queue = self._queues[party]
        return [queue.popleft() for _ in range(min(check_limit(limit), len(queue)))]


class InMemoryChannel:
    """A :class:`~gsomia.ports.Channel` on an :class:`InMemoryNetwork`; never blocks."""

    def __init__(self, network: InMemoryNetwork, party: str) -> None:
        self._network = network
        self._party = party
        self._closed = False

    @property
    def party(self) -> str:
        """This node's party."""
        return self._party

    def send(self, party: str, payload: bytes, *, idempotency_key: str) -> None:
        """Deliver to ``party``'s queue, or raise :class:`~gsomia.ports.ChannelError`."""
        if self._closed:
            raise ChannelError("the channel is closed")
        self._network._deliver(self._party, party, payload, idempotency_key)

    def send_many(self, party: str, messages: Sequence[tuple[bytes, str]]) -> None:
        """Deliver every ``(payload, idempotency key)`` in order, or none (a
        :class:`~gsomia.ports.BatchChannel`); ``network.batches`` counts the exchanges."""
        if self._closed:
            raise ChannelError("the channel is closed")
        self._network._deliver_many(self._party, party, messages)

    def receive(self, *, limit: int = 100, timeout: float = 0.0) -> list[Inbound]:
        """What arrived, oldest first (``timeout`` is ignored: nothing arrives while waiting)."""
        return [] if self._closed else self._network._take(self._party, limit)

    def refusals(self) -> list[tuple[str, int]]:
        return []

    def close(self) -> None:
        """Stop sending and receiving."""
        self._closed = True


def loopback_pair(a: str, b: str) -> tuple[InMemoryChannel, InMemoryChannel]:
    """Two channels joined by a fresh network."""
    network = InMemoryNetwork()
    return network.channel(a), network.channel(b)


class InMemoryKeyStore:
    """A :class:`~gsomia.ports.KeyStore` over values held in memory."""

    def __init__(self, keys: NodeKeys, trust: TrustStore | None = None) -> None:
        self.keys = keys
        self.trust = trust if trust is not None else keys.trust_self()

    def load_keys(self) -> NodeKeys:
        """The node's keys."""
        return self.keys

    def load_trust(self) -> TrustStore:
        """The trust store."""
        return self.trust


def _conformance(
    clock: ManualClock, fixed: FixedClock, channel: InMemoryChannel, keys: InMemoryKeyStore
) -> tuple[Clock, Clock, Channel, BatchChannel, KeyStore]:
    """Never called: lets mypy check that every fake implements its port."""
    return clock, fixed, channel, channel, keys
