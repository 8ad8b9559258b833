"""The sequenced hub of a node's workers (issue 7 §1; ADR 0013), over an in-memory sequencer.

The real sequencer is JetStream (tests/integration/test_nats_tracks.py); here a FIFO list shared
by several hubs stands for it, which is what JetStream guarantees for one connection.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.errors import TrackError
from gsomia.streaming.sequenced import SequencedHub
from gsomia.tracks import TrackMessage
from tests.unit.streaming.helpers import kor_messages

MESSAGES = kor_messages()


@dataclass
class FifoSequencer:
    """One order for every worker: what was published, in publication order."""

    log: list[TrackMessage] = field(default_factory=list)
    down: bool = False

    def publish(self, message: TrackMessage) -> concurrent.futures.Future[int]:
        if self.down:
            raise TrackError("down", code="TRACK_SEQUENCER_UNAVAILABLE")
        self.log.append(message)
        done: concurrent.futures.Future[int] = concurrent.futures.Future()
        done.set_result(len(self.log))
        return done

    def deliver_all(self, *hubs: SequencedHub, start: int = 0) -> None:
        for message in self.log[start:]:
            for hub in hubs:
                hub.deliver(message)


def seqs(hub: SequencedHub) -> list[int]:
    return [m.seq for m in hub.snapshot()]


def test_a_message_reaches_the_hubs_only_through_the_sequencer() -> None:
    sequencer = FifoSequencer()
    a, b = SequencedHub(sequencer), SequencedHub(sequencer)
    for message in MESSAGES[:4]:
        assert a.publish(message).number == 0
    assert a.published == b.published == 0  # nothing local before the sequencer's echo
    sequencer.deliver_all(a, b)
    assert seqs(a) == seqs(b) == [m.seq for m in MESSAGES[:4]]


def test_a_message_that_cannot_follow_is_refused_before_the_sequencer() -> None:
    sequencer = FifoSequencer()
    hub = SequencedHub(sequencer)
    for message in MESSAGES[:3]:
        hub.publish(message)
    with pytest.raises(TrackError) as caught:
        hub.publish(MESSAGES[1])  # a replay, not yet echoed: the worker's own cursor refuses it
    assert caught.value.code == "TRACK_SEQ_NOT_MONOTONIC"
    assert sequencer.log == MESSAGES[:3]


def test_a_track_continues_at_another_worker_after_its_sensor_moved() -> None:
    sequencer = FifoSequencer()
    a, b = SequencedHub(sequencer), SequencedHub(sequencer)
    for message in MESSAGES[:3]:
        a.publish(message)
    sequencer.deliver_all(a, b)
    with pytest.raises(TrackError):
        b.publish(MESSAGES[2])  # B's cursor comes from what its hub delivered
    b.publish(MESSAGES[3])
    sequencer.deliver_all(a, b, start=3)
    assert seqs(a) == seqs(b) == [m.seq for m in MESSAGES[:4]]


def test_a_repeat_from_the_sequencer_is_refused_by_every_hub_alike() -> None:
    sequencer = FifoSequencer()
    a, b = SequencedHub(sequencer), SequencedHub(sequencer)
    for message in MESSAGES[:3]:
        a.publish(message)
    sequencer.log.append(MESSAGES[1])  # a redelivery, or a second sensor on the same track
    sequencer.deliver_all(a, b)
    assert seqs(a) == seqs(b) == [m.seq for m in MESSAGES[:3]]
    assert a.refused == b.refused == 1


def test_nothing_is_taken_when_the_sequencer_is_down() -> None:
    sequencer = FifoSequencer(down=True)
    hub = SequencedHub(sequencer)
    with pytest.raises(TrackError) as caught:
        hub.publish(MESSAGES[0])
    assert caught.value.code == "TRACK_SEQUENCER_UNAVAILABLE"
    sequencer.down = False
    hub.publish(MESSAGES[0])  # the cursor did not move: the first message is still taken
    assert sequencer.log == [MESSAGES[0]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, len(MESSAGES) - 1), st.booleans()),
        min_size=1,
        max_size=40,
    )
)
def test_any_interleaving_of_workers_gives_every_hub_the_same_ordered_stream(
    steps: list[tuple[int, int, bool]],
) -> None:
    """Sensors feeding any worker any message, in any order, the stream's echo early or late:
    every hub ends with the same messages, sequence numbers strictly increasing, no repeat."""
    sequencer = FifoSequencer()
    hubs = [SequencedHub(sequencer) for _ in range(3)]
    echoed = 0
    for worker, index, echo in [*steps, (0, 0, True)]:
        with contextlib.suppress(TrackError):  # refused: not sequenced
            hubs[worker].publish(MESSAGES[index])
        if echo:  # the stream's echo, in its one order
            sequencer.deliver_all(*hubs, start=echoed)
            echoed = len(sequencer.log)
    first = seqs(hubs[0])
    assert all(seqs(h) == first for h in hubs)
    assert first == sorted(set(first))
