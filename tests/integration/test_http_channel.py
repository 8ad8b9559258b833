"""The HTTP node channel on real loopback sockets: signed requests, refusals, a node exchange.

Issue 4 §1: mutual authentication between nodes, a partner authenticated by its key, never by an
address; ADR 0005.  Every refusal answers RFC 9457 problem details and queues nothing.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from gsomia.adapters.http_channel import PATH, HttpChannel, sign_request
from gsomia.adapters.http_channel import _server as http_server
from gsomia.adapters.http_channel._batch import BATCH_PATH, decode_batch, encode_batch
from gsomia.catalog import builtin_registry
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import InputError
from gsomia.node import Node
from gsomia.ports import ChannelError, DeliveryState, ReceiptDirection
from gsomia.testing import InMemoryNetwork, InMemoryStore, ManualClock
from tests.unit.node.cluster import NOW, PAYLOAD, Cluster, officials, release_to_japan

pytestmark = pytest.mark.integration

PARTIES = ("KOR", "JPN", "USA")
MAX_BODY = 4096

Factory = Callable[..., HttpChannel]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(scope="module")
def keys() -> dict[str, NodeKeys]:
    return {p: NodeKeys.generate(p, NOW - timedelta(days=1)) for p in (*PARTIES, "GBR")}


def trust_for(keys: dict[str, NodeKeys], party: str) -> TrustStore:
    """Each node trusts the other two of KOR, JPN, USA (never GBR)."""
    trust = TrustStore()
    for other in PARTIES:
        if other != party:
            trust = trust.add_bundle(keys[other].public_bundle())
    return trust


@pytest.fixture
def make(keys: dict[str, NodeKeys], clock: ManualClock) -> Iterator[Factory]:
    """Builds channels; every one is closed (server thread joined) at the end of the test."""
    made: list[HttpChannel] = []

    def factory(party: str, **kwargs: Any) -> HttpChannel:
        kwargs.setdefault("max_body", MAX_BODY)
        channel = HttpChannel(party, keys[party], trust_for(keys, party), clock=clock, **kwargs)
        made.append(channel)
        return channel

    yield factory
    for channel in made:
        channel.close()
        assert not channel._thread.is_alive()


@pytest.fixture
def trio(make: Factory) -> dict[str, HttpChannel]:
    channels = {p: make(p) for p in PARTIES}
    for channel in channels.values():
        for other in channels.values():
            if other is not channel:
                channel.add_peer(other.party, other.url)
    return channels


def post(
    channel: HttpChannel,
    body: bytes = b"sealed",
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str = PATH,
) -> tuple[int, dict[str, Any]]:
    """A raw request to ``channel``; the status and the decoded problem (or {})."""
    conn = http.client.HTTPConnection(*channel.address, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        if data:
            assert response.getheader("Content-Type") == "application/problem+json"
        return response.status, json.loads(data) if data else {}
    finally:
        conn.close()


def signed(
    keys: NodeKeys,
    recipient: str,
    body: bytes,
    clock: ManualClock,
    *,
    nonce: str | None = None,
    at: Any = None,
) -> dict[str, str]:
    return sign_request(
        keys,
        recipient=recipient,
        now=at or clock.now(),
        nonce=nonce or secrets.token_urlsafe(16),
        idempotency_key="item-1:JPN",
        body=body,
    )


# -- the happy path --------------------------------------------------------------------------


def test_round_trip_in_arrival_order(trio: dict[str, HttpChannel]) -> None:
    kor, jpn, usa = trio["KOR"], trio["JPN"], trio["USA"]
    kor.send("JPN", b"one", idempotency_key="k1")
    usa.send("JPN", b"two", idempotency_key="k2")
    kor.send("JPN", b"three", idempotency_key="k3")  # on the kept-alive connection
    assert "JPN" in kor._conns
    jpn._server.drop_connections()  # as an idle timeout would: the next send reconnects
    kor.send("JPN", b"four", idempotency_key="k4")
    got = jpn.receive(limit=2)
    assert [(m.sender, m.payload, m.idempotency_key) for m in got] == [
        ("KOR", b"one", "k1"),
        ("USA", b"two", "k2"),
    ]
    assert [m.payload for m in jpn.receive()] == [b"three", b"four"]
    assert jpn.receive(timeout=0.01) == []
    jpn.send("KOR", b"back", idempotency_key="r1")
    [back] = kor.receive(timeout=1.0)
    assert (back.sender, back.payload) == ("JPN", b"back")
    assert usa.receive() == []


def test_send_failures_are_channel_errors(make: Factory, trio: dict[str, HttpChannel]) -> None:
    kor = trio["KOR"]
    with pytest.raises(ChannelError) as exc:
        kor.send("GBR", b"x", idempotency_key="k")  # no address known
    assert exc.value.code == "CHANNEL_UNAVAILABLE"
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kor.add_peer("USA", f"http://127.0.0.1:{port}")
    with pytest.raises(ChannelError) as exc:
        kor.send("USA", b"x", idempotency_key="k")
    assert exc.value.code == "CHANNEL_UNAVAILABLE"
    big = b"x" * (MAX_BODY + 1)
    with pytest.raises(ChannelError) as exc:
        kor.send("JPN", big, idempotency_key="k")
    assert exc.value.detail == {
        "party": "JPN",
        "status": 413,
        "problem_code": "CHANNEL_BODY_TOO_LARGE",
    }
    with pytest.raises(InputError):
        kor.send("JPN", b"x", idempotency_key="bad key\n")
    with pytest.raises(InputError):
        kor.add_peer("JPN", "https://127.0.0.1:1/prefix")
    jpn = trio["JPN"]
    jpn.close()
    with pytest.raises(ChannelError):
        kor.send("JPN", b"x", idempotency_key="k")  # peer down (its kept-alive socket too)
    with pytest.raises(ChannelError):
        jpn.send("KOR", b"x", idempotency_key="k")
    assert jpn.receive() == []


# -- refusals: nothing queued --------------------------------------------------------------


def test_an_untrusted_party_is_refused(
    trio: dict[str, HttpChannel], keys: dict[str, NodeKeys], make: Factory
) -> None:
    gbr = make("GBR")  # trusts KOR, JPN and USA, but none of them trusts GBR
    gbr.add_peer("JPN", trio["JPN"].url)
    with pytest.raises(ChannelError) as exc:
        gbr.send("JPN", b"x", idempotency_key="k")
    assert exc.value.detail["status"] == 401
    assert exc.value.detail["problem_code"] == "SIGNATURE_UNKNOWN_KEY"
    # claiming to be KOR while signing with GBR's key changes nothing: the key decides
    headers = signed(keys["GBR"], "JPN", b"x", gbr._clock)  # type: ignore[arg-type]
    headers["Gsomia-Sender"] = "KOR"
    status, problem = post(trio["JPN"], b"x", headers=headers)
    assert (status, problem["code"]) == (401, "SIGNATURE_UNKNOWN_KEY")
    assert trio["JPN"].receive() == []


Tamper = Callable[[dict[str, str], NodeKeys, ManualClock], tuple[dict[str, str], bytes]]


def _body(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    return signed(k, "JPN", b"sealed", c), b"sealeD"


def _signature(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    other = signed(k, "JPN", b"other", c)
    return {**h, "Gsomia-Signature": other["Gsomia-Signature"]}, b"sealed"


def _recipient(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    return signed(k, "USA", b"sealed", c), b"sealed"


def _relabelled(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    return {**h, "Gsomia-Recipient": "USA"}, b"sealed"  # header changed after signing


def _stale(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    return signed(k, "JPN", b"sealed", c, at=c.now() - timedelta(minutes=6)), b"sealed"


def _future(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    return signed(k, "JPN", b"sealed", c, at=c.now() + timedelta(minutes=6)), b"sealed"


def _key(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    return {**h, "Idempotency-Key": "item-2:JPN"}, b"sealed"


def _unsigned(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    return {"Content-Type": "application/octet-stream"}, b"sealed"


def _media(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    return {**h, "Content-Type": "application/json"}, b"sealed"


def _malformed(h: dict[str, str], k: NodeKeys, c: ManualClock) -> tuple[dict[str, str], bytes]:
    return {**h, "Gsomia-Nonce": "short"}, b"sealed"


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        (_body, 401, "SIGNATURE_INVALID"),
        (_signature, 401, "SIGNATURE_INVALID"),
        (_key, 401, "SIGNATURE_INVALID"),
        (_relabelled, 421, "CHANNEL_WRONG_RECIPIENT"),
        (_recipient, 421, "CHANNEL_WRONG_RECIPIENT"),
        (_stale, 401, "CHANNEL_INSTANT_SKEWED"),
        (_future, 401, "CHANNEL_INSTANT_SKEWED"),
        (_unsigned, 401, "CHANNEL_UNAUTHENTICATED"),
        (_media, 415, "CHANNEL_MEDIA_TYPE_UNSUPPORTED"),
        (_malformed, 400, "CHANNEL_HEADER_INVALID"),
    ],
)
def test_a_forged_or_misdirected_request_is_refused(
    trio: dict[str, HttpChannel],
    keys: dict[str, NodeKeys],
    clock: ManualClock,
    tamper: Tamper,
    status: int,
    code: str,
) -> None:
    jpn = trio["JPN"]
    headers, body = tamper(signed(keys["KOR"], "JPN", b"sealed", clock), keys["KOR"], clock)
    got, problem = post(jpn, body, headers=headers)
    assert (got, problem["code"], problem["status"]) == (status, code, status)
    assert problem["type"].startswith("urn:gsomia:problem:")
    assert jpn.receive() == []


def test_a_replayed_nonce_is_refused_until_the_window_has_passed(
    trio: dict[str, HttpChannel], keys: dict[str, NodeKeys], clock: ManualClock
) -> None:
    jpn = trio["JPN"]
    headers = signed(keys["KOR"], "JPN", b"sealed", clock)
    assert post(jpn, b"sealed", headers=headers)[0] == 204
    status, problem = post(jpn, b"sealed", headers=headers)
    assert (status, problem["code"]) == (409, "CHANNEL_REPLAYED")
    clock.advance(timedelta(minutes=5, seconds=1))
    status, problem = post(jpn, b"sealed", headers=headers)
    assert (status, problem["code"]) == (401, "CHANNEL_INSTANT_SKEWED")
    assert [m.payload for m in jpn.receive()] == [b"sealed"]  # the first one only


def test_a_key_not_valid_at_the_instant_is_refused(
    make: Factory, keys: dict[str, NodeKeys], clock: ManualClock
) -> None:
    kor_keys = NodeKeys.generate("KOR", NOW + timedelta(minutes=1))  # valid from a minute ahead
    jpn = HttpChannel(
        "JPN", keys["JPN"], TrustStore().add_bundle(kor_keys.public_bundle()), clock=clock
    )
    try:
        status, problem = post(jpn, b"x", headers=signed(kor_keys, "JPN", b"x", clock))
        assert (status, problem["code"]) == (401, "SIGNATURE_KEY_NOT_VALID")
        assert jpn.receive() == []
    finally:
        jpn.close()


def test_framing_method_and_path_refusals(
    trio: dict[str, HttpChannel], keys: dict[str, NodeKeys], clock: ManualClock
) -> None:
    jpn = trio["JPN"]
    good = signed(keys["KOR"], "JPN", b"sealed", clock)
    assert post(jpn, b"sealed", headers=good, path="/v1/channel/other")[1]["code"] == (
        "CHANNEL_PATH_UNKNOWN"
    )
    assert post(jpn, b"sealed", headers=good, path=PATH + "?x=1")[0] == 404
    status, problem = post(jpn, b"", method="GET")
    assert (status, problem["code"]) == (405, "CHANNEL_METHOD_NOT_ALLOWED")
    assert post(jpn, b"", method="BREW")[0] == 405  # unknown to http.server as well
    assert post(jpn, b"", method="GET", path="/")[0] == 404

    # 413 before a byte of the body is read: a 1 GB declaration, no body sent at all
    conn = http.client.HTTPConnection(*jpn.address, timeout=5)
    conn.putrequest("POST", PATH)
    for name, value in good.items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(10**9))
    conn.endheaders()
    response = conn.getresponse()
    problem = json.loads(response.read())
    conn.close()
    assert (response.status, problem["code"]) == (413, "CHANNEL_BODY_TOO_LARGE")

    # chunked bodies are refused (RFC 9112 §6.1), as is a missing Content-Length
    conn = http.client.HTTPConnection(*jpn.address, timeout=5)
    conn.request("POST", PATH, body=iter([b"sealed"]), headers=good, encode_chunked=True)
    response = conn.getresponse()
    problem = json.loads(response.read())
    conn.close()
    assert (response.status, problem["code"]) == (411, "CHANNEL_LENGTH_REQUIRED")
    with socket.create_connection(jpn.address, timeout=5) as raw:
        raw.sendall(f"POST {PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert raw.recv(4096).startswith(b"HTTP/1.1 411 ")
    with socket.create_connection(jpn.address, timeout=5) as raw:
        raw.sendall(f"POST {PATH} HTTP/2.0\r\nHost: x\r\n\r\n".encode())  # http.server refuses
        answer = b"".join(iter(lambda: raw.recv(4096), b""))
        assert answer.startswith(b"HTTP/1.1 505 ")
        assert b"CHANNEL_HTTP_INVALID" in answer
    assert jpn.receive() == []


def test_receive_waits_and_close_wakes_it(trio: dict[str, HttpChannel]) -> None:
    jpn = trio["JPN"]
    with pytest.raises(InputError):
        jpn.receive(limit=0)
    with pytest.raises(InputError):
        jpn.receive(timeout=-1)
    assert jpn.receive(timeout=0.05) == []
    jpn.close()
    jpn.close()  # idempotent
    assert jpn.receive(timeout=5) == []


# -- two nodes over the channel --------------------------------------------------------------


def test_nodes_exchange_exactly_once_over_http(
    keys: dict[str, NodeKeys], clock: ManualClock, make: Factory
) -> None:
    registry = builtin_registry()
    stores = {p: InMemoryStore() for p in ("KOR", "JPN")}
    channels = {p: make(p, max_body=1024 * 1024) for p in ("KOR", "JPN")}
    channels["KOR"].add_peer("JPN", channels["JPN"].url)
    channels["JPN"].add_peer("KOR", channels["KOR"].url)
    cluster = Cluster(InMemoryNetwork(), clock, dict(stores))  # only pump() and nodes are used
    for party in ("KOR", "JPN"):
        with stores[party].unit_of_work() as uow:
            for record in officials(party):
                uow.put_official(record)
        cluster.nodes[party] = Node(
            party, registry, stores[party], channels[party], keys[party],
            trust_for(keys, party), clock,
        )  # fmt: skip
    result = release_to_japan(cluster)
    assert result.released, result.reasons
    cluster.pump()
    item_id = result.item_id
    key = f"{item_id}:JPN"
    with stores["KOR"].read() as kor:
        entry = kor.outbox_entry(key)
        assert entry is not None
        assert entry.state is DeliveryState.ACKNOWLEDGED
        assert kor.receipt(item_id, "JPN", ReceiptDirection.RECEIVED) is not None
    with stores["JPN"].read() as jpn:
        held = jpn.item(item_id)
        assert held is not None
        assert held.received_from == "KOR"
        assert PAYLOAD not in (held.sealed or b"")

    # the sender retries (a receipt lost in transit): a fresh nonce, the same item, no new copy
    channels["KOR"].send("JPN", entry.message.payload, idempotency_key=key)
    summary = cluster.nodes["JPN"].receive()
    assert summary.duplicates == 1
    with stores["JPN"].read() as jpn:
        assert len(jpn.items()) == 1


# -- batches: several messages in one signed request (ADR 0005, "Batches") ----------------------


def test_a_batch_delivers_every_message_with_its_own_key(trio: dict[str, HttpChannel]) -> None:
    kor, jpn = trio["KOR"], trio["JPN"]
    kor.send_many("JPN", [(b"one", "item-1:JPN"), (b"two", "item-2:JPN"), (b"3", "receipt:x")])
    got = jpn.receive(limit=10, timeout=2)
    assert [(m.sender, m.payload, m.idempotency_key) for m in got] == [
        ("KOR", b"one", "item-1:JPN"),
        ("KOR", b"two", "item-2:JPN"),
        ("KOR", b"3", "receipt:x"),
    ]


def _batch_request(
    keys: dict[str, NodeKeys], clock: ManualClock, body: bytes, *, nonce: str | None = None
) -> dict[str, str]:
    return sign_request(
        keys["KOR"],
        recipient="JPN",
        now=clock.now(),
        nonce=nonce or secrets.token_urlsafe(16),
        idempotency_key="batch:x",
        body=body,
        path=BATCH_PATH,
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\x00",  # no message
        b"\x00\x01\x00\x01a",  # truncated
        encode_batch([(b"p", "k-1")]) + b"!",  # bytes after the last message
        b"\x00\x01\x00\x01 \x00\x00\x00\x01p",  # a key with a space
        b"\x00\x01\x00\x01k\x00\x00\x00\x00",  # an empty payload
    ],
)
def test_a_malformed_batch_is_refused_and_queues_nothing(
    trio: dict[str, HttpChannel], keys: dict[str, NodeKeys], clock: ManualClock, body: bytes
) -> None:
    jpn = trio["JPN"]
    status, problem = post(jpn, body, headers=_batch_request(keys, clock, body), path=BATCH_PATH)
    assert (status, problem["code"]) == (400, "CHANNEL_BATCH_INVALID")
    assert jpn.receive(limit=10) == []


def test_a_batch_signature_is_bound_to_the_batch_resource(
    trio: dict[str, HttpChannel], keys: dict[str, NodeKeys], clock: ManualClock
) -> None:
    jpn = trio["JPN"]
    body = encode_batch([(b"sealed", "item-1:JPN")])
    headers = _batch_request(keys, clock, body)
    status, problem = post(jpn, body, headers=headers)  # replayed on the single resource
    assert (status, problem["code"]) == (401, "SIGNATURE_INVALID")
    single = signed(keys["KOR"], "JPN", body, clock)
    status, problem = post(jpn, body, headers=single, path=BATCH_PATH)  # and the reverse
    assert (status, problem["code"]) == (401, "SIGNATURE_INVALID")
    assert post(jpn, body, headers=headers, path=BATCH_PATH)[0] == 204
    assert post(jpn, body, headers=headers, path=BATCH_PATH)[1]["code"] == "CHANNEL_REPLAYED"
    assert [m.idempotency_key for m in jpn.receive(limit=10)] == ["item-1:JPN"]


def test_a_batch_too_big_for_the_queue_queues_none_of_it(make: Factory) -> None:
    kor, jpn = make("KOR"), make("JPN", max_queue=2)
    kor.add_peer("JPN", jpn.url)
    with pytest.raises(ChannelError) as caught:
        kor.send_many("JPN", [(b"a", "k-1"), (b"b", "k-2"), (b"c", "k-3")])
    assert caught.value.detail["problem_code"] == "CHANNEL_BUSY"
    assert jpn.receive(limit=10) == []


def test_a_partner_without_batches_is_sent_one_message_at_a_time(
    make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    kor, jpn = make("KOR"), make("JPN")
    kor.add_peer("JPN", jpn.url)
    monkeypatch.setattr(http_server, "BATCH_PATH", "/v1/channel/not-known-here")  # an older node
    kor.send_many("JPN", [(b"a", "k-1"), (b"b", "k-2")])
    assert [m.payload for m in jpn.receive(limit=10, timeout=2)] == [b"a", b"b"]
    assert "JPN" in kor._single_only


def test_batch_bodies_round_trip() -> None:
    messages = [(b"x" * n, f"key-{n}") for n in (1, 2, 300)]
    assert decode_batch(encode_batch(messages)) == [(k, p) for p, k in messages]
    with pytest.raises(ValueError, match="1 to"):
        encode_batch([])
    with pytest.raises(ValueError, match="visible ASCII"):
        encode_batch([(b"x", "a key")])
