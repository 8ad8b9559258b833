"""``POST /v1/tracks``: JSON ingest by a sensor_feed official, batches, refusals audited (issue 5)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from starlette.websockets import WebSocketDisconnect

from gsomia.api import create_app
from gsomia.api.routes.tracks import MAX_FRAME
from gsomia.audit.records import AuditKind
from gsomia.streaming import TrackHub, TrackIngest
from gsomia.tracks.json_codec import to_dict
from tests.unit.api.helpers import ProblemClient
from tests.unit.streaming.helpers import (
    KOR_SENSOR_FEED,
    KOR_SO,
    KOR_WATCH,
    kor_cluster,
    kor_messages,
    token,
)


def bearer(official: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(official)}"}


def setup() -> tuple[object, ProblemClient, TrackIngest]:
    cluster = kor_cluster()
    node = cluster.nodes["KOR"]
    ingest = TrackIngest(node, TrackHub())
    cluster.clock.set(kor_messages()[0].time)
    return cluster, ProblemClient(create_app(node, tracks=ingest)), ingest


def test_a_sensor_posts_a_batch_and_each_message_is_taken_in_order() -> None:
    cluster, client, ingest = setup()
    messages = kor_messages()[:5]
    body = [to_dict(m) for m in messages]
    body.insert(2, {"track": "x"})  # malformed: refused on its own
    body.append(to_dict(messages[1]))  # out of order
    answer = client.post("/v1/tracks", json={"messages": body}, headers=bearer(KOR_SENSOR_FEED))
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["accepted"] == 5
    assert out["refused"] == 2
    codes = [r["code"] for r in out["results"]]
    assert codes[2] == "TRACK_JSON_FIELD_MISSING"
    assert codes[-1] == "TRACK_SEQ_NOT_MONOTONIC"
    assert [m.seq for m in ingest.hub.snapshot()] == [m.seq for m in messages]
    rejects = [r for r in cluster.audit("KOR") if r.kind is AuditKind.REJECT]  # type: ignore[attr-defined]
    assert {r.reasons[0] for r in rejects} == {
        "TRACK_JSON_FIELD_MISSING",
        "TRACK_SEQ_NOT_MONOTONIC",
    }
    assert {r.detail["route"] for r in rejects} == {"POST /v1/tracks"}


def test_only_a_sensor_feed_may_post_tracks_and_a_refusal_is_audited() -> None:
    cluster, client, ingest = setup()
    body = {"messages": [to_dict(kor_messages()[0])]}
    answer = client.post("/v1/tracks", json=body, headers=bearer(KOR_WATCH))
    assert answer.status_code == 403
    assert answer.json()["code"] == "NODE_FORBIDDEN"
    assert ingest.hub.published == 0
    last = cluster.audit("KOR")[-1]  # type: ignore[attr-defined]
    assert (last.kind, last.actor, last.reasons) == (
        AuditKind.REJECT,
        KOR_WATCH,
        ("NODE_FORBIDDEN",),
    )
    assert client.post("/v1/tracks", json=body).status_code == 401


def test_a_batch_is_bounded_and_strict() -> None:
    _, client, _ = setup()
    headers = bearer(KOR_SENSOR_FEED)
    assert client.post("/v1/tracks", json={"messages": []}, headers=headers).status_code == 422
    assert (
        client.post("/v1/tracks", json={"messages": [{}], "x": 1}, headers=headers).status_code
        == 422
    )
    too_many = {"messages": [{"track": "x"}] * 501}
    assert client.post("/v1/tracks", json=too_many, headers=headers).status_code == 422


def test_stale_and_future_messages_are_refused_with_their_codes() -> None:
    cluster, client, _ = setup()
    messages = kor_messages()
    headers = bearer(KOR_SENSOR_FEED)
    late = next(m for m in messages if m.time > messages[0].time + timedelta(minutes=2))
    answer = client.post("/v1/tracks", json={"messages": [to_dict(late)]}, headers=headers)
    assert [r["code"] for r in answer.json()["results"]] == ["COT_TIME_FUTURE"]
    cluster.clock.set(messages[0].stale + timedelta(seconds=1))  # type: ignore[attr-defined]
    answer = client.post("/v1/tracks", json={"messages": [to_dict(messages[0])]}, headers=headers)
    assert [r["code"] for r in answer.json()["results"]] == ["COT_STALE"]


def test_security_officers_read_the_counters() -> None:
    _, client, _ = setup()
    client.post(
        "/v1/tracks",
        json={"messages": [to_dict(kor_messages()[0]), {"track": "x"}]},
        headers=bearer(KOR_SENSOR_FEED),
    )
    stats = client.get("/v1/tracks/stats", headers=bearer(KOR_SO)).json()
    assert stats["accepted"] == 1
    assert stats["refused"] == {"TRACK_JSON_FIELD_MISSING": 1}
    assert stats["published"] == 1
    assert client.get("/v1/tracks/stats", headers=bearer(KOR_WATCH)).status_code == 403


def test_json_ingest_reaches_the_live_stream_of_an_entitled_reader() -> None:
    _, client, ingest = setup()
    messages = kor_messages()[:3]
    client.post(
        "/v1/tracks",
        json={"messages": [to_dict(m) for m in messages]},
        headers=bearer(KOR_SENSOR_FEED),
    )
    assert len(ingest.hub.snapshot()) == 3
    with client.stream("GET", "/v1/tracks/events", headers=bearer(KOR_WATCH)) as events:
        lines = []
        for line in events.iter_lines():
            lines.append(line)
            if sum(1 for x in lines if x == "event: track") == 3:
                break
    assert sum(1 for x in lines if x == "event: track") == 3


def test_the_websocket_takes_frames_and_closes_on_a_bad_token_or_an_oversized_frame() -> None:
    """``WS /v1/tracks/ws``: a frame answered like the POST; a bad token and a frame over
    MAX_FRAME each close the socket with their code, counted and audited."""
    cluster, client, ingest = setup()
    messages = kor_messages()[:2]
    with client.websocket_connect("/v1/tracks/ws", headers=bearer(KOR_SENSOR_FEED)) as ws:
        ws.send_text(json.dumps({"messages": [to_dict(m) for m in messages]}))
        assert ws.receive_json()["accepted"] == 2
        ws.send_text(" " * (MAX_FRAME + 1))
        closed = ws.receive()
    assert (closed["type"], closed["code"], closed["reason"]) == (
        "websocket.close",
        1009,
        "TRACK_FRAME_TOO_LARGE",
    )
    assert [m.seq for m in ingest.hub.snapshot()] == [m.seq for m in messages]
    rejects = [r for r in cluster.audit("KOR") if r.kind is AuditKind.REJECT]  # type: ignore[attr-defined]
    assert rejects[-1].reasons == ("TRACK_FRAME_TOO_LARGE",)
    assert rejects[-1].detail["route"] == "WEBSOCKET /v1/tracks/ws"
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/v1/tracks/ws", headers={"Authorization": "Bearer x"}),
    ):
        pass
    assert refused.value.code == 1008
    assert ingest.hub.published == 2


def test_an_api_worker_refuses_tracks_and_serves_no_dashboard() -> None:
    """ADR 0021: a worker process's API has no hub; tracks go to the node's main API."""
    cluster = kor_cluster()
    client = ProblemClient(create_app(cluster.nodes["KOR"], worker=True))
    body = {"messages": [to_dict(m) for m in kor_messages()[:1]]}
    answer = client.post("/v1/tracks", json=body, headers=bearer(KOR_SENSOR_FEED))
    assert (answer.status_code, answer.json()["code"]) == (503, "NODE_API_WORKER")
    stats = client.get("/v1/tracks/stats", headers=bearer(KOR_SO))
    assert (stats.status_code, stats.json()["code"]) == (503, "NODE_API_WORKER")
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/v1/tracks/ws", headers=bearer(KOR_SENSOR_FEED)),
    ):
        pass
    assert (closed.value.code, closed.value.reason) == (1013, "NODE_API_WORKER")
    assert client.get("/web/").status_code == 404
    assert client.get("/v1/health").status_code == 200  # the rest of the API is served
