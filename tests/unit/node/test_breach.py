"""Breaches (Art. 17): reported by any official, the originator notified at once, investigated by
the reporting node's security officer, status visible to both; refusals audited, nothing else
stored; replays and forgeries change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.audit.records import AuditKind
from gsomia.node import (
    NodeConflictError,
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
    NodeRecordNotFoundError,
)
from gsomia.ports import BreachKind, BreachStatus
from gsomia.proofs.notices import NoticeKind
from tests.unit.node.casekit import forged, notices, released_to_japan, replay, settled, tampered
from tests.unit.node.cluster import (
    JPN_NO_DUTY,
    JPN_READER,
    JPN_SECURITY,
    KOR_SECURITY,
    RELEASER,
    Cluster,
    build,
)


@pytest.fixture
def cluster() -> Cluster:
    """KOR, JPN and USA nodes with their security officers (``custody``)."""
    return build(custody=True)


def report(cluster: Cluster, item_id: str) -> str:
    record = cluster.nodes["JPN"].report_breach(
        JPN_READER, item_id, "possible", "a laptop holding the item was left in a taxi"
    )
    return record.breach_id


def test_any_official_reports_and_the_originator_is_notified_at_once(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    record = cluster.nodes["JPN"].report_breach(
        JPN_READER, item_id, "possible", "a laptop holding the item was left in a taxi"
    )
    assert (record.kind, record.status, record.version) == (
        BreachKind.POSSIBLE,
        BreachStatus.REPORTED,
        1,
    )
    assert (record.originator, record.reporter, record.reported_by) == ("KOR", "JPN", JPN_READER)
    # at once: the report is already on KOR's channel, before any delivery round
    summary = cluster.nodes["KOR"].receive()
    assert summary.notices == 1
    (kor_record,) = cluster.nodes["KOR"].breaches(KOR_SECURITY)
    assert kor_record == record  # the same record, token included, at both nodes
    cluster.pump()
    assert settled(cluster, "JPN")  # KOR acknowledged: no more retries
    assert cluster.kinds("JPN")[-1] == (AuditKind.BREACH, "reported")
    assert cluster.kinds("KOR")[-1] == (AuditKind.BREACH, "notified")
    notified = cluster.audit("KOR")[-1]
    assert (notified.actor, notified.subject) == ("JPN", item_id)
    assert notified.detail["reported_by"] == JPN_READER


def test_the_investigation_reaches_the_originator_and_closes(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    breach_id = report(cluster, item_id)
    jpn = cluster.nodes["JPN"]
    jpn.update_breach(
        JPN_SECURITY, breach_id, status="investigating", investigation="taxi company contacted"
    )
    closed = jpn.update_breach(
        JPN_SECURITY, breach_id, status="closed", results="laptop recovered, disk encrypted",
        measures="items no longer taken off site",
    )  # fmt: skip
    assert (closed.version, closed.status) == (3, BreachStatus.CLOSED)
    assert closed.investigation == "taxi company contacted"  # kept from the earlier version
    cluster.pump()
    (at_kor,) = cluster.nodes["KOR"].breaches(KOR_SECURITY, item_id=item_id)
    assert at_kor == closed
    assert jpn.breaches(JPN_SECURITY) == [closed]
    assert [d for k, d in cluster.kinds("KOR") if k is AuditKind.BREACH] == [
        "notified",
        "updated",
        "updated",
    ]


def test_updates_arriving_out_of_order_are_applied_in_order(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    cluster.network.down.add("KOR")
    breach_id = report(cluster, item_id)
    jpn = cluster.nodes["JPN"]
    jpn.update_breach(JPN_SECURITY, breach_id, status="investigating", investigation="first")
    jpn.update_breach(JPN_SECURITY, breach_id, status="closed", measures="second")
    cluster.network.down.clear()
    updates = [e.message.payload for e in notices(cluster, "JPN", NoticeKind.BREACH_UPDATE)]
    assert len(updates) == 2
    replay(cluster, "JPN", "KOR", updates[1], "u2")  # version 3 before the report itself
    replay(cluster, "JPN", "KOR", updates[0], "u1")
    summary = cluster.nodes["KOR"].receive()
    assert (summary.notices, summary.notices_deferred) == (0, 2)
    cluster.pump(rounds=8, step=timedelta(seconds=30))  # the outbox retries everything
    (at_kor,) = cluster.nodes["KOR"].breaches(KOR_SECURITY)
    assert (at_kor.version, at_kor.status, at_kor.measures) == (3, BreachStatus.CLOSED, "second")


def test_a_replayed_report_is_recorded_once(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    report(cluster, item_id)
    cluster.pump()
    (sent,) = notices(cluster, "JPN", NoticeKind.BREACH_REPORT)
    replay(cluster, "JPN", "KOR", sent.message.payload)
    summary = cluster.nodes["KOR"].receive()
    assert (summary.notices, summary.duplicates) == (0, 1)
    assert len(cluster.nodes["KOR"].breaches(KOR_SECURITY)) == 1
    last = cluster.audit("KOR")[-1]
    assert (last.kind, last.decision, last.reasons) == (
        AuditKind.REJECT,
        "duplicate",
        ("DUPLICATE_NOTICE",),
    )


def test_forged_tampered_and_relayed_reports_are_refused(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    cluster.network.down.add("KOR")
    report(cluster, item_id)
    cluster.network.down.clear()
    (sent,) = notices(cluster, "JPN", NoticeKind.BREACH_REPORT)
    fields = {
        "breach_id": "b-1", "breach_kind": "actual", "description": "x", "reported_by": "someone",
    }  # fmt: skip
    replay(cluster, "JPN", "KOR", tampered(sent.message.payload), "t")  # altered after signing
    replay(cluster, "USA", "KOR", sent.message.payload, "r")  # JPN's report, sent by USA
    replay(  # signed by USA, claiming to be JPN's
        cluster, "USA", "KOR",
        forged(cluster, "USA", NoticeKind.BREACH_REPORT, "KOR", item_id, fields, issuer="JPN"),
    )  # fmt: skip
    replay(  # JPN's genuine signature, addressed to USA, delivered to KOR
        cluster, "JPN", "KOR", forged(cluster, "JPN", NoticeKind.BREACH_REPORT, "USA", item_id, fields)
    )  # fmt: skip
    summary = cluster.nodes["KOR"].receive()
    assert summary.rejected == 4
    assert [r.reasons[0] for r in cluster.audit("KOR")[-4:]] == [
        "TOKEN_SIGNATURE_INVALID",
        "NODE_SENDER_MISMATCH",
        "TOKEN_SIGNER_MISMATCH",
        "NODE_NOTICE_MISMATCH",
    ]
    with cluster.stores["KOR"].read() as kor:
        assert kor.breaches() == []


def test_a_report_on_an_item_kor_never_originated_is_refused_for_good(cluster: Cluster) -> None:
    fields = {"breach_id": "b-2", "breach_kind": "actual", "description": "x", "reported_by": "p"}
    replay(
        cluster,
        "JPN",
        "KOR",
        forged(cluster, "JPN", NoticeKind.BREACH_REPORT, "KOR", "no-item", fields),
    )
    summary = cluster.nodes["KOR"].receive()
    assert summary.rejected == 1
    assert cluster.audit("KOR")[-1].reasons == ("NODE_NOT_ORIGINATOR",)
    assert cluster.network.sent[-1] == ("KOR", "JPN", "ack:forged-breach_report")  # answered


def test_refusals_are_audited_and_store_nothing(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    jpn = cluster.nodes["JPN"]
    with pytest.raises(NodeForbiddenError):  # a KOR official at the JPN node
        jpn.report_breach(RELEASER, item_id, "actual", "lost")
    with pytest.raises(NodeInputError):
        jpn.report_breach(JPN_READER, item_id, "maybe", "lost")
    with pytest.raises(NodeInputError):
        jpn.report_breach(JPN_READER, item_id, "actual", "")
    with pytest.raises(NodeItemNotFoundError):
        jpn.report_breach(JPN_READER, "no-such-item", "actual", "lost")
    breach_id = report(cluster, item_id)
    with pytest.raises(NodeForbiddenError):  # a reader does not investigate
        jpn.update_breach(JPN_READER, breach_id, status="investigating")
    with pytest.raises(NodeRecordNotFoundError) as unknown:
        jpn.update_breach(JPN_SECURITY, "no-such-breach", status="closed")
    assert unknown.value.code == "NODE_BREACH_NOT_FOUND"
    with pytest.raises(NodeInputError):
        jpn.update_breach(JPN_SECURITY, breach_id, status="forgotten")
    jpn.update_breach(JPN_SECURITY, breach_id, status="closed", results="none")
    with pytest.raises(NodeConflictError) as closed:
        jpn.update_breach(JPN_SECURITY, breach_id, status="investigating")
    assert closed.value.code == "NODE_BREACH_CLOSED"
    with pytest.raises(NodeForbiddenError):
        jpn.breaches(JPN_READER)
    cluster.pump()
    with pytest.raises(NodeForbiddenError) as not_reporter:  # the originator does not investigate
        cluster.nodes["KOR"].update_breach(KOR_SECURITY, breach_id, status="closed")
    assert not_reporter.value.code == "NODE_NOT_REPORTER"
    (only,) = jpn.breaches(JPN_SECURITY)
    assert only.version == 2
    denials = [r.reasons for r in cluster.audit("JPN") if r.decision == "deny"]
    assert denials == [
        ("NODE_FORBIDDEN",), ("NODE_INPUT_INVALID",), ("NODE_INPUT_INVALID",),
        ("NODE_ITEM_NOT_FOUND",), ("NODE_FORBIDDEN",), ("NODE_BREACH_NOT_FOUND",),
        ("NODE_INPUT_INVALID",), ("NODE_BREACH_CLOSED",), ("NODE_FORBIDDEN",),
    ]  # fmt: skip


def test_an_item_the_reporter_may_not_see_is_answered_as_unknown(cluster: Cluster) -> None:
    """No oracle: a report on an item one may not see (Art. 7) is refused as if it were absent."""
    item_id = released_to_japan(cluster)
    jpn = cluster.nodes["JPN"]
    answers = []
    for unseen in (item_id, "no-such-item"):
        with pytest.raises(NodeItemNotFoundError) as exc:
            jpn.report_breach(JPN_NO_DUTY, unseen, "possible", "a copy may have been seen")
        answers.append((exc.value.code, str(exc.value).replace(unseen, "ID")))
    assert answers[0] == answers[1]
    assert jpn.breaches(JPN_SECURITY) == []
    denials = [(r.actor, r.reasons) for r in cluster.audit("JPN") if r.decision == "deny"]
    assert denials == [(JPN_NO_DUTY, ("NODE_ITEM_NOT_FOUND",))] * 2
    jpn.report_breach(JPN_SECURITY, item_id, "possible", "reported by the officer instead")


def test_a_breach_of_its_own_item_stays_at_the_originator(cluster: Cluster) -> None:
    item_id = released_to_japan(cluster)
    record = cluster.nodes["KOR"].report_breach(RELEASER, item_id, "actual", "copy misfiled")
    assert (record.originator, record.reporter, record.token) == ("KOR", "KOR", None)
    assert notices(cluster, "KOR", NoticeKind.BREACH_REPORT) == []
    assert cluster.nodes["KOR"].breaches(KOR_SECURITY) == [record]
