"""The CoT decoder as it was before the fast path (issue 5 §2): the test oracle, not package code.

Kept verbatim (defusedxml's Python-level expat callbacks under the limits of
:mod:`gsomia.labels.bounded_xml`, the label memoized per frozen subtree) so that
``test_cot_differential.py`` can check that :func:`gsomia.tracks.decode_event` agrees with it on
accept/refuse, on the refusal code and on the message, and ``bench/cot_decode.py`` can time both in
the same run.  Only the imports changed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeAlias

from gsomia.errors import CotError, InstantError, LabelError, TrackError
from gsomia.instants import parse_instant
from gsomia.labels import OriginatorLabel
from gsomia.labels.bounded_xml import parse_bounded
from gsomia.labels.xml_codec import ORIGINATOR_LABEL, from_xml
from gsomia.markings import Scheme
from gsomia.tracks._xml import MAX_DEPTH, MAX_ELEMENTS, MAX_EVENT_BYTES, cot_error
from gsomia.tracks.cot import (
    GSOMIA_NS,
    IMPACT_TYPE,
    LAUNCH_TYPES,
    MISSILE_TYPES,
    access_for,
    event_type,
    event_uid,
)
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

__all__ = ["decode_event"]

_KNOWN_TYPES = frozenset({*MISSILE_TYPES.values(), *LAUNCH_TYPES.values(), IMPACT_TYPE})
_UID_SUFFIX = {Kind.LAUNCH: ".launch", Kind.IMPACT: ".impact"}
_EVENT_ATTRS = frozenset(
    {"version", "uid", "type", "time", "start", "stale", "how", "access"}
    | {"qos", "opex", "caveat", "releasableto"}  # MIL-STD-6090: accepted, ignored
)
_MESSAGE = f"{{{GSOMIA_NS}}}message"
_MESSAGE_ATTRS = {
    Kind.LAUNCH: "launch",
    Kind.UPDATE: None,
    Kind.IMPACT: "impact",
    Kind.END: "reason",
}
_TYPE_SYNTAX = re.compile(r"[a-zA-Z](-[a-zA-Z0-9]+){0,15}")
_UID_SYNTAX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_HOW_SYNTAX = re.compile(r"[a-z](-[a-z]+){0,4}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SEQ = re.compile(r"[1-9][0-9]{0,15}")
_TRACK_CODES = {  # refusals of the model, as the CoT codes a client would expect
    "TRACK_POSITION_INVALID": "COT_POINT_INVALID",
    "TRACK_ALTITUDE_INVALID": "COT_POINT_INVALID",
    "TRACK_ACCURACY_INVALID": "COT_POINT_INVALID",
    "TRACK_TIME_INVALID": "COT_TIME_INCONSISTENT",
    "TRACK_STALE_INVALID": "COT_TIME_INCONSISTENT",
    "TRACK_VELOCITY_INVALID": "COT_DETAIL_INVALID",
    "TRACK_ELLIPSE_INVALID": "COT_DETAIL_INVALID",
}


def parse_event(data: object) -> ET.Element:
    """Parse ``data`` (bytes of one event) into an element tree, within the limits."""
    return parse_bounded(
        data,
        prefix="COT",
        what="event",
        fail=cot_error,
        error=CotError,
        max_bytes=MAX_EVENT_BYTES,
        max_depth=MAX_DEPTH,
        max_elements=MAX_ELEMENTS,
    )


_Frozen: TypeAlias = tuple[
    str, tuple[tuple[str, str], ...], str | None, str | None, tuple[Any, ...]
]


def _freeze(elem: ET.Element, tail: str | None) -> _Frozen:
    """Everything of ``elem``'s subtree that its XML serialization depends on, as a value."""
    children = tuple(_freeze(child, child.tail) for child in elem)
    return (elem.tag, tuple(sorted(elem.attrib.items())), elem.text, tail, children)


def _thaw(frozen: _Frozen) -> ET.Element:
    tag, attrs, text, tail, children = frozen
    elem = ET.Element(tag, dict(attrs))
    elem.text, elem.tail = text, tail
    elem.extend(_thaw(child) for child in children)
    return elem


def _decode_label(elem: ET.Element) -> OriginatorLabel:
    data = ET.tostring(elem, encoding="unicode").encode("utf-8")
    return from_xml(data, OriginatorLabel)


