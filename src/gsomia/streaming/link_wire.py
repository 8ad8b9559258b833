"""The partner track link's wire: a signed X25519 handshake, then AES-256-GCM frames (ADR 0012).

A link is one TCP connection from the node that sends (the *dialer*) to the node that receives
(the *listener*); each side is authenticated by its node's Ed25519 signing key as its partner's
trust store holds it (``gsomia node peer add``), never by its address (issue 4 §1, issue 5 §2).

Handshake (SIGMA-style, as TLS 1.3's CertificateVerify: each side signs the transcript that
holds both fresh X25519 keys, so the keys derived from them are bound to both identities)::

    dialer   -> HELLO   "gsomia-link/1" 0x01 | dialer party | listener party | X25519 e_d | r_d
    listener -> ACCEPT  "gsomia-link/1" 0x02 | listener party | kid_l | X25519 e_l | r_l
                        | Ed25519_l(LINK ctx || "listener" 0 || SHA-256(HELLO || ACCEPT body))
    dialer   -> PROVE   "gsomia-link/1" 0x03 | kid_d
                        | Ed25519_d(LINK ctx || "dialer" 0 || SHA-256(HELLO || ACCEPT || PROVE body))

The signing context is :attr:`gsomia.envelope.signing.SigningContext.LINK` (``gsomia-link/1
handshake\\0``), so no handshake signature can serve as a token, receipt or channel request.  A
kid must name a signing key of the party the message names, valid now, in the verifier's trust
store.  Traffic keys: HKDF-SHA256 (RFC 5869) over X25519(e_d, e_l) (RFC 7748), salted with the
SHA-256 of the whole transcript, ``info`` ``gsomia-link/1 dialer->listener`` and the reverse.

Frames (both directions, handshake included): a 4-byte big-endian length, then the body.  After
the handshake a body is AES-256-GCM (NIST SP 800-38D) of ``type byte || payload`` under the
direction's key, with the 96-bit nonce = the frame's counter (0, 1, 2 …, implicit: never sent)
and the length header as associated data.  A forged, altered, replayed, dropped or reordered
frame therefore fails to authenticate and the connection is closed (``LINK_FRAME_INVALID``).

Errors are :class:`LinkError` (a :class:`~gsomia.errors.PeerError`) with these codes:
``LINK_HANDSHAKE_INVALID`` (malformed or unexpected handshake), ``LINK_PEER_UNTRUSTED`` (no
trusted signing key of that party has that kid, or not valid now), ``LINK_SIGNATURE_INVALID``,
``LINK_WRONG_PEER`` (the other side is not the party expected), ``LINK_FRAME_INVALID`` and
``LINK_FRAME_TOO_LARGE``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from gsomia.envelope import NodeKeys, TrustStore
from gsomia.envelope import _primitives as prim
from gsomia.envelope.signing import SignatureError, SigningContext, sign, verify
from gsomia.errors import PeerError

__all__ = [
    "FRAME_MAX",
    "MAGIC",
    "LinkError",
    "Session",
    "dial_handshake",
    "listen_handshake",
    "read_body",
]

MAGIC: Final = b"gsomia-link/1"
FRAME_MAX: Final = 1 << 20
_HANDSHAKE_MAX: Final = 512
_LEN: Final = struct.Struct(">I")
_HELLO, _ACCEPT, _PROVE = 1, 2, 3
_KID: Final = re.compile(rb"[0-9a-f]{16}")
_PARTY: Final = re.compile(rb"[A-Z]{3}")
_INFO_OUT: Final = b"gsomia-link/1 dialer->listener"
_INFO_IN: Final = b"gsomia-link/1 listener->dialer"
_TAG: Final = prim.AEAD_TAG_SIZE


class LinkError(PeerError):
    """A link refused: the handshake, the peer's key, or a frame (codes in the module doc)."""

    code = "LINK_HANDSHAKE_INVALID"
    status = 401
    title = "Partner link refused"


def _frame(body: bytes) -> bytes:
    return _LEN.pack(len(body)) + body


