"""The C2SP signed-note format: text signed by one or more named keys (c2sp.org/signed-note).

A signed note is a text ending in a newline, a blank line, then one or more signature lines::

    <text, ending in \\n>
    \\n
    — <key name> <base64(4-byte key ID || signature)>\\n      (em dash U+2014, then a space)
    ...

This module reads and writes that format for two signature types, both Ed25519 (RFC 8032):

- ``0x01`` plain note signatures: Ed25519 over the note text, key ID =
  ``SHA-256(name || 0x0A || 0x01 || public key)[:4]`` (signed-note, "Ed25519 signatures");
- ``0x04`` timestamped cosignatures (c2sp.org/tlog-cosignature): the signature field is an 8-byte
  big-endian POSIX time then Ed25519 over ``cosignature/v1\\ntime <t>\\n`` followed by the note
  text; key ID = ``SHA-256(name || 0x0A || 0x04 || public key)[:4]``.

Both are compatible with golang.org/x/mod/sumdb/note and transparency-dev/formats (the tests
reproduce their known answers).  Keys sign through :mod:`gsomia.envelope.signing`; its ``NOTE``
and ``COSIGNATURE`` contexts add no bytes of their own, so the signed bytes are exactly C2SP's.

Opening (:func:`open_note`), following the specification's "Signatures" rules:

- the note must be valid UTF-8 without control characters other than newline, at most
  :data:`MAX_NOTE_BYTES` bytes and :data:`MAX_SIGNATURES` signature lines (C2SP requires
  accepting at least 16); the text is separated from the signatures by the *last* blank line;
- a key name is non-empty, without Unicode spaces or ``+``; a signature is canonical padded
  standard base64 (RFC 4648 §4) of at least five bytes (stricter than Go, which accepts stray
  bits in the last character: here one signature has exactly one spelling);
- signatures whose (name, key ID) match no verifier are **ignored** (returned as ``unverified``);
- every signature from a known key must verify, else the whole note is refused (the SHOULD of
  the specification; Go skips repeated lines of one key unverified, we verify them all);
- at least one known signature must verify.

Errors: :class:`NoteError` (a :class:`~gsomia.errors.PeerError`) with ``NOTE_TOO_LARGE``,
``NOTE_MALFORMED``, ``NOTE_UNVERIFIED`` (no known signature), ``NOTE_SIGNATURE_INVALID`` (a known
key's signature fails), ``NOTE_KEY_NOT_VALID`` (a cosignature dated outside its key's validity);
:class:`NoteKeyError` (an :class:`~gsomia.errors.InputError`, our input) with ``NOTE_KEY_INVALID``
(a bad key name or verifier key) and ``NOTE_VERIFIERS_AMBIGUOUS`` (two different keys under one
name and key ID).

Pure: no I/O, no clock (a cosignature's time is an argument).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from gsomia.envelope import signing
from gsomia.envelope.keys import NodeKeys, PublicKeyRecord
from gsomia.errors import InputError, PeerError
from gsomia.instants import format_instant, require_aware

__all__ = [
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "SIG_COSIGNATURE_V1",
    "SIG_ED25519",
    "NoteError",
    "NoteKeyError",
    "NoteSignature",
    "NoteVerifier",
    "OpenedNote",
    "ParsedNote",
    "SignatureLine",
    "cosignature_line",
    "cosignature_time",
    "key_id",
    "open_note",
    "parse_note",
    "sign_note",
    "valid_key_name",
    "with_signature",
]

#: Signature type of plain Ed25519 note signatures (c2sp.org/signed-note).
SIG_ED25519: Final = 0x01
#: Signature type of timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature).
SIG_COSIGNATURE_V1: Final = 0x04
#: Largest note :func:`open_note` reads.
MAX_NOTE_BYTES: Final = 64 * 1024
#: Most signature lines in a note (golang.org/x/mod/sumdb/note uses the same bound).
MAX_SIGNATURES: Final = 100

_DASH: Final = "\u2014 ".encode()
_KEY_SIZE: Final = 32
_TIMESTAMP_SIZE: Final = 8
_MAX_TIMESTAMP: Final = 2**63 - 1  # tlog-cosignature: "MUST NOT exceed 2^63 - 1"
_END_OF_DATETIME: Final = 253_402_300_800  # 10000-01-01T00:00:00Z: beyond datetime's range
_CONTROL: Final = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX8: Final = re.compile(r"[0-9a-fA-F]{8}")
_SIZES: Final[dict[int, int]] = {
    SIG_ED25519: signing.SIGNATURE_SIZE,
    SIG_COSIGNATURE_V1: _TIMESTAMP_SIZE + signing.SIGNATURE_SIZE,
}


class NoteError(PeerError):
    """A signed note cannot be accepted (codes ``NOTE_*``, see the module docstring)."""

    code = "NOTE_MALFORMED"
    status = 422
    title = "Signed note rejected"


class NoteKeyError(InputError):
    """A key name or verifier given to this module is wrong (``NOTE_KEY_INVALID``, …)."""

    code = "NOTE_KEY_INVALID"


def valid_key_name(name: object) -> bool:
    """Whether ``name`` is a C2SP key name: non-empty, no Unicode space, no ``+`` (and, as in
    any note, no control character)."""
    return (
        isinstance(name, str)
        and bool(name)
        and "+" not in name
        and not any(ch.isspace() for ch in name)
        and _CONTROL.search(name) is None
    )


def key_id(name: str, sig_type: int, public: bytes) -> bytes:
    """``SHA-256(name || 0x0A || sig_type || public)[:4]`` (signed-note, "Signatures")."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public).digest()[:4]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str | bytes) -> bytes | None:
    """Canonical padded standard base64, or None."""
    raw = text.encode("ascii") if isinstance(text, str) else text
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if base64.b64encode(data) == raw else None


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A trusted note key: name, Ed25519 public key, signature type and validity.

    ``valid_from``/``retired_at`` (from a :class:`~gsomia.envelope.keys.PublicKeyRecord`) bound
    the times a cosignature (type 0x04, which carries its time) may claim; a plain note signature
    carries no time, so the caller chooses which keys to trust for it.
    """

    name: str
    public: bytes
    sig_type: int = SIG_ED25519
    valid_from: datetime | None = None
    retired_at: datetime | None = None
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not valid_key_name(self.name):
            raise NoteKeyError(
                f"{self.name!r} is not a key name (non-empty, no spaces, no '+')",
                code="NOTE_KEY_INVALID",
            )
        if self.sig_type not in _SIZES:
            raise NoteKeyError(
                "signature type must be 0x01 (Ed25519) or 0x04 (cosignature/v1)",
                code="NOTE_KEY_INVALID",
            )
        if not signing.is_ed25519_public_key(self.public):
            raise NoteKeyError("not an Ed25519 public key", code="NOTE_KEY_INVALID")
        object.__setattr__(self, "public", bytes(self.public))
        for attr in ("valid_from", "retired_at"):
            value = getattr(self, attr)
            if value is not None:
                try:
                    object.__setattr__(self, attr, require_aware(value, attr))
                except InputError as exc:
                    raise NoteKeyError(exc.message, code="NOTE_KEY_INVALID") from None
        object.__setattr__(self, "key_id", key_id(self.name, self.sig_type, self.public))

    @classmethod
    def from_record(
        cls, name: str, record: PublicKeyRecord, *, sig_type: int = SIG_ED25519
    ) -> NoteVerifier:
        """The verifier of a trusted signing key (``use="sig"``), under the key name ``name``."""
        if not isinstance(record, PublicKeyRecord) or record.use != "sig":
            raise NoteKeyError(
                "a note verifier needs a signing key record", code="NOTE_KEY_INVALID"
            )
        return cls(name, record.public, sig_type, record.valid_from, record.retired_at)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key ``<name>+<hex key ID>+<base64(type || public key)>``."""
        parts = vkey.split("+", 2) if isinstance(vkey, str) else []
        raw = _unb64(parts[2]) if len(parts) == 3 and parts[2].isascii() else None
        if raw is None or not _HEX8.fullmatch(parts[1]) or len(raw) != 1 + _KEY_SIZE:
            raise NoteKeyError("malformed verifier key", code="NOTE_KEY_INVALID")
        verifier = cls(parts[0], raw[1:], raw[0])
        if verifier.key_id != bytes.fromhex(parts[1]):
            raise NoteKeyError("the verifier key's ID does not match it", code="NOTE_KEY_INVALID")
        return verifier

    def vkey(self) -> str:
        """This key as a C2SP verifier key string (for exchange with other tools)."""
        return f"{self.name}+{self.key_id.hex()}+{_b64(bytes([self.sig_type]) + self.public)}"

    def valid_at(self, at: datetime) -> bool:
        """Whether ``at`` lies in ``[valid_from, retired_at)`` (open ends where unset)."""
        return (self.valid_from is None or self.valid_from <= at) and (
            self.retired_at is None or at < self.retired_at
        )


