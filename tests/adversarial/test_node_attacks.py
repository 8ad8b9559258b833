"""Attacks on the node's use cases: what officials ask for that the agreements or Art. 7 forbid
(boundary: node service, called by the API; actors: insider officials, operator error).

Releases are decided at the node's instant against the agreements in force (Art. 21); reads by
Art. 7 at read time.  Each refusal carries its code, stores nothing but its audit record.  The
releases the agreements *do* allow in a notice period or under a suspended notice are checked
too, against the agreement's state at that instant.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gsomia.agreements import Event, EventKind, State, status_at
from gsomia.audit.records import AuditKind
from gsomia.node import NodeAccessDeniedError, NodeForbiddenError
from gsomia.node.framing import item_frame
from gsomia.policy import Code, Official, access
from gsomia.ports import OfficialRecord, Role
from tests.adversarial.forge import genuine, kor_label, send_raw
from tests.adversarial.harness import Watch
from tests.conftest import at
from tests.unit.node.cluster import (
    JPN_NO_DUTY,
    JPN_RELEASER,
    JPN_SECURITY,
    KOR_READER,
    KOR_SECURITY,
    PAYLOAD,
    PURPOSE,
    RELEASER,
    Cluster,
    build,
    release_to_japan,
)

GSOMIA = "kor-jpn-gsomia-2016"


def _release(cluster: Cluster, actor: str = RELEASER, **label: object):  # type: ignore[no-untyped-def]
    created = (cluster.clock.now() - timedelta(hours=1)).isoformat()
    label.setdefault("created", created)
    return cluster.nodes["KOR"].release(
        actor, PAYLOAD, kor_label(**label), ["JPN"], "NK-MISSILE", PURPOSE
    )


def _refused_release(cluster: Cluster, code: str, **label: object) -> None:
    watch = Watch(cluster.stores["KOR"])
    result = _release(cluster, **label)
    assert not result.released
    assert code in result.reasons
    watch.rejected(code, kind=AuditKind.RELEASE)


# -- releases against the agreements (Arts. 4, 21) -------------------------------------------------


def test_release_of_kor_top_secret_under_the_rok_jpn_agreement(cluster: Cluster) -> None:
    """군사I급비밀 has no equivalent under the ROK–JPN GSOMIA, nor under TISA (Art. 4)."""
    _refused_release(cluster, Code.LEVEL_NOT_COVERED, level="군사I급비밀", rel_to=("KOR", "JPN"))
    _refused_release(cluster, Code.LEVEL_NOT_COVERED, level="군사I급비밀")  # not via the hub either


def test_release_after_termination(cluster: Cluster) -> None:
    """KOR records the agreement's termination (what-if: an exchange of notes an hour ago)."""
    ended = Event(EventKind.TERMINATED, cluster.clock.now() - timedelta(hours=1), note="what-if")
    cluster.nodes["KOR"].record_agreement_event(KOR_SECURITY, GSOMIA, ended)
    kor = cluster.nodes["KOR"]
    assert status_at(kor.registry.timeline(GSOMIA), kor.now()).state is State.TERMINATED
    _refused_release(cluster, Code.AGREEMENT_TERMINATED, rel_to=("KOR", "JPN"))


def test_acceptance_after_termination(cluster: Cluster) -> None:
    """JPN recorded the termination; an item KOR sealed anyway is refused on arrival."""
    ended = Event(EventKind.TERMINATED, cluster.clock.now() - timedelta(hours=1), note="what-if")
    cluster.nodes["JPN"].record_agreement_event(JPN_SECURITY, GSOMIA, ended)
    item = genuine(cluster, label=kor_label(rel_to=("KOR", "JPN")))
    watch = Watch(cluster.stores["JPN"])
    send_raw(cluster, "KOR", "JPN", item_frame("NK-MISSILE", PURPOSE, item.to_bytes()), key="x")
    summary = cluster.nodes["JPN"].receive()
    assert summary.accepted == 0
    watch.rejected(Code.AGREEMENT_TERMINATED, kind=AuditKind.REJECT, inbox=True)


