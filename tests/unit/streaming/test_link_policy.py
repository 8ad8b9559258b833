"""The decisions a partner link makes (Arts. 4, 6; TISA): what of our track goes on a partner's
link and which relays it asks, what a hub relays, what a receiver takes; failing closed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsomia.errors import TrackError
from gsomia.labels import LabelSet
from gsomia.node import Node
from gsomia.proofs import verify_consent
from gsomia.streaming.lens import held_labels
from gsomia.streaming.link import decode_track, encode_track
from gsomia.streaming.link_policy import (
    APPROVAL_VALIDITY,
    Approvals,
    LinkPolicy,
    issue_standing,
    stream_digest,
    stream_item_id,
)
from gsomia.streaming.link_settings import LinkPartner, LinkSettings
from gsomia.tracks.simulate import KOR_SENSOR, Scenario, simulate
from tests.conftest import make_label
from tests.unit.node.cluster import NOW, TISA_ERA, build

ALL = ("KOR", "JPN", "USA")


def policy(node: Node, via: dict[str, str] | None = None) -> LinkPolicy:
    partners = tuple(
        LinkPartner(p, None, (via or {}).get(p)) for p in ALL if p != node.party
    )  # fmt: skip
    return LinkPolicy(node, LinkSettings(None, partners), Approvals())


def label(rel_to: tuple[str, ...] = ALL, originator: str = "KOR"):  # type: ignore[no-untyped-def]
    return make_label(rel_to=rel_to, originator=originator, created="2015-01-01T00:00:00+00:00")


def test_today_a_kor_track_goes_directly_to_jpn_and_asks_no_relay() -> None:
    kor = build().nodes["KOR"]
    out = policy(kor).outgoing(label(), "JPN", NOW)
    assert out is not None
    assert out.relay_to == ()
    usa = policy(kor).outgoing(label(), "USA", NOW)
    assert usa is not None
    assert usa.relay_to == ()  # JPN is reached directly, not through the hub


def test_in_2015_the_track_goes_to_the_usa_asking_it_to_relay_to_jpn() -> None:
    kor = build(start=TISA_ERA).nodes["KOR"]
    assert policy(kor).outgoing(label(), "JPN", TISA_ERA) is None
    out = policy(kor).outgoing(label(), "USA", TISA_ERA)
    assert out is not None
    assert out.relay_to == ("JPN",)


def test_a_forced_hub_route_replaces_the_direct_one() -> None:
    kor = build().nodes["KOR"]
    forced = policy(kor, via={"JPN": "USA"})
    assert forced.outgoing(label(), "JPN", NOW) is None
    out = forced.outgoing(label(), "USA", NOW)
    assert out is not None
    assert out.relay_to == ("JPN",)


CLUSTERS = {when: build(start=when) for when in (NOW, TISA_ERA)}


@given(
    st.sampled_from([NOW, TISA_ERA]),
    st.sets(st.sampled_from(["JPN", "USA"])),
    st.sampled_from([None, "USA", "JPN"]),
)
def test_a_track_never_goes_towards_a_party_not_releasable_to(
    when: datetime, others: set[str], hub_for_jpn: str | None
) -> None:
    """Fail closed: whatever the era and routing, no link carries the track to, or asks a
    relay to, a party outside its Releasable To (Art. 6)."""
    kor = CLUSTERS[when].nodes["KOR"]
    via = {"JPN": hub_for_jpn} if hub_for_jpn not in (None, "JPN") else None
    decide = policy(kor, via=via)
    rel_to = ("KOR", *sorted(others))
    for peer in ("JPN", "USA"):
        out = decide.outgoing(label(rel_to), peer, when)
        if peer not in rel_to:
            assert out is None
        if out is not None:
            assert set(out.relay_to) <= set(rel_to)


def test_nothing_goes_when_the_label_has_two_topics_or_is_not_ours() -> None:
    kor = build().nodes["KOR"]
    two = make_label(topics=("NK-MISSILE", "NK-NUCLEAR"), created="2015-01-01T00:00:00+00:00")
    assert policy(kor).outgoing(two, "JPN", NOW) is None
    assert policy(kor).outgoing(label(originator="JPN"), "USA", NOW) is None


def test_the_hub_relays_only_with_a_standing_approval_of_the_originator() -> None:
    cluster = build(start=TISA_ERA)
    usa, kor = cluster.nodes["USA"], cluster.nodes["KOR"]
    hub = policy(usa)
    assert hub.relayed(label(), "JPN", TISA_ERA) is None  # no approval held
    token = issue_standing(kor._ctx.keys, "USA", "JPN", "NK-MISSILE", TISA_ERA)
    consent = verify_consent(token, usa._ctx.trust, TISA_ERA)
    assert hub.approvals.keep(consent, token) == "NK-MISSILE"
    relayed = hub.relayed(label(), "JPN", TISA_ERA)
    assert relayed is not None
    out, carried = relayed
    assert carried == token
    marking = out.labels.marking_for("USA")
    assert marking == ("USA", "SECRET")  # re-marked at the US equivalent (Art. 4)
    later = TISA_ERA + APPROVAL_VALIDITY + timedelta(seconds=1)
    assert hub.relayed(label(), "JPN", later) is None  # the approval lapsed


def test_an_approval_for_another_third_party_or_topic_does_not_serve() -> None:
    cluster = build(start=TISA_ERA)
    usa, kor = cluster.nodes["USA"], cluster.nodes["KOR"]
    hub = policy(usa)
    for third, topic in (("USA", "NK-MISSILE"), ("JPN", "NK-NUCLEAR")):
        token = issue_standing(kor._ctx.keys, "USA", third, topic, TISA_ERA)
        hub.approvals.keep(verify_consent(token, usa._ctx.trust, TISA_ERA), token)
    assert hub.relayed(label(), "JPN", TISA_ERA) is None


def test_jpn_takes_a_relayed_track_only_with_the_approval_that_travelled_with_it() -> None:
    cluster = build(start=TISA_ERA)
    usa, kor, jpn = cluster.nodes["USA"], cluster.nodes["KOR"], cluster.nodes["JPN"]
    hub, receiver = policy(usa), policy(jpn)
    token = issue_standing(kor._ctx.keys, "USA", "JPN", "NK-MISSILE", TISA_ERA)
    hub.approvals.keep(verify_consent(token, usa._ctx.trust, TISA_ERA), token)
    relayed = hub.relayed(label(), "JPN", TISA_ERA)
    assert relayed is not None
    labels = relayed[0].labels
    refused = receiver.incoming(labels, "USA", TISA_ERA)
    assert not refused.allowed
    assert "CONSENT_MISSING" in refused.codes
    receiver.approvals.keep(verify_consent(token, jpn._ctx.trust, TISA_ERA), token)
    taken = receiver.incoming(labels, "USA", TISA_ERA)
    assert taken.allowed
    assert taken.path == ("KOR", "USA", "JPN")


def test_a_receiver_refuses_what_the_sender_may_not_give_it() -> None:
    jpn = build().nodes["JPN"]
    receiver = policy(jpn)
    assert receiver.incoming(LabelSet(label()), "KOR", NOW).allowed
    not_for_us = receiver.incoming(LabelSet(label(("KOR", "USA"))), "KOR", NOW)
    assert "NOT_RELEASABLE_TO" in not_for_us.codes
    assert not receiver.incoming(LabelSet(label()), "USA", NOW).allowed  # no forward consent
    assert not receiver.incoming(LabelSet(label(originator="JPN")), "KOR", NOW).allowed


def test_a_stream_approval_names_the_stream() -> None:
    assert stream_item_id("KOR", "NK-MISSILE") == "tracks:KOR:NK-MISSILE"
    assert stream_digest("KOR", "NK-MISSILE") != stream_digest("KOR", "NK-NUCLEAR")
    assert len(stream_digest("KOR", "NK-MISSILE")) == 64


@pytest.mark.parametrize("relay_to", [(), ("JPN",)])
def test_a_track_frame_round_trips(relay_to: tuple[str, ...]) -> None:
    message = next(simulate(Scenario(NOW, rate_hz=1.0, sensors=(KOR_SENSOR,))))
    usa = build().nodes["USA"]
    labels = held_labels(usa, message.label, "NK-MISSILE", NOW)
    assert labels is not None
    for sent in (LabelSet(message.label), labels):
        decoded = decode_track(encode_track(message, sent, relay_to))
        assert decoded == (message, sent, frozenset(relay_to))


@pytest.mark.parametrize(
    "payload",
    [b"", b"{}", b"[]\n{}", b'{"alt": 1}\n{}', b'{"via": ["JAPAN"]}\n{}', b"{}\nnot json",
     b'{"x": 1}\n{}', b'{}\n{"seq": 1, "seq": 2}', b'{}\n{"ce": NaN}', b"{}\n\xff\xfe",
     b'{"via": [], "via": []}\n{}', b"{}\n" + b"[" * 100_000, b"{}\n" + b" " * 20_000],
)  # fmt: skip
def test_a_malformed_track_frame_is_refused_with_a_code(payload: bytes) -> None:
    with pytest.raises(TrackError) as caught:
        decode_track(payload)
    assert caught.value.code.startswith("TRACK_")
