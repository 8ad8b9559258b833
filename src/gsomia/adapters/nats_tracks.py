"""Track streams across the workers of one node: NATS JetStream as the sequencer (issue 7 §1; ADR 0013).

A node that runs several worker processes (docs/operations.md "several workers per node") has one
:class:`~gsomia.streaming.TrackHub` per process.  Without help, a track a sensor feeds to worker A
never reaches a CoT client connected to worker B.  :class:`NatsTrackStream` makes one JetStream
stream of the node's own account the node's *track sequencer*: every worker publishes what its
ingest accepted, and every worker consumes the whole stream into its local hub, so all clients of
all workers see every track message in the one order the stream gave it.

Theory of operation
-------------------
*Layout.*  Stream ``GSOMIA_TRACKS_KOR`` in the KOR account (never exported: a partner's tracks
travel over the partner link under :func:`gsomia.policy.release`, never through this stream)
captures ``gsomia.tracks.KOR.>``.  A message goes on ``gsomia.tracks.KOR.<originator>.<uid>``:
the originator is KOR for our sensors' tracks, a partner for the tracks a worker's partner link
accepted (:mod:`gsomia.streaming.link`, ADR 0012), and ``<uid>`` is the CoT uid
(:func:`gsomia.tracks.cot.event_uid`: the track, or its launch point, or its impact prediction)
in unpadded URL-safe base64, so that one subject holds one symbol of the picture.
Its ``Nats-Msg-Id`` is ``originator:track:seq``: a second publication of the same message
(a retry) within the de-duplication window is dropped by the stream.

*Publishing* (:meth:`NatsTrackStream.publish`, any thread, never blocks): the message is encoded
as the strict JSON of :mod:`gsomia.tracks.json_codec` and queued to ONE publisher task on this
adapter's event loop, which writes the publications to the connection in queue order without
waiting for each acknowledgement (``publish_async``): no batching delay, and one connection's
messages are stored in the order written, so per-track order is the caller's order.  The
returned future resolves to the stream sequence once the stream acknowledged (stored, replicated
where the stream is), or fails after :data:`ACK_TIMEOUT_S`.

*Consuming* (:meth:`NatsTrackStream.start`): an ordered push consumer (ephemeral, in memory,
flow-controlled; nats-py recreates it from the last stream sequence seen after a gap or a lost
heartbeat) with ``DeliverPolicy.LAST_PER_SUBJECT``: first the latest message of each symbol —
the current picture, in stream order, so each track's messages still come in order — then every
later message.  Each is decoded strictly (an undecodable one, or one on a subject other than
its own, is dropped and counted: the stream is ours, but fail closed) and handed to the
``deliver`` callback (the hub's cursor refuses repeats).  :meth:`start` returns once the picture
stored when it started has been delivered.

*Limits.*  ``max_age`` (default one day, :data:`gsomia.tracks.model.MAX_STALE_AFTER`: nothing
older can still be current) and ``max_msgs_per_subject`` (default 4096: at 10 Hz, nearly seven
minutes of one track) bound the stream; JetStream drops the oldest first.  A worker that fell that far behind its hub's clients has been cut off
anyway (the hub's slow-client rule).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, Final

import nats
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import (
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from gsomia.adapters.nats_channel._layout import PREFIX
from gsomia.adapters.nats_channel._loop import LoopThread, connect
from gsomia.adapters.nats_channel._loop import why as _why
from gsomia.errors import GsomiaError, TrackError
from gsomia.markings import validate_party
from gsomia.tracks import TrackMessage
from gsomia.tracks import json_codec as track_json
from gsomia.tracks.cot import event_uid
from gsomia.tracks.model import MAX_STALE_AFTER

__all__ = [
    "ACK_TIMEOUT_S",
    "NatsTrackStream",
    "track_msg_id",
    "track_subject",
    "tracks_filter",
    "tracks_stream",
]

ACK_TIMEOUT_S: Final = 5.0
"""Seconds a publication waits for the stream's acknowledgement before it counts as failed."""
DEDUP_WINDOW_S: Final = 120.0
MAX_PER_SUBJECT: Final = 4096
_READY_TIMEOUT_S: Final = 20.0
log = logging.getLogger("gsomia.tracks.nats")

Deliver = Callable[[TrackMessage], object]