@lru_cache(maxsize=256)
def _label_of(frozen: _Frozen) -> OriginatorLabel:
    # A track repeats its label in every message: the label codec runs once per distinct small
    # label subtree (a refusal is raised, never cached; memory stays under a few MiB).
    return _decode_label(_thaw(frozen))


def label_from(elem: ET.Element) -> OriginatorLabel:
    """The originator label that the embedded 4774 element ``elem`` encodes."""
    try:
        if sum(1 for _ in elem.iter()) > 64:
            elem.tail = None
            return _decode_label(elem)
        return _label_of(_freeze(elem, None))
    except LabelError as exc:
        raise cot_error("COT_LABEL_INVALID", f"label: {exc.message}", label_code=exc.code) from None
    except Exception as exc:
        raise cot_error("COT_LABEL_INVALID", "label could not be read") from exc


# --- decoding ---------------------------------------------------------------------------------


def _number(elem: ET.Element, name: str, code: str) -> float:
    text = elem.get(name)
    if text is None or not _DECIMAL.fullmatch(text):
        raise cot_error(code, f"{elem.tag}/@{name} must be a decimal number", attribute=name)
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise cot_error(code, f"{elem.tag}/@{name} is out of range", attribute=name)
    return value


def _instant(text: str | None, what: str) -> datetime:
    if text is None:
        raise cot_error("COT_TIME_INVALID", f"{what} is missing", attribute=what)
    try:
        return parse_instant(text)
    except InstantError as exc:
        raise cot_error("COT_TIME_INVALID", f"{what}: {exc.message}", attribute=what) from None


def _check_type(text: str | None) -> str:
    if text is None or not _TYPE_SYNTAX.fullmatch(text):
        raise cot_error("COT_TYPE_MALFORMED", "event type is missing or not a CoT type")
    if text not in _KNOWN_TYPES:
        what = "an aircraft type, not a missile" if re.match(r"a-.-A-[CM]", text) else "unknown"
        raise cot_error("COT_TYPE_UNKNOWN", f"event type {text!r} is {what}", type=text)
    return text


def _children(event: ET.Element) -> tuple[ET.Element, ET.Element]:
    found: dict[str, ET.Element] = {}
    for child in event:
        if child.tag not in ("point", "detail") or child.tag in found:
            raise cot_error(
                "COT_ELEMENT_UNEXPECTED", f"unexpected element {child.tag[:64]!r} in event"
            )
        found[child.tag] = child
    if "point" not in found:
        raise cot_error("COT_POINT_MISSING", "event has no point")
    if "detail" not in found:
        raise cot_error("COT_DETAIL_MISSING", "event has no detail")
    return found["point"], found["detail"]


def _detail(detail: ET.Element) -> dict[str, ET.Element]:
    wanted = {"track", "shape", _MESSAGE, ORIGINATOR_LABEL}
    found: dict[str, ET.Element] = {}
    for child in detail:
        if child.tag in wanted:
            if child.tag in found:
                raise cot_error("COT_DETAIL_INVALID", "an element appears twice in detail")
            found[child.tag] = child
    if _MESSAGE not in found:
        raise cot_error("COT_MESSAGE_MISSING", "detail has no gsomia:message")
    if ORIGINATOR_LABEL not in found:
        raise cot_error("COT_LABEL_MISSING", "detail has no STANAG 4774 originator label")
    return found


def _body(kind: Kind, msg: ET.Element, parts: dict[str, ET.Element], point: GeoPoint) -> Body:
    extra = _MESSAGE_ATTRS[kind]
    if kind is Kind.UPDATE:
        track = parts.get("track")
        if track is None:
            raise cot_error("COT_DETAIL_INVALID", "an update needs detail/track")
        code = "COT_DETAIL_INVALID"
        velocity = Velocity(
            _number(track, "speed", code),
            _number(track, "course", code),
            _number(track, "slope", code),
        )
        return Update(point, velocity)
    assert extra is not None
    value = msg.get(extra)
    if kind is Kind.LAUNCH:
        return Launch(point, _instant(value, "launch"))
    if kind is Kind.IMPACT:
        shape = parts.get("shape")
        ellipse = shape.find("ellipse") if shape is not None else None
        if ellipse is None:
            raise cot_error("COT_DETAIL_INVALID", "an impact prediction needs shape/ellipse")
        code = "COT_DETAIL_INVALID"
        axes = Ellipse(
            _number(ellipse, "major", code),
            _number(ellipse, "minor", code),
            _number(ellipse, "angle", code),
        )
        return ImpactPrediction(point, axes, _instant(value, "impact"))
    try:
        return EndOfTrack(point, EndReason(value or ""))
    except ValueError:
        raise cot_error("COT_DETAIL_INVALID", "end of track needs a known reason") from None


