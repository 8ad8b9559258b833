"""Coverage-guided fuzz target for signed notes and checkpoints (``gsomia.proofs.notes``,
``gsomia.proofs.signed_note``, ``gsomia.audit.checkpoint``).

Each input is parsed as a note, opened as a signed checkpoint against KOR's note key, parsed as
a checkpoint body, and cut in two at its first NUL byte to be checked as an (old, new) pair for
consistency; only the proofs' own errors (:class:`NoteError`, ``CheckpointError``,
:class:`ConsistencyError`) may come out.  Run with atheris (``bench/fuzz.sh``); the pytest
runner is ``tests/fuzz/test_fuzz_parsers.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import timedelta

from gsomia.audit import checkpoint as checkpoint_body
from gsomia.audit.checkpoint import Checkpoint, CheckpointError
from gsomia.envelope import NodeKeys
from gsomia.proofs import (
    ConsistencyError,
    NoteError,
    NoteVerifier,
    check_consistency,
    cosign,
    open_checkpoint,
    sign_checkpoint,
)
from gsomia.proofs.signed_note import parse_note
from tests.conftest import at

NOW = at("2026-11-23T12:00:00+09:00")
ORIGIN = "gsomia/kor/audit"
KOR = NodeKeys.generate("KOR", NOW - timedelta(days=1))
JPN = NodeKeys.generate("JPN", NOW - timedelta(days=1))
VERIFIERS = (
    NoteVerifier.from_record(ORIGIN, KOR.current.sig),
    NoteVerifier.from_record("gsomia/jpn/witness", JPN.current.sig, sig_type=0x04),
)
ERRORS = (NoteError, CheckpointError, ConsistencyError)
SNIPPETS = [
    b"\n", b"\n\n", b"\xe2\x80\x94 ", b"gsomia/kor/audit", b"0\n", b"01\n", b"-1\n",
    b"18446744073709551616\n", b"====", b"\x00", b"\t", b" ", b"cosignature/v1\n",
    b"AAAA", b"\xff",
]  # fmt: skip


def seeds() -> Iterable[bytes]:
    small = sign_checkpoint(Checkpoint(ORIGIN, 5, b"\x11" * 32), KOR)
    large = sign_checkpoint(Checkpoint(ORIGIN, 9, b"\x33" * 32), KOR)
    yield small
    yield large
    yield cosign(small, JPN, "gsomia/jpn/witness", at=NOW, log_verifiers=VERIFIERS[:1])
    yield small + b"\x00" + large
    yield Checkpoint(ORIGIN, 5, b"\x11" * 32).body()


def TestOneInput(data: bytes) -> None:
    """One input: only the proofs' own errors escape."""
    for check in (
        lambda: parse_note(data),
        lambda: open_checkpoint(data, VERIFIERS),
        lambda: checkpoint_body.parse(data),
    ):
        with contextlib.suppress(*ERRORS):
            check()
    old, _, new = data.partition(b"\x00")
    with contextlib.suppress(*ERRORS):
        check_consistency(old, new, [bytes(32)] * (len(data) % 4), VERIFIERS)


if __name__ == "__main__":
    from tests.fuzz._atheris import main

    main(TestOneInput, seeds)
