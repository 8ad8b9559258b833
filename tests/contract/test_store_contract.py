"""The Store contract: every case runs against InMemoryStore and the SQLite store.

PRODUCT.md §8: a rejected input leaves no partial state; an item accepted by a node is never lost.
Issue 4 §1: a release is committed to the outbox in the same transaction as its audit entry;
receipt handling is idempotent by item id, so at-least-once transport gives exactly-once effect.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from gsomia.adapters.store_handle import StoreHandle
from gsomia.audit.merkle import EMPTY_ROOT, MerkleTree, verify_inclusion
from gsomia.errors import GsomiaError, InputError, NotFoundError, StoreError
from gsomia.labels import AlternativeLabel
from gsomia.policy import ConsentKind, check_consent
from gsomia.ports import (
    Backoff,
    ConsentRequestDirection,
    ConsentRequestRecord,
    ConsentRequestState,
    DeliveryState,
    InboxOutcome,
    ItemState,
    ReceiptDirection,
    Role,
    Store,
    token_hash,
)
from tests.contract.conftest import (
    T0,
    audit,
    consent,
    inbound,
    item,
    message,
    official,
    open_store,
    receipt,
)


def codes(exc: pytest.ExceptionInfo[GsomiaError]) -> str:
    return exc.value.code


# -- units of work -------------------------------------------------------------------------------


def test_a_release_commits_item_outbox_and_audit_together(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.put_item(item())
        uow.enqueue(message())
        assert uow.append_audit(audit()) == 0
        assert uow.item("item-1") is not None  # a unit sees its own writes
        assert uow.audit_size() == 1
    with store.read() as r:
        assert r.item("item-1") == item()
        entry = r.outbox_entry("item-1/JPN")
        assert entry is not None
        assert entry.state is DeliveryState.PENDING
        assert entry.seq == 1
        assert r.audit_entry(0) == audit()
        assert r.audit_root() == MerkleTree.from_entries([audit().to_bytes()]).root()


def release_then_fail(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.put_item(item())
        uow.enqueue(message())
        uow.append_audit(audit())
        raise RuntimeError("crash in the middle of a release")


def test_an_exception_leaves_neither_outbox_row_nor_audit_entry(store: Store) -> None:
    """The atomicity of issue 4 §1: no outbox row without its audit entry, nor the reverse."""
    with pytest.raises(RuntimeError, match="crash"):
        release_then_fail(store)
    with store.read() as r:
        assert r.item("item-1") is None
        assert r.outbox_entry("item-1/JPN") is None
        assert r.outbox() == []
        assert r.audit_size() == 0
        assert r.audit_root() == EMPTY_ROOT
    with store.unit_of_work() as uow:  # the log goes on from where the last commit left it
        assert uow.append_audit(audit(n=1)) == 0
        assert uow.enqueue(message()).seq == 1
    with store.read() as r:
        assert r.audit_root() == MerkleTree.from_entries([audit(n=1).to_bytes()]).root()


def release_a_duplicate(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.enqueue(message("item-2/JPN", subject="item-2"))
        uow.append_audit(audit("item-2"))
        uow.put_item(item())  # a duplicate: STORE_CONFLICT


def test_a_failing_write_aborts_every_earlier_write_of_the_unit(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.put_item(item())
    with pytest.raises(StoreError) as exc:
        release_a_duplicate(store)
    assert codes(exc) == "STORE_CONFLICT"
    with store.read() as r:
        assert r.outbox() == []
        assert r.audit_size() == 0


def test_a_caught_conflict_does_not_poison_the_unit(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.put_item(item())
        with pytest.raises(StoreError):
            uow.put_item(item())
        uow.append_audit(audit())
    with store.read() as r:
        assert r.item("item-1") is not None
        assert r.audit_size() == 1


def test_units_and_reads_do_not_nest_and_end_with_their_block(store: Store) -> None:
    with store.unit_of_work() as uow:
        with pytest.raises(GsomiaError) as exc, store.unit_of_work():
            pass
        assert codes(exc) == "STORE_MISUSE"
        with pytest.raises(GsomiaError), store.read():
            pass
    with pytest.raises(GsomiaError) as exc:
        uow.put_item(item())
    assert codes(exc) == "STORE_MISUSE"
    with store.read() as reader:
        pass
    with pytest.raises(GsomiaError):
        reader.item("item-1")
    store.close()
    with pytest.raises(GsomiaError) as exc, store.read():
        pass
    assert codes(exc) == "STORE_MISUSE"


def test_audit_entries_prove_inclusion(store: Store) -> None:
    records = [audit(n=n) for n in range(7)]
    with store.unit_of_work() as uow:
        for n, record in enumerate(records[:3]):
            assert uow.append_audit(record) == n
    with store.unit_of_work() as uow:
        for record in records[3:]:
            uow.append_audit(record)
        assert uow.audit_root() == MerkleTree.from_entries(r.to_bytes() for r in records).root()
    with store.read() as r:
        root = r.audit_root()
        for index, record in enumerate(records):
            assert r.audit_entry(index) == record
            proof = r.audit_inclusion_proof(index)
            assert verify_inclusion(record.to_bytes(), index, 7, proof, root)
        assert r.audit_root(3) == MerkleTree.from_entries(x.to_bytes() for x in records[:3]).root()
        with pytest.raises(InputError):
            r.audit_entry(7)


# -- held items (Art. 4, Art. 6, Art. 13, Arts. 14-15) -------------------------------------------


def test_items_are_stored_once_and_listed_by_id(store: Store) -> None:
    with store.unit_of_work() as uow:
        for n in (3, 1, 2):
            uow.put_item(item(f"item-{n}"))
        with pytest.raises(StoreError) as exc:
            uow.put_item(item("item-2", sealed=b"other"))
        assert codes(exc) == "STORE_CONFLICT"
        with pytest.raises(NotFoundError) as nf:
            uow.put_item(item("copy-1", derived_from="item-404"))
        assert codes(nf) == "ITEM_NOT_FOUND"
        uow.put_item(item("copy-1", derived_from="item-1"))  # a reproduction (Art. 14)
        with pytest.raises(InputError):
            uow.put_item(
                replace(item("item-5"), state=ItemState.DESTROYED, sealed=None, state_changed=T0)
            )
    with store.read() as r:
        ids = [i.item_id for i in r.items()]
        assert ids == ["copy-1", "item-1", "item-2", "item-3"]
        assert [i.item_id for i in r.items(after="item-1", limit=1)] == ["item-2"]
        copy = r.item("copy-1")
        assert copy is not None
        assert copy.derived_from == "item-1"
        assert r.item("item-404") is None


def test_return_or_destruction_erases_the_sealed_bytes_and_is_final(store: Store) -> None:
    """Art. 6 (no longer needed: return or destroy), Art. 13 (destruction)."""
    with store.unit_of_work() as uow:
        uow.put_item(item("item-1"))
        uow.put_item(item("item-2"))
    later = T0 + timedelta(days=1)
    with store.unit_of_work() as uow:
        destroyed = uow.set_item_state("item-1", ItemState.DESTROYED, at=later)
        assert destroyed.sealed is None
        assert destroyed.state_changed == later
        uow.set_item_state("item-2", ItemState.RETURNED, at=later)
    with store.unit_of_work() as uow:
        for target in ItemState:
            with pytest.raises(StoreError) as exc:
                uow.set_item_state("item-1", target, at=later)
            assert codes(exc) == "STORE_CONFLICT"
        with pytest.raises(StoreError):
            uow.relabel("item-2", item().labels)
        with pytest.raises(NotFoundError):
            uow.set_item_state("item-404", ItemState.DESTROYED, at=later)
    with store.read() as r:
        assert r.item("item-1") == replace(
            item("item-1"), state=ItemState.DESTROYED, sealed=None, state_changed=later
        )
        assert [i.item_id for i in r.items(state=ItemState.HELD)] == []
        assert [i.item_id for i in r.items(state=ItemState.RETURNED)] == ["item-2"]


def test_relabel_adds_a_marking_but_never_changes_the_originator(store: Store) -> None:
    """Art. 4: the receiver adds its marking beside the originator's; Art. 6 reclassification."""
    with store.unit_of_work() as uow:
        uow.put_item(item())
    alt = AlternativeLabel("JPN", "極秘", "KOR", "JPN", "kor-jpn-gsomia-2016", 1, T0)
    labels = item().labels.with_alternative(alt)
    with store.unit_of_work() as uow:
        assert uow.relabel("item-1", labels).labels == labels
        with pytest.raises(StoreError):
            uow.relabel("item-1", item(originator="USA").labels)
    with store.read() as r:
        stored = r.item("item-1")
        assert stored is not None
        assert stored.labels == labels


