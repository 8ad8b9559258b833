"""Policy decisions, pure and with reasons: release, relay, forward, accept, access.

Each returns a :class:`Decision`; deny by default, and anything unknown denies.
"""

from gsomia.policy.access import Official, access
from gsomia.policy.consent import Consent, ConsentKind, check_consent
from gsomia.policy.decision import Code, Decision, Marking, deny
from gsomia.policy.exchange import accept, forward, relay, release

__all__ = [
    "Code",
    "Consent",
    "ConsentKind",
    "Decision",
    "Marking",
    "Official",
    "accept",
    "access",
    "check_consent",
    "deny",
    "forward",
    "relay",
    "release",
]
