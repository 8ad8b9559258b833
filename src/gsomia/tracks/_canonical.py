"""The fast path of CoT decoding: recognise the exact event shape that ``encode_event`` writes.

Theory of operation (docs/adr/0014-fast-cot-decoding.md).  Nearly every event a node reads was
written by :func:`gsomia.tracks.encode_event` (its own sensors' feeds, the simulator, partner
gateways): the same elements and attributes in the same order, no declaration, no white space,
no comment, no entity or character reference.  :func:`canonical_fields` matches the text of an
event against that one shape with two regular expressions (the event around the label, then the
label) and, on a match, returns the attributes :func:`gsomia.tracks.cot.decode_event` reads and
the label, decoded once per distinct label text.

Why a match is safe to read without an XML parser: the expression is a *regular subset* of
well-formed XML 1.0 with namespaces (§2.1 ``document``): fixed tag and attribute names, each
attribute once, the two prefixes declared on the elements that use them, and attribute values
drawn from characters that need no normalisation or escaping (no ``<``, ``&``, ``"``, ``>``, no
control character, none of U+FFFE/U+FFFF: §2.2 ``Char``, §3.3.3), so each value is exactly what
an XML parser would report.  No DTD, entity or reference can occur in it.  The label element is
one more such run (start tags with upper-case attribute names only, so no namespace declaration
inside it, end tags and text) that the 4774 codec parses on its own, with its own defused,
bounded parser (:func:`gsomia.tracks._xml.decode_label`); it declares ``slab`` itself and
inherits no default namespace, so it means the same there as inside the event.  The limits hold
as on the general path: at most :data:`~gsomia.tracks._xml.MAX_EVENT_BYTES` and
:data:`~gsomia.tracks._xml.MAX_ELEMENTS` elements match, and the 4774 codec refuses a label nested
deeper than :data:`~gsomia.labels.xml_codec.MAX_XML_DEPTH` (8: 10 in the event, within 12; a test
keeps that so).

Anything else, including every event the decoder refuses, goes through the general path
(:func:`gsomia.tracks._xml.parse_event`), which names the first fault; a test checks that both
paths and the previous decoder agree on generated and mutated events.
"""

from __future__ import annotations

import re
from typing import Final

from gsomia.errors import CotError
from gsomia.labels import OriginatorLabel
from gsomia.labels.xml_codec import SLAB_NS
from gsomia.tracks._xml import MAX_ELEMENTS, MAX_EVENT_BYTES, Attrs, Detail, LabelMemo, decode_label

__all__ = ["GSOMIA_NS", "MESSAGE", "canonical_fields"]

GSOMIA_NS: Final = "urn:gsomia:cot:1"
MESSAGE: Final = f"{{{GSOMIA_NS}}}message"

_V: Final = r'([^"<>&\x00-\x1f\ufffe\uffff]*+)'  # an attribute value that needs no escaping
_TEXT: Final = r"[^<>&\x00-\x1f\ufffe\uffff]++"
_ATTR: Final = r' [A-Z][A-Za-z]*+="[^"<>&\x00-\x1f\ufffe\uffff]*+"'  # no xmlns: upper case
_TAG: Final = rf"(?:<slab:[A-Za-z]++(?:{_ATTR})*+>|</slab:[A-Za-z]++>)"
_LABEL_START: Final = f'<slab:originatorConfidentialityLabel xmlns:slab="{SLAB_NS}"'
_LABEL_END: Final = "</slab:originatorConfidentialityLabel>"
_TAIL: Final = "</detail></event>"
_HEAD: Final = re.compile(
    rf'<event version="{_V}" uid="{_V}" type="{_V}" time="{_V}" start="{_V}" stale="{_V}" '
    rf'how="{_V}" access="{_V}"><point lat="{_V}" lon="{_V}" hae="{_V}" ce="{_V}" le="{_V}"/>'
    rf'<detail><contact callsign="{_V}"/>'
    rf'(?:<track course="{_V}" speed="{_V}" slope="{_V}"/>'
    rf'|<shape><ellipse major="{_V}" minor="{_V}" angle="{_V}"/></shape>)?+'
    rf'<gsomia:message xmlns:gsomia="{re.escape(GSOMIA_NS)}" track="{_V}" seq="{_V}" '
    rf'kind="{_V}" sensor="{_V}" weapon="{_V}"(?: (launch|impact|reason)="{_V}")?+/>'
)
_LABEL: Final = re.compile(
    rf"{re.escape(_LABEL_START)}(?:{_ATTR})*+>(?:{_TEXT}|(?!{_LABEL_END}){_TAG})*+{_LABEL_END}"
)
# Labels by their exact text; only text that matched _LABEL and decoded is ever put in.
_LABELS: Final = LabelMemo(256)
_EVENT_NAMES: Final = ("version", "uid", "type", "time", "start", "stale", "how", "access")
_POINT_NAMES: Final = ("lat", "lon", "hae", "ce", "le")  # callsign (group 14) is not read
_MESSAGE_NAMES: Final = ("track", "seq", "kind", "sensor", "weapon")


def canonical_fields(data: bytes) -> tuple[Attrs, Attrs, Detail] | None:
    """The attributes of ``data``'s event and point, and its detail, if it has the canonical shape.

    None for any other input, and for one whose label does not decode (the general path then
    says why).
    """
    if len(data) > MAX_EVENT_BYTES or not data.startswith(b"<event "):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    match = _HEAD.match(text)
    if match is None or not text.endswith(_TAIL):
        return None
    label = _label(text[match.end() : -len(_TAIL)])
    if label is None:
        return None
    g = match.groups()
    event = dict(zip(_EVENT_NAMES, g[0:8], strict=True))
    point = dict(zip(_POINT_NAMES, g[8:13], strict=True))
    message = dict(zip(_MESSAGE_NAMES, g[20:25], strict=True))
    if g[25] is not None:
        message[g[25]] = g[26]
    track = None if g[14] is None else {"course": g[14], "speed": g[15], "slope": g[16]}
    ellipse = None if g[17] is None else {"major": g[17], "minor": g[18], "angle": g[19]}
    return event, point, Detail(track, ellipse, message, True, lambda: label)


def _label(text: str) -> OriginatorLabel | None:
    """The label ``text`` encodes, if it is one self-contained label element of the subset."""
    label = _LABELS.get(text)
    if label is not None:
        return label
    # Every element has a start tag: with the event's 7 the count stays within the limit.
    if text.count("<") + 7 > MAX_ELEMENTS or not _LABEL.fullmatch(text):
        return None
    try:
        return _LABELS.put(text, decode_label(text.encode("utf-8")))
    except CotError:
        return None
