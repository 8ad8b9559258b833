"""The Agreements pages (Art. 21): each agreement's state now, its life as a picture, "as of".

``GET /web/agreements`` lists every agreement the node knows with its state now.
``GET /web/agreements/{id}?at=&recipient=&level=&topic=`` shows one: its state now and at the
"as of" instant (``at``, RFC 3339 with an offset; default now), the timeline drawn server-side
(:mod:`gsomia.web.timeline`), the history, the next renewal and notice deadline with a
countdown, and what a release from this node would be decided at that instant
(:func:`gsomia.policy.release`: the same pure decision the node takes, here only shown; nothing
is released, sealed or audited).  Any signed-in official may look, as with ``GET
/v1/agreements`` (the agreements are the node's public data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gsomia.agreements import history, status_at, status_to_dict, summary_to_dict
from gsomia.errors import GsomiaError, InstantError
from gsomia.instants import format_instant, parse_instant
from gsomia.labels import RELEASABLE_TO, TOPIC, Category, CategoryType, OriginatorLabel
from gsomia.policy import Decision
from gsomia.policy import release as decide_release
from gsomia.web.core import PREFIX, Viewer, Web, lang
from gsomia.web.timeline import draw

__all__ = ["install"]

_KEY_DATES = (
    ("2015-06-01T12:00:00+09:00", "2015: before the ROK–JPN GSOMIA"),
    ("2017-06-01T12:00:00+09:00", "2017: in force"),
    ("2019-10-01T12:00:00+09:00", "2019: during the notice"),
    ("2019-11-22T20:00:00+09:00", "22 Nov 2019, 20:00: notice suspended"),
    ("2020-06-01T12:00:00+09:00", "2020: suspended, in force"),
    ("2023-06-01T12:00:00+09:00", "2023: notice withdrawn"),
)


def _decision_view(web: Web, decision: Decision) -> dict[str, Any]:
    return {
        "allowed": decision.allowed,
        "codes": list(decision.codes),
        "reasons": [r.to_dict() for r in decision.reasons],
        "agreement": decision.agreement,
        "path": list(decision.path),
        "markings": [
            {"party": m.party, "level": m.level, "lang": lang(m.party)} for m in decision.markings
        ],
    }


def _what_if(
    web: Web, agreement_parties: tuple[str, ...], at: datetime, params: dict[str, str]
) -> dict[str, Any]:
    """The release decisions at ``at`` from this node to each other party of the agreement."""
    node = web.node
    registry = node.registry
    scheme = registry.schemes[node.party]
    levels = sorted(scheme.levels, key=lambda lv: -lv.rank)
    default = next((lv.native for lv in levels if lv.english == "SECRET"), levels[0].native)
    level = params.get("level") or default
    if scheme.find(level) is None:
        level = default
    topics = sorted(registry.topics)
    topic = params.get("topic") or ("NK-MISSILE" if "NK-MISSILE" in topics else topics[0])
    if topic not in registry.topics:
        topic = topics[0]
    recipients = [p for p in agreement_parties if p != node.party] or sorted(
        registry.parties - {node.party}
    )
    label = OriginatorLabel(
        policy_id=scheme.id,
        classification=level,
        originator=node.party,
        created=at,
        categories=(
            Category(RELEASABLE_TO, CategoryType.PERMISSIVE, tuple(sorted(registry.parties))),
            Category(TOPIC, CategoryType.RESTRICTIVE, (topic,)),
        ),
    )
    decisions = {
        r: _decision_view(web, decide_release(registry, label, node.party, r, topic, at))
        for r in recipients
    }
    return {
        "levels": [(lv.native, lv.english) for lv in levels],
        "level": level,
        "topics": topics,
        "topic": topic,
        "decisions": decisions,
        "scheme_lang": lang(node.party),
    }


def remaining(target: datetime | None, now: datetime) -> str:
    """``in 12 d 03:04:05`` (or ``passed``) from ``now`` to ``target``; the page's countdown
    script (static/js/countdown.mjs) keeps the same format."""
    if target is None:
        return ""
    seconds = int((target - now).total_seconds())
    if seconds <= 0:
        return "passed"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"in {days} d {hours:02d}:{minutes:02d}:{secs:02d}"


def install(router: APIRouter, web: Web) -> None:
    """Add the Agreements pages to ``router``."""

    @router.get(f"{PREFIX}/agreements", include_in_schema=False)
    def agreements(request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        node = web.node
        now = node.now().replace(microsecond=0)
        registry = node.registry
        rows = []
        for agreement_id in sorted(registry.agreements):
            agreement = registry.agreement(agreement_id)
            status = status_at(registry.timeline(agreement_id), now)
            row = summary_to_dict(agreement, status)
            row["next_renewal"] = status_to_dict(status, agreement.tz)["next_renewal"]
            rows.append(row)
        return web.render(request, "agreements.html", viewer, rows=rows, now=format_instant(now))

    @router.get(f"{PREFIX}/agreements/{{agreement_id}}", include_in_schema=False)
    def agreement_page(agreement_id: str, request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        return _agreement(web, request, viewer, agreement_id)


def _agreement(web: Web, request: Request, viewer: Viewer, agreement_id: str) -> Response:
    node = web.node
    registry = node.registry
    params = dict(request.query_params)
    try:
        agreement = registry.agreement(agreement_id)  # 404 AGREEMENT_NOT_FOUND
    except GsomiaError as err:
        return web.error(request, viewer, err)
    tz = agreement.tz
    now = node.now().replace(microsecond=0)
    at_text = params.get("at", "").strip()
    at_problem = ""
    at = now
    if at_text:
        try:
            at = parse_instant(at_text)
        except InstantError as err:
            at_problem = err.message
    timeline = registry.timeline(agreement.id)
    status_now = status_at(timeline, now)
    status_then = status_at(timeline, at)
    entries = history(timeline, until=max(now, at))
    drawing = draw(timeline, entries, now, at, status_now)
    now_view = status_to_dict(status_now, tz)
    countdowns = [
        ("next-renewal", "Next renewal", now_view["next_renewal"], status_now.next_renewal),
        ("notice-deadline", "Notice deadline (the last instant a notice ends this term)",
         now_view["notice_deadline"], status_now.notice_deadline),
    ]  # fmt: skip
    return web.render(
        request,
        "agreement.html",
        viewer,
        status=400 if at_problem else 200,
        agreement=agreement,
        zone=str(tz.key),
        now=format_instant(now, tz),
        now_utc=format_instant(now),
        at=format_instant(at, tz),
        at_text=at_text or format_instant(at, tz),
        at_problem=at_problem,
        at_is_now=at == now,
        state_now=now_view,
        state_then=status_to_dict(status_then, tz),
        countdowns=countdowns,
        remaining={key: remaining(target, now) for key, _, _, target in countdowns},
        drawing=drawing,
        history=[
            {
                "at": format_instant(e.at, tz),
                "kind": e.kind,
                "by": e.by,
                "note": e.note,
                "state": str(e.state),
                "exchange_allowed": e.exchange_allowed,
            }
            for e in entries
        ],
        what_if=_what_if(web, agreement.parties, at, params),
        key_dates=_KEY_DATES if agreement.id == "kor-jpn-gsomia-2016" else (),
    )
