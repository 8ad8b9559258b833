"""Helpers of the case tests (breach, disposal, visits): notices in outboxes, replays, forgeries."""

from __future__ import annotations

from datetime import datetime

from gsomia.node.framing import FrameKind, decode, notice_frame
from gsomia.ports import DeliveryState, OutboxEntry
from gsomia.proofs import _token
from gsomia.proofs import notices as notice_tokens
from gsomia.proofs.notices import Notice, NoticeKind, issue_notice
from tests.unit.node.cluster import Cluster, release_to_japan


def released_to_japan(cluster: Cluster) -> str:
    """KOR releases an item to JPN and it arrives; its id."""
    result = release_to_japan(cluster)
    assert result.released, result.reasons
    cluster.pump()
    return result.item_id


def notices(cluster: Cluster, party: str, kind: NoticeKind) -> list[OutboxEntry]:
    """The notices of ``kind`` in ``party``'s outbox, in enqueue order."""
    with cluster.stores[party].read() as reader:
        return [e for e in reader.outbox(limit=1000) if e.message.kind == str(kind)]


def settled(cluster: Cluster, party: str) -> bool:
    """Whether every notice ``party`` sent was acknowledged."""
    with cluster.stores[party].read() as reader:
        sent = [e for e in reader.outbox(limit=1000) if e.key.startswith("notice:")]
    return bool(sent) and all(e.state is DeliveryState.ACKNOWLEDGED for e in sent)


def replay(cluster: Cluster, sender: str, to: str, payload: bytes, key: str = "replay") -> None:
    """Put ``payload`` on the channel from ``sender`` to ``to`` once more."""
    cluster.nodes[sender]._ctx.channel.send(to, payload, idempotency_key=key)


def forged(
    cluster: Cluster,
    signer: str,
    kind: NoticeKind,
    recipient: str,
    subject: str,
    fields: dict[str, str | int | datetime],
    *,
    issuer: str | None = None,
) -> bytes:
    """A notice frame signed by ``signer``'s node, naming ``issuer`` (default: the signer)."""
    ctx = cluster.nodes[signer]._ctx
    now = cluster.clock.now()
    notice = Notice(kind, f"forged-{kind}", issuer or signer, recipient, now, subject, fields)
    if issuer is None:
        token = issue_notice(notice, ctx.keys)
    else:  # sign another party's statement, as a forger would
        claims = notice_tokens._claims(notice)
        token = _token.issue(
            notice_tokens.NOTICE, notice, claims, notice_tokens._notice_from, ctx.keys, signer, now
        )
    frame_kind = {
        NoticeKind.BREACH_REPORT: FrameKind.BREACH_REPORT,
        NoticeKind.BREACH_UPDATE: FrameKind.BREACH_UPDATE,
        NoticeKind.RECLASSIFICATION: FrameKind.RECLASSIFICATION,
        NoticeKind.DISPOSAL_REQUEST: FrameKind.DISPOSAL_REQUEST,
        NoticeKind.DISPOSAL_CERTIFICATE: FrameKind.DISPOSAL_CERTIFICATE,
        NoticeKind.VISIT_REQUEST: FrameKind.VISIT_REQUEST,
        NoticeKind.VISIT_DECISION: FrameKind.VISIT_DECISION,
    }[kind]
    return notice_frame(frame_kind, token)


def tampered(payload: bytes) -> bytes:
    """The notice frame with one character of its signed claims changed."""
    frame = decode(payload)
    body = frame.body.replace(b'"notice_id":"', b'"notice_id":"x', 1)
    assert body != frame.body
    return bytes((frame.kind,)) + body
