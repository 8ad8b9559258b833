"""The body limit decides from Content-Length before reading a byte (issue 4 §3)."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from gsomia.api.middleware import BodyLimitMiddleware


def _run(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[list[Message], int]:
    reads = 0
    sent: list[Message] = []
    called: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        called.append(message["body"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        body = chunks[reads - 1] if reads <= len(chunks) else b""
        return {"type": "http.request", "body": body, "more_body": reads < len(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/v1/items", "headers": headers}
    asyncio.run(BodyLimitMiddleware(app, max_body=10)(scope, receive, send))
    if called:
        sent.append({"type": "app.body", "body": called[0]})
    return sent, reads


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    sent, reads = _run([(b"content-length", b"11")], [b"x" * 11])
    assert reads == 0
    assert sent[0]["status"] == 413
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["code"] == "BODY_TOO_LARGE"


def test_an_ill_formed_length_is_400() -> None:
    for value in (b"-1", b"ten", b""):
        sent, reads = _run([(b"content-length", value)], [b"x"])
        assert (sent[0]["status"], reads) == (400, 0)
        assert json.loads(sent[1]["body"])["code"] == "CONTENT_LENGTH_INVALID"
    sent, _ = _run([(b"content-length", b"1"), (b"content-length", b"2")], [b"x"])
    assert sent[0]["status"] == 400


def test_a_stream_is_cut_once_past_the_limit() -> None:
    sent, reads = _run([], [b"x" * 6, b"x" * 6, b"x" * 6])
    assert reads == 2
    assert sent[0]["status"] == 413


def test_a_stream_within_the_limit_reaches_the_app_whole() -> None:
    sent, reads = _run([], [b"abc", b"def", b"ghij"])
    assert reads == 3
    assert sent[0]["status"] == 204
    assert sent[-1] == {"type": "app.body", "body": b"abcdefghij"}


def test_an_absurd_declared_length_is_413_not_an_error() -> None:
    sent, reads = _run([(b"content-length", b"9" * 40)], [b"x"])
    assert (sent[0]["status"], reads) == (413, 0)
