"""Attacks on sealed items as they cross the node channel (boundary: node channel, envelope).

The attacker sits on the path between two nodes, or holds a stolen or rotated-out key, and
sends bent copies of genuine items to JPN's node.  Each must be refused with the envelope's one
opaque code ``ENVELOPE_REJECTED`` (its precise cause in the receiver's audit log only,
docs/wire-format.md §5), or the node's own code, leave nothing in JPN's store and be audited.
"""

from __future__ import annotations

from datetime import timedelta

from gsomia.audit.records import AuditKind
from gsomia.envelope import NodeKeys, SealedItem
from gsomia.labels import json_codec
from gsomia.node import Node
from gsomia.node.framing import decode
from tests.adversarial.forge import (
    deliver,
    flip,
    genuine,
    genuine_batch,
    kor_label,
    reassemble,
    with_label,
)
from tests.adversarial.harness import Watch
from tests.unit.node.cluster import Cluster, release_to_japan

REJECTED = "ENVELOPE_REJECTED"


def _refused_by_envelope(watch: Watch, cause: str) -> None:
    record = watch.rejected(REJECTED, kind=AuditKind.REJECT)
    assert record.detail["cause"] == cause
    assert record.actor == "KOR"


def test_forged_originator_signature(cluster: Cluster) -> None:
    """The genuine header and ciphertext, signed by a key that merely claims to be KOR's."""
    item = genuine(cluster)
    attacker = NodeKeys.generate("KOR", cluster.clock.now() - timedelta(days=1))
    forged_sig = attacker.signing_key.sign(item.to_be_signed())
    summary, watch = deliver(
        cluster, "KOR", "JPN", reassemble(item, list(item.segments), forged_sig)
    )
    assert (summary.accepted, summary.rejected) == (0, 1)
    _refused_by_envelope(watch, "SIGNATURE_INVALID")


def test_batch_signature_block_moved_to_another_item(cluster: Cluster) -> None:
    """Two items of one signed batch (suite 2): the second's signature block (a genuine
    signature, a genuine path) put on the first.  Its leaf leads to another root."""
    first, second = genuine_batch(cluster, 4)[:2]
    summary, watch = deliver(
        cluster, "KOR", "JPN", reassemble(first, list(first.segments), second.signature)
    )
    assert (summary.accepted, summary.rejected) == (0, 1)
    _refused_by_envelope(watch, "SIGNATURE_INVALID")
    summary, _ = deliver(cluster, "KOR", "JPN", second.to_bytes(), key="genuine")
    assert summary.accepted == 1, "the genuine item of the batch is still accepted"


def test_batch_path_altered_or_suite_changed(cluster: Cluster) -> None:
    """A path hash of a batch item bent; then the suite byte set back to 1 (one signature
    per item), as if the block were a signature."""
    item = genuine_batch(cluster, 4)[2]
    block = item.signature
    bent = reassemble(item, list(item.segments), flip(block, 4 + 5))
    summary, watch = deliver(cluster, "KOR", "JPN", bent)
    assert summary.rejected == 1
    _refused_by_envelope(watch, "SIGNATURE_INVALID")
    as_suite_1 = flip(item.to_bytes(), 5, 0x02 ^ 0x01)
    summary, watch = deliver(cluster, "KOR", "JPN", as_suite_1, key="attack-2")
    assert summary.rejected == 1
    _refused_by_envelope(watch, "MALFORMED")


def test_signature_by_an_unknown_key(cluster: Cluster) -> None:
    """A whole item sealed with a KOR key pair JPN never trusted."""
    stranger = NodeKeys.generate("KOR", cluster.clock.now() - timedelta(days=1))
    summary, watch = deliver(cluster, "KOR", "JPN", genuine(cluster, keys=stranger).to_bytes())
    assert summary.rejected == 1
    _refused_by_envelope(watch, "UNKNOWN_KID")


def test_signature_by_a_rotated_out_key(cluster: Cluster) -> None:
    """KOR rotated its keys an hour ago and JPN recorded the retirement; a thief of the old
    signing key dates an item after the rotation (docs/wire-format.md §2)."""
    now = cluster.clock.now()
    rotated_at = now - timedelta(hours=1)
    old = cluster.nodes["KOR"]._ctx.keys
    jpn = cluster.nodes["JPN"]._ctx
    trust = jpn.trust.retire(old.current.sig.kid, rotated_at).retire(
        old.current.enc.kid, rotated_at
    )
    cluster.nodes["JPN"] = Node(
        "JPN", jpn.registry, jpn.store, jpn.channel, jpn.keys, trust, cluster.clock
    )
    before_rotation = genuine(cluster, now=rotated_at - timedelta(minutes=1))
    summary, _ = deliver(cluster, "KOR", "JPN", before_rotation.to_bytes(), key="old-item")
    assert summary.accepted == 1, "an item the old key signed while current still verifies"
    summary, watch = deliver(cluster, "KOR", "JPN", genuine(cluster, keys=old).to_bytes())
    assert summary.rejected == 1
    _refused_by_envelope(watch, "KEY_NOT_VALID")


def test_label_swapped_between_two_sealed_items(cluster: Cluster) -> None:
    secret = genuine(cluster, label=kor_label(level="군사II급비밀"))
    confidential = genuine(cluster, label=kor_label(level="군사III급비밀"))
    swapped = with_label(secret, confidential.header.label_bytes)
    summary, watch = deliver(cluster, "KOR", "JPN", swapped)
    assert summary.rejected == 1
    _refused_by_envelope(watch, "SIGNATURE_INVALID")


