"""Release decisions (Arts. 4, 6, 21) on the built-in agreements."""

from __future__ import annotations

import pytest

from gsomia.agreements import Event, EventKind
from gsomia.catalog import with_events
from gsomia.policy import Code, release
from tests.conftest import at, make_label

NOW = at("2026-11-23T12:00:00+09:00")


def terminated_kor_jpn(registry):
    """What-if: JPN gives notice on 1 Jan 2024, so the agreement ends 23 Nov 2024."""
    notice = Event(
        EventKind.NOTICE_GIVEN, at("2024-01-01T00:00:00+09:00"), by="JPN", hypothetical=True
    )
    return with_events(registry, "kor-jpn-gsomia-2016", [notice])


@pytest.mark.parametrize(
    ("sender", "recipient", "level", "equivalent"),
    [
        ("KOR", "JPN", "군사II급비밀", "極秘"),
        ("KOR", "JPN", "군사III급비밀", "秘"),
        ("KOR", "JPN", "군사2급비밀", "極秘"),  # an alias is resolved to the native level
        ("JPN", "KOR", "特定秘密", "군사II급비밀"),
        ("JPN", "KOR", "極秘", "군사II급비밀"),
        ("JPN", "KOR", "秘", "군사III급비밀"),
        ("KOR", "USA", "군사I급비밀", "TOP SECRET"),
        ("USA", "JPN", "SECRET", "極秘"),
    ],
)
def test_direct_release_marks_the_equivalent(registry, sender, recipient, level, equivalent):
    label = make_label(level=level, originator=sender)
    decision = release(registry, label, sender, recipient, "NK-MISSILE", NOW)
    assert decision.allowed, decision.reasons
    assert decision.path == (sender, recipient)
    assert decision.markings[-1].level == equivalent
    assert decision.codes == (Code.RELEASE_ALLOWED,)
    assert decision.agreement is not None
    assert decision.table_version == 1


def test_bilateral_is_preferred_to_the_hub(registry):
    decision = release(registry, make_label(), "KOR", "USA", "NK-MISSILE", NOW)
    assert decision.agreement == "usa-kor-gsomia-1987"


@pytest.mark.parametrize("level", ["군사I급비밀", "군사1급비밀"])
def test_rok_top_secret_can_never_go_to_japan(registry, level):
    for instant in ("2017-01-01T00:00Z", "2021-01-01T00:00Z", "2026-11-23T00:00Z"):
        decision = release(
            registry, make_label(level=level), "KOR", "JPN", "NK-MISSILE", at(instant)
        )
        assert not decision.allowed
        assert Code.LEVEL_NOT_COVERED in decision.codes


def test_japanese_top_secret_has_no_korean_equivalent(registry):
    label = make_label(level="機密", originator="JPN")
    decision = release(registry, label, "JPN", "KOR", "NK-MISSILE", NOW)
    assert not decision.allowed
    assert Code.LEVEL_NOT_COVERED in decision.codes


@pytest.mark.parametrize(
    ("instant", "state"),
    [
        ("2019-09-01T00:00:00+09:00", "notice period"),
        ("2019-11-22T20:00:00+09:00", "suspended notice"),
        ("2022-01-01T00:00:00+09:00", "suspended notice"),
    ],
)
def test_release_during_notice_and_suspension_is_allowed(registry, instant, state):
    label = make_label(topics=("MARITIME-SECURITY",))
    decision = release(registry, label, "KOR", "JPN", "MARITIME-SECURITY", at(instant))
    assert decision.allowed, state
    assert decision.path == ("KOR", "JPN")


def test_before_the_agreement_nk_missile_goes_through_the_tisa_hub(registry):
    decision = release(registry, make_label(), "KOR", "JPN", "NK-MISSILE", at("2015-06-01T00:00Z"))
    assert decision.allowed
    assert decision.path == ("KOR", "USA", "JPN")
    assert decision.agreement == "tisa-2014"
    assert [m.level for m in decision.markings] == ["군사II급비밀", "SECRET", "極秘"]
    assert Code.VIA_HUB in decision.codes


def test_after_termination_direct_is_denied_and_hub_takes_nk_topics(registry):
    reg = terminated_kor_jpn(registry)
    missile = release(reg, make_label(), "KOR", "JPN", "NK-MISSILE", NOW)
    assert missile.allowed
    assert missile.path == ("KOR", "USA", "JPN")
    other = make_label(topics=("MARITIME-SECURITY",))
    maritime = release(reg, other, "KOR", "JPN", "MARITIME-SECURITY", NOW)
    assert not maritime.allowed
    assert Code.AGREEMENT_TERMINATED in maritime.codes
    assert Code.TOPIC_OUT_OF_SCOPE in maritime.codes


def test_hub_path_needs_the_hub_in_releasable_to(registry):
    reg = terminated_kor_jpn(registry)
    label = make_label(rel_to=("KOR", "JPN"))
    decision = release(reg, label, "KOR", "JPN", "NK-MISSILE", NOW)
    assert not decision.allowed
    assert Code.NOT_RELEASABLE_TO in decision.codes


@pytest.mark.parametrize(
    ("kwargs", "sender", "recipient", "topic", "code"),
    [
        ({}, "KOR", "XYZ", "NK-MISSILE", Code.UNKNOWN_PARTY),
        ({"originator": "XYZ", "rel_to": ("JPN",)}, "XYZ", "JPN", "NK-MISSILE", Code.UNKNOWN_PARTY),
        ({"level": "SECRET"}, "KOR", "JPN", "NK-MISSILE", Code.UNKNOWN_LEVEL),
        ({"topics": ()}, "KOR", "JPN", "NK-SPACE", Code.UNKNOWN_TOPIC),
        ({}, "KOR", "JPN", "NK-NUCLEAR", Code.TOPIC_NOT_ON_LABEL),
        ({"rel_to": ("KOR", "USA")}, "KOR", "JPN", "NK-MISSILE", Code.NOT_RELEASABLE_TO),
        ({"originator": "JPN", "level": "極秘"}, "KOR", "USA", "NK-MISSILE", Code.NOT_ORIGINATOR),
        (
            {"policy_id": "NATO", "level": "NATO SECRET"},
            "KOR",
            "JPN",
            "NK-MISSILE",
            Code.LABEL_POLICY_MISMATCH,
        ),
        ({}, "KOR", "KOR", "NK-MISSILE", Code.SAME_PARTY),
    ],
)
def test_denials_carry_a_stable_code(registry, kwargs, sender, recipient, topic, code):
    decision = release(registry, make_label(**kwargs), sender, recipient, topic, NOW)
    assert not decision.allowed
    assert code in decision.codes
    assert decision.path == ()


def test_before_signature_of_anything_there_is_no_path(registry):
    decision = release(registry, make_label(), "KOR", "JPN", "NK-MISSILE", at("2010-01-01T00:00Z"))
    assert not decision.allowed
    assert set(decision.codes) == {Code.AGREEMENT_NOT_IN_FORCE}


def test_decision_serialises_with_codes(registry):
    data = release(registry, make_label(), "KOR", "JPN", "NK-MISSILE", NOW).to_dict()
    assert data["allowed"] is True
    assert data["path"] == ["KOR", "JPN"]
    assert data["reasons"][0]["code"] == "RELEASE_ALLOWED"
    assert data["reasons"][0]["cite"] == "Art. 4"
