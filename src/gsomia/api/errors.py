"""The API's own refusals: HTTP-level faults, in the one error tree (STYLE.md practice 6).

The node raises its own errors (:mod:`gsomia.node.errors`); these are the faults only the HTTP
face can see.  Each becomes an RFC 9457 problem through :meth:`GsomiaError.to_problem`::

    JsonInvalidError         JSON_INVALID            400  the body is not strict JSON (RFC 8259)
    CursorInvalidError       CURSOR_INVALID          400  an ``after`` cursor this API did not give
    RequestInvalidError      REQUEST_INVALID         422  the body or a parameter fails its schema
    BodyTooLargeError        BODY_TOO_LARGE          413  the body exceeds the node's limit
    MediaTypeError           MEDIA_TYPE_UNSUPPORTED  415  a body that is not application/json
    RouteNotFoundError       ROUTE_NOT_FOUND         404  no such route
    MethodNotAllowedError    METHOD_NOT_ALLOWED      405  the route exists, not with this method
    ReleaseRefusedError      RELEASE_REFUSED         403  the policy refused a release (Art. 6)
    ForwardRefusedError      FORWARD_REFUSED         403  the policy refused a forward (Art. 6)
    ApiWorkerError           NODE_API_WORKER         503  track ingest asked of an API worker
    HttpError                HTTP_<status>                any other HTTP-level refusal
    InternalError            INTERNAL                500  a defect of ours; nothing leaks
"""

from __future__ import annotations

from gsomia.errors import DeniedError, GsomiaError, InputError, NotFoundError

__all__ = [
    "ApiWorkerError",
    "BodyTooLargeError",
    "CursorInvalidError",
    "ForwardRefusedError",
    "HttpError",
    "InternalError",
    "JsonInvalidError",
    "MediaTypeError",
    "MethodNotAllowedError",
    "ReleaseRefusedError",
    "RequestInvalidError",
    "RouteNotFoundError",
    "http_error",
]


class ApiWorkerError(GsomiaError):
    """A route an API worker process does not serve: the node's main API does (ADR 0021)."""

    code = "NODE_API_WORKER"
    status = 503
    exit_code = 6
    title = "Not served by an API worker"


class JsonInvalidError(InputError):
    """The request body is not strict JSON: malformed, duplicate members, NaN, too deep."""

    code = "JSON_INVALID"
    title = "Malformed JSON"


class CursorInvalidError(InputError):
    """An ``after`` cursor that this API did not hand out (issue 4 §3: pagination)."""

    code = "CURSOR_INVALID"
    title = "Invalid cursor"


class RequestInvalidError(InputError):
    """The body or a parameter does not match the route's schema; ``errors`` lists the fields."""

    code = "REQUEST_INVALID"
    status = 422
    title = "Invalid request"


class BodyTooLargeError(InputError):
    """The request body is larger than the node accepts (issue 4 §3: request size limits)."""

    code = "BODY_TOO_LARGE"
    status = 413
    title = "Request body too large"


class MediaTypeError(InputError):
    """A request body sent with a media type other than JSON."""

    code = "MEDIA_TYPE_UNSUPPORTED"
    status = 415
    title = "Unsupported media type"


class RouteNotFoundError(NotFoundError):
    """No route answers at this path."""

    code = "ROUTE_NOT_FOUND"
    title = "No such route"


class MethodNotAllowedError(InputError):
    """The route exists but not with this method."""

    code = "METHOD_NOT_ALLOWED"
    status = 405
    title = "Method not allowed"


class ReleaseRefusedError(DeniedError):
    """The policy refused a release (Art. 6: case by case); the node has audited it.

    ``reasons`` holds the reason codes, ``decisions`` the decision for each recipient.
    """

    code = "RELEASE_REFUSED"
    title = "Release refused"


class ForwardRefusedError(DeniedError):
    """The policy refused a forward to a third party (Art. 6: the originator's prior written
    consent); the node has audited it.  ``reasons`` holds the codes, ``decision`` the decision.
    """

    code = "FORWARD_REFUSED"
    title = "Forward refused"


class InternalError(GsomiaError):
    """A defect of ours.  The problem says only that; the log has the traceback."""

    code = "INTERNAL"
    title = "Internal error"


class HttpError(InputError):
    """Any other HTTP-level refusal raised by the framework; its status travels beside it."""

    code = "HTTP_ERROR"
    title = "HTTP error"


def http_error(status: int, message: str) -> GsomiaError:
    """The error for an HTTP status the framework raised (routing, body parsing)."""
    if status == 404:
        return RouteNotFoundError("no route answers at this path")
    if status == 405:
        return MethodNotAllowedError("this route does not answer this method")
    if status == 413:
        return BodyTooLargeError(message)
    if status == 415:
        return MediaTypeError(message)
    return HttpError(message, code=f"HTTP_{status}")
