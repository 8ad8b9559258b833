"""Coverage-guided fuzz target for the CoT parsers (STYLE.md §8: fuzz targets for every parser).

Feeds arbitrary bytes to :class:`~gsomia.tracks.CotFramer` (whole, and cut into chunks whose
sizes the input chooses) and to :func:`~gsomia.tracks.decode_event`, directly and for every frame.
The only exception allowed out of either is :class:`~gsomia.errors.CotError`; an event that does
decode must encode and decode back to the same message; the decoder's general path alone and the
previous decoder (``tests/unit/tracks/old_cot.py``) must give the same outcome (ADR 0014); and
:func:`~gsomia.tracks.ping.read_event` differs only by reading a ping.  Run from the repository
root with atheris (not a test dependency)::

    pip install atheris
    PYTHONPATH=. python tests/fuzz/fuzz_cot.py -max_len=70000 -runs=1000000 [CORPUS_DIR]

(or ``bench/fuzz.sh 60 cot``).

``tests/fuzz/test_fuzz_cot.py`` runs :func:`TestOneInput` over a few thousand random and mutated
inputs without atheris, so the suite never needs it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from gsomia.catalog import builtin_registry
from gsomia.errors import CotError
from gsomia.tracks import CotFramer, TrackMessage, decode_event, encode_event
from gsomia.tracks._xml import parse_event
from gsomia.tracks.cot import decode_tree
from gsomia.tracks.ping import Ping, read_event
from tests.unit.tracks import old_cot

SCHEMES = builtin_registry().schemes


def _outcome(decode: Callable[[bytes, Any], object], data: bytes) -> tuple[str, object]:
    try:
        return "accepted", decode(data, SCHEMES)
    except CotError as exc:
        return "refused", exc.code


def _general(data: bytes, schemes: Any) -> TrackMessage:
    return decode_tree(parse_event(data), schemes)


def _decode(data: bytes) -> None:
    outcome = _outcome(decode_event, data)
    # Differential (ADR 0014): the general path alone and the previous decoder agree.
    assert outcome == _outcome(_general, data), "the general path disagrees"
    assert outcome == _outcome(old_cot.decode_event, data), "the previous decoder disagrees"
    read = _outcome(read_event, data)
    assert read == outcome or read == ("accepted", Ping())
    if outcome[0] == "accepted":
        message = outcome[1]
        assert isinstance(message, TrackMessage)
        assert decode_event(encode_event(message, SCHEMES), SCHEMES) == message


def TestOneInput(data: bytes) -> None:
    """One fuzz input: only :class:`CotError` may be raised inside, and none escapes."""
    _decode(data)
    whole = CotFramer(max_event_bytes=8192)
    frames = whole.feed(data)
    step = 1 + (data[0] if data else 0)
    chunked = CotFramer(max_event_bytes=8192)
    pieces: list[bytes | CotError] = []
    for start in range(0, len(data), step):
        pieces += chunked.feed(data[start : start + step])
    # Chunking never changes which events come out (errors may differ only in where a frame
    # that was over the limit got cut, so they are not compared).
    if all(isinstance(item, bytes) for item in frames + pieces):
        assert frames == pieces, "chunking changed the frames"
    for item in frames:
        if isinstance(item, bytes):
            _decode(item)


def main() -> None:
    import atheris  # noqa: PLC0415 - only the fuzzing run needs it

    atheris.instrument_all()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
