"""A release from KOR to JPN end to end on fakes: Arts. 4, 6, 7 and issue 4 §1-§2."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.audit.records import AuditKind
from gsomia.envelope import TrustStore
from gsomia.node import NodeAccessDeniedError, NodeForbiddenError
from gsomia.node import NodeItemNotFoundError as NotFound
from gsomia.policy import Code
from gsomia.ports import DeliveryState, ItemState, ReceiptDirection
from gsomia.proofs.receipt_batch import verify_receipts
from tests.conftest import make_label
from tests.unit.node.cluster import (
    JPN_NO_DUTY,
    JPN_READER,
    PAYLOAD,
    RELEASER,
    TISA_ERA,
    Cluster,
    build,
    release_to_japan,
    release_via_hub,
)


def test_release_is_delivered_accepted_remarked_and_receipted(cluster: Cluster) -> None:
    result = release_to_japan(cluster)
    assert result.released, result.reasons
    item_id = result.item_id
    assert result.decisions["JPN"].codes == (Code.RELEASE_ALLOWED,)
    cluster.pump()

    with cluster.stores["JPN"].read() as jpn:
        held = jpn.item(item_id)
        assert held is not None
        assert held.received_from == "KOR"
        assert held.labels.originator.classification == "군사II급비밀"  # never altered (Art. 4)
        assert held.labels.marking_for("JPN") == ("JPN", "極秘")  # our equivalent beside it
        assert held.labels.alternative_for("JPN").agreement == "kor-jpn-gsomia-2016"  # type: ignore[union-attr]
        assert PAYLOAD not in (held.sealed or b"")  # sealed at rest
        issued = jpn.receipt(item_id, "KOR", ReceiptDirection.ISSUED)
        assert issued is not None
    with cluster.stores["KOR"].read() as kor:
        entry = kor.outbox_entry(f"{item_id}:JPN")
        assert entry is not None
        assert entry.state is DeliveryState.ACKNOWLEDGED
        received = kor.receipt(item_id, "JPN", ReceiptDirection.RECEIVED)
        assert received is not None
        assert received.token == issued.token
        own = kor.item(item_id)
        assert own is not None
        assert own.state is ItemState.HELD
        assert own.received_from is None  # held by its originator

    # the receipt quotes JPN's acceptance record and a root that includes it
    jpn_keys = cluster.nodes["JPN"]._ctx.keys.public_bundle()
    verified = verify_receipts(
        received.token, TrustStore().add_bundle(jpn_keys), cluster.clock.now()
    )
    ((receipt, _),) = verified.entries  # the item's extract of JPN's batch receipt (ADR 0011)
    assert (verified.head.sender, verified.head.recipient) == ("KOR", "JPN")
    jpn_log = cluster.audit("JPN")
    assert jpn_log[receipt.log_index].kind is AuditKind.ACCEPT
    assert receipt.log_index < verified.head.checkpoint.size
    assert receipt.accepted
    assert receipt.marking == "極秘"
    assert receipt.purpose == "early warning of NK missile launches"

    assert cluster.kinds("KOR") == [(AuditKind.RELEASE, "allow"), (AuditKind.RECEIPT, "received")]
    assert cluster.kinds("JPN") == [(AuditKind.ACCEPT, "allow")]
    release = cluster.audit("KOR")[0]
    assert release.actor == RELEASER
    assert release.agreement == "kor-jpn-gsomia-2016"
    assert release.detail["marking"] == "極秘"
    assert cluster.audit("USA") == []


def test_only_a_cleared_official_with_the_duty_reads(cluster: Cluster) -> None:
    item_id = release_to_japan(cluster).item_id
    cluster.pump()
    jpn = cluster.nodes["JPN"]
    assert jpn.read(JPN_READER, item_id) == PAYLOAD
    with pytest.raises(NodeAccessDeniedError) as refused:
        jpn.read(JPN_NO_DUTY, item_id)
    assert refused.value.detail["reasons"] == [Code.NO_DUTY]
    reads = [r for r in cluster.audit("JPN") if r.kind is AuditKind.READ]
    assert [(r.actor, r.decision, r.reasons) for r in reads] == [
        (JPN_READER, "allow", (Code.ACCESS_ALLOWED,)),
        (JPN_NO_DUTY, "deny", (Code.NO_DUTY,)),
    ]
    assert reads[0].detail["marking"] == "極秘"


def test_the_originator_reads_its_own_copy_at_rest(cluster: Cluster) -> None:
    item_id = release_to_japan(cluster).item_id
    assert cluster.nodes["KOR"].read("kor-reader-1", item_id) == PAYLOAD


def test_reads_of_unknown_items_and_by_strangers_are_refused_and_audited(cluster: Cluster) -> None:
    item_id = release_to_japan(cluster).item_id
    cluster.pump()
    jpn = cluster.nodes["JPN"]
    with pytest.raises(NotFound):
        jpn.read(JPN_READER, "no-such-item")
    with pytest.raises(NodeForbiddenError):
        jpn.read("nobody", item_id)
    with pytest.raises(NodeForbiddenError):
        jpn.read("has spaces", item_id)
    with pytest.raises(NodeForbiddenError):  # a JPN official has no access through USA's node
        cluster.nodes["USA"].read(JPN_READER, item_id)
    refusals = [r for r in cluster.audit("JPN") if r.kind is AuditKind.READ]
    assert [r.reasons for r in refusals] == [
        ("NODE_ITEM_NOT_FOUND",),
        ("NODE_FORBIDDEN",),
        ("NODE_FORBIDDEN",),
    ]
    assert refusals[2].actor == "unknown-official"


def test_top_secret_is_never_released_to_japan_and_nothing_is_stored(cluster: Cluster) -> None:
    result = release_to_japan(cluster, level="군사I급비밀")
    assert not result.released
    assert Code.LEVEL_NOT_COVERED in result.reasons
    with cluster.stores["KOR"].read() as kor:
        assert kor.item(result.item_id) is None
        assert kor.outbox() == []
    (record,) = cluster.audit("KOR")
    assert (record.kind, record.decision) == (AuditKind.RELEASE, "deny")
    assert Code.LEVEL_NOT_COVERED in record.reasons
    cluster.pump()
    assert cluster.audit("JPN") == []


def test_a_release_needing_the_hub_goes_to_the_hub_with_an_approval() -> None:
    cluster = build(start=TISA_ERA)  # TISA only: KOR → USA → JPN (tests/unit/node/test_relay.py)
    result = release_via_hub(cluster)
    assert result.released, result.reasons
    assert result.decisions["JPN"].path == ("KOR", "USA", "JPN")
    with cluster.stores["KOR"].read() as kor:
        assert [(e.key, e.message.recipient) for e in kor.outbox()] == [
            (f"{result.item_id}:USA", "USA")
        ]


def test_all_or_nothing_when_one_recipient_is_refused(cluster: Cluster) -> None:
    result = cluster.nodes["KOR"].release(
        RELEASER,
        PAYLOAD,
        make_label(rel_to=("KOR", "JPN")),
        ["USA", "JPN"],
        "NK-MISSILE",
        "early warning",
    )
    assert not result.released
    assert result.reasons == (Code.NOT_RELEASABLE_TO,)
    by_recipient = {r.detail["recipient"]: r.reasons for r in cluster.audit("KOR")}
    assert by_recipient == {"JPN": ("RELEASE_WITHHELD",), "USA": (Code.NOT_RELEASABLE_TO,)}
    with cluster.stores["KOR"].read() as kor:
        assert kor.items() == []


def test_release_to_two_partners_under_two_agreements(cluster: Cluster) -> None:
    result = cluster.nodes["KOR"].release(
        RELEASER, PAYLOAD, make_label(), ["USA", "JPN"], "NK-MISSILE", "early warning"
    )
    assert result.released
    cluster.pump()
    markings = {}
    for party in ("JPN", "USA"):
        with cluster.stores[party].read() as reader:
            held = reader.item(result.item_id)
            assert held is not None
            markings[party] = held.labels.marking_for(party)
    assert markings == {"JPN": ("JPN", "極秘"), "USA": ("USA", "SECRET")}
    with cluster.stores["KOR"].read() as kor:
        assert {e.state for e in kor.outbox()} == {DeliveryState.ACKNOWLEDGED}


def test_only_a_release_officer_of_the_nation_releases(cluster: Cluster) -> None:
    kor = cluster.nodes["KOR"]
    with pytest.raises(NodeForbiddenError):
        kor.release("kor-reader-1", PAYLOAD, make_label(), ["JPN"], "NK-MISSILE", "p")
    with pytest.raises(NodeForbiddenError):
        kor.release("nobody", PAYLOAD, make_label(), ["JPN"], "NK-MISSILE", "p")
    assert [r.reasons for r in cluster.audit("KOR")] == [("NODE_FORBIDDEN",)] * 2
    with cluster.stores["KOR"].read() as reader:
        assert reader.items() == []


def test_a_partner_down_then_duplicating_gives_exactly_once_effect(cluster: Cluster) -> None:
    cluster.network.down.add("JPN")
    item_id = release_to_japan(cluster).item_id
    cluster.pump(rounds=3, step=timedelta(seconds=1))  # attempts fail; retries are scheduled
    with cluster.stores["KOR"].read() as kor:
        entry = kor.outbox_entry(f"{item_id}:JPN")
        assert entry is not None
        assert entry.state is DeliveryState.PENDING
        assert entry.attempts >= 2
    cluster.network.down.clear()
    cluster.network.duplicate = True
    cluster.pump(rounds=6, step=timedelta(minutes=10))  # every retry is due again: resends

    with cluster.stores["JPN"].read() as jpn:
        assert [i.item_id for i in jpn.items()] == [item_id]
        assert len(jpn.receipts(item_id)) == 1
    with cluster.stores["KOR"].read() as kor:
        assert kor.outbox_entry(f"{item_id}:JPN").state is DeliveryState.ACKNOWLEDGED  # type: ignore[union-attr]
        assert len(kor.receipts(item_id)) == 1
    jpn_kinds = cluster.kinds("JPN")
    assert jpn_kinds.count((AuditKind.ACCEPT, "allow")) == 1
    assert (AuditKind.REJECT, "duplicate") in jpn_kinds
    assert cluster.kinds("KOR").count((AuditKind.RECEIPT, "received")) == 1
