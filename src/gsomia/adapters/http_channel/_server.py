"""The receiving side of the node channel: a threaded HTTP server that verifies, then queues.

Each connection has its own thread (:class:`http.server.ThreadingHTTPServer`).  A request is
checked in this order, and the first failure is answered with RFC 9457 problem details and
queues nothing: method and path; framing (``Content-Length`` only, at most ``max_body``, checked
*before* the body is read); media type; presence and form of the authentication headers; then,
with the body read, instant window, recipient, key and signature (:func:`._request.authenticate`);
last, under the queue's lock, the nonce (replay) and the queue's capacity.  Only then is the
message appended to the arrival-ordered queue and ``204 No Content`` sent.

A batch (``POST /v1/channel/batch``, :mod:`._batch`) passes the same checks as one request; its
body is then decoded (``400 CHANNEL_BATCH_INVALID`` if it does not decode exactly) and all its
messages are queued, in order, or none.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from gsomia.adapters.http_channel._batch import BATCH_PATH, decode_batch
from gsomia.adapters.http_channel._request import (
    METHOD,
    PATH,
    PROBLEM_TYPE,
    ChannelMethodNotAllowed,
    ChannelPathUnknown,
    ChannelRefusal,
    ChannelReplayed,
    authenticate,
    check_framing,
    check_media_type,
    parse_headers,
)
from gsomia.envelope.keys import TrustStore
from gsomia.errors import GsomiaError
from gsomia.ports import ChannelError, Inbound

_log = logging.getLogger(__name__)
_DRAIN_LIMIT = 1024 * 1024  # bytes of an unread body read and discarded before closing


class Inbox:
    """Messages that passed every check, in arrival order, and the nonces seen in the window."""

    def __init__(self, *, max_queue: int, max_nonces: int) -> None:
        self._cond = threading.Condition()
        self._queue: deque[Inbound] = deque()
        self._seen: dict[tuple[str, str], datetime] = {}  # (kid, nonce) → forget after
        self._expiry: deque[tuple[datetime, tuple[str, str]]] = deque()
        self._max_queue = max_queue
        self._max_nonces = max_nonces
        self._refusals: deque[tuple[str, int]] = deque(maxlen=10_000)
        self.closed = False

    def refused(self, code: str, status: int) -> None:
        """Remember a refused request for the node to audit (bounded: a flood drops the oldest)."""
        with self._cond:
            self._refusals.append((code, status))

    def take_refusals(self) -> list[tuple[str, int]]:
        """The refusals since the last call, oldest first."""
        with self._cond:
            out = list(self._refusals)
            self._refusals.clear()
            return out

    def admit(
        self, message: Inbound, *, kid: str, nonce: str, forget: datetime, now: datetime
    ) -> None:
        """Queue ``message`` unless its nonce was seen or the queue is full."""
        self.admit_many((message,), kid=kid, nonce=nonce, forget=forget, now=now)

    def admit_many(
        self,
        messages: Sequence[Inbound],
        *,
        kid: str,
        nonce: str,
        forget: datetime,
        now: datetime,
    ) -> None:
        """Queue every message of one request, in order, or none: not if the request's nonce
        was seen, nor if the queue has no room for all of them."""
        with self._cond:
            while self._expiry and self._expiry[0][0] < now:
                _, old = self._expiry.popleft()
                if self._seen.get(old, now) < now:
                    del self._seen[old]
            if (kid, nonce) in self._seen:
                raise ChannelReplayed("this nonce was already used", detail={"nonce": nonce})
            if (
                self.closed
                or len(self._queue) + len(messages) > self._max_queue
                or len(self._seen) >= self._max_nonces
            ):
                raise ChannelError("the channel is busy; retry later", code="CHANNEL_BUSY")
            self._seen[(kid, nonce)] = forget
            self._expiry.append((forget, (kid, nonce)))
            self._queue.extend(messages)
            self._cond.notify_all()

    def take(self, limit: int, timeout: float) -> list[Inbound]:
        """Up to ``limit`` messages, oldest first, waiting at most ``timeout`` s for the first."""
        with self._cond:
            if not self._queue and timeout > 0 and not self.closed:
                self._cond.wait_for(lambda: bool(self._queue) or self.closed, timeout)
            if self.closed:
                return []
            return [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]

    def close(self) -> None:
        """Refuse further messages and wake any waiting receiver."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class Receiver:
    """What the handler needs: our party, the trust store, the clock, the limits, the inbox."""

    def __init__(
        self,
        *,
        party: str,
        trust: TrustStore,
        now: Callable[[], datetime],
        skew: timedelta,
        max_body: int,
        inbox: Inbox,
    ) -> None:
        self.party = party
        self.trust = trust
        self.now = now
        self.skew = skew
        self.max_body = max_body
        self.inbox = inbox


