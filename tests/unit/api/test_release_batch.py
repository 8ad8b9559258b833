"""``POST /v1/items/batch``: up to 500 releases in one call and one commit, a result per item."""

from __future__ import annotations

import pytest
import starlette.requests

from gsomia.audit.records import AuditKind
from gsomia.labels import json_codec
from tests.unit.api.helpers import (
    KOR_READER,
    RELEASER,
    Bench,
    auth,
    bench,
    label_json,
    release_body,
)


def test_each_item_is_released_and_answered_in_order(api: Bench) -> None:
    items = [release_body(text=f"report {i}") for i in range(3)]
    response = api.kor.post("/v1/items/batch", json={"items": items}, headers=auth(RELEASER))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["released"] for r in results] == [True] * 3
    assert [r["reasons"] for r in results] == [[]] * 3
    assert results[0]["decisions"]["JPN"]["codes"] == ["RELEASE_ALLOWED"]
    assert api.stored("KOR")[:2] == (3, 3)
    releases = [r for r in api.audit("KOR") if r.kind is AuditKind.RELEASE]
    assert [(r.subject, r.decision) for r in releases] == [(r["item_id"], "allow") for r in results]


def test_each_item_keeps_its_own_label_among_many(api: Bench) -> None:
    """Labels equal to one already decoded are reused; twelve distinct ones (more than the route
    remembers), cycled, each reach the store with their own item."""
    labels = [
        label_json(
            level=("군사II급비밀", "군사III급비밀")[i % 2],
            created=f"2026-11-23T1{i % 6}:00:00+09:00",
        )
        for i in range(12)
    ]
    items = [release_body(label=labels[i % 12], text=f"report {i}") for i in range(30)]
    response = api.kor.post("/v1/items/batch", json={"items": items}, headers=auth(RELEASER))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["released"] for r in results] == [True] * 30
    with api.store("KOR").read() as kor:
        for i, result in enumerate(results):
            held = kor.item(result["item_id"])
            assert held is not None
            assert json_codec.to_dict(held.labels.originator) == labels[i % 12]


def test_a_refused_item_does_not_stop_the_others(api: Bench) -> None:
    items = [release_body(), release_body(recipients=["XYZ"]), release_body(purpose="a\tb")]
    response = api.kor.post("/v1/items/batch", json={"items": items}, headers=auth(RELEASER))
    assert response.status_code == 200, response.text
    first, unknown, ill_formed = response.json()["results"]
    assert first["released"] is True
    assert unknown["released"] is False
    assert "UNKNOWN_PARTY" in unknown["reasons"]
    assert unknown["decisions"]["XYZ"]["allowed"] is False
    assert ill_formed["reasons"] == ["NODE_INPUT_INVALID"]
    assert "control" in ill_formed["problem"]
    assert api.stored("KOR")[:2] == (1, 1)
    denied = [r.subject for r in api.audit("KOR") if r.decision == "deny"]
    assert denied == [unknown["item_id"], ill_formed["item_id"]]


def test_a_malformed_batch_releases_nothing(api: Bench) -> None:
    before = api.stored("KOR")
    label = release_body()["label"] | {"classification": ""}
    bad_label = {"items": [release_body(), release_body(label=label)]}
    response = api.kor.post("/v1/items/batch", json=bad_label, headers=auth(RELEASER))
    assert response.status_code == 422
    assert response.json()["index"] == 1
    for body in ({"items": []}, {"items": [release_body()] * 501}, {"item": []}):
        response = api.kor.post("/v1/items/batch", json=body, headers=auth(RELEASER))
        assert response.status_code in (413, 422), response.text
    assert api.stored("KOR") == before


def test_only_a_release_officer_releases_a_batch(api: Bench) -> None:
    items = {"items": [release_body(), release_body()]}
    response = api.kor.post("/v1/items/batch", json=items, headers=auth(KOR_READER))
    assert response.status_code == 403
    assert response.json()["code"] == "NODE_FORBIDDEN"
    assert [r.reasons for r in api.audit("KOR")][-2:] == [("NODE_FORBIDDEN",)] * 2
    assert api.stored("KOR")[:2] == (0, 0)


def test_five_hundred_items_fit_the_default_body_limit() -> None:
    big = bench(max_body=16 * 1024 * 1024)
    items = {"items": [release_body(text="x" * 1024) for _ in range(500)]}
    response = big.kor.post("/v1/items/batch", json=items, headers=auth(RELEASER))
    assert response.status_code == 200, response.text
    assert big.stored("KOR")[:2] == (500, 500)


def test_the_body_is_parsed_once_by_the_strict_parser(
    api: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The framework validates the value the strict parser produced; it never parses again."""

    def second_parse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("the body was parsed a second time")

    monkeypatch.setattr(starlette.requests.json, "loads", second_parse)
    items = [release_body(text=f"report {i}") for i in range(2)]
    response = api.kor.post("/v1/items/batch", json={"items": items}, headers=auth(RELEASER))
    assert response.status_code == 200, response.text
