"""``gsomia agreements …``, ``gsomia agreement …`` and ``gsomia markings …``."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from gsomia.agreements import (
    history,
    history_to_dict,
    status_at,
    status_to_dict,
    summary_to_dict,
)
from gsomia.catalog import builtin_registry, load_events, with_events
from gsomia.cli.output import STATE_WORDS, emit_json, reason_lines, when
from gsomia.errors import InputError, MarkingError
from gsomia.instants import format_instant
from gsomia.registry import Registry


def registry_for(agreement_id: str | None, events_file: Path | None) -> Registry:
    """The built-in registry, with what-if events from ``events_file`` merged in if given."""
    registry = builtin_registry()
    if events_file is None:
        return registry
    named, events = load_events(events_file)
    target = agreement_id or named
    if target is None:
        raise InputError(
            f"{events_file}: say which agreement the events belong to "
            '(agreement = "…" in the file, or --agreement)'
        )
    if agreement_id is not None and named is not None and named != agreement_id:
        raise InputError(f"{events_file} is for {named}, not {agreement_id}")
    return with_events(registry, target, events)


def cmd_list(args: argparse.Namespace, now: datetime) -> int:
    registry = builtin_registry()
    rows: list[dict[str, Any]] = []
    for agreement in sorted(registry.agreements.values(), key=lambda a: a.id):
        status = status_at(registry.timelines[agreement.id], now)
        rows.append(summary_to_dict(agreement, status))
    if args.json:
        emit_json({"at": format_instant(now), "agreements": rows})
        return 0
    print(f"{'ID':<22} {'PARTIES':<23} {'STATE':<18} {'EXCHANGE':<9} SCOPE")
    for row in rows:
        scope = ", ".join(row["topics"]) if row["topics"] else "all defence topics"
        parties = "-".join(row["parties"]) + (f" (hub {row['hub']})" if row["hub"] else "")
        print(
            f"{row['id']:<22} {parties:<23} {row['state']:<18} "
            f"{'yes' if row['exchange_allowed'] else 'no':<9} {scope}"
        )
    return 0


def cmd_status(args: argparse.Namespace, now: datetime) -> int:
    registry = registry_for(args.id, args.with_events)
    agreement = registry.agreement(args.id)
    at = args.at or now
    status = status_at(registry.timeline(args.id), at)
    tz = agreement.tz
    if args.json:
        emit_json(status_to_dict(status, tz))
        return 0
    print(f"{agreement.title}")
    print(f"  id                {agreement.id}")
    print(
        f"  as of             {when(at, tz)}"
        + ("  (hypothetical events)" if status.hypothetical else "")
    )
    print(f"  state             {STATE_WORDS[str(status.state)]}")
    print(f"  new exchanges     {'allowed' if status.exchange_allowed else 'not allowed'}")
    if status.term_number is not None:
        print(
            f"  current term      {status.term_number}: {when(status.term_start, tz)} to "
            f"{when(status.term_end, tz)}"
        )
    print(f"  next renewal      {when(status.next_renewal, tz, at)}")
    print(f"  notice deadline   {when(status.notice_deadline, tz, at)}")
    notice = status.pending_notice
    if notice is None:
        print("  pending notice    none")
    else:
        effect = "suspended" if notice.suspended else when(notice.effective, tz, at)
        print(
            f"  pending notice    by {notice.by}, given {when(notice.given_at, tz)}; "
            f"takes effect: {effect}"
        )
    print(f"  equivalence       table v{status.table_version or '—'}")
    print("  why")
    print("\n".join(reason_lines(status.reasons, "    ")))
    return 0


def cmd_history(args: argparse.Namespace, now: datetime) -> int:
    registry = registry_for(args.id, args.with_events)
    agreement = registry.agreement(args.id)
    tz = agreement.tz
    entries = history(registry.timeline(args.id), until=args.until or now)
    if args.json:
        emit_json(
            {
                "agreement": agreement.id,
                "zone": tz.key,
                "entries": [history_to_dict(e, tz) for e in entries],
            }
        )
        return 0
    print(f"{agreement.title}\n")
    print(f"  {'WHEN (' + tz.key + ')':<27} {'EVENT':<19} {'BY':<4} {'STATE AFTER':<17} NOTE")
    for e in entries:
        mark = " *" if e.hypothetical else ""
        print(f"  {when(e.at, tz):<27} {e.kind:<19} {e.by or '':<4} {e.state:<17} {e.note}{mark}")
    if any(e.hypothetical for e in entries):
        print("\n  * hypothetical (from --with-events)")
    return 0


def cmd_schemes(args: argparse.Namespace, now: datetime) -> int:
    registry = builtin_registry()
    data: list[dict[str, Any]] = [
        {
            "id": s.id,
            "party": s.party,
            "name": s.name,
            "source": s.source,
            "levels": [
                {
                    "native": lv.native,
                    "english": lv.english,
                    "rank": lv.rank,
                    "aliases": list(lv.aliases),
                }
                for lv in sorted(s.levels, key=lambda lv: -lv.rank)
            ],
        }
        for s in registry.schemes.values()
    ]
    if args.json:
        emit_json({"schemes": data})
        return 0
    for s in data:
        print(f"{s['id']}: {s['name']}")
        for lv in s["levels"]:
            print(f"  {lv['rank']:>3}  {lv['native']:<20} {lv['english']}")
    return 0


def cmd_equivalent(args: argparse.Namespace, now: datetime) -> int:
    registry = builtin_registry()
    agreement = registry.agreement(args.agreement)
    for party in (args.from_party, args.to_party):
        if party not in agreement.parties:
            raise MarkingError(f"{party} is not a party to {agreement.id}", code="UNKNOWN_PARTY")
    level = registry.level(args.from_party, args.level)
    at = args.at or now
    seg = registry.timeline(agreement.id).segment_at(at)
    version = args.table or seg.table_version or 1
    if not 1 <= version <= len(agreement.tables):
        raise InputError(f"{agreement.id} has table versions 1 to {len(agreement.tables)}")
    table = agreement.table(version)
    row = table.row_for(args.from_party, level.native)
    equivalent = table.equivalent(args.from_party, level.native, args.to_party)
    result = {
        "agreement": agreement.id,
        "table_version": version,
        "from": {"party": args.from_party, "level": level.native, "english": level.english},
        "to": args.to_party,
        "equivalent": equivalent,
        "alternatives": list(row.markings.get(args.to_party, ())) if row else [],
        "english": row.english if row else None,
        "assumed": row.assumed if row else None,
        "source": row.source if row else None,
        "releasable": equivalent is not None,
    }
    if args.json:
        emit_json(result)
        return 0
    if equivalent is None:
        print(
            f"{args.from_party} {level} has no {args.to_party} equivalent under {agreement.id} "
            f"table v{version}: it can never be provided under this agreement (Art. 4)."
        )
        return 0
    alts = result["alternatives"]
    also = f" (also: {', '.join(alts[1:])})" if len(alts) > 1 else ""
    basis = "assumed — check it" if row and row.assumed else (row.source if row else "")
    print(
        f"{args.from_party} {level.native} ≡ {args.to_party} {equivalent}{also}  "
        f"[{row.english if row else ''}; {agreement.id} table v{version}; {basis}]"
    )
    return 0
