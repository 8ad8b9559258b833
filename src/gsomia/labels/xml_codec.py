"""STANAG 4774 XML for gsomia labels: a closed, lossless profile, parsed without DTDs or entities.

Structure (ADatP-4774 Ed. A V1, Appendix 1 and its XSD in Annex A, namespace
``urn:nato:stanag:4774:confidentialitymetadatalabel:1:0``, prefix ``slab``)::

    slab:originatorConfidentialityLabel  [@ReviewDateTime]         an OriginatorLabel
      slab:ConfidentialityInformation
        slab:PolicyIdentifier             policy_id (our scheme id, e.g. KOR)
        slab:Classification               classification, in the scheme's own text (군사II급비밀)
        slab:Category @Type @TagName  *   one per category, sorted by name (App. 1 Table 8)
          slab:GenericValue  *            its values, sorted ("GenericValue SHALL be used")
      slab:OriginatorID @IDType="uniformResourceIdentifier"   urn:gsomia:party:KOR
      slab:CreationDateTime               created

    slab:alternativeConfidentialityLabel                           an AlternativeLabel (Art. 4)
      slab:ConfidentialityInformation     PolicyIdentifier and Classification only
      slab:OriginatorID                   urn:gsomia:party:<applied_by>: who made *this* label
      slab:CreationDateTime               applied
      gs:Equivalence                      gsomia extension (below)
        gs:OriginatingParty               originator (the item's originating party, e.g. KOR)
        gs:Agreement                      agreement id
        gs:TableVersion                   table version, decimal, no sign or leading zero

    gs:LabelSet                                                    a LabelSet
      slab:originatorConfidentialityLabel
      slab:alternativeConfidentialityLabel  *   in the order they were added

Choices where the standard and the model differ (each documented here and nowhere else):

- **Extension namespace** ``urn:gsomia:label:ext:1`` (prefix ``gs``).  The originating party, the
  agreement and the equivalence-table version of an alternative label have no 4774 element.  They
  travel in ``gs:Equivalence`` in the label's trailing extension slot (the XSD's ``##other`` after
  ``CreationDateTime``), not as an INFORMATIVE ``Category``: categories are defined by the policy's
  SPIF (ADatP-4774.1 Table 10), and a tag set the partner's SPIF lacks would make the label invalid
  against its policy, while unknown ``##other`` elements are ignored by 4774 consumers.  4774 has no
  container for several labels (ADatP-4778 binds them); ``gs:LabelSet`` is ours.
- **Originator.** ``OriginatorID`` is optional in 4774 but required here; its ``IDType`` must be
  ``uniformResourceIdentifier`` (App. 1 Table 9) and its value ``urn:gsomia:party:`` followed by the
  ISO 3166-1 alpha-3 code.
- **ReviewDateTime** is written when the label has a review time.  The 4774 prose makes it mandatory
  when there is no ``SuccessionHandling``; the model makes it optional, and alternative labels have
  none.  Such labels are schema-valid but not prose-conformant.
- **Closed profile.** What the model cannot hold is refused, not dropped: ``PrivacyMark``,
  ``SuccessionHandling``, ``IntegerValue``/``BitStringValue``, ``URI`` and ``Id`` attributes,
  categories on an alternative label, and elements from any other namespace.  Comments and
  processing instructions are ignored.
- **Text is read verbatim**: no ``xs:token`` whitespace collapsing of PolicyIdentifier or
  Classification; a label with newlines around its text is refused by the model.
- **UTF-8 only**, and :func:`to_xml` is deterministic: XML declaration, prefixes ``slab`` and
  ``gs``, two-space indentation, attributes in the order above, LF line ends, a final newline.

Parsing uses defusedxml's expat parser with ``forbid_dtd``, ``forbid_entities`` and
``forbid_external`` (the parser :func:`defusedxml.ElementTree.fromstring` uses), given a tree
builder that enforces depth and element limits while parsing.  Only :class:`LabelError` escapes:

===============================  ===============================================================
LABEL_XML_TOO_LARGE              input longer than :data:`MAX_XML_BYTES`
LABEL_XML_ENCODING               not UTF-8, or an XML declaration naming another encoding
LABEL_XML_DTD_FORBIDDEN          a document type declaration
LABEL_XML_ENTITY_FORBIDDEN       an entity declaration (billion laughs, external entities) or a
                                 reference to an undeclared entity
LABEL_XML_MALFORMED              not well-formed XML (truncated, junk, bad characters), or not bytes
LABEL_XML_TOO_DEEP               elements nested deeper than :data:`MAX_XML_DEPTH`
LABEL_XML_TOO_MANY_ELEMENTS      more than :data:`MAX_XML_ELEMENTS` elements
LABEL_XML_NAMESPACE              an element outside the 4774 and gsomia namespaces (or in none)
LABEL_XML_ELEMENT_UNEXPECTED     an element not allowed where it stands, or a root of another kind
LABEL_XML_ELEMENT_MISSING        a required element is absent
LABEL_XML_ATTRIBUTE_UNEXPECTED   an attribute the profile does not define on that element
LABEL_XML_ATTRIBUTE_MISSING      ``Category/@Type``, ``Category/@TagName`` or ``@IDType`` absent
LABEL_XML_TEXT_UNEXPECTED        non-whitespace text between elements
LABEL_PARTY_INVALID              OriginatorID not a gsomia party URN; or (model) a bad trigraph
LABEL_CATEGORY_TYPE              ``@Type`` not PERMISSIVE, RESTRICTIVE or INFORMATIVE
LABEL_FIELD_INVALID              TableVersion not a decimal integer; or (model) bad text
LABEL_TIME_INVALID               a date-time unparseable or without offset; review before creation
LABEL_CATEGORY_EMPTY, LABEL_CATEGORY_DUPLICATE, LABEL_TOO_LARGE, LABEL_ALTERNATIVE_MISMATCH,
LABEL_ALTERNATIVE_DUPLICATE      raised by the model, as for JSON (:mod:`.json_codec`)
===============================  ===============================================================
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar, overload

from gsomia.errors import InstantError, LabelError
from gsomia.instants import format_instant, parse_instant
from gsomia.labels.bounded_xml import parse_bounded
from gsomia.labels.json_codec import AnyLabel
from gsomia.labels.model import (
    AlternativeLabel,
    Category,
    CategoryType,
    LabelSet,
    OriginatorLabel,
)

__all__ = [
    "ALTERNATIVE_LABEL",
    "EXT_NS",
    "LABEL_SET",
    "MAX_XML_BYTES",
    "MAX_XML_DEPTH",
    "MAX_XML_ELEMENTS",
    "ORIGINATOR_LABEL",
    "PARTY_URN_PREFIX",
    "SLAB_NS",
    "from_xml",
    "to_xml",
]

L = TypeVar("L", bound=AnyLabel)

SLAB_NS: Final = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
EXT_NS: Final = "urn:gsomia:label:ext:1"
PARTY_URN_PREFIX: Final = "urn:gsomia:party:"
_URI_ID_TYPE: Final = "uniformResourceIdentifier"

#: Largest accepted input; the largest valid label set encodes to well under it (a test checks).
MAX_XML_BYTES: Final = 256 * 1024
#: Deepest accepted nesting; a label set needs 5 (set > label > information > category > value).
MAX_XML_DEPTH: Final = 8
#: Most elements accepted; the largest valid label set has about 2,300.
MAX_XML_ELEMENTS: Final = 4096
_MANY: Final = MAX_XML_ELEMENTS

_PREFIX: Final = {SLAB_NS: "slab", EXT_NS: "gs"}
_XMLNS_SLAB: Final = f'xmlns:slab="{SLAB_NS}"'
_XMLNS_GS: Final = f'xmlns:gs="{EXT_NS}"'


def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


ORIGINATOR_LABEL: Final = _q(SLAB_NS, "originatorConfidentialityLabel")
ALTERNATIVE_LABEL: Final = _q(SLAB_NS, "alternativeConfidentialityLabel")
_CONF_INFO: Final = _q(SLAB_NS, "ConfidentialityInformation")
_POLICY_ID: Final = _q(SLAB_NS, "PolicyIdentifier")
_CLASSIFICATION: Final = _q(SLAB_NS, "Classification")
_CATEGORY: Final = _q(SLAB_NS, "Category")
_GENERIC_VALUE: Final = _q(SLAB_NS, "GenericValue")
_ORIGINATOR_ID: Final = _q(SLAB_NS, "OriginatorID")
_CREATION: Final = _q(SLAB_NS, "CreationDateTime")
LABEL_SET: Final = _q(EXT_NS, "LabelSet")
_EQUIVALENCE: Final = _q(EXT_NS, "Equivalence")
_ORIGINATING_PARTY: Final = _q(EXT_NS, "OriginatingParty")
_AGREEMENT: Final = _q(EXT_NS, "Agreement")
_TABLE_VERSION: Final = _q(EXT_NS, "TableVersion")

_DECIMAL: Final = re.compile(r"[1-9][0-9]{0,15}")
_XML_SPACE: Final = " \t\r\n"


# --- writing ----------------------------------------------------------------------------------


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(name: str, value: str) -> str:
    return f' {name}="{_esc(value).replace(chr(34), "&quot;")}"'


def _name(tag: str) -> str:
    ns, _, local = tag[1:].partition("}")
    return f"{_PREFIX[ns]}:{local}"


class _Writer:
    def __init__(self) -> None:
        self.lines = ['<?xml version="1.0" encoding="UTF-8"?>']

    def open(self, depth: int, tag: str, attrs: str = "") -> None:
        self.lines.append(f"{'  ' * depth}<{_name(tag)}{attrs}>")

    def close(self, depth: int, tag: str) -> None:
        self.lines.append(f"{'  ' * depth}</{_name(tag)}>")

    def leaf(self, depth: int, tag: str, text: str, attrs: str = "") -> None:
        name = _name(tag)
        self.lines.append(f"{'  ' * depth}<{name}{attrs}>{_esc(text)}</{name}>")


def _write_head(w: _Writer, depth: int, policy_id: str, classification: str) -> None:
    w.leaf(depth, _POLICY_ID, policy_id)
    w.leaf(depth, _CLASSIFICATION, classification)


def _write_creator(w: _Writer, depth: int, party: str, created: datetime) -> None:
    w.leaf(depth, _ORIGINATOR_ID, PARTY_URN_PREFIX + party, _attr("IDType", _URI_ID_TYPE))
    w.leaf(depth, _CREATION, format_instant(created))


def _write_originator(w: _Writer, depth: int, label: OriginatorLabel, xmlns: str) -> None:
    attrs = xmlns
    if label.review is not None:
        attrs += _attr("ReviewDateTime", format_instant(label.review))
    w.open(depth, ORIGINATOR_LABEL, attrs)
    w.open(depth + 1, _CONF_INFO)
    _write_head(w, depth + 2, label.policy_id, label.classification)
    for cat in label.categories:
        w.open(depth + 2, _CATEGORY, _attr("Type", cat.type.value) + _attr("TagName", cat.name))
        for value in cat.values:
            w.leaf(depth + 3, _GENERIC_VALUE, value)
        w.close(depth + 2, _CATEGORY)
    w.close(depth + 1, _CONF_INFO)
    _write_creator(w, depth + 1, label.originator, label.created)
    w.close(depth, ORIGINATOR_LABEL)


def _write_alternative(w: _Writer, depth: int, label: AlternativeLabel, xmlns: str) -> None:
    w.open(depth, ALTERNATIVE_LABEL, xmlns)
    w.open(depth + 1, _CONF_INFO)
    _write_head(w, depth + 2, label.policy_id, label.classification)
    w.close(depth + 1, _CONF_INFO)
    _write_creator(w, depth + 1, label.applied_by, label.applied)
    w.open(depth + 1, _EQUIVALENCE)
    w.leaf(depth + 2, _ORIGINATING_PARTY, label.originator)
    w.leaf(depth + 2, _AGREEMENT, label.agreement)
    w.leaf(depth + 2, _TABLE_VERSION, str(label.table_version))
    w.close(depth + 1, _EQUIVALENCE)
    w.close(depth, ALTERNATIVE_LABEL)


def to_xml(label: AnyLabel) -> bytes:
    """The STANAG 4774 XML of ``label``: UTF-8, deterministic, readable by :func:`from_xml`."""
    w = _Writer()
    if isinstance(label, OriginatorLabel):
        _write_originator(w, 0, label, " " + _XMLNS_SLAB)
    elif isinstance(label, AlternativeLabel):
        _write_alternative(w, 0, label, f" {_XMLNS_SLAB} {_XMLNS_GS}")
    elif isinstance(label, LabelSet):
        w.open(0, LABEL_SET, f" {_XMLNS_SLAB} {_XMLNS_GS}")
        _write_originator(w, 1, label.originator, "")
        for alt in label.alternatives:
            _write_alternative(w, 1, alt, "")
        w.close(0, LABEL_SET)
    else:
        raise TypeError(f"not a label: {type(label).__name__}")
    return ("\n".join(w.lines) + "\n").encode("utf-8")


# --- parsing ----------------------------------------------------------------------------------


def _err(code: str, message: str, **detail: Any) -> LabelError:
    return LabelError(message, code=code, detail=detail)


def _display(tag: str) -> str:
    ns, local = _split(tag)
    if ns is None:
        return local
    return f"{_PREFIX[ns]}:{local}" if ns in _PREFIX else tag  # Clark notation {ns}local


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def _parse(data: object) -> ET.Element:
    return parse_bounded(
        data,
        prefix="LABEL_XML",
        what="label XML",
        fail=_err,
        error=LabelError,
        max_bytes=MAX_XML_BYTES,
        max_depth=MAX_XML_DEPTH,
        max_elements=MAX_XML_ELEMENTS,
    )


def _element_error(elem: ET.Element, where: str) -> LabelError:
    ns, _ = _split(elem.tag)
    if ns not in (SLAB_NS, EXT_NS):
        return _err(
            "LABEL_XML_NAMESPACE",
            f"element {_display(elem.tag)} in {where} is outside the STANAG 4774 namespace",
            element=_display(elem.tag),
            namespace=ns,
        )
    return _err(
        "LABEL_XML_ELEMENT_UNEXPECTED",
        f"element {_display(elem.tag)} is not allowed in {where}",
        element=_display(elem.tag),
    )


def _blank(text: str | None) -> bool:
    return text is None or not text.strip(_XML_SPACE)


def _attrs(elem: ET.Element, allowed: Collection[str] = (), required: Collection[str] = ()) -> None:
    for name in elem.attrib:
        if name not in allowed:
            raise _err(
                "LABEL_XML_ATTRIBUTE_UNEXPECTED",
                f"attribute {name!r} is not allowed on {_display(elem.tag)}",
                element=_display(elem.tag),
                attribute=name,
            )
    for name in required:
        if name not in elem.attrib:
            raise _err(
                "LABEL_XML_ATTRIBUTE_MISSING",
                f"{_display(elem.tag)} needs attribute {name!r}",
                element=_display(elem.tag),
                attribute=name,
            )


def _children(
    elem: ET.Element, spec: Sequence[tuple[str, int, int]]
) -> dict[str, list[ET.Element]]:
    """Match ``elem``'s children against ``spec``, a sequence of (tag, min, max)."""
    where = _display(elem.tag)
    if not _blank(elem.text):
        raise _err("LABEL_XML_TEXT_UNEXPECTED", f"text is not allowed in {where}", element=where)
    found: dict[str, list[ET.Element]] = {tag: [] for tag, _, _ in spec}
    children = list(elem)
    pos = 0
    for index, child in enumerate(children):
        if child.tag not in found:
            raise _element_error(child, where)
        while pos < len(spec) and spec[pos][0] != child.tag:
            tag, low, _ = spec[pos]
            if len(found[tag]) < low:
                if any(later.tag == tag for later in children[index:]):
                    raise _out_of_order(child, where)
                raise _missing(tag, where)
            pos += 1
        if pos == len(spec) or len(found[child.tag]) >= spec[pos][2]:
            raise _out_of_order(child, where)
        found[child.tag].append(child)
        if not _blank(child.tail):
            raise _err(
                "LABEL_XML_TEXT_UNEXPECTED", f"text is not allowed in {where}", element=where
            )
    for tag, low, _ in spec[pos:]:
        if len(found[tag]) < low:
            raise _missing(tag, where)
    return found


