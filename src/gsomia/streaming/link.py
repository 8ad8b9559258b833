"""Partner track links: our tracks pushed to partner nodes, theirs taken in (issue 5 §2, ADR 0012).

:class:`LinkService` runs on one asyncio event loop (the runtime's ``gsomia-cot`` thread, beside
the CoT listeners, so a partner's track reaches our CoT clients without a thread switch).  It
listens for partners' links (``[tracks]`` ``host``/``port``) and dials each configured partner
that has an ``address`` (:mod:`gsomia.streaming.link_settings`).  A link carries tracks one way,
from the dialer to the listener, over the authenticated, encrypted wire of
:mod:`gsomia.streaming.link_wire`.

*Out* (the dialer).  Once the handshake has authenticated the partner by its node key, the link
sends the standing approvals this partner needs to relay our tracks (when it is a hub, TISA;
:mod:`gsomia.streaming.link_policy`), attaches a hub sink and sends the *current picture* (every
non-stale latest message it may have), then every later message as soon as it is published: one
frame per message, written at once (no batching; ``TCP_NODELAY`` is set, so Nagle is off).
Every message is decided at that instant for that partner (:class:`LinkPolicy`), failing closed.
A partner that falls :data:`MAX_BUFFER` bytes behind is cut off (``LINK_PARTNER_TOO_SLOW``).  A
lost connection is dialled again with exponential backoff (:data:`BACKOFF_MIN_S` …
:data:`BACKOFF_MAX_S`, with jitter); the current picture is sent again, and the partner drops
what it already has (the last sequence number it took per track), so nothing is delivered twice.

*Relay* (at a hub).  A partner's track goes on to another partner only when its originator asked
for it on that very message (the ``via`` of its frame, remembered per message) and the
originator's standing approval allows it (:meth:`LinkPolicy.relayed`, TISA).

*In* (the listener).  Each message is decided with :func:`gsomia.policy.accept` for the
authenticated sender (the originator, or a hub relaying under TISA with the originator's
approval), checked current, then published to our hub with :meth:`TrackHub.publish`, where our
CoT clients' lenses add our marking beside the originator's (Art. 4).  A repeat (the picture
sent again, or the same message by two routes) is dropped and counted, not audited.  Refusals
(handshake, key, forged or replayed frame: the connection is closed; a message the policy
refuses: that message is dropped) are counted and audited in batches through
:class:`~gsomia.streaming.ingest.TrackIngest` (route ``LINK /<port>``, actor the peer's party).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from gsomia import strictjson
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.errors import CotError, LabelError, TrackError
from gsomia.labels import AlternativeLabel, LabelSet
from gsomia.labels import json_codec as label_json
from gsomia.node import Node
from gsomia.proofs import TokenError, verify_consent
from gsomia.streaming.hub import MAX_TRACKS, Delivery
from gsomia.streaming.ingest import MAX_SKEW, TrackIngest
from gsomia.streaming.link_policy import APPROVAL_RENEW_S, Approvals, LinkPolicy, issue_standing
from gsomia.streaming.link_settings import LinkPartner, LinkSettings, split_address
from gsomia.streaming.link_wire import (
    LinkError,
    Session,
    dial_handshake,
    listen_handshake,
    read_body,
)
from gsomia.tracks import TrackMessage, check_current
from gsomia.tracks.json_codec import MAX_JSON_BYTES
from gsomia.tracks.json_codec import dumps as track_dumps
from gsomia.tracks.json_codec import from_dict as track_from_dict

__all__ = ["APPROVAL", "BACKOFF_MAX_S", "BACKOFF_MIN_S", "MAX_BUFFER", "TRACK", "LinkService"]

TRACK, APPROVAL = 1, 2
MAX_BUFFER: Final = 4 << 20
BACKOFF_MIN_S: Final = 0.05
BACKOFF_MAX_S: Final = 5.0
FLUSH_S: Final = 1.0
_HANDSHAKE_S: Final = 10.0
_NOW_TTL_S: Final = 0.05
_HEAD_MAX: Final = 8192
_DEPTH: Final = 16  # a message nests 5 deep, a header with labels 6: 16 leaves room
log = logging.getLogger("gsomia.link")


def json_line(message: TrackMessage) -> bytes:
    """The message as one line of JSON (:mod:`gsomia.tracks.json_codec`), UTF-8."""
    return track_dumps(message).encode("utf-8")


def encode_track(
    message: TrackMessage,
    labels: LabelSet,
    relay_to: tuple[str, ...],
    body: bytes | None = None,
) -> bytes:
    """A TRACK payload: a header line (alternative labels, relays asked) then the message
    (``body``: its :func:`json_line`, if already made)."""
    head = b"{}"
    if labels.alternatives or relay_to:
        alts = [label_json.to_dict(a) for a in labels.alternatives]
        head = json.dumps({"alt": alts, "via": list(relay_to)}, separators=(",", ":")).encode()
    return head + b"\n" + (json_line(message) if body is None else body)


def _object(data: bytes, limit: int, what: str) -> dict[str, Any]:
    """``data`` as a JSON object, by :func:`gsomia.strictjson.loads`: at most ``limit`` bytes of
    UTF-8, no duplicate member, no NaN or infinity, integers of at most 16 digits (I-JSON,
    RFC 7493 §2.2), nested at most :data:`_DEPTH` deep; any refusal is ``TRACK_JSON_MALFORMED``.
    (A frame holds at most 16 brackets, so the parser's hooks check it without a second walk.)"""
    try:
        obj: dict[str, Any] = strictjson.loads(
            data, max_bytes=limit, max_depth=_DEPTH, allow_float=True
        )
    except strictjson.JsonProblem as exc:
        raise TrackError(f"{what}: {exc.message}", code="TRACK_JSON_MALFORMED",
                         detail={"problem": exc.kind.value}) from None  # fmt: skip
    return obj


def decode_track(payload: bytes) -> tuple[TrackMessage, LabelSet, frozenset[str]]:
    """The message, its label set and the relays asked; ``TRACK_*``/``LABEL_*`` errors.

    The message is checked as :func:`gsomia.tracks.json_codec.from_dict` checks JSON ingest."""
    head, sep, body = payload.partition(b"\n")
    if not sep:
        raise TrackError("a track frame has a header line", code="TRACK_JSON_MALFORMED")
    meta = {} if head == b"{}" else _object(head, _HEAD_MAX, "track frame header")
    if set(meta) - {"alt", "via"}:
        raise TrackError("track frame header holds alt and via", code="TRACK_JSON_MALFORMED")
    alts, via = meta.get("alt", []), meta.get("via", [])
    if not isinstance(alts, list) or not isinstance(via, list):
        raise TrackError("alt and via are lists", code="TRACK_JSON_MALFORMED")
    if not all(isinstance(v, str) and len(v) == 3 for v in via):
        raise TrackError("via lists party codes", code="TRACK_JSON_MALFORMED")
    message = track_from_dict(_object(body, MAX_JSON_BYTES, "track message"))
    labels = LabelSet(message.label, tuple(label_json.from_dict(a, AlternativeLabel) for a in alts))
    return message, labels, frozenset(via)


class _Egress:
    """One dialed link as a hub sink (see the module docstring: *Out*)."""

    def __init__(
        self, service: LinkService, session: Session, writer: asyncio.StreamWriter
    ) -> None:
        self.service = service
        self.session = session
        self.writer = writer
        self.peer = session.peer
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self._tokens: set[bytes] = set()

    def send(self, kind: int, payload: bytes) -> None:
        transport = self.writer.transport
        if self.closed or transport.is_closing():
            return
        transport.write(self.session.seal(kind, payload))
        if transport.get_write_buffer_size() > self.service.max_buffer:
            self.closed = True
            self.service.hub.detach(self)
            self.service.ingest.refuse(self.peer, self.service.route, "LINK_PARTNER_TOO_SLOW")
            transport.abort()

    def offer(self, delivery: Delivery) -> None:
        if self.closed:
            return
        service = self.service
        now = service.now()
        message = delivery.message
        if message.is_stale(now):
            return
        label = message.label
        if label.originator == service.node.party:
            out = service.policy.outgoing(label, self.peer, now)
            if out is None:
                return
        else:
            asked = service.relay_asks.get((label.originator, message.track_id, message.seq))
            if asked is None or self.peer not in asked:
                return  # the originator did not ask us to relay this one to this partner
            relayed = service.policy.relayed(label, self.peer, now)
            if relayed is None:
                return
            out, token = relayed
            if token not in self._tokens:  # the approval travels before the first relay
                self._tokens.add(token)
                self.send(APPROVAL, token)
            service.counts[f"relayed:{self.peer}"] += 1
        body = delivery.form("json-line", json_line)  # made once for every link
        self.send(TRACK, encode_track(message, out.labels, out.relay_to, body))
        service.counts[f"sent:{self.peer}"] += 1


@dataclass(frozen=True, slots=True)
class BoundLink:
    """The link listener as bound: what ``run/node.json`` records under ``"links"``."""

    host: str
    port: int

    def as_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {"url": f"gsomia-link://{self.host}:{self.port}", "host": self.host,
                "port": self.port}  # fmt: skip


class LinkService:
    """The partner links of one node, on the running event loop (module docstring)."""

    def __init__(
        self,
        node: Node,
        ingest: TrackIngest,
        settings: LinkSettings,
        keys: NodeKeys,
        trust: TrustStore,
        *,
        max_buffer: int = MAX_BUFFER,
    ) -> None:
        self.node = node
        self.ingest = ingest
        self.hub = ingest.hub
        self.settings = settings
        self.keys = keys
        self.trust = trust
        self.max_buffer = max_buffer
        self.approvals = Approvals()
        self.policy = LinkPolicy(node, settings, self.approvals)
        self.bound: BoundLink | None = None
        self.route = "LINK /out"
        self.counts: Counter[str] = Counter()
        self.connected: set[str] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._now: tuple[float, datetime] | None = None
        self._taken: dict[tuple[str, str], int] = {}  # (originator, track) -> last seq taken
        #: (originator, track, seq) -> partners the originator asked us, the hub, to relay to
        self.relay_asks: dict[tuple[str, str, int], frozenset[str]] = {}

    # ------------------------------------------------------------------------------ helpers

    def now(self) -> datetime:
        """The node's instant, read at most every 50 ms (one read serves a whole fan-out)."""
        tick = asyncio.get_running_loop().time()
        cached = self._now
        if cached is None or tick - cached[0] > _NOW_TTL_S:
            cached = self._now = (tick, self.node.now())
        return cached[1]

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stats(self) -> dict[str, Any]:
        """Tracks sent, relayed, received and repeats dropped (``sent:JPN``, …), approvals
        taken, reconnections; partners connected now."""
        return {**dict(sorted(self.counts.items())), "connected": sorted(self.connected)}

    # ---------------------------------------------------------------------------- lifecycle

    async def start(self) -> BoundLink | None:
        """Listen (if configured) and dial every partner with an address."""
        if self.settings.listen is not None:
            host, port = self.settings.listen
            self._server = await asyncio.start_server(self._accept, host, port)
            bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
            self.bound = BoundLink(bound_host, bound_port)
        for partner in self.settings.partners:
            if partner.address is not None:
                self._spawn(self._dial_forever(partner))
        self._spawn(self._flush_forever())
        return self.bound

    async def close(self) -> None:
        """Stop listening and dialing, close every link, audit what is pending."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        await asyncio.get_running_loop().run_in_executor(None, self.ingest.flush)

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(FLUSH_S)
            try:
                await loop.run_in_executor(None, self.ingest.flush)
            except Exception:  # a store hiccup: the counts are kept in memory; try later
                log.exception("could not audit link refusals")

    # ---------------------------------------------------------------------------------- out

    async def _dial_forever(self, partner: LinkPartner) -> None:
        assert partner.address is not None
        host, port = split_address(partner.address)
        backoff = BACKOFF_MIN_S
        while True:
            try:
                await self._dial_once(partner.party, host, port)
                backoff = BACKOFF_MIN_S  # it was up: dial again soon
            except LinkError as exc:
                self.ingest.refuse(partner.party, self.route, exc.code)
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                pass
            self.counts["reconnects"] += 1
            await asyncio.sleep(backoff * (0.5 + random.random()))  # noqa: S311 (jitter)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _dial_once(self, party: str, host: str, port: int) -> None:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), _HANDSHAKE_S)
        try:
            _nodelay(writer)
            handshake = dial_handshake(reader, writer, self.keys, self.trust, party, self.now())
            session = await asyncio.wait_for(handshake, _HANDSHAKE_S)
            await self._push(session, reader, writer)
        finally:
            writer.close()

    def _approvals_for(self, egress: _Egress) -> None:
        now = self.now()
        for third, topic in self.policy.hubs_for(egress.peer):
            egress.send(APPROVAL, issue_standing(self.keys, egress.peer, third, topic, now))

    async def _push(
        self, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        egress = _Egress(self, session, writer)
        self.connected.add(session.peer)
        try:
            self._approvals_for(egress)
            for delivery in self.hub.attach(egress):  # the current picture first
                egress.offer(delivery)
            while not egress.closed:
                try:  # the listener sends nothing: wait for the end, renew approvals meanwhile
                    await asyncio.wait_for(reader.read(1), APPROVAL_RENEW_S)
                    return  # the end (or a listener that talks: not the protocol)
                except TimeoutError:
                    self._approvals_for(egress)
        finally:
            egress.closed = True
            self.hub.detach(egress)
            self.connected.discard(session.peer)

    # ----------------------------------------------------------------------------------- in

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        _nodelay(writer)
        route = f"LINK /{writer.get_extra_info('sockname')[1]}"
        peer: str | None = None
        try:
            session = await asyncio.wait_for(
                listen_handshake(reader, writer, self.keys, self.trust, self.now()),
                _HANDSHAKE_S,
            )
            peer = session.peer
            if peer == self.node.party or peer not in self.node.registry.parties:
                raise LinkError(f"{peer} is not a partner", code="LINK_PEER_UNTRUSTED")
            while True:
                header, body = await read_body(reader)
                kind, payload = session.open(header, body)
                if kind == TRACK:
                    self._take(peer, payload, route)
                elif kind == APPROVAL:
                    self._approval(peer, payload, route)
                else:
                    raise LinkError(f"unknown frame type {kind}", code="LINK_FRAME_INVALID")
        except LinkError as exc:
            self.ingest.refuse(peer, route, exc.code)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            if task is not None:
                self._tasks.discard(task)

    def _take(self, peer: str, payload: bytes, route: str) -> None:
        now = self.now()
        try:
            message, labels, via = decode_track(payload)
        except (TrackError, LabelError) as exc:
            self.ingest.refuse(peer, route, exc.code)
            return
        decision = self.policy.incoming(labels, peer, now)
        if not decision.allowed:
            self.ingest.refuse(peer, route, decision.codes[0] if decision.codes else "LINK_DENIED")
            return
        key = (message.originator, message.track_id)
        if message.seq <= self._taken.get(key, 0):
            self.counts[f"repeats:{peer}"] += 1  # the picture sent again, or a second route
            return
        if via and message.label.originator == peer:  # only the originator asks for relays
            self.relay_asks[(peer, message.track_id, message.seq)] = via
            if len(self.relay_asks) > MAX_TRACKS:
                del self.relay_asks[next(iter(self.relay_asks))]  # the oldest request
        try:
            check_current(message, now, MAX_SKEW)
            self.hub.publish(message)
        except (CotError, TrackError) as exc:
            self.ingest.refuse(peer, route, exc.code)
            return
        self._taken.pop(key, None)
        self._taken[key] = message.seq
        if len(self._taken) > MAX_TRACKS:
            del self._taken[next(iter(self._taken))]  # the track heard of longest ago
        self.counts[f"received:{peer}"] += 1

    def _approval(self, peer: str, token: bytes, route: str) -> None:
        try:
            consent = verify_consent(token, self.trust, self.now())
        except TokenError as exc:
            self.ingest.refuse(peer, route, exc.code)
            return
        us = self.node.party
        from_originator = consent.originator == peer and consent.holder == us
        from_hub = consent.holder == peer and consent.third_party == us
        if not (from_originator or from_hub) or self.approvals.keep(consent, token) is None:
            self.ingest.refuse(peer, route, "LINK_APPROVAL_INVALID")
            return
        self.counts["approvals"] += 1


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
