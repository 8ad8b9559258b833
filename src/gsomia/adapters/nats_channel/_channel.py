"""The node channel over NATS JetStream: :class:`NatsChannel`, a :class:`~gsomia.ports.BatchChannel`.

See :mod:`gsomia.adapters.nats_channel` for the theory of operation and ADR 0010 for the choices.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from gsomia.adapters.http_channel._request import (
    DEFAULT_SKEW,
    ChannelMisdirected,
    ChannelRefusal,
    ChannelReplayed,
    ChannelUnauthenticated,
    authenticate,
    check_idempotency_key,
    parse_headers,
    sign_request,
)
from gsomia.adapters.nats_channel._layout import (
    DURABLE,
    inbound_filter,
    parse_subject,
    stream_name,
    subject,
)
from gsomia.adapters.nats_channel._loop import LoopThread, connect
from gsomia.adapters.nats_channel._loop import why as _why
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import InputError
from gsomia.markings import validate_party
from gsomia.ports import BatchChannel, Channel, ChannelError, Clock, Inbound, check_limit

__all__ = ["DEFAULT_DUPLICATE_WINDOW", "NatsChannel", "msg_id", "signed_path"]

DEFAULT_DUPLICATE_WINDOW: Final = timedelta(minutes=10)
"""Twice the signed instant's skew window (ADR 0010 §4): a replay inside the skew is deduped."""
MAX_BATCH: Final = 1024
MAX_NONCES: Final = 1_000_000
_FETCH: Final = 256
_FETCH_WAIT: Final = 1.0
log = logging.getLogger("gsomia.channel.nats")


def msg_id(originator: str, key: str) -> str:
    """The ``Nats-Msg-Id`` of a message: the originator and its idempotency key.

    The originator's prefix keeps one nation from claiming (and so suppressing, for a
    de-duplication window) an id another nation will use on the same stream (ADR 0010 §4).
    """
    return f"{originator}:{key}"


def signed_path(subj: str) -> str:
    """The ``path`` field of the signed canonical string (ADR 0005 §2) for a NATS subject.

    It names the transport and the subject, so a signature made for the HTTP channel (or for
    another subject) never passes here, nor the reverse.
    """
    return f"nats:{subj}"


