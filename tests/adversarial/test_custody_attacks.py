"""Attacks on custody beyond the first recipient: receipts, Art. 6 consents, TISA relays
(boundary: node channel, proofs; actor: a compromised partner node).

A compromised partner holds its own node's keys and whatever it was sent; it can sign receipts,
re-seal items it opened, and attach any token it saw.  What it cannot do is sign as another
party.  Each attack must be refused with its stable code at the node that decides, leave that
node's store as it was (but for the inbox entry that records a refused verified item) and be
audited there.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gsomia.audit import merkle
from gsomia.audit.records import AuditKind
from gsomia.envelope import NodeKeys, SealedItem, open_item, seal, signing
from gsomia.labels import AlternativeLabel, LabelSet
from gsomia.node._custody import item_binding
from gsomia.node.framing import Frame, decode, receipts_frame
from gsomia.policy import Code, Consent, ConsentKind
from gsomia.ports import DeliveryState, HeldItem, ReceiptDirection
from gsomia.proofs import (
    TokenInputError,
    issue_consent,
    receipt_batch,
    verify_consent,
)
from gsomia.proofs.receipt_batch import BatchHead, ReceiptEntry, issue_receipts, verify_receipts
from tests.adversarial.forge import deliver, genuine, kor_label, send_raw
from tests.adversarial.harness import Watch
from tests.unit.node.cluster import (
    JPN_RELEASER,
    KOR_SECURITY,
    PURPOSE,
    TISA_ERA,
    Cluster,
    build,
    release_to_japan,
    release_via_hub,
)

WHY = "joint assessment of NK missile launches"


# -- receipts (batch receipts, gsomia-receipts/1, ADR 0011) ------------------------------------


def _receipt_pending(cluster: Cluster) -> tuple[str, bytes]:
    """KOR released to JPN, JPN accepted and signed its receipt, which has not left JPN yet; the
    item's extract of that receipt."""
    item_id = release_to_japan(cluster).item_id
    cluster.nodes["KOR"].deliver_due()
    cluster.nodes["JPN"].receive()
    with cluster.stores["JPN"].read() as jpn:
        issued = jpn.receipt(item_id, "KOR", ReceiptDirection.ISSUED)
    assert issued is not None
    return item_id, issued.token


def _genuine(cluster: Cluster, token: bytes) -> tuple[BatchHead, ReceiptEntry]:
    verified = verify_receipts(token, cluster.nodes["KOR"]._ctx.trust, cluster.clock.now())
    ((entry, _),) = verified.entries
    return verified.head, entry


def _signed_by(keys: NodeKeys, head: BatchHead, entries: list[ReceiptEntry]) -> bytes:
    """What a compromised node can sign with its own key, whatever the head says."""
    lines = [e.line() for e in entries]
    head_bytes = receipt_batch._head_bytes(head, len(lines), merkle.root(lines))
    kid, sig = signing.sign(keys, head_bytes, context=signing.SigningContext.RECEIPTS)
    signature = f"{kid} {receipt_batch._b64u(sig)}".encode()
    return b"\n".join((b"gsomia-receipts/1", head_bytes, signature, *lines))


def _receipt_attack(cluster: Cluster, sender: str, token: bytes) -> Watch:
    watch = Watch(cluster.stores["KOR"])
    send_raw(cluster, sender, "KOR", receipts_frame(token), key="receipt-attack")
    summary = cluster.nodes["KOR"].receive()
    assert summary.receipts == summary.receipts_refused == 0
    return watch


def _still_pending(cluster: Cluster, item_id: str) -> None:
    with cluster.stores["KOR"].read() as kor:
        entry = kor.outbox_entry(f"{item_id}:JPN")
        assert entry is not None
        assert entry.state is DeliveryState.PENDING
        assert kor.receipt(item_id, "JPN", ReceiptDirection.RECEIVED) is None


def test_replayed_receipt_changes_nothing(cluster: Cluster) -> None:
    _, token = _receipt_pending(cluster)
    cluster.pump()  # the genuine receipt settles the delivery
    watch = Watch(cluster.stores["KOR"])
    send_raw(cluster, "JPN", "KOR", receipts_frame(token), key="receipt-replay")
    summary = cluster.nodes["KOR"].receive()
    assert (summary.receipts, summary.receipts_duplicate) == (0, 1)
    watch.untouched()


