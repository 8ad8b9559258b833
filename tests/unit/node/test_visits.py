"""Visits (Art. 8): requested by a security officer, approved by the host's security officer with
the highest level that may be disclosed (under the host's scheme) or denied, the decision back at
the requesting node; refusals audited, nothing else stored; replays and forgeries change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.agreements import Event, EventKind
from gsomia.audit.records import AuditKind
from gsomia.envelope import TrustStore
from gsomia.node import (
    NodeAccessDeniedError,
    NodeConflictError,
    NodeForbiddenError,
    NodeInputError,
    NodeRecordNotFoundError,
)
from gsomia.policy import Code
from gsomia.ports import Visitor, VisitRecord, VisitState
from gsomia.proofs.notices import NoticeKind, verify_notice
from tests.unit.node.casekit import forged, notices, replay, settled
from tests.unit.node.cluster import (
    JPN_READER,
    JPN_SECURITY,
    KOR_READER,
    KOR_SECURITY,
    NOW,
    Cluster,
    build,
)

KIM = Visitor("KIM Min-jun", "KOR", "군사II급비밀", "J2 analyst")
PURPOSE = "missile warning data exchange procedures"


@pytest.fixture
def cluster() -> Cluster:
    """KOR, JPN and USA nodes with their security officers (``custody``)."""
    return build(custody=True)


def ask(cluster: Cluster, visitor: Visitor = KIM, host: str = "JPN") -> VisitRecord:
    start = NOW + timedelta(days=7)
    return cluster.nodes["KOR"].request_visit(
        KOR_SECURITY, visitor, host, PURPOSE, start, start + timedelta(days=2)
    )


def test_a_visit_is_requested_approved_and_known_to_both(cluster: Cluster) -> None:
    requested = ask(cluster)
    assert requested.state is VisitState.REQUESTED
    cluster.pump()
    jpn = cluster.nodes["JPN"]
    (at_host,) = jpn.visits(JPN_SECURITY)
    assert at_host == requested
    approved = jpn.decide_visit(
        JPN_SECURITY, requested.visit_id, approve=True, level="極秘", note="escorted at all times"
    )
    assert (approved.state, approved.level) == (VisitState.APPROVED, "極秘")
    cluster.pump()
    (at_requester,) = cluster.nodes["KOR"].visits(KOR_SECURITY)
    assert at_requester == approved
    assert approved.decision is not None
    trust = TrustStore().add_bundle(jpn._ctx.keys.public_bundle())
    decision = verify_notice(approved.decision, trust, cluster.clock.now())
    assert (decision.issuer, decision.text("level")) == ("JPN", "極秘")
    assert settled(cluster, "KOR")
    assert settled(cluster, "JPN")
    assert [d for k, d in cluster.kinds("KOR") if k is AuditKind.VISIT] == ["requested", "approved"]
    assert [d for k, d in cluster.kinds("JPN") if k is AuditKind.VISIT] == ["received", "approved"]


def test_the_disclosed_level_is_bounded_by_the_agreement_and_the_clearance(
    cluster: Cluster,
) -> None:
    junior = Visitor("LEE Seo-yeon", "KOR", "군사III급비밀")
    visit_id = ask(cluster, junior).visit_id
    cluster.pump()
    jpn = cluster.nodes["JPN"]
    with pytest.raises(NodeAccessDeniedError) as above:  # 極秘 is 군사II급비밀 for KOR
        jpn.decide_visit(JPN_SECURITY, visit_id, approve=True, level="極秘")
    assert above.value.detail["reasons"] == [Code.CLEARANCE_INSUFFICIENT]
    with pytest.raises(NodeAccessDeniedError) as outside:  # TOP SECRET: outside Art. 4
        jpn.decide_visit(JPN_SECURITY, visit_id, approve=True, level="機密")
    assert outside.value.detail["reasons"] == [Code.LEVEL_NOT_COVERED]
    with pytest.raises(NodeAccessDeniedError) as unknown:
        jpn.decide_visit(JPN_SECURITY, visit_id, approve=True, level="超秘")
    assert unknown.value.detail["reasons"] == [Code.UNKNOWN_LEVEL]
    assert jpn.decide_visit(JPN_SECURITY, visit_id, approve=True, level="秘").level == "秘"


def test_a_host_with_no_agreement_in_force_denies_at_once(cluster: Cluster) -> None:
    """JPN recorded the end of the ROK-JPN agreement; KOR has not: JPN's node says no itself."""
    terminated = Event(EventKind.TERMINATED, NOW - timedelta(hours=1), note="exchange of notes")
    cluster.nodes["JPN"].record_agreement_event(JPN_SECURITY, "kor-jpn-gsomia-2016", terminated)
    ask(cluster)
    cluster.pump()
    (denied,) = cluster.nodes["KOR"].visits(KOR_SECURITY)
    assert (denied.state, denied.level) == (VisitState.DENIED, None)
    assert denied.note == f"refused: {Code.AGREEMENT_TERMINATED}"


