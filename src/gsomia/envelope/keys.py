"""Keys as values: a node's own key pairs, partners' public keys, and the trust store.

Pure: no file or network I/O and no clock (``now``/``at`` are arguments).  Private keys live only
in the opaque handles of :mod:`gsomia.envelope._primitives`; this module never sees a pyca object.

Theory of operation
-------------------
A node has one **generation** of keys at a time: an Ed25519 key that signs what it seals
(``use="sig"``, RFC 8032) and an X25519 key to which partners wrap content keys (``use="enc"``,
RFC 7748 / RFC 9180).  Each public key is described by a :class:`PublicKeyRecord`:

- ``kid`` — the key id: the first 16 hex digits (64 bits) of SHA-256 of the raw 32-byte public key.
  It is derived, never chosen, so a record whose kid does not match its key cannot be built.  64
  bits is ample to *name* a key among a few partners; authenticity comes from the fingerprint
  check when the key is first trusted, not from the kid.
- ``fingerprint`` — the full SHA-256 of the raw key in lower-case hex, in groups of four for
  reading aloud over a telephone (the out-of-band check of RFC 4949 "fingerprint").
- ``valid_from`` / ``retired_at`` — the half-open interval ``[valid_from, retired_at)`` of item
  creation times the key may vouch for.

**Rotation** (:meth:`NodeKeys.rotate`) retires the current generation at ``now`` and creates a new
one valid from ``now``.  A partner's :class:`TrustStore` keeps retired keys: an item created before
the rotation still verifies with the old key (``lookup(kid, "sig", item.created)``), while an
item stamped after the rotation with the old kid is refused.  The node keeps its retired X25519
keys so that items wrapped to them can still be opened; retired Ed25519 keys are dropped, since
nothing needs them.  Retirement only ever moves earlier: merging a bundle can set or advance a
``retired_at``, never undo it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal, cast

import rfc8785

from gsomia import strictjson
from gsomia.envelope import _primitives as prim
from gsomia.errors import InputError, NotFoundError
from gsomia.instants import format_instant, parse_instant, require_aware

__all__ = [
    "BUNDLE_FORMAT",
    "KeyGeneration",
    "KeyLookupError",
    "KeyMaterialError",
    "KeyUse",
    "NodeKeys",
    "PublicKeyBundle",
    "PublicKeyRecord",
    "TrustStore",
    "fingerprint_of",
    "kid_of",
    "normalize_fingerprint",
]

KeyUse = Literal["sig", "enc"]
BUNDLE_FORMAT: Final = "gsomia-public-keys/1"
TRUST_FORMAT: Final = "gsomia-trust-store/1"
_CURVE: Final[dict[str, str]] = {"sig": "Ed25519", "enc": "X25519"}
_TRIGRAPH = re.compile(r"^[A-Z]{3}\Z")
_KID = re.compile(r"^[0-9a-f]{16}\Z")
_MAX_RECORDS = 1024
_MAX_KEY_JSON_BYTES = 4 * 1024 * 1024  # a bundle or trust store of up to 1,024 records


class KeyMaterialError(InputError):
    """A key, key record, key file or trust store is invalid or cannot be used.

    Codes: ``KEY_INVALID``, ``KEY_CONFLICT``, ``KEY_FINGERPRINT_MISMATCH``, ``KEY_PERMISSIONS``,
    ``KEY_PASSPHRASE``, ``KEY_EXISTS``, ``KEY_STORE_MISSING``.
    """

    code = "KEY_INVALID"
    status = 422
    title = "Invalid key material"


class KeyLookupError(NotFoundError):
    """No trusted key has this kid (``KEY_NOT_FOUND``) or it is not valid then (``KEY_NOT_VALID``)."""

    code = "KEY_NOT_FOUND"


def kid_of(public: bytes) -> str:
    """The key id: first 16 hex digits of SHA-256 of the raw public key."""
    return prim.sha256(public).hex()[:16]


def fingerprint_of(data: bytes) -> str:
    """SHA-256 of ``data`` as lower-case hex in space-separated groups of four digits."""
    digest = prim.sha256(data).hex()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def normalize_fingerprint(text: str) -> str:
    """A fingerprint typed by a person, reduced to 64 lower-case hex digits (or ``KEY_INVALID``)."""
    cleaned = re.sub(r"[\s:\-]", "", text or "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", cleaned):
        raise KeyMaterialError(
            "a fingerprint is 64 hex digits (spaces and colons allowed)", code="KEY_INVALID"
        )
    return cleaned


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(text: object, what: str) -> bytes:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise KeyMaterialError(f"{what} must be unpadded base64url", code="KEY_INVALID")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"{what} must be unpadded base64url", code="KEY_INVALID") from None
    if _b64u(data) != text:  # refuse non-canonical encodings (stray bits in the last digit)
        raise KeyMaterialError(f"{what} is not canonical base64url", code="KEY_INVALID")
    return data


def _instant(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise KeyMaterialError(f"{what} must be an ISO 8601 instant", code="KEY_INVALID")
    try:
        return parse_instant(value)
    except InputError as exc:
        raise KeyMaterialError(f"{what}: {exc.message}", code="KEY_INVALID") from None


def _aware(value: datetime, what: str) -> datetime:
    try:
        return require_aware(value, what)
    except InputError as exc:
        raise KeyMaterialError(exc.message, code="KEY_INVALID") from None


def _exact_keys(obj: object, required: set[str], optional: set[str], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise KeyMaterialError(f"{what} must be a JSON object", code="KEY_INVALID")
    keys = set(obj)
    if not required <= keys or not keys <= required | optional:
        raise KeyMaterialError(
            f"{what} must have the fields {sorted(required)} (optional {sorted(optional)})",
            code="KEY_INVALID",
        )
    return cast(dict[str, Any], obj)


@dataclass(frozen=True, slots=True)
class PublicKeyRecord:
    """One public key of one party, with its use and validity interval."""

    party: str
    use: KeyUse
    public: bytes
    valid_from: datetime
    retired_at: datetime | None = None
    kid: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.party, str) or not _TRIGRAPH.match(self.party):
            raise KeyMaterialError(
                f"party must be an ISO 3166-1 alpha-3 code, got {self.party!r}", code="KEY_INVALID"
            )
        if self.use not in _CURVE:
            raise KeyMaterialError(
                f"key use must be 'sig' or 'enc', got {self.use!r}", code="KEY_INVALID"
            )
        try:
            if self.use == "sig":
                prim.validate_ed25519_public(self.public)
            else:
                prim.validate_x25519_public(self.public)
        except prim.CryptoError:
            raise KeyMaterialError(
                f"not a valid {_CURVE[self.use]} public key", code="KEY_INVALID"
            ) from None
        object.__setattr__(self, "public", bytes(self.public))
        object.__setattr__(self, "valid_from", _aware(self.valid_from, "valid_from"))
        if self.retired_at is not None:
            retired = _aware(self.retired_at, "retired_at")
            if retired < self.valid_from:
                raise KeyMaterialError(
                    "a key cannot be retired before it is valid", code="KEY_INVALID"
                )
            object.__setattr__(self, "retired_at", retired)
        object.__setattr__(self, "kid", kid_of(self.public))

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the raw public key, grouped for reading aloud."""
        return fingerprint_of(self.public)

    @property
    def curve(self) -> str:
        """``Ed25519`` for signing keys, ``X25519`` for encryption keys."""
        return _CURVE[self.use]

    def valid_at(self, at: datetime) -> bool:
        """Whether the key may vouch for an item created at ``at``: ``valid_from ≤ at < retired``."""
        return self.valid_from <= at and (self.retired_at is None or at < self.retired_at)

    def retired(self, at: datetime) -> PublicKeyRecord:
        """This record retired at ``at`` (or earlier, if it already was)."""
        at = _aware(at, "retired_at")
        if self.retired_at is not None and self.retired_at <= at:
            return self
        return replace(self, retired_at=max(at, self.valid_from))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the key as in a JWK ``OKP`` key, RFC 8037 §2: ``crv`` and ``x``)."""
        return {
            "party": self.party,
            "kid": self.kid,
            "use": self.use,
            "crv": self.curve,
            "x": _b64u(self.public),
            "fingerprint": self.fingerprint,
            "valid_from": format_instant(self.valid_from),
            "retired_at": None if self.retired_at is None else format_instant(self.retired_at),
        }

    @classmethod
    def from_dict(cls, obj: object) -> PublicKeyRecord:
        """Parse :meth:`to_dict` output strictly; kid, curve and fingerprint must match the key."""
        d = _exact_keys(
            obj,
            {"party", "kid", "use", "crv", "x", "valid_from"},
            {"fingerprint", "retired_at"},
            "a public key record",
        )
        use = d["use"]
        if use not in _CURVE or d["crv"] != _CURVE[use]:
            raise KeyMaterialError("key use and curve do not match", code="KEY_INVALID")
        retired = d.get("retired_at")
        record = cls(
            party=d["party"],
            use=use,
            public=_unb64u(d["x"], "x"),
            valid_from=_instant(d["valid_from"], "valid_from"),
            retired_at=None if retired is None else _instant(retired, "retired_at"),
        )
        if d["kid"] != record.kid:
            raise KeyMaterialError("the kid does not match the key", code="KEY_INVALID")
        if "fingerprint" in d and (
            not isinstance(d["fingerprint"], str)
            or normalize_fingerprint(d["fingerprint"]) != normalize_fingerprint(record.fingerprint)
        ):
            raise KeyMaterialError(
                "the fingerprint does not match the key", code="KEY_FINGERPRINT_MISMATCH"
            )
        return record


def _records_from(items: object, what: str) -> tuple[PublicKeyRecord, ...]:
    if not isinstance(items, list) or len(items) > _MAX_RECORDS:
        raise KeyMaterialError(
            f"{what} must be a list of at most {_MAX_RECORDS} records", code="KEY_INVALID"
        )
    return tuple(PublicKeyRecord.from_dict(item) for item in items)


def _parse_json(data: bytes | str, what: str) -> object:
    try:
        return strictjson.loads(data, max_bytes=_MAX_KEY_JSON_BYTES, max_depth=8)
    except strictjson.JsonProblem as exc:
        raise KeyMaterialError(
            f"{what} is not valid JSON: {exc.message}", code="KEY_INVALID"
        ) from None


@dataclass(frozen=True, slots=True)
class PublicKeyBundle:
    """The public keys one party exports for its partners (current and retired)."""

    party: str
    records: tuple[PublicKeyRecord, ...]

    def __post_init__(self) -> None:
        if not self.records:
            raise KeyMaterialError("a key bundle holds at least one key", code="KEY_INVALID")
        if any(r.party != self.party for r in self.records):
            raise KeyMaterialError("every key of a bundle belongs to its party", code="KEY_INVALID")
        if len({r.kid for r in self.records}) != len(self.records):
            raise KeyMaterialError("a kid appears twice in the bundle", code="KEY_CONFLICT")
        ordered = sorted(self.records, key=lambda r: (r.valid_from, r.use, r.kid))
        object.__setattr__(self, "records", tuple(ordered))

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"format", "party", "keys"}``."""
        return {
            "format": BUNDLE_FORMAT,
            "party": self.party,
            "keys": [r.to_dict() for r in self.records],
        }

    def to_json(self) -> bytes:
        """Canonical JSON (RFC 8785) of :meth:`to_dict`; what ``gsomia keys export`` prints."""
        return rfc8785.dumps(self.to_dict())

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON, grouped: the one value officers read to each other."""
        return fingerprint_of(self.to_json())

    @classmethod
    def from_dict(cls, obj: object) -> PublicKeyBundle:
        """Parse :meth:`to_dict` output strictly."""
        d = _exact_keys(obj, {"format", "party", "keys"}, set(), "a public key bundle")
        if d["format"] != BUNDLE_FORMAT:
            raise KeyMaterialError(f"unknown bundle format {d['format']!r}", code="KEY_INVALID")
        return cls(party=d["party"], records=_records_from(d["keys"], "keys"))

    @classmethod
    def from_json(cls, data: bytes | str) -> PublicKeyBundle:
        """Parse the JSON text of a bundle."""
        return cls.from_dict(_parse_json(data, "the key bundle"))


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Partners' public keys, by kid.  Immutable: every change returns a new store."""

    records: tuple[PublicKeyRecord, ...] = ()
    _by_kid: Mapping[str, PublicKeyRecord] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_kid: dict[str, PublicKeyRecord] = {}
        for record in self.records:
            if not isinstance(record, PublicKeyRecord):
                raise KeyMaterialError("a trust store holds public key records", code="KEY_INVALID")
            if record.kid in by_kid:
                raise KeyMaterialError(f"kid {record.kid} appears twice", code="KEY_CONFLICT")
            by_kid[record.kid] = record
        ordered = tuple(sorted(self.records, key=lambda r: (r.party, r.valid_from, r.use, r.kid)))
        object.__setattr__(self, "records", ordered)
        object.__setattr__(self, "_by_kid", by_kid)

    def add(self, record: PublicKeyRecord) -> TrustStore:
        """A store that also trusts ``record``; merging a known kid may only advance retirement."""
        known = self._by_kid.get(record.kid)
        if known is None:
            return TrustStore((*self.records, record))
        if (known.public, known.use, known.party, known.valid_from) != (
            record.public,
            record.use,
            record.party,
            record.valid_from,
        ):
            raise KeyMaterialError(
                f"kid {record.kid} is already trusted with other attributes", code="KEY_CONFLICT"
            )
        if record.retired_at is None or record == known:
            return self
        merged = known.retired(record.retired_at)
        return TrustStore(tuple(merged if r.kid == record.kid else r for r in self.records))

    def add_bundle(self, bundle: PublicKeyBundle) -> TrustStore:
        """A store that also trusts every key of ``bundle``."""
        store = self
        for record in bundle.records:
            store = store.add(record)
        return store

    def retire(self, kid: str, at: datetime) -> TrustStore:
        """A store in which ``kid`` vouches only for items created before ``at``."""
        known = self._by_kid.get(kid)
        if known is None:
            raise KeyLookupError(f"no trusted key has kid {kid}", code="KEY_NOT_FOUND")
        merged = known.retired(at)
        return TrustStore(tuple(merged if r.kid == kid else r for r in self.records))

    def get(self, kid: str) -> PublicKeyRecord | None:
        """The record with this kid, whatever its validity."""
        return self._by_kid.get(kid)

    def find(self, kid: str, use: KeyUse, at: datetime) -> PublicKeyRecord | None:
        """The record with this kid and use if it is valid for an item created at ``at``."""
        record = self._by_kid.get(kid)
        if record is None or record.use != use or not record.valid_at(at):
            return None
        return record

    def lookup(self, kid: str, use: KeyUse, at: datetime) -> PublicKeyRecord:
        """Like :meth:`find`, but raise ``KEY_NOT_FOUND`` or ``KEY_NOT_VALID``."""
        record = self._by_kid.get(kid)
        if record is None or record.use != use:
            raise KeyLookupError(f"no trusted {use} key has kid {kid}", code="KEY_NOT_FOUND")
        if not record.valid_at(at):
            raise KeyLookupError(
                f"key {kid} is not valid at {format_instant(at)}", code="KEY_NOT_VALID"
            )
        return record

    def current(self, party: str, use: KeyUse, at: datetime) -> PublicKeyRecord:
        """The newest key of ``party`` with this use valid at ``at`` (to seal to a partner)."""
        valid = [r for r in self.records if r.party == party and r.use == use and r.valid_at(at)]
        if not valid:
            raise KeyLookupError(
                f"no {use} key of {party} is valid at {format_instant(at)}",
                code="KEY_NOT_FOUND",
                detail={"party": party},
            )
        return max(valid, key=lambda r: r.valid_from)

    def parties(self) -> frozenset[str]:
        """Every party with at least one trusted key."""
        return frozenset(r.party for r in self.records)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"format", "keys"}``."""
        return {"format": TRUST_FORMAT, "keys": [r.to_dict() for r in self.records]}

    def to_json(self) -> bytes:
        """Canonical JSON (RFC 8785) of :meth:`to_dict`."""
        return rfc8785.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, obj: object) -> TrustStore:
        """Parse :meth:`to_dict` output strictly."""
        d = _exact_keys(obj, {"format", "keys"}, set(), "a trust store")
        if d["format"] != TRUST_FORMAT:
            raise KeyMaterialError(
                f"unknown trust store format {d['format']!r}", code="KEY_INVALID"
            )
        return cls(_records_from(d["keys"], "keys"))

    @classmethod
    def from_json(cls, data: bytes | str) -> TrustStore:
        """Parse the JSON text of a trust store."""
        return cls.from_dict(_parse_json(data, "the trust store"))


@dataclass(frozen=True, slots=True)
class KeyGeneration:
    """One generation of a node's keys.  ``signing`` is None once the generation is retired."""

    sig: PublicKeyRecord
    enc: PublicKeyRecord
    agreement: prim.AgreementKey
    signing: prim.SigningKey | None

    def __post_init__(self) -> None:
        if self.sig.use != "sig" or self.enc.use != "enc" or self.sig.party != self.enc.party:
            raise KeyMaterialError(
                "a generation pairs a sig and an enc key of one party", code="KEY_INVALID"
            )
        if self.agreement.public_raw() != self.enc.public:
            raise KeyMaterialError(
                "the X25519 private key does not match its record", code="KEY_INVALID"
            )
        if self.signing is not None and self.signing.public_raw() != self.sig.public:
            raise KeyMaterialError(
                "the Ed25519 private key does not match its record", code="KEY_INVALID"
            )

    @classmethod
    def generate(cls, party: str, now: datetime) -> KeyGeneration:
        """Fresh key pairs valid from ``now``."""
        signing, agreement = prim.SigningKey.generate(), prim.AgreementKey.generate()
        return cls(
            sig=PublicKeyRecord(party, "sig", signing.public_raw(), now),
            enc=PublicKeyRecord(party, "enc", agreement.public_raw(), now),
            agreement=agreement,
            signing=signing,
        )


