"""The attacker's tools: genuine items to start from, and ways to bend them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gsomia.envelope import BatchSigner, NodeKeys, SealedItem, seal, seal_in_batch
from gsomia.envelope import _primitives as prim
from gsomia.labels import LabelSet, OriginatorLabel
from gsomia.node import ReceiveSummary
from gsomia.node.framing import item_frame
from tests.adversarial.harness import Watch
from tests.conftest import make_label
from tests.unit.node.cluster import PAYLOAD, PURPOSE, Cluster

GSOMIA = ("kor-jpn-gsomia-2016", 1)
TOPIC = "NK-MISSILE"


def kor_label(**kwargs: object) -> OriginatorLabel:
    """A KOR originator label dated an hour before the cluster's start."""
    kwargs.setdefault("created", "2026-11-23T11:00:00+09:00")
    return make_label(**kwargs)  # type: ignore[arg-type]


def genuine(
    cluster: Cluster,
    *,
    label: OriginatorLabel | LabelSet | None = None,
    payload: bytes = PAYLOAD,
    to: tuple[str, ...] = ("JPN",),
    keys: NodeKeys | None = None,
    now: datetime | None = None,
    segment_size: int = 64,
    item_id: str | None = None,
) -> SealedItem:
    """An item KOR's node seals itself (its real keys unless ``keys``), to ``to`` and KOR."""
    kor = cluster.nodes["KOR"]._ctx
    at = now or cluster.clock.now()
    signer = keys or kor.keys
    recipients = {p: kor.trust.current(p, "enc", cluster.clock.now()) for p in to}
    recipients["KOR"] = kor.keys.current.enc
    return seal(
        payload,
        label or kor_label(),
        recipients,
        GSOMIA,
        signer,
        at,
        item_id,
        segment_size=segment_size,
    )


def genuine_batch(cluster: Cluster, n: int) -> list[SealedItem]:
    """``n`` items KOR's node seals to JPN (and itself) as one signed batch (suite 2, ADR 0019)."""
    kor = cluster.nodes["KOR"]._ctx
    now = cluster.clock.now()
    recipients = {"JPN": kor.trust.current("JPN", "enc", now), "KOR": kor.keys.current.enc}
    signer = BatchSigner()
    pending = [
        seal_in_batch(PAYLOAD, kor_label(), recipients, GSOMIA, kor.keys, now, signer=signer)
        for _ in range(n)
    ]
    signer.sign()
    return [p.item for p in pending]


def with_label(item: SealedItem, label_bytes: bytes, *, fix_digest: bool = True) -> bytes:
    """``item`` with another label in its header (and that label's digest, if ``fix_digest``)."""
    header = replace(
        item.header,
        label_bytes=label_bytes,
        label_digest=prim.sha256(label_bytes) if fix_digest else item.header.label_digest,
    )
    return SealedItem(header, header.encode(), item.segments, item.signature).to_bytes()


def reassemble(item: SealedItem, segments: list[bytes], signature: bytes | None = None) -> bytes:
    """The header of ``item``, then ``segments``, then the signature."""
    sig = item.signature if signature is None else signature
    return b"".join((item.header_bytes, *segments, sig))


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    """``data`` with one bit of byte ``index`` flipped."""
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


def deliver(
    cluster: Cluster,
    sender: str,
    to: str,
    sealed: bytes,
    *,
    proofs: tuple[bytes, ...] = (),
    topic: str = TOPIC,
    purpose: str = PURPOSE,
    key: str = "attack",
) -> tuple[ReceiveSummary, Watch]:
    """Put an item frame on the channel from ``sender``'s node; ``to`` receives it.  The watch
    starts after the genuine traffic settled and before the attack is handled."""
    watch = Watch(cluster.stores[to])
    send_raw(cluster, sender, to, item_frame(topic, purpose, sealed, proofs), key=key)
    return cluster.nodes[to].receive(), watch


def send_raw(cluster: Cluster, sender: str, to: str, payload: bytes, *, key: str) -> None:
    """Any bytes on the channel, authenticated as ``sender`` (a compromised partner node)."""
    cluster.nodes[sender]._ctx.channel.send(to, payload, idempotency_key=key)
