"""Bounded, DTD-free XML parsing of one CoT event, and the 4774 label embedded in its ``detail``.

Theory of operation (docs/adr/0014-fast-cot-decoding.md).  An event is parsed by the C parser of
:mod:`xml.etree.ElementTree` (expat feeding the C tree builder: no Python call per element), which
by itself would accept a DTD and expand the entities it declares.  So nothing with a DTD ever
reaches it: every input is first checked as a byte string, in this order, each refusal a
:class:`~gsomia.errors.CotError` with the code of :mod:`gsomia.labels.bounded_xml`'s scheme:

1. bytes, at most :data:`MAX_EVENT_BYTES` (``COT_TOO_LARGE``), valid UTF-8 and declaring no other
   encoding (``COT_ENCODING``).  With no NUL byte (step 2) and no UTF-16 byte-order mark (not
   UTF-8), expat reads the input as UTF-8, in which ``<!DOCTYPE`` has exactly one spelling.
2. An input holding ``<!DOCTYPE`` or a NUL byte is never given to the C parser.  It is *scanned*
   instead by a bare expat parser whose DTD, entity-declaration and external-entity handlers raise
   (``COT_DTD_FORBIDDEN``, ``COT_ENTITY_FORBIDDEN``: XML 1.0 §2.8, §4.2: entities can only be
   declared inside a DTD), whose parameter-entity parsing is off, and whose element handlers count
   depth and elements.  The scan refuses every such input that the old defusedxml parser refused
   (a DOCTYPE anywhere but in a comment, CDATA section or processing instruction) with the same
   code; what it lets through holds no DTD and goes on to step 3.
3. The C parser builds the tree.  If it finds the input not well-formed, the same scan runs to
   report what the first fault is (a limit passed before the syntax error counts first; a
   reference to an undeclared entity is ``COT_ENTITY_FORBIDDEN``, XML 1.0 §4.1 WFC "Entity
   Declared"; anything else ``COT_MALFORMED`` with expat's message and position).
4. Depth (:data:`MAX_DEPTH`, ``COT_TOO_DEEP``) and element count (:data:`MAX_ELEMENTS`,
   ``COT_TOO_MANY_ELEMENTS``) are checked on the built tree, level by level; when one is passed
   the tree is walked in document order to report the one a streaming parser meets first.  A
   hostile tree costs at most what 64 KiB of input can build.

Every refusal is a :class:`~gsomia.errors.CotError`; no other exception escapes.

The label is written by :func:`gsomia.labels.xml_codec.to_xml` (declaration dropped, indentation
removed: label text holds no control characters) and read back by
:func:`gsomia.labels.xml_codec.from_xml`, memoized per distinct label since a track repeats its
label in every message (:func:`label_from` keys on the element subtree; the fast path of
:mod:`._canonical` on the exact XML text of the label element).
"""

from __future__ import annotations

import pyexpat
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final, NamedTuple, NoReturn

from gsomia.errors import CotError, LabelError
from gsomia.labels import OriginatorLabel
from gsomia.labels.bounded_xml import DECLARED_ENCODING
from gsomia.labels.xml_codec import from_xml, to_xml

__all__ = [
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "MAX_EVENT_BYTES",
    "Attrs",
    "Detail",
    "LabelMemo",
    "cot_error",
    "decode_label",
    "label_from",
    "label_xml",
    "parse_event",
]

#: Largest event accepted, in bytes (an encoded track event is about 2 KiB).
MAX_EVENT_BYTES: Final = 64 * 1024
#: Deepest nesting accepted: event > detail > label > information > category > value is 6; TAK
#: clients put KML styles at 7 (``detail/shape/link/Style/LineStyle/color``).
MAX_DEPTH: Final = 12
#: Most elements accepted in one event.
MAX_ELEMENTS: Final = 2048

_XML_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_INDENT: Final = re.compile(r">\n *<")
_CACHED_LABEL_ELEMENTS: Final = 64
_SUSPECT: Final = (b"<!DOCTYPE", b"\x00")
_UNDEFINED_ENTITY: Final = 11  # expat XML_ERROR_UNDEFINED_ENTITY