class _Buffer:
    """Fetched, not yet handed out messages, shared by the loop's fetcher and ``receive``."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: deque[Msg] = deque()
        self.in_flight = 0
        self.cond = threading.Condition()
        self.closed = False

    def room(self) -> int:
        with self.cond:
            return self.capacity - len(self.items) - self.in_flight

    def put(self, msgs: list[Msg]) -> None:
        with self.cond:
            self.items.extend(msgs)
            self.cond.notify_all()

    def take(self, limit: int, timeout: float) -> list[Msg]:
        with self.cond:
            if not self.items and timeout > 0 and not self.closed:
                self.cond.wait_for(lambda: self.items or self.closed, timeout)
            out = [self.items.popleft() for _ in range(min(limit, len(self.items)))]
            self.in_flight += len(out)
            return out

    def done(self, count: int) -> None:
        with self.cond:
            self.in_flight -= count

    def drain(self) -> list[Msg]:
        with self.cond:
            self.closed = True
            out = list(self.items)
            self.items.clear()
            self.cond.notify_all()
            return out


class NatsChannel:
    """The government-to-government channel over NATS JetStream (ADR 0010).

    ``send`` returns once the partner's stream stored the message (a JetStream acknowledgement;
    a duplicate within the window is acknowledged too); anything else raises
    :class:`~gsomia.ports.ChannelError` and the node's outbox retries.  ``receive`` returns the
    messages that passed the signature checks, oldest first; they are acknowledged to the
    broker only when :meth:`settle` is called (the host does, after the node's unit of work
    committed) or, failing that, at the next ``receive``.  A message never settled is
    redelivered after ``ack_wait``.
    """

    def __init__(
        self,
        party: str,
        keys: NodeKeys,
        trust: TrustStore,
        *,
        clock: Clock,
        servers: Sequence[str],
        user: str | None = None,
        password: str | None = None,
        creds: str | None = None,
        durable: str = DURABLE,
        timeout: float = 5.0,
        skew: timedelta = DEFAULT_SKEW,
        duplicate_window: timedelta = DEFAULT_DUPLICATE_WINDOW,
        ack_wait: float = 30.0,
        max_buffer: int = 1024,
        replicas: int = 1,
        provision: bool = True,
    ) -> None:
        if not isinstance(keys, NodeKeys) or keys.party != party:
            raise InputError("the channel's party and keys disagree", code="CHANNEL_INPUT_INVALID")
        if not isinstance(trust, TrustStore):
            raise InputError("trust must be a TrustStore", code="CHANNEL_INPUT_INVALID")
        if not servers or not all(isinstance(s, str) and s for s in servers):
            raise InputError("name at least one NATS server", code="CHANNEL_INPUT_INVALID")
        if timeout <= 0 or ack_wait <= 0 or max_buffer < 1 or replicas < 1:
            raise InputError("the channel's limits must be positive", code="CHANNEL_INPUT_INVALID")
        if skew <= timedelta(0) or duplicate_window < skew:
            raise InputError("the duplicate window must be at least the skew window",
                             code="CHANNEL_INPUT_INVALID")  # fmt: skip
        self._party = validate_party(party)
        self._keys, self._trust, self._clock = keys, trust, clock
        self._servers = list(servers)
        self._auth = {"user": user, "password": password, "user_credentials": creds}
        self._stream = stream_name(party)
        self._durable = durable
        self._timeout = float(timeout)
        self._skew = skew
        self._window = duplicate_window
        self._ack_wait = float(ack_wait)
        self._replicas = replicas
        self._buffer = _Buffer(max_buffer)
        self._in_flight: list[Msg] = []
        self._refused: list[tuple[str, int]] = []
        self._nonces: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._lock = threading.Lock()  # receive/settle/close
        self._closed = False
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._fetcher: asyncio.Task[None] | None = None
        self._loop = LoopThread(f"gsomia-nats-{party}")
        try:
            self._loop.call(self._start(provision), self._timeout * 3)
        except BaseException as exc:
            if self._nc is not None:
                self._run_quietly(self._disconnect())
            self._loop.stop()
            if isinstance(exc, ChannelError | InputError):
                raise
            why = "no server answered in time" if isinstance(exc, TimeoutError) else _why(exc)
            raise ChannelError(
                f"cannot reach the NATS servers {self._servers}: {why}",
                code="CHANNEL_BIND_FAILED",
            ) from None

    # -- start and stop ---------------------------------------------------------------------

    async def _start(self, provision: bool) -> None:
        self._nc = await connect(self._servers, f"gsomia-{self._party}", self._auth, self._timeout)
        self._js = self._nc.jetstream(timeout=self._timeout)
        if provision:
            await self._provision(self._js)
        sub = await self._js.pull_subscribe_bind(durable=self._durable, stream=self._stream)
        self._fetcher = asyncio.get_running_loop().create_task(self._fetch_loop(sub))

    async def _provision(self, js: JetStreamContext) -> None:
        """Create (or bring up to date) this node's stream and its durable consumer."""
        stream = StreamConfig(
            name=self._stream,
            subjects=[inbound_filter(self._party)],
            retention=RetentionPolicy.WORK_QUEUE,  # a message leaves once the node acked it
            storage=StorageType.FILE,
            discard=DiscardPolicy.NEW,  # when full, refuse new messages; never drop stored ones
            duplicate_window=self._window.total_seconds(),
            num_replicas=self._replicas,
        )
        try:
            await js.add_stream(stream)
        except nats.js.errors.BadRequestError:  # exists with other settings
            await js.update_stream(stream)
        consumer = ConsumerConfig(
            durable_name=self._durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_deliver=-1,
            max_ack_pending=max(4 * self._buffer.capacity, 1024),
            filter_subject=inbound_filter(self._party),
        )
        try:
            await js.add_consumer(self._stream, consumer)
        except nats.js.errors.BadRequestError as exc:  # exists with other settings: keep it
            log.warning("%s: durable consumer %s kept as is: %s", self._party, self._durable, exc)

    async def _fetch_loop(self, sub: JetStreamContext.PullSubscription) -> None:
        """Keep the local buffer filled from the durable consumer (long-polling pulls)."""
        while True:
            room = self._buffer.room()
            if room <= 0:
                await asyncio.sleep(0.005)
                continue
            try:
                msgs = await sub.fetch(min(room, _FETCH), timeout=_FETCH_WAIT)
            except TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server is away: the client reconnects, we wait
                log.debug("%s: fetch: %s", self._party, _why(exc))
                await asyncio.sleep(0.25)
                continue
            self._buffer.put(msgs)

    async def _disconnect(self) -> None:
        if self._fetcher is not None:
            self._fetcher.cancel()
            await asyncio.gather(self._fetcher, return_exceptions=True)
        if self._nc is not None and not self._nc.is_closed:
            try:
                await self._nc.flush(timeout=2)
            except Exception as exc:
                log.debug("%s: flush on close: %s", self._party, _why(exc))
            await self._nc.close()

    def close(self) -> None:
        """Stop fetching; give back what was fetched but never handed out; disconnect."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            unused = self._buffer.drain()
        try:
            if unused:
                self._loop.call(_each(unused, "nak"), self._timeout)
            self._loop.call(self._disconnect(), self._timeout * 2)
        except Exception as exc:
            log.warning("%s: close: %s", self._party, _why(exc))
        finally:
            self._loop.stop()

    def __enter__(self) -> NatsChannel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the Channel port -------------------------------------------------------------------

    @property
    def party(self) -> str:
        """This node's party."""
        return self._party

    @property
    def url(self) -> str:
        """The servers this channel was given (for logs and ``run/node.json``)."""
        return ",".join(self._servers)

    def send(self, party: str, payload: bytes, *, idempotency_key: str) -> None:
        """Publish ``payload`` to ``party``'s stream; return once stored, else ChannelError."""
        self._publish(party, [(bytes(payload), check_idempotency_key(idempotency_key))])

    def send_many(self, party: str, messages: Sequence[tuple[bytes, str]]) -> None:
        """Publish several messages to ``party``'s stream at once, each signed and de-duplicated
        on its own; return once every one is stored, else ChannelError (the outbox retries)."""
        if not 1 <= len(messages) <= MAX_BATCH:
            raise InputError(
                f"a batch holds 1 to {MAX_BATCH} messages", code="CHANNEL_INPUT_INVALID"
            )
        self._publish(party, [(bytes(p), check_idempotency_key(k)) for p, k in messages])

    def _publish(self, party: str, messages: list[tuple[bytes, str]]) -> None:
        if self._closed:
            raise ChannelError("the channel is closed")
        try:
            subj = subject(self._party, party)
        except InputError:
            raise ChannelError(
                f"{party!r} is not a partner party", detail={"party": str(party)}
            ) from None
        now = self._clock.now()
        signed = []
        for payload, key in messages:
            headers = sign_request(
                self._keys,
                recipient=party,
                now=now,
                nonce=secrets.token_urlsafe(16),
                idempotency_key=key,
                body=payload,
                path=signed_path(subj),
            )
            headers["Nats-Msg-Id"] = msg_id(self._party, key)
            headers["Nats-Expected-Stream"] = stream_name(party)
            signed.append((headers, payload))
        js = self._js
        assert js is not None

        async def publish_all() -> list[Any]:
            return await asyncio.gather(
                *(js.publish(subj, p, timeout=self._timeout, headers=h) for h, p in signed),
                return_exceptions=True,
            )

        try:
            results = self._loop.call(publish_all(), self._timeout + 1.0)
        except TimeoutError:
            raise _unavailable(party, "no acknowledgement in time") from None
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise _unavailable(
                party, f"{len(failed)} of {len(results)} not stored: {_why(failed[0])}"
            )

    def receive(self, *, limit: int = 100, timeout: float = 0.0) -> list[Inbound]:
        """Up to ``limit`` verified messages, oldest first, waiting ``timeout`` s for the first.

        The messages handed out by the previous call, if not yet settled, are acknowledged now:
        the caller comes back only once it handled them.
        """
        check_limit(limit)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise InputError("timeout must be a non-negative number", code="CHANNEL_INPUT_INVALID")
        self.settle(True)
        if self._closed:
            return []
        deadline = time.monotonic() + float(timeout)
        while True:
            raws = self._buffer.take(limit, max(0.0, deadline - time.monotonic()))
            out = self._admit(raws)
            if out or not raws or self._closed or time.monotonic() >= deadline:
                return out  # all of a batch refused, and time left: wait on for the first

    def _admit(self, raws: list[Msg]) -> list[Inbound]:
        """Check what was taken; hand out what passes, terminate and report what does not."""
        accepted: list[Msg] = []
        refused: list[Msg] = []
        out: list[Inbound] = []
        with self._lock:
            for raw in raws:
                try:
                    out.append(self._check(raw))
                    accepted.append(raw)
                except ChannelRefusal as err:
                    refused.append(raw)
                    self._refused.append((err.code, err.status))
                    log.warning("%s: refused %s: %s (%s)", self._party, raw.subject,
                                err.message, err.code)  # fmt: skip
            self._in_flight += accepted
            self._buffer.done(len(refused))
        if refused:  # refused for good: never redelivered (the node audits the refusal)
            self._run_quietly(_each(refused, "term"))
        return out

    def settle(self, committed: bool = True) -> None:
        """Acknowledge (``committed``) or give back for redelivery (not) what ``receive`` last
        handed out.  The host calls it once the node's units of work for them committed, or
        with False when handling them failed (ADR 0010 §5)."""
        with self._lock:
            msgs, self._in_flight = self._in_flight, []
            self._buffer.done(len(msgs))
            if not msgs or self._closed:
                return
        self._run_quietly(_each(msgs, "ack" if committed else "nak"))

    def refusals(self) -> list[tuple[str, int]]:
        """``(code, status)`` of each message refused since the last call (for the audit log)."""
        with self._lock:
            out, self._refused = self._refused, []
            return out

    # -- checks -----------------------------------------------------------------------------

    def _check(self, msg: Msg) -> Inbound:
        """The checks of ADR 0010 §3, in order; :class:`ChannelRefusal` on the first that fails."""
        parsed = parse_subject(msg.subject)
        if parsed is None or parsed[1] != self._party:
            raise ChannelMisdirected(f"{msg.subject} is not addressed to {self._party}")
        originator = parsed[0]
        headers = msg.headers or {}
        signed = parse_headers(headers.get)
        if signed.sender != originator:
            raise ChannelUnauthenticated(
                f"a message on {msg.subject} is signed as {signed.sender}",
                code="CHANNEL_SENDER_MISMATCH",
            )
        if headers.get("Nats-Msg-Id") != msg_id(originator, signed.idempotency_key):
            raise ChannelRefusal(
                "the Nats-Msg-Id header does not match the signed idempotency key",
                code="CHANNEL_HEADER_INVALID",
                detail={"header": "Nats-Msg-Id"},
            )
        meta = msg.metadata
        stored = meta.timestamp or datetime.now(UTC)
        age = max(timedelta(0), datetime.fromtimestamp(time.time(), UTC) - stored)
        # the instant is checked against our clock as it read when the broker stored the message
        reference = self._clock.now() - age
        instant = authenticate(
            signed, bytes(msg.data), party=self._party, trust=self._trust, now=reference,
            skew=self._skew, path=signed_path(msg.subject),
        )  # fmt: skip
        seq = int(meta.sequence.stream)
        key = (signed.kid, signed.nonce)
        seen = self._nonces.get(key)
        if seen is not None and seen[0] != seq:
            raise ChannelReplayed("the nonce was already used by another message")
        self._nonces[key] = (seq, instant + self._skew)
        self._forget(reference)
        return Inbound(signed.sender, bytes(msg.data), signed.idempotency_key)

    def _forget(self, now: datetime) -> None:
        """Drop the nonces past their window, oldest first (the dict keeps arrival order, close
        to instant order), and the oldest beyond :data:`MAX_NONCES`: amortised O(1) a message.
        A nonce forgotten early weakens nothing the broker does not already hold: a replay
        inside the de-duplication window is dropped there, and outside it fails the instant."""
        cutoff = now - self._skew
        while self._nonces:
            key, (_, until) = next(iter(self._nonces.items()))
            if until >= cutoff and len(self._nonces) <= MAX_NONCES:
                return
            del self._nonces[key]

    def _run_quietly(self, coro: Any) -> None:
        try:
            self._loop.call(coro, self._timeout)
        except Exception as exc:  # lost with the connection: the broker redelivers after ack_wait
            log.warning("%s: acknowledgement not sent: %s", self._party, _why(exc))


async def _each(msgs: list[Msg], action: str) -> None:
    for msg in msgs:
        try:
            await getattr(msg, action)()
        except nats.errors.MsgAlreadyAckdError:
            continue


def _unavailable(party: str, why: str) -> ChannelError:
    return ChannelError(f"{party} did not take the message: {why}", detail={"party": party})


def _conformance(channel: NatsChannel) -> tuple[Channel, BatchChannel]:
    """Never called: lets mypy check that the adapter implements the port."""
    return channel, channel
