"""Track messages as JSON: the simulator's output, and JSON ingest over HTTP (issue 5 §2).

One message is one JSON object (member names stable, every member required)::

    {"track": id, "seq": int, "kind": "launch" | "update" | "impact" | "end",
     "time": instant, "stale": instant, "sensor": id, "weapon": "SSM" | "SLBM",
     "simulated": bool, "ce": number, "le": number,
     "label": originator label (gsomia.labels.json_codec),
     "body": {…}}

with ``body`` by kind (``point`` is ``{"lat": n, "lon": n, "hae": n}``)::

    launch  {"point": point, "launch_time": instant}
    update  {"position": point, "velocity": {"speed": n, "course": n, "slope": n}}
    impact  {"point": point, "ellipse": {"semi_major": n, "semi_minor": n, "orientation": n},
             "impact_time": instant}
    end     {"position": point, "reason": "impact" | "lost" | "cancelled"}

Instants are written as :func:`~gsomia.instants.format_instant` writes them; numbers as Python's
shortest round-trip form, so ``loads(dumps(m)) == m``.  :func:`loads` parses with
:func:`gsomia.strictjson.loads` (16 KiB, depth 8, no duplicate members, no NaN) and raises only
:class:`~gsomia.errors.TrackError`: ``TRACK_JSON_MALFORMED`` (not a JSON object within the
limits), ``TRACK_JSON_FIELD_MISSING``, ``TRACK_JSON_FIELD_UNKNOWN``, ``TRACK_FIELD_INVALID`` (a
member of the wrong type), ``TRACK_LABEL_INVALID`` (the label does not decode; ``detail
["label_code"]`` has the label's code) and the model's codes (:mod:`.model`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from gsomia import strictjson
from gsomia.errors import InstantError, LabelError, TrackError
from gsomia.instants import format_instant, parse_instant
from gsomia.labels import OriginatorLabel
from gsomia.labels import json_codec as label_json
from gsomia.tracks.model import (
    Body,
    Ellipse,
    EndOfTrack,
    EndReason,
    GeoPoint,
    ImpactPrediction,
    Kind,
    Launch,
    TrackMessage,
    Update,
    Velocity,
    Weapon,
)

__all__ = ["MAX_JSON_BYTES", "dumps", "from_dict", "loads", "to_dict"]

MAX_JSON_BYTES: Final = 16 * 1024
_KEYS: Final = frozenset(
    {"track", "seq", "kind", "time", "stale", "sensor", "weapon", "simulated", "ce", "le"}
    | {"label", "body"}
)


def _point(p: GeoPoint) -> dict[str, float]:
    return {"lat": p.lat, "lon": p.lon, "hae": p.hae}


def _body_dict(body: Body) -> dict[str, Any]:
    if isinstance(body, Launch):
        return {"point": _point(body.point), "launch_time": format_instant(body.launch_time)}
    if isinstance(body, Update):
        v = body.velocity
        return {
            "position": _point(body.position),
            "velocity": {"speed": v.speed, "course": v.course, "slope": v.slope},
        }
    if isinstance(body, ImpactPrediction):
        e = body.ellipse
        return {
            "point": _point(body.point),
            "ellipse": {
                "semi_major": e.semi_major,
                "semi_minor": e.semi_minor,
                "orientation": e.orientation,
            },
            "impact_time": format_instant(body.impact_time),
        }
    return {"position": _point(body.position), "reason": body.reason.value}


def to_dict(message: TrackMessage) -> dict[str, Any]:
    """The JSON object of ``message`` (module docstring)."""
    return {
        "track": message.track_id,
        "seq": message.seq,
        "kind": message.kind.value,
        "time": format_instant(message.time),
        "stale": format_instant(message.stale),
        "sensor": message.sensor,
        "weapon": message.weapon.value,
        "simulated": message.simulated,
        "ce": message.ce,
        "le": message.le,
        "label": label_json.to_dict(message.label),
        "body": _body_dict(message.body),
    }


def dumps(message: TrackMessage) -> str:
    """``message`` as one line of JSON (UTF-8 text kept as is)."""
    return json.dumps(to_dict(message), ensure_ascii=False, separators=(",", ":"))


def _err(code: str, message: str, field: str) -> TrackError:
    return TrackError(message, code=code, detail={"field": field})


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _object(obj: object, where: str, keys: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise _err("TRACK_FIELD_INVALID", f"{where or 'message'} must be an object", where)
    for key in keys:
        if key not in obj:
            raise _err("TRACK_JSON_FIELD_MISSING", f"{_at(where, key)} is missing", _at(where, key))
    for key in obj:
        if key not in keys:
            raise _err(
                "TRACK_JSON_FIELD_UNKNOWN", f"unknown member {key[:64]!r}", where or key[:64]
            )
    return obj


def _typed(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = obj[key]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise _err("TRACK_FIELD_INVALID", f"{_at(where, key)} has the wrong type", _at(where, key))
    return value


def _num(obj: Mapping[str, Any], key: str, where: str) -> float:
    return float(_typed(obj, key, (int, float), where))


def _time(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    try:
        return parse_instant(_typed(obj, key, str, where))
    except InstantError as exc:
        raise _err("TRACK_TIME_INVALID", exc.message, _at(where, key)) from None


def _geo(obj: Mapping[str, Any], key: str, where: str) -> GeoPoint:
    at = _at(where, key)
    p = _object(obj[key], at, frozenset({"lat", "lon", "hae"}))
    return GeoPoint(_num(p, "lat", at), _num(p, "lon", at), _num(p, "hae", at))


def _enum(enum: Callable[[str], Any], obj: Mapping[str, Any], key: str, where: str) -> Any:
    try:
        return enum(_typed(obj, key, str, where))
    except ValueError:
        raise _err(
            "TRACK_FIELD_INVALID", f"{_at(where, key)} is not known", _at(where, key)
        ) from None


def _body(kind: Kind, obj: object) -> Body:
    w = "body"
    if kind is Kind.LAUNCH:
        b = _object(obj, w, frozenset({"point", "launch_time"}))
        return Launch(_geo(b, "point", w), _time(b, "launch_time", w))
    if kind is Kind.UPDATE:
        b = _object(obj, w, frozenset({"position", "velocity"}))
        v = _object(b["velocity"], "body.velocity", frozenset({"speed", "course", "slope"}))
        velocity = Velocity(_num(v, "speed", w), _num(v, "course", w), _num(v, "slope", w))
        return Update(_geo(b, "position", w), velocity)
    if kind is Kind.IMPACT:
        b = _object(obj, w, frozenset({"point", "ellipse", "impact_time"}))
        e = _object(
            b["ellipse"], "body.ellipse", frozenset({"semi_major", "semi_minor", "orientation"})
        )
        ellipse = Ellipse(_num(e, "semi_major", w), _num(e, "semi_minor", w),
                          _num(e, "orientation", w))  # fmt: skip
        return ImpactPrediction(_geo(b, "point", w), ellipse, _time(b, "impact_time", w))
    b = _object(obj, w, frozenset({"position", "reason"}))
    return EndOfTrack(_geo(b, "position", w), _enum(EndReason, b, "reason", w))


def from_dict(obj: object) -> TrackMessage:
    """The message the JSON object ``obj`` describes; raise :class:`TrackError` otherwise."""
    m = _object(obj, "", _KEYS)
    try:
        label = label_json.from_dict(m["label"], OriginatorLabel)
    except LabelError as exc:
        raise TrackError(f"label: {exc.message}", code="TRACK_LABEL_INVALID",
                         detail={"field": "label", "label_code": exc.code}) from None  # fmt: skip
    kind = _enum(Kind, m, "kind", "")
    return TrackMessage(
        track_id=_typed(m, "track", str, ""),
        seq=_typed(m, "seq", int, ""),
        time=_time(m, "time", ""),
        stale=_time(m, "stale", ""),
        sensor=_typed(m, "sensor", str, ""),
        weapon=_enum(Weapon, m, "weapon", ""),
        label=label,
        body=_body(kind, m["body"]),
        ce=_num(m, "ce", ""),
        le=_num(m, "le", ""),
        simulated=_typed(m, "simulated", bool, ""),
    )


def loads(data: str | bytes | bytearray | memoryview) -> TrackMessage:
    """Parse one message from JSON, strictly (module docstring)."""
    try:
        obj = strictjson.loads(data, max_bytes=MAX_JSON_BYTES, max_depth=8, allow_float=True)
    except strictjson.JsonProblem as exc:
        raise TrackError(f"not a track message: {exc.message}", code="TRACK_JSON_MALFORMED",
                         detail={"problem": exc.kind.value}) from None  # fmt: skip
    return from_dict(obj)