def test_replayed_receipt_is_audited(cluster: Cluster) -> None:
    _, token = _receipt_pending(cluster)
    cluster.pump()
    watch = Watch(cluster.stores["KOR"])
    send_raw(cluster, "JPN", "KOR", receipts_frame(token), key="receipt-replay")
    cluster.nodes["KOR"].receive()
    assert watch.new_records(), "the replayed receipt left no audit record"


def test_receipt_for_another_digest(cluster: Cluster) -> None:
    """JPN's node signs a receipt for the right item id but bytes KOR never sent."""
    item_id, token = _receipt_pending(cluster)
    head, entry = _genuine(cluster, token)
    other = issue_receipts(head, [replace(entry, digest="00" * 32)], cluster.nodes["JPN"]._ctx.keys)
    watch = _receipt_attack(cluster, "JPN", other.token)
    watch.rejected("NODE_RECEIPT_MISMATCH", kind=AuditKind.REJECT)
    _still_pending(cluster, item_id)


def test_receipt_for_another_item(cluster: Cluster) -> None:
    item_id, token = _receipt_pending(cluster)
    head, entry = _genuine(cluster, token)
    other = issue_receipts(
        head, [replace(entry, item_id="never-sent-item")], cluster.nodes["JPN"]._ctx.keys
    )
    watch = _receipt_attack(cluster, "JPN", other.token)
    watch.rejected("NODE_RECEIPT_MISMATCH", kind=AuditKind.REJECT)
    _still_pending(cluster, item_id)


def test_refusal_for_an_item_the_partner_accepted_is_for_what_we_sent_only(
    cluster: Cluster,
) -> None:
    """A negative receipt settles only the digest KOR sent: one for other bytes is refused."""
    item_id, token = _receipt_pending(cluster)
    head, entry = _genuine(cluster, token)
    refusal = replace(entry, digest="11" * 32, accepted=False, codes=("AGREEMENT_TERMINATED",))
    other = issue_receipts(head, [refusal], cluster.nodes["JPN"]._ctx.keys)
    watch = _receipt_attack(cluster, "JPN", other.token)
    watch.rejected("NODE_RECEIPT_MISMATCH", kind=AuditKind.REJECT)
    _still_pending(cluster, item_id)


def test_receipt_relayed_by_another_partner(cluster: Cluster) -> None:
    """JPN's genuine receipt, sent to KOR by the USA's node."""
    item_id, token = _receipt_pending(cluster)
    watch = _receipt_attack(cluster, "USA", token)
    watch.rejected("NODE_RECEIPT_MISMATCH", kind=AuditKind.REJECT)
    _still_pending(cluster, item_id)


def test_receipt_with_a_forged_signature(cluster: Cluster) -> None:
    item_id, token = _receipt_pending(cluster)
    magic, head, signature, *rest = token.split(b"\n")
    kid, sig = signature.split(b" ")
    forged = kid + b" " + (b"A" if sig[:1] != b"A" else b"B") + sig[1:]
    watch = _receipt_attack(cluster, "JPN", b"\n".join((magic, head, forged, *rest)))
    watch.rejected("TOKEN_SIGNATURE_INVALID", kind=AuditKind.REJECT)
    _still_pending(cluster, item_id)


def test_truncated_batch_receipt(cluster: Cluster) -> None:
    """A batch receipt with an entry cut off no longer gives its signed root: nothing settles."""
    item_id, token = _receipt_pending(cluster)
    head, entry = _genuine(cluster, token)
    keys = cluster.nodes["JPN"]._ctx.keys
    two = issue_receipts(head, [entry, replace(entry, item_id="another-item")], keys).token
    watch = _receipt_attack(cluster, "JPN", two.rsplit(b"\n", 1)[0])
    watch.rejected("TOKEN_MALFORMED", kind=AuditKind.REJECT)
    _still_pending(cluster, item_id)