@pytest.mark.parametrize(
    ("instant", "state"),
    [
        ("2019-09-01T12:00:00+09:00", State.NOTICE_GIVEN),  # ROK's notice of 23 Aug 2019
        ("2019-11-22T23:00:00+09:00", State.NOTICE_SUSPENDED),  # suspended at about 18:00
        ("2021-06-01T12:00:00+09:00", State.NOTICE_SUSPENDED),  # still suspended, renewed
    ],
)
def test_release_during_a_notice_period_is_allowed(instant: str, state: State) -> None:
    """The built-in ROK–JPN history: a pending or suspended notice leaves the agreement in force
    (Art. 21), so the release is allowed and the item accepted, under that agreement."""
    cluster = build(custody=True, start=at(instant))
    kor = cluster.nodes["KOR"]
    status = status_at(kor.registry.timeline(GSOMIA), kor.now())
    assert (status.state, status.exchange_allowed) == (state, True)
    result = _release(cluster)
    assert result.released, result.reasons
    assert result.decisions["JPN"].agreement == GSOMIA
    assert result.decisions["JPN"].path == ("KOR", "JPN")
    cluster.pump()
    with cluster.stores["JPN"].read() as jpn:
        held = jpn.item(result.item_id)
    assert held is not None
    assert held.labels.marking_for("JPN") == ("JPN", "極秘")


def test_release_after_the_notice_took_effect(cluster: Cluster) -> None:
    """A notice given now takes effect at the end of a term (Art. 21); then releases stop."""
    notice = Event(EventKind.NOTICE_GIVEN, cluster.clock.now(), by="KOR", note="what-if")
    cluster.nodes["KOR"].record_agreement_event(KOR_SECURITY, GSOMIA, notice)
    assert _release(cluster, rel_to=("KOR", "JPN")).released  # in force during the notice
    kor = cluster.nodes["KOR"]
    effective = status_at(kor.registry.timeline(GSOMIA), kor.now()).pending_notice
    assert effective is not None
    assert effective.effective is not None
    cluster.clock.set(effective.effective + timedelta(seconds=1))
    _refused_release(cluster, Code.AGREEMENT_TERMINATED, rel_to=("KOR", "JPN"))


# -- who may act (issue 4 §1: roles; Art. 7: access) ----------------------------------------------


def test_release_by_an_official_without_the_role(cluster: Cluster) -> None:
    watch = Watch(cluster.stores["KOR"])
    with pytest.raises(NodeForbiddenError):
        _release(cluster, actor=KOR_READER)
    watch.rejected("NODE_FORBIDDEN", kind=AuditKind.RELEASE)


def test_release_by_an_official_not_in_the_directory(cluster: Cluster) -> None:
    watch = Watch(cluster.stores["KOR"])
    with pytest.raises(NodeForbiddenError):
        _release(cluster, actor="kor-intruder-9")
    watch.rejected("NODE_FORBIDDEN", kind=AuditKind.RELEASE)


def _jpn_official(cluster: Cluster, official: Official, *roles: Role) -> str:
    with cluster.stores["JPN"].unit_of_work() as uow:
        uow.put_official(OfficialRecord(official, frozenset(roles or {Role.READER})))
    return official.id


def _read_refused(cluster: Cluster, official_id: str, code: str) -> None:
    item_id = release_to_japan(cluster).item_id
    cluster.pump()
    watch = Watch(cluster.stores["JPN"])
    with pytest.raises((NodeAccessDeniedError, NodeForbiddenError)) as err:
        cluster.nodes["JPN"].read(official_id, item_id)
    record = watch.rejected(code, kind=AuditKind.READ)
    assert record.subject == item_id
    if isinstance(err.value, NodeAccessDeniedError):
        assert code in err.value.detail["reasons"]


