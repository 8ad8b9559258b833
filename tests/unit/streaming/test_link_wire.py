"""The partner link's wire over real loopback sockets: the signed handshake authenticates both
nodes by their keys in the trust store, and every frame is AES-GCM under a counter, so a forged,
altered or replayed frame is refused (ADR 0012)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.envelope import NodeKeys, PublicKeyRecord, TrustStore
from gsomia.streaming.link_wire import (
    LinkError,
    Session,
    dial_handshake,
    listen_handshake,
    read_body,
)
from tests.unit.node.cluster import NOW

KEYS = {p: NodeKeys.generate(p, NOW - timedelta(days=1)) for p in ("KOR", "JPN", "USA")}


def trusting(*parties: str) -> TrustStore:
    store = TrustStore()
    for party in parties:
        store = store.add_bundle(KEYS[party].public_bundle())
    return store


async def pair(
    dialer: NodeKeys,
    dialer_trust: TrustStore,
    listener: NodeKeys,
    listener_trust: TrustStore,
    *,
    peer: str | None = None,
) -> tuple[Session | BaseException, Session | BaseException, asyncio.StreamReader,
           asyncio.StreamWriter, list[asyncio.StreamWriter]]:  # fmt: skip
    """Handshake a dialer with a listener over loopback; each side's session or error."""
    done: asyncio.Future[Session | BaseException] = asyncio.get_running_loop().create_future()
    kept: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        kept.append(writer)
        try:
            done.set_result(await listen_handshake(reader, writer, listener, listener_trust, NOW))
        except Exception as exc:
            done.set_result(exc)
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        mine: Session | BaseException = await dial_handshake(
            reader, writer, dialer, dialer_trust, peer or listener.party, NOW
        )
    except Exception as exc:
        mine = exc
        writer.close()  # the dialer hangs up: the listener sees the end
    theirs = await asyncio.wait_for(done, 5)
    server.close()
    return mine, theirs, reader, writer, kept


def test_both_nodes_authenticate_and_frames_flow_both_ways() -> None:
    async def run() -> None:
        mine, theirs, _reader, writer, _kept = await pair(
            KEYS["KOR"], trusting("JPN"), KEYS["JPN"], trusting("KOR")
        )
        writer.close()
        assert isinstance(mine, Session)
        assert isinstance(theirs, Session)
        assert (mine.peer, theirs.peer) == ("JPN", "KOR")
        assert mine.peer_kid == KEYS["JPN"].signing_kid
        assert theirs.peer_kid == KEYS["KOR"].signing_kid
        for size in (0, 1, 1000):
            frame = mine.seal(1, b"x" * size)
            assert theirs.open(frame[:4], frame[4:]) == (1, b"x" * size)
        back = theirs.seal(7, b"reply")
        assert mine.open(back[:4], back[4:]) == (7, b"reply")

    asyncio.run(run())


def _sessions() -> tuple[Session, Session]:
    async def run() -> tuple[Session, Session]:
        mine, theirs, _r, writer, _k = await pair(
            KEYS["KOR"], trusting("JPN"), KEYS["JPN"], trusting("KOR")
        )
        writer.close()
        assert isinstance(mine, Session)
        assert isinstance(theirs, Session)
        return mine, theirs

    return asyncio.run(run())


def test_a_replayed_frame_is_refused() -> None:
    mine, theirs = _sessions()
    frame = mine.seal(1, b"track")
    assert theirs.open(frame[:4], frame[4:]) == (1, b"track")
    with pytest.raises(LinkError) as caught:
        theirs.open(frame[:4], frame[4:])
    assert caught.value.code == "LINK_FRAME_INVALID"


