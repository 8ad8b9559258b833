"""Relay (TISA), forward with consent (Art. 6), accept (Art. 4) and access (Art. 7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.labels import AlternativeLabel, LabelSet
from gsomia.policy import Code, Consent, ConsentKind, Official, accept, access, forward, relay
from tests.conftest import at, make_label

NOW = at("2026-11-23T12:00:00+09:00")
ITEM = "item-1"
DIGEST = "ab" * 32


def held_by(
    party: str,
    level: str,
    agreement: str,
    originator_level: str = "군사II급비밀",
    topics: tuple[str, ...] = ("NK-MISSILE",),
) -> LabelSet:
    label = make_label(level=originator_level, topics=topics)
    alt = AlternativeLabel(party, level, "KOR", party, agreement, 1, NOW)
    return LabelSet(label, (alt,))


def consent(
    kind=ConsentKind.FORWARD, holder="JPN", third="USA", purpose="missile defence", **overrides
) -> Consent:
    values = {
        "kind": kind,
        "consent_id": "c-1",
        "item_id": ITEM,
        "item_digest": DIGEST,
        "originator": "KOR",
        "holder": holder,
        "third_party": third,
        "purpose": purpose,
        "issued": NOW - timedelta(days=1),
        "expires": NOW + timedelta(days=30),
    }
    values.update(overrides)
    return Consent(**values)


class TestRelay:
    def labels(self):
        return held_by("USA", "SECRET", "tisa-2014")

    def test_hub_relays_with_the_originators_approval(self, registry):
        d = relay(
            registry,
            self.labels(),
            item_id=ITEM,
            item_digest=DIGEST,
            hub="USA",
            recipient="JPN",
            topic="NK-MISSILE",
            approval=consent(ConsentKind.HUB_APPROVAL, holder="USA", third="JPN"),
            at=NOW,
        )
        assert d.allowed, d.reasons
        assert d.path == ("KOR", "USA", "JPN")
        assert [m.level for m in d.markings] == ["군사II급비밀", "SECRET", "極秘"]

    @pytest.mark.parametrize(
        ("approval", "code"),
        [
            (None, Code.CONSENT_MISSING),
            (consent(ConsentKind.FORWARD, holder="USA", third="JPN"), Code.CONSENT_WRONG_KIND),
            (
                consent(ConsentKind.HUB_APPROVAL, holder="USA", third="KOR"),
                Code.CONSENT_OTHER_PARTY,
            ),
            (
                consent(ConsentKind.HUB_APPROVAL, holder="USA", third="JPN", item_id="other"),
                Code.CONSENT_OTHER_ITEM,
            ),
            (
                consent(ConsentKind.HUB_APPROVAL, holder="USA", third="JPN", expires=NOW),
                Code.CONSENT_EXPIRED,
            ),
            (
                consent(
                    ConsentKind.HUB_APPROVAL,
                    holder="USA",
                    third="JPN",
                    revoked_at=NOW - timedelta(hours=1),
                ),
                Code.CONSENT_REVOKED,
            ),
            (
                consent(
                    ConsentKind.HUB_APPROVAL,
                    holder="USA",
                    third="JPN",
                    issued=NOW + timedelta(hours=1),
                ),
                Code.CONSENT_NOT_YET_VALID,
            ),
        ],
    )
    def test_relay_without_a_matching_approval_is_denied(self, registry, approval, code):
        d = relay(
            registry,
            self.labels(),
            item_id=ITEM,
            item_digest=DIGEST,
            hub="USA",
            recipient="JPN",
            topic="NK-MISSILE",
            approval=approval,
            at=NOW,
        )
        assert not d.allowed
        assert code in d.codes

    def test_relay_outside_the_arrangements_scope_is_denied(self, registry):
        labels = held_by("USA", "SECRET", "tisa-2014", topics=("MARITIME-SECURITY",))
        d = relay(
            registry,
            labels,
            item_id=ITEM,
            item_digest=DIGEST,
            hub="USA",
            recipient="JPN",
            topic="MARITIME-SECURITY",
            approval=consent(ConsentKind.HUB_APPROVAL, holder="USA", third="JPN"),
            at=NOW,
        )
        assert not d.allowed
        assert Code.TOPIC_OUT_OF_SCOPE in d.codes

    def test_only_the_hub_relays(self, registry):
        labels = held_by("JPN", "極秘", "kor-jpn-gsomia-2016")
        d = relay(
            registry,
            labels,
            item_id=ITEM,
            item_digest=DIGEST,
            hub="JPN",
            recipient="USA",
            topic="NK-MISSILE",
            approval=consent(ConsentKind.HUB_APPROVAL, holder="JPN", third="USA"),
            at=NOW,
        )
        assert not d.allowed
        assert Code.NOT_A_HUB in d.codes


class TestForward:
    def labels(self):
        return held_by("JPN", "極秘", "kor-jpn-gsomia-2016")

    def test_forward_with_consent_is_allowed_and_remarked(self, registry):
        d = forward(
            registry,
            self.labels(),
            item_id=ITEM,
            item_digest=DIGEST,
            holder="JPN",
            third_party="USA",
            topic="NK-MISSILE",
            purpose="missile defence",
            consent=consent(),
            at=NOW,
        )
        assert d.allowed, d.reasons
        assert d.agreement == "usa-jpn-gsomia-2007"
        assert [m.level for m in d.markings] == ["極秘", "SECRET"]

    @pytest.mark.parametrize(
        ("given", "purpose", "code"),
        [
            (None, "missile defence", Code.CONSENT_MISSING),
            (consent(purpose="training"), "missile defence", Code.CONSENT_OTHER_PURPOSE),
            (consent(third="KOR"), "missile defence", Code.CONSENT_OTHER_PARTY),
            (consent(item_digest="cd" * 32), "missile defence", Code.CONSENT_OTHER_ITEM),
            (consent(ConsentKind.HUB_APPROVAL), "missile defence", Code.CONSENT_WRONG_KIND),
        ],
    )
    def test_forward_without_matching_consent_is_denied(self, registry, given, purpose, code):
        d = forward(
            registry,
            self.labels(),
            item_id=ITEM,
            item_digest=DIGEST,
            holder="JPN",
            third_party="USA",
            topic="NK-MISSILE",
            purpose=purpose,
            consent=given,
            at=NOW,
        )
        assert not d.allowed
        assert code in d.codes

    def test_forward_back_to_the_originator_is_not_a_forward(self, registry):
        d = forward(
            registry,
            self.labels(),
            item_id=ITEM,
            item_digest=DIGEST,
            holder="JPN",
            third_party="KOR",
            topic="NK-MISSILE",
            purpose="missile defence",
            consent=consent(third="KOR"),
            at=NOW,
        )
        assert Code.FORWARD_TO_ORIGINATOR in d.codes

    def test_a_party_without_a_marking_cannot_forward(self, registry):
        labels = LabelSet(make_label())
        d = forward(
            registry,
            labels,
            item_id=ITEM,
            item_digest=DIGEST,
            holder="JPN",
            third_party="USA",
            topic="NK-MISSILE",
            purpose="missile defence",
            consent=consent(),
            at=NOW,
        )
        assert Code.NO_HOLDER_MARKING in d.codes


class TestAccept:
    def test_from_the_originator_gives_the_alternative_marking(self, registry):
        d = accept(
            registry,
            LabelSet(make_label()),
            item_id=ITEM,
            item_digest=DIGEST,
            sender="KOR",
            receiver="JPN",
            topic="NK-MISSILE",
            at=NOW,
        )
        assert d.allowed
        assert d.markings[-1].level == "極秘"

    def test_from_the_hub_needs_the_approval(self, registry):
        labels = held_by("USA", "SECRET", "tisa-2014")
        base = {
            "item_id": ITEM,
            "item_digest": DIGEST,
            "sender": "USA",
            "receiver": "JPN",
            "topic": "NK-MISSILE",
            "at": NOW,
        }
        assert not accept(registry, labels, **base).allowed
        ok = accept(
            registry,
            labels,
            **base,
            consent=consent(ConsentKind.HUB_APPROVAL, holder="USA", third="JPN"),
        )
        assert ok.allowed
        assert ok.path == ("KOR", "USA", "JPN")

    def test_from_a_holder_needs_the_consent(self, registry):
        labels = held_by("JPN", "極秘", "kor-jpn-gsomia-2016")
        base = {
            "item_id": ITEM,
            "item_digest": DIGEST,
            "sender": "JPN",
            "receiver": "USA",
            "topic": "NK-MISSILE",
            "at": NOW,
            "purpose": "missile defence",
        }
        assert not accept(registry, labels, **base).allowed
        assert accept(registry, labels, **base, consent=consent()).allowed


def official(**overrides) -> Official:
    values = {
        "id": "jp-analyst-1",
        "nationality": "JPN",
        "clearance": "極秘",
        "duties": frozenset({"NK-MISSILE"}),
        "in_register": True,
    }
    values.update(overrides)
    return Official(**values)


class TestAccess:
    labels = held_by("JPN", "極秘", "kor-jpn-gsomia-2016")

    def test_cleared_on_duty_registered_national_reads(self, registry):
        d = access(registry, official(), self.labels, "JPN")
        assert d.allowed
        assert d.markings[0].level == "極秘"

    def test_higher_clearance_reads_too(self, registry):
        assert access(registry, official(clearance="機密"), self.labels, "JPN").allowed

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"clearance": "秘"}, Code.CLEARANCE_INSUFFICIENT),
            ({"clearance": None}, Code.NO_CLEARANCE),
            ({"clearance": "SECRET"}, Code.UNKNOWN_LEVEL),
            ({"duties": frozenset({"NK-NUCLEAR"})}, Code.NO_DUTY),
            ({"in_register": False}, Code.NOT_IN_REGISTER),
            ({"nationality": "KOR", "clearance": "군사I급비밀"}, Code.NATIONALITY),
        ],
    )
    def test_each_missing_condition_denies(self, registry, overrides, code):
        d = access(registry, official(**overrides), self.labels, "JPN")
        assert not d.allowed
        assert code in d.codes

    def test_rank_or_clearance_alone_never_suffices(self, registry):
        general = official(
            clearance="機密", duties=frozenset(), rank="General", post="Chief of Staff"
        )
        d = access(registry, general, self.labels, "JPN")
        assert not d.allowed
        assert d.codes == (Code.NO_DUTY,)

    def test_specially_designated_secret_needs_more_than_gokuhi(self, registry):
        labels = held_by("JPN", "特定秘密", "kor-jpn-gsomia-2016")
        assert not access(registry, official(), labels, "JPN").allowed
        assert access(registry, official(clearance="特定秘密"), labels, "JPN").allowed

    def test_originator_reads_under_its_own_marking(self, registry):
        ko = official(id="kr-1", nationality="KOR", clearance="군사II급비밀")
        assert access(registry, ko, LabelSet(make_label()), "KOR").allowed
        low = official(id="kr-2", nationality="KOR", clearance="군사III급비밀")
        assert (
            Code.CLEARANCE_INSUFFICIENT
            in access(registry, low, LabelSet(make_label()), "KOR").codes
        )

    def test_party_without_a_marking_gives_no_access(self, registry):
        d = access(
            registry, official(nationality="USA", clearance="TOP SECRET"), self.labels, "USA"
        )
        assert Code.NO_HOLDER_MARKING in d.codes
