"""Coverage-guided fuzz target for batch receipts (``gsomia.proofs.receipt_batch``, ADR 0011).

Each input is verified against a trust store holding JPN's keys; only
:class:`~gsomia.proofs.TokenError` may come out, and a token that verifies names distinct items,
each with an extract that verifies alone to the same entry.  Run with atheris
(``bench/fuzz.sh``); the pytest runner is ``tests/fuzz/test_fuzz_parsers.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta

from gsomia.audit.checkpoint import Checkpoint
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.proofs import TokenError
from gsomia.proofs.receipt_batch import BatchHead, ReceiptEntry, issue_receipts, verify_receipts
from tests.conftest import at

NOW = at("2026-11-23T12:00:00+09:00")
JPN = NodeKeys.generate("JPN", NOW - timedelta(days=1))
TRUST = TrustStore().add_bundle(JPN.public_bundle())
SNIPPETS = [
    b"gsomia-receipts/1\n", b"\n", b"@0 ", b"@1 ", b",", b'"accepted"', b'"refused"', b"[]",
    b'"count":', b'"root":"', b"null", b"1.5", b"NaN", b"12345678901234567890", b"\\u0000",
    "極秘".encode(), b"\xc3", b" ",
]  # fmt: skip


def seeds() -> Iterable[bytes]:
    head = BatchHead("KOR", "JPN", NOW, "JP-CLASS", Checkpoint("gsomia/jpn/audit", 9, b"\x22" * 32))
    entries = [
        ReceiptEntry(
            f"item-{i}",
            hashlib.sha256(bytes([i])).hexdigest(),
            True,
            i,
            "極秘",
            "kor-jpn-gsomia-2016",
            1,
            purpose="early warning",
        )
        for i in range(3)
    ] + [ReceiptEntry("item-9", "ab" * 32, False, 8, codes=("AGREEMENT_TERMINATED",))]
    issued = issue_receipts(head, entries, JPN)
    yield issued.token
    yield from issued.extracts[:2]
    yield issue_receipts(head, entries[:1], JPN).token


def TestOneInput(data: bytes) -> None:
    """One input: only TokenError escapes; what verifies holds distinct, self-standing entries."""
    try:
        verified = verify_receipts(data, TRUST, NOW)
    except TokenError:
        return
    ids = [e.item_id for e, _ in verified.entries]
    assert len(set(ids)) == len(ids)
    for entry, extract in verified.entries:
        ((alone, _),) = verify_receipts(extract, TRUST, NOW).entries
        assert alone == entry


if __name__ == "__main__":
    from tests.fuzz._atheris import main

    main(TestOneInput, seeds)