def _message_attrs(msg: ET.Element) -> tuple[Kind, int, Weapon]:
    try:
        kind = Kind(msg.get("kind", ""))
        weapon = Weapon(msg.get("weapon", ""))
    except ValueError:
        raise cot_error(
            "COT_DETAIL_INVALID", "gsomia:message has an unknown kind or weapon"
        ) from None
    allowed = {"track", "seq", "kind", "sensor", "weapon"} | {_MESSAGE_ATTRS[kind] or "kind"}
    if set(msg.attrib) - allowed or len(msg):
        raise cot_error("COT_DETAIL_INVALID", "gsomia:message has unexpected content")
    seq = msg.get("seq", "")
    if not _SEQ.fullmatch(seq):
        raise cot_error("COT_DETAIL_INVALID", "gsomia:message/@seq is not a sequence number")
    return kind, int(seq), weapon


def decode_event(data: bytes, schemes: Mapping[str, Scheme]) -> TrackMessage:
    """The track message one CoT event carries; raise :class:`CotError` for anything else."""
    event = parse_event(data)
    if event.tag != "event":
        raise cot_error("COT_NOT_EVENT", "the root element is not event")
    unknown = set(event.attrib) - _EVENT_ATTRS
    if unknown:
        raise cot_error("COT_ATTRIBUTE_UNEXPECTED", "event has attributes CoT does not define",
                        attributes=sorted(a[:64] for a in unknown)[:8])  # fmt: skip
    if event.get("version") != "2.0":
        raise cot_error("COT_VERSION_UNSUPPORTED", "only CoT event version 2.0 is read")
    uid = event.get("uid")
    if uid is None or not _UID_SYNTAX.fullmatch(uid):
        raise cot_error("COT_UID_INVALID", "event uid is missing or malformed")
    cot_type = _check_type(event.get("type"))
    time = _instant(event.get("time"), "time")
    start = _instant(event.get("start"), "start")
    stale = _instant(event.get("stale"), "stale")
    if start > stale or stale <= time:
        raise cot_error("COT_TIME_INCONSISTENT", "start is after stale, or stale not after time")
    how = event.get("how")
    if how is None or not _HOW_SYNTAX.fullmatch(how):
        raise cot_error("COT_HOW_INVALID", "event how is missing or malformed")
    access = event.get("access")
    point_elem, detail = _children(event)
    code = "COT_POINT_INVALID"
    lat, lon = _number(point_elem, "lat", code), _number(point_elem, "lon", code)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise cot_error(code, "latitude or longitude out of range", lat=lat, lon=lon)
    values = [_number(point_elem, name, code) for name in ("hae", "ce", "le")]
    parts = _detail(detail)
    label = label_from(parts[ORIGINATOR_LABEL])
    if access is None:
        raise cot_error("COT_ACCESS_MISSING", "event has no access attribute")
    expected_access = access_for(label, schemes)
    if access != expected_access:
        raise cot_error("COT_ACCESS_MISMATCH", "access does not match the label in detail",
                        access=access[:128], expected=expected_access)  # fmt: skip
    msg = parts[_MESSAGE]
    kind, seq, weapon = _message_attrs(msg)
    try:
        point = GeoPoint(lat, lon, values[0])
        message = TrackMessage(
            track_id=msg.get("track", ""),
            seq=seq,
            time=time,
            stale=stale,
            sensor=msg.get("sensor", ""),
            weapon=weapon,
            label=label,
            body=_body(kind, msg, parts, point),
            ce=values[1],
            le=values[2],
            simulated=how == "m-s",
        )
    except TrackError as exc:
        raise cot_error(
            _TRACK_CODES.get(exc.code, "COT_TRACK_INVALID"), exc.message, track_code=exc.code
        ) from None
    if uid != event_uid(message):
        raise cot_error("COT_UID_MISMATCH", f"uid {uid!r} is not that of the message's {kind}")
    if cot_type != event_type(message):
        raise cot_error("COT_TYPE_MISMATCH", f"type {cot_type!r} is not that of a {weapon} {kind}")
    return message
