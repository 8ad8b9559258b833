"""CoT decode speed, the current decoder beside the previous one in the same run (issue 5 §2).

    python bench/cot_decode.py [--json] [--rounds N]

Three sets of events, each decoded by both decoders, alternating event by event so that whatever
else the machine does weighs on both alike:

- ``typical``: what the simulator makes (``gsomia simulate launch``: launch, updates from KOR and
  JPN sensors, impact prediction, end; every kind), encoded by ``encode_event`` with the full
  STANAG 4774 label in ``detail``: the canonical shape, read by the fast path.
- ``large_label``: one update whose label carries 60 Releasable To trigraphs and 10 topics
  (about 4 KiB of label XML in ``detail``).
- ``tak_client``: the typical events as a TAK client or server may pass them on, behind an XML
  declaration and with a ``_flow-tags_`` element in ``detail``: not canonical, so the new decoder
  parses them with the C parser (the general path).

The previous decoder (defusedxml's Python-level expat callbacks) is kept as a test oracle in
``tests/unit/tracks/old_cot.py``.  Printed per set and decoder: µs per event at p50 and p99 (each
sample is one decode, ``time.perf_counter_ns``), and events per second (1 / mean), and the speed-up
of the medians.  Both decoders return equal messages for every event (checked before timing).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gsomia.catalog import builtin_registry
from gsomia.instants import format_instant
from gsomia.markings import Scheme
from gsomia.tracks import TrackMessage, decode_event, encode_event
from gsomia.tracks.simulate import Scenario, simulate

# The previous decoder lives with the tests (the oracle of the differential test).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import make_label
from tests.unit.tracks import old_cot

Decoder = Callable[[bytes, Mapping[str, Scheme]], TrackMessage]


def event_sets(schemes: Mapping[str, Scheme]) -> dict[str, list[bytes]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    messages = list(simulate(Scenario(start=start, rate_hz=1.0)))
    typical = [encode_event(m, schemes) for m in messages]
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    rel_to = (*(f"X{a}{b}" for a in letters[:6] for b in letters[:10]), "KOR")
    topics = tuple(f"NK-T{n}" for n in range(10))
    update = next(m for m in messages if m.kind.value == "update" and m.sensor.startswith("KOR"))
    big = make_label(
        rel_to=rel_to, topics=topics, created=format_instant(update.time - timedelta(seconds=1))
    )
    large = [encode_event(replace(update, label=big), schemes)]
    tak = [
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + e.replace(b"<detail>", b'<detail><_flow-tags_ TAK-Server="2026-01-01T00:00:01Z"/>', 1)
        for e in typical
    ]
    return {"typical": typical, "large_label": large, "tak_client": tak}


def measure(
    events: list[bytes], decoders: dict[str, Decoder], schemes: Mapping[str, Scheme], rounds: int
) -> dict[str, dict[str, float]]:
    for event in events:  # equal results, and every cache warm, before the clock starts
        results = [decode(event, schemes) for decode in decoders.values()]
        assert all(r == results[0] for r in results), "the decoders disagree"
    samples: dict[str, list[int]] = {name: [] for name in decoders}
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for event in events:
                for name, decode in decoders.items():
                    t0 = time.perf_counter_ns()
                    decode(event, schemes)
                    samples[name].append(time.perf_counter_ns() - t0)
    finally:
        gc.enable()
    out: dict[str, dict[str, float]] = {}
    for name, values in samples.items():
        values.sort()
        out[name] = {
            "p50_us": round(values[len(values) // 2] / 1000, 1),
            "p99_us": round(values[int(len(values) * 0.99)] / 1000, 1),
            "events_per_s": round(1e9 / statistics.fmean(values)),
        }
    out["speedup_p50"] = {"x": round(out["old"]["p50_us"] / out["new"]["p50_us"], 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    schemes = builtin_registry().schemes
    decoders: dict[str, Decoder] = {"old": old_cot.decode_event, "new": decode_event}
    results: dict[str, Any] = {}
    for name, events in event_sets(schemes).items():
        rounds = args.rounds * (50 if len(events) == 1 else 1)
        results[name] = measure(events, decoders, schemes, rounds)
        results[name]["events"] = {
            "n": len(events),
            "bytes_p50": sorted(map(len, events))[len(events) // 2],
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'set':<12} {'decoder':<8} {'p50 µs':>8} {'p99 µs':>8} {'events/s':>10}")
    for name, result in results.items():
        for decoder in decoders:
            r = result[decoder]
            print(
                f"{name:<12} {decoder:<8} {r['p50_us']:>8} {r['p99_us']:>8} {r['events_per_s']:>10}"
            )
        print(
            f"{'':<12} speed-up of the median: {result['speedup_p50']['x']}x "
            f"({result['events']['n']} events, {result['events']['bytes_p50']} bytes at the median)"
        )


if __name__ == "__main__":
    main()
