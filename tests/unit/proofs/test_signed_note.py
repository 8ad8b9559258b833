"""gsomia.proofs.signed_note: the C2SP signed-note format, with known answers from Go."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from gsomia.envelope.keys import NodeKeys
from gsomia.errors import InputError, PeerError
from gsomia.proofs.signed_note import (
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    SIG_COSIGNATURE_V1,
    SIG_ED25519,
    NoteError,
    NoteKeyError,
    NoteVerifier,
    ParsedNote,
    SignatureLine,
    cosignature_line,
    cosignature_time,
    key_id,
    open_note,
    parse_note,
    sign_note,
    valid_key_name,
    with_signature,
)
from tests.unit.proofs.conftest import NOW, T0, VECTORS, keys_from_seed

V = VECTORS["signed_note"]
TEXT = V["text"].encode()
SIGNED = V["signed"].encode()
PETER = NoteVerifier.from_vkey(V["verifier_keys"]["PeterNeumann"])
ENOCH = NoteVerifier.from_vkey(V["verifier_keys"]["EnochRoot"])
DASH = "\u2014 "


def codes(data: bytes, verifiers: list[NoteVerifier]) -> str:
    with pytest.raises(NoteError) as caught:
        open_note(data, verifiers)
    return caught.value.code


# -- known answers ---------------------------------------------------------------------------


def test_known_answer_sign_reproduces_go_byte_for_byte() -> None:
    keys = keys_from_seed("USA", V["signer_key"])
    assert sign_note(TEXT, keys, "PeterNeumann") == SIGNED


def test_known_answer_key_id_and_vkey() -> None:
    assert PETER.key_id.hex() == "c74f20a3"
    assert PETER.vkey() == V["verifier_keys"]["PeterNeumann"]
    assert key_id("PeterNeumann", SIG_ED25519, PETER.public) == bytes.fromhex("c74f20a3")
    keys = keys_from_seed("USA", V["signer_key"])
    assert keys.current.sig.public == PETER.public


def test_known_answer_open_with_one_known_and_one_unknown_signature() -> None:
    note = SIGNED + V["enoch_line"].encode()
    opened = open_note(note, [PETER])
    assert opened.text == TEXT
    assert [(s.name, s.key_id.hex()) for s in opened.verified] == [("PeterNeumann", "c74f20a3")]
    assert [(line.name, line.key_id.hex()) for line in opened.unverified] == [
        ("EnochRoot", "af0cfe78")
    ]
    both = open_note(note, [PETER, ENOCH])
    assert [s.name for s in both.verified] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified == ()


def test_known_answer_no_known_key_is_unverified() -> None:
    assert codes(SIGNED + V["enoch_line"].encode(), []) == "NOTE_UNVERIFIED"


def test_known_answer_altered_signature_is_refused() -> None:
    line = V["signed"].split("\n\n")[1]
    bad = V["signed"].split("\n\n")[0] + "\n\n" + line[:60] + "ABCD" + line[60:]
    assert codes(bad.encode(), [PETER]) == "NOTE_SIGNATURE_INVALID"


def test_known_answer_duplicate_lines_are_reported_once() -> None:
    note = SIGNED + SIGNED.split(b"\n\n")[1] + V["enoch_line"].encode() * 2
    opened = open_note(note, [PETER])
    assert len(opened.verified) == 1
    assert len(opened.unverified) == 1


def test_cosignature_timestamp_known_answer() -> None:
    raw = base64.b64decode(VECTORS["cosignature_timestamp"]["signature_base64"])
    line = SignatureLine("witness", raw[:4], raw[4:])
    assert cosignature_time(line) == VECTORS["cosignature_timestamp"]["timestamp"]
    plain = base64.b64decode(VECTORS["cosignature_timestamp"]["not_a_cosignature_base64"])
    assert cosignature_time(SignatureLine("log", plain[:4], plain[4:])) is None


# -- syntax ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "note",
    [
        TEXT,  # no signatures
        TEXT + b"\n",  # blank line, no signatures
        SIGNED[:-1],  # last line without newline
        b"\x01" + SIGNED,  # control character
        b"\xff" + SIGNED,  # not UTF-8
        TEXT
        + b"\n"
        + f"{DASH}Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=".encode(),
        SIGNED + b"Unexpected line.\n",
        TEXT + b"\n" + f"{DASH}Peter+Neumann AAAAAAA=\n".encode(),  # '+' in a name
        TEXT + b"\n" + f"{DASH}Peter\u00a0Neumann AAAAAAA=\n".encode(),  # a Unicode space
        TEXT + b"\n" + f"{DASH} AAAAAAA=\n".encode(),  # empty name
        TEXT + b"\n" + f"{DASH}PeterNeumann\n".encode(),  # no signature
        TEXT + b"\n" + f"{DASH}PeterNeumann AAAA\n".encode(),  # fewer than five bytes
        TEXT + b"\n" + f"{DASH}PeterNeumann AAAAAAA\n".encode(),  # unpadded
        TEXT + b"\n" + f"{DASH}PeterNeumann AAAAAAB=\n".encode(),  # stray bits
        TEXT + b"\n" + f"{DASH}PeterNeumann AAAA AAA=\n".encode(),  # a space inside
        TEXT + b"\n" + b"- PeterNeumann AAAAAAA=\n",  # hyphen, not em dash
        TEXT + b"\n" + f"{DASH}PeterNeumann AAAAAAA=\r\n".encode(),
    ],
)
def test_malformed_notes(note: bytes) -> None:
    assert codes(note, [PETER]) == "NOTE_MALFORMED"


def test_the_text_ends_at_the_last_blank_line() -> None:
    keys = keys_from_seed("USA", V["signer_key"])
    text = b"first\n\nsecond paragraph\n\n"
    note = sign_note(text, keys, "PeterNeumann")
    opened = open_note(note, [PETER])
    assert opened.text == text


def test_too_many_signatures_and_too_large() -> None:
    line = SIGNED.split(b"\n\n")[1]
    assert codes(TEXT + b"\n" + line * (MAX_SIGNATURES + 1), [PETER]) == "NOTE_MALFORMED"
    assert open_note(TEXT + b"\n" + line * MAX_SIGNATURES, [PETER]).text == TEXT
    assert codes(b"x" * (MAX_NOTE_BYTES + 1), [PETER]) == "NOTE_TOO_LARGE"
    assert codes("text\n\n— a b\n", [PETER]) == "NOTE_MALFORMED"  # type: ignore[arg-type]


def test_parse_note_returns_lines_in_order() -> None:
    parsed = parse_note(SIGNED + V["enoch_line"].encode())
    assert [line.name for line in parsed.lines] == ["PeterNeumann", "EnochRoot"]
    assert parsed.lines[1].encode() == V["enoch_line"].encode()


# -- verifiers ------------------------------------------------------------------------------


def test_unknown_keys_sharing_a_name_or_an_id_are_ignored(kor: NodeKeys) -> None:
    # C2SP: "Verifiers MUST ignore signatures from unknown keys, even if they share a name or
    # ID (but not both) with a known key."
    other = NoteVerifier("PeterNeumann", kor.current.sig.public)
    assert other.key_id != PETER.key_id
    opened = open_note(SIGNED, [PETER, other])
    assert len(opened.verified) == 1
    assert codes(SIGNED, [other]) == "NOTE_UNVERIFIED"


def test_a_known_key_whose_signature_fails_rejects_the_note(kor: NodeKeys) -> None:
    keys = keys_from_seed("USA", V["signer_key"])
    note = sign_note(TEXT, keys, "PeterNeumann") + sign_note(TEXT, kor, "kor").split(b"\n\n")[1]
    kor_verifier = NoteVerifier("kor", kor.current.sig.public)
    assert len(open_note(note, [PETER, kor_verifier]).verified) == 2
    tampered = note.replace(b"then you", b"than you")
    assert codes(tampered, [PETER]) == "NOTE_SIGNATURE_INVALID"


def test_a_key_with_the_right_id_but_wrong_signature_length() -> None:
    line = SignatureLine("PeterNeumann", PETER.key_id, b"\x00" * 10)
    assert codes(TEXT + b"\n" + line.encode(), [PETER]) == "NOTE_SIGNATURE_INVALID"


def test_ambiguous_verifiers_are_refused(kor: NodeKeys) -> None:
    same = NoteVerifier.from_vkey(V["verifier_keys"]["PeterNeumann"])
    open_note(SIGNED, [PETER, same])  # identical duplicates are fine
    clash = NoteVerifier("PeterNeumann", PETER.public, valid_from=T0)
    with pytest.raises(NoteKeyError) as caught:
        open_note(SIGNED, [PETER, clash])
    assert caught.value.code == "NOTE_VERIFIERS_AMBIGUOUS"
    with pytest.raises(NoteKeyError):
        open_note(SIGNED, ["PeterNeumann"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong ID
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # truncated
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown type
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "",
    ],
)
def test_malformed_verifier_keys(vkey: str) -> None:
    with pytest.raises(NoteKeyError) as caught:
        NoteVerifier.from_vkey(vkey)
    assert caught.value.code == "NOTE_KEY_INVALID"


def test_verifier_from_record_and_round_trip(kor: NodeKeys) -> None:
    verifier = NoteVerifier.from_record("gsomia.kor/audit", kor.current.sig)
    assert NoteVerifier.from_vkey(verifier.vkey()).public == verifier.public
    assert verifier.valid_from == kor.current.sig.valid_from
    with pytest.raises(NoteKeyError):
        NoteVerifier.from_record("kor", kor.current.enc)
    with pytest.raises(NoteKeyError):
        NoteVerifier("kor", kor.current.sig.public, sig_type=0x02)
    with pytest.raises(NoteKeyError):
        NoteVerifier("kor", b"\x00" * 31)
    with pytest.raises(NoteKeyError):
        NoteVerifier("kor", kor.current.sig.public, valid_from=NOW.replace(tzinfo=None))


def test_valid_key_names() -> None:
    assert valid_key_name("example.com/log42")
    assert valid_key_name("감사/로그")
    for bad in ("", "a b", "a+b", "a\u3000b", "a\nb", "a\tb", 5):
        assert not valid_key_name(bad)


# -- signing --------------------------------------------------------------------------------


def test_sign_note_refuses_bad_inputs(kor: NodeKeys) -> None:
    for text in (b"no newline", b"tab\there\n", "str\n", b"\xff\n"):
        with pytest.raises(NoteKeyError):
            sign_note(text, kor, "kor")  # type: ignore[arg-type]
    with pytest.raises(NoteKeyError):
        sign_note(b"text\n", kor, "bad name")
    with pytest.raises(InputError):
        sign_note(b"cosignature/v1\ntime 5\n", kor, "kor")  # domain separation


def test_with_signature_replaces_the_same_key_and_keeps_others(kor: NodeKeys) -> None:
    note = parse_note(SIGNED + V["enoch_line"].encode())
    new = SignatureLine("PeterNeumann", PETER.key_id, b"\x01" * 64)
    out = parse_note(with_signature(note, new))
    assert [line.name for line in out.lines] == ["EnochRoot", "PeterNeumann"]
    assert out.lines[1] == new
    full = ParsedNote(TEXT, tuple(SignatureLine(f"k{i}", b"abcd", b"x") for i in range(100)))
    with pytest.raises(NoteKeyError):
        with_signature(full, new)


def test_cosignature_line_verifies_as_type_0x04(kor: NodeKeys) -> None:
    line = cosignature_line(TEXT, kor, "witness.kor", NOW)
    assert cosignature_time(line) == int(NOW.timestamp())
    note = SIGNED + line.encode()
    witness = NoteVerifier.from_record("witness.kor", kor.current.sig, sig_type=SIG_COSIGNATURE_V1)
    opened = open_note(note, [witness])
    assert opened.verified[0].sig_type == SIG_COSIGNATURE_V1
    assert opened.verified[0].timestamp == NOW.replace(microsecond=0)
    # the same key as a plain (0x01) verifier has another key ID: the line is unknown to it
    plain = NoteVerifier.from_record("witness.kor", kor.current.sig)
    assert codes(note, [plain]) == "NOTE_UNVERIFIED"


def test_cosignature_outside_the_keys_validity(kor: NodeKeys, rotated: NodeKeys) -> None:
    retired = rotated.generations[0].sig
    witness = NoteVerifier.from_record("w", retired, sig_type=SIG_COSIGNATURE_V1)
    after = retired.retired_at
    assert after is not None
    line = cosignature_line(TEXT, kor, "w", after + timedelta(days=1))
    assert codes(SIGNED + line.encode(), [witness]) == "NOTE_KEY_NOT_VALID"
    inside = cosignature_line(TEXT, kor, "w", after - timedelta(days=1))
    assert open_note(SIGNED + inside.encode(), [witness]).verified


def test_cosignature_line_refuses_bad_calls(kor: NodeKeys, rotated: NodeKeys) -> None:
    with pytest.raises(NoteKeyError):
        cosignature_line(TEXT, kor, "w", NOW.replace(tzinfo=None))
    with pytest.raises(NoteKeyError):
        cosignature_line(TEXT, kor, "w", T0 - timedelta(days=1))  # before the key is valid
    with pytest.raises(NoteKeyError):
        cosignature_line(TEXT, "keys", "w", NOW)  # type: ignore[arg-type]


def test_a_cosignature_with_a_timestamp_beyond_2_63_is_refused(kor: NodeKeys) -> None:
    witness = NoteVerifier("w", kor.current.sig.public, SIG_COSIGNATURE_V1)
    line = SignatureLine("w", witness.key_id, b"\xff" * 8 + b"\x00" * 64)
    assert codes(SIGNED + line.encode(), [witness]) == "NOTE_SIGNATURE_INVALID"
    assert cosignature_time(line) is None


def test_errors_belong_to_the_tree() -> None:
    assert issubclass(NoteError, PeerError)
    assert issubclass(NoteKeyError, InputError)