def test_a_dropped_or_reordered_frame_is_refused() -> None:
    mine, theirs = _sessions()
    mine.seal(1, b"lost on the way")
    frame = mine.seal(1, b"next")
    with pytest.raises(LinkError) as caught:
        theirs.open(frame[:4], frame[4:])
    assert caught.value.code == "LINK_FRAME_INVALID"


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_any_altered_byte_makes_the_frame_fail(data: st.DataObject) -> None:
    mine, theirs = SESSIONS
    # each example uses fresh counters: seal on a copy of the state
    sender = Session(mine.peer, mine.peer_kid, mine._send_key, mine._recv_key)
    receiver = Session(theirs.peer, theirs.peer_kid, theirs._send_key, theirs._recv_key)
    frame = bytearray(sender.seal(1, b"KOR track 1 seq 7"))
    index = data.draw(st.integers(0, len(frame) - 1))
    frame[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises(LinkError):
        receiver.open(bytes(frame[:4]), bytes(frame[4:]))


def test_an_unaltered_frame_opens_with_a_fresh_pair() -> None:
    mine, theirs = SESSIONS
    sender = Session(mine.peer, mine.peer_kid, mine._send_key, mine._recv_key)
    receiver = Session(theirs.peer, theirs.peer_kid, theirs._send_key, theirs._recv_key)
    frame = sender.seal(1, b"KOR track 1 seq 7")
    assert receiver.open(frame[:4], frame[4:]) == (1, b"KOR track 1 seq 7")


SESSIONS = _sessions()


def test_a_dialer_whose_key_is_not_trusted_is_refused() -> None:
    intruder = NodeKeys.generate("KOR", NOW - timedelta(days=1))  # claims KOR, unknown key

    async def run() -> None:
        _mine, theirs, _r, writer, _k = await pair(
            intruder, trusting("JPN"), KEYS["JPN"], trusting("KOR")
        )
        writer.close()
        assert isinstance(theirs, LinkError)
        assert theirs.code == "LINK_PEER_UNTRUSTED"

    asyncio.run(run())


def test_a_key_of_another_party_does_not_vouch_for_a_claimed_party() -> None:
    intruder = NodeKeys.generate("KOR", NOW - timedelta(days=1))
    sig = intruder.current.sig
    as_usa = PublicKeyRecord("USA", "sig", sig.public, sig.valid_from)  # JPN knows it as USA's

    async def run() -> None:
        _mine, theirs, _r, writer, _k = await pair(
            intruder, trusting("JPN"), KEYS["JPN"], trusting("KOR").add(as_usa)
        )
        writer.close()
        assert isinstance(theirs, LinkError)
        assert theirs.code == "LINK_PEER_UNTRUSTED"  # a USA key cannot speak for KOR

    asyncio.run(run())


def test_a_listener_that_is_not_the_partner_dialed_is_refused() -> None:
    async def run() -> None:
        mine, theirs, _r, writer, _k = await pair(
            KEYS["KOR"], trusting("JPN", "USA"), KEYS["USA"], trusting("KOR"), peer="JPN"
        )
        writer.close()
        assert isinstance(theirs, LinkError)
        assert theirs.code == "LINK_WRONG_PEER"  # the USA node was asked for JPN
        assert not isinstance(mine, Session)

    asyncio.run(run())


def test_a_listener_whose_key_the_dialer_does_not_trust_is_refused() -> None:
    async def run() -> None:
        mine, _theirs, _r, writer, _k = await pair(
            KEYS["KOR"], trusting("USA"), KEYS["JPN"], trusting("KOR")
        )
        writer.close()
        assert isinstance(mine, LinkError)
        assert mine.code == "LINK_PEER_UNTRUSTED"

    asyncio.run(run())


def test_garbage_instead_of_a_handshake_is_refused() -> None:
    async def run() -> None:
        done: asyncio.Future[BaseException | Session] = asyncio.get_running_loop().create_future()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                done.set_result(await listen_handshake(reader, writer, KEYS["JPN"],
                                                       trusting("KOR"), NOW))  # fmt: skip
            except Exception as exc:
                done.set_result(exc)
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        _reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1]
        )
        writer.write(b"\x00\x00\x00\x10GET / HTTP/1.1\r\n")
        outcome = await asyncio.wait_for(done, 5)
        writer.close()
        server.close()
        assert isinstance(outcome, LinkError)
        assert outcome.code == "LINK_HANDSHAKE_INVALID"

    asyncio.run(run())


def test_a_frame_announcing_more_than_the_limit_is_refused_before_reading_it() -> None:
    async def run() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data((10 << 20).to_bytes(4, "big"))
        with pytest.raises(LinkError) as caught:
            await read_body(reader)
        assert caught.value.code == "LINK_FRAME_TOO_LARGE"

    asyncio.run(run())
