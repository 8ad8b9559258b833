"""Builders shared by the track tests: one valid message of each kind, and its CoT event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gsomia.catalog import builtin_registry
from gsomia.labels import OriginatorLabel
from gsomia.tracks.model import (
    Ellipse,
    EndOfTrack,
    EndReason,
    GeoPoint,
    ImpactPrediction,
    Launch,
    TrackMessage,
    Update,
    Velocity,
    Weapon,
)
from tests.conftest import at, make_label

SCHEMES = builtin_registry().schemes
T0 = at("2024-05-01T09:00:30+09:00")
TRACK = "KOR-20240501T0900-1"


def label(**kwargs: Any) -> OriginatorLabel:
    kwargs.setdefault("created", "2024-05-01T09:00:30+09:00")
    return make_label(**kwargs)


def message(
    kind: str = "update", *, seq: int = 2, time: datetime = T0, **over: Any
) -> TrackMessage:
    bodies: dict[str, Any] = {
        "launch": Launch(GeoPoint(39.2, 125.67, 0.0), time - timedelta(seconds=25)),
        "update": Update(GeoPoint(39.3, 126.1, 45_000.0), Velocity(1800.0, 80.0, 30.0)),
        "impact": ImpactPrediction(
            GeoPoint(40.1, 134.9, 0.0),
            Ellipse(30_000.0, 10_000.0, 85.0),
            time + timedelta(minutes=8),
        ),
        "end": EndOfTrack(GeoPoint(40.0, 134.5, 20_000.0), EndReason.IMPACT),
    }
    fields: dict[str, Any] = {
        "track_id": TRACK,
        "seq": seq,
        "time": time,
        "stale": time + timedelta(seconds=10),
        "sensor": "KOR-RADAR-1",
        "weapon": Weapon.SSM,
        "label": label(),
        "body": bodies[kind],
        "ce": 250.0,
        "le": 400.0,
        "simulated": True,
    }
    fields.update(over)
    return TrackMessage(**fields)
