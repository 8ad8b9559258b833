"""Coverage-guided fuzz target for the canonical JSON label codec (``gsomia.labels.json_codec``).

Each input is decoded as an originator label, an alternative label and a label set; only
:class:`~gsomia.errors.LabelError` may come out, and a label that decodes comes back from its
canonical bytes unchanged.  Run with atheris (``bench/fuzz.sh``); the pytest runner is
``tests/fuzz/test_fuzz_parsers.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

from gsomia.errors import LabelError
from gsomia.labels import AlternativeLabel, LabelSet, OriginatorLabel, json_codec
from tests.conftest import at, make_label

KINDS = (OriginatorLabel, AlternativeLabel, LabelSet)
SNIPPETS = [
    b'"policy_id":"KOR",', b"NaN", b"1e999", b"12345678901234567890", b"-0", b"\\ud800",
    b'"\\u0000"', b"[" * 20, b"]" * 20, b"{}", b"null", b"true", b'"x":1,', b"\xef\xbb\xbf",
    b'"created":"2024-05-01T00:00:00"', b'"type":"OTHER"', b'"values":[]', b" ",
]  # fmt: skip


def seeds() -> Iterable[bytes]:
    label = make_label()
    alternative = AlternativeLabel(
        "JPN", "極秘", "KOR", "JPN", "kor-jpn-gsomia-2016", 1, at("2026-11-23T12:00:00+09:00")
    )
    for value in (label, alternative, LabelSet(label, (alternative,)), make_label(topics=())):
        yield json_codec.canonical_bytes(value)
    yield json_codec.dumps(label, indent=2).encode()


def TestOneInput(data: bytes) -> None:
    """One input, as each label kind: only LabelError escapes; what decodes round-trips."""
    for kind in KINDS:
        try:
            value = json_codec.loads(data, kind)
        except LabelError:
            continue
        assert json_codec.loads(json_codec.canonical_bytes(value), kind) == value


if __name__ == "__main__":
    from tests.fuzz._atheris import main

    main(TestOneInput, seeds)
