"""Cursor on Target (CoT 2.0 event schema) for track messages: one message, one event (PRODUCT.md §5).

Encoding (:func:`encode_event`; docs/wire-format.md §12 has the whole mapping)::

    <event version="2.0" uid=U type=T time=t start=t stale=s how=H access=A>
      <point lat lon hae ce le/>                     the message's one position (WGS 84, HAE m)
      <detail>
        <contact callsign=U/>                        what TAK clients show beside the symbol
        <track course speed slope/>                  update only (CoT track detail: deg, m/s, deg)
        <shape><ellipse major minor angle/></shape>  impact only: semi-axes (m), major axis
                                                     clockwise from true north (deg), as ATAK
        <gsomia:message track seq kind sensor weapon [launch | impact | reason]/>
        <slab:originatorConfidentialityLabel …/>     the full STANAG 4774 label (4774 XML)
      </detail>
    </event>

- ``type`` (MIL-STD-2525 hierarchy as CoT spells it; affiliation ``h``, hostile): an update or an
  end is the missile in flight, ``a-h-A-W-M-S-S`` (air / weapon / missile in flight / surface
  launched / surface-to-surface) or ``a-h-A-W-M-U`` (subsurface-to-surface, SLBM); a launch is
  the launcher at the launch point, ``a-h-G-E-W-M-S`` (ground equipment, surface-to-surface
  missile launcher) or ``a-h-U-S`` (submarine); an impact prediction is a drawn ellipse,
  ``u-d-c-e``, so that TAK clients draw the uncertainty ellipse.  Aircraft types are refused.
- ``uid``: the track id for updates and the end (one moving symbol that each update replaces),
  ``<track id>.launch`` and ``<track id>.impact`` for the two fixed points.
- ``how``: ``m-s`` (machine, simulated) for simulator output, else ``m-f`` (machine, fused).
- ``access`` (MIL-STD-6090 releasability, written in the style of a CAPCO banner line): the level
  in English, prefixed by ``//`` and the policy (scheme) id unless the scheme is ``USA``, then
  ``//REL TO`` and the Releasable To trigraphs, USA first and the others in alphabetical order:
  ``//KOR SECRET//REL TO USA, JPN, KOR``; ``SECRET//REL TO USA, KOR``.  A label without
  Releasable To has no ``//REL TO`` part.  The English text comes from the marking scheme
  (:class:`~gsomia.markings.Scheme`), never from the label.
- The label travels whole, as 4774 XML (:mod:`gsomia.labels.xml_codec`, originator label, its
  own namespace declarations), not as JSON: a NATO consumer of the detail reads 4774 directly.
- Numbers are written with Python's shortest round-trip ``repr`` and instants as
  :func:`~gsomia.instants.format_instant` does, so decode(encode(m)) == m exactly.

Decoding (:func:`decode_event`) reads an event of exactly the shape :func:`encode_event` writes
without an XML parser (:mod:`._canonical`), and parses any other under size, depth and element
limits with the C parser behind a byte-level DTD gate (:mod:`._xml`; docs/adr/0014); both feed
the same checks, and a refusal is always named by the general path.  It then checks the event
against the message it carries: the label in ``detail`` is authoritative and ``access`` must be
exactly what it implies, so a downgraded ``access`` is caught.  Unknown ``detail`` children
(e.g. ``_flow-tags_`` added by TAK servers) are ignored; other MIL-STD-6090 attributes (``qos``,
``opex``, ``caveat``, ``releasableto``) are accepted and ignored.  Only
:class:`~gsomia.errors.CotError` escapes; its codes:

======================================  =========================================================
COT_TOO_LARGE, COT_ENCODING,            the input (see :mod:`._xml`): over 64 KiB, not UTF-8,
COT_DTD_FORBIDDEN, COT_ENTITY_FORBIDDEN a DTD, an entity (declared, external or undeclared),
COT_TOO_DEEP, COT_TOO_MANY_ELEMENTS,    nesting over 12, over 2,048 elements, not well-formed
COT_MALFORMED
COT_NOT_EVENT                           the root is not ``event``
COT_VERSION_UNSUPPORTED                 ``version`` is not ``2.0``
COT_ATTRIBUTE_UNEXPECTED                an ``event`` attribute the schema does not define
COT_UID_INVALID, COT_HOW_INVALID        ``uid`` or ``how`` missing or malformed
COT_TYPE_MALFORMED, COT_TYPE_UNKNOWN    ``type`` not a CoT type; not one of the five above
COT_TIME_INVALID                        ``time``/``start``/``stale`` (or a time in ``detail``)
                                        missing, unparseable or without an offset
COT_TIME_INCONSISTENT                   ``start`` after ``stale``, ``stale`` not after ``time``
                                        or more than a day after it, launch after detection
COT_POINT_MISSING, COT_POINT_INVALID    no ``point``; a coordinate not a finite decimal number
                                        or out of range (``|lat| > 90``, ``|lon| > 180``, …)
COT_DETAIL_MISSING                      no ``detail``
COT_ELEMENT_UNEXPECTED                  another child of ``event``, or one twice
COT_MESSAGE_MISSING, COT_DETAIL_INVALID no ``gsomia:message``; it, ``track`` or ``shape``
                                        malformed, missing, repeated or out of range
COT_LABEL_MISSING, COT_LABEL_INVALID    no 4774 originator label; one that does not decode
COT_LABEL_UNKNOWN_LEVEL                 its policy or level is not in the marking schemes
COT_ACCESS_MISSING, COT_ACCESS_MISMATCH no ``access``; one the label does not imply
COT_UID_MISMATCH, COT_TYPE_MISMATCH     ``uid`` or ``type`` not those of the message's kind
COT_TRACK_INVALID                       any other refusal by the track model
COT_STALE, COT_TIME_FUTURE              :func:`check_current`: stale at ``now``; from the future
======================================  =========================================================
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

from gsomia.errors import CotError, InstantError, TrackError
from gsomia.instants import format_instant, parse_instant
from gsomia.labels import OriginatorLabel
from gsomia.labels.xml_codec import ORIGINATOR_LABEL
from gsomia.markings import Scheme
from gsomia.tracks._canonical import GSOMIA_NS, MESSAGE, canonical_fields
from gsomia.tracks._xml import (
    MAX_EVENT_BYTES,
    Attrs,
    Detail,
    cot_error,
    label_from,
    label_xml,
    parse_event,
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

__all__ = [
    "GSOMIA_NS",
    "IMPACT_TYPE",
    "LAUNCH_TYPES",
    "MISSILE_TYPES",
    "access_for",
    "check_current",
    "decode_event",
    "decode_tree",
    "encode_event",
    "event_type",
    "event_uid",
]

MISSILE_TYPES: Final = {Weapon.SSM: "a-h-A-W-M-S-S", Weapon.SLBM: "a-h-A-W-M-U"}
LAUNCH_TYPES: Final = {Weapon.SSM: "a-h-G-E-W-M-S", Weapon.SLBM: "a-h-U-S"}
IMPACT_TYPE: Final = "u-d-c-e"
_KNOWN_TYPES: Final = frozenset({*MISSILE_TYPES.values(), *LAUNCH_TYPES.values(), IMPACT_TYPE})
_UID_SUFFIX: Final = {Kind.LAUNCH: ".launch", Kind.IMPACT: ".impact"}
_EVENT_ATTRS: Final = frozenset(
    {"version", "uid", "type", "time", "start", "stale", "how", "access"}
    | {"qos", "opex", "caveat", "releasableto"}  # MIL-STD-6090: accepted, ignored
)
_MESSAGE: Final = MESSAGE
_MESSAGE_ATTRS: Final = {
    Kind.LAUNCH: "launch",
    Kind.UPDATE: None,
    Kind.IMPACT: "impact",
    Kind.END: "reason",
}
_MESSAGE_ALLOWED: Final = {
    kind: frozenset({"track", "seq", "kind", "sensor", "weapon", extra or "kind"})
    for kind, extra in _MESSAGE_ATTRS.items()
}
_KIND_OF: Final = {kind.value: kind for kind in Kind}
_WEAPON_OF: Final = {weapon.value: weapon for weapon in Weapon}
_INFINITE: Final = (math.inf, -math.inf)
_DETAIL_TAGS: Final = frozenset({"track", "shape", _MESSAGE, ORIGINATOR_LABEL})
_TYPE_SYNTAX: Final = re.compile(r"[a-zA-Z](-[a-zA-Z0-9]+){0,15}")
_UID_SYNTAX: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_HOW_SYNTAX: Final = re.compile(r"[a-z](-[a-z]+){0,4}")
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SEQ: Final = re.compile(r"[1-9][0-9]{0,15}")
_TRACK_CODES: Final = {  # refusals of the model, as the CoT codes a client would expect
    "TRACK_POSITION_INVALID": "COT_POINT_INVALID",
    "TRACK_ALTITUDE_INVALID": "COT_POINT_INVALID",
    "TRACK_ACCURACY_INVALID": "COT_POINT_INVALID",
    "TRACK_TIME_INVALID": "COT_TIME_INCONSISTENT",
    "TRACK_STALE_INVALID": "COT_TIME_INCONSISTENT",
    "TRACK_VELOCITY_INVALID": "COT_DETAIL_INVALID",
    "TRACK_ELLIPSE_INVALID": "COT_DETAIL_INVALID",
}


def event_uid(message: TrackMessage) -> str:
    """The CoT ``uid`` of ``message``'s event: the track id, or a fixed point's id."""
    return message.track_id + _UID_SUFFIX.get(message.kind, "")


def event_type(message: TrackMessage) -> str:
    """The CoT ``type`` of ``message``'s event (never an aircraft type)."""
    if message.kind is Kind.LAUNCH:
        return LAUNCH_TYPES[message.weapon]
    if message.kind is Kind.IMPACT:
        return IMPACT_TYPE
    return MISSILE_TYPES[message.weapon]