@dataclass(frozen=True, slots=True)
class SignatureLine:
    """One signature line, parsed but not verified."""

    name: str
    key_id: bytes
    signature: bytes  # the bytes after the key ID

    def encode(self) -> bytes:
        """The line, newline included."""
        return _DASH + f"{self.name} {_b64(self.key_id + self.signature)}\n".encode()


@dataclass(frozen=True, slots=True)
class ParsedNote:
    """A note split into its text and its signature lines (nothing verified)."""

    text: bytes
    lines: tuple[SignatureLine, ...]


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """A verified signature: who signed, with which key, and (cosignatures) when."""

    name: str
    key_id: bytes
    sig_type: int
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A note whose known signatures all verified; its text may now be used."""

    text: bytes
    verified: tuple[NoteSignature, ...]
    unverified: tuple[SignatureLine, ...]


def _malformed(message: str) -> NoteError:
    return NoteError(f"malformed note: {message}", code="NOTE_MALFORMED")


def _check_text(data: bytes, what: str) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed(f"{what} is not UTF-8") from None
    if _CONTROL.search(text):
        raise _malformed(f"{what} holds control characters")


def parse_note(data: bytes) -> ParsedNote:
    """Split a signed note into text and signature lines, checking only the syntax."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _malformed("a note is bytes")
    data = bytes(data)
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"a note is at most {MAX_NOTE_BYTES} bytes", code="NOTE_TOO_LARGE")
    _check_text(data, "the note")
    split = data.rfind(b"\n\n")
    if split < 0:
        raise _malformed("no blank line before the signatures")
    text, block = data[: split + 1], data[split + 2 :]
    if not block.endswith(b"\n"):
        raise _malformed("the signatures must end with a newline")
    raw_lines = block[:-1].split(b"\n")
    if len(raw_lines) > MAX_SIGNATURES:
        raise _malformed(f"more than {MAX_SIGNATURES} signatures")
    lines = []
    for raw in raw_lines:
        if not raw.startswith(_DASH):
            raise _malformed("a signature line starts with an em dash and a space")
        name_bytes, space, encoded = raw[len(_DASH) :].partition(b" ")
        name = name_bytes.decode("utf-8")
        sig = _unb64(encoded) if space and encoded.isascii() else None
        if sig is None or not valid_key_name(name) or len(sig) < 5:
            raise _malformed("a signature line is '— <key name> <base64 signature>'")
        lines.append(SignatureLine(name, sig[:4], sig[4:]))
    return ParsedNote(text, tuple(lines))