# -- outbox and retries (issue 4 §1) -------------------------------------------------------------


def test_enqueue_is_unique_by_key_and_listed_in_order(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.enqueue(message("item-1/JPN")).seq == 1
        assert uow.enqueue(message("item-1/USA", recipient="USA")).seq == 2
        assert uow.enqueue(message("item-2/JPN", subject="item-2")).seq == 3
        with pytest.raises(StoreError) as exc:
            uow.enqueue(message("item-1/JPN"))
        assert codes(exc) == "STORE_CONFLICT"
    with store.read() as r:
        assert [e.key for e in r.outbox(subject="item-1")] == ["item-1/JPN", "item-1/USA"]
        assert [e.seq for e in r.outbox(after=1, limit=1)] == [2]
        assert r.outbox(state=DeliveryState.ACKNOWLEDGED) == []


def test_every_combination_of_list_filters(store: Store) -> None:
    """Each filter combination is its own indexed statement in the SQL stores: all must agree."""
    with store.unit_of_work() as uow:
        for n in (1, 2, 3):
            uow.put_item(item(f"item-{n}"))
            uow.enqueue(message(f"item-{n}/JPN", subject=f"item-{n}"))
            uow.enqueue(message(f"item-{n}/USA", recipient="USA", subject=f"item-{n}"))
        uow.acknowledge("item-2/JPN", at=T0)
        uow.acknowledge("item-2/USA", at=T0)
        uow.set_item_state("item-3", ItemState.DESTROYED, at=T0)
    held, pending, acked = ItemState.HELD, DeliveryState.PENDING, DeliveryState.ACKNOWLEDGED
    with store.read() as r:
        assert [i.item_id for i in r.items(state=held)] == ["item-1", "item-2"]
        assert [i.item_id for i in r.items(state=held, after="item-1")] == ["item-2"]
        assert [i.item_id for i in r.items(after="item-1", limit=1)] == ["item-2"]
        assert [e.key for e in r.outbox(state=acked)] == ["item-2/JPN", "item-2/USA"]
        assert [e.seq for e in r.outbox(state=pending, after=2, limit=2)] == [5, 6]
        assert [e.key for e in r.outbox(subject="item-2", state=acked, after=3)] == ["item-2/USA"]
        assert r.outbox(subject="item-1", state=acked) == []
        assert [e.key for e in r.outbox(subject="item-3", after=5)] == ["item-3/USA"]


def test_retry_schedule_until_the_receipt(store: Store) -> None:
    backoff = Backoff(first=timedelta(seconds=1), cap=timedelta(seconds=30), jitter=0.0)
    key = "item-1/JPN"
    with store.unit_of_work() as uow:
        uow.enqueue(message(key))
    now = T0
    for attempt in range(1, 5):
        with store.unit_of_work() as uow:
            assert [e.key for e in uow.due(now)] == [key]
            nxt = backoff.next_attempt(attempt, now, key)
            entry = uow.record_attempt(key, at=now, next_attempt=nxt, error="partner down")
            assert entry.attempts == attempt
            assert entry.last_error == "partner down"
        with store.read() as r:
            assert r.due(nxt - timedelta(microseconds=1)) == []
            assert [e.attempts for e in r.due(nxt)] == [attempt]
        assert nxt - now == timedelta(seconds=2 ** (attempt - 1))
        now = nxt
    with store.unit_of_work() as uow:
        acked = uow.acknowledge(key, at=now)
        assert acked.state is DeliveryState.ACKNOWLEDGED
        assert acked.settled == now
        assert uow.acknowledge(key, at=now + timedelta(hours=1)) == acked  # idempotent
        with pytest.raises(StoreError):
            uow.record_attempt(key, at=now, next_attempt=now)
        with pytest.raises(StoreError):
            uow.cancel(key, at=now)
        with pytest.raises(NotFoundError) as nf:
            uow.acknowledge("nothing/JPN", at=now)
        assert codes(nf) == "OUTBOX_NOT_FOUND"
    with store.read() as r:
        assert r.due(now + timedelta(days=365)) == []
        stored = r.outbox_entry(key)
        assert stored is not None
        assert stored.attempts == 4
        assert stored.settled == now


def test_a_cancelled_message_is_not_retried_but_a_late_receipt_still_counts(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.enqueue(message())
        cancelled = uow.cancel("item-1/JPN", at=T0)
        assert cancelled.state is DeliveryState.CANCELLED
        assert uow.due(T0) == []
        assert uow.acknowledge("item-1/JPN", at=T0).state is DeliveryState.ACKNOWLEDGED


def test_a_message_refused_by_the_partner_is_cancelled_with_the_reason(store: Store) -> None:
    """A signed negative receipt settles the message for good, its codes kept (ADR 0011)."""
    with store.unit_of_work() as uow:
        uow.enqueue(message())
        uow.record_attempt("item-1/JPN", at=T0, next_attempt=T0, error="partner down")
        refused = uow.cancel("item-1/JPN", at=T0, reason="REFUSED AGREEMENT_TERMINATED")
        assert (refused.state, refused.settled) == (DeliveryState.CANCELLED, T0)
        assert refused.last_error == "REFUSED AGREEMENT_TERMINATED"
        assert uow.due(T0 + timedelta(days=1)) == []
        with pytest.raises(StoreError):  # settled: not refused twice
            uow.cancel("item-1/JPN", at=T0, reason="REFUSED AGAIN")
    with store.read() as r:
        assert r.outbox_entry("item-1/JPN") == refused
        assert r.outbox(state=DeliveryState.CANCELLED) == [refused]
    with store.unit_of_work() as uow:
        uow.enqueue(message("item-2/JPN"))
        with pytest.raises(InputError):  # longer than last_error may be: nothing changes
            uow.cancel("item-2/JPN", at=T0, reason="x" * 10_000)
    with store.read() as r:
        assert r.outbox_entry("item-2/JPN").state is DeliveryState.PENDING  # type: ignore[union-attr]


def test_due_orders_by_next_attempt_then_enqueue_order(store: Store) -> None:
    with store.unit_of_work() as uow:
        for n in range(5):
            uow.enqueue(message(f"m-{n}", created=T0 + timedelta(seconds=5 - n)))
        uow.record_attempt("m-0", at=T0, next_attempt=T0 + timedelta(seconds=1))
    with store.read() as r:
        assert [e.key for e in r.due(T0 + timedelta(seconds=3))] == ["m-0", "m-4", "m-3", "m-2"]
        assert [e.key for e in r.due(T0 + timedelta(seconds=9), limit=2)] == ["m-0", "m-4"]
        with pytest.raises(InputError):
            r.due(T0, limit=0)


def test_backoff_is_pure_capped_and_spread() -> None:
    b = Backoff(first=timedelta(seconds=1), factor=2, cap=timedelta(minutes=5), jitter=0.25)
    for attempt in range(1, 80):
        base = timedelta(seconds=min(300, 2 ** (attempt - 1)))
        delay = b.delay(attempt, "item-1/JPN")
        assert base * 0.75 <= delay <= base
        assert delay == b.delay(attempt, "item-1/JPN")  # a pure function
    spread = {b.delay(3, f"item-{n}/JPN") for n in range(50)}
    assert len(spread) > 40  # different messages retry at different instants
    assert b.next_attempt(1, T0, "k") == T0 + b.delay(1, "k")
    for bad in (0, -1, True):
        with pytest.raises(InputError):
            b.delay(bad)
    with pytest.raises(InputError):
        Backoff(first=timedelta(0))
    with pytest.raises(InputError):
        Backoff(jitter=1.0)


# -- inbox and receipts: exactly-once effect -----------------------------------------------------


def test_an_item_id_is_accepted_once_and_a_duplicate_is_reported(store: Store) -> None:
    with store.unit_of_work() as uow:
        first = uow.record_inbound(inbound(audit_index=0))
        assert not first.duplicate
    with store.unit_of_work() as uow:
        again = uow.record_inbound(inbound(payload=b"a replay with other bytes", audit_index=5))
        assert again.duplicate
        assert again.value == inbound(audit_index=0)  # the stored entry, not the new one
        assert again.value.digest != hashlib.sha256(b"a replay with other bytes").digest()
    with store.read() as r:
        assert r.inbox_entry("item-9") == inbound(audit_index=0)
        assert r.inbox_entry("item-10") is None


def test_a_rejection_is_recorded_once_too(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.record_inbound(inbound("item-7", outcome=InboxOutcome.REJECTED))
        again = uow.record_inbound(inbound("item-7"))
        assert again.duplicate
        assert again.value.outcome is InboxOutcome.REJECTED
    with pytest.raises(InputError):
        replace(inbound(), outcome=InboxOutcome.REJECTED, reasons=())


def test_receipts_are_recorded_once_per_item_party_and_direction(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert not uow.record_receipt(receipt()).duplicate
        assert uow.record_receipt(receipt(token=b"re-signed")).duplicate
        assert not uow.record_receipt(receipt(party="USA")).duplicate
        assert not uow.record_receipt(receipt(direction=ReceiptDirection.ISSUED)).duplicate
    with store.read() as r:
        got = [(x.party, x.direction, x.token) for x in r.receipts("item-1")]
        assert got == [
            ("JPN", ReceiptDirection.ISSUED, receipt().token),
            ("JPN", ReceiptDirection.RECEIVED, receipt().token),
            ("USA", ReceiptDirection.RECEIVED, receipt().token),
        ]
        assert r.receipt("item-1", "JPN", ReceiptDirection.RECEIVED) == receipt()
        assert r.receipt("item-2", "JPN", ReceiptDirection.RECEIVED) is None


# -- officials and API tokens (Art. 6 registers, Art. 7) -----------------------------------------


def test_officials_are_kept_and_updated(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.put_official(official("kor-so-1", roles=frozenset({Role.SECURITY_OFFICER})))
        uow.put_official(official("kor-ro-1"))
        uow.put_official(official("kor-ro-1", clearance="군사III급비밀"))  # Art. 7 change
    with store.read() as r:
        assert r.official("kor-ro-1") == official("kor-ro-1", clearance="군사III급비밀")
        assert [o.official.id for o in r.officials()] == ["kor-ro-1", "kor-so-1"]
        assert [o.official.id for o in r.officials(after="kor-ro-1")] == ["kor-so-1"]
        assert r.official("nobody") is None


def test_tokens_are_looked_up_by_hash_and_deny_by_default(store: Store) -> None:
    token = secrets.token_urlsafe(32)
    with store.unit_of_work() as uow:
        uow.put_official(official("kor-ro-1"))
        uow.put_official(official("kor-rd-1", roles=frozenset({Role.READER})))
        uow.add_token("kor-ro-1", token_hash(token), created=T0)
        with pytest.raises(NotFoundError) as nf:
            uow.add_token("nobody", token_hash("x"), created=T0)
        assert codes(nf) == "OFFICIAL_NOT_FOUND"
        with pytest.raises(StoreError):
            uow.add_token("kor-rd-1", token_hash(token), created=T0)
        with pytest.raises(InputError):
            uow.add_token("kor-ro-1", token.encode(), created=T0)  # never the token itself
    with store.read() as r:
        assert r.official_by_token(token_hash(token)) == official("kor-ro-1")
        assert r.official_by_token(token_hash(token + "x")) is None
        assert r.official_by_token(token.encode()) is None
        assert r.official_by_token(b"") is None
    with store.unit_of_work() as uow:  # an inactive official's token opens nothing
        uow.put_official(official("kor-ro-1", active=False))
        assert uow.official_by_token(token_hash(token)) is None
        uow.put_official(official("kor-ro-1"))
        uow.revoke_token(token_hash(token), at=T0)
        uow.revoke_token(token_hash(token), at=T0 + timedelta(days=1))  # idempotent
        assert uow.official_by_token(token_hash(token)) is None
        with pytest.raises(NotFoundError) as nf:
            uow.revoke_token(token_hash("unknown"), at=T0)
        assert codes(nf) == "TOKEN_NOT_FOUND"


# -- consents (Art. 6) ---------------------------------------------------------------------------


def test_consents_are_recorded_once_and_revocation_is_final(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert not uow.put_consent(consent()).duplicate
        assert not uow.put_consent(consent("consent-2")).duplicate
        assert not uow.put_consent(consent("consent-3", item_id="item-2")).duplicate
        again = uow.put_consent(replace(consent(), token=b"another token"))
        assert again.duplicate
        assert again.value == consent()
    revoked_at = T0 + timedelta(days=2)
    with store.unit_of_work() as uow:
        revoked = uow.revoke_consent("consent-1", at=revoked_at, revocation=b"revocation token")
        assert revoked.consent.revoked_at == revoked_at
        later = uow.revoke_consent("consent-1", at=revoked_at + timedelta(days=1), revocation=b"2")
        assert later == revoked  # the first revocation stands
        with pytest.raises(NotFoundError) as nf:
            uow.revoke_consent("consent-404", at=T0, revocation=b"r")
        assert codes(nf) == "CONSENT_NOT_FOUND"
    with store.read() as r:
        assert [c.consent.consent_id for c in r.consents_for("item-1")] == [
            "consent-1",
            "consent-2",
        ]
        stored = r.consent("consent-1")
        assert stored is not None
        assert stored.revocation == b"revocation token"
        reasons = check_consent(
            stored.consent,
            kind=ConsentKind.FORWARD,
            item_id="item-1",
            item_digest="ab" * 32,
            originator="KOR",
            holder="USA",
            third_party="JPN",
            purpose="missile warning",
            at=revoked_at + timedelta(hours=1),
        )
        assert [x.code for x in reasons] == ["CONSENT_REVOKED"]


# -- records cannot be built ill-formed ----------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: item("bad id with spaces"),
        lambda: item(sealed=b""),
        lambda: item(at=T0.replace(tzinfo=None)),
        lambda: item(agreement="kor-jpn-gsomia-2016"),  # without its table version
        lambda: item("item-1", derived_from="item-1"),
        lambda: replace(item(), state=ItemState.DESTROYED),  # destroyed but still sealed
        lambda: message(recipient="Japan"),
        lambda: message(kind="Item!"),
        lambda: replace(inbound(), digest=b"short"),
        lambda: replace(receipt(), token=b""),
        lambda: official("has space"),
        lambda: replace(official(), roles=frozenset({"admin"})),
        lambda: replace(consent(), revocation=b"revoked without revoked_at"),
    ],
)
def test_ill_formed_records_are_refused(build: object) -> None:
    with pytest.raises(InputError) as exc:
        build()  # type: ignore[operator]
    assert exc.value.code in {"STORE_RECORD_INVALID", "INSTANT_NO_OFFSET"}


# -- consent requests (Art. 6; node/consent.py) --------------------------------------------------


def _request(request_id: str = "req-1", **fields: object) -> ConsentRequestRecord:
    values: dict[str, object] = {
        "request_id": request_id,
        "direction": ConsentRequestDirection.RECEIVED,
        "item_id": "item-1",
        "originator": "KOR",
        "holder": "JPN",
        "third_party": "USA",
        "purpose": "joint assessment",
        "requested": T0,
        "requested_by": "jpn-ro-1",
        "expires": T0 + timedelta(days=30),
    }
    values.update(fields)
    return ConsentRequestRecord(**values)  # type: ignore[arg-type]


def _decide_then_fail(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.decide_consent_request("req-1", ConsentRequestState.APPROVED, at=T0, decision=b"t")
        raise RuntimeError("crash")


def test_consent_requests_are_recorded_once_and_decided_once(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert not uow.put_consent_request(_request()).duplicate
        assert not uow.put_consent_request(_request("req-2", expires=None)).duplicate
        sent = _request("req-3", direction=ConsentRequestDirection.SENT, originator="USA",
                        holder="KOR", third_party="JPN")  # fmt: skip
        assert not uow.put_consent_request(sent).duplicate
        again = uow.put_consent_request(_request(purpose="another purpose"))
        assert again.duplicate
        assert again.value == _request()  # the first record stands
        with pytest.raises(InputError) as decided_new:
            uow.put_consent_request(
                _request("req-4", state=ConsentRequestState.REFUSED, decided=T0, decision=b"r")
            )
        assert decided_new.value.code == "STORE_RECORD_INVALID"
    with pytest.raises(RuntimeError, match="crash"):  # rolled back: the request stays pending
        _decide_then_fail(store)
    with store.read() as r:
        assert r.consent_request("req-1") == _request()
    with store.unit_of_work() as uow:
        decided = uow.decide_consent_request(
            "req-1",
            ConsentRequestState.APPROVED,
            at=T0 + timedelta(hours=1),
            decision=b"consent token",
            decided_by="kor-so-1",
        )
        assert decided.state is ConsentRequestState.APPROVED
        with pytest.raises(StoreError) as twice:
            uow.decide_consent_request(
                "req-1", ConsentRequestState.REFUSED, at=T0, decision=b"refusal"
            )
        assert twice.value.code == "STORE_CONFLICT"
        with pytest.raises(NotFoundError) as missing:
            uow.decide_consent_request(
                "req-404", ConsentRequestState.APPROVED, at=T0, decision=b"t"
            )
        assert missing.value.code == "CONSENT_REQUEST_NOT_FOUND"
    with store.read() as r:
        assert r.consent_request("req-1") == decided
        assert r.consent_request("req-404") is None
        assert [x.request_id for x in r.consent_requests()] == ["req-1", "req-2", "req-3"]
        assert [x.request_id for x in r.consent_requests(after="req-1", limit=1)] == ["req-2"]
        pending = r.consent_requests(state=ConsentRequestState.PENDING)
        assert [x.request_id for x in pending] == ["req-2", "req-3"]
        assert r.consent_requests(direction=ConsentRequestDirection.SENT) == [sent]
        assert r.consent_request("req-2").expires is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "fields",
    [
        {"request_id": "has spaces"},
        {"holder": "KOR"},  # originator, holder and third party are three parties
        {"purpose": ""},
        {"requested": T0.replace(tzinfo=None)},
        {"state": ConsentRequestState.APPROVED},  # decided without a decision
        {"decided_by": "kor-so-1"},  # a pending request has no decider
        {"direction": "both"},
    ],
)
def test_ill_formed_consent_requests_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InputError) as exc:
        _request(**fields)
    assert exc.value.code in {"STORE_RECORD_INVALID", "INSTANT_NO_OFFSET"}


def enqueue_then_fail(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.enqueue(message("item-9/JPN"))
        raise RuntimeError("crash")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_commit_that_queued_a_message_wakes_the_listener_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The serving node's sender sleeps until a commit queues work (runtime/host.py): the store
    calls ``on_enqueue`` after such a COMMIT only, never for a unit without a message, nor for
    one rolled back."""
    store = open_store(kind, tmp_path / "data", request)
    calls: list[int] = []
    assert isinstance(store, StoreHandle)
    store.on_enqueue = lambda: calls.append(1)
    try:
        with store.unit_of_work() as uow:
            uow.append_audit(audit(n=1))
        assert calls == []
        with pytest.raises(RuntimeError, match="crash"):
            enqueue_then_fail(store)
        assert calls == []
        with store.unit_of_work() as uow:
            uow.enqueue(message("item-1/JPN"))
            uow.enqueue(message("item-2/JPN"))
            assert calls == []  # not before the commit
        assert calls == [1]
    finally:
        store.close()