def _out_of_order(child: ET.Element, where: str) -> LabelError:
    return _err(
        "LABEL_XML_ELEMENT_UNEXPECTED",
        f"element {_display(child.tag)} is out of order or repeated in {where}",
        element=_display(child.tag),
    )


def _missing(tag: str, where: str) -> LabelError:
    return _err(
        "LABEL_XML_ELEMENT_MISSING",
        f"{where} needs element {_display(tag)}",
        element=_display(tag),
    )


def _leaf(elem: ET.Element, allowed: Collection[str] = ()) -> str:
    _attrs(elem, allowed)
    if len(elem):
        raise _element_error(elem[0], _display(elem.tag))
    return elem.text or ""


def _time(text: str, what: str) -> datetime:
    try:
        return parse_instant(text)
    except InstantError as exc:
        raise _err("LABEL_TIME_INVALID", f"{what}: {exc.message}", element=what) from None


def _party_id(elem: ET.Element) -> str:
    _attrs(elem, ("IDType",), ("IDType",))
    if elem.attrib["IDType"] != _URI_ID_TYPE:
        raise _err(
            "LABEL_PARTY_INVALID",
            f"OriginatorID must have IDType {_URI_ID_TYPE!r}",
            element="slab:OriginatorID",
        )
    text = _leaf(elem, ("IDType",))
    if not text.startswith(PARTY_URN_PREFIX):
        raise _err(
            "LABEL_PARTY_INVALID",
            f"OriginatorID must be {PARTY_URN_PREFIX}<ISO 3166-1 alpha-3 code>",
            element="slab:OriginatorID",
        )
    return text[len(PARTY_URN_PREFIX) :]


