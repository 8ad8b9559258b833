"""TISA relay through the hub: KOR → USA → JPN and back, with the originator's approval.

PRODUCT.md §3 (TISA: the hub passes on what a spoke gave it only with the originator's approval,
re-marked at each step; scope NK nuclear and missile threats); issue 4 §2; Art. 4 at each hop.
Before 23 Nov 2016 no KOR-JPN agreement is in force, so the policy routes KOR → JPN via USA.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.audit.records import AuditKind
from gsomia.node._custody import item_binding
from gsomia.node.framing import Frame, FrameKind, decode, item_frame
from gsomia.node.relay import approval_id
from gsomia.policy import Code, Consent, ConsentKind
from gsomia.ports import DeliveryState, InboxOutcome, ReceiptDirection
from gsomia.proofs import issue_consent, verify_consent
from tests.conftest import make_label
from tests.unit.node.cluster import (
    JPN_READER,
    KOR_READER,
    KOR_SECURITY,
    PAYLOAD,
    PURPOSE,
    RELEASER,
    TISA_ERA,
    USA_READER,
    Cluster,
    build,
    only_a_negative_receipt,
    release_via_hub,
)


@pytest.fixture
def tisa() -> Cluster:
    return build(start=TISA_ERA, custody=True)


def _outbox_frame(cluster: Cluster, party: str, key: str) -> Frame:
    with cluster.stores[party].read() as reader:
        entry = reader.outbox_entry(key)
    assert entry is not None
    return decode(entry.message.payload)


def _nothing_relayed(cluster: Cluster, item_id: str) -> None:
    with cluster.stores["USA"].read() as usa:
        assert usa.item(item_id) is None
        only_a_negative_receipt(usa.outbox(), item_id, "KOR")  # nothing relayed (ADR 0011)
        assert usa.consents_for(item_id) == []
        inbox = usa.inbox_entry(item_id)
        assert inbox is not None
        assert inbox.outcome is InboxOutcome.REJECTED
    with cluster.stores["JPN"].read() as jpn:
        assert jpn.item(item_id) is None


# -- the happy paths -----------------------------------------------------------------------------


def test_kor_to_jpn_through_the_hub_remarked_at_each_step_and_receipted_hop_by_hop(
    tisa: Cluster,
) -> None:
    result = release_via_hub(tisa)
    assert result.released, result.reasons
    item_id = result.item_id
    frame = _outbox_frame(tisa, "KOR", f"{item_id}:USA")
    assert frame.kind is FrameKind.ITEM_WITH_PROOF
    (token,) = frame.proofs
    approval = verify_consent(token, tisa.nodes["JPN"]._ctx.trust, tisa.clock.now())
    assert (approval.kind, approval.consent_id) == (
        ConsentKind.HUB_APPROVAL,
        approval_id(item_id, "JPN"),
    )
    assert (approval.originator, approval.holder, approval.third_party) == ("KOR", "USA", "JPN")
    assert approval.purpose == PURPOSE
    with tisa.stores["KOR"].read() as kor:
        held = kor.item(item_id)
        assert held is not None
        assert approval.item_digest == item_binding(item_id, held.labels.originator)
        assert kor.consent(approval.consent_id) is not None  # kept, so it can be revoked
    tisa.pump(rounds=6)

    assert tisa.nodes["JPN"].read(JPN_READER, item_id) == PAYLOAD
    assert tisa.nodes["USA"].read(USA_READER, item_id) == PAYLOAD
    with tisa.stores["JPN"].read() as jpn:
        held = jpn.item(item_id)
        assert held is not None
        assert held.received_from == "USA"
        assert held.labels.originator.classification == "군사II급비밀"  # never altered
        assert held.labels.marking_for("USA") == ("USA", "SECRET")  # the hub's marking
        assert held.labels.marking_for("JPN") == ("JPN", "極秘")  # and ours beside it
        assert held.agreement == "tisa-2014"
        assert jpn.receipt(item_id, "USA", ReceiptDirection.ISSUED) is not None
        assert jpn.consent(approval.consent_id) is not None  # the approval relied on
    with tisa.stores["USA"].read() as usa:
        held = usa.item(item_id)
        assert held is not None
        assert held.received_from == "KOR"
        assert held.labels.marking_for("USA") == ("USA", "SECRET")
        assert usa.receipt(item_id, "KOR", ReceiptDirection.ISSUED) is not None
        assert usa.receipt(item_id, "JPN", ReceiptDirection.RECEIVED) is not None
        relayed = usa.outbox_entry(f"{item_id}:JPN")
        assert relayed is not None
        assert relayed.state is DeliveryState.ACKNOWLEDGED
        relayed_frame = decode(relayed.message.payload)
        assert relayed_frame.proofs == (token,)  # the originator's approval travels on
    with tisa.stores["KOR"].read() as kor:
        assert kor.outbox_entry(f"{item_id}:USA").state is DeliveryState.ACKNOWLEDGED  # type: ignore[union-attr]
        assert [r.party for r in kor.receipts(item_id)] == ["USA"]  # hop by hop

    assert tisa.kinds("KOR") == [(AuditKind.RELEASE, "allow"), (AuditKind.RECEIPT, "received")]
    assert tisa.kinds("USA") == [
        (AuditKind.ACCEPT, "allow"),
        (AuditKind.RELAY, "allow"),
        (AuditKind.RECEIPT, "received"),
        (AuditKind.READ, "allow"),
    ]
    assert tisa.kinds("JPN") == [(AuditKind.ACCEPT, "allow"), (AuditKind.READ, "allow")]
    release = tisa.audit("KOR")[0]
    assert release.agreement == "tisa-2014"
    assert release.detail["path"] == "KOR>USA>JPN"
    assert release.detail["approval"] == approval.consent_id
    relay_record = tisa.audit("USA")[1]
    assert relay_record.reasons == (Code.RELAY_ALLOWED,)
    assert relay_record.agreement == "tisa-2014"
    assert relay_record.detail["marking"] == "極秘"
    assert relay_record.detail["approval"] == approval.consent_id
    assert tisa.audit("JPN")[0].reasons == (Code.RELAY_ALLOWED,)  # accepted under the relay rule


def test_jpn_to_kor_through_the_hub(tisa: Cluster) -> None:
    result = release_via_hub(tisa, originator="JPN", recipient="KOR")
    assert result.released, result.reasons
    assert result.decisions["KOR"].path == ("JPN", "USA", "KOR")
    tisa.pump(rounds=6)
    assert tisa.nodes["KOR"].read(KOR_READER, result.item_id) == PAYLOAD
    with tisa.stores["KOR"].read() as kor:
        held = kor.item(result.item_id)
        assert held is not None
        assert held.labels.originator.classification == "極秘"
        assert held.labels.marking_for("USA") == ("USA", "SECRET")
        assert held.labels.marking_for("KOR") == ("KOR", "군사II급비밀")
    assert (AuditKind.RELAY, "allow") in tisa.kinds("USA")


def test_a_hub_that_is_also_a_recipient_gets_one_seal_carrying_the_approval(
    tisa: Cluster,
) -> None:
    label = make_label(created="2015-06-01T11:00:00+09:00")
    both = tisa.nodes["KOR"].release(
        RELEASER, PAYLOAD, label, ["USA", "JPN"], "NK-MISSILE", PURPOSE
    )
    assert both.released, both.reasons
    with tisa.stores["KOR"].read() as kor:
        keys = [e.key for e in kor.outbox(subject=both.item_id)]
    assert keys == [f"{both.item_id}:USA"]  # one seal to USA, with JPN's approval
    assert len(_outbox_frame(tisa, "KOR", keys[0]).proofs) == 1
    tisa.pump(rounds=6)
    for party in ("USA", "JPN"):
        with tisa.stores[party].read() as reader:
            assert reader.item(both.item_id) is not None
    assert [k for k in tisa.kinds("USA") if k[0] is AuditKind.RELAY] == [(AuditKind.RELAY, "allow")]


# -- refused at the originator -------------------------------------------------------------------


def test_outside_the_tisa_scope_nothing_goes_through_the_hub(tisa: Cluster) -> None:
    result = release_via_hub(tisa, topic="MILITARY-INTELLIGENCE")
    assert not result.released
    assert Code.TOPIC_OUT_OF_SCOPE in result.reasons  # TISA: NK nuclear and missile only
    assert tisa.kinds("KOR") == [(AuditKind.RELEASE, "deny")]
    with tisa.stores["KOR"].read() as kor:
        assert kor.items() == []
        assert kor.outbox() == []
    tisa.pump()
    assert tisa.audit("USA") == []
    assert tisa.audit("JPN") == []


# -- refused at the hub --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda a: replace(a, item_id=str(uuid.uuid4())), Code.CONSENT_OTHER_ITEM),
        (lambda a: replace(a, item_digest="0" * 64), Code.CONSENT_OTHER_ITEM),
        (lambda a: replace(a, holder="JPN"), Code.CONSENT_OTHER_PARTY),
        (lambda a: replace(a, purpose="targeting"), Code.CONSENT_OTHER_PURPOSE),
        (lambda a: replace(a, issued=a.issued - timedelta(hours=3),
                           expires=a.issued - timedelta(hours=1)), Code.CONSENT_EXPIRED),
        (lambda a: replace(a, kind=ConsentKind.FORWARD), Code.CONSENT_WRONG_KIND),
    ],
    ids=["another-item", "another-binding", "another-party", "another-purpose", "expired",
         "wrong-kind"],
)  # fmt: skip
def test_the_hub_refuses_a_relay_the_approval_does_not_cover(
    tisa: Cluster, change: object, code: str
) -> None:
    item_id = release_via_hub(tisa).item_id
    frame = _outbox_frame(tisa, "KOR", f"{item_id}:USA")
    now = tisa.clock.now()
    genuine = verify_consent(frame.proofs[0], tisa.nodes["USA"]._ctx.trust, now)
    crafted = issue_consent(change(genuine), tisa.nodes["KOR"]._ctx.keys)  # type: ignore[operator]
    tisa.nodes["KOR"]._ctx.channel.send(
        "USA", item_frame(frame.topic, frame.purpose, frame.body, (crafted,)), idempotency_key="x1"
    )
    summary = tisa.nodes["USA"].receive()
    assert (item_id, code) in summary.rejections
    assert summary.accepted == 0
    assert tisa.kinds("USA") == [(AuditKind.RELAY, "deny"), (AuditKind.REJECT, "deny")]
    assert code in tisa.audit("USA")[0].reasons
    _nothing_relayed(tisa, item_id)


def test_an_approval_signed_by_someone_else_is_refused(tisa: Cluster) -> None:
    item_id = release_via_hub(tisa).item_id
    frame = _outbox_frame(tisa, "KOR", f"{item_id}:USA")
    genuine = verify_consent(frame.proofs[0], tisa.nodes["USA"]._ctx.trust, tisa.clock.now())
    by_jpn = issue_consent(replace(genuine, originator="JPN"), tisa.nodes["JPN"]._ctx.keys)
    tisa.nodes["KOR"]._ctx.channel.send(
        "USA", item_frame(frame.topic, frame.purpose, frame.body, (by_jpn,)), idempotency_key="x2"
    )
    summary = tisa.nodes["USA"].receive()
    assert summary.rejections == ((item_id, Code.CONSENT_OTHER_PARTY),)  # not KOR's approval
    _nothing_relayed(tisa, item_id)


def test_a_topic_outside_the_scope_is_not_relayed_even_with_an_approval(tisa: Cluster) -> None:
    # KOR may give USA any defence topic under the bilateral GSOMIA, but TISA covers NK only
    result = release_via_hub(tisa, recipient="USA", topic="MILITARY-INTELLIGENCE")
    assert result.released
    frame = _outbox_frame(tisa, "KOR", f"{result.item_id}:USA")
    with tisa.stores["KOR"].read() as kor:
        held = kor.item(result.item_id)
    assert held is not None
    approval = Consent(
        ConsentKind.HUB_APPROVAL, approval_id(result.item_id, "JPN"), result.item_id,
        item_binding(result.item_id, held.labels.originator), "KOR", "USA", "JPN", PURPOSE,
        tisa.clock.now(), tisa.clock.now() + timedelta(days=1),
    )  # fmt: skip
    token = issue_consent(approval, tisa.nodes["KOR"]._ctx.keys)
    tisa.nodes["KOR"]._ctx.channel.send(
        "USA", item_frame(frame.topic, frame.purpose, frame.body, (token,)), idempotency_key="x3"
    )
    summary = tisa.nodes["USA"].receive()
    assert (result.item_id, Code.TOPIC_OUT_OF_SCOPE) in summary.rejections
    _nothing_relayed(tisa, result.item_id)


def test_an_approval_revoked_before_the_item_arrives_is_refused(tisa: Cluster) -> None:
    tisa.network.down.add("USA")
    item_id = release_via_hub(tisa).item_id
    tisa.nodes["KOR"].deliver_due()  # fails; the item's retry is scheduled a second later
    revoked = tisa.nodes["KOR"].revoke_consent(KOR_SECURITY, approval_id(item_id, "JPN"))
    assert revoked.consent.revoked_at == tisa.clock.now()
    tisa.network.down.clear()
    assert tisa.nodes["KOR"].deliver_due() == 1  # only the revocation is due now
    tisa.nodes["USA"].receive()
    with tisa.stores["USA"].read() as usa:
        stored = usa.consent(approval_id(item_id, "JPN"))
        assert stored is not None
        assert stored.revocation is not None
    assert tisa.kinds("USA") == [(AuditKind.CONSENT, "deny")]
    tisa.pump(rounds=4, step=timedelta(seconds=2))
    with tisa.stores["USA"].read() as usa:
        assert usa.item(item_id) is None
        assert usa.outbox_entry(f"{item_id}:JPN") is None
        inbox = usa.inbox_entry(item_id)
        assert inbox is not None
        assert inbox.reasons == (Code.CONSENT_REVOKED,)
    with tisa.stores["KOR"].read() as kor:  # the revocation was acknowledged once
        entry = kor.outbox_entry(f"consent-revocation:{approval_id(item_id, 'JPN')}")
        assert entry is not None
        assert entry.state is DeliveryState.ACKNOWLEDGED
    assert (AuditKind.RELAY, "deny") in tisa.kinds("USA")


# -- refused at the final recipient --------------------------------------------------------------


def _relayed_frame(tisa: Cluster) -> tuple[str, Frame]:
    tisa.network.down.add("JPN")
    item_id = release_via_hub(tisa).item_id
    tisa.pump(rounds=2)
    frame = _outbox_frame(tisa, "USA", f"{item_id}:JPN")
    return item_id, frame


def test_the_final_recipient_refuses_a_relay_without_the_approval(tisa: Cluster) -> None:
    item_id, frame = _relayed_frame(tisa)
    tisa.network.down.clear()
    usa = tisa.nodes["USA"]._ctx.channel
    usa.send("JPN", item_frame(frame.topic, frame.purpose, frame.body), idempotency_key="y1")
    summary = tisa.nodes["JPN"].receive()
    assert summary.rejections == ((item_id, Code.CONSENT_MISSING),)
    with tisa.stores["JPN"].read() as jpn:
        assert jpn.item(item_id) is None
        only_a_negative_receipt(jpn.outbox(), item_id, "USA")
    assert tisa.kinds("JPN") == [(AuditKind.REJECT, "deny")]


def test_the_final_recipient_refuses_another_purpose(tisa: Cluster) -> None:
    item_id, frame = _relayed_frame(tisa)
    tisa.network.down.clear()
    tisa.nodes["USA"]._ctx.channel.send(
        "JPN",
        item_frame(frame.topic, "targeting", frame.body, frame.proofs),
        idempotency_key="y2",
    )
    summary = tisa.nodes["JPN"].receive()
    assert summary.rejections == ((item_id, Code.CONSENT_OTHER_PURPOSE),)


def test_an_approval_that_expired_in_transit_is_refused_by_the_final_recipient(
    tisa: Cluster,
) -> None:
    tisa.network.down.add("JPN")
    item_id = release_via_hub(tisa, approval_expires=tisa.clock.now() + timedelta(hours=1)).item_id
    tisa.pump(rounds=2)  # KOR → USA, relayed at once
    assert (AuditKind.RELAY, "allow") in tisa.kinds("USA")
    tisa.clock.advance(timedelta(hours=2))
    tisa.network.down.clear()
    tisa.pump(rounds=2)
    with tisa.stores["JPN"].read() as jpn:
        assert jpn.item(item_id) is None
        inbox = jpn.inbox_entry(item_id)
        assert inbox is not None
        assert inbox.reasons == (Code.CONSENT_EXPIRED,)


# -- exactly once --------------------------------------------------------------------------------


def test_duplicates_and_replays_relay_exactly_once(tisa: Cluster) -> None:
    tisa.network.duplicate = True
    item_id = release_via_hub(tisa).item_id
    tisa.pump(rounds=8, step=timedelta(minutes=10))
    frame = _outbox_frame(tisa, "KOR", f"{item_id}:USA")
    tisa.nodes["KOR"]._ctx.channel.send(  # a replay, much later
        "USA", item_frame(frame.topic, frame.purpose, frame.body, frame.proofs),
        idempotency_key=f"{item_id}:USA",
    )  # fmt: skip
    tisa.pump(rounds=4, step=timedelta(minutes=10))
    assert tisa.kinds("USA").count((AuditKind.RELAY, "allow")) == 1
    assert tisa.kinds("USA").count((AuditKind.ACCEPT, "allow")) == 1
    assert (AuditKind.REJECT, "duplicate") in tisa.kinds("USA")
    assert tisa.kinds("JPN").count((AuditKind.ACCEPT, "allow")) == 1
    with tisa.stores["USA"].read() as usa:
        assert [e.key for e in usa.outbox(subject=item_id) if e.message.kind == "item"] == [
            f"{item_id}:JPN"
        ]
    with tisa.stores["JPN"].read() as jpn:
        assert [i.item_id for i in jpn.items()] == [item_id]
        assert len(jpn.receipts(item_id)) == 1
    for party in ("KOR", "USA"):
        with tisa.stores[party].read() as reader:
            assert {e.state for e in reader.outbox()} == {DeliveryState.ACKNOWLEDGED}


# -- on SQLite -----------------------------------------------------------------------------------


def test_the_relay_on_sqlite_survives_reopening_and_every_log_verifies(tmp_path: Path) -> None:
    cluster = build(lambda p: SqliteStore.in_data_dir(tmp_path / p), start=TISA_ERA, custody=True)
    item_id = release_via_hub(cluster).item_id
    cluster.pump(rounds=6)
    assert cluster.nodes["JPN"].read(JPN_READER, item_id) == PAYLOAD
    paths = {party: store.path for party, store in cluster.stores.items()}
    for store in cluster.stores.values():
        store.close()
    usa, jpn = SqliteStore(paths["USA"]), SqliteStore(paths["JPN"])
    try:
        with usa.read() as reader:
            assert reader.consent(approval_id(item_id, "JPN")) is not None
            relayed = reader.outbox_entry(f"{item_id}:JPN")
            assert relayed is not None
            assert relayed.state is DeliveryState.ACKNOWLEDGED
            kinds = [reader.audit_entry(i).kind for i in range(reader.audit_size())]
            assert kinds == [AuditKind.ACCEPT, AuditKind.RELAY, AuditKind.RECEIPT]
        with jpn.read() as reader:
            held = reader.item(item_id)
            assert held is not None
            assert held.labels.marking_for("USA") == ("USA", "SECRET")
            assert held.labels.marking_for("JPN") == ("JPN", "極秘")
    finally:
        usa.close()
        jpn.close()
    for party in ("KOR", "JPN", "USA"):
        verified = SqliteAuditLog(paths[party]).verify()
        assert verified.ok, verified.problems