async def read_body(reader: asyncio.StreamReader, limit: int = FRAME_MAX) -> tuple[bytes, bytes]:
    """The next frame's ``(length header, body)``; ``LINK_FRAME_TOO_LARGE`` past ``limit``.

    Raises :class:`asyncio.IncompleteReadError` when the connection ends.
    """
    header = await reader.readexactly(_LEN.size)
    (size,) = _LEN.unpack(header)
    if size > limit:
        raise LinkError(f"a frame of {size} bytes is too large", code="LINK_FRAME_TOO_LARGE")
    return header, await reader.readexactly(size)


@dataclass(slots=True)
class Session:
    """An authenticated link: the peer's party and kid, and the two directions' AEAD state."""

    peer: str
    peer_kid: str
    _send_key: bytes
    _recv_key: bytes
    _sent: int = 0
    _received: int = 0
    _closed: bool = field(default=False)

    def seal(self, kind: int, payload: bytes) -> bytes:
        """The framed, encrypted bytes of one ``kind`` frame (the next counter)."""
        size = 1 + len(payload) + _TAG
        if size > FRAME_MAX:
            raise LinkError("frame too large", code="LINK_FRAME_TOO_LARGE")
        header = _LEN.pack(size)
        nonce = self._sent.to_bytes(prim.AEAD_NONCE_SIZE, "big")
        self._sent += 1
        return header + prim.aes_gcm_encrypt(
            self._send_key, nonce, bytes((kind,)) + payload, header
        )

    def open(self, header: bytes, body: bytes) -> tuple[int, bytes]:
        """``(kind, payload)`` of the next frame received; ``LINK_FRAME_INVALID`` if it does not
        authenticate as exactly the next one (forged, altered, replayed, dropped or reordered)."""
        nonce = self._received.to_bytes(prim.AEAD_NONCE_SIZE, "big")
        try:
            plain = prim.aes_gcm_decrypt(self._recv_key, nonce, body, header)
        except prim.CryptoError:
            raise LinkError(
                "a frame did not authenticate (forged, altered or replayed)",
                code="LINK_FRAME_INVALID",
            ) from None
        self._received += 1
        if not plain:
            raise LinkError("an empty frame", code="LINK_FRAME_INVALID")
        return plain[0], plain[1:]


def _party(value: str) -> bytes:
    data = value.encode("ascii")
    if not _PARTY.fullmatch(data):
        raise LinkError(f"{value!r} is not a party code", code="LINK_HANDSHAKE_INVALID")
    return data


def _signed(role: bytes, transcript: bytes) -> bytes:
    return role + b"\x00" + hashlib.sha256(transcript).digest()


def _check_peer(
    trust: TrustStore, party: str, kid: bytes, message: bytes, signature: bytes, now: datetime
) -> str:
    """Verify ``party``'s signature with its key ``kid``; the kid."""
    text = kid.decode("ascii")
    try:
        record = verify(trust, text, message, signature, now, context=SigningContext.LINK)
    except SignatureError as exc:
        code = (
            "LINK_SIGNATURE_INVALID" if exc.code == "SIGNATURE_INVALID" else "LINK_PEER_UNTRUSTED"
        )
        raise LinkError(f"{party}: {exc.message}", code=code, detail={"party": party}) from None
    if record.party != party:
        raise LinkError(
            f"key {text} is {record.party}'s, not {party}'s",
            code="LINK_PEER_UNTRUSTED",
            detail={"party": party},
        )
    return text


def _keys(secret: bytes, transcript: bytes) -> tuple[bytes, bytes]:
    salt = hashlib.sha256(transcript).digest()
    out = prim.hkdf_sha256(secret, salt=salt, info=_INFO_OUT, length=prim.AEAD_KEY_SIZE)
    back = prim.hkdf_sha256(secret, salt=salt, info=_INFO_IN, length=prim.AEAD_KEY_SIZE)
    return out, back


def _exchange(ephemeral: prim.AgreementKey, public: bytes) -> bytes:
    try:
        return ephemeral.exchange(public)
    except prim.CryptoError:
        raise LinkError("the peer's X25519 key is invalid", code="LINK_HANDSHAKE_INVALID") from None


