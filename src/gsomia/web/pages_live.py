"""Live missile warning: the map page, the track stream (SSE) and the simulated feed.

Routes
------
``GET /web/live``
    The page: a map of the region drawn in the browser from the vendored ``world-atlas``
    boundaries (no tile server), the track list, and, for a security officer or a
    ``sensor_feed`` official, a form to simulate a launch.
``GET /web/live/events`` (session cookie) and ``GET /v1/tracks/events`` (bearer token)
    ``text/event-stream``: ``hello``, then one ``track`` event per message the official may see
    (:class:`gsomia.web.live.TrackLens`: the backlog first, then live, in order), ``reset`` when
    a slow client was cut off (it reconnects), ``signed-out`` when the session or token stopped
    being valid (checked every :data:`REAUTH_S`), and a heartbeat comment.
``POST /web/live/simulate`` (session + CSRF) and ``POST /v1/tracks/simulate`` (bearer, JSON)
    Run :func:`gsomia.tracks.simulate.simulate` from the node's now and replay its messages into
    the node's :class:`~gsomia.web.live.TrackBuffer`, ``speed`` times faster than real time.
    Body (all optional): ``area`` (a key of ``LAUNCH_AREAS``), ``missile_class`` (SRBM, MRBM,
    IRBM), ``profile`` (standard, lofted), ``rate_hz`` (0.1-10), ``seed``, ``speed`` (1-600).
    Security officers and ``sensor_feed`` officials only; a refusal is audited at the node
    (``reject``, ``NODE_FORBIDDEN``).  Answer: ``202`` with the track ids, the number of
    messages and the replay's duration in seconds.

The node's real sensor ingest (CoT over TCP/TLS, ``POST /v1/tracks``; :mod:`gsomia.streaming`)
publishes into the same hub; this feed is for drills, demos and tests, and every message it makes
is marked ``simulated``.  A stream's backlog leaves out what is already stale at the node's now.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from itertools import islice
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from gsomia import strictjson
from gsomia.errors import GsomiaError, InputError, TrackError
from gsomia.labels import LabelSet
from gsomia.node import Node, NodeForbiddenError
from gsomia.node.directory import may
from gsomia.ports import OfficialRecord, Role
from gsomia.streaming import TrackHub, TrackLens
from gsomia.streaming.lens import view_of
from gsomia.tracks import TrackMessage
from gsomia.tracks.simulate import LAUNCH_AREAS, MissileClass, Profile, Scenario, simulate
from gsomia.web import sse
from gsomia.web.core import PREFIX, Web, form_of

__all__ = ["REAUTH_S", "Feeder", "install", "scenario_from"]

REAUTH_S: Final = 15.0
MAX_MESSAGES: Final = 20_000
MAX_RUNNING: Final = 4
_NOW_TTL_S: Final = 1.0


def _number(raw: object, name: str, low: float, high: float, default: float) -> float:
    if raw is None or raw == "":
        return default
    try:
        value = float(str(raw))
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        raise TrackError(f"{name} must be a number from {low:g} to {high:g}",
                         code="TRACK_SIMULATION_INVALID")  # fmt: skip
    return value


def scenario_from(params: dict[str, Any], now: Any) -> tuple[Scenario, float]:
    """The scenario and replay speed a simulate request asks for (refusal: TRACK_*)."""
    seed_raw = params.get("seed")
    try:
        seed = secrets.randbelow(1_000_000) if seed_raw in (None, "") else int(str(seed_raw))
    except ValueError:
        raise TrackError("the seed is an integer", code="TRACK_SIMULATION_INVALID") from None
    scenario = Scenario(
        start=now,
        area=str(params.get("area") or "sunan"),
        missile_class=str(params.get("missile_class") or "MRBM"),  # type: ignore[arg-type]
        profile=str(params.get("profile") or "standard"),  # type: ignore[arg-type]
        rate_hz=_number(params.get("rate_hz"), "rate_hz", 0.1, 10.0, 1.0),
        seed=seed,
    )
    return scenario, _number(params.get("speed"), "speed", 1.0, 600.0, 30.0)


class Feeder:
    """Simulated launches replayed into a buffer (at most :data:`MAX_RUNNING` at once)."""

    def __init__(self, buffer: TrackHub) -> None:
        self.buffer = buffer
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, scenario: Scenario, speed: float) -> dict[str, Any]:
        """Plan the messages (in a thread) and start replaying them; what was started."""
        if len(self._tasks) >= MAX_RUNNING:
            raise TrackError(f"at most {MAX_RUNNING} simulations run at once",
                             code="TRACK_SIMULATION_BUSY")  # fmt: skip
        messages = await run_in_threadpool(
            lambda: list(islice(simulate(scenario), MAX_MESSAGES + 1))
        )
        if len(messages) > MAX_MESSAGES:
            raise TrackError(f"more than {MAX_MESSAGES} messages: lower rate_hz",
                             code="TRACK_SIMULATION_INVALID")  # fmt: skip
        task = asyncio.create_task(self._replay(messages, scenario, speed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        span = (messages[-1].time - scenario.start).total_seconds() if messages else 0.0
        return {
            "tracks": sorted({m.track_id for m in messages}),
            "messages": len(messages),
            "duration_s": round(span / speed, 3),
        }

    async def _replay(self, messages: list[TrackMessage], scenario: Scenario, speed: float
                      ) -> None:  # fmt: skip
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for message in messages:
            due = t0 + (message.time - scenario.start).total_seconds() / speed
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                self.buffer.publish(message)
            except TrackError:  # a track of the same id and instant already ran: stop this one
                return


async def track_events(
    node: Node,
    buffer: TrackHub,
    record: OfficialRecord,
    reauth: Callable[[], OfficialRecord | None],
) -> AsyncIterator[bytes]:
    """The event stream of the track messages ``record`` may see (module docstring)."""
    lens = TrackLens(node, record)
    sub = buffer.subscribe()
    try:
        now = await run_in_threadpool(node.now)
        backlog = list(lens.visible((m for m in sub.backlog if not m.is_stale(now)), now))
        yield sse.event("hello", {"party": node.party, "official": record.official.id,
                                  "reader": lens.reader, "backlog": len(backlog)})  # fmt: skip
        for view in backlog:
            yield sse.event("track", view)
        checked = stamped = time.monotonic()
        while True:
            delivery = await sub.next_delivery(sse.HEARTBEAT_S)
            if sub.overflowed:
                yield sse.event("reset", {"reason": "the client fell behind"})
                return
            if time.monotonic() - checked > REAUTH_S:
                fresh = await run_in_threadpool(reauth)
                if fresh is None:
                    yield sse.event("signed-out", {})
                    return
                lens = TrackLens(node, fresh)
                checked = time.monotonic()
            if delivery is None:
                yield sse.comment()
                continue
            if time.monotonic() - stamped > _NOW_TTL_S:
                now, stamped = await run_in_threadpool(node.now), time.monotonic()
            if delivery.message.is_stale(now):
                continue
            labels = lens.allows(delivery.message, now)
            if labels is not None:  # the event's bytes are made once for every stream
                yield delivery.form("sse", partial(_track_event, node, labels=labels))
    finally:
        sub.close()


def _track_event(node: Node, message: TrackMessage, *, labels: LabelSet) -> bytes:
    return sse.event("track", view_of(node, message, labels))


def _stream(web: Web, record: OfficialRecord, reauth: Callable[[], OfficialRecord | None]
            ) -> StreamingResponse:  # fmt: skip
    return StreamingResponse(
        track_events(web.node, web.buffer, record, reauth),
        media_type=sse.MEDIA_TYPE,
        headers=sse.HEADERS,
    )


def _may_simulate(node: Node, record: OfficialRecord) -> bool:
    return may(record, node.party, Role.SECURITY_OFFICER, Role.SENSOR_FEED)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def install(router: APIRouter, web: Web) -> None:
    """Add the Live page, the track streams and the simulate actions to ``router``."""
    feeder = Feeder(web.buffer)
    node = web.node

    def refuse(request: Request, record: OfficialRecord) -> NodeForbiddenError:
        route = getattr(request.scope.get("route"), "path", request.url.path)
        node.audit_refused_request(f"{request.method} {route}", "NODE_FORBIDDEN",
                                   record.official.id)  # fmt: skip
        return NodeForbiddenError(
            f"{record.official.id} may not feed tracks at the {node.party} node"
        )

    @router.get(f"{PREFIX}/live", include_in_schema=False)
    def live(request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        return web.render(
            request, "live.html", viewer, areas=sorted(LAUNCH_AREAS.values(), key=lambda a: a.key),
            classes=[c.value for c in MissileClass], profiles=[p.value for p in Profile],
            can_simulate=_may_simulate(node, viewer.record),
            reader=TrackLens(node, viewer.record).reader,
        )  # fmt: skip

    @router.get(f"{PREFIX}/live/events", include_in_schema=False)
    async def live_events(request: Request) -> Response:
        viewer = await run_in_threadpool(web.viewer, request)
        if viewer is None:
            return Response(status_code=401)

        def reauth() -> OfficialRecord | None:
            found = web.viewer(request)
            return None if found is None else found.record

        return _stream(web, viewer.record, reauth)

    @router.post(f"{PREFIX}/live/simulate", include_in_schema=False)
    async def live_simulate(request: Request) -> Response:
        form = form_of(await request.body())
        viewer = await run_in_threadpool(web.viewer, request)
        if viewer is None:
            return web.to_login(request)
        if not viewer.session.csrf_ok(form.get("csrf") or request.headers.get("x-csrf-token")):
            return web.csrf_refused(request, viewer)
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            if not _may_simulate(node, viewer.record):
                raise await run_in_threadpool(refuse, request, viewer.record)
            scenario, speed = scenario_from(form, await run_in_threadpool(node.now))
            started = await feeder.start(scenario, speed)
        except GsomiaError as err:
            if wants_json:
                return JSONResponse(err.to_problem(request.url.path), status_code=err.status)
            return web.error(request, viewer, err)
        if wants_json:
            return JSONResponse(started, status_code=202)
        return RedirectResponse(f"{PREFIX}/live", status_code=303)

    @router.get("/v1/tracks/events", include_in_schema=False)
    async def api_events(request: Request) -> Response:
        token = _bearer(request)
        record = await run_in_threadpool(node.authenticate, token)  # 401, audited

        def reauth() -> OfficialRecord | None:
            try:
                return node.authenticate(token)
            except GsomiaError:
                return None

        return _stream(web, record, reauth)

    @router.post("/v1/tracks/simulate", status_code=202, include_in_schema=False)
    async def api_simulate(request: Request) -> JSONResponse:
        body = await request.body()
        record = await run_in_threadpool(node.authenticate, _bearer(request))  # 401, audited
        if not _may_simulate(node, record):
            raise await run_in_threadpool(refuse, request, record)
        params: Any = {}
        if body:
            try:
                params = strictjson.loads(body, max_bytes=4096, max_depth=2, allow_float=True)
            except strictjson.JsonProblem as exc:
                raise InputError(f"the body is not acceptable JSON: {exc.message}",
                                 code="JSON_INVALID") from None  # fmt: skip
        if not isinstance(params, dict):
            raise InputError("the body is a JSON object", code="JSON_INVALID")
        scenario, speed = scenario_from(params, await run_in_threadpool(node.now))
        return JSONResponse(await feeder.start(scenario, speed), status_code=202)
