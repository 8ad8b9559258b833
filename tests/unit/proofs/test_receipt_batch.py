"""Batch receipts (gsomia-receipts/1, ADR 0011): one signature covers N items; any alteration,
truncation, reordering or foreign signer refuses the whole token."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.audit.checkpoint import Checkpoint
from gsomia.audit.merkle import MerkleTree
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.proofs.errors import TokenError, TokenInputError
from gsomia.proofs.receipt_batch import (
    BatchHead,
    ReceiptEntry,
    is_batch_receipt,
    issue_receipts,
    verify_receipts,
)
from tests.unit.proofs.conftest import NOW


def _entries(n: int, refused: frozenset[int] = frozenset()) -> list[ReceiptEntry]:
    out = []
    for i in range(n):
        digest = hashlib.sha256(f"item {i}".encode()).hexdigest()
        if i in refused:
            out.append(ReceiptEntry(f"item-{i}", digest, False, i, codes=("AGREEMENT_TERMINATED",)))
        else:
            out.append(
                ReceiptEntry(
                    f"item-{i}", digest, True, i, "2급비밀", "GSOMIA", 3, purpose="early warning"
                )
            )
    return out


def _head(recipient: str = "JPN", sender: str = "KOR", size: int = 2000) -> BatchHead:
    return BatchHead(
        sender, recipient, NOW, "JP-CLASS", Checkpoint("gsomia.jpn/audit", size, bytes(32))
    )


def test_round_trip_full_and_extracts(jpn: NodeKeys, trust: TrustStore) -> None:
    entries = _entries(7, frozenset({3}))
    issued = issue_receipts(_head(), entries, jpn)
    assert is_batch_receipt(issued.token)
    verified = verify_receipts(issued.token, trust, NOW)
    assert [e for e, _ in verified.entries] == entries
    assert verified.head == _head()
    assert [x for _, x in verified.entries] == list(issued.extracts)
    for i, extract in enumerate(issued.extracts):  # each item's evidence stands alone
        alone = verify_receipts(extract, trust, NOW)
        assert [e for e, _ in alone.entries] == [entries[i]]
    assert not verified.entries[3][0].accepted
    assert verified.entries[3][0].codes == ("AGREEMENT_TERMINATED",)


def test_one_signature_covers_every_entry(jpn: NodeKeys, trust: TrustStore) -> None:
    issued = issue_receipts(_head(), _entries(100), jpn)
    signature_lines = {x.split(b"\n")[2] for x in issued.extracts}
    assert len(signature_lines) == 1
    assert issued.token.count(b"\n") == 2 + 100


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), data=st.data())
def test_extract_proofs_match_rfc9162(n: int, data: st.DataObject, jpn: NodeKeys) -> None:
    entries = _entries(n)
    issued = issue_receipts(_head(), entries, jpn)
    tree = MerkleTree.from_entries([e.line() for e in entries])
    i = data.draw(st.integers(0, n - 1))
    proof_line = issued.extracts[i].split(b"\n")[3].decode()
    proof = [p for p in proof_line.split(" ", 1)[1].split(",") if p]
    assert proof == [h.hex() for h in tree.inclusion_proof(i, n)]


def _fails(token: bytes, trust: TrustStore, code: str) -> None:
    with pytest.raises(TokenError) as info:
        verify_receipts(token, trust, NOW)
    assert info.value.code == code


def test_truncated_reordered_and_altered_tokens_are_refused(
    jpn: NodeKeys, trust: TrustStore
) -> None:
    token = issue_receipts(_head(), _entries(5), jpn).token
    lines = token.split(b"\n")
    _fails(b"\n".join(lines[:-1]), trust, "TOKEN_MALFORMED")  # an entry dropped
    _fails(b"\n".join([*lines[:3], lines[4], lines[3], *lines[5:]]), trust, "TOKEN_MALFORMED")
    altered = lines[3].replace(b'"accepted"', b'"refused"')
    _fails(b"\n".join([*lines[:3], altered, *lines[4:]]), trust, "TOKEN_MALFORMED")
    other = _entries(6)[5].line()  # a well-formed entry the receiver never signed
    _fails(b"\n".join([*lines[:3], other, *lines[4:]]), trust, "TOKEN_MALFORMED")
    _fails(token[:-1], trust, "TOKEN_MALFORMED")
    _fails(token + b"\n", trust, "TOKEN_MALFORMED")
    _fails(b"gsomia-receipt/1" + token[17:], trust, "TOKEN_MALFORMED")


def test_forged_signature_and_head(jpn: NodeKeys, trust: TrustStore) -> None:
    token = issue_receipts(_head(), _entries(3), jpn).token
    lines = token.split(b"\n")
    kid, sig = lines[2].split(b" ")
    forged = sig[:10] + (b"A" if sig[10:11] != b"A" else b"B") + sig[11:]
    _fails(b"\n".join([lines[0], lines[1], kid + b" " + forged, *lines[3:]]), trust,
           "TOKEN_SIGNATURE_INVALID")  # fmt: skip
    head = lines[1].replace(b'"sender":"KOR"', b'"sender":"USA"')
    _fails(b"\n".join([lines[0], head, *lines[2:]]), trust, "TOKEN_SIGNATURE_INVALID")
    spaced = lines[1].replace(b'"count":3', b'"count": 3')
    _fails(b"\n".join([lines[0], spaced, *lines[2:]]), trust, "TOKEN_MALFORMED")


def test_signer_must_be_the_recipient(kor: NodeKeys, trust: TrustStore) -> None:
    with pytest.raises(TokenInputError):  # we never sign a receipt in another party's name
        issue_receipts(_head(recipient="JPN"), _entries(1), kor)
    token = issue_receipts(_head(recipient="KOR", sender="JPN"), _entries(2), kor).token
    lines = token.split(b"\n")
    head = lines[1].replace(b'"recipient":"KOR"', b'"recipient":"JPN"')
    _fails(b"\n".join([lines[0], head, *lines[2:]]), trust, "TOKEN_SIGNATURE_INVALID")


def test_unknown_key_and_future(jpn: NodeKeys) -> None:
    token = issue_receipts(_head(), _entries(2), jpn).token
    _fails(token, TrustStore(), "TOKEN_UNKNOWN_KEY")
    trust = jpn.trust_self(TrustStore())
    with pytest.raises(TokenError) as info:
        verify_receipts(token, trust, NOW - timedelta(hours=1))
    assert info.value.code == "TOKEN_FROM_FUTURE"


def test_entries_that_cannot_be_signed(jpn: NodeKeys) -> None:
    digest = "0" * 64
    for bad in (
        ReceiptEntry("item-1", digest, False, 1),  # a refusal without a code
        ReceiptEntry("item 1", digest, True, 1, "m", "a", 1, purpose="p"),
        ReceiptEntry("item-1", "ABC", True, 1, "m", "a", 1, purpose="p"),
        ReceiptEntry("item-1", digest, True, -1, "m", "a", 1, purpose="p"),
        ReceiptEntry("item-1", digest, True, 1, None, "a", 1, purpose="p"),
        ReceiptEntry("item-1", digest, True, 1, "m", "a", 0, purpose="p"),
        ReceiptEntry("item-1", digest, True, 1, "m", "a", 1),  # no purpose (Art. 7)
        ReceiptEntry("item-1", digest, True, 1, "m", "a", 1, purpose="a\nb"),
    ):
        with pytest.raises(TokenInputError):
            issue_receipts(_head(), [bad], jpn)
    with pytest.raises(TokenInputError):
        issue_receipts(_head(), [], jpn)


def test_an_item_named_twice_is_refused(jpn: NodeKeys, trust: TrustStore) -> None:
    entry = _entries(1)[0]
    token = issue_receipts(_head(), [entry, entry], jpn).token
    _fails(token, trust, "TOKEN_MALFORMED")


def test_log_index_must_be_inside_the_checkpoint(jpn: NodeKeys, trust: TrustStore) -> None:
    token = issue_receipts(_head(size=2), _entries(3), jpn).token  # index 2 is not below size 2
    _fails(token, trust, "TOKEN_MALFORMED")
