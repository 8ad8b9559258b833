"""Two ASGI middlewares around the app: a body size limit, and a guard that never leaks internals.

Theory of operation
-------------------
:class:`BodyLimitMiddleware` (issue 4 §3: request size limits) decides *before* the app reads
anything.  A ``Content-Length`` above the limit is answered 413 ``BODY_TOO_LARGE`` at once,
without reading a byte of the body; an ill-formed one is 400 ``CONTENT_LENGTH_INVALID``.  Without
``Content-Length`` (chunked transfer) the middleware reads the body itself, counting, and answers
413 as soon as the count passes the limit.  Either way the body is read whole, within the limit,
before the app is called, and then handed to it as one message: the app never sees a partial body,
so an oversized request can leave nothing behind (PRODUCT.md §8); each refusal is audited at the
node (:mod:`gsomia.api.refusals`).  The limit bounds the bytes on the wire; JSON parsing then has
its own depth and number limits (:mod:`gsomia.strictjson`).

:class:`GuardMiddleware`, the outermost, adds ``Cache-Control: no-store`` and
``X-Content-Type-Options: nosniff`` to every response (classified metadata must not sit in shared
caches), and turns any exception that escaped the app into a bare 500 ``INTERNAL`` problem.  The
exception is logged with its traceback to the ``gsomia.api`` logger; the client learns nothing.
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gsomia.api.errors import BodyTooLargeError, InternalError
from gsomia.api.problems import problem_response
from gsomia.api.refusals import audit_refusal
from gsomia.errors import GsomiaError, InputError

__all__ = ["BodyLimitMiddleware", "GuardMiddleware"]

log = logging.getLogger("gsomia.api")

_HEADERS: Final = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
)


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_body`` bytes with 413, before the app reads them."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 0:
            raise ValueError("max_body must be a non-negative integer")
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        lengths = [v for k, v in scope.get("headers", ()) if k.lower() == b"content-length"]
        if lengths:
            declared = _content_length(lengths)
            if declared is None:
                err: GsomiaError = InputError(
                    "Content-Length must be one non-negative integer (RFC 9110 §8.6)",
                    code="CONTENT_LENGTH_INVALID",
                )
                err = await audit_refusal(scope, err.code) or err
                await problem_response(err, path)(scope, receive, send)
                return
            if declared > self.max_body:
                await self._refuse(scope, receive, send, path)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body.extend(message.get("body", b""))
            if len(body) > self.max_body:
                await self._refuse(scope, receive, send, path)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        err: GsomiaError = BodyTooLargeError(
            f"the request body exceeds {self.max_body} bytes",
            detail={"max_body": self.max_body},
        )
        err = await audit_refusal(scope, err.code) or err
        response = problem_response(err, path, headers={"Connection": "close"})
        await response(scope, receive, send)


def _content_length(values: list[bytes]) -> int | None:
    """The declared length if every header agrees on one non-negative integer; else None."""
    found = {v.strip() for v in values}
    if len(found) != 1:
        return None
    (text,) = found
    if not text.isdigit():
        return None
    return int(text) if len(text) <= 18 else 10**18  # beyond any limit; int() caps digits


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields ``body`` once, then passes on (to see a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class GuardMiddleware:
    """Security headers on every response; an escaped exception becomes a bare 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in _HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception:
            log.exception(
                "unhandled error on %s %s", scope.get("method", "?"), scope.get("path", "?")
            )
            if started:
                raise  # the response is under way: the server closes the connection
            err = InternalError("an unexpected error")
            await problem_response(err, str(scope.get("path", "")))(scope, receive, guarded_send)