def _verifier_map(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, bytes], NoteVerifier]:
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        if not isinstance(verifier, NoteVerifier):
            raise NoteKeyError("verifiers must be NoteVerifier values", code="NOTE_KEY_INVALID")
        slot = (verifier.name, verifier.key_id)
        if slot in known and known[slot] != verifier:
            raise NoteKeyError(
                f"two different keys named {verifier.name}+{verifier.key_id.hex()}",
                code="NOTE_VERIFIERS_AMBIGUOUS",
            )
        known[slot] = verifier
    return known


def _check(verifier: NoteVerifier, text: bytes, line: SignatureLine) -> NoteSignature:
    """Verify one line from a known key; raise ``NOTE_SIGNATURE_INVALID`` or ``_KEY_NOT_VALID``."""
    detail = {"key_name": line.name, "key_id": line.key_id.hex()}
    invalid = NoteError(
        f"the signature of {line.name}+{line.key_id.hex()} does not verify",
        code="NOTE_SIGNATURE_INVALID",
        detail=detail,
    )
    if len(line.signature) != _SIZES[verifier.sig_type]:
        raise invalid
    timestamp = None
    try:
        if verifier.sig_type == SIG_ED25519:
            signing.verify_public(
                verifier.public, text, line.signature, context=signing.SigningContext.NOTE
            )
        else:
            seconds = int.from_bytes(line.signature[:_TIMESTAMP_SIZE], "big")
            if seconds > _MAX_TIMESTAMP:
                raise invalid
            signing.verify_public(
                verifier.public,
                b"time %d\n" % seconds + text,
                line.signature[_TIMESTAMP_SIZE:],
                context=signing.SigningContext.COSIGNATURE,
            )
            timestamp = datetime.fromtimestamp(seconds, UTC) if seconds < _END_OF_DATETIME else None
            if timestamp is None or not verifier.valid_at(timestamp):
                raise NoteError(
                    f"the key {line.name}+{line.key_id.hex()} was not valid at the "
                    "cosignature's time",
                    code="NOTE_KEY_NOT_VALID",
                    detail=detail,
                )
    except signing.SignatureError:
        raise invalid from None
    return NoteSignature(line.name, line.key_id, verifier.sig_type, timestamp)