def tracks_stream(party: str) -> str:
    """The stream of ``party``'s track messages: ``GSOMIA_TRACKS_KOR``."""
    return f"GSOMIA_TRACKS_{validate_party(party)}"


def tracks_filter(party: str) -> str:
    """Every subject of ``party``'s track stream: ``gsomia.tracks.KOR.>``."""
    return f"{PREFIX}.tracks.{validate_party(party)}.>"


def track_subject(party: str, message: TrackMessage) -> str:
    """The subject of ``message`` in ``party``'s stream:
    ``gsomia.tracks.<party>.<originator>.<base64url(CoT uid)>``."""
    token = base64.urlsafe_b64encode(event_uid(message).encode("utf-8")).rstrip(b"=")
    party = validate_party(party)
    return f"{PREFIX}.tracks.{party}.{message.originator}.{token.decode('ascii')}"


def track_msg_id(message: TrackMessage) -> str:
    """The de-duplication id of ``message``: ``originator:track:seq``."""
    return f"{message.originator}:{message.track_id}:{message.seq}"


class NatsTrackStream:
    """A node's track sequencer on JetStream, shared by its workers (module docstring)."""

    def __init__(
        self,
        party: str,
        *,
        servers: list[str],
        user: str | None = None,
        password: str | None = None,
        creds: str | None = None,
        replicas: int = 1,
        timeout: float = 5.0,
        max_per_subject: int = MAX_PER_SUBJECT,
    ) -> None:
        self.party = validate_party(party)
        self.stream = tracks_stream(party)
        self._servers = list(servers)
        self._auth: dict[str, Any] = {"user": user, "password": password,
                                      "user_credentials": creds}  # fmt: skip
        self._replicas = replicas
        self._timeout = timeout
        self._max_per_subject = max_per_subject
        self._loop: LoopThread | None = None
        self._queue: asyncio.Queue[tuple[str, bytes, str, concurrent.futures.Future[int]]]
        self._nc: Any = None
        self._js: Any = None
        self._deliver: Deliver | None = None
        self._lock = threading.Lock()
        self._counts = {"published": 0, "acknowledged": 0, "failed": 0, "delivered": 0,
                        "dropped": 0}  # fmt: skip
        self._ready = asyncio.Event()
        self._ready_at = 0
        self._closed = False

    # ---------------------------------------------------------------------------- lifecycle

    def start(self, deliver: Deliver) -> None:
        """Connect, make sure the stream exists, consume it into ``deliver``; return once the
        picture stored now has been delivered.  :class:`GsomiaError` ``NODE_START_FAILED`` if
        the broker cannot be reached."""
        self._deliver = deliver
        self._loop = LoopThread(f"gsomia-tracks-{self.party}")
        try:
            self._loop.call(self._connect(), _READY_TIMEOUT_S + self._timeout)
        except Exception as exc:
            self.close()
            raise GsomiaError(
                f"the track stream {self.stream} could not start: {_why(exc)}",
                code="NODE_START_FAILED",
            ) from None

    async def _connect(self) -> None:
        self._nc = await connect(
            self._servers, f"gsomia-tracks-{self.party}", self._auth, self._timeout
        )
        self._js = self._nc.jetstream(timeout=self._timeout)
        config = StreamConfig(
            name=self.stream,
            subjects=[tracks_filter(self.party)],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=MAX_STALE_AFTER.total_seconds(),
            max_msgs_per_subject=self._max_per_subject,
            duplicate_window=DEDUP_WINDOW_S,
            num_replicas=self._replicas,
        )
        try:
            info = await self._js.add_stream(config)
        except nats.js.errors.BadRequestError:  # exists with other settings
            info = await self._js.update_stream(config)
        self._ready_at = int(info.state.last_seq)
        if self._ready_at == 0 or info.state.messages == 0:
            self._ready.set()
        self._queue = asyncio.Queue()
        asyncio.get_running_loop().create_task(self._publisher())
        await self._js.subscribe(
            tracks_filter(self.party),
            stream=self.stream,
            cb=self._on_message,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
            idle_heartbeat=2.0,
            pending_msgs_limit=1 << 16,
        )
        with contextlib.suppress(TimeoutError):  # a picture that outlived its messages
            await asyncio.wait_for(self._ready.wait(), _READY_TIMEOUT_S)

    def close(self) -> None:
        """Wait (briefly) for pending acknowledgements, disconnect, stop the loop."""
        if self._closed:
            return
        self._closed = True
        loop = self._loop
        if loop is None:
            return
        try:
            if self._nc is not None:
                loop.call(self._disconnect(), self._timeout * 2)
        except Exception as exc:
            log.warning("%s tracks: close: %s", self.party, _why(exc))
        finally:
            loop.stop()

    async def _disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._js.publish_async_completed(), self._timeout)
        await self._nc.drain()

    @property
    def alive(self) -> bool:
        """Whether the adapter's loop runs and its connection is up (or reconnecting)."""
        return self._loop is not None and self._loop.alive and not self._closed

    def stats(self) -> dict[str, int]:
        """Counts since start: published, acknowledged, failed, delivered, dropped."""
        with self._lock:
            return dict(self._counts)

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    # ------------------------------------------------------------------------------ publish

    def publish(self, message: TrackMessage) -> concurrent.futures.Future[int]:
        """Queue ``message`` for the stream (never blocks); a future of its stream sequence.

        Call from one thread at a time per track (the sequenced hub holds its lock): the queue
        order is the stream's order.  :class:`TrackError` ``TRACK_SEQUENCER_UNAVAILABLE`` if the
        adapter is not running.
        """
        loop = self._loop
        if loop is None or self._closed or not loop.alive or self._js is None:
            raise TrackError(
                "the node's track sequencer (JetStream) is not running",
                code="TRACK_SEQUENCER_UNAVAILABLE",
            )
        result: concurrent.futures.Future[int] = concurrent.futures.Future()
        item = (track_subject(self.party, message), track_json.dumps(message).encode("utf-8"),
                track_msg_id(message), result)  # fmt: skip
        try:
            loop.loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop closed meanwhile
            raise TrackError(
                "the node's track sequencer (JetStream) stopped",
                code="TRACK_SEQUENCER_UNAVAILABLE",
            ) from None
        self._count("published")
        return result

    async def _publisher(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            subject, payload, msg_id, result = await self._queue.get()
            try:
                ack = await self._js.publish_async(
                    subject, payload, stream=self.stream, headers={"Nats-Msg-Id": msg_id}
                )
            except Exception as exc:  # the client refused it (closed, too many pending)
                self._fail(result, exc)
                continue
            timer = loop.call_later(ACK_TIMEOUT_S, self._expire, ack)
            ack.add_done_callback(lambda f, r=result, t=timer: self._acked(f, r, t))

    @staticmethod
    def _expire(ack: asyncio.Future[Any]) -> None:
        if not ack.done():
            ack.set_exception(TimeoutError("no acknowledgement from the stream"))

    def _acked(
        self, ack: asyncio.Future[Any], result: concurrent.futures.Future[int], timer: Any
    ) -> None:
        timer.cancel()
        if ack.cancelled():
            self._fail(result, asyncio.CancelledError())
            return
        exc = ack.exception()
        if exc is not None:
            self._fail(result, exc)
            return
        self._count("acknowledged")
        result.set_result(int(ack.result().seq))

    def _fail(self, result: concurrent.futures.Future[int], exc: BaseException) -> None:
        self._count("failed")
        log.warning("%s tracks: a publication failed: %s", self.party, _why(exc))
        result.set_exception(
            TrackError(
                f"the track sequencer did not store the message: {_why(exc)}",
                code="TRACK_SEQUENCER_UNAVAILABLE",
            )
        )

    # ------------------------------------------------------------------------------ consume

    async def _on_message(self, msg: Msg) -> None:
        try:
            message = track_json.loads(msg.data)
            if msg.subject != track_subject(self.party, message):
                raise TrackError("a message on a subject not its own", code="TRACK_MISMATCH")
        except GsomiaError as exc:
            self._count("dropped")
            log.warning("%s tracks: dropped stream message: %s", self.party, exc.code)
        else:
            deliver = self._deliver
            if deliver is not None:
                try:
                    deliver(message)
                except Exception:  # a broken hub must not stop the consumer
                    log.exception("%s tracks: delivery failed", self.party)
            self._count("delivered")
        if not self._ready.is_set():
            with contextlib.suppress(Exception):
                if msg.metadata.sequence.stream >= self._ready_at:
                    self._ready.set()
