"""The content of written consent (Art. 6) and of a hub's relay approval (TISA).

Art. 6: the receiving party shall not release CMI to a third country, nor use it for another
purpose, without the originating party's *prior written consent*.  Under TISA the hub passes on
what a spoke gave it only with the originator's approval.  Both have the same content: who
consents, to whom (holder), for which item (id and digest), to which third party, for which
purpose, until when, under which conditions, and whether it was revoked.  The signed form of this
content (a token verified with the originator's key) is the envelope layer's job; this module
checks the content, and fails closed on any mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gsomia.instants import format_instant, require_aware
from gsomia.policy.decision import Code
from gsomia.reasons import Reason

_ART6 = "Art. 6"


class ConsentKind(StrEnum):
    """Forward consent (Art. 6) or hub relay approval (TISA)."""

    FORWARD = "forward_consent"
    HUB_APPROVAL = "hub_approval"


@dataclass(frozen=True, slots=True)
class Consent:
    """What the originator consented to."""

    kind: ConsentKind
    consent_id: str
    item_id: str
    item_digest: str
    originator: str
    holder: str
    third_party: str
    purpose: str
    issued: datetime
    expires: datetime
    conditions: tuple[str, ...] = ()
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "issued", require_aware(self.issued, "consent issue time"))
        object.__setattr__(self, "expires", require_aware(self.expires, "consent expiry"))
        if self.revoked_at is not None:
            object.__setattr__(self, "revoked_at", require_aware(self.revoked_at, "revocation"))


def check_consent(
    consent: Consent | None,
    *,
    kind: ConsentKind,
    item_id: str,
    item_digest: str | None,
    originator: str,
    holder: str,
    third_party: str,
    purpose: str | None,
    at: datetime,
) -> tuple[Reason, ...]:
    """Every reason ``consent`` does not cover this act at ``at``; empty if it does."""
    cite = _ART6 if kind is ConsentKind.FORWARD else "TISA relay rule"
    if consent is None:
        what = "written consent" if kind is ConsentKind.FORWARD else "relay approval"
        return (Reason(Code.CONSENT_MISSING, f"no {what} from {originator} for this act", cite),)
    out: list[Reason] = []
    if consent.kind is not kind:
        out.append(
            Reason(Code.CONSENT_WRONG_KIND, f"a {consent.kind} does not serve as {kind}", cite)
        )
    if consent.item_id != item_id or (
        item_digest is not None and consent.item_digest != item_digest
    ):
        out.append(Reason(Code.CONSENT_OTHER_ITEM, "the consent names another item", cite))
    if (consent.originator, consent.holder, consent.third_party) != (
        originator,
        holder,
        third_party,
    ):
        out.append(
            Reason(
                Code.CONSENT_OTHER_PARTY,
                f"the consent is {consent.originator}→{consent.holder}→{consent.third_party}, this "
                f"act is {originator}→{holder}→{third_party}",
                cite,
            )
        )
    if purpose is not None and consent.purpose.strip() != purpose.strip():
        out.append(
            Reason(
                Code.CONSENT_OTHER_PURPOSE,
                f"consent is for {consent.purpose!r}, not {purpose!r}",
                cite,
            )
        )
    if at < consent.issued:
        out.append(
            Reason(
                Code.CONSENT_NOT_YET_VALID,
                f"consent issued {format_instant(consent.issued)}, after this act",
                cite,
            )
        )
    if at >= consent.expires:
        out.append(
            Reason(Code.CONSENT_EXPIRED, f"consent expired {format_instant(consent.expires)}", cite)
        )
    if consent.revoked_at is not None and at >= consent.revoked_at:
        out.append(
            Reason(
                Code.CONSENT_REVOKED, f"consent revoked {format_instant(consent.revoked_at)}", cite
            )
        )
    return tuple(out)