def test_label_downgraded_in_transit(cluster: Cluster) -> None:
    item = genuine(cluster)
    lower = json_codec.canonical_bytes(kor_label(level="군사III급비밀"))
    _, watch = deliver(cluster, "KOR", "JPN", with_label(item, lower))
    _refused_by_envelope(watch, "SIGNATURE_INVALID")
    _, watch = deliver(cluster, "KOR", "JPN", with_label(item, lower, fix_digest=False))
    _refused_by_envelope(watch, "LABEL_BINDING")


def test_releasable_to_widened_in_transit(cluster: Cluster) -> None:
    item = genuine(cluster, label=kor_label(rel_to=("KOR", "JPN")))
    wider = json_codec.canonical_bytes(kor_label(rel_to=("KOR", "JPN", "USA")))
    summary, watch = deliver(cluster, "KOR", "JPN", with_label(item, wider))
    assert summary.rejected == 1
    _refused_by_envelope(watch, "SIGNATURE_INVALID")


def test_ciphertext_altered(cluster: Cluster) -> None:
    item = genuine(cluster, payload=bytes(300))
    segments = list(item.segments)
    segments[1] = flip(segments[1], 20)  # a byte of ciphertext, past the 9-byte head
    _, watch = deliver(cluster, "KOR", "JPN", reassemble(item, segments))
    _refused_by_envelope(watch, "SIGNATURE_INVALID")


def test_gcm_tag_altered(cluster: Cluster) -> None:
    item = genuine(cluster, payload=bytes(300))
    segments = list(item.segments)
    segments[-1] = flip(segments[-1], len(segments[-1]) - 1)  # the last byte of the last tag
    _, watch = deliver(cluster, "KOR", "JPN", reassemble(item, segments))
    _refused_by_envelope(watch, "SIGNATURE_INVALID")


def test_segments_reordered(cluster: Cluster) -> None:
    item = genuine(cluster, payload=bytes(300))
    seg = list(item.segments)
    _, watch = deliver(cluster, "KOR", "JPN", reassemble(item, [seg[1], seg[0], *seg[2:]]))
    _refused_by_envelope(watch, "SEGMENT_REORDERED")


def test_segment_dropped(cluster: Cluster) -> None:
    item = genuine(cluster, payload=bytes(300))
    seg = list(item.segments)
    _, watch = deliver(cluster, "KOR", "JPN", reassemble(item, [*seg[:2], *seg[3:]]))
    _refused_by_envelope(watch, "SEGMENT_REORDERED")


def test_item_truncated(cluster: Cluster) -> None:
    item = genuine(cluster, payload=bytes(300))
    cut = b"".join((item.header_bytes, *item.segments[:3]))  # no final segment, no signature
    _, watch = deliver(cluster, "KOR", "JPN", cut)
    _refused_by_envelope(watch, "SEGMENT_TRUNCATED")
    whole = item.to_bytes()
    _, watch = deliver(cluster, "KOR", "JPN", whole[:-1])  # one byte of signature short
    _refused_by_envelope(watch, "SEGMENT_TRUNCATED")


def test_item_not_sealed_to_the_receiver(cluster: Cluster) -> None:
    _, watch = deliver(cluster, "KOR", "JPN", genuine(cluster, to=("USA",)).to_bytes())
    _refused_by_envelope(watch, "NOT_A_RECIPIENT")


def test_item_dated_beyond_the_clock_skew(cluster: Cluster) -> None:
    ahead = cluster.clock.now() + timedelta(minutes=10)
    _, watch = deliver(cluster, "KOR", "JPN", genuine(cluster, now=ahead).to_bytes())
    _refused_by_envelope(watch, "CLOCK_SKEW")


def test_replayed_item_takes_effect_exactly_once(cluster: Cluster) -> None:
    """The genuine frame, recorded off the wire and sent again after it was accepted."""
    result = release_to_japan(cluster)
    cluster.pump()
    with cluster.stores["KOR"].read() as kor:
        entry = kor.outbox_entry(f"{result.item_id}:JPN")
    assert entry is not None
    sealed = decode(entry.message.payload).body
    summary, watch = deliver(cluster, "KOR", "JPN", sealed, key="replay")
    assert (summary.accepted, summary.duplicates) == (0, 1)
    record = watch.rejected("DUPLICATE_ITEM", kind=AuditKind.REJECT, decision="duplicate")
    assert record.subject == result.item_id
    assert record.detail["same_bytes"] is True
    with cluster.stores["JPN"].read() as jpn:
        assert [i.item_id for i in jpn.items()] == [result.item_id]


def test_item_replayed_by_another_partner(cluster: Cluster) -> None:
    """USA's node, holding a copy of KOR's sealed bytes, passes them to JPN as its own."""
    item = genuine(cluster, to=("JPN", "USA"))
    summary, watch = deliver(cluster, "USA", "JPN", item.to_bytes())
    assert summary.rejections == (
        (SealedItem.from_bytes(item.to_bytes()).header.item_id, "NODE_SENDER_MISMATCH"),
    )
    record = watch.rejected("NODE_SENDER_MISMATCH", kind=AuditKind.REJECT)
    assert record.detail["signer"] == "KOR"
