"""Agreement events recorded by a security officer take effect on the very next decision
(Art. 21); each node keeps its own record and applies it again on startup; CMI already provided
stays protected and readable after termination."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.agreements import Event, EventKind, State
from gsomia.audit.records import AuditKind
from gsomia.catalog import builtin_registry
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.errors import AgreementError, EventSequenceError
from gsomia.node import Node, NodeForbiddenError, NodeInputError, NodeRecordNotFoundError
from gsomia.policy import Code
from gsomia.testing import InMemoryNetwork
from tests.conftest import at, make_label
from tests.unit.node.cluster import (
    JPN_READER,
    JPN_SECURITY,
    KOR_SECURITY,
    NOW,
    PAYLOAD,
    RELEASER,
    Cluster,
    build,
    release_to_japan,
)

GSOMIA = "kor-jpn-gsomia-2016"


@pytest.fixture
def cluster() -> Cluster:
    """KOR, JPN and USA nodes with their security officers (``custody``)."""
    return build(custody=True)


def release_maritime(cluster: Cluster):  # type: ignore[no-untyped-def]
    """A release KOR → JPN on a topic outside TISA: only the ROK-JPN GSOMIA can carry it."""
    label = make_label(topics=("MARITIME-SECURITY",), created="2026-11-23T11:00:00+09:00")
    return cluster.nodes["KOR"].release(
        RELEASER, PAYLOAD, label, ["JPN"], "MARITIME-SECURITY", "maritime situational awareness"
    )


def state(node: Node) -> State:
    return node.registry.timeline(GSOMIA).segment_at(node.now()).state


def test_a_notice_of_termination_ends_new_exchanges_when_it_takes_effect(
    cluster: Cluster,
) -> None:
    held = release_to_japan(cluster)
    cluster.pump()
    kor = cluster.nodes["KOR"]
    notice = Event(EventKind.NOTICE_GIVEN, NOW, by="KOR", note="written notice (Art. 21)")
    recorded = kor.record_agreement_event(KOR_SECURITY, GSOMIA, notice)
    assert (recorded.seq, recorded.agreement_id, recorded.recorded_by) == (1, GSOMIA, KOR_SECURITY)
    assert state(kor) is State.NOTICE_GIVEN
    assert release_maritime(cluster).released  # the term runs on (Art. 21)
    cluster.clock.set(at("2027-11-23T00:00:01+09:00"))  # the end of the current term
    refused = release_maritime(cluster)
    assert not refused.released
    assert Code.AGREEMENT_TERMINATED in refused.reasons
    cluster.pump()
    assert cluster.nodes["JPN"].read(JPN_READER, held.item_id) == PAYLOAD  # still protected
    event = cluster.audit("KOR")[2]
    assert (event.kind, event.decision, event.agreement) == (
        AuditKind.AGREEMENT_EVENT,
        "recorded",
        GSOMIA,
    )
    assert event.detail["state_now"] == "notice_given"


def test_a_termination_takes_effect_on_the_very_next_decision(cluster: Cluster) -> None:
    assert release_maritime(cluster).released
    terminated = Event(EventKind.TERMINATED, NOW, note="exchange of notes")
    cluster.nodes["KOR"].record_agreement_event(KOR_SECURITY, GSOMIA, terminated)
    assert Code.AGREEMENT_TERMINATED in release_maritime(cluster).reasons


def test_each_node_decides_on_its_own_record(cluster: Cluster) -> None:
    """JPN recorded the termination, KOR has not: KOR releases, JPN refuses to accept."""
    terminated = Event(EventKind.TERMINATED, NOW - timedelta(minutes=1))
    cluster.nodes["JPN"].record_agreement_event(JPN_SECURITY, GSOMIA, terminated)
    result = release_maritime(cluster)
    assert result.released
    cluster.pump()
    with cluster.stores["JPN"].read() as jpn:
        assert jpn.item(result.item_id) is None
        entry = jpn.inbox_entry(result.item_id)
    assert entry is not None
    assert Code.AGREEMENT_TERMINATED in entry.reasons


def test_a_restarted_node_applies_its_recorded_events(cluster: Cluster) -> None:
    kor = cluster.nodes["KOR"]
    terminated = Event(EventKind.TERMINATED, NOW, note="exchange of notes")
    kor.record_agreement_event(KOR_SECURITY, GSOMIA, terminated)
    keys = NodeKeys.generate("KOR", NOW - timedelta(days=1))
    again = Node(
        "KOR", builtin_registry(), cluster.stores["KOR"], InMemoryNetwork().channel("KOR"), keys,
        TrustStore(), cluster.clock,
    )  # fmt: skip
    assert state(again) is State.TERMINATED
    assert state(kor) is State.TERMINATED
    (listed,) = again.agreement_events(KOR_SECURITY, agreement_id=GSOMIA)
    assert listed.event == terminated


def test_impossible_or_foreign_events_are_refused_and_store_nothing(cluster: Cluster) -> None:
    kor = cluster.nodes["KOR"]
    withdrawn = Event(EventKind.NOTICE_WITHDRAWN, NOW, by="KOR")
    with pytest.raises(NodeForbiddenError):
        kor.record_agreement_event(RELEASER, GSOMIA, Event(EventKind.TERMINATED, NOW))
    with pytest.raises(EventSequenceError):  # no notice is pending (Art. 21, the table)
        kor.record_agreement_event(KOR_SECURITY, GSOMIA, withdrawn)
    with pytest.raises(EventSequenceError):  # before the last recorded event: out of time order
        kor.record_agreement_event(
            KOR_SECURITY,
            GSOMIA,
            Event(EventKind.NOTICE_GIVEN, at("2020-01-01T00:00:00+09:00"), by="KOR"),
        )
    with pytest.raises(AgreementError):  # the USA is not party to the ROK-JPN agreement
        kor.record_agreement_event(
            KOR_SECURITY, GSOMIA, Event(EventKind.NOTICE_GIVEN, NOW, by="USA")
        )
    with pytest.raises(NodeForbiddenError) as foreign:
        kor.record_agreement_event(
            KOR_SECURITY, "usa-jpn-gsomia-2007", Event(EventKind.TERMINATED, NOW)
        )
    assert foreign.value.code == "NODE_NOT_A_PARTY"
    with pytest.raises(NodeRecordNotFoundError):
        kor.record_agreement_event(
            KOR_SECURITY, "no-such-agreement", Event(EventKind.TERMINATED, NOW)
        )
    hypothetical = Event(EventKind.TERMINATED, NOW, hypothetical=True)
    with pytest.raises(NodeInputError):
        kor.record_agreement_event(KOR_SECURITY, GSOMIA, hypothetical)
    with pytest.raises(NodeInputError):  # recorded once it happened
        kor.record_agreement_event(
            KOR_SECURITY, GSOMIA, Event(EventKind.TERMINATED, NOW + timedelta(days=1))
        )
    assert kor.agreement_events(KOR_SECURITY) == []
    assert state(kor) is State.IN_FORCE
    assert release_maritime(cluster).released
    assert [r.reasons[0] for r in cluster.audit("KOR") if r.decision == "deny"] == [
        "NODE_FORBIDDEN", "EVENT_SEQUENCE_INVALID", "EVENT_SEQUENCE_INVALID",
        "AGREEMENT_INVALID", "NODE_NOT_A_PARTY", "NODE_AGREEMENT_NOT_FOUND",
        "NODE_INPUT_INVALID", "NODE_INPUT_INVALID",
    ]  # fmt: skip
    with pytest.raises(NodeForbiddenError):
        kor.agreement_events("kor-reader-1")
