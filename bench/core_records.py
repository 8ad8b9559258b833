"""Microbenchmarks of the pure core's per-record cost: value records, audit records, strict JSON.

    python bench/core_records.py [--json] [--number N] [--repeat R]

Every item exchanged builds several checked value records per node (an audit record and its
RFC 8785 bytes, outbox, inbox, receipt and held-item records) and parses strict JSON (a track
frame on a partner link, an API request body).  Each row is the best of ``R`` :mod:`timeit`
runs of ``N`` calls, in microseconds per call, on values shaped like the exchange's
(``bench/exchange.py``): a release audit record with six detail members, a 1 KiB item, a
simulated track message with its label, a batch release body of 100 items of 1 KiB text.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gsomia import strictjson
from gsomia.audit import merkle
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.instants import parse_instant
from gsomia.labels import RELEASABLE_TO, TOPIC, Category, CategoryType, LabelSet, OriginatorLabel
from gsomia.ports.records import (
    DeliveryState,
    HeldItem,
    InboxEntry,
    InboxOutcome,
    OutboxEntry,
    OutboxMessage,
    ReceiptDirection,
    ReceiptRecord,
)
from gsomia.streaming.link import _object as link_object
from gsomia.streaming.link import decode_track, encode_track
from gsomia.tracks.json_codec import dumps as track_dumps
from gsomia.tracks.simulate import KOR_SENSOR, Scenario, simulate

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DETAIL = {
    "recipient": "JPN",
    "topic": "NK-MISSILE",
    "purpose": "early warning",
    "path": "KOR>JPN",
    "marking": "極秘",
    "digest": "9f" * 32,
}


def _audit() -> AuditRecord:
    return AuditRecord(
        AuditKind.RELEASE, NOW, "kor-release-1", "0b8c7e2a-item", "allow", ("IN_FORCE",),
        agreement="KOR-JPN-GSOMIA", table_version=1, detail=DETAIL,
    )  # fmt: skip


def _old_link_object(data: bytes, limit: int) -> dict[str, Any]:
    """The partner link's private decoder before it used strictjson.loads (for comparison)."""

    def pairs(members: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(members)
        if len(out) != len(members):
            raise ValueError("a member appears twice in one object")
        return out

    def constant(text: str) -> Any:
        raise ValueError(f"{text} is not a number JSON allows")

    if len(data) > limit:
        raise ValueError(f"more than {limit} bytes")
    obj = json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_constant=constant)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return obj


def cases() -> dict[str, Callable[[], object]]:
    """The timed calls by name."""
    record = _audit()
    encoded = record.to_bytes()
    label = OriginatorLabel(
        policy_id="KOR",
        classification="군사II급비밀",
        originator="KOR",
        created=parse_instant("2026-11-23T11:00:00+09:00"),
        categories=(
            Category(RELEASABLE_TO, CategoryType.PERMISSIVE, ("KOR", "JPN", "USA")),
            Category(TOPIC, CategoryType.RESTRICTIVE, ("NK-MISSILE",)),
        ),
    )
    labels = LabelSet(label)
    message = OutboxMessage("item-1:JPN", "JPN", "item", "item-1", b"x" * 1400, NOW)
    entry = OutboxEntry(message, 1, DeliveryState.PENDING, 0, NOW)
    digest = b"d" * 32
    track = next(simulate(Scenario(NOW, rate_hz=1.0, sensors=(KOR_SENSOR,))))
    frame = encode_track(track, LabelSet(track.label), ("JPN",))
    head, _, body = frame.partition(b"\n")
    batch = json.dumps(
        {"items": [{"text": f"{i:06d}" + "x" * 1018, "labels": {"a": 1}} for i in range(100)]}
    ).encode()
    tree = merkle.MerkleTree.from_entries(b"%d" % i for i in range(1024))
    as_json = record.to_json()
    return {
        "AuditRecord(...)": _audit,
        "AuditRecord.to_bytes": record.to_bytes,
        "AuditRecord.from_bytes": lambda: AuditRecord.from_bytes(encoded),
        "canonical(record json)": lambda: strictjson.canonical(as_json),
        "OutboxMessage(...)": lambda: OutboxMessage(
            "item-1:JPN", "JPN", "item", "item-1", b"x" * 1400, NOW
        ),
        "OutboxEntry(...)": lambda: OutboxEntry(message, 1, DeliveryState.PENDING, 0, NOW),
        "OutboxEntry(settled)": lambda: OutboxEntry(
            entry.message, 1, DeliveryState.ACKNOWLEDGED, 1, NOW, NOW, None, NOW
        ),
        "InboxEntry(...)": lambda: InboxEntry(
            "item-1", "KOR", digest, NOW, InboxOutcome.ACCEPTED, (), 7
        ),
        "ReceiptRecord(...)": lambda: ReceiptRecord(
            "item-1", "JPN", ReceiptDirection.RECEIVED, b"t" * 200, NOW
        ),
        "HeldItem(...)": lambda: HeldItem(
            "item-1", labels, "NK-MISSILE", b"s" * 1400, NOW, "KOR-JPN-GSOMIA", 1
        ),
        "merkle.leaf_hash": lambda: merkle.leaf_hash(encoded),
        "merkle.inclusion_proof": lambda: tree.inclusion_proof(517, 1000),
        "strictjson.loads(track body)": lambda: strictjson.loads(
            body, max_bytes=16384, max_depth=8, allow_float=True
        ),
        "strictjson.loads(track header)": lambda: strictjson.loads(
            head, max_bytes=8192, max_depth=8
        ),
        "strictjson.loads(batch 100x1KiB)": lambda: strictjson.loads(
            batch, max_bytes=len(batch), max_depth=32, allow_float=True, require_object=False
        ),
        "link JSON, old decoder (body)": lambda: _old_link_object(body, 16384),
        "link JSON, strictjson (body)": lambda: link_object(body, 16384, "track message"),
        "link decode_track": lambda: decode_track(frame),
        "track json dumps": lambda: track_dumps(track),
    }


def main(argv: list[str] | None = None) -> int:
    """Time every case; print a table, or JSON with ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--number", type=int, default=2000, help="calls per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is kept")
    parser.add_argument("--only", default="", help="only the cases whose name contains this")
    args = parser.parse_args(argv)
    results: dict[str, float] = {}
    for name, call in cases().items():
        if args.only not in name:
            continue
        number = args.number if "batch" not in name else max(1, args.number // 20)
        best = min(timeit.repeat(call, number=number, repeat=args.repeat))
        results[name] = round(best / number * 1e6, 2)
    if args.json:
        print(json.dumps({"python": platform.python_version(), "us_per_call": results}))
    else:
        print(f"{'case':36s} {'us/call':>9s}")
        for name, value in results.items():
            print(f"{name:36s} {value:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
