"""gsomia.proofs.notices: signed notices between nodes (Arts. 6, 8, 13, 17)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.proofs.errors import TokenError, TokenInputError
from gsomia.proofs.notices import Notice, NoticeKind, issue_notice, verify_notice
from gsomia.proofs.tokens import verify_consent
from tests.unit.proofs.conftest import NOW

FIELDS = {"seq": 1, "previous": "군사II급비밀", "level": "군사III급비밀"}


def notice(**changes: object) -> Notice:
    base: dict[str, object] = {
        "kind": NoticeKind.RECLASSIFICATION,
        "notice_id": "n-1",
        "issuer": "KOR",
        "recipient": "JPN",
        "issued": NOW,
        "subject": "item-1",
        "fields": FIELDS,
    }
    base.update(changes)
    return Notice(**base)  # type: ignore[arg-type]


def test_a_notice_round_trips_and_proves_its_issuer(kor: NodeKeys, trust: TrustStore) -> None:
    token = issue_notice(notice(), kor)
    assert verify_notice(token, trust, NOW) == notice()
    start = NOW + timedelta(days=1)
    visit = notice(
        kind=NoticeKind.VISIT_REQUEST,
        subject="visit-1",
        fields={
            "visitor_name": "KIM Min-jun", "visitor_nationality": "KOR",
            "visitor_clearance": "군사II급비밀", "purpose": "liaison", "start": start,
            "end": start + timedelta(days=1),
        },
    )  # fmt: skip
    assert verify_notice(issue_notice(visit, kor), trust, NOW).instant("end") > start


def test_a_notice_is_never_a_consent_nor_signed_for_another(
    kor: NodeKeys, jpn: NodeKeys, trust: TrustStore
) -> None:
    token = issue_notice(notice(), kor)
    with pytest.raises(TokenError) as as_consent:
        verify_consent(token, trust, NOW)
    assert as_consent.value.code == "TOKEN_MALFORMED"
    with pytest.raises(TokenInputError):  # JPN's keys do not sign KOR's statement
        issue_notice(notice(), jpn)
    altered = token.replace(b'"level":"', b'"level":"x', 1)
    with pytest.raises(TokenError) as tampered:
        verify_notice(altered, trust, NOW)
    assert tampered.value.code == "TOKEN_SIGNATURE_INVALID"


@pytest.mark.parametrize(
    "fields",
    [
        {"seq": 1, "previous": "a"},  # a required member missing
        {**FIELDS, "extra": "x"},  # a member the kind does not have
        {**FIELDS, "seq": 0},  # out of range
        {**FIELDS, "level": "\u0007"},  # a control character
    ],
)
def test_ill_formed_fields_are_not_signed(kor: NodeKeys, fields: dict[str, object]) -> None:
    with pytest.raises(TokenInputError):
        issue_notice(notice(fields=fields), kor)


def test_a_notice_to_oneself_is_refused(kor: NodeKeys) -> None:
    with pytest.raises(TokenInputError):
        issue_notice(notice(recipient="KOR"), kor)
