"""Group commit (issue 4 §4): many releases, acceptances and receipts per unit of work, with the
same effects, records and audit records per item as one at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from gsomia.audit.records import AuditKind
from gsomia.envelope import SealedItem
from gsomia.envelope.batch import split_block
from gsomia.envelope.wire import SUITE, SUITE_BATCH
from gsomia.errors import StoreError
from gsomia.node import MAX_RELEASE_BATCH, NodeForbiddenError, NodeInputError, ReleaseRequest
from gsomia.node._group import GroupCommit
from gsomia.node.framing import decode, receipts_frame
from gsomia.ports import DeliveryState, Inbound, InboxOutcome, ReceiptDirection, UnitOfWork
from gsomia.testing import InMemoryStore
from tests.conftest import make_label
from tests.unit.node.cluster import (
    JPN_READER,
    PAYLOAD,
    PURPOSE,
    RELEASER,
    TISA_ERA,
    Cluster,
    build,
    release_to_japan,
)
from tests.unit.node.test_rejections import RECORD_RECEIPT, FailingStore


def _requests(n: int, **overrides: object) -> list[ReleaseRequest]:
    label = make_label(created="2026-11-23T11:00:00+09:00")
    fields: dict[str, object] = {
        "label": label,
        "recipients": ["JPN"],
        "topic": "NK-MISSILE",
        "purpose": PURPOSE,
    }
    fields.update(overrides)
    return [
        ReleaseRequest(payload=PAYLOAD + b" %d" % i, **fields)  # type: ignore[arg-type]
        for i in range(n)
    ]


class CountingStore(FailingStore):
    """A store that counts its units of work."""

    def __init__(self, inner: InMemoryStore) -> None:
        super().__init__(inner)
        self.units = 0

    def unit_of_work(self):  # type: ignore[no-untyped-def]
        self.units += 1
        return super().unit_of_work()


# -- release_many -------------------------------------------------------------------------------


def test_a_batch_releases_each_item_as_a_single_release_would(cluster: Cluster) -> None:
    results = cluster.nodes["KOR"].release_many(RELEASER, _requests(5))
    assert [r.released for r in results] == [True] * 5
    assert len({r.item_id for r in results}) == 5
    records = cluster.audit("KOR")
    assert [(r.kind, r.decision, r.subject) for r in records] == [
        (AuditKind.RELEASE, "allow", r.item_id) for r in results
    ]
    assert [r.audit_indexes for r in results] == [(i,) for i in range(5)]
    with cluster.stores["KOR"].read() as kor:
        assert sorted(i.item_id for i in kor.items()) == sorted(r.item_id for r in results)
        assert [e.key for e in kor.outbox()] == [f"{r.item_id}:JPN" for r in results]
    cluster.pump()
    for result in results:
        assert cluster.nodes["JPN"].read(JPN_READER, result.item_id).startswith(PAYLOAD)
    kinds = [(r.kind, r.decision) for r in cluster.audit("KOR")]
    assert kinds.count((AuditKind.RECEIPT, "received")) == 5
    accepts = [r for r in cluster.audit("JPN") if r.kind is AuditKind.ACCEPT]
    assert [r.subject for r in accepts] == [r.item_id for r in results]


def test_a_batch_is_decided_and_stored_at_the_instant_it_is_taken(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    manual = cluster.clock.now

    def ticking() -> datetime:  # a clock that moves at every reading
        cluster.clock.advance(timedelta(milliseconds=1))
        return manual()

    monkeypatch.setattr(cluster.clock, "now", ticking)
    results = cluster.nodes["KOR"].release_many(RELEASER, _requests(3))
    releases = [r for r in cluster.audit("KOR") if r.kind is AuditKind.RELEASE]
    assert [r.subject for r in releases] == [r.item_id for r in results]
    (batch_at,) = {r.at for r in releases}  # one instant for the batch (Art. 21)
    with cluster.stores["KOR"].read() as kor:
        held = [kor.item(r.item_id) for r in results]
        assert {h.received for h in held if h is not None} == {batch_at}
        assert None not in held
        assert {e.message.created for e in kor.outbox()} == {batch_at}
    assert all(r.decisions == results[0].decisions for r in results)
    assert results[0].decisions is not results[1].decisions  # each result its own


def test_a_refused_or_ill_formed_item_does_not_stop_the_others(cluster: Cluster) -> None:
    good = _requests(2)
    secret = _requests(1, label=make_label(level="군사I급비밀"))[0]  # never to Japan
    empty = ReleaseRequest(b"", good[0].label, ["JPN"], "NK-MISSILE", PURPOSE)
    results = cluster.nodes["KOR"].release_many(RELEASER, [good[0], secret, empty, good[1]])
    assert [r.released for r in results] == [True, False, False, True]
    assert results[1].reasons
    assert not results[1].decisions["JPN"].allowed
    assert results[2].reasons == ("NODE_INPUT_INVALID",)
    assert results[2].problem == "the payload must be non-empty bytes"
    by_item = {r.subject: (r.decision, r.reasons) for r in cluster.audit("KOR")}
    assert by_item[results[1].item_id][0] == "deny"
    assert by_item[results[2].item_id] == ("deny", ("NODE_INPUT_INVALID",))
    with cluster.stores["KOR"].read() as kor:
        assert {i.item_id for i in kor.items()} == {results[0].item_id, results[3].item_id}


def test_a_batch_reaches_the_hub_with_its_approvals() -> None:
    cluster = build(start=TISA_ERA)
    label = make_label(created="2015-06-01T11:00:00+09:00")
    results = cluster.nodes["KOR"].release_many(RELEASER, _requests(2, label=label))
    assert all(r.released for r in results)
    assert results[0].decisions["JPN"].path == ("KOR", "USA", "JPN")
    with cluster.stores["KOR"].read() as kor:
        assert [e.message.recipient for e in kor.outbox()] == ["USA", "USA"]
        assert [c.consent.third_party for c in kor.consents_for(results[0].item_id)] == ["JPN"]


def test_the_actor_and_the_batch_are_checked_and_refusals_audited(cluster: Cluster) -> None:
    kor = cluster.nodes["KOR"]
    with pytest.raises(NodeForbiddenError):
        kor.release_many("kor-reader-1", _requests(3))
    assert [r.reasons for r in cluster.audit("KOR")] == [("NODE_FORBIDDEN",)] * 3
    for bad in ([], _requests(MAX_RELEASE_BATCH + 1)):
        with pytest.raises(NodeInputError):
            kor.release_many(RELEASER, bad)
    assert [r.subject for r in cluster.audit("KOR")[3:]] == ["batch", "batch"]
    with cluster.stores["KOR"].read() as reader:
        assert reader.items() == []


def test_a_batch_is_one_unit_of_work() -> None:
    stores: dict[str, FailingStore] = {}
    cluster = build(lambda p: stores.setdefault(p, FailingStore(InMemoryStore())))
    stores["KOR"].fail_on = "append_audit"
    with pytest.raises(StoreError):
        cluster.nodes["KOR"].release_many(RELEASER, _requests(3))
    with cluster.stores["KOR"].read() as kor:
        assert (kor.items(), kor.outbox(), kor.audit_size()) == ([], [], 0)


# -- receiving in batches -------------------------------------------------------------------------


def test_items_and_receipts_are_taken_a_run_per_unit_of_work() -> None:
    stores: dict[str, CountingStore] = {}
    cluster = build(lambda p: stores.setdefault(p, CountingStore(InMemoryStore())))
    before = stores["KOR"].units  # the directory was written first
    results = cluster.nodes["KOR"].release_many(RELEASER, _requests(4))
    assert stores["KOR"].units == before + 1
    assert cluster.nodes["KOR"].deliver_due() == 4
    assert cluster.network.batches == 1  # one exchange for the four items
    before = stores["JPN"].units
    summary = cluster.nodes["JPN"].receive()
    assert (summary.messages, summary.accepted) == (4, 4)
    assert stores["JPN"].units == before + 1
    jpn_log = cluster.audit("JPN")
    assert [r.subject for r in jpn_log] == [r.item_id for r in results]
    cluster.nodes["JPN"].deliver_due()
    before = stores["KOR"].units
    summary = cluster.nodes["KOR"].receive()
    assert (summary.messages, summary.receipts) == (1, 4)  # ONE signed batch receipt (ADR 0011)
    assert stores["KOR"].units == before + 1
    with cluster.stores["KOR"].read() as kor:
        assert {e.state for e in kor.outbox()} == {DeliveryState.ACKNOWLEDGED}
        for result in results:  # each its own extract of the one signature, quoting its record
            assert kor.receipt(result.item_id, "JPN", ReceiptDirection.RECEIVED) is not None


def test_a_run_of_items_is_decided_and_stored_at_one_instant(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = cluster.nodes["KOR"].release_many(RELEASER, _requests(3))
    cluster.nodes["KOR"].deliver_due()
    manual = cluster.clock.now

    def ticking() -> datetime:  # a clock that moves at every reading
        cluster.clock.advance(timedelta(milliseconds=1))
        return manual()

    monkeypatch.setattr(cluster.clock, "now", ticking)
    summary = cluster.nodes["JPN"].receive()
    assert summary.accepted == 3
    accepts = [r for r in cluster.audit("JPN") if r.kind is AuditKind.ACCEPT]
    assert len(accepts) == 3
    (run_at,) = {r.at for r in accepts}  # one instant for the run
    with cluster.stores["JPN"].read() as jpn:
        held = [jpn.item(r.item_id) for r in results]
        assert all(h is not None and h.received == run_at for h in held)
        applied = {a.applied for h in held if h is not None for a in h.labels.alternatives}
        assert applied == {run_at}  # Art. 4: one alternative label for the run
        assert all(
            e is not None and e.received == run_at
            for e in map(jpn.inbox_entry, (r.item_id for r in results))
        )


def test_items_of_one_run_at_different_levels_keep_their_own_decisions(cluster: Cluster) -> None:
    # A run decides once per label set, sender and topic: two levels are two decisions (Art. 4).
    secret = _requests(2)
    confidential = _requests(2, label=make_label(level="군사III급비밀"))
    mixed = [secret[0], confidential[0], secret[1], confidential[1]]
    results = cluster.nodes["KOR"].release_many(RELEASER, mixed)
    cluster.nodes["KOR"].deliver_due()
    assert cluster.nodes["JPN"].receive().accepted == 4
    marking = {
        r.subject: r.detail["marking"] for r in cluster.audit("JPN") if r.kind is AuditKind.ACCEPT
    }
    assert [marking[r.item_id] for r in results] == ["極秘", "秘", "極秘", "秘"]


def test_an_item_twice_in_one_run_is_a_duplicate_the_second_time(cluster: Cluster) -> None:
    (result,) = cluster.nodes["KOR"].release_many(RELEASER, _requests(1))
    cluster.network.duplicate = True
    cluster.nodes["KOR"].deliver_due()
    summary = cluster.nodes["JPN"].receive()
    assert (summary.accepted, summary.duplicates) == (1, 1)
    assert [(r.kind, r.decision) for r in cluster.audit("JPN")] == [
        (AuditKind.ACCEPT, "allow"),
        (AuditKind.REJECT, "duplicate"),
    ]
    with cluster.stores["JPN"].read() as jpn:
        entry = jpn.inbox_entry(result.item_id)
        assert entry is not None
        assert entry.outcome is InboxOutcome.ACCEPTED
    cluster.network.duplicate = False
    cluster.pump(rounds=3)
    kinds = [(r.kind, r.decision) for r in cluster.audit("KOR")]
    assert kinds.count((AuditKind.RECEIPT, "received")) == 1  # the second receipt is a duplicate


def test_a_run_holding_a_bad_message_audits_it_and_accepts_the_others(cluster: Cluster) -> None:
    results = cluster.nodes["KOR"].release_many(RELEASER, _requests(2))
    cluster.nodes["KOR"].deliver_due()
    queue = cluster.network._queues["JPN"]
    tampered = bytearray(queue[0].payload)
    tampered[-1] ^= 1
    queue[0] = type(queue[0])("KOR", bytes(tampered), queue[0].idempotency_key)
    summary = cluster.nodes["JPN"].receive()
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert [(r.kind, r.decision) for r in cluster.audit("JPN")] == [
        (AuditKind.REJECT, "deny"),
        (AuditKind.ACCEPT, "allow"),
    ]
    assert cluster.audit("JPN")[1].subject == results[1].item_id


def test_a_receipt_for_something_we_did_not_send_is_refused_in_the_run(cluster: Cluster) -> None:
    results = cluster.nodes["KOR"].release_many(RELEASER, _requests(2))
    cluster.nodes["KOR"].deliver_due()
    cluster.nodes["JPN"].receive()
    with cluster.stores["JPN"].read() as jpn:
        issued = jpn.receipt(results[0].item_id, "KOR", ReceiptDirection.ISSUED)
    assert issued is not None
    cluster.nodes["JPN"].deliver_due()  # the batch receipt queued at KOR, then JPN's from USA
    cluster.network._queues["KOR"].append(Inbound("USA", receipts_frame(issued.token), "r:x"))
    summary = cluster.nodes["KOR"].receive()
    assert (summary.receipts, summary.receipts_rejected) == (2, 1)
    kor_log = cluster.audit("KOR")
    assert [r.reasons for r in kor_log if r.kind is AuditKind.REJECT] == [
        ("NODE_RECEIPT_MISMATCH",)
    ]
    assert [r.subject for r in kor_log if r.kind is AuditKind.RECEIPT] == [
        r.item_id for r in results
    ]


@pytest.mark.parametrize("fail_on", ["put_item", RECORD_RECEIPT])
def test_a_run_whose_unit_fails_is_handled_one_at_a_time(fail_on: str | tuple[str, ...]) -> None:
    stores: dict[str, FailingStore] = {}
    cluster = build(lambda p: stores.setdefault(p, FailingStore(InMemoryStore())))
    results = cluster.nodes["KOR"].release_many(RELEASER, _requests(2))
    cluster.nodes["KOR"].deliver_due()
    stores["JPN"].fail_on = fail_on
    with pytest.raises(StoreError):  # the run fails, then the first message alone fails too
        cluster.nodes["JPN"].receive()
    assert cluster.audit("JPN") == []
    stores["JPN"].fail_on = None
    cluster.pump(rounds=3, step=timedelta(minutes=10))  # KOR's retries bring both again
    with cluster.stores["JPN"].read() as jpn:
        assert sorted(i.item_id for i in jpn.items()) == sorted(r.item_id for r in results)


def test_items_taken_one_at_a_time_open_with_the_nodes_cache_too() -> None:
    """The items of one sealed batch share one key exchange also when a failed run sends them
    through the single-item path (ADR 0015): one exchange for the batch, none after."""
    stores: dict[str, FailingStore] = {}
    cluster = build(lambda p: stores.setdefault(p, FailingStore(InMemoryStore())))
    cluster.nodes["KOR"].release_many(RELEASER, _requests(3))
    cluster.nodes["KOR"].deliver_due()
    stores["JPN"].fail_on = "record_receipts"  # the run fails; one at a time, each succeeds
    assert cluster.nodes["JPN"].receive().accepted == 3
    cache = cluster.nodes["JPN"]._ctx.open_cache
    assert (cache.misses, cache.hits) == (1, 2 + 3)  # the run opened all three, then each alone


def test_a_batch_is_signed_once_and_each_item_still_verifies_alone(cluster: Cluster) -> None:
    """ADR 0019: the items of one release_many carry one signature (suite 2) and a path each;
    JPN opens them with one verification, and a single release keeps its own (suite 1)."""
    results = cluster.nodes["KOR"].release_many(RELEASER, _requests(4))
    single = release_to_japan(cluster)
    with cluster.stores["KOR"].read() as kor:
        held = {i.item_id: SealedItem.from_bytes(i.sealed) for i in kor.items()}
    batched = [held[r.item_id] for r in results]
    assert {item.header.suite for item in batched} == {SUITE_BATCH}
    assert held[single.item_id].header.suite == SUITE
    assert len({split_block(item.signature)[3] for item in batched}) == 1
    cluster.pump()
    cache = cluster.nodes["JPN"]._ctx.open_cache
    assert (cache.signatures.misses, cache.signatures.hits) == (1, 3)
    for result in [*results, single]:
        assert cluster.nodes["JPN"].read(JPN_READER, result.item_id).startswith(PAYLOAD)


# -- delivery -------------------------------------------------------------------------------------


def test_delivery_sends_one_exchange_per_partner_and_skips_one_that_is_down(
    cluster: Cluster,
) -> None:
    kor = cluster.nodes["KOR"]
    to_japan = kor.release_many(RELEASER, _requests(3))
    to_usa = kor.release_many(RELEASER, _requests(2, recipients=["USA"]))
    cluster.network.down.add("JPN")
    assert kor.deliver_due() == 2
    assert cluster.network.batches == 1
    assert [key for _, party, key in cluster.network.sent] == [f"{r.item_id}:USA" for r in to_usa]
    cluster.nodes["USA"].receive()  # the USA receipts both: they are settled at KOR
    cluster.nodes["USA"].deliver_due()
    assert kor.receive().receipts == 2
    cluster.network.down.clear()
    cluster.clock.advance(timedelta(minutes=10))
    assert kor.deliver_due() == 3  # JPN's, retried; not the USA's
    assert cluster.network.batches == 2  # KOR → USA, KOR → JPN (USA's one batch receipt alone)
    frames = [decode(m.payload) for m in cluster.network._queues["JPN"]]
    assert len(frames) == 3
    assert {f.kind.name for f in frames} == {"ITEM"}
    assert len(to_japan) == 3


# -- group commit ---------------------------------------------------------------------------------


def test_concurrent_writes_share_units_and_a_failing_one_fails_alone() -> None:
    store = InMemoryStore()
    group = GroupCommit()
    units: list[int] = []
    entered = threading.Barrier(2)
    gate = threading.Event()
    results: dict[int, object] = {}

    def writer(n: int) -> Callable[[UnitOfWork], int]:
        def write(uow: UnitOfWork) -> int:
            units.append(id(uow))
            if n == 3:
                raise StoreError("this one fails", code="STORE_CONFLICT")
            return n * 10

        return write

    def first(uow: UnitOfWork) -> int:
        entered.wait()  # the others are queued behind this unit
        gate.wait(timeout=5)
        return -1

    def call(n: int) -> None:
        try:
            results[n] = group.run(store, writer(n))
        except StoreError as exc:
            results[n] = exc.code

    leader = threading.Thread(target=lambda: results.__setitem__(0, group.run(store, first)))
    leader.start()
    followers = [threading.Thread(target=call, args=(n,)) for n in (1, 2, 3)]
    for t in followers:
        t.start()
    entered.wait()
    while len(group._queue) < 3:  # the three followers queued
        threading.Event().wait(0.001)
    gate.set()
    for t in (leader, *followers):
        t.join(timeout=5)
    assert results == {0: -1, 1: 10, 2: 20, 3: "STORE_CONFLICT"}
    # the three queued writes ran together first (one unit), then again one by one
    assert len(set(units[:3])) == 1
