"""The channel of an API worker process (or of a node being set up) talks to no partner."""

from __future__ import annotations

import pytest

from gsomia.ports import ChannelError
from gsomia.runtime.channels import OfflineChannel


def test_a_worker_channel_sends_nothing_and_receives_nothing() -> None:
    channel = OfflineChannel("KOR", "an API worker does not talk to partners")
    assert channel.party == "KOR"
    with pytest.raises(ChannelError) as err:  # as from a partner that is down: stays queued
        channel.send("JPN", b"frame", idempotency_key="k")
    assert err.value.code == "CHANNEL_UNAVAILABLE"
    assert "API worker" in err.value.message
    assert channel.receive(limit=10, timeout=0.0) == []
    assert channel.refusals() == []
    channel.close()
