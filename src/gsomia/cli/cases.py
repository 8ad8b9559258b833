"""``gsomia consent|forward|breach``: the Art. 6 and Art. 17 use cases from the command line.

Each command is a client of the node's REST API (docs/api.md), as ``gsomia release`` is: the node
decides, audits and answers; ``--json`` prints the API's answer as one JSON document, and a
problem exits 2 (bad input, a conflict), 3 (unknown id), 6 (node unavailable) or 7 (refused:
401, 403, ``FORWARD_REFUSED``) with ``{"error": <problem>}`` (:mod:`gsomia.cli.client`).

::

    gsomia consent request ITEM --to PARTY --purpose P [--expires INSTANT]   (holder)
    gsomia consent list [--direction sent|received] [--state ...]
    gsomia consent approve REQUEST_ID [--condition TEXT ...] [--expires INSTANT]  (originator)
    gsomia consent deny REQUEST_ID
    gsomia consent revoke CONSENT_ID                                          (originator)
    gsomia forward ITEM --to PARTY --purpose P                                (holder)
    gsomia breach report ITEM --kind actual|possible --description TEXT       (any official)
    gsomia breach list [--item ITEM]
    gsomia breach update BREACH_ID --status S [--investigation --results --measures]

The Art. 6 reclassification and return or destruction, Art. 8 visits and Art. 21 agreement
events are in :mod:`gsomia.cli.custody`; :func:`add_case_commands` registers both.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from gsomia.cli import custody
from gsomia.cli._pages import answer, page_args, params, print_page
from gsomia.cli._parser import Subparsers, add_command, instant_arg, party_arg
from gsomia.cli.client import client_for, connection_args
from gsomia.instants import format_instant

__all__ = ["add_case_commands"]


# -- consent and forward (Art. 6) ----------------------------------------------------------------


def _request_line(r: dict[str, Any]) -> str:
    return (
        f"{r['request_id']}  {r['direction']:<8} {r['state']:<8} item {r['item_id']}  "
        f"{r['holder']} → {r['third_party']} (originator {r['originator']})  {r['purpose']}"
    )


def cmd_consent_request(args: argparse.Namespace, now: datetime) -> int:
    body: dict[str, Any] = {"third_party": args.to, "purpose": args.purpose}
    if args.expires is not None:
        body["expires"] = format_instant(args.expires)
    r = client_for(args).json("POST", f"/v1/items/{args.item}/consent-requests", body=body)
    return answer(args, r, f"consent request {r['request_id']} sent to {r['originator']}: "
                          f"forward {r['item_id']} to {r['third_party']} ({r['state']})")  # fmt: skip


def cmd_consent_list(args: argparse.Namespace, now: datetime) -> int:
    query = params(args, direction=args.direction, state=args.state)
    page = client_for(args).json("GET", "/v1/consent-requests", params=query)
    return print_page(args, page, _request_line, "no consent requests")


def _decide(args: argparse.Namespace, approve: bool) -> int:
    body: dict[str, Any] = {"approve": approve}
    if approve:
        body["conditions"] = list(args.conditions)
        if args.expires is not None:
            body["expires"] = format_instant(args.expires)
    url = f"/v1/consent-requests/{args.request_id}/decision"
    r = client_for(args).json("POST", url, body=body)
    verdict = "approved: written consent signed and sent" if approve else "refused"
    return answer(args, r, f"request {r['request_id']} {verdict} to {r['holder']}")


def cmd_consent_approve(args: argparse.Namespace, now: datetime) -> int:
    return _decide(args, True)


def cmd_consent_deny(args: argparse.Namespace, now: datetime) -> int:
    return _decide(args, False)


def cmd_consent_revoke(args: argparse.Namespace, now: datetime) -> int:
    r = client_for(args).json("POST", f"/v1/consents/{args.consent_id}/revoke")
    return answer(args, r, f"consent {r['consent_id']} revoked at {r['revoked_at']}; "
                          f"{r['holder']} is told")  # fmt: skip


def cmd_forward(args: argparse.Namespace, now: datetime) -> int:
    body = {"third_party": args.to, "purpose": args.purpose}
    r = client_for(args).json("POST", f"/v1/items/{args.item}/forward", body=body)
    return answer(args, r, f"forwarded {r['item_id']} to {r['third_party']} "
                          f"under consent {r['consent_id']}")  # fmt: skip


# -- breaches (Art. 17) --------------------------------------------------------------------------


def _breach_line(b: dict[str, Any]) -> str:
    return (
        f"{b['breach_id']}  item {b['item_id']}  {b['kind']:<8} {b['status']:<13} "
        f"v{b['version']}  reported by {b['reporter']} ({b['reported_by']})"
    )


def cmd_breach_report(args: argparse.Namespace, now: datetime) -> int:
    body = {"item_id": args.item, "kind": args.kind, "description": args.description}
    b = client_for(args).json("POST", "/v1/breaches", body=body)
    told = "" if b["originator"] == b["reporter"] else f"; {b['originator']} notified"
    return answer(args, b, f"breach {b['breach_id']} reported ({b['kind']}){told}")


def cmd_breach_list(args: argparse.Namespace, now: datetime) -> int:
    page = client_for(args).json("GET", "/v1/breaches", params=params(args, item_id=args.item))
    return print_page(args, page, _breach_line, "no breaches")


def cmd_breach_update(args: argparse.Namespace, now: datetime) -> int:
    body = {
        "status": args.status,
        "investigation": args.investigation,
        "results": args.results,
        "measures": args.measures,
    }
    body = {k: v for k, v in body.items() if v is not None}
    b = client_for(args).json("PATCH", f"/v1/breaches/{args.breach_id}", body=body)
    return answer(args, b, f"breach {b['breach_id']}: {b['status']} (version {b['version']})")


def add_case_commands(top: Subparsers) -> None:
    """Register ``consent``, ``forward``, ``breach`` and :mod:`gsomia.cli.custody`'s commands."""
    cons = top.add_parser("consent", help="the originator's written consent to forward (Art. 6)")
    sub = cons.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "request", cmd_consent_request, "ask the originator for consent")
    connection_args(p)
    p.add_argument("item", help="the held item's id")
    p.add_argument("--to", required=True, type=party_arg, metavar="PARTY", help="third party")
    p.add_argument("--purpose", required=True, help="the official purpose of the forward")
    p.add_argument("--expires", type=instant_arg, metavar="INSTANT", help="default: 30 days")
    p = add_command(sub, "list", cmd_consent_list, "consent requests sent and received")
    connection_args(p)
    page_args(p)
    p.add_argument("--direction", choices=["sent", "received"])
    p.add_argument("--state", choices=["pending", "approved", "refused"])
    for name, handler, what in (
        ("approve", cmd_consent_approve, "grant a received request, signed (security officers)"),
        ("deny", cmd_consent_deny, "refuse a received request, signed (security officers)"),
    ):
        p = add_command(sub, name, handler, what)
        connection_args(p)
        p.add_argument("request_id", metavar="REQUEST_ID")
        if name == "approve":
            p.add_argument("--condition", "--conditions", dest="conditions", action="append",
                           default=[], metavar="TEXT", help="a condition (repeatable)")  # fmt: skip
            p.add_argument("--expires", type=instant_arg, metavar="INSTANT",
                           help="default: the request's, else 30 days")  # fmt: skip
    p = add_command(sub, "revoke", cmd_consent_revoke, "withdraw a consent this node gave")
    connection_args(p)
    p.add_argument("consent_id", metavar="CONSENT_ID")

    p = add_command(top, "forward", cmd_forward, "forward a held item under consent (Art. 6)")
    connection_args(p)
    p.add_argument("item", help="the held item's id")
    p.add_argument("--to", required=True, type=party_arg, metavar="PARTY", help="third party")
    p.add_argument("--purpose", required=True, help="the purpose the consent names")

    br = top.add_parser("breach", help="loss or compromise of an item (Art. 17)")
    sub = br.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "report", cmd_breach_report, "report an actual or possible breach")
    connection_args(p)
    p.add_argument("item", help="the item's id")
    p.add_argument("--kind", required=True, choices=["actual", "possible"])
    p.add_argument("--description", required=True)
    p = add_command(sub, "list", cmd_breach_list, "breaches and their status")
    connection_args(p)
    page_args(p)
    p.add_argument("--item", help="only this item's")
    p = add_command(sub, "update", cmd_breach_update, "record findings (reporting node)")
    connection_args(p)
    p.add_argument("breach_id", metavar="BREACH_ID")
    p.add_argument("--status", required=True, choices=["investigating", "closed"])
    p.add_argument("--investigation")
    p.add_argument("--results")
    p.add_argument("--measures", help="measures against recurrence")
    custody.add_custody_commands(top)
