"""Coverage-guided fuzz target for the STANAG 4774 XML label codec (``gsomia.labels.xml_codec``).

Only :class:`~gsomia.errors.LabelError` may come out of :func:`from_xml`, for any bytes
(entities, DTDs, deep or wide documents, other encodings); a label that decodes encodes and
decodes back to itself.  Run with atheris (``bench/fuzz.sh``)::

    python tests/fuzz/fuzz_label_xml.py -max_total_time=60 CORPUS_DIR

``tests/fuzz/test_fuzz_parsers.py`` runs :func:`TestOneInput` over seeded inputs without it.
"""

from __future__ import annotations

from collections.abc import Iterable

from gsomia.errors import LabelError
from gsomia.labels import AlternativeLabel, LabelSet, xml_codec
from tests.conftest import at, make_label

SNIPPETS = [
    b'<!DOCTYPE a [<!ENTITY x "xx"><!ENTITY y "&x;&x;">]>', b"&x;", b"&#0;", b"&#x110000;",
    b'<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd">', b"<![CDATA[x]]>", b"<!-- c -->",
    b"<?pi x?>", b"<slab:Category>" * 10, b'xmlns="urn:x"', b'xmlns:slab="urn:x"',
    b'Type="OTHER"', b"\xff\xfe", b"\x00", b'<?xml version="1.0" encoding="UTF-16"?>',
    b"urn:gsomia:party:XX", b"2024-02-30T00:00:00Z", b"2024-05-01T00:00:00", b" " * 2000,
]  # fmt: skip


def seeds() -> Iterable[bytes]:
    label = make_label()
    alternative = AlternativeLabel(
        "JPN", "極秘", "KOR", "JPN", "kor-jpn-gsomia-2016", 1, at("2026-11-23T12:00:00+09:00")
    )
    yield xml_codec.to_xml(label)
    yield xml_codec.to_xml(alternative)
    yield xml_codec.to_xml(LabelSet(label, (alternative,)))
    yield xml_codec.to_xml(make_label(level="秘", originator="JPN", topics=()))


def TestOneInput(data: bytes) -> None:
    """One input: only LabelError escapes the decoder; what decodes round-trips."""
    try:
        label = xml_codec.from_xml(data)
    except LabelError:
        return
    assert xml_codec.from_xml(xml_codec.to_xml(label)) == label


if __name__ == "__main__":
    from tests.fuzz._atheris import main

    main(TestOneInput, seeds)