def test_read_by_an_official_without_clearance(cluster: Cluster) -> None:
    who = Official("jpn-clerk-1", "JPN", None, frozenset({"NK-MISSILE"}), True, rank="colonel")
    _read_refused(cluster, _jpn_official(cluster, who), Code.NO_CLEARANCE)


def test_read_by_an_official_with_too_low_a_clearance(cluster: Cluster) -> None:
    who = Official("jpn-analyst-7", "JPN", "秘", frozenset({"NK-MISSILE"}), True, post="J2")
    _read_refused(cluster, _jpn_official(cluster, who), Code.CLEARANCE_INSUFFICIENT)


def test_read_by_an_official_without_the_duty(cluster: Cluster) -> None:
    _read_refused(cluster, JPN_NO_DUTY, Code.NO_DUTY)


def test_read_by_an_official_not_in_the_register(cluster: Cluster) -> None:
    who = Official("jpn-analyst-8", "JPN", "極秘", frozenset({"NK-MISSILE"}), False)
    _read_refused(cluster, _jpn_official(cluster, who), Code.NOT_IN_REGISTER)


def test_read_by_an_official_of_another_nationality(cluster: Cluster) -> None:
    """A KOR liaison officer entered in JPN's directory: Art. 7 access is the holder's own
    officials' (visits are Art. 8); the node refuses before deciding access."""
    who = Official("kor-liaison-1", "KOR", "군사II급비밀", frozenset({"NK-MISSILE"}), True)
    _read_refused(cluster, _jpn_official(cluster, who), "NODE_FORBIDDEN")


def test_read_by_an_official_of_another_nationality_is_denied_by_art_7(cluster: Cluster) -> None:
    """The core's own rule, whatever the directory says (defence in depth)."""
    result = release_to_japan(cluster)
    cluster.pump()
    with cluster.stores["JPN"].read() as jpn:
        held = jpn.item(result.item_id)
    assert held is not None
    who = Official("kor-liaison-1", "KOR", "極秘", frozenset({"NK-MISSILE"}), True)
    decision = access(cluster.nodes["JPN"].registry, who, held.labels, "JPN", held.topic)
    assert not decision.allowed
    assert Code.NATIONALITY in decision.codes


def test_read_by_an_inactive_official(cluster: Cluster) -> None:
    with cluster.stores["JPN"].read() as jpn:
        reader = jpn.official("jpn-analyst-1")
    assert reader is not None
    with cluster.stores["JPN"].unit_of_work() as uow:
        uow.put_official(replace(reader, active=False))
    _read_refused(cluster, "jpn-analyst-1", "NODE_FORBIDDEN")


def test_consent_decided_by_an_official_without_the_role(cluster: Cluster) -> None:
    """A release officer of the originator may not grant Art. 6 consent (security officers do)."""
    item_id = release_to_japan(cluster).item_id
    cluster.pump()
    request = cluster.nodes["JPN"].request_consent(JPN_RELEASER, item_id, "USA", PURPOSE)
    cluster.pump()
    watch = Watch(cluster.stores["KOR"])
    with pytest.raises(NodeForbiddenError):
        cluster.nodes["KOR"].decide_consent(RELEASER, request.request_id, True)
    watch.rejected("NODE_FORBIDDEN")


def test_garbage_frame_on_the_channel(cluster: Cluster) -> None:
    """A partner node (or a bug in one) sends bytes that are no frame at all."""
    watch = Watch(cluster.stores["JPN"])
    for n, junk in enumerate((b"", b"\x00", b"\x0areserved", b"\x01\x40" + b"A" * 70)):
        send_raw(cluster, "KOR", "JPN", junk, key=f"junk-{n}")
    summary = cluster.nodes["JPN"].receive()
    assert summary.rejected == 4
    watch.rejected("NODE_FRAME_INVALID", kind=AuditKind.REJECT)
    assert len(watch.new_records()) == 4