def _category(elem: ET.Element) -> Category:
    _attrs(elem, ("Type", "TagName"), ("Type", "TagName"))
    try:
        cat_type = CategoryType(elem.attrib["Type"])
    except ValueError:
        raise _err(
            "LABEL_CATEGORY_TYPE",
            f"category type {elem.attrib['Type']!r} is not PERMISSIVE, RESTRICTIVE or INFORMATIVE",
            element="slab:Category",
        ) from None
    values = _children(elem, [(_GENERIC_VALUE, 0, _MANY)])[_GENERIC_VALUE]
    return Category(elem.attrib["TagName"], cat_type, tuple(_leaf(v) for v in values))


def _information(elem: ET.Element, categories: bool) -> tuple[str, str, tuple[Category, ...]]:
    _attrs(elem)
    spec = [(_POLICY_ID, 1, 1), (_CLASSIFICATION, 1, 1)]
    if categories:
        spec.append((_CATEGORY, 0, _MANY))
    parts = _children(elem, spec)
    return (
        _leaf(parts[_POLICY_ID][0]),
        _leaf(parts[_CLASSIFICATION][0]),
        tuple(_category(c) for c in parts.get(_CATEGORY, [])),
    )


def _originator(elem: ET.Element) -> OriginatorLabel:
    _attrs(elem, ("ReviewDateTime",))
    parts = _children(elem, [(_CONF_INFO, 1, 1), (_ORIGINATOR_ID, 1, 1), (_CREATION, 1, 1)])
    policy_id, classification, categories = _information(parts[_CONF_INFO][0], categories=True)
    review = elem.attrib.get("ReviewDateTime")
    return OriginatorLabel(
        policy_id=policy_id,
        classification=classification,
        originator=_party_id(parts[_ORIGINATOR_ID][0]),
        created=_time(_leaf(parts[_CREATION][0]), "slab:CreationDateTime"),
        categories=categories,
        review=None if review is None else _time(review, "ReviewDateTime"),
    )