def _expect(body: bytes, kind: int, size: int) -> bytes:
    head = MAGIC + bytes((kind,))
    if len(body) != size or not body.startswith(head):
        raise LinkError("not a gsomia-link/1 handshake message", code="LINK_HANDSHAKE_INVALID")
    return body[len(head) :]


_HELLO_SIZE: Final = len(MAGIC) + 1 + 3 + 3 + 32 + 32
_ACCEPT_SIZE: Final = len(MAGIC) + 1 + 3 + 16 + 32 + 32 + 64
_PROVE_SIZE: Final = len(MAGIC) + 1 + 16 + 64


async def dial_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    keys: NodeKeys,
    trust: TrustStore,
    peer: str,
    now: datetime,
) -> Session:
    """The dialer's side: authenticate ``peer`` (the listener) and prove ourselves."""
    ephemeral = prim.AgreementKey.generate()
    hello = (
        MAGIC
        + bytes((_HELLO,))
        + _party(keys.party)
        + _party(peer)
        + ephemeral.public_raw()
        + prim.random_bytes(32)
    )
    writer.write(_frame(hello))
    _, accept = await read_body(reader, _HANDSHAKE_MAX)
    rest = _expect(accept, _ACCEPT, _ACCEPT_SIZE)
    party, kid, public, signature = rest[:3], rest[3:19], rest[19:51], rest[-64:]
    if party != _party(peer):
        raise LinkError(f"the listener is {party!r}, not {peer}", code="LINK_WRONG_PEER")
    if not _KID.fullmatch(kid):
        raise LinkError("a kid is 16 hex digits", code="LINK_HANDSHAKE_INVALID")
    signed = hello + accept[:-64]
    peer_kid = _check_peer(trust, peer, kid, _signed(b"listener", signed), signature, now)
    secret = _exchange(ephemeral, public)
    prove_head = MAGIC + bytes((_PROVE,)) + keys.signing_kid.encode("ascii")
    transcript = hello + accept + prove_head
    _, mine = sign(keys, _signed(b"dialer", transcript), context=SigningContext.LINK)
    writer.write(_frame(prove_head + mine))
    await writer.drain()
    to_listener, to_dialer = _keys(secret, transcript)
    return Session(peer, peer_kid, to_listener, to_dialer)


async def listen_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    keys: NodeKeys,
    trust: TrustStore,
    now: datetime,
) -> Session:
    """The listener's side: prove ourselves, then authenticate the dialer by its key."""
    _, hello = await read_body(reader, _HANDSHAKE_MAX)
    rest = _expect(hello, _HELLO, _HELLO_SIZE)
    dialer, listener, public = rest[:3], rest[3:6], rest[6:38]
    if not _PARTY.fullmatch(dialer):
        raise LinkError("the dialer's party is not a party code", code="LINK_HANDSHAKE_INVALID")
    if listener != _party(keys.party):
        raise LinkError(
            f"the dialer asked for {listener!r}, this is {keys.party}", code="LINK_WRONG_PEER"
        )
    ephemeral = prim.AgreementKey.generate()
    head = (
        MAGIC
        + bytes((_ACCEPT,))
        + _party(keys.party)
        + keys.signing_kid.encode("ascii")
        + ephemeral.public_raw()
        + prim.random_bytes(32)
    )
    _, mine = sign(keys, _signed(b"listener", hello + head), context=SigningContext.LINK)
    accept = head + mine
    writer.write(_frame(accept))
    await writer.drain()
    secret = _exchange(ephemeral, public)
    _, prove = await read_body(reader, _HANDSHAKE_MAX)
    rest = _expect(prove, _PROVE, _PROVE_SIZE)
    kid, signature = rest[:16], rest[16:]
    if not _KID.fullmatch(kid):
        raise LinkError("a kid is 16 hex digits", code="LINK_HANDSHAKE_INVALID")
    party = dialer.decode("ascii")
    transcript = hello + accept + prove[:-64]
    peer_kid = _check_peer(trust, party, kid, _signed(b"dialer", transcript), signature, now)
    to_listener, to_dialer = _keys(secret, transcript)
    return Session(party, peer_kid, to_dialer, to_listener)
