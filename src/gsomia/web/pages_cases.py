"""Consent requests to decide (Art. 6) and breaches (Art. 17).

``GET /web/consent`` lists the requests sent and received (:meth:`gsomia.node.Node.consent_requests`,
security and release officers); a received, pending request has Approve and Deny forms that
call :meth:`gsomia.node.Node.decide_consent` (the node requires a security officer of the
originator, signs the decision and sends it to the holder).  ``GET /web/breaches`` lists the
breaches reported here or notified to this node, with their investigation
(:meth:`gsomia.node.Node.breaches`, security officers).  The node refuses, and audits, whatever
the official may not do; the page shows its refusal.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gsomia.errors import GsomiaError
from gsomia.instants import format_instant
from gsomia.ports import ConsentRequestDirection, ConsentRequestRecord, ConsentRequestState, Role
from gsomia.web.core import PREFIX, Viewer, Web, form_of

__all__ = ["install"]

_MAX = 1000
_MAX_CONDITIONS = 16


def _when(value: Any) -> str:
    return "" if value is None else format_instant(value)


def _request_row(r: ConsentRequestRecord) -> dict[str, Any]:
    return {
        "id": r.request_id, "direction": str(r.direction), "item_id": r.item_id,
        "originator": r.originator, "holder": r.holder, "third_party": r.third_party,
        "purpose": r.purpose, "requested": _when(r.requested), "requested_by": r.requested_by,
        "expires": _when(r.expires), "state": str(r.state), "decided": _when(r.decided),
        "decided_by": r.decided_by or "",
    }  # fmt: skip


def _consent_page(
    web: Web, request: Request, viewer: Viewer, message: str = "", status: int = 200
) -> Response:
    node = web.node
    params = request.query_params
    direction = params.get("direction", "")
    state = params.get("state", "")
    try:
        records = node.consent_requests(
            viewer.record,
            direction=ConsentRequestDirection(direction)
            if direction in {d.value for d in ConsentRequestDirection} else None,
            state=ConsentRequestState(state)
            if state in {s.value for s in ConsentRequestState} else None,
            limit=_MAX,
        )  # fmt: skip
    except GsomiaError as err:
        return web.error(request, viewer, err)
    return web.render(
        request, "consent.html", viewer, status=status, rows=[_request_row(r) for r in records],
        direction=direction, state=state, message=message,
        decider=viewer.has(node.party, Role.SECURITY_OFFICER),
    )  # fmt: skip


def install(router: APIRouter, web: Web) -> None:
    """Add the Consent and Breaches pages to ``router``."""

    @router.get(f"{PREFIX}/consent", include_in_schema=False)
    def consent(request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        return _consent_page(web, request, viewer)

    @router.post(f"{PREFIX}/consent/{{request_id}}/decision", include_in_schema=False)
    async def decide(request_id: str, request: Request) -> Response:
        form = form_of(await request.body())
        viewer = await run_in_threadpool(web.viewer, request)
        if viewer is None:
            return web.to_login(request)
        if not viewer.session.csrf_ok(form.get("csrf")):
            return web.csrf_refused(request, viewer)
        decision = form.get("decision")
        if decision not in ("approve", "deny"):
            return web.render(request, "error.html", viewer, status=400, title="Bad form",
                              code="WEB_FORM_INVALID", message="choose approve or deny",
                              reasons=[])  # fmt: skip
        lines = [c.strip() for c in form.get("conditions", "").splitlines() if c.strip()]

        def run() -> Response:
            assert viewer is not None
            try:
                done = web.node.decide_consent(
                    viewer.record, request_id[:64], decision == "approve",
                    conditions=tuple(lines[:_MAX_CONDITIONS]),
                )  # fmt: skip
            except GsomiaError as err:
                return web.error(request, viewer, err)
            verb = "approved" if done.state is ConsentRequestState.APPROVED else "refused"
            message = (f"Request {done.request_id} {verb}: the signed decision is on its way "
                       f"to {done.holder}.")  # fmt: skip
            return _consent_page(web, request, viewer, message)

        return await run_in_threadpool(run)

    @router.get(f"{PREFIX}/breaches", include_in_schema=False)
    def breaches(request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        try:
            records = web.node.breaches(viewer.record, limit=_MAX)
        except GsomiaError as err:
            return web.error(request, viewer, err)
        rows = [
            {"id": b.breach_id, "item_id": b.item_id, "originator": b.originator,
             "reporter": b.reporter, "reported_by": b.reported_by, "kind": str(b.kind),
             "description": b.description, "reported": _when(b.reported),
             "updated": _when(b.updated), "status": str(b.status), "version": b.version,
             "investigation": b.investigation, "results": b.results, "measures": b.measures}
            for b in records
        ]  # fmt: skip
        return web.render(request, "breaches.html", viewer, rows=rows)
