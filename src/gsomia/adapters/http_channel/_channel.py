"""The node channel itself: :class:`HttpChannel`, a :class:`~gsomia.ports.Channel` over HTTP.

Sending opens (and keeps alive) one ``http.client`` connection per partner, serialised by a
lock; a request on a kept-alive connection that the partner closed meanwhile is signed afresh
and sent once more on a new connection.  Receiving is :mod:`._server` in a background thread.
"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

from gsomia.adapters.http_channel._batch import BATCH_PATH, batch_key, encode_batch
from gsomia.adapters.http_channel._request import (
    DEFAULT_MAX_BODY,
    DEFAULT_SKEW,
    METHOD,
    PATH,
    check_idempotency_key,
    sign_request,
)
from gsomia.adapters.http_channel._server import ChannelServer, Inbox, Receiver
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import InputError
from gsomia.ports import BatchChannel, Channel, ChannelError, Clock, Inbound, check_limit

_MAX_RESPONSE: Final = 64 * 1024
_STALE: Final = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def peer_address(base_url: str) -> tuple[str, int]:
    """``(host, port)`` of an ``http://host:port`` base URL, or ``CHANNEL_PEER_INVALID``."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except (TypeError, ValueError):
        parts, port = None, None
    if (
        parts is None
        or parts.scheme != "http"
        or not parts.hostname
        or port is None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise InputError(
            f"a partner's channel address is http://host:port, not {base_url!r}",
            code="CHANNEL_PEER_INVALID",
        )
    return parts.hostname, port


class HttpChannel:
    """The government-to-government channel over HTTP with signed requests (ADR 0005).

    ``send`` returns once the partner's node has verified the request and queued the message
    (``204``); any other answer, or no answer, raises :class:`~gsomia.ports.ChannelError`
    (``CHANNEL_UNAVAILABLE``) and the node's outbox retries.  ``receive`` returns what partners
    sent, in arrival order; the sender of each message is the party whose trusted key signed
    it, never an address.  The queue is in memory: a message is safe once the node has
    recorded it, and until then the sender keeps retrying, since no receipt has come back.
    """

    def __init__(
        self,
        party: str,
        keys: NodeKeys,
        trust: TrustStore,
        *,
        clock: Clock,
        bind: tuple[str, int] = ("127.0.0.1", 0),
        peers: Mapping[str, str] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        skew: timedelta = DEFAULT_SKEW,
        timeout: float = 5.0,
        max_queue: int = 10_000,
        max_nonces: int = 1_000_000,
    ) -> None:
        if not isinstance(keys, NodeKeys) or keys.party != party:
            raise InputError("the channel's party and keys disagree", code="CHANNEL_INPUT_INVALID")
        if not isinstance(trust, TrustStore):
            raise InputError("trust must be a TrustStore", code="CHANNEL_INPUT_INVALID")
        if max_body < 0 or max_queue < 1 or max_nonces < 1 or timeout <= 0:
            raise InputError("the channel's limits must be positive", code="CHANNEL_INPUT_INVALID")
        if skew <= timedelta(0):
            raise InputError("the skew window must be positive", code="CHANNEL_INPUT_INVALID")
        self._party = party
        self._keys = keys
        self._clock = clock
        self._timeout = timeout
        self._peers: dict[str, tuple[str, int]] = {}
        for name, url in (peers or {}).items():
            self.add_peer(name, url)
        self._conns: dict[str, http.client.HTTPConnection] = {}
        self._single_only: set[str] = set()  # partners that answered 404 to a batch
        self._locks: dict[str, threading.Lock] = {}
        self._state = threading.Lock()
        self._closed = False
        self._inbox = Inbox(max_queue=max_queue, max_nonces=max_nonces)
        receiver = Receiver(
            party=party,
            trust=trust,
            now=clock.now,
            skew=skew,
            max_body=max_body,
            inbox=self._inbox,
        )
        try:
            self._server = ChannelServer(bind, receiver)
        except OSError as exc:
            raise ChannelError(
                f"cannot listen on {bind[0]}:{bind[1]}: {exc.strerror or exc}",
                code="CHANNEL_BIND_FAILED",
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"gsomia-channel-{party}",
            daemon=True,
        )
        self._thread.start()

    # -- configuration ----------------------------------------------------------------------

    @property
    def party(self) -> str:
        """This node's party."""
        return self._party

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` the channel listens on."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The base URL partners send to (``http://host:port``)."""
        host, port = self.address
        return f"http://{host}:{port}"

    def add_peer(self, party: str, base_url: str) -> None:
        """Send to ``party`` at ``base_url`` from now on (who it is, its key proves)."""
        self._peers[party] = peer_address(base_url)

    # -- the Channel port -------------------------------------------------------------------

    def send(self, party: str, payload: bytes, *, idempotency_key: str) -> None:
        """POST ``payload`` to ``party``'s node; return once it queued it, else ChannelError."""
        key = check_idempotency_key(idempotency_key)
        self._post(party, PATH, key, bytes(payload))

    def send_many(self, party: str, messages: Sequence[tuple[bytes, str]]) -> None:
        """POST several ``(payload, idempotency key)`` pairs to ``party``'s node in ONE signed
        request (``/v1/channel/batch``, :mod:`._batch`); return once it queued all of them,
        else ChannelError and none may be assumed queued.

        A partner that does not know batches (``404``) is sent the messages one by one, now and
        from then on.
        """
        keys = [check_idempotency_key(key) for _, key in messages]
        if party in self._single_only:
            for payload, key in messages:
                self._post(party, PATH, key, bytes(payload))
            return
        try:
            body = encode_batch([(bytes(payload), key) for payload, key in messages])
        except ValueError as exc:
            raise InputError(str(exc), code="CHANNEL_INPUT_INVALID") from None
        try:
            self._post(party, BATCH_PATH, batch_key(keys), body)
        except ChannelError as err:
            if err.detail.get("problem_code") != "CHANNEL_PATH_UNKNOWN":
                raise
            self._single_only.add(party)
            self.send_many(party, messages)

    def _post(self, party: str, path: str, key: str, body: bytes) -> None:
        with self._state:
            if self._closed:
                raise ChannelError("the channel is closed")
            address = self._peers.get(party)
            if address is None:
                raise ChannelError(f"{party} has no known address", detail={"party": party})
            lock = self._locks.setdefault(party, threading.Lock())
        with lock:
            for _ in range(2):
                conn = self._conns.pop(party, None)
                reused = conn is not None
                if conn is None:
                    conn = http.client.HTTPConnection(*address, timeout=self._timeout)
                headers = sign_request(
                    self._keys,
                    recipient=party,
                    now=self._clock.now(),
                    nonce=secrets.token_urlsafe(16),
                    idempotency_key=key,
                    body=body,
                    path=path,
                )
                try:
                    conn.request(METHOD, path, body=body, headers=headers)
                    response = conn.getresponse()
                    answer = response.read(_MAX_RESPONSE + 1)
                except _STALE as exc:
                    conn.close()
                    if reused:
                        continue  # the partner closed an idle connection: once more, afresh
                    raise self._unavailable(party, str(exc) or type(exc).__name__) from None
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    raise self._unavailable(party, str(exc) or type(exc).__name__) from None
                if response.will_close or len(answer) > _MAX_RESPONSE or not response.isclosed():
                    conn.close()
                else:
                    self._conns[party] = conn
                if 200 <= response.status < 300:
                    return
                raise self._unavailable(
                    party, f"answered {response.status}", response.status, _problem_code(answer)
                )
            raise self._unavailable(party, "the connection was closed twice")  # pragma: no cover

    def receive(self, *, limit: int = 100, timeout: float = 0.0) -> list[Inbound]:
        """Up to ``limit`` verified messages, oldest first, waiting ``timeout`` s for the first."""
        check_limit(limit)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise InputError("timeout must be a non-negative number", code="CHANNEL_INPUT_INVALID")
        return self._inbox.take(limit, float(timeout))

    def refusals(self) -> list[tuple[str, int]]:
        """``(code, status)`` of each request refused since the last call (for the audit log)."""
        return self._inbox.take_refusals()

    def close(self) -> None:
        """Stop the server, wake and join every connection thread, close our connections."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            conns = list(self._conns.values())
            self._conns.clear()
        self._inbox.close()
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()  # joins the connection threads (block_on_close)
        self._thread.join()
        for conn in conns:
            conn.close()

    def __enter__(self) -> HttpChannel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _unavailable(
        party: str, why: str, status: int | None = None, problem: str | None = None
    ) -> ChannelError:
        detail: dict[str, Any] = {"party": party}
        if status is not None:
            detail["status"] = status
        if problem is not None:
            detail["problem_code"] = problem
        suffix = f" ({problem})" if problem else ""
        return ChannelError(f"{party} did not take the message: {why}{suffix}", detail=detail)


def _problem_code(answer: bytes) -> str | None:
    """The ``code`` of a problem details answer, if it has one."""
    try:
        problem = json.loads(answer)
    except (ValueError, UnicodeDecodeError):
        return None
    code = problem.get("code") if isinstance(problem, dict) else None
    return code if isinstance(code, str) and code.isascii() and len(code) <= 64 else None


def _conformance(channel: HttpChannel) -> tuple[Channel, BatchChannel]:
    """Never called: lets mypy check that the adapter implements the port."""
    return channel, channel