@dataclass(frozen=True, slots=True)
class NodeKeys:
    """A node's own keys: the current generation (last) and the retired ones before it."""

    party: str
    generations: tuple[KeyGeneration, ...]
    _enc_by_kid: Mapping[str, prim.AgreementKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.generations:
            raise KeyMaterialError("a node needs at least one key generation", code="KEY_INVALID")
        *old, current = self.generations
        if (
            current.signing is None
            or current.sig.retired_at is not None
            or current.enc.retired_at is not None
        ):
            raise KeyMaterialError(
                "the current generation must be unretired and able to sign", code="KEY_INVALID"
            )
        for gen in old:
            if gen.sig.retired_at is None or gen.enc.retired_at is None:
                raise KeyMaterialError(
                    "every earlier generation must be retired", code="KEY_INVALID"
                )
        kids: dict[str, prim.AgreementKey] = {}
        seen: set[str] = set()
        for gen in self.generations:
            if gen.sig.party != self.party:
                raise KeyMaterialError(
                    "every key must belong to the node's party", code="KEY_INVALID"
                )
            if gen.sig.kid in seen or gen.enc.kid in seen:
                raise KeyMaterialError("a kid appears twice", code="KEY_CONFLICT")
            seen.update((gen.sig.kid, gen.enc.kid))
            kids[gen.enc.kid] = gen.agreement
        object.__setattr__(self, "_enc_by_kid", kids)

    @classmethod
    def generate(cls, party: str, now: datetime) -> NodeKeys:
        """A node with one fresh generation valid from ``now``."""
        return cls(party, (KeyGeneration.generate(party, now),))

    def rotate(self, now: datetime) -> NodeKeys:
        """Retire the current generation at ``now`` and start a new one valid from ``now``."""
        now = _aware(now, "now")
        current = self.generations[-1]
        if now < current.sig.valid_from:
            raise KeyMaterialError(
                "cannot rotate to before the current keys became valid", code="KEY_INVALID"
            )
        retired = KeyGeneration(
            current.sig.retired(now), current.enc.retired(now), current.agreement, None
        )
        return NodeKeys(
            self.party, (*self.generations[:-1], retired, KeyGeneration.generate(self.party, now))
        )

    @property
    def current(self) -> KeyGeneration:
        """The generation that signs and receives from now on."""
        return self.generations[-1]

    @property
    def signing_key(self) -> prim.SigningKey:
        """The current Ed25519 private key."""
        key = self.current.signing
        assert key is not None  # guaranteed by __post_init__
        return key

    @property
    def signing_kid(self) -> str:
        """The kid of the current signing key."""
        return self.current.sig.kid

    @property
    def agreement_kid(self) -> str:
        """The kid of the current X25519 key."""
        return self.current.enc.kid

    def agreement_key_for(self, kid: str) -> prim.AgreementKey | None:
        """The X25519 private key with this kid, current or retired, if the node holds it."""
        return self._enc_by_kid.get(kid)

    def records(self) -> tuple[PublicKeyRecord, ...]:
        """Every public record of the node, oldest generation first."""
        return tuple(r for gen in self.generations for r in (gen.sig, gen.enc))

    def public_bundle(self) -> PublicKeyBundle:
        """What the node exports for partners to trust."""
        return PublicKeyBundle(self.party, self.records())

    def trust_self(self, store: TrustStore | None = None) -> TrustStore:
        """``store`` (or an empty one) that also trusts this node's own keys (for loopback)."""
        return (store or TrustStore()).add_bundle(self.public_bundle())


def records_by_party(records: Iterable[PublicKeyRecord]) -> dict[str, PublicKeyRecord]:
    """Map party → record, refusing two records of one party (helper for choosing recipients)."""
    out: dict[str, PublicKeyRecord] = {}
    for record in records:
        if record.party in out:
            raise KeyMaterialError(f"two keys given for {record.party}", code="KEY_CONFLICT")
        out[record.party] = record
    return out