def test_replayed_and_forged_visit_notices_change_nothing(cluster: Cluster) -> None:
    visit_id = ask(cluster).visit_id
    cluster.pump()
    cluster.nodes["JPN"].decide_visit(JPN_SECURITY, visit_id, approve=False, note="not now")
    cluster.pump()
    (request,) = notices(cluster, "KOR", NoticeKind.VISIT_REQUEST)
    (decision,) = notices(cluster, "JPN", NoticeKind.VISIT_DECISION)
    replay(cluster, "KOR", "JPN", request.message.payload)
    replay(cluster, "JPN", "KOR", decision.message.payload)
    approval = {"decision": "approved", "level": "SECRET"}  # USA is not the host
    replay(
        cluster, "USA", "KOR",
        forged(cluster, "USA", NoticeKind.VISIT_DECISION, "KOR", visit_id, approval),
    )  # fmt: skip
    assert cluster.nodes["JPN"].receive().duplicates == 1
    summary = cluster.nodes["KOR"].receive()
    assert (summary.duplicates, summary.rejected) == (1, 1)
    assert cluster.audit("KOR")[-1].reasons == ("NODE_CONFLICT",)
    (at_kor,) = cluster.nodes["KOR"].visits(KOR_SECURITY)
    assert (at_kor.state, at_kor.note) == (VisitState.DENIED, "not now")


def test_visit_refusals_are_audited_and_store_nothing(cluster: Cluster) -> None:
    kor, jpn = cluster.nodes["KOR"], cluster.nodes["JPN"]
    start = NOW + timedelta(days=7)
    with pytest.raises(NodeForbiddenError):
        kor.request_visit(KOR_READER, KIM, "JPN", PURPOSE, start, start + timedelta(days=1))
    with pytest.raises(NodeInputError):  # a JPN official is not KOR's to send
        kor.request_visit(
            KOR_SECURITY, Visitor("SATO Ken", "JPN", "極秘"), "JPN", PURPOSE, start,
            start + timedelta(days=1),
        )  # fmt: skip
    with pytest.raises(NodeInputError):
        kor.request_visit(KOR_SECURITY, KIM, "JPN", PURPOSE, start, start - timedelta(days=1))
    with pytest.raises(NodeAccessDeniedError) as party:
        kor.request_visit(KOR_SECURITY, KIM, "XXX", PURPOSE, start, start + timedelta(days=1))
    assert party.value.detail["reasons"] == [Code.UNKNOWN_PARTY]
    visitor = Visitor("PARK Ji-ho", "KOR", "1급")
    with pytest.raises(NodeAccessDeniedError) as level:
        kor.request_visit(KOR_SECURITY, visitor, "JPN", PURPOSE, start, start + timedelta(days=1))
    assert level.value.detail["reasons"] == [Code.UNKNOWN_LEVEL]
    with cluster.stores["KOR"].read() as reader:
        assert reader.visits() == []
        assert reader.outbox() == []
    visit_id = ask(cluster).visit_id
    cluster.pump()
    with pytest.raises(NodeForbiddenError):
        jpn.decide_visit(JPN_READER, visit_id, approve=False)
    with pytest.raises(NodeInputError):  # an approval names the level
        jpn.decide_visit(JPN_SECURITY, visit_id, approve=True)
    with pytest.raises(NodeRecordNotFoundError):
        jpn.decide_visit(JPN_SECURITY, "no-such-visit", approve=False)
    with pytest.raises(NodeForbiddenError) as not_host:
        kor.decide_visit(KOR_SECURITY, visit_id, approve=True, level="군사II급비밀")
    assert not_host.value.code == "NODE_NOT_HOST"
    with pytest.raises(NodeForbiddenError):
        jpn.visits(JPN_READER)
    jpn.decide_visit(JPN_SECURITY, visit_id, approve=False)
    with pytest.raises(NodeConflictError) as decided:
        jpn.decide_visit(JPN_SECURITY, visit_id, approve=True, level="秘")
    assert decided.value.code == "NODE_VISIT_DECIDED"
    assert [r.reasons[0] for r in cluster.audit("JPN") if r.decision == "deny"] == [
        "NODE_FORBIDDEN", "NODE_INPUT_INVALID", "NODE_VISIT_NOT_FOUND", "NODE_FORBIDDEN",
        "NODE_VISIT_DECIDED",
    ]  # fmt: skip
