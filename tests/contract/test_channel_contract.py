"""The Channel contract: what the node relies on, held against the HTTP and the NATS channel.

ADR 0004 §11 and the port's docstring (gsomia.ports.protocols): ``send`` returns once the partner
took the message or raises ChannelError; ``receive`` returns what arrived, oldest first, from the
party whose key signed it (never an address or a broker account); a message that cannot be
authenticated is never handed to the node and shows in ``refusals()`` (PRODUCT.md §8).  Delivery
may duplicate (the outbox retries; the inbox makes the effect exactly-once), so these cases
assert at-least-once and order, never exactly-once; the NATS channel's de-duplication is tested
in tests/integration/test_nats_channel.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gsomia.adapters.http_channel import HttpChannel
from gsomia.adapters.nats_channel import NatsChannel
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import InputError
from gsomia.ports import BatchChannel, Channel, ChannelError, Inbound
from gsomia.testing import ManualClock
from tests.private_nats import PrivateNats, nats_server  # noqa: F401 (the session's server)

pytestmark = pytest.mark.integration

PARTIES = ("KOR", "JPN", "USA")
KINDS = ["http", "nats"]
NOW = datetime.now(UTC).replace(microsecond=0)

Make = Callable[..., dict[str, Channel]]


@pytest.fixture(scope="module")
def keys() -> dict[str, NodeKeys]:
    return {p: NodeKeys.generate(p, NOW - timedelta(days=1)) for p in PARTIES}


def trust(keys: dict[str, NodeKeys], party: str, *, excluded: tuple[str, ...] = ()) -> TrustStore:
    store = TrustStore()
    for other in PARTIES:
        if other != party and other not in excluded:
            store = store.add_bundle(keys[other].public_bundle())
    return store


@pytest.fixture(params=KINDS)
def make(request: pytest.FixtureRequest, keys: dict[str, NodeKeys]) -> Iterator[Make]:
    """Builds the three nations' channels of one kind, each partner known to the others."""
    made: list[Channel] = []
    clock = ManualClock(NOW)

    def factory(untrusting: dict[str, tuple[str, ...]] | None = None) -> dict[str, Channel]:
        channels: dict[str, Any] = {}
        for party in PARTIES:
            t = trust(keys, party, excluded=(untrusting or {}).get(party, ()))
            if request.param == "http":
                channels[party] = HttpChannel(party, keys[party], t, clock=clock)
            else:
                server: PrivateNats = request.getfixturevalue("nats_server")
                channels[party] = NatsChannel(
                    party, keys[party], t, clock=clock, **server.credentials(party)
                )
            made.append(channels[party])
        if request.param == "http":
            for channel in channels.values():
                for other in channels.values():
                    if other is not channel:
                        channel.add_peer(other.party, other.url)
        drain(channels)
        return channels

    yield factory
    for channel in made:
        channel.close()


def drain(channels: dict[str, Any]) -> None:
    """Settle whatever an earlier test left in a (shared, durable) NATS stream."""
    for channel in channels.values():
        while channel.receive(limit=1000, timeout=0.05):
            pass
        channel.refusals()


def collect(channel: Channel, count: int, *, wait: float = 5.0) -> list[Inbound]:
    """Receive until ``count`` messages came (or nothing more came for ``wait`` s)."""
    got: list[Inbound] = []
    while len(got) < count:
        batch = channel.receive(limit=1000, timeout=wait)
        if not batch:
            break
        got += batch
    return got


def test_a_sent_message_arrives_from_the_party_whose_key_signed_it(make: Make) -> None:
    ch = make()
    ch["KOR"].send("USA", b"sealed item", idempotency_key="item-1:USA")
    [message] = collect(ch["USA"], 1)
    assert message == Inbound("KOR", b"sealed item", "item-1:USA")
    assert ch["USA"].refusals() == []


