"""``POST /v1/tracks``: JSON ingest of missile-warning track messages; ``GET /v1/tracks/stats``.

JSON ingest (issue 5 §2, PRODUCT.md §5) for sensors that do not speak CoT: the caller's bearer
token must be an active ``sensor_feed`` official of this node (else 403 ``NODE_FORBIDDEN``,
audited).  The body holds up to :data:`MAX_BATCH` messages in the JSON form of
:mod:`gsomia.tracks.json_codec`, under ``messages``.  Each is decoded strictly and taken on its
own by the node's :class:`~gsomia.streaming.TrackIngest` (our originator, a known level, one
topic, current at the node's now, in order per track), in the order given: one refused message
does not stop the others.  The answer (200) has one result per message, in order, with the
refusal's code (``TRACK_*``, ``COT_STALE``, ``COT_TIME_FUTURE``, …); refusals are counted and
audited (one ``reject`` record per distinct code, in the request).  Accepted messages reach every
entitled subscriber (CoT clients, the live map) at once.

``WS /v1/tracks/ws``: the same ingest over one WebSocket, a body per text frame, a result per
answer frame (:func:`ingest_tracks_ws`), for sensors that stream.

``GET /v1/tracks/stats`` (security officers): messages accepted and refused by code since the
node started, messages published, subscribers connected.

The hub and the ingest are the serving node's (:mod:`gsomia.runtime.tracks_host`);
:func:`bind_tracks` attaches them to the app.  An API worker process (ADR 0021) has none: there
these routes answer 503 ``NODE_API_WORKER`` (the WebSocket closes with 1013).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, cast

from fastapi import Depends, Request, WebSocket
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from gsomia import strictjson
from gsomia.api.errors import ApiWorkerError
from gsomia.api.routing import Caller, NodeDep, new_router, node_of
from gsomia.errors import GsomiaError, TrackError
from gsomia.node import Node, NodeForbiddenError
from gsomia.node.directory import may
from gsomia.ports import OfficialRecord, Role
from gsomia.streaming import TrackIngest
from gsomia.tracks import json_codec

__all__ = ["MAX_BATCH", "MAX_FRAME", "bind_tracks", "router"]

MAX_BATCH: Final = 500
MAX_FRAME: Final = 1 << 20
"""The largest WebSocket text frame taken (bytes of UTF-8 text, counted as characters)."""
_STATE: Final = "gsomia_tracks"
_ROUTE: Final = "POST /v1/tracks"
_WS_ROUTE: Final = "WEBSOCKET /v1/tracks/ws"

router = new_router("tracks")


def bind_tracks(app_state: Any, ingest: TrackIngest) -> None:
    """Attach the node's track ingest (and so its hub) to the app's state."""
    setattr(app_state, _STATE, ingest)


def _bound(app_state: Any) -> TrackIngest | None:
    return cast(TrackIngest | None, getattr(app_state, _STATE, None))


async def _tracks(request: Request) -> TrackIngest:
    tracks = _bound(request.app.state)
    if tracks is None:  # an API worker process (ADR 0021): the hub is the serving process's
        raise ApiWorkerError(
            "this is an API worker of the node: send tracks to the node's main API"
        )
    return tracks


Tracks = Annotated[TrackIngest, Depends(_tracks)]


class TrackBatchIn(BaseModel):
    """Track messages, each in the JSON form of ``gsomia.tracks.json_codec``."""

    model_config = ConfigDict(extra="forbid")

    messages: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class TrackResultOut(BaseModel):
    """What became of one message."""

    index: int
    accepted: bool
    track: str | None = Field(default=None, description="the message's track id, once decoded")
    seq: int | None = None
    code: str | None = Field(default=None, description="the refusal's code; None if accepted")


class TrackBatchOut(BaseModel):
    """One result per message, in the order of the request."""

    accepted: int
    refused: int
    results: list[TrackResultOut]


class TrackStatsOut(BaseModel):
    """Track ingest since the node started."""

    accepted: int
    refused: dict[str, int]
    published: int
    subscribers: int


@router.post(
    "/tracks",
    response_model=TrackBatchOut,
    status_code=200,
    summary="Ingest track messages from a sensor (JSON)",
)
def ingest_tracks(
    body: TrackBatchIn, node: NodeDep, caller: Caller, tracks: Tracks
) -> TrackBatchOut:
    """Take each message in order; say which were refused and why."""
    if not tracks.may_feed(caller):
        node.audit_refused_request(_ROUTE, "NODE_FORBIDDEN", caller.official.id)
        raise NodeForbiddenError(
            f"{caller.official.id} is not a sensor feed of the {node.party} node"
        )
    return _ingest(node, tracks, caller, body.messages, _ROUTE)


def _ingest(
    node: Node, tracks: TrackIngest, caller: OfficialRecord, raws: list[Any], route: str
) -> TrackBatchOut:
    """Take each message in order (POST and WebSocket alike); refusals counted and audited."""
    now = node.now()
    results: list[TrackResultOut] = []
    for index, raw in enumerate(raws):
        try:
            message = json_codec.from_dict(raw)
        except TrackError as exc:
            tracks.refuse(caller.official.id, route, exc.code)
            results.append(TrackResultOut(index=index, accepted=False, code=exc.code))
            continue
        code = tracks.take(caller, message, now, route)
        results.append(
            TrackResultOut(
                index=index,
                accepted=code is None,
                track=message.track_id,
                seq=message.seq,
                code=code,
            )
        )
    tracks.flush()
    accepted = sum(1 for r in results if r.accepted)
    return TrackBatchOut(accepted=accepted, refused=len(results) - accepted, results=results)


@router.websocket("/tracks/ws")
async def ingest_tracks_ws(websocket: WebSocket) -> None:
    """JSON track ingest over one WebSocket (RFC 6455) for sensors that stream (issue 5 §2).

    The handshake carries ``Authorization: Bearer <token>`` of an active ``sensor_feed``
    official (else the socket is closed with 1008, policy violation, and the reason's code:
    ``NODE_TOKEN_INVALID``…, ``NODE_FORBIDDEN``; audited).  Each text frame is a body of
    ``POST /v1/tracks`` (``{"messages": [...]}``, at most :data:`MAX_BATCH`, at most
    :data:`MAX_FRAME` bytes) and is answered by one text frame: its results, as that route
    answers, or a problem document (``TRACK_JSON_MALFORMED``, counted and audited) for a frame
    that is not such a body; the connection stays open.  A binary frame, or one larger than
    :data:`MAX_FRAME`, closes it (1003, 1009).
    """
    node = cast(Node, node_of(websocket.app))
    tracks = _bound(websocket.app.state)
    if tracks is None:  # an API worker process (ADR 0021): 1013, try again later elsewhere
        await websocket.close(code=1013, reason=ApiWorkerError.code)
        return
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    try:
        record = await run_in_threadpool(
            node.authenticate, token if scheme.lower() == "bearer" else ""
        )
    except GsomiaError as exc:  # audited by the node
        await websocket.close(code=1008, reason=exc.code)
        return
    if not tracks.may_feed(record):
        await run_in_threadpool(
            node.audit_refused_request, _WS_ROUTE, "NODE_FORBIDDEN", record.official.id
        )
        await websocket.close(code=1008, reason="NODE_FORBIDDEN")
        return
    await websocket.accept()
    while True:
        frame = await websocket.receive()
        if frame["type"] == "websocket.disconnect":
            return
        text = frame.get("text")
        if text is None or len(text) > MAX_FRAME:
            binary = text is None
            code = "TRACK_JSON_MALFORMED" if binary else "TRACK_FRAME_TOO_LARGE"
            await run_in_threadpool(_refuse, tracks, record, code)
            await websocket.close(code=1003 if binary else 1009, reason=code)
            return
        answer = await run_in_threadpool(_ws_frame, node, tracks, record, text)
        await websocket.send_text(answer)


def _refuse(tracks: TrackIngest, caller: OfficialRecord, code: str) -> None:
    tracks.refuse(caller.official.id, _WS_ROUTE, code)
    tracks.flush()


def _ws_frame(node: Node, tracks: TrackIngest, caller: OfficialRecord, text: str) -> str:
    try:
        body = TrackBatchIn.model_validate(
            strictjson.loads(text, max_bytes=MAX_FRAME, allow_float=True)
        )
    except (strictjson.JsonProblem, ValidationError) as exc:
        _refuse(tracks, caller, "TRACK_JSON_MALFORMED")
        refused = TrackError(f"not a track frame: {str(exc)[:500]}", code="TRACK_JSON_MALFORMED")
        return json.dumps(refused.to_problem("/v1/tracks/ws"))
    return _ingest(node, tracks, caller, body.messages, _WS_ROUTE).model_dump_json()


@router.get("/tracks/stats", response_model=TrackStatsOut, summary="Track ingest counters")
def track_stats(node: NodeDep, caller: Caller, tracks: Tracks) -> TrackStatsOut:
    """Accepted and refused (by code) since start; published; subscribers (security officers)."""
    if not may(caller, node.party, Role.SECURITY_OFFICER):
        node.audit_refused_request("GET /v1/tracks/stats", "NODE_FORBIDDEN", caller.official.id)
        raise NodeForbiddenError(f"{caller.official.id} may not read the track counters")
    return TrackStatsOut(**tracks.stats())
