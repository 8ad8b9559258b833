"""Sensor ingest (issue 5 §2): who may feed, what is taken, refusals counted and audited in batches."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from gsomia.audit.records import AuditKind
from gsomia.streaming import TrackHub, TrackIngest
from tests.conftest import make_label
from tests.unit.streaming.helpers import (
    KOR_SENSOR_FEED,
    KOR_WATCH,
    NOW,
    jpn_messages,
    kor_cluster,
    kor_messages,
    record,
)

ROUTE = "COT /tcp/8087"


def setup() -> tuple[object, TrackIngest]:
    cluster = kor_cluster()
    node = cluster.nodes["KOR"]
    return cluster, TrackIngest(node, TrackHub())


def rejects(cluster: object) -> list[tuple[str, str, str]]:
    records = cluster.audit("KOR")  # type: ignore[attr-defined]
    return [
        (r.actor, r.reasons[0], r.detail["route"]) for r in records if r.kind is AuditKind.REJECT
    ]


def test_a_sensor_feed_publishes_its_nations_current_messages_in_order() -> None:
    cluster, ingest = setup()
    node = ingest.node
    sensor = record(node, KOR_SENSOR_FEED, cluster)  # type: ignore[arg-type]
    messages = kor_messages()[:3]
    now = messages[0].time
    assert [ingest.take(sensor, m, now, ROUTE) for m in messages] == [None, None, None]
    assert ingest.take(sensor, messages[1], now, ROUTE) == "TRACK_SEQ_NOT_MONOTONIC"
    assert ingest.hub.published == 3
    stats = ingest.stats()
    assert stats["accepted"] == 3
    assert stats["refused"] == {"TRACK_SEQ_NOT_MONOTONIC": 1}


def test_every_refusal_has_its_code_and_nothing_reaches_the_hub() -> None:
    cluster, ingest = setup()
    node = ingest.node
    sensor = record(node, KOR_SENSOR_FEED, cluster)  # type: ignore[arg-type]
    reader = record(node, KOR_WATCH, cluster)  # type: ignore[arg-type]
    m = kor_messages()[0]
    now = m.time
    created = "2026-11-23T11:00:00+09:00"
    cases = {
        "NODE_FORBIDDEN": (reader, m, now),
        "TRACK_ORIGINATOR_FOREIGN": (sensor, jpn_messages()[0], now),
        "TRACK_LABEL_UNKNOWN_LEVEL": (
            sensor,
            replace(m, label=make_label(policy_id="NATO", level="NATO SECRET", created=created)),
            now,
        ),
        "TRACK_TOPIC_INVALID": (
            sensor,
            replace(m, label=make_label(topics=("NK-MISSILE", "NK-NUCLEAR"), created=created)),
            now,
        ),
        "COT_STALE": (sensor, m, m.stale + timedelta(seconds=1)),
        "COT_TIME_FUTURE": (sensor, m, m.time - timedelta(minutes=5)),
    }
    for code, (who, message, at) in cases.items():
        assert ingest.take(who, message, at, ROUTE) == code, code
    assert ingest.hub.published == 0
    assert ingest.stats()["refused"] == dict.fromkeys(sorted(cases), 1)


def test_refusals_are_audited_in_one_record_per_official_and_code_at_each_flush() -> None:
    cluster, ingest = setup()
    node = ingest.node
    sensor = record(node, KOR_SENSOR_FEED, cluster)  # type: ignore[arg-type]
    m = kor_messages()[0]
    before = len(cluster.audit("KOR"))  # type: ignore[attr-defined]
    for _ in range(500):  # a flood of bad events
        ingest.take(sensor, m, m.stale, ROUTE)
        ingest.refuse(KOR_SENSOR_FEED, ROUTE, "COT_DTD_FORBIDDEN")
    ingest.refuse(None, ROUTE, "COT_CLIENT_UNKNOWN")
    assert ingest.flush() == 3
    assert len(cluster.audit("KOR")) == before + 3  # type: ignore[attr-defined]
    assert sorted(rejects(cluster)) == sorted(
        [
            (KOR_SENSOR_FEED, "COT_STALE", ROUTE),
            (KOR_SENSOR_FEED, "COT_DTD_FORBIDDEN", ROUTE),
            ("unknown-official", "COT_CLIENT_UNKNOWN", ROUTE),
        ]
    )
    assert ingest.flush() == 0  # nothing new: nothing written
    assert ingest.stats()["refused"] == {
        "COT_CLIENT_UNKNOWN": 1,
        "COT_DTD_FORBIDDEN": 500,
        "COT_STALE": 500,
    }


def test_ingest_feeds_the_subscribers_of_the_hub() -> None:
    cluster, ingest = setup()
    node = ingest.node
    sensor = record(node, KOR_SENSOR_FEED, cluster)  # type: ignore[arg-type]
    messages = kor_messages()[:4]

    async def run() -> list[int]:
        sub = ingest.hub.subscribe()
        for m in messages:
            ingest.take(sensor, m, NOW + timedelta(seconds=30), ROUTE)
        got = []
        while (m := await sub.next(0.05)) is not None:
            got.append(m.seq)
        sub.close()
        return got

    assert asyncio.run(run()) == [m.seq for m in messages]