def test_receipt_signed_by_a_party_it_does_not_name(cluster: Cluster) -> None:
    """The USA's node signs a receipt that says JPN received the item."""
    item_id, token = _receipt_pending(cluster)
    head, entry = _genuine(cluster, token)
    usa_keys = cluster.nodes["USA"]._ctx.keys
    with pytest.raises(TokenInputError):  # issuing refuses another party's statement
        issue_receipts(head, [entry], usa_keys)
    forged = _signed_by(usa_keys, head, [entry])  # the verifier checks the signer is the recipient
    watch = _receipt_attack(cluster, "JPN", forged)
    watch.rejected("TOKEN_SIGNER_MISMATCH", kind=AuditKind.REJECT)
    _still_pending(cluster, item_id)


# -- Art. 6 consent and forward -----------------------------------------------------------------


def _held_at_jpn(cluster: Cluster) -> str:
    result = release_to_japan(cluster)
    assert result.released
    cluster.pump()
    return result.item_id


def _granted(cluster: Cluster, **decision: object) -> tuple[str, str]:
    """JPN asks KOR for consent to forward to the USA, KOR grants; ``(item id, request id)``."""
    item_id = _held_at_jpn(cluster)
    request = cluster.nodes["JPN"].request_consent(JPN_RELEASER, item_id, "USA", WHY)
    cluster.pump()
    cluster.nodes["KOR"].decide_consent(KOR_SECURITY, request.request_id, True, **decision)  # type: ignore[arg-type]
    cluster.pump()
    return item_id, request.request_id


def _forward_frame(cluster: Cluster) -> tuple[str, Frame]:
    """A genuine forward JPN → USA, taken off JPN's outbox before it was delivered."""
    item_id, _ = _granted(cluster)
    cluster.network.down.add("USA")
    assert cluster.nodes["JPN"].forward(JPN_RELEASER, item_id, "USA", WHY).forwarded
    with cluster.stores["JPN"].read() as jpn:
        entry = jpn.outbox_entry(f"{item_id}:USA")
    assert entry is not None
    cluster.network.down.clear()
    return item_id, decode(entry.message.payload)


def _resealed_by_jpn(cluster: Cluster, item_id: str) -> bytes:
    """What a compromised JPN node can make of a held item: its own seal to the USA."""
    jpn = cluster.nodes["JPN"]._ctx
    now = cluster.clock.now()
    with cluster.stores["JPN"].read() as reader:
        item = reader.item(item_id)
    assert item is not None
    assert item.sealed is not None
    opened = open_item(item.sealed, jpn.keys, jpn.open_trust, now)
    return seal(
        opened.payload,
        item.labels,
        {"USA": jpn.trust.current("USA", "enc", now), "JPN": jpn.keys.current.enc},
        ("usa-jpn-gsomia-2007", 1),
        jpn.keys,
        now,
        item_id,
    ).to_bytes()


def _forward_refused(cluster: Cluster, item_id: str, code: str, purpose: str = WHY) -> None:
    watch = Watch(cluster.stores["JPN"])
    result = cluster.nodes["JPN"].forward(JPN_RELEASER, item_id, "USA", purpose)
    assert not result.forwarded
    assert code in result.reasons
    watch.rejected(code, kind=AuditKind.FORWARD)
    with cluster.stores["USA"].read() as usa:
        assert usa.item(item_id) is None


def test_forward_without_consent(cluster: Cluster) -> None:
    _forward_refused(cluster, _held_at_jpn(cluster), Code.CONSENT_MISSING)


def test_forward_for_another_purpose_than_consented(cluster: Cluster) -> None:
    item_id, _ = _granted(cluster)
    _forward_refused(cluster, item_id, Code.CONSENT_OTHER_PURPOSE, purpose="targeting support")


def test_forward_under_an_expired_consent(cluster: Cluster) -> None:
    item_id, _ = _granted(cluster, expires=cluster.clock.now() + timedelta(hours=1))
    cluster.clock.advance(timedelta(hours=2))
    _forward_refused(cluster, item_id, Code.CONSENT_EXPIRED)


def test_forward_under_a_revoked_consent(cluster: Cluster) -> None:
    item_id, request_id = _granted(cluster)
    cluster.nodes["KOR"].revoke_consent(KOR_SECURITY, request_id)
    cluster.pump()
    _forward_refused(cluster, item_id, Code.CONSENT_REVOKED)


