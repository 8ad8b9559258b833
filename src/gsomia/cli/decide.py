"""``gsomia decide …``: ask the policy a question and see the decision with its reasons.

A well-formed question always gets a decision (exit 0), allowed or not; an unknown party, level
or topic is a denial with its reason code, never an error.  Only malformed input (a party that
is not a trigraph, an instant without offset, …) exits non-zero.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from gsomia.cli.agreements import registry_for
from gsomia.cli.keys import read_label
from gsomia.cli.output import emit_json, reason_lines
from gsomia.errors import InputError
from gsomia.instants import format_instant
from gsomia.labels import RELEASABLE_TO, TOPIC, Category, CategoryType, OriginatorLabel
from gsomia.policy import release
from gsomia.registry import Registry


def _label_from_flags(
    registry: Registry, args: argparse.Namespace, at: datetime
) -> OriginatorLabel:
    level = args.level
    scheme = registry.schemes.get(args.from_party)
    if scheme is not None and scheme.party == args.from_party:
        found = scheme.find(level)
        level = found.native if found else level  # an alias becomes the native text
    rel_to = tuple(p.strip() for p in args.rel_to.split(",") if p.strip())
    topics = (Category(TOPIC, CategoryType.RESTRICTIVE, (args.topic,)),) if args.topic else ()
    return OriginatorLabel(
        policy_id=args.from_party,
        classification=level,
        originator=args.from_party,
        created=at,
        categories=(Category(RELEASABLE_TO, CategoryType.PERMISSIVE, rel_to), *topics),
    )


def cmd_release(args: argparse.Namespace, now: datetime) -> int:
    registry = registry_for(args.agreement, args.with_events)
    at = args.at or now
    if args.label is not None:
        if args.level or args.rel_to:
            raise InputError("give either --label or --level and --rel-to, not both")
        label = read_label(args.label)
    elif not args.level or not args.rel_to or not args.topic:
        raise InputError("give --level, --rel-to and --topic (or --label FILE)")
    else:
        label = _label_from_flags(registry, args, at)
    topic = args.topic or (next(iter(label.topics)) if len(label.topics) == 1 else None)
    if topic is None:
        raise InputError("give --topic: the label does not name exactly one topic")
    decision = release(
        registry, label, args.from_party, args.to_party, topic, at, purpose=args.purpose or ""
    )
    result = decision.to_dict()
    result["reasons"] = [r.to_dict() for r in decision.reasons]
    result["request"] = {
        "from": args.from_party,
        "to": args.to_party,
        "level": label.classification,
        "topic": topic,
        "rel_to": sorted(label.releasable_to),
        "purpose": args.purpose,
        "at": format_instant(at),
    }
    if args.json:
        emit_json(result)
        return 0
    verdict = "ALLOWED" if decision.allowed else "DENIED"
    route = (
        " → ".join(f"{m.party} {m.level}" for m in decision.markings)
        if decision.markings
        else (f"{args.from_party} → {args.to_party}")
    )
    print(f"{verdict}: {route}")
    if decision.agreement:
        print(f"  under {decision.agreement} (equivalence table v{decision.table_version})")
    print("\n".join(reason_lines(decision.reasons)))
    return 0
