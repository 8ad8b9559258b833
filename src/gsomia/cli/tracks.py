"""``gsomia simulate launch``: a simulated ballistic launch as KOR and JPN sensors report it.

Prints the track messages (PRODUCT.md §5) as JSON lines (``--format json``, the default) or as
CoT events, one per line, as a TAK protocol version 0 stream carries them (``--format cot``), on
stdout or into ``--out FILE``.  With ``--json`` stdout carries only one JSON summary (``count``,
``duration_s``, ``apogee_m``, ``range_m``, ``impact``, ``launch``, ``tracks``, …) and the
messages go to ``--out`` if it is given.  The launch instant defaults to now; the same
``--seed`` and ``--start`` give the same messages, byte for byte.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from gsomia.catalog import builtin_registry
from gsomia.cli._parser import Subparsers, add_command, instant_arg
from gsomia.cli.output import emit_json
from gsomia.errors import InputError
from gsomia.instants import format_instant
from gsomia.markings import Scheme
from gsomia.tracks import json_codec
from gsomia.tracks.cot import encode_event
from gsomia.tracks.model import EndOfTrack, TrackMessage
from gsomia.tracks.simulate import LAUNCH_AREAS, MissileClass, Profile, Scenario, simulate

__all__ = ["add_tracks_commands"]


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hertz") from None
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError("the rate is above 0 and at most 100 Hz")
    return value


def _line(message: TrackMessage, schemes: Mapping[str, Scheme] | None) -> str:
    if schemes is None:
        return json_codec.dumps(message)
    return encode_event(message, schemes).decode("utf-8")


def _write(messages: Iterator[TrackMessage], fmt: str, out: TextIO | None) -> dict[str, Any]:
    schemes = builtin_registry().schemes if fmt == "cot" else None
    tracks: dict[str, dict[str, Any]] = {}
    count = 0
    for message in messages:
        count += 1
        entry = tracks.setdefault(
            message.track_id,
            {"track": message.track_id, "sensor": message.sensor, "party": message.originator,
             "messages": 0, "first": format_instant(message.time)},
        )  # fmt: skip
        entry["messages"] += 1
        entry["last"] = format_instant(message.time)
        if isinstance(message.body, EndOfTrack):
            entry["end"] = message.body.reason.value
        if out is not None:
            out.write(_line(message, schemes) + "\n")
    return {"count": count, "tracks": list(tracks.values())}


def _summary(scenario: Scenario, written: dict[str, Any]) -> dict[str, Any]:
    flight, area = scenario.flight, scenario.launch_area
    return {
        "count": written["count"],
        "duration_s": round(flight.duration_s, 1),
        "apogee_m": round(flight.apogee_m),
        "range_m": round(flight.range_m),
        "impact": {"lat": round(flight.impact_lat, 4), "lon": round(flight.impact_lon, 4)},
        "launch": {"area": area.key, "name": area.name, "lat": area.lat, "lon": area.lon},
        "start": format_instant(scenario.start),
        "class": scenario.missile_class.value,
        "profile": scenario.profile.value,
        "weapon": area.weapon.value,
        "rate_hz": scenario.rate_hz,
        "seed": scenario.seed,
        "tracks": written["tracks"],
    }


def cmd_launch(args: argparse.Namespace, now: datetime) -> int:
    scenario = Scenario(
        start=args.start or now,
        area=args.area,
        missile_class=MissileClass(args.missile_class),
        profile=Profile(args.profile),
        rate_hz=args.rate,
        seed=args.seed,
    )
    if args.out is None:
        written = _write(simulate(scenario), args.format, None if args.json else sys.stdout)
    else:
        try:
            handle = args.out.open("w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise InputError(f"cannot write {args.out}: {exc.strerror}") from None
        with handle:
            written = _write(simulate(scenario), args.format, handle)
    summary = _summary(scenario, written)
    if args.json:
        emit_json(summary)
    elif args.out is not None:
        print(
            f"{summary['count']} messages in {len(summary['tracks'])} tracks written to {args.out}: "
            f"{summary['class']} {summary['profile']} from {summary['launch']['name']}, "
            f"range {summary['range_m'] / 1000:.0f} km, apogee {summary['apogee_m'] / 1000:.0f} km, "
            f"{summary['duration_s']:.0f} s"
        )
    return 0


def add_tracks_commands(top: Subparsers) -> None:
    """``gsomia simulate launch``."""
    sim = top.add_parser("simulate", help="simulated missile-warning tracks (PRODUCT §5)")
    sub = sim.add_subparsers(dest="sub", metavar="SUBCOMMAND", required=True)
    p = add_command(
        sub,
        "launch",
        cmd_launch,
        "simulate a ballistic launch seen by KOR and JPN sensors; print its track messages",
    )
    p.add_argument("--from", dest="area", default="sunan", choices=sorted(LAUNCH_AREAS),
                   help="launch area (approximate coordinates; default: sunan)")  # fmt: skip
    p.add_argument("--class", dest="missile_class", default="MRBM",
                   choices=[c.value for c in MissileClass], help="default: MRBM")  # fmt: skip
    p.add_argument("--profile", default="standard", choices=[v.value for v in Profile],
                   help="standard (minimum energy) or lofted (default: standard)")  # fmt: skip
    p.add_argument("--rate", type=_rate, default=1.0, metavar="HZ",
                   help="sensor update rate (default: 1)")  # fmt: skip
    p.add_argument("--seed", type=int, default=1, metavar="N", help="default: 1")
    p.add_argument("--start", type=instant_arg, metavar="INSTANT",
                   help="launch instant (default: now)")  # fmt: skip
    p.add_argument("--format", default="json", choices=["json", "cot"],
                   help="JSON lines or CoT XML events, one per line (default: json)")  # fmt: skip
    p.add_argument("--out", type=Path, metavar="FILE", help="write the messages to FILE")