def test_third_party_refuses_a_forward_without_consent(cluster: Cluster) -> None:
    """A compromised JPN node forwards an item it holds, with no consent at all."""
    item_id = _held_at_jpn(cluster)
    summary, watch = deliver(cluster, "JPN", "USA", _resealed_by_jpn(cluster, item_id), purpose=WHY)
    assert summary.rejections == ((item_id, Code.CONSENT_MISSING),)
    watch.rejected(Code.CONSENT_MISSING, kind=AuditKind.REJECT, inbox=True)


def test_third_party_refuses_a_consent_for_another_item(cluster: Cluster) -> None:
    """KOR consented to forwarding item A; JPN attaches that consent to item B."""
    _, frame = _forward_frame(cluster)
    item_b = _held_at_jpn(cluster)
    summary, watch = deliver(
        cluster, "JPN", "USA", _resealed_by_jpn(cluster, item_b), proofs=frame.proofs, purpose=WHY
    )
    assert summary.rejections == ((item_b, Code.CONSENT_OTHER_ITEM),)
    watch.rejected(Code.CONSENT_OTHER_ITEM, kind=AuditKind.REJECT, inbox=True)


def test_third_party_refuses_a_consent_for_another_party(cluster: Cluster) -> None:
    """A consent KOR signed for the USA as holder, carried by JPN."""
    item_id, frame = _forward_frame(cluster)
    consent = verify_consent(frame.proofs[0], cluster.nodes["USA"]._ctx.trust, cluster.clock.now())
    other = issue_consent(
        replace(consent, holder="USA", third_party="JPN"), cluster.nodes["KOR"]._ctx.keys
    )
    summary, watch = deliver(
        cluster, "JPN", "USA", frame.body, proofs=(other,), purpose=frame.purpose
    )
    assert summary.rejections == ((item_id, Code.CONSENT_OTHER_PARTY),)
    watch.rejected(Code.CONSENT_OTHER_PARTY, kind=AuditKind.REJECT, inbox=True)


def test_third_party_refuses_a_consent_for_another_purpose(cluster: Cluster) -> None:
    """The genuine forward, its frame saying another purpose than the consent's."""
    item_id, frame = _forward_frame(cluster)
    summary, watch = deliver(
        cluster, "JPN", "USA", frame.body, proofs=frame.proofs, purpose="targeting support"
    )
    assert summary.rejections == ((item_id, Code.CONSENT_OTHER_PURPOSE),)
    watch.rejected(Code.CONSENT_OTHER_PURPOSE, kind=AuditKind.REJECT, inbox=True)


def test_third_party_refuses_a_forged_consent(cluster: Cluster) -> None:
    item_id, frame = _forward_frame(cluster)
    token = frame.proofs[0]
    at = token.index(b'"sig":"') + 8
    forged = token[:at] + (b"A" if token[at : at + 1] != b"A" else b"B") + token[at + 1 :]
    summary, watch = deliver(
        cluster, "JPN", "USA", frame.body, proofs=(forged,), purpose=frame.purpose
    )
    assert summary.rejections == ((item_id, "TOKEN_SIGNATURE_INVALID"),)
    watch.rejected("TOKEN_SIGNATURE_INVALID", kind=AuditKind.REJECT, inbox=True)


def test_third_party_refuses_an_expired_consent(cluster: Cluster) -> None:
    """A forward queued while the consent was valid, arriving after it expired."""
    item_id, _ = _granted(cluster, expires=cluster.clock.now() + timedelta(hours=1))
    cluster.network.down.add("USA")
    assert cluster.nodes["JPN"].forward(JPN_RELEASER, item_id, "USA", WHY).forwarded
    with cluster.stores["JPN"].read() as jpn:
        entry = jpn.outbox_entry(f"{item_id}:USA")
    assert entry is not None
    frame = decode(entry.message.payload)
    cluster.network.down.clear()
    cluster.clock.advance(timedelta(hours=2))
    summary, watch = deliver(
        cluster, "JPN", "USA", frame.body, proofs=frame.proofs, purpose=frame.purpose
    )
    assert summary.rejections == ((item_id, Code.CONSENT_EXPIRED),)
    watch.rejected(Code.CONSENT_EXPIRED, kind=AuditKind.REJECT, inbox=True)


