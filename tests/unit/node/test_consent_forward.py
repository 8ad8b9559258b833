"""Art. 6: a third-party forward with the originator's prior written consent, over the channel.

JPN holds a KOR item (released directly in 2026); JPN asks KOR for consent to forward it to the
USA; KOR's security officer decides; JPN forwards with the signed consent; the USA verifies it
and accepts.  PRODUCT.md §8: a forward never happens without the originator's signed consent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.audit.records import AuditKind
from gsomia.node import (
    NodeConflictError,
    NodeConsentNotFoundError,
    NodeForbiddenError,
    NodeInputError,
)
from gsomia.node.errors import FrameError
from gsomia.node.framing import (
    Frame,
    FrameKind,
    ack_frame,
    decode,
    item_frame,
    revoked_frame,
    token_frame,
)
from gsomia.policy import Code, ConsentKind
from gsomia.ports import (
    ConsentRequestDirection,
    ConsentRequestState,
    DeliveryState,
    ReceiptDirection,
)
from gsomia.proofs import issue_consent, verify_consent
from tests.unit.node.cluster import (
    JPN_READER,
    JPN_RELEASER,
    KOR_SECURITY,
    PAYLOAD,
    USA_READER,
    Cluster,
    build,
    only_a_negative_receipt,
    release_to_japan,
)

WHY = "joint assessment of NK missile launches"


def _held_at_jpn(cluster: Cluster) -> str:
    item_id = release_to_japan(cluster).item_id
    cluster.pump()
    return item_id


def _granted(cluster: Cluster, **decision: object) -> tuple[str, str]:
    """JPN asks, KOR grants; ``(item id, request id)``."""
    item_id = _held_at_jpn(cluster)
    request = cluster.nodes["JPN"].request_consent(JPN_RELEASER, item_id, "USA", WHY)
    cluster.pump()
    cluster.nodes["KOR"].decide_consent(KOR_SECURITY, request.request_id, True, **decision)  # type: ignore[arg-type]
    cluster.pump()
    return item_id, request.request_id


def _nothing_forwarded(cluster: Cluster, item_id: str) -> None:
    with cluster.stores["JPN"].read() as jpn:
        assert jpn.outbox_entry(f"{item_id}:USA") is None
    with cluster.stores["USA"].read() as usa:
        assert usa.item(item_id) is None


# -- the happy path ------------------------------------------------------------------------------


def test_request_decision_forward_and_acceptance_end_to_end(cluster: Cluster) -> None:
    item_id = _held_at_jpn(cluster)
    jpn, kor = cluster.nodes["JPN"], cluster.nodes["KOR"]
    request = jpn.request_consent(JPN_RELEASER, item_id, "USA", WHY)
    assert (request.direction, request.state, request.originator) == (
        ConsentRequestDirection.SENT,
        ConsentRequestState.PENDING,
        "KOR",
    )
    cluster.pump()
    (pending,) = kor.consent_requests(KOR_SECURITY, state=ConsentRequestState.PENDING)
    assert (pending.request_id, pending.direction) == (
        request.request_id,
        ConsentRequestDirection.RECEIVED,
    )
    assert (pending.holder, pending.third_party, pending.purpose) == ("JPN", "USA", WHY)
    assert pending.requested_by == JPN_RELEASER
    with cluster.stores["JPN"].read() as reader:  # the originator's ACK settled the request
        sent = reader.outbox_entry(f"consent-request:{request.request_id}")
        assert sent is not None
        assert sent.state is DeliveryState.ACKNOWLEDGED

    decided = kor.decide_consent(
        KOR_SECURITY, request.request_id, True, conditions=("no further release",)
    )
    assert decided.state is ConsentRequestState.APPROVED
    assert decided.decided_by == KOR_SECURITY
    cluster.pump()
    (mine,) = jpn.consent_requests(JPN_RELEASER)
    assert mine.state is ConsentRequestState.APPROVED
    with cluster.stores["JPN"].read() as reader:
        stored = reader.consent(request.request_id)
        assert stored is not None
        assert stored.consent.kind is ConsentKind.FORWARD
        assert stored.consent.conditions == ("no further release",)
    with cluster.stores["KOR"].read() as reader:
        decision = reader.outbox_entry(f"consent-decision:{request.request_id}")
        assert decision is not None
        assert decision.state is DeliveryState.ACKNOWLEDGED

    result = jpn.forward(JPN_RELEASER, item_id, "USA", WHY)
    assert result.forwarded, result.reasons
    assert result.consent_id == request.request_id
    assert result.decision.codes == (Code.FORWARD_ALLOWED,)
    with cluster.stores["JPN"].read() as reader:
        queued = reader.outbox_entry(f"{item_id}:USA")
    assert queued is not None
    frame = decode(queued.message.payload)
    assert frame.kind is FrameKind.ITEM_WITH_PROOF
    assert frame.proofs == (stored.token,)
    cluster.pump()

    assert cluster.nodes["USA"].read(USA_READER, item_id) == PAYLOAD
    with cluster.stores["USA"].read() as usa:
        held = usa.item(item_id)
        assert held is not None
        assert held.received_from == "JPN"
        assert held.agreement == "usa-jpn-gsomia-2007"
        assert held.labels.originator.originator == "KOR"  # the originator label stays bound
        assert held.labels.originator.classification == "군사II급비밀"
        assert held.labels.marking_for("JPN") == ("JPN", "極秘")  # the holder's marking
        assert held.labels.marking_for("USA") == ("USA", "SECRET")  # and ours
        assert usa.receipt(item_id, "JPN", ReceiptDirection.ISSUED) is not None
        assert usa.consent(request.request_id) is not None
    with cluster.stores["JPN"].read() as reader:
        assert reader.receipt(item_id, "USA", ReceiptDirection.RECEIVED) is not None
        entry = reader.outbox_entry(f"{item_id}:USA")
        assert entry is not None
        assert entry.state is DeliveryState.ACKNOWLEDGED

    assert cluster.kinds("KOR") == [
        (AuditKind.RELEASE, "allow"),
        (AuditKind.RECEIPT, "received"),
        (AuditKind.CONSENT, "received"),
        (AuditKind.CONSENT, "allow"),
    ]
    assert cluster.kinds("JPN") == [
        (AuditKind.ACCEPT, "allow"),
        (AuditKind.CONSENT, "requested"),
        (AuditKind.CONSENT, "allow"),
        (AuditKind.FORWARD, "allow"),
        (AuditKind.RECEIPT, "received"),
    ]
    assert cluster.kinds("USA") == [(AuditKind.ACCEPT, "allow"), (AuditKind.READ, "allow")]
    assert cluster.audit("USA")[0].reasons == (Code.FORWARD_ALLOWED,)
    forward_record = cluster.audit("JPN")[3]
    assert forward_record.detail["consent"] == request.request_id
    assert forward_record.detail["marking"] == "SECRET"


# -- refusals at the holder ----------------------------------------------------------------------


def test_a_forward_without_consent_is_refused_audited_and_nothing_queued(cluster: Cluster) -> None:
    item_id = _held_at_jpn(cluster)
    result = cluster.nodes["JPN"].forward(JPN_RELEASER, item_id, "USA", WHY)
    assert not result.forwarded
    assert result.reasons == (Code.CONSENT_MISSING,)
    assert cluster.kinds("JPN")[-1] == (AuditKind.FORWARD, "deny")
    cluster.pump()
    _nothing_forwarded(cluster, item_id)


def test_a_consent_refused_by_the_originator_allows_no_forward(cluster: Cluster) -> None:
    item_id = _held_at_jpn(cluster)
    request = cluster.nodes["JPN"].request_consent(JPN_RELEASER, item_id, "USA", WHY)
    cluster.pump()
    refused = cluster.nodes["KOR"].decide_consent(KOR_SECURITY, request.request_id, False)
    assert refused.state is ConsentRequestState.REFUSED
    assert refused.decision is not None
    cluster.pump()
    (mine,) = cluster.nodes["JPN"].consent_requests(JPN_RELEASER)
    assert mine.state is ConsentRequestState.REFUSED
    assert mine.decision == refused.decision  # the originator's signed refusal
    result = cluster.nodes["JPN"].forward(JPN_RELEASER, item_id, "USA", WHY)
    assert result.reasons == (Code.CONSENT_MISSING,)
    assert (AuditKind.CONSENT, "deny") in cluster.kinds("KOR")
    assert (AuditKind.CONSENT, "deny") in cluster.kinds("JPN")
    cluster.pump()
    _nothing_forwarded(cluster, item_id)


def test_a_forward_for_another_purpose_or_to_the_originator_is_refused(cluster: Cluster) -> None:
    item_id, _ = _granted(cluster)
    jpn = cluster.nodes["JPN"]
    assert jpn.forward(JPN_RELEASER, item_id, "USA", "targeting").reasons == (
        Code.CONSENT_OTHER_PURPOSE,
    )
    back = jpn.forward(JPN_RELEASER, item_id, "KOR", WHY)
    assert Code.FORWARD_TO_ORIGINATOR in back.reasons
    assert [d for k, d in cluster.kinds("JPN") if k is AuditKind.FORWARD] == ["deny", "deny"]
    cluster.pump()
    _nothing_forwarded(cluster, item_id)


def test_a_revoked_consent_allows_no_forward(cluster: Cluster) -> None:
    item_id, request_id = _granted(cluster)
    revoked = cluster.nodes["KOR"].revoke_consent(KOR_SECURITY, request_id)
    assert revoked.revocation is not None
    assert cluster.nodes["KOR"].revoke_consent(KOR_SECURITY, request_id) == revoked  # once
    cluster.pump()
    with cluster.stores["JPN"].read() as jpn:
        stored = jpn.consent(request_id)
        assert stored is not None
        assert stored.consent.revoked_at == revoked.consent.revoked_at
    result = cluster.nodes["JPN"].forward(JPN_RELEASER, item_id, "USA", WHY)
    assert result.reasons == (Code.CONSENT_REVOKED,)
    _nothing_forwarded(cluster, item_id)


def test_an_expired_consent_allows_no_forward(cluster: Cluster) -> None:
    item_id, _ = _granted(cluster, expires=cluster.clock.now() + timedelta(hours=1))
    cluster.clock.advance(timedelta(hours=2))
    result = cluster.nodes["JPN"].forward(JPN_RELEASER, item_id, "USA", WHY)
    assert result.reasons == (Code.CONSENT_EXPIRED,)
    _nothing_forwarded(cluster, item_id)


# -- refusals at the third party -----------------------------------------------------------------


def _forward_frame(cluster: Cluster) -> tuple[str, Frame]:
    item_id, _ = _granted(cluster)
    cluster.network.down.add("USA")
    assert cluster.nodes["JPN"].forward(JPN_RELEASER, item_id, "USA", WHY).forwarded
    with cluster.stores["JPN"].read() as jpn:
        entry = jpn.outbox_entry(f"{item_id}:USA")
    assert entry is not None
    cluster.network.down.clear()
    return item_id, decode(entry.message.payload)


def test_the_third_party_refuses_a_forward_without_the_consent(cluster: Cluster) -> None:
    item_id, frame = _forward_frame(cluster)
    cluster.nodes["JPN"]._ctx.channel.send(
        "USA",
        item_frame(frame.topic, frame.purpose, frame.body),
        idempotency_key="z1",
    )
    summary = cluster.nodes["USA"].receive()
    assert summary.rejections == ((item_id, Code.CONSENT_MISSING),)
    with cluster.stores["USA"].read() as usa:
        assert usa.item(item_id) is None
        only_a_negative_receipt(usa.outbox(), item_id, "JPN")  # nothing else (ADR 0011)
    assert cluster.kinds("USA") == [(AuditKind.REJECT, "deny")]


def test_the_third_party_refuses_a_consent_for_another_holder(cluster: Cluster) -> None:
    item_id, frame = _forward_frame(cluster)
    now = cluster.clock.now()
    genuine = verify_consent(frame.proofs[0], cluster.nodes["USA"]._ctx.trust, now)
    other = issue_consent(
        replace(genuine, holder="USA", third_party="JPN"), cluster.nodes["KOR"]._ctx.keys
    )
    cluster.nodes["JPN"]._ctx.channel.send(
        "USA",
        item_frame(frame.topic, frame.purpose, frame.body, (other,)),
        idempotency_key="z2",
    )
    summary = cluster.nodes["USA"].receive()
    assert summary.rejections == ((item_id, Code.CONSENT_OTHER_PARTY),)


# -- roles, misuse, exactly once -----------------------------------------------------------------


def test_only_the_right_officials_ask_decide_and_list(cluster: Cluster) -> None:
    item_id = _held_at_jpn(cluster)
    jpn, kor = cluster.nodes["JPN"], cluster.nodes["KOR"]
    with pytest.raises(NodeForbiddenError):
        jpn.request_consent(JPN_READER, item_id, "USA", WHY)
    with pytest.raises(NodeForbiddenError):
        jpn.consent_requests(JPN_READER)
    with pytest.raises(NodeInputError):
        jpn.request_consent(JPN_RELEASER, item_id, "KOR", WHY)  # consent is not asked for that
    with pytest.raises(NodeInputError):
        jpn.request_consent(JPN_RELEASER, item_id, "USA", "x" * 300)  # a token carries ≤ 256
    request = jpn.request_consent(JPN_RELEASER, item_id, "USA", WHY)
    cluster.pump()
    with pytest.raises(NodeForbiddenError):
        kor.decide_consent("kor-release-1", request.request_id, True)
    with pytest.raises(NodeConsentNotFoundError):
        kor.decide_consent(KOR_SECURITY, "no-such-request", True)
    with pytest.raises(NodeConsentNotFoundError):  # JPN sent it; only KOR decides
        cluster.nodes["JPN"].decide_consent("jpn-security-1", request.request_id, True)
    kor.decide_consent(KOR_SECURITY, request.request_id, True)
    with pytest.raises(NodeConflictError) as twice:
        kor.decide_consent(KOR_SECURITY, request.request_id, False)
    assert twice.value.code == "NODE_CONSENT_DECIDED"
    with pytest.raises(NodeForbiddenError):
        kor.revoke_consent("kor-reader-1", request.request_id)
    denials = [r for r in cluster.audit("KOR") if r.decision == "deny"]
    assert [r.reasons for r in denials] == [
        ("NODE_FORBIDDEN",),
        ("NODE_CONSENT_NOT_FOUND",),
        ("NODE_CONSENT_DECIDED",),
        ("NODE_FORBIDDEN",),
    ]


def test_everything_happens_once_over_a_duplicating_network(cluster: Cluster) -> None:
    cluster.network.duplicate = True
    item_id, request_id = _granted(cluster)
    jpn = cluster.nodes["JPN"]
    assert jpn.forward(JPN_RELEASER, item_id, "USA", WHY).forwarded
    with pytest.raises(NodeConflictError) as again:
        jpn.forward(JPN_RELEASER, item_id, "USA", WHY)
    assert again.value.code == "NODE_ALREADY_SENT"
    cluster.pump(rounds=6, step=timedelta(minutes=10))
    assert cluster.kinds("KOR").count((AuditKind.CONSENT, "received")) == 1
    assert cluster.kinds("KOR").count((AuditKind.CONSENT, "allow")) == 1
    assert cluster.kinds("JPN").count((AuditKind.CONSENT, "allow")) == 1
    assert cluster.kinds("JPN").count((AuditKind.FORWARD, "allow")) == 1
    assert cluster.kinds("USA").count((AuditKind.ACCEPT, "allow")) == 1
    assert (AuditKind.REJECT, "duplicate") in cluster.kinds("KOR")  # the request came twice
    for party in ("KOR", "JPN"):
        with cluster.stores[party].read() as reader:
            assert {e.state for e in reader.outbox()} == {DeliveryState.ACKNOWLEDGED}
            assert len(reader.consent_requests()) == 1
    with cluster.stores["USA"].read() as usa:
        assert [i.item_id for i in usa.items()] == [item_id]
    assert request_id


def test_consent_frames_round_trip_and_refuse_what_is_not_one() -> None:
    assert decode(token_frame(FrameKind.CONSENT_GRANTED, b"{}")).body == b"{}"
    revoked = decode(revoked_frame(b"consent", b"revocation"))
    assert (revoked.kind, revoked.proofs, revoked.body) == (
        FrameKind.CONSENT_REVOKED,
        (b"consent",),
        b"revocation",
    )
    assert decode(ack_frame("consent-request:abc")).body == b"consent-request:abc"
    with_proof = decode(item_frame("NK-MISSILE", "p", b"sealed", (b"a", b"bc")))
    assert (with_proof.kind, with_proof.proofs, with_proof.body) == (
        FrameKind.ITEM_WITH_PROOF,
        (b"a", b"bc"),
        b"sealed",
    )
    plain = item_frame("NK-MISSILE", "p", b"sealed")
    assert plain[0] == FrameKind.ITEM  # no proof: the plain item frame, unchanged
    for bad in (
        b"\x08has spaces",
        b"\x07\x00\x09short",
        b"\x03\x0aNK-MISSILE\x00\x01p\x00sealed",  # zero proofs
        b"\x03\x0aNK-MISSILE\x00\x01p\x01\x00\x09ab",  # a truncated proof
        b"\x03\x0aNK-MISSILE\x00\x01p\x01\x00\x01a",  # proofs but no sealed item
    ):
        with pytest.raises(FrameError):
            decode(bad)
    with pytest.raises(ValueError):
        token_frame(FrameKind.ITEM, b"x")


# -- on SQLite -----------------------------------------------------------------------------------


def test_the_forward_on_sqlite_survives_reopening_and_every_log_verifies(tmp_path: Path) -> None:
    cluster = build(lambda p: SqliteStore.in_data_dir(tmp_path / p), custody=True)
    item_id, request_id = _granted(cluster)
    assert cluster.nodes["JPN"].forward(JPN_RELEASER, item_id, "USA", WHY).forwarded
    cluster.pump()
    assert cluster.nodes["USA"].read(USA_READER, item_id) == PAYLOAD
    paths = {party: store.path for party, store in cluster.stores.items()}
    for store in cluster.stores.values():
        store.close()
    kor, jpn = SqliteStore(paths["KOR"]), SqliteStore(paths["JPN"])
    try:
        with kor.read() as reader:
            (received,) = reader.consent_requests(direction=ConsentRequestDirection.RECEIVED)
            assert received.state is ConsentRequestState.APPROVED
            assert received.decided_by == KOR_SECURITY
        with jpn.read() as reader:
            sent = reader.consent_request(request_id)
            assert sent is not None
            assert sent.state is ConsentRequestState.APPROVED
            assert reader.consent(request_id) is not None
            entry = reader.outbox_entry(f"{item_id}:USA")
            assert entry is not None
            assert entry.state is DeliveryState.ACKNOWLEDGED
    finally:
        kor.close()
        jpn.close()
    for party in ("KOR", "JPN", "USA"):
        verified = SqliteAuditLog(paths[party]).verify()
        assert verified.ok, verified.problems
