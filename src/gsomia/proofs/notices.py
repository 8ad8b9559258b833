"""Signed notices between partner nodes: breach reports (Art. 17), reclassification (Art. 6),
return or destruction requests and certificates (Arts. 6, 13), visit requests and decisions
(Art. 8).

A notice is one party's signed, written statement to another.  The channel already
authenticates the sending node (ADR 0005); the signature makes the statement *evidence* that the
receiver keeps beside its record (a certificate of destruction, the originator's reclassification)
and that a third party can verify later.  Like every token (:mod:`gsomia.proofs.tokens`) a notice
only proves authorship; what it may change is decided by the receiving node.

Format (docs/wire-format.md, "Signed notices")
----------------------------------------------
The token envelope of :mod:`gsomia.proofs.tokens` with ``"typ": "gsomia-notice/1"`` and the
claims::

    {"notice": <kind>, "notice_id": id, "issuer": party, "recipient": party,
     "issued": instant, "subject": id, "fields": {…}}            signer: issuer

``fields`` holds exactly the members :data:`FIELDS` lists for the kind: each required unless
marked optional, of one type (``id``, ``party``, ``text`` of 1-256 characters, ``long`` text of
1-2000 characters, ``int`` from 1 to 2**53 - 1, ``instant``, ``digest``).  The subject is the item
id (breach, reclassification, disposal kinds) or the visit id (visit kinds).

Domain separation: a notice is signed under the ``gsomia-proof/1 consent\\0`` context of
:class:`~gsomia.envelope.signing.SigningContext` with its own ``typ``.  The ``typ`` is inside the
signed bytes and every verifier (:func:`gsomia.proofs._token.open_token`) checks it before the
signature, so a notice never verifies as a consent nor a consent as a notice.  A dedicated
signing context needs a change of :mod:`gsomia.envelope.signing` (ADR 0006, follow-up).

Pure: no I/O, no clock.  Errors are those of every token (:mod:`gsomia.proofs.errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.envelope.signing import SigningContext
from gsomia.instants import format_instant
from gsomia.proofs import _json, _token
from gsomia.proofs._json import Fields
from gsomia.proofs._token import DEFAULT_MAX_SKEW
from gsomia.proofs.errors import TokenInputError

__all__ = ["FIELDS", "MAX_LONG_TEXT", "Notice", "NoticeKind", "issue_notice", "verify_notice"]

MAX_LONG_TEXT: Final = 2000
_MAX_INT: Final = 2**53 - 1
NOTICE: Final = _token.Kind("gsomia-notice/1", SigningContext.CONSENT, "issuer")
_CLAIMS: Final = frozenset(
    {"notice", "notice_id", "issuer", "recipient", "issued", "subject", "fields"}
)

FieldValue = str | int | datetime


class NoticeKind(StrEnum):
    """What a notice states (its wire name)."""

    BREACH_REPORT = "breach_report"  # Art. 17: reporter → originator, at once
    BREACH_UPDATE = "breach_update"  # Art. 17: investigation, results, measures
    RECLASSIFICATION = "reclassification"  # Art. 6: originator → each holder
    DISPOSAL_REQUEST = "disposal_request"  # Arts. 6, 13: originator → holder
    DISPOSAL_CERTIFICATE = "disposal_certificate"  # Arts. 6, 13: holder → originator
    VISIT_REQUEST = "visit_request"  # Art. 8: requesting party → host
    VISIT_DECISION = "visit_decision"  # Art. 8: host → requesting party


# name → (type, required)
FIELDS: Final[Mapping[NoticeKind, Mapping[str, tuple[str, bool]]]] = {
    NoticeKind.BREACH_REPORT: {
        "breach_id": ("id", True),
        "breach_kind": ("text", True),
        "description": ("long", True),
        "reported_by": ("id", True),
    },
    NoticeKind.BREACH_UPDATE: {
        "breach_id": ("id", True),
        "version": ("int", True),
        "status": ("text", True),
        "investigation": ("long", False),
        "results": ("long", False),
        "measures": ("long", False),
    },
    NoticeKind.RECLASSIFICATION: {
        "seq": ("int", True),
        "previous": ("text", True),
        "level": ("text", True),
    },
    NoticeKind.DISPOSAL_REQUEST: {
        "disposal_id": ("id", True),
        "action": ("text", True),
        "reason": ("text", True),
    },
    NoticeKind.DISPOSAL_CERTIFICATE: {
        "disposal_id": ("id", True),
        "action": ("text", True),
        "executed": ("instant", True),
        "reason": ("text", True),
        "item_digest": ("digest", False),
    },
    NoticeKind.VISIT_REQUEST: {
        "visitor_name": ("text", True),
        "visitor_nationality": ("party", True),
        "visitor_clearance": ("text", True),
        "visitor_post": ("text", False),
        "purpose": ("long", True),
        "start": ("instant", True),
        "end": ("instant", True),
    },
    NoticeKind.VISIT_DECISION: {
        "decision": ("text", True),
        "level": ("text", False),
        "note": ("long", False),
    },
}
"""The members of ``fields`` for each kind: name → (type, required)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One party's signed statement to another (see the module docstring)."""

    kind: NoticeKind
    notice_id: str
    issuer: str
    recipient: str
    issued: datetime
    subject: str
    fields: Mapping[str, FieldValue]

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def text(self, name: str, default: str = "") -> str:
        """The text (or id, party, digest) member ``name``, or ``default`` if absent."""
        value = self.fields.get(name, default)
        if not isinstance(value, str):
            raise TypeError(f"{name} is not text")
        return value

    def integer(self, name: str) -> int:
        """The integer member ``name``."""
        value = self.fields[name]
        if not isinstance(value, int):
            raise TypeError(f"{name} is not an integer")
        return value

    def instant(self, name: str) -> datetime:
        """The instant member ``name``."""
        value = self.fields[name]
        if not isinstance(value, datetime):
            raise TypeError(f"{name} is not an instant")
        return value


