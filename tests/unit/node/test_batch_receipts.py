"""Batch receipts and negative receipts at the node (ADR 0011).

One signed receipt answers a run of items; the sender verifies it once and settles every item it
names; a forged, truncated or replayed batch receipt is refused and settles nothing; an item the
receiver refuses (its agreement terminated between release and delivery) is settled as refused
by the signed refusal, audited on both sides, and never sent again.
"""

from __future__ import annotations

from datetime import timedelta

from gsomia.agreements import Event, EventKind
from gsomia.audit.records import AuditKind
from gsomia.labels import LabelSet
from gsomia.node.framing import decode, receipts_frame
from gsomia.node.receipts import REFUSED_PREFIX
from gsomia.node.release_batch import ReleaseRequest
from gsomia.policy import Code
from gsomia.ports import DeliveryState, Inbound, InboxOutcome, ReceiptDirection
from gsomia.proofs.receipt_batch import verify_receipts
from tests.conftest import make_label
from tests.unit.node.cluster import (
    JPN_SECURITY,
    NOW,
    PAYLOAD,
    RELEASER,
    Cluster,
)

GSOMIA = "kor-jpn-gsomia-2016"


def _maritime(cluster: Cluster, n: int) -> list[str]:
    """Release ``n`` items KOR → JPN that only the ROK-JPN GSOMIA carries; their ids."""
    label = make_label(topics=("MARITIME-SECURITY",), created="2026-11-23T11:00:00+09:00")
    request = ReleaseRequest(PAYLOAD, label, ["JPN"], "MARITIME-SECURITY", "maritime awareness")
    results = cluster.nodes["KOR"].release_many(RELEASER, [request] * n)
    assert all(r.released for r in results)
    return [r.item_id for r in results]


def _batch_token(cluster: Cluster) -> bytes:
    """The one receipt message JPN queued for KOR (its token)."""
    with cluster.stores["JPN"].read() as jpn:
        (entry,) = [e for e in jpn.outbox() if e.message.kind == "receipt"]
    return decode(entry.message.payload).body


def test_one_signed_receipt_settles_every_item_of_the_run(cluster: Cluster) -> None:
    ids = _maritime(cluster, 5)
    cluster.nodes["KOR"].deliver_due()
    assert cluster.nodes["JPN"].receive().accepted == 5
    token = _batch_token(cluster)
    verified = verify_receipts(token, cluster.nodes["KOR"]._ctx.trust, cluster.clock.now())
    assert [e.item_id for e, _ in verified.entries] == ids
    assert token.count(b"\n") == 2 + 5  # magic, head, ONE signature line, five entries
    jpn_log = cluster.audit("JPN")
    assert verified.head.checkpoint.size == len(jpn_log)  # the checkpoint includes them all
    assert all(jpn_log[e.log_index].subject == e.item_id for e, _ in verified.entries)
    cluster.nodes["JPN"].deliver_due()
    summary = cluster.nodes["KOR"].receive()
    assert (summary.messages, summary.receipts) == (1, 5)
    with cluster.stores["KOR"].read() as kor:
        assert {kor.outbox_entry(f"{i}:JPN").state for i in ids} == {DeliveryState.ACKNOWLEDGED}  # type: ignore[union-attr]
        for item_id, (_, extract) in zip(ids, verified.entries, strict=True):
            stored = kor.receipt(item_id, "JPN", ReceiptDirection.RECEIVED)
            assert stored is not None
            assert stored.token == extract  # each item's evidence stands alone
    receipts = [r for r in cluster.audit("KOR") if r.kind is AuditKind.RECEIPT]
    assert [r.subject for r in receipts] == ids
    assert {r.detail["log_size"] for r in receipts} == {verified.head.checkpoint.size}


