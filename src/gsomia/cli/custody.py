"""``gsomia reclassify|dispose|destroy|visit|agreement-event``: the originator's continuing
rights (Art. 6, Art. 13), visits (Art. 8) and agreement events (Art. 21) from the command line.

Clients of the node's REST API, as :mod:`gsomia.cli.cases` (same ``--json`` and exit codes)::

    gsomia reclassify ITEM --level LEVEL                                      (originator)
    gsomia dispose request ITEM --holder PARTY --action return|destroy --reason R
    gsomia dispose execute DISPOSAL_ID                                        (holder)
    gsomia dispose list [--item ITEM]
    gsomia destroy ITEM --reason R                                            (holder)
    gsomia visit request --host PARTY --name N --clearance LEVEL [--post P]
                         --purpose P --start INSTANT --end INSTANT
    gsomia visit decide VISIT_ID (--approve --level LEVEL | --deny) [--note N]  (host)
    gsomia visit list
    gsomia agreement-event record AGREEMENT --kind K --at INSTANT [--by PARTY] [--note …]
    gsomia agreement-event list AGREEMENT

An agreement event takes the fields of the agreement data's ``[[events]]`` as options.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gsomia.agreements import EventKind
from gsomia.cli._pages import answer, page_args, params, print_page
from gsomia.cli._parser import Subparsers, add_command, instant_arg, party_arg
from gsomia.cli.client import client_for, connection_args
from gsomia.instants import format_instant

__all__ = ["add_custody_commands"]


def _listing(
    args: argparse.Namespace, path: str, line: Callable[[Any], str], empty: str, **query: Any
) -> int:
    page = client_for(args).json("GET", path, params=params(args, **query))
    return print_page(args, page, line, empty)


# -- reclassification, return or destruction (Arts. 6, 13) ---------------------------------------


def cmd_reclassify(args: argparse.Namespace, now: datetime) -> int:
    body = {"level": args.level}
    item = client_for(args).json("POST", f"/v1/items/{args.item}/reclassify", body=body)
    level = item["markings"]["originator"]["classification"]
    return answer(args, item, f"{item['id']} reclassified at {level}; holders re-mark it")


def _disposal_line(d: dict[str, Any]) -> str:
    return (
        f"{d['disposal_id']}  item {d['item_id']}  {d['holder']} to {d['action']:<7} "
        f"{d['state']:<9} {d.get('completed') or ''}"
    )


def cmd_dispose_request(args: argparse.Namespace, now: datetime) -> int:
    body = {"holder": args.holder, "action": args.action, "reason": args.reason}
    d = client_for(args).json("POST", f"/v1/items/{args.item}/disposal-requests", body=body)
    return answer(args, d, f"disposal {d['disposal_id']} requested: {d['holder']} to "
                            f"{d['action']} {d['item_id']}")  # fmt: skip


def cmd_dispose_execute(args: argparse.Namespace, now: datetime) -> int:
    d = client_for(args).json("POST", f"/v1/disposals/{args.disposal_id}/execute")
    return answer(args, d, f"disposal {d['disposal_id']} {d['state']}: {d['item_id']} "
                            f"({d['action']}); certificate sent to {d['originator']}")  # fmt: skip


def cmd_dispose_list(args: argparse.Namespace, now: datetime) -> int:
    return _listing(args, "/v1/disposals", _disposal_line, "no disposals", item_id=args.item)


def cmd_destroy(args: argparse.Namespace, now: datetime) -> int:
    body = {"reason": args.reason}
    d = client_for(args).json("POST", f"/v1/items/{args.item}/destroy", body=body)
    return answer(args, d, f"{d['item_id']} destroyed (disposal {d['disposal_id']}); "
                            f"certificate sent to {d['originator']}")  # fmt: skip


# -- visits (Art. 8) -----------------------------------------------------------------------------


def _visit_line(v: dict[str, Any]) -> str:
    level = f" up to {v['level']}" if v.get("level") else ""
    return (
        f"{v['visit_id']}  {v['requester']} → {v['host']}  {v['visitor']['name']}  "
        f"{v['start']} – {v['end']}  {v['state']}{level}"
    )


def cmd_visit_request(args: argparse.Namespace, now: datetime) -> int:
    client = client_for(args)
    party = client.json("GET", "/v1/health")["party"]  # a visitor of the requesting party
    body = {
        "visitor": {
            "name": args.name,
            "nationality": party,
            "clearance": args.clearance,
            "post": args.post,
        },
        "host": args.host,
        "purpose": args.purpose,
        "start": format_instant(args.start),
        "end": format_instant(args.end),
    }
    v = client.json("POST", "/v1/visits", body=body)
    return answer(args, v, f"visit {v['visit_id']} requested: {v['visitor']['name']} to "
                            f"{v['host']}, {v['start']} – {v['end']}")  # fmt: skip


def cmd_visit_decide(args: argparse.Namespace, now: datetime) -> int:
    body: dict[str, Any] = {"approve": args.approve, "note": args.note}
    if args.level is not None:
        body["level"] = args.level
    v = client_for(args).json("POST", f"/v1/visits/{args.visit_id}/decision", body=body)
    return answer(args, v, _visit_line(v))


def cmd_visit_list(args: argparse.Namespace, now: datetime) -> int:
    return _listing(args, "/v1/visits", _visit_line, "no visits")


# -- agreement events (Art. 21) ------------------------------------------------------------------


def _event_line(e: dict[str, Any]) -> str:
    by = f" by {e['by']}" if e.get("by") else ""
    return f"{e['seq']:>4}  {e['at']}  {e['kind']}{by}  {e['note']}"


def cmd_event_record(args: argparse.Namespace, now: datetime) -> int:
    body: dict[str, Any] = {
        "kind": args.kind,
        "at": format_instant(args.at),
        "by": args.by,
        "note": args.note,
        "source": args.source,
        "condition": args.condition,
        "disputed_by": args.disputed_by,
        "effective": None if args.effective is None else format_instant(args.effective),
        "table_version": args.table_version,
    }
    body = {k: v for k, v in body.items() if v not in (None, "")}
    e = client_for(args).json("POST", f"/v1/agreements/{args.agreement}/events", body=body)
    return answer(args, e, f"event {e['seq']} recorded on {e['agreement_id']}: "
                            f"{_event_line(e).strip()}; it applies to the next decision")  # fmt: skip


def cmd_event_list(args: argparse.Namespace, now: datetime) -> int:
    path = f"/v1/agreements/{args.agreement}/events"
    return _listing(args, path, _event_line, "no events recorded at this node")


def add_custody_commands(top: Subparsers) -> None:
    """Register ``reclassify``, ``dispose``, ``destroy``, ``visit`` and ``agreement-event``."""
    p = add_command(top, "reclassify", cmd_reclassify, "change an item's level (originator)")
    connection_args(p)
    p.add_argument("item")
    p.add_argument("--level", required=True, help="the new level, native text")

    dis = top.add_parser("dispose", help="return or destruction of a copy (Arts. 6, 13)")
    sub = dis.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "request", cmd_dispose_request, "ask a holder to return or destroy")
    connection_args(p)
    p.add_argument("item")
    p.add_argument("--holder", required=True, type=party_arg, metavar="PARTY")
    p.add_argument("--action", required=True, choices=["return", "destroy"])
    p.add_argument("--reason", required=True)
    p = add_command(sub, "execute", cmd_dispose_execute, "do what the originator asked (holder)")
    connection_args(p)
    p.add_argument("disposal_id", metavar="DISPOSAL_ID")
    p = add_command(sub, "list", cmd_dispose_list, "requests and certificates")
    connection_args(p)
    page_args(p)
    p.add_argument("--item", help="only this item's")

    p = add_command(top, "destroy", cmd_destroy, "destroy a copy no longer needed (holder)")
    connection_args(p)
    p.add_argument("item")
    p.add_argument("--reason", required=True)

    vis = top.add_parser("visit", help="visits by partners' personnel (Art. 8)")
    sub = vis.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "request", cmd_visit_request, "ask a partner to host one of ours")
    connection_args(p)
    p.add_argument("--host", required=True, type=party_arg, metavar="PARTY")
    p.add_argument("--name", required=True, help="the visitor's name")
    p.add_argument("--clearance", required=True, help="national level, native text")
    p.add_argument("--post", default="")
    p.add_argument("--purpose", required=True, help="the official purpose (Art. 8)")
    p.add_argument("--start", required=True, type=instant_arg, metavar="INSTANT")
    p.add_argument("--end", required=True, type=instant_arg, metavar="INSTANT")
    p = add_command(sub, "decide", cmd_visit_decide, "approve or deny a visit (host)")
    connection_args(p)
    p.add_argument("visit_id", metavar="VISIT_ID")
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--approve", action="store_true", default=None)
    verdict.add_argument("--deny", dest="approve", action="store_false")
    p.add_argument("--level", help="the highest level that may be disclosed (host's scheme)")
    p.add_argument("--note", default="")
    p = add_command(sub, "list", cmd_visit_list, "visits requested by or to this node")
    connection_args(p)
    page_args(p)

    ev = top.add_parser("agreement-event", help="agreement events recorded here (Art. 21)")
    sub = ev.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "record", cmd_event_record, "record an event; the next decision uses it")
    connection_args(p)
    p.add_argument("agreement", help="agreement id, e.g. kor-jpn-gsomia-2016")
    p.add_argument("--kind", required=True, choices=[k.value for k in EventKind])
    p.add_argument("--at", required=True, type=instant_arg, metavar="INSTANT")
    p.add_argument("--by", type=party_arg, metavar="PARTY")
    p.add_argument("--note", default="")
    p.add_argument("--source", default="")
    p.add_argument("--condition", default="")
    p.add_argument("--disputed-by", type=party_arg, metavar="PARTY")
    p.add_argument("--effective", type=instant_arg, metavar="INSTANT")
    p.add_argument("--table-version", type=int, metavar="N")
    p = add_command(sub, "list", cmd_event_list, "the events this node recorded")
    connection_args(p)
    p.add_argument("agreement")
    page_args(p)
