"""Attacks on the government-to-government channel over real loopback HTTP (boundary: node
channel transport, ADR 0005; actors: outsider on the network, compromised partner node).

Every forged, replayed, skewed or misdirected request is refused with its problem code, queues
nothing, and so reaches JPN's node not at all: its store is unchanged.  Whether the *node* hears
of the refusal is the last test.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from gsomia.adapters.http_channel import CONTEXT, PATH, HttpChannel, canonical, sign_request
from gsomia.catalog import builtin_registry
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.envelope.signing import sign
from gsomia.instants import format_instant
from gsomia.node import Node
from gsomia.testing import InMemoryStore, ManualClock
from tests.adversarial.harness import Watch
from tests.unit.node.cluster import NOW

pytestmark = pytest.mark.integration

BODY = b"\x01\x0aNK-MISSILE\x00\x01p" + b"sealed item bytes"


@pytest.fixture(scope="module")
def keys() -> dict[str, NodeKeys]:
    return {p: NodeKeys.generate(p, NOW - timedelta(days=1)) for p in ("KOR", "JPN", "USA", "GBR")}


class Jpn:
    """JPN's node on its HTTP channel, trusting KOR and USA (never GBR)."""

    def __init__(self, keys: dict[str, NodeKeys]) -> None:
        self.clock = ManualClock(NOW)
        trust = TrustStore()
        for party in ("KOR", "USA"):
            trust = trust.add_bundle(keys[party].public_bundle())
        self.channel = HttpChannel("JPN", keys["JPN"], trust, clock=self.clock, max_body=64 * 1024)
        self.store = InMemoryStore()
        self.node = Node(
            "JPN", builtin_registry(), self.store, self.channel, keys["JPN"], trust, self.clock
        )

    def post(self, headers: dict[str, str], body: bytes = BODY) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection(*self.channel.address, timeout=5)
        try:
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else {}
        finally:
            conn.close()


@pytest.fixture
def jpn(keys: dict[str, NodeKeys]) -> Iterator[Jpn]:
    target = Jpn(keys)
    yield target
    target.channel.close()


def signed(
    keys: NodeKeys,
    *,
    at: datetime,
    recipient: str = "JPN",
    nonce: str | None = None,
    body: bytes = BODY,
) -> dict[str, str]:
    headers = sign_request(
        keys,
        recipient=recipient,
        now=at,
        nonce=nonce or secrets.token_urlsafe(16),
        idempotency_key="item-1:JPN",
        body=body,
    )
    return {**headers, "Content-Type": "application/octet-stream"}


def _refused(jpn: Jpn, headers: dict[str, str], status: int, code: str) -> None:
    watch = Watch(jpn.store)
    got, problem = jpn.post(headers)
    assert (got, problem.get("code")) == (status, code)
    assert problem["type"].startswith("urn:gsomia:problem:")
    summary = jpn.node.receive()
    assert summary.messages == 0, "a refused request reached the node"
    watch.untouched()
    assert [r.reasons for r in watch.new_records()] == [(code,)]  # audited, nothing else


def test_clock_skew_beyond_tolerance(jpn: Jpn, keys: dict[str, NodeKeys]) -> None:
    for delta in (timedelta(minutes=6), -timedelta(minutes=6), timedelta(days=365)):
        _refused(jpn, signed(keys["KOR"], at=NOW + delta), 401, "CHANNEL_INSTANT_SKEWED")


def test_replayed_nonce(jpn: Jpn, keys: dict[str, NodeKeys]) -> None:
    headers = signed(keys["KOR"], at=NOW)
    assert jpn.post(headers)[0] == 204
    assert jpn.node.receive().messages == 1  # the genuine one (not a valid frame: audited)
    _refused(jpn, headers, 409, "CHANNEL_REPLAYED")


def test_request_for_another_recipient(jpn: Jpn, keys: dict[str, NodeKeys]) -> None:
    """KOR's genuine request to the USA, redirected to JPN."""
    _refused(jpn, signed(keys["KOR"], at=NOW, recipient="USA"), 421, "CHANNEL_WRONG_RECIPIENT")


def test_recipient_header_rewritten(jpn: Jpn, keys: dict[str, NodeKeys]) -> None:
    headers = signed(keys["KOR"], at=NOW, recipient="USA")
    headers["Gsomia-Recipient"] = "JPN"
    _refused(jpn, headers, 401, "SIGNATURE_INVALID")


def test_unknown_key(jpn: Jpn, keys: dict[str, NodeKeys]) -> None:
    _refused(jpn, signed(keys["GBR"], at=NOW), 401, "SIGNATURE_UNKNOWN_KEY")
    claiming = signed(keys["GBR"], at=NOW)
    claiming["Gsomia-Sender"] = "KOR"  # a name is no key
    _refused(jpn, claiming, 401, "SIGNATURE_UNKNOWN_KEY")


def test_partner_key_claiming_another_partner(jpn: Jpn, keys: dict[str, NodeKeys]) -> None:
    """The USA's node signs, with its own trusted key, a request that names KOR as sender."""
    nonce = secrets.token_urlsafe(16)
    instant = format_instant(NOW)
    usa = keys["USA"]
    message = canonical(
        method="POST", path=PATH, recipient="JPN", sender="KOR", kid=usa.signing_kid,
        instant=instant, nonce=nonce, idempotency_key="item-1:JPN", body=BODY,
    )  # fmt: skip
    kid, signature = sign(usa, message, context=CONTEXT)
    headers = {
        "Gsomia-Sender": "KOR",
        "Gsomia-Recipient": "JPN",
        "Gsomia-Key-Id": kid,
        "Gsomia-Instant": instant,
        "Gsomia-Nonce": nonce,
        "Idempotency-Key": "item-1:JPN",
        "Gsomia-Signature": base64.urlsafe_b64encode(signature).rstrip(b"=").decode(),
        "Content-Type": "application/octet-stream",
    }
    _refused(jpn, headers, 401, "CHANNEL_SENDER_MISMATCH")
    headers["Gsomia-Sender"] = "USA"  # the same signature under the truth: it no longer matches
    _refused(jpn, headers, 401, "SIGNATURE_INVALID")


def test_body_swapped_under_a_genuine_signature(jpn: Jpn, keys: dict[str, NodeKeys]) -> None:
    watch = Watch(jpn.store)
    got, problem = jpn.post(signed(keys["KOR"], at=NOW), body=BODY + b"!")
    assert (got, problem["code"]) == (401, "SIGNATURE_INVALID")
    assert jpn.node.receive().messages == 0
    watch.untouched()


def test_channel_refusals_are_audited_at_the_node(jpn: Jpn, keys: dict[str, NodeKeys]) -> None:
    jpn.post(signed(keys["KOR"], at=NOW + timedelta(hours=1)))
    jpn.node.receive()
    with jpn.store.read() as reader:
        reasons = [reader.audit_entry(i).reasons for i in range(reader.audit_size())]
    assert ("CHANNEL_INSTANT_SKEWED",) in reasons
