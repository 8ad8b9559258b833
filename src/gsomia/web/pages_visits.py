"""The Visits page (Art. 8): visits requested by this node or to it, requested and decided here.

``GET /web/visits`` lists the visits with their decisions (:meth:`gsomia.node.Node.visits`,
security officers, as ``GET /v1/visits``).  ``POST /web/visits`` asks a partner to host one of
our officials (:meth:`gsomia.node.Node.request_visit`, as ``POST /v1/visits``: the visitor's
name, clearance under our scheme and post, the host, the official purpose and the dates; the
core first requires an agreement in force with the host).  A visit to this node still
``requested`` has a decision form: **Approve** with the highest level that may be disclosed,
under this node's scheme (the core checks it has an equivalent under the agreement and is within
the visitor's clearance, Arts. 4, 7), or **Deny**, with a note
(:meth:`gsomia.node.Node.decide_visit`, as ``POST /v1/visits/{id}/decision``; security officers
of the host; final).  The node refuses, and audits, whatever the official may not do; a form the
node cannot be asked with (an instant without an offset, an ill-formed visitor) is refused here
with ``WEB_FORM_INVALID`` and audited.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gsomia.errors import GsomiaError
from gsomia.instants import format_instant, parse_instant
from gsomia.ports import Role, Visitor, VisitRecord, VisitState
from gsomia.web.core import PREFIX, Viewer, Web

__all__ = ["install"]

_MAX: Final = 1000


def _row(web: Web, viewer: Viewer, v: VisitRecord) -> dict[str, Any]:
    party = web.node.party
    return {
        "id": v.visit_id, "requester": v.requester, "host": v.host, "name": v.visitor.name,
        "nationality": v.visitor.nationality, "clearance": v.visitor.clearance,
        "post": v.visitor.post, "purpose": v.purpose, "start": format_instant(v.start),
        "end": format_instant(v.end), "requested": format_instant(v.requested),
        "state": str(v.state), "level": v.level or "",
        "decided": "" if v.decided is None else format_instant(v.decided), "note": v.note,
        "decide": v.host == party and v.state is VisitState.REQUESTED
        and viewer.has(party, Role.SECURITY_OFFICER),
    }  # fmt: skip


def _levels(web: Web) -> list[tuple[str, str]]:
    scheme = web.node.registry.scheme_of(web.node.party)
    return [(lv.native, lv.english) for lv in sorted(scheme.levels, key=lambda v: -v.rank)]


def _page(
    web: Web, request: Request, viewer: Viewer, message: str = "", status: int = 200
) -> Response:
    try:
        records = web.node.visits(viewer.record, limit=_MAX)
    except GsomiaError as err:
        return web.error(request, viewer, err)
    party = web.node.party
    hosts = sorted(p for p in web.node.registry.parties if p != party)
    return web.render(
        request, "visits.html", viewer, status=status,
        rows=[_row(web, viewer, v) for v in records], message=message, levels=_levels(web),
        hosts=hosts, now=format_instant(web.node.now().replace(microsecond=0)),
    )  # fmt: skip


def install(router: APIRouter, web: Web) -> None:
    """Add the Visits page and its request and decision forms to ``router``."""

    @router.get(f"{PREFIX}/visits", include_in_schema=False)
    def visits(request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        return _page(web, request, viewer)

    @router.post(f"{PREFIX}/visits", include_in_schema=False)
    async def ask(request: Request) -> Response:
        def run(viewer: Viewer, form: dict[str, str]) -> Response:
            try:
                start = parse_instant(form.get("start", "").strip())
                end = parse_instant(form.get("end", "").strip())
                visitor = Visitor(
                    form.get("name", "").strip(), web.node.party, form.get("clearance", ""),
                    form.get("post", "").strip(),
                )  # fmt: skip
            except GsomiaError as err:
                return web.form_refused(request, viewer, err.message)
            done = web.node.request_visit(
                viewer.record, visitor, form.get("host", ""), form.get("purpose", "").strip(),
                start, end,
            )  # fmt: skip
            message = (
                f"Visit {done.visit_id} requested: the signed request is on its way to {done.host}."
            )
            return _page(web, request, viewer, message)

        return await web.act(request, run)

    @router.post(f"{PREFIX}/visits/{{visit_id}}/decision", include_in_schema=False)
    async def decide(visit_id: str, request: Request) -> Response:
        def run(viewer: Viewer, form: dict[str, str]) -> Response:
            decision = form.get("decision")
            if decision not in ("approve", "deny"):
                return web.form_refused(request, viewer, "choose approve or deny")
            approve = decision == "approve"
            done = web.node.decide_visit(
                viewer.record, visit_id[:128], approve=approve,
                level=form.get("level") if approve else None, note=form.get("note", "").strip(),
            )  # fmt: skip
            what = f"approved up to {done.level}" if done.state is VisitState.APPROVED else "denied"
            message = (f"Visit {done.visit_id} {what}: the signed decision is on its way to "
                       f"{done.requester}.")  # fmt: skip
            return _page(web, request, viewer, message)

        return await web.act(request, run)
