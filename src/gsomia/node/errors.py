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
"""

from __future__ import annotations

from gsomia.errors import DeniedError, InputError, NotFoundError, PeerError

__all__ = [
    "FrameError",
    "NodeAccessDeniedError",
    "NodeForbiddenError",
    "NodeInputError",
    "NodeItemNotFoundError",
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
