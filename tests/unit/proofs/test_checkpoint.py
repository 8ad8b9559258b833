"""gsomia.audit.checkpoint: the C2SP tlog-checkpoint body, built and parsed strictly."""

from __future__ import annotations

import base64

import pytest

from gsomia.audit.checkpoint import (
    MAX_BODY_BYTES,
    MAX_EXTENSIONS,
    MAX_LINE_BYTES,
    MAX_SIZE,
    Checkpoint,
    CheckpointError,
    parse,
)
from gsomia.audit.merkle import EMPTY_ROOT, MerkleTree
from gsomia.errors import InputError, PeerError
from tests.unit.proofs.conftest import VECTORS

ROOT = bytes(range(32))
ROOT64 = base64.b64encode(ROOT).decode()


def test_body_is_the_three_lines_each_ending_in_newline() -> None:
    cp = Checkpoint("gsomia.kor/audit", 123, ROOT)
    assert cp.body() == f"gsomia.kor/audit\n123\n{ROOT64}\n".encode()
    assert parse(cp.body()) == cp
    assert Checkpoint.parse(cp.body()) == cp


def test_extension_lines_round_trip() -> None:
    cp = Checkpoint("log", 7, ROOT, ("ext one", "ext two"))
    assert cp.body().endswith(b"ext one\next two\n")
    assert parse(cp.body()) == cp


def test_empty_tree() -> None:
    cp = Checkpoint("log", 0, EMPTY_ROOT)
    assert cp.body().split(b"\n")[1] == b"0"
    assert parse(cp.body()) == cp


def test_the_root_of_a_merkle_tree() -> None:
    tree = MerkleTree.from_entries([b"a", b"b", b"c"])
    cp = Checkpoint("log", tree.size, tree.root())
    assert parse(cp.body()).root == tree.root()


def test_known_answer_sum_golang_org_body() -> None:
    v = VECTORS["checkpoint"]
    body = v["signed"].split("\n\n")[0].encode() + b"\n"
    cp = parse(body)
    assert (cp.origin, cp.size, base64.b64encode(cp.root).decode()) == (
        v["origin"],
        v["size"],
        v["root_base64"],
    )
    assert cp.body() == body


def test_largest_size_and_unicode_origin() -> None:
    cp = Checkpoint("감사 로그 — 監査", MAX_SIZE, ROOT)
    assert parse(cp.body()) == cp


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"log\n1\n" + ROOT64.encode(), "body"),  # no final newline
        (b"log\n1\n", "body"),  # too few lines
        (b"\n1\n" + ROOT64.encode() + b"\n", "origin"),  # empty origin
        (b"lo\tg\n1\n" + ROOT64.encode() + b"\n", "origin"),  # control character
        (b"log\n01\n" + ROOT64.encode() + b"\n", "size"),  # leading zero
        (b"log\n-1\n" + ROOT64.encode() + b"\n", "size"),
        (b"log\n+1\n" + ROOT64.encode() + b"\n", "size"),
        (b"log\n1_0\n" + ROOT64.encode() + b"\n", "size"),
        (b"log\n \n" + ROOT64.encode() + b"\n", "size"),
        ("log\n١\n".encode() + ROOT64.encode() + b"\n", "size"),  # an Arabic-Indic digit
        (b"log\n18446744073709551616\n" + ROOT64.encode() + b"\n", "size"),  # 2**64
        (b"log\nbananas\n" + ROOT64.encode() + b"\n", "size"),
        (b"log\n1\nThisIsn'tBase64\n", "root"),
        (b"log\n1\nYmFuYW5hcw==\n", "root"),  # 7 bytes, not 32
        (b"log\n1\n" + ROOT64.rstrip("=").encode() + b"\n", "root"),  # unpadded
        (b"log\n1\n" + ROOT64.encode() + b"\n\n", "extensions"),  # empty extension line
        (b"log\n1\n" + ROOT64.encode() + b"\next\r\n", "extensions"),
        (b"\xfflog\n1\n" + ROOT64.encode() + b"\n", "body"),  # not UTF-8
    ],
)
def test_parse_refuses(body: bytes, field: str) -> None:
    with pytest.raises(CheckpointError) as caught:
        parse(body)
    assert caught.value.code == "CHECKPOINT_MALFORMED"
    assert caught.value.detail["field"] == field
    assert isinstance(caught.value, PeerError)


def test_parse_refuses_a_root_with_stray_bits() -> None:
    # the last base64 digit of a 32-byte value carries 2 unused bits: flipping them must not
    # give a second spelling of the same checkpoint
    last = ROOT64[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stray = alphabet[alphabet.index(last) | 1]
    assert stray != last
    body = f"log\n1\n{ROOT64[:-2]}{stray}=\n".encode()
    with pytest.raises(CheckpointError):
        parse(body)


def test_parse_bounds() -> None:
    with pytest.raises(CheckpointError):
        parse(b"x" * (MAX_BODY_BYTES + 1))
    lines = "".join(f"e{i}\n" for i in range(MAX_EXTENSIONS + 1))
    with pytest.raises(CheckpointError) as caught:
        parse(f"log\n1\n{ROOT64}\n{lines}".encode())
    assert caught.value.detail["field"] == "extensions"
    with pytest.raises(CheckpointError):
        parse(("o" * (MAX_LINE_BYTES + 1) + f"\n1\n{ROOT64}\n").encode())
    with pytest.raises(CheckpointError):
        parse("log\n1\n")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": ""},
        {"origin": "two\nlines"},
        {"origin": "o" * (MAX_LINE_BYTES + 1)},
        {"origin": "\ud800"},
        {"size": -1},
        {"size": MAX_SIZE + 1},
        {"size": True},
        {"size": 1.0},
        {"root": b"\x00" * 31},
        {"root": "00" * 32},
        {"extensions": ["list, not tuple"]},
        {"extensions": ("",)},
        {"extensions": tuple(f"e{i}" for i in range(MAX_EXTENSIONS + 1))},
    ],
)
def test_invalid_checkpoints_cannot_be_built(kwargs: dict[str, object]) -> None:
    values: dict[str, object] = {"origin": "log", "size": 1, "root": ROOT, **kwargs}
    with pytest.raises(InputError) as caught:
        Checkpoint(**values)  # type: ignore[arg-type]
    assert caught.value.code == "CHECKPOINT_INVALID"
