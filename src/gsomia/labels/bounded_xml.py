"""One bounded, defused XML parse for every untrusted XML input (4774 labels, CoT events).

Refuses, each with ``<PREFIX>_<REASON>`` as its code: input over ``max_bytes`` (``TOO_LARGE``),
not UTF-8 or declaring another encoding (``ENCODING``), a DTD (``DTD_FORBIDDEN``), any entity
declaration or reference and external references (``ENTITY_FORBIDDEN``), nesting deeper than
``max_depth`` (``TOO_DEEP``), more than ``max_elements`` elements (``TOO_MANY_ELEMENTS``), and
anything else that is not well-formed (``MALFORMED``).  The depth and element limits stop the
parse as soon as they are passed, so a hostile document never builds a large tree.  Pure.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, Final

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser

from gsomia.errors import GsomiaError

__all__ = ["parse_bounded"]

DECLARED_ENCODING: Final = re.compile(
    r"\ufeff?<\?xml\s[^>]*?\bencoding\s*=\s*([\"'])(?P<name>[^\"']*)\1"
)
_UNDEFINED_ENTITY: Final = 11  # expat XML_ERROR_UNDEFINED_ENTITY

Raise = Callable[..., GsomiaError]


class _BoundedBuilder(ET.TreeBuilder):
    """A tree builder that stops the parse as soon as a depth or element limit is passed."""

    def __init__(self, max_depth: int, max_elements: int, fail: Raise, prefix: str) -> None:
        super().__init__()
        self._depth = 0
        self._count = 0
        self._limits = (max_depth, max_elements)
        self._fail = fail
        self._prefix = prefix

    def start(self, tag: Any, attrs: dict[Any, Any], /) -> ET.Element:
        self._depth += 1
        self._count += 1
        max_depth, max_elements = self._limits
        if self._depth > max_depth:
            raise self._fail(f"{self._prefix}_TOO_DEEP", f"elements nested deeper than {max_depth}")
        if self._count > max_elements:
            raise self._fail(
                f"{self._prefix}_TOO_MANY_ELEMENTS", f"more than {max_elements} elements"
            )
        return super().start(tag, attrs)

    def end(self, tag: Any, /) -> ET.Element:
        self._depth -= 1
        return super().end(tag)


def parse_bounded(
    data: object,
    *,
    prefix: str,
    what: str,
    fail: Raise,
    error: type[GsomiaError],
    max_bytes: int,
    max_depth: int,
    max_elements: int,
) -> ET.Element:
    """The root of ``data`` (bytes of one document), or ``fail(code, message, **detail)``.

    ``what`` names the document in messages ("label XML", "event"); ``error`` is the class
    ``fail`` returns, let through unchanged when the builder raises it.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise fail(f"{prefix}_MALFORMED", f"{what} must be bytes, not {type(data).__name__}")
    raw = bytes(data)
    if len(raw) > max_bytes:
        raise fail(f"{prefix}_TOO_LARGE", f"{what} exceeds {max_bytes} bytes", size=len(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise fail(f"{prefix}_ENCODING", f"{what} is not UTF-8") from None
    declared = DECLARED_ENCODING.match(text)
    if declared and declared.group("name").lower() not in ("utf-8", "utf8"):
        raise fail(
            f"{prefix}_ENCODING", f"{what} declares {declared.group('name')[:20]!r}, not UTF-8"
        )
    parser = DefusedXMLParser(
        target=_BoundedBuilder(max_depth, max_elements, fail, prefix),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    try:
        parser.feed(raw)
        root: ET.Element = parser.close()
    except error:
        raise
    except DTDForbidden as exc:
        # The parse stops at the DOCTYPE, so whether it declares entities is read from the text;
        # both codes refuse the document, the distinction only helps whoever reads the error.
        if "<!ENTITY" in text:
            raise fail(f"{prefix}_ENTITY_FORBIDDEN", "entity declarations are forbidden") from exc
        raise fail(f"{prefix}_DTD_FORBIDDEN", "document type declarations are forbidden") from exc
    except DefusedXmlException as exc:  # entities, external references: behind forbid_dtd
        raise fail(f"{prefix}_ENTITY_FORBIDDEN", "entities are forbidden") from exc
    except ET.ParseError as exc:
        line, column = exc.position
        if exc.code == _UNDEFINED_ENTITY:
            raise fail(
                f"{prefix}_ENTITY_FORBIDDEN",
                "reference to an undeclared entity",
                line=line,
                column=column,
            ) from exc
        raise fail(
            f"{prefix}_MALFORMED", f"{what} is not well-formed: {exc}", line=line, column=column
        ) from exc
    except Exception as exc:  # whatever else expat or the builder raises: never leak it
        raise fail(f"{prefix}_MALFORMED", f"{what} could not be parsed") from exc
    return root
