"""Consent requests to decide (Art. 6), hub approvals to withdraw (TISA), breaches (Art. 17).

``GET /web/consent`` lists the requests sent and received (:meth:`gsomia.node.Node.consent_requests`,
security and release officers); a received, pending request has Approve and Deny forms that
call :meth:`gsomia.node.Node.decide_consent` (the node requires a security officer of the
originator, signs the decision and sends it to the holder).

``GET /web/approvals`` lists the relay approvals this node gave as originator when it released
an item through the hub (:func:`gsomia.node.audit_view.hub_approvals`, security and release
officers): item, hub, final recipient, purpose, validity, and whether it was withdrawn.  A
security officer withdraws one with ``POST /web/approvals/{id}/revoke``
(:meth:`gsomia.node.Node.revoke_consent`, as ``POST /v1/consents/{id}/revoke``): the signed
revocation goes to the hub, which then relays nothing more under it.

``GET /web/breaches`` lists the breaches reported here or notified to this node, with their
investigation (:meth:`gsomia.node.Node.breaches`, security officers).  ``POST /web/breaches``
reports one (:meth:`gsomia.node.Node.report_breach`, as ``POST /v1/breaches``); ``POST
/web/breaches/{id}`` records the next status, investigation, results and measures
(:meth:`gsomia.node.Node.update_breach`, as ``PATCH /v1/breaches/{id}``: a security officer of
the reporting node; closed is final).  The node refuses, and audits, whatever the official may
not do; the page shows its refusal.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gsomia.errors import GsomiaError
from gsomia.instants import format_instant
from gsomia.node import audit_view
from gsomia.ports import (
    BREACH_TRANSITIONS,
    BreachKind,
    BreachRecord,
    BreachStatus,
    ConsentRecord,
    ConsentRequestDirection,
    ConsentRequestRecord,
    ConsentRequestState,
    Role,
)
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

    @router.get(f"{PREFIX}/approvals", include_in_schema=False)
    def approvals(request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        return _approvals_page(web, request, viewer)

    @router.post(f"{PREFIX}/approvals/{{consent_id}}/revoke", include_in_schema=False)
    async def revoke(consent_id: str, request: Request) -> Response:
        def run(viewer: Viewer, _: dict[str, str]) -> Response:
            done = web.node.revoke_consent(viewer.record, consent_id[:128])
            message = (f"Approval {done.consent.consent_id} withdrawn: the signed revocation is "
                       f"on its way to {done.consent.holder}.")  # fmt: skip
            return _approvals_page(web, request, viewer, message)

        return await web.act(request, run)

    @router.get(f"{PREFIX}/breaches", include_in_schema=False)
    def breaches(request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        return _breaches_page(web, request, viewer)

    @router.post(f"{PREFIX}/breaches", include_in_schema=False)
    async def report(request: Request) -> Response:
        def run(viewer: Viewer, form: dict[str, str]) -> Response:
            done = web.node.report_breach(
                viewer.record, form.get("item_id", "").strip()[:128], form.get("kind", ""),
                form.get("description", "").strip(),
            )  # fmt: skip
            if form.get("back") == "item" or not viewer.has(web.node.party, Role.SECURITY_OFFICER):
                target = f"{PREFIX}/items/{quote(done.item_id, safe='')}?breach={done.breach_id}"
                return RedirectResponse(target, status_code=303)
            note = "" if done.originator == web.node.party else (
                f"; the originator {done.originator} is notified")  # fmt: skip
            return _breaches_page(web, request, viewer,
                                  f"Breach {done.breach_id} reported{note}.")  # fmt: skip

        return await web.act(request, run)

    @router.post(f"{PREFIX}/breaches/{{breach_id}}", include_in_schema=False)
    async def update(breach_id: str, request: Request) -> Response:
        def run(viewer: Viewer, form: dict[str, str]) -> Response:
            done = web.node.update_breach(
                viewer.record, breach_id[:128], status=form.get("status", ""),
                investigation=form.get("investigation"), results=form.get("results"),
                measures=form.get("measures"),
            )  # fmt: skip
            to = "" if done.originator == web.node.party else f", sent to {done.originator}"
            message = f"Breach {done.breach_id} is now {done.status} (version {done.version}{to})."
            return _breaches_page(web, request, viewer, message)

        return await web.act(request, run)


def _approval_row(web: Web, record: ConsentRecord) -> dict[str, Any]:
    c = record.consent
    now = web.node.now()
    if c.revoked_at is not None:
        state = "withdrawn"
    elif c.expires <= now:
        state = "expired"
    else:
        state = "valid"
    return {
        "id": c.consent_id, "item_id": c.item_id, "hub": c.holder, "recipient": c.third_party,
        "purpose": c.purpose, "issued": _when(c.issued), "expires": _when(c.expires),
        "revoked": _when(c.revoked_at), "state": state,
    }  # fmt: skip


def _approvals_page(web: Web, request: Request, viewer: Viewer, message: str = "") -> Response:
    try:
        ctx = audit_view.context_of(web.node)
        records = audit_view.hub_approvals(ctx, viewer.record, web.audit_index, limit=_MAX)
    except GsomiaError as err:
        return web.error(request, viewer, err)
    return web.render(
        request, "approvals.html", viewer, rows=[_approval_row(web, r) for r in records],
        message=message, since=web.audit_index.start or 0,
        revoker=viewer.has(web.node.party, Role.SECURITY_OFFICER),
    )  # fmt: skip


def _breach_row(web: Web, viewer: Viewer, b: BreachRecord) -> dict[str, Any]:
    nexts = [str(to) for (frm, to) in BREACH_TRANSITIONS if frm is b.status]
    editable = (b.reporter == web.node.party and bool(nexts)
                and viewer.has(web.node.party, Role.SECURITY_OFFICER))  # fmt: skip
    return {
        "id": b.breach_id, "item_id": b.item_id, "originator": b.originator,
        "reporter": b.reporter, "reported_by": b.reported_by, "kind": str(b.kind),
        "description": b.description, "reported": _when(b.reported), "updated": _when(b.updated),
        "status": str(b.status), "version": b.version, "investigation": b.investigation,
        "results": b.results, "measures": b.measures, "editable": editable,
        "next": sorted(nexts, key=[s.value for s in BreachStatus].index),
    }  # fmt: skip


def _breaches_page(web: Web, request: Request, viewer: Viewer, message: str = "") -> Response:
    try:
        records = web.node.breaches(viewer.record, limit=_MAX)
    except GsomiaError as err:
        return web.error(request, viewer, err)
    return web.render(
        request, "breaches.html", viewer, rows=[_breach_row(web, viewer, b) for b in records],
        message=message, kinds=[k.value for k in BreachKind],
    )  # fmt: skip
