"""The originator's rights over what it provided (Art. 6): reclassification re-marked by every
holder, and return or destruction (Arts. 6, 13) with a signed certificate; refusals audited with
nothing else stored; replays and forgeries change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.audit.records import AuditKind
from gsomia.envelope import TrustStore
from gsomia.node import (
    NodeAccessDeniedError,
    NodeConflictError,
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
    NodeRecordNotFoundError,
)
from gsomia.policy import Code, Official
from gsomia.ports import DisposalAction, DisposalState, ItemState, OfficialRecord, Role
from gsomia.proofs.notices import NoticeKind, verify_notice
from tests.unit.node.casekit import forged, notices, released_to_japan, replay, settled
from tests.unit.node.cluster import (
    JPN_READER,
    JPN_RELEASER,
    JPN_SECURITY,
    KOR_READER,
    KOR_SECURITY,
    PAYLOAD,
    RELEASER,
    TISA_ERA,
    Cluster,
    build,
    release_to_japan,
    release_via_hub,
)


@pytest.fixture
def cluster() -> Cluster:
    """KOR, JPN and USA nodes with their security officers (``custody``)."""
    return build(custody=True)


JPN_CONFIDENTIAL = "jpn-analyst-3"  # cleared 秘 only


def held(cluster: Cluster, party: str, item_id: str):  # type: ignore[no-untyped-def]
    with cluster.stores[party].read() as reader:
        item = reader.item(item_id)
    assert item is not None
    return item


# -- reclassification (Art. 6) -------------------------------------------------------------------


def test_a_downgrade_is_re_marked_by_the_holder(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    sealed_before = held(cluster, "JPN", item_id).sealed
    mine = cluster.nodes["KOR"].reclassify(RELEASER, item_id, "군사III급비밀")
    assert mine.labels.originator.classification == "군사III급비밀"
    cluster.pump()
    theirs = held(cluster, "JPN", item_id)
    assert theirs.labels.originator.classification == "군사III급비밀"
    assert theirs.labels.marking_for("JPN") == ("JPN", "秘")  # Art. 4 equivalent of the new level
    assert theirs.sealed == sealed_before  # sealed at rest as received: the bound label stays
    assert cluster.nodes["JPN"].read(JPN_READER, item_id) == PAYLOAD
    assert settled(cluster, "KOR")
    for party in ("KOR", "JPN"):
        with cluster.stores[party].read() as reader:
            (record,) = reader.reclassifications(item_id)
        assert (record.seq, record.previous, record.level) == (1, "군사II급비밀", "군사III급비밀")
    assert cluster.kinds("KOR")[-1] == (AuditKind.RECLASSIFY, "reclassified")
    remarked = [r for r in cluster.audit("JPN") if r.kind is AuditKind.RECLASSIFY]
    assert [(r.decision, r.actor, r.detail["marking"]) for r in remarked] == [
        ("remarked", "KOR", "秘")
    ]


def test_an_upgrade_applies_art_7_at_the_new_level(cluster: Cluster) -> None:
    with cluster.stores["JPN"].unit_of_work() as uow:
        uow.put_official(
            OfficialRecord(
                Official(JPN_CONFIDENTIAL, "JPN", "秘", frozenset({"NK-MISSILE"}), True),
                frozenset({Role.READER}),
            )
        )
    result = release_to_japan(cluster, level="군사III급비밀")
    cluster.pump()
    jpn = cluster.nodes["JPN"]
    assert jpn.read(JPN_CONFIDENTIAL, result.item_id) == PAYLOAD
    cluster.nodes["KOR"].reclassify(KOR_SECURITY, result.item_id, "군사II급비밀")
    cluster.pump()
    assert held(cluster, "JPN", result.item_id).labels.marking_for("JPN") == ("JPN", "極秘")
    with pytest.raises(NodeAccessDeniedError) as refused:
        jpn.read(JPN_CONFIDENTIAL, result.item_id)
    assert refused.value.detail["reasons"] == [Code.CLEARANCE_INSUFFICIENT]
    assert jpn.read(JPN_READER, result.item_id) == PAYLOAD


def test_reclassification_notices_apply_once_and_in_order(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    kor = cluster.nodes["KOR"]
    cluster.network.down.add("JPN")
    kor.reclassify(RELEASER, item_id, "군사III급비밀")
    kor.reclassify(RELEASER, item_id, "군사II급비밀")
    cluster.network.down.clear()
    first, second = (
        e.message.payload for e in notices(cluster, "KOR", NoticeKind.RECLASSIFICATION)
    )
    replay(cluster, "KOR", "JPN", second, "r2")  # seq 2 before seq 1: waits
    replay(cluster, "KOR", "JPN", first, "r1")
    replay(cluster, "KOR", "JPN", first, "r1-again")  # a duplicate
    summary = cluster.nodes["JPN"].receive()
    assert (summary.notices_deferred, summary.notices, summary.duplicates) == (1, 1, 1)
    cluster.pump(rounds=6, step=timedelta(seconds=30))
    with cluster.stores["JPN"].read() as reader:
        assert [r.seq for r in reader.reclassifications(item_id)] == [1, 2]
    assert held(cluster, "JPN", item_id).labels.marking_for("JPN") == ("JPN", "極秘")


def test_a_notice_before_the_item_waits_for_it(cluster: Cluster) -> None:
    cluster.network.down.add("JPN")
    item_id = release_to_japan(cluster).item_id
    cluster.nodes["KOR"].reclassify(RELEASER, item_id, "군사III급비밀")
    cluster.network.down.clear()
    (sent,) = notices(cluster, "KOR", NoticeKind.RECLASSIFICATION)
    replay(cluster, "KOR", "JPN", sent.message.payload)
    assert cluster.nodes["JPN"].receive().notices_deferred == 1
    cluster.pump(rounds=6, step=timedelta(seconds=30))
    assert held(cluster, "JPN", item_id).labels.marking_for("JPN") == ("JPN", "秘")


def test_reclassification_refusals_change_nothing(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    kor, jpn = cluster.nodes["KOR"], cluster.nodes["JPN"]
    with pytest.raises(NodeForbiddenError):
        kor.reclassify(KOR_READER, item_id, "군사III급비밀")
    with pytest.raises(NodeForbiddenError) as not_originator:
        jpn.reclassify(JPN_RELEASER, item_id, "秘")
    assert not_originator.value.code == "NODE_NOT_ORIGINATOR"
    with pytest.raises(NodeItemNotFoundError):
        kor.reclassify(RELEASER, "no-such-item", "군사III급비밀")
    with pytest.raises(NodeInputError) as unknown:
        kor.reclassify(RELEASER, item_id, "극비")
    assert unknown.value.code == "NODE_UNKNOWN_LEVEL"
    with pytest.raises(NodeInputError) as same:
        kor.reclassify(RELEASER, item_id, "군사2급비밀")  # an alias of the current level
    assert same.value.code == "NODE_SAME_LEVEL"
    with pytest.raises(NodeAccessDeniedError) as outside:  # ROK TOP SECRET: outside Art. 4
        kor.reclassify(RELEASER, item_id, "군사I급비밀")
    assert outside.value.detail["reasons"] == [Code.LEVEL_NOT_COVERED]
    assert held(cluster, "KOR", item_id).labels.originator.classification == "군사II급비밀"
    assert notices(cluster, "KOR", NoticeKind.RECLASSIFICATION) == []
    with cluster.stores["KOR"].read() as reader:
        assert reader.reclassifications(item_id) == []
    assert [r.reasons[0] for r in cluster.audit("KOR") if r.decision == "deny"] == [
        "NODE_FORBIDDEN", "NODE_ITEM_NOT_FOUND", "NODE_UNKNOWN_LEVEL", "NODE_SAME_LEVEL",
        Code.LEVEL_NOT_COVERED,
    ]  # fmt: skip


def test_forged_and_foreign_reclassifications_are_refused(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    fields = {"seq": 1, "previous": "군사II급비밀", "level": "군사III급비밀"}
    usa = forged(cluster, "USA", NoticeKind.RECLASSIFICATION, "JPN", item_id, fields)
    as_kor = forged(
        cluster, "USA", NoticeKind.RECLASSIFICATION, "JPN", item_id, fields, issuer="KOR"
    )
    replay(cluster, "USA", "JPN", usa, "f1")  # signed by USA, which did not originate it
    replay(cluster, "USA", "JPN", as_kor, "f2")  # USA's signature claiming to be KOR's
    summary = cluster.nodes["JPN"].receive()
    assert summary.rejected == 2
    assert [r.reasons[0] for r in cluster.audit("JPN")[-2:]] == [
        "NODE_NOT_ORIGINATOR",
        "TOKEN_SIGNER_MISMATCH",
    ]
    assert held(cluster, "JPN", item_id).labels.marking_for("JPN") == ("JPN", "極秘")


# -- return or destruction (Art. 6, Art. 13) -----------------------------------------------------


@pytest.mark.parametrize(
    ("action", "state"), [("destroy", ItemState.DESTROYED), ("return", ItemState.RETURNED)]
)
def test_a_requested_disposal_is_executed_and_certified(
    cluster: Cluster, action: str, state: ItemState
) -> None:
    item_id = released_to_japan(cluster)
    request = cluster.nodes["KOR"].request_disposal(
        RELEASER, item_id, "JPN", action, "no longer needed"
    )
    cluster.pump()
    jpn = cluster.nodes["JPN"]
    (pending,) = jpn.disposals(JPN_SECURITY)
    assert (pending.disposal_id, pending.state) == (request.disposal_id, DisposalState.REQUESTED)
    assert jpn.read(JPN_READER, item_id) == PAYLOAD  # still held until executed
    done = jpn.execute_disposal(JPN_SECURITY, request.disposal_id)
    assert done.state is DisposalState.COMPLETED
    gone = held(cluster, "JPN", item_id)
    assert (gone.state, gone.sealed) == (state, None)
    with pytest.raises(NodeAccessDeniedError) as refused:
        jpn.read(JPN_READER, item_id)
    assert refused.value.code == "NODE_ITEM_NOT_HELD"
    cluster.pump()
    (at_kor,) = cluster.nodes["KOR"].disposals(KOR_SECURITY, item_id=item_id)
    assert at_kor == done
    assert at_kor.certificate is not None
    trust = TrustStore().add_bundle(jpn._ctx.keys.public_bundle())
    certificate = verify_notice(at_kor.certificate, trust, cluster.clock.now())
    assert (certificate.kind, certificate.issuer, certificate.text("action")) == (
        NoticeKind.DISPOSAL_CERTIFICATE,
        "JPN",
        action,
    )
    assert held(cluster, "KOR", item_id).state is ItemState.HELD  # the originator keeps it
    assert settled(cluster, "KOR")
    assert settled(cluster, "JPN")
    assert [d for k, d in cluster.kinds("KOR") if k is AuditKind.DESTROY] == [
        "requested",
        "certified",
    ]
    assert [d for k, d in cluster.kinds("JPN") if k is AuditKind.DESTROY] == [
        "requested",
        str(state),
    ]


def test_a_holder_destroys_what_it_no_longer_needs(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    done = cluster.nodes["JPN"].destroy(JPN_SECURITY, item_id, "no longer needed")
    assert (done.requested, done.action) == (None, DisposalAction.DESTROY)
    assert held(cluster, "JPN", item_id).state is ItemState.DESTROYED
    cluster.pump()
    (at_kor,) = cluster.nodes["KOR"].disposals(RELEASER)
    assert at_kor == done
    with pytest.raises(NodeConflictError) as late:  # nothing left to ask for
        cluster.nodes["KOR"].request_disposal(RELEASER, item_id, "JPN", "return", "recall")
    assert late.value.code == "NODE_DISPOSAL_DONE"


def test_a_request_crossing_a_destruction_is_certified_at_once(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    cluster.network.down.add("KOR")
    cluster.nodes["JPN"].destroy(JPN_SECURITY, item_id, "no longer needed")
    cluster.network.down.clear()
    request = cluster.nodes["KOR"].request_disposal(RELEASER, item_id, "JPN", "return", "recall")
    cluster.pump(rounds=6, step=timedelta(seconds=30))
    kor = cluster.nodes["KOR"].disposals(RELEASER)
    assert {d.state for d in kor} == {DisposalState.COMPLETED}
    answered = next(d for d in kor if d.disposal_id == request.disposal_id)
    assert answered.certificate is not None


def test_replayed_requests_and_certificates_change_nothing(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    request = cluster.nodes["KOR"].request_disposal(RELEASER, item_id, "JPN", "destroy", "done")
    cluster.pump()
    cluster.nodes["JPN"].execute_disposal(JPN_SECURITY, request.disposal_id)
    cluster.pump()
    (sent_request,) = notices(cluster, "KOR", NoticeKind.DISPOSAL_REQUEST)
    (sent_certificate,) = notices(cluster, "JPN", NoticeKind.DISPOSAL_CERTIFICATE)
    replay(cluster, "KOR", "JPN", sent_request.message.payload)
    replay(cluster, "JPN", "KOR", sent_certificate.message.payload)
    assert cluster.nodes["JPN"].receive().duplicates == 1
    assert cluster.nodes["KOR"].receive().duplicates == 1
    assert len(cluster.nodes["KOR"].disposals(RELEASER)) == 1


def test_a_forged_request_destroys_nothing(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    fields = {"disposal_id": "d-1", "action": "destroy", "reason": "x"}
    replay(
        cluster, "USA", "JPN",
        forged(cluster, "USA", NoticeKind.DISPOSAL_REQUEST, "JPN", item_id, fields),
    )  # fmt: skip
    assert cluster.nodes["JPN"].receive().rejected == 1
    assert cluster.audit("JPN")[-1].reasons == ("NODE_NOT_ORIGINATOR",)
    assert cluster.nodes["JPN"].disposals(JPN_SECURITY) == []
    assert held(cluster, "JPN", item_id).state is ItemState.HELD


def test_disposal_refusals_change_nothing(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    kor, jpn = cluster.nodes["KOR"], cluster.nodes["JPN"]
    with pytest.raises(NodeForbiddenError):
        kor.request_disposal(KOR_READER, item_id, "JPN", "destroy", "x")
    with pytest.raises(NodeForbiddenError) as not_originator:
        jpn.request_disposal(JPN_RELEASER, item_id, "KOR", "destroy", "x")
    assert not_originator.value.code == "NODE_NOT_ORIGINATOR"
    with pytest.raises(NodeInputError):
        kor.request_disposal(RELEASER, item_id, "XXX", "destroy", "x")
    with pytest.raises(NodeInputError):
        kor.request_disposal(RELEASER, item_id, "JPN", "shred", "x")
    with pytest.raises(NodeInputError) as not_holder:
        kor.request_disposal(RELEASER, item_id, "USA", "destroy", "x")
    assert not_holder.value.code == "NODE_NOT_A_HOLDER"
    request = kor.request_disposal(RELEASER, item_id, "JPN", "destroy", "x")
    with pytest.raises(NodeConflictError) as pending:
        kor.request_disposal(RELEASER, item_id, "JPN", "return", "x")
    assert pending.value.code == "NODE_DISPOSAL_PENDING"
    cluster.pump()
    with pytest.raises(NodeForbiddenError):
        jpn.execute_disposal(JPN_READER, request.disposal_id)
    with pytest.raises(NodeRecordNotFoundError):
        jpn.execute_disposal(JPN_SECURITY, "no-such-disposal")
    with pytest.raises(NodeForbiddenError) as not_holder_here:
        kor.execute_disposal(KOR_SECURITY, request.disposal_id)
    assert not_holder_here.value.code == "NODE_NOT_HOLDER"
    with pytest.raises(NodeConflictError) as asked:  # the originator's request comes first
        jpn.destroy(JPN_SECURITY, item_id, "no longer needed")
    assert asked.value.code == "NODE_DISPOSAL_PENDING"
    with pytest.raises(NodeInputError) as own:
        kor.destroy(KOR_SECURITY, item_id, "no longer needed")
    assert own.value.code == "NODE_OWN_ITEM"
    assert held(cluster, "JPN", item_id).state is ItemState.HELD
    jpn.execute_disposal(JPN_SECURITY, request.disposal_id)
    with pytest.raises(NodeConflictError) as twice:
        jpn.execute_disposal(JPN_SECURITY, request.disposal_id)
    assert twice.value.code == "NODE_DISPOSAL_DONE"
    assert len(notices(cluster, "JPN", NoticeKind.DISPOSAL_CERTIFICATE)) == 1


def test_a_reclassification_reaches_the_hub_and_the_final_recipient() -> None:
    """TISA (2015): KOR → USA → JPN; KOR notifies both holders, each re-marks (Arts. 4, 6)."""
    cluster = build(start=TISA_ERA, custody=True)
    result = release_via_hub(cluster)
    assert result.released, result.reasons
    cluster.pump()
    cluster.nodes["KOR"].reclassify(RELEASER, result.item_id, "군사III급비밀")
    cluster.pump()
    assert held(cluster, "USA", result.item_id).labels.marking_for("USA") == ("USA", "CONFIDENTIAL")
    assert held(cluster, "JPN", result.item_id).labels.marking_for("JPN") == ("JPN", "秘")
    assert settled(cluster, "KOR")