Attrs = Mapping[str, str]


class Detail(NamedTuple):
    """What decoding reads of an event's ``detail``, from the parsed tree or the fast path."""

    track: Attrs | None  # attributes of detail/track, if there is one
    ellipse: Attrs | None  # attributes of detail/shape/ellipse, if there is one
    message: Attrs  # attributes of gsomia:message
    message_empty: bool  # gsomia:message has no child element
    label: Callable[[], OriginatorLabel]  # reads the 4774 label; raises COT_LABEL_INVALID


def cot_error(code: str, message: str, **detail: Any) -> CotError:
    """A :class:`CotError` with ``code`` and ``detail``."""
    return CotError(message, code=code, detail=detail)


def parse_event(data: object) -> ET.Element:
    """Parse ``data`` (bytes of one event) into an element tree, within the limits."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise cot_error("COT_MALFORMED", f"event must be bytes, not {type(data).__name__}")
    raw = bytes(data)
    if len(raw) > MAX_EVENT_BYTES:
        raise cot_error("COT_TOO_LARGE", f"event exceeds {MAX_EVENT_BYTES} bytes", size=len(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise cot_error("COT_ENCODING", "event is not UTF-8") from None
    if raw.startswith((b"<?xml", b"\xef\xbb\xbf")):
        declared = DECLARED_ENCODING.match(text)
        if declared and declared.group("name").lower() not in ("utf-8", "utf8"):
            name = declared.group("name")[:20]
            raise cot_error("COT_ENCODING", f"event declares {name!r}, not UTF-8")
    if _SUSPECT[0] in raw or _SUSPECT[1] in raw:
        _scan(raw, text)  # raises for a DTD; a DOCTYPE in a comment passes
    parser = ET.XMLParser()  # noqa: S314 - holds no DTD (checked above); limits checked below
    try:
        parser.feed(raw)
        root: ET.Element = parser.close()
    except ET.ParseError:
        _scan(raw, text)
        raise cot_error("COT_MALFORMED", "event is not well-formed") from None
    except Exception as exc:  # whatever else expat raises: never leak it
        raise cot_error("COT_MALFORMED", "event could not be parsed") from exc
    _check_limits(root)
    return root


# --- the scan: a bare expat parser that refuses DTDs and counts, for the rare inputs -----------


def _forbid_dtd(text: str) -> NoReturn:
    # The scan stops at the DOCTYPE, so whether it declares entities is read from the text; both
    # codes refuse the document, the distinction only helps whoever reads the error.
    if "<!ENTITY" in text:
        raise cot_error("COT_ENTITY_FORBIDDEN", "entity declarations are forbidden")
    raise cot_error("COT_DTD_FORBIDDEN", "document type declarations are forbidden")


def _forbid_entity(*_: object) -> NoReturn:
    raise cot_error("COT_ENTITY_FORBIDDEN", "entities are forbidden")


def _scan(raw: bytes, text: str) -> None:
    """Refuse ``raw`` as a streaming parser meets its first fault; return if it has none."""
    depth = count = 0

    def start(_name: str, _attrs: object) -> None:
        nonlocal depth, count
        depth += 1
        count += 1
        if depth > MAX_DEPTH:
            raise cot_error("COT_TOO_DEEP", f"elements nested deeper than {MAX_DEPTH}")
        if count > MAX_ELEMENTS:
            raise cot_error("COT_TOO_MANY_ELEMENTS", f"more than {MAX_ELEMENTS} elements")

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    def doctype(*_: object) -> NoReturn:
        _forbid_dtd(text)

    parser = pyexpat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_entity
    parser.ExternalEntityRefHandler = _forbid_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(raw, True)
    except CotError:
        raise
    except pyexpat.ExpatError as exc:
        line, column = exc.lineno, exc.offset
        if exc.code == _UNDEFINED_ENTITY:
            raise cot_error("COT_ENTITY_FORBIDDEN", "reference to an undeclared entity",
                            line=line, column=column) from None  # fmt: skip
        raise cot_error("COT_MALFORMED", f"event is not well-formed: {exc}",
                        line=line, column=column) from None  # fmt: skip
    except Exception as exc:
        raise cot_error("COT_MALFORMED", "event could not be parsed") from exc


# --- limits on the built tree -------------------------------------------------------------------


def _check_limits(root: ET.Element) -> None:
    """Refuse a tree deeper than :data:`MAX_DEPTH` or with more than :data:`MAX_ELEMENTS`."""
    depth, count, level = 1, 1, list(root)
    while level:
        depth += 1
        count += len(level)
        if depth > MAX_DEPTH or count > MAX_ELEMENTS:
            _first_fault(root)
        level = [child for elem in level for child in elem]


def _first_fault(root: ET.Element) -> NoReturn:
    """Raise the limit that a streaming parser would meet first (document order)."""
    count = 0
    stack: list[tuple[ET.Element, int]] = [(root, 1)]
    while stack:
        elem, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise cot_error("COT_TOO_DEEP", f"elements nested deeper than {MAX_DEPTH}")
        if count > MAX_ELEMENTS:
            raise cot_error("COT_TOO_MANY_ELEMENTS", f"more than {MAX_ELEMENTS} elements")
        stack.extend((child, depth + 1) for child in reversed(elem))
    raise AssertionError("a limit was passed")  # pragma: no cover - only called when one is


# --- the STANAG 4774 label inside detail ------------------------------------------------------


@lru_cache(maxsize=512)
def label_xml(label: OriginatorLabel) -> str:
    """``label`` as one line of STANAG 4774 XML (no declaration), to embed in ``detail``."""
    data = to_xml(label)
    assert data.startswith(_XML_DECLARATION)
    # One line: label text holds no control characters, so every newline is indentation.
    return _INDENT.sub("><", data[len(_XML_DECLARATION) :].decode("utf-8")).strip()


def decode_label(data: bytes) -> OriginatorLabel:
    """The originator label that ``data``, 4774 XML of one label element, encodes."""
    try:
        return from_xml(data, OriginatorLabel)
    except LabelError as exc:
        raise cot_error("COT_LABEL_INVALID", f"label: {exc.message}", label_code=exc.code) from None
    except Exception as exc:
        raise cot_error("COT_LABEL_INVALID", "label could not be read") from exc


def _serialize(elem: ET.Element) -> bytes:
    return ET.tostring(elem, encoding="unicode").encode("utf-8")


class LabelMemo:
    """Labels by key, at most ``size`` of them: emptied when full (each step is one atomic dict
    operation, so threads need no lock; a track's label is decoded again after that)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[object, OriginatorLabel] = {}

    def get(self, key: object) -> OriginatorLabel | None:
        """The label memoized under ``key``, if any."""
        return self._items.get(key)

    def put(self, key: object, label: OriginatorLabel) -> OriginatorLabel:
        """Memoize ``label`` under ``key``; ``label``."""
        if len(self._items) >= self._size:
            self._items.clear()
        self._items[key] = label
        return label


# A track repeats its label in every message: the label codec runs once per distinct label
# (a refusal is raised, never kept; memory stays under a few MiB).
_BY_TREE: Final = LabelMemo(256)


def label_from(elem: ET.Element) -> OriginatorLabel:
    """The originator label that the embedded 4774 element ``elem`` encodes."""
    elem.tail = None
    elements = list(elem.iter())
    if len(elements) > _CACHED_LABEL_ELEMENTS:
        return decode_label(_serialize(elem))
    # Tags in document order with their child counts, texts, tails and attributes determine
    # the subtree (and so its serialization).
    key = tuple((e.tag, len(e), e.text, e.tail, *e.attrib.items()) for e in elements)
    return _BY_TREE.get(key) or _BY_TREE.put(key, decode_label(_serialize(elem)))