def open_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """Verify a signed note against ``verifiers`` (rules in the module docstring)."""
    known = _verifier_map(verifiers)
    parsed = parse_note(data)
    verified: dict[tuple[str, bytes], NoteSignature] = {}
    unverified: dict[SignatureLine, None] = {}
    for line in parsed.lines:
        verifier = known.get((line.name, line.key_id))
        if verifier is None:
            unverified.setdefault(line)
            continue
        signature = _check(verifier, parsed.text, line)
        verified.setdefault((line.name, line.key_id), signature)
    if not verified:
        raise NoteError("no signature from a known key", code="NOTE_UNVERIFIED")
    return OpenedNote(parsed.text, tuple(verified.values()), tuple(unverified))


def _key_name(name: object) -> str:
    if not valid_key_name(name):
        raise NoteKeyError(
            f"{name!r} is not a key name (non-empty, no spaces, no '+')", code="NOTE_KEY_INVALID"
        )
    assert isinstance(name, str)
    return name


def _note_text(text: object) -> bytes:
    if not isinstance(text, bytes | bytearray) or not text.endswith(b"\n"):
        raise NoteKeyError("a note text is bytes ending in a newline", code="NOTE_KEY_INVALID")
    try:
        _check_text(bytes(text), "the note text")
    except NoteError as exc:
        raise NoteKeyError(exc.message, code="NOTE_KEY_INVALID") from None
    return bytes(text)


def with_signature(note: ParsedNote, line: SignatureLine) -> bytes:
    """The note with ``line`` added, replacing any line of the same (name, key ID)."""
    kept = [old for old in note.lines if (old.name, old.key_id) != (line.name, line.key_id)]
    if len(kept) >= MAX_SIGNATURES:
        raise NoteKeyError(
            f"a note holds at most {MAX_SIGNATURES} signatures", code="NOTE_KEY_INVALID"
        )
    return note.text + b"\n" + b"".join(old.encode() for old in (*kept, line))


def sign_note(text: bytes, keys: NodeKeys, key_name: str) -> bytes:
    """A signed note of ``text`` with one plain Ed25519 signature (type 0x01) by ``keys``."""
    name, body = _key_name(key_name), _note_text(text)
    _, signature = signing.sign(keys, body, context=signing.SigningContext.NOTE)
    line = SignatureLine(name, key_id(name, SIG_ED25519, keys.current.sig.public), signature)
    return with_signature(ParsedNote(body, ()), line)


def cosignature_line(text: bytes, keys: NodeKeys, key_name: str, at: datetime) -> SignatureLine:
    """A tlog-cosignature (type 0x04) line over ``text``, dated ``at`` (whole POSIX seconds)."""
    name, body = _key_name(key_name), _note_text(text)
    try:
        at = require_aware(at, "the cosignature time")
    except InputError as exc:
        raise NoteKeyError(exc.message, code="NOTE_KEY_INVALID") from None
    if not isinstance(keys, NodeKeys) or not keys.current.sig.valid_at(at):
        raise NoteKeyError(
            f"the cosigner's key is not valid at {format_instant(at)}", code="NOTE_KEY_INVALID"
        )
    seconds = int(at.timestamp())
    if not 0 <= seconds <= _MAX_TIMESTAMP:
        raise NoteKeyError("a cosignature is dated after 1970", code="NOTE_KEY_INVALID")
    _, signature = signing.sign(
        keys, b"time %d\n" % seconds + body, context=signing.SigningContext.COSIGNATURE
    )
    kid = key_id(name, SIG_COSIGNATURE_V1, keys.current.sig.public)
    return SignatureLine(name, kid, seconds.to_bytes(_TIMESTAMP_SIZE, "big") + signature)


def cosignature_time(line: SignatureLine) -> int | None:
    """The POSIX time a cosignature line claims (unverified), or None if it cannot be one."""
    if len(line.signature) != _SIZES[SIG_COSIGNATURE_V1]:
        return None
    seconds = int.from_bytes(line.signature[:_TIMESTAMP_SIZE], "big")
    return seconds if seconds <= _MAX_TIMESTAMP else None
