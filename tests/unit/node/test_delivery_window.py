"""Delivery in exchanges of several messages, and its flow control (node/delivery.py, _window.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from gsomia.node import delivery
from gsomia.node._window import MAX_WINDOW, MIN_WINDOW, TARGET, InFlight
from gsomia.ports import ChannelError, DeliveryState, Inbound, OutboxEntry, OutboxMessage
from tests.unit.node.cluster import NOW


def _entry(n: int, party: str = "JPN", size: int = 10) -> OutboxEntry:
    message = OutboxMessage(f"item-{n}:{party}", party, "item", f"item-{n}", b"x" * size, NOW)
    return OutboxEntry(message, n, DeliveryState.PENDING, 1, NOW + timedelta(seconds=1), NOW)


class _Partner:
    """A batch channel whose partner refuses batches holding ``refused``, or is ``down``."""

    def __init__(self, refused: str | None = None, down: bool = False) -> None:
        self.refused = refused
        self.down = down
        self.exchanges: list[list[str]] = []

    @property
    def party(self) -> str:
        return "KOR"

    def send(self, party: str, payload: bytes, *, idempotency_key: str) -> None:
        self.send_many(party, [(payload, idempotency_key)])

    def send_many(self, party: str, messages: Sequence[tuple[bytes, str]]) -> None:
        keys = [key for _, key in messages]
        if self.down:
            raise ChannelError("unreachable", detail={"party": party})
        if self.refused in keys:
            raise ChannelError("refused", detail={"party": party, "status": 413})
        self.exchanges.append(keys)

    def receive(self, *, limit: int = 100, timeout: float = 0.0) -> list[Inbound]:
        return []

    def refusals(self) -> list[tuple[str, int]]:
        return []

    def close(self) -> None:
        pass


def test_messages_go_in_exchanges_within_the_caps() -> None:
    partner = _Partner()
    entries = [_entry(n) for n in range(delivery.MAX_BATCH_MESSAGES + 3)]
    entries.append(_entry(999, size=delivery.MAX_BATCH_BYTES + 1))  # alone, one at a time
    taken = delivery.send(partner, entries)
    assert taken == entries
    assert [len(keys) for keys in partner.exchanges] == [delivery.MAX_BATCH_MESSAGES, 3, 1]


def test_a_refused_exchange_is_sent_again_one_by_one() -> None:
    partner = _Partner(refused="item-1:JPN")
    entries = [_entry(n) for n in range(3)]
    taken = delivery.send(partner, entries)
    assert [e.key for e in taken] == ["item-0:JPN", "item-2:JPN"]  # the refused one waits


def test_a_partner_that_is_down_is_not_tried_again_this_round() -> None:
    partner = _Partner(down=True)
    entries = [_entry(n) for n in range(delivery.MAX_BATCH_MESSAGES * 2)]
    assert delivery.send(partner, entries) == []
    assert partner.exchanges == []


def test_the_window_follows_the_rate_receipts_come_back() -> None:
    window = InFlight()
    assert window.room(NOW) == MIN_WINDOW  # nothing measured yet
    window.took(_entry(n) for n in range(MIN_WINDOW))
    assert window.room(NOW) == 0
    window.settled((f"item-{n}:JPN" for n in range(MIN_WINDOW)), NOW + TARGET)
    assert window.room(NOW + TARGET) == MIN_WINDOW  # 128 per 400 ms: the minimum
    many = [_entry(n) for n in range(1000, 1000 + MAX_WINDOW)]
    window.took(many)
    window.settled((e.key for e in many), NOW + 2 * TARGET)
    assert window.window(NOW + 2 * TARGET) == MAX_WINDOW  # fast receipts: up to the maximum
    assert window.window(NOW + timedelta(seconds=10)) == MIN_WINDOW  # and forgotten


def test_a_message_leaves_the_window_at_its_retry_instant() -> None:
    window = InFlight()
    window.took([_entry(1)])
    assert window.room(NOW) == MIN_WINDOW - 1
    assert window.room(NOW + timedelta(seconds=1)) == MIN_WINDOW  # it will be sent again anyway
    window.settled(["never-sent"], NOW)  # unknown keys change nothing
    assert window.window(NOW) == MIN_WINDOW
