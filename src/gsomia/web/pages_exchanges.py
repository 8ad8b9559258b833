"""The Exchanges pages: items sent and received, deliveries, receipts, refusals, one item (Art. 7).

Everything comes from the node, under the node's rules for the signed-in official
(:mod:`gsomia.node.directory`): officers see every held item's metadata, a reader only the
items Art. 7 lets them read (an item one may not see is "not found": no marking, topic or
originator leaks); receipts and the outbox (pending deliveries, attempts, errors, cancelled
messages) are for security and release officers.  Markings are shown as the label set holds
them: the originator's in its own script (군사II급비밀) beside ours (極秘), each tagged with its
language.  Reading content is a separate, explicit act (a POST with the CSRF token) because the
node audits every read (:meth:`gsomia.node.Node.read`).

A release officer can release from the page (:meth:`gsomia.node.Node.release`, the same call as
``POST /v1/items``); a refusal is shown with its reasons, per recipient.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gsomia.errors import GsomiaError
from gsomia.instants import format_instant
from gsomia.labels import RELEASABLE_TO, TOPIC, Category, CategoryType, OriginatorLabel
from gsomia.node import NodeAccessDeniedError
from gsomia.ports import BreachKind, DeliveryState, HeldItem, ItemState, OutboxEntry, Role
from gsomia.web.core import PREFIX, Viewer, Web, form_of, lang
from gsomia.web.live import marking_view

__all__ = ["install"]

_OFFICERS = (Role.SECURITY_OFFICER, Role.RELEASE_OFFICER)
_MAX_ITEMS = 1000
_MAX_TEXT = 64 * 1024


def markings_of(web: Web, item: HeldItem) -> dict[str, Any]:
    """The originator's marking, ours, and any other party's, as the label set holds them."""
    labels = item.labels
    origin = labels.originator
    party = web.node.party
    ours = labels.marking_for(party)
    return {
        "originator": marking_view(
            web.node, origin.originator, origin.policy_id, origin.classification
        ),
        "ours": None
        if ours is None or party == origin.originator
        else marking_view(web.node, party, ours[0], ours[1]),
        "others": [
            marking_view(web.node, a.applied_by, a.policy_id, a.classification)
            for a in labels.alternatives
            if a.applied_by != party
        ],
        "releasable_to": sorted(origin.releasable_to),
        "topics": sorted(origin.topics),
    }


def _row(web: Web, item: HeldItem) -> dict[str, Any]:
    party = web.node.party
    return {
        "id": item.item_id,
        "direction": "sent" if item.originator == party else "received",
        "originator": item.originator,
        "received_from": item.received_from,
        "topic": item.topic,
        "state": str(item.state),
        "received": format_instant(item.received),
        "agreement": item.agreement,
        "markings": markings_of(web, item),
    }


def _matches(row: dict[str, Any], q: str) -> bool:
    m = row["markings"]
    texts = [row["id"], row["topic"], row["originator"], row["received_from"] or "",
             row["agreement"] or "", m["originator"]["level"], m["originator"]["english"]]  # fmt: skip
    if m["ours"]:
        texts += [m["ours"]["level"], m["ours"]["english"]]
    return any(q.casefold() in t.casefold() for t in texts)


def _outbox_row(entry: OutboxEntry) -> dict[str, Any]:
    m = entry.message
    return {
        "seq": entry.seq, "recipient": m.recipient, "kind": m.kind, "subject": m.subject,
        "state": str(entry.state), "attempts": entry.attempts,
        "next_attempt": format_instant(entry.next_attempt), "last_error": entry.last_error,
        "created": format_instant(m.created),
    }  # fmt: skip


def exchanges_context(web: Web, viewer: Viewer, params: dict[str, str]) -> dict[str, Any]:
    """What the Exchanges page shows this official (the node decides each list)."""
    node, record = web.node, viewer.record
    q = params.get("q", "").strip()[:200]
    direction = params.get("direction", "")
    state = params.get("state", "")
    item_state = ItemState(state) if state in {s.value for s in ItemState} else None
    rows = [_row(web, i) for i in node.items(record, limit=_MAX_ITEMS, state=item_state)]
    rows = [r for r in rows if direction not in ("sent", "received") or r["direction"] == direction]
    if q:
        rows = [r for r in rows if _matches(r, q)]
    officer = viewer.has(node.party, *_OFFICERS)
    outbox: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []
    if officer:
        for row in rows:
            row["receipts"] = [
                {"party": r.party, "direction": str(r.direction), "at": format_instant(r.at)}
                for r in node.receipts(record, row["id"])
            ]
        pending = node.outbox(record, state=DeliveryState.PENDING, limit=_MAX_ITEMS)
        outbox = [_outbox_row(e) for e in pending]
        cancelled = node.outbox(record, state=DeliveryState.CANCELLED, limit=_MAX_ITEMS)
        refusals = [_outbox_row(e) for e in cancelled] + [o for o in outbox if o["last_error"]]
    scheme = node.registry.schemes[node.party]
    return {
        "rows": rows, "q": q, "direction": direction, "state": state, "officer": officer,
        "outbox": outbox, "refusals": refusals,
        "releaser": viewer.has(node.party, Role.RELEASE_OFFICER),
        "levels": [(lv.native, lv.english) for lv in sorted(scheme.levels, key=lambda v: -v.rank)],
        "scheme_lang": lang(node.party),
        "topics": sorted(node.registry.topics),
        "partners": sorted(node.registry.parties - {node.party}),
        "release": None,
    }  # fmt: skip


def _release(web: Web, viewer: Viewer, form: dict[str, str]) -> dict[str, Any]:
    """Release from the form; the result (released, or refused with reasons) for the page."""
    node = web.node
    now = node.now()
    recipients = [p for p in sorted(node.registry.parties) if form.get(f"to_{p}") == "on"]
    topic = form.get("topic", "")
    text = form.get("text", "")
    if len(text.encode()) > _MAX_TEXT:
        return {"released": False, "problem": "the text is longer than 64 KiB", "decisions": {}}
    try:
        label = OriginatorLabel(
            policy_id=node.registry.schemes[node.party].id,
            classification=form.get("level", ""),
            originator=node.party,
            created=now,
            categories=(
                Category(
                    RELEASABLE_TO, CategoryType.PERMISSIVE, tuple(sorted({node.party, *recipients}))
                ),
                Category(TOPIC, CategoryType.RESTRICTIVE, (topic,)),
            ),
        )
        result = node.release(viewer.record, text.encode("utf-8"), label, recipients, topic,
                              form.get("purpose", ""))  # fmt: skip
    except GsomiaError as err:
        return {"released": False, "problem": f"{err.code}: {err.message}", "decisions": {}}
    return {
        "released": result.released,
        "item_id": result.item_id,
        "reasons": list(result.reasons),
        "problem": "",
        "decisions": {
            party: {
                "allowed": d.allowed,
                "reasons": [r.to_dict() for r in d.reasons],
                "markings": [
                    {"party": m.party, "level": m.level, "lang": lang(m.party)} for m in d.markings
                ],
            }
            for party, d in sorted(result.decisions.items())
        },
    }


def install(router: APIRouter, web: Web) -> None:
    """Add the Exchanges pages to ``router``."""

    @router.get(f"{PREFIX}/exchanges", include_in_schema=False)
    def exchanges(request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        try:
            context = exchanges_context(web, viewer, dict(request.query_params))
        except GsomiaError as err:
            return web.error(request, viewer, err)
        return web.render(request, "exchanges.html", viewer, **context)

    @router.post(f"{PREFIX}/exchanges/release", include_in_schema=False)
    async def release(request: Request) -> Response:
        form = form_of(await request.body())
        viewer = await run_in_threadpool(web.viewer, request)
        if viewer is None:
            return web.to_login(request)
        if not viewer.session.csrf_ok(form.get("csrf")):
            return web.csrf_refused(request, viewer)

        def run() -> Response:
            assert viewer is not None
            outcome = _release(web, viewer, form)
            try:
                context = exchanges_context(web, viewer, {})
            except GsomiaError as err:
                return web.error(request, viewer, err)
            context["release"] = outcome
            return web.render(request, "exchanges.html", viewer, **context)

        return await run_in_threadpool(run)

    @router.get(f"{PREFIX}/items/{{item_id}}", include_in_schema=False)
    def item_page(item_id: str, request: Request) -> Response:
        viewer = web.viewer(request)
        if viewer is None:
            return web.to_login(request)
        return _item(web, request, viewer, item_id, None, request.query_params.get("breach", ""))

    @router.post(f"{PREFIX}/items/{{item_id}}/read", include_in_schema=False)
    async def read(item_id: str, request: Request) -> Response:
        form = form_of(await request.body())
        viewer = await run_in_threadpool(web.viewer, request)
        if viewer is None:
            return web.to_login(request)
        if not viewer.session.csrf_ok(form.get("csrf")):
            return web.csrf_refused(request, viewer)
        return await run_in_threadpool(_item, web, request, viewer, item_id, True)


def _item(web: Web, request: Request, viewer: Viewer, item_id: str, read: bool | None,
          reported: str = "") -> Response:  # fmt: skip
    node = web.node
    try:
        item = node.item(viewer.record, item_id[:64])  # not found if the viewer may not see it
    except GsomiaError as err:
        return web.error(request, viewer, err)
    content: dict[str, Any] | None = None
    if read:
        try:
            payload = node.read(viewer.record, item.item_id)  # Art. 7, audited
            content = {"denied": "", "reasons": [], "size": len(payload), "hex": ""}
            try:
                content["text"] = payload.decode("utf-8")
            except UnicodeDecodeError:
                content.update(text=None, hex=payload[:4096].hex(" "))
        except NodeAccessDeniedError as err:
            content = {"denied": err.code, "reasons": err.detail.get("reasons", []),
                       "text": None, "hex": "", "size": 0}  # fmt: skip
        except GsomiaError as err:
            return web.error(request, viewer, err)
    receipts = []
    if viewer.has(node.party, *_OFFICERS):
        receipts = [
            {"party": r.party, "direction": str(r.direction), "at": format_instant(r.at)}
            for r in node.receipts(viewer.record, item.item_id)
        ]
    return web.render(
        request, "item.html", viewer, item=_row(web, item), receipts=receipts, content=content,
        can_read=viewer.has(node.party, Role.READER),
        state_changed=format_instant(item.state_changed) if item.state_changed else "",
        reported=reported[:64], kinds=[k.value for k in BreachKind],
    )  # fmt: skip