class ChannelServer(ThreadingHTTPServer):
    """A threaded server whose connection threads are all joined by :meth:`server_close`."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        self.receiver = receiver
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Wake every connection thread blocked on an idle keep-alive socket."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gsomia-channel/1"
    sys_version = ""
    timeout = 10.0  # seconds a connection may sit idle or trickle (against slow clients)
    _body_read = False

    # -- dispatch ---------------------------------------------------------------------------

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _wrong_method(self) -> None:
        self._guarded(self._refuse_method)

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = _wrong_method

    def _refuse_method(self) -> None:
        if self.path not in (PATH, BATCH_PATH):
            raise ChannelPathUnknown(f"no channel resource at {self.path!r}")
        raise ChannelMethodNotAllowed(f"{self.command} is not allowed; use {METHOD}")

    def _guarded(self, action: Callable[[], None]) -> None:
        self._body_read = False
        try:
            action()
        except GsomiaError as err:
            where = self.path if self.path in (PATH, BATCH_PATH) else PATH
            self.server.receiver.inbox.refused(err.code, err.status)  # type: ignore[attr-defined]
            self._problem(err.status, err.to_problem(instance=where))
        except Exception:  # a defect of ours: answer 500, never leak the exception
            _log.exception("channel request failed")
            self._problem(500, GsomiaError("internal error").to_problem())

    # -- the one resource -------------------------------------------------------------------

    def _post(self) -> None:
        receiver = cast(ChannelServer, self.server).receiver
        if self.path not in (PATH, BATCH_PATH):
            raise ChannelPathUnknown(f"no channel resource at {self.path!r}")
        length = check_framing(
            self.headers.get("Content-Length"),
            self.headers.get("Transfer-Encoding"),
            receiver.max_body,
        )
        if len(self.headers.get_all("Content-Length") or []) != 1:
            raise ChannelRefusal("exactly one Content-Length is required")
        check_media_type(self.headers.get("Content-Type"))
        signed = parse_headers(self.headers.get)
        body = self.rfile.read(length)
        if len(body) != length:
            raise ChannelRefusal("the body is shorter than its Content-Length")
        self._body_read = True
        now = receiver.now()
        instant = authenticate(
            signed,
            body,
            party=receiver.party,
            trust=receiver.trust,
            now=now,
            skew=receiver.skew,
            path=self.path,
        )
        if self.path == BATCH_PATH:  # several messages, each with its own key (._batch)
            messages = [Inbound(signed.sender, p, key) for key, p in decode_batch(body)]
        else:
            messages = [Inbound(signed.sender, body, signed.idempotency_key)]
        receiver.inbox.admit_many(
            messages,
            kid=signed.kid,
            nonce=signed.nonce,
            forget=instant + receiver.skew,
            now=now,
        )
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- refusals ---------------------------------------------------------------------------

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors raised by the HTTP parser itself, as problem details too."""
        if code == 501:  # an unknown method
            err: GsomiaError = ChannelMethodNotAllowed(message or "method not allowed")
        else:
            err = ChannelRefusal(message or "malformed HTTP request", code="CHANNEL_HTTP_INVALID")
        problem = err.to_problem()
        problem["status"] = code if code != 501 else err.status
        self._problem(problem["status"], problem)

    def _problem(self, status: int, problem: dict[str, Any]) -> None:
        body = json.dumps(problem, ensure_ascii=False).encode("utf-8")
        self.close_connection = True
        self.request_version = self.protocol_version  # a status line even if it did not parse
        try:
            self.send_response(status)
            self.send_header("Content-Type", PROBLEM_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            if status == 405:
                self.send_header("Allow", METHOD)
            if status == 503:
                self.send_header("Retry-After", "1")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
            self._linger()
        except OSError:
            pass

    def _linger(self) -> None:
        """Read and drop what the client may still send, so the refusal is not lost to a reset."""
        if self._body_read:
            return
        self.connection.shutdown(socket.SHUT_WR)
        self.connection.settimeout(1.0)
        drained = 0
        while drained < _DRAIN_LIMIT:
            chunk = self.connection.recv(65536)
            if not chunk:
                break
            drained += len(chunk)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s %s", self.address_string(), format % args)