# -- TISA relay through the hub ------------------------------------------------------------------


@pytest.fixture
def tisa() -> Cluster:
    """The three nodes in June 2015: before the ROK-JPN GSOMIA, KOR → JPN only via the USA."""
    return build(custody=True, start=TISA_ERA)


def _relay_frame(cluster: Cluster) -> tuple[str, Frame]:
    """KOR releases to JPN via the hub; the hub accepts and queues its relay, not yet sent."""
    result = release_via_hub(cluster)
    assert result.released, result.reasons
    cluster.nodes["KOR"].deliver_due()
    assert cluster.nodes["USA"].receive().accepted == 1
    with cluster.stores["USA"].read() as usa:
        entry = usa.outbox_entry(f"{result.item_id}:JPN")
    assert entry is not None
    return result.item_id, decode(entry.message.payload)


def _hub_reseal(cluster: Cluster, frame: Frame, labels: LabelSet) -> bytes:
    """What a compromised hub can make of the item it relays: its own seal, any label set."""
    usa = cluster.nodes["USA"]._ctx
    now = cluster.clock.now()
    opened = open_item(_held_copy(cluster, frame).sealed, usa.keys, usa.open_trust, now)
    return seal(
        opened.payload,
        labels,
        {"JPN": usa.trust.current("JPN", "enc", now), "USA": usa.keys.current.enc},
        tuple(opened.agreement_ref),  # type: ignore[arg-type]
        usa.keys,
        now,
        opened.item_id,
    ).to_bytes()


def _held_copy(cluster: Cluster, frame: Frame) -> HeldItem:
    """The hub's own copy of the item it relays (the relay is sealed to JPN alone)."""
    with cluster.stores["USA"].read() as usa:
        item = usa.item(SealedItem.from_bytes(frame.body).header.item_id)
    assert item is not None
    assert item.sealed is not None
    return item


def _labels_of(cluster: Cluster, frame: Frame) -> LabelSet:
    """The label set the hub relays under: the originator's label and the hub's marking."""
    return _held_copy(cluster, frame).labels


def test_release_outside_the_hub_arrangements_scope(tisa: Cluster) -> None:
    """Only TISA could carry KOR → JPN in 2015, and its scope is NK nuclear and missile."""
    watch = Watch(tisa.stores["KOR"])
    result = release_via_hub(tisa, topic="MARITIME-SECURITY")
    assert not result.released
    assert Code.TOPIC_OUT_OF_SCOPE in result.reasons
    watch.rejected(Code.TOPIC_OUT_OF_SCOPE, kind=AuditKind.RELEASE)


def test_hub_refuses_to_relay_outside_the_arrangements_scope(tisa: Cluster) -> None:
    """A compromised KOR node asks the hub to relay a maritime item, with a signed approval."""
    kor = tisa.nodes["KOR"]._ctx
    now = tisa.clock.now()
    label = kor_label(topics=("MARITIME-SECURITY",), created="2015-06-01T11:00:00+09:00")
    item = seal(
        b"maritime report",
        label,
        {"USA": kor.trust.current("USA", "enc", now), "KOR": kor.keys.current.enc},
        ("usa-kor-gsomia-1987", 1),
        kor.keys,
        now,
    )
    item_id = item.header.item_id
    approval = Consent(
        ConsentKind.HUB_APPROVAL, f"approval:{item_id}:JPN", item_id,
        item_binding(item_id, label), "KOR", "USA", "JPN", PURPOSE, now, now + timedelta(days=1),
    )  # fmt: skip
    token = issue_consent(approval, kor.keys)
    summary, watch = deliver(
        tisa, "KOR", "USA", item.to_bytes(), proofs=(token,), topic="MARITIME-SECURITY"
    )
    assert (item_id, Code.TOPIC_OUT_OF_SCOPE) in summary.rejections
    watch.rejected(Code.TOPIC_OUT_OF_SCOPE, kind=AuditKind.REJECT, inbox=True)
    with tisa.stores["USA"].read() as usa:
        assert usa.outbox_entry(f"{item_id}:JPN") is None


