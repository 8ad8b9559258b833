"""Bounded, defused XML parsing of one CoT event, and the 4774 label embedded in its ``detail``.

The parser is defusedxml's expat parser with ``forbid_dtd``, ``forbid_entities`` and
``forbid_external`` (as :mod:`gsomia.labels.xml_codec` uses it), given a tree builder that stops
the parse as soon as the nesting depth or the element count passes its limit, so that a hostile
document costs at most :data:`MAX_EVENT_BYTES` of input and :data:`MAX_ELEMENTS` elements.
Every refusal is a :class:`~gsomia.errors.CotError`; no other exception escapes.

The label is written by :func:`gsomia.labels.xml_codec.to_xml` (declaration dropped, indentation
removed: label text holds no control characters) and read back by
:func:`gsomia.labels.xml_codec.from_xml` from the element's own serialization, memoized per
distinct label subtree since a track repeats its label in every message.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any, Final, TypeAlias

from gsomia.errors import CotError, LabelError
from gsomia.labels import OriginatorLabel
from gsomia.labels.bounded_xml import parse_bounded
from gsomia.labels.xml_codec import from_xml, to_xml

__all__ = [
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "MAX_EVENT_BYTES",
    "cot_error",
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


def cot_error(code: str, message: str, **detail: Any) -> CotError:
    """A :class:`CotError` with ``code`` and ``detail``."""
    return CotError(message, code=code, detail=detail)


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


# --- the STANAG 4774 label inside detail ------------------------------------------------------


@lru_cache(maxsize=512)
def label_xml(label: OriginatorLabel) -> str:
    """``label`` as one line of STANAG 4774 XML (no declaration), to embed in ``detail``."""
    data = to_xml(label)
    assert data.startswith(_XML_DECLARATION)
    # One line: label text holds no control characters, so every newline is indentation.
    return _INDENT.sub("><", data[len(_XML_DECLARATION) :].decode("utf-8")).strip()


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
        if sum(1 for _ in elem.iter()) > _CACHED_LABEL_ELEMENTS:
            elem.tail = None
            return _decode_label(elem)
        return _label_of(_freeze(elem, None))
    except LabelError as exc:
        raise cot_error("COT_LABEL_INVALID", f"label: {exc.message}", label_code=exc.code) from None
    except Exception as exc:
        raise cot_error("COT_LABEL_INVALID", "label could not be read") from exc
