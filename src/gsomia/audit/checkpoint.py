"""The checkpoint of the audit log: the C2SP ``tlog-checkpoint`` note body (no signature here).

A checkpoint names one state of an append-only log: its *origin* (which log), its *size* (how
many entries) and its RFC 9162 §2.1.1 root hash at that size.  Partners keep the checkpoints a
node signs (:mod:`gsomia.proofs.notes`) and ask for consistency proofs between them (RFC 9162
§2.1.4), so a log cannot be rewritten or forked without detection (PRODUCT.md §8).

Format (https://c2sp.org/tlog-checkpoint, "Note text"), every line ending in U+000A::

    <origin>                 non-empty; the log's identity, e.g. ``gsomia.kor/audit``
    <size>                   ASCII decimal, no leading zero (``0`` for the empty tree)
    <root>                   standard base64 (RFC 4648 §4) of the 32-byte SHA-256 root
    <extension line> ...     optional, opaque, each non-empty

Parsing (:func:`parse`) is strict, and every byte string it accepts is exactly what :meth:`body`
writes for the result (one encoding per checkpoint):

- valid UTF-8 without control characters other than the line ends (C2SP signed-note, "Format");
  the origin and each extension line at most :data:`MAX_LINE_BYTES` bytes, at most
  :data:`MAX_EXTENSIONS` extension lines;
- the size matches ``0|[1-9][0-9]*`` in ASCII and is below 2**64 (transparency-dev/formats parses
  it as a uint64);
- the root is canonical padded base64 of exactly 32 bytes;
- no empty line, and the body ends in a newline.

Errors: building a :class:`Checkpoint` from bad values raises
:class:`~gsomia.errors.InputError` ``CHECKPOINT_INVALID`` (our input); :func:`parse` raises
:class:`CheckpointError` ``CHECKPOINT_MALFORMED`` (a partner's bytes), with ``detail["field"]``.

Pure: no I/O, no clock and no cryptography (the root is computed by :mod:`gsomia.audit.merkle`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Final

from gsomia.audit.merkle import HASH_SIZE
from gsomia.errors import InputError, PeerError

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EXTENSIONS",
    "MAX_LINE_BYTES",
    "MAX_SIZE",
    "Checkpoint",
    "CheckpointError",
    "parse",
]

#: Longest origin or extension line, in UTF-8 bytes.
MAX_LINE_BYTES: Final = 1024
#: Most extension lines (their use is NOT RECOMMENDED by C2SP; we write none).
MAX_EXTENSIONS: Final = 16
#: Largest tree size a checkpoint can name (a uint64).
MAX_SIZE: Final = 2**64 - 1
#: Longest body :func:`parse` reads.
MAX_BODY_BYTES: Final = (MAX_EXTENSIONS + 1) * (MAX_LINE_BYTES + 1) + 128

_SIZE: Final = re.compile(rb"(?:0|[1-9][0-9]{0,19})")
_CONTROL: Final = re.compile(r"[\x00-\x1f]")


class CheckpointError(PeerError):
    """A checkpoint body from a partner is malformed (``CHECKPOINT_MALFORMED``)."""

    code = "CHECKPOINT_MALFORMED"
    status = 422
    title = "Malformed checkpoint"


def _line_problem(value: object) -> str | None:
    """Why ``value`` cannot be an origin or extension line, or None if it can."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if _CONTROL.search(value):
        return "must not contain control characters or line ends"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid Unicode"
    if size > MAX_LINE_BYTES:
        return f"must be at most {MAX_LINE_BYTES} bytes"
    return None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's origin, size and root hash: one state of the log (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = _line_problem(self.origin)
        if problem is not None:
            raise InputError(
                f"the checkpoint origin {problem}",
                code="CHECKPOINT_INVALID",
                detail={"field": "origin"},
            )
        if (
            not isinstance(self.size, int)
            or isinstance(self.size, bool)
            or not 0 <= self.size <= MAX_SIZE
        ):
            raise InputError(
                "the checkpoint size must be an integer from 0 to 2**64 - 1",
                code="CHECKPOINT_INVALID",
                detail={"field": "size"},
            )
        if not isinstance(self.root, bytes | bytearray) or len(self.root) != HASH_SIZE:
            raise InputError(
                f"the checkpoint root must be {HASH_SIZE} bytes (RFC 9162 §2.1.1, SHA-256)",
                code="CHECKPOINT_INVALID",
                detail={"field": "root"},
            )
        object.__setattr__(self, "root", bytes(self.root))
        if not isinstance(self.extensions, tuple) or len(self.extensions) > MAX_EXTENSIONS:
            raise InputError(
                f"at most {MAX_EXTENSIONS} extension lines, as a tuple",
                code="CHECKPOINT_INVALID",
                detail={"field": "extensions"},
            )
        for line in self.extensions:
            problem = _line_problem(line)
            if problem is not None:
                raise InputError(
                    f"an extension line {problem}",
                    code="CHECKPOINT_INVALID",
                    detail={"field": "extensions"},
                )

    def body(self) -> bytes:
        """The note text: origin, size, base64 root and extension lines, each ending in ``\\n``."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode("ascii"),
            *self.extensions,
        ]
        return "".join(f"{line}\n" for line in lines).encode("utf-8")

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        """The checkpoint whose note text is ``body``; see :func:`parse`."""
        return parse(body)


def _malformed(message: str, field: str) -> CheckpointError:
    return CheckpointError(
        f"checkpoint: {message}", code="CHECKPOINT_MALFORMED", detail={"field": field}
    )


def parse(body: bytes) -> Checkpoint:
    """Parse a checkpoint note text strictly (rules in the module docstring)."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise _malformed("the body must be bytes", "body")
    data = bytes(body)
    if len(data) > MAX_BODY_BYTES:
        raise _malformed(f"the body exceeds {MAX_BODY_BYTES} bytes", "body")
    if not data.endswith(b"\n"):
        raise _malformed("the body must end with a newline", "body")
    raw_lines = data[:-1].split(b"\n")
    if len(raw_lines) < 3:
        raise _malformed("origin, size and root lines are required", "body")
    if len(raw_lines) > 3 + MAX_EXTENSIONS:
        raise _malformed(f"at most {MAX_EXTENSIONS} extension lines", "extensions")
    try:
        text_lines = [line.decode("utf-8") for line in raw_lines]
    except UnicodeDecodeError:
        raise _malformed("the body is not UTF-8", "body") from None
    origin, size_text, _, *extensions = text_lines
    for field, line in (("origin", origin), *(("extensions", e) for e in extensions)):
        problem = _line_problem(line)
        if problem is not None:
            raise _malformed(f"the {field} line {problem}", field)
    if not _SIZE.fullmatch(raw_lines[1]) or int(size_text) > MAX_SIZE:
        raise _malformed("the size must be a decimal from 0 to 2**64 - 1, no leading zero", "size")
    try:
        root = base64.b64decode(raw_lines[2], validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("the root must be standard base64", "root") from None
    if len(root) != HASH_SIZE or base64.b64encode(root) != raw_lines[2]:
        raise _malformed(f"the root must be canonical base64 of {HASH_SIZE} bytes", "root")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))
