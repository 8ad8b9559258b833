"""The national node: the service layer over the pure core and the four ports (PRODUCT.md §6).

A :class:`Node` releases items its nation originates (Art. 6), delivers them over the
government-to-government channel with an outbox retried with backoff (Arts. 9-12), receives and
accepts partners' items, re-marking them with its equivalent level beside the originator's
(Art. 4), signs receipts with its Art. 7 assurance, and lets only cleared officials with a duty
read what it holds (Art. 7).  Every decision is the core's and every act is audited in the same
unit of work as its effects, so a rejected input leaves no partial state and is always audited
(PRODUCT.md §8).  Agreements are consulted at the instant of each decision (Art. 21).

No HTTP here: the faces (API, CLI) call the node; the node sees only ports.

Modules: :mod:`~gsomia.node.service` (:class:`Node`: release, delivery, read),
:mod:`~gsomia.node.inbound` (receiving items and receipts), :mod:`~gsomia.node.framing` (the
payload kinds on the channel), :mod:`~gsomia.node.results`, :mod:`~gsomia.node.errors`;
:mod:`~gsomia.node.relay` (the TISA relay through the hub), :mod:`~gsomia.node.consent` (Art. 6
consent requests, decisions, revocations) and :mod:`~gsomia.node.forward` (Art. 6 forwards);
:mod:`~gsomia.node.breach` (Art. 17), :mod:`~gsomia.node.disposal` (Art. 6 reclassification,
Arts. 6 and 13 return or destruction), :mod:`~gsomia.node.visits` (Art. 8),
:mod:`~gsomia.node.agreement_events` (Art. 21) and :mod:`~gsomia.node.notice_inbound` (their
signed notices on the channel).
"""

from gsomia.node.errors import (
    FrameError,
    NodeAccessDeniedError,
    NodeConflictError,
    NodeConsentNotFoundError,
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
    NodeRecordNotFoundError,
    NodeUnauthenticatedError,
)
from gsomia.node.forward import ForwardResult
from gsomia.node.framing import Frame, FrameKind
from gsomia.node.release_batch import MAX_RELEASE_BATCH, ReleaseRequest
from gsomia.node.results import ReceiveSummary, ReleaseResult
from gsomia.node.service import Node

__all__ = [
    "MAX_RELEASE_BATCH",
    "ForwardResult",
    "Frame",
    "FrameError",
    "FrameKind",
    "Node",
    "NodeAccessDeniedError",
    "NodeConflictError",
    "NodeConsentNotFoundError",
    "NodeForbiddenError",
    "NodeInputError",
    "NodeItemNotFoundError",
    "NodeRecordNotFoundError",
    "NodeUnauthenticatedError",
    "ReceiveSummary",
    "ReleaseRequest",
    "ReleaseResult",
]
