"""What the streaming tests share: the three-node test cluster with track officials, messages."""

from __future__ import annotations

from dataclasses import replace

from gsomia.node import Node
from gsomia.policy import Official
from gsomia.ports import OfficialRecord, Role, token_hash
from gsomia.tracks import TrackMessage
from gsomia.tracks.simulate import JPN_SENSOR, KOR_SENSOR, Scenario, simulate
from tests.unit.node.cluster import NOW, Cluster, build

__all__ = [
    "JPN_LIAISON",
    "KOR_NO_DUTY",
    "KOR_SENSOR_FEED",
    "KOR_SO",
    "KOR_WATCH",
    "NOW",
    "kor_cluster",
    "kor_messages",
    "record",
    "token",
]

KOR_SENSOR_FEED = "kor-radar-1"  # sensor_feed only
KOR_WATCH = "kor-watch-1"  # reader, 군사II급비밀, NK-MISSILE
KOR_NO_DUTY = "kor-watch-2"  # reader, 군사II급비밀, maritime security only
JPN_LIAISON = "jpn-liaison-1"  # a JPN official in the KOR directory: Art. 7 nationality
KOR_SO = "kor-so-9"  # security officer

_SECRET = "군사II급비밀"


def token(official_id: str) -> str:
    """The test API token of an official."""
    return f"track-token-{official_id}"


def _records() -> list[OfficialRecord]:
    nk = frozenset({"NK-MISSILE"})
    return [
        OfficialRecord(
            Official(KOR_SENSOR_FEED, "KOR", _SECRET, nk, True), frozenset({Role.SENSOR_FEED})
        ),
        OfficialRecord(Official(KOR_WATCH, "KOR", _SECRET, nk, True), frozenset({Role.READER})),
        OfficialRecord(
            Official(KOR_NO_DUTY, "KOR", _SECRET, frozenset({"MARITIME-SECURITY"}), True),
            frozenset({Role.READER}),
        ),
        OfficialRecord(Official(JPN_LIAISON, "JPN", "極秘", nk, True), frozenset({Role.READER})),
        OfficialRecord(
            Official(KOR_SO, "KOR", _SECRET, nk, True), frozenset({Role.SECURITY_OFFICER})
        ),
    ]


def kor_cluster() -> Cluster:
    """The test cluster, with the track officials above in the KOR node's directory (tokens)."""
    cluster = build()
    store = cluster.stores["KOR"]
    with store.unit_of_work() as uow:
        for rec in _records():
            uow.put_official(rec)
            uow.add_token(rec.official.id, token_hash(token(rec.official.id)), created=NOW)
    return cluster


def record(node: Node, official_id: str, cluster: Cluster) -> OfficialRecord:
    """An official of ``node``'s directory."""
    with cluster.stores[node.party].read() as reader:
        found = reader.official(official_id)
    assert found is not None
    return found


def kor_messages(seed: int = 5, rate_hz: float = 1.0, **sensor: object) -> list[TrackMessage]:
    """A simulated launch at NOW as the KOR sensor alone sees it (``sensor``: Sensor fields)."""
    kor = replace(KOR_SENSOR, **sensor)  # type: ignore[arg-type]
    return list(simulate(Scenario(NOW, rate_hz=rate_hz, seed=seed, sensors=(kor,))))


def jpn_messages(seed: int = 5, **sensor: object) -> list[TrackMessage]:
    """The same launch as the JPN sensor alone sees it."""
    jpn = replace(JPN_SENSOR, **sensor)  # type: ignore[arg-type]
    return list(simulate(Scenario(NOW, rate_hz=1.0, seed=seed, sensors=(jpn,))))