def access_for(label: OriginatorLabel, schemes: Mapping[str, Scheme]) -> str:
    """The ``access`` attribute ``label`` implies (module docstring); unknown levels raise."""
    scheme = schemes.get(label.policy_id)
    level = scheme.find(label.classification) if scheme is not None else None
    if level is None:
        raise cot_error(
            "COT_LABEL_UNKNOWN_LEVEL",
            f"level {label.classification!r} of policy {label.policy_id!r} is not known",
            policy=label.policy_id,
        )
    text = level.english if label.policy_id == "USA" else f"//{label.policy_id} {level.english}"
    if label.releasable_to:
        rel = sorted(label.releasable_to, key=lambda party: (party != "USA", party))
        text += "//REL TO " + ", ".join(rel)
    return text


# --- encoding ---------------------------------------------------------------------------------


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _body_xml(body: Body) -> tuple[str, str]:
    """The standard detail element of the body and the body's gsomia:message attribute."""
    if isinstance(body, Update):
        v = body.velocity
        return f'<track course="{v.course!r}" speed="{v.speed!r}" slope="{v.slope!r}"/>', ""
    if isinstance(body, ImpactPrediction):
        e = body.ellipse
        shape = (
            f'<shape><ellipse major="{e.semi_major!r}" minor="{e.semi_minor!r}" '
            f'angle="{e.orientation!r}"/></shape>'
        )
        return shape, f' impact="{format_instant(body.impact_time)}"'
    if isinstance(body, Launch):
        return "", f' launch="{format_instant(body.launch_time)}"'
    return "", f' reason="{body.reason.value}"'


