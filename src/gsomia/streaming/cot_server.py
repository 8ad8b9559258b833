"""CoT over TCP and TLS (TAK protocol version 0): sensor ingest and tactical egress (PRODUCT.md §5).

:class:`CotServer` runs on one asyncio event loop (the runtime gives it a thread of its own) and
serves every ``[[cot.listen]]`` of the node's configuration (:mod:`gsomia.streaming.settings`).

Theory of operation
-------------------
*Who.*  Each connection acts as one official of this node: the listener's ``official`` on a
plain listener (bind it to loopback or a protected network: TCP carries no identity), or, on a
TLS listener, the official that ``[cot.clients]`` maps the client certificate's SHA-256
fingerprint to (the certificate must verify against the listener's ``client_ca``).  The official
is read from the node's directory when the connection opens and every :data:`REAUTH_S` seconds;
an unknown certificate (``COT_CLIENT_UNKNOWN``) or an official who is not an active official of
this node (``NODE_UNAUTHENTICATED``) is refused, counted and audited, and the connection closed.

*In.*  Bytes go through a :class:`~gsomia.tracks.CotFramer` (events end at ``</event>``), each
event through the strict decoder :func:`~gsomia.tracks.decode_event` (no DTD, no entity,
64 KiB, depth 12; docs/adr/0014), then :meth:`~gsomia.streaming.ingest.TrackIngest.take`
(``sensor_feed`` role, our originator, current, in order).  A refused event is counted and
audited in batches by its code and the stream goes on; nothing a client sends can raise out of
the connection's task.  A TAK ping (``t-x-c-t``) is answered with a pong on the same connection
(:mod:`gsomia.tracks.ping`), never published and never counted as a refusal.

*Out.*  A connection whose official holds the ``reader`` role is a hub sink: it first gets the
current picture (the latest message of each track it may see, not stale), then every later
message it may see, decided by its own :class:`~gsomia.streaming.lens.TrackLens` at the moment
of sending (Art. 7; fail closed).  The CoT bytes of a message are encoded once for all clients
(:meth:`~gsomia.streaming.hub.Delivery.form`).  Writing never waits: bytes go to the socket's
buffer, and a client whose unsent bytes pass :data:`MAX_BUFFER` is cut off
(``COT_CLIENT_TOO_SLOW``) so that it never holds up the others; it reconnects and starts again
from the current picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from gsomia.errors import CotError
from gsomia.node import Node
from gsomia.ports import OfficialRecord
from gsomia.streaming.hub import Delivery
from gsomia.streaming.ingest import TrackIngest
from gsomia.streaming.lens import TrackLens
from gsomia.streaming.settings import CotListener, CotSettings, fingerprint_of
from gsomia.tracks import CotFramer, TrackMessage, encode_event
from gsomia.tracks.ping import Ping, pong_event, read_event

__all__ = ["FLUSH_S", "MAX_BUFFER", "REAUTH_S", "BoundListener", "CotServer", "tls_context"]

REAUTH_S: Final = 5.0
FLUSH_S: Final = 1.0
MAX_BUFFER: Final = 1 << 20
_READ: Final = 64 * 1024
_NOW_TTL_S: Final = 0.05
_HANDSHAKE_S: Final = 10.0
log = logging.getLogger("gsomia.cot")

Resolver = Callable[[str], OfficialRecord | None]


@dataclass(frozen=True, slots=True)
class BoundListener:
    """A listener as bound: what ``run/node.json`` records."""

    scheme: str
    host: str
    port: int
    official: str | None

    def as_dict(self) -> dict[str, object]:
        """The JSON form (``url`` as PyTAK's ``COT_URL``)."""
        return {
            "url": f"{self.scheme}://{self.host}:{self.port}",
            "scheme": self.scheme,
            "host": self.host,
            "port": self.port,
            "official": self.official,
        }


def tls_context(listener: CotListener, data: Path) -> ssl.SSLContext:
    """The server side of a TLS listener: TLS 1.2+, a client certificate required."""
    assert listener.cert is not None
    assert listener.key is not None
    assert listener.client_ca is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(data / listener.cert, data / listener.key)
    context.load_verify_locations(cafile=data / listener.client_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class _Client:
    """One connection as a hub sink (egress); see the module docstring."""

    def __init__(
        self, server: CotServer, lens: TrackLens, writer: asyncio.StreamWriter, route: str
    ) -> None:
        self.server = server
        self.lens = lens
        self.writer = writer
        self.route = route
        self.loop = asyncio.get_running_loop()
        self.closed = False

    def offer(self, delivery: Delivery) -> None:
        if self.closed:
            return
        now = self.server.now()
        message = delivery.message
        if message.is_stale(now) or self.lens.allows(message, now) is None:
            return
        transport = self.writer.transport
        if transport.is_closing():
            return
        transport.write(delivery.form("cot", self.server.encode))
        if transport.get_write_buffer_size() > self.server.max_buffer:
            self.cut_off()

    def pong(self, now: datetime) -> None:
        """Answer a TAK ping on this connection alone (:mod:`gsomia.tracks.ping`)."""
        transport = self.writer.transport
        if not self.closed and not transport.is_closing():
            transport.write(pong_event(now))

    def cut_off(self) -> None:
        self.closed = True
        self.server.hub.detach(self)
        self.server.ingest.refuse(self.lens.official_id, self.route, "COT_CLIENT_TOO_SLOW")
        self.writer.transport.abort()


class CotServer:
    """Every CoT listener of a node, on the running event loop (module docstring)."""

    def __init__(
        self,
        node: Node,
        ingest: TrackIngest,
        settings: CotSettings,
        data: Path,
        resolve: Resolver,
        *,
        max_buffer: int = MAX_BUFFER,
    ) -> None:
        self.node = node
        self.ingest = ingest
        self.hub = ingest.hub
        self.settings = settings
        self.data = Path(data)
        self.resolve = resolve
        self.max_buffer = max_buffer
        self.bound: list[BoundListener] = []
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._now: tuple[float, datetime] | None = None
        self._flusher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------------------ helpers

    def now(self) -> datetime:
        """The node's instant, read at most every 50 ms (one read serves a whole fan-out)."""
        tick = asyncio.get_running_loop().time()
        cached = self._now
        if cached is None or tick - cached[0] > _NOW_TTL_S:
            cached = self._now = (tick, self.node.now())
        return cached[1]

    def encode(self, message: TrackMessage) -> bytes:
        """The CoT event of ``message`` (made once per message, shared by every client)."""
        return encode_event(message, self.node.registry.schemes)

    # ---------------------------------------------------------------------------- lifecycle

    async def start(self) -> list[BoundListener]:
        """Listen on every configured listener; what was bound."""
        for listener in self.settings.listen:
            context = tls_context(listener, self.data) if listener.tls else None

            async def handle(
                reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter,
                listener: CotListener = listener,
            ) -> None:
                await self._serve(listener, reader, writer)

            server = await asyncio.start_server(
                handle,
                listener.host,
                listener.port,
                ssl=context,
                ssl_handshake_timeout=_HANDSHAKE_S if context else None,
                limit=_READ,
            )
            self._servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            self.bound.append(BoundListener(listener.scheme, host, port, listener.official))
        self._flusher = asyncio.create_task(self._flush_forever())
        return list(self.bound)

    async def close(self) -> None:
        """Stop listening, close every connection, audit what is pending."""
        for server in self._servers:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await asyncio.get_running_loop().run_in_executor(None, self.ingest.flush)

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(FLUSH_S)
            try:
                await loop.run_in_executor(None, self.ingest.flush)
            except Exception:  # a store hiccup: the counts are kept in memory; try later
                log.exception("could not audit CoT refusals")

    # --------------------------------------------------------------------------- connection

    async def _identify(
        self, listener: CotListener, writer: asyncio.StreamWriter, route: str
    ) -> OfficialRecord | None:
        official_id = listener.official
        if official_id is None:
            ssl_object = writer.get_extra_info("ssl_object")
            der = None if ssl_object is None else ssl_object.getpeercert(binary_form=True)
            official_id = None if der is None else self.settings.clients.get(fingerprint_of(der))
            if official_id is None:
                self.ingest.refuse(None, route, "COT_CLIENT_UNKNOWN")
                return None
        record = await asyncio.get_running_loop().run_in_executor(None, self.resolve, official_id)
        if record is None or not record.active or record.official.nationality != self.node.party:
            self.ingest.refuse(official_id, route, "NODE_UNAUTHENTICATED")
            return None
        return record

    async def _serve(
        self, listener: CotListener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        port = writer.get_extra_info("sockname")[1]
        route = f"COT /{listener.scheme}/{port}"
        client: _Client | None = None
        try:
            record = await self._identify(listener, writer, route)
            if record is None:
                return
            client = _Client(self, TrackLens(self.node, record), writer, route)
            if client.lens.reader:
                for delivery in self.hub.attach(client):  # the current picture first
                    client.offer(delivery)
            await self._read(client, record, reader, route)
        except (ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # the server is closing: end quietly
            pass
        finally:
            if client is not None:
                client.closed = True
                self.hub.detach(client)
            with contextlib.suppress(Exception):
                writer.close()
            self._tasks.discard(task)

    async def _read(
        self, client: _Client, record: OfficialRecord, reader: asyncio.StreamReader, route: str
    ) -> None:
        loop = asyncio.get_running_loop()
        framer = CotFramer()
        schemes = self.node.registry.schemes
        checked = loop.time()
        while not client.closed:
            try:
                data = await asyncio.wait_for(reader.read(_READ), REAUTH_S)
            except TimeoutError:
                data = None  # a quiet client: still re-read its official below
            if data == b"":
                return
            now = self.now()
            for frame in framer.feed(data or b""):
                if isinstance(frame, CotError):
                    self.ingest.refuse(record.official.id, route, frame.code)
                    continue
                try:
                    message = read_event(frame, schemes)
                except CotError as exc:
                    self.ingest.refuse(record.official.id, route, exc.code)
                    continue
                if isinstance(message, Ping):
                    client.pong(now)
                    continue
                self.ingest.take(record, message, now, route)
            if loop.time() - checked > REAUTH_S:
                fresh = await loop.run_in_executor(None, self.resolve, record.official.id)
                if fresh is None or not fresh.active:
                    self.ingest.refuse(record.official.id, route, "NODE_UNAUTHENTICATED")
                    return
                record, checked = fresh, loop.time()
                client.lens = TrackLens(self.node, fresh)
