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

``GET /v1/tracks/stats`` (security officers): messages accepted and refused by code since the
node started, messages published, subscribers connected.

The hub and the ingest are the serving node's (:mod:`gsomia.runtime.tracks_host`);
:func:`bind_tracks` attaches them to the app.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, cast

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.errors import TrackError
from gsomia.node import NodeForbiddenError
from gsomia.node.directory import may
from gsomia.ports import Role
from gsomia.streaming import TrackIngest
from gsomia.tracks import json_codec

__all__ = ["MAX_BATCH", "bind_tracks", "router"]

MAX_BATCH: Final = 500
_STATE: Final = "gsomia_tracks"
_ROUTE: Final = "POST /v1/tracks"

router = new_router("tracks")


def bind_tracks(app_state: Any, ingest: TrackIngest) -> None:
    """Attach the node's track ingest (and so its hub) to the app's state."""
    setattr(app_state, _STATE, ingest)


async def _tracks(request: Request) -> TrackIngest:
    return cast(TrackIngest, getattr(request.app.state, _STATE))


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
    now = node.now()
    results: list[TrackResultOut] = []
    for index, raw in enumerate(body.messages):
        try:
            message = json_codec.from_dict(raw)
        except TrackError as exc:
            tracks.refuse(caller.official.id, _ROUTE, exc.code)
            results.append(TrackResultOut(index=index, accepted=False, code=exc.code))
            continue
        code = tracks.take(caller, message, now, _ROUTE)
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


@router.get("/tracks/stats", response_model=TrackStatsOut, summary="Track ingest counters")
def track_stats(node: NodeDep, caller: Caller, tracks: Tracks) -> TrackStatsOut:
    """Accepted and refused (by code) since start; published; subscribers (security officers)."""
    if not may(caller, node.party, Role.SECURITY_OFFICER):
        node.audit_refused_request("GET /v1/tracks/stats", "NODE_FORBIDDEN", caller.official.id)
        raise NodeForbiddenError(f"{caller.official.id} may not read the track counters")
    return TrackStatsOut(**tracks.stats())