def _claims(notice: Notice) -> dict[str, Any]:
    fields: dict[str, Any] = {
        k: format_instant(v) if isinstance(v, datetime) else v for k, v in notice.fields.items()
    }
    return {
        "notice": str(notice.kind),
        "notice_id": notice.notice_id,
        "issuer": notice.issuer,
        "recipient": notice.recipient,
        "issued": format_instant(notice.issued),
        "subject": notice.subject,
        "fields": fields,
    }


def _read(f: Fields, name: str, kind: str) -> FieldValue:
    if kind == "id":
        return f.ident(name)
    if kind == "party":
        return f.party(name)
    if kind == "long":
        return f.text(name, MAX_LONG_TEXT)
    if kind == "int":
        return f.integer(name, 1, _MAX_INT)
    if kind == "instant":
        return f.instant(name)
    if kind == "digest":
        return f.digest(name)
    return f.text(name)


def _notice_from(claims: object) -> Notice:
    f = Fields(claims, "claims", _CLAIMS)
    raw_kind = f.raw("notice")
    if not isinstance(raw_kind, str) or raw_kind not in {k.value for k in NoticeKind}:
        raise _json.malformed("claims.notice must be a notice kind", f.path("notice"))
    kind = NoticeKind(raw_kind)
    spec = FIELDS[kind]
    required = frozenset(n for n, (_, needed) in spec.items() if needed)
    members = f.object("fields", required, frozenset(spec) - required)
    fields = {n: _read(members, n, t) for n, (t, _) in spec.items() if members.has(n)}
    issuer, recipient = f.party("issuer"), f.party("recipient")
    if issuer == recipient:
        raise _json.malformed("a notice goes to another party", f.path("recipient"))
    return Notice(
        kind=kind,
        notice_id=f.ident("notice_id"),
        issuer=issuer,
        recipient=recipient,
        issued=f.instant("issued"),
        subject=f.ident("subject"),
        fields=fields,
    )


def issue_notice(notice: Notice, keys: NodeKeys) -> bytes:
    """The issuer's (``keys``) signed notice; :class:`TokenInputError` if it cannot be one."""
    if not isinstance(notice, Notice):
        raise TokenInputError("issue a Notice", code="TOKEN_INPUT_INVALID")
    try:
        claims = _claims(notice)
    except (TypeError, ValueError, AttributeError):
        raise TokenInputError("this notice cannot be encoded", code="TOKEN_INPUT_INVALID") from None
    return _token.issue(NOTICE, notice, claims, _notice_from, keys, notice.issuer, notice.issued)


def verify_notice(
    token: bytes, trust: TrustStore, at: datetime, *, max_skew: timedelta = DEFAULT_MAX_SKEW
) -> Notice:
    """The notice a token proves, signed by its issuer; raises :class:`TokenError`."""
    return _token.open_token(
        token, NOTICE, _notice_from, lambda n: n.issued, lambda n: n.issuer, trust, at, max_skew
    )