def test_hub_refuses_an_approval_for_another_item(tisa: Cluster) -> None:
    """The originator's approval to relay item A, attached by a man in the middle to item B."""
    first = release_via_hub(tisa)
    with tisa.stores["KOR"].read() as kor:
        entry = kor.outbox_entry(f"{first.item_id}:USA")
    assert entry is not None
    approval_a = decode(entry.message.payload).proofs
    kor = tisa.nodes["KOR"]._ctx
    now = tisa.clock.now()
    label = kor_label(created="2015-06-01T11:00:00+09:00")
    item_b = seal(
        b"item B",
        label,
        {"USA": kor.trust.current("USA", "enc", now), "KOR": kor.keys.current.enc},
        ("usa-kor-gsomia-1987", 1),
        kor.keys,
        now,
    )
    summary, watch = deliver(tisa, "KOR", "USA", item_b.to_bytes(), proofs=approval_a)
    assert (item_b.header.item_id, Code.CONSENT_OTHER_ITEM) in summary.rejections
    watch.rejected(Code.CONSENT_OTHER_ITEM, kind=AuditKind.REJECT, inbox=True)


def test_compromised_hub_downgrades_its_own_marking(tisa: Cluster) -> None:
    """The USA relays KOR's 군사II급비밀 item marked CONFIDENTIAL instead of SECRET, so that JPN
    would mark it 秘 instead of 極秘 (found by this suite; fixed in gsomia.policy)."""
    item_id, frame = _relay_frame(tisa)
    labels = _labels_of(tisa, frame)
    (usa_marking,) = labels.alternatives
    lowered = LabelSet(labels.originator, (replace(usa_marking, classification="CONFIDENTIAL"),))
    summary, watch = deliver(
        tisa, "USA", "JPN", _hub_reseal(tisa, frame, lowered), proofs=frame.proofs,
        purpose=frame.purpose,
    )  # fmt: skip
    assert summary.rejections == ((item_id, Code.HOLDER_MARKING_MISMATCH),)
    watch.rejected(Code.HOLDER_MARKING_MISMATCH, kind=AuditKind.REJECT, inbox=True)


def test_compromised_hub_alters_the_originator_label(tisa: Cluster) -> None:
    """The USA relays KOR's item with KOR's own label lowered to 군사III급비밀: the approval,
    bound to the item id and the originator label, no longer names this item."""
    item_id, frame = _relay_frame(tisa)
    labels = _labels_of(tisa, frame)
    lowered = replace(labels.originator, classification="군사III급비밀")
    (usa_marking,) = labels.alternatives
    forged = LabelSet(lowered, (replace(usa_marking, classification="CONFIDENTIAL"),))
    summary, watch = deliver(
        tisa, "USA", "JPN", _hub_reseal(tisa, frame, forged), proofs=frame.proofs,
        purpose=frame.purpose,
    )  # fmt: skip
    assert summary.rejections == ((item_id, Code.CONSENT_OTHER_ITEM),)
    watch.rejected(Code.CONSENT_OTHER_ITEM, kind=AuditKind.REJECT, inbox=True)


def test_hub_relays_without_the_originators_approval(tisa: Cluster) -> None:
    item_id, frame = _relay_frame(tisa)
    summary, watch = deliver(tisa, "USA", "JPN", frame.body, purpose=frame.purpose)
    assert summary.rejections == ((item_id, Code.CONSENT_MISSING),)
    watch.rejected(Code.CONSENT_MISSING, kind=AuditKind.REJECT, inbox=True)


def test_label_set_that_already_carries_the_receivers_marking(cluster: Cluster) -> None:
    """KOR's node (compromised) seals a label set in which 'JPN' already marked the item 秘.
    Before the fix this made JPN's receive() raise LabelError: nothing audited, and the other
    messages of the run lost from the channel's queue (found by this suite)."""
    fake = AlternativeLabel(
        "JPN", "秘", "KOR", "JPN", "kor-jpn-gsomia-2016", 1, cluster.clock.now()
    )
    item = genuine(cluster, label=LabelSet(kor_label(), (fake,)))
    summary, watch = deliver(cluster, "KOR", "JPN", item.to_bytes())
    assert summary.rejections == ((item.header.item_id, Code.RECEIVER_MARKING_PRESENT),)
    watch.rejected(Code.RECEIVER_MARKING_PRESENT, kind=AuditKind.REJECT, inbox=True)
