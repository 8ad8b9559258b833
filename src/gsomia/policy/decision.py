"""Decisions are values: allowed or not, with reasons, the agreement relied on, and the path.

Deny by default: a decision is ``allowed`` only when a rule positively allows it; any unknown
party, level, topic or agreement, and any rule that cannot be evaluated, denies with a reason.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from gsomia.reasons import Reason


class Code(StrEnum):
    """Stable reason codes of policy decisions."""

    # allow
    RELEASE_ALLOWED = "RELEASE_ALLOWED"
    RELAY_ALLOWED = "RELAY_ALLOWED"
    FORWARD_ALLOWED = "FORWARD_ALLOWED"
    ACCEPT_ALLOWED = "ACCEPT_ALLOWED"
    ACCESS_ALLOWED = "ACCESS_ALLOWED"
    VIA_HUB = "VIA_HUB"
    # unknowns
    UNKNOWN_PARTY = "UNKNOWN_PARTY"
    UNKNOWN_LEVEL = "UNKNOWN_LEVEL"
    UNKNOWN_TOPIC = "UNKNOWN_TOPIC"
    NO_AGREEMENT = "NO_AGREEMENT"
    # label
    SAME_PARTY = "SAME_PARTY"
    NOT_ORIGINATOR = "NOT_ORIGINATOR"
    LABEL_POLICY_MISMATCH = "LABEL_POLICY_MISMATCH"
    TOPIC_NOT_ON_LABEL = "TOPIC_NOT_ON_LABEL"
    NOT_RELEASABLE_TO = "NOT_RELEASABLE_TO"
    NO_HOLDER_MARKING = "NO_HOLDER_MARKING"
    HOLDER_MARKING_MISMATCH = "HOLDER_MARKING_MISMATCH"
    RECEIVER_MARKING_PRESENT = "RECEIVER_MARKING_PRESENT"
    # agreement
    AGREEMENT_NOT_IN_FORCE = "AGREEMENT_NOT_IN_FORCE"
    AGREEMENT_TERMINATED = "AGREEMENT_TERMINATED"
    TOPIC_OUT_OF_SCOPE = "TOPIC_OUT_OF_SCOPE"
    LEVEL_NOT_COVERED = "LEVEL_NOT_COVERED"
    NOT_A_HUB = "NOT_A_HUB"
    # consent and approval (Art. 6, TISA)
    CONSENT_MISSING = "CONSENT_MISSING"
    CONSENT_WRONG_KIND = "CONSENT_WRONG_KIND"
    CONSENT_OTHER_ITEM = "CONSENT_OTHER_ITEM"
    CONSENT_OTHER_PARTY = "CONSENT_OTHER_PARTY"
    CONSENT_OTHER_PURPOSE = "CONSENT_OTHER_PURPOSE"
    CONSENT_NOT_YET_VALID = "CONSENT_NOT_YET_VALID"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    CONSENT_REVOKED = "CONSENT_REVOKED"
    FORWARD_TO_ORIGINATOR = "FORWARD_TO_ORIGINATOR"
    # access (Art. 7)
    NATIONALITY = "NATIONALITY"
    NO_CLEARANCE = "NO_CLEARANCE"
    CLEARANCE_INSUFFICIENT = "CLEARANCE_INSUFFICIENT"
    NO_DUTY = "NO_DUTY"
    NO_TOPIC = "NO_TOPIC"
    NOT_IN_REGISTER = "NOT_IN_REGISTER"


class Marking(msgspec.Struct, frozen=True):
    """The level under which ``party`` holds (or would hold) the item: ``(party, level)``."""

    party: str
    level: str

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"party": self.party, "level": self.level}


class Decision(msgspec.Struct, frozen=True):
    """The outcome of one policy question."""

    allowed: bool
    reasons: tuple[Reason, ...]
    agreement: str | None = None
    table_version: int | None = None
    path: tuple[str, ...] = ()
    markings: tuple[Marking, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes, in order."""
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the CLI, the API and the audit log."""
        return {
            "allowed": self.allowed,
            "reasons": [r.to_dict() for r in self.reasons],
            "agreement": self.agreement,
            "table_version": self.table_version,
            "path": list(self.path),
            "markings": [m.to_dict() for m in self.markings],
        }


def deny(*reasons: Reason, path: tuple[str, ...] = ()) -> Decision:
    """A denial; at least one reason is required."""
    assert reasons, "a denial needs a reason"
    return Decision(False, reasons, path=path)
