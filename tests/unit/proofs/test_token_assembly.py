"""A token is assembled and taken apart without encoding it twice, byte for byte as RFC 8785.

:func:`gsomia.proofs._token.issue` inserts the ``sig`` member into the canonical bytes it signed,
and :func:`~gsomia.proofs._token.open_token` takes it out again to get the bytes to verify: both
must give exactly what encoding the whole object with the reference ``rfc8785`` package gives,
for every token type, or a token could be accepted or refused by its spelling.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.proofs import (
    issue_consent,
    issue_receipt,
    issue_revocation,
    verify_consent,
    verify_receipt,
)
from gsomia.proofs._token import _without_sig
from tests.unit.proofs.conftest import NOW
from tests.unit.proofs.test_tokens import consent, receipt


def _tokens(kor: NodeKeys, jpn: NodeKeys) -> list[bytes]:
    return [
        issue_consent(consent(purpose='missile "defence" \\ 방어 ☃'), kor),
        issue_receipt(receipt(), jpn),
        issue_revocation("c-1", kor, NOW),
    ]


def test_issued_tokens_are_the_reference_encoding(kor: NodeKeys, jpn: NodeKeys) -> None:
    for token in _tokens(kor, jpn):
        obj: dict[str, Any] = json.loads(token)
        assert token == bytes(rfc8785.dumps(obj))
        unsigned = bytes(rfc8785.dumps({k: v for k, v in obj.items() if k != "sig"}))
        assert _without_sig(token, obj) == unsigned


def test_assembled_tokens_verify(kor: NodeKeys, jpn: NodeKeys, trust: TrustStore) -> None:
    consent_token, receipt_token, _ = _tokens(kor, jpn)
    assert verify_consent(consent_token, trust, NOW).purpose.startswith("missile")
    assert verify_receipt(receipt_token, trust, NOW) == receipt()
