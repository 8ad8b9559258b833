"""Coverage-guided fuzz target for signed tokens (``gsomia.proofs``): consent and relay
approval, revocation, receipt and notice.

Each input is verified as every token type against a trust store holding KOR's and JPN's keys;
only :class:`~gsomia.proofs.TokenError` may come out, and a token that verifies is in its one
canonical spelling (RFC 8785).  Run with atheris (``bench/fuzz.sh``); the pytest runner is
``tests/fuzz/test_fuzz_parsers.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from gsomia import strictjson
from gsomia.audit.checkpoint import Checkpoint
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.labels import AlternativeLabel
from gsomia.policy import Consent, ConsentKind
from gsomia.proofs import (
    Assurance,
    Receipt,
    TokenError,
    issue_consent,
    issue_receipt,
    issue_revocation,
    verify_consent,
    verify_receipt,
    verify_revocation,
)
from gsomia.proofs.notices import Notice, NoticeKind, issue_notice, verify_notice
from tests.conftest import at

NOW = at("2026-11-23T12:00:00+09:00")
KOR = NodeKeys.generate("KOR", NOW - timedelta(days=1))
JPN = NodeKeys.generate("JPN", NOW - timedelta(days=1))
TRUST = TrustStore().add_bundle(KOR.public_bundle()).add_bundle(JPN.public_bundle())
VERIFY: tuple[Callable[..., object], ...] = (
    verify_consent, verify_receipt, verify_revocation, verify_notice,
)  # fmt: skip
SNIPPETS = [
    b'"typ":"gsomia-consent/1"', b'"typ":"gsomia-receipt/1"', b'"alg":"none"', b'"kid":"',
    b'"sig":"', b"\\u0000", b"\\ud800", b"12345678901234567890", b"1.5", b"null", b"[]",
    b'"issued":"2026-11-23T12:00:00Z"', b'"expires":"2999-01-01T00:00:00Z"', b" ",
]  # fmt: skip


def seeds() -> Iterable[bytes]:
    consent = Consent(
        ConsentKind.FORWARD, "c-1", "item-1", "ab" * 32, "KOR", "JPN", "USA",
        "joint assessment", NOW, NOW + timedelta(days=1), ("no further release",),
    )  # fmt: skip
    yield issue_consent(consent, KOR)
    yield issue_revocation("c-1", KOR, NOW)
    alternative = AlternativeLabel("JPN", "極秘", "KOR", "JPN", "kor-jpn-gsomia-2016", 1, NOW)
    receipt = Receipt(
        item_id="item-1", item_digest="cd" * 32, sender="KOR", recipient="JPN", received=NOW,
        alternative=alternative, log_index=3,
        checkpoint=Checkpoint("gsomia/jpn/audit", 4, b"\x22" * 32),
        assurance=Assurance("極秘", "early warning"),
    )  # fmt: skip
    yield issue_receipt(receipt, JPN)
    notice = Notice(
        NoticeKind.BREACH_REPORT, "n-1", "JPN", "KOR", NOW, "item-1",
        {"breach_id": "b-1", "breach_kind": "possible", "description": "a printout is missing",
         "reported_by": "jpn-analyst-1"},
    )  # fmt: skip
    yield issue_notice(notice, JPN)


def TestOneInput(data: bytes) -> None:
    """One input, as every token type: only TokenError escapes; what verifies is canonical."""
    for verify in VERIFY:
        try:
            verify(data, TRUST, NOW)
        except TokenError:
            continue
        assert strictjson.canonical(strictjson.loads(data, max_bytes=1 << 20)) == data


if __name__ == "__main__":
    from tests.fuzz._atheris import main

    main(TestOneInput, seeds)