def encode_event(message: TrackMessage, schemes: Mapping[str, Scheme]) -> bytes:
    """One CoT event (UTF-8, no XML declaration) for ``message``; see the module docstring."""
    uid = event_uid(message)
    time = format_instant(message.time)
    point = message.point
    element, extra = _body_xml(message.body)
    head = (
        f'<event version="2.0" uid="{uid}" type="{event_type(message)}" time="{time}" '
        f'start="{time}" stale="{format_instant(message.stale)}" '
        f'how="{"m-s" if message.simulated else "m-f"}" '
        f'access="{_esc(access_for(message.label, schemes))}">'
    )
    text = (
        f'{head}<point lat="{point.lat!r}" lon="{point.lon!r}" hae="{point.hae!r}" '
        f'ce="{message.ce!r}" le="{message.le!r}"/><detail><contact callsign="{uid}"/>{element}'
        f'<gsomia:message xmlns:gsomia="{GSOMIA_NS}" track="{message.track_id}" '
        f'seq="{message.seq}" kind="{message.kind.value}" sensor="{message.sensor}" '
        f'weapon="{message.weapon.value}"{extra}/>{label_xml(message.label)}</detail></event>'
    )
    data = text.encode("utf-8")
    if len(data) > MAX_EVENT_BYTES:
        raise cot_error("COT_TOO_LARGE", f"event exceeds {MAX_EVENT_BYTES} bytes", size=len(data))
    return data


