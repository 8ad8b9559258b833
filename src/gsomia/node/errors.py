"""The node's refusals: one :class:`~gsomia.errors.GsomiaError` subclass per family, stable codes.

Deny by default (PRODUCT.md §8): an unknown official or item, a missing role or a policy denial
raises one of these *after* the refusal has been audited.  The API maps ``status`` to an
RFC 9457 problem, the CLI ``exit_code`` to its exit status (STYLE.md practice 6).

::

    NodeUnauthenticatedError NODE_UNAUTHENTICATED 401  no valid API token of this node (issue 4 §1)
    NodeForbiddenError     NODE_FORBIDDEN        403  unknown, inactive or foreign official, or
                                                       a role the act needs is missing (issue 4 §1)
    NodeItemNotFoundError  NODE_ITEM_NOT_FOUND   404  the node holds no such item
    NodeAccessDeniedError  NODE_ACCESS_DENIED    403  Art. 7 said no; ``detail['reasons']``
                           NODE_ITEM_NOT_HELD           the item was returned or destroyed (Art. 6)
                           NODE_ITEM_DAMAGED            the sealed-at-rest copy does not open
    NodeInputError         NODE_INPUT_INVALID    400  the caller's request is ill-formed
                           NODE_MISCONFIGURED           party, keys and channel disagree
    FrameError             NODE_FRAME_INVALID    422  a partner sent bytes that are not a frame
    NodeConsentNotFoundError NODE_CONSENT_NOT_FOUND 404 no such consent or consent request (Art. 6)
    NodeConflictError      NODE_CONFLICT         409  the act contradicts what was recorded: a
                           NODE_CONSENT_DECIDED         request already decided, an item already
                           NODE_ALREADY_SENT            sent to that party
                           NODE_BREACH_CLOSED           (Art. 17) a closed breach
                           NODE_DISPOSAL_DONE           (Arts. 6, 13) a disposal already done
                           NODE_VISIT_DECIDED           (Art. 8) a visit already decided
                           NODE_DISPOSAL_PENDING        a disposal of that copy is under way
    NodeRecordNotFoundError NODE_BREACH_NOT_FOUND 404   no such breach, disposal, visit or
                           NODE_DISPOSAL_NOT_FOUND      agreement (node/breach.py and kin)
                           NODE_VISIT_NOT_FOUND
                           NODE_AGREEMENT_NOT_FOUND
    NodeAccessDeniedError  NODE_POLICY_DENIED    403  a core decision said no (Arts. 4, 6, 8, 21);
                                                       ``detail['reasons']``
"""

from __future__ import annotations

from gsomia.errors import DeniedError, InputError, NotFoundError, PeerError

__all__ = [
    "FrameError",
    "NodeAccessDeniedError",
    "NodeConflictError",
    "NodeConsentNotFoundError",
    "NodeForbiddenError",
    "NodeInputError",
    "NodeItemNotFoundError",
    "NodeRecordNotFoundError",
    "NodeUnauthenticatedError",
]


class NodeUnauthenticatedError(DeniedError):
    """No valid API token of this node was presented (issue 4 §1)."""

    code = "NODE_UNAUTHENTICATED"
    status = 401
    title = "Unauthenticated"


class NodeForbiddenError(DeniedError):
    """The acting official may not do this: unknown, inactive, foreign, or without the role."""

    code = "NODE_FORBIDDEN"
    title = "Forbidden"


class NodeItemNotFoundError(NotFoundError):
    """The node holds no item with this id."""

    code = "NODE_ITEM_NOT_FOUND"
    title = "Item not found"


class NodeAccessDeniedError(DeniedError):
    """A read was refused (Art. 7), or the item can no longer be read (Art. 6, Art. 13)."""

    code = "NODE_ACCESS_DENIED"
    title = "Access denied"


class NodeInputError(InputError):
    """The caller's request to the node is ill-formed."""

    code = "NODE_INPUT_INVALID"


class FrameError(PeerError):
    """A partner's message is not a well-formed frame (:mod:`gsomia.node.framing`)."""

    code = "NODE_FRAME_INVALID"
    title = "Malformed message"


# -- consent and relay (node/consent.py, node/relay.py) ------------------------------------------


class NodeConsentNotFoundError(NotFoundError):
    """The node holds no consent or consent request with this id (Art. 6)."""

    code = "NODE_CONSENT_NOT_FOUND"
    title = "Consent not found"


class NodeConflictError(InputError):
    """The act contradicts what the node recorded (a decided request, an item already sent)."""

    code = "NODE_CONFLICT"
    status = 409
    title = "Conflict"


# -- cases: breaches, disposals, visits, agreement events (node/breach.py and kin) ---------------


class NodeRecordNotFoundError(NotFoundError):
    """The node holds no such breach, disposal, visit or agreement (codes ``NODE_*_NOT_FOUND``)."""

    code = "NODE_RECORD_NOT_FOUND"
    title = "Not found"