def _alternative(elem: ET.Element) -> AlternativeLabel:
    _attrs(elem)
    parts = _children(
        elem,
        [(_CONF_INFO, 1, 1), (_ORIGINATOR_ID, 1, 1), (_CREATION, 1, 1), (_EQUIVALENCE, 1, 1)],
    )
    policy_id, classification, _ = _information(parts[_CONF_INFO][0], categories=False)
    equivalence = parts[_EQUIVALENCE][0]
    _attrs(equivalence)
    ext = _children(
        equivalence, [(_ORIGINATING_PARTY, 1, 1), (_AGREEMENT, 1, 1), (_TABLE_VERSION, 1, 1)]
    )
    version = _leaf(ext[_TABLE_VERSION][0])
    if not _DECIMAL.fullmatch(version):
        raise _err(
            "LABEL_FIELD_INVALID",
            f"gs:TableVersion must be a decimal integer from 1, got {version[:20]!r}",
            element="gs:TableVersion",
        )
    return AlternativeLabel(
        policy_id=policy_id,
        classification=classification,
        originator=_leaf(ext[_ORIGINATING_PARTY][0]),
        applied_by=_party_id(parts[_ORIGINATOR_ID][0]),
        agreement=_leaf(ext[_AGREEMENT][0]),
        table_version=int(version),
        applied=_time(_leaf(parts[_CREATION][0]), "slab:CreationDateTime"),
    )