def test_messages_from_one_partner_arrive_in_order(make: Make) -> None:
    ch = make()
    for n in range(20):
        ch["JPN"].send("KOR", f"m{n}".encode(), idempotency_key=f"k{n}")
    got = collect(ch["KOR"], 20)
    assert [m.payload for m in got] == [f"m{n}".encode() for n in range(20)]
    assert {m.sender for m in got} == {"JPN"}


def test_a_batch_arrives_whole_in_order_each_message_with_its_own_key(make: Make) -> None:
    ch = make()
    sender = ch["USA"]
    assert isinstance(sender, BatchChannel)
    batch = [(f"payload {n}".encode(), f"item-{n}:JPN") for n in range(300)]
    sender.send_many("JPN", batch)
    got = collect(ch["JPN"], 300)
    assert [(m.payload, m.idempotency_key) for m in got] == batch
    assert {m.sender for m in got} == {"USA"}


def test_each_recipient_gets_only_what_was_sent_to_it(make: Make) -> None:
    ch = make()
    ch["KOR"].send("USA", b"for USA", idempotency_key="a:USA")
    ch["KOR"].send("JPN", b"for JPN", idempotency_key="a:JPN")
    assert [m.payload for m in collect(ch["USA"], 1)] == [b"for USA"]
    assert [m.payload for m in collect(ch["JPN"], 1)] == [b"for JPN"]
    assert ch["KOR"].receive(limit=10, timeout=0.2) == []


def test_a_message_signed_by_an_untrusted_key_never_reaches_the_node_and_is_reported(
    make: Make,
) -> None:
    ch = make(untrusting={"USA": ("KOR",)})
    # HTTP refuses at the door; JetStream stores it and the receiving side refuses it
    with contextlib.suppress(ChannelError):
        ch["KOR"].send("USA", b"forged?", idempotency_key="x:USA")
    ch["JPN"].send("USA", b"genuine", idempotency_key="y:USA")
    got = collect(ch["USA"], 1)
    assert [m.payload for m in got] == [b"genuine"]
    assert ch["USA"].receive(limit=10, timeout=0.3) == []
    assert ("SIGNATURE_UNKNOWN_KEY", 401) in ch["USA"].refusals()
    assert ch["USA"].refusals() == []  # reported once


def test_receive_waits_at_most_its_timeout_and_honours_its_limit(make: Make) -> None:
    ch = make()
    assert ch["USA"].receive(limit=5, timeout=0.1) == []
    for n in range(7):
        ch["KOR"].send("USA", b"x", idempotency_key=f"limit-{n}")
    first = collect(ch["USA"], 1)
    rest = collect(ch["USA"], 7 - len(first))
    assert len(first) + len(rest) == 7
    assert all(len(ch["USA"].receive(limit=2, timeout=0.0)) <= 2 for _ in range(3))


def test_bad_arguments_are_input_errors_with_stable_codes(make: Make) -> None:
    ch = make()
    with pytest.raises(InputError) as bad_key:
        ch["KOR"].send("USA", b"x", idempotency_key="has a space")
    assert bad_key.value.code == "CHANNEL_INPUT_INVALID"
    with pytest.raises(InputError) as bad_limit:
        ch["KOR"].receive(limit=0)
    assert bad_limit.value.code == "LIMIT_INVALID"
    with pytest.raises(InputError) as bad_timeout:
        ch["KOR"].receive(limit=1, timeout=-1)
    assert bad_timeout.value.code == "CHANNEL_INPUT_INVALID"


def test_a_partner_without_a_channel_is_unavailable(make: Make) -> None:
    ch = make()
    with pytest.raises(ChannelError) as err:
        ch["KOR"].send("GBR", b"x", idempotency_key="k")
    assert err.value.code == "CHANNEL_UNAVAILABLE"


def test_a_closed_channel_sends_nothing(make: Make) -> None:
    ch = make()
    ch["KOR"].close()
    with pytest.raises(ChannelError):
        ch["KOR"].send("USA", b"x", idempotency_key="k")
    ch["KOR"].close()  # idempotent