# --- decoding ---------------------------------------------------------------------------------


def _number(attrs: Attrs, where: str, name: str, code: str) -> float:
    text = attrs.get(name)
    if text is None or not _DECIMAL.fullmatch(text):
        raise cot_error(code, f"{where}/@{name} must be a decimal number", attribute=name)
    value = float(text)
    if value in _INFINITE:
        raise cot_error(code, f"{where}/@{name} is out of range", attribute=name)
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


def _detail(detail: ET.Element, read_label: LabelReader) -> Detail:
    found: dict[str, ET.Element] = {}
    for child in detail:
        if child.tag in _DETAIL_TAGS:
            if child.tag in found:
                raise cot_error("COT_DETAIL_INVALID", "an element appears twice in detail")
            found[child.tag] = child
    if _MESSAGE not in found:
        raise cot_error("COT_MESSAGE_MISSING", "detail has no gsomia:message")
    if ORIGINATOR_LABEL not in found:
        raise cot_error("COT_LABEL_MISSING", "detail has no STANAG 4774 originator label")
    track, shape, msg = found.get("track"), found.get("shape"), found[_MESSAGE]
    ellipse = shape.find("ellipse") if shape is not None else None
    label = found[ORIGINATOR_LABEL]
    return Detail(
        track=None if track is None else track.attrib,
        ellipse=None if ellipse is None else ellipse.attrib,
        message=msg.attrib,
        message_empty=len(msg) == 0,
        label=lambda: read_label(label),
    )


def _body(kind: Kind, detail: Detail, point: GeoPoint) -> Body:
    code = "COT_DETAIL_INVALID"
    if kind is Kind.UPDATE:
        track = detail.track
        if track is None:
            raise cot_error(code, "an update needs detail/track")
        velocity = Velocity(
            _number(track, "track", "speed", code),
            _number(track, "track", "course", code),
            _number(track, "track", "slope", code),
        )
        return Update(point, velocity)
    extra = _MESSAGE_ATTRS[kind]
    assert extra is not None
    value = detail.message.get(extra)
    if kind is Kind.LAUNCH:
        return Launch(point, _instant(value, "launch"))
    if kind is Kind.IMPACT:
        ellipse = detail.ellipse
        if ellipse is None:
            raise cot_error(code, "an impact prediction needs shape/ellipse")
        axes = Ellipse(
            _number(ellipse, "ellipse", "major", code),
            _number(ellipse, "ellipse", "minor", code),
            _number(ellipse, "ellipse", "angle", code),
        )
        return ImpactPrediction(point, axes, _instant(value, "impact"))
    try:
        return EndOfTrack(point, EndReason(value or ""))
    except ValueError:
        raise cot_error(code, "end of track needs a known reason") from None


def _message_attrs(detail: Detail) -> tuple[Kind, int, Weapon]:
    msg = detail.message
    kind = _KIND_OF.get(msg.get("kind", ""))
    weapon = _WEAPON_OF.get(msg.get("weapon", ""))
    if kind is None or weapon is None:
        raise cot_error("COT_DETAIL_INVALID", "gsomia:message has an unknown kind or weapon")
    if not _MESSAGE_ALLOWED[kind].issuperset(msg) or not detail.message_empty:
        raise cot_error("COT_DETAIL_INVALID", "gsomia:message has unexpected content")
    seq = msg.get("seq", "")
    if not _SEQ.fullmatch(seq):
        raise cot_error("COT_DETAIL_INVALID", "gsomia:message/@seq is not a sequence number")
    return kind, int(seq), weapon


LabelReader = Callable[[ET.Element], OriginatorLabel]
#: The parts of an event, read in two steps so that a refusal names the first fault in document
#: order: the point's attributes and a reader of the detail.
Structure = Callable[[], tuple[Attrs, Callable[[], Detail]]]