def _refused_and_nothing_settled(cluster: Cluster, ids: list[str], token: bytes) -> None:
    cluster.network._queues["KOR"].append(Inbound("JPN", receipts_frame(token), "attack"))
    summary = cluster.nodes["KOR"].receive()
    assert (summary.receipts, summary.receipts_rejected) == (0, 1)
    with cluster.stores["KOR"].read() as kor:
        for item_id in ids:
            assert kor.outbox_entry(f"{item_id}:JPN").state is DeliveryState.PENDING  # type: ignore[union-attr]
            assert kor.receipt(item_id, "JPN", ReceiptDirection.RECEIVED) is None
    assert cluster.audit("KOR")[-1].kind is AuditKind.REJECT


def test_a_truncated_batch_receipt_settles_nothing(cluster: Cluster) -> None:
    ids = _maritime(cluster, 3)
    cluster.nodes["KOR"].deliver_due()
    cluster.nodes["JPN"].receive()
    token = _batch_token(cluster)
    _refused_and_nothing_settled(cluster, ids, token.rsplit(b"\n", 1)[0])  # the last entry cut
    assert cluster.audit("KOR")[-1].reasons == ("TOKEN_MALFORMED",)


def test_a_forged_batch_receipt_settles_nothing(cluster: Cluster) -> None:
    ids = _maritime(cluster, 3)
    cluster.nodes["KOR"].deliver_due()
    cluster.nodes["JPN"].receive()
    magic, head, signature, *entries = _batch_token(cluster).split(b"\n")
    kid, sig = signature.split(b" ")
    forged = kid + b" " + (b"B" if sig[:1] == b"A" else b"A") + sig[1:]
    _refused_and_nothing_settled(cluster, ids, b"\n".join((magic, head, forged, *entries)))
    assert cluster.audit("KOR")[-1].reasons == ("TOKEN_SIGNATURE_INVALID",)


def test_a_replayed_batch_receipt_changes_nothing(cluster: Cluster) -> None:
    ids = _maritime(cluster, 2)
    cluster.pump()
    token = _batch_token(cluster)
    before = cluster.audit("KOR")
    cluster.network._queues["KOR"].append(Inbound("JPN", receipts_frame(token), "replay"))
    summary = cluster.nodes["KOR"].receive()
    assert (summary.receipts, summary.receipts_duplicate) == (0, 2)
    replays = cluster.audit("KOR")[len(before) :]
    assert [(r.decision, r.reasons, r.subject) for r in replays] == [
        ("duplicate", ("DUPLICATE_RECEIPT",), i) for i in ids
    ]
    relayed = Inbound("USA", receipts_frame(token), "from-usa")  # JPN's receipt, sent by USA
    cluster.network._queues["KOR"].append(relayed)
    assert cluster.nodes["KOR"].receive().receipts_rejected == 1
    assert cluster.audit("KOR")[-1].reasons == ("NODE_RECEIPT_MISMATCH",)


def test_a_refused_item_is_settled_by_the_signed_refusal_and_never_retried(
    cluster: Cluster,
) -> None:
    """JPN records the termination between KOR's release and the delivery (Art. 21)."""
    ids = _maritime(cluster, 2)
    terminated = Event(EventKind.TERMINATED, NOW - timedelta(minutes=1))
    cluster.nodes["JPN"].record_agreement_event(JPN_SECURITY, GSOMIA, terminated)
    cluster.pump()
    with cluster.stores["JPN"].read() as jpn:
        for item_id in ids:
            inbox = jpn.inbox_entry(item_id)
            assert inbox is not None
            assert inbox.outcome is InboxOutcome.REJECTED
            assert jpn.receipt(item_id, "KOR", ReceiptDirection.ISSUED) is not None
    with cluster.stores["KOR"].read() as kor:
        for item_id in ids:
            entry = kor.outbox_entry(f"{item_id}:JPN")
            assert entry is not None
            assert entry.state is DeliveryState.CANCELLED  # settled: never sent again
            assert entry.last_error is not None
            assert entry.last_error.startswith(REFUSED_PREFIX)
            assert Code.AGREEMENT_TERMINATED in entry.last_error
            assert kor.receipt(item_id, "JPN", ReceiptDirection.RECEIVED) is not None
    kor_refusals = [r for r in cluster.audit("KOR") if r.kind is AuditKind.RECEIPT]
    assert [(r.subject, r.decision) for r in kor_refusals] == [(i, "refused") for i in ids]
    assert all(Code.AGREEMENT_TERMINATED in r.reasons for r in kor_refusals)
    jpn_refusals = [r for r in cluster.audit("JPN") if r.kind is AuditKind.REJECT]
    assert [(r.subject, r.decision) for r in jpn_refusals] == [(i, "deny") for i in ids]
    sent = len(cluster.network.sent)
    cluster.pump(rounds=6, step=timedelta(hours=1))  # past every retry instant
    assert [key for _, _, key in cluster.network.sent[sent:]] == []


