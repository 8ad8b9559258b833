"""``[nats] tracks`` and ``GSOMIA_NATS_TRACKS``: which hub a serving worker gets (ADR 0013)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gsomia.adapters.nats_tracks import (
    NatsTrackStream,
    track_msg_id,
    track_subject,
    tracks_filter,
    tracks_stream,
)
from gsomia.errors import InputError, TrackError
from gsomia.runtime.channels import (
    NatsSettings,
    apply_environment,
    open_track_stream,
    parse_nats,
)
from gsomia.runtime.config import NodeConfig
from gsomia.tracks.cot import event_uid
from tests.unit.streaming.helpers import kor_messages

NATS = {"servers": ["nats://127.0.0.1:4222"], "user": "kor-node"}


def nats_config(**nats: object) -> NodeConfig:
    return NodeConfig("KOR", transport="nats", nats=parse_nats({**NATS, **nats}, "node.toml"))


def test_tracks_are_on_jetstream_by_default_with_the_nats_channel() -> None:
    stream = open_track_stream(nats_config())
    assert isinstance(stream, NatsTrackStream)
    assert stream.stream == "GSOMIA_TRACKS_KOR"
    assert "tracks" not in "".join(nats_config().nats.to_toml())  # the default is not written


def test_no_track_stream_on_http_or_when_turned_off() -> None:
    assert open_track_stream(NodeConfig("KOR")) is None
    off = nats_config(tracks=False)
    assert open_track_stream(off) is None
    assert "tracks = false" in off.nats.to_toml()
    assert parse_nats(dict.fromkeys(["tracks"], False) | NATS, "x").tracks is False


@pytest.mark.parametrize("value", ["yes", "", "2"])
def test_a_bad_tracks_setting_is_refused(value: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_nats({**NATS, "tracks": value}, "node.toml")
    assert caught.value.code == "CONFIG_INVALID"
    with pytest.raises(InputError) as caught:
        apply_environment(nats_config(), {"GSOMIA_NATS_TRACKS": value})
    assert caught.value.code == "CONFIG_INVALID"


def test_the_environment_turns_it_off_and_on() -> None:
    off = apply_environment(nats_config(), {"GSOMIA_NATS_TRACKS": "false"})
    assert off.nats.tracks is False
    on = apply_environment(replace(off, nats=replace(off.nats, tracks=False)),
                           {"GSOMIA_NATS_TRACKS": "1"})  # fmt: skip
    assert on.nats.tracks is True
    assert NatsSettings().tracks is True


def test_subjects_hold_one_symbol_each_and_ids_name_the_message() -> None:
    messages = kor_messages()
    subjects = {track_subject("KOR", m) for m in messages}
    assert len(subjects) == len({event_uid(m) for m in messages})
    for m in messages:
        subject = track_subject("JPN", m)  # a KOR track at JPN (a partner link took it)
        assert subject.startswith("gsomia.tracks.JPN.KOR.")
        assert len(subject.split(".")) == 5  # no dot, space or wildcard from the uid
        assert track_msg_id(m) == f"KOR:{m.track_id}:{m.seq}"
    assert tracks_filter("KOR") == "gsomia.tracks.KOR.>"
    with pytest.raises(InputError):
        tracks_stream("kor")


def test_a_stream_that_is_not_running_takes_nothing() -> None:
    stream = NatsTrackStream("KOR", servers=["nats://127.0.0.1:4222"])
    with pytest.raises(TrackError) as caught:
        stream.publish(kor_messages()[0])
    assert caught.value.code == "TRACK_SEQUENCER_UNAVAILABLE"