def decode_event(data: bytes, schemes: Mapping[str, Scheme]) -> TrackMessage:
    """The track message one CoT event carries; raise :class:`CotError` for anything else.

    An event of the exact shape :func:`encode_event` writes is read without an XML parser
    (:mod:`._canonical`); any other, and any the fast path refuses, is parsed (:mod:`._xml`), so
    that a refusal names the first fault whichever path saw the event first.
    """
    fast = canonical_fields(data) if type(data) is bytes else None
    if fast is not None:
        attrs, point, detail = fast
        try:
            return _message(attrs, lambda: (point, lambda: detail), schemes)
        except CotError:
            pass  # the general path below names the first fault
    return decode_tree(parse_event(data), schemes)


def decode_tree(
    event: ET.Element, schemes: Mapping[str, Scheme], read_label: LabelReader = label_from
) -> TrackMessage:
    """The track message of a parsed event, its 4774 label element read by ``read_label``."""
    if event.tag != "event":
        raise cot_error("COT_NOT_EVENT", "the root element is not event")

    def structure() -> tuple[Attrs, Callable[[], Detail]]:
        point, detail = _children(event)
        return point.attrib, lambda: _detail(detail, read_label)

    return _message(event.attrib, structure, schemes)


def _message(attrs: Attrs, structure: Structure, schemes: Mapping[str, Scheme]) -> TrackMessage:
    """The checks of :func:`decode_event` on an event's attributes, then its parts."""
    if not _EVENT_ATTRS.issuperset(attrs):
        unknown = set(attrs) - _EVENT_ATTRS
        raise cot_error("COT_ATTRIBUTE_UNEXPECTED", "event has attributes CoT does not define",
                        attributes=sorted(a[:64] for a in unknown)[:8])  # fmt: skip
    if attrs.get("version") != "2.0":
        raise cot_error("COT_VERSION_UNSUPPORTED", "only CoT event version 2.0 is read")
    uid = attrs.get("uid")
    if uid is None or not _UID_SYNTAX.fullmatch(uid):
        raise cot_error("COT_UID_INVALID", "event uid is missing or malformed")
    cot_type = _check_type(attrs.get("type"))
    time_text, start_text = attrs.get("time"), attrs.get("start")
    time = _instant(time_text, "time")
    start = time if start_text == time_text else _instant(start_text, "start")
    stale = _instant(attrs.get("stale"), "stale")
    if start > stale or stale <= time:
        raise cot_error("COT_TIME_INCONSISTENT", "start is after stale, or stale not after time")
    how = attrs.get("how")
    if how is None or not _HOW_SYNTAX.fullmatch(how):
        raise cot_error("COT_HOW_INVALID", "event how is missing or malformed")
    access = attrs.get("access")
    point_attrs, detail_of = structure()
    code = "COT_POINT_INVALID"
    lat = _number(point_attrs, "point", "lat", code)
    lon = _number(point_attrs, "point", "lon", code)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise cot_error(code, "latitude or longitude out of range", lat=lat, lon=lon)
    hae = _number(point_attrs, "point", "hae", code)
    ce = _number(point_attrs, "point", "ce", code)
    le = _number(point_attrs, "point", "le", code)
    detail = detail_of()
    label = detail.label()
    if access is None:
        raise cot_error("COT_ACCESS_MISSING", "event has no access attribute")
    expected_access = access_for(label, schemes)
    if access != expected_access:
        raise cot_error("COT_ACCESS_MISMATCH", "access does not match the label in detail",
                        access=access[:128], expected=expected_access)  # fmt: skip
    kind, seq, weapon = _message_attrs(detail)
    msg = detail.message
    try:
        point = GeoPoint(lat, lon, hae)
        message = TrackMessage(
            track_id=msg.get("track", ""),
            seq=seq,
            time=time,
            stale=stale,
            sensor=msg.get("sensor", ""),
            weapon=weapon,
            label=label,
            body=_body(kind, detail, point),
            ce=ce,
            le=le,
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


def check_current(
    message: TrackMessage, now: datetime, max_skew: timedelta = timedelta(seconds=30)
) -> TrackMessage:
    """``message`` if it is current at ``now``: not stale, and not from more than ``max_skew`` ahead."""
    if message.is_stale(now):
        raise cot_error("COT_STALE", "event is stale", stale=format_instant(message.stale))
    if message.time > now + max_skew:
        raise cot_error("COT_TIME_FUTURE", "event time is ahead of the receiver's clock",
                        time=format_instant(message.time))  # fmt: skip
    return message