def _label_set(elem: ET.Element) -> LabelSet:
    _attrs(elem)
    parts = _children(elem, [(ORIGINATOR_LABEL, 1, 1), (ALTERNATIVE_LABEL, 0, _MANY)])
    return LabelSet(
        _originator(parts[ORIGINATOR_LABEL][0]),
        tuple(_alternative(a) for a in parts[ALTERNATIVE_LABEL]),
    )


_ROOTS: Final[dict[str, tuple[type[Any], Callable[[ET.Element], Any]]]] = {
    ORIGINATOR_LABEL: (OriginatorLabel, _originator),
    ALTERNATIVE_LABEL: (AlternativeLabel, _alternative),
    LABEL_SET: (LabelSet, _label_set),
}


@overload
def from_xml(data: bytes, kind: None = None) -> AnyLabel: ...
@overload
def from_xml(data: bytes, kind: type[L]) -> L: ...
def from_xml(data: bytes, kind: type[Any] | None = None) -> Any:
    """Decode STANAG 4774 XML into the label its root element names.

    With ``kind`` (``OriginatorLabel``, ``AlternativeLabel`` or ``LabelSet``) any other root is
    refused with ``LABEL_XML_ELEMENT_UNEXPECTED``.  Raises :class:`LabelError`, and nothing else,
    for any input that is not such a label.
    """
    root = _parse(data)
    entry = _ROOTS.get(root.tag)
    if entry is None:
        raise _element_error(root, "the document")
    root_kind, decode = entry
    if kind is not None and kind is not root_kind:
        raise _err(
            "LABEL_XML_ELEMENT_UNEXPECTED",
            f"expected a {kind.__name__}, got {_display(root.tag)}",
            element=_display(root.tag),
        )
    return decode(root)
