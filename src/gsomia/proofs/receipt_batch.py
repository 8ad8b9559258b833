"""Batch receipts: one Ed25519 signature for every item of a delivered batch (ADR 0011).

A receiving node answers the items one sender delivered in one run with ONE signed
``gsomia-receipts/1`` token that names, for each item, the SHA-256 of the sealed bytes it
received and its decision: ``accepted`` (with the Art. 4 marking it applied, the agreement and
the equivalence table version) or ``refused`` (with the reason codes: a *negative receipt*, which
ends the sender's retries of that item).  Each entry also quotes the index of the receiver's
audit record of that decision, and the head quotes the receiver's audit checkpoint that includes
them all, so audit checkpoints keep riding on receipts (PRODUCT.md §8).

Format (UTF-8 text, lines joined by ``\\n``, no final newline; docs/wire-format.md §13)::

    gsomia-receipts/1
    <head: canonical JSON object, sorted keys, no spaces>
    <kid> <signature: base64url without padding of 64 bytes>
    then EITHER the full form:  count entry lines, in order
    OR the extract form:        one or more pairs of lines
                                "@<index> <proof: comma-separated hex hashes, possibly empty>"
                                <entry line>

Head members: ``checkpoint`` (``origin``, ``size``, ``root`` hex), ``count``, ``issued``
(instant), ``policy_id`` (the receiver's marking scheme), ``recipient`` (the receiving party, the
signer), ``root`` (hex RFC 9162 Merkle root of the entry lines) and ``sender``.  An entry line is a
JSON array: ``[item_id, digest_hex, "accepted", log_index, marking, agreement, table_version,
purpose]`` (``table_version`` an integer; ``purpose`` the Art. 7 official purpose)
or ``[item_id, digest_hex, "refused", log_index, [code, ...]]``.

The signature covers ``SigningContext.RECEIPTS`` prefix || head; the head's ``root`` is the RFC
9162 §2.1.1 tree hash over the entry lines (leaf = the line's exact bytes), so one signature
covers every entry, and any entry stands alone with its inclusion proof (RFC 9162 §2.1.3): the
*extract* of one item, which both nodes store as that item's receipt, and which a receiver sends
again when the item is delivered again.  Truncating, reordering or altering any entry changes the
root: the token is refused whole and settles nothing.

Errors: :class:`~gsomia.proofs.errors.TokenError` with the codes of :mod:`gsomia.proofs.errors`
(``TOKEN_TOO_LARGE``, ``TOKEN_MALFORMED``, ``TOKEN_UNKNOWN_KEY``, ``TOKEN_KEY_NOT_VALID``,
``TOKEN_SIGNATURE_INVALID``, ``TOKEN_SIGNER_MISMATCH``, ``TOKEN_FROM_FUTURE``), checked in that
order.  Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from gsomia.audit.checkpoint import Checkpoint
from gsomia.audit.merkle import MerkleTree, verify_inclusion
from gsomia.envelope import signing
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import InputError
from gsomia.instants import format_instant, parse_instant, require_aware
from gsomia.proofs.errors import TokenError, TokenInputError

__all__ = [
    "MAX_ENTRIES",
    "MAX_RECEIPTS_BYTES",
    "TYP",
    "BatchHead",
    "IssuedReceipts",
    "ReceiptEntry",
    "VerifiedReceipts",
    "is_batch_receipt",
    "issue_receipts",
    "verify_receipts",
]

TYP: Final = "gsomia-receipts/1"
#: Most entries one token names (a run of the receiver's pump holds at most 256 messages).
MAX_ENTRIES: Final = 1024
#: Longest token accepted (about 300 bytes per full entry).
MAX_RECEIPTS_BYTES: Final = 1024 * 1024
DEFAULT_MAX_SKEW: Final = timedelta(minutes=5)
ACCEPTED: Final = "accepted"
REFUSED: Final = "refused"

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # built once, not per line

_MAGIC: Final = TYP.encode("ascii")
_ITEM_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_HEX32 = re.compile(r"[0-9a-f]{64}")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_PARTY = re.compile(r"[A-Z]{3}")
_TEXT = re.compile(r"[^\x00-\x1f\x7f]{1,128}")
_KID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_PROOF_LINE = re.compile(r"@(0|[1-9][0-9]{0,5}) ((?:[0-9a-f]{64})(?:,[0-9a-f]{64}){0,31})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_PURPOSE: Final = 1024
_HEAD_KEYS: Final = frozenset(
    {"checkpoint", "count", "issued", "policy_id", "recipient", "root", "sender"}
)
_CHECKPOINT_KEYS: Final = frozenset({"origin", "root", "size"})


@dataclass(frozen=True, slots=True)
class ReceiptEntry:
    """One item's line: its digest and the receiver's decision, with the audit index quoting it.

    ``accepted`` entries carry ``marking`` (the receiver's equivalent level, Art. 4),
    ``agreement``, ``table_version`` and ``purpose`` (the official purpose the receiver assures it
    will use the item for, Art. 7); ``refused`` ones carry ``codes`` (at least one).
    """

    item_id: str
    digest: str
    accepted: bool
    log_index: int
    marking: str | None = None
    agreement: str | None = None
    table_version: int | None = None
    codes: tuple[str, ...] = ()
    purpose: str | None = None

    def line(self) -> bytes:
        """The entry line (compact JSON array) as signed through the Merkle root."""
        value: list[Any] = [self.item_id, self.digest]
        if self.accepted:
            value += [ACCEPTED, self.log_index, self.marking, self.agreement, self.table_version]
            value.append(self.purpose)
        else:
            value += [REFUSED, self.log_index, list(self.codes)]
        return _ENCODER.encode(value).encode("utf-8")


@dataclass(frozen=True, slots=True)
class BatchHead:
    """What the signature covers besides the root: who, when, and the receiver's checkpoint."""

    sender: str
    recipient: str
    issued: datetime
    policy_id: str
    checkpoint: Checkpoint


@dataclass(frozen=True, slots=True)
class IssuedReceipts:
    """A signed batch: the token to send, and each entry's extract (to store), in order."""

    token: bytes
    extracts: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class VerifiedReceipts:
    """A verified token: its head and, per entry it carries, the entry and its extract."""

    head: BatchHead
    entries: tuple[tuple[ReceiptEntry, bytes], ...]


def _bad(message: str, field: str | None = None) -> TokenError:
    return TokenError(message, code="TOKEN_MALFORMED", detail={"field": field})


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _head_bytes(head: BatchHead, count: int, root: bytes) -> bytes:
    cp = head.checkpoint
    obj = {
        "checkpoint": {"origin": cp.origin, "root": cp.root.hex(), "size": cp.size},
        "count": count,
        "issued": format_instant(head.issued),
        "policy_id": head.policy_id,
        "recipient": head.recipient,
        "root": root.hex(),
        "sender": head.sender,
    }
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def is_batch_receipt(token: bytes) -> bool:
    """Whether ``token`` claims to be a ``gsomia-receipts/1`` token (full or extract)."""
    return token.startswith(_MAGIC + b"\n")


def _purpose(value: object) -> bool:
    """An official purpose (Art. 7): 1 to 1,024 UTF-8 bytes, no control character."""
    return (
        isinstance(value, str)
        and 0 < len(value.encode("utf-8", "replace")) <= _MAX_PURPOSE
        and _CONTROL.search(value) is None
    )


def _version(value: object) -> bool:
    """An equivalence table version: a positive integer (Art. 4; gsomia.markings)."""
    return type(value) is int and 1 <= value < 2**31


def _check_entry(entry: ReceiptEntry) -> None:
    ok = (
        isinstance(entry, ReceiptEntry)
        and isinstance(entry.item_id, str)
        and _ITEM_ID.fullmatch(entry.item_id) is not None
        and isinstance(entry.digest, str)
        and _HEX32.fullmatch(entry.digest) is not None
        and type(entry.log_index) is int
        and entry.log_index >= 0
    )
    if ok and entry.accepted:
        ok = (
            all(
                isinstance(v, str) and _TEXT.fullmatch(v) is not None
                for v in (entry.marking, entry.agreement)
            )
            and _version(entry.table_version)
            and _purpose(entry.purpose)
        )
    elif ok:
        ok = 1 <= len(entry.codes) <= 16 and all(
            isinstance(c, str) and _CODE.fullmatch(c) is not None for c in entry.codes
        )
    if not ok:
        raise TokenInputError("a receipt entry cannot be signed", code="TOKEN_INPUT_INVALID")


def issue_receipts(
    head: BatchHead, entries: Sequence[ReceiptEntry], keys: NodeKeys
) -> IssuedReceipts:
    """Sign ``entries`` for ``head.sender`` with the receiver's key (one signature, Art. 7).

    Raises :class:`TokenInputError` if the head is not this node's, or an entry cannot be signed.
    """
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise TokenInputError(f"a batch receipt names 1 to {MAX_ENTRIES} items")
    if keys.party != head.recipient or not (
        _PARTY.fullmatch(head.sender) and _TEXT.fullmatch(head.policy_id)
    ):
        raise TokenInputError("only the receiving node signs its batch receipt")
    try:
        require_aware(head.issued, "issued")
    except InputError as exc:
        raise TokenInputError(exc.message) from None
    for entry in entries:
        _check_entry(entry)
    lines = [entry.line() for entry in entries]
    tree = MerkleTree.from_entries(lines)
    root = tree.root()
    head_bytes = _head_bytes(head, len(lines), root)
    kid, signature = signing.sign(keys, head_bytes, context=signing.SigningContext.RECEIPTS)
    top = b"\n".join((_MAGIC, head_bytes, f"{kid} {_b64u(signature)}".encode("ascii")))
    token = b"\n".join((top, *lines))
    extracts = tuple(
        b"\n".join((top, _proof_line(i, tree.inclusion_proof(i, len(lines))), line))
        for i, line in enumerate(lines)
    )
    return IssuedReceipts(token, extracts)


def _proof_line(index: int, proof: Sequence[bytes]) -> bytes:
    return f"@{index} {','.join(p.hex() for p in proof)}".encode("ascii")


# -- verification ---------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(name)


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # built once: a batch has many lines


def _json(line: bytes, field: str) -> Any:
    try:  # as json.loads(line, parse_constant=_no_constant) does, without a decoder per call
        return _DECODER.decode(line.decode(json.detect_encoding(line), "surrogatepass"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError included
        raise _bad("not JSON", field) from None


def _parse_head(line: bytes) -> tuple[BatchHead, int, bytes]:
    obj = _json(line, "head")
    if not isinstance(obj, dict) or obj.keys() != _HEAD_KEYS:
        raise _bad("the head has missing or unknown members", "head")
    cp = obj["checkpoint"]
    if not isinstance(cp, dict) or cp.keys() != _CHECKPOINT_KEYS:
        raise _bad("the checkpoint has missing or unknown members", "checkpoint")
    count, size = obj["count"], cp["size"]
    texts = (obj["sender"], obj["recipient"], obj["policy_id"], obj["issued"], cp["origin"])
    if (
        type(count) is not int
        or not 1 <= count <= MAX_ENTRIES
        or type(size) is not int
        or not all(isinstance(t, str) for t in texts)
        or not isinstance(obj["root"], str)
        or not isinstance(cp["root"], str)
        or not _HEX32.fullmatch(obj["root"])
        or not _HEX32.fullmatch(cp["root"])
        or not _PARTY.fullmatch(obj["sender"])
        or not _PARTY.fullmatch(obj["recipient"])
        or not _TEXT.fullmatch(obj["policy_id"])
    ):
        raise _bad("a head member has the wrong type or form", "head")
    try:
        issued = parse_instant(obj["issued"])
        checkpoint = Checkpoint(cp["origin"], size, bytes.fromhex(cp["root"]))
    except (InputError, ValueError):
        raise _bad("the instant or checkpoint is invalid", "head") from None
    head = BatchHead(obj["sender"], obj["recipient"], issued, obj["policy_id"], checkpoint)
    if _head_bytes(head, count, bytes.fromhex(obj["root"])) != line:
        raise _bad("the head is not canonical JSON", "head")
    return head, count, bytes.fromhex(obj["root"])


def _parse_entry(line: bytes, size: int) -> ReceiptEntry:
    value = _json(line, "entry")
    if not isinstance(value, list) or len(value) not in (5, 8):
        raise _bad("an entry is an array of 5 or 8 members", "entry")
    item_id, digest, outcome, index = value[0], value[1], value[2], value[3]
    if (
        not isinstance(item_id, str)
        or not _ITEM_ID.fullmatch(item_id)
        or not isinstance(digest, str)
        or not _HEX32.fullmatch(digest)
        or type(index) is not int
        or not 0 <= index < size
    ):
        raise _bad("an entry's item id, digest or log index is invalid", "entry")
    if outcome == ACCEPTED and len(value) == 8:
        marking, agreement, version, purpose = value[4], value[5], value[6], value[7]
        if (
            all(isinstance(v, str) and _TEXT.fullmatch(v) for v in (marking, agreement))
            and _version(version)
            and _purpose(purpose)
        ):
            return ReceiptEntry(
                item_id, digest, True, index, marking, agreement, version, purpose=purpose
            )
    elif outcome == REFUSED and len(value) == 5:
        codes = value[4]
        if (
            isinstance(codes, list)
            and 1 <= len(codes) <= 16
            and all(isinstance(c, str) and _CODE.fullmatch(c) for c in codes)
        ):
            return ReceiptEntry(item_id, digest, False, index, codes=tuple(codes))
    raise _bad("an entry's outcome and members do not agree", "entry")


def _signature(line: bytes) -> tuple[str, bytes]:
    try:
        kid, text = line.decode("ascii").split(" ")
        signature = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):  # UnicodeDecodeError included
        raise _bad("the signature line is malformed", "sig") from None
    if not _KID.fullmatch(kid) or _b64u(signature) != text or len(signature) != 64:
        raise _bad("the signature line is malformed", "sig")
    return kid, signature


def verify_receipts(
    token: bytes, trust: TrustStore, at: datetime, *, max_skew: timedelta = DEFAULT_MAX_SKEW
) -> VerifiedReceipts:
    """Parse and verify a batch receipt, full or extract, signed by its ``recipient``.

    The checks, in order: size, form (every line, the head canonical, each entry well formed,
    the entries or their inclusion proofs giving the head's root), the signature by a key of the
    trust store valid at ``issued``, the signer being the head's ``recipient``, and ``issued``
    not after ``at`` + ``max_skew``.  The first failure raises :class:`TokenError`; nothing of a
    token that fails any check may be relied on.
    """
    try:
        at = require_aware(at, "at")
    except InputError as exc:
        raise TokenInputError(exc.message) from None
    if not isinstance(token, bytes) or len(token) > MAX_RECEIPTS_BYTES:
        raise TokenError("the batch receipt is too large", code="TOKEN_TOO_LARGE")
    lines = token.split(b"\n")
    if len(lines) < 4 or lines[0] != _MAGIC:
        raise _bad("not a gsomia-receipts/1 token", "typ")
    head, count, root = _parse_head(lines[1])
    kid, signature = _signature(lines[2])
    body = lines[3:]
    size = head.checkpoint.size
    parsed: list[tuple[ReceiptEntry, bytes]] = []
    top = b"\n".join(lines[:3])
    if body[0].startswith(b"@"):  # extract form: each entry with its inclusion proof
        if len(body) % 2 or len(body) // 2 > count:
            raise _bad("an extract holds pairs of proof and entry lines", "entry")
        seen: set[int] = set()
        for proof_line, line in zip(body[0::2], body[1::2], strict=True):
            match = _PROOF_LINE.fullmatch(proof_line.decode("ascii", "replace"))
            if match is None:
                raise _bad("a proof line is malformed", "proof")
            index = int(match.group(1))
            proof = [bytes.fromhex(h) for h in (match.group(2) or "").split(",") if h]
            if index in seen or not verify_inclusion(line, index, count, proof, root):
                raise _bad("an entry is not in the signed tree", "proof")
            seen.add(index)
            parsed.append((_parse_entry(line, size), b"\n".join((top, proof_line, line))))
    else:
        if len(body) != count:
            raise _bad("the token does not hold the count of entries its head names", "entry")
        tree = MerkleTree.from_entries(body)
        if tree.root() != root:
            raise _bad("the entries do not give the signed root", "root")
        for i, line in enumerate(body):
            extract = b"\n".join((top, _proof_line(i, tree.inclusion_proof(i, count)), line))
            parsed.append((_parse_entry(line, size), extract))
    if len({e.item_id for e, _ in parsed}) != len(parsed):
        raise _bad("an item is named twice", "entry")
    try:
        record = signing.verify(
            trust, kid, lines[1], signature, head.issued, context=signing.SigningContext.RECEIPTS
        )
    except signing.SignatureError as exc:
        code = {
            "SIGNATURE_UNKNOWN_KEY": "TOKEN_UNKNOWN_KEY",
            "SIGNATURE_KEY_NOT_VALID": "TOKEN_KEY_NOT_VALID",
        }.get(exc.code, "TOKEN_SIGNATURE_INVALID")
        raise TokenError(exc.message, code=code, detail=exc.detail) from None
    if record.party != head.recipient:
        raise TokenError(
            f"signed by {record.party}, but only the recipient {head.recipient} may sign it",
            code="TOKEN_SIGNER_MISMATCH",
            detail={"signer": record.party, "expected": head.recipient},
        )
    if head.issued > at + max_skew:
        raise TokenError(
            f"signed at {format_instant(head.issued)}, after {format_instant(at)}",
            code="TOKEN_FROM_FUTURE",
        )
    return VerifiedReceipts(head, tuple(parsed))