def test_a_refused_item_delivered_again_gets_the_same_signed_refusal(cluster: Cluster) -> None:
    (item_id,) = _maritime(cluster, 1)
    terminated = Event(EventKind.TERMINATED, NOW - timedelta(minutes=1))
    cluster.nodes["JPN"].record_agreement_event(JPN_SECURITY, GSOMIA, terminated)
    cluster.nodes["KOR"].deliver_due()
    assert cluster.nodes["JPN"].receive().rejected == 1
    cluster.clock.advance(timedelta(hours=1))  # JPN has not sent its refusal: KOR retries
    assert cluster.nodes["KOR"].deliver_due() == 1
    summary = cluster.nodes["JPN"].receive()
    assert (summary.rejected, summary.duplicates) == (0, 1)  # recognised, never decided twice
    with cluster.stores["JPN"].read() as jpn:
        stored = jpn.receipt(item_id, "KOR", ReceiptDirection.ISSUED)
    assert stored is not None
    (answer,) = cluster.network._queues["KOR"]
    assert answer.payload == receipts_frame(stored.token)  # the stored signed refusal, again
    assert cluster.nodes["KOR"].receive().receipts_refused == 1
    with cluster.stores["KOR"].read() as kor:
        assert kor.outbox_entry(f"{item_id}:JPN").state is DeliveryState.CANCELLED  # type: ignore[union-attr]


def test_labels_are_not_touched_by_a_refusal(cluster: Cluster) -> None:
    (item_id,) = _maritime(cluster, 1)
    cluster.nodes["JPN"].record_agreement_event(
        JPN_SECURITY, GSOMIA, Event(EventKind.TERMINATED, NOW - timedelta(minutes=1))
    )
    cluster.pump()
    with cluster.stores["KOR"].read() as kor:
        own = kor.item(item_id)
    assert own is not None
    assert isinstance(own.labels, LabelSet)
    assert own.labels.marking_for("JPN") is None  # JPN never re-marked what it refused


def test_duplicates_of_a_run_are_answered_with_their_extracts_in_one_exchange(
    cluster: Cluster,
) -> None:
    """KOR's retries cross JPN's receipt (not sent yet): each copy gets its stored extract."""
    ids = _maritime(cluster, 3)
    cluster.nodes["KOR"].deliver_due()
    assert cluster.nodes["JPN"].receive().accepted == 3
    cluster.clock.advance(timedelta(hours=1))
    assert cluster.nodes["KOR"].deliver_due() == 3
    batches = cluster.network.batches
    summary = cluster.nodes["JPN"].receive()
    assert (summary.accepted, summary.duplicates) == (0, 3)
    assert cluster.network.batches == batches + 1  # the three extracts in one exchange
    with cluster.stores["JPN"].read() as jpn:
        stored = [jpn.receipt(i, "KOR", ReceiptDirection.ISSUED) for i in ids]
    tokens = [r.token for r in stored if r is not None]
    assert len(tokens) == 3
    answers = sorted(m.payload for m in cluster.network._queues["KOR"])  # in retry order
    assert answers == sorted(receipts_frame(t) for t in tokens)
    assert cluster.nodes["KOR"].receive().receipts == 3
    with cluster.stores["KOR"].read() as kor:
        assert {kor.outbox_entry(f"{i}:JPN").state for i in ids} == {DeliveryState.ACKNOWLEDGED}  # type: ignore[union-attr]
