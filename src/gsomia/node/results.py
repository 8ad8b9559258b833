"""What the node's use cases return: values, never live objects (STYLE.md practice 2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gsomia.policy import Decision

__all__ = ["ReceiveSummary", "ReleaseResult"]


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    """The outcome of one release (Art. 6: providing CMI is decided case by case).

    ``released`` is all or nothing: the item went to every recipient or to none.  ``decisions``
    holds the policy decision per recipient; ``reasons`` the reason codes of the refusal (empty
    when released), including the node's own (``RELEASE_APPROVAL_INVALID``: a hub approval
    could not be issued, ``NODE_NO_RECIPIENT_KEY``, ``RELEASE_WITHHELD``); ``audit_indexes`` the
    audit records written.  ``problem`` says why a request of a batch could not be an item at all
    (reason ``NODE_INPUT_INVALID``; :meth:`~gsomia.node.Node.release_many`).
    """

    item_id: str
    released: bool
    decisions: Mapping[str, Decision]
    reasons: tuple[str, ...] = ()
    audit_indexes: tuple[int, ...] = ()
    problem: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "decisions", MappingProxyType(dict(self.decisions)))


@dataclass(frozen=True, slots=True)
class ReceiveSummary:
    """What one call of :meth:`~gsomia.node.Node.receive` did with the messages that arrived.

    ``accepted`` items were stored and receipted; ``rejected`` ones audited and dropped;
    ``duplicates`` recognised and answered with the stored receipt (never stored twice);
    ``receipts`` partners' receipts that settled an outbox message, ``receipts_duplicate`` ones
    already recorded, ``receipts_rejected`` ones that did not verify.  ``rejections`` lists
    ``(subject, reason code)`` for every rejection, in arrival order; ``messages`` counts every
    message taken from the channel, whatever its kind.  ``notices`` counts signed notices
    applied (Arts. 6, 8, 13, 17) and acknowledgements that settled ours, ``notices_deferred``
    notices that cannot apply yet and are left for the sender to send again; duplicate and
    refused notices count in ``duplicates`` and ``rejected``.  ``receipts_refused`` counts the
    partners' signed refusals (negative receipts, ADR 0011) that settled an outbox message as
    refused: the item is not sent again.
    """

    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    receipts: int = 0
    receipts_duplicate: int = 0
    receipts_rejected: int = 0
    rejections: tuple[tuple[str, str], ...] = field(default=())
    messages: int = 0
    notices: int = 0
    notices_deferred: int = 0
    receipts_refused: int = 0
