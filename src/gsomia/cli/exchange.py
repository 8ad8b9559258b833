"""``gsomia release|inbox|outbox|read|officials``: a node's use cases from the command line.

Each command is a client of the node's REST API (:mod:`gsomia.cli.client`), so the node decides,
audits and answers exactly as it does for any integrator (issue 4 §2-3).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from gsomia.cli._parser import Subparsers, add_command, party_arg
from gsomia.cli.client import client_for, connection_args
from gsomia.cli.keys import atomic_output, read_label
from gsomia.cli.output import emit_json
from gsomia.labels.json_codec import to_dict

__all__ = ["add_exchange_commands"]


def _parties(text: str) -> list[str]:
    return [party_arg(p) for p in text.split(",") if p.strip()]


def cmd_release(args: argparse.Namespace, now: datetime) -> int:
    label = read_label(args.label)
    body: dict[str, Any] = {
        "label": to_dict(label),
        "topic": args.topic,
        "purpose": args.purpose,
        "recipients": args.to,
    }
    if args.text is not None:
        body["text"] = args.text
    else:
        body["payload_b64"] = base64.b64encode(Path(args.input).read_bytes()).decode("ascii")
    result = client_for(args).json("POST", "/v1/items", body=body)
    if args.json:
        emit_json(result)
    else:
        print(f"released {result['item_id']} to {', '.join(args.to)}")
        for party, decision in sorted(result.get("decisions", {}).items()):
            path = " → ".join(decision.get("path") or [])
            print(f"  {party}: {', '.join(decision.get('codes', []))}  ({path})")
    return 0


def _item_line(item: dict[str, Any]) -> str:
    marks = "  ".join(
        f"{m.get('applied_by') or m.get('party')}: {m.get('classification')}"
        for m in item.get("markings", [])
    )
    origin = item.get("received_from") or "—"
    return f"{item['item_id']}  {item['topic']:<12} from {origin:<4} {item['state']:<9} {marks}"


def cmd_inbox(args: argparse.Namespace, now: datetime) -> int:
    page = client_for(args).json(
        "GET", "/v1/items", params={"limit": args.limit, "after": args.after}
    )
    items = [i for i in page["items"] if args.all or i.get("received_from")]
    if args.json:
        emit_json({"items": items, "next": page.get("next")})
    else:
        for item in items:
            print(_item_line(item))
        if not items:
            print("no items")
        if page.get("next"):
            print(f"more: --after {page['next']}")
    return 0


def cmd_outbox(args: argparse.Namespace, now: datetime) -> int:
    page = client_for(args).json(
        "GET",
        "/v1/outbox",
        params={"state": args.state, "limit": args.limit, "after": args.after},
    )
    if args.json:
        emit_json(page)
    else:
        for entry in page["items"]:
            print(
                f"{entry.get('key')}  to {entry.get('recipient')}  {entry.get('state')}  "
                f"attempts {entry.get('attempts')}"
            )
        if not page["items"]:
            print("outbox empty")
    return 0


def cmd_read(args: argparse.Namespace, now: datetime) -> int:
    content, _ = client_for(args).call("GET", f"/v1/items/{args.item}/content")
    if args.out is not None:
        with atomic_output(args.out) as out:
            out.write(content)
    if args.json:
        text = None
        with contextlib.suppress(UnicodeDecodeError):
            text = content.decode("utf-8")
        emit_json(
            {
                "item_id": args.item,
                "bytes": len(content),
                "out": str(args.out) if args.out else None,
                "text": text if args.out is None else None,
                "content_b64": base64.b64encode(content).decode() if text is None else None,
            }
        )
    elif args.out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    else:
        print(f"{len(content)} bytes written to {args.out}")
    return 0


def cmd_officials_list(args: argparse.Namespace, now: datetime) -> int:
    page = client_for(args).json(
        "GET", "/v1/officials", params={"limit": args.limit, "after": args.after}
    )
    if args.json:
        emit_json(page)
    else:
        for o in page["items"]:
            print(
                f"{o['id']:<24} {o.get('clearance') or '—':<10} roles {','.join(o['roles'])}  "
                f"duties {','.join(o['duties']) or '—'}"
                + ("" if o.get("active", True) else "  (inactive)")
            )
    return 0


def cmd_officials_add(args: argparse.Namespace, now: datetime) -> int:
    client = client_for(args)
    me = client.json("GET", "/v1/whoami")
    body = {
        "id": args.id,
        "nationality": me["nationality"],
        "clearance": args.clearance,
        "duties": [d for d in args.duties.split(",") if d],
        "roles": [r for r in args.roles.split(",") if r],
        "in_register": not args.not_in_register,
        "rank": args.rank,
        "post": args.post,
        "active": True,
    }
    client.json("POST", "/v1/officials", body=body)
    token = None
    if args.token_out is not None:
        token = client.json("POST", f"/v1/officials/{args.id}/tokens")["token"]
        with atomic_output(args.token_out) as out:
            out.write(token.encode("utf-8") + b"\n")
    if args.json:
        emit_json({"official": body, "token_file": str(args.token_out) if token else None})
    else:
        print(f"official {args.id} added to the {me['nationality']} directory")
        if token:
            print(f"  API token written to {args.token_out}")
    return 0


def cmd_officials_token(args: argparse.Namespace, now: datetime) -> int:
    token = client_for(args).json("POST", f"/v1/officials/{args.id}/tokens")["token"]
    with atomic_output(args.out) as out:
        out.write(token.encode("utf-8") + b"\n")
    if args.json:
        emit_json({"official": args.id, "token_file": str(args.out)})
    else:
        print(f"a new API token for {args.id} is in {args.out}")
    return 0


def _page(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=100, help="page size, 1-1000 (default 100)")
    p.add_argument("--after", help="the cursor printed by the previous page")


def add_exchange_commands(top: Subparsers) -> None:
    """Register the client commands on the top-level parser."""
    p = add_command(top, "release", cmd_release, "release an item to partners (Art. 6)")
    connection_args(p)
    p.add_argument("--label", required=True, type=Path, metavar="FILE",
                   help="originator label, JSON or STANAG 4774 XML")  # fmt: skip
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--in", dest="input", type=Path, metavar="FILE", help="the item, a file")
    what.add_argument("--text", help="the item, as text")
    p.add_argument("--to", required=True, type=_parties, metavar="PARTY[,PARTY]")
    p.add_argument("--topic", required=True, help="topic code, e.g. NK-MISSILE")
    p.add_argument("--purpose", required=True, help="the official purpose (Art. 6)")

    p = add_command(top, "inbox", cmd_inbox, "items received from partners, with both markings")
    connection_args(p)
    _page(p)
    p.add_argument("--all", action="store_true", help="also items this node originated")

    p = add_command(top, "outbox", cmd_outbox, "deliveries: pending, acknowledged, cancelled")
    connection_args(p)
    _page(p)
    p.add_argument("--state", choices=["pending", "acknowledged", "cancelled"])

    p = add_command(top, "read", cmd_read, "read an item's content (Art. 7; audited)")
    connection_args(p)
    p.add_argument("item", help="item id")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the content here")

    off = top.add_parser("officials", help="the node's directory of officials (Art. 7)")
    sub = off.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "list", cmd_officials_list, "list officials")
    connection_args(p)
    _page(p)
    p = add_command(sub, "add", cmd_officials_add, "add an official (security officers)")
    connection_args(p)
    p.add_argument("--id", required=True)
    p.add_argument("--clearance", help="level under the national scheme, native text")
    p.add_argument("--duties", default="", help="topics, comma-separated")
    p.add_argument("--roles", default="reader",
                   help="security_officer,release_officer,reader,sensor_feed")  # fmt: skip
    p.add_argument("--not-in-register", action="store_true", help="not in the Art. 6 register")
    p.add_argument("--rank", default="")
    p.add_argument("--post", default="")
    p.add_argument("--token-out", type=Path, metavar="FILE", help="also issue a token, here")
    p = add_command(sub, "token", cmd_officials_token, "issue a new API token for an official")
    connection_args(p)
    p.add_argument("id")
    p.add_argument("--out", required=True, type=Path, metavar="FILE")
